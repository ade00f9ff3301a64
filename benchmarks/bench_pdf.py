"""How much batching saves: PDFs per credential, batched vs one WeasyPrint document each.

    .venv/bin/python benchmarks/bench_pdf.py [N] [--batch-size B]

Builds N synthetic credentials with names in a mix of scripts (Latin with diacritics,
Cyrillic, Greek, Chinese, Japanese, Korean, Arabic, Hebrew, Devanagari, Thai), in a
throw-away project that uses the real default theme, then renders their PDFs:

* naive: for each credential, the same HTML through `weasyprint.HTML(string=...)
  .write_pdf()`, one after the other (what one writes without thinking about speed);
* batched: `sitegen.render.pdf.render_pdfs`, which lays certificates out as the pages of
  one document and writes each page as its own PDF (plus the one-page checks, the
  metadata and the glyph coverage check, which the naive loop does not do).

Both run in this process, after a warm-up, sequentially; figures are wall-clock and CPU
milliseconds per credential (on a busy machine, trust the CPU figures).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import weasyprint  # noqa: E402

from sitegen.model import (  # noqa: E402
    Attribute,
    Course,
    Credential,
    Organization,
    PublishSettings,
    Signatory,
    SigningSettings,
    Site,
    SourceLocation,
)
from sitegen.render import fonts  # noqa: E402
from sitegen.render import pdf as render_pdf  # noqa: E402
from sitegen.render.theme import RenderRecord, Theme  # noqa: E402
from sitegen.render.view import present  # noqa: E402

NAMES = {
    "latin": ["Zoë Åkerlund", "François Lefèvre", "Łukasz Wiśniewski", "Ngọc Trâm Nguyễn",
              "Sinéad Ó Súilleabháin", "Jürgen Groß"],
    "cyrillic": ["Иван Петрович Сидоров", "Анна Каренина", "Олена Шевченко"],
    "greek": ["Δημήτρης Παπαδόπουλος", "Ελένη Γεωργίου"],
    "chinese": ["王小明", "李华", "欧阳娜娜"],
    "japanese": ["山田はなこ", "佐藤 ゆうき", "タナカ ケンジ"],
    "korean": ["김철수", "이영희", "박지성"],
    "arabic": ["محمد بن سلمان العلي", "فاطمة الزهراء"],
    "hebrew": ["דוד בן-גוריון", "שרה לוי"],
    "devanagari": ["अनुष्का शर्मा", "राहुल कुमार"],
    "thai": ["สมชาย ใจดี", "วิภา ศรีสุข"],
}
TODAY = dt.date(2025, 1, 1)


def make_site(root: Path) -> Site:
    """A tiny project using the repository's default theme, with a logo and signatures."""
    (root / "themes").mkdir(parents=True)
    (root / "themes" / "default").symlink_to(REPO / "themes" / "default")
    images = root / "images"
    images.mkdir()
    (images / "logo.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 240 60">'
        '<rect y="8" width="44" height="44" rx="6" fill="#8a1538"/>'
        '<text x="54" y="40" font-family="Noto Serif" font-size="25" fill="#1b2a4a">'
        'Example University</text></svg>')
    (images / "signature.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 60"><path d="M10 45 C 30 5,'
        ' 45 5, 40 40 S 70 55, 80 25 C 85 10, 95 50, 110 30 S 140 20, 150 35" fill="none" '
        'stroke="#1b2a4a" stroke-width="2.2" stroke-linecap="round"/></svg>')
    org = Organization("exu", "Example University", "ExU", "images/logo.svg")
    signatories = {
        "dean": Signatory("dean", "Dr. Ada Example", "Dean of Studies", "Example University",
                          "images/signature.svg"),
        "prof": Signatory("prof", "Prof. Alan Sample", "Course Lead", "Example University",
                          "images/signature.svg"),
    }
    course = Course("course-v1:ExU+DS101+2025", "Foundations of Data Science", "exu",
                    signatories=("dean", "prof"))
    return Site(root=root, name="ExU Credentials", base_url="https://verify.example.org/",
                platform_name="Example Learning", theme="default", language="en",
                organizations={"exu": org}, courses={course.id: course}, programs={},
                signatories=signatories, signing=SigningSettings(), publish=PublishSettings())


def make_jobs(site: Site, count: int, seed: int = 1) -> list[render_pdf.PdfJob]:
    rng = random.Random(seed)
    scripts = sorted(NAMES)
    jobs = []
    for index in range(count):
        name = rng.choice(NAMES[scripts[index % len(scripts)]])
        credential = Credential(
            uuid=f"{rng.getrandbits(128):032x}", username=f"learner{index}", full_name=name,
            credential_type="course-certificate", status="awarded",
            issued=dt.date(2024, 1, 1) + dt.timedelta(days=index % 365),
            course_id="course-v1:ExU+DS101+2025", certificate_type="verified",
            attributes=(Attribute("course", "grade", f"{rng.randint(60, 100)}%"),),
            source=SourceLocation("credentials_data/bench.csv", index + 2))
        jobs.append(render_pdf.PdfJob(credential, present(credential, site, TODAY)))
    return jobs


def naive(jobs: list[render_pdf.PdfJob], theme: Theme) -> list[bytes]:
    """One WeasyPrint document per credential, from the same HTML."""
    renderer = render_pdf._Renderer(theme)
    base_url = theme.static_dir.as_uri() + "/"
    pdfs = []
    for job in jobs:
        names = theme.certificate_templates(render_pdf.PDF_TEMPLATE, job.credential)
        html = renderer._html(job, names, 1.0, RenderRecord())
        pdfs.append(weasyprint.HTML(string=html, base_url=base_url).write_pdf())
    return pdfs


def batched(jobs: list[render_pdf.PdfJob], theme: Theme, batch_size: int) -> list[bytes]:
    results = render_pdf.render_pdfs(jobs, theme, batch_size=batch_size)
    failed = [result.problem for result in results if not result.ok]
    if failed:
        raise SystemExit(f"render failed: {failed[0]}")
    return [result.pdf for result in results]


def measure(label: str, function, count: int) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    function()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{label:34s} {wall / count * 1000:8.1f} ms/credential wall"
          f" {cpu / count * 1000:8.1f} ms CPU")
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", nargs="?", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=render_pdf.PAGES_PER_DOCUMENT)
    args = parser.parse_args()

    print(f"WeasyPrint {weasyprint.__version__}, HarfBuzz subsetting: "
          f"{'yes' if fonts.harfbuzz_subset_available() else 'NO (fontTools, slow)'}")
    with tempfile.TemporaryDirectory() as tmp:
        site = make_site(Path(tmp))
        theme = Theme(site)
        jobs = make_jobs(site, args.count)
        warm = make_jobs(site, 10, seed=2)  # load every script's fonts once for both paths
        naive(warm, theme)
        batched(warm, theme, args.batch_size)

        print(f"{args.count} credentials, scripts mixed, batch size {args.batch_size}")
        slow = measure("naive (one document each)", lambda: naive(jobs, theme), args.count)
        alone = measure("render_pdfs, batch size 1",
                        lambda: batched(jobs, theme, 1), args.count)
        fast = measure(f"render_pdfs, batch size {args.batch_size}",
                       lambda: batched(jobs, theme, args.batch_size), args.count)
        print(f"batched: {slow[0] / fast[0]:.2f}x the naive loop's speed "
              f"({slow[1] / fast[1]:.2f}x in CPU time), "
              f"{alone[0] / fast[0]:.2f}x render_pdfs one at a time "
              f"({alone[1] / fast[1]:.2f}x in CPU time)")


if __name__ == "__main__":
    main()
