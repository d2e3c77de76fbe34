"""Migrations with several processes at once, re-runnable MySQL migrations, where demo data comes
from, and `serve --no-migrate`.

Five `cloudjet serve` (one service each, as deployed) or five `cloudjet migrate` started together
on one empty database must apply every migration exactly once and all come up; every MySQL
migration must survive losing its schema_migrations row (MySQL commits DDL implicitly, so a failed
run leaves a migration half applied and unrecorded) without changing the schema."""
from __future__ import annotations

import secrets
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

import cj
from cj import assert_json

SERVICES = ["auth", "flight", "booking", "admin", "payment"]
PREFIX = {"auth": "/api/auth", "flight": "/api/flights", "booking": "/api/bookings",
          "admin": "/api/admin", "payment": "/api/payments"}
PORT_VAR = {s: f"{s.upper()}_SERVICE_PORT" for s in SERVICES}
MIGRATIONS = {d: sorted(p.stem for p in (cj.REPO / "migrations" / d).glob("*.sql")) for d in ("sqlite", "mysql")}
DEMO_COUNTS = {"airports": 8, "flights": 7, "flight_schedules": 7 * 30}
# Airports are reference data (migration 006): every migrated database has them, demo or not.
NO_DEMO = {"airports": 8, "flights": 0, "flight_schedules": 0}
REFERENCE_AIRPORTS = {"ICN", "GMP", "NRT", "KIX", "BKK", "SYD", "LAX", "CDG"}


def _airport_codes(resp) -> set[str]:
    return {a["airport_code"] for a in assert_json(resp, 200)["airports"]}


def _env(**extra) -> dict[str, str]:
    env = cj.base_env()
    env.update({"SECRET_KEY": secrets.token_urlsafe(32), "CLOUDJET_ENV": "development"})
    env.update({k: v for k, v in extra.items() if v is not None})
    return env


def _mariadb_env(mariadb, db, **extra) -> dict[str, str]:
    return _env(**cj.db_env(mariadb, db), **extra)


def _cli(args, env, tmp_path, timeout=120.0) -> subprocess.CompletedProcess:
    return cj.run_cli(args, env, cwd=tmp_path, timeout=timeout)


def _ok(out: subprocess.CompletedProcess) -> str:
    assert out.returncode == 0, f"cloudjet {out.args[1:]} exited {out.returncode}:\n{out.stdout[-4000:]}"
    return out.stdout


class Proc:
    """One `cloudjet` process started in the background, its output in a log file."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path, name: str):
        cwd.mkdir(parents=True, exist_ok=True)
        self.log_path = cwd / f"{name}.log"
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen([str(cj.cloudjet_bin()), *args], env=env, cwd=str(cwd),
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)

    def text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 15.0) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _all_logs(procs: dict[str, Proc]) -> str:
    return "\n".join(f"--- {name}\n{cj.tail(p.log_path, 30)}" for name, p in procs.items())


def _start_five_services(env: dict[str, str], root: Path, data_dir: Path | None = None):
    """Five `serve --services <one>` at once, each service on its own port; waits until every
    one answers /ready and its health check. Returns ({service: Proc}, {service: port})."""
    ports = {s: cj.free_port() for s in SERVICES}
    env = {**env, **{PORT_VAR[s]: str(p) for s, p in ports.items()}}
    procs: dict[str, Proc] = {}
    try:
        for s in SERVICES:  # as close together as Popen allows
            procs[s] = Proc(["serve", "--services", s, "--data-dir", str(data_dir or root / s)], env, root, s)

        def ready(s):
            if procs[s].proc.poll() is not None:
                raise AssertionError(f"{s} exited with {procs[s].proc.returncode} during start-up\n"
                                     f"{_all_logs(procs)}")
            try:
                return cj.one_shot("GET", f"http://127.0.0.1:{ports[s]}/ready", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        deadline = time.monotonic() + 60
        waiting = set(SERVICES)
        while waiting:
            waiting = {s for s in waiting if not ready(s)}
            if waiting and time.monotonic() > deadline:
                raise AssertionError(f"not ready after 60 s: {sorted(waiting)}\n{_all_logs(procs)}")
            time.sleep(0.1)
        for s in SERVICES:
            body = assert_json(cj.one_shot("GET", f"http://127.0.0.1:{ports[s]}{PREFIX[s]}/health"), 200)
            assert body["status"] == "healthy" and body["port"] == ports[s], body
        return procs, ports
    except BaseException:
        for p in procs.values():
            p.kill()
        raise


def _stop_all(procs: dict[str, Proc]) -> None:
    codes = {s: p.stop() for s, p in procs.items()}
    assert all(rc == 0 for rc in codes.values()), f"exit codes {codes}\n{_all_logs(procs)}"


def _generated_password(logs: list[str]) -> str:
    """The one generated admin password printed across `logs` (exactly one process prints it)."""
    lines = [line for text in logs for line in text.splitlines() if "Generated password" in line]
    assert len(lines) == 1, f"expected one generated admin password, got {len(lines)}: {lines}"
    return lines[0].split(":", 1)[1].strip()


def _login(port: int, email: str, password: str) -> dict:
    r = cj.one_shot("POST", f"http://127.0.0.1:{port}/api/auth/login", json={"email": email, "password": password})
    return assert_json(r, 200)


def _counts(query, tables) -> dict[str, int]:
    return {t: int(query(f"SELECT COUNT(*) AS n FROM {t}")[0]["n"]) for t in tables}


# ============================================================================================
# several processes at once


@pytest.mark.mariadb_only
def test_five_services_started_at_once_on_an_empty_mariadb_migrate_it_once(mariadb, tmp_path):
    db = mariadb.new_database("five")
    q = lambda sql, params=None: mariadb.execute(db, sql, params)  # noqa: E731
    # No CLOUDJET_ADMIN_PASSWORD: each process would generate one; only the creator may print it.
    procs, ports = _start_five_services(_mariadb_env(mariadb, db), tmp_path)
    try:
        rows = q("SELECT version FROM schema_migrations ORDER BY version")
        assert [r["version"] for r in rows] == MIGRATIONS["mysql"]
        logs = [p.text() for p in procs.values()]
        applied = [line for text in logs for line in text.splitlines() if '"migration applied"' in line]
        assert len(applied) == len(MIGRATIONS["mysql"]), applied  # each applied by one process only
        assert not any('"level":"error"' in text for text in logs), _all_logs(procs)

        admins = q("SELECT email, role FROM users")
        assert admins == [{"email": cj.ADMIN_EMAIL, "role": "ADMIN"}]
        password = _generated_password(logs)
        assert _login(ports["auth"], cj.ADMIN_EMAIL, password)["user"]["role"] == "ADMIN"
        # serve never seeds MySQL/MariaDB by itself
        assert _counts(q, DEMO_COUNTS) == NO_DEMO
        assert any("seed --demo" in text for text in logs)
        airports = cj.one_shot("GET", f"http://127.0.0.1:{ports['flight']}/api/flights/airports")
        assert _airport_codes(airports) == REFERENCE_AIRPORTS
    finally:
        _stop_all(procs)

    # five explicit seeders at once still leave the demo data exactly once
    admin_hash = q("SELECT password_hash FROM users")[0]["password_hash"]
    env = _mariadb_env(mariadb, db)
    seeders = [Proc(["seed", "--demo", "--data-dir", str(tmp_path / f"seed{i}")], env, tmp_path, f"seed{i}")
               for i in range(5)]
    codes = [p.proc.wait(timeout=120) for p in seeders]
    assert codes == [0] * 5, "\n".join(p.text()[-2000:] for p in seeders)
    assert _counts(q, DEMO_COUNTS) == DEMO_COUNTS
    assert int(q("SELECT COUNT(*) AS n FROM (SELECT flight_id, flight_date FROM flight_schedules "
                 "GROUP BY flight_id, flight_date HAVING COUNT(*) > 1) d")[0]["n"]) == 0
    # without CLOUDJET_ADMIN_PASSWORD, seed keeps the existing admin's password and prints none
    assert q("SELECT password_hash FROM users WHERE email = %s", (cj.ADMIN_EMAIL,)) == \
        [{"password_hash": admin_hash}]
    assert not any("Generated password" in p.text() for p in seeders)


def test_five_migrate_processes_at_once_on_one_sqlite_data_dir(tmp_path):
    data = tmp_path / "data"
    env = _env()
    procs = [Proc(["migrate", "--data-dir", str(data)], env, tmp_path, f"migrate{i}") for i in range(5)]
    codes = [p.proc.wait(timeout=120) for p in procs]
    outputs = [p.text() for p in procs]
    assert codes == [0] * 5, "\n".join(o[-2000:] for o in outputs)
    applied = sorted(int(line.split()[1]) for o in outputs for line in o.splitlines()
                     if line.startswith("cloudjet: ") and "migration(s) applied" in line)
    assert applied == [0, 0, 0, 0, len(MIGRATIONS["sqlite"])], outputs  # one did all, the others waited
    import sqlite3
    con = sqlite3.connect(data / "cloudjet.db")
    try:
        assert [r[0] for r in con.execute("SELECT version FROM schema_migrations ORDER BY version")] == \
            MIGRATIONS["sqlite"]
        assert con.execute("SELECT COUNT(*) FROM users").fetchone()[0] == 0  # migrate creates no one
    finally:
        con.close()


def test_five_services_started_at_once_on_one_sqlite_file_seed_it_once(tmp_path):
    data = tmp_path / "data"
    procs, ports = _start_five_services(_env(), tmp_path, data_dir=data)
    try:
        srv = cj.Server(data, backend="sqlite")  # only for its db_query on the same file
        assert [r["version"] for r in srv.db_query("SELECT version FROM schema_migrations ORDER BY version")] == \
            MIGRATIONS["sqlite"]
        assert _counts(srv.db_query, DEMO_COUNTS) == DEMO_COUNTS
        assert srv.db_query("SELECT email, role FROM users") == [{"email": cj.ADMIN_EMAIL, "role": "ADMIN"}]
        password = _generated_password([p.text() for p in procs.values()])
        assert _login(ports["auth"], cj.ADMIN_EMAIL, password)["user"]["role"] == "ADMIN"
    finally:
        _stop_all(procs)


@pytest.mark.mariadb_only
def test_migrate_waits_for_the_migration_lock_and_times_out_with_a_clear_error(mariadb, tmp_path):
    db = mariadb.new_database("lock")
    lock = f"cloudjet_migrate:{db}"[:64]
    holder = mariadb.connect()
    try:
        with holder.cursor() as cur:
            cur.execute("SELECT GET_LOCK(%s, 0) AS got", (lock,))
            assert cur.fetchone()["got"] == 1
        started = time.monotonic()
        out = _cli(["migrate"], _mariadb_env(mariadb, db, MIGRATION_LOCK_TIMEOUT="2"), tmp_path)
        assert out.returncode != 0, out.stdout
        assert 1.5 <= time.monotonic() - started < 30
        assert "timed out after 2 s" in out.stdout and lock in out.stdout, out.stdout
        assert mariadb.execute(db, "SELECT COUNT(*) AS n FROM information_schema.tables "
                                   "WHERE table_schema = %s", (db,))[0]["n"] == 0  # nothing ran

        # a second migrate waits while the lock is held, and finishes once it is released
        waiter = Proc(["migrate"], _mariadb_env(mariadb, db, MIGRATION_LOCK_TIMEOUT="60"), tmp_path, "waiter")
        try:
            cj.wait_until(lambda: "another process is running migrations" in waiter.text(), 20,
                          what="migrate to report that it waits for the lock")
            assert waiter.proc.poll() is None
            with holder.cursor() as cur:
                cur.execute("SELECT RELEASE_LOCK(%s) AS r", (lock,))
            assert waiter.proc.wait(timeout=60) == 0, waiter.text()
        finally:
            waiter.kill()
    finally:
        holder.close()
    rows = mariadb.execute(db, "SELECT version FROM schema_migrations ORDER BY version")
    assert [r["version"] for r in rows] == MIGRATIONS["mysql"]
    # the lock was released at the end: anyone can take it now
    assert mariadb.execute(db, "SELECT IS_FREE_LOCK(%s) AS f", (lock,))[0]["f"] == 1


# ============================================================================================
# MySQL migrations are re-runnable


def _schema(mariadb, db) -> dict[str, list[tuple]]:
    def rows(sql):
        return [tuple(r.values()) for r in mariadb.execute(db, sql, (db,))]
    return {
        "tables": rows("SELECT table_name, engine, table_collation FROM information_schema.tables "
                       "WHERE table_schema = %s ORDER BY table_name"),
        "columns": rows("SELECT table_name, column_name, ordinal_position, column_type, is_nullable, "
                        "column_default, extra, generation_expression, collation_name "
                        "FROM information_schema.columns WHERE table_schema = %s "
                        "ORDER BY table_name, ordinal_position"),
        "indexes": rows("SELECT table_name, index_name, seq_in_index, column_name, non_unique "
                        "FROM information_schema.statistics WHERE table_schema = %s "
                        "ORDER BY table_name, index_name, seq_in_index"),
        "foreign_keys": rows("SELECT table_name, constraint_name, column_name, referenced_table_name, "
                             "referenced_column_name FROM information_schema.key_column_usage "
                             "WHERE table_schema = %s AND referenced_table_name IS NOT NULL "
                             "ORDER BY table_name, constraint_name, ordinal_position"),
    }


ALL_TABLES = ["users", "airports", "flights", "flight_schedules", "bookings", "passengers", "payments",
              "flight_discounts", "seat_assignments", "idempotency_keys", "admin_audit", "refund_outbox"]


@pytest.mark.mariadb_only
def test_every_mysql_migration_reruns_after_losing_its_record_without_changing_the_schema(mariadb, tmp_path):
    db = mariadb.new_database("rerun")
    env = _mariadb_env(mariadb, db, CLOUDJET_ADMIN_PASSWORD=secrets.token_urlsafe(12))
    _ok(_cli(["seed", "--demo"], env, tmp_path))  # migrates, then data for the data steps to meet
    q = lambda sql, params=None: mariadb.execute(db, sql, params)  # noqa: E731
    schedule = q("SELECT MIN(schedule_id) AS s FROM flight_schedules")[0]["s"]
    q("INSERT INTO flight_discounts (schedule_id, discount_percentage, status) VALUES (%s, 10, 'ACTIVE')",
      (schedule,))
    schema = _schema(mariadb, db)
    assert ("flight_discounts", "uniq_active_discount", 1, "active_schedule_id", 0) in schema["indexes"]
    data = _counts(q, ALL_TABLES)
    admin_hash = q("SELECT password_hash FROM users WHERE email = %s", (cj.ADMIN_EMAIL,))[0]["password_hash"]

    for name in MIGRATIONS["mysql"]:
        q("DELETE FROM schema_migrations WHERE version = %s", (name,))
        out = _ok(_cli(["migrate"], env, tmp_path))
        assert "cloudjet: 1 migration(s) applied" in out, out
        assert [r["version"] for r in q("SELECT version FROM schema_migrations ORDER BY version")] == \
            MIGRATIONS["mysql"], name
        assert _schema(mariadb, db) == schema, f"re-running {name} changed the schema"
        assert _counts(q, ALL_TABLES) == data, f"re-running {name} changed the data"
    assert q("SELECT password_hash FROM users WHERE email = %s", (cj.ADMIN_EMAIL,))[0]["password_hash"] == admin_hash

    # all of them at once, as after a failure in the first
    q("DELETE FROM schema_migrations")
    out = _ok(_cli(["migrate"], env, tmp_path))
    assert f"cloudjet: {len(MIGRATIONS['mysql'])} migration(s) applied" in out, out
    assert _schema(mariadb, db) == schema
    assert _counts(q, ALL_TABLES) == data


@pytest.mark.mariadb_only
def test_a_half_applied_mysql_migration_is_completed_by_the_next_run(mariadb, tmp_path):
    db = mariadb.new_database("half")
    env = _mariadb_env(mariadb, db)
    _ok(_cli(["migrate"], env, tmp_path))
    schema = _schema(mariadb, db)
    # 004 failed after adding the generated column but before its unique key (DDL committed)
    mariadb.execute(db, "ALTER TABLE flight_discounts DROP INDEX uniq_active_discount")
    mariadb.execute(db, "DELETE FROM schema_migrations WHERE version = '004_admin'")
    assert _schema(mariadb, db) != schema
    out = _ok(_cli(["migrate"], env, tmp_path))
    assert "cloudjet: 1 migration(s) applied" in out
    assert "flight_discounts.active_schedule_id" in out  # skipped: it was there
    assert _schema(mariadb, db) == schema


# ============================================================================================
# demo data only where it belongs


def test_production_sqlite_serve_does_not_seed_demo_data(make_server):
    srv = make_server("sqlite", extra_env={"CLOUDJET_ENV": "production"})
    assert _counts(srv.db_query, DEMO_COUNTS) == NO_DEMO
    assert _airport_codes(srv.get("/api/flights/airports")) == REFERENCE_AIRPORTS
    assert srv.admin_token()  # the admin account is still made
    assert "seed --demo" in srv.log_text()


def test_development_sqlite_serve_with_no_seed_does_not_seed(make_server):
    srv = make_server("sqlite", start=False)
    srv.serve_args = ["--no-seed"]
    srv.start()
    assert _counts(srv.db_query, DEMO_COUNTS) == NO_DEMO


@pytest.mark.mariadb_only
def test_mariadb_serve_does_not_seed_demo_data_without_seed_demo(make_server, tmp_path):
    srv = make_server("mariadb", seed_demo=False)
    assert _counts(srv.db_query, DEMO_COUNTS) == NO_DEMO
    assert _airport_codes(srv.get("/api/flights/airports")) == REFERENCE_AIRPORTS
    assert "seed --demo" in srv.log_text()
    srv.restart()  # still empty: an empty catalogue is not a reason to seed
    assert _counts(srv.db_query, DEMO_COUNTS) == NO_DEMO

    out = _ok(_cli(["seed", "--demo", "--data-dir", str(srv.data_dir)], srv.env, tmp_path))
    assert f"({DEMO_COUNTS['flight_schedules']} new schedules)" in out, out
    assert _counts(srv.db_query, DEMO_COUNTS) == DEMO_COUNTS
    body = assert_json(srv.get(f"/api/flights/search?departure=ICN&arrival=NRT&date={cj.day(3)}"), 200)
    assert {f["flight_id"] for f in body["flights"]} == {"CJ101", "CJ102"}


# ============================================================================================
# serve --no-migrate


@pytest.fixture(params=["sqlite", "mariadb"])
def no_migrate_backend(request):
    if request.param == "mariadb":
        request.getfixturevalue("mariadb")  # skips when the backend is disabled
    return request.param


def _unstarted(make_server, backend, **kw):
    return make_server(backend, start=False, seed_demo=False, **kw)


def test_serve_no_migrate_refuses_a_database_with_pending_migrations(make_server, no_migrate_backend, tmp_path):
    srv = _unstarted(make_server, no_migrate_backend)
    args = ["serve", "--no-migrate", "--single-port", str(srv.port), "--data-dir", str(srv.data_dir)]
    names = MIGRATIONS["mysql" if no_migrate_backend == "mariadb" else "sqlite"]

    out = _cli(args, srv.env, tmp_path, timeout=60)
    assert out.returncode != 0, out.stdout
    assert f"{len(names)} pending migration(s): {', '.join(names)}" in out.stdout, out.stdout
    assert "cloudjet migrate" in out.stdout
    tables = (srv.db_query("SELECT name FROM sqlite_master WHERE type = 'table'") if no_migrate_backend == "sqlite"
              else srv.db_query("SELECT table_name FROM information_schema.tables WHERE table_schema = ?",
                                (srv.db_name,)))
    assert tables == [], "--no-migrate must not create anything"

    # one pending migration is enough to refuse, and it is the one named
    _ok(_cli(["migrate", "--data-dir", str(srv.data_dir)], srv.env, tmp_path))
    srv.db_query("DELETE FROM schema_migrations WHERE version = ?", (names[-1],))
    out = _cli(args, srv.env, tmp_path, timeout=60)
    assert out.returncode != 0, out.stdout
    assert f"1 pending migration(s): {names[-1]};" in out.stdout, out.stdout
    assert srv.db_query("SELECT version FROM schema_migrations WHERE version = ?", (names[-1],)) == []


def test_serve_no_migrate_serves_a_migrated_database_without_migrating(make_server, no_migrate_backend, tmp_path):
    srv = _unstarted(make_server, no_migrate_backend)
    _ok(_cli(["migrate", "--data-dir", str(srv.data_dir)], srv.env, tmp_path))
    _ok(_cli(["seed", "--demo", "--data-dir", str(srv.data_dir)], srv.env, tmp_path))
    before = srv.db_query("SELECT version, applied_at FROM schema_migrations ORDER BY version")
    srv.serve_args = ["--no-migrate"]
    srv.start()
    assert "migration applied" not in srv.log_text()
    assert srv.db_query("SELECT version, applied_at FROM schema_migrations ORDER BY version") == before
    user = srv.make_user()
    assert assert_json(srv.get("/api/auth/profile", headers=user.auth), 200)["user"]["email"] == user.email
    body = assert_json(srv.get(f"/api/flights/search?departure=ICN&arrival=KIX&date={cj.day(2)}"), 200)
    assert [f["flight_id"] for f in body["flights"]] == ["CJ111"]
