#include <gtest/gtest.h>

#include "core/migrations.hpp"
#include "core/validate.hpp"
#include "services/auth/model.hpp"
#include "services/flight/rules.hpp"

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

TEST(FlightRules, DurationHandlesOvernightArrivals) {
  using cj::flight::duration_text;
  using cj::flight::parse_time_of_day;
  EXPECT_EQ(duration_text(*parse_time_of_day("06:30"), *parse_time_of_day("09:15")), "2시간 45분");
  EXPECT_EQ(duration_text(*parse_time_of_day("11:00:00"), *parse_time_of_day("06:30:00")),
            "19시간 30분");
  EXPECT_EQ(duration_text(*parse_time_of_day("23:50"), *parse_time_of_day("00:20")), "0시간 30분");
  EXPECT_FALSE(parse_time_of_day("24:00").has_value());
  EXPECT_FALSE(parse_time_of_day("9:15").has_value());
}

TEST(Migrations, SplitSqlSeparatesStatementsAndSkipsComments) {
  auto parts = cj::db::split_sql(
      "-- header\nCREATE TABLE a (x INT);\n\nCREATE TABLE b (\n  y INT\n);\nSELECT 1");
  ASSERT_EQ(parts.size(), 3U);
  EXPECT_EQ(parts[0], "CREATE TABLE a (x INT)");
  EXPECT_NE(parts[1].find("y INT"), std::string::npos);
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

#include "services/booking/rules.hpp"
#include "services/flight/model.hpp"

namespace {

TEST(SeatMap, DerivesRowsAndLettersFromTotalSeats) {
  auto m = cj::booking::seat_map_for(180);
  EXPECT_EQ(m.rows, 30);
  EXPECT_EQ(m.letters, "ABCDEF");
  EXPECT_TRUE(m.contains("1A"));
  EXPECT_TRUE(m.contains("30F"));
  EXPECT_FALSE(m.contains("31A"));
  EXPECT_FALSE(m.contains("12G"));
  EXPECT_FALSE(m.contains("0A"));
  EXPECT_FALSE(m.contains("012A"));
  EXPECT_FALSE(m.contains("A12"));
  auto partial = cj::booking::seat_map_for(62);  // 11 rows, the last with two seats
  EXPECT_EQ(partial.rows, 11);
  EXPECT_TRUE(partial.contains("11B"));
  EXPECT_FALSE(partial.contains("11C"));
  auto small = cj::booking::seat_map_for(40);
  EXPECT_EQ(small.letters, "ABCD");
  EXPECT_EQ(small.rows, 10);
}

TEST(SeatMap, SortsSeatsNaturally) {
  std::vector<std::string> seats{"10A", "2B", "2A", "1F"};
  cj::booking::sort_seats(seats);
  EXPECT_EQ(seats, (std::vector<std::string>{"1F", "2A", "2B", "10A"}));
}

TEST(BookingNumber, IsCjPlusEightUppercaseAlphanumerics) {
  for (int i = 0; i < 100; ++i) {
    const auto n = cj::booking::new_booking_number();
    ASSERT_EQ(n.size(), 10U);
    EXPECT_EQ(n.substr(0, 2), "CJ");
    for (char c : n.substr(2)) EXPECT_TRUE((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'));
  }
}

TEST(Price, DiscountRoundsHalfUpInIntegers) {
  EXPECT_EQ(cj::flight::discounted_price(100050, 10), 90045);
  EXPECT_EQ(cj::flight::discounted_price(333333, 15), 283333);  // 283333.05
  EXPECT_EQ(cj::flight::discounted_price(10, 15), 9);           // 8.5 → 9
  EXPECT_EQ(cj::flight::discounted_price(320000, 0), 320000);
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

TEST(Clock, IsoTimestampUsesTAndDropsFractions) {
  EXPECT_EQ(cj::clock::iso_timestamp("2024-01-02 03:04:05"), "2024-01-02T03:04:05");
  EXPECT_EQ(cj::clock::iso_timestamp("2024-01-02 03:04:05.123"), "2024-01-02T03:04:05");
}

}  // namespace
