"""Reading exports of the platform's `GeneratedCertificate` table from credentials_data/.

An export is a CSV file recognised by its columns (`detect.py`), read with the record
readers' CSV reader (so lines are counted as everywhere else). Rows follow the old
certificate agent's state diagram (edx-platform's `CertificateStatuses`): only a
`downloadable` row is a certificate someone holds; every other status (`deleted`,
`error`, `unavailable`, `notpassing`, `generating`, `regenerating`, `audit_passing`...)
is counted, reported and skipped. A bad row is one `Problem` naming file, line and field,
never quoting the learner's name.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Container, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from sitegen.errors import Problem
from sitegen.layout import is_uuid
from sitegen.legacy.detect import EXPORT_COLUMNS
from sitegen.legacy.gate import export_files
from sitegen.legacy.paths import PDF_NAME, LegacyPaths, pdf_key, pdf_key_in
from sitegen.load.records import RawRecord, read_records
from sitegen.model import SourceLocation

DOWNLOADABLE = "downloadable"
# edx-platform's CertificateStatuses, all but `downloadable`: reported and skipped.
NOT_DOWNLOADABLE = frozenset((
    "deleted", "deleting", "error", "generating", "notpassing", "regenerating", "restricted",
    "unavailable", "auditing", "audit_passing", "audit_notpassing", "honor_passing", "unverified",
    "invalidated", "requesting",
))
MODE_LABELS = {"honor": "Honor Code Certificate", "verified": "Verified Certificate",
               "professional": "Professional Certificate", "no-id-professional": "Professional Certificate",
               "audit": "Certificate", "credit": "Credit Certificate", "masters": "Master's Certificate"}
_MODE = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
_ID = re.compile(r"[1-9][0-9]{0,18}")
_DATE = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})(?:[ T][0-9:.]+(?:Z|[+-][0-9:]+)?)?")
MAX_NAME = 255  # the platform's column
# The organization in an edX course ID: course-v1:ORG+COURSE+RUN, or the older ORG/COURSE/RUN.
_COURSE_KEY_ORG = re.compile(r"course-v1:([^+/:]+)\+[^+]+\+[^+]+")
_SLASHED_ORG = re.compile(r"([^/+:]+)/[^/]+/[^/]+")


@dataclass(frozen=True, slots=True)  # slots: a shard holds tens of thousands of them at once
class LegacyCertificate:
    """One `downloadable` row: a PDF certificate the old agent made and signed."""

    certificate_id: str  # the export's `id`: what the platform's purge command takes
    verify_uuid: str
    download_uuid: str
    name: str
    course_id: str
    mode: str
    issued: dt.date
    download_url: str | None  # as exported (http or https), or None
    pdf_key: str  # where the PDF is in the bucket: downloads/<download_uuid>/<file>.pdf
    source: SourceLocation
    distinction: bool = False

    @property
    def paths(self) -> LegacyPaths:
        return LegacyPaths(self.verify_uuid)

    @property
    def mode_label(self) -> str:
        return MODE_LABELS.get(self.mode, "Certificate")


@dataclass
class LegacyExport:
    """What reading the exports found beside the certificates: what was skipped, what is wrong."""

    skipped: Counter = field(default_factory=Counter)  # status -> rows
    problems: list[Problem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    # Rows (downloadable or not) whose verify_uuid is in the legacy purge list: they must not come back.
    purged_rows: dict[str, SourceLocation] = field(default_factory=dict)
    certificates: list[LegacyCertificate] = field(default_factory=list)  # load_legacy() only

    def skipped_line(self) -> str | None:
        """The warning line of the skipped rows, per status."""
        if not self.skipped:
            return None
        counts = ", ".join(f"{n} {status}" for status, n in sorted(self.skipped.items()))
        return (f"legacy certificates: {sum(self.skipped.values())} row(s) not downloadable, skipped "
                f"({counts}) in {', '.join(self.files)}")


def load_legacy(site_root: Path) -> LegacyExport:
    """Every export of the project, read and checked, its certificates in a list."""
    export = LegacyExport()
    export.certificates = list(read_legacy(site_root, export))
    return export


def read_legacy(site_root: Path, export: LegacyExport, purged: Container[str] = (),
                wanted: Container[str] | None = None) -> Iterator[LegacyCertificate]:
    """Every good downloadable row of every export, as it is read (600k rows are never held
    by this function); skipped rows, bad rows, the files read and the rows of `purged`
    verify_uuids go to `export` on the way. `wanted`: only the rows of these verify_uuids
    (the others are not checked: a build reading again what it checked already)."""
    seen = SeenIds()
    for path in export_files(site_root):
        yield from read_export(path, site_root, export, purged, seen, wanted=wanted)


def read_export(path: Path, site_root: Path, export: LegacyExport, purged: Container[str], seen: SeenIds,
                skipped_ids: list[tuple[str, int]] | None = None,
                wanted: Container[str] | None = None) -> Iterator[LegacyCertificate]:
    """The good downloadable rows of one export, as `read_legacy`; `seen` holds the
    verify_uuids of the files read before. The verify_uuid and line of each skipped row that
    has one go to `skipped_ids`."""
    display = path.relative_to(site_root).as_posix()
    export.files.append(display)
    for item in read_records(path, display):
        if isinstance(item, Problem):
            export.problems.append(item)
            continue
        if wanted is not None and item.fields.get("verify_uuid", "").strip() not in wanted:
            continue
        certificate = _certificate(export, item, purged, skipped_ids)
        if certificate is None:
            continue
        first = seen.add(certificate.verify_uuid, item.source)
        if first is not None:
            export.problems.append(duplicate_problem(certificate.verify_uuid, item.source, first))
            continue
        yield certificate


def duplicate_problem(verify_uuid: str, where: SourceLocation, first: SourceLocation) -> Problem:
    return Problem(where.file, where.line, "verify_uuid", f"{verify_uuid} is also the verify_uuid of {first}")


class SeenIds:
    """The verify_uuid of every certificate read, and where: compact, as there may be 600k."""

    def __init__(self):
        self.files: list[str] = []
        self.places: dict[int, int] = {}  # the UUID as a number -> file number and line, packed

    def add(self, verify_uuid: str, where: SourceLocation) -> SourceLocation | None:
        """Where `verify_uuid` was met before, or None (and it is remembered)."""
        if not self.files or self.files[-1] != where.file:
            self.files.append(where.file)
        key = int(verify_uuid, 16)
        place = self.places.get(key)
        if place is not None:
            return SourceLocation(self.files[place >> 32], place & 0xFFFFFFFF)
        self.places[key] = (len(self.files) - 1) << 32 | (where.line or 0)
        return None


def _certificate(export: LegacyExport, row: RawRecord, purged: Container[str],
                 skipped_ids: list[tuple[str, int]] | None) -> LegacyCertificate | None:
    fields, where = row.fields, row.source
    status = fields.get("status", "").strip()
    verify_uuid = fields.get("verify_uuid", "").strip()
    if verify_uuid in purged and is_uuid(verify_uuid):
        export.purged_rows.setdefault(verify_uuid, where)
    if status != DOWNLOADABLE:
        if status in NOT_DOWNLOADABLE:
            export.skipped[status] += 1
            if skipped_ids is not None and is_uuid(verify_uuid):
                skipped_ids.append((verify_uuid, where.line))
        else:
            shown = repr(status)[:40] if status.isprintable() else "a value"
            export.problems.append(Problem(where.file, where.line, "status", f"{shown} is not a status of "
                                           "GeneratedCertificate (downloadable, notpassing, deleted...)"))
        return None
    try:
        return legacy_certificate(fields, where)
    except RowError as err:
        export.problems.append(Problem(where.file, where.line, err.field, err.message))
        return None


class RowError(Exception):
    def __init__(self, field: str, message: str):
        self.field, self.message = field, message


def legacy_certificate(fields: dict, where: SourceLocation) -> LegacyCertificate:
    """A downloadable row as a certificate, or a RowError naming the first bad field."""
    certificate_id = _matching(fields, "id", _ID, "a positive whole number")
    verify_uuid = _uuid(fields, "verify_uuid")
    download_uuid = _uuid(fields, "download_uuid")
    name = _name(fields)
    course_id = fields.get("course_id", "").strip()
    if not course_id or not course_id.isprintable() or len(course_id) > 255:
        raise RowError("course_id", "required: the course's ID (printable text)")
    mode = fields.get("mode", "").strip() or "honor"
    if not _MODE.fullmatch(mode):
        raise RowError("mode", "not a course mode (lowercase letters, digits, - and _)")
    issued = _date(fields, "modified_date") or _date(fields, "created_date")
    if issued is None:
        raise RowError("modified_date", "required (or created_date): the date the certificate was made")
    url, key = _download(fields, download_uuid)
    distinction = fields.get("distinction", "").strip().lower() in ("1", "true", "t", "yes")
    return LegacyCertificate(certificate_id, verify_uuid, download_uuid, name, course_id, mode, issued,
                             url, key, where, distinction)


def course_org(course_id: str) -> str | None:
    """The organization part of an edX course ID (`course-v1:ORG+COURSE+RUN` or the older
    `ORG/COURSE/RUN`), or None for anything else."""
    match = _COURSE_KEY_ORG.fullmatch(course_id) or _SLASHED_ORG.fullmatch(course_id)
    return match.group(1) if match else None


def _matching(fields: dict, name: str, pattern: re.Pattern, what: str) -> str:
    value = fields.get(name, "").strip()
    if not pattern.fullmatch(value):
        raise RowError(name, f"required: {what}")
    return value


def _uuid(fields: dict, name: str) -> str:
    value = fields.get(name, "").strip()
    if is_uuid(value):
        return value
    hint = ", in lowercase" if is_uuid(value.lower()) else ""
    raise RowError(name, f"not 32 lowercase hex digits{hint} (it names the certificate's files)")


def _name(fields: dict) -> str:
    name = fields.get("name", "").strip()
    # Never quoted: it is the learner's name, and problems end up in CI logs.
    if not name:
        raise RowError("name", "required: the learner's name as printed on the PDF")
    if not name.isprintable():
        raise RowError("name", "holds a line break or a control character")
    if len(name) > MAX_NAME:
        raise RowError("name", f"longer than {MAX_NAME} characters")
    return name


def _date(fields: dict, name: str) -> dt.date | None:
    value = fields.get(name, "").strip()
    if not value:
        return None
    match = _DATE.fullmatch(value)
    try:
        if match:
            return dt.date.fromisoformat(match.group(1))
    except ValueError:
        pass
    raise RowError(name, "not a date (YYYY-MM-DD, or YYYY-MM-DD HH:MM:SS as the platform exports it)")


def _download(fields: dict, download_uuid: str) -> tuple[str | None, str]:
    """The exported download_url, and the PDF's key in the bucket it names."""
    url = fields.get("download_url", "").strip()
    if not url:
        return None, pdf_key(download_uuid, PDF_NAME)
    parts = urlsplit(url)
    found = pdf_key_in(parts.path) if parts.scheme in ("http", "https") and parts.netloc else None
    if found is None or not url.isprintable() or any(c in url for c in " \"'<>\\"):
        raise RowError("download_url", "not an http(s) URL of a PDF in the bucket's downloads/<download_uuid>/ "
                                        "folder (leave it empty for downloads/<download_uuid>/Certificate.pdf)")
    if found[0] != download_uuid:
        raise RowError("download_url", "names another download_uuid than the row's")
    return url, pdf_key(*found)


__all__ = ["EXPORT_COLUMNS", "LegacyCertificate", "LegacyExport", "SeenIds", "course_org", "legacy_certificate",
           "load_legacy", "read_export", "read_legacy"]
