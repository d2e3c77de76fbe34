// Cryptography for every service. All primitives come from libsodium, OpenSSL and libjwt; this file
// only parses formats and decides what counts as "valid".
#include "core/security.hpp"

#include <jwt.h>
#include <openssl/evp.h>
#include <sodium.h>

#include <charconv>
#include <climits>
#include <cstdlib>
#include <limits>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/json_input.hpp"

namespace cj::security {
namespace {

// ---- Argon2id parameters --------------------------------------------------------------------
// OWASP's Argon2id minimum (m=19 MiB, t=2, p=1; libsodium always uses p=1). Stronger settings cost
// more per login: these keep one verification at ~20-30 ms on a 2-core box, so the login endpoint
// stays usable under load instead of becoming a CPU/memory DoS vector of its own.
constexpr unsigned long long kArgon2OpsLimit = 2;
constexpr std::size_t kArgon2MemLimit = std::size_t{19} * 1024 * 1024;  // bytes

constexpr std::string_view kArgon2idPrefix = "$argon2id$";

// ---- werkzeug legacy hashes -----------------------------------------------------------------
// Defaults werkzeug applies when the method string omits parameters.
constexpr std::uint64_t kWerkzeugScryptN = 32768;
constexpr std::uint64_t kWerkzeugScryptR = 8;
constexpr std::uint64_t kWerkzeugScryptP = 1;
constexpr std::size_t kWerkzeugScryptKeyLen = 64;  // hashlib.scrypt's default dklen
// werkzeug 2.0-2.2's default. werkzeug always writes the count into the hash, so this only
// matters for hand-written "pbkdf2:sha256$salt$hash" values.
constexpr std::uint64_t kWerkzeugPbkdf2Iterations = 260000;

// Stored hashes are data, and a hostile or corrupt row must not make one login burn gigabytes of
// RAM or minutes of CPU. The bounds are generous multiples of werkzeug's defaults
// (N=2^15, r=8, p=1 -> 32 MiB, work 2^18; pbkdf2 1M iterations in werkzeug 3.1).
constexpr std::uint64_t kScryptMaxN = std::uint64_t{1} << 20;
constexpr std::uint64_t kScryptMaxR = 32;
constexpr std::uint64_t kScryptMaxP = 16;
constexpr std::uint64_t kScryptMaxMemory = std::uint64_t{256} << 20;  // 128 * N * r bytes
constexpr std::uint64_t kScryptMaxWork = std::uint64_t{1} << 22;      // N * r * p
constexpr std::uint64_t kPbkdf2MaxIterations = 2'000'000;

// werkzeug passes maxmem = 132 * N * r * p to hashlib; the slack covers OpenSSL's extra buffers
// for tiny N where that product is smaller than what it actually allocates.
constexpr std::uint64_t kScryptMaxMemSlack = std::uint64_t{1} << 20;

// ---- JWT --------------------------------------------------------------------------------------
// Real tokens are a few hundred bytes; the cap keeps hostile input away from the JSON parsers.
constexpr std::size_t kMaxTokenSize = 8192;
constexpr std::size_t kHs256SignatureSize = 32;

static_assert(sizeof(long) >= sizeof(std::int64_t),
              "libjwt's integer grants are `long`; claims must fit without truncation");

// ---- small helpers ----------------------------------------------------------------------------
// C APIs dislike null pointers even for zero lengths; an empty string_view may have data() == null.
const unsigned char* bytes_of(std::string_view s) {
  static constexpr unsigned char kEmpty[1] = {0};
  return s.empty() ? kEmpty : reinterpret_cast<const unsigned char*>(s.data());
}

const char* chars_of(std::string_view s) {
  return s.empty() ? "" : s.data();
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (;;) {
    const std::size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      parts.push_back(s.substr(start));
      return parts;
    }
    parts.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

// Plain decimal digits only: no sign, no whitespace, no overflow.
std::optional<std::uint64_t> parse_uint(std::string_view s) {
  std::uint64_t value = 0;
  const char* end = s.data() + s.size();
  const auto [ptr, ec] = std::from_chars(s.data(), end, value);
  if (s.empty() || ec != std::errc{} || ptr != end) return std::nullopt;
  return value;
}

std::optional<std::string> hex_decode(std::string_view hex) {
  if (hex.empty() || hex.size() % 2 != 0) return std::nullopt;
  std::string out(hex.size() / 2, '\0');
  std::size_t out_len = 0;
  const char* end = nullptr;
  // With an end pointer libsodium stops at the first bad character and still succeeds, so the
  // whole input must have been consumed.
  if (sodium_hex2bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), hex.data(),
                     hex.size(), nullptr, &out_len, &end) != 0 ||
      end != hex.data() + hex.size() || out_len != out.size()) {
    return std::nullopt;
  }
  return out;
}

std::optional<std::string> base64_decode_variant(std::string_view text, int variant) {
  std::string out(text.size() / 4 * 3 + 3, '\0');
  std::size_t out_len = 0;
  const char* end = nullptr;
  // Same trap as hex: a valid prefix followed by junk is "success" unless we check `end`.
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), chars_of(text),
                        text.size(), nullptr, &out_len, &end, variant) != 0 ||
      end != chars_of(text) + text.size()) {
    return std::nullopt;
  }
  out.resize(out_len);
  return out;
}

bool is_power_of_two(std::uint64_t v) {
  return v != 0 && (v & (v - 1)) == 0;
}

// ---- werkzeug parsing -------------------------------------------------------------------------
struct LegacyHash {
  enum class Kind { Scrypt, Pbkdf2 };
  Kind kind = Kind::Scrypt;
  std::uint64_t n = 0, r = 0, p = 0;  // scrypt
  const EVP_MD* digest = nullptr;     // pbkdf2
  std::uint64_t iterations = 0;       // pbkdf2
  std::string_view salt;              // used as its literal UTF-8 bytes, like werkzeug
  std::string expected;               // raw derived key
};

bool scrypt_params_acceptable(std::uint64_t n, std::uint64_t r, std::uint64_t p) {
  if (n < 2 || n > kScryptMaxN || !is_power_of_two(n)) return false;
  if (r < 1 || r > kScryptMaxR || p < 1 || p > kScryptMaxP) return false;
  // Each factor is bounded above, so these products cannot overflow.
  return 128 * n * r <= kScryptMaxMemory && n * r * p <= kScryptMaxWork;
}

// `params` are the method's fields after "scrypt": none (werkzeug defaults) or exactly N, r, p.
bool parse_scrypt_method(const std::vector<std::string_view>& params, LegacyHash& out) {
  out.kind = LegacyHash::Kind::Scrypt;
  if (params.empty()) {
    out.n = kWerkzeugScryptN;
    out.r = kWerkzeugScryptR;
    out.p = kWerkzeugScryptP;
  } else if (params.size() == 3) {
    const auto n = parse_uint(params[0]);
    const auto r = parse_uint(params[1]);
    const auto p = parse_uint(params[2]);
    if (!n || !r || !p) return false;
    out.n = *n;
    out.r = *r;
    out.p = *p;
  } else {
    return false;
  }
  return scrypt_params_acceptable(out.n, out.r, out.p);
}

const EVP_MD* pbkdf2_digest(std::string_view name) {
  if (name == "sha256") return EVP_sha256();
  if (name == "sha512") return EVP_sha512();
  if (name == "sha1") return EVP_sha1();
  return nullptr;
}

// `params` after "pbkdf2": none, a digest name, or a digest name and an iteration count.
bool parse_pbkdf2_method(const std::vector<std::string_view>& params, LegacyHash& out) {
  out.kind = LegacyHash::Kind::Pbkdf2;
  if (params.size() > 2) return false;
  out.digest = pbkdf2_digest(params.empty() ? std::string_view("sha256") : params[0]);
  if (out.digest == nullptr) return false;
  out.iterations = kWerkzeugPbkdf2Iterations;
  if (params.size() == 2) {
    const auto iterations = parse_uint(params[1]);
    if (!iterations) return false;
    out.iterations = *iterations;
  }
  return out.iterations >= 1 && out.iterations <= kPbkdf2MaxIterations;
}

std::size_t expected_key_size(const LegacyHash& h) {
  return h.kind == LegacyHash::Kind::Scrypt ? kWerkzeugScryptKeyLen
                                            : static_cast<std::size_t>(EVP_MD_get_size(h.digest));
}

// werkzeug format: "<method>$<salt>$<hex of derived key>", method "scrypt[:N:r:p]" or
// "pbkdf2[:digest[:iterations]]".
std::optional<LegacyHash> parse_legacy(std::string_view stored) {
  const auto fields = split(stored, '$');
  if (fields.size() != 3 || fields[1].empty()) return std::nullopt;

  auto method = split(fields[0], ':');
  const std::string_view name = method.front();
  method.erase(method.begin());

  LegacyHash h;
  const bool ok = name == "scrypt"   ? parse_scrypt_method(method, h)
                  : name == "pbkdf2" ? parse_pbkdf2_method(method, h)
                                     : false;
  if (!ok) return std::nullopt;

  auto expected = hex_decode(fields[2]);
  if (!expected || expected->size() != expected_key_size(h)) return std::nullopt;
  h.salt = fields[1];
  h.expected = std::move(*expected);
  return h;
}

std::optional<std::string> derive_scrypt(const LegacyHash& h, std::string_view password) {
  std::string key(kWerkzeugScryptKeyLen, '\0');
  const std::uint64_t maxmem = 132 * h.n * h.r * h.p + kScryptMaxMemSlack;
  if (EVP_PBE_scrypt(chars_of(password), password.size(), bytes_of(h.salt), h.salt.size(), h.n, h.r,
                     h.p, maxmem, reinterpret_cast<unsigned char*>(key.data()), key.size()) != 1) {
    return std::nullopt;
  }
  return key;
}

std::optional<std::string> derive_pbkdf2(const LegacyHash& h, std::string_view password) {
  constexpr auto kIntMax = static_cast<std::size_t>(std::numeric_limits<int>::max());
  if (password.size() > kIntMax || h.salt.size() > kIntMax) return std::nullopt;
  std::string key(expected_key_size(h), '\0');
  if (PKCS5_PBKDF2_HMAC(chars_of(password), static_cast<int>(password.size()), bytes_of(h.salt),
                        static_cast<int>(h.salt.size()), static_cast<int>(h.iterations), h.digest,
                        static_cast<int>(key.size()),
                        reinterpret_cast<unsigned char*>(key.data())) != 1) {
    return std::nullopt;
  }
  return key;
}

PasswordCheck verify_legacy(std::string_view password, const LegacyHash& h) {
  const auto key =
      h.kind == LegacyHash::Kind::Scrypt ? derive_scrypt(h, password) : derive_pbkdf2(h, password);
  // A KDF failure (out of memory) must deny the login; "wrong password" is the safe answer.
  if (!key) return PasswordCheck::Mismatch;
  // Correct legacy passwords are always upgraded to Argon2id by the caller.
  return constant_time_equal(*key, h.expected) ? PasswordCheck::MatchNeedsRehash
                                               : PasswordCheck::Mismatch;
}

// ---- Argon2id -----------------------------------------------------------------------------------
bool looks_like_argon2id(std::string_view stored) {
  // libsodium reads C strings: an embedded NUL would make it look at a different value.
  return stored.starts_with(kArgon2idPrefix) && stored.find('\0') == std::string_view::npos;
}

// 0 = our parameters, 1 = other parameters, -1 = not a valid Argon2id string.
int argon2id_needs_rehash(const std::string& stored) {
  return crypto_pwhash_str_needs_rehash(stored.c_str(), kArgon2OpsLimit, kArgon2MemLimit);
}

PasswordCheck verify_argon2id(std::string_view password, std::string_view stored_view) {
  const std::string stored(stored_view);
  const int rehash = argon2id_needs_rehash(stored);
  if (rehash < 0) return PasswordCheck::UnknownFormat;
  if (crypto_pwhash_str_verify(stored.c_str(), chars_of(password), password.size()) != 0) {
    return PasswordCheck::Mismatch;
  }
  return rehash == 0 ? PasswordCheck::Match : PasswordCheck::MatchNeedsRehash;
}

// ---- JWT helpers --------------------------------------------------------------------------------
struct JwtDeleter {
  void operator()(jwt_t* jwt) const noexcept { jwt_free(jwt); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtDeleter>;

// libjwt 1.10 has no jwt_free_str; its strings come from its default allocator (malloc).
struct CFreeDeleter {
  void operator()(char* p) const noexcept { std::free(p); }
};
using CStringPtr = std::unique_ptr<char, CFreeDeleter>;

JwtResult jwt_failure(JwtError error) {
  return JwtResult{std::nullopt, error};
}

// Parses a base64url JSON segment; a discarded (invalid) value when anything is wrong.
nlohmann::json decode_json_segment(std::string_view segment) {
  const auto raw = base64_decode_variant(segment, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  if (!raw) return nlohmann::json(nlohmann::json::value_t::discarded);
  // The one depth-limited parser for outside text; errors come back as a discarded value.
  auto parsed = json_input::parse(*raw);
  if (!parsed) return nlohmann::json(nlohmann::json::value_t::discarded);
  return std::move(*parsed);
}

// Integer claims only: a string "42" or 42.0 is not an integer.
std::optional<std::int64_t> int_claim(const nlohmann::json& payload, const char* name) {
  const auto it = payload.find(name);
  if (it == payload.end() || !it->is_number_integer()) return std::nullopt;
  if (it->is_number_unsigned()) {
    const auto value = it->get<std::uint64_t>();
    if (value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return std::nullopt;
    }
    return static_cast<std::int64_t>(value);
  }
  return it->get<std::int64_t>();
}

// The header is checked by us, before libjwt sees the token: libjwt decides which algorithm to
// verify with from the token itself, and the only way to pin HS256 is to refuse anything else.
std::optional<JwtError> check_header(std::string_view segment) {
  const auto header = decode_json_segment(segment);
  if (header.is_discarded() || !header.is_object()) return JwtError::Malformed;
  const auto alg = header.find("alg");
  if (alg == header.end() || !alg->is_string() || alg->get<std::string>() != "HS256") {
    return JwtError::WrongAlgorithm;
  }
  return std::nullopt;
}

bool signature_well_formed(std::string_view segment) {
  const auto sig = base64_decode_variant(segment, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return sig && sig->size() == kHs256SignatureSize;
}

// Signature check by libjwt. Everything structural was validated before, so a failure here means
// the signature does not match `secret`.
std::optional<JwtError> check_signature(const std::string& token, std::string_view secret) {
  jwt_t* raw = nullptr;
  const int rc = jwt_decode(&raw, token.c_str(), bytes_of(secret), static_cast<int>(secret.size()));
  const JwtPtr jwt(raw);
  if (rc != 0 || !jwt) return JwtError::BadSignature;
  // Defence in depth: libjwt must agree on what it verified.
  if (jwt_get_alg(jwt.get()) != JWT_ALG_HS256) return JwtError::WrongAlgorithm;
  return std::nullopt;
}

JwtResult claims_from_payload(const nlohmann::json& payload, std::int64_t now_unix,
                              std::int64_t max_lifetime_seconds) {
  Claims claims;
  const auto user_id = int_claim(payload, "user_id");
  const auto role = payload.find("role");
  if (!user_id || role == payload.end() || !role->is_string()) {
    return jwt_failure(JwtError::MissingClaim);
  }
  const auto exp = int_claim(payload, "exp");
  if (!exp || *exp <= now_unix) return jwt_failure(JwtError::Expired);

  const auto iat = int_claim(payload, "iat");
  if (!iat) return jwt_failure(JwtError::MissingClaim);
  // Checked as differences of values already known to be in range, so nothing overflows:
  // exp > now here, and an iat below exp - lifetime is refused before any subtraction of iat.
  if (*iat > now_unix + kJwtClockSkewSeconds) return jwt_failure(JwtError::BadLifetime);
  if (*iat < *exp - max_lifetime_seconds - kJwtClockSkewSeconds) {
    return jwt_failure(JwtError::BadLifetime);
  }

  claims.user_id = *user_id;
  claims.role = role->get<std::string>();
  claims.iat = *iat;
  claims.exp = *exp;
  JwtResult result;
  result.claims = std::move(claims);
  return result;
}

JwtResult verify_jwt_unchecked(std::string_view token, std::string_view secret,
                               std::int64_t now_unix, std::int64_t max_lifetime_seconds) {
  // libjwt skips verification entirely when given no key (it then accepts alg "none" and any
  // signature), so an empty secret must never reach it.
  if (secret.empty() || secret.size() > static_cast<std::size_t>(INT_MAX)) {
    return jwt_failure(JwtError::BadSignature);
  }
  if (token.empty() || token.size() > kMaxTokenSize || token.find('\0') != std::string_view::npos) {
    return jwt_failure(JwtError::Malformed);
  }
  const auto segments = split(token, '.');
  // Two segments are enough to read the header, so "none" tokens without the trailing dot are
  // reported as the wrong algorithm rather than as garbage.
  if (segments.size() < 2) return jwt_failure(JwtError::Malformed);
  if (const auto error = check_header(segments[0])) return jwt_failure(*error);

  if (segments.size() != 3 || !signature_well_formed(segments[2])) {
    return jwt_failure(JwtError::Malformed);
  }
  const auto payload = decode_json_segment(segments[1]);
  if (payload.is_discarded() || !payload.is_object()) return jwt_failure(JwtError::Malformed);

  if (const auto error = check_signature(std::string(token), secret)) return jwt_failure(*error);
  return claims_from_payload(payload, now_unix, max_lifetime_seconds);
}

}  // namespace

bool init() {
  return sodium_init() >= 0;
}

// ---- passwords ----------------------------------------------------------------------------------
std::string hash_password(std::string_view password) {
  char out[crypto_pwhash_STRBYTES] = {};
  if (crypto_pwhash_str_alg(out, chars_of(password), password.size(), kArgon2OpsLimit,
                            kArgon2MemLimit, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    // Only fails when the 19 MiB cannot be allocated. An empty "hash" never verifies (it is
    // UnknownFormat), so a caller that stores it cannot create a usable password by accident.
    return {};
  }
  return std::string(out);
}

PasswordCheck verify_password(std::string_view password, std::string_view stored) {
  if (looks_like_argon2id(stored)) return verify_argon2id(password, stored);
  if (const auto legacy = parse_legacy(stored)) return verify_legacy(password, *legacy);
  // Plain text, empty, argon2i, bcrypt, truncated...: never compared with the password.
  return PasswordCheck::UnknownFormat;
}

bool is_password_hash(std::string_view stored) {
  if (looks_like_argon2id(stored)) return argon2id_needs_rehash(std::string(stored)) >= 0;
  return parse_legacy(stored).has_value();
}

// ---- JWT ----------------------------------------------------------------------------------------
std::string sign_jwt(const Claims& claims, std::string_view secret) {
  // Refuse to mint tokens with an empty key: verify_jwt would reject them anyway.
  if (secret.empty() || secret.size() > static_cast<std::size_t>(INT_MAX)) return {};
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return {};
  const JwtPtr jwt(raw);
  if (jwt_set_alg(jwt.get(), JWT_ALG_HS256, bytes_of(secret), static_cast<int>(secret.size())) !=
          0 ||
      jwt_add_grant_int(jwt.get(), "user_id", static_cast<long>(claims.user_id)) != 0 ||
      jwt_add_grant(jwt.get(), "role", claims.role.c_str()) != 0 ||
      jwt_add_grant_int(jwt.get(), "iat", static_cast<long>(claims.iat)) != 0 ||
      jwt_add_grant_int(jwt.get(), "exp", static_cast<long>(claims.exp)) != 0) {
    return {};
  }
  const CStringPtr encoded(jwt_encode_str(jwt.get()));
  return encoded ? std::string(encoded.get()) : std::string();
}

JwtResult verify_jwt(std::string_view token, std::string_view secret, std::int64_t now_unix,
                     std::int64_t max_lifetime_seconds) {
  try {
    return verify_jwt_unchecked(token, secret, now_unix, max_lifetime_seconds);
  } catch (const nlohmann::json::exception&) {
    // Parsing is exception-free and types are checked before get<>(); this is a backstop.
    return jwt_failure(JwtError::Malformed);
  }
}

// ---- primitives ---------------------------------------------------------------------------------
bool constant_time_equal(std::string_view a, std::string_view b) {
  // Lengths are not secret (hashes and MACs have fixed sizes); the content is never looked at.
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  // libsodium's streaming HMAC takes any key length (longer than a block is hashed, per RFC 2104).
  crypto_auth_hmacsha256_state state;
  std::string mac(crypto_auth_hmacsha256_BYTES, '\0');
  crypto_auth_hmacsha256_init(&state, bytes_of(key), key.size());
  crypto_auth_hmacsha256_update(&state, bytes_of(data), data.size());
  crypto_auth_hmacsha256_final(&state, reinterpret_cast<unsigned char*>(mac.data()));
  sodium_memzero(&state, sizeof state);  // the state holds key-derived pads
  return mac;
}

std::string base64_encode(std::string_view raw) {
  std::string out(sodium_base64_ENCODED_LEN(raw.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes_of(raw), raw.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.pop_back();  // the terminating NUL counted by ENCODED_LEN
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  return base64_decode_variant(text, sodium_base64_VARIANT_ORIGINAL);
}

std::string hex_encode(std::string_view raw) {
  std::string out(raw.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), bytes_of(raw), raw.size());
  out.pop_back();
  return out;
}

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (n > 0) randombytes_buf(out.data(), n);
  return out;
}

std::string random_string(std::size_t n, std::string_view alphabet) {
  // randombytes_uniform rejects out-of-range samples, so there is no modulo bias.
  if (alphabet.empty() || alphabet.size() > std::numeric_limits<std::uint32_t>::max()) return {};
  const auto size = static_cast<std::uint32_t>(alphabet.size());
  std::string out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) out.push_back(alphabet[randombytes_uniform(size)]);
  return out;
}

}  // namespace cj::security
