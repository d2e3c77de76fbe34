"""Black-box tests of the admin service (/api/admin), flights: list, create, upsert with schedules (POST /flights-with-schedules), soft delete. Every test runs against SQLite and
MariaDB; bodies are checked exactly and cross-checked against the database with SQL. Shared
helpers and fixtures: admin_support.py."""
from __future__ import annotations

from admin_support import *  # noqa: F401,F403  (paths, messages, helpers)
from admin_support import admin, admin_id, other_user, refusal_schedule, user  # noqa: F401  (fixtures)


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
