"""`sitegen publish` against a real S3-protocol server (moto, server mode, on 127.0.0.1).

Each test builds a small fake build tree in tmp_path, publishes it with boto3 over HTTP,
and checks the bucket itself: keys, bytes, headers, what was deleted and what was kept.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path

import boto3
import pytest

from s3server import (  # noqa: F401  (fixtures)
    ANSWER_503,
    DROP,
    DROP_AFTER,
    PASS,
    STALL,
    bucket,
    fault_proxy,
    moto_server,
    s3,
)
from sitegen.errors import SitegenError
from sitegen.load.config import load_site
from sitegen.model import CachePolicy, PublishSettings
from sitegen.publish.manifest import MANIFEST_DIR, USES_DIR, manifest_key
from sitegen.publish.plan import collapse_paths, invalidation_paths
from sitegen.publish.sync import PublishTarget, RetryPolicy, publish, resolve_target
from siteyml import write_site

UUIDS = [uuid.uuid5(uuid.NAMESPACE_URL, f"credential-{i}").hex for i in range(40)]
FAST = RetryPolicy(botocore_attempts=2, attempts=4, backoff=0.01)
CACHE = CachePolicy(pages="POLICY-pages", assets="POLICY-assets", documents="POLICY-documents")
HTML = "text/html; charset=utf-8"
TEXT = "text/plain; charset=utf-8"


# --------------------------------------------------------------------------- fake builds


def credential_files(u: str, version: str = "1") -> dict[str, bytes]:
    return {
        f"credentials/{u}/index.html": f"<!doctype html><title>{u}</title>v{version}".encode(),
        f"credentials/{u}/certificate.pdf": f"%PDF-1.7 {u} v{version}".encode(),
        f"credentials/{u}/certificate.pdf.sig": f"-----BEGIN PGP SIGNATURE-----{u}{version}".encode(),
        f"credentials/{u}/statement.txt.asc": f"-----BEGIN PGP SIGNED MESSAGE-----{u}{version}".encode(),
        f"credentials/{u}/share.png": b"\x89PNG\r\n" + f"{u}{version}".encode(),
        f"api/v1/credentials/{u}": json.dumps({"uuid": u, "v": version}).encode(),
    }


SITE_FILES = {
    "404.html": b"<!doctype html>not found",
    "about/index.html": b"<!doctype html>about",
    "verify/index.html": b"<!doctype html>verify",
    "keys/index.html": b"<!doctype html>keys",
    "robots.txt": b"User-agent: *",
    "assets/app.0badc0de.js": b"console.log(1)",
    "assets/logo.89abcdef.svg": b"<svg/>",
    "assets/photo.0a1b2c3d.jpg": b"\xff\xd8\xff",
    "assets/favicon.ico": b"\x00\x00\x01\x00",
    "assets/fonts/NotoSans.1234abcd.woff2": b"wOF2",
    "assets/fonts/Amiri.5678abcd.ttf": b"\x00\x01\x00\x00",
    "assets/fonts/Inter.9abcdef0.otf": b"OTTO",
}


def site_tree(uuids, version: str = "1", *, full: bool = False) -> dict[str, bytes]:
    """The credentials' files, plus a few site files (every kind of file when `full`)."""
    tree = {
        "index.html": b"<!doctype html>home",
        "assets/site.3f2a9c1b.css": b"body{}",
        "keys/signing-key.asc": b"-----BEGIN PGP PUBLIC KEY BLOCK-----",
    }
    if full:
        tree.update(SITE_FILES)
    for u in uuids:
        tree.update(credential_files(u, version))
    return tree



def write_build(build: Path, tree: dict[str, bytes], *, ok: bool = True, dev: bool = False) -> Path:
    """Write a build tree as the build stage would, with its build state and stray dot-files."""
    shutil.rmtree(build, ignore_errors=True)
    extra = {
        ".sitegen/last-build.json": json.dumps(
            {"ok": ok, "errors": 0 if ok else 3, "signing": {"fingerprint": "ABCD1234", "development_key": dev},
             "publishable": True, "preview": None}
        ).encode(),
        ".sitegen/state.json": b"{}",
        ".DS_Store": b"junk",
        "credentials/.keep": b"",
        ".idea/workspace.xml": b"<project/>",
    }
    for rel, data in {**tree, **extra}.items():
        path = build / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return build


def expected_objects(tree: dict[str, bytes]) -> dict[str, str]:
    """What the bucket must hold for a tree, as key -> MD5: every file, and two aliases per page."""
    objects = {key: md5(data) for key, data in tree.items()}
    for key, data in tree.items():
        parts = key.split("/")
        if len(parts) == 3 and parts[0] == "credentials" and parts[2] == "index.html":
            objects[f"credentials/{parts[1]}"] = md5(data)
            objects[f"credentials/{parts[1]}/"] = md5(data)
    return objects


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def bucket_objects(s3, bucket: str, prefix: str = "", *, include_state: bool = False) -> dict[str, str]:
    """key -> ETag, which the server computes as the MD5 of the bytes it holds (single-part)."""
    return {
        key: item["ETag"].strip('"')
        for key, item in listing(s3, bucket, prefix).items()
        if include_state or not key.startswith(".sitegen/")
    }


def listing(s3, bucket: str, prefix: str = "") -> dict[str, dict]:
    items = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", ()):
            items[item["Key"][len(prefix) :]] = item
    return items


def manifests(s3, bucket: str) -> dict[str, dict]:
    """The publish manifest, partition by partition: key -> its JSON (not what each partition uses)."""
    keys = [k for k in listing(s3, bucket) if k.startswith(MANIFEST_DIR + "/") and not k.startswith(USES_DIR + "/")]
    return {k: json.loads(s3.get_object(Bucket=bucket, Key=k)["Body"].read()) for k in keys}


def snapshot(s3, bucket: str) -> dict[str, tuple]:
    """Any write changes an object's LastModified, even with the same bytes."""
    return {k: (i["ETag"], i["Size"], i["LastModified"]) for k, i in listing(s3, bucket).items()}


@pytest.fixture
def settings(bucket, moto_server) -> PublishSettings:
    return PublishSettings(bucket=bucket, endpoint_url=moto_server.url, cache=CACHE)


@pytest.fixture
def build(tmp_path) -> Path:
    return tmp_path / "build"


def run(build: Path, settings: PublishSettings, **kwargs):
    lines: list[str] = []
    kwargs.setdefault("retry", FAST)
    kwargs.setdefault("jobs", 4)
    report = publish(build, settings, log=lines.append, **kwargs)
    report.lines = lines
    return report


def cloudfront():
    return boto3.session.Session().client("cloudfront", region_name="us-east-1")


def make_distribution(bucket: str) -> str:
    config = {
        "CallerReference": uuid.uuid4().hex,
        "Origins": {
            "Quantity": 1,
            "Items": [
                {"Id": "s3", "DomainName": f"{bucket}.s3.amazonaws.com", "S3OriginConfig": {"OriginAccessIdentity": ""}}
            ],
        },
        "DefaultCacheBehavior": {
            "TargetOriginId": "s3",
            "ViewerProtocolPolicy": "redirect-to-https",
            "MinTTL": 0,
            "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
            "TrustedSigners": {"Enabled": False, "Quantity": 0},
        },
        "Comment": "",
        "Enabled": True,
    }
    return cloudfront().create_distribution(DistributionConfig=config)["Distribution"]["Id"]


def invalidations(distribution_id: str) -> list[list[str]]:
    cf = cloudfront()
    items = cf.list_invalidations(DistributionId=distribution_id)["InvalidationList"].get("Items", [])
    batches = [
        cf.get_invalidation(DistributionId=distribution_id, Id=i["Id"])["Invalidation"]["InvalidationBatch"]
        for i in items
    ]
    return [sorted(batch["Paths"]["Items"]) for batch in batches]


# --------------------------------------------------------------------------- change detection


def test_first_publish_uploads_everything_and_never_build_state(build, settings, s3, bucket):
    tree = site_tree(UUIDS[:3])
    report = run(write_build(build, tree), settings)

    assert bucket_objects(s3, bucket) == expected_objects(tree)
    assert report.uploaded == len(expected_objects(tree)) and report.unchanged == 0
    keys = set(bucket_objects(s3, bucket, include_state=True))
    extra = keys - set(expected_objects(tree))  # no .sitegen/last-build.json, no dot-files
    assert extra and all(k.startswith(MANIFEST_DIR + "/") for k in extra)


def test_touching_every_file_uploads_nothing(build, settings, s3, bucket):
    write_build(build, site_tree(UUIDS[:3]))
    first = run(build, settings)
    later = time.time() + 3600
    for path in build.rglob("*"):
        os.utime(path, (later, later))  # what a fresh CI checkout does

    again = run(build, settings)

    assert again.uploaded == 0 and again.deleted == 0
    assert again.unchanged == first.uploaded
    # one listing page, one read per partition of the manifest: no HEAD per object
    assert again.requests == 1 + len(manifests(s3, bucket))


def test_one_new_credential_uploads_only_its_objects_and_aliases(build, settings, s3, bucket):
    tree = site_tree(UUIDS[:3])
    run(write_build(build, tree), settings)
    new = UUIDS[3]
    tree.update(credential_files(new))

    report = run(write_build(build, tree), settings)

    assert sorted(u["key"] for u in report.uploads) == sorted(expected_objects(credential_files(new)))
    assert {u["reason"] for u in report.uploads} == {"new"}
    assert bucket_objects(s3, bucket) == expected_objects(tree)


def test_multipart_objects_are_compared_through_the_manifest(build, settings, s3, bucket):
    tree = site_tree(UUIDS[:1])
    big = f"credentials/{UUIDS[0]}/certificate.pdf"
    tree[big] = os.urandom(9 * 1024 * 1024)
    run(write_build(build, tree), settings)
    assert "-" in bucket_objects(s3, bucket)[big]  # multipart: the ETag is not an MD5

    assert run(write_build(build, tree), settings).uploaded == 0
    tree[big] = tree[big][:-1] + b"!"  # same size, other bytes
    report = run(write_build(build, tree), settings)
    assert report.uploads == [{"key": big, "reason": "changed"}]
    assert s3.get_object(Bucket=bucket, Key=big)["Body"].read() == tree[big]


def test_changed_cache_policy_reuploads_the_objects_it_applies_to(build, settings, s3, bucket):
    tree = site_tree(UUIDS[:1])
    run(write_build(build, tree), settings)
    changed = replace(settings, cache=replace(CACHE, documents="POLICY-documents-2"))

    report = run(build, changed)

    assert report.uploads == [{"key": f"credentials/{UUIDS[0]}/certificate.pdf", "reason": "headers"}]
    head = s3.head_object(Bucket=bucket, Key=f"credentials/{UUIDS[0]}/certificate.pdf")
    assert head["CacheControl"] == "POLICY-documents-2"


# --------------------------------------------------------------------------- headers

HEADERS = [
    ("credentials/{u}/index.html", HTML, "POLICY-pages"),
    ("credentials/{u}", HTML, "POLICY-pages"),
    ("credentials/{u}/", HTML, "POLICY-pages"),
    ("credentials/{u}/certificate.pdf", "application/pdf", "POLICY-documents"),
    ("credentials/{u}/certificate.pdf.sig", "application/pgp-signature", "POLICY-pages"),
    ("credentials/{u}/statement.txt.asc", TEXT, "POLICY-pages"),
    ("credentials/{u}/share.png", "image/png", "POLICY-pages"),
    ("api/v1/credentials/{u}", "application/json", "POLICY-pages"),
    ("keys/signing-key.asc", TEXT, "POLICY-pages"),
    ("keys/index.html", HTML, "POLICY-pages"),
    ("index.html", HTML, "POLICY-pages"),
    ("robots.txt", TEXT, "POLICY-pages"),
    ("assets/site.3f2a9c1b.css", "text/css; charset=utf-8", "POLICY-assets"),
    ("assets/app.0badc0de.js", "text/javascript; charset=utf-8", "POLICY-assets"),
    ("assets/logo.89abcdef.svg", "image/svg+xml", "POLICY-assets"),
    ("assets/photo.0a1b2c3d.jpg", "image/jpeg", "POLICY-assets"),
    ("assets/fonts/NotoSans.1234abcd.woff2", "font/woff2", "POLICY-assets"),
    ("assets/fonts/Amiri.5678abcd.ttf", "font/ttf", "POLICY-assets"),
    ("assets/fonts/Inter.9abcdef0.otf", "font/otf", "POLICY-assets"),
    ("assets/favicon.ico", "image/x-icon", "POLICY-pages"),  # not fingerprinted: may change
]


def test_every_object_gets_its_content_type_and_cache_policy(build, settings, s3, bucket):
    u = UUIDS[0]
    run(write_build(build, site_tree([u], full=True)), settings)

    wrong = {}
    for pattern, ctype, cache in HEADERS:
        key = pattern.format(u=u)
        head = s3.head_object(Bucket=bucket, Key=key)
        if (head["ContentType"], head.get("CacheControl")) != (ctype, cache):
            wrong[key] = (head["ContentType"], head.get("CacheControl"))
    assert wrong == {}


# --------------------------------------------------------------------------- deletes


def test_delete_guard_refuses_more_than_max_deletes(build, settings, s3, bucket):
    tree = site_tree(UUIDS[:3])
    run(write_build(build, tree), settings)
    smaller = site_tree(UUIDS[:1])
    write_build(build, smaller)
    guarded = replace(settings, max_deletes=10)
    before = snapshot(s3, bucket)

    with pytest.raises(SitegenError, match=r"refusing to delete 16 objects .*--max-deletes 16"):
        run(build, guarded)
    assert snapshot(s3, bucket) == before

    report = run(build, guarded, max_deletes=16)
    assert report.deleted == 16
    assert bucket_objects(s3, bucket) == expected_objects(smaller)


def test_objects_sitegen_did_not_publish_are_never_deleted(build, settings, s3, bucket):
    legacy = {
        "legacy/edx-certificate-1.pdf": b"%PDF legacy",
        f"credentials/{UUIDS[30]}/index.html": b"legacy page",
        "old-index.html": b"legacy home",
    }
    for key, data in legacy.items():
        s3.put_object(Bucket=bucket, Key=key, Body=data)
    tree = site_tree(UUIDS[:3])
    run(write_build(build, tree), settings)

    smaller = site_tree(UUIDS[:2])
    report = run(write_build(build, smaller), settings)

    assert report.deleted == 8 and report.foreign == 3
    assert bucket_objects(s3, bucket) == {**expected_objects(smaller), **{k: md5(v) for k, v in legacy.items()}}


def test_manifest_does_not_list_credential_ids(build, settings, s3, bucket):
    run(write_build(build, site_tree(UUIDS[:3])), settings)
    parts = manifests(s3, bucket)
    assert not any(u in json.dumps(parts) for u in UUIDS[:3])
    assert sum(len(m["objects"]) for m in parts.values()) == len(expected_objects(site_tree(UUIDS[:3])))


def test_an_unreadable_manifest_stops_publish_before_any_change(build, settings, s3, bucket):
    run(write_build(build, site_tree(UUIDS[:1])), settings)
    s3.put_object(Bucket=bucket, Key=manifest_key("shared"), Body=b"{not json")
    write_build(build, site_tree(UUIDS[1:2]))
    before = snapshot(s3, bucket)

    with pytest.raises(SitegenError, match="publish manifest is unreadable"):
        run(build, settings)
    assert snapshot(s3, bucket) == before


# --------------------------------------------------------------------------- dry run, refusals


def test_dry_run_prints_the_plan_and_changes_nothing(build, settings, s3, bucket):
    distribution = make_distribution(bucket)
    settings = replace(settings, cdn_distribution_id=distribution)
    run(write_build(build, site_tree(UUIDS[:3])), settings)
    tree = site_tree(UUIDS[:2] + [UUIDS[5]])
    tree.update(credential_files(UUIDS[0], version="2"))
    write_build(build, tree)
    before = snapshot(s3, bucket)

    report = run(build, settings, dry_run=True)

    assert snapshot(s3, bucket) == before
    assert invalidations(distribution) == []
    reasons = {u["key"]: u["reason"] for u in report.uploads}
    assert reasons[f"credentials/{UUIDS[5]}"] == "new"
    assert reasons[f"credentials/{UUIDS[0]}/index.html"] == "changed"
    assert f"credentials/{UUIDS[2]}/certificate.pdf" in report.deletes
    assert "/credentials/" + UUIDS[0] in report.invalidation_paths
    text = "\n".join(report.lines)
    assert "dry run" in text
    assert f"upload new      credentials/{UUIDS[5]}/index.html" in text
    assert f"upload changed  credentials/{UUIDS[0]}/index.html" in text
    assert f"delete          credentials/{UUIDS[2]}/index.html" in text
    assert f"invalidate      /credentials/{UUIDS[0]}/" in text


@pytest.mark.parametrize(
    "state, message",
    [
        (None, "run sitegen build first"),
        ({"ok": False, "errors": 3, "signing": {"development_key": False}}, r"last build failed \(3 errors\)"),
        ({"ok": True, "errors": 0, "signing": {"fingerprint": "DEV1", "development_key": True}, "publishable": True},
         "development key"),
        ({"ok": True, "errors": 0, "signing": {"fingerprint": "ABCD1234", "development_key": False},
          "publishable": False, "preview": "pages only: no PDFs, signatures or statements"}, "is a preview"),
        ({"ok": True, "errors": 0, "signing": {"fingerprint": "ABCD1234", "development_key": False}},
         "is a preview"),  # made before previews were marked: build again
    ],
)
def test_refuses_failed_missing_or_development_builds(build, settings, s3, bucket, state, message):
    write_build(build, site_tree(UUIDS[:1]))
    state_file = build / ".sitegen/last-build.json"
    if state is None:
        state_file.unlink()
    else:
        state_file.write_text(json.dumps(state))

    with pytest.raises(SitegenError, match=message):
        run(build, settings)
    assert snapshot(s3, bucket) == {}


def test_development_build_can_be_published_only_when_explicitly_allowed(build, settings, s3, bucket):
    tree = site_tree(UUIDS[:1])
    write_build(build, tree, dev=True)
    run(build, settings, allow_development_key=True)
    assert bucket_objects(s3, bucket) == expected_objects(tree)


def test_a_missing_bucket_is_one_clear_line(build, settings):
    write_build(build, site_tree(UUIDS[:1]))
    with pytest.raises(SitegenError, match=r"^bucket no-such-bucket-here at http://127\.0\.0\.1:\d+ does not exist$"):
        run(build, replace(settings, bucket="no-such-bucket-here"))


def test_environment_overrides_site_yml_and_the_command_line_overrides_both(tmp_path):
    write_site(tmp_path, "publish:\n  bucket: yml\n  prefix: yml\n  endpoint_url: http://yml\n"
                         "  cdn_distribution_id: YML\n")
    env = {
        "SITEGEN_PUBLISH_BUCKET": "env",
        "SITEGEN_PUBLISH_PREFIX": "/env/site/",
        "SITEGEN_PUBLISH_ENDPOINT_URL": "http://env",
        "SITEGEN_CDN_DISTRIBUTION_ID": "ENV",
    }
    yml = load_site(tmp_path, environ={}).publish
    assert resolve_target(yml) == resolve_target(load_site(tmp_path, environ=dict.fromkeys(env, "")).publish)
    assert resolve_target(yml) == PublishTarget("yml", "yml/", None, "http://yml", "YML")
    from_env = load_site(tmp_path, environ=env).publish
    assert resolve_target(from_env) == PublishTarget("env", "env/site/", None, "http://env", "ENV")
    assert resolve_target(from_env, endpoint_url="http://cli").endpoint_url == "http://cli"
    with pytest.raises(SitegenError, match="publish.bucket"):
        resolve_target(PublishSettings())


# --------------------------------------------------------------------------- order, concurrency


def upload_phase(key: str) -> int:
    """0: assets, images, PDFs, signatures; 1: JSON and statements; 2: pages and aliases."""
    if key.endswith(".html") or key.startswith("credentials/") and "." not in key.rsplit("/", 1)[-1]:
        return 2
    if key.startswith("api/") or key.endswith((".asc", ".txt")):
        return 1
    return 0


def test_uploads_files_then_data_then_pages_and_deletes_last(build, settings, s3, bucket, fault_proxy):
    run(write_build(build, site_tree(UUIDS[:3])), settings)
    tree = site_tree(UUIDS[1:3] + UUIDS[10:12], version="2")  # all changes, one goes, two come
    write_build(build, tree)

    run(build, replace(settings, endpoint_url=fault_proxy.url))

    order = []
    for request, _ in fault_proxy.log:
        if request.is_object_put:
            order.append(upload_phase(request.path.split("?")[0].split("/", 2)[2]))
        elif request.method == "POST" and "delete" in request.path:
            order.append(3)
    assert order == sorted(order) and set(order) == {0, 1, 2, 3}
    assert fault_proxy.max_in_flight > 1  # the thread pool is used
    assert bucket_objects(s3, bucket) == expected_objects(tree)


# --------------------------------------------------------------------------- failures


@pytest.mark.parametrize(
    "retry",
    [
        RetryPolicy(botocore_attempts=4, attempts=1),  # botocore's standard mode alone
        RetryPolicy(botocore_attempts=1, attempts=4, backoff=0.01),  # ours alone
    ],
    ids=["botocore", "sitegen"],
)
def test_dropped_connections_and_503s_are_retried(build, settings, s3, bucket, fault_proxy, retry):
    faults = iter([ANSWER_503, DROP, DROP_AFTER] * 4)
    seen = {"puts": 0}

    def rule(request):
        if request.is_object_put or request.method == "GET":
            seen["puts"] += 1
            if seen["puts"] % 5 == 0:
                return next(faults, PASS)
        return PASS

    fault_proxy.rule = rule
    tree = site_tree(UUIDS[:5])
    run(write_build(build, tree), replace(settings, endpoint_url=fault_proxy.url), retry=retry)

    assert bucket_objects(s3, bucket) == expected_objects(tree)
    assert fault_proxy.count(ANSWER_503) and fault_proxy.count(DROP) and fault_proxy.count(DROP_AFTER)


def test_publish_stopped_by_an_outage_is_completed_by_the_next_run(build, settings, s3, bucket, fault_proxy):
    fault_proxy.rule = lambda r: ANSWER_503 if r.is_object_put and r.number > 12 else PASS
    via_proxy = replace(settings, endpoint_url=fault_proxy.url)
    tree = site_tree(UUIDS[:3])
    write_build(build, tree)

    with pytest.raises(SitegenError, match="run sitegen publish again"):
        run(build, via_proxy, retry=RetryPolicy(botocore_attempts=1, attempts=2, backoff=0.01))
    assert bucket_objects(s3, bucket) != expected_objects(tree)

    fault_proxy.rule = lambda r: PASS
    report = run(build, via_proxy)
    assert bucket_objects(s3, bucket) == expected_objects(tree)
    assert 0 < report.uploaded < len(expected_objects(tree))  # only what the first run missed


KILLED_PUBLISH = """
import json, sys
from pathlib import Path
from sitegen.model import CachePolicy, PublishSettings
from sitegen.publish.sync import publish
args = json.loads(sys.argv[1])
settings = PublishSettings(bucket=args["bucket"], cache=CachePolicy(**args["cache"]))
publish(Path(args["build"]), settings, endpoint_url=args["endpoint"], jobs=1)
"""


@pytest.mark.parametrize("rerun_with", ["same build", "credential purged meanwhile"])
def test_publish_killed_part_way_is_completed_by_the_next_run(
    build, settings, s3, bucket, fault_proxy, moto_server, rerun_with
):
    before = site_tree(UUIDS[:3])
    run(write_build(build, before), settings)
    added = UUIDS[3]
    during = {**before, **credential_files(added)}
    write_build(build, during)
    puts = {"n": 0}

    def stall_after_two_uploads(request):
        if request.is_object_put:
            puts["n"] += 1
            return STALL if puts["n"] > 2 else PASS
        return PASS

    fault_proxy.rule = stall_after_two_uploads
    args = json.dumps({"build": str(build), "bucket": bucket, "endpoint": fault_proxy.url, "cache": vars(CACHE)})
    proc = subprocess.Popen([sys.executable, "-c", KILLED_PUBLISH, args], env={**os.environ, **moto_server.env()})
    try:
        deadline = time.monotonic() + 30
        while fault_proxy.count(STALL) == 0 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert fault_proxy.count(STALL) == 1, "the publish never reached its third upload"
    finally:
        proc.kill()
        proc.wait()
    fault_proxy.release()
    half = bucket_objects(s3, bucket)
    assert f"credentials/{added}/certificate.pdf" in half and f"credentials/{added}/index.html" not in half

    final = during if rerun_with == "same build" else before  # the new credential was purged
    run(write_build(build, final), settings)

    assert bucket_objects(s3, bucket) == expected_objects(final)


# --------------------------------------------------------------------------- CDN


def test_cdn_invalidation_holds_only_changed_and_deleted_paths(build, settings, s3, bucket):
    distribution = make_distribution(bucket)
    settings = replace(settings, prefix="site/", cdn_distribution_id=distribution)
    tree = site_tree(UUIDS[:3])
    run(write_build(build, tree), settings, base_url="https://verify.example.org/")
    run(write_build(build, tree), settings, base_url="https://verify.example.org/")
    assert invalidations(distribution) == []  # all new, then nothing changed: no call

    revoked = UUIDS[0]
    tree.update(credential_files(revoked, version="revoked"))
    del tree[f"credentials/{revoked}/certificate.pdf"], tree[f"credentials/{revoked}/certificate.pdf.sig"]
    tree.update(credential_files(UUIDS[9]))  # new: nothing cached to invalidate
    report = run(write_build(build, tree), settings, base_url="https://verify.example.org/")

    c = f"/credentials/{revoked}"
    expected = sorted([c, c + "/", c + "/index.html", c + "/certificate.pdf", c + "/certificate.pdf.sig",
                       c + "/statement.txt.asc", c + "/share.png", f"/api/v1/credentials/{revoked}"])
    assert invalidations(distribution) == [expected]
    assert report.invalidation_paths == expected and report.invalidation_id
    assert bucket_objects(s3, bucket, "site/") == expected_objects(tree)


def test_cdn_invalidation_is_collapsed_to_wildcards_when_many(build, settings, s3, bucket):
    distribution = make_distribution(bucket)
    settings = replace(settings, cdn_distribution_id=distribution)
    run(write_build(build, site_tree(UUIDS[:3])), settings)

    run(write_build(build, site_tree(UUIDS[:3], version="2")), settings)

    [paths] = invalidations(distribution)
    api = [f"/api/v1/credentials/{u}" for u in UUIDS[:3]]  # 21 credential paths became one
    assert paths == sorted(["/credentials/*", *api]) and len(paths) <= 15


def test_no_invalidation_without_a_distribution(build, settings, s3, bucket):
    distribution = make_distribution(bucket)
    run(write_build(build, site_tree(UUIDS[:2])), settings)
    report = run(write_build(build, site_tree(UUIDS[:2], version="2")), settings)
    assert report.uploaded and report.invalidation_paths == [] and report.invalidation_id is None
    assert invalidations(distribution) == []


def test_failed_invalidation_is_retried_by_the_next_publish(build, settings, s3, bucket):
    distribution = make_distribution(bucket)
    run(write_build(build, site_tree(UUIDS[:2])), settings)
    write_build(build, site_tree(UUIDS[:2], version="2"))

    with pytest.raises(SitegenError, match="CDN invalidation .* failed"):
        run(build, replace(settings, cdn_distribution_id="NOSUCHDIST"))
    assert bucket_objects(s3, bucket) == expected_objects(site_tree(UUIDS[:2], version="2"))
    # the pending paths are kept for the retry, without naming any credential
    parts = manifests(s3, bucket)
    assert any(m["invalidation"] and m["invalidation"]["paths"] for m in parts.values())
    assert not any(u in json.dumps(parts) for u in UUIDS)

    report = run(build, replace(settings, cdn_distribution_id=distribution))
    assert report.uploaded == 0 and report.invalidation_id
    assert "/credentials/*" in invalidations(distribution)[0]
    assert run(build, replace(settings, cdn_distribution_id=distribution)).invalidation_id is None


@pytest.mark.parametrize(
    "paths, expected",
    [
        (["/a", "/b/c"], ["/a", "/b/c"]),
        ([f"/credentials/{i:02}/index.html" for i in range(16)], ["/credentials/*"]),
        (
            [f"/credentials/{i:02}" for i in range(20)]
            + [f"/api/v1/credentials/{i:02}" for i in range(20)]
            + ["/index.html"],
            ["/api/v1/credentials/*", "/credentials/*", "/index.html"],
        ),
        ([f"/p{i:02}" for i in range(16)] + ["/"], ["/*"]),
        ([f"/a{i}/b{i}/c{i}" for i in range(20)], ["/*"]),
    ],
)
def test_collapse_paths(paths, expected):
    assert collapse_paths(paths) == expected


def test_invalidation_paths_include_the_folder_url_of_index_pages():
    assert invalidation_paths(["index.html", "about/index.html", "a b.css"], "/site/") == [
        "/site/", "/site/a%20b.css", "/site/about/", "/site/about/index.html", "/site/index.html"
    ]


@pytest.mark.parametrize("reachable", [True, False])
def test_a_password_in_the_endpoint_url_is_never_shown(build, settings, moto_server, reachable):
    write_build(build, site_tree(UUIDS[:1]))
    host = moto_server.url.split("://", 1)[1] if reachable else "127.0.0.1:9"
    endpoint = f"http://AKIAEXAMPLEUSER:s3cr3t-pass@{host}"
    if reachable:
        report = run(build, settings, endpoint_url=endpoint)
        shown = report.to_json() + "\n".join(report.lines) + report.summary()
        assert json.loads(report.to_json())["endpoint_url"] == f"http://{host}"
    else:
        with pytest.raises(SitegenError) as failure:
            run(build, settings, endpoint_url=endpoint)
        shown = str(failure.value)
        assert "stopped" in shown or "does not exist" in shown
    assert "s3cr3t-pass" not in shown and "AKIAEXAMPLEUSER" not in shown


def test_a_build_that_did_not_finish_is_never_published(build, settings, s3, bucket):
    write_build(build, site_tree(UUIDS[:1]))
    (build / ".sitegen/build-in-progress").write_text("4242")  # killed part-way
    with pytest.raises(SitegenError, match="the last build did not finish"):
        run(build, settings)
    assert snapshot(s3, bucket) == {}
