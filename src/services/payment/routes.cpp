#include "services/payment/routes.hpp"

#include "core/errors.hpp"
#include "core/log.hpp"
#include "core/security.hpp"
#include "core/validate.hpp"
#include "http/auth.hpp"
#include "http/health.hpp"
#include "services/payment/counters.hpp"
#include "services/payment/refund_worker.hpp"
#include "services/payment/store.hpp"

namespace cj::payment {
namespace {

using http::Request;
using http::Response;

std::string lower(std::string s) {
  return validate::lowercase_ascii(std::move(s));
}

// The webhook body as one JSON object, whether it came as JSON or as a form.
Result<nlohmann::json> webhook_fields(const Request& rq) {
  const std::string type = lower(rq.header("content-type").value_or(""));
  const std::string body = validate::trim(rq.body);
  // Some senders label JSON as a form (curl -d does); a body that opens an object is JSON.
  const bool looks_json = !body.empty() && body.front() == '{';
  if (!looks_json && type.find("application/x-www-form-urlencoded") != std::string::npos) {
    auto form = http::parse_form(rq.body);
    if (!form) return errors::invalid_json();
    nlohmann::json j = nlohmann::json::object();
    for (auto& [k, v] : *form) {
      // Percent-escapes can spell any bytes; JSON strings must be UTF-8 (dump() would throw on
      // the stored raw payload), so the form is held to the same rule as a JSON body.
      if (!validate::is_utf8(k) || !validate::is_utf8(v)) return errors::invalid_json();
      j[k] = v;
    }
    return j;
  }
  return http::parse_json_object(rq);
}

class PaymentRoutes {
 public:
  explicit PaymentRoutes(const Deps& deps) : deps_(deps), store_(deps.db) {}

  Response init(const Request& rq, const security::Claims& who) {
    auto body = http::parse_json_object(rq);
    if (!body) return http::error_response(rq, body.error());
    auto in = parse_init(*body);
    if (!in) return http::error_response(rq, in.error());
    const std::string order_id = in->order_id.value_or(new_order_id(who.user_id, in->schedule_id));
    auto p = store_.create(who.user_id, *in, order_id);
    if (!p) return http::error_response(rq, p.error());
    counters::entered(counters::State::Requested);
    const auto& key = deps_.config.bootpay_rest_api_key;
    return http::json_response(
        200, {{"success", true},
              {"payment_id", p->payment_id},
              {"order_id", p->order_id},
              {"bootpay",
               {{"application_id", key.empty() ? nlohmann::json(nullptr) : nlohmann::json(key)},
                {"price", p->amount},
                {"order_name", in->order_name},
                {"pg", in->provider == "KAKAO" ? "kakao" : "nicepay"},
                {"method", in->method == "KAKAO" ? "kakao" : "card"}}}});
  }

  Response webhook(const Request& rq) {
    const auto& secret = deps_.config.bootpay_private_key;
    // Without a key nobody can be verified, so nobody is trusted.
    if (secret.empty()) return http::error_response(rq, webhook_disabled());
    auto signature = rq.header("bootpay-signature");
    if (!signature) signature = rq.header("x-bootpay-signature");
    const std::string expected = security::base64_encode(security::hmac_sha256(secret, rq.body));
    if (!signature || !security::constant_time_equal(validate::trim(*signature), expected)) {
      log::warn("webhook signature rejected", {{"request_id", rq.request_id}});
      return http::error_response(rq, invalid_signature());
    }
    auto fields = webhook_fields(rq);
    if (!fields) return http::error_response(rq, fields.error());
    auto event = parse_webhook(*fields);
    if (!event) return http::error_response(rq, event.error());
    auto payment = store_.find_by_order(event->order_id);
    if (!payment) return http::error_response(rq, payment.error());
    if (!*payment) return http::error_response(rq, payment_not_found());
    const Payment& p = **payment;
    const std::string raw = raw_payload_text(*event);
    const nlohmann::json ok{{"success", true}};

    if (!event->paid) {
      auto t = store_.mark_failed(event->order_id, raw);
      if (!t) return http::error_response(rq, t.error());
      if (*t == Transition::Applied) counters::entered(counters::State::Failed);
      if (*t == Transition::NoChange) {
        log::info(
            "late or repeated failure event ignored",
            {{"request_id", rq.request_id}, {"payment_id", p.payment_id}, {"status", p.status}});
      }
      return http::json_response(200, ok);
    }
    if (p.status == "PAID" || p.status == "CANCELLED") {
      if (p.receipt_id != event->receipt_id) {
        log::warn("paid event with another receipt ignored",
                  {{"request_id", rq.request_id}, {"payment_id", p.payment_id}});
      }
      return http::json_response(200, ok);  // a replay changes nothing
    }
    if (!event->price || *event->price != p.amount) {
      log::error("ALERT webhook amount mismatch",
                 {{"request_id", rq.request_id},
                  {"payment_id", p.payment_id},
                  {"expected", p.amount},
                  {"received", event->price ? *event->price : -1}});
      return http::error_response(rq, amount_mismatch());
    }
    if (deps_.gateway) {
      // Trust the gateway's own record, asked over its API, not the webhook body alone.
      auto receipt = deps_.gateway->lookup(*event->receipt_id);
      if (!receipt) return http::error_response(rq, receipt.error());
      if (receipt->order_id != p.order_id || receipt->price != p.amount || !receipt->completed) {
        log::error("ALERT gateway receipt disagrees with webhook",
                   {{"request_id", rq.request_id}, {"payment_id", p.payment_id}});
        return http::error_response(rq, gateway_mismatch());
      }
    }
    auto t = store_.mark_paid(event->order_id, *event->receipt_id, raw);
    if (!t) return http::error_response(rq, t.error());
    switch (*t) {
      case Transition::Applied:
      case Transition::Confirmed:
        counters::entered(counters::State::Paid);
        log::info("payment paid", {{"request_id", rq.request_id},
                                   {"payment_id", p.payment_id},
                                   {"booking_confirmed", *t == Transition::Confirmed}});
        break;
      case Transition::Refunded:
        log::warn("payment arrived for an ended booking, refund queued",
                  {{"request_id", rq.request_id}, {"payment_id", p.payment_id}});
        // It was captured (PAID at the gateway) and is CANCELLED with its refund queued.
        counters::entered(counters::State::Paid);
        counters::entered(counters::State::Cancelled);
        deps_.refunds.kick();
        break;
      case Transition::NoChange: break;
    }
    return http::json_response(200, ok);
  }

  Response attach(const Request& rq, const security::Claims& who) {
    auto body = http::parse_json_object(rq);
    if (!body) return http::error_response(rq, body.error());
    auto order = body->find("orderId");
    auto booking = body->find("bookingId");
    if (order == body->end() || booking == body->end() || order->is_null() || booking->is_null()) {
      return http::error_response(rq, attach_fields_required());
    }
    if (!order->is_string() || order->get<std::string>().empty()) {
      return http::error_response(
          rq, errors::invalid_field("orderId", "문자열이어야 합니다.", "must be a string"));
    }
    auto booking_id = validate::read_positive_int(*body, "bookingId");
    if (!booking_id) return http::error_response(rq, booking_id.error());
    auto st = store_.attach(who.user_id, order->get<std::string>(), *booking_id);
    if (!st) return http::error_response(rq, st.error());
    if (*st == Transition::Confirmed) {
      log::info("held booking confirmed by its payment",
                {{"request_id", rq.request_id}, {"booking_id", *booking_id}});
    }
    return http::json_response(200,
                               {{"success", true}, {"message", "예약과 결제가 연결되었습니다."}});
  }

 private:
  Deps deps_;
  PaymentStore store_;
};

}  // namespace

http::Service make_service(const Deps& deps) {
  auto r = std::make_shared<PaymentRoutes>(deps);
  const http::Authenticator& auth = deps.authenticator;
  const std::string p = "/api/payments";
  http::Service s{"payment", deps.config.ports.payment, {}};
  s.routes.push_back(
      {"POST", p + "/init",
       http::authed(auth, [r](const Request& rq, const auto& who) { return r->init(rq, who); })});
  // Asks the payment gateway (up to ~18 s with retries): on the gateway pool, so a slow gateway
  // holds only those threads.
  s.routes.push_back({"POST", p + "/webhook", [r](const Request& rq) { return r->webhook(rq); },
                      true, nullptr, http::Pool::Gateway});
  s.routes.push_back(
      {"POST", p + "/attach-booking",
       http::authed(auth, [r](const Request& rq, const auto& who) { return r->attach(rq, who); })});
  s.routes.push_back(http::health_route(p, "payment", deps.config.ports.payment));
  return s;
}

}  // namespace cj::payment
