"""Static checks of deploy/compose.yaml that need no container engine (the full stack runs in
`make deploy-test`): interpolation forms podman-compose 1.0.3 (Debian 12) does not expand."""
import re
from pathlib import Path

EMPTY_DEFAULT = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*:?-\}")
COMPOSE = Path(__file__).resolve().parents[2] / "deploy" / "compose.yaml"


def test_no_empty_default_interpolation():
    # podman-compose 1.0.3 leaves `${X:-}` as literal text (its pattern needs a non-empty default),
    # which once reached the binary as OTEL_EXPORTER_OTLP_ENDPOINT='${OTEL_EXPORTER_OTLP_ENDPOINT:-}'.
    # Write `${X}` instead: an unset variable is empty there too.
    bad = [f"line {n}: {line.strip()}" for n, line in enumerate(COMPOSE.read_text().splitlines(), 1)
           if not line.lstrip().startswith("#") and EMPTY_DEFAULT.search(line)]
    assert not bad, "empty-default interpolation podman-compose cannot expand:\n" + "\n".join(bad)


def test_the_check_finds_the_form_it_forbids():
    assert EMPTY_DEFAULT.search("X: ${OTEL_EXPORTER_OTLP_ENDPOINT:-}")
    assert not EMPTY_DEFAULT.search("X: ${IMAGE:-docker.io/x:1}")
