"""Reading credential records from every file under credentials_data/.

Each reader yields `RawRecord`s: the fields as written plus where they came from.
Checking the fields is validate.py's job; this module only knows file formats.
Bulk formats (CSV, JSONL) stream; YAML is for small hand-edited files.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from sitegen.errors import Problem
from sitegen.model import SourceLocation
from sitegen.load.yamlsource import YamlSyntaxError, load_yaml

RECORDS_DIR = "credentials_data"
RECORD_SUFFIXES = (".csv", ".jsonl", ".json", ".yml", ".yaml")
ATTRIBUTE_COLUMN_PREFIX = "attributes."


@dataclass(frozen=True)
class RawRecord:
    fields: dict
    source: SourceLocation


@dataclass
class FileRecords:
    """The records of one file, or the problem that stopped it from being read."""

    path: str  # relative to the project folder
    records: list[RawRecord]
    problems: list[Problem]


def record_files(root: Path) -> list[Path]:
    folder = root / RECORDS_DIR
    if not folder.is_dir():
        return []
    files = [p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in RECORD_SUFFIXES]
    # Hidden files (editor swap files, .gitkeep) are never records.
    files = [p for p in files if not any(part.startswith(".") for part in p.relative_to(folder).parts)]
    return sorted(files)


def read_record_file(path: Path, display: str) -> FileRecords:
    """Parse one file; a file that cannot be parsed gives one problem, not a crash."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        return FileRecords(display, [], [Problem(display, None, None, f"not UTF-8 text ({err.reason} at byte {err.start})")])
    reader = _READERS[path.suffix.lower()]
    records: list[RawRecord] = []
    problems: list[Problem] = []
    try:
        for item in reader(text, display):
            (problems if isinstance(item, Problem) else records).append(item)
    except _FileError as err:
        problems.append(Problem(display, err.line, None, err.message))
    return FileRecords(display, records, problems)


class _FileError(Exception):
    def __init__(self, line: int | None, message: str):
        self.line, self.message = line, message


def _read_csv(text: str, display: str) -> Iterator[RawRecord | Problem]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as err:
        raise _FileError(1, f"invalid CSV: {err}") from None
    header = [h.strip() for h in header]
    _check_header(header, display)
    line = reader.line_num
    while True:
        start = line + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            raise _FileError(reader.line_num, f"invalid CSV: {err}") from None
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue  # blank lines between blocks of awards are common in hand-kept sheets
        if len(row) != len(header):
            yield Problem(display, start, None, f"has {len(row)} columns, the header has {len(header)}")
            continue
        yield RawRecord(_csv_fields(header, row), SourceLocation(display, start))


def _check_header(header: list[str], display: str) -> None:
    seen = set()
    for name in header:
        if not name:
            raise _FileError(1, "header has an empty column name")
        if name in seen:
            raise _FileError(1, f"header names column {name!r} twice")
        seen.add(name)


def _csv_fields(header: list[str], row: list[str]) -> dict:
    """CSV cells as fields; empty cells are absent; attributes.<ns>.<name> columns become attributes."""
    fields: dict = {}
    attributes = []
    for name, cell in zip(header, row):
        value = cell.strip()
        if not value:
            continue
        if name.startswith(ATTRIBUTE_COLUMN_PREFIX) and name.count(".") >= 2:
            namespace, _, attr_name = name[len(ATTRIBUTE_COLUMN_PREFIX):].partition(".")
            attributes.append({"namespace": namespace, "name": attr_name, "value": value})
        else:
            fields[name] = value
    if attributes:
        fields["attributes"] = attributes
    return fields


def _read_jsonl(text: str, display: str) -> Iterator[RawRecord | Problem]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as err:
            yield Problem(display, number, None, f"invalid JSON: {err.msg} (column {err.colno})")
            continue
        if not isinstance(value, dict):
            yield Problem(display, number, None, "each line must be one JSON object")
            continue
        yield RawRecord(value, SourceLocation(display, number))


def _read_json(text: str, display: str) -> Iterator[RawRecord | Problem]:
    """A list of records, one record, or a paginated API response {"results": [...]}.

    Elements of a top-level list are decoded one by one so each keeps its line number.
    """
    decoder = json.JSONDecoder()
    start = _skip_space(text, 0)
    if start < len(text) and text[start] == "[":
        yield from _json_list_items(text, start, decoder, display)
        return
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise _FileError(err.lineno, f"invalid JSON: {err.msg} (column {err.colno})") from None
    if isinstance(value, dict) and isinstance(value.get("results"), list):
        for index, item in enumerate(value["results"], start=1):
            if not isinstance(item, dict):
                yield Problem(display, None, None, f"results item {index} must be a JSON object")
            else:
                # json.loads keeps no positions; a paginated export is named by item number.
                yield RawRecord(item, SourceLocation(f"{display} (results item {index})", None))
    elif isinstance(value, dict):
        yield RawRecord(value, SourceLocation(display, _line_at(text, start)))
    else:
        raise _FileError(1, "must be a JSON object or a list of objects")


def _json_list_items(text: str, start: int, decoder: json.JSONDecoder, display: str):
    position = _skip_space(text, start + 1)
    if position < len(text) and text[position] == "]":
        return
    while True:
        line = _line_at(text, position)
        try:
            value, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as err:
            raise _FileError(err.lineno, f"invalid JSON: {err.msg} (column {err.colno})") from None
        if isinstance(value, dict):
            yield RawRecord(value, SourceLocation(display, line))
        else:
            yield Problem(display, line, None, "each list item must be a JSON object")
        position = _skip_space(text, position)
        if position < len(text) and text[position] == ",":
            position = _skip_space(text, position + 1)
            continue
        if position < len(text) and text[position] == "]":
            if text[_skip_space(text, position + 1):].strip():
                raise _FileError(_line_at(text, position), "unexpected text after the list")
            return
        raise _FileError(_line_at(text, position), "invalid JSON: expected ',' or ']'")


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def _line_at(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def _read_yaml(text: str, display: str) -> Iterator[RawRecord | Problem]:
    try:
        value = load_yaml(text)
    except YamlSyntaxError as err:
        raise _FileError(err.line, err.message) from None
    if value is None:
        return
    items = value if isinstance(value, list) else [value]
    for item in items:
        line = getattr(item, "line", None) or getattr(value, "line", None)
        if not isinstance(item, dict):
            yield Problem(display, line, None, "each record must be a mapping of field: value")
            continue
        yield RawRecord(item, SourceLocation(display, line))


_READERS = {
    ".csv": _read_csv,
    ".jsonl": _read_jsonl,
    ".json": _read_json,
    ".yml": _read_yaml,
    ".yaml": _read_yaml,
}
