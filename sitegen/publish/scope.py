"""Which partition of the manifest records each object, and which partitions one publish
looks after: all of them, or those of one shard (`sitegen.shards`).

A credential's objects are named by its UUID (its partition is in the key), or by a digest
of their bytes (the PDF hash index: the build state says whose each one is). A legacy
certificate's pages (`cert/<verify_uuid>/...`) are named by its verify_uuid, and are its
partition's as a credential's are. Everything else is shared, and shard 1's. Shared files
named by their bytes (fingerprinted assets, share cards) are the same bytes whoever uploads
them: any shard may add one its pages link to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sitegen.layout import CREDENTIAL_OUTPUTS, LEGACY_CERT_DIR, CredentialPaths, is_share_card, is_uuid
from sitegen.plan.state import BuildState
from sitegen.publish.manifest import ALL_PARTITIONS
from sitegen.shards import SHARED_PARTITION, Shard, partition_name, partition_of

FINGERPRINTED_ASSET = re.compile(r"^assets/(?:[^/]+/)*[^/]+\.[0-9a-f]{8,}\.[A-Za-z0-9]+$")
UUID_AREAS = tuple(sorted({kind.pattern.split("{uuid}")[0] for kind in CREDENTIAL_OUTPUTS.values()
                           if "{uuid}" in kind.pattern} | {LEGACY_CERT_DIR + "/"}))
DIGEST_AREAS = tuple(sorted({kind.pattern.split("{sha256}")[0] for kind in CREDENTIAL_OUTPUTS.values()
                             if kind.named_by and not kind.shared}))
CREDENTIAL_AREAS = tuple(sorted(UUID_AREAS + DIGEST_AREAS))
_UUID_KEY = re.compile("(?:" + "|".join(map(re.escape, UUID_AREAS)) + r")([0-9a-f]{32})(?:/.*)?", re.DOTALL)


@dataclass(frozen=True)
class Scope:
    """The partitions one publish looks after, and whether other shards publish beside it."""

    partitions: tuple[str, ...]
    sharded: bool

    @classmethod
    def of(cls, shard: Shard | None) -> Scope:
        if shard is None:
            return cls(ALL_PARTITIONS, sharded=False)
        names = tuple(partition_name(p) for p in shard.partitions)
        return cls(names + ((SHARED_PARTITION,) if shard.publishes_shared else ()), sharded=True)

    @property
    def shared(self) -> bool:
        return SHARED_PARTITION in self.partitions

    @property
    def credential_partitions(self) -> tuple[str, ...]:
        return tuple(p for p in self.partitions if p != SHARED_PARTITION)

    @property
    def others(self) -> tuple[str, ...]:
        """The credential partitions other shards publish."""
        return tuple(p for p in ALL_PARTITIONS if p not in self.partitions)


def credential_partition(key: str) -> str | None:
    """The partition of an object named by its credential's UUID, from the key alone."""
    match = _UUID_KEY.fullmatch(key)
    return partition_name(partition_of(match.group(1))) if match else None


def in_digest_area(key: str) -> bool:
    """An object a credential owns, named by a digest (whose it is is not in its key)."""
    return key.startswith(DIGEST_AREAS)


def in_credential_area(key: str) -> bool:
    return key.startswith(CREDENTIAL_AREAS)


def is_content_named(key: str) -> bool:
    """A shared file named by its bytes (fingerprinted asset, share card): the same key is
    always the same bytes, so any shard may add it, and pages of any shard may link to it."""
    return FINGERPRINTED_ASSET.match(key) is not None or is_share_card(key)


def digest_named_owners(build_dir: Path) -> dict[str, str]:
    """Objects named by a digest (the PDF hash index) -> the credential that owns each, from
    the build state: the record of what every credential owns."""
    owners: dict[str, str] = {}
    for uuid, entry in BuildState.load(build_dir).credentials.items():
        if not is_uuid(uuid):
            continue
        digests = {kind: stamp.sha256 for kind, stamp in entry.outputs.items()}
        try:
            paths = CredentialPaths(uuid).outputs(digests)
        except (ValueError, KeyError):
            continue  # a state this sitegen does not read: such files are then shared
        for kind, path in paths.items():
            if CREDENTIAL_OUTPUTS[kind].named_by and not CREDENTIAL_OUTPUTS[kind].shared:
                owners[path] = uuid
    return owners
