"""What a publish will do, decided without touching the network.

Three inputs, one plan:

- the built tree, read as `LocalObject`s: bucket key, MD5 of the bytes, headers, upload
  phase, and the partition of the manifest that records it (`scope.py`);
- the bucket, as ListObjectsV2 listings (`RemoteObject`: key, ETag, size);
- the publish manifest (`manifest.py`): what sitegen itself put in the bucket, one
  `Manifest` per partition.

`make_plan` compares them by content, never by modification time, so a fresh CI
checkout publishes nothing new; partition by partition, and only the partitions in the
publish's `Scope`. `sync.py` carries the plan out.

In a sharded publish, the shared files named by their bytes that the other shards' pages
link to are known from what each partition's last publish recorded (`Usage`): one no page
links to is deleted once it has stayed unused for a grace period.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import mimetypes
import os
import posixpath
import uuid as uuidlib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from sitegen.layout import PUBLISHED_DOT_FOLDERS, is_extensionless_json, is_page_alias, is_share_card, page_aliases
from sitegen.legacy.paths import is_preserved_legacy_key
from sitegen.model import CachePolicy
from sitegen.publish.digests import Digests
from sitegen.publish.manifest import Manifest, ManifestEntry, PendingInvalidation, Uses, key_id
from sitegen.publish.scope import (
    FINGERPRINTED_ASSET,
    Scope,
    credential_partition,
    digest_named_owners,
    in_digest_area,
    is_content_named,
)
from sitegen.shards import SHARED_PARTITION, Shard, partition_name, partition_of

# Upload order: a page never links to something not yet in the bucket.
PHASE_FILES, PHASE_DATA, PHASE_PAGES = 0, 1, 2
PHASE_NAMES = ("files", "data", "pages")

MAX_INVALIDATION_PATHS = 15  # CloudFront: at most 15 wildcard paths in progress at once

HTML = "text/html; charset=utf-8"
JSON = "application/json"
CONTENT_TYPES = {
    ".html": HTML,
    ".htm": HTML,
    ".pdf": "application/pdf",
    ".sig": "application/pgp-signature",
    ".asc": "text/plain; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".json": JSON,
    ".map": JSON,
    ".webmanifest": "application/manifest+json",
    ".xml": "application/xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".wasm": "application/wasm",
}
DATA_TYPES = (JSON, "text/plain; charset=utf-8", "application/xml")
# Python's built-in table only: the system's /etc/mime.types must not change what we publish.
_FALLBACK_TYPES = mimetypes.MimeTypes(filenames=())



@dataclass(frozen=True)
class LocalObject:
    """One object the bucket must hold: a file of build/, or an alias of a credential page."""

    key: str  # relative to the prefix, e.g. "credentials/<uuid>/index.html"
    path: str  # the file in build/
    md5: str
    size: int
    content_type: str
    cache_control: str
    phase: int
    partition: str = SHARED_PARTITION  # whose manifest records it: its credential's, or "shared"

    @property
    def headers_digest(self) -> str:
        return headers_digest(self.content_type, self.cache_control)


@dataclass(frozen=True)
class RemoteObject:
    key: str  # relative to the prefix
    etag: str  # without quotes
    size: int


@dataclass(frozen=True)
class Upload:
    obj: LocalObject
    reason: str  # "new", "changed" (bytes differ) or "headers" (Content-Type/Cache-Control differ)


@dataclass(frozen=True)
class Usage:
    """The shared files named by their bytes that the pages of other shards' partitions link
    to, as each partition's last publish recorded it (`Uses`)."""

    entries: dict[str, ManifestEntry]  # key_id -> entry, as the shard that has the file records it
    unknown: tuple[str, ...] = ()  # partitions with a manifest but no record of what they use


@dataclass(frozen=True)
class Grace:
    """How long a shared file named by its bytes stays in the bucket once no page links to it."""

    now: dt.datetime
    period: dt.timedelta

    def over(self, since: dt.datetime) -> bool:
        return self.now - since >= self.period


@dataclass
class PublishPlan:
    uploads: list[Upload]
    unchanged: list[LocalObject]
    deletes: list[str]  # keys sitegen published that are no longer in build/
    forgotten: list[str]  # key ids in the manifest whose objects are gone from bucket and build
    foreign: list[str]  # keys in the bucket that sitegen did not publish: never touched
    stale: list[str]  # keys whose cached copies are out of date (changed or deleted)
    # Shared files named by their bytes that this shard's build lacks and that other shards'
    # pages link to (or may: what they link to is not known), so a sharded publish keeps them.
    kept: list[str] = field(default_factory=list)
    partitions: dict[str, PublishPlan] = field(default_factory=dict)  # the plan of each partition
    # The shared partition's, in a sharded publish: sitegen's shared files named by their bytes
    # that no page links to -> since when. Those unused for the grace period (`retiring`) are
    # in `deletes`; the others wait.
    unused: dict[str, dt.datetime] = field(default_factory=dict)
    retiring: list[str] = field(default_factory=list)
    adopted: dict[str, ManifestEntry] = field(default_factory=dict)  # key_id -> entry: added by other shards
    uses_unknown: tuple[str, ...] = ()  # partitions whose pages' links are not known: every such file kept
    grace: Grace | None = None  # the clock `unused` was decided by

    @property
    def waiting(self) -> dict[str, dt.datetime]:
        """Unused shared files still in their grace period -> since when no page links to them."""
        return {k: since for k, since in self.unused.items() if k not in self.retiring}

    @property
    def shared(self) -> PublishPlan:
        """The plan of the shared partition (an empty one when the publish does not look after it)."""
        return self.partitions.get(SHARED_PARTITION) or PublishPlan(*([] for _ in range(6)))

    @property
    def changes_bucket(self) -> bool:
        return bool(self.uploads or self.deletes or self.forgotten)

    def phase(self, phase: int) -> list[Upload]:
        return [u for u in self.uploads if u.obj.phase == phase]


def headers_digest(content_type: str, cache_control: str) -> str:
    return hashlib.sha256(f"{content_type}\n{cache_control}".encode()).hexdigest()[:8]


def content_type(key: str) -> str:
    """The Content-Type of an object, by its key (relative to the prefix)."""
    suffix = posixpath.splitext(key)[1].lower()
    if is_extensionless_json(key) or (key.startswith("api/") and suffix == ".json"):
        return JSON  # api/v1/credentials/<uuid> has no extension
    if is_page_alias(key):
        return HTML  # credentials/<uuid> and credentials/<uuid>/: aliases of the page
    if suffix in CONTENT_TYPES:
        return CONTENT_TYPES[suffix]
    guessed, _ = _FALLBACK_TYPES.guess_type(key, strict=False)
    return guessed or "application/octet-stream"


def cache_control(key: str, cache: CachePolicy) -> str:
    """Long and immutable only for files named by their content (fingerprinted assets, share
    cards): anything else can change on revocation."""
    if FINGERPRINTED_ASSET.match(key) or is_share_card(key):
        return cache.assets
    if key.lower().endswith(".pdf"):
        return cache.documents
    return cache.pages


def phase(ctype: str) -> int:
    if ctype == HTML:
        return PHASE_PAGES
    if ctype in DATA_TYPES:
        return PHASE_DATA
    return PHASE_FILES


def scan_build(build_dir: Path, cache: CachePolicy) -> list[LocalObject]:
    """Every object the bucket must hold, sorted by key; dot-files and `.sitegen/` are never
    included, `.well-known/` (the DID document) always is."""
    owners = digest_named_owners(build_dir)
    digests = Digests(build_dir)
    objects: list[LocalObject] = []
    for key, file, stat in _build_files(str(build_dir)):
        if is_preserved_legacy_key(key):
            continue  # an old edX PDF or signature: never uploaded over the original
        md5 = digests.md5(key, file, stat)
        part = credential_partition(key) or (
            partition_name(partition_of(owners[key])) if key in owners else SHARED_PARTITION)
        for k in (key, *page_aliases(key)):
            ctype = content_type(k)
            objects.append(LocalObject(k, file, md5, stat.st_size, ctype, cache_control(k, cache), phase(ctype), part))
    digests.save()
    return sorted(objects, key=lambda o: o.key)


def _build_files(root: str, folder: str = "") -> Iterator[tuple[str, str, os.stat_result]]:
    """(key, file, stat) of each file to publish under `folder`: no dot-names but the
    published dot-folders at the top, no folder reached through a symbolic link. Strings,
    not Paths, and one scandir per folder: a shard of 30,000 credentials has 300,000 files."""
    with os.scandir(f"{root}/{folder}" if folder else root) as scan:
        entries = sorted(scan, key=lambda entry: entry.name)
    for entry in entries:
        name = entry.name
        key = f"{folder}/{name}" if folder else name
        if entry.is_dir(follow_symlinks=False):
            if not name.startswith(".") or (not folder and name in PUBLISHED_DOT_FOLDERS):
                yield from _build_files(root, key)
        elif not name.startswith(".") and entry.is_file():
            yield key, entry.path, entry.stat()


def make_plan(local: list[LocalObject], remote: dict[str, RemoteObject], manifests: dict[str, Manifest],
              scope: Scope, usage: Usage | None = None, grace: Grace | None = None) -> PublishPlan:
    """Compare the build with the bucket listing and the manifests of the partitions in
    `scope`, partition by partition. No HEAD per object.

    Objects of partitions out of scope (other shards') are neither uploaded, deleted nor
    counted. A shard that does not publish the shared pages still adds the shared files
    named by their bytes that its pages link to (assets, share cards) when the bucket
    lacks them, before its pages (even one deleted a moment ago as unused: its next
    publish adds it again). The publish of the shared pages of a sharded run decides
    which of those files go by `usage` (what the other shards' partitions link to) and
    `grace`; without `usage`, it keeps them all.
    """
    in_scope = set(scope.partitions)
    local_in: dict[str, list[LocalObject]] = defaultdict(list)
    additions = []
    for obj in local:
        if obj.partition in in_scope:
            local_in[obj.partition].append(obj)
        elif obj.partition == SHARED_PARTITION and is_content_named(obj.key) and obj.key not in remote:
            additions.append(Upload(obj, "new"))
    remote_in = _remote_by_partition(local, remote, manifests, scope)
    plans = {name: _plan_partition(local_in[name], remote_in[name], manifests.get(name) or Manifest(partition=name))
             for name in scope.partitions}
    if scope.sharded and SHARED_PARTITION in plans:
        _retire_unused(plans[SHARED_PARTITION], manifests.get(SHARED_PARTITION) or Manifest(), remote, usage,
                       grace or Grace(dt.datetime.now(dt.UTC), dt.timedelta(0)))
    plan = PublishPlan(*([] for _ in range(6)), partitions=plans)
    for each in plans.values():
        for mine, theirs in ((plan.uploads, each.uploads), (plan.unchanged, each.unchanged),
                             (plan.deletes, each.deletes), (plan.forgotten, each.forgotten),
                             (plan.foreign, each.foreign), (plan.stale, each.stale), (plan.kept, each.kept)):
            mine.extend(theirs)
    plan.uploads.extend(additions)
    for names in (plan.deletes, plan.foreign, plan.stale, plan.kept):
        names.sort()
    plan.uploads.sort(key=lambda u: u.obj.key)
    return plan


def _remote_by_partition(local: list[LocalObject], remote: dict[str, RemoteObject],
                         manifests: dict[str, Manifest], scope: Scope) -> dict[str, dict[str, RemoteObject]]:
    """The listed objects of each partition in scope. An object named by a digest is its
    credential's when the build has it; else it is the partition's whose manifest says so."""
    local_partition = {obj.key: obj.partition for obj in local}
    wanted = set(scope.partitions)
    owned_by: dict[str, str] | None = None
    grouped: dict[str, dict[str, RemoteObject]] = defaultdict(dict)
    for key, item in remote.items():
        name = credential_partition(key)
        if name is None and in_digest_area(key):
            if owned_by is None:
                owned_by = {kid: m.partition for m in manifests.values() for kid in (*m.objects, *m.pending)}
            name = local_partition.get(key) or owned_by.get(key_id(key))
            if name is None and not scope.sharded:
                name = SHARED_PARTITION  # nobody's: left alone, and counted as such
        elif name is None:
            name = SHARED_PARTITION
        if name in wanted:
            grouped[name][key] = item
    return grouped


def _retire_unused(plan: PublishPlan, manifest: Manifest, remote: dict[str, RemoteObject], usage: Usage | None,
                   grace: Grace) -> None:
    """The shared files named by their bytes that this shard's build lacks: the other shards'
    pages may link to them. Those a partition's pages use are kept (and, when another shard
    added them, recorded as sitegen's). One sitegen published that no page uses is deleted
    once a publish before this one found it unused, at least the grace period ago: a shard
    that links to it again meanwhile saves it. When what some partition uses is not known
    (published by an older sitegen), every one is kept, and the clocks start again."""
    candidates = sorted(k for k in plan.deletes + plan.foreign if is_content_named(k))
    kept: list[str] = []
    plan.grace = grace
    if usage is None or usage.unknown:
        kept, plan.uses_unknown = candidates, usage.unknown if usage else ()
    else:
        owned = set(manifest.objects) | set(manifest.pending)
        for key in candidates:
            kid = key_id(key)
            if kid in usage.entries:
                kept.append(key)
                if kid not in owned and _same_bytes(remote[key], usage.entries[kid]):
                    plan.adopted[kid] = usage.entries[kid]
            elif kid in owned:  # else another tool's: left alone, counted as such
                since = manifest.unused.get(kid)
                plan.unused[key] = since or grace.now
                if since is not None and grace.over(since):
                    plan.retiring.append(key)
    spared = set(kept) | set(plan.waiting)
    plan.kept = kept
    plan.deletes = [k for k in plan.deletes if k not in spared]
    plan.foreign = [k for k in plan.foreign if k not in spared]
    plan.stale = [k for k in plan.stale if k not in spared]


def _same_bytes(remote: RemoteObject, entry: ManifestEntry) -> bool:
    return remote.size == entry.size and remote.etag in (entry.md5, entry.effective_etag)


def spare_used_again(plan: PublishPlan, usage: Usage) -> list[str]:
    """The retiring files some partition links to again (a shard that started using one
    while this publish ran): kept after all, and no longer unused. Those spared."""
    shared = plan.shared
    spared = [k for k in shared.retiring if usage.unknown or key_id(k) in usage.entries]
    for each in (plan, shared):
        each.deletes = [k for k in each.deletes if k not in spared]
        each.kept = sorted(set(each.kept) | set(spared))
    shared.retiring = [k for k in shared.retiring if k not in spared]
    for key in spared:
        shared.unused.pop(key, None)
    return spared


def partition_uses(local: list[LocalObject], scope: Scope) -> dict[str, Uses]:
    """What the pages of each credential partition in `scope` may link to among the shared
    files named by their bytes: every one in the build, for a partition with objects in it
    (too many is safe: the build holds only those its pages use, of every partition it has);
    nothing, for a partition without."""
    entries = {key_id(obj.key): manifest_entry(obj, None) for obj in local
               if obj.partition == SHARED_PARTITION and is_content_named(obj.key)}
    built = {obj.partition for obj in local}
    return {name: Uses(entries if name in built else {}) for name in scope.credential_partitions}


def _plan_partition(local: list[LocalObject], remote: dict[str, RemoteObject], manifest: Manifest) -> PublishPlan:
    """One partition: its objects in the build, in the bucket, and in its manifest."""
    uploads: list[Upload] = []
    unchanged: list[LocalObject] = []
    for obj in local:
        reason = _upload_reason(obj, remote.get(obj.key), manifest.entry(obj.key))
        if reason is None:
            unchanged.append(obj)
        else:
            uploads.append(Upload(obj, reason))
    local_keys = {o.key for o in local}
    owned_ids = set(manifest.objects) | set(manifest.pending)
    gone = [k for k in remote if k not in local_keys]  # in the bucket, not in build/
    owned_ids -= {key_id(k) for k in gone if is_preserved_legacy_key(k)}  # old edX PDFs: never deleted here
    deletes = sorted(k for k in gone if key_id(k) in owned_ids)
    foreign = sorted(k for k in gone if key_id(k) not in owned_ids)
    forgotten = sorted(owned_ids - {key_id(k) for k in remote.keys() | local_keys})
    stale = sorted([u.obj.key for u in uploads if u.reason != "new"] + deletes)
    return PublishPlan(uploads, unchanged, deletes, forgotten, foreign, stale)


def _upload_reason(
    obj: LocalObject, remote: RemoteObject | None, entry: ManifestEntry | None
) -> str | None:
    if remote is None:
        return "new"
    if remote.size != obj.size:
        return "changed"
    if remote.etag != obj.md5:
        # Multipart (or encrypted) objects: the ETag is not an MD5; the manifest knows the
        # MD5 of what it uploaded, and the ETag that upload got.
        if entry is None or entry.md5 != obj.md5 or entry.effective_etag != remote.etag:
            return "changed"
    if entry is not None and entry.headers != obj.headers_digest:
        return "headers"
    return None


def manifest_entry(obj: LocalObject, etag: str | None) -> ManifestEntry:
    """The entry of an uploaded object; its ETag is kept only when it is not the MD5."""
    return ManifestEntry(obj.md5, obj.size, obj.headers_digest, etag if etag != obj.md5 else None)


def merge_invalidation(
    leftover: PendingInvalidation | None, paths: list[str], limit: int = MAX_INVALIDATION_PATHS
) -> PendingInvalidation | None:
    """Add this run's paths to those a killed run did not get to invalidate."""
    old = set(leftover.paths) if leftover else set()
    merged = collapse_paths(_uncovered(old | set(paths)), limit)
    if not merged:
        return None
    if leftover and set(merged) == old:
        return leftover  # same batch, same reference: CloudFront will not run it twice
    return PendingInvalidation(uuidlib.uuid4().hex, merged)


def leftover_invalidation(manifests: list[Manifest]) -> PendingInvalidation | None:
    """What earlier runs left to invalidate in these partitions: one batch, or the paths of
    several (left by shards of another count) as a new one."""
    batches = {(m.invalidation.reference, tuple(m.invalidation.paths)) for m in manifests if m.invalidation}
    if not batches:
        return None
    if len(batches) == 1:
        reference, paths = batches.pop()
        return PendingInvalidation(reference, list(paths))
    return PendingInvalidation(uuidlib.uuid4().hex, sorted({p for _, paths in batches for p in paths}))


def invalidation_limit(shard: Shard | None) -> int:
    """Paths per batch: CloudFront runs at most 15 wildcard paths at once, for all shards."""
    return MAX_INVALIDATION_PATHS if shard is None else max(1, MAX_INVALIDATION_PATHS // shard.count)


def invalidation_paths(stale_keys: list[str], url_base: str) -> list[str]:
    """CDN paths for stale keys: `/` + key, plus the folder URL of every `index.html`."""
    paths: set[str] = set()
    for key in stale_keys:
        paths.add(url_base + key)
        if key == "index.html" or key.endswith("/index.html"):
            paths.add(url_base + key[: -len("index.html")])
    return sorted(quote(p, safe="/*~!$&'()+,;=:@") for p in paths)


def collapse_paths(paths: list[str], limit: int = MAX_INVALIDATION_PATHS) -> list[str]:
    """At most `limit` paths: replace the biggest folder group by `folder/*` until they fit.

    Each path (a wildcard too) counts once against CloudFront's free 1,000 a month.
    """
    current = set(paths)
    while len(current) > limit:
        groups: dict[str, set[str]] = defaultdict(set)
        for path in current:
            groups[_parent(path)].add(path)
        parent, members = max(groups.items(), key=lambda g: (len(g[1]), g[0].count("/"), g[0]))
        if len(members) == 1:  # every path alone in its folder: lift the deepest one level
            deepest = max(current, key=lambda p: (p.rstrip("*").count("/"), p))
            parent, members = _parent(deepest), {deepest}
        current = (current - members) | {parent + "*"}
        wildcards = [p[:-1] for p in current if p.endswith("*")]
        current = {p for p in current if not any(_covers(w, p) for w in wildcards)}
    return sorted(current)


def _uncovered(paths: set[str]) -> list[str]:
    wildcards = [p[:-1] for p in paths if p.endswith("*")]
    return sorted(p for p in paths if not any(_covers(w, p) for w in wildcards))


def _parent(path: str) -> str:
    """The folder a path is in: /a/b/c -> /a/b/, /a/b/ -> /a/, /a/b/* -> /a/, / -> /."""
    path = path.removesuffix("*")
    if path != "/":
        path = path.removesuffix("/")
    return path[: path.rindex("/") + 1]


def _covers(wildcard_base: str, path: str) -> bool:
    return path != wildcard_base + "*" and path.startswith(wildcard_base)
