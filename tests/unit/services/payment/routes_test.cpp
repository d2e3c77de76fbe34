// The payment service's handlers through http::Request → http::Response on a temporary SQLite
// database, with the payment gateway faked: a payment is created, and a signed PAID webhook is
// believed only when the gateway's own record agrees.
#include "services/payment/routes.hpp"

#include <gtest/gtest.h>

#include "core/security.hpp"
#include "fakes/fake_gateway.hpp"
#include "services/payment/refund_worker.hpp"
#include "support/handler_env.hpp"

namespace {

class PaymentRoutesTest : public cj::testing::HandlerEnv {
 protected:
  void SetUp() override {
    HandlerEnv::SetUp();
    config_.bootpay_private_key = "webhook-test-key";
    gateway_ = std::make_shared<cj::fakes::FakeGateway>();
    worker_ = std::make_unique<cj::payment::RefundWorker>(*db_, gateway_, 10);
    service_ = cj::payment::make_service({*db_, config_, authenticator_, gateway_, *worker_});
  }

  std::string init_payment(long long amount) {
    auto r = call(service_, "POST", "/api/payments/init",
                  authed(1, "USER", {{"scheduleId", 1}, {"amount", amount}, {"orderName", "t"}}));
    EXPECT_EQ(r.status, 200) << r.body;
    return json_of(r)["order_id"];
  }

  cj::http::Response webhook(const nlohmann::json& event, const std::string& key) {
    cj::http::Request rq;
    rq.body = event.dump();
    rq.headers.emplace_back("content-type", "application/json");
    rq.headers.emplace_back("bootpay-signature",
                            cj::security::base64_encode(cj::security::hmac_sha256(key, rq.body)));
    return call(service_, "POST", "/api/payments/webhook", rq);
  }

  std::shared_ptr<cj::fakes::FakeGateway> gateway_;
  std::unique_ptr<cj::payment::RefundWorker> worker_;
  cj::http::Service service_;
};

TEST_F(PaymentRoutesTest, InitStoresARequestedPayment) {
  const std::string order = init_payment(100000);
  EXPECT_FALSE(order.empty());
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM payments WHERE status = 'REQUESTED' AND amount = 100000"),
            1);
}

TEST_F(PaymentRoutesTest, ASignedPaidWebhookThatTheGatewayConfirmsMarksThePaymentPaid) {
  const std::string order = init_payment(100000);
  gateway_->receipts["r-1"] = {"r-1", order, 100000, true};
  auto r = webhook({{"order_id", order}, {"receipt_id", "r-1"}, {"price", 100000}, {"status", 1}},
                   config_.bootpay_private_key);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM payments WHERE status = 'PAID'"), 1);
  EXPECT_TRUE(gateway_->cancels.empty());
}

TEST_F(PaymentRoutesTest, AWebhookTheGatewayContradictsChangesNothing) {
  const std::string order = init_payment(100000);
  gateway_->receipts["r-2"] = {"r-2", order, 100000, false};  // not completed at the gateway
  auto r = webhook({{"order_id", order}, {"receipt_id", "r-2"}, {"price", 100000}, {"status", 1}},
                   config_.bootpay_private_key);
  EXPECT_GE(r.status, 400) << r.body;
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM payments WHERE status = 'REQUESTED'"), 1);
}

TEST_F(PaymentRoutesTest, AWebhookSignedWithAnotherKeyIsRefused) {
  const std::string order = init_payment(100000);
  gateway_->receipts["r-3"] = {"r-3", order, 100000, true};
  auto r = webhook({{"order_id", order}, {"receipt_id", "r-3"}, {"price", 100000}, {"status", 1}},
                   "someone-elses-key");
  EXPECT_EQ(json_of(r)["error"], "invalid_signature") << r.body;
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM payments WHERE status = 'PAID'"), 0);
}

}  // namespace
