#include "services/payment/model.hpp"

#include <algorithm>
#include <cmath>
#include <regex>

#include "core/errors.hpp"
#include "core/security.hpp"
#include "core/validate.hpp"

namespace cj::payment {
namespace {

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

// A gateway's integer: a JSON integer or a digit string (form fields are strings), and also a
// whole float (1000.0), which some senders write for amounts. The float is range-checked before
// the conversion: casting 1e300 to an integer is undefined behaviour.
std::optional<long long> integer_of(const nlohmann::json& v) {
  if (v.is_number_float()) {
    constexpr double kExact = 9007199254740992.0;  // 2^53: every integer below is exact
    const double d = v.get<double>();
    if (!(d > -kExact && d < kExact) || d != std::trunc(d)) return std::nullopt;
    return static_cast<long long>(d);
  }
  return validate::integer_value(v);
}

constexpr std::size_t kMaxReceiptIdBytes = 100;

std::optional<std::string> text_of(const nlohmann::json& fields, const char* a, const char* b) {
  for (const char* k : {a, b}) {
    auto it = fields.find(k);
    if (it == fields.end() || it->is_null()) continue;
    if (it->is_string() && !it->get<std::string>().empty()) return it->get<std::string>();
    if (it->is_number_integer()) {
      if (auto n = validate::integer_value(*it)) return std::to_string(*n);
    }
  }
  return std::nullopt;
}

}  // namespace

Result<PaymentInit> parse_init(const nlohmann::json& body) {
  PaymentInit p;
  auto amount =
      validate::optional_integer(body, "amount",
                                 {1, kMaxAmount, "1 이상 100,000,000 이하의 정수여야 합니다.",
                                  "must be an integer from 1 to 100,000,000"});
  if (!amount) return amount.error();
  if (!*amount) return amount_required();
  p.amount = **amount;
  auto schedule = validate::optional_integer(body, "scheduleId");
  if (!schedule) return schedule.error();
  p.schedule_id = *schedule;
  auto order = validate::optional_string(body, "orderId");
  if (!order) return order.error();
  if (*order) {
    static const std::regex re("^[A-Za-z0-9_-]{1,64}$");
    if (!std::regex_match(**order, re)) {
      return errors::invalid_field("orderId", "영문, 숫자, _, - 로 된 64자 이하여야 합니다.",
                                   "must be 1 to 64 characters of [A-Za-z0-9_-]");
    }
    p.order_id = **order;
  }
  auto name = validate::optional_string(body, "orderName");
  if (!name) return name.error();
  if (*name) {
    std::string v = validate::trim(**name);
    if (v.empty() || validate::utf8_length(v).value_or(999) > 100) {
      return errors::invalid_field("orderName", "1~100자여야 합니다.",
                                   "must be 1 to 100 characters");
    }
    p.order_name = v;
  }
  auto method = validate::optional_string(body, "method");
  if (!method) return method.error();
  if (*method) {
    p.method = upper(**method);
    if (p.method != "CARD" && p.method != "KAKAO") {
      return errors::invalid_field("method", "CARD 또는 KAKAO여야 합니다.",
                                   "must be CARD or KAKAO");
    }
  }
  auto provider = validate::optional_string(body, "provider");
  if (!provider) return provider.error();
  if (*provider) {
    p.provider = upper(**provider);
    if (p.provider != "NICEPAY" && p.provider != "KAKAO") {
      return errors::invalid_field("provider", "NICEPAY 또는 KAKAO여야 합니다.",
                                   "must be NICEPAY or KAKAO");
    }
  } else if (p.method == "KAKAO") {
    p.provider = "KAKAO";
  }
  return p;
}

std::string new_order_id(long long user_id, const std::optional<long long>& schedule_id) {
  return "CJ-ORD-" + std::to_string(user_id) + "-" +
         (schedule_id ? std::to_string(*schedule_id) : std::string("NA")) + "-" +
         security::hex_encode(security::random_bytes(4));
}

Result<WebhookEvent> parse_webhook(const nlohmann::json& fields) {
  WebhookEvent e;
  e.raw = fields;
  auto order = text_of(fields, "order_id", "orderId");
  if (!order) return Error{400, "missing_field", "order_id 누락", "order_id is missing."};
  e.order_id = *order;
  e.receipt_id = text_of(fields, "receipt_id", "receiptId");
  // bootpay_receipt_id is VARCHAR(100): a longer one would fail the UPDATE (a 500 on MySQL).
  if (e.receipt_id && e.receipt_id->size() > kMaxReceiptIdBytes) return receipt_id_too_long();
  for (const char* k : {"price", "amount"}) {
    if (auto it = fields.find(k); it != fields.end() && !it->is_null()) {
      e.price = integer_of(*it);
      break;
    }
  }
  bool paid_status = false;
  if (auto s = fields.find("status"); s != fields.end()) {
    if (auto n = integer_of(*s); n && *n == 1) paid_status = true;  // Bootpay: 1 = completed
    if (s->is_string()) {
      const auto v = upper(s->get<std::string>());
      paid_status =
          paid_status || v == "PAID" || v == "COMPLETE" || v == "COMPLETED" || v == "SUCCESS";
    }
  }
  if (auto s = fields.find("status_en"); s != fields.end() && s->is_string()) {
    const auto v = upper(s->get<std::string>());
    paid_status =
        paid_status || v == "PAID" || v == "COMPLETE" || v == "COMPLETED" || v == "SUCCESS";
  }
  e.paid = paid_status && e.receipt_id.has_value();
  return e;
}

std::string raw_payload_text(const WebhookEvent& event) {
  // The depth is bounded by the parser; replace keeps dump() from throwing on any byte string.
  std::string text = event.raw.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() <= kMaxRawPayloadBytes) return text;
  nlohmann::json summary{
      {"truncated", true},
      {"original_bytes", text.size()},
      {"order_id", event.order_id},
      {"receipt_id",
       event.receipt_id ? nlohmann::json(*event.receipt_id) : nlohmann::json(nullptr)},
      {"price", event.price ? nlohmann::json(*event.price) : nlohmann::json(nullptr)},
      {"paid", event.paid}};
  // Every field here is short: order_id matched a payments row (VARCHAR(100)) before anything is
  // stored, receipt_id was length-checked by parse_webhook.
  return summary.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Error amount_required() {
  return {400, "missing_field", "amount는 필수입니다.", "amount is required."};
}
Error order_exists() {
  return {409, "order_exists", "이미 사용된 주문번호입니다.", "This orderId is already used."};
}
Error payment_not_found() {
  return {404, "payment_not_found", "결제 정보를 찾을 수 없습니다.", "Payment not found."};
}
Error booking_not_found() {
  return {404, "booking_not_found", "예약을 찾을 수 없습니다.", "Booking not found."};
}
Error amount_mismatch() {
  return {409, "amount_mismatch", "결제 금액이 일치하지 않습니다.", "The amounts do not match."};
}
Error already_attached() {
  return {409, "already_attached", "이미 다른 예약과 연결된 결제입니다.",
          "This payment is already attached to another booking."};
}
Error invalid_signature() {
  return {401, "invalid_signature", "서명 검증 실패", "Signature verification failed."};
}
Error webhook_disabled() {
  return {503, "webhook_disabled", "결제 웹훅이 설정되지 않았습니다.",
          "Webhook disabled: BOOTPAY_PRIVATE_KEY is not configured."};
}
Error gateway_mismatch() {
  return {409, "gateway_mismatch", "결제 게이트웨이의 결제 정보와 일치하지 않습니다.",
          "The gateway's receipt does not match this payment."};
}
Error receipt_id_too_long() {
  return errors::invalid_field("receipt_id", "100자 이하여야 합니다.",
                               "must be at most 100 characters");
}
Error attach_fields_required() {
  return {400, "missing_field", "orderId, bookingId는 필수입니다.",
          "orderId and bookingId are required."};
}

Error booking_not_live() {
  return {409, "booking_not_payable", "결제할 수 없는 예약입니다 (취소, 만료 또는 완료됨).",
          "This booking cannot take a payment: it was cancelled, expired or completed."};
}
Error payment_refunded() {
  return {409, "payment_refunded", "이미 환불된 결제입니다.",
          "This payment has already been refunded."};
}

}  // namespace cj::payment
