"""Behaviours a user relies on that no other test pinned down.

Each test here was checked to fail when the behaviour it names is removed from sitegen.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import output_files

HONOR_UUID = "1b2c3d4e5f6a41829304b5c6d7e8f90a"  # 王小明, the only honor certificate in the sample
ZOE_UUID = "0a1b2c3d4e5f40718293a4b5c6d7e8f9"
EXPIRING_UUID = "6a7b8c9d0e1f46d7e859a0b1c2d3e4f5"  # Olga: issued 2024-01-10, expires 2025-01-10
HASHES = "api/v1/pdf-sha256"


def _build(site: Path, out: Path | None = None, **options):
    """The build() API, as `sitegen build` calls it; one process, no workers."""
    from sitegen.commands.build import BuildOptions, build

    return build(BuildOptions(site_dir=site, out_dir=out, jobs=1, **options))


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _api(out: Path, uuid: str) -> dict:
    return json.loads((out / "api/v1/credentials" / uuid).read_text(encoding="utf-8"))


def _published_pdf_hashes(out: Path) -> set[str]:
    return {hashlib.sha256(p.read_bytes()).hexdigest() for p in (out / "credentials").glob("*/certificate.pdf")}


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


# -- 1. --clean never deletes the project, a folder holding it, or the home folder -------------


def _refused(result, out: Path, words: str) -> None:
    assert result.code != 0
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err  # one clear line, no traceback
    assert str(out) in lines[0] and words in lines[0], lines[0]


def test_clean_refuses_to_delete_the_project_itself(sample_site, sitegen):
    before = _tree(sample_site)
    result = sitegen("build", "--site", sample_site, "--out", sample_site, "--clean", "--pages-only")
    _refused(result, sample_site.resolve(), "project folder")
    assert _tree(sample_site) == before  # not a file deleted, not a file added


def test_clean_refuses_to_delete_a_folder_that_holds_the_project(tmp_path, sitegen):
    from conftest import SAMPLE_SITE

    parent = tmp_path / "projects"
    site = parent / "certificates"
    shutil.copytree(SAMPLE_SITE, site, ignore=shutil.ignore_patterns("build", ".dev-gnupg"))
    (parent / "other-project").mkdir()
    (parent / "other-project" / "notes.txt").write_text("someone else's work\n")
    before = _tree(parent)
    result = sitegen("build", "--site", site, "--out", parent, "--clean", "--pages-only")
    _refused(result, parent.resolve(), "project folder")
    assert _tree(parent) == before


def test_clean_refuses_to_delete_the_home_folder(sample_site, sitegen, tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / "Documents").mkdir(parents=True)
    (home / "Documents" / "thesis.txt").write_text("four years of work\n")
    monkeypatch.setenv("HOME", str(home))  # Path.home(); never the real one
    assert Path.home() == home
    before = _tree(home)
    result = sitegen("build", "--site", sample_site, "--out", home, "--clean", "--pages-only")
    _refused(result, home.resolve(), "home folder")
    assert _tree(home) == before


# -- 2, 3. the PDF hash index lists exactly the published PDFs --------------------------------


@pytest.mark.slow
def test_changed_pdf_replaces_its_hash_index_entry(sample_site, signing_env):
    out = sample_site / "build"
    assert _build(sample_site).ok
    old = _api(out, HONOR_UUID)["verification"]["pdf_sha256"]
    assert json.loads((out / HASHES / old).read_text()) == {"uuid": HONOR_UUID}

    _edit(sample_site / "credentials_data/awards.csv", "王小明", "王小红")  # a corrected name: a new PDF
    report = _build(sample_site)
    assert set(report.generated) == {HONOR_UUID}
    new = _api(out, HONOR_UUID)["verification"]["pdf_sha256"]
    assert new != old
    assert not (out / HASHES / old).exists()  # the superseded PDF no longer verifies by its bytes
    assert json.loads((out / HASHES / new).read_text()) == {"uuid": HONOR_UUID}
    assert set(os.listdir(out / HASHES)) == _published_pdf_hashes(out)


@pytest.mark.slow
def test_purged_record_takes_its_hash_index_entry_with_it(sample_site, signing_env):
    out = sample_site / "build"
    assert _build(sample_site).ok
    gone = _api(out, ZOE_UUID)["verification"]["pdf_sha256"]
    assert (out / HASHES / gone).is_file()

    awards = sample_site / "credentials_data/awards.csv"
    lines = awards.read_text(encoding="utf-8").splitlines(True)
    awards.write_text("".join(line for line in lines if ZOE_UUID not in line), encoding="utf-8")
    report = _build(sample_site)
    assert report.removed == [ZOE_UUID]
    assert not (out / HASHES / gone).exists()  # a purged learner cannot be found by their PDF
    assert not (out / "credentials" / ZOE_UUID).exists()
    assert set(os.listdir(out / HASHES)) == _published_pdf_hashes(out)


# -- 4. an expiry date passing rebuilds the certificate -----------------------------------------


def test_certificate_expiring_between_builds_is_rebuilt_as_expired(sample_site):
    out = sample_site / "build/.preview"  # a pages-only build is a preview
    before_expiry = _build(sample_site, pages_only=True, today=dt.date(2024, 6, 1))
    assert EXPIRING_UUID in before_expiry.generated
    assert _api(out, EXPIRING_UUID)["verification"]["status"] == "valid"
    assert 'class="status status-valid"' in (out / "credentials" / EXPIRING_UUID / "index.html").read_text()

    after_expiry = _build(sample_site, pages_only=True, today=dt.date(2025, 1, 11))
    assert set(after_expiry.generated) == {EXPIRING_UUID}  # nothing else's status changed
    assert _api(out, EXPIRING_UUID)["verification"]["status"] == "expired"
    page = (out / "credentials" / EXPIRING_UUID / "index.html").read_text()
    assert 'class="status status-expired">Expired' in page


# -- 5. a long build saves its state as it goes ---------------------------------------------------

# `sitegen build` with the state saved after every batch instead of every 20 seconds: the
# interval has always passed, so a kill at any moment is a kill after a save.
_FREQUENT_SAVES = """
import sys
import sitegen.commands.build as build_module
assert hasattr(build_module, "STATE_SAVE_INTERVAL"), "the periodic save interval was renamed"
build_module.STATE_SAVE_INTERVAL = 0.0
from sitegen.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _bulk_records(site: Path, count: int) -> None:
    rng = random.Random(11)
    with open(site / "credentials_data/bulk.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["uuid", "username", "full_name", "credential_type", "course_id",
                         "certificate_type", "status", "issued"])
        for i in range(count):
            writer.writerow([f"{rng.getrandbits(128):032x}", f"u{i}", f"Learner {i}", "course-certificate",
                             "course-v1:AcmeX+CS101+2026", "verified", "awarded", "2026-01-02"])


@pytest.mark.slow
def test_build_killed_after_a_state_save_is_not_redone(sample_site, sitegen, tmp_path):
    count, kill_after = 1500, 500
    _bulk_records(sample_site, count)
    out, log = tmp_path / "out", tmp_path / "killed-build.log"
    with open(log, "wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-c", _FREQUENT_SAVES, "build", "--site", str(sample_site), "--out", str(out),
             "--pages-only", "--jobs", "1"],
            stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            folder = out / "credentials"
            if folder.is_dir() and len(os.listdir(folder)) >= kill_after:
                break
            time.sleep(0.005)
        assert process.poll() is None, "the build ended before it could be killed: " + log.read_text()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)  # as on a lost CI machine
        process.wait()

    result = sitegen("build", "--site", sample_site, "--out", out, "--pages-only", "--jobs", "1", "--json")
    assert result.code == 0, result.err
    counts = json.loads(result.out)["counts"]
    # What was written before the last save is vouched for: only the last batch or so is redone.
    assert counts["unchanged"] >= kill_after - 100, counts
    assert counts["generated"] + counts["unchanged"] == count + 8


# -- 6. a new PDF toolchain (library, HarfBuzz subsetting, fonts) rebuilds the PDFs ---------------


def _changed_package_version(monkeypatch, package: str) -> None:
    from importlib import metadata

    real = metadata.version
    monkeypatch.setattr(metadata, "version", lambda name: "999.0" if name.lower() == package else real(name))
    module = sys.modules.get(package)
    if module is not None and hasattr(module, "__version__"):
        monkeypatch.setattr(module, "__version__", "999.0")


@pytest.mark.parametrize("change", ["weasyprint", "pydyf", "fonttools", "harfbuzz subsetting", "fonts"])
def test_renderer_fingerprint_follows_the_pdf_toolchain(monkeypatch, change):
    from sitegen.render import fonts
    from sitegen.render.pdf import renderer_fingerprint

    before = renderer_fingerprint()
    if change == "harfbuzz subsetting":
        available = fonts.harfbuzz_subset_available()
        monkeypatch.setattr(fonts, "harfbuzz_subset_available", lambda: not available)
    elif change == "fonts":
        real = fonts.fonts_fingerprint()
        monkeypatch.setattr(fonts, "fonts_fingerprint", lambda: hashlib.sha256(real.encode() + b"+1").hexdigest())
    else:
        _changed_package_version(monkeypatch, change)
    assert renderer_fingerprint() != before


def test_fonts_fingerprint_sees_a_newly_installed_font(tmp_path, monkeypatch):
    """The real fc-list: a font added to fontconfig's folders changes the digest."""
    from sitegen.render import fonts

    installed = sorted(Path("/usr/share/fonts").rglob("*.ttf"))
    assert installed, "no TrueType font installed (./dev installs the Noto fonts)"
    system_font = installed[0]
    extra = tmp_path / "fonts"
    extra.mkdir()
    shutil.copy(system_font, extra / "NewlyInstalled-Regular.ttf")
    config = tmp_path / "fonts.conf"
    config.write_text(f"""<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">
<fontconfig><include ignore_missing="yes">/etc/fonts/fonts.conf</include><dir>{extra}</dir>
<cachedir>{tmp_path / "cache"}</cachedir></fontconfig>
""")
    fonts.fonts_fingerprint.cache_clear()
    try:
        before = fonts.fonts_fingerprint()
        monkeypatch.setenv("FONTCONFIG_FILE", str(config))
        fonts.fonts_fingerprint.cache_clear()
        assert fonts.fonts_fingerprint() != before
    finally:
        monkeypatch.undo()
        fonts.fonts_fingerprint.cache_clear()


@pytest.mark.slow
def test_new_fonts_rebuild_every_pdf(sample_site, signing_env, monkeypatch):
    from sitegen.render import fonts

    out = sample_site / "build"
    assert _build(sample_site).ok
    with_pdf = {p.parent.name for p in (out / "credentials").glob("*/certificate.pdf")}
    assert len(with_pdf) == 7  # all but the revoked one
    assert _build(sample_site).generated == {}

    real = fonts.fonts_fingerprint()
    monkeypatch.setattr(fonts, "fonts_fingerprint", lambda: hashlib.sha256(real.encode() + b"+1").hexdigest())
    report = _build(sample_site)
    assert with_pdf <= set(report.generated)
    assert report.ok and _published_pdf_hashes(out) == set(os.listdir(out / HASHES))


# -- 7. an old fingerprinted asset does not linger in build/assets --------------------------------


def _assets_after_css_change(site: Path, lose_state: bool) -> tuple[list[str], str]:
    out = site / "build/.preview"  # a pages-only build is a preview
    assert _build(site, pages_only=True).ok
    (old,) = [p for p in output_files(out) if p.startswith("assets/style.")]
    if lose_state:
        shutil.rmtree(out / ".sitegen")  # e.g. a CI cache that keeps build/ but not its dot folders
    css = site / "themes/plain/static/style.css"
    css.write_text(css.read_text() + "h1 { color: navy; }\n")
    assert _build(site, pages_only=True).ok
    linked = re.search(r'href="\.\./\.\./(assets/style\.[^"]+)"',
                       (out / "credentials" / ZOE_UUID / "index.html").read_text())[1]
    assert linked != old and (out / linked).is_file()
    return sorted(p for p in output_files(out) if p.startswith("assets/style.")), linked


def test_changed_asset_leaves_only_its_new_fingerprint(sample_site):
    assets, linked = _assets_after_css_change(sample_site, lose_state=False)
    assert assets == [linked]


def test_changed_asset_leaves_only_its_new_fingerprint_even_without_build_state(sample_site):
    assets, linked = _assets_after_css_change(sample_site, lose_state=True)
    assert assets == [linked]


def test_deleted_content_page_disappears(sample_site):
    """Its page goes too (the list of shared files does this; the stale-asset sweep only sees assets/)."""
    out = sample_site / "build/.preview"  # a pages-only build is a preview
    assert _build(sample_site, pages_only=True).ok
    assert (out / "how-to-verify/index.html").is_file()
    (sample_site / "content/how-to-verify.md").unlink()
    assert _build(sample_site, pages_only=True).ok
    assert not (out / "how-to-verify/index.html").exists()
