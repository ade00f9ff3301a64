"""Render, sign and write batches of credentials, in worker processes (`sitegen.workers`).

Each worker holds its own job (theme, fonts, signer, output tree) and writes files
itself, so page and PDF bytes never travel between processes and memory stays flat
however many credentials there are. It returns small outcomes the build turns into
state and the report.
"""

from __future__ import annotations

import traceback
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field

from sitegen.model import Credential
from sitegen.plan.state import CredentialState, OutputStamp
from sitegen.render.credential import CredentialFailure, CredentialRenderer
from sitegen.sign.credential import sign_credential
from sitegen.sign.gpg import Signer
from sitegen.workers import run_tasks
from sitegen.write.credential import CredentialWriter

CREDENTIALS_PER_TASK = 25  # per worker task: enough to batch PDF layout, small enough to balance
# Without PDFs a credential costs about half a millisecond: tasks of 25 would spend a fifth as
# much again of the parent's time on sending them and collecting their results.
PAGES_PER_TASK = 100


@dataclass(frozen=True)
class CredentialOutcome:
    uuid: str
    error: str | None = None
    outputs: dict[str, OutputStamp] = field(default_factory=dict)
    theme_files: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class CredentialJob:
    """render -> sign -> write, for one batch of credentials at a time."""

    renderer: CredentialRenderer
    signer: Signer | None  # None for a pages-only build
    writer: CredentialWriter

    def run(self, batch: list[tuple[Credential, CredentialState | None]]) -> list[CredentialOutcome]:
        previous = {credential.uuid: saved for credential, saved in batch}
        rendered = self.renderer.render_batch([credential for credential, _ in batch])
        return [self._finish(item, previous[item.uuid]) for item in rendered]

    def _finish(self, item, previous: CredentialState | None) -> CredentialOutcome:
        if isinstance(item, CredentialFailure):
            return CredentialOutcome(item.uuid, error=item.reason)
        try:
            files = sign_credential(item, self.signer) if self.signer else item.files
            outputs = self.writer.write(item.uuid, files, previous)
        except Exception as err:  # one credential's failure must not stop the others
            detail = traceback.format_exception_only(type(err), err)[-1].strip()
            return CredentialOutcome(item.uuid, error=detail)
        return CredentialOutcome(item.uuid, outputs=outputs, theme_files=item.theme_files)


def run_batches(job: CredentialJob, credentials: list[Credential], previous: dict[str, CredentialState],
                jobs: int) -> Iterator[list[CredentialOutcome]]:
    """Outcomes batch by batch, as they finish; `jobs` worker processes (1: this one)."""
    if job.signer is not None:
        # Each worker draws a PDF backdrop once per template and height of name it meets
        # (~90 ms each). Batches of one course, mode and script meet few of them, and with
        # a few batches per kind most are drawn by one worker instead of by every worker.
        # The order changes nothing else: outputs do not depend on it.
        credentials = sorted(credentials, key=_look_alike)
    size = CREDENTIALS_PER_TASK if job.signer is not None else PAGES_PER_TASK
    batches = [[(c, previous.get(c.uuid)) for c in credentials[i:i + size]] for i in range(0, len(credentials), size)]
    return run_tasks(job, batches, jobs)


def _look_alike(credential: Credential) -> tuple:
    """Credentials whose certificates share a backdrop sort together: same template inputs,
    names in the same script (the first letter's, as Unicode names it: LATIN, ARABIC...)."""
    return (credential.credential_type, credential.course_id or credential.program_id or "",
            credential.certificate_type or "", credential.status, credential.expires is not None,
            _script(credential.full_name))


def _script(name: str) -> str:
    for char in name:
        if char.isalpha():
            return unicodedata.name(char, "").partition(" ")[0]
    return ""
