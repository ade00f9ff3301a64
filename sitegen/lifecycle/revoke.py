"""`sitegen revoke UUID --reason TEXT`: mark a credential revoked in the record file where it lives.

Each step refuses with one line (a `RevokeRefused`) and nothing changed:
1. the UUID and the reason are checked (the reason by the build's own rule for free text);
2. every record file is read with the build's readers: the UUID must be in exactly one
   record, with status awarded, in a file that reads without problems;
3. the file's text is edited in place (record_edit.py): only the values of the fields set;
4. the new bytes go to a temporary file beside it, flushed to disk, and are read back with
   the same reader: exactly that record must have changed, and only by those fields;
5. the temporary file is renamed over the record file and the folder is flushed, so a
   crash at any moment leaves the old file or the new one, never a mix.
Revokes in one project run one at a time (a lock on credentials_data/): two at once cannot
lose one's edit, and a temporary file that a killed revoke left behind is removed.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import re
import stat
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sitegen.errors import SitegenError
from sitegen.layout import is_uuid
from sitegen.lifecycle.record_edit import EditRefused, csv_columns, edit_record
from sitegen.load.records import RECORDS_DIR, FileRecords, RawRecord, read_record_file, record_files
from sitegen.load.validate import character_problem
from sitegen.model import SourceLocation

UTF8_BOM = b"\xef\xbb\xbf"
_API_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_TEMPORARY = re.compile(r"\..+\.revoke-[0-9]+\.(csv|jsonl|json|yml|yaml)", re.IGNORECASE)


class RevokeRefused(SitegenError):
    """Why the credential was not revoked: one line; no file was changed."""


@dataclass(frozen=True)
class RevokeResult:
    uuid: str
    reason: str
    location: SourceLocation  # the record, as the build names it (file:line)
    fields: dict[str, str]  # what was written into it


@dataclass(frozen=True)
class FoundRecord:
    path: Path
    file: FileRecords  # the whole file as the build reads it
    index: int  # of the record among file.records

    @property
    def record(self) -> RawRecord:
        return self.file.records[self.index]


def revocation_fields(reason: str, today: dt.date) -> dict[str, str]:
    """The fields revoke sets, in the order they are added to a record that lacks them."""
    return {"status": "revoked", "revocation_reason": reason,
            "revocation_date": today.isoformat()}


def _fields_the_file_takes(suffix: str, text: str, changes: dict[str, str]) -> dict[str, str]:
    """A CSV file without a revocation_date column keeps its columns (adding one would change
    every line): the credential is revoked without a date, and its page shows none."""
    if suffix != ".csv" or "revocation_date" in csv_columns(text):
        return changes
    return {field: value for field, value in changes.items() if field != "revocation_date"}


def revoke(site_root: Path, uuid: str, reason: str, today: dt.date | None = None) -> RevokeResult:
    """Mark credential `uuid` revoked for `reason` in its record file; RevokeRefused if not."""
    if not is_uuid(uuid):
        raise RevokeRefused(f"{uuid[:40]!r} is not a credential ID (32 lowercase hex digits, as in its URL)")
    reason = checked_reason(reason)
    changes = revocation_fields(reason, today or dt.datetime.now(dt.UTC).date())
    with records_lock(site_root / RECORDS_DIR):
        found = find_record(site_root, uuid)
        _check_revocable(found, uuid)
        changes = _rewrite(found, changes)
    return RevokeResult(uuid, reason, found.record.source, changes)


def checked_reason(reason: str) -> str:
    """The reason as the page will show it: one line of printable text, ends trimmed."""
    text = reason.strip()
    if not text:
        raise RevokeRefused("--reason: must say why the credential is revoked (it is shown on its page)")
    problem = character_problem(text) or _unprintable(text)
    if problem:
        raise RevokeRefused(f"--reason: {problem}")
    return text


def _unprintable(text: str) -> str | None:
    # Spaces other than " " and format characters (joiners some scripts need) are text too;
    # character_problem has already refused controls, line breaks and bidi overrides.
    for char in text:
        if not (char.isprintable() or unicodedata.category(char) in ("Cf", "Zs")):
            return f"contains U+{ord(char):04X}, which is not a printable character"
    return None


def record_uuid(fields: dict) -> str | None:
    """The credential ID of raw record fields, as validate.py reads it: a Credentials API
    record (with a nested "credential") may write it with hyphens."""
    value = fields.get("uuid")
    if not isinstance(value, str):
        return None
    if isinstance(fields.get("credential"), dict) and _API_UUID.fullmatch(value):
        return value.replace("-", "")
    return value


def records_with_id(site_root: Path, uuid: str) -> tuple[list[FoundRecord], str]:
    """Every record of credential `uuid`, as the build reads the record files, and a hint
    naming a file that could not be read at all (the record may be there)."""
    found: list[FoundRecord] = []
    unreadable: list[str] = []
    for path in record_files(site_root):
        parsed = read_record_file(path, path.relative_to(site_root).as_posix())
        found += [FoundRecord(path, parsed, index) for index, record in enumerate(parsed.records)
                  if record_uuid(record.fields) == uuid]
        if parsed.problems and not parsed.records:
            unreadable.append(str(parsed.problems[0]))
    hint = f" (and {unreadable[0]}: fix it, the record may be there)" if unreadable else ""
    return found, hint


def find_record(site_root: Path, uuid: str) -> FoundRecord:
    """The one record of credential `uuid` in the project's record files."""
    found, hint = records_with_id(site_root, uuid)
    if not found:
        raise RevokeRefused(f"no record in {RECORDS_DIR}/ has the credential ID {uuid}{hint}")
    if len(found) > 1:
        places = ", ".join(str(f.record.source) for f in found)
        raise RevokeRefused(f"{uuid} is in {len(found)} records ({places}): remove the duplicate first")
    return found[0]


def _check_revocable(found: FoundRecord, uuid: str) -> None:
    where, fields = found.record.source, found.record.fields
    status = fields.get("status")
    if status == "revoked":
        raise RevokeRefused(f"{where}: {uuid} is already revoked "
                            f"(reason: {fields.get('revocation_reason')!s:.80}); nothing changed")
    if status != "awarded":
        raise RevokeRefused(f"{where}: status is {status!r:.40}, not 'awarded'; nothing changed")
    if found.file.problems:
        # Only a file the reader reads whole can be checked record by record after the edit.
        raise RevokeRefused(f"{found.file.problems[0]} (fix this first: revoke edits only files "
                            "that read without problems); nothing changed")
    if found.path.is_symlink():
        raise RevokeRefused(f"{where}: the file is a symbolic link; edit the file it points to by hand")


def _rewrite(found: FoundRecord, changes: dict[str, str]) -> dict[str, str]:
    """Edit the record in its file; the fields written (see _fields_the_file_takes)."""
    data = found.path.read_bytes()
    bom = UTF8_BOM if data.startswith(UTF8_BOM) else b""  # the reader skips it; the file keeps it
    text = data[len(bom):].decode("utf-8")
    source = found.record.source
    suffix = found.path.suffix.lower()
    changes = _fields_the_file_takes(suffix, text, changes)
    try:
        edited = edit_record(suffix, text, found.index, source.line, changes)
    except EditRefused as err:
        raise RevokeRefused(f"{source}: {err}; nothing changed") from None
    _replace_verified(found, bom + edited.encode("utf-8"), changes)
    return changes


def _replace_verified(found: FoundRecord, data: bytes, changes: dict[str, str]) -> None:
    """Write `data` beside the file, check it as the build will read it, then rename it over."""
    path = found.path
    # A hidden name, ignored by the readers, with the file's suffix, so its reader reads it.
    temporary = path.with_name(f".{path.stem}.revoke-{os.getpid()}{path.suffix}")
    try:
        try:
            write_synced(temporary, data, path.stat().st_mode)
        except OSError as err:  # a full disk, a read-only folder: the record file is untouched
            raise RevokeRefused(f"{found.record.source}: cannot write beside the file ({err.strerror}); "
                                "nothing changed") from None
        problem = edit_problem(found.file, read_record_file(temporary, found.file.path), found.index, changes)
        if problem:
            raise RevokeRefused(f"{found.record.source}: cannot edit this file safely ({problem}); "
                                "nothing changed: edit it by hand")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    sync_folder(path.parent)  # makes the rename itself durable


def edit_problem(before: FileRecords, after: FileRecords, index: int, changes: dict[str, str]) -> str | None:
    """What is wrong with the edited file, if anything: it must read cleanly, with the same
    records, the one at `index` changed by `changes` exactly and every other one equal."""
    if after.problems:
        return f"the edited file would read as: {after.problems[0]}"
    if len(after.records) != len(before.records):
        return f"the edited file would hold {len(after.records)} records, not {len(before.records)}"
    for position, (old, new) in enumerate(zip(before.records, after.records)):
        expected = {**old.fields, **changes} if position == index else old.fields
        if new.fields != expected:
            if position == index:
                return "the record would not read as revoked with this reason and nothing else changed"
            return f"the record at {old.source} would change too"
    return None


def write_synced(path: Path, data: bytes, mode: int) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        os.fchmod(handle.fileno(), stat.S_IMODE(mode))  # the record file keeps its permissions
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def sync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextmanager
def records_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on the records folder (revokes wait for each other)."""
    if not folder.is_dir():
        raise RevokeRefused(f"{folder}: no such folder (is --site the project folder?)")
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        _remove_stale_temporaries(folder)  # with the lock held, no revoke is writing one
        yield
    finally:
        os.close(descriptor)  # releases the lock


def _remove_stale_temporaries(folder: Path) -> None:
    for path in folder.rglob(".*.revoke-*"):
        if _TEMPORARY.fullmatch(path.name) and path.is_file():
            path.unlink(missing_ok=True)
