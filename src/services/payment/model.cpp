#include "services/payment/model.hpp"

#include <algorithm>
#include <charconv>
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

// A JSON number or a string of digits (form fields are strings).
std::optional<long long> integer_of(const nlohmann::json& v) {
  if (v.is_number_integer()) return v.get<long long>();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (d == static_cast<double>(static_cast<long long>(d))) return static_cast<long long>(d);
    return std::nullopt;
  }
  if (v.is_string()) {
    const auto s = v.get<std::string>();
    long long out = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (ec == std::errc() && p == s.data() + s.size()) return out;
  }
  return std::nullopt;
}

std::optional<std::string> text_of(const nlohmann::json& fields, const char* a, const char* b) {
  for (const char* k : {a, b}) {
    auto it = fields.find(k);
    if (it == fields.end() || it->is_null()) continue;
    if (it->is_string() && !it->get<std::string>().empty()) return it->get<std::string>();
    if (it->is_number_integer()) return std::to_string(it->get<long long>());
  }
  return std::nullopt;
}

}  // namespace

Result<PaymentInit> parse_init(const nlohmann::json& body) {
  PaymentInit p;
  auto amount = body.find("amount");
  if (amount == body.end() || amount->is_null()) return amount_required();
  if (!amount->is_number_integer() || amount->get<long long>() <= 0 ||
      amount->get<long long>() > kMaxAmount) {
    return errors::invalid_field("amount", "1 이상 100,000,000 이하의 정수여야 합니다.",
                                 "must be an integer from 1 to 100,000,000");
  }
  p.amount = amount->get<long long>();
  if (auto s = body.find("scheduleId"); s != body.end() && !s->is_null()) {
    if (!s->is_number_integer() || s->get<long long>() <= 0) {
      return errors::invalid_field("scheduleId", "양의 정수여야 합니다.",
                                   "must be a positive integer");
    }
    p.schedule_id = s->get<long long>();
  }
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
Error attach_fields_required() {
  return {400, "missing_field", "orderId, bookingId는 필수입니다.",
          "orderId and bookingId are required."};
}

}  // namespace cj::payment
