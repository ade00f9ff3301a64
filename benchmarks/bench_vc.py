"""What the shape templates save: CPU per signed Open Badges 3.0 credential, fast vs full pyld.

    .venv/bin/python benchmarks/bench_vc.py [N] [--naive M]

Makes N synthetic credentials (names in a mix of scripts, 15 achievements, a third of them
expiring) and signs them in this process, one after the other:

* fast: `sitegen.vc.CredentialIssuer.issue`, which canonicalises each shape once with pyld and
  then each credential by writing its values into that shape's quads;
* naive: the same credential signed with `sitegen.vc.proof.sign`, which runs pyld's full
  RDFC-1.0 canonicalisation of the document and of the proof options for every credential
  (what one writes without thinking about speed), on the first M credentials.

Both give the same bytes (Ed25519 signatures are deterministic): the run checks it for the M
credentials both sign. Figures are CPU milliseconds per credential (process time, after a
warm-up that parses the bundled contexts), then the canonicalisation alone.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from corpus import NAMES  # noqa: E402
from sitegen.vc import Achievement, BadgeFacts, CredentialIssuer, IssuerProfile, canonize  # noqa: E402
from sitegen.vc.credential import build_credential, valid_from  # noqa: E402
from sitegen.vc.issue import credential_json  # noqa: E402
from sitegen.vc.keys import new_key  # noqa: E402
from sitegen.vc.proof import sign  # noqa: E402

BASE = "https://verify.bench.test/"
PROFILE = IssuerProfile("did:web:verify.bench.test", "Benchmark University", BASE)
ACHIEVEMENTS = [
    Achievement(id=f"{BASE}vc/achievements/course-v1:BenchX+C{course}+2026/{mode}",
                name=f"{mode.title()} Certificate: Course number {course} in applied benchmarking",
                description="Every graded assignment of the course, passed.",
                criteria_narrative="A grade of at least 70% overall.",
                image_url=f"{BASE}assets/badge-{course}.png")
    for course in range(5) for mode in ("honor", "verified", "professional")
]


def synthetic_facts(count: int, seed: int = 1) -> list[BadgeFacts]:
    rng = random.Random(seed)
    names = [name for script in NAMES.values() for name in script]
    facts = []
    for i in range(count):
        uuid = f"{i:032x}"
        issued = dt.date(2025, 1 + i % 12, 1 + i % 28)
        facts.append(BadgeFacts(
            credential_url=f"{BASE}credentials/{uuid}/credential.json", page_url=f"{BASE}credentials/{uuid}/",
            achievement=ACHIEVEMENTS[i % len(ACHIEVEMENTS)], learner_name=rng.choice(names),
            identity=f"user{i}", identity_type="userName", issued=issued,
            expires=issued.replace(year=2028) if i % 3 == 0 else None,
            status_list_url=f"{BASE}vc/status/1.json", status_index=i))
    return facts


def cpu_ms_per(items, work) -> float:
    start = time.process_time()
    for item in items:
        work(item)
    return (time.process_time() - start) / len(items) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", nargs="?", type=int, default=3000)
    parser.add_argument("--naive", type=int, default=300, help="how many credentials the naive way signs")
    args = parser.parse_args()
    key = new_key()
    facts = synthetic_facts(args.count)
    naive_facts = facts[:args.naive]
    sign(build_credential(PROFILE, facts[0]), key, "did:web:x#warm-up", "2025-01-01T00:00:00Z")

    issuer = CredentialIssuer(PROFILE, key)
    fast_bytes = {}
    fast = cpu_ms_per(facts, lambda f: fast_bytes.setdefault(f.credential_url, credential_json(issuer.issue(f))))
    naive_bytes = {}
    naive = cpu_ms_per(naive_facts, lambda f: naive_bytes.setdefault(f.credential_url, credential_json(
        sign(build_credential(PROFILE, f), key, issuer.verification_method, valid_from(f.issued)))))
    took_fast, took_full = issuer.fast, issuer.full
    differ = [url for url, data in naive_bytes.items() if fast_bytes[url] != data]
    assert not differ, f"fast and naive signatures differ for {differ[:3]}"

    canonical_fast = cpu_ms_per(naive_facts, issuer.canonical_form)  # its shapes are made by now
    canonical_full = cpu_ms_per(naive_facts, lambda f: canonize(build_credential(PROFILE, f)))

    print(f"{args.count} credentials, {len(ACHIEVEMENTS)} achievements, names in {len(NAMES)} scripts; "
          f"{took_fast} took the fast way, {took_full} the full one")
    print(f"signed credential, fast (shape templates)  {fast:7.3f} ms CPU each  (JSON bytes included)")
    print(f"signed credential, naive (full pyld)       {naive:7.3f} ms CPU each  (first {len(naive_facts)})")
    print(f"  -> {naive / fast:.1f}x; the same bytes for all {len(naive_facts)} signed both ways")
    print(f"canonical form of the document only: fast {canonical_fast:.3f} ms (shapes made), "
          f"full pyld {canonical_full:.3f} ms ({canonical_full / canonical_fast:.1f}x)")


if __name__ == "__main__":
    main()
