"""An erasure request, end to end: after purge, build and publish, no copy of the learner's
name or username is left in the project, build/ or any object version of a versioned bucket,
and the printed URL answers "no longer available"."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from conftest import SAMPLE_SITE, sitegen_subprocess
from s3server import bucket, moto_server, s3  # noqa: F401  (fixtures)

ZOE = "0a1b2c3d4e5f40718293a4b5c6d7e8f9"  # awards.csv line 2: Zoë Ó Súilleabháin, username zoe
CSV = "credentials_data/awards.csv"
PERSONAL = ("Súilleabháin", "Zoë Ó", "Zoë Renamed", '"zoe"')


def traces(data: bytes) -> list[str]:
    """Which of the learner's data `data` holds, as UTF-8 or as UTF-16 (PDF strings)."""
    return [text for text in PERSONAL
            if text.encode("utf-8") in data or text.encode("utf-16-be") in data]


def files_with_traces(folder) -> dict[str, list[str]]:
    found = {}
    for path in folder.rglob("*"):
        if path.is_file() and traces(path.read_bytes()):
            found[str(path.relative_to(folder))] = traces(path.read_bytes())
    return found


@pytest.fixture
def env(tmp_path, gpg_key, moto_server, bucket, s3):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return {**os.environ, **moto_server.env(), "SITEGEN_GNUPGHOME": str(gpg_key.home),
            "SITEGEN_SIGNING_KEY": gpg_key.fingerprint, "SITEGEN_PUBLISH_BUCKET": bucket,
            "SITEGEN_PUBLISH_ENDPOINT_URL": moto_server.url}


def build_and_publish(site, env) -> dict:
    built = sitegen_subprocess("build", "--site", site, env=env)
    assert built.code == 0, built.err
    published = sitegen_subprocess("publish", "--site", site, "--json", env=env)
    assert published.code == 0, published.err
    return json.loads(published.out)


@pytest.mark.slow
def test_purge_leaves_no_copy_anywhere(tmp_path, env, s3, bucket):
    site = tmp_path / "site"
    shutil.copytree(SAMPLE_SITE, site)
    csv = site / CSV
    build_and_publish(site, env)
    # A correction of her name first: the bucket keeps the old page as an older version.
    csv.write_text(csv.read_text(encoding="utf-8").replace("Zoë Ó Súilleabháin", "Zoë Renamed"), encoding="utf-8")
    build_and_publish(site, env)
    (site / "build/.preview").mkdir()  # a preview holds a copy too
    shutil.copytree(site / f"build/credentials/{ZOE}", site / f"build/.preview/credentials/{ZOE}")

    # The erasure request: her record goes, her ID goes into the purge list.
    lines = csv.read_text(encoding="utf-8").splitlines(keepends=True)
    purged = sitegen_subprocess("purge", ZOE, "--site", site, env=env)
    assert purged.code == 0, purged.err
    assert not traces((purged.out + purged.err).encode())  # not even in what it prints
    report = build_and_publish(site, env)
    assert report["erased"] == 1

    assert files_with_traces(site) == {}  # the project folder, build/ and its previews included
    versions = s3.list_object_versions(Bucket=bucket)
    left = {}
    for version in versions.get("Versions", []):
        body = s3.get_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])["Body"].read()
        if traces(body):
            left[(version["Key"], version["VersionId"])] = traces(body)
    assert left == {}
    # Her URL still answers, with or without the slash, and says only that it is gone.
    for key in (f"credentials/{ZOE}/index.html", f"credentials/{ZOE}", f"credentials/{ZOE}/"):
        page = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
        assert "no longer available" in page
    keys = {v["Key"] for v in versions.get("Versions", [])}
    assert {k for k in keys if ZOE in k} == {f"credentials/{ZOE}/index.html", f"credentials/{ZOE}",
                                             f"credentials/{ZOE}/"}  # the notice, nothing else
    assert f"api/v1/credentials/{ZOE}" not in keys

    # Done once: the next publish lists no versions again, and the record may not come back.
    assert build_and_publish(site, env)["erased"] == 0
    csv.write_text("".join(lines), encoding="utf-8")
    refused = sitegen_subprocess("build", "--site", site, env=env)
    assert refused.code != 0 and f"{ZOE} was purged (credentials_data/purged.txt:" in refused.err
    assert f"run sitegen purge {ZOE} again" in refused.err
