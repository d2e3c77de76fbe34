#include "services/auth/store.hpp"

#include "core/clock.hpp"
#include "core/errors.hpp"

namespace cj::auth {
namespace {

constexpr const char* kInsertUser =
    "INSERT INTO users (name, email, password_hash, phone, birth_date, role) "
    "VALUES (:name, :email, :hash, :phone, :birth, :role)";
// Case-insensitive through the column's collation (NOCASE on SQLite, *_ci on MySQL), which keeps
// the unique index usable and rows the original wrote with mixed-case emails reachable.
constexpr const char* kSelectByEmail =
    "SELECT user_id, name, email, phone, birth_date, role, password_hash FROM users "
    "WHERE email = :email";
constexpr const char* kSelectById =
    "SELECT user_id, name, email, phone, birth_date, role, password_hash FROM users "
    "WHERE user_id = :id";
constexpr const char* kRoleOf = "SELECT role FROM users WHERE user_id = :id";
constexpr const char* kUpdateName = "UPDATE users SET name = :name WHERE user_id = :id";
constexpr const char* kUpdatePhone = "UPDATE users SET phone = :phone WHERE user_id = :id";
// Written by us on both dialects (MySQL's ON UPDATE would use the database's clock).
constexpr const char* kTouch = "UPDATE users SET updated_at = :now WHERE user_id = :id";
constexpr const char* kUserExists = "SELECT COUNT(*) FROM users WHERE user_id = :id";
constexpr const char* kUpdateHash = "UPDATE users SET password_hash = :hash WHERE user_id = :id";
constexpr const char* kPromoteAdmin =
    "UPDATE users SET password_hash = :hash, role = 'ADMIN' WHERE user_id = :id";

std::optional<User> fetch_user(soci::session& s, const char* sql, const auto& key) {
  User u;
  soci::indicator phone_ind = soci::i_ok;
  soci::indicator birth_ind = soci::i_ok;
  std::string phone;
  std::string birth;
  s << sql, soci::into(u.id), soci::into(u.name), soci::into(u.email), soci::into(phone, phone_ind),
      soci::into(birth, birth_ind), soci::into(u.role), soci::into(u.password_hash), soci::use(key);
  if (!s.got_data()) return std::nullopt;
  if (phone_ind == soci::i_ok) u.phone = phone;
  if (birth_ind == soci::i_ok) u.birth_date = birth.substr(0, 10);
  return u;
}

}  // namespace

Result<long long> AuthStore::create_user(const NewUser& user, const std::string& password_hash,
                                         const std::string& role) {
  return db_.write("auth.create_user", [&](soci::session& s) -> Result<long long> {
    try {
      s << kInsertUser, soci::use(user.name), soci::use(user.email), soci::use(password_hash),
          soci::use(user.phone), soci::use(user.birth_date), soci::use(role);
    } catch (const soci::soci_error& e) {
      if (db::is_unique_violation(e)) return errors::email_taken();
      throw;
    }
    long long id = 0;
    s.get_last_insert_id("users", id);
    return id;
  });
}

Result<std::optional<User>> AuthStore::find_by_email(const std::string& email) {
  return db_.run("auth.find_by_email",
                 [&](soci::session& s) { return fetch_user(s, kSelectByEmail, email); });
}

Result<std::optional<User>> AuthStore::find_by_id(long long id) {
  return db_.run("auth.find_by_id",
                 [&](soci::session& s) { return fetch_user(s, kSelectById, id); });
}

Result<std::optional<std::string>> AuthStore::role_of(long long id) {
  return db_.run("auth.role_of", [&](soci::session& s) -> std::optional<std::string> {
    std::string role;
    s << kRoleOf, soci::into(role), soci::use(id);
    if (!s.got_data()) return std::nullopt;
    return role;
  });
}

Result<bool> AuthStore::update_profile(long long id, const ProfileUpdate& update) {
  return db_.transaction("auth.update_profile", [&](soci::session& s) -> Result<bool> {
    long long count = 0;
    s << kUserExists, soci::into(count), soci::use(id);
    if (count == 0) return false;
    if (update.name) s << kUpdateName, soci::use(*update.name), soci::use(id);
    if (update.phone) s << kUpdatePhone, soci::use(*update.phone), soci::use(id);
    if (update.name || update.phone) {
      const std::string now = clock::db_now();
      s << kTouch, soci::use(now), soci::use(id);
    }
    return true;
  });
}

Status AuthStore::set_password_hash(long long id, const std::string& password_hash) {
  return db_.write("auth.set_password_hash", [&](soci::session& s) {
    s << kUpdateHash, soci::use(password_hash), soci::use(id);
    return Unit{};
  });
}

Result<bool> AuthStore::upsert_admin(const std::string& email, const std::string& name,
                                     const std::string& password_hash) {
  return db_.transaction("auth.upsert_admin", [&](soci::session& s) -> Result<bool> {
    auto existing = fetch_user(s, kSelectByEmail, email);
    if (existing) {
      s << kPromoteAdmin, soci::use(password_hash), soci::use(existing->id);
      return false;
    }
    const std::string role = "ADMIN";
    const std::string phone = "010-0000-0000";
    const std::string birth = "1990-01-01";
    try {
      s << kInsertUser, soci::use(name), soci::use(email), soci::use(password_hash),
          soci::use(phone), soci::use(birth), soci::use(role);
      return true;
    } catch (const soci::soci_error& e) {
      if (!db::is_unique_violation(e)) throw;
    }
    // Another process inserted it after our read (replicas starting together on a fresh MySQL
    // database; the failed insert left this transaction open): update that row instead.
    existing = fetch_user(s, kSelectByEmail, email);
    if (!existing) return db::internal_error();
    s << kPromoteAdmin, soci::use(password_hash), soci::use(existing->id);
    return false;
  });
}

}  // namespace cj::auth
