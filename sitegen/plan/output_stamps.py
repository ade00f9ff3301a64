"""Whether each credential's outputs are on disk as they were written.

A no-op build of 100k credentials looks at 300k files or more, one `stat` each: nothing
cheaper tells a file edited in place (same size, new modification time) from one left
alone. Those system calls were half of its time and the Python around each as much again,
so the stamps are checked in bulk: the files of one output kind named in one list, each
stat'ed from a descriptor of its folder (a short path to walk, not the whole output
folder's), and their (size, modification time) compared with the saved ones as two lists.

Only what the bulk check cannot vouch for is looked at alone (`check_outputs`): a missing
file, a folder where a file should be, a new size or time. That look says why it is
rebuilt, or that only its time moved (same bytes: a checkout, a copy), and is the rule
the bulk check is a quicker way of applying.
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
from operator import attrgetter, itemgetter
from pathlib import Path

from sitegen.layout import CREDENTIAL_OUTPUTS, are_sha256s, is_sha256, output_file_parts
from sitegen.plan.state import MTIME_NS, OUTPUTS, SHA256, SIZE, STAMP_SIZE, OutputStamp
from sitegen.workers import cores

CHUNK = 4096  # credentials checked at a time: bounds the lists of names and stamps
# Outputs from which a child process checks half of them. Forking a process that holds the
# records and the state costs some 20 ms at 100k credentials, and each copies the memory
# pages it writes to while both run: a child pays for itself from a few tens of thousands.
FORK_AT = 40_000
_SIZE_AND_TIME = attrgetter("st_size", "st_mtime_ns")


class OutputFiles:
    """The outputs a build expects of a credential, each file's name in pieces (`output_file_parts`),
    so that checking every output of every credential names each file by joining strings."""

    def __init__(self, out_dir: Path, kinds: tuple[str, ...]):
        self.out_dir = out_dir
        self.kinds = list(kinds)  # in the order a saved entry lists them
        self.files = [_OutputFile(out_dir, kind, position, kinds) for position, kind in enumerate(kinds)]


class _OutputFile:
    """One output kind's files: the folder they are in, the text before and after the ID (or
    the SHA-256) in their name there, where a saved entry holds that digest (None: named by
    the ID) and where it holds this kind's stamp."""

    def __init__(self, out_dir: Path, kind: str, position: int, kinds: tuple[str, ...]):
        before, self.after = output_file_parts(kind)
        folder, _, self.before = before.rpartition("/")
        self.kind, self.folder, self.path_before = kind, out_dir / folder, f"{out_dir}{os.sep}{before}"
        named_by = CREDENTIAL_OUTPUTS[kind].named_by
        self.digest_at = _stamp_at(kinds.index(named_by)) + SHA256 if named_by else None
        self.stamp_at = _stamp_at(position)

    def path(self, uuid: str, saved: list) -> str | None:
        """The file's path, or None when the entry's digest that names it is no SHA-256."""
        if self.digest_at is None:
            return self.path_before + uuid + self.after
        digest = saved[self.digest_at]
        return self.path_before + digest + self.after if is_sha256(digest) else None


def _stamp_at(position: int) -> int:
    return OUTPUTS + STAMP_SIZE * position


class StampCheck:
    """Credentials whose saved entries list exactly the outputs `files` names, gathered to
    have their stamps checked all at once."""

    def __init__(self, files: OutputFiles):
        self.files = files
        self._uuids: list[str] = []
        self._entries: list[list] = []

    def add(self, uuid: str, saved: list) -> None:
        self._uuids.append(uuid)
        self._entries.append(saved)

    def rounds(self) -> list[_Round]:
        return [(self.files, self._uuids[start:start + CHUNK], self._entries[start:start + CHUNK])
                for start in range(0, len(self._uuids), CHUNK)]


_Round = tuple[OutputFiles, list[str], list[list]]  # outputs, the IDs and saved entries of some credentials


def suspects(checks: list[StampCheck]) -> set[str]:
    """The IDs of the credentials added to `checks` of which some output may not be as
    written: to look at alone (`check_outputs`). The others' outputs are all as stamped.
    With many to check and a core to spare, a child process checks half of them."""
    rounds = [each for check in checks for each in check.rounds()]
    outputs = sum(len(uuids) * len(files.files) for files, uuids, _ in rounds)
    if outputs >= FORK_AT and _may_fork():
        return _shared_with_a_child(rounds)
    return _checked(rounds)


def _checked(rounds: list[_Round]) -> set[str]:
    found: set[str] = set()
    for files, uuids, entries in rounds:
        for output in files.files:
            found.update(_not_as_stamped(output, uuids, entries))
    return found


def _may_fork() -> bool:
    # A fork copies only the thread that makes it: with other threads running (`sitegen
    # serve`), a lock one of them holds would never be released in the child.
    return hasattr(os, "fork") and threading.active_count() == 1 and cores() > 1


def _shared_with_a_child(rounds: list[_Round]) -> set[str]:
    """`_checked(rounds)`, half of them by a forked child that writes the IDs it finds to a
    pipe. A child that fails leaves its half to this process: it only ever saves time."""
    theirs, mine = rounds[::2], rounds[1::2]
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:
        _check_for_parent(theirs, read_end, write_end)
    os.close(write_end)
    try:
        found = _checked(mine)
        with open(read_end, "rb", closefd=False) as pipe:
            told = pipe.read()
    finally:
        os.close(read_end)  # a child still writing gets an error and ends
        _, status = os.waitpid(child, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        return found | _checked(theirs)
    return found | set(told.decode("ascii").split())


def _check_for_parent(rounds: list[_Round], read_end: int, write_end: int) -> None:
    """In the child: check `rounds`, write the IDs found, one per line, and end, whatever
    happens (never back into the build's code)."""
    code = 1
    try:
        os.close(read_end)
        found = "\n".join(_checked(rounds)).encode("ascii")
        with open(write_end, "wb") as pipe:
            pipe.write(found)
        code = 0
    finally:
        os._exit(code)


def _not_as_stamped(output: _OutputFile, uuids: list[str], entries: list[list]) -> list[str]:
    names = _names(output, uuids, entries)
    if names is None:  # an entry's digest names no file: each is looked at alone
        return uuids
    try:
        folder = os.open(output.folder, os.O_RDONLY | os.O_DIRECTORY)
    except (FileNotFoundError, NotADirectoryError):  # none of them is there
        return uuids
    try:
        found = _stamps(functools.partial(os.stat, dir_fd=folder), names)
    finally:
        os.close(folder)
    expected = list(map(itemgetter(output.stamp_at + SIZE, output.stamp_at + MTIME_NS), entries))
    if found == expected:  # the usual case, compared in one go
        return []
    return [uuid for uuid, stamp, saved in zip(uuids, found, expected) if stamp != saved]


def _names(output: _OutputFile, uuids: list[str], entries: list[list]) -> list[str] | None:
    """The names of the files in their folder, or None when a saved digest is not a SHA-256
    (an entry of a state not as written: it must not name a file)."""
    if output.digest_at is None:
        names = uuids
    else:
        names = list(map(itemgetter(output.digest_at), entries))
        if not are_sha256s(names):
            return None
    before, after = output.before, output.after
    return [before + name + after for name in names] if before or after else names


def _stamps(stat, names: list[str]) -> list[tuple[int, int] | None]:
    """(size, modification time) of each file, None where there is none."""
    try:
        return list(map(_SIZE_AND_TIME, map(stat, names)))
    except OSError:  # one at least is missing: again, one by one
        return [file_stamp(name, stat) for name in names]


def file_stamp(path: str | Path, stat=os.stat) -> tuple[int, int] | None:
    """(size, modification time) of a file, or None when there is none; `stat` may be
    `os.stat` bound to a folder's descriptor."""
    try:
        return _SIZE_AND_TIME(stat(path))
    except (FileNotFoundError, NotADirectoryError):
        return None


def check_outputs(uuid: str, saved: list, expected: OutputFiles) -> tuple[str | None, dict]:
    """("missing" or "altered", {}) when an output is not as written; else (None, new stamps
    of outputs whose modification time moved while their bytes stayed the same). `saved`
    lists the outputs `expected` names, in its order."""
    restamped = {}
    for output in expected.files:
        path = output.path(uuid, saved)
        if path is None:  # a damaged entry: it names no file
            return "missing", {}
        try:
            stat = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            return "missing", {}
        at = output.stamp_at
        if stat.st_size == saved[at + SIZE] and stat.st_mtime_ns == saved[at + MTIME_NS]:
            continue
        if stat.st_size != saved[at + SIZE] or _file_sha256(path) != saved[at + SHA256]:
            return "altered", {}
        restamped[output.kind] = OutputStamp(saved[at + SHA256], stat.st_size, stat.st_mtime_ns)
    return None, restamped


def _file_sha256(path: str) -> str | None:
    try:
        with open(path, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError:  # a folder where a file should be, unreadable: not what was written
        return None
