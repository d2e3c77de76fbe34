// Micro-benchmarks of the hot pure functions (report only: CI logs the figures, nothing asserts a
// time). A regression shows as a jump between CI runs of the same machine class.
//   build/micro_bench                      # all, default min time
//   build/micro_bench --benchmark_filter=Search
#include <benchmark/benchmark.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/json_text.hpp"
#include "core/money.hpp"
#include "http/access_log.hpp"
#include "services/booking/rules.hpp"
#include "services/flight/model.hpp"

namespace {

using cj::flight::ScheduleRow;

std::vector<ScheduleRow> search_rows(int n) {
  std::vector<ScheduleRow> rows;
  for (int i = 0; i < n; ++i) {
    ScheduleRow r;
    r.schedule_id = 1000 + i;
    r.flight_id = "CJ" + std::to_string(100 + i);
    r.airline = "CloudJet";
    r.departure_airport = "ICN";
    r.arrival_airport = "NRT";
    r.departure_time = (i % 2 ? "09:30:00" : "18:05:00");
    r.arrival_time = (i % 2 ? "11:55:00" : "20:30:00");
    r.duration = "2시간 25분";
    r.aircraft = "A321neo";
    r.original_price = 250000 + 1000 * i;
    r.available_seats = 180 - i;
    r.date = "2026-12-05";
    r.departure_name = "인천국제공항";
    r.arrival_name = "나리타국제공항";
    if (i % 3 == 0) r.discount_percentage = 15;
    r.departure_zone = "Asia/Seoul";
    rows.push_back(std::move(r));
  }
  return rows;
}

// What a search miss serialises (flight/routes.cpp rows_body): sort, rows to JSON, dump.
void BM_SearchPageJson(benchmark::State& state) {
  const auto rows = search_rows(static_cast<int>(state.range(0)));
  std::size_t bytes = 0;
  for (auto _ : state) {
    auto copy = rows;
    cj::flight::sort_for_search(copy);
    nlohmann::json list = nlohmann::json::array();
    for (const auto& r : copy) list.push_back(cj::flight::search_row_json(r));
    const std::string body =
        nlohmann::json{{"flights", std::move(list)}, {"total", copy.size()}}.dump();
    bytes = body.size();
    benchmark::DoNotOptimize(body.data());
  }
  state.counters["body_bytes"] = static_cast<double>(bytes);
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_SearchPageJson)->Arg(4)->Arg(20);

// Price rules: the discounted price of every row of a page, and the booking total's limit check.
void BM_PriceRules(benchmark::State& state) {
  const auto rows = search_rows(20);
  for (auto _ : state) {
    long long total = 0;
    for (const auto& r : rows) {
      const long long unit = r.price();
      const long long amount = unit * 3;
      if (amount <= cj::money::kMaxBookingAmount) total += amount;
      total += cj::flight::discounted_price(r.original_price, 30);
    }
    benchmark::DoNotOptimize(total);
  }
  state.SetItemsProcessed(state.iterations() * 20);
}
BENCHMARK(BM_PriceRules);

// Seat-map validation of a 9-passenger booking with seats on a 180-seat aircraft, then the
// natural sort the occupied-seats list is returned in.
void BM_SeatMapValidation(benchmark::State& state) {
  const std::vector<std::string> wanted{"1A", "1B", "12C", "12D", "29F", "30A", "7E", "31A", "0A"};
  for (auto _ : state) {
    const auto map = cj::booking::seat_map_for(180);
    int valid = 0;
    for (const auto& s : wanted) valid += map.contains(s) ? 1 : 0;
    auto sorted = wanted;
    cj::booking::sort_seats(sorted);
    benchmark::DoNotOptimize(valid);
    benchmark::DoNotOptimize(sorted.data());
  }
}
BENCHMARK(BM_SeatMapValidation);

cj::http::Request access_request() {
  cj::http::Request rq;
  rq.method = "GET";
  rq.path = "/api/flights/search";
  rq.request_id = "5f0c6a9e-3b1d-4c2a-9d51-0e7b8c4a1f23";
  rq.client_ip = "203.0.113.7";
  return rq;
}

// The access log line as written now (by hand into a reused buffer) ...
void BM_AccessLineByHand(benchmark::State& state) {
  const auto rq = access_request();
  std::string out;
  for (auto _ : state) {
    out.clear();
    cj::http::append_access_fields(out, "flight", "/api/flights/search", rq, 200, 0.000412, 1834);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_AccessLineByHand);

// ... and as it was before (an nlohmann::json object per request, then dump).
void BM_AccessLineNlohmann(benchmark::State& state) {
  const auto rq = access_request();
  for (auto _ : state) {
    nlohmann::json line = {{"request_id", rq.request_id},
                           {"service", "flight"},
                           {"method", rq.method},
                           {"path", rq.path},
                           {"route", "/api/flights/search"},
                           {"status", 200},
                           {"duration_ms", 0.412},
                           {"bytes", 1834},
                           {"client", rq.client_ip}};
    const std::string text = line.dump();
    benchmark::DoNotOptimize(text.data());
  }
}
BENCHMARK(BM_AccessLineNlohmann);

}  // namespace

BENCHMARK_MAIN();
