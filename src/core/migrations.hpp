// Numbered, per-dialect schema migrations (migrations/<dialect>/NNN_name.sql, embedded at build
// time), applied in order and recorded in schema_migrations.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/db.hpp"

namespace cj::db {

struct EmbeddedMigration {
  const char* dialect;  // "sqlite" | "mysql"
  const char* name;     // "001_initial_schema"
  const char* sql;
};
const std::vector<EmbeddedMigration>& embedded_migrations();

// Splits a migration file into statements: a statement ends with ';' at the end of a line;
// lines starting with "--" are comments.
std::vector<std::string> split_sql(const std::string& text);

// A table, column or index of the current database.
struct SchemaObject {
  enum class Kind { Table, Column, Index };
  Kind kind = Kind::Table;
  std::string table;
  std::string name;  // the column or index; empty for a table
};

// One statement of a migration. MySQL commits DDL implicitly, so a migration that failed halfway
// is run again from its first statement; every statement must therefore be re-runnable. Where
// portable SQL has no IF NOT EXISTS (MySQL 8 has none for ADD COLUMN / ADD INDEX), the line
// before the statement says what it creates, and the statement is skipped when that exists:
//   -- @skip-if-exists column flight_discounts.active_schedule_id
//   -- @skip-if-exists index flight_discounts.uniq_active_discount
//   -- @skip-if-exists table refund_outbox
struct MigrationStatement {
  std::string sql;
  std::optional<SchemaObject> skip_if_exists;
};
// split_sql plus the @skip-if-exists directives; an unknown or misplaced directive is an error.
Result<std::vector<MigrationStatement>> parse_migration(const std::string& text);

// Applies every pending migration; returns the names applied. Safe to run from several processes
// at once: the run holds a lock shared by all of them (GET_LOCK on MySQL/MariaDB, a write
// transaction on SQLite), and what is applied is read again once the lock is held, so each
// migration is applied exactly once and the others wait, then find nothing to do.
Result<std::vector<std::string>> migrate(Db& db);

// The migrations this binary knows that the database has not recorded yet, in order. Reads only:
// creates nothing (for `serve --no-migrate`, whose database user may lack DDL rights).
Result<std::vector<std::string>> pending_migrations(Db& db);

}  // namespace cj::db
