"""Build state kept beside the output (build/.sitegen/state.json, never published).

For every credential: a digest of everything it was made from except the theme files,
the set of theme files (templates, assets) its render actually loaded, and a stamp of
every output file it owns (SHA-256, size, modification time). A missing or altered
output is seen by its stamp and rebuilt, as Lektor checks its artifacts. Theme file sets
are shared between credentials, so a template change is checked once per set.

A credential the build is about to touch is marked uncertain, and the state saved,
before any of its files is written; it becomes certain again only once all its files
are. So after a build that failed or was killed part-way, the next build redoes every
credential it may have left half-written, whatever the records say by then.

The file is JSON (never pickle: CI restores build/ from shared caches) and replaced
atomically. Each credential is one flat list, and stays that list until something asks
for its entry: a no-op build of 100k credentials checks every one and changes none, and
a dict of stamps per credential took it longer to read than everything else it does.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import NamedTuple, TypeVar

from sitegen.layout import CREDENTIAL_OUTPUTS, STATE_FILE, are_uuids, is_sha256, is_site_path, is_uuid
from sitegen.memory import collector_paused
from sitegen.write.files import write_atomic

STATE_FORMAT = 4
State = TypeVar("State")
# A credential's entry in the file, a flat list: [uuid, inputs, theme_files, uncertain,
# then kind, sha256, size, mtime_ns of each output, in the order they were written].
INPUTS, THEME_FILES, UNCERTAIN, OUTPUTS = 1, 2, 3, 4
STAMP_SIZE = 4  # items per output: its kind, then at these offsets:
SHA256, SIZE, MTIME_NS = 1, 2, 3


class OutputStamp(NamedTuple):
    """What an output file was when it was written: its digest, and how to notice a change
    without reading it (size and modification time)."""

    sha256: str
    size: int
    mtime_ns: int


@dataclass(slots=True)
class CredentialState:
    inputs: str  # digest of record, site settings, key, options, sitegen version
    theme_files: int  # index into BuildState.theme_file_sets
    outputs: dict[str, OutputStamp]  # output kind (see sitegen.layout) -> stamp
    uncertain: bool = False  # a build started to rewrite it and did not finish

    @property
    def pdf_sha256(self) -> str | None:
        stamp = self.outputs.get("pdf")
        return stamp.sha256 if stamp else None

    def row(self, uuid: str) -> list:
        """The entry as the file keeps it (INPUTS, OUTPUTS...)."""
        row = [uuid, self.inputs, self.theme_files, int(self.uncertain)]
        for kind, stamp in self.outputs.items():
            row += (kind, *stamp)
        return row


class SavedCredentials(MutableMapping[str, CredentialState]):
    """The state's credentials, uuid -> CredentialState. An entry read from the file stays
    its row until it is asked for: a no-op build reads every one through `saved` and makes
    none (a CredentialState of each took 0.5 s of a no-op build of 100k credentials).

    A row is checked, when read, only where the plan could be misled into using it: its ID
    names files, its theme set index is an index. The rest is compared with what the build
    finds, so a wrong value only rebuilds; a row that does not convert to a CredentialState
    becomes an uncertain entry with no outputs, rebuilt as after a crash."""

    def __init__(self, rows: list | None = None):
        self._entries: dict[str, CredentialState | list] = _readable_rows(rows or [])

    def __getitem__(self, uuid: str) -> CredentialState:
        entry = self._entries[uuid]
        if isinstance(entry, list):
            entry = self._entries[uuid] = _credential_from_row(entry)
        return entry

    def __setitem__(self, uuid: str, entry: CredentialState) -> None:
        self._entries[uuid] = entry

    def __delitem__(self, uuid: str) -> None:
        del self._entries[uuid]

    def __contains__(self, uuid: object) -> bool:
        return uuid in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def saved(self, uuid: str) -> list | None:
        """The entry of `uuid` as the file keeps it (INPUTS, OUTPUTS...), without making its
        CredentialState. Compare its values, never trust them (see the class)."""
        entry = self._entries.get(uuid)
        return entry if entry is None or isinstance(entry, list) else entry.row(uuid)

    def digests(self, kind: str) -> set[str]:
        """The SHA-256 of every output of `kind` (the share cards, the PDFs) the entries name."""
        found = set()
        for uuid in self._entries:
            saved = self.saved(uuid)
            kinds = saved[OUTPUTS::STAMP_SIZE]
            if kind in kinds:
                digest = saved[OUTPUTS + STAMP_SIZE * kinds.index(kind) + SHA256]
                if isinstance(digest, str):
                    found.add(digest)
        return found

    def order_as(self, uuids: Iterable[str]) -> None:
        """Keep the entries in the order of `uuids` (any others after them). The plan reads
        them in the records' order: saved in it, they are read back next to each other in
        memory, which a no-op build of 100k credentials does 0.1 s faster."""
        ordered = {uuid: self._entries[uuid] for uuid in uuids if uuid in self._entries}
        ordered.update(self._entries)
        self._entries = ordered

    def rows(self) -> list[list]:
        return [entry if isinstance(entry, list) else entry.row(uuid) for uuid, entry in self._entries.items()]


@dataclass
class SitePagesState:
    """The site's own pages (content pages, keys, verify and 404 pages, assets, issuers and
    badge classes) as last rendered, vouched for as a credential's outputs are: the digest of
    what they were made from, the theme files their render loaded, and each file's size and
    modification time. A no-op build renders none of them."""

    inputs: str
    theme_files: int  # index into BuildState.theme_file_sets
    stamps: dict[str, tuple[int, int]]  # site path -> (size, mtime_ns)

    def to_json(self) -> list:
        return [self.inputs, self.theme_files, {path: list(stamp) for path, stamp in self.stamps.items()}]

    @classmethod
    def from_json(cls, data: list | None) -> SitePagesState | None:
        if data is None:
            return None
        inputs, theme_files, stamps = data
        stamps = {path: (int(size), int(mtime_ns)) for path, (size, mtime_ns) in stamps.items() if is_site_path(path)}
        return cls(str(inputs), int(theme_files), stamps)


@dataclass
class BuildState:
    credentials: SavedCredentials = field(default_factory=SavedCredentials)
    # Each set maps a theme file name ("template:certificate.html", "asset:site.css") to its digest.
    theme_file_sets: list[dict[str, str]] = field(default_factory=list)
    # Site-wide files (content pages, keys, verify, assets, status lists) written last time,
    # so that the ones no longer produced (a deleted page, an old asset fingerprint) can be
    # removed. Never a path outside the output folder: each is checked when read.
    shared_pages: list[str] = field(default_factory=list)
    site_pages: SitePagesState | None = None
    # Where each set is in theme_file_sets, found without comparing a credential's set with
    # each of them in turn (16 sets at 10k credentials of 5 courses: 16 us a credential).
    _set_indexes: dict[frozenset, int] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def load(cls, out_dir: Path) -> BuildState:
        # No state or an unreadable one: everything is uncertain, rebuild.
        return read_state(out_dir / STATE_FILE, STATE_FORMAT, cls._from_json) or cls()

    @classmethod
    def _from_json(cls, data: dict) -> BuildState:
        return cls(
            SavedCredentials(data["credentials"]),
            [{str(name): str(digest) for name, digest in files.items()} for files in data["theme_file_sets"]],
            [path for path in data["shared_pages"] if is_site_path(path)],
            SitePagesState.from_json(data["site_pages"]),
        )

    def save(self, out_dir: Path) -> None:
        data = {
            "format": STATE_FORMAT,
            "theme_file_sets": self.theme_file_sets,
            "shared_pages": self.shared_pages,
            "site_pages": self.site_pages.to_json() if self.site_pages else None,
            "credentials": self.credentials.rows(),
        }
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=True)
        write_atomic(out_dir / STATE_FILE, text.encode("ascii"))

    def mark_uncertain(self, uuids) -> bool:
        return mark_uncertain(self.credentials, uuids)

    def theme_file_set_index(self, files: dict[str, str]) -> int:
        key = frozenset(files.items())
        index = self._set_indexes.get(key)
        if index is None:
            index = self._set_indexes[key] = theme_file_set_index(self.theme_file_sets, files)
        return index

    def pdf_hashes(self) -> set[str]:
        """The SHA-256 of every PDF the state vouches for (or may have written)."""
        return self.credentials.digests("pdf")


def read_state(path: Path, version: int, read: Callable[[dict], State]) -> State | None:
    """`read(data)` of the JSON in a state file of this format version, read field by field;
    None when there is none, or it is unreadable or of another version."""
    try:
        with collector_paused():  # trees of lists and strings: nothing for it to find
            data = json.loads(path.read_text(encoding="utf-8"))
            return read(data) if isinstance(data, dict) and data.get("format") == version else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError):
        return None


def mark_uncertain(entries, uuids) -> bool:
    """Mark the entries of `uuids` that exist uncertain: about to be rewritten. Whether
    any was not already (a new credential has no entry: nothing vouches for its files)."""
    marked = False
    for uuid in uuids:
        entry = entries.get(uuid)
        if entry is not None and not entry.uncertain:
            entry.uncertain = marked = True
    return marked


def theme_file_set_index(sets: list[dict[str, str]], files: dict[str, str]) -> int:
    """The index of `files` in `sets`, added at the end when it is new."""
    for index, existing in enumerate(sets):
        if existing == files:
            return index
    sets.append(files)
    return len(sets) - 1


def _readable_rows(rows: list) -> dict[str, list]:
    """uuid -> row, of the rows the plan can read (`_row_is_readable`): all of them checked
    at once when they all are, as in a file this module wrote, else one by one."""
    if _all_readable(rows):
        return dict(zip(map(itemgetter(0), rows), rows))
    return {row[0]: row for row in rows if _row_is_readable(row)}


def _all_readable(rows: list) -> bool:
    """`_row_is_readable` of every row, a column at a time (0.3 s less of a no-op build of 100k)."""
    if set(map(type, rows)) - {list}:
        return False
    if not all(n >= OUTPUTS and (n - OUTPUTS) % STAMP_SIZE == 0 for n in set(map(len, rows))):
        return False
    return are_uuids(list(map(itemgetter(0), rows))) and set(map(type, map(itemgetter(THEME_FILES), rows))) <= {int}


def _row_is_readable(row: object) -> bool:
    """Where the plan could be misled by a row: its ID names files, its theme set is an index,
    and its outputs are read STAMP_SIZE items at a time."""
    return (isinstance(row, list) and len(row) >= OUTPUTS and (len(row) - OUTPUTS) % STAMP_SIZE == 0
            and is_uuid(row[0]) and type(row[THEME_FILES]) is int)


def _credential_from_row(row: list) -> CredentialState:
    try:
        outputs = {}
        for at in range(OUTPUTS, len(row), STAMP_SIZE):
            kind, sha256, size, mtime_ns = row[at:at + STAMP_SIZE]
            if kind not in CREDENTIAL_OUTPUTS or not is_sha256(sha256):  # a digest may name a file
                raise ValueError("not an output this sitegen writes")
            outputs[kind] = OutputStamp(sha256, int(size), int(mtime_ns))
        return CredentialState(str(row[INPUTS]), row[THEME_FILES], outputs, bool(row[UNCERTAIN]))
    except (ValueError, TypeError):  # a value the file should not hold: the entry vouches for nothing
        return CredentialState("", -1, {}, uncertain=True)
