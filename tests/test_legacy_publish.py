"""Publishing legacy certificates against the S3 server fixture: a dry run lists the erasures
it would make, an erasure leaves no old version holding the learner's name, shards publish
the pages of their own verify_uuids, and a bucket published when legacy pages were shared
keeps them all."""

from __future__ import annotations

import json

import sitegen.publish.plan as publish_plan
from legacyexport import NAMES, V1, V2, V3, V4, D, etags, legacy_site, preload
from s3server import bucket, moto_server, s3  # noqa: F401  (fixtures)
from sitegen.commands.build import BuildOptions, build
from sitegen.legacy.purge import purge_legacy
from sitegen.model import PublishSettings
from sitegen.publish.manifest import MANIFEST_DIR, USES_DIR, key_id
from sitegen.publish.sync import publish
from sitegen.shards import Shard


def _settings(bucket, moto_server) -> PublishSettings:
    return PublishSettings(bucket=bucket, endpoint_url=moto_server.url, max_deletes=1000)


def _build_and_publish(site, out, settings, shard=None):
    assert build(BuildOptions(site, jobs=1, out_dir=out, shard=shard)).ok
    return publish(out, settings, shard=shard, log=lambda line: None)


def _four(verify_uuid: str) -> list[str]:
    return sorted([f"downloads/{D[verify_uuid]}/Certificate.pdf", f"cert/{verify_uuid}/Certificate.pdf.sig",
                   f"cert/{verify_uuid}/valid.html", f"cert/{verify_uuid}/verify.html"])


def _objects(s3, bucket) -> dict[str, str]:
    """The published objects (the manifests left out) and their ETags."""
    return {key: etag for key, etag in etags(s3, bucket).items() if not key.startswith(MANIFEST_DIR)}


def _manifests(s3, bucket) -> dict[str, dict]:
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket, Prefix=MANIFEST_DIR + "/").get("Contents", ())
            if not item["Key"].startswith(USES_DIR + "/")]  # what each partition's pages link to
    return {key.rsplit("/", 1)[-1]: json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
            for key in keys}


def test_a_dry_run_lists_the_four_files_a_legacy_purge_erases(sample_site, signing_env, s3, bucket, moto_server,
                                                               tmp_path):
    site = legacy_site(sample_site, only_legacy=True)
    preload(s3, bucket)
    settings = _settings(bucket, moto_server)
    out = tmp_path / "out"
    _build_and_publish(site, out, settings)
    purge_legacy(site, V2)
    assert build(BuildOptions(site, jobs=1, out_dir=out)).ok
    before = etags(s3, bucket)

    lines = []
    report = publish(out, settings, dry_run=True, log=lines.append)
    assert report.legacy_erased == _four(V2)
    assert [line.split()[1] for line in lines if line.lstrip().startswith("erase ")] == _four(V2)
    assert "4 objects of purged legacy certificates to erase" in report.summary()
    assert etags(s3, bucket) == before  # a dry run changes nothing

    done = publish(out, settings, log=lambda line: None)
    assert set(done.deletes) | set(done.legacy_erased) == set(_four(V2))  # its pages go as any page does
    assert set(before) - set(etags(s3, bucket)) == set(_four(V2))
    again = publish(out, settings, dry_run=True, log=lambda line: None)
    assert again.legacy_erased == []  # erased once: the manifest remembers it


def test_an_erasure_leaves_no_old_version_with_the_learner_s_name(sample_site, signing_env, s3, bucket, moto_server,
                                                                 tmp_path):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    site = legacy_site(sample_site, only_legacy=True)
    settings = _settings(bucket, moto_server)
    out = tmp_path / "out"
    _build_and_publish(site, out, settings)
    purge_legacy(site, V2)
    _build_and_publish(site, out, settings)
    listing = s3.list_object_versions(Bucket=bucket, Prefix=f"cert/{V2}")
    versions = [(v["Key"], v["VersionId"]) for v in listing.get("Versions", ())]
    assert {key for key, _ in versions} == {f"cert/{V2}", f"cert/{V2}/", f"cert/{V2}/index.html"}  # the notice
    for key, version in versions:  # the alias cert/<verify_uuid> too: no copy of the old page is left
        body = s3.get_object(Bucket=bucket, Key=key, VersionId=version)["Body"].read().decode()
        assert NAMES[V2] not in body and "no longer available" in body, key


def test_shards_publish_the_legacy_pages_of_their_own_verify_uuids(sample_site, signing_env, s3, bucket,
                                                                   moto_server, tmp_path):
    site = legacy_site(sample_site, only_legacy=True)
    old = preload(s3, bucket)
    settings = _settings(bucket, moto_server)
    shards = (Shard(1, 2), Shard(2, 2))
    for shard in shards:
        _build_and_publish(site, tmp_path / f"shard-{shard.index}", settings, shard)
    published = etags(s3, bucket)
    for verify_uuid in (V1, V2, V3, V4):
        assert {f"cert/{verify_uuid}", f"cert/{verify_uuid}/", f"cert/{verify_uuid}/index.html"} <= set(published)
    manifests = _manifests(s3, bucket)
    cert_ids = {key_id(f"cert/{v}/{name}") for v in (V1, V2, V3, V4) for name in ("index.html", "valid.html")}
    assert not cert_ids & set(manifests["shared.json"]["objects"])  # each partition's, not shared
    assert all(published[key] == etags(s3, bucket)[key] for key in old if key.startswith("downloads/"))

    owner = next(s for s in shards if s.owns(V3))
    other = next(s for s in shards if s is not owner)
    purge_legacy(site, V3)
    _build_and_publish(site, tmp_path / f"shard-{other.index}", settings, other)
    assert set(_four(V3)) <= set(etags(s3, bucket))  # not the other shard's to erase
    report = _build_and_publish(site, tmp_path / f"shard-{owner.index}", settings, owner)
    assert set(report.deletes) | set(report.legacy_erased) == set(_four(V3))
    assert set(published) - set(etags(s3, bucket)) == set(_four(V3))


def test_a_bucket_published_when_legacy_pages_were_shared_keeps_them(sample_site, signing_env, s3, bucket,
                                                                    moto_server, tmp_path, monkeypatch):
    site = legacy_site(sample_site, only_legacy=True)
    settings = _settings(bucket, moto_server)
    out = tmp_path / "out"
    assert build(BuildOptions(site, jobs=1, out_dir=out)).ok
    partition = publish_plan.credential_partition
    with monkeypatch.context() as before:  # as sitegen published them until now: shared pages
        before.setattr(publish_plan, "credential_partition",
                       lambda key: None if key.startswith("cert/") else partition(key))
        publish(out, settings, log=lambda line: None)
    shared = set(_manifests(s3, bucket)["shared.json"]["objects"])
    assert key_id(f"cert/{V1}/index.html") in shared
    published = _objects(s3, bucket)

    report = publish(out, settings, log=lambda line: None)
    assert (report.uploaded, report.deleted) == (0, 0)
    assert _objects(s3, bucket) == published
    manifests = _manifests(s3, bucket)
    assert key_id(f"cert/{V1}/index.html") not in manifests["shared.json"]["objects"]
    assert any(key_id(f"cert/{V1}/index.html") in m["objects"] for name, m in manifests.items()
               if name != "shared.json")
    for shard in (Shard(1, 2), Shard(2, 2)):  # and a matrix after it
        build(BuildOptions(site, jobs=1, out_dir=tmp_path / f"shard-{shard.index}", shard=shard))
        assert publish(tmp_path / f"shard-{shard.index}", settings, shard=shard, log=lambda line: None).deleted == 0
    assert _objects(s3, bucket) == published
