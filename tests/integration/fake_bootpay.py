"""A small fake of Bootpay's REST API v2 for the payment tests: a threaded http.server on
127.0.0.1 (a free port) that the server under test is pointed at with BOOTPAY_API_URL.

Endpoints
  POST /v2/request/token   {"application_id", "private_key"} -> 200 {"access_token", "expired_at"}
                           (401 unless both match the configured values)
  GET  /v2/receipt/<id>    Bearer <issued token> -> 200 {"receipt_id", "order_id", "price", "status"}
                           from `receipts` (add_receipt), 404 if unknown, 401 without a valid token
  POST /v2/cancel          Bearer; {"receipt_id", "cancel_price", "cancel_username", "cancel_message",
                           optional "cancel_id"} -> 200 {"receipt_id", "status": 20}; the receipt (if
                           known) becomes status 20. Like the real gateway, a cancel_id seen before is
                           the same cancel: answered as the first time, nothing refunded again (the
                           call is recorded with replayed=True). A known receipt that is already
                           cancelled, under another cancel_id or none, is 400 ALREADY_CANCELLED.

Controls (all thread-safe)
  fail_next(endpoint, status=500, times=1)  the next `times` calls of "token" / "receipt" / "cancel"
                                            answer `status` (before any other processing)
  set_delay(seconds, endpoint=None)         sleep before answering (one endpoint, or all)
  calls(endpoint=None, status=None)         every call recorded: Call(method, path, endpoint, body,
                                            headers, status), in arrival order
  cancels(receipt_id=None)                  the JSON bodies of the successful /v2/cancel calls
  refunds(receipt_id=None)                  the JSON bodies of the cancels that refunded money (a
                                            replayed cancel_id is not one)
  wait_for_calls(n, endpoint, ...)          polls the call log
  stop() / start()                          take the gateway down and bring it back on the same port
  reset(revoke_tokens=False)                forget calls, receipts, failures and delay (issued
                                            tokens stay valid unless revoke_tokens)

Fixtures: `bootpay_module` (one fake per test module) and `bootpay` (that fake, reset and running,
for one test).
"""
from __future__ import annotations

import datetime as _dt
import http.server
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

ENDPOINTS = ("token", "receipt", "cancel")
_RECEIPT_PATH = re.compile(r"^/v2/receipt/([^/?#]+)$")


@dataclass
class Call:
    method: str
    path: str
    endpoint: str | None  # "token" | "receipt" | "cancel" | None (unknown path)
    body: Any  # the parsed JSON body, or None (no body / not JSON)
    raw: bytes
    headers: dict[str, str]
    status: int = 0  # the status answered
    replayed: bool = False  # a cancel whose cancel_id was seen before (answered, nothing refunded)
    at: float = field(default_factory=time.monotonic)

    @property
    def bearer(self) -> str | None:
        auth = self.headers.get("authorization", "")
        return auth[len("Bearer "):] if auth.startswith("Bearer ") else None


class FakeBootpay:
    def __init__(self, application_id: str, private_key: str, host: str = "127.0.0.1"):
        self.application_id = application_id
        self.private_key = private_key
        self.host = host
        self.port: int | None = None
        self._lock = threading.Lock()
        self._httpd: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._tokens: set[str] = set()
        self._receipts: dict[str, dict] = {}
        self._calls: list[Call] = []
        self._forced: dict[str, list[int]] = {e: [] for e in ENDPOINTS}
        self._delay: dict[str | None, float] = {}
        self._cancel_answers: dict[str, tuple[int, dict]] = {}  # cancel_id -> first answer
        self._refunds: list[dict] = []

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self.port is not None, "fake Bootpay never started"
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._httpd is not None

    def start(self) -> "FakeBootpay":
        """Starts serving (on the same port as before after a stop())."""
        if self._httpd is not None:
            return self
        fake = self

        class Handler(_Handler):
            owner = fake

        httpd = http.server.ThreadingHTTPServer((self.host, self.port or 0), Handler)
        httpd.daemon_threads = True
        self.port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"fake-bootpay-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """The gateway goes down: connections to its port are refused until start()."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def reset(self, revoke_tokens: bool = False) -> None:
        with self._lock:
            self._receipts.clear()
            self._calls.clear()
            for e in ENDPOINTS:
                self._forced[e].clear()
            self._delay.clear()
            self._cancel_answers.clear()
            self._refunds.clear()
            if revoke_tokens:
                self._tokens.clear()

    # -- controls -------------------------------------------------------------------------------

    def add_receipt(self, receipt_id: str, order_id: str, price: int, status: int = 1, **extra) -> None:
        with self._lock:
            self._receipts[receipt_id] = {"receipt_id": receipt_id, "order_id": order_id, "price": price,
                                          "status": status, **extra}

    def receipt(self, receipt_id: str) -> dict | None:
        with self._lock:
            r = self._receipts.get(receipt_id)
            return dict(r) if r is not None else None

    def fail_next(self, endpoint: str, status: int = 500, times: int = 1) -> None:
        assert endpoint in ENDPOINTS, endpoint
        with self._lock:
            self._forced[endpoint].extend([status] * times)

    def set_delay(self, seconds: float, endpoint: str | None = None) -> None:
        assert endpoint is None or endpoint in ENDPOINTS, endpoint
        with self._lock:
            self._delay[endpoint] = seconds

    def revoke_tokens(self) -> None:
        with self._lock:
            self._tokens.clear()

    # -- the record -----------------------------------------------------------------------------

    def calls(self, endpoint: str | None = None, status: int | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self._calls
                    if (endpoint is None or c.endpoint == endpoint) and (status is None or c.status == status)]

    def cancels(self, receipt_id: str | None = None) -> list[dict]:
        """Bodies of the /v2/cancel calls answered 200 (refunds the gateway performed)."""
        return [c.body for c in self.calls("cancel", 200)
                if receipt_id is None or (isinstance(c.body, dict) and c.body.get("receipt_id") == receipt_id)]

    def refunds(self, receipt_id: str | None = None) -> list[dict]:
        """Bodies of the cancels that refunded money: one per cancel_id however often it was sent."""
        with self._lock:
            return [dict(b) for b in self._refunds if receipt_id is None or b.get("receipt_id") == receipt_id]

    def wait_for_calls(self, n: int, endpoint: str | None = None, status: int | None = None,
                       timeout: float = 10.0, predicate=None) -> list[Call]:
        """Polls until at least `n` matching calls were recorded; returns them."""
        deadline = time.monotonic() + timeout
        while True:
            got = [c for c in self.calls(endpoint, status) if predicate is None or predicate(c)]
            if len(got) >= n:
                return got
            if time.monotonic() >= deadline:
                raise TimeoutError(f"fake Bootpay: {len(got)} of {n} {endpoint or 'any'} call(s) "
                                   f"(status {status}) after {timeout}s; all calls: {self.calls()}")
            time.sleep(0.05)

    # -- request handling (called from the server's threads) ------------------------------------

    def _handle(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict]:
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
        endpoint = None
        receipt_id = None
        if method == "POST" and path == "/v2/request/token":
            endpoint = "token"
        elif method == "POST" and path == "/v2/cancel":
            endpoint = "cancel"
        elif method == "GET" and (m := _RECEIPT_PATH.match(path)):
            endpoint, receipt_id = "receipt", m.group(1)
        call = Call(method, path, endpoint, body, raw, headers)

        with self._lock:
            self._calls.append(call)
            delay = self._delay.get(endpoint, self._delay.get(None, 0.0))
        if delay:
            time.sleep(delay)

        with self._lock:
            status, out = self._answer(call, endpoint, receipt_id, body)
            call.status = status
        return status, out

    def _answer(self, call: Call, endpoint: str | None, receipt_id: str | None, body: Any) -> tuple[int, dict]:
        # under self._lock
        if endpoint is None:
            return 404, {"error_code": "NOT_FOUND", "message": "no such endpoint"}
        if self._forced[endpoint]:
            status = self._forced[endpoint].pop(0)
            return status, {"error_code": "FORCED", "message": f"forced {status} by the test"}
        if endpoint == "token":
            if (not isinstance(body, dict) or body.get("application_id") != self.application_id
                    or body.get("private_key") != self.private_key):
                return 401, {"error_code": "AUTH_FAILED", "message": "bad application_id or private_key"}
            token = "tok-" + secrets.token_hex(12)
            self._tokens.add(token)
            expires = (_dt.datetime.now(_dt.timezone.utc) + _dt.timedelta(minutes=30)).strftime(
                "%Y-%m-%dT%H:%M:%S+00:00")
            return 200, {"access_token": token, "expired_at": expires}
        if call.bearer is None or call.bearer not in self._tokens:
            return 401, {"error_code": "TOKEN_INVALID", "message": "missing or unknown access token"}
        if endpoint == "receipt":
            r = self._receipts.get(receipt_id)
            if r is None:
                return 404, {"error_code": "RECEIPT_NOT_FOUND", "message": "no such receipt"}
            return 200, dict(r)
        # cancel
        if not isinstance(body, dict) or not isinstance(body.get("receipt_id"), str):
            return 400, {"error_code": "INVALID_REQUEST", "message": "receipt_id is required"}
        cancel_id = body.get("cancel_id")
        if isinstance(cancel_id, str) and cancel_id in self._cancel_answers:
            call.replayed = True
            status, out = self._cancel_answers[cancel_id]
            return status, dict(out)
        rid = body["receipt_id"]
        if rid in self._receipts:
            if self._receipts[rid]["status"] == 20:
                return 400, {"error_code": "ALREADY_CANCELLED", "message": "the receipt is already cancelled"}
            self._receipts[rid]["status"] = 20
        self._refunds.append(dict(body))
        answer = (200, {"receipt_id": rid, "status": 20})
        if isinstance(cancel_id, str):
            self._cancel_answers[cancel_id] = answer
        return answer[0], dict(answer[1])


class _Handler(http.server.BaseHTTPRequestHandler):
    owner: FakeBootpay
    protocol_version = "HTTP/1.0"  # one request per connection

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        path = self.path.split("?", 1)[0]
        try:
            status, out = self.owner._handle(self.command, path, headers, raw)
        except Exception as e:  # noqa: BLE001 - a bug in the fake must show up, not hang
            status, out = 599, {"error_code": "FAKE_BUG", "message": repr(e)}
        data = json.dumps(out).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = _serve
    do_POST = _serve
    do_PUT = _serve
    do_DELETE = _serve

    def log_message(self, format, *args):  # noqa: A002 - keep pytest output quiet
        pass


# ---------------------------------------------------------------------------------------------
# fixtures

APPLICATION_ID = "cj-test-application-id"
PRIVATE_KEY = "cj-test-private-key-" + secrets.token_hex(8)


@pytest.fixture(scope="module")
def bootpay_module():
    fake = FakeBootpay(APPLICATION_ID, PRIVATE_KEY).start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def bootpay(bootpay_module):
    """The module's fake, running and reset (tokens a server cached stay valid)."""
    bootpay_module.start()
    bootpay_module.reset()
    yield bootpay_module
    bootpay_module.start()  # a test that took it down and failed before bringing it back
