"""Black-box tests of the admin service (/api/admin), the audit log: one row per admin write with its request id, pagination, none for refused writes. Every test runs against SQLite and
MariaDB; bodies are checked exactly and cross-checked against the database with SQL. Shared
helpers and fixtures: admin_support.py."""
from __future__ import annotations

from admin_support import *  # noqa: F401,F403  (paths, messages, helpers)
from admin_support import admin, admin_id, other_user, refusal_schedule, user  # noqa: F401  (fixtures)


# ============================================================================================
# audit log


def test_every_admin_write_adds_one_audit_row_with_request_id(server, admin, admin_id, user):
    start = audit_count(server)
    flight = flight_body()
    rids = {}
    r = call(server, admin, "POST", FLIGHTS, flight)
    assert_json(r, 201)
    rids["flight.create"] = (r.rid, flight["flight_id"])
    out = with_schedules(server, admin, flight, {"mode": "single", "date": day(75)})
    rids["flight.upsert_with_schedules"] = (out["rid"], flight["flight_id"])
    sid = schedule_rows(server, flight["flight_id"])[day(75)]["schedule_id"]
    r = call(server, admin, "POST", DISCOUNTS, {"schedule_id": sid, "discount_percentage": 12})
    did = assert_json(r, 201)["discount_id"]
    rids["discount.create"] = (r.rid, str(did))
    r = call(server, admin, "DELETE", f"{DISCOUNTS}/{did}")
    assert_json(r, 200)
    rids["discount.delete"] = (r.rid, str(did))
    b = book(server, user, sid, n=1)
    r = call(server, admin, "PUT", f"{BOOKINGS}/{b['booking_number']}/cancel")
    assert_json(r, 200)
    rids["booking.cancel"] = (r.rid, b["booking_number"])
    r = call(server, admin, "DELETE", f"{FLIGHTS}/{flight['flight_id']}")
    assert_json(r, 200)
    rids["flight.delete"] = (r.rid, flight["flight_id"])

    assert audit_count(server) == start + 6
    for action, (rid, target) in rids.items():
        assert_audited(server, rid, admin_id, action, target)

    body = assert_json(server.get(AUDIT, params={"page": 1, "per_page": 6}, headers=admin), 200)
    assert set(body) == {"audit", "total"}
    assert body["total"] == start + 6
    for a in body["audit"]:
        assert set(a) == AUDIT_KEYS, sorted(set(a) ^ AUDIT_KEYS)
        assert isinstance(a["summary"], dict), a
        assert TIMESTAMP.match(a["created_at"]), a
        assert type(a["audit_id"]) is int and a["admin_user_id"] == admin_id
    assert body["audit"] == expected_audit(server, 6)
    order = ["flight.delete", "booking.cancel", "discount.delete", "discount.create",
             "flight.upsert_with_schedules", "flight.create"]  # newest first
    assert [(a["action"], a["request_id"], a["target"]) for a in body["audit"]] == [
        (action, *rids[action]) for action in order]


def test_audit_pagination_and_defaults(server, admin):
    create_flight(server, admin)
    total = audit_count(server)
    assert total >= 2
    default = assert_json(server.get(AUDIT, headers=admin), 200)
    assert default == {"audit": expected_audit(server, 50), "total": total}
    p2 = assert_json(server.get(AUDIT, params={"page": 2, "per_page": 1}, headers=admin), 200)
    assert p2["total"] == total and p2["audit"] == expected_audit(server, 1, offset=1)
    for params in ({"page": 0}, {"per_page": 201}, {"page": "x"}):
        assert_error(server.get(AUDIT, params=params, headers=admin), 400, "invalid_field")


def test_failed_writes_add_no_audit_row(server, admin, user, refusal_schedule):
    existing = create_flight(server, admin)
    before = audit_count(server)
    failing = [
        ("POST", FLIGHTS, flight_body(existing["flight_id"])),
        ("POST", FLIGHTS, flight_body(departure_airport="ZZZ")),
        ("POST", FWS, {"flight": flight_body(total_seats=10), "schedule": {"mode": "single", "date": day(3),
                                                                             "available_seats": 11}}),
        ("DELETE", f"{FLIGHTS}/NOPE1", None),
        ("POST", DISCOUNTS, {"schedule_id": 987654321, "discount_percentage": 10}),
        ("POST", DISCOUNTS, {"schedule_id": refusal_schedule, "discount_percentage": 100}),
        ("DELETE", f"{DISCOUNTS}/987654321", None),
        ("PUT", f"{BOOKINGS}/CJ00000000/cancel", None),
    ]
    for method, path, body in failing:
        r = call(server, admin, method, path, body)
        assert r.status_code in (400, 404, 409), (method, path, r.status_code, r.text[:200])
        assert_not_audited(server, r.rid)
    for method, path, body in failing:  # and refused callers
        assert server.request(method, path, json=body, headers=user.auth).status_code == 403
    assert audit_count(server) == before
