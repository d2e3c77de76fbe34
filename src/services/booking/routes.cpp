#include "services/booking/routes.hpp"

#include "core/clock.hpp"
#include "core/errors.hpp"
#include "core/log.hpp"
#include "core/validate.hpp"
#include "http/auth.hpp"
#include "http/health.hpp"
#include "http/paging.hpp"
#include "services/booking/counters.hpp"
#include "services/booking/store.hpp"
#include "services/flight/catalog_cache.hpp"

namespace cj::booking {
namespace {

using http::Request;
using http::Response;

constexpr std::size_t kMaxIdempotencyKey = 100;

Result<std::optional<std::string>> idempotency_key(const Request& rq) {
  auto key = rq.header("idempotency-key");
  if (!key) return std::optional<std::string>{};
  const bool printable =
      std::all_of(key->begin(), key->end(), [](char c) { return c > 32 && c < 127; });
  if (key->empty() || key->size() > kMaxIdempotencyKey || !printable) {
    return errors::invalid_field("Idempotency-Key", "1~100자의 출력 가능한 ASCII 문자여야 합니다.",
                                 "must be 1 to 100 printable ASCII characters");
  }
  return std::optional<std::string>{*key};
}

class BookingRoutes {
 public:
  explicit BookingRoutes(const Deps& deps)
      : deps_(deps),
        store_(deps.db, deps.config.sales_cutoff_minutes,
               HoldPolicy{deps.config.booking_hold_minutes,
                          deps.config.max_unpaid_bookings_per_user}) {}

  Response create(const Request& rq, const security::Claims& who) {
    auto body = http::parse_json_object(rq);
    if (!body) return http::error_response(rq, body.error());
    auto in = parse_new_booking(*body);
    if (!in) return http::error_response(rq, in.error());
    auto key = idempotency_key(rq);
    if (!key) return http::error_response(rq, key.error());
    const std::string fingerprint = *key ? request_fingerprint(*in) : std::string();
    auto out = store_.create(who.user_id, *in, *key, fingerprint, clock::now_unix());
    if (!out) return http::error_response(rq, out.error());
    const Created created = deps_.catalog.apply(std::move(*out));
    if (!created.replayed) {
      counters::created(created.status);
      log::info("booking created", {{"request_id", rq.request_id},
                                    {"booking_id", created.booking_id},
                                    {"schedule_id", in->schedule_id},
                                    {"passengers", in->passengers.size()}});
    }
    Response r = http::json_response(201, created_json(created));
    if (created.replayed) r.headers.emplace_back("Idempotent-Replayed", "true");
    return r;
  }

  Response list(const Request& rq, const security::Claims& who) {
    auto page = http::page_param(rq, 20, 100);
    if (!page) return http::error_response(rq, page.error());
    auto rows = store_.list_for_user(who.user_id, *page);
    if (!rows) return http::error_response(rq, rows.error());
    nlohmann::json list = nlohmann::json::array();
    for (const auto& b : *rows) list.push_back(booking_json(b));
    return http::json_response(200, {{"bookings", std::move(list)}});
  }

  Response cancel(const Request& rq, const security::Claims& who) {
    const std::string number = rq.param("booking_number");
    auto out = store_.cancel(who.user_id, number, clock::now_unix(), deps_.refunds);
    if (!out) return http::error_response(rq, out.error());
    const CancelOutcome done = finish_release(std::move(*out), deps_.catalog, deps_.refunds);
    counters::cancelled("user");
    log::info("booking cancelled",
              {{"request_id", rq.request_id}, {"booking_id", done.booking_id}, {"by", "user"}});
    return http::json_response(200, {{"message", "예약이 성공적으로 취소되었습니다."},
                                     {"success", true},
                                     {"booking_number", number}});
  }

  // Cached per schedule like flight search; every booking and cancel of the schedule
  // invalidates it after commit.
  std::optional<Response> occupied_fast(const Request& rq) {
    auto id = validate::positive_integer(rq.param("schedule_id"));
    if (!id) return std::nullopt;
    auto hit = deps_.seat_cache.peek(flight::CatalogCache::seats_group(*id), "occupied");
    if (!hit) return std::nullopt;
    Response r;
    r.body = std::move(*hit);
    return r;
  }

  Response occupied(const Request& rq) {
    auto id = validate::positive_integer(rq.param("schedule_id"));
    if (!id) return http::error_response(rq, errors::not_found());
    auto body = deps_.seat_cache.get_or_load(
        flight::CatalogCache::seats_group(*id), "occupied", [&]() -> Result<std::string> {
          auto seats = store_.occupied_seats(*id);
          if (!seats) return seats.error();
          return nlohmann::json{{"occupied_seats", *seats}}.dump();
        });
    if (!body) return http::error_response(rq, body.error());
    Response r;
    r.body = std::move(*body);
    return r;
  }

  Response seat_map(const Request& rq) {
    auto id = validate::positive_integer(rq.param("schedule_id"));
    if (!id) return http::error_response(rq, errors::not_found());
    auto map = store_.seat_map(*id);
    if (!map) return http::error_response(rq, map.error());
    if (!*map) return http::error_response(rq, schedule_not_found());
    const auto& m = **map;
    nlohmann::json letters = nlohmann::json::array();
    for (char c : m.letters) letters.push_back(std::string(1, c));
    return http::json_response(200, {{"schedule_id", m.schedule_id},
                                     {"rows", m.rows},
                                     {"letters", std::move(letters)},
                                     {"occupied", m.occupied},
                                     {"available_seats", m.available_seats}});
  }

 private:
  Deps deps_;
  BookingStore store_;
};

}  // namespace

http::Service make_service(const Deps& deps) {
  auto r = std::make_shared<BookingRoutes>(deps);
  const http::Authenticator& auth = deps.authenticator;
  const std::string prefix = "/api/bookings";
  http::Service s{"booking", deps.config.ports.booking, {}};
  s.routes.push_back({"POST", prefix, http::authed(auth, [r](const Request& rq, const auto& who) {
                        return r->create(rq, who);
                      })});
  s.routes.push_back({"GET", prefix, http::authed(auth, [r](const Request& rq, const auto& who) {
                        return r->list(rq, who);
                      })});
  s.routes.push_back(
      {"POST", prefix + "/:booking_number/cancel",
       http::authed(auth, [r](const Request& rq, const auto& who) { return r->cancel(rq, who); })});
  s.routes.push_back({"GET", prefix + "/occupied-seats/:schedule_id",
                      [r](const Request& rq) { return r->occupied(rq); }, true,
                      [r](const Request& rq) { return r->occupied_fast(rq); }});
  s.routes.push_back({"GET", prefix + "/seat-map/:schedule_id",
                      [r](const Request& rq) { return r->seat_map(rq); }});
  s.routes.push_back(http::health_route(prefix, "booking", deps.config.ports.booking));
  return s;
}

}  // namespace cj::booking
