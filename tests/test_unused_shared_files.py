"""Sharded publishing deletes the shared files named by their bytes (share cards, fingerprinted
assets) that no page links to any more, after a grace period, against a real S3 server (moto,
server mode, on 127.0.0.1).

Each credential partition records what its pages link to (`.sitegen/publish-manifest/uses/`);
the publish of the shared pages (shard 1) reads those records, notes since when a file of
sitegen's has been unused, and deletes it at a later publish once the grace period is over.
Most tests publish small fake builds in this process with an injected clock; the last one
builds and publishes the sample project for real, with the CLI."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path

import pytest

from s3server import bucket, moto_server, s3  # noqa: F401  (fixtures)
from sitegen.model import PublishSettings
from sitegen.publish import sync
from sitegen.publish.manifest import USES_DIR, key_id, manifest_key, uses_key
from sitegen.publish.scope import is_content_named
from sitegen.shards import SHARED_PARTITION, Shard
from test_publish import FAST, credential_files, listing, write_build
from test_shards import build_and_publish, env, new_bucket, publish, site  # noqa: F401  (fixtures)

# 16 shards (each lists the key ranges of 16 partitions, not 128): A's is shard 1, B's and C's
# others; with 3 shards, C's partition is shard 1's.
N = 16
A = "00" + "a1" * 15  # partition 00: shard 1 of 16, shard 1 of 3
B = "01" + "b1" * 15  # partition 01: shard 2 of 16, shard 2 of 3
C = "03" + "c1" * 15  # partition 03: shard 4 of 16, shard 1 of 3
T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
STYLE = b"body{color:navy}"


SHARD_1 = Shard(1, N)


def card(name: str) -> str:
    """The key of a share card (whose bytes are `name`): named by its bytes."""
    return f"cards/{hashlib.sha256(name.encode()).hexdigest()}.png"


def asset(data: bytes) -> str:
    return f"assets/site.{hashlib.sha256(data).hexdigest()[:8]}.css"


def write_shard(root: Path, shard: Shard | None, awards: dict[str, str], style: bytes = STYLE) -> Path:
    """A fake build of `shard` (None: the whole site) in root/<K-of-N>: its credentials, the
    cards they show (`awards`: credential -> card), the theme's stylesheet; shard 1 the shared
    pages too."""
    tree = {asset(style): style}
    for uuid, name in awards.items():
        if shard is None or shard.owns(uuid):
            tree.update(credential_files(uuid))
            page = f'<!doctype html><meta property="og:image" content="/{card(name)}">'
            tree[f"credentials/{uuid}/index.html"] = page.encode()
            tree[card(name)] = name.encode()
    if shard is None or shard.publishes_shared:
        tree.update({"index.html": b"<!doctype html>home", "verify/index.html": b"<!doctype html>verify"})
    build = write_build(root / (f"{shard.index}-of-{shard.count}" if shard else "whole"), tree)
    if shard is not None:
        report = build / ".sitegen/last-build.json"
        report.write_text(json.dumps({**json.loads(report.read_text()), "shard": str(shard)}))
    return build


@pytest.fixture
def settings(bucket, moto_server) -> PublishSettings:
    return PublishSettings(bucket=bucket, endpoint_url=moto_server.url, unused_grace_hours=72)


def run(build: Path, settings: PublishSettings, shard: Shard | None, hours: float, **kwargs) -> sync.PublishReport:
    """Publish at T0 + `hours`; the lines it logged in `report.lines`."""
    lines: list[str] = []
    report = sync.publish(build, settings, shard=shard, now=T0 + dt.timedelta(hours=hours), log=lines.append,
                          retry=FAST, jobs=4, **kwargs)
    report.lines = lines
    return report


def publish_all(root: Path, settings, awards: dict[str, str], hours: float, count: int = N,
                style: bytes = STYLE) -> dict[int, sync.PublishReport]:
    """Every shard of `count` that has credentials, the others before shard 1, which then
    reads what they recorded: index -> its report."""
    others = sorted({k for k in range(2, count + 1) for uuid in awards if Shard(k, count).owns(uuid)})
    return {k: run(write_shard(root, Shard(k, count), awards, style), settings, Shard(k, count), hours)
            for k in [*others, 1]}


def keys(s3, bucket: str) -> set[str]:
    return {k for k in listing(s3, bucket) if not k.startswith(".sitegen/")}


def shared_manifest(s3, bucket: str) -> dict:
    return json.loads(s3.get_object(Bucket=bucket, Key=manifest_key(SHARED_PARTITION))["Body"].read())


def test_an_unused_card_waits_out_the_grace_period_then_goes(tmp_path, settings, s3, bucket):
    awards = {A: "card-x", B: "card-y", C: "card-z"}
    publish_all(tmp_path, settings, awards, hours=0)
    # Only shard 2's pages show cards y and z: shard 1 took them as sitegen's from its record.
    assert {key_id(card("card-y")), key_id(card("card-z"))} <= set(shared_manifest(s3, bucket)["objects"])
    shard_1 = tmp_path / f"1-of-{N}"
    z = card("card-z")

    publish_all(tmp_path, settings, {**awards, C: "card-y"}, hours=1)  # C's course renamed: z unused
    assert z in keys(s3, bucket)  # found unused now: not deleted yet
    dry = run(shard_1, settings, SHARD_1, hours=2, dry_run=True)
    assert dry.deletes == [] and [w["key"] for w in dry.waiting] == [z]
    assert dry.waiting[0] == {"key": z, "unused_since": "2026-03-01T13:00:00Z", "deleted_from": "2026-03-04T13:00:00Z"}
    assert any(re.fullmatch(rf"  unused +{z} \(no page links to it since 2026-03-01T13:00:00Z; deleted from "
                            r"2026-03-04T13:00:00Z\)", line) for line in dry.lines), dry.lines
    assert json.loads(dry.to_json())["waiting"] == dry.waiting
    assert run(shard_1, settings, SHARD_1, hours=72).deleted == 0  # 71 hours: still waiting
    assert z in keys(s3, bucket)

    dry = run(shard_1, settings, SHARD_1, hours=74, dry_run=True)
    assert dry.deletes == [z] and dry.waiting == []
    assert f"  delete          {z} (no page links to it since 2026-03-01T13:00:00Z)" in dry.lines
    done = run(shard_1, settings, SHARD_1, hours=74)
    assert done.deletes == [z] and z not in keys(s3, bucket)
    assert {card("card-x"), card("card-y"), asset(STYLE)} <= keys(s3, bucket)
    manifest = shared_manifest(s3, bucket)
    assert key_id(z) not in manifest["objects"] and "unused" not in manifest
    assert run(shard_1, settings, SHARD_1, hours=75).deleted == 0  # nothing left to do


def test_a_theme_change_retires_the_old_asset_fingerprint(tmp_path, settings, s3, bucket):
    awards = {A: "card-x", B: "card-y"}
    publish_all(tmp_path, settings, awards, hours=0)
    new_style = b"body{color:teal}"

    first = publish_all(tmp_path, settings, awards, hours=1, style=new_style)[1]
    assert first.deleted == 0 and [w["key"] for w in first.waiting] == [asset(STYLE)]
    later = run(tmp_path / f"1-of-{N}", settings, SHARD_1, hours=80)
    assert later.deletes == [asset(STYLE)] and asset(new_style) in keys(s3, bucket)


def test_a_file_used_again_is_forgotten_and_its_clock_starts_again(tmp_path, settings, s3, bucket):
    awards = {A: "card-x", B: "card-y", C: "card-z"}
    publish_all(tmp_path, settings, awards, hours=0)
    z = card("card-z")
    assert [w["key"] for w in publish_all(tmp_path, settings, {**awards, C: "card-y"}, hours=1)[1].waiting] == [z]

    again = publish_all(tmp_path, settings, awards, hours=50)[1]  # C shows z again
    assert again.waiting == [] and again.deleted == 0
    assert "unused" not in shared_manifest(s3, bucket)

    unused_again = publish_all(tmp_path, settings, {**awards, C: "card-y"}, hours=60)[1]
    assert unused_again.waiting[0]["unused_since"] == "2026-03-04T00:00:00Z"  # T0 + 60 h, not T0 + 1 h
    assert run(tmp_path / f"1-of-{N}", settings, SHARD_1, hours=100).deleted == 0
    assert z in keys(s3, bucket)


def test_a_card_other_shards_link_to_is_never_deleted(tmp_path, settings, s3, bucket):
    awards = {A: "card-x", B: "card-x"}  # shown by both shards' pages; recorded by shard 1
    publish_all(tmp_path, settings, awards, hours=0)
    x = card("card-x")

    publish_all(tmp_path, settings, {**awards, A: "card-w"}, hours=1)  # shard 1's pages no longer show it
    for hours in (100, 200, 300):
        report = run(tmp_path / f"1-of-{N}", settings, SHARD_1, hours=hours)
        assert report.deleted == 0 and report.waiting == [] and report.kept == 1
    assert x in keys(s3, bucket)


def test_a_partition_without_a_record_of_its_links_keeps_everything(tmp_path, settings, s3, bucket):
    awards = {A: "card-x", B: "card-y", C: "card-z"}
    publish_all(tmp_path, settings, awards, hours=0)
    publish_all(tmp_path, settings, {**awards, C: "card-y"}, hours=1)  # z waits from T0 + 1 h
    s3.delete_object(Bucket=bucket, Key=uses_key("03"))  # as an older sitegen left partition 03
    shard_1 = tmp_path / f"1-of-{N}"

    dry = run(shard_1, settings, SHARD_1, hours=100, dry_run=True)
    assert dry.deletes == [] and dry.waiting == [] and dry.uses_unknown == ["03"] and dry.kept == 2  # y and z
    assert any(line.startswith("  keep            2 shared files named by their bytes: what the pages of "
                               "partitions 03 link to is not recorded") for line in dry.lines), dry.lines
    kept = run(shard_1, settings, SHARD_1, hours=100)
    assert kept.deleted == 0 and card("card-z") in keys(s3, bucket)
    assert "not recorded" in kept.lines[-1]
    assert "unused" not in shared_manifest(s3, bucket)  # the clock starts again once it is known

    run(tmp_path / f"4-of-{N}", settings, Shard(4, N), hours=101)  # C's shard records what 03 links to
    known = run(shard_1, settings, SHARD_1, hours=102)
    assert known.uses_unknown == [] and known.deleted == 0
    assert [w["key"] for w in known.waiting] == [card("card-z")]


def test_a_shard_adds_again_a_card_deleted_under_its_pages(tmp_path, settings, s3, bucket):
    """The race the grace period makes rare: shard 1 deletes a card just as shard 2 links to it
    again. Shard 2's next publish puts it back, and shard 1 takes it as sitegen's again."""
    awards = {A: "card-x", B: "card-y"}
    publish_all(tmp_path, settings, awards, hours=0)
    y = card("card-y")
    s3.delete_object(Bucket=bucket, Key=y)

    healed = run(tmp_path / f"2-of-{N}", settings, Shard(2, N), hours=1)

    assert healed.uploads == [{"key": y, "reason": "new"}]
    assert s3.get_object(Bucket=bucket, Key=y)["Body"].read() == b"card-y"
    run(tmp_path / f"1-of-{N}", settings, SHARD_1, hours=2)
    assert key_id(y) in shared_manifest(s3, bucket)["objects"]


def test_a_shard_that_links_to_a_file_again_while_shard_1_publishes_saves_it(tmp_path, settings, s3, bucket):
    awards = {A: "card-x", B: "card-y", C: "card-z"}
    publish_all(tmp_path, settings, awards, hours=0)
    publish_all(tmp_path, settings, {**awards, C: "card-y"}, hours=1)
    z = card("card-z")
    shard_4 = write_shard(tmp_path, Shard(4, N), awards)  # C shows z again: its shard publishes meanwhile

    def log(line: str) -> None:  # shard 1 has made its plan (z retiring), and not deleted yet
        if line.startswith("publishing to"):
            assert run(shard_4, settings, Shard(4, N), hours=100).uploaded > 0

    report = sync.publish(tmp_path / f"1-of-{N}", settings, shard=SHARD_1, now=T0 + dt.timedelta(hours=100),
                          log=log, retry=FAST, jobs=4)

    assert report.deleted == 0 and report.waiting == [] and z in keys(s3, bucket)
    assert "unused" not in shared_manifest(s3, bucket)


class Killed(Exception):
    pass


def test_a_shard_killed_before_its_pages_still_records_what_its_old_pages_link_to(tmp_path, settings, s3, bucket):
    awards = {A: "card-x", B: "card-y", C: "card-z"}
    publish_all(tmp_path, settings, awards, hours=0)
    z = card("card-z")
    shard_4 = write_shard(tmp_path, Shard(4, N), {**awards, C: "card-y"})  # C's new page will show y

    def killed(line: str) -> None:
        if line.startswith("  uploading"):  # intent recorded, C's old page (showing z) still up
            raise Killed

    with pytest.raises(Killed):
        sync.publish(shard_4, settings, shard=Shard(4, N), now=T0 + dt.timedelta(hours=1), log=killed, retry=FAST)
    for hours in (2, 100):
        report = run(tmp_path / f"1-of-{N}", settings, SHARD_1, hours=hours)
        assert report.waiting == [] and report.deleted == 0 and z in keys(s3, bucket)

    run(shard_4, settings, Shard(4, N), hours=101)  # C's new page is up: z is no longer used
    assert [w["key"] for w in run(tmp_path / f"1-of-{N}", settings, SHARD_1, hours=102).waiting] == [z]


def test_another_shard_count_later_still_knows_what_every_partition_uses(tmp_path, settings, s3, bucket):
    awards = {A: "card-x", B: "card-y", C: "card-z"}
    publish_all(tmp_path, settings, awards, hours=0)  # partition 03 (C, card z) is shard 4's

    # Three shards: partition 03 is shard 1's now, and its pages no longer show z.
    first = publish_all(tmp_path, settings, {**awards, C: "card-y"}, hours=1, count=3)[1]
    assert first.uses_unknown == [] and [w["key"] for w in first.waiting] == [card("card-z")]
    later = run(tmp_path / "1-of-3", settings, Shard(1, 3), hours=80)
    assert later.deletes == [card("card-z")]
    assert {card("card-x"), card("card-y")} <= keys(s3, bucket)


def test_a_publish_without_shard_records_what_every_partition_uses(tmp_path, settings, s3, bucket):
    awards = {A: "card-x", B: "card-y", C: "card-z"}
    run(write_shard(tmp_path, None, awards), settings, None, hours=0)
    assert {k for k in listing(s3, bucket) if k.startswith(USES_DIR + "/")} == {uses_key(p) for p in ("00", "01", "03")}

    report = run(write_shard(tmp_path, SHARD_1, {**awards, C: "card-y"}), settings, SHARD_1, hours=1)

    assert report.uses_unknown == []  # B's and C's shards have not published yet: the whole site's publish said it


def test_sharded_rebuild_after_a_rename_and_a_theme_change(site, tmp_path, env, s3):
    """The sample project for real: a course renamed, the stylesheet changed, a learner removed,
    another revoked; every shard rebuilt and published (grace 0 hours)."""
    bucket = new_bucket(s3)
    (site / "site.yml").write_text((site / "site.yml").read_text(encoding="utf-8")
                                   + "\npublish:\n  unused_grace_hours: 0\n", encoding="utf-8")

    def build_all() -> list[dict]:
        reports = {index: build_and_publish(site, tmp_path / f"shard-{index}", bucket, env, "--shard", f"{index}/2")
                   for index in (2, 1)}
        return [reports[1], reports[2]]

    def named_by_bytes(index: int) -> set[str]:
        out = tmp_path / f"shard-{index}"
        files = (p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
        return {key for key in files if is_content_named(key)}

    build_all()
    before = named_by_bytes(1) | named_by_bytes(2)
    assert before <= keys(s3, bucket)
    site_yml = site / "site.yml"
    site_yml.write_text(site_yml.read_text(encoding="utf-8").replace("title: Cells & Systems",
                                                                      "title: Cells, Tissues & Systems"),
                        encoding="utf-8")
    style = next((site / "themes/plain/static").glob("*.css"))
    style.write_text(style.read_text(encoding="utf-8") + "\nfooter { margin-top: 2em; }\n", encoding="utf-8")
    awards = site / "credentials_data/awards.csv"
    lines = awards.read_text(encoding="utf-8").splitlines(keepends=True)
    awards.write_text("".join(line.replace(",honor,awarded,2026-03-15,,,", ",honor,revoked,2026-03-15,,Error,")
                              for line in lines if not line.startswith("0a1b2c3d")), encoding="utf-8")

    first, _ = build_all()

    after = named_by_bytes(1) | named_by_bytes(2)
    unused = before - after
    elsewhere = (before & named_by_bytes(2)) - named_by_bytes(1)  # Zoë's card: shard 2's pages still show it
    assert len([k for k in unused if k.startswith("cards/")]) >= 2 and any(k.startswith("assets/") for k in unused)
    assert elsewhere and not elsewhere & unused
    assert {w["key"] for w in first["waiting"]} == unused
    assert first["deletes"] and not any(is_content_named(k) for k in first["deletes"])  # Zoë's objects only
    assert unused <= keys(s3, bucket)

    second = publish(site, tmp_path / "shard-1", bucket, env, "--shard", "1/2")
    assert sorted(second["deletes"]) == sorted(unused) and second["waiting"] == []
    published = keys(s3, bucket)
    assert not unused & published and elsewhere <= published and after <= published
    links = set()
    for key in published:  # every page links only to what is there
        if key.endswith(".html"):
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
            linked = {k for k in re.findall(r"(?:cards|assets)/[\w./-]+", body) if is_content_named(k)}
            assert linked <= published, (key, linked - published)
            links |= linked
    assert elsewhere <= links and any(k.startswith("assets/") for k in links)
    third = publish(site, tmp_path / "shard-1", bucket, env, "--shard", "1/2")
    assert third["deleted"] == 0 and elsewhere <= keys(s3, bucket)
