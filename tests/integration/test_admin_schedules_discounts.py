"""Black-box tests of the admin service (/api/admin), schedules (list) and discounts (create, concurrent create, delete, list). Every test runs against SQLite and
MariaDB; bodies are checked exactly and cross-checked against the database with SQL. Shared
helpers and fixtures: admin_support.py."""
from __future__ import annotations

from admin_support import *  # noqa: F401,F403  (paths, messages, helpers)
from admin_support import admin, admin_id, other_user, refusal_schedule, user  # noqa: F401  (fixtures)


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
