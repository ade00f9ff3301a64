"""Loading the credentials of every record file, without redoing work for unchanged files.

Each file's validated credentials (and the digest of each record) are kept in
build/.sitegen/records/, named by the SHA-256 of the file's bytes and of the parts of
site.yml that validation reads (course ids and modes, program ids). An unchanged file
is neither parsed nor validated again: YAML is slow (100k records take many seconds
even with libyaml), and so is checking 100k records in Python.
"""

from __future__ import annotations

import hashlib
import pickle
from dataclasses import dataclass
from pathlib import Path

from sitegen.errors import Problem
from sitegen.model import Credential, Site
from sitegen.write.files import write_atomic
from sitegen.plan.build_plan import record_digest
from sitegen.load.records import read_record_file, record_files
from sitegen.load.validate import duplicate_problems, validate_record

CACHE_FORMAT = b"sitegen-records-2\n"


@dataclass
class LoadedCredentials:
    credentials: list[Credential]
    record_digests: list[str]  # same order as credentials
    problems: list[Problem]


@dataclass
class _FileEntry:
    credentials: list[Credential]
    record_digests: list[str]
    problems: list[Problem]


def load_credentials(site: Site, cache_dir: Path | None) -> LoadedCredentials:
    loaded = LoadedCredentials([], [], [])
    context = _validation_context(site)
    kept: set[str] = set()
    for path in record_files(site.root):
        display = path.relative_to(site.root).as_posix()
        data = path.read_bytes()
        key = hashlib.sha256(CACHE_FORMAT + context + display.encode() + b"\0" + data).hexdigest()
        kept.add(key)
        entry = _cached(cache_dir, key)
        if entry is None:
            entry = _load_file(path, display, site)
            _store(cache_dir, key, entry)
        loaded.credentials.extend(entry.credentials)
        loaded.record_digests.extend(entry.record_digests)
        loaded.problems.extend(entry.problems)
    loaded.problems.extend(duplicate_problems(loaded.credentials))
    _forget_others(cache_dir, kept)
    return loaded


def _load_file(path: Path, display: str, site: Site) -> _FileEntry:
    parsed = read_record_file(path, display)
    entry = _FileEntry([], [], list(parsed.problems))
    for record in parsed.records:
        credential, problems = validate_record(record, site)
        entry.problems.extend(problems)
        if credential is not None:
            entry.credentials.append(credential)
            entry.record_digests.append(record_digest(credential))
    return entry


def _validation_context(site: Site) -> bytes:
    """The parts of site.yml that decide whether a record is valid."""
    courses = sorted((course.id, course.modes) for course in site.courses.values())
    return hashlib.sha256(repr((courses, sorted(site.programs))).encode()).hexdigest().encode()


def _cached(cache_dir: Path | None, key: str) -> _FileEntry | None:
    if cache_dir is None:
        return None
    try:
        with open(cache_dir / key, "rb") as handle:
            return pickle.load(handle)
    except (FileNotFoundError, pickle.UnpicklingError, EOFError, AttributeError, TypeError, ValueError):
        return None  # missing, or damaged by a crash: read the file again


def _store(cache_dir: Path | None, key: str, entry: _FileEntry) -> None:
    if cache_dir is not None:
        write_atomic(cache_dir / key, pickle.dumps(entry, protocol=pickle.HIGHEST_PROTOCOL))


def _forget_others(cache_dir: Path | None, kept: set[str]) -> None:
    if cache_dir is None or not cache_dir.is_dir():
        return
    for entry in cache_dir.iterdir():
        if entry.name not in kept:
            entry.unlink(missing_ok=True)
