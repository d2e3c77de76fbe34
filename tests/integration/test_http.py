"""The HTTP transport under abuse: malformed paths, queries and headers get 4xx JSON answers (or,
for framing errors the parser cannot recover from, a 4xx JSON answer and a close), HTTP/1.1
pipelining and HEAD work, X-Forwarded-For is believed only from TRUSTED_PROXIES, one client
cannot hold more than its share of connections, and thousands of idle or trickling (slowloris)
connections do not slow a normal client down.

Transport only, so one backend (SQLite) is enough: the MariaDB runs of the other modules cover the
database side of the same routes."""
from __future__ import annotations

import json
import select
import socket
import threading
import time
import uuid

import pytest

import cj
from conftest import BACKENDS

pytestmark = pytest.mark.skipif("sqlite" not in BACKENDS, reason="transport tests run on SQLite")

HEALTH = "/api/flights/health"
LOGIN = "/api/auth/login"
SIGNUP = "/api/auth/signup"


def start_server(tmp_path_factory, name: str, **env) -> cj.Server:
    srv = cj.Server(tmp_path_factory.mktemp(name), backend="sqlite",
                    extra_env={"LOGIN_MAX_FAILURES_PER_CLIENT": "1000", **env})
    return cj.start_server(srv)


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = start_server(tmp_path_factory, "http")
    yield s
    s.stop()


@pytest.fixture
def fresh(tmp_path_factory):
    """fresh(**env): a server of its own for one test, stopped (clean exit asserted) afterwards."""
    made: list[cj.Server] = []

    def make(**env) -> cj.Server:
        s = start_server(tmp_path_factory, "http-fresh", **env)
        made.append(s)
        return s

    yield make
    for s in made:
        s.stop()


def raw(srv, **kw) -> cj.RawHttp:
    return cj.RawHttp(srv.port, **kw)


def assert_error_json(resp: cj.RawResponse, statuses: tuple[int, ...]) -> dict:
    assert resp.status in statuses, resp
    assert resp.headers["content-type"].replace(" ", "").lower() == "application/json;charset=utf-8", resp
    body = resp.json()
    assert set(body) == {"message", "error"}, body
    assert isinstance(body["message"], str) and body["message"].strip(), body
    return body


def assert_alive(srv) -> None:
    assert srv.running, srv.log_text_tail()
    r = cj.one_shot("GET", srv.url(HEALTH), timeout=5)
    assert r.status_code == 200, r.text


def book(srv, user: cj.User, row: dict, contact_email: str = "contact@example.com"):
    body = {"scheduleId": row["sid"],
            "passengers": [{"name": "승객", "nameEn": "PASSENGER", "birth": "1990-01-01", "gender": "F"}],
            "contactInfo": {"email": contact_email, "phone": "010-1234-5678"},
            "paymentMethod": "CARD", "totalAmount": row["unit"]}
    return srv.post("/api/bookings", json=body, headers=user.auth)


# ============================================================================================
# paths with invalid percent-escapes


BAD_PATHS = ["/%ff", "/%ff%fe", "/api/bookings/occupied-seats/%ff%fe", "/api/admin/flights/%ff%fe",
             "/api/bookings/seat-map/%c0%af", "/api/flights/%e2%82", "/api/auth/profile%ed%a0%80",
             "/api/bookings/%ff/cancel", "/api/admin/discounts/%fe", "/%", "/%zz", "/api/%4",
             "/api/payments/%80webhook", "/metrics%ff"]


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"])
def test_invalid_percent_escapes_in_paths_get_a_4xx_json_answer(srv, method):
    c = raw(srv)
    try:
        for path in BAD_PATHS:
            body = b"{}" if method in ("POST", "PUT") else None
            c.send(cj.http_request(method, path, {"Content-Type": "application/json"}, body))
            resp = c.read_response(head=method == "HEAD")
            if method == "HEAD":
                assert resp.status in (400, 404) and resp.body == b"", (path, resp)
            else:
                body = assert_error_json(resp, (400, 404))
                assert body["error"] in ("invalid_path", "not_found"), (path, body)
        # the same connection still serves
        c.send(cj.http_request("GET", HEALTH))
        assert c.read_response().status == 200
    finally:
        c.close()
    assert_alive(srv)


# ============================================================================================
# pipelining


def test_three_pipelined_gets_get_three_answers_in_order(srv):
    c = raw(srv)
    try:
        c.send(b"".join(cj.http_request("GET", HEALTH, {"X-Request-Id": f"pipe-{i}"}) for i in range(3)))
        for i in range(3):
            resp = c.read_response()
            assert resp.status == 200 and resp.headers["x-request-id"] == f"pipe-{i}", resp
            assert resp.json()["status"] == "healthy"
        # and the connection stays open for more
        c.send(cj.http_request("GET", HEALTH, {"X-Request-Id": "after"}))
        assert c.read_response().headers["x-request-id"] == "after"
    finally:
        c.close()


def test_pipelined_mixed_methods_are_answered_in_order(srv):
    row = cj.bookable_schedule(srv, min_seats=10, days_ahead=2)
    user = srv.make_user()
    auth = {"Authorization": f"Bearer {user.token}"}
    plan = [  # (method, path, headers, body, expected status)
        ("GET", HEALTH, {}, None, 200),
        ("HEAD", HEALTH, {}, None, 200),
        ("GET", cj.search_path(row), {}, None, 200),            # worker pool (or cache)
        ("POST", LOGIN, {"Content-Type": "application/json"}, b"{}", 400),  # CPU pool
        ("GET", "/api/bookings", auth, None, 200),            # database pool
        ("OPTIONS", "/api/bookings", {}, None, 204),
        ("DELETE", HEALTH, {}, None, 405),
        ("GET", "/nowhere", {}, None, 404),
        ("HEAD", f"/api/bookings/occupied-seats/{row['sid']}", {}, None, 200),
        ("GET", "/%ff", {}, None, 400),
    ]
    for rounds in (1, 2):  # 10 and 20 requests in one write (more than RESTinio reads ahead)
        c = raw(srv)
        try:
            reqs = plan * rounds
            c.send(b"".join(cj.http_request(m, p, {**h, "X-Request-Id": f"mix-{i}"}, b)
                            for i, (m, p, h, b, _) in enumerate(reqs)))
            for i, (method, path, _h, _b, status) in enumerate(reqs):
                resp = c.read_response(head=method == "HEAD")
                assert resp.status == status, (i, method, path, resp)
                assert resp.headers["x-request-id"] == f"mix-{i}", (i, method, path, resp)
                if method == "HEAD":
                    assert resp.body == b""
        finally:
            c.close()
    assert_alive(srv)


def test_ten_pipelined_database_reads_come_back_in_order(srv):
    user = srv.make_user()
    c = raw(srv)
    try:
        c.send(b"".join(cj.http_request("GET", "/api/auth/profile" if i % 2 else "/api/bookings",
                                        {"Authorization": f"Bearer {user.token}", "X-Request-Id": f"db-{i}"})
                        for i in range(10)))
        for i in range(10):
            resp = c.read_response()
            assert resp.status == 200 and resp.headers["x-request-id"] == f"db-{i}", resp
            assert ("user" in resp.json()) == bool(i % 2), resp
    finally:
        c.close()


# ============================================================================================
# HEAD wherever GET


def get_routes(srv, admin: dict, user: dict, row: dict) -> list[tuple[str, dict]]:
    return [
        *[(f"/api/{svc}/health", {}) for svc in ("auth", "flights", "bookings", "admin", "payments")],
        (cj.search_path(row), {}),
        ("/api/flights/airports", {}),
        ("/api/flights/featured", {}),
        ("/api/flights/promotions", {}),
        ("/api/auth/profile", user),
        ("/api/auth/profile", {}),  # 401
        ("/api/bookings", user),
        (f"/api/bookings/occupied-seats/{row['sid']}", {}),
        (f"/api/bookings/seat-map/{row['sid']}", {}),
        ("/api/flights/search", {}),  # 400
        ("/api/admin/flights", admin),
        ("/api/admin/schedules", admin),
        ("/api/admin/discounts", admin),
        ("/api/admin/bookings/search?term=user@example.com", admin),
        ("/api/admin/bookings", admin),
        ("/api/admin/audit", admin),
        ("/api/admin/bookings", user),  # 403
        ("/ready", {}),
        ("/metrics", {}),
        ("/no/such/route", {}),  # 404
    ]


def test_head_answers_like_get_without_a_body_on_every_get_route(srv):
    admin = {"Authorization": f"Bearer {srv.admin_token()}"}
    user = {"Authorization": f"Bearer {srv.user_token()}"}
    row = cj.bookable_schedule(srv, min_seats=10, days_ahead=2)
    c = raw(srv)
    seen = set()
    try:
        for path, headers in get_routes(srv, admin, user, row):
            c.send(cj.http_request("GET", path, headers))
            got = c.read_response()
            # HEAD, then a GET on the same write: the GET must come out intact behind the HEAD.
            c.send(cj.http_request("HEAD", path, headers) + cj.http_request("GET", HEALTH))
            head = c.read_response(head=True)
            after = c.read_response()
            assert head.status == got.status, (path, got, head)
            assert head.body == b"", (path, head)
            skip = {"x-request-id"} | ({"content-length"} if path == "/metrics" else set())
            assert ({k: v for k, v in head.headers.items() if k not in skip}
                    == {k: v for k, v in got.headers.items() if k not in skip}), (path, got, head)
            assert int(head.headers["content-length"]) == len(got.body) or path == "/metrics", (path, head)
            assert after.status == 200 and after.json()["status"] == "healthy", (path, after)
            seen.add(got.status)
    finally:
        c.close()
    assert {200, 400, 401, 403, 404} <= seen, seen


def test_allow_lists_head_for_get_routes(srv):
    r = srv.request("OPTIONS", HEALTH)
    assert r.status_code == 204
    assert r.headers["Allow"] == "GET, HEAD, OPTIONS"
    r = srv.delete(HEALTH)
    assert r.status_code == 405 and "HEAD" in r.headers["Allow"]


# ============================================================================================
# query strings


def test_rfc3986_query_characters_are_accepted(srv):
    admin = {"Authorization": f"Bearer {srv.admin_token()}"}
    row = cj.bookable_schedule(srv, min_seats=10, days_ahead=2)
    email = f"q+{uuid.uuid4().hex[:8]}@example.com"
    user = srv.make_user(email=email)
    assert book(srv, user, row, contact_email=email).status_code == 201

    c = raw(srv)
    try:
        def get(path, headers=admin):
            c.send(cj.http_request("GET", path, headers))
            return c.read_response()

        # raw '@' (and '+' sent as %2B) finds the booking by the user's email
        local, domain = email.split("@")
        found = get("/api/admin/bookings/search?term=" + local.replace("+", "%2B") + "@" + domain)
        assert found.status == 200, found
        assert found.json()["total"] == 1, found
        # '+' is a space, as in every form encoding: no such email
        spaced = get("/api/admin/bookings/search?term=" + email)
        assert spaced.status == 200 and spaced.json()["total"] == 0, spaced
        for term in ["user@example.com", "a:b/c?d", "x,y;z", "a|b", "!$'()*", "~._-", "[1]{2}",
                     "%ED%99%8D%EA%B8%B8%EB%8F%99", "a=b"]:
            resp = get("/api/admin/bookings/search?term=" + term)
            assert resp.status == 200, (term, resp)
            assert isinstance(resp.json()["bookings"], list), (term, resp)
        # the flight search with unrelated extra parameters full of them
        resp = get(cj.search_path(row) + "&from=a@b:c/d?e,f;g|h&utm=%7C", {})
        assert resp.status == 200 and isinstance(resp.json()["flights"], list), resp
    finally:
        c.close()


@pytest.mark.parametrize("query", ["term=%ff", "term=%zz", "term=%", "term=%E2%82", "term=%C0%AF",
                                   "%ff=x", "term=ok&x=%fe%ff"])
def test_invalid_escapes_in_a_query_are_a_400_naming_the_query(srv, query):
    admin = {"Authorization": f"Bearer {srv.admin_token()}"}
    c = raw(srv)
    try:
        c.send(cj.http_request("GET", "/api/admin/bookings/search?" + query, admin))
        body = assert_error_json(c.read_response(), (400,))
        assert body["error"] == "invalid_field" and body["message"].startswith("query"), body
    finally:
        c.close()


# ============================================================================================
# header limits and framing errors


def test_headers_over_the_limit_get_431_and_the_connection_survives(srv):
    c = raw(srv)
    try:
        c.send(cj.http_request("GET", HEALTH, {"X-Big": "a" * 20000}))
        body = assert_error_json(c.read_response(), (431,))
        assert body["error"] == "headers_too_large"
        # many medium headers adding up past 16 KiB
        c.send(cj.http_request("GET", HEALTH, {f"X-H{i}": "b" * 600 for i in range(40)}))
        assert_error_json(c.read_response(), (431,))
        c.send(cj.http_request("GET", HEALTH, {"X-Ok": "c" * 8000}))
        assert c.read_response().status == 200
    finally:
        c.close()
    assert_alive(srv)


@pytest.mark.parametrize("case, data, status", [
    ("header beyond the parser limit", cj.http_request("GET", HEALTH, {"X-Huge": "a" * 70000}), 431),
    ("too many header fields", cj.http_request("GET", HEALTH, {f"X-{i}": "v" for i in range(150)}), 431),
    ("url too long", cj.http_request("GET", "/api/flights/search?x=" + "a" * 9000), 414),
    ("garbage request line", b"HELLO\r\n\r\n", 400),
    ("bad method", b"G\x00T / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("no colon in a header", b"GET / HTTP/1.1\r\nHost: x\r\nBadHeader\r\n\r\n", 400),
    ("two content-lengths", b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                            b"Content-Length: 3\r\n\r\n{}", 400),
    ("control byte in header value", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n", 400),
    ("bad content-length", b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400),
    ("bad chunk size", b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
])
def test_framing_errors_get_a_json_answer_then_a_close(srv, case, data, status):
    c = raw(srv)
    try:
        c.send(data)
        resp = c.read_response()
        assert resp.status == status, (case, resp)
        assert resp.headers.get("connection") == "close", (case, resp)
        assert_error_json(resp, (status,))
        assert c.closed_by_server(5), case
    finally:
        c.close()
    assert_alive(srv)


def test_a_framing_error_behind_pipelined_requests_closes_without_a_misleading_answer(srv):
    # RESTinio drops the pending answers of a connection it closes for a parse error; an answer
    # for the error then would be read as the answer to the first request. So: a plain close.
    c = raw(srv)
    try:
        c.send(cj.http_request("GET", HEALTH, {"X-Request-Id": "first"}) + b"HELLO\r\n\r\n")
        assert c.closed_by_server(5)
        assert c.buf == b"" or c.buf.startswith(b"HTTP/1.1 200"), c.buf[:300]
    finally:
        c.close()
    assert_alive(srv)


# ============================================================================================
# who the client is: X-Forwarded-For and TRUSTED_PROXIES


def failed_login(srv, xff: str | None, email: str, rid: str):
    headers = {"X-Request-Id": rid}
    if xff is not None:
        headers["X-Forwarded-For"] = xff
    return srv.post(LOGIN, json={"email": email, "password": "wrong-password-1"}, headers=headers)


def client_of(srv, rid: str) -> str:
    recs = cj.wait_until(lambda: cj.access_log_lines(srv, request_id=rid), 5, what=f"access log of {rid}")
    return recs[0]["client"]


def test_forwarded_for_is_believed_only_from_a_trusted_proxy(fresh):
    env = {"LOGIN_MAX_FAILURES_PER_CLIENT": "3", "LOGIN_MAX_FAILURES_PER_EMAIL": "1000"}
    behind = fresh(TRUSTED_PROXIES="127.0.0.1/32, 10.0.0.0/8", **env)
    email = cj.unique_email("xff")
    # The proxy (127.0.0.1) says which client each request is from: each client has its own count.
    for i in range(3):
        r = failed_login(behind, f"198.51.100.1, 203.0.113.1", email, f"a-{i}")
        assert r.status_code == 401, r.text
    assert client_of(behind, "a-0") == "203.0.113.1"
    r = failed_login(behind, "203.0.113.1", email, "a-3")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0, r.text
    r = failed_login(behind, "203.0.113.2", email, "b-0")
    assert r.status_code == 401, r.text
    assert client_of(behind, "b-0") == "203.0.113.2"
    # A chain of trusted hops is skipped; what the client wrote left of it is not believed.
    r = failed_login(behind, "203.0.113.1, 203.0.113.9, 10.1.2.3", email, "c-0")
    assert r.status_code == 401 and client_of(behind, "c-0") == "203.0.113.9", r.text
    # IPv6 clients share a count per /64.
    for i, addr in enumerate(["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::3"]):
        assert failed_login(behind, addr, email, f"v6-{i}").status_code == 401
    assert client_of(behind, "v6-0") == "2001:db8:1:2::1"
    assert failed_login(behind, "2001:db8:1:2::77", email, "v6-3").status_code == 429
    assert failed_login(behind, "2001:db8:1:3::1", email, "v6-4").status_code == 401

    # Without TRUSTED_PROXIES the header is ignored: every request is the TCP peer's.
    direct = fresh(**env)
    for i in range(3):
        r = failed_login(direct, f"203.0.113.{10 + i}", email, f"d-{i}")
        assert r.status_code == 401, r.text
        assert client_of(direct, f"d-{i}") == "127.0.0.1"
    r = failed_login(direct, "203.0.113.99", email, "d-3")
    assert r.status_code == 429, r.text


def test_signups_are_throttled_per_client(fresh):
    srv = fresh(TRUSTED_PROXIES="127.0.0.1", SIGNUP_MAX_PER_CLIENT="2")
    def signup(xff):
        return srv.post(SIGNUP, json=srv.signup_body(), headers={"X-Forwarded-For": xff})
    assert signup("203.0.113.1").status_code == 201
    assert signup("203.0.113.1").status_code == 201
    r = signup("203.0.113.1")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0, r.text
    assert r.json()["error"] == "too_many_attempts"
    assert signup("203.0.113.2").status_code == 201
    # a refused signup created nothing
    assert int(srv.db_scalar("SELECT COUNT(*) AS n FROM users WHERE role = 'USER'")) == 3


# ============================================================================================
# connections: per-client cap, thousands idle, slowloris


def test_one_client_cannot_hold_more_than_its_connection_share(fresh):
    srv = fresh(MAX_CONNECTIONS_PER_CLIENT="5", KEEPALIVE_TIMEOUT_SECONDS="30")
    srv.session.close()  # the harness's keep-alive connection would count as one of the five
    cj.wait_until(lambda: open_connections_raw(srv) == 0, 5, what="the harness connection to close")
    held = [raw(srv) for _ in range(5)]
    try:
        for c in held:  # all five are served
            c.send(cj.http_request("GET", HEALTH))
            assert c.read_response().status == 200
        extra = raw(srv)
        try:
            extra.send(cj.http_request("GET", HEALTH))
        except OSError:
            pass
        assert extra.closed_by_server(5), "the sixth connection of one client was not refused"
        extra.close()
        # another client is not affected
        other = raw(srv, source="127.0.0.2")
        other.send(cj.http_request("GET", HEALTH))
        assert other.read_response().status == 200
        other.close()
        # a slot freed is a slot usable again
        held.pop().close()
        def reconnects():
            c = raw(srv)
            try:
                c.send(cj.http_request("GET", HEALTH))
                return c.read_response().status == 200
            except OSError:
                return False
            finally:
                c.close()
        cj.wait_until(reconnects, 5, what="a connection after one was closed")
    finally:
        for c in held:
            c.close()
    m = srv.get("/metrics").text
    refused = [v for n, _l, v in cj.parse_metrics(m) if n == "cloudjet_http_connections_refused"]
    assert refused and refused[0] >= 1, refused


def test_a_trusted_proxy_is_not_capped(fresh):
    srv = fresh(MAX_CONNECTIONS_PER_CLIENT="3", TRUSTED_PROXIES="127.0.0.1")
    conns = [raw(srv) for _ in range(8)]
    try:
        for c in conns:
            c.send(cj.http_request("GET", HEALTH))
            assert c.read_response().status == 200
    finally:
        for c in conns:
            c.close()


def open_connections_raw(srv) -> float:
    """cloudjet_http_connections_open, asked from another client address (not counting itself)."""
    c = raw(srv, source="127.0.0.3")
    try:
        c.send(cj.http_request("GET", "/metrics"))
        text = c.read_response().body.decode()
    finally:
        c.close()
    return next(v for n, _l, v in cj.parse_metrics(text) if n == "cloudjet_http_connections_open") - 1


def open_idle(port: int, n: int, sources: list[str]) -> list[socket.socket]:
    out = []
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=10,
                                     source_address=(sources[i % len(sources)], 0))
        out.append(s)
    return out


def open_connections(srv) -> float:
    m = srv.get("/metrics").text
    return next(v for n, _l, v in cj.parse_metrics(m) if n == "cloudjet_http_connections_open")


def test_thousands_of_idle_connections_do_not_slow_a_normal_client(fresh, capsys):
    srv = fresh(KEEPALIVE_TIMEOUT_SECONDS="60")
    row = cj.bookable_schedule(srv, min_seats=10, days_ahead=2)
    rss_before = cj.process_rss_kib(srv.proc.pid)
    # 3000 connections from 15 client addresses (200 each, under the per-client cap of 256)
    idle = open_idle(srv.port, 3000, [f"127.0.1.{i}" for i in range(1, 16)])
    try:
        cj.wait_until(lambda: open_connections(srv) >= 3000, 20, what="3000 open connections")
        rss_idle = cj.process_rss_kib(srv.proc.pid)
        with cj.LatencyProbe(srv, cj.search_path(row), pause=0.01) as probe:
            time.sleep(6)
        assert not probe.failures, probe.failures[:5]
        assert len(probe.latencies) > 20, probe.summary()
        # the idle ones are still there (and were not served anything)
        assert open_connections(srv) >= 3000
    finally:
        for s in idle:
            cj.abort(s)
    cj.wait_until(lambda: open_connections(srv) < 10, 20, what="the idle connections to be gone")
    rss_after = cj.process_rss_kib(srv.proc.pid)
    with capsys.disabled():
        print(f"\n[3000 idle connections] search probe: {probe.summary()}; RSS {rss_before / 1024:.1f} MiB "
              f"before, {rss_idle / 1024:.1f} MiB with 3000 idle, {rss_after / 1024:.1f} MiB after they closed")


def test_slowloris_clients_are_cut_off_and_do_not_slow_a_normal_client(fresh, capsys):
    timeout = 3
    srv = fresh(KEEPALIVE_TIMEOUT_SECONDS=str(timeout))
    row = cj.bookable_schedule(srv, min_seats=10, days_ahead=2)
    request = cj.http_request("GET", HEALTH, {"X-Slow": "x" * 200})
    socks = open_idle(srv.port, 200, [f"127.0.2.{i}" for i in range(1, 5)])
    started = time.monotonic()
    closed_at: dict[int, float] = {}
    answered: list[bytes] = []
    stop = threading.Event()

    def trickle():
        pos = 0
        while not stop.is_set() and len(closed_at) < len(socks):
            for i, s in enumerate(socks):
                if i in closed_at:
                    continue
                try:
                    s.send(request[pos % (len(request) - 4):][:1])  # never completes the headers
                except OSError:
                    closed_at[i] = time.monotonic() - started
                    continue
                r, _, _ = select.select([s], [], [], 0)
                if r:
                    try:
                        data = s.recv(4096)
                    except OSError:
                        data = b""
                    if data:
                        answered.append(data[:100])  # never answered as if complete
                    else:
                        closed_at[i] = time.monotonic() - started
            pos += 1
            stop.wait(0.25)

    t = threading.Thread(target=trickle, daemon=True)
    t.start()
    try:
        with cj.LatencyProbe(srv, cj.search_path(row), pause=0.01) as probe:
            cj.wait_until(lambda: len(closed_at) == len(socks), timeout + 10, interval=0.2,
                          what="the server closing every trickling connection")
    finally:
        stop.set()
        t.join(5)
        for s in socks:
            cj.abort(s)
    assert not probe.failures, probe.failures[:5]
    assert not answered, answered[:3]
    # cut off after the read limit (RESTinio checks timers once a second), not served forever
    assert max(closed_at.values()) < timeout + 4, sorted(closed_at.values())[-5:]
    assert min(closed_at.values()) >= timeout - 0.5, sorted(closed_at.values())[:5]
    with capsys.disabled():
        print(f"\n[200 slowloris connections] search probe: {probe.summary()}; "
              f"trickling connections closed after {min(closed_at.values()):.1f}–"
              f"{max(closed_at.values()):.1f} s")
    assert_alive(srv)


# ============================================================================================
# the access log: asynchronous, batched, and complete at a graceful shutdown


def pipelined_health(port: int, prefix: str, n: int, chunk: int = 50) -> int:
    """n pipelined GETs of the health route on one connection, X-Request-Id prefix-0..n-1;
    returns how many 200 answers came back."""
    answered = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        buf = b""
        for start in range(0, n, chunk):
            batch = range(start, min(n, start + chunk))
            s.sendall(b"".join(f"GET {HEALTH} HTTP/1.1\r\nHost: x\r\nX-Request-Id: {prefix}-{i}\r\n\r\n".encode()
                               for i in batch))
            want = answered + len(batch)
            while buf.count(b"HTTP/1.1 200") < want:
                data = s.recv(65536)
                assert data, "connection closed early"
                buf += data
            answered = buf.count(b"HTTP/1.1 200")
    return answered


def test_every_access_line_is_written_before_a_graceful_shutdown_exits(fresh):
    """Thousands of requests answered as fast as the server can, then SIGTERM at once: the
    process exits 0 with one access line per request on its stdout (the queue is drained)."""
    srv = fresh(ACCESS_LOG="true")
    prefix, per_conn, conns = f"drain-{uuid.uuid4().hex[:8]}", 1500, 4
    counts = [0] * conns

    def run(k: int) -> None:
        counts[k] = pipelined_health(srv.port, f"{prefix}-{k}", per_conn)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counts == [per_conn] * conns
    srv.stop()  # asserts exit code 0
    lines = [json.loads(l) for l in srv.log_text().splitlines() if l.startswith("{")]
    ids = {l["request_id"] for l in lines if l.get("msg") == "request" and l["request_id"].startswith(prefix)}
    assert len(ids) == per_conn * conns, f"{per_conn * conns - len(ids)} access lines missing"
    one = next(l for l in lines if l.get("request_id") == f"{prefix}-0-0")
    assert one["route"] == HEALTH and one["status"] == 200 and one["method"] == "GET"
    assert one["path"] == HEALTH and one["service"] == "flight" and isinstance(one["duration_ms"], float)
    assert one["level"] == "info" and one.get("trace_id", "absent") != ""  # never an empty id
    assert [l for l in lines if l.get("msg") == "stopped"], "no 'stopped' line"


def test_log_lines_dropped_is_exported_and_zero_at_normal_load(srv):
    for _ in range(20):
        assert srv.get(HEALTH).status_code == 200
    assert cj.metric_value(srv, "cloudjet_log_lines_dropped") == 0
