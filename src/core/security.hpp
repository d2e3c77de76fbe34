// Cryptography used by every service: password hashing (Argon2id, plus verification of the
// hashes the original Python service wrote), JWT HS256, HMAC and constant-time comparison.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cj::security {

// Must be called once before any other function here (initialises libsodium). Returns false when
// the library cannot be initialised.
bool init();

// ---- passwords ----------------------------------------------------------------------------
// Argon2id in libsodium's PHC string format ($argon2id$v=19$m=...,t=...,p=1$...).
std::string hash_password(std::string_view password);

enum class PasswordCheck {
  Match,             // correct and stored with our current Argon2id parameters
  MatchNeedsRehash,  // correct, but a legacy werkzeug hash or older Argon2 parameters
  Mismatch,          // wrong password
  UnknownFormat,     // stored value is not a hash we know (e.g. plain text): never a match
};
PasswordCheck verify_password(std::string_view password, std::string_view stored);

// True for Argon2id, werkzeug scrypt and werkzeug pbkdf2 strings; false for anything else
// (the original stored the seeded admin's password in plain text).
bool is_password_hash(std::string_view stored);

// ---- JWT HS256 ----------------------------------------------------------------------------
struct Claims {
  std::int64_t user_id = 0;
  std::string role;  // "USER" | "ADMIN"
  std::int64_t iat = 0;
  std::int64_t exp = 0;
};

std::string sign_jwt(const Claims& claims, std::string_view secret);

enum class JwtError {
  Malformed,
  BadSignature,
  WrongAlgorithm,
  Expired,
  MissingClaim,
  BadLifetime,  // exp - iat longer than allowed, or iat in the future
};
struct JwtResult {
  std::optional<Claims> claims;  // set on success
  JwtError error = JwtError::Malformed;
};
// Clocks of the replicas that sign and verify may disagree by this much.
constexpr std::int64_t kJwtClockSkewSeconds = 60;
// Accepts only alg HS256 with a valid signature under `secret`, an integer user_id, a role,
// exp > now, and an integer iat with iat <= now + skew and exp - iat <= max_lifetime + skew:
// a leaked key or a signing bug cannot mint a token that lives for a century, and a token
// signed under a longer JWT_TTL_SECONDS stops working once the TTL is lowered.
JwtResult verify_jwt(std::string_view token, std::string_view secret, std::int64_t now_unix,
                     std::int64_t max_lifetime_seconds);

// ---- primitives ---------------------------------------------------------------------------
bool constant_time_equal(std::string_view a, std::string_view b);
std::string hmac_sha256(std::string_view key, std::string_view data);  // raw 32 bytes
std::string base64_encode(std::string_view raw);
std::optional<std::string> base64_decode(std::string_view text);
std::string hex_encode(std::string_view raw);
// `n` bytes from the OS CSPRNG.
std::string random_bytes(std::size_t n);
// `n` characters drawn uniformly (no modulo bias) from `alphabet` using the CSPRNG.
std::string random_string(std::size_t n, std::string_view alphabet);

}  // namespace cj::security
