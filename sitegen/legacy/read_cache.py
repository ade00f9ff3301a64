"""The build's first read of the legacy exports, cached by each file's bytes.

Parsing and checking an export of 594,716 rows takes seconds, and the build's first read
keeps little of each row: a certificate's verify_uuid, course, line and the digest of its
fields (`LegacyRow`), the verify_uuid and line of a skipped row (so that a purged one that
comes back is refused still), the skipped rows' counts. `build/.sitegen/legacy-rows/<key>`
holds that for an export that read without a problem, named by the SHA-256 of the format,
the file's name and bytes, as the record cache does for record files
(sitegen/load/record_cache.py): an unchanged export is not parsed again by a no-op build.
(The stage reads it again, in full, only when there are pages to render or a URL map to
write.) Entries are stored once the build knows its input is good; a file in the cache is
read field by field, and anything not exactly as written makes the export be read again.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Container, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from sitegen.layout import STATE_DIR, is_uuid
from sitegen.legacy.export import NOT_DOWNLOADABLE, LegacyExport, SeenIds, duplicate_problem, read_export
from sitegen.legacy.plan import fields_digest
from sitegen.model import SourceLocation
from sitegen.write.files import store_cache

LEGACY_ROWS_DIR = f"{STATE_DIR}/legacy-rows"
CACHE_FORMAT = "sitegen-legacy-rows-1"  # bumped whenever the rows' checks or digest change
_HEX = frozenset("0123456789abcdef")


class LegacyRow(NamedTuple):
    """What the first read keeps of a downloadable row."""

    verify_uuid: str
    course_id: str
    digest: str  # of the row's fields (plan.fields_digest)
    source: SourceLocation


@dataclass
class _Entry:
    skipped: Counter
    courses: list[str]
    rows: list[tuple[str, int, str, int]]  # verify_uuid, course number, digest, line
    skipped_ids: list[tuple[str, int]]  # verify_uuid, line


@dataclass
class RowCache:
    folder: Path | None  # None: no cache (nothing read, nothing stored)
    new: dict[str, bytes] = field(default_factory=dict)  # key -> text, stored once the input is good
    kept: set[str] = field(default_factory=set)

    def rows(self, site_root: Path, path: Path, export: LegacyExport, purged: Container[str],
             seen: SeenIds) -> Iterator[LegacyRow]:
        """The rows of one export, from the cache or read (and checked) afresh; skipped rows,
        problems and purged rows go to `export` as `read_export` says them."""
        display = path.relative_to(site_root).as_posix()
        key = _key(path, display)
        self.kept.add(key)
        entry = self._cached(key)
        if entry is not None:
            yield from _replay(entry, display, export, purged, seen)
            return
        entry = _Entry(Counter(), [], [], [])
        skipped_before, problems_before = Counter(export.skipped), len(export.problems)
        courses: dict[str, int] = {}
        for certificate in read_export(path, site_root, export, purged, seen, entry.skipped_ids):
            row = LegacyRow(certificate.verify_uuid, certificate.course_id, fields_digest(certificate),
                            certificate.source)
            entry.rows.append((row.verify_uuid, courses.setdefault(row.course_id, len(courses)), row.digest,
                               row.source.line))
            yield row
        if self.folder is not None and len(export.problems) == problems_before:
            entry.skipped, entry.courses = export.skipped - skipped_before, list(courses)
            self.new[key] = _text(entry)

    def save(self) -> None:
        """Store what was read afresh and forget entries of files that changed or went;
        called once the build knows the input is good."""
        if self.folder is not None:
            store_cache(self.folder, self.new, self.kept)

    def _cached(self, key: str) -> _Entry | None:
        if self.folder is None:
            return None
        try:
            return _entry(self.folder.joinpath(key).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError, IndexError):
            return None  # none, or not exactly what this module writes: the export is read again


def _key(path: Path, display: str) -> str:
    digest = hashlib.sha256(f"{CACHE_FORMAT}\0{display}\0".encode("utf-8", "surrogateescape"))
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, lambda: digest).hexdigest()


def _replay(entry: _Entry, display: str, export: LegacyExport, purged: Container[str],
            seen: SeenIds) -> Iterator[LegacyRow]:
    """The rows of a cached export, checked as `read_export` checks them against what is
    not in the file: the purge list, and the verify_uuids of the files read before."""
    export.files.append(display)
    export.skipped.update(entry.skipped)
    for verify_uuid, line in entry.skipped_ids:
        if verify_uuid in purged:
            export.purged_rows.setdefault(verify_uuid, SourceLocation(display, line))
    for verify_uuid, course, digest, line in entry.rows:
        where = SourceLocation(display, line)
        if verify_uuid in purged:
            export.purged_rows.setdefault(verify_uuid, where)
        first = seen.add(verify_uuid, where)
        if first is not None:
            export.problems.append(duplicate_problem(verify_uuid, where, first))
            continue
        yield LegacyRow(verify_uuid, entry.courses[course], digest, where)


# -- the cache file: a header line, a JSON line, a line per row --------------------------
#   sitegen-legacy-rows-1
#   {"skipped": {"notpassing": 3}, "courses": ["course-v1:X+Y+Z", ...]}
#   D <verify_uuid> <course number> <digest> <line>      a certificate
#   S <verify_uuid> <line>                               a skipped row


def _text(entry: _Entry) -> bytes:
    lines = [CACHE_FORMAT, json.dumps({"skipped": dict(entry.skipped), "courses": entry.courses}, ensure_ascii=True)]
    lines += [f"D {uuid} {course} {digest} {line}" for uuid, course, digest, line in entry.rows]
    lines += [f"S {uuid} {line}" for uuid, line in entry.skipped_ids]
    return ("\n".join(lines) + "\n").encode("ascii")


def _entry(text: str) -> _Entry | None:
    lines = text.split("\n")
    if lines[0] != CACHE_FORMAT or lines[-1] != "":
        return None
    head = json.loads(lines[1])
    skipped = Counter({str(k): int(n) for k, n in head["skipped"].items() if k in NOT_DOWNLOADABLE and int(n) > 0})
    courses = [c for c in head["courses"] if isinstance(c, str)]
    if len(skipped) != len(head["skipped"]) or len(courses) != len(head["courses"]):
        return None
    entry = _Entry(skipped, courses, [], [])
    for line in lines[2:-1]:
        kind, *fields = line.split(" ")
        if kind == "D" and len(fields) == 4 and _is_digest(fields[2]):
            entry.rows.append((_uuid(fields[0]), _number(fields[1], len(courses)), fields[2], _number(fields[3])))
        elif kind == "S" and len(fields) == 2:
            entry.skipped_ids.append((_uuid(fields[0]), _number(fields[1])))
        else:
            return None
    return entry


def _uuid(text: str) -> str:
    if not is_uuid(text):
        raise ValueError("not a verify_uuid")
    return text


def _number(text: str, below: int | None = None) -> int:
    number = int(text)
    if not text.isdigit() or (below is not None and number >= below):
        raise ValueError("not a number of this file")
    return number


def _is_digest(text: str) -> bool:
    return len(text) == 32 and set(text) <= _HEX
