"""Black-box tests of the admin service (/api/admin), health and the ADMIN-only guard: missing, bad, USER and demoted-admin tokens. Every test runs against SQLite and
MariaDB; bodies are checked exactly and cross-checked against the database with SQL. Shared
helpers and fixtures: admin_support.py."""
from __future__ import annotations

from admin_support import *  # noqa: F401,F403  (paths, messages, helpers)
from admin_support import admin, admin_id, other_user, refusal_schedule, user  # noqa: F401  (fixtures)


# ============================================================================================
# health and the ADMIN-only guard


def test_health_needs_no_token_and_names_admin_service_port_5004(server):
    assert assert_json(server.get(HEALTH), 200) == {"status": "healthy", "service": "admin-service", "port": 5004}


@pytest.mark.parametrize("method, path, body", GUARDED, ids=GUARDED_IDS)
def test_admin_endpoint_without_token_is_401_token_missing(server, method, path, body):
    before = audit_count(server)
    r = server.request(method, path, json=body)
    assert assert_json(r, 401) == {"message": cj.MSG_TOKEN_MISSING, "error": "token_missing"}
    assert audit_count(server) == before


@pytest.mark.parametrize("method, path, body", GUARDED, ids=GUARDED_IDS)
def test_admin_endpoint_with_bad_token_is_401_invalid_token(server, admin_id, method, path, body):
    forged = cj.make_jwt(cj.claims(admin_id, "ADMIN"), "not-the-server-secret")
    for token in ("garbage", forged):
        r = server.request(method, path, json=body, headers=bearer(token))
        assert assert_json(r, 401) == {"message": cj.MSG_TOKEN_INVALID, "error": "invalid_token"}


@pytest.mark.parametrize("method, path, body", GUARDED, ids=GUARDED_IDS)
def test_admin_endpoint_with_user_token_is_403_forbidden(server, user, method, path, body):
    before = audit_count(server)
    r = server.request(method, path, json=body, headers=user.auth)
    assert assert_json(r, 403) == {"message": MSG_FORBIDDEN, "error": "forbidden"}
    assert audit_count(server) == before


def test_user_token_cannot_delete_flight_discount_or_cancel_booking(server, admin, user, other_user):
    flight, sids = flight_with_dates(server, admin, [6])
    fid, sid = flight["flight_id"], sids[day(6)]
    r = call(server, admin, "POST", DISCOUNTS, {"schedule_id": sid, "discount_percentage": 10})
    did = assert_json(r, 201)["discount_id"]
    b = book(server, other_user, sid, n=1, seats=["5A"])
    before = audit_count(server)

    for method, path, body in (("DELETE", f"{FLIGHTS}/{fid}", None),
                               ("DELETE", f"{DISCOUNTS}/{did}", None),
                               ("PUT", f"{BOOKINGS}/{b['booking_number']}/cancel", None),
                               ("POST", DISCOUNTS, {"schedule_id": sid, "discount_percentage": 50}),
                               ("POST", FLIGHTS, flight_body()),
                               ("POST", FWS, {"flight": flight_body(), "schedule": {"mode": "single",
                                                                                     "date": day(7)}})):
        r = server.request(method, path, json=body, headers=user.auth)
        assert assert_json(r, 403) == {"message": MSG_FORBIDDEN, "error": "forbidden"}, (method, path)

    assert int(flight_row(server, fid)["is_active"]) == 1
    assert server.db_query("SELECT discount_id, status FROM flight_discounts WHERE schedule_id = ?", (sid,)) == [
        {"discount_id": did, "status": "ACTIVE"}]
    assert server.db_scalar("SELECT status FROM bookings WHERE booking_id = ?", (b["booking_id"],)) == "CONFIRMED"
    assert available(server, sid) == 179
    assert audit_count(server) == before


def test_user_token_forged_with_admin_role_is_403_because_database_says_user(server, user):
    forged = cj.make_jwt(cj.claims(user.user_id, "ADMIN"), server.secret_key)
    for method, path, body in GUARDED:
        r = server.request(method, path, json=body, headers=bearer(forged))
        assert assert_json(r, 403) == {"message": MSG_FORBIDDEN, "error": "forbidden"}, (method, path)


def test_demoted_admin_is_refused_at_once_with_old_token(server):
    u = server.make_user()
    server.db_query("UPDATE users SET role = 'ADMIN' WHERE user_id = ?", (u.user_id,))
    token = server.login(u.email, u.password)
    assert cj.jwt_parts(token)[1]["role"] == "ADMIN"
    assert "flights" in assert_json(server.get(FLIGHTS, headers=bearer(token)), 200)

    server.db_query("UPDATE users SET role = 'USER' WHERE user_id = ?", (u.user_id,))
    before = audit_count(server)
    for method, path, body in GUARDED + [("POST", FLIGHTS, flight_body())]:
        r = server.request(method, path, json=body, headers=bearer(token))
        assert assert_json(r, 403) == {"message": MSG_FORBIDDEN, "error": "forbidden"}, (method, path)
    assert audit_count(server) == before

    # promoted again, the same token works again: the database decides, not a cached role
    server.db_query("UPDATE users SET role = 'ADMIN' WHERE user_id = ?", (u.user_id,))
    assert "flights" in assert_json(server.get(FLIGHTS, headers=bearer(token)), 200)


def test_admin_token_of_deleted_user_is_401_invalid_token(server):
    u = server.make_user()
    server.db_query("UPDATE users SET role = 'ADMIN' WHERE user_id = ?", (u.user_id,))
    token = server.login(u.email, u.password)
    server.db_query("DELETE FROM users WHERE user_id = ?", (u.user_id,))
    r = server.get(FLIGHTS, headers=bearer(token))
    assert assert_json(r, 401) == {"message": cj.MSG_TOKEN_INVALID, "error": "invalid_token"}
