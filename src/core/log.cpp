#include "core/log.hpp"

#include <spdlog/async.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "core/trace.hpp"

namespace cj::log {
namespace {

std::shared_ptr<spdlog::logger>& logger() {
  static std::shared_ptr<spdlog::logger> instance;
  return instance;
}

spdlog::level::level_enum to_spd(Level l) {
  switch (l) {
    case Level::Trace: return spdlog::level::trace;
    case Level::Debug: return spdlog::level::debug;
    case Level::Info: return spdlog::level::info;
    case Level::Warn: return spdlog::level::warn;
    case Level::Error: return spdlog::level::err;
  }
  return spdlog::level::info;
}

const char* level_name(Level l) {
  switch (l) {
    case Level::Trace: return "trace";
    case Level::Debug: return "debug";
    case Level::Info: return "info";
    case Level::Warn: return "warn";
    case Level::Error: return "error";
  }
  return "info";
}

std::string now_iso() {
  const auto now = std::chrono::system_clock::now();
  const auto t = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

}  // namespace

void init(const std::string& level_name_text) {
  // Async with a bounded queue: request threads never wait on a slow stdout, and under overload
  // the oldest lines are dropped rather than slowing every request.
  spdlog::init_thread_pool(8192, 1);
  auto sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
  auto lg = std::make_shared<spdlog::async_logger>("cloudjet", sink, spdlog::thread_pool(),
                                                   spdlog::async_overflow_policy::overrun_oldest);
  lg->set_pattern("%v");
  lg->set_level(spdlog::level::from_str(level_name_text));
  lg->flush_on(spdlog::level::warn);
  logger() = lg;
}

bool enabled(Level level) {
  const auto& lg = logger();
  return !lg || lg->should_log(to_spd(level));
}

void write(Level level, std::string_view message, nlohmann::json fields) {
  if (!enabled(level)) return;
  nlohmann::json line = nlohmann::json::object();
  line["time"] = now_iso();
  line["level"] = level_name(level);
  line["msg"] = message;
  // The current span (a request's, a refund's) ties the line to its trace; a caller that names
  // the ids itself (the access log, from the request) wins.
  if (const trace::SpanContext* ctx = trace::current()) {
    line["trace_id"] = ctx->trace_id;
    line["span_id"] = ctx->span_id;
  }
  if (fields.is_object()) {
    for (auto& [k, v] : fields.items()) line[k] = std::move(v);
  }
  const std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (const auto& lg = logger()) {
    lg->log(to_spd(level), "{}", text);
  } else {
    std::fprintf(stderr, "%s\n", text.c_str());
  }
}

void flush() {
  if (const auto& lg = logger()) lg->flush();
}

}  // namespace cj::log
