#!/usr/bin/python3
"""CloudJet benchmarks with wrk: starts the real binary (embedded SQLite + in-process cache, and
MariaDB + Redis started on loopback with throw-away data dirs), runs each scenario and prints a
table: scenario, req/s, p50, p99, errors.

    bench/run.py                       # both backends, -t2 -c64 -d10s
    bench/run.py --backends sqlite --duration 5
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(os.environ.get("CLOUDJET_BIN", ROOT / "build" / "cloudjet"))
ROUTES = ["NRT", "KIX", "BKK", "SYD", "LAX", "CDG"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except Exception:
            time.sleep(0.2)
    raise RuntimeError(f"{url} not ready")


def call(base: str, method: str, path: str, body: dict | None = None, token: str | None = None):
    data = json.dumps(body).encode() if body is not None else None
    rq = urllib.request.Request(base + path, data=data, method=method)
    rq.add_header("Content-Type", "application/json")
    if token:
        rq.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(rq, timeout=30) as r:
        return json.loads(r.read())


def wrk(url: str, args, script: str | None = None, env: dict | None = None) -> dict:
    cmd = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s", "--latency"]
    if script:
        cmd += ["-s", str(ROOT / "bench" / script)]
    cmd.append(url)
    time.sleep(1)  # let the previous scenario's queued work drain
    out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})},
                         check=True).stdout
    def lat(label):
        m = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            return float("nan")
        v, unit = float(m.group(1)), m.group(2)
        return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = 0
    if m := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out):
        errors += int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        errors += sum(int(x) for x in m.groups())
    total = int(re.search(r"(\d+) requests in", out).group(1))
    return {"rps": rps, "p50": lat(50), "p99": lat(99), "errors": errors, "requests": total,
            "cmd": " ".join(cmd)}


class Infra:
    """MariaDB + Redis on loopback, for the 'mariadb' backend."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.procs = []

    def start(self) -> dict:
        mport, rport = free_port(), free_port()
        mdir, rdir = self.tmp / "mariadb", self.tmp / "redis"
        mdir.mkdir()
        rdir.mkdir()
        log = open(self.tmp / "infra.log", "ab")
        self.procs.append(subprocess.Popen([str(ROOT / "scripts/start-mariadb.sh"), str(mdir), str(mport)],
                                           stdout=log, stderr=log, start_new_session=True))
        self.procs.append(subprocess.Popen([str(ROOT / "scripts/start-redis.sh"), str(rdir), str(rport)],
                                           stdout=log, stderr=log, start_new_session=True))
        password = secrets.token_urlsafe(16)
        sock = mdir / "mysqld.sock"
        for _ in range(300):
            r = subprocess.run(["mariadb", "--protocol=TCP", "-h127.0.0.1", f"-P{mport}", "-uroot", "-e",
                                "CREATE DATABASE IF NOT EXISTS cloudjet_bench; "
                                f"CREATE USER IF NOT EXISTS 'bench'@'127.0.0.1' IDENTIFIED BY '{password}'; "
                                "GRANT ALL ON cloudjet_bench.* TO 'bench'@'127.0.0.1';"],
                               capture_output=True)
            if r.returncode == 0:
                break
            time.sleep(0.2)
        else:
            raise RuntimeError(f"MariaDB did not start (socket {sock})")
        return {"DB_HOST": "127.0.0.1", "DB_PORT": str(mport), "DB_USER": "bench",
                "DB_PASSWORD": password, "DB_NAME": "cloudjet_bench",
                "REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(rport)}

    def stop(self):
        for p in self.procs:
            p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


def run_backend(backend: str, args) -> list[tuple[str, str, dict]]:
    tmp = Path(tempfile.mkdtemp(prefix=f"cj-bench-{backend}-"))
    infra = Infra(tmp)
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"),
           "SECRET_KEY": secrets.token_hex(32), "CLOUDJET_ADMIN_PASSWORD": secrets.token_urlsafe(16),
           "ACCESS_LOG": "false", "LOGIN_MAX_FAILURES_PER_CLIENT": "1000000"}
    env.update(args.env)
    if backend == "mariadb":
        env.update(infra.start())
    port = free_port()
    log = open(tmp / "server.log", "ab")
    if backend == "mariadb":  # serve seeds demo data by itself only into the embedded SQLite database
        subprocess.run([str(BIN), "seed", "--demo", "--data-dir", str(tmp / "data")], env=env, stdout=log,
                       stderr=log, check=True)
    server = subprocess.Popen([str(BIN), "serve", "--single-port", str(port), "--data-dir", str(tmp / "data")],
                              env=env, stdout=log, stderr=log, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    results = []
    try:
        wait_for(base + "/ready")
        rss_kb = int(Path(f"/proc/{server.pid}/status").read_text().split("VmRSS:")[1].split()[0])
        results.append(("idle RSS", "", {"rss_mib": rss_kb / 1024}))
        email, password = f"bench-{secrets.token_hex(4)}@cloudjet.test", "bench-password-1"
        call(base, "POST", "/api/auth/signup", {"name": "벤치", "email": email, "password": password,
                                               "phone": "010-1234-5678", "birthDate": "1990-01-01"})
        token = call(base, "POST", "/api/auth/login", {"email": email, "password": password})["token"]
        today = dt.datetime.now(dt.timezone.utc).date()
        hot = f"/api/flights/search?departure=ICN&arrival=NRT&date={today + dt.timedelta(days=3)}"
        paths = [f"/api/flights/search?departure=ICN&arrival={a}&date={today + dt.timedelta(days=d)}"
                 for a in ROUTES for d in range(1, 29)]
        (tmp / "paths.txt").write_text("\n".join(paths) + "\n")
        results.append(("health", "GET /api/auth/health", wrk(base + "/api/auth/health", args)))
        results.append(("login", "POST /api/auth/login", wrk(base + "/api/auth/login", args, "login.lua",
                                                            {"BENCH_EMAIL": email, "BENCH_PASSWORD": password})))
        results.append(("search hot key", hot, wrk(base + hot, args)))
        results.append((f"search {len(paths)} keys", "paths.lua", wrk(base + "/", args, "paths.lua",
                                                                    {"BENCH_PATHS": str(tmp / "paths.txt")})))
        results.append(("airports", "GET /api/flights/airports", wrk(base + "/api/flights/airports", args)))
        # Bookings: one passenger each, round robin over every future schedule; plenty of seats
        # are made available first (bench data only) so the run measures booking, not sold-outs.
        schedules = []
        for a in ROUTES:
            for d in range(1, 29):
                body = call(base, "GET", f"/api/flights/search?departure=ICN&arrival={a}&date={today + dt.timedelta(days=d)}")
                schedules += [(f["schedule_id"], f["price"]) for f in body["flights"]]
        set_seats(backend, tmp, env, 100000)
        (tmp / "bookings.txt").write_text("".join(f"{sid} {price}\n" for sid, price in schedules))
        results.append(("create booking", "POST /api/bookings", wrk(base + "/api/bookings", args, "booking.lua",
                                                                  {"BENCH_BOOKINGS": str(tmp / "bookings.txt"),
                                                                   "BENCH_TOKEN": token})))
        occ = f"/api/bookings/occupied-seats/{schedules[0][0]}"
        results.append(("occupied seats", occ, wrk(base + occ, args)))
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        infra.stop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return results


def set_seats(backend: str, tmp: Path, env: dict, seats: int) -> None:
    sql = f"UPDATE flight_schedules SET available_seats = {seats}"
    if backend == "sqlite":
        con = sqlite3.connect(tmp / "data" / "cloudjet.db", timeout=30)
        con.execute(sql)
        con.commit()
        con.close()
    else:
        subprocess.run(["mariadb", "--protocol=TCP", f"-h{env['DB_HOST']}", f"-P{env['DB_PORT']}",
                        f"-u{env['DB_USER']}", f"-p{env['DB_PASSWORD']}", env["DB_NAME"], "-e", sql], check=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backends", default="sqlite,mariadb")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--keep", action="store_true", help="keep the temp dirs (logs, databases)")
    ap.add_argument("--set", action="append", default=[], metavar="VAR=VALUE",
                    help="extra server environment, e.g. --set SQLITE_FULL_SYNC=false")
    args = ap.parse_args()
    args.env = dict(kv.split("=", 1) for kv in args.set)
    if not shutil.which("wrk"):
        print("wrk is not installed: run scripts/install-deps.sh --test", file=sys.stderr)
        return 2
    print(f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s, binary {BIN}")
    print(f"{'backend':<10} {'scenario':<22} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for backend in args.backends.split(","):
        for name, _, r in run_backend(backend, args):
            if "rss_mib" in r:
                print(f"{backend:<10} {name:<22} {r['rss_mib']:>9.1f}M")
                continue
            print(f"{backend:<10} {name:<22} {r['rps']:>10.0f} {r['p50']:>8.2f} {r['p99']:>8.2f} {r['errors']:>7}")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
