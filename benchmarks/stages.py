"""Where a full build's time goes: CPU milliseconds per credential, stage by stage.

    python benchmarks/stages.py PROJECT     # a cold build of PROJECT (its build/ is removed)

The real `sitegen build`, run in this process with one job, with the functions of each
stage wrapped in a timer. Times are exclusive: a stage called inside another (signing
inside nothing, subsetting inside PDF writing) is counted once, in its own line. CPU
time, not wall time, so a busy machine changes the figures little; the disk's share is
in "writing files" as the system time of this process.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import shutil
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

# stage -> functions (module, attribute path) whose time is the stage's.
STAGES = {
    "verifiable credential (JSON-LD, Ed25519)": [
        ("sitegen.render.credential", "CredentialRenderer._verifiable_credential")],
    "PDF backdrops (layout, paint; once per template and name height)": [
        ("sitegen.render.pdf_stamp", "Stamper._layout"), ("sitegen.render.pdf_stamp", "_Backdrop.make")],
    "PDF font subsetting": [("weasyprint.pdf.fonts", "Font.clean")],
    "PDF writing (fonts, objects, compression)": [("sitegen.render.pdf_write", "PdfFile.write"),
                                                  ("sitegen.render.pdf_write", "embed_fonts")],
    "PDF stamping (template, shaping, learner lines, QR)": [("sitegen.render.pdf", "render_pdfs")],
    "share card": [("sitegen.render.share_card", "ShareCards.card_for")],
    "page (HTML)": [("sitegen.render.credential", "certificate_page")],
    "JSON (API record, OB2 assertion)": [("sitegen.render.credential", "credential_json"),
                                         ("sitegen.render.badges", "Badges.assertion")],
    "signing (gpg-agent: PDF signature, statement)": [("sitegen.sign.credential", "sign_credential")],
    "writing files": [("sitegen.write.credential", "CredentialWriter.write")],
    "reading records": [("sitegen.commands.build", "load_credentials")],
    "planning (what changed)": [("sitegen.commands.build", "plan_build")],
}


class StageTimer:
    """Exclusive CPU time per stage: a wrapped call's time, less its wrapped callees'."""

    def __init__(self):
        self.seconds: Counter = Counter()
        self._inner: list[float] = []

    def wrap(self, stage: str, function):
        @functools.wraps(function)
        def timed(*args, **kwargs):
            started = _cpu()
            self._inner.append(0.0)
            try:
                return function(*args, **kwargs)
            finally:
                inner = self._inner.pop()
                spent = _cpu() - started
                self.seconds[stage] += spent - inner
                if self._inner:
                    self._inner[-1] += spent
        return timed

    def install(self) -> None:
        for stage, functions in STAGES.items():
            for module_name, path in functions:
                owner = importlib.import_module(module_name)
                *parents, name = path.split(".")
                for parent in parents:
                    owner = getattr(owner, parent)
                function = owner.__dict__[name]
                if isinstance(function, classmethod):
                    setattr(owner, name, classmethod(self.wrap(stage, function.__func__)))
                else:
                    setattr(owner, name, self.wrap(stage, function))


def _cpu() -> float:
    return time.process_time()  # user + system, in ns steps (os.times() counts 10 ms ticks)


def breakdown(project: Path, *options: str) -> tuple[int, float, Counter]:
    """A cold one-job build of `project`, timed: (credentials, CPU seconds, stage -> seconds)."""
    import json

    from sitegen.cli import main as sitegen_main

    shutil.rmtree(project / "build", ignore_errors=True)
    timer = StageTimer()
    timer.install()
    started = _cpu()
    report_file = project.parent / f"{project.name}-stages.json"
    with open(report_file, "w") as out:
        stdout, sys.stdout = sys.stdout, out
        try:
            code = sitegen_main(["build", "--site", str(project), "--jobs", "1", "--quiet", "--json", *options])
        except SystemExit as exit_:
            code = exit_.code
        finally:
            sys.stdout = stdout
    total = _cpu() - started
    if code not in (0, None):
        raise SystemExit(f"build failed ({code}); report in {report_file}")
    generated = json.loads(report_file.read_text())["counts"]["generated"]
    return generated, total, timer.seconds


def print_breakdown(count: int, total: float, seconds: Counter) -> None:
    per = 1000 / count
    print(f"CPU per credential, one job, cold: {total * per:.2f} ms ({count} credentials)")
    for stage in STAGES:
        print(f"  {stage:<66} {seconds[stage] * per:6.2f} ms")
    rest = total - sum(seconds.values())
    print(f"  {'everything else (start, load, plan, state, status lists, site files)':<66} {rest * per:6.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("project", type=Path)
    parser.add_argument("--pages-only", action="store_true", help="pages and JSON only, as `build --pages-only`")
    args = parser.parse_args()
    started = time.perf_counter()
    count, total, seconds = breakdown(args.project.resolve(), *(["--pages-only"] if args.pages_only else []))
    print_breakdown(count, total, seconds)
    print(f"(wall {time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
