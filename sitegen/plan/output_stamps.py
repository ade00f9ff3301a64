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

Those `stat`s need nothing but the saved state, so with a core to spare they start as soon
as the state is read (`BackgroundStampCheck`): a forked child checks the outputs of every
saved entry while the build reads its records and site.yml, and the build, once it knows
which credentials it must vouch for, checks what the child has not got to and gathers the
child's answers. Outputs of an entry the plan rebuilds anyway were checked for nothing,
which is why a build that rebuilds most of them stops the child instead.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import os
import signal
import threading
from operator import attrgetter, itemgetter
from pathlib import Path

from sitegen.layout import CREDENTIAL_OUTPUTS, are_sha256s, is_sha256, output_file_parts
from sitegen.plan.state import MTIME_NS, OUTPUTS, SHA256, SIZE, STAMP_SIZE, UNCERTAIN, BuildState, OutputStamp
from sitegen.workers import cores

CHUNK = 4096  # credentials checked at a time: bounds the lists of names and stamps
# Saved outputs from which a child process checks them in the background. Forking the
# process that holds the state costs a few ms at 10k credentials, when their 30k `stat`s
# take some 100 ms; below a few thousand there is nothing worth a process.
FORK_AT = 6_000
ROUND = 1024  # saved entries a process takes at a time from those left to check
_ROUND_NUMBER = 4  # bytes: a round's number in the pipe of rounds left to check
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

    def __len__(self) -> int:
        return len(self._uuids)

    def rounds(self) -> list[_Round]:
        return [(self.files, self._uuids[start:start + CHUNK], self._entries[start:start + CHUNK])
                for start in range(0, len(self._uuids), CHUNK)]


_Round = tuple[OutputFiles, list[str], list[list]]  # outputs, the IDs and saved entries of some credentials


def suspects(checks: list[StampCheck]) -> set[str]:
    """The IDs of the credentials added to `checks` of which some output may not be as
    written: to look at alone (`check_outputs`). The others' outputs are all as stamped."""
    found: set[str] = set()
    for check in checks:
        for files, uuids, entries in check.rounds():
            found.update(_outputs_not_as_stamped(files, uuids, entries))
    return found


def _may_fork() -> bool:
    # A fork copies only the thread that makes it: with other threads running (`sitegen
    # serve`), a lock one of them holds would never be released in the child.
    return hasattr(os, "fork") and threading.active_count() == 1 and cores() > 1


class BackgroundStampCheck:
    """The stamps of every output the saved state lists, checked by a forked child from the
    moment the state is read. The saved entries are cut into rounds of `ROUND`, whose numbers
    wait in a pipe: the child takes them one at a time (a read of a few bytes from a pipe is
    atomic), and writes the IDs it finds, a line per round, to another pipe. When the plan
    asks (`suspects`), this process takes the rounds still waiting, then reads the child's
    lines; a round the child took but never answered (it failed) is checked here again. The
    child only ever saves time: its answers are those this process would have found."""

    def __init__(self, out_dir: Path, rows: list[list], child: int, rounds_left: int, answers: int):
        self._out_dir, self._rows, self._rounds = out_dir, rows, _round_count(rows)
        self._child, self._rounds_left, self._answers = child, rounds_left, answers

    @classmethod
    def start(cls, state: BuildState, out_dir: Path) -> BackgroundStampCheck | None:
        """The check, started; None when it would not pay (a small state, one core) or may
        not fork (other threads)."""
        rows = state.credentials.rows()
        outputs = (sum(map(len, rows)) - OUTPUTS * len(rows)) // STAMP_SIZE
        if outputs < FORK_AT or not _may_fork():
            return None
        rounds_left, rounds_in = os.pipe()
        numbers = range(_round_count(rows))  # 600k entries: 586 rounds, well within a pipe's 64 KiB
        os.write(rounds_in, b"".join(number.to_bytes(_ROUND_NUMBER, "big") for number in numbers))
        os.close(rounds_in)  # every round is in: an empty pipe then reads as the end
        answers, answers_in = os.pipe()
        child = os.fork()
        if child == 0:
            os.close(answers)
            _answer_rounds(out_dir, rows, rounds_left, answers_in)
        os.close(answers_in)
        return cls(out_dir, rows, child, rounds_left, answers)

    def suspects(self, checks: list[StampCheck]) -> set[str]:
        """`suspects(checks)`: of the credentials `checks` vouch for, those whose outputs may
        not be as written. When they are most of the saved ones, the rounds left are shared
        with the child; when few, the child is stopped and they are checked here alone."""
        if 2 * sum(map(len, checks)) < len(self._rows):
            self.stop()
            return suspects(checks)
        mine = {}
        while (number := _next_round(self._rounds_left)) is not None:
            mine[number] = _check_round(self._out_dir, _round(self._rows, number))
        told = self._gather()
        found = set().union(*mine.values(), *told.values())
        for number in range(self._rounds):
            if number not in mine and number not in told:  # the child took it and failed
                found.update(_check_round(self._out_dir, _round(self._rows, number)))
        return found

    def stop(self) -> None:
        """End the child and close the pipes (the build failed, or no longer needs it)."""
        if self._child:
            os.kill(self._child, signal.SIGKILL)
            os.waitpid(self._child, 0)
            self._child = 0
            os.close(self._rounds_left)
            os.close(self._answers)

    def _gather(self) -> dict[int, set[str]]:
        """The child's answers, by round; then the child is waited for."""
        with open(self._answers, "rb", closefd=False) as pipe:
            text = pipe.read()
        os.close(self._answers)
        os.close(self._rounds_left)
        os.waitpid(self._child, 0)
        self._child = 0
        told = {}
        for line in text.decode("ascii").split("\n")[:-1]:  # a last line without its end is cut short
            number, *uuids = line.split(" ")
            told[int(number)] = set(uuids)
        return told


def _round_count(rows: list[list]) -> int:
    return (len(rows) + ROUND - 1) // ROUND


def _round(rows: list[list], number: int) -> list[list]:
    """The saved entries of round `number`."""
    return rows[number * ROUND:(number + 1) * ROUND]


def _next_round(rounds_left: int) -> int | None:
    """The number of a round no process has taken yet, taken; None when there is none."""
    taken = os.read(rounds_left, _ROUND_NUMBER)
    return int.from_bytes(taken, "big") if taken else None


def _answer_rounds(out_dir: Path, rows: list[list], rounds_left: int, answers_in: int) -> None:
    """In the child: check rounds while some are left, writing each one's number and the IDs
    it found; then end, whatever happens (never back into the build's code)."""
    code = 1
    try:
        gc.disable()  # a collection would touch every object, and copy all the memory it shares
        with open(answers_in, "wb", buffering=0) as pipe:
            while (number := _next_round(rounds_left)) is not None:
                found = _check_round(out_dir, _round(rows, number))
                pipe.write(" ".join([str(number), *found]).encode("ascii") + b"\n")
        code = 0
    finally:
        os._exit(code)


def _check_round(out_dir: Path, rows: list[list]) -> list[str]:
    """The IDs of the saved entries in `rows` of which some output is not as stamped. An
    entry marked uncertain, or listing an output kind this version does not make, is not
    looked at: the plan rebuilds it whatever its files are."""
    groups: dict[tuple, list[list]] = {}
    for row in rows:
        if not row[UNCERTAIN]:
            try:
                groups.setdefault(tuple(row[OUTPUTS::STAMP_SIZE]), []).append(row)
            except TypeError:  # an unhashable kind: a state not as written
                continue
    found = []
    for kinds, entries in groups.items():
        if all(type(kind) is str and kind in CREDENTIAL_OUTPUTS for kind in kinds):
            found += _outputs_not_as_stamped(OutputFiles(out_dir, kinds), [row[0] for row in entries], entries)
    return found


def _outputs_not_as_stamped(files: OutputFiles, uuids: list[str], entries: list[list]) -> list[str]:
    """The IDs of the credentials (`uuids`, their saved `entries`) of which one of the outputs
    `files` names is not as stamped; an ID is given once for each output that is not."""
    found = []
    for output in files.files:
        found += _not_as_stamped(output, uuids, entries)
    return found


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
