"""Legacy edX certificates in the tests: the sample export (tests/legacy/generatedcertificate.csv),
the sample project with it, and exports of any size."""

from __future__ import annotations

import csv
import io
import random
import shutil
from pathlib import Path

EXPORT = Path(__file__).parent / "legacy" / "generatedcertificate.csv"
EXPORT_NAME = "credentials_data/generatedcertificate.csv"
DEFAULT_THEME = Path(__file__).parent.parent / "themes" / "default"
V1, V2, V3, V4 = ("a1000000000000000000000000000001", "a2000000000000000000000000000002",
                  "a3000000000000000000000000000003", "a4000000000000000000000000000004")
D = {v: "d" + v[1:] for v in (V1, V2, V3, V4)}
NAMES = {V1: "Lee, Ann", V2: "李小龙", V3: "فاطمة الزهراء", V4: "Иван &lt;b&gt;Петров&lt;/b&gt;"}


def legacy_site(site: Path, only_legacy: bool = False) -> Path:
    """The sample project with the export dropped into credentials_data/."""
    data = site / "credentials_data"
    if only_legacy:  # no records: a quick signed build
        shutil.rmtree(data)
        data.mkdir()
    shutil.copy(EXPORT, data / "generatedcertificate.csv")
    # The pages are checked in the default theme, which ships the legacy templates.
    shutil.copytree(DEFAULT_THEME, site / "themes" / "default")
    site_yml = site / "site.yml"
    site_yml.write_text(site_yml.read_text(encoding="utf-8").replace("theme: plain", "theme: default"),
                        encoding="utf-8")
    return site


def page(out: Path, verify_uuid: str, name: str = "index.html") -> str:
    return (out / "cert" / verify_uuid / name).read_text(encoding="utf-8")


def export_with(changes: list[tuple[str, str]]) -> str:
    """The sample export, the n-th row's field set to the n-th change's value."""
    rows = list(csv.DictReader(io.StringIO(EXPORT.read_text(encoding="utf-8"), newline="")))
    for row, (field, value) in zip(rows, changes):
        if field:
            row[field] = value
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def add_rows(site: Path, count: int, seed: int = 5) -> list[str]:
    """`count` more downloadable rows in the sample export, of both courses; their verify_uuids."""
    rng = random.Random(seed)
    uuids = []
    with open(site / EXPORT_NAME, "a", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        for i in range(count):
            verify_uuid, download_uuid = f"{rng.getrandbits(128):032x}", f"{rng.getrandbits(128):032x}"
            course = ("course-v1:AcmeX+CS101+2026", "MITx/6.002x/2012_Spring")[i % 2]
            writer.writerow([1000 + i, 50 + i, f"Learner {i} Ñandú", course, verify_uuid, download_uuid, "", "0.9",
                             "downloadable", ("honor", "verified")[i % 2], "2013-03-01", "2013-03-02", "", "", "0"])
            uuids.append(verify_uuid)
    return uuids


def preload(s3, bucket: str) -> dict[str, bytes]:
    """The old agent's objects: PDFs, signatures and verification pages of every certificate."""
    objects = {}
    for verify_uuid in (V1, V2, V3, V4):
        objects[f"downloads/{D[verify_uuid]}/Certificate.pdf"] = b"%PDF-1.4 old " + verify_uuid.encode()
        objects[f"cert/{verify_uuid}/Certificate.pdf.sig"] = b"-----BEGIN PGP SIGNATURE----- " + verify_uuid.encode()
        objects[f"cert/{verify_uuid}/valid.html"] = b"<p>old valid page</p>"
        objects[f"cert/{verify_uuid}/verify.html"] = b"<p>old verify page</p>"
    for key, data in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=data)
    return objects


def etags(s3, bucket: str) -> dict[str, str]:
    items = {}
    for listing in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in listing.get("Contents", ()):
            items[item["Key"]] = item["ETag"].strip('"')
    return items
