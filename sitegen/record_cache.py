"""Reading all record files, without re-parsing the ones that did not change.

Parsed records of each file are kept in build/.sitegen/records/, named by the SHA-256
of the file's bytes: a file whose bytes are unchanged is not parsed again (YAML is slow:
100k records take many seconds even with libyaml).
"""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

from sitegen.errors import Problem
from sitegen.output import write_atomic
from sitegen.records import FileRecords, RawRecord, read_record_file, record_files

CACHE_FORMAT = b"sitegen-records-1\n"


def read_all_records(root: Path, cache_dir: Path | None) -> tuple[list[RawRecord], list[Problem]]:
    records: list[RawRecord] = []
    problems: list[Problem] = []
    kept: set[str] = set()
    for path in record_files(root):
        display = path.relative_to(root).as_posix()
        data = path.read_bytes()
        key = hashlib.sha256(CACHE_FORMAT + display.encode() + b"\0" + data).hexdigest()
        kept.add(key)
        parsed = _cached(cache_dir, key)
        if parsed is None:
            parsed = read_record_file(path, display)
            _store(cache_dir, key, parsed)
        records.extend(parsed.records)
        problems.extend(parsed.problems)
    _forget_others(cache_dir, kept)
    return records, problems


def _cached(cache_dir: Path | None, key: str) -> FileRecords | None:
    if cache_dir is None:
        return None
    try:
        with open(cache_dir / key, "rb") as handle:
            return pickle.load(handle)
    except (FileNotFoundError, pickle.UnpicklingError, EOFError, AttributeError, TypeError):
        return None  # missing or damaged by a crash: parse the file again


def _store(cache_dir: Path | None, key: str, parsed: FileRecords) -> None:
    if cache_dir is not None:
        write_atomic(cache_dir / key, pickle.dumps(parsed, protocol=pickle.HIGHEST_PROTOCOL))


def _forget_others(cache_dir: Path | None, kept: set[str]) -> None:
    if cache_dir is None or not cache_dir.is_dir():
        return
    for entry in cache_dir.iterdir():
        if entry.name not in kept:
            entry.unlink(missing_ok=True)
