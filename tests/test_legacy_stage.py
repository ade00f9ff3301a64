"""The legacy stage at size: incremental (only new and changed certificates rendered, a theme
change renders them all), crash-safe, split by shard, in worker processes, a course's page
rendered once and stamped per certificate."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import sitegen.legacy.export as export_module
import sitegen.legacy.stage as stage
from conftest import output_files
from legacyexport import EXPORT_NAME, V1, V2, V3, V4, add_rows, export_with, legacy_site, page
from sitegen.commands.build import BuildOptions, build
from sitegen.errors import InputProblems
from sitegen.layout import LEGACY_ROWS_DIR, LEGACY_STATE_FILE, LEGACY_URL_MAP_FILE
from sitegen.legacy.export import load_legacy
from sitegen.legacy.gate import LEGACY_PURGE_LIST
from sitegen.legacy.pages import PAGE_TEMPLATE, LegacyRenderer, legacy_pages
from sitegen.load.config import load_site
from sitegen.render.theme import Theme
from sitegen.shards import Shard


def _build(site: Path, **options):
    report = build(BuildOptions(site, pages_only=True, jobs=1, **options))
    assert report.ok
    return report.legacy


def _rendered(report) -> dict[str, int]:
    return dict(report.generated)


def _preview(site: Path) -> Path:
    return site / "build" / ".preview"


def _template(site: Path) -> Path:
    return site / "themes" / "default" / "templates" / PAGE_TEMPLATE


# -- incremental -------------------------------------------------------------------------


def test_second_build_renders_nothing(sample_site, monkeypatch):
    site = legacy_site(sample_site)
    assert _rendered(_build(site)) == {"new": 4}

    def no_render(self, certificate):
        raise AssertionError(f"rendered {certificate.verify_uuid} again")

    monkeypatch.setattr(LegacyRenderer, "render", no_render)
    again = _build(site)
    assert (again.unchanged, _rendered(again), again.removed) == (4, {}, 0)


def test_a_changed_row_renders_only_itself_and_a_theme_change_renders_them_all(sample_site):
    site = legacy_site(sample_site)
    _build(site)
    (site / EXPORT_NAME).write_text(export_with([("name", "Lee, Anne")]), encoding="utf-8")
    changed = _build(site)
    assert (_rendered(changed), changed.unchanged) == ({"changed": 1}, 3)
    assert "Lee, Anne" in page(_preview(site), V1)

    template = _template(site)
    template.write_text(template.read_text(encoding="utf-8").replace("issued before this site",
                                                                     "issued by the earlier system"),
                        encoding="utf-8")
    assert _rendered(_build(site)) == {"theme": 4}
    assert all("issued by the earlier system" in page(_preview(site), v, name)
               for v in (V1, V2, V3, V4) for name in ("index.html", "valid.html", "verify.html"))


def test_a_course_title_in_site_yml_renders_that_course_only(sample_site):
    site = legacy_site(sample_site)
    _build(site)
    site_yml = site / "site.yml"
    site_yml.write_text(site_yml.read_text(encoding="utf-8").replace("Introduction to Computing",
                                                                     "Computing, an Introduction"),
                        encoding="utf-8")
    report = _build(site)
    assert (_rendered(report), report.unchanged) == ({"changed": 2}, 2)  # V1 and V4 are of that course
    assert "Computing, an Introduction" in page(_preview(site), V4)


def test_a_page_changed_or_deleted_in_the_output_is_written_again(sample_site):
    site = legacy_site(sample_site)
    _build(site)
    out = _preview(site)
    before = page(out, V2, "verify.html")
    (out / "cert" / V2 / "verify.html").unlink()
    (out / "cert" / V3 / "index.html").write_text("tampered", encoding="utf-8")
    # One stat per certificate: the link count of its page tells a page of its gone.
    assert _rendered(_build(site)) == {"altered": 2}
    assert page(out, V2, "verify.html") == before
    assert "فاطمة" in page(out, V3)


def test_the_three_pages_are_one_file_written_once(sample_site):
    site = legacy_site(sample_site)
    _build(site)
    folder = _preview(site) / "cert" / V1
    stats = [os.stat(folder / name) for name in ("index.html", "valid.html", "verify.html")]
    assert {s.st_ino for s in stats} == {stats[0].st_ino} and stats[0].st_nlink == 3


@pytest.mark.parametrize("rows_cache", ["kept", "gone"])
def test_a_deleted_export_removes_every_page_and_the_url_map(sample_site, rows_cache):
    site = legacy_site(sample_site)
    _build(site)
    (site / EXPORT_NAME).unlink()
    if rows_cache == "gone":  # then only the output folder says the project had legacy certificates
        shutil.rmtree(_preview(site) / LEGACY_ROWS_DIR)
    report = build(BuildOptions(site, pages_only=True, jobs=1))
    assert report.legacy is None or report.legacy.removed == 4
    out = _preview(site)
    assert not (out / "cert").exists() or not any((out / "cert").iterdir())
    assert not (out / LEGACY_URL_MAP_FILE).exists()


# -- a course's page rendered once --------------------------------------------------------

# A line added to the default template -> the frames made: one per course and distinction
# (3 in the sample), per course, distinction and mode (6) when it tests the mode, none when
# it computes with a certificate's own value (each page is then rendered in full).
TEMPLATES = [
    pytest.param(None, 3, id="the default theme"),
    pytest.param('<span title="{{ legacy.name }}">{{ legacy.name|e }}</span>', 3, id="printed, escaped"),
    pytest.param("{% if legacy.mode_label == 'Verified Certificate' %}ID checked{% endif %}", 6,
                 id="a test on the course's mode"),
    pytest.param("{{ legacy.name|upper }}", 0, id="a filter on the name"),
    pytest.param("{% if legacy.name|length > 8 %}long{% endif %}", 0, id="a test on the name"),
    pytest.param("{{ 'Holder: ' ~ legacy.name }}", 0, id="a concatenation"),
    pytest.param("{{ legacy.issued_display.split()[0] }}", 0, id="a method of a value"),
    pytest.param("{{ page_path }}", 0, id="the page's own path"),
    pytest.param("{{ legacy.name|e|lower }}", 0, id="a filter after escaping"),
]


@pytest.mark.parametrize(("extra", "frames"), TEMPLATES)
def test_a_stamped_page_is_the_template_s_own_render(sample_site, extra, frames):
    site = legacy_site(sample_site)
    if extra:
        template = _template(site)
        template.write_text(template.read_text(encoding="utf-8").replace(
            "<p>This is to certify that</p>", f"<p>This is to certify that</p><p>{extra}</p>"), encoding="utf-8")
    add_rows(site, 6)
    theme = Theme(load_site(site))
    renderer = LegacyRenderer(theme)
    for certificate in load_legacy(site).certificates:
        assert renderer.render(certificate).files == legacy_pages(theme, certificate), certificate.verify_uuid
    assert len([f for f in renderer._frames.values() if f is not None]) == frames


# -- sharding and worker processes --------------------------------------------------------


def test_shards_split_the_legacy_certificates_by_verify_uuid(sample_site, tmp_path):
    site = legacy_site(sample_site)
    uuids = [V1, V2, V3, V4, *add_rows(site, 12)]
    folders = {}
    for k in (1, 2):
        out = tmp_path / f"shard-{k}"
        report = _build(site, out_dir=out, shard=Shard(k, 2))
        folders[k] = {p.name for p in (out / "cert").iterdir()}
        assert folders[k] == {u for u in uuids if Shard(k, 2).owns(u)}
        assert report.other_shards == len(uuids) - len(folders[k])
    assert folders[1] | folders[2] == set(uuids) and not folders[1] & folders[2]
    # A whole build's output made a shard's: the other shard's pages go.
    whole = tmp_path / "whole"
    _build(site, out_dir=whole)
    assert _build(site, out_dir=whole, shard=Shard(2, 2)).removed == len(folders[1])
    assert {p.name for p in (whole / "cert").iterdir()} == folders[2]


def test_worker_processes_make_the_same_pages(sample_site, tmp_path, monkeypatch):
    site = legacy_site(sample_site)
    add_rows(site, 10)
    monkeypatch.setattr(stage, "CERTIFICATES_PER_TASK", 3)
    processes = tmp_path / "pids"
    run = stage.LegacyJob.run

    def run_and_say_where(self, batch):
        with open(processes, "a") as handle:
            handle.write(f"{os.getpid()}\n")
        return run(self, batch)

    monkeypatch.setattr(stage.LegacyJob, "run", run_and_say_where)
    parallel = build(BuildOptions(site, pages_only=True, jobs=2, out_dir=tmp_path / "two")).legacy
    assert str(os.getpid()) not in processes.read_text().split()  # rendered in the workers
    _build(site, out_dir=tmp_path / "one")
    assert _rendered(parallel) == {"new": 14}
    assert output_files(tmp_path / "two") == output_files(tmp_path / "one")


# -- crash safety ---------------------------------------------------------------------------


def test_a_build_interrupted_mid_stage_is_followed_by_a_correct_one(sample_site, tmp_path, monkeypatch):
    """The state saved part-way (as every STATE_SAVE_INTERVAL) holds only what was written."""
    site = legacy_site(sample_site)
    add_rows(site, 30)
    out = tmp_path / "out"
    _build(site, out_dir=out)
    template = _template(site)
    template.write_text(template.read_text(encoding="utf-8") + "\n<!-- a new theme -->\n", encoding="utf-8")
    monkeypatch.setattr(stage, "CERTIFICATES_PER_TASK", 4)
    monkeypatch.setattr(stage, "STATE_SAVE_INTERVAL", -1)  # saved after every batch
    written = []
    original = stage._write_pages

    def crash(tree, files):
        if len(written) == 13:
            raise KeyboardInterrupt  # as a kill: nothing after this runs
        written.append(files)
        original(tree, files)

    monkeypatch.setattr(stage, "_write_pages", crash)
    with pytest.raises(KeyboardInterrupt):
        build(BuildOptions(site, pages_only=True, jobs=1, out_dir=out))
    monkeypatch.setattr(stage, "_write_pages", original)
    report = _build(site, out_dir=out)
    assert sum(report.generated.values()) >= 34 - 13
    _build(site, out_dir=tmp_path / "clean")
    assert output_files(out) == output_files(tmp_path / "clean")
    saved = json.loads((out / LEGACY_STATE_FILE).read_text())
    assert not any(entry[3] for entry in saved["certificates"].values())  # nothing left uncertain


@pytest.mark.slow
def test_a_build_killed_in_the_legacy_stage_is_followed_by_a_clean_one(sample_site, sitegen, tmp_path):
    site = legacy_site(sample_site)
    add_rows(site, 4000)
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    process = subprocess.Popen(
        [sys.executable, "-m", "sitegen", "build", "--site", str(site), "--out", str(killed), "--pages-only",
         "--jobs", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if (killed / "cert").is_dir() and len(os.listdir(killed / "cert")) >= 1000:
            break
        time.sleep(0.005)
    assert process.poll() is None, "the build finished before it could be killed; make the export bigger"
    os.killpg(process.pid, signal.SIGKILL)  # the workers die too, as on a lost CI machine
    process.wait()

    assert sitegen("build", "--site", site, "--out", killed, "--pages-only").code == 0
    assert sitegen("build", "--site", site, "--out", clean, "--pages-only").code == 0
    assert output_files(killed) == output_files(clean)
    assert (killed / LEGACY_URL_MAP_FILE).read_bytes() == (clean / LEGACY_URL_MAP_FILE).read_bytes()
    assert not [p for p in killed.rglob(".*") if ".tmp-" in p.name]


# -- the first read, cached by the export's bytes --------------------------------------------


SKIPPED = {"deleted": 1, "error": 1, "notpassing": 1, "unavailable": 1}


def _rows_cache(site: Path) -> list[Path]:
    return sorted((_preview(site) / LEGACY_ROWS_DIR).iterdir())


def test_a_no_op_build_does_not_parse_an_unchanged_export(sample_site, monkeypatch):
    site = legacy_site(sample_site)
    _build(site)
    assert len(_rows_cache(site)) == 1

    def no_parse(*args):
        raise AssertionError("the export was parsed again")

    monkeypatch.setattr(export_module, "read_records", no_parse)
    report = _build(site)
    assert report.unchanged == 4 and dict(report.skipped) == SKIPPED


@pytest.mark.parametrize("tamper", [
    lambda text: text.replace("D a1", "D ../"),  # a verify_uuid that is a path
    lambda text: text.replace("D a1000000000000000000000000000001 0", "D a1000000000000000000000000000001 9"),
    lambda text: text[:-20],  # cut short
    lambda text: "",
])
def test_a_cache_file_not_as_written_is_ignored_and_the_export_read_again(sample_site, tamper):
    site = legacy_site(sample_site)
    _build(site)
    before = output_files(_preview(site))
    cache = _rows_cache(site)[0]
    cache.write_text(tamper(cache.read_text(encoding="utf-8")), encoding="utf-8")
    report = _build(site)
    assert report.unchanged == 4 and output_files(_preview(site)) == before
    assert dict(report.skipped) == SKIPPED


def test_a_purged_row_in_a_cached_export_is_refused_still(sample_site):
    site = legacy_site(sample_site)
    _build(site)
    with open(site / LEGACY_PURGE_LIST, "w", encoding="utf-8") as handle:  # listed by hand, the row kept
        handle.write(f"{V3} 2026-11-22\n{'a6' + '0' * 29 + '6'} 2026-11-22\n")
    with pytest.raises(InputProblems) as raised:
        _build(site)
    assert [str(p).split(":", 3)[:3] for p in raised.value.problems] == [
        [EXPORT_NAME, "4", " verify_uuid"], [EXPORT_NAME, "7", " verify_uuid"]]  # a downloadable and a deleted row
