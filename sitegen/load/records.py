"""Reading credential records from every file under credentials_data/.

Each reader yields `RawRecord`s: the fields as written plus where they came from.
Checking the fields is validate.py's job; this module only knows file formats, and
refuses what no format should carry: a key written twice in one object or mapping,
and nesting deeper than `MAX_DEPTH` (records need 5 levels at most; deeper input
would end in a RecursionError, or crash libyaml). Lines are counted at "\\n" only (and
"\\r" in CSV and YAML, as editors do), never at U+2028 and the like, so every line
number an error names is the one an editor shows.

Bulk formats (CSV, JSONL) are read from the file as they are parsed, one line at a time,
and `read_records` hands each record on as soon as it is read, so a 600,000-row export
is never in memory whole, as text or as records. A JSON file is parsed from its text
(json cannot stream), one list item at a time, counting lines as the position moves on.
YAML is for small hand-edited files.

A CSV or JSON Lines file that grew by an append need not be read again whole: a whole read
notes where it ended (`ReadEnd`: the lines read and a CSV file's header), and
`read_appended` reads only the bytes added after that end, giving their records the line
numbers and columns a whole read gives them, or declines when it cannot be sure it would.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from sitegen.errors import Problem
from sitegen.legacy.detect import is_legacy_export
from sitegen.load.yamlsource import MAX_DEPTH, YamlSyntaxError, load_yaml
from sitegen.memory import collector_paused
from sitegen.model import SourceLocation

RECORDS_DIR = "credentials_data"
RECORD_SUFFIXES = (".csv", ".jsonl", ".json", ".yml", ".yaml")
ATTRIBUTE_COLUMN_PREFIX = "attributes."
JSON_SPACE = " \t\r\n"  # all JSON counts as white space (U+2028 and U+00A0 are not)


class RawRecord(NamedTuple):  # a tuple, as Credential is: quicker to build, once per record
    fields: dict
    source: SourceLocation


@dataclass
class FileRecords:
    """The records of one file, or the problem that stopped it from being read."""

    path: str  # relative to the project folder
    records: list[RawRecord]
    problems: list[Problem]


@dataclass
class ReadEnd:
    """Where a reader stopped, filled in only by a CSV or JSON Lines reader that read its text
    through to the end of a record: the lines before that end, as line numbers count them,
    and a CSV file's column names. With it, `read_appended` reads what is added later alone."""

    lines: int | None = None
    header: list[str] | None = None  # CSV only


def record_files(root: Path) -> list[Path]:
    folder = root / RECORDS_DIR
    if not folder.is_dir():
        return []
    files = [p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in RECORD_SUFFIXES]
    # Hidden files (editor swap files, .gitkeep) are never records.
    files = [p for p in files if not any(part.startswith(".") for part in p.relative_to(folder).parts)]
    # A legacy edX export (recognised by its columns) is read by sitegen/legacy/, not as records.
    files = [p for p in files if not is_legacy_export(p)]
    return sorted(files)


def read_records(path: Path, display: str, end: ReadEnd | None = None) -> Iterator[RawRecord | Problem]:
    """The records of one file, and the problems of its reading, in file order, as they are
    read; a file that cannot be parsed gives a problem, not a crash. A byte that is not
    UTF-8 ends the file with that problem (the records before it may have been handed on).
    `end` is filled in if the file can be read on from where this reading ended."""
    if not display.isprintable():  # a line break in it, or bytes that are not UTF-8 (surrogate escapes)
        shown = ascii(display)
        yield Problem(shown, None, None, "the file name is not printable text (a line break, a control "
                      "character or bytes that are not UTF-8): rename the file")
        return
    try:
        yield from _file_errors_as_problems(_READERS[path.suffix.lower()](path, display, end or ReadEnd()), display)
    except UnicodeDecodeError:  # met part-way through a streamed file: find the byte in the file itself
        yield _not_utf8(path, display)


def read_appended(path: Path, display: str, data: bytes, length: int, before: ReadEnd,
                  end: ReadEnd) -> Iterator[RawRecord | Problem] | None:
    """The records of the bytes of `data` (the file at `path`) past its first `length`, whose
    whole read ended at `before`, read as a whole read of `data` would read them; `end` is
    filled in as `read_records` fills it. None when that is not certain: a format that cannot
    be read from the middle, `length` not at the end of a line, bytes that are not UTF-8."""
    suffix = path.suffix.lower()
    if suffix not in _APPENDABLE or before.lines is None or not 0 < length < len(data):
        return None
    if not _ends_a_line(suffix, data, length):
        return None
    try:
        text = data[length:].decode("utf-8")  # not utf-8-sig: a byte order mark here is a character
    except UnicodeDecodeError:  # where it is, and which records come before it, is a whole read's to say
        return None
    if suffix == ".jsonl":
        if before.header is not None:
            return None
        records = _jsonl_records(io.StringIO(text, newline="\n"), display, end, before.lines)
    else:
        if before.header is None:
            return None
        try:
            _columns(before.header)
        except _FileError:
            return None  # never so in a header that was read: not what a whole read noted
        records = _csv_records(io.StringIO(text, newline=""), display, end, before.header, before.lines)
    return _file_errors_as_problems(records, display)


def _ends_a_line(suffix: str, data: bytes, length: int) -> bool:
    """Whether the first `length` bytes of `data` end where a whole read ends a line: JSON Lines
    at "\\n"; CSV also at "\\r", unless "\\n" follows it ("\\r\\n" is one line end)."""
    last = data[length - 1:length]
    if suffix == ".jsonl":
        return last == b"\n"
    return last == b"\n" or (last == b"\r" and data[length:length + 1] != b"\n")


def _file_errors_as_problems(records: Iterator[RawRecord | Problem], display: str) -> Iterator[RawRecord | Problem]:
    try:
        yield from records
    except _FileError as err:
        yield Problem(display, err.line, err.field, err.message)


def read_record_file(path: Path, display: str) -> FileRecords:
    """Every record of one file at once (for a file that is edited in place); a file that
    is not UTF-8 gives only that problem."""
    records: list[RawRecord] = []
    problems: list[Problem] = []
    for item in read_records(path, display):
        (problems if isinstance(item, Problem) else records).append(item)
    shown = display if display.isprintable() else ascii(display)
    if problems and isinstance(problems[-1], _NotUtf8):
        return FileRecords(shown, [], [problems[-1]])
    return FileRecords(shown, records, problems)


class _NotUtf8(Problem):
    """The file is not UTF-8 text: whatever was read before the bad byte is not the file's content."""


_BLOCK = 1 << 20


def _not_utf8(path: Path, display: str) -> Problem:
    """Where the file stops being UTF-8, as a byte offset in the file, read block by block."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with open(path, "rb") as handle:
        while True:
            block = handle.read(_BLOCK)
            held = len(decoder.getstate()[0])  # the start of a character the last block ended in
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as err:
                where = offset - held + err.start
                return _NotUtf8(display, None, None, f"not UTF-8 text ({err.reason} at byte {where})")
            if not block:  # it was not UTF-8 a moment ago: rewritten while it was read
                return _NotUtf8(display, None, None, "not UTF-8 text")
            offset += len(block)


def _open_text(path: Path, newline: str):
    """The file as text, decoded as it is read; a byte order mark at its start is skipped."""
    return open(path, encoding="utf-8-sig", newline=newline)


def _read_text(path: Path) -> str:
    return path.read_bytes().decode("utf-8-sig")


def shown_key(key) -> str:
    """A field name or key as an error line can show it: itself when it is plain
    printable text, else its repr (no line breaks, no lone surrogates, never long)."""
    if isinstance(key, str) and key.isprintable() and 0 < len(key) <= 60:
        return key
    return repr(key)[:60]


class _FileError(Exception):
    def __init__(self, line: int | None, message: str, field: str | None = None):
        self.line, self.message, self.field = line, message, field


# -- CSV -------------------------------------------------------------------------------


def _read_csv(path: Path, display: str, end: ReadEnd) -> Iterator[RawRecord | Problem]:
    with _open_text(path, newline="") as handle:  # newline="": the csv module sees line ends as written
        yield from _csv_records(handle, display, end)


def _csv_records(text: Iterable[str], display: str, end: ReadEnd, header: list[str] | None = None,
                 lines_before: int = 0) -> Iterator[RawRecord | Problem]:
    """The records of `text`: a whole file, or what follows the `lines_before` lines of a
    file whose `header` was read there."""
    source = _Lines(text)
    reader = csv.reader(source)
    if header is None:
        try:
            header = [name.strip() for name in next(reader)]
        except StopIteration:
            return
        except csv.Error as err:
            raise _FileError(1, f"invalid CSV: {err}") from None
    columns = _columns(header)
    line = lines_before + reader.line_num
    ended_by_a_line_end = not source.out
    while True:
        start = line + 1
        try:
            row = next(reader)
        except StopIteration:
            if ended_by_a_line_end:
                end.lines, end.header = line, header
            return
        except csv.Error as err:
            raise _FileError(lines_before + reader.line_num, f"invalid CSV: {err}") from None
        line = lines_before + reader.line_num
        ended_by_a_line_end = not source.out
        if _blank(row):
            continue  # blank lines between blocks of awards are common in hand-kept sheets
        if len(row) != len(columns):
            yield Problem(display, start, None, f"has {len(row)} columns, the header has {len(columns)}")
            continue
        yield RawRecord(_csv_fields(columns, row), SourceLocation(display, start))


class _Lines:
    """The lines csv.reader reads, noting when they have run out: a row it gives after that
    was ended by the end of the text, not by a line end (a quoted cell left open, which
    what is appended would go on)."""

    def __init__(self, lines: Iterable[str]):
        self.lines, self.out = lines, False

    def __iter__(self) -> Iterator[str]:
        yield from self.lines
        self.out = True


def _columns(header: list[str]) -> list[tuple[str, tuple[str, str] | None]]:
    """Each column's field name and, for an attributes.<ns>.<name> column, its attribute's
    namespace and name: worked out once, not for every row."""
    seen = set()
    columns = []
    for name in header:
        if not name:
            raise _FileError(1, "header has an empty column name")
        if name in seen:
            raise _FileError(1, f"header names column {repr(name)[:60]} twice")
        seen.add(name)
        attribute = None
        if name.startswith(ATTRIBUTE_COLUMN_PREFIX) and name.count(".") >= 2:
            namespace, _, attr_name = name[len(ATTRIBUTE_COLUMN_PREFIX):].partition(".")
            attribute = (namespace, attr_name)
        columns.append((name, attribute))
    return columns


def _blank(row: list[str]) -> bool:
    """No cell holds anything but white space (the cells' text joined is as blank as each cell)."""
    text = "".join(row)
    return not text or text.isspace()


def _csv_fields(columns: list[tuple[str, tuple[str, str] | None]], row: list[str]) -> dict:
    """CSV cells as fields; blank cells are absent; attributes.<ns>.<name> columns become attributes.

    Other cells are kept exactly as written, spaces included: the rules for what a value
    may hold are validate.py's, the same for every format.
    """
    fields: dict = {}
    attributes = []
    for (name, attribute), cell in zip(columns, row):
        if not cell or cell.isspace():
            continue
        if attribute is None:
            fields[name] = cell
        else:
            attributes.append({"namespace": attribute[0], "name": attribute[1], "value": cell})
    if attributes:
        fields["attributes"] = attributes
    return fields


# -- JSON and JSON Lines ---------------------------------------------------------------


class _DuplicateKey(Exception):
    pass


def _json_object(pairs: list) -> dict:
    """json's object hook: a key written twice is an error (json would keep the last)."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _DuplicateKey
    return obj


_DECODER = json.JSONDecoder(object_pairs_hook=_json_object)


def _read_jsonl(path: Path, display: str, end: ReadEnd) -> Iterator[RawRecord | Problem]:
    # JSON Lines ends lines at "\n" only (newline="\n": no other line end, none translated);
    # str.splitlines() would also break at U+2028, U+0085 and others that JSON allows inside
    # strings, and shift every later line.
    with _open_text(path, newline="\n") as handle:
        yield from _jsonl_records(handle, display, end)


def _jsonl_records(text: Iterable[str], display: str, end: ReadEnd,
                   lines_before: int = 0) -> Iterator[RawRecord | Problem]:
    number = lines_before
    for number, line in enumerate(text, start=lines_before + 1):
        yield from _jsonl_line(line.removesuffix("\n"), number, display)
    end.lines = number


def _jsonl_line(line: str, number: int, display: str) -> Iterator[RawRecord | Problem]:
    if line.strip(JSON_SPACE):
        try:
            value = _decode(line, _skip_space(line, 0), 0, whole=True)
        except json.JSONDecodeError as err:
            yield Problem(display, number, None, f"invalid JSON: {err.msg} (column {err.colno})")
        except _JsonTrouble as err:
            yield Problem(display, number, err.field, err.message)
        else:
            if isinstance(value, dict):
                yield RawRecord(value, SourceLocation(display, number))
            else:
                yield Problem(display, number, None, "each line must be one JSON object")


def _read_json(path: Path, display: str, end: ReadEnd) -> Iterator[RawRecord | Problem]:
    """A list of records, one record, or a paginated API response {"results": [...]}.

    Elements of a top-level list are decoded one by one so each keeps its line number.
    """
    text = _read_text(path)
    start = _skip_space(text, 0)
    if start < len(text) and text[start] == "[":
        yield from _json_list_items(text, start, display)
        return
    try:
        with collector_paused():
            value = _decode(text, start, 0, whole=True)
    except json.JSONDecodeError as err:
        raise _FileError(err.lineno, f"invalid JSON: {err.msg} (column {err.colno})") from None
    except _JsonTrouble as err:
        raise _FileError(_line_at(text, err.offset), err.message, err.field) from None
    if isinstance(value, dict) and isinstance(value.get("results"), list):
        results = value["results"]
        for index, item in enumerate(results, start=1):
            results[index - 1] = None  # each item is the reader's only until handed on: then let go
            if not isinstance(item, dict):
                yield Problem(display, None, None, f"results item {index} must be a JSON object")
            else:
                # json.loads keeps no positions; a paginated export is named by item number.
                yield RawRecord(item, SourceLocation(f"{display} (results item {index})", None))
    elif isinstance(value, dict):
        yield RawRecord(value, SourceLocation(display, _line_at(text, start)))
    else:
        raise _FileError(1, "must be a JSON object or a list of objects")


def _json_list_items(text: str, start: int, display: str):
    position = _skip_space(text, start + 1)
    if position < len(text) and text[position] == "]":
        return
    line, counted = 1, 0  # line of `counted`, kept as the position moves on (no quadratic recount)
    while True:
        line += text.count("\n", counted, position)
        counted = position
        try:
            value, position = _decode(text, position, 1, whole=False)
        except json.JSONDecodeError as err:
            raise _FileError(err.lineno, f"invalid JSON: {err.msg} (column {err.colno})") from None
        except _JsonTrouble as err:
            where = line + text.count("\n", counted, err.offset)
            if text[counted] not in "[{":  # a number too long to read: where it ends is not known
                raise _FileError(where, err.message, err.field) from None
            yield Problem(display, where, err.field, err.message)
            position = _skip_value(text, counted)
            if position is None:
                return
        else:
            if isinstance(value, dict):
                yield RawRecord(value, SourceLocation(display, line))
            else:
                yield Problem(display, line, None, "each list item must be a JSON object")
        position = _skip_space(text, position)
        if position < len(text) and text[position] == ",":
            position = _skip_space(text, position + 1)
            continue
        if position < len(text) and text[position] == "]":
            if _skip_space(text, position + 1) < len(text):
                raise _FileError(_line_at(text, position), "unexpected text after the list")
            return
        raise _FileError(_line_at(text, position), "invalid JSON: expected ',' or ']'")


class _JsonTrouble(Exception):
    """A duplicate key or too deep a nesting, at `offset` in the text."""

    def __init__(self, offset: int, field: str | None, message: str):
        self.offset, self.field, self.message = offset, field, message


def _decode(text: str, position: int, depth: int, whole: bool):
    """The JSON value at `position` (and, unless `whole`, where it ends), `depth` levels
    down in its file. Raises JSONDecodeError, or _JsonTrouble naming the place."""
    try:
        if whole:
            value, end = _DECODER.decode(text), len(text)
        else:
            value, end = _DECODER.raw_decode(text, position)
    except (_DuplicateKey, RecursionError):
        raise _locate(text, position, depth) from None
    except json.JSONDecodeError:
        raise
    except ValueError:  # a number of more digits than Python converts (4300)
        raise _JsonTrouble(position, None, "invalid JSON: a number too long to read") from None
    # Counting brackets is cheap, and bounds the depth: most values need no walk.
    if text.count("[", position, end) + text.count("{", position, end) + depth > MAX_DEPTH:
        if _depth(value) + depth > MAX_DEPTH:
            raise _locate(text, position, depth)
    return value if whole else (value, end)


def _depth(value) -> int:
    """How many lists and objects deep `value` goes (iterative: no recursion limit)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            item = item.values()
        elif not isinstance(item, list):
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in item if isinstance(child, (dict, list)))
    return deepest


_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\],:]', re.DOTALL)


def _locate(text: str, position: int, depth: int) -> _JsonTrouble:
    """Find the first duplicate key or too deep a nesting in the value at `position`:
    only called once the decoder has met one, so its speed does not matter."""
    stack: list[list] = []  # per open container: [is_object, key or index, keys seen, expecting a key]
    for token in _JSON_TOKEN.finditer(text, position):
        kind = token.group()[0]
        if kind in "{[":
            if depth + len(stack) + 1 > MAX_DEPTH:
                return _JsonTrouble(token.start(), _field(_path(stack), first_key_only=True),
                                    f"nested more than {MAX_DEPTH} levels deep")
            stack.append([kind == "{", None if kind == "{" else 0, set(), True])
        elif not stack:
            break
        elif kind in "}]":
            stack.pop()
            if not stack:
                break
        elif kind == ",":
            top = stack[-1]
            if top[0]:
                top[3] = True
            else:
                top[1] += 1
        elif kind == ":":
            stack[-1][3] = False
        elif stack[-1][0] and stack[-1][3]:  # a string in key position
            top = stack[-1]
            key = json.loads(token.group())
            top[1] = key
            if key in top[2]:
                return _JsonTrouble(token.start(), _field(_path(stack)), f"duplicate key {repr(key)[:60]}")
            top[2].add(key)
    return _JsonTrouble(position, None, "invalid JSON: nested too deep to read")


def _path(stack: list[list]) -> tuple:
    return tuple(entry[1] for entry in stack)


def _field(path: tuple, first_key_only: bool = False) -> str | None:
    """`attributes[1].value` for ("attributes", 0, "value"); None when no key is on it.

    `first_key_only` names the record's field only (`attributes`), as a nesting problem
    deep inside it is best named. An item of a paginated export starts with `results[n]`.
    """
    prefix = ""
    if len(path) >= 2 and path[0] == "results" and isinstance(path[1], int):
        prefix, path = f"results[{path[1] + 1}]", path[2:]
    steps = []
    for step in path:
        steps.append(f"[{step + 1}]" if isinstance(step, int) else "." + shown_key(step))
        if first_key_only and not isinstance(step, int):
            break
    else:
        if first_key_only:
            steps = []  # no key on the way
    return (prefix + "".join(steps)).lstrip(".") or None


def _skip_value(text: str, position: int) -> int | None:
    """Where the JSON value at `position` ends, by its brackets and strings; None if never."""
    level = 0
    for token in _JSON_TOKEN.finditer(text, position):
        kind = token.group()[0]
        if kind in "{[":
            level += 1
        elif kind in "}]":
            level -= 1
            if level == 0:
                return token.end()
    return None


_JSON_SPACE_RUN = re.compile(f"[{JSON_SPACE}]*")


def _skip_space(text: str, position: int) -> int:
    return _JSON_SPACE_RUN.match(text, position).end()


def _line_at(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


# -- YAML ------------------------------------------------------------------------------


# YAML 1.1 (PyYAML, libyaml) ends lines at these too; editors, and every other format, do not.
_YAML_ONLY_BREAKS = {"\x85": "U+0085 NEXT LINE", "\u2028": "U+2028 LINE SEPARATOR",
                     "\u2029": "U+2029 PARAGRAPH SEPARATOR"}
_YAML_ONLY_BREAK = re.compile("[" + "".join(_YAML_ONLY_BREAKS) + "]")


def _read_yaml(path: Path, display: str, end: ReadEnd) -> Iterator[RawRecord | Problem]:
    text = _read_text(path)
    # Refused wherever they are, even in a comment: YAML would read the rest of that line
    # as a new one (a name's end silently dropped, or a baffling syntax error).
    stray = _YAML_ONLY_BREAK.search(text)
    if stray:
        raise _FileError(_line_at(text, stray.start()), f"contains {_YAML_ONLY_BREAKS[stray.group()]}: "
                         "YAML reads it as a line break, editors do not; remove it")
    try:
        value = load_yaml(text, MAX_DEPTH)
    except YamlSyntaxError as err:
        path = err.path[1:] if err.path and isinstance(err.path[0], int) else err.path  # the record's index
        raise _FileError(err.line, err.message, _field(path, first_key_only=True)) from None
    if value is None:
        return
    items = value if isinstance(value, list) else [value]
    for item in items:
        line = getattr(item, "line", None) or getattr(value, "line", None)
        if not isinstance(item, dict):
            yield Problem(display, line, None, "each record must be a mapping of field: value")
            continue
        yield RawRecord(item, SourceLocation(display, line))


# A JSON or YAML file is one value: what is added to it lands inside (before a closing "]",
# in a list of mappings), so nothing of it can be read apart from the rest; read whole.
_APPENDABLE = (".csv", ".jsonl")

_READERS = {
    ".csv": _read_csv,
    ".jsonl": _read_jsonl,
    ".json": _read_json,
    ".yml": _read_yaml,
    ".yaml": _read_yaml,
}
