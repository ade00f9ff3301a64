"""`sitegen revoke`: the record is edited where it lives, every other byte of its file kept;
refusals change nothing; the next build withdraws the credential; a kill never leaves half a file."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from sitegen.commands.revoke import run_revoke
from sitegen.lifecycle.revoke import RevokeRefused, revoke

DAY = "2026-11-22"  # the date revoke writes (a CSV file without a revocation_date column gets none)
REASON = 'Grade obtained by fraud, "confirmed" by the board'
A = "a" * 32
B = "b" * 32
C = "c" * 32


def changed(text: str, old: str, new: str) -> str:
    """`text` with the one occurrence of `old` replaced: the expected file, spelled out."""
    assert text.count(old) == 1, old
    return text.replace(old, new)


def records_folder(tmp_path: Path, files: dict[str, bytes]) -> Path:
    """A project folder whose credentials_data/ holds exactly `files`."""
    folder = tmp_path / "site" / "credentials_data"
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder.parent


# -- each format: only the expected bytes change ---------------------------------------

CSV_HEADER = "uuid,username,full_name,credential_type,course_id,certificate_type,status,issued,revocation_reason\n"
CSV_LF = (CSV_HEADER
          + f"{A},ann,Ann Lee,course-certificate,course-v1:AcmeX+CS101+2026,verified,awarded,2026-03-01,\n"
          + f"{B},bob,\"Bob, Jr.\",course-certificate,course-v1:AcmeX+CS101+2026,verified,awarded,2026-03-02,\n"
          + f"{C},cyd,Cyd,course-certificate,course-v1:AcmeX+CS101+2026,verified,awarded,2026-03-03,\n")

# CRLF, a BOM, a quoted status cell, and a name over two lines before the record (its line is 4).
CSV_CRLF = ("\ufeffuuid,username,full_name,credential_type,course_id,certificate_type,status,issued,"
            "revocation_reason,attributes.course.grade\r\n"
            f"{A},ann,\"Ann\r\nLee\",course-certificate,course-v1:AcmeX+CS101+2026,verified,awarded,2026-03-01,,0.9\r\n"
            f"{B},bob,Bob,course-certificate,course-v1:AcmeX+CS101+2026,verified,\"awarded\",2026-03-02,,0.8\r\n"
            f"{C},cyd,Cyd,course-certificate,course-v1:AcmeX+CS101+2026,verified,awarded,2026-03-03,,0.7\r\n")

# Compact separators on one line, spaced ones on another; a blank line; non-ASCII text.
JSONL = (f'{{"uuid":"{A}","username":"ann","full_name":"Ann","status":"awarded","issued":"2026-03-01"}}\n'
         "\n"
         f'{{"uuid": "{B}", "username": "bob", "full_name": "Бob", "status": "awarded", "issued": "2026-03-02"}}\n')

JSON_LIST = f"""[
  {{
    "uuid": "{A}",
    "username": "ann",
    "status": "awarded"
  }},
  {{
    "uuid": "{B}",
    "username": "bob",
    "issued": "2026-03-02",
    "status": "awarded"
  }}
]
"""

# An ASCII-only file (\\u escapes) stays ASCII: the reason is written with escapes too.
JSON_OBJECT = f'{{"uuid": "{A}", "full_name": "Zo\\u00eb", "status": "awarded", "issued": "2026-03-01"}}'

API_UUID = "7b8c9d0e-1f2a-47e8-f96a-b1c2d3e4f5a6"
API_EXPORT = f"""{{"count": 2, "next": null, "results": [
    {{"username": "kenji", "credential": {{"type": "course-run", "course_run_key": "course-v1:AcmeX+CS101+2026",
      "mode": "verified"}}, "status": "awarded", "uuid": "{A[:8]}-{A[8:12]}-{A[12:16]}-{A[16:20]}-{A[20:]}",
      "revocation_reason": null, "created": "2026-07-01T10:20:30Z"}},
    {{"username": "yuki", "credential": {{"type": "course-run", "course_run_key": "course-v1:AcmeX+CS101+2026",
      "mode": "verified"}}, "status": "awarded", "uuid": "{API_UUID}",
      "revocation_reason": null, "created": "2026-07-01T10:20:30Z"}}
]}}
"""

YAML_HAND = f"""# Hand-kept awards: comments, quotes and anchors stay as written.
- &cs101                      # the fields every CS101 award shares
  uuid: {A}
  username: 'ann'
  credential_type: course-certificate
  course_id: course-v1:AcmeX+CS101+2026
  certificate_type: verified
  status: awarded             # awarded in March
  issued: 2026-03-01

- <<: *cs101
  uuid: "{B}"
  username: bob
  status: "awarded"   # after the resit
  issued: 2026-03-02
"""

# CRLF, an indented sequence, a flow mapping, and a record whose last line has no line break.
YAML_FLOW = (f"  - {{uuid: {A}, username: ann, status: awarded, issued: 2026-03-01}}\r\n"
             f"  - uuid: {B}\r\n"
             "    revocation_reason:\r\n"
             "    status: awarded")

YAML_CRLF = f"- uuid: {A}\r\n  status: awarded # note\r\n  issued: 2026-03-01\r\n"

CSV_REASON = '"' + REASON.replace('"', '""') + '"'  # a CSV cell: quoted, quotes doubled
JSON_REASON = json.dumps(REASON)

# name: (file, its text, UUID, reason, the record's line, the file expected after revoke)
FORMAT_CASES = {
    "csv-lf": ("awards.csv", CSV_LF, B, REASON, 3, lambda t: changed(
        t, "verified,awarded,2026-03-02,\n", f"verified,revoked,2026-03-02,{CSV_REASON}\n")),
    "csv-crlf-bom-quoted": ("awards.csv", CSV_CRLF, B, REASON, 4, lambda t: changed(
        t, 'verified,"awarded",2026-03-02,,0.8\r\n', f'verified,"revoked",2026-03-02,{CSV_REASON},0.8\r\n')),
    "csv-cr-only": ("awards.csv", CSV_LF.replace("\n", "\r"), C, REASON, 4, lambda t: changed(
        t, "verified,awarded,2026-03-03,\r", f"verified,revoked,2026-03-03,{CSV_REASON}\r")),
    "jsonl-compact": ("more.jsonl", JSONL, A, REASON, 1, lambda t: changed(
        t, '"status":"awarded",',
        f'"status":"revoked","revocation_reason":{JSON_REASON},"revocation_date":"{DAY}",')),
    "jsonl-spaced": ("more.jsonl", JSONL, B, REASON, 3, lambda t: changed(
        t, '"status": "awarded", ',
        f'"status": "revoked", "revocation_reason": {JSON_REASON}, "revocation_date": "{DAY}", ')),
    "json-list-last-member": ("list.json", JSON_LIST, B, REASON, 7, lambda t: changed(
        t, '    "status": "awarded"\n  }\n',
        f'    "status": "revoked",\n    "revocation_reason": {JSON_REASON},\n'
        f'    "revocation_date": "{DAY}"\n  }}\n')),
    "json-object-ascii": ("one.json", JSON_OBJECT, A, "Fraude confirmée", 1, lambda t: changed(
        t, '"status": "awarded", ',
        f'"status": "revoked", "revocation_reason": "Fraude confirm\\u00e9e", "revocation_date": "{DAY}", ')),
    "api-results-hyphenated": ("api.json", API_EXPORT, API_UUID.replace("-", ""), REASON, None, lambda t: changed(
        t, f'"status": "awarded", "uuid": "{API_UUID}",\n      "revocation_reason": null,',
        f'"status": "revoked", "revocation_date": "{DAY}", "uuid": "{API_UUID}",\n'
        f'      "revocation_reason": {JSON_REASON},')),
    "yaml-comments-quotes-merge-key": ("hand.yml", YAML_HAND, B, REASON, 11, lambda t: changed(
        t, '  status: "awarded"   # after the resit\n',
        f'  status: "revoked"   # after the resit\n  revocation_reason: {REASON}\n  revocation_date: \'{DAY}\'\n')),
    "yaml-reason-that-needs-quotes": ("one.yml", f"uuid: {A}\nstatus: 'awarded'\nissued: 2026-03-01\n", A, "yes",
                                      1, lambda t: changed(t, "status: 'awarded'\n",
                                                           "status: 'revoked'\nrevocation_reason: 'yes'\n"
                                                           f"revocation_date: '{DAY}'\n")),
    "yaml-crlf-comment-after-status": ("crlf.yml", YAML_CRLF, A, REASON, 1, lambda t: changed(
        t, "  status: awarded # note\r\n", f"  status: revoked # note\r\n  revocation_reason: {REASON}\r\n"
        f"  revocation_date: '{DAY}'\r\n")),
    "yaml-flow-crlf": ("flow.yaml", YAML_FLOW, A, REASON, 1, lambda t: changed(
        t, "status: awarded, issued",
        f"status: revoked, revocation_reason: '{REASON}', revocation_date: '{DAY}', issued")),
    "yaml-null-reason-no-final-newline": ("flow.yaml", YAML_FLOW, B, REASON, 2, lambda t: changed(
        t, "    revocation_reason:\r\n    status: awarded",
        f"    revocation_reason: {REASON}\r\n    status: revoked\r\n    revocation_date: '{DAY}'")),
}
OTHER_FILE = CSV_LF.replace(A, "d" * 32).replace(B, "e" * 32).replace(C, "f" * 32).encode()


@pytest.mark.parametrize("case", FORMAT_CASES.values(), ids=FORMAT_CASES.keys())
def test_revoke_changes_only_the_record_fields(tmp_path, case):
    name, original, uuid, reason, line, expect = case
    site = records_folder(tmp_path, {name: original.encode("utf-8"), "other.csv": OTHER_FILE})

    result = revoke(site, uuid, reason, today=dt.date.fromisoformat(DAY))

    assert (site / "credentials_data" / name).read_bytes() == expect(original).encode("utf-8")
    assert (site / "credentials_data/other.csv").read_bytes() == OTHER_FILE
    assert result.location.file.startswith(f"credentials_data/{name}") and result.location.line == line
    assert sorted(p.name for p in (site / "credentials_data").iterdir()) == sorted([name, "other.csv"])


def test_revoke_keeps_the_file_mode(tmp_path):
    site = records_folder(tmp_path, {"awards.csv": CSV_LF.encode()})
    path = site / "credentials_data/awards.csv"
    path.chmod(0o640)
    revoke(site, A, REASON)
    assert path.stat().st_mode & 0o777 == 0o640


def test_command_prints_one_line_with_where_and_what_next(tmp_path, capsys):
    site = records_folder(tmp_path, {"awards.csv": CSV_LF.encode()})
    assert run_revoke(site, C, "  Issued in error  ") == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    # This CSV file has no revocation_date column: the command says the date is left out.
    assert out.startswith(f"credentials_data/awards.csv:4: revoked {C} (no date: the file has no "
                          "revocation_date column);") and "rebuild and publish" in out
    assert "revoked,2026-03-03,Issued in error\n" in (site / "credentials_data/awards.csv").read_text()


# -- refusals: one line, nothing changed -----------------------------------------------

DUPLICATE = f'{{"uuid": "{A}", "status": "awarded"}}\n'
REVOKED_ROW = f"{C},cyd,Cyd,course-certificate,course-v1:AcmeX+CS101+2026,verified,revoked,2026-03-03,Plagiarism\n"
YAML_ANCHORED = f"""- &base
  uuid: {A}
  status: awarded
- <<: *base
  uuid: {B}
"""

REFUSALS = {
    "malformed-uuid": ({"a.csv": CSV_LF}, "A" * 32, REASON, "not a credential ID"),
    "hyphenated-uuid": ({"a.csv": CSV_LF}, API_UUID, REASON, "not a credential ID"),
    "unknown-uuid": ({"a.csv": CSV_LF}, "e" * 32, REASON,
                     f"no record in credentials_data/ has the credential ID {'e' * 32}"),
    "already-revoked": ({"a.csv": CSV_HEADER + REVOKED_ROW}, C, REASON, "already revoked (reason: Plagiarism)"),
    "not-awarded": ({"a.csv": CSV_LF.replace("awarded,2026-03-01", "pending,2026-03-01")}, A, REASON,
                    "status is 'pending', not 'awarded'"),
    "in-two-files": ({"a.csv": CSV_LF, "b.jsonl": DUPLICATE}, A, REASON,
                     "is in 2 records (credentials_data/a.csv:2, credentials_data/b.jsonl:1)"),
    "blank-reason": ({"a.csv": CSV_LF}, A, " \t ", "--reason: must say why"),
    "two-line-reason": ({"a.csv": CSV_LF}, A, "Fraud\nconfirmed", "--reason: contains a line break"),
    "bidi-reason": ({"a.csv": CSV_LF}, A, "Fraud \u202econfirmed", "--reason: contains the invisible control"),
    "private-use-reason": ({"a.csv": CSV_LF}, A, "Fraud \ue000", "--reason: contains U+E000"),
    "csv-without-reason-column": ({"a.csv": CSV_LF.replace(",revocation_reason", "").replace(",\n", "\n")}, A,
                                  REASON, "credentials_data/a.csv:2: has no revocation_reason column: add it"),
    "file-with-a-bad-row": ({"a.csv": CSV_LF + "x,y\n"}, A, REASON,
                            "credentials_data/a.csv:5: has 2 columns, the header has 9 (fix this first"),
    "edit-would-change-a-merged-record": ({"h.yml": YAML_ANCHORED}, A, REASON,
                                          "cannot edit this file safely (the record at credentials_data/h.yml:4 "
                                          "would change too)"),
    "status-from-a-merge-key": ({"h.yml": YAML_ANCHORED}, B, REASON,
                                "status is not written in the record itself"),
}


@pytest.mark.parametrize("case", REFUSALS.values(), ids=REFUSALS.keys())
def test_refusals_change_nothing(tmp_path, case):
    files, uuid, reason, message = case
    site = records_folder(tmp_path, {name: text.encode() for name, text in files.items()})
    before = {p.name: p.read_bytes() for p in (site / "credentials_data").iterdir()}
    with pytest.raises(RevokeRefused) as refused:
        revoke(site, uuid, reason)
    text = str(refused.value)
    assert "\n" not in text
    assert message in text
    assert {p.name: p.read_bytes() for p in (site / "credentials_data").iterdir()} == before


def test_cli_prints_refusal_as_one_line(tmp_path, sitegen):
    site = records_folder(tmp_path, {"a.csv": CSV_LF.encode()})
    result = sitegen("revoke", "e" * 32, "--reason", REASON, "--site", site)
    assert result.code == 1 and result.err.count("\n") == 1 and "no record" in result.err
    result = sitegen("revoke", A, "--reason", REASON, "--site", site)
    assert result.code == 0 and "credentials_data/a.csv:2: revoked" in result.out


# -- revoke, then build: the credential is withdrawn everywhere ------------------------

VALID = "0a1b2c3d4e5f40718293a4b5c6d7e8f9"  # in tests/sample_site/credentials_data/awards.csv


@pytest.mark.slow
def test_revoke_then_build_withdraws_the_credential(sample_site, signing_env, sitegen, tmp_path):
    out = sample_site / "build"
    assert sitegen("build", "--site", sample_site).code == 0
    folder = out / "credentials" / VALID
    old_pdf = tmp_path / "old.pdf"
    old_pdf.write_bytes((folder / "certificate.pdf").read_bytes())
    old_sha256 = hashlib.sha256(old_pdf.read_bytes()).hexdigest()
    assert (out / "api/v1/pdf-sha256" / old_sha256).is_file()

    assert run_revoke(sample_site, VALID, REASON) == 0
    built = sitegen("build", "--site", sample_site)
    assert built.code == 0, built.err

    page = (folder / "index.html").read_text()
    assert f"Revoked: {REASON}" in BeautifulSoup(page, "html.parser").get_text()  # the sample's plain theme
    assert "certificate.pdf" not in page
    assert not (folder / "certificate.pdf").exists() and not (folder / "certificate.pdf.sig").exists()
    statement = (folder / "statement.txt.asc").read_text()
    assert "Status: revoked\n" in statement and f"Revocation reason: {REASON}\n" in statement
    assert "PDF SHA-256: none: revoked\n" in statement
    api = json.loads((out / "api/v1/credentials" / VALID).read_text())
    assert api["status"] == "revoked" and api["download_url"] is None
    assert api["verification"]["status"] == "revoked" and api["verification"]["revocation_reason"] == REASON
    # The hash index must not vouch for the old PDF: its entry goes with the PDF (or, if the
    # build ever keeps it, names this credential, whose statement now says revoked).
    entry = out / "api/v1/pdf-sha256" / old_sha256
    assert not entry.exists() or json.loads(entry.read_text()) == {"uuid": VALID}

    verdict = sitegen("verify", old_pdf, "--build-dir", out, "--json")
    assert verdict.code != 0 and json.loads(verdict.out)["verdict"] == "revoked"


PROGRAM = "4e5f6a7b8c9d44b5c637e8f90a1b2c3d"  # a program certificate, in tests/sample_site/credentials_data/more.jsonl


def test_a_program_certificate_is_revoked_then_purged_like_a_course_one(sample_site, sitegen):
    """Program certificates have their own template; the lifecycle treats them the same."""
    out = sample_site / "build"
    assert sitegen("build", "--site", sample_site, "--out", out, "--pages-only").code == 0
    folder = out / "credentials" / PROGRAM
    assert "Revoked" not in BeautifulSoup((folder / "index.html").read_text(), "html.parser").get_text()

    assert run_revoke(sample_site, PROGRAM, REASON) == 0
    assert sitegen("build", "--site", sample_site, "--out", out, "--pages-only").code == 0
    page = BeautifulSoup((folder / "index.html").read_text(), "html.parser").get_text()
    assert re.search(rf"Revoked on \d+ \w+ 20\d\d: {re.escape(REASON)}", page) and "प्रिया शर्मा" in page
    api = json.loads((out / "api/v1/credentials" / PROGRAM).read_text())
    assert api["status"] == "revoked" and api["credential"]["type"] == "program"

    assert sitegen("purge", PROGRAM, "--site", sample_site).code == 0
    assert sitegen("build", "--site", sample_site, "--out", out, "--pages-only").code == 0
    assert os.listdir(folder) == ["index.html"]
    notice = (folder / "index.html").read_text()
    assert "no longer available" in notice and "प्रिया" not in notice
    assert not (out / "api/v1/credentials" / PROGRAM).exists()


def test_the_revocation_date_reaches_page_json_and_statement(sample_site, sitegen):
    """revoke writes the date (UTC); the page, the API JSON and the signed statement say it."""
    assert run_revoke(sample_site, PROGRAM, REASON) == 0
    written = json.loads((sample_site / "credentials_data/more.jsonl").read_text().splitlines()[1])
    today = dt.datetime.now(dt.UTC).date()
    assert written["revocation_date"] == today.isoformat()
    out = sample_site / "build"
    assert sitegen("build", "--site", sample_site, "--out", out, "--pages-only").code == 0
    api = json.loads((out / "api/v1/credentials" / PROGRAM).read_text())
    assert api["verification"]["revocation_date"] == today.isoformat()
    page = BeautifulSoup((out / "credentials" / PROGRAM / "index.html").read_text(), "html.parser").get_text()
    assert f"Revoked on {today.day} {today:%B %Y}" in page


def test_statements_carry_the_revocation_date_and_version_1_ones_still_read():
    from sitegen.sign.statement import FIELDS, HEADER, HEADER_V1, parse_statement

    values = {key: f"value of {key}" for _, key in FIELDS} | {"revocation_date": "2026-11-20"}
    lines = [f"{label}: {values[key]}" for label, key in FIELDS]
    assert parse_statement("\n".join([HEADER, "", *lines, "", "How to check."]))["revocation_date"] == "2026-11-20"
    old = [line for line in lines if not line.startswith("Revocation date:")]
    assert parse_statement("\n".join([HEADER_V1, "", *old, "", "How to check."]))["revocation_date"] == "none"
    with pytest.raises(ValueError):  # a version 2 statement must have it
        parse_statement("\n".join([HEADER, "", *old, "", "How to check."]))


@pytest.mark.parametrize(("status", "date", "message"), [
    ("awarded", "2026-03-02", "revocation_date: is only for revoked credentials (status is awarded)"),
    ("revoked", "2026-02-01", "revocation_date: 2026-02-01 is before issued 2026-03-01"),
    ("revoked", "2026-13-01", "revocation_date: must be an ISO date like 2026-03-31, got '2026-13-01'"),
])
def test_a_wrong_revocation_date_is_one_line_naming_the_field(sample_site, status, date, message):
    from sitegen.load.config import load_site
    from sitegen.load.records import RawRecord
    from sitegen.load.validate import validate_record
    from sitegen.model import SourceLocation

    fields = {"uuid": A, "username": "ann", "full_name": "Ann", "credential_type": "program-certificate",
              "program_id": "data-science", "status": status, "issued": "2026-03-01", "revocation_date": date,
              **({"revocation_reason": "Error"} if status == "revoked" else {})}
    credential, problems = validate_record(RawRecord(fields, SourceLocation("x.jsonl", 3)), load_site(sample_site))
    assert credential is None and [str(p) for p in problems] == [f"x.jsonl:3: {message}"]


def test_a_revocation_date_in_the_future_is_refused():
    from sitegen.load.validate import future_problems
    from sitegen.model import Credential, SourceLocation

    future = Credential(A, "ann", "Ann", "program-certificate", "revoked", dt.date(2026, 3, 1), program_id="p",
                        revocation_reason="x", revocation_date=dt.date(2026, 12, 1), source=SourceLocation("x.csv", 2))
    assert [str(p) for p in future_problems([future], dt.date(2026, 11, 22))] == [
        "x.csv:2: revocation_date: 2026-12-01 is in the future (today is 2026-11-22, UTC)"]


# -- kill -9 in the middle, or two at once: the records file is whole, no edit is lost --

REVOKE_IN_CHILD = "import sys; from pathlib import Path; from sitegen.lifecycle.revoke import revoke; " \
                  "revoke(Path(sys.argv[1]), sys.argv[2], sys.argv[3])"


def big_csv(rows: int) -> bytes:
    return (CSV_HEADER + "".join(f"{i:032x},user{i},Learner {i},course-certificate,course-v1:AcmeX+CS101+2026,"
                                 f"verified,awarded,2026-03-01,\n" for i in range(1, rows + 1))).encode()


def revoked_row(data: bytes, number: int) -> bytes:
    """`data` (from big_csv) with row `number` revoked for REASON."""
    old = f"{number:032x},user{number},Learner {number},course-certificate,course-v1:AcmeX+CS101+2026,verified,"
    return changed(data.decode(), old + "awarded,2026-03-01,\n", old + f"revoked,2026-03-01,{CSV_REASON}\n").encode()


def start_revoke(site: Path, uuid: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", REVOKE_IN_CHILD, str(site), uuid, REASON], cwd=site.parent)


@pytest.mark.slow
def test_kill_9_during_revoke_leaves_the_old_or_the_new_file(tmp_path):
    original = big_csv(20_000)
    target = f"{19_000:032x}"
    revoked = revoked_row(original, 19_000)
    site = records_folder(tmp_path, {"big.csv": original})
    path = site / "credentials_data/big.csv"

    began = time.monotonic()
    assert start_revoke(site, target).wait(timeout=120) == 0
    duration = time.monotonic() - began
    assert path.read_bytes() == revoked

    rng = random.Random(20260701)
    outcomes = []
    for attempt in range(20):
        path.write_bytes(original)
        names, written = set(os.listdir(path.parent)), path.stat()
        child = start_revoke(site, target)
        if attempt % 3 == 0:
            time.sleep(rng.uniform(0, 1.2 * duration))  # anywhere in the run, or just after it
        elif attempt % 3 == 1:
            _wait_for_a_write(path, names, written, child, beside=True)  # as the new bytes are written
            time.sleep(rng.choice([0, rng.uniform(0, 0.02)]))
        else:
            _wait_for_a_write(path, names, written, child, beside=False)  # as the record file changes
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
        data = path.read_bytes()
        assert data in (original, revoked), f"attempt {attempt}: half a file ({len(data)} bytes)"
        outcomes.append("new" if data == revoked else "old")

    # The next revoke removes what killed ones left behind.
    path.write_bytes(original)
    assert start_revoke(site, target).wait(timeout=120) == 0
    assert path.read_bytes() == revoked
    assert [p.name for p in (site / "credentials_data").iterdir()] == ["big.csv"]
    assert "old" in outcomes  # some kills did land before the rename


def test_a_failed_write_changes_nothing(tmp_path):
    """A full disk, as a file size limit: the refusal is one line, the file as it was, no temporary left."""
    original = big_csv(100)
    site = records_folder(tmp_path, {"big.csv": original})
    script = ("import resource, sys; from pathlib import Path; from sitegen.lifecycle.revoke import revoke, "
              "RevokeRefused\nresource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.RLIM_INFINITY))\n"
              "try:\n    revoke(Path(sys.argv[1]), sys.argv[2], 'x')\nexcept RevokeRefused as err:\n"
              "    sys.exit(str(err))\n")
    done = subprocess.run([sys.executable, "-c", script, str(site), f"{50:032x}"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr == ("credentials_data/big.csv:51: cannot write beside the file (File too large); "
                           "nothing changed\n")
    assert [p.name for p in (site / "credentials_data").iterdir()] == ["big.csv"]
    assert (site / "credentials_data/big.csv").read_bytes() == original


@pytest.mark.slow
def test_two_revokes_at_once_both_land(tmp_path):
    original = big_csv(20_000)
    site = records_folder(tmp_path, {"big.csv": original})
    children = [start_revoke(site, f"{number:032x}") for number in (5_000, 15_000)]
    assert [child.wait(timeout=120) for child in children] == [0, 0]
    both = revoked_row(revoked_row(original, 5_000), 15_000)
    assert (site / "credentials_data/big.csv").read_bytes() == both


def _wait_for_a_write(path: Path, names: set[str], written: os.stat_result, child: subprocess.Popen,
                      beside: bool) -> None:
    """Return as soon as the child writes: `path` itself changes, or (`beside`) a new file appears next to it."""
    deadline = time.monotonic() + 60
    while child.poll() is None and time.monotonic() < deadline:
        if beside and set(os.listdir(path.parent)) - names:
            return
        now = path.stat()
        if (now.st_size, now.st_mtime_ns, now.st_ino) != (written.st_size, written.st_mtime_ns, written.st_ino):
            return
