// Errors as values at every boundary: an Error carries the HTTP status, a stable machine code and
// the human message in Korean (the front end's default) and English.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace cj {

struct Error {
  int status = 500;
  std::string code;          // stable, e.g. "missing_field", "invalid_token"
  std::string message;       // Korean (default wording of the original)
  std::string message_en;    // English, when Accept-Language prefers it
  std::string details_json;  // optional JSON object merged into the error body (e.g. prices)
};

// A value or an Error. Small on purpose: g++ 12 has no std::expected.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  [[nodiscard]] bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Result of an operation with no value.
struct Unit {};
using Status = Result<Unit>;
inline Status ok_status() {
  return Unit{};
}

}  // namespace cj
