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
atomically.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, TypeVar

from sitegen.layout import STATE_FILE, is_uuid
from sitegen.write.files import write_atomic

STATE_FORMAT = 3
State = TypeVar("State")


class OutputStamp(NamedTuple):
    """What an output file was when it was written: its digest, and how to notice a change
    without reading it (size and modification time). A tuple: a state holds hundreds of
    thousands, and a no-op build reads them all."""

    sha256: str
    size: int
    mtime_ns: int

    def to_json(self) -> list:
        return [self.sha256, self.size, self.mtime_ns]


@dataclass
class CredentialState:
    inputs: str  # digest of record, site settings, key, options, sitegen version
    theme_files: int  # index into BuildState.theme_file_sets
    outputs: dict[str, OutputStamp]  # output kind (see sitegen.layout) -> stamp
    uncertain: bool = False  # a build started to rewrite it and did not finish

    @property
    def pdf_sha256(self) -> str | None:
        stamp = self.outputs.get("pdf")
        return stamp.sha256 if stamp else None


@dataclass
class BuildState:
    credentials: dict[str, CredentialState] = field(default_factory=dict)
    # Each set maps a theme file name ("template:certificate.html", "asset:site.css") to its digest.
    theme_file_sets: list[dict[str, str]] = field(default_factory=list)
    # Site-wide files (content pages, keys, verify, assets) written last time, so that the
    # ones no longer produced (a deleted page, an old asset fingerprint) can be removed.
    shared_pages: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, out_dir: Path) -> BuildState:
        # No state or an unreadable one: everything is uncertain, rebuild.
        return read_state(out_dir / STATE_FILE, STATE_FORMAT, cls._from_json) or cls()

    @classmethod
    def _from_json(cls, data: dict) -> BuildState:
        return cls(
            # A credential ID names files: one that is not an ID is never trusted as a path.
            {uuid: _credential_from_json(entry) for uuid, entry in data["credentials"].items()
             if is_uuid(uuid)},
            [dict(files) for files in data["theme_file_sets"]],
            [str(path) for path in data["shared_pages"]],
        )

    def save(self, out_dir: Path) -> None:
        data = {
            "format": STATE_FORMAT,
            "theme_file_sets": self.theme_file_sets,
            "shared_pages": self.shared_pages,
            "credentials": {
                uuid: [entry.inputs, entry.theme_files,
                       {kind: stamp.to_json() for kind, stamp in entry.outputs.items()},
                       int(entry.uncertain)]
                for uuid, entry in sorted(self.credentials.items())
            },
        }
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=True)
        write_atomic(out_dir / STATE_FILE, text.encode("ascii"))

    def mark_uncertain(self, uuids) -> None:
        mark_uncertain(self.credentials, uuids)

    def theme_file_set_index(self, files: dict[str, str]) -> int:
        return theme_file_set_index(self.theme_file_sets, files)

    def pdf_hashes(self) -> set[str]:
        """The SHA-256 of every PDF the state vouches for (or may have written)."""
        return {entry.pdf_sha256 for entry in self.credentials.values() if entry.pdf_sha256}


def read_state(path: Path, version: int, read: Callable[[dict], State]) -> State | None:
    """`read(data)` of the JSON in a state file of this format version, read field by field;
    None when there is none, or it is unreadable or of another version."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return read(data) if isinstance(data, dict) and data.get("format") == version else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError):
        return None


def mark_uncertain(entries: dict, uuids) -> None:
    """Mark the entries of `uuids` that exist uncertain: about to be rewritten."""
    for uuid in uuids:
        entry = entries.get(uuid)
        if entry is not None:
            entry.uncertain = True


def theme_file_set_index(sets: list[dict[str, str]], files: dict[str, str]) -> int:
    """The index of `files` in `sets`, added at the end when it is new."""
    for index, existing in enumerate(sets):
        if existing == files:
            return index
    sets.append(files)
    return len(sets) - 1


def _credential_from_json(entry: list) -> CredentialState:
    inputs, theme_files, outputs, uncertain = entry
    return CredentialState(
        str(inputs), int(theme_files),
        {str(kind): OutputStamp(str(sha256), int(size), int(mtime_ns))
         for kind, (sha256, size, mtime_ns) in outputs.items()},
        bool(uncertain),
    )
