"""Shared fixtures: a fresh copy of the sample project, and running the real CLI."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from sitegen.cli import main

pytest_plugins = ["gpgkeys"]

# Every build of the default theme in the suite compares every use of its shared page parts
# with a fresh render (docs/themes.md), not only the second: a part keyed too coarsely fails.
os.environ.setdefault("SITEGEN_CHECK_SHARED", "1")

TESTS = Path(__file__).parent
SAMPLE_SITE = TESTS / "sample_site"
REPO = TESTS.parent


@dataclass
class Run:
    code: int
    out: str
    err: str


SITES_SECTION = re.compile(r"\n(#[^\n]*\n)*sites:\n.*", re.DOTALL)  # with the comment above it
EXAMPLE_PARTS = ("site.yml", "content", "credentials_data", "themes", "sites")  # the repository's example


def copy_example_project(target: Path, one_site: bool = False) -> Path:
    """A writable copy of the example project at the repository's root (its two sites), or
    with `one_site`, its whole catalogue as one site (its `sites:` section left out), for
    tests of pages that look at credentials of both organizations side by side."""
    target.mkdir(parents=True)
    for part in EXAMPLE_PARTS:
        copy = shutil.copytree if (REPO / part).is_dir() else shutil.copy2
        copy(REPO / part, target / part)
    if one_site:
        site_yml = target / "site.yml"
        text = site_yml.read_text(encoding="utf-8")
        assert SITES_SECTION.search(text), "the example's site.yml should end with its sites: section"
        site_yml.write_text(SITES_SECTION.sub("", text), encoding="utf-8")
    return target


@pytest.fixture
def sample_site(tmp_path) -> Path:
    """A writable copy of tests/sample_site."""
    target = tmp_path / "site"
    shutil.copytree(SAMPLE_SITE, target, ignore=shutil.ignore_patterns("build", ".dev-gnupg"))
    return target


@pytest.fixture
def signing_env(gpg_key, monkeypatch):
    """Full builds sign with the session's throw-away key (no development key, no stray agents)."""
    monkeypatch.setenv("SITEGEN_GNUPGHOME", str(gpg_key.home))
    monkeypatch.setenv("SITEGEN_SIGNING_KEY", gpg_key.fingerprint)
    return gpg_key


@pytest.fixture
def sitegen(capsys):
    """Run `sitegen ARGS...` in this process, as the console script would."""

    def run(*args: str) -> Run:
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


def sitegen_subprocess(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: int = 600) -> Run:
    """Run `python -m sitegen` in a child process: exit codes and output exactly as a user sees them."""
    done = subprocess.run([sys.executable, "-m", "sitegen", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)
    return Run(done.returncode, done.stdout, done.stderr)


def output_files(out: Path) -> dict[str, bytes]:
    """Every published file of a build (state and reports excluded), by relative path."""
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and not any(part.startswith(".") and part != ".well-known" for part in p.relative_to(out).parts)
    }
