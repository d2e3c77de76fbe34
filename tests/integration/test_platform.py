"""Black-box tests of what every service shares: health, readiness, metrics, JSON errors, limits,
request ids, languages, seeding, restart and shutdown, MariaDB outages and adopting a database
created by the original Python implementation."""
from __future__ import annotations

import concurrent.futures
import datetime as dt
import json
import socket
import secrets
import time

import pytest
import requests

import cj
from cj import assert_error, assert_json
from conftest import MODULE_SERVER_ENV

SIGNUP = "/api/auth/signup"
LOGIN = "/api/auth/login"
PROFILE = "/api/auth/profile"
MiB = 1 << 20


def count_users(server, email: str) -> int:
    return int(server.db_scalar("SELECT COUNT(*) AS n FROM users WHERE LOWER(email) = ?", (email.lower(),)))


# ============================================================================================
# health, readiness, metrics


@pytest.mark.parametrize("svc, port", [("auth", 5001), ("flights", 5002), ("bookings", 5003),
                                       ("admin", 5004), ("payments", 5005)])
def test_every_service_answers_health_with_its_configured_port(server, svc, port):
    name = {"flights": "flight", "bookings": "booking", "payments": "payment"}.get(svc, svc)
    body = assert_json(server.get(f"/api/{svc}/health"), 200)
    assert body == {"status": "healthy", "service": f"{name}-service", "port": port}


def test_ready_is_200_when_the_database_answers(server):
    assert assert_json(server.get("/ready"), 200) == {"status": "ready"}


def _requests_total(server, **want) -> float:
    r = server.get("/metrics")
    assert r.status_code == 200, r.text[:300]
    total = 0.0
    for name, labels, value in cj.parse_metrics(r.text):
        if name == "cloudjet_http_requests_total" and all(labels.get(k) == v for k, v in want.items()):
            total += value
    return total


def test_metrics_count_requests_by_route_template_method_and_status(server):
    before = _requests_total(server, route="/api/auth/login", method="POST", status="400")
    assert_error(server.post(LOGIN, json={}), 400, "missing_field")
    after = _requests_total(server, route="/api/auth/login", method="POST", status="400")
    assert after == before + 1

    r = server.get("/metrics")
    assert r.headers.get("Content-Type", "").startswith("text/plain"), r.headers
    samples = [s for s in cj.parse_metrics(r.text) if s[0] == "cloudjet_http_requests_total"
               and s[1].get("route") == "/api/auth/login"]
    assert samples, r.text[:2000]
    for _name, labels, _value in samples:
        assert {"service", "route", "method", "status"} <= set(labels), labels
        assert labels["service"], labels


def test_metrics_expose_latency_histogram_in_flight_and_db_pool_gauges(server):
    assert_json(server.get("/api/auth/health"), 200)
    text = server.get("/metrics").text
    names = {name for name, _labels, _value in cj.parse_metrics(text)}
    for required in ("cloudjet_http_request_duration_seconds_bucket",
                     "cloudjet_http_request_duration_seconds_sum",
                     "cloudjet_http_request_duration_seconds_count",
                     "cloudjet_http_requests_in_flight",
                     "cloudjet_db_pool_in_use"):
        assert required in names, f"{required} missing from /metrics:\n{text[:3000]}"
    buckets = [labels for name, labels, _v in cj.parse_metrics(text)
               if name == "cloudjet_http_request_duration_seconds_bucket"]
    assert any(b.get("le") == "+Inf" for b in buckets)
    assert "# TYPE cloudjet_http_request_duration_seconds histogram" in text


def test_metrics_never_use_a_raw_unknown_path_as_a_label(server):
    marker = secrets.token_hex(6)
    assert_error(server.get(f"/api/no-such-thing-{marker}"), 404, "not_found")
    assert_error(server.get(f"/api/auth/{marker}"), 404, "not_found")
    text = server.get("/metrics").text
    assert marker not in text, "unknown paths must not become label values (unbounded cardinality)"


# ============================================================================================
# JSON errors, limits, request ids, languages


@pytest.mark.parametrize("path", ["/", "/api/nope", "/api/auth/nope", "/api/auth/login/extra", "/favicon.ico"])
def test_unknown_path_is_404_json(server, path):
    assert_error(server.get(path), 404, "not_found")
    assert_error(server.post(path, json={}), 404, "not_found")


@pytest.mark.parametrize("method, path", [("DELETE", LOGIN), ("GET", LOGIN), ("GET", SIGNUP),
                                          ("PATCH", PROFILE), ("DELETE", PROFILE),
                                          ("POST", "/api/auth/health")])
def test_known_path_with_wrong_method_is_405_json(server, method, path):
    assert_error(server.request(method, path), 405, "method_not_allowed")


def _assert_refused_as_too_large(server, send, email):
    try:
        r = send()
    except requests.ConnectionError:
        r = None  # the server answered 413 and closed before reading the rest, or just closed
    if r is not None:
        assert_error(r, 413, "payload_too_large")
    if r is not None and r.headers.get("Connection", "").lower() != "close":
        # the server kept the connection: it must have consumed the body, so the connection
        # is still usable for the next request
        assert_json(server.get("/api/auth/health"), 200)
    server.session.close()
    assert count_users(server, email) == 0
    assert_json(server.get("/api/auth/health"), 200)


@pytest.mark.parametrize("size", [MiB + 16, 40 * MiB], ids=["1MiB+16", "40MiB"])
def test_body_over_one_mebibyte_is_413_and_writes_nothing(server, size):
    body = server.signup_body(name="x" * size)
    data = json.dumps(body).encode()
    _assert_refused_as_too_large(
        server, lambda: server.post(SIGNUP, data=data, headers={"Content-Type": "application/json"}),
        body["email"])


def test_chunked_body_over_one_mebibyte_is_413_and_writes_nothing(server):
    body = server.signup_body(name="x" * (2 * MiB))
    data = json.dumps(body).encode()

    def chunks():
        for i in range(0, len(data), 64 * 1024):
            yield data[i:i + 64 * 1024]

    def send():
        r = server.post(SIGNUP, data=chunks(), headers={"Content-Type": "application/json"})
        if r.status_code == 411:  # refusing chunked request bodies altogether is also safe
            return None
        return r

    _assert_refused_as_too_large(server, send, body["email"])


def test_body_under_the_limit_is_parsed_not_refused(server):
    body = server.signup_body(name="x" * (900 * 1024))
    r = server.post(SIGNUP, json=body)
    assert_error(r, 400, "invalid_field")  # too long a name, but the body itself was accepted
    assert count_users(server, body["email"]) == 0


@pytest.mark.parametrize("path", [SIGNUP, LOGIN])
@pytest.mark.parametrize("raw", [b'{"name": ', b'{name: "x"}', b"{'email': 'a@b.c'}", b'{"email": "a@b.c",}',
                                 b'{"email": "a@b.c"} trailing', b"\xff\xfe\x00garbage",
                                 b'{"email": "bad\xff@example.com", "password": "x"}'],
                         ids=["truncated", "unquoted-key", "single-quotes", "trailing-comma",
                              "trailing-garbage", "binary", "invalid-utf8"])
def test_malformed_json_is_400_invalid_json(server, path, raw):
    r = server.post(path, data=raw, headers={"Content-Type": "application/json"})
    assert_error(r, 400, "invalid_json")


@pytest.mark.parametrize("path", [SIGNUP, LOGIN])
@pytest.mark.parametrize("raw", [b"[]", b'[{"email": "a@b.c"}]', b'"text"', b"42", b"true", b"null"])
def test_json_that_is_not_an_object_is_400_invalid_json(server, path, raw):
    r = server.post(path, data=raw, headers={"Content-Type": "application/json"})
    assert_error(r, 400, "invalid_json")


@pytest.mark.parametrize("path", [SIGNUP, LOGIN])
def test_empty_body_is_400_not_500(server, path):
    r = server.post(path, data=b"", headers={"Content-Type": "application/json"})
    body = assert_json(r, 400)
    assert body.get("error") in ("invalid_json", "missing_field"), body


def test_request_id_header_is_echoed(server):
    rid = f"test-{secrets.token_hex(8)}"
    r = server.get("/api/auth/health", headers={"X-Request-Id": rid})
    assert r.headers.get("X-Request-Id") == rid
    r = server.get("/api/unknown", headers={"X-Request-Id": rid + "-404"})
    assert r.status_code == 404 and r.headers.get("X-Request-Id") == rid + "-404"
    r = server.post(LOGIN, json={}, headers={"X-Request-Id": rid + "-400"})
    assert r.status_code == 400 and r.headers.get("X-Request-Id") == rid + "-400"


def test_request_id_is_generated_and_unique_when_absent(server):
    ids = set()
    for path in ("/api/auth/health", "/api/auth/health", "/api/unknown", "/ready"):
        rid = server.get(path).headers.get("X-Request-Id", "")
        assert rid.strip(), f"no X-Request-Id on {path}"
        ids.add(rid)
    assert len(ids) == 4


@pytest.mark.parametrize("accept_language, english", [
    (None, False),
    ("ko", False),
    ("ko-KR,ko;q=0.9,en;q=0.8", False),
    ("en", True),
    ("en-US,en;q=0.9", True),
    ("en-GB,en;q=0.9,ko;q=0.5", True),
])
def test_error_messages_are_korean_by_default_and_english_when_preferred(server, accept_language, english):
    headers = {"Accept-Language": accept_language} if accept_language else {}
    for r, code in ((server.get("/api/nope", headers=headers), "not_found"),
                    (server.post(LOGIN, json={}, headers=headers), "missing_field"),
                    (server.get(PROFILE, headers=headers), "token_missing")):
        body = r.json()
        assert body["error"] == code
        assert cj.has_hangul(body["message"]) != english, (accept_language, body)
    if not english:
        assert server.get(PROFILE, headers=headers).json()["message"] == cj.MSG_TOKEN_MISSING


# ============================================================================================
# seeding, restart, shutdown

SEED_AIRPORTS = {"ICN", "GMP", "NRT", "KIX", "BKK", "SYD", "LAX", "CDG"}
SEED_FLIGHTS = {
    "CJ101": ("ICN", "NRT", 320000), "CJ102": ("ICN", "NRT", 320000), "CJ111": ("ICN", "KIX", 350000),
    "CJ121": ("ICN", "BKK", 450000), "CJ131": ("ICN", "SYD", 720000), "CJ141": ("ICN", "LAX", 850000),
    "CJ151": ("ICN", "CDG", 950000),
}


def _assert_demo_data(server):
    airports = server.db_query("SELECT airport_code, airport_name, city, country FROM airports")
    assert {a["airport_code"] for a in airports} == SEED_AIRPORTS
    icn = next(a for a in airports if a["airport_code"] == "ICN")
    assert (icn["airport_name"], icn["city"], icn["country"]) == ("인천국제공항", "서울", "대한민국")

    flights = server.db_query("SELECT flight_id, departure_airport, arrival_airport, base_price FROM flights")
    assert {f["flight_id"]: (f["departure_airport"], f["arrival_airport"], int(f["base_price"]))
            for f in flights} == SEED_FLIGHTS

    rows = server.db_query("SELECT flight_id, flight_date, current_price, available_seats, status "
                           "FROM flight_schedules")
    assert len(rows) == 7 * 30
    today = dt.date.today()
    for flight_id, (_dep, _arr, base) in SEED_FLIGHTS.items():
        mine = [r for r in rows if r["flight_id"] == flight_id]
        dates = sorted(dt.date.fromisoformat(cj.as_date_text(r["flight_date"])) for r in mine)
        assert len(dates) == 30 and len(set(dates)) == 30, (flight_id, dates)
        assert (dates[-1] - dates[0]).days == 29, (flight_id, dates[0], dates[-1])
        assert abs((dates[0] - today).days) <= 1, (flight_id, dates[0], today)
        for r in mine:
            assert base * 0.8 - 1 <= int(r["current_price"]) <= base * 1.2 + 1, r
            assert 150 <= int(r["available_seats"]) <= 179, r
            assert r["status"] == "ACTIVE", r


def test_demo_data_is_seeded_on_first_start(server):
    _assert_demo_data(server)


def test_restart_keeps_data_and_does_not_seed_twice(server_factory):
    srv = server_factory(extra_env=MODULE_SERVER_ENV)
    user = srv.make_user()
    srv.restart()
    assert srv.login(user.email, user.password)
    assert srv.admin_token()
    _assert_demo_data(srv)
    assert int(srv.db_scalar("SELECT COUNT(*) AS n FROM users WHERE email = ?", (cj.ADMIN_EMAIL,))) == 1
    assert int(srv.db_scalar("SELECT COUNT(*) AS n FROM users")) == 2


def test_sigterm_exits_cleanly_within_10_seconds_with_idle_connections_open(server_factory):
    srv = server_factory(extra_env=MODULE_SERVER_ENV)
    assert_json(srv.get("/api/auth/health"), 200)
    idle = socket.create_connection(("127.0.0.1", srv.port), timeout=5)  # says nothing
    keep_alive = requests.Session()
    keep_alive.trust_env = False
    assert keep_alive.get(srv.url("/api/auth/health"), timeout=5).status_code == 200  # stays open
    try:
        started = time.monotonic()
        assert srv.stop(timeout=10) == 0  # asserts exit code 0 within 10 s
        assert time.monotonic() - started < 10
    finally:
        idle.close()
        keep_alive.close()
    with pytest.raises(requests.ConnectionError):
        requests.get(srv.url("/api/auth/health"), timeout=2)


# ============================================================================================
# MariaDB only: outage and recovery


def _timed(call):
    started = time.monotonic()
    r = call()
    return r, time.monotonic() - started


def test_mariadb_outage_answers_503_quickly_and_recovers_without_restart(make_server, mariadb):
    srv = make_server("mariadb", extra_env=MODULE_SERVER_ENV)
    user = srv.make_user()
    assert_json(srv.get(PROFILE, headers=user.auth), 200)

    mariadb.stop()
    try:
        calls = {
            "profile": lambda: srv.get(PROFILE, headers=user.auth, timeout=20),
            "login": lambda: srv.login_response(user.email, user.password, timeout=20),
            "ready": lambda: srv.get("/ready", timeout=20),
        }
        for what, call in calls.items():
            r, elapsed = _timed(call)
            assert_error(r, 503, "database_unavailable")
            assert elapsed < 11, f"{what} took {elapsed:.1f}s during the outage"
        # health does not depend on the database
        assert assert_json(srv.get("/api/auth/health"), 200)["status"] == "healthy"
    finally:
        mariadb.start()

    cj.wait_until(lambda: srv.get(PROFILE, headers=user.auth, timeout=10).status_code == 200,
                  timeout=30, interval=0.5, what="profile to answer 200 after MariaDB came back")
    assert assert_json(srv.get(PROFILE, headers=user.auth), 200)["user"]["email"] == user.email
    assert_json(srv.login_response(user.email, user.password), 200)
    assert assert_json(srv.get("/ready"), 200) == {"status": "ready"}
    assert srv.running


def test_frozen_mariadb_answers_503_within_about_10_seconds_and_health_stays_up(make_server, mariadb):
    """A database that accepts connections but never answers (SIGSTOP) must not hang requests."""
    srv = make_server("mariadb", extra_env=MODULE_SERVER_ENV)
    user = srv.make_user()
    profile_url = srv.url(PROFILE)

    def timed_profile():
        return _timed(lambda: cj.one_shot("GET", profile_url, headers=user.auth, timeout=30))

    mariadb.freeze()
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            stuck = [pool.submit(timed_profile) for _ in range(8)]  # more than the DB pool holds
            time.sleep(0.3)  # let them reach the database
            r, elapsed = _timed(lambda: cj.one_shot("GET", srv.url("/api/auth/health"), timeout=10))
            assert assert_json(r, 200)["status"] == "healthy"
            assert elapsed < 2, f"health took {elapsed:.1f}s while the database hangs"
            for f in stuck:
                r, elapsed = f.result()
                assert_error(r, 503, "database_unavailable")
                assert elapsed < 12, f"profile took {elapsed:.1f}s while the database hangs"
        r, elapsed = _timed(lambda: srv.login_response(user.email, user.password, timeout=30))
        assert_error(r, 503, "database_unavailable")
        assert elapsed < 12, f"login took {elapsed:.1f}s while the database hangs"
    finally:
        mariadb.thaw()

    cj.wait_until(lambda: srv.get(PROFILE, headers=user.auth, timeout=10).status_code == 200,
                  timeout=30, interval=0.5, what="profile to answer 200 after MariaDB resumed")
    assert_json(srv.login_response(user.email, user.password), 200)


# ============================================================================================
# MariaDB only: adopting a database created by the original Python services

ORIGINAL_SCHEMA = [
    """CREATE TABLE users (
        user_id INT AUTO_INCREMENT PRIMARY KEY,
        name VARCHAR(50) NOT NULL,
        email VARCHAR(100) NOT NULL UNIQUE,
        password_hash VARCHAR(255) NOT NULL,
        phone VARCHAR(20),
        birth_date DATE,
        role ENUM('USER','ADMIN') DEFAULT 'USER',
        created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
        updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
    """CREATE TABLE airports (
        airport_code VARCHAR(3) PRIMARY KEY,
        airport_name VARCHAR(100) NOT NULL,
        city VARCHAR(50) NOT NULL,
        country VARCHAR(50) NOT NULL
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
    """CREATE TABLE flights (
        flight_id VARCHAR(10) PRIMARY KEY,
        airline VARCHAR(50) DEFAULT 'CloudJet',
        departure_airport VARCHAR(3) NOT NULL,
        arrival_airport VARCHAR(3) NOT NULL,
        departure_time TIME NOT NULL,
        arrival_time TIME NOT NULL,
        duration VARCHAR(20),
        aircraft VARCHAR(50),
        base_price INT NOT NULL,
        total_seats INT DEFAULT 180,
        is_active BOOLEAN DEFAULT TRUE,
        FOREIGN KEY (departure_airport) REFERENCES airports(airport_code),
        FOREIGN KEY (arrival_airport) REFERENCES airports(airport_code)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
    """CREATE TABLE flight_schedules (
        schedule_id INT AUTO_INCREMENT PRIMARY KEY,
        flight_id VARCHAR(10) NOT NULL,
        flight_date DATE NOT NULL,
        current_price INT NOT NULL,
        available_seats INT NOT NULL,
        status ENUM('ACTIVE','CANCELLED','DELAYED') DEFAULT 'ACTIVE',
        created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
        FOREIGN KEY (flight_id) REFERENCES flights(flight_id),
        UNIQUE KEY unique_flight_date (flight_id, flight_date)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
    """CREATE TABLE bookings (
        booking_id INT AUTO_INCREMENT PRIMARY KEY,
        booking_number VARCHAR(20) NOT NULL UNIQUE,
        user_id INT NOT NULL,
        schedule_id INT NOT NULL,
        seat_number VARCHAR(5),
        total_amount INT NOT NULL,
        contact_email VARCHAR(100),
        contact_phone VARCHAR(20),
        payment_method VARCHAR(20),
        status ENUM('CONFIRMED','CANCELLED','COMPLETED') DEFAULT 'CONFIRMED',
        created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
        FOREIGN KEY (user_id) REFERENCES users(user_id),
        FOREIGN KEY (schedule_id) REFERENCES flight_schedules(schedule_id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
    """CREATE TABLE passengers (
        passenger_id INT AUTO_INCREMENT PRIMARY KEY,
        booking_id INT NOT NULL,
        name_kor VARCHAR(50) NOT NULL,
        name_eng VARCHAR(100) NOT NULL,
        birth_date DATE NOT NULL,
        gender ENUM('M','F') NOT NULL,
        seat_number VARCHAR(5),
        FOREIGN KEY (booking_id) REFERENCES bookings(booking_id) ON DELETE CASCADE
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
    """CREATE TABLE payments (
        payment_id INT AUTO_INCREMENT PRIMARY KEY,
        booking_id INT NULL,
        user_id INT NOT NULL,
        method ENUM('CARD','KAKAO') NOT NULL,
        provider ENUM('NICEPAY','KAKAO') NOT NULL,
        amount INT NOT NULL,
        currency VARCHAR(3) DEFAULT 'KRW',
        status ENUM('REQUESTED','PAID','FAILED','CANCELLED') DEFAULT 'REQUESTED',
        bootpay_receipt_id VARCHAR(100) UNIQUE,
        order_id VARCHAR(100) UNIQUE,
        raw_payload JSON,
        created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
        updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
        FOREIGN KEY (booking_id) REFERENCES bookings(booking_id),
        FOREIGN KEY (user_id) REFERENCES users(user_id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
    """CREATE TABLE flight_discounts (
        discount_id INT AUTO_INCREMENT PRIMARY KEY,
        schedule_id INT NOT NULL,
        discount_percentage INT NOT NULL,
        status ENUM('ACTIVE','INACTIVE','EXPIRED') DEFAULT 'ACTIVE',
        created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
        updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
        FOREIGN KEY (schedule_id) REFERENCES flight_schedules(schedule_id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
]

LEGACY_EMAIL = "legacy@example.com"
LEGACY_PASSWORD = "legacy-pass-123"


def _create_original_database(mariadb) -> str:
    db = mariadb.new_database("orig")
    for stmt in ORIGINAL_SCHEMA:
        mariadb.execute(db, stmt)
    ex = lambda sql, params=None: mariadb.execute(db, sql, params)  # noqa: E731
    ex("INSERT INTO users (name, email, password_hash, phone, birth_date, role) VALUES "
       "(%s, %s, %s, %s, %s, %s), (%s, %s, %s, %s, %s, %s)",
       ("관리자", cj.ADMIN_EMAIL, "admin123", "010-0000-0000", "1980-01-01", "ADMIN",
        "레거시", LEGACY_EMAIL, cj.werkzeug_pbkdf2(LEGACY_PASSWORD), "010-1234-5678", "1990-01-01", "USER"))
    ex("INSERT INTO airports VALUES ('ICN','인천국제공항','서울','대한민국'), "
       "('NRT','나리타국제공항','도쿄','일본'), ('KIX','간사이국제공항','오사카','일본')")
    ex("INSERT INTO flights (flight_id, departure_airport, arrival_airport, departure_time, arrival_time, "
       "duration, aircraft, base_price) VALUES "
       "('CJ101','ICN','NRT','06:30:00','09:15:00','2시간 45분','Boeing 737-800',320000), "
       "('CJ111','ICN','KIX','07:00:00','09:30:00','2시간 30분','Airbus A321',350000)")
    today = dt.date.today()
    for flight_id, price in (("CJ101", 330000), ("CJ111", 340000)):
        for offset in (1, 2):
            ex("INSERT INTO flight_schedules (flight_id, flight_date, current_price, available_seats) "
               "VALUES (%s, %s, %s, %s)", (flight_id, (today + dt.timedelta(days=offset)).isoformat(), price, 170))
    return db


def _counts(mariadb, db, tables) -> dict[str, int]:
    return {t: int(mariadb.execute(db, f"SELECT COUNT(*) AS n FROM `{t}`")[0]["n"]) for t in tables}


def _migrate(mariadb, db, tmp_path) -> None:
    env = cj.base_env()
    env.update({"SECRET_KEY": secrets.token_urlsafe(32), "CLOUDJET_ENV": "development"})
    env.update(cj.db_env(mariadb, db))
    out = cj.run_cli(["migrate"], env, cwd=tmp_path)
    assert out.returncode == 0, f"cloudjet migrate exited {out.returncode}:\n{out.stdout[-4000:]}"


def test_migrate_adopts_an_original_database_and_hashes_plain_text_passwords(make_server, mariadb, tmp_path):
    db = _create_original_database(mariadb)
    tables = ["users", "airports", "flights", "flight_schedules"]
    before = _counts(mariadb, db, tables)
    legacy_hash = mariadb.execute(db, "SELECT password_hash FROM users WHERE email = %s", (LEGACY_EMAIL,))[0][
        "password_hash"]

    _migrate(mariadb, db, tmp_path)

    assert _counts(mariadb, db, tables) == before
    admin = mariadb.execute(db, "SELECT * FROM users WHERE email = %s", (cj.ADMIN_EMAIL,))[0]
    assert admin["role"] == "ADMIN"
    assert admin["password_hash"] != "admin123"
    assert admin["password_hash"].startswith("$argon2id$"), admin["password_hash"]
    assert "admin123" not in admin["password_hash"]
    assert mariadb.execute(db, "SELECT password_hash FROM users WHERE email = %s", (LEGACY_EMAIL,))[0][
        "password_hash"] == legacy_hash, "a valid legacy hash must be left for re-hashing at login"
    assert mariadb.execute(db, "SELECT airport_name FROM airports WHERE airport_code = 'NRT'")[0][
        "airport_name"] == "나리타국제공항"
    assert mariadb.execute(
        db, "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = %s "
            "AND table_name = 'schema_migrations'", (db,))[0]["n"] == 1

    _migrate(mariadb, db, tmp_path)  # idempotent
    assert _counts(mariadb, db, tables) == before

    # An operator adopting a database keeps its admin credentials: no CLOUDJET_ADMIN_PASSWORD (when
    # it is set, the server makes it the admin's password at every start).
    srv = make_server("mariadb", db_name=db, extra_env={**MODULE_SERVER_ENV, "CLOUDJET_ADMIN_PASSWORD": None})
    assert "CLOUDJET_ADMIN_PASSWORD" not in srv.env
    body = assert_json(srv.login_response(LEGACY_EMAIL, LEGACY_PASSWORD), 200)
    assert body["user"]["email"] == LEGACY_EMAIL
    assert srv.user_row(LEGACY_EMAIL)["password_hash"].startswith("$argon2id$")
    body = assert_json(srv.login_response(cj.ADMIN_EMAIL, "admin123"), 200)
    assert body["user"]["role"] == "ADMIN"
    after_start = _counts(mariadb, db, tables)
    assert after_start == before, "serving an adopted database must not add demo data or users to it"


def test_migrate_keeps_original_bookings_even_with_the_originals_shared_seats(mariadb, tmp_path):
    """The original gave every passenger of a booking the same seat, and had no seat constraint."""
    db = _create_original_database(mariadb)
    ex = lambda sql, params=None: mariadb.execute(db, sql, params)  # noqa: E731
    user_id = ex("SELECT user_id FROM users WHERE email = %s", (LEGACY_EMAIL,))[0]["user_id"]
    schedule_id = ex("SELECT MIN(schedule_id) AS s FROM flight_schedules")[0]["s"]
    bookings = [("CJAAAA1111", "12A", 660000, "CONFIRMED"), ("CJBBBB2222", "12A", 330000, "CONFIRMED"),
                ("CJCCCC3333", "12A", 330000, "CANCELLED")]
    for number, seat, amount, status in bookings:
        ex("INSERT INTO bookings (booking_number, user_id, schedule_id, seat_number, total_amount, "
           "contact_email, contact_phone, payment_method, status) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s)",
           (number, user_id, schedule_id, seat, amount, LEGACY_EMAIL, "010-1234-5678", "CARD", status))
    first = ex("SELECT booking_id FROM bookings WHERE booking_number = 'CJAAAA1111'")[0]["booking_id"]
    second = ex("SELECT booking_id FROM bookings WHERE booking_number = 'CJBBBB2222'")[0]["booking_id"]
    for booking_id, kor, eng in ((first, "홍길동", "HONG GILDONG"), (first, "홍길순", "HONG GILSUN"),
                                 (second, "김철수", "KIM CHULSOO")):
        ex("INSERT INTO passengers (booking_id, name_kor, name_eng, birth_date, gender, seat_number) "
           "VALUES (%s,%s,%s,%s,%s,%s)", (booking_id, kor, eng, "1990-01-01", "M", "12A"))
    ex("INSERT INTO payments (booking_id, user_id, method, provider, amount, status, bootpay_receipt_id, "
       "order_id, raw_payload) VALUES (%s,%s,'CARD','NICEPAY',660000,'PAID','rcpt-1','CJ-ORD-1-1-abcdef12',%s)",
       (first, user_id, json.dumps({"status": "PAID", "receipt_id": "rcpt-1"})))
    tables = ["users", "airports", "flights", "flight_schedules", "bookings", "passengers", "payments"]
    before = _counts(mariadb, db, tables)
    seats_before = ex("SELECT passenger_id, seat_number FROM passengers ORDER BY passenger_id")

    _migrate(mariadb, db, tmp_path)

    assert _counts(mariadb, db, tables) == before
    assert ex("SELECT passenger_id, seat_number FROM passengers ORDER BY passenger_id") == seats_before
    assert [r["status"] for r in ex("SELECT status FROM bookings ORDER BY booking_number")] == [
        "CONFIRMED", "CONFIRMED", "CANCELLED"]
