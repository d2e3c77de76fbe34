#include "http/types.hpp"

#include <algorithm>
#include <cctype>

#include "core/errors.hpp"

namespace cj::http {
namespace {

std::optional<std::string> find(const Headers& h, std::string_view name) {
  for (const auto& [k, v] : h) {
    if (k == name) return v;
  }
  return std::nullopt;
}

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
  std::transform(first.begin(), first.end(), first.begin(), ::tolower);
  first.erase(std::remove_if(first.begin(), first.end(), ::isspace), first.end());
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
    auto details = nlohmann::json::parse(error.details_json, nullptr, false);
    if (details.is_object()) {
      for (auto& [k, v] : details.items()) body[k] = v;
    }
  }
  return json_response(error.status, body);
}

Result<nlohmann::json> parse_json_object(const Request& rq) {
  auto j = nlohmann::json::parse(rq.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return errors::invalid_json();
  return j;
}

}  // namespace cj::http
