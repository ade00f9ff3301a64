"""pyproject.toml declares what sitegen imports, and requirements.lock pins all of it."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions

from packaging.requirements import Requirement

from conftest import REPO

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
RUNTIME = [Requirement(r) for r in PYPROJECT["project"]["dependencies"]]
TEST = [Requirement(r) for r in PYPROJECT["project"]["optional-dependencies"]["test"]]
BUILD = [Requirement(r) for r in PYPROJECT["build-system"]["requires"]]


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def imported_distributions() -> set[str]:
    """The installed distributions that the modules of sitegen/ import."""
    modules = set()
    for path in (REPO / "sitegen").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    modules -= set(sys.stdlib_module_names) | {"sitegen"}
    owners = packages_distributions()
    unknown = sorted(m for m in modules if m not in owners)
    assert not unknown, f"sitegen imports modules that no installed distribution provides: {unknown}"
    return {norm(dist) for m in modules for dist in owners[m]}


def test_what_sitegen_imports_is_declared_and_what_is_declared_is_imported():
    declared = {norm(r.name) for r in RUNTIME}
    imported = imported_distributions()
    assert imported - declared == set(), "imported but not in [project] dependencies"
    assert declared - imported == set(), "in [project] dependencies but never imported (a test-only tool?)"


def test_the_lock_pins_every_requirement_at_an_allowed_version():
    text = (REPO / "requirements.lock").read_text(encoding="utf-8")
    pinned: dict[str, list[str]] = {}
    for name, version in re.findall(r"^([A-Za-z0-9][\w.-]*)==([^\s;\\]+)", text, re.M):
        pinned.setdefault(norm(name), []).append(version)
    for requirement in RUNTIME + TEST + BUILD:
        versions = pinned.get(norm(requirement.name))
        assert versions, f"{requirement} is not in requirements.lock: run ./dev lock"
        assert all(requirement.specifier.contains(v) for v in versions), (
            f"requirements.lock pins {requirement.name} {versions}, outside {requirement}: run ./dev lock")
    assert "--hash=sha256:" in text
