#!/usr/bin/env python3
"""Makes `redocly build-docs` output self-contained: the page it writes loads Redoc's script from
a CDN when opened; this swaps that tag for the same script from node_modules (the redoc version
@redocly/cli pinned in package-lock.json), so the page works offline and fetches nothing.

    scripts/inline-redoc.py build/api-docs.html
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "node_modules" / "redoc" / "bundles" / "redoc.standalone.js"
TAG = re.compile(r'<script src="https://[^"]*/redoc\.standalone\.js"></script>')


def main(page: str) -> int:
    html = Path(page).read_text(encoding="utf-8")
    if not TAG.search(html):
        print(f"{page}: no Redoc CDN script tag found (did build-docs change?)", file=sys.stderr)
        return 1
    script = BUNDLE.read_text(encoding="utf-8").replace("</script", "<\\/script")
    html = TAG.sub(lambda _m: f"<script>{script}</script>", html, count=1)
    Path(page).write_text(html, encoding="utf-8")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
