#include "core/log.hpp"

#include <spdlog/async.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>

#include "core/json_text.hpp"

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

std::shared_ptr<spdlog::sinks::sink> make_stdout_sink();

}  // namespace

void init(const std::string& level_name_text) {
  // Async with a bounded queue: request threads never wait on a slow stdout, and under overload
  // the oldest lines are dropped rather than slowing every request.
  spdlog::init_thread_pool(8192, 1);
  auto sink = make_stdout_sink();
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

// ---- the batching stdout sink, preformatted lines, draining ---------------------------------
namespace {

// stdout_sink_mt writes and fflush()es every line: one write(2) per request on the single logger
// thread, which then competes with the I/O threads for the two cores. This sink appends lines to
// a buffer and writes it when the queue behind it is empty (so an idle server's lines appear at
// once) or when it has grown large (so a busy one writes 64 KiB at a time). The pattern
// formatter is skipped: the payload already is the whole JSON line.
class BatchingStdoutSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit BatchingStdoutSink(std::weak_ptr<spdlog::details::thread_pool> pool)
      : pool_(std::move(pool)) {
    buffer_.reserve(kWriteAt + 4096);
  }

  // Waits until a flush that started after the call has completed (see drain()).
  bool wait_for_flush(unsigned long long after, std::chrono::milliseconds timeout) {
    std::unique_lock lock(flush_mu_);
    return flushed_cv_.wait_for(lock, timeout, [&] { return flushes_ > after; });
  }
  unsigned long long flushes() {
    std::lock_guard lock(flush_mu_);
    return flushes_;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    buffer_.append(msg.payload.data(), msg.payload.size());
    buffer_ += '\n';
    if (buffer_.size() >= kWriteAt) {
      write_out();
      return;
    }
    const auto pool = pool_.lock();
    if (!pool || pool->queue_size() == 0) write_out();
  }

  void flush_() override {
    write_out();
    std::fflush(stdout);
    {
      std::lock_guard lock(flush_mu_);
      ++flushes_;
    }
    flushed_cv_.notify_all();
  }

 private:
  static constexpr std::size_t kWriteAt = 64 * 1024;

  void write_out() {
    if (buffer_.empty()) return;
    std::fwrite(buffer_.data(), 1, buffer_.size(), stdout);
    std::fflush(stdout);
    buffer_.clear();
  }

  std::weak_ptr<spdlog::details::thread_pool> pool_;
  std::string buffer_;
  std::mutex flush_mu_;
  std::condition_variable flushed_cv_;
  unsigned long long flushes_ = 0;
};

std::shared_ptr<BatchingStdoutSink>& stdout_sink() {
  static std::shared_ptr<BatchingStdoutSink> instance;
  return instance;
}

std::shared_ptr<spdlog::sinks::sink> make_stdout_sink() {
  stdout_sink() = std::make_shared<BatchingStdoutSink>(spdlog::thread_pool());
  return stdout_sink();
}

// "2026-12-02T06:10:00." is the same for a whole second: formatted once per second per thread.
void append_now_iso(std::string& out) {
  thread_local long long cached_second = -1;
  thread_local char prefix[32];
  thread_local std::size_t prefix_len = 0;
  const auto now = std::chrono::system_clock::now();
  const long long ms_total =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const long long second = ms_total / 1000;
  if (second != cached_second) {
    const auto t = static_cast<std::time_t>(second);
    std::tm tm{};
    gmtime_r(&t, &tm);
    const int n =
        std::snprintf(prefix, sizeof prefix, "%04d-%02d-%02dT%02d:%02d:%02d.", tm.tm_year + 1900,
                      tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    prefix_len = n > 0 ? static_cast<std::size_t>(n) : 0;
    cached_second = second;
  }
  out.append(prefix, prefix_len);
  const int ms = static_cast<int>(ms_total % 1000);
  out += static_cast<char>('0' + ms / 100);
  out += static_cast<char>('0' + ms / 10 % 10);
  out += static_cast<char>('0' + ms % 10);
  out += 'Z';
}

}  // namespace

void write_fields(Level level, std::string_view message, std::string_view fields) {
  if (!enabled(level)) return;
  // Reused per thread: after the first requests a line costs no allocation here.
  thread_local std::string line;
  line.clear();
  line += "{\"time\":\"";
  append_now_iso(line);
  line += "\",\"level\":\"";
  line += level_name(level);
  line += "\",\"msg\":";
  json_text::append_string(line, message);
  if (!fields.empty()) {
    line += ',';
    line += fields;
  }
  line += '}';
  if (const auto& lg = logger()) {
    lg->log(to_spd(level), spdlog::string_view_t(line.data(), line.size()));
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
}

void drain(int timeout_ms) {
  const auto& lg = logger();
  const auto& sink = stdout_sink();
  if (!lg || !sink) return;
  // The queue is FIFO with one consumer: once a flush posted now has run, every line logged
  // before it has been written.
  const auto before = sink->flushes();
  lg->flush();
  sink->wait_for_flush(before, std::chrono::milliseconds(timeout_ms));
}

std::size_t dropped_lines() {
  if (!logger()) return 0;
  const auto pool = spdlog::thread_pool();
  return pool ? pool->overrun_counter() : 0;
}

}  // namespace cj::log
