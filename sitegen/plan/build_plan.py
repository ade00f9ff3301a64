"""What a build must do: which credentials are new, changed, unchanged or gone.

A credential is unchanged when the digest of its inputs (record, the parts of site.yml
it reads, the signing key, options, status as of today, sitegen version) equals the
saved one, every theme file its last render loaded has the same digest, it has exactly
the outputs this build would give it, and each of them is on disk as it was written.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sitegen import __version__
from sitegen.layout import CREDENTIALS_DIR, expected_outputs, is_uuid
from sitegen.memory import collector_paused
from sitegen.model import Credential, Site
from sitegen.plan.output_stamps import (
    BackgroundStampCheck,
    OutputFiles,
    StampCheck,
    check_outputs,
    file_stamp,
    suspects,
)
from sitegen.plan.state import (
    INPUTS,
    OUTPUTS,
    STAMP_SIZE,
    THEME_FILES,
    UNCERTAIN,
    BuildState,
    OutputStamp,
    SitePagesState,
)
from sitegen.render.view import SigningFacts, certificate_status
from sitegen.shards import partition_of

if TYPE_CHECKING:
    from sitegen.load.content import ContentPage


@dataclass
class BuildPlan:
    to_build: list[Credential] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)  # uuid -> why it is rebuilt
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    purged: list[str] = field(default_factory=list)  # erased: only a "no longer available" page
    inputs: dict[str, str] = field(default_factory=dict)  # uuid -> inputs digest
    # Outputs touched on disk (a copy, a checkout) but with the same bytes: new stamps.
    restamped: dict[str, dict[str, OutputStamp]] = field(default_factory=dict)


def shard_of(uuid: str, shards: int) -> int:
    """1-based shard of a credential, by its partition (`sitegen.shards`): the same one
    whatever other credentials exist, and the one whose publish owns its objects."""
    return partition_of(uuid) % shards + 1


def plan_build(credentials: list[Credential], record_digests: list[str], state: BuildState,
               settings_digest: Callable[[Credential], str],
               theme_file_digest: Callable[[str], str], today, out_dir: Path,
               shard: tuple[int, int] | None, signed: bool, purged: frozenset[str] = frozenset(),
               background: BackgroundStampCheck | None = None) -> BuildPlan:
    """`background`: the stamps of the state's outputs, being checked since it was read."""
    plan = BuildPlan()
    on_disk = _credential_folders(out_dir)
    fresh_sets = [set_is_fresh(files, theme_file_digest) for files in state.theme_file_sets]
    # The outputs a credential should have, by whether it has a PDF. The stamps of those
    # nothing else rebuilds are checked together, once every credential has been seen.
    checks = {has_pdf: StampCheck(OutputFiles(out_dir, expected_outputs(signed=signed, has_pdf=has_pdf)))
              for has_pdf in (False, True)}
    verdicts = []  # (credential, why it is rebuilt or None, its StampCheck), in the records' order
    saved_entry = state.credentials.saved
    with collector_paused():  # a tuple a credential, and no cycle: 0.1 s of a no-op build of 100k
        for credential, record in zip(credentials, record_digests):
            uuid = credential.uuid
            if shard and shard_of(uuid, shard[1]) != shard[0]:
                continue
            status = certificate_status(credential, today)
            digest = plan.inputs[uuid] = inputs_digest(record, settings_digest(credential), status)
            saved = saved_entry(uuid)
            check = checks[status != "revoked"]
            reason = _why_rebuild(saved, digest, fresh_sets, check.files)
            if reason is None:
                check.add(uuid, saved)
            verdicts.append((credential, reason, check))
    to_vouch_for = list(checks.values())
    not_as_stamped = background.suspects(to_vouch_for) if background else suspects(to_vouch_for)
    _sort_out(plan, verdicts, not_as_stamped, saved_entry)
    mine = (lambda u: shard_of(u, shard[1]) == shard[0]) if shard else (lambda u: True)
    plan.purged = sorted(u for u in purged if mine(u))
    # A shard's output holds its own credentials only: those of other shards (N changed,
    # or a tree restored from another job's cache) go, or its publish would never see them.
    gone = (set(state.credentials) | on_disk) - set(plan.inputs) - set(plan.purged)
    plan.removed = sorted(u for u in gone if is_uuid(u))  # a folder's name is not trusted as an ID
    return plan


def _sort_out(plan: BuildPlan, verdicts: list, not_as_stamped: set[str], saved_entry) -> None:
    """Each credential to build or unchanged, in the records' order. One whose outputs may
    not be as stamped is looked at alone: why it is rebuilt, or which stamps only moved."""
    for credential, reason, check in verdicts:
        uuid = credential.uuid
        if reason is None and uuid in not_as_stamped:
            reason, restamped = check_outputs(uuid, saved_entry(uuid), check.files)
            if restamped:
                plan.restamped[uuid] = restamped
        if reason:
            plan.to_build.append(credential)
            plan.reasons[uuid] = reason
        else:
            plan.unchanged.append(uuid)


def record_digest(credential: Credential) -> str:
    """What the record says, digested; kept in the record cache so a no-op build skips it."""
    return hashlib.sha256(repr(credential.content).encode("utf-8")).hexdigest()


def inputs_digest(record: str, settings: str, status: str) -> str:
    # The status as of today is an input: an expiry date passing changes the page.
    text = f"{__version__}\0{record}\0{settings}\0{status}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def site_pages_digest(site: Site, pages: list[ContentPage], signing: SigningFacts, public_key: str, vc_key: str,
                      assets: list[str]) -> str:
    """What the site's own pages (sitegen.plan.state.SitePagesState) are made from, but the
    theme files their render loads (checked apart, as a credential's): all of site.yml, the
    content pages, what they say of the keys, the published name of every asset (which holds
    its digest), sitegen's version."""
    text = repr((__version__, site, pages, signing, public_key, vc_key, sorted(assets)))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def site_pages_unchanged(saved: SitePagesState | None, digest: str, state: BuildState,
                         theme_file_digest: Callable[[str], str], out_dir: Path) -> bool:
    """Whether the site's own pages need no render: made from the same inputs and theme
    files, and each of them on disk as it was written."""
    if saved is None or saved.inputs != digest:
        return False
    if not (0 <= saved.theme_files < len(state.theme_file_sets)):
        return False
    if not set_is_fresh(state.theme_file_sets[saved.theme_files], theme_file_digest):
        return False
    return all(file_stamp(out_dir / path) == stamp for path, stamp in saved.stamps.items())


def site_settings_digest(site: Site, fingerprint: str | None, signed: bool,
                         renderer: str = "", vc_key: str = "") -> Callable[[Credential], str]:
    """The parts of site.yml a credential's outputs read, digested once per course/program.

    `renderer` stands for the PDF toolchain (library versions, installed fonts): a new
    WeasyPrint or font package changes PDF bytes, so it rebuilds the PDFs. `vc_key` is the
    public key that signs the verifiable credentials.
    """
    common = repr((site_wide_settings(site), fingerprint, signed, renderer, vc_key))
    cache: dict[str, str] = {}

    def digest(credential: Credential) -> str:
        key = credential.course_id or "program:" + (credential.program_id or "")
        if key not in cache:
            subject = site.subject_of(credential)
            org = site.organizations[subject.org]
            signatories = [site.signatories.get(k) for k in subject.signatories]
            courses = [site.courses.get(c) for c in getattr(subject, "courses", ())]
            text = repr((common, subject, org, signatories, courses))
            cache[key] = hashlib.sha256(text.encode("utf-8")).hexdigest()
        return cache[key]

    return digest


def site_wide_settings(site: Site) -> tuple:
    """Every plain setting of the site (name, base URL, language, options...): a new one
    added to `Site` is covered without a change here. Organizations, courses, programs
    and signatories are digested per credential, for the ones it uses."""
    per_subject = {"root", "organizations", "courses", "programs", "signatories", "signing", "publish"}
    return tuple((f.name, getattr(site, f.name)) for f in dataclasses.fields(site) if f.name not in per_subject)


def _why_rebuild(saved: list | None, digest: str, fresh_sets: list[bool], expected: OutputFiles) -> str | None:
    """Why the credential is built again, or None if only its outputs' stamps may say so
    (`sitegen.plan.output_stamps`)."""
    if saved is None:
        return "new"
    if saved[UNCERTAIN]:
        return "uncertain"  # a build that failed or died may have half-written it
    if saved[INPUTS] != digest:
        return "changed"
    theme_files = saved[THEME_FILES]
    if not (0 <= theme_files < len(fresh_sets)) or not fresh_sets[theme_files]:
        return "theme"
    if saved[OUTPUTS::STAMP_SIZE] != expected.kinds:
        return "outputs"
    return None


def set_is_fresh(files: dict[str, str], theme_file_digest: Callable[[str], str]) -> bool:
    return all(theme_file_digest(name) == digest for name, digest in files.items())


def _credential_folders(out_dir: Path) -> set[str]:
    # One directory read, not a stat per credential: fast at 100k.
    try:
        return set(os.listdir(out_dir / CREDENTIALS_DIR))
    except FileNotFoundError:
        return set()
