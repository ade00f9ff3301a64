"""Bad data stops the build with one clear line per problem (file, line, field) and writes nothing.

The rules are listed for users in docs/records.md; each has rows here, in every format
where the format decides whether the rule can be broken.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import unicodedata

import pytest

from sitegen.load.config import load_site
from sitegen.load.record_cache import load_credentials

CSV = "credentials_data/awards.csv"
JSONL = "credentials_data/more.jsonl"
YML = "credentials_data/hand.yml"
API = "credentials_data/api.json"

# What the sample records say, to be replaced (awards.csv line 2, more.jsonl line 1,
# hand.yml's first record at line 2, api.json's one item at line 2).
C_ZOE = "0a1b2c3d4e5f40718293a4b5c6d7e8f9,zoe,Zoë Ó Súilleabháin,"
C_ZOE_UUID = "0a1b2c3d4e5f40718293a4b5c6d7e8f9"
C_ZOE_ISSUED = ",awarded,2026-03-14,"
J_UUID = '"uuid": "3d4e5f6a7b8c43a4b526d7e8f90a1b2c"'
J_USER = '"username": "fatima"'
J_NAME = '"full_name": "فاطمة الزهراء"'
J_COURSE = '"course_id": "course-v1:AcmeX+CS101+2026"'
J_MODE = '"certificate_type": "professional"'
J_STATUS = '"status": "awarded", "issued": "2026-05-02"'
J_ISSUED = '"issued": "2026-05-02"'
J_ATTR = '{"namespace": "course", "name": "grade", "value": "A"}'
J_PROGRAM = '"program_id": "data-science"'
J_TYPE = '"credential_type": "course-certificate"'
Y_UUID = "uuid: 5f6a7b8c9d0e45c6d748f90a1b2c3d4e"
Y_USER = "username: anna"
Y_NAME = "full_name: Анна Петрова"
Y_REASON = "revocation_reason: Academic integrity violation"
A_UUID = '"uuid": "7b8c9d0e-1f2a-47e8-f96a-b1c2d3e4f5a6"'
A_USER = '"username": "kenji"'
A_NAME = '"full_name": "山田 健二"'
A_ATTR = '{"name": "course.grade", "value": "0.88"}'
A_CREATED = '"created": "2026-07-01T10:20:30Z"'
A_COURSE = '"course_run_key": "course-v1:AcmeX+CS101+2026"'
A_PROGRAM = ('"credential": {"type": "course-run", "course_run_key": "course-v1:AcmeX+CS101+2026", '
             '"mode": "verified"}')
HEX_PROGRAM = "0f1e2d3c4b5a49687766554433221100"  # a program site.yml keys by its UUID (see _hex_program)

ZALGO = "Z\u0337\u0322\u031b\u032a\u0359a\u0338\u0353\u031d\u0343l\u0336\u0328\u031eg\u0338o\u0335"  # 5 on Z


def _replace(site, path, old, new):
    file = site / path
    text = file.read_text(encoding="utf-8")
    assert old in text, f"test setup: {old!r} not in {path}"
    file.write_text(text.replace(old, new, 1), encoding="utf-8")


def _append(site, path, text):
    with open(site / path, "a", encoding="utf-8") as handle:
        handle.write(text)


def _edit(path, old, new):
    return lambda site: _replace(site, path, old, new)


def _edits(*edits):
    def run(site):
        for edit in edits:
            edit(site)
    return run


def _hex_program(site):
    """site.yml gets a program keyed by its UUID's hex, as the Credentials API knows programs."""
    _append(site, "site.yml", f"  {HEX_PROGRAM!r}:\n    title: Keyed By UUID\n    org: acmex\n")


def _api_program(program_uuid: str):
    """api.json's item becomes a program certificate for `program_uuid` (a JSON string literal)."""
    return _edits(_hex_program, _edit(API, A_PROGRAM, f'"credential": {{"type": "program", '
                                                      f'"program_uuid": {program_uuid}}}'))


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _today_utc() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


# (rule, edit, expected: the start of the one error line after "error: ")
CASES = [
    ("missing field",
     _edit(CSV, ",zoe,", ",,"),
     f"{CSV}:2: username: is required"),
    ("unknown course",
     _edit(JSONL, J_COURSE, '"course_id": "course-v1:Nope+X+1"'),
     f"{JSONL}:1: course_id: unknown course 'course-v1:Nope+X+1'"),
    ("unknown program",
     _edit(JSONL, J_PROGRAM, '"program_id": "nope"'),
     f"{JSONL}:2: program_id: unknown program 'nope'"),
    ("unknown organization in site.yml",
     _edit("site.yml", "    org: betax", "    org: gammax"),
     "site.yml:33: courses.course-v1:BetaX+BIO1+2026.org: unknown organization 'gammax'"),
    ("bad date",
     _edit(CSV, "2026-03-15", "15/03/2026"),
     f"{CSV}:3: issued: must be an ISO date like 2026-03-31, got '15/03/2026'"),
    ("impossible date",
     _edit(YML, "issued: 2026-02-01", "issued: '2026-02-30'"),
     f"{YML}:2: issued: must be an ISO date"),
    ("impossible date, unquoted (YAML)",
     _edit(YML, "issued: 2026-02-01", "issued: 2026-02-30"),
     f"{YML}:2: issued: must be an ISO date like 2026-03-31, got '2026-02-30'"),
    ("impossible date and time, unquoted (YAML)",
     _edit(YML, "issued: 2026-02-01", "issued: 2026-13-01 10:00:00"),
     f"{YML}:2: issued: must be an ISO date like 2026-03-31, got '2026-13-01 10:00:00'"),
    ("a number too long to read (YAML)",
     _edit(YML, Y_USER, "username: " + "9" * 5000),
     f"{YML}:3: invalid YAML: a number too long to read"),
    ("a hex number too long to show (YAML)",
     _edit(YML, Y_USER, "username: 0x" + "f" * 5000),
     f"{YML}:3: invalid YAML: a number too long to read"),
    ("a number too long to read (JSONL)",
     _edit(JSONL, J_USER, '"username": ' + "9" * 5000),
     f"{JSONL}:1: invalid JSON: a number too long to read"),
    ("duplicate uuid across files",
     _edit(JSONL, "3d4e5f6a7b8c43a4b526d7e8f90a1b2c", C_ZOE_UUID),
     f"{JSONL}:1: uuid: duplicate: {C_ZOE_UUID} is also at {CSV}:2"),
    ("unknown status",
     _edit(CSV, ",honor,awarded,", ",honor,granted,"),
     f"{CSV}:3: status: unknown value 'granted' (one of: awarded, revoked)"),
    ("revoked without a reason",
     _edit(YML, "  revocation_reason: Academic integrity violation\n", ""),
     f"{YML}:2: revocation_reason: is required when status is revoked"),
    ("unknown key in a record",
     _edit(YML, "  username: anna\n", "  username: anna\n  fullname: Anna\n"),
     f"{YML}:2: fullname: unknown field"),
    ("unknown key in site.yml",
     _edit("site.yml", "platform_name:", "platfrom_name:"),
     "site.yml:4: platfrom_name: unknown key"),
    ("mode the course does not award",
     _edit(CSV, "course-v1:BetaX+BIO1+2026,verified", "course-v1:BetaX+BIO1+2026,honor"),
     f"{CSV}:4: certificate_type: course-v1:BetaX+BIO1+2026 does not award 'honor' certificates"),
    ("bidi override in a name",
     _edit(JSONL, "فاطمة الزهراء", "Fatima\u202etxt.exe"),
     f"{JSONL}:1: full_name: contains the invisible control character U+202E"),
    ("invalid JSON line",
     lambda s: _append(s, JSONL, '{"uuid": "aa", \n'),
     f"{JSONL}:3: invalid JSON"),
    ("CSV row with missing columns",
     lambda s: _append(s, CSV, "8c9d0e1f2a3b48f9a07bc2d3e4f5a6b7,short,Short Row\n"),
     f"{CSV}:5: has 3 columns, the header has 11"),
    ("program certificate with a mode",
     _edit(JSONL, J_PROGRAM + ",", J_PROGRAM + ', "certificate_type": "verified",'),
     f"{JSONL}:2: certificate_type: is for course certificates only"),

    # -- a UUID is exactly 32 lowercase hex digits, in every format (it becomes a folder name)
    ("uuid: upper case (CSV)",
     _edit(CSV, C_ZOE_UUID, C_ZOE_UUID.upper()),
     f"{CSV}:2: uuid: must be 32 lowercase hex digits"),
    ("uuid: used as a path (CSV)",
     _edit(CSV, C_ZOE_UUID, "../../../../etc/passwd"),
     f"{CSV}:2: uuid: must be 32 lowercase hex digits"),
    ("uuid: a line break after it (CSV)",
     _edit(CSV, C_ZOE_UUID + ",", f'"{C_ZOE_UUID}\n",'),
     f"{CSV}:2: uuid: must be 32 lowercase hex digits (a uuid4 hex), got '{C_ZOE_UUID}\\n'"),
    ("uuid: a space before it (CSV)",
     _edit(CSV, C_ZOE_UUID, " " + C_ZOE_UUID),
     f"{CSV}:2: uuid: must be 32 lowercase hex digits (a uuid4 hex), got ' {C_ZOE_UUID}'"),
    ("uuid: a line break after it (JSONL)",
     _edit(JSONL, J_UUID, J_UUID[:-1] + '\\n"'),
     f"{JSONL}:1: uuid: must be 32 lowercase hex digits (a uuid4 hex), got '3d4e5f6a7b8c43a4b526d7e8f90a1b2c\\n'"),
    ("uuid: a space before it (JSONL)",
     _edit(JSONL, J_UUID, '"uuid": " 3d4e5f6a7b8c43a4b526d7e8f90a1b2c"'),
     f"{JSONL}:1: uuid: must be 32 lowercase hex digits"),
    ("uuid: upper case (JSONL)",
     _edit(JSONL, J_UUID, J_UUID.upper().replace("UUID", "uuid")),
     f"{JSONL}:1: uuid: must be 32 lowercase hex digits"),
    ("uuid: a number (JSONL)",
     _edit(JSONL, J_UUID, '"uuid": 12345678901234567890123456789012'),
     f"{JSONL}:1: uuid: must be 32 lowercase hex digits (a uuid4 hex), got 12345678901234567890123456789012"),
    ("uuid: a line break after it (YAML)",
     _edit(YML, Y_UUID, f'uuid: "{Y_UUID[6:]}\\n"'),
     f"{YML}:2: uuid: must be 32 lowercase hex digits (a uuid4 hex), got '5f6a7b8c9d0e45c6d748f90a1b2c3d4e\\n'"),
    ("uuid: a space before it (YAML)",
     _edit(YML, Y_UUID, f'uuid: " {Y_UUID[6:]}"'),
     f"{YML}:2: uuid: must be 32 lowercase hex digits"),
    ("uuid: upper case (YAML)",
     _edit(YML, Y_UUID, "uuid: " + Y_UUID[6:].upper()),
     f"{YML}:2: uuid: must be 32 lowercase hex digits"),
    ("uuid: a line break after it (API JSON)",
     _edit(API, A_UUID, A_UUID[:-1] + '\\n"'),
     f"{API}:2: uuid: must be 32 lowercase hex digits (a uuid4 hex), got '7b8c9d0e-1f2a-47e8-f96a-b1c2d3e4f5a6\\n'"),
    ("uuid: a space before it (API JSON)",
     _edit(API, A_UUID, '"uuid": " 7b8c9d0e-1f2a-47e8-f96a-b1c2d3e4f5a6"'),
     f"{API}:2: uuid: must be 32 lowercase hex digits"),
    ("uuid: upper case (API JSON)",
     _edit(API, A_UUID, A_UUID.upper().replace("UUID", "uuid")),
     f"{API}:2: uuid: must be 32 lowercase hex digits"),

    # -- every other value that becomes a key is matched whole, as written
    ("course id: a line break after it (JSONL)",
     _edit(JSONL, J_COURSE, J_COURSE[:-1] + '\\n"'),
     f"{JSONL}:1: course_id: contains a line break (U+000A)"),
    ("course id: a space after it (CSV)",
     _edit(CSV, "CS101+2026,verified", "CS101+2026 ,verified"),
     f"{CSV}:2: course_id: has white space at its start or end"),
    ("course id: a line break after it (API JSON)",
     _edit(API, A_COURSE, A_COURSE[:-1] + '\\n"'),
     f"{API}:2: course_id: contains a line break (U+000A)"),
    ("program id: a space after it (JSONL)",
     _edit(JSONL, J_PROGRAM, '"program_id": "data-science "'),
     f"{JSONL}:2: program_id: has white space at its start or end"),
    ("program id: a number (YAML)",
     _edit(YML, "credential_type: course-certificate\n  course_id: course-v1:BetaX+BIO1+2026\n"
                "  certificate_type: verified", "credential_type: program-certificate\n  program_id: 2024"),
     f"{YML}:11: program_id: must be text, got the number 2024 (in YAML, put text in quotes)"),
    ("mode: a space before it (YAML)",
     _edit(YML, "certificate_type: verified\n  status: revoked", "certificate_type: ' verified'\n  status: revoked"),
     f"{YML}:2: certificate_type: has white space at its start or end"),
    ("status: a line break after it (JSONL)",
     _edit(JSONL, J_STATUS, '"status": "awarded\\r\\n", "issued": "2026-05-02"'),
     f"{JSONL}:1: status: contains a line break (U+000D)"),
    ("credential type: upper case (CSV)",
     _edit(CSV, "王小明,course-certificate", "王小明,Course-Certificate"),
     f"{CSV}:3: credential_type: unknown value 'Course-Certificate'"),
    ("API program uuid: the mapped hex form is the key",
     _api_program(f'"{HEX_PROGRAM}\\n"'),
     f"{API}:2: program_id: contains a line break (U+000A)"),
    ("API program uuid: a line break after the hyphenated form",
     _api_program('"0f1e2d3c-4b5a-4968-7766-554433221100\\n"'),
     f"{API}:2: program_id: contains a line break (U+000A)"),
    ("API program uuid: upper case",
     _api_program('"0F1E2D3C-4B5A-4968-7766-554433221100"'),
     f"{API}:2: program_id: unknown program '0F1E2D3C-4B5A-4968-7766-554433221100'"),
    ("API program uuid: hyphens anywhere are not a UUID",
     _api_program('"0f1e-2d3c4b5a49687766554433221100"'),
     f"{API}:2: program_id: unknown program '0f1e-2d3c4b5a49687766554433221100'"),
    ("attribute name: a space after it (JSONL)",
     _edit(JSONL, J_ATTR, '{"namespace": "course", "name": "grade ", "value": "A"}'),
     f"{JSONL}:1: attributes[1].name: has white space at its start or end"),

    # -- a name needs a visible letter: blank and invisible names are refused in every format
    ("blank name: spaces (CSV)",
     _edit(CSV, C_ZOE, C_ZOE.replace("Zoë Ó Súilleabháin", "   ")),
     f"{CSV}:2: full_name: is required"),
    ("blank name: no-break spaces (CSV)",
     _edit(CSV, C_ZOE, C_ZOE.replace("Zoë Ó Súilleabháin", "\u00a0\u00a0")),
     f"{CSV}:2: full_name: is required"),
    ("blank name: Hangul filler (CSV)",
     _edit(CSV, C_ZOE, C_ZOE.replace("Zoë Ó Súilleabháin", "\u3164")),
     f"{CSV}:2: full_name: has no visible letter"),
    ("blank name: a number (CSV)",
     _edit(CSV, C_ZOE, C_ZOE.replace("Zoë Ó Súilleabháin", "12345")),
     f"{CSV}:2: full_name: has no visible letter: '12345' is not a name"),
    ("blank name: spaces (JSONL)",
     _edit(JSONL, J_NAME, '"full_name": "   "'),
     f"{JSONL}:1: full_name: is required"),
    ("blank name: no-break spaces (JSONL)",
     _edit(JSONL, J_NAME, '"full_name": "\\u00a0\\u00a0"'),
     f"{JSONL}:1: full_name: is required"),
    ("blank name: ideographic space (JSONL)",
     _edit(JSONL, J_NAME, '"full_name": "\u3000"'),
     f"{JSONL}:1: full_name: is required"),
    ("blank name: Hangul filler (JSONL)",
     _edit(JSONL, J_NAME, '"full_name": "\\u3164\\u3164"'),
     f"{JSONL}:1: full_name: has no visible letter"),
    ("blank name: halfwidth Hangul filler (JSONL)",
     _edit(JSONL, J_NAME, '"full_name": "\\uffa0"'),
     f"{JSONL}:1: full_name: has no visible letter"),
    ("blank name: zero-width space (JSONL)",
     _edit(JSONL, J_NAME, '"full_name": "\\u200b"'),
     f"{JSONL}:1: full_name: has no visible letter"),
    ("blank name: combining marks only (JSONL)",
     _edit(JSONL, J_NAME, '"full_name": "\\u0301\\u0308"'),
     f"{JSONL}:1: full_name: has no visible letter"),
    ("blank name: a number (JSONL)",
     _edit(JSONL, J_NAME, '"full_name": 42'),
     f"{JSONL}:1: full_name: must be text, got the number 42"),
    ("blank name: spaces (YAML)",
     _edit(YML, Y_NAME, 'full_name: "  "'),
     f"{YML}:2: full_name: is required"),
    ("blank name: ideographic spaces (YAML)",
     _edit(YML, Y_NAME, "full_name: \u3000\u3000"),
     f"{YML}:2: full_name: is required"),
    ("blank name: Hangul filler (YAML)",
     _edit(YML, Y_NAME, "full_name: \u3164"),
     f"{YML}:2: full_name: has no visible letter"),
    ("blank name: combining marks only (YAML)",
     _edit(YML, Y_NAME, 'full_name: "\u0301\u0301"'),
     f"{YML}:2: full_name: has no visible letter"),
    ("blank name: a number (YAML)",
     _edit(YML, Y_NAME, "full_name: 42"),
     f"{YML}:2: full_name: must be text, got the number 42"),
    ("blank name: a yes/no value (YAML)",
     _edit(YML, Y_NAME, "full_name: yes"),
     f"{YML}:2: full_name: must be text, got true"),
    ("blank name: no-break spaces (API JSON)",
     _edit(API, A_NAME, '"full_name": "\\u00a0"'),
     f"{API}:2: full_name: is required"),

    # -- a name is one line: line and paragraph separators are refused, line numbers stay exact
    ("line separator in a name (CSV)",
     _edit(CSV, "Zoë Ó Súilleabháin", "Zoë\u2028Ó Súilleabháin"),
     f"{CSV}:2: full_name: contains a line break (U+2028)"),
    ("line separator in a name (JSONL, raw)",
     _edit(JSONL, "فاطمة الزهراء", "فاطمة\u2028الزهراء"),
     f"{JSONL}:1: full_name: contains a line break (U+2028)"),
    ("paragraph separator in a name (JSONL, raw)",
     _edit(JSONL, "فاطمة الزهراء", "فاطمة\u2029الزهراء"),
     f"{JSONL}:1: full_name: contains a line break (U+2029)"),
    ("next line U+0085 in a name (JSONL, raw)",
     _edit(JSONL, "فاطمة الزهراء", "فاطمة\u0085الزهراء"),
     f"{JSONL}:1: full_name: contains a line break (U+0085)"),
    ("vertical tab in a name (JSONL)",
     _edit(JSONL, "فاطمة الزهراء", "فاطمة\\u000bالزهراء"),
     f"{JSONL}:1: full_name: contains a line break (U+000B)"),
    ("line feed in a name (JSONL)",
     _edit(JSONL, "فاطمة الزهراء", "فاطمة\\nالزهراء"),
     f"{JSONL}:1: full_name: contains a line break (U+000A)"),
    ("line feed at the end of a name (JSONL)",
     _edit(JSONL, "فاطمة الزهراء", "فاطمة الزهراء\\n"),
     f"{JSONL}:1: full_name: contains a line break (U+000A)"),
    ("line separator in a name (YAML, raw: a line break to YAML 1.1)",
     _edit(YML, Y_NAME, 'full_name: "Анна\u2028Петрова"'),
     f"{YML}:4: contains U+2028 LINE SEPARATOR: YAML reads it as a line break, editors do not"),
    ("paragraph separator after a name (YAML, raw: YAML would drop it)",
     _edit(YML, Y_NAME, "full_name: Анна Петрова\u2029"),
     f"{YML}:4: contains U+2029 PARAGRAPH SEPARATOR"),
    ("next line U+0085 in a comment (YAML, raw)",
     _edit(YML, "# Hand-edited records", "# Hand-edited\u0085records"),
     f"{YML}:1: contains U+0085 NEXT LINE"),
    ("line separator in a name (YAML, escaped)",
     _edit(YML, Y_NAME, 'full_name: "Анна\\u2028Петрова"'),
     f"{YML}:2: full_name: contains a line break (U+2028)"),
    ("paragraph separator in a name (API JSON, raw)",
     _edit(API, A_NAME, '"full_name": "山田\u2029健二"'),
     f"{API}:2: full_name: contains a line break (U+2029)"),
    ("line separator before a bad line: later line numbers stay exact (JSONL)",
     _edits(_edit(JSONL, J_ATTR, '{"namespace": "course", "name": "grade", "value": "A"}, '
                                 '{"namespace": "x\u2028y", "name": "n", "value": "v"}'),
            _edit(JSONL, '"status": "awarded", "issued": "2026-06-30"', '"status": "gone", "issued": "2026-06-30"')),
     None),  # two problems: see test_line_separators_do_not_shift_line_numbers

    # -- lone surrogates (JSON \\ud800 escapes) are refused in every text field, before anything is written
    ("lone surrogate: full_name",
     _edit(JSONL, J_NAME, '"full_name": "Fatima \\ud800"'),
     f"{JSONL}:1: full_name: contains U+D800, a lone surrogate"),
    ("lone surrogate: username",
     _edit(JSONL, J_USER, '"username": "fa\\udfffima"'),
     f"{JSONL}:1: username: contains U+DFFF, a lone surrogate"),
    ("lone surrogate: revocation_reason",
     _edit(JSONL, J_STATUS, '"status": "revoked", "revocation_reason": "fraud \\udc80", "issued": "2026-05-02"'),
     f"{JSONL}:1: revocation_reason: contains U+DC80, a lone surrogate"),
    ("lone surrogate: attribute namespace",
     _edit(JSONL, J_ATTR, '{"namespace": "\\ud83d", "name": "grade", "value": "A"}'),
     f"{JSONL}:1: attributes[1].namespace: contains U+D83D, a lone surrogate"),
    ("lone surrogate: attribute name",
     _edit(JSONL, J_ATTR, '{"namespace": "course", "name": "\\ud83d", "value": "A"}'),
     f"{JSONL}:1: attributes[1].name: contains U+D83D, a lone surrogate"),
    ("lone surrogate: attribute value",
     _edit(JSONL, J_ATTR, '{"namespace": "course", "name": "grade", "value": "A\\ude00"}'),
     f"{JSONL}:1: attributes[1].value: contains U+DE00, a lone surrogate"),
    ("lone surrogate: course_id",
     _edit(JSONL, J_COURSE, '"course_id": "course-v1:\\ud800"'),
     f"{JSONL}:1: course_id: contains U+D800, a lone surrogate"),
    ("lone surrogate: program_id",
     _edit(JSONL, J_PROGRAM, '"program_id": "\\ud800"'),
     f"{JSONL}:2: program_id: contains U+D800, a lone surrogate"),
    ("lone surrogate: certificate_type",
     _edit(JSONL, J_MODE, '"certificate_type": "\\ud800"'),
     f"{JSONL}:1: certificate_type: contains U+D800, a lone surrogate"),
    ("lone surrogate: credential_type",
     _edit(JSONL, J_TYPE, '"credential_type": "\\ud800"'),
     f"{JSONL}:1: credential_type: contains U+D800, a lone surrogate"),
    ("lone surrogate: issued",
     _edit(JSONL, J_ISSUED, '"issued": "2026-05-0\\ud800"'),
     f"{JSONL}:1: issued: must be an ISO date like 2026-03-31, got '2026-05-0\\ud800'"),
    ("lone surrogate: uuid",
     _edit(JSONL, J_UUID, '"uuid": "\\ud800"'),
     f"{JSONL}:1: uuid: must be 32 lowercase hex digits (a uuid4 hex), got '\\ud800'"),
    ("lone surrogate: a field name",
     _edit(JSONL, J_NAME, J_NAME + ', "x\\ud800": 1'),
     f"{JSONL}:1: 'x\\ud800': unknown field"),
    ("lone surrogate: full_name (API JSON)",
     _edit(API, A_NAME, '"full_name": "\\udbff"'),
     f"{API}:2: full_name: contains U+DBFF, a lone surrogate"),
    ("lone surrogate: attribute (API JSON)",
     _edit(API, A_ATTR, '{"name": "course.grade", "value": "\\udbff"}'),
     f"{API}:2: attributes[1].value: contains U+DBFF, a lone surrogate"),
    ("line break in a field name (JSONL)",
     _edit(JSONL, J_NAME, J_NAME + ', "note\\n": 1'),
     f"{JSONL}:1: 'note\\n': unknown field"),

    ("a line break in a record file's name",
     lambda s: (s / "credentials_data" / "we\nird.jsonl").write_text((s / JSONL).read_text()),
     "'credentials_data/we\\nird.jsonl': the file name is not printable text"),
    ("a record file name that is not UTF-8",
     lambda s: (s / "credentials_data" / os.fsdecode(b"bad\xff.jsonl")).write_text((s / JSONL).read_text()),
     "'credentials_data/bad\\udcff.jsonl': the file name is not printable text"),

    # -- nesting: a clear line, never a RecursionError (or a crash in libyaml)
    ("deep nesting (JSONL)",
     _edit(JSONL, J_ATTR, _nested(30)),
     f"{JSONL}:1: attributes: nested more than 20 levels deep"),
    ("very deep nesting (JSONL)",
     _edit(JSONL, J_ATTR, _nested(100_000)),
     f"{JSONL}:1: attributes: nested more than 20 levels deep"),
    ("very deep nesting (JSON list)",
     _edit(API, A_ATTR, _nested(100_000)),
     f"{API}:9: attributes: nested more than 20 levels deep"),
    ("very deep nesting, paginated (JSON)",
     lambda s: (s / API).write_text('{"count": 1,\n "results": [\n' + _nested(100_000) + "]}"),
     f"{API}:3: results[1]: nested more than 20 levels deep"),
    ("deep nesting (YAML, flow)",
     _edit(YML, Y_NAME, "full_name: " + _nested(30)),
     f"{YML}:4: full_name: nested more than 20 levels deep"),
    ("very deep nesting (YAML, flow)",
     _edit(YML, Y_NAME, "full_name: " + _nested(100_000)),
     f"{YML}:4: full_name: nested more than 20 levels deep"),
    ("very deep nesting (YAML, block)",
     _edit(YML, Y_NAME, "full_name:\n" + "".join("  " * i + "-\n" for i in range(1, 40))),
     f"{YML}:23: full_name: nested more than 20 levels deep"),

    # -- a key written twice in one object or mapping is refused, naming it
    ("duplicate key (JSONL)",
     _edit(JSONL, J_USER, J_USER + ', "username": "mallory"'),
     f"{JSONL}:1: username: duplicate key 'username'"),
    ("duplicate key in an attribute (JSONL)",
     _edit(JSONL, J_ATTR, '{"namespace": "course", "name": "grade", "value": "A", "value": "F"}'),
     f"{JSONL}:1: attributes[1].value: duplicate key 'value'"),
    ("duplicate key (JSON list)",
     _edit(API, A_NAME, A_NAME + ',\n    "full_name": "Someone Else"'),
     f"{API}:5: full_name: duplicate key 'full_name'"),
    ("duplicate key in the credential (JSON list)",
     _edit(API, A_PROGRAM, A_PROGRAM[:-1] + ', "mode": "honor"}'),
     f"{API}:5: credential.mode: duplicate key 'mode'"),
    ("duplicate key (YAML)",
     _edit(YML, "  username: anna\n", "  username: anna\n  username: mallory\n"),
     f"{YML}:4: username: duplicate key 'username'"),
    ("duplicate key next to a merge key (YAML)",
     _edits(_edit(YML, "- uuid: 5f6a", "- &anna\n  uuid: 5f6a"),
            _edit(YML, "- uuid: 6a7b8c9d0e1f46d7e859a0b1c2d3e4f5\n",
                  "- <<: *anna\n  uuid: 6a7b8c9d0e1f46d7e859a0b1c2d3e4f5\n  uuid: 6a7b8c9d0e1f46d7e859a0b1c2d3e4f6\n")),
     f"{YML}:14: uuid: duplicate key 'uuid'"),
    ("a list as a key (YAML)",
     _edit(YML, "  username: anna\n", "  username: anna\n  ? [a, b]\n  : c\n"),
     f"{YML}:4: invalid YAML: found a key that is a list or mapping"),

    # -- a username is one line of printable text with nothing around it
    ("username: CR LF at the end (JSONL)",
     _edit(JSONL, J_USER, '"username": "fatima\\r\\n"'),
     f"{JSONL}:1: username: contains a line break (U+000D)"),
    ("username: line feed inside (CSV)",
     _edit(CSV, ",zoe,", ',"zo\ne",'),
     f"{CSV}:2: username: contains a line break (U+000A)"),
    ("username: line feed at the end (YAML)",
     _edit(YML, Y_USER, 'username: "anna\\n"'),
     f"{YML}:2: username: contains a line break (U+000A)"),
    ("username: a space before it (YAML)",
     _edit(YML, Y_USER, 'username: " anna"'),
     f"{YML}:2: username: has white space at its start or end"),
    ("username: a space after it (CSV)",
     _edit(CSV, ",zoe,", ",zoe ,"),
     f"{CSV}:2: username: has white space at its start or end"),
    ("username: a tab inside (JSONL)",
     _edit(JSONL, J_USER, '"username": "fa\\ttima"'),
     f"{JSONL}:1: username: contains the control character U+0009"),
    ("username: a no-break space inside (JSONL)",
     _edit(JSONL, J_USER, '"username": "fa\\u00a0tima"'),
     f"{JSONL}:1: username: contains U+00A0: a username is one line of visible characters"),
    ("username: a zero-width joiner inside (API JSON)",
     _edit(API, A_USER, '"username": "ken\\u200dji"'),
     f"{API}:2: username: contains U+200D: a username is one line of visible characters"),
    ("username: bidi override (JSONL)",
     _edit(JSONL, J_USER, '"username": "fa\\u202etima"'),
     f"{JSONL}:1: username: contains the invisible control character U+202E"),
    ("username: too long (CSV)",
     _edit(CSV, ",zoe,", "," + "z" * 151 + ","),
     f"{CSV}:2: username: is 151 characters long (at most 150)"),
    ("username: a number (YAML)",
     _edit(YML, Y_USER, "username: 12345"),
     f"{YML}:2: username: must be text, got the number 12345"),

    # -- dates: none in the future (UTC), none before 1900, written exactly
    ("issued far in the future (CSV)",
     _edit(CSV, C_ZOE_ISSUED, ",awarded,2999-01-01,"),
     f"{CSV}:2: issued: 2999-01-01 is in the future (today is "),
    ("issued the day after tomorrow (YAML)",  # not tomorrow: the date may change while the tests run
     _edit(YML, "issued: 2026-02-01", f"issued: {_today_utc() + dt.timedelta(days=2)}"),
     f"{YML}:2: issued: {_today_utc() + dt.timedelta(days=2)} is in the future"),
    ("issued in the future (API JSON created)",
     _edit(API, A_CREATED, '"created": "2999-07-01T10:20:30Z"'),
     f"{API}:2: issued: 2999-07-01 is in the future"),
    ("issued before 1900: a mistyped year (CSV)",
     _edit(CSV, C_ZOE_ISSUED, ",awarded,0202-03-14,"),
     f"{CSV}:2: issued: 0202-03-14 is before 1900: is the year mistyped?"),
    ("issued before 1900 (JSONL)",
     _edit(JSONL, J_ISSUED, '"issued": "1899-12-31"'),
     f"{JSONL}:1: issued: 1899-12-31 is before 1900"),
    ("issued with a line break after it (JSONL)",
     _edit(JSONL, J_ISSUED, '"issued": "2026-05-02\\n"'),
     f"{JSONL}:1: issued: must be an ISO date like 2026-03-31, got '2026-05-02\\n'"),
    ("issued in full-width digits (JSONL)",
     _edit(JSONL, J_ISSUED, '"issued": "\uff12\uff10\uff12\uff16-05-02"'),
     f"{JSONL}:1: issued: must be an ISO date"),
    ("API created with a line break after it",
     _edit(API, A_CREATED, '"created": "2026-07-01T10:20:30Z\\n"'),
     f"{API}:2: issued: must be an ISO date like 2026-03-31, got '2026-07-01T10:20:30Z\\n'"),

    # -- combining marks: at most 4 on one character (Zalgo text is drawn over the heading)
    ("Zalgo name (JSONL)",
     _edit(JSONL, "فاطمة الزهراء", ZALGO),
     f"{JSONL}:1: full_name: has more than 4 combining marks on one character"),
    ("Zalgo name (CSV)",
     _edit(CSV, "Zoë Ó Súilleabháin", "Zoë" + "\u0301\u0302\u0303\u0304\u0305" + " Ó"),
     f"{CSV}:2: full_name: has more than 4 combining marks on one character"),
    ("Zalgo name (YAML)",
     _edit(YML, Y_NAME, "full_name: А" + "\u0489" * 5 + "нна"),
     f"{YML}:2: full_name: has more than 4 combining marks on one character"),
    ("Zalgo name with joiners between the marks (JSONL)",
     _edit(JSONL, "فاطمة الزهراء", "Fa" + "\\u0301\\u200d" * 5 + "tima"),
     f"{JSONL}:1: full_name: has more than 4 combining marks on one character"),
]


def _build_tree(site) -> dict[str, bytes]:
    """Every file under build/, hidden ones (state, record cache, previews) included."""
    build = site / "build"
    return {p.relative_to(build).as_posix(): p.read_bytes() for p in sorted(build.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("rule, edit, expected", [c for c in CASES if c[2]], ids=[c[0] for c in CASES if c[2]])
def test_bad_input_is_reported_and_nothing_is_written(sample_site, sitegen, rule, edit, expected):
    assert sitegen("build", "--site", sample_site, "--pages-only").code == 0
    before = _build_tree(sample_site)
    edit(sample_site)

    result = sitegen("build", "--site", sample_site, "--pages-only")

    assert result.code != 0
    lines = result.err.splitlines()  # splitlines(): a U+2028 in a message would count as a line break
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and len(lines) == 2, result.err
    assert errors[0].startswith(f"error: {expected}"), result.err
    assert "Traceback" not in result.err
    assert _build_tree(sample_site) == before  # nothing new written, nothing removed, not even the cache


def test_line_separators_do_not_shift_line_numbers(sample_site, sitegen):
    edit = next(c[1] for c in CASES if c[0].startswith("line separator before a bad line"))
    edit(sample_site)
    result = sitegen("build", "--site", sample_site, "--pages-only")
    errors = [line for line in result.err.splitlines() if line.startswith("error: ")]
    assert errors == [
        f"error: {JSONL}:1: attributes[2].namespace: contains a line break (U+2028): it must be one line",
        f"error: {JSONL}:2: status: unknown value 'gone' (one of: awarded, revoked)",
    ], result.err


# -- what a careful registrar accepts -----------------------------------------------------------

# Real names whose letters carry combining marks, in the scripts that stack them most.
REAL_NAMES = {
    "Vietnamese (decomposed)": unicodedata.normalize("NFD", "Nguyễn Thị Ngọc Hường"),
    "Devanagari (nukta, candrabindu)": "श्रीमती ज़ुँबैदा क्षत्रिय",
    "Thai (vowel and tone marks)": "ณัฐวุฒิ กุ้งหลวง",
    "Arabic with harakat": "مُحَمَّد عَلِيّ",
    "Hebrew with niqqud": "שַּׁבְּתַאי כֹּהֵן",
    "Tibetan (stacked consonants)": "བསྒྲུབས་རྒྱ་མཚོ",
    "Yoruba (decomposed tones)": unicodedata.normalize("NFD", "Ọ̀láolúwa Àdìgún"),
    "Navajo (ogonek and acute)": unicodedata.normalize("NFD", "Hą́ą́ Yázhí"),
    "Myanmar": "အောင်ဆန်းစုကြည်",
    "Persian with a zero-width non-joiner": "می\u200cنا رضایی",
}
Z_UUID = C_ZOE_UUID
F_UUID = "3d4e5f6a7b8c43a4b526d7e8f90a1b2c"
A_HEX = "5f6a7b8c9d0e45c6d748f90a1b2c3d4e"


def _accepted_cases():
    for script, name in REAL_NAMES.items():
        yield (f"{script} (CSV)", _edit(CSV, "Zoë Ó Súilleabháin", name), Z_UUID, name)
        in_json = json.dumps(name, ensure_ascii=False)[1:-1]
        yield (f"{script} (JSONL)", _edit(JSONL, "فاطمة الزهراء", in_json), F_UUID, name)
        yield (f"{script} (YAML)", _edit(YML, Y_NAME, f"full_name: {name}"), A_HEX, name)
    yield ("four marks on one character", _edit(CSV, "Zoë", "Zoe\u0308\u0301\u0302\u0303"), Z_UUID,
           "Zoe\u0308\u0301\u0302\u0303 Ó")
    yield ("spaces around a name are not part of it (JSONL)",
           _edit(JSONL, J_NAME, '"full_name": " \\u3000Fatima Zahra\\u00a0 "'), F_UUID, ">Fatima Zahra<")
    yield ("issued today (UTC)",
           lambda s: _replace(s, CSV, C_ZOE_ISSUED, f",awarded,{_today_utc()},"), Z_UUID, str(_today_utc().year))
    yield ("a YAML merge key, overridden by the record's own keys",
           _edits(_edit(YML, "- uuid: 5f6a", "- &anna\n  uuid: 5f6a"),
                  lambda s: _append(s, YML, "- <<: *anna\n  uuid: 9a8b7c6d5e4f40312a1b0c9d8e7f6a5b\n"
                                            "  username: ben\n  full_name: Ben Merged\n")),
           "9a8b7c6d5e4f40312a1b0c9d8e7f6a5b", "Ben Merged")
    # The first mapping of the list wins (olga's status: awarded); the record's own keys win over both.
    yield ("YAML merge keys from a list of mappings",
           _edits(_edit(YML, "- uuid: 5f6a", "- &anna\n  uuid: 5f6a"),
                  _edit(YML, "- uuid: 6a7b", "- &olga\n  uuid: 6a7b"),
                  lambda s: _append(s, YML, "- <<: [*olga, *anna]\n  uuid: 9a8b7c6d5e4f40312a1b0c9d8e7f6a5b\n"
                                            "  username: cy\n  full_name: Cy Merged\n  revocation_reason: ''\n")),
           "9a8b7c6d5e4f40312a1b0c9d8e7f6a5b", "Cy Merged")
    yield ("an API program UUID, hyphenated, for a program keyed by its hex",
           _api_program('"0f1e2d3c-4b5a-4968-7766-554433221100"'), "7b8c9d0e1f2a47e8f96ab1c2d3e4f5a6",
           "Keyed By UUID")


ACCEPTED = list(_accepted_cases())


@pytest.mark.parametrize("case, edit, uuid, shown", ACCEPTED, ids=[c[0] for c in ACCEPTED])
def test_real_input_is_accepted(sample_site, sitegen, case, edit, uuid, shown):
    edit(sample_site)
    result = sitegen("build", "--site", sample_site, "--pages-only")
    assert result.code == 0, result.err
    pages = list((sample_site / "build").rglob(f"credentials/{uuid}/index.html"))
    assert len(pages) == 1
    assert shown in pages[0].read_text(encoding="utf-8")


def test_the_future_date_rule_is_not_kept_in_the_record_cache(sample_site, sitegen):
    """A cached file is not validated again, so the date rule lives outside the cache: the same
    cache refuses a record on the day before its issue date and accepts it on that date."""
    out = sample_site.parent / "out"
    assert sitegen("build", "--site", sample_site, "--pages-only", "--out", out).code == 0
    site = load_site(sample_site)
    cached = load_credentials(site, out)
    assert not cached.new_entries and not cached.problems  # every file came from the cache
    latest = max(c.issued for c in cached.credentials)

    before = load_credentials(site, out, today=latest - dt.timedelta(days=1))
    assert not before.new_entries
    assert [(p.field, p.message.split(" is ")[0]) for p in before.problems] == [("issued", latest.isoformat())]
    assert not load_credentials(site, out, today=latest).problems


# -- one line each, all at once -----------------------------------------------------------------


def test_all_problems_are_reported_at_once(sample_site, sitegen):
    _replace(sample_site, CSV, ",zoe,", ",,")
    _replace(sample_site, YML, "issued: 2024-01-10", "issued: yesterday")
    _replace(sample_site, JSONL, '"status": "awarded", "issued": "2026-06-30"',
             '"status": "gone", "issued": "2026-06-30"')

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
