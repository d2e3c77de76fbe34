// Outbound HTTP over libcurl (payment gateway calls): short timeouts, no redirects followed,
// nothing logged but method, host path and status.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace cj::net {

struct HttpResponse {
  long status = 0;
  std::string body;
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  long timeout_ms = 3000;
  long connect_timeout_ms = 1000;
};

// Call once at start (curl_global_init is not thread-safe).
void init_http_client();
// A transport failure (connect, timeout) is an Error with code "gateway_unreachable"; any HTTP
// status is a response.
Result<HttpResponse> send(const HttpRequest& request);

}  // namespace cj::net
