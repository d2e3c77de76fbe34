#!/usr/bin/python3
"""Dependency audit: is everything the build used installed by scripts/install-deps.sh?

CI runs on a machine that keeps every package ever installed, so a package missing from
install-deps.sh (libboost-dev, whose headers SOCI's headers include) goes unnoticed there and
only breaks a fresh Debian 12 machine. After a build this script collects

  * every header the compiler read (ninja's deps log, including the precompiled header's
    record, since objects compiled with the PCH may not list what is inside it),
  * every library the link step read (absolute paths and -l flags of the final link commands,
    which catches static archives such as libgtest.a that ldd cannot see),
  * every shared library the binaries load (ldd build/cloudjet, build/unit_tests),

maps each file to its Debian package (dpkg -S) and fails when a package is neither listed in
install-deps.sh (BUILD_PKGS) nor pulled in by one of them (Depends/Pre-Depends, recursively),
nor Essential. Files under /usr or /lib that no package owns (hand-copied into /usr/local, say)
fail too: a fresh machine would not have them.

    /usr/bin/python3 scripts/dep-audit.py [--build-dir build] [--without PKG]...

--without PKG drops a listed package before the closure is computed, to prove that the audit
would have caught its absence (e.g. --without libboost-dev must fail).

Exit status: 0 all covered, 1 something is not covered, 2 the audit could not run.
Python standard library only.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INSTALL_DEPS = os.path.join(REPO, "scripts", "install-deps.sh")
INSTALL_DEPS_NAME = "scripts/install-deps.sh"
BINARIES = ("cloudjet", "unit_tests")
# Where a file has to come from a package. Elsewhere (a home directory, /opt) an unowned file
# is not the package list's business.
SYSTEM_ROOTS = ("/usr/", "/lib/", "/lib32/", "/lib64/", "/libx32/", "/bin/", "/sbin/")
# dpkg-query statuses whose files are on disk (everything but "not-installed"/"config-files").
INSTALLED_STATES = {"installed", "unpacked", "half-installed", "half-configured",
                    "triggers-awaited", "triggers-pending"}
APT_EXTENDED_STATES = "/var/lib/apt/extended_states"
DPKG_BATCH = 400  # paths per dpkg -S call: well below ARG_MAX, few processes
EXAMPLES = 3


class AuditError(Exception):
    """The audit itself could not run (no build dir, ninja or dpkg failing): exit 2."""


def log(msg: str) -> None:
    print(f"dep-audit: {msg}", file=sys.stderr)


def run(cmd: list[str], check: bool = True) -> subprocess.CompletedProcess:
    """Run a command and capture text output; a missing tool or a failure is an AuditError."""
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as e:
        raise AuditError(f"cannot run {cmd[0]}: {e}") from e
    if check and proc.returncode != 0:
        raise AuditError(f"{shlex.join(cmd[:4])}... failed ({proc.returncode}): "
                         f"{proc.stderr.strip()[:500]}")
    return proc


# --------------------------------------------------------------------------------------------
# What the build used
# --------------------------------------------------------------------------------------------

def ninja(build_dir: str, *tool: str) -> str:
    """Run a read-only `ninja -t` tool. -n (dry run) keeps ninja from opening the deps log for
    writing, so a query never recompacts the log under a build that is running."""
    return run(["ninja", "-C", build_dir, "-n", "-t", *tool]).stdout


def parse_ninja_deps(text: str, build_dir: str) -> set[str]:
    """Paths listed in `ninja -t deps` output (indented lines under each `target: #deps N`).

    All records are kept, the PCH's (`cmake_pch.hxx.gch`) included: with GCC an object built
    against the PCH does not necessarily repeat the headers the PCH was made from."""
    paths = set()
    for line in text.splitlines():
        if line.startswith((" ", "\t")) and line.strip():
            paths.add(os.path.normpath(os.path.join(build_dir, line.strip())))
    return paths


def source_dir(build_dir: str) -> str:
    """The source tree the build dir was configured from (CMakeCache), else this repo."""
    try:
        with open(os.path.join(build_dir, "CMakeCache.txt"), encoding="utf-8") as f:
            for line in f:
                if line.startswith("CMAKE_HOME_DIRECTORY:"):
                    return line.split("=", 1)[1].strip()
    except OSError:
        pass
    return REPO


def is_under(path: str, roots: list[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def external_headers(build_dir: str) -> set[str]:
    """Headers read by the compiler from outside the source tree and the build dir."""
    ours = [os.path.realpath(build_dir), os.path.abspath(build_dir),
            os.path.realpath(source_dir(build_dir)), REPO]
    deps = parse_ninja_deps(ninja(build_dir, "deps"), os.path.abspath(build_dir))
    if not deps:
        raise AuditError(f"ninja's deps log in {build_dir} is empty: build first")
    return {p for p in deps if not is_under(p, ours) and not is_under(os.path.realpath(p), ours)}


def link_inputs(build_dir: str, target: str) -> set[str]:
    """Libraries named on the final link command of `target`: absolute .a/.so paths, and -lNAME
    resolved by asking the compiler where it finds libNAME.so (or .a)."""
    out = ninja(build_dir, "commands", "-s", target).strip().splitlines()
    if not out:
        return set()
    words = shlex.split(out[-1])
    # CMake wraps the link as ": && <compiler> ... && <post-build steps>"; keep the compiler part.
    if words[:2] == [":", "&&"]:
        words = words[2:]
    words = words[:words.index("&&")] if "&&" in words else words
    if not words:
        return set()
    compiler, libs = words[0], set()
    for w in words[1:]:
        if w.startswith("/") and re.search(r"\.(a|so(\.\d+)*)$", w):
            libs.add(os.path.normpath(w))
        elif w.startswith("-l") and len(w) > 2:
            found = resolve_lib_flag(compiler, w[2:])
            if found:
                libs.add(found)
    return libs


def resolve_lib_flag(compiler: str, name: str) -> str | None:
    """Where the compiler's linker finds -lNAME (gcc echoes the bare name back if nowhere)."""
    for ext in (".so", ".a"):
        ans = run([compiler, f"-print-file-name=lib{name}{ext}"], check=False).stdout.strip()
        if ans.startswith("/") and os.path.exists(ans):
            return os.path.normpath(ans)
    return None


def parse_ldd(text: str) -> tuple[set[str], set[str]]:
    """(resolved library paths, sonames ldd could not find) from ldd output. The vDSO has no
    file and is skipped; the dynamic loader is listed by path alone."""
    found, missing = set(), set()
    for line in text.splitlines():
        line = line.strip()
        if "=>" in line:
            soname, target = (s.strip() for s in line.split("=>", 1))
            if target.startswith("not found"):
                missing.add(soname)
            elif target.startswith("/"):
                found.add(os.path.normpath(target.split(" (", 1)[0]))
        elif line.startswith("/"):
            found.add(os.path.normpath(line.split(" (", 1)[0]))
    return found, missing


def runtime_libraries(binary: str) -> tuple[set[str], set[str]]:
    """Shared libraries `binary` loads, transitively, as the dynamic loader resolves them."""
    return parse_ldd(run(["ldd", binary]).stdout)


# --------------------------------------------------------------------------------------------
# Which package each file comes from
# --------------------------------------------------------------------------------------------

def toggle_usr(path: str) -> str | None:
    """/lib/x → /usr/lib/x and back. Debian 12 is usrmerged (/lib → usr/lib), and dpkg records
    whichever form the package shipped, so both have to be asked."""
    if path.startswith("/usr/"):
        rest = path[4:]
        return rest if rest.startswith(("/lib", "/bin/", "/sbin/")) else None
    if path.startswith(("/lib", "/bin/", "/sbin/")):
        return "/usr" + path
    return None


def path_variants(path: str) -> list[str]:
    """The names dpkg may know a file by: as given, /usr-toggled, fully resolved (symlinked
    sonames, /lib64 → /usr/lib64), resolved directory with the original basename, each with
    its /usr-toggled twin. Order = preference; duplicates dropped."""
    bases = [path, os.path.realpath(path),
             os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))]
    out: list[str] = []
    for b in bases:
        for v in (b, toggle_usr(b)):
            if v and v not in out:
                out.append(v)
    return out


def dpkg_pattern(path: str) -> str:
    """dpkg -S takes glob patterns; escape glob characters so a path only matches itself
    (paths without them take dpkg's fast exact lookup)."""
    return re.sub(r"([*?\[\\])", r"\\\1", path)


def parse_dpkg_search(text: str) -> dict[str, list[str]]:
    """`dpkg -S` stdout → {path: [package, ...]} with arch qualifiers dropped
    (`libc6:amd64, libc6:i386: /x` → ['libc6']). Diversion notes are skipped."""
    owners: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.startswith("diversion by ") or ": " not in line:
            continue
        pkgs, path = line.split(": ", 1)
        names = owners.setdefault(path.strip(), [])
        for p in pkgs.split(","):
            n = p.strip().split(":", 1)[0]
            if n and n not in names:
                names.append(n)
    return owners


def dpkg_search(paths: list[str]) -> dict[str, list[str]]:
    """Batched `dpkg -S`. Exit status 1 only means some path had no owner; that is expected."""
    owners: dict[str, list[str]] = {}
    for i in range(0, len(paths), DPKG_BATCH):
        batch = paths[i:i + DPKG_BATCH]
        proc = run(["dpkg", "-S", *(dpkg_pattern(p) for p in batch)], check=False)
        if proc.returncode not in (0, 1):
            raise AuditError(f"dpkg -S failed ({proc.returncode}): {proc.stderr.strip()[:500]}")
        for path, pkgs in parse_dpkg_search(proc.stdout).items():
            owners.setdefault(path, []).extend(pkgs)
    return owners


def owners_of(files: set[str]) -> dict[str, list[str]]:
    """{file: owning packages} ([] when no package owns it). Two rounds of dpkg -S: the paths
    as the build saw them (almost all resolve), then every usrmerge/symlink variant of the rest."""
    result = {f: [] for f in files}
    first = dpkg_search(sorted(files))
    rest = []
    for f in files:
        if first.get(f):
            result[f] = first[f]
        else:
            rest.append(f)
    if rest:
        variants = {f: path_variants(f)[1:] for f in rest}
        second = dpkg_search(sorted({v for vs in variants.values() for v in vs}))
        for f, vs in variants.items():
            result[f] = next((second[v] for v in vs if second.get(v)), [])
    return result


# --------------------------------------------------------------------------------------------
# What install-deps.sh installs
# --------------------------------------------------------------------------------------------

def listed_packages(extra_flags: list[str]) -> list[str]:
    """The package names install-deps.sh would install, from its own --print-packages mode
    (no parsing of the shell arrays here, so the script stays the single source)."""
    out = run(["bash", INSTALL_DEPS, "--print-packages", *extra_flags]).stdout
    pkgs = [line.strip() for line in out.splitlines() if line.strip()]
    if not pkgs:
        raise AuditError(f"{INSTALL_DEPS_NAME} --print-packages printed nothing")
    return pkgs


@dataclass
class Package:
    """One installed package as far as the closure cares."""
    depends: list[list[str]] = field(default_factory=list)  # clauses of alternatives
    provides: list[str] = field(default_factory=list)
    essential: bool = False


def parse_relations(text: str) -> list[list[str]]:
    """A Depends-style field → clauses of alternative package names.

    `libc6 (>= 2.34), python3:any | python3-minimal, awk [amd64] <!nocheck>`
    → [['libc6'], ['python3', 'python3-minimal'], ['awk']]: version constraints, arch
    qualifiers (:any, :native, :amd64), arch restrictions and build profiles are dropped,
    because the question is only which packages can satisfy the clause."""
    clauses = []
    for clause in text.split(","):
        alts = []
        for alt in clause.split("|"):
            alt = re.sub(r"\([^)]*\)|\[[^\]]*\]|<[^>]*>", " ", alt).strip()
            name = alt.split()[0].split(":", 1)[0] if alt else ""
            if name:
                alts.append(name)
        if alts:
            clauses.append(alts)
    return clauses


DPKG_QUERY_FORMAT = ("${Package}\\t${Status}\\t${Essential}\\t${Depends}\\t${Pre-Depends}"
                     "\\t${Provides}\\n")


def parse_package_db(text: str) -> dict[str, Package]:
    """Output of `dpkg-query -W -f=DPKG_QUERY_FORMAT` → installed packages by name.

    Packages that are removed but keep their conffiles are left out (nothing of them is on
    disk); several architectures of one package are merged."""
    db: dict[str, Package] = {}
    for line in text.splitlines():
        cols = line.split("\t")
        if len(cols) < 6 or not cols[0]:
            continue
        name, status, essential, depends, predepends, provides = cols[:6]
        state = status.split()[-1] if status.split() else ""
        if state not in INSTALLED_STATES:
            continue
        pkg = db.setdefault(name, Package())
        pkg.depends += parse_relations(depends) + parse_relations(predepends)
        pkg.provides += [alts[0] for alts in parse_relations(provides)]
        pkg.essential = pkg.essential or essential.strip() == "yes"
    return db


def installed_packages() -> dict[str, Package]:
    return parse_package_db(run(["dpkg-query", "-W", "-f=" + DPKG_QUERY_FORMAT]).stdout)


def providers_index(db: dict[str, Package]) -> dict[str, set[str]]:
    """virtual name → installed packages that Provide it."""
    index: dict[str, set[str]] = {}
    for name, pkg in db.items():
        for virtual in pkg.provides:
            index.setdefault(virtual, set()).add(name)
    return index


def satisfiers(name: str, db: dict[str, Package], providers: dict[str, set[str]]) -> set[str]:
    """Installed packages that satisfy a dependency on `name`: the package itself if installed,
    plus every installed package that Provides it (virtual packages such as libc-dev)."""
    found = set(providers.get(name, ()))
    if name in db:
        found.add(name)
    return found


def dependency_closure(roots: list[str] | set[str], db: dict[str, Package]) -> set[str]:
    """Installed packages reachable from `roots` through Depends/Pre-Depends, roots included.

    Each clause `a | b` contributes every installed alternative, not just the first: this
    machine does not tell which one apt picked, and either satisfies the dependency. Roots that
    are not installed stay in the set (a file cannot come from them anyway)."""
    providers = providers_index(db)
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for clause in db[name].depends if name in db else ():
            for alt in clause:
                todo.extend(satisfiers(alt, db, providers) - seen)
    return seen


def allowed_packages(listed: list[str], db: dict[str, Package]) -> set[str]:
    """Everything a fresh machine running install-deps.sh is sure to have: the listed packages,
    the Essential ones, and all they depend on."""
    essential = {n for n, p in db.items() if p.essential}
    return dependency_closure(set(listed) | essential, db)


def manually_installed(db: dict[str, Package]) -> set[str]:
    """Installed packages apt did not mark as automatically installed: the names someone asked
    for, hence the natural thing to add to the list (libboost-dev rather than libboost1.74-dev)."""
    auto, name = set(), None
    try:
        with open(APT_EXTENDED_STATES, encoding="utf-8") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key == "Package":
                    name = value.strip()
                elif key == "Auto-Installed" and value.strip() == "1" and name:
                    auto.add(name)
    except OSError:
        pass
    return set(db) - auto


def suggestion(pkg: str, db: dict[str, Package], allowed: set[str], prefer: list[str],
               manual: set[str]) -> str:
    """What to add to install-deps.sh for an uncovered package: a package dropped with
    --without that pulls it in, else the manually installed, not yet allowed package with the
    smallest closure that pulls it in, else the package itself."""
    for p in prefer:
        if pkg in dependency_closure([p], db):
            return p
    best, best_size = pkg, None
    for cand in sorted(manual - allowed):
        closure = dependency_closure([cand], db)
        if pkg in closure and (best_size is None or len(closure) < best_size):
            best, best_size = cand, len(closure)
    return best


# --------------------------------------------------------------------------------------------
# The audit
# --------------------------------------------------------------------------------------------

@dataclass
class Findings:
    """What was checked and what is not covered."""
    headers: set[str]
    libraries: set[str]
    packages: set[str]  # owners of the checked files
    uncovered: dict[str, list[str]]  # package → files
    unowned: list[str]  # system files no package owns
    foreign: list[str]  # unowned files outside the system dirs (reported, not failed)
    missing_libs: list[str] = field(default_factory=list)  # sonames ldd could not resolve


def audit(build_dir: str, without: list[str]) -> tuple[Findings, dict[str, Package], set[str]]:
    """Collect the files, map them to packages and compare with the allowed set."""
    headers = external_headers(build_dir)
    libraries: set[str] = set()
    missing: set[str] = set()
    binaries = [os.path.join(build_dir, b) for b in BINARIES
                if os.path.exists(os.path.join(build_dir, b))]
    if not binaries:
        raise AuditError(f"no {' or '.join(BINARIES)} in {build_dir}: build first")
    for binary in binaries:
        found, lost = runtime_libraries(binary)
        libraries |= found
        missing |= lost
        libraries |= link_inputs(build_dir, os.path.basename(binary))

    db = installed_packages()
    listed = [p for p in listed_packages([]) if p not in without]
    for p in listed:
        if p not in db:
            log(f"warning: {p} is listed in {INSTALL_DEPS_NAME} but not installed here")
    allowed = allowed_packages(listed, db)
    owners = owners_of(headers | libraries)

    return Findings(headers, libraries, missing_libs=sorted(missing),
                    **classify(owners, allowed)), db, allowed


def classify(owners: dict[str, list[str]], allowed: set[str]) -> dict:
    """Sort files by verdict: covered (some owner is allowed), uncovered (grouped by their first
    owner), unowned system files (an error: a fresh machine lacks them) and unowned files
    elsewhere (only noted)."""
    uncovered: dict[str, list[str]] = {}
    unowned, foreign, packages = [], [], set()
    for path in sorted(owners):
        pkgs = owners[path]
        packages.update(pkgs)
        if not pkgs:
            (unowned if path.startswith(SYSTEM_ROOTS) else foreign).append(path)
        elif not any(p in allowed for p in pkgs):
            uncovered.setdefault(pkgs[0], []).append(path)
    return {"packages": packages, "uncovered": uncovered, "unowned": unowned, "foreign": foreign}


def examples(files: list[str]) -> str:
    more = len(files) - EXAMPLES
    return ", ".join(files[:EXAMPLES]) + (f" (and {more} more)" if more > 0 else "")


def report(f: Findings, db: dict[str, Package], allowed: set[str], without: list[str]) -> bool:
    """Print one finding per uncovered package/unowned file; True when all is covered."""
    manual = manually_installed(db) if f.uncovered else set()
    for pkg in sorted(f.uncovered):
        files = f.uncovered[pkg]
        add = suggestion(pkg, db, allowed, without, manual)
        print(f"dep-audit: {files[0]} comes from {pkg}, which {INSTALL_DEPS_NAME} neither lists "
              f"nor pulls in; add {add}")
        if len(files) > 1:
            print(f"dep-audit:   also {examples(files[1:])}")
    for path in f.unowned[:20]:
        print(f"dep-audit: {path} belongs to no Debian package (copied by hand?); a fresh machine "
              f"will not have it: install it from a package listed in {INSTALL_DEPS_NAME}")
    if len(f.unowned) > 20:
        print(f"dep-audit:   and {len(f.unowned) - 20} more unowned files")
    for soname in f.missing_libs:
        print(f"dep-audit: ldd cannot find {soname}")
    for path in f.foreign:
        log(f"note: {path} is outside the source tree and owned by no package (not checked)")
    return not (f.uncovered or f.unowned or f.missing_libs)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    ap.add_argument("--build-dir", default=os.path.join(REPO, "build"),
                    help="CMake/Ninja build directory (default: build)")
    ap.add_argument("--without", action="append", default=[], metavar="PKG",
                    help="drop PKG from the listed packages first (repeatable)")
    args = ap.parse_args(argv)

    start = time.monotonic()
    try:
        if not os.path.exists(os.path.join(args.build_dir, "build.ninja")):
            raise AuditError(f"{args.build_dir}/build.ninja not found: configure and build first")
        listed = listed_packages([])
        unknown = [p for p in args.without if p not in listed]
        if unknown:
            raise AuditError(f"--without {' '.join(unknown)}: not listed in {INSTALL_DEPS_NAME}")
        findings, db, allowed = audit(args.build_dir, args.without)
    except AuditError as e:
        log(str(e))
        return 2
    ok = report(findings, db, allowed, args.without)
    elapsed = time.monotonic() - start
    if not ok:
        print(f"dep-audit: FAILED: {len(findings.uncovered)} package(s) not installed by "
              f"{INSTALL_DEPS_NAME}, {len(findings.unowned)} unowned file(s), "
              f"{len(findings.missing_libs)} missing library(ies) ({elapsed:.1f} s)")
        return 1
    print(f"dep-audit: {len(findings.headers)} headers, {len(findings.libraries)} libraries, "
          f"{len(findings.packages)} packages, all covered by {INSTALL_DEPS_NAME} "
          f"({elapsed:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
