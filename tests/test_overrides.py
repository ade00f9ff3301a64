"""Template overrides: per course and mode, course, program, organization and mode, organization, mode.

The chain (docs/themes.md), most specific first, for the page (certificate.html) and the
PDF (certificate_pdf.html) alike, each on its own:

    course certificate                program certificate
    course/<course id>/<mode>/        program/<program id>/
    course/<course id>/               course/<program id>/  (the older place, still read)
    org/<org key>/<mode>/             org/<org key>/
    org/<org key>/                    (the theme's own)
    mode/<mode>/
    (the theme's own)

A small theme with a template at every level, each printing its level's name, tells which
one each kind of credential gets; builds of the sample project show that adding, changing
or deleting an override, or an override's own asset, rebuilds exactly what it affects; and
the example project's override (Applied Cryptography's professional certificates) is used
where it should be and nowhere else.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from conftest import REPO, copy_example_project, sitegen_subprocess
from sitegen.load.config import load_site
from sitegen.model import (
    COURSE_CERTIFICATE,
    PROGRAM_CERTIFICATE,
    Course,
    Credential,
    Organization,
    Program,
    PublishSettings,
    SigningSettings,
    Site,
)
from sitegen.render import pdf as render_pdf
from sitegen.render.theme import RenderRecord, Theme, safe_name
from sitegen.render.view import present

PAGE, PDF = "certificate.html", "certificate_pdf.html"
TODAY = dt.date(2026, 8, 1)

# -- a theme with a template at every level ---------------------------------------------------

COURSE_A = "course-v1:OrgX+A+2026"  # of orgx: overrides of its own, per mode and not
COURSE_B = "course-v1:OrgX+B+2026"  # of orgx: none of its own
COURSE_C = "course-v1:OrgY+C+2026"  # of orgy: no organization overrides either
PROGRAM_P = "ds:foundations"  # of orgx: overrides of its own (and at the older place)
PROGRAM_Q = "q"  # of orgx: none
PROGRAM_R = "r"  # of orgy: none, and no organization overrides
PROGRAM_S = "s"  # of orgy: a page at the older place, course/<program id>/, only

A, P, S = safe_name(COURSE_A), safe_name(PROGRAM_P), safe_name(PROGRAM_S)
# Level folder -> (level name, which of the page and the PDF it provides). Some levels
# give only one of them, so that the page and the PDF are shown to fall through apart.
LEVELS = {
    f"course/{A}/professional": ("course+mode", (PAGE, PDF)),
    f"course/{A}": ("course", (PAGE,)),
    f"program/{P}": ("program", (PAGE, PDF)),
    f"course/{P}": ("course (program, older place)", (PAGE, PDF)),
    f"course/{S}": ("course (program, older place)", (PAGE,)),
    "org/orgx/verified": ("org+mode", (PAGE, PDF)),
    "org/orgx/professional": ("org+mode", (PAGE, PDF)),
    "org/orgx": ("org", (PAGE, PDF)),
    "mode/honor": ("mode", (PAGE, PDF)),
    "mode/professional": ("mode", (PDF,)),
    "": ("default", (PAGE, PDF)),
}

# (what the credential is, course or program, mode) -> level of its page, level of its PDF
CASES = [
    ("course+mode match", COURSE_A, "professional", "course+mode", "course+mode"),
    ("course, its mode has none", COURSE_A, "verified", "course", "org+mode"),
    ("course, neither its mode nor org+mode", COURSE_A, "honor", "course", "org"),
    ("org+mode", COURSE_B, "professional", "org+mode", "org+mode"),
    ("org, beating mode", COURSE_B, "honor", "org", "org"),
    ("mode", COURSE_C, "honor", "mode", "mode"),
    ("mode for the PDF only", COURSE_C, "professional", "default", "mode"),
    ("none", COURSE_C, "verified", "default", "default"),
    ("program, beating org and the older place", PROGRAM_P, None, "program", "program"),
    ("program without its own: org", PROGRAM_Q, None, "org", "org"),
    ("program: no mode level", PROGRAM_R, None, "default", "default"),
    ("program at the older place", PROGRAM_S, None, "course (program, older place)", "default"),
]


def make_site(root: Path) -> Site:
    organizations = {"orgx": Organization("orgx", "Org X", "OX"), "orgy": Organization("orgy", "Org Y", "OY")}
    courses = {c: Course(c, f"Course {c}", org) for c, org in
               ((COURSE_A, "orgx"), (COURSE_B, "orgx"), (COURSE_C, "orgy"))}
    programs = {p: Program(p, f"Program {p}", org, courses=(COURSE_A,)) for p, org in
                ((PROGRAM_P, "orgx"), (PROGRAM_Q, "orgx"), (PROGRAM_R, "orgy"), (PROGRAM_S, "orgy"))}
    return Site(root=root, name="Overrides", base_url="https://verify.example.org/",
                platform_name="Example Learning", theme="levels", language="en",
                organizations=organizations, courses=courses, programs=programs,
                signatories={}, signing=SigningSettings(), publish=PublishSettings())


def level_theme(root: Path, pdf_body: str = "LEVEL") -> Theme:
    """A theme whose templates print their level's name ("pdf: " first for the PDF, in
    place of LEVEL in `pdf_body`)."""
    templates = root / "themes" / "levels" / "templates"
    for folder, (level, names) in LEVELS.items():
        for name in names:
            path = templates / folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            text = level if name == PAGE else pdf_body.replace("LEVEL", f"pdf: {level}")
            path.write_text(text, encoding="utf-8")
    (root / "themes" / "levels" / "static").mkdir()
    return Theme(make_site(root))


def credential(subject: str, mode: str | None, number: int = 1) -> Credential:
    if mode is None:
        return Credential(f"{number:032x}", "learner", "Ana Li", PROGRAM_CERTIFICATE, "awarded",
                          dt.date(2026, 5, 1), program_id=subject)
    return Credential(f"{number:032x}", "learner", "Ana Li", COURSE_CERTIFICATE, "awarded",
                      dt.date(2026, 5, 1), course_id=subject, certificate_type=mode)


@pytest.fixture
def theme(tmp_path) -> Theme:
    return level_theme(tmp_path)


def rendered(theme: Theme, base: str, cred: Credential, record: RenderRecord | None = None) -> str:
    return theme.render(theme.certificate_templates(base, cred), "credentials/x/index.html", record=record)


@pytest.mark.parametrize("what, subject, mode, page_level, pdf_level", CASES, ids=[c[0] for c in CASES])
def test_every_override_level_picks_the_right_template(theme, what, subject, mode, page_level, pdf_level):
    cred = credential(subject, mode)
    assert rendered(theme, PAGE, cred) == page_level
    assert rendered(theme, PDF, cred) == f"pdf: {pdf_level}"


def test_the_chain_most_specific_first():
    site = make_site(Path("/nowhere"))
    theme = Theme(site)
    assert theme.certificate_templates(PAGE, credential(COURSE_A, "verified")) == [
        f"course/{A}/verified/{PAGE}", f"course/{A}/{PAGE}", f"org/orgx/verified/{PAGE}",
        f"org/orgx/{PAGE}", f"mode/verified/{PAGE}", PAGE]
    assert theme.certificate_templates(PDF, credential(PROGRAM_P, None)) == [
        f"program/{P}/{PDF}", f"course/{P}/{PDF}", f"org/orgx/{PDF}", PDF]
    assert A == "course-v1_OrgX_A_2026" and P == "ds_foundations"  # ids made safe as folders


def test_misses_before_the_chosen_template_are_recorded_and_nothing_after(theme):
    record = RenderRecord()
    rendered(theme, PAGE, credential(COURSE_B, "honor"), record)
    # course/B/honor, course/B, org/orgx/honor missing: a new one there would change the page.
    assert record.templates == {f"course/{safe_name(COURSE_B)}/honor/{PAGE}", f"course/{safe_name(COURSE_B)}/{PAGE}",
                                f"org/orgx/honor/{PAGE}", f"org/orgx/{PAGE}"}
    assert theme.template_digest(f"org/orgx/honor/{PAGE}") == "missing"


def test_program_certificates_beside_course_certificates_each_with_its_own_template(theme):
    """The same organization, a course and a program of it: each gets its own design."""
    course, program = credential(COURSE_A, "professional", 1), credential(PROGRAM_P, None, 2)
    assert (rendered(theme, PAGE, course), rendered(theme, PAGE, program)) == ("course+mode", "program")
    assert (rendered(theme, PDF, course), rendered(theme, PDF, program)) == (
        "pdf: course+mode", "pdf: program")


def test_a_real_pdf_is_drawn_from_the_override_chain(tmp_path):
    """One batch of real PDFs: each certificate from its own level's template."""
    theme = level_theme(tmp_path, pdf_body=(
        '<html><head><style>@page { size: A4 landscape }</style></head>'
        '<body><p>LEVEL</p><p>{{ cert.recipient_name }}</p></body></html>'))
    cases = [(COURSE_A, "professional"), (COURSE_A, "verified"), (COURSE_C, "professional"),
             (COURSE_C, "verified"), (PROGRAM_P, None)]
    jobs = [render_pdf.PdfJob(c, present(c, theme.site, TODAY))
            for c in (credential(subject, mode, n) for n, (subject, mode) in enumerate(cases, 1))]
    results = render_pdf.render_pdfs(jobs, theme)
    texts = [PdfReader(io.BytesIO(r.pdf)).pages[0].extract_text() for r in results]
    levels = [re.search(r"pdf: ([^\n]+)", text)[1].strip() for text in texts]
    assert levels == ["course+mode", "org+mode", "mode", "default", "program"]
    assert f"course/{A}/professional/{PDF}" in results[0].used.templates
    assert f"org/orgx/verified/{PDF}" in results[1].used.templates
    assert f"course/{A}/verified/{PDF}" in results[1].used.templates  # a miss, recorded


# -- rebuilds follow the overrides (the sample project, pages only) ---------------------------

PLAIN = "themes/plain"
CS101 = safe_name("course-v1:AcmeX+CS101+2026")
CS101_VERIFIED = {"0a1b2c3d4e5f40718293a4b5c6d7e8f9", "7b8c9d0e1f2a47e8f96ab1c2d3e4f5a6",
                  "5f6a7b8c9d0e45c6d748f90a1b2c3d4e"}  # the last one revoked: a page, no PDF
BIO1_VERIFIED = {"2c3d4e5f6a7b4293a415c6d7e8f90a1b", "6a7b8c9d0e1f46d7e859a0b1c2d3e4f5"}
PROGRAM = {"4e5f6a7b8c9d44b5c637e8f90a1b2c3d"}
ACMEX = CS101_VERIFIED | PROGRAM | {"1b2c3d4e5f6a41829304b5c6d7e8f90a", "3d4e5f6a7b8c43a4b526d7e8f90a1b2c"}
OVERRIDE = '{% extends "certificate.html" %}{% block title %}Overridden: {{ cert.title }}{% endblock %}'


def build(sitegen, site, *extra) -> dict:
    result = sitegen("build", "--site", site, "--json", *extra)
    assert result.code == 0, result.err
    return json.loads(result.out)


def generated(report) -> set[str]:
    return {u for u, c in report["credentials"].items() if c["state"] == "generated"}


def page_of(out: Path, uuid: str) -> str:
    return (out / "credentials" / uuid / "index.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("folder, affected", [
    (f"course/{CS101}/verified", CS101_VERIFIED),
    ("org/betax/verified", BIO1_VERIFIED),
    ("program/data-science", PROGRAM),
    ("org/acmex", ACMEX),
], ids=["course+mode", "org+mode", "program", "org"])
def test_adding_then_deleting_an_override_rebuilds_exactly_what_it_overrides(
        sample_site, sitegen, folder, affected):
    out = sample_site / "build/.preview"
    build(sitegen, sample_site, "--pages-only")
    before = {u: page_of(out, u) for u in affected}
    override = sample_site / PLAIN / "templates" / folder / PAGE
    override.parent.mkdir(parents=True)
    override.write_text(OVERRIDE, encoding="utf-8")

    report = build(sitegen, sample_site, "--pages-only")
    assert generated(report) == affected
    assert {report["credentials"][u]["reason"] for u in affected} == {"theme"}
    for uuid in affected:
        assert "<title>Overridden: " in page_of(out, uuid)

    override.unlink()
    report = build(sitegen, sample_site, "--pages-only")
    assert generated(report) == affected
    assert {u: page_of(out, u) for u in affected} == before


@pytest.mark.slow  # three signed builds with PDFs: a few seconds
def test_a_new_pdf_override_rebuilds_exactly_the_pdfs_it_overrides(sample_site, sitegen, signing_env):
    out = sample_site / "build"
    build(sitegen, sample_site)
    plain_pdf = (sample_site / PLAIN / "templates" / PDF).read_text(encoding="utf-8")
    override = sample_site / PLAIN / "templates" / "course" / CS101 / "verified" / PDF
    override.parent.mkdir(parents=True)
    override.write_text(plain_pdf.replace("<p>completed</p>", "<p>completed, verified</p>"), encoding="utf-8")

    report = build(sitegen, sample_site)
    awarded = CS101_VERIFIED - {"5f6a7b8c9d0e45c6d748f90a1b2c3d4e"}  # revoked: no PDF to redo
    assert generated(report) == awarded
    for uuid in awarded:
        pdf = PdfReader(out / "credentials" / uuid / "certificate.pdf")
        assert "completed, verified" in pdf.pages[0].extract_text()

    override.unlink()
    assert generated(build(sitegen, sample_site)) == awarded


def test_an_overrides_own_asset_is_published_and_rebuilds_only_its_certificates(sample_site, sitegen):
    """static/<level>/...: any file under static/ is an asset; the override names it with asset()."""
    out = sample_site / "build/.preview"
    name = f"course/{CS101}/verified/badge.svg"
    badge = sample_site / PLAIN / "static" / name
    badge.parent.mkdir(parents=True)
    badge.write_text('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"/>', encoding="utf-8")
    override = sample_site / PLAIN / "templates" / "course" / CS101 / "verified" / PAGE
    override.parent.mkdir(parents=True)
    override.write_text('{% extends "certificate.html" %}{% block main %}'
                        '<img src="{{ asset("' + name + '") }}" alt="">{{ super() }}{% endblock %}',
                        encoding="utf-8")
    build(sitegen, sample_site, "--pages-only")

    def linked(uuid: str) -> Path:
        src = re.search(r'<img src="([^"]*/badge\.[0-9a-f]{8}\.svg)"', page_of(out, uuid))[1]
        return (out / "credentials" / uuid / src).resolve()

    first = {u: linked(u) for u in CS101_VERIFIED}
    assert len(set(first.values())) == 1
    (old,) = set(first.values())
    assert old.is_file() and re.fullmatch(r"badge\.[0-9a-f]{8}\.svg", old.name)
    assert old.parent == (out / "assets" / f"course/{CS101}/verified").resolve()

    badge.write_text('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 12 12"/>', encoding="utf-8")
    report = build(sitegen, sample_site, "--pages-only")
    assert generated(report) == CS101_VERIFIED
    (new,) = {linked(u) for u in CS101_VERIFIED}
    assert new != old and new.is_file() and not old.exists()  # the old fingerprint is gone


# -- the example project's override -------------------------------------------------------------

EXAMPLE_COURSE = "course-v1:MeridianX+SEC300+2025_T4"
EXAMPLE_FOLDER = f"course/{safe_name(EXAMPLE_COURSE)}/professional"
RIBBON = f"{EXAMPLE_FOLDER}/ribbon.svg"


def test_the_example_override_exists_where_the_docs_say():
    templates = REPO / "themes/default/templates" / EXAMPLE_FOLDER
    assert (templates / PAGE).is_file() and (templates / PDF).is_file()
    assert (REPO / "themes/default/static" / RIBBON).is_file()
    docs = (REPO / "docs/themes.md").read_text(encoding="utf-8")
    assert EXAMPLE_FOLDER in docs and RIBBON in docs


@pytest.fixture(scope="module")
def example_build(tmp_path_factory) -> Path:
    project = copy_example_project(tmp_path_factory.mktemp("example") / "site")
    result = sitegen_subprocess("build", "--site", project, "--out", project / "build", "--pages-only")
    assert result.code == 0, result.err
    return project / "build/learnwell"  # the site of MeridianX, whose course has the override


def test_the_example_pages_of_that_course_and_mode_wear_the_ribbon_and_no_others(example_build):
    records = {p.name: json.loads(p.read_text(encoding="utf-8"))
               for p in (example_build / "api/v1/credentials").iterdir()}
    ours = {u for u, r in records.items()
            if r["credential"].get("course_run_key") == EXAMPLE_COURSE and r["credential"]["mode"] == "professional"}
    assert len(ours) >= 3 and len(ours) < len(records)
    ribbon = re.compile(r'url\("([^"]*/ribbon\.[0-9a-f]{8}\.svg)"\)')
    for uuid in records:
        found = ribbon.search(page_of(example_build, uuid))
        assert bool(found) == (uuid in ours), uuid
        if found:
            assert (example_build / "credentials" / uuid / found[1]).resolve().is_file()


def test_the_example_pdf_override_is_chosen_and_drawn_with_its_ribbon(tmp_path):
    site = load_site(REPO)
    theme = Theme(site)
    ours = credential(EXAMPLE_COURSE, "professional")
    other_mode = credential("course-v1:MeridianX+PM400+2025_T3", "professional", 2)
    assert theme.env.get_or_select_template(theme.certificate_templates(PDF, ours)).name == f"{EXAMPLE_FOLDER}/{PDF}"
    assert theme.env.get_or_select_template(theme.certificate_templates(PDF, other_mode)).name == PDF

    (result,) = render_pdf.render_pdfs([render_pdf.PdfJob(ours, present(ours, site, TODAY))], theme)
    assert result.ok, result.problem
    assert len(PdfReader(io.BytesIO(result.pdf)).pages) == 1
    assert {f"{EXAMPLE_FOLDER}/{PDF}", PDF} <= result.used.templates
    assert RIBBON in result.used.assets  # changing the ribbon rebuilds these PDFs, and only these
