"""What the legacy stage must do: which certificates' pages are new, changed, unchanged or gone.

As for credentials (sitegen/plan/build_plan.py), a certificate is unchanged when the
digest of what its pages show is the saved one, every theme file its last render loaded
has the same digest, and its three pages are on disk with the size and modification time
they were written with. Anything else renders it again (and a page whose bytes are the
same is not rewritten). What its pages show: the row's fields, the site-wide settings of
site.yml, its organizations (the footer names them) and the certificate's course.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

from sitegen import __version__
from sitegen.layout import LEGACY_CERT_DIR, is_uuid
from sitegen.legacy.export import LegacyCertificate
from sitegen.legacy.paths import PAGES
from sitegen.legacy.state import LegacyEntry, LegacyState
from sitegen.model import Site
from sitegen.plan.build_plan import set_is_fresh, site_wide_settings


@dataclass
class LegacyPlan:
    to_render: dict[str, str] = field(default_factory=dict)  # verify_uuid -> why (new, changed, theme...)
    unchanged: int = 0
    # Pages whose certificate this build does not have: its row was deleted or is no longer
    # downloadable, or it is another site's or another shard's now.
    removed: list[str] = field(default_factory=list)


def plan_legacy(inputs: dict[str, str], state: LegacyState, theme_file_digest: Callable[[str], str],
                out_dir: Path, purged: Collection[str]) -> LegacyPlan:
    """`inputs`: verify_uuid -> inputs digest of every certificate this build makes."""
    plan = LegacyPlan()
    fresh_sets = [set_is_fresh(files, theme_file_digest) for files in state.theme_file_sets]
    folder = str(out_dir / LEGACY_CERT_DIR) + os.sep  # strings, not Paths: this runs for 600k pages
    for uuid, digest in inputs.items():
        reason = _why_render(state.certificates.get(uuid), digest, fresh_sets, folder + uuid + os.sep)
        if reason:
            plan.to_render[uuid] = reason
        else:
            plan.unchanged += 1
    plan.removed = sorted((set(state.certificates) | _folders(out_dir)) - set(inputs) - set(purged))
    return plan


def _why_render(saved: LegacyEntry | None, digest: str, fresh_sets: list[bool], folder: str) -> str | None:
    if saved is None:
        return "new"
    if saved.uncertain:
        return "uncertain"  # a build that died may have half-written it
    if saved.inputs != digest:
        return "changed"
    if not (0 <= saved.theme_files < len(fresh_sets)) or not fresh_sets[saved.theme_files]:
        return "theme"
    return _pages_as_written(folder, saved.stamps)


def _pages_as_written(folder: str, stamps: tuple[int, ...]) -> str | None:
    """"missing" or "altered" when a page is not as written (or only touched: it is then
    rendered again, and rewritten only if its bytes differ), else None. One file linked at
    every page's path takes one stat: its link count says the other paths are still it."""
    linked = len(stamps) == 3
    if not linked and len(stamps) != 2 * len(PAGES):
        return "altered"
    width = 3 if linked else 2
    for number, name in enumerate(PAGES[:1] if linked else PAGES):
        try:
            stat = os.stat(folder + name)
        except (FileNotFoundError, NotADirectoryError):
            return "missing"
        if _stamp(stat, linked) != stamps[width * number:width * (number + 1)]:
            return "altered"
    return None


def page_stamps(out_dir: Path, certificate: LegacyCertificate) -> tuple[int, ...]:
    """What the build state keeps of the certificate's pages, as written: (size, mtime_ns,
    links) of the one file when every page is a link to it (as is usual), else (size,
    mtime_ns) of each page."""
    pages = certificate.paths.pages
    first = os.stat(f"{out_dir}/{pages[0]}")
    if first.st_nlink == len(pages):  # the one file, as written: checked as the plan checks it
        return _stamp(first, linked=True)
    stats = [first] + [os.stat(f"{out_dir}/{path}") for path in pages[1:]]
    return tuple(n for stat in stats for n in _stamp(stat, linked=False))


def _stamp(stat: os.stat_result, linked: bool) -> tuple[int, ...]:
    return (stat.st_size, stat.st_mtime_ns, stat.st_nlink) if linked else (stat.st_size, stat.st_mtime_ns)


def _folders(out_dir: Path) -> set[str]:
    # One directory read, not a stat per certificate.
    try:
        with os.scandir(out_dir / LEGACY_CERT_DIR) as entries:
            return {e.name for e in entries if is_uuid(e.name) and e.is_dir(follow_symlinks=False)}
    except FileNotFoundError:
        return set()


def site_facts(site: Site) -> Callable[[str], str]:
    """course_id -> digest of what a legacy page shows of site.yml, computed once per course."""
    common = repr((__version__, site_wide_settings(site), site.organizations))
    cache: dict[str, str] = {}

    def digest(course_id: str) -> str:
        if course_id not in cache:
            text = repr((common, site.courses.get(course_id)))
            cache[course_id] = hashlib.sha256(text.encode("utf-8")).hexdigest()
        return cache[course_id]

    return digest


def fields_digest(certificate: LegacyCertificate) -> str:
    """What the row says that its pages (and its lines of the URL map) show, digested."""
    c = certificate
    text = "\0".join((c.certificate_id, c.verify_uuid, c.name, c.course_id, c.mode, c.issued.isoformat(),
                      c.download_url or "", c.pdf_key, "distinction" if c.distinction else ""))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def inputs_digest(fields: str, facts: str) -> str:
    """What a certificate's pages are made from: its row's fields, and the site's facts."""
    return hashlib.sha256(f"{facts}\0{fields}".encode("ascii")).hexdigest()[:32]
