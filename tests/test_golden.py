"""The sample project, built in full with the default theme, gives exactly the golden tree.

tests/golden/sample_site holds every page, API record, statement, PDF text and signature
check of the sample as a user sees them, with the throw-away key's fingerprint and the PDF
hashes as placeholders (tests/update_golden.py says how). After an intended change:

    .venv/bin/python tests/update_golden.py
    git diff tests/golden
"""

from __future__ import annotations

import difflib
import json
import re

import pytest

from conftest import output_files
from update_golden import GOLDEN, build_golden

REGENERATE = ("If the change is intended, run `.venv/bin/python tests/update_golden.py` "
              "and review `git diff tests/golden`.")
SHOWN_DIFFS, SHOWN_LINES = 4, 60


@pytest.mark.slow  # one full build: about 3 s of PDFs and signatures, plus reading them back
def test_sample_site_matches_golden_tree(gpg_key, tmp_path):
    actual = build_golden(tmp_path, gpg_key.home, gpg_key.fingerprint)
    expected = output_files(GOLDEN)
    problems = [f"missing from the build: {p}" for p in sorted(expected.keys() - actual.keys())]
    problems += [f"not in tests/golden: {p}" for p in sorted(actual.keys() - expected.keys())]
    differing = sorted(p for p in expected.keys() & actual.keys() if expected[p] != actual[p])
    problems += [f"differs: {p}" for p in differing]
    if problems:
        diffs = [_diff(p, expected[p], actual[p]) for p in _one_per_kind(differing)[:SHOWN_DIFFS]]
        pytest.fail("\n".join([f"The sample build differs from {GOLDEN}:", *problems, *diffs, REGENERATE]),
                    pytrace=False)


def test_golden_tree_covers_what_users_get():
    """The expected tree itself: valid, expired and revoked credentials, every signature good,
    every PDF carrying its published credential.json."""
    files = output_files(GOLDEN)
    api = {p.rsplit("/", 1)[1]: json.loads(d) for p, d in files.items() if p.startswith("api/v1/credentials/")}
    assert {"valid", "expired", "revoked"} <= {record["verification"]["status"] for record in api.values()}
    for uuid, record in api.items():
        folder = f"credentials/{uuid}/"
        assert b"Good signature by KEY0KEY1" in files[folder + "statement.txt.asc"], uuid
        has_pdf = record["verification"]["status"] != "revoked"
        assert (folder + "certificate.pdf.txt" in files) == has_pdf == (folder + "certificate.pdf.sig" in files)
        if has_pdf:
            assert b"Good signature by KEY0KEY1" in files[folder + "certificate.pdf.sig"], uuid
            embedded = b"1: credential.json (the published credential.json, byte for byte)"
            assert embedded in files[folder + "certificate.pdf.txt"], uuid
    assert b"public only" in files["keys/signing-key.asc"]
    for page in ("index.html", "404.html", "keys/index.html", "verify/index.html", "how-to-verify/index.html"):
        assert page in files, page


def _one_per_kind(paths: list[str]) -> list[str]:
    """The first path of each kind (the same file of another credential is the same kind)."""
    kinds = {}
    for path in paths:
        kinds.setdefault(re.sub("[0-9a-f]{32}", "*", path), path)
    return list(kinds.values())


def _diff(path: str, expected: bytes, actual: bytes) -> str:
    """A short unified diff; one-line JSON is compared indented, so the changed field shows."""
    try:
        before, after = expected.decode("utf-8"), actual.decode("utf-8")
    except UnicodeDecodeError:
        return f"--- {path}: binary, {len(expected)} bytes expected, {len(actual)} bytes built"
    if path.startswith("api/"):
        try:
            before, after = (json.dumps(json.loads(t), indent=1, ensure_ascii=False, sort_keys=True)
                             for t in (before, after))
        except ValueError:
            pass
    lines = list(difflib.unified_diff(before.splitlines(), after.splitlines(),
                                      f"tests/golden/sample_site/{path}", f"built/{path}", lineterm="", n=2))
    if len(lines) > SHOWN_LINES:
        lines = lines[:SHOWN_LINES] + [f"... ({len(lines) - SHOWN_LINES} more diff lines)"]
    return "\n".join(lines)
