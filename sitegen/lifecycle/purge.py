"""`sitegen purge UUID`: an erasure request, in the record files.

The record is removed from the file where it lives, every other byte of that file kept,
and its ID is added to the purge list (credentials_data/purged.txt, see
sitegen/load/purge_list.py), so that the next build removes every output made from it and
never builds it again from a stale copy. As `sitegen revoke` (revoke.py), each step refuses
with one line (a `PurgeRefused`) and nothing changed:

1. the ID is checked (the platform's 8-4-4-4-12 form is accepted) and the purge list must
   read without problems;
2. every record file is read with the build's readers: the ID must be in exactly one
   record, in a file that reads without problems;
3. the record's text is removed from the file's text (record_edit.delete_record), or, when
   it is the file's only record, the whole file goes;
4. the new bytes go to a temporary file beside it, flushed to disk, and are read back with
   the same reader: exactly that record must be gone and every other one equal;
5. the purge list, with the ID added, is written the same way, read back, and renamed over
   the old one; only then is the record file replaced (or removed).

The order of 5 is what makes a crash safe. A crash before the purge list is renamed leaves
everything as it was. A crash between the two renames leaves the record and its ID in the
purge list: the build refuses to build a listed credential (and says to run purge again),
and running `sitegen purge` again finishes the job. The record can never be gone while its
ID is missing from the list: that is the state in which a stale copy (an old checkout, a
cache) could bring the credential back. Temporary files never hold the purged record.

Purges and revokes in one project take turns (the lock on credentials_data/ of revoke.py).
Nothing purge prints or refuses with holds the learner's name or username: it ends up in
CI logs.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path

from sitegen.errors import SitegenError
from sitegen.layout import is_uuid
from sitegen.lifecycle.record_edit import EditRefused, delete_record
from sitegen.lifecycle.revoke import (
    UTF8_BOM,
    FoundRecord,
    records_lock,
    records_with_id,
    sync_folder,
    write_synced,
)
from sitegen.load.config import load_sites
from sitegen.load.purge_list import PURGE_LIST, PurgeList, appended, load_purge_list, read_purge_list
from sitegen.load.records import RECORDS_DIR, FileRecords, read_record_file
from sitegen.load.validate import validate_record
from sitegen.model import SourceLocation

_DASHED_UUID = re.compile(r"([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})")
_TEMPORARY = re.compile(r"\..+\.purge-[0-9]+\.(csv|jsonl|json|yml|yaml|txt)", re.IGNORECASE)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
MAX_LEFTOVERS = 20  # places named; a learner with more is found with grep


class PurgeRefused(SitegenError):
    """Why the credential was not purged: one line; no file was changed."""


@dataclass(frozen=True)
class PurgeResult:
    uuid: str
    location: SourceLocation  # where the record was (file:line, as the build names it)
    file_removed: bool  # the record was its file's only one: the file is gone
    listed: SourceLocation  # its line in the purge list
    resumed: bool  # the ID was in the purge list already: an interrupted purge is finished
    # Places in credentials_data/ where the learner's username or name is still written:
    # other credentials of theirs, or of a namesake, or a note. Never the text itself.
    leftovers: tuple[SourceLocation, ...] = ()


def normalised_uuid(uuid: str) -> str:
    """The credential ID as records and URLs write it: the Credentials API's hyphenated
    form (which erasure requests from the platform carry) without its hyphens."""
    dashed = _DASHED_UUID.fullmatch(uuid)
    uuid = "".join(dashed.groups()) if dashed else uuid
    if not is_uuid(uuid):
        # Not quoted: what was typed may be the learner's name, and this line ends up in CI logs.
        raise PurgeRefused("UUID: not a credential ID (32 lowercase hex digits as in its URL, "
                           "or the platform's 8-4-4-4-12 form); nothing changed")
    return uuid


def purge(site_root: Path, uuid: str, today: dt.date | None = None) -> PurgeResult:
    """Remove the record of credential `uuid` and add it to the purge list; PurgeRefused if not."""
    uuid = normalised_uuid(uuid)
    date = today or dt.datetime.now(dt.UTC).date()
    folder = site_root / RECORDS_DIR
    if not folder.is_dir():
        raise PurgeRefused(f"{folder}: no such folder (is --site the project folder?)")
    with records_lock(folder):  # the lock revokes take: one edit of the records at a time
        _remove_stale_temporaries(folder)  # with the lock held, no purge is writing one
        return _purge(site_root, uuid, date)


def _purge(site_root: Path, uuid: str, date: dt.date) -> PurgeResult:
    listed = _checked_purge_list(site_root)
    found = _find(site_root, uuid, listed)
    _check_removable(found)
    data = found.path.read_bytes()
    bom = UTF8_BOM if data.startswith(UTF8_BOM) else b""  # the reader skips it; the file keeps it
    source = found.record.source
    file_removed = len(found.file.records) == 1
    temporary = _temporary(found.path)
    try:
        if not file_removed:
            try:
                text = delete_record(found.path.suffix.lower(), data[len(bom):].decode("utf-8"),
                                     found.index, source.line)
            except EditRefused as err:
                raise PurgeRefused(f"{source}: {err}; nothing changed: edit the file by hand") from None
            _write_beside(temporary, bom + text.encode("utf-8"), found.path.stat().st_mode, source)
            problem = deletion_problem(found.file, read_record_file(temporary, found.file.path), found.index)
            if problem:
                raise PurgeRefused(f"{source}: cannot remove the record safely ({problem}); "
                                   "nothing changed: edit the file by hand")
        resumed = uuid in listed
        if not resumed:  # first the purge list, then the record: see the module's docstring
            listed = _add_to_purge_list(site_root, listed, uuid, date, _publishing_site(site_root, found))
        if file_removed:
            found.path.unlink()
        else:
            os.replace(temporary, found.path)
        sync_folder(found.path.parent)
    finally:
        temporary.unlink(missing_ok=True)
    return PurgeResult(uuid, source, file_removed, listed.location(uuid), resumed,
                       leftovers(site_root, found.record.fields))


def _checked_purge_list(site_root: Path) -> PurgeList:
    path = site_root / PURGE_LIST
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise PurgeRefused(f"{PURGE_LIST}: not a regular file (a symbolic link?): make it one; nothing changed")
    listed = load_purge_list(site_root)
    if listed.problems:
        raise PurgeRefused(f"{listed.problems[0]} (fix the purge list first); nothing changed")
    return listed


def _find(site_root: Path, uuid: str, listed: PurgeList) -> FoundRecord:
    """The one record of credential `uuid`, as the build reads the record files."""
    found, hint = records_with_id(site_root, uuid)
    if not found and uuid in listed:
        raise PurgeRefused(f"{uuid} is already purged ({listed.location(uuid)}) and no record has it{hint}; "
                           "nothing to do")
    if not found:
        raise PurgeRefused(f"no record in {RECORDS_DIR}/ has the credential ID {uuid}{hint}; nothing changed")
    if len(found) > 1:
        places = ", ".join(str(f.record.source) for f in found)
        raise PurgeRefused(f"{uuid} is in {len(found)} records ({places}): remove the duplicate first; "
                           "nothing changed")
    return found[0]


def _check_removable(found: FoundRecord) -> None:
    if found.file.problems:
        # Only a file the reader reads whole can be checked record by record after the edit.
        raise PurgeRefused(f"{found.file.problems[0]} (fix this first: purge edits only files "
                           "that read without problems); nothing changed")
    if found.path.is_symlink():
        raise PurgeRefused(f"{found.record.source}: the file is a symbolic link; purge in the file it points to")


def deletion_problem(before: FileRecords, after: FileRecords, index: int) -> str | None:
    """What is wrong with the file after the deletion, if anything: it must read cleanly,
    with the records it had, in their order, except the one at `index`."""
    if after.problems:
        return f"the edited file would read as: {after.problems[0]}"
    expected = before.records[:index] + before.records[index + 1:]
    if len(after.records) != len(expected):
        return f"the edited file would hold {len(after.records)} records, not {len(expected)}"
    for old, new in zip(expected, after.records):
        if new.fields != old.fields:
            return f"the record at {old.source} would change too"
    return None


def _publishing_site(site_root: Path, found: FoundRecord) -> str | None:
    """In a project of several sites, the one that published the credential, so that only
    that site answers "no longer available" for it; None when there is one site or the
    record or site.yml cannot say (then every site does: no personal data is in that page)."""
    try:
        sites = load_sites(site_root)
    except SitegenError:
        return None
    credential, _ = validate_record(found.record, sites[0])
    if credential is None or not sites[0].key:
        return None
    return next((site.key for site in sites if site.owns(credential)), None)


def _add_to_purge_list(site_root: Path, listed: PurgeList, uuid: str, date: dt.date,
                       site: str | None) -> PurgeList:
    """Write the purge list with `uuid` added: beside it, read back, renamed over it, and
    the folder flushed before anything else happens."""
    path = site_root / PURGE_LIST
    old = path.read_bytes() if path.exists() else b""
    mode = path.stat().st_mode if path.exists() else 0o666 & ~_umask()
    temporary = _temporary(path)
    try:
        _write_beside(temporary, appended(old, uuid, date, site), mode, SourceLocation(PURGE_LIST, None))
        after = read_purge_list(temporary, PURGE_LIST)
        if after.problems or after.uuids != listed.uuids | {uuid}:
            raise PurgeRefused(f"{PURGE_LIST}: cannot add {uuid} safely "
                               f"({after.problems[0] if after.problems else 'other entries would change'}); "
                               "nothing changed")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    sync_folder(path.parent)
    return after


def _temporary(path: Path) -> Path:
    # A hidden name (the readers skip it) with the file's suffix, so its reader reads it.
    return path.with_name(f".{path.stem}.purge-{os.getpid()}{path.suffix}")


def _write_beside(temporary: Path, data: bytes, mode: int, source: SourceLocation) -> None:
    try:
        write_synced(temporary, data, mode)
    except OSError as err:  # a full disk, a read-only folder: the files are untouched
        raise PurgeRefused(f"{source}: cannot write beside the file ({err.strerror}); nothing changed") from None


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _remove_stale_temporaries(folder: Path) -> None:
    for path in folder.rglob(".*.purge-*"):
        if _TEMPORARY.fullmatch(path.name) and path.is_file():
            path.unlink(missing_ok=True)


def leftovers(site_root: Path, fields: dict) -> tuple[SourceLocation, ...]:
    """Where in credentials_data/ (any file, hidden ones included) the record's username or
    full name is still written, as a whole word: the places, never the text."""
    values = {value.strip() for value in (fields.get("username"), fields.get("full_name"))
              if isinstance(value, str) and len(value.strip()) >= 2}
    if not values:
        return ()
    pattern = re.compile("|".join(rf"(?<!\w){re.escape(value)}(?!\w)"
                                  for value in sorted(values, key=len, reverse=True)))
    folder = site_root / RECORDS_DIR
    places: list[SourceLocation] = []
    for path in sorted(folder.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        line, counted = 1, 0
        for match in pattern.finditer(text):
            line += len(_LINE_BREAK.findall(text, counted, match.start()))
            counted = match.start()
            place = SourceLocation(path.relative_to(site_root).as_posix(), line)
            if not places or places[-1] != place:
                places.append(place)
            if len(places) > MAX_LEFTOVERS:
                return tuple(places)
    return tuple(places)
