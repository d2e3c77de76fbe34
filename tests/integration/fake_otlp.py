"""A local OTLP/HTTP trace receiver for the tracing tests: a threaded http.server on 127.0.0.1 (a
free port) taking `POST /v1/traces` with `Content-Type: application/json`, as CloudJet's exporter
sends it (OTEL_EXPORTER_OTLP_ENDPOINT=<receiver.url>).

Every request body is validated strictly against the OTLP/JSON shape of ExportTraceServiceRequest
(resourceSpans -> resource.attributes with a string service.name -> scopeSpans with scope.name ->
spans: traceId 32 and spanId 16 lower-case hex digits, not all zero; parentSpanId 16 hex digits or
absent/empty; start/end nanos as decimal strings with end >= start; kind an int 1..5; attributes
{key, value: {stringValue: str} | {intValue: int or decimal string} | {boolValue} | {doubleValue}};
status.code 0..2). A body that fails is answered 400 and its problem recorded in `problems`; the
`otlp` fixture fails the test at teardown when there is any, so a shape error can never pass.

Controls
  spans(**match)            every span received (dicts with "service" added), filtered by field
  wait_for(pred, timeout)   polls until pred(spans()) is truthy, returns its value
  set_mode("ok"|"fail"|"stall", stall_seconds)   answer 200, answer 503, or sleep before answering
"""
from __future__ import annotations

import http.server
import json
import re
import threading
import time
from typing import Any, Callable

import pytest

_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_HEX16 = re.compile(r"^[0-9a-f]{16}$")
_DIGITS = re.compile(r"^[0-9]+$")


def _check_value(value: Any, where: str) -> list[str]:
    if not isinstance(value, dict) or len(value) != 1:
        return [f"{where}: an AnyValue has exactly one field, got {value!r}"]
    (kind, v), = value.items()
    if kind == "stringValue":
        return [] if isinstance(v, str) else [f"{where}: stringValue {v!r} is not a string"]
    if kind == "intValue":
        ok = (isinstance(v, int) and not isinstance(v, bool)) or (
            isinstance(v, str) and re.fullmatch(r"-?[0-9]+", v))
        return [] if ok else [f"{where}: intValue {v!r} is not an integer or decimal string"]
    if kind == "boolValue":
        return [] if isinstance(v, bool) else [f"{where}: boolValue {v!r}"]
    if kind == "doubleValue":
        return [] if isinstance(v, (int, float)) and not isinstance(v, bool) else [f"{where}: doubleValue {v!r}"]
    return [f"{where}: unexpected AnyValue kind {kind!r}"]


def _check_attributes(attrs: Any, where: str) -> list[str]:
    if not isinstance(attrs, list):
        return [f"{where}: attributes is not a list"]
    out = []
    for i, a in enumerate(attrs):
        if not isinstance(a, dict) or set(a) != {"key", "value"} or not isinstance(a["key"], str) or not a["key"]:
            out.append(f"{where}[{i}]: an attribute is {{key, value}}, got {a!r}")
            continue
        out += _check_value(a["value"], f"{where}[{i}] ({a['key']})")
    return out


def _attr_map(attrs: list) -> dict[str, Any]:
    out = {}
    for a in attrs:
        (_, v), = a["value"].items()
        out[a["key"]] = int(v) if "intValue" in a["value"] else v
    return out


def validate(body: Any) -> tuple[list[str], list[dict]]:
    """(problems, spans) of one ExportTraceServiceRequest; each span dict gains "service" and
    "attrs" (attributes as a plain dict)."""
    problems: list[str] = []
    spans: list[dict] = []
    if not isinstance(body, dict) or not isinstance(body.get("resourceSpans"), list) or not body["resourceSpans"]:
        return ["body has no resourceSpans list"], []
    for ri, rs in enumerate(body["resourceSpans"]):
        where = f"resourceSpans[{ri}]"
        resource = rs.get("resource") if isinstance(rs, dict) else None
        if not isinstance(resource, dict):
            problems.append(f"{where}: no resource")
            continue
        problems += _check_attributes(resource.get("attributes"), f"{where}.resource.attributes")
        if problems:
            continue
        rattrs = _attr_map(resource["attributes"])
        service = rattrs.get("service.name")
        if not isinstance(service, str) or not service:
            problems.append(f"{where}: resource has no string service.name")
            continue
        scopes = rs.get("scopeSpans")
        if not isinstance(scopes, list) or not scopes:
            problems.append(f"{where}: no scopeSpans")
            continue
        for si, ss in enumerate(scopes):
            swhere = f"{where}.scopeSpans[{si}]"
            if not isinstance(ss, dict) or not isinstance(ss.get("scope"), dict) or \
                    not isinstance(ss["scope"].get("name"), str):
                problems.append(f"{swhere}: no scope.name")
                continue
            if not isinstance(ss.get("spans"), list) or not ss["spans"]:
                problems.append(f"{swhere}: no spans")
                continue
            for pi, sp in enumerate(ss["spans"]):
                pwhere = f"{swhere}.spans[{pi}]"
                before = len(problems)
                if not isinstance(sp, dict):
                    problems.append(f"{pwhere}: not an object")
                    continue
                tid, sid, pid = sp.get("traceId"), sp.get("spanId"), sp.get("parentSpanId", "")
                if not isinstance(tid, str) or not _HEX32.match(tid) or set(tid) == {"0"}:
                    problems.append(f"{pwhere}: traceId {tid!r}")
                if not isinstance(sid, str) or not _HEX16.match(sid) or set(sid) == {"0"}:
                    problems.append(f"{pwhere}: spanId {sid!r}")
                if pid != "" and (not isinstance(pid, str) or not _HEX16.match(pid)):
                    problems.append(f"{pwhere}: parentSpanId {pid!r}")
                if not isinstance(sp.get("name"), str) or not sp["name"]:
                    problems.append(f"{pwhere}: name {sp.get('name')!r}")
                kind = sp.get("kind")
                if not isinstance(kind, int) or isinstance(kind, bool) or not 1 <= kind <= 5:
                    problems.append(f"{pwhere}: kind {kind!r}")
                start, end = sp.get("startTimeUnixNano"), sp.get("endTimeUnixNano")
                if not isinstance(start, str) or not _DIGITS.match(start) or \
                        not isinstance(end, str) or not _DIGITS.match(end):
                    problems.append(f"{pwhere}: start/end nanos {start!r}/{end!r} are not digit strings")
                elif int(end) < int(start):
                    problems.append(f"{pwhere}: ends before it starts")
                elif int(start) < 1_600_000_000 * 10**9:
                    problems.append(f"{pwhere}: startTimeUnixNano {start} is not unix nanos")
                problems += _check_attributes(sp.get("attributes", []), f"{pwhere}.attributes")
                status = sp.get("status", {})
                if not isinstance(status, dict) or status.get("code", 0) not in (0, 1, 2):
                    problems.append(f"{pwhere}: status {status!r}")
                if len(problems) == before:
                    spans.append({**sp, "parentSpanId": pid, "service": service,
                                  "attrs": _attr_map(sp.get("attributes", []))})
    return problems, spans


class FakeOtlp:
    def __init__(self, host: str = "127.0.0.1"):
        self.host = host
        self._lock = threading.Lock()
        self._spans: list[dict] = []
        self.problems: list[str] = []
        self.requests = 0
        self._mode = "ok"
        self._stall = 0.0
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://{self.host}:{self._server.server_address[1]}"

    def start(self) -> "FakeOtlp":
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                status = owner._receive(self.path, self.headers.get("Content-Type", ""), raw)
                body = b"{}"
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format, *args):  # noqa: A002 - keep pytest output quiet
                pass

        self._server = http.server.ThreadingHTTPServer((self.host, 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _receive(self, path: str, content_type: str, raw: bytes) -> int:
        with self._lock:
            self.requests += 1
            mode, stall = self._mode, self._stall
        if mode == "stall":
            time.sleep(stall)
        if mode == "fail":
            return 503
        problems: list[str] = []
        if path != "/v1/traces":
            problems.append(f"POST to {path!r}, not /v1/traces")
        if content_type.split(";")[0].strip() != "application/json":
            problems.append(f"Content-Type {content_type!r}")
        try:
            body = json.loads(raw)
        except ValueError as e:
            body = None
            problems.append(f"body is not JSON: {e}")
        spans: list[dict] = []
        if body is not None:
            more, spans = validate(body)
            problems += more
        with self._lock:
            self.problems += problems
            self._spans += spans
        return 400 if problems else 200

    def set_mode(self, mode: str, stall_seconds: float = 0.0) -> None:
        assert mode in ("ok", "fail", "stall"), mode
        with self._lock:
            self._mode, self._stall = mode, stall_seconds

    def reset(self) -> None:
        with self._lock:
            self._spans.clear()
            self.problems.clear()
            self.requests = 0
            self._mode, self._stall = "ok", 0.0

    def spans(self, **match) -> list[dict]:
        with self._lock:
            spans = list(self._spans)
        return [s for s in spans if all(s.get(k) == v for k, v in match.items())]

    def wait_for(self, pred: Callable[[list[dict]], Any], timeout: float = 15.0, what: str = "spans") -> Any:
        deadline = time.monotonic() + timeout
        while True:
            got = pred(self.spans())
            if got:
                return got
            if time.monotonic() > deadline:
                names = sorted({(s["service"], s["name"]) for s in self.spans()})
                raise AssertionError(f"timed out waiting for {what}; received {names}")
            time.sleep(0.1)


@pytest.fixture
def otlp():
    """A running receiver for one test; any shape problem in what it received fails the test."""
    fake = FakeOtlp().start()
    try:
        yield fake
    finally:
        fake.stop()
    assert not fake.problems, "OTLP payloads failed validation:\n" + "\n".join(fake.problems[:20])
