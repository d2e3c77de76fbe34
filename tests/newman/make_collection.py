#!/usr/bin/env python3
"""Writes docs/CloudJet-API.postman_collection.json and docs/test-environment.json.

The collection is the source of truth for Postman users; this script is how it is maintained
(readable Python + JavaScript instead of hand-edited JSON). After changing it:

    python3 tests/newman/make_collection.py          # rewrite both files
    python3 tests/newman/make_collection.py --check  # exit 1 if the committed files differ

tests/integration/test_newman.py runs the collection with newman against the real binary and
also runs --check, so the committed JSON never drifts from this script.

The journey (every request has test scripts asserting status codes, fields and the state left by
the previous requests): health of the five services -> signup/login/profile -> airports, search
(the first result a few days ahead is the schedule booked; its `price` is what the server wants)
-> book a seat, see it occupied, list it, cancel it, see it free -> refusals (seat taken, price
changed, no token) -> payment init, signed webhooks (HMAC-SHA256 over the raw body, computed in a
pre-request script with CryptoJS), attach-booking -> admin: login, a new flight with schedules, a
discount (search and booking price follow it), bookings list/search, cancel, clean-up.

Re-runnable against the same server (unique email, flight id and receipt per run; the seat is
chosen among the free ones).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COLLECTION = REPO / "docs" / "CloudJet-API.postman_collection.json"
ENVIRONMENT = REPO / "docs" / "test-environment.json"

# Fixed ids, so the generated files are stable.
COLLECTION_ID = "5d0c1c8e-6f7a-4c55-9a3e-0c10d7e70001"
ENVIRONMENT_ID = "a9e4a7f2-2b1d-4b8e-8c5e-0c10d7e70002"

# Prepended to every test script: the parsed body (null when not JSON) and two helpers.
PRELUDE = r"""
const body = (() => { try { return pm.response.json(); } catch (e) { return null; } })();
const v = (name) => pm.variables.get(name);
const num = (name) => Number(pm.variables.get(name));
function expectError(status, code, message) {
    pm.test(`status ${status} ${code}`, () => {
        pm.response.to.have.status(status);
        pm.expect(body, 'JSON error body').to.be.an('object');
        pm.expect(body.error).to.eql(code);
    });
    if (message !== undefined) {
        pm.test('error message', () => pm.expect(body.message).to.eql(message));
    }
}
function expectJson(status) {
    pm.test(`status ${status}, JSON`, () => {
        pm.response.to.have.status(status);
        pm.expect(pm.response.headers.get('Content-Type')).to.include('application/json');
        pm.expect(body).to.be.an('object');
    });
}
""".strip("\n")


def script(kind: str, code: str) -> dict:
    code = code.strip("\n")
    if kind == "test":
        code = PRELUDE + "\n" + code
    return {"listen": kind, "script": {"type": "text/javascript", "exec": code.split("\n")}}


def url(path: str) -> dict:
    """A Postman URL object for `{{baseUrl}}/api/...?...`."""
    raw = "{{baseUrl}}" + path
    p, _, q = path.partition("?")
    out: dict = {"raw": raw, "host": ["{{baseUrl}}"], "path": [s for s in p.split("/") if s]}
    if q:
        out["query"] = [{"key": k, "value": val} for k, _, val in (kv.partition("=") for kv in q.split("&"))]
    return out


def req(name: str, method: str, path: str, *, test: str, pre: str | None = None, body=None,
        raw: str | None = None, token: str | None = "{{token}}", headers: dict | None = None,
        description: str | None = None) -> dict:
    hdrs = []
    if token:
        hdrs.append({"key": "Authorization", "value": f"Bearer {token}"})
    if body is not None or raw is not None:
        hdrs.append({"key": "Content-Type", "value": "application/json"})
    for k, val in (headers or {}).items():
        hdrs.append({"key": k, "value": val})
    r: dict = {"method": method, "header": hdrs, "url": url(path)}
    if body is not None:
        raw = json.dumps(body, ensure_ascii=False, indent=2)
    if raw is not None:
        r["body"] = {"mode": "raw", "raw": raw, "options": {"raw": {"language": "json"}}}
    if description:
        r["description"] = description
    item = {"name": name, "event": [], "request": r}
    if pre:
        item["event"].append(script("prerequest", pre))
    item["event"].append(script("test", test))
    return item


def folder(name: str, description: str, items: list[dict]) -> dict:
    return {"name": name, "description": description, "item": items}


# ------------------------------------------------------------------------------------------------
# 1. health

def health_items() -> list[dict]:
    items = []
    for svc, prefix, port in (("auth", "auth", 5001), ("flight", "flights", 5002), ("booking", "bookings", 5003),
                              ("admin", "admin", 5004), ("payment", "payments", 5005)):
        items.append(req(f"{svc} health", "GET", f"/api/{prefix}/health", token=None, test=f"""
expectJson(200);
pm.test('{svc}-service is healthy on its port', () => {{
    pm.expect(body).to.eql({{status: 'healthy', service: '{svc}-service', port: {port}}});
}});
"""))
    items.append(req("gateway alias /api/health", "GET", "/api/health", token=None, test="""
expectJson(200);
pm.test('answers as the auth service', () => pm.expect(body.service).to.eql('auth-service'));
"""))
    items.append(req("readiness /ready", "GET", "/ready", token=None, test="""
expectJson(200);
pm.test('the database answers', () => pm.expect(body.status).to.eql('ready'));
"""))
    return items


# ------------------------------------------------------------------------------------------------
# 2. auth

def auth_items() -> list[dict]:
    signup_body = {"name": "{{userName}}", "email": "{{email}}", "password": "{{password}}",
                   "phone": "010-1234-5678", "birthDate": "1990-01-01"}
    return [
        req("signup", "POST", "/api/auth/signup", token=None, body=signup_body, pre="""
const stamp = Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
pm.collectionVariables.set('email', `newman-${stamp}@example.com`);
pm.collectionVariables.set('password', 'newman-pw-' + stamp);
pm.collectionVariables.set('userName', '홍길동');
""", test="""
expectJson(201);
pm.test('signup message and success', () => {
    pm.expect(body).to.eql({message: '회원가입이 성공적으로 완료되었습니다.', success: true});
});
"""),
        req("signup again with the same email", "POST", "/api/auth/signup", token=None, body=signup_body, test="""
expectError(400, 'email_taken', '이미 존재하는 이메일입니다.');
"""),
        req("signup without a phone", "POST", "/api/auth/signup", token=None,
            body={"name": "홍길동", "email": "missing-{{email}}", "password": "{{password}}", "birthDate": "1990-01-01"},
            test="""
expectError(400, 'missing_field');
pm.test('the message names the field', () => pm.expect(body.message).to.include('phone'));
"""),
        req("login with a wrong password", "POST", "/api/auth/login", token=None,
            body={"email": "{{email}}", "password": "wrong-{{password}}"}, test="""
expectError(401, 'invalid_credentials', '이메일 또는 비밀번호가 잘못되었습니다.');
pm.test('no token in a refusal', () => pm.expect(body).to.not.have.property('token'));
"""),
        req("login", "POST", "/api/auth/login", token=None, body={"email": "{{email}}", "password": "{{password}}"},
            test="""
expectJson(200);
pm.test('login message', () => pm.expect(body.message).to.eql('로그인 성공'));
pm.test('the user is the one who signed up', () => {
    pm.expect(body.user.email).to.eql(v('email'));
    pm.expect(body.user.name).to.eql('홍길동');
    pm.expect(body.user.phone).to.eql('010-1234-5678');
    pm.expect(body.user.role).to.eql('USER');
    pm.expect(body.user.id).to.be.a('number').and.above(0);
});
const parts = String(body.token).split('.');
pm.test('token is an HS256 JWT for this user, 24 h', () => {
    pm.expect(parts).to.have.lengthOf(3);
    const decode = (s) => JSON.parse(CryptoJS.enc.Base64.parse(
        s.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(s.length / 4) * 4, '=')).toString(CryptoJS.enc.Utf8));
    const header = decode(parts[0]), claims = decode(parts[1]);
    pm.expect(header.alg).to.eql('HS256');
    pm.expect(claims.user_id).to.eql(body.user.id);
    pm.expect(claims.role).to.eql('USER');
    pm.expect(claims.exp - claims.iat).to.eql(86400);
});
pm.collectionVariables.set('token', body.token);
pm.collectionVariables.set('userId', body.user.id);
"""),
        req("profile", "GET", "/api/auth/profile", test="""
expectJson(200);
pm.test('profile of the logged-in user', () => {
    pm.expect(body.user.user_id).to.eql(num('userId'));
    pm.expect(body.user.email).to.eql(v('email'));
    pm.expect(body.user.name).to.eql('홍길동');
    pm.expect(body.user.phone).to.eql('010-1234-5678');
    pm.expect(body.user.birth_date).to.eql('1990-01-01');
    pm.expect(body.user.role).to.eql('USER');
});
pm.test('no password hash in the profile', () => pm.expect(body.user).to.not.have.property('password_hash'));
"""),
        req("update profile phone", "PUT", "/api/auth/profile", body={"phone": "010-9876-5432"}, test="""
expectJson(200);
pm.test('update message', () => {
    pm.expect(body).to.eql({message: '프로필이 성공적으로 업데이트되었습니다.', success: true});
});
"""),
        req("profile after the update", "GET", "/api/auth/profile", test="""
expectJson(200);
pm.test('phone changed, the omitted name kept', () => {
    pm.expect(body.user.phone).to.eql('010-9876-5432');
    pm.expect(body.user.name).to.eql('홍길동');
});
"""),
        req("profile without a token", "GET", "/api/auth/profile", token=None, test="""
expectError(401, 'token_missing', '토큰이 없습니다.');
"""),
        req("profile with a forged token", "GET", "/api/auth/profile", token="{{token}}x", test="""
expectError(401, 'invalid_token', '유효하지 않은 토큰입니다.');
"""),
    ]


# ------------------------------------------------------------------------------------------------
# 3. flights

PICK_SEAT = """
const occupied = body.occupied_seats;
let seat = null;
for (let row = 1; row <= 30 && !seat; row++) {
    for (const letter of ['A', 'B', 'C', 'D', 'E', 'F']) {
        if (!occupied.includes(`${row}${letter}`)) { seat = `${row}${letter}`; break; }
    }
}
pm.test('a free seat exists', () => pm.expect(seat).to.be.a('string'));
"""


def flight_items() -> list[dict]:
    return [
        req("airports", "GET", "/api/flights/airports", token=None, test="""
expectJson(200);
const codes = body.airports.map((a) => a.airport_code);
pm.test('the eight reference airports', () => {
    pm.expect(codes).to.include.members(['ICN', 'GMP', 'NRT', 'KIX', 'BKK', 'SYD', 'LAX', 'CDG']);
});
pm.test('ICN is 인천국제공항 in Seoul, Asia/Seoul', () => {
    const icn = body.airports.find((a) => a.airport_code === 'ICN');
    pm.expect(icn.airport_name).to.eql('인천국제공항');
    pm.expect(icn.city).to.eql('서울');
    pm.expect(icn.country).to.eql('대한민국');
    pm.expect(icn.time_zone).to.eql('Asia/Seoul');
});
pm.test('ordered by name', () => {
    const names = body.airports.map((a) => a.airport_name);
    pm.expect(names).to.eql([...names].sort());
});
pm.collectionVariables.set('airportCount', body.airports.length);
"""),
        req("gateway alias /api/airports", "GET", "/api/airports", token=None, test="""
expectJson(200);
pm.test('same airports as /api/flights/airports', () => {
    pm.expect(body.airports).to.have.lengthOf(num('airportCount'));
});
"""),
        req("search without a date", "GET", "/api/flights/search?departure=ICN&arrival=NRT", token=None, test="""
expectError(400, 'missing_field', '출발지, 도착지, 날짜를 모두 입력해주세요.');
"""),
        req("search ICN to NRT, three days ahead", "GET",
            "/api/flights/search?departure=ICN&arrival=NRT&date={{searchDate}}", token=None, pre="""
// Three days ahead (UTC): inside the 30 days of demo schedules, far past the sales cut-off.
pm.collectionVariables.set('searchDate', new Date(Date.now() + 3 * 86400e3).toISOString().slice(0, 10));
""", test="""
expectJson(200);
const rows = body.flights;
pm.test('demo schedules found, total matches', () => {
    pm.expect(rows).to.be.an('array').that.is.not.empty;
    pm.expect(body.total).to.eql(rows.length);
});
pm.test('every row is ICN -> NRT on that date with seats', () => {
    rows.forEach((f) => {
        pm.expect(f.departure_airport).to.eql('ICN');
        pm.expect(f.arrival_airport).to.eql('NRT');
        pm.expect(f.departure_name).to.eql('인천국제공항');
        pm.expect(f.arrival_name).to.eql('나리타국제공항');
        pm.expect(f.date).to.eql(v('searchDate'));
        pm.expect(f.available_seats).to.be.above(0);
    });
});
pm.test('price is the schedule price after its discount (rounded)', () => {
    rows.forEach((f) => {
        const expected = f.discount_percentage === null ? f.original_price
            : Math.floor((f.original_price * (100 - f.discount_percentage) + 50) / 100);
        pm.expect(f.price).to.eql(expected);
        pm.expect(f.has_discount).to.eql(f.discount_percentage !== null);
    });
});
pm.test('ordered by price', () => {
    const prices = rows.map((f) => f.price);
    pm.expect(prices).to.eql([...prices].sort((a, b) => a - b));
});
pm.test('camelCase aliases agree', () => {
    rows.forEach((f) => {
        pm.expect(f.flightId).to.eql(f.flight_id);
        pm.expect(f.departureAirport).to.eql(f.departure_airport);
        pm.expect(f.arrivalAirport).to.eql(f.arrival_airport);
        pm.expect(f.departureTime).to.eql(f.departure_time);
        pm.expect(f.arrivalTime).to.eql(f.arrival_time);
    });
});
const pick = rows[0];
pm.collectionVariables.set('scheduleId', pick.schedule_id);
pm.collectionVariables.set('flightId', pick.flight_id);
pm.collectionVariables.set('unitPrice', pick.price);
pm.collectionVariables.set('wrongPrice', pick.price + 1000);
pm.collectionVariables.set('seatsBefore', pick.available_seats);
"""),
        req("featured", "GET", "/api/flights/featured", token=None, test="""
expectJson(200);
pm.test('at most six discounted flights, biggest discount first', () => {
    pm.expect(body.flights.length).to.be.at.most(6);
    pm.expect(body.total).to.eql(body.flights.length);
    body.flights.forEach((f) => {
        pm.expect(f.has_discount).to.eql(true);
        pm.expect(f.price).to.eql(f.discounted_price);
    });
    const pcts = body.flights.map((f) => f.discount_percentage);
    pm.expect(pcts).to.eql([...pcts].sort((a, b) => b - a));
});
"""),
        req("promotions", "GET", "/api/flights/promotions", token=None, test="""
expectJson(200);
pm.test('promotions list with its total', () => {
    pm.expect(body.promotions).to.be.an('array');
    pm.expect(body.total).to.eql(body.promotions.length);
});
"""),
        req("occupied seats of the picked schedule", "GET", "/api/bookings/occupied-seats/{{scheduleId}}",
            token=None, test="""
expectJson(200);
pm.test('a sorted list of seat labels', () => {
    pm.expect(body.occupied_seats).to.be.an('array');
    body.occupied_seats.forEach((s) => pm.expect(s).to.match(/^[0-9]{1,2}[A-K]$/));
});
""" + PICK_SEAT + """
pm.collectionVariables.set('seat', seat);
"""),
    ]


# ------------------------------------------------------------------------------------------------
# 4. booking journey

def booking_body(price: str = "{{unitPrice}}", seat: str = "{{seat}}", schedule: str = "{{scheduleId}}") -> str:
    return ("{\n"
            f'  "scheduleId": {schedule},\n'
            '  "passengers": [{"name": "홍길동", "nameEn": "HONG GILDONG", "birth": "1990-01-01", "gender": "M"}],\n'
            '  "contactInfo": {"email": "{{email}}", "phone": "010-1234-5678"},\n'
            '  "paymentMethod": "CARD",\n'
            f'  "totalAmount": {price},\n'
            f'  "seats": ["{seat}"]\n'
            "}")


def booking_items() -> list[dict]:
    return [
        req("book without a token", "POST", "/api/bookings", token=None, raw=booking_body(), test="""
expectError(401, 'token_missing', '토큰이 없습니다.');
"""),
        req("book at a wrong price", "POST", "/api/bookings", raw=booking_body(price="{{wrongPrice}}"), test="""
expectError(409, 'price_changed', '항공권 가격이 변경되었습니다. 다시 확인해주세요.');
pm.test('the refusal carries the price to pay', () => {
    pm.expect(body.current_unit_price).to.eql(num('unitPrice'));
    pm.expect(body.current_total_price).to.eql(num('unitPrice'));
});
"""),
        req("book the seat", "POST", "/api/bookings", raw=booking_body(), test="""
expectJson(201);
pm.test('booking created and CONFIRMED', () => {
    pm.expect(body.message).to.eql('예약이 성공적으로 생성되었습니다.');
    pm.expect(body.success).to.eql(true);
    pm.expect(body.status).to.eql('CONFIRMED');
    pm.expect(body.booking_id).to.be.a('number').and.above(0);
});
pm.test('booking number is CJ + 8', () => pm.expect(body.booking_number).to.match(/^CJ[A-Z0-9]{8}$/));
pm.collectionVariables.set('bookingId', body.booking_id);
pm.collectionVariables.set('bookingNumber', body.booking_number);
"""),
        req("the seat is occupied", "GET", "/api/bookings/occupied-seats/{{scheduleId}}", token=None, test="""
expectJson(200);
pm.test('occupied seats contain the booked seat', () => pm.expect(body.occupied_seats).to.include(v('seat')));
pm.test('still sorted, no duplicates', () => {
    pm.expect(new Set(body.occupied_seats).size).to.eql(body.occupied_seats.length);
});
"""),
        req("book the same seat again", "POST", "/api/bookings", raw=booking_body(), test="""
expectError(409, 'seat_taken');
pm.test('the message names the seat', () => pm.expect(body.message).to.eql('이미 선택된 좌석입니다: ' + v('seat')));
"""),
        req("search shows one seat fewer", "GET",
            "/api/flights/search?departure=ICN&arrival=NRT&date={{searchDate}}", token=None, test="""
expectJson(200);
const row = body.flights.find((f) => f.schedule_id === num('scheduleId'));
pm.test('available_seats went down by one (cache invalidated)', () => {
    pm.expect(row, 'the booked schedule').to.be.an('object');
    pm.expect(row.available_seats).to.eql(num('seatsBefore') - 1);
});
"""),
        req("my bookings contain it", "GET", "/api/bookings", test="""
expectJson(200);
const b = body.bookings.find((x) => x.booking_number === v('bookingNumber'));
pm.test('the booking is listed with its seat and amount', () => {
    pm.expect(b, 'booking in the list').to.be.an('object');
    pm.expect(b.booking_id).to.eql(num('bookingId'));
    pm.expect(b.seat_number).to.eql(v('seat'));
    pm.expect(b.total_amount).to.eql(num('unitPrice'));
    pm.expect(b.status).to.eql('CONFIRMED');
});
pm.test('flight and contact details', () => {
    pm.expect(b.flight_id).to.eql(v('flightId'));
    pm.expect(b.flight_date).to.eql(v('searchDate'));
    pm.expect(b.departure_airport).to.eql('ICN');
    pm.expect(b.arrival_airport).to.eql('NRT');
    pm.expect(b.contact_email).to.eql(v('email'));
    pm.expect(b.payment_method).to.eql('CARD');
});
pm.test('the passenger keeps the seat', () => {
    pm.expect(b.passengers).to.have.lengthOf(1);
    pm.expect(b.passengers[0].name_kor).to.eql('홍길동');
    pm.expect(b.passengers[0].name_eng).to.eql('HONG GILDONG');
    pm.expect(b.passengers[0].seat_number).to.eql(v('seat'));
});
"""),
        req("my bookings without a token", "GET", "/api/bookings", token=None, test="""
expectError(401, 'token_missing', '토큰이 없습니다.');
"""),
        req("cancel the booking", "POST", "/api/bookings/{{bookingNumber}}/cancel", test="""
expectJson(200);
pm.test('cancel message, same booking number', () => {
    pm.expect(body).to.eql({message: '예약이 성공적으로 취소되었습니다.', success: true,
                            booking_number: v('bookingNumber')});
});
"""),
        req("the seat is free again", "GET", "/api/bookings/occupied-seats/{{scheduleId}}", token=None, test="""
expectJson(200);
pm.test('occupied seats no longer contain the seat', () => pm.expect(body.occupied_seats).to.not.include(v('seat')));
"""),
        req("my bookings show it CANCELLED", "GET", "/api/bookings", test="""
expectJson(200);
const b = body.bookings.find((x) => x.booking_number === v('bookingNumber'));
pm.test('status CANCELLED', () => pm.expect(b.status).to.eql('CANCELLED'));
"""),
        req("cancel it twice", "POST", "/api/bookings/{{bookingNumber}}/cancel", test="""
expectError(404, 'booking_not_found', '취소 가능한 예약을 찾을 수 없습니다.');
"""),
        req("search shows the seat back", "GET",
            "/api/flights/search?departure=ICN&arrival=NRT&date={{searchDate}}", token=None, test="""
expectJson(200);
const row = body.flights.find((f) => f.schedule_id === num('scheduleId'));
pm.test('available_seats restored', () => pm.expect(row.available_seats).to.eql(num('seatsBefore')));
"""),
    ]


# ------------------------------------------------------------------------------------------------
# 5. payment

WEBHOOK_SIGN = """
// Bootpay signs the exact raw body: base64(HMAC-SHA256(BOOTPAY_PRIVATE_KEY, body)).
const raw = pm.variables.replaceIn(pm.request.body.raw);
const key = pm.variables.get('bootpayPrivateKey');
pm.collectionVariables.set('webhookSignature', CryptoJS.HmacSHA256(raw, key).toString(CryptoJS.enc.Base64));
"""
WEBHOOK_BODY = ('{"receipt_id": "{{receiptId}}", "order_id": "{{orderId}}", "price": %s, '
                '"status": 1, "status_en": "complete", "method": "card", "pg": "nicepay"}')


def payment_items() -> list[dict]:
    return [
        req("book the seat again (to pay for it)", "POST", "/api/bookings", raw=booking_body(), test="""
expectJson(201);
pm.test('the freed seat can be booked again', () => {
    pm.expect(body.status).to.eql('CONFIRMED');
    pm.expect(body.booking_number).to.not.eql(v('bookingNumber'));
});
pm.collectionVariables.set('paidBookingId', body.booking_id);
pm.collectionVariables.set('paidBookingNumber', body.booking_number);
"""),
        req("payment init without an amount", "POST", "/api/payments/init", body={"scheduleId": "{{scheduleId}}"},
            test="""
expectError(400, 'missing_field', 'amount는 필수입니다.');
"""),
        req("payment init", "POST", "/api/payments/init",
            raw='{"amount": {{unitPrice}}, "scheduleId": {{scheduleId}}, "method": "CARD", "provider": "NICEPAY"}',
            test="""
expectJson(200);
pm.test('a REQUESTED payment with an order id for this user and schedule', () => {
    pm.expect(body.success).to.eql(true);
    pm.expect(body.payment_id).to.be.a('number').and.above(0);
    pm.expect(body.order_id).to.match(new RegExp(`^CJ-ORD-${v('userId')}-${v('scheduleId')}-[0-9a-f]{8}$`));
});
pm.test('Bootpay parameters for the client', () => {
    pm.expect(body.bootpay.price).to.eql(num('unitPrice'));
    pm.expect(body.bootpay.order_name).to.eql('CloudJet 항공권 결제');
    pm.expect(body.bootpay.pg).to.eql('nicepay');
    pm.expect(body.bootpay.method).to.eql('card');
    const appId = v('bootpayApplicationId');
    if (appId) pm.expect(body.bootpay.application_id).to.eql(appId);
});
pm.collectionVariables.set('orderId', body.order_id);
pm.collectionVariables.set('receiptId', 'rcpt-newman-' + Date.now().toString(36) + Math.random().toString(36).slice(2, 8));
"""),
        req("webhook without a signature", "POST", "/api/payments/webhook", token=None,
            raw=WEBHOOK_BODY % "{{unitPrice}}", test="""
expectError(401, 'invalid_signature', '서명 검증 실패');
"""),
        req("webhook with a wrong signature", "POST", "/api/payments/webhook", token=None,
            raw=WEBHOOK_BODY % "{{unitPrice}}", headers={"Bootpay-Signature": "{{webhookSignature}}"}, pre="""
const raw = pm.variables.replaceIn(pm.request.body.raw);
pm.collectionVariables.set('webhookSignature',
    CryptoJS.HmacSHA256(raw, 'not-' + pm.variables.get('bootpayPrivateKey')).toString(CryptoJS.enc.Base64));
""", test="""
expectError(401, 'invalid_signature', '서명 검증 실패');
"""),
        req("signed webhook with another amount", "POST", "/api/payments/webhook", token=None,
            raw=WEBHOOK_BODY % "{{wrongPrice}}", headers={"Bootpay-Signature": "{{webhookSignature}}"},
            pre=WEBHOOK_SIGN, test="""
expectError(409, 'amount_mismatch', '결제 금액이 일치하지 않습니다.');
"""),
        req("signed webhook: PAID", "POST", "/api/payments/webhook", token=None,
            raw=WEBHOOK_BODY % "{{unitPrice}}", headers={"Bootpay-Signature": "{{webhookSignature}}"},
            pre=WEBHOOK_SIGN, test="""
expectJson(200);
pm.test('accepted', () => pm.expect(body).to.eql({success: true}));
"""),
        req("signed webhook replayed", "POST", "/api/payments/webhook", token=None,
            raw=WEBHOOK_BODY % "{{unitPrice}}", headers={"Bootpay-Signature": "{{webhookSignature}}"},
            pre=WEBHOOK_SIGN, test="""
expectJson(200);
pm.test('a replay is harmless', () => pm.expect(body).to.eql({success: true}));
"""),
        req("attach-booking without a booking id", "POST", "/api/payments/attach-booking",
            body={"orderId": "{{orderId}}"}, test="""
expectError(400, 'missing_field', 'orderId, bookingId는 필수입니다.');
"""),
        req("attach-booking of an unknown booking", "POST", "/api/payments/attach-booking",
            body={"orderId": "{{orderId}}", "bookingId": 987654321}, test="""
expectError(404, 'booking_not_found');
"""),
        req("attach-booking", "POST", "/api/payments/attach-booking",
            raw='{"orderId": "{{orderId}}", "bookingId": {{paidBookingId}}}', test="""
expectJson(200);
pm.test('payment and booking linked', () => {
    pm.expect(body).to.eql({success: true, message: '예약과 결제가 연결되었습니다.'});
});
"""),
        req("the paid booking stays CONFIRMED", "GET", "/api/bookings", test="""
expectJson(200);
const b = body.bookings.find((x) => x.booking_number === v('paidBookingNumber'));
pm.test('listed, CONFIRMED, newest first', () => {
    pm.expect(b.status).to.eql('CONFIRMED');
    pm.expect(b.total_amount).to.eql(num('unitPrice'));
    pm.expect(body.bookings[0].booking_number).to.eql(v('paidBookingNumber'));
});
"""),
    ]


# ------------------------------------------------------------------------------------------------
# 6. admin

def admin_items() -> list[dict]:
    flight = {"flight_id": "{{newFlightId}}", "departure_airport": "GMP", "arrival_airport": "KIX",
              "departure_time": "08:10", "arrival_time": "10:25", "aircraft": "Airbus A321neo",
              "base_price": 210000, "total_seats": 180}
    fws_raw = json.dumps({"flight": flight, "schedule": {
        "mode": "range", "start_date": "{{adminDate1}}", "end_date": "{{adminDate3}}",
        "current_price": 210000, "available_seats": 180, "overwrite": False}}, indent=2)
    return [
        req("admin endpoint with a user token", "GET", "/api/admin/flights", test="""
expectError(403, 'forbidden', '관리자 권한이 필요합니다.');
"""),
        req("admin login", "POST", "/api/auth/login", token=None,
            body={"email": "{{adminEmail}}", "password": "{{adminPassword}}"}, test="""
expectJson(200);
pm.test('admin role', () => {
    pm.expect(body.user.email).to.eql(v('adminEmail'));
    pm.expect(body.user.role).to.eql('ADMIN');
});
pm.collectionVariables.set('adminToken', body.token);
"""),
        req("admin flights", "GET", "/api/admin/flights", token="{{adminToken}}", test="""
expectJson(200);
const cj101 = body.flights.find((f) => f.flight_id === 'CJ101');
pm.test('demo flight CJ101 ICN -> NRT, times HH:MM', () => {
    pm.expect(cj101.departure_airport).to.eql('ICN');
    pm.expect(cj101.arrival_airport).to.eql('NRT');
    pm.expect(cj101.departure_time).to.eql('06:30');
    pm.expect(cj101.arrival_time).to.eql('09:15');
    pm.expect(cj101.departure_airport_name).to.eql('인천국제공항');
});
pm.test('ordered by departure time', () => {
    const t = body.flights.map((f) => f.departure_time);
    pm.expect(t).to.eql([...t].sort());
});
"""),
        req("create a flight with three schedules", "POST", "/api/admin/flights-with-schedules",
            token="{{adminToken}}", raw=fws_raw, pre="""
const id = 'NM' + Math.random().toString(36).slice(2, 8).toUpperCase().padEnd(6, 'X');
pm.collectionVariables.set('newFlightId', id);
const d = (n) => new Date(Date.now() + n * 86400e3).toISOString().slice(0, 10);
pm.collectionVariables.set('adminDate1', d(5));
pm.collectionVariables.set('adminDate2', d(6));
pm.collectionVariables.set('adminDate3', d(7));
""", test="""
expectJson(201);
pm.test('three schedules created', () => {
    pm.expect(body.success).to.eql(true);
    pm.expect(body.result).to.eql({flight_id: v('newFlightId'), created_schedules: 3, updated_schedules: 0,
                                   skipped: 0, total_requested: 3});
});
"""),
        req("the same range again skips existing schedules", "POST", "/api/admin/flights-with-schedules",
            token="{{adminToken}}", raw=fws_raw, test="""
expectJson(201);
pm.test('nothing created twice', () => {
    pm.expect(body.result.created_schedules).to.eql(0);
    pm.expect(body.result.skipped).to.eql(3);
    pm.expect(body.result.total_requested).to.eql(3);
});
"""),
        req("admin flights list the new flight", "GET", "/api/admin/flights", token="{{adminToken}}", test="""
expectJson(200);
const f = body.flights.find((x) => x.flight_id === v('newFlightId'));
pm.test('the new flight with its computed duration', () => {
    pm.expect(f, 'new flight').to.be.an('object');
    pm.expect(f.duration).to.eql('2시간 15분');
    pm.expect(f.base_price).to.eql(210000);
    pm.expect(f.airline).to.eql('CloudJet');
    pm.expect(f.arrival_airport_name).to.eql('간사이국제공항');
});
"""),
        req("admin schedules", "GET", "/api/admin/schedules", token="{{adminToken}}", test="""
expectJson(200);
const mine = body.schedules.filter((s) => s.flight_id === v('newFlightId'));
pm.test('the three new schedules, GMP -> KIX', () => {
    pm.expect(mine.map((s) => s.flight_date).sort()).to.eql([v('adminDate1'), v('adminDate2'), v('adminDate3')]);
    mine.forEach((s) => {
        pm.expect(s.departure_name).to.eql('김포국제공항');
        pm.expect(s.arrival_name).to.eql('간사이국제공항');
        pm.expect(s.current_price).to.eql(210000);
        pm.expect(s.available_seats).to.eql(180);
        pm.expect(s.discount_percentage).to.eql(null);
    });
});
const first = mine.find((s) => s.flight_date === v('adminDate1'));
pm.collectionVariables.set('newScheduleId', first.schedule_id);
"""),
        req("search finds the new flight", "GET",
            "/api/flights/search?departure=GMP&arrival=KIX&date={{adminDate1}}", token=None, test="""
expectJson(200);
const f = body.flights.find((x) => x.schedule_id === num('newScheduleId'));
pm.test('on sale at its base price, no discount', () => {
    pm.expect(f.flight_id).to.eql(v('newFlightId'));
    pm.expect(f.price).to.eql(210000);
    pm.expect(f.has_discount).to.eql(false);
    pm.expect(f.available_seats).to.eql(180);
});
"""),
        req("add a 15% discount", "POST", "/api/admin/discounts", token="{{adminToken}}",
            raw='{"schedule_id": {{newScheduleId}}, "discount_percentage": 15}', test="""
expectJson(201);
pm.test('discount created', () => {
    pm.expect(body.message).to.eql('할인이 생성되었습니다.');
    pm.expect(body.success).to.eql(true);
    pm.expect(body.discount_id).to.be.a('number').and.above(0);
});
pm.collectionVariables.set('discountId', body.discount_id);
"""),
        req("a second discount on the same schedule", "POST", "/api/admin/discounts", token="{{adminToken}}",
            raw='{"schedule_id": {{newScheduleId}}, "discount_percentage": 20}', test="""
pm.test('status 409', () => pm.response.to.have.status(409));
pm.test('already discounted', () => pm.expect(body.message).to.eql('해당 스케줄에 이미 할인이 설정되어 있습니다.'));
"""),
        req("a discount on an unknown schedule", "POST", "/api/admin/discounts", token="{{adminToken}}",
            body={"schedule_id": 987654321, "discount_percentage": 10}, test="""
pm.test('status 404', () => pm.response.to.have.status(404));
pm.test('schedule not found', () => pm.expect(body.message).to.eql('항공편 스케줄을 찾을 수 없습니다.'));
"""),
        req("admin discounts", "GET", "/api/admin/discounts", token="{{adminToken}}", test="""
expectJson(200);
const d = body.discounts.find((x) => x.discount_id === num('discountId'));
pm.test('the discount, with its discounted price', () => {
    pm.expect(d.schedule_id).to.eql(num('newScheduleId'));
    pm.expect(d.discount_percentage).to.eql(15);
    pm.expect(d.status).to.eql('ACTIVE');
    pm.expect(d.flight_id).to.eql(v('newFlightId'));
    pm.expect(d.discounted_price).to.eql(178500);
});
"""),
        req("search shows the discounted price", "GET",
            "/api/flights/search?departure=GMP&arrival=KIX&date={{adminDate1}}", token=None, test="""
expectJson(200);
const f = body.flights.find((x) => x.schedule_id === num('newScheduleId'));
pm.test('price = 210000 less 15 %', () => {
    pm.expect(f.original_price).to.eql(210000);
    pm.expect(f.price).to.eql(178500);
    pm.expect(f.discount_percentage).to.eql(15);
    pm.expect(f.has_discount).to.eql(true);
});
"""),
        req("featured lists the discount", "GET", "/api/flights/featured", token=None, test="""
expectJson(200);
const mine = body.flights.find((f) => f.schedule_id === num('newScheduleId'));
pm.test('the new 15 % discount is featured (or six bigger ones are)', () => {
    pm.expect(body.flights.length).to.be.within(1, 6);
    if (mine) {
        pm.expect(mine.discounted_price).to.eql(178500);
        pm.expect(mine.price).to.eql(178500);
    } else {
        pm.expect(body.flights).to.have.lengthOf(6);
        body.flights.forEach((f) => pm.expect(f.discount_percentage).to.be.at.least(15));
    }
});
"""),
        req("book the new schedule at the old price", "POST", "/api/bookings",
            raw=booking_body(price="210000", seat="1A", schedule="{{newScheduleId}}"), test="""
expectError(409, 'price_changed');
pm.test('the current price is the discounted one', () => pm.expect(body.current_unit_price).to.eql(178500));
"""),
        req("book the new schedule at the discounted price", "POST", "/api/bookings",
            raw=booking_body(price="178500", seat="1A", schedule="{{newScheduleId}}"), test="""
expectJson(201);
pm.test('CONFIRMED', () => pm.expect(body.status).to.eql('CONFIRMED'));
pm.collectionVariables.set('adminBookingNumber', body.booking_number);
pm.collectionVariables.set('adminBookingId', body.booking_id);
"""),
        req("admin bookings", "GET", "/api/admin/bookings", token="{{adminToken}}", test="""
expectJson(200);
const b = body.bookings.find((x) => x.booking_number === v('adminBookingNumber'));
pm.test('the customer booking, with customer and flight', () => {
    pm.expect(b.booking_id).to.eql(num('adminBookingId'));
    pm.expect(b.customer_name).to.eql('홍길동');
    pm.expect(b.user_email).to.eql(v('email'));
    pm.expect(b.user_id).to.eql(num('userId'));
    pm.expect(b.total_amount).to.eql(178500);
    pm.expect(b.flight_id).to.eql(v('newFlightId'));
    pm.expect(b.seat_number).to.eql('1A');
    pm.expect(b.status).to.eql('CONFIRMED');
});
pm.test('passengers included', () => pm.expect(b.passengers[0].name_kor).to.eql('홍길동'));
"""),
        req("admin booking search by email", "GET", "/api/admin/bookings/search?term={{email}}",
            token="{{adminToken}}", test="""
expectJson(200);
const numbers = body.bookings.map((b) => b.booking_number);
pm.test("exactly this user's three bookings", () => {
    pm.expect(numbers).to.have.members([v('bookingNumber'), v('paidBookingNumber'), v('adminBookingNumber')]);
    body.bookings.forEach((b) => pm.expect(b.user_email).to.eql(v('email')));
});
"""),
        req("admin booking search without a term", "GET", "/api/admin/bookings/search?term=",
            token="{{adminToken}}", test="""
pm.test('status 400', () => pm.response.to.have.status(400));
pm.test('asks for a term', () => pm.expect(body.message).to.eql('검색어를 입력해주세요.'));
"""),
        req("admin cancels the booking", "PUT", "/api/admin/bookings/{{adminBookingNumber}}/cancel",
            token="{{adminToken}}", test="""
expectJson(200);
pm.test('cancelled', () => pm.expect(body.message).to.eql('예약이 취소되었습니다.'));
pm.test('success', () => pm.expect(body.success).to.eql(true));
"""),
        req("the customer sees it CANCELLED", "GET", "/api/bookings", test="""
expectJson(200);
const b = body.bookings.find((x) => x.booking_number === v('adminBookingNumber'));
pm.test('status CANCELLED', () => pm.expect(b.status).to.eql('CANCELLED'));
"""),
        req("its seat is free", "GET", "/api/bookings/occupied-seats/{{newScheduleId}}", token=None, test="""
expectJson(200);
pm.test('no seat occupied on the new schedule', () => pm.expect(body.occupied_seats).to.eql([]));
"""),
        req("remove the discount", "DELETE", "/api/admin/discounts/{{discountId}}", token="{{adminToken}}", test="""
expectJson(200);
pm.test('discount deleted', () => pm.expect(body).to.eql({message: '할인이 삭제되었습니다.', success: true}));
"""),
        req("search is back to the base price", "GET",
            "/api/flights/search?departure=GMP&arrival=KIX&date={{adminDate1}}", token=None, test="""
expectJson(200);
const f = body.flights.find((x) => x.schedule_id === num('newScheduleId'));
pm.test('no discount, all seats', () => {
    pm.expect(f.price).to.eql(210000);
    pm.expect(f.has_discount).to.eql(false);
    pm.expect(f.available_seats).to.eql(180);
});
"""),
        req("delete the flight", "DELETE", "/api/admin/flights/{{newFlightId}}", token="{{adminToken}}", test="""
expectJson(200);
pm.test('flight deleted', () => pm.expect(body).to.eql({message: '항공편이 삭제되었습니다.', success: true}));
"""),
        req("the deleted flight is gone", "GET", "/api/admin/flights", token="{{adminToken}}", test="""
expectJson(200);
pm.test('not among the active flights', () => {
    pm.expect(body.flights.map((f) => f.flight_id)).to.not.include(v('newFlightId'));
});
"""),
        req("delete it again", "DELETE", "/api/admin/flights/{{newFlightId}}", token="{{adminToken}}", test="""
pm.test('status 404', () => pm.response.to.have.status(404));
pm.test('not found', () => pm.expect(body.message).to.eql('항공편을 찾을 수 없습니다.'));
"""),
    ]


# ------------------------------------------------------------------------------------------------

def collection() -> dict:
    variables = ["email", "password", "userName", "token", "userId", "airportCount", "searchDate", "scheduleId",
                 "flightId", "unitPrice", "wrongPrice", "seatsBefore", "seat", "bookingId", "bookingNumber",
                 "paidBookingId", "paidBookingNumber", "orderId", "receiptId", "webhookSignature", "adminToken",
                 "newFlightId", "adminDate1", "adminDate2", "adminDate3", "newScheduleId", "discountId",
                 "adminBookingNumber", "adminBookingId"]
    return {
        "info": {
            "_postman_id": COLLECTION_ID,
            "name": "CloudJet API",
            "description": (
                "CloudJet's five services (auth, flight, booking, payment, admin) as one journey with test "
                "scripts. Point `baseUrl` at a single-port server (`cloudjet serve --single-port 8080`) or the "
                "gateway, and pass the admin password and the Bootpay private key of that server:\n\n"
                "    newman run docs/CloudJet-API.postman_collection.json --environment docs/test-environment.json "
                "--env-var baseUrl=http://127.0.0.1:8080 --env-var adminPassword=... --env-var bootpayPrivateKey=...\n\n"
                "Generated by tests/newman/make_collection.py; run in `make test` by tests/integration/test_newman.py."),
            "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json",
        },
        "item": [
            folder("1 Health", "Every service answers its health check (single-port mode serves all five).",
                   health_items()),
            folder("2 Auth", "Signup with a unique email, login (the token is kept), profile.", auth_items()),
            folder("3 Flights", "Airports, search (picks the schedule to book), featured, promotions, a free seat.",
                   flight_items()),
            folder("4 Booking", "Book a seat, see it occupied and listed, cancel it, see it free; refusals.",
                   booking_items()),
            folder("5 Payment", "Init, signed Bootpay webhooks (HMAC-SHA256 of the raw body), attach-booking.",
                   payment_items()),
            folder("6 Admin", "Admin login, a flight with schedules, a discount, bookings, cancel, clean-up.",
                   admin_items()),
        ],
        "variable": [{"key": k, "value": ""} for k in variables],
    }


def environment() -> dict:
    return {
        "id": ENVIRONMENT_ID,
        "name": "CloudJet test",
        "values": [
            {"key": "baseUrl", "value": "http://127.0.0.1:8080", "type": "default", "enabled": True},
            {"key": "adminEmail", "value": "admin@cloudjet.com", "type": "default", "enabled": True},
            {"key": "adminPassword", "value": "", "type": "secret", "enabled": True},
            {"key": "bootpayPrivateKey", "value": "", "type": "secret", "enabled": True},
            {"key": "bootpayApplicationId", "value": "", "type": "default", "enabled": True},
        ],
        "_postman_variable_scope": "environment",
    }


def render(obj: dict) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=2) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if the committed files differ")
    args = ap.parse_args()
    stale = []
    for path, obj in ((COLLECTION, collection()), (ENVIRONMENT, environment())):
        text = render(obj)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path.relative_to(REPO)))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if stale:
        print(f"stale: {', '.join(stale)}; run python3 tests/newman/make_collection.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
