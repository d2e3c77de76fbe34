#include "core/log.hpp"

#include <spdlog/async.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>

#include "core/json_text.hpp"

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

// Hot lines (the access log) bypass spdlog's queue: every enqueue there signals its condition
// variable, so a consumer that keeps up is woken once per line, a futex wake and a context switch
// per request on two shared cores (the profile's top entries, ~40 % of the health route). Here
// each thread appends to a buffer of its own (an uncontended lock, no syscall) and one flusher
// thread writes all buffers every 10 ms, or as soon as one passes 64 KiB. Producers never write,
// so a blocked stdout cannot stall an I/O thread; past 8 MiB buffered per thread lines are
// dropped and counted. A line is on stdout at most ~10 ms after its request ended.
class LineBatcher {
 public:
  static LineBatcher& instance() {
    // Never destroyed: threads may log during static destruction; drain() has written
    // everything by then on a graceful exit.
    static auto* batcher = new LineBatcher();
    return *batcher;
  }

  void append(std::string_view line) {
    thread_local std::shared_ptr<Buffer> mine = add_buffer();
    bool wake = false;
    {
      std::lock_guard lock(mine->mu);
      if (mine->data.size() + line.size() > kMaxBuffered) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      const bool was_small = mine->data.size() < kWakeAt;
      mine->data.append(line);
      mine->data += '\n';
      wake = was_small && mine->data.size() >= kWakeAt;
    }
    if (wake) cv_.notify_one();
  }

  // Writes every line appended before the call (graceful shutdown).
  void flush_now() {
    std::lock_guard writing(write_mu_);
    write_all();
  }

  std::size_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  static constexpr std::size_t kWakeAt = 64 * 1024;
  static constexpr std::size_t kMaxBuffered = 8 * 1024 * 1024;
  static constexpr std::size_t kMaxKept = 256 * 1024;
  struct Buffer {
    std::mutex mu;
    std::string data;
  };

  LineBatcher() : flusher_([this] { run(); }) { flusher_.detach(); }

  std::shared_ptr<Buffer> add_buffer() {
    auto b = std::make_shared<Buffer>();
    std::lock_guard lock(buffers_mu_);
    buffers_.push_back(b);
    return b;
  }

  void run() {
    std::mutex idle;
    for (;;) {
      {
        std::unique_lock lock(idle);
        cv_.wait_for(lock, std::chrono::milliseconds(10));
      }
      std::lock_guard writing(write_mu_);
      write_all();
    }
  }

  // Caller holds write_mu_ (one writer at a time keeps each thread's lines in order).
  void write_all() {
    std::vector<std::shared_ptr<Buffer>> buffers;
    {
      std::lock_guard lock(buffers_mu_);
      // A buffer only this list still holds belongs to a thread that ended: write it one last
      // time below, then forget it.
      buffers = buffers_;
      std::erase_if(buffers_, [](const auto& b) { return b.use_count() <= 2; });
    }
    for (const auto& b : buffers) {
      {
        std::lock_guard lock(b->mu);
        if (b->data.empty()) continue;
        // The two strings trade places, each keeping its capacity, so after the first bursts
        // neither side allocates. (Reserving the other's capacity instead doubles both on every
        // pass: string::reserve grows geometrically.)
        out_.swap(b->data);
      }
      // fwrite holds the FILE lock for the whole call: lines never interleave with the ones
      // spdlog's thread writes to the same stdout.
      std::fwrite(out_.data(), 1, out_.size(), stdout);
      out_.clear();
      // A burst (stdout blocked for a while) must not pin megabytes per thread for good.
      if (out_.capacity() > kMaxKept) std::string().swap(out_);
    }
    std::fflush(stdout);
  }

  std::mutex buffers_mu_;
  std::vector<std::shared_ptr<Buffer>> buffers_;
  std::mutex write_mu_;
  std::string out_;
  std::condition_variable_any cv_;
  std::atomic<std::size_t> dropped_{0};
  std::thread flusher_;
};

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
  if (logger()) {
    LineBatcher::instance().append(line);
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
}

void drain(int timeout_ms) {
  const auto& lg = logger();
  const auto& sink = stdout_sink();
  if (!lg || !sink) return;
  LineBatcher::instance().flush_now();
  // The queue is FIFO with one consumer: once a flush posted now has run, every line logged
  // before it has been written.
  const auto before = sink->flushes();
  lg->flush();
  sink->wait_for_flush(before, std::chrono::milliseconds(timeout_ms));
}

std::size_t dropped_lines() {
  if (!logger()) return 0;
  const auto pool = spdlog::thread_pool();
  return (pool ? pool->overrun_counter() : 0) + LineBatcher::instance().dropped();
}

}  // namespace cj::log
