"""The legacy purge list: legacy certificates erased on a learner's request.

`credentials_data/legacy-purged.txt` is committed with the export. Its row is gone from
the export after `sitegen purge <verify_uuid>`, so this list keeps what the next build and
publish need to erase every copy: the PDF's key in the bucket and the platform's
certificate id. IDs only, never a name:

    # Legacy edX certificates purged on an erasure request (sitegen purge). ...
    7d1c0e5a4b3f42a19c8e6f5d4c3b2a10 2026-11-22 pdf=downloads/<download_uuid>/Certificate.pdf id=4711

It is a list of its own, not `purged.txt`: that one says which `credentials/<uuid>/` pages
answer "no longer available", and holds nothing but IDs and dates.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from sitegen.errors import Problem
from sitegen.legacy.gate import LEGACY_PURGE_LIST
from sitegen.legacy.paths import is_pdf_key
from sitegen.model import SourceLocation

HEADER = (
    "# Legacy edX certificates purged on an erasure request (sitegen purge). Commit it with the export.\n"
    "# One verify_uuid per line, the date, the old PDF's key in the bucket and the platform's certificate\n"
    "# id: the next build and publish erase the certificate's files. IDs only: no names, no notes.\n"
)
_ENTRY = re.compile(r"[ \t]*([0-9a-f]{32})[ \t]+([0-9]{4}-[0-9]{2}-[0-9]{2})"
                    r"(?:[ \t]+pdf=(\S+))?(?:[ \t]+id=([1-9][0-9]{0,18}))?[ \t]*")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class LegacyPurge:
    verify_uuid: str
    date: dt.date
    pdf_key: str | None  # None: the row had no PDF (not downloadable)
    certificate_id: str | None
    source: SourceLocation


@dataclass
class LegacyPurgeList:
    path: str
    entries: dict[str, LegacyPurge] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def __contains__(self, verify_uuid: object) -> bool:
        return verify_uuid in self.entries


def load_legacy_purge_list(site_root: Path) -> LegacyPurgeList:
    return read_legacy_purge_list(site_root / LEGACY_PURGE_LIST, LEGACY_PURGE_LIST)


def read_legacy_purge_list(path: Path, display: str) -> LegacyPurgeList:
    result = LegacyPurgeList(display)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        return result
    except (OSError, UnicodeDecodeError) as err:
        result.problems.append(Problem(display, None, None, f"cannot be read ({err})"))
        return result
    for number, line in enumerate(_LINE_BREAK.split(text), start=1):
        if not line.strip(" \t") or line.lstrip(" \t").startswith("#"):
            continue
        problem = _entry(result, line, SourceLocation(display, number))
        if problem:  # the line is never quoted: a name written there by mistake stays out of logs
            result.problems.append(Problem(display, number, None, problem))
    return result


def _entry(result: LegacyPurgeList, line: str, source: SourceLocation) -> str | None:
    match = _ENTRY.fullmatch(line)
    if not match:
        return "expected a verify_uuid (32 lowercase hex digits), the date (YYYY-MM-DD), pdf=<key>, id=<number>"
    verify_uuid, written, key, certificate_id = match.groups()
    try:
        date = dt.date.fromisoformat(written)
    except ValueError:
        return "the date of the purge is not a real date"
    if key is not None and not is_pdf_key(key):
        return "pdf=: not a key downloads/<32 hex digits>/<file>.pdf"
    if verify_uuid in result.entries:
        return f"{verify_uuid} is listed twice (first at line {result.entries[verify_uuid].source.line})"
    result.entries[verify_uuid] = LegacyPurge(verify_uuid, date, key, certificate_id, source)
    return None


def entry_line(verify_uuid: str, date: dt.date, pdf_key: str | None, certificate_id: str | None) -> str:
    return (f"{verify_uuid} {date.isoformat()}" + (f" pdf={pdf_key}" if pdf_key else "")
            + (f" id={certificate_id}" if certificate_id else ""))


def appended(data: bytes, line: str) -> bytes:
    """The list `data` (b"" when there is none) with `line` added, in the file's line ending."""
    if not data:
        return (HEADER + line + "\n").encode("utf-8")
    text = data.decode("utf-8")
    first = _LINE_BREAK.search(text)
    newline = first.group() if first else "\n"
    if not text.endswith(("\n", "\r")):
        text += newline
    return (text + line + newline).encode("utf-8")
