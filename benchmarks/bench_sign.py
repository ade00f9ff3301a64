"""What signing costs per credential: one gpg process per signature vs gpg-agent directly.

    .venv/bin/python benchmarks/bench_sign.py [N] [--algorithms ed25519,rsa3072] [--jobs J] [--rounds R]

For each key algorithm, makes a throw-away key in a temporary GNUPGHOME, then N synthetic
credentials (a PDF-sized blob and a statement with names in several scripts), and signs
each the way a build does (the PDF's detached signature and the clear-signed statement):

* gpg: `GpgSigner.open(..., use_agent=False)`, one run of gpg through python-gnupg per
  signature (what sitegen did before; the naive baseline);
* agent: `GpgSigner.open(...)`, which asks gpg-agent over one connection and writes the
  OpenPGP packets itself.

Both run in this process, after a warm-up, alternating for R rounds (the median is shown),
and must produce the very same bytes. With --jobs J > 1, each way also runs in J forked
worker processes, as the build does. CPU is this process, its children (gpg) and the
gpg-agent, which does the signing arithmetic for both ways; on a busy machine, trust CPU.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from corpus import NAMES  # noqa: E402
from gpgkeys import make_key, new_home, stop_agent  # noqa: E402
from sitegen.model import SigningSettings  # noqa: E402
from sitegen.sign.agent import AgentConnection, agent_socket  # noqa: E402
from sitegen.sign.gpg import GpgSigner  # noqa: E402

PDF_SIZE = 40_000  # bytes: the certificates a build makes weigh 10 to 60 KB


def credentials(count: int, seed: int = 1) -> list[tuple[bytes, str, dt.datetime]]:
    rng = random.Random(seed)
    names = [name for script in NAMES.values() for name in script]
    made = []
    for i in range(count):
        pdf = b"%PDF-1.7\n" + rng.randbytes(PDF_SIZE)
        statement = "\n".join([
            "sitegen credential statement, version 1", "",
            "Issuer: Example University", f"Recipient: {rng.choice(names)}",
            "Credential: Computing 101 - Introduction", f"Credential ID: {i:032x}",
            f"PDF SHA-256: {rng.randbytes(32).hex()}", "",
            "How to check: import the key, then run gpg --verify statement.txt.asc.", "",
        ])
        made.append((pdf, statement, dt.datetime(2024, 1 + i % 12, 1 + i % 28, 12, tzinfo=dt.UTC)))
    return made


def sign_all(signer: GpgSigner, batch) -> list[tuple[str, str]]:
    return [(signer.sign_detached(pdf, at), signer.clearsign(text, at)) for pdf, text, at in batch]


class Clock:
    """Wall and CPU seconds: this process, its waited-for children, and gpg-agent."""

    def __init__(self, agent_pid: int):
        self.agent_pid = agent_pid

    def read(self) -> tuple[float, float]:
        now = os.times()
        cpu = now.user + now.system + now.children_user + now.children_system
        with open(f"/proc/{self.agent_pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        cpu += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return time.perf_counter(), cpu


def agent_pid(home: Path) -> int:
    connection = AgentConnection(agent_socket(home))
    try:
        return int(connection.command("GETINFO pid")[0])
    finally:
        connection.close()


_worker_signer: GpgSigner | None = None


def _start_worker(signer: GpgSigner) -> None:
    global _worker_signer
    _worker_signer = signer


def _sign_chunk(batch) -> list[tuple[str, str]]:
    return sign_all(_worker_signer, batch)


def sign_in_workers(signer: GpgSigner, batch, jobs: int) -> list[tuple[str, str]]:
    # as the build does: workers forked after the signer was opened
    chunks = [batch[i:i + 25] for i in range(0, len(batch), 25)]
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork"),
                             initializer=_start_worker, initargs=(signer,)) as pool:
        return [pair for chunk in pool.map(_sign_chunk, chunks) for pair in chunk]


def measure(algorithm: str, count: int, jobs: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="sgb-") as tmp:  # short: gpg-agent's socket lives there
        home = new_home(Path(tmp) / "g")
        try:
            started = time.perf_counter()
            fingerprint = make_key(home, algorithm=algorithm, extra=("--faked-system-time", "20200101T000000"))
            print(f"\n{algorithm}: key made in {time.perf_counter() - started:.1f} s; "
                  f"{count} credentials, {PDF_SIZE // 1000} KB PDFs, {rounds} rounds")
            settings = SigningSettings(key=fingerprint, gnupghome=str(home))
            ways = {"gpg": GpgSigner.open(settings, Path(tmp), use_agent=False),
                    "agent": GpgSigner.open(settings, Path(tmp))}
            if ways["agent"].agent is None:
                sys.exit("the agent path is not available here (see the warning above)")
            batch = credentials(count)
            clock = Clock(agent_pid(home))
            for signer in ways.values():
                sign_all(signer, batch[:3])  # warm-up
            runs = {(name, j): [] for name in ways for j in sorted({1, jobs})}
            outputs = {}
            for _ in range(rounds):
                for (name, j), times in runs.items():
                    wall, cpu = clock.read()
                    if j == 1:
                        outputs[name, j] = sign_all(ways[name], batch)
                    else:
                        outputs[name, j] = sign_in_workers(ways[name], batch, j)
                    wall_end, cpu_end = clock.read()
                    times.append(((wall_end - wall) / count * 1000, (cpu_end - cpu) / count * 1000))
            if len({tuple(o) for o in outputs.values()}) != 1:
                sys.exit("the two ways made different signatures")
            report(runs)
        finally:
            stop_agent(home)


def report(runs: dict) -> None:
    medians = {key: (statistics.median(w for w, _ in times), statistics.median(c for _, c in times))
               for key, times in runs.items()}
    print(f"  {'way':<8}{'workers':>8}{'wall ms/cred':>14}{'CPU ms/cred':>13}")
    for (name, j), (wall, cpu) in medians.items():
        print(f"  {name:<8}{j:>8}{wall:>14.2f}{cpu:>13.2f}")
    for j in sorted({j for _, j in medians}):
        (gpg_wall, gpg_cpu), (agent_wall, agent_cpu) = medians["gpg", j], medians["agent", j]
        print(f"  {j} worker(s): agent is {gpg_wall / agent_wall:.1f}x faster (wall), "
              f"{gpg_cpu / agent_cpu:.1f}x less CPU; identical bytes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("count", nargs="?", type=int, default=200, help="credentials (default 200)")
    parser.add_argument("--algorithms", default="ed25519,rsa3072")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="workers for the parallel runs")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"gpg signing benchmark, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    for algorithm in args.algorithms.split(","):
        measure(algorithm, args.count, args.jobs, args.rounds)


if __name__ == "__main__":
    main()
