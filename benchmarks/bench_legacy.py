"""The legacy stage at edX's size: cold build, no-op rebuild, one new row; against the naive loop.

    .venv/bin/python benchmarks/bench_legacy.py                  # 20,000 rows over 687 courses
    .venv/bin/python benchmarks/bench_legacy.py --rows 594716    # edX's whole estate
    .venv/bin/python benchmarks/bench_legacy.py --rows 594716 --shard 1/20   # one job of a 20-shard matrix

A synthetic export of the platform's GeneratedCertificate table (`--rows` rows over
`--courses` courses, learners' names in every script of benchmarks/corpus.py, a few rows of
each status that is skipped) is dropped into a project of the default theme. Each step runs
in a child process, timed as a wall clock, with its peak memory:

- sitegen: `load_legacy_build` (read and check the export, digest what each page shows; an
  unchanged export's rows come from the cache of the first read) then `build_legacy` (plan
  against the stage's state, render and write what changed, the URL map), as `sitegen
  build` runs them: cold, again with nothing changed, and again after one new row;
- the naive baseline, on `--naive-rows` rows of the same export (it is slow): how the
  stage worked before it was incremental (`naive_legacy_stage` below: read every row, render
  every page in full, compare it with the file, one process);
- the rendering alone (the pages' bytes, nothing written), stamped and in full, on the
  naive baseline's rows: a cold build also creates a folder and a file per certificate,
  which the file system may make the larger cost (on a busy VM's disk, several hundred µs).

Absolute times on a shared machine are noise, so figures are given per certificate and as
ratios against the naive loop of the same run. The projection to 594,716 certificates (and
to one job of a 20-shard matrix, which reads every row but builds 1/20th of them) scales
the reading of the export by the rows and the stage's own work by the certificates built.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

from corpus import NAMES, write_project  # noqa: E402

EDX_CERTIFICATES = 594_716
EDX_COURSES = 687
SHARDS = 20
MIB = 1024 * 1024
COLUMNS = ("id", "user_id", "name", "course_id", "verify_uuid", "download_uuid", "download_url", "grade", "status",
           "mode", "created_date", "modified_date", "error_reason", "key", "distinction")
SKIPPED = ("notpassing", "deleted", "error", "unavailable", "audit_passing")
EXPORT = "credentials_data/generatedcertificate.csv"


# -- the synthetic export ----------------------------------------------------------------


def write_export(project: Path, rows: int, courses: int, seed: int = 1) -> None:
    """`rows` rows over `courses` courses: 1 row in 20 is not downloadable."""
    rng = random.Random(seed)
    names = [name for script in NAMES.values() for name in script]
    course_ids = [f"course-v1:BenchX+L{i}+2014_T{1 + i % 3}" if i % 2 else f"BenchX/L{i}/2013_Fall"
                  for i in range(courses)]
    with open(project / EXPORT, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")  # as the platform's MySQL export writes it
        writer.writerow(COLUMNS)
        for i in range(rows):
            writer.writerow(export_row(i, rng.choice(names), course_ids[rng.randrange(courses)], rng))


def export_row(i: int, name: str, course_id: str, rng: random.Random) -> list:
    verify_uuid, download_uuid = (f"{random.Random(i * 2 + k).getrandbits(128):032x}" for k in (1, 2))
    status = SKIPPED[i % len(SKIPPED)] if i % 20 == 19 else "downloadable"
    url = f"https://s3.amazonaws.com/verify.edx.org/downloads/{download_uuid}/Certificate.pdf" if i % 3 else ""
    day = f"20{12 + i % 6}-{1 + i % 12:02d}-{1 + i % 28:02d}"
    return [i + 1, 1000 + i, name, course_id, verify_uuid, download_uuid, url, f"0.{50 + i % 50}", status,
            ("honor", "verified", "professional")[rng.randrange(3)], f"{day} 10:00:00", f"{day} 14:30:00", "",
            f"k{i}", int(rng.random() < 0.05)]


def append_row(project: Path, index: int) -> None:
    with open(project / EXPORT, "a", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\r\n").writerow(
            export_row(index, "Nova Novák", "course-v1:BenchX+L1+2014_T2", random.Random(index)))


def make_project(folder: Path, rows: int, courses: int) -> Path:
    project = write_project(folder, 0, ["latin"])
    (project / "credentials_data" / "bulk.csv").unlink()  # legacy certificates only
    write_export(project, rows, courses)
    return project


# -- one measured step, in a child process -----------------------------------------------


def sitegen_stage(project: Path, out: Path, jobs: int, shard: str | None = None) -> dict:
    """The legacy stage as `sitegen build` runs it (`--shard K/N`: as one job of a matrix does)."""
    from sitegen.layout import LEGACY_ROWS_DIR
    from sitegen.legacy.stage import build_legacy, load_legacy_build
    from sitegen.load.config import load_sites
    from sitegen.render.theme import Theme
    from sitegen.shards import parse_shard
    from sitegen.write.files import OutputTree

    started, cpu = time.perf_counter(), cpu_seconds()
    legacy = load_legacy_build(load_sites(project)[0], parse_shard(shard) if shard else None, out / LEGACY_ROWS_DIR)
    loaded = time.perf_counter()
    legacy.save_cache()
    report = build_legacy(legacy, Theme(legacy.site), OutputTree(out), [], jobs=jobs)
    return {"load": loaded - started, "stage": time.perf_counter() - loaded, "cpu": cpu_seconds() - cpu,
            "certificates": report.certificates, "generated": sum(report.generated.values()),
            "all": report.certificates + report.other_shards}


def naive_legacy_stage(project: Path, out: Path, _jobs: int) -> dict:
    """The legacy stage before it was incremental: every row read, every page rendered in full
    and compared with its file, the URL map made in memory; one process."""
    from sitegen.legacy.export import load_legacy
    from sitegen.legacy.pages import legacy_pages
    from sitegen.load.config import load_sites
    from sitegen.render.theme import Theme
    from sitegen.write.files import OutputTree

    started, cpu = time.perf_counter(), cpu_seconds()
    site = load_sites(project)[0]
    certificates = load_legacy(project).certificates
    loaded = time.perf_counter()
    theme, tree = Theme(site), OutputTree(out)
    for certificate in certificates:
        for path, data in legacy_pages(theme, certificate).items():
            tree.write_if_changed(path, data)
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\n")
    for c in sorted(certificates, key=lambda c: int(c.certificate_id)):
        for legacy_url in [site.base_url + c.paths.file(n) for n in ("valid.html", "verify.html")] + [
                c.download_url or site.base_url + c.pdf_key]:
            writer.writerow((c.certificate_id, c.verify_uuid, legacy_url, site.base_url + c.paths.page))
    tree.write_if_changed(".sitegen/legacy-url-map.csv", text.getvalue().encode())
    return {"load": loaded - started, "stage": time.perf_counter() - loaded, "cpu": cpu_seconds() - cpu,
            "certificates": len(certificates), "generated": len(certificates)}


def render_only(project: Path, _out: Path, _jobs: int, stamped: bool = True) -> dict:
    """The pages' bytes alone, nothing written: stamped from frames, or each rendered in full."""
    from sitegen.legacy.export import load_legacy
    from sitegen.legacy.pages import LegacyRenderer, legacy_pages
    from sitegen.load.config import load_sites
    from sitegen.render.theme import Theme

    certificates = load_legacy(project).certificates
    theme = Theme(load_sites(project)[0])
    render = LegacyRenderer(theme).render if stamped else (lambda c: legacy_pages(theme, c))
    started, cpu = time.perf_counter(), cpu_seconds()
    for certificate in certificates:
        render(certificate)
    return {"load": 0.0, "stage": time.perf_counter() - started, "cpu": cpu_seconds() - cpu,
            "certificates": len(certificates), "generated": len(certificates)}


STEPS = {"sitegen": sitegen_stage, "naive": naive_legacy_stage, "render": render_only,
         "naive-render": lambda *args: render_only(*args, stamped=False)}


def measure(step: str, project: Path, out: Path, jobs: int, shard: str | None = None) -> dict:
    """Run one step in a child process: its figures, wall time and peak memory."""
    command = [sys.executable, __file__, "--step", step, "--project", str(project), "--out", str(out),
               "--jobs", str(jobs)] + (["--shard", shard] if shard and step == "sitegen" else [])
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryFile("w+") as output:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.DEVNULL, env=env, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        output.seek(0)
        text = output.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{step} failed: {text}")
    return {**json.loads(text), "wall": wall, "peak_mib": usage.ru_maxrss * 1024 / MIB}


def cpu_seconds() -> float:
    """CPU time of this process and of its worker processes reaped so far: what contention on
    a shared machine moves least (the wall clock includes waiting for the disk, and others)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


# -- the run -------------------------------------------------------------------------------


def run(workdir: Path, rows: int, naive_rows: int, courses: int, jobs: int, shard: str | None) -> None:
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; work folder {workdir}", flush=True)
    project = make_project(workdir / "project", rows, courses)
    naive_project = make_project(workdir / "naive", min(rows, naive_rows), courses)
    figures = {}
    for label, step, where, target in (
            ("cold", "sitegen", project, "out"), ("cold, 1 process", "sitegen", project, "out-1"),
            ("no-op", "sitegen", project, "out"), ("+1 row", "sitegen", project, "out"),
            ("render only", "render", naive_project, "-"),
            ("naive cold", "naive", naive_project, "naive-out"), ("naive again", "naive", naive_project, "naive-out"),
            ("naive render", "naive-render", naive_project, "-")):
        if label == "+1 row":
            append_row(project, rows)
        figures[label] = measure(step, where, workdir / target, 1 if label == "cold, 1 process" else jobs, shard)
        f = figures[label]
        print(f"  {label:<16} {f['stage'] + f['load']:8.2f} s (read {f['load']:.2f} s, stage {f['stage']:.2f} s; "
              f"CPU {f['cpu']:.2f} s; {f['generated']} of {f['certificates']} rendered; "
              f"peak {f['peak_mib']:.0f} MiB)", flush=True)
    report(figures, rows, shard)


def per_certificate(f: dict, clock: str = "wall") -> float:
    seconds = f["load"] + f["stage"] if clock == "wall" else f["cpu"]
    return seconds / max(f["certificates"], 1)


def report(figures: dict, rows: int, shard: str | None) -> None:
    if shard:
        shard_report(figures, shard)
        return
    print(f"\nper certificate ({figures['cold']['certificates']} certificates, {rows} rows; "
          f"naive on {figures['naive cold']['certificates']}), wall clock and CPU time:")
    print(f"  {'':<16} {'sitegen':>10} {'naive':>10} {'naive/sitegen':>14} {'CPU sitegen':>12} {'CPU naive':>10} "
          f"{'naive/sitegen':>14}")
    for label, naive_label in (("cold", "naive cold"), ("cold, 1 process", "naive cold"), ("no-op", "naive again"),
                               ("+1 row", "naive again"), ("render only", "naive render")):
        ours, naive = figures[label], figures[naive_label]
        wall = [per_certificate(f) for f in (ours, naive)]
        cpu = [per_certificate(f, "cpu") for f in (ours, naive)]
        print(f"  {label:<16} {wall[0] * 1e6:7.1f} µs {wall[1] * 1e6:7.1f} µs {wall[1] / wall[0]:13.1f}x "
              f"{cpu[0] * 1e6:9.1f} µs {cpu[1] * 1e6:7.1f} µs {cpu[1] / cpu[0]:13.1f}x")
    print(f"\nprojection to {EDX_CERTIFICATES:,} certificates, wall clock (reading scales with rows, the stage "
          f"with the certificates built; one shard of {SHARDS} reads every row, builds 1/{SHARDS}th):")
    print(f"  {'':<16} {'whole site':>12} {f'one shard of {SHARDS}':>16} {'naive (whole)':>14}")
    scale = EDX_CERTIFICATES / max(figures["cold"]["certificates"], 1)
    for label, naive_label in (("cold", "naive cold"), ("no-op", "naive again"), ("+1 row", "naive again")):
        f = figures[label]
        read = f["load"] * scale
        stage = f["stage"] * scale
        # +1: the stage reads the export again (every row, in every shard) to write the URL map.
        shard = read + (stage if label == "+1 row" else stage / SHARDS)
        naive = per_certificate(figures[naive_label]) * EDX_CERTIFICATES
        print(f"  {label:<16} {_duration(read + stage):>12} {_duration(shard):>16} {_duration(naive):>14}")


def shard_report(figures: dict, shard: str) -> None:
    """One job of a matrix, against the naive stage in its shard 1: it built every legacy page."""
    everyone = figures["cold"]["all"]
    print(f"\nshard {shard}: {figures['cold']['certificates']} of {everyone} certificates (every row read), "
          f"against the naive stage, which shard 1 ran for all {everyone} (projected from its "
          f"{figures['naive cold']['certificates']}):")
    print(f"  {'':<16} {'this job':>10} {'CPU':>10} {'naive shard 1':>14} {'naive / this job':>17}")
    for label, naive_label in (("cold", "naive cold"), ("cold, 1 process", "naive cold"), ("no-op", "naive again"),
                               ("+1 row", "naive again")):
        f = figures[label]
        wall = f["load"] + f["stage"]
        naive = per_certificate(figures[naive_label]) * everyone
        print(f"  {label:<16} {_duration(wall):>10} {_duration(f['cpu']):>10} {_duration(naive):>14} "
              f"{naive / wall:16.1f}x")


def _duration(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000, help="rows of the synthetic export (default 20,000)")
    parser.add_argument("--naive-rows", type=int, default=20_000,
                        help="rows the naive baseline is timed on (default: as many as --rows, at most 20,000)")
    parser.add_argument("--courses", type=int, default=EDX_COURSES, help=f"courses (default {EDX_COURSES}, as edX's)")
    parser.add_argument("--jobs", type=int, default=0, help="worker processes of sitegen (default: one per core)")
    parser.add_argument("--shard", metavar="K/N", help="time sitegen as shard K of N (one job of a matrix) builds it")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temporary folder)")
    parser.add_argument("--step", choices=STEPS, help=argparse.SUPPRESS)  # a child process's one step
    parser.add_argument("--project", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        extra = {"shard": args.shard} if args.shard else {}
        print(json.dumps(STEPS[args.step](args.project, args.out, args.jobs, **extra)))
        return
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="sitegen-bench-legacy-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        run(workdir, args.rows, args.naive_rows, args.courses, args.jobs, args.shard)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
