"""pytest fixtures for CloudJet's black-box integration tests.

    /usr/bin/python3 -m pytest tests/integration -q            # both backends
    /usr/bin/python3 -m pytest tests/integration -q -k sqlite  # one backend
    CLOUDJET_TEST_BACKENDS=sqlite /usr/bin/python3 -m pytest tests/integration -q
    CLOUDJET_BIN=/path/to/cloudjet ...                         # another binary (default build/cloudjet)

Fixtures
  mariadb        session: a private MariaDB (started on first use only)
  redis_server   session: a private Redis (started on first use only)
  backend        module, parametrized "sqlite" / "mariadb"
  server         module: one running Server per test module and backend
  make_server    function: make_server(backend, redis=None, extra_env=None, db_name=None,
                 seed_demo=None) -> started Server, stopped (and its clean exit asserted) when
                 the test ends (seed_demo: see cj.Server)
  server_factory function: like make_server, for the current `backend`
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cj  # noqa: E402

ALL_BACKENDS = ["sqlite", "mariadb"]
BACKENDS = [b.strip() for b in os.environ.get("CLOUDJET_TEST_BACKENDS", ",".join(ALL_BACKENDS)).split(",")
            if b.strip()]
for _b in BACKENDS:
    if _b not in ALL_BACKENDS:
        raise ValueError(f"CLOUDJET_TEST_BACKENDS: unknown backend {_b!r}")

# Per-client login throttling would otherwise trip over the many logins of unrelated tests.
MODULE_SERVER_ENV = {"LOGIN_MAX_FAILURES_PER_CLIENT": "1000"}


def pytest_configure(config):
    config.addinivalue_line("markers", "mariadb_only: the test needs the MariaDB backend")


@pytest.fixture(scope="session")
def mariadb():
    if "mariadb" not in BACKENDS:
        pytest.skip("mariadb backend disabled by CLOUDJET_TEST_BACKENDS")
    db = cj.MariaDB()
    try:
        db.start()
        yield db
    finally:
        db.close()


@pytest.fixture(scope="session")
def redis_server():
    rs = cj.RedisServer()
    try:
        rs.start()
        yield rs
    finally:
        rs.close()


@pytest.fixture(scope="module", params=BACKENDS, ids=BACKENDS)
def backend(request):
    return request.param


def _new_server(request, tmp_path_factory, backend, name, redis=None, extra_env=None, db_name=None,
                seed_demo=None):
    mdb = request.getfixturevalue("mariadb") if backend == "mariadb" else None
    if mdb is not None and not mdb.running:
        mdb.start()  # a previous test stopped it and failed before restarting it
    data_dir = tmp_path_factory.mktemp(f"{name}-{backend}")
    return cj.Server(data_dir, backend=backend, mariadb=mdb, db_name=db_name, redis=redis,
                     extra_env=extra_env, seed_demo=seed_demo)


@pytest.fixture(scope="module")
def server(request, tmp_path_factory, backend):
    """One running server per test module and backend, fresh data dir / fresh database."""
    srv = _new_server(request, tmp_path_factory, backend, request.module.__name__.split(".")[-1],
                      extra_env=MODULE_SERVER_ENV)
    srv.start()
    yield srv
    srv.stop()  # asserts a clean exit: a crash or sanitizer report fails the module's teardown


@pytest.fixture
def make_server(request, tmp_path_factory):
    made: list[cj.Server] = []

    def make(backend, redis=None, extra_env=None, db_name=None, start=True, seed_demo=None):
        srv = _new_server(request, tmp_path_factory, backend, request.node.name[:40].replace("[", "-")
                          .replace("]", ""), redis=redis, extra_env=extra_env, db_name=db_name,
                          seed_demo=seed_demo)
        made.append(srv)
        if start:
            srv.start()
        return srv

    yield make
    errors = []
    for srv in made:
        try:
            srv.stop()
        except AssertionError as e:
            errors.append(str(e))
    if errors:
        pytest.fail("\n\n".join(errors), pytrace=False)


@pytest.fixture
def server_factory(make_server, backend):
    def make(**kw):
        return make_server(backend, **kw)
    return make


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed and rep.when in ("call", "setup"):
        for srv in cj.live_servers():
            rep.sections.append((f"cloudjet log ({srv.backend}, port {srv.port})", srv.log_text_tail(40)))


# Per-client signup throttling (SIGNUP_MAX_PER_CLIENT) would trip over the many signups of
# unrelated tests in one module server, like the login throttle above.
MODULE_SERVER_ENV["SIGNUP_MAX_PER_CLIENT"] = "1000000"


# Every response checked against docs/openapi.yaml (openapi_check.py): the counts, and the session
# fails on any mismatch, including one raised in a worker thread whose exception a test dropped.
def pytest_terminal_summary(terminalreporter):
    import openapi_check
    for line in openapi_check.summary():
        terminalreporter.write_line(line)


def pytest_sessionfinish(session, exitstatus):
    import openapi_check
    if openapi_check.failures and exitstatus == 0:
        session.exitstatus = 1
