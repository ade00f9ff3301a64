"""The build's legacy stage: verification pages at the old agent's URLs, the erasure of
purged legacy certificates, and the URL map for the platform's dashboard links.

`load_legacy_build(site)` reads and checks (before anything is written; bad input raises
`InputProblems`); `build_legacy(...)` writes. The stage keeps no state of its own: what
is under `cert/` in the output folder is its, and it looks there for pages whose row is
gone. Legacy pages are shared files (no credential owns them): in a sharded build, shard 1
writes them, as it writes every shared page.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
from dataclasses import dataclass, field

from sitegen.errors import InputProblems, Problem
from sitegen.layout import LEGACY_CERT_DIR, LEGACY_URL_MAP_FILE, is_uuid
from sitegen.legacy.export import LegacyCertificate, LegacyExport, load_legacy
from sitegen.legacy.pages import PAGE_TEMPLATE, WITHDRAWN_TEMPLATE, legacy_pages, legacy_withdrawn_page
from sitegen.legacy.paths import ERASE_FILE, OLD_PAGES, PAGES, LegacyPaths
from sitegen.legacy.purge_list import LegacyPurgeList, load_legacy_purge_list
from sitegen.model import Site
from sitegen.render.theme import Theme
from sitegen.write.files import OutputTree

log = logging.getLogger("sitegen")
URL_MAP_COLUMNS = ("certificate_id", "verify_uuid", "legacy_url", "page_url")


@dataclass
class LegacyBuild:
    """A site's legacy certificates and purges, checked, nothing written yet."""

    certificates: list[LegacyCertificate] = field(default_factory=list)
    purged: LegacyPurgeList | None = None
    export: LegacyExport | None = None
    elsewhere: int = 0  # certificates of courses no site of the project names (several sites)

    @property
    def empty(self) -> bool:
        return not self.certificates and not (self.purged and self.purged.entries)


def load_legacy_build(site: Site) -> LegacyBuild:
    """The site's legacy certificates, or InputProblems: every bad row, one line each."""
    export = load_legacy(site.root)
    purged = load_legacy_purge_list(site.root)
    problems = export.problems + purged.problems + [
        Problem(where.file, where.line, "verify_uuid",
                f"{uuid} was purged ({purged.entries[uuid].source}): its row must not come back; "
                f"run sitegen purge {uuid} again to remove it")
        for uuid, where in export.rows.items() if uuid in purged]
    mine = [c for c in export.certificates if _publishes(site, c)]
    legacy = LegacyBuild(mine, purged, export, len(export.certificates) - len(mine))
    if not legacy.empty:
        problems += _missing_templates(site)
    if problems:
        raise InputProblems(problems)
    return legacy


def _missing_templates(site: Site) -> list[Problem]:
    """A theme needs the legacy templates to show legacy certificates: one line each, saying
    where to copy them from (they extend the theme's own base.html)."""
    folder = site.theme_dir / "templates"
    return [Problem((folder / name).relative_to(site.root).as_posix(), None, None,
                    f"missing: legacy certificates need it; copy themes/default/templates/{name} into the theme")
            for name in (PAGE_TEMPLATE, WITHDRAWN_TEMPLATE) if not (folder / name).is_file()]


def _publishes(site: Site, certificate: LegacyCertificate) -> bool:
    """A project of one site publishes every legacy certificate; of several, each site
    those of its organizations' courses."""
    if not site.key:
        return True
    course = site.courses.get(certificate.course_id)
    return course is not None and course.org in site.served


def build_legacy(legacy: LegacyBuild, theme: Theme, tree: OutputTree, written: list[str]) -> None:
    """Write the pages of every legacy certificate, the "no longer available" page of every
    purged one, remove pages whose row is gone, and write the URL map and the erase list.
    Site paths of files changed go to `written` (the build report's site files)."""
    if legacy.export and legacy.export.skipped_line():
        log.warning(legacy.export.skipped_line())
    if legacy.elsewhere:
        log.warning(f"legacy certificates: {legacy.elsewhere} of courses this site does not publish, left out")
    wanted: set[str] = set()
    for certificate in legacy.certificates:
        wanted.add(certificate.verify_uuid)
        for path, data in legacy_pages(theme, certificate).items():
            if tree.write_if_changed(path, data):
                written.append(path)
    purged = legacy.purged.entries if legacy.purged else {}
    for verify_uuid in purged:
        _erase(tree, verify_uuid, legacy_withdrawn_page(theme, verify_uuid), written)
    for verify_uuid in _folders(tree) - wanted - set(purged):
        _remove(tree, verify_uuid, written)  # its row was deleted, or is no longer downloadable
    _write_state_file(tree, LEGACY_URL_MAP_FILE, url_map(legacy.certificates, theme.site.base_url))
    erase = [{"verify_uuid": e.verify_uuid, "pdf_key": e.pdf_key} for e in purged.values()]
    _write_state_file(tree, ERASE_FILE, (json.dumps(erase, indent=1) + "\n").encode() if erase else None)


def _erase(tree: OutputTree, verify_uuid: str, notice: bytes, written: list[str]) -> None:
    paths = LegacyPaths(verify_uuid)
    for name in OLD_PAGES:
        if tree.remove(paths.file(name)):
            written.append(paths.file(name))
    tree.remove(paths.signature)  # a local copy of the old agent's files, if anyone put one there
    if tree.write_if_changed(paths.file("index.html"), notice):
        written.append(paths.file("index.html"))


def _remove(tree: OutputTree, verify_uuid: str, written: list[str]) -> None:
    paths = LegacyPaths(verify_uuid)
    for name in PAGES:
        if tree.remove(paths.file(name)):
            written.append(paths.file(name))
    try:
        tree.path(paths.folder).rmdir()
    except OSError:
        pass  # not empty (a file sitegen did not write): left alone


def _folders(tree: OutputTree) -> set[str]:
    try:
        with os.scandir(tree.path(LEGACY_CERT_DIR)) as entries:
            return {e.name for e in entries if e.is_dir(follow_symlinks=False) and is_uuid(e.name)}
    except FileNotFoundError:
        return set()


def url_map(certificates: list[LegacyCertificate], base_url: str) -> bytes | None:
    """Every legacy URL -> the certificate's page, as CSV, for the platform's dashboard links.
    It lists verify_uuids, as private as credential IDs: it is kept in the build's state
    folder, never published (the site must never list its certificates)."""
    if not certificates:
        return None
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(URL_MAP_COLUMNS)
    for c in sorted(certificates, key=lambda c: int(c.certificate_id)):
        page = base_url + c.paths.page
        legacy_urls = [base_url + c.paths.file(name) for name in OLD_PAGES]
        legacy_urls.append(c.download_url or base_url + c.pdf_key)
        for legacy_url in legacy_urls:
            writer.writerow((c.certificate_id, c.verify_uuid, legacy_url, page))
    return out.getvalue().encode("utf-8")


def _write_state_file(tree: OutputTree, path: str, data: bytes | None) -> None:
    if data is None:
        tree.remove(path)
    else:
        tree.write_if_changed(path, data)
