#include "services/admin/routes.hpp"

#include "core/clock.hpp"
#include "core/errors.hpp"
#include "core/log.hpp"
#include "core/validate.hpp"
#include "http/auth.hpp"
#include "http/health.hpp"
#include "http/paging.hpp"
#include "services/admin/airports.hpp"
#include "services/admin/store.hpp"
#include "services/booking/counters.hpp"
#include "services/booking/store.hpp"

namespace cj::admin {
namespace {

using http::Request;
using http::Response;

class AdminRoutes {
 public:
  explicit AdminRoutes(const Deps& deps)
      : deps_(deps), store_(deps.db), bookings_(deps.db, deps.config.sales_cutoff_minutes) {}

  // Token must say ADMIN and the database must still say ADMIN: a demoted admin's old token
  // stops working at once.
  http::Handler admin_only(std::function<Response(const Request&, const Actor&)> handler) {
    return [this, handler = std::move(handler)](const Request& rq) {
      auto who = deps_.authenticator.authenticate(rq);
      if (!who) return http::error_response(rq, who.error());
      if (who->claims.role != "ADMIN" || who->role != "ADMIN") {
        return http::error_response(rq, errors::admin_required());
      }
      return handler(rq, Actor{who->claims.user_id, rq.request_id});
    };
  }

  Response create_airport(const Request& rq, const Actor& who) {
    auto body = http::parse_json_object(rq);
    if (!body) return http::error_response(rq, body.error());
    auto a = parse_new_airport(*body);
    if (!a) return http::error_response(rq, a.error());
    auto st = admin::create_airport(deps_.db, *a, who);
    if (!st) return http::error_response(rq, st.error());
    deps_.catalog.apply(std::move(*st));
    return http::json_response(
        201, {{"message", "공항이 추가되었습니다."}, {"airport_code", a->code}, {"success", true}});
  }

  Response update_airport(const Request& rq, const Actor& who) {
    auto body = http::parse_json_object(rq);
    if (!body) return http::error_response(rq, body.error());
    auto a = parse_airport_change(rq.param("airport_code"), *body);
    if (!a) return http::error_response(rq, a.error());
    auto st = admin::update_airport(deps_.db, *a, who);
    if (!st) return http::error_response(rq, st.error());
    deps_.catalog.apply(std::move(*st));
    return http::json_response(
        200,
        {{"message", "공항 정보가 수정되었습니다."}, {"airport_code", a->code}, {"success", true}});
  }

  Response flights(const Request& rq, const Actor&) {
    auto rows = store_.list_flights();
    if (!rows) return http::error_response(rq, rows.error());
    return http::json_response(200, {{"flights", *rows}});
  }

  Response create_flight(const Request& rq, const Actor& who) {
    auto body = http::parse_json_object(rq);
    if (!body) return http::error_response(rq, body.error());
    auto f = parse_flight(*body);
    if (!f) return http::error_response(rq, f.error());
    if (auto st = store_.create_flight(*f, who); !st) return http::error_response(rq, st.error());
    // A new flight has no schedules yet, so no search result changes.
    return http::json_response(
        201,
        {{"message", "항공편이 추가되었습니다."}, {"flight_id", f->flight_id}, {"success", true}});
  }

  Response flight_with_schedules(const Request& rq, const Actor& who) {
    auto body = http::parse_json_object(rq);
    if (!body) return http::error_response(rq, body.error());
    auto flight_json = body->find("flight");
    if (flight_json == body->end() || flight_json->is_null()) {
      return http::error_response(rq, errors::missing_field("flight"));
    }
    auto schedule_json = body->find("schedule");
    if (schedule_json == body->end() || schedule_json->is_null()) {
      return http::error_response(rq, errors::missing_field("schedule"));
    }
    if (!flight_json->is_object() || !schedule_json->is_object())
      return http::error_response(rq, errors::invalid_json());
    auto f = parse_flight(*flight_json);
    if (!f) return http::error_response(rq, f.error());
    auto spec = parse_schedule_spec(*schedule_json);
    if (!spec) return http::error_response(rq, spec.error());
    auto w = store_.upsert_flight_with_schedules(*f, *spec, who);
    if (!w) return http::error_response(rq, w.error());
    const ScheduleResult r = deps_.catalog.apply(std::move(*w));
    return http::json_response(201, {{"success", true},
                                     {"result",
                                      {{"flight_id", f->flight_id},
                                       {"created_schedules", r.created},
                                       {"updated_schedules", r.updated},
                                       {"skipped", r.skipped},
                                       {"total_requested", r.requested}}}});
  }

  Response delete_flight(const Request& rq, const Actor& who) {
    const std::string id = rq.param("flight_id");
    auto w = store_.delete_flight(id, who);
    if (!w) return http::error_response(rq, w.error());
    deps_.catalog.apply(std::move(*w));
    return http::json_response(200, {{"message", "항공편이 삭제되었습니다."}, {"success", true}});
  }

  Response schedules(const Request& rq, const Actor&) {
    auto rows = store_.list_schedules(clock::now_unix());
    if (!rows) return http::error_response(rq, rows.error());
    return http::json_response(200, {{"schedules", *rows}});
  }

  Response discounts(const Request& rq, const Actor&) {
    auto rows = store_.list_discounts();
    if (!rows) return http::error_response(rq, rows.error());
    return http::json_response(200, {{"discounts", *rows}});
  }

  Response create_discount(const Request& rq, const Actor& who) {
    auto body = http::parse_json_object(rq);
    if (!body) return http::error_response(rq, body.error());
    auto sid = validate::read_positive_int(*body, "schedule_id");
    if (!sid) return http::error_response(rq, sid.error());
    auto pct = parse_discount_percentage(*body);
    if (!pct) return http::error_response(rq, pct.error());
    auto w = store_.create_discount(*sid, *pct, who);
    if (!w) return http::error_response(rq, w.error());
    const long long discount_id = deps_.catalog.apply(std::move(*w));
    return http::json_response(
        201,
        {{"message", "할인이 생성되었습니다."}, {"discount_id", discount_id}, {"success", true}});
  }

  Response delete_discount(const Request& rq, const Actor& who) {
    auto id = validate::positive_integer(rq.param("discount_id"));
    if (!id) return http::error_response(rq, discount_not_found());
    auto w = store_.delete_discount(*id, who);
    if (!w) return http::error_response(rq, w.error());
    deps_.catalog.apply(std::move(*w));
    return http::json_response(200, {{"message", "할인이 삭제되었습니다."}, {"success", true}});
  }

  Response bookings(const Request& rq, const Actor&) {
    auto page = http::page_param(rq, 20, 200);
    if (!page) return http::error_response(rq, page.error());
    auto r = store_.list_bookings(*page);
    if (!r) return http::error_response(rq, r.error());
    nlohmann::json body{{"bookings", r->rows}, {"total", r->total}};
    if (page->limit > 0) {
      body["page"] = page->offset / page->limit + 1;
      body["per_page"] = page->limit;
    }
    return http::json_response(200, body);
  }

  Response search(const Request& rq, const Actor&) {
    const std::string term = validate::trim(rq.query_param("term").value_or(""));
    if (term.empty()) return http::error_response(rq, empty_search_term());
    if (term.size() > 100) {
      return http::error_response(rq,
                                  errors::invalid_field("term", "검색어는 100자 이하여야 합니다.",
                                                        "must be at most 100 characters"));
    }
    auto r = store_.search_bookings(term);
    if (!r) return http::error_response(rq, r.error());
    return http::json_response(200, {{"bookings", r->rows}, {"total", r->total}});
  }

  Response cancel(const Request& rq, const Actor& who) {
    const std::string number = rq.param("booking_number");
    auto r = bookings_.cancel(std::nullopt, number, clock::now_unix(), deps_.refunds,
                              [&](soci::session& s, const booking::CancelOutcome& out) {
                                AdminStore::record(
                                    s, who, "booking.cancel", number,
                                    {{"booking_id", out.booking_id}, {"status", "CANCELLED"}});
                              });
    if (!r) return http::error_response(rq, r.error());
    const booking::CancelOutcome done =
        booking::finish_release(std::move(*r), deps_.catalog, deps_.refunds);
    booking::counters::cancelled("admin");
    log::info("booking cancelled",
              {{"request_id", rq.request_id}, {"booking_id", done.booking_id}, {"by", "admin"}});
    return http::json_response(200, {{"message", "예약이 취소되었습니다."}, {"success", true}});
  }

  Response audit(const Request& rq, const Actor&) {
    auto page = http::page_param(rq, 50, 200);
    if (!page) return http::error_response(rq, page.error());
    auto r = store_.audit_log(*page);
    if (!r) return http::error_response(rq, r.error());
    return http::json_response(200, {{"audit", r->rows}, {"total", r->total}});
  }

 private:
  Deps deps_;
  AdminStore store_;
  booking::BookingStore bookings_;
};

}  // namespace

http::Service make_service(const Deps& deps) {
  auto r = std::make_shared<AdminRoutes>(deps);
  const std::string p = "/api/admin";
  http::Service s{"admin", deps.config.ports.admin, {}};
  auto add = [&](const char* method, const std::string& path,
                 Response (AdminRoutes::*fn)(const Request&, const Actor&)) {
    s.routes.push_back({method, path, r->admin_only([r, fn](const Request& rq, const Actor& who) {
                          return ((*r).*fn)(rq, who);
                        })});
  };
  add("POST", p + "/airports", &AdminRoutes::create_airport);
  add("PUT", p + "/airports/:airport_code", &AdminRoutes::update_airport);
  add("GET", p + "/flights", &AdminRoutes::flights);
  add("POST", p + "/flights", &AdminRoutes::create_flight);
  add("POST", p + "/flights-with-schedules", &AdminRoutes::flight_with_schedules);
  add("DELETE", p + "/flights/:flight_id", &AdminRoutes::delete_flight);
  add("GET", p + "/schedules", &AdminRoutes::schedules);
  add("GET", p + "/discounts", &AdminRoutes::discounts);
  add("POST", p + "/discounts", &AdminRoutes::create_discount);
  add("DELETE", p + "/discounts/:discount_id", &AdminRoutes::delete_discount);
  add("GET", p + "/bookings/search", &AdminRoutes::search);
  add("GET", p + "/bookings", &AdminRoutes::bookings);
  add("PUT", p + "/bookings/:booking_number/cancel", &AdminRoutes::cancel);
  add("GET", p + "/audit", &AdminRoutes::audit);
  s.routes.push_back(http::health_route(p, "admin", deps.config.ports.admin));
  return s;
}

}  // namespace cj::admin
