"""`sitegen build`: the whole pipeline, top to bottom.

load (site.yml, content, records) -> plan (new, changed, unchanged, removed)
-> render + sign + write (in worker processes) -> remove what has no record
-> site pages -> save state and report.
"""

from __future__ import annotations

import datetime as dt
import logging
import multiprocessing
import os
import shutil
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from sitegen.load.config import load_site
from sitegen.load.content import load_content_pages
from sitegen.errors import InputProblems, SitegenError
from sitegen.model import Credential, Site
from sitegen.write.files import forget_known_folders, remove_file, remove_tree, sweep_temporary_files, write_if_changed
from sitegen.plan.build_plan import plan_build, site_settings_digest
from sitegen.progress import Progress
from sitegen.load.record_cache import load_credentials
from sitegen.render.credential import CredentialRenderer, CredentialResult, init_worker, render_batch_in_worker
from sitegen.render.html import API_CREDENTIALS, API_PDF_HASHES, KEY_FILE, SigningFacts
from sitegen.render.html import content_page, keys_page, not_found_page, verify_page
from sitegen.report import BuildReport
from sitegen.plan.state import STATE_DIR, BuildState, CredentialState
from sitegen.render.theme import ASSETS_DIR, Theme

log = logging.getLogger("sitegen")
BATCH_SIZE = 25  # credentials per worker task: enough to batch PDF layout, small enough to balance
STATE_SAVE_INTERVAL = 20.0  # seconds between saves of the state during a long build
IN_PROGRESS_FILE = "build-in-progress"


@dataclass
class BuildOptions:
    site_dir: Path
    out_dir: Path | None = None  # default: <site>/build
    base_url: str | None = None
    jobs: int = 0  # 0: one per core
    shard: tuple[int, int] | None = None
    clean: bool = False
    pages_only: bool = False  # no PDFs, no signatures: quick previews
    today: dt.date | None = None
    progress_stream: object = None


def build(options: BuildOptions) -> BuildReport:
    started = time.monotonic()
    site = load_site(options.site_dir, options.base_url)
    out = (options.out_dir or site.root / "build").resolve()
    _refuse_dangerous_output(site, out)
    report = BuildReport()
    try:
        pages, loaded = _load_inputs(site, out)
    except InputProblems as problems:
        report.ok = False
        report.input_problems = [str(p) for p in problems.problems]
        if out.is_dir():
            report.save(out)  # publish must see that the last build failed
        raise
    forget_known_folders()
    if options.clean:
        _clean(out)
    _start_marker(out)
    today = options.today or dt.date.today()
    signer = None if options.pages_only else _open_signer(site)
    theme = Theme(site)
    signing = SigningFacts.of(signer)
    report.fingerprint, report.development_key = signing.fingerprint, signing.development_key

    state = BuildState.load(out)
    settings = site_settings_digest(site, signing.fingerprint, options.pages_only,
                                    "" if options.pages_only else _pdf_renderer_fingerprint())
    plan = plan_build(loaded.credentials, loaded.record_digests, state, settings, _theme_file_digest(theme),
                      today, out, options.shard)
    renderer = CredentialRenderer(site, theme, signer, out, today, options.pages_only)
    _render_all(plan, state, renderer, options, report, out)
    _remove_credentials(plan.removed, state, out, report)
    shared_before = list(state.shared_pages)
    if options.shard is None or options.shard[0] == 1:
        _write_site_pages(theme, pages, signer, signing, state, out, report)
    if report.generated or report.removed or state.shared_pages != shared_before:
        state.save(out)  # a no-op build does not even rewrite the state
    report.ok = not report.errors
    report.seconds = time.monotonic() - started
    report.save(out)
    remove_file(out / STATE_DIR / IN_PROGRESS_FILE)
    return report


def _start_marker(out: Path) -> None:
    """Mark the build as running; if the last one never finished, sweep what it left."""
    marker = out / STATE_DIR / IN_PROGRESS_FILE
    if marker.exists():
        log.warning("the previous build did not finish; redoing what it left uncertain")
        sweep_temporary_files(out)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(str(os.getpid()))


def _load_inputs(site: Site, out: Path):
    """Content pages and valid credentials, or every problem found in them at once."""
    pages, problems = load_content_pages(site.root)
    loaded = load_credentials(site, out / STATE_DIR / "records")
    problems += loaded.problems
    if problems:
        raise InputProblems(problems)
    return pages, loaded


def _open_signer(site: Site):
    from sitegen.render.fonts import warn_if_slow_pdfs
    from sitegen.sign.gpg import Signer

    warn_if_slow_pdfs()  # a signed build makes PDFs: say once if they will be slow
    return Signer.open(site.signing, site.root, allow_development_key=True)


def _pdf_renderer_fingerprint() -> str:
    from sitegen.render.pdf import renderer_fingerprint

    return renderer_fingerprint()


def _render_all(plan, state: BuildState, renderer: CredentialRenderer, options: BuildOptions,
                report: BuildReport, out: Path) -> None:
    report.unchanged = plan.unchanged
    batches = [plan.to_build[i:i + BATCH_SIZE] for i in range(0, len(plan.to_build), BATCH_SIZE)]
    progress = Progress(len(plan.to_build), "Rendering", options.progress_stream)
    last_save = time.monotonic()
    for results in _run_batches(batches, renderer, state, options.jobs):
        for result in results:
            _record_result(result, plan, state, report)
        progress.advance(len(results))
        if time.monotonic() - last_save > STATE_SAVE_INTERVAL:
            state.save(out)  # a crash from here on redoes only what came after
            last_save = time.monotonic()
    progress.finish()


def _run_batches(batches, renderer: CredentialRenderer, state: BuildState, jobs: int):
    old_hashes = lambda batch: {c.uuid: _old_pdf_hash(state, c.uuid) for c in batch}  # noqa: E731
    jobs = jobs or os.cpu_count() or 1
    if jobs == 1 or len(batches) <= 1:
        for batch in batches:
            yield renderer.render_batch(batch, old_hashes(batch))
        return
    # fork: workers inherit the loaded theme and signer instead of rebuilding them.
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=init_worker, initargs=(renderer,)) as pool:
        pending, queue = set(), iter(batches)
        for batch in queue:  # keep a bounded number in flight: memory stays flat
            pending.add(pool.submit(render_batch_in_worker, batch, old_hashes(batch)))
            if len(pending) >= jobs * 2:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        for future in pending:
            yield future.result()


def _old_pdf_hash(state: BuildState, uuid: str) -> str | None:
    saved = state.credentials.get(uuid)
    return saved.pdf_sha256 if saved else None


def _record_result(result: CredentialResult, plan, state: BuildState, report: BuildReport) -> None:
    if not result.ok:
        # The previous good output stays, and the state keeps its old entry, so the
        # next build tries this credential again.
        report.errors[result.uuid] = result.error
        return
    report.generated[result.uuid] = plan.reasons[result.uuid]
    state.credentials[result.uuid] = CredentialState(
        plan.inputs[result.uuid], state.theme_file_set_index(result.theme_files), result.pdf_sha256)


def _remove_credentials(uuids: list[str], state: BuildState, out: Path, report: BuildReport) -> None:
    """Outputs whose record was deleted or purged: the page, PDF, JSON and hash index go."""
    for uuid in uuids:
        saved = state.credentials.get(uuid)
        if saved and saved.pdf_sha256:
            remove_file(out / API_PDF_HASHES / saved.pdf_sha256)
        remove_file(out / API_CREDENTIALS / uuid)
        remove_tree(out / "credentials" / uuid)
        state.credentials.pop(uuid, None)
        report.removed.append(uuid)


def _write_site_pages(theme: Theme, pages, signer, signing: SigningFacts, state: BuildState,
                      out: Path, report: BuildReport) -> None:
    """Pages shared by the whole site; written only when their bytes change."""
    files: dict[str, bytes] = {}
    for page in pages:
        files[page.output_path] = content_page(theme, page).encode("utf-8")
    public_key = signer.public_key_armored() if signer else ""
    if signer:
        files[KEY_FILE] = public_key.encode("ascii")
    files["keys/index.html"] = keys_page(theme, signing, public_key).encode("utf-8")
    files["verify/index.html"] = verify_page(theme, signing).encode("utf-8")
    files["404.html"] = not_found_page(theme).encode("utf-8")
    for asset in theme.assets.values():
        files[asset.published] = asset.source.read_bytes()
    for path, data in sorted(files.items()):
        if write_if_changed(out / path, data):
            report.pages_written.append(path)
    for path in sorted(set(state.shared_pages) - set(files)):
        remove_file(out / path)  # a deleted content page or an old asset fingerprint
    _remove_stale_assets(out, {a.published for a in theme.assets.values()})
    state.shared_pages = sorted(files)


def _remove_stale_assets(out: Path, current: set[str]) -> None:
    folder = out / ASSETS_DIR
    if not folder.is_dir():
        return
    for path in folder.rglob("*"):
        if path.is_file() and path.relative_to(out).as_posix() not in current:
            path.unlink()


def _theme_file_digest(theme: Theme):
    def digest(name: str) -> str:
        kind, _, file = name.partition(":")
        try:
            return theme.template_digest(file) if kind == "template" else theme.asset_digest(file)
        except (FileNotFoundError, KeyError):
            return "missing"

    return digest


def _clean(out: Path) -> None:
    if out.is_dir():
        shutil.rmtree(out)


def _refuse_dangerous_output(site: Site, out: Path) -> None:
    """--clean deletes the output folder: never let it be the project or a parent of it."""
    root = site.root.resolve()
    if out == root or root.is_relative_to(out):
        raise SitegenError(f"--out {out}: must not be the project folder or one of its parents")
    if out == Path.home().resolve():
        raise SitegenError(f"--out {out}: must not be your home folder")
