// Users in SQL. Every method is one unit of work on a pooled connection.
#pragma once

#include <optional>
#include <string>

#include "core/db.hpp"
#include "services/auth/model.hpp"

namespace cj::auth {

class AuthStore {
 public:
  explicit AuthStore(db::Db& db) : db_(db) {}

  // The new user's id; 400 email_taken when the email exists (case-insensitively).
  Result<long long> create_user(const NewUser& user, const std::string& password_hash,
                                const std::string& role = "USER");
  Result<std::optional<User>> find_by_email(const std::string& email);
  Result<std::optional<User>> find_by_id(long long id);
  // The user's current role (nullopt: no such user): the per-request identity check, so one
  // primary-key lookup of one column.
  Result<std::optional<std::string>> role_of(long long id);
  // false when the user does not exist.
  Result<bool> update_profile(long long id, const ProfileUpdate& update);
  Status set_password_hash(long long id, const std::string& password_hash);
  // Creates or updates an ADMIN account; true when it was created.
  Result<bool> upsert_admin(const std::string& email, const std::string& name,
                            const std::string& password_hash);

 private:
  db::Db& db_;
};

}  // namespace cj::auth
