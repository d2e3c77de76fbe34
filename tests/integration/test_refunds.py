"""The refund outbox sends every refund exactly once (tracker issue 12): row-by-row claims with a
claim token and a lease the worker renews while the gateway call runs, marks that hold only for the
claim's own token, a cancel_id derived from the row (the gateway dedupes on it), 4xx = FAILED for
good, 5xx = retried with backoff, and the refund_outbox gauges on /metrics. Both backends.

Each test starts its own server(s) with REFUND_LEASE_SECONDS=2 and a fake gateway whose cancels
take longer than that lease (fake_bootpay.set_delay), so a lease that were not renewed would run
out in the middle of every send."""
from __future__ import annotations

import sqlite3
import time

import pytest

import cj
from fake_bootpay import bootpay, bootpay_module  # noqa: F401
from test_payment import (MODULE_SERVER_ENV, cancel_booking, gateway_env, outbox_id_of, paid_booking,
                          assert_refund_call)

LEASE = 2
SLOW_CANCEL = 2.3  # longer than LEASE, well inside the gateway client's 3 s request timeout
OUTBOX_COLUMNS = "outbox_id, payment_id, receipt_id, cancel_price, status, attempts, last_error, claim_token"


def refund_env(fake) -> dict:
    return {**MODULE_SERVER_ENV, **gateway_env(fake), "REFUND_LEASE_SECONDS": str(LEASE)}


def outbox_row(srv, payment_id: int) -> dict:
    rows = srv.db_query(f"SELECT {OUTBOX_COLUMNS} FROM refund_outbox WHERE payment_id = ?", (payment_id,))
    assert len(rows) == 1, rows
    return rows[0]


def wait_row(srv, payment_id: int, pred, what: str, timeout: float = 20.0) -> dict:
    def check():
        row = outbox_row(srv, payment_id)
        return row if pred(row) else None
    return cj.wait_until(check, timeout, interval=0.05, what=what)


def wait_metric(srv, name: str, pred, timeout: float = 10.0) -> float:
    def check():
        v = cj.metric_value(srv, name)
        return (v,) if pred(v) else None
    return cj.wait_until(check, timeout, interval=0.1, what=f"{name} on /metrics")[0]


# ============================================================================================


def test_two_processes_with_a_slow_gateway_send_every_refund_exactly_once(make_server, backend, bootpay):
    env = refund_env(bootpay)
    a = make_server(backend, extra_env=env)
    b = cj.replica_of(make_server, a, env)
    u = a.make_user()
    paid = [paid_booking(a, u, bootpay) for _ in range(4)]
    bootpay.set_delay(SLOW_CANCEL, "cancel")
    started = time.monotonic()
    for i, pb in enumerate(paid):  # cancels on both processes: both workers are kicked
        cancel_booking(a if i % 2 == 0 else b, u, pb["booking_number"])

    for pb in paid:
        wait_row(a, pb["payment_id"], lambda r: r["status"] == "DONE", "refund DONE", timeout=60)
    # the batch outlived any single lease many times over
    assert time.monotonic() - started > LEASE * 2

    for pb in paid:
        cancel_id = f"cj-refund-{outbox_id_of(a, pb['payment_id'])}"
        row = outbox_row(a, pb["payment_id"])
        assert (row["status"], row["attempts"], row["last_error"], row["claim_token"]) == ("DONE", 1, None, None), row
        calls = [c for c in bootpay.calls("cancel") if c.body.get("receipt_id") == pb["receipt"]]
        # one call per row: no second process sent it while the first was still waiting on the gateway
        assert len(calls) == 1, calls
        assert (calls[0].status, calls[0].replayed) == (200, False), calls
        assert_refund_call(calls[0].body, pb["receipt"], pb["amount"], cancel_id)
        assert calls[0].headers.get("idempotency-key") == cancel_id
        assert len(bootpay.refunds(pb["receipt"])) == 1
        assert bootpay.receipt(pb["receipt"])["status"] == 20
    assert len(bootpay.calls("cancel")) == len(paid)

    # both processes sent some (so the two really competed), together each refund once
    sent = [wait_metric(s, "cloudjet_refunds_sent_total", lambda v: v >= 1) for s in (a, b)]
    assert sum(sent) == len(paid), sent
    for s in (a, b):
        assert wait_metric(s, "cloudjet_refund_outbox_pending", lambda v: v == 0) == 0
        assert cj.metric_value(s, "cloudjet_refund_outbox_oldest_age_seconds") == 0
        assert not cj.log_records(s, "refund claim was taken over; outcome not recorded")
        # every renewal found the claim held (MySQL reports 0 changed rows for a same-second renewal)
        assert not cj.log_records(s, "refund claim taken over while its gateway call runs")


def test_gateway_refusal_marks_the_refund_failed_and_it_is_never_sent_again(server_factory, bootpay):
    srv = server_factory(extra_env=refund_env(bootpay))
    u = srv.make_user()
    refused, fine = paid_booking(srv, u, bootpay), paid_booking(srv, u, bootpay)
    failed_before = cj.metric_value(srv, "cloudjet_refund_outbox_failed")
    bootpay.fail_next("cancel", 400)
    cancel_booking(srv, u, refused["booking_number"])

    row = wait_row(srv, refused["payment_id"], lambda r: r["status"] != "PENDING" and r["status"] != "SENDING",
                   "refused refund marked")
    assert (row["status"], row["attempts"], row["claim_token"]) == ("FAILED", 1, None), row
    assert "400" in row["last_error"] and "FORCED" in row["last_error"], row
    assert [c.status for c in bootpay.calls("cancel")] == [400]  # the gateway client does not retry a 4xx
    assert bootpay.refunds() == []

    alerts = cj.wait_until(lambda: cj.log_records(srv, "ALERT refund refused by the payment gateway: FAILED, not retried"),
                           10, what="refusal alert in the log")
    assert alerts[0]["level"] == "error" and alerts[0]["payment_id"] == refused["payment_id"], alerts
    assert alerts[0]["cancel_id"] == f"cj-refund-{row['outbox_id']}", alerts
    assert wait_metric(srv, "cloudjet_refund_outbox_failed", lambda v: v >= failed_before + 1) == failed_before + 1
    assert cj.metric_value(srv, "cloudjet_refunds_failed_total") == 1
    text = srv.get("/metrics").text
    for name, kind in (("cloudjet_refund_outbox_pending", "gauge"), ("cloudjet_refund_outbox_failed", "gauge"),
                       ("cloudjet_refund_outbox_oldest_age_seconds", "gauge"),
                       ("cloudjet_refunds_sent_total", "counter"), ("cloudjet_refunds_failed_total", "counter")):
        assert f"# TYPE {name} {kind}" in text and f"# HELP {name} " in text, name

    # the worker keeps working (a later refund goes out) and never comes back to the refused one
    cancel_booking(srv, u, fine["booking_number"])
    done = wait_row(srv, fine["payment_id"], lambda r: r["status"] == "DONE", "second refund DONE")
    assert (done["attempts"], done["last_error"], done["claim_token"]) == (1, None, None), done
    time.sleep(4.5)  # two more worker ticks for the refused row to be (wrongly) picked up again
    assert [c.status for c in bootpay.calls("cancel")] == [400, 200]
    assert [b["receipt_id"] for b in bootpay.refunds()] == [fine["receipt"]]
    assert outbox_row(srv, refused["payment_id"]) == row
    assert wait_metric(srv, "cloudjet_refund_outbox_pending", lambda v: v == 0) == 0
    assert cj.metric_value(srv, "cloudjet_refund_outbox_oldest_age_seconds") == 0
    assert cj.metric_value(srv, "cloudjet_refund_outbox_failed") == failed_before + 1


def test_gateway_5xx_then_success_is_retried_with_the_same_cancel_id_and_done(server_factory, bootpay):
    srv = server_factory(extra_env=refund_env(bootpay))
    u = srv.make_user()
    pb = paid_booking(srv, u, bootpay)
    bootpay.fail_next("cancel", 503, times=3)  # the gateway client's three tries of the first attempt
    cancel_booking(srv, u, pb["booking_number"])

    retrying = wait_row(srv, pb["payment_id"], lambda r: r["attempts"] == 1, "first attempt recorded")
    assert (retrying["status"], retrying["claim_token"]) == ("PENDING", None), retrying
    assert "503" in retrying["last_error"], retrying
    assert cj.metric_value(srv, "cloudjet_refund_outbox_failed") == 0
    done = wait_row(srv, pb["payment_id"], lambda r: r["status"] == "DONE", "refund DONE after the backoff")
    assert (done["attempts"], done["last_error"], done["claim_token"]) == (2, None, None), done

    calls = bootpay.calls("cancel")
    assert [c.status for c in calls] == [503, 503, 503, 200], calls
    cancel_id = f"cj-refund-{done['outbox_id']}"
    for c in calls:
        assert_refund_call(c.body, pb["receipt"], pb["amount"], cancel_id)
        assert c.headers.get("idempotency-key") == cancel_id
    assert len(bootpay.refunds(pb["receipt"])) == 1
    assert wait_metric(srv, "cloudjet_refunds_sent_total", lambda v: v >= 1) == 1
    assert cj.metric_value(srv, "cloudjet_refunds_failed_total") == 0
    assert wait_metric(srv, "cloudjet_refund_outbox_pending", lambda v: v == 0) == 0


def test_a_401_for_an_expired_gateway_token_is_not_a_refusal(server_factory, bootpay):
    srv = server_factory(extra_env=refund_env(bootpay))
    u = srv.make_user()
    pb = paid_booking(srv, u, bootpay)  # the server now holds a token (the webhook's receipt lookup)
    bootpay.revoke_tokens()  # as when it expires at the gateway
    cancel_booking(srv, u, pb["booking_number"])

    done = wait_row(srv, pb["payment_id"], lambda r: r["status"] != "PENDING" and r["status"] != "SENDING",
                    "refund marked")
    assert (done["status"], done["attempts"], done["last_error"]) == ("DONE", 1, None), done
    calls = bootpay.calls("cancel")
    assert [c.status for c in calls] == [401, 200], calls
    assert calls[0].bearer != calls[1].bearer  # a new token was fetched in between
    assert len(bootpay.refunds(pb["receipt"])) == 1
    assert cj.metric_value(srv, "cloudjet_refunds_failed_total") == 0


def test_worker_whose_claim_was_taken_over_does_not_mark_the_row(server_factory, bootpay):
    srv = server_factory(extra_env=refund_env(bootpay))
    u = srv.make_user()
    pb = paid_booking(srv, u, bootpay)
    bootpay.set_delay(SLOW_CANCEL, "cancel")
    cancel_booking(srv, u, pb["booking_number"])

    # while the gateway holds the call, another worker takes the row over (for a long lease)
    first = bootpay.wait_for_calls(1, "cancel", timeout=10)[0]
    claimed = outbox_row(srv, pb["payment_id"])
    assert claimed["status"] == "SENDING" and len(claimed["claim_token"] or "") == 32, claimed
    far = int(time.time()) + 3600
    srv.db_query("UPDATE refund_outbox SET claim_token = ?, next_attempt_at = ? WHERE payment_id = ?",
                 ("taken-over-by-test", far, pb["payment_id"]))
    cj.wait_until(lambda: first.status == 200, 10, what="the gateway answering the first send")
    cj.wait_until(lambda: cj.log_records(srv, "refund claim was taken over; outcome not recorded"), 10,
                  what="the worker noticing it lost its claim")
    row = outbox_row(srv, pb["payment_id"])
    assert (row["status"], row["attempts"], row["last_error"], row["claim_token"]) == (
        "SENDING", 0, None, "taken-over-by-test"), row
    assert int(srv.db_scalar("SELECT next_attempt_at AS n FROM refund_outbox WHERE payment_id = ?",
                             (pb["payment_id"],))) == far  # the lost worker's renewals changed nothing

    # the other holder vanished: its lease ends, the row is claimed again and sent with the same
    # cancel_id, which the gateway answers as the cancel it already made
    bootpay.set_delay(0, "cancel")
    srv.db_query("UPDATE refund_outbox SET next_attempt_at = 0 WHERE payment_id = ?", (pb["payment_id"],))
    done = wait_row(srv, pb["payment_id"], lambda r: r["status"] == "DONE", "refund DONE after the takeover")
    assert (done["attempts"], done["last_error"], done["claim_token"]) == (1, None, None), done
    calls = bootpay.calls("cancel")
    assert [(c.status, c.replayed) for c in calls] == [(200, False), (200, True)], calls
    assert {c.body["cancel_id"] for c in calls} == {f"cj-refund-{done['outbox_id']}"}
    assert len(bootpay.refunds(pb["receipt"])) == 1


def test_migration_008_keeps_queued_refunds_and_sends_them(make_server, backend, bootpay):
    """A database with refunds queued before migration 008 (its refund_outbox as 005 made it) is
    upgraded in place: rows, ids and the due index kept, claim_token NULL, FAILED accepted, and the
    queued refund still goes out."""
    srv = make_server(backend, extra_env=MODULE_SERVER_ENV)  # no gateway: nothing is sent yet
    admin = int(srv.db_scalar("SELECT user_id AS u FROM users WHERE email = ?", (cj.ADMIN_EMAIL,)))
    receipts = {}
    for name in ("queued", "done", "fresh"):
        receipts[name] = f"rcpt-mig-{name}-{backend}"
        srv.db_query("INSERT INTO payments (user_id, method, provider, amount, currency, status, "
                     "bootpay_receipt_id, order_id) VALUES (?, 'CARD', 'NICEPAY', 1000, 'KRW', 'CANCELLED', ?, ?)",
                     (admin, receipts[name], f"order-mig-{name}"))
    pid = {n: int(srv.db_scalar("SELECT payment_id AS p FROM payments WHERE bootpay_receipt_id = ?", (r,)))
           for n, r in receipts.items()}
    srv.stop()

    # back to the schema before 008
    if backend == "sqlite":
        con = sqlite3.connect(str(srv.sqlite_path), isolation_level=None)
        try:
            con.executescript("DROP TABLE refund_outbox;\n"
                              + (cj.REPO / "migrations" / "sqlite" / "005_payments.sql").read_text())
            con.execute("DELETE FROM schema_migrations WHERE version = '008_refund_outbox_claims'")
            # the 005 table has none of the later columns either (010 added traceparent)
            con.execute("DELETE FROM schema_migrations WHERE version = '010_refund_outbox_traceparent'")
        finally:
            con.close()
    else:
        srv.db_query("ALTER TABLE refund_outbox DROP COLUMN claim_token")
        srv.db_query("ALTER TABLE refund_outbox MODIFY COLUMN status ENUM('PENDING','SENDING','DONE') "
                     "NOT NULL DEFAULT 'PENDING'")
        srv.db_query("DELETE FROM schema_migrations WHERE version = '008_refund_outbox_claims'")
        srv.db_query("ALTER TABLE refund_outbox DROP COLUMN traceparent")
        srv.db_query("DELETE FROM schema_migrations WHERE version = '010_refund_outbox_traceparent'")
    old = "outbox_id, payment_id, receipt_id, cancel_price, reason, status, attempts, next_attempt_at, last_error"
    for outbox_id, name, status, attempts, error in ((7, "queued", "PENDING", 2, "earlier 503"),
                                                     (8, "done", "DONE", 1, None),
                                                     (9, "fresh", "PENDING", 0, None)):
        srv.db_query(f"INSERT INTO refund_outbox ({old}) VALUES (?, ?, ?, 1000, 'test', ?, ?, 0, ?)",
                     (outbox_id, pid[name], receipts[name], status, attempts, error))
    before = srv.db_query(f"SELECT {old} FROM refund_outbox ORDER BY outbox_id")

    srv.env = srv.build_env(gateway_env(bootpay))
    srv.start()  # migrates
    assert srv.db_query("SELECT version FROM schema_migrations WHERE version = '008_refund_outbox_claims'")
    bootpay.wait_for_calls(2, "cancel", 200, timeout=15)
    after = srv.db_query(f"SELECT {old}, claim_token FROM refund_outbox ORDER BY outbox_id")
    assert [r["outbox_id"] for r in after] == [7, 8, 9]
    assert {k: v for k, v in after[1].items() if k != "claim_token"} == before[1] and after[1]["claim_token"] is None
    for name, outbox_id in (("queued", 7), ("fresh", 9)):
        row = wait_row(srv, pid[name], lambda r: r["status"] == "DONE", f"{name} refund DONE after the upgrade")
        assert (row["outbox_id"], row["claim_token"], row["last_error"]) == (outbox_id, None, None), row
        assert [c.body["cancel_id"] for c in bootpay.calls("cancel") if c.body["receipt_id"] == receipts[name]] == [
            f"cj-refund-{outbox_id}"]
    assert int(srv.db_scalar("SELECT attempts AS a FROM refund_outbox WHERE outbox_id = 7")) == 3

    # the new terminal status is accepted by the upgraded table, and new ids carry on after the old
    srv.db_query("UPDATE refund_outbox SET status = 'FAILED', last_error = 'by the test' WHERE outbox_id = 9")
    assert wait_metric(srv, "cloudjet_refund_outbox_failed", lambda v: v == 1) == 1
    u = srv.make_user()
    pb = paid_booking(srv, u, bootpay)
    cancel_booking(srv, u, pb["booking_number"])
    row = wait_row(srv, pb["payment_id"], lambda r: r["status"] == "DONE", "refund queued after the upgrade DONE")
    assert row["outbox_id"] > 9, row
    if backend == "sqlite":
        assert srv.db_query("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'refund_outbox' "
                            "AND name = 'idx_refund_outbox_due'")
        with pytest.raises(sqlite3.IntegrityError):  # the CHECK still holds, with FAILED in it
            srv.db_query("UPDATE refund_outbox SET status = 'LOST' WHERE outbox_id = 9")
