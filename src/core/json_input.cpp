#include "core/json_input.hpp"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/errors.hpp"

namespace cj::json_input {
namespace {

using Json = nlohmann::json;

// nlohmann's out_of_range id for a number that overflows a double ("1e309").
constexpr int kNumberOverflow = 406;
// A field path longer than this is not worth echoing back; the generic message is used instead.
constexpr std::size_t kMaxEchoedPath = 100;

// Builds the DOM like nlohmann's own SAX DOM parser, with an explicit stack of open containers,
// and refuses to open container number max_depth + 1: the parser then stops at once, so a
// 300k-deep body costs 33 bytes of reading, not a 300k-node tree.
class BoundedDomBuilder {
 public:
  enum class Failure { None, Syntax, TooDeep, NumberOverflow, NulInString };

  explicit BoundedDomBuilder(std::size_t max_depth) : max_depth_(max_depth) {}

  bool null() { return put(Json(nullptr)); }
  bool boolean(bool v) { return put(Json(v)); }
  bool number_integer(Json::number_integer_t v) { return put(Json(v)); }
  bool number_unsigned(Json::number_unsigned_t v) { return put(Json(v)); }
  bool number_float(Json::number_float_t v, const Json::string_t&) { return put(Json(v)); }
  // A \u0000 escape is valid JSON but never a valid name, email or code, and C APIs downstream
  // (libjwt, the database client's C strings) would cut the text at it: refused here, once, for
  // every string value and key of every body.
  bool string(Json::string_t& v) {
    if (v.find('\0') != Json::string_t::npos) return nul_in(std::nullopt);
    return put(Json(std::move(v)));
  }
  // JSON text has no binary values; only the binary formats produce this event.
  bool binary(Json::binary_t&) { return fail(Failure::Syntax); }

  bool start_object(std::size_t) { return open(Json::object()); }
  bool key(Json::string_t& k) {
    if (k.find('\0') != Json::string_t::npos) return nul_in(std::string());
    frames_.back().key = std::move(k);
    return true;
  }
  bool end_object() { return close(); }
  bool start_array(std::size_t) { return open(Json::array()); }
  bool end_array() { return close(); }

  bool parse_error(std::size_t, const std::string&, const Json::exception& e) {
    if (e.id == kNumberOverflow) {
      // The number being read belongs to the innermost open container: name it while the
      // stack still says where we are.
      failed_path_ = path();
      return fail(Failure::NumberOverflow);
    }
    return fail(Failure::Syntax);
  }

  [[nodiscard]] Failure failure() const { return failure_; }
  [[nodiscard]] const std::string& failed_path() const { return failed_path_; }
  Json take() { return std::move(root_); }

 private:
  struct Frame {
    Json* container;
    std::string key;  // objects: the key whose value comes next
  };

  bool fail(Failure f) {
    failure_ = f;
    return false;
  }

  // A value names its field; a key is named by no path (it is the name).
  bool nul_in(const std::optional<std::string>& override_path) {
    failed_path_ = override_path ? *override_path : path();
    return fail(Failure::NulInString);
  }

  // Where the next value goes. Pointers into a container stay valid while it is open: nothing
  // is added to a parent until its open child is closed.
  Json* slot() {
    if (frames_.empty()) return &root_;
    Frame& top = frames_.back();
    if (top.container->is_array()) {
      top.container->push_back(nullptr);
      return &top.container->back();
    }
    // Duplicate keys: the last one wins, as with nlohmann::json::parse.
    return &(*top.container)[top.key];
  }

  bool put(Json v) {
    *slot() = std::move(v);
    return true;
  }

  bool open(Json empty) {
    if (frames_.size() >= max_depth_) return fail(Failure::TooDeep);
    Json* s = slot();
    *s = std::move(empty);
    frames_.push_back({s, {}});
    return true;
  }

  bool close() {
    frames_.pop_back();
    return true;
  }

  // "passengers[1].birth": object keys joined by dots, array positions in brackets.
  [[nodiscard]] std::string path() const {
    std::string out;
    for (std::size_t i = 0; i < frames_.size(); ++i) {
      const Frame& f = frames_[i];
      if (f.container->is_array()) {
        // An enclosing array already holds the open child; the innermost one gets the value
        // being read next.
        const std::size_t size = f.container->size();
        // Appended piece by piece: GCC 12 at -O3 reports a false -Wstringop-overflow for
        // `"[" + std::to_string(...) + "]"` (a const char* + std::string&& temporary).
        out += '[';
        out += std::to_string(i + 1 < frames_.size() ? size - 1 : size);
        out += ']';
      } else {
        if (!out.empty()) out += ".";
        out += f.key;
      }
    }
    return out;
  }

  std::size_t max_depth_;
  std::vector<Frame> frames_;
  Json root_;
  Failure failure_ = Failure::None;
  std::string failed_path_;
};

}  // namespace

Result<nlohmann::json> parse(std::string_view text, std::size_t max_depth) {
  // nlohmann's lexer reads a NUL byte as the end of the input, so `{"a":1}\0junk` would parse
  // as `{"a":1}`. A NUL is never valid in JSON text (not even inside a string), so refuse it.
  if (text.find('\0') != std::string_view::npos) return errors::invalid_json();
  BoundedDomBuilder builder(max_depth);
  const bool ok = Json::sax_parse(text.begin(), text.end(), &builder, Json::input_format_t::json,
                                  /*strict=*/true, /*ignore_comments=*/false);
  if (ok && builder.failure() == BoundedDomBuilder::Failure::None) return builder.take();
  switch (builder.failure()) {
    case BoundedDomBuilder::Failure::TooDeep: return errors::json_too_deep(max_depth);
    case BoundedDomBuilder::Failure::NumberOverflow: {
      const std::string& field = builder.failed_path();
      if (field.empty() || field.size() > kMaxEchoedPath) return errors::invalid_json();
      return errors::invalid_field(field, "숫자가 너무 큽니다.", "number is out of range");
    }
    case BoundedDomBuilder::Failure::NulInString: {
      const std::string& field = builder.failed_path();
      if (field.empty() || field.size() > kMaxEchoedPath) return errors::invalid_json();
      return errors::invalid_field(field, "NUL 문자(\\u0000)는 쓸 수 없습니다.",
                                   "must not contain the NUL character (\\u0000)");
    }
    default: return errors::invalid_json();
  }
}

Result<nlohmann::json> parse_object(std::string_view text, std::size_t max_depth) {
  auto j = parse(text, max_depth);
  if (!j) return j;
  if (!j->is_object()) return errors::invalid_json();
  return j;
}

}  // namespace cj::json_input
