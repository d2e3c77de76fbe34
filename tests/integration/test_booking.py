"""Black-box tests of the booking service (/api/bookings): create (validation, server-side price,
seat integrity, idempotency keys), list, cancel, occupied seats and the seat map; concurrency
(one seat, many clients; many seats in parallel; two server processes on one MariaDB database)
and crash safety (SIGKILL in the middle of a booking load). Every test runs against SQLite and
MariaDB; bodies are checked exactly and the database state is checked with SQL.

Isolation: every test that books takes schedules of its own (`fresh_schedule`), so no test sees
another's seats; tests that only expect a refusal share one schedule and assert that nothing at
all was written. Dates are relative to today in UTC, like the demo seed."""
from __future__ import annotations

import collections
import concurrent.futures
import datetime as dt
import re
import threading
import time
from dataclasses import dataclass

import pytest
import requests

import cj
from cj import today, day, hms, ts_text, discounted
from cj import assert_error, assert_json

BOOKINGS = "/api/bookings"
SEARCH = "/api/flights/search"

MSG_CREATED = "예약이 성공적으로 생성되었습니다."
MSG_CANCELLED = "예약이 성공적으로 취소되었습니다."
MSG_NOT_ENOUGH = "선택한 항공편의 좌석이 부족합니다."
MSG_NOT_CANCELLABLE = "취소 가능한 예약을 찾을 수 없습니다."

BOOKING_NUMBER = re.compile(r"^CJ[A-Z0-9]{8}$")
TIMESTAMP = cj.API_TIMESTAMP

LIST_KEYS = {
    "booking_id", "booking_number", "seat_number", "total_amount", "contact_email", "contact_phone",
    "payment_method", "status", "created_at", "flight_date", "flight_id", "airline", "departure_airport",
    "arrival_airport", "departure_time", "arrival_time", "duration", "aircraft", "departure_name",
    "arrival_name", "passengers",
}
LETTERS = ["A", "B", "C", "D", "E", "F"]
ALL_SEATS = [f"{row}{letter}" for row in range(1, 31) for letter in LETTERS]  # the demo 180-seat map

MODULE_SERVER_ENV = {"LOGIN_MAX_FAILURES_PER_CLIENT": "1000"}


def seat_taken_message(seat: str) -> str:
    return f"이미 선택된 좌석입니다: {seat}"


# ============================================================================================
# helpers


def seat_key(label: str) -> tuple[int, str]:
    return int(label[:-1]), label[-1]


@dataclass
class Sched:
    sid: int
    flight_id: str
    date: str
    dep: str
    arr: str
    available: int

    def unit(self, server) -> int:
        """The unit price the server must charge now (schedule price after the ACTIVE discount)."""
        row = server.db_query(
            "SELECT fs.current_price AS price, (SELECT MAX(d.discount_percentage) FROM flight_discounts d "
            "WHERE d.schedule_id = fs.schedule_id AND d.status = 'ACTIVE') AS pct "
            "FROM flight_schedules fs WHERE fs.schedule_id = ?", (self.sid,))[0]
        return discounted(int(row["price"]), None if row["pct"] is None else int(row["pct"]))


_SCHEDULES_SQL = (
    "SELECT fs.schedule_id AS sid, fs.flight_id AS flight_id, fs.flight_date AS flight_date, "
    "fs.available_seats AS available, f.departure_airport AS dep, f.arrival_airport AS arr "
    "FROM flight_schedules fs JOIN flights f ON f.flight_id = fs.flight_id "
    "WHERE fs.flight_date >= ? AND fs.status = 'ACTIVE' AND f.is_active = 1 AND f.total_seats = 180 "
    "ORDER BY fs.schedule_id")

_used_schedules: dict[tuple, set[int]] = {}


def fresh_schedule(server) -> Sched:
    """A bookable schedule (two or more days ahead) that no other test of this run has taken."""
    used = _used_schedules.setdefault((server.backend, server.port, server.db_name, str(server.data_dir)), set())
    for r in server.db_query(_SCHEDULES_SQL, (day(2),)):
        sid = int(r["sid"])
        if sid in used:
            continue
        used.add(sid)
        n_bookings = int(server.db_scalar("SELECT COUNT(*) AS n FROM bookings WHERE schedule_id = ?", (sid,)))
        assert n_bookings == 0, f"schedule {sid} already has bookings"
        return Sched(sid, r["flight_id"], cj.as_date_text(r["flight_date"]), r["dep"], r["arr"],
                     int(r["available"]))
    raise AssertionError("no unused bookable schedule left")


def passenger(i: int = 0, **overrides) -> dict:
    p = {"name": f"승객{i}", "nameEn": f"PASSENGER {i}", "birth": f"19{80 + i % 20}-0{1 + i % 9}-1{i % 10}",
         "gender": "M" if i % 2 == 0 else "F"}
    p.update(overrides)
    return p


def booking_body(server, sched: Sched, n: int = 1, seats: list[str] | None = None, **overrides) -> dict:
    body = {
        "scheduleId": sched.sid,
        "passengers": [passenger(i) for i in range(n)],
        "contactInfo": {"email": "contact@example.com", "phone": "010-1234-5678"},
        "paymentMethod": "CARD",
        "totalAmount": sched.unit(server) * n,
    }
    if seats is not None:
        body["seats"] = seats
    body.update(overrides)
    return body


def book(server, user, body, headers: dict | None = None) -> requests.Response:
    return server.post(BOOKINGS, json=body, headers={**user.auth, **(headers or {})})


def assert_created(resp: requests.Response) -> dict:
    body = assert_json(resp, 201)
    assert set(body) == {"message", "booking_number", "booking_id", "status", "success"}, body
    assert body["status"] == "CONFIRMED", body  # holds are off by default
    assert body["message"] == MSG_CREATED and body["success"] is True, body
    assert BOOKING_NUMBER.match(body["booking_number"]), body
    assert isinstance(body["booking_id"], int) and body["booking_id"] > 0, body
    return body


def create_booking(server, user, sched: Sched, n: int = 1, seats: list[str] | None = None) -> dict:
    return assert_created(book(server, user, booking_body(server, sched, n, seats)))


def available(server, sid: int) -> int:
    return int(server.db_scalar("SELECT available_seats AS n FROM flight_schedules WHERE schedule_id = ?", (sid,)))


def snapshot(server, sid: int | None = None) -> dict:
    """Everything a refused request must leave unchanged."""
    state = {
        "bookings": server.db_query("SELECT booking_id, status FROM bookings ORDER BY booking_id"),
        "passengers": int(server.db_scalar("SELECT COUNT(*) AS n FROM passengers")),
        "seat_assignments": server.db_query(
            "SELECT schedule_id, seat_number, booking_id FROM seat_assignments ORDER BY schedule_id, seat_number"),
        "idempotency_keys": int(server.db_scalar("SELECT COUNT(*) AS n FROM idempotency_keys")),
    }
    if sid is not None:
        state["available"] = available(server, sid)
    return state


def booking_row(server, booking_id: int) -> dict:
    rows = server.db_query("SELECT * FROM bookings WHERE booking_id = ?", (booking_id,))
    assert len(rows) == 1, rows
    return rows[0]


def passenger_rows(server, booking_id: int) -> list[dict]:
    rows = server.db_query("SELECT name_kor, name_eng, birth_date, gender, seat_number FROM passengers "
                           "WHERE booking_id = ? ORDER BY passenger_id", (booking_id,))
    for r in rows:
        r["birth_date"] = cj.as_date_text(r["birth_date"])
    return rows


def seat_rows(server, sid: int) -> dict[str, int]:
    return {r["seat_number"]: int(r["booking_id"]) for r in server.db_query(
        "SELECT seat_number, booking_id FROM seat_assignments WHERE schedule_id = ?", (sid,))}


def occupied(server, sid: int) -> list[str]:
    body = assert_json(server.get(f"{BOOKINGS}/occupied-seats/{sid}"), 200)
    assert set(body) == {"occupied_seats"}, body
    return body["occupied_seats"]


def search_row(server, sched: Sched) -> dict | None:
    body = assert_json(server.get(SEARCH, params={"departure": sched.dep, "arrival": sched.arr,
                                                  "date": sched.date}), 200)
    rows = [f for f in body["flights"] if f["schedule_id"] == sched.sid]
    assert len(rows) <= 1, body
    return rows[0] if rows else None


def expected_passengers(body: dict) -> list[dict]:
    seats = body.get("seats") or [None] * len(body["passengers"])
    return [{"name_kor": p["name"], "name_eng": p.get("nameEn"), "birth_date": p["birth"], "gender": p["gender"],
             "seat_number": seat} for p, seat in zip(body["passengers"], seats)]


def run_parallel(calls, workers: int = 50) -> list:
    """Runs the zero-argument callables on a thread pool, all released at once; results in order."""
    start = threading.Barrier(min(workers, len(calls)))

    def wrapped(call):
        try:
            start.wait(timeout=30)
        except threading.BrokenBarrierError:
            pass
        return call()

    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(wrapped, calls))


def post_booking_call(srv, token: str, body: dict, headers: dict | None = None):
    url = srv.url(BOOKINGS)
    hdrs = {"Authorization": f"Bearer {token}", **(headers or {})}
    return lambda: cj.one_shot("POST", url, json=body, headers=hdrs, timeout=60)


def describe(responses) -> list:
    return [(r.status_code, r.text[:200]) for r in responses]


# ============================================================================================
# fixtures


@pytest.fixture(scope="module")
def user(server):
    return server.make_user()


@pytest.fixture(scope="module")
def other_user(server):
    return server.make_user()


@pytest.fixture(scope="module")
def crowd(server):
    """Ten users, for the concurrency tests (Argon2 makes creating hundreds slow)."""
    return [server.make_user() for _ in range(10)]


@pytest.fixture(scope="module")
def refusal_schedule(server):
    """A schedule for requests that must be refused: nothing may ever be written on it."""
    return fresh_schedule(server)


# ============================================================================================
# create: success and database effects


def test_create_booking_writes_booking_passengers_and_seats_and_takes_seats(server, user):
    sched = fresh_schedule(server)
    body = booking_body(server, sched, n=3, seats=["12A", "12B", "30F"], paymentMethod="KAKAO",
                        contactInfo={"email": "booker@example.com", "phone": "010-9999-8888"})
    body["passengers"] = [
        {"name": "홍길동", "nameEn": "HONG GILDONG", "birth": "1990-01-01", "gender": "M"},
        {"name": "김영희", "nameEn": "KIM YOUNGHEE", "birth": "1992-02-29", "gender": "F"},
        {"name": "아기", "birth": "2020-12-31", "gender": "F"},
    ]
    unit = sched.unit(server)
    out = assert_created(book(server, user, body))

    row = booking_row(server, out["booking_id"])
    assert row["booking_number"] == out["booking_number"]
    assert {k: row[k] for k in ("user_id", "schedule_id", "seat_number", "total_amount", "contact_email",
                                "contact_phone", "payment_method", "status")} == {
        "user_id": user.user_id, "schedule_id": sched.sid, "seat_number": "12A", "total_amount": unit * 3,
        "contact_email": "booker@example.com", "contact_phone": "010-9999-8888", "payment_method": "KAKAO",
        "status": "CONFIRMED"}
    # each passenger keeps their own seat
    assert passenger_rows(server, out["booking_id"]) == [
        {"name_kor": "홍길동", "name_eng": "HONG GILDONG", "birth_date": "1990-01-01", "gender": "M",
         "seat_number": "12A"},
        {"name_kor": "김영희", "name_eng": "KIM YOUNGHEE", "birth_date": "1992-02-29", "gender": "F",
         "seat_number": "12B"},
        {"name_kor": "아기", "name_eng": None, "birth_date": "2020-12-31", "gender": "F", "seat_number": "30F"},
    ]
    assert seat_rows(server, sched.sid) == {"12A": out["booking_id"], "12B": out["booking_id"],
                                            "30F": out["booking_id"]}
    assert available(server, sched.sid) == sched.available - 3
    assert occupied(server, sched.sid) == ["12A", "12B", "30F"]


def test_create_booking_without_seats_stores_null_seats_and_defaults_payment_to_card(server, user):
    sched = fresh_schedule(server)
    body = booking_body(server, sched, n=2)
    del body["paymentMethod"]
    del body["passengers"][1]["nameEn"]
    out = assert_created(book(server, user, body))
    row = booking_row(server, out["booking_id"])
    assert row["seat_number"] is None
    assert row["payment_method"] == "CARD"
    assert row["status"] == "CONFIRMED"
    assert row["total_amount"] == sched.unit(server) * 2
    assert passenger_rows(server, out["booking_id"]) == expected_passengers(body)
    assert [p["seat_number"] for p in passenger_rows(server, out["booking_id"])] == [None, None]
    assert seat_rows(server, sched.sid) == {}
    assert available(server, sched.sid) == sched.available - 2
    assert occupied(server, sched.sid) == []


def test_names_of_50_korean_characters_and_100_latin_letters_are_accepted(server, user):
    sched = fresh_schedule(server)
    body = booking_body(server, sched, n=1, seats=["8C"])
    body["passengers"][0].update(name="가" * 50, nameEn="A" * 100)
    out = assert_created(book(server, user, body))
    assert passenger_rows(server, out["booking_id"]) == expected_passengers(body)


def test_booking_health(server):
    assert assert_json(server.get(f"{BOOKINGS}/health"), 200) == {
        "status": "healthy", "service": "booking-service", "port": 5003}


def test_booking_numbers_are_unique_and_well_formed(server, user):
    sched = fresh_schedule(server)
    numbers = [create_booking(server, user, sched)["booking_number"] for _ in range(5)]
    assert len(set(numbers)) == 5
    assert all(BOOKING_NUMBER.match(n) for n in numbers)
    assert available(server, sched.sid) == sched.available - 5


def test_booking_the_last_available_seats_leaves_zero_and_then_refuses(server, user):
    sched = fresh_schedule(server)
    server.db_query("UPDATE flight_schedules SET available_seats = 2 WHERE schedule_id = ?", (sched.sid,))
    create_booking(server, user, sched, n=2, seats=["1A", "1B"])
    assert available(server, sched.sid) == 0
    before = snapshot(server, sched.sid)
    r = book(server, user, booking_body(server, sched, n=1, seats=["1C"]))
    assert_error(r, 400, "not_enough_seats", MSG_NOT_ENOUGH)
    assert snapshot(server, sched.sid) == before


def test_not_enough_seats_is_400_and_writes_nothing(server, user):
    sched = fresh_schedule(server)
    server.db_query("UPDATE flight_schedules SET available_seats = 1 WHERE schedule_id = ?", (sched.sid,))
    before = snapshot(server, sched.sid)
    for seats in (None, ["3A", "3B"]):
        r = book(server, user, booking_body(server, sched, n=2, seats=seats))
        assert_error(r, 400, "not_enough_seats", MSG_NOT_ENOUGH)
    assert snapshot(server, sched.sid) == before
    assert available(server, sched.sid) == 1


# ============================================================================================
# create: price


def test_booking_price_is_schedule_price_after_active_discount(server, user):
    sched = fresh_schedule(server)
    price = int(server.db_scalar("SELECT current_price AS p FROM flight_schedules WHERE schedule_id = ?",
                                 (sched.sid,)))
    server.db_query("DELETE FROM flight_discounts WHERE schedule_id = ?", (sched.sid,))
    server.db_query("INSERT INTO flight_discounts (schedule_id, discount_percentage, status) VALUES (?, ?, ?)",
                    (sched.sid, 15, "ACTIVE"))
    server.db_query("INSERT INTO flight_discounts (schedule_id, discount_percentage, status) VALUES (?, ?, ?)",
                    (sched.sid, 50, "INACTIVE"))
    unit = (price * 85 + 50) // 100
    before = snapshot(server, sched.sid)
    # the undiscounted price is refused, with the current price
    r = book(server, user, booking_body(server, sched, n=2, totalAmount=price * 2))
    body = assert_json(r, 409)
    assert set(body) == {"message", "error", "current_unit_price", "current_total_price"}, body
    assert body["error"] == "price_changed" and body["message"].strip()
    assert body["current_unit_price"] == unit and body["current_total_price"] == unit * 2
    assert snapshot(server, sched.sid) == before

    out = assert_created(book(server, user, booking_body(server, sched, n=2, totalAmount=unit * 2)))
    assert booking_row(server, out["booking_id"])["total_amount"] == unit * 2
    assert available(server, sched.sid) == sched.available - 2


@pytest.mark.parametrize("tamper", ["zero", "one_passenger_price", "one_won_less", "one_won_more", "half"])
def test_tampered_total_amount_is_409_price_changed_and_writes_nothing(server, user, refusal_schedule, tamper):
    sched = refusal_schedule
    unit = sched.unit(server)
    amount = {"zero": 0, "one_passenger_price": unit, "one_won_less": unit * 2 - 1,
              "one_won_more": unit * 2 + 1, "half": unit}[tamper]
    before = snapshot(server, sched.sid)
    r = book(server, user, booking_body(server, sched, n=2, seats=["7A", "7B"], totalAmount=amount))
    body = assert_json(r, 409)
    assert set(body) == {"message", "error", "current_unit_price", "current_total_price"}, body
    assert body["error"] == "price_changed"
    assert isinstance(body["message"], str) and body["message"].strip()
    assert body["current_unit_price"] == unit
    assert body["current_total_price"] == unit * 2
    assert snapshot(server, sched.sid) == before


def test_price_raised_after_the_client_saw_it_is_409_with_the_new_price(server, user):
    sched = fresh_schedule(server)
    old_unit = sched.unit(server)
    body = booking_body(server, sched, n=1)
    server.db_query("UPDATE flight_schedules SET current_price = current_price + 10000 WHERE schedule_id = ?",
                    (sched.sid,))
    new_unit = sched.unit(server)
    assert new_unit != old_unit
    before = snapshot(server, sched.sid)
    got = assert_json(book(server, user, body), 409)
    assert got["error"] == "price_changed"
    assert (got["current_unit_price"], got["current_total_price"]) == (new_unit, new_unit)
    assert snapshot(server, sched.sid) == before
    assert_created(book(server, user, {**body, "totalAmount": new_unit}))


# ============================================================================================
# create: validation


def _drop(path):
    def mutate(body):
        target = body
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
    return mutate


def _set(path, value):
    def mutate(body):
        target = body
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return mutate


MISSING_CASES = {
    "scheduleId-absent": (_drop(["scheduleId"]), "scheduleId"),
    "scheduleId-null": (_set(["scheduleId"], None), "scheduleId"),
    "passengers-absent": (_drop(["passengers"]), "passengers"),
    "passengers-null": (_set(["passengers"], None), "passengers"),
    "passengers-empty": (_set(["passengers"], []), "passengers"),
    "contactInfo-absent": (_drop(["contactInfo"]), "contactInfo"),
    "contactInfo-null": (_set(["contactInfo"], None), "contactInfo"),
    "totalAmount-absent": (_drop(["totalAmount"]), "totalAmount"),
    "totalAmount-null": (_set(["totalAmount"], None), "totalAmount"),
    "name-absent": (_drop(["passengers", 0, "name"]), "passengers[0].name"),
    "name-empty": (_set(["passengers", 0, "name"], ""), "passengers[0].name"),
    "second-name-absent": (_drop(["passengers", 1, "name"]), "passengers[1].name"),
    "birth-absent": (_drop(["passengers", 0, "birth"]), "passengers[0].birth"),
    "second-birth-absent": (_drop(["passengers", 1, "birth"]), "passengers[1].birth"),
    "gender-absent": (_drop(["passengers", 0, "gender"]), "passengers[0].gender"),
    "email-absent": (_drop(["contactInfo", "email"]), "contactInfo.email"),
    "email-empty": (_set(["contactInfo", "email"], ""), "contactInfo.email"),
    "phone-absent": (_drop(["contactInfo", "phone"]), "contactInfo.phone"),
}


@pytest.mark.parametrize("case", list(MISSING_CASES))
def test_missing_field_is_400_naming_the_field_and_writes_nothing(server, user, refusal_schedule, case):
    mutate, field = MISSING_CASES[case]
    body = booking_body(server, refusal_schedule, n=2, seats=["9A", "9B"])
    mutate(body)
    before = snapshot(server, refusal_schedule.sid)
    assert_error(book(server, user, body), 400, "missing_field", cj.missing_field_message(field))
    assert snapshot(server, refusal_schedule.sid) == before


def test_empty_body_names_schedule_id_first(server, user, refusal_schedule):
    before = snapshot(server, refusal_schedule.sid)
    assert_error(server.post(BOOKINGS, json={}, headers=user.auth), 400, "missing_field",
                 cj.missing_field_message("scheduleId"))
    assert snapshot(server, refusal_schedule.sid) == before


INVALID_CASES = {
    "scheduleId-string": _set(["scheduleId"], "1a"),
    "scheduleId-zero": _set(["scheduleId"], 0),
    "scheduleId-negative": _set(["scheduleId"], -5),
    "scheduleId-float": _set(["scheduleId"], 1.5),
    "scheduleId-bool": _set(["scheduleId"], True),
    "passengers-string": _set(["passengers"], "홍길동"),
    "passengers-object": _set(["passengers"], {"name": "홍길동"}),
    "passengers-ten": lambda b: b.update(passengers=[passenger(i) for i in range(10)], seats=None,
                                         totalAmount=b["totalAmount"] * 5),
    "name-51-chars": _set(["passengers", 0, "name"], "가" * 51),
    "name-number": _set(["passengers", 0, "name"], 42),
    "name-list": _set(["passengers", 1, "name"], ["홍길동"]),
    "nameEn-number": _set(["passengers", 0, "nameEn"], 7),
    "nameEn-101-chars": _set(["passengers", 1, "nameEn"], "A" * 101),
    "birth-feb-30": _set(["passengers", 0, "birth"], "1990-02-30"),
    "birth-not-leap": _set(["passengers", 0, "birth"], "2001-02-29"),
    "birth-compact": _set(["passengers", 0, "birth"], "19900101"),
    "birth-number": _set(["passengers", 0, "birth"], 19900101),
    "birth-slashes": _set(["passengers", 0, "birth"], "1990/01/01"),
    "birth-future": _set(["passengers", 0, "birth"], day(3)),
    "birth-far-future": _set(["passengers", 1, "birth"], "2999-01-01"),
    "gender-X": _set(["passengers", 0, "gender"], "X"),
    "gender-word": _set(["passengers", 0, "gender"], "male"),
    "gender-number": _set(["passengers", 1, "gender"], 1),
    "passenger-not-object": _set(["passengers", 1], "김영희"),
    "email-malformed": _set(["contactInfo", "email"], "not-an-email"),
    "email-number": _set(["contactInfo", "email"], 12345),
    "phone-letters": _set(["contactInfo", "phone"], "abc-defg-hij"),
    "phone-short": _set(["contactInfo", "phone"], "12"),
    "phone-number": _set(["contactInfo", "phone"], 1012345678),
    "contactInfo-string": _set(["contactInfo"], "contact@example.com"),
    "paymentMethod-number": _set(["paymentMethod"], 1),
    "totalAmount-negative": _set(["totalAmount"], -1),
    "totalAmount-string": lambda b: b.update(totalAmount=f" {b['totalAmount']}"),
    "totalAmount-float": lambda b: b.update(totalAmount=b["totalAmount"] + 0.5),
    "seats-string": _set(["seats"], "9A"),
    "seats-numbers": _set(["seats"], [9, 10]),
    "seats-too-many": _set(["seats"], ["9A", "9B", "9C"]),
    "seats-duplicate": _set(["seats"], ["9A", "9A"]),
}


@pytest.mark.parametrize("case", list(INVALID_CASES))
def test_invalid_field_is_400_invalid_field_and_writes_nothing(server, user, refusal_schedule, case):
    body = booking_body(server, refusal_schedule, n=2, seats=["9A", "9B"])
    INVALID_CASES[case](body)
    if body.get("seats") is None:
        body.pop("seats", None)
    before = snapshot(server, refusal_schedule.sid)
    assert_error(book(server, user, body), 400, "invalid_field")
    assert snapshot(server, refusal_schedule.sid) == before


@pytest.mark.parametrize("seat", ["31A", "12G", "0A", "A12", "12", "7AA", "-1A", "100A"])
def test_seat_outside_the_seat_map_is_400_invalid_seat_and_writes_nothing(server, user, refusal_schedule, seat):
    body = booking_body(server, refusal_schedule, n=2, seats=["9C", seat])
    before = snapshot(server, refusal_schedule.sid)
    err = assert_error(book(server, user, body), 400, "invalid_seat")
    assert seat in err["message"], err
    assert snapshot(server, refusal_schedule.sid) == before


@pytest.mark.parametrize("raw", [b"[1, 2]", b"null", b'"x"', b'{"scheduleId": 1', b""])
def test_non_object_or_malformed_json_is_400_invalid_json(server, user, refusal_schedule, raw):
    before = snapshot(server, refusal_schedule.sid)
    r = server.post(BOOKINGS, data=raw, headers={**user.auth, "Content-Type": "application/json"})
    assert_error(r, 400, "invalid_json")
    assert snapshot(server, refusal_schedule.sid) == before


def test_unknown_schedule_is_404_schedule_not_found(server, user, refusal_schedule):
    body = booking_body(server, refusal_schedule, n=1, seats=["9D"], scheduleId=987654321)
    before = snapshot(server)
    assert_error(book(server, user, body), 404, "schedule_not_found")
    assert snapshot(server) == before


@pytest.mark.parametrize("how", ["cancelled", "delayed", "flight_inactive", "departed_yesterday"])
def test_unbookable_schedule_is_409_schedule_unavailable(server, user, how):
    """Withdrawn schedules are schedule_unavailable; one that has left is `departed` (more cases
    of the time rules, at fixed instants: test_time.py)."""
    sched = fresh_schedule(server)
    body = booking_body(server, sched, n=1, seats=["4A"])  # priced while it was bookable
    if how == "cancelled":
        server.db_query("UPDATE flight_schedules SET status = 'CANCELLED' WHERE schedule_id = ?", (sched.sid,))
    elif how == "delayed":
        server.db_query("UPDATE flight_schedules SET status = 'DELAYED' WHERE schedule_id = ?", (sched.sid,))
    elif how == "flight_inactive":
        server.db_query("UPDATE flights SET is_active = 0 WHERE flight_id = ?", (sched.flight_id,))
    else:
        server.db_query("UPDATE flight_schedules SET flight_date = ? WHERE schedule_id = ?", (day(-1), sched.sid))
    try:
        before = snapshot(server, sched.sid)
        code = "departed" if how == "departed_yesterday" else "schedule_unavailable"
        assert_error(book(server, user, body), 409, code)
        assert snapshot(server, sched.sid) == before
    finally:
        if how == "flight_inactive":
            server.db_query("UPDATE flights SET is_active = 1 WHERE flight_id = ?", (sched.flight_id,))


# ============================================================================================
# create: seats


def test_seat_already_taken_is_409_seat_taken(server, user, other_user):
    sched = fresh_schedule(server)
    first = create_booking(server, user, sched, n=1, seats=["12A"])
    before = snapshot(server, sched.sid)
    r = book(server, other_user, booking_body(server, sched, n=1, seats=["12A"]))
    assert_error(r, 409, "seat_taken", seat_taken_message("12A"))
    assert snapshot(server, sched.sid) == before
    assert seat_rows(server, sched.sid) == {"12A": first["booking_id"]}


def test_booking_with_one_taken_seat_among_three_changes_nothing(server, user, other_user):
    sched = fresh_schedule(server)
    first = create_booking(server, user, sched, n=1, seats=["5B"])
    before = snapshot(server, sched.sid)
    n_passengers = int(server.db_scalar("SELECT COUNT(*) AS n FROM passengers"))
    r = book(server, other_user, booking_body(server, sched, n=3, seats=["5A", "5B", "5C"]))
    assert_error(r, 409, "seat_taken", seat_taken_message("5B"))
    assert snapshot(server, sched.sid) == before
    assert available(server, sched.sid) == sched.available - 1
    assert int(server.db_scalar("SELECT COUNT(*) AS n FROM passengers")) == n_passengers
    assert int(server.db_scalar("SELECT COUNT(*) AS n FROM bookings WHERE user_id = ?", (other_user.user_id,))) == 0
    assert seat_rows(server, sched.sid) == {"5B": first["booking_id"]}
    assert occupied(server, sched.sid) == ["5B"]
    # the two free seats were not held back by the refused request
    second = create_booking(server, other_user, sched, n=2, seats=["5A", "5C"])
    assert seat_rows(server, sched.sid) == {"5A": second["booking_id"], "5B": first["booking_id"],
                                            "5C": second["booking_id"]}
    assert available(server, sched.sid) == sched.available - 3


def test_same_seat_on_different_schedules_is_not_a_conflict(server, user):
    s1, s2 = fresh_schedule(server), fresh_schedule(server)
    b1 = create_booking(server, user, s1, seats=["20C"])
    b2 = create_booking(server, user, s2, seats=["20C"])
    assert seat_rows(server, s1.sid) == {"20C": b1["booking_id"]}
    assert seat_rows(server, s2.sid) == {"20C": b2["booking_id"]}


# ============================================================================================
# create: idempotency keys


def test_idempotent_retry_returns_the_first_booking_and_writes_nothing_new(server, user):
    sched = fresh_schedule(server)
    body = booking_body(server, sched, n=2, seats=["14A", "14B"])
    key = {"Idempotency-Key": "retry-" + cj.unique_email()}
    r1 = book(server, user, body, key)
    first = assert_created(r1)
    assert "Idempotent-Replayed" not in r1.headers
    after_first = snapshot(server, sched.sid)
    assert after_first["available"] == sched.available - 2
    for _ in range(3):
        r = book(server, user, body, key)
        assert assert_created(r) == first
        assert r.headers.get("Idempotent-Replayed") == "true", r.headers
    assert snapshot(server, sched.sid) == after_first
    assert int(server.db_scalar("SELECT COUNT(*) AS n FROM bookings WHERE schedule_id = ?", (sched.sid,))) == 1


def test_idempotency_key_reused_with_a_different_body_is_422(server, user):
    sched = fresh_schedule(server)
    key = {"Idempotency-Key": "reuse-" + cj.unique_email()}
    first = assert_created(book(server, user, booking_body(server, sched, n=1, seats=["15A"]), key))
    before = snapshot(server, sched.sid)
    for other in (booking_body(server, sched, n=1, seats=["15B"]),
                  booking_body(server, sched, n=2, seats=["15C", "15D"])):
        assert_error(book(server, user, other, key), 422, "idempotency_key_reused")
    assert snapshot(server, sched.sid) == before
    assert seat_rows(server, sched.sid) == {"15A": first["booking_id"]}


def test_same_idempotency_key_of_two_users_books_twice(server, user, other_user):
    sched = fresh_schedule(server)
    key = {"Idempotency-Key": "shared-" + cj.unique_email()}
    a = assert_created(book(server, user, booking_body(server, sched, n=1, seats=["16A"]), key))
    r = book(server, other_user, booking_body(server, sched, n=1, seats=["16B"]), key)
    b = assert_created(r)
    assert "Idempotent-Replayed" not in r.headers
    assert a["booking_id"] != b["booking_id"]
    assert booking_row(server, a["booking_id"])["user_id"] == user.user_id
    assert booking_row(server, b["booking_id"])["user_id"] == other_user.user_id
    assert available(server, sched.sid) == sched.available - 2


def test_refused_request_does_not_consume_its_idempotency_key(server, user, other_user):
    sched = fresh_schedule(server)
    create_booking(server, other_user, sched, seats=["17A"])
    key = {"Idempotency-Key": "refused-" + cj.unique_email()}
    body = booking_body(server, sched, n=1, seats=["17A"])
    assert_error(book(server, user, body, key), 409, "seat_taken", seat_taken_message("17A"))
    # the same key then books a free seat: the refusal was not recorded as the key's result
    out = assert_created(book(server, user, {**body, "seats": ["17B"]}, key))
    assert seat_rows(server, sched.sid)["17B"] == out["booking_id"]


@pytest.mark.parametrize("with_seats", [True, False], ids=["with-seats", "without-seats"])
def test_concurrent_requests_with_one_idempotency_key_make_exactly_one_booking(server, user, with_seats):
    """20 simultaneous retries of one request: one booking, and every retry answers with it (a
    retry must never see its own booking as a conflict). Several rounds, as the race is narrow."""
    sched = fresh_schedule(server)
    for rnd in range(5):
        seats = [f"{18 + rnd}A", f"{18 + rnd}B"] if with_seats else None
        body = booking_body(server, sched, n=2, seats=seats)
        key = {"Idempotency-Key": f"concurrent-{rnd}-" + cj.unique_email()}
        before = {int(r["booking_id"]) for r in server.db_query(
            "SELECT booking_id FROM bookings WHERE schedule_id = ?", (sched.sid,))}
        responses = run_parallel([post_booking_call(server, user.token, body, key) for _ in range(20)],
                                 workers=20)
        outcomes = collections.Counter((r.status_code, r.text if r.status_code != 201 else "created")
                                       for r in responses)
        assert outcomes == {(201, "created"): 20}, f"round {rnd}: {dict(outcomes)}"
        bodies = [assert_created(r) for r in responses]
        assert len({(b["booking_id"], b["booking_number"]) for b in bodies}) == 1, bodies
        replayed = [r for r in responses if r.headers.get("Idempotent-Replayed") == "true"]
        assert len(replayed) == 19, [r.headers.get("Idempotent-Replayed") for r in responses]
        rows = server.db_query("SELECT booking_id, booking_number FROM bookings WHERE schedule_id = ?",
                               (sched.sid,))
        new = [(int(r["booking_id"]), r["booking_number"]) for r in rows if int(r["booking_id"]) not in before]
        assert new == [(bodies[0]["booking_id"], bodies[0]["booking_number"])]
        assert available(server, sched.sid) == sched.available - 2 * (rnd + 1)
        assert len(passenger_rows(server, bodies[0]["booking_id"])) == 2


# ============================================================================================
# auth


def test_booking_endpoints_without_token_are_401_token_missing(server, refusal_schedule):
    before = snapshot(server, refusal_schedule.sid)
    assert_error(server.post(BOOKINGS, json=booking_body(server, refusal_schedule)), 401, "token_missing",
                 cj.MSG_TOKEN_MISSING)
    assert_error(server.get(BOOKINGS), 401, "token_missing", cj.MSG_TOKEN_MISSING)
    assert_error(server.post(f"{BOOKINGS}/CJAAAAAAAA/cancel"), 401, "token_missing", cj.MSG_TOKEN_MISSING)
    assert snapshot(server, refusal_schedule.sid) == before


@pytest.mark.parametrize("token", ["garbage", "abc.def.ghi", "other-key", "expired"])
def test_booking_endpoints_with_bad_token_are_401(server, user, refusal_schedule, token):
    if token == "other-key":
        token = cj.make_jwt(cj.claims(user.user_id), "not-the-server-key-" + "x" * 20)
        code, msg = "invalid_token", cj.MSG_TOKEN_INVALID
    elif token == "expired":
        token = cj.make_jwt(cj.claims(user.user_id, iat=int(time.time()) - 2 * 86400), server.secret_key)
        code, msg = "token_expired", cj.MSG_TOKEN_EXPIRED
    else:
        code, msg = "invalid_token", cj.MSG_TOKEN_INVALID
    auth = {"Authorization": f"Bearer {token}"}
    before = snapshot(server, refusal_schedule.sid)
    assert_error(server.post(BOOKINGS, json=booking_body(server, refusal_schedule), headers=auth), 401, code, msg)
    assert_error(server.get(BOOKINGS, headers=auth), 401, code, msg)
    assert_error(server.post(f"{BOOKINGS}/CJAAAAAAAA/cancel", headers=auth), 401, code, msg)
    assert snapshot(server, refusal_schedule.sid) == before


# ============================================================================================
# list


def _expected_list_entry(server, booking_id: int) -> dict:
    r = server.db_query(
        "SELECT b.booking_id AS booking_id, b.booking_number AS booking_number, b.seat_number AS seat_number, "
        "b.total_amount AS total_amount, b.contact_email AS contact_email, b.contact_phone AS contact_phone, "
        "b.payment_method AS payment_method, b.status AS status, b.created_at AS created_at, "
        "fs.flight_date AS flight_date, f.flight_id AS flight_id, f.airline AS airline, "
        "f.departure_airport AS departure_airport, f.arrival_airport AS arrival_airport, "
        "f.departure_time AS departure_time, f.arrival_time AS arrival_time, f.duration AS duration, "
        "f.aircraft AS aircraft, da.airport_name AS departure_name, aa.airport_name AS arrival_name "
        "FROM bookings b JOIN flight_schedules fs ON fs.schedule_id = b.schedule_id "
        "JOIN flights f ON f.flight_id = fs.flight_id "
        "JOIN airports da ON da.airport_code = f.departure_airport "
        "JOIN airports aa ON aa.airport_code = f.arrival_airport WHERE b.booking_id = ?", (booking_id,))[0]
    r["booking_id"] = int(r["booking_id"])
    r["total_amount"] = int(r["total_amount"])
    r["created_at"] = ts_text(r["created_at"])
    r["flight_date"] = cj.as_date_text(r["flight_date"])
    r["departure_time"] = hms(r["departure_time"])
    r["arrival_time"] = hms(r["arrival_time"])
    r["passengers"] = passenger_rows(server, booking_id)
    return r


def test_list_returns_own_bookings_newest_first_with_flight_and_passengers(server):
    me, someone = server.make_user(), server.make_user()
    s1, s2 = fresh_schedule(server), fresh_schedule(server)
    b1 = book(server, me, booking_body(server, s1, n=2, seats=["10A", "10B"]))
    b1 = assert_created(b1)
    create_booking(server, someone, s1, n=1, seats=["10C"])
    b2 = assert_created(book(server, me, booking_body(server, s2, n=1, paymentMethod="KAKAO")))
    b3 = create_booking(server, me, s1, n=3, seats=["11F", "11E", "11D"])

    body = assert_json(server.get(BOOKINGS, headers=me.auth), 200)
    assert set(body) == {"bookings"}
    got = body["bookings"]
    assert [b["booking_id"] for b in got] == [b3["booking_id"], b2["booking_id"], b1["booking_id"]]
    for entry in got:
        assert set(entry) == LIST_KEYS, entry
        assert TIMESTAMP.match(entry["created_at"]), entry
        assert isinstance(entry["total_amount"], int)
    assert got == [_expected_list_entry(server, b["booking_id"]) for b in (b3, b2, b1)]
    # spot checks against what was sent, independent of the SQL above
    assert got[0]["passengers"] == [
        {"name_kor": "승객0", "name_eng": "PASSENGER 0", "birth_date": "1980-01-10", "gender": "M",
         "seat_number": "11F"},
        {"name_kor": "승객1", "name_eng": "PASSENGER 1", "birth_date": "1981-02-11", "gender": "F",
         "seat_number": "11E"},
        {"name_kor": "승객2", "name_eng": "PASSENGER 2", "birth_date": "1982-03-12", "gender": "M",
         "seat_number": "11D"}]
    assert got[0]["seat_number"] == "11F" and got[0]["status"] == "CONFIRMED"
    assert got[1]["seat_number"] is None and got[1]["payment_method"] == "KAKAO"
    assert [p["seat_number"] for p in got[1]["passengers"]] == [None]
    assert (got[2]["flight_id"], got[2]["flight_date"]) == (s1.flight_id, s1.date)
    assert (got[1]["flight_id"], got[1]["flight_date"]) == (s2.flight_id, s2.date)
    assert got[2]["total_amount"] == s1.unit(server) * 2

    # the other user sees only their own
    theirs = assert_json(server.get(BOOKINGS, headers=someone.auth), 200)["bookings"]
    assert [b["seat_number"] for b in theirs] == ["10C"]


def test_list_of_user_without_bookings_is_empty(server):
    fresh = server.make_user()
    assert assert_json(server.get(BOOKINGS, headers=fresh.auth), 200) == {"bookings": []}


def test_list_shows_cancelled_booking_with_status_cancelled(server):
    me = server.make_user()
    sched = fresh_schedule(server)
    out = create_booking(server, me, sched, n=1, seats=["21A"])
    assert_json(server.post(f"{BOOKINGS}/{out['booking_number']}/cancel", headers=me.auth), 200)
    got = assert_json(server.get(BOOKINGS, headers=me.auth), 200)["bookings"]
    assert [(b["booking_number"], b["status"]) for b in got] == [(out["booking_number"], "CANCELLED")]
    assert got == [_expected_list_entry(server, out["booking_id"])]


def test_list_pagination(server):
    me = server.make_user()
    sched = fresh_schedule(server)
    ids = [create_booking(server, me, sched)["booking_id"] for _ in range(5)]
    newest_first = ids[::-1]

    def page(params):
        return [b["booking_id"] for b in assert_json(server.get(BOOKINGS, headers=me.auth, params=params),
                                                     200)["bookings"]]

    assert page({}) == newest_first
    assert page({"page": 1, "per_page": 2}) == newest_first[0:2]
    assert page({"page": 2, "per_page": 2}) == newest_first[2:4]
    assert page({"page": 3, "per_page": 2}) == newest_first[4:]
    assert page({"page": 4, "per_page": 2}) == []
    assert page({"page": 1}) == newest_first
    assert page({"per_page": 3}) == newest_first[:3]
    assert page({"page": 1, "per_page": 100}) == newest_first
    # passengers are attached on every page
    for entry in assert_json(server.get(BOOKINGS, headers=me.auth, params={"page": 2, "per_page": 2}),
                             200)["bookings"]:
        assert len(entry["passengers"]) == 1


def test_list_pages_default_to_20_and_the_unpaged_list_is_capped_at_500(server):
    me = server.make_user()
    sched = fresh_schedule(server)
    # 501 bookings written directly (through the API this would take a while)
    values = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, 'CONFIRMED')"] * 501)
    params = []
    for i in range(501):
        params += [f"CJP{i:07d}", me.user_id, sched.sid, None, 1000 + i, "bulk@example.com", "010-1111-2222",
                   "CARD"]
    server.db_query("INSERT INTO bookings (booking_number, user_id, schedule_id, seat_number, total_amount, "
                    f"contact_email, contact_phone, payment_method, status) VALUES {values}", params)
    ids = [int(r["booking_id"]) for r in server.db_query(
        "SELECT booking_id FROM bookings WHERE user_id = ? ORDER BY created_at DESC, booking_id DESC",
        (me.user_id,))]
    assert len(ids) == 501

    def page(params):
        return [b["booking_id"] for b in assert_json(server.get(BOOKINGS, headers=me.auth, params=params),
                                                     200)["bookings"]]

    assert page({"page": 1}) == ids[:20]
    assert page({"page": 3}) == ids[40:60]
    assert page({"page": 6, "per_page": 100}) == ids[500:]
    assert page({}) == ids[:500]


@pytest.mark.parametrize("params", [{"page": 0}, {"page": -1}, {"page": "x"}, {"per_page": 0},
                                    {"per_page": 101}, {"per_page": "ten"}, {"page": 1, "per_page": 1.5}])
def test_list_with_bad_pagination_is_400_invalid_field(server, user, params):
    assert_error(server.get(BOOKINGS, headers=user.auth, params=params), 400, "invalid_field")


# ============================================================================================
# cancel


def test_cancel_frees_seats_restores_available_seats_and_marks_cancelled(server, user):
    sched = fresh_schedule(server)
    keep = create_booking(server, user, sched, n=1, seats=["22A"])
    out = create_booking(server, user, sched, n=2, seats=["22B", "22C"])
    assert available(server, sched.sid) == sched.available - 3
    r = server.post(f"{BOOKINGS}/{out['booking_number']}/cancel", headers=user.auth)
    assert assert_json(r, 200) == {"message": MSG_CANCELLED, "success": True,
                                   "booking_number": out["booking_number"]}
    assert booking_row(server, out["booking_id"])["status"] == "CANCELLED"
    assert booking_row(server, keep["booking_id"])["status"] == "CONFIRMED"
    assert seat_rows(server, sched.sid) == {"22A": keep["booking_id"]}
    assert available(server, sched.sid) == sched.available - 1
    assert occupied(server, sched.sid) == ["22A"]
    # the passengers stay on record
    assert [p["seat_number"] for p in passenger_rows(server, out["booking_id"])] == ["22B", "22C"]


def test_cancelled_seat_can_be_booked_again(server, user, other_user):
    sched = fresh_schedule(server)
    out = create_booking(server, user, sched, n=1, seats=["23D"])
    assert_json(server.post(f"{BOOKINGS}/{out['booking_number']}/cancel", headers=user.auth), 200)
    again = create_booking(server, other_user, sched, n=1, seats=["23D"])
    assert seat_rows(server, sched.sid) == {"23D": again["booking_id"]}
    assert available(server, sched.sid) == sched.available - 1
    assert occupied(server, sched.sid) == ["23D"]


def test_cancel_of_someone_elses_booking_is_404_and_changes_nothing(server, user, other_user):
    sched = fresh_schedule(server)
    out = create_booking(server, user, sched, n=1, seats=["24A"])
    before = snapshot(server, sched.sid)
    r = server.post(f"{BOOKINGS}/{out['booking_number']}/cancel", headers=other_user.auth)
    assert_error(r, 404, "booking_not_found", MSG_NOT_CANCELLABLE)
    assert snapshot(server, sched.sid) == before
    assert booking_row(server, out["booking_id"])["status"] == "CONFIRMED"


@pytest.mark.parametrize("number", ["CJZZZZZZZZ", "nonsense", "1"])
def test_cancel_of_unknown_booking_is_404(server, user, number):
    before = snapshot(server)
    r = server.post(f"{BOOKINGS}/{number}/cancel", headers=user.auth)
    assert_error(r, 404, "booking_not_found", MSG_NOT_CANCELLABLE)
    assert snapshot(server) == before


def test_double_cancel_is_404_and_returns_seats_only_once(server, user):
    sched = fresh_schedule(server)
    out = create_booking(server, user, sched, n=2, seats=["25A", "25B"])
    url = f"{BOOKINGS}/{out['booking_number']}/cancel"
    assert_json(server.post(url, headers=user.auth), 200)
    after_first = snapshot(server, sched.sid)
    assert after_first["available"] == sched.available
    assert_error(server.post(url, headers=user.auth), 404, "booking_not_found", MSG_NOT_CANCELLABLE)
    assert snapshot(server, sched.sid) == after_first


def test_concurrent_cancels_of_one_booking_return_seats_once(server, user):
    sched = fresh_schedule(server)
    out = create_booking(server, user, sched, n=3, seats=["26A", "26B", "26C"])
    url = server.url(f"{BOOKINGS}/{out['booking_number']}/cancel")
    responses = run_parallel([lambda: cj.one_shot("POST", url, headers=user.auth, timeout=60)
                              for _ in range(16)], workers=16)
    assert sorted(r.status_code for r in responses) == [200] + [404] * 15, describe(responses)
    for r in responses:
        if r.status_code == 404:
            assert_error(r, 404, "booking_not_found", MSG_NOT_CANCELLABLE)
    assert available(server, sched.sid) == sched.available
    assert seat_rows(server, sched.sid) == {}
    assert booking_row(server, out["booking_id"])["status"] == "CANCELLED"


# ============================================================================================
# flight search cache


def test_search_shows_booked_and_cancelled_seats_at_once(server, user):
    sched = fresh_schedule(server)
    assert search_row(server, sched)["available_seats"] == sched.available  # now cached
    assert search_row(server, sched)["available_seats"] == sched.available
    out = create_booking(server, user, sched, n=3, seats=["27A", "27B", "27C"])
    assert search_row(server, sched)["available_seats"] == sched.available - 3
    assert_json(server.post(f"{BOOKINGS}/{out['booking_number']}/cancel", headers=user.auth), 200)
    assert search_row(server, sched)["available_seats"] == sched.available


def test_sold_out_schedule_disappears_from_cached_search_and_returns_after_cancel(server, user):
    sched = fresh_schedule(server)
    server.db_query("UPDATE flight_schedules SET available_seats = 2 WHERE schedule_id = ?", (sched.sid,))
    create_booking(server, user, sched, n=1, seats=["28A"])  # invalidates whatever was cached
    assert search_row(server, sched)["available_seats"] == 1  # cached now
    last = create_booking(server, user, sched, n=1, seats=["28B"])
    assert available(server, sched.sid) == 0
    assert search_row(server, sched) is None
    assert_json(server.post(f"{BOOKINGS}/{last['booking_number']}/cancel", headers=user.auth), 200)
    assert search_row(server, sched)["available_seats"] == 1


def test_search_after_bookings_racing_with_searches_shows_the_final_seats(server, crowd):
    """Searches running while bookings commit must not leave a stale entry in the cache."""
    sched = fresh_schedule(server)
    stop = threading.Event()
    url = server.url(SEARCH)
    params = {"departure": sched.dep, "arrival": sched.arr, "date": sched.date}

    def hammer():
        while not stop.is_set():
            cj.one_shot("GET", url, params=params)

    searchers = [threading.Thread(target=hammer) for _ in range(4)]
    for t in searchers:
        t.start()
    try:
        calls = [post_booking_call(server, crowd[i % len(crowd)].token,
                                   booking_body(server, sched, n=1, seats=[ALL_SEATS[i]])) for i in range(40)]
        responses = run_parallel(calls, workers=10)
    finally:
        stop.set()
        for t in searchers:
            t.join()
    assert all(r.status_code == 201 for r in responses), describe(responses)
    assert available(server, sched.sid) == sched.available - 40
    assert search_row(server, sched)["available_seats"] == sched.available - 40


# ============================================================================================
# occupied seats and seat map


def test_occupied_seats_are_sorted_naturally_and_exclude_cancelled(server, user):
    sched = fresh_schedule(server)
    create_booking(server, user, sched, n=3, seats=["10A", "2B", "1F"])
    gone = create_booking(server, user, sched, n=1, seats=["3C"])
    create_booking(server, user, sched, n=2, seats=["2A", "30A"])
    assert occupied(server, sched.sid) == ["1F", "2A", "2B", "3C", "10A", "30A"]
    assert_json(server.post(f"{BOOKINGS}/{gone['booking_number']}/cancel", headers=user.auth), 200)
    assert occupied(server, sched.sid) == ["1F", "2A", "2B", "10A", "30A"]


@pytest.mark.parametrize("sid", ["abc", "1x", "-1", "0", "1.5"])
def test_occupied_seats_and_seat_map_with_non_numeric_id_are_404_not_found(server, sid):
    assert_error(server.get(f"{BOOKINGS}/occupied-seats/{sid}"), 404, "not_found")
    assert_error(server.get(f"{BOOKINGS}/seat-map/{sid}"), 404, "not_found")


def test_seat_map_lists_rows_letters_occupied_and_available(server, user):
    sched = fresh_schedule(server)
    create_booking(server, user, sched, n=2, seats=["15F", "4A"])
    create_booking(server, user, sched, n=1)  # no seat chosen: counts, but occupies no label
    body = assert_json(server.get(f"{BOOKINGS}/seat-map/{sched.sid}"), 200)
    assert body == {"schedule_id": sched.sid, "rows": 30, "letters": LETTERS, "occupied": ["4A", "15F"],
                    "available_seats": sched.available - 3}


def test_seat_map_of_unknown_schedule_is_404_schedule_not_found(server):
    assert_error(server.get(f"{BOOKINGS}/seat-map/987654321"), 404, "schedule_not_found")


# ============================================================================================
# concurrency


def test_200_clients_booking_the_same_seat_get_exactly_one_201(server, crowd):
    sched = fresh_schedule(server)
    body = booking_body(server, sched, n=1, seats=["13C"])
    calls = [post_booking_call(server, crowd[i % len(crowd)].token, body) for i in range(200)]
    responses = run_parallel(calls, workers=50)
    winners = [r for r in responses if r.status_code == 201]
    assert len(winners) == 1, describe(responses)[:20]
    for r in responses:
        if r.status_code != 201:
            assert_error(r, 409, "seat_taken", seat_taken_message("13C"))
    won = assert_created(winners[0])
    assert available(server, sched.sid) == sched.available - 1
    assert seat_rows(server, sched.sid) == {"13C": won["booking_id"]}
    rows = server.db_query("SELECT booking_id, status FROM bookings WHERE schedule_id = ?", (sched.sid,))
    assert rows == [{"booking_id": won["booking_id"], "status": "CONFIRMED"}]
    assert occupied(server, sched.sid) == ["13C"]


def test_100_parallel_bookings_of_distinct_seats_all_succeed_and_add_up(server, crowd):
    sched = fresh_schedule(server)
    assert sched.available >= 100
    seats = ALL_SEATS[:100]
    calls = [post_booking_call(server, crowd[i % len(crowd)].token, booking_body(server, sched, n=1, seats=[s]))
             for i, s in enumerate(seats)]
    responses = run_parallel(calls, workers=50)
    assert all(r.status_code == 201 for r in responses), describe([r for r in responses if r.status_code != 201])
    created = [assert_created(r) for r in responses]
    assert len({c["booking_id"] for c in created}) == 100
    assert available(server, sched.sid) == sched.available - 100
    assert seat_rows(server, sched.sid) == {s: c["booking_id"] for s, c in zip(seats, created)}
    assert occupied(server, sched.sid) == sorted(seats, key=seat_key)
    assert int(server.db_scalar("SELECT COUNT(*) AS n FROM bookings WHERE schedule_id = ? AND status = 'CONFIRMED'",
                                (sched.sid,))) == 100
    assert int(server.db_scalar("SELECT COUNT(*) AS n FROM passengers p JOIN bookings b "
                                "ON b.booking_id = p.booking_id WHERE b.schedule_id = ?", (sched.sid,))) == 100


def test_parallel_multi_passenger_bookings_never_oversell(server, crowd):
    """More passengers than seats, in parallel: the sum of winners fits exactly, never below zero."""
    sched = fresh_schedule(server)
    server.db_query("UPDATE flight_schedules SET available_seats = 10 WHERE schedule_id = ?", (sched.sid,))
    calls = [post_booking_call(server, crowd[i % len(crowd)].token, booking_body(server, sched, n=3))
             for i in range(20)]
    responses = run_parallel(calls, workers=20)
    winners = [r for r in responses if r.status_code == 201]
    assert len(winners) == 3, describe(responses)
    for r in responses:
        if r.status_code != 201:
            assert_error(r, 400, "not_enough_seats", MSG_NOT_ENOUGH)
    assert available(server, sched.sid) == 1
    assert int(server.db_scalar("SELECT COUNT(*) AS n FROM passengers p JOIN bookings b "
                                "ON b.booking_id = p.booking_id WHERE b.schedule_id = ?", (sched.sid,))) == 9


def test_two_server_processes_on_one_mariadb_database_give_one_seat_once(make_server, mariadb):
    a = make_server("mariadb", extra_env=MODULE_SERVER_ENV)
    b = make_server("mariadb", db_name=a.db_name, extra_env={**MODULE_SERVER_ENV, "SECRET_KEY": a.secret_key})
    assert b.db_name == a.db_name
    users = [a.make_user() for _ in range(5)] + [b.make_user() for _ in range(5)]
    sched = fresh_schedule(a)
    body = booking_body(a, sched, n=1, seats=["6E"])
    calls = [post_booking_call(a if i % 2 == 0 else b, users[i % len(users)].token, body) for i in range(200)]
    responses = run_parallel(calls, workers=50)
    winners = [r for r in responses if r.status_code == 201]
    assert len(winners) == 1, describe(responses)[:20]
    for r in responses:
        if r.status_code != 201:
            assert_error(r, 409, "seat_taken", seat_taken_message("6E"))
    won = assert_created(winners[0])
    assert available(a, sched.sid) == sched.available - 1
    assert seat_rows(a, sched.sid) == {"6E": won["booking_id"]}
    assert int(a.db_scalar("SELECT COUNT(*) AS n FROM bookings WHERE schedule_id = ?", (sched.sid,))) == 1

    # and distinct seats through both processes add up
    sched2 = fresh_schedule(a)
    seats = ALL_SEATS[:60]
    calls = [post_booking_call(a if i % 2 == 0 else b, users[i % len(users)].token,
                               booking_body(a, sched2, n=1, seats=[s])) for i, s in enumerate(seats)]
    responses = run_parallel(calls, workers=30)
    assert all(r.status_code == 201 for r in responses), describe(responses)
    assert available(a, sched2.sid) == sched2.available - 60
    assert sorted(seat_rows(a, sched2.sid)) == sorted(seats)
    assert occupied(b, sched2.sid) == sorted(seats, key=seat_key)


# ============================================================================================
# crash safety


def test_sigkill_during_booking_load_leaves_only_whole_bookings(make_server, backend):
    srv = make_server(backend, extra_env=MODULE_SERVER_ENV)
    users = [srv.make_user() for _ in range(4)]
    schedules = [fresh_schedule(srv) for _ in range(3)]
    start_seats = {s.sid: available(srv, s.sid) for s in schedules}
    units = {s.sid: s.unit(srv) for s in schedules}

    # request i: schedule i % 3; 1 to 3 passengers named after i; every other one with seats of its own
    plan = []
    seat_cursor = {s.sid: 0 for s in schedules}
    for i in range(300):
        sched = schedules[i % 3]
        j = i // 3
        n = 1 + j % 3
        body = {
            "scheduleId": sched.sid,
            "passengers": [{"name": f"부하{i}-{k}", "birth": "1990-01-01", "gender": "F"} for k in range(n)],
            "contactInfo": {"email": "load@example.com", "phone": "010-1111-2222"},
            "totalAmount": units[sched.sid] * n,
        }
        if j % 2 == 0:  # seats no other request of the plan asks for
            cur = seat_cursor[sched.sid]
            body["seats"] = ALL_SEATS[cur:cur + n]
            seat_cursor[sched.sid] = cur + n
        plan.append((i, body, users[i % len(users)].token))

    lock = threading.Lock()
    counters = {"started": 0, "finished": 0}
    results: dict[int, tuple] = {}
    url = srv.url(BOOKINGS)

    def send(item):
        i, body, token = item
        with lock:
            counters["started"] += 1
        try:
            r = cj.one_shot("POST", url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        except requests.RequestException as e:  # in flight at the kill, or sent after it
            results[i] = ("error", repr(e))
        else:
            try:
                results[i] = (r.status_code, r.json() if r.status_code in (201, 400, 409) else r.text)
            except ValueError:
                results[i] = ("unparseable", r.status_code, r.text[:200])
        finally:
            with lock:
                counters["finished"] += 1

    with concurrent.futures.ThreadPoolExecutor(max_workers=40) as pool:
        t0 = time.monotonic()
        futures = [pool.submit(send, item) for item in plan]
        # SIGKILL after ~0.5 s, or earlier once a third of the load is answered (fast machines)
        while time.monotonic() - t0 < 0.5 and counters["finished"] < 100:
            time.sleep(0.005)
        with lock:
            in_flight = counters["started"] - counters["finished"]
            answered_before_kill = counters["finished"]
        srv.kill()
        concurrent.futures.wait(futures)

    assert len(results) == len(plan)
    assert in_flight > 0, "the kill must land while requests are in flight"
    ok = {i: res[1] for i, res in results.items() if res[0] == 201}
    assert ok, f"no booking succeeded before the kill ({answered_before_kill} answered)"
    for i, res in results.items():
        # the plan's seats never collide; late requests may find a schedule sold out
        assert res[0] in (201, "error") or (res[0] == 400 and res[1]["error"] == "not_enough_seats"), (i, res)
    for created in ok.values():
        assert created["message"] == MSG_CREATED and BOOKING_NUMBER.match(created["booking_number"]), created
    assert any(res[0] == "error" for res in results.values())

    srv.start()  # same data dir / database

    # every acknowledged booking is there, confirmed, with all its passengers
    for i, created in ok.items():
        body = plan[i][1]
        rows = srv.db_query("SELECT * FROM bookings WHERE booking_number = ?", (created["booking_number"],))
        assert len(rows) == 1, (i, created)
        row = rows[0]
        assert int(row["booking_id"]) == created["booking_id"]
        assert row["status"] == "CONFIRMED" and int(row["schedule_id"]) == body["scheduleId"]
        assert [p["name_kor"] for p in passenger_rows(srv, created["booking_id"])] == \
            [p["name"] for p in body["passengers"]]

    # no booking is half-written: each matches its request exactly
    sids = tuple(start_seats)
    all_rows = srv.db_query(
        f"SELECT booking_id, schedule_id, status, seat_number FROM bookings "
        f"WHERE schedule_id IN ({', '.join('?' * len(sids))})", sids)
    assert len(all_rows) >= len(ok)
    for row in all_rows:
        pax = passenger_rows(srv, row["booking_id"])
        assert pax, f"booking {row['booking_id']} has no passengers"
        i = int(pax[0]["name_kor"][2:].split("-")[0])
        body = plan[i][1]
        assert [p["name_kor"] for p in pax] == [p["name"] for p in body["passengers"]], row
        assert int(row["schedule_id"]) == body["scheduleId"]
        assert row["status"] == "CONFIRMED"
        held = sorted(r["seat_number"] for r in srv.db_query(
            "SELECT seat_number FROM seat_assignments WHERE booking_id = ?", (row["booking_id"],)))
        assert held == sorted(body.get("seats", [])), row
        assert [p["seat_number"] for p in pax] == (body.get("seats") or [None] * len(pax)), row
    orphans = srv.db_query("SELECT s.booking_id FROM seat_assignments s LEFT JOIN bookings b "
                           "ON b.booking_id = s.booking_id WHERE b.booking_id IS NULL")
    assert orphans == []

    # seats add up on every schedule
    for sid, start in start_seats.items():
        taken = int(srv.db_scalar(
            "SELECT COUNT(*) AS n FROM passengers p JOIN bookings b ON b.booking_id = p.booking_id "
            "WHERE b.schedule_id = ? AND b.status = 'CONFIRMED'", (sid,)))
        assert available(srv, sid) == start - taken, (sid, start, taken)
        assert available(srv, sid) >= 0

    # and the restarted server books on
    sched = schedules[0]
    free = next(s for s in ALL_SEATS[::-1] if s not in seat_rows(srv, sched.sid))
    out = create_booking(srv, users[0], sched, n=1, seats=[free])
    assert booking_row(srv, out["booking_id"])["status"] == "CONFIRMED"


# ============================================================================================
# replicas sharing MariaDB and Redis: a write on one is never served stale by the other


def test_booking_on_one_replica_is_seen_at_once_through_the_other_replicas_redis_cache(
        make_server, mariadb, redis_server):
    if not redis_server.running:
        redis_server.start()
    redis_server.command("FLUSHALL")
    a = make_server("mariadb", redis=redis_server, extra_env=MODULE_SERVER_ENV)
    b = make_server("mariadb", redis=redis_server, db_name=a.db_name,
                    extra_env={**MODULE_SERVER_ENV, "SECRET_KEY": a.secret_key})
    user = a.make_user()
    sched = fresh_schedule(a)
    # B caches the search result and the occupied seats...
    assert search_row(b, sched)["available_seats"] == sched.available
    assert occupied(b, sched.sid) == []
    assert search_row(b, sched)["available_seats"] == sched.available  # now served from Redis
    # ...A books; B's very next answers show it (the version bump in Redis reached B).
    won = assert_created(book(a, user, booking_body(a, sched, n=2, seats=["7A", "7B"])))
    assert search_row(b, sched)["available_seats"] == sched.available - 2
    assert occupied(b, sched.sid) == ["7A", "7B"]
    # and a cancel through B is seen through A at once.
    number = won["booking_number"]
    assert_json(b.post(f"{BOOKINGS}/{number}/cancel", headers=user.auth), 200)
    assert search_row(a, sched)["available_seats"] == sched.available
    assert occupied(a, sched.sid) == []


# ============================================================================================
# fewer seats than passengers (the original front end's seat map picks one seat for N people)


def test_fewer_seats_than_passengers_seats_the_first_and_leaves_the_rest_unassigned(server):
    me = server.make_user()
    sched = fresh_schedule(server)
    out = assert_created(book(server, me, booking_body(server, sched, n=3, seats=["14C"])))
    rows = passenger_rows(server, out["booking_id"])
    assert [r["seat_number"] for r in rows] == ["14C", None, None]
    assert seat_rows(server, sched.sid) == {"14C": out["booking_id"]}
    assert available(server, sched.sid) == sched.available - 3
    assert occupied(server, sched.sid) == ["14C"]
    listed = assert_json(server.get(BOOKINGS, headers=me.auth), 200)["bookings"]
    assert [p["seat_number"] for p in listed[0]["passengers"]] == ["14C", None, None]


def test_more_seats_than_passengers_is_refused_and_changes_nothing(server):
    me = server.make_user()
    sched = fresh_schedule(server)
    before = snapshot(server, sched.sid)
    r = book(server, me, booking_body(server, sched, n=1, seats=["15A", "15B"]))
    body = assert_error(r, 400, "invalid_field")
    assert body["message"] == "seats: 좌석 수는 승객 수보다 많을 수 없습니다.", body
    assert snapshot(server, sched.sid) == before
