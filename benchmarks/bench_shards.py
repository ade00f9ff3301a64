"""The 600k projection: one shard of an N-way split, built and published, and the shared-page job.

    .venv/bin/python benchmarks/bench_shards.py                        # 20,000 credentials, 20 shards
    .venv/bin/python benchmarks/bench_shards.py --total 600000 --shards 20 --mode full

A synthetic corpus (`corpus.py`) of `--total` credentials is split `--shards` ways. Shard
`--shard` (a shard that does not build the shared pages) and shard 1 (its credentials and the
shared pages) are each built with `sitegen build --shard K/N` and published with
`sitegen publish --shard K/N` to a local moto server (its own process, on 127.0.0.1), timed
as a CI job runs them (child processes, wall time); then the same shard again, nothing
changed, as a daily run with its build/ cached. A matrix runs its N jobs at once, so the
wall time of a run is that of its slowest job (shard 1); the machine time is about N times
one job's.

Each shard's two runs talk to a moto server of their own, whose CPU time is printed: on a
runner publishing to S3 that work is not on the runner's cores. `--jobs shard` or `--jobs shared`
times one of the two jobs only.

`--mode pages` builds pages and JSON only (no PDFs or signatures): such a build is a preview
that publish refuses, so the benchmark marks its report publishable to time the upload; never
do that for a real site. `--mode full` builds every artifact, signed with a throw-away key.

The projection to 600,000 credentials over the same number of shards scales each job's time
by the corpus: the shard's own work (rendering, signing, writing, uploading) grows with its
size, total/N, and what every shard does for the whole corpus (reading and validating all
records, listing the PDF hash index) with the total.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from corpus import write_project  # noqa: E402
from gpgkeys import KEY_CREATED, make_key, new_home, stop_agent  # noqa: E402
from s3server import DUMMY_ENV, s3_client, start_moto_server  # noqa: E402

TARGET = 600_000
SCRIPTS = ["latin", "cyrillic", "cjk", "arabic", "devanagari"]


def save_vc_key(gnupg: Path) -> None:
    """The Ed25519 key of the verifiable credentials, beside the OpenPGP key, where
    `sitegen keys init` puts it (a sitegen that has none needs none)."""
    try:
        from sitegen.sign.vc_key import VC_KEY_FILE_NAME
        from sitegen.vc import new_key, save_key
    except ImportError:
        return
    save_key(new_key(), gnupg / VC_KEY_FILE_NAME)


def sitegen(*args: str, env: dict) -> tuple[float, str, float]:
    """One `sitegen` command in a child process, as a CI step runs it: wall time, stdout,
    and the CPU time (user + system) of the command and its workers."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen([sys.executable, "-m", "sitegen", *args], stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        out.seek(0), err.seek(0)
        stdout, stderr = out.read(), err.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"sitegen {' '.join(args)} failed:\n{stderr}")
    # wait4 counts the command and the children it waited for (its worker processes).
    return time.perf_counter() - started, stdout, usage.ru_utime + usage.ru_stime


def job(project: Path, out: Path, shard: str, mode: str, bucket: str, env: dict) -> dict:
    """`sitegen build --shard` then `sitegen publish --shard`, timed apart; the publish report."""
    extra = ["--pages-only"] if mode == "pages" else []
    built, _, build_cpu = sitegen("build", "--site", str(project), "--out", str(out), "--shard", shard, "--quiet",
                                  *extra, env=env)
    original = mark_publishable(out) if mode == "pages" else None
    published, report, publish_cpu = sitegen("publish", "--site", str(project), "--out", str(out), "--shard", shard,
                                             "--json", env={**env, "SITEGEN_PUBLISH_BUCKET": bucket})
    if original is not None:  # a preview again: the next build may write over it
        (out / ".sitegen/last-build.json").write_text(original)
    report = json.loads(report)
    return {"build": built, "publish": published, "objects": report["uploaded"] + report["unchanged"],
            "uploaded": report["uploaded"], "requests": report["requests"],
            "build_cpu": build_cpu, "publish_cpu": publish_cpu}


def mark_publishable(out: Path) -> str:
    """A pages-only build is a preview: marked publishable here only to time its upload.
    Returns the report as it was."""
    report_file = out / ".sitegen/last-build.json"
    original = report_file.read_text()
    report_file.write_text(json.dumps({**json.loads(original), "publishable": True, "preview": None}))
    return original


def load_seconds(project: Path) -> float:
    """Reading and validating every record, which each shard does for the whole corpus."""
    code = ("import time; from pathlib import Path; from sitegen.load.config import load_site; "
            "from sitegen.load.record_cache import load_credentials; t = time.perf_counter(); "
            f"load_credentials(load_site(Path({str(project)!r})), None); print(time.perf_counter() - t)")
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)


def shard_size(total: int, shards: int, index: int) -> int:
    from corpus import synthetic_uuid
    from sitegen.shards import Shard

    return sum(1 for i in range(total) if Shard(index, shards).owns(synthetic_uuid(i)))


def projected(figures: dict, total: int) -> float:
    """A job's seconds at 600k over the same N: what depends on the shard's size and what every
    shard does for the whole corpus both grow with the corpus. Linear, so the fixed costs
    (start-up, a listing's first request) are over-counted: an upper bound."""
    return (figures["build"] + figures["publish"]) * TARGET / total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--total", type=int, default=20_000, help="credentials in the corpus (default 20,000)")
    parser.add_argument("--shards", type=int, default=20, help="N, the shard count (default 20)")
    parser.add_argument("--shard", type=int, default=2, help="the shard timed besides shard 1 (default 2)")
    parser.add_argument("--mode", choices=("pages", "full", "both"), default="both",
                        help="pages and JSON only, or every artifact (PDF, signature, statement, card)")
    parser.add_argument("--jobs", choices=("both", "shard", "shared"), default="both",
                        help="time shard --shard, shard 1 (the shared pages' job), or both (default)")
    parser.add_argument("--keep", type=Path, help="keep the work folder here")
    args = parser.parse_args()
    if not 2 <= args.shard <= args.shards:
        raise SystemExit("--shard: one of 2..N (shard 1 is timed anyway)")

    os.environ.update(DUMMY_ENV)  # the moto server's dummy credentials, for this process's own client
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-shards-"))
    work.mkdir(parents=True, exist_ok=True)
    gnupg = new_home(work / "gnupg")
    try:
        fingerprint = make_key(gnupg, extra=("--faked-system-time", KEY_CREATED))
        save_vc_key(gnupg)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SITEGEN_")}
        env.update(DUMMY_ENV, SITEGEN_GNUPGHOME=str(gnupg), SITEGEN_SIGNING_KEY=fingerprint)
        t0 = time.perf_counter()
        project = write_project(work / "project", args.total, SCRIPTS)
        site_yml = project / "site.yml"
        if "contact_email:" not in site_yml.read_text():  # Open Badges 2.0 wants the issuer's address
            site_yml.write_text(site_yml.read_text() + "contact_email: registrar@bench.test\n")
        print(f"corpus: {args.total} credentials written in {time.perf_counter() - t0:.1f} s; "
              f"{os.cpu_count()} cores", flush=True)
        load = load_seconds(project)
        indexes = {"both": (args.shard, 1), "shard": (args.shard,), "shared": (1,)}[args.jobs]
        sizes = {k: shard_size(args.total, args.shards, k) for k in indexes}
        print(f"every shard reads and validates all {args.total} records: {load:.1f} s "
              f"(at {TARGET:,}: about {load * TARGET / args.total:.0f} s)")
        for mode in ("pages", "full") if args.mode == "both" else (args.mode,):
            figures = {}
            for index in indexes:
                figures.update(shard_jobs(project, work, mode, f"{index}/{args.shards}", env))
            report(mode, args, figures, sizes)
    finally:
        stop_agent(gnupg)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def shard_jobs(project: Path, work: Path, mode: str, shard: str, env: dict) -> dict:
    """One shard's first run, then again with nothing new (a daily run with build/ cached),
    against a moto server of its own: moto keeps every object in memory, and the shards of a
    600k corpus together would not fit. Prints each job's figures as it finishes."""
    index = int(shard.split("/")[0])
    moto, server = start_moto_server()
    bucket = f"bench-shards-{mode}"
    s3_client(server.url).create_bucket(Bucket=bucket)
    env = {**env, "AWS_ENDPOINT_URL_CLOUDFRONT": server.url, "SITEGEN_PUBLISH_ENDPOINT_URL": server.url}
    figures = {}
    try:
        for key in (index, (index, "again")):
            figures[key] = f = job(project, work / f"{mode}-shard-{index}", shard, mode, bucket, env)
            print(f"  {mode}, shard {shard}{', again' if key != index else ''}: build {f['build']:.1f} s "
                  f"(CPU {f['build_cpu']:.1f} s), publish {f['publish']:.1f} s (CPU of the client "
                  f"{f['publish_cpu']:.1f} s), {f['objects']:,} objects, {f['requests']:,} requests", flush=True)
    finally:
        moto.terminate()
        _, _, usage = os.wait4(moto.pid, 0)
    # The server shares these cores; against S3 this CPU is Amazon's, not the runner's.
    print(f"  (moto, the S3 server on the same cores, used {usage.ru_utime + usage.ru_stime:.1f} s of CPU "
          f"for both runs of shard {shard}, peak {usage.ru_maxrss / 1024:.0f} MiB)", flush=True)
    return figures


def report(mode: str, args, figures: dict, sizes: dict) -> None:
    label = "pages and JSON only" if mode == "pages" else "every artifact (page, PDF, signature, statement, JSON)"
    print(f"\n== {label}: {args.total:,} credentials in {args.shards} shards ==")
    print(f"{'job':28} {'credentials':>11} {'build s':>8} {'publish s':>9} {'objects':>8} {'requests':>8}")
    for key, name in ((args.shard, f"shard {args.shard}/{args.shards}"), (1, f"shard 1/{args.shards} (+ shared)"),
                      ((args.shard, "again"), f"shard {args.shard}, nothing new"),
                      ((1, "again"), "shard 1, nothing new")):
        if key not in figures:
            continue
        f = figures[key]
        size = sizes[key if isinstance(key, int) else key[0]]
        print(f"{name:28} {size:>11,} {f['build']:>8.1f} {f['publish']:>9.1f} {f['objects']:>8,} {f['requests']:>8,}")
    seconds = {index: figures[index]["build"] + figures[index]["publish"] for index in sizes}
    if len(seconds) == 2:
        machine = seconds[args.shard] * (args.shards - 1) + seconds[1]
        print(f"this corpus: a run takes about {max(seconds.values()):.0f} s of wall time (the slower of the two "
              f"jobs), {machine / 60:.0f} min of machine time ({args.shards - 1} x shard {args.shard} + shard 1)")
    if args.total != TARGET:
        at = {index: projected(figures[index], args.total) for index in sizes}
        each = ", ".join(f"shard {index}: {s / 60:.0f} min" for index, s in at.items())
        daily = projected(figures[next(iter(sizes)), "again"], args.total)
        print(f"projection to {TARGET:,} credentials in {args.shards} shards: a job takes about "
              f"{max(at.values()) / 60:.0f} min of wall time ({each}); a daily run with nothing new: "
              f"{daily / 60:.1f} min per shard")


if __name__ == "__main__":
    main()
