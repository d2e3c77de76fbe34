"""deploy/monitoring against the real thing: Debian's `prometheus` scrapes a running cloudjet every
second (SQLite with METRICS_PORT, MariaDB + Redis on the service port), loads the recording and
alert rules, and answers the queries the dashboard makes, on a healthy system and after an
incident (shed logins: the 5xx panel, the shed rule and its alert); `promtool` checks the rules and runs
their unit tests (deploy/monitoring/tests). Also: METRICS_PORT moves /metrics off the service
port, the process_* metrics agree with /proc, and the promtail pipeline's json stage finds its
fields in real log lines.

Skipped only when `prometheus`/`promtool` are not installed and CI is not set
(`scripts/install-deps.sh --test` installs them).

    CLOUDJET_BIN=$PWD/build/cloudjet /usr/bin/python3 -m pytest tests/integration/test_monitoring.py -q
"""
from __future__ import annotations

import datetime as _dt
import json
import math
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

import cj

yaml = pytest.importorskip("yaml", reason="python3-yaml (Debian package) is needed")

MONITORING = cj.REPO / "deploy" / "monitoring"
RULE_FILES = sorted((MONITORING / "rules").glob("*.yml"))
RULE_TESTS = sorted((MONITORING / "tests").glob("*.yml"))
DASHBOARD = MONITORING / "grafana" / "cloudjet.json"
PROMTAIL = MONITORING / "promtail.yml"

# Dashboard expressions that have no data on a healthy system: they show up only after an
# incident. Keep this list explicit and small.
DATA_ONLY_AFTER_AN_INCIDENT = {
    "5xx ratio by service",  # no request answered 5xx, so there is no 5xx series to divide
}
# Grafana's variables, as the dashboard would expand them with "All" selected.
DASHBOARD_VARIABLES = {"$__rate_interval": "1m", "$service": ".*"}


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        message = f"`{name}` is not installed (Debian package prometheus; scripts/install-deps.sh --test)"
        if os.environ.get("CI"):
            pytest.fail(message + " and CI is set", pytrace=False)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def promtool() -> str:
    return _tool("promtool")


@pytest.fixture(scope="module")
def prometheus_bin() -> str:
    return _tool("prometheus")


def run(cmd: list[str], timeout: float = 60, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


# ---------------------------------------------------------------------------------------------
# promtool: the files as they are in the repository


def alert_names() -> list[str]:
    names = []
    for f in RULE_FILES:
        for g in yaml.safe_load(f.read_text())["groups"]:
            names += [r["alert"] for r in g["rules"] if "alert" in r]
    return names


def recording_names() -> list[str]:
    names = []
    for f in RULE_FILES:
        for g in yaml.safe_load(f.read_text())["groups"]:
            names += [r["record"] for r in g["rules"] if "record" in r]
    return names


def test_promtool_check_rules(promtool):
    r = run([promtool, "check", "rules", *map(str, RULE_FILES)])
    assert r.returncode == 0, r.stdout + r.stderr
    found = sum(int(n) for n in re.findall(r"SUCCESS: (\d+) rules found", r.stdout))
    assert found == len(alert_names()) + len(recording_names()) >= 20, r.stdout


def test_promtool_test_rules(promtool):
    assert RULE_TESTS, "no rule unit tests in deploy/monitoring/tests"
    r = run([promtool, "test", "rules", *map(str, RULE_TESTS)], cwd=MONITORING / "tests")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS" in r.stdout and "FAILED" not in r.stdout, r.stdout


def test_every_alert_has_a_firing_and_a_quiet_unit_test():
    fires: dict[str, int] = {}
    quiet: dict[str, int] = {}
    for f in RULE_TESTS:
        for case in yaml.safe_load(f.read_text())["tests"]:
            for t in case.get("alert_rule_test", []):
                bucket = fires if t.get("exp_alerts") else quiet
                bucket[t["alertname"]] = bucket.get(t["alertname"], 0) + 1
    names = alert_names()
    assert len(names) == len(set(names)) >= 11, names
    assert [n for n in names if n not in fires] == [], "alerts never tested firing"
    assert [n for n in names if n not in quiet] == [], "alerts never tested quiet"
    assert set(fires) | set(quiet) <= set(names), "tests of alerts that do not exist"


def test_promtool_check_config(promtool, tmp_path):
    r = run([promtool, "check", "config", str(MONITORING / "prometheus.yml")])
    assert r.returncode == 0, r.stdout + r.stderr
    # Debian's prometheus is built without Kubernetes service discovery. Then the Kubernetes
    # example is checked with its discovery replaced by a static target (the relabelling, rule
    # files and the rest are still checked).
    k8s = MONITORING / "prometheus-k8s.yml"
    r = run([promtool, "check", "config", str(k8s)])
    if r.returncode != 0 and "kubernetes_sd_configs not found" in r.stdout + r.stderr:
        config = yaml.safe_load(k8s.read_text())
        for job in config["scrape_configs"]:
            assert job.pop("kubernetes_sd_configs", None), job
            job["static_configs"] = [{"targets": ["127.0.0.1:9100"]}]
        config["rule_files"] = [str(MONITORING / f) for f in config["rule_files"]]
        copy = tmp_path / "prometheus-k8s.yml"
        copy.write_text(yaml.safe_dump(config))
        r = run([promtool, "check", "config", str(copy)])
    assert r.returncode == 0, r.stdout + r.stderr
    # Same job name as the static example: the alert rules select job="cloudjet".
    jobs = {j["job_name"] for j in yaml.safe_load(k8s.read_text())["scrape_configs"]}
    assert jobs == {"cloudjet"}, jobs


# ---------------------------------------------------------------------------------------------
# the dashboard and the promtail pipeline, as files


def dashboard_targets() -> list[tuple[str, str]]:
    """(panel title, PromQL) for every query of every panel."""
    dash = json.loads(DASHBOARD.read_text())
    out = []
    for p in dash["panels"]:
        for t in p.get("targets", []):
            out.append((p["title"], t["expr"]))
    return out


def expand(expr: str) -> str:
    for var, value in DASHBOARD_VARIABLES.items():
        expr = expr.replace(var, value)
    assert "$" not in expr, f"unexpanded variable in {expr}"
    return expr


def test_dashboard_is_well_formed():
    dash = json.loads(DASHBOARD.read_text())
    assert dash["uid"] and dash["title"] == "CloudJet"
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids)), "duplicate panel ids"
    graphs = [p for p in dash["panels"] if p["type"] != "row"]
    assert all(p.get("targets") for p in graphs), [p["title"] for p in graphs if not p.get("targets")]
    for p in graphs:
        assert p["datasource"]["uid"] == "${datasource}", p["title"]
        g = p["gridPos"]
        assert g["x"] + g["w"] <= 24, p["title"]
        assert len({t["refId"] for t in p["targets"]}) == len(p["targets"]), p["title"]
    used = " ".join(e for _, e in dashboard_targets())
    # The topics of the dashboard (tracker issue 13).
    for metric in ("cloudjet_http_requests_total", "cloudjet_http_request_duration_seconds_bucket",
                   "cloudjet_db_pool_in_use", "cloudjet_cache_lookups_total",
                   "cloudjet_bookings_completed_total", "cloudjet_booking_holds_expired_total",
                   "cloudjet_refunds_sent_total", "cloudjet_refund_outbox_pending",
                   "process_cpu_seconds_total", "process_resident_memory_bytes"):
        assert metric in used, f"the dashboard never queries {metric}"
    assert "histogram_quantile(0.5," in used and "histogram_quantile(0.99," in used
    assert DATA_ONLY_AFTER_AN_INCIDENT <= {t for t, _ in dashboard_targets()}


def promtail_json_stages() -> list[dict]:
    config = yaml.safe_load(PROMTAIL.read_text())
    stages = []
    for job in config["scrape_configs"]:
        found = [s["json"] for s in job["pipeline_stages"] if "json" in s]
        assert len(found) == 1, f"{job['job_name']}: expected one json stage"
        labels = next(s["labels"] for s in job["pipeline_stages"] if "labels" in s)
        assert "request_id" not in labels, "request_id is unbounded: it must not be a label"
        ts = next(s["timestamp"] for s in job["pipeline_stages"] if "timestamp" in s)
        assert ts["source"] == "time", ts
        stages.append(found[0])
    return stages


def test_promtail_pipeline_is_well_formed():
    for stage in promtail_json_stages():
        assert {"level", "msg", "request_id", "time"} <= set(stage["expressions"]), stage


# ---------------------------------------------------------------------------------------------
# a real Prometheus scraping a running cloudjet


class Prometheus:
    """Debian's prometheus on loopback: temp config and TSDB, 1 s scrape and rule evaluation."""

    def __init__(self, binary: str, work: Path, target: str):
        self.binary = binary
        self.work = work
        self.port = cj.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = work / "prometheus.log"
        config = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(f) for f in RULE_FILES],
            "scrape_configs": [{
                "job_name": "cloudjet",
                "metrics_path": "/metrics",
                "static_configs": [{"targets": [target], "labels": {"component": "all"}}],
            }],
        }
        self.config_path = work / "prometheus.yml"
        self.config_path.write_text(yaml.safe_dump(config))
        self.proc: subprocess.Popen | None = None
        self.session = requests.Session()
        self.session.trust_env = False

    def start(self, timeout: float = 30) -> "Prometheus":
        for attempt in range(3):
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(
                    [self.binary, f"--config.file={self.config_path}",
                     f"--storage.tsdb.path={self.work / 'tsdb'}",
                     f"--web.listen-address=127.0.0.1:{self.port}",
                     "--storage.tsdb.retention.time=1h", "--log.level=warn"],
                    cwd=self.work, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    if self.session.get(self.url + "/-/ready", timeout=1).status_code == 200:
                        return self
                except requests.RequestException:
                    pass
                time.sleep(0.1)
            lost_port = "address already in use" in self.log_text().lower()
            self.stop()
            if not lost_port or attempt == 2:
                raise RuntimeError(f"prometheus did not become ready:\n{self.log_text()[-4000:]}")
            self.port = cj.free_port()
            self.url = f"http://127.0.0.1:{self.port}"
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.session.close()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def api(self, path: str, **params) -> dict:
        r = self.session.get(self.url + path, params=params, timeout=10)
        body = r.json()
        assert r.status_code == 200 and body.get("status") == "success", f"{path} {params}: {r.status_code} {body}"
        return body["data"]

    def query(self, expr: str) -> list[dict]:
        data = self.api("/api/v1/query", query=expr)
        assert data["resultType"] == "vector", data
        return data["result"]

    def value(self, expr: str) -> float:
        result = self.query(expr)
        assert len(result) == 1, f"{expr}: {result}"
        return float(result[0]["value"][1])

    def wait_for(self, expr: str, timeout: float = 20, what: str | None = None) -> list[dict]:
        """Waits until `expr` returns a non-empty result (e.g. until a scrape saw some traffic)."""
        got: list[dict] = []

        def ready():
            nonlocal got
            got = self.query(expr)
            return bool(got)

        cj.wait_until(ready, timeout, interval=0.2, what=what or expr)
        return got


def booking_body(row: dict) -> dict:
    return {"scheduleId": row["sid"],
            "passengers": [{"name": "승객", "nameEn": "PASSENGER", "birth": "1990-01-01", "gender": "M"}],
            "contactInfo": {"email": "contact@example.com", "phone": "010-1234-5678"},
            "paymentMethod": "CARD", "totalAmount": row["unit"]}


def drive_traffic(srv: cj.Server) -> dict:
    """One round of a user's journey: signup + login (and a wrong password), search twice (a cache
    miss, then a hit), the airport list, a booking and its cancellation, payment health, /ready."""
    user = srv.make_user()
    cj.assert_json(srv.login_response(user.email, "wrong-password-1"), 401)
    row = cj.bookable_schedule(srv)
    for _ in range(2):
        cj.assert_json(srv.get(cj.search_path(row)), 200)
    cj.assert_json(srv.get("/api/flights/airports"), 200)
    made = cj.assert_json(srv.post("/api/bookings", json=booking_body(row), headers=user.auth), 201)
    cj.assert_json(srv.post(f"/api/bookings/{made['booking_number']}/cancel", headers=user.auth), 200)
    cj.assert_json(srv.get("/api/payments/health"), 200)
    cj.assert_json(srv.get("/ready"), 200)
    return row


def finite(result: list[dict]) -> list[float]:
    return [v for v in (float(s["value"][1]) for s in result) if not math.isnan(v) and not math.isinf(v)]


@pytest.fixture(scope="module")
def monitored(request, backend, prometheus_bin, tmp_path_factory):
    """A cloudjet (SQLite: /metrics on METRICS_PORT; MariaDB: with Redis, /metrics on the service
    port), a Prometheus scraping it, and two rounds of traffic it has scraped."""
    extra = {"LOGIN_MAX_FAILURES_PER_CLIENT": "1000", "SIGNUP_MAX_PER_CLIENT": "1000"}
    redis = None
    metrics_port = None
    mdb = None
    if backend == "sqlite":
        metrics_port = cj.free_port()
        extra["METRICS_PORT"] = str(metrics_port)
    else:
        redis = request.getfixturevalue("redis_server")
        mdb = request.getfixturevalue("mariadb")
    srv = cj.Server(tmp_path_factory.mktemp(f"monitoring-{backend}"), backend=backend, mariadb=mdb,
                    redis=redis, extra_env=extra)
    srv.start()
    prom = None
    try:
        target = f"127.0.0.1:{metrics_port or srv.port}"
        prom = Prometheus(prometheus_bin, tmp_path_factory.mktemp(f"prometheus-{backend}"), target).start()
        prom.wait_for('up{job="cloudjet"} == 1', what="a successful scrape")
        drive_traffic(srv)
        # Wait for a scrape that saw round one, so that round two shows as an increase (rate > 0).
        prom.wait_for('cloudjet_http_requests_total{route="/api/bookings/:booking_number/cancel",status="200"}')
        drive_traffic(srv)
        prom.wait_for('cloudjet_http_requests_total{route="/api/bookings/:booking_number/cancel",status="200"} >= 2')
        # Rules evaluate every second: give them two rounds with the new data.
        time.sleep(2.5)
        yield srv, prom, backend, metrics_port
    finally:
        if prom is not None:
            prom.stop()
        srv.stop()


def test_prometheus_scrapes_the_target(monitored):
    srv, prom, _, _ = monitored
    targets = prom.api("/api/v1/targets")["activeTargets"]
    assert [t["health"] for t in targets] == ["up"], targets
    assert targets[0]["lastError"] == "", targets
    assert prom.value('up{job="cloudjet"}') == 1


def test_process_metrics_are_plausible(monitored):
    srv, prom, _, _ = monitored
    now = time.time()
    cpu = prom.value("process_cpu_seconds_total")
    assert 0 < cpu < 3600, cpu  # two rounds of Argon2id hashing took some CPU
    rss = prom.value("process_resident_memory_bytes")
    own_rss = cj.process_rss_kib(srv.proc.pid) * 1024
    assert 4 * 2**20 < rss < 4 * 2**30 and 0.5 < rss / own_rss < 2, (rss, own_rss)
    vsz = prom.value("process_virtual_memory_bytes")
    assert vsz >= rss, (vsz, rss)
    fds = prom.value("process_open_fds")
    max_fds = prom.value("process_max_fds")
    own_fds = len(os.listdir(f"/proc/{srv.proc.pid}/fd"))
    assert 3 <= fds <= max_fds and abs(fds - own_fds) <= 16, (fds, own_fds, max_fds)
    assert max_fds >= 256, max_fds
    started = prom.value("process_start_time_seconds")
    # Started by this module's fixture, a few seconds to a few minutes ago.
    assert now - 900 < started <= now + 1, (started, now)
    # Constant across scrapes (a change is what CloudJetRestarting counts).
    assert prom.value("changes(process_start_time_seconds[1m])") == 0


def test_request_metrics_count_the_traffic(monitored):
    _, prom, _, _ = monitored

    def count(route: str, method: str, status: str) -> float:
        return prom.value(f'sum(cloudjet_http_requests_total{{route="{route}",method="{method}",status="{status}"}})')

    assert count("/api/auth/signup", "POST", "201") == 2
    assert count("/api/auth/login", "POST", "200") == 2
    assert count("/api/auth/login", "POST", "401") == 2
    assert count("/api/flights/search", "GET", "200") == 4
    assert count("/api/bookings", "POST", "201") == 2
    assert count("/api/bookings/:booking_number/cancel", "POST", "200") == 2
    assert count("/api/payments/health", "GET", "200") == 2
    # The histogram: per-route buckets, cumulative, the +Inf bucket equal to the count.
    search = 'route="/api/flights/search",method="GET"'
    buckets = prom.query(f"cloudjet_http_request_duration_seconds_bucket{{{search}}}")
    by_le = sorted(((float(b["metric"]["le"]), float(b["value"][1])) for b in buckets))
    assert len(by_le) == 13 and by_le[-1] == (math.inf, 4), by_le
    assert all(a[1] <= b[1] for a, b in zip(by_le, by_le[1:])), by_le
    assert prom.value(f"cloudjet_http_request_duration_seconds_count{{{search}}}") == 4
    assert 0 < prom.value(f"cloudjet_http_request_duration_seconds_sum{{{search}}}") < 4 * 2.5
    p99 = prom.value(f"histogram_quantile(0.99, sum by (le) (rate(cloudjet_http_request_duration_seconds_bucket{{{search}}}[1m])))")
    assert 0 < p99 <= 2.5, p99
    assert prom.value("sum(cloudjet_http_requests_in_flight)") >= 0


def test_cache_pool_and_booking_metrics(monitored):
    _, prom, backend, _ = monitored
    cache = "memory" if backend == "sqlite" else "redis"
    hits = prom.value(f'sum(cloudjet_cache_lookups_total{{cache="{cache}",result="hit"}})')
    misses = prom.value(f'sum(cloudjet_cache_lookups_total{{cache="{cache}",result="miss"}})')
    assert hits >= 1 and misses >= 1, (hits, misses)
    size = prom.value("cloudjet_db_pool_size")
    assert size == (4 if backend == "sqlite" else 8), size
    assert 0 <= prom.value("cloudjet_db_pool_in_use") <= size
    pools = {s["metric"]["pool"] for s in prom.query("cloudjet_pool_queued")}
    assert pools == {"database", "cpu", "gateway"}, pools
    assert prom.value('cloudjet_pool_busy{pool="cpu"}') >= 0
    assert prom.value("sum(cloudjet_pool_refused) + sum(cloudjet_pool_expired)") == 0  # nothing shed
    # Counters of the background workers: present from the start, nothing completed or expired.
    for metric in ("cloudjet_bookings_completed_total", "cloudjet_booking_holds_expired_total",
                   "cloudjet_orphan_payment_refunds_total", "cloudjet_refunds_sent_total",
                   "cloudjet_refunds_failed_total"):
        assert prom.value(metric) == 0, metric
    # Business counters: two rounds of traffic each booked and cancelled once; no payment, no
    # throttle hit, and every series there from the start.
    assert prom.value('cloudjet_bookings_created_total{status="CONFIRMED"}') == 2
    assert prom.value('cloudjet_bookings_created_total{status="HELD"}') == 0
    assert prom.value('cloudjet_bookings_cancelled_total{by="user"}') == 2
    assert prom.value('cloudjet_bookings_cancelled_total{by="admin"}') == 0
    states = {s["metric"]["state"]: float(s["value"][1]) for s in prom.query("cloudjet_payment_transitions_total")}
    assert states == {"REQUESTED": 0, "PAID": 0, "FAILED": 0, "CANCELLED": 0}, states
    throttled = {s["metric"]["kind"]: float(s["value"][1]) for s in prom.query("cloudjet_auth_throttled_total")}
    assert throttled == {"login": 0, "signup": 0}, throttled
    if backend == "sqlite":
        # Group commit: every write of the traffic (signups, bookings, cancels...) went through it.
        commits = prom.value("cloudjet_db_group_commits_total")
        units = prom.value("cloudjet_db_group_commit_units_total")
        assert commits >= 6 and units >= commits, (units, commits)
    assert prom.value("cloudjet_refund_outbox_pending") >= 0
    assert prom.value("cloudjet_refund_outbox_failed") == 0
    assert prom.value("cloudjet_refund_outbox_oldest_age_seconds") >= 0
    assert prom.value("cloudjet_http_connections_open") >= 0


def test_rules_load_and_evaluate_without_errors(monitored):
    _, prom, _, _ = monitored
    groups = prom.api("/api/v1/rules")["groups"]
    rules = [r for g in groups for r in g["rules"]]
    assert sorted(r["name"] for r in rules if r["type"] == "alerting") == sorted(alert_names())
    assert sorted(r["name"] for r in rules if r["type"] == "recording") == sorted(recording_names())
    bad = [(r["name"], r["health"], r.get("lastError")) for r in rules
           if r["health"] != "ok" or r.get("lastError")]
    assert bad == [], bad
    never = [r["name"] for r in rules if r["lastEvaluation"].startswith("0001-")]
    assert never == [], f"never evaluated: {never}"
    # A healthy system: no alert pending or firing.
    assert prom.api("/api/v1/alerts")["alerts"] == []
    # The recording rules the alerts read have data (5xx: only after an incident).
    for record in ("service:cloudjet_http_requests:rate5m",
                   "service_route:cloudjet_http_request_duration_seconds:p99_5m",
                   "service_route:cloudjet_http_request_duration_seconds:p50_5m",
                   "service_route:cloudjet_http_requests:rate5m",
                   "instance_pool:cloudjet_pool_shed:rate5m",
                   "instance:cloudjet_db_pool_utilization:ratio",
                   "cache:cloudjet_cache_hit:ratio_rate5m"):
        assert prom.query(record), f"{record} has no data"
    assert prom.query("service:cloudjet_http_5xx:ratio_rate5m") == []
    services = {s["metric"]["service"] for s in prom.query("service:cloudjet_http_requests:rate5m > 0")}
    assert {"auth", "flight", "booking", "payment"} <= services, services


@pytest.mark.parametrize("title,expr", dashboard_targets(),
                         ids=[f"{i:02d}-" + re.sub(r"\W+", "-", t)[:32] for i, (t, _) in enumerate(dashboard_targets())])
def test_dashboard_expression_has_data(monitored, title, expr):
    _, prom, _, _ = monitored
    result = prom.query(expand(expr))  # asserts that it parses and evaluates
    if title in DATA_ONLY_AFTER_AN_INCIDENT:
        assert result == [], f"{title}: {result}"
        return
    assert result, f"{title}: no data for {expand(expr)}"
    assert finite(result), f"{title}: only NaN/Inf for {expand(expr)}: {result}"


# ---------------------------------------------------------------------------------------------
# METRICS_PORT, and the log lines promtail parses


def test_metrics_port_moves_metrics_off_the_service_port(monitored):
    srv, _, backend, metrics_port = monitored
    if metrics_port is None:  # the default: /metrics on the service port
        r = srv.get("/metrics")
        assert r.status_code == 200 and "process_open_fds" in r.text
        assert "metrics listening" not in srv.log_text()
        return
    assert srv.get("/metrics").status_code == 404
    own = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5)
    assert own.status_code == 200 and own.headers["content-type"].startswith("text/plain")
    assert "cloudjet_http_requests_total" in own.text and "process_resident_memory_bytes" in own.text
    assert requests.get(f"http://127.0.0.1:{metrics_port}/ready", timeout=5).status_code == 200
    assert requests.get(f"http://127.0.0.1:{metrics_port}/api/flights/airports", timeout=5).status_code == 404
    assert srv.get("/api/flights/airports").status_code == 200
    # The startup line names the metrics listener.
    assert f"metrics listening on http://0.0.0.0:{metrics_port}" in srv.log_text()


def test_promtail_json_stage_finds_its_fields_in_real_log_lines(monitored):
    srv, _, _, _ = monitored
    lines = [json.loads(l) for l in srv.log_text().splitlines() if l.startswith("{")]
    access = [l for l in lines if l.get("msg") == "request"]
    assert access, "no access log lines"
    for stage in promtail_json_stages():
        for line in access[-20:]:
            # promtail's json stage: each expression (a JMESPath, here a plain key) names a field.
            for name, path in stage["expressions"].items():
                assert path in line, f"access log line without {path!r}: {line}"
            assert line["level"] in {"trace", "debug", "info", "warn", "error"}, line
            assert re.fullmatch(r"[0-9a-f-]{8,}", line["request_id"]), line
            # timestamp stage, format RFC3339Nano
            _dt.datetime.strptime(line["time"], "%Y-%m-%dT%H:%M:%S.%fZ")


def test_metrics_port_must_differ_from_the_service_ports(tmp_path):
    env = {**cj.base_env(), "METRICS_PORT": "5003", "CLOUDJET_ENV": "development"}
    out = cj.run_cli(["serve", "--data-dir", str(tmp_path)], env, timeout=30)
    assert out.returncode != 0 and "METRICS_PORT" in out.stdout, out.stdout


# ---------------------------------------------------------------------------------------------
# an incident: the panels and rules that stay empty on a healthy system get data


def test_an_incident_fills_the_5xx_and_shed_panels(prometheus_bin, tmp_path_factory):
    """One CPU thread and a queue of one: a burst of concurrent logins is shed (503 `overloaded`).
    Then the dashboard's DATA_ONLY_AFTER_AN_INCIDENT expressions have data, the shed recording
    rule is above 0, and CloudJetRequestsShed is pending (its `for` is 5 minutes)."""
    metrics_port = cj.free_port()
    srv = cj.Server(tmp_path_factory.mktemp("monitoring-incident"), extra_env={
        "METRICS_PORT": str(metrics_port), "CPU_THREADS": "1", "WORK_QUEUE_MAX": "1",
        "LOGIN_MAX_FAILURES_PER_CLIENT": "1000", "LOGIN_MAX_FAILURES_PER_EMAIL": "1000"})
    srv.start()
    prom = None
    try:
        prom = Prometheus(prometheus_bin, tmp_path_factory.mktemp("prometheus-incident"),
                          f"127.0.0.1:{metrics_port}").start()
        prom.wait_for('up{job="cloudjet"} == 1', what="a successful scrape")
        user = srv.make_user()
        statuses: list[int] = []
        lock = threading.Lock()

        def burst() -> None:
            go = threading.Barrier(16)

            def login():
                go.wait()
                r = cj.one_shot("POST", srv.url("/api/auth/login"),
                                json={"email": user.email, "password": user.password})
                with lock:
                    statuses.append(r.status_code)

            threads = [threading.Thread(target=login) for _ in range(16)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()

        # A counter appears with its first value, which rate() cannot see as an increase: shed
        # requests in two scraped rounds, so that the 503 series has grown between two scrapes.
        for round_ in range(2):
            before = statuses.count(503)
            for _ in range(5):  # bursts until some are shed (one is all but certain)
                burst()
                if statuses.count(503) > before:
                    break
            assert statuses.count(503) > before and 200 in statuses, statuses
            prom.wait_for(f'sum(cloudjet_http_requests_total{{status="503"}}) == {statuses.count(503)}')
        prom.wait_for('cloudjet_pool_refused{pool="cpu"} + cloudjet_pool_expired{pool="cpu"} > 0')
        time.sleep(2.5)  # two rule evaluations with the scraped incident
        for title, expr in dashboard_targets():
            if title in DATA_ONLY_AFTER_AN_INCIDENT:
                result = prom.query(expand(expr))
                assert finite(result) and max(finite(result)) > 0, f"{title}: {result}"
        assert prom.value('service:cloudjet_http_5xx:ratio_rate5m{service="auth"}') > 0
        assert prom.value('instance_pool:cloudjet_pool_shed:rate5m{pool="cpu"}') > 0
        alerts = prom.api("/api/v1/alerts")["alerts"]
        shed_alerts = [a for a in alerts if a["labels"]["alertname"] == "CloudJetRequestsShed"]
        assert [(a["labels"]["pool"], a["state"]) for a in shed_alerts] == [("cpu", "pending")], alerts
        rules = [r for g in prom.api("/api/v1/rules")["groups"] for r in g["rules"]]
        assert [r["name"] for r in rules if r["health"] != "ok"] == []
    finally:
        if prom is not None:
            prom.stop()
        srv.stop()
