"""`sitegen purge`: the record leaves its file, every other byte kept, and its ID enters the
purge list first; refusals change nothing and never print the learner's data; a kill at any
moment leaves whole files, and never a record gone with its ID missing from the list."""

from __future__ import annotations

import datetime as dt
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sitegen.commands.purge import run_purge
from sitegen.lifecycle.purge import PurgeRefused, purge
from sitegen.lifecycle.revoke import revoke
from sitegen.load.purge_list import PURGE_LIST, PURGE_LIST_HEADER, load_purge_list, parse_purge_list
from sitegen.load.records import record_files

A = "a" * 32
B = "b" * 32
C = "c" * 32
D = "d" * 32
TODAY = dt.date(2026, 11, 22)
NAMES = ("ann", "Ann Lee", "bob", "Bob, Jr.")  # never in what purge prints


def records_folder(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    """A project folder whose credentials_data/ holds exactly `files`."""
    folder = tmp_path / "site" / "credentials_data"
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return folder.parent


def folder_bytes(site: Path) -> dict[str, bytes]:
    folder = site / "credentials_data"
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def listed_once(uuid: str) -> bytes:
    """The purge list a first purge creates."""
    return (PURGE_LIST_HEADER + f"{uuid} 2026-11-22\n").encode()


# -- each format: the record's bytes and its own separator go, nothing else ------------

CSV = ("uuid,username,full_name,status,issued\n"
       f"{A},ann,Ann Lee,awarded,2026-03-01\n"
       f"{B},bob,\"Bob, Jr.\",awarded,2026-03-02\n"
       f"{C},cyd,Cyd,awarded,2026-03-03\n")

# A BOM, CRLF, a name over two lines (the row is lines 2 and 3), a blank row.
CSV_CRLF = ("\ufeffuuid,username,full_name,status,issued\r\n"
            f"{A},ann,\"Ann\r\nLee\",awarded,2026-03-01\r\n"
            "\r\n"
            f"{B},bob,Bob,awarded,2026-03-02\r\n")

CSV_NO_FINAL_NEWLINE = ("uuid,username,full_name,status,issued\n"
                        f"{A},ann,Ann Lee,awarded,2026-03-01\n"
                        f"{B},bob,Bob,awarded,2026-03-02")

JSONL = (f'{{"uuid":"{A}","username":"ann","status":"awarded"}}\n'
         "\n"
         f'{{"uuid": "{B}", "username": "bob", "status": "awarded"}}\r\n'
         f'{{"uuid": "{C}", "username": "cyd", "status": "awarded"}}')

JSON_LIST = f"""[
  {{"uuid": "{A}", "username": "ann"}},
  {{"uuid": "{B}", "username": "bob"}},
  {{
    "uuid": "{C}",
    "username": "cyd"
  }}
]
"""

API_A = f"{A[:8]}-{A[8:12]}-{A[12:16]}-{A[16:20]}-{A[20:]}"
API_B = f"{B[:8]}-{B[8:12]}-{B[12:16]}-{B[16:20]}-{B[20:]}"
API_EXPORT = f"""{{"count": 2, "next": null, "results": [
    {{"username": "ann", "credential": {{"type": "course-run", "course_run_key": "course-v1:AcmeX+CS101+2026",
      "mode": "verified"}}, "status": "awarded", "uuid": "{API_A}"}},
    {{"username": "bob", "credential": {{"type": "course-run", "course_run_key": "course-v1:AcmeX+CS101+2026",
      "mode": "verified"}}, "status": "awarded", "uuid": "{API_B}"}}
]}}
"""

YAML_HAND = f"""# Hand-kept awards.
- &cs101                      # the fields every CS101 award shares
  uuid: {A}
  username: 'ann'
  course_id: course-v1:AcmeX+CS101+2026
  status: awarded             # awarded in March

# resits
- <<: *cs101
  uuid: "{B}"
  username: bob
  status: "awarded"   # after the resit
-   # a re-sit
  uuid: {C}
  username: cyd
  attributes:
    - {{namespace: course, name: grade, value: "0.9"}}
- {{uuid: {D}, username: dee, status: awarded}}  # flow
"""

YAML_CRLF = f"  - uuid: {A}\r\n    status: awarded\r\n  - uuid: {B}\r\n    status: awarded"

YAML_FLOW_LIST = f"[{{uuid: {A}, username: ann}}, {{uuid: {B}, username: bob}}]\n"

YAML_BLOCK_SCALAR = f"- uuid: {A}\n  full_name: |\n    Ann Lee\n- uuid: {B}\n  full_name: Bob\n"

# name: (file, its text, UUID, the record's place, the file expected after purge; None: the file is removed)
FORMAT_CASES = {
    "csv-middle-row": ("awards.csv", CSV, B, "awards.csv:3",
                       "uuid,username,full_name,status,issued\n"
                       f"{A},ann,Ann Lee,awarded,2026-03-01\n"
                       f"{C},cyd,Cyd,awarded,2026-03-03\n"),
    "csv-crlf-bom-row-over-two-lines": ("awards.csv", CSV_CRLF, A, "awards.csv:2",
                                        "\ufeffuuid,username,full_name,status,issued\r\n"
                                        "\r\n"
                                        f"{B},bob,Bob,awarded,2026-03-02\r\n"),
    "csv-crlf-last-row": ("awards.csv", CSV_CRLF, B, "awards.csv:5",
                          "\ufeffuuid,username,full_name,status,issued\r\n"
                          f"{A},ann,\"Ann\r\nLee\",awarded,2026-03-01\r\n"
                          "\r\n"),
    "csv-last-row-without-line-ending": ("awards.csv", CSV_NO_FINAL_NEWLINE, B, "awards.csv:3",
                                         "uuid,username,full_name,status,issued\n"
                                         f"{A},ann,Ann Lee,awarded,2026-03-01\n"),
    "csv-only-record": ("one.csv", f"uuid,username,status\n{A},ann,awarded\n", A, "one.csv:2", None),
    "jsonl-first-line": ("more.jsonl", JSONL, A, "more.jsonl:1",
                         "\n"
                         f'{{"uuid": "{B}", "username": "bob", "status": "awarded"}}\r\n'
                         f'{{"uuid": "{C}", "username": "cyd", "status": "awarded"}}'),
    "jsonl-crlf-line": ("more.jsonl", JSONL, B, "more.jsonl:3",
                        f'{{"uuid":"{A}","username":"ann","status":"awarded"}}\n'
                        "\n"
                        f'{{"uuid": "{C}", "username": "cyd", "status": "awarded"}}'),
    "jsonl-last-line-without-line-ending": ("more.jsonl", JSONL, C, "more.jsonl:4",
                                            f'{{"uuid":"{A}","username":"ann","status":"awarded"}}\n'
                                            "\n"
                                            f'{{"uuid": "{B}", "username": "bob", "status": "awarded"}}\r\n'),
    "json-list-first": ("list.json", JSON_LIST, A, "list.json:2", f"""[
  {{"uuid": "{B}", "username": "bob"}},
  {{
    "uuid": "{C}",
    "username": "cyd"
  }}
]
"""),
    "json-list-middle": ("list.json", JSON_LIST, B, "list.json:3", f"""[
  {{"uuid": "{A}", "username": "ann"}},
  {{
    "uuid": "{C}",
    "username": "cyd"
  }}
]
"""),
    "json-list-last": ("list.json", JSON_LIST, C, "list.json:4", f"""[
  {{"uuid": "{A}", "username": "ann"}},
  {{"uuid": "{B}", "username": "bob"}}
]
"""),
    "json-list-only-element": ("list.json", f'[\n  {{"uuid": "{A}"}}\n]\n', A, "list.json:2", None),
    "json-single-object": ("one.json", f'{{"uuid": "{A}", "full_name": "Zo\\u00eb", "status": "awarded"}}\n', A,
                           "one.json:1", None),
    "api-results-first-hyphenated": ("api.json", API_EXPORT, A, "api.json (results item 1)", f"""{{"count": 2, \
"next": null, "results": [
    {{"username": "bob", "credential": {{"type": "course-run", "course_run_key": "course-v1:AcmeX+CS101+2026",
      "mode": "verified"}}, "status": "awarded", "uuid": "{API_B}"}}
]}}
"""),
    "api-results-last": ("api.json", API_EXPORT, B, "api.json (results item 2)", f"""{{"count": 2, \
"next": null, "results": [
    {{"username": "ann", "credential": {{"type": "course-run", "course_run_key": "course-v1:AcmeX+CS101+2026",
      "mode": "verified"}}, "status": "awarded", "uuid": "{API_A}"}}
]}}
"""),
    "yaml-item-taking-fields-by-merge-key": ("hand.yml", YAML_HAND, B, "hand.yml:9", f"""# Hand-kept awards.
- &cs101                      # the fields every CS101 award shares
  uuid: {A}
  username: 'ann'
  course_id: course-v1:AcmeX+CS101+2026
  status: awarded             # awarded in March

# resits
-   # a re-sit
  uuid: {C}
  username: cyd
  attributes:
    - {{namespace: course, name: grade, value: "0.9"}}
- {{uuid: {D}, username: dee, status: awarded}}  # flow
"""),
    "yaml-item-dash-on-its-own-line": ("hand.yml", YAML_HAND, C, "hand.yml:14", f"""# Hand-kept awards.
- &cs101                      # the fields every CS101 award shares
  uuid: {A}
  username: 'ann'
  course_id: course-v1:AcmeX+CS101+2026
  status: awarded             # awarded in March

# resits
- <<: *cs101
  uuid: "{B}"
  username: bob
  status: "awarded"   # after the resit
- {{uuid: {D}, username: dee, status: awarded}}  # flow
"""),
    "yaml-flow-item-with-comment": ("hand.yml", YAML_HAND, D, "hand.yml:18", YAML_HAND.replace(
        f"- {{uuid: {D}, username: dee, status: awarded}}  # flow\n", "")),
    "yaml-crlf-indented-first": ("crlf.yaml", YAML_CRLF, A, "crlf.yaml:1", f"  - uuid: {B}\r\n    status: awarded"),
    "yaml-crlf-indented-last": ("crlf.yaml", YAML_CRLF, B, "crlf.yaml:3",
                                f"  - uuid: {A}\r\n    status: awarded\r\n"),
    "yaml-flow-list-first": ("flow.yml", YAML_FLOW_LIST, A, "flow.yml:1", f"[{{uuid: {B}, username: bob}}]\n"),
    "yaml-flow-list-last": ("flow.yml", YAML_FLOW_LIST, B, "flow.yml:1", f"[{{uuid: {A}, username: ann}}]\n"),
    "yaml-block-scalar": ("block.yml", YAML_BLOCK_SCALAR, A, "block.yml:1", f"- uuid: {B}\n  full_name: Bob\n"),
    "yaml-single-record": ("one.yml", f"# Ann's award\nuuid: {A}\nusername: ann\nstatus: awarded\n", A,
                           "one.yml:2", None),
}
OTHER_FILE = CSV.replace(A, "1" * 32).replace(B, "2" * 32).replace(C, "3" * 32).encode()


@pytest.mark.parametrize("case", FORMAT_CASES.values(), ids=FORMAT_CASES.keys())
def test_purge_removes_only_the_record(tmp_path, case):
    name, original, uuid, place, expected = case
    site = records_folder(tmp_path, {name: original, "other.csv": OTHER_FILE})

    result = purge(site, uuid, today=TODAY)

    after = folder_bytes(site)
    assert after.pop("other.csv") == OTHER_FILE
    assert after.pop("purged.txt") == listed_once(uuid)
    assert after == ({} if expected is None else {name: expected.encode()})
    assert str(result.location) == f"credentials_data/{place}"
    assert result.file_removed == (expected is None)
    assert str(result.listed) == f"{PURGE_LIST}:5" and not result.resumed


def test_the_purge_list_grows_one_line_per_purge_in_its_own_line_endings(tmp_path):
    site = records_folder(tmp_path, {"awards.csv": CSV})
    purge(site, A, today=TODAY)
    purge(site, "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb", today=dt.date(2026, 11, 23))  # the platform's form
    assert (site / PURGE_LIST).read_bytes() == (PURGE_LIST_HEADER + f"{A} 2026-11-22\n{B} 2026-11-23\n").encode()
    assert (site / "credentials_data/awards.csv").read_text() == ("uuid,username,full_name,status,issued\n"
                                                                  f"{C},cyd,Cyd,awarded,2026-03-03\n")
    assert PURGE_LIST_HEADER.count("\n") == 4 and all(line.startswith("# ")
                                                      for line in PURGE_LIST_HEADER.splitlines())

    # A list kept by hand: CRLF, a BOM, no line ending on its last line.
    (site / PURGE_LIST).write_bytes(f"\ufeff# ours\r\n{A} 2026-11-22\r\n{B}".encode())
    result = purge(site, C, today=TODAY)
    assert (site / PURGE_LIST).read_bytes() == f"\ufeff# ours\r\n{A} 2026-11-22\r\n{B}\r\n{C} 2026-11-22\r\n".encode()
    assert str(result.listed) == f"{PURGE_LIST}:4"
    assert list(load_purge_list(site)) == [A, B, C]


def test_purge_list_keeps_the_file_mode(tmp_path):
    site = records_folder(tmp_path, {"awards.csv": CSV, "purged.txt": f"{D}\n"})
    (site / PURGE_LIST).chmod(0o640)
    (site / "credentials_data/awards.csv").chmod(0o600)
    purge(site, A, today=TODAY)
    assert (site / PURGE_LIST).stat().st_mode & 0o777 == 0o640
    assert (site / "credentials_data/awards.csv").stat().st_mode & 0o777 == 0o600


# -- the purge list as the build reads it ----------------------------------------------

def test_purge_list_reader():
    text = (f"\ufeff# comment\r\n\r\n{A}\r\n  {B}\t2026-11-22  \r\n  # {C} in a comment\n{D} 2026-01-31")
    listed = parse_purge_list(text, PURGE_LIST)
    assert listed.problems == []
    assert list(listed) == [A, B, D] and C not in listed and len(listed) == 3
    assert str(listed.location(B)) == f"{PURGE_LIST}:4"
    assert listed.entries[B].date == dt.date(2026, 11, 22) and listed.entries[A].date is None
    assert str(listed.location(D)) == f"{PURGE_LIST}:6"


def test_a_purge_list_line_may_name_the_site_that_published_it():
    listed = parse_purge_list(f"{A} 2026-11-22 site=northbridge\n{B}\n", PURGE_LIST)
    assert listed.problems == [] and listed.entries[A].site == "northbridge" and listed.entries[B].site is None
    assert listed.uuids_of_site("northbridge") == {A, B}
    assert listed.uuids_of_site("learnwell") == {B}  # a line without a site: every site erases it
    assert listed.uuids_of_site("") == {A, B}  # the project's only site erases them all
    assert parse_purge_list(f"{A} 2026-11-22 site=a/b\n", PURGE_LIST).problems  # a site name, nothing else


PURGE_LIST_PROBLEMS = {
    "a-name": ("Ann Lee\n", f"{PURGE_LIST}:1: expected a credential ID (32 lowercase hex digits), optionally "
                            "followed by the date of the purge (YYYY-MM-DD)"),
    "a-note-after-the-date": (f"{A} 2026-11-22 Ann asked\n", f"{PURGE_LIST}:1: expected a credential ID"),
    "hyphenated": (f"\n{API_A}\n", f"{PURGE_LIST}:2: expected a credential ID (32 lowercase hex digits), "
                                   "optionally followed by the date of the purge (YYYY-MM-DD) and site=<name>; "
                                   f"write {A}, "
                                   "without hyphens"),
    "uppercase": (f"{A.upper()} 2026-11-22\n", f"; write {A}, in lowercase"),
    "impossible-date": (f"{A} 2026-02-30\n", f"{PURGE_LIST}:1: the date of the purge is not a real date"),
    "listed-twice": (f"# x\n{A}\n{B}\n{A} 2026-11-22\n", f"{PURGE_LIST}:4: {A} is listed twice (first at line 2)"),
}


@pytest.mark.parametrize("case", PURGE_LIST_PROBLEMS.values(), ids=PURGE_LIST_PROBLEMS.keys())
def test_purge_list_problems_name_the_line_and_never_quote_it(case):
    text, message = case
    listed = parse_purge_list(text, PURGE_LIST)
    assert len(listed.problems) == 1
    shown = str(listed.problems[0])
    assert message in shown and "Ann" not in shown


def test_purge_list_file(tmp_path):
    site = records_folder(tmp_path, {"awards.csv": CSV})
    assert load_purge_list(site).entries == {} and load_purge_list(site).problems == []
    (site / PURGE_LIST).write_bytes(b"\xff\xfe")
    assert [str(p) for p in load_purge_list(site).problems] == [
        f"{PURGE_LIST}: not UTF-8 text (invalid start byte at byte 0)"]
    assert [p.name for p in record_files(site)] == ["awards.csv"]  # never read as records


# -- refusals: one line, nothing changed, no personal data -----------------------------

DUPLICATE = f'{{"uuid": "{A}", "username": "ann", "status": "awarded"}}\n'
YAML_ANCHOR_USED = f"""- &cs101
  uuid: {A}
  username: ann
- <<: *cs101
  uuid: {B}
  username: bob
"""

REFUSALS = {
    "malformed-uuid": ({"a.csv": CSV}, "A" * 32, "UUID: not a credential ID (32 lowercase hex digits"),
    "a-name-instead-of-an-id": ({"a.csv": CSV}, "Ann Lee", "UUID: not a credential ID"),  # not repeated in logs
    "unknown-uuid": ({"a.csv": CSV}, D, f"no record in credentials_data/ has the credential ID {D}; "
                                        "nothing changed"),
    "unknown-with-an-unreadable-file": ({"a.csv": CSV, "b.json": "[{"}, D,
                                        "(and credentials_data/b.json:1: invalid JSON"),
    "already-purged": ({"a.csv": CSV, "purged.txt": f"# list\n{D} 2026-11-01\n"}, D,
                       f"{D} is already purged (credentials_data/purged.txt:2) and no record has it; nothing to do"),
    "in-two-files": ({"a.csv": CSV, "b.jsonl": DUPLICATE}, A,
                     f"{A} is in 2 records (credentials_data/a.csv:2, credentials_data/b.jsonl:1): "
                     "remove the duplicate first"),
    "file-with-a-bad-row": ({"a.csv": CSV + "x,y\n"}, A,
                            "credentials_data/a.csv:5: has 2 columns, the header has 5 (fix this first"),
    "anchor-used-by-another-record": ({"h.yml": YAML_ANCHOR_USED}, A,
                                      "credentials_data/h.yml:1: another record takes fields from this one "
                                      "(its anchor &cs101 is used at line 4); nothing changed: edit the file by hand"),
    "purge-list-with-a-problem": ({"a.csv": CSV, "purged.txt": f"{D}\nAnn Lee, asked on 2026-11-01\n"}, A,
                                  f"{PURGE_LIST}:2: expected a credential ID"),
}


@pytest.mark.parametrize("case", REFUSALS.values(), ids=REFUSALS.keys())
def test_refusals_change_nothing(tmp_path, case):
    files, uuid, message = case
    site = records_folder(tmp_path, files)
    before = folder_bytes(site)
    with pytest.raises(PurgeRefused) as refused:
        purge(site, uuid, today=TODAY)
    text = str(refused.value)
    assert "\n" not in text and message in text
    assert not any(name in text for name in NAMES)
    assert folder_bytes(site) == before


def test_refuses_a_symbolic_link(tmp_path):
    site = records_folder(tmp_path, {})
    (tmp_path / "real.csv").write_text(CSV)
    (site / "credentials_data/a.csv").symlink_to(tmp_path / "real.csv")
    with pytest.raises(PurgeRefused, match="a.csv:2: the file is a symbolic link"):
        purge(site, A)
    assert (tmp_path / "real.csv").read_text() == CSV and not (site / PURGE_LIST).exists()


def test_a_failed_write_changes_nothing(tmp_path):
    """A full disk (a file size limit): one line, the files as they were, no temporary left."""
    original = big_csv(100)
    site = records_folder(tmp_path, {"big.csv": original})
    script = ("import resource, sys; from pathlib import Path; from sitegen.lifecycle.purge import purge, "
              "PurgeRefused\nresource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.RLIM_INFINITY))\n"
              "try:\n    purge(Path(sys.argv[1]), sys.argv[2])\nexcept PurgeRefused as err:\n"
              "    sys.exit(str(err))\n")
    done = subprocess.run([sys.executable, "-c", script, str(site), f"{50:032x}"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr == ("credentials_data/big.csv:51: cannot write beside the file (File too large); "
                           "nothing changed\n")
    assert folder_bytes(site) == {"big.csv": original}


WRONG_EDITS = {
    "removes-nothing": (lambda text: text, "the edited file would hold 3 records, not 2"),
    "changes-another-record": (lambda text: text.replace(f'{B},bob,"Bob, Jr.",awarded,2026-03-02\n', "")
                               .replace("Ann Lee", "Ann Lea"),
                               "the record at credentials_data/a.csv:2 would change too"),
    "breaks-the-file": (lambda text: text + "x,y\n", "the edited file would read as: credentials_data/a.csv:5: "
                                                       "has 2 columns"),
}


@pytest.mark.parametrize("case", WRONG_EDITS.values(), ids=WRONG_EDITS.keys())
def test_an_edit_that_reads_back_wrong_changes_nothing(tmp_path, monkeypatch, case):
    """The new file is read back with the build's reader before anything is replaced."""
    wrong, message = case
    monkeypatch.setattr("sitegen.lifecycle.purge.delete_record", lambda suffix, text, index, line: wrong(text))
    site = records_folder(tmp_path, {"a.csv": CSV})
    with pytest.raises(PurgeRefused) as refused:
        purge(site, B)
    assert str(refused.value).startswith(f"credentials_data/a.csv:3: cannot remove the record safely ({message}")
    assert str(refused.value).endswith("nothing changed: edit the file by hand")
    assert folder_bytes(site) == {"a.csv": CSV.encode()}


# -- the command -----------------------------------------------------------------------

def test_command_prints_one_line_without_personal_data(tmp_path, capsys):
    site = records_folder(tmp_path, {"awards.csv": CSV})
    assert run_purge(site, B) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out.count("\n") == 1
    assert captured.out.startswith(f"credentials_data/awards.csv:3: purged {B}: its record is removed and its ID "
                                   f"added to {PURGE_LIST}:5;")
    assert captured.out.rstrip().endswith("run sitegen build && sitegen publish to remove every copy (pages, PDF, "
                                          "signatures, JSON, old object versions in the bucket)")
    assert not any(name in captured.out for name in NAMES)


def test_command_warns_where_the_learner_is_still_written(tmp_path, capsys):
    """Another credential of the same learner, and a note: named by place, never by text."""
    site = records_folder(tmp_path, {"awards.csv": CSV, "more.jsonl": DUPLICATE.replace(A, D),
                                     "notes.md": "# Notes\n\nAnn Lee asked for a copy.\nannie is someone "
                                                 "else\nann, again\n"})
    assert run_purge(site, A) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("sitegen: warning: the learner's username or name is still written at "
                          "credentials_data/more.jsonl:1, credentials_data/notes.md:3, credentials_data/notes.md:5: "
                          "other credentials of theirs")
    assert not any(name in err for name in NAMES)


def test_cli(tmp_path, sitegen):
    site = records_folder(tmp_path, {"a.csv": CSV})
    result = sitegen("purge", D, "--site", site)
    assert result.code == 1 and result.err.count("\n") == 1 and "no record" in result.err
    result = sitegen("purge", A, "--site", site)
    assert result.code == 0 and result.out.startswith(f"credentials_data/a.csv:2: purged {A}:")
    result = sitegen("purge", A, "--site", site)
    assert result.code == 1 and "already purged" in result.err


# -- a crash between the two writes: purge again finishes the job ----------------------

def test_purge_again_finishes_an_interrupted_purge(tmp_path):
    """The state a crash between the two renames leaves: the record, and its ID listed."""
    listed = f"# ours\n{B} 2026-11-01\n"
    site = records_folder(tmp_path, {"awards.csv": CSV, "purged.txt": listed})
    result = purge(site, B, today=TODAY)
    assert result.resumed and str(result.listed) == f"{PURGE_LIST}:2"
    assert folder_bytes(site) == {"awards.csv": FORMAT_CASES["csv-middle-row"][4].encode(),
                                  "purged.txt": listed.encode()}


DIE_AFTER_FIRST_RENAME = """
import os, sys
from pathlib import Path
from sitegen.lifecycle.purge import purge
real = os.replace
def replace_then_die(source, target):
    real(source, target)
    os._exit(9)
os.replace = replace_then_die
purge(Path(sys.argv[1]), sys.argv[2])
"""


def test_a_crash_between_the_two_writes(tmp_path):
    site = records_folder(tmp_path, {"awards.csv": CSV})
    done = subprocess.run([sys.executable, "-c", DIE_AFTER_FIRST_RENAME, str(site), B], cwd=tmp_path, timeout=60)
    assert done.returncode == 9
    left = folder_bytes(site)
    assert left.pop("awards.csv") == CSV.encode()  # the record is still there...
    assert left.pop("purged.txt").startswith(PURGE_LIST_HEADER.encode())
    assert load_purge_list(site).uuids == {B}  # ...and listed: the build refuses it until purge runs again
    # The new records file, written before the purge list: it never holds the purged record.
    [(name, data)] = left.items()
    assert re.fullmatch(r"\.awards\.purge-[0-9]+\.csv", name) and data == FORMAT_CASES["csv-middle-row"][4].encode()
    assert [p.name for p in record_files(site)] == ["awards.csv"]

    result = purge(site, B)
    assert result.resumed
    assert folder_bytes(site) == {"awards.csv": FORMAT_CASES["csv-middle-row"][4].encode(),
                                  "purged.txt": (site / PURGE_LIST).read_bytes()}  # the temporary is gone
    assert load_purge_list(site).uuids == {B}


# -- kill -9 at any moment: whole files, and never a record gone but not listed --------

PURGE_IN_CHILD = ("import sys; from pathlib import Path; from sitegen.lifecycle.purge import purge; "
                  "purge(Path(sys.argv[1]), sys.argv[2])")
CSV_HEADER = "uuid,username,full_name,credential_type,course_id,certificate_type,status,issued,revocation_reason\n"


def big_csv(rows: int) -> bytes:
    return (CSV_HEADER + "".join(f"{i:032x},user{i},Learner {i},course-certificate,course-v1:AcmeX+CS101+2026,"
                                 f"verified,awarded,2026-03-01,\n" for i in range(1, rows + 1))).encode()


def without_row(data: bytes, number: int) -> bytes:
    row = (f"{number:032x},user{number},Learner {number},course-certificate,course-v1:AcmeX+CS101+2026,"
           "verified,awarded,2026-03-01,\n").encode()
    assert data.count(row) == 1
    return data.replace(row, b"")


def start_purge(site: Path, uuid: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", PURGE_IN_CHILD, str(site), uuid], cwd=site.parent)


@pytest.mark.slow
def test_kill_9_during_purge_leaves_whole_files_and_the_id_listed_first(tmp_path):
    original = big_csv(10_000)
    target = f"{9_000:032x}"
    purged = without_row(original, 9_000)
    site = records_folder(tmp_path, {"big.csv": original})
    path, purge_list = site / "credentials_data/big.csv", site / PURGE_LIST

    began = time.monotonic()
    assert start_purge(site, target).wait(timeout=120) == 0
    duration = time.monotonic() - began
    listed = purge_list.read_bytes()
    assert path.read_bytes() == purged and load_purge_list(site).uuids == {target}

    rng = random.Random(20261122)
    outcomes = set()
    for attempt in range(20):
        path.write_bytes(original)
        purge_list.unlink(missing_ok=True)
        written = path.stat()
        child = start_purge(site, target)
        if attempt % 4 == 0:
            time.sleep(rng.uniform(0, 1.2 * duration))  # anywhere in the run, or just after it
        elif attempt % 4 == 1:  # as the new records file is written beside the old one
            _wait_for(lambda: any(p.name.startswith(".") for p in path.parent.iterdir()), child)
            time.sleep(rng.choice([0, rng.uniform(0, 0.01)]))
        elif attempt % 4 == 2:  # as soon as the purge list is there: between the two renames
            _wait_for(purge_list.exists, child)
        else:  # as soon as the records file changes
            _wait_for(lambda: _changed(path, written), child)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
        records = path.read_bytes()
        in_list = purge_list.read_bytes() if purge_list.exists() else None
        assert records in (original, purged), f"attempt {attempt}: half a records file ({len(records)} bytes)"
        assert in_list in (None, listed), f"attempt {attempt}: half a purge list"
        assert not (records == purged and in_list is None), f"attempt {attempt}: the record gone, its ID not listed"
        outcomes.add((records == purged, in_list is not None))
        if in_list is not None:  # purge again: finishes (or finds it finished)
            try:
                purge(site, target)
            except PurgeRefused as err:
                assert "already purged" in str(err) and records == purged
            assert path.read_bytes() == purged

    # What the kills left behind goes with the next purge.
    path.write_bytes(original)
    purge_list.unlink(missing_ok=True)
    assert start_purge(site, target).wait(timeout=120) == 0
    assert path.read_bytes() == purged and purge_list.read_bytes() == listed
    assert sorted(p.name for p in path.parent.iterdir()) == ["big.csv", "purged.txt"]
    assert (False, False) in outcomes  # some kills did land before anything was written


@pytest.mark.slow
def test_purge_and_revoke_at_once_both_land(tmp_path):
    original = big_csv(20_000)
    site = records_folder(tmp_path, {"big.csv": original})
    revoking = subprocess.Popen([sys.executable, "-c", "import sys; from pathlib import Path; from "
                                 "sitegen.lifecycle.revoke import revoke; revoke(Path(sys.argv[1]), sys.argv[2], "
                                 "'Issued in error')", str(site), f"{5_000:032x}"], cwd=tmp_path)
    purging = start_purge(site, f"{15_000:032x}")
    assert [revoking.wait(timeout=120), purging.wait(timeout=120)] == [0, 0]
    revoked_row = f"{5_000:032x},user5000,Learner 5000,course-certificate,course-v1:AcmeX+CS101+2026,verified,"
    expected = without_row(original, 15_000).replace((revoked_row + "awarded,2026-03-01,\n").encode(),
                                                     (revoked_row + "revoked,2026-03-01,Issued in error\n").encode())
    assert (site / "credentials_data/big.csv").read_bytes() == expected
    assert load_purge_list(site).uuids == {f"{15_000:032x}"}


def test_revoke_then_purge(tmp_path):
    """A revoked credential is purged like any other: the record goes whatever its status."""
    with_reasons = CSV.replace(",issued\n", ",issued,revocation_reason\n").replace(
        "03-01\n", "03-01,\n").replace("03-02\n", "03-02,\n").replace("03-03\n", "03-03,\n")
    site = records_folder(tmp_path, {"a.csv": with_reasons})
    revoke(site, A, "Issued in error")
    purge(site, A, today=TODAY)
    assert (site / "credentials_data/a.csv").read_text() == ("uuid,username,full_name,status,issued,revocation_reason\n"
                                                             f"{B},bob,\"Bob, Jr.\",awarded,2026-03-02,\n"
                                                             f"{C},cyd,Cyd,awarded,2026-03-03,\n")


def _changed(path: Path, before: os.stat_result) -> bool:
    now = path.stat()
    return (now.st_size, now.st_mtime_ns, now.st_ino) != (before.st_size, before.st_mtime_ns, before.st_ino)


def _wait_for(condition, child: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while child.poll() is None and time.monotonic() < deadline and not condition():
        pass
