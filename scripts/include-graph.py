#!/usr/bin/python3
"""Include edges between the service folders of src/ (and from services into app/).

An edge X -> Y is one file in src/services/X that includes "services/Y/..." (Y != X) or
"app/...". Prints every edge, the per-pair counts, and the totals the architecture notes quote,
so the figures can be re-measured after a change:  scripts/include-graph.py [src-dir]
"""
import collections
import pathlib
import re
import sys

ANY_INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
INCLUDE = re.compile(r'^\s*#\s*include\s+"((?:services/([a-z_]+)|app)/[^"]+)"', re.M)


def edges(src: pathlib.Path):
    for path in sorted((src / "services").glob("*/*.[ch]pp")):
        own = path.parent.name
        for m in INCLUDE.finditer(path.read_text(encoding="utf-8")):
            target = m.group(2) or "app"
            if target != own:
                yield own, target, str(path.relative_to(src)), m.group(1)


def reach(src: pathlib.Path):
    """Per service folder: the other service folders (and app) its files see through includes,
    followed transitively (what a header change rebuilds, what a service can call)."""
    cache = {}

    def closure(rel):
        if rel in cache:
            return cache[rel]
        cache[rel] = set()
        path = src / rel
        if not path.exists():
            return cache[rel]
        out = set()
        for inc in ANY_INCLUDE.findall(path.read_text(encoding="utf-8")):
            if (src / inc).exists():
                out.add(inc)
                out |= closure(inc)
        cache[rel] = out
        return out

    result = {}
    for folder in sorted(p for p in (src / "services").iterdir() if p.is_dir()):
        seen = set()
        for path in folder.glob("*.[ch]pp"):
            for inc in closure(str(path.relative_to(src))):
                parts = inc.split("/")
                if parts[0] == "services" and parts[1] != folder.name:
                    seen.add(parts[1])
                elif parts[0] == "app":
                    seen.add("app")
        result[folder.name] = sorted(seen)
    return result


def main() -> int:
    src = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "src")
    found = list(edges(src))
    pairs = collections.Counter((a, b) for a, b, _, _ in found)
    for a, b, f, inc in found:
        print(f"{f} -> {inc}")
    print()
    for (a, b), n in sorted(pairs.items()):
        print(f"{a} -> {b}: {n}")
    files = [p for p in src.rglob("*.[ch]pp")]
    lines = sum(len(p.read_text(encoding="utf-8").splitlines()) for p in files)
    into_app = sum(n for (a, b), n in pairs.items() if b == "app")
    print()
    print(f"src files: {len(files)}, lines: {lines}")
    print(f"include edges (file -> other folder): {len(found)}, of which into app/: {into_app}")
    print(f"folder pairs: {len(pairs)}")
    print()
    print("transitive reach (folders each service sees through its includes):")
    total = 0
    for folder, seen in reach(src).items():
        total += len(seen)
        print(f"  {folder}: {', '.join(seen) or '-'}")
    print(f"transitive folder pairs: {total}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
