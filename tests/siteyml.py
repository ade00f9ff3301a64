"""The smallest valid project, for tests of what site.yml and the environment say."""

from __future__ import annotations

from pathlib import Path

MINIMAL = """\
name: Minimal Verify
base_url: https://verify.minimal.test/
organizations:
  acmex:
    name: Acme University
"""


def write_site(root: Path, extra: str = "") -> Path:
    """`root` holding the minimal site.yml followed by `extra` (top-level YAML), and a theme folder."""
    (root / "themes" / "default" / "templates").mkdir(parents=True, exist_ok=True)
    (root / "site.yml").write_text(MINIMAL + extra, encoding="utf-8")
    return root


def line_of(root: Path, text: str) -> int:
    """The 1-based line of site.yml where `text` first appears."""
    lines = (root / "site.yml").read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, 1) if text in line)
