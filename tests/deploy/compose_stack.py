"""Brings up deploy/compose.yaml with a container engine, runs the smoke journey, checks the logs,
tears everything down. Run by scripts/deploy-test.sh (`make deploy-test`), which builds the images.

    /usr/bin/python3 tests/deploy/compose_stack.py --compose podman-compose

The start order is the one the compose file declares with `depends_on: condition:`. Docker Compose
honours it itself (`up --wait`); podman-compose 1.0.3 (Debian 12) starts dependencies first but
ignores conditions, and podman without systemd runs no periodic health checks, so with podman this
driver walks the dependency graph and waits for each condition itself: `service_healthy` by
running the container's own health check (`podman healthcheck run`) until it passes,
`service_completed_successfully` by waiting for the container's exit code. Either way the checks
that gate the start are the compose file's own.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import smoke_journey  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "deploy" / "compose.yaml"
APP_SERVICES = ("auth", "flight", "booking", "admin", "payment")
SECRET_VARS = ("SECRET_KEY", "DB_PASSWORD", "REDIS_PASSWORD", "CLOUDJET_ADMIN_PASSWORD")


def log(msg: str) -> None:
    print(f"deploy-test: {msg}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_order(services: dict) -> list[str]:
    """Services in an order where each comes after everything it depends on."""
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(name: str) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            raise ValueError(f"dependency cycle at {name}")
        state[name] = "visiting"
        for dep in (services[name].get("depends_on") or {}):
            visit(dep)
        state[name] = "done"
        order.append(name)

    for name in services:
        visit(name)
    return order


def check_compose_file(doc: dict) -> None:
    """The properties the deployment relies on, stated in the file itself."""
    services = doc["services"]
    for name in APP_SERVICES:
        svc = services[name]
        deps = svc.get("depends_on") or {}
        assert deps.get("migrate", {}).get("condition") == "service_completed_successfully", (name, deps)
        assert deps.get("mariadb", {}).get("condition") == "service_healthy", (name, deps)
        assert deps.get("redis", {}).get("condition") == "service_healthy", (name, deps)
        cmd = svc["command"]
        assert cmd[:3] == ["serve", "--services", name] and "--no-migrate" in cmd and "--no-seed" in cmd, cmd
        assert svc.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
        assert svc["environment"]["CLOUDJET_ENV"] == "production", name
    assert services["migrate"]["restart"] == "no" and services["migrate"]["command"] == ["seed"]
    for name in ("mariadb", "redis"):
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
    gw = services["gateway"]
    assert {d: c["condition"] for d, c in gw["depends_on"].items()} == {s: "service_healthy" for s in APP_SERVICES}
    for name, svc in services.items():  # what is published is reachable from this machine only
        for port in svc.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), (name, port)


class Stack:
    def __init__(self, compose_cmd: list[str], engine: str, project: str, env: dict[str, str]):
        self.compose_cmd, self.engine, self.project, self.env = compose_cmd, engine, project, env

    def compose(self, *args: str, check: bool = True, capture: bool = False) -> subprocess.CompletedProcess:
        cmd = [*self.compose_cmd, "-p", self.project, "-f", str(COMPOSE_FILE), *args]
        return subprocess.run(cmd, env=self.env, check=check, text=True,
                              stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                              stderr=subprocess.PIPE if capture else subprocess.DEVNULL)

    def container(self, service: str) -> str:
        out = subprocess.run([self.engine, "ps", "-a", "--format", "{{.Names}}",
                              "--filter", f"label=com.docker.compose.project={self.project}",
                              "--filter", f"label=com.docker.compose.service={service}"],
                             check=True, text=True, capture_output=True).stdout.split()
        if len(out) != 1:
            raise RuntimeError(f"expected one container for {service}, found {out}")
        return out[0]

    def wait_healthy(self, service: str, timeout: float) -> float:
        name, start = self.container(service), time.monotonic()
        while True:
            r = subprocess.run([self.engine, "healthcheck", "run", name], capture_output=True, text=True)
            if r.returncode == 0:
                return time.monotonic() - start
            state = subprocess.run([self.engine, "inspect", "-f", "{{.State.Status}}", name],
                                   capture_output=True, text=True).stdout.strip()
            if state in ("exited", "dead") or time.monotonic() - start > timeout:
                raise RuntimeError(f"{service} not healthy after {time.monotonic() - start:.0f}s "
                                   f"(state {state}):\n{self.logs(service)[-3000:]}")
            time.sleep(1)

    def wait_completed(self, service: str, timeout: float) -> float:
        name, start = self.container(service), time.monotonic()
        r = subprocess.run([self.engine, "wait", name], capture_output=True, text=True, timeout=timeout)
        code = r.stdout.strip()
        if code != "0":
            raise RuntimeError(f"{service} exited with {code!r}:\n{self.logs(service)[-3000:]}")
        return time.monotonic() - start

    def logs(self, service: str) -> str:
        r = subprocess.run([self.engine, "logs", self.container(service)], capture_output=True, text=True)
        return r.stdout + r.stderr


def wait_http(url: str, timeout: float) -> None:
    """The gateway has no health check of its own in the compose file: wait for it to answer."""
    import requests
    start = time.monotonic()
    while True:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        if time.monotonic() - start > timeout:
            raise RuntimeError(f"{url} did not answer 200 within {timeout:.0f}s")
        time.sleep(0.5)


def check_logs(stack: Stack, services: list[str], secret_values: list[str]) -> int:
    """Every line a CloudJet container wrote is one JSON object, and no secret appears anywhere."""
    lines = 0
    for svc in services:
        text = stack.logs(svc)
        for value in secret_values:
            assert value not in text, f"a secret appears in the logs of {svc}"
        for line in text.splitlines():
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                raise AssertionError(f"{svc} wrote a line that is not JSON: {line[:200]!r}") from None
            assert isinstance(obj, dict) and "level" in obj and "msg" in obj, (svc, line[:200])
            lines += 1
    return lines


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--compose", default="podman-compose", help="compose command (podman-compose, 'docker compose')")
    p.add_argument("--engine", default=os.environ.get("CONTAINER_ENGINE", "podman"))
    p.add_argument("--project", default="cloudjet-smoke")
    p.add_argument("--timeout", type=float, default=180)
    p.add_argument("--keep", action="store_true", help="leave the stack running (debugging)")
    a = p.parse_args()

    doc = yaml.safe_load(COMPOSE_FILE.read_text())
    check_compose_file(doc)
    services = doc["services"]
    order = start_order(services)

    secret_values = [secrets.token_urlsafe(24) for _ in SECRET_VARS]
    env = dict(os.environ)
    env.update(dict(zip(SECRET_VARS, secret_values)))
    env.update({"CORS_ORIGINS": "", "BOOTPAY_REST_API_KEY": "", "BOOTPAY_PRIVATE_KEY": "", "BOOTPAY_API_URL": ""})
    ports = {svc: free_port() for svc in (*APP_SERVICES, "gateway")}
    for svc, port in ports.items():
        env[f"{svc.upper()}_PUBLISHED_PORT"] = str(port)
    if (COMPOSE_FILE.parent / ".env").exists():
        log("note: deploy/.env exists; podman-compose lets its values override this test's")

    stack = Stack(a.compose.split(), a.engine, a.project, env)
    stack.compose("down", "-v", check=False)
    started = time.monotonic()
    try:
        if a.compose.startswith("docker"):
            stack.compose("up", "-d", "--wait", "--no-build")
        else:
            for name in order:
                for dep, cond in (services[name].get("depends_on") or {}).items():
                    if cond["condition"] == "service_healthy":
                        stack.wait_healthy(dep, a.timeout)
                    elif cond["condition"] == "service_completed_successfully":
                        stack.wait_completed(dep, a.timeout)
                stack.compose("up", "-d", "--no-deps", "--no-build", name)
                log(f"started {name}")
            for name in APP_SERVICES:
                stack.wait_healthy(name, a.timeout)
        up_seconds = time.monotonic() - started
        log(f"stack healthy in {up_seconds:.1f}s: {', '.join(order)}")

        urls = {svc: f"http://127.0.0.1:{ports[svc]}" for svc in APP_SERVICES}
        steps = smoke_journey.run(urls, env["CLOUDJET_ADMIN_PASSWORD"])
        log(f"smoke journey passed on the five service ports: {len(steps)} steps")
        gateway = f"http://127.0.0.1:{ports['gateway']}"
        if not a.compose.startswith("docker"):
            wait_http(gateway + "/api/health", a.timeout)
        steps = smoke_journey.run({svc: gateway for svc in APP_SERVICES}, env["CLOUDJET_ADMIN_PASSWORD"],
                                  gateway=gateway)
        log(f"smoke journey passed through the gateway: {len(steps)} steps")
        n = check_logs(stack, ["migrate", *APP_SERVICES], secret_values)
        log(f"logs: {n} lines from {len(APP_SERVICES) + 1} CloudJet containers, all JSON, no secret in them")
    finally:
        if not a.keep:
            stack.compose("down", "-v", check=False)
    log(f"passed in {time.monotonic() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
