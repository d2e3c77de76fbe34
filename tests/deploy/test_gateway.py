"""deploy/gateway: a real nginx with the rendered gateway configuration in front of five real
`cloudjet serve --services <svc>` processes (one per service, sharing one SQLite data dir), all on
free loopback ports. Everything a browser running the original front end does goes through it.

    /usr/bin/python3 -m pytest tests/deploy -q
"""
from __future__ import annotations

import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))
import cj  # noqa: E402  (the integration harness: free ports, binary path, environment, messages)
import requests  # noqa: E402

GATEWAY = REPO / "deploy" / "gateway"
TEMPLATE = GATEWAY / "templates" / "cloudjet.conf.template"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

# service, its port variable, its prefix (README "What runs where")
SERVICES = [
    ("auth", "AUTH_SERVICE_PORT", "/api/auth"),
    ("flight", "FLIGHT_SERVICE_PORT", "/api/flights"),
    ("booking", "BOOKING_SERVICE_PORT", "/api/bookings"),
    ("admin", "ADMIN_SERVICE_PORT", "/api/admin"),
    ("payment", "PAYMENT_SERVICE_PORT", "/api/payments"),
]
FRONT_END = "https://www.cloudjet.click"  # an origin of the original front end
PLACEHOLDER = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)\}")


def render_template(values: dict[str, str]) -> str:
    """What envsubst does with the nginx image's templates: ${NAME} -> value. Every placeholder
    must have a value (the image would leave an unknown one as an empty string)."""
    text = TEMPLATE.read_text()
    missing = sorted(set(PLACEHOLDER.findall(text)) - set(values))
    assert not missing, f"no value for {missing}"
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def template_variables() -> set[str]:
    return set(PLACEHOLDER.findall(TEMPLATE.read_text()))


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = cj.READY_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}\n{cj.tail(log)}")
        try:
            r = cj.one_shot("GET", url, timeout=2)
            if r.status_code == 200:
                return
            last = f"{r.status_code} {r.text[:200]}"
        except requests.RequestException as e:
            last = repr(e)
        time.sleep(0.05)
    raise RuntimeError(f"{url} not ready after {timeout}s (last: {last})\n{cj.tail(log)}")


class Gateway:
    """nginx with deploy/gateway/nginx.conf and the rendered template, unprivileged-style: its own
    prefix directory, pid file and temp dirs, on a free loopback port."""

    def __init__(self, upstreams: dict[str, str]):
        self.port = cj.free_port()
        # Not under pytest's 0700 tmp dir: run as root, nginx's workers switch to `nobody` and
        # must reach the temp dirs (request bodies over 16 KiB are buffered there).
        self.prefix = Path(tempfile.mkdtemp(prefix="cj-gateway-"))
        self.prefix.chmod(0o755)
        (self.prefix / "conf.d").mkdir()
        (self.prefix / "tmp").mkdir()
        shutil.copy(GATEWAY / "nginx.conf", self.prefix / "nginx.conf")
        (self.prefix / "conf.d" / "cloudjet.conf").write_text(render_template({
            "GATEWAY_LISTEN": f"127.0.0.1:{self.port}",
            "CORS_ORIGIN_REGEX": r"^https://(www\.)?cloudjet\.click$",  # the documented default
            **{f"{svc.upper()}_UPSTREAM": addr for svc, addr in upstreams.items()},
        }))
        self.log = self.prefix / "nginx.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Gateway":
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [NGINX, "-p", f"{self.prefix}/", "-c", str(self.prefix / "nginx.conf"), "-e", "stderr",
                 "-g", "daemon off;"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 10
        while True:  # listening (any answer, even a 503 from a dead upstream)
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.proc.returncode}\n{cj.tail(self.log)}")
            try:
                cj.one_shot("GET", f"http://127.0.0.1:{self.port}/", timeout=2)
                return self
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def close(self) -> None:
        if self.proc is not None:
            stop(self.proc, signal.SIGQUIT)  # graceful: finish in-flight requests
        shutil.rmtree(self.prefix, ignore_errors=True)


class Stack:
    def __init__(self, root: Path):
        self.root = root
        self.data = root / "data"
        self.data.mkdir()
        self.ports = {svc: cj.free_port() for svc, _, _ in SERVICES}
        self.nginx: Gateway | None = None
        self.gateway_port = 0
        self.admin_password = secrets.token_urlsafe(16)
        self.env = cj.base_env()
        self.env.update({
            "CLOUDJET_ENV": "development",
            "SECRET_KEY": secrets.token_urlsafe(32),  # shared: auth signs, the others verify
            "CLOUDJET_ADMIN_PASSWORD": self.admin_password,
            "BIND_ADDRESS": "127.0.0.1",
            # The services' own CORS is on, so the test proves the gateway replaces it rather than
            # sending a second Access-Control-Allow-Origin.
            "CORS_ORIGINS": "*",
        })
        self.env.update({var: str(self.ports[svc]) for svc, var, _ in SERVICES})
        self.procs: list[subprocess.Popen] = []
        self.session = requests.Session()
        self.session.trust_env = False

    def start_service(self, svc: str) -> tuple[subprocess.Popen, Path]:
        log = self.root / f"{svc}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [str(cj.cloudjet_bin()), "serve", "--services", svc, "--data-dir", str(self.data)],
                env=self.env, cwd=self.data, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        return proc, log

    def start(self) -> None:
        # The first process migrates the empty database and seeds the demo data alone; the others
        # start once it is ready, so no two of them migrate at the same time.
        first, log = self.start_service("auth")
        wait_http(f"http://127.0.0.1:{self.ports['auth']}/ready", first, log)
        rest = {svc: self.start_service(svc) for svc, _, _ in SERVICES if svc != "auth"}
        for svc, (proc, log) in rest.items():
            wait_http(f"http://127.0.0.1:{self.ports[svc]}/ready", proc, log)
        self.start_nginx()

    def start_nginx(self) -> None:
        upstreams = {svc: f"127.0.0.1:{self.ports[svc]}" for svc, _, _ in SERVICES}
        self.nginx = Gateway(upstreams)  # assigned first, so close() stops it even if start fails
        self.gateway_port = self.nginx.port
        self.nginx.start()

    def close(self) -> None:
        self.session.close()
        if self.nginx is not None:
            self.nginx.close()
        for proc in self.procs:
            stop(proc)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.gateway_port}{path}"

    def request(self, method: str, path: str, **kw) -> requests.Response:
        kw.setdefault("timeout", cj.HTTP_TIMEOUT)
        return self.session.request(method, self.url(path), **kw)

    def login(self, email: str, password: str) -> str:
        r = self.request("POST", "/api/auth/login", json={"email": email, "password": password})
        body = cj.assert_json(r, 200)
        assert body["message"] == cj.MSG_LOGIN_OK, body
        return body["token"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    if not Path(NGINX).exists():
        pytest.skip("nginx not installed (Debian package `nginx`, in scripts/install-deps.sh --test)")
    if not cj.cloudjet_bin().exists():
        pytest.skip(f"{cj.cloudjet_bin()} does not exist (build it, or set CLOUDJET_BIN)")
    s = Stack(tmp_path_factory.mktemp("gateway"))
    try:
        s.start()
        yield s
    finally:
        s.close()


def cors_list(value: str | None) -> set[str]:
    return {v.strip().lower() for v in (value or "").split(",") if v.strip()}


# ---------------------------------------------------------------------------------------------
# routing


def test_health_alias_is_the_auth_services_health(stack):
    r = stack.request("GET", "/api/health")
    assert cj.assert_json(r, 200) == {"status": "healthy", "service": "auth-service", "port": stack.ports["auth"]}


def test_airports_alias_is_the_flight_services_airport_list(stack):
    alias = cj.assert_json(stack.request("GET", "/api/airports"), 200)
    direct = cj.assert_json(stack.request("GET", "/api/flights/airports"), 200)
    assert alias == direct
    codes = [a["airport_code"] for a in alias["airports"]]
    assert len(codes) == 8 and {"ICN", "GMP", "NRT"} <= set(codes), alias


@pytest.mark.parametrize("svc,prefix", [(s, p) for s, _, p in SERVICES])
def test_each_prefix_reaches_its_own_service(stack, svc, prefix):
    # Each process serves only its service, so the body names the process that answered.
    body = cj.assert_json(stack.request("GET", f"{prefix}/health"), 200)
    assert body == {"status": "healthy", "service": f"{svc}-service", "port": stack.ports[svc]}


def test_query_string_reaches_the_service(stack):
    date = cj.day(3)
    r = stack.request("GET", f"/api/flights/search?departure=ICN&arrival=NRT&date={date}")
    body = cj.assert_json(r, 200)
    assert body["total"] == len(body["flights"]) > 0, body
    assert {(f["departure_airport"], f["arrival_airport"], f["date"]) for f in body["flights"]} == {
        ("ICN", "NRT", date)}


@pytest.mark.parametrize("path", ["/", "/api", "/api/unknown", "/index.html"])
def test_unrouted_paths_get_a_json_404(stack, path):
    r = stack.request("GET", path)
    assert r.status_code == 404
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json() == {"message": "요청한 경로를 찾을 수 없습니다.", "error": "not_found"}


def test_request_id_is_forwarded_and_returned(stack):
    r = stack.request("GET", "/api/flights/airports", headers={"X-Request-Id": "gw-test-42"})
    assert r.status_code == 200 and r.headers["X-Request-Id"] == "gw-test-42"


def test_large_bodies_reach_the_service(stack):
    # Over nginx's 16 KiB in-memory buffer (spooled to its temp dir), under the services' 1 MiB.
    body = cj.Server.signup_body(name="가" * 40_000)
    r = stack.request("POST", "/api/auth/signup", json=body)
    assert r.status_code == 400 and "X-Request-Id" in r.headers, r.text  # the service's own answer
    assert r.json()["error"] == "invalid_field" and r.json()["message"].startswith("name"), r.json()


@pytest.mark.parametrize("size,answered_by_service", [(1536 * 1024, True), (3 * 1024 * 1024, False)])
def test_too_large_bodies_get_a_json_413(stack, size, answered_by_service):
    # Up to 2 MiB the service answers (its limit is 1 MiB); beyond, nginx does, in the same shape.
    r = stack.request("POST", "/api/bookings", data=b"{" + b" " * size + b"}",
                      headers={"Content-Type": "application/json", "Origin": FRONT_END})
    assert r.status_code == 413, r.text[:200]
    assert r.json() == {"message": "요청 본문이 너무 큽니다.", "error": "payload_too_large"}
    assert ("X-Request-Id" in r.headers) == answered_by_service
    assert r.headers["Access-Control-Allow-Origin"] == FRONT_END


# ---------------------------------------------------------------------------------------------
# CORS, as a browser on the front end's origin sees it


@pytest.mark.parametrize("path,method", [("/api/bookings", "POST"), ("/api/auth/profile", "PUT"),
                                         ("/api/airports", "GET"), ("/api/admin/flights", "DELETE")])
def test_preflight_from_the_front_end_is_granted(stack, path, method):
    r = stack.request("OPTIONS", path, headers={
        "Origin": FRONT_END,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization, content-type",
    })
    assert r.status_code == 204, r.text
    assert r.headers["Access-Control-Allow-Origin"] == FRONT_END
    assert r.headers["Access-Control-Allow-Credentials"] == "true"
    assert {"authorization", "content-type"} <= cors_list(r.headers.get("Access-Control-Allow-Headers"))
    assert {method.lower(), "get", "post", "put", "delete"} <= cors_list(r.headers.get("Access-Control-Allow-Methods"))
    assert r.headers["Access-Control-Max-Age"] == "600"
    assert "origin" in cors_list(r.headers.get("Vary"))


def test_preflight_from_another_origin_is_not_granted(stack):
    r = stack.request("OPTIONS", "/api/bookings", headers={
        "Origin": "https://evil.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    })
    for name in ("Access-Control-Allow-Origin", "Access-Control-Allow-Credentials",
                 "Access-Control-Allow-Headers", "Access-Control-Allow-Methods"):
        assert name not in r.headers, (name, r.headers)


def test_answers_carry_exactly_one_allow_origin(stack):
    # The services answer with `*` (CORS_ORIGINS=*); a browser rejects `*` with credentials and
    # rejects two values, so the gateway's must be the only one.
    r = stack.request("GET", "/api/flights/airports", headers={"Origin": FRONT_END})
    assert cj.assert_json(r, 200)["airports"]
    assert r.headers["Access-Control-Allow-Origin"] == FRONT_END  # requests joins duplicates with ", "
    assert r.headers["Access-Control-Allow-Credentials"] == "true"
    assert "x-request-id" in cors_list(r.headers.get("Access-Control-Expose-Headers"))
    assert "Access-Control-Allow-Methods" not in r.headers  # preflight-only


def test_error_answers_carry_cors_too(stack):
    # Without CORS headers on a 401 the page could not read the message it shows the user.
    r = stack.request("GET", "/api/bookings", headers={"Origin": FRONT_END})
    body = cj.assert_json(r, 401)
    assert body["message"] == cj.MSG_TOKEN_MISSING
    assert r.headers["Access-Control-Allow-Origin"] == FRONT_END


def test_other_origins_get_no_cors_on_answers(stack):
    r = stack.request("GET", "/api/flights/airports", headers={"Origin": "https://evil.example"})
    assert r.status_code == 200
    assert "Access-Control-Allow-Origin" not in r.headers


# ---------------------------------------------------------------------------------------------
# the front end's flows end to end


def test_signup_login_book_and_list_through_the_gateway(stack):
    body = cj.Server.signup_body()
    r = stack.request("POST", "/api/auth/signup", json=body, headers={"Origin": FRONT_END})
    assert cj.assert_json(r, 201)["message"] == cj.MSG_SIGNUP_OK
    token = stack.login(body["email"], body["password"])
    auth = {"Authorization": f"Bearer {token}", "Origin": FRONT_END}

    # Signed by the auth process, accepted by the booking process (the shared SECRET_KEY).
    assert cj.assert_json(stack.request("GET", "/api/bookings", headers=auth), 200) == {"bookings": []}

    date = cj.day(3)
    search = cj.assert_json(stack.request("GET", f"/api/flights/search?departure=ICN&arrival=NRT&date={date}"), 200)
    flight = search["flights"][0]
    order = {
        "scheduleId": flight["schedule_id"],
        "passengers": [{"name": "홍길동", "nameEn": "HONG GILDONG", "birth": "1990-01-01", "gender": "M"}],
        "contactInfo": {"email": body["email"], "phone": "010-1234-5678"},
        "paymentMethod": "CARD",
        "totalAmount": flight["price"],
        "seats": ["12A"],
    }
    created = cj.assert_json(stack.request("POST", "/api/bookings", json=order, headers=auth), 201)
    assert created["success"] is True

    listed = cj.assert_json(stack.request("GET", "/api/bookings", headers=auth), 200)["bookings"]
    assert [(b["booking_number"], b["status"], b["flight_id"], b["total_amount"]) for b in listed] == [
        (created["booking_number"], "CONFIRMED", flight["flight_id"], flight["price"])]
    assert [p["seat_number"] for p in listed[0]["passengers"]] == ["12A"]

    payment = cj.assert_json(stack.request("POST", "/api/payments/init", headers=auth, json={
        "amount": flight["price"], "scheduleId": flight["schedule_id"]}), 200)
    assert payment["success"] is True and payment["order_id"].startswith("CJ-ORD-"), payment


def test_admin_page_calls_work_through_the_gateway(stack):
    token = stack.login(cj.ADMIN_EMAIL, stack.admin_password)
    r = stack.request("GET", "/api/admin/flights", headers={"Authorization": f"Bearer {token}"})
    flights = cj.assert_json(r, 200)["flights"]
    assert len(flights) == 7 and all(f["flight_id"].startswith("CJ") for f in flights), flights


def test_an_unreachable_service_answers_json_503():
    if not Path(NGINX).exists():
        pytest.skip("nginx not installed (Debian package `nginx`, in scripts/install-deps.sh --test)")
    closed = f"127.0.0.1:{cj.free_port()}"  # nothing listens there
    gateway = Gateway({svc: closed for svc, _, _ in SERVICES})
    try:
        gateway.start()
        r = cj.one_shot("GET", f"http://127.0.0.1:{gateway.port}/api/health", headers={"Origin": FRONT_END})
        assert r.status_code == 503 and r.headers["Content-Type"].startswith("application/json")
        assert r.json()["error"] == "service_unavailable", r.text
        assert r.headers["Access-Control-Allow-Origin"] == FRONT_END
    finally:
        gateway.close()


# ---------------------------------------------------------------------------------------------
# the files around the template


def test_compose_file_sets_every_template_variable():
    yaml = pytest.importorskip("yaml", reason="python3-yaml (Debian package) is needed to read compose files")
    compose = yaml.safe_load((REPO / "deploy" / "compose.yaml").read_text())
    env = compose["services"]["gateway"]["environment"]
    assert set(env) >= template_variables(), template_variables() - set(env)
    # The image renders what is mounted at /etc/nginx/templates; paths are relative to the file.
    mounts = [m.split(":") for m in compose["services"]["gateway"]["volumes"]]
    assert [(REPO / "deploy" / host).resolve() for host, target, *_ in mounts if target == "/etc/nginx/templates"] == [
        TEMPLATE.parent], mounts


def test_template_documents_every_variable():
    header = TEMPLATE.read_text().split("\nmap ", 1)[0]
    undocumented = {v for v in template_variables() if not re.search(rf"^#\s+{v}\s", header, re.M)}
    assert not undocumented, undocumented
