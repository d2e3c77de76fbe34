"""Business counters on /metrics (issue 13): bookings created and cancelled, payments entering each
state, login and signup throttle hits. Black-box on SQLite and MariaDB: each counter moves by
exactly what the requests did, after the commit, and not for replays (an Idempotency-Key replay,
a repeated webhook) or for refused requests."""
from __future__ import annotations

import uuid

import cj
from cj import assert_error, assert_json
from conftest import MODULE_SERVER_ENV
from fake_bootpay import APPLICATION_ID, PRIVATE_KEY
from test_payment import paid_event, webhook

BOOKINGS = "/api/bookings"
INIT = "/api/payments/init"
KEY_ENV = {"BOOTPAY_PRIVATE_KEY": PRIVATE_KEY, "BOOTPAY_REST_API_KEY": APPLICATION_ID}


def counters(srv) -> dict[tuple[str, str], float]:
    """{(family, label value): value} for the business counter families."""
    r = srv.get("/metrics")
    assert r.status_code == 200, r.text[:300]
    families = {"cloudjet_bookings_created_total": "status", "cloudjet_bookings_cancelled_total": "by",
                "cloudjet_payment_transitions_total": "state", "cloudjet_auth_throttled_total": "kind"}
    out = {}
    for name, labels, value in cj.parse_metrics(r.text):
        if name in families and families[name] in labels:
            out[(name, labels[families[name]])] = value
    return out


def delta(before: dict, after: dict) -> dict:
    keys = set(before) | set(after)
    return {k: after.get(k, 0.0) - before.get(k, 0.0) for k in keys if after.get(k, 0.0) != before.get(k, 0.0)}


def book(srv, user, sched, key: str | None = None):
    body = {"scheduleId": sched["sid"],
            "passengers": [{"name": "홍길동", "nameEn": "HONG GILDONG", "birth": "1990-01-01", "gender": "M"}],
            "contactInfo": {"email": user.email, "phone": "010-1234-5678"},
            "paymentMethod": "CARD", "totalAmount": sched["unit"]}
    headers = dict(user.auth)
    if key:
        headers["Idempotency-Key"] = key
    return srv.post(BOOKINGS, json=body, headers=headers)


def test_bookings_created_and_cancelled_are_counted_once(make_server, backend):
    srv = make_server(backend, extra_env=MODULE_SERVER_ENV)
    user = srv.make_user()
    sched = cj.bookable_schedule(srv)
    before = counters(srv)
    key = uuid.uuid4().hex
    first = assert_json(book(srv, user, sched, key), 201)
    replay = book(srv, user, sched, key)
    assert replay.status_code == 201 and replay.headers.get("Idempotent-Replayed") == "true"
    second = assert_json(book(srv, user, sched), 201)
    # Refused: the price is not the server's. Counted nowhere.
    refused = assert_json(book(srv, user, {**sched, "unit": 1}), 409)
    assert refused["error"] == "price_changed", refused
    assert delta(before, counters(srv)) == {("cloudjet_bookings_created_total", "CONFIRMED"): 2.0}

    mid = counters(srv)
    assert_json(srv.post(f"{BOOKINGS}/{first['booking_number']}/cancel", headers=user.auth), 200)
    # Cancelling again is a 4xx and changes no counter.
    again = srv.post(f"{BOOKINGS}/{first['booking_number']}/cancel", headers=user.auth)
    assert 400 <= again.status_code < 500, again.text
    admin = {"Authorization": f"Bearer {srv.admin_token()}"}
    assert_json(srv.put(f"/api/admin/bookings/{second['booking_number']}/cancel", headers=admin), 200)
    assert delta(mid, counters(srv)) == {("cloudjet_bookings_cancelled_total", "user"): 1.0,
                                         ("cloudjet_bookings_cancelled_total", "admin"): 1.0}
    rows = srv.db_query("SELECT status FROM bookings WHERE booking_id IN (?, ?)",
                        (first["booking_id"], second["booking_id"]))
    assert [r["status"] for r in rows] == ["CANCELLED", "CANCELLED"], rows


def test_payments_are_counted_by_the_state_they_enter(make_server, backend):
    srv = make_server(backend, extra_env={**MODULE_SERVER_ENV, **KEY_ENV})
    user = srv.make_user()
    sched = cj.bookable_schedule(srv)
    before = counters(srv)
    paid = assert_json(srv.post(INIT, json={"amount": sched["unit"]}, headers=user.auth), 200)
    failed = assert_json(srv.post(INIT, json={"amount": sched["unit"]}, headers=user.auth), 200)
    receipt = "rcpt-" + uuid.uuid4().hex[:20]
    event = paid_event(paid["order_id"], receipt, sched["unit"])
    assert assert_json(webhook(srv, event), 200) == {"success": True}
    assert assert_json(webhook(srv, event), 200) == {"success": True}  # a replay
    failure = {"order_id": failed["order_id"], "status": -1, "status_en": "cancelled"}
    assert assert_json(webhook(srv, failure), 200) == {"success": True}
    assert assert_json(webhook(srv, failure), 200) == {"success": True}
    assert delta(before, counters(srv)) == {("cloudjet_payment_transitions_total", "REQUESTED"): 2.0,
                                            ("cloudjet_payment_transitions_total", "PAID"): 1.0,
                                            ("cloudjet_payment_transitions_total", "FAILED"): 1.0}
    statuses = {r["order_id"]: r["status"] for r in srv.db_query(
        "SELECT order_id, status FROM payments WHERE order_id IN (?, ?)", (paid["order_id"], failed["order_id"]))}
    assert statuses == {paid["order_id"]: "PAID", failed["order_id"]: "FAILED"}

    # The paid payment attached to a booking that is then cancelled: CANCELLED, refund queued.
    booking = assert_json(book(srv, user, sched), 201)
    assert assert_json(srv.post("/api/payments/attach-booking", json={"orderId": paid["order_id"],
                                                                     "bookingId": booking["booking_id"]},
                                headers=user.auth), 200)["success"] is True
    mid = counters(srv)
    assert_json(srv.post(f"{BOOKINGS}/{booking['booking_number']}/cancel", headers=user.auth), 200)
    assert delta(mid, counters(srv)) == {("cloudjet_bookings_cancelled_total", "user"): 1.0,
                                         ("cloudjet_payment_transitions_total", "CANCELLED"): 1.0}
    assert srv.db_scalar("SELECT status AS n FROM payments WHERE order_id = ?", (paid["order_id"],)) == "CANCELLED"


def test_login_and_signup_throttle_hits_are_counted(make_server, backend):
    srv = make_server(backend, extra_env={"LOGIN_MAX_FAILURES_PER_EMAIL": "2", "SIGNUP_MAX_PER_CLIENT": "2"})
    user = srv.make_user()  # one signup
    before = counters(srv)
    for _ in range(2):
        assert_error(srv.login_response(user.email, "wrong-password-1"), 401, "invalid_credentials")
    for _ in range(3):
        assert_error(srv.login_response(user.email, "wrong-password-1"), 429, "too_many_attempts")
    assert srv.signup().status_code == 201  # the second signup from this client
    for _ in range(2):
        assert_error(srv.signup(), 429, "too_many_attempts")
    assert delta(before, counters(srv)) == {("cloudjet_auth_throttled_total", "login"): 3.0,
                                            ("cloudjet_auth_throttled_total", "signup"): 2.0}
