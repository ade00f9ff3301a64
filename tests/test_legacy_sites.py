"""Legacy certificates in a project of several sites: each is published by the site serving
its course's organization (site.yml's course, else the ORG of `course-v1:ORG+...` or
`ORG/COURSE/RUN`, by key or short name); one of an organization no site serves is an error
naming its row, since its printed URL would break."""

from __future__ import annotations

import pytest

from legacyexport import EXPORT_NAME, V1, V2, V3, V4, export_with, legacy_site
from sitegen.commands.build import BuildOptions, build_sites

SITES = """
sites:
  acme:
    organizations: [acmex]
  beta:
    organizations: [betax]
    base_url: https://beta.sample.test/
"""


def two_sites(site, courses: dict[str, str]):
    """The sample project with the export, as two sites; the rows' course_id set from `courses`
    (verify_uuid -> course_id; the export's rows are V1 to V4, in order)."""
    legacy_site(site)
    with open(site / "site.yml", "a", encoding="utf-8") as handle:
        handle.write(SITES)
    changes = [("course_id", courses[v]) if v in courses else ("", "") for v in (V1, V2, V3, V4)]
    (site / EXPORT_NAME).write_text(export_with(changes), encoding="utf-8")
    return site


def test_each_site_publishes_the_legacy_certificates_of_its_organizations(sample_site):
    site = two_sites(sample_site, {V2: "BetaX/OLD101/2013_Spring", V3: "course-v1:acmex+OLD2+2014_T1"})
    reports = build_sites(BuildOptions(site, pages_only=True, jobs=1))
    preview = site / "build" / ".preview"
    published = {name: {p.name for p in (preview / name / "cert").iterdir()} for name in ("acme", "beta")}
    # V1, V4: a course of site.yml (acmex); V2: BetaX, betax's short name; V3: acmex, the key.
    assert published == {"acme": {V1, V3, V4}, "beta": {V2}}
    assert {s.key: r.legacy.other_sites for s, r in reports} == {"acme": 1, "beta": 3}
    assert "beta.sample.test/cert/" + V2 in (preview / "beta" / "cert" / V2 / "index.html").read_text()


@pytest.mark.parametrize(("course_id", "says"), [
    ("MITx/6.002x/2012_Spring", "its organization 'MITx' is not in site.yml's organizations, so no site "
                                "publishes it: declare it there and add it to one site's organizations"),
    ("course-v1:MITx+6.002x+2012_Spring", "its organization 'MITx' is not in site.yml's organizations"),
    ("6.002x", "not a course of site.yml nor an edX course ID (course-v1:ORG+COURSE+RUN or ORG/COURSE/RUN)"),
])
def test_a_certificate_of_an_organization_no_site_serves_is_one_line_naming_its_row(sample_site, sitegen,
                                                                                    course_id, says):
    site = two_sites(sample_site, {V2: "BetaX/OLD101/2013_Spring", V3: course_id})
    run = sitegen("build", "--site", site, "--pages-only")
    assert run.code != 0
    lines = [line for line in run.err.splitlines() if "generatedcertificate.csv" in line]
    assert len(lines) == 1 and lines[0].startswith(f"error: {EXPORT_NAME}:4: course_id: {course_id!r}: {says}")
    assert lines[0].endswith("(its printed URL would break)")
    assert "فاطمة" not in run.err  # never the learner's name
    assert not (site / "build" / ".preview").exists()  # nothing written, for either site
