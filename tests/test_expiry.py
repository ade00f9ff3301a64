"""Expiry: the build date is the clock. Once a credential's `expires` date has passed, the
next build says so everywhere, and touches nothing else."""

from __future__ import annotations

import datetime as dt
import json

import pytest

OLGA = "6a7b8c9d0e1f46d7e859a0b1c2d3e4f5"  # hand.yml: expires 2025-01-10


def build_on(site, day: dt.date):
    from sitegen.commands.build import BuildOptions, build

    return build(BuildOptions(site_dir=site, jobs=1, today=day))


@pytest.mark.slow
def test_a_credential_that_expires_says_so_everywhere_after_the_next_build(sample_site, signing_env, sitegen):
    build = sample_site / "build"
    folder = build / f"credentials/{OLGA}"
    assert build_on(sample_site, dt.date(2025, 1, 10)).ok  # its last valid day
    assert "Status: valid" in (folder / "statement.txt.asc").read_text(encoding="utf-8")

    report = build_on(sample_site, dt.date(2025, 1, 11))
    assert report.ok and set(report.generated) == {OLGA}  # only the one whose status moved
    assert "Status: expired" in (folder / "statement.txt.asc").read_text(encoding="utf-8")
    record = json.loads((build / f"api/v1/credentials/{OLGA}").read_text(encoding="utf-8"))
    assert record["verification"]["status"] == "expired"
    assert "Expired" in (folder / "index.html").read_text(encoding="utf-8")
    checked = sitegen("verify", folder / "certificate.pdf", "--build-dir", build, "--json")
    assert checked.code != 0 and json.loads(checked.out)["verdict"] == "expired"
