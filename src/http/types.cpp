#include "http/types.hpp"

#include <algorithm>
#include <cctype>

#include "core/errors.hpp"
#include "core/json_input.hpp"

namespace cj::http {
namespace {

std::optional<std::string> find(const Headers& h, std::string_view name) {
  for (const auto& [k, v] : h) {
    if (k == name) return v;
  }
  return std::nullopt;
}

// Long enough for a restart or a failover, short enough not to strand a traveller.
constexpr int kRetryAfterSeconds = 5;

}  // namespace

std::optional<std::string> Request::header(std::string_view lower_name) const {
  return find(headers, lower_name);
}

std::optional<std::string> Request::query_param(std::string_view name) const {
  return find(query, name);
}

std::string Request::param(std::string_view name) const {
  return find(params, name).value_or("");
}

bool Request::prefers_english() const {
  const auto lang = header("accept-language");
  if (!lang) return false;
  // The first listed language wins (q-values are rarely used by browsers for the first entry).
  std::string first = lang->substr(0, lang->find_first_of(",;"));
  // Header bytes may be >= 0x80: <cctype> takes them as unsigned char (a negative char is UB).
  std::transform(first.begin(), first.end(), first.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  first.erase(std::remove_if(first.begin(), first.end(),
                             [](unsigned char c) { return std::isspace(c) != 0; }),
              first.end());
  return first.rfind("en", 0) == 0;
}

Response json_response(int status, const nlohmann::json& body) {
  Response r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

Response error_response(const Request& rq, const Error& error) {
  nlohmann::json body;
  body["message"] =
      (rq.prefers_english() && !error.message_en.empty()) ? error.message_en : error.message;
  if (!error.code.empty()) body["error"] = error.code;
  if (!error.details_json.empty()) {
    // Written by the server itself, but parsed the one way all JSON text is.
    auto details = json_input::parse_object(error.details_json);
    if (details) {
      for (auto& [k, v] : details->items()) body[k] = v;
    }
  }
  Response r = json_response(error.status, body);
  // Every 503 (database, gateway or pool unavailable) says when to come back, so clients and
  // proxies retry politely instead of at once.
  if (error.status == 503)
    r.headers.emplace_back("Retry-After", std::to_string(kRetryAfterSeconds));
  return r;
}

Result<nlohmann::json> parse_json_object(const Request& rq) {
  return json_input::parse_object(rq.body);
}

}  // namespace cj::http
