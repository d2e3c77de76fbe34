// The money limits, in one place (integer KRW, never floating). Every amount the services accept
// is checked against these: a fare an admin sets (base_price, current_price), a booking's
// total_amount, a payment's amount. Webhook and gateway-receipt prices and refunds are compared
// for equality with a stored payment amount, which these limits already bounded at init.
//
// They are one set because they depend on each other: the most expensive booking (the highest
// fare for the most passengers) must still be payable, so the payment limit is derived from the
// other two rather than written down separately.
#pragma once

#include <cstdint>
#include <limits>
#include <string>

namespace cj::money {

// One passenger's fare on one schedule (a flight's base_price, a schedule's current_price).
constexpr long long kMaxFare = 100'000'000;
// Passengers in one booking.
constexpr int kMaxPassengers = 9;
// A booking's total_amount, and so the largest payment (and refund) there can be.
constexpr long long kMaxBookingAmount = kMaxFare * kMaxPassengers;

// Amounts live in INT columns (bookings.total_amount, payments.amount: MySQL's signed 32 bits).
static_assert(kMaxBookingAmount <= std::numeric_limits<std::int32_t>::max(),
              "the largest booking amount must fit the INT amount columns");

// With thousands separators, as the error messages print limits: 900000000 → "900,000,000".
std::string grouped(long long amount);

}  // namespace cj::money
