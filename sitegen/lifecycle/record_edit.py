"""Setting a few fields of one record in a record file's text, or removing the record,
touching no other byte.

Each editor gets the file's text (decoded, BOM removed), where the record is (its index
among the file's records, and its first line as the file's reader counts lines) and the
fields to set (field -> text). It rewrites the values of those fields only; a field the
record lacks is added right after its `status`, in the style around it (separator,
indentation, quotes, line ending). Nothing here decides whether the result is right: the
caller reads the new text back with the build's own reader and compares every record.

`delete_record` removes a record (for `sitegen purge`): its own text and what separates it
from its neighbours (a CSV row's or JSON line's line ending; in a JSON list or a YAML flow
list, a comma and the space around it; a YAML list item's lines, from its `-`), so that the
other records' bytes follow each other as before. A record that is the whole file (one JSON
object, one YAML mapping) cannot be removed from it: the caller removes the file.

Why not re-serialise: a CSV writer, json.dumps or a YAML dumper (ruamel.yaml's round-trip
mode included) rewrites quoting, spacing, indentation or line endings that the issuer chose,
so the diff an operator reviews would not be the one change they asked for.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import yaml
from yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    NodeEvent,
    ScalarEvent,
    SequenceStartEvent,
)
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from sitegen.load.records import JSON_SPACE

ANCHOR_FIELD = "status"  # every record has one; fields a record lacks are added after it
_ANY_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # how CSV (and YAML) count lines
_NEWLINE = re.compile(r"\n")  # JSON Lines ends lines at "\n" only
_DECODER = json.JSONDecoder()

Edit = tuple[int, int, str]  # replace text[start:end] with this


class EditRefused(Exception):
    """Why the record cannot be edited in place: one line, without the file's name."""


def edit_record(suffix: str, text: str, index: int, line: int | None, changes: dict[str, str]) -> str:
    """`text` with `changes` made to the record at `index` (first line `line`) of a `suffix` file."""
    try:
        return _EDITORS[suffix](text, index, line, changes)
    except (ValueError, IndexError, StopIteration, yaml.YAMLError) as err:  # JSONDecodeError is a ValueError
        raise EditRefused(f"cannot find the record's fields in the text ({type(err).__name__})") from None


def delete_record(suffix: str, text: str, index: int, line: int | None) -> str:
    """`text` without the record at `index` (first line `line`) of a `suffix` file."""
    try:
        return _DELETERS[suffix](text, index, line)
    except (ValueError, IndexError, StopIteration, yaml.YAMLError) as err:  # JSONDecodeError is a ValueError
        raise EditRefused(f"cannot find the record's text ({type(err).__name__})") from None


def _apply(text: str, edits: list[Edit]) -> str:
    pieces, position = [], 0
    for start, end, replacement in sorted(edits, key=lambda edit: (edit[0], edit[1])):
        pieces += [text[position:start], replacement]
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def _line_start(text: str, line: int, breaks: re.Pattern) -> int:
    """Offset of the first character of `line` (1-based), lines ending at `breaks`."""
    if line == 1:
        return 0
    found = next(itertools.islice(breaks.finditer(text), line - 2, None))
    return found.end()


# -- CSV -------------------------------------------------------------------------------


def csv_columns(text: str) -> list[str]:
    """The column names of a CSV file's text, spaces trimmed, as the record reader takes them."""
    return [name.strip() for name in next(csv.reader(io.StringIO(text, newline="")), [])]


def _edit_csv(text: str, index: int, line: int | None, changes: dict[str, str]) -> str:
    header = csv_columns(text)
    missing = [field for field in changes if field not in header]
    if missing:
        # Adding a column would change every line of the file: that is the issuer's edit to make.
        raise EditRefused(f"has no {missing[0]} column: add it (empty in awarded rows), then run this again")
    cells = _csv_cells(text, _line_start(text, line, _ANY_LINE_BREAK))
    if len(cells) != len(header):
        raise EditRefused("cannot find the record's cells")
    edits = []
    for field, value in changes.items():
        start, end = cells[header.index(field)]
        edits.append((start, end, _csv_cell(value, quoted=text.startswith('"', start))))
    return _apply(text, edits)


def _csv_cells(text: str, position: int) -> list[tuple[int, int]]:
    """(start, end) of each cell of the row at `position`, as csv's default dialect splits it."""
    cells = []
    while True:
        start = position
        if text.startswith('"', position):  # quoted: up to a quote that is not doubled
            position += 1
            while True:
                position = text.index('"', position) + 1
                if not text.startswith('"', position):
                    break
                position += 1
        while position < len(text) and text[position] not in ",\r\n":
            position += 1
        cells.append((start, position))
        if not text.startswith(",", position):
            return cells
        position += 1


def _csv_cell(value: str, quoted: bool) -> str:
    # A quoted cell stays quoted, so a column's look does not change with the edit.
    if quoted or any(char in value for char in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def _delete_csv(text: str, index: int, line: int | None) -> str:
    header = csv_columns(text)
    start = _line_start(text, line, _ANY_LINE_BREAK)
    cells = _csv_cells(text, start)  # the row may span lines (a quoted line break)
    if len(cells) != len(header):
        raise EditRefused("cannot find the record's cells")
    return text[:start] + text[_past_line_break(text, cells[-1][1]):]


def _past_line_break(text: str, position: int) -> int:
    """Past the line ending at `position`, if there is one (the last line may have none)."""
    found = _ANY_LINE_BREAK.match(text, position)
    return found.end() if found else position


def _remove_item(text: str, spans: list[tuple[int, int]], index: int) -> str:
    """`text` without item `index` of a comma-separated list whose items are at `spans`:
    with the comma and space after it, or, for the last item, the comma and space before
    it, so the others keep their bytes and the list stays valid."""
    start, end = spans[index]
    if index + 1 < len(spans):
        end = spans[index + 1][0]
    elif index > 0:
        start = spans[index - 1][1]
    return text[:start] + text[end:]


# -- JSON and JSON Lines ---------------------------------------------------------------


@dataclass(frozen=True)
class _Member:
    key: str
    key_start: int
    key_end: int
    value_start: int
    value_end: int


def _edit_jsonl(text: str, index: int, line: int | None, changes: dict[str, str]) -> str:
    start = _skip_space(text, _line_start(text, line, _NEWLINE))
    return _edit_json_object(text, start, changes)


def _edit_json(text: str, index: int, line: int | None, changes: dict[str, str]) -> str:
    return _edit_json_object(text, _json_record_start(text, index), changes)


def _delete_jsonl(text: str, index: int, line: int | None) -> str:
    start = _line_start(text, line, _NEWLINE)
    end = text.find("\n", start)
    return text[:start] + ("" if end < 0 else text[end + 1:])


def _delete_json(text: str, index: int, line: int | None) -> str:
    start = _skip_space(text, 0)
    if not text.startswith("[", start):
        results = next((m for m in _members(text, start) if m.key == "results"), None)
        if results is None or not text.startswith("[", results.value_start):
            raise EditRefused("the record is the whole file")
        start = results.value_start
    return _remove_item(text, list(_array_spans(text, start)), index)


def _json_record_start(text: str, index: int) -> int:
    """Where the record at `index` starts: as records.py reads a list, one object, or {"results": [...]}."""
    start = _skip_space(text, 0)
    if text.startswith("[", start):
        return next(itertools.islice(_array_items(text, start), index, None))
    results = next((m for m in _members(text, start) if m.key == "results"), None)
    if results is not None and text.startswith("[", results.value_start):
        return next(itertools.islice(_array_items(text, results.value_start), index, None))
    if index != 0:
        raise EditRefused("cannot find the record in the file")
    return start


def _edit_json_object(text: str, start: int, changes: dict[str, str]) -> str:
    members = _members(text, start)
    by_key = {member.key: member for member in members}
    if ANCHOR_FIELD not in by_key:
        raise EditRefused(f"the record has no {ANCHOR_FIELD!r} key")
    ascii_only = text.isascii()  # a file written with \\u escapes stays ASCII
    edits = [(by_key[field].value_start, by_key[field].value_end, _json_string(value, ascii_only))
             for field, value in changes.items() if field in by_key]
    added = [field for field in changes if field not in by_key]
    if added:
        anchor = by_key[ANCHOR_FIELD]
        separator = _json_separator(text, members, members.index(anchor))
        colon = text[anchor.key_end:anchor.value_start]  # ":" or ": ", as the file writes it
        insertion = "".join(separator + _json_string(field, ascii_only) + colon
                            + _json_string(changes[field], ascii_only) for field in added)
        edits.append((anchor.value_end, anchor.value_end, insertion))
    return _apply(text, edits)


def _json_separator(text: str, members: list[_Member], position: int) -> str:
    """The text between two members next to `position` (",\\n    " or ", "): a new member
    after it then sits on its own line, or inline, as its neighbours do."""
    if position + 1 < len(members):
        return text[members[position].value_end:members[position + 1].key_start]
    if position > 0:
        return text[members[position - 1].value_end:members[position].key_start]
    return ", "


def _json_string(value: str, ascii_only: bool) -> str:
    return json.dumps(value, ensure_ascii=ascii_only)


def _members(text: str, start: int) -> list[_Member]:
    """The members of the JSON object at `start`, with where each key and value is."""
    if not text.startswith("{", start):
        raise EditRefused("the record is not a JSON object")
    members: list[_Member] = []
    position = _skip_space(text, start + 1)
    if text.startswith("}", position):
        return members
    while True:
        key, key_end = _DECODER.raw_decode(text, position)
        colon = _skip_space(text, key_end)
        if not isinstance(key, str) or not text.startswith(":", colon):
            raise EditRefused("invalid JSON object")
        value_start = _skip_space(text, colon + 1)
        _, value_end = _DECODER.raw_decode(text, value_start)
        members.append(_Member(key, position, key_end, value_start, value_end))
        position = _skip_space(text, value_end)
        if text.startswith("}", position):
            return members
        if not text.startswith(",", position):
            raise EditRefused("invalid JSON object")
        position = _skip_space(text, position + 1)


def _array_items(text: str, start: int) -> Iterator[int]:
    """Where each value of the JSON array at `start` starts."""
    return (item_start for item_start, _ in _array_spans(text, start))


def _array_spans(text: str, start: int) -> Iterator[tuple[int, int]]:
    """Where each value of the JSON array at `start` starts and ends."""
    position = _skip_space(text, start + 1)
    if text.startswith("]", position):
        return
    while True:
        _, end = _DECODER.raw_decode(text, position)
        yield position, end
        position = _skip_space(text, end)
        if not text.startswith(",", position):
            return
        position = _skip_space(text, position + 1)


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in JSON_SPACE:
        position += 1
    return position


# -- YAML ------------------------------------------------------------------------------
# PyYAML's nodes know where each key and value starts and ends in the text: the edit is
# made there. (PyYAML's pure-Python loader: its marks count characters of the text.)


def _edit_yaml(text: str, index: int, line: int | None, changes: dict[str, str]) -> str:
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    node = root.value[index] if isinstance(root, SequenceNode) else root
    if not isinstance(node, MappingNode) or (node is root and index != 0):
        raise EditRefused("cannot find the record's mapping")
    own = {key.value: (key, value) for key, value in node.value if isinstance(key, ScalarNode)}
    if ANCHOR_FIELD not in own:
        raise EditRefused(f"{ANCHOR_FIELD} is not written in the record itself (a merge key?)")
    flow = bool(node.flow_style)
    edits = [_yaml_replace(text, *own[field], value, flow) for field, value in changes.items() if field in own]
    added = {field: value for field, value in changes.items() if field not in own}
    if added:
        edits.append(_yaml_insert(text, *own[ANCHOR_FIELD], added, flow))
    return _apply(text, edits)


def _yaml_replace(text: str, key: ScalarNode, value, new: str, flow: bool) -> Edit:
    if not isinstance(value, ScalarNode):
        raise EditRefused(f"{key.value} is not a single value")
    start, end = value.start_mark.index, value.end_mark.index
    if start == end:  # `field:` with nothing after it (null): write the value after the colon
        colon = text.index(":", key.end_mark.index) + 1
        return colon, colon, " " + _yaml_scalar(new, flow, quote=None)
    old = text[start:end]
    return start, end, _yaml_scalar(new, flow, quote=old[0] if old[0] in "'\"" else None)


def _yaml_insert(text: str, key: ScalarNode, value, fields: dict[str, str], flow: bool) -> Edit:
    """New `field: value` pairs right after the anchor's: inline in a flow mapping, else on
    lines of their own, at the anchor key's indentation and with its line's line ending."""
    if flow:
        position = value.end_mark.index
        return position, position, "".join(f", {f}: {_yaml_scalar(v, flow, None)}" for f, v in fields.items())
    position, newline = _end_of_line(text, value.end_mark.index)
    indent = " " * key.start_mark.column
    return position, position, "".join(f"{newline}{indent}{f}: {_yaml_scalar(v, flow, None)}"
                                       for f, v in fields.items())


def _end_of_line(text: str, position: int) -> tuple[int, str]:
    """Where the line holding `position` ends, and its line ending (the file's first one
    for a last line without any)."""
    found = _ANY_LINE_BREAK.search(text, position)
    if found:
        return found.start(), found.group()
    first = _ANY_LINE_BREAK.search(text)
    return len(text), first.group() if first else "\n"


def _yaml_scalar(value: str, flow: bool, quote: str | None) -> str:
    """`value` as YAML text: in the quotes the old value had, else plain when YAML reads it
    back as this very string (not `yes`, a date, a comment...), else single-quoted."""
    if quote == '"':
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a YAML double-quoted one
    if quote is None and _reads_back(value, flow):
        return value
    return "'" + value.replace("'", "''") + "'"


def _reads_back(value: str, flow: bool) -> bool:
    document = f"{{k: {value}}}" if flow else f"k: {value}\n"
    try:
        return yaml.safe_load(document) == {"k": value}
    except yaml.YAMLError:
        return False


def _delete_yaml(text: str, index: int, line: int | None) -> str:
    """Remove item `index` of the file's top-level list, as PyYAML's events place it: in a
    block list, the lines from its `-` to the end of its last value's line (a comment on
    that line included; comment lines before or after it stay); in a flow list, as in JSON.
    Refused when a later record takes fields from it (an anchor and an alias, `<<: *base`)."""
    events = list(yaml.parse(text, Loader=yaml.SafeLoader))
    root = events[2]  # after StreamStart and DocumentStart
    if not isinstance(root, SequenceStartEvent):
        raise EditRefused("the record is the whole file")
    items = _yaml_items(events)
    _check_no_alias_into(items, index)
    spans = [(item[0].start_mark.index, _yaml_content_end(item)) for item in items]
    if root.flow_style:
        return _remove_item(text, spans, index)
    start, end = spans[index]
    dash = _last_dash(text, spans[index - 1][1] if index else root.start_mark.index, start)
    line_start = max(text.rfind("\n", 0, dash), text.rfind("\r", 0, dash)) + 1
    if dash < 0 or text[line_start:dash].strip(" "):
        raise EditRefused("cannot find the list item's '-'")
    if text[end - 1:end] not in ("\r", "\n"):  # a block scalar ends with its line; others do not
        end = _past_line_break(text, _end_of_line(text, end)[0])
    return text[:line_start] + text[end:]


def _yaml_items(events: list) -> list[list]:
    """The events of each item of the top-level sequence (events[2])."""
    items: list[list] = []
    depth = 0
    for event in events[3:]:
        if depth == 0:
            if isinstance(event, CollectionEndEvent):
                return items  # the end of the top-level sequence
            items.append([])
        items[-1].append(event)
        if isinstance(event, CollectionStartEvent):
            depth += 1
        elif isinstance(event, CollectionEndEvent):
            depth -= 1
    raise EditRefused("the list has no end")


def _yaml_content_end(item: list) -> int:
    """Where the item's last written value ends. Block collections' start and end events
    reach over the comments and blank lines around them (up to the next token): only
    scalars, aliases and the closing bracket of a flow collection count."""
    end = item[0].start_mark.index
    flow: list[bool] = []
    for event in item:
        if isinstance(event, CollectionStartEvent):
            flow.append(bool(event.flow_style))
        elif isinstance(event, CollectionEndEvent):
            if flow.pop():
                end = max(end, event.end_mark.index)
        elif isinstance(event, (ScalarEvent, AliasEvent)):
            end = max(end, event.end_mark.index)
    return end


def _check_no_alias_into(items: list[list], index: int) -> None:
    """Refuse when an alias outside item `index` names an anchor that item defines: the
    other record would lose the fields it takes from it (or no longer read at all)."""
    owner: dict[str, int] = {}  # anchor -> the item of its latest definition
    for position, item in enumerate(items):
        for event in item:
            if isinstance(event, AliasEvent):
                if owner.get(event.anchor) == index and position != index:
                    raise EditRefused(f"another record takes fields from this one (its anchor &{event.anchor} "
                                      f"is used at line {event.start_mark.line + 1})")
            elif isinstance(event, NodeEvent) and event.anchor is not None:
                owner[event.anchor] = position


def _last_dash(text: str, start: int, end: int) -> int:
    """The last `-` in text[start:end] that is not in a comment (-1 if none): between two
    items of a block list there are only comments, blank lines and the next item's dash."""
    dash, comment = -1, False
    for position in range(start, end):
        char = text[position]
        if char in "\r\n":
            comment = False
        elif char == "#":
            comment = True
        elif char == "-" and not comment:
            dash = position
    return dash


_EDITORS: dict[str, Callable[[str, int, int | None, dict[str, str]], str]] = {
    ".csv": _edit_csv,
    ".jsonl": _edit_jsonl,
    ".json": _edit_json,
    ".yml": _edit_yaml,
    ".yaml": _edit_yaml,
}

_DELETERS: dict[str, Callable[[str, int, int | None], str]] = {
    ".csv": _delete_csv,
    ".jsonl": _delete_jsonl,
    ".json": _delete_json,
    ".yml": _delete_yaml,
    ".yaml": _delete_yaml,
}
