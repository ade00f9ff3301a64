"""Loading records cold: a Credentials API export (JSON) and a CSV, against plain json and csv.

    python benchmarks/bench_load.py                          # 100k JSON items, 600k CSV rows
    python benchmarks/bench_load.py --json-items 20000 --csv-rows 50000 --scripts latin,cjk
    python benchmarks/bench_load.py --json-shapes results    # only the paginated {"results": [...]} export

Each project is a synthetic one from corpus.py (site.yml, theme, any mix of scripts) holding
one record file. sitegen's figure is `load_credentials(site, out_dir=None)`: parse and validate
every record, no cache. The baseline reads the same file the obvious way, in the same run:
`json.loads` and a plain loop over the items, or `csv.DictReader` over the rows. Every
measurement runs in a child process of its own, so each peak memory (ru_maxrss, from wait4)
is that measurement's alone; times exclude the interpreter's start and imports. Both wall
and CPU time are shown: on a shared machine the wall time is mostly other people's work, so
the ratios to the baseline run beside it are the figures to compare between runs.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import NAMES, course_ids, synthetic_uuid, write_project, write_records

MIB = 1024 * 1024
PROGRAM = "4f9c2e7a1b8d4c06a3e5f7d92b1c8e40"
GOALS = {"json": (100_000, 5.0), "csv": (600_000, 30.0)}  # records, seconds: issue 11


# -- the corpora ---------------------------------------------------------------------------------


def json_project(out: Path, count: int, scripts: list[str], shape: str) -> Path:
    """A project whose only record file is a Credentials API export of `count` items."""
    project = write_project(out, 0, scripts)
    (project / "credentials_data" / "bulk.csv").unlink()
    with open(project / "site.yml", "a", encoding="utf-8") as handle:
        handle.write(f"programs:\n  {PROGRAM}:\n    title: Benchmarking in Practice\n    org: benchx\n")
    rng, names = random.Random(1), [name for script in scripts for name in NAMES[script]]
    items = [api_item(i, rng.choice(names)) for i in range(count)]
    data = items if shape == "list" else {"count": count, "next": None, "previous": None, "results": items}
    with open(project / "credentials_data" / "export.json", "w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False, indent=2)  # an item spans lines, as the API prints it
    return project


def api_item(index: int, full_name: str) -> dict:
    """One item of `GET /api/v2/credentials/`: mostly course runs, some programs, some revoked."""
    hex_id = synthetic_uuid(index)
    if index % 10 == 9:
        credential = {"type": "program", "program_uuid": f"{PROGRAM[:8]}-{PROGRAM[8:12]}-{PROGRAM[12:16]}-"
                                                         f"{PROGRAM[16:20]}-{PROGRAM[20:]}"}
    else:
        credential = {"type": "course-run", "course_run_key": course_ids()[index % 5],
                      "mode": ("honor", "verified", "professional")[index % 3]}
    revoked = index % 50 == 7
    return {
        "username": f"user{index}",
        "full_name": full_name,
        "credential": credential,
        "status": "revoked" if revoked else "awarded",
        "revocation_reason": "Issued in error" if revoked else None,
        "download_url": None,
        "uuid": f"{hex_id[:8]}-{hex_id[8:12]}-{hex_id[12:16]}-{hex_id[16:20]}-{hex_id[20:]}",
        "attributes": [{"name": "course.grade", "value": f"0.{50 + index % 50}"}],
        "date_override": None,
        "created": f"2025-{1 + index % 12:02d}-{1 + index % 28:02d}T10:20:30Z",
        "modified": "2025-12-31T23:59:59Z",
        "certificate_url": None,
    }


def csv_project(out: Path, count: int, scripts: list[str]) -> Path:
    project = write_project(out, 0, scripts)
    write_records(project / "credentials_data" / "bulk.csv", count, scripts)
    return project


# -- what each child process measures ------------------------------------------------------------


def child_sitegen(project: Path) -> dict:
    from sitegen.load.config import load_site
    from sitegen.load.record_cache import load_credentials

    site = load_site(project)
    clock = Clock()
    loaded = load_credentials(site, None)
    if loaded.problems:
        raise SystemExit(f"the corpus has problems: {loaded.problems[:3]}")
    return {**clock.read(), "records": len(loaded.credentials)}


def child_json_baseline(path: Path) -> dict:
    clock = Clock()
    data = json.loads(path.read_text(encoding="utf-8"))
    items = data if isinstance(data, list) else data["results"]
    records = [(item["uuid"], item["username"], item["full_name"], item["status"], item["credential"].get("type"))
               for item in items]
    return {**clock.read(), "records": len(records)}


def child_csv_baseline(path: Path) -> dict:
    import csv

    clock = Clock()
    with open(path, encoding="utf-8", newline="") as handle:
        records = [(row["uuid"], row["username"], row["full_name"], row["status"], row["issued"])
                   for row in csv.DictReader(handle)]
    return {**clock.read(), "records": len(records)}


class Clock:
    def __init__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def read(self) -> dict:
        return {"seconds": time.perf_counter() - self.wall, "cpu": time.process_time() - self.cpu}


CHILDREN = {"sitegen": child_sitegen, "json-baseline": child_json_baseline, "csv-baseline": child_csv_baseline}


def measure(kind: str, target: Path) -> dict:
    """Run one measurement in a child process: its figures, and its peak memory."""
    command = [sys.executable, __file__, "--child", kind, str(target)]
    with tempfile.TemporaryFile("w+") as out_file, tempfile.TemporaryFile("w+") as err_file:
        process = subprocess.Popen(command, stdout=out_file, stderr=err_file, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        out_file.seek(0), err_file.seek(0)
        out, err = out_file.read(), err_file.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{kind} failed:\n{err}")
    return {**json.loads(out), "peak_mib": usage.ru_maxrss * 1024 / MIB}


# -- the report ----------------------------------------------------------------------------------


def compare(title: str, kind: str, file: Path, project: Path, baseline: str, baseline_name: str) -> None:
    ours, plain = measure("sitegen", project), measure(baseline, file)
    if ours["records"] != plain["records"]:
        raise SystemExit(f"sitegen read {ours['records']} records, the baseline {plain['records']}")
    goal_records, goal_seconds = GOALS[kind]
    print(f"\n== {title}: {ours['records']:,} records, {file.stat().st_size / MIB:.0f} MiB "
          f"(goal: {goal_records:,} in under {goal_seconds:.0f} s) ==")
    print(f"{'':21} {'wall':>8} {'CPU':>8} {'records/s':>10} {'peak memory':>12}")
    for name, figures in (("sitegen load+validate", ours), (baseline_name, plain)):
        print(f"{name:<21} {figures['seconds']:7.2f}s {figures['cpu']:7.2f}s "
              f"{figures['records'] / figures['seconds']:10,.0f} {figures['peak_mib']:8.0f} MiB")
    print(f"{'ratio':<21} {ours['seconds'] / plain['seconds']:7.1f}x {ours['cpu'] / plain['cpu']:7.1f}x "
          f"{'':10} {ours['peak_mib'] / plain['peak_mib']:8.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json-items", type=int, default=100_000, help="items in the API export (0: skip)")
    parser.add_argument("--csv-rows", type=int, default=600_000, help="rows in the CSV file (0: skip)")
    parser.add_argument("--json-shapes", default="list,results",
                        help="comma-separated: list (a JSON list of items; each item's line is tracked), "
                             "results (the API's paginated {\"results\": [...]})")
    parser.add_argument("--scripts", default=",".join(NAMES), help="comma-separated: " + ", ".join(NAMES))
    parser.add_argument("--keep", type=Path, help="keep the generated projects in this folder")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(CHILDREN[args.child[0]](Path(args.child[1]))))
        return
    scripts = args.scripts.split(",")
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="sitegen-bench-load-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} cores; scripts: {', '.join(scripts)}; work folder {workdir}", flush=True)
    try:
        for shape in args.json_shapes.split(",") if args.json_items else ():
            project = json_project(workdir / f"json-{shape}", args.json_items, scripts, shape)
            compare(f"Credentials API export (JSON, {shape})", "json",
                    project / "credentials_data" / "export.json", project, "json-baseline", "json.loads + loop")
        if args.csv_rows:
            project = csv_project(workdir / "csv", args.csv_rows, scripts)
            compare("CSV", "csv", project / "credentials_data" / "bulk.csv", project, "csv-baseline",
                    "csv.DictReader loop")
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
