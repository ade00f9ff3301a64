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

from sitegen import __version__
from sitegen.layout import CREDENTIAL_OUTPUTS, CREDENTIALS_DIR, expected_outputs, is_uuid, output_file
from sitegen.model import Credential, Site
from sitegen.plan.state import BuildState, CredentialState, OutputStamp
from sitegen.render.view import certificate_status
from sitegen.shards import partition_of


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
               shard: tuple[int, int] | None, signed: bool, purged: frozenset[str] = frozenset()) -> BuildPlan:
    plan = BuildPlan()
    fresh_sets = [set_is_fresh(files, theme_file_digest) for files in state.theme_file_sets]
    on_disk = _credential_folders(out_dir)
    out_root = str(out_dir) + os.sep  # strings, not Paths: this runs for every output of every credential
    wanted = set()
    for credential, record in zip(credentials, record_digests):
        if shard and shard_of(credential.uuid, shard[1]) != shard[0]:
            continue
        wanted.add(credential.uuid)
        status = certificate_status(credential, today)
        digest = inputs_digest(record, settings_digest(credential), status)
        plan.inputs[credential.uuid] = digest
        expected = expected_outputs(signed=signed, has_pdf=status != "revoked")
        reason = _why_rebuild(state.credentials.get(credential.uuid), digest, fresh_sets, expected)
        if reason is None:
            reason, restamped = _check_outputs(out_root, credential.uuid, state.credentials[credential.uuid])
            if restamped:
                plan.restamped[credential.uuid] = restamped
        if reason:
            plan.to_build.append(credential)
            plan.reasons[credential.uuid] = reason
        else:
            plan.unchanged.append(credential.uuid)
    mine = (lambda u: shard_of(u, shard[1]) == shard[0]) if shard else (lambda u: True)
    plan.purged = sorted(u for u in purged if mine(u))
    # A shard's output holds its own credentials only: those of other shards (N changed,
    # or a tree restored from another job's cache) go, or its publish would never see them.
    plan.removed = sorted((set(state.credentials) | on_disk) - wanted - set(plan.purged))
    return plan


def record_digest(credential: Credential) -> str:
    """What the record says, digested; kept in the record cache so a no-op build skips it."""
    return hashlib.sha256(repr(credential.content).encode("utf-8")).hexdigest()


def inputs_digest(record: str, settings: str, status: str) -> str:
    # The status as of today is an input: an expiry date passing changes the page.
    text = f"{__version__}\0{record}\0{settings}\0{status}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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


def _why_rebuild(saved: CredentialState | None, digest: str, fresh_sets: list[bool],
                 expected: tuple[str, ...]) -> str | None:
    if saved is None:
        return "new"
    if saved.uncertain:
        return "uncertain"  # a build that failed or died may have half-written it
    if saved.inputs != digest:
        return "changed"
    if not (0 <= saved.theme_files < len(fresh_sets)) or not fresh_sets[saved.theme_files]:
        return "theme"
    if tuple(saved.outputs) != expected:
        return "outputs"
    return None


def _check_outputs(out_root: str, uuid: str, saved: CredentialState) -> tuple[str | None, dict]:
    """("missing" or "altered", {}) when an output is not as written; else (None, new stamps
    of outputs whose modification time moved while their bytes stayed the same).

    Runs for every output of every credential of a no-op build: the files are named by
    `output_file`, without a CredentialPaths checking the ID again for each."""
    restamped = {}
    for kind, stamp in saved.outputs.items():
        named_by = CREDENTIAL_OUTPUTS[kind].named_by
        naming = saved.outputs.get(named_by) if named_by else None
        try:
            path = out_root + output_file(kind, uuid, naming.sha256 if naming else None)
        except ValueError:  # named by an output it does not have, or by a damaged digest
            return "missing", {}
        try:
            stat = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            return "missing", {}
        if stat.st_size == stamp.size and stat.st_mtime_ns == stamp.mtime_ns:
            continue
        if stat.st_size != stamp.size or _file_sha256(path) != stamp.sha256:
            return "altered", {}
        restamped[kind] = OutputStamp(stamp.sha256, stat.st_size, stat.st_mtime_ns)
    return None, restamped


def _file_sha256(path: str) -> str | None:
    try:
        with open(path, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError:  # a folder where a file should be, unreadable: not what was written
        return None


def set_is_fresh(files: dict[str, str], theme_file_digest: Callable[[str], str]) -> bool:
    return all(theme_file_digest(name) == digest for name, digest in files.items())


def _credential_folders(out_dir: Path) -> set[str]:
    # One directory read, not a stat per credential: fast at 100k.
    try:
        with os.scandir(out_dir / CREDENTIALS_DIR) as entries:
            return {e.name for e in entries if is_uuid(e.name)}
    except FileNotFoundError:
        return set()
