"""Benchmark `sitegen publish` against `aws s3 sync` on a synthetic 10k-credential build.

Both tools talk to the same moto server (its own process, on 127.0.0.1); requests are counted
the same way for both, from the server's request log. Scenarios:

1. first publish of the whole tree;
2. publish again after a "fresh checkout" (every file's mtime changed, bytes the same);
3. one new award (one more credential), in a fresh checkout (as CI sees it) and in the
   operator's own working copy (mtimes older than the bucket's copies).

Then the upload thread pool: the first publish of a smaller tree with 1 thread and with N.
Then upload processes against the threads of one process: the first publish of a few
thousand objects (and of a batch near the threshold), alternating, minima of `--repeat`
runs: wall time and the client's CPU time (this process and its worker processes; moto,
a child too, is reaped only at the end, so it is not in the figure). moto runs on the
same cores, so the wall time understates what processes gain against real S3, where the
server's work is elsewhere: the CPU per object is the figure to scale from.

    .venv/bin/python benchmarks/bench_publish.py [--credentials 10000] [--aws-cli PATH]
    .venv/bin/python benchmarks/bench_publish.py --only-processes [--process-credentials 500]

`--aws-cli` defaults to `aws` on PATH; install it with `pip install awscli` (any venv).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from s3server import DUMMY_ENV, s3_client  # noqa: E402
from sitegen.model import PublishSettings  # noqa: E402
from sitegen.publish.manifest import MANIFEST_DIR  # noqa: E402
from sitegen.publish.sync import publish  # noqa: E402


def credential_files(rng: random.Random, index: int) -> dict[str, bytes]:
    u = hashlib.md5(f"credential-{index}".encode()).hexdigest()
    page = f"<!doctype html><title>Certificate {u}</title>".encode() + rng.randbytes(1500).hex().encode()
    return {
        f"credentials/{u}/index.html": page,
        f"credentials/{u}/certificate.pdf": b"%PDF-1.7\n" + rng.randbytes(4000),
        f"credentials/{u}/certificate.pdf.sig": b"-----BEGIN PGP SIGNATURE-----\n" + rng.randbytes(200).hex().encode(),
        f"credentials/{u}/statement.txt.asc":
            b"-----BEGIN PGP SIGNED MESSAGE-----\n" + rng.randbytes(400).hex().encode(),
        f"credentials/{u}/share.png": b"\x89PNG\r\n\x1a\n" + rng.randbytes(2000),
        f"api/v1/credentials/{u}": json.dumps({"uuid": u, "status": "awarded"}).encode(),
    }


def write_tree(build: Path, credentials: int, seed: int = 1) -> int:
    rng = random.Random(seed)
    files = {
        "index.html": b"<!doctype html>home",
        "verify/index.html": b"<!doctype html>verify",
        "keys/index.html": b"<!doctype html>keys",
        "keys/signing-key.asc": b"-----BEGIN PGP PUBLIC KEY BLOCK-----",
        "assets/site.3f2a9c1b.css": b"body{}" * 200,
        "assets/app.0badc0de.js": b"console.log(1);" * 100,
        ".sitegen/last-build.json": json.dumps(
            {"ok": True, "errors": 0, "signing": {"fingerprint": "BENCH", "development_key": False},
             "publishable": True, "preview": None, "shard": None}
        ).encode(),
    }
    for i in range(credentials):
        files.update(credential_files(rng, i))
    for rel, data in files.items():
        path = build / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return sum(1 for rel in files if not rel.startswith("."))


def add_credential(build: Path, index: int) -> None:
    for rel, data in credential_files(random.Random(index), index).items():
        path = build / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def touch_all(build: Path, when: float) -> None:
    for path in build.rglob("*"):
        os.utime(path, (when, when))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto(log: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),  # one line per request: what we count
    )
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1)
            return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("moto server did not start")


REQUEST_LINE = re.compile(rb'\] "(GET|PUT|POST|DELETE|HEAD) (\S+) HTTP')


class Counted:
    """Requests, and object PUTs (not the manifest), in the server's log during a block."""

    def __init__(self, server_log: Path):
        self.server_log = server_log

    def __enter__(self):
        time.sleep(0.2)  # let the server flush the previous run's lines
        self.start = self.server_log.stat().st_size
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0
        time.sleep(0.2)
        with self.server_log.open("rb") as f:
            f.seek(self.start)
            lines = [m.groups() for m in REQUEST_LINE.finditer(f.read())]
        self.requests = len(lines)
        self.puts = sum(
            1 for method, path in lines
            if method == b"PUT" and path.count(b"/") >= 2 and b"/.sitegen/" not in path
        )


def run_sitegen(build: Path, bucket: str, server: tuple[str, Path], jobs: int, **options) -> Counted:
    url, server_log = server
    settings = PublishSettings(bucket=bucket)
    with Counted(server_log) as c:
        cpu, workers = client_cpu(), client_cpu(resource.RUSAGE_CHILDREN)
        report = publish(build, settings, endpoint_url=url, log=lambda line: None, jobs=jobs, **options)
        c.cpu, c.workers_cpu = client_cpu() - cpu, client_cpu(resource.RUSAGE_CHILDREN) - workers
    c.uploaded = report.uploaded
    c.own_count = report.requests
    return c


def client_cpu(*who: int) -> float:
    """CPU seconds of this process and of its children that ended (the upload workers)."""
    total = 0.0
    for each in who or (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(each)
        total += usage.ru_utime + usage.ru_stime
    return total


def compare_processes(work: Path, s3, server: tuple[str, Path], credentials: int, jobs: int, repeat: int) -> None:
    """The first publish of `credentials`' objects, from this process's threads and from one
    worker process per core (forced on, whatever the batch), alternating; minima."""
    build = work / f"processes-build-{credentials}"
    write_tree(build, credentials, seed=3)
    modes = {"threads": {"upload_processes": 1}, "processes": {"upload_processes": 0, "process_threshold": 1}}
    best: dict[str, Counted] = {}
    for run in range(repeat):
        for name, options in modes.items():
            bucket = f"bench-{name}-{credentials}-{run}"
            s3.create_bucket(Bucket=bucket)
            c = run_sitegen(build, bucket, server, jobs, **options)
            if c.own_count != c.requests:
                print(f"note: {name}: sitegen counted {c.own_count} requests, the server {c.requests}")
            for figure in ("seconds", "cpu", "workers_cpu"):
                kept = best.setdefault(name, c)
                if getattr(c, figure) < getattr(kept, figure):
                    setattr(kept, figure, getattr(c, figure))
    threads, processes = best["threads"], best["processes"]
    print(f"first publish of {threads.uploaded} objects ({credentials} credentials), {cores()} cores, "
          f"min of {repeat}:")
    for name, c in best.items():
        print(f"  {name:10} {c.seconds:6.1f} s wall, {c.cpu:6.1f} s client CPU "
              f"({1000 * c.cpu / c.uploaded:.2f} ms per object; {c.workers_cpu:.1f} s in worker processes)")
    print(f"  processes/threads: wall {processes.seconds / threads.seconds:.2f}x, "
          f"client CPU {processes.cpu / threads.cpu:.2f}x")


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def run_aws(aws: str, build: Path, bucket: str, server: tuple[str, Path], env: dict) -> Counted:
    url, server_log = server
    command = [aws, "s3", "sync", str(build), f"s3://{bucket}/", "--delete", "--exclude", ".sitegen/*",
               "--endpoint-url", url, "--only-show-errors"]
    with Counted(server_log) as c:
        subprocess.run(command, env=env, check=True)
    c.uploaded = c.puts
    return c


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--credentials", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=16)
    parser.add_argument("--pool-credentials", type=int, default=500, help="tree size for the thread pool run")
    parser.add_argument("--aws-cli", default=shutil.which("aws"))
    parser.add_argument("--process-credentials", type=int, nargs="+", default=[500, 60],
                        help="tree sizes for processes against threads")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, for processes against threads")
    parser.add_argument("--only-processes", action="store_true", help="only processes against threads")
    args = parser.parse_args()

    os.environ.update(DUMMY_ENV)
    work = Path(tempfile.mkdtemp(prefix="bench-publish-"))
    server_log = work / "moto.log"
    moto, port = start_moto(server_log)
    server = (f"http://127.0.0.1:{port}", server_log)
    s3 = s3_client(server[0])
    try:
        if args.only_processes:
            for credentials in args.process_credentials:
                compare_processes(work, s3, server, credentials, args.jobs, args.repeat)
            return
        build = work / "build"
        t0 = time.perf_counter()
        files = write_tree(build, args.credentials)
        print(f"tree: {args.credentials} credentials, {files} files "
              f"(+{args.credentials} page aliases in the bucket), written in {time.perf_counter() - t0:.1f}s")

        results: dict[str, dict[str, Counted]] = {"sitegen": {}, "aws s3 sync": {}}
        s3.create_bucket(Bucket="bench-sitegen")
        aws_env = None
        if args.aws_cli:
            s3.create_bucket(Bucket="bench-awscli")
            config = work / "aws-config"
            config.write_text("[default]\ns3 =\n    addressing_style = path\n")
            aws_env = {**os.environ, **DUMMY_ENV, "AWS_CONFIG_FILE": str(config)}

        scenarios = [
            ("first publish", lambda: None),
            # A CI job checks out afresh each time: every mtime is newer than the bucket's copy.
            ("fresh checkout (mtimes changed)", lambda: touch_all(build, time.time() + 3600)),
            ("one new award, fresh checkout", lambda: add_credential(build, args.credentials + 1)),
            # An operator's own working copy: mtimes older than the bucket's copies.
            ("one new award, same working copy", lambda: (
                touch_all(build, time.time() - 86400), add_credential(build, args.credentials + 2))),
        ]
        for name, prepare in scenarios:
            prepare()
            results["sitegen"][name] = run_sitegen(build, "bench-sitegen", server, args.jobs)
            if args.aws_cli:
                results["aws s3 sync"][name] = run_aws(args.aws_cli, build, "bench-awscli", server, aws_env)
            print(f"  done: {name}", flush=True)

        manifest = sum(item["Size"] for item in s3.list_objects_v2(
            Bucket="bench-sitegen", Prefix=MANIFEST_DIR + "/").get("Contents", ()))
        print()
        print(f"{'scenario':36} {'sitegen: uploads / requests / s':>34} {'aws s3 sync: uploads / requests / s':>38}")
        for name, _ in scenarios:
            s = results["sitegen"][name]
            line = f"{name:36} {s.uploaded:>12} / {s.requests:>8} / {s.seconds:>6.1f}"
            if args.aws_cli:
                a = results["aws s3 sync"][name]
                line += f"   {a.uploaded:>16} / {a.requests:>8} / {a.seconds:>6.1f}"
                if s.requests:
                    line += f"   (requests: aws/sitegen = {a.requests / s.requests:.0f}x)"
            print(line)
        if not args.aws_cli:
            print("aws s3 sync: not measured (no AWS CLI; pip install awscli, then --aws-cli PATH)")
        print(f"publish manifest: {manifest / 1024 / 1024:.1f} MiB for "
              f"{results['sitegen']['first publish'].uploaded} objects")
        mismatch = [n for n, c in results["sitegen"].items() if c.own_count != c.requests]
        if mismatch:
            print(f"note: sitegen's own request count differs from the server's for {mismatch}")

        pool_build = work / "pool-build"
        write_tree(pool_build, args.pool_credentials, seed=2)
        timings = {}
        for jobs in (1, args.jobs):
            bucket = f"bench-pool-{jobs}"
            s3.create_bucket(Bucket=bucket)
            timings[jobs] = run_sitegen(pool_build, bucket, server, jobs)
        one, many = timings[1], timings[args.jobs]
        print(f"thread pool, first publish of {one.uploaded} objects: 1 thread {one.seconds:.1f}s, "
              f"{args.jobs} threads {many.seconds:.1f}s ({one.seconds / many.seconds:.1f}x faster)")
        for credentials in args.process_credentials:
            compare_processes(work, s3, server, credentials, args.jobs, args.repeat)
    finally:
        moto.terminate()
        moto.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
