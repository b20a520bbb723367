"""Dependencies: floors above known advisories, every range pinned by constraints.txt, and the CI audit's verdict."""

from __future__ import annotations

import json
import tomllib
from importlib.machinery import SourceFileLoader
from importlib.util import module_from_spec, spec_from_loader
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
_loader = SourceFileLoader("ci_audit", str(ROOT / ".ci" / "audit"))
audit = module_from_spec(spec_from_loader("ci_audit", _loader))
_loader.exec_module(audit)


def pins() -> dict[str, Version]:
    lines = (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
    found = {}
    for line in lines:
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            found[name.strip().lower().replace("_", "-").replace(".", "-")] = Version(version.strip())
    return found


def requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]]


def test_every_dependency_is_pinned_within_its_range():
    pinned = pins()
    for requirement in requirements():
        name = requirement.name.lower().replace("_", "-").replace(".", "-")
        assert name in pinned, f"{requirement.name} has no pin in constraints.txt"
        assert requirement.specifier.contains(pinned[name]), f"{pinned[name]} is outside {requirement}"


def test_floors_sit_above_known_advisories():
    floors = {r.name.lower(): r.specifier for r in requirements()}
    assert not floors["requests"].contains("2.32.3")  # CVE-2024-47081: .netrc credentials sent to another host
    assert pins()["requests"] >= Version("2.32.4")


def test_the_audit_fails_on_an_advisory_and_says_when_it_could_not_audit():
    vulnerable = {"dependencies": [{"name": "requests", "version": "2.31.0", "vulns": [{"id": "GHSA-9hjg-9r4m-mvj7"}]},
                                   {"name": "msal", "version": "1.39.0", "vulns": []}]}
    code, lines = audit.verdict(json.dumps(vulnerable))
    assert code == 1 and "requests 2.31.0 is named by advisory GHSA-9hjg-9r4m-mvj7" in lines[0]
    clean = {"dependencies": [{"name": "msal", "version": "1.39.0", "vulns": []}]}
    assert audit.verdict(json.dumps(clean)) == (0, ["audit: 1 of 1 pinned dependencies checked, 0 advisories"])
    unreachable = {"dependencies": [{"name": "msal", "skip_reason": "Dependency not found on PyPI"}]}
    code, lines = audit.verdict(json.dumps(unreachable))
    assert code == 0 and "NOT audited" in lines[0]
    assert audit.verdict("", "connection refused")[0] == 0
