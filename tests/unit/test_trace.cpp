#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/config.hpp"
#include "core/metrics.hpp"
#include "core/otlp_exporter.hpp"
#include "core/trace.hpp"

namespace {

using cj::trace::OtlpExporter;
using cj::trace::parse_traceparent;
using cj::trace::SpanData;
using cj::trace::SpanKind;

constexpr const char* kTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr const char* kSpan = "00f067aa0ba902b7";

std::string tp(const std::string& version, const std::string& trace, const std::string& span,
               const std::string& flags) {
  return version + "-" + trace + "-" + span + "-" + flags;
}

TEST(TraceParent, ParsesTheSpecExample) {
  auto ctx = parse_traceparent(tp("00", kTrace, kSpan, "01"));
  ASSERT_TRUE(ctx);
  EXPECT_EQ(ctx->trace_id, kTrace);
  EXPECT_EQ(ctx->span_id, kSpan);
  EXPECT_TRUE(ctx->sampled);
  auto unsampled = parse_traceparent(tp("00", kTrace, kSpan, "00"));
  ASSERT_TRUE(unsampled);
  EXPECT_FALSE(unsampled->sampled);
  // Surrounding blanks are optional whitespace of the header, not part of the value.
  EXPECT_TRUE(parse_traceparent(" " + tp("00", kTrace, kSpan, "01") + "\t"));
}

TEST(TraceParent, RefusesMalformedValues) {
  const std::string zeros32(32, '0');
  const std::string zeros16(16, '0');
  for (const std::string& bad : {
           std::string(), tp("00", zeros32, kSpan, "01"),              // all-zero trace id
           tp("00", kTrace, zeros16, "01"),                            // all-zero span id
           tp("ff", kTrace, kSpan, "01"),                              // version ff
           tp("00", "4BF92F3577B34DA6A3CE929D0E0E4736", kSpan, "01"),  // upper-case hex
           tp("00", "4bf92f3577b34da6a3ce929d0e0e473", kSpan, "01"),   // 31 digits
           tp("00", std::string(kTrace) + "0", kSpan, "01"),           // 33 digits
           tp("00", kTrace, "00f067aa0ba902b", "01"),                  // 15 digits
           tp("00", "4bf92f3577b34da6a3ce929d0e0e473g", kSpan, "01"),  // not hex
           tp("00", kTrace, kSpan, "0x"),                              // flags not hex
           tp("00", kTrace, kSpan, "01") + "-extra",                   // 00 has 4 fields
           tp("0", kTrace, kSpan, "01"),                               // short version
           std::string("00_") + kTrace + "-" + kSpan + "-01",          // wrong separator
       }) {
    EXPECT_FALSE(parse_traceparent(bad)) << bad;
  }
}

TEST(TraceParent, AHigherVersionIsReadByItsFirstFourFields) {
  auto later = parse_traceparent(tp("cc", kTrace, kSpan, "01") + "-what-the-future-holds");
  ASSERT_TRUE(later);
  EXPECT_EQ(later->trace_id, kTrace);
  EXPECT_EQ(later->span_id, kSpan);
  EXPECT_TRUE(parse_traceparent(tp("01", kTrace, kSpan, "01")));
  // Extra data must still come after a dash.
  EXPECT_FALSE(parse_traceparent(tp("cc", kTrace, kSpan, "01") + "x"));
}

TEST(TraceParent, FormatsVersion00AndRoundTrips) {
  cj::trace::SpanContext ctx{kTrace, kSpan, true, ""};
  EXPECT_EQ(cj::trace::format_traceparent(ctx), tp("00", kTrace, kSpan, "01"));
  ctx.sampled = false;
  EXPECT_EQ(cj::trace::format_traceparent(ctx), tp("00", kTrace, kSpan, "00"));
  auto back = parse_traceparent(cj::trace::format_traceparent(ctx));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->trace_id, kTrace);
  EXPECT_FALSE(back->sampled);
}

TEST(TraceState, IsPassedOnUpTo512CharactersAndDroppedWholeBeyond) {
  EXPECT_EQ(cj::trace::bounded_tracestate(" rojo=00f067aa0ba902b7,congo=t61rcWkgMzE "),
            "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
  const std::string at_limit = "k=" + std::string(510, 'v');
  EXPECT_EQ(cj::trace::bounded_tracestate(at_limit), at_limit);
  EXPECT_EQ(cj::trace::bounded_tracestate(at_limit + "v"), "");
}

TEST(TraceIds, AreRandomLowerHexAndNeverZero) {
  const std::regex trace_re("^[0-9a-f]{32}$");
  const std::regex span_re("^[0-9a-f]{16}$");
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const auto t = cj::trace::new_trace_id();
    const auto s = cj::trace::new_span_id();
    EXPECT_TRUE(std::regex_match(t, trace_re)) << t;
    EXPECT_TRUE(std::regex_match(s, span_re)) << s;
    seen.insert(t);
  }
  EXPECT_EQ(seen.size(), 1000U);
}

// Collects what spans hand over, as the exporter would.
class Collect final : public cj::trace::SpanSink {
 public:
  void submit(SpanData&& span) override { spans.push_back(std::move(span)); }
  std::vector<SpanData> spans;
};

TEST(Spans, NestUnderTheCurrentScopeAndItsServiceOnAnyThread) {
  Collect sink;
  cj::trace::set_sink(&sink);
  {
    auto parent = parse_traceparent(tp("00", kTrace, kSpan, "01"));
    cj::trace::Span server("GET /x", SpanKind::Server, &*parent, "booking");
    // Another thread (a worker pool's) gets the request's scope and makes a child there.
    std::thread worker([&] {
      EXPECT_EQ(cj::trace::current(), nullptr);
      const cj::trace::Scope scope(server.context(), server.service());
      cj::trace::Span db("booking.cancel", SpanKind::Client);
      db.set("db.system.name", "sqlite");
      EXPECT_EQ(cj::trace::current()->span_id, server.context().span_id);
      EXPECT_EQ(cj::trace::current_traceparent(),
                "00-" + std::string(kTrace) + "-" + server.context().span_id + "-01");
    });
    worker.join();
    EXPECT_EQ(cj::trace::current(), nullptr);  // scopes are per thread
    // A client span outside any trace is not recorded (idle background passes).
    cj::trace::Span orphan("refund_outbox.stats", SpanKind::Client);
    EXPECT_FALSE(orphan.recording());
  }
  cj::trace::set_sink(nullptr);
  ASSERT_EQ(sink.spans.size(), 2U);
  const SpanData& db = sink.spans[0];
  const SpanData& server = sink.spans[1];
  EXPECT_EQ(server.trace_id, kTrace);
  EXPECT_EQ(server.parent_span_id, kSpan);
  EXPECT_EQ(db.trace_id, kTrace);
  EXPECT_EQ(db.parent_span_id, server.span_id);
  EXPECT_EQ(db.service, "booking");
  EXPECT_EQ(db.kind, SpanKind::Client);
  EXPECT_GE(db.end_unix_nanos, db.start_unix_nanos);
  EXPECT_GE(server.end_unix_nanos, db.end_unix_nanos);
}

TEST(Spans, AreNotRecordedWithoutASinkOrForAnUnsampledParent) {
  cj::trace::Span off("GET /x", SpanKind::Server, nullptr, "auth");
  EXPECT_FALSE(off.recording());
  EXPECT_EQ(off.context().trace_id.size(), 32U);  // ids all the same, for the logs
  Collect sink;
  cj::trace::set_sink(&sink);
  {
    auto parent = parse_traceparent(tp("00", kTrace, kSpan, "00"));
    cj::trace::Span span("GET /x", SpanKind::Server, &*parent, "auth");
    EXPECT_FALSE(span.recording());
    EXPECT_EQ(span.context().trace_id, kTrace);
    EXPECT_FALSE(span.context().sampled);
  }
  cj::trace::set_sink(nullptr);
  EXPECT_TRUE(sink.spans.empty());
}

SpanData sample_span(const std::string& service, const std::string& name, bool root) {
  SpanData s;
  s.service = service;
  s.name = name;
  s.kind = root ? SpanKind::Server : SpanKind::Client;
  s.trace_id = kTrace;
  s.span_id = root ? kSpan : "1111111111111111";
  if (!root) s.parent_span_id = kSpan;
  s.start_unix_nanos = 1700000000123456789ULL;
  s.end_unix_nanos = 1700000000223456789ULL;
  s.attributes.emplace_back("http.route", std::string("/api/bookings/:id/cancel"));
  s.attributes.emplace_back("http.response.status_code", std::int64_t{503});
  s.error = !root ? false : true;
  s.status_message = "HTTP 503";
  return s;
}

TEST(OtlpJson, GroupsSpansByServiceWithTheOtlpShape) {
  const std::vector<SpanData> spans{sample_span("booking", "POST /api/bookings/:id/cancel", true),
                                    sample_span("booking", "booking.cancel", false),
                                    sample_span("payment", "refund.send", false)};
  const auto body = nlohmann::json::parse(cj::trace::encode_otlp_json(spans, ""));
  const auto& rs = body.at("resourceSpans");
  ASSERT_EQ(rs.size(), 2U);
  std::vector<std::string> names;
  for (const auto& r : rs) {
    const auto& attr = r.at("resource").at("attributes").at(0);
    EXPECT_EQ(attr.at("key"), "service.name");
    names.push_back(attr.at("value").at("stringValue"));
    ASSERT_EQ(r.at("scopeSpans").size(), 1U);
    EXPECT_EQ(r.at("scopeSpans")[0].at("scope").at("name"), "cloudjet");
  }
  EXPECT_EQ(names, (std::vector<std::string>{"cloudjet-booking", "cloudjet-payment"}));
  const auto& booking = rs[0].at("scopeSpans")[0].at("spans");
  ASSERT_EQ(booking.size(), 2U);
  const auto& server = booking[0];
  EXPECT_EQ(server.at("traceId"), kTrace);
  EXPECT_EQ(server.at("spanId"), kSpan);
  EXPECT_FALSE(server.contains("parentSpanId"));
  EXPECT_EQ(server.at("kind"), 2);
  EXPECT_EQ(server.at("startTimeUnixNano"), "1700000000123456789");
  EXPECT_EQ(server.at("endTimeUnixNano"), "1700000000223456789");
  EXPECT_EQ(server.at("status").at("code"), 2);
  EXPECT_EQ(server.at("status").at("message"), "HTTP 503");
  EXPECT_EQ(server.at("attributes")[0],
            nlohmann::json::parse(R"({"key":"http.route",)"
                                  R"("value":{"stringValue":"/api/bookings/:id/cancel"}})"));
  EXPECT_EQ(server.at("attributes")[1],
            nlohmann::json::parse(R"({"key":"http.response.status_code",)"
                                  R"("value":{"intValue":"503"}})"));
  const auto& client = booking[1];
  EXPECT_EQ(client.at("parentSpanId"), kSpan);
  EXPECT_EQ(client.at("kind"), 3);
  EXPECT_EQ(client.at("status").at("code"), 0);
  // OTEL_SERVICE_NAME puts everything under one name.
  const auto one = nlohmann::json::parse(cj::trace::encode_otlp_json(spans, "airline"));
  ASSERT_EQ(one.at("resourceSpans").size(), 1U);
  EXPECT_EQ(one["resourceSpans"][0]["scopeSpans"][0]["spans"].size(), 3U);
}

double metric(const std::string& name) {
  const std::string text = cj::metrics::Registry::instance().render();
  const std::regex re("\n" + name + " ([0-9.e+]+)");
  std::smatch m;
  if (!std::regex_search(text, m, re)) return -1;
  return std::stod(m[1]);
}

TEST(OtlpExporter, ABoundedQueueDropsAndCountsWhatDoesNotFit) {
  cj::TraceConfig config;
  config.endpoint = "http://127.0.0.1:9/v1/traces";
  config.max_queue = 3;
  config.max_batch = 2;
  std::vector<std::string> posted;
  bool receiver_up = true;
  OtlpExporter exporter({config, /*start_thread=*/false}, [&](const std::string& body) {
    posted.push_back(body);
    return receiver_up;
  });
  const double dropped_before = metric("cloudjet_trace_spans_dropped_total");
  const double exported_before = metric("cloudjet_trace_spans_exported_total");
  for (int i = 0; i < 5; ++i) exporter.submit(sample_span("auth", "s" + std::to_string(i), true));
  EXPECT_EQ(exporter.queued(), 3U);
  EXPECT_EQ(exporter.dropped(), 2U);
  EXPECT_EQ(metric("cloudjet_trace_spans_dropped_total"), dropped_before + 2);

  EXPECT_EQ(exporter.export_batch(), 2U);  // one batch is at most max_batch
  ASSERT_EQ(posted.size(), 1U);
  EXPECT_EQ(nlohmann::json::parse(posted[0])["resourceSpans"][0]["scopeSpans"][0]["spans"].size(),
            2U);
  EXPECT_EQ(exporter.exported(), 2U);
  EXPECT_EQ(metric("cloudjet_trace_spans_exported_total"), exported_before + 2);

  receiver_up = false;  // a failed batch is lost (and counted), never retried into the queue
  EXPECT_EQ(exporter.export_batch(), 0U);
  EXPECT_EQ(exporter.failures(), 1U);
  EXPECT_EQ(exporter.dropped(), 3U);
  EXPECT_EQ(exporter.queued(), 0U);
  EXPECT_EQ(exporter.export_batch(), 0U);  // nothing left: no POST
  EXPECT_EQ(posted.size(), 2U);
}

TEST(OtlpExporter, ItsThreadSendsBySizeOrDelayAndFlushesOnShutdown) {
  cj::TraceConfig config;
  config.endpoint = "http://127.0.0.1:9/v1/traces";
  config.max_batch = 100;
  config.schedule_delay_ms = 3600 * 1000;  // only shutdown can send these
  std::mutex mu;
  std::size_t received = 0;
  OtlpExporter exporter({config, true}, [&](const std::string& body) {
    std::lock_guard lock(mu);
    received += nlohmann::json::parse(body)["resourceSpans"][0]["scopeSpans"][0]["spans"].size();
    return true;
  });
  for (int i = 0; i < 7; ++i) exporter.submit(sample_span("flight", "s", true));
  exporter.shutdown(std::chrono::milliseconds(2000));
  EXPECT_EQ(received, 7U);
  EXPECT_EQ(exporter.exported(), 7U);
  exporter.submit(sample_span("flight", "late", true));  // after shutdown: dropped
  EXPECT_EQ(exporter.dropped(), 1U);
}

}  // namespace

namespace {

cj::Result<cj::Config> load_env(std::map<std::string, std::string> env) {
  cj::ConfigSources s;
  s.env = std::move(env);
  return cj::load_config(s);
}

TEST(TraceConfig, TheOtelVariablesAsTheSdkReadsThem) {
  auto off = load_env({});
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->trace.enabled());
  EXPECT_EQ(off->trace.max_queue, 2048);
  EXPECT_EQ(off->trace.max_batch, 512);
  EXPECT_EQ(off->trace.schedule_delay_ms, 1000);

  auto base = load_env({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://jaeger:4318/"},
                        {"OTEL_SERVICE_NAME", "airline"},
                        {"OTEL_BSP_MAX_QUEUE_SIZE", "100"},
                        {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "512"},
                        {"OTEL_BSP_SCHEDULE_DELAY", "250"}});
  ASSERT_TRUE(base.ok());
  EXPECT_EQ(base->trace.endpoint, "http://jaeger:4318/v1/traces");
  EXPECT_EQ(base->trace.service_name, "airline");
  EXPECT_EQ(base->trace.max_queue, 100);
  EXPECT_EQ(base->trace.max_batch, 100);  // never more than the queue
  EXPECT_EQ(base->trace.schedule_delay_ms, 250);

  // The signal-specific endpoint is used as given and wins.
  auto traces = load_env({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318"},
                          {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "https://b/otlp/traces"}});
  ASSERT_TRUE(traces.ok());
  EXPECT_EQ(traces->trace.endpoint, "https://b/otlp/traces");

  auto disabled =
      load_env({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318"}, {"OTEL_SDK_DISABLED", "true"}});
  ASSERT_TRUE(disabled.ok());
  EXPECT_FALSE(disabled->trace.enabled());
}

TEST(TraceConfig, BadValuesStopTheProcessNamingTheVariable) {
  auto scheme = load_env({{"OTEL_EXPORTER_OTLP_ENDPOINT", "jaeger:4318"}});
  ASSERT_FALSE(scheme.ok());
  EXPECT_NE(scheme.error().message_en.find("OTEL_EXPORTER_OTLP_ENDPOINT"), std::string::npos);
  auto queue = load_env({{"OTEL_BSP_MAX_QUEUE_SIZE", "0"}});
  ASSERT_FALSE(queue.ok());
  EXPECT_NE(queue.error().message_en.find("OTEL_BSP_MAX_QUEUE_SIZE"), std::string::npos);
  auto delay = load_env({{"OTEL_BSP_SCHEDULE_DELAY", "soon"}});
  ASSERT_FALSE(delay.ok());
  EXPECT_NE(delay.error().message_en.find("OTEL_BSP_SCHEDULE_DELAY"), std::string::npos);
}

}  // namespace
