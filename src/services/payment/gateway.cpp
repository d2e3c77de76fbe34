#include "services/payment/gateway.hpp"

#include <cctype>
#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <utility>
#include <vector>

#include "core/http_client.hpp"
#include "core/json_input.hpp"
#include "core/log.hpp"
#include "core/validate.hpp"

namespace cj::payment {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kAttempts = 3;
constexpr std::chrono::milliseconds kBackoff[] = {std::chrono::milliseconds(100),
                                                  std::chrono::milliseconds(300)};

Error unreachable(const std::string& why) {
  return {503, kGatewayUnreachable,
          "결제 게이트웨이에 연결할 수 없습니다. 잠시 후 다시 시도해주세요.",
          "Payment gateway unavailable: " + why};
}

// The gateway answered and said no: `what` names the call, the answer's error_code/message
// (Bootpay's error body) say why, kept short for refund_outbox.last_error and the log.
Error refused(const std::string& what, const net::HttpResponse& r) {
  std::string why = what + " refused with " + std::to_string(r.status);
  if (auto j = json_input::parse_object(r.body)) {
    for (const char* field : {"error_code", "message"}) {
      if (auto it = j->find(field); it != j->end() && it->is_string()) {
        why += " " + it->get<std::string>().substr(0, 200);
      }
    }
  }
  return {502, kGatewayRefused, "결제 게이트웨이가 요청을 거절했습니다.",
          "Payment gateway refused: " + why};
}

// A 4xx that says "this request is wrong" rather than "not now": 408 and 429 are pacing, and a
// 401 never gets here (call() renews the token and retries, then reports unreachable).
bool is_refusal_status(long status) {
  return status >= 400 && status < 500 && status != 401 && status != 408 && status != 429;
}

std::optional<std::string> string_field(const nlohmann::json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

// The receipt id comes from a webhook body: percent-encode everything but RFC 3986 unreserved
// characters, so "../cancel" or "?x=" cannot change which gateway URL is called.
std::string path_segment(std::string_view raw) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : raw) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(ch);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

class BootpayGateway final : public PaymentGateway {
 public:
  BootpayGateway(std::string base_url, std::string application_id, std::string private_key)
      : base_(std::move(base_url)),
        app_id_(std::move(application_id)),
        private_key_(std::move(private_key)) {
    while (!base_.empty() && base_.back() == '/') base_.pop_back();
  }

  Result<Receipt> lookup(const std::string& receipt_id) override {
    auto r = call("GET", "/v2/receipt/" + path_segment(receipt_id), "");
    if (!r) return r.error();
    if (r->status == 404) return Receipt{receipt_id, "", 0, false};
    if (r->status / 100 != 2)
      return unreachable("receipt lookup answered " + std::to_string(r->status));
    auto parsed = json_input::parse_object(r->body);
    if (!parsed) return unreachable("receipt lookup answered malformed JSON");
    const nlohmann::json& j = *parsed;
    // Field by field with type checks: json::value() throws when a field has another type.
    Receipt out;
    out.receipt_id = string_field(j, "receipt_id").value_or(receipt_id);
    out.order_id = string_field(j, "order_id").value_or("");
    if (auto p = j.find("price"); p != j.end() && p->is_number_integer()) {
      out.price = validate::integer_value(*p).value_or(-1);  // -1 never matches an amount
    }
    // Bootpay: status 1 = payment completed.
    if (auto s = j.find("status"); s != j.end() && s->is_number_integer()) {
      out.completed = validate::integer_value(*s) == 1;
    }
    return out;
  }

  Status cancel(const CancelRequest& rq) override {
    // cancel_id makes a repeated send the same cancel (Bootpay v2 dedupes on it); the header
    // carries the same id for gateways and proxies that dedupe on Idempotency-Key.
    const nlohmann::json request{{"receipt_id", rq.receipt_id},
                                 {"cancel_price", rq.price},
                                 {"cancel_username", "CloudJet"},
                                 {"cancel_message", rq.reason},
                                 {"cancel_id", rq.cancel_id}};
    // receipt_id comes from the database (a webhook wrote it): never let dump() throw on it.
    const std::string body = request.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    auto r = call("POST", "/v2/cancel", body, {{"Idempotency-Key", rq.cancel_id}});
    if (!r) return r.error();
    if (r->status / 100 == 2) return ok_status();
    if (is_refusal_status(r->status)) return refused("cancel", *r);
    return unreachable("cancel answered " + std::to_string(r->status));
  }

 private:
  // One request with a bearer token, retried with backoff on transport errors and 5xx; a 401
  // drops the cached token once.
  Result<net::HttpResponse> call(
      const std::string& method, const std::string& path, const std::string& body,
      const std::vector<std::pair<std::string, std::string>>& extra_headers = {}) {
    Error last = unreachable("no attempt made");
    for (int attempt = 0; attempt < kAttempts; ++attempt) {
      if (attempt > 0) std::this_thread::sleep_for(kBackoff[attempt - 1]);
      auto token = access_token();
      if (!token) {
        last = token.error();
        continue;
      }
      net::HttpRequest rq;
      rq.method = method;
      rq.url = base_ + path;
      rq.body = body;
      rq.headers = {{"Authorization", "Bearer " + *token},
                    {"Content-Type", "application/json"},
                    {"Accept", "application/json"}};
      rq.headers.insert(rq.headers.end(), extra_headers.begin(), extra_headers.end());
      auto r = net::send(rq);
      if (!r) {
        last = r.error();
        continue;
      }
      if (r->status == 401) {
        forget_token();
        last = unreachable("token rejected");
        continue;
      }
      if (r->status >= 500) {
        last = unreachable("answered " + std::to_string(r->status));
        continue;
      }
      return r;
    }
    log::warn("payment gateway call failed", {{"path", path}, {"error", last.message_en}});
    return last;
  }

  Result<std::string> access_token() {
    std::lock_guard lock(mu_);
    if (!token_.empty() && Clock::now() < token_expiry_) return token_;
    net::HttpRequest rq;
    rq.method = "POST";
    rq.url = base_ + "/v2/request/token";
    rq.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
    rq.body = nlohmann::json{{"application_id", app_id_}, {"private_key", private_key_}}.dump();
    auto r = net::send(rq);
    if (!r) return r.error();
    if (r->status / 100 != 2)
      return unreachable("token request answered " + std::to_string(r->status));
    auto j = json_input::parse_object(r->body);
    auto token = j ? string_field(*j, "access_token") : std::nullopt;
    if (!token) return unreachable("token response has no access_token");
    token_ = std::move(*token);
    // Bootpay tokens last 30 minutes; renew a little early rather than parse its timestamp.
    token_expiry_ = Clock::now() + std::chrono::minutes(25);
    return token_;
  }

  void forget_token() {
    std::lock_guard lock(mu_);
    token_.clear();
  }

  std::string base_;
  std::string app_id_;
  std::string private_key_;
  std::mutex mu_;
  std::string token_;
  Clock::time_point token_expiry_{};
};

}  // namespace

std::shared_ptr<PaymentGateway> make_bootpay_gateway(const std::string& base_url,
                                                     const std::string& application_id,
                                                     const std::string& private_key) {
  return std::make_shared<BootpayGateway>(base_url, application_id, private_key);
}

}  // namespace cj::payment
