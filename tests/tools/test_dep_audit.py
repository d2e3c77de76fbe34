"""Tests for scripts/dep-audit.py.

The pure parts (Depends parsing, the dependency closure, dpkg/ldd/ninja output parsing) run on
hand-written inputs anywhere. The end-to-end checks audit the real build in build/ and are
skipped until it exists (the audit reads a finished build; it never builds).

    /usr/bin/python3 -m pytest tests/tools -q
"""

import importlib.util
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(REPO, "scripts", "dep-audit.py")
BUILD = os.path.join(REPO, "build")


def load_script():
    """Import scripts/dep-audit.py as a module (its name has a dash, so no plain import)."""
    spec = importlib.util.spec_from_file_location("dep_audit", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


da = load_script()


# ---------------------------------------------------------------------------------------------
# Pure functions, hand-written inputs
# ---------------------------------------------------------------------------------------------

def test_parse_relations_drops_versions_qualifiers_restrictions():
    text = ("libc6 (>= 2.34), python3:any (>= 3.11~) | python3-minimal, "
            "libfoo-dev:amd64 (= 1.0-1) [amd64] <!nocheck>,  , awk")
    assert da.parse_relations(text) == [
        ["libc6"], ["python3", "python3-minimal"], ["libfoo-dev"], ["awk"]]
    assert da.parse_relations("") == []


def db_from(text):
    """A package database from dpkg-query-format lines written with ' ; ' for tabs."""
    return da.parse_package_db("\n".join(line.replace(" ; ", "\t") for line in text))


SAMPLE_DB = [
    # name ; status ; essential ; depends ; pre-depends ; provides
    "app-dev ; install ok installed ;  ; libapp1 (= 1.2-1), libc-dev | libc6-dev ;  ; ",
    "libapp1 ; install ok installed ;  ; libc6 (>= 2.34), zlib1g:any | libz-alt ; "
    "multiarch-support ; ",
    "libc6 ; install ok installed ;  ; libgcc-s1 ;  ; ",
    "libgcc-s1 ; install ok installed ;  ; libc6 (>= 2.35) ;  ; ",  # a cycle
    "libc6-dev ; install ok installed ;  ; libc6 (= 2.36-9) ;  ; libc-dev (= 2.36)",
    "musl-dev ; install ok installed ;  ;  ;  ; libc-dev",
    "zlib1g ; install ok installed ;  ;  ;  ; ",
    "multiarch-support ; install ok installed ;  ;  ;  ; ",
    "bash ; install ok installed ; yes ; base-files (>= 12) ;  ; ",
    "base-files ; install ok installed ;  ;  ;  ; ",
    "unrelated ; install ok installed ;  ; libc6 ;  ; ",
    "gone ; deinstall ok config-files ;  ;  ;  ; libz-alt",
    "half ; install ok unpacked ;  ;  ;  ; ",
]


def test_parse_package_db_keeps_installed_only():
    db = db_from(SAMPLE_DB)
    assert "gone" not in db  # only its conffiles are left
    assert "half" in db  # unpacked: its files are on disk
    assert db["libapp1"].depends == [["libc6"], ["zlib1g", "libz-alt"], ["multiarch-support"]]
    assert db["libc6-dev"].provides == ["libc-dev"]
    assert db["bash"].essential and not db["libc6"].essential


def test_closure_follows_depends_predepends_alternatives_virtuals():
    db = db_from(SAMPLE_DB)
    closure = da.dependency_closure(["app-dev"], db)
    # versions ignored, :any dropped, Pre-Depends followed, cycle terminates, the virtual
    # libc-dev is satisfied by both installed providers, and the uninstalled alternative
    # libz-alt (only "provided" by a removed package) adds nothing
    assert closure == {"app-dev", "libapp1", "libc6", "libgcc-s1", "zlib1g",
                       "multiarch-support", "libc6-dev", "musl-dev"}


def test_closure_keeps_uninstalled_roots_and_ignores_them():
    db = db_from(SAMPLE_DB)
    assert da.dependency_closure(["not-installed"], db) == {"not-installed"}


def test_allowed_adds_essential_and_their_dependencies():
    db = db_from(SAMPLE_DB)
    allowed = da.allowed_packages(["zlib1g"], db)
    assert allowed == {"zlib1g", "bash", "base-files"}
    assert "unrelated" not in allowed


def test_suggestion_prefers_dropped_package_then_smallest_manual_one():
    db = db_from([
        "libboost-dev ; install ok installed ;  ; libboost1.74-dev ;  ; ",
        "libboost-all-dev ; install ok installed ;  ; libboost-dev, libboost-x-dev ;  ; ",
        "libboost-x-dev ; install ok installed ;  ;  ;  ; ",
        "libboost1.74-dev ; install ok installed ;  ;  ;  ; ",
    ])
    manual = {"libboost-dev", "libboost-all-dev"}
    assert da.suggestion("libboost1.74-dev", db, set(), [], manual) == "libboost-dev"
    assert da.suggestion("libboost1.74-dev", db, set(), ["libboost-all-dev"], manual) \
        == "libboost-all-dev"
    assert da.suggestion("libboost-x-dev", db, set(), [], manual) == "libboost-all-dev"
    assert da.suggestion("orphan", db, set(), [], manual) == "orphan"


def test_classify_unowned_system_file_is_an_error_elsewhere_a_note(capsys):
    owners = {
        "/usr/include/boost/version.hpp": ["libboost1.74-dev"],
        "/usr/include/soci/soci.h": ["libsoci-dev"],
        "/lib/x86_64-linux-gnu/libc.so.6": ["libc6", "libc6-alt"],
        "/usr/local/include/hand-copied.h": [],
        "/opt/vendor/include/v.h": [],
    }
    verdict = da.classify(owners, allowed={"libsoci-dev", "libc6-alt"})
    assert verdict["uncovered"] == {"libboost1.74-dev": ["/usr/include/boost/version.hpp"]}
    assert verdict["unowned"] == ["/usr/local/include/hand-copied.h"]
    assert verdict["foreign"] == ["/opt/vendor/include/v.h"]
    findings = da.Findings(headers=set(owners), libraries=set(), **verdict)
    db = db_from(["libboost-dev ; install ok installed ;  ; libboost1.74-dev ;  ; ",
                  "libboost1.74-dev ; install ok installed ;  ;  ;  ; "])
    assert not da.report(findings, db, allowed=set(), without=["libboost-dev"])
    out = capsys.readouterr().out
    assert ("dep-audit: /usr/include/boost/version.hpp comes from libboost1.74-dev, which "
            "scripts/install-deps.sh neither lists nor pulls in; add libboost-dev") in out
    assert "/usr/local/include/hand-copied.h belongs to no Debian package" in out
    assert "/opt/vendor" not in out


def test_parse_dpkg_search():
    out = ("libc6:amd64: /lib/x86_64-linux-gnu/libc.so.6\n"
           "diversion by dash from: /bin/sh\n"
           "libfoo:amd64, libfoo:i386: /usr/share/doc/libfoo\n"
           "libboost1.74-dev:amd64: /usr/include/boost/version.hpp\n")
    assert da.parse_dpkg_search(out) == {
        "/lib/x86_64-linux-gnu/libc.so.6": ["libc6"],
        "/usr/share/doc/libfoo": ["libfoo"],
        "/usr/include/boost/version.hpp": ["libboost1.74-dev"],
    }


def test_usrmerge_variants():
    assert da.toggle_usr("/lib/x86_64-linux-gnu/libc.so.6") == "/usr/lib/x86_64-linux-gnu/libc.so.6"
    assert da.toggle_usr("/usr/lib/x86_64-linux-gnu/libc.so.6") == "/lib/x86_64-linux-gnu/libc.so.6"
    assert da.toggle_usr("/usr/include/stdio.h") is None  # there is no /include
    variants = da.path_variants("/lib64/ld-linux-x86-64.so.2")
    assert variants[0] == "/lib64/ld-linux-x86-64.so.2"
    assert "/usr/lib64/ld-linux-x86-64.so.2" in variants
    assert len(variants) == len(set(variants))
    assert da.dpkg_pattern("/usr/include/a[1]*.h") == r"/usr/include/a\[1]\*.h"


def test_parse_ldd():
    out = """\tlinux-vdso.so.1 (0x00007ffd)
\tlibsoci_core.so.4.0 => /lib/x86_64-linux-gnu/libsoci_core.so.4.0 (0x00007f84)
\tlibgone.so.1 => not found
\t/lib64/ld-linux-x86-64.so.2 (0x00007f84b3caf000)
"""
    found, missing = da.parse_ldd(out)
    assert found == {"/lib/x86_64-linux-gnu/libsoci_core.so.4.0", "/lib64/ld-linux-x86-64.so.2"}
    assert missing == {"libgone.so.1"}


def test_parse_ninja_deps_resolves_relative_paths():
    out = """CMakeFiles/x.dir/cmake_pch.hxx.gch: #deps 3, deps mtime 1 (VALID)
    /usr/include/nlohmann/json.hpp
    CMakeFiles/x.dir/cmake_pch.hxx
    ../src/a.hpp

"""
    assert da.parse_ninja_deps(out, "/w/build") == {
        "/usr/include/nlohmann/json.hpp", "/w/build/CMakeFiles/x.dir/cmake_pch.hxx",
        "/w/src/a.hpp"}


# ---------------------------------------------------------------------------------------------
# The real build
# ---------------------------------------------------------------------------------------------

needs_build = pytest.mark.skipif(
    not (os.path.exists(os.path.join(BUILD, "build.ninja"))
         and os.path.exists(os.path.join(BUILD, "cloudjet"))),
    reason="needs a finished build: build/build.ninja and build/cloudjet do not exist yet "
           "(run `make build` first; the audit only reads a build)")


def audit(*args):
    return subprocess.run([sys.executable, SCRIPT, "--build-dir", BUILD, *args],
                          capture_output=True, text=True, timeout=300)


@needs_build
def test_real_build_is_covered():
    proc = audit()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "all covered" in proc.stdout
    assert " headers, " in proc.stdout and " libraries, " in proc.stdout


@needs_build
def test_without_boost_fails_naming_boost():
    proc = audit("--without", "libboost-dev")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "/usr/include/boost/" in proc.stdout
    assert "libboost1.74-dev" in proc.stdout or "libboost-dev" in proc.stdout
    assert "add libboost-dev" in proc.stdout


@needs_build
def test_without_soci_fails_naming_soci():
    proc = audit("--without", "libsoci-dev")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "/usr/include/soci/" in proc.stdout
    assert "libsoci-dev" in proc.stdout


@needs_build
def test_without_unlisted_package_is_a_usage_error():
    proc = audit("--without", "no-such-package")
    assert proc.returncode == 2
    assert "not listed" in proc.stderr
