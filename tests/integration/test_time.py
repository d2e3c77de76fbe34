"""Time rules, black-box, at chosen instants (issue 12): airport-local departures, the sales
cut-off, departed flights (booking, cancel, admin listing), a Sydney departure on both sides of its
DST changes, cached lists that must not outlive the sales of what they list, and the job that
marks bookings of departed flights COMPLETED on two server processes at once.

Every server here stands at a fixed instant: CLOUDJET_FAKE_NOW (refused in production) starts
the service clock there and it runs on in real time. A later instant means a restart with another
CLOUDJET_FAKE_NOW on the same database. The demo seed (which uses that clock) gives the ICN
flights a schedule for each day from the fake UTC date on: CJ101 ICN→NRT 06:30, CJ102 ICN→NRT
09:30, CJ111 ICN→KIX 07:00, CJ121 ICN→BKK 08:00, CJ131 ICN→SYD 10:00, CJ141 ICN→LAX 11:00, CJ151
ICN→CDG 13:00 (Seoul time). Every test runs on SQLite and MariaDB, checking bodies and rows."""
from __future__ import annotations

import datetime as dt
import json
import time
import uuid


import cj
from cj import assert_error, assert_json
from conftest import MODULE_SERVER_ENV

SEARCH = "/api/flights/search"
FEATURED = "/api/flights/featured"
PROMOTIONS = "/api/flights/promotions"
BOOKINGS = "/api/bookings"
ADMIN = "/api/admin"

KST_0030 = "2026-12-02T00:30:00+09:00"   # 2026-12-01 15:30 UTC: the UTC date is still yesterday
KST_2350 = "2026-12-02T23:50:00+09:00"   # 2026-12-02 14:50 UTC: every flight of the KST day has left

MSG_DEPARTED = "이미 출발한 항공편입니다."
MSG_NOT_CANCELLABLE = "이미 출발한 항공편의 예약은 취소할 수 없습니다."
MSG_CREATED = "예약이 성공적으로 생성되었습니다."


def sales_closed_message(minutes: int = 60) -> str:
    return f"출발 {minutes}분 전부터는 예약할 수 없습니다. (판매 마감)"


def instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(dt.timezone.utc)


# ---------------------------------------------------------------------------------------------
# helpers


def start(make_server, backend, fake_now: str, redis=None, **env) -> cj.Server:
    return make_server(backend, redis=redis,
                       extra_env={**MODULE_SERVER_ENV, "CLOUDJET_FAKE_NOW": fake_now, **env})


def move_to(srv: cj.Server, fake_now: str, **env) -> cj.Server:
    """Restarts `srv` on the same database at another instant."""
    srv.env.update({"CLOUDJET_FAKE_NOW": fake_now, **{k: str(v) for k, v in env.items()}})
    return srv.restart()


def schedule(srv, flight_id: str, date: str) -> dict:
    rows = srv.db_query(
        "SELECT fs.schedule_id AS sid, fs.available_seats AS available, fs.current_price AS price, "
        "(SELECT MAX(d.discount_percentage) FROM flight_discounts d WHERE d.schedule_id = fs.schedule_id "
        "AND d.status = 'ACTIVE') AS pct FROM flight_schedules fs WHERE fs.flight_id = ? AND fs.flight_date = ?",
        (flight_id, date))
    assert len(rows) == 1, (flight_id, date, rows)
    r = rows[0]
    return {"sid": int(r["sid"]), "available": int(r["available"]),
            "unit": cj.discounted(int(r["price"]), None if r["pct"] is None else int(r["pct"]))}


def search(srv, dep: str, arr: str, date: str) -> dict:
    body = assert_json(srv.get(SEARCH, params={"departure": dep, "arrival": arr, "date": date}), 200)
    assert set(body) == {"flights", "total"} and body["total"] == len(body["flights"]), body
    return body


def listed(srv, dep: str, arr: str, date: str) -> list[tuple[str, int]]:
    return sorted((f["flight_id"], f["schedule_id"]) for f in search(srv, dep, arr, date)["flights"])


def book(srv, user: cj.User, sched: dict, seat: str | None = None, lang: str | None = None):
    body = {"scheduleId": sched["sid"],
            "passengers": [{"name": "홍길동", "nameEn": "HONG GILDONG", "birth": "1990-01-01", "gender": "M"}],
            "contactInfo": {"email": "contact@example.com", "phone": "010-1234-5678"},
            "paymentMethod": "CARD", "totalAmount": sched["unit"]}
    if seat:
        body["seats"] = [seat]
    headers = dict(user.auth)
    if lang:
        headers["Accept-Language"] = lang
    return srv.post(BOOKINGS, json=body, headers=headers)


def booked(srv, user, sched, seat=None) -> dict:
    body = assert_json(book(srv, user, sched, seat), 201)
    assert body["message"] == MSG_CREATED and body["success"] is True, body
    return body


def writes(srv, sid: int) -> dict:
    """What a refused booking or cancel must leave exactly as it was."""
    return {
        "bookings": srv.db_query("SELECT booking_id, status FROM bookings ORDER BY booking_id"),
        "passengers": int(srv.db_scalar("SELECT COUNT(*) AS n FROM passengers")),
        "seats": srv.db_query("SELECT schedule_id, seat_number, booking_id FROM seat_assignments "
                              "ORDER BY schedule_id, seat_number"),
        "available": int(srv.db_scalar("SELECT available_seats AS n FROM flight_schedules WHERE schedule_id = ?",
                                       (sid,))),
        "audit": int(srv.db_scalar("SELECT COUNT(*) AS n FROM admin_audit")),
    }


def status_of(srv, booking_id: int) -> str:
    return srv.db_scalar("SELECT status FROM bookings WHERE booking_id = ?", (booking_id,))


def admin_auth(srv) -> dict:
    return {"Authorization": f"Bearer {srv.admin_token()}"}


def new_fid() -> str:
    return "T" + uuid.uuid4().hex[:6].upper()


def add_flight(srv, admin: dict, dep: str, arr: str, departs: str, dates: list[str], price: int = 100000) -> str:
    """A flight of our own (admin API) with a schedule on each date; returns its id."""
    fid = new_fid()
    flight = {"flight_id": fid, "departure_airport": dep, "arrival_airport": arr, "departure_time": departs,
              "arrival_time": "23:59", "aircraft": "Airbus A321neo", "base_price": price}
    for d in dates:
        r = srv.post(f"{ADMIN}/flights-with-schedules", headers=admin,
                     json={"flight": flight, "schedule": {"mode": "single", "date": d}})
        assert_json(r, 201)
    return fid


def discount(srv, admin: dict, sid: int, pct: int) -> None:
    assert_json(srv.post(f"{ADMIN}/discounts", headers=admin,
                         json={"schedule_id": sid, "discount_percentage": pct}), 201)


def admin_schedule_ids(srv, admin: dict) -> set[int]:
    body = assert_json(srv.get(f"{ADMIN}/schedules", headers=admin), 200)
    return {s["schedule_id"] for s in body["schedules"]}


def my_bookings(srv, user) -> dict[int, dict]:
    body = assert_json(srv.get(BOOKINGS, headers=user.auth), 200)
    return {b["booking_id"]: b for b in body["bookings"]}


def cancel(srv, user, number: str, lang: str | None = None):
    headers = dict(user.auth)
    if lang:
        headers["Accept-Language"] = lang
    return srv.post(f"{BOOKINGS}/{number}/cancel", headers=headers)


def admin_cancel(srv, admin: dict, number: str):
    return srv.put(f"{ADMIN}/bookings/{number}/cancel", headers=admin)


# ---------------------------------------------------------------------------------------------
# a day in Seoul is not a day in UTC


def test_at_0030_kst_the_days_flights_are_sold_and_yesterdays_have_left(make_server, backend):
    srv = start(make_server, backend, KST_0030)
    user = srv.make_user()
    today_0630, today_0930 = schedule(srv, "CJ101", "2026-12-02"), schedule(srv, "CJ102", "2026-12-02")
    yday_0630, yday_0930 = schedule(srv, "CJ101", "2026-12-01"), schedule(srv, "CJ102", "2026-12-01")

    # 2026-12-02 in Seoul: both morning flights are hours away, on sale.
    assert listed(srv, "ICN", "NRT", "2026-12-02") == [("CJ101", today_0630["sid"]), ("CJ102", today_0930["sid"])]
    # 2026-12-01 is still "today" in UTC, its schedules are ACTIVE with seats, but they left yesterday
    # morning Seoul time: nothing to sell.
    assert yday_0930["available"] > 0
    assert search(srv, "ICN", "NRT", "2026-12-01") == {"flights": [], "total": 0}

    won = booked(srv, user, today_0630, "3C")
    row = srv.db_query("SELECT status, schedule_id, created_at FROM bookings WHERE booking_id = ?",
                       (won["booking_id"],))[0]
    assert (row["status"], int(row["schedule_id"])) == ("CONFIRMED", today_0630["sid"])
    # Row timestamps come from the service clock, in UTC; the API adds the Z.
    assert cj.ts_text(row["created_at"]).startswith("2026-12-01T15:30"), row
    assert int(srv.db_scalar("SELECT available_seats AS n FROM flight_schedules WHERE schedule_id = ?",
                             (today_0630["sid"],))) == today_0630["available"] - 1
    entry = my_bookings(srv, user)[won["booking_id"]]
    assert entry["created_at"] == cj.ts_text(row["created_at"]) and entry["created_at"].endswith("Z"), entry
    assert (entry["status"], entry["flight_date"], entry["departure_time"]) == ("CONFIRMED", "2026-12-02", "06:30:00")

    for sched in (yday_0630, yday_0930):
        before = writes(srv, sched["sid"])
        assert_error(book(srv, user, sched), 409, "departed", MSG_DEPARTED)
        assert writes(srv, sched["sid"]) == before
    body = assert_error(book(srv, user, yday_0930, lang="en"), 409, "departed")
    assert body["message"] == "This flight has already departed.", body


def test_at_2350_kst_every_flight_of_the_day_has_left_and_tomorrows_are_sold(make_server, backend):
    srv = start(make_server, backend, KST_2350)
    user = srv.make_user()
    admin = admin_auth(srv)
    # Same UTC date (2026-12-02) as the KST date, yet all of that day's Seoul departures are past.
    for fid in ("CJ101", "CJ111", "CJ151"):
        assert schedule(srv, fid, "2026-12-02")["available"] > 0
    assert search(srv, "ICN", "NRT", "2026-12-02") == {"flights": [], "total": 0}
    assert search(srv, "ICN", "CDG", "2026-12-02") == {"flights": [], "total": 0}
    late = schedule(srv, "CJ151", "2026-12-02")  # 13:00 KST, ten hours ago
    before = writes(srv, late["sid"])
    assert_error(book(srv, user, late), 409, "departed", MSG_DEPARTED)
    assert writes(srv, late["sid"]) == before

    tomorrow = schedule(srv, "CJ101", "2026-12-03")
    assert listed(srv, "ICN", "NRT", "2026-12-03") == [("CJ101", tomorrow["sid"]),
                                                        ("CJ102", schedule(srv, "CJ102", "2026-12-03")["sid"])]
    won = booked(srv, user, tomorrow)
    assert status_of(srv, won["booking_id"]) == "CONFIRMED"

    # The cut-off reaches over midnight: 00:40 tomorrow is 50 minutes away.
    fid = add_flight(srv, admin, "ICN", "GMP", "00:40", ["2026-12-03"])
    just_after_midnight = schedule(srv, fid, "2026-12-03")
    assert search(srv, "ICN", "GMP", "2026-12-03") == {"flights": [], "total": 0}
    before = writes(srv, just_after_midnight["sid"])
    assert_error(book(srv, user, just_after_midnight), 409, "sales_closed", sales_closed_message())
    assert writes(srv, just_after_midnight["sid"]) == before
    # An admin still sees it (it has not left); not the day's departed ones.
    ids = admin_schedule_ids(srv, admin)
    assert just_after_midnight["sid"] in ids and tomorrow["sid"] in ids
    assert late["sid"] not in ids and schedule(srv, "CJ101", "2026-12-02")["sid"] not in ids


# ---------------------------------------------------------------------------------------------
# the sales cut-off


def test_a_flight_leaving_in_30_minutes_is_off_sale_everywhere(make_server, backend):
    srv = start(make_server, backend, KST_0030)
    user = srv.make_user()
    admin = admin_auth(srv)
    soon_fid = add_flight(srv, admin, "ICN", "GMP", "01:00", ["2026-12-02"])    # in 30 minutes
    later_fid = add_flight(srv, admin, "ICN", "GMP", "01:45", ["2026-12-02"])   # in 75 minutes
    soon, later = schedule(srv, soon_fid, "2026-12-02"), schedule(srv, later_fid, "2026-12-02")
    discount(srv, admin, soon["sid"], 40)
    discount(srv, admin, later["sid"], 30)
    soon, later = schedule(srv, soon_fid, "2026-12-02"), schedule(srv, later_fid, "2026-12-02")

    assert listed(srv, "ICN", "GMP", "2026-12-02") == [(later_fid, later["sid"])]
    featured = assert_json(srv.get(FEATURED), 200)
    assert [f["schedule_id"] for f in featured["flights"]] == [later["sid"]], featured
    assert featured["total"] == 1 and featured["flights"][0]["discount_percentage"] == 30
    promotions = assert_json(srv.get(PROMOTIONS), 200)
    assert [p["schedule_id"] for p in promotions["promotions"]] == [later["sid"]], promotions

    before = writes(srv, soon["sid"])
    assert_error(book(srv, user, soon), 409, "sales_closed", sales_closed_message())
    body = assert_error(book(srv, user, soon, lang="en"), 409, "sales_closed")
    assert body["message"] == "Sales for this flight closed 60 minutes before departure.", body
    assert writes(srv, soon["sid"]) == before
    won = booked(srv, user, later)
    assert status_of(srv, won["booking_id"]) == "CONFIRMED"
    # The admin's "future" is "not departed": both are listed.
    assert {soon["sid"], later["sid"]} <= admin_schedule_ids(srv, admin)

    # A 20-minute cut-off (SALES_CUTOFF_MINUTES) puts the 01:00 flight back on sale.
    move_to(srv, KST_0030, SALES_CUTOFF_MINUTES=20)
    assert listed(srv, "ICN", "GMP", "2026-12-02") == sorted([(soon_fid, soon["sid"]), (later_fid, later["sid"])])
    assert status_of(srv, booked(srv, user, soon)["booking_id"]) == "CONFIRMED"


def test_cached_lists_never_outlive_the_sales_of_a_listed_schedule(make_server, backend, redis_server):
    """Search and featured answers are cached for SEARCH_CACHE_TTL (300 s); an entry holding a
    schedule whose sales close sooner must be gone by then. SQLite is tried with the in-process
    cache, MariaDB with Redis (the shared cache, where a stale entry would reach every replica)."""
    redis = None
    if backend == "mariadb":
        if not redis_server.running:
            redis_server.start()
        redis_server.command("FLUSHALL")
        redis = redis_server
    # Sales of the 01:45 flight close at 00:45:00, 20 s after the server's clock starts.
    srv = start(make_server, backend, "2026-12-02T00:44:40+09:00", redis=redis)
    started = time.monotonic()
    admin = admin_auth(srv)
    fid = add_flight(srv, admin, "ICN", "GMP", "01:45", ["2026-12-02"])
    sched = schedule(srv, fid, "2026-12-02")
    discount(srv, admin, sched["sid"], 25)
    kind = "redis" if redis else "memory"

    def lookups(result):
        return sum(v for name, labels, v in cj.parse_metrics(srv.get("/metrics").text)
                   if name == "cloudjet_cache_lookups_total" and labels.get("cache") == kind
                   and labels.get("result") == result)

    assert listed(srv, "ICN", "GMP", "2026-12-02") == [(fid, sched["sid"])]
    assert [f["schedule_id"] for f in assert_json(srv.get(FEATURED), 200)["flights"]] == [sched["sid"]]
    hits = lookups("hit")
    assert listed(srv, "ICN", "GMP", "2026-12-02") == [(fid, sched["sid"])]
    assert [f["schedule_id"] for f in assert_json(srv.get(FEATURED), 200)["flights"]] == [sched["sid"]]
    assert lookups("hit") >= hits + 2, "the second answers must come from the cache"
    if redis:
        ttls = {k: int(redis.command("TTL", k)) for k in (redis.command("KEYS", "cloudjet:c:*") or [])
                if "search:ICN:GMP:2026-12-02" in k or "featured" in k}
        left = 20 - (time.monotonic() - started)
        assert ttls and all(0 < t <= left + 1 for t in ttls.values()), (ttls, left)

    # Sales close at 00:45:00 on the server's clock, ~20 s after it started: the cached answers go
    # then (not 300 s later).
    cj.wait_until(lambda: search(srv, "ICN", "GMP", "2026-12-02")["total"] == 0, 30, interval=0.2,
                  what="the cached search to drop the schedule whose sales closed")
    assert time.monotonic() - started >= 15, "dropped before its sales closed"
    assert assert_json(srv.get(FEATURED), 200) == {"flights": [], "total": 0}
    assert assert_json(srv.get(PROMOTIONS), 200) == {"promotions": [], "total": 0}
    assert_error(book(srv, srv.make_user(), sched), 409, "sales_closed")


# ---------------------------------------------------------------------------------------------
# departed flights: booking, cancel, admin listing, COMPLETED


def test_departed_flights_cannot_be_booked_or_cancelled_and_complete_later(make_server, backend):
    srv = start(make_server, backend, KST_0030, BOOKING_COMPLETE_INTERVAL_SECONDS="0")
    user = srv.make_user()
    at_0630, at_0930 = schedule(srv, "CJ101", "2026-12-02"), schedule(srv, "CJ102", "2026-12-02")
    next_day = schedule(srv, "CJ101", "2026-12-03")
    a = booked(srv, user, at_0630, "1A")
    b = booked(srv, user, at_0630, "1B")
    c = booked(srv, user, at_0930, "2A")
    d = booked(srv, user, next_day, "3A")

    # 09:00 KST: CJ101 (06:30) has left, CJ102 (09:30) is inside its cut-off. No completion job yet.
    move_to(srv, "2026-12-02T09:00:00+09:00")
    admin = admin_auth(srv)
    before = writes(srv, at_0630["sid"])
    assert_error(cancel(srv, user, a["booking_number"]), 409, "not_cancellable", MSG_NOT_CANCELLABLE)
    body = assert_error(cancel(srv, user, a["booking_number"], lang="en"), 409, "not_cancellable")
    assert body["message"] == "A booking for a flight that has departed cannot be cancelled.", body
    assert_error(admin_cancel(srv, admin, b["booking_number"]), 409, "not_cancellable", MSG_NOT_CANCELLABLE)
    after = writes(srv, at_0630["sid"])
    assert after == before, "a refused cancel changes nothing (no seats back, no audit row)"
    assert [status_of(srv, x["booking_id"]) for x in (a, b)] == ["CONFIRMED", "CONFIRMED"]
    assert {"1A", "1B"} <= {r["seat_number"] for r in after["seats"] if int(r["schedule_id"]) == at_0630["sid"]}

    assert_error(book(srv, user, at_0630), 409, "departed", MSG_DEPARTED)
    assert_error(book(srv, user, at_0930), 409, "sales_closed", sales_closed_message())
    assert search(srv, "ICN", "NRT", "2026-12-02") == {"flights": [], "total": 0}
    ids = admin_schedule_ids(srv, admin)
    assert at_0630["sid"] not in ids, "the admin's future listing excludes a departed schedule"
    assert at_0930["sid"] in ids and next_day["sid"] in ids
    # Until it departs a booking can be cancelled, even inside the sales cut-off.
    assert_json(cancel(srv, user, c["booking_number"]), 200)
    assert status_of(srv, c["booking_id"]) == "CANCELLED"
    assert int(srv.db_scalar("SELECT available_seats AS n FROM flight_schedules WHERE schedule_id = ?",
                             (at_0930["sid"],))) == at_0930["available"]

    # 10:00 KST with the job on: the departed flight's bookings become COMPLETED, nothing else.
    move_to(srv, "2026-12-02T10:00:00+09:00", BOOKING_COMPLETE_INTERVAL_SECONDS=1)
    cj.wait_until(lambda: status_of(srv, b["booking_id"]) == "COMPLETED", 10, what="the completion job")
    assert [status_of(srv, x["booking_id"]) for x in (a, b, c, d)] == ["COMPLETED", "COMPLETED", "CANCELLED",
                                                                         "CONFIRMED"]
    assert cj.metric_value(srv, "cloudjet_bookings_completed_total") == 2
    user.token = srv.login(user.email, user.password)
    mine = my_bookings(srv, user)
    assert [mine[x["booking_id"]]["status"] for x in (a, b, c, d)] == ["COMPLETED", "COMPLETED", "CANCELLED",
                                                                        "CONFIRMED"]
    admin = admin_auth(srv)
    listing = {x["booking_id"]: x["status"] for x in
               assert_json(srv.get(f"{ADMIN}/bookings", headers=admin), 200)["bookings"]}
    assert listing[a["booking_id"]] == "COMPLETED"
    before = writes(srv, at_0630["sid"])
    assert_error(cancel(srv, user, a["booking_number"]), 409, "not_cancellable", MSG_NOT_CANCELLABLE)
    assert_error(admin_cancel(srv, admin, b["booking_number"]), 409, "not_cancellable", MSG_NOT_CANCELLABLE)
    assert writes(srv, at_0630["sid"]) == before


def test_completion_job_on_two_processes_completes_each_booking_once(make_server, backend):
    # Bookings made on 2026-11-20 (KST) for flights of 11-20 .. 11-25 (departed at the later instant)
    # and of 11-27 (not yet), one of them cancelled.
    setup = start(make_server, backend, "2026-11-20T00:10:00+09:00", BOOKING_COMPLETE_INTERVAL_SECONDS="0")
    users = [setup.make_user() for _ in range(3)]
    departed, future = [], []
    dates = [f"2026-11-{d}" for d in range(20, 26)]
    for i, (flight_id, date) in enumerate((f, d) for d in dates for f in ("CJ101", "CJ111", "CJ121", "CJ151")):
        sched = schedule(setup, flight_id, date)
        departed.append(booked(setup, users[i % 3], sched)["booking_id"])
        if i % 5 == 0:
            departed.append(booked(setup, users[(i + 1) % 3], sched)["booking_id"])
    for flight_id in ("CJ101", "CJ102"):
        future.append(booked(setup, users[0], schedule(setup, flight_id, "2026-11-27"))["booking_id"])
    last = booked(setup, users[1], schedule(setup, "CJ131", "2026-11-25"))
    assert_json(cancel(setup, users[1], last["booking_number"]), 200)
    setup.stop()

    # Two processes on one database, started together at 2026-11-26 12:00 KST, the job every second.
    later = {"CLOUDJET_FAKE_NOW": "2026-11-26T12:00:00+09:00", "BOOKING_COMPLETE_INTERVAL_SECONDS": "1"}
    setup.env.update(later)
    other = cj.replica_of(make_server, setup, {**MODULE_SERVER_ENV, **later}, start=False)
    cj.start_together(setup, other)

    def all_completed():
        rows = setup.db_query("SELECT booking_id, status FROM bookings")
        return all(r["status"] == "COMPLETED" for r in rows if int(r["booking_id"]) in departed)

    cj.wait_until(all_completed, 15, what="every departed booking COMPLETED")
    time.sleep(2.5)  # a few more passes on both: they must change nothing
    statuses = {int(r["booking_id"]): r["status"] for r in setup.db_query("SELECT booking_id, status FROM bookings")}
    assert {b: statuses[b] for b in departed} == {b: "COMPLETED" for b in departed}
    assert {b: statuses[b] for b in future} == {b: "CONFIRMED" for b in future}
    assert statuses[last["booking_id"]] == "CANCELLED"
    assert len(statuses) == len(departed) + len(future) + 1
    # Each booking was completed by exactly one of the two processes.
    counts = [cj.metric_value(setup, "cloudjet_bookings_completed_total"), cj.metric_value(other, "cloudjet_bookings_completed_total")]
    assert sum(counts) == len(departed), counts
    for srv in (setup, other):
        assert "bookings of departed flights completed" in srv.log_text() or cj.metric_value(srv, "cloudjet_bookings_completed_total") == 0


# ---------------------------------------------------------------------------------------------
# idempotency keys: remembered for 72 hours, then purged by the completion job


def idempotency_rows(srv, user: cj.User) -> dict[str, int]:
    rows = srv.db_query("SELECT idem_key, booking_id FROM idempotency_keys WHERE user_id = ?", (user.user_id,))
    return {r["idem_key"]: int(r["booking_id"]) for r in rows}


def test_idempotency_keys_are_replayed_for_72_hours_then_purged(make_server, backend):
    """A key written at T is still replayed at T+71h (the job ran and kept it) and is deleted by the
    job at T+73h, after which the same request with the same key books anew; a key written at
    T+71h survives the purge at T+73h."""
    srv = start(make_server, backend, "2026-12-05T10:00:00+09:00", BOOKING_COMPLETE_INTERVAL_SECONDS="0")
    user = srv.make_user()
    sched = schedule(srv, "CJ151", "2026-12-12")  # departs long after every instant of this test
    body = {"scheduleId": sched["sid"],
            "passengers": [{"name": "홍길동", "nameEn": "HONG GILDONG", "birth": "1990-01-01", "gender": "M"}],
            "contactInfo": {"email": "contact@example.com", "phone": "010-1234-5678"},
            "paymentMethod": "CARD", "totalAmount": sched["unit"]}
    old_key, new_key = "old-" + uuid.uuid4().hex, "new-" + uuid.uuid4().hex

    def post(key: str):
        return srv.post(BOOKINGS, json=body, headers={**user.auth, "Idempotency-Key": key})

    first = assert_json(post(old_key), 201)
    assert idempotency_rows(srv, user) == {old_key: first["booking_id"]}
    created = srv.db_scalar("SELECT created_at AS c FROM idempotency_keys WHERE idem_key = ?", (old_key,))
    assert cj.ts_text(created).startswith("2026-12-05T01:00:"), created  # the service clock, in UTC

    # T+71h, the job every second: the key is kept and still answers with the first booking.
    move_to(srv, "2026-12-08T09:00:00+09:00", BOOKING_COMPLETE_INTERVAL_SECONDS=1)
    user.token = srv.login(user.email, user.password)
    time.sleep(2.5)  # a few passes of the job
    assert idempotency_rows(srv, user) == {old_key: first["booking_id"]}
    r = post(old_key)
    assert assert_json(r, 201) == first and r.headers.get("Idempotent-Replayed") == "true", r.headers
    fresh = assert_json(post(new_key), 201)

    # T+73h: the job deletes the 73-hour-old key (and logs it), not the 2-hour-old one.
    move_to(srv, "2026-12-08T11:00:00+09:00", BOOKING_COMPLETE_INTERVAL_SECONDS=1)
    cj.wait_until(lambda: old_key not in idempotency_rows(srv, user), 10, what="the purge of the old key")
    assert idempotency_rows(srv, user) == {new_key: fresh["booking_id"]}
    purged = [json.loads(line[line.index("{"):]) for line in srv.log_text().splitlines()
              if "expired idempotency keys purged" in line]
    assert purged and purged[-1].get("keys") == 1, purged
    user.token = srv.login(user.email, user.password)
    r = post(old_key)
    again = assert_json(r, 201)
    assert "Idempotent-Replayed" not in r.headers
    assert again["booking_id"] not in (first["booking_id"], fresh["booking_id"])
    assert idempotency_rows(srv, user) == {old_key: again["booking_id"], new_key: fresh["booking_id"]}
    statuses = srv.db_query("SELECT booking_id, status FROM bookings WHERE user_id = ? ORDER BY booking_id",
                            (user.user_id,))
    assert [(int(x["booking_id"]), x["status"]) for x in statuses] == [
        (first["booking_id"], "CONFIRMED"), (fresh["booking_id"], "CONFIRMED"), (again["booking_id"], "CONFIRMED")]
    assert schedule(srv, "CJ151", "2026-12-12")["available"] == sched["available"] - 3


# ---------------------------------------------------------------------------------------------
# Sydney across its DST changes


def test_sydney_departures_follow_the_local_clock_across_both_dst_changes(make_server, backend):
    """A SYD→ICN flight at 10:00 Sydney time. AEDT (+11) ends on 2026-04-05 at 03:00 and starts again
    on 2026-10-04 at 02:00 (AEST +10 in between): the 10:00 departures of those days are 00:00 UTC and
    23:00 UTC (the day before). Each instant below is answered differently with the wrong offset."""
    april, october = "2026-04-05", "2026-10-04"
    srv = start(make_server, backend, "2026-04-04T22:45:00Z")  # 08:45 AEST, 75 min before 00:00Z
    admin = admin_auth(srv)
    fid = add_flight(srv, admin, "SYD", "ICN", "10:00", [april, october], price=720000)
    apr, octo = schedule(srv, fid, april), schedule(srv, fid, october)
    user = srv.make_user()
    assert cj.departure_utc(april, "10:00:00", "Australia/Sydney") == instant("2026-04-05T00:00:00Z")
    assert cj.departure_utc(october, "10:00:00", "Australia/Sydney") == instant("2026-10-03T23:00:00Z")

    # 2026-04-04 22:45Z: on sale (a +11 reading would say 15 minutes to go: closed).
    assert listed(srv, "SYD", "ICN", april) == [(fid, apr["sid"])]
    first = booked(srv, user, apr)
    # 23:15Z: 45 minutes to go, closed (a +11 reading would say departed).
    move_to(srv, "2026-04-04T23:15:00Z")
    assert search(srv, "SYD", "ICN", april) == {"flights": [], "total": 0}
    assert_error(book(srv, user, apr), 409, "sales_closed", sales_closed_message())
    # 00:00Z is the departure: a booking is no longer cancellable at 00:00:01Z.
    move_to(srv, "2026-04-05T00:00:01Z")
    assert_error(cancel(srv, user, first["booking_number"]), 409, "not_cancellable")
    assert_error(book(srv, user, apr), 409, "departed")

    # October: 10:00 AEDT is 23:00Z the day before. 21:45Z: on sale.
    move_to(srv, "2026-10-03T21:45:00Z")
    user.token = srv.login(user.email, user.password)  # the April token expired long ago
    assert listed(srv, "SYD", "ICN", october) == [(fid, octo["sid"])]
    second = booked(srv, user, octo)
    # 22:15Z: 45 minutes to go, closed (a +10 reading would say 105 minutes: on sale).
    move_to(srv, "2026-10-03T22:15:00Z")
    assert search(srv, "SYD", "ICN", october) == {"flights": [], "total": 0}
    assert_error(book(srv, user, octo), 409, "sales_closed", sales_closed_message())
    assert octo["sid"] in admin_schedule_ids(srv, admin_auth(srv))
    # 23:05Z: departed (a +10 reading would say 55 minutes to go).
    move_to(srv, "2026-10-03T23:05:00Z")
    assert_error(book(srv, user, octo), 409, "departed", MSG_DEPARTED)
    assert_error(cancel(srv, user, second["booking_number"]), 409, "not_cancellable", MSG_NOT_CANCELLABLE)
    assert octo["sid"] not in admin_schedule_ids(srv, admin_auth(srv))
    # The completion job (every start, then every minute) has closed both by the local departure.
    cj.wait_until(lambda: [status_of(srv, x["booking_id"]) for x in (first, second)] == ["COMPLETED"] * 2, 10,
                  what="both bookings COMPLETED")


def test_an_airport_with_an_unknown_time_zone_sells_nothing(make_server, backend):
    """A zone the tz database does not know (an operator's typo) cannot place a departure in time:
    its flights are neither listed nor sold, and the log says why."""
    srv = start(make_server, backend, KST_0030)
    user = srv.make_user()
    sched = schedule(srv, "CJ101", "2026-12-05")
    srv.db_query("UPDATE airports SET time_zone = ? WHERE airport_code = 'ICN'", ("Asia/Incheon",))
    assert search(srv, "ICN", "NRT", "2026-12-05") == {"flights": [], "total": 0}
    before = writes(srv, sched["sid"])
    assert_error(book(srv, user, sched), 500, "internal_error")
    assert writes(srv, sched["sid"]) == before
    assert "cannot place a departure in time" in srv.log_text() and "Asia/Incheon" in srv.log_text()
    srv.db_query("UPDATE airports SET time_zone = 'Asia/Seoul' WHERE airport_code = 'ICN'")
    assert listed(srv, "ICN", "NRT", "2026-12-06") == [(f, schedule(srv, f, "2026-12-06")["sid"])
                                                        for f in ("CJ101", "CJ102")]


# ---------------------------------------------------------------------------------------------
# the fake clock is for tests only


def test_cloudjet_fake_now_is_refused_in_production(tmp_path):
    env = cj.base_env()
    env.update({"CLOUDJET_ENV": "production", "SECRET_KEY": "p" * 32, "CLOUDJET_FAKE_NOW": KST_0030})
    for args in (["serve", "--single-port", str(cj.free_port()), "--data-dir", str(tmp_path)],
                 ["migrate", "--data-dir", str(tmp_path)]):
        out = cj.run_cli(args, env, cwd=tmp_path, timeout=30)
        assert out.returncode == 2, out.stdout
        assert "CLOUDJET_FAKE_NOW" in out.stdout and "production" in out.stdout, out.stdout
    assert not (tmp_path / "cloudjet.db").exists(), "refused before touching the database"


def test_a_malformed_cloudjet_fake_now_stops_the_process_naming_it(tmp_path):
    env = cj.base_env()
    env.update({"CLOUDJET_ENV": "development", "SECRET_KEY": "p" * 32,
                "CLOUDJET_FAKE_NOW": "2026-12-02 00:30"})  # no seconds, no offset
    out = cj.run_cli(["serve", "--single-port", str(cj.free_port()), "--data-dir", str(tmp_path)], env,
                     cwd=tmp_path, timeout=30)
    assert out.returncode == 2, out.stdout
    assert "CLOUDJET_FAKE_NOW must be an ISO-8601 instant with an offset" in out.stdout, out.stdout
