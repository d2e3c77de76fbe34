#include "core/http_client.hpp"

#include <curl/curl.h>

#include <memory>
#include <string_view>

#include "core/trace.hpp"

namespace cj::net {
namespace {

std::size_t collect(char* data, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

struct UrlParts {
  std::string host;
  long long port = 0;
  // Without query or fragment. The default is set here rather than assigned
  // later: GCC 12 at -O3 reports a false -Wstringop-overflow for `path = "/"`.
  std::string path = "/";
};

// Enough of RFC 3986 for span attributes: scheme://[userinfo@]host[:port]/path?query.
UrlParts url_parts(std::string_view url) {
  UrlParts out;
  auto scheme_end = url.find("://");
  const bool https = url.substr(0, scheme_end) == "https";
  std::string_view rest = scheme_end == std::string_view::npos ? url : url.substr(scheme_end + 3);
  const auto path_at = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, path_at);
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    authority = authority.substr(at + 1);  // never report credentials
  }
  const auto colon = authority.rfind(':');
  const auto bracket = authority.rfind(']');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    out.host = std::string(authority.substr(0, colon));
    try {
      out.port = std::stoll(std::string(authority.substr(colon + 1)));
    } catch (const std::exception&) {
      out.port = 0;
    }
  } else {
    out.host = std::string(authority);
    out.port = https ? 443 : 80;
  }
  if (path_at != std::string_view::npos && rest[path_at] == '/') {
    std::string_view path = rest.substr(path_at);
    out.path = std::string(path.substr(0, path.find_first_of("?#")));
  }
  return out;
}

bool is_trace_header(const std::string& name) {
  std::string lower = name;
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return lower == "traceparent" || lower == "tracestate";
}

Result<HttpResponse> perform(const HttpRequest& request, const trace::SpanContext& ctx);

}  // namespace

void init_http_client() {
  curl_global_init(CURL_GLOBAL_DEFAULT);
}

Result<HttpResponse> send(const HttpRequest& request) {
  // The CLIENT span of this call; the receiver continues the trace from its traceparent.
  trace::Span span(request.method, trace::SpanKind::Client);
  if (span.recording()) {
    const UrlParts url = url_parts(request.url);
    span.set("http.request.method", request.method);
    span.set("server.address", url.host);
    span.set("server.port", static_cast<std::int64_t>(url.port));
    span.set("url.path", url.path);
  }
  auto result = perform(request, span.context());
  if (!result) {
    span.set("error.type", result.error().code);
    span.set_error(result.error().message_en);
  } else {
    span.set("http.response.status_code", static_cast<std::int64_t>(result->status));
    if (result->status >= 400) {
      span.set("error.type", std::to_string(result->status));
      span.set_error("HTTP " + std::to_string(result->status));
    }
  }
  return result;
}

namespace {

Result<HttpResponse> perform(const HttpRequest& request, const trace::SpanContext& ctx) {
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return Error{502, "gateway_unreachable", "결제 게이트웨이 오류", "curl init failed"};
  HttpResponse out;
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  auto add_header = [&headers](const std::string& line) {
    headers.reset(curl_slist_append(headers.release(), line.c_str()));
  };
  for (const auto& [k, v] : request.headers) {
    if (is_trace_header(k)) continue;  // ours replace any the caller set
    std::string line = k;
    line += ": ";
    line += v;
    add_header(line);
  }
  add_header("traceparent: " + trace::format_traceparent(ctx));
  if (!ctx.tracestate.empty()) add_header("tracestate: " + ctx.tracestate);
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  if (request.method != "GET") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.body.size()));
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, request.timeout_ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, request.connect_timeout_ms);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // safe in multi-threaded programs
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &out.body);
  const CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    return Error{503, "gateway_unreachable", "결제 게이트웨이에 연결할 수 없습니다.",
                 std::string("payment gateway unreachable: ") + curl_easy_strerror(rc)};
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out.status);
  return out;
}

}  // namespace

}  // namespace cj::net
