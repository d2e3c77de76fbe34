// Unit tests for cj::security. The werkzeug vectors were generated once with Python's hashlib
// (and checked with werkzeug.security.check_password_hash) and are hardcoded here.
#include "core/security.hpp"

#include <gtest/gtest.h>
#include <jwt.h>
#include <sodium.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace sec = cj::security;
using sec::JwtError;
using sec::PasswordCheck;

namespace {

// libsodium must be initialised once before anything in cj::security is used.
class SecurityEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { ASSERT_TRUE(sec::init()); }
};
[[maybe_unused]] const auto* const kSecurityEnvironment =
    ::testing::AddGlobalTestEnvironment(new SecurityEnvironment);

constexpr std::string_view kSecret = "test-secret-with-enough-entropy-0123456789";
constexpr std::int64_t kNow = 1'700'000'000;
constexpr std::int64_t kTtl = 86'400;  // the default JWT_TTL_SECONDS

// ---- werkzeug vectors (password "secret123") --------------------------------------------------
constexpr std::string_view kScryptHex =
    "e74fb21c28b2579520b9aad0c1eb15db6a8df76c81f39f416831267d9495b2bb"
    "a67794628d37bd41b0656a86cb1a20589c00e28c4d090f58c7508da097fe5f42";
const std::string kWerkzeugScrypt = "scrypt:32768:8:1$abcdefghijklmnop$" + std::string(kScryptHex);
const std::string kWerkzeugScryptNoParams = "scrypt$abcdefghijklmnop$" + std::string(kScryptHex);
// hashlib.scrypt("pässwörd".encode(), salt="sälz".encode(), n=16384, r=8, p=1, dklen=64)
const std::string kWerkzeugScryptUtf8 =
    "scrypt:16384:8:1$s\xc3\xa4lz$"
    "dd56806d15dbc7a144e1d399e63f0ea6259d7f7ca27205c5967a25b5c0cd466c"
    "0a16f25d7016345ae746b6927e053a019cb606765c3f88ff56d031180aa00879";
const std::string kWerkzeugPbkdf2 =
    "pbkdf2:sha256:600000$somesalt$"
    "3a5a9d46a3c1b2841bbc6c422ca2c83e4c61910995027e371b43597b7462ff1c";
// 260000 iterations: the default applied when the count is omitted.
const std::string kWerkzeugPbkdf2NoIterations =
    "pbkdf2:sha256$somesalt$914168b5dccd6be1154e3ee2b8e88e6bdcea2982e9d5c1115e8067252e070437";
const std::string kWerkzeugPbkdf2Sha512 =
    "pbkdf2:sha512:1000$somesalt$"
    "181758cd32d699f28ac3cfb103fa526fb15e65ce2dc707293de54289270ccb77"
    "8f0e9e4ec3d1680af6da527a1bb5982d170c01917d15d4ad356c7f25218d69bb";
const std::string kWerkzeugPbkdf2Sha1 =
    "pbkdf2:sha1:1000$somesalt$9986d140b46f63cbe4c0705ea6d0c37b8e799b7e";

// ---- JWT helpers ----------------------------------------------------------------------------
std::string base64url(std::string_view raw) {
  constexpr int kVariant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  std::string out(sodium_base64_ENCODED_LEN(raw.size(), kVariant), '\0');
  sodium_bin2base64(out.data(), out.size(),
                    reinterpret_cast<const unsigned char*>(raw.empty() ? "" : raw.data()),
                    raw.size(), kVariant);
  out.pop_back();
  return out;
}

// An HS256 token over arbitrary JSON, signed independently of libjwt, so claim checks can be
// exercised with payloads sign_jwt would never produce.
std::string hs256_token(std::string_view header_json, std::string_view payload_json,
                        std::string_view secret) {
  const std::string signing_input = base64url(header_json) + "." + base64url(payload_json);
  return signing_input + "." + base64url(sec::hmac_sha256(secret, signing_input));
}

constexpr std::string_view kHs256Header = R"({"alg":"HS256","typ":"JWT"})";
// iat = kNow - 10, exp = kNow + 3600.
constexpr std::string_view kValidPayload =
    R"({"user_id":7,"role":"ADMIN","iat":1699999990,"exp":1700003600})";

sec::Claims sample_claims() {
  sec::Claims c;
  c.user_id = 42;
  c.role = "USER";
  c.iat = kNow - 10;
  c.exp = kNow + 3600;
  return c;
}

struct JwtDeleter {
  void operator()(jwt_t* j) const noexcept { jwt_free(j); }
};
struct FreeDeleter {
  void operator()(char* p) const noexcept { std::free(p); }
};

// A correctly signed token with another HMAC algorithm, made by libjwt itself.
std::string libjwt_token(jwt_alg_t alg, std::string_view secret) {
  jwt_t* raw = nullptr;
  EXPECT_EQ(jwt_new(&raw), 0);
  std::unique_ptr<jwt_t, JwtDeleter> jwt(raw);
  EXPECT_EQ(jwt_set_alg(jwt.get(), alg, reinterpret_cast<const unsigned char*>(secret.data()),
                        static_cast<int>(secret.size())),
            0);
  EXPECT_EQ(jwt_add_grant_int(jwt.get(), "user_id", 42), 0);
  EXPECT_EQ(jwt_add_grant(jwt.get(), "role", "ADMIN"), 0);
  EXPECT_EQ(jwt_add_grant_int(jwt.get(), "iat", kNow), 0);
  EXPECT_EQ(jwt_add_grant_int(jwt.get(), "exp", kNow + 3600), 0);
  std::unique_ptr<char, FreeDeleter> encoded(jwt_encode_str(jwt.get()));
  return encoded ? std::string(encoded.get()) : std::string();
}

void expect_jwt_error(std::string_view token, JwtError expected,
                      std::string_view secret = kSecret) {
  const auto result = sec::verify_jwt(token, secret, kNow, kTtl);
  EXPECT_FALSE(result.claims.has_value()) << token;
  EXPECT_EQ(result.error, expected) << token;
}

}  // namespace

// ---- Argon2id ---------------------------------------------------------------------------------
TEST(PasswordHash, Argon2idRoundtripMatches) {
  const std::string hash = sec::hash_password("correct horse");
  EXPECT_TRUE(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$")) << hash;
  EXPECT_EQ(sec::verify_password("correct horse", hash), PasswordCheck::Match);
  EXPECT_TRUE(sec::is_password_hash(hash));
}

TEST(PasswordHash, Argon2idRejectsWrongPassword) {
  const std::string hash = sec::hash_password("correct horse");
  EXPECT_EQ(sec::verify_password("correct horsf", hash), PasswordCheck::Mismatch);
  EXPECT_EQ(sec::verify_password("", hash), PasswordCheck::Mismatch);
}

TEST(PasswordHash, Argon2idUsesFreshSaltEachTime) {
  EXPECT_NE(sec::hash_password("same"), sec::hash_password("same"));
}

TEST(PasswordHash, Argon2idHandlesEmptyAndBinaryPasswords) {
  const std::string binary("a\0b", 3);
  const std::string hash = sec::hash_password(binary);
  EXPECT_EQ(sec::verify_password(binary, hash), PasswordCheck::Match);
  EXPECT_EQ(sec::verify_password("a", hash), PasswordCheck::Mismatch);
  EXPECT_EQ(sec::verify_password("", sec::hash_password("")), PasswordCheck::Match);
}

TEST(PasswordHash, Argon2idWithOtherParametersNeedsRehash) {
  char out[crypto_pwhash_STRBYTES];
  ASSERT_EQ(
      crypto_pwhash_str_alg(out, "pw", 2, 3, 19u * 1024u * 1024u, crypto_pwhash_ALG_ARGON2ID13), 0);
  EXPECT_EQ(sec::verify_password("pw", out), PasswordCheck::MatchNeedsRehash);
  EXPECT_EQ(sec::verify_password("px", out), PasswordCheck::Mismatch);
  EXPECT_TRUE(sec::is_password_hash(out));
}

TEST(PasswordHash, Argon2iIsUnknownFormat) {
  char out[crypto_pwhash_STRBYTES];
  ASSERT_EQ(
      crypto_pwhash_str_alg(out, "pw", 2, 3, 19u * 1024u * 1024u, crypto_pwhash_ALG_ARGON2I13), 0);
  EXPECT_EQ(sec::verify_password("pw", out), PasswordCheck::UnknownFormat);
  EXPECT_FALSE(sec::is_password_hash(out));
}

TEST(PasswordHash, MalformedArgon2idIsUnknownFormat) {
  const std::string hash = sec::hash_password("pw");
  for (const std::string& bad :
       {std::string("$argon2id$"), std::string("$argon2id$v=19$m=19456,t=2,p=1$"),
        hash.substr(0, 30), hash.substr(0, 35) + std::string(1, '\0') + hash.substr(35),
        hash + std::string(200, 'A')}) {
    EXPECT_EQ(sec::verify_password("pw", bad), PasswordCheck::UnknownFormat) << bad;
    EXPECT_FALSE(sec::is_password_hash(bad)) << bad;
  }
}

// ---- plain text and unknown formats -------------------------------------------------------------
TEST(PasswordHash, PlainTextIsNeverAMatch) {
  // The original service seeded the admin with a plain-text password.
  EXPECT_EQ(sec::verify_password("admin123", "admin123"), PasswordCheck::UnknownFormat);
  EXPECT_EQ(sec::verify_password("", ""), PasswordCheck::UnknownFormat);
  EXPECT_EQ(sec::verify_password("x", "x$y$z"), PasswordCheck::UnknownFormat);
  EXPECT_FALSE(sec::is_password_hash("admin123"));
  EXPECT_FALSE(sec::is_password_hash(""));
}

TEST(PasswordHash, IsPasswordHashRecognisesEveryKnownFormat) {
  EXPECT_TRUE(sec::is_password_hash(kWerkzeugScrypt));
  EXPECT_TRUE(sec::is_password_hash(kWerkzeugScryptNoParams));
  EXPECT_TRUE(sec::is_password_hash(kWerkzeugPbkdf2));
  EXPECT_TRUE(sec::is_password_hash(kWerkzeugPbkdf2NoIterations));
  EXPECT_TRUE(sec::is_password_hash(kWerkzeugPbkdf2Sha512));
  EXPECT_TRUE(sec::is_password_hash(kWerkzeugPbkdf2Sha1));
  EXPECT_FALSE(
      sec::is_password_hash("$2b$12$abcdefghijklmnopqrstuuVn2Fh4TGMo8tPa4gSLe0nWYKJ0MpmG"));
}

// ---- werkzeug scrypt ----------------------------------------------------------------------------
TEST(WerkzeugScrypt, CorrectPasswordMatchesAndNeedsRehash) {
  EXPECT_EQ(sec::verify_password("secret123", kWerkzeugScrypt), PasswordCheck::MatchNeedsRehash);
}

TEST(WerkzeugScrypt, WrongPasswordIsMismatch) {
  EXPECT_EQ(sec::verify_password("secret124", kWerkzeugScrypt), PasswordCheck::Mismatch);
  EXPECT_EQ(sec::verify_password("", kWerkzeugScrypt), PasswordCheck::Mismatch);
}

TEST(WerkzeugScrypt, OmittedParametersUseWerkzeugDefaults) {
  EXPECT_EQ(sec::verify_password("secret123", kWerkzeugScryptNoParams),
            PasswordCheck::MatchNeedsRehash);
}

TEST(WerkzeugScrypt, SaltAndPasswordAreUtf8Bytes) {
  EXPECT_EQ(sec::verify_password("p\xc3\xa4ssw\xc3\xb6rd", kWerkzeugScryptUtf8),
            PasswordCheck::MatchNeedsRehash);
}

TEST(WerkzeugScrypt, UppercaseHexStillVerifies) {
  std::string upper = kWerkzeugScrypt;
  for (auto i = upper.rfind('$') + 1; i < upper.size(); ++i) {
    upper[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(upper[i])));
  }
  EXPECT_EQ(sec::verify_password("secret123", upper), PasswordCheck::MatchNeedsRehash);
}

TEST(WerkzeugScrypt, MalformedIsUnknownFormat) {
  const std::string hex(kScryptHex);
  for (const std::string& bad : {
           "scrypt:32768:8:1$abcdefghijklmnop" + std::string(),         // no hash
           "scrypt:32768:8:1$$" + hex,                                  // empty salt
           "scrypt:32768:8$abcdefghijklmnop$" + hex,                    // two params
           "scrypt:32768:8:1:1$abcdefghijklmnop$" + hex,                // four params
           "scrypt:32768:8:x$abcdefghijklmnop$" + hex,                  // not a number
           "scrypt:32768:8:-1$abcdefghijklmnop$" + hex,                 // negative
           "scrypt: 32768:8:1$abcdefghijklmnop$" + hex,                 // whitespace
           "scrypt:32768:8:1$abcdefghijklmnop$" + hex.substr(2),        // short hash
           "scrypt:32768:8:1$abcdefghijklmnop$" + hex + "00",           // long hash
           "scrypt:32768:8:1$abcdefghijklmnop$" + hex.substr(1) + "g",  // not hex
           "scrypt:32768:8:1$abcdefghijklmnop$" + hex + "$extra",       // extra field
           "Scrypt:32768:8:1$abcdefghijklmnop$" + hex,                  // case matters
       }) {
    EXPECT_EQ(sec::verify_password("secret123", bad), PasswordCheck::UnknownFormat) << bad;
    EXPECT_FALSE(sec::is_password_hash(bad)) << bad;
  }
}

TEST(WerkzeugScrypt, HostileParametersAreRejectedQuickly) {
  const std::string tail = "$abcdefghijklmnop$" + std::string(kScryptHex);
  const auto start = std::chrono::steady_clock::now();
  for (const std::string method : {
           "scrypt:1073741824:8:1",            // N = 2^30: 1 TiB
           "scrypt:1048576:32:16",             // every parameter at its own limit: 4 GiB
           "scrypt:2097152:1:1",               // N above 2^20
           "scrypt:32768:33:1",                // r too large
           "scrypt:32768:8:17",                // p too large
           "scrypt:32768:8:0",                 // p zero
           "scrypt:32768:0:1",                 // r zero
           "scrypt:1:8:1",                     // N too small
           "scrypt:30000:8:1",                 // N not a power of two
           "scrypt:99999999999999999999:8:1",  // overflows uint64
       }) {
    EXPECT_EQ(sec::verify_password("secret123", method + tail), PasswordCheck::UnknownFormat)
        << method;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

// ---- werkzeug pbkdf2 ----------------------------------------------------------------------------
TEST(WerkzeugPbkdf2, CorrectPasswordMatchesAndNeedsRehash) {
  EXPECT_EQ(sec::verify_password("secret123", kWerkzeugPbkdf2), PasswordCheck::MatchNeedsRehash);
}

TEST(WerkzeugPbkdf2, WrongPasswordIsMismatch) {
  EXPECT_EQ(sec::verify_password("Secret123", kWerkzeugPbkdf2), PasswordCheck::Mismatch);
}

TEST(WerkzeugPbkdf2, OmittedIterationsUse260000) {
  EXPECT_EQ(sec::verify_password("secret123", kWerkzeugPbkdf2NoIterations),
            PasswordCheck::MatchNeedsRehash);
}

TEST(WerkzeugPbkdf2, Sha512AndSha1AreSupported) {
  EXPECT_EQ(sec::verify_password("secret123", kWerkzeugPbkdf2Sha512),
            PasswordCheck::MatchNeedsRehash);
  EXPECT_EQ(sec::verify_password("secret12", kWerkzeugPbkdf2Sha512), PasswordCheck::Mismatch);
  EXPECT_EQ(sec::verify_password("secret123", kWerkzeugPbkdf2Sha1),
            PasswordCheck::MatchNeedsRehash);
  EXPECT_EQ(sec::verify_password("secret12", kWerkzeugPbkdf2Sha1), PasswordCheck::Mismatch);
}

TEST(WerkzeugPbkdf2, MalformedIsUnknownFormat) {
  const std::string hex = "3a5a9d46a3c1b2841bbc6c422ca2c83e4c61910995027e371b43597b7462ff1c";
  for (const std::string& bad : {
           "pbkdf2:md5:1000$somesalt$" + hex,                 // unsupported digest
           "pbkdf2:sha256:0$somesalt$" + hex,                 // zero iterations
           "pbkdf2:sha256:1000000000$somesalt$" + hex,        // hostile iteration count
           "pbkdf2:sha256:12x$somesalt$" + hex,               // not a number
           "pbkdf2:sha256:1000:1$somesalt$" + hex,            // too many params
           "pbkdf2:sha512:1000$somesalt$" + hex,              // wrong length for sha512
           "pbkdf2:sha256:600000$somesalt$" + hex.substr(1),  // odd length
           std::string("pbkdf2:sha256:600000$somesalt"),      // no hash
           std::string("pbkdf2:sha256:600000"),               // no salt or hash
           "sha256$somesalt$" + hex,                          // werkzeug < 2.3 plain digest
       }) {
    EXPECT_EQ(sec::verify_password("secret123", bad), PasswordCheck::UnknownFormat) << bad;
    EXPECT_FALSE(sec::is_password_hash(bad)) << bad;
  }
}

// ---- JWT ----------------------------------------------------------------------------------------
TEST(Jwt, RoundtripPreservesClaims) {
  const std::string token = sec::sign_jwt(sample_claims(), kSecret);
  ASSERT_FALSE(token.empty());
  const auto result = sec::verify_jwt(token, kSecret, kNow, kTtl);
  ASSERT_TRUE(result.claims.has_value());
  EXPECT_EQ(result.claims->user_id, 42);
  EXPECT_EQ(result.claims->role, "USER");
  EXPECT_EQ(result.claims->iat, kNow - 10);
  EXPECT_EQ(result.claims->exp, kNow + 3600);
}

TEST(Jwt, AcceptsIndependentlySignedHs256Token) {
  const auto result =
      sec::verify_jwt(hs256_token(kHs256Header, kValidPayload, kSecret), kSecret, kNow, kTtl);
  ASSERT_TRUE(result.claims.has_value());
  EXPECT_EQ(result.claims->user_id, 7);
  EXPECT_EQ(result.claims->role, "ADMIN");
  EXPECT_EQ(result.claims->iat, kNow - 10);
}

namespace {

// A token signed with claims {user_id 7, role USER, iat, exp}; iat omitted when nullopt.
std::string token_with_times(std::optional<std::int64_t> iat, std::int64_t exp) {
  std::string payload = R"({"user_id":7,"role":"USER",)";
  if (iat) payload += R"("iat":)" + std::to_string(*iat) + ",";
  payload += R"("exp":)" + std::to_string(exp) + "}";
  return hs256_token(kHs256Header, payload, kSecret);
}

bool accepted(const std::string& token, std::int64_t ttl = kTtl) {
  return sec::verify_jwt(token, kSecret, kNow, ttl).claims.has_value();
}

}  // namespace

TEST(JwtLifetime, AcceptsExactlyTheConfiguredTtlAndTheClockSkew) {
  EXPECT_TRUE(accepted(token_with_times(kNow, kNow + kTtl)));
  EXPECT_TRUE(accepted(token_with_times(kNow - 100, kNow - 100 + kTtl)));
  // Issued by a replica whose clock runs up to a minute ahead.
  EXPECT_TRUE(accepted(
      token_with_times(kNow + sec::kJwtClockSkewSeconds, kNow + sec::kJwtClockSkewSeconds + kTtl)));
  EXPECT_TRUE(accepted(token_with_times(kNow, kNow + kTtl + sec::kJwtClockSkewSeconds)));
}

TEST(JwtLifetime, RejectsTokensLivingLongerThanTheTtl) {
  const std::int64_t century = std::int64_t{100} * 365 * 86400;
  for (const std::string& token : {
           token_with_times(kNow, kNow + century),                               // 100 years
           token_with_times(kNow, kNow + kTtl + sec::kJwtClockSkewSeconds + 1),  // just over
           token_with_times(0, kNow + 10),                                       // iat 1970
           token_with_times(std::numeric_limits<std::int64_t>::min(), kNow + 10),
           token_with_times(kNow, std::numeric_limits<std::int64_t>::max()),
       }) {
    const auto result = sec::verify_jwt(token, kSecret, kNow, kTtl);
    EXPECT_FALSE(result.claims.has_value()) << token;
    EXPECT_EQ(result.error, JwtError::BadLifetime) << token;
  }
  // A token signed under a longer TTL stops working when the TTL is lowered.
  EXPECT_TRUE(accepted(token_with_times(kNow, kNow + 7 * kTtl), 7 * kTtl));
  EXPECT_FALSE(accepted(token_with_times(kNow, kNow + 7 * kTtl), kTtl));
}

TEST(JwtLifetime, RejectsIatInTheFuture) {
  for (const std::int64_t ahead :
       {sec::kJwtClockSkewSeconds + 1, std::int64_t{3600}, std::int64_t{365} * 86400}) {
    const auto result =
        sec::verify_jwt(token_with_times(kNow + ahead, kNow + ahead + 60), kSecret, kNow, kTtl);
    EXPECT_FALSE(result.claims.has_value()) << ahead;
    EXPECT_EQ(result.error, JwtError::BadLifetime) << ahead;
  }
}

TEST(JwtLifetime, RejectsMissingOrNonIntegerIat) {
  expect_jwt_error(token_with_times(std::nullopt, kNow + 60), JwtError::MissingClaim);
  for (const std::string_view payload :
       {R"({"user_id":7,"role":"USER","iat":"1700000000","exp":1700003600})",
        R"({"user_id":7,"role":"USER","iat":1700000000.5,"exp":1700003600})",
        R"({"user_id":7,"role":"USER","iat":null,"exp":1700003600})",
        R"({"user_id":7,"role":"USER","iat":{},"exp":1700003600})"}) {
    expect_jwt_error(hs256_token(kHs256Header, payload, kSecret), JwtError::MissingClaim);
  }
}

TEST(Jwt, RejectsExpired) {
  auto claims = sample_claims();
  claims.exp = kNow;  // exp must be strictly in the future
  expect_jwt_error(sec::sign_jwt(claims, kSecret), JwtError::Expired);
  claims.exp = kNow - 1;
  expect_jwt_error(sec::sign_jwt(claims, kSecret), JwtError::Expired);
}

TEST(Jwt, RejectsMissingOrNonIntegerExp) {
  expect_jwt_error(hs256_token(kHs256Header, R"({"user_id":7,"role":"USER"})", kSecret),
                   JwtError::Expired);
  expect_jwt_error(
      hs256_token(kHs256Header, R"({"user_id":7,"role":"USER","exp":"1800000000"})", kSecret),
      JwtError::Expired);
}

TEST(Jwt, RejectsTamperedPayload) {
  const std::string token = sec::sign_jwt(sample_claims(), kSecret);
  const auto first = token.find('.');
  const auto second = token.find('.', first + 1);
  auto claims = sample_claims();
  claims.role = "ADMIN";
  const std::string forged_payload = sec::sign_jwt(claims, "attacker").substr(first + 1);
  const std::string forged = token.substr(0, first + 1) +
                             forged_payload.substr(0, forged_payload.find('.')) +
                             token.substr(second);
  expect_jwt_error(forged, JwtError::BadSignature);
}

TEST(Jwt, RejectsFlippedSignatureBit) {
  std::string token = sec::sign_jwt(sample_claims(), kSecret);
  token[token.size() - 3] = token[token.size() - 3] == 'A' ? 'B' : 'A';
  expect_jwt_error(token, JwtError::BadSignature);
}

TEST(Jwt, RejectsWrongKey) {
  expect_jwt_error(sec::sign_jwt(sample_claims(), "another-secret"), JwtError::BadSignature);
}

TEST(Jwt, RejectsAlgNone) {
  const std::string payload = base64url(kValidPayload);
  for (const std::string_view header :
       {R"({"alg":"none","typ":"JWT"})", R"({"alg":"None"})", R"({"alg":"NONE"})"}) {
    const std::string unsigned_token = base64url(header) + "." + payload;
    expect_jwt_error(unsigned_token + ".", JwtError::WrongAlgorithm);
    expect_jwt_error(unsigned_token, JwtError::WrongAlgorithm);
    // ...and with a valid HS256 signature attached.
    expect_jwt_error(unsigned_token + "." + base64url(sec::hmac_sha256(kSecret, unsigned_token)),
                     JwtError::WrongAlgorithm);
  }
}

TEST(Jwt, RejectsHeaderWithoutAlg) {
  expect_jwt_error(hs256_token(R"({"typ":"JWT"})", kValidPayload, kSecret),
                   JwtError::WrongAlgorithm);
  expect_jwt_error(hs256_token(R"({"alg":256})", kValidPayload, kSecret), JwtError::WrongAlgorithm);
}

TEST(Jwt, RejectsHs512AndHs384EvenWithTheRightKey) {
  const std::string hs512 = libjwt_token(JWT_ALG_HS512, kSecret);
  ASSERT_FALSE(hs512.empty());
  expect_jwt_error(hs512, JwtError::WrongAlgorithm);
  const std::string hs384 = libjwt_token(JWT_ALG_HS384, kSecret);
  ASSERT_FALSE(hs384.empty());
  expect_jwt_error(hs384, JwtError::WrongAlgorithm);
}

TEST(Jwt, RejectsGarbage) {
  const std::string header = base64url(kHs256Header);
  const std::string payload = base64url(kValidPayload);
  const std::string sig = base64url(sec::hmac_sha256(kSecret, header + "." + payload));
  const std::string deeply_nested = base64url(std::string(5000, '['));
  for (const std::string& bad : {
           std::string(),
           std::string("garbage"),
           std::string("a.b.c"),
           std::string(".."),
           std::string("..."),
           header,
           header + "." + payload,                                     // no signature segment
           header + "." + payload + ".",                               // empty signature
           header + "." + payload + "." + sig + ".x",                  // four segments
           header + "." + payload + "." + sig + "=",                   // padding
           header + "=." + payload + "." + sig,                        // padding in the header
           header + "." + payload + "." + sig.substr(0, 20),           // truncated signature
           header + ".!!!." + sig,                                     // payload not base64url
           header + "." + base64url("not json") + "." + sig,           // payload not JSON
           header + "." + base64url("[1,2]") + "." + sig,              // payload not an object
           base64url("not json") + "." + payload + "." + sig,          // header not JSON
           deeply_nested + "." + payload + "." + sig,                  // hostile nesting
           std::string(20000, 'a'),                                    // oversized
           header + "." + payload + std::string(1, '\0') + "." + sig,  // embedded NUL
       }) {
    expect_jwt_error(bad, JwtError::Malformed);
  }
}

TEST(Jwt, RejectsMissingUserId) {
  expect_jwt_error(hs256_token(kHs256Header, R"({"role":"USER","exp":1800000000})", kSecret),
                   JwtError::MissingClaim);
}

TEST(Jwt, RejectsNonIntegerUserId) {
  // libjwt's jwt_get_grant_int returns 0 without ENOENT for a string, so types are checked by us.
  for (const std::string_view payload : {R"({"user_id":"42","role":"USER","exp":1800000000})",
                                         R"({"user_id":42.5,"role":"USER","exp":1800000000})",
                                         R"({"user_id":null,"role":"USER","exp":1800000000})"}) {
    expect_jwt_error(hs256_token(kHs256Header, payload, kSecret), JwtError::MissingClaim);
  }
}

TEST(Jwt, RejectsMissingOrNonStringRole) {
  expect_jwt_error(hs256_token(kHs256Header, R"({"user_id":7,"exp":1800000000})", kSecret),
                   JwtError::MissingClaim);
  expect_jwt_error(hs256_token(kHs256Header, R"({"user_id":7,"role":1,"exp":1800000000})", kSecret),
                   JwtError::MissingClaim);
}

TEST(Jwt, EmptySecretNeverSignsOrVerifies) {
  // libjwt skips signature checks entirely when it is given no key.
  EXPECT_TRUE(sec::sign_jwt(sample_claims(), "").empty());
  const std::string none_token =
      base64url(R"({"alg":"none"})") + "." + base64url(kValidPayload) + ".";
  expect_jwt_error(none_token, JwtError::BadSignature, "");
  expect_jwt_error(hs256_token(kHs256Header, kValidPayload, ""), JwtError::BadSignature, "");
}

// ---- primitives ---------------------------------------------------------------------------------
TEST(Hmac, MatchesRfc4231TestCase2) {
  EXPECT_EQ(sec::hex_encode(sec::hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Hmac, MatchesRfc4231TestCase6WithKeyLongerThanABlock) {
  EXPECT_EQ(
      sec::hex_encode(sec::hmac_sha256(std::string(131, '\xaa'),
                                       "Test Using Larger Than Block-Size Key - Hash Key First")),
      "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(Hmac, HandlesEmptyKeyAndData) {
  EXPECT_EQ(sec::hex_encode(sec::hmac_sha256("", "")),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST(Base64, MatchesRfc4648Vectors) {
  EXPECT_EQ(sec::base64_encode(""), "");
  EXPECT_EQ(sec::base64_encode("f"), "Zg==");
  EXPECT_EQ(sec::base64_encode("fo"), "Zm8=");
  EXPECT_EQ(sec::base64_encode("foo"), "Zm9v");
  EXPECT_EQ(sec::base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(sec::base64_encode("\xfb\xff"), "+/8=");  // standard alphabet, not URL-safe
}

TEST(Base64, RoundtripsBinary) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (std::size_t len = 0; len <= all.size(); len += 37) {
    const std::string raw = all.substr(0, len);
    EXPECT_EQ(sec::base64_decode(sec::base64_encode(raw)), raw) << len;
  }
  EXPECT_EQ(sec::base64_decode(""), std::string());
}

TEST(Base64, RejectsInvalidInput) {
  for (const std::string_view bad :
       {"Zm8", "Zm8==", "Zm8=x", "Zm9v!", "Zm 9v", "Zm9v\n", "-_8=", "Zm9=", "=", "Zg"}) {
    EXPECT_EQ(sec::base64_decode(bad), std::nullopt) << bad;
  }
}

TEST(Hex, EncodesLowercase) {
  EXPECT_EQ(sec::hex_encode(""), "");
  EXPECT_EQ(sec::hex_encode(std::string("\x00\xab\xff\x10", 4)), "00abff10");
}

TEST(ConstantTimeEqual, ComparesContentAndLength) {
  EXPECT_TRUE(sec::constant_time_equal("", ""));
  EXPECT_TRUE(sec::constant_time_equal("abc", "abc"));
  EXPECT_TRUE(sec::constant_time_equal(std::string("a\0b", 3), std::string("a\0b", 3)));
  EXPECT_FALSE(sec::constant_time_equal("abc", "abd"));
  EXPECT_FALSE(sec::constant_time_equal("abc", "ab"));
  EXPECT_FALSE(sec::constant_time_equal("ab", "abc"));
  EXPECT_FALSE(sec::constant_time_equal("", "a"));
  EXPECT_FALSE(sec::constant_time_equal(std::string("a\0b", 3), std::string("a\0c", 3)));
}

TEST(Random, BytesHaveRequestedLengthAndDiffer) {
  EXPECT_TRUE(sec::random_bytes(0).empty());
  const std::string a = sec::random_bytes(32);
  const std::string b = sec::random_bytes(32);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
}

TEST(Random, StringUsesOnlyTheAlphabet) {
  constexpr std::string_view kAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  const std::string s = sec::random_string(4000, kAlphabet);
  ASSERT_EQ(s.size(), 4000u);
  for (const char c : s) EXPECT_NE(kAlphabet.find(c), std::string_view::npos) << c;
  // With 4000 draws from 32 symbols every symbol shows up (the chance one is absent is ~1e-53).
  for (const char c : kAlphabet) EXPECT_NE(s.find(c), std::string::npos) << c;
  EXPECT_NE(sec::random_string(16, kAlphabet), sec::random_string(16, kAlphabet));
}

TEST(Random, StringEdgeCases) {
  EXPECT_EQ(sec::random_string(0, "abc"), "");
  EXPECT_EQ(sec::random_string(5, "x"), "xxxxx");
  EXPECT_EQ(sec::random_string(5, ""), "");
}
