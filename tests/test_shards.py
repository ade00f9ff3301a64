"""Shards that build and publish their own credentials, at the same time, with no merge step,
against a real S3 server (moto, server mode, on 127.0.0.1) and the real CLI in child processes.

The bucket a matrix of shards publishes must be the bucket one machine publishes, object for
object; a later matrix of another size must find nothing to do; a shard must never touch
another shard's objects; an older sitegen's single manifest must be taken over."""

from __future__ import annotations

import hashlib
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import Run, sitegen_subprocess
from s3server import bucket, moto_server, s3  # noqa: F401  (fixtures)
from sitegen.errors import SitegenError
from sitegen.model import PublishSettings
from sitegen.publish import sync
from sitegen.publish.manifest import LEGACY_MANIFEST_KEY, MANIFEST_DIR, USES_DIR, key_id
from sitegen.shards import Shard, shard_from_environment
from test_publish import invalidations, make_distribution

WANG = "1b2c3d4e5f6a41829304b5c6d7e8f90a"  # awards.csv line 3; partition 0x1b: shard 2 of 2, 4 of 4
CSV = "credentials_data/awards.csv"
STATE = ".sitegen/"


@pytest.fixture
def site(sample_site) -> Path:
    return sample_site


@pytest.fixture
def env(gpg_key, moto_server) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SITEGEN_", "CI_NODE_", "JOB_COMPLETION"))}
    return {**clean, **moto_server.env(), "SITEGEN_GNUPGHOME": str(gpg_key.home),
            "SITEGEN_SIGNING_KEY": gpg_key.fingerprint, "SITEGEN_PUBLISH_ENDPOINT_URL": moto_server.url}


def new_bucket(s3) -> str:
    name = f"shards-{os.urandom(6).hex()}"
    s3.create_bucket(Bucket=name)
    return name


def build_and_publish(site: Path, out: Path, bucket: str, env: dict, *shard: str) -> dict:
    """`sitegen build` then `sitegen publish`, as one CI job runs them; the publish report."""
    built = sitegen_subprocess("build", "--site", site, "--out", out, "--jobs", "1", *shard, env=env)
    assert built.code == 0, built.err
    return publish(site, out, bucket, env, *shard)


def publish(site: Path, out: Path, bucket: str, env: dict, *shard: str) -> dict:
    done = sitegen_subprocess("publish", "--site", site, "--out", out, "--json", *shard,
                              env={**env, "SITEGEN_PUBLISH_BUCKET": bucket})
    assert done.code == 0, done.err
    return json.loads(done.out)


def matrix(site: Path, root: Path, bucket: str, env: dict, count: int) -> list[dict]:
    """Every shard of `count` building into its own folder and publishing, all at once."""
    def job(index: int) -> dict:
        return build_and_publish(site, root / f"shard-{index}", bucket, env, "--shard", f"{index}/{count}")

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(job, range(1, count + 1)))


def contents(s3, bucket: str) -> dict[str, tuple]:
    """Every published object: key -> (MD5 of its bytes, Content-Type, Cache-Control)."""
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", ()):
            if not item["Key"].startswith(STATE):
                got = s3.get_object(Bucket=bucket, Key=item["Key"])
                found[item["Key"]] = (hashlib.md5(got["Body"].read()).hexdigest(), got["ContentType"],
                                      got.get("CacheControl"))
    return found


def snapshot(s3, bucket: str) -> dict[str, tuple]:
    """Any write changes an object's LastModified, even with the same bytes."""
    return {item["Key"]: (item["ETag"], item["LastModified"])
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for item in page.get("Contents", ()) if not item["Key"].startswith(STATE)}


def manifest_objects(s3, bucket: str) -> dict[str, dict]:
    """partition -> its manifest's objects (key id -> entry)."""
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket, Prefix=MANIFEST_DIR + "/").get("Contents", ())
            if not item["Key"].startswith(USES_DIR + "/")]
    return {key: json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())["objects"] for key in keys}


def owned_by(uuid: str, keys) -> set[str]:
    """The keys of a credential: its folder, page aliases and API record (its hash-index entry is
    told by its content)."""
    return {k for k in keys if f"/{uuid}" in k}


def hash_entries(s3, bucket: str, uuid: str) -> set[str]:
    found = set()
    for item in s3.list_objects_v2(Bucket=bucket, Prefix="api/v1/pdf-sha256/").get("Contents", ()):
        if json.loads(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())["uuid"] == uuid:
            found.add(item["Key"])
    return found


def test_four_shards_at_once_publish_what_one_machine_publishes(site, tmp_path, env, s3):
    alone, sharded = new_bucket(s3), new_bucket(s3)
    build_and_publish(site, tmp_path / "whole", alone, env)

    reports = matrix(site, tmp_path, sharded, env, 4)

    assert contents(s3, sharded) == contents(s3, alone)
    # Every object recorded, once, in the same partition of the manifest; the share cards only
    # other shards' pages show, by shard 1 once it has read that their pages link to them (this
    # run, if it read after they recorded it, else its next publish).
    alone_manifest, sharded_manifest = manifest_objects(s3, alone), manifest_objects(s3, sharded)
    shared = alone_manifest.pop(f"{MANIFEST_DIR}/shared.json"), sharded_manifest.pop(f"{MANIFEST_DIR}/shared.json")
    assert sharded_manifest == alone_manifest
    cards = {key_id(f"cards/{p.name}") for p in (tmp_path / "whole/cards").iterdir()}
    cards -= {key_id(f"cards/{p.name}") for p in (tmp_path / "shard-1/cards").iterdir()}
    assert cards and shared[1].items() <= shared[0].items() and set(shared[0]) - set(shared[1]) <= cards
    again = publish(site, tmp_path / "shard-1", sharded, env, "--shard", "1/4")
    assert (again["uploaded"], again["deleted"], again["uses_unknown"]) == (0, 0, [])
    assert manifest_objects(s3, sharded) == manifest_objects(s3, alone)
    assert reports[0]["uploaded"] > reports[1]["uploaded"]  # shard 1 also published the shared pages
    for index, report in enumerate(reports, start=1):
        credentials = {k.split("/")[1] for k in (u["key"] for u in report["uploads"]) if k.startswith("credentials/")}
        assert credentials and all(Shard(index, 4).owns(u) for u in credentials)
        assert report["deleted"] == 0 and report["shard"] == f"{index}/4"


def test_three_shards_after_four_upload_nothing_and_delete_nothing(site, tmp_path, env, s3):
    bucket = new_bucket(s3)
    matrix(site, tmp_path / "four", bucket, env, 4)
    before = snapshot(s3, bucket)

    reports = matrix(site, tmp_path / "three", bucket, env, 3)  # fresh builds, another split

    assert [(r["uploaded"], r["deleted"]) for r in reports] == [(0, 0)] * 3
    assert snapshot(s3, bucket) == before


def test_a_removed_credential_is_deleted_by_its_own_shard_only(site, tmp_path, env, s3):
    bucket = new_bucket(s3)
    matrix(site, tmp_path, bucket, env, 2)
    wang = owned_by(WANG, snapshot(s3, bucket)) | hash_entries(s3, bucket, WANG)
    assert len(wang) >= 8  # page, its two aliases, PDF, signature, statement, API record, hash entry
    csv = site / CSV
    csv.write_text("".join(line for line in csv.read_text(encoding="utf-8").splitlines(keepends=True)
                           if not line.startswith(WANG)), encoding="utf-8")
    before = snapshot(s3, bucket)

    first = build_and_publish(site, tmp_path / "shard-1", bucket, env, "--shard", "1/2")
    assert first["deleted"] == 0 and snapshot(s3, bucket) == before  # shard 1 touched nothing

    second = build_and_publish(site, tmp_path / "shard-2", bucket, env, "--shard", "2/2")
    assert set(second["deletes"]) == wang and second["uploaded"] == 0
    assert set(snapshot(s3, bucket)) == set(before) - wang


def test_each_shard_invalidates_only_its_own_changed_paths(site, tmp_path, env, s3):
    bucket = new_bucket(s3)
    distribution = make_distribution(bucket)
    env = {**env, "SITEGEN_CDN_DISTRIBUTION_ID": distribution}
    matrix(site, tmp_path, bucket, env, 2)
    assert invalidations(distribution) == []  # everything was new: nothing cached to forget
    wang = {"/" + key for key in hash_entries(s3, bucket, WANG)}  # the revoked PDF's hash entry goes
    csv = site / CSV
    csv.write_text(csv.read_text(encoding="utf-8").replace(
        f"{WANG},wang,王小明,course-certificate,course-v1:AcmeX+CS101+2026,honor,awarded,2026-03-15,,,",
        f"{WANG},wang,王小明,course-certificate,course-v1:AcmeX+CS101+2026,honor,revoked,2026-03-15,,Issued in error,"),
        encoding="utf-8")

    first, second = matrix(site, tmp_path, bucket, env, 2)

    # Shard 1 has none of Wang's objects: at most shared ones changed (a status list, say).
    assert not any(u["key"].startswith(("credentials/", "api/")) for u in first["uploads"])
    assert not any("credentials" in path for path in first["invalidation_paths"])
    assert second["invalidation_id"] and all(WANG in path or path in wang or path.endswith("/*")
                                             for path in second["invalidation_paths"]), second["invalidation_paths"]
    batches = [second["invalidation_paths"]] + ([first["invalidation_paths"]] if first["invalidation_id"] else [])
    assert sorted(invalidations(distribution)) == sorted(batches)  # one batch per shard, its own paths
    assert len(second["invalidation_paths"]) <= 15 // 2  # the shards share CloudFront's 15 wildcards


def test_a_shard_publishes_only_the_shard_it_was_built_for(site, tmp_path, env, s3):
    bucket = new_bucket(s3)
    out = tmp_path / "shard-2"
    built = sitegen_subprocess("build", "--site", site, "--out", out, "--shard", "2/2", env=env)
    assert built.code == 0, built.err
    for wrong, says in (([], "publish it with --shard 2/2"), (["--shard", "1/2"], "this build is shard 2/2")):
        refused = sitegen_subprocess("publish", "--site", site, "--out", out, *wrong,
                                     env={**env, "SITEGEN_PUBLISH_BUCKET": bucket})
        assert refused.code != 0 and says in refused.err
        assert len(refused.err.strip().splitlines()) == 1
    assert snapshot(s3, bucket) == {}


def test_a_shard_build_keeps_only_its_own_credentials_when_n_changes(site, tmp_path, env):
    out = tmp_path / "cached"  # one CI cache folder, restored for shard 1 of 2, then of 3
    for shard in ("1/2", "1/3"):
        built = sitegen_subprocess("build", "--site", site, "--out", out, "--shard", shard, "--pages-only", env=env)
        assert built.code == 0, built.err
    folders = {p.name for p in (out / "credentials").iterdir()}
    api = {p.name for p in (out / "api/v1/credentials").iterdir()}
    assert folders and folders == api and all(Shard(1, 3).owns(u) for u in folders)


# --------------------------------------------------------------------------- an older sitegen's manifest


def make_legacy(s3, bucket: str) -> None:
    """Turn the bucket's manifest into the single file (version 1) an older sitegen kept:
    the same entries, by the same key ids, in one file."""
    objects = {}
    for key, entries in manifest_objects(s3, bucket).items():
        objects.update(entries)
        s3.delete_object(Bucket=bucket, Key=key)
    legacy = {"format": "sitegen-publish-manifest", "version": 1,
              "key_id": "sha256(key relative to the prefix), first 32 hex digits",
              "objects": objects, "pending": {}, "invalidation": None, "erased": []}
    s3.put_object(Bucket=bucket, Key=LEGACY_MANIFEST_KEY, Body=json.dumps(legacy).encode())


@pytest.mark.parametrize("shards", [0, 2], ids=["one machine", "two shards at once"])
def test_an_older_single_manifest_is_split_on_the_first_publish(site, tmp_path, env, s3, shards):
    bucket, reference = new_bucket(s3), new_bucket(s3)
    build_and_publish(site, tmp_path / "old", bucket, env)
    make_legacy(s3, bucket)
    s3.put_object(Bucket=bucket, Key="downloads/legacy/Certificate.pdf", Body=b"%PDF legacy")  # not sitegen's
    wang = owned_by(WANG, snapshot(s3, bucket)) | hash_entries(s3, bucket, WANG)
    csv = site / CSV
    csv.write_text("".join(line for line in csv.read_text(encoding="utf-8").splitlines(keepends=True)
                           if not line.startswith(WANG)), encoding="utf-8")

    if shards:
        reports = matrix(site, tmp_path / "new", bucket, env, shards)
    else:
        reports = [build_and_publish(site, tmp_path / "new", bucket, env)]

    # The share card only Wang's page showed goes too; but shards cannot know that no other
    # shard's page links to it: they keep it.
    card = {f"cards/{p.name}" for p in (tmp_path / "old/cards").iterdir()}
    card -= {f"cards/{p.name}" for folder in (tmp_path / "new").glob("**/cards") for p in folder.iterdir()}
    assert len(card) == 1
    kept = card if shards else set()
    assert sorted(k for r in reports for k in r["deletes"]) == sorted(wang | card - kept)
    assert sum(r["uploaded"] for r in reports) == 0
    keys = {item["Key"] for item in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert LEGACY_MANIFEST_KEY not in keys and any(k.startswith(MANIFEST_DIR + "/") for k in keys)
    build_and_publish(site, tmp_path / "reference", reference, env)
    legacy_pdf = "downloads/legacy/Certificate.pdf"
    assert set(contents(s3, bucket)) == set(contents(s3, reference)) | kept | {legacy_pdf}  # left alone
    assert contents(s3, bucket).items() >= contents(s3, reference).items()
    again = matrix(site, tmp_path / "new", bucket, env, shards) if shards else [
        publish(site, tmp_path / "new", bucket, env)]
    assert [(r["uploaded"], r["deleted"]) for r in again] == [(0, 0)] * len(again)


def test_a_shard_waits_for_shard_1_to_split_an_older_manifest(site, tmp_path, env, s3, moto_server):
    bucket = new_bucket(s3)
    build_and_publish(site, tmp_path / "old", bucket, env)
    make_legacy(s3, bucket)
    for index in (1, 2):
        built = sitegen_subprocess("build", "--site", site, "--out", tmp_path / f"shard-{index}",
                                   "--shard", f"{index}/2", env=env)
        assert built.code == 0, built.err
    settings = PublishSettings(bucket=bucket, endpoint_url=moto_server.url)
    before = snapshot(s3, bucket)
    with pytest.raises(SitegenError, match=r"older sitegen .* still there after 0 s: shard 1, or a publish "
                                           r"without --shard, splits it") as refused:
        sync.publish(tmp_path / "shard-2", settings, shard=Shard(2, 2), legacy_wait=0.2, log=lambda line: None)
    assert "\n" not in str(refused.value) and snapshot(s3, bucket) == before

    lines: list[str] = []
    with ThreadPoolExecutor(max_workers=1) as pool:
        second = pool.submit(sync.publish, tmp_path / "shard-2", settings, shard=Shard(2, 2), legacy_wait=60,
                             log=lines.append)
        deadline = time.monotonic() + 30
        while not any("waiting for shard 1" in line for line in lines) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not second.done()
        first = sync.publish(tmp_path / "shard-1", settings, shard=Shard(1, 2), log=lambda line: None)
        second = second.result()
    assert (first.uploaded, first.deleted, second.uploaded, second.deleted) == (0, 0, 0, 0)
    assert snapshot(s3, bucket) == before
    assert LEGACY_MANIFEST_KEY not in {item["Key"] for item in s3.list_objects_v2(Bucket=bucket)["Contents"]}


# --------------------------------------------------------------------------- --shard auto

ENGINES = [
    ("GitLab CI parallel", {"CI_NODE_INDEX": "3", "CI_NODE_TOTAL": "4"}, Shard(3, 4)),
    ("Kubernetes Indexed Job", {"JOB_COMPLETION_INDEX": "0", "SITEGEN_SHARD_COUNT": "20"}, Shard(1, 20)),
    ("AWS Batch array job", {"AWS_BATCH_JOB_ARRAY_INDEX": "19", "AWS_BATCH_JOB_ARRAY_SIZE": "20"}, Shard(20, 20)),
    ("GitHub Actions matrix", {"GITHUB_ACTIONS": "true", "SITEGEN_SHARD_INDEX": "1", "SITEGEN_SHARD_COUNT": "3"},
     Shard(2, 3)),
    ("a GitLab job without parallel:", {"CI_NODE_TOTAL": "1", "JOB_COMPLETION_INDEX": "2",
                                        "SITEGEN_SHARD_COUNT": "5"}, Shard(3, 5)),
    ("one shard in all", {"SITEGEN_SHARD_INDEX": "0", "SITEGEN_SHARD_COUNT": "1"}, None),
]


@pytest.mark.parametrize("environ, shard", [e[1:] for e in ENGINES], ids=[e[0] for e in ENGINES])
def test_shard_auto_reads_the_engine_running_the_job(environ, shard):
    assert shard_from_environment(environ) == shard


REFUSED = [
    ("nothing set", {}, "nothing in the environment says which shard this is"),
    ("GitHub Actions without the variables", {"GITHUB_ACTIONS": "true"}, r"strategy\.job-index"),
    ("Kubernetes without the count", {"JOB_COMPLETION_INDEX": "1"}, "set SITEGEN_SHARD_COUNT"),
    ("index out of range", {"CI_NODE_INDEX": "5", "CI_NODE_TOTAL": "4"}, "is not an index of 4 shards"),
    ("0-based index that is 1-based", {"CI_NODE_INDEX": "0", "CI_NODE_TOTAL": "4"}, r"\(1 to 4"),
    ("counts disagree", {"CI_NODE_INDEX": "1", "CI_NODE_TOTAL": "4", "SITEGEN_SHARD_COUNT": "3"}, "counts disagree"),
    ("engines disagree", {"CI_NODE_INDEX": "1", "CI_NODE_TOTAL": "4", "AWS_BATCH_JOB_ARRAY_INDEX": "2",
                          "AWS_BATCH_JOB_ARRAY_SIZE": "4"}, "disagrees with itself"),
    ("not a number", {"AWS_BATCH_JOB_ARRAY_INDEX": "two", "AWS_BATCH_JOB_ARRAY_SIZE": "4"}, "not a whole number"),
    ("more shards than partitions", {"SITEGEN_SHARD_INDEX": "0", "SITEGEN_SHARD_COUNT": "300"}, "between 1 and 256"),
]


@pytest.mark.parametrize("environ, message", [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_shard_auto_refuses_in_one_line_when_the_environment_does_not_say(environ, message):
    with pytest.raises(SitegenError, match=message) as refused:
        shard_from_environment(environ)
    assert "\n" not in str(refused.value)


def test_shard_auto_on_the_command_line(site, tmp_path, env, s3):
    bucket = new_bucket(s3)
    gitlab = {**env, "CI_NODE_INDEX": "2", "CI_NODE_TOTAL": "2"}
    out = tmp_path / "auto"
    report = build_and_publish(site, out, bucket, gitlab, "--shard", "auto")
    assert report["shard"] == "2/2"
    assert json.loads((out / ".sitegen/last-build.json").read_text())["shard"] == "2/2"
    published = {k.split("/")[1] for k in snapshot(s3, bucket) if k.startswith("credentials/")}
    assert published and all(Shard(2, 2).owns(u) for u in published)
    assert "index.html" not in snapshot(s3, bucket)  # the shared pages are shard 1's
    # ... but the files named by their bytes that its pages link to are there before them
    linked = {p.relative_to(out).as_posix() for folder in ("assets", "cards") for p in (out / folder).rglob("*")
              if p.is_file()}
    assert any(k.startswith("assets/") for k in linked) and any(k.startswith("cards/") for k in linked)
    assert {k for k in snapshot(s3, bucket) if k.startswith(("assets/", "cards/"))} == linked

    lost: Run = sitegen_subprocess("build", "--site", site, "--out", out, "--shard", "auto", env=env)
    assert lost.code != 0 and len(lost.err.strip().splitlines()) == 1
    assert "--shard auto: nothing in the environment says which shard this is" in lost.err
