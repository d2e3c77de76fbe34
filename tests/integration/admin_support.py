"""What the admin test modules (test_admin_*.py, one per resource) share: paths, messages, the
expected key sets, request helpers, listings recomputed from the database, and the module-scoped
fixtures (an admin token, users, a schedule that must never get a discount). Import the fixtures
by name into a test module (pytest finds fixtures among a module's globals).

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


@pytest.fixture(scope="module")
def refusal_schedule(server, admin):
    """A schedule for discount requests that must be refused: it never gets a discount."""
    _flight, sids = flight_with_dates(server, admin, [64])
    return sids[day(64)]
