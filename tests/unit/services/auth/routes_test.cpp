// The auth service's handlers driven through http::Request → http::Response on a real
// (temporary, migrated) SQLite database with the in-process attempt limiter: the rows a signup
// leaves, the token a login issues, the throttles, the legacy-hash upgrade and the profile.
#include "services/auth/routes.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "core/attempt_limiter.hpp"
#include "core/security.hpp"
#include "services/auth/store.hpp"
#include "support/handler_env.hpp"

namespace {

using cj::testing::kNow;

// Generated once with Python: hashlib.pbkdf2_hmac('sha256', b'legacy-pass-1',
// b'saltsalt12345678', 1000).hex(), in werkzeug's "method$salt$hash" form.
constexpr const char* kLegacyPassword = "legacy-pass-1";
constexpr const char* kLegacyHash =
    "pbkdf2:sha256:1000$saltsalt12345678$"
    "4dd51a3431dcda675025d411af5ff0616cd0dd84c12c377723fc2743f4aea379";

class AuthRoutesTest : public cj::testing::HandlerEnv {
 protected:
  void SetUp() override {
    HandlerEnv::SetUp();
    config_.secret_key = authenticator_.secret;
    config_.jwt_ttl_seconds = 3600;
    config_.login.max_failures_per_email = 3;
    config_.signup.max_per_client = 2;
    service_ = cj::auth::make_service({*db_, config_, authenticator_, *limiter_});
  }

  static nlohmann::json signup_body(const std::string& email) {
    return {{"name", "김철수"},
            {"email", email},
            {"password", "correct horse"},
            {"phone", "010-2222-3333"},
            {"birthDate", "1991-02-03"}};
  }

  cj::http::Response post(const std::string& path, const nlohmann::json& body,
                          const std::string& client = "203.0.113.7") {
    cj::http::Request rq;
    rq.headers.emplace_back("content-type", "application/json");
    rq.body = body.dump();
    rq.client_ip = client;
    return call(service_, "POST", path, rq);
  }

  cj::http::Response login(const std::string& email, const std::string& password) {
    return post("/api/auth/login", {{"email", email}, {"password", password}});
  }

  // A user with `hash` as stored password hash; its id.
  long long add_user(const std::string& email, const std::string& hash) {
    cj::auth::NewUser u{"이영희", email, "", "010-4444-5555", "1985-05-06"};
    auto id = cj::auth::AuthStore(*db_).create_user(u, hash);
    EXPECT_TRUE(id) << id.error().message_en;
    return id ? *id : -1;
  }

  std::string stored_hash(const std::string& email) {
    auto v = db_->run("test.hash", [&](soci::session& s) {
      std::string h;
      s << "SELECT password_hash FROM users WHERE email = :e", soci::use(email), soci::into(h);
      return h;
    });
    return v ? *v : "";
  }

  static std::string header(const cj::http::Response& r, const std::string& name) {
    for (const auto& [n, v] : r.headers) {
      if (n == name) return v;
    }
    return "";
  }

  std::unique_ptr<cj::AttemptLimiter> limiter_ = cj::make_memory_limiter();
  cj::http::Service service_;
};

TEST_F(AuthRoutesTest, ASignupStoresTheUserWithAnArgon2HashAndALowerCasedEmail) {
  auto r = post("/api/auth/signup", signup_body("Kim.CS@Example.com"));
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(json_of(r)["success"], true);

  EXPECT_EQ(scalar("SELECT COUNT(*) FROM users WHERE email = 'kim.cs@example.com' "
                   "AND role = 'USER' AND phone = '010-2222-3333' AND birth_date = '1991-02-03'"),
            1);
  const std::string hash = stored_hash("kim.cs@example.com");
  EXPECT_EQ(hash.rfind("$argon2id$", 0), 0U) << hash;
  EXPECT_EQ(hash.find("correct horse"), std::string::npos);
}

TEST_F(AuthRoutesTest, ASignupWithATakenEmailInAnyCaseIs400AndAddsNoRow) {
  // The fixture's user 1 is u@x.com.
  auto r = post("/api/auth/signup", signup_body("U@X.com"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json_of(r)["error"], "email_taken");
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM users"), 2);
}

TEST_F(AuthRoutesTest, AShortPasswordOrAMissingFieldIs400NamingItAndAddsNoRow) {
  auto body = signup_body("new@example.com");
  body["password"] = "short";
  auto weak = post("/api/auth/signup", body);
  EXPECT_EQ(weak.status, 400);
  EXPECT_EQ(json_of(weak)["error"], "weak_password");

  body = signup_body("new@example.com");
  body.erase("phone");
  auto missing = post("/api/auth/signup", body);
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(json_of(missing)["error"], "missing_field");
  EXPECT_EQ(json_of(missing)["message"], "phone는 필수 입력 항목입니다.");

  EXPECT_EQ(scalar("SELECT COUNT(*) FROM users"), 2);
}

TEST_F(AuthRoutesTest, SignupsBeyondTheClientsLimitAre429WithRetryAfterAndAddNoRow) {
  ASSERT_EQ(post("/api/auth/signup", signup_body("a1@example.com")).status, 201);
  ASSERT_EQ(post("/api/auth/signup", signup_body("a2@example.com")).status, 201);
  auto refused = post("/api/auth/signup", signup_body("a3@example.com"));
  EXPECT_EQ(refused.status, 429);
  EXPECT_EQ(json_of(refused)["error"], "too_many_attempts");
  EXPECT_GT(std::atoi(header(refused, "Retry-After").c_str()), 0);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM users WHERE email = 'a3@example.com'"), 0);

  // Another client is not affected.
  auto other = post("/api/auth/signup", signup_body("a3@example.com"), "198.51.100.9");
  EXPECT_EQ(other.status, 201) << other.body;
}

TEST_F(AuthRoutesTest, ALoginIssuesATokenForThatUserWithTheConfiguredLifetime) {
  const long long id = add_user("lee@example.com", cj::security::hash_password("right-password"));
  auto r = login("  LEE@example.com ", "right-password");
  ASSERT_EQ(r.status, 200) << r.body;
  auto body = json_of(r);
  EXPECT_EQ(body["user"]["id"], id);
  EXPECT_EQ(body["user"]["email"], "lee@example.com");
  EXPECT_EQ(body["user"]["role"], "USER");
  EXPECT_FALSE(body["user"].contains("password_hash"));

  auto verified = cj::security::verify_jwt(body["token"].get<std::string>(), config_.secret_key,
                                           kNow, config_.jwt_ttl_seconds);
  ASSERT_TRUE(verified.claims);
  EXPECT_EQ(verified.claims->user_id, id);
  EXPECT_EQ(verified.claims->role, "USER");
  EXPECT_EQ(verified.claims->iat, kNow);
  EXPECT_EQ(verified.claims->exp, kNow + 3600);
}

TEST_F(AuthRoutesTest, AWrongPasswordAndAnUnknownEmailGetTheSameAnswer) {
  add_user("lee@example.com", cj::security::hash_password("right-password"));
  auto wrong = login("lee@example.com", "wrong-password");
  auto unknown = login("nobody@example.com", "wrong-password");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(json_of(wrong)["error"], "invalid_credentials");
  EXPECT_EQ(wrong.body, unknown.body);
}

TEST_F(AuthRoutesTest, AfterTheEmailsFailureLimitEvenTheRightPasswordIs429) {
  add_user("lee@example.com", cj::security::hash_password("right-password"));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(login("lee@example.com", "wrong").status, 401);
  auto locked = login("lee@example.com", "right-password");
  EXPECT_EQ(locked.status, 429);
  EXPECT_EQ(json_of(locked)["error"], "too_many_attempts");
  EXPECT_GT(std::atoi(header(locked, "Retry-After").c_str()), 0);
  EXPECT_EQ(locked.body.find("token"), std::string::npos);
}

TEST_F(AuthRoutesTest, ASuccessfulLoginStartsTheEmailsFailureCountAgain) {
  add_user("lee@example.com", cj::security::hash_password("right-password"));
  for (int round = 0; round < 2; ++round) {
    EXPECT_EQ(login("lee@example.com", "wrong").status, 401);
    EXPECT_EQ(login("lee@example.com", "wrong").status, 401);
    EXPECT_EQ(login("lee@example.com", "right-password").status, 200) << "round " << round;
  }
}

TEST_F(AuthRoutesTest, ALegacyWerkzeugHashLogsInAndIsReplacedByArgon2) {
  add_user("old@example.com", kLegacyHash);
  auto r = login("old@example.com", kLegacyPassword);
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string upgraded = stored_hash("old@example.com");
  EXPECT_EQ(upgraded.rfind("$argon2id$", 0), 0U) << upgraded;
  EXPECT_EQ(cj::security::verify_password(kLegacyPassword, upgraded),
            cj::security::PasswordCheck::Match);
  // The old password still works against the new hash; a wrong one still fails.
  EXPECT_EQ(login("old@example.com", kLegacyPassword).status, 200);
  EXPECT_EQ(login("old@example.com", "not-it").status, 401);
}

TEST_F(AuthRoutesTest, TheProfileIsTheCallersOwnAndNeedsAToken) {
  auto mine = call(service_, "GET", "/api/auth/profile", authed(1, "USER"));
  ASSERT_EQ(mine.status, 200) << mine.body;
  auto user = json_of(mine)["user"];
  EXPECT_EQ(user["user_id"], 1);
  EXPECT_EQ(user["email"], "u@x.com");
  EXPECT_EQ(user["birth_date"], "1990-01-01");
  EXPECT_FALSE(user.contains("password_hash"));

  auto admin = call(service_, "GET", "/api/auth/profile", authed(2, "ADMIN"));
  ASSERT_EQ(admin.status, 200) << admin.body;
  EXPECT_EQ(json_of(admin)["user"]["email"], "a@x.com");
  EXPECT_EQ(json_of(admin)["user"]["role"], "ADMIN");

  auto anonymous = call(service_, "GET", "/api/auth/profile", cj::http::Request{});
  EXPECT_EQ(anonymous.status, 401);
}

TEST_F(AuthRoutesTest, AProfileUpdateChangesOnlyTheCallersRowAndABadPhoneChangesNothing) {
  auto ok = call(service_, "PUT", "/api/auth/profile",
                 authed(1, "USER", {{"name", " 홍길순 "}, {"phone", "010-9999-8888"}}));
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM users WHERE user_id = 1 AND name = '홍길순' "
                   "AND phone = '010-9999-8888'"),
            1);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM users WHERE user_id = 2 AND name = 'admin' "
                   "AND phone = '010-1234-5679'"),
            1);

  auto bad = call(service_, "PUT", "/api/auth/profile",
                  authed(1, "USER", {{"name", "다른이름"}, {"phone", "call me"}}));
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(json_of(bad)["error"], "invalid_field");
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM users WHERE user_id = 1 AND name = '홍길순'"), 1);
}

}  // namespace
