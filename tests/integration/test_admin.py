"""Black-box tests of the admin service (/api/admin): the ADMIN-only guard (missing, bad, USER and
demoted-admin tokens), flights (list, create, upsert with schedules, soft delete), schedules,
discounts (create, concurrent create, delete), bookings (list, pagination, search, admin cancel),
the audit log and health. Every test runs against SQLite and MariaDB; bodies are checked exactly
and cross-checked against the database with SQL.

Isolation: every test that writes creates flights of its own (ids "T" + 6 upper-case hex digits)
and schedules on them, so no test sees another's schedules, discounts or bookings; listings that
cover the whole database (flights, schedules, discounts, bookings, audit) are compared with what
the database holds at that moment. Every write sends its own X-Request-Id, which is how audit
rows are matched to requests. Dates are relative to today in UTC."""
from __future__ import annotations

import concurrent.futures
import datetime as dt
import json
import threading
import uuid

import pytest
import requests

import cj
from cj import day, hms, ts_text, discounted
from cj import assert_error, assert_json

ADMIN = "/api/admin"
FLIGHTS = f"{ADMIN}/flights"
FWS = f"{ADMIN}/flights-with-schedules"
SCHEDULES = f"{ADMIN}/schedules"
DISCOUNTS = f"{ADMIN}/discounts"
BOOKINGS = f"{ADMIN}/bookings"
BOOKING_SEARCH = f"{ADMIN}/bookings/search"
AUDIT = f"{ADMIN}/audit"
HEALTH = f"{ADMIN}/health"
SEARCH = "/api/flights/search"
USER_BOOKINGS = "/api/bookings"

MSG_FORBIDDEN = "관리자 권한이 필요합니다."
MSG_FLIGHT_ADDED = "항공편이 추가되었습니다."
MSG_FLIGHT_DELETED = "항공편이 삭제되었습니다."
MSG_FLIGHT_NOT_FOUND = "항공편을 찾을 수 없습니다."
MSG_BAD_DEPARTURE = "출발 공항 코드가 유효하지 않습니다."
MSG_BAD_ARRIVAL = "도착 공항 코드가 유효하지 않습니다."
MSG_DISCOUNT_CREATED = "할인이 생성되었습니다."
MSG_DISCOUNT_DELETED = "할인이 삭제되었습니다."
MSG_SCHEDULE_NOT_FOUND = "항공편 스케줄을 찾을 수 없습니다."
MSG_DISCOUNT_EXISTS = "해당 스케줄에 이미 할인이 설정되어 있습니다."
MSG_EMPTY_TERM = "검색어를 입력해주세요."
MSG_BOOKING_CANCELLED = "예약이 취소되었습니다."

TIMESTAMP = cj.API_TIMESTAMP

FLIGHT_KEYS = {
    "flight_id", "airline", "departure_airport", "arrival_airport", "departure_time", "arrival_time",
    "duration", "aircraft", "base_price", "total_seats", "is_active", "departure_airport_name",
    "arrival_airport_name",
}
SCHEDULE_KEYS = {
    "schedule_id", "flight_id", "flight_date", "current_price", "available_seats", "status", "airline",
    "departure_airport", "arrival_airport", "departure_time", "arrival_time", "duration", "aircraft",
    "total_seats", "discount_id", "discount_percentage", "discounted_price", "departure_name", "arrival_name",
}
DISCOUNT_KEYS = {
    "discount_id", "schedule_id", "discount_percentage", "status", "created_at", "flight_id", "flight_date",
    "current_price", "original_price", "discounted_price", "available_seats", "departure_airport",
    "arrival_airport", "departure_time", "arrival_time", "departure_name", "arrival_name",
}
BOOKING_KEYS = {
    "booking_id", "booking_number", "user_id", "customer_name", "user_email", "user_phone", "seat_number",
    "total_amount", "contact_email", "contact_phone", "payment_method", "status", "created_at", "schedule_id",
    "flight_date", "flight_id", "departure_airport", "arrival_airport", "departure_time", "arrival_time",
    "departure_name", "arrival_name", "passengers",
}
AUDIT_KEYS = {"audit_id", "admin_user_id", "action", "target", "request_id", "summary", "created_at"}

AIRPORT_NAME = {
    "ICN": "인천국제공항", "GMP": "김포국제공항", "NRT": "나리타국제공항", "KIX": "간사이국제공항",
    "BKK": "수완나품국제공항", "SYD": "킹스포드스미스공항", "LAX": "로스앤젤레스국제공항", "CDG": "샤를드골국제공항",
}

# Every admin endpoint (method, path, JSON body) for the guard tests; ids that do not exist.
GUARDED = [
    ("GET", FLIGHTS, None),
    ("POST", FLIGHTS, {"flight_id": "ZZ999"}),
    ("POST", FWS, {"flight": {}, "schedule": {}}),
    ("DELETE", f"{FLIGHTS}/CJ101", None),
    ("GET", SCHEDULES, None),
    ("GET", DISCOUNTS, None),
    ("POST", DISCOUNTS, {"schedule_id": 1, "discount_percentage": 10}),
    ("DELETE", f"{DISCOUNTS}/1", None),
    ("GET", BOOKINGS, None),
    ("GET", f"{BOOKING_SEARCH}?term=CJ", None),
    ("PUT", f"{BOOKINGS}/CJ00000000/cancel", None),
    ("GET", AUDIT, None),
]
GUARDED_IDS = [f"{m} {p.removeprefix(ADMIN)}" for m, p, _ in GUARDED]


# ============================================================================================
# helpers


def new_fid() -> str:
    return "T" + uuid.uuid4().hex[:6].upper()


def new_rid() -> str:
    return "adm-" + uuid.uuid4().hex


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def flight_body(fid: str | None = None, **overrides) -> dict:
    body = {
        "flight_id": fid or new_fid(),
        "departure_airport": "GMP",
        "arrival_airport": "KIX",
        "departure_time": "08:10",
        "arrival_time": "10:25",
        "aircraft": "Airbus A321neo",
        "base_price": 210000,
    }
    body.update(overrides)
    return body


def call(server, admin: dict, method: str, path: str, json_body=None, rid: str | None = None,
         **kw) -> requests.Response:
    """An admin request with its own X-Request-Id (returned in resp.rid)."""
    rid = rid or new_rid()
    headers = {**admin, "X-Request-Id": rid, **kw.pop("headers", {})}
    r = server.request(method, path, json=json_body, headers=headers, **kw)
    r.rid = rid
    return r


def flight_row(server, fid: str) -> dict | None:
    rows = server.db_query("SELECT * FROM flights WHERE flight_id = ?", (fid,))
    return rows[0] if rows else None


def schedule_rows(server, fid: str) -> dict[str, dict]:
    rows = server.db_query("SELECT schedule_id, flight_date, current_price, available_seats, status "
                           "FROM flight_schedules WHERE flight_id = ? ORDER BY flight_date", (fid,))
    return {cj.as_date_text(r["flight_date"]): {"schedule_id": int(r["schedule_id"]),
                                                "current_price": int(r["current_price"]),
                                                "available_seats": int(r["available_seats"]),
                                                "status": r["status"]} for r in rows}


def audit_rows(server, rid: str) -> list[dict]:
    return server.db_query("SELECT * FROM admin_audit WHERE request_id = ? ORDER BY audit_id", (rid,))


def audit_count(server) -> int:
    return int(server.db_scalar("SELECT COUNT(*) AS n FROM admin_audit"))


def assert_audited(server, rid: str, admin_id: int, action: str, target: str) -> dict:
    """Exactly one audit row for the request, by this admin, with this action and target."""
    rows = audit_rows(server, rid)
    assert len(rows) == 1, rows
    row = rows[0]
    assert (int(row["admin_user_id"]), row["action"], row["target"], row["request_id"]) == (
        admin_id, action, target, rid), row
    summary = json.loads(row["summary"])
    assert isinstance(summary, dict), row
    return row


def assert_not_audited(server, rid: str) -> None:
    assert audit_rows(server, rid) == []


def search_rows(server, dep: str, arr: str, date: str, fid: str) -> list[dict]:
    body = assert_json(server.get(SEARCH, params={"departure": dep, "arrival": arr, "date": date}), 200)
    return [f for f in body["flights"] if f["flight_id"] == fid]


def create_flight(server, admin, **overrides) -> dict:
    body = flight_body(**overrides)
    r = call(server, admin, "POST", FLIGHTS, body)
    assert assert_json(r, 201) == {"message": MSG_FLIGHT_ADDED, "flight_id": body["flight_id"], "success": True}
    return body


def with_schedules(server, admin, flight: dict, schedule: dict, expect_created: int | None = None) -> dict:
    r = call(server, admin, "POST", FWS, {"flight": flight, "schedule": schedule})
    body = assert_json(r, 201)
    assert set(body) == {"success", "result"} and body["success"] is True, body
    assert set(body["result"]) == {"flight_id", "created_schedules", "updated_schedules", "skipped",
                                   "total_requested"}, body
    if expect_created is not None:
        assert body["result"]["created_schedules"] == expect_created, body
    body["rid"] = r.rid
    return body


def flight_with_dates(server, admin, offsets: list[int], price: int | None = None, **overrides):
    """A new flight with one ACTIVE schedule per day offset; returns (flight body, {date: schedule_id})."""
    flight = flight_body(**overrides)
    dates = [day(o) for o in offsets]
    for d in dates:
        sched = {"mode": "single", "date": d}
        if price is not None:
            sched["current_price"] = price
        with_schedules(server, admin, flight, sched, expect_created=1)
    rows = schedule_rows(server, flight["flight_id"])
    assert sorted(rows) == sorted(dates)
    return flight, {d: rows[d]["schedule_id"] for d in dates}


def unit_price(server, sid: int) -> int:
    row = server.db_query(
        "SELECT fs.current_price AS price, (SELECT MAX(d.discount_percentage) FROM flight_discounts d "
        "WHERE d.schedule_id = fs.schedule_id AND d.status = 'ACTIVE') AS pct "
        "FROM flight_schedules fs WHERE fs.schedule_id = ?", (sid,))[0]
    return discounted(int(row["price"]), None if row["pct"] is None else int(row["pct"]))


def book(server, user, sid: int, n: int = 1, seats: list[str] | None = None,
         contact: dict | None = None, names: list[str] | None = None) -> dict:
    body = {
        "scheduleId": sid,
        "passengers": [{"name": names[i] if names else f"승객{i}",
                        "nameEn": f"PASSENGER {i}", "birth": f"198{i}-0{1 + i}-1{i}",
                        "gender": "M" if i % 2 == 0 else "F"} for i in range(n)],
        "contactInfo": contact or {"email": "contact@example.com", "phone": "010-1234-5678"},
        "paymentMethod": "CARD",
        "totalAmount": unit_price(server, sid) * n,
    }
    if seats is not None:
        body["seats"] = seats
    r = server.post(USER_BOOKINGS, json=body, headers=user.auth)
    out = assert_json(r, 201)
    assert set(out) == {"message", "booking_number", "booking_id", "status", "success"}, out
    assert out["status"] == "CONFIRMED", out  # holds are off by default
    return out


def available(server, sid: int) -> int:
    return int(server.db_scalar("SELECT available_seats AS n FROM flight_schedules WHERE schedule_id = ?", (sid,)))


def run_parallel(calls, workers: int = 16) -> list:
    """Runs the zero-argument callables on a thread pool, all released at once; results in order."""
    start = threading.Barrier(min(workers, len(calls)))

    def wrapped(fn):
        try:
            start.wait(timeout=30)
        except threading.BrokenBarrierError:
            pass
        return fn()

    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(wrapped, calls))


# -- expected listings computed from the database -------------------------------------------


def expected_flights(server) -> list[dict]:
    rows = server.db_query(
        "SELECT f.*, da.airport_name AS dn, aa.airport_name AS an FROM flights f "
        "JOIN airports da ON da.airport_code = f.departure_airport "
        "JOIN airports aa ON aa.airport_code = f.arrival_airport WHERE f.is_active = 1")
    out = [{
        "flight_id": r["flight_id"], "airline": r["airline"], "departure_airport": r["departure_airport"],
        "arrival_airport": r["arrival_airport"], "departure_time": hms(r["departure_time"])[:5],
        "arrival_time": hms(r["arrival_time"])[:5], "duration": r["duration"], "aircraft": r["aircraft"],
        "base_price": int(r["base_price"]), "total_seats": int(r["total_seats"]), "is_active": True,
        "departure_airport_name": r["dn"], "arrival_airport_name": r["an"],
    } for r in rows]
    return sorted(out, key=lambda f: f["flight_id"])


def expected_schedules(server, now: dt.datetime) -> list[dict]:
    """What GET /schedules must list at `now`: ACTIVE schedules of active flights not yet departed."""
    rows = server.db_query(
        "SELECT fs.schedule_id, fs.flight_id, fs.flight_date, fs.current_price, fs.available_seats, fs.status, "
        "f.airline, f.departure_airport, f.arrival_airport, f.departure_time, f.arrival_time, f.duration, "
        "f.aircraft, f.total_seats, d.discount_id, d.discount_percentage, "
        "da.airport_name AS dn, aa.airport_name AS an, da.time_zone "
        "FROM flight_schedules fs JOIN flights f ON f.flight_id = fs.flight_id "
        "JOIN airports da ON da.airport_code = f.departure_airport "
        "JOIN airports aa ON aa.airport_code = f.arrival_airport "
        "LEFT JOIN flight_discounts d ON d.schedule_id = fs.schedule_id AND d.status = 'ACTIVE' "
        "WHERE fs.status = 'ACTIVE' AND f.is_active = 1")
    out = []
    for r in rows:
        if cj.departure_utc(r["flight_date"], r["departure_time"], r["time_zone"]) <= now:
            continue
        pct = None if r["discount_percentage"] is None else int(r["discount_percentage"])
        price = int(r["current_price"])
        out.append({
            "schedule_id": int(r["schedule_id"]), "flight_id": r["flight_id"],
            "flight_date": cj.as_date_text(r["flight_date"]), "current_price": price,
            "available_seats": int(r["available_seats"]), "status": r["status"], "airline": r["airline"],
            "departure_airport": r["departure_airport"], "arrival_airport": r["arrival_airport"],
            "departure_time": hms(r["departure_time"])[:5], "arrival_time": hms(r["arrival_time"])[:5],
            "duration": r["duration"], "aircraft": r["aircraft"], "total_seats": int(r["total_seats"]),
            "discount_id": None if r["discount_id"] is None else int(r["discount_id"]),
            "discount_percentage": pct, "discounted_price": discounted(price, pct),
            "departure_name": r["dn"], "arrival_name": r["an"],
        })
    return sorted(out, key=lambda s: s["schedule_id"])


def expected_discounts(server) -> list[dict]:
    rows = server.db_query(
        "SELECT d.discount_id, d.schedule_id, d.discount_percentage, d.status, d.created_at, fs.flight_id, "
        "fs.flight_date, fs.current_price, fs.available_seats, f.departure_airport, f.arrival_airport, "
        "f.departure_time, f.arrival_time, da.airport_name AS dn, aa.airport_name AS an "
        "FROM flight_discounts d JOIN flight_schedules fs ON fs.schedule_id = d.schedule_id "
        "JOIN flights f ON f.flight_id = fs.flight_id "
        "JOIN airports da ON da.airport_code = f.departure_airport "
        "JOIN airports aa ON aa.airport_code = f.arrival_airport WHERE d.status = 'ACTIVE'")
    out = [{
        "discount_id": int(r["discount_id"]), "schedule_id": int(r["schedule_id"]),
        "discount_percentage": int(r["discount_percentage"]), "status": r["status"],
        "created_at": ts_text(r["created_at"]), "flight_id": r["flight_id"],
        "flight_date": cj.as_date_text(r["flight_date"]), "current_price": int(r["current_price"]),
        "original_price": int(r["current_price"]),
        "discounted_price": discounted(int(r["current_price"]), int(r["discount_percentage"])),
        "available_seats": int(r["available_seats"]), "departure_airport": r["departure_airport"],
        "arrival_airport": r["arrival_airport"], "departure_time": hms(r["departure_time"])[:5],
        "arrival_time": hms(r["arrival_time"])[:5], "departure_name": r["dn"], "arrival_name": r["an"],
    } for r in rows]
    return sorted(out, key=lambda d: (d["created_at"], d["discount_id"]), reverse=True)


def expected_bookings(server) -> list[dict]:
    """Every booking, newest first, as the admin listing shows it."""
    rows = server.db_query(
        "SELECT b.booking_id, b.booking_number, b.user_id, u.name AS customer_name, u.email AS user_email, "
        "u.phone AS user_phone, b.seat_number, b.total_amount, b.contact_email, b.contact_phone, "
        "b.payment_method, b.status, b.created_at, fs.schedule_id, fs.flight_date, f.flight_id, "
        "f.departure_airport, f.arrival_airport, f.departure_time, f.arrival_time, "
        "da.airport_name AS departure_name, aa.airport_name AS arrival_name "
        "FROM bookings b JOIN users u ON u.user_id = b.user_id "
        "JOIN flight_schedules fs ON fs.schedule_id = b.schedule_id "
        "JOIN flights f ON f.flight_id = fs.flight_id "
        "JOIN airports da ON da.airport_code = f.departure_airport "
        "JOIN airports aa ON aa.airport_code = f.arrival_airport")
    passengers: dict[int, list[dict]] = {}
    for p in server.db_query("SELECT booking_id, name_kor, name_eng, birth_date, gender, seat_number "
                             "FROM passengers ORDER BY passenger_id"):
        passengers.setdefault(int(p["booking_id"]), []).append({
            "name_kor": p["name_kor"], "name_eng": p["name_eng"],
            "birth_date": None if p["birth_date"] is None else cj.as_date_text(p["birth_date"]),
            "gender": p["gender"], "seat_number": p["seat_number"]})
    out = []
    for r in rows:
        b = dict(r)
        for k in ("booking_id", "user_id", "total_amount", "schedule_id"):
            b[k] = int(b[k])
        b["created_at"] = ts_text(b["created_at"])
        b["flight_date"] = cj.as_date_text(b["flight_date"])
        b["departure_time"] = hms(b["departure_time"])
        b["arrival_time"] = hms(b["arrival_time"])
        b["passengers"] = passengers.get(b["booking_id"], [])
        out.append(b)
    return sorted(out, key=lambda b: (b["created_at"], b["booking_id"]), reverse=True)


def matching(bookings: list[dict], term: str) -> list[dict]:
    """The bookings a literal, case-insensitive substring search for `term` must return."""
    fields = ("booking_number", "customer_name", "user_email", "user_phone", "contact_email", "contact_phone")
    t = term.lower()
    return [b for b in bookings if any(t in (b[f] or "").lower() for f in fields)]


def expected_audit(server, limit: int, offset: int = 0) -> list[dict]:
    rows = server.db_query("SELECT * FROM admin_audit ORDER BY audit_id DESC")[offset:offset + limit]
    return [{"audit_id": int(r["audit_id"]), "admin_user_id": int(r["admin_user_id"]), "action": r["action"],
             "target": r["target"], "request_id": r["request_id"], "summary": json.loads(r["summary"]),
             "created_at": ts_text(r["created_at"])} for r in rows]


# ============================================================================================
# fixtures


@pytest.fixture(scope="module")
def admin(server) -> dict:
    return bearer(server.admin_token())


@pytest.fixture(scope="module")
def admin_id(server) -> int:
    return int(server.db_scalar("SELECT user_id FROM users WHERE email = ?", (cj.ADMIN_EMAIL,)))


@pytest.fixture(scope="module")
def user(server):
    return server.make_user(name="이용자", phone="010-5555-0001")


@pytest.fixture(scope="module")
def other_user(server):
    return server.make_user(name="다른이용자", phone="010-5555-0002")


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


# ============================================================================================
# GET /flights


def test_list_flights_returns_every_active_flight_ordered_by_departure_time(server, admin):
    gone = create_flight(server, admin, departure_time="05:55", arrival_time="07:00")
    assert_json(call(server, admin, "DELETE", f"{FLIGHTS}/{gone['flight_id']}"), 200)
    mine = create_flight(server, admin, departure_time="04:05", arrival_time="06:50", airline="제주에어",
                         total_seats=150, departure_airport="ICN", arrival_airport="SYD")

    body = assert_json(server.get(FLIGHTS, headers=admin), 200)
    assert set(body) == {"flights"}
    flights = body["flights"]
    for f in flights:
        assert set(f) == FLIGHT_KEYS, sorted(set(f) ^ FLIGHT_KEYS)
        for k in ("base_price", "total_seats"):
            assert type(f[k]) is int, (k, f)
        assert f["is_active"] is True
    times = [f["departure_time"] for f in flights]
    assert times == sorted(times)
    assert sorted(flights, key=lambda f: f["flight_id"]) == expected_flights(server)
    ids = [f["flight_id"] for f in flights]
    assert gone["flight_id"] not in ids
    assert {"CJ101", "CJ102", "CJ111", "CJ121", "CJ131", "CJ141", "CJ151"} <= set(ids)
    assert [f for f in flights if f["flight_id"] == mine["flight_id"]] == [{
        "flight_id": mine["flight_id"], "airline": "제주에어", "departure_airport": "ICN", "arrival_airport": "SYD",
        "departure_time": "04:05", "arrival_time": "06:50", "duration": "2시간 45분", "aircraft": "Airbus A321neo",
        "base_price": 210000, "total_seats": 150, "is_active": True, "departure_airport_name": "인천국제공항",
        "arrival_airport_name": "킹스포드스미스공항"}]
    assert [f for f in flights if f["flight_id"] == "CJ141"] == [{
        "flight_id": "CJ141", "airline": "CloudJet", "departure_airport": "ICN", "arrival_airport": "LAX",
        "departure_time": "11:00", "arrival_time": "06:30", "duration": "19시간 30분",
        "aircraft": "Boeing 777-300ER", "base_price": 850000, "total_seats": 180, "is_active": True,
        "departure_airport_name": "인천국제공항", "arrival_airport_name": "로스앤젤레스국제공항"}]


# ============================================================================================
# POST /flights


def test_create_flight_writes_row_with_defaults_and_audit(server, admin, admin_id):
    body = flight_body()
    r = call(server, admin, "POST", FLIGHTS, body)
    assert assert_json(r, 201) == {"message": MSG_FLIGHT_ADDED, "flight_id": body["flight_id"], "success": True}
    row = flight_row(server, body["flight_id"])
    assert {k: row[k] for k in ("flight_id", "airline", "departure_airport", "arrival_airport", "duration",
                                "aircraft", "base_price", "total_seats")} == {
        "flight_id": body["flight_id"], "airline": "CloudJet", "departure_airport": "GMP", "arrival_airport": "KIX",
        "duration": "2시간 15분", "aircraft": "Airbus A321neo", "base_price": 210000, "total_seats": 180}
    assert (hms(row["departure_time"]), hms(row["arrival_time"]), int(row["is_active"])) == ("08:10:00",
                                                                                              "10:25:00", 1)
    assert schedule_rows(server, body["flight_id"]) == {}
    assert_audited(server, r.rid, admin_id, "flight.create", body["flight_id"])


def test_create_flight_with_airline_and_total_seats(server, admin):
    body = create_flight(server, admin, airline="CloudJet Regional", total_seats=72, base_price=99000,
                         departure_airport="BKK", arrival_airport="CDG")
    row = flight_row(server, body["flight_id"])
    assert (row["airline"], int(row["total_seats"]), int(row["base_price"]), row["departure_airport"],
            row["arrival_airport"]) == ("CloudJet Regional", 72, 99000, "BKK", "CDG")


@pytest.mark.parametrize("dep_t, arr_t, duration", [
    ("23:00", "01:30", "2시간 30분"),   # overnight: arrival is the next day
    ("11:00", "06:30", "19시간 30분"),
    ("22:45", "00:00", "1시간 15분"),
    ("06:30", "09:15", "2시간 45분"),
    ("10:00", "10:05", "0시간 5분"),
    ("00:00", "23:59", "23시간 59분"),
])
def test_create_flight_computes_duration_with_next_day_arrival(server, admin, dep_t, arr_t, duration):
    body = create_flight(server, admin, departure_time=dep_t, arrival_time=arr_t)
    row = flight_row(server, body["flight_id"])
    assert row["duration"] == duration
    assert (hms(row["departure_time"]), hms(row["arrival_time"])) == (dep_t + ":00", arr_t + ":00")
    listed = [f for f in assert_json(server.get(FLIGHTS, headers=admin), 200)["flights"]
              if f["flight_id"] == body["flight_id"]]
    assert [(f["departure_time"], f["arrival_time"], f["duration"]) for f in listed] == [(dep_t, arr_t, duration)]


REQUIRED_FLIGHT_FIELDS = ["flight_id", "departure_airport", "arrival_airport", "departure_time", "arrival_time",
                          "aircraft", "base_price"]


@pytest.mark.parametrize("field, how", [(f, h) for f in REQUIRED_FLIGHT_FIELDS for h in ("absent", "null", "blank")
                                        if not (f == "base_price" and h == "blank")])  # "" is a wrong type there
def test_create_flight_missing_field_is_400_naming_the_field(server, admin, field, how):
    body = flight_body()
    if how == "absent":
        del body[field]
    elif how == "null":
        body[field] = None
    else:
        body[field] = "  "
    r = call(server, admin, "POST", FLIGHTS, body)
    assert assert_json(r, 400) == {"message": cj.missing_field_message(field), "error": "missing_field"}
    if field != "flight_id":
        assert flight_row(server, body["flight_id"]) is None
    assert_not_audited(server, r.rid)


@pytest.mark.parametrize("field, value", [
    ("flight_id", "t12345"), ("flight_id", "A"), ("flight_id", "ABCDEFGHIJK"), ("flight_id", "CJ-101"),
    ("flight_id", "CJ 101"), ("flight_id", "항공101"), ("flight_id", 101),
    ("departure_time", "7:00"), ("departure_time", "24:00"), ("departure_time", "12:60"),
    ("departure_time", "12:00:00"), ("departure_time", "noon"), ("departure_time", 700),
    ("arrival_time", "25:10"), ("arrival_time", "1230"), ("arrival_time", "12-30"),
    ("base_price", 0), ("base_price", -1000), ("base_price", "210,000"), ("base_price", 1500.5),
    ("base_price", True),
    ("total_seats", 0), ("total_seats", -5), ("total_seats", "180석"), ("total_seats", 2.5),
    ("arrival_airport", "GMP"),  # same as departure
])
def test_create_flight_invalid_field_is_400_invalid_field(server, admin, field, value):
    body = flight_body(**{field: value})
    r = call(server, admin, "POST", FLIGHTS, body)
    assert_error(r, 400, "invalid_field")
    assert cj.has_hangul(r.json()["message"]), r.json()
    if isinstance(body["flight_id"], str):
        assert flight_row(server, body["flight_id"]) is None
    assert_not_audited(server, r.rid)


@pytest.mark.parametrize("dep, arr, message", [
    ("ZZZ", "KIX", MSG_BAD_DEPARTURE),
    ("GMP", "QQQ", MSG_BAD_ARRIVAL),
    ("XX", "KIX", MSG_BAD_DEPARTURE),
    ("ZZZ", "QQQ", MSG_BAD_DEPARTURE),
])
def test_create_flight_unknown_airport_is_400_invalid_airport(server, admin, dep, arr, message):
    body = flight_body(departure_airport=dep, arrival_airport=arr)
    r = call(server, admin, "POST", FLIGHTS, body)
    assert assert_json(r, 400) == {"message": message, "error": "invalid_airport"}
    assert flight_row(server, body["flight_id"]) is None
    assert_not_audited(server, r.rid)


def test_create_flight_duplicate_id_is_409_flight_exists_and_keeps_the_row(server, admin):
    body = create_flight(server, admin)
    before = flight_row(server, body["flight_id"])
    r = call(server, admin, "POST", FLIGHTS, {**body, "base_price": 999000, "aircraft": "Other"})
    assert_error(r, 409, "flight_exists")
    assert cj.has_hangul(r.json()["message"])
    assert flight_row(server, body["flight_id"]) == before
    assert_not_audited(server, r.rid)
    # a demo flight too
    r = call(server, admin, "POST", FLIGHTS, flight_body("CJ101"))
    assert_error(r, 409, "flight_exists")
    assert flight_row(server, "CJ101")["departure_airport"] == "ICN"
    assert_not_audited(server, r.rid)


def test_concurrent_creations_of_one_flight_id_exactly_one_succeeds(server, admin):
    body = flight_body()
    url = server.url(FLIGHTS)
    responses = run_parallel([lambda: cj.one_shot("POST", url, json=body, headers=admin, timeout=30)
                              for _ in range(8)], workers=8)
    assert sorted(r.status_code for r in responses) == [201] + [409] * 7, [
        (r.status_code, r.text[:200]) for r in responses]
    for r in responses:
        if r.status_code == 409:
            assert r.json()["error"] == "flight_exists", r.text
    assert int(server.db_scalar("SELECT COUNT(*) AS n FROM flights WHERE flight_id = ?", (body["flight_id"],))) == 1
    assert int(server.db_scalar("SELECT COUNT(*) AS n FROM admin_audit WHERE action = ? AND target = ?",
                                ("flight.create", body["flight_id"]))) == 1


@pytest.mark.parametrize("raw", [b"{not json", b"[]", b'"text"'])
def test_create_flight_body_not_a_json_object_is_400(server, admin, raw):
    before = audit_count(server)
    r = server.post(FLIGHTS, data=raw, headers={**admin, "Content-Type": "application/json"})
    assert_error(r, 400, "invalid_json")
    assert audit_count(server) == before


# ============================================================================================
# POST /flights-with-schedules


def test_range_of_three_dates_creates_three_schedules_visible_in_cached_search_at_once(server, admin, admin_id):
    flight = flight_body(departure_airport="ICN", arrival_airport="BKK", departure_time="06:05",
                         arrival_time="10:20", base_price=333000, total_seats=174)
    dates = [day(40), day(41), day(42)]
    for d in dates:  # cache these searches before the schedules exist
        assert search_rows(server, "ICN", "BKK", d, flight["flight_id"]) == []
    out = with_schedules(server, admin, flight, {"mode": "range", "start_date": dates[0], "end_date": dates[2]})
    assert {k: v for k, v in out.items() if k != "rid"} == {"success": True, "result": {
        "flight_id": flight["flight_id"], "created_schedules": 3, "updated_schedules": 0, "skipped": 0,
        "total_requested": 3}}

    row = flight_row(server, flight["flight_id"])
    assert (row["airline"], row["duration"], int(row["base_price"]), int(row["total_seats"]),
            int(row["is_active"])) == ("CloudJet", "4시간 15분", 333000, 174, 1)
    scheds = schedule_rows(server, flight["flight_id"])
    assert sorted(scheds) == dates
    for d in dates:
        assert {k: scheds[d][k] for k in ("current_price", "available_seats", "status")} == {
            "current_price": 333000, "available_seats": 174, "status": "ACTIVE"}
        rows = search_rows(server, "ICN", "BKK", d, flight["flight_id"])
        assert len(rows) == 1, rows
        f = rows[0]
        assert (f["schedule_id"], f["date"], f["price"], f["original_price"], f["available_seats"],
                f["departure_time"], f["arrival_time"], f["duration"], f["has_discount"]) == (
            scheds[d]["schedule_id"], d, 333000, 333000, 174, "06:05:00", "10:20:00", "4시간 15분", False)
    audit = assert_audited(server, out["rid"], admin_id, "flight.upsert_with_schedules", flight["flight_id"])
    assert isinstance(json.loads(audit["summary"]), dict)


def test_single_date_with_price_and_seats(server, admin):
    flight = flight_body(total_seats=150)
    out = with_schedules(server, admin, flight, {"mode": "single", "date": day(43), "current_price": 180500,
                                                 "available_seats": 120})
    assert out["result"] == {"flight_id": flight["flight_id"], "created_schedules": 1, "updated_schedules": 0,
                             "skipped": 0, "total_requested": 1}
    scheds = schedule_rows(server, flight["flight_id"])
    assert {d: (s["current_price"], s["available_seats"], s["status"]) for d, s in scheds.items()} == {
        day(43): (180500, 120, "ACTIVE")}
    f = search_rows(server, "GMP", "KIX", day(43), flight["flight_id"])
    assert [(x["price"], x["available_seats"]) for x in f] == [(180500, 120)]


def test_single_date_today_is_allowed(server, admin):
    flight = flight_body()
    out = with_schedules(server, admin, flight, {"mode": "single", "date": day(0)})
    assert out["result"]["created_schedules"] == 1
    assert sorted(schedule_rows(server, flight["flight_id"])) == [day(0)]


def test_existing_dates_are_skipped_without_overwrite(server, admin):
    flight = flight_body()
    with_schedules(server, admin, flight, {"mode": "single", "date": day(45), "current_price": 111000})
    before = schedule_rows(server, flight["flight_id"])
    out = with_schedules(server, admin, flight, {"mode": "range", "start_date": day(44), "end_date": day(46),
                                                 "current_price": 222000, "overwrite": False})
    assert out["result"] == {"flight_id": flight["flight_id"], "created_schedules": 2, "updated_schedules": 0,
                             "skipped": 1, "total_requested": 3}
    after = schedule_rows(server, flight["flight_id"])
    assert after[day(45)] == before[day(45)]
    assert {d: s["current_price"] for d, s in after.items()} == {day(44): 222000, day(45): 111000, day(46): 222000}


def test_overwrite_updates_price_and_seats_minus_live_passengers_visible_in_cached_search(server, admin, user):
    flight = flight_body(departure_airport="GMP", arrival_airport="NRT")
    d = day(47)
    with_schedules(server, admin, flight, {"mode": "single", "date": d})
    sid = schedule_rows(server, flight["flight_id"])[d]["schedule_id"]
    book(server, user, sid, n=2, seats=["4A", "4B"])
    cancelled = book(server, user, sid, n=1, seats=["4C"])
    assert_json(server.post(f"{USER_BOOKINGS}/{cancelled['booking_number']}/cancel", headers=user.auth), 200)
    assert available(server, sid) == 178
    cached = search_rows(server, "GMP", "NRT", d, flight["flight_id"])
    assert [(x["price"], x["available_seats"]) for x in cached] == [(210000, 178)]

    out = with_schedules(server, admin, flight, {"mode": "single", "date": d, "current_price": 123000,
                                                 "available_seats": 100, "overwrite": True})
    assert out["result"] == {"flight_id": flight["flight_id"], "created_schedules": 0, "updated_schedules": 1,
                             "skipped": 0, "total_requested": 1}
    assert schedule_rows(server, flight["flight_id"])[d] == {"schedule_id": sid, "current_price": 123000,
                                                             "available_seats": 98, "status": "ACTIVE"}
    fresh = search_rows(server, "GMP", "NRT", d, flight["flight_id"])
    assert [(x["schedule_id"], x["price"], x["available_seats"]) for x in fresh] == [(sid, 123000, 98)]


def test_upsert_updates_an_existing_flight(server, admin):
    flight = create_flight(server, admin)
    changed = {**flight, "departure_time": "21:40", "arrival_time": "00:10", "aircraft": "Boeing 737 MAX 8",
               "base_price": 250000, "airline": "CloudJet Express", "total_seats": 170}
    out = with_schedules(server, admin, changed, {"mode": "single", "date": day(48)})
    assert out["result"]["created_schedules"] == 1
    row = flight_row(server, flight["flight_id"])
    assert (hms(row["departure_time"]), hms(row["arrival_time"]), row["duration"], row["aircraft"],
            int(row["base_price"]), row["airline"], int(row["total_seats"]), int(row["is_active"])) == (
        "21:40:00", "00:10:00", "2시간 30분", "Boeing 737 MAX 8", 250000, "CloudJet Express", 170, 1)
    assert schedule_rows(server, flight["flight_id"])[day(48)]["available_seats"] == 170
    assert schedule_rows(server, flight["flight_id"])[day(48)]["current_price"] == 250000


def test_upsert_moving_a_flight_to_another_route_updates_cached_searches_of_both_routes(server, admin):
    flight = flight_body(departure_airport="ICN", arrival_airport="GMP")
    d_old, d_new = day(49), day(50)
    with_schedules(server, admin, flight, {"mode": "single", "date": d_old})
    sid = schedule_rows(server, flight["flight_id"])[d_old]["schedule_id"]
    assert [x["schedule_id"] for x in search_rows(server, "ICN", "GMP", d_old, flight["flight_id"])] == [sid]
    assert search_rows(server, "ICN", "KIX", d_old, flight["flight_id"]) == []  # cached too

    moved = {**flight, "arrival_airport": "KIX"}
    out = with_schedules(server, admin, moved, {"mode": "single", "date": d_new})
    assert out["result"]["created_schedules"] == 1
    assert flight_row(server, flight["flight_id"])["arrival_airport"] == "KIX"
    # the existing schedule now flies ICN→KIX: both cached searches of its date must show that
    assert search_rows(server, "ICN", "GMP", d_old, flight["flight_id"]) == []
    assert [(x["schedule_id"], x["arrival_airport"]) for x in
            search_rows(server, "ICN", "KIX", d_old, flight["flight_id"])] == [(sid, "KIX")]


@pytest.mark.parametrize("existing", [False, True], ids=["new-flight", "existing-flight"])
def test_concurrent_upserts_of_one_flight_and_dates_all_succeed_once_each(server, admin, existing):
    """Identical requests racing: every one is a valid upsert, so every one gets 201 (never a 500),
    the flight and each date's schedule are created exactly once. Five rounds, so a lost race shows."""
    dates = [day(o) for o in range(30, 35)]
    url = server.url(FWS)
    for _round in range(5):
        flight = flight_body()
        if existing:
            create_flight(server, admin, flight_id=flight["flight_id"])
        body = {"flight": flight, "schedule": {"mode": "range", "start_date": dates[0], "end_date": dates[-1]}}
        responses = run_parallel([lambda: cj.one_shot("POST", url, json=body, headers=admin, timeout=30)
                                  for _ in range(8)], workers=8)
        described = [(r.status_code, r.text[:300]) for r in responses]
        assert [r.status_code for r in responses] == [201] * 8, described
        results = [r.json()["result"] for r in responses]
        assert sum(x["created_schedules"] for x in results) == 5, described
        assert all(x["created_schedules"] + x["skipped"] == 5 and x["updated_schedules"] == 0 for x in results)
        fid = flight["flight_id"]
        assert int(server.db_scalar("SELECT COUNT(*) AS n FROM flights WHERE flight_id = ?", (fid,))) == 1
        assert sorted(schedule_rows(server, fid)) == dates
        assert int(server.db_scalar("SELECT COUNT(*) AS n FROM admin_audit WHERE action = ? AND target = ?",
                                    ("flight.upsert_with_schedules", fid))) == 8


def test_range_of_ninety_days_is_accepted(server, admin):
    flight = flight_body()
    out = with_schedules(server, admin, flight, {"mode": "range", "start_date": day(1), "end_date": day(90)})
    assert out["result"] == {"flight_id": flight["flight_id"], "created_schedules": 90, "updated_schedules": 0,
                             "skipped": 0, "total_requested": 90}
    assert sorted(schedule_rows(server, flight["flight_id"])) == [day(o) for o in range(1, 91)]


def _fws_case(flight_over=None, schedule=None, drop=None):
    def build(fid):
        f = flight_body(fid, **(flight_over or {}))
        s = schedule if schedule is not None else {"mode": "single", "date": day(50)}
        body = {"flight": f, "schedule": s}
        if drop:
            del body[drop]
        return body
    return build


FWS_REFUSALS = {
    "range-91-days": (_fws_case(schedule={"mode": "range", "start_date": day(1), "end_date": day(91)}),
                      "invalid_field", None),
    "end-before-start": (_fws_case(schedule={"mode": "range", "start_date": day(10), "end_date": day(9)}),
                         "invalid_field", None),
    "range-start-in-past": (_fws_case(schedule={"mode": "range", "start_date": day(-1), "end_date": day(2)}),
                            "invalid_field", None),
    "single-in-past": (_fws_case(schedule={"mode": "single", "date": day(-3)}), "invalid_field", None),
    "single-not-a-date": (_fws_case(schedule={"mode": "single", "date": "2031-02-30"}), "invalid_field", None),
    "range-end-not-a-date": (_fws_case(schedule={"mode": "range", "start_date": day(3), "end_date": "soon"}),
                             "invalid_field", None),
    "mode-weekly": (_fws_case(schedule={"mode": "weekly", "date": day(3)}), "invalid_field", None),
    "mode-missing": (_fws_case(schedule={"date": day(3)}), "missing_field", cj.missing_field_message("mode")),
    "single-date-missing": (_fws_case(schedule={"mode": "single"}), "missing_field",
                            cj.missing_field_message("date")),
    "range-end-missing": (_fws_case(schedule={"mode": "range", "start_date": day(3)}), "missing_field",
                          cj.missing_field_message("end_date")),
    "seats-over-total": (_fws_case(flight_over={"total_seats": 150},
                                   schedule={"mode": "range", "start_date": day(3), "end_date": day(5),
                                             "available_seats": 151}), "invalid_field", None),
    "seats-over-default-total": (_fws_case(schedule={"mode": "single", "date": day(3), "available_seats": 181}),
                                 "invalid_field", None),
    "seats-zero": (_fws_case(schedule={"mode": "single", "date": day(3), "available_seats": 0}),
                   "invalid_field", None),
    "price-negative": (_fws_case(schedule={"mode": "single", "date": day(3), "current_price": -1}),
                       "invalid_field", None),
    "overwrite-not-bool": (_fws_case(schedule={"mode": "single", "date": day(3), "overwrite": "yes"}),
                           "invalid_field", None),
    "unknown-departure": (_fws_case(flight_over={"departure_airport": "ZZZ"}), "invalid_airport",
                          MSG_BAD_DEPARTURE),
    "unknown-arrival": (_fws_case(flight_over={"arrival_airport": "QQQ"}), "invalid_airport", MSG_BAD_ARRIVAL),
    "bad-flight-time": (_fws_case(flight_over={"arrival_time": "9:5"}), "invalid_field", None),
    "flight-missing-aircraft": (_fws_case(flight_over={"aircraft": None}), "missing_field",
                                cj.missing_field_message("aircraft")),
    "flight-missing": (_fws_case(drop="flight"), "missing_field", cj.missing_field_message("flight")),
    "schedule-missing": (_fws_case(drop="schedule"), "missing_field", cj.missing_field_message("schedule")),
}


@pytest.mark.parametrize("case", list(FWS_REFUSALS))
def test_failing_flights_with_schedules_is_400_and_leaves_no_flight_row(server, admin, case):
    build, code, message = FWS_REFUSALS[case]
    fid = new_fid()
    r = call(server, admin, "POST", FWS, build(fid))
    body = assert_error(r, 400, code, message)
    assert cj.has_hangul(body["message"]), body
    assert flight_row(server, fid) is None
    assert schedule_rows(server, fid) == {}
    assert_not_audited(server, r.rid)


def test_failing_upsert_of_existing_flight_changes_nothing(server, admin):
    flight = flight_body(total_seats=160)
    with_schedules(server, admin, flight, {"mode": "single", "date": day(51)})
    row_before, scheds_before = flight_row(server, flight["flight_id"]), schedule_rows(server, flight["flight_id"])
    changed = {**flight, "base_price": 999000, "aircraft": "Changed", "total_seats": 100}
    r = call(server, admin, "POST", FWS, {"flight": changed, "schedule": {
        "mode": "range", "start_date": day(51), "end_date": day(53), "available_seats": 120, "overwrite": True}})
    assert_error(r, 400, "invalid_field")
    assert flight_row(server, flight["flight_id"]) == row_before
    assert schedule_rows(server, flight["flight_id"]) == scheds_before
    assert_not_audited(server, r.rid)


# ============================================================================================
# DELETE /flights/{flight_id}


def test_delete_flight_soft_deletes_and_hides_its_schedules_from_cached_search(server, admin, admin_id):
    flight, sids = flight_with_dates(server, admin, [55, 56], departure_airport="ICN", arrival_airport="CDG")
    fid = flight["flight_id"]
    for d in sids:  # cached with the flight in it
        assert len(search_rows(server, "ICN", "CDG", d, fid)) == 1
    r = call(server, admin, "DELETE", f"{FLIGHTS}/{fid}")
    assert assert_json(r, 200) == {"message": MSG_FLIGHT_DELETED, "success": True}
    assert int(flight_row(server, fid)["is_active"]) == 0
    assert_audited(server, r.rid, admin_id, "flight.delete", fid)
    for d in sids:
        assert search_rows(server, "ICN", "CDG", d, fid) == []
    assert fid not in [f["flight_id"] for f in assert_json(server.get(FLIGHTS, headers=admin), 200)["flights"]]
    assert fid not in [s["flight_id"] for s in assert_json(server.get(SCHEDULES, headers=admin), 200)["schedules"]]

    again = call(server, admin, "DELETE", f"{FLIGHTS}/{fid}")
    assert assert_json(again, 404) == {"message": MSG_FLIGHT_NOT_FOUND, "error": "flight_not_found"}
    assert_not_audited(server, again.rid)


@pytest.mark.parametrize("fid", ["ZZ404", "NOPE%25", "X" * 30])
def test_delete_unknown_flight_is_404_flight_not_found(server, admin, fid):
    r = call(server, admin, "DELETE", f"{FLIGHTS}/{fid}")
    assert assert_json(r, 404) == {"message": MSG_FLIGHT_NOT_FOUND, "error": "flight_not_found"}
    assert_not_audited(server, r.rid)
    assert int(flight_row(server, "CJ101")["is_active"]) == 1


# ============================================================================================
# GET /schedules


def test_list_schedules_shows_future_active_schedules_with_discount_fields(server, admin):
    flight, sids = flight_with_dates(server, admin, [57, 58, 59], price=100050, departure_airport="KIX",
                                     arrival_airport="BKK", total_seats=168)
    fid = flight["flight_id"]
    plain, disc, cancelled = sids[day(57)], sids[day(58)], sids[day(59)]
    r = call(server, admin, "POST", DISCOUNTS, {"schedule_id": disc, "discount_percentage": 15})
    did = assert_json(r, 201)["discount_id"]
    server.db_query("UPDATE flight_schedules SET status = 'CANCELLED' WHERE schedule_id = ?", (cancelled,))
    server.db_query("INSERT INTO flight_schedules (flight_id, flight_date, current_price, available_seats, status) "
                    "VALUES (?, ?, ?, ?, ?)", (fid, day(-2), 100000, 100, "ACTIVE"))

    before = cj.utc_now()
    body = assert_json(server.get(SCHEDULES, headers=admin), 200)
    after = cj.utc_now()
    assert set(body) == {"schedules"}
    for s in body["schedules"]:
        assert set(s) == SCHEDULE_KEYS, sorted(set(s) ^ SCHEDULE_KEYS)
    # The server judged "departed" at a moment between the two (a demo flight may leave meanwhile).
    assert sorted(body["schedules"], key=lambda s: s["schedule_id"]) in (
        expected_schedules(server, before), expected_schedules(server, after))
    mine = sorted((s for s in body["schedules"] if s["flight_id"] == fid), key=lambda s: s["flight_date"])
    common = {"flight_id": fid, "current_price": 100050, "available_seats": 168, "status": "ACTIVE",
              "airline": "CloudJet", "departure_airport": "KIX", "arrival_airport": "BKK",
              "departure_time": "08:10", "arrival_time": "10:25", "duration": "2시간 15분",
              "aircraft": "Airbus A321neo", "total_seats": 168, "departure_name": "간사이국제공항",
              "arrival_name": "수완나품국제공항"}
    assert mine == [
        {**common, "schedule_id": plain, "flight_date": day(57), "discount_id": None, "discount_percentage": None,
         "discounted_price": 100050},
        {**common, "schedule_id": disc, "flight_date": day(58), "discount_id": did, "discount_percentage": 15,
         "discounted_price": 85043},
    ]


# ============================================================================================
# discounts


def test_discount_shows_in_cached_search_at_once_and_is_gone_after_delete(server, admin, admin_id):
    flight, sids = flight_with_dates(server, admin, [60], price=100050, departure_airport="NRT",
                                     arrival_airport="ICN")
    fid, d = flight["flight_id"], day(60)
    sid = sids[d]
    before = search_rows(server, "NRT", "ICN", d, fid)  # cached without the discount
    assert [(x["price"], x["original_price"], x["has_discount"], x["discount_percentage"]) for x in before] == [
        (100050, 100050, False, None)]

    r = call(server, admin, "POST", DISCOUNTS, {"schedule_id": sid, "discount_percentage": 15})
    body = assert_json(r, 201)
    assert set(body) == {"message", "discount_id", "success"}
    assert (body["message"], body["success"], type(body["discount_id"])) == (MSG_DISCOUNT_CREATED, True, int)
    did = body["discount_id"]
    assert server.db_query("SELECT discount_id, schedule_id, discount_percentage, status FROM flight_discounts "
                           "WHERE schedule_id = ?", (sid,)) == [
        {"discount_id": did, "schedule_id": sid, "discount_percentage": 15, "status": "ACTIVE"}]
    assert_audited(server, r.rid, admin_id, "discount.create", str(did))
    # 100050 × 0.85 = 85042.5 → 85043
    during = search_rows(server, "NRT", "ICN", d, fid)
    assert [(x["price"], x["original_price"], x["has_discount"], x["discount_percentage"]) for x in during] == [
        (85043, 100050, True, 15)]
    listed = [x for x in assert_json(server.get(DISCOUNTS, headers=admin), 200)["discounts"]
              if x["discount_id"] == did]
    assert len(listed) == 1
    assert {k: v for k, v in listed[0].items() if k != "created_at"} == {
        "discount_id": did, "schedule_id": sid, "discount_percentage": 15, "status": "ACTIVE", "flight_id": fid,
        "flight_date": d, "current_price": 100050, "original_price": 100050, "discounted_price": 85043,
        "available_seats": 180, "departure_airport": "NRT", "arrival_airport": "ICN", "departure_time": "08:10",
        "arrival_time": "10:25", "departure_name": "나리타국제공항", "arrival_name": "인천국제공항"}
    assert TIMESTAMP.match(listed[0]["created_at"]), listed

    r = call(server, admin, "DELETE", f"{DISCOUNTS}/{did}")
    assert assert_json(r, 200) == {"message": MSG_DISCOUNT_DELETED, "success": True}
    assert server.db_scalar("SELECT status FROM flight_discounts WHERE discount_id = ?", (did,)) == "INACTIVE"
    assert_audited(server, r.rid, admin_id, "discount.delete", str(did))
    after = search_rows(server, "NRT", "ICN", d, fid)
    assert [(x["price"], x["has_discount"], x["discount_percentage"]) for x in after] == [(100050, False, None)]
    assert did not in [x["discount_id"] for x in assert_json(server.get(DISCOUNTS, headers=admin), 200)["discounts"]]

    again = call(server, admin, "DELETE", f"{DISCOUNTS}/{did}")
    assert_error(again, 404, "discount_not_found")
    assert_not_audited(server, again.rid)

    # the schedule can be discounted again once the old discount is inactive
    r = call(server, admin, "POST", DISCOUNTS, {"schedule_id": sid, "discount_percentage": 40})
    new_id = assert_json(r, 201)["discount_id"]
    assert new_id != did
    assert [(x["price"], x["discount_percentage"]) for x in search_rows(server, "NRT", "ICN", d, fid)] == [
        (60030, 40)]


def test_discount_changes_the_price_a_booking_must_pay(server, admin, user):
    flight, sids = flight_with_dates(server, admin, [61], price=200000)
    sid = sids[day(61)]
    assert_json(call(server, admin, "POST", DISCOUNTS, {"schedule_id": sid, "discount_percentage": 25}), 201)
    body = {"scheduleId": sid, "passengers": [{"name": "가", "nameEn": "GA", "birth": "1990-01-01", "gender": "M"}],
            "contactInfo": {"email": "c@example.com", "phone": "010-1111-2222"}, "paymentMethod": "CARD",
            "totalAmount": 200000}
    refused = assert_json(server.post(USER_BOOKINGS, json=body, headers=user.auth), 409)
    assert refused["error"] == "price_changed", refused
    out = assert_json(server.post(USER_BOOKINGS, json={**body, "totalAmount": 150000}, headers=user.auth), 201)
    assert int(server.db_scalar("SELECT total_amount FROM bookings WHERE booking_id = ?",
                                (out["booking_id"],))) == 150000


def test_second_discount_on_a_schedule_is_409_discount_exists(server, admin):
    _flight, sids = flight_with_dates(server, admin, [62])
    sid = sids[day(62)]
    first = assert_json(call(server, admin, "POST", DISCOUNTS, {"schedule_id": sid, "discount_percentage": 10}),
                        201)
    r = call(server, admin, "POST", DISCOUNTS, {"schedule_id": sid, "discount_percentage": 20})
    assert assert_json(r, 409) == {"message": MSG_DISCOUNT_EXISTS, "error": "discount_exists"}
    assert server.db_query("SELECT discount_id, discount_percentage, status FROM flight_discounts "
                           "WHERE schedule_id = ?", (sid,)) == [
        {"discount_id": first["discount_id"], "discount_percentage": 10, "status": "ACTIVE"}]
    assert_not_audited(server, r.rid)


def test_concurrent_discount_creations_on_one_schedule_exactly_one_succeeds(server, admin, admin_id):
    _flight, sids = flight_with_dates(server, admin, [63])
    sid = sids[day(63)]
    rids = [new_rid() for _ in range(12)]
    url = server.url(DISCOUNTS)

    def create(i):
        return lambda: cj.one_shot("POST", url, json={"schedule_id": sid, "discount_percentage": 10 + i},
                                   headers={**admin, "X-Request-Id": rids[i]}, timeout=30)

    responses = run_parallel([create(i) for i in range(12)], workers=12)
    statuses = [r.status_code for r in responses]
    assert sorted(statuses) == [201] + [409] * 11, [(r.status_code, r.text[:200]) for r in responses]
    winner = statuses.index(201)
    did = responses[winner].json()["discount_id"]
    for i, r in enumerate(responses):
        if i != winner:
            assert r.json() == {"message": MSG_DISCOUNT_EXISTS, "error": "discount_exists"}
            assert_not_audited(server, rids[i])
    assert server.db_query("SELECT discount_id, discount_percentage, status FROM flight_discounts "
                           "WHERE schedule_id = ?", (sid,)) == [
        {"discount_id": did, "discount_percentage": 10 + winner, "status": "ACTIVE"}]
    assert_audited(server, rids[winner], admin_id, "discount.create", str(did))


@pytest.mark.parametrize("sid", [987654321, 2147483647])
def test_discount_for_unknown_schedule_is_404_schedule_not_found(server, admin, sid):
    r = call(server, admin, "POST", DISCOUNTS, {"schedule_id": sid, "discount_percentage": 10})
    assert assert_json(r, 404) == {"message": MSG_SCHEDULE_NOT_FOUND, "error": "schedule_not_found"}
    assert int(server.db_scalar("SELECT COUNT(*) AS n FROM flight_discounts WHERE schedule_id = ?", (sid,))) == 0
    assert_not_audited(server, r.rid)


@pytest.fixture(scope="module")
def refusal_schedule(server, admin):
    """A schedule for discount requests that must be refused: it never gets a discount."""
    _flight, sids = flight_with_dates(server, admin, [64])
    return sids[day(64)]


@pytest.mark.parametrize("field, value", [
    ("discount_percentage", 0), ("discount_percentage", 100), ("discount_percentage", -5),
    ("discount_percentage", 150), ("discount_percentage", 15.5), ("discount_percentage", "15%"),
    ("discount_percentage", True), ("discount_percentage", [15]),
    ("schedule_id", "abc"), ("schedule_id", 1.5),
])
def test_discount_invalid_field_is_400_invalid_field(server, admin, refusal_schedule, field, value):
    body = {"schedule_id": refusal_schedule, "discount_percentage": 10, field: value}
    r = call(server, admin, "POST", DISCOUNTS, body)
    assert_error(r, 400, "invalid_field")
    assert cj.has_hangul(r.json()["message"])
    assert int(server.db_scalar("SELECT COUNT(*) AS n FROM flight_discounts WHERE schedule_id = ?",
                                (refusal_schedule,))) == 0
    assert_not_audited(server, r.rid)


@pytest.mark.parametrize("field", ["schedule_id", "discount_percentage"])
@pytest.mark.parametrize("how", ["absent", "null"])
def test_discount_missing_field_is_400_missing_field(server, admin, refusal_schedule, field, how):
    body = {"schedule_id": refusal_schedule, "discount_percentage": 10}
    if how == "absent":
        del body[field]
    else:
        body[field] = None
    r = call(server, admin, "POST", DISCOUNTS, body)
    assert assert_json(r, 400) == {"message": cj.missing_field_message(field), "error": "missing_field"}
    assert int(server.db_scalar("SELECT COUNT(*) AS n FROM flight_discounts WHERE schedule_id = ?",
                                (refusal_schedule,))) == 0
    assert_not_audited(server, r.rid)


@pytest.mark.parametrize("did", ["987654321", "abc", "0", "-1", "1.5", "%27%20OR%201%3D1"])
def test_delete_unknown_or_non_numeric_discount_is_404(server, admin, did):
    r = call(server, admin, "DELETE", f"{DISCOUNTS}/{did}")
    assert_error(r, 404, "discount_not_found")
    assert_not_audited(server, r.rid)


def test_list_discounts_shows_active_discounts_newest_first(server, admin):
    _flight, sids = flight_with_dates(server, admin, [65, 66, 67], price=123456, departure_airport="CDG",
                                      arrival_airport="LAX")
    ids = []
    for d, pct in zip(sorted(sids), (5, 33, 99)):
        ids.append(assert_json(call(server, admin, "POST", DISCOUNTS,
                                    {"schedule_id": sids[d], "discount_percentage": pct}), 201)["discount_id"])
    assert_json(call(server, admin, "DELETE", f"{DISCOUNTS}/{ids[1]}"), 200)

    body = assert_json(server.get(DISCOUNTS, headers=admin), 200)
    assert set(body) == {"discounts"}
    for x in body["discounts"]:
        assert set(x) == DISCOUNT_KEYS, sorted(set(x) ^ DISCOUNT_KEYS)
        assert x["status"] == "ACTIVE"
        assert TIMESTAMP.match(x["created_at"]), x
    assert body["discounts"] == expected_discounts(server)
    listed = [x["discount_id"] for x in body["discounts"]]
    assert ids[1] not in listed
    assert listed.index(ids[2]) < listed.index(ids[0])  # newest first
    mine = {x["discount_id"]: (x["discount_percentage"], x["discounted_price"], x["departure_name"],
                               x["arrival_name"]) for x in body["discounts"] if x["discount_id"] in ids}
    assert mine == {ids[0]: (5, 117283, "샤를드골국제공항", "로스앤젤레스국제공항"),
                    ids[2]: (99, 1235, "샤를드골국제공항", "로스앤젤레스국제공항")}


# ============================================================================================
# bookings: list, pagination, search


@pytest.fixture(scope="module")
def booked(server, admin):
    """Bookings of several users (names and emails with LIKE and SQL metacharacters) on a flight of
    this module; returns {label: booking response}."""
    _flight, sids = flight_with_dates(server, admin, [70], departure_airport="SYD", arrival_airport="ICN")
    sid = sids[day(70)]
    pct_user = server.make_user(name="백%분율_고객", email=cj.unique_email("pct"), phone="010-7777-0001")
    quote_user = server.make_user(name="O'Brien", email=cj.unique_email("Quote.User"), phone="010-7777-0002")
    plain_user = server.make_user(name="평범한", phone="+82-10-7777-0003")
    out = {
        "pct": book(server, pct_user, sid, n=2, seats=["20A", "20B"]),
        "quote": book(server, quote_user, sid, n=1, seats=["21A"],
                      contact={"email": "Mixed.Contact@Example.com", "phone": "010-8888-9999"}),
        "plain": book(server, plain_user, sid, n=3, names=["김가나", "이다라", "박마바"]),
    }
    out["users"] = {"pct": pct_user, "quote": quote_user, "plain": plain_user}
    out["sid"] = sid
    return out


def test_list_bookings_returns_every_booking_newest_first_with_passengers(server, admin, booked):
    body = assert_json(server.get(BOOKINGS, headers=admin), 200)
    assert set(body) == {"bookings", "total"}
    for b in body["bookings"]:
        assert set(b) == BOOKING_KEYS, sorted(set(b) ^ BOOKING_KEYS)
        assert TIMESTAMP.match(b["created_at"]), b
    expected = expected_bookings(server)
    assert body == {"bookings": expected, "total": len(expected)}
    assert body["total"] == int(server.db_scalar("SELECT COUNT(*) AS n FROM bookings"))
    plain = [b for b in body["bookings"] if b["booking_id"] == booked["plain"]["booking_id"]]
    u = booked["users"]["plain"]
    assert len(plain) == 1
    p = plain[0]
    assert {k: p[k] for k in ("booking_number", "user_id", "customer_name", "user_email", "user_phone",
                              "seat_number", "status", "schedule_id", "flight_date", "departure_airport",
                              "arrival_airport", "departure_name", "arrival_name", "payment_method")} == {
        "booking_number": booked["plain"]["booking_number"], "user_id": u.user_id, "customer_name": "평범한",
        "user_email": u.email, "user_phone": "+82-10-7777-0003", "seat_number": None, "status": "CONFIRMED",
        "schedule_id": booked["sid"], "flight_date": day(70), "departure_airport": "SYD",
        "arrival_airport": "ICN", "departure_name": "킹스포드스미스공항", "arrival_name": "인천국제공항",
        "payment_method": "CARD"}
    assert [x["name_kor"] for x in p["passengers"]] == ["김가나", "이다라", "박마바"]
    ids = [b["booking_id"] for b in body["bookings"]]
    assert ids.index(booked["plain"]["booking_id"]) < ids.index(booked["quote"]["booking_id"]) < ids.index(
        booked["pct"]["booking_id"])


def test_list_bookings_paginates_with_page_and_per_page(server, admin, booked):
    expected = expected_bookings(server)
    total = len(expected)
    assert total >= 3
    b1 = assert_json(server.get(BOOKINGS, params={"page": 1, "per_page": 2}, headers=admin), 200)
    assert b1 == {"bookings": expected[0:2], "total": total, "page": 1, "per_page": 2}
    b2 = assert_json(server.get(BOOKINGS, params={"page": 2, "per_page": 2}, headers=admin), 200)
    assert b2 == {"bookings": expected[2:4], "total": total, "page": 2, "per_page": 2}
    far = assert_json(server.get(BOOKINGS, params={"page": 1000, "per_page": 200}, headers=admin), 200)
    assert far == {"bookings": [], "total": total, "page": 1000, "per_page": 200}
    only_page = assert_json(server.get(BOOKINGS, params={"page": 1}, headers=admin), 200)
    assert only_page == {"bookings": expected[:20], "total": total, "page": 1, "per_page": 20}
    only_per_page = assert_json(server.get(BOOKINGS, params={"per_page": 1}, headers=admin), 200)
    assert only_per_page == {"bookings": expected[:1], "total": total, "page": 1, "per_page": 1}


@pytest.mark.parametrize("params", [
    {"page": 0}, {"page": -1}, {"page": "abc"}, {"page": "1.5"}, {"page": ""},
    {"per_page": 0}, {"per_page": 201}, {"per_page": "x"}, {"page": 1, "per_page": -3},
], ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()))
def test_list_bookings_bad_pagination_is_400_invalid_field(server, admin, params):
    r = server.get(BOOKINGS, params=params, headers=admin)
    assert_error(r, 400, "invalid_field")


def _search(server, admin, term):
    return server.get(BOOKING_SEARCH, params={"term": term}, headers=admin)


def test_search_bookings_by_number_name_email_phone_and_contact(server, admin, booked):
    everything = expected_bookings(server)
    quote_user = booked["users"]["quote"]
    cases = {
        booked["quote"]["booking_number"]: [booked["quote"]["booking_id"]],
        booked["quote"]["booking_number"][2:7].lower(): None,      # part of a number, lower case
        "O'Brien": [booked["quote"]["booking_id"]],                 # customer name
        "평범": [booked["plain"]["booking_id"]],                     # Korean name
        quote_user.email.split("@")[0].upper(): [booked["quote"]["booking_id"]],  # user email, other case
        "7777-0003": [booked["plain"]["booking_id"]],               # user phone
        "mixed.contact@example": [booked["quote"]["booking_id"]],   # contact email, other case
        "8888-9999": [booked["quote"]["booking_id"]],               # contact phone
    }
    for term, ids in cases.items():
        body = assert_json(_search(server, admin, term), 200)
        assert set(body) == {"bookings", "total"}
        expected = matching(everything, term)
        assert body == {"bookings": expected, "total": len(expected)}, term
        if ids is not None:
            assert [b["booking_id"] for b in body["bookings"]] == ids, term
        else:
            assert booked["quote"]["booking_id"] in [b["booking_id"] for b in body["bookings"]]
    assert assert_json(_search(server, admin, "no-such-thing-" + uuid.uuid4().hex), 200) == {
        "bookings": [], "total": 0}


@pytest.mark.parametrize("term", ["%", "_", "%분율_", "!", "%%", "_%_"])
def test_search_matches_percent_and_underscore_literally(server, admin, booked, term):
    everything = expected_bookings(server)
    body = assert_json(_search(server, admin, term), 200)
    expected = matching(everything, term)
    assert body == {"bookings": expected, "total": len(expected)}
    assert body["total"] < len(everything)
    if term in ("%", "_", "%분율_"):
        assert booked["pct"]["booking_id"] in [b["booking_id"] for b in body["bookings"]]


@pytest.mark.parametrize("term", [
    "' OR 1=1 --", "' OR '1'='1", "\" OR \"\"=\"", "'; DROP TABLE bookings; --", "O'", "\\", "\\%",
    "' UNION SELECT * FROM users --", ") OR (1=1",
])
def test_search_with_sql_metacharacters_is_plain_text(server, admin, booked, term):
    n_before = int(server.db_scalar("SELECT COUNT(*) AS n FROM bookings"))
    everything = expected_bookings(server)
    body = assert_json(_search(server, admin, term), 200)
    expected = matching(everything, term)
    assert body == {"bookings": expected, "total": len(expected)}
    if term == "O'":
        assert [b["booking_id"] for b in body["bookings"]] == [booked["quote"]["booking_id"]]
    else:
        assert body["total"] == 0, body
    assert int(server.db_scalar("SELECT COUNT(*) AS n FROM bookings")) == n_before


@pytest.mark.parametrize("params", [{}, {"term": ""}, {"term": "   "}, {"term": "\t"}],
                         ids=["missing", "empty", "blank", "tab"])
def test_search_without_term_is_400_missing_field(server, admin, params):
    r = server.get(BOOKING_SEARCH, params=params, headers=admin)
    assert assert_json(r, 400) == {"message": MSG_EMPTY_TERM, "error": "missing_field"}


# ============================================================================================
# PUT /bookings/{booking_number}/cancel


def test_admin_cancel_frees_seats_restores_availability_and_cached_search(server, admin, admin_id, user,
                                                                          other_user):
    flight, sids = flight_with_dates(server, admin, [72], departure_airport="LAX", arrival_airport="ICN")
    fid, d = flight["flight_id"], day(72)
    sid = sids[d]
    b = book(server, user, sid, n=2, seats=["3A", "3B"])
    keep = book(server, other_user, sid, n=1, seats=["3C"])
    assert available(server, sid) == 177
    assert [x["available_seats"] for x in search_rows(server, "LAX", "ICN", d, fid)] == [177]  # cached

    r = call(server, admin, "PUT", f"{BOOKINGS}/{b['booking_number']}/cancel")
    assert assert_json(r, 200) == {"message": MSG_BOOKING_CANCELLED, "success": True}
    assert server.db_scalar("SELECT status FROM bookings WHERE booking_id = ?", (b["booking_id"],)) == "CANCELLED"
    assert server.db_scalar("SELECT status FROM bookings WHERE booking_id = ?", (keep["booking_id"],)) == "CONFIRMED"
    assert server.db_query("SELECT seat_number, booking_id FROM seat_assignments WHERE schedule_id = ? "
                           "ORDER BY seat_number", (sid,)) == [{"seat_number": "3C", "booking_id": keep["booking_id"]}]
    assert available(server, sid) == 179
    assert [x["available_seats"] for x in search_rows(server, "LAX", "ICN", d, fid)] == [179]
    assert assert_json(server.get(f"{USER_BOOKINGS}/occupied-seats/{sid}"), 200) == {"occupied_seats": ["3C"]}
    assert_audited(server, r.rid, admin_id, "booking.cancel", b["booking_number"])
    listed = [x for x in assert_json(server.get(BOOKINGS, headers=admin), 200)["bookings"]
              if x["booking_id"] == b["booking_id"]]
    assert [x["status"] for x in listed] == ["CANCELLED"]

    # the freed seats can be booked again
    again = book(server, other_user, sid, n=1, seats=["3A"])
    assert available(server, sid) == 178
    assert server.db_scalar("SELECT booking_id FROM seat_assignments WHERE schedule_id = ? AND seat_number = ?",
                            (sid, "3A")) == again["booking_id"]

    twice = call(server, admin, "PUT", f"{BOOKINGS}/{b['booking_number']}/cancel")
    assert_error(twice, 404, "booking_not_found")
    assert available(server, sid) == 178
    assert_not_audited(server, twice.rid)


def test_concurrent_admin_cancels_of_one_booking_restore_seats_once(server, admin, user):
    _flight, sids = flight_with_dates(server, admin, [73])
    sid = sids[day(73)]
    b = book(server, user, sid, n=3, seats=["8A", "8B", "8C"])
    assert available(server, sid) == 177
    url = server.url(f"{BOOKINGS}/{b['booking_number']}/cancel")
    responses = run_parallel([lambda: cj.one_shot("PUT", url, headers=admin, timeout=30) for _ in range(8)],
                             workers=8)
    assert sorted(r.status_code for r in responses) == [200] + [404] * 7, [
        (r.status_code, r.text[:200]) for r in responses]
    for r in responses:
        if r.status_code == 404:
            assert r.json()["error"] == "booking_not_found", r.text
    assert available(server, sid) == 180
    assert server.db_query("SELECT seat_number FROM seat_assignments WHERE schedule_id = ?", (sid,)) == []
    assert int(server.db_scalar("SELECT COUNT(*) AS n FROM admin_audit WHERE action = ? AND target = ?",
                                ("booking.cancel", b["booking_number"]))) == 1


@pytest.mark.parametrize("number", ["CJ00000000", "cjzzzzzzzz", "' OR 1=1 --", "%25"])
def test_admin_cancel_unknown_booking_is_404_booking_not_found(server, admin, number):
    before = server.db_query("SELECT booking_id, status FROM bookings ORDER BY booking_id")
    r = call(server, admin, "PUT", f"{BOOKINGS}/{requests.utils.quote(number, safe='%')}/cancel")
    assert_error(r, 404, "booking_not_found")
    assert server.db_query("SELECT booking_id, status FROM bookings ORDER BY booking_id") == before
    assert_not_audited(server, r.rid)


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
