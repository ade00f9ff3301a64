"""Publishing legacy certificates: the old agent's objects are never sitegen's.

The PDFs (`downloads/<download_uuid>/...`) and the old signatures
(`cert/<verify_uuid>/Certificate.pdf.sig`) are never in a publish plan: not uploaded
(`scan_build` skips such keys should a file be there) and never deleted (`make_plan` keeps
them out of the deletes, whatever a manifest says). The verification pages sitegen writes
(`cert/<verify_uuid>/index.html`, `valid.html`, `verify.html`) are ordinary shared pages:
uploaded over the old agent's `valid.html` and `verify.html`, recorded in the manifest.

The one exception is an erasure request: for each certificate in the build's erase list
(`paths.ERASE_FILE`), a publish deletes every version of the PDF, its signature and the
old pages, but the current "no longer available" page, once (the shared manifest
remembers it, by the hashed verify_uuid).
"""

from __future__ import annotations

import json
from pathlib import Path

from sitegen.layout import is_uuid
from sitegen.legacy.paths import ERASE_FILE, LegacyPaths, is_pdf_key, is_preserved_legacy_key
from sitegen.publish.manifest import key_id
from sitegen.shards import SHARED_PARTITION

__all__ = ["erase_purged_legacy", "is_preserved_legacy_key", "legacy_erasures"]


def legacy_erasures(build_dir: Path) -> list[tuple[str, str | None]]:
    """(verify_uuid, PDF key or None) of every purged legacy certificate the build lists."""
    try:
        items = json.loads((build_dir / ERASE_FILE).read_text(encoding="utf-8"))
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


def erase_purged_legacy(bucket, build_dir: Path, manifests: dict, published: set[str], *, dry_run: bool,
                        log) -> int:
    """Delete every version of every object of the build's purged legacy certificates, but
    the current page at their URL; once each. Only the publish of the shared partition does
    it (the pages are shared). The number of certificates erased (or to erase)."""
    shared = manifests.get(SHARED_PARTITION)
    if shared is None:
        return 0
    todo = [(u, key) for u, key in legacy_erasures(build_dir) if _erased_id(u) not in shared.erased]
    if not todo or dry_run:
        return len(todo)
    log(f"  erasing the files of {len(todo)} purged legacy certificate(s)")
    for verify_uuid, pdf in todo:
        prefixes = [LegacyPaths(verify_uuid).folder + "/"] + ([pdf] if pdf else [])
        bucket.delete_versions(prefixes, keep_current=published)
        shared.erased.add(_erased_id(verify_uuid))
    bucket.write_manifests(manifests)
    return len(todo)
