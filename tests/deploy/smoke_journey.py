"""The smoke journey a deployment must pass: one traveller and one admin, through real HTTP.

Used by the compose check (tests/deploy/compose_stack.py) and runnable against any deployment:

    /usr/bin/python3 tests/deploy/smoke_journey.py --base http://127.0.0.1:8080 --admin-password ...

`--base` is one gateway URL for every service; `--auth/--flight/--booking/--admin/--payment`
override it per service (split ports without a gateway). The journey needs no demo data: the
admin creates its own flight on the reference airports, the traveller books a seat on it.
Each step checks the body it gets, not only the status, and raises JourneyError naming the step.
"""
from __future__ import annotations

import argparse
import datetime as dt
import secrets
import sys

import requests

SERVICES = ("auth", "flight", "booking", "admin", "payment")
ADMIN_EMAIL = "admin@cloudjet.com"


class JourneyError(AssertionError):
    pass


def _check(cond: bool, step: str, resp: requests.Response | None = None, what: str = "") -> None:
    if not cond:
        detail = f" ({resp.status_code} {resp.text[:300]!r})" if resp is not None else ""
        raise JourneyError(f"{step}: {what}{detail}")


def _json(resp: requests.Response, status: int, step: str) -> dict:
    _check(resp.status_code == status, step, resp, f"expected HTTP {status}")
    _check(resp.headers.get("Content-Type", "").startswith("application/json"), step, resp, "not JSON")
    return resp.json()


def run(urls: dict[str, str], admin_password: str, timeout: float = 10.0, gateway: str | None = None) -> list[str]:
    """Runs the journey; returns the names of the steps that passed (all of them, or it raises).

    With `gateway` (the one host the front end talks to), also checks the original gateway's two
    rewrites, /api/health and /api/airports."""
    s = requests.Session()
    done: list[str] = []
    if gateway:
        body = _json(s.get(gateway.rstrip("/") + "/api/health", timeout=timeout), 200, "gateway /api/health")
        _check(body.get("service") == "auth-service", "gateway /api/health", what=f"not auth's health: {body}")
        body = _json(s.get(gateway.rstrip("/") + "/api/airports", timeout=timeout), 200, "gateway /api/airports")
        _check(len(body.get("airports", [])) >= 2, "gateway /api/airports", what=str(body)[:200])
        done.append("gateway rewrites")

    def url(svc: str, path: str) -> str:
        return urls[svc].rstrip("/") + path

    for svc in SERVICES:
        prefix = {"flight": "flights", "booking": "bookings", "payment": "payments"}.get(svc, svc)
        body = _json(s.get(url(svc, f"/api/{prefix}/health"), timeout=timeout), 200, f"{svc} health")
        _check(body.get("status") in ("healthy", "ok"), f"{svc} health", what=f"body {body}")
    done.append("health of five services")

    r = s.post(url("auth", "/api/auth/login"), json={"email": ADMIN_EMAIL, "password": admin_password},
               timeout=timeout)
    admin = _json(r, 200, "admin login")
    _check(admin.get("user", {}).get("role") == "ADMIN", "admin login", r, "role is not ADMIN")
    admin_auth = {"Authorization": f"Bearer {admin['token']}"}
    done.append("admin login")

    airports = _json(s.get(url("flight", "/api/flights/airports"), timeout=timeout), 200, "airports")
    codes = {a["airport_code"] for a in airports.get("airports", [])}
    _check({"ICN", "NRT"} <= codes, "airports", what=f"reference airports missing: {sorted(codes)}")
    done.append("airports")

    fid = "SM" + str(secrets.randbelow(9000) + 1000)
    date = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    flight = {"flight_id": fid, "departure_airport": "ICN", "arrival_airport": "NRT", "departure_time": "10:00",
              "arrival_time": "12:20", "aircraft": "Boeing 737-800", "base_price": 250000, "total_seats": 60}
    r = s.post(url("admin", "/api/admin/flights-with-schedules"), headers=admin_auth, timeout=timeout,
               json={"flight": flight, "schedule": {"mode": "single", "date": date}})
    out = _json(r, 201, "admin creates a flight with a schedule")
    _check(out.get("result", {}).get("created_schedules") == 1, "admin creates a flight", r, "no schedule created")
    done.append("admin creates a flight with a schedule")

    email = f"smoke-{secrets.token_hex(6)}@example.com"
    password = secrets.token_urlsafe(12)
    r = s.post(url("auth", "/api/auth/signup"), timeout=timeout, json={
        "name": "홍길동", "email": email, "password": password, "phone": "010-1234-5678", "birthDate": "1990-01-01"})
    _check(_json(r, 201, "signup").get("success") is True, "signup", r)
    r = s.post(url("auth", "/api/auth/login"), json={"email": email, "password": password}, timeout=timeout)
    user = _json(r, 200, "login")
    _check(user.get("user", {}).get("email") == email, "login", r, "wrong user")
    auth = {"Authorization": f"Bearer {user['token']}"}
    done.append("signup and login")

    r = s.get(url("flight", "/api/flights/search"), params={"departure": "ICN", "arrival": "NRT", "date": date},
              timeout=timeout)
    rows = [f for f in _json(r, 200, "search").get("flights", []) if f.get("flight_id") == fid]
    _check(len(rows) == 1, "search", r, f"flight {fid} on {date} not found exactly once")
    row = rows[0]
    _check(row["price"] == 250000 and row["available_seats"] == 60, "search", r, "wrong price or seats")
    done.append("search")

    r = s.post(url("booking", "/api/bookings"), headers=auth, timeout=timeout, json={
        "scheduleId": row["schedule_id"],
        "passengers": [{"name": "홍길동", "nameEn": "HONG GILDONG", "birth": "1990-01-01", "gender": "M"}],
        "contactInfo": {"email": email, "phone": "010-1234-5678"}, "paymentMethod": "CARD",
        "totalAmount": row["price"], "seats": ["3C"]})
    booking = _json(r, 201, "book a seat")
    number = booking.get("booking_number", "")
    _check(booking.get("success") is True and number.startswith("CJ"), "book a seat", r)
    done.append("book with a seat")

    def occupied() -> list[str]:
        rr = s.get(url("booking", f"/api/bookings/occupied-seats/{row['schedule_id']}"), timeout=timeout)
        return _json(rr, 200, "occupied seats").get("occupied_seats")

    _check(occupied() == ["3C"], "occupied seats", what=f"expected ['3C'], got {occupied()}")
    done.append("seat shows as occupied")

    mine = _json(s.get(url("booking", "/api/bookings"), headers=auth, timeout=timeout), 200, "my bookings")
    _check([b["booking_number"] for b in mine.get("bookings", [])] == [number], "my bookings", what=str(mine))
    done.append("my bookings")

    r = s.post(url("booking", f"/api/bookings/{number}/cancel"), headers=auth, timeout=timeout)
    _check(_json(r, 200, "cancel").get("booking_number") == number, "cancel", r)
    _check(occupied() == [], "cancel frees the seat", what=f"still occupied: {occupied()}")
    done.append("cancel frees the seat")

    r = s.get(url("admin", "/api/admin/bookings"), headers=admin_auth, timeout=timeout)
    listed = {b["booking_number"]: b for b in _json(r, 200, "admin bookings").get("bookings", [])}
    _check(number in listed and listed[number]["status"] == "CANCELLED", "admin bookings", r,
           f"{number} not listed as CANCELLED")
    done.append("admin sees the cancelled booking")
    return done


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--base", help="one URL for every service (a gateway)")
    for svc in SERVICES:
        p.add_argument(f"--{svc}", help=f"URL of the {svc} service")
    p.add_argument("--admin-password", required=True)
    a = p.parse_args(argv)
    urls = {svc: getattr(a, svc) or a.base for svc in SERVICES}
    if not all(urls.values()):
        p.error("give --base or a URL for every service")
    try:
        steps = run(urls, a.admin_password, gateway=a.base)
    except (JourneyError, requests.RequestException) as e:
        print(f"smoke journey FAILED: {e}", file=sys.stderr)
        return 1
    print(f"smoke journey passed: {len(steps)} steps ({', '.join(steps)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
