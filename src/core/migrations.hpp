// Numbered, per-dialect schema migrations (migrations/<dialect>/NNN_name.sql, embedded at build
// time), applied in order and recorded in schema_migrations.
#pragma once

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

// Applies every pending migration; returns the names applied.
Result<std::vector<std::string>> migrate(Db& db);

}  // namespace cj::db
