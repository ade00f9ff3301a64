"""Regenerate tests/golden/sample_site from tests/sample_site, after an intended change.

    python tests/update_golden.py

Then review `git diff tests/golden` like any other change: it is what users will see.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

TESTS = Path(__file__).parent
GOLDEN = TESTS / "golden" / "sample_site"


def build_sample(out: Path) -> None:
    sys.path.insert(0, str(TESTS.parent))
    from sitegen.commands.build import BuildOptions, build

    site = Path(tempfile.mkdtemp()) / "site"
    shutil.copytree(TESTS / "sample_site", site)
    build(BuildOptions(site_dir=site, out_dir=out, pages_only=True, jobs=1))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "build"
        build_sample(out)
        shutil.rmtree(GOLDEN, ignore_errors=True)
        shutil.copytree(out, GOLDEN, ignore=shutil.ignore_patterns(".sitegen"))
    print(f"wrote {GOLDEN}")


if __name__ == "__main__":
    main()
