"""Legacy edX PDF certificates: an export of GeneratedCertificate in credentials_data/ keeps
every printed URL alive (cert/<verify_uuid>/...), never touches the old PDFs in the bucket,
and `sitegen purge <verify_uuid>` erases exactly that certificate's files."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import shutil
from pathlib import Path

import pytest

from legacyexport import NAMES, V1, V2, V3, V4, D, etags, export_with, legacy_site, page, preload
from s3server import bucket, moto_server, s3  # noqa: F401  (fixtures)
from sitegen.commands.build import BuildOptions, build
from sitegen.errors import InputProblems
from sitegen.layout import LAST_BUILD_FILE, LEGACY_URL_MAP_FILE
from sitegen.legacy.export import load_legacy
from sitegen.legacy.gate import LEGACY_PURGE_LIST
from sitegen.legacy.paths import is_preserved_legacy_key
from sitegen.legacy.purge import purge_legacy
from sitegen.legacy.purge_list import load_legacy_purge_list
from sitegen.load.records import record_files
from sitegen.model import CachePolicy, PublishSettings
from sitegen.publish.manifest import Manifest, ManifestEntry, key_id
from sitegen.publish.plan import RemoteObject, make_plan, scan_build
from sitegen.publish.scope import Scope
from sitegen.publish.sync import publish

# -- reading the export ----------------------------------------------------------------


def test_the_export_is_recognised_by_its_columns_and_never_read_as_records(sample_site):
    site = legacy_site(sample_site)
    (site / "credentials_data" / "generatedcertificate.csv").rename(site / "credentials_data" / "awards-2014.csv")
    assert not [p for p in record_files(site) if p.name == "awards-2014.csv"]
    export = load_legacy(site)
    assert not export.problems
    assert [c.verify_uuid for c in export.certificates] == [V1, V2, V3, V4]
    assert dict(export.skipped) == {"notpassing": 1, "deleted": 1, "error": 1, "unavailable": 1}
    first = export.certificates[0]
    assert (first.certificate_id, first.mode, first.issued.isoformat()) == ("101", "verified", "2014-06-25")
    assert first.pdf_key == f"downloads/{D[V1]}/Certificate.pdf"
    assert export.certificates[1].pdf_key == f"downloads/{D[V2]}/Certificate.pdf"  # no download_url


BAD_ROWS = [
    ("verify_uuid", "A1000000000000000000000000000001", "in lowercase"),
    ("verify_uuid", "../../etc/passwd", "32 lowercase hex digits"),
    ("download_uuid", "d1000000000000000000000000000001/..", "32 lowercase hex digits"),
    ("download_url", "https://evil.example/x.pdf", "downloads/<download_uuid>/"),
    ("download_url", "https://s3.amazonaws.com/b/downloads/d9000000000000000000000000000009/Certificate.pdf",
     "another download_uuid"),
    ("name", "", "required"),
    ("modified_date", "2014-02-30 10:00:00", "not a date"),
    ("status", "shipped", "not a status"),
    ("id", "x1", "positive whole number"),
]


@pytest.mark.parametrize(("field", "value", "says"), BAD_ROWS)
def test_a_bad_row_is_one_line_naming_file_line_and_field(sample_site, field, value, says):
    site = legacy_site(sample_site)
    (site / "credentials_data" / "generatedcertificate.csv").write_text(export_with([(field, value)]),
                                                                         encoding="utf-8")
    problems = load_legacy(site).problems
    assert [str(p) for p in problems] == [str(problems[0])]
    line = str(problems[0])
    assert line.startswith(f"credentials_data/generatedcertificate.csv:2: {field}: "), line
    assert says in line
    assert "Lee" not in line  # never the learner's name


def test_bad_rows_fail_the_build_one_line_each_and_nothing_is_written(sample_site, sitegen):
    site = legacy_site(sample_site)
    (site / "credentials_data" / "generatedcertificate.csv").write_text(
        export_with([("verify_uuid", "nope"), ("mode", "Verified!")]), encoding="utf-8")
    run = sitegen("build", "--site", site, "--pages-only")
    assert run.code != 0
    lines = [line for line in run.err.splitlines() if "generatedcertificate.csv" in line]
    assert len(lines) == 2, run.err
    assert "generatedcertificate.csv:2: verify_uuid:" in lines[0] and "generatedcertificate.csv:3: mode:" in lines[1]
    assert not (site / "build" / ".preview" / "cert").exists()


# -- the pages at the old URLs -----------------------------------------------------------


def test_a_build_writes_verification_pages_at_the_old_urls(sample_site, caplog):
    site = legacy_site(sample_site)
    with caplog.at_level(logging.WARNING, logger="sitegen"):
        build(BuildOptions(site, pages_only=True, jobs=1))
    out = site / "build" / ".preview"
    for verify_uuid, name in NAMES.items():
        for file in ("index.html", "valid.html", "verify.html"):
            html = page(out, verify_uuid, file)
            assert name in html, (verify_uuid, file)
            assert f'<link rel="canonical" href="https://verify.sample.test/cert/{verify_uuid}/">' in html
            assert "has <strong>not</strong>\n        re-signed it" in html  # says what it cannot vouch for
            assert "export of the platform's certificate table" in html
    assert "<b>Петров" not in page(out, V4)  # escaped
    assert "Introduction to Computing" in page(out, V1)  # the course's title from site.yml
    assert "MITx/6.002x/2012_Spring" in page(out, V2)  # an unknown course: its ID
    assert "Verified Certificate" in page(out, V1) and "with distinction" in page(out, V2)
    assert f'href="https://s3.amazonaws.com/verify.example.org/downloads/{D[V1]}/Certificate.pdf"' in page(out, V1)
    assert f'href="../../downloads/{D[V2]}/Certificate.pdf"' in page(out, V2)
    assert f'href="../../downloads/{D[V2]}/Certificate.pdf"' in page(out, V2, "valid.html")
    assert not (out / "cert" / "a6000000000000000000000000000006").exists()  # deleted: skipped
    assert not (out / "downloads").exists()  # the PDFs are never made again
    assert any("4 row(s) not downloadable" in r.getMessage() and "1 notpassing" in r.getMessage()
               for r in caplog.records)


def test_the_url_map_lists_every_legacy_url_outside_the_published_tree(sample_site):
    site = legacy_site(sample_site)
    build(BuildOptions(site, pages_only=True, jobs=1))
    out = site / "build" / ".preview"
    rows = list(csv.DictReader(io.StringIO((out / LEGACY_URL_MAP_FILE).read_text(encoding="utf-8"))))
    assert LEGACY_URL_MAP_FILE.startswith(".sitegen/")  # never published
    assert len(rows) == 4 * 3
    mine = [r for r in rows if r["verify_uuid"] == V1]
    assert {r["legacy_url"] for r in mine} == {
        f"https://verify.sample.test/cert/{V1}/valid.html", f"https://verify.sample.test/cert/{V1}/verify.html",
        f"https://s3.amazonaws.com/verify.example.org/downloads/{D[V1]}/Certificate.pdf"}
    assert {r["page_url"] for r in mine} == {f"https://verify.sample.test/cert/{V1}/"}
    assert {r["certificate_id"] for r in mine} == {"101"}


def test_a_row_no_longer_downloadable_loses_its_pages(sample_site):
    site = legacy_site(sample_site)
    build(BuildOptions(site, pages_only=True, jobs=1))
    export = site / "credentials_data" / "generatedcertificate.csv"
    export.write_text(export.read_text(encoding="utf-8").replace(",downloadable,honor,2012-07-01 09:00:00,2012-07-02",
                                                                 ",deleted,honor,2012-07-01 09:00:00,2012-07-02"),
                      encoding="utf-8")
    build(BuildOptions(site, pages_only=True, jobs=1))
    assert not (site / "build" / ".preview" / "cert" / V2).exists()
    assert (site / "build" / ".preview" / "cert" / V1 / "index.html").exists()


def test_preserved_keys_are_the_old_agents_files_only():
    assert is_preserved_legacy_key(f"downloads/{D[V1]}/Certificate.pdf")
    assert is_preserved_legacy_key(f"cert/{V1}/Certificate.pdf.sig")
    assert not is_preserved_legacy_key(f"cert/{V1}/valid.html")
    assert not is_preserved_legacy_key(f"cert/{V1}/index.html")
    assert not is_preserved_legacy_key("downloads/index.html")


# -- purge -------------------------------------------------------------------------------


def test_purge_removes_the_row_keeps_every_other_byte_and_lists_the_certificate(sample_site, sitegen):
    site = legacy_site(sample_site)
    export = site / "credentials_data" / "generatedcertificate.csv"
    before = export.read_bytes()
    run = sitegen("purge", "--site", site, V3)
    assert run.code == 0, run.err
    lines = before.split(b"\r\n")
    assert export.read_bytes() == b"\r\n".join(line for line in lines if V3.encode() not in line)
    assert "purge_references_to_pdf_certificates --certificate_ids 103" in run.out
    assert "فاطمة" not in run.out + run.err
    listed = load_legacy_purge_list(site)
    assert listed.entries[V3].pdf_key == f"downloads/{D[V3]}/Certificate.pdf"
    assert listed.entries[V3].certificate_id == "103"
    again = sitegen("purge", "--site", site, V3)
    assert again.code != 0 and "already purged" in again.err


def test_a_purged_row_must_not_come_back(sample_site):
    site = legacy_site(sample_site)
    export = site / "credentials_data" / "generatedcertificate.csv"
    before = export.read_bytes()
    purge_legacy(site, V1)
    export.write_bytes(before)  # a stale copy
    with pytest.raises(InputProblems) as raised:
        build(BuildOptions(site, pages_only=True, jobs=1))
    assert f"{V1} was purged ({LEGACY_PURGE_LIST}:4)" in str(raised.value.problems[0])


# -- publish: the old PDFs are never touched; a purge erases exactly its four files ------


def _publish(out: Path, bucket: str, moto_server) -> None:
    publish(out, PublishSettings(bucket=bucket, endpoint_url=moto_server.url), log=lambda line: None)


def test_publish_keeps_the_old_pdfs_byte_for_byte_and_a_purge_erases_exactly_four_files(
        sample_site, signing_env, s3, bucket, moto_server):
    site = legacy_site(sample_site, only_legacy=True)
    old = preload(s3, bucket)
    report = build(BuildOptions(site, jobs=1))
    assert report.ok
    out = site / "build"
    _publish(out, bucket, moto_server)
    before = etags(s3, bucket)
    for key, data in old.items():
        if not key.endswith(("valid.html", "verify.html")):  # sitegen's pages replace the old agent's
            assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == data, key
            assert before[key] == hashlib.md5(data).hexdigest(), key
    for verify_uuid in (V1, V2, V3, V4):
        for key in (f"cert/{verify_uuid}/", f"cert/{verify_uuid}", f"cert/{verify_uuid}/index.html"):
            body = s3.get_object(Bucket=bucket, Key=key)
            assert body["ContentType"].startswith("text/html")
        assert b"re-signed" in s3.get_object(Bucket=bucket, Key=f"cert/{verify_uuid}/valid.html")["Body"].read()
    assert not any(key.startswith(".sitegen/legacy") for key in before)  # the URL map stays local

    # A second publish changes nothing of the old agent's.
    _publish(out, bucket, moto_server)
    assert {k: v for k, v in etags(s3, bucket).items() if k in old} == {k: v for k, v in before.items() if k in old}

    purge_legacy(site, V2)
    assert build(BuildOptions(site, jobs=1)).ok
    assert not (out / "cert" / V2 / "valid.html").exists() and not (out / "cert" / V2 / "verify.html").exists()
    assert "no longer available" in page(out, V2)
    _publish(out, bucket, moto_server)
    after = etags(s3, bucket)
    four = {f"downloads/{D[V2]}/Certificate.pdf", f"cert/{V2}/Certificate.pdf.sig",
            f"cert/{V2}/valid.html", f"cert/{V2}/verify.html"}
    assert four.isdisjoint(after)
    assert {k for k in before if k not in after} == four  # exactly those four, none of another's
    assert b"no longer available" in s3.get_object(Bucket=bucket, Key=f"cert/{V2}/")["Body"].read()
    assert "李小龙".encode() not in s3.get_object(Bucket=bucket, Key=f"cert/{V2}/index.html")["Body"].read()
    for key, data in old.items():
        if V2 not in key and D[V2] not in key and not key.endswith(("valid.html", "verify.html")):
            assert after[key] == hashlib.md5(data).hexdigest(), key


def test_a_theme_without_the_legacy_templates_is_one_line_saying_where_they_are(sample_site):
    site = legacy_site(sample_site)
    shutil.rmtree(site / "themes" / "default" / "templates" / "legacy")
    with pytest.raises(InputProblems) as raised:
        build(BuildOptions(site, pages_only=True, jobs=1))
    assert [str(p) for p in raised.value.problems] == [
        "themes/default/templates/legacy/certificate.html: missing: legacy certificates need it; "
        "copy themes/default/templates/legacy/certificate.html into the theme",
        "themes/default/templates/legacy/withdrawn.html: missing: legacy certificates need it; "
        "copy themes/default/templates/legacy/withdrawn.html into the theme"]


def test_the_old_agents_files_are_never_uploaded_nor_deleted_whatever_a_manifest_says(tmp_path):
    old_pdf, old_sig = f"downloads/{D[V1]}/Certificate.pdf", f"cert/{V1}/Certificate.pdf.sig"
    for key in (old_pdf, old_sig, f"cert/{V1}/index.html"):  # a local copy of the old files, say
        (tmp_path / key).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / key).write_bytes(b"x")
    local = scan_build(tmp_path, CachePolicy(pages="p", assets="a", documents="d"))
    assert [o.key for o in local] == [f"cert/{V1}", f"cert/{V1}/", f"cert/{V1}/index.html"]
    remote = {key: RemoteObject(key, "e", 1) for key in (old_pdf, old_sig)}
    entry = ManifestEntry("e", 1, "h")
    manifests = {"shared": Manifest(objects={key_id(old_pdf): entry, key_id(old_sig): entry})}
    plan = make_plan(local, remote, manifests, Scope.of(None))
    assert plan.deletes == [] and sorted(plan.foreign) == sorted((old_pdf, old_sig))


# -- the build report and previews ---------------------------------------------------------


def test_skipped_rows_are_counted_per_status_in_the_json_report_and_last_build(sample_site, sitegen):
    site = legacy_site(sample_site)
    run = sitegen("build", "--site", site, "--pages-only", "--json")
    assert run.code == 0, run.err
    legacy = json.loads(run.out)["legacy"]
    assert legacy["skipped_by_status"] == {"deleted": 1, "error": 1, "notpassing": 1, "unavailable": 1}
    assert (legacy["skipped"], legacy["certificates"], legacy["generated"]) == (4, 4, 4)
    assert legacy["files"] == ["credentials_data/generatedcertificate.csv"]
    last = json.loads((site / "build" / ".preview" / LAST_BUILD_FILE).read_text(encoding="utf-8"))
    assert last["legacy"] == legacy
    assert "4 legacy certificate(s): 4 generated, 0 unchanged" in run.err  # the summary line


def test_a_legacy_purge_removes_the_previews_holding_the_certificate(sample_site, signing_env):
    site = legacy_site(sample_site, only_legacy=True)
    preview = site / "build" / ".preview"
    assert build(BuildOptions(site, pages_only=True, jobs=1)).ok
    assert NAMES[V2] in page(preview, V2, "valid.html")
    purge_legacy(site, V2)
    assert build(BuildOptions(site, jobs=1)).ok  # the build to publish erases every copy
    assert not preview.exists()
    assert build(BuildOptions(site, pages_only=True, jobs=1)).ok
    assert "no longer available" in page(preview, V2)
    assert build(BuildOptions(site, jobs=1)).ok
    assert preview.is_dir()  # a preview with only the notice holds nothing of the learner's
