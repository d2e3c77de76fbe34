#include "services/payment/gateway.hpp"

#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/http_client.hpp"
#include "core/log.hpp"

namespace cj::payment {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kAttempts = 3;
constexpr std::chrono::milliseconds kBackoff[] = {std::chrono::milliseconds(100),
                                                  std::chrono::milliseconds(300)};

Error unreachable(const std::string& why) {
  return {503, "gateway_unreachable",
          "결제 게이트웨이에 연결할 수 없습니다. 잠시 후 다시 시도해주세요.",
          "Payment gateway unavailable: " + why};
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
    auto r = call("GET", "/v2/receipt/" + receipt_id, "");
    if (!r) return r.error();
    if (r->status == 404) return Receipt{receipt_id, "", 0, false};
    if (r->status / 100 != 2)
      return unreachable("receipt lookup answered " + std::to_string(r->status));
    auto j = nlohmann::json::parse(r->body, nullptr, false);
    if (!j.is_object()) return unreachable("receipt lookup answered malformed JSON");
    Receipt out;
    out.receipt_id = j.value("receipt_id", receipt_id);
    out.order_id = j.value("order_id", "");
    if (auto p = j.find("price"); p != j.end() && p->is_number_integer())
      out.price = p->get<long long>();
    // Bootpay: status 1 = payment completed.
    if (auto s = j.find("status"); s != j.end() && s->is_number_integer()) {
      out.completed = s->get<int>() == 1;
    }
    return out;
  }

  Status cancel(const std::string& receipt_id, long long price,
                const std::string& reason) override {
    const std::string body = nlohmann::json{
        {"receipt_id", receipt_id},
        {"cancel_price", price},
        {"cancel_username", "CloudJet"},
        {"cancel_message",
         reason}}.dump();
    auto r = call("POST", "/v2/cancel", body);
    if (!r) return r.error();
    if (r->status / 100 != 2) return unreachable("cancel answered " + std::to_string(r->status));
    return ok_status();
  }

 private:
  // One request with a bearer token, retried with backoff on transport errors and 5xx; a 401
  // drops the cached token once.
  Result<net::HttpResponse> call(const std::string& method, const std::string& path,
                                 const std::string& body) {
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
    auto j = nlohmann::json::parse(r->body, nullptr, false);
    if (!j.is_object() || !j.contains("access_token") || !j["access_token"].is_string()) {
      return unreachable("token response has no access_token");
    }
    token_ = j["access_token"].get<std::string>();
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
