"""Black-box tests of the payment service (/api/payments): init, the signed Bootpay webhook (JSON and
form bodies, replays, out-of-order events, verification against the gateway, gateway outages),
attach-booking, and refunds on booking cancel through the refund outbox. Every test runs against
SQLite and MariaDB; bodies are checked exactly and the database state is checked with SQL.

The gateway is `fake_bootpay.FakeBootpay` (Bootpay REST API v2 on 127.0.0.1). Two servers per
module and backend:
  server     BOOTPAY_PRIVATE_KEY and BOOTPAY_REST_API_KEY, no BOOTPAY_API_URL: webhooks are
             verified by signature only, refunds stay queued
  gw_server  all three: webhooks are checked against the fake's receipts, refunds are sent to it
Tests that need another configuration start their own with `server_factory`.

"Changes nothing" is checked on the whole payments row after its updated_at was moved to a fixed
past time, so a silent rewrite of the row is caught too."""
from __future__ import annotations

import base64
import concurrent.futures
import datetime as dt
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
from cj import ts_text
from cj import assert_error, assert_json
from fake_bootpay import APPLICATION_ID, PRIVATE_KEY, FakeBootpay, bootpay, bootpay_module  # noqa: F401

INIT = "/api/payments/init"
WEBHOOK = "/api/payments/webhook"
ATTACH = "/api/payments/attach-booking"
BOOKINGS = "/api/bookings"

MSG_AMOUNT_REQUIRED = "amount는 필수입니다."
MSG_BAD_SIGNATURE = "서명 검증 실패"
MSG_ORDER_ID_MISSING = "order_id 누락"
MSG_ATTACHED = "예약과 결제가 연결되었습니다."
MSG_ATTACH_FIELDS = "orderId, bookingId는 필수입니다."
DEFAULT_ORDER_NAME = "CloudJet 항공권 결제"

KEY_ENV = {"BOOTPAY_PRIVATE_KEY": PRIVATE_KEY, "BOOTPAY_REST_API_KEY": APPLICATION_ID}
MODULE_SERVER_ENV = {"LOGIN_MAX_FAILURES_PER_CLIENT": "1000"}
BACKDATED = "2001-02-03 04:05:06"
AMOUNT = 320000
MAX_FARE = 100_000_000  # core/money.hpp: kMaxFare
MAX_BOOKING_AMOUNT = MAX_FARE * 9  # kMaxBookingAmount: the fare cap for every one of 9 passengers
OK = {"success": True}

PAYMENT_COLUMNS = ("payment_id, booking_id, user_id, method, provider, amount, currency, status, "
                   "bootpay_receipt_id, order_id, raw_payload, created_at, updated_at")


# ============================================================================================
# helpers


def gateway_env(fake) -> dict:
    return {**KEY_ENV, "BOOTPAY_API_URL": fake.url}


def new_receipt() -> str:
    return "rcpt-" + uuid.uuid4().hex[:20]


def sign(raw: bytes, key: str = PRIVATE_KEY) -> str:
    return base64.b64encode(hmac.new(key.encode(), raw, hashlib.sha256).digest()).decode()


def webhook(srv, body, *, form: bool = False, signature: str | None = None, key: str = PRIVATE_KEY,
            header: str = "Bootpay-Signature", signed: bool = True) -> requests.Response:
    """POSTs a webhook: `body` a dict (sent as JSON, or as a form with form=True) or raw bytes,
    signed over the exact bytes sent (or with `signature`, or unsigned with signed=False)."""
    if isinstance(body, bytes):
        raw, ctype = body, "application/x-www-form-urlencoded" if form else "application/json"
    elif form:
        raw, ctype = urllib.parse.urlencode(body).encode(), "application/x-www-form-urlencoded"
    else:
        raw, ctype = json.dumps(body, ensure_ascii=False).encode(), "application/json"
    headers = {"Content-Type": ctype}
    if signed:
        headers[header] = signature if signature is not None else sign(raw, key)
    return srv.post(WEBHOOK, data=raw, headers=headers)


def paid_event(order_id: str, receipt_id: str, price=AMOUNT, **extra) -> dict:
    return {"receipt_id": receipt_id, "order_id": order_id, "price": price, "status": 1,
            "status_en": "complete", "method": "card", "pg": "nicepay", **extra}


def init_payment(srv, user, amount: int = AMOUNT, **fields) -> dict:
    body = assert_json(srv.post(INIT, json={"amount": amount, **fields}, headers=user.auth), 200)
    assert body["success"] is True, body
    return body


def payment_row(srv, order_id: str) -> dict:
    rows = srv.db_query(f"SELECT {PAYMENT_COLUMNS} FROM payments WHERE order_id = ?", (order_id,))
    assert len(rows) == 1, rows
    return rows[0]


def payment_count(srv, user=None) -> int:
    if user is None:
        return int(srv.db_scalar("SELECT COUNT(*) AS n FROM payments"))
    return int(srv.db_scalar("SELECT COUNT(*) AS n FROM payments WHERE user_id = ?", (user.user_id,)))


def all_payments(srv) -> list[dict]:
    return srv.db_query(f"SELECT {PAYMENT_COLUMNS} FROM payments ORDER BY payment_id")


def backdate(srv, order_id: str) -> dict:
    """Moves the payment's updated_at to a fixed past time; returns the row as it now is."""
    srv.db_query("UPDATE payments SET updated_at = ? WHERE order_id = ?", (BACKDATED, order_id))
    return payment_row(srv, order_id)


def raw_payload(row: dict):
    assert row["raw_payload"] is not None, row
    return json.loads(row["raw_payload"])


def refund_rows(srv, payment_id: int) -> list[dict]:
    return srv.db_query("SELECT payment_id, receipt_id, cancel_price, status, attempts, last_error "
                        "FROM refund_outbox WHERE payment_id = ?", (payment_id,))


def wait_refund(srv, payment_id: int, pred, what: str, timeout: float = 10.0) -> dict:
    def check():
        rows = refund_rows(srv, payment_id)
        return rows[0] if rows and pred(rows[0]) else None
    return cj.wait_until(check, timeout, interval=0.05, what=what)


def bookable_schedule(srv) -> tuple[int, int]:
    """(schedule_id, unit price now) of a bookable demo schedule two or more days ahead."""
    since = (dt.datetime.now(dt.timezone.utc).date() + dt.timedelta(days=2)).isoformat()
    rows = srv.db_query(
        "SELECT fs.schedule_id AS sid FROM flight_schedules fs JOIN flights f ON f.flight_id = fs.flight_id "
        "WHERE fs.flight_date >= ? AND fs.status = 'ACTIVE' AND f.is_active = 1 AND fs.available_seats >= 100 "
        "ORDER BY fs.schedule_id LIMIT 1", (since,))
    assert rows, "no bookable schedule in the demo data"
    sid = int(rows[0]["sid"])
    row = srv.db_query(
        "SELECT fs.current_price AS price, (SELECT MAX(d.discount_percentage) FROM flight_discounts d "
        "WHERE d.schedule_id = fs.schedule_id AND d.status = 'ACTIVE') AS pct "
        "FROM flight_schedules fs WHERE fs.schedule_id = ?", (sid,))[0]
    price, pct = int(row["price"]), row["pct"]
    return sid, price if pct is None else (price * (100 - int(pct)) + 50) // 100


def create_booking(srv, user) -> dict:
    """A one-passenger booking of `user`: {"booking_id", "booking_number", "amount", "schedule_id"}."""
    sid, unit = bookable_schedule(srv)
    body = {
        "scheduleId": sid,
        "passengers": [{"name": "홍길동", "nameEn": "HONG GILDONG", "birth": "1990-01-01", "gender": "M"}],
        "contactInfo": {"email": user.email, "phone": "010-1234-5678"},
        "paymentMethod": "CARD",
        "totalAmount": unit,
    }
    out = assert_json(srv.post(BOOKINGS, json=body, headers=user.auth), 201)
    amount = int(srv.db_scalar("SELECT total_amount AS a FROM bookings WHERE booking_id = ?", (out["booking_id"],)))
    assert amount == unit
    return {"booking_id": out["booking_id"], "booking_number": out["booking_number"], "amount": amount,
            "schedule_id": sid}


def attach(srv, user, order_id, booking_id) -> requests.Response:
    return srv.post(ATTACH, json={"orderId": order_id, "bookingId": booking_id}, headers=user.auth)


def paid_booking(srv, user, fake=None) -> dict:
    """A booking with an attached PAID payment (the receipt registered with `fake` if given)."""
    b = create_booking(srv, user)
    p = init_payment(srv, user, amount=b["amount"], scheduleId=b["schedule_id"])
    receipt = new_receipt()
    if fake is not None:
        fake.add_receipt(receipt, p["order_id"], b["amount"])
    assert assert_json(webhook(srv, paid_event(p["order_id"], receipt, b["amount"])), 200) == OK
    assert assert_json(attach(srv, user, p["order_id"], b["booking_id"]), 200) == {
        "success": True, "message": MSG_ATTACHED}
    row = payment_row(srv, p["order_id"])
    assert row["status"] == "PAID" and row["booking_id"] == b["booking_id"], row
    return {**b, "order_id": p["order_id"], "payment_id": p["payment_id"], "receipt": receipt}


def cancel_booking(srv, user, booking_number: str) -> None:
    r = srv.post(f"{BOOKINGS}/{booking_number}/cancel", headers=user.auth)
    assert assert_json(r, 200) == {"message": "예약이 성공적으로 취소되었습니다.", "success": True,
                                   "booking_number": booking_number}


def admin_cancel_booking(srv, booking_number: str) -> None:
    r = srv.put(f"/api/admin/bookings/{booking_number}/cancel",
                headers={"Authorization": f"Bearer {srv.admin_token()}"})
    assert assert_json(r, 200) == {"message": "예약이 취소되었습니다.", "success": True}


def outbox_id_of(srv, payment_id: int) -> int:
    return int(srv.db_scalar("SELECT outbox_id AS id FROM refund_outbox WHERE payment_id = ?", (payment_id,)))


def assert_refund_call(body: dict, receipt: str, amount: int, cancel_id: str | None = None) -> None:
    """A cancel body as CloudJet sends it; cancel_id (cj-refund-<outbox_id>) checked when given."""
    assert set(body) == {"receipt_id", "cancel_price", "cancel_username", "cancel_message", "cancel_id"}, body
    assert body["receipt_id"] == receipt and body["cancel_price"] == amount, body
    assert re.fullmatch(r"cj-refund-[0-9]+", body["cancel_id"]), body
    if cancel_id is not None:
        assert body["cancel_id"] == cancel_id, body
    assert isinstance(body["cancel_username"], str) and body["cancel_username"].strip(), body
    assert isinstance(body["cancel_message"], str) and body["cancel_message"].strip(), body


# ============================================================================================
# fixtures


def _module_server(request, tmp_path_factory, backend: str, name: str, env: dict) -> cj.Server:
    mdb = request.getfixturevalue("mariadb") if backend == "mariadb" else None
    if mdb is not None and not mdb.running:
        mdb.start()
    srv = cj.Server(tmp_path_factory.mktemp(f"{name}-{backend}"), backend=backend, mariadb=mdb,
                    extra_env={**MODULE_SERVER_ENV, **env})
    return srv.start()


@pytest.fixture(scope="module")
def server(request, tmp_path_factory, backend):
    """Webhook key and application id, no gateway URL (overrides conftest's `server`)."""
    srv = _module_server(request, tmp_path_factory, backend, "payment", KEY_ENV)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def gw_server(request, tmp_path_factory, backend, bootpay_module):
    """Configured with the module's fake Bootpay as its gateway."""
    srv = _module_server(request, tmp_path_factory, backend, "payment-gw", gateway_env(bootpay_module))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def user(server):
    return server.make_user()


@pytest.fixture(scope="module")
def other_user(server):
    return server.make_user()


@pytest.fixture(scope="module")
def gw_user(gw_server):
    return gw_server.make_user()


# ============================================================================================
# health and init


def test_payment_health(server):
    assert assert_json(server.get("/api/payments/health"), 200) == {
        "status": "healthy", "service": "payment-service", "port": 5005}


def test_init_creates_requested_payment_and_returns_bootpay_parameters(server):
    u = server.make_user()
    sid, _ = bookable_schedule(server)
    body = init_payment(server, u, amount=AMOUNT, scheduleId=sid)
    assert set(body) == {"success", "payment_id", "order_id", "bootpay"}, body
    assert re.fullmatch(rf"CJ-ORD-{u.user_id}-{sid}-[0-9a-f]{{8}}", body["order_id"]), body
    assert isinstance(body["payment_id"], int) and body["payment_id"] > 0, body
    assert body["bootpay"] == {"application_id": APPLICATION_ID, "price": AMOUNT,
                               "order_name": DEFAULT_ORDER_NAME, "pg": "nicepay", "method": "card"}
    row = payment_row(server, body["order_id"])
    assert row["payment_id"] == body["payment_id"]
    assert (row["user_id"], row["booking_id"], row["amount"], row["currency"], row["status"]) == (
        u.user_id, None, AMOUNT, "KRW", "REQUESTED")
    assert (row["method"], row["provider"], row["bootpay_receipt_id"], row["raw_payload"]) == (
        "CARD", "NICEPAY", None, None)


def test_init_without_schedule_uses_na_in_generated_order_id(server, user):
    body = init_payment(server, user, amount=1)
    assert re.fullmatch(rf"CJ-ORD-{user.user_id}-NA-[0-9a-f]{{8}}", body["order_id"]), body
    assert body["bootpay"]["price"] == 1
    assert payment_row(server, body["order_id"])["amount"] == 1


def test_init_generated_order_ids_are_unique(server, user):
    ids = {init_payment(server, user, amount=1000)["order_id"] for _ in range(5)}
    assert len(ids) == 5


def test_init_accepts_the_maximum_amount(server, user):
    """The largest payment is the most expensive booking: the fare cap (100,000,000) × 9."""
    body = init_payment(server, user, amount=MAX_BOOKING_AMOUNT)
    assert body["bootpay"]["price"] == MAX_BOOKING_AMOUNT
    assert payment_row(server, body["order_id"])["amount"] == MAX_BOOKING_AMOUNT


def test_the_most_expensive_booking_can_be_paid_and_one_won_more_is_refused(server):
    """One money limit (core/money.hpp): a fare up to 100,000,000, nine passengers, so a booking and
    a payment up to 900,000,000. The booking at the fare cap for nine passengers is accepted and
    its payment initialised for exactly that amount; one won more is a 400 on both."""
    admin = {"Authorization": f"Bearer {server.admin_token()}"}
    fid = "M" + uuid.uuid4().hex[:6].upper()
    date = (dt.datetime.now(dt.timezone.utc).date() + dt.timedelta(days=20)).isoformat()
    flight = {"flight_id": fid, "departure_airport": "ICN", "arrival_airport": "CDG", "departure_time": "13:00",
              "arrival_time": "18:30", "aircraft": "Airbus A350-900", "base_price": MAX_FARE}
    over = {**flight, "base_price": MAX_FARE + 1}
    assert_error(server.post("/api/admin/flights-with-schedules", headers=admin, json={
        "flight": over, "schedule": {"mode": "single", "date": date}}), 400, "invalid_field")
    assert_error(server.post("/api/admin/flights-with-schedules", headers=admin, json={
        "flight": flight, "schedule": {"mode": "single", "date": date, "current_price": MAX_FARE + 1}}),
        400, "invalid_field")
    assert server.db_query("SELECT flight_id FROM flights WHERE flight_id = ?", (fid,)) == []
    assert_json(server.post("/api/admin/flights-with-schedules", headers=admin, json={
        "flight": flight, "schedule": {"mode": "single", "date": date}}), 201)
    sid = int(server.db_scalar("SELECT schedule_id AS s FROM flight_schedules WHERE flight_id = ?", (fid,)))
    assert int(server.db_scalar("SELECT current_price AS p FROM flight_schedules WHERE schedule_id = ?",
                                (sid,))) == MAX_FARE

    user = server.make_user()
    body = {"scheduleId": sid,
            "passengers": [{"name": f"승객{i}", "birth": "1990-01-01", "gender": "F"} for i in range(9)],
            "contactInfo": {"email": user.email, "phone": "010-1234-5678"}, "paymentMethod": "CARD"}
    r = server.post(BOOKINGS, json={**body, "totalAmount": MAX_BOOKING_AMOUNT + 1}, headers=user.auth)
    assert_error(r, 400, "invalid_field", "totalAmount: 0 이상 900,000,000 이하의 정수여야 합니다.")
    assert server.db_query("SELECT booking_id FROM bookings WHERE user_id = ?", (user.user_id,)) == []

    booked = assert_json(server.post(BOOKINGS, json={**body, "totalAmount": MAX_BOOKING_AMOUNT},
                                     headers=user.auth), 201)
    row = server.db_query("SELECT total_amount, status FROM bookings WHERE booking_id = ?", (booked["booking_id"],))
    assert [(int(x["total_amount"]), x["status"]) for x in row] == [(MAX_BOOKING_AMOUNT, "CONFIRMED")]
    assert int(server.db_scalar("SELECT COUNT(*) AS n FROM passengers WHERE booking_id = ?",
                                (booked["booking_id"],))) == 9

    r = server.post(INIT, json={"amount": MAX_BOOKING_AMOUNT + 1, "scheduleId": sid}, headers=user.auth)
    assert_error(r, 400, "invalid_field", "amount: 1 이상 900,000,000 이하의 정수여야 합니다.")
    assert payment_count(server, user) == 0
    paid = init_payment(server, user, amount=MAX_BOOKING_AMOUNT, scheduleId=sid)
    assert paid["bootpay"]["price"] == MAX_BOOKING_AMOUNT
    row = payment_row(server, paid["order_id"])
    assert (int(row["amount"]), row["status"], row["user_id"]) == (MAX_BOOKING_AMOUNT, "REQUESTED", user.user_id)
    receipt = new_receipt()
    assert assert_json(webhook(server, paid_event(paid["order_id"], receipt, MAX_BOOKING_AMOUNT)), 200) == OK
    assert assert_json(attach(server, user, paid["order_id"], booked["booking_id"]), 200) == {
        "success": True, "message": MSG_ATTACHED}
    row = payment_row(server, paid["order_id"])
    assert (row["status"], row["booking_id"], int(row["amount"])) == ("PAID", booked["booking_id"],
                                                                      MAX_BOOKING_AMOUNT)


def test_init_kakao_method_without_provider_uses_kakao_provider_and_given_order(server, user):
    order_id = "my_ORDER-" + uuid.uuid4().hex[:10]
    body = init_payment(server, user, amount=55000, orderId=order_id, orderName="제주 왕복 2인", method="KAKAO")
    assert body == {"success": True, "payment_id": body["payment_id"], "order_id": order_id,
                    "bootpay": {"application_id": APPLICATION_ID, "price": 55000, "order_name": "제주 왕복 2인",
                                "pg": "kakao", "method": "kakao"}}
    row = payment_row(server, order_id)
    assert (row["payment_id"], row["method"], row["provider"], row["status"], row["user_id"]) == (
        body["payment_id"], "KAKAO", "KAKAO", "REQUESTED", user.user_id)


@pytest.mark.parametrize("method, provider, pg, bp_method", [
    ("CARD", "KAKAO", "kakao", "card"),
    ("KAKAO", "NICEPAY", "nicepay", "kakao"),
    ("CARD", "NICEPAY", "nicepay", "card"),
])
def test_init_method_and_provider_are_stored_and_mapped_to_bootpay(server, user, method, provider, pg, bp_method):
    body = init_payment(server, user, amount=1000, method=method, provider=provider)
    assert (body["bootpay"]["pg"], body["bootpay"]["method"]) == (pg, bp_method), body
    row = payment_row(server, body["order_id"])
    assert (row["method"], row["provider"]) == (method, provider)


def test_init_missing_amount_is_400_missing_field(server):
    u = server.make_user()
    r = server.post(INIT, json={"scheduleId": 1}, headers=u.auth)
    assert assert_json(r, 400) == {"message": MSG_AMOUNT_REQUIRED, "error": "missing_field"}
    assert payment_count(server, u) == 0


@pytest.mark.parametrize("amount", [0, -1, 1.5, "100원", "-100", 900000001, "900000001", True, [100]])
def test_init_amount_not_a_positive_integer_up_to_900_million_is_400_invalid_field(server, amount):
    u = server.make_user()
    assert_error(server.post(INIT, json={"amount": amount}, headers=u.auth), 400, "invalid_field",
                 "amount: 1 이상 900,000,000 이하의 정수여야 합니다.")
    assert payment_count(server, u) == 0


@pytest.mark.parametrize("order_id", ["", "a" * 65, "has space", "주문번호", "a/b", "a.b", "x;DROP", 12345])
def test_init_malformed_order_id_is_400_invalid_field(server, order_id):
    u = server.make_user()
    r = server.post(INIT, json={"amount": 1000, "orderId": order_id}, headers=u.auth)
    assert_error(r, 400, "invalid_field")
    assert payment_count(server, u) == 0


def test_init_order_id_of_64_characters_is_accepted(server, user):
    order_id = ("A-b_9" * 13)[:64]
    assert init_payment(server, user, amount=1000, orderId=order_id)["order_id"] == order_id


def test_init_duplicate_order_id_is_409_order_exists(server, user, other_user):
    order_id = "dup-" + uuid.uuid4().hex
    first = init_payment(server, user, amount=1000, orderId=order_id)
    for who in (user, other_user):
        r = server.post(INIT, json={"amount": 2000, "orderId": order_id}, headers=who.auth)
        assert_error(r, 409, "order_exists")
    row = payment_row(server, order_id)
    assert (row["payment_id"], row["user_id"], row["amount"]) == (first["payment_id"], user.user_id, 1000)


@pytest.mark.parametrize("field, value", [("method", "CASH"), ("method", 1), ("provider", "TOSS"),
                                          ("provider", ""), ("scheduleId", 0), ("scheduleId", "7a"),
                                          ("scheduleId", "-7")])
def test_init_bad_method_provider_or_schedule_is_400_invalid_field(server, field, value):
    u = server.make_user()
    r = server.post(INIT, json={"amount": 1000, field: value}, headers=u.auth)
    assert_error(r, 400, "invalid_field")
    assert payment_count(server, u) == 0


def test_init_without_token_is_401(server):
    before = payment_count(server)
    r = server.post(INIT, json={"amount": 1000})
    assert assert_json(r, 401) == {"message": cj.MSG_TOKEN_MISSING, "error": "token_missing"}
    assert payment_count(server) == before


# ============================================================================================
# webhook: signature and basic transitions (no gateway)


@pytest.mark.parametrize("header", ["Bootpay-Signature", "X-Bootpay-Signature"])
def test_signed_webhook_marks_payment_paid_with_receipt_and_raw_payload(server, user, header):
    p = init_payment(server, user)
    backdate(server, p["order_id"])
    receipt = new_receipt()
    event = paid_event(p["order_id"], receipt, card_data={"card_company": "신한", "card_no": "5365****"})
    assert assert_json(webhook(server, event, header=header), 200) == OK
    row = payment_row(server, p["order_id"])
    assert (row["status"], row["bootpay_receipt_id"], row["amount"], row["user_id"]) == (
        "PAID", receipt, AMOUNT, user.user_id)
    assert raw_payload(row) == event
    assert ts_text(row["updated_at"]) != BACKDATED


@pytest.mark.parametrize("status", [
    {"status": 1}, {"status": "PAID"}, {"status": "paid"}, {"status": "Complete"}, {"status": "COMPLETED"},
    {"status": "success"}, {"status_en": "Completed"}, {"status": 2, "status_en": "paid"},
])
def test_webhook_paid_statuses_with_receipt_mark_paid(server, user, status):
    p = init_payment(server, user)
    receipt = new_receipt()
    event = {"order_id": p["order_id"], "receipt_id": receipt, "price": AMOUNT, **status}
    assert assert_json(webhook(server, event), 200) == OK
    row = payment_row(server, p["order_id"])
    assert (row["status"], row["bootpay_receipt_id"]) == ("PAID", receipt)
    assert raw_payload(row) == event


def test_webhook_accepts_camel_case_order_and_receipt_and_amount_fields(server, user):
    p = init_payment(server, user)
    receipt = new_receipt()
    event = {"orderId": p["order_id"], "receiptId": receipt, "amount": AMOUNT, "status": "PAID"}
    assert assert_json(webhook(server, event), 200) == OK
    row = payment_row(server, p["order_id"])
    assert (row["status"], row["bootpay_receipt_id"]) == ("PAID", receipt)
    assert raw_payload(row) == event


def test_form_encoded_webhook_marks_paid_and_stores_decoded_fields(server, user):
    p = init_payment(server, user)
    receipt = new_receipt()
    # percent-encoded UTF-8 and reserved characters; form values are strings ("320000", "1")
    fields = {"receipt_id": receipt, "order_id": p["order_id"], "price": str(AMOUNT), "status": "1",
              "status_en": "complete", "method_origin": "카드결제", "note": "a+b=c&d/e%f"}
    assert assert_json(webhook(server, fields, form=True), 200) == OK
    row = payment_row(server, p["order_id"])
    assert (row["status"], row["bootpay_receipt_id"]) == ("PAID", receipt)
    assert raw_payload(row) == fields


def test_form_encoded_webhook_with_spaces_encoded_as_plus_marks_paid(server, user):
    """application/x-www-form-urlencoded encodes a space as '+': Bootpay's order_name (by default
    "CloudJet 항공권 결제") has spaces."""
    p = init_payment(server, user)
    receipt = new_receipt()
    fields = {"receipt_id": receipt, "order_id": p["order_id"], "price": str(AMOUNT), "status": "PAID",
              "order_name": DEFAULT_ORDER_NAME, "method_origin": "카드 결제"}
    raw = urllib.parse.urlencode(fields).encode()
    assert b"+" in raw
    assert assert_json(webhook(server, raw, signature=sign(raw), form=True), 200) == OK
    row = payment_row(server, p["order_id"])
    assert (row["status"], row["bootpay_receipt_id"]) == ("PAID", receipt)
    assert raw_payload(row) == fields


def test_form_encoded_webhook_with_wrong_amount_is_409_and_changes_nothing(server, user):
    p = init_payment(server, user)
    before = backdate(server, p["order_id"])
    fields = {"receipt_id": new_receipt(), "order_id": p["order_id"], "price": str(AMOUNT + 1), "status": "PAID"}
    assert_error(webhook(server, fields, form=True), 409, "amount_mismatch")
    assert payment_row(server, p["order_id"]) == before


def test_webhook_signature_covers_exact_body_bytes(server, user):
    """Unusual but valid JSON (spacing, key order, escapes): the HMAC is over the bytes as sent."""
    p = init_payment(server, user)
    receipt = new_receipt()
    raw = (f'{{ "status" : 1,\n  "price":{AMOUNT}, "order_id" : "{p["order_id"]}", '
           f'"receipt_id":"{receipt}", "msg":"\\uacb0\\uc81c \uc644\ub8cc" }}').encode()
    assert assert_json(webhook(server, raw), 200) == OK
    row = payment_row(server, p["order_id"])
    assert (row["status"], row["bootpay_receipt_id"]) == ("PAID", receipt)
    assert raw_payload(row) == json.loads(raw)


def test_unsigned_webhook_is_401_and_changes_nothing(server, user):
    p = init_payment(server, user)
    before = backdate(server, p["order_id"])
    r = webhook(server, paid_event(p["order_id"], new_receipt()), signed=False)
    assert assert_json(r, 401) == {"message": MSG_BAD_SIGNATURE, "error": "invalid_signature"}
    assert payment_row(server, p["order_id"]) == before


@pytest.mark.parametrize("how", ["wrong_key", "other_body", "hex_digest", "empty", "garbage",
                                 "application_id_as_key"])
def test_badly_signed_webhook_is_401_and_changes_nothing(server, user, how):
    p = init_payment(server, user)
    before = backdate(server, p["order_id"])
    event = paid_event(p["order_id"], new_receipt())
    raw = json.dumps(event).encode()
    signature = {
        "wrong_key": sign(raw, "not-the-private-key"),
        "other_body": sign(json.dumps({**event, "price": AMOUNT + 1}).encode()),
        "hex_digest": hmac.new(PRIVATE_KEY.encode(), raw, hashlib.sha256).hexdigest(),
        "empty": "",
        "garbage": "c2lnbmF0dXJl",
        "application_id_as_key": sign(raw, APPLICATION_ID),
    }[how]
    for header in ("Bootpay-Signature", "X-Bootpay-Signature"):
        r = webhook(server, raw, signature=signature, header=header)
        assert assert_json(r, 401) == {"message": MSG_BAD_SIGNATURE, "error": "invalid_signature"}
    assert payment_row(server, p["order_id"]) == before


def test_signed_body_tampered_after_signing_is_401(server, user):
    p = init_payment(server, user)
    before = backdate(server, p["order_id"])
    raw = json.dumps(paid_event(p["order_id"], new_receipt())).encode()
    r = webhook(server, raw + b" ", signature=sign(raw))
    assert assert_json(r, 401) == {"message": MSG_BAD_SIGNATURE, "error": "invalid_signature"}
    assert payment_row(server, p["order_id"]) == before


@pytest.mark.parametrize("price", [AMOUNT + 1, AMOUNT - 1, 0, None, "lots"])
def test_amount_mismatched_webhook_is_409_and_changes_nothing(server, user, price):
    p = init_payment(server, user)
    before = backdate(server, p["order_id"])
    event = paid_event(p["order_id"], new_receipt(), price=price)
    if price is None:
        del event["price"]
    assert_error(webhook(server, event), 409, "amount_mismatch")
    assert payment_row(server, p["order_id"]) == before


def test_unknown_order_webhook_is_404_and_changes_nothing(server, user):
    init_payment(server, user)
    before = all_payments(server)
    r = webhook(server, paid_event("CJ-ORD-0-NA-" + uuid.uuid4().hex[:8], new_receipt()))
    assert_error(r, 404, "payment_not_found")
    r = webhook(server, {"order_id": "no-such-order", "status": "FAILED"})
    assert_error(r, 404, "payment_not_found")
    assert all_payments(server) == before


@pytest.mark.parametrize("body", [{"receipt_id": "r-1", "price": AMOUNT, "status": 1}, {"order_id": "", "status": 1},
                                  {"order_id": None, "status": "FAILED"}])
def test_webhook_without_order_id_is_400_missing_field(server, user, body):
    init_payment(server, user)
    before = all_payments(server)
    assert assert_json(webhook(server, body), 400) == {"message": MSG_ORDER_ID_MISSING, "error": "missing_field"}
    assert all_payments(server) == before


def test_replayed_paid_webhook_is_200_and_changes_nothing(server, user):
    p = init_payment(server, user)
    receipt = new_receipt()
    event = paid_event(p["order_id"], receipt)
    assert assert_json(webhook(server, event), 200) == OK
    before = backdate(server, p["order_id"])
    assert before["status"] == "PAID"
    for replay in (event, event, {**event, "status": "COMPLETED", "retry": 2}):
        assert assert_json(webhook(server, replay), 200) == OK
    fields = {k: str(v) for k, v in event.items()}
    assert assert_json(webhook(server, fields, form=True), 200) == OK
    after = payment_row(server, p["order_id"])
    assert after == before
    assert raw_payload(after) == event


@pytest.mark.parametrize("failure", [
    {"status": "FAILED"}, {"status": 0}, {"status": -1}, {"status": "cancelled"}, {"status_en": "error"},
    {"status": "PAID", "receipt_id": None},  # "paid" without a receipt is not a payment
])
def test_failure_webhook_marks_requested_payment_failed(server, user, failure):
    p = init_payment(server, user)
    event = {"order_id": p["order_id"], "receipt_id": new_receipt(), "price": AMOUNT, **failure}
    assert assert_json(webhook(server, event), 200) == OK
    row = payment_row(server, p["order_id"])
    assert (row["status"], row["bootpay_receipt_id"], row["amount"]) == ("FAILED", None, AMOUNT)


def test_out_of_order_failed_webhook_after_paid_keeps_payment_paid(server, user):
    p = init_payment(server, user)
    receipt = new_receipt()
    event = paid_event(p["order_id"], receipt)
    assert assert_json(webhook(server, event), 200) == OK
    before = backdate(server, p["order_id"])
    late = [{"order_id": p["order_id"], "receipt_id": receipt, "price": AMOUNT, "status": "FAILED"},
            {"order_id": p["order_id"], "status": -1, "status_en": "cancelled"},
            {"order_id": p["order_id"], "status": 0}]
    for body in late:
        assert assert_json(webhook(server, body), 200) == OK
    assert assert_json(webhook(server, {k: str(v) for k, v in late[0].items()}, form=True), 200) == OK
    after = payment_row(server, p["order_id"])
    assert after == before
    assert (after["status"], after["bootpay_receipt_id"]) == ("PAID", receipt)
    assert raw_payload(after) == event


def test_receipt_already_used_by_another_payment_is_409_without_gateway(server, user):
    first = init_payment(server, user)
    second = init_payment(server, user)
    receipt = new_receipt()
    assert assert_json(webhook(server, paid_event(first["order_id"], receipt)), 200) == OK
    before = backdate(server, second["order_id"])
    assert_error(webhook(server, paid_event(second["order_id"], receipt)), 409, "gateway_mismatch")
    assert payment_row(server, second["order_id"]) == before
    assert payment_row(server, first["order_id"])["bootpay_receipt_id"] == receipt


def test_webhook_without_private_key_is_503_webhook_disabled_for_everything(server_factory):
    srv = server_factory(extra_env={})
    u = srv.make_user()
    p = init_payment(srv, u)
    assert p["bootpay"]["application_id"] is None
    before = backdate(srv, p["order_id"])
    event = paid_event(p["order_id"], new_receipt())
    for r in (webhook(srv, event), webhook(srv, event, signed=False), webhook(srv, event, key=""),
              webhook(srv, {"order_id": "unknown"}), webhook(srv, b"not json", signed=False)):
        assert_error(r, 503, "webhook_disabled")
    assert payment_row(srv, p["order_id"]) == before


# ============================================================================================
# webhook verified against the gateway


def test_gateway_lookup_authenticates_with_application_id_and_private_key(server_factory):
    # a fake of its own: this test revokes the gateway's tokens, which the module's servers hold
    fake = FakeBootpay(APPLICATION_ID, PRIVATE_KEY).start()
    try:
        srv = server_factory(extra_env=gateway_env(fake))
        u = srv.make_user()
        p = init_payment(srv, u)
        receipt = new_receipt()
        fake.add_receipt(receipt, p["order_id"], AMOUNT)
        assert assert_json(webhook(srv, paid_event(p["order_id"], receipt)), 200) == OK
        calls = fake.calls()
        assert [(c.method, c.path, c.status) for c in calls] == [
            ("POST", "/v2/request/token", 200), ("GET", f"/v2/receipt/{receipt}", 200)], calls
        assert calls[0].body == {"application_id": APPLICATION_ID, "private_key": PRIVATE_KEY}
        assert calls[1].bearer is not None and calls[1].bearer.startswith("tok-")
        row = payment_row(srv, p["order_id"])
        assert (row["status"], row["bootpay_receipt_id"]) == ("PAID", receipt)

        # the gateway forgets its tokens: the server gets a new one and carries on
        fake.reset(revoke_tokens=True)
        p2 = init_payment(srv, u)
        receipt2 = new_receipt()
        fake.add_receipt(receipt2, p2["order_id"], AMOUNT)
        assert assert_json(webhook(srv, paid_event(p2["order_id"], receipt2)), 200) == OK
        assert [(c.endpoint, c.status) for c in fake.calls()] == [
            ("receipt", 401), ("token", 200), ("receipt", 200)]
        assert payment_row(srv, p2["order_id"])["status"] == "PAID"
    finally:
        fake.stop()


@pytest.mark.parametrize("missing", ["BOOTPAY_REST_API_KEY", "BOOTPAY_API_URL"])
def test_gateway_is_not_called_unless_all_three_settings_are_set(server_factory, bootpay, missing):
    env = {k: v for k, v in gateway_env(bootpay).items() if k != missing}
    srv = server_factory(extra_env=env)
    u = srv.make_user()
    pb = paid_booking(srv, u)  # no receipt registered with the fake: it is not asked
    cancel_booking(srv, u, pb["booking_number"])
    time.sleep(2.3)  # more than one refund worker tick
    assert bootpay.calls() == []
    assert payment_row(srv, pb["order_id"])["status"] == "CANCELLED"
    assert [(r["status"], r["attempts"]) for r in refund_rows(srv, pb["payment_id"])] == [("PENDING", 0)]


def test_webhook_confirmed_by_gateway_marks_paid(gw_server, gw_user, bootpay):
    p = init_payment(gw_server, gw_user)
    receipt = new_receipt()
    bootpay.add_receipt(receipt, p["order_id"], AMOUNT)
    event = paid_event(p["order_id"], receipt)
    assert assert_json(webhook(gw_server, event), 200) == OK
    lookups = bootpay.calls("receipt")
    assert [(c.path, c.status) for c in lookups] == [(f"/v2/receipt/{receipt}", 200)]
    row = payment_row(gw_server, p["order_id"])
    assert (row["status"], row["bootpay_receipt_id"]) == ("PAID", receipt)
    assert raw_payload(row) == event
    assert bootpay.calls("cancel") == []


@pytest.mark.parametrize("disagreement", ["other_order", "other_price", "status_0", "status_20",
                                          "unknown_receipt"])
def test_webhook_the_gateway_disagrees_with_is_409_gateway_mismatch_and_changes_nothing(
        gw_server, gw_user, bootpay, disagreement):
    p = init_payment(gw_server, gw_user)
    receipt = new_receipt()
    receipt_fields = {
        "other_order": {"order_id": "CJ-ORD-0-NA-deadbeef"},
        "other_price": {"price": AMOUNT - 1000},
        "status_0": {"status": 0},
        "status_20": {"status": 20},
    }.get(disagreement)
    if receipt_fields is not None:
        bootpay.add_receipt(receipt, **{"order_id": p["order_id"], "price": AMOUNT, "status": 1, **receipt_fields})
    before = backdate(gw_server, p["order_id"])
    # the webhook itself is consistent (signed, right amount): only the gateway's record says no
    assert_error(webhook(gw_server, paid_event(p["order_id"], receipt)), 409, "gateway_mismatch")
    assert [(c.path, c.status) for c in bootpay.calls("receipt")] == [
        (f"/v2/receipt/{receipt}", 404 if disagreement == "unknown_receipt" else 200)]
    assert payment_row(gw_server, p["order_id"]) == before


def test_receipt_of_another_payment_is_409_gateway_mismatch_with_gateway(gw_server, gw_user, bootpay):
    first = init_payment(gw_server, gw_user)
    second = init_payment(gw_server, gw_user)
    receipt = new_receipt()
    bootpay.add_receipt(receipt, first["order_id"], AMOUNT)
    assert assert_json(webhook(gw_server, paid_event(first["order_id"], receipt)), 200) == OK
    before = backdate(gw_server, second["order_id"])
    assert_error(webhook(gw_server, paid_event(second["order_id"], receipt)), 409, "gateway_mismatch")
    assert payment_row(gw_server, second["order_id"]) == before


def test_gateway_5xx_is_503_after_retries_and_changes_nothing_then_retry_succeeds(gw_server, gw_user, bootpay):
    p = init_payment(gw_server, gw_user)
    receipt = new_receipt()
    bootpay.add_receipt(receipt, p["order_id"], AMOUNT)
    event = paid_event(p["order_id"], receipt)
    before = backdate(gw_server, p["order_id"])
    bootpay.fail_next("receipt", 500, times=3)
    assert_error(webhook(gw_server, event), 503, "gateway_unreachable")
    assert [c.status for c in bootpay.calls("receipt")] == [500, 500, 500]  # retried, then gave up
    assert payment_row(gw_server, p["order_id"]) == before

    # Bootpay retries the webhook once the gateway is back
    assert assert_json(webhook(gw_server, event), 200) == OK
    assert [c.status for c in bootpay.calls("receipt")] == [500, 500, 500, 200]
    row = payment_row(gw_server, p["order_id"])
    assert (row["status"], row["bootpay_receipt_id"]) == ("PAID", receipt)
    assert raw_payload(row) == event


def test_gateway_transient_5xx_within_retries_still_marks_paid(gw_server, gw_user, bootpay):
    p = init_payment(gw_server, gw_user)
    receipt = new_receipt()
    bootpay.add_receipt(receipt, p["order_id"], AMOUNT)
    bootpay.fail_next("receipt", 502, times=2)
    assert assert_json(webhook(gw_server, paid_event(p["order_id"], receipt)), 200) == OK
    assert [c.status for c in bootpay.calls("receipt")] == [502, 502, 200]
    assert payment_row(gw_server, p["order_id"])["status"] == "PAID"


def test_gateway_down_is_503_and_changes_nothing_then_retry_succeeds(gw_server, gw_user, bootpay):
    p = init_payment(gw_server, gw_user)
    receipt = new_receipt()
    bootpay.add_receipt(receipt, p["order_id"], AMOUNT)
    event = paid_event(p["order_id"], receipt)
    before = backdate(gw_server, p["order_id"])
    bootpay.stop()
    try:
        assert_error(webhook(gw_server, event), 503, "gateway_unreachable")
        assert payment_row(gw_server, p["order_id"]) == before
    finally:
        bootpay.start()
    assert assert_json(webhook(gw_server, event), 200) == OK
    row = payment_row(gw_server, p["order_id"])
    assert (row["status"], row["bootpay_receipt_id"]) == ("PAID", receipt)


def test_concurrent_duplicate_paid_webhooks_both_succeed_and_pay_once(gw_server, gw_user, bootpay):
    p = init_payment(gw_server, gw_user)
    receipt = new_receipt()
    bootpay.add_receipt(receipt, p["order_id"], AMOUNT)
    bootpay.set_delay(0.5, "receipt")  # both requests are past their first look at the payment
    event = paid_event(p["order_id"], receipt)
    raw = json.dumps(event).encode()
    headers = {"Content-Type": "application/json", "Bootpay-Signature": sign(raw)}
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(cj.one_shot, "POST", gw_server.url(WEBHOOK), data=raw, headers=headers)
                   for _ in range(2)]
        responses = [f.result() for f in futures]
    for r in responses:
        assert assert_json(r, 200) == OK
    row = payment_row(gw_server, p["order_id"])
    assert (row["status"], row["bootpay_receipt_id"]) == ("PAID", receipt)
    assert raw_payload(row) == event


# ============================================================================================
# attach-booking


def test_attach_booking_links_payment_and_reattaching_is_harmless(server, user):
    b = create_booking(server, user)
    p = init_payment(server, user, amount=b["amount"])
    for _ in range(2):
        assert assert_json(attach(server, user, p["order_id"], b["booking_id"]), 200) == {
            "success": True, "message": MSG_ATTACHED}
    row = payment_row(server, p["order_id"])
    assert (row["booking_id"], row["status"], row["amount"]) == (b["booking_id"], "REQUESTED", b["amount"])


def test_attach_paid_payment_keeps_it_paid(server, user):
    b = create_booking(server, user)
    p = init_payment(server, user, amount=b["amount"])
    receipt = new_receipt()
    assert assert_json(webhook(server, paid_event(p["order_id"], receipt, b["amount"])), 200) == OK
    assert assert_json(attach(server, user, p["order_id"], b["booking_id"]), 200)["success"] is True
    row = payment_row(server, p["order_id"])
    assert (row["booking_id"], row["status"], row["bootpay_receipt_id"]) == (b["booking_id"], "PAID", receipt)


@pytest.mark.parametrize("body", [{}, {"orderId": "x"}, {"bookingId": 1}, {"orderId": None, "bookingId": 1},
                                  {"orderId": "x", "bookingId": None}])
def test_attach_missing_order_or_booking_is_400_missing_field(server, user, body):
    before = all_payments(server)
    r = server.post(ATTACH, json=body, headers=user.auth)
    assert assert_json(r, 400) == {"message": MSG_ATTACH_FIELDS, "error": "missing_field"}
    assert all_payments(server) == before


def test_attach_payment_of_another_user_or_unknown_is_404_payment_not_found(server, user, other_user):
    b = create_booking(server, user)
    theirs = init_payment(server, other_user, amount=b["amount"])
    before = all_payments(server)
    assert_error(attach(server, user, theirs["order_id"], b["booking_id"]), 404, "payment_not_found")
    assert_error(attach(server, user, "no-such-order-" + uuid.uuid4().hex[:8], b["booking_id"]),
                 404, "payment_not_found")
    assert all_payments(server) == before


def test_attach_booking_of_another_user_or_unknown_is_404_booking_not_found(server, user, other_user):
    theirs = create_booking(server, other_user)
    p = init_payment(server, user, amount=theirs["amount"])
    before = all_payments(server)
    assert_error(attach(server, user, p["order_id"], theirs["booking_id"]), 404, "booking_not_found")
    assert_error(attach(server, user, p["order_id"], 987654321), 404, "booking_not_found")
    assert all_payments(server) == before
    assert payment_row(server, p["order_id"])["booking_id"] is None


@pytest.mark.parametrize("delta", [1, -1, 1000])
def test_attach_with_different_amounts_is_409_amount_mismatch(server, user, delta):
    b = create_booking(server, user)
    p = init_payment(server, user, amount=b["amount"] + delta)
    before = all_payments(server)
    assert_error(attach(server, user, p["order_id"], b["booking_id"]), 409, "amount_mismatch")
    assert all_payments(server) == before


def test_attach_payment_already_attached_to_another_booking_is_409_already_attached(server, user):
    b1 = create_booking(server, user)
    b2 = create_booking(server, user)
    assert b1["amount"] == b2["amount"]
    p = init_payment(server, user, amount=b1["amount"])
    assert assert_json(attach(server, user, p["order_id"], b1["booking_id"]), 200)["success"] is True
    before = all_payments(server)
    assert_error(attach(server, user, p["order_id"], b2["booking_id"]), 409, "already_attached")
    assert all_payments(server) == before
    assert payment_row(server, p["order_id"])["booking_id"] == b1["booking_id"]


@pytest.mark.parametrize("first_status", ["REQUESTED", "PAID"])
def test_attach_to_booking_that_has_another_live_payment_is_409_already_attached(server, user, first_status):
    b = create_booking(server, user)
    first = init_payment(server, user, amount=b["amount"])
    if first_status == "PAID":
        assert assert_json(webhook(server, paid_event(first["order_id"], new_receipt(), b["amount"])), 200) == OK
    assert assert_json(attach(server, user, first["order_id"], b["booking_id"]), 200)["success"] is True
    second = init_payment(server, user, amount=b["amount"])
    before = all_payments(server)
    assert_error(attach(server, user, second["order_id"], b["booking_id"]), 409, "already_attached")
    assert all_payments(server) == before
    assert payment_row(server, second["order_id"])["booking_id"] is None


def test_attach_to_booking_whose_other_payment_failed_is_allowed(server, user):
    b = create_booking(server, user)
    first = init_payment(server, user, amount=b["amount"])
    assert assert_json(attach(server, user, first["order_id"], b["booking_id"]), 200)["success"] is True
    assert assert_json(webhook(server, {"order_id": first["order_id"], "status": "FAILED"}), 200) == OK
    assert payment_row(server, first["order_id"])["status"] == "FAILED"
    second = init_payment(server, user, amount=b["amount"])
    assert assert_json(attach(server, user, second["order_id"], b["booking_id"]), 200) == {
        "success": True, "message": MSG_ATTACHED}
    assert payment_row(server, second["order_id"])["booking_id"] == b["booking_id"]


def test_attach_without_token_is_401(server, user):
    b = create_booking(server, user)
    p = init_payment(server, user, amount=b["amount"])
    r = server.post(ATTACH, json={"orderId": p["order_id"], "bookingId": b["booking_id"]})
    assert assert_json(r, 401) == {"message": cj.MSG_TOKEN_MISSING, "error": "token_missing"}
    assert payment_row(server, p["order_id"])["booking_id"] is None


# ============================================================================================
# refunds on cancel


@pytest.mark.parametrize("by", ["user", "admin"])
def test_cancel_of_paid_booking_cancels_payment_and_sends_exactly_one_refund(gw_server, gw_user, bootpay, by):
    pb = paid_booking(gw_server, gw_user, bootpay)
    if by == "user":
        cancel_booking(gw_server, gw_user, pb["booking_number"])
    else:
        admin_cancel_booking(gw_server, pb["booking_number"])
    # committed with the cancel itself
    assert payment_row(gw_server, pb["order_id"])["status"] == "CANCELLED"
    assert gw_server.db_scalar("SELECT status AS s FROM bookings WHERE booking_id = ?",
                               (pb["booking_id"],)) == "CANCELLED"
    rows = refund_rows(gw_server, pb["payment_id"])
    assert len(rows) == 1 and (rows[0]["receipt_id"], rows[0]["cancel_price"]) == (pb["receipt"], pb["amount"])

    bootpay.wait_for_calls(1, "cancel", 200, timeout=10)
    done = wait_refund(gw_server, pb["payment_id"], lambda r: r["status"] == "DONE", "refund DONE")
    assert (done["attempts"], done["last_error"]) == (1, None)
    time.sleep(2.3)  # more than one worker tick: nothing is sent again
    calls = bootpay.calls("cancel")
    assert len(calls) == 1, calls
    cancel_id = f"cj-refund-{outbox_id_of(gw_server, pb['payment_id'])}"
    assert_refund_call(calls[0].body, pb["receipt"], pb["amount"], cancel_id)
    assert calls[0].headers.get("idempotency-key") == cancel_id, calls[0].headers
    assert calls[0].bearer is not None
    assert bootpay.receipt(pb["receipt"])["status"] == 20
    assert refund_rows(gw_server, pb["payment_id"]) == [done]
    row = payment_row(gw_server, pb["order_id"])
    assert (row["status"], row["bootpay_receipt_id"], row["booking_id"]) == (
        "CANCELLED", pb["receipt"], pb["booking_id"])

    # a late replay of the paid webhook does not bring the payment back
    assert assert_json(webhook(gw_server, paid_event(pb["order_id"], pb["receipt"], pb["amount"])), 200) == OK
    assert payment_row(gw_server, pb["order_id"]) == row


def test_refund_whose_first_gateway_call_fails_is_retried_and_sent_exactly_once(gw_server, gw_user, bootpay):
    pb = paid_booking(gw_server, gw_user, bootpay)
    bootpay.fail_next("cancel", 500, times=3)  # the whole first attempt (3 tries) fails
    cancel_booking(gw_server, gw_user, pb["booking_number"])
    assert payment_row(gw_server, pb["order_id"])["status"] == "CANCELLED"

    failing = wait_refund(gw_server, pb["payment_id"], lambda r: r["attempts"] == 1 and r["status"] == "PENDING",
                          "refund PENDING after a failed attempt", timeout=10)
    assert isinstance(failing["last_error"], str) and failing["last_error"], failing
    assert (failing["receipt_id"], failing["cancel_price"]) == (pb["receipt"], pb["amount"])
    assert [c.status for c in bootpay.calls("cancel")] == [500, 500, 500]

    done = wait_refund(gw_server, pb["payment_id"], lambda r: r["status"] == "DONE", "refund DONE", timeout=15)
    assert done["attempts"] >= 2 and done["last_error"] is None, done
    time.sleep(2.3)
    calls = bootpay.calls("cancel")
    assert [c.status for c in calls] == [500, 500, 500, 200], calls
    for c in calls:
        assert_refund_call(c.body, pb["receipt"], pb["amount"])
    assert refund_rows(gw_server, pb["payment_id"]) == [done]
    assert payment_row(gw_server, pb["order_id"])["status"] == "CANCELLED"


def test_cancel_of_booking_without_paid_payment_makes_no_gateway_call(gw_server, gw_user, bootpay):
    requested = create_booking(gw_server, gw_user)
    p = init_payment(gw_server, gw_user, amount=requested["amount"])
    assert assert_json(attach(gw_server, gw_user, p["order_id"], requested["booking_id"]), 200)["success"] is True
    failed = create_booking(gw_server, gw_user)
    pf = init_payment(gw_server, gw_user, amount=failed["amount"])
    assert assert_json(attach(gw_server, gw_user, pf["order_id"], failed["booking_id"]), 200)["success"] is True
    assert assert_json(webhook(gw_server, {"order_id": pf["order_id"], "status": "FAILED"}), 200) == OK
    bare = create_booking(gw_server, gw_user)

    cancel_booking(gw_server, gw_user, requested["booking_number"])
    cancel_booking(gw_server, gw_user, failed["booking_number"])
    admin_cancel_booking(gw_server, bare["booking_number"])
    time.sleep(2.3)  # more than one worker tick
    assert bootpay.calls("cancel") == []
    assert payment_row(gw_server, p["order_id"])["status"] == "REQUESTED"
    assert payment_row(gw_server, pf["order_id"])["status"] == "FAILED"
    assert refund_rows(gw_server, p["payment_id"]) == [] and refund_rows(gw_server, pf["payment_id"]) == []


def test_refund_without_gateway_stays_queued_and_is_sent_once_configured(server_factory, bootpay):
    srv = server_factory(extra_env=KEY_ENV)  # no BOOTPAY_API_URL: no verification, no refund calls
    u = srv.make_user()
    pb = paid_booking(srv, u)
    cancel_booking(srv, u, pb["booking_number"])
    assert payment_row(srv, pb["order_id"])["status"] == "CANCELLED"
    time.sleep(2.3)
    assert refund_rows(srv, pb["payment_id"]) == [{
        "payment_id": pb["payment_id"], "receipt_id": pb["receipt"], "cancel_price": pb["amount"],
        "status": "PENDING", "attempts": 0, "last_error": None}]

    # nothing lost: the same data with the gateway configured sends it
    srv.stop()
    srv.env = srv.build_env(gateway_env(bootpay))
    srv.start()
    bootpay.wait_for_calls(1, "cancel", 200, timeout=10)
    done = wait_refund(srv, pb["payment_id"], lambda r: r["status"] == "DONE", "refund DONE")
    assert (done["attempts"], done["last_error"]) == (1, None)
    calls = bootpay.calls("cancel")
    assert len(calls) == 1, calls
    assert_refund_call(calls[0].body, pb["receipt"], pb["amount"])
    assert payment_row(srv, pb["order_id"])["status"] == "CANCELLED"
