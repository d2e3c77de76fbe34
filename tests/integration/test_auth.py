"""Black-box tests of the auth service (/api/auth): signup, login, throttling, legacy password
hashes, profile and tokens. Every test runs against SQLite and MariaDB; bodies are checked
exactly and the database state is checked with SQL."""
from __future__ import annotations

import concurrent.futures
import time

import pytest

import cj
from cj import assert_error, assert_json

SIGNUP = "/api/auth/signup"
LOGIN = "/api/auth/login"
PROFILE = "/api/auth/profile"
FIELDS = ["name", "email", "password", "phone", "birthDate"]


def count_users(server, email: str) -> int:
    return int(server.db_scalar("SELECT COUNT(*) AS n FROM users WHERE LOWER(email) = ?", (email.lower(),)))


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


# ============================================================================================
# signup


def test_signup_creates_user_with_argon2id_hash_and_lowercased_email(server):
    email = cj.unique_email("Mixed.Case").replace("example.com", "Example.COM")
    body = server.signup_body(email=email, name="김철수", phone="+82 (10) 1234-5678", birthDate="1988-12-31")
    r = server.post(SIGNUP, json=body)
    assert assert_json(r, 201) == {"message": cj.MSG_SIGNUP_OK, "success": True}

    rows = server.db_query("SELECT * FROM users WHERE LOWER(email) = ?", (email.lower(),))
    assert len(rows) == 1
    row = rows[0]
    assert row["email"] == email.lower()
    assert row["name"] == "김철수"
    assert row["phone"] == "+82 (10) 1234-5678"
    assert cj.as_date_text(row["birth_date"]) == "1988-12-31"
    assert row["role"] == "USER"
    assert row["password_hash"].startswith("$argon2id$")
    assert body["password"] not in row["password_hash"]


def test_signup_accepts_fifty_korean_characters_as_name(server):
    name = "가" * 50  # 50 characters, 150 bytes in UTF-8
    email = cj.unique_email()
    r = server.signup(email=email, name=name)
    assert_json(r, 201)
    assert server.user_row(email)["name"] == name


def test_signup_accepts_leap_day_birth_date(server):
    email = cj.unique_email()
    assert_json(server.signup(email=email, birthDate="2000-02-29"), 201)
    assert cj.as_date_text(server.user_row(email)["birth_date"]) == "2000-02-29"


def test_signup_accepts_password_of_exactly_eight_characters(server):
    email = cj.unique_email()
    assert_json(server.signup(email=email, password="abcdefgh"), 201)
    assert server.login(email, "abcdefgh")


@pytest.mark.parametrize("field", FIELDS)
def test_signup_missing_field_is_400_naming_the_field(server, field):
    body = server.signup_body()
    del body[field]
    r = server.post(SIGNUP, json=body)
    assert_error(r, 400, "missing_field", cj.missing_field_message(field))
    if field != "email":
        assert count_users(server, body["email"]) == 0


@pytest.mark.parametrize("field", FIELDS)
def test_signup_empty_field_is_400_naming_the_field(server, field):
    body = server.signup_body(**{field: ""})
    r = server.post(SIGNUP, json=body)
    assert_error(r, 400, "missing_field", cj.missing_field_message(field))
    if field != "email":
        assert count_users(server, body["email"]) == 0


@pytest.mark.parametrize("present, expected", [
    ([], "name"),
    (["name"], "email"),
    (["name", "phone", "birthDate"], "email"),
    (["name", "email"], "password"),
    (["name", "email", "password", "birthDate"], "phone"),
    (["name", "email", "password", "phone"], "birthDate"),
])
def test_signup_reports_first_missing_field_in_contract_order(server, present, expected):
    full = server.signup_body()
    body = {k: full[k] for k in present}
    assert_error(server.post(SIGNUP, json=body), 400, "missing_field", cj.missing_field_message(expected))
    assert count_users(server, full["email"]) == 0


@pytest.mark.parametrize("field, value", [
    ("name", 123),
    ("name", ["홍길동"]),
    ("email", 42),
    ("email", {"a": 1}),
    ("password", 12345678),
    ("phone", 1012345678),
    ("birthDate", 19900101),
])
def test_signup_wrong_type_is_400_invalid_field(server, field, value):
    body = server.signup_body(**{field: value})
    assert_error(server.post(SIGNUP, json=body), 400, "invalid_field")
    if field != "email":
        assert count_users(server, body["email"]) == 0


@pytest.mark.parametrize("email", ["not-an-email", "user@", "@example.com", "a b@example.com",
                                   "user@@example.com", "user@exa mple.com"])
def test_signup_malformed_email_is_400_invalid_field(server, email):
    assert_error(server.signup(email=email), 400, "invalid_field")
    assert count_users(server, email) == 0


@pytest.mark.parametrize("name", ["a" * 51, "가" * 51])
def test_signup_name_longer_than_50_characters_is_400_invalid_field(server, name):
    body = server.signup_body(name=name)
    assert_error(server.post(SIGNUP, json=body), 400, "invalid_field")
    assert count_users(server, body["email"]) == 0


@pytest.mark.parametrize("phone", ["abc-defg-hij", "123456", "0" * 21, "010-1234-5678#", "010.1234.5678"])
def test_signup_malformed_phone_is_400_invalid_field(server, phone):
    body = server.signup_body(phone=phone)
    assert_error(server.post(SIGNUP, json=body), 400, "invalid_field")
    assert count_users(server, body["email"]) == 0


@pytest.mark.parametrize("birth", ["1990-02-30", "1990-13-01", "1990-00-10", "2001-02-29", "19900101",
                                   "1990/01/01", "90-01-01", "2999-01-01"])
def test_signup_invalid_or_future_birth_date_is_400_invalid_field(server, birth):
    body = server.signup_body(birthDate=birth)
    assert_error(server.post(SIGNUP, json=body), 400, "invalid_field")
    assert count_users(server, body["email"]) == 0


def test_signup_birth_date_in_the_near_future_is_rejected(server):
    # two days ahead, so that no time zone can make it today
    soon = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 2 * 86400))
    body = server.signup_body(birthDate=soon)
    assert_error(server.post(SIGNUP, json=body), 400, "invalid_field")
    assert count_users(server, body["email"]) == 0


@pytest.mark.parametrize("password", ["short7!", "1234567", "가나다라마바사"])
def test_signup_password_shorter_than_8_characters_is_400_weak_password(server, password):
    # "가나다라마바사" is 7 characters but 21 bytes: length is counted in characters
    body = server.signup_body(password=password)
    assert_error(server.post(SIGNUP, json=body), 400, "weak_password")
    assert count_users(server, body["email"]) == 0


def test_signup_duplicate_email_is_400_email_taken_case_insensitively(server):
    email = cj.unique_email("dup")
    assert_json(server.signup(email=email), 201)
    hash_before = server.user_row(email)["password_hash"]
    for variant in (email, email.upper(), email[0].upper() + email[1:]):
        r = server.signup(email=variant, password="another-password-1")
        assert_error(r, 400, "email_taken", cj.MSG_EMAIL_TAKEN)
    assert count_users(server, email) == 1
    assert server.user_row(email)["password_hash"] == hash_before


def test_concurrent_signups_with_same_email_create_exactly_one_user(server):
    email = cj.unique_email("race")
    variants = [email if i % 2 == 0 else email.upper() for i in range(8)]

    def attempt(e):
        # a separate connection per request (requests.Session is not thread safe)
        return cj.one_shot("POST", server.url(SIGNUP), json=server.signup_body(email=e), timeout=30)

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(attempt, variants))
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(201) == 1, [(r.status_code, r.text) for r in responses]
    for r in responses:
        if r.status_code != 201:
            assert_error(r, 400, "email_taken", cj.MSG_EMAIL_TAKEN)
    assert count_users(server, email) == 1


def test_signup_messages_are_english_with_accept_language_en(server):
    body = server.signup_body()
    del body["email"]
    r = server.post(SIGNUP, json=body, headers={"Accept-Language": "en"})
    err = assert_error(r, 400, "missing_field")
    assert not cj.has_hangul(err["message"]), err
    assert "email" in err["message"], err


# ============================================================================================
# login


def test_login_returns_token_and_user(server):
    user_body = server.signup_body(name="이영희", phone="010-9876-5432")
    assert_json(server.post(SIGNUP, json=user_body), 201)
    user_id = int(server.db_scalar("SELECT user_id FROM users WHERE email = ?", (user_body["email"],)))

    before = int(time.time())
    r = server.login_response(user_body["email"], user_body["password"])
    after = int(time.time())
    body = assert_json(r, 200)
    assert set(body) == {"message", "token", "user"}, body
    assert body["message"] == cj.MSG_LOGIN_OK
    user = body["user"]
    assert {k: user.get(k) for k in ("id", "name", "email", "phone", "role")} == {
        "id": user_id, "name": "이영희", "email": user_body["email"], "phone": "010-9876-5432", "role": "USER"}
    assert "password_hash" not in user and "password" not in user

    token = body["token"]
    header, payload = cj.jwt_parts(token)
    assert header["alg"] == "HS256"
    assert payload["user_id"] == user_id and isinstance(payload["user_id"], int)
    assert payload["role"] == "USER"
    assert isinstance(payload["iat"], int) and isinstance(payload["exp"], int)
    assert before - 5 <= payload["iat"] <= after + 5
    assert payload["exp"] == payload["iat"] + 86400
    assert cj.jwt_signature_valid(token, server.secret_key)

    r = server.get(PROFILE, headers=bearer(token))
    assert assert_json(r, 200)["user"]["user_id"] == user_id


def test_login_matches_email_case_insensitively(server):
    user = server.make_user()
    for variant in (user.email.upper(), user.email.capitalize()):
        body = assert_json(server.login_response(variant, user.password), 200)
        assert body["user"]["id"] == user.user_id
        assert body["user"]["email"] == user.email


@pytest.mark.parametrize("body", [
    {},
    {"email": "someone@example.com"},
    {"password": "whatever-123"},
    {"email": "", "password": "whatever-123"},
    {"email": "someone@example.com", "password": ""},
])
def test_login_missing_field_is_400(server, body):
    assert_error(server.post(LOGIN, json=body), 400, "missing_field", cj.MSG_LOGIN_MISSING)


def test_login_wrong_typed_field_is_400_not_500(server):
    r = server.post(LOGIN, json={"email": 123, "password": ["x"]})
    body = assert_json(r, 400)
    assert body["error"] in ("missing_field", "invalid_field"), body


def test_login_unknown_email_and_wrong_password_give_identical_401(server):
    user = server.make_user()
    r1 = server.login_response(cj.unique_email("nobody"), "some-password-1")
    r2 = server.login_response(user.email, "wrong-password-1")
    b1 = assert_error(r1, 401, "invalid_credentials", cj.MSG_BAD_CREDENTIALS)
    b2 = assert_error(r2, 401, "invalid_credentials", cj.MSG_BAD_CREDENTIALS)
    assert b1 == b2
    assert "WWW-Authenticate" not in r1.headers or r1.headers.get("WWW-Authenticate") == r2.headers.get(
        "WWW-Authenticate")


def test_admin_account_exists_with_argon2id_hash_and_logs_in(server):
    rows = server.db_query("SELECT * FROM users WHERE email = ?", (cj.ADMIN_EMAIL,))
    assert len(rows) == 1
    admin = rows[0]
    assert admin["role"] == "ADMIN"
    assert admin["password_hash"].startswith("$argon2id$")
    assert server.admin_password not in admin["password_hash"]
    assert admin["password_hash"] != "admin123"

    body = assert_json(server.login_response(cj.ADMIN_EMAIL, server.admin_password), 200)
    assert body["user"]["role"] == "ADMIN"
    assert cj.jwt_parts(body["token"])[1]["role"] == "ADMIN"
    # the original's seeded plain-text password does not work
    assert_error(server.login_response(cj.ADMIN_EMAIL, "admin123"), 401, "invalid_credentials")


# ============================================================================================
# legacy password hashes


@pytest.mark.parametrize("kind", ["pbkdf2-600000", "pbkdf2-260000", "scrypt"])
def test_legacy_werkzeug_hash_verifies_and_is_rehashed_to_argon2id(server, kind):
    password = "legacy-pass-123"
    if kind == "scrypt":
        legacy = cj.werkzeug_scrypt(password)
    else:
        legacy = cj.werkzeug_pbkdf2(password, iterations=int(kind.split("-")[1]))
    email = cj.unique_email(f"legacy-{kind}")
    user_id = server.insert_user(email, legacy)

    assert_error(server.login_response(email, "not-the-password"), 401, "invalid_credentials",
                 cj.MSG_BAD_CREDENTIALS)
    assert server.user_row(email)["password_hash"] == legacy  # a failed login changes nothing

    body = assert_json(server.login_response(email, password), 200)
    assert body["user"]["id"] == user_id
    new_hash = server.user_row(email)["password_hash"]
    assert new_hash.startswith("$argon2id$"), new_hash
    assert password not in new_hash

    # the re-hashed account still works, and only with the right password
    assert server.login(email, password)
    assert_error(server.login_response(email, "not-the-password"), 401, "invalid_credentials")


def test_plain_text_password_column_never_logs_in(server):
    email = cj.unique_email("plain")
    server.insert_user(email, "plaintext-secret")
    assert_error(server.login_response(email, "plaintext-secret"), 401, "invalid_credentials",
                 cj.MSG_BAD_CREDENTIALS)
    assert server.user_row(email)["password_hash"] == "plaintext-secret"


def test_tampered_legacy_hash_does_not_log_in(server):
    password = "legacy-pass-123"
    legacy = cj.werkzeug_pbkdf2(password)
    tampered = legacy[:-1] + ("0" if legacy[-1] != "0" else "1")
    email = cj.unique_email("tampered")
    server.insert_user(email, tampered)
    assert_error(server.login_response(email, password), 401, "invalid_credentials")
    assert server.user_row(email)["password_hash"] == tampered


# ============================================================================================
# throttling


def test_login_locks_email_after_max_failures_with_retry_after(server_factory):
    srv = server_factory(extra_env={"LOGIN_MAX_FAILURES_PER_EMAIL": "3", "LOGIN_LOCKOUT_SECONDS": "60",
                                    "LOGIN_MAX_FAILURES_PER_CLIENT": "1000"})
    user = srv.make_user()
    other = srv.make_user()
    for _ in range(3):
        assert_error(srv.login_response(user.email, "wrong-password-1"), 401, "invalid_credentials")
    # locked now, even with the right password, and whatever the case of the address
    for email in (user.email, user.email.upper()):
        r = srv.login_response(email, user.password)
        assert_error(r, 429, "too_many_attempts")
        retry = r.headers.get("Retry-After")
        assert retry is not None and retry.isdigit(), r.headers
        assert 1 <= int(retry) <= 60
    # other accounts are not affected
    assert srv.login(other.email, other.password)


def test_successful_login_resets_the_email_failure_counter(server_factory):
    srv = server_factory(extra_env={"LOGIN_MAX_FAILURES_PER_EMAIL": "3", "LOGIN_LOCKOUT_SECONDS": "60",
                                    "LOGIN_MAX_FAILURES_PER_CLIENT": "1000"})
    user = srv.make_user()
    for _ in range(2):
        assert_error(srv.login_response(user.email, "wrong-password-1"), 401, "invalid_credentials")
    assert srv.login(user.email, user.password)
    for _ in range(2):
        assert_error(srv.login_response(user.email, "wrong-password-1"), 401, "invalid_credentials")
    assert srv.login(user.email, user.password)


def test_email_lockout_expires_after_lockout_seconds(server_factory):
    lockout = 2
    srv = server_factory(extra_env={"LOGIN_MAX_FAILURES_PER_EMAIL": "2", "LOGIN_LOCKOUT_SECONDS": str(lockout),
                                    "LOGIN_MAX_FAILURES_PER_CLIENT": "1000"})
    user = srv.make_user()
    for _ in range(2):
        assert_error(srv.login_response(user.email, "wrong-password-1"), 401, "invalid_credentials")
    locked_at = time.monotonic()
    r = srv.login_response(user.email, user.password)
    assert_error(r, 429, "too_many_attempts")
    assert 1 <= int(r.headers["Retry-After"]) <= lockout
    time.sleep(max(0.0, locked_at + lockout + 0.2 - time.monotonic()))
    cj.wait_until(lambda: srv.login_response(user.email, user.password).status_code == 200,
                  timeout=lockout + 3, interval=0.5, what="the lockout to expire")


def test_login_locks_client_after_max_failures_across_emails(server_factory):
    srv = server_factory(extra_env={"LOGIN_MAX_FAILURES_PER_CLIENT": "3", "LOGIN_MAX_FAILURES_PER_EMAIL": "100",
                                    "LOGIN_LOCKOUT_SECONDS": "60"})
    user = srv.make_user()  # signup + one successful login, before any failure
    for _ in range(3):
        assert_error(srv.login_response(cj.unique_email("ghost"), "wrong-password-1"), 401,
                     "invalid_credentials")
    r = srv.login_response(user.email, user.password)
    assert_error(r, 429, "too_many_attempts")
    retry = r.headers.get("Retry-After")
    assert retry is not None and retry.isdigit() and 1 <= int(retry) <= 60, r.headers


def test_login_failures_are_shared_between_servers_through_redis(make_server, backend, redis_server):
    redis_server.command("FLUSHALL")
    env = {"LOGIN_MAX_FAILURES_PER_EMAIL": "3", "LOGIN_LOCKOUT_SECONDS": "60",
           "LOGIN_MAX_FAILURES_PER_CLIENT": "1000"}
    a = make_server(backend, redis=redis_server, extra_env=env)
    b = make_server(backend, redis=redis_server, extra_env=env)
    body = a.signup_body()
    for srv in (a, b):  # the same account on both (separate databases)
        assert_json(srv.post(SIGNUP, json=body), 201)
    assert b.login(body["email"], body["password"])

    for _ in range(3):
        assert_error(a.login_response(body["email"], "wrong-password-1"), 401, "invalid_credentials")
    r = b.login_response(body["email"], body["password"])
    assert_error(r, 429, "too_many_attempts")
    assert r.headers.get("Retry-After", "").isdigit(), r.headers
    assert redis_server.command("DBSIZE") > 0


# ============================================================================================
# profile and tokens


def test_profile_returns_the_user(server):
    user = server.make_user(name="박민수", phone="010-5555-6666", birthDate="1995-07-15")
    body = assert_json(server.get(PROFILE, headers=user.auth), 200)
    assert set(body) == {"user"}
    got = body["user"]
    assert {k: got.get(k) for k in ("user_id", "name", "email", "phone", "birth_date", "role")} == {
        "user_id": user.user_id, "name": "박민수", "email": user.email, "phone": "010-5555-6666",
        "birth_date": "1995-07-15", "role": "USER"}
    assert "password_hash" not in got and "password" not in got


def test_profile_without_token_is_401_token_missing(server):
    assert_error(server.get(PROFILE), 401, "token_missing", cj.MSG_TOKEN_MISSING)
    assert_error(server.put(PROFILE, json={"name": "x"}), 401, "token_missing", cj.MSG_TOKEN_MISSING)


def test_profile_with_expired_token_is_401_token_expired(server):
    user = server.make_user()
    iat = int(time.time()) - 2 * 86400
    token = cj.make_jwt(cj.claims(user.user_id, iat=iat), server.secret_key)
    assert_error(server.get(PROFILE, headers=bearer(token)), 401, "token_expired", cj.MSG_TOKEN_EXPIRED)


def test_profile_accepts_a_token_we_sign_with_the_server_key(server):
    # proves the forged-token tests below fail for the reason they claim
    user = server.make_user()
    token = cj.make_jwt(cj.claims(user.user_id), server.secret_key)
    assert assert_json(server.get(PROFILE, headers=bearer(token)), 200)["user"]["user_id"] == user.user_id


def _bad_tokens(server, user_id: int, good: str) -> dict[str, str]:
    head, payload, sig = good.split(".")
    forged_payload = cj.b64url_encode(
        ('{"user_id":%d,"role":"ADMIN","iat":%d,"exp":%d}' % (user_id, time.time(), time.time() + 3600)).encode())
    flipped = sig[:-2] + ("AA" if sig[-2:] != "AA" else "BB")
    return {
        "garbage": "garbage",
        "three-garbage-parts": "abc.def.ghi",
        "empty-signature": f"{head}.{payload}.",
        "tampered-payload": f"{head}.{forged_payload}.{sig}",
        "tampered-signature": f"{head}.{payload}.{flipped}",
        "alg-none": cj.make_jwt(cj.claims(user_id), "", alg="none"),
        "alg-none-uppercase": cj.make_jwt(cj.claims(user_id), "", alg="none",
                                          header={"alg": "None", "typ": "JWT"}),
        "hs512-with-server-key": cj.make_jwt(cj.claims(user_id), server.secret_key, alg="HS512"),
        "other-key": cj.make_jwt(cj.claims(user_id), "not-the-server-key-" + "x" * 20),
        "missing-user-id": cj.make_jwt({"role": "USER", "iat": int(time.time()), "exp": int(time.time()) + 600},
                                       server.secret_key),
        "string-user-id": cj.make_jwt({"user_id": str(user_id), "role": "USER", "iat": int(time.time()),
                                       "exp": int(time.time()) + 600}, server.secret_key),
    }


BAD_TOKEN_KINDS = ["garbage", "three-garbage-parts", "empty-signature", "tampered-payload",
                   "tampered-signature", "alg-none", "alg-none-uppercase", "hs512-with-server-key",
                   "other-key", "missing-user-id", "string-user-id"]


@pytest.fixture(scope="module")
def token_user(server):
    return server.make_user()


@pytest.mark.parametrize("kind", BAD_TOKEN_KINDS)
def test_profile_with_invalid_token_is_401_invalid_token(server, token_user, kind):
    token = _bad_tokens(server, token_user.user_id, token_user.token)[kind]
    r = server.get(PROFILE, headers=bearer(token))
    assert_error(r, 401, "invalid_token", cj.MSG_TOKEN_INVALID)
    r = server.put(PROFILE, headers=bearer(token), json={"name": "해커"})
    assert_error(r, 401, "invalid_token", cj.MSG_TOKEN_INVALID)
    assert server.user_row(token_user.email)["name"] == token_user.name


def test_profile_of_deleted_user_is_401_invalid_token(server):
    # issue 10: a token whose user no longer exists identifies nobody, on every endpoint (the
    # original answered 404 here; 401 makes the front end log the stale session out)
    user = server.make_user()
    server.db_query("DELETE FROM users WHERE user_id = ?", (user.user_id,))
    assert_error(server.get(PROFILE, headers=user.auth), 401, "invalid_token", cj.MSG_TOKEN_INVALID)
    ghost = cj.make_jwt(cj.claims(2_000_000_000), server.secret_key)
    assert_error(server.get(PROFILE, headers=bearer(ghost)), 401, "invalid_token", cj.MSG_TOKEN_INVALID)
    r = server.put(PROFILE, headers=bearer(ghost), json={"name": "유령"})
    assert_error(r, 401, "invalid_token", cj.MSG_TOKEN_INVALID)


def _profile_row(server, user) -> dict:
    row = server.db_query("SELECT name, phone, email, birth_date, role, password_hash FROM users WHERE user_id = ?",
                          (user.user_id,))[0]
    row["birth_date"] = cj.as_date_text(row["birth_date"])
    return row


def test_update_profile_name_only_keeps_phone(server):
    user = server.make_user(name="원래이름", phone="010-1111-2222")
    before = _profile_row(server, user)
    r = server.put(PROFILE, headers=user.auth, json={"name": "새이름"})
    assert assert_json(r, 200) == {"message": cj.MSG_PROFILE_UPDATED, "success": True}
    after = _profile_row(server, user)
    assert after == {**before, "name": "새이름"}
    assert assert_json(server.get(PROFILE, headers=user.auth), 200)["user"]["name"] == "새이름"


def test_update_profile_phone_only_keeps_name(server):
    user = server.make_user(name="이름유지", phone="010-1111-2222")
    before = _profile_row(server, user)
    r = server.put(PROFILE, headers=user.auth, json={"phone": "+82 10-3333-4444"})
    assert assert_json(r, 200) == {"message": cj.MSG_PROFILE_UPDATED, "success": True}
    assert _profile_row(server, user) == {**before, "phone": "+82 10-3333-4444"}


def test_update_profile_both_fields(server):
    user = server.make_user()
    before = _profile_row(server, user)
    r = server.put(PROFILE, headers=user.auth, json={"name": "둘다변경", "phone": "02-123-4567"})
    assert_json(r, 200)
    assert _profile_row(server, user) == {**before, "name": "둘다변경", "phone": "02-123-4567"}


def test_update_profile_with_empty_object_changes_nothing(server):
    user = server.make_user()
    before = _profile_row(server, user)
    r = server.put(PROFILE, headers=user.auth, json={})
    assert assert_json(r, 200) == {"message": cj.MSG_PROFILE_UPDATED, "success": True}
    assert _profile_row(server, user) == before


def test_update_profile_ignores_fields_it_does_not_own(server):
    user = server.make_user()
    before = _profile_row(server, user)
    r = server.put(PROFILE, headers=user.auth,
                   json={"role": "ADMIN", "email": "evil@example.com", "password_hash": "x", "user_id": 1})
    assert r.status_code in (200, 400), r.text
    assert _profile_row(server, user) == before


@pytest.mark.parametrize("body", [
    {"name": "a" * 51},
    {"name": 123},
    {"name": "괜찮은이름", "phone": "not a phone"},
    {"phone": "12"},
    {"phone": 1012345678},
])
def test_update_profile_with_invalid_field_is_400_and_changes_nothing(server, body):
    user = server.make_user()
    before = _profile_row(server, user)
    assert_error(server.put(PROFILE, headers=user.auth, json=body), 400, "invalid_field")
    assert _profile_row(server, user) == before


@pytest.mark.parametrize("raw", [b"[1, 2]", b'"name"', b"42", b"null", b'{"name": "x"'])
def test_update_profile_with_non_object_or_malformed_json_is_400_invalid_json(server, raw):
    user = server.make_user()
    before = _profile_row(server, user)
    r = server.put(PROFILE, headers={**user.auth, "Content-Type": "application/json"}, data=raw)
    assert_error(r, 400, "invalid_json")
    assert _profile_row(server, user) == before
