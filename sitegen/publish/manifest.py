"""The publish manifest: what sitegen published in a bucket, kept in the bucket itself.

One `Manifest` per partition (`sitegen.shards`): `00` to `ff` for the objects of the
credentials whose UUID starts with those two hex digits, `shared` for the objects no
credential owns. Each shard's publish reads and writes only its own partitions, so the
shards of a run publish at the same time without a race. Objects are named by the SHA-256
of their key, never by the key: the manifest must not list the learners.

Beside each credential partition's manifest, `Uses` records the shared files named by their
bytes (share cards, fingerprinted assets) that its pages may link to: what lets the publish
of the shared pages, in a sharded run, delete those no page links to any more.

An older sitegen kept one file for the whole bucket (version 1): `split_legacy_manifest`
makes partitions of it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field

from sitegen.errors import SitegenError
from sitegen.layout import STATE_DIR
from sitegen.shards import PARTITIONS, SHARED_PARTITION, partition_name, partition_of

# Under the prefix; never in build/. One file per partition: <dir>/<partition>.json.
MANIFEST_DIR = f"{STATE_DIR}/publish-manifest"
LEGACY_MANIFEST_KEY = f"{STATE_DIR}/publish-manifest.json"  # version 1: one file for the bucket
MANIFEST_FORMAT = "sitegen-publish-manifest"
MANIFEST_VERSION = 2
# What each credential partition's pages link to: <dir>/<partition>.json, beside its manifest.
USES_DIR = f"{MANIFEST_DIR}/uses"
USES_FORMAT = "sitegen-publish-uses"
USES_VERSION = 1
KEY_ID_NOTE = "sha256(key relative to the prefix), first 32 hex digits"
LEGACY_MANIFEST_VERSION = 1
ALL_PARTITIONS = tuple(partition_name(p) for p in range(PARTITIONS)) + (SHARED_PARTITION,)

_LEARNER_SEGMENT = re.compile(r"/(?:[0-9a-f]{32}|[0-9a-f]{64})(?:/.*)?$")


@dataclass(frozen=True)
class ManifestEntry:
    md5: str
    size: int
    headers: str  # digest of Content-Type and Cache-Control as uploaded
    etag: str | None = None  # only when the ETag is not the MD5 (multipart, SSE-KMS...)

    def to_json(self) -> dict:
        data = {"md5": self.md5, "size": self.size, "headers": self.headers}
        if self.etag is not None and self.etag != self.md5:
            data["etag"] = self.etag
        return data

    @classmethod
    def from_json(cls, data: dict) -> ManifestEntry:
        return cls(str(data["md5"]), int(data["size"]), str(data["headers"]), data.get("etag"))

    @property
    def effective_etag(self) -> str:
        return self.etag or self.md5


@dataclass
class PendingInvalidation:
    reference: str  # CloudFront CallerReference: a retry of the same batch is not a new one
    paths: list[str]


@dataclass
class Manifest:
    """What sitegen published in one partition of this bucket and prefix, kept in the
    bucket itself (`manifest_key(partition)`).

    Objects are named by `key_id(key)` (SHA-256 of the key), never by the key: the
    manifest sits under the published prefix, and must not list the credential UUIDs
    to anyone who fetches it. Every publish lists the bucket anyway, which gives back
    the real keys. (A partition's name is the first two hex digits its UUIDs share.)

    `pending` is the intent written before any upload: an object uploaded by a publish
    that died before it could record it is still known to be sitegen's next time.
    """

    objects: dict[str, ManifestEntry] = field(default_factory=dict)
    pending: dict[str, ManifestEntry] = field(default_factory=dict)
    invalidation: PendingInvalidation | None = None
    # Purged credentials (by key_id of the ID) whose every old object version is gone.
    erased: set[str] = field(default_factory=set)
    partition: str = SHARED_PARTITION
    # The shared partition only: shared files named by their bytes that no partition's pages
    # link to (by key_id), and since when; deleted once unused for the grace period.
    unused: dict[str, dt.datetime] = field(default_factory=dict)

    def entry(self, key: str) -> ManifestEntry | None:
        return self.objects.get(key_id(key))

    def copy(self) -> Manifest:
        return Manifest(dict(self.objects), dict(self.pending), self.invalidation, set(self.erased), self.partition,
                        dict(self.unused))

    @property
    def is_empty(self) -> bool:
        return not (self.objects or self.pending or self.invalidation or self.erased or self.unused)

    def to_json(self) -> str:
        data = {
            "format": MANIFEST_FORMAT,
            "version": MANIFEST_VERSION,
            "partition": self.partition,
            "key_id": KEY_ID_NOTE,
            "objects": {k: e.to_json() for k, e in sorted(self.objects.items())},
            "pending": {k: e.to_json() for k, e in sorted(self.pending.items())},
            # Anyone who can read the bucket can read this: a retry invalidates the folders.
            "invalidation": None if self.invalidation is None else _stored(self.invalidation),
            "erased": sorted(self.erased),
        }
        if self.unused:  # only when not empty: the bytes of every other manifest stay as they were
            data["unused"] = {k: timestamp(since) for k, since in sorted(self.unused.items())}
        return json.dumps(data, separators=(",", ":"), sort_keys=False) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes, where: str, partition: str,
                  version: int = MANIFEST_VERSION) -> Manifest:
        """A partition's manifest (or, with `version` 1, an older sitegen's single one)."""
        try:
            data = json.loads(text)
            if data.get("format") != MANIFEST_FORMAT or data.get("version") != version:
                raise ValueError(f"not a {MANIFEST_FORMAT} version {version}")
            if version == MANIFEST_VERSION and data.get("partition") != partition:
                raise ValueError(f"it says it is partition {data.get('partition')!r}, not {partition!r}")
            inval = data.get("invalidation")
            return cls(
                objects={k: ManifestEntry.from_json(v) for k, v in data["objects"].items()},
                pending={k: ManifestEntry.from_json(v) for k, v in data["pending"].items()},
                invalidation=None
                if not inval
                else PendingInvalidation(str(inval["reference"]), [str(p) for p in inval["paths"]]),
                erased={str(k) for k in data.get("erased", [])},
                partition=partition,
                unused={str(k): _parse_timestamp(v) for k, v in data.get("unused", {}).items()},
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise SitegenError(
                f"{where}: the publish manifest is unreadable ({exc}); sitegen will not guess "
                "which objects are its own: restore it from the bucket's versions, or delete it "
                "(objects published so far are then kept, never deleted)"
            ) from None


@dataclass
class Uses:
    """The shared files named by their bytes (share cards, fingerprinted assets) that one
    credential partition's pages may link to, as its last publish recorded them
    (`uses_key(partition)`): each with the entry the shard that has it in its build would
    record, so that the publish of the shared pages can take it as sitegen's.

    It lists too many rather than too few (over-listing only delays a delete; a file left
    out could be deleted while a page links to it): every such file of the shard's build.
    The file does not name its partition, so the partitions of one shard have the same
    bytes, and the same ETag: the publish of the shared pages reads each distinct one once.
    """

    entries: dict[str, ManifestEntry] = field(default_factory=dict)  # key_id -> entry

    def to_json(self) -> str:
        data = {"format": USES_FORMAT, "version": USES_VERSION, "key_id": KEY_ID_NOTE,
                "uses": {k: e.to_json() for k, e in sorted(self.entries.items())}}
        return json.dumps(data, separators=(",", ":")) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes) -> Uses:
        """Raises ValueError when the file is not one this sitegen reads."""
        try:
            data = json.loads(text)
            if data.get("format") != USES_FORMAT or data.get("version") != USES_VERSION:
                raise ValueError(f"not a {USES_FORMAT} version {USES_VERSION}")
            return cls({str(k): ManifestEntry.from_json(v) for k, v in data["uses"].items()})
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(str(exc)) from None


def manifest_key(partition: str) -> str:
    """Where a partition's manifest lives, relative to the prefix."""
    return f"{MANIFEST_DIR}/{partition}.json"


def uses_key(partition: str) -> str:
    """Where a credential partition's `Uses` lives, relative to the prefix."""
    return f"{USES_DIR}/{partition}.json"


def timestamp(when: dt.datetime) -> str:
    """A moment as the manifest and the report write it: UTC, to the second."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_timestamp(text: str) -> dt.datetime:
    when = dt.datetime.fromisoformat(text)
    if when.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    return when


def empty_manifest_etag(partition: str) -> str:
    """The ETag of an empty partition's manifest (its MD5): such a file need not be read."""
    return hashlib.md5(Manifest(partition=partition).to_json().encode()).hexdigest()


def key_id(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def _stored(invalidation: PendingInvalidation) -> dict:
    """The pending invalidation as the manifest keeps it: without learners' IDs. Wider paths
    are another batch for CloudFront, so they get their own reference: the same reference
    with other paths would be refused if the exact batch had gone through."""
    paths = without_learner_ids(invalidation.paths)
    reference = invalidation.reference
    if paths != sorted(invalidation.paths):
        reference += "-" + hashlib.sha256("\n".join(paths).encode()).hexdigest()[:12]
    return {"reference": reference, "paths": paths}


def without_learner_ids(paths: list[str]) -> list[str]:
    """Paths with every credential ID or PDF hash (and what follows it) made a wildcard:
    `/credentials/<uuid>/index.html` -> `/credentials/*`."""
    return sorted({_LEARNER_SEGMENT.sub("/*", path) for path in paths})


def split_legacy_manifest(legacy: Manifest, keys: dict[str, str | None], purged: list[str]) -> dict[str, Manifest]:
    """An older sitegen's single manifest (version 1), as one manifest per partition.

    `keys`: every key in the bucket and the build -> its partition (None when not known:
    an object named by a digest, whose credential the caller could not learn). Entries
    of objects gone from both are dropped: there is nothing left to own.
    """
    by_id = {key_id(key): key for key in keys}
    split: dict[str, Manifest] = {}

    def part(name: str) -> Manifest:
        return split.setdefault(name, Manifest(partition=name))

    for section in ("objects", "pending"):
        for kid, entry in getattr(legacy, section).items():
            key = by_id.get(kid)
            if key is not None and keys[key] is not None:
                getattr(part(keys[key]), section)[kid] = entry
    if legacy.invalidation:
        part(SHARED_PARTITION).invalidation = legacy.invalidation
    erased = set(legacy.erased)
    for uuid in purged:
        if key_id(uuid) in erased:
            part(partition_name(partition_of(uuid))).erased.add(key_id(uuid))
            erased.discard(key_id(uuid))
    if erased:  # IDs no longer on the purge list: kept, they name nobody
        part(SHARED_PARTITION).erased |= erased
    return split
