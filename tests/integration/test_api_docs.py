"""GET /api/docs/openapi.json: docs/openapi.yaml, converted to JSON at build time, served by every
port (each service's own port and the single port) as the same document."""
from __future__ import annotations

import json
import secrets
import signal
import subprocess

import cj
import openapi_check
import requests
import yaml
from cj import assert_json

DOC = "/api/docs/openapi.json"
SERVICES = ["auth", "flight", "booking", "admin", "payment"]


def _expected() -> dict:
    with open(openapi_check.SPEC_PATH, encoding="utf-8") as f:
        return yaml.safe_load(f)


def test_single_port_serves_the_document_as_json(server):
    r = server.get(DOC)  # also validated against the document itself, like every response
    body = assert_json(r, 200)
    assert body == _expected()
    assert body["openapi"].startswith("3.1.")
    # HEAD as for every GET: same headers, no body
    h = server.request("HEAD", DOC)
    assert h.status_code == 200 and h.content == b""
    assert int(h.headers["Content-Length"]) == len(r.content)


def test_every_service_port_serves_the_same_document(tmp_path):
    ports = dict(zip(SERVICES, (cj.free_port() for _ in SERVICES)))
    env = cj.base_env()
    env.update({"SECRET_KEY": secrets.token_hex(32), "CLOUDJET_ADMIN_PASSWORD": secrets.token_urlsafe(12)})
    env.update({f"{s.upper()}_SERVICE_PORT": str(p) for s, p in ports.items()})
    with open(tmp_path / "server.log", "wb") as log:
        proc = subprocess.Popen([str(cj.cloudjet_bin()), "serve", "--data-dir", str(tmp_path / "d")],
                                env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        for p in ports.values():
            cj.wait_until(lambda p=p: requests.get(f"http://127.0.0.1:{p}/ready", timeout=1).ok,
                          timeout=30, what=f"port {p} ready")
        raw = {}
        for service, port in ports.items():
            r = cj.one_shot("GET", f"http://127.0.0.1:{port}{DOC}")
            assert_json(r, 200)
            raw[service] = r.content
        assert len(set(raw.values())) == 1, "services serve different documents"
        assert json.loads(raw["auth"]) == _expected()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
