"""Every problem in a record file names the line an editor shows, however the file is laid out.

Exports are read as they stream (CSV, JSON Lines) or one list item at a time (JSON), lines
counted as the reading moves on. These cases pin the line each problem names wherever that
count could slip: the first, a middle and the last item, items sharing a line, items and
cells over several lines, strings holding line separators, CRLF and CR line ends, a byte
order mark, a 3,000-item export, and a byte that is not UTF-8 deep into a large file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from sitegen.load.config import load_site
from sitegen.load.record_cache import load_credentials

COURSE = "course-v1:AcmeX+CS101+2026"
GONE = "status: unknown value 'gone' (one of: awarded, revoked)"


def record(n: int, **changes) -> dict:
    """A good record of the sample site, changed by `changes`."""
    return {"uuid": f"{0xabc00000 + n:032x}", "username": f"learner{n}", "full_name": "Ana Lúcia Ferreira",
            "credential_type": "course-certificate", "course_id": COURSE, "certificate_type": "verified",
            "status": "awarded", "issued": "2026-03-14", **changes}


def api_item(n: int, **changes) -> dict:
    """A good item of a Credentials API export (`GET /api/v2/credentials/`)."""
    hex_id = f"{0xabc00000 + n:032x}"
    return {"username": f"learner{n}", "full_name": "山田 健二",
            "credential": {"type": "course-run", "course_run_key": COURSE, "mode": "verified"},
            "status": "awarded", "download_url": None,
            "uuid": f"{hex_id[:8]}-{hex_id[8:12]}-{hex_id[12:16]}-{hex_id[16:20]}-{hex_id[20:]}",
            "attributes": [{"name": "course.grade", "value": "0.88"}],
            "created": "2026-07-01T10:20:30Z", "modified": "2026-07-01T10:20:30Z", "date_override": None,
            "certificate_url": None, **changes}


def one_line(fields: dict) -> str:
    return json.dumps(fields, ensure_ascii=False)


def spread(fields: dict) -> str:
    """An item over several lines, as the API and most tools print JSON."""
    return json.dumps(fields, ensure_ascii=False, indent=2)


@dataclass
class RecordFile:
    """A record file written piece by piece; each piece says which problems it holds, and so
    the line each problem must name is the line the piece starts on."""

    name: str
    line_end: str = "\n"
    text: str = ""
    expected: list[str] = field(default_factory=list)

    def add(self, piece: str, *problems: str) -> RecordFile:
        line = self.text.count("\n") + 1  # pieces are joined with "\n", turned into line_end at the end
        self.expected += [f"credentials_data/{self.name}:{line}: {problem}" for problem in problems]
        self.text += piece
        return self

    def data(self) -> bytes:
        return self.text.replace("\n", self.line_end).encode("utf-8")


def json_list(name="list.json", line_end="\n") -> RecordFile:
    return RecordFile(name, line_end)


def csv_file(name="extra.csv", line_end="\n") -> RecordFile:
    return RecordFile(name, line_end).add(",".join(record(0)) + "\n")


def csv_row(fields: dict) -> str:
    cells = []
    for value in fields.values():
        cells.append(f'"{value}"' if "\n" in value or "," in value else value)
    return ",".join(cells) + "\n"


CASES = {
    "JSON list: the first item": json_list()
        .add("[\n").add(f"  {one_line(record(1, status='gone'))},\n", GONE)
        .add(f"  {one_line(record(2))},\n").add(f"  {one_line(record(3))}\n]\n"),
    "JSON list: a middle item, items over several lines": json_list()
        .add("[\n").add(spread(record(1)) + ",\n").add(spread(record(2, status="gone")) + ",\n", GONE)
        .add(spread(record(3)) + "\n]\n"),
    "JSON list: the last item, the list closed on its line": json_list()
        .add("[\n").add(spread(record(1)) + ",\n").add(spread(record(2)) + ",\n")
        .add(spread(record(3, status="gone")) + "]\n", GONE),
    "JSON list: items sharing lines": json_list()
        .add(f"[{one_line(record(1))}, ").add(one_line(record(2, status="gone")) + ", ", GONE)
        .add(one_line(record(3, status="gone")) + ",\n", GONE)
        .add(" " + one_line(record(4)) + ", ").add(one_line(record(5, status="gone")) + "]", GONE),
    "JSON list: strings holding escaped and raw line separators": json_list()
        .add("[\n")
        .add(spread(record(1, full_name="Ana\u2028Lee")) + ",\n",
             "full_name: contains a line break (U+2028): it must be one line")
        .add(spread(record(2, username="ana\nlee")) + ",\n",
             "username: contains a line break (U+000A): it must be one line")
        .add(spread(record(3, status="gone")) + "\n]\n", GONE),
    "JSON list: CRLF line ends": json_list(line_end="\r\n")
        .add("[\n").add(spread(record(1)) + ",\n").add(spread(record(2, status="gone")) + ",\n", GONE)
        .add(spread(record(3)) + "\n]\n"),
    "JSON list: a byte order mark, CRLF": json_list(line_end="\r\n")
        .add("\ufeff[\n").add(spread(record(1, status="gone")) + ",\n", GONE)
        .add(spread(record(2)) + "\n]\n"),
    "Credentials API export: items over several lines": json_list("api-export.json")
        .add("[\n").add(spread(api_item(1)) + ",\n").add(spread(api_item(2, status="gone")) + ",\n", GONE)
        .add(spread(api_item(3, status="gone")) + "\n]\n", GONE),
    "CSV: the first row": csv_file()
        .add(csv_row(record(1, status="gone")), GONE).add(csv_row(record(2))),
    "CSV: a cell over two lines, then blank lines, then the last row": csv_file()
        .add(csv_row(record(1, full_name="Ana\nLee")), "full_name: contains a line break (U+000A): it must be one line")
        .add(csv_row(record(2))).add("\n,,,,,,,\n\n")
        .add(csv_row(record(3, status="gone")).rstrip("\n"), GONE),
    "CSV: CRLF line ends and a cell over two lines": csv_file(line_end="\r\n")
        .add(csv_row(record(1, full_name="Ana\nLee")), "full_name: contains a line break (U+000D): it must be one line")
        .add(csv_row(record(2, status="gone")), GONE),
    "CSV: CR line ends (a classic Mac spreadsheet)": csv_file(line_end="\r")
        .add(csv_row(record(1))).add(csv_row(record(2))).add(csv_row(record(3, status="gone")), GONE),
    "JSON Lines: CRLF, blank lines, a raw line separator in a string": RecordFile("extra.jsonl", "\r\n")
        .add(one_line(record(1, full_name="Ana\u2028Lee")) + "\n",
             "full_name: contains a line break (U+2028): it must be one line")
        .add("\n  \n").add(one_line(record(2, status="gone")) + "\n", GONE).add(one_line(record(3)) + "\n"),
}


def _problems(site_folder) -> list[str]:
    loaded = load_credentials(load_site(site_folder), None)
    return [str(problem) for problem in loaded.problems]


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_each_problem_names_the_line_its_record_starts_on(sample_site, case):
    (sample_site / "credentials_data" / case.name).write_bytes(case.data())
    assert _problems(sample_site) == case.expected


def test_an_item_of_a_paginated_export_is_named_by_its_number(sample_site):
    export = {"count": 3, "next": None, "previous": None,
              "results": [api_item(1), api_item(2), api_item(3, status="gone")]}
    (sample_site / "credentials_data" / "page.json").write_text(spread(export), encoding="utf-8")
    assert _problems(sample_site) == [f"credentials_data/page.json (results item 3): {GONE}"]


def test_a_large_export_names_the_line_of_a_problem_near_its_end(sample_site):
    export = json_list("api-export.json").add("[\n")
    for n in range(1, 3001):
        item = spread(api_item(n, status="gone" if n in (2990, 3000) else "awarded"))
        item += ",\n" if n < 3000 else "\n]\n"
        if n in (2990, 3000):
            export.add(item, GONE)
        else:
            export.add(item)
    (sample_site / "credentials_data" / export.name).write_bytes(export.data())

    loaded = load_credentials(load_site(sample_site), None)

    assert [str(problem) for problem in loaded.problems] == export.expected
    assert len([c for c in loaded.credentials if c.source.file.endswith("api-export.json")]) == 2998


@pytest.mark.parametrize("shift", [0, 1, 2])
def test_a_byte_that_is_not_utf8_is_named_by_its_offset_in_the_file(sample_site, shift):
    """Deep into a large file (read block by block), past characters of three bytes, whichever
    of their bytes a block ends on: the offset is the byte's own, counted from the file's start
    (its byte order mark too), as a hex editor shows it."""
    rows = [csv_row(record(1, username="learner" + "x" * shift))]  # moves every later byte by `shift`
    rows += [csv_row(record(n, full_name="山田健二" * 20)) for n in range(2, 4500)]
    good = ("\ufeff" + ",".join(record(0)) + "\n" + "".join(rows)).encode("utf-8")
    assert 1024 * 1024 < len(good) < 2 * 1024 * 1024
    # "Renée" in Latin-1, as some spreadsheets still save it
    (sample_site / "credentials_data" / "latin1.csv").write_bytes(good + b"Ren\xe9e\n")

    assert _problems(sample_site) == [
        f"credentials_data/latin1.csv: not UTF-8 text (invalid continuation byte at byte {len(good) + 3})"]
