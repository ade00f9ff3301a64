"""Where each credential's revocation bit lives in the published status lists.

A verifiable credential names, inside its signed proof, one bit of a status list
(`credentialStatus.statusListIndex`). The bit must stay that credential's for ever: moved,
it would say nothing about the credential, or revoke another. So indexes are kept in
`credentials_data/status-indexes.txt`, committed with the records:

    # Status-list indexes of the verifiable credentials (sitegen build assigns them). ...
    0a1b2c3d4e5f40718293a4b5c6d7e8f9 0
    1b2c3d4e5f6a41829304b5c6d7e8f90a 1

Why there, and not in build/ or derived from the ID: build/ is lost with a fresh checkout
(CI starts from nothing), and an index derived from the ID collides with another's long
before 600,000 credentials. The file holds IDs and numbers only, no personal data, and
lines are never removed, not even by a purge: an index is never given to another credential.

A build gives the next free indexes to credentials that have none, in the order of their
issue date and ID, so that any build of the same commit assigns the same ones (the shards
of a sharded build agree without talking to each other); the whole-site build, or shard 1,
writes them to the file, and CI commits it (docs/lifecycle.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sitegen.errors import Problem, SitegenError
from sitegen.model import Credential
from sitegen.write.files import write_atomic

STATUS_INDEXES = "credentials_data/status-indexes.txt"
HEADER = (
    "# Status-list indexes of the verifiable credentials (sitegen build assigns them). Commit this\n"
    "# file with the records: an index is given once and never changes or goes to another\n"
    "# credential, even after a purge. Credential IDs and numbers only, one per line.\n"
)
_LINE = re.compile(r"([0-9a-f]{32}) (0|[1-9][0-9]{0,9})")


@dataclass
class StatusIndexes:
    indexes: dict[str, int] = field(default_factory=dict)  # credential ID -> index, as in the file
    new: dict[str, int] = field(default_factory=dict)  # assigned by this build, not yet in the file
    problems: list[Problem] = field(default_factory=list)

    def __getitem__(self, uuid: str) -> int:
        return self.indexes[uuid] if uuid in self.indexes else self.new[uuid]

    def assign(self, credentials: Iterable[Credential]) -> None:
        """Give the next free indexes to the credentials that have none (see the module's docstring)."""
        unassigned = sorted((c for c in credentials if c.uuid not in self.indexes and c.uuid not in self.new),
                            key=lambda c: (c.issued, c.uuid))
        next_free = max((*self.indexes.values(), *self.new.values()), default=-1) + 1
        for offset, credential in enumerate(unassigned):
            self.new[credential.uuid] = next_free + offset

    def save(self, root: Path) -> bool:
        """Append this build's assignments to the file (those another site's build of this
        run has not already written); whether there were any."""
        if not self.new:
            return False
        path = root / STATUS_INDEXES
        written = load_status_indexes(root).indexes
        for uuid, index in self.new.items():
            if written.get(uuid, index) != index:  # never: every build assigns the same
                raise SitegenError(f"{STATUS_INDEXES}: {uuid} has index {written[uuid]}, not {index}: "
                                   "the file changed during the build; build again")
        missing = sorted(((i, u) for u, i in self.new.items() if u not in written))
        old = path.read_bytes() if path.exists() else HEADER.encode("ascii")
        if old and not old.endswith(b"\n"):
            old += b"\n"
        if missing:
            write_atomic(path, old + "".join(f"{uuid} {index}\n" for index, uuid in missing).encode("ascii"))
        self.indexes.update(self.new)
        self.new.clear()
        return bool(missing)


def load_status_indexes(root: Path) -> StatusIndexes:
    """The committed indexes; a line that is not "<ID> <index>", an ID or index given twice is
    a problem naming the line (never quoting it: it may hold what does not belong there)."""
    result = StatusIndexes()
    try:
        text = (root / STATUS_INDEXES).read_text(encoding="utf-8")
    except FileNotFoundError:
        return result
    except (OSError, UnicodeDecodeError) as err:
        result.problems.append(Problem(STATUS_INDEXES, None, None, f"cannot be read ({err})"))
        return result
    owners: dict[int, int] = {}  # index -> line
    lines: dict[str, int] = {}  # ID -> line
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        match = _LINE.fullmatch(line.strip())
        if not match:
            result.problems.append(Problem(STATUS_INDEXES, number, None,
                                           "expected a credential ID (32 lowercase hex digits), a space and an index"))
            continue
        uuid, index = match[1], int(match[2])
        if uuid in lines or index in owners:
            first = lines.get(uuid) or owners.get(index)
            result.problems.append(Problem(STATUS_INDEXES, number, None,
                                           f"an ID or index given twice (first at line {first}): indexes are never "
                                           "reassigned; restore the file from git"))
            continue
        lines[uuid], owners[index] = number, number
        result.indexes[uuid] = index
    return result
