"""The Postman collection (docs/CloudJet-API.postman_collection.json), run by newman against the real
binary: on SQLite with the in-process cache, and on MariaDB + redis-server.

newman is installed into tests/newman/node_modules by `scripts/install-deps.sh --test`
(`npm ci --prefix tests/newman`). Without it the test is skipped with that hint, except in CI
(`CI` set), where a missing newman fails.

The server gets a known admin password and Bootpay keys but no BOOTPAY_API_URL, so webhooks are
verified by their signature only (the collection signs them in a pre-request script). The run must
have no failure and at least the expected number of requests and assertions (from newman's JSON
report), so a collection that silently lost requests or tests fails too.
"""
from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest

import cj

NEWMAN_DIR = cj.REPO / "tests" / "newman"
NEWMAN = NEWMAN_DIR / "node_modules" / ".bin" / "newman"
COLLECTION = cj.REPO / "docs" / "CloudJet-API.postman_collection.json"
ENVIRONMENT = cj.REPO / "docs" / "test-environment.json"

# What the collection holds today; lower only on purpose.
MIN_REQUESTS = 76
MIN_ASSERTIONS = 171
NEWMAN_TIMEOUT = 300


def newman_or_skip() -> Path:
    if NEWMAN.exists():
        return NEWMAN
    msg = f"newman is not installed ({NEWMAN.relative_to(cj.REPO)}): run scripts/install-deps.sh --test"
    if os.environ.get("CI"):
        pytest.fail(msg + " (CI is set, so newman must run)", pytrace=False)
    pytest.skip(msg)


def test_collection_is_generated_from_its_script():
    out = subprocess.run([sys.executable, str(NEWMAN_DIR / "make_collection.py"), "--check"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr


def run_newman(srv: cj.Server, tmp_path: Path, private_key: str, application_id: str) -> dict:
    report = tmp_path / "newman-report.json"
    cmd = [str(newman_or_skip()), "run", str(COLLECTION), "--environment", str(ENVIRONMENT),
           "--env-var", f"baseUrl=http://127.0.0.1:{srv.port}",
           "--env-var", f"adminPassword={srv.admin_password}",
           "--env-var", f"bootpayPrivateKey={private_key}",
           "--env-var", f"bootpayApplicationId={application_id}",
           "--reporters", "cli,json", "--reporter-json-export", str(report),
           "--timeout-request", "15000", "--color", "off", "--disable-unicode"]
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    started = time.monotonic()
    out = subprocess.run(cmd, cwd=str(cj.REPO), env=env, stdin=subprocess.DEVNULL, capture_output=True,
                         text=True, errors="replace", timeout=NEWMAN_TIMEOUT)
    took = time.monotonic() - started
    print(f"newman ({srv.backend}): exit {out.returncode} in {took:.1f}s\n{out.stdout[-3000:]}")
    assert report.exists(), f"newman wrote no report (exit {out.returncode})\n{out.stdout[-6000:]}\n{out.stderr}"
    data = json.loads(report.read_text(encoding="utf-8"))
    failures = [f"{f.get('source', {}).get('name', '?')}: {f.get('error', {}).get('test', '')} "
                f"{f.get('error', {}).get('message', '')}" for f in data["run"]["failures"]]
    assert out.returncode == 0 and not failures, (
        f"newman exit {out.returncode}, {len(failures)} failures:\n" + "\n".join(failures) +
        f"\n{out.stdout[-6000:]}\n{out.stderr[-2000:]}")
    return data["run"]["stats"]


def check_stats(stats: dict) -> None:
    assert stats["requests"]["failed"] == 0 and stats["assertions"]["failed"] == 0, stats
    assert stats["testScripts"]["failed"] == 0 and stats["prerequestScripts"]["failed"] == 0, stats
    assert stats["requests"]["total"] >= MIN_REQUESTS, stats
    assert stats["assertions"]["total"] >= MIN_ASSERTIONS, stats
    # Every request has its test script.
    assert stats["testScripts"]["total"] == stats["requests"]["total"], stats


def keys() -> dict[str, str]:
    return {"BOOTPAY_PRIVATE_KEY": "nm-pk-" + secrets.token_urlsafe(24),
            "BOOTPAY_REST_API_KEY": "nm-app-" + secrets.token_hex(8)}


def test_collection_passes_on_sqlite(make_server, tmp_path):
    newman_or_skip()
    k = keys()
    srv = make_server("sqlite", extra_env=k)
    assert srv.admin_password
    stats = run_newman(srv, tmp_path, k["BOOTPAY_PRIVATE_KEY"], k["BOOTPAY_REST_API_KEY"])
    check_stats(stats)
    # The journey's state, seen from the database: the paid booking is linked to its PAID payment.
    rows = srv.db_query("SELECT p.status, p.amount, b.total_amount, b.status AS bstatus FROM payments p "
                        "JOIN bookings b ON b.booking_id = p.booking_id")
    assert [(r["status"], r["bstatus"]) for r in rows] == [("PAID", "CONFIRMED")], rows
    assert int(rows[0]["amount"]) == int(rows[0]["total_amount"]), rows


def test_collection_passes_on_mariadb_with_redis(make_server, mariadb, redis_server, tmp_path):
    newman_or_skip()
    k = keys()
    srv = make_server("mariadb", redis=redis_server, extra_env=k)
    stats = run_newman(srv, tmp_path, k["BOOTPAY_PRIVATE_KEY"], k["BOOTPAY_REST_API_KEY"])
    check_stats(stats)
    rows = srv.db_query("SELECT p.status, b.status AS bstatus FROM payments p "
                        "JOIN bookings b ON b.booking_id = p.booking_id")
    assert [(r["status"], r["bstatus"]) for r in rows] == [("PAID", "CONFIRMED")], rows
    # A second run against the same server and database passes too (unique email, flight, receipt).
    check_stats(run_newman(srv, tmp_path, k["BOOTPAY_PRIVATE_KEY"], k["BOOTPAY_REST_API_KEY"]))
