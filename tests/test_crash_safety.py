"""A build killed with SIGKILL at any moment is followed by a build equal to a clean one."""

from __future__ import annotations

import csv
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from conftest import output_files

COUNT = 3000


def _many_records(site, count=COUNT):
    rng = random.Random(7)
    with open(site / "credentials_data/bulk.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["uuid", "username", "full_name", "credential_type", "course_id",
                         "certificate_type", "status", "issued"])
        for i in range(count):
            writer.writerow([f"{rng.getrandbits(128):032x}", f"u{i}", f"Learner {i} Ñandú", "course-certificate",
                             "course-v1:AcmeX+CS101+2026", "verified", "awarded", "2026-01-02"])


def _kill_part_way(site, out, after_pages):
    process = subprocess.Popen(
        [sys.executable, "-m", "sitegen", "build", "--site", str(site), "--out", str(out), "--pages-only",
         "--jobs", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    folder = out / "credentials"
    while time.monotonic() < deadline and process.poll() is None:
        if folder.is_dir() and len(os.listdir(folder)) >= after_pages:
            break
        time.sleep(0.005)
    assert process.poll() is None, "the build finished before it could be killed; make the corpus bigger"
    os.killpg(process.pid, signal.SIGKILL)  # the workers die too, as on a lost CI machine
    process.wait()


@pytest.mark.parametrize("after_pages", [1, 1500])
def test_build_after_sigkill_equals_clean_build(sample_site, sitegen, tmp_path, after_pages):
    _many_records(sample_site)
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    _kill_part_way(sample_site, killed, after_pages)

    result = sitegen("build", "--site", sample_site, "--out", killed, "--pages-only")
    assert result.code == 0, result.err
    assert sitegen("build", "--site", sample_site, "--out", clean, "--pages-only").code == 0

    assert output_files(killed) == output_files(clean)
    leftovers = [p for p in killed.rglob(".*") if ".tmp-" in p.name or ".removing-" in p.name]
    assert leftovers == []


def test_record_deleted_while_build_was_dead_is_removed(sample_site, sitegen, tmp_path):
    _many_records(sample_site)
    out = tmp_path / "out"
    _kill_part_way(sample_site, out, 1500)
    (sample_site / "credentials_data/bulk.csv").unlink()  # pages written by the killed build lose their record

    assert sitegen("build", "--site", sample_site, "--out", out, "--pages-only").code == 0
    assert len(os.listdir(out / "credentials")) == 8  # only the sample's own credentials remain


def test_the_state_says_uncertain_before_a_changed_credential_is_rewritten_and_a_new_one_costs_no_save(
        sample_site, sitegen, tmp_path, monkeypatch):
    """A credential about to be rewritten is marked uncertain in the saved state first; a new
    award has no entry to mark, so a build that only adds awards saves the state once, at the
    end (at 100k credentials each save is half a second)."""
    from sitegen.plan.state import BuildState

    out, awards = tmp_path / "out", sample_site / "credentials_data/awards.csv"
    zoe = "0a1b2c3d4e5f40718293a4b5c6d7e8f9"
    assert sitegen("build", "--site", sample_site, "--out", out, "--pages-only").code == 0
    saves = []  # at each save: whether Zoë's entry said uncertain
    save = BuildState.save
    monkeypatch.setattr(BuildState, "save", lambda state, folder: saves.append(
        state.credentials[zoe].uncertain) or save(state, folder))

    with awards.open("a", encoding="utf-8") as handle:
        handle.write("3d4e5f6a7b8c4394a516d7e8f90a1b2c,nova,Nova Novák,course-certificate,"
                     "course-v1:AcmeX+CS101+2026,verified,awarded,2026-03-16,,,\n")
    assert sitegen("build", "--site", sample_site, "--out", out, "--pages-only").code == 0
    assert saves == [False]

    saves.clear()
    awards.write_text(awards.read_text(encoding="utf-8").replace("Zoë Ó", "Zoë Ní"), encoding="utf-8")
    assert sitegen("build", "--site", sample_site, "--out", out, "--pages-only").code == 0
    assert saves == [True, False]
