// Distributed tracing: W3C Trace Context (traceparent / tracestate), spans, and the thread's
// current span context.
//
// Ids are always made (a few nanoseconds), so every log line of a request carries its trace id
// whether or not anything is exported; a span is only recorded (attributes kept, handed to the
// sink on end) when a sink is installed (core/otlp_exporter.hpp) and its trace is sampled.
//
// The current context is thread-local: a Scope makes a span current on the thread that does its
// work (the dispatcher sets one on the worker-pool thread running a handler), and every Span made
// without an explicit parent becomes a child of it. Client spans (database, Redis, outbound HTTP)
// made outside any trace, i.e. background passes with nothing to do, are not recorded: a root
// trace per idle tick would bury the traces that matter.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace cj::trace {

// The W3C limit (32 list members) is not enforced member by member; the whole header is bounded.
inline constexpr std::size_t kMaxTraceState = 512;

struct SpanContext {
  std::string trace_id;  // 32 lower-case hex digits, not all zero
  std::string span_id;   // 16 lower-case hex digits, not all zero
  bool sampled = true;   // trace-flags bit 0
  std::string tracestate;
  [[nodiscard]] bool valid() const { return trace_id.size() == 32 && span_id.size() == 16; }
};

// A traceparent header value; nullopt when malformed (wrong length or hex, upper-case hex,
// all-zero ids, version ff, version 00 with trailing data). A version above 00 is read by its
// first four fields, as the specification asks of a parser that knows only 00.
std::optional<SpanContext> parse_traceparent(std::string_view header);
// "00-<trace>-<span>-<flags>".
std::string format_traceparent(const SpanContext& ctx);
// The tracestate to pass on: the header trimmed, or empty when it is longer than kMaxTraceState
// (dropped whole rather than cut in the middle of a member).
std::string bounded_tracestate(std::string_view header);

std::string new_trace_id();  // 128 random bits, never all zero
std::string new_span_id();   // 64 random bits, never all zero

std::uint64_t now_unix_nanos();

enum class SpanKind { Internal = 1, Server = 2, Client = 3, Producer = 4, Consumer = 5 };

using AttributeValue = std::variant<std::string, std::int64_t>;

// A finished span, as the exporter encodes it.
struct SpanData {
  std::string service;  // the CloudJet service ("booking"); empty: the process
  std::string name;
  SpanKind kind = SpanKind::Internal;
  std::string trace_id;
  std::string span_id;
  std::string parent_span_id;  // empty for a root span
  std::string tracestate;
  std::uint64_t start_unix_nanos = 0;
  std::uint64_t end_unix_nanos = 0;
  std::vector<std::pair<std::string, AttributeValue>> attributes;
  bool error = false;
  std::string status_message;
};

// Where recorded spans go (the OTLP exporter). Called on the thread that ends the span: must
// not block.
class SpanSink {
 public:
  virtual ~SpanSink() = default;
  virtual void submit(SpanData&& span) = 0;
};

// Installs the process's sink (nullptr: record nothing). The sink must outlive every span that
// may end while it is installed; uninstall it before destroying it.
void set_sink(SpanSink* sink);
// Uninstalls `sink` if it is the one installed (a sink's destructor calls it, so an early return
// that destroys the exporter cannot leave spans a dangling sink).
void unset_sink(SpanSink* sink);
[[nodiscard]] bool exporting();

// The thread's current span context and the service it works for; nullptr / empty when none.
const SpanContext* current();
const std::string& current_service();
// The current context as a traceparent value; empty when there is none.
std::string current_traceparent();

// Makes `ctx` current on this thread until destroyed (the previous one comes back). Not movable:
// it lives on the stack of the code that does the work.
class Scope {
 public:
  Scope(SpanContext ctx, std::string service);
  ~Scope();
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

  struct Frame {
    SpanContext ctx;
    std::string service;
    const Frame* previous = nullptr;
  };

 private:
  Frame frame_;
};

class Span {
 public:
  // A child of the thread's current span; with none, a new root (Internal and Server kinds) or
  // an unrecorded span (Client).
  Span(std::string_view name, SpanKind kind);
  // A child of `parent` (a new root when null or invalid), for `service`.
  Span(std::string_view name, SpanKind kind, const SpanContext* parent, std::string service);
  ~Span() { end(); }
  Span(const Span&) = delete;
  Span& operator=(const Span&) = delete;

  // Attributes are kept only while recording; values must never carry secrets or user data.
  void set(std::string_view key, std::string_view value);
  void set(std::string_view key, std::int64_t value);
  void set_error(std::string_view message);
  // Idempotent; the destructor calls it.
  void end();

  [[nodiscard]] bool recording() const { return recording_; }
  [[nodiscard]] const SpanContext& context() const { return ctx_; }
  [[nodiscard]] const std::string& service() const { return data_.service; }

 private:
  void init(std::string_view name, SpanKind kind, const SpanContext* parent, bool record_root);

  SpanContext ctx_;
  SpanData data_;
  bool recording_ = false;
  bool ended_ = false;
};

}  // namespace cj::trace
