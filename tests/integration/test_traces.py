"""Distributed tracing (tracker issue 13): W3C traceparent/tracestate accepted and propagated, a
SERVER span per request with CLIENT spans for each named database operation, Redis call and
outbound HTTP call under it, trace ids in every log line, spans exported as OTLP/HTTP JSON to a
receiver that validates the shape (fake_otlp.py), across two services in two processes (a booking
cancel in one queues a refund that the payment process's worker sends, in the same trace), and an
export path that never costs a request anything (a stalled or failing receiver drops spans and
counts them). Both backends; on MariaDB with Redis, so Redis spans are checked too."""
from __future__ import annotations

import json
import re
import time
import uuid

import pytest

import cj
from fake_bootpay import bootpay, bootpay_module  # noqa: F401
from fake_otlp import otlp  # noqa: F401
from test_payment import (MODULE_SERVER_ENV, attach, create_booking, gateway_env, init_payment,
                          new_receipt, paid_event, sign, WEBHOOK)

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"
HEX32 = re.compile(r"^[0-9a-f]{32}$")
HEX16 = re.compile(r"^[0-9a-f]{16}$")
SERVER, CLIENT, CONSUMER = 2, 3, 5


def new_trace() -> str:
    return uuid.uuid4().hex


def traceparent(trace_id: str = TRACE, parent: str = PARENT, flags: str = "01") -> str:
    return f"00-{trace_id}-{parent}-{flags}"


def trace_env(receiver, **extra) -> dict:
    # A short delay: spans reach the receiver within a fraction of a second.
    return {**MODULE_SERVER_ENV, "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
            "OTEL_BSP_SCHEDULE_DELAY": "100", **extra}


def redis_for(request, backend):
    """Redis on the MariaDB backend (the production shape), none on SQLite."""
    if backend != "mariadb":
        return None
    rs = request.getfixturevalue("redis_server")
    rs.command("FLUSHALL")
    return rs


def log_lines(srv) -> list[dict]:
    out = []
    for line in srv.log_text().splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def access_line(srv, request_id: str) -> dict:
    def find():
        lines = cj.access_log_lines(srv, request_id=request_id)
        return lines[0] if lines else None
    return cj.wait_until(find, 10, what=f"access log line of {request_id}")


def server_span(receiver, trace_id: str, name: str) -> dict:
    spans = receiver.wait_for(lambda s: [x for x in s if x["traceId"] == trace_id and x["kind"] == SERVER
                                         and x["name"] == name], what=f"SERVER span {name}")
    assert len(spans) == 1, spans
    return spans[0]


def children_of(receiver, span: dict) -> list[dict]:
    return [s for s in receiver.spans(traceId=span["traceId"]) if s["parentSpanId"] == span["spanId"]]


def webhook_traced(srv, body: dict, tp: str):
    raw = json.dumps(body, ensure_ascii=False).encode()
    return srv.post(WEBHOOK, data=raw, headers={"Content-Type": "application/json",
                                                "Bootpay-Signature": sign(raw), "traceparent": tp})


# ============================================================================================


def test_an_incoming_traceparent_is_honoured_by_the_request_its_queries_and_its_logs(
        request, make_server, backend, otlp):
    rs = redis_for(request, backend)
    srv = make_server(backend, redis=rs, extra_env=trace_env(otlp))
    row = cj.bookable_schedule(srv)
    trace_id, rid = new_trace(), "trace-a-" + uuid.uuid4().hex[:8]
    state = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"
    r = srv.get(cj.search_path(row), headers={"traceparent": traceparent(trace_id), "tracestate": state,
                                              "X-Request-Id": rid})
    assert r.status_code == 200, r.text

    span = server_span(otlp, trace_id, "GET /api/flights/search")
    assert span["parentSpanId"] == PARENT
    assert span["service"] == "cloudjet-flight"
    assert span["traceState"] == state
    assert span["attrs"]["http.request.method"] == "GET"
    assert span["attrs"]["http.route"] == "/api/flights/search"
    assert span["attrs"]["http.response.status_code"] == 200
    assert span["status"].get("code", 0) == 0
    assert int(span["endTimeUnixNano"]) - int(span["startTimeUnixNano"]) > 0

    # the database operations of the search (and its Redis calls) are CLIENT children of it
    kids = otlp.wait_for(lambda s: [k for k in children_of(otlp, span) if k["attrs"].get("db.system.name")
                                    in ("sqlite", "mysql")], what="database spans")
    for k in kids:
        assert k["kind"] == CLIENT and k["service"] == "cloudjet-flight", k
        assert k["attrs"]["db.system.name"] == ("sqlite" if backend == "sqlite" else "mysql"), k
        assert k["attrs"]["db.operation.name"] == k["name"], k
        assert int(k["startTimeUnixNano"]) >= int(span["startTimeUnixNano"]), k
        assert int(k["endTimeUnixNano"]) <= int(span["endTimeUnixNano"]), k
    if rs is not None:
        redis_kids = otlp.wait_for(lambda s: [k for k in children_of(otlp, span)
                                              if k["attrs"].get("db.system.name") == "redis"], what="Redis spans")
        for k in redis_kids:
            assert k["kind"] == CLIENT and re.fullmatch(r"[A-Z]+", k["attrs"]["db.operation.name"]), k
            assert k["name"] == k["attrs"]["db.operation.name"], k
    # every span of the trace hangs off the request (no stray roots, no foreign parents)
    ids = {s["spanId"] for s in otlp.spans(traceId=trace_id)}
    for s in otlp.spans(traceId=trace_id):
        assert s["parentSpanId"] in ids | {PARENT}, s

    # the access log line names the trace and the server span
    line = access_line(srv, rid)
    assert (line["trace_id"], line["span_id"]) == (trace_id, span["spanId"]), line
    # and every log line carrying this request's id carries the trace
    for rec in log_lines(srv):
        if rec.get("request_id") == rid:
            assert rec.get("trace_id") == trace_id, rec
    # the histograms of named queries, Redis commands and worker-queue waits are on /metrics
    text = srv.get("/metrics").text
    samples = cj.parse_metrics(text)
    queries = {labels.get("query") for n, labels, _ in samples if n == "cloudjet_db_query_duration_seconds_count"}
    assert {k["name"] for k in kids} <= queries, queries
    assert any(n == "cloudjet_worker_queue_wait_seconds_count" and labels.get("pool") == "database" and v >= 1
               for n, labels, v in samples)
    if rs is not None:
        assert any(n == "cloudjet_redis_command_duration_seconds_count" and v >= 1 for n, labels, v in samples)
    assert cj.metric_value(srv, "cloudjet_trace_spans_exported_total") >= 1


BAD_TRACEPARENTS = {
    "bad-hex": "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
    "zero-trace": "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
    "zero-span": "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
    "version-ff": "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "short-trace": "00-4bf92f3577b34da6a3ce929d0e0e47-00f067aa0ba902b7-01",
    "long-span": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b701-01",
    "upper-case": "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01",
    "v00-extra-field": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
    "absent": None,
}


def test_an_absent_or_invalid_traceparent_starts_a_fresh_trace(server_factory, otlp):
    srv = server_factory(extra_env=trace_env(otlp))
    seen = set()
    for what, bad in BAD_TRACEPARENTS.items():
        rid = "trace-b-" + uuid.uuid4().hex[:8]
        headers = {"X-Request-Id": rid, "tracestate": "rojo=1"}
        if bad is not None:
            headers["traceparent"] = bad
        assert srv.get("/api/flights/airports", headers=headers).status_code == 200
        line = access_line(srv, rid)
        assert HEX32.match(line["trace_id"]) and HEX16.match(line["span_id"]), (what, line)
        assert line["trace_id"] not in (TRACE, "0" * 32), (what, line)
        seen.add(line["trace_id"])
        span = server_span(otlp, line["trace_id"], "GET /api/flights/airports")
        assert span["spanId"] == line["span_id"], what
        assert span["parentSpanId"] == "", (what, span)  # a root: nothing of the bad header is kept
        assert "traceState" not in span, (what, span)  # tracestate only travels with a valid traceparent
    assert len(seen) == len(BAD_TRACEPARENTS)  # each request its own trace
    # a later version is read by its first four fields (W3C: forward compatible)
    rid = "trace-b-" + uuid.uuid4().hex[:8]
    later = f"cc-{new_trace()}-{PARENT}-01-and-more"
    assert srv.get("/api/flights/airports", headers={"X-Request-Id": rid, "traceparent": later}).status_code == 200
    assert access_line(srv, rid)["trace_id"] == later[3:35]


def test_a_cancel_in_the_booking_process_is_refunded_in_the_same_trace_by_the_payment_process(
        request, make_server, backend, otlp, bootpay):
    rs = redis_for(request, backend)
    # Two processes, one database: booking (with auth and flight) has no gateway, so only the
    # payment process's refund worker can send the refund.
    booking = make_server(backend, redis=rs, extra_env=trace_env(otlp, SERVICES="auth,flight,booking"))
    payment = cj.replica_of(make_server, booking,
                            {**trace_env(otlp, SERVICES="payment"), **gateway_env(bootpay),
                             **({"REDIS_HOST": rs.host, "REDIS_PORT": str(rs.port)} if rs else {})})
    u = booking.make_user()
    b = create_booking(booking, u)
    p = init_payment(payment, u, amount=b["amount"], scheduleId=b["schedule_id"])
    receipt = new_receipt()
    bootpay.add_receipt(receipt, p["order_id"], b["amount"])
    assert webhook_traced(payment, paid_event(p["order_id"], receipt, b["amount"]),
                          traceparent(new_trace())).status_code == 200
    assert attach(payment, u, p["order_id"], b["booking_id"]).status_code == 200

    trace_id, rid = new_trace(), "trace-c-" + uuid.uuid4().hex[:8]
    r = booking.post(f"/api/bookings/{b['booking_number']}/cancel",
                     headers={**u.auth, "traceparent": traceparent(trace_id), "X-Request-Id": rid})
    assert r.status_code == 200, r.text
    cancel = server_span(otlp, trace_id, "POST /api/bookings/:booking_number/cancel")
    assert cancel["service"] == "cloudjet-booking" and cancel["parentSpanId"] == PARENT
    # the outbox row holds the cancel request's context
    stored = booking.db_scalar("SELECT traceparent AS tp FROM refund_outbox WHERE payment_id = ?",
                               (p["payment_id"],))
    assert stored == f"00-{trace_id}-{cancel['spanId']}-01", stored

    # the payment process's worker continues the trace: refund.send is a child of the cancel
    send = otlp.wait_for(lambda s: [x for x in s if x["traceId"] == trace_id and x["name"] == "refund.send"],
                         timeout=20, what="refund.send span")
    assert len(send) == 1, send
    send = send[0]
    assert send["service"] == "cloudjet-payment" and send["kind"] == CONSUMER, send
    assert send["parentSpanId"] == cancel["spanId"], send
    # its gateway call is a CLIENT child of that, and the gateway saw that span as the parent
    calls = bootpay.wait_for_calls(1, "cancel")
    tp = calls[0].headers.get("traceparent", "")
    m = re.fullmatch(r"00-([0-9a-f]{32})-([0-9a-f]{16})-01", tp)
    assert m, calls[0].headers
    assert m.group(1) == trace_id
    client = otlp.wait_for(lambda s: [x for x in s if x["spanId"] == m.group(2)], what="gateway client span")[0]
    assert client["kind"] == CLIENT and client["parentSpanId"] == send["spanId"], client
    assert client["service"] == "cloudjet-payment"
    assert client["attrs"]["url.path"] == "/v2/cancel" and client["attrs"]["http.request.method"] == "POST"
    assert client["attrs"]["server.address"] == "127.0.0.1"
    assert client["attrs"]["http.response.status_code"] == 200
    # the outbox marks of the send are in the trace too
    marks = otlp.wait_for(lambda s: [x for x in s if x["traceId"] == trace_id
                                     and x["name"] == "refund_outbox.complete"], what="outbox mark span")
    assert marks[0]["parentSpanId"] == send["spanId"]
    # spans of both services arrived, and the worker's log line names the cancel's trace
    assert {"cloudjet-booking", "cloudjet-payment"} <= {s["service"] for s in otlp.spans(traceId=trace_id)}
    sent = cj.wait_until(lambda: cj.log_records(payment, "refund sent", payment_id=p["payment_id"]), 10,
                         what="refund sent log line")
    assert sent[0]["trace_id"] == trace_id and sent[0]["span_id"] == send["spanId"], sent
    assert access_line(booking, rid)["trace_id"] == trace_id


def refund_trace(srv, otlp, payment_id: int) -> tuple[str, str, dict]:
    """(trace id, span id) stored with the payment's refund row, and the refund.send span that
    continued it."""
    stored = cj.wait_until(lambda: srv.db_scalar("SELECT traceparent AS tp FROM refund_outbox WHERE payment_id = ?",
                                                 (payment_id,)), 20, what="refund row with a traceparent")
    m = re.fullmatch(r"00-([0-9a-f]{32})-([0-9a-f]{16})-01", stored)
    assert m, stored
    send = otlp.wait_for(lambda s: [x for x in s if x["traceId"] == m.group(1) and x["name"] == "refund.send"],
                         timeout=20, what="refund.send span")[0]
    assert send["parentSpanId"] == m.group(2), (send, stored)
    return m.group(1), m.group(2), send


def test_a_late_paid_webhook_and_the_orphan_refunder_queue_refunds_in_their_own_traces(
        make_server, backend, otlp, bootpay):
    srv = make_server(backend, extra_env={**trace_env(otlp), **gateway_env(bootpay),
                                          "ORPHAN_PAYMENT_REFUND_MINUTES": "30", "SWEEP_INTERVAL_SECONDS": "1"})
    u = srv.make_user()
    # late PAID: the booking was cancelled before the payment was captured
    b = create_booking(srv, u)
    p = init_payment(srv, u, amount=b["amount"], scheduleId=b["schedule_id"])
    assert attach(srv, u, p["order_id"], b["booking_id"]).status_code == 200
    assert srv.post(f"/api/bookings/{b['booking_number']}/cancel", headers=u.auth).status_code == 200
    receipt = new_receipt()
    bootpay.add_receipt(receipt, p["order_id"], b["amount"])
    trace_id = new_trace()
    assert webhook_traced(srv, paid_event(p["order_id"], receipt, b["amount"]), traceparent(trace_id)).status_code == 200
    hook = server_span(otlp, trace_id, "POST /api/payments/webhook")
    stored_trace, stored_span, send = refund_trace(srv, otlp, p["payment_id"])
    assert (stored_trace, stored_span) == (trace_id, hook["spanId"])
    call = cj.wait_until(lambda: [c for c in bootpay.calls("cancel") if c.body.get("receipt_id") == receipt], 20,
                         what="late refund sent")[0]
    assert call.headers["traceparent"].startswith(f"00-{trace_id}-")

    # orphan: paid 31 minutes ago, attached to nothing; no request asked for its refund
    orphan = init_payment(srv, u, 130000)
    orphan_receipt = new_receipt()
    bootpay.add_receipt(orphan_receipt, orphan["order_id"], 130000)
    assert webhook_traced(srv, paid_event(orphan["order_id"], orphan_receipt, 130000),
                          traceparent(new_trace())).status_code == 200
    past = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() - 31 * 60))
    srv.db_query("UPDATE payments SET updated_at = ? WHERE order_id = ?", (past, orphan["order_id"]))
    orphan_trace, orphan_span, send = refund_trace(srv, otlp, orphan["payment_id"])
    root = otlp.wait_for(lambda s: [x for x in s if x["spanId"] == orphan_span], what="orphan refunder span")[0]
    assert root["name"] == "payment.refund_orphan" and root["parentSpanId"] == "", root
    assert root["service"] == "cloudjet-payment" and root["traceId"] == orphan_trace
    call = cj.wait_until(lambda: [c for c in bootpay.calls("cancel") if c.body.get("receipt_id") == orphan_receipt],
                         20, what="orphan refund sent")[0]
    assert call.headers["traceparent"].startswith(f"00-{orphan_trace}-")


def test_the_gateway_calls_of_a_webhook_carry_its_trace(server_factory, otlp, bootpay):
    srv = server_factory(extra_env={**trace_env(otlp), **gateway_env(bootpay)})
    u = srv.make_user()
    p = init_payment(srv, u)
    receipt = new_receipt()
    bootpay.add_receipt(receipt, p["order_id"], 320000)
    trace_id = new_trace()
    assert webhook_traced(srv, paid_event(p["order_id"], receipt), traceparent(trace_id)).status_code == 200
    hook = server_span(otlp, trace_id, "POST /api/payments/webhook")
    assert hook["service"] == "cloudjet-payment"
    # a fresh process has no token yet: the token call and the receipt lookup both carry the trace
    calls = [c for c in bootpay.calls() if c.endpoint in ("token", "receipt")]
    assert {c.endpoint for c in calls} == {"token", "receipt"}, calls
    for c in calls:
        m = re.fullmatch(r"00-([0-9a-f]{32})-([0-9a-f]{16})-01", c.headers.get("traceparent", ""))
        assert m and m.group(1) == trace_id, (c.endpoint, c.headers)
        span = otlp.wait_for(lambda s: [x for x in s if x["spanId"] == m.group(2)], what=f"{c.endpoint} span")[0]
        assert span["kind"] == CLIENT and span["parentSpanId"] == hook["spanId"], span
        assert span["attrs"]["url.path"] == c.path.split("?")[0]


# The receiver's behaviour does not depend on the database: SQLite only.
@pytest.mark.parametrize("mode", ["stall", "fail"])
def test_a_stalled_or_failing_receiver_never_slows_requests_and_drops_are_counted(make_server, otlp, mode):
    otlp.set_mode(mode, stall_seconds=6)
    srv = make_server("sqlite", extra_env=trace_env(otlp, OTEL_BSP_MAX_QUEUE_SIZE="4",
                                             OTEL_BSP_MAX_EXPORT_BATCH_SIZE="2",
                                             OTEL_BSP_SCHEDULE_DELAY="50",
                                             OTEL_EXPORTER_OTLP_TIMEOUT="5000"))
    slowest = 0.0
    for _ in range(40):
        started = time.monotonic()
        r = srv.get("/api/flights/airports", headers={"traceparent": traceparent(new_trace())})
        slowest = max(slowest, time.monotonic() - started)
        assert r.status_code == 200
    assert slowest < 1.0, slowest  # nothing waited on the receiver
    dropped = cj.wait_until(lambda: (v := cj.metric_value(srv, "cloudjet_trace_spans_dropped_total")) > 0 and (v,),
                            10, what="dropped spans counted")[0]
    assert dropped > 0
    if mode == "fail":
        assert cj.wait_until(lambda: cj.metric_value(srv, "cloudjet_trace_export_failures_total") > 0, 10,
                             what="export failures counted")
        assert cj.metric_value(srv, "cloudjet_trace_spans_exported_total") == 0
        # one warning for the outage, not one per failed batch
        msg = "trace export failing; spans are dropped until the receiver answers"
        assert len(cj.wait_until(lambda: cj.log_records(srv, msg), 10, what="export warning")) == 1
    assert otlp.requests >= 1
    # a receiver that does not answer does not hold up a graceful stop (stop() asserts exit 0)
    started = time.monotonic()
    srv.stop()
    assert time.monotonic() - started < cj.STOP_TIMEOUT


def test_without_an_endpoint_nothing_is_exported_and_logs_still_carry_trace_ids(make_server, otlp):
    srv = make_server("sqlite", extra_env={**MODULE_SERVER_ENV, "OTEL_EXPORTER_OTLP_ENDPOINT": None,
                                    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": None})
    trace_id, rid, fresh = new_trace(), "trace-f-" + uuid.uuid4().hex[:8], "trace-f-" + uuid.uuid4().hex[:8]
    assert srv.get("/api/flights/airports", headers={"traceparent": traceparent(trace_id),
                                                     "X-Request-Id": rid}).status_code == 200
    assert srv.get("/api/flights/airports", headers={"X-Request-Id": fresh}).status_code == 200
    honoured = access_line(srv, rid)
    assert honoured["trace_id"] == trace_id and HEX16.match(honoured["span_id"]), honoured
    assert honoured["span_id"] != PARENT
    other = access_line(srv, fresh)
    assert HEX32.match(other["trace_id"]) and other["trace_id"] != trace_id, other
    # unrouted answers (404) get ids too
    lost = "trace-f-" + uuid.uuid4().hex[:8]
    assert srv.get("/no/such/path", headers={"traceparent": traceparent(trace_id),
                                             "X-Request-Id": lost}).status_code == 404
    assert access_line(srv, lost)["trace_id"] == trace_id
    time.sleep(1.5)
    assert otlp.requests == 0 and otlp.spans() == []
    text = srv.get("/metrics").text
    assert "cloudjet_trace_spans_exported_total" not in text  # no exporter in this process


def test_spans_still_queued_are_sent_on_a_graceful_stop(make_server, otlp):
    # An hour's delay and a large batch: only the shutdown flush can send these.
    srv = make_server("sqlite", extra_env=trace_env(otlp, OTEL_BSP_SCHEDULE_DELAY="3600000"))
    trace_id = new_trace()
    assert srv.get("/api/flights/airports", headers={"traceparent": traceparent(trace_id)}).status_code == 200
    time.sleep(0.5)
    assert otlp.spans(traceId=trace_id) == []
    srv.stop()  # asserts exit 0
    span = server_span(otlp, trace_id, "GET /api/flights/airports")
    assert span["parentSpanId"] == PARENT
