"""Publishing legacy certificates: the old agent's objects are never sitegen's.

The PDFs (`downloads/<download_uuid>/...`) and the old signatures
(`cert/<verify_uuid>/Certificate.pdf.sig`) are never in a publish plan: not uploaded
(`scan_build` skips such keys should a file be there) and never deleted (`make_plan` keeps
them out of the deletes, whatever a manifest says). The verification pages sitegen writes
(`cert/<verify_uuid>/index.html`, `valid.html`, `verify.html`) are ordinary shared pages:
uploaded over the old agent's `valid.html` and `verify.html`, recorded in the manifest.

The one exception is an erasure request: for each certificate in the build's erase list
(`layout.LEGACY_ERASE_FILE`), a publish deletes every version of the PDF, its signature and the
old pages, but the current "no longer available" page, once (the manifest of the
certificate's partition remembers it, by the hashed verify_uuid: the publish of the shard
that owns its pages does it). `legacy_erasures_in_bucket` lists what it would delete, for
`publish --dry-run`.
"""

from __future__ import annotations

import json
from pathlib import Path

from sitegen.layout import LEGACY_ERASE_FILE, is_uuid
from sitegen.legacy.paths import LegacyPaths, is_pdf_key, is_preserved_legacy_key
from sitegen.publish.manifest import key_id
from sitegen.shards import SHARED_PARTITION, partition_name, partition_of

__all__ = ["erase_purged_legacy", "is_preserved_legacy_key", "legacy_erasures", "legacy_erasures_in_bucket"]


def legacy_erasures(build_dir: Path) -> list[tuple[str, str | None]]:
    """(verify_uuid, PDF key or None) of every purged legacy certificate the build lists."""
    try:
        items = json.loads((build_dir / LEGACY_ERASE_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError):
        return []  # build/ may come from a shared cache: read field by field, never trusted
    found = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or not is_uuid(item.get("verify_uuid")):
            continue
        key = item.get("pdf_key")
        found.append((item["verify_uuid"], key if isinstance(key, str) and is_pdf_key(key) else None))
    return found


def _erased_id(verify_uuid: str) -> str:
    return key_id("legacy:" + verify_uuid)


def _to_erase(build_dir: Path, manifests: dict) -> list[tuple[str, str | None]]:
    """The build's purged legacy certificates whose partition this publish looks after and
    that are not erased yet (an older sitegen remembered them in the shared manifest)."""
    shared = manifests.get(SHARED_PARTITION)
    todo = []
    for verify_uuid, pdf in legacy_erasures(build_dir):
        partition = manifests.get(partition_name(partition_of(verify_uuid)))
        erased = _erased_id(verify_uuid)
        if partition is not None and erased not in partition.erased and not (shared and erased in shared.erased):
            todo.append((verify_uuid, pdf))
    return todo


def _prefixes(verify_uuid: str, pdf: str | None) -> list[str]:
    # The folder without its slash: its page's alias cert/<verify_uuid> (old versions with the
    # learner's name) is under it too; a verify_uuid is 32 digits, so nothing of another's is.
    return [LegacyPaths(verify_uuid).folder] + ([pdf] if pdf else [])


def legacy_erasures_in_bucket(bucket, build_dir: Path, manifests: dict, published: set[str]) -> list[str]:
    """The keys whose versions an erasure of the build's purged legacy certificates would
    delete, as `publish --dry-run` lists them: the PDF, its .sig, valid.html and verify.html
    (and, in a versioned bucket, the old versions of its page); never the current "no longer
    available" page."""
    return sorted(key for verify_uuid, pdf in _to_erase(build_dir, manifests)
                  for key in bucket.keys_under(_prefixes(verify_uuid, pdf), published))


def erase_purged_legacy(bucket, build_dir: Path, manifests: dict, published: set[str], *, log) -> list[str]:
    """Delete every version of every object of the build's purged legacy certificates, but
    the current page at their URL; once each, by the publish of the partition that owns
    their pages. The keys whose versions were deleted."""
    todo = _to_erase(build_dir, manifests)
    if not todo:
        return []
    log(f"  erasing the files of {len(todo)} purged legacy certificate(s)")
    erased = []
    for verify_uuid, pdf in todo:
        erased += bucket.delete_versions(_prefixes(verify_uuid, pdf), keep_current=published)
        manifests[partition_name(partition_of(verify_uuid))].erased.add(_erased_id(verify_uuid))
    bucket.write_manifests(manifests)
    return sorted(erased)
