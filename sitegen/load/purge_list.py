"""The purge list: credentials erased on a learner's request (`sitegen purge`).

`credentials_data/purged.txt` is committed with the records. It is not a record file (the
record readers read .csv, .jsonl, .json, .yml and .yaml only): it holds one credential ID
per line, 32 lowercase hex digits, optionally followed by the date of the purge and, in a
project of several sites, `site=<name>` for the site that published it, and nothing else,
so that it can never hold personal data:

    # Credentials purged on an erasure request (sitegen purge). ...
    0a1b2c3d4e5f40718293a4b5c6d7e8f9 2026-11-22
    5f0e1d2c3b4a49687766554433221100 2026-11-23 site=northbridge

A line without a site is erased on every site of the project (each says "no longer
available" at that URL); a line with one, only on that site.

Lines starting with `#` and blank lines are ignored; spaces or tabs separate the ID from
the date and may surround them; line endings may be `\\n`, `\\r\\n` or `\\r`, and a UTF-8
BOM is skipped. A listed credential is never built again, even from a stale copy of its
record: its URL answers "no longer available".

A malformed line, an impossible date or an ID listed twice is a problem naming the file and
line. A problem never quotes the line: a name written there by mistake must not be copied
into build logs.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sitegen.errors import Problem
from sitegen.model import SourceLocation

PURGE_LIST = "credentials_data/purged.txt"

PURGE_LIST_HEADER = (
    "# Credentials purged on an erasure request (sitegen purge). Commit this file with the records.\n"
    "# One credential ID per line, with the date of the purge: these credentials are never built\n"
    "# again, and their URLs say that they are no longer available. IDs and dates only: no names,\n"
    "# no notes about learners (this file must hold no personal data).\n"
)

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_ENTRY = re.compile(r"[ \t]*([0-9a-f]{32})(?:[ \t]+([0-9]{4}-[0-9]{2}-[0-9]{2}))?"
                    r"(?:[ \t]+site=([A-Za-z0-9][A-Za-z0-9_.:+\-]*))?[ \t]*")
_DASHED = re.compile(r"[ \t]*([0-9a-fA-F]{8})-([0-9a-fA-F]{4})-([0-9a-fA-F]{4})-([0-9a-fA-F]{4})-([0-9a-fA-F]{12})\b.*")
_UUID_ANY_CASE = re.compile(r"[ \t]*([0-9a-fA-F]{32})\b.*")
_FORMAT = ("a credential ID (32 lowercase hex digits), optionally followed by the date of the purge (YYYY-MM-DD) "
           "and site=<name>")


@dataclass(frozen=True)
class PurgeEntry:
    uuid: str
    date: dt.date | None  # of the purge, when written
    source: SourceLocation  # file:line
    site: str | None = None  # the site that published it; None: any site


@dataclass
class PurgeList:
    """The purged credential IDs (`uuid in purge_list`), each with its line."""

    path: str  # as shown to the user
    entries: dict[str, PurgeEntry] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def __contains__(self, uuid: object) -> bool:
        return uuid in self.entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def uuids(self) -> frozenset[str]:
        return frozenset(self.entries)

    def uuids_of_site(self, site_key: str) -> frozenset[str]:
        """The IDs a site erases: those it published, and those no site is named for."""
        if not site_key:  # the project's only site erases them all
            return self.uuids
        return frozenset(u for u, e in self.entries.items() if e.site is None or e.site == site_key)

    def location(self, uuid: str) -> SourceLocation:
        return self.entries[uuid].source


def load_purge_list(site_root: Path) -> PurgeList:
    """The project's purge list; empty when the file does not exist."""
    return read_purge_list(site_root / PURGE_LIST, PURGE_LIST)


def read_purge_list(path: Path, display: str) -> PurgeList:
    """The purge list in `path`, named `display` in problems and locations."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return PurgeList(display)
    except OSError as err:  # a folder of that name, no permission
        return PurgeList(display, problems=[Problem(display, None, None, f"cannot be read ({err.strerror})")])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        return PurgeList(display, problems=[Problem(display, None, None,
                                                    f"not UTF-8 text ({err.reason} at byte {err.start})")])
    return parse_purge_list(text, display)


def parse_purge_list(text: str, display: str) -> PurgeList:
    result = PurgeList(display)
    for number, line in enumerate(_LINE_BREAK.split(text.removeprefix("\ufeff")), start=1):
        if not line.strip(" \t") or line.lstrip(" \t").startswith("#"):
            continue
        problem = _entry(result, line, SourceLocation(display, number))
        if problem:
            result.problems.append(Problem(display, number, None, problem))
    return result


def _entry(result: PurgeList, line: str, source: SourceLocation) -> str | None:
    """Add the entry on `line` to `result`, or say what is wrong with it."""
    match = _ENTRY.fullmatch(line)
    if not match:
        return f"expected {_FORMAT}{_hint(line)}"
    uuid, written, site = match.groups()
    date = None
    if written:
        try:
            date = dt.date.fromisoformat(written)
        except ValueError:
            return f"the date of the purge is not a real date (expected {_FORMAT})"
    if uuid in result.entries:
        return f"{uuid} is listed twice (first at line {result.entries[uuid].source.line}): remove this line"
    result.entries[uuid] = PurgeEntry(uuid, date, source, site)
    return None


def _hint(line: str) -> str:
    """How to write an ID that is nearly right. Only hex digits are ever shown."""
    dashed = _DASHED.fullmatch(line)
    if dashed:
        return f"; write {''.join(dashed.groups()).lower()}, without hyphens"
    any_case = _UUID_ANY_CASE.fullmatch(line)
    if any_case and not any_case.group(1).islower():
        return f"; write {any_case.group(1).lower()}, in lowercase"
    return ""


def purge_list_line(uuid: str, date: dt.date, site: str | None = None) -> str:
    """The line `sitegen purge` adds for `uuid`, without its line ending."""
    return f"{uuid} {date.isoformat()}" + (f" site={site}" if site else "")


def appended(data: bytes, uuid: str, date: dt.date, site: str | None = None) -> bytes:
    """The purge list `data` (b"" when there is none yet) with a line for `uuid` added at
    its end, in the file's line ending; a new list starts with PURGE_LIST_HEADER."""
    if not data:
        return (PURGE_LIST_HEADER + purge_list_line(uuid, date, site) + "\n").encode("utf-8")
    text = data.decode("utf-8")  # BOM included: it stays where it is
    first = _LINE_BREAK.search(text)
    newline = first.group() if first else "\n"
    if not text.endswith(("\n", "\r")):
        text += newline  # the last line had no line ending
    return (text + purge_list_line(uuid, date, site) + newline).encode("utf-8")
