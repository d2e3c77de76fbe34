// Structured logs: one JSON object per line on stdout (Loki/Grafana friendly). Secrets never go
// through here: callers log ids and codes, not passwords, tokens or keys.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace cj::log {

enum class Level { Trace, Debug, Info, Warn, Error };

void init(const std::string& level_name);
bool enabled(Level level);
void write(Level level, std::string_view message, nlohmann::json fields = nlohmann::json::object());

inline void debug(std::string_view m, nlohmann::json f = nlohmann::json::object()) {
  write(Level::Debug, m, std::move(f));
}
inline void info(std::string_view m, nlohmann::json f = nlohmann::json::object()) {
  write(Level::Info, m, std::move(f));
}
inline void warn(std::string_view m, nlohmann::json f = nlohmann::json::object()) {
  write(Level::Warn, m, std::move(f));
}
inline void error(std::string_view m, nlohmann::json f = nlohmann::json::object()) {
  write(Level::Error, m, std::move(f));
}

// Flushes buffered lines (called at shutdown).
void flush();

// The hot-path twin of write() for the access log: `fields` is the inside of a JSON object,
// already escaped (core/json_text.hpp), e.g. `"status":200,"route":"/x"`. The line starts with
// the same time, level and msg as write()'s, and no JSON tree is built.
void write_fields(Level level, std::string_view message, std::string_view fields);
// Blocks until every line logged before the call is on stdout (at most `timeout_ms`). Graceful
// shutdown ends with it, so the last requests' access lines are never lost with the process.
void drain(int timeout_ms = 5000);
// Lines the bounded queue dropped since start (the oldest go first when stdout cannot keep up:
// logging never slows serving down); exported as a metric so a loss is visible.
std::size_t dropped_lines();

}  // namespace cj::log
