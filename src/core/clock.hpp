// The service clock and the time formats the services share: Unix seconds, calendar dates (UTC),
// database timestamps and the API's timestamps.
//
// Every "now" of the services (sales cut-off, departures, JWT expiry, refund backoff, row
// timestamps) is read from now_unix(), so tests can stand the whole process at a chosen instant
// (CLOUDJET_FAKE_NOW, refused in production). The clock is process-wide rather than an object
// handed to every store because the JWT check, the background workers and every store must agree
// on one "now"; it is set once, before any thread starts. The rules built on it take the instant
// as a parameter, so their unit tests inject whatever "now" they need.
#pragma once

#include <cstdint>
#include <string>

namespace cj::clock {

// Seconds since the Unix epoch: the system clock, or the fake clock when start_at() was called.
std::int64_t now_unix();
// From now on the clock reads `unix_seconds` and runs on from there at the system clock's pace
// (leases, backoffs and token lifetimes keep working). Call before any thread reads the clock.
void start_at(std::int64_t unix_seconds);
// Back to the system clock (unit tests).
void use_system_clock();
[[nodiscard]] bool is_fake();

// The UTC calendar date of an instant, and of now, as YYYY-MM-DD.
std::string utc_date(std::int64_t unix_seconds);
std::string today_utc();
// `date` (YYYY-MM-DD, a real date) plus `days`, as YYYY-MM-DD.
std::string add_days(const std::string& date, int days);
// An instant as a database DATETIME/TIMESTAMP value in UTC ("2024-01-01 10:00:00"): the stores
// write row timestamps from the service clock, not from the database's own clock.
std::string db_timestamp(std::int64_t unix_seconds);
std::string db_now();
// A database timestamp (UTC: SQLite's strftime('now'), MySQL sessions forced to +00:00) as the
// API's "2024-01-01T10:00:00Z".
std::string iso_timestamp(std::string db_value);

}  // namespace cj::clock
