"""The build's legacy stage: verification pages at the old agent's URLs, the erasure of
purged legacy certificates, and the URL map for the platform's dashboard links.

`load_legacy_build(site, shard)` reads and checks every export before anything is written
(bad input raises `InputProblems`), streaming it: what it keeps of each of this build's
certificates is its verify_uuid and the digest of what its pages show. `build_legacy(...)`
then plans against the stage's own state (`state.py`, `plan.py`): only new and changed
certificates are rendered (a theme or site.yml change renders them all), in worker
processes when there are many, reading the export again to get their rows; pages whose
row is gone are removed. A legacy certificate belongs to the shard of its verify_uuid, as
a credential to the shard of its UUID (`sitegen.shards`), so a sharded build splits them.

In a project of several sites, a legacy certificate is published by the site serving its
course's organization: the course's in site.yml, else the ORG of its course_id
(`course-v1:ORG+COURSE+RUN`, `ORG/COURSE/RUN`), an organization's key or short name. A
certificate of an organization no site serves is an error naming its row: its printed URL
would silently break.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sitegen.errors import InputProblems, Problem
from sitegen.layout import LEGACY_ERASE_FILE, LEGACY_URL_MAP_FILE
from sitegen.legacy.export import LegacyCertificate, LegacyExport, SeenIds, course_org, read_legacy
from sitegen.legacy.gate import export_files
from sitegen.legacy.pages import PAGE_TEMPLATE, WITHDRAWN_TEMPLATE, LegacyRenderer, legacy_withdrawn_page
from sitegen.legacy.paths import OLD_PAGES, PAGES, LegacyPaths
from sitegen.legacy.plan import LegacyPlan, inputs_digest, page_stamps, plan_legacy, site_facts
from sitegen.legacy.purge_list import LegacyPurgeList, load_legacy_purge_list
from sitegen.legacy.read_cache import RowCache
from sitegen.legacy.state import LegacyEntry, LegacyState
from sitegen.model import Site, SourceLocation
from sitegen.progress import Progress
from sitegen.render.theme import Theme
from sitegen.report import LegacyReport
from sitegen.shards import Shard
from sitegen.workers import run_tasks
from sitegen.write.files import OutputTree

log = logging.getLogger("sitegen")
URL_MAP_COLUMNS = ("certificate_id", "verify_uuid", "legacy_url", "page_url")
CERTIFICATES_PER_TASK = 500  # a worker's task: a few thousand pages, a few hundred ms
STATE_SAVE_INTERVAL = 20.0  # seconds between saves of the state during a long stage


@dataclass
class LegacyBuild:
    """A site's legacy certificates (a shard's), checked, nothing written yet."""

    site: Site
    inputs: dict[str, str] = field(default_factory=dict)  # verify_uuid -> inputs digest, in export order
    purged: LegacyPurgeList | None = None
    export: LegacyExport = field(default_factory=LegacyExport)
    other_sites: int = 0  # certificates of organizations another site of the project serves
    other_shards: int = 0
    shard: Shard | None = None
    cache: RowCache = field(default_factory=lambda: RowCache(None))

    @property
    def empty(self) -> bool:
        return not self.inputs and not self.purged_here

    @property
    def purged_here(self) -> list[str]:
        """The purged certificates whose "no longer available" page this build writes."""
        entries = self.purged.entries if self.purged else {}
        return [u for u in entries if self.shard is None or self.shard.owns(u)]

    def save_cache(self) -> None:
        """Keep the rows of the exports read afresh (once the build knows its input is good)."""
        self.cache.save()

    def certificates(self) -> Iterator[LegacyCertificate]:
        """This build's certificates, read from the exports again (streamed: 600k rows are
        never held), in export order."""
        return read_legacy(self.site.root, LegacyExport(), wanted=self.inputs)


def load_legacy_build(site: Site, shard: Shard | None = None, cache_dir: Path | None = None) -> LegacyBuild:
    """The site's (the shard's) legacy certificates, or InputProblems: every bad row, one
    line each. `site` is the whole project's view of it (every organization). `cache_dir`:
    where unchanged exports' rows are kept (read_cache.py); None: read every export."""
    purged = load_legacy_purge_list(site.root)
    legacy = LegacyBuild(site.own_part() if site.key else site, purged=purged, shard=shard,
                         cache=RowCache(cache_dir))
    facts = site_facts(legacy.site)
    problems: list[Problem] = []
    seen = SeenIds()
    for path in export_files(site.root):
        for row in legacy.cache.rows(site.root, path, legacy.export, purged.entries, seen):
            owner = _publishing_site(site, row.course_id, row.source)
            if isinstance(owner, Problem):
                problems.append(owner)
            elif owner != site.key:
                legacy.other_sites += 1
            elif shard is not None and not shard.owns(row.verify_uuid):
                legacy.other_shards += 1
            else:
                legacy.inputs[row.verify_uuid] = inputs_digest(row.digest, facts(row.course_id))
    problems = legacy.export.problems + problems + purged.problems + [
        Problem(where.file, where.line, "verify_uuid",
                f"{uuid} was purged ({purged.entries[uuid].source}): its row must not come back; "
                f"run sitegen purge {uuid} again to remove it")
        for uuid, where in legacy.export.purged_rows.items()]
    if not legacy.empty:
        problems += _missing_templates(site)
    if problems:
        raise InputProblems(sorted(problems, key=lambda p: (p.file, p.line or 0)))
    return legacy


def _publishing_site(site: Site, course_id: str, where: SourceLocation) -> str | Problem:
    """The key of the site that publishes a certificate of `course_id` ("" in a project of
    one site, which publishes every one), or the problem: its organization is no site's."""
    if not site.key:
        return ""
    course = site.courses.get(course_id)
    org = course.org if course else _organization(site, course_org(course_id))
    if org is None:
        named = course_org(course_id)
        why = (f"its organization {named!r} is not in site.yml's organizations, so no site publishes it: declare "
               "it there and add it to one site's organizations" if named else
               "not a course of site.yml nor an edX course ID (course-v1:ORG+COURSE+RUN or ORG/COURSE/RUN), "
               "so no site can be told to publish it: add the course to site.yml's courses")
        return Problem(where.file, where.line, "course_id",
                       f"{repr(course_id)[:80]}: {why} (its printed URL would break)")
    return site.key if org in site.served else "another site"


def _organization(site: Site, named: str | None) -> str | None:
    """The key of the organization an edX course ID names: by key, else by short name."""
    if named is None:
        return None
    if named in site.organizations:
        return named
    keys = [org.key for org in site.organizations.values() if org.short_name == named]
    return keys[0] if len(keys) == 1 else None


def _missing_templates(site: Site) -> list[Problem]:
    """A theme needs the legacy templates to show legacy certificates: one line each, saying
    where to copy them from (they extend the theme's own base.html)."""
    folder = site.theme_dir / "templates"
    return [Problem((folder / name).relative_to(site.root).as_posix(), None, None,
                    f"missing: legacy certificates need it; copy themes/default/templates/{name} into the theme")
            for name in (PAGE_TEMPLATE, WITHDRAWN_TEMPLATE) if not (folder / name).is_file()]


# -- the stage -----------------------------------------------------------------------------


@dataclass
class LegacyOutcome:
    verify_uuid: str
    stamps: tuple[int, ...] = ()
    theme_files: dict[str, str] = field(default_factory=dict)
    error: str | None = None


def _write_pages(tree: OutputTree, files: dict[str, bytes]) -> None:
    """A certificate's pages, the same bytes mostly: one file, linked at each page's path; a
    page that already holds its bytes is left alone."""
    paths: dict[bytes, list[str]] = {}
    for path, data in files.items():
        paths.setdefault(data, []).append(path)
    for data, same in paths.items():
        tree.write_linked(same, data)


@dataclass
class LegacyJob:
    """render -> write, one batch of certificates at a time (in a worker process, or this one)."""

    renderer: LegacyRenderer
    tree: OutputTree

    def run(self, batch: list[LegacyCertificate]) -> list[LegacyOutcome]:
        return [self._one(certificate) for certificate in batch]

    def _one(self, certificate: LegacyCertificate) -> LegacyOutcome:
        try:
            rendered = self.renderer.render(certificate)
            _write_pages(self.tree, rendered.files)
            stamps = page_stamps(self.tree.root, certificate)
        except Exception as err:  # one certificate's failure must not stop the others
            detail = traceback.format_exception_only(type(err), err)[-1].strip()
            return LegacyOutcome(certificate.verify_uuid, error=detail)
        return LegacyOutcome(certificate.verify_uuid, stamps, rendered.theme_files)


def build_legacy(legacy: LegacyBuild, theme: Theme, tree: OutputTree, written: list[str], *, jobs: int = 1,
                 progress_stream=None) -> LegacyReport | None:
    """Write the pages of new and changed legacy certificates, the "no longer available" page
    of every purged one, remove pages whose certificate this build does not have, and write
    the URL map and the erase list. Site paths of files removed go to `written` (the build
    report's site files). None when the project has no legacy certificate and never had."""
    _warn(legacy)
    out = tree.root
    report = LegacyReport(len(legacy.inputs), skipped=legacy.export.skipped, other_sites=legacy.other_sites,
                          other_shards=legacy.other_shards, files=legacy.export.files)
    state = LegacyState.load(out)
    purged = legacy.purged_here
    plan = plan_legacy(legacy.inputs, state, theme.file_digest, out, purged)
    if legacy.empty and not state.certificates and not plan.removed:
        for path in (LEGACY_ERASE_FILE, LEGACY_URL_MAP_FILE):
            tree.remove(path)
        return report if legacy.export.files else None  # none here, and none ever built here
    report.unchanged = plan.unchanged
    url_map = _url_map_digest(legacy)
    before = (len(state.certificates), state.url_map)
    map_lost = bool(legacy.inputs) and not tree.path(LEGACY_URL_MAP_FILE).exists()
    if plan.to_render or url_map != state.url_map or map_lost:
        _render(legacy, plan, state, LegacyJob(LegacyRenderer(theme), tree), report, jobs, progress_stream)
        state.url_map = url_map
    for verify_uuid in plan.removed:  # its row was deleted, is no longer downloadable, or is not this build's
        _remove(tree, verify_uuid, written)
        state.certificates.pop(verify_uuid, None)
    report.removed = len(plan.removed)
    for verify_uuid in purged:
        _erase(tree, verify_uuid, legacy_withdrawn_page(theme, verify_uuid), written)
        state.certificates.pop(verify_uuid, None)
    report.purged = len(purged)
    if plan.to_render or (len(state.certificates), state.url_map) != before:
        state.save(out)  # a no-op build does not even rewrite the state
    entries = legacy.purged.entries if legacy.purged else {}
    erase = [{"verify_uuid": u, "pdf_key": entries[u].pdf_key} for u in purged]
    _write_state_file(tree, LEGACY_ERASE_FILE, (json.dumps(erase, indent=1) + "\n").encode() if erase else None)
    return report


def _warn(legacy: LegacyBuild) -> None:
    if legacy.export.skipped_line():
        log.warning(legacy.export.skipped_line())


def _render(legacy: LegacyBuild, plan: LegacyPlan, state: LegacyState, job: LegacyJob, report: LegacyReport,
            jobs: int, progress_stream) -> None:
    """Render the certificates `plan` names, and write the URL map, in one more read of the
    export. Note that order matters: the state says "uncertain" on disk before any page is
    rewritten, and a certificate is certain again only once its three pages are written."""
    state.mark_uncertain(plan.to_render)
    if plan.to_render:
        state.save(job.tree.root)
    progress = Progress(len(plan.to_render), "Legacy pages", progress_stream)
    last_save = time.monotonic()
    with _UrlMap(job.tree, legacy.site.base_url) as url_map:
        batches = _batches(legacy.certificates(), plan, url_map)
        for outcomes in run_tasks(job, batches, jobs if len(plan.to_render) > CERTIFICATES_PER_TASK else 1):
            for outcome in outcomes:
                _record(outcome, legacy, plan, state, report)
            progress.advance(len(outcomes))
            if time.monotonic() - last_save > STATE_SAVE_INTERVAL:
                state.save(job.tree.root)  # a crash from here on redoes only what came after
                last_save = time.monotonic()
    progress.finish()


def _batches(certificates: Iterator[LegacyCertificate], plan: LegacyPlan, url_map: _UrlMap
             ) -> Iterator[list[LegacyCertificate]]:
    batch: list[LegacyCertificate] = []
    for certificate in certificates:
        url_map.add(certificate)
        if certificate.verify_uuid in plan.to_render:
            batch.append(certificate)
            if len(batch) == CERTIFICATES_PER_TASK:
                yield batch
                batch = []
    if batch:
        yield batch


def _record(outcome: LegacyOutcome, legacy: LegacyBuild, plan: LegacyPlan, state: LegacyState,
            report: LegacyReport) -> None:
    if outcome.error is not None:
        # It stays uncertain in the state: the next build tries it again.
        report.errors[outcome.verify_uuid] = outcome.error
        return
    report.generated[plan.to_render[outcome.verify_uuid]] += 1
    state.certificates[outcome.verify_uuid] = LegacyEntry(
        legacy.inputs[outcome.verify_uuid], state.theme_file_set_index(outcome.theme_files), outcome.stamps)


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


def _url_map_digest(legacy: LegacyBuild) -> str:
    """The URL map's rows are made of what the inputs digests hold (IDs, URLs, base_url)."""
    digest = hashlib.sha256()
    for uuid, inputs in legacy.inputs.items():
        digest.update(f"{uuid}{inputs}".encode("ascii"))
    return digest.hexdigest()


class _UrlMap:
    """Every legacy URL -> the certificate's page, as CSV, for the platform's dashboard links,
    written as the export is read (600k certificates: a few hundred MB, never held), then
    renamed into place. It lists verify_uuids, as private as credential IDs: it is kept in the
    build's state folder, never published (the site must never list its certificates)."""

    def __init__(self, tree: OutputTree, base_url: str):
        self.path = tree.path(LEGACY_URL_MAP_FILE)
        self.temporary = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        self.base_url = base_url
        self.rows = 0

    def __enter__(self) -> _UrlMap:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = open(self.temporary, "w", encoding="utf-8", newline="")
        self.writer = csv.writer(self.handle, lineterminator="\n")
        self.writer.writerow(URL_MAP_COLUMNS)
        return self

    def add(self, c: LegacyCertificate) -> None:
        page = self.base_url + c.paths.page
        legacy_urls = [self.base_url + c.paths.file(name) for name in OLD_PAGES]
        legacy_urls.append(c.download_url or self.base_url + c.pdf_key)
        self.writer.writerows((c.certificate_id, c.verify_uuid, legacy_url, page) for legacy_url in legacy_urls)
        self.rows += 1

    def __exit__(self, kind, value, traceback_) -> None:
        self.handle.close()
        if kind is None and self.rows:
            os.replace(self.temporary, self.path)
        else:
            self.temporary.unlink(missing_ok=True)
            if kind is None:
                self.path.unlink(missing_ok=True)  # no certificate: no map


def _write_state_file(tree: OutputTree, path: str, data: bytes | None) -> None:
    if data is None:
        tree.remove(path)
    else:
        tree.write_if_changed(path, data)


__all__ = ["LegacyBuild", "build_legacy", "load_legacy_build"]
