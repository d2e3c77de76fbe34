#include "services/auth/routes.hpp"

#include <chrono>

#include "core/clock.hpp"
#include "core/errors.hpp"
#include "core/log.hpp"
#include "core/net_address.hpp"
#include "core/security.hpp"
#include "http/auth.hpp"
#include "http/health.hpp"
#include "services/auth/counters.hpp"
#include "services/auth/store.hpp"

namespace cj::auth {
namespace {

using http::Request;
using http::Response;

// Verifying against this when the email is unknown makes both failures cost the same time, so
// response timing does not reveal which emails exist.
const std::string& dummy_hash() {
  static const std::string h = security::hash_password("cloudjet-timing-equaliser");
  return h;
}

class AuthRoutes {
 public:
  explicit AuthRoutes(const Deps& deps) : deps_(deps), store_(deps.db) {}

  Response signup(const Request& rq) {
    auto body = http::parse_json_object(rq);
    if (!body) return http::error_response(rq, body.error());
    auto user = parse_signup(*body);
    if (!user) return http::error_response(rq, user.error());
    // Every well-formed signup costs an Argon2 hash and a row, so each one counts against the
    // client (its address, or IPv6 /64), successful or not.
    const auto& policy = deps_.config.signup;
    const std::string client_key = "signup:" + net::client_bucket(rq.client_ip);
    if (const int wait = deps_.login_limiter.retry_after(client_key, policy.max_per_client);
        wait > 0) {
      counters::throttled(counters::Throttle::Signup);
      Response r = http::error_response(rq, errors::too_many_signups());
      r.headers.emplace_back("Retry-After", std::to_string(wait));
      return r;
    }
    deps_.login_limiter.record_failure(client_key, policy.window_seconds);
    // Hash before taking a database connection: hashing is the slow part.
    const std::string hash = security::hash_password(user->password);
    auto id = store_.create_user(*user, hash);
    if (!id) return http::error_response(rq, id.error());
    log::info("user signed up", {{"request_id", rq.request_id}, {"user_id", *id}});
    return http::json_response(
        201, {{"message", "회원가입이 성공적으로 완료되었습니다."}, {"success", true}});
  }

  Response login(const Request& rq) {
    auto body = http::parse_json_object(rq);
    if (!body) return http::error_response(rq, body.error());
    auto creds = parse_login(*body);
    if (!creds) return http::error_response(rq, creds.error());

    const auto& policy = deps_.config.login;
    const std::string email_key = "email:" + creds->email;
    const std::string client_key = "client:" + net::client_bucket(rq.client_ip);
    const int wait =
        std::max(deps_.login_limiter.retry_after(email_key, policy.max_failures_per_email),
                 deps_.login_limiter.retry_after(client_key, policy.max_failures_per_client));
    if (wait > 0) {
      counters::throttled(counters::Throttle::Login);
      Response r = http::error_response(rq, errors::too_many_attempts());
      r.headers.emplace_back("Retry-After", std::to_string(wait));
      return r;
    }

    auto found = store_.find_by_email(creds->email);
    if (!found) return http::error_response(rq, found.error());
    const auto check =
        security::verify_password(creds->password, *found ? (*found)->password_hash : dummy_hash());
    const bool matched = *found && (check == security::PasswordCheck::Match ||
                                    check == security::PasswordCheck::MatchNeedsRehash);
    if (!matched) {
      deps_.login_limiter.record_failure(email_key, policy.lockout_seconds);
      deps_.login_limiter.record_failure(client_key, policy.lockout_seconds);
      log::info("login failed", {{"request_id", rq.request_id}, {"client", rq.client_ip}});
      return http::error_response(rq, errors::invalid_credentials());
    }
    const User& user = **found;
    deps_.login_limiter.reset(email_key);
    if (check == security::PasswordCheck::MatchNeedsRehash) {
      // Legacy werkzeug hash or old parameters: upgrade now that we know the password.
      if (auto st = store_.set_password_hash(user.id, security::hash_password(creds->password));
          !st) {
        log::warn("password rehash failed", {{"request_id", rq.request_id}, {"user_id", user.id}});
      }
    }
    const auto now = clock::now_unix();
    const std::string token = security::sign_jwt(
        {user.id, user.role, now, now + deps_.config.jwt_ttl_seconds}, deps_.config.secret_key);
    return http::json_response(
        200, {{"message", "로그인 성공"}, {"token", token}, {"user", login_user_json(user)}});
  }

  Response get_profile(const Request& rq, const security::Claims& who) {
    auto user = store_.find_by_id(who.user_id);
    if (!user) return http::error_response(rq, user.error());
    if (!*user) return http::error_response(rq, errors::user_not_found());
    return http::json_response(200, profile_json(**user));
  }

  Response put_profile(const Request& rq, const security::Claims& who) {
    auto body = http::parse_json_object(rq);
    if (!body) return http::error_response(rq, body.error());
    auto update = parse_profile_update(*body);
    if (!update) return http::error_response(rq, update.error());
    auto updated = store_.update_profile(who.user_id, *update);
    if (!updated) return http::error_response(rq, updated.error());
    if (!*updated) return http::error_response(rq, errors::user_not_found());
    return http::json_response(
        200, {{"message", "프로필이 성공적으로 업데이트되었습니다."}, {"success", true}});
  }

 private:
  Deps deps_;
  AuthStore store_;
};

}  // namespace

http::Service make_service(const Deps& deps) {
  auto routes = std::make_shared<AuthRoutes>(deps);
  const http::Authenticator& auth = deps.authenticator;
  const std::string prefix = "/api/auth";
  http::Service s{"auth", deps.config.ports.auth, {}};
  // Both hash a password (Argon2id): they run on the CPU pool, apart from database work.
  s.routes.push_back({"POST", prefix + "/signup",
                      [routes](const Request& rq) { return routes->signup(rq); }, true, nullptr,
                      http::Pool::Cpu});
  s.routes.push_back({"POST", prefix + "/login",
                      [routes](const Request& rq) { return routes->login(rq); }, true, nullptr,
                      http::Pool::Cpu});
  s.routes.push_back(
      {"GET", prefix + "/profile", http::authed(auth, [routes](const Request& rq, const auto& who) {
         return routes->get_profile(rq, who);
       })});
  s.routes.push_back(
      {"PUT", prefix + "/profile", http::authed(auth, [routes](const Request& rq, const auto& who) {
         return routes->put_profile(rq, who);
       })});
  s.routes.push_back(http::health_route(prefix, "auth", deps.config.ports.auth));
  return s;
}

}  // namespace cj::auth
