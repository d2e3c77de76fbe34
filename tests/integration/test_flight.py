"""Black-box tests of the flight service (/api/flights): search, airports, featured, promotions,
health, the search cache (in process and in Redis, TTL expiry) and Redis outages. Every test runs
against SQLite and MariaDB; bodies are checked exactly and cross-checked against the database.

Isolation: the module server's tests each search (route, date) pairs no other test of this module
searches, so a cached answer never leaks between tests; tests that need a cold or short-lived
cache, or control every discount in the database (featured, promotions), start their own servers.
Dates are relative to today in UTC, like the demo seed (schedules for today .. today+29)."""
from __future__ import annotations

import concurrent.futures
import datetime as dt
import json
import re
import os
import signal
import time

import pytest
import requests

import cj
from cj import today, day, hms, discounted
from cj import assert_error, assert_json

SEARCH = "/api/flights/search"
AIRPORTS = "/api/flights/airports"
FEATURED = "/api/flights/featured"
PROMOTIONS = "/api/flights/promotions"
HEALTH = "/api/flights/health"

MSG_MISSING = "출발지, 도착지, 날짜를 모두 입력해주세요."

SEARCH_KEYS = {
    "schedule_id", "flight_id", "airline", "departure_airport", "arrival_airport", "departure_time",
    "arrival_time", "duration", "aircraft", "original_price", "price", "available_seats", "date",
    "departure_name", "arrival_name", "discount_percentage", "has_discount",
    "flightId", "departureAirport", "arrivalAirport", "departureTime", "arrivalTime",
}
FEATURED_KEYS = SEARCH_KEYS | {"discounted_price", "flight_date"}
PROMOTION_KEYS = {
    "schedule_id", "flight_id", "airline", "departure_airport", "departure_name", "arrival_airport",
    "arrival_name", "departure_time", "arrival_time", "duration", "aircraft", "original_price",
    "available_seats", "flight_date", "discount_percentage", "discounted_price",
}

AIRPORT_ROWS = [  # code, name, city, country (the demo seed), time zone (migration 007)
    ("ICN", "인천국제공항", "서울", "대한민국", "Asia/Seoul"),
    ("GMP", "김포국제공항", "서울", "대한민국", "Asia/Seoul"),
    ("NRT", "나리타국제공항", "도쿄", "일본", "Asia/Tokyo"),
    ("KIX", "간사이국제공항", "오사카", "일본", "Asia/Tokyo"),
    ("BKK", "수완나품국제공항", "방콕", "태국", "Asia/Bangkok"),
    ("SYD", "킹스포드스미스공항", "시드니", "호주", "Australia/Sydney"),
    ("LAX", "로스앤젤레스국제공항", "로스앤젤레스", "미국", "America/Los_Angeles"),
    ("CDG", "샤를드골국제공항", "파리", "프랑스", "Europe/Paris"),
]
AIRPORT_NAME = {code: name for code, name, _city, _country, _zone in AIRPORT_ROWS}

# flight -> (departure, arrival, departure_time, arrival_time, duration, aircraft)
DEMO_FLIGHTS = {
    "CJ101": ("ICN", "NRT", "06:30:00", "09:15:00", "2시간 45분", "Boeing 737-800"),
    "CJ102": ("ICN", "NRT", "09:30:00", "12:15:00", "2시간 45분", "Airbus A320"),
    "CJ111": ("ICN", "KIX", "07:00:00", "09:30:00", "2시간 30분", "Boeing 737-800"),
    "CJ121": ("ICN", "BKK", "08:00:00", "12:30:00", "4시간 30분", "Boeing 787-9"),
    "CJ131": ("ICN", "SYD", "10:00:00", "22:30:00", "12시간 30분", "Airbus A330-300"),
    "CJ141": ("ICN", "LAX", "11:00:00", "06:30:00", "19시간 30분", "Boeing 777-300ER"),
    "CJ151": ("ICN", "CDG", "13:00:00", "18:30:00", "5시간 30분", "Airbus A350-900"),
}
ROUTE_FLIGHTS = {}
for _fid, (_dep, _arr, *_rest) in DEMO_FLIGHTS.items():
    ROUTE_FLIGHTS.setdefault((_dep, _arr), []).append(_fid)


# ============================================================================================
# helpers


def search(server, dep: str, arr: str, date: str, **kw) -> requests.Response:
    return server.get(SEARCH, params={"departure": dep, "arrival": arr, "date": date}, **kw)


def search_body(server, dep: str, arr: str, date: str) -> dict:
    return assert_json(search(server, dep, arr, date), 200)


def schedule_id(server, flight_id: str, date: str) -> int:
    return int(server.db_scalar("SELECT schedule_id FROM flight_schedules WHERE flight_id = ? AND flight_date = ?",
                                (flight_id, date)))


def set_schedule(server, flight_id: str, date: str, **cols) -> int:
    """UPDATEs columns of one schedule directly in the database; returns its schedule_id."""
    sid = schedule_id(server, flight_id, date)
    sets = ", ".join(f"{c} = ?" for c in cols)
    server.db_query(f"UPDATE flight_schedules SET {sets} WHERE schedule_id = ?", (*cols.values(), sid))
    return sid


def add_discount(server, sid: int, pct: int, status: str = "ACTIVE") -> None:
    server.db_query("INSERT INTO flight_discounts (schedule_id, discount_percentage, status) VALUES (?, ?, ?)",
                    (sid, pct, status))


_DB_ROWS_SQL = (
    "SELECT fs.schedule_id AS schedule_id, f.flight_id AS flight_id, f.airline AS airline, "
    "f.departure_airport AS departure_airport, f.arrival_airport AS arrival_airport, "
    "f.departure_time AS departure_time, f.arrival_time AS arrival_time, f.duration AS duration, "
    "f.aircraft AS aircraft, fs.current_price AS current_price, fs.available_seats AS available_seats, "
    "fs.flight_date AS flight_date, fs.status AS status, f.is_active AS is_active, "
    "da.airport_name AS departure_name, aa.airport_name AS arrival_name, da.time_zone AS departure_zone, "
    "(SELECT MAX(d.discount_percentage) FROM flight_discounts d "
    " WHERE d.schedule_id = fs.schedule_id AND d.status = 'ACTIVE') AS pct "
    "FROM flight_schedules fs "
    "JOIN flights f ON f.flight_id = fs.flight_id "
    "JOIN airports da ON da.airport_code = f.departure_airport "
    "JOIN airports aa ON aa.airport_code = f.arrival_airport ")


def _bookable(r: dict) -> bool:
    return r["status"] == "ACTIVE" and int(r["available_seats"]) > 0 and int(r["is_active"]) == 1


def _search_row(r: dict) -> dict:
    pct = None if r["pct"] is None else int(r["pct"])
    price = int(r["current_price"])
    return {
        "schedule_id": int(r["schedule_id"]),
        "flight_id": r["flight_id"],
        "airline": r["airline"],
        "departure_airport": r["departure_airport"],
        "arrival_airport": r["arrival_airport"],
        "departure_time": hms(r["departure_time"]),
        "arrival_time": hms(r["arrival_time"]),
        "duration": r["duration"],
        "aircraft": r["aircraft"],
        "original_price": price,
        "price": discounted(price, pct),
        "available_seats": int(r["available_seats"]),
        "date": cj.as_date_text(r["flight_date"]),
        "departure_name": r["departure_name"],
        "arrival_name": r["arrival_name"],
        "discount_percentage": pct,
        "has_discount": pct is not None,
        "flightId": r["flight_id"],
        "departureAirport": r["departure_airport"],
        "arrivalAirport": r["arrival_airport"],
        "departureTime": hms(r["departure_time"]),
        "arrivalTime": hms(r["arrival_time"]),
    }


def expected_search(server, dep: str, arr: str, date: str) -> dict:
    """The search body computed from the database (filtering and ordering done here, in Python)."""
    rows = server.db_query(_DB_ROWS_SQL + "WHERE f.departure_airport = ? AND f.arrival_airport = ? "
                           "AND fs.flight_date = ?", (dep, arr, date))
    flights = [_search_row(r) for r in rows if _bookable(r)]
    flights.sort(key=lambda f: (f["price"], f["departure_time"]))
    return {"flights": flights, "total": len(flights)}


def expected_discounted(server, now: dt.datetime, limit: int = 6) -> list[dict]:
    """The featured selection at `now` computed from the database, as search rows."""
    rows = server.db_query(_DB_ROWS_SQL)
    sel = [_search_row(r) for r in rows
           if _bookable(r) and r["pct"] is not None
           and cj.on_sale(r["flight_date"], r["departure_time"], r["departure_zone"], now)]
    sel.sort(key=lambda f: (-f["discount_percentage"], f["date"], f["departure_time"], f["schedule_id"]))
    return sel[:limit]


def featured_row(row: dict) -> dict:
    return {**row, "discounted_price": row["price"], "flight_date": row["date"]}


def promotion_row(row: dict) -> dict:
    out = {k: row[k] for k in PROMOTION_KEYS if k in row}
    out["flight_date"] = row["date"]
    out["discounted_price"] = row["price"]
    return out


def assert_search_row_types(row: dict) -> None:
    assert set(row) == SEARCH_KEYS, sorted(set(row) ^ SEARCH_KEYS)
    for k in ("schedule_id", "original_price", "price", "available_seats"):
        assert type(row[k]) is int, (k, row[k])
    for k in ("flight_id", "airline", "departure_airport", "arrival_airport", "departure_time", "arrival_time",
              "duration", "aircraft", "date", "departure_name", "arrival_name", "flightId",
              "departureAirport", "arrivalAirport", "departureTime", "arrivalTime"):
        assert type(row[k]) is str, (k, row[k])
    assert type(row["has_discount"]) is bool, row
    assert row["discount_percentage"] is None or type(row["discount_percentage"]) is int, row
    for k in ("departure_time", "arrival_time"):
        dt.time.fromisoformat(row[k])
        assert len(row[k]) == 8, row[k]
    assert dt.date.fromisoformat(row["date"]).isoformat() == row["date"]


def cache_lookups(server, cache: str, result: str) -> float:
    r = server.get("/metrics")
    assert r.status_code == 200, r.text[:300]
    return sum(value for name, labels, value in cj.parse_metrics(r.text)
               if name == "cloudjet_cache_lookups_total" and labels.get("cache") == cache
               and labels.get("result") == result)


def timed_search(server, dep: str, arr: str, date: str) -> tuple[dict, float]:
    t0 = time.monotonic()
    r = search(server, dep, arr, date)
    elapsed = time.monotonic() - t0
    return assert_json(r, 200), elapsed


# ============================================================================================
# health, airports


def test_health_names_flight_service_and_port_5002(server):
    assert assert_json(server.get(HEALTH), 200) == {"status": "healthy", "service": "flight-service", "port": 5002}


def test_airports_lists_the_eight_demo_airports_ordered_by_name(server):
    body = assert_json(server.get(AIRPORTS), 200)
    assert set(body) == {"airports"}
    for a in body["airports"]:
        assert set(a) == {"airport_code", "airport_name", "city", "country", "time_zone"}, a
        assert all(type(v) is str for v in a.values()), a
    expected = [{"airport_code": c, "airport_name": n, "city": city, "country": country, "time_zone": zone}
                for c, n, city, country, zone in sorted(AIRPORT_ROWS, key=lambda a: a[1])]
    assert body["airports"] == expected
    assert [a["airport_code"] for a in body["airports"]] == ["KIX", "GMP", "NRT", "LAX", "CDG", "BKK", "ICN", "SYD"]
    db = server.db_query("SELECT airport_code, airport_name, city, country, time_zone FROM airports")
    assert sorted(body["airports"], key=lambda a: a["airport_code"]) == sorted(db, key=lambda a: a["airport_code"])


@pytest.mark.parametrize("path", [SEARCH, AIRPORTS, FEATURED, PROMOTIONS])
def test_flight_endpoints_reject_post_with_405_json(server, path):
    assert_error(server.post(path, json={}), 405, "method_not_allowed")


# ============================================================================================
# search: rows and values


@pytest.mark.parametrize("dep, arr", sorted(ROUTE_FLIGHTS))
def test_search_returns_every_bookable_schedule_of_route_and_date_matching_database(server, dep, arr):
    # Far enough ahead that no flight of that date has left or is within its sales cut-off at any
    # time of day this runs (the time rules themselves: test_time.py); no other test searches it.
    date = day(18)
    body = search_body(server, dep, arr, date)
    assert set(body) == {"flights", "total"}
    assert type(body["total"]) is int and body["total"] == len(body["flights"])
    for row in body["flights"]:
        assert_search_row_types(row)
    assert body == expected_search(server, dep, arr, date)
    # the demo data, independently of the database
    assert sorted(f["flight_id"] for f in body["flights"]) == ROUTE_FLIGHTS[(dep, arr)]
    for f in body["flights"]:
        d_ap, a_ap, d_t, a_t, duration, aircraft = DEMO_FLIGHTS[f["flight_id"]]
        assert (f["departure_airport"], f["arrival_airport"], f["departure_time"], f["arrival_time"],
                f["duration"], f["aircraft"], f["airline"]) == (d_ap, a_ap, d_t, a_t, duration, aircraft, "CloudJet")
        assert (f["departure_name"], f["arrival_name"]) == (AIRPORT_NAME[d_ap], AIRPORT_NAME[a_ap])
        assert (f["flightId"], f["departureAirport"], f["arrivalAirport"], f["departureTime"], f["arrivalTime"]) == (
            f["flight_id"], f["departure_airport"], f["arrival_airport"], f["departure_time"], f["arrival_time"])
        assert f["date"] == date
        assert f["has_discount"] is False and f["discount_percentage"] is None
        assert f["price"] == f["original_price"]
        assert 150 <= f["available_seats"] <= 179
        base = int(server.db_scalar("SELECT base_price FROM flights WHERE flight_id = ?", (f["flight_id"],)))
        assert base * 0.8 - 100 <= f["original_price"] <= base * 1.2 + 100, (base, f)


def test_search_orders_by_price_then_departure_time(server):
    d_price, d_tie = day(2), day(3)
    set_schedule(server, "CJ101", d_price, current_price=310000)
    set_schedule(server, "CJ102", d_price, current_price=300000)
    body = search_body(server, "ICN", "NRT", d_price)
    assert [(f["flight_id"], f["price"]) for f in body["flights"]] == [("CJ102", 300000), ("CJ101", 310000)]
    assert body == expected_search(server, "ICN", "NRT", d_price)

    set_schedule(server, "CJ101", d_tie, current_price=300000)
    set_schedule(server, "CJ102", d_tie, current_price=300000)
    body = search_body(server, "ICN", "NRT", d_tie)
    assert [(f["flight_id"], f["price"]) for f in body["flights"]] == [("CJ101", 300000), ("CJ102", 300000)]
    assert body == expected_search(server, "ICN", "NRT", d_tie)


def test_search_active_discount_lowers_price_rounded_half_up_and_reorders(server):
    date = day(4)
    set_schedule(server, "CJ101", date, current_price=100000)
    sid = set_schedule(server, "CJ102", date, current_price=100050)
    add_discount(server, sid, 15)  # 100050 × 0.85 = 85042.5 → 85043 (floor and half-even give 85042)
    body = search_body(server, "ICN", "NRT", date)
    assert [f["flight_id"] for f in body["flights"]] == ["CJ102", "CJ101"]
    cheap, other = body["flights"]
    assert (cheap["original_price"], cheap["price"], cheap["has_discount"], cheap["discount_percentage"]) == (
        100050, 85043, True, 15)
    assert (other["original_price"], other["price"], other["has_discount"], other["discount_percentage"]) == (
        100000, 100000, False, None)
    assert body == expected_search(server, "ICN", "NRT", date)


def test_search_ties_on_discounted_price_break_by_departure_time(server):
    date = day(5)
    set_schedule(server, "CJ101", date, current_price=85043)
    sid = set_schedule(server, "CJ102", date, current_price=100050)
    add_discount(server, sid, 15)  # 85043 as well
    body = search_body(server, "ICN", "NRT", date)
    assert [(f["flight_id"], f["price"], f["has_discount"]) for f in body["flights"]] == [
        ("CJ101", 85043, False), ("CJ102", 85043, True)]
    assert body == expected_search(server, "ICN", "NRT", date)


@pytest.mark.parametrize("flight_id, price, pct, expected", [
    ("CJ111", 100050, 15, 85043),    # x.5 rounds up
    ("CJ121", 333333, 15, 283333),   # x.05 rounds down
    ("CJ131", 999999, 33, 669999),   # x.33 rounds down
    ("CJ141", 12345, 50, 6173),      # 6172.5 rounds up (half-even would give 6172)
    ("CJ151", 101, 1, 100),          # 99.99 rounds up (floor would give 99)
])
def test_search_discounted_price_is_integer_rounded_half_up(server, flight_id, price, pct, expected):
    date = day(6)
    dep, arr = DEMO_FLIGHTS[flight_id][:2]
    sid = set_schedule(server, flight_id, date, current_price=price)
    add_discount(server, sid, pct)
    body = search_body(server, dep, arr, date)
    assert body["total"] == 1
    row = body["flights"][0]
    assert_search_row_types(row)
    assert (row["schedule_id"], row["original_price"], row["price"], row["discount_percentage"], row["has_discount"]) == (
        sid, price, expected, pct, True)
    assert body == expected_search(server, dep, arr, date)


def test_search_ignores_inactive_and_expired_discounts(server):
    date = day(7)
    kix = set_schedule(server, "CJ111", date, current_price=350000)
    add_discount(server, kix, 30, "INACTIVE")
    add_discount(server, kix, 40, "EXPIRED")
    bkk = set_schedule(server, "CJ121", date, current_price=450000)
    add_discount(server, bkk, 10, "ACTIVE")
    add_discount(server, bkk, 50, "INACTIVE")

    row = search_body(server, "ICN", "KIX", date)["flights"][0]
    assert (row["price"], row["original_price"], row["has_discount"], row["discount_percentage"]) == (
        350000, 350000, False, None)
    row = search_body(server, "ICN", "BKK", date)["flights"][0]
    assert (row["price"], row["original_price"], row["has_discount"], row["discount_percentage"]) == (
        405000, 450000, True, 10)
    assert search_body(server, "ICN", "KIX", date) == expected_search(server, "ICN", "KIX", date)
    assert search_body(server, "ICN", "BKK", date) == expected_search(server, "ICN", "BKK", date)


def test_database_refuses_a_second_active_discount_on_one_schedule(server):
    # One ACTIVE discount per schedule is a database rule (migration 004), not only an API check:
    # even a direct insert cannot create the ambiguous state; an INACTIVE one may coexist.
    import sqlite3
    import pymysql
    date = day(7)
    sid = set_schedule(server, "CJ131", date, current_price=700000)
    add_discount(server, sid, 20)
    with pytest.raises((sqlite3.IntegrityError, pymysql.err.IntegrityError)):
        add_discount(server, sid, 35)
    server.db_query("INSERT INTO flight_discounts (schedule_id, discount_percentage, status) VALUES (?, ?, ?)",
                    (sid, 35, "INACTIVE"))
    body = search_body(server, "ICN", "SYD", date)
    assert body["total"] == 1 and len(body["flights"]) == 1, body
    row = body["flights"][0]
    assert (row["schedule_id"], row["discount_percentage"], row["price"]) == (sid, 20, 560000)
    assert body == expected_search(server, "ICN", "SYD", date)


def test_search_excludes_cancelled_schedules_and_keeps_last_seat(server):
    date = day(8)
    set_schedule(server, "CJ101", date, status="CANCELLED")
    sid = set_schedule(server, "CJ102", date, available_seats=1)
    body = search_body(server, "ICN", "NRT", date)
    assert [(f["schedule_id"], f["available_seats"]) for f in body["flights"]] == [(sid, 1)]
    assert body["total"] == 1
    assert body == expected_search(server, "ICN", "NRT", date)


def test_search_excludes_delayed_and_sold_out_schedules(server):
    date = day(9)
    set_schedule(server, "CJ101", date, status="DELAYED")
    set_schedule(server, "CJ102", date, available_seats=0)
    assert search_body(server, "ICN", "NRT", date) == {"flights": [], "total": 0}
    set_schedule(server, "CJ111", date, available_seats=0)
    assert search_body(server, "ICN", "KIX", date) == {"flights": [], "total": 0}


def test_search_excludes_schedules_of_inactive_flights(server):
    date = day(10)
    server.db_query("UPDATE flights SET is_active = 0 WHERE flight_id = ?", ("CJ102",))
    try:
        body = search_body(server, "ICN", "NRT", date)
    finally:
        server.db_query("UPDATE flights SET is_active = 1 WHERE flight_id = ?", ("CJ102",))
    assert [f["flight_id"] for f in body["flights"]] == ["CJ101"]
    assert body["total"] == 1
    row = expected_search(server, "ICN", "NRT", date)["flights"]
    assert body["flights"] == [r for r in row if r["flight_id"] == "CJ101"]


def test_search_airport_codes_are_case_insensitive_and_share_one_cache_entry(server):
    date = day(11)
    misses0 = cache_lookups(server, "memory", "miss")
    hits0 = cache_lookups(server, "memory", "hit")
    lower = search(server, "icn", "nrt", date)
    body = assert_json(lower, 200)
    assert body == expected_search(server, "ICN", "NRT", date)
    assert body["total"] == 2
    assert all((f["departure_airport"], f["arrival_airport"]) == ("ICN", "NRT") for f in body["flights"])
    for dep, arr in (("ICN", "NRT"), ("Icn", "nRt")):
        r = search(server, dep, arr, date)
        assert assert_json(r, 200) == body
        assert r.content == lower.content
    assert cache_lookups(server, "memory", "miss") == misses0 + 1
    assert cache_lookups(server, "memory", "hit") == hits0 + 2


@pytest.mark.parametrize("dep, arr, date", [
    ("ICN", "GMP", day(1)),                       # airports exist, no flight between them
    ("NRT", "ICN", day(1)),                       # the reverse of a served route
    ("ICN", "NRT", day(5 * 365)),                 # beyond the schedules
    ("ICN", "NRT", "2020-01-01"),                 # the past
    ("ICN", "NRT", "2024-02-29"),                 # a real leap day
    ("ZZZ", "QQQ", day(1)),                       # well-formed codes of unknown airports
])
def test_search_without_matching_schedules_is_200_empty_list(server, dep, arr, date):
    assert search_body(server, dep, arr, date) == {"flights": [], "total": 0}


def test_concurrent_cold_searches_all_get_the_same_correct_body(server):
    date = day(13)

    def one(_):
        return requests.get(server.url(SEARCH), params={"departure": "ICN", "arrival": "KIX", "date": date},
                            timeout=30)

    with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
        responses = list(pool.map(one, range(24)))
    expected = expected_search(server, "ICN", "KIX", date)
    for r in responses:
        assert assert_json(r, 200) == expected


# ============================================================================================
# search: errors


@pytest.mark.parametrize("params", [
    {},
    {"arrival": "NRT", "date": "2030-01-01"},
    {"departure": "ICN", "date": "2030-01-01"},
    {"departure": "ICN", "arrival": "NRT"},
    {"departure": "", "arrival": "NRT", "date": "2030-01-01"},
    {"departure": "ICN", "arrival": "", "date": "2030-01-01"},
    {"departure": "ICN", "arrival": "NRT", "date": ""},
    {"departure": "   ", "arrival": "NRT", "date": "2030-01-01"},
    {"departure": "ICN", "arrival": "\t", "date": "2030-01-01"},
    {"departure": "ICN", "arrival": "NRT", "date": "  "},
    {"departure": "", "arrival": "", "date": ""},
], ids=lambda p: ",".join(f"{k}={v!r}" for k, v in p.items()) or "none")
def test_search_missing_or_blank_parameter_is_400_missing_field(server, params):
    r = server.get(SEARCH, params=params)
    assert assert_json(r, 400) == {"message": MSG_MISSING, "error": "missing_field"}


@pytest.mark.parametrize("dep, arr", [
    ("IC", "NRT"), ("ICNN", "NRT"), ("1CN", "NRT"), ("I-N", "NRT"), ("인천", "NRT"),
    ("ICN", "NR"), ("ICN", "NRTT"), ("ICN", "N2T"), ("ICN", "나리타"),
])
def test_search_airport_code_not_three_letters_is_400_invalid_field(server, dep, arr):
    r = search(server, dep, arr, day(1))
    assert_error(r, 400, "invalid_field")
    assert cj.has_hangul(r.json()["message"]), r.json()


@pytest.mark.parametrize("date", [
    "2024-02-30", "2023-02-29", "2024-13-01", "2024-00-10", "2024-04-31", "2024-01-32", "2024-01-00",
    "2024-1-1", "24-01-01", "20240101", "2024/01/01", "2024-01-01T00:00:00", "garbage", "today",
    "2024-0a-01",
])
def test_search_date_not_a_real_calendar_date_is_400_invalid_field(server, date):
    r = search(server, "ICN", "NRT", date)
    assert_error(r, 400, "invalid_field")
    assert cj.has_hangul(r.json()["message"]), r.json()


def test_search_errors_are_english_with_accept_language_en(server):
    missing = assert_error(server.get(SEARCH, params={"departure": "ICN"}, headers={"Accept-Language": "en"}),
                           400, "missing_field")
    bad = assert_error(search(server, "ICN", "NRT", "2024-02-30", headers={"Accept-Language": "en"}),
                       400, "invalid_field")
    for body in (missing, bad):
        assert not cj.has_hangul(body["message"]), body


# ============================================================================================
# search cache (in process)


def test_search_is_cached_for_the_default_ttl_so_direct_db_changes_stay_invisible(server):
    date = day(12)
    first = search_body(server, "ICN", "NRT", date)
    hits0 = cache_lookups(server, "memory", "hit")
    set_schedule(server, "CJ101", date, available_seats=3, current_price=123400)
    set_schedule(server, "CJ102", date, status="CANCELLED")
    assert search_body(server, "ICN", "NRT", date) == first  # served from the cache (TTL 300 s)
    assert cache_lookups(server, "memory", "hit") == hits0 + 1
    assert expected_search(server, "ICN", "NRT", date) != first  # the database did change
    # another date of the same route is a different entry: it shows the database
    other = day(14)
    set_schedule(server, "CJ101", other, available_seats=4)
    body = search_body(server, "ICN", "NRT", other)
    assert body == expected_search(server, "ICN", "NRT", other)
    assert 4 in [f["available_seats"] for f in body["flights"]]


def test_search_cache_entry_expires_after_search_cache_ttl(server_factory):
    srv = server_factory(extra_env={"SEARCH_CACHE_TTL": "2"})
    date = day(3)
    misses0 = cache_lookups(srv, "memory", "miss")
    t0 = time.monotonic()
    first = search_body(srv, "ICN", "NRT", date)
    assert first == expected_search(srv, "ICN", "NRT", date)
    sid = set_schedule(srv, "CJ101", date, available_seats=42)
    set_schedule(srv, "CJ102", date, current_price=200000)
    add_discount(srv, schedule_id(srv, "CJ102", date), 25)
    assert search_body(srv, "ICN", "NRT", date) == first
    assert time.monotonic() - t0 < 2, "the cached check must run within the TTL"
    assert cache_lookups(srv, "memory", "miss") == misses0 + 1

    fresh = cj.wait_until(lambda: (b := search_body(srv, "ICN", "NRT", date)) != first and b, 8,
                          interval=0.1, what="the cached search to expire")
    assert time.monotonic() - t0 >= 1.9, "the entry expired before SEARCH_CACHE_TTL"
    assert fresh == expected_search(srv, "ICN", "NRT", date)
    assert (fresh["flights"][0]["flight_id"], fresh["flights"][0]["price"]) == ("CJ102", 150000)
    assert [f for f in fresh["flights"] if f["schedule_id"] == sid][0]["available_seats"] == 42
    assert cache_lookups(srv, "memory", "miss") >= misses0 + 2


# ============================================================================================
# featured and promotions (own servers: they list discounts of every route and date)


def test_featured_and_promotions_select_top_six_future_discounts_in_order(server_factory):
    # The server stands at 09:00 KST today (00:00 UTC): which of today's flights have left, or are
    # within their hour's cut-off, does not depend on when the test runs.
    now = dt.datetime.combine(today(), dt.time(0, 0), tzinfo=dt.timezone.utc)
    srv = server_factory(extra_env={"SEARCH_CACHE_TTL": "1", "CLOUDJET_FAKE_NOW": now.isoformat()})
    assert assert_json(srv.get(FEATURED), 200) == {"flights": [], "total": 0}
    assert assert_json(srv.get(PROMOTIONS), 200) == {"promotions": [], "total": 0}

    sids = {}

    def disc(name, flight_id, offset, pct):
        sids[name] = schedule_id(srv, flight_id, day(offset))
        add_discount(srv, sids[name], pct)

    # eligible, in the expected order: D, E, C, A, B, F (then G and H are cut by the limit)
    disc("D", "CJ151", 0, 50)   # today at 13:00 KST: on sale
    disc("E", "CJ131", 20, 40)
    disc("C", "CJ111", 1, 30)
    disc("A", "CJ101", 3, 30)
    disc("B", "CJ102", 3, 30)   # same discount and date as A, later departure
    disc("F", "CJ141", 2, 20)
    disc("G", "CJ151", 2, 10)
    disc("H", "CJ101", 5, 5)
    # not eligible despite bigger discounts
    add_discount(srv, schedule_id(srv, "CJ121", day(0)), 95)  # left at 08:00 KST
    add_discount(srv, schedule_id(srv, "CJ102", day(0)), 92)  # 09:30 KST: inside the 60-minute cut-off
    add_discount(srv, schedule_id(srv, "CJ131", day(0)), 91)  # 10:00 KST: exactly the cut-off away at start
    yesterday = day(-1)
    srv.db_query("INSERT INTO flight_schedules (flight_id, flight_date, current_price, available_seats, status) "
                 "VALUES (?, ?, ?, ?, ?)", ("CJ101", yesterday, 320000, 170, "ACTIVE"))
    add_discount(srv, schedule_id(srv, "CJ101", yesterday), 90)
    sid = set_schedule(srv, "CJ102", day(4), status="CANCELLED")
    add_discount(srv, sid, 85)
    sid = set_schedule(srv, "CJ111", day(4), available_seats=0)
    add_discount(srv, sid, 80)
    add_discount(srv, schedule_id(srv, "CJ121", day(4)), 75, "INACTIVE")
    add_discount(srv, schedule_id(srv, "CJ131", day(4)), 74, "EXPIRED")
    sid = set_schedule(srv, "CJ141", day(4), status="DELAYED")
    add_discount(srv, sid, 72)
    srv.db_query("INSERT INTO flights (flight_id, airline, departure_airport, arrival_airport, departure_time, "
                 "arrival_time, duration, aircraft, base_price, total_seats, is_active) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 ("CJ999", "CloudJet", "ICN", "GMP", "08:00:00", "09:00:00", "1시간 0분", "Boeing 737-800",
                  100000, 180, 0))
    srv.db_query("INSERT INTO flight_schedules (flight_id, flight_date, current_price, available_seats, status) "
                 "VALUES (?, ?, ?, ?, ?)", ("CJ999", day(2), 100000, 170, "ACTIVE"))
    add_discount(srv, schedule_id(srv, "CJ999", day(2)), 70)

    order = [sids[n] for n in "DECABF"]

    def featured_ready():
        b = assert_json(srv.get(FEATURED), 200)
        return b if b["total"] else None

    body = cj.wait_until(featured_ready, 6, what="the cached (empty) featured list to expire")
    assert set(body) == {"flights", "total"}
    assert [f["schedule_id"] for f in body["flights"]] == order
    assert body["total"] == 6
    for f in body["flights"]:
        assert set(f) == FEATURED_KEYS, sorted(set(f) ^ FEATURED_KEYS)
        assert_search_row_types({k: v for k, v in f.items() if k in SEARCH_KEYS})
        assert type(f["discounted_price"]) is int and type(f["flight_date"]) is str
        assert f["has_discount"] is True
        assert f["price"] == f["discounted_price"] < f["original_price"]
        assert f["flight_date"] == f["date"] >= today().isoformat()
    expected = expected_discounted(srv, now)
    assert [e["schedule_id"] for e in expected] == order
    assert body == {"flights": [featured_row(e) for e in expected], "total": 6}
    assert [f["discount_percentage"] for f in body["flights"]] == [50, 40, 30, 30, 30, 20]

    promo = assert_json(srv.get(PROMOTIONS), 200)
    assert set(promo) == {"promotions", "total"}
    for p in promo["promotions"]:
        assert set(p) == PROMOTION_KEYS, sorted(set(p) ^ PROMOTION_KEYS)
        for k in ("schedule_id", "original_price", "available_seats", "discount_percentage", "discounted_price"):
            assert type(p[k]) is int, (k, p)
    assert promo == {"promotions": [promotion_row(e) for e in expected], "total": 6}


# ============================================================================================
# Redis: shared cache, TTL, outages


def flushed(redis_server):
    """The shared Redis, running (an earlier test may have failed to restart it) and empty."""
    if not redis_server.running:
        redis_server.start()
    redis_server.command("FLUSHALL")
    return redis_server


def _redis_keys_with_ttl(redis_server) -> dict[str, int]:
    keys = redis_server.command("KEYS", "*") or []
    return {k: int(redis_server.command("TTL", k)) for k in keys}


@pytest.mark.parametrize("backend_name", ["sqlite", "mariadb"])
def test_search_is_cached_in_redis_for_search_cache_ttl(make_server, redis_server, backend_name):
    srv = make_server(backend_name, redis=flushed(redis_server), extra_env={"SEARCH_CACHE_TTL": "2"})
    date = day(2)
    miss0, hit0 = cache_lookups(srv, "redis", "miss"), cache_lookups(srv, "redis", "hit")
    t0 = time.monotonic()
    first = search_body(srv, "ICN", "NRT", date)
    assert first == expected_search(srv, "ICN", "NRT", date)
    ttls = _redis_keys_with_ttl(redis_server)
    stored = [t for t in ttls.values() if t >= 0]
    assert stored and all(0 < t <= 2 for t in stored), ttls
    set_schedule(srv, "CJ101", date, available_seats=17)
    assert search_body(srv, "ICN", "NRT", date) == first
    assert time.monotonic() - t0 < 2, "the cached check must run within the TTL"
    assert cache_lookups(srv, "redis", "miss") == miss0 + 1
    assert cache_lookups(srv, "redis", "hit") == hit0 + 1
    assert cache_lookups(srv, "memory", "hit") == 0 and cache_lookups(srv, "memory", "miss") == 0

    fresh = cj.wait_until(lambda: (b := search_body(srv, "ICN", "NRT", date)) != first and b, 8,
                          what="the redis entry to expire")
    assert time.monotonic() - t0 >= 1.9
    assert fresh == expected_search(srv, "ICN", "NRT", date)
    assert 17 in [f["available_seats"] for f in fresh["flights"]]


def redis_commands(redis_server) -> dict[str, int]:
    """calls per command as Redis counts them (INFO commandstats)."""
    info = redis_server.command("INFO", "commandstats")
    info = info.decode() if isinstance(info, bytes) else info
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"cmdstat_(\w+):calls=(\d+)", info)}


@pytest.mark.parametrize("backend_name", ["sqlite", "mariadb"])
def test_cached_search_uses_evalsha_and_recovers_after_script_flush(make_server, redis_server, backend_name):
    """Lookups run the loaded script by its SHA-1 (EVALSHA, not the script text each time); after
    SCRIPT FLUSH (what a Redis restart does) the next lookup falls back to EVAL, answers the same
    body, and lookups go back to EVALSHA."""
    srv = make_server(backend_name, redis=flushed(redis_server))
    date = day(4)
    redis_server.command("CONFIG", "RESETSTAT")
    first = search_body(srv, "ICN", "NRT", date)
    assert first == expected_search(srv, "ICN", "NRT", date)
    hit0 = cache_lookups(srv, "redis", "hit")
    for _ in range(5):
        assert search_body(srv, "ICN", "NRT", date) == first
    assert cache_lookups(srv, "redis", "hit") == hit0 + 5
    calls = redis_commands(redis_server)
    # The first lookup of a fresh Redis: EVALSHA → NOSCRIPT → one EVAL; then EVALSHA only.
    assert calls.get("evalsha", 0) >= 6 and calls.get("eval", 0) <= 1, calls

    assert redis_server.command("SCRIPT", "FLUSH") in ("OK", b"OK")
    redis_server.command("CONFIG", "RESETSTAT")
    for _ in range(3):
        assert search_body(srv, "ICN", "NRT", date) == first
    assert cache_lookups(srv, "redis", "hit") == hit0 + 8, "a flushed script must not turn hits into misses"
    calls = redis_commands(redis_server)
    assert calls.get("eval", 0) == 1 and calls.get("evalsha", 0) == 3, calls


@pytest.mark.parametrize("backend_name, outage", [("mariadb", "kill"), ("mariadb", "freeze"), ("sqlite", "stop")])
def test_search_survives_redis_outage_and_caching_resumes_after_restart(make_server, redis_server,
                                                                         backend_name, outage):
    srv = make_server(backend_name, redis=flushed(redis_server))
    d1, d2, d3 = day(15), day(16), day(17)
    first = search_body(srv, "ICN", "NRT", d1)
    assert first == expected_search(srv, "ICN", "NRT", d1)
    hit0 = cache_lookups(srv, "redis", "hit")
    assert search_body(srv, "ICN", "NRT", d1) == first
    assert cache_lookups(srv, "redis", "hit") == hit0 + 1

    pid = redis_server.proc.pid
    try:
        if outage == "kill":
            redis_server.kill()
        elif outage == "stop":
            redis_server.stop()
        else:
            os.kill(pid, signal.SIGSTOP)  # accepts connections, never answers: the timeouts matter

        # the database answers, within a second each, with what it holds now
        set_schedule(srv, "CJ101", d1, available_seats=11)
        for _ in range(3):
            body, elapsed = timed_search(srv, "ICN", "NRT", d1)
            assert elapsed < 1.0, f"search took {elapsed:.2f}s with redis down"
            assert body == expected_search(srv, "ICN", "NRT", d1)
            assert 11 in [f["available_seats"] for f in body["flights"]]
        for dep, arr, date in (("ICN", "KIX", d2), ("ICN", "LAX", d2)):
            body, elapsed = timed_search(srv, dep, arr, date)
            assert elapsed < 1.0, f"search took {elapsed:.2f}s with redis down"
            assert body == expected_search(srv, dep, arr, date)
        # nothing is cached meanwhile: a further change shows at once
        set_schedule(srv, "CJ101", d1, available_seats=12)
        time.sleep(1.1)  # past the client's one-reconnect-attempt-per-second window
        body, elapsed = timed_search(srv, "ICN", "NRT", d1)
        assert elapsed < 1.0
        assert 12 in [f["available_seats"] for f in body["flights"]]
        for path, key in ((AIRPORTS, "airports"), (FEATURED, "flights"), (PROMOTIONS, "promotions")):
            t0 = time.monotonic()
            assert key in assert_json(srv.get(path), 200)
            assert time.monotonic() - t0 < 1.0, path
        assert_json(srv.get(HEALTH), 200)
    finally:
        if outage == "freeze":
            os.kill(pid, signal.SIGCONT)
        else:
            redis_server.start()

    # caching resumes: a search is answered from redis again
    def redis_hit():
        before = cache_lookups(srv, "redis", "hit")
        search_body(srv, "ICN", "NRT", d3)
        search_body(srv, "ICN", "NRT", d3)
        return cache_lookups(srv, "redis", "hit") > before

    cj.wait_until(redis_hit, 10, interval=0.2, what="redis caching to resume")
    cached = search_body(srv, "ICN", "NRT", d3)
    assert cached == expected_search(srv, "ICN", "NRT", d3)
    set_schedule(srv, "CJ102", d3, available_seats=5)
    assert search_body(srv, "ICN", "NRT", d3) == cached  # cached in redis again
    warnings = [json.loads(line) for line in srv.log_text().splitlines() if line.startswith("{")]
    assert any(w.get("level") == "warn" and "redis" in w.get("msg", "").lower() for w in warnings), \
        "the redis outage was not logged as a warning"
