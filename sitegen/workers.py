"""Worker processes for the build's stages: batches in, small outcomes out.

A stage hands `run_tasks` a job (any object with `run(batch) -> outcome`) and its
batches. The job is forked into each worker once, with everything it loaded (theme,
fonts, signer, output tree), and writes files itself, so page and PDF bytes never travel
between processes and memory stays flat however many batches there are.
"""

from __future__ import annotations

import gc
import os
import signal
from collections.abc import Iterable, Iterator
from typing import Protocol, TypeVar

Outcome = TypeVar("Outcome")


def cores() -> int:
    """The cores this process may run on (a CI runner's container may have fewer than the machine)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class Job(Protocol[Outcome]):
    def run(self, batch: list) -> Outcome: ...


def run_tasks(job: Job[Outcome], batches: Iterable[list], jobs: int) -> Iterator[Outcome]:
    """Outcomes batch by batch, as they finish; `jobs` worker processes (0: one per core;
    1, or a single batch: this process). `batches` may be a generator: it is read only as
    workers free up, so a stage can stream its input."""
    batches = iter(batches)
    first = next(batches, None)
    second = next(batches, None) if first is not None else None
    jobs = jobs or os.cpu_count() or 1
    if second is None or jobs == 1:
        for batch in (b for b in (first, second) if b is not None):
            yield job.run(batch)
        for batch in batches:
            yield job.run(batch)
        return
    yield from _run_in_pool(job, _chain(first, second, batches), jobs)


def _run_in_pool(job: Job[Outcome], batches: Iterator[list], jobs: int) -> Iterator[Outcome]:
    # Imported here: a build with nothing to do starts no pool, and loads none of it.
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    # fork: workers inherit the loaded theme, fonts and signer instead of rebuilding them.
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_start_worker,
                             initargs=(job, os.getpid())) as pool:
        pending = set()
        for batch in batches:  # a bounded number in flight: memory stays flat
            pending.add(pool.submit(_run_in_worker, batch))
            if len(pending) >= jobs * 2:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        for future in pending:
            yield future.result()


def _chain(first: list, second: list, rest: Iterator[list]) -> Iterator[list]:
    yield first
    yield second
    yield from rest


# -- worker processes ------------------------------------------------------------------
# The job a worker runs lives for the worker's life in this process-local slot; the
# process that starts the pool never sets or reads it.

_worker_job: Job | None = None


def _start_worker(job: Job, parent_pid: int) -> None:
    global _worker_job
    _worker_job = job
    _die_with_parent(parent_pid)
    # Everything loaded so far (theme, fonts, site) lives as long as the worker: keep the
    # garbage collector from scanning it again and again (a few % of PDF time).
    gc.freeze()


def _run_in_worker(batch: list):
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
