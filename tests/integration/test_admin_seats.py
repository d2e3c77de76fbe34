"""Black-box tests of the admin service (/api/admin), seat counts of admin writes never oversell: overwrite racing bookings, lowering seats below what is sold, resizing. Every test runs against SQLite and
MariaDB; bodies are checked exactly and cross-checked against the database with SQL. Shared
helpers and fixtures: admin_support.py."""
from __future__ import annotations

from admin_support import *  # noqa: F401,F403  (paths, messages, helpers)
from admin_support import admin, admin_id, other_user, refusal_schedule, user  # noqa: F401  (fixtures)


# ============================================================================================
# seat counts never oversell (issue 12): every admin write of available_seats locks the schedule
# row before it counts live (CONFIRMED and HELD) passengers


LIVE_STATUSES = "('CONFIRMED', 'HELD')"


def live_passengers(server, sid: int) -> int:
    return int(server.db_scalar(
        "SELECT COUNT(*) AS n FROM passengers p JOIN bookings b ON b.booking_id = p.booking_id "
        f"WHERE b.schedule_id = ? AND b.status IN {LIVE_STATUSES}", (sid,)))


def live_seat_labels(server, sid: int) -> list[str]:
    rows = server.db_query(
        "SELECT p.seat_number AS seat FROM passengers p JOIN bookings b ON b.booking_id = p.booking_id "
        f"WHERE b.schedule_id = ? AND b.status IN {LIVE_STATUSES} AND p.seat_number IS NOT NULL", (sid,))
    return [r["seat"] for r in rows]


def seats_sold_message(date: str, sold: int, seats: int) -> str:
    return f"{date} 스케줄에 이미 {sold}명이 예약되어 있어 좌석 수를 {seats}석으로 줄일 수 없습니다."


def test_overwrite_racing_bookings_never_oversells_a_small_schedule(server, admin):
    """Three customers book one 8-seat schedule (one passenger each, every other booking with a
    seat) while an admin keeps overwriting it with available_seats = total_seats. Bookings run
    until the schedule refuses them three times in a row. The database must end with at most 8
    live passengers, available_seats = 8 - live passengers, and no seat held twice."""
    total = 8  # four abreast, rows 1-2
    labels = [f"{row}{letter}" for row in (1, 2) for letter in "ABCD"]
    flight = flight_body(total_seats=total)
    d = day(61)
    with_schedules(server, admin, flight, {"mode": "single", "date": d}, expect_created=1)
    sid = schedule_rows(server, flight["flight_id"])[d]["schedule_id"]
    unit = unit_price(server, sid)
    customers = [server.make_user(name=f"경쟁{i}") for i in range(3)]
    overwrite = {"flight": flight, "schedule": {"mode": "single", "date": d, "available_seats": total,
                                                "overwrite": True}}
    stop = threading.Event()
    booked_statuses: list[tuple[int, str]] = []
    overwrite_statuses: list[int] = []
    lock = threading.Lock()

    def customer(i: int):
        refusals, attempt = 0, 0
        deadline = dt.datetime.now() + dt.timedelta(seconds=30)
        while refusals < 3 and dt.datetime.now() < deadline:
            attempt += 1
            body = {"scheduleId": sid,
                    "passengers": [{"name": f"승객{i}", "birth": "1990-01-01", "gender": "M"}],
                    "contactInfo": {"email": "race@example.com", "phone": "010-1234-5678"},
                    "paymentMethod": "CARD", "totalAmount": unit}
            if attempt % 2 == 0:
                body["seats"] = [labels[(i * 3 + attempt) % total]]
            r = cj.one_shot("POST", server.url(USER_BOOKINGS), json=body, headers=customers[i].auth,
                            timeout=30)
            code = r.json().get("error", "") if r.status_code != 201 else ""
            with lock:
                booked_statuses.append((r.status_code, code))
            refusals = refusals + 1 if code == "not_enough_seats" else 0

    def admin_overwrites():
        while not stop.is_set():
            r = cj.one_shot("POST", server.url(FWS), json=overwrite, headers=admin, timeout=30)
            with lock:
                overwrite_statuses.append(r.status_code)

    writer = threading.Thread(target=admin_overwrites)
    writer.start()
    try:
        run_parallel([lambda i=i: customer(i) for i in range(3)], workers=3)
    finally:
        stop.set()
        writer.join(timeout=60)

    assert overwrite_statuses and set(overwrite_statuses) == {201}, overwrite_statuses
    assert {s for s in booked_statuses} <= {(201, ""), (400, "not_enough_seats"), (409, "seat_taken")}, \
        booked_statuses
    live = live_passengers(server, sid)
    assert live == total, (live, booked_statuses)  # it filled, and not one passenger more
    assert sum(1 for s, _ in booked_statuses if s == 201) == live
    assert available(server, sid) == total - live == 0
    seated = live_seat_labels(server, sid)
    assert len(seated) == len(set(seated)) and set(seated) <= set(labels), seated
    assigned = server.db_query("SELECT seat_number AS seat FROM seat_assignments WHERE schedule_id = ?", (sid,))
    assert sorted(r["seat"] for r in assigned) == sorted(seated)


@pytest.mark.parametrize("case", ["total-below-sold", "seat-outside-new-map", "offered-below-sold"])
def test_lowering_seats_below_what_is_sold_is_409_and_changes_nothing(server, admin, user, case):
    flight = flight_body(total_seats=12)  # four abreast, rows 1-3
    d1, d2 = day(62), day(63)
    with_schedules(server, admin, flight, {"mode": "range", "start_date": d1, "end_date": d2}, expect_created=2)
    sid = schedule_rows(server, flight["flight_id"])[d1]["schedule_id"]
    if case == "seat-outside-new-map":
        book(server, user, sid, n=1, seats=["3A"])
        changed, schedule = {**flight, "total_seats": 8}, {"mode": "single", "date": d2}
        message = f"{d1} 스케줄의 좌석 3A이(가) 이미 배정되어 있어 좌석 수를 8석으로 줄일 수 없습니다."
        english = f"Seat 3A of the schedule of {d1} is already assigned and would not exist with 8 seats."
    else:
        book(server, user, sid, n=3, seats=["1A", "1B", "1C"])
        if case == "total-below-sold":
            changed, schedule = {**flight, "total_seats": 2}, {"mode": "single", "date": d2}
        else:
            changed = {**flight, "base_price": 99000}
            schedule = {"mode": "single", "date": d1, "available_seats": 2, "overwrite": True}
        message = seats_sold_message(d1, 3, 2)
        english = (f"The schedule of {d1} already has 3 passengers booked; its seats cannot be lowered to 2.")
    flight_before, schedules_before = flight_row(server, flight["flight_id"]), schedule_rows(server, flight["flight_id"])
    r = call(server, admin, "POST", FWS, {"flight": changed, "schedule": schedule})
    assert_error(r, 409, "seats_sold", message)
    assert flight_row(server, flight["flight_id"]) == flight_before
    assert schedule_rows(server, flight["flight_id"]) == schedules_before
    assert_not_audited(server, r.rid)
    r = call(server, admin, "POST", FWS, {"flight": changed, "schedule": schedule},
             headers={"Accept-Language": "en"})
    assert_error(r, 409, "seats_sold", english)
    assert flight_row(server, flight["flight_id"]) == flight_before


def test_resizing_a_flight_never_makes_seats_out_of_nothing(server, admin, user):
    """A smaller total_seats that still holds what is sold is accepted and takes the seats it no
    longer has off every live schedule (available <= total - live); a larger one adds no seats by
    itself; an overwrite offering every seat gives total - live, never total."""
    flight = flight_body(total_seats=12)
    d1, d2, d3 = day(64), day(65), day(66)
    with_schedules(server, admin, flight, {"mode": "range", "start_date": d1, "end_date": d2}, expect_created=2)
    sid = schedule_rows(server, flight["flight_id"])[d1]["schedule_id"]
    book(server, user, sid, n=3, seats=["1A", "1B", "1C"])
    assert available(server, sid) == 9

    with_schedules(server, admin, {**flight, "total_seats": 6}, {"mode": "single", "date": d3}, expect_created=1)
    rows = schedule_rows(server, flight["flight_id"])
    assert {d: rows[d]["available_seats"] for d in (d1, d2, d3)} == {d1: 3, d2: 6, d3: 6}
    assert int(flight_row(server, flight["flight_id"])["total_seats"]) == 6

    with_schedules(server, admin, {**flight, "total_seats": 20}, {"mode": "single", "date": d3})
    rows = schedule_rows(server, flight["flight_id"])
    assert {d: rows[d]["available_seats"] for d in (d1, d2, d3)} == {d1: 3, d2: 6, d3: 6}

    out = with_schedules(server, admin, {**flight, "total_seats": 20},
                         {"mode": "single", "date": d1, "available_seats": 20, "overwrite": True})
    assert out["result"]["updated_schedules"] == 1
    assert available(server, sid) == 20 - live_passengers(server, sid) == 17
    r = call(server, admin, "POST", FWS, {"flight": {**flight, "total_seats": 20}, "schedule": {
        "mode": "single", "date": d1, "available_seats": 21, "overwrite": True}})
    assert_error(r, 400, "invalid_field")
    assert available(server, sid) == 17
