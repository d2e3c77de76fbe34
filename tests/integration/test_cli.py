"""Black-box tests of the binary's command line and configuration: per-service ports, CORS,
configuration errors that name the variable, production mode, migrate/seed/version."""
from __future__ import annotations

import json
import secrets
import signal
import subprocess
import time

import pytest
import requests

import cj
from cj import assert_error, assert_json


def run(args, tmp_path, **env):
    e = cj.base_env()
    e.update({k: v for k, v in env.items() if v is not None})
    return cj.run_cli(args, e, cwd=tmp_path)


def test_version_prints_the_version(tmp_path):
    r = run(["version"], tmp_path)
    assert r.returncode == 0
    assert r.stdout.startswith("cloudjet ") and r.stdout.split()[1][0].isdigit(), r.stdout


@pytest.mark.parametrize("var, value", [("AUTH_SERVICE_PORT", "70000"), ("DB_POOL_SIZE", "many"),
                                        ("DATABASE_URL", "postgres://x/y"), ("SERVICES", "auth,hotel"),
                                        ("SECRET_KEY", "short"), ("LOG_LEVEL", "loud")])
def test_a_bad_configuration_value_stops_the_process_naming_the_variable(tmp_path, var, value):
    r = run(["serve", "--data-dir", str(tmp_path / "d")], tmp_path, **{var: value})
    assert r.returncode != 0
    assert var in r.stdout, r.stdout


def test_production_refuses_to_start_without_secret_key(tmp_path):
    r = run(["serve", "--data-dir", str(tmp_path / "d")], tmp_path, CLOUDJET_ENV="production")
    assert r.returncode != 0
    assert "SECRET_KEY" in r.stdout


def test_production_seed_never_generates_or_prints_an_admin_password(tmp_path):
    """In production stdout is a log stream: no generated password may land there."""
    data = tmp_path / "d"
    key = secrets.token_urlsafe(32)
    r = run(["seed", "--data-dir", str(data)], tmp_path, CLOUDJET_ENV="production", SECRET_KEY=key)
    assert r.returncode == 0, r.stdout
    assert "Generated password" not in r.stdout and "create-admin" in r.stdout, r.stdout
    for line in filter(None, r.stdout.splitlines()):
        assert json.loads(line)["level"] in ("info", "warn"), line  # JSON lines only
    import sqlite3
    con = sqlite3.connect(data / "cloudjet.db")
    assert con.execute("SELECT COUNT(*) FROM users").fetchone()[0] == 0
    # with the password given, the account is made, and the password is printed nowhere
    password = secrets.token_urlsafe(12)
    r = run(["seed", "--data-dir", str(data)], tmp_path, CLOUDJET_ENV="production", SECRET_KEY=key,
            CLOUDJET_ADMIN_PASSWORD=password)
    assert r.returncode == 0 and password not in r.stdout, r.stdout
    assert con.execute("SELECT role FROM users").fetchall() == [("ADMIN",)]
    # reference airports are there without any demo data: an admin can add flights at once
    assert con.execute("SELECT COUNT(*) FROM airports").fetchone()[0] == 8
    assert con.execute("SELECT COUNT(*) FROM flights").fetchone()[0] == 0


def test_dotenv_file_is_read_and_environment_wins(tmp_path):
    (tmp_path / ".env").write_text("LOG_LEVEL=loud\nAUTH_SERVICE_PORT=70000\n")
    r = run(["migrate", "--data-dir", str(tmp_path / "d")], tmp_path, AUTH_SERVICE_PORT="5001",
            LOG_LEVEL="info")
    assert r.returncode == 0, r.stdout
    r = run(["migrate", "--data-dir", str(tmp_path / "d")], tmp_path, LOG_LEVEL="info")
    assert r.returncode != 0 and "AUTH_SERVICE_PORT" in r.stdout


def test_migrate_then_seed_demo_creates_schema_demo_data_and_a_hashed_admin(tmp_path):
    data = tmp_path / "d"
    password = secrets.token_urlsafe(12)
    r = run(["migrate", "--data-dir", str(data)], tmp_path)
    assert r.returncode == 0 and "migration(s) applied" in r.stdout, r.stdout
    r = run(["seed", "--demo", "--data-dir", str(data)], tmp_path, CLOUDJET_ADMIN_PASSWORD=password)
    assert r.returncode == 0, r.stdout
    import sqlite3
    con = sqlite3.connect(data / "cloudjet.db")
    assert con.execute("SELECT COUNT(*) FROM airports").fetchone()[0] == 8
    assert con.execute("SELECT COUNT(*) FROM flights").fetchone()[0] == 7
    assert con.execute("SELECT COUNT(*) FROM flight_schedules").fetchone()[0] == 7 * 30
    role, stored = con.execute("SELECT role, password_hash FROM users WHERE email = 'admin@cloudjet.com'").fetchone()
    assert role == "ADMIN" and stored.startswith("$argon2id$") and password not in stored
    # seeding again adds nothing
    r = run(["seed", "--demo", "--data-dir", str(data)], tmp_path, CLOUDJET_ADMIN_PASSWORD=password)
    assert r.returncode == 0 and "(0 new schedules)" in r.stdout, r.stdout


def test_generated_admin_password_is_printed_once_and_works(tmp_path):
    data = tmp_path / "d"
    r = run(["seed", "--data-dir", str(data)], tmp_path)
    assert r.returncode == 0
    line = [l for l in r.stdout.splitlines() if "Generated password" in l]
    assert len(line) == 1, r.stdout
    password = line[0].split(":", 1)[1].strip()
    r2 = run(["seed", "--data-dir", str(data)], tmp_path)
    assert "Generated password" not in r2.stdout  # printed once only
    assert password not in r2.stdout
    srv = cj.Server(data, backend="sqlite", extra_env={"CLOUDJET_ADMIN_PASSWORD": None})
    try:
        srv.start()
        assert srv.login("admin@cloudjet.com", password)
        assert password not in srv.log_text()  # never logged
    finally:
        srv.stop()


def _free_ports(n):
    return [cj.free_port() for _ in range(n)]


def test_each_service_listens_on_its_own_port_and_only_answers_its_own_paths(tmp_path):
    ports = dict(zip(["auth", "flight", "booking", "admin", "payment"], _free_ports(5)))
    env = cj.base_env()
    env.update({"SECRET_KEY": secrets.token_hex(32), "CLOUDJET_ADMIN_PASSWORD": secrets.token_urlsafe(12),
                "AUTH_SERVICE_PORT": str(ports["auth"]), "FLIGHT_SERVICE_PORT": str(ports["flight"]),
                "BOOKING_SERVICE_PORT": str(ports["booking"]), "ADMIN_SERVICE_PORT": str(ports["admin"]),
                "PAYMENT_SERVICE_PORT": str(ports["payment"])})
    log = open(tmp_path / "server.log", "wb")
    proc = subprocess.Popen([str(cj.cloudjet_bin()), "serve", "--services", "auth,flight",
                             "--data-dir", str(tmp_path / "d")], env=env, stdout=log,
                            stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        cj.wait_until(lambda: _ok(f"http://127.0.0.1:{ports['flight']}/ready"), timeout=30,
                      what="flight port ready")
        body = assert_json(requests.get(f"http://127.0.0.1:{ports['auth']}/api/auth/health", timeout=5), 200)
        assert body == {"status": "healthy", "service": "auth-service", "port": ports["auth"]}
        body = assert_json(requests.get(f"http://127.0.0.1:{ports['flight']}/api/flights/health", timeout=5), 200)
        assert body == {"status": "healthy", "service": "flight-service", "port": ports["flight"]}
        # the auth port does not serve flight paths, and unselected services are not listening
        assert_error(requests.get(f"http://127.0.0.1:{ports['auth']}/api/flights/health", timeout=5), 404,
                     "not_found")
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{ports['booking']}/api/bookings/health", timeout=2)
        # every service port exposes metrics and readiness
        m = requests.get(f"http://127.0.0.1:{ports['auth']}/metrics", timeout=5)
        assert m.status_code == 200 and "cloudjet_http_requests_total" in m.text
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0


def _ok(url):
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


def test_cors_allows_only_configured_origins_and_answers_preflight(tmp_path):
    srv = cj.Server(tmp_path / "d", backend="sqlite",
                    extra_env={"CORS_ORIGINS": "https://app.cloudjet.example, https://admin.cloudjet.example"})
    try:
        srv.start()
        r = srv.get("/api/flights/airports", headers={"Origin": "https://app.cloudjet.example"})
        assert r.status_code == 200
        assert r.headers["Access-Control-Allow-Origin"] == "https://app.cloudjet.example"
        assert "Origin" in r.headers.get("Vary", "")
        r = srv.get("/api/flights/airports", headers={"Origin": "https://evil.example"})
        assert r.status_code == 200 and "Access-Control-Allow-Origin" not in r.headers
        r = srv.request("OPTIONS", "/api/bookings", headers={
            "Origin": "https://admin.cloudjet.example", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, idempotency-key"})
        assert r.status_code == 204
        assert r.headers["Access-Control-Allow-Origin"] == "https://admin.cloudjet.example"
        assert "POST" in r.headers["Access-Control-Allow-Methods"]
        assert "Idempotency-Key" in r.headers["Access-Control-Allow-Headers"]
        # errors carry CORS headers too, so the front end can read them
        r = srv.post("/api/auth/login", json={}, headers={"Origin": "https://app.cloudjet.example"})
        assert r.status_code == 400 and r.headers["Access-Control-Allow-Origin"] == "https://app.cloudjet.example"
    finally:
        srv.stop()
