// Auth domain types and their JSON mapping.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/result.hpp"

namespace cj::auth {

struct NewUser {
  std::string name;
  std::string email;  // lower-cased
  std::string password;
  std::string phone;
  std::string birth_date;  // YYYY-MM-DD
};

struct User {
  long long id = 0;
  std::string name;
  std::string email;
  std::optional<std::string> phone;
  std::optional<std::string> birth_date;
  std::string role;
  std::string password_hash;
};

struct ProfileUpdate {
  std::optional<std::string> name;
  std::optional<std::string> phone;
};

struct Credentials {
  std::string email;  // lower-cased
  std::string password;
};

constexpr std::size_t kMinPasswordLength = 8;
constexpr std::size_t kMaxPasswordBytes = 1024;  // bounds the hashing cost of hostile input

Result<NewUser> parse_signup(const nlohmann::json& body);
Result<Credentials> parse_login(const nlohmann::json& body);
Result<ProfileUpdate> parse_profile_update(const nlohmann::json& body);

nlohmann::json login_user_json(const User& u);
nlohmann::json profile_json(const User& u);

}  // namespace cj::auth
