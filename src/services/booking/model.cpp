#include "services/booking/model.hpp"

#include <set>

#include "core/errors.hpp"
#include "core/security.hpp"
#include "core/validate.hpp"
#include "services/booking/rules.hpp"

namespace cj::booking {
namespace {

nlohmann::json nullable(const std::optional<std::string>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

Error bad(const std::string& field, const std::string& ko, const std::string& en) {
  return errors::invalid_field(field, ko, en);
}

// A required string at a nested path ("passengers[0].name"): the error names the full path.
Result<std::string> required_at(const nlohmann::json& obj, const std::string& key,
                                const std::string& path) {
  auto v = validate::required_string(obj, key);
  if (v) return v;
  if (v.error().code == "missing_field") return errors::missing_field(path);
  return bad(path, "문자열이어야 합니다.", "must be a string");
}

Result<PassengerIn> parse_passenger(const nlohmann::json& p, std::size_t i) {
  const std::string at = "passengers[" + std::to_string(i) + "].";
  if (!p.is_object()) return bad("passengers", "승객 정보가 올바르지 않습니다.", "must be objects");
  PassengerIn out;
  auto name = required_at(p, "name", at + "name");
  if (!name) return name.error();
  if (validate::utf8_length(*name).value_or(999) > 50) {
    return bad(at + "name", "이름은 50자 이하여야 합니다.", "must be at most 50 characters");
  }
  out.name = *name;
  auto name_en = validate::optional_string(p, "nameEn");
  if (!name_en) return bad(at + "nameEn", "문자열이어야 합니다.", "must be a string");
  if (*name_en) {
    std::string v = validate::trim(**name_en);
    if (validate::utf8_length(v).value_or(999) > 100) {
      return bad(at + "nameEn", "영문 이름은 100자 이하여야 합니다.",
                 "must be at most 100 characters");
    }
    if (!v.empty()) out.name_en = v;
  }
  auto birth = required_at(p, "birth", at + "birth");
  if (!birth) return birth.error();
  if (!validate::is_date(*birth) || *birth >= validate::today()) {
    return bad(at + "birth", "올바른 생년월일(YYYY-MM-DD)이 아닙니다.",
               "must be a real past date in YYYY-MM-DD form");
  }
  out.birth = *birth;
  auto gender = required_at(p, "gender", at + "gender");
  if (!gender) return gender.error();
  if (*gender != "M" && *gender != "F") {
    return bad(at + "gender", "성별은 M 또는 F여야 합니다.", "must be M or F");
  }
  out.gender = *gender;
  return out;
}

}  // namespace

Result<NewBooking> parse_new_booking(const nlohmann::json& body) {
  NewBooking b;
  auto schedule = validate::read_positive_int(body, "scheduleId");
  if (!schedule) return schedule.error();
  b.schedule_id = *schedule;

  auto passengers = body.find("passengers");
  if (passengers == body.end() || passengers->is_null() ||
      (passengers->is_array() && passengers->empty())) {
    return errors::missing_field("passengers");
  }
  if (!passengers->is_array()) return bad("passengers", "배열이어야 합니다.", "must be an array");
  if (passengers->size() > static_cast<std::size_t>(kMaxPassengers)) {
    return bad("passengers", "한 번에 최대 9명까지 예약할 수 있습니다.",
               "at most 9 passengers per booking");
  }
  for (std::size_t i = 0; i < passengers->size(); ++i) {
    auto p = parse_passenger((*passengers)[i], i);
    if (!p) return p.error();
    b.passengers.push_back(std::move(*p));
  }

  auto contact = body.find("contactInfo");
  if (contact == body.end() || contact->is_null()) return errors::missing_field("contactInfo");
  if (!contact->is_object()) return bad("contactInfo", "객체여야 합니다.", "must be an object");
  auto email = required_at(*contact, "email", "contactInfo.email");
  if (!email) return email.error();
  if (!validate::is_email(*email)) {
    return bad("contactInfo.email", "올바른 이메일 형식이 아닙니다.", "must be a valid email");
  }
  b.contact_email = *email;
  auto phone = required_at(*contact, "phone", "contactInfo.phone");
  if (!phone) return phone.error();
  if (!validate::is_phone(*phone)) {
    return bad("contactInfo.phone", "올바른 전화번호 형식이 아닙니다.", "must be a phone number");
  }
  b.contact_phone = *phone;

  auto method = validate::optional_string(body, "paymentMethod");
  if (!method) return method.error();
  b.payment_method = method->value_or("CARD");
  if (b.payment_method.empty() || b.payment_method.size() > 20) {
    return bad("paymentMethod", "결제 수단이 올바르지 않습니다.", "must be 1 to 20 characters");
  }

  auto amount = validate::required_integer(
      body, "totalAmount",
      {0, validate::kMaxInt, "0 이상의 정수여야 합니다.", "must be a non-negative integer"});
  if (!amount) return amount.error();
  b.total_amount = *amount;

  auto seats = body.find("seats");
  if (seats != body.end() && !seats->is_null()) {
    if (!seats->is_array()) return bad("seats", "배열이어야 합니다.", "must be an array");
    if (!seats->empty()) {
      // Seats go to the passengers in order; passengers past the end have none yet (assigned
      // at check-in). The original front end sends ONE seat for up to five passengers, and the
      // original backend booked that (giving everyone the same seat); we keep the booking and
      // give the seat to the first passenger only.
      if (seats->size() > b.passengers.size()) {
        return bad("seats", "좌석 수는 승객 수보다 많을 수 없습니다.",
                   "must not list more seats than passengers");
      }
      std::set<std::string> seen;
      for (const auto& s : *seats) {
        if (!s.is_string()) return bad("seats", "좌석은 문자열이어야 합니다.", "must be strings");
        std::string label = validate::trim(s.get<std::string>());
        for (auto& c : label) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        if (!parse_seat(label)) return invalid_seat(label);
        if (!seen.insert(label).second) {
          return bad("seats", "같은 좌석을 두 번 선택할 수 없습니다: " + label,
                     "duplicate seat " + label);
        }
        b.seats.push_back(label);
      }
    }
  }
  return b;
}

std::string request_fingerprint(const NewBooking& b) {
  // Only what was validated goes in, so unknown extra fields (a client's own bookkeeping, or a
  // hostile 600 KB nest) neither change the fingerprint nor cost anything. The document built
  // here is two levels deep and bounded by the validation limits.
  nlohmann::json passengers = nlohmann::json::array();
  for (const auto& p : b.passengers) {
    passengers.push_back({p.name, nullable(p.name_en), p.birth, p.gender});
  }
  const nlohmann::json canonical{b.schedule_id,   std::move(passengers), b.contact_email,
                                 b.contact_phone, b.payment_method,      b.total_amount,
                                 b.seats};
  const std::string text = canonical.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return security::hex_encode(security::hmac_sha256("cloudjet-idempotency", text));
}

nlohmann::json booking_json(const BookingOut& b) {
  nlohmann::json passengers = nlohmann::json::array();
  for (const auto& p : b.passengers) {
    passengers.push_back({{"name_kor", p.name_kor},
                          {"name_eng", nullable(p.name_eng)},
                          {"birth_date", nullable(p.birth_date)},
                          {"gender", nullable(p.gender)},
                          {"seat_number", nullable(p.seat_number)}});
  }
  nlohmann::json out{{"booking_id", b.booking_id},
                     {"booking_number", b.booking_number},
                     {"seat_number", nullable(b.seat_number)},
                     {"total_amount", b.total_amount},
                     {"contact_email", nullable(b.contact_email)},
                     {"contact_phone", nullable(b.contact_phone)},
                     {"payment_method", nullable(b.payment_method)},
                     {"status", b.status},
                     {"created_at", b.created_at},
                     {"flight_date", b.flight_date},
                     {"flight_id", b.flight_id},
                     {"airline", b.airline},
                     {"departure_airport", b.departure_airport},
                     {"arrival_airport", b.arrival_airport},
                     {"departure_time", b.departure_time},
                     {"arrival_time", b.arrival_time},
                     {"duration", nullable(b.duration)},
                     {"aircraft", nullable(b.aircraft)},
                     {"departure_name", b.departure_name},
                     {"arrival_name", b.arrival_name},
                     {"passengers", std::move(passengers)}};
  // HELD (and EXPIRED) bookings only: the drop-in's bodies are unchanged while holds are off.
  if (b.hold_expires_at) out["hold_expires_at"] = *b.hold_expires_at;
  return out;
}

nlohmann::json created_json(const Created& c) {
  nlohmann::json body{{"message", "예약이 성공적으로 생성되었습니다."},
                      {"booking_number", c.booking_number},
                      {"booking_id", c.booking_id},
                      {"status", c.status},
                      {"success", true}};
  // Only a HELD booking has a deadline; the drop-in (holds off) body gains just "status".
  if (c.hold_expires_at) body["hold_expires_at"] = *c.hold_expires_at;
  return body;
}

Error not_enough_seats() {
  return {400, "not_enough_seats", "선택한 항공편의 좌석이 부족합니다.",
          "Not enough seats left on this flight."};
}
Error seat_taken(const std::string& seat) {
  return {409, "seat_taken", "이미 선택된 좌석입니다: " + seat, "Seat already taken: " + seat};
}
Error invalid_seat(const std::string& seat) {
  return {400, "invalid_seat", "존재하지 않는 좌석입니다: " + seat,
          "No such seat on this aircraft: " + seat};
}
Error schedule_not_found() {
  return {404, "schedule_not_found", "항공편 스케줄을 찾을 수 없습니다.", "Schedule not found."};
}
Error schedule_unavailable() {
  return {409, "schedule_unavailable", "예약할 수 없는 항공편입니다.",
          "This flight cannot be booked (cancelled or withdrawn)."};
}
Error price_changed(long long unit_price, long long total_price) {
  Error e{409, "price_changed", "항공권 가격이 변경되었습니다. 다시 확인해주세요.",
          "The price has changed; please review it.", ""};
  e.details_json = nlohmann::json{
      {"current_unit_price", unit_price},
      {"current_total_price",
       total_price}}.dump();
  return e;
}
Error idempotency_conflict() {
  return {422, "idempotency_key_reused", "같은 Idempotency-Key로 다른 요청을 보낼 수 없습니다.",
          "This Idempotency-Key was used for a different request."};
}
Error booking_not_cancellable() {
  return {404, "booking_not_found", "취소 가능한 예약을 찾을 수 없습니다.",
          "No cancellable booking with this number."};
}

Error sales_closed(int cutoff_minutes) {
  const std::string n = std::to_string(cutoff_minutes);
  return {409, "sales_closed", "출발 " + n + "분 전부터는 예약할 수 없습니다. (판매 마감)",
          "Sales for this flight closed " + n + " minutes before departure."};
}
Error flight_departed() {
  return {409, "departed", "이미 출발한 항공편입니다.", "This flight has already departed."};
}
Error not_cancellable() {
  return {409, "not_cancellable", "이미 출발한 항공편의 예약은 취소할 수 없습니다.",
          "A booking for a flight that has departed cannot be cancelled."};
}

Error too_many_unpaid_bookings(int limit) {
  return {409, "too_many_unpaid_bookings",
          "결제하지 않은 예약이 너무 많습니다 (최대 " + std::to_string(limit) +
              "건). 기존 예약을 결제하거나 취소한 뒤 다시 시도해 주세요.",
          "Too many unpaid bookings (at most " + std::to_string(limit) +
              "). Pay for or cancel one of them first."};
}

}  // namespace cj::booking
