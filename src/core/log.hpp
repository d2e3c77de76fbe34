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

}  // namespace cj::log
