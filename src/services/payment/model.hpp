// Payment domain types and rules (spec/API.md § Payment). Money is integer KRW, never floating.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/result.hpp"

namespace cj::payment {

constexpr long long kMaxAmount = 100000000;

struct PaymentInit {
  long long amount = 0;
  std::optional<long long> schedule_id;
  std::optional<std::string> order_id;
  std::string order_name = "CloudJet 항공권 결제";
  std::string method = "CARD";       // CARD | KAKAO
  std::string provider = "NICEPAY";  // NICEPAY | KAKAO
};

struct Payment {
  long long payment_id = 0;
  long long user_id = 0;
  std::optional<long long> booking_id;
  long long amount = 0;
  std::string status;  // REQUESTED | PAID | FAILED | CANCELLED
  std::optional<std::string> receipt_id;
  std::string order_id;
};

// What a webhook says, normalised from JSON or form fields.
struct WebhookEvent {
  std::string order_id;
  std::optional<std::string> receipt_id;
  std::optional<long long> price;
  bool paid = false;  // PAID/COMPLETE/SUCCESS (or Bootpay's status 1) with a receipt
  nlohmann::json raw = nlohmann::json::object();  // stored as raw_payload
};

Result<PaymentInit> parse_init(const nlohmann::json& body);
// order_id when the client gives none: CJ-ORD-<uid>-<scheduleId|NA>-<8 hex>.
std::string new_order_id(long long user_id, const std::optional<long long>& schedule_id);
// From the webhook's fields (all values as JSON: strings from forms, any type from JSON).
Result<WebhookEvent> parse_webhook(const nlohmann::json& fields);

// Stored raw payloads are kept for audits, not replayed; beyond this only the fields we acted on
// are kept, so one webhook cannot write megabytes per payment row.
constexpr std::size_t kMaxRawPayloadBytes = std::size_t{16} * 1024;
// The text stored as raw_payload: valid JSON of at most about kMaxRawPayloadBytes.
std::string raw_payload_text(const WebhookEvent& event);

// Errors of this service.
Error amount_required();
Error order_exists();
Error payment_not_found();
Error booking_not_found();
Error amount_mismatch();
Error already_attached();
Error booking_not_live();  // attach to a cancelled, expired or completed booking: 409
Error payment_refunded();  // attach of a payment already refunded: 409
Error invalid_signature();
Error webhook_disabled();
Error gateway_mismatch();
Error attach_fields_required();
Error receipt_id_too_long();

}  // namespace cj::payment
