"""The ORIGINAL web front end (GitHub Cloud-Jet/cjet-frontend-public: index.html, admin.html, js/*.js)
must work against CloudJet unmodified. These tests replay, over HTTP against the real binary
(`serve --single-port`, SQLite and MariaDB), the exact requests its JavaScript makes, in the order
its journeys make them, and assert every response property the JS reads, with the type it needs.
Nothing of the front end's code is copied here: each request is re-created from what the JS builds,
and every test names the JS file and function it stands for.

How the page talks to the API (what the helpers below reproduce)
- js/config.js: API_BASE_URL is http://localhost:5000/api on localhost (production
  https://api.cloudjet.click/api); js/api.js safeApiCall(endpoint) fetches API_BASE_URL + endpoint
  with `Content-Type: application/json` on EVERY call (GETs and body-less POSTs included) and
  `Authorization: Bearer <token>` whenever Storage (localStorage 'currentUser') holds a user, i.e.
  on public calls too, with whatever token is stored (possibly expired). Bodies are
  JSON.stringify(...) (compact, raw UTF-8). A non-2xx answer throws Error(data.message), an HTML
  answer or non-JSON body is an error, an empty 2xx body becomes {success: true}.
- js/admin-script.js calls fetch('https://api.cloudjet.click/api/admin/...') with a hard-coded
  host; GET/PUT/DELETE carry only `Authorization: Bearer <localStorage 'token'>`, the two POSTs add
  `Content-Type: application/json`. It ignores the status (`response.json()` then reads fields),
  except POST flights-with-schedules, which checks resp.ok.
- Ids travel as strings where the JS takes them from HTML: flight.js renders
  `selectFlight('${flight.schedule_id}', ${flight.price})`, so scheduleId is a STRING in
  payments/init, bookings and the occupied-seats path; admin-script.js sends schedule_id from a
  <select> value (a string) and discount_percentage from parseInt (a number).
- Every call is cross-origin (page on its own origin, API on :5000 or api.cloudjet.click) and
  non-simple (Content-Type json / Authorization), so the browser sends a CORS preflight first and
  needs Access-Control-Allow-Origin on every answer, errors included.

The server here is configured as a local deployment of the front end would be: CORS_ORIGINS with
the page's origin, Bootpay keys, and the fake Bootpay gateway (fake_bootpay.py) for receipt checks
and refunds. Schedules, flights and discounts a test needs are made through the admin page's own
form request (admin-script.js add-flight submit) or, where a step is only set-up and not the
request under test, through the documented API (integer ids) -- said so where it happens.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
import urllib.parse
import uuid

import pytest
import requests

import cj
from cj import day, discounted
from fake_bootpay import APPLICATION_ID, PRIVATE_KEY, bootpay_module  # noqa: F401

FRONTEND_ORIGIN = "http://localhost:8080"  # where index.html/admin.html are served from
API = "/api"  # js/config.js API_BASE_URL = http://localhost:5000/api (the server under test)

AIRPORT_NAME = {
    "ICN": "인천국제공항", "GMP": "김포국제공항", "NRT": "나리타국제공항", "KIX": "간사이국제공항",
    "BKK": "수완나품국제공항", "SYD": "킹스포드스미스공항", "LAX": "로스앤젤레스국제공항", "CDG": "샤를드골국제공항",
}

JS_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")  # new Date("YYYY-MM-DD") parses everywhere
JS_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$")  # ISO 8601
TIME_TEXT = re.compile(r"^\d{2}:\d{2}(:\d{2})?$")
BOOKING_NUMBER = re.compile(r"^CJ[A-Z0-9]{8}$")
SEAT_LABEL = re.compile(r"^([1-9]\d*)([A-Z])$")
# booking.js generateSeatMap(): rows 1..25, letters A..F, labels `${row}${letter}`
FRONTEND_SEATS = [f"{row}{letter}" for row in range(1, 26) for letter in "ABCDEF"]
BOOKING_STATUSES = {"CONFIRMED", "CANCELLED", "COMPLETED"}

PASSWORD = "cloudjet-pw-1"


# ============================================================================================
# type checks: what the JS does with a value decides the type it must have


def is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def assert_number(row: dict, key: str, js: str) -> None:
    """`row[key].toLocaleString()` / arithmetic / `${n}` as a JS number literal: a JSON integer."""
    assert key in row, f"{js}: reads .{key}, missing in {sorted(row)}"
    assert is_int(row[key]), f"{js}: .{key} must be a JSON integer, got {row[key]!r}"


def assert_text(row: dict, key: str, js: str, nullable: bool = False) -> None:
    """Interpolated into the page: must be present (else "undefined") and a string."""
    assert key in row, f"{js}: reads .{key}, missing in {sorted(row)} (the page would print 'undefined')"
    if nullable and row[key] is None:
        return
    assert isinstance(row[key], str) and row[key] != "", f"{js}: .{key} must be a non-empty string, got {row[key]!r}"


def assert_matches(row: dict, key: str, pattern: re.Pattern, js: str) -> None:
    assert_text(row, key, js)
    assert pattern.match(row[key]), f"{js}: .{key} = {row[key]!r} does not match {pattern.pattern}"


# ============================================================================================
# the browser: js/api.js safeApiCall() and js/admin-script.js fetch()


def js_stringify(body) -> bytes:
    """JSON.stringify(body): compact, non-ASCII as raw UTF-8, `undefined` members dropped."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class Browser:
    """One browser tab of the front end: localStorage, and the two ways the JS calls the API."""

    def __init__(self, srv: cj.Server, origin: str = FRONTEND_ORIGIN):
        self.srv = srv
        self.origin = origin
        self.local_storage: dict[str, object] = {}  # 'currentUser' (dict), 'token', 'userInfo'

    @property
    def current_user(self) -> dict | None:
        return self.local_storage.get("currentUser")  # js/storage.js Storage.getUser()

    def check_cors(self, r: requests.Response) -> None:
        """The browser hands the answer to the JS only if it is allowed for the page's origin."""
        acao = r.headers.get("Access-Control-Allow-Origin")
        assert acao in (self.origin, "*"), (
            f"{r.request.method} {r.request.path_url} -> {r.status_code}: Access-Control-Allow-Origin "
            f"{acao!r}, the browser would block the answer for origin {self.origin}")
        if r.headers.get("Access-Control-Allow-Credentials", "").lower() == "true":
            assert acao == self.origin, "credentials allowed with a wildcard origin: browsers refuse it"

    def safe_api_call(self, endpoint: str, method: str = "GET", body=None) -> requests.Response:
        """js/api.js safeApiCall(endpoint, {method, body: JSON.stringify(body)})."""
        headers = {"Content-Type": "application/json", "Origin": self.origin}
        user = self.current_user
        if user and user.get("token"):
            headers["Authorization"] = f"Bearer {user['token']}"
        data = js_stringify(body) if body is not None else None
        r = self.srv.request(method, API + endpoint, data=data, headers=headers)
        self.check_cors(r)
        return r

    def admin_fetch(self, method: str, path: str, body=None) -> requests.Response:
        """js/admin-script.js fetch('https://api.cloudjet.click' + path, ...): only Authorization,
        plus Content-Type on the requests with a body. The host is hard-coded in the JS; here the
        request goes to the server under test (as a hosts entry or a gateway for that host would)."""
        headers = {"Authorization": "Bearer " + str(self.local_storage.get("token") or ""),
                   "Origin": self.origin}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = js_stringify(body)
        r = self.srv.request(method, path, data=data, headers=headers)
        self.check_cors(r)
        return r


def ok_data(r: requests.Response, js: str):
    """What safeApiCall() hands back on success: asserts a 2xx JSON answer (not HTML, not empty
    unless 2xx) and returns the parsed body."""
    ctype = r.headers.get("Content-Type", "")
    assert "text/html" not in ctype, f"{js}: HTML answer ({r.status_code}), safeApiCall throws"
    assert 200 <= r.status_code < 300, (
        f"{js}: {r.request.method} {r.request.path_url} answered {r.status_code}: {r.text[:300]} "
        "(safeApiCall throws Error(data.message), the page shows an error)")
    if not r.text:
        return {"success": True}
    try:
        return r.json()
    except ValueError as e:
        raise AssertionError(f"{js}: body is not JSON: {r.text[:300]!r}") from e


def admin_json(r: requests.Response, js: str):
    """admin-script.js `.then(response => response.json())`: the body must be JSON whatever the status."""
    try:
        return r.json()
    except ValueError as e:
        raise AssertionError(f"{js}: response.json() fails on {r.status_code} {r.text[:300]!r}") from e


def error_message(r: requests.Response, js: str) -> str:
    """A refusal the page shows with alert(... + data.message): JSON with a message string."""
    assert not (200 <= r.status_code < 300), f"{js}: expected a refusal, got {r.status_code} {r.text[:300]}"
    body = r.json()
    assert isinstance(body.get("message"), str) and body["message"].strip(), body
    return body["message"]


# ============================================================================================
# the JS functions, one helper each (the request exactly as the JS builds it)


def format_phone(phone: str) -> str:
    """js/utils.js formatPhone()."""
    digits = re.sub(r"\D", "", phone)
    m = re.match(r"^(\d{3})(\d{3,4})(\d{4})$", digits)
    return f"{m.group(1)}-{m.group(2)}-{m.group(3)}" if m else phone


def signup(b: Browser, name: str, email: str, password: str, phone: str, birth_date: str) -> requests.Response:
    """js/auth.js signup(): AuthAPI.signup({name, email, password, phone: formatPhone(phone), birthDate})."""
    return b.safe_api_call("/auth/signup", "POST", {"name": name, "email": email, "password": password,
                                                     "phone": format_phone(phone), "birthDate": birth_date})


def login(b: Browser, email: str, password: str) -> dict:
    """js/auth.js login(): AuthAPI.login({email, password}); stores {...result.user, token} as
    localStorage 'currentUser'; an ADMIN also gets 'token'/'userInfo' and goes to admin.html."""
    js = "js/auth.js login()"
    result = ok_data(b.safe_api_call("/auth/login", "POST", {"email": email, "password": password}), js)
    assert_text(result, "token", js)
    user = result.get("user")
    assert isinstance(user, dict), f"{js}: reads result.user, got {result!r}"
    assert_text(user, "role", js)
    assert_text(user, "name", js)  # updateAuthUI(): currentUser.name + '님'; showAlert(`${userData.name}님`)
    assert_text(user, "email", js)  # booking.js showPassengerForm(): contact e-mail pre-filled
    assert "phone" in user, f"{js}: booking.js pre-fills currentUser.phone"
    assert is_int(user.get("id")), f"{js}: booking.js startPayment() sends currentUser.id to Bootpay: {user!r}"
    b.local_storage["currentUser"] = {**user, "token": result["token"]}
    if user["role"] == "ADMIN":
        b.local_storage["token"] = result["token"]
        b.local_storage["userInfo"] = json.dumps(user, ensure_ascii=False)
    return result


def new_traveller(srv: cj.Server) -> tuple[Browser, dict]:
    """A traveller who signed up and logged in through index.html (auth.js signup() + login())."""
    b = Browser(srv)
    email = cj.unique_email("fe")
    r = signup(b, "홍길동", email, PASSWORD, "01012345678", "1990-01-01")
    assert ok_data(r, "js/auth.js signup()").get("success") is True
    login(b, email, PASSWORD)
    return b, b.current_user


def search_flights(b: Browser, departure: str, arrival: str, date: str) -> list[dict]:
    """js/flight.js searchFlights(): FlightAPI.search({departure, arrival, date}) ->
    GET /flights/search?<URLSearchParams> (that key order); renders result.flights || []."""
    js = "js/flight.js searchFlights()"
    query = urllib.parse.urlencode({"departure": departure, "arrival": arrival, "date": date})
    result = ok_data(b.safe_api_call(f"/flights/search?{query}"), js)
    flights = result.get("flights")
    assert isinstance(flights, list), f"{js}: reads result.flights: {result!r}"
    for f in flights:
        assert_flight_card(f)
    return flights


def assert_flight_card(f: dict) -> None:
    """js/flight.js createFlightCard(flight) reads these; selectFlight('${schedule_id}', ${price})."""
    js = "js/flight.js createFlightCard()"
    assert "has_discount" in f and isinstance(f["has_discount"], bool), f"{js}: flight.has_discount: {f!r}"
    assert f["discount_percentage"] is None or is_int(f["discount_percentage"]), f
    if f["has_discount"]:
        assert is_int(f["discount_percentage"]) and f["discount_percentage"] > 0, f
        assert_number(f, "original_price", js)  # original_price.toLocaleString()
    assert_number(f, "price", js)  # price.toLocaleString() and the selectFlight() price literal
    assert_number(f, "schedule_id", js)  # rendered into selectFlight('...') and matched in the DOM
    assert_number(f, "available_seats", js)  # `잔여 ${available_seats}석`
    for key in ("departureTime", "arrivalTime"):
        assert_matches(f, key, TIME_TEXT, js)
    for key in ("departureAirport", "arrivalAirport"):
        assert_text(f, key, js)
        assert f[key] in AIRPORT_NAME, f"{js}: getAirportName({f[key]!r}) knows only the 8 codes"
    for key in ("duration", "flightId", "airline", "aircraft"):
        assert_text(f, key, js)


def select_flight(row: dict) -> dict:
    """js/flight.js selectFlight('${flight.schedule_id}', ${flight.price}): selectedFlight as the JS
    keeps it -- scheduleId is the STRING from the onclick attribute, price the number literal."""
    return {"scheduleId": str(row["schedule_id"]), "price": row["price"], "flightId": row["flightId"],
            "departureAirport": row["departureAirport"], "arrivalAirport": row["arrivalAirport"]}


def occupied_seats(b: Browser, schedule_id: str) -> list[str]:
    """js/booking.js loadOccupiedSeats(): api.getOccupiedSeats(selectedFlight.scheduleId) ->
    GET /bookings/occupied-seats/${scheduleId}; generateSeatMap(response.occupied_seats)."""
    js = "js/booking.js loadOccupiedSeats()"
    result = ok_data(b.safe_api_call(f"/bookings/occupied-seats/{schedule_id}"), js)
    seats = result.get("occupied_seats")
    assert isinstance(seats, list), f"{js}: reads response.occupied_seats: {result!r}"
    for s in seats:  # new Set(occupiedSeats).has(`${row}${letter}`)
        assert isinstance(s, str) and SEAT_LABEL.match(s), f"{js}: seat labels like '12A', got {s!r}"
    return seats


def free_seat(occupied: list[str], preferred: str = "12C") -> str:
    """booking.js selectSeat(): the traveller clicks one available seat of the map."""
    if preferred not in occupied:
        return preferred
    return next(s for s in FRONTEND_SEATS if s not in occupied)


def payment_init(b: Browser, selected: dict, n_passengers: int) -> requests.Response:
    """js/booking.js startPayment() step 1: PaymentAPI.initPayment({scheduleId, amount, orderName})."""
    return b.safe_api_call("/payments/init", "POST", {
        "scheduleId": selected["scheduleId"],
        "amount": selected["price"] * n_passengers,
        "orderName": f"{selected['flightId']} 항공권 ({n_passengers}명)",
    })


def assert_init(init: dict, js: str = "js/booking.js startPayment()") -> None:
    assert init.get("success") is True, f"{js}: `if (!init.success)` alerts: {init!r}"
    assert isinstance(init.get("bootpay"), dict), f"{js}: reads init.bootpay.application_id: {init!r}"
    # passed to Bootpay.requestPayment({application_id, order_id, ...})
    assert init["bootpay"].get("application_id") == APPLICATION_ID, init
    assert_text(init, "order_id", js)


def passengers_form(n: int) -> list[dict]:
    """js/booking.js savePassengerInfo(): {name, nameEn, birth, gender} per passenger (inputs and
    <select> values: all strings)."""
    people = [("홍길동", "HONG GILDONG", "1990-01-01", "M"), ("김영희", "KIM YOUNGHEE", "1992-03-04", "F"),
              ("이철수", "LEE CHULSOO", "2015-06-07", "M")]
    return [{"name": k, "nameEn": e, "birth": d, "gender": g} for k, e, d, g in people[:n]]


def finalize_booking(b: Browser, selected: dict, passengers: list[dict], seats: list[str],
                     total_amount: int) -> requests.Response:
    """js/booking.js finalizeBooking(totalAmount, orderId): window.api.createBooking({...}) with
    scheduleId the string, contactInfo = bookingData.contact, paymentMethod 'card' (set by
    startPaymentUnified()), seats = bookingData.seats (selectSeat() keeps ONE seat)."""
    user = b.current_user
    return b.safe_api_call("/bookings", "POST", {
        "scheduleId": selected["scheduleId"],
        "passengers": passengers,
        "contactInfo": {"email": user["email"], "phone": user["phone"]},
        "paymentMethod": "card",
        "totalAmount": total_amount,
        "seats": seats,
    })


def assert_booked(resp: dict, js: str = "js/booking.js finalizeBooking()") -> None:
    assert resp.get("success") is True, f"{js}: `if (response.success)`: {resp!r}"
    assert_number(resp, "booking_id", js)  # attachBooking(orderId, response.booking_id || ...)
    assert_matches(resp, "booking_number", BOOKING_NUMBER, js)  # showBookingSuccess(response.booking_number)


def attach_booking(b: Browser, order_id: str, booking: dict) -> requests.Response:
    """js/booking.js finalizeBooking(): PaymentAPI.attachBooking(orderId, response.booking_id ||
    response.bookingNumber) -> {orderId, bookingId} (bookingId the number from the answer)."""
    return b.safe_api_call("/payments/attach-booking", "POST",
                           {"orderId": order_id, "bookingId": booking.get("booking_id") or booking.get("bookingNumber")})


def my_bookings(b: Browser) -> list[dict]:
    """js/pages.js loadUserBookings() (the one in effect; it replaces api.js's): BookingAPI
    .getUserBookings() -> GET /bookings; renders every booking."""
    js = "js/pages.js loadUserBookings()"
    result = ok_data(b.safe_api_call("/bookings"), js)
    bookings = result.get("bookings")
    assert isinstance(bookings, list), f"{js}: reads result.bookings: {result!r}"
    for bk in bookings:
        assert_my_booking(bk)
    return bookings


def assert_my_booking(bk: dict) -> None:
    js = "js/pages.js loadUserBookings()"
    assert_matches(bk, "booking_number", BOOKING_NUMBER, js)  # also cancelBookingAPI('${booking_number}')
    assert_matches(bk, "created_at", JS_DATETIME, js)  # new Date(created_at).toLocaleDateString()
    assert bk.get("status") in BOOKING_STATUSES, f"{js}: status.toLowerCase(), compared to CONFIRMED: {bk!r}"
    for key in ("departure_name", "arrival_name", "flight_id", "airline"):
        assert_text(bk, key, js)
    assert_matches(bk, "flight_date", JS_DATE, js)  # new Date(flight_date).toLocaleDateString()
    assert_matches(bk, "departure_time", TIME_TEXT, js)
    assert_number(bk, "total_amount", js)  # total_amount.toLocaleString()
    assert isinstance(bk.get("passengers"), list) and bk["passengers"], f"{js}: passengers.length: {bk!r}"
    for p in bk["passengers"]:
        assert_text(p, "name_kor", js)  # `${p.name_kor} (${p.seat_number || '좌석 미배정'})`
        assert "seat_number" in p and (p["seat_number"] is None or isinstance(p["seat_number"], str)), p


def cancel_booking(b: Browser, booking_number: str) -> requests.Response:
    """js/api.js cancelBookingAPI(bookingNumber): BookingAPI.cancel() -> POST
    /bookings/${bookingNumber}/cancel with NO body (but Content-Type: application/json)."""
    return b.safe_api_call(f"/bookings/{booking_number}/cancel", "POST")


def sign(raw: bytes) -> str:
    return base64.b64encode(hmac.new(PRIVATE_KEY.encode(), raw, hashlib.sha256).digest()).decode()


def bootpay_pays(srv: cj.Server, fake, order_id: str, price: int) -> str:
    """What happens inside Bootpay.requestPayment(): the traveller pays, and Bootpay's server
    registers the receipt and calls the webhook (signed over the raw body). Returns the receipt id."""
    receipt = "rcpt-" + uuid.uuid4().hex[:20]
    fake.add_receipt(receipt, order_id, price)
    raw = json.dumps({"receipt_id": receipt, "order_id": order_id, "price": price, "status": 1,
                      "status_en": "complete", "method": "card", "pg": "nicepay"}).encode()
    r = srv.post("/api/payments/webhook", data=raw,
                 headers={"Content-Type": "application/json", "Bootpay-Signature": sign(raw)})
    assert cj.assert_json(r, 200) == {"success": True}
    return receipt


# -- admin.html / js/admin-script.js ---------------------------------------------------------


def admin_login(srv: cj.Server) -> Browser:
    """index.html js/auth.js login() with the admin account: role 'ADMIN' -> localStorage 'token',
    window.location.href = 'admin.html'."""
    b = Browser(srv)
    result = login(b, cj.ADMIN_EMAIL, srv.admin_password)
    assert result["user"]["role"] == "ADMIN", result
    return b


def add_flight_form(a: Browser, *, flight_id: str, departure: str, arrival: str, departure_time: str,
                    arrival_time: str, base_price: str, aircraft: str = "Boeing 737-800", mode: str = "single",
                    date: str = "", start: str = "", end: str = "", price: str = "", seats: str = "",
                    overwrite: str = "false") -> requests.Response:
    """js/admin-script.js add-flight-form submit: POST /api/admin/flights-with-schedules
    {flight: {...}, schedule: {mode, date | start_date+end_date, current_price?, available_seats?,
    overwrite}} from the form's inputs (<input type=time> 'HH:MM', parseInt for numbers, fields
    left empty are not sent, overwrite is `select.value === 'true'`)."""
    flight = {"flight_id": flight_id.strip(), "aircraft": aircraft, "departure_airport": departure,
              "arrival_airport": arrival, "departure_time": departure_time, "arrival_time": arrival_time,
              "base_price": int(base_price, 10)}
    schedule: dict = {"mode": mode}
    if mode == "single":
        schedule["date"] = date
    else:
        schedule["start_date"] = start
        schedule["end_date"] = end
    if price:
        schedule["current_price"] = int(price, 10)
    if seats:
        schedule["available_seats"] = int(seats, 10)
    schedule["overwrite"] = overwrite == "true"
    return a.admin_fetch("POST", "/api/admin/flights-with-schedules", {"flight": flight, "schedule": schedule})


def assert_flight_created(r: requests.Response, flight_id: str) -> dict:
    js = "js/admin-script.js add-flight-form submit"
    data = admin_json(r, js)
    assert r.ok, f"{js}: `if (!resp.ok) throw new Error(data.message)`: {r.status_code} {data!r}"
    result = data.get("result")
    assert isinstance(result, dict), f"{js}: reads data.result.flight_id: {data!r}"
    assert result.get("flight_id") == flight_id, data
    assert_number(result, "created_schedules", js)
    assert_number(result, "skipped", js)
    return result


def load_flights(a: Browser) -> list[dict]:
    """js/admin-script.js loadFlights(): GET /api/admin/flights; one table row per flight."""
    js = "js/admin-script.js loadFlights()"
    data = admin_json(a.admin_fetch("GET", "/api/admin/flights"), js)
    assert isinstance(data.get("flights"), list), f"{js}: reads data.flights: {data!r}"
    for f in data["flights"]:
        for key in ("flight_id", "airline", "departure_airport_name", "arrival_airport_name", "aircraft"):
            assert_text(f, key, js)
        for key in ("departure_time", "arrival_time"):
            assert_matches(f, key, TIME_TEXT, js)
        assert_number(f, "base_price", js)  # (base_price || 0).toLocaleString()
        assert_number(f, "total_seats", js)
    return data["flights"]


def load_available_schedules(a: Browser) -> list[dict]:
    """js/admin-script.js loadAvailableSchedules(): GET /api/admin/schedules; one <option
    value="${schedule_id}"> per schedule, labelled `${flight_id} - ${departure_name} →
    ${arrival_name} (${date} ${departure_time}) 원가: ₩${current_price.toLocaleString()}`, disabled
    when discount_percentage is truthy."""
    js = "js/admin-script.js loadAvailableSchedules()"
    data = admin_json(a.admin_fetch("GET", "/api/admin/schedules"), js)
    assert isinstance(data.get("schedules"), list), f"{js}: reads data.schedules: {data!r}"
    for s in data["schedules"]:
        assert_number(s, "schedule_id", js)
        for key in ("flight_id", "departure_name", "arrival_name"):
            assert_text(s, key, js)
        assert_matches(s, "flight_date", JS_DATE, js)
        assert_matches(s, "departure_time", TIME_TEXT, js)
        assert_number(s, "current_price", js)
        assert "discount_percentage" in s and (s["discount_percentage"] is None or is_int(s["discount_percentage"])), s
    return data["schedules"]


def schedule_option_value(s: dict) -> str:
    """The <select id="discount-schedule"> value the discount form sends: a string."""
    return str(s["schedule_id"])


def add_discount_form(a: Browser, option_value: str, rate: str) -> requests.Response:
    """js/admin-script.js discount-form submit: POST /api/admin/discounts {schedule_id: <select>.value
    (a STRING), discount_percentage: parseInt(<input>.value)}."""
    return a.admin_fetch("POST", "/api/admin/discounts",
                         {"schedule_id": option_value, "discount_percentage": int(rate)})


def load_discounts(a: Browser) -> list[dict]:
    """js/admin-script.js loadDiscounts(): GET /api/admin/discounts; one row per discount and a
    `removeDiscount(${discount_id})` button (the id is a JS number literal)."""
    js = "js/admin-script.js loadDiscounts()"
    data = admin_json(a.admin_fetch("GET", "/api/admin/discounts"), js)
    assert isinstance(data.get("discounts"), list), f"{js}: reads data.discounts: {data!r}"
    for d in data["discounts"]:
        for key in ("flight_id", "departure_name", "arrival_name", "status"):
            assert_text(d, key, js)
        assert_matches(d, "flight_date", JS_DATE, js)
        assert_matches(d, "departure_time", TIME_TEXT, js)
        assert_matches(d, "created_at", JS_DATETIME, js)  # new Date(created_at).toLocaleString()
        for key in ("current_price", "discounted_price", "discount_percentage", "discount_id"):
            assert_number(d, key, js)
    return data["discounts"]


def remove_discount(a: Browser, discount_id: int) -> requests.Response:
    """js/admin-script.js removeDiscount(discountId): DELETE /api/admin/discounts/${discountId}."""
    return a.admin_fetch("DELETE", f"/api/admin/discounts/{discount_id}")


def load_bookings(a: Browser) -> list[dict]:
    """js/admin-script.js loadBookings() -> displayBookings(data.bookings): GET /api/admin/bookings."""
    js = "js/admin-script.js loadBookings()/displayBookings()"
    data = admin_json(a.admin_fetch("GET", "/api/admin/bookings"), js)
    assert isinstance(data.get("bookings"), list), f"{js}: `if (data.bookings)`: {data!r}"
    for bk in data["bookings"]:
        assert_admin_booking_row(bk, js)
    return data["bookings"]


def assert_admin_booking_row(bk: dict, js: str) -> None:
    assert_matches(bk, "booking_number", BOOKING_NUMBER, js)  # also cancelBookingAdmin('${booking_number}')
    assert isinstance(bk.get("passengers"), list), f"{js}: passengers.map(p => p.name_kor): {bk!r}"
    for p in bk["passengers"]:
        assert_text(p, "name_kor", js)
    assert_text(bk, "customer_name", js)  # the fallback when passengers is missing
    for key in ("flight_id", "departure_name", "arrival_name"):
        assert_text(bk, key, js)
    assert_matches(bk, "flight_date", JS_DATE, js)
    assert "seat_number" in bk and (bk["seat_number"] is None or isinstance(bk["seat_number"], str)), bk
    assert_number(bk, "total_amount", js)  # formatPrice(): (amount || 0).toLocaleString()
    assert bk.get("status") in BOOKING_STATUSES, f"{js}: getStatusText(status), === 'CONFIRMED': {bk!r}"


def search_bookings(a: Browser, term: str) -> list[dict]:
    """js/admin-script.js searchBookings(): reads #booking-search but calls loadBookings() whatever
    the term (the search is "to be implemented" in the JS)."""
    assert term.strip()
    return load_bookings(a)


def cancel_booking_admin(a: Browser, booking_number: str) -> requests.Response:
    """js/admin-script.js cancelBookingAdmin(bookingNumber): PUT
    /api/admin/bookings/${bookingNumber}/cancel, Authorization only, no body."""
    return a.admin_fetch("PUT", f"/api/admin/bookings/{booking_number}/cancel")


# -- set-up helpers --------------------------------------------------------------------------


def new_flight_id() -> str:
    return "FE" + uuid.uuid4().hex[:5].upper()


def own_schedule(srv: cj.Server, a: Browser, departure: str = "ICN", arrival: str = "NRT", offset: int = 9,
                 price: str = "") -> dict:
    """A flight of the test's own with one schedule, made through the admin page's form."""
    fid = new_flight_id()
    date = day(offset)
    r = add_flight_form(a, flight_id=fid, departure=departure, arrival=arrival, departure_time="07:40",
                        arrival_time="10:05", base_price="310000", date=date, price=price)
    assert assert_flight_created(r, fid)["created_schedules"] == 1
    sid = int(srv.db_scalar("SELECT schedule_id AS s FROM flight_schedules WHERE flight_id = ?", (fid,)))
    return {"flight_id": fid, "schedule_id": sid, "date": date, "departure": departure, "arrival": arrival}


def setup_discount(a: Browser, schedule_id: int, pct: int) -> int:
    """Set-up only (not the request under test): the documented API with an integer schedule_id."""
    r = a.admin_fetch("POST", "/api/admin/discounts", {"schedule_id": schedule_id, "discount_percentage": pct})
    return cj.assert_json(r, 201)["discount_id"]


def setup_booking(srv: cj.Server, b: Browser, sched: dict, seat: str) -> dict:
    """Set-up only: a one-passenger booking through the documented API (integer scheduleId)."""
    row = next(f for f in search_flights(b, sched["departure"], sched["arrival"], sched["date"])
               if f["flight_id"] == sched["flight_id"])
    user = b.current_user
    r = srv.post("/api/bookings", headers={"Authorization": f"Bearer {user['token']}"}, json={
        "scheduleId": row["schedule_id"], "passengers": passengers_form(1),
        "contactInfo": {"email": user["email"], "phone": user["phone"]}, "paymentMethod": "card",
        "totalAmount": row["price"], "seats": [seat]})
    out = cj.assert_json(r, 201)
    return {**out, "total_amount": row["price"]}


def row_for(rows: list[dict], key: str, value) -> dict:
    found = [r for r in rows if r.get(key) == value]
    assert len(found) == 1, f"{key}={value!r}: {len(found)} rows"
    return found[0]


# ============================================================================================
# fixtures


@pytest.fixture(scope="module")
def server(request, tmp_path_factory, backend, bootpay_module):
    """A local deployment as the front end needs it (overrides conftest's `server`): single port,
    CORS for the page's origin, Bootpay keys and the fake Bootpay gateway."""
    mdb = request.getfixturevalue("mariadb") if backend == "mariadb" else None
    if mdb is not None and not mdb.running:
        mdb.start()
    srv = cj.Server(tmp_path_factory.mktemp(f"frontend-{backend}"), backend=backend, mariadb=mdb, extra_env={
        "LOGIN_MAX_FAILURES_PER_CLIENT": "1000",
        "CORS_ORIGINS": FRONTEND_ORIGIN,
        "BOOTPAY_REST_API_KEY": APPLICATION_ID,
        "BOOTPAY_PRIVATE_KEY": PRIVATE_KEY,
        "BOOTPAY_API_URL": bootpay_module.url,
    })
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def admin(server) -> Browser:
    return admin_login(server)


# ============================================================================================
# index.html on load


def test_home_page_loads_airports_through_the_gateway_alias(server):
    """js/api.js loadAirports() (DOMContentLoaded): FlightAPI.getAirports() -> GET /api/airports (the
    gateway's alias of /api/flights/airports); fills both <select>s from result.airports with
    airport_code / airport_name. On an error the page falls back to 5 hard-coded airports and loses
    SYD, LAX and CDG from the search form."""
    js = "js/api.js loadAirports()"
    b = Browser(server)
    result = ok_data(b.safe_api_call("/airports"), js)
    airports = result.get("airports")
    assert isinstance(airports, list) and airports, f"{js}: `if (result.airports && result.airports.length > 0)`"
    for a in airports:
        assert_text(a, "airport_code", js)
        assert_text(a, "airport_name", js)
    assert {a["airport_code"]: a["airport_name"] for a in airports if a["airport_code"] in AIRPORT_NAME} == AIRPORT_NAME
    direct = cj.assert_json(server.get("/api/flights/airports"), 200)
    assert result == direct, "the alias answers what /api/flights/airports answers"


def test_home_page_featured_promotions_lead_to_a_search_that_shows_the_deal(server, admin):
    """js/app.js loadPromotions() (the one in effect; DOMContentLoaded of api.js and of app.js both
    call it): FlightAPI.getFeatured() -> GET /api/flights/featured; each card reads departureAirport,
    arrivalAirport, price, date, discount_percentage, flightId, departureTime, arrivalTime,
    original_price; a click is app.js selectPromotion(departureAirport, arrivalAirport, price, date)
    -> js/flight.js searchFlights() for that route and date."""
    js = "js/app.js loadPromotions()"
    sched = own_schedule(server, admin, "ICN", "BKK", offset=3)
    setup_discount(admin, sched["schedule_id"], 95)  # the biggest discount of the module: first card
    b = Browser(server)
    for _ in range(2):  # both DOMContentLoaded handlers call loadPromotions()
        result = ok_data(b.safe_api_call("/flights/featured"), js)
    promos = result.get("flights")
    assert isinstance(promos, list) and promos, f"{js}: reads result.flights: {result!r}"
    for p in promos:
        for key in ("departureAirport", "arrivalAirport", "flightId"):
            assert_text(p, key, js)
        for key in ("departureTime", "arrivalTime"):
            assert_matches(p, key, TIME_TEXT, js)
        assert_matches(p, "date", JS_DATE, js)  # becomes the search form's departureDate
        for key in ("price", "original_price", "discount_percentage"):
            assert_number(p, key, js)  # `특가 ${discount_percentage}%`, original_price.toLocaleString()
    mine = [p for p in promos if p["flightId"] == sched["flight_id"]]
    assert len(mine) == 1, [p["flightId"] for p in promos]
    card = mine[0]
    assert (card["departureAirport"], card["arrivalAirport"], card["date"], card["discount_percentage"]) == (
        "ICN", "BKK", sched["date"], 95)
    assert card["price"] == discounted(card["original_price"], 95)

    # the click: app.js selectPromotion() sets the form and calls flight.js searchFlights()
    rows = search_flights(b, card["departureAirport"], card["arrivalAirport"], card["date"])
    row = row_for(rows, "flight_id", sched["flight_id"])
    assert (row["has_discount"], row["discount_percentage"], row["price"], row["original_price"]) == (
        True, 95, card["price"], card["original_price"])


def test_health_check_through_the_gateway_alias(server):
    """js/api.js checkApiHealth() (the "서버 상태 확인" button of flight.js searchFlights()'s error
    view): HealthAPI.checkAll() -> GET /api/health (the gateway rewrote it to /api/auth/health);
    reads health.status === 'healthy'."""
    js = "js/api.js checkApiHealth()"
    health = ok_data(Browser(server).safe_api_call("/health"), js)
    assert health.get("status") == "healthy", f"{js}: {health!r}"


# ============================================================================================
# sign-up and login


def test_signup_and_login_as_the_page_sends_them(server):
    """js/auth.js signup() then login(): {name, email, password, phone: formatPhone(phone),
    birthDate} -> result.success; {email, password} -> result.token, result.user (id, name, email,
    phone, role) stored as localStorage 'currentUser'."""
    b = Browser(server)
    email = cj.unique_email("fe-signup")
    data = ok_data(signup(b, "김하늘", email, PASSWORD, "010 9876 5432", "1988-08-08"), "js/auth.js signup()")
    assert data.get("success") is True, data  # `if (result.success)`
    result = login(b, email, PASSWORD)
    assert result["user"]["role"] == "USER"
    assert (result["user"]["name"], result["user"]["email"], result["user"]["phone"]) == (
        "김하늘", email, "010-9876-5432")


def test_signup_refusals_reach_the_page_as_a_message(server):
    """js/auth.js signup(): the page accepts passwords of 6+ characters; CloudJet asks for 8 (a
    deliberate hardening). A refusal must come back as JSON {message} with CORS headers, which the
    page shows as alert('회원가입 오류: ' + error.message); a taken e-mail likewise."""
    b = Browser(server)
    msg = error_message(signup(b, "홍길동", cj.unique_email("fe-short"), "abc123", "01012345678", "1990-01-01"),
                        "js/auth.js signup()")
    assert "8" in msg, msg
    email = cj.unique_email("fe-dup")
    assert ok_data(signup(b, "홍길동", email, PASSWORD, "01012345678", "1990-01-01"), "signup")["success"] is True
    error_message(signup(b, "홍길동", email, PASSWORD, "01012345678", "1990-01-01"), "js/auth.js signup()")


def test_admin_login_from_the_home_page_redirects_to_admin_page(server):
    """js/auth.js login() with the admin account: `if (result.user.role === 'ADMIN')` stores
    localStorage 'token' and 'userInfo' and opens admin.html, whose admin-script.js reads 'token'."""
    b = admin_login(server)
    assert b.local_storage["token"] == b.current_user["token"]
    flights = load_flights(b)
    assert flights, "admin.html with the stored token lists the flights"


@pytest.mark.parametrize("call", ["/airports", "/flights/featured", "/flights/search", "/bookings/occupied-seats",
                                  "/health", "/auth/login"])
def test_public_calls_work_with_a_stale_token_in_storage(server, admin, call):
    """js/api.js safeApiCall() adds `Authorization: Bearer <localStorage currentUser.token>` to EVERY
    call, public ones included, and the stored token is not refreshed: a traveller who logged in
    yesterday sends an expired token to loadAirports() (/airports), loadPromotions()
    (/flights/featured), searchFlights() (/flights/search), loadOccupiedSeats() and login().
    Public endpoints must answer as without a token (the original services ignored the header)."""
    js = f"js/api.js safeApiCall('{call}') with an expired token"
    b, user = new_traveller(server)
    expired = cj.make_jwt(cj.claims(user["id"], iat=int(time.time()) - 3 * 86400), server.secret_key)
    b.local_storage["currentUser"] = {**user, "token": expired}
    if call == "/flights/search":
        r = b.safe_api_call("/flights/search?" + urllib.parse.urlencode(
            {"departure": "ICN", "arrival": "NRT", "date": day(5)}))
    elif call == "/bookings/occupied-seats":
        sched = own_schedule(server, admin)
        r = b.safe_api_call(f"/bookings/occupied-seats/{sched['schedule_id']}")
    elif call == "/auth/login":
        r = b.safe_api_call("/auth/login", "POST", {"email": user["email"], "password": PASSWORD})
    else:
        r = b.safe_api_call(call)
    ok_data(r, js)


# ============================================================================================
# search, seat map, payment, booking: the steps one by one


def test_search_results_render_every_card_field(server, admin):
    """js/flight.js searchFlights() -> displaySearchResults() -> createFlightCard(): every row's
    fields (see assert_flight_card), for an anonymous visitor and for a logged-in traveller (whose
    token safeApiCall adds)."""
    sched = own_schedule(server, admin, "ICN", "KIX", offset=11, price="333000")
    anonymous = search_flights(Browser(server), "ICN", "KIX", sched["date"])
    b, _ = new_traveller(server)
    rows = search_flights(b, "ICN", "KIX", sched["date"])
    assert rows == anonymous
    row = row_for(rows, "flight_id", sched["flight_id"])
    assert (row["schedule_id"], row["price"], row["has_discount"], row["flightId"], row["departureAirport"],
            row["arrivalAirport"], row["airline"], row["aircraft"]) == (
        sched["schedule_id"], 333000, False, sched["flight_id"], "ICN", "KIX", "CloudJet", "Boeing 737-800")
    assert row["departureTime"].startswith("07:40") and row["arrivalTime"].startswith("10:05"), row


def test_seat_map_reads_occupied_seats_by_the_string_schedule_id(server, admin):
    """js/booking.js showSeatSelection() -> loadOccupiedSeats(): GET
    /api/bookings/occupied-seats/${selectedFlight.scheduleId} (the id from the onclick string);
    generateSeatMap(response.occupied_seats) marks `${row}${letter}` labels taken."""
    sched = own_schedule(server, admin, "GMP", "KIX", offset=12)
    b, _ = new_traveller(server)
    selected = select_flight(row_for(search_flights(b, "GMP", "KIX", sched["date"]), "flight_id", sched["flight_id"]))
    assert occupied_seats(b, selected["scheduleId"]) == []
    setup_booking(server, b, sched, "7D")
    assert occupied_seats(b, selected["scheduleId"]) == ["7D"]


def test_payment_init_accepts_the_string_schedule_id(server, admin):
    """js/booking.js startPayment() step 1: PaymentAPI.initPayment({scheduleId: '<id>' (string),
    amount: price * passengers, orderName}) -> reads init.success, init.bootpay.application_id,
    init.order_id."""
    sched = own_schedule(server, admin, "ICN", "NRT", offset=13)
    b, _ = new_traveller(server)
    selected = select_flight(row_for(search_flights(b, "ICN", "NRT", sched["date"]), "flight_id", sched["flight_id"]))
    init = ok_data(payment_init(b, selected, 1), "js/booking.js startPayment()")
    assert_init(init)
    assert init["bootpay"].get("price") == selected["price"], init


def test_booking_accepts_the_request_finalize_booking_builds(server, admin):
    """js/booking.js finalizeBooking(): window.api.createBooking({scheduleId: '<id>' (string),
    passengers: [{name, nameEn, birth, gender}], contactInfo: {email, phone}, paymentMethod: 'card',
    totalAmount, seats: ['12C']}) -> reads response.success, response.booking_id,
    response.booking_number."""
    sched = own_schedule(server, admin, "ICN", "NRT", offset=14)
    b, _ = new_traveller(server)
    selected = select_flight(row_for(search_flights(b, "ICN", "NRT", sched["date"]), "flight_id", sched["flight_id"]))
    resp = ok_data(finalize_booking(b, selected, passengers_form(1), ["12C"], selected["price"]),
                   "js/booking.js finalizeBooking()")
    assert_booked(resp)


def test_booking_for_two_passengers_sends_one_seat(server, admin):
    """js/booking.js: showPassengerForm() takes the passenger count from the search form (1-5), but
    selectSeat() keeps ONE seat (`bookingData.seats = [seatId]`) and proceedToPayment() only needs
    one, so finalizeBooking() sends N passengers with a single seat and totalAmount = price * N.
    The original booked it; the page must get response.success, and pages.js loadUserBookings()
    shows `승객 ${passengers.length}명` and `${p.seat_number || '좌석 미배정'}` for each."""
    js = "js/booking.js finalizeBooking() with 2 passengers"
    sched = own_schedule(server, admin, "ICN", "NRT", offset=15)
    b, _ = new_traveller(server)
    selected = select_flight(row_for(search_flights(b, "ICN", "NRT", sched["date"]), "flight_id", sched["flight_id"]))
    seat = free_seat(occupied_seats(b, selected["scheduleId"]))
    before = int(server.db_scalar("SELECT available_seats AS a FROM flight_schedules WHERE schedule_id = ?",
                                  (sched["schedule_id"],)))
    resp = ok_data(finalize_booking(b, selected, passengers_form(2), [seat], selected["price"] * 2), js)
    assert_booked(resp, js)
    mine = row_for(my_bookings(b), "booking_number", resp["booking_number"])
    assert len(mine["passengers"]) == 2 and mine["total_amount"] == selected["price"] * 2, mine
    assert seat in [p["seat_number"] for p in mine["passengers"]], mine
    assert seat in occupied_seats(b, selected["scheduleId"])
    after = int(server.db_scalar("SELECT available_seats AS a FROM flight_schedules WHERE schedule_id = ?",
                                 (sched["schedule_id"],)))
    assert after == before - 2


def test_seat_taken_meanwhile_reaches_the_page_as_a_message(server, admin):
    """js/booking.js finalizeBooking(): when another traveller took the seat after the seat map was
    loaded, safeApiCall throws Error(data.message) and startPayment() alerts; the answer must be
    JSON with a message naming the seat, and CORS headers (the first booking is set up through the
    documented API)."""
    sched = own_schedule(server, admin, "ICN", "NRT", offset=16)
    first, _ = new_traveller(server)
    setup_booking(server, first, sched, "12C")
    b, _ = new_traveller(server)
    row = row_for(search_flights(b, "ICN", "NRT", sched["date"]), "flight_id", sched["flight_id"])
    r = finalize_booking(b, select_flight(row), passengers_form(1), ["12C"], row["price"])
    assert "12C" in error_message(r, "js/booking.js finalizeBooking()")


# ============================================================================================
# the traveller's journey, end to end


def traveller_journey(server, admin, fake, webhook_first: bool) -> None:
    sched = own_schedule(server, admin, "ICN", "NRT", offset=8, price="298000")
    b = Browser(server)
    # index.html DOMContentLoaded: api.js loadAirports() + loadPromotions() (app.js's), app.js loadPromotions()
    assert ok_data(b.safe_api_call("/airports"), "js/api.js loadAirports()")["airports"]
    for _ in range(2):
        assert isinstance(ok_data(b.safe_api_call("/flights/featured"), "js/app.js loadPromotions()")["flights"], list)
    # sign up, log in (auth.js)
    email = cj.unique_email("fe-journey")
    assert ok_data(signup(b, "홍길동", email, PASSWORD, "01055556666", "1990-01-01"), "js/auth.js signup()")["success"]
    login(b, email, PASSWORD)
    # search (flight.js searchFlights) and the "선택" button (selectFlight)
    selected = select_flight(row_for(search_flights(b, "ICN", "NRT", sched["date"]), "flight_id", sched["flight_id"]))
    assert selected["price"] == 298000
    # booking.js steps 2-3: passengers, then the seat map
    passengers = passengers_form(1)
    seat = free_seat(occupied_seats(b, selected["scheduleId"]))
    total = selected["price"] * len(passengers)
    # booking.js startPaymentUnified() -> startPayment(): 1) payments/init
    init = ok_data(payment_init(b, selected, len(passengers)), "js/booking.js startPayment()")
    assert_init(init)
    order_id = init["order_id"]
    # 2) Bootpay.requestPayment(...) resolves; Bootpay's server calls the webhook
    receipt = bootpay_pays(server, fake, order_id, total) if webhook_first else None
    # 3) finalizeBooking(): bookings, then attach-booking
    booked = ok_data(finalize_booking(b, selected, passengers, [seat], total), "js/booking.js finalizeBooking()")
    assert_booked(booked)
    attached = ok_data(attach_booking(b, order_id, booked), "js/booking.js finalizeBooking() attachBooking")
    assert attached.get("success") is True, attached
    if not webhook_first:
        receipt = bootpay_pays(server, fake, order_id, total)
    pay = server.db_query("SELECT status, booking_id, amount FROM payments WHERE order_id = ?", (order_id,))
    assert pay == [{"status": "PAID", "booking_id": booked["booking_id"], "amount": total}], pay

    # showBookingSuccess() -> "예약 목록" -> pages.js showBookingList() -> loadUserBookings()
    mine = row_for(my_bookings(b), "booking_number", booked["booking_number"])
    assert (mine["status"], mine["flight_id"], mine["airline"], mine["flight_date"], mine["total_amount"],
            mine["departure_name"], mine["arrival_name"]) == (
        "CONFIRMED", sched["flight_id"], "CloudJet", sched["date"], total, AIRPORT_NAME["ICN"], AIRPORT_NAME["NRT"])
    assert mine["departure_time"].startswith("07:40"), mine
    assert [(p["name_kor"], p["seat_number"]) for p in mine["passengers"]] == [("홍길동", seat)]
    assert seat in occupied_seats(b, selected["scheduleId"])

    # "예약 취소": api.js cancelBookingAPI() then loadUserBookings() again
    cancelled = ok_data(cancel_booking(b, booked["booking_number"]), "js/api.js cancelBookingAPI()")
    assert cancelled.get("success") is True, cancelled  # `if (result.success)`
    mine = row_for(my_bookings(b), "booking_number", booked["booking_number"])
    assert mine["status"] == "CANCELLED", mine
    assert seat not in occupied_seats(b, selected["scheduleId"])
    # the money goes back: the refund reaches the gateway
    fake.wait_for_calls(1, "cancel", 200, timeout=15,
                        predicate=lambda c: isinstance(c.body, dict) and c.body.get("receipt_id") == receipt)
    assert [c["cancel_price"] for c in fake.cancels(receipt)] == [total]


def test_traveller_journey_end_to_end(server, admin, bootpay_module):
    """index.html, in the order the page makes the calls: api.js loadAirports() and app.js
    loadPromotions() (x2) -> auth.js signup()/login() -> flight.js searchFlights()/selectFlight() ->
    booking.js loadOccupiedSeats() -> startPayment(): payments/init (string scheduleId) ->
    Bootpay.requestPayment (the gateway's signed webhook) -> finalizeBooking(): bookings ->
    attach-booking -> pages.js loadUserBookings() -> api.js cancelBookingAPI() -> loadUserBookings()."""
    traveller_journey(server, admin, bootpay_module, webhook_first=True)


def test_traveller_journey_with_the_webhook_after_attach_booking(server, admin, bootpay_module):
    """Same journey as test_traveller_journey_end_to_end (booking.js startPayment()/finalizeBooking()),
    with Bootpay's webhook arriving only after finalizeBooking()'s bookings and attach-booking calls
    (Bootpay.requestPayment resolves in the browser before the gateway's server-side call lands)."""
    traveller_journey(server, admin, bootpay_module, webhook_first=False)


# ============================================================================================
# admin.html: the steps one by one


def test_admin_page_load_reads_every_listing(server, admin):
    """js/admin-script.js DOMContentLoaded: loadFlights(), loadAvailableSchedules(), loadDiscounts(),
    loadBookings() -- GETs with only the Authorization header; every row's fields (see the helpers).
    A schedule with a discount, and a booking, are set up so that every kind of row is present."""
    sched = own_schedule(server, admin, "KIX", "ICN", offset=17)
    setup_discount(admin, sched["schedule_id"], 12)
    b, _ = new_traveller(server)
    setup_booking(server, b, sched, "3A")
    assert any(f["flight_id"] == sched["flight_id"] for f in load_flights(admin))
    s = row_for(load_available_schedules(admin), "schedule_id", sched["schedule_id"])
    assert (s["departure_name"], s["arrival_name"], s["discount_percentage"]) == (
        AIRPORT_NAME["KIX"], AIRPORT_NAME["ICN"], 12), s
    assert any(d["schedule_id"] == sched["schedule_id"] for d in load_discounts(admin))
    assert load_bookings(admin)


def test_admin_add_flight_with_schedules_as_the_form_sends_it(server, admin):
    """js/admin-script.js add-flight-form submit: range mode with price and seats typed, then the
    same flight again in single mode with the optional fields left empty (not sent) -> reads
    data.result.flight_id / created_schedules / skipped; then loadFlights() and
    loadAvailableSchedules() show it with airport names and HH:MM times."""
    fid = new_flight_id()
    r = add_flight_form(admin, flight_id=f" {fid} ", departure="ICN", arrival="SYD", departure_time="21:35",
                        arrival_time="08:50", base_price="720000", aircraft="Boeing 787-9", mode="range",
                        start=day(20), end=day(22), price="700000", seats="150", overwrite="false")
    result = assert_flight_created(r, fid)
    assert (result["created_schedules"], result["skipped"]) == (3, 0), result
    r = add_flight_form(admin, flight_id=fid, departure="ICN", arrival="SYD", departure_time="21:35",
                        arrival_time="08:50", base_price="720000", aircraft="Boeing 787-9", date=day(21))
    result = assert_flight_created(r, fid)
    assert (result["created_schedules"], result["skipped"]) == (0, 1), result

    f = row_for(load_flights(admin), "flight_id", fid)
    assert (f["departure_airport_name"], f["arrival_airport_name"], f["departure_time"], f["arrival_time"],
            f["aircraft"], f["base_price"]) == (AIRPORT_NAME["ICN"], AIRPORT_NAME["SYD"], "21:35", "08:50",
                                                "Boeing 787-9", 720000), f
    mine = [s for s in load_available_schedules(admin) if s["flight_id"] == fid]
    assert [(s["flight_date"], s["current_price"], s["departure_name"], s["arrival_name"]) for s in mine] == [
        (day(d), 700000, AIRPORT_NAME["ICN"], AIRPORT_NAME["SYD"]) for d in (20, 21, 22)], mine


def test_admin_schedules_carry_airport_names(server, admin):
    """js/admin-script.js loadAvailableSchedules(): each <option> reads `${schedule.departure_name} →
    ${schedule.arrival_name}` (the original selected airport_name AS departure_name /
    arrival_name); without them the admin sees "undefined → undefined"."""
    sched = own_schedule(server, admin, "NRT", "ICN", offset=18)
    s = row_for(load_available_schedules(admin), "schedule_id", sched["schedule_id"])
    assert (s["departure_name"], s["arrival_name"], s["flight_id"], s["flight_date"]) == (
        AIRPORT_NAME["NRT"], AIRPORT_NAME["ICN"], sched["flight_id"], sched["date"]), s


def test_admin_creates_a_discount_from_the_select_value(server, admin):
    """js/admin-script.js discount-form submit: {schedule_id: <option value> (a STRING),
    discount_percentage: parseInt(rate)} -> `if (data.success || data.discount_id)`; then
    loadDiscounts() shows it and loadAvailableSchedules() disables its option."""
    js = "js/admin-script.js discount-form submit"
    sched = own_schedule(server, admin, "ICN", "CDG", offset=19)
    option = schedule_option_value(row_for(load_available_schedules(admin), "schedule_id", sched["schedule_id"]))
    assert option == str(sched["schedule_id"])
    data = admin_json(add_discount_form(admin, option, "30"), js)
    assert data.get("success") is True or data.get("discount_id"), f"{js}: alert('오류: ' + data.message): {data!r}"
    d = row_for(load_discounts(admin), "schedule_id", sched["schedule_id"])
    assert (d["discount_percentage"], d["current_price"], d["discounted_price"]) == (
        30, 310000, discounted(310000, 30)), d
    s = row_for(load_available_schedules(admin), "schedule_id", sched["schedule_id"])
    assert s["discount_percentage"] == 30, s  # the option is disabled: ' (할인 설정됨)'


def test_admin_removes_a_discount(server, admin):
    """js/admin-script.js removeDiscount(${discount_id}): DELETE /api/admin/discounts/<id> ->
    `if (data.success)`; loadDiscounts() no longer lists it and the traveller's search
    (js/flight.js) shows the plain price again. (The discount is set up through the documented API.)"""
    sched = own_schedule(server, admin, "ICN", "LAX", offset=21)
    setup_discount(admin, sched["schedule_id"], 20)
    d = row_for(load_discounts(admin), "schedule_id", sched["schedule_id"])
    data = admin_json(remove_discount(admin, d["discount_id"]), "js/admin-script.js removeDiscount()")
    assert data.get("success") is True, data
    assert not [x for x in load_discounts(admin) if x["schedule_id"] == sched["schedule_id"]]
    row = row_for(search_flights(Browser(server), "ICN", "LAX", sched["date"]), "flight_id", sched["flight_id"])
    assert (row["has_discount"], row["price"]) == (False, 310000), row


def test_admin_lists_searches_and_cancels_a_booking(server, admin):
    """js/admin-script.js loadBookings()/displayBookings(), searchBookings() (which calls
    loadBookings() whatever the term) and cancelBookingAdmin(): PUT
    /api/admin/bookings/<number>/cancel, Authorization only, no body -> `if (data.success)`; the
    traveller's pages.js loadUserBookings() then shows it cancelled and booking.js
    loadOccupiedSeats() frees the seat. (The booking is set up through the documented API.)"""
    sched = own_schedule(server, admin, "BKK", "ICN", offset=22)
    b, user = new_traveller(server)
    booked = setup_booking(server, b, sched, "5F")
    row = row_for(load_bookings(admin), "booking_number", booked["booking_number"])
    assert ([p["name_kor"] for p in row["passengers"]], row["flight_id"], row["departure_name"], row["arrival_name"],
            row["flight_date"], row["seat_number"], row["total_amount"], row["status"]) == (
        ["홍길동"], sched["flight_id"], AIRPORT_NAME["BKK"], AIRPORT_NAME["ICN"], sched["date"], "5F",
        booked["total_amount"], "CONFIRMED"), row
    assert any(x["booking_number"] == booked["booking_number"] for x in search_bookings(admin, booked["booking_number"]))
    data = admin_json(cancel_booking_admin(admin, booked["booking_number"]), "js/admin-script.js cancelBookingAdmin()")
    assert data.get("success") is True, data
    assert row_for(load_bookings(admin), "booking_number", booked["booking_number"])["status"] == "CANCELLED"
    assert row_for(my_bookings(b), "booking_number", booked["booking_number"])["status"] == "CANCELLED"
    assert "5F" not in occupied_seats(b, str(sched["schedule_id"]))


def test_admin_booking_search_endpoint_for_the_search_box(server, admin):
    """Not called by the front end as published: js/admin-script.js searchBookings() ignores the
    term (it calls loadBookings()). The endpoint its box is meant for, GET
    /api/admin/bookings/search?term=, answers rows displayBookings() can render, for a booking
    number and for an e-mail (`@` raw in the query, as a browser sends it)."""
    js = "GET /api/admin/bookings/search (for js/admin-script.js displayBookings())"
    sched = own_schedule(server, admin, "ICN", "GMP", offset=23)
    b, user = new_traveller(server)
    booked = setup_booking(server, b, sched, "9B")
    for term in (booked["booking_number"], user["email"]):
        data = admin_json(admin.admin_fetch("GET", f"/api/admin/bookings/search?term={term}"), js)
        assert isinstance(data.get("bookings"), list), data
        for bk in data["bookings"]:
            assert_admin_booking_row(bk, js)
        assert [x["booking_number"] for x in data["bookings"]] == [booked["booking_number"]], data


# ============================================================================================
# the admin's journey, end to end


def test_admin_journey_end_to_end(server, admin, bootpay_module):
    """admin.html: js/auth.js login() (ADMIN -> admin.html) -> admin-script.js DOMContentLoaded
    (loadFlights, loadAvailableSchedules, loadDiscounts, loadBookings) -> add-flight-form submit
    (flights-with-schedules) -> loadFlights/loadAvailableSchedules (departure_name/arrival_name) ->
    discount-form submit (schedule_id a string) -> loadDiscounts -> the traveller's flight.js
    searchFlights() shows the deal and books it (booking.js, string scheduleId) -> loadBookings()
    -> searchBookings() -> cancelBookingAdmin() -> the traveller's loadUserBookings()."""
    a = admin_login(server)
    load_flights(a)
    load_available_schedules(a)
    load_discounts(a)
    load_bookings(a)

    fid = new_flight_id()
    result = assert_flight_created(add_flight_form(
        a, flight_id=fid, departure="GMP", arrival="NRT", departure_time="09:05", arrival_time="11:20",
        base_price="280000", aircraft="Airbus A320", mode="range", start=day(25), end=day(26)), fid)
    assert (result["created_schedules"], result["skipped"]) == (2, 0), result
    assert row_for(load_flights(a), "flight_id", fid)["departure_airport_name"] == AIRPORT_NAME["GMP"]
    options = [s for s in load_available_schedules(a) if s["flight_id"] == fid]
    assert [(s["flight_date"], s["departure_name"], s["arrival_name"], s["current_price"]) for s in options] == [
        (day(25), AIRPORT_NAME["GMP"], AIRPORT_NAME["NRT"], 280000),
        (day(26), AIRPORT_NAME["GMP"], AIRPORT_NAME["NRT"], 280000)], options
    target = options[0]

    data = admin_json(add_discount_form(a, schedule_option_value(target), "25"), "js/admin-script.js discount-form")
    assert data.get("success") is True or data.get("discount_id"), data
    d = row_for(load_discounts(a), "schedule_id", target["schedule_id"])
    assert (d["flight_id"], d["discount_percentage"], d["discounted_price"]) == (fid, 25, discounted(280000, 25)), d
    load_available_schedules(a)

    # the traveller sees the deal and books it, as index.html does
    b, _ = new_traveller(server)
    row = row_for(search_flights(b, "GMP", "NRT", day(25)), "flight_id", fid)
    assert (row["has_discount"], row["discount_percentage"], row["original_price"], row["price"]) == (
        True, 25, 280000, discounted(280000, 25)), row
    selected = select_flight(row)
    seat = free_seat(occupied_seats(b, selected["scheduleId"]), "1A")
    init = ok_data(payment_init(b, selected, 1), "js/booking.js startPayment()")
    assert_init(init)
    bootpay_pays(server, bootpay_module, init["order_id"], selected["price"])
    booked = ok_data(finalize_booking(b, selected, passengers_form(1), [seat], selected["price"]),
                     "js/booking.js finalizeBooking()")
    assert_booked(booked)
    assert ok_data(attach_booking(b, init["order_id"], booked), "attachBooking")["success"] is True

    listed = row_for(load_bookings(a), "booking_number", booked["booking_number"])
    assert (listed["status"], listed["seat_number"], listed["total_amount"]) == ("CONFIRMED", seat, selected["price"])
    assert any(x["booking_number"] == booked["booking_number"] for x in search_bookings(a, booked["booking_number"]))
    data = admin_json(cancel_booking_admin(a, booked["booking_number"]), "js/admin-script.js cancelBookingAdmin()")
    assert data.get("success") is True, data
    assert row_for(load_bookings(a), "booking_number", booked["booking_number"])["status"] == "CANCELLED"
    assert row_for(my_bookings(b), "booking_number", booked["booking_number"])["status"] == "CANCELLED"


# ============================================================================================
# CORS: the preflight the browser sends before every call above

# (JS function, method, path, Access-Control-Request-Headers as a browser sends them)
FRONTEND_CALLS = [
    ("js/api.js loadAirports()", "GET", "/api/airports", "content-type"),
    ("js/app.js loadPromotions()", "GET", "/api/flights/featured", "content-type"),
    ("js/api.js checkApiHealth()", "GET", "/api/health", "content-type"),
    ("js/auth.js signup()", "POST", "/api/auth/signup", "content-type"),
    ("js/auth.js login()", "POST", "/api/auth/login", "content-type"),
    ("js/flight.js searchFlights()", "GET", "/api/flights/search?departure=ICN&arrival=NRT&date=2030-01-01",
     "authorization,content-type"),
    ("js/booking.js loadOccupiedSeats()", "GET", "/api/bookings/occupied-seats/34", "authorization,content-type"),
    ("js/booking.js startPayment()", "POST", "/api/payments/init", "authorization,content-type"),
    ("js/booking.js finalizeBooking()", "POST", "/api/bookings", "authorization,content-type"),
    ("js/booking.js finalizeBooking() attachBooking", "POST", "/api/payments/attach-booking",
     "authorization,content-type"),
    ("js/pages.js loadUserBookings()", "GET", "/api/bookings", "authorization,content-type"),
    ("js/api.js cancelBookingAPI()", "POST", "/api/bookings/CJABCD1234/cancel", "authorization,content-type"),
    ("js/admin-script.js loadFlights()", "GET", "/api/admin/flights", "authorization"),
    ("js/admin-script.js add-flight-form", "POST", "/api/admin/flights-with-schedules", "authorization,content-type"),
    ("js/admin-script.js loadAvailableSchedules()", "GET", "/api/admin/schedules", "authorization"),
    ("js/admin-script.js loadDiscounts()", "GET", "/api/admin/discounts", "authorization"),
    ("js/admin-script.js discount-form", "POST", "/api/admin/discounts", "authorization,content-type"),
    ("js/admin-script.js removeDiscount()", "DELETE", "/api/admin/discounts/7", "authorization"),
    ("js/admin-script.js loadBookings()", "GET", "/api/admin/bookings", "authorization"),
    ("js/admin-script.js cancelBookingAdmin()", "PUT", "/api/admin/bookings/CJABCD1234/cancel", "authorization"),
]


@pytest.mark.parametrize("js,method,path,req_headers", FRONTEND_CALLS, ids=[c[0] + " " + c[2].split("?")[0]
                                                                           for c in FRONTEND_CALLS])
def test_cors_preflight_of_every_frontend_call(server, js, method, path, req_headers):
    """The browser's preflight before each call of the front end (cross-origin, non-simple because
    of Content-Type: application/json and/or Authorization): OPTIONS with Origin,
    Access-Control-Request-Method and -Headers (lower-case, comma-separated). It must answer 2xx
    allowing that origin, that method and every requested header; no credentials are sent (fetch()
    without `credentials: 'include'`)."""
    r = server.request("OPTIONS", path, headers={
        "Origin": FRONTEND_ORIGIN, "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": req_headers})
    assert 200 <= r.status_code < 300, f"{js}: preflight OPTIONS {path} -> {r.status_code} {r.text[:200]}"
    assert r.headers.get("Access-Control-Allow-Origin") in (FRONTEND_ORIGIN, "*"), dict(r.headers)
    methods = {m.strip().upper() for m in r.headers.get("Access-Control-Allow-Methods", "").split(",")}
    assert method in methods or "*" in methods, f"{js}: {method} not in {methods}"
    allowed = {h.strip().lower() for h in r.headers.get("Access-Control-Allow-Headers", "").split(",")}
    for h in req_headers.split(","):
        # Authorization is never covered by a "*" wildcard (Fetch standard)
        assert h in allowed or (h != "authorization" and "*" in allowed), f"{js}: {h} not in {allowed}"


def test_cors_headers_on_errors_so_the_page_can_read_the_message(server):
    """js/api.js safeApiCall(): a refusal is only readable (data.message) if the answer carries
    Access-Control-Allow-Origin: here an expired session on pages.js loadUserBookings() (401) and an
    unknown path (404, JSON, never HTML: safeApiCall rejects text/html)."""
    b, user = new_traveller(server)
    b.local_storage["currentUser"] = {**user, "token": "stale.token.value"}
    assert error_message(b.safe_api_call("/bookings"), "js/pages.js loadUserBookings()")
    r = b.safe_api_call("/user/profile")  # js/api.js UserAPI.getProfile(): defined, never called
    assert r.status_code == 404 and "text/html" not in r.headers.get("Content-Type", "")
    assert error_message(r, "js/api.js UserAPI.getProfile()")
