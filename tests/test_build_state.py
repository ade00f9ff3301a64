"""The build state vouches for every output file: what is missing, altered or half-written
by a build that failed or died is built again, and the result equals a clean build."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import output_files
from test_crash_safety import _many_records

ZOE = "0a1b2c3d4e5f40718293a4b5c6d7e8f9"  # awards.csv, line 2
CSV = "credentials_data/awards.csv"
KINDS = ("pdf", "signature", "pdf_hash", "statement", "share_image", "credential", "assertion", "api", "page")


def build_json(sitegen, site, out, *extra):
    result = sitegen("build", "--site", site, "--out", out, "--json", *extra)
    return result, (json.loads(result.out) if result.out.strip() else None)


def generated(report) -> dict[str, str]:
    return {u: c["reason"] for u, c in report["credentials"].items() if c["state"] == "generated"}


def output_path(out, kind: str, uuid: str = ZOE):
    from sitegen.plan.state import BuildState
    from sitegen.write.credential import output_paths

    return out / output_paths(uuid, BuildState.load(out).credentials[uuid])[kind]


def sharing(out, kind: str, uuid: str = ZOE) -> set[str]:
    """The credentials whose output `kind` is the same file as `uuid`'s (a shared share card)."""
    from sitegen.plan.state import BuildState
    from sitegen.write.credential import output_paths

    credentials = BuildState.load(out).credentials
    mine = output_paths(uuid, credentials[uuid])[kind]
    return {u for u, entry in credentials.items() if output_paths(u, entry).get(kind) == mine}


@pytest.fixture(scope="module")
def signed_build(tmp_path_factory, gpg_key):
    """One signed build of the sample site, copied for each test that damages it."""
    from conftest import SAMPLE_SITE

    root = tmp_path_factory.mktemp("signed")
    site = root / "site"
    shutil.copytree(SAMPLE_SITE, site, ignore=shutil.ignore_patterns("build", ".dev-gnupg"))
    env = {**os.environ, "SITEGEN_GNUPGHOME": str(gpg_key.home), "SITEGEN_SIGNING_KEY": gpg_key.fingerprint}
    done = subprocess.run([sys.executable, "-m", "sitegen", "build", "--site", str(site), "--out",
                           str(root / "build")], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return root


@pytest.fixture
def copy_of_build(signed_build, tmp_path, signing_env):
    site, out = tmp_path / "site", tmp_path / "build"
    shutil.copytree(signed_build / "site", site)
    shutil.copytree(signed_build / "build", out)  # copy2: modification times kept
    return site, out


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("damage", ["deleted", "altered"])
def test_a_deleted_or_altered_output_is_built_again(copy_of_build, sitegen, kind, damage):
    site, out = copy_of_build
    path = output_path(out, kind)
    original = path.read_bytes()
    if damage == "deleted":
        path.unlink()
    else:
        path.write_bytes(original[:-40] + b"tampered" + original[-32:])

    result, report = build_json(sitegen, site, out)
    assert result.code == 0, result.err
    # A shared file (the share card) is rebuilt by every credential that shows it.
    expected = sharing(out, kind) if kind == "share_image" else {ZOE}
    assert len(expected) >= 1
    assert generated(report) == dict.fromkeys(expected, "missing" if damage == "deleted" else "altered")
    assert path.read_bytes() == original


def test_an_output_touched_with_the_same_bytes_is_not_rebuilt(copy_of_build, sitegen):
    site, out = copy_of_build
    page = output_path(out, "page")
    os.utime(page, ns=(1, 1))  # a checkout or a copy without times
    first = build_json(sitegen, site, out)[1]
    second = build_json(sitegen, site, out)[1]
    assert generated(first) == {} and generated(second) == {}


@pytest.mark.slow
def test_revert_after_a_failed_build_equals_a_clean_build(copy_of_build, sitegen, tmp_path):
    """The credential's record moves to a JSONL file with a changed name and a username that
    cannot be written (a lone surrogate); the build fails; the record is put back."""
    site, out = copy_of_build
    csv = site / CSV
    original = csv.read_text(encoding="utf-8")
    lines = original.splitlines(keepends=True)
    zoe_line = next(line for line in lines if line.startswith(ZOE))
    csv.write_text("".join(line for line in lines if line is not zoe_line), encoding="utf-8")
    moved = {"uuid": ZOE, "username": "\ud800", "full_name": "Someone Else Entirely",
             "credential_type": "course-certificate", "course_id": "course-v1:AcmeX+CS101+2026",
             "certificate_type": "verified", "status": "awarded", "issued": "2026-03-14"}
    (site / "credentials_data/moved.jsonl").write_text(json.dumps(moved) + "\n", encoding="utf-8")
    assert build_json(sitegen, site, out)[0].code != 0

    (site / "credentials_data/moved.jsonl").unlink()
    csv.write_text(original, encoding="utf-8")
    result, _ = build_json(sitegen, site, out)
    assert result.code == 0, result.err
    clean = tmp_path / "clean"
    assert build_json(sitegen, site, clean)[0].code == 0
    assert output_files(out) == output_files(clean)


@pytest.mark.slow
def test_revert_after_a_write_that_failed_half_way_equals_a_clean_build(copy_of_build, sitegen, tmp_path):
    """The PDF, its signature and hash entry are written, then the statement cannot be."""
    site, out = copy_of_build
    csv = site / CSV
    original = csv.read_text(encoding="utf-8")
    csv.write_text(original.replace("Zoë Ó Súilleabháin", "Zoë Renamed"), encoding="utf-8")
    statement = output_path(out, "statement")
    statement.unlink()
    (statement / "blocker").mkdir(parents=True)  # a folder where the file must go
    result, report = build_json(sitegen, site, out)
    assert result.code != 0 and ZOE in report["credentials"]
    assert "Zoë Renamed" not in output_path(out, "page").read_text(encoding="utf-8")  # the page comes last

    shutil.rmtree(statement)
    csv.write_text(original, encoding="utf-8")
    result, report = build_json(sitegen, site, out)
    assert result.code == 0, result.err
    assert generated(report) == {ZOE: "uncertain"}
    clean = tmp_path / "clean"
    assert build_json(sitegen, site, clean)[0].code == 0
    assert output_files(out) == output_files(clean)


@pytest.mark.slow
def test_kill_during_a_rename_of_every_name_then_revert_equals_a_clean_build(sample_site, sitegen, tmp_path):
    _many_records(sample_site, count=2000)
    out, clean = tmp_path / "out", tmp_path / "clean"
    assert sitegen("build", "--site", sample_site, "--out", out, "--pages-only").code == 0
    bulk = sample_site / "credentials_data/bulk.csv"
    original = bulk.read_text(encoding="utf-8")
    bulk.write_text(original.replace("Learner", "Renamed"), encoding="utf-8")
    watched = out / "credentials" / original.splitlines()[300].split(",")[0] / "index.html"

    process = subprocess.Popen(
        [sys.executable, "-m", "sitegen", "build", "--site", str(sample_site), "--out", str(out),
         "--pages-only", "--jobs", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if "Renamed" in watched.read_text(encoding="utf-8"):
            break
        time.sleep(0.002)
    assert process.poll() is None, "the build finished before it could be killed"
    os.kill(process.pid, signal.SIGKILL)  # the parent only: its workers must die with it
    process.wait()

    bulk.write_text(original, encoding="utf-8")
    result = sitegen("build", "--site", sample_site, "--out", out, "--pages-only")
    assert result.code == 0, result.err
    assert sitegen("build", "--site", sample_site, "--out", clean, "--pages-only").code == 0
    assert output_files(out) == output_files(clean)
    assert _workers_of(process.pid) == []


def _workers_of(pid: int) -> list[str]:
    """Live processes of the killed build's process group: its workers, if they outlived it."""
    time.sleep(0.5)
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pid and fields[0] != "Z":
                found.append(entry)
    return found


@pytest.mark.slow
@pytest.mark.parametrize("change", ["revoked", "purged"])
def test_with_the_state_lost_nothing_of_a_withdrawn_pdf_is_left(copy_of_build, sitegen, change):
    """A CI cache that keeps build/ but not build/.sitegen/: the files of a revoked or purged
    credential are still found and removed."""
    site, out = copy_of_build
    old_pdf_hash = output_path(out, "pdf_hash")
    csv = site / CSV
    if change == "revoked":
        csv.write_text(csv.read_text(encoding="utf-8").replace(",awarded,2026-03-14,,,", ",revoked,2026-03-14,,Error,"),
                       encoding="utf-8")
    else:
        csv.write_text("".join(line for line in csv.read_text(encoding="utf-8").splitlines(keepends=True)
                               if not line.startswith(ZOE)), encoding="utf-8")
    shutil.rmtree(out / ".sitegen")

    result, _ = build_json(sitegen, site, out)
    assert result.code == 0, result.err
    folder = out / "credentials" / ZOE
    assert not (folder / "certificate.pdf").exists() and not (folder / "certificate.pdf.sig").exists()
    assert not old_pdf_hash.exists()


def test_a_state_entry_that_is_not_a_credential_id_is_never_used_as_a_path(copy_of_build, sitegen, tmp_path):
    # build/ may come back from a shared CI cache: its state is data, not a list of paths.
    site, out = copy_of_build
    victim = out.parent / "victim.txt"
    victim.write_text("keep me")
    state_file = out / ".sitegen" / "state.json"
    state = json.loads(state_file.read_text())
    zoe = next(row for row in state["credentials"] if row[0] == ZOE)  # [uuid, inputs, ...]
    state["credentials"].append(["../../victim.txt", *zoe[1:]])
    state_file.write_text(json.dumps(state))

    result, report = build_json(sitegen, site, out)
    assert result.code == 0, result.err
    assert generated(report) == {}  # the real entries still vouch for their outputs
    assert victim.read_text() == "keep me"
    from sitegen.plan.state import BuildState

    assert "../../victim.txt" not in BuildState.load(out).credentials


def test_a_state_digest_naming_a_file_elsewhere_is_never_followed(copy_of_build, sitegen, tmp_path):
    """The PDF's digest names its hash-index entry: one that is not a digest names no file."""
    site, out = copy_of_build
    victim = tmp_path / "victim"
    victim.write_bytes(b"keep me")
    state_file = out / ".sitegen" / "state.json"
    state = json.loads(state_file.read_text())
    row = next(row for row in state["credentials"] if row[0] == ZOE)  # [uuid, inputs, ..., kind, sha256, size, mtime]
    pdf, pdf_hash = (4 + 4 * row[4::4].index(kind) for kind in ("pdf", "pdf_hash"))
    row[pdf + 1] = os.path.relpath(victim, out / "api/v1/pdf-sha256")
    row[pdf_hash + 2], row[pdf_hash + 3] = victim.stat().st_size, victim.stat().st_mtime_ns  # as if it were
    state_file.write_text(json.dumps(state))

    result, report = build_json(sitegen, site, out)
    assert result.code == 0, result.err
    assert generated(report) == {ZOE: "missing"}
    assert victim.read_bytes() == b"keep me"
