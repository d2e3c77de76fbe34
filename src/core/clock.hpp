// Time as the services need it: Unix seconds, calendar dates (UTC) and the API's timestamps.
#pragma once

#include <cstdint>
#include <string>

namespace cj::clock {

std::int64_t now_unix();
// `date` (YYYY-MM-DD, a real date) plus `days`, as YYYY-MM-DD.
std::string add_days(const std::string& date, int days);
// A database DATETIME/TIMESTAMP ("2024-01-01 10:00:00") as the API's "2024-01-01T10:00:00".
std::string iso_timestamp(std::string db_value);

}  // namespace cj::clock
