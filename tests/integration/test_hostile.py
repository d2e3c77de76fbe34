"""Hostile input (issue 10, the request-body half) and integer compatibility with the original front
end (issue 11), against the real binary on SQLite and MariaDB.

Every hostile case sends one request and then asserts, all three every time:
  - the answer is a 4xx JSON object with a non-blank `message` (and the expected `error` code, or
    the offending field named in the message, where that is stable);
  - the process is alive (it has not exited and a follow-up health request answers 200);
  - the database is unchanged: one query (`snapshot`) reads the row counts of every table a
    request can write (users, bookings, passengers, payments, seat_assignments, idempotency keys,
    flights, schedules, discounts, audit, refunds), the sum of available_seats, prices, statuses
    and the stored text sizes, before and after.
The base body of every endpoint is one that would succeed, so "accepted by mistake" shows up as a
2xx or a changed snapshot, not as some other 4xx.

Cases: deep arrays and objects (100k-300k levels, up to ~600 KB: the size that crashed dump()) as an
extra field and as the whole body, on every JSON POST/PUT endpoint including the signed webhook;
trailing garbage (NUL + junk, a second value, a stray bracket); invalid UTF-8 (JSON and the
form-encoded webhook); not-an-object bodies; hostile numbers (huge, negative, floats, 1e309,
2^63, -0, strings that are not digit strings, booleans, null) in every numeric field; wrong types
in every field; stale and over-long tokens on every authenticated endpoint. Then the front end's
digit-string ids (`"scheduleId":"34"`, `"schedule_id":"212"`), which must work, with the rows they
write, and the forms that must not.
"""
from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import re
import time
import urllib.parse
import uuid

import pytest
import requests

import cj
from cj import assert_error, assert_json, day, discounted
from fake_bootpay import APPLICATION_ID, PRIVATE_KEY

KEY_ENV = {"BOOTPAY_PRIVATE_KEY": PRIVATE_KEY, "BOOTPAY_REST_API_KEY": APPLICATION_ID,
           "LOGIN_MAX_FAILURES_PER_CLIENT": "100000"}

MSG_INVALID_JSON = "잘못된 요청 형식입니다. JSON 객체를 보내주세요."
MSG_TOO_DEEP = "요청 본문의 JSON 중첩이 너무 깊습니다. (최대 32단계)"
MSG_POSITIVE = "양의 정수여야 합니다."
MSG_BOOKED = "예약이 성공적으로 생성되었습니다."
MSG_DISCOUNT_CREATED = "할인이 생성되었습니다."
MSG_FLIGHT_ADDED = "항공편이 추가되었습니다."
MSG_ATTACHED = "예약과 결제가 연결되었습니다."
DEFAULT_ORDER_NAME = "CloudJet 항공권 결제"
MAX_DEPTH = 32

HEALTH = "/api/flights/health"

# Everything a request could write, read in one statement (one round trip per snapshot).
_SNAPSHOT = {
    "users": "SELECT COUNT(*) FROM users",
    "user_text": "SELECT COALESCE(SUM(LENGTH(name) + LENGTH(COALESCE(phone, ''))), 0) FROM users",
    "admins": "SELECT COUNT(*) FROM users WHERE role = 'ADMIN'",
    "bookings": "SELECT COUNT(*) FROM bookings",
    "bookings_cancelled": "SELECT COUNT(*) FROM bookings WHERE status = 'CANCELLED'",
    "passengers": "SELECT COUNT(*) FROM passengers",
    "payments": "SELECT COUNT(*) FROM payments",
    "payments_paid": "SELECT COUNT(*) FROM payments WHERE status = 'PAID'",
    "payments_failed": "SELECT COUNT(*) FROM payments WHERE status = 'FAILED'",
    "payments_attached": "SELECT COUNT(*) FROM payments WHERE booking_id IS NOT NULL",
    "raw_payloads": "SELECT COALESCE(SUM(LENGTH(raw_payload)), 0) FROM payments",
    "seat_assignments": "SELECT COUNT(*) FROM seat_assignments",
    "idempotency_keys": "SELECT COUNT(*) FROM idempotency_keys",
    "flights": "SELECT COUNT(*) FROM flights",
    "flights_active": "SELECT COUNT(*) FROM flights WHERE is_active = 1",
    "schedules": "SELECT COUNT(*) FROM flight_schedules",
    "available_seats": "SELECT COALESCE(SUM(available_seats), 0) FROM flight_schedules",
    "schedule_prices": "SELECT COALESCE(SUM(current_price), 0) FROM flight_schedules",
    "discounts": "SELECT COUNT(*) FROM flight_discounts",
    "discounts_active": "SELECT COUNT(*) FROM flight_discounts WHERE status = 'ACTIVE'",
    "audit": "SELECT COUNT(*) FROM admin_audit",
    "refunds": "SELECT COUNT(*) FROM refund_outbox",
}
_SNAPSHOT_SQL = "SELECT " + ", ".join(f"({q}) AS {name}" for name, q in _SNAPSHOT.items())


def snapshot(srv) -> dict:
    row = srv.db_query(_SNAPSHOT_SQL)[0]
    return {k: int(v) for k, v in row.items()}  # MariaDB answers SUM() as Decimal


def assert_alive(srv) -> None:
    assert srv.proc is not None and srv.proc.poll() is None, f"cloudjet exited\n{srv.log_text_tail()}"
    assert assert_json(srv.get(HEALTH), 200)["status"] == "healthy"


def assert_refused(srv, resp: requests.Response, before: dict, *, status: int | None = None,
                   code: str | None = None, message: str | None = None, names: str | None = None) -> dict:
    """A 4xx JSON error (with the expected status/code/message/field where given), the process
    alive, and the database exactly as it was."""
    assert 400 <= resp.status_code < 500, (
        f"{resp.request.method} {resp.url}: expected a 4xx, got {resp.status_code}: {resp.text[:300]}")
    body = assert_json(resp, resp.status_code)
    assert isinstance(body, dict), body
    assert isinstance(body.get("message"), str) and body["message"].strip(), body
    if status is not None:
        assert resp.status_code == status, body
    if code is not None:
        assert body.get("error") == code, body
    if message is not None:
        assert body["message"] == message, body
    if names is not None:
        assert names in body["message"], body
    assert_alive(srv)
    assert snapshot(srv) == before
    return body


def sign(raw: bytes) -> str:
    return base64.b64encode(hmac.new(PRIVATE_KEY.encode(), raw, hashlib.sha256).digest()).decode()


def dumps(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


# ============================================================================================
# fixtures: one server per backend, the schedules, users and payments the base bodies refer to


@pytest.fixture(scope="module")
def server(request, tmp_path_factory, backend):
    """Webhook key and application id configured (overrides conftest's `server`)."""
    mdb = request.getfixturevalue("mariadb") if backend == "mariadb" else None
    if mdb is not None and not mdb.running:
        mdb.start()
    srv = cj.Server(tmp_path_factory.mktemp(f"hostile-{backend}"), backend=backend, mariadb=mdb,
                    extra_env=KEY_ENV)
    srv.start()
    yield srv
    srv.stop()  # asserts a clean exit: a crash or a sanitizer report fails the module


_SCHEDULES_SQL = (
    "SELECT fs.schedule_id AS sid FROM flight_schedules fs JOIN flights f ON f.flight_id = fs.flight_id "
    "WHERE fs.flight_date >= ? AND fs.status = 'ACTIVE' AND f.is_active = 1 AND f.total_seats = 180 "
    "AND fs.available_seats > 20 ORDER BY fs.schedule_id")


class Schedules:
    """Hands out bookable demo schedules, each to one user of this module only."""

    def __init__(self, srv):
        self.srv = srv
        self.free = [int(r["sid"]) for r in srv.db_query(_SCHEDULES_SQL, (day(3),))]
        assert len(self.free) >= 20, self.free

    def take(self) -> int:
        return self.free.pop(0)


@pytest.fixture(scope="module")
def schedules(server):
    return Schedules(server)


def unit_price(srv, sid: int) -> int:
    row = srv.db_query(
        "SELECT fs.current_price AS price, (SELECT MAX(d.discount_percentage) FROM flight_discounts d "
        "WHERE d.schedule_id = fs.schedule_id AND d.status = 'ACTIVE') AS pct "
        "FROM flight_schedules fs WHERE fs.schedule_id = ?", (sid,))[0]
    return discounted(int(row["price"]), None if row["pct"] is None else int(row["pct"]))


def available(srv, sid: int) -> int:
    return int(srv.db_scalar("SELECT available_seats AS n FROM flight_schedules WHERE schedule_id = ?", (sid,)))


def booking_body(srv, sid: int, n: int = 1, **overrides) -> dict:
    body = {
        "scheduleId": sid,
        "passengers": [{"name": f"승객{i}", "nameEn": f"PASSENGER {i}", "birth": "1990-01-0" + str(i + 1),
                        "gender": "M" if i % 2 == 0 else "F"} for i in range(n)],
        "contactInfo": {"email": "contact@example.com", "phone": "010-1234-5678"},
        "paymentMethod": "CARD",
        "totalAmount": unit_price(srv, sid) * n,
    }
    body.update(overrides)
    return body


def new_fid() -> str:
    return "H" + uuid.uuid4().hex[:6].upper()


def flight_body(fid: str, **overrides) -> dict:
    body = {"flight_id": fid, "airline": "CloudJet", "departure_airport": "GMP", "arrival_airport": "ICN",
            "departure_time": "07:00", "arrival_time": "08:10", "aircraft": "A321", "base_price": 88000,
            "total_seats": 180}
    body.update(overrides)
    return body


@pytest.fixture(scope="module")
def user(server):
    return server.make_user()


@pytest.fixture(scope="module")
def admin(server) -> dict:
    return bearer(server.admin_token())


@pytest.fixture(scope="module")
def ctx(server, schedules, user, admin):
    """The base body of every JSON endpoint: each would succeed as it is."""
    booking_sid = schedules.take()
    discount_sid = schedules.take()
    # A booking and a payment of the same amount, so attach-booking's base body would attach.
    attach_sid = schedules.take()
    booked = assert_json(server.post("/api/bookings", json=booking_body(server, attach_sid), headers=user.auth), 201)
    attach_amount = unit_price(server, attach_sid)
    attach_order = assert_json(server.post("/api/payments/init", json={"amount": attach_amount},
                                           headers=user.auth), 200)["order_id"]
    # A REQUESTED payment that the base webhook body would mark PAID.
    hook_amount = 123000
    hook_order = assert_json(server.post("/api/payments/init", json={"amount": hook_amount},
                                         headers=user.auth), 200)["order_id"]
    return {
        "signup": ("POST", "/api/auth/signup", None, server.signup_body()),
        "login": ("POST", "/api/auth/login", None, {"email": user.email, "password": user.password}),
        "profile": ("PUT", "/api/auth/profile", user.auth, {"name": "새이름", "phone": "010-9999-8888"}),
        "bookings": ("POST", "/api/bookings", user.auth, booking_body(server, booking_sid)),
        "payments_init": ("POST", "/api/payments/init", user.auth,
                          {"amount": 55000, "scheduleId": booking_sid, "method": "CARD"}),
        "attach": ("POST", "/api/payments/attach-booking", user.auth,
                   {"orderId": attach_order, "bookingId": booked["booking_id"]}),
        "webhook": ("POST", "/api/payments/webhook", "signed",
                    {"receipt_id": "rcpt-" + uuid.uuid4().hex[:20], "order_id": hook_order, "price": hook_amount,
                     "status": 1, "status_en": "complete", "method": "card"}),
        "admin_flights": ("POST", "/api/admin/flights", admin, flight_body(new_fid())),
        "fws": ("POST", "/api/admin/flights-with-schedules", admin,
                {"flight": flight_body(new_fid()),
                 "schedule": {"mode": "single", "date": day(40), "current_price": 99000, "available_seats": 100}}),
        "discounts": ("POST", "/api/admin/discounts", admin, {"schedule_id": discount_sid, "discount_percentage": 10}),
    }


ENDPOINTS = ["signup", "login", "profile", "bookings", "payments_init", "attach", "webhook", "admin_flights",
             "fws", "discounts"]


def send(srv, ctx, name: str, raw: bytes, content_type: str = "application/json") -> requests.Response:
    method, path, auth, _ = ctx[name]
    headers = {"Content-Type": content_type}
    if auth == "signed":
        headers["Bootpay-Signature"] = sign(raw)
    elif auth:
        headers.update(auth)
    return srv.request(method, path, data=raw, headers=headers)


def base(ctx, name: str) -> dict:
    return copy.deepcopy(ctx[name][3])


def with_extra(ctx, name: str, extra_value_text: str) -> bytes:
    """The base body with one more field, "x", whose value is the given raw JSON text."""
    text = dumps(base(ctx, name))
    assert text.endswith(b"}")
    return text[:-1] + b',"x":' + extra_value_text.encode("latin-1") + b"}"


# ============================================================================================
# bodies: depth, trailing content, UTF-8, not an object

def nested_arrays(depth: int) -> str:
    return "[" * depth + "]" * depth


def nested_objects(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def deep_mixed(depth: int) -> str:
    return '[{"a":' * (depth // 2) + "1" + "}]" * (depth // 2)


# name -> (body builder, expected message)
BODY_CASES = {
    "field-arrays-100k": (lambda c, n: with_extra(c, n, nested_arrays(100_000)), MSG_TOO_DEEP),
    "field-arrays-300k": (lambda c, n: with_extra(c, n, nested_arrays(300_000)), MSG_TOO_DEEP),
    "field-arrays-300k-unclosed": (lambda c, n: with_extra(c, n, "[" * 300_000), MSG_TOO_DEEP),
    "field-objects-100k": (lambda c, n: with_extra(c, n, nested_objects(100_000)), MSG_TOO_DEEP),
    "field-mixed-100k": (lambda c, n: with_extra(c, n, deep_mixed(100_000)), MSG_TOO_DEEP),
    "field-depth-33": (lambda c, n: with_extra(c, n, nested_arrays(MAX_DEPTH)), MSG_TOO_DEEP),
    "body-arrays-300k": (lambda c, n: nested_arrays(300_000).encode(), MSG_TOO_DEEP),
    "body-objects-100k": (lambda c, n: nested_objects(100_000).encode(), MSG_TOO_DEEP),
    "trailing-nul-junk": (lambda c, n: dumps(base(c, n)) + b"\x00junk", MSG_INVALID_JSON),
    "trailing-nul": (lambda c, n: dumps(base(c, n)) + b"\x00", MSG_INVALID_JSON),
    "trailing-nul-then-object": (lambda c, n: dumps(base(c, n)) + b"\x00{}", MSG_INVALID_JSON),
    "trailing-second-value": (lambda c, n: dumps(base(c, n)) + b' {"a":1}', MSG_INVALID_JSON),
    "trailing-number": (lambda c, n: dumps(base(c, n)) + b" 1", MSG_INVALID_JSON),
    "trailing-close-brace": (lambda c, n: dumps(base(c, n)) + b"}", MSG_INVALID_JSON),
    "trailing-close-bracket": (lambda c, n: dumps(base(c, n)) + b"]", MSG_INVALID_JSON),
    "trailing-comma": (lambda c, n: dumps(base(c, n)) + b",", MSG_INVALID_JSON),
    "trailing-letters": (lambda c, n: dumps(base(c, n)) + b"xyz", MSG_INVALID_JSON),
    "leading-nul": (lambda c, n: b"\x00" + dumps(base(c, n)), MSG_INVALID_JSON),
    "nul-inside-string": (lambda c, n: with_extra(c, n, '"a\x00b"'), MSG_INVALID_JSON),
    "comment": (lambda c, n: b"/* c */" + dumps(base(c, n)), MSG_INVALID_JSON),
    "utf8-ff-in-value": (lambda c, n: with_extra(c, n, '"\xff"'), MSG_INVALID_JSON),
    "utf8-truncated": (lambda c, n: with_extra(c, n, '"\xed\x95"'), MSG_INVALID_JSON),
    "utf8-overlong": (lambda c, n: with_extra(c, n, '"\xc0\xaf"'), MSG_INVALID_JSON),
    "utf8-surrogate-bytes": (lambda c, n: with_extra(c, n, '"\xed\xa0\x80"'), MSG_INVALID_JSON),
    "utf8-lone-surrogate-escape": (lambda c, n: with_extra(c, n, '"\\ud800"'), MSG_INVALID_JSON),
    "utf8-above-10ffff": (lambda c, n: with_extra(c, n, '"\xf4\x90\x80\x80"'), MSG_INVALID_JSON),
    "utf8-latin1-body": (lambda c, n: with_extra(c, n, '"caf\xe9"'), MSG_INVALID_JSON),
    "utf8-in-key": (lambda c, n: dumps(base(c, n))[:-1] + b',"\xfe\xff":1}', MSG_INVALID_JSON),
    "utf16-body": (lambda c, n: json.dumps(base(c, n)).encode("utf-16-le"), MSG_INVALID_JSON),
    "array-body": (lambda c, n: b"[" + dumps(base(c, n)) + b"]", MSG_INVALID_JSON),
    "number-body": (lambda c, n: b"42", MSG_INVALID_JSON),
    "string-body": (lambda c, n: b'"{}"', MSG_INVALID_JSON),
    "null-body": (lambda c, n: b"null", MSG_INVALID_JSON),
    "empty-body": (lambda c, n: b"", MSG_INVALID_JSON),
    "whitespace-body": (lambda c, n: b" \r\n\t ", MSG_INVALID_JSON),
    "truncated-body": (lambda c, n: dumps(base(c, n))[:-1], MSG_INVALID_JSON),
}


@pytest.mark.parametrize("case", list(BODY_CASES))
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_hostile_body_is_400_invalid_json_and_changes_nothing(server, ctx, endpoint, case):
    build, message = BODY_CASES[case]
    raw = build(ctx, endpoint)
    before = snapshot(server)
    r = send(server, ctx, endpoint, raw)
    assert_refused(server, r, before, status=400, code="invalid_json", message=message)


def test_deep_body_is_refused_fast_and_others_keep_being_served(server, ctx, user):
    # a 300k-deep body is refused after reading 33 levels; a normal client sees no difference
    raw = with_extra(ctx, "bookings", nested_arrays(300_000))
    before = snapshot(server)
    t0 = time.monotonic()
    for _ in range(5):
        r = send(server, ctx, "bookings", raw)
        assert_error(r, 400, "invalid_json", MSG_TOO_DEEP)
    assert time.monotonic() - t0 < 10
    assert assert_json(server.get("/api/bookings", headers=user.auth), 200)["bookings"] is not None
    assert snapshot(server) == before


def test_depth_32_is_the_limit_exactly(server, schedules, user):
    # The body object is level 1, so an extra field may nest 31 more levels, not 32.
    sid = schedules.take()
    seats_before = available(server, sid)
    text = dumps(booking_body(server, sid))
    ok_raw = text[:-1] + b',"x":' + nested_arrays(MAX_DEPTH - 1).encode() + b"}"
    bad_raw = text[:-1] + b',"x":' + nested_arrays(MAX_DEPTH).encode() + b"}"
    before = snapshot(server)
    r = server.post("/api/bookings", data=bad_raw, headers={"Content-Type": "application/json", **user.auth})
    assert_refused(server, r, before, status=400, code="invalid_json", message=MSG_TOO_DEEP)
    r = server.post("/api/bookings", data=ok_raw, headers={"Content-Type": "application/json", **user.auth})
    body = assert_json(r, 201)
    assert body["message"] == MSG_BOOKED and body["success"] is True
    row = server.db_query("SELECT schedule_id, user_id, status FROM bookings WHERE booking_id = ?",
                          (body["booking_id"],))[0]
    assert (int(row["schedule_id"]), int(row["user_id"]), row["status"]) == (sid, user.user_id, "CONFIRMED")
    assert available(server, sid) == seats_before - 1


def test_idempotency_fingerprint_ignores_unvalidated_extra_fields(server, schedules, user):
    # The fingerprint is computed from the validated fields: a retry that differs only in a field
    # the server ignores is the same request (replayed), a different amount is not (422).
    sid = schedules.take()
    body = booking_body(server, sid)
    key = {"Idempotency-Key": "hostile-" + uuid.uuid4().hex}
    first = server.post("/api/bookings", json={**body, "x": [[["client", "state"]]]}, headers={**user.auth, **key})
    created = assert_json(first, 201)
    again = server.post("/api/bookings", json={**body, "y": {"other": 1}, "scheduleId": str(sid)},
                        headers={**user.auth, **key})
    assert assert_json(again, 201)["booking_id"] == created["booking_id"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    before = snapshot(server)
    other = server.post("/api/bookings", json={**body, "totalAmount": body["totalAmount"] + 1},
                        headers={**user.auth, **key})
    assert_refused(server, other, before, status=422, code="idempotency_key_reused")
    assert int(server.db_scalar("SELECT COUNT(*) AS n FROM bookings WHERE schedule_id = ?", (sid,))) == 1


# -- the form-encoded webhook -------------------------------------------------------------------

FORM_UTF8_CASES = {
    "ff-in-value": "receipt_id=r%FF",
    "overlong-in-value": "receipt_id=%C0%AF",
    "surrogate-in-value": "receipt_id=%ED%A0%80",
    "truncated-in-value": "receipt_id=%ED%95",
    "ff-in-key": "%FF%FE=1",
    "raw-ff-byte": "receipt_id=r\xff",
    "ff-in-order-id": None,  # the order id itself carries the bad byte
}


@pytest.mark.parametrize("case", list(FORM_UTF8_CASES))
def test_form_webhook_with_invalid_utf8_is_400_and_changes_nothing(server, ctx, case):
    fields = base(ctx, "webhook")
    order = urllib.parse.quote(fields["order_id"])
    if FORM_UTF8_CASES[case] is None:
        raw = f"order_id={order}%FF&price={fields['price']}&status=1&receipt_id=r1".encode("latin-1")
    else:
        raw = (f"order_id={order}&price={fields['price']}&status=1&" + FORM_UTF8_CASES[case]).encode("latin-1")
    before = snapshot(server)
    r = send(server, ctx, "webhook", raw, content_type="application/x-www-form-urlencoded")
    assert_refused(server, r, before, status=400, code="invalid_json", message=MSG_INVALID_JSON)


def test_webhook_with_a_large_payload_stores_a_bounded_raw_payload(server, user):
    # a signed webhook with 300 KB of extra fields: it is applied, and what is stored stays small
    amount = 77000
    order = assert_json(server.post("/api/payments/init", json={"amount": amount}, headers=user.auth), 200)["order_id"]
    receipt = "rcpt-" + uuid.uuid4().hex[:20]
    event = {"receipt_id": receipt, "order_id": order, "price": amount, "status": 1,
             "padding": ["x" * 1000] * 300, "deep": json.loads(nested_arrays(30))}
    raw = dumps(event)
    r = server.post("/api/payments/webhook", data=raw,
                    headers={"Content-Type": "application/json", "Bootpay-Signature": sign(raw)})
    assert assert_json(r, 200) == {"success": True}
    row = server.db_query("SELECT status, bootpay_receipt_id, raw_payload FROM payments WHERE order_id = ?",
                          (order,))[0]
    assert (row["status"], row["bootpay_receipt_id"]) == ("PAID", receipt)
    stored = json.loads(row["raw_payload"])
    assert len(row["raw_payload"]) <= 16 * 1024
    assert stored == {"truncated": True, "original_bytes": stored["original_bytes"], "order_id": order,
                      "receipt_id": receipt, "price": amount, "paid": True}
    assert stored["original_bytes"] > 300_000


def test_webhook_receipt_id_longer_than_the_column_is_400(server, ctx):
    event = {**base(ctx, "webhook"), "receipt_id": "r" * 101}
    before = snapshot(server)
    r = send(server, ctx, "webhook", dumps(event))
    assert_refused(server, r, before, status=400, code="invalid_field", names="receipt_id")


# ============================================================================================
# numbers

# (endpoint, path to the field, kind): "positive" required >= 1, "optional" >= 1 or absent,
# "nonneg" required >= 0, "webhook" (a mismatched amount is a 409, not a 400)
NUMERIC_FIELDS = [
    ("bookings", ("scheduleId",), "positive"),
    ("bookings", ("totalAmount",), "nonneg"),
    ("payments_init", ("amount",), "positive"),
    ("payments_init", ("scheduleId",), "optional"),
    ("attach", ("bookingId",), "positive"),
    ("admin_flights", ("base_price",), "positive"),
    ("admin_flights", ("total_seats",), "optional"),
    ("fws", ("flight", "base_price"), "positive"),
    ("fws", ("flight", "total_seats"), "optional"),
    ("fws", ("schedule", "current_price"), "optional"),
    ("fws", ("schedule", "available_seats"), "optional"),
    ("discounts", ("schedule_id",), "positive"),
    ("discounts", ("discount_percentage",), "positive"),
    ("webhook", ("price",), "webhook"),
]

# raw JSON text of values that no integer field accepts
BAD_NUMBERS = {
    "huge": "1" + "0" * 30,
    "2^63": "9223372036854775808",
    "2^64": "18446744073709551616",
    "below-int64": "-9223372036854775809",
    "negative": "-1",
    "negative-large": "-100000",
    "float": "1.5",
    "float-integral": "12.0",
    "exponent": "1e3",
    "1e309": "1e309",
    "-1e309": "-1e309",
    "tiny": "5e-324",
    "digits-40": '"' + "9" * 40 + '"',
    "letters": '"12a"',
    "leading-space": '" 12"',
    "trailing-space": '"12 "',
    "minus-string": '"-1"',
    "plus-string": '"+1"',
    "float-string": '"1.5"',
    "exponent-string": '"1e3"',
    "hex-string": '"0x10"',
    "empty-string": '""',
    "fullwidth-digits": '"\uff11\uff12"',
    "arabic-digits": '"\u0661\u0662"',
    "underscore": '"1_000"',
    "nul-string": '"1\\u0000"',
    "true": "true",
    "false": "false",
    "array": "[1]",
    "object": '{"v":1}',
}


def numeric_cases():
    for endpoint, path, kind in NUMERIC_FIELDS:
        values = dict(BAD_NUMBERS)
        if kind in ("positive", "optional", "webhook"):
            values["zero-negative"] = "-0"
            values["zero"] = "0"
        if kind in ("positive", "nonneg"):
            values["null"] = "null"  # required: missing_field, naming the field
        values["int64-max"] = "9223372036854775807"
        values["int32-max-plus-1"] = "2147483648"  # ids and amounts are INT columns
        for value in values:
            yield pytest.param(endpoint, path, kind, value, id=f"{endpoint}-{'.'.join(path)}-{value}")


def set_raw(ctx, endpoint: str, path: tuple, raw_value: str) -> bytes:
    body = base(ctx, endpoint)
    marker = "__HOSTILE_VALUE__"
    target = body
    for p in path[:-1]:
        target = target[p]
    target[path[-1]] = marker
    return dumps(body).replace(f'"{marker}"'.encode(), raw_value.encode())


@pytest.mark.parametrize("endpoint, path, kind, value", list(numeric_cases()))
def test_hostile_number_is_4xx_naming_the_field_and_changes_nothing(server, ctx, endpoint, path, kind, value):
    raw_value = BAD_NUMBERS.get(value) or {"zero-negative": "-0", "zero": "0", "null": "null",
                                           "int64-max": "9223372036854775807",
                                           "int32-max-plus-1": "2147483648"}[value]
    before = snapshot(server)
    r = send(server, ctx, endpoint, set_raw(ctx, endpoint, path, raw_value))
    if kind == "webhook":
        assert_refused(server, r, before)
    else:
        assert_refused(server, r, before, status=400, names=path[-1])


# ============================================================================================
# wrong types in every field


def _leaves(value, path=()):
    yield path, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, path + (i,))


def _wrong_types(value) -> dict:
    if isinstance(value, bool):
        return {"string": "true", "number": 1}
    if isinstance(value, int):
        return {"word": "x", "list": [1], "object": {}, "bool": True, "float": 1.5}
    if isinstance(value, str):
        # "huge" is the right type but 300 KB long: refused by length (or matches nothing)
        return {"number": 7, "list": [value], "object": {"v": value}, "bool": True, "huge": "9" * 300_000}
    if isinstance(value, list):
        return {"string": "x", "object": {}, "number": 7}
    if isinstance(value, dict):
        return {"string": "x", "list": [], "number": 7}
    raise AssertionError(value)


# Base bodies are built per server, but their shape (field paths and types) is fixed: this is it.
_SHAPES = {
    "signup": {"name": "s", "email": "s", "password": "s", "phone": "s", "birthDate": "s"},
    "login": {"email": "s", "password": "s"},
    "profile": {"name": "s", "phone": "s"},
    "bookings": {"scheduleId": 1, "passengers": [{"name": "s", "nameEn": "s", "birth": "s", "gender": "s"}],
                 "contactInfo": {"email": "s", "phone": "s"}, "paymentMethod": "s", "totalAmount": 1},
    "payments_init": {"amount": 1, "scheduleId": 1, "method": "s"},
    "attach": {"orderId": "s", "bookingId": 1},
    "admin_flights": {"flight_id": "s", "airline": "s", "departure_airport": "s", "arrival_airport": "s",
                      "departure_time": "s", "arrival_time": "s", "aircraft": "s", "base_price": 1, "total_seats": 1},
    "fws": {"flight": {"flight_id": "s", "airline": "s", "departure_airport": "s", "arrival_airport": "s",
                       "departure_time": "s", "arrival_time": "s", "aircraft": "s", "base_price": 1,
                       "total_seats": 1},
            "schedule": {"mode": "s", "date": "s", "current_price": 1, "available_seats": 1}},
    "discounts": {"schedule_id": 1, "discount_percentage": 1},
    # Other webhook fields only steer what the event means (not paid → FAILED), so they can
    # change state legitimately; the order id and the amount cannot.
    "webhook": {"order_id": "s", "price": 1},
}


def wrong_type_cases():
    for endpoint, shape in _SHAPES.items():
        for path, value in _leaves(shape):
            if not path:
                continue
            for kind in _wrong_types(value):
                yield pytest.param(endpoint, path, kind, id=f"{endpoint}-{'.'.join(map(str, path))}-{kind}")


@pytest.mark.parametrize("endpoint, path, kind", list(wrong_type_cases()))
def test_wrong_type_in_any_field_is_4xx_and_changes_nothing(server, ctx, endpoint, path, kind):
    body = base(ctx, endpoint)
    target = body
    for p in path[:-1]:
        target = target[p]
    target[path[-1]] = _wrong_types(target[path[-1]])[kind]
    before = snapshot(server)
    r = send(server, ctx, endpoint, dumps(body))
    if endpoint == "webhook" or kind == "huge":
        # 400 order_id 누락, 404 unknown order, 409 amount; a huge password or order id is just a
        # wrong one (401 / 404)
        assert_refused(server, r, before)
    else:
        assert_refused(server, r, before, status=400)


def nul_cases():
    for endpoint, shape in _SHAPES.items():
        for path, value in _leaves(shape):
            if isinstance(value, str):
                yield pytest.param(endpoint, path, id=f"{endpoint}-{'.'.join(map(str, path))}")


def field_path_text(path: tuple) -> str:
    """("passengers", 0, "name") → "passengers[0].name", as the server names a field."""
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out


@pytest.mark.parametrize("endpoint, path", list(nul_cases()))
def test_nul_character_in_any_string_field_is_400_naming_it_and_changes_nothing(server, ctx, endpoint, path):
    # Valid JSON (the \u0000 escape), but no name, email, code or id holds a NUL, and C APIs
    # below would cut the text at it.
    body = base(ctx, endpoint)
    target = body
    for p in path[:-1]:
        target = target[p]
    target[path[-1]] = str(target[path[-1]]) + "\u0000x"
    before = snapshot(server)
    r = send(server, ctx, endpoint, dumps(body))
    out = assert_refused(server, r, before, status=400, code="invalid_field")
    assert out["message"].startswith(field_path_text(path) + ": "), out


# ============================================================================================
# identities: stale tokens and token lifetimes on every authenticated endpoint

USER_ENDPOINTS = [
    ("GET", "/api/auth/profile", None),
    ("PUT", "/api/auth/profile", {"name": "유령"}),
    ("POST", "/api/bookings", "booking"),
    ("GET", "/api/bookings", None),
    ("POST", "/api/bookings/CJ00000000/cancel", None),
    ("POST", "/api/payments/init", {"amount": 1000, "scheduleId": 1}),
    ("POST", "/api/payments/attach-booking", {"orderId": "CJ-ORD-1-NA-00000000", "bookingId": 1}),
]
ADMIN_ENDPOINTS = [
    ("GET", "/api/admin/flights", None),
    ("POST", "/api/admin/flights", "flight"),
    ("POST", "/api/admin/flights-with-schedules", "fws"),
    ("DELETE", "/api/admin/flights/CJ101", None),
    ("GET", "/api/admin/schedules", None),
    ("GET", "/api/admin/discounts", None),
    ("POST", "/api/admin/discounts", "discount"),
    ("DELETE", "/api/admin/discounts/1", None),
    ("GET", "/api/admin/bookings", None),
    ("GET", "/api/admin/bookings/search?term=CJ", None),
    ("PUT", "/api/admin/bookings/CJ00000000/cancel", None),
    ("GET", "/api/admin/audit", None),
]
AUTHED = [pytest.param(m, p, b, "USER", id=f"{m} {p}") for m, p, b in USER_ENDPOINTS] + \
         [pytest.param(m, p, b, "ADMIN", id=f"{m} {p}") for m, p, b in ADMIN_ENDPOINTS]

STALE_KINDS = ["deleted-user", "never-existed", "user-id-zero", "user-id-negative", "user-id-2^62",
               "lifetime-100-years", "lifetime-ttl-plus-2-minutes", "iat-1-hour-ahead", "iat-1-year-ahead",
               "iat-missing"]

HUNDRED_YEARS = 100 * 365 * 86400


def _request_body(server, schedules_sid: int, kind):
    if kind == "booking":
        return booking_body(server, schedules_sid)
    if kind == "flight":
        return flight_body(new_fid())
    if kind == "fws":
        return {"flight": flight_body(new_fid()), "schedule": {"mode": "single", "date": day(41)}}
    if kind == "discount":
        return {"schedule_id": schedules_sid, "discount_percentage": 10}
    return kind


@pytest.fixture(scope="module")
def stale_sid(schedules):
    return schedules.take()


def _stale_token(server, kind: str, role: str) -> str:
    now = int(time.time())
    secret = server.secret_key
    if kind == "deleted-user":
        if role == "ADMIN":
            email = cj.unique_email("gone-admin")
            uid = server.insert_user(email, "$argon2id$not-a-real-hash", role="ADMIN")
        else:
            uid = server.make_user().user_id
        token = cj.make_jwt(cj.claims(uid, role), secret)
        server.db_query("DELETE FROM users WHERE user_id = ?", (uid,))
        return token
    uid = live_user_id(server, role)
    if kind == "never-existed":
        return cj.make_jwt(cj.claims(2_000_000_000, role), secret)
    if kind == "user-id-zero":
        return cj.make_jwt(cj.claims(0, role), secret)
    if kind == "user-id-negative":
        return cj.make_jwt(cj.claims(-1, role), secret)
    if kind == "user-id-2^62":
        return cj.make_jwt(cj.claims(2 ** 62, role), secret)
    if kind == "lifetime-100-years":
        return cj.make_jwt(cj.claims(uid, role, iat=now, ttl=HUNDRED_YEARS), secret)
    if kind == "lifetime-ttl-plus-2-minutes":
        return cj.make_jwt(cj.claims(uid, role, iat=now, ttl=86400 + 120), secret)
    if kind == "iat-1-hour-ahead":
        return cj.make_jwt(cj.claims(uid, role, iat=now + 3600, ttl=600), secret)
    if kind == "iat-1-year-ahead":
        return cj.make_jwt(cj.claims(uid, role, iat=now + 365 * 86400, ttl=600), secret)
    if kind == "iat-missing":
        return cj.make_jwt({"user_id": uid, "role": role, "exp": now + 600}, secret)
    raise AssertionError(kind)


_live_users: dict = {}


def live_user_id(server, role: str) -> int:
    """A user that exists, for the lifetime cases (their tokens fail for their times only)."""
    if role == "ADMIN":
        return int(server.db_scalar("SELECT user_id AS id FROM users WHERE email = ?", (cj.ADMIN_EMAIL,)))
    key = (server.backend, server.port)
    if key not in _live_users:
        _live_users[key] = server.make_user().user_id
    return _live_users[key]


@pytest.mark.parametrize("kind", STALE_KINDS)
@pytest.mark.parametrize("method, path, body_kind, role", AUTHED)
def test_stale_or_overlong_token_is_401_invalid_token_and_changes_nothing(server, stale_sid, method, path,
                                                                         body_kind, role, kind):
    token = _stale_token(server, kind, role)
    body = _request_body(server, stale_sid, body_kind)
    before = snapshot(server)
    r = server.request(method, path, json=body, headers=bearer(token))
    assert_refused(server, r, before, status=401, code="invalid_token", message=cj.MSG_TOKEN_INVALID)


# the read endpoints, which change nothing when they accept a token
AUTHED_GETS = [pytest.param(p, role, id=f"GET {p}") for m, p, _ in USER_ENDPOINTS if m == "GET"
               for role in ["USER"]] + \
              [pytest.param(p, role, id=f"GET {p}") for m, p, _ in ADMIN_ENDPOINTS if m == "GET"
               for role in ["ADMIN"]]


@pytest.mark.parametrize("path, role", AUTHED_GETS)
def test_token_living_exactly_the_ttl_plus_skew_is_accepted(server, path, role):
    # the boundary of the lifetime rule: exp - iat = JWT_TTL_SECONDS + 60 s of clock skew
    now = int(time.time())
    uid = live_user_id(server, role)
    token = cj.make_jwt(cj.claims(uid, role, iat=now, ttl=86400 + 60), server.secret_key)
    r = server.get(path, headers=bearer(token))
    assert r.status_code == 200, r.text[:300]


def test_booking_and_payment_of_a_user_deleted_after_login_are_401_not_500(server, stale_sid):
    # the reported crash path: the token is valid, the user row is gone (a foreign-key failure before)
    u = server.make_user()
    server.db_query("DELETE FROM users WHERE user_id = ?", (u.user_id,))
    before = snapshot(server)
    r = server.post("/api/bookings", json=booking_body(server, stale_sid), headers=u.auth)
    assert_refused(server, r, before, status=401, code="invalid_token", message=cj.MSG_TOKEN_INVALID)
    r = server.post("/api/payments/init", json={"amount": 1000}, headers=u.auth)
    assert_refused(server, r, before, status=401, code="invalid_token", message=cj.MSG_TOKEN_INVALID)


# ============================================================================================
# the original front end's integers: digit strings are integers (spec/API.md § Compatibility)

ORDER_ID = re.compile(r"^CJ-ORD-(\d+)-(\d+|NA)-[0-9a-f]{8}$")


@pytest.mark.parametrize("form", ["digits", "leading-zeros"])
def test_booking_with_string_schedule_id_is_created(server, schedules, user, form):
    # js/flight.js selectFlight('${flight.schedule_id}', ...) → js/booking.js posts "scheduleId":"34"
    sid = schedules.take()
    text = str(sid) if form == "digits" else "000" + str(sid)
    seats_before = available(server, sid)
    body = booking_body(server, sid, n=2, scheduleId=text, seats=["12A", "12B"])
    body["totalAmount"] = str(body["totalAmount"])
    r = server.post("/api/bookings", json=body, headers=user.auth)
    out = assert_json(r, 201)
    assert set(out) == {"message", "booking_number", "booking_id", "status", "success"}, out
    assert out["status"] == "CONFIRMED", out  # holds are off by default
    assert out["message"] == MSG_BOOKED and out["success"] is True
    assert re.match(r"^CJ[A-Z0-9]{8}$", out["booking_number"])
    row = server.db_query("SELECT schedule_id, user_id, total_amount, status, booking_number FROM bookings "
                          "WHERE booking_id = ?", (out["booking_id"],))[0]
    assert (int(row["schedule_id"]), int(row["user_id"]), int(row["total_amount"]), row["status"],
            row["booking_number"]) == (sid, user.user_id, 2 * unit_price(server, sid), "CONFIRMED",
                                       out["booking_number"])
    seats = server.db_query("SELECT seat_number FROM seat_assignments WHERE booking_id = ? ORDER BY seat_number",
                            (out["booking_id"],))
    assert [s["seat_number"] for s in seats] == ["12A", "12B"]
    assert int(server.db_scalar("SELECT COUNT(*) AS n FROM passengers WHERE booking_id = ?",
                                (out["booking_id"],))) == 2
    assert available(server, sid) == seats_before - 2
    occupied = assert_json(server.get(f"/api/bookings/occupied-seats/{sid}"), 200)["occupied_seats"]
    assert {"12A", "12B"} <= set(occupied)


def test_payment_init_with_string_schedule_id_and_amount(server, schedules, user):
    # js/booking.js: POST /payments/init {"amount": price, "scheduleId": "<id from the HTML>"}
    sid = schedules.take()
    r = server.post("/api/payments/init", json={"amount": "55000", "scheduleId": str(sid)}, headers=user.auth)
    body = assert_json(r, 200)
    assert body == {"success": True, "payment_id": body["payment_id"], "order_id": body["order_id"],
                    "bootpay": {"application_id": APPLICATION_ID, "price": 55000, "order_name": DEFAULT_ORDER_NAME,
                                "pg": "nicepay", "method": "card"}}
    m = ORDER_ID.match(body["order_id"])
    assert m and (int(m.group(1)), m.group(2)) == (user.user_id, str(sid)), body["order_id"]
    row = server.db_query("SELECT payment_id, user_id, booking_id, amount, status FROM payments WHERE order_id = ?",
                          (body["order_id"],))[0]
    assert (int(row["payment_id"]), int(row["user_id"]), row["booking_id"], int(row["amount"]), row["status"]) == (
        body["payment_id"], user.user_id, None, 55000, "REQUESTED")


def test_front_end_pay_then_book_then_attach_with_string_ids(server, schedules, user):
    # the Bootpay order of the page: init → booking → attach-booking, every id as the page has it
    sid = schedules.take()
    unit = unit_price(server, sid)
    init = assert_json(server.post("/api/payments/init", json={"amount": unit, "scheduleId": str(sid)},
                                   headers=user.auth), 200)
    booked = assert_json(server.post("/api/bookings", json=booking_body(server, sid, scheduleId=str(sid)),
                                     headers=user.auth), 201)
    r = server.post("/api/payments/attach-booking",
                    json={"orderId": init["order_id"], "bookingId": str(booked["booking_id"])}, headers=user.auth)
    assert assert_json(r, 200) == {"success": True, "message": MSG_ATTACHED}
    row = server.db_query("SELECT booking_id, amount FROM payments WHERE order_id = ?", (init["order_id"],))[0]
    assert (int(row["booking_id"]), int(row["amount"])) == (booked["booking_id"], unit)


@pytest.mark.parametrize("pct", [15, "15"])
def test_admin_discount_with_string_schedule_id_is_created(server, schedules, admin, pct):
    # js/admin-script.js: schedule_id from a <select> value (a string), discount_percentage parseInt
    sid = schedules.take()
    r = server.post("/api/admin/discounts", json={"schedule_id": str(sid), "discount_percentage": pct},
                    headers=admin)
    body = assert_json(r, 201)
    assert body == {"message": MSG_DISCOUNT_CREATED, "discount_id": body["discount_id"], "success": True}
    row = server.db_query("SELECT schedule_id, discount_percentage, status FROM flight_discounts "
                          "WHERE discount_id = ?", (body["discount_id"],))[0]
    assert (int(row["schedule_id"]), int(row["discount_percentage"]), row["status"]) == (sid, 15, "ACTIVE")
    assert int(server.db_scalar("SELECT COUNT(*) AS n FROM admin_audit WHERE action = 'discount.create' "
                                "AND target = ?", (str(body["discount_id"]),))) == 1
    listed = [d for d in assert_json(server.get("/api/admin/discounts", headers=admin), 200)["discounts"]
              if d["discount_id"] == body["discount_id"]]
    assert len(listed) == 1 and listed[0]["schedule_id"] == sid and listed[0]["discount_percentage"] == 15


def test_admin_flight_with_string_price_and_seats_is_created(server, admin):
    fid = new_fid()
    r = server.post("/api/admin/flights", json=flight_body(fid, base_price="210000", total_seats="150"),
                    headers=admin)
    assert assert_json(r, 201) == {"message": MSG_FLIGHT_ADDED, "flight_id": fid, "success": True}
    row = server.db_query("SELECT base_price, total_seats FROM flights WHERE flight_id = ?", (fid,))[0]
    assert (int(row["base_price"]), int(row["total_seats"])) == (210000, 150)


# fields the front end sends as strings, with the message of a refusal
COMPAT_FIELDS = {
    "bookings.scheduleId": ("bookings", "scheduleId", f"scheduleId: {MSG_POSITIVE}"),
    "payments_init.scheduleId": ("payments_init", "scheduleId", f"scheduleId: {MSG_POSITIVE}"),
    "attach.bookingId": ("attach", "bookingId", f"bookingId: {MSG_POSITIVE}"),
    "discounts.schedule_id": ("discounts", "schedule_id", f"schedule_id: {MSG_POSITIVE}"),
    "discounts.discount_percentage": ("discounts", "discount_percentage",
                                      "discount_percentage: 할인율은 1~99 사이의 정수여야 합니다."),
}
REJECTED_FORMS = ["12a", " 12", "12 ", "-1", "+1", "1.5", 1.5, True, "", "\uff11\uff12", "0x1F", "1e2",
                  "1_000", "0", 0, -3]


@pytest.mark.parametrize("value", REJECTED_FORMS, ids=[repr(v) for v in REJECTED_FORMS])
@pytest.mark.parametrize("field", list(COMPAT_FIELDS))
def test_integer_field_refuses_anything_but_digits(server, ctx, field, value):
    endpoint, key, message = COMPAT_FIELDS[field]
    body = base(ctx, endpoint)
    body[key] = value
    before = snapshot(server)
    r = send(server, ctx, endpoint, dumps(body))
    assert_refused(server, r, before, status=400, code="invalid_field", message=message)
