"""The PDF certificate: real glyphs in every script, one page, safe metadata, same bytes.

Rendered for real with WeasyPrint and the default theme, read back with pdftotext and
pypdf. Certificates are rendered in small batches shared by the tests (a WeasyPrint page
costs tens of milliseconds), so the file stays well under a minute.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import logging
import re
import shutil
import subprocess
import time
import unicodedata
from pathlib import Path
from xml.etree import ElementTree

import pytest
from PIL import Image, ImageDraw
from pypdf import PdfReader

from sitegen.model import (
    Attribute,
    Course,
    Credential,
    Organization,
    Program,
    PublishSettings,
    Signatory,
    SigningSettings,
    Site,
    SourceLocation,
)
from sitegen.render import fonts
from sitegen.render import pdf as render_pdf
from sitegen.render.pdf import PdfJob
from sitegen.render.theme import Theme
from sitegen.render.view import present

REPO = Path(__file__).resolve().parent.parent
TODAY = dt.date(2025, 1, 1)
COURSE = "course-v1:ExU+DS101+2024"
BIDI_CONTROLS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")

# name, what pdftotext must give back (after bidi controls and spaces are removed), and
# the font family that must draw it (the stack in certificate.css, lang for CJK).
SCRIPTS = {
    "latin": ("Zoë Åkerlund-Núñez Łukasz", None, "Noto-Serif-Display"),
    "vietnamese": ("Nguyễn Thị Ngọc Trâm", None, "Noto-Serif-Display"),
    "cyrillic": ("Иван Петрович Сидоров", None, "Noto-Serif-Display"),
    "greek": ("Δημήτρης Παπαδόπουλος", None, "Noto-Serif-Display"),
    "chinese": ("王小明", None, "Noto-Serif-CJK-SC"),
    "japanese": ("山田はなこ", None, "Noto-Serif-CJK-JP"),
    "korean": ("김철수", None, "Noto-Serif-CJK-KR"),
    "arabic": ("محمد بن سلمان العلي", None, "Noto-Naskh-Arabic"),
    "hebrew": ("דוד בן גוריון", None, "Noto-Serif-Hebrew"),
    # pdftotext gives the reph of र्मा back with a stray vowel sign: compare the letters
    # without their combining signs.
    "devanagari": ("अनुष्का शर्मा", "letters", "Noto-Serif-Devanagari"),
    "thai": ("สมชาย ใจดี", None, "Noto-Serif-Thai"),
    "mixed": ("John محمد Smith", None, "Noto-Naskh-Arabic"),
}
LONG_NAME = ("Maximiliana Alexandra Friederike von Hohenzollern-Sigmaringen und "
             "Württemberg-Teck de la Croix-Saint-Amand Ó Súilleabháin")[:120]
LONG_TITLE = ("Advanced Topics in Computational Statistics, Probabilistic Machine Learning, "
              "Causal Inference and Responsible Data Science for Public Health Policy Makers "
              "and Practitioners")[:150]
HOSTILE = '<script>alert("x")</script> O\'Brien (a)) \\ \u202eevil\nnext'


# -- fixtures ----------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def no_weasyprint_warnings(caplog):
    """WeasyPrint logs what it ignores (unknown CSS, missing images): none is expected."""
    caplog.set_level(logging.WARNING, logger="weasyprint")
    yield
    logged = [r.getMessage() for r in caplog.records if r.name.startswith("weasyprint")]
    assert not logged


def make_site(root: Path, theme_dir: Path = REPO / "themes" / "default") -> Site:
    (root / "themes").mkdir(parents=True)
    (root / "themes" / "default").symlink_to(theme_dir)
    images = root / "images"
    images.mkdir()
    (images / "logo.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 60 60">'
        '<rect width="60" height="60" rx="8" fill="#8a1538"/></svg>')
    signature = Image.new("RGBA", (300, 90))
    ImageDraw.Draw(signature).line([(10, 70), (60, 15), (110, 75), (170, 20), (290, 40)],
                                    fill=(27, 42, 74, 255), width=5)
    signature.save(images / "signature.png")
    organizations = {
        "exu": Organization("exu", "Example University", "ExU", "images/logo.svg"),
        "other": Organization("other", "Other Institute", "OI"),
    }
    signatories = {
        "dean": Signatory("dean", "Dr. Ada Example", "Dean", "Example University",
                          "images/signature.png"),
        "lead": Signatory("lead", "Prof. Alan Sample", "Course Lead", "Example University"),
    }
    courses = {
        COURSE: Course(COURSE, "Foundations of Data Science", "exu", signatories=("dean", "lead")),
        "long": Course("long", LONG_TITLE, "exu", signatories=("dean",)),
        "other": Course("other", "Other Course", "other"),
    }
    programs = {"prog": Program("prog", "Data Science Program", "exu",
                                courses=(COURSE, "long"), signatories=("dean", "lead"))}
    return Site(root=root, name="ExU Credentials", base_url="https://verify.example.org/",
                platform_name="Example Learning", theme="default", language="en",
                organizations=organizations, courses=courses, programs=programs,
                signatories=signatories, signing=SigningSettings(), publish=PublishSettings())


def make_job(site: Site, name: str, number: int, course: str = COURSE,
             program: str | None = None) -> PdfJob:
    credential = Credential(
        uuid=f"{number:032x}", username=f"learner{number}", full_name=name,
        credential_type="program-certificate" if program else "course-certificate",
        status="awarded", issued=dt.date(2024, 3, 1),
        course_id=None if program else course, program_id=program,
        certificate_type=None if program else "verified",
        attributes=(Attribute("course", "grade", "92%"),),
        source=SourceLocation("credentials_data/awards.csv", number + 1))
    return PdfJob(credential, present(credential, site, TODAY))


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Site:
    return make_site(tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="module")
def theme(site) -> Theme:
    return Theme(site)


@pytest.fixture(scope="module")
def script_pdfs(site, theme) -> dict[str, bytes]:
    """Every script's certificate, rendered as one batch."""
    jobs = [make_job(site, name, number) for number, (name, _, _) in enumerate(SCRIPTS.values())]
    results = render_pdf.render_pdfs(jobs, theme)
    assert [r.problem for r in results] == [None] * len(jobs)
    RENDERED_AT.append(time.monotonic())
    return {script: result.pdf for script, result in zip(SCRIPTS, results)}


RENDERED_AT: list[float] = []


def pdftotext(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True,
                          check=True).stdout.decode()


def squeeze(text: str) -> str:
    """Text without bidi controls (pdftotext adds them around RTL runs) and spaces."""
    return "".join(BIDI_CONTROLS.sub("", text).split())


def without_signs(text: str) -> str:
    return "".join(c for c in text if unicodedata.category(c) not in ("Mn", "Mc"))


def page_count(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


# The XMP properties PDF/A requires to say what the information dictionary says.
XMP_OF_INFO = {"/Title": "dc:title", "/Author": "dc:creator", "/Subject": "dc:description",
               "/Keywords": "pdf:Keywords", "/Creator": "xmp:CreatorTool", "/Producer": "pdf:Producer",
               "/CreationDate": "xmp:CreateDate", "/ModDate": "xmp:ModifyDate"}
XMP_NAMESPACES = {"rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#", "dc": "http://purl.org/dc/elements/1.1/",
                  "pdf": "http://ns.adobe.com/pdf/1.3/", "xmp": "http://ns.adobe.com/xap/1.0/",
                  "pdfaid": "http://www.aiim.org/pdfa/ns/id/"}


def xmp_values(pdf: bytes) -> dict[str, str]:
    """The XMP metadata's properties ("dc:title", "pdfaid:part"...), parsed as XML: its
    values are the learner's name, unescaped."""
    root = PdfReader(io.BytesIO(pdf)).trailer["/Root"]
    if "/Metadata" not in root:
        return {}
    packet = root["/Metadata"].get_object().get_data()
    rdf = ElementTree.fromstring(packet[packet.index(b"<x:xmpmeta"):packet.rindex(b"</x:xmpmeta>") + 12])
    prefixes = {uri: prefix for prefix, uri in XMP_NAMESPACES.items()}
    values = {}
    for description in rdf.iter(f"{{{XMP_NAMESPACES['rdf']}}}Description"):
        for name, value in description.attrib.items():
            uri, _, local = name[1:].partition("}")
            if uri in prefixes and prefixes[uri] != "rdf":
                values[f"{prefixes[uri]}:{local}"] = value
        for element in description:
            uri, _, local = element.tag[1:].partition("}")
            items = [li.text for li in element.iter(f"{{{XMP_NAMESPACES['rdf']}}}li")]
            values[f"{prefixes[uri]}:{local}"] = ", ".join(items) if items else element.text
    return values


def same_instant(pdf_date: str, xmp_date: str) -> bool:
    """Whether a PDF date as sitegen writes it (D:YYYYMMDDHHmmSSZ) and an XMP date (ISO 8601,
    with a zone) are the same instant, as PDF/A validators compare them."""
    try:
        written = dt.datetime.strptime(pdf_date, "D:%Y%m%d%H%M%SZ").replace(tzinfo=dt.UTC)
        return written == dt.datetime.fromisoformat(xmp_date)
    except (TypeError, ValueError):  # another form, or a date without a zone: not the same for sure
        return False


def pdfa_3b_problems(pdf: bytes) -> list[str]:
    """What keeps a file from being PDF/A-3b, as far as its structure shows (what veraPDF
    checks first; veraPDF itself is a Java tool the tests do without): the claim in the XMP
    metadata, XMP that says what the information dictionary says, an sRGB output intent,
    every font embedded (pdffonts), annotations printed, a file ID, and every embedded file
    an associated file (in /AF once, with its relationship, name, media type and date)."""
    reader = PdfReader(io.BytesIO(pdf), strict=True)
    root, info, problems = reader.trailer["/Root"], reader.metadata, []
    if not (pdf.startswith(b"%PDF-1.7\n%") and min(pdf[10:14]) >= 128) or "/Encrypt" in reader.trailer:
        problems.append("the header is not PDF 1.7 with a binary comment, or the file is encrypted")
    if len(reader.trailer.get("/ID", ())) != 2:
        problems.append("no file ID")
    xmp = xmp_values(pdf)
    if (xmp.get("pdfaid:part"), xmp.get("pdfaid:conformance")) != ("3", "B"):
        problems.append(f"the XMP metadata claims part {xmp.get('pdfaid:part')}, {xmp.get('pdfaid:conformance')}")
    for key, property_name in XMP_OF_INFO.items():
        value, in_xmp = info.get(key), xmp.get(property_name)
        same = same_instant(value, in_xmp) if "Date" in key else value == in_xmp
        if value is not None and not same:
            problems.append(f"{key} {value!r} and {property_name} {in_xmp!r} differ")
    intents = [intent.get_object() for intent in root.get("/OutputIntents", ())]
    if [(i["/S"], i["/DestOutputProfile"].get_object()["/N"]) for i in intents] != [("/GTS_PDFA1", 3)]:
        problems.append("not one PDF/A output intent with an RGB ICC profile")
    fonts_listed = subprocess.run(["pdffonts", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    if any(line.split()[-5] != "yes" for line in fonts_listed.splitlines()[2:]):
        problems.append("a font is not embedded:\n" + fonts_listed)
    for annotation in reader.pages[0].get("/Annots", ()):
        if int(annotation.get_object().get("/F", 0)) & 0b100111 != 0b100:
            problems.append("an annotation is not flagged Print (or is hidden)")
    associated = [spec.idnum for spec in root.get("/AF", ())]
    tree = root["/Names"]["/EmbeddedFiles"] if "/EmbeddedFiles" in root.get("/Names", {}) else {}
    names = tree.get("/Names", [])
    if len(set(associated)) != len(associated) or set(associated) != {spec.idnum for spec in names[1::2]}:
        problems.append(f"/AF {associated} does not list each embedded file once")
    for spec in (spec.get_object() for spec in root.get("/AF", ())):
        stream = spec["/EF"]["/F"].get_object()
        if not {"/AFRelationship", "/F", "/UF", "/Desc"} <= set(spec) or "/Subtype" not in stream \
                or "/ModDate" not in stream.get("/Params", {}):
            problems.append(f"the file specification {dict(spec)} lacks what PDF/A-3 asks of it")
    return problems


def font_names(pdf: bytes) -> set[str]:
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    return {str(font.get_object()["/BaseFont"]).split("+", 1)[-1]
            for font in page["/Resources"]["/Font"].values()}


# -- every script, real glyphs, one page --------------------------------------------------


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_script_is_printed_as_text_on_one_page(script, script_pdfs):
    name, compare, family = SCRIPTS[script]
    pdf = script_pdfs[script]
    assert page_count(pdf) == 1
    text = squeeze(pdftotext(pdf))
    if compare == "letters":
        assert name.split()[0] in text
        assert without_signs(squeeze(name)) in without_signs(text)
    else:
        assert squeeze(name) in text
    assert family in font_names(pdf)


def test_the_certificate_prints_what_it_certifies(script_pdfs):
    # Letter-spaced capitals come back from pdftotext with spaces between the letters.
    text = squeeze(pdftotext(script_pdfs["latin"])).casefold()
    for expected in ("Foundations of Data Science", "Example University", "Verified Certificate",
                     "1 March 2024", "92%", "Dr. Ada Example", "Prof. Alan Sample",
                     f"{0:032x}", f"https://verify.example.org/credentials/{0:032x}/"):
        assert squeeze(expected).casefold() in text


def test_the_credential_url_is_a_link(script_pdfs):
    page = PdfReader(io.BytesIO(script_pdfs["latin"])).pages[0]
    uris = [annot.get_object()["/A"]["/URI"] for annot in page.get("/Annots", [])]
    assert f"https://verify.example.org/credentials/{0:032x}/" in uris


def test_long_name_and_long_title_shrink_to_one_page(site, theme):
    assert len(LONG_NAME) == 120 and len(LONG_TITLE) == 150
    jobs = [make_job(site, LONG_NAME, 40, course="long"),
            make_job(site, LONG_NAME, 41, program="prog")]
    for result in render_pdf.render_pdfs(jobs, theme):
        assert result.ok and page_count(result.pdf) == 1
        text = squeeze(pdftotext(result.pdf))
        assert squeeze(LONG_NAME) in text.replace("-", "") or squeeze(LONG_NAME) in text


def test_type_sizes_follow_the_length_of_the_text(site):
    short = render_pdf.fit_text(make_job(site, "Ana Li", 1).view)
    long = render_pdf.fit_text(make_job(site, LONG_NAME, 2, course="long").view)
    wide = render_pdf.fit_text(make_job(site, "欧阳娜娜欧阳娜娜欧阳娜娜欧阳娜娜欧阳娜娜", 3).view)
    assert short.name_size == 40 and long.name_size < 20 and wide.name_size < 40
    assert long.title_size < short.title_size
    assert render_pdf.fit_text(make_job(site, "Ana Li", 1).view, scale=0.5).name_size == 20


def test_a_certificate_that_overflows_in_a_batch_is_shrunk_alone(site, theme, monkeypatch):
    fit_text = render_pdf.fit_text

    def oversized(view, scale=1.0):  # the estimate gets this name badly wrong
        fit = fit_text(view, scale)
        if view.recipient_name == "Too Big":
            return render_pdf.TextFit(130 * scale, fit.title_size, scale, None, None)
        return fit

    monkeypatch.setattr(render_pdf, "fit_text", oversized)
    jobs = [make_job(site, "Before", 50), make_job(site, "Too Big", 51),
            make_job(site, "After", 52)]
    batch = render_pdf.render_pdfs(jobs, theme)
    assert [r.scale for r in batch] == [1.0, batch[1].scale, 1.0] and batch[1].scale < 1.0
    assert all(page_count(r.pdf) == 1 for r in batch)
    assert batch[1].pdf == render_pdf.render_pdf(jobs[1].credential, jobs[1].view, theme)


# -- metadata ---------------------------------------------------------------------------


def test_metadata_leads_from_the_pdf_to_its_credential(script_pdfs):
    reader = PdfReader(io.BytesIO(script_pdfs["latin"]))
    info, uuid = reader.metadata, f"{0:032x}"
    url = f"https://verify.example.org/credentials/{uuid}/"
    assert info["/Title"] == ("Foundations of Data Science \u2014 certificate for "
                              "Zoë Åkerlund-Núñez Łukasz")
    assert info["/Author"] == "Example University"
    assert url in info["/Subject"] and uuid in info["/Subject"]
    assert url in info["/Keywords"] and uuid in info["/Keywords"]
    assert info["/CredentialURL"] == url and info["/CredentialID"] == uuid
    assert info["/Creator"] == "sitegen"
    assert info["/CreationDate"] == info["/ModDate"] == "D:20240301120000Z"  # the issue date, at noon UTC
    assert reader.trailer["/ID"][0] == uuid
    assert reader.trailer["/Root"]["/Lang"] == "en"


def test_a_hostile_name_is_printed_as_text_and_kept_intact_in_metadata(site, theme):
    job = make_job(site, HOSTILE, 60)
    pdf = render_pdf.render_pdf(job.credential, job.view, theme)
    reader = PdfReader(io.BytesIO(pdf), strict=True)
    assert page_count(pdf) == 1
    one_line = HOSTILE.replace("\n", " ")
    # The name's own bidi override is kept inside an isolate, so it cannot turn the rest
    # of the title around.
    assert reader.metadata["/Title"].endswith(f"certificate for \u2068{one_line}\u2069")
    assert f"\u2068{one_line}\u2069 on 1 March 2024" in reader.metadata["/Subject"]
    assert reader.metadata["/CredentialID"] == f"{60:032x}"
    assert '<script>alert("x")</script>' in pdftotext(pdf)
    # The same text in the XMP metadata (PDF/A), escaped as XML: parsed back, it is the name.
    xmp = xmp_values(pdf)
    assert xmp["dc:title"] == reader.metadata["/Title"] and xmp["dc:description"] == reader.metadata["/Subject"]
    assert pdfa_3b_problems(pdf) == []


# -- reproducible, batched --------------------------------------------------------------


def test_same_inputs_give_the_same_bytes(site, theme, script_pdfs):
    time.sleep(max(0.0, RENDERED_AT[0] + 1.1 - time.monotonic()))  # a clock would show
    again = render_pdf.render_pdfs([make_job(site, SCRIPTS["arabic"][0], 7)], theme)[0]
    assert again.pdf == script_pdfs["arabic"]


def test_a_batch_gives_the_bytes_of_certificates_rendered_alone(site, script_pdfs, theme):
    for number, script in ((0, "latin"), (4, "chinese"), (9, "devanagari")):
        alone = render_pdf.render_pdfs([make_job(site, SCRIPTS[script][0], number)], theme)
        assert alone[0].pdf == script_pdfs[script]


def test_the_same_credential_twice_in_a_batch_renders_twice(site, theme):
    job = make_job(site, "Ana Li", 75)
    first, second = render_pdf.render_pdfs([job, job], theme)
    assert first.ok and first.pdf == second.pdf


def test_results_record_the_templates_and_assets_used(site, theme):
    (result,) = render_pdf.render_pdfs([make_job(site, "Ana", 70)], theme)
    assert "certificate_pdf.html" in result.used.templates
    assert {"pdf/certificate.css", "pdf/frame-a4-landscape.svg", "pdf/seal.svg",
            "images/logo.svg", "images/signature.png"} <= result.used.assets


# -- clear errors, one credential at a time -----------------------------------------------


def test_a_name_no_font_can_draw_is_refused_naming_the_characters(site, theme):
    jobs = [make_job(site, "Ana \ue000\u0378 Li", 80), make_job(site, "Ana Li", 81)]
    bad, good = render_pdf.render_pdfs(jobs, theme)
    assert good.ok and bad.pdf is None
    assert (bad.problem.file, bad.problem.line, bad.problem.field) == (
        "credentials_data/awards.csv", 81, "full_name")
    assert "U+E000 (private use)" in bad.problem.message
    assert "U+0378 (unassigned)" in bad.problem.message
    assert f"{80:032x}" in bad.problem.message
    with pytest.raises(render_pdf.PdfError, match="U\\+E000"):
        render_pdf.render_pdf(jobs[0].credential, jobs[0].view, theme)


def pdf_theme(tmp_path: Path, overrides: dict[str, str]) -> Theme:
    """A copy of the default theme with some templates replaced."""
    import shutil

    theme_dir = tmp_path / "theme"
    shutil.copytree(REPO / "themes" / "default", theme_dir)
    for name, text in overrides.items():
        path = theme_dir / "templates" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return Theme(make_site(tmp_path / "site", theme_dir))


def test_a_certificate_that_never_fits_is_reported(tmp_path):
    theme = pdf_theme(tmp_path, {"certificate_pdf.html": (
        '<html><head><style>@page { size: A4 landscape }</style></head>'
        '<body><p style="height: 250mm">{{ cert.recipient_name }}</p></body></html>')})
    job = make_job(theme.site, "Ana Li", 90)
    (result,) = render_pdf.render_pdfs([job], theme)
    assert result.pdf is None and result.problem.line == 91
    assert "does not fit on one page" in result.problem.message


def test_a_broken_override_template_fails_only_its_own_certificates(tmp_path):
    theme = pdf_theme(tmp_path, {
        "course/other/certificate_pdf.html": "<html><body>{{ asset('missing.png') }}</body></html>",
        "org/other/certificate_pdf.html": "ignored: the course override comes first",
    })
    jobs = [make_job(theme.site, "Ana", 100), make_job(theme.site, "Bo", 101, course="other")]
    good, bad = render_pdf.render_pdfs(jobs, theme)
    assert good.ok and page_count(good.pdf) == 1
    assert ("PDF template course/other/certificate_pdf.html failed: asset not found: "
            "'missing.png'") in bad.problem.message


def test_a_template_cannot_read_files_outside_the_theme(tmp_path):
    theme = pdf_theme(tmp_path, {"certificate_pdf.html": (
        '<html><body><img src="file:///etc/hostname">{{ cert.recipient_name }}</body></html>')})
    (result,) = render_pdf.render_pdfs([make_job(theme.site, "Ana", 110)], theme)
    assert result.pdf is None and "outside the theme" in result.problem.message


# -- pieces ------------------------------------------------------------------------------


ZBARIMG = shutil.which("zbarimg")


@pytest.mark.parametrize("base_url", [
    "https://verify.example.org/",
    "https://certificates.continuing-ed.example-university.org/x/",  # 60 characters
])
def test_the_qr_code_scans_to_the_credential_url_at_150_dpi(site, tmp_path, base_url):
    assert ZBARIMG, "zbarimg is not installed (Debian package zbar-tools; ./dev setup installs it)"
    assert len(base_url) <= 60
    wide = dataclasses.replace(site, base_url=base_url)
    job = make_job(wide, "Ngozi Adébáyọ̀-Okonkwo", 7)
    pdf = render_pdf.render_pdf(job.credential, job.view, Theme(wide))
    (tmp_path / "c.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", str(tmp_path / "c.pdf"),
                    str(tmp_path / "scan")], check=True)
    scanned = subprocess.run([ZBARIMG, "-q", "--raw", str(tmp_path / "scan.png")],
                             capture_output=True, text=True)
    assert scanned.stdout.strip() == f"{base_url}credentials/{job.view.uuid}/"


def test_installed_fonts_cover_every_script_and_not_private_use():
    coverage = fonts.installed_coverage()
    for name, _, _ in SCRIPTS.values():
        assert coverage.missing(name) == []
    assert coverage.missing("a\ue000b\u0378\u200d\ufe0f") == ["\ue000", "\u0378"]
    assert fonts.missing_glyphs_message("Ana", coverage) is None


@pytest.mark.parametrize("text, lang", [
    ("山田はなこ", "ja"), ("タナカ", "ja"), ("김철수", "ko"), ("王小明", None), ("Ana", None),
])
def test_japanese_and_korean_are_recognised_for_their_glyphs(text, lang):
    assert fonts.lang_hint(text) == lang


def test_harfbuzz_subsetting_is_detected_and_missing_it_warns_once(monkeypatch, caplog):
    assert fonts.harfbuzz_subset_available()  # Debian libharfbuzz-subset0 is installed
    fonts.warn_if_slow_pdfs.cache_clear()
    monkeypatch.setattr(fonts, "harfbuzz_subset_available", lambda: False)
    try:
        with caplog.at_level(logging.WARNING, logger="sitegen.render.fonts"):
            assert "5 times slower" in fonts.warn_if_slow_pdfs()
            fonts.warn_if_slow_pdfs()
        assert len([r for r in caplog.records if r.name == "sitegen.render.fonts"]) == 1
    finally:
        fonts.warn_if_slow_pdfs.cache_clear()


def test_the_renderer_fingerprint_names_what_pdf_bytes_depend_on():
    assert re.fullmatch(r"[0-9a-f]{64}", render_pdf.renderer_fingerprint())
    assert render_pdf.renderer_fingerprint() == render_pdf.renderer_fingerprint()
