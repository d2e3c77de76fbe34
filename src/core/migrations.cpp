#include "core/migrations.hpp"

#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "core/log.hpp"
#include "core/security.hpp"

namespace cj::db {
namespace {

using CodeStep = std::function<void(soci::session&)>;

// The original seeded its admin with a plain-text password. Replace every value that is not a
// known hash by the Argon2id hash of that same text: the account keeps working, and no plain text
// survives.
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

const std::map<std::string, CodeStep>& code_steps() {
  static const std::map<std::string, CodeStep> steps{
      {"002_hash_plaintext_passwords", hash_plaintext_passwords},
  };
  return steps;
}

}  // namespace

std::vector<std::string> split_sql(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string line;
  std::string current;
  while (std::getline(in, line)) {
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line.compare(first, 2, "--") == 0) continue;
    current += line;
    current += '\n';
    const auto last = line.find_last_not_of(" \t\r");
    if (line[last] == ';') {
      current.erase(current.find_last_of(';'));
      out.push_back(current);
      current.clear();
    }
  }
  if (current.find_first_not_of(" \t\r\n") != std::string::npos) out.push_back(current);
  return out;
}

Result<std::vector<std::string>> migrate(Db& db) {
  const std::string dialect = db.is_sqlite() ? "sqlite" : "mysql";
  auto created = db.run("migrations.ensure_table", [&](soci::session& s) {
    s << db.pick(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, "
        "applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%S','now')))",
        "CREATE TABLE IF NOT EXISTS schema_migrations (version VARCHAR(100) PRIMARY KEY, "
        "applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP) ENGINE=InnoDB");
    return Unit{};
  });
  if (!created) return created.error();

  auto applied = db.run("migrations.list", [](soci::session& s) {
    std::set<std::string> names;
    std::string v;
    soci::statement st = (s.prepare << "SELECT version FROM schema_migrations", soci::into(v));
    st.execute();
    while (st.fetch()) names.insert(v);
    return names;
  });
  if (!applied) return applied.error();

  std::vector<std::string> done;
  for (const auto& m : embedded_migrations()) {
    if (dialect != m.dialect || applied->count(m.name) != 0) continue;
    const std::string name = m.name;
    const auto statements = split_sql(m.sql);
    // MySQL commits DDL implicitly; SQLite runs the whole migration atomically.
    auto r = db.transaction("migrations.apply", [&](soci::session& s) {
      for (const auto& sql : statements) s << sql;
      if (auto it = code_steps().find(name); it != code_steps().end()) it->second(s);
      s << "INSERT INTO schema_migrations (version) VALUES (:v)", soci::use(name);
      return Unit{};
    });
    if (!r) {
      Error e = r.error();
      e.message_en = "migration " + name + " failed: " + e.message_en;
      return e;
    }
    log::info("migration applied", {{"version", name}});
    done.push_back(name);
  }
  return done;
}

}  // namespace cj::db
