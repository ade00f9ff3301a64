"""Loading the credentials of every record file, without redoing work for unchanged files.

Each file's validated credentials (and the digest of each record) are kept in
build/.sitegen/records/, named by the SHA-256 of the file's bytes and of the parts of
site.yml that validation reads (course ids and modes, program ids). An unchanged file
is neither parsed nor validated again: YAML is slow (100k records take many seconds
even with libyaml), and so is checking 100k records in Python.

A CSV or JSON Lines file that only grew (an issuer's CI appends the new awards to its
export) is not read whole either: its entry notes where the reading ended
(records.ReadEnd), and `index.json` the length of each file's cached version. When a
file's bytes start with exactly that many bytes whose entry is cached, that entry's
credentials are kept and only the bytes after them read and checked, giving exactly what
a whole read gives (credentials, digests and problems, their lines and order). The index
is only a hint: the entry of those bytes is looked up by their SHA-256 like any other, so
a wrong or crafted length finds nothing, and the file is read whole. The grown file's entry
holds only what was appended, and names the entry it follows ("appended_to"): writing the
JSON of 100k credentials again for one more costs half a second. Entries are chained at
most `MAX_LINKS` deep; the next append writes the file's entry whole again.

The cache is JSON, read back field by field: CI restores build/ from shared caches, so a
crafted cache file must not be able to run code (as a pickle could). Anything in it that
is not exactly what this module writes is ignored and the file read again.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sitegen.errors import Problem
from sitegen.layout import RECORDS_CACHE_DIR, are_uuids, is_sha256
from sitegen.load.records import RawRecord, ReadEnd, read_appended, read_records, record_files
from sitegen.load.validate import duplicate_problems, future_problems, validate_record
from sitegen.memory import collector_paused
from sitegen.model import Attribute, Credential, Site, SourceLocation
from sitegen.plan.build_plan import record_digest
from sitegen.write.files import store_cache, write_atomic

# Bumped whenever validation changes: an entry holds what the rules of its day let through.
CACHE_FORMAT = b"sitegen-records-7\n"
INDEX_FILE = "index.json"  # display name -> length of the version whose entry is cached
MAX_LINKS = 16  # entries a file's credentials may be read from: a few milliseconds each


@dataclass
class _Entry:
    """One record file's credentials, their digests and its problems, and where its reading ended."""

    credentials: list[Credential]
    digests: list[str]
    problems: list[Problem]
    end: ReadEnd
    keys: list[str] = field(default_factory=list)  # the cache entries it is read from, the first one first


@dataclass
class LoadedCredentials:
    credentials: list[Credential]
    record_digests: list[str]  # same order as credentials
    problems: list[Problem]
    cache_dir: Path | None = None
    new_entries: dict[str, bytes] = field(default_factory=dict)  # key -> JSON, not yet stored
    kept: set[str] = field(default_factory=set)
    lengths: dict[str, int] = field(default_factory=dict)  # the index to store (see INDEX_FILE)
    read_lengths: dict = field(default_factory=dict)  # the index as read: a hint, any values

    def keep_only(self, wanted: Callable[[Credential], bool]) -> None:
        """Drop the credentials another site publishes (they were checked all the same)."""
        kept = [(c, d) for c, d in zip(self.credentials, self.record_digests, strict=True) if wanted(c)]
        self.credentials = [c for c, _ in kept]
        self.record_digests = [d for _, d in kept]

    def save_cache(self) -> None:
        """Store what was read afresh and forget entries of files that changed; called once
        the build knows the input is good (a failed build writes nothing)."""
        if self.cache_dir is not None:
            store_cache(self.cache_dir, self.new_entries, self.kept | {INDEX_FILE})
            if self.lengths != self.read_lengths:  # a no-op build writes nothing
                write_atomic(self.cache_dir / INDEX_FILE, json.dumps(self.lengths, ensure_ascii=False).encode())


def load_credentials(site: Site, out_dir: Path | None, today: dt.date | None = None) -> LoadedCredentials:
    """Every record file's credentials and problems; `today` (default: the date in UTC,
    the clock signatures are made by) is checked here, outside the cache, so an issue
    date in the future is refused today and accepted once it has come."""
    cache_dir = out_dir / RECORDS_CACHE_DIR if out_dir is not None else None
    loaded = LoadedCredentials([], [], [], cache_dir)
    loaded.read_lengths = _read_index(cache_dir)
    context = _validation_context(site)
    for path in record_files(site.root):
        display = path.relative_to(site.root).as_posix()
        data = path.read_bytes()
        key = _key(context, display, data)
        entry = _cached(cache_dir, key, display)
        if entry is None:
            entry, stored = _read_file(cache_dir, loaded.read_lengths.get(display), context, path, display, data,
                                       key, site)
            if stored is not None:  # the cache's JSON of 600k records takes seconds to make
                loaded.new_entries[key] = stored
        loaded.kept.update(entry.keys)
        if entry.end.lines is not None:
            loaded.lengths[display] = len(data)
        loaded.credentials.extend(entry.credentials)
        loaded.record_digests.extend(entry.digests)
        loaded.problems.extend(entry.problems)
    loaded.problems.extend(duplicate_problems(loaded.credentials))
    today = today or dt.datetime.now(dt.UTC).date()
    loaded.problems.extend(future_problems(loaded.credentials, today))
    return loaded


def _key(context: bytes, display: str, data: bytes) -> str:
    name = display.encode("utf-8", "surrogateescape")  # a name that is not UTF-8 is refused when read
    return hashlib.sha256(CACHE_FORMAT + context + name + b"\0" + data).hexdigest()


def _load_file(path: Path, display: str, site: Site) -> _Entry:
    end = ReadEnd()
    return _checked(read_records(path, display, end), end, site)


def _read_file(cache_dir: Path | None, length, context: bytes, path: Path, display: str, data: bytes,
               key: str, site: Site) -> tuple[_Entry, bytes | None]:
    """The entry of a file that is not in the cache, and its JSON to cache under `key`. A
    file whose first `length` bytes (the index's hint) are a cached version has only the
    bytes after them read; its JSON holds those alone, unless the chain is long enough."""
    before = _previous(cache_dir, length, context, display, data)
    if before is not None:
        end = ReadEnd()
        records = read_appended(path, display, data, length, before.end, end)
        if records is not None:
            added = _checked(records, end, site)
            added.keys = [key]
            if len(before.keys) < MAX_LINKS:
                return _joined(before, added), _entry_json(added, display, appended_to=before.keys[-1])
            entry = _joined(before, added)
            entry.keys = [key]
            return entry, _entry_json(entry, display)
    entry = _load_file(path, display, site)
    entry.keys = [key]
    return entry, None if cache_dir is None else _entry_json(entry, display)


def _previous(cache_dir: Path | None, length, context: bytes, display: str, data: bytes) -> _Entry | None:
    """The cached entry of the first `length` bytes of `data`, if there is one."""
    if type(length) is not int or not 0 < length < len(data):
        return None
    return _cached(cache_dir, _key(context, display, data[:length]), display)


def _checked(records: Iterator[RawRecord | Problem], end: ReadEnd, site: Site) -> _Entry:
    """Each raw record checked as it is read, then dropped; `end` as the reading leaves it."""
    credentials, digests, problems = [], [], []
    with collector_paused():
        for record in records:
            if isinstance(record, Problem):
                problems.append(record)
                continue
            credential, found = validate_record(record, site)
            problems.extend(found)
            if credential is not None:
                credentials.append(credential)
                digests.append(record_digest(credential))
    return _Entry(credentials, digests, problems, end)


def _read_index(cache_dir: Path | None) -> dict[str, int]:
    """Each file's length when its entry was made: a hint, checked by the entry's key."""
    if cache_dir is None:
        return {}
    try:
        index = json.loads((cache_dir / INDEX_FILE).read_bytes())
    except (OSError, ValueError):
        return {}
    return index if isinstance(index, dict) else {}


def _validation_context(site: Site) -> bytes:
    """The parts of site.yml that decide whether a record is valid."""
    courses = sorted((course.id, course.modes) for course in site.courses.values())
    return hashlib.sha256(repr((courses, sorted(site.programs))).encode()).hexdigest().encode()


# -- the cache file: JSON, one list per field ----------------------------------------
# {"columns": {"uuid": [...], "username": [...], ..., "file": [...], "line": [...]},
#  "attribute_lists": [[[namespace, name, value], ...], ...],
#  "digests": [...], "problems": [[file, line, field, message], ...],
#  "end": {"lines": n, "header": [...] or null} or null,
#  "appended_to": key}: only in the entry of bytes appended to the version cached under key
# The n-th item of every column is the n-th credential's. Read a column at a time, each
# checked and converted whole: a no-op build reads 100k credentials from here. The
# "attributes" column holds indexes into "attribute_lists": credentials of a course mostly
# have the same few (grades), and each distinct list is then read and made once.


def _entry_json(entry: _Entry, display: str, appended_to: str | None = None) -> bytes:
    credentials, digests, problems, end = entry.credentials, entry.digests, entry.problems, entry.end
    columns = {name: [getattr(c, name) for c in credentials] for name in _COLUMNS}
    for name in ("issued", "expires", "revocation_date"):
        columns[name] = [None if day is None else day.isoformat() for day in columns[name]]
    distinct: dict[tuple, int] = {}
    columns["attributes"] = [distinct.setdefault(attributes, len(distinct)) for attributes in columns["attributes"]]
    # The source file is the record file, except for items of a paginated API export.
    columns["file"] = [c.source.file if c.source and c.source.file != display else None for c in credentials]
    columns["line"] = [c.source.line if c.source else None for c in credentials]
    data = {"columns": columns, "attribute_lists": [[list(a) for a in attributes] for attributes in distinct],
            "digests": digests,
            "problems": [[p.file, p.line, p.field, p.message] for p in problems],
            "end": None if end.lines is None else {"lines": end.lines, "header": end.header}}
    if appended_to is not None:
        data["appended_to"] = appended_to
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")


def _cached(cache_dir: Path | None, key: str, display: str, links: int = 1) -> _Entry | None:
    if cache_dir is None:
        return None
    try:
        with collector_paused():  # 100k credentials are a million objects, and no cycle
            data = json.loads((cache_dir / key).read_bytes().decode("utf-8", "surrogatepass"))
            credentials = _credentials_from_columns(data["columns"], data["attribute_lists"], display)
        digests = _strings(data["digests"])
        problems = [Problem(str(f), _optional_int(line), _optional_str(fld), str(message))
                    for f, line, fld, message in data["problems"]]
        end = _read_end(data.get("end"))
        before = data.get("appended_to")
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError):
        return None  # missing, damaged by a crash, or not ours: read the file again
    if len(digests) != len(credentials):
        return None
    entry = _Entry(credentials, digests, problems, end, [key])
    return entry if before is None else _after(cache_dir, before, entry, display, links)


def _after(cache_dir: Path, key, appended: _Entry, display: str, links: int) -> _Entry | None:
    """The entry of a version, read from the entry of the version it grew from (under `key`)
    and `appended`, what was added to it; None if that is not in the cache as it should be."""
    # A key from the cache names a file: a name of 64 hex digits, never a path. A loop of
    # entries (only a crafted cache can hold one) ends at the limit.
    if not is_sha256(key) or links >= MAX_LINKS:
        return None
    before = _cached(cache_dir, key, display, links + 1)
    return None if before is None else _joined(before, appended)


def _joined(before: _Entry, appended: _Entry) -> _Entry:
    """A file's entry from its version before and what was appended to it."""
    return _Entry(before.credentials + appended.credentials, before.digests + appended.digests,
                  before.problems + appended.problems, appended.end, before.keys + appended.keys)


def _read_end(end) -> ReadEnd:
    """Where the file's reading ended; an entry without it (an older sitegen's) is not read on."""
    if end is None:
        return ReadEnd()
    lines, header = end["lines"], end["header"]
    if type(lines) is not int or lines < 0:
        raise ValueError("not a count of lines")
    return ReadEnd(lines, None if header is None else _strings(header))


def _credentials_from_columns(columns: dict, attribute_lists: list, display: str) -> list[Credential]:
    count = len(columns["uuid"])
    if not all(isinstance(columns[name], list) and len(columns[name]) == count for name in (*_COLUMNS, "file", "line")):
        raise ValueError("columns of different lengths")
    readers = dict(_COLUMNS, attributes=functools.partial(_attributes, attribute_lists=attribute_lists))
    values = [readers[name](columns[name]) for name in _COLUMNS]
    files = [display if where is None else str(where) for where in columns["file"]]
    sources = _made(SourceLocation, zip(files, _optional_ints(columns["line"])))
    return list(_made(Credential, zip(*values, sources)))  # in Credential's field order


def _made(kind: type, rows):
    """`kind._make` of each row, done in C: a cache row has every field, so nothing is
    left to check (`_make` is Python, and 100k credentials take it 0.1 s)."""
    return map(functools.partial(tuple.__new__, kind), rows)


def _uuids(column: list) -> list:
    if not are_uuids(column):
        raise ValueError("not a credential ID")
    return column


def _strings(column: list) -> list:
    return _of_types(column, str)


def _optional_strings(column: list) -> list:
    return _of_types(column, str, type(None))


def _optional_ints(column: list) -> list:
    return _of_types(column, int, type(None))


def _of_types(column: list, *types: type) -> list:
    if not set(map(type, column)).issubset(types):  # the types present, looked at in one pass in C
        raise ValueError(f"not a {types[0].__name__}")
    return column


def _dates(column: list) -> list:
    return list(map(dt.date.fromisoformat, column))


def _optional_dates(column: list) -> list:
    return [None if value is None else dt.date.fromisoformat(value) for value in column]


def _attributes(column: list, attribute_lists: list) -> list:
    """Each credential's attributes, from its index into the file's distinct lists."""
    made = [tuple(Attribute(str(n), str(k), str(v)) for n, k, v in attributes) for attributes in attribute_lists]
    if column and (min(_of_types(column, int)) < 0 or max(column) >= len(made)):
        raise ValueError("not an index of an attribute list")
    return list(map(made.__getitem__, column))


# Credential's fields but its source (two columns, "file" and "line"), in Credential's order:
# `_credentials_from_columns` makes each credential from them positionally.
_COLUMNS = {
    "uuid": _uuids, "username": _strings, "full_name": _strings, "credential_type": _strings, "status": _strings,
    "issued": _dates, "course_id": _optional_strings, "program_id": _optional_strings,
    "certificate_type": _optional_strings, "expires": _optional_dates, "revocation_reason": _optional_strings,
    "attributes": _attributes, "revocation_date": _optional_dates,
}


def _optional_str(value) -> str | None:
    return None if value is None else str(value)


def _optional_int(value) -> int | None:
    return None if value is None else int(value)
