#include "services/auth/model.hpp"

#include "core/errors.hpp"
#include "core/validate.hpp"

namespace cj::auth {
namespace {

Status check_name(const std::string& name) {
  const auto len = validate::utf8_length(name);
  if (!len)
    return errors::invalid_field("name", "올바른 UTF-8 문자열이 아닙니다.", "invalid UTF-8");
  if (*len > 50) {
    return errors::invalid_field("name", "이름은 50자 이하여야 합니다.",
                                 "must be at most 50 characters");
  }
  return ok_status();
}

Status check_phone(const std::string& phone) {
  if (!validate::is_phone(phone)) {
    return errors::invalid_field("phone", "올바른 전화번호 형식이 아닙니다.",
                                 "must be a phone number of 7 to 20 digits, spaces, +, -, ( )");
  }
  return ok_status();
}

nlohmann::json nullable(const std::optional<std::string>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

}  // namespace

Result<NewUser> parse_signup(const nlohmann::json& body) {
  NewUser u;
  // Checked in the contract's order so the first missing field is the one reported.
  for (const auto& [field, target] :
       {std::pair{"name", &u.name}, std::pair{"email", &u.email},
        std::pair{"password", &u.password}, std::pair{"phone", &u.phone},
        std::pair{"birthDate", &u.birth_date}}) {
    auto v = validate::required_string(body, field);
    if (!v) return v.error();
    *target = std::move(*v);
  }
  // The password is taken as sent (spaces are allowed in passwords), not trimmed.
  u.password = body["password"].get<std::string>();
  if (auto st = check_name(u.name); !st) return st.error();
  u.email = validate::lowercase_ascii(u.email);
  if (!validate::is_email(u.email)) {
    return errors::invalid_field("email", "올바른 이메일 형식이 아닙니다.",
                                 "must be a valid email address");
  }
  // Characters, not bytes: seven Hangul syllables are 21 bytes but still a short password.
  if (validate::utf8_length(u.password).value_or(0) < kMinPasswordLength) {
    return errors::weak_password();
  }
  if (u.password.size() > kMaxPasswordBytes) {
    return errors::invalid_field("password", "비밀번호가 너무 깁니다.", "is too long");
  }
  if (auto st = check_phone(u.phone); !st) return st.error();
  if (!validate::is_date(u.birth_date) || u.birth_date > validate::today()) {
    return errors::invalid_field("birthDate", "올바른 생년월일(YYYY-MM-DD)이 아닙니다.",
                                 "must be a real past date in YYYY-MM-DD form");
  }
  return u;
}

Result<Credentials> parse_login(const nlohmann::json& body) {
  const auto email = body.find("email");
  const auto password = body.find("password");
  if (email == body.end() || password == body.end() || !email->is_string() ||
      !password->is_string() || email->get<std::string>().empty() ||
      password->get<std::string>().empty()) {
    return errors::login_fields_required();
  }
  Credentials c{validate::lowercase_ascii(validate::trim(email->get<std::string>())),
                password->get<std::string>()};
  if (c.password.size() > kMaxPasswordBytes) return errors::invalid_credentials();
  return c;
}

Result<ProfileUpdate> parse_profile_update(const nlohmann::json& body) {
  ProfileUpdate p;
  auto name = validate::optional_string(body, "name");
  if (!name) return name.error();
  auto phone = validate::optional_string(body, "phone");
  if (!phone) return phone.error();
  if (*name) {
    std::string v = validate::trim(**name);
    if (v.empty())
      return errors::invalid_field("name", "이름을 입력해주세요.", "must not be empty");
    if (auto st = check_name(v); !st) return st.error();
    p.name = std::move(v);
  }
  if (*phone) {
    std::string v = validate::trim(**phone);
    if (auto st = check_phone(v); !st) return st.error();
    p.phone = std::move(v);
  }
  return p;
}

nlohmann::json login_user_json(const User& u) {
  return {{"id", u.id},
          {"name", u.name},
          {"email", u.email},
          {"phone", nullable(u.phone)},
          {"role", u.role}};
}

nlohmann::json profile_json(const User& u) {
  return {{"user",
           {{"user_id", u.id},
            {"name", u.name},
            {"email", u.email},
            {"phone", nullable(u.phone)},
            {"birth_date", nullable(u.birth_date)},
            {"role", u.role}}}};
}

}  // namespace cj::auth
