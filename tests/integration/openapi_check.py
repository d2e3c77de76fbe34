"""Holds the server to its API description: every response the integration suite receives through
cj.Server.request / cj.one_shot is checked against docs/openapi.yaml, so the document cannot drift
from the code (a new field, status or path fails the suite until it is written down).

The rules, in order:
  1. The request path is matched against the document's path templates (literal segments beat
     parameters; `{x}` matches one non-empty segment). HEAD is checked as GET, without a body.
  2. Answers any request may get before (or instead of) an operation are listed in the document
     under `x-cloudjet-unrouted-errors` (404 not_found: no such path, or a service this port does
     not run; 405 method_not_allowed; 400 invalid_path; 413; 414; 431; 503 overloaded). A response
     with one of those statuses AND that `error` code passes wherever it comes from, its body
     checked against the Error schema. This is what lets hostile-input tests probe unknown paths.
  3. OPTIONS (CORS preflight) on a documented path must be 204 with no body.
  4. Otherwise the path and method must be documented, and the status must be one of the
     operation's responses (exact code, then `4XX`/`5XX`, then `default`); else the test fails.
  5. The body must be of a documented media type; JSON bodies are validated with the Draft
     2020-12 validator against the response schema, refs resolved within the document.
Raw-socket answers (cj.RawHttp / RawResponse) are not checked. A test that truly needs an
unchecked request passes check_openapi=False to Server.request (none should need to).

Counts (responses checked, operations exercised) are printed at the end of the session by
conftest.py, which also fails the session if any check failed, even one raised in a thread whose
exception a test swallowed.
"""
from __future__ import annotations

import json
import threading
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from jsonschema import Draft202012Validator, RefResolver

SPEC_PATH = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
METHODS = ("get", "put", "post", "delete", "patch")


class ContractError(AssertionError):
    """A response that the document does not describe."""


class _Template:
    def __init__(self, path: str, item: dict):
        self.path = path
        self.item = item
        self.segments = path.strip("/").split("/")
        self.literals = sum(1 for s in self.segments if not s.startswith("{"))

    def matches(self, segments: list[str]) -> bool:
        if len(segments) != len(self.segments):
            return False
        return all((t.startswith("{") and s != "") or t == s for t, s in zip(self.segments, segments))


class Contract:
    def __init__(self, doc: dict):
        self.doc = doc
        self.templates = [_Template(p, item) for p, item in doc["paths"].items()]
        self.unrouted = {(e["status"], e["error"]) for e in doc.get("x-cloudjet-unrouted-errors", [])}
        self.error_schema = {"$ref": "#/components/schemas/Error"}
        self.operations = {(m.upper(), t.path) for t in self.templates for m in t.item if m in METHODS}
        with warnings.catch_warnings():  # RefResolver is deprecated in jsonschema >= 4.18
            warnings.simplefilter("ignore", DeprecationWarning)
            self._resolver = RefResolver.from_schema(doc)
        self._validators: dict[str, Draft202012Validator] = {}
        self._lock = threading.Lock()
        Draft202012Validator.check_schema(self.error_schema)

    def _validator(self, key: str, schema: dict) -> Draft202012Validator:
        with self._lock:
            v = self._validators.get(key)
            if v is None:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)
                    v = Draft202012Validator(schema, resolver=self._resolver)
                self._validators[key] = v
            return v

    def _deref(self, obj: dict) -> dict:
        while "$ref" in obj:
            ref = obj["$ref"]
            assert ref.startswith("#/"), ref
            node: Any = self.doc
            for part in ref[2:].split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
            obj = node
        return obj

    def find_for(self, method: str, path: str) -> tuple[_Template | None, dict | None]:
        """The template (and the operation, if documented) a request lands on; with ambiguous
        templates, the one that has the method."""
        segments = path.strip("/").split("/")
        found = sorted((t for t in self.templates if t.matches(segments)), key=lambda t: -t.literals)
        for t in found:
            if method.lower() in t.item:
                return t, t.item[method.lower()]
        return (found[0] if found else None), None

    def _validate(self, key: str, schema: dict, data: Any, where: str) -> None:
        errors = sorted(self._validator(key, schema).iter_errors(data), key=lambda e: list(e.path))
        if errors:
            e = errors[0]
            at = "/".join(str(p) for p in e.absolute_path) or "(body)"
            raise ContractError(f"{where}: body does not match docs/openapi.yaml at {at}: {e.message}"
                                f" (schema {'/'.join(str(p) for p in e.absolute_schema_path)})"
                                + (f"; and {len(errors) - 1} more" if len(errors) > 1 else ""))

    @staticmethod
    def _json(body: bytes, where: str) -> Any:
        try:
            return json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise ContractError(f"{where}: body is not JSON ({e}): {body[:200]!r}") from None

    def check(self, method: str, path: str, status: int, content_type: str, body: bytes) -> str | None:
        """Raises ContractError unless the document describes this response. Returns the
        operation ("GET /api/x/{id}") it exercised, or None for an unrouted/generic answer."""
        method = method.upper()
        where = f"{method} {path} -> {status}"
        lookup = "GET" if method == "HEAD" else method
        media = content_type.split(";")[0].strip().lower()
        has_body = method != "HEAD" and status not in (204, 304)

        if media == "application/json" and has_body and body:
            data = self._json(body, where)
            if isinstance(data, dict) and (status, data.get("error")) in self.unrouted:
                self._validate("#Error", self.error_schema, data, where)
                return None

        template, op = self.find_for(lookup, path)
        if template is None:
            raise ContractError(f"{where}: path not in docs/openapi.yaml, and the answer is not one "
                                f"of x-cloudjet-unrouted-errors (body {body[:200]!r})")
        if method == "OPTIONS":
            if status != 204 or body:
                raise ContractError(f"{where}: a CORS preflight of a documented path must be 204 "
                                    f"without a body")
            return None
        if op is None:
            raise ContractError(f"{where}: {method} is not documented for {template.path} "
                                f"(body {body[:200]!r})")
        responses = op.get("responses", {})
        key = next((k for k in (str(status), f"{status // 100}XX", "default") if k in responses), None)
        if key is None:
            raise ContractError(f"{where}: status {status} is not documented for {lookup} "
                                f"{template.path} (documented: {', '.join(responses)}; body "
                                f"{body[:300]!r})")
        response = self._deref(responses[key])
        content = response.get("content")
        if not has_body:
            return f"{lookup} {template.path}"
        if not content:
            if body:
                raise ContractError(f"{where}: documented without a body, got {body[:200]!r}")
            return f"{lookup} {template.path}"
        if media not in content:
            raise ContractError(f"{where}: Content-Type {content_type!r} not documented "
                                f"(documented: {', '.join(content)})")
        schema = content[media].get("schema")
        if schema is not None and media == "application/json":
            pointer = f"{lookup} {template.path} {key}"
            self._validate(pointer, schema, self._json(body, where), where)
        return f"{lookup} {template.path}"


# ---- the session's contract and its counters ---------------------------------------------------

_contract: Contract | None = None
_contract_lock = threading.Lock()
_stats_lock = threading.Lock()
checked = 0
exercised: set[str] = set()
failures: list[str] = []


def contract() -> Contract:
    global _contract
    with _contract_lock:
        if _contract is None:
            with open(SPEC_PATH, encoding="utf-8") as f:
                _contract = Contract(yaml.safe_load(f))
        return _contract


def check_response(resp) -> None:
    """Checks one requests.Response (see the module doc); raises ContractError on a mismatch."""
    global checked
    path = urlsplit(resp.request.url).path
    try:
        op = contract().check(resp.request.method, path, resp.status_code,
                              resp.headers.get("Content-Type", ""), resp.content)
    except ContractError as e:
        with _stats_lock:
            failures.append(str(e))
        raise
    with _stats_lock:
        checked += 1
        if op is not None:
            exercised.add(op)


def summary() -> list[str]:
    c = contract()
    documented = {f"{m} {p}" for m, p in c.operations}
    missing = sorted(documented - exercised)
    lines = [f"openapi: {checked} responses validated against docs/openapi.yaml; "
             f"{len(exercised & documented)} of {len(documented)} documented operations exercised"]
    if missing:
        lines.append("openapi: not exercised: " + ", ".join(missing))
    if failures:
        lines.append(f"openapi: {len(failures)} responses did NOT match the document:")
        lines += [f"  {f}" for f in failures[:50]]
    return lines
