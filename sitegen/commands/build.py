"""`sitegen build`: the whole pipeline, top to bottom.

load (site.yml, content, records) -> plan (new, changed, unchanged, removed, uncertain)
-> render -> sign -> write (per credential, in worker processes) -> remove what has no
record -> site pages -> save state and report.

A build that finds bad input writes nothing. A build that fails or dies part-way leaves
every credential it touched marked uncertain, and the next build redoes them.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sitegen.errors import InputProblems, Problem, SitegenError
from sitegen.layout import (
    ASSETS_DIR,
    BUILD_DIR,
    CREDENTIALS_DIR,
    IN_PROGRESS_FILE,
    KEY_FILE,
    KEYS_PAGE,
    LEGACY_ROWS_DIR,
    NOT_FOUND_PAGE,
    PDF_HASH_DIR,
    PREVIEW_DIR,
    SHARE_CARDS_DIR,
    VERIFY_PAGE,
    CredentialPaths,
    is_sha256,
    share_card_path,
)
from sitegen.legacy.gate import NoLegacyCertificates, build_legacy, load_legacy_build  # not the stage itself
from sitegen.load.config import load_sites, select_sites
from sitegen.load.content import ContentPage, load_content_pages
from sitegen.load.project_files import input_folders, links_outside_the_project, site_images
from sitegen.load.purge_list import PurgeList, load_purge_list
from sitegen.load.record_cache import LoadedCredentials, load_credentials
from sitegen.memory import unfreeze
from sitegen.model import Site
from sitegen.plan.build_plan import (
    BuildPlan,
    plan_build,
    site_pages_digest,
    site_pages_unchanged,
    site_settings_digest,
)
from sitegen.plan.output_stamps import BackgroundStampCheck, file_stamp
from sitegen.plan.state import BuildState, CredentialState, SitePagesState
from sitegen.plan.status_indexes import StatusIndexes, load_status_indexes
from sitegen.progress import Progress
from sitegen.render.theme import RenderRecord, Theme
from sitegen.render.view import SigningFacts
from sitegen.report import BuildReport
from sitegen.shards import Shard
from sitegen.sign.location import locate_key
from sitegen.write.credential import CredentialWriter
from sitegen.write.files import OutputTree, remove_file, sweep_temporary_files

if TYPE_CHECKING:  # rendering and signing are imported only by a build that renders or signs
    from sitegen.commands.build_credentials import CredentialJob, CredentialOutcome
    from sitegen.legacy.stage import LegacyBuild
    from sitegen.render.badges import Badges
    from sitegen.sign.gpg import Signer
    from sitegen.sign.vc_key import VcKey

log = logging.getLogger("sitegen")
STATE_SAVE_INTERVAL = 20.0  # seconds between saves of the state during a long build


@dataclass
class BuildOptions:
    site_dir: Path
    out_dir: Path | None = None  # default: <site>/build (a project of several sites: <out>/<site name>)
    base_url: str | None = None
    jobs: int = 0  # 0: one per core
    shard: Shard | None = None  # None: the whole site
    clean: bool = False
    pages_only: bool = False  # no PDFs, no signatures: quick previews
    today: dt.date | None = None
    progress_stream: object = None
    site_name: str | None = None  # one of several sites; None: all of them

    @property
    def preview(self) -> str | None:
        """Why this build is a preview that must never be published, or None."""
        if self.pages_only:
            return "pages only: no PDFs, signatures or statements"
        if self.base_url is not None:
            return f"built for {self.base_url}, not the site's base_url"
        return None


def output_folder(site_root: Path, preview: bool) -> Path:
    """Where a build goes unless --out says otherwise: previews never go into build/ itself."""
    return (site_root / (PREVIEW_DIR if preview else BUILD_DIR)).resolve()


def site_output_folder(site: Site, out_dir: Path | None, preview: bool) -> Path:
    """A site's own output folder: the build folder itself, or in a project of several
    sites its sub-folder named after the site (so no file of one is in another's)."""
    root = out_dir.resolve() if out_dir else output_folder(site.root, preview)
    return root / site.key if site.key else root


@dataclass
class _SiteBuild:
    """One site's build, its inputs loaded and checked, nothing written yet."""

    site: Site
    out: Path
    pages: list[ContentPage]
    loaded: LoadedCredentials
    purged: frozenset[str]
    signer: Signer | None
    vc_key: VcKey | None  # signs the verifiable credentials (signed builds)
    indexes: StatusIndexes  # each credential's bit in the status lists
    legacy: LegacyBuild | NoLegacyCertificates  # legacy edX PDF certificates (sitegen/legacy/)
    state: BuildState  # what the last build made (empty with --clean)
    stamps: BackgroundStampCheck | None  # the state's outputs, being checked since it was read
    loading_seconds: float  # the time its inputs took to load and check: the report counts it

    def stop(self) -> None:
        if self.stamps is not None:
            self.stamps.stop()


def build_sites(options: BuildOptions) -> list[tuple[Site, BuildReport]]:
    """Build every site of the project (or the one `site_name` picks), each into its own
    folder. All inputs and signing keys are checked before anything is written."""
    sites = select_sites(load_sites(options.site_dir, options.base_url), options.site_name)
    prepared: list[_SiteBuild] = []
    try:
        for site in sites:
            prepared.append(_prepare(site, options))
        return [(job.site, _build_site(job, options)) for job in prepared]
    finally:
        for job in prepared:  # a site's bad input: the others' checks stop too
            job.stop()
        unfreeze()


def build(options: BuildOptions) -> BuildReport:
    """Build one site: the project's only one, or the one `site_name` picks."""
    sites = select_sites(load_sites(options.site_dir, options.base_url), options.site_name)
    if len(sites) > 1:
        names = ", ".join(site.key for site in sites)
        raise SitegenError(f"site.yml declares several sites ({names}): name one with --site-name")
    job = None
    try:
        job = _prepare(sites[0], options)
        return _build_site(job, options)
    finally:
        if job is not None:
            job.stop()
        unfreeze()


def _prepare(site: Site, options: BuildOptions) -> _SiteBuild:
    started = time.monotonic()
    out = site_output_folder(site, options.out_dir, bool(options.preview))
    _refuse_dangerous_output(site, out)
    _refuse_preview_over_publishable(out, options.preview)
    cache_root = out.parent if site.key else out  # one record cache for all sites of a project
    signed = not options.pages_only
    # The state first: the stamps of its outputs are checked while the inputs are read.
    state = BuildState() if options.clean else BuildState.load(out)
    stamps = BackgroundStampCheck.start(state, out)
    try:
        pages, loaded, purged, indexes = _load_inputs(site, cache_root, signed)  # bad input: InputProblems
        legacy = load_legacy_build(site, options.shard, cache_root / LEGACY_ROWS_DIR)  # a bad row: InputProblems too
        signer = _open_signer(site) if signed else None  # a bad key: nothing written either
        vc_key = _open_vc_key(site) if signed else None
    except BaseException:
        if stamps is not None:
            stamps.stop()
        raise
    own = site.own_part() if site.key else site  # from here on, nothing of another site's
    return _SiteBuild(own, out, pages, loaded, purged, signer, vc_key, indexes, legacy, state, stamps,
                      time.monotonic() - started)


def _build_site(job: _SiteBuild, options: BuildOptions) -> BuildReport:
    started = time.monotonic()
    site, out, signer = job.site, job.out, job.signer
    if options.clean:
        _clean(out)
    tree = OutputTree(out)
    _start_marker(out)
    job.loaded.save_cache()
    job.legacy.save_cache()
    # UTC, as `sitegen verify` and the validation of issue dates count days.
    today = options.today or dt.datetime.now(dt.UTC).date()
    signing = SigningFacts.of(signer)
    theme = Theme(site)
    report = BuildReport(fingerprint=signing.fingerprint, development_key=signing.development_key,
                         preview=options.preview, site=site.key,
                         shard=str(options.shard) if options.shard else None)

    state = job.state
    state_was_lost = not state.credentials and (out / CREDENTIALS_DIR).is_dir()
    renderer_digest = "" if options.pages_only else _pdf_renderer_fingerprint()
    settings = site_settings_digest(site, signing.fingerprint, signer is not None, renderer_digest,
                                    _vc_public_key(job))
    if job.vc_key is not None:  # only a signed build makes the credential that names its index
        settings = _with_status_index(settings, job.indexes)
    plan = plan_build(job.loaded.credentials, job.loaded.record_digests, state, settings, theme.file_digest,
                      today, out, options.shard, signed=signer is not None, purged=job.purged,
                      background=job.stamps)
    _restamp(plan, state)
    if job.vc_key is not None and (options.shard is None or options.shard.publishes_shared):
        job.indexes.save(site.root)  # new indexes, before any credential names them (see status_indexes.py)
    writer = CredentialWriter(tree)
    report.unchanged = plan.unchanged
    if plan.to_build:
        _build_credentials(plan, state, _credential_job(job, theme, signing, today, writer), options, report, out)
    _remove_credentials(plan.removed, state, writer, report)
    _erase_purged(plan.purged, state, writer, theme, report)
    report.legacy = build_legacy(job.legacy, theme, tree, report.pages_written, jobs=options.jobs,
                                 progress_stream=options.progress_stream)
    if not options.preview:
        _erase_purged_from_previews(site, plan.purged, job.legacy.purged_here)
    shared_before = (list(state.shared_pages), state.site_pages)
    if options.shard is None or options.shard.publishes_shared:
        _write_site_pages(job, theme, signing, state, tree, report, today)
    else:  # the assets its pages link to: its publish adds those missing before its pages
        _write_theme_assets(theme, state, tree, report)
    if report.errors or state_was_lost:
        # A write that failed half-way, or entries of PDFs that no state remembers.
        _remove_unowned_pdf_hashes(state, tree)
    _remove_unused_share_cards(state, tree, report)
    if report.generated or report.removed or plan.restamped or (state.shared_pages, state.site_pages) != shared_before:
        state.credentials.order_as(plan.inputs)  # as the next plan reads them
        state.save(out)  # a no-op build does not even rewrite the state
    report.ok = not report.errors and not (report.legacy and report.legacy.errors)
    report.seconds = job.loading_seconds + time.monotonic() - started
    report.save(out)
    remove_file(out / IN_PROGRESS_FILE)
    return report


def _open_badges_problems(site: Site) -> list[Problem]:
    """What the Open Badges 2.0 issuer profiles need of site.yml (checked before anything is written)."""
    if site.contact_email or not site.served:
        return []
    field = f"sites.{site.key}.contact_email" if site.key else "contact_email"
    return [Problem("site.yml", None, field, "is required: every credential is also an Open Badges 2.0 "
                    "assertion, whose issuer must give an email address")]


def _load_inputs(site: Site, cache_root: Path, signed: bool) -> tuple[list[ContentPage], LoadedCredentials,
                                                                    frozenset[str], StatusIndexes]:
    """Content pages, this site's valid credentials and the IDs it must erase, or every
    problem found in the project's inputs at once."""
    problems = links_outside_the_project(site)
    if problems:  # nothing is read through such a link, not even to report on it
        raise InputProblems(problems)
    problems = _open_badges_problems(site)
    if problems:
        raise InputProblems(problems)
    pages, problems = load_content_pages(site.root, site.content)
    loaded = load_credentials(site, cache_root)
    purge_list = load_purge_list(site.root)
    indexes = load_status_indexes(site.root)
    problems += loaded.problems + purge_list.problems + _purged_records(purge_list, loaded) + indexes.problems
    if problems:
        raise InputProblems(problems)
    if signed:  # only a signed build makes the verifiable credentials that name their index
        # Over every site's credentials, before they are shared out: whichever site or shard
        # a build makes, the same credential gets the same index.
        indexes.assign(loaded.credentials)
    if site.key:  # one of several sites: records are checked against every site, built by their own
        loaded.keep_only(site.owns)
    return pages, loaded, frozenset(purge_list.uuids_of_site(site.key)), indexes


def _purged_records(purge_list: PurgeList, loaded: LoadedCredentials) -> list[Problem]:
    """A record of a purged credential must never come back (a stale copy, a bad merge)."""
    if not purge_list:  # most projects: no look-up per credential (0.6 ms at 10k, every build)
        return []
    return [Problem(c.source.file, c.source.line, "uuid",
                    f"{c.uuid} was purged ({purge_list.location(c.uuid)}): its record must not come back; "
                    f"run sitegen purge {c.uuid} again to remove it (to issue it again, take it off the list first)")
            for c in loaded.credentials if c.uuid in purge_list]


def _start_marker(out: Path) -> None:
    """Mark the build as running; if the last one never finished, sweep what it left."""
    marker = out / IN_PROGRESS_FILE
    if marker.exists():
        log.warning("the previous build did not finish; redoing what it left uncertain")
        sweep_temporary_files(out)
        _remove_unowned_pdf_hashes(BuildState.load(out), OutputTree(out))
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(str(os.getpid()))


def _open_signer(site: Site) -> Signer:
    from sitegen.render.fonts import warn_if_slow_pdfs
    from sitegen.sign.gpg import GpgSigner

    warn_if_slow_pdfs()  # a signed build makes PDFs: say once if they will be slow
    return GpgSigner.open(site.signing, site.root, allow_development_key=True)


def _open_vc_key(site: Site) -> VcKey:
    from sitegen.sign.vc_key import open_vc_key

    return open_vc_key(site.signing, site.root)


def _vc_public_key(job: _SiteBuild) -> str:
    """The verifiable credentials' key, as the digest of what they are made from sees it."""
    if job.vc_key is None:
        return ""
    from sitegen.vc import public_key_multibase

    return public_key_multibase(job.vc_key.key.public_key())


def _badges(job: _SiteBuild, theme: Theme) -> Badges:
    from sitegen.render.badges import Badges

    return Badges(job.site, theme, job.indexes, job.vc_key)


def _credential_job(job: _SiteBuild, theme: Theme, signing: SigningFacts, today: dt.date,
                    writer: CredentialWriter) -> CredentialJob:
    """What renders, signs and writes credentials, made only by a build that has some to
    render: a no-op build never loads Jinja, WeasyPrint, the QR and signing libraries."""
    from sitegen.commands.build_credentials import CredentialJob
    from sitegen.render.credential import CredentialRenderer

    renderer = CredentialRenderer(job.site, theme, signing, today, job.signer is not None, _badges(job, theme))
    return CredentialJob(renderer, job.signer, writer)


def _with_status_index(settings, indexes: StatusIndexes):
    """A credential's status-list index is an input of its verifiable credential."""
    def digest(credential) -> str:
        return f"{settings(credential)}:{indexes[credential.uuid]}"

    return digest


def _pdf_renderer_fingerprint() -> str:
    from sitegen.render.pdf import renderer_fingerprint

    return renderer_fingerprint()


def _restamp(plan: BuildPlan, state: BuildState) -> None:
    """Outputs with the same bytes but a new modification time: remember the new one."""
    for uuid, stamps in plan.restamped.items():
        state.credentials[uuid].outputs.update(stamps)


def _build_credentials(plan: BuildPlan, state: BuildState, job: CredentialJob, options: BuildOptions,
                       report: BuildReport, out: Path) -> None:
    from sitegen.commands.build_credentials import run_batches

    # Note that order matters: the state says "uncertain" on disk before any file is rewritten.
    if state.mark_uncertain(plan.reasons):  # new awards only: the state on disk vouches for none of them
        state.save(out)
    previous = {c.uuid: state.credentials.get(c.uuid) for c in plan.to_build}
    progress = Progress(len(plan.to_build), "Rendering", options.progress_stream)
    last_save = time.monotonic()
    for outcomes in run_batches(job, plan.to_build, previous, options.jobs):
        for outcome in outcomes:
            _record_outcome(outcome, plan, state, report)
        progress.advance(len(outcomes))
        if time.monotonic() - last_save > STATE_SAVE_INTERVAL:
            state.save(out)  # a crash from here on redoes only what came after
            last_save = time.monotonic()
    progress.finish()


def _record_outcome(outcome: CredentialOutcome, plan: BuildPlan, state: BuildState, report: BuildReport) -> None:
    if not outcome.ok:
        # The credential stays uncertain in the state: the next build tries it again,
        # whatever its record says by then.
        report.errors[outcome.uuid] = outcome.error
        return
    report.generated[outcome.uuid] = plan.reasons[outcome.uuid]
    state.credentials[outcome.uuid] = CredentialState(
        plan.inputs[outcome.uuid], state.theme_file_set_index(outcome.theme_files), outcome.outputs)


def _remove_credentials(uuids: list[str], state: BuildState, writer: CredentialWriter, report: BuildReport) -> None:
    """Outputs whose record was deleted or purged: every file they own goes."""
    for uuid in uuids:
        writer.remove(uuid, state.credentials.pop(uuid, None))
        report.removed.append(uuid)


def _erase_purged(uuids: list[str], state: BuildState, writer: CredentialWriter, theme: Theme,
                  report: BuildReport) -> None:
    """An erasure request: every file of the credential goes, and its URL answers that it
    is no longer available, with no personal data."""
    if not uuids:
        return
    from sitegen.render.html import withdrawn_page

    for uuid in uuids:
        notice = withdrawn_page(theme, uuid).encode("utf-8")
        saved = state.credentials.pop(uuid, None)
        if saved is not None or _has_credential_files(writer.tree, uuid, notice):
            writer.remove(uuid, saved)
            report.removed.append(uuid)
        writer.tree.write_if_changed(CredentialPaths(uuid).page_file, notice)


def _has_credential_files(tree: OutputTree, uuid: str, notice: bytes) -> bool:
    """Anything but the "no longer available" page (left by a build that died, say)."""
    paths = CredentialPaths(uuid)
    if tree.path(paths.api).exists():
        return True
    try:
        names = os.listdir(tree.path(paths.folder))
    except FileNotFoundError:
        return False
    return names != ["index.html"] or tree.path(paths.page_file).read_bytes() != notice


def _erase_purged_from_previews(site: Site, uuids: list[str], legacy_uuids: list[str]) -> None:
    """Previews are copies too: one that holds a purged credential, or a purged legacy
    certificate's pages, goes (it is only a preview)."""
    preview = site_output_folder(site, None, preview=True)
    held = [p for u in uuids for p in (CredentialPaths(u).folder, CredentialPaths(u).api)]
    if legacy_uuids:  # a project with legacy certificates: sitegen/legacy/ is imported already
        from sitegen.legacy.paths import OLD_PAGES, LegacyPaths

        held += [LegacyPaths(u).file(name) for u in legacy_uuids for name in OLD_PAGES]  # its notice has no name
    if any((preview / path).exists() for path in held):
        shutil.rmtree(preview)


def _remove_unowned_pdf_hashes(state: BuildState, tree: OutputTree) -> None:
    """Hash-index entries no credential in the state owns (left by a build that died)."""
    owned = state.pdf_hashes()
    try:
        with os.scandir(tree.path(PDF_HASH_DIR)) as entries:
            stray = [e.name for e in entries if e.is_file() and e.name not in owned]
    except FileNotFoundError:
        return
    for name in stray:
        tree.remove(f"{PDF_HASH_DIR}/{name}")


def _remove_unused_share_cards(state: BuildState, tree: OutputTree, report: BuildReport) -> None:
    """Cards no credential shows any more (its course renamed, its last learner revoked)."""
    try:
        with os.scandir(tree.path(SHARE_CARDS_DIR)) as entries:
            cards = [f"{SHARE_CARDS_DIR}/{e.name}" for e in entries if e.is_file() and not e.name.startswith(".")]
    except FileNotFoundError:
        return
    if not cards:  # a pages-only build: no card, and no need to look through every entry
        return
    # Distinct digests first: a few hundred cards for 100k credentials, and this runs on
    # every build, no-op builds included (every path of every credential took 0.8 s at 100k).
    used = {share_card_path(digest) for digest in state.credentials.digests("share_image") if is_sha256(digest)}
    for path in cards:
        if path not in used:
            tree.remove(path)
            report.pages_written.append(path)  # a site file changed: publish deletes it


def _write_site_pages(job: _SiteBuild, theme: Theme, signing: SigningFacts, state: BuildState, tree: OutputTree,
                      report: BuildReport, today: dt.date) -> None:
    """Pages shared by the whole site, and the status lists. The pages are rendered again only
    when what they are made from changed or one of them is not as written, as a credential's
    outputs (a no-op build renders none); files are written only when their bytes change."""
    public_key = job.signer.public_key_armored() if job.signer else ""
    assets = [asset.published for asset in theme.assets.values()]
    digest = site_pages_digest(theme.site, job.pages, signing, public_key, _vc_public_key(job), assets)
    # Made from every credential's status: not a site page, made by each signed build.
    files = _badges(job, theme).status_lists(job.loaded.credentials, today) if job.vc_key else {}
    pages, record = None, RenderRecord()
    if not site_pages_unchanged(state.site_pages, digest, state, theme.file_digest, tree.root):
        pages = _site_pages(job, theme, signing, public_key, record)
        files.update(pages)
    for path, data in sorted(files.items()):
        if tree.write_if_changed(path, data):
            report.pages_written.append(path)
    if pages is not None:
        stamps = {path: file_stamp(tree.path(path)) for path in pages}
        state.site_pages = SitePagesState(digest, state.theme_file_set_index(theme.file_digests(record)), stamps)
    produced = set(files) | set(state.site_pages.stamps)
    for path in sorted(set(state.shared_pages) - produced):
        tree.remove(path)  # a deleted content page or an old asset fingerprint
    _remove_stale_assets(tree, set(assets))
    state.shared_pages = sorted(produced)


def _site_pages(job: _SiteBuild, theme: Theme, signing: SigningFacts, public_key: str,
                record: RenderRecord) -> dict[str, bytes]:
    """Site path -> bytes of each site page; the theme files their render loads go to `record`."""
    from sitegen.render.html import content_page, keys_page, not_found_page, verify_page

    files = _badges(job, theme).site_files()
    for page in job.pages:
        files[page.output_path] = content_page(theme, page, record).encode("utf-8")
    if job.signer:
        files[KEY_FILE] = public_key.encode("ascii")
    files[KEYS_PAGE] = keys_page(theme, signing, public_key, record).encode("utf-8")
    files[VERIFY_PAGE] = verify_page(theme, signing, record).encode("utf-8")
    files[NOT_FOUND_PAGE] = not_found_page(theme, record).encode("utf-8")
    for asset in theme.assets.values():
        files[asset.published] = asset.source.read_bytes()
    return files


def _write_theme_assets(theme: Theme, state: BuildState, tree: OutputTree, report: BuildReport) -> None:
    """A shard but the first writes the theme's fingerprinted files only (shard 1 writes
    every shared page): its credentials' pages link to them."""
    files = {asset.published: asset.source for asset in theme.assets.values()}
    for path, source in sorted(files.items()):
        if tree.write_if_changed(path, source.read_bytes()):
            report.pages_written.append(path)
    for path in sorted(set(state.shared_pages) - set(files)):
        tree.remove(path)  # shared pages of a build when it was shard 1, or the whole site
    _remove_stale_assets(tree, set(files))
    state.shared_pages = sorted(files)
    state.site_pages = None  # shard 1 renders the site pages, not this one


def _remove_stale_assets(tree: OutputTree, current: set[str]) -> None:
    """Old fingerprinted assets the state does not know of (it was lost, or never saved)."""
    folder = tree.path(ASSETS_DIR)
    if not folder.is_dir():
        return
    for path in folder.rglob("*"):
        if path.is_file() and path.relative_to(tree.root).as_posix() not in current:
            path.unlink()


def _clean(out: Path) -> None:
    if out.is_dir():
        shutil.rmtree(out)


def _refuse_preview_over_publishable(out: Path, preview: str | None) -> None:
    """A preview must not replace a build that can be published: it would withdraw its
    PDFs and signatures, or rewrite its URLs."""
    if preview and BuildReport.last_was_publishable(out):
        raise SitegenError(f"--out {out}: holds a build that can be published; a preview ({preview}) "
                           f"would replace it: leave out --out (previews go to {PREVIEW_DIR}/) or use another folder")


def _refuse_dangerous_output(site: Site, out: Path) -> None:
    """The output folder is rewritten and, with --clean, deleted: it must hold no input,
    no signing key and no home folder, and must not be inside an input folder either."""
    keep = {
        "the project folder": site.root.resolve(),
        "your home folder": Path.home().resolve(),
        "the GnuPG home of the signing key": locate_key(site.signing, site.root).home.resolve(),
    }
    for folder in input_folders(site):
        keep[f"the input folder {folder.relative_to(site.root).as_posix()}/"] = folder.resolve()
    for image in site_images(site):
        keep[f"the image {image}"] = (site.root / image).resolve()
    for what, folder in keep.items():
        if folder.is_relative_to(out):
            raise SitegenError(f"--out {out}: must not be {what} or hold it ({folder})")
        if what not in ("the project folder", "your home folder") and out.is_relative_to(folder):
            raise SitegenError(f"--out {out}: must not be inside {what} ({folder})")
