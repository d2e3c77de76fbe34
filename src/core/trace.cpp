#include "core/trace.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <random>

namespace cj::trace {
namespace {

std::atomic<SpanSink*> g_sink{nullptr};
thread_local const Scope::Frame* t_current = nullptr;

bool is_lower_hex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool all_zero(std::string_view s) {
  return s.find_first_not_of('0') == std::string_view::npos;
}

int hex_value(char c) {
  return c <= '9' ? c - '0' : c - 'a' + 10;
}

// Per-thread generator seeded once from the OS: ids need to be unique, not secret, and this
// keeps a lock and a system call off every request.
std::mt19937_64& rng() {
  thread_local std::mt19937_64 gen = [] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd(), rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }();
  return gen;
}

std::string random_hex(std::size_t words) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (;;) {
    std::string out(words * 16, '0');
    for (std::size_t w = 0; w < words; ++w) {
      std::uint64_t v = rng()();
      for (int i = 15; i >= 0; --i) {
        out[w * 16 + static_cast<std::size_t>(i)] = kHex[v & 0xF];
        v >>= 4;
      }
    }
    if (!all_zero(out)) return out;
  }
}

std::string trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return "";
  const auto last = s.find_last_not_of(" \t");
  return std::string(s.substr(first, last - first + 1));
}

}  // namespace

std::optional<SpanContext> parse_traceparent(std::string_view header) {
  const std::string h = trim(header);
  // version(2) - trace-id(32) - parent-id(16) - flags(2)
  if (h.size() < 55) return std::nullopt;
  const std::string_view v(h);
  if (v[2] != '-' || v[35] != '-' || v[52] != '-') return std::nullopt;
  const auto version = v.substr(0, 2);
  const auto trace_id = v.substr(3, 32);
  const auto span_id = v.substr(36, 16);
  const auto flags = v.substr(53, 2);
  if (!is_lower_hex(version) || !is_lower_hex(trace_id) || !is_lower_hex(span_id) ||
      !is_lower_hex(flags)) {
    return std::nullopt;
  }
  if (version == "ff") return std::nullopt;
  if (version == "00") {
    if (h.size() != 55) return std::nullopt;
  } else if (h.size() > 55 && v[55] != '-') {
    // A later version may append fields, each after a dash.
    return std::nullopt;
  }
  if (all_zero(trace_id) || all_zero(span_id)) return std::nullopt;
  SpanContext ctx;
  ctx.trace_id = std::string(trace_id);
  ctx.span_id = std::string(span_id);
  ctx.sampled = (hex_value(flags[1]) & 1) != 0;
  return ctx;
}

std::string format_traceparent(const SpanContext& ctx) {
  std::string out;
  out.reserve(55);
  out += "00-";
  out += ctx.trace_id;
  out += '-';
  out += ctx.span_id;
  out += ctx.sampled ? "-01" : "-00";
  return out;
}

std::string bounded_tracestate(std::string_view header) {
  std::string s = trim(header);
  if (s.size() > kMaxTraceState) return "";
  return s;
}

std::string new_trace_id() {
  return random_hex(2);
}

std::string new_span_id() {
  return random_hex(1);
}

std::uint64_t now_unix_nanos() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

void set_sink(SpanSink* sink) {
  g_sink.store(sink, std::memory_order_release);
}

void unset_sink(SpanSink* sink) {
  g_sink.compare_exchange_strong(sink, nullptr, std::memory_order_acq_rel);
}

bool exporting() {
  return g_sink.load(std::memory_order_acquire) != nullptr;
}

const SpanContext* current() {
  return t_current != nullptr ? &t_current->ctx : nullptr;
}

const std::string& current_service() {
  static const std::string none;
  return t_current != nullptr ? t_current->service : none;
}

std::string current_traceparent() {
  const SpanContext* c = current();
  return c != nullptr ? format_traceparent(*c) : std::string();
}

Scope::Scope(SpanContext ctx, std::string service)
    : frame_{std::move(ctx), std::move(service), t_current} {
  t_current = &frame_;
}

Scope::~Scope() {
  t_current = frame_.previous;
}

Span::Span(std::string_view name, SpanKind kind) {
  data_.service = current_service();
  // Only spans that start a unit of work may start a trace (see the header).
  init(name, kind, current(), kind != SpanKind::Client);
}

Span::Span(std::string_view name, SpanKind kind, const SpanContext* parent, std::string service) {
  data_.service = std::move(service);
  init(name, kind, parent, true);
}

void Span::init(std::string_view name, SpanKind kind, const SpanContext* parent, bool record_root) {
  const bool has_parent = parent != nullptr && parent->valid();
  ctx_.trace_id = has_parent ? parent->trace_id : new_trace_id();
  ctx_.span_id = new_span_id();
  ctx_.sampled = has_parent ? parent->sampled : true;
  if (has_parent) ctx_.tracestate = parent->tracestate;
  recording_ = exporting() && ctx_.sampled && (has_parent || record_root);
  if (!recording_) return;
  data_.name = std::string(name);
  data_.kind = kind;
  data_.trace_id = ctx_.trace_id;
  data_.span_id = ctx_.span_id;
  if (has_parent) data_.parent_span_id = parent->span_id;
  data_.tracestate = ctx_.tracestate;
  data_.start_unix_nanos = now_unix_nanos();
}

void Span::set(std::string_view key, std::string_view value) {
  if (recording_) data_.attributes.emplace_back(std::string(key), std::string(value));
}

void Span::set(std::string_view key, std::int64_t value) {
  if (recording_) data_.attributes.emplace_back(std::string(key), value);
}

void Span::set_error(std::string_view message) {
  if (!recording_) return;
  data_.error = true;
  data_.status_message = std::string(message.substr(0, 256));
}

void Span::end() {
  if (ended_) return;
  ended_ = true;
  if (!recording_) return;
  data_.end_unix_nanos = std::max(now_unix_nanos(), data_.start_unix_nanos);
  // Read again: the sink may have been uninstalled (shutdown) while the span ran.
  if (SpanSink* sink = g_sink.load(std::memory_order_acquire)) sink->submit(std::move(data_));
}

}  // namespace cj::trace
