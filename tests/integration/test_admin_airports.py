"""Airports the admin adds or corrects (POST /api/admin/airports, PUT /api/admin/airports/{code})
with the IANA time zone their departures are judged by (issue 12), on SQLite and MariaDB, checking
bodies, rows and the audit log.

The server stands at 09:30 in Honolulu on 2026-12-10 (19:30 UTC, 04:30 on the 11th in Seoul): a
10:00 departure from Honolulu that day is 30 minutes away (sales closed), while the same wall time
in Seoul left hours ago."""
from __future__ import annotations

import uuid

import cj
from cj import assert_error, assert_json
from conftest import MODULE_SERVER_ENV

ADMIN = "/api/admin"
AIRPORTS = "/api/flights/airports"
HONOLULU_0930 = "2026-12-10T09:30:00-10:00"
HNL = {"airport_code": "hnl", "airport_name": "대니얼 K. 이노우에 국제공항", "city": "호놀룰루",
       "country": "미국", "time_zone": "Pacific/Honolulu"}


def start(make_server, backend) -> cj.Server:
    return make_server(backend, extra_env={**MODULE_SERVER_ENV, "CLOUDJET_FAKE_NOW": HONOLULU_0930})


def admin_auth(srv) -> dict:
    return {"Authorization": f"Bearer {srv.admin_token()}"}


def airport_rows(srv) -> list[dict]:
    return srv.db_query("SELECT airport_code, airport_name, city, country, time_zone FROM airports "
                        "ORDER BY airport_code")


def audit(srv, action: str) -> list[dict]:
    return srv.db_query("SELECT target, summary FROM admin_audit WHERE action = ? ORDER BY audit_id", (action,))


def listed_airport(srv, code: str) -> dict | None:
    body = assert_json(srv.get(AIRPORTS), 200)
    found = [a for a in body["airports"] if a["airport_code"] == code]
    return found[0] if found else None


def schedule_of(srv, flight_id: str, date: str) -> dict:
    row = srv.db_query("SELECT schedule_id AS sid, current_price AS price FROM flight_schedules "
                       "WHERE flight_id = ? AND flight_date = ?", (flight_id, date))[0]
    return {"sid": int(row["sid"]), "unit": int(row["price"])}


def book(srv, user, sched):
    return srv.post("/api/bookings", headers=user.auth, json={
        "scheduleId": sched["sid"],
        "passengers": [{"name": "홍길동", "nameEn": "HONG GILDONG", "birth": "1990-01-01", "gender": "M"}],
        "contactInfo": {"email": user.email, "phone": "010-1234-5678"},
        "paymentMethod": "CARD", "totalAmount": sched["unit"]})


def test_an_added_airport_sells_its_departures_by_its_own_clock(make_server, backend):
    srv = start(make_server, backend)
    admin = admin_auth(srv)
    out = assert_json(srv.post(f"{ADMIN}/airports", headers=admin, json=HNL), 201)
    assert out == {"message": "공항이 추가되었습니다.", "airport_code": "HNL", "success": True}
    row = [r for r in airport_rows(srv) if r["airport_code"] == "HNL"]
    assert row == [{"airport_code": "HNL", "airport_name": HNL["airport_name"], "city": "호놀룰루",
                    "country": "미국", "time_zone": "Pacific/Honolulu"}], row
    [entry] = audit(srv, "airport.create")
    assert entry["target"] == "HNL" and "Pacific/Honolulu" in entry["summary"], entry
    # Listed at once by this process's flight service.
    listed = listed_airport(srv, "HNL")
    assert listed is not None and listed["time_zone"] == "Pacific/Honolulu", listed

    fid = "H" + uuid.uuid4().hex[:5].upper()
    flight = {"flight_id": fid, "departure_airport": "HNL", "arrival_airport": "ICN", "departure_time": "10:00",
              "arrival_time": "15:30", "aircraft": "Boeing 787-9", "base_price": 250000}
    assert_json(srv.post(f"{ADMIN}/flights-with-schedules", headers=admin, json={
        "flight": flight, "schedule": {"mode": "range", "start_date": "2026-12-10", "end_date": "2026-12-11"}}), 201)
    user = srv.make_user()
    today, tomorrow = schedule_of(srv, fid, "2026-12-10"), schedule_of(srv, fid, "2026-12-11")
    # 10:00 in Honolulu is 30 minutes away: inside the 60-minute cut-off, not departed.
    assert_error(book(srv, user, today), 409, "sales_closed")
    assert assert_json(book(srv, user, tomorrow), 201)["status"] == "CONFIRMED"

    # Corrected to Seoul's clock, 10:00 on the 10th left 18.5 hours ago.
    fixed = assert_json(srv.put(f"{ADMIN}/airports/HNL", headers=admin, json={"time_zone": "Asia/Seoul"}), 200)
    assert fixed == {"message": "공항 정보가 수정되었습니다.", "airport_code": "HNL", "success": True}
    assert [r["time_zone"] for r in airport_rows(srv) if r["airport_code"] == "HNL"] == ["Asia/Seoul"]
    assert_error(book(srv, user, today), 409, "departed")
    assert listed_airport(srv, "HNL")["time_zone"] == "Asia/Seoul"
    # Only what was sent changed; the rest is kept.
    row = [r for r in airport_rows(srv) if r["airport_code"] == "HNL"][0]
    assert (row["airport_name"], row["city"], row["country"]) == (HNL["airport_name"], "호놀룰루", "미국"), row
    [changed] = audit(srv, "airport.update")
    assert changed["target"] == "HNL" and "Asia/Seoul" in changed["summary"], changed


def test_bad_airport_writes_are_refused_and_change_nothing(make_server, backend):
    srv = start(make_server, backend)
    admin = admin_auth(srv)
    before = airport_rows(srv)
    cases = [
        ({**HNL, "airport_code": "H1"}, "invalid_field", "airport_code"),
        ({**HNL, "time_zone": "Mars/Olympus_Mons"}, "invalid_field", "time_zone"),
        ({**HNL, "time_zone": ""}, "missing_field", "time_zone"),
        ({**HNL, "city": "x" * 51}, "invalid_field", "city"),
        ({k: v for k, v in HNL.items() if k != "country"}, "missing_field", "country"),
        ({**HNL, "time_zone": 9}, "invalid_field", "time_zone"),
    ]
    for body, code, field in cases:
        err = assert_error(srv.post(f"{ADMIN}/airports", headers=admin, json=body), 400, code)
        assert field in err["message"], (body, err)
    assert_error(srv.post(f"{ADMIN}/airports", headers=admin, json={**HNL, "airport_code": "ICN"}), 409,
                 "airport_exists", "이미 존재하는 공항 코드입니다.")
    assert_error(srv.put(f"{ADMIN}/airports/ZZZ", headers=admin, json={"city": "어딘가"}), 404,
                 "airport_not_found", "공항을 찾을 수 없습니다.")
    assert_error(srv.put(f"{ADMIN}/airports/ICN", headers=admin, json={}), 400, "missing_field")
    assert_error(srv.put(f"{ADMIN}/airports/ICN", headers=admin, json={"time_zone": "Asia/Nowhere"}), 400,
                 "invalid_field")
    user = srv.make_user()
    assert_error(srv.post(f"{ADMIN}/airports", headers=user.auth, json=HNL), 403, "forbidden")
    assert_error(srv.put(f"{ADMIN}/airports/ICN", headers=user.auth, json={"time_zone": "Asia/Tokyo"}), 403,
                 "forbidden")
    assert airport_rows(srv) == before
    assert audit(srv, "airport.create") == [] and audit(srv, "airport.update") == []
