"""The 1EdTech Open Badges 2.0 validator, run from the tests in its own venv (see run_validator.py)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

HERE = Path(__file__).parent
REPO = HERE.parent.parent
DRIVER = HERE / "run_validator.py"
# The validator's venv: tests/ob2/install-validator makes it (./dev setup runs it).
PYTHON_VARIABLE = "SITEGEN_OB2_VALIDATOR_PYTHON"
DEFAULT_VENV = REPO / ".venv-ob2"
CONTEXT_PATH = "_test/openbadges-v2-context.json"  # where the test serves the validator's copy of the context


def validator_python() -> Path:
    python = Path(os.environ.get(PYTHON_VARIABLE) or DEFAULT_VENV / "bin/python")
    assert python.is_file(), (f"the Open Badges 2.0 validator is not installed at {python}: run "
                              f"tests/ob2/install-validator (./dev setup), or set {PYTHON_VARIABLE}")
    return python


def write_context(root: Path) -> None:
    """The validator's own copy of https://w3id.org/openbadges/v2, into the served folder."""
    done = subprocess.run([validator_python(), DRIVER, "--dump-context"], capture_output=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    (root / CONTEXT_PATH).parent.mkdir(parents=True, exist_ok=True)
    (root / CONTEXT_PATH).write_bytes(done.stdout)


def run_validator(base_url: str, jobs: list[dict]) -> dict:
    """{"results": the validator's answer to each job, "refused": URLs it tried off 127.0.0.1}."""
    done = subprocess.run([validator_python(), DRIVER, "--context-url", base_url + CONTEXT_PATH],
                          input=json.dumps(jobs), capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)

