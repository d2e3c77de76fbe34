"""Black-box tests of the admin service (/api/admin), bookings: list, pagination, search, admin cancel. Every test runs against SQLite and
MariaDB; bodies are checked exactly and cross-checked against the database with SQL. Shared
helpers and fixtures: admin_support.py."""
from __future__ import annotations

from admin_support import *  # noqa: F401,F403  (paths, messages, helpers)
from admin_support import admin, admin_id, other_user, refusal_schedule, user  # noqa: F401  (fixtures)


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
