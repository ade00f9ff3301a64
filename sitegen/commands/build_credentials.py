"""Render, sign and write batches of credentials, in worker processes.

Each worker holds its own job (theme, fonts, signer, output tree) and writes files
itself, so page and PDF bytes never travel between processes and memory stays flat
however many credentials there are. It returns small outcomes the build turns into
state and the report.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import traceback
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field

from sitegen.model import Credential
from sitegen.plan.state import CredentialState, OutputStamp
from sitegen.render.credential import CredentialFailure, CredentialRenderer
from sitegen.sign.credential import sign_credential
from sitegen.sign.gpg import Signer
from sitegen.write.credential import CredentialWriter

CREDENTIALS_PER_TASK = 25  # per worker task: enough to batch PDF layout, small enough to balance


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
    batches = [[(c, previous.get(c.uuid)) for c in credentials[i:i + CREDENTIALS_PER_TASK]]
               for i in range(0, len(credentials), CREDENTIALS_PER_TASK)]
    jobs = jobs or os.cpu_count() or 1
    if jobs == 1 or len(batches) <= 1:
        for batch in batches:
            yield job.run(batch)
        return
    # fork: workers inherit the loaded theme, fonts and signer instead of rebuilding them.
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_start_worker,
                             initargs=(job, os.getpid())) as pool:
        pending = set()
        for batch in batches:  # keep a bounded number in flight: memory stays flat
            pending.add(pool.submit(_run_in_worker, batch))
            if len(pending) >= jobs * 2:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        for future in pending:
            yield future.result()


# -- worker processes ------------------------------------------------------------------
# The job a worker runs lives for the worker's life in this process-local slot; the
# process that starts the pool never sets or reads it.

_worker_job: CredentialJob | None = None


def _start_worker(job: CredentialJob, parent_pid: int) -> None:
    global _worker_job
    _worker_job = job
    _die_with_parent(parent_pid)
    # Everything loaded so far (theme, fonts, site) lives as long as the worker: keep the
    # garbage collector from scanning it again and again (a few % of PDF time).
    gc.freeze()


def _run_in_worker(batch: list[tuple[Credential, CredentialState | None]]) -> list[CredentialOutcome]:
    return _worker_job.run(batch)


def _die_with_parent(parent_pid: int) -> None:
    """A worker must not outlive a build killed with SIGKILL (it would wait forever)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return  # not Linux: the pool notices a dead parent at its next task
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)
