"""`sitegen purge <verify_uuid>` of a legacy certificate: an erasure request in the export.

As `sitegen purge` of a record (sitegen/lifecycle/purge.py), and with its pieces: the
row is removed from the export where it is, every other byte kept (record_edit), checked by
reading the file back, written atomically; first its verify_uuid goes into the legacy
purge list (`purge_list.py`) with what the next build and publish need to erase its
files (the PDF's key) and the platform's certificate id, so a crash between the two
leaves the row listed: the build refuses it and says to run purge again, which finishes.
Nothing printed or refused holds the learner's name.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from sitegen.layout import is_uuid
from sitegen.legacy.export import RowError, legacy_certificate
from sitegen.legacy.gate import LEGACY_PURGE_LIST, export_files
from sitegen.legacy.paths import pdf_key
from sitegen.legacy.purge_list import appended, entry_line, load_legacy_purge_list, read_legacy_purge_list
from sitegen.lifecycle.purge import PurgeRefused, deletion_problem, leftovers, normalised_uuid
from sitegen.lifecycle.record_edit import EditRefused, delete_record
from sitegen.lifecycle.revoke import UTF8_BOM, records_lock, sync_folder, write_synced
from sitegen.load.records import RECORDS_DIR, FileRecords, read_record_file
from sitegen.model import SourceLocation

PLATFORM_COMMAND = "./manage.py lms purge_references_to_pdf_certificates --certificate_ids"


@dataclass(frozen=True)
class LegacyPurgeResult:
    verify_uuid: str
    location: SourceLocation  # where the row was
    certificate_ids: tuple[str, ...]  # the export's `id`: for the platform's purge command
    listed: SourceLocation
    leftovers: tuple[SourceLocation, ...] = ()


@dataclass(frozen=True)
class _Row:
    path: Path
    file: FileRecords
    index: int


def is_legacy_id(site_root: Path, uuid: str) -> bool:
    """Whether `uuid` is the verify_uuid of a row of an export (or is in the legacy purge list)."""
    try:
        uuid = normalised_uuid(uuid)
    except PurgeRefused:
        return False
    return uuid in load_legacy_purge_list(site_root) or bool(_rows(site_root, uuid))


def purge_legacy(site_root: Path, uuid: str, today: dt.date | None = None) -> LegacyPurgeResult:
    verify_uuid = normalised_uuid(uuid)
    date = today or dt.datetime.now(dt.UTC).date()
    folder = site_root / RECORDS_DIR
    with records_lock(folder):
        listed = load_legacy_purge_list(site_root)
        if listed.problems:
            raise PurgeRefused(f"{listed.problems[0]} (fix the legacy purge list first); nothing changed")
        rows = _rows(site_root, verify_uuid)
        if not rows and verify_uuid in listed:
            raise PurgeRefused(f"{verify_uuid} is already purged ({listed.entries[verify_uuid].source}) and no "
                               "export has it; nothing to do")
        if len(rows) != 1:
            places = ", ".join(str(r.file.records[r.index].source) for r in rows)
            raise PurgeRefused(f"{verify_uuid} is in {len(rows)} rows ({places}): remove the duplicate first; "
                               "nothing changed")
        return _purge(site_root, verify_uuid, rows[0], listed, date)


def _rows(site_root: Path, verify_uuid: str) -> list[_Row]:
    found = []
    for path in export_files(site_root):
        file = read_record_file(path, path.relative_to(site_root).as_posix())
        for index, row in enumerate(file.records):
            if row.fields.get("verify_uuid", "").strip() == verify_uuid:
                found.append(_Row(path, file, index))
    return found


def _purge(site_root: Path, verify_uuid: str, row: _Row, listed, date: dt.date) -> LegacyPurgeResult:
    record = row.file.records[row.index]
    if row.file.problems:
        raise PurgeRefused(f"{row.file.problems[0]} (fix this first: purge edits only files that read "
                           "without problems); nothing changed")
    if row.path.is_symlink():
        raise PurgeRefused(f"{record.source}: the file is a symbolic link; purge in the file it points to")
    pdf, certificate_id = _erase_facts(record)
    data = row.path.read_bytes()
    bom = UTF8_BOM if data.startswith(UTF8_BOM) else b""
    temporary = row.path.with_name(f".{row.path.stem}.purge-{os.getpid()}{row.path.suffix}")
    try:
        try:
            text = delete_record(".csv", data[len(bom):].decode("utf-8"), row.index, record.source.line)
        except EditRefused as err:
            raise PurgeRefused(f"{record.source}: {err}; nothing changed: edit the file by hand") from None
        write_synced(temporary, bom + text.encode("utf-8"), row.path.stat().st_mode)
        problem = deletion_problem(row.file, read_record_file(temporary, row.file.path), row.index)
        if problem:
            raise PurgeRefused(f"{record.source}: cannot remove the row safely ({problem}); nothing changed")
        if verify_uuid not in listed:  # first the list, then the export: see the module's docstring
            listed = _add_to_list(site_root, verify_uuid, date, pdf, certificate_id)
        os.replace(temporary, row.path)
        sync_folder(row.path.parent)
    finally:
        temporary.unlink(missing_ok=True)
    entry = listed.entries[verify_uuid]
    ids = (entry.certificate_id,) if entry.certificate_id else ()
    return LegacyPurgeResult(verify_uuid, record.source, ids, entry.source,
                             leftovers(site_root, {"full_name": record.fields.get("name")}))


def _erase_facts(record) -> tuple[str | None, str | None]:
    """The PDF's key and the certificate id of the row, as far as the row says them: a row
    that is not downloadable may have no PDF; a bad one is still erased (its page and sig)."""
    fields = dict(record.fields, status="downloadable")
    certificate_id = fields.get("id", "").strip()
    certificate_id = certificate_id if certificate_id.isdigit() and len(certificate_id) < 19 else None
    try:
        return legacy_certificate(fields, record.source).pdf_key, certificate_id
    except RowError:  # a bad field: the PDF's key is then the default one, if the row names it
        download_uuid = fields.get("download_uuid", "").strip()
        if is_uuid(download_uuid):
            return pdf_key(download_uuid), certificate_id
        return None, certificate_id


def _add_to_list(site_root: Path, verify_uuid: str, date: dt.date, pdf: str | None, certificate_id: str | None):
    path = site_root / LEGACY_PURGE_LIST
    old = path.read_bytes() if path.exists() else b""
    temporary = path.with_name(f".{path.stem}.purge-{os.getpid()}{path.suffix}")
    try:
        write_synced(temporary, appended(old, entry_line(verify_uuid, date, pdf, certificate_id)),
                     path.stat().st_mode if path.exists() else 0o644)
        after = read_legacy_purge_list(temporary, LEGACY_PURGE_LIST)
        if after.problems or verify_uuid not in after:
            raise PurgeRefused(f"{LEGACY_PURGE_LIST}: cannot add {verify_uuid} safely; nothing changed")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    sync_folder(path.parent)
    return after


def run_legacy_purge(site_root: Path, uuid: str) -> int:
    """The command's output: where the row was, what is next, and the platform's command."""
    result = purge_legacy(site_root, uuid)
    print(f"{result.location}: purged legacy certificate {result.verify_uuid}: its row is removed and its ID "
          f"added to {result.listed}; commit {RECORDS_DIR}/, then run sitegen build && sitegen publish to remove "
          "its PDF, its signature and its pages (locally and in the bucket)")
    if result.certificate_ids:
        print(f"once published, on the platform: {PLATFORM_COMMAND} {' '.join(result.certificate_ids)}")
    if result.leftovers:
        places = ", ".join(str(p) for p in result.leftovers[:20])
        print(f"sitegen: warning: the learner's name is still written at {places}: other certificates of "
              "theirs (purge them too if the request covers them), a namesake's, or a note", file=sys.stderr)
    return 0
