"""Synthetic projects for the benchmarks: any number of credentials, any mix of scripts.

    python benchmarks/corpus.py OUT_DIR --count 10000 --scripts latin,cjk,arabic

The project uses the repository's default theme and a site.yml with a few
organizations and courses; records go to one CSV file (the bulk format).
"""

from __future__ import annotations

import argparse
import csv
import random
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

NAMES = {
    "latin": ["Zoë Ó Súilleabháin", "José Martínez-Núñez", "Łukasz Żółć", "Amélie Dubois", "Jane Smith"],
    "cyrillic": ["Анна Петрова", "Дмитрий Соколов", "Олена Коваленко"],
    "greek": ["Ελένη Παπαδοπούλου", "Νίκος Γεωργίου"],
    "cjk": ["王小明", "李华", "山田 花子", "김민준"],
    "arabic": ["فاطمة الزهراء", "محمد عبد الله"],
    "hebrew": ["נועה כהן", "דוד לוי"],
    "devanagari": ["प्रिया शर्मा", "अर्जुन पटेल"],
    "thai": ["สมชาย ใจดี", "นภา ศรีสุข"],
}

SITE_YML = """\
name: Benchmark Verify
base_url: https://verify.bench.test/
contact_email: credentials@bench.test  # Open Badges 2.0 issuers need one
platform_name: Bench Learning
theme: default
organizations:
  benchx:
    name: Benchmark University
    short_name: BenchX
signatories:
  dean:
    name: Dana Dean
    title: Dean of Learning
    organization: Benchmark University
courses:
{courses}
"""


def course_ids(count: int = 5) -> list[str]:
    return [f"course-v1:BenchX+C{i}+2026" for i in range(count)]


def write_project(out: Path, count: int, scripts: list[str], seed: int = 1) -> Path:
    """A complete project folder in `out` with `count` awarded course certificates."""
    if out.exists():
        shutil.rmtree(out)
    (out / "credentials_data").mkdir(parents=True)
    shutil.copytree(REPO / "themes" / "default", out / "themes" / "default")
    courses = "".join(
        f"  {cid}:\n    title: Course number {i} in applied benchmarking\n    org: benchx\n"
        f"    modes: [honor, verified, professional]\n    signatories: [dean]\n"
        for i, cid in enumerate(course_ids()))
    (out / "site.yml").write_text(SITE_YML.format(courses=courses), encoding="utf-8")
    write_records(out / "credentials_data" / "bulk.csv", count, scripts, seed)
    return out


def write_records(path: Path, count: int, scripts: list[str], seed: int = 1, start: int = 0) -> None:
    rng = random.Random(seed)
    pool = [name for script in scripts for name in NAMES[script]]
    ids = course_ids()
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["uuid", "username", "full_name", "credential_type", "course_id",
                         "certificate_type", "status", "issued", "attributes.course.grade"])
        for i in range(start, start + count):
            writer.writerow([synthetic_uuid(i), f"user{i}", rng.choice(pool), "course-certificate",
                             ids[i % len(ids)], ("honor", "verified", "professional")[i % 3], "awarded",
                             f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}", f"0.{50 + i % 50}"])  # all past


def append_record(project: Path, index: int) -> str:
    """Add one new award to the bulk file; returns its UUID."""
    uuid = synthetic_uuid(index)
    with open(project / "credentials_data" / "bulk.csv", "a", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerow([uuid, f"user{index}", "Nova Novák", "course-certificate",
                                     course_ids()[0], "verified", "awarded", "2025-11-01", "0.99"])
    return uuid


def synthetic_uuid(index: int) -> str:
    return f"{random.Random(index).getrandbits(128):032x}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--scripts", default=",".join(NAMES), help="comma-separated: " + ", ".join(NAMES))
    args = parser.parse_args()
    write_project(args.out, args.count, args.scripts.split(","))
    print(f"wrote {args.count} credentials to {args.out}")


if __name__ == "__main__":
    main()
