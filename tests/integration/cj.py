"""Helpers for CloudJet's black-box integration tests.

They start the real `cloudjet` binary (and private MariaDB / Redis servers) on free loopback
ports, each with its own temporary directory, and talk to them over HTTP and SQL.

Run with Debian's interpreter (it has pytest, requests, pymysql):
    /usr/bin/python3 -m pytest tests/integration -q
"""
from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import hmac
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Iterable

try:
    import pymysql
    import pymysql.cursors
    import requests
except ImportError as _e:  # e.g. a pyenv python3 first on PATH
    raise ImportError(f"{_e}: run the integration tests with Debian's interpreter: "
                      "/usr/bin/python3 -m pytest tests/integration") from _e

import openapi_check  # noqa: E402 - beside this file, so importable wherever cj is

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts"
HTTP_TIMEOUT = 10.0
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0

ADMIN_EMAIL = "admin@cloudjet.com"
DEFAULT_PASSWORD = "correct-horse-42"

# Korean messages of the contract (spec/API.md).
MSG_SIGNUP_OK = "회원가입이 성공적으로 완료되었습니다."
MSG_EMAIL_TAKEN = "이미 존재하는 이메일입니다."
MSG_LOGIN_OK = "로그인 성공"
MSG_LOGIN_MISSING = "이메일과 비밀번호를 입력해주세요."
MSG_BAD_CREDENTIALS = "이메일 또는 비밀번호가 잘못되었습니다."
MSG_TOKEN_MISSING = "토큰이 없습니다."
MSG_TOKEN_EXPIRED = "토큰이 만료되었습니다."
MSG_TOKEN_INVALID = "유효하지 않은 토큰입니다."
MSG_USER_NOT_FOUND = "사용자를 찾을 수 없습니다."
MSG_PROFILE_UPDATED = "프로필이 성공적으로 업데이트되었습니다."


def missing_field_message(field: str) -> str:
    return f"{field}는 필수 입력 항목입니다."


# ---------------------------------------------------------------------------------------------
# small utilities


def _ephemeral_range() -> tuple[int, int]:
    try:
        lo, hi = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(lo), int(hi)
    except (OSError, ValueError):
        return 32768, 60999


_port_rng = random.Random()


def free_port() -> int:
    """A TCP port that was free a moment ago, for a server to listen on.

    Chosen below the kernel's ephemeral range: a port the kernel hands out by itself (bind to 0)
    is also what every outgoing connection of the suites takes as its local port, so between
    "free" and the server's bind a client could take it ("Address already in use"). Ports the
    kernel never assigns on its own are only taken by another explicit bind."""
    lo, _hi = _ephemeral_range()
    first = 20000 if lo > 21000 else 1024
    top = lo - 1 if lo > 21000 else 65535
    for _ in range(200):
        port = _port_rng.randint(first, top)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("0.0.0.0", port))
            except OSError:
                continue
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"


def tail(path: Path | str, lines: int = 60) -> str:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError as e:
        return f"<cannot read {path}: {e}>"
    return "\n".join(text.splitlines()[-lines:])


def has_hangul(text: str) -> bool:
    return any("\uac00" <= ch <= "\ud7a3" for ch in text)


def wait_until(predicate, timeout: float, interval: float = 0.1, what: str = "condition"):
    """Polls `predicate` until it returns a truthy value (returned) or `timeout` passes."""
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 - polling tolerates transient errors
            last_exc = e
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}"
                               + (f" (last error: {last_exc!r})" if last_exc else ""))
        time.sleep(interval)


# ---------------------------------------------------------------------------------------------
# dates, times and prices as the tests compute them


def today() -> _dt.date:
    """Today in UTC (the server's calendar)."""
    return _dt.datetime.now(_dt.timezone.utc).date()


def day(offset: int) -> str:
    """Today (UTC) + offset days as YYYY-MM-DD."""
    return (today() + _dt.timedelta(days=offset)).isoformat()


def hms(value) -> str:
    """TIME columns come back as timedelta from MariaDB and as text from SQLite."""
    if isinstance(value, _dt.timedelta):
        secs = int(value.total_seconds())
        return f"{secs // 3600:02d}:{secs % 3600 // 60:02d}:{secs % 60:02d}"
    return str(value)


def ts_text(value) -> str:
    """A DATETIME/TIMESTAMP column (datetime from MariaDB, text from SQLite; UTC either way) as the
    API shows it: "2026-12-01T15:30:00Z"."""
    if isinstance(value, _dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value).replace(" ", "T")[:19] + "Z"


# The API's timestamps: UTC with a Z (README, "Timestamps").
API_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def utc_now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


def departure_utc(flight_date, departure_time, zone: str) -> _dt.datetime:
    """The instant a schedule departs: its flight_date and departure_time on the wall clock of the
    departure airport's zone (zoneinfo's default fold, like the server), in UTC."""
    from zoneinfo import ZoneInfo
    local = _dt.datetime.combine(_dt.date.fromisoformat(as_date_text(flight_date)),
                                 _dt.time.fromisoformat(hms(departure_time)), tzinfo=ZoneInfo(zone))
    return local.astimezone(_dt.timezone.utc)


def on_sale(flight_date, departure_time, zone: str, now: _dt.datetime, cutoff_minutes: int = 60) -> bool:
    """The server's sales rule: departing more than the cut-off after `now`."""
    return departure_utc(flight_date, departure_time, zone) - now > _dt.timedelta(minutes=cutoff_minutes)


def discounted(price: int, pct: int | None) -> int:
    """The price after a percentage discount, rounded half up in integers (as the server does)."""
    return price if pct is None else (price * (100 - pct) + 50) // 100


def as_date_text(value: Any) -> str:
    """DATE columns come back as datetime.date from MariaDB and as text from SQLite."""
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()[:10]
    return str(value)[:10]


def assert_json(resp: requests.Response, status: int) -> Any:
    """Asserts the status and the JSON content type, returns the parsed body."""
    assert resp.status_code == status, (
        f"{resp.request.method} {resp.url}: expected {status}, got {resp.status_code}: {resp.text[:500]}")
    ctype = resp.headers.get("Content-Type", "")
    assert ctype.replace(" ", "").lower() == "application/json;charset=utf-8", (
        f"{resp.request.method} {resp.url}: Content-Type {ctype!r}")
    try:
        return resp.json()
    except ValueError as e:
        raise AssertionError(f"{resp.request.method} {resp.url}: body is not JSON: {resp.text[:500]!r}") from e


def assert_error(resp: requests.Response, status: int, code: str, message: str | None = None) -> dict:
    """Asserts an error response: status, JSON content type, body {"message": ..., "error": code}."""
    body = assert_json(resp, status)
    assert isinstance(body, dict), body
    assert set(body) == {"message", "error"}, f"error body keys: {body}"
    assert body["error"] == code, body
    assert isinstance(body["message"], str) and body["message"].strip(), body
    if message is not None:
        assert body["message"] == message, body
    return body


# ---------------------------------------------------------------------------------------------
# JWT (HS256) helpers, to read the server's tokens and forge our own


def b64url_encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwt_parts(token: str) -> tuple[dict, dict]:
    head, payload, _sig = token.split(".")
    return json.loads(b64url_decode(head)), json.loads(b64url_decode(payload))


def jwt_signature_valid(token: str, secret: str) -> bool:
    head, payload, sig = token.split(".")
    expected = hmac.new(secret.encode(), f"{head}.{payload}".encode(), hashlib.sha256).digest()
    return hmac.compare_digest(expected, b64url_decode(sig))


def make_jwt(payload: dict, secret: str, alg: str = "HS256", header: dict | None = None) -> str:
    header = header if header is not None else {"alg": alg, "typ": "JWT"}
    signing_input = (b64url_encode(json.dumps(header, separators=(",", ":")).encode()) + "."
                     + b64url_encode(json.dumps(payload, separators=(",", ":")).encode()))
    if alg == "HS256":
        sig = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    elif alg == "HS512":
        sig = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha512).digest()
    elif alg == "none":
        sig = b""
    else:
        raise ValueError(alg)
    return signing_input + "." + b64url_encode(sig)


def claims(user_id: int, role: str = "USER", iat: int | None = None, ttl: int = 86400) -> dict:
    iat = int(time.time()) if iat is None else iat
    return {"user_id": user_id, "role": role, "iat": iat, "exp": iat + ttl}


# ---------------------------------------------------------------------------------------------
# legacy (werkzeug) password hashes written by the original Python services


def werkzeug_pbkdf2(password: str, iterations: int = 600000, salt: str | None = None) -> str:
    salt = salt or secrets.token_hex(8)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations).hex()
    return f"pbkdf2:sha256:{iterations}${salt}${digest}"


def werkzeug_scrypt(password: str, salt: str | None = None) -> str:
    salt = salt or secrets.token_hex(8)
    n, r, p = 32768, 8, 1
    digest = hashlib.scrypt(password.encode(), salt=salt.encode(), n=n, r=r, p=p,
                            maxmem=132 * n * r * p + 1024, dklen=64).hex()
    return f"scrypt:{n}:{r}:{p}${salt}${digest}"


# ---------------------------------------------------------------------------------------------
# process helpers

_live_servers: "list[Server]" = []
_live_lock = threading.Lock()


def live_servers() -> "list[Server]":
    with _live_lock:
        return list(_live_servers)


def _terminate(proc: subprocess.Popen, timeout: float) -> int | None:
    """SIGTERM, wait; returns the exit code or None if it had to be killed."""
    if proc.poll() is not None:
        return proc.returncode
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None


# ---------------------------------------------------------------------------------------------
# MariaDB


class MariaDB:
    """A private mariadbd (scripts/start-mariadb.sh) on 127.0.0.1:<free port>."""

    host = "127.0.0.1"
    user = "cloudjet"

    def __init__(self, base_dir: Path | None = None):
        self.base_dir = Path(base_dir or tempfile.mkdtemp(prefix="cj-mariadb-"))
        self.datadir = self.base_dir / "data"
        self.socket = self.datadir / "mysql.sock"
        self.log_path = self.base_dir / "mariadb.log"
        self.port = free_port()
        self.password = secrets.token_urlsafe(18)
        self.proc: subprocess.Popen | None = None
        self._user_ready = False
        self._counter = 0
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 90.0) -> "MariaDB":
        assert not self.running, "mariadb already running"
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [str(SCRIPTS / "start-mariadb.sh"), str(self.datadir), str(self.port)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mariadb exited with {self.proc.returncode}\n{self.diagnostics()}")
            try:
                self.root_connect(connect_timeout=2).close()
                break
            except pymysql.MySQLError:
                if time.monotonic() > deadline:
                    self.kill()
                    raise RuntimeError(f"mariadb not ready after {timeout}s\n{self.diagnostics()}")
                time.sleep(0.1)
        if not self._user_ready:
            self._create_app_user()
        # the application user over TCP, as the server will connect
        wait_until(lambda: self.connect(connect_timeout=2).close() or True, 15, what="mariadb TCP login")
        return self

    def _create_app_user(self) -> None:
        conn = self.root_connect()
        try:
            with conn.cursor() as cur:
                for host in ("127.0.0.1", "localhost"):
                    cur.execute(f"CREATE USER IF NOT EXISTS '{self.user}'@'{host}' IDENTIFIED BY %s",
                                (self.password,))
                    cur.execute(f"GRANT ALL PRIVILEGES ON *.* TO '{self.user}'@'{host}'")
                cur.execute("FLUSH PRIVILEGES")
        finally:
            conn.close()
        self._user_ready = True

    def stop(self, timeout: float = 60.0) -> None:
        """SIGTERM and wait for a clean shutdown."""
        if self.proc is None:
            return
        rc = _terminate(self.proc, timeout)
        if rc not in (0, None) and rc != -signal.SIGTERM:
            raise RuntimeError(f"mariadb exited with {rc}\n{self.diagnostics()}")

    def kill(self) -> None:
        if self.running:
            self.proc.kill()
            self.proc.wait()

    def freeze(self) -> None:
        """SIGSTOP: the port still accepts TCP connections (kernel backlog) but nothing answers."""
        assert self.running
        os.kill(self.proc.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        if self.running:
            os.kill(self.proc.pid, signal.SIGCONT)

    def close(self) -> None:
        try:
            if self.running:
                self.thaw()
                _terminate(self.proc, 30)
        finally:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def diagnostics(self) -> str:
        return (f"--- {self.log_path}\n{tail(self.log_path, 20)}\n"
                f"--- error.log\n{tail(self.datadir / 'error.log', 30)}")

    def root_connect(self, database: str | None = None, **kw) -> pymysql.connections.Connection:
        return pymysql.connect(unix_socket=str(self.socket), user="root", password="",
                               database=database, charset="utf8mb4", autocommit=True,
                               cursorclass=pymysql.cursors.DictCursor, **kw)

    def connect(self, database: str | None = None, **kw) -> pymysql.connections.Connection:
        kw.setdefault("connect_timeout", 5)
        return pymysql.connect(host=self.host, port=self.port, user=self.user,
                               password=self.password, database=database, charset="utf8mb4",
                               autocommit=True, cursorclass=pymysql.cursors.DictCursor, **kw)

    def new_database(self, prefix: str = "cj") -> str:
        with self._lock:
            self._counter += 1
            name = f"{prefix}_{self._counter}_{secrets.token_hex(4)}"
        conn = self.root_connect()
        try:
            with conn.cursor() as cur:
                cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        finally:
            conn.close()
        return name

    def execute(self, database: str, sql: str, params: Iterable | None = None) -> list[dict]:
        """Runs one statement (MySQL syntax, %s placeholders) as the application user."""
        conn = self.connect(database)
        try:
            with conn.cursor() as cur:
                cur.execute(sql, tuple(params) if params is not None else None)
                return list(cur.fetchall()) if cur.description else []
        finally:
            conn.close()


# ---------------------------------------------------------------------------------------------
# Redis


class RedisServer:
    """A private, non-persistent redis-server (scripts/start-redis.sh)."""

    host = "127.0.0.1"

    def __init__(self, base_dir: Path | None = None):
        self.base_dir = Path(base_dir or tempfile.mkdtemp(prefix="cj-redis-"))
        self.log_path = self.base_dir / "redis.log"
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 30.0) -> "RedisServer":
        assert not self.running
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [str(SCRIPTS / "start-redis.sh"), str(self.base_dir / "data"), str(self.port)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis exited with {self.proc.returncode}\n{tail(self.log_path)}")
            try:
                if self.command("PING") == "PONG":
                    return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"redis not ready after {timeout}s\n{tail(self.log_path)}")
            time.sleep(0.05)

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc is not None:
            _terminate(self.proc, timeout)

    def kill(self) -> None:
        if self.running:
            self.proc.kill()
            self.proc.wait()

    def close(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def command(self, *args: str | bytes | int) -> Any:
        """Sends one command in RESP and returns the decoded reply."""
        out = [f"*{len(args)}\r\n".encode()]
        for a in args:
            b = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(b), b))
        with socket.create_connection((self.host, self.port), timeout=5) as s:
            s.sendall(b"".join(out))
            return _RespReader(s).read()


class _RespReader:
    def __init__(self, sock: socket.socket):
        self.f = sock.makefile("rb")

    def _line(self) -> bytes:
        line = self.f.readline()
        if not line.endswith(b"\r\n"):
            raise OSError("connection closed by redis")
        return line[:-2]

    def read(self) -> Any:
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(f"redis error: {rest.decode()}")
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)
            return data[:-2].decode(errors="replace")
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise OSError(f"unexpected RESP reply {line!r}")


# ---------------------------------------------------------------------------------------------
# the CloudJet server under test


def one_shot(method: str, url: str, check_openapi: bool = True, **kw) -> requests.Response:
    """One request on its own connection (safe from any thread; requests.Session is not).
    The response is checked against docs/openapi.yaml (openapi_check.py)."""
    kw.setdefault("timeout", HTTP_TIMEOUT)
    with requests.Session() as s:
        s.trust_env = False
        resp = s.request(method, url, **kw)
    if check_openapi:
        openapi_check.check_response(resp)
    return resp


def cloudjet_bin() -> Path:
    return Path(os.environ.get("CLOUDJET_BIN", REPO / "build" / "cloudjet"))


def base_env() -> dict[str, str]:
    """A minimal environment: nothing from the caller leaks into the server's configuration."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        # The suites book many times per module-scoped user without paying; the per-user cap on
        # unpaid bookings (default 10) has its own tests, which set it.
        "MAX_UNPAID_BOOKINGS_PER_USER": "0",
        # Likewise the refund of captured payments no booking claimed (default 30 min after being
        # paid): the payment suites backdate unattached PAID payments; tests/integration/
        # test_holds.py turns it on.
        "ORPHAN_PAYMENT_REFUND_MINUTES": "0",
    }
    for key in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "TSAN_OPTIONS"):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


def db_env(mariadb: MariaDB, db_name: str) -> dict[str, str]:
    return {
        "DB_HOST": mariadb.host,
        "DB_PORT": str(mariadb.port),
        "DB_USER": mariadb.user,
        "DB_PASSWORD": mariadb.password,
        "DB_NAME": db_name,
    }


def run_cli(args: list[str], env: dict[str, str], cwd: Path | str | None = None,
            timeout: float = 120.0) -> subprocess.CompletedProcess:
    """Runs `cloudjet <args>` to completion (in `cwd`, default a fresh temp dir so no stray .env
    file is read), capturing stdout and stderr together."""
    with tempfile.TemporaryDirectory(prefix="cj-cli-") as scratch:
        return subprocess.run([str(cloudjet_bin()), *args], env=env, cwd=str(cwd or scratch),
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=timeout, text=True, errors="replace")


class User:
    def __init__(self, email: str, password: str, name: str, phone: str, birth_date: str,
                 token: str, user_id: int):
        self.email, self.password, self.name = email, password, name
        self.phone, self.birth_date = phone, birth_date
        self.token, self.user_id = token, user_id

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Server:
    """`cloudjet serve --single-port PORT --data-dir DIR` with a controlled environment.

    backend "sqlite": no DB variables (embedded SQLite at DIR/cloudjet.db).
    backend "mariadb": DB_* variables for `mariadb` and `db_name` (a fresh database if None).

    Demo data: `serve` seeds it by itself only into the embedded SQLite database outside
    production. On MariaDB the first start() runs `cloudjet seed --demo` (same environment) before
    serving when `seed_demo` is true, which is the default for a fresh database (db_name None);
    a given database (shared with another server, or adopted) is left as it is.
    """

    def __init__(self, data_dir: Path, backend: str = "sqlite", mariadb: MariaDB | None = None,
                 db_name: str | None = None, redis: RedisServer | None = None,
                 extra_env: dict[str, str | None] | None = None, port: int | None = None,
                 seed_demo: bool | None = None, serve_args: list[str] | None = None):
        assert backend in ("sqlite", "mariadb"), backend
        self.serve_args = list(serve_args or [])  # extra `serve` flags, e.g. ["--no-migrate"]
        self.seed_demo = (backend == "mariadb" and db_name is None) if seed_demo is None else seed_demo
        assert not (self.seed_demo and backend != "mariadb"), "SQLite servers seed themselves"
        self._seeded = False
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.backend = backend
        self.mariadb = mariadb
        if backend == "mariadb":
            assert mariadb is not None, "mariadb backend needs a MariaDB"
            self.db_name = db_name or mariadb.new_database()
        else:
            self.db_name = None
        self.redis = redis
        self.port = port or free_port()
        # free_port() only finds a port that was free: another process may bind it before the
        # server does. A port the harness chose is replaced on a first start that lost it.
        self._port_chosen = port is None
        self._ever_ready = False
        self.secret_key = secrets.token_urlsafe(32)
        self.admin_password = secrets.token_urlsafe(16)
        self.log_path = self.data_dir / "server.log"
        self.env = self.build_env(extra_env or {})
        if "CLOUDJET_ADMIN_PASSWORD" not in self.env:
            self.admin_password = None  # the server keeps (or generates) the admin's password
        self.proc: subprocess.Popen | None = None
        self.session = requests.Session()
        self.session.trust_env = False  # never go through a proxy from the environment
        self.exit_codes: list[int | None] = []
        self.stopped = True  # no process of ours is running (never started, or stopped/killed)

    # -- lifecycle ------------------------------------------------------------------------------

    def build_env(self, extra: dict[str, str]) -> dict[str, str]:
        env = base_env()
        env.update({
            "SECRET_KEY": self.secret_key,
            "CLOUDJET_ADMIN_PASSWORD": self.admin_password,
            "CLOUDJET_ENV": "development",
        })
        if self.backend == "mariadb":
            env.update(db_env(self.mariadb, self.db_name))
        if self.redis is not None:
            env.update({"REDIS_HOST": self.redis.host, "REDIS_PORT": str(self.redis.port)})
        for k, v in extra.items():  # a value of None removes the variable
            if v is None:
                env.pop(k, None)
            else:
                env[k] = str(v)
        return env

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = READY_TIMEOUT) -> "Server":
        for attempt in range(3):
            try:
                self._start_once(timeout)
                self._ever_ready = True
                return self
            except RuntimeError as e:
                lost_port = "Address already in use" in str(e) or "address in use" in str(e).lower()
                if not (lost_port and self._port_chosen and not self._ever_ready) or attempt == 2:
                    raise
                self.port = free_port()
        return self

    def _start_once(self, timeout: float) -> None:
        assert not self.running, "server already running"
        binary = cloudjet_bin()
        if not binary.exists():
            raise FileNotFoundError(f"{binary} does not exist (build it, or set CLOUDJET_BIN)")
        self.session.close()
        if self.seed_demo and not self._seeded:
            self.seed()
        self.stopped = False
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== harness: starting {binary} on port {self.port} =====\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                [str(binary), "serve", "--single-port", str(self.port), "--data-dir", str(self.data_dir),
                 *self.serve_args],
                env=self.env, cwd=self.data_dir, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)
        with _live_lock:
            if self not in _live_servers:
                _live_servers.append(self)
        deadline = time.monotonic() + timeout
        last = "no answer"
        while True:
            if self.proc.poll() is not None:
                self.stopped = True
                self._forget()
                raise RuntimeError(f"cloudjet exited with {self.proc.returncode} during start-up\n"
                                   f"{self.log_text_tail()}")
            try:
                r = self.session.get(self.url("/ready"), timeout=2)
                if r.status_code == 200:
                    return
                last = f"{r.status_code} {r.text[:200]}"
            except requests.RequestException as e:
                last = repr(e)
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"cloudjet not ready after {timeout}s (last: {last})\n"
                                   f"{self.log_text_tail()}")
            time.sleep(0.05)

    def seed(self, timeout: float = 120.0) -> None:
        """`cloudjet seed --demo` with the server's environment and data dir (output in the log)."""
        out = run_cli(["seed", "--demo", "--data-dir", str(self.data_dir)], self.env, cwd=self.data_dir,
                      timeout=timeout)
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== harness: cloudjet seed --demo (exit {out.returncode}) =====\n"
                      f"{out.stdout}".encode())
        if out.returncode != 0:
            raise RuntimeError(f"cloudjet seed --demo exited with {out.returncode}\n{out.stdout[-4000:]}")
        self._seeded = True

    def stop(self, timeout: float = STOP_TIMEOUT, check: bool = True) -> int | None:
        """SIGTERM, wait up to `timeout` s; asserts a clean exit (code 0) unless check=False."""
        if self.proc is None or self.stopped:
            return None
        self.stopped = True
        self.session.close()
        if self.proc.poll() is not None:
            rc = self.proc.returncode
        else:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.exit_codes.append(None)
                self._forget()
                if check:
                    raise AssertionError(f"cloudjet did not exit within {timeout}s of SIGTERM\n"
                                         f"{self.log_text_tail()}")
                return None
        self.exit_codes.append(rc)
        self._forget()
        if check:
            assert rc == 0, f"cloudjet exited with {rc} after SIGTERM\n{self.log_text_tail()}"
        return rc

    def kill(self) -> None:
        if self.running:
            self.proc.kill()
            self.proc.wait()
        self.stopped = True
        self.session.close()
        self._forget()

    def restart(self) -> "Server":
        self.stop()
        return self.start()

    def _forget(self) -> None:
        with _live_lock:
            if self in _live_servers:
                _live_servers.remove(self)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_text_tail(self, lines: int = 60) -> str:
        return f"--- {self.log_path} (last {lines} lines)\n{tail(self.log_path, lines)}"

    # -- HTTP -----------------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def request(self, method: str, path: str, check_openapi: bool = True, **kw) -> requests.Response:
        """Every response is checked against docs/openapi.yaml (openapi_check.py); a mismatch
        fails the test. check_openapi=False is the escape hatch (no test should need it)."""
        kw.setdefault("timeout", HTTP_TIMEOUT)
        resp = self.session.request(method, self.url(path), **kw)
        if check_openapi:
            openapi_check.check_response(resp)
        return resp

    def get(self, path: str, **kw) -> requests.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw) -> requests.Response:
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw) -> requests.Response:
        return self.request("PUT", path, **kw)

    def delete(self, path: str, **kw) -> requests.Response:
        return self.request("DELETE", path, **kw)

    # -- auth helpers ---------------------------------------------------------------------------

    @staticmethod
    def signup_body(**overrides) -> dict:
        body = {
            "name": "홍길동",
            "email": unique_email(),
            "password": DEFAULT_PASSWORD,
            "phone": "010-1234-5678",
            "birthDate": "1990-01-01",
        }
        body.update(overrides)
        return body

    def signup(self, **overrides) -> requests.Response:
        """POST /api/auth/signup with a valid body (unique email) updated by `overrides`."""
        return self.post("/api/auth/signup", json=self.signup_body(**overrides))

    def login_response(self, email: str, password: str, **kw) -> requests.Response:
        return self.post("/api/auth/login", json={"email": email, "password": password}, **kw)

    def login(self, email: str, password: str) -> str:
        r = self.login_response(email, password)
        body = assert_json(r, 200)
        return body["token"]

    def make_user(self, **overrides) -> User:
        body = self.signup_body(**overrides)
        r = self.post("/api/auth/signup", json=body)
        assert_json(r, 201)
        r = self.login_response(body["email"], body["password"])
        out = assert_json(r, 200)
        return User(body["email"], body["password"], body["name"], body["phone"], body["birthDate"],
                     out["token"], out["user"]["id"])

    def user_token(self) -> str:
        return self.make_user().token

    def admin_token(self) -> str:
        return self.login(ADMIN_EMAIL, self.admin_password)

    # -- database -------------------------------------------------------------------------------

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "cloudjet.db"

    def db_query(self, sql: str, params: Iterable | None = None) -> list[dict]:
        """Runs one statement written with `?` placeholders on the server's database and returns
        the rows as dicts (empty for statements without a result). Autocommit. Note: a `?` or `%`
        inside a string literal is not supported on MariaDB; pass values as parameters."""
        params = tuple(params or ())
        if self.backend == "sqlite":
            conn = sqlite3.connect(str(self.sqlite_path), timeout=10, isolation_level=None)
            try:
                conn.row_factory = sqlite3.Row
                cur = conn.execute(sql, params)
                rows = [dict(r) for r in cur.fetchall()] if cur.description else []
                return rows
            finally:
                conn.close()
        mysql_sql = sql.replace("%", "%%").replace("?", "%s")
        conn = self.mariadb.connect(self.db_name)
        try:
            with conn.cursor() as cur:
                cur.execute(mysql_sql, params)
                return list(cur.fetchall()) if cur.description else []
        finally:
            conn.close()

    def db_scalar(self, sql: str, params: Iterable | None = None) -> Any:
        rows = self.db_query(sql, params)
        assert rows, f"no rows for {sql}"
        return next(iter(rows[0].values()))

    def user_row(self, email: str) -> dict | None:
        rows = self.db_query("SELECT * FROM users WHERE email = ?", (email,))
        return rows[0] if rows else None

    def insert_user(self, email: str, password_hash: str, name: str = "레거시", phone: str = "010-2222-3333",
                    birth_date: str = "1985-05-05", role: str = "USER") -> int:
        self.db_query("INSERT INTO users (name, email, password_hash, phone, birth_date, role) "
                      "VALUES (?, ?, ?, ?, ?, ?)", (name, email, password_hash, phone, birth_date, role))
        return int(self.db_scalar("SELECT user_id FROM users WHERE email = ?", (email,)))


# ---------------------------------------------------------------------------------------------
# Prometheus text parsing

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text: str) -> list[tuple[str, dict[str, str], float]]:
    samples = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line.strip())
        if not m:
            continue
        labels = dict(_LABEL.findall(m.group(3) or ""))
        try:
            value = float(m.group(4))
        except ValueError:
            continue
        samples.append((m.group(1), labels, value))
    return samples


# ---------------------------------------------------------------------------------------------
# raw HTTP/1.1 (pipelining, HEAD, malformed requests) and load probes


class RawResponse:
    def __init__(self, status: int, reason: str, headers: list[tuple[str, str]], body: bytes):
        self.status, self.reason, self.header_list, self.body = status, reason, headers, body
        self.headers = {k.lower(): v for k, v in headers}

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self) -> str:
        return f"<RawResponse {self.status} {self.headers} {self.body[:200]!r}>"


class RawHttp:
    """One TCP connection speaking HTTP/1.1 by hand: send any bytes, read framed responses.

    `source` binds the client end to another loopback address (127.0.0.2, ...), which Linux
    accepts without configuration, to look like a different client."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = HTTP_TIMEOUT,
                 source: str | None = None):
        self.sock = socket.create_connection((host, port), timeout=timeout,
                                             source_address=(source, 0) if source else None)
        self.buf = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> bool:
        chunk = self.sock.recv(65536)
        if not chunk:
            return False
        self.buf += chunk
        return True

    def read_response(self, head: bool = False) -> RawResponse:
        """The next response; `head`: it answers a HEAD request (no body whatever the headers)."""
        while b"\r\n\r\n" not in self.buf:
            if not self._fill():
                raise ConnectionError(f"connection closed before a response (got {self.buf[:200]!r})")
        raw_head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = raw_head.decode("latin-1").split("\r\n")
        version, status, reason = (lines[0].split(" ", 2) + [""])[:3]
        assert version == "HTTP/1.1", lines[0]
        headers = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
        code = int(status)
        length = 0 if head or code in (204, 304) else int(dict((k.lower(), v) for k, v in headers)
                                                          .get("content-length", "0"))
        while len(self.buf) < length:
            if not self._fill():
                raise ConnectionError("connection closed inside a response body")
        body, self.buf = self.buf[:length], self.buf[length:]
        return RawResponse(code, reason, headers, body)

    def closed_by_server(self, timeout: float = 5.0) -> bool:
        """True when the server closes (EOF or reset) within `timeout` without sending anything
        more."""
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError):
            return True
        if chunk:
            self.buf += chunk
            return False
        return True

    def close(self) -> None:
        abort(self.sock)


def abort(sock: socket.socket) -> None:
    """Closes with a reset instead of a FIN: no TIME_WAIT left on the client's port (thousands of
    those keep later servers from binding ports that free_port() handed out)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


def start_server(srv: "Server", attempts: int = 3) -> "Server":
    """srv.start(), on another free port when the one picked was taken meanwhile (free_port()
    races with every other process binding or connecting)."""
    for attempt in range(attempts):
        try:
            return srv.start()
        except RuntimeError as e:
            if "Address already in use" not in str(e) or attempt == attempts - 1:
                raise
            srv.port = free_port()
    return srv


def http_request(method: str, path: str, headers: dict[str, str] | None = None,
                 body: bytes | None = None, host: str = "cloudjet.test") -> bytes:
    """One request as bytes (Content-Length added when there is a body)."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + (body or b"")


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile of `values` (0 for an empty list)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(round(pct / 100.0 * len(ordered) + 0.5))))
    return ordered[rank - 1]


class LatencyProbe:
    """A 'normal client' in a thread: one keep-alive session repeating `path` until stopped,
    recording each latency (seconds) and every failure (status other than `expect`, or an
    exception such as a timeout)."""

    def __init__(self, server: "Server", path: str, expect: int = 200, timeout: float = 10.0,
                 pause: float = 0.02, headers: dict[str, str] | None = None):
        self.url, self.expect, self.timeout, self.pause = server.url(path), expect, timeout, pause
        self.headers = headers or {}
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with requests.Session() as s:
            s.trust_env = False
            while not self._stop.is_set():
                t0 = time.monotonic()
                try:
                    r = s.get(self.url, timeout=self.timeout, headers=self.headers)
                    if r.status_code != self.expect:
                        self.failures.append(f"{r.status_code} {r.text[:200]}")
                except requests.RequestException as e:
                    self.failures.append(repr(e))
                self.latencies.append(time.monotonic() - t0)
                self._stop.wait(self.pause)

    def __enter__(self) -> "LatencyProbe":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=self.timeout + 5)

    def summary(self) -> str:
        ms = [v * 1000 for v in self.latencies]
        return (f"{len(ms)} requests, p50 {percentile(ms, 50):.1f} ms, p99 {percentile(ms, 99):.1f} ms, "
                f"max {max(ms, default=0):.1f} ms, failures {len(self.failures)}")


def process_rss_kib(pid: int) -> int:
    """VmRSS of a process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


def log_records(server: "Server", msg: str, **match) -> list[dict]:
    """The server's JSON log records with this `msg` whose fields equal `match`."""
    out = []
    for line in server.log_text().splitlines():
        if not line.startswith("{"):
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if rec.get("msg") == msg and all(rec.get(k) == v for k, v in match.items()):
            out.append(rec)
    return out


def access_log_lines(server: "Server", **match) -> list[dict]:
    """The server's access-log records (msg == "request") whose fields equal `match`."""
    return log_records(server, "request", **match)


def metric_value(server: "Server", name: str) -> float:
    """The value of the one unlabelled sample `name` on the server's /metrics (fails when absent)."""
    r = server.get("/metrics")
    assert r.status_code == 200, r.text[:300]
    values = [v for n, labels, v in parse_metrics(r.text) if n == name and not labels]
    assert len(values) == 1, f"{name}: {values}"
    return values[0]


def bookable_schedule(srv, min_seats: int = 10, days_ahead: int = 2) -> dict:
    """The newest ACTIVE demo schedule `days_ahead` or more days out with more than `min_seats`
    seats left, with the unit price a booking must pay (after its ACTIVE discount)."""
    row = srv.db_query(
        "SELECT fs.schedule_id AS sid, fs.flight_date AS d, f.departure_airport AS dep, "
        "f.arrival_airport AS arr, fs.current_price AS price, (SELECT MAX(x.discount_percentage) "
        "FROM flight_discounts x WHERE x.schedule_id = fs.schedule_id AND x.status = 'ACTIVE') AS pct "
        "FROM flight_schedules fs JOIN flights f ON f.flight_id = fs.flight_id "
        "WHERE fs.flight_date >= ? AND fs.status = 'ACTIVE' AND fs.available_seats > ? "
        "ORDER BY fs.schedule_id DESC LIMIT 1", (day(days_ahead), min_seats))[0]
    pct = None if row["pct"] is None else int(row["pct"])
    return {"sid": int(row["sid"]), "date": as_date_text(row["d"]), "dep": row["dep"],
            "arr": row["arr"], "unit": discounted(int(row["price"]), pct)}


def replica_of(make_server, first: "Server", env: dict, start: bool = True) -> "Server":
    """Another process on `first`'s database (the same MariaDB database or the same SQLite file)
    with configuration `env` and `first`'s SECRET_KEY, so its tokens work on both."""
    shared = {**{k: str(v) for k, v in env.items()}, "SECRET_KEY": first.secret_key}
    if first.backend == "mariadb":
        return make_server("mariadb", db_name=first.db_name, extra_env=shared, start=start)
    return make_server("sqlite", extra_env={**shared, "DATABASE_URL": f"sqlite://{first.sqlite_path}"},
                       start=start)


def start_together(*servers: "Server") -> None:
    """Starts the servers at the same moment (one thread each), so their start-up work and first
    background passes race each other; raises the first start-up failure."""
    errors: list[Exception] = []

    def boot(srv):
        try:
            srv.start()
        except Exception as e:  # noqa: BLE001 - re-raised below
            errors.append(e)

    threads = [threading.Thread(target=boot, args=(s,)) for s in servers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def search_path(row: dict) -> str:
    """The flight search of a bookable_schedule() row."""
    return f"/api/flights/search?departure={row['dep']}&arrival={row['arr']}&date={row['date']}"
