// Airport-local departures, the service clock and the sales rules (issue 12). Every rule takes
// "now" as a parameter, so these tests stand wherever they need in time.
#include <gtest/gtest.h>

#include "core/clock.hpp"
#include "core/local_time.hpp"
#include "services/flight/rules.hpp"

namespace {

using cj::flight::Sales;
using cj::local_time::format_in_zone;
using cj::local_time::format_utc;
using cj::local_time::parse_instant;
using cj::local_time::to_instant;

// The instant of an ISO text with an offset, for readable expectations.
std::int64_t at(const char* iso) {
  auto v = parse_instant(iso);
  EXPECT_TRUE(v.has_value()) << iso;
  return v.value_or(0);
}

std::string utc_of(std::string_view date, std::string_view time, std::string_view zone) {
  auto v = to_instant(date, time, zone);
  EXPECT_TRUE(v.ok()) << date << " " << time << " " << zone;
  return v ? format_utc(*v) : "";
}

TEST(LocalTime, SeoulDeparturesAreNineHoursAheadOfUtc) {
  // The 06:30 ICN departure of 2026-12-02 leaves on 2026-12-01 in UTC: a UTC "today" would
  // still sell it for 9 hours after it left.
  EXPECT_EQ(utc_of("2026-12-02", "06:30:00", "Asia/Seoul"), "2026-12-01T21:30:00Z");
  EXPECT_EQ(utc_of("2026-12-02", "00:30", "Asia/Seoul"), "2026-12-01T15:30:00Z");
  EXPECT_EQ(utc_of("2026-12-02", "23:50:00", "Asia/Seoul"), "2026-12-02T14:50:00Z");
}

TEST(LocalTime, ZonesOfTheReferenceAirports) {
  EXPECT_EQ(utc_of("2026-12-02", "09:00:00", "Asia/Tokyo"), "2026-12-02T00:00:00Z");
  EXPECT_EQ(utc_of("2026-12-02", "09:00:00", "Asia/Bangkok"), "2026-12-02T02:00:00Z");
  EXPECT_EQ(utc_of("2026-12-02", "09:00:00", "Europe/Paris"), "2026-12-02T08:00:00Z");  // CET
  EXPECT_EQ(utc_of("2026-07-02", "09:00:00", "Europe/Paris"), "2026-07-02T07:00:00Z");  // CEST
  EXPECT_EQ(utc_of("2026-12-02", "09:00:00", "America/Los_Angeles"), "2026-12-02T17:00:00Z");
  EXPECT_EQ(utc_of("2026-07-02", "09:00:00", "America/Los_Angeles"), "2026-07-02T16:00:00Z");
}

TEST(LocalTime, SydneyAcrossTheEndOfDaylightSavingTime) {
  // AEDT (+11) ends on Sunday 2026-04-05 at 03:00, which becomes 02:00 AEST (+10).
  EXPECT_EQ(utc_of("2026-04-04", "10:00:00", "Australia/Sydney"), "2026-04-03T23:00:00Z");
  EXPECT_EQ(utc_of("2026-04-05", "01:59:59", "Australia/Sydney"), "2026-04-04T14:59:59Z");
  EXPECT_EQ(utc_of("2026-04-05", "10:00:00", "Australia/Sydney"), "2026-04-05T00:00:00Z");
  EXPECT_EQ(utc_of("2026-04-06", "10:00:00", "Australia/Sydney"), "2026-04-06T00:00:00Z");
  // 02:30 happens twice that night: the first one (still AEDT) is the departure.
  EXPECT_EQ(utc_of("2026-04-05", "02:30:00", "Australia/Sydney"), "2026-04-04T15:30:00Z");
  EXPECT_EQ(format_in_zone(at("2026-04-05T00:00:00Z"), "Australia/Sydney").value(),
            "2026-04-05T10:00:00+10:00");
}

TEST(LocalTime, SydneyAcrossTheStartOfDaylightSavingTime) {
  // AEST (+10) ends on Sunday 2026-10-04 at 02:00, which becomes 03:00 AEDT (+11).
  EXPECT_EQ(utc_of("2026-10-03", "10:00:00", "Australia/Sydney"), "2026-10-03T00:00:00Z");
  EXPECT_EQ(utc_of("2026-10-04", "01:59:00", "Australia/Sydney"), "2026-10-03T15:59:00Z");
  EXPECT_EQ(utc_of("2026-10-04", "03:00:00", "Australia/Sydney"), "2026-10-03T16:00:00Z");
  EXPECT_EQ(utc_of("2026-10-04", "10:00:00", "Australia/Sydney"), "2026-10-03T23:00:00Z");
  // 02:30 never happens that night: read with the offset before the change, i.e. 03:30 AEDT.
  EXPECT_EQ(utc_of("2026-10-04", "02:30:00", "Australia/Sydney"), "2026-10-03T16:30:00Z");
  EXPECT_EQ(format_in_zone(at("2026-10-03T23:00:00Z"), "Australia/Sydney").value(),
            "2026-10-04T10:00:00+11:00");
}

TEST(LocalTime, UnknownZonesAndMalformedValuesAreErrors) {
  EXPECT_FALSE(to_instant("2026-12-02", "06:30:00", "Asia/Nowhere").ok());
  EXPECT_FALSE(to_instant("2026-12-02", "06:30:00", "").ok());
  EXPECT_FALSE(to_instant("2026-02-30", "06:30:00", "Asia/Seoul").ok());
  EXPECT_FALSE(to_instant("2026-12-02", "24:00:00", "Asia/Seoul").ok());
  EXPECT_FALSE(to_instant("2026-12-02", "6:30", "Asia/Seoul").ok());
  EXPECT_FALSE(format_in_zone(0, "Mars/Olympus").ok());
  EXPECT_TRUE(cj::local_time::is_known_zone("Australia/Sydney"));
  EXPECT_FALSE(cj::local_time::is_known_zone("Seoul"));
  EXPECT_TRUE(cj::local_time::check_tz_database().ok());
}

TEST(LocalTime, InstantsNeedAnOffset) {
  EXPECT_EQ(format_utc(at("2026-12-02T00:30:00+09:00")), "2026-12-01T15:30:00Z");
  EXPECT_EQ(format_utc(at("2026-12-01T15:30:00Z")), "2026-12-01T15:30:00Z");
  EXPECT_EQ(format_utc(at("2026-12-01t15:30:00z")), "2026-12-01T15:30:00Z");
  EXPECT_EQ(format_utc(at("2026-12-01 15:30:00.987Z")), "2026-12-01T15:30:00Z");
  EXPECT_EQ(format_utc(at("2026-12-01T07:30:00-0800")), "2026-12-01T15:30:00Z");
  EXPECT_EQ(format_utc(at("2026-03-01T00:00:00+14:00")), "2026-02-28T10:00:00Z");
  for (const char* bad :
       {"2026-12-02T00:30:00", "2026-12-02", "2026-12-02T00:30+09:00", "2026-02-30T00:30:00Z",
        "2026-12-02T25:00:00Z", "2026-12-02T00:30:00+9", "2026-12-02T00:30:00+09:60",
        "2026-12-02T00:30:00.Z", "now", "", "2026-12-02T00:30:00 KST"}) {
    EXPECT_FALSE(parse_instant(bad).has_value()) << bad;
  }
}

TEST(SalesRules, OpenUntilTheCutOffThenClosedThenDeparted) {
  const std::int64_t departs = at("2026-12-02T06:30:00+09:00");
  const int hour = 3600;
  EXPECT_EQ(cj::flight::sales_state(departs, departs - hour - 1, hour), Sales::Open);
  EXPECT_EQ(cj::flight::sales_state(departs, departs - hour, hour), Sales::Closed);
  EXPECT_EQ(cj::flight::sales_state(departs, departs - 30 * 60, hour), Sales::Closed);
  EXPECT_EQ(cj::flight::sales_state(departs, departs - 1, hour), Sales::Closed);
  EXPECT_EQ(cj::flight::sales_state(departs, departs, hour), Sales::Departed);
  EXPECT_EQ(cj::flight::sales_state(departs, departs + 86400, hour), Sales::Departed);
  // No cut-off: on sale until the moment it leaves.
  EXPECT_EQ(cj::flight::sales_state(departs, departs - 1, 0), Sales::Open);
}

TEST(SalesRules, DepartureInstantUsesTheAirportZone) {
  auto icn = cj::flight::departure_instant("2026-12-02", "06:30:00", "Asia/Seoul");
  ASSERT_TRUE(icn.ok());
  EXPECT_EQ(*icn, at("2026-12-01T21:30:00Z"));
  auto broken = cj::flight::departure_instant("2026-12-02", "06:30:00", "KST");
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.error().status, 500);
}

TEST(SalesRules, CachedListsExpireBeforeTheirFirstScheduleCloses) {
  const std::int64_t now = at("2026-12-02T00:30:00+09:00");
  // Nothing listed closes: the configured TTL.
  EXPECT_EQ(cj::flight::bounded_ttl(300, now, std::nullopt), 300);
  // Closing far away: the configured TTL.
  EXPECT_EQ(cj::flight::bounded_ttl(300, now, now + 3600), 300);
  // Closing in 59 s: gone one second early (now is whole seconds; the entry lives from the store).
  EXPECT_EQ(cj::flight::bounded_ttl(300, now, now + 59), 58);
  EXPECT_EQ(cj::flight::bounded_ttl(300, now, now + 2), 1);
  // Closing within the second, or already closed: not cached at all.
  EXPECT_EQ(cj::flight::bounded_ttl(300, now, now + 1), 0);
  EXPECT_EQ(cj::flight::bounded_ttl(300, now, now), 0);
  EXPECT_EQ(cj::flight::bounded_ttl(300, now, now - 10), 0);
}

TEST(Clock, FakeClockStartsAtTheInstantAndRuns) {
  const std::int64_t fake = at("2026-12-02T00:30:00+09:00");
  cj::clock::start_at(fake);
  EXPECT_TRUE(cj::clock::is_fake());
  const std::int64_t read = cj::clock::now_unix();
  EXPECT_GE(read, fake);
  EXPECT_LE(read, fake + 2);
  // 00:30 in Seoul is still the previous day in UTC.
  EXPECT_EQ(cj::clock::today_utc(), "2026-12-01");
  EXPECT_EQ(cj::clock::db_now().substr(0, 16), "2026-12-01 15:30");
  cj::clock::use_system_clock();
  EXPECT_FALSE(cj::clock::is_fake());
  EXPECT_GT(cj::clock::now_unix(), at("2024-01-01T00:00:00Z"));
}

TEST(Clock, DatabaseAndApiTimestampsAreUtc) {
  EXPECT_EQ(cj::clock::db_timestamp(at("2026-12-02T00:30:05+09:00")), "2026-12-01 15:30:05");
  EXPECT_EQ(cj::clock::utc_date(at("2026-12-02T00:30:05+09:00")), "2026-12-01");
  EXPECT_EQ(cj::clock::iso_timestamp("2026-12-01 15:30:05"), "2026-12-01T15:30:05Z");
  // MySQL may add fractional seconds; the API keeps whole seconds.
  EXPECT_EQ(cj::clock::iso_timestamp("2026-12-01 15:30:05.123456"), "2026-12-01T15:30:05Z");
  EXPECT_EQ(cj::clock::add_days("2026-12-31", 1), "2027-01-01");
  EXPECT_EQ(cj::clock::add_days("2026-03-01", -1), "2026-02-28");
}

}  // namespace
