"""Stamped PDFs (sitegen/render/pdf_stamp.py) held to the certificates they replace.

A stamped certificate is its template's backdrop, drawn once, with the learner's own
values drawn over it. The reference is the same certificate laid out whole by WeasyPrint
(`render_pdfs_reference`, the renderer as it was before stamping), rendered here in the
same run. Both are rasterised at 150 dpi with pdftoppm and compared:

    THRESHOLD: after a one-pixel tolerance (each pixel compared with the 3x3 pixels around
    it in the other image), no channel differs by more than NEAR_LEVELS (64 of 255, a quarter
    of the range); and at most MAX_DIFFERING_PIXELS pixels (435, 0.02% of the page) differ
    at all.

Measured when stamping was written: most certificates draw the same pixels (0 and 0). The
worst, 98 pixels and 46 levels, is a date whose glyphs start 0.0003 pt (0.0006 pixel)
earlier when stamped (the space before it is shaped as a box of its own): poppler places
glyphs on a quarter-pixel grid, so a shift that small can move one word by a quarter of a
pixel, which changes edge pixels by up to a quarter of the range. Anything visible is far
over: a glyph missing or moved by two pixels (about 230 levels), another font or colour
(thousands of pixels), a wrong QR module (64 pixels of full contrast).

Also checked: one page and the type scale (long names), the same bytes whatever the batch,
order and cache, metadata and /ID as the whole layout gives them, text extractable,
template overrides and expired certificates, attachments, and that a backdrop carries
nothing of the learner it was made from.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import importlib.util
import io
import logging
import pickle
import random
import re
import shutil
import string
import subprocess
import sys
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import qrcode
from PIL import Image, ImageChops
from pypdf import PdfReader

from sitegen.load.config import load_sites
from sitegen.load.record_cache import load_credentials
from sitegen.model import Course, Program
from sitegen.render import pdf as render_pdf
from sitegen.render import pdf_stamp, pdf_write, qr
from sitegen.render.pdf import PdfAttachment, PdfJob
from sitegen.render.theme import Theme
from sitegen.render.view import present
from test_pdf import (
    HOSTILE,
    LONG_NAME,
    LONG_TITLE,
    SCRIPTS,
    font_names,
    make_job,
    make_site,
    pdfa_3b_problems,
    pdftotext,
    xmp_values,
)

REPO = Path(__file__).resolve().parent.parent
DPI = 150
NEAR_LEVELS = 64
MAX_DIFFERING_PIXELS = 435
RIBBON_COURSE = "course-v1:MeridianX+SEC300+2025_T4"  # the example's PDF override: a ribbon


def corpus_names() -> list[str]:
    """Two names of each script of the benchmark corpus (its others are the same scripts)."""
    spec = importlib.util.spec_from_file_location("corpus", REPO / "benchmarks" / "corpus.py")
    corpus = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(corpus)
    return [name for names in corpus.NAMES.values() for name in names[:2]]


# Names of the tests' own scripts, of the benchmark corpus, and long ones that take a smaller
# type size (the whole layout draws those: stamped=False).
NAMES = list(dict.fromkeys([name for name, _, _ in SCRIPTS.values()] + corpus_names() + [
    "Дмитрий Александрович Соколов", "Maria Fernanda dos Santos Albuquerque de Oliveira Guimarães",
    "欧阳娜娜欧阳娜娜欧阳娜娜欧阳娜娜欧阳娜娜", LONG_NAME]))
LONG_NAMES = NAMES[-4:]


@pytest.fixture(autouse=True)
def no_weasyprint_warnings(caplog):
    caplog.set_level(logging.WARNING, logger="weasyprint")
    yield
    assert not [r.getMessage() for r in caplog.records if r.name.startswith("weasyprint")]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    site = make_site(tmp_path_factory.mktemp("site"))
    courses = dict(site.courses)
    titles = [f"Module {n}: {LONG_TITLE[:60]}" for n in range(8)]
    for n, title in enumerate(titles):
        courses[f"part{n}"] = Course(f"part{n}", title, "exu")
    programs = {**site.programs, "big": Program("big", LONG_TITLE, "exu", courses=tuple(f"part{n}" for n in range(8)),
                                                signatories=("dean", "lead"))}
    return dataclasses.replace(site, courses=courses, programs=programs)


@pytest.fixture(scope="module")
def theme(site):
    return Theme(site)


@pytest.fixture(scope="module")
def rendered(site, theme):
    """Every name stamped and laid out whole: (stamped, reference) results."""
    jobs = [make_job(site, name, number) for number, name in enumerate(NAMES)]
    return dict(zip(NAMES, zip(render_pdf.render_pdfs(jobs, theme), render_pdf.render_pdfs_reference(jobs, theme))))


def rasterise(pdfs: list[bytes], folder: Path) -> list[Image.Image]:
    folder.mkdir(parents=True, exist_ok=True)

    def one(item):
        number, pdf = item
        source = folder / f"{number}.pdf"
        source.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-r", str(DPI), "-png", "-singlefile", str(source), str(folder / str(number))],
                       check=True)
        return Image.open(folder / f"{number}.png").convert("RGB")

    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(one, enumerate(pdfs)))


def differences(a: Image.Image, b: Image.Image) -> tuple[int, int]:
    """(pixels that differ at all, largest channel difference after a one-pixel tolerance)."""
    assert a.size == b.size
    differing = sum(_channel_max(ImageChops.difference(a, b)).histogram()[1:])
    near = 0
    for one, other in ((a, b), (b, a)):
        best = None
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                shifted = _channel_max(ImageChops.difference(one, ImageChops.offset(other, dx, dy)))
                best = shifted if best is None else ImageChops.darker(best, shifted)
        near = max(near, best.getextrema()[1])
    return differing, near


def _channel_max(image: Image.Image) -> Image.Image:
    red, green, blue = image.split()
    return ImageChops.lighter(ImageChops.lighter(red, green), blue)


def assert_looks_the_same(stamped: list[bytes], reference: list[bytes], folder: Path, labels: list[str]) -> None:
    images = rasterise(stamped + reference, folder)
    found = [(label, *differences(a, b)) for label, a, b in zip(labels, images, images[len(stamped):])]
    over = [f"{label}: {pixels} pixels differ, {near} levels after 1 px" for label, pixels, near in found
            if pixels > MAX_DIFFERING_PIXELS or near > NEAR_LEVELS]
    assert not over, "\n".join(over)


def page_count(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def clear_caches() -> None:
    for cache in (pdf_stamp._TEMPLATES, pdf_stamp._BACKDROPS, pdf_stamp._FACES, pdf_stamp._SIZED,
                  pdf_stamp._FILES, pdf_write._PROGRAMS):
        cache.clear()


# -- looks the same ------------------------------------------------------------------------


def test_stamped_certificates_look_like_whole_layouts_in_every_script(rendered, tmp_path):
    stamped = [rendered[name][0] for name in NAMES]
    assert all(result.stamped for result in stamped[:-len(LONG_NAMES)]), [
        name for name in NAMES[:-len(LONG_NAMES)] if not rendered[name][0].stamped]
    assert_looks_the_same([r.pdf for r in stamped], [rendered[name][1].pdf for name in NAMES], tmp_path, NAMES)


def test_the_example_project_looks_the_same_stamped_overrides_and_expiry_included(tmp_path):
    """Every credential of the example project that gets a PDF, on a day when some have
    expired: its own course override (a ribbon), RTL and CJK names, long names."""
    today = dt.date(2027, 1, 1)
    stamped, reference, labels, expired, ribbons = [], [], [], 0, 0
    for site in load_sites(REPO)[:1]:  # the second site holds the same records
        theme = Theme(site)
        credentials = [c for c in load_credentials(site, None, today).credentials if c.status != "revoked"]
        jobs = [PdfJob(c, present(c, site, today)) for c in credentials]
        results = render_pdf.render_pdfs(jobs, theme)
        stamped += [r.pdf for r in results]
        reference += [r.pdf for r in render_pdf.render_pdfs_reference(jobs, theme)]
        labels += [f"{c.uuid} {c.full_name}" for c in credentials]
        for job, result in zip(jobs, results):
            assert result.ok and page_count(result.pdf) == 1
            expired += job.view.status == "expired"
            if (job.credential.course_id, job.credential.certificate_type) == (RIBBON_COURSE, "professional"):
                ribbons += result.stamped
    assert expired and ribbons >= 2, "no expired certificate, or the example's override not stamped"
    assert len(stamped) >= 10
    assert_looks_the_same(stamped, reference, tmp_path, labels)


# -- what the whole layout does, the stamped one does ----------------------------------------


def test_every_script_gets_real_glyphs_and_text_comes_back(rendered):
    for name, _, family in SCRIPTS.values():
        stamped, reference = rendered[name]
        assert stamped.stamped and page_count(stamped.pdf) == 1
        assert family in font_names(stamped.pdf)  # the name is drawn in the learner layer
        text = pdftotext(stamped.pdf)
        assert text == pdftotext(reference.pdf)
        uuid = f"{NAMES.index(name):032x}"
        assert uuid in text and f"https://verify.example.org/credentials/{uuid}/" in text


def test_long_names_keep_their_type_size_and_one_page(rendered):
    for name in LONG_NAMES:
        stamped, reference = rendered[name]
        assert stamped.ok and page_count(stamped.pdf) == 1
        assert (stamped.scale, stamped.pdf) == (reference.scale, reference.pdf)  # laid out whole
    assert rendered[LONG_NAMES[0]][0].scale < 1.0  # wraps to two lines at full size: shrunk


def test_a_stamped_certificate_shrinks_to_one_page(site, theme, tmp_path):
    """A program of eight long course titles needs the smaller type scale, short name or not."""
    jobs = [make_job(site, name, 200 + n, program="big") for n, name in enumerate(("Ana Li", "王小明", "דוד לוי"))]
    stamped, reference = render_pdf.render_pdfs(jobs, theme), render_pdf.render_pdfs_reference(jobs, theme)
    for result, whole in zip(stamped, reference):
        assert result.stamped and result.scale == whole.scale < 1.0 and page_count(result.pdf) == 1
    assert_looks_the_same([r.pdf for r in stamped], [r.pdf for r in reference], tmp_path, ["latin", "cjk", "rtl"])


def test_metadata_id_and_links_are_the_whole_layouts(rendered):
    for name in ("Zoë Åkerlund-Núñez Łukasz", "محمد بن سلمان العلي", "山田はなこ"):
        stamped, reference = (PdfReader(io.BytesIO(r.pdf)) for r in rendered[name])
        assert stamped.metadata == reference.metadata
        assert xmp_values(rendered[name][0].pdf) == xmp_values(rendered[name][1].pdf)
        assert pdfa_3b_problems(rendered[name][0].pdf) == pdfa_3b_problems(rendered[name][1].pdf) == []
        assert stamped.trailer["/ID"][0] == reference.trailer["/ID"][0] == f"{NAMES.index(name):032x}"
        assert stamped.trailer["/Root"]["/Lang"] == "en"
        links = [[(a["/A"]["/URI"], [round(float(v), 3) for v in a["/Rect"]])
                  for a in (annotation.get_object() for annotation in reader.pages[0]["/Annots"])]
                 for reader in (stamped, reference)]
        assert links[0] == links[1]


def test_both_ways_write_pdfa_3b_with_the_attached_files_associated(site, theme, tmp_path):
    """PDF/A-3b, an attachment as an associated file: its bytes, name, media type,
    relationship and description, dated as given (never by the clock); a name that XML
    escapes is the name in the XMP metadata."""
    issued = dt.datetime(2024, 3, 1, 12, tzinfo=dt.UTC)
    attachment = PdfAttachment("credential.json", b'{"id": 300}', "application/vc", issued, "Data", "Its credential")
    job = dataclasses.replace(make_job(site, "Ana <Li> & \"O'Brien\"", 300), attachments=(attachment,))
    (stamped,), (whole,) = render_pdf.render_pdfs([job], theme), render_pdf.render_pdfs_reference([job], theme)
    assert stamped.stamped and not whole.stamped
    for result in (stamped, whole):
        assert pdfa_3b_problems(result.pdf) == []
        reader = PdfReader(io.BytesIO(result.pdf))
        assert xmp_values(result.pdf)["dc:title"] == reader.metadata["/Title"]
        assert reader.metadata["/Title"].endswith("certificate for Ana <Li> & \"O'Brien\"")
        assert reader.attachments == {"credential.json": [b'{"id": 300}']}
        (spec,) = [spec.get_object() for spec in reader.trailer["/Root"]["/AF"]]
        stream = spec["/EF"]["/F"].get_object()
        assert (spec["/UF"], spec["/AFRelationship"], spec["/Desc"]) == ("credential.json", "/Data", "Its credential")
        assert (stream["/Subtype"], stream["/Params"]["/ModDate"]) == ("/application/vc", "D:20240301120000Z")
        (tmp_path / "attached.pdf").write_bytes(result.pdf)
        listed = subprocess.run(["pdfdetach", "-list", tmp_path / "attached.pdf"], capture_output=True, check=True)
        assert listed.stdout.decode().splitlines() == ["1 embedded files", "1: credential.json"]
    assert_looks_the_same([stamped.pdf], [whole.pdf], tmp_path / "png", ["attached"])


# -- same bytes -----------------------------------------------------------------------------


def test_same_bytes_whatever_the_batch_the_order_and_the_cache(site, theme, rendered):
    names = NAMES[:12]
    jobs = [make_job(site, name, NAMES.index(name)) for name in names]
    expected = [rendered[name][0].pdf for name in names]
    assert [r.pdf for r in render_pdf.render_pdfs(jobs[::-1], theme)][::-1] == expected
    clear_caches()  # backdrops made again, from other learners first
    assert [render_pdf.render_pdfs([job], theme)[0].pdf for job in jobs[::-1]][::-1] == expected
    clear_caches()
    shuffled = random.Random(3).sample(range(len(jobs)), len(jobs))
    again = render_pdf.render_pdfs([jobs[i] for i in shuffled], Theme(site))
    assert [again[shuffled.index(i)].pdf for i in range(len(jobs))] == expected


def test_same_bytes_in_another_process(site, rendered, tmp_path):
    """A worker process of the build, with caches of its own, writes the same bytes."""
    names = NAMES[4:6] + NAMES[:2]
    jobs = [make_job(site, name, NAMES.index(name)) for name in names]
    (tmp_path / "jobs.pickle").write_bytes(pickle.dumps((site, jobs)))
    script = (f"import sys, pickle, hashlib; sys.path[:0] = [{str(REPO)!r}]\n"
              "from sitegen.render import pdf\nfrom sitegen.render.theme import Theme\n"
              f"site, jobs = pickle.loads(open({str(tmp_path / 'jobs.pickle')!r}, 'rb').read())\n"
              "for result in pdf.render_pdfs(jobs, Theme(site)): print(hashlib.sha256(result.pdf).hexdigest())")
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert output.split() == [hashlib.sha256(rendered[name][0].pdf).hexdigest() for name in names]


def test_a_backdrop_carries_nothing_of_the_learner_it_was_made_from(site, theme):
    clear_caches()
    first, second = make_job(site, "Quentin Firstlearner", 400), make_job(site, "Ana Li", 401)
    one, two = render_pdf.render_pdfs([first, second], theme)
    assert one.stamped and two.stamped
    text = pdftotext(two.pdf)
    assert "Quentin" not in text and f"{400:032x}" not in text
    assert f"{400:032x}".encode() not in _all_bytes(two.pdf)
    assert f"{401:032x}".encode() in _all_bytes(two.pdf)


def _all_bytes(pdf: bytes) -> bytes:
    """The file with its compressed streams inflated."""
    parts = [pdf]
    for chunk in pdf.split(b"stream\n")[1:]:
        try:
            parts.append(zlib.decompressobj().decompress(chunk))
        except zlib.error:
            pass
    return b"\n".join(parts)


# -- keys: whatever changes the page gets its own backdrop ---------------------------------------


def test_whatever_changes_the_shared_page_changes_the_backdrop(site, theme, tmp_path):
    """Course, mode, status (an expiry date), signatories, language and a theme file each
    give their certificates a backdrop of their own: each one looks like its whole layout."""
    clear_caches()
    base = make_job(site, "Ana Li", 500)
    variants = {
        "course": make_job(site, "Ana Li", 501, course="long"),
        "program": make_job(site, "Ana Li", 502, program="prog"),
        "mode": _job_with(site, 503, certificate_type="honor"),
        "expiring": _job_with(site, 504, expires=dt.date(2030, 1, 1)),
        "expired": _job_with(site, 505, expires=dt.date(2024, 6, 1)),
        "no grade": _job_with(site, 506, attributes=()),
    }
    results = render_pdf.render_pdfs([base, *variants.values()], theme)
    references = render_pdf.render_pdfs_reference([base, *variants.values()], theme)
    assert all(r.stamped for r in results)
    # Expiring and expired show the same page ("Valid until" a date: the date is the learner's).
    assert len(pdf_stamp._TEMPLATES) == len(variants)

    # Another language, other signatories, a changed theme file: new sites and themes.
    french = dataclasses.replace(site, language="fr")
    signed = dataclasses.replace(site, courses={**site.courses, base.credential.course_id: dataclasses.replace(
        site.courses[base.credential.course_id], signatories=("lead",))})
    theme_dir = tmp_path / "theme"
    shutil.copytree(REPO / "themes" / "default", theme_dir)
    frame = theme_dir / "static" / "pdf" / "frame-a4-landscape.svg"
    frame.write_text(frame.read_text().replace("#1b2a4a", "#8a1538"))
    recoloured = make_site(tmp_path / "recoloured", theme_dir)
    for other in (french, signed, recoloured):
        job = make_job(other, "Ana Li", 500)
        (result,) = render_pdf.render_pdfs([job], Theme(other))
        (whole,) = render_pdf.render_pdfs_reference([job], Theme(other))
        assert result.stamped and result.pdf != results[0].pdf
        results.append(result)
        references.append(whole)
    labels = ["base", *variants, "french", "signatories", "theme file"]
    assert_looks_the_same([r.pdf for r in results], [r.pdf for r in references], tmp_path / "png", labels)


def _job_with(site, number: int, **changes) -> PdfJob:
    job = make_job(site, "Ana Li", number)
    credential = job.credential._replace(**changes)
    return PdfJob(credential, present(credential, site, dt.date(2025, 1, 1)))


def test_learners_of_one_template_share_its_backdrops(site, theme):
    clear_caches()
    names = ["Ana Li", "Bo Chen", "Cleo Díaz", "王小明", "李华"]
    jobs = [make_job(site, name, 600 + n) for n, name in enumerate(names)]
    assert all(r.stamped for r in render_pdf.render_pdfs(jobs, theme))
    assert len(pdf_stamp._TEMPLATES) == 1
    assert len(pdf_stamp._BACKDROPS) == 2  # Latin names, Chinese names: other heights and baselines


# -- what it leaves to the whole layout ---------------------------------------------------------


def test_what_it_cannot_place_is_laid_out_whole(site, theme, tmp_path):
    hostile = make_job(site, HOSTILE, 700)  # a line break in the name
    (result,) = render_pdf.render_pdfs([hostile], theme)
    assert not result.stamped and result.pdf == render_pdf.render_pdfs_reference([hostile], theme)[0].pdf

    plain = tmp_path / "plain"
    shutil.copytree(REPO / "themes" / "default", plain)
    (plain / "templates" / "certificate_pdf.html").write_text(
        "<html><head><style>@page { size: A4 landscape }</style></head>"
        "<body><p>{{ cert.recipient_name }}</p><p>{{ cert.uuid }}</p></body></html>")
    own = make_site(tmp_path / "own", plain)
    job = make_job(own, "Ana Li", 701)
    (result,) = render_pdf.render_pdfs([job], Theme(own))
    assert result.ok and not result.stamped  # no learner() in the template

    filtered = tmp_path / "filtered"
    shutil.copytree(REPO / "themes" / "default", filtered)
    template = filtered / "templates" / "certificate_pdf.html"
    template.write_text(template.read_text().replace("{{ learner(cert.recipient_name) }}",
                                                     "{{ learner(cert.recipient_name) | upper }}"))
    upper = make_site(tmp_path / "upper", filtered)
    (result,) = render_pdf.render_pdfs([make_job(upper, "Ana Li", 702)], Theme(upper))
    assert not result.stamped and "ANA LI" in pdftotext(result.pdf)  # a filter the stamp would miss


@pytest.mark.parametrize("css, stamped", [
    (".grade { position: relative; top: 3px }", True),  # moved down: the backdrop's line is
    (".grade { position: relative; left: 5px }", False),  # moved along: not how lines are placed
    (".proof__label { opacity: 0.5 }", False),  # painted by WeasyPrint as a layer of its own
    (".proof__label { background: linear-gradient(#a47a2c, #fffdf8) }", False),  # a shading
])
def test_theme_styles_on_learner_lines_are_stamped_only_where_they_look_the_same(tmp_path, css, stamped):
    theme_dir = tmp_path / "theme"
    shutil.copytree(REPO / "themes" / "default", theme_dir)
    stylesheet = theme_dir / "static" / "pdf" / "certificate.css"
    stylesheet.write_text(stylesheet.read_text() + css)
    site = make_site(tmp_path / "site", theme_dir)
    job = make_job(site, "Ana Li", 800)
    (result,) = render_pdf.render_pdfs([job], Theme(site))
    (whole,) = render_pdf.render_pdfs_reference([job], Theme(site))
    assert result.stamped == stamped
    assert_looks_the_same([result.pdf], [whole.pdf], tmp_path / "png", [css])


# -- the QR code -------------------------------------------------------------------------------


def test_qr_matrices_are_the_qrcode_packages():
    rng = random.Random(7)
    texts = [f"https://verify.example.org/credentials/{rng.getrandbits(128):032x}/" for _ in range(20)]
    texts += ["".join(rng.choice(string.printable[:94]) for _ in range(n)) for n in range(1, 400, 23)]
    texts += ["https://vérifier.exemple.fr/" + "é" * 40, "HTTPS://EXAMPLE.ORG/" + "1" * 30]
    for text in texts:
        code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4, mask_pattern=4)
        code.add_data(text)
        code.make(fit=True)
        assert qr.qr_matrix(text, border=4, mask=4) == code.get_matrix(), text


def test_a_qr_codes_svg_path_draws_exactly_its_dark_modules():
    # The certificate page's wallet QR code: one rectangle per run of dark modules.
    text = "https://verify.example.org/credentials/c898712bb3aa44909099e043836baf74/credential.json"
    size, path = qr.qr_svg_path(text)
    drawn = [[False] * size for _ in range(size)]
    for x, y, x2, y2, x_back in re.findall(r"M(\d+),(\d+)H(\d+)V(\d+)H(\d+)z", path):
        assert int(y2) == int(y) + 1 and int(x_back) == int(x) < int(x2)
        for column in range(int(x), int(x2)):
            assert not drawn[int(y)][column], "two rectangles over one module"
            drawn[int(y)][column] = True
    assert drawn == qr.qr_matrix(text)
