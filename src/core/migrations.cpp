#include "core/migrations.hpp"

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

#include "core/log.hpp"
#include "core/security.hpp"

namespace cj::db {
namespace {

using CodeStep = std::function<void(soci::session&)>;

// The original seeded its admin with a plain-text password. Replace every value that is not a
// known hash by the Argon2id hash of that same text: the account keeps working, and no plain text
// survives. Re-runnable: hashes are left alone.
void hash_plaintext_passwords(soci::session& s) {
  std::vector<std::pair<long long, std::string>> plain;
  long long id = 0;
  std::string stored;
  soci::statement st =
      (s.prepare << "SELECT user_id, password_hash FROM users", soci::into(id), soci::into(stored));
  st.execute();
  while (st.fetch()) {
    if (!security::is_password_hash(stored)) plain.emplace_back(id, stored);
  }
  for (const auto& [uid, text] : plain) {
    const std::string hashed = security::hash_password(text);
    s << "UPDATE users SET password_hash = :h WHERE user_id = :id", soci::use(hashed),
        soci::use(uid);
  }
  if (!plain.empty()) log::info("hashed plain-text passwords", {{"count", plain.size()}});
}

// SQLite only (MySQL's migration file MODIFYs the ENUM): bookings.status accepts HELD and
// EXPIRED. SQLite cannot alter a CHECK constraint, and the 12-step table rebuild needs foreign keys
// off, which cannot be switched inside the migration transaction; so the stored CREATE TABLE text
// is edited the way SQLite documents for loosening a constraint (writable_schema, then a schema
// version bump so every connection re-reads it). Existing rows satisfy the wider check.
void widen_booking_status_check(soci::session& s) {
  if (s.get_backend_name() != "sqlite3") return;
  std::string sql;
  s << "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'bookings'", soci::into(sql);
  if (sql.find("'HELD'") != std::string::npos) return;  // already widened
  const std::string narrow = "CHECK (status IN ('CONFIRMED','CANCELLED','COMPLETED'))";
  const auto at = sql.find(narrow);
  if (at == std::string::npos) {
    throw std::runtime_error("bookings.status has an unexpected CHECK constraint: " + sql);
  }
  sql.replace(at, narrow.size(),
              "CHECK (status IN ('HELD','CONFIRMED','CANCELLED','COMPLETED','EXPIRED'))");
  int version = 0;
  s << "PRAGMA schema_version", soci::into(version);
  s << "PRAGMA writable_schema=ON";
  s << "UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND name = 'bookings'",
      soci::use(sql);
  s << "PRAGMA schema_version=" + std::to_string(version + 1);
  s << "PRAGMA writable_schema=OFF";
}

const std::map<std::string, CodeStep>& code_steps() {
  static const std::map<std::string, CodeStep> steps{
      {"002_hash_plaintext_passwords", hash_plaintext_passwords},
      {"009_booking_holds", widen_booking_status_check},
  };
  return steps;
}

Error migration_error(const std::string& message) {
  return Error{500, "migration_failed", message, message};
}

std::string trimmed(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

// "column flight_discounts.active_schedule_id" → SchemaObject; empty message when it parses.
std::optional<SchemaObject> parse_object(const std::string& spec, std::string& problem) {
  std::istringstream in(spec);
  std::string kind;
  std::string object;
  std::string extra;
  in >> kind >> object >> extra;
  SchemaObject o;
  if (kind == "table") {
    o.kind = SchemaObject::Kind::Table;
  } else if (kind == "column") {
    o.kind = SchemaObject::Kind::Column;
  } else if (kind == "index") {
    o.kind = SchemaObject::Kind::Index;
  } else {
    problem = "unknown object kind '" + kind + "' (table, column or index)";
    return std::nullopt;
  }
  if (object.empty() || !extra.empty()) {
    problem = "expected '" + kind + (kind == "table" ? " <table>'" : " <table>.<name>'");
    return std::nullopt;
  }
  const auto dot = object.find('.');
  if (o.kind == SchemaObject::Kind::Table) {
    if (dot != std::string::npos) {
      problem = "a table is named without a dot";
      return std::nullopt;
    }
    o.table = object;
  } else {
    if (dot == std::string::npos || dot == 0 || dot + 1 == object.size() ||
        object.find('.', dot + 1) != std::string::npos) {
      problem = "expected <table>.<name>, got '" + object + "'";
      return std::nullopt;
    }
    o.table = object.substr(0, dot);
    o.name = object.substr(dot + 1);
  }
  return o;
}

// The statements of a migration file. Problems with directives are collected in `problems`
// (one per line), the statements are returned regardless.
std::vector<MigrationStatement> parse(const std::string& text, std::string& problems) {
  constexpr std::string_view kSkipIfExists = "@skip-if-exists";
  std::vector<MigrationStatement> out;
  std::stringstream in(text);
  std::string line;
  std::string current;
  std::optional<SchemaObject> guard;
  int number = 0;
  auto problem = [&](const std::string& what) {
    problems += "line " + std::to_string(number) + ": " + what + "\n";
  };
  while (std::getline(in, line)) {
    ++number;
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos) continue;
    if (line.compare(first, 2, "--") == 0) {
      const std::string comment = trimmed(line.substr(first + 2));
      if (comment.empty() || comment[0] != '@') continue;
      if (comment.compare(0, kSkipIfExists.size(), kSkipIfExists) != 0) {
        problem("unknown directive '" + comment + "'");
      } else if (!trimmed(current).empty()) {
        problem("@skip-if-exists inside a statement (it goes on the line before one)");
      } else if (guard) {
        problem("two @skip-if-exists for one statement");
      } else {
        std::string why;
        guard = parse_object(comment.substr(kSkipIfExists.size()), why);
        if (!guard) problem("@skip-if-exists: " + why);
      }
      continue;
    }
    current += line;
    current += '\n';
    const auto last = line.find_last_not_of(" \t\r");
    if (line[last] == ';') {
      current.erase(current.find_last_of(';'));
      out.push_back({current, guard});
      current.clear();
      guard.reset();
    }
  }
  if (current.find_first_not_of(" \t\r\n") != std::string::npos) {
    out.push_back({current, guard});
    guard.reset();
  }
  if (guard) problem("@skip-if-exists at the end of the file, with no statement after it");
  return out;
}

std::string describe(const SchemaObject& o) {
  switch (o.kind) {
    case SchemaObject::Kind::Table: return "table " + o.table;
    case SchemaObject::Kind::Column: return "column " + o.table + "." + o.name;
    case SchemaObject::Kind::Index: return "index " + o.table + "." + o.name;
  }
  return "";
}

bool schema_object_exists(soci::session& s, bool sqlite, const SchemaObject& o) {
  long long n = 0;
  switch (o.kind) {
    case SchemaObject::Kind::Table:
      s << (sqlite ? "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = :t"
                   : "SELECT COUNT(*) FROM information_schema.tables "
                     "WHERE table_schema = DATABASE() AND table_name = :t"),
          soci::use(o.table), soci::into(n);
      break;
    case SchemaObject::Kind::Column:
      s << (sqlite ? "SELECT COUNT(*) FROM pragma_table_info(:t) WHERE name = :c"
                   : "SELECT COUNT(*) FROM information_schema.columns "
                     "WHERE table_schema = DATABASE() AND table_name = :t AND column_name = :c"),
          soci::use(o.table), soci::use(o.name), soci::into(n);
      break;
    case SchemaObject::Kind::Index:
      s << (sqlite ? "SELECT COUNT(*) FROM sqlite_master "
                     "WHERE type = 'index' AND tbl_name = :t AND name = :i"
                   : "SELECT COUNT(*) FROM information_schema.statistics "
                     "WHERE table_schema = DATABASE() AND table_name = :t AND index_name = :i"),
          soci::use(o.table), soci::use(o.name), soci::into(n);
      break;
  }
  return n > 0;
}

struct Planned {
  std::string name;
  std::vector<MigrationStatement> statements;
};

// Every migration of the dialect, parsed up front so a broken file fails before anything runs.
Result<std::vector<Planned>> plan_for(const std::string& dialect) {
  std::vector<Planned> out;
  for (const auto& m : embedded_migrations()) {
    if (dialect != m.dialect) continue;
    auto statements = parse_migration(m.sql);
    if (!statements) {
      return migration_error("migration " + std::string(m.name) + " (" + dialect +
                             ") is malformed: " + statements.error().message_en);
    }
    out.push_back({m.name, std::move(*statements)});
  }
  return out;
}

void ensure_table(soci::session& s, bool sqlite) {
  s << (sqlite ? "CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, "
                 "applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%S','now')))"
               : "CREATE TABLE IF NOT EXISTS schema_migrations (version VARCHAR(100) PRIMARY KEY, "
                 "applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP) ENGINE=InnoDB");
}

std::set<std::string> read_applied(soci::session& s) {
  std::set<std::string> names;
  std::string v;
  soci::statement st = (s.prepare << "SELECT version FROM schema_migrations", soci::into(v));
  st.execute();
  while (st.fetch()) names.insert(v);
  return names;
}

// The statements (skipping those whose object exists), the code step, and the record.
void apply(soci::session& s, bool sqlite, const Planned& m) {
  for (const auto& st : m.statements) {
    if (st.skip_if_exists && schema_object_exists(s, sqlite, *st.skip_if_exists)) {
      log::info("migration statement skipped: its object exists",
                {{"version", m.name}, {"object", describe(*st.skip_if_exists)}});
      continue;
    }
    s << st.sql;
  }
  if (auto it = code_steps().find(m.name); it != code_steps().end()) it->second(s);
  s << "INSERT INTO schema_migrations (version) VALUES (:v)", soci::use(m.name);
}

// What failed, for the error message: Db turns exceptions into a generic Error (and logs them),
// but an operator running `cloudjet migrate` needs the migration and the server's words.
struct Failure {
  std::string where;
  std::string what;
  Error wrap(Error e) const {
    if (!what.empty()) {
      e.message_en = where + " failed: " + what;
      e.message = e.message_en;
    }
    return e;
  }
};

// SQLite: the whole run is one write transaction (BEGIN IMMEDIATE, see Db::transaction). SQLite
// has one writer at a time, so a second process waits in busy_timeout until the first commits,
// then reads schema_migrations inside its own transaction and finds everything applied. DDL is
// transactional here: a failure leaves nothing half-applied.
Result<std::vector<std::string>> migrate_sqlite(Db& db, const std::vector<Planned>& plan) {
  Failure failure;
  auto r = db.transaction("migrations.apply", [&](soci::session& s) {
    std::vector<std::string> done;  // fresh on every attempt (a locked database is retried)
    failure = {"creating schema_migrations", ""};
    try {
      ensure_table(s, true);
      const auto applied = read_applied(s);
      for (const auto& m : plan) {
        if (applied.count(m.name) != 0) continue;
        failure.where = "migration " + m.name;
        apply(s, true, m);
        done.push_back(m.name);
      }
    } catch (const std::exception& e) {
      failure.what = e.what();
      throw;
    }
    return done;
  });
  if (!r) return failure.wrap(r.error());
  for (const auto& name : *r) log::info("migration applied", {{"version", name}});
  return r;
}

// The name of the MySQL/MariaDB user lock. GET_LOCK names are server-wide, so the database is
// part of the name (two databases on one server migrate independently); 64 is the server's limit.
std::string lock_name(soci::session& s) {
  std::string schema;
  soci::indicator ind = soci::i_ok;
  s << "SELECT DATABASE()", soci::into(schema, ind);
  std::string name = "cloudjet_migrate";
  if (ind == soci::i_ok && !schema.empty()) name += ":" + schema;
  return name.substr(0, 64);
}

// Waits for the lock in short GET_LOCK calls: one long call would outlive the connection's read
// timeout (10 s), and the short ones let us say once that we are waiting.
Status take_lock(soci::session& s, const std::string& name, int timeout_seconds) {
  using Clock = std::chrono::steady_clock;
  constexpr long long kSliceSeconds = 5;
  const auto deadline = Clock::now() + std::chrono::seconds(timeout_seconds);
  bool announced = false;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::seconds>(deadline - Clock::now()).count();
    long long slice = std::clamp(static_cast<long long>(left), 0LL, kSliceSeconds);
    long long got = 0;
    soci::indicator ind = soci::i_ok;
    s << "SELECT GET_LOCK(:n, :t)", soci::use(name), soci::use(slice), soci::into(got, ind);
    if (ind == soci::i_ok && got == 1) return ok_status();
    if (ind != soci::i_ok) {
      return migration_error("cannot take the migration lock '" + name +
                             "': GET_LOCK returned NULL (the server refused or was interrupted)");
    }
    if (Clock::now() >= deadline) {
      return migration_error(
          "timed out after " + std::to_string(timeout_seconds) +
          " s waiting for the migration lock '" + name +
          "', held by another process running migrations (SELECT IS_USED_LOCK('" + name +
          "') gives its connection id); raise MIGRATION_LOCK_TIMEOUT to wait longer");
    }
    if (!announced) {
      log::info("another process is running migrations; waiting for it", {{"lock", name}});
      announced = true;
    }
  }
}

// MySQL/MariaDB: one dedicated session holds a named lock for the whole run, and every statement
// runs on that session. DDL commits implicitly, so a failed run can leave a migration half
// applied and unrecorded; the next run applies it again from its first statement, which is why
// every statement is re-runnable (IF NOT EXISTS, INSERT IGNORE, @skip-if-exists).
Result<std::vector<std::string>> migrate_mysql(Db& db, const std::vector<Planned>& plan) {
  Failure failure;
  const int timeout = db.config().migration_lock_timeout_seconds;
  auto r = db.run("migrations.apply", [&](soci::session& s) -> Result<std::vector<std::string>> {
    failure = {"taking the migration lock", ""};
    std::string name;
    try {
      name = lock_name(s);
    } catch (const std::exception& e) {
      failure.what = e.what();
      throw;
    }
    if (auto st = take_lock(s, name, timeout); !st) return st.error();
    // Released on every way out; if the connection is gone, the server has released it already.
    struct Unlock {
      soci::session& s;
      const std::string& name;
      ~Unlock() {
        try {
          s << "DO RELEASE_LOCK(:n)", soci::use(name);
        } catch (const std::exception& e) {
          log::warn("cannot release the migration lock", {{"lock", name}, {"error", e.what()}});
        }
      }
    } unlock{s, name};

    std::vector<std::string> done;
    try {
      failure.where = "creating schema_migrations";
      ensure_table(s, false);
      const auto applied = read_applied(s);  // read again now that no one else is migrating
      for (const auto& m : plan) {
        if (applied.count(m.name) != 0) continue;
        failure.where = "migration " + m.name;
        // Makes the data steps of a migration (its code step, the record) one unit; the DDL in
        // it commits on its own regardless.
        s << "START TRANSACTION";
        try {
          apply(s, false, m);
          s << "COMMIT";
        } catch (const std::exception&) {
          try {
            s << "ROLLBACK";
          } catch (const std::exception&) {
            // the connection is gone; the server rolls back itself
          }
          throw;
        }
        log::info("migration applied", {{"version", m.name}});
        done.push_back(m.name);
      }
    } catch (const std::exception& e) {
      failure.what = e.what();
      throw;
    }
    return done;
  });
  if (!r) return failure.wrap(r.error());
  return r;
}

}  // namespace

Result<std::vector<MigrationStatement>> parse_migration(const std::string& text) {
  std::string problems;
  auto statements = parse(text, problems);
  if (!problems.empty()) {
    problems.pop_back();  // the last newline
    return migration_error(problems);
  }
  return statements;
}

std::vector<std::string> split_sql(const std::string& text) {
  std::string ignored;
  std::vector<std::string> out;
  for (auto& st : parse(text, ignored)) out.push_back(std::move(st.sql));
  return out;
}

Result<std::vector<std::string>> migrate(Db& db) {
  auto plan = plan_for(db.is_sqlite() ? "sqlite" : "mysql");
  if (!plan) return plan.error();
  return db.is_sqlite() ? migrate_sqlite(db, *plan) : migrate_mysql(db, *plan);
}

Result<std::vector<std::string>> pending_migrations(Db& db) {
  const bool sqlite = db.is_sqlite();
  return db.run("migrations.pending", [&](soci::session& s) {
    std::set<std::string> applied;
    if (schema_object_exists(s, sqlite, {SchemaObject::Kind::Table, "schema_migrations", ""})) {
      applied = read_applied(s);
    }
    std::vector<std::string> pending;
    for (const auto& m : embedded_migrations()) {
      if (std::string(m.dialect) == (sqlite ? "sqlite" : "mysql") && applied.count(m.name) == 0) {
        pending.emplace_back(m.name);
      }
    }
    return pending;
  });
}

}  // namespace cj::db
