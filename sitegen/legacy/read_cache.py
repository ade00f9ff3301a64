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
import re
from collections import Counter
from collections.abc import Container, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from sitegen.legacy.export import NOT_DOWNLOADABLE, LegacyExport, SeenIds, duplicate_problem, read_export
from sitegen.legacy.plan import fields_digest
from sitegen.model import SourceLocation
from sitegen.write.files import store_cache

CACHE_FORMAT = "sitegen-legacy-rows-1"  # bumped whenever the rows' checks or digest change
# A row's line: "D <verify_uuid> <course number> <digest> <line>" or "S <verify_uuid> <line>".
_ROW = re.compile(r"(?:D [0-9a-f]{32} (0|[1-9][0-9]{0,8}) [0-9a-f]{32}|S [0-9a-f]{32}) [1-9][0-9]{0,9}\n")


class LegacyRow(NamedTuple):
    """What the first read keeps of a downloadable row."""

    verify_uuid: str
    course_id: str
    digest: str  # of the row's fields (plan.fields_digest)
    source: SourceLocation


@dataclass
class RowCache:
    folder: Path | None  # None: no cache (nothing read, nothing stored)
    new: dict[str, bytearray] = field(default_factory=dict)  # key -> text, stored once the input is good
    kept: set[str] = field(default_factory=set)

    def rows(self, site_root: Path, path: Path, export: LegacyExport, purged: Container[str],
             seen: SeenIds) -> Iterator[LegacyRow]:
        """The rows of one export, from the cache or read (and checked) afresh; skipped rows,
        problems and purged rows go to `export` as `read_export` says them."""
        display = path.relative_to(site_root).as_posix()
        key = _key(path, display)
        self.kept.add(key)
        cached = self.folder / key if self.folder is not None else None
        head = _checked(cached) if cached is not None else None
        if head is not None:
            yield from _replay(cached, head, display, export, purged, seen)
            return
        # The rows' lines as the file will hold them, packed: 594,716 rows make ~50 MB until stored.
        rows = bytearray()
        skipped_ids: list[tuple[str, int]] = []
        skipped_before, problems_before = Counter(export.skipped), len(export.problems)
        courses: dict[str, int] = {}
        for certificate in read_export(path, site_root, export, purged, seen, skipped_ids):
            row = LegacyRow(certificate.verify_uuid, certificate.course_id, fields_digest(certificate),
                            certificate.source)
            course = courses.setdefault(row.course_id, len(courses))
            rows += f"D {row.verify_uuid} {course} {row.digest} {row.source.line}\n".encode("ascii")
            yield row
        if self.folder is not None and len(export.problems) == problems_before:
            head = {"skipped": dict(export.skipped - skipped_before), "courses": list(courses)}
            text = f"{CACHE_FORMAT}\n{json.dumps(head, ensure_ascii=True)}\n".encode("ascii")
            rows[:0] = text
            rows += "".join(f"S {verify_uuid} {line}\n" for verify_uuid, line in skipped_ids).encode("ascii")
            self.new[key] = rows

    def save(self) -> None:
        """Store what was read afresh and forget entries of files that changed or went;
        called once the build knows the input is good."""
        if self.folder is not None:
            store_cache(self.folder, self.new, self.kept)


def _key(path: Path, display: str) -> str:
    digest = hashlib.sha256(f"{CACHE_FORMAT}\0{display}\0".encode("utf-8", "surrogateescape"))
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, lambda: digest).hexdigest()


# -- the cache file: a header line, a JSON line, a line per row --------------------------
#   sitegen-legacy-rows-1
#   {"skipped": {"notpassing": 3}, "courses": ["course-v1:X+Y+Z", ...]}
#   D <verify_uuid> <course number> <digest> <line>      a certificate
#   S <verify_uuid> <line>                               a skipped row
# Read twice, a line at a time (memory stays flat): once to check every line is exactly as
# written, then to replay it.


def _checked(path: Path) -> dict | None:
    """The head of a cache file every line of which is as this module writes it; else None."""
    try:
        with open(path, encoding="ascii", newline="\n") as lines:
            head = _head(lines)
            courses = len(head["courses"])
            for line in lines:
                match = _ROW.fullmatch(line)
                if match is None or (match.group(1) is not None and int(match.group(1)) >= courses):
                    return None
        return head
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError, IndexError):
        return None  # none, or not exactly what this module writes: the export is read again


def _head(lines) -> dict:
    if next(lines, "") != CACHE_FORMAT + "\n":
        raise ValueError("another format, or empty")
    head = json.loads(next(lines, ""))
    skipped = {str(k): int(n) for k, n in head["skipped"].items() if k in NOT_DOWNLOADABLE and int(n) > 0}
    courses = [c for c in head["courses"] if isinstance(c, str)]
    if len(skipped) != len(head["skipped"]) or len(courses) != len(head["courses"]):
        raise ValueError("not a head this module writes")
    return {"skipped": Counter(skipped), "courses": courses}


def _replay(path: Path, head: dict, display: str, export: LegacyExport, purged: Container[str],
            seen: SeenIds) -> Iterator[LegacyRow]:
    """The rows of a cached export, checked as `read_export` checks them against what is
    not in the file: the purge list, and the verify_uuids of the files read before."""
    export.files.append(display)
    export.skipped.update(head["skipped"])
    courses = head["courses"]
    with open(path, encoding="ascii", newline="\n") as lines:
        _head(lines)
        for line in lines:  # each checked by _checked: split, not checked again
            kind, verify_uuid, *rest = line.split()
            where = SourceLocation(display, int(rest[-1]))
            if verify_uuid in purged:
                export.purged_rows.setdefault(verify_uuid, where)
            if kind == "S":
                continue
            first = seen.add(verify_uuid, where)
            if first is not None:
                export.problems.append(duplicate_problem(verify_uuid, where, first))
                continue
            yield LegacyRow(verify_uuid, courses[int(rest[0])], rest[1], where)
