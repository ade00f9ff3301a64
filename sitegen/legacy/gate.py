"""The build's way into the legacy stage, which a project without legacy certificates never imports.

Most projects never had an edX export. For them the legacy stage (`stage.py` and what it
imports: the export reader, the legacy pages, their plan, state and row cache) has nothing
to do, yet importing it took ~12 ms of every build's start: more than a no-op build of a
small project does. The build calls `load_legacy_build` and `build_legacy` through here.
When the project has no export, no legacy purge list and no cache of exports' rows, they
answer at once. `build_legacy` also checks that the output folder holds nothing the stage
wrote (its state, erase list, URL map, pages under cert/). In every other case they import
the stage and call it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sitegen.layout import LEGACY_CERT_DIR, LEGACY_ERASE_FILE, LEGACY_STATE_FILE, LEGACY_URL_MAP_FILE
from sitegen.legacy.detect import is_legacy_export
from sitegen.load.records import RECORD_SUFFIXES, RECORDS_DIR

if TYPE_CHECKING:
    from sitegen.legacy.stage import LegacyBuild
    from sitegen.model import Site
    from sitegen.render.theme import Theme
    from sitegen.report import LegacyReport
    from sitegen.shards import Shard
    from sitegen.write.files import OutputTree

LEGACY_PURGE_LIST = "credentials_data/legacy-purged.txt"  # read by purge_list.py
# What the legacy stage leaves in a site's output folder: while any is there, it runs.
_STAGE_FILES = (LEGACY_STATE_FILE, LEGACY_ERASE_FILE, LEGACY_URL_MAP_FILE, LEGACY_CERT_DIR)


def export_files(site_root: Path) -> list[Path]:
    """The exports in credentials_data/ (hidden files never), sorted."""
    folder = site_root / RECORDS_DIR
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*.[cC][sS][vV]")
                  if p.is_file() and p.suffix.lower() in RECORD_SUFFIXES
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts)
                  and is_legacy_export(p))


@dataclass(frozen=True)
class NoLegacyCertificates:
    """A site's legacy certificates when its project has none: nothing to check, keep or erase."""

    site: Site
    shard: Shard | None
    cache_dir: Path | None
    empty = True  # as LegacyBuild's: nothing here, and nothing purged here
    purged_here = ()

    def save_cache(self) -> None:
        """No export was read: there is nothing to keep."""


def load_legacy_build(site: Site, shard: Shard | None = None,
                      cache_dir: Path | None = None) -> LegacyBuild | NoLegacyCertificates:
    """`stage.load_legacy_build`, or at once `NoLegacyCertificates` for a project with none."""
    if not _has_legacy_inputs(site.root, cache_dir):
        return NoLegacyCertificates(site, shard, cache_dir)
    from sitegen.legacy import stage

    return stage.load_legacy_build(site, shard, cache_dir)


def build_legacy(legacy: LegacyBuild | NoLegacyCertificates, theme: Theme, tree: OutputTree, written: list[str],
                 *, jobs: int = 1, progress_stream=None) -> LegacyReport | None:
    """`stage.build_legacy`, or at once None (no legacy report) when the project has no legacy
    certificate and the output folder holds nothing the stage wrote."""
    if isinstance(legacy, NoLegacyCertificates) and not _has_stage_files(tree.root):
        return None
    from sitegen.legacy import stage

    if isinstance(legacy, NoLegacyCertificates):  # the exports went: the stage removes their pages
        legacy = stage.load_legacy_build(legacy.site, legacy.shard, legacy.cache_dir)
    return stage.build_legacy(legacy, theme, tree, written, jobs=jobs, progress_stream=progress_stream)


def _has_legacy_inputs(site_root: Path, cache_dir: Path | None) -> bool:
    """An export, a legacy purge list (even empty: the stage checks it), or cached rows of an
    export (the stage forgets those of exports that went)."""
    if os.path.lexists(site_root / LEGACY_PURGE_LIST) or (cache_dir is not None and os.path.lexists(cache_dir)):
        return True
    return bool(export_files(site_root))


def _has_stage_files(out: Path) -> bool:
    return any(os.path.lexists(out / path) for path in _STAGE_FILES)
