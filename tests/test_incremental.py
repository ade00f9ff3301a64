"""A rebuild costs what changed: the promises of the build state."""

from __future__ import annotations

import json

from conftest import output_files

NEW_ROW = ("8c9d0e1f2a3b48f9a07bc2d3e4f5a6b7,new,Nova Novák,course-certificate,"
           "course-v1:AcmeX+CS101+2026,verified,awarded,2026-08-01,,,0.75\n")
PREVIEW = "build/.preview"  # pages-only builds are previews, kept apart from build/
HONOR_UUID = "1b2c3d4e5f6a41829304b5c6d7e8f90a"  # the only honor certificate in the sample


def build(sitegen, site, *extra):
    result = sitegen("build", "--site", site, "--pages-only", "--json", *extra)
    assert result.code == 0, result.err
    return json.loads(result.out)


def generated(report):
    return {u for u, c in report["credentials"].items() if c["state"] == "generated"}


def test_second_build_builds_nothing(sample_site, sitegen):
    first = build(sitegen, sample_site)
    before = {p: (sample_site / PREVIEW / p).stat().st_mtime_ns for p in output_files(sample_site / PREVIEW)}
    second = build(sitegen, sample_site)
    assert first["counts"]["generated"] == 8
    assert second["counts"] == {"generated": 0, "unchanged": 8, "removed": 0, "errors": 0}
    assert second["site_files_updated"] == []
    after = {p: (sample_site / PREVIEW / p).stat().st_mtime_ns for p in output_files(sample_site / PREVIEW)}
    assert after == before  # not even rewritten with the same bytes


def test_one_new_record_builds_exactly_one_credential(sample_site, sitegen):
    build(sitegen, sample_site)
    with open(sample_site / "credentials_data/awards.csv", "a", encoding="utf-8") as handle:
        handle.write(NEW_ROW)
    report = build(sitegen, sample_site)
    assert generated(report) == {"8c9d0e1f2a3b48f9a07bc2d3e4f5a6b7"}
    assert report["credentials"]["8c9d0e1f2a3b48f9a07bc2d3e4f5a6b7"]["reason"] == "new"


def test_changed_record_rebuilds_only_that_credential(sample_site, sitegen):
    build(sitegen, sample_site)
    csv = sample_site / "credentials_data/awards.csv"
    csv.write_text(csv.read_text(encoding="utf-8").replace("王小明", "王小红"), encoding="utf-8")
    report = build(sitegen, sample_site)
    assert generated(report) == {HONOR_UUID}
    assert "王小红" in (sample_site / f"build/.preview/credentials/{HONOR_UUID}/index.html").read_text()


def test_template_edit_rebuilds_its_dependents_only(sample_site, sitegen):
    build(sitegen, sample_site)
    templates = sample_site / "themes/plain/templates"
    page = templates / "page.html"
    page.write_text(page.read_text().replace("{{ page.html | safe }}", "<div>{{ page.html | safe }}</div>"))
    report = build(sitegen, sample_site)
    assert generated(report) == set()  # no certificate uses page.html
    assert "index.html" in report["site_files_updated"]

    (templates / "certificate.html").write_text((templates / "certificate.html").read_text() + "\n")
    report = build(sitegen, sample_site)
    assert len(generated(report)) == 8
    assert {c["reason"] for c in report["credentials"].values()} == {"theme"}


def test_new_override_template_rebuilds_what_it_overrides(sample_site, sitegen):
    build(sitegen, sample_site)
    override = sample_site / "themes/plain/templates/mode/honor/certificate.html"
    override.parent.mkdir(parents=True)
    override.write_text('{% extends "certificate.html" %}{% block title %}Honor: {{ cert.title }}{% endblock %}')
    report = build(sitegen, sample_site)
    assert generated(report) == {HONOR_UUID}
    assert "<title>Honor: Introduction to Computing</title>" in (
        sample_site / f"build/.preview/credentials/{HONOR_UUID}/index.html").read_text()


def test_asset_change_rebuilds_pages_that_use_it(sample_site, sitegen):
    build(sitegen, sample_site)
    css = sample_site / "themes/plain/static/style.css"
    css.write_text(css.read_text() + "h1 { color: navy; }\n")
    report = build(sitegen, sample_site)
    assert len(generated(report)) == 8  # every page links the new fingerprinted name
    assets = [p for p in output_files(sample_site / PREVIEW) if p.startswith("assets/style.")]
    assert len(assets) == 1  # the old fingerprint is gone


def test_removed_record_files_disappear(sample_site, sitegen):
    build(sitegen, sample_site)
    uuid = "0a1b2c3d4e5f40718293a4b5c6d7e8f9"
    csv = sample_site / "credentials_data/awards.csv"
    lines = csv.read_text(encoding="utf-8").splitlines(True)
    csv.write_text("".join(line for line in lines if uuid not in line),
                   encoding="utf-8")
    report = build(sitegen, sample_site)
    assert report["credentials"][uuid]["state"] == "removed"
    assert not (sample_site / "build/.preview/credentials" / uuid).exists()
    assert not (sample_site / "build/.preview/api/v1/credentials" / uuid).exists()


def test_site_setting_change_rebuilds_only_credentials_that_read_it(sample_site, sitegen):
    build(sitegen, sample_site)
    site_yml = sample_site / "site.yml"
    site_yml.write_text(site_yml.read_text().replace("title: Cells & Systems", "title: Cells and Systems"))
    report = build(sitegen, sample_site)
    assert generated(report) == {"2c3d4e5f6a7b4293a415c6d7e8f90a1b", "6a7b8c9d0e1f46d7e859a0b1c2d3e4f5",
                                 "4e5f6a7b8c9d44b5c637e8f90a1b2c3d"}  # two BIO1 certificates, and the program


def test_two_clean_builds_are_byte_identical(sample_site, sitegen, tmp_path):
    build(sitegen, sample_site, "--out", tmp_path / "a")
    build(sitegen, sample_site, "--out", tmp_path / "b", "--jobs", "2")
    assert output_files(tmp_path / "a") == output_files(tmp_path / "b")


def test_shards_partition_the_credentials_and_together_make_the_site(sample_site, sitegen, tmp_path):
    whole = build(sitegen, sample_site, "--out", tmp_path / "whole")
    one = build(sitegen, sample_site, "--out", tmp_path / "one", "--shard", "1/2")
    two = build(sitegen, sample_site, "--out", tmp_path / "two", "--shard", "2/2")
    first, second = set(one["credentials"]), set(two["credentials"])
    assert first and second and not first & second
    assert first | second == set(whole["credentials"])
    merged = {**output_files(tmp_path / "one"), **output_files(tmp_path / "two")}
    assert merged == output_files(tmp_path / "whole")
    assert not (tmp_path / "two" / "index.html").exists()  # shared pages: shard 1 only
