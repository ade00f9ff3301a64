"""Bad data stops the build with one clear line per problem (file, line, field) and writes nothing."""

from __future__ import annotations

import pytest

from conftest import output_files

CSV = "credentials_data/awards.csv"
JSONL = "credentials_data/more.jsonl"
YML = "credentials_data/hand.yml"


def _replace(site, path, old, new):
    file = site / path
    text = file.read_text(encoding="utf-8")
    assert old in text, f"test setup: {old!r} not in {path}"
    file.write_text(text.replace(old, new, 1), encoding="utf-8")


def _append(site, path, text):
    with open(site / path, "a", encoding="utf-8") as handle:
        handle.write(text)


# (rule, edit, expected line fragment)
CASES = [
    ("missing field",
     lambda s: _replace(s, CSV, ",zoe,", ",,"),
     f"{CSV}:2: username: is required"),
    ("unknown course",
     lambda s: _replace(s, JSONL, '"course_id": "course-v1:AcmeX+CS101+2026"', '"course_id": "course-v1:Nope+X+1"'),
     f"{JSONL}:1: course_id: unknown course 'course-v1:Nope+X+1'"),
    ("unknown program",
     lambda s: _replace(s, JSONL, '"program_id": "data-science"', '"program_id": "nope"'),
     f"{JSONL}:2: program_id: unknown program 'nope'"),
    ("unknown organization in site.yml",
     lambda s: _replace(s, "site.yml", "    org: betax", "    org: gammax"),
     "site.yml:33: courses.course-v1:BetaX+BIO1+2026.org: unknown organization 'gammax'"),
    ("bad date",
     lambda s: _replace(s, CSV, "2026-03-15", "15/03/2026"),
     f"{CSV}:3: issued: must be an ISO date like 2026-03-31, got '15/03/2026'"),
    ("impossible date",
     lambda s: _replace(s, YML, "issued: 2026-02-01", "issued: '2026-02-30'"),
     f"{YML}:2: issued: must be an ISO date"),
    ("uuid not 32 lowercase hex",
     lambda s: _replace(s, CSV, "0a1b2c3d4e5f40718293a4b5c6d7e8f9", "0A1B2C3D4E5F40718293A4B5C6D7E8F9"),
     f"{CSV}:2: uuid: must be 32 lowercase hex digits"),
    ("uuid used as a path",
     lambda s: _replace(s, CSV, "0a1b2c3d4e5f40718293a4b5c6d7e8f9", "../../../../etc/passwd"),
     f"{CSV}:2: uuid: must be 32 lowercase hex digits"),
    ("duplicate uuid across files",
     lambda s: _replace(s, JSONL, "3d4e5f6a7b8c43a4b526d7e8f90a1b2c", "0a1b2c3d4e5f40718293a4b5c6d7e8f9"),
     f"{JSONL}:1: uuid: duplicate: 0a1b2c3d4e5f40718293a4b5c6d7e8f9 is also at {CSV}:2"),
    ("unknown status",
     lambda s: _replace(s, CSV, ",honor,awarded,", ",honor,granted,"),
     f"{CSV}:3: status: unknown value 'granted' (one of: awarded, revoked)"),
    ("revoked without a reason",
     lambda s: _replace(s, YML, "  revocation_reason: Academic integrity violation\n", ""),
     f"{YML}:2: revocation_reason: is required when status is revoked"),
    ("unknown key in a record",
     lambda s: _replace(s, YML, "  username: anna\n", "  username: anna\n  fullname: Anna\n"),
     f"{YML}:2: fullname: unknown field"),
    ("unknown key in site.yml",
     lambda s: _replace(s, "site.yml", "platform_name:", "platfrom_name:"),
     "site.yml:4: platfrom_name: unknown key"),
    ("mode the course does not award",
     lambda s: _replace(s, CSV, "course-v1:BetaX+BIO1+2026,verified", "course-v1:BetaX+BIO1+2026,honor"),
     f"{CSV}:4: certificate_type: course-v1:BetaX+BIO1+2026 does not award 'honor' certificates"),
    ("bidi override in a name",
     lambda s: _replace(s, JSONL, "فاطمة الزهراء", "Fatima\u202etxt.exe"),
     f"{JSONL}:1: full_name: contains the invisible control character U+202E"),
    ("invalid JSON line",
     lambda s: _append(s, JSONL, '{"uuid": "aa", \n'),
     f"{JSONL}:3: invalid JSON"),
    ("CSV row with missing columns",
     lambda s: _append(s, CSV, "8c9d0e1f2a3b48f9a07bc2d3e4f5a6b7,short,Short Row\n"),
     f"{CSV}:5: has 3 columns, the header has 11"),
    ("program certificate with a mode",
     lambda s: _replace(s, JSONL, '"program_id": "data-science",', '"program_id": "data-science", "certificate_type": "verified",'),
     f"{JSONL}:2: certificate_type: is for course certificates only"),
]


@pytest.mark.parametrize("rule, edit, expected", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_reported_and_nothing_is_written(sample_site, sitegen, rule, edit, expected):
    out = sample_site / "build"
    assert sitegen("build", "--site", sample_site, "--pages-only").code == 0
    before = output_files(out)
    edit(sample_site)

    result = sitegen("build", "--site", sample_site, "--pages-only")

    assert result.code != 0
    assert expected in result.err, result.err
    assert "Traceback" not in result.err
    assert output_files(out) == before  # nothing new written, nothing removed


def test_all_problems_are_reported_at_once(sample_site, sitegen):
    _replace(sample_site, CSV, ",zoe,", ",,")
    _replace(sample_site, YML, "issued: 2024-01-10", "issued: yesterday")
    _replace(sample_site, JSONL, '"status": "awarded", "issued": "2026-06-30"', '"status": "gone", "issued": "2026-06-30"')

    result = sitegen("build", "--site", sample_site, "--pages-only")

    problems = [line for line in result.err.splitlines() if line.startswith("error: ")]
    assert len(problems) == 3, result.err
    assert "3 problem(s)" in result.err


def test_a_build_with_bad_input_writes_nothing(sample_site, sitegen):
    assert sitegen("build", "--site", sample_site, "--pages-only").code == 0
    build = sample_site / "build"
    before = {p: p.read_bytes() for p in build.rglob("*") if p.is_file()}
    _replace(sample_site, CSV, ",zoe,", ",,")
    result = sitegen("build", "--site", sample_site, "--pages-only")
    assert result.code != 0 and "nothing was written" in result.err
    # not the pages, not the record cache, not the report: build/ is the last good build
    assert {p: p.read_bytes() for p in build.rglob("*") if p.is_file()} == before


def test_missing_site_yml_is_one_line(tmp_path, sitegen):
    result = sitegen("build", "--site", tmp_path)
    assert result.code != 0
    assert "site.yml: not found" in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_yaml_syntax_error_names_the_line(sample_site, sitegen):
    _replace(sample_site, YML, "  username: anna\n", "  username: [anna\n")
    result = sitegen("build", "--site", sample_site, "--pages-only")
    assert result.code != 0
    assert f"{YML}:" in result.err and "invalid YAML" in result.err
