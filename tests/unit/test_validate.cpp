#include <gtest/gtest.h>

#include "core/migrations.hpp"
#include "core/validate.hpp"
#include "services/auth/model.hpp"

namespace {

using cj::validate::is_date;
using cj::validate::is_email;
using cj::validate::is_phone;

TEST(Validate, DatesMustBeRealCalendarDates) {
  EXPECT_TRUE(is_date("2024-02-29"));
  EXPECT_FALSE(is_date("2023-02-29"));
  EXPECT_FALSE(is_date("2024-02-30"));
  EXPECT_FALSE(is_date("2024-13-01"));
  EXPECT_FALSE(is_date("2024-1-01"));
  EXPECT_FALSE(is_date("20240101"));
  EXPECT_FALSE(is_date("abcd-ef-gh"));
}

TEST(Validate, Emails) {
  EXPECT_TRUE(is_email("hong@example.com"));
  EXPECT_TRUE(is_email("a.b+tag@sub.example.co.kr"));
  EXPECT_FALSE(is_email("no-at-sign"));
  EXPECT_FALSE(is_email("a@b"));
  EXPECT_FALSE(is_email("a b@example.com"));
  EXPECT_FALSE(is_email("a@@example.com"));
  EXPECT_FALSE(is_email(std::string(95, 'a') + "@x.com"));
}

TEST(Validate, Phones) {
  EXPECT_TRUE(is_phone("010-1234-5678"));
  EXPECT_TRUE(is_phone("+82 10 1234 5678"));
  EXPECT_FALSE(is_phone("12345"));
  EXPECT_FALSE(is_phone("010-CALL-ME"));
  EXPECT_FALSE(is_phone("----------"));
}

TEST(Validate, Utf8LengthCountsCharactersNotBytes) {
  EXPECT_EQ(cj::validate::utf8_length("홍길동"), 3U);
  EXPECT_EQ(cj::validate::utf8_length("abc"), 3U);
  EXPECT_FALSE(cj::validate::utf8_length("\xff\xfe").has_value());
}

TEST(SignupModel, ReportsTheFirstMissingFieldInContractOrder) {
  auto r = cj::auth::parse_signup({{"email", "a@b.com"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "name는 필수 입력 항목입니다.");
  EXPECT_EQ(r.error().code, "missing_field");
  auto blank = cj::auth::parse_signup({{"name", "  "}, {"email", "a@b.com"}});
  EXPECT_EQ(blank.error().message, "name는 필수 입력 항목입니다.");
}

TEST(SignupModel, NormalisesEmailAndRejectsWeakPasswords) {
  nlohmann::json body{{"name", "홍길동"},
                      {"email", "Hong@Example.COM"},
                      {"password", "longenough"},
                      {"phone", "010-1234-5678"},
                      {"birthDate", "1990-01-01"}};
  auto ok = cj::auth::parse_signup(body);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->email, "hong@example.com");
  body["password"] = "short";
  EXPECT_EQ(cj::auth::parse_signup(body).error().code, "weak_password");
  body["password"] = "longenough";
  body["birthDate"] = "1990-02-30";
  EXPECT_EQ(cj::auth::parse_signup(body).error().code, "invalid_field");
  body["birthDate"] = "2999-01-01";
  EXPECT_EQ(cj::auth::parse_signup(body).error().code, "invalid_field");
  body["birthDate"] = "1990-01-01";
  body["name"] = 42;
  EXPECT_EQ(cj::auth::parse_signup(body).error().code, "invalid_field");
}

TEST(ProfileModel, OmittedFieldsStayUnset) {
  auto p = cj::auth::parse_profile_update({{"phone", "010-9999-8888"}});
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->name.has_value());
  EXPECT_EQ(*p->phone, "010-9999-8888");
  EXPECT_FALSE(cj::auth::parse_profile_update({{"name", ""}}).ok());
  EXPECT_FALSE(cj::auth::parse_profile_update({{"phone", 123}}).ok());
}

TEST(Migrations, SplitSqlSeparatesStatementsAndSkipsComments) {
  auto parts = cj::db::split_sql(
      "-- header\nCREATE TABLE a (x INT);\n\nCREATE TABLE b (\n  y INT\n);\nSELECT 1");
  ASSERT_EQ(parts.size(), 3U);
  EXPECT_EQ(parts[0], "CREATE TABLE a (x INT)");
  EXPECT_NE(parts[1].find("y INT"), std::string::npos);
}

TEST(Migrations, SkipIfExistsGuardsTheNextStatementOnly) {
  auto parsed = cj::db::parse_migration(
      "CREATE TABLE a (x INT);\n"
      "-- @skip-if-exists column a.y\n"
      "ALTER TABLE a\n  ADD COLUMN y INT;\n"
      "--   @skip-if-exists index a.uniq_y\n"
      "ALTER TABLE a ADD UNIQUE KEY uniq_y (y);\n"
      "-- @skip-if-exists table b\n"
      "CREATE TABLE b (z INT);\n"
      "INSERT INTO a VALUES (1);\n");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message_en;
  const auto& st = *parsed;
  ASSERT_EQ(st.size(), 5U);
  EXPECT_FALSE(st[0].skip_if_exists.has_value());
  ASSERT_TRUE(st[1].skip_if_exists.has_value());
  EXPECT_EQ(st[1].skip_if_exists->kind, cj::db::SchemaObject::Kind::Column);
  EXPECT_EQ(st[1].skip_if_exists->table, "a");
  EXPECT_EQ(st[1].skip_if_exists->name, "y");
  EXPECT_NE(st[1].sql.find("ADD COLUMN y INT"), std::string::npos);
  ASSERT_TRUE(st[2].skip_if_exists.has_value());
  EXPECT_EQ(st[2].skip_if_exists->kind, cj::db::SchemaObject::Kind::Index);
  EXPECT_EQ(st[2].skip_if_exists->name, "uniq_y");
  ASSERT_TRUE(st[3].skip_if_exists.has_value());
  EXPECT_EQ(st[3].skip_if_exists->kind, cj::db::SchemaObject::Kind::Table);
  EXPECT_EQ(st[3].skip_if_exists->table, "b");
  EXPECT_TRUE(st[3].skip_if_exists->name.empty());
  EXPECT_FALSE(st[4].skip_if_exists.has_value());
  // split_sql sees the directives as the comments they are
  EXPECT_EQ(cj::db::split_sql("-- @skip-if-exists table b\nCREATE TABLE b (z INT);").size(), 1U);
}

TEST(Migrations, MalformedDirectivesAreErrorsNamingTheLine) {
  const char* bad[] = {
      "-- @skip-if-exist table b\nCREATE TABLE b (z INT);",                 // misspelt directive
      "-- @skip-if-exists view b\nCREATE TABLE b (z INT);",                 // unknown kind
      "-- @skip-if-exists column b\nALTER TABLE b ADD COLUMN c INT;",       // no column name
      "-- @skip-if-exists table a.b\nCREATE TABLE b (z INT);",              // a table has no dot
      "-- @skip-if-exists index a.b extra\nCREATE INDEX b ON a(x);",        // trailing words
      "ALTER TABLE a\n-- @skip-if-exists column a.y\n  ADD COLUMN y INT;",  // inside a statement
      "-- @skip-if-exists table a\n-- @skip-if-exists table b\nCREATE TABLE b (z INT);",
      "CREATE TABLE a (x INT);\n-- @skip-if-exists table b\n",  // guards nothing
  };
  for (const char* text : bad) {
    auto parsed = cj::db::parse_migration(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_NE(parsed.error().message_en.find("line "), std::string::npos) << text;
  }
}

TEST(Migrations, EveryEmbeddedMigrationParses) {
  int guarded = 0;
  for (const auto& m : cj::db::embedded_migrations()) {
    auto parsed = cj::db::parse_migration(m.sql);
    ASSERT_TRUE(parsed.ok()) << m.dialect << "/" << m.name << ": " << parsed.error().message_en;
    EXPECT_FALSE(parsed->empty()) << m.name;
    for (const auto& st : *parsed) guarded += st.skip_if_exists ? 1 : 0;
  }
  // MySQL's 004 adds a column and a unique key, which MySQL 8 cannot say IF NOT EXISTS about.
  EXPECT_GE(guarded, 2);
}

TEST(Migrations, EveryDialectHasTheSameMigrationNames) {
  std::vector<std::string> sqlite;
  std::vector<std::string> mysql;
  for (const auto& m : cj::db::embedded_migrations()) {
    (std::string(m.dialect) == "sqlite" ? sqlite : mysql).push_back(m.name);
  }
  EXPECT_FALSE(sqlite.empty());
  EXPECT_EQ(sqlite, mysql);
}

}  // namespace

#include "core/clock.hpp"

namespace {

TEST(Clock, AddDaysCrossesMonthsYearsAndLeapDays) {
  EXPECT_EQ(cj::clock::add_days("2024-02-28", 1), "2024-02-29");
  EXPECT_EQ(cj::clock::add_days("2023-02-28", 1), "2023-03-01");
  EXPECT_EQ(cj::clock::add_days("2024-12-31", 1), "2025-01-01");
  EXPECT_EQ(cj::clock::add_days("2025-01-01", -1), "2024-12-31");
}

// Database timestamps are UTC, so the API's carry a Z.
TEST(Clock, IsoTimestampUsesTDropsFractionsAndSaysUtc) {
  EXPECT_EQ(cj::clock::iso_timestamp("2024-01-02 03:04:05"), "2024-01-02T03:04:05Z");
  EXPECT_EQ(cj::clock::iso_timestamp("2024-01-02 03:04:05.123"), "2024-01-02T03:04:05Z");
}

}  // namespace
