"""Load shedding: a flood of expensive requests (Argon2 signups, slow payment-gateway calls) is
refused early with 503 + Retry-After (or 429 per client) instead of queueing without bound, while
another client's searches, bookings and /ready keep answering.

Latency figures are printed (p99 of the normal client's search during the flood); nothing asserts
on them, the machines running this are shared."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import threading
import time
import uuid

import pytest
import requests

import cj
from fake_bootpay import APPLICATION_ID, PRIVATE_KEY, FakeBootpay

SIGNUP = "/api/auth/signup"
FLOOD_SECONDS = 6


def sign(raw: bytes) -> str:
    return base64.b64encode(hmac.new(PRIVATE_KEY.encode(), raw, hashlib.sha256).digest()).decode()


def paid_event(order_id: str, receipt_id: str, price: int) -> dict:
    return {"receipt_id": receipt_id, "order_id": order_id, "price": price, "status": 1,
            "status_en": "complete", "method": "card", "pg": "nicepay"}


def init_payment(srv, user: cj.User, amount: int) -> str:
    r = srv.post("/api/payments/init", json={"amount": amount}, headers=user.auth)
    assert r.status_code == 200, r.text
    return r.json()["order_id"]


class Booker:
    """The normal client's bookings, one every `every` seconds, each expected to be 201."""

    def __init__(self, srv, user: cj.User, row: dict, every: float = 0.25):
        self.url, self.user, self.row, self.every = srv.url("/api/bookings"), user, row, every
        self.statuses: list[int] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        body = {"scheduleId": self.row["sid"],
                "passengers": [{"name": "승객", "nameEn": "PASSENGER", "birth": "1990-01-01", "gender": "F"}],
                "contactInfo": {"email": "contact@example.com", "phone": "010-1234-5678"},
                "paymentMethod": "CARD", "totalAmount": self.row["unit"]}
        with requests.Session() as s:
            s.trust_env = False
            while not self._stop.is_set():
                try:
                    r = s.post(self.url, json=body, headers=self.user.auth, timeout=15)
                    self.statuses.append(r.status_code)
                    if r.status_code != 201:
                        self.failures.append(f"{r.status_code} {r.text[:200]}")
                except requests.RequestException as e:
                    self.failures.append(repr(e))
                self._stop.wait(self.every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(20)


class Flood:
    """`threads` clients hammering `send(session) -> Response` until stopped, recording every
    answer (status, Retry-After, seconds) and every exception (a hang shows up as a timeout)."""

    def __init__(self, threads: int, send, pause_after_refusal: float = 0.02):
        self.send, self.pause = send, pause_after_refusal
        self.answers: list[tuple[int, str | None, float]] = []
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self):
        with requests.Session() as s:
            s.trust_env = False
            while not self._stop.is_set():
                t0 = time.monotonic()
                try:
                    r = self.send(s)
                    with self._lock:
                        self.answers.append((r.status_code, r.headers.get("Retry-After"), time.monotonic() - t0))
                    if r.status_code in (429, 503):
                        self._stop.wait(self.pause)
                except requests.RequestException as e:
                    with self._lock:
                        self.errors.append(repr(e))

    def __enter__(self):
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for t in self._threads:
            t.join(30)

    def count(self, status: int) -> int:
        return sum(1 for s, _r, _t in self.answers if s == status)

    def summary(self) -> str:
        by = {}
        for s, _r, _t in self.answers:
            by[s] = by.get(s, 0) + 1
        slowest = max((t for _s, _r, t in self.answers), default=0)
        return f"{len(self.answers)} answers {dict(sorted(by.items()))}, slowest {slowest:.2f} s"


def assert_shed_cleanly(flood: Flood, allowed: set[int]):
    assert not flood.errors, flood.errors[:5]  # every request answered, none hung or reset
    statuses = {s for s, _r, _t in flood.answers}
    assert statuses <= allowed, flood.summary()
    for status, retry_after, _t in flood.answers:
        if status in (429, 503):
            assert retry_after is not None and int(retry_after) >= 1, (status, retry_after)
    assert max(t for _s, _r, t in flood.answers) < 15, flood.summary()


def new_server(server_factory, **env) -> cj.Server:
    return cj.start_server(server_factory(extra_env=env, start=False))


def test_signup_flood_is_shed_while_searches_bookings_and_ready_keep_answering(server_factory, backend,
                                                                                capsys):
    srv = new_server(server_factory,
                     TRUSTED_PROXIES="127.0.0.1/32",  # the flood comes from many (forwarded) clients
                     CPU_THREADS="1", WORK_QUEUE_MAX="4", WORK_QUEUE_MAX_WAIT_MS="300",
                     SIGNUP_MAX_PER_CLIENT="1000000",
                     LOGIN_MAX_FAILURES_PER_CLIENT="1000")
    user = srv.make_user()
    row = cj.bookable_schedule(srv, min_seats=60, days_ahead=3)
    users_before = int(srv.db_scalar("SELECT COUNT(*) AS n FROM users"))

    def signup(s):
        xff = f"198.18.{random.randrange(256)}.{random.randrange(1, 255)}"
        return s.post(srv.url(SIGNUP), json=srv.signup_body(), headers={"X-Forwarded-For": xff}, timeout=20)

    with cj.LatencyProbe(srv, cj.search_path(row), pause=0.02) as search, \
            cj.LatencyProbe(srv, "/ready", pause=0.2) as ready, \
            Booker(srv, user, row) as booker:
        time.sleep(1)  # the normal client's baseline
        with Flood(24, signup) as flood:
            time.sleep(FLOOD_SECONDS)
    assert_shed_cleanly(flood, {201, 503})
    assert flood.count(503) > 0, f"nothing was shed: {flood.summary()}"
    assert flood.count(201) > 0, f"nothing got through: {flood.summary()}"
    assert not search.failures, search.failures[:5]
    assert not ready.failures, ready.failures[:5]
    assert not booker.failures, booker.failures[:5]
    assert len(booker.statuses) >= 5, booker.statuses
    # what was refused created nothing; what was answered 201 exists
    users_after = int(srv.db_scalar("SELECT COUNT(*) AS n FROM users"))
    assert users_after - users_before == flood.count(201)
    # and once the flood is over, signups are taken again at once
    assert srv.signup().status_code == 201
    with capsys.disabled():
        print(f"\n[{backend}: signup flood, 24 clients] flood: {flood.summary()}; "
              f"normal client's search: {search.summary()}; bookings {len(booker.statuses)} x 201; "
              f"/ready {len(ready.latencies)} x 200")


def test_one_client_flooding_signups_is_throttled_per_client(server_factory, backend):
    srv = new_server(server_factory, SIGNUP_MAX_PER_CLIENT="5", LOGIN_MAX_FAILURES_PER_CLIENT="1000")
    before = int(srv.db_scalar("SELECT COUNT(*) AS n FROM users"))
    with Flood(8, lambda s: s.post(srv.url(SIGNUP), json=srv.signup_body(), timeout=20),
               pause_after_refusal=0.05) as flood:
        time.sleep(3)
    assert_shed_cleanly(flood, {201, 429, 503})
    assert flood.count(201) <= 5, flood.summary()
    assert flood.count(429) > 0, flood.summary()
    assert int(srv.db_scalar("SELECT COUNT(*) AS n FROM users")) - before == flood.count(201)
    # another client is not throttled by it
    r = cj.RawHttp(srv.port, source="127.0.0.2")
    try:
        body = json.dumps(srv.signup_body()).encode()
        r.send(cj.http_request("POST", SIGNUP, {"Content-Type": "application/json"}, body))
        assert r.read_response().status == 201
    finally:
        r.close()


def test_a_slow_payment_gateway_holds_only_its_own_pool(server_factory, backend, capsys):
    fake = FakeBootpay(APPLICATION_ID, PRIVATE_KEY).start()
    try:
        srv = new_server(server_factory, BOOTPAY_PRIVATE_KEY=PRIVATE_KEY,
                         BOOTPAY_REST_API_KEY=APPLICATION_ID, BOOTPAY_API_URL=fake.url,
                         GATEWAY_THREADS="2", WORK_QUEUE_MAX_WAIT_MS="300",
                         WORK_QUEUE_TIMEOUT_MS="3000", LOGIN_MAX_FAILURES_PER_CLIENT="1000")
        user = srv.make_user()
        row = cj.bookable_schedule(srv, min_seats=60, days_ahead=3)
        events = {}
        for _ in range(40):
            order = init_payment(srv, user, 1000)
            receipt = "rcpt-" + uuid.uuid4().hex[:20]
            fake.add_receipt(receipt, order, 1000)
            events[order] = json.dumps(paid_event(order, receipt, price=1000)).encode()
        fake.set_delay(2, "receipt")  # below the 3 s client timeout: slow, not failing

        def webhook(s):  # senders retry what was refused, like Bootpay does
            raw = random.choice(list(events.values()))
            return s.post(srv.url("/api/payments/webhook"), data=raw, timeout=20,
                          headers={"Content-Type": "application/json", "Bootpay-Signature": sign(raw)})

        with cj.LatencyProbe(srv, cj.search_path(row), pause=0.02) as search, \
                cj.LatencyProbe(srv, "/ready", pause=0.2) as ready, \
                Booker(srv, user, row) as booker:
            with Flood(12, webhook, pause_after_refusal=0.1) as flood:
                time.sleep(FLOOD_SECONDS)
        assert_shed_cleanly(flood, {200, 503})
        assert flood.count(503) > 0, flood.summary()
        # queued webhooks that could not start within WORK_QUEUE_TIMEOUT_MS were dropped, not run
        # late; the others were refused at the door
        pools = {labels["pool"]: v for n, labels, v in cj.parse_metrics(srv.get("/metrics").text)
                 if n == "cloudjet_pool_expired"}
        refused = {labels["pool"]: v for n, labels, v in cj.parse_metrics(srv.get("/metrics").text)
                   if n == "cloudjet_pool_refused"}
        assert pools["gateway"] > 0 and refused["gateway"] > 0, (pools, refused)
        assert pools["database"] == 0 and refused["database"] == 0, (pools, refused)
        assert not search.failures, search.failures[:5]
        assert not ready.failures, ready.failures[:5]
        assert not booker.failures, booker.failures[:5]
        # the gateway back to normal: every webhook still unapplied, sent again, is applied
        fake.set_delay(0, "receipt")
        unpaid = [o for o in events if srv.db_scalar("SELECT status FROM payments WHERE order_id = ?", (o,)) != "PAID"]
        assert unpaid, "the slow gateway let every webhook through"
        for order in unpaid:
            raw = events[order]
            r = requests.post(srv.url("/api/payments/webhook"), data=raw, timeout=20,
                              headers={"Content-Type": "application/json", "Bootpay-Signature": sign(raw)})
            assert r.status_code == 200, r.text
            assert srv.db_scalar("SELECT status FROM payments WHERE order_id = ?", (order,)) == "PAID"
        with capsys.disabled():
            print(f"\n[{backend}: gateway answering in 2 s, 12 webhook senders] {flood.summary()}; "
                  f"normal client's search: {search.summary()}")
    finally:
        fake.stop()


def test_a_lock_wait_fails_cleanly_with_503_and_the_booking_works_once_the_lock_is_gone(make_server, mariadb):
    """MySQL only: a row lock held elsewhere makes the booking's lock wait time out (after
    DB_LOCK_WAIT_TIMEOUT, well before the connection's read timeout), the transaction is retried and
    finally answered 503, not 500 and not a hang; nothing is written."""
    srv = cj.start_server(make_server("mariadb", extra_env={"DB_LOCK_WAIT_TIMEOUT": "1",
                                                            "LOGIN_MAX_FAILURES_PER_CLIENT": "1000"},
                                      start=False))
    user = srv.make_user()
    row = cj.bookable_schedule(srv, min_seats=60, days_ahead=3)
    body = {"scheduleId": row["sid"],
            "passengers": [{"name": "승객", "nameEn": "PASSENGER", "birth": "1990-01-01", "gender": "F"}],
            "contactInfo": {"email": "contact@example.com", "phone": "010-1234-5678"},
            "paymentMethod": "CARD", "totalAmount": row["unit"]}
    before = int(srv.db_scalar("SELECT COUNT(*) AS n FROM bookings"))
    holder = mariadb.connect(srv.db_name)
    holder.autocommit(False)
    try:
        with holder.cursor() as cur:
            cur.execute("START TRANSACTION")
            cur.execute("SELECT schedule_id FROM flight_schedules WHERE schedule_id = %s FOR UPDATE", (row["sid"],))
        t0 = time.monotonic()
        r = srv.post("/api/bookings", json=body, headers=user.auth, timeout=30)
        elapsed = time.monotonic() - t0
        cj.assert_error(r, 503, "database_unavailable")
        assert elapsed < 9, f"the lock wait took {elapsed:.1f}s to be refused"
        # other schedules are not blocked meanwhile
        assert srv.get(cj.search_path(row)).status_code == 200
    finally:
        holder.rollback()
        holder.close()
    assert int(srv.db_scalar("SELECT COUNT(*) AS n FROM bookings")) == before
    r = srv.post("/api/bookings", json=body, headers=user.auth, timeout=30)
    assert r.status_code == 201, r.text
