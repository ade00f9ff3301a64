"""PDFs per credential: the stamped path against the whole-document paths it replaces.

    .venv/bin/python benchmarks/bench_pdf.py [N] [--batch-size B]

Builds N synthetic credentials with names in a mix of scripts (Latin with diacritics,
Cyrillic, Greek, Chinese, Japanese, Korean, Arabic, Hebrew, Devanagari, Thai), in a
throw-away project that uses the real default theme, then renders their PDFs (PDF/A-3b, each
carrying a credential.json of the size a signed build embeds, as the build renders them), in
one run:

* naive: for each credential, the same HTML through `weasyprint.HTML(string=...)
  .write_pdf()`, one after the other (what one writes without thinking about speed);
* whole, batched: `render_pdfs_reference`, which lays certificates out as the pages of one
  document and writes each page as its own PDF (plus the one-page checks, the metadata
  and the glyph coverage check, which the naive loop does not do): the path before stamping,
  with batches of 1 and of B;
* stamped: `render_pdfs`, what the build calls: each template's backdrop drawn once, each
  learner's values drawn over it; once with empty caches (the backdrops made in the run),
  once with the caches of the first run (what a worker process does after its first batch).

All run in this process, after a warm-up, sequentially; figures are wall-clock and CPU
milliseconds per credential (on a busy machine, trust the CPU figures). Then a breakdown
per stage, in CPU ms per credential: a profiled run of each path, its stages' shares
scaled to the path's plain CPU time.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import json
import pstats
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
from sitegen.render import fonts, pdf_stamp, pdf_write  # noqa: E402
from sitegen.render import pdf as render_pdf  # noqa: E402
from sitegen.render.credential import embedded_credential  # noqa: E402
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


def signed_credential(credential: Credential, rng: random.Random) -> bytes:
    """A stand-in for the credential.json a signed build embeds: its size (~2.5 KB), its
    learner, its proof's entropy (the Flate stream costs what a real one does)."""
    proof = "".join(rng.choice("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz") for _ in range(88))
    document = {"@context": ["https://www.w3.org/ns/credentials/v2",
                             "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
                "id": f"https://verify.example.org/credentials/{credential.uuid}/credential.json",
                "type": ["VerifiableCredential", "OpenBadgeCredential"], "name": "Foundations of Data Science",
                "credentialSubject": {"name": credential.full_name, "identifier": [{"hashed": True,
                                      "identityHash": f"sha256${rng.getrandbits(256):064x}"}]},
                "description": "x" * 1600, "proof": {"proofValue": "z" + proof}}
    return json.dumps(document, ensure_ascii=False, indent=2).encode()


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
        attachment = embedded_credential(credential, signed_credential(credential, rng))
        jobs.append(render_pdf.PdfJob(credential, present(credential, site, TODAY), (attachment,)))
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
    return _pdfs(render_pdf.render_pdfs_reference(jobs, theme, batch_size=batch_size))


def stamped(jobs: list[render_pdf.PdfJob], theme: Theme) -> list[bytes]:
    return _pdfs(render_pdf.render_pdfs(jobs, theme))


def _pdfs(results: list[render_pdf.PdfResult]) -> list[bytes]:
    failed = [result.problem for result in results if not result.ok]
    if failed:
        raise SystemExit(f"render failed: {failed[0]}")
    return [result.pdf for result in results]


def clear_stamp_caches() -> None:
    for cache in (pdf_stamp._TEMPLATES, pdf_stamp._BACKDROPS, pdf_stamp._FACES, pdf_stamp._SIZED,
                  pdf_stamp._FILES, pdf_write._PROGRAMS):
        cache.clear()


def measure(label: str, function, count: int) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    function()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{label:42s} {wall / count * 1000:8.1f} ms/credential wall {cpu / count * 1000:8.1f} ms CPU")
    return wall, cpu


# Stages: functions whose cumulative time is the stage's (none calls another of its list).
WHOLE_STAGES = {
    "layout (HTML, CSS, boxes, lines)": [("sitegen/render/pdf.py", "_layout")],
    "painting (SVG, text)": [("weasyprint/document.py", "paint")],
    "font subsetting": [("weasyprint/pdf/fonts.py", "clean")],
    "writing (objects, compression)": [("pydyf/__init__.py", "write")],
    "template and QR code": [("sitegen/render/pdf.py", "_html")],
}
STAMPED_STAGES = {
    "template (Jinja)": [("sitegen/render/pdf.py", "_html")],
    "QR code": [("sitegen/render/pdf.py", "matrix"), ("sitegen/render/pdf.py", "_mask")],
    "shaping (Pango, HarfBuzz)": [("sitegen/render/pdf_stamp.py", "_shape")],
    "stamping (learner lines, QR, links)": [("weasyprint/draw/__init__.py", "draw_inline_level"),
                                            ("sitegen/render/pdf_stamp.py", "_draw_image"),
                                            ("sitegen/render/pdf_stamp.py", "_annotations"),
                                            ("sitegen/render/pdf_stamp.py", "_learner_line")],
    "font subsetting": [("weasyprint/pdf/fonts.py", "clean")],
    "writing (fonts, objects, file)": [("sitegen/render/pdf_write.py", "embed_fonts"),
                                       ("sitegen/render/pdf_write.py", "write")],
    "backdrops (layout, paint, write)": [("sitegen/render/pdf_stamp.py", "_layout"),
                                        ("sitegen/render/pdf_stamp.py", "_paint")],
}
NESTED = {  # stage -> stages measured inside it, taken out of it
    "writing (fonts, objects, file)": ["font subsetting"],
    "backdrops (layout, paint, write)": [],
}


def breakdown(label: str, function, stages: dict, cpu_per_credential: float) -> None:
    """Each stage's share of a profiled run, in CPU ms per credential of the plain run."""
    profile = cProfile.Profile()
    profile.runcall(function)
    stats = pstats.Stats(profile).stats
    total = max(ct for (_, _, _), (_, _, _, ct, _) in stats.items())
    times = {}
    for stage, functions in stages.items():
        times[stage] = sum(ct for (filename, _, name), (_, _, _, ct, _) in stats.items()
                           if any(filename.endswith(path) and name == wanted for path, wanted in functions))
    for stage, inner in NESTED.items():
        if stage in times:
            times[stage] -= sum(times[name] for name in inner if name in times)
    times["other"] = total - sum(times.values())
    scale = cpu_per_credential / total
    print(f"  {label}: " + ", ".join(f"{stage} {seconds * scale:.2f}" for stage, seconds in times.items()))


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
        warm = make_jobs(site, 10, seed=2)  # load every script's fonts once for every path
        naive(warm, theme)
        batched(warm, theme, args.batch_size)
        stamped(warm, theme)

        print(f"{args.count} credentials, scripts mixed, batch size {args.batch_size}")
        slow = measure("naive (one document each)", lambda: naive(jobs, theme), args.count)
        alone = measure("whole, batch size 1", lambda: batched(jobs, theme, 1), args.count)
        whole = measure(f"whole, batch size {args.batch_size} (before stamping)",
                        lambda: batched(jobs, theme, args.batch_size), args.count)
        clear_stamp_caches()
        pdf_stamp.STATS.clear()
        cold = measure("stamped, caches empty", lambda: stamped(jobs, theme), args.count)
        outcomes = dict(pdf_stamp.STATS)
        fast = measure("stamped, caches of the run before", lambda: stamped(make_jobs(site, args.count, seed=3), theme),
                       args.count)
        print(f"stamped: {slow[1] / fast[1]:.1f}x the naive loop's speed in CPU time "
              f"({slow[0] / fast[0]:.1f}x wall), {whole[1] / fast[1]:.1f}x the batched whole path "
              f"({whole[0] / fast[0]:.1f}x wall), {alone[1] / fast[1]:.1f}x whole one at a time; "
              f"with empty caches {whole[1] / cold[1]:.1f}x the batched whole path")
        print("stamped outcomes, caches empty: " + ", ".join(f"{n} {reason}" for reason, n in outcomes.items()))

        print("breakdown, CPU ms per credential:")
        breakdown(f"whole, batch size {args.batch_size}", lambda: batched(jobs, theme, args.batch_size),
                  WHOLE_STAGES, whole[1] / args.count * 1000)
        clear_stamp_caches()
        breakdown("stamped, caches empty", lambda: stamped(jobs, theme), STAMPED_STAGES,
                  cold[1] / args.count * 1000)
        breakdown("stamped, caches of the run before", lambda: stamped(make_jobs(site, args.count, seed=4), theme),
                  STAMPED_STAGES, fast[1] / args.count * 1000)


if __name__ == "__main__":
    main()
