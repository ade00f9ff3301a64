"""What a publish will do, decided without touching the network.

Three inputs, one plan:

- the built tree, read as `LocalObject`s: bucket key, MD5 of the bytes, headers, upload phase;
- the bucket, as one ListObjectsV2 listing (`RemoteObject`: key, ETag, size);
- the publish manifest (`Manifest`): what sitegen itself put in the bucket.

`make_plan` compares them by content, never by modification time, so a fresh CI
checkout publishes nothing new. `publish.py` carries the plan out.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import os
import re
import uuid as uuidlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from sitegen.errors import SitegenError
from sitegen.layout import STATE_DIR, is_extensionless_json, is_page_alias, is_share_card, page_aliases
from sitegen.model import CachePolicy

MANIFEST_KEY = f"{STATE_DIR}/publish-manifest.json"  # under the prefix; never in build/
MANIFEST_FORMAT = "sitegen-publish-manifest"
MANIFEST_VERSION = 1

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

_LEARNER_SEGMENT = re.compile(r"/(?:[0-9a-f]{32}|[0-9a-f]{64})(?:/.*)?$")
FINGERPRINTED_ASSET = re.compile(r"^assets/(?:[^/]+/)*[^/]+\.[0-9a-f]{8,}\.[A-Za-z0-9]+$")


@dataclass(frozen=True)
class LocalObject:
    """One object the bucket must hold: a file of build/, or an alias of a credential page."""

    key: str  # relative to the prefix, e.g. "credentials/<uuid>/index.html"
    path: Path
    md5: str
    size: int
    content_type: str
    cache_control: str
    phase: int

    @property
    def headers_digest(self) -> str:
        return headers_digest(self.content_type, self.cache_control)


@dataclass(frozen=True)
class RemoteObject:
    key: str  # relative to the prefix
    etag: str  # without quotes
    size: int


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
    """What sitegen published in this bucket and prefix, kept in the bucket itself.

    Objects are named by `key_id(key)` (SHA-256 of the key), never by the key: the
    manifest sits under the published prefix, and must not list the credential UUIDs
    to anyone who fetches it. Every publish lists the bucket anyway, which gives back
    the real keys.

    `pending` is the intent written before any upload: an object uploaded by a publish
    that died before it could record it is still known to be sitegen's next time.
    """

    objects: dict[str, ManifestEntry] = field(default_factory=dict)
    pending: dict[str, ManifestEntry] = field(default_factory=dict)
    invalidation: PendingInvalidation | None = None
    # Purged credentials (by key_id of the ID) whose every old object version is gone.
    erased: set[str] = field(default_factory=set)

    def entry(self, key: str) -> ManifestEntry | None:
        return self.objects.get(key_id(key))

    def to_json(self) -> str:
        data = {
            "format": MANIFEST_FORMAT,
            "version": MANIFEST_VERSION,
            "key_id": "sha256(key relative to the prefix), first 32 hex digits",
            "objects": {k: e.to_json() for k, e in sorted(self.objects.items())},
            "pending": {k: e.to_json() for k, e in sorted(self.pending.items())},
            # Anyone who can read the bucket can read this: a retry invalidates the folders.
            "invalidation": None if self.invalidation is None else _stored(self.invalidation),
            "erased": sorted(self.erased),
        }
        return json.dumps(data, separators=(",", ":"), sort_keys=False) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes, where: str) -> Manifest:
        try:
            data = json.loads(text)
            if data.get("format") != MANIFEST_FORMAT or data.get("version") != MANIFEST_VERSION:
                raise ValueError(f"not a {MANIFEST_FORMAT} version {MANIFEST_VERSION}")
            inval = data.get("invalidation")
            return cls(
                objects={k: ManifestEntry.from_json(v) for k, v in data["objects"].items()},
                pending={k: ManifestEntry.from_json(v) for k, v in data["pending"].items()},
                invalidation=None
                if not inval
                else PendingInvalidation(str(inval["reference"]), [str(p) for p in inval["paths"]]),
                erased={str(k) for k in data.get("erased", [])},
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise SitegenError(
                f"{where}: the publish manifest is unreadable ({exc}); sitegen will not guess "
                "which objects are its own: restore it from the bucket's versions, or delete it "
                "(objects published so far are then kept, never deleted)"
            ) from None


@dataclass(frozen=True)
class Upload:
    obj: LocalObject
    reason: str  # "new", "changed" (bytes differ) or "headers" (Content-Type/Cache-Control differ)


@dataclass
class PublishPlan:
    uploads: list[Upload]
    unchanged: list[LocalObject]
    deletes: list[str]  # keys sitegen published that are no longer in build/
    forgotten: list[str]  # key ids in the manifest whose objects are gone from bucket and build
    foreign: list[str]  # keys in the bucket that sitegen did not publish: never touched
    stale: list[str]  # keys whose cached copies are out of date (changed or deleted)

    @property
    def changes_bucket(self) -> bool:
        return bool(self.uploads or self.deletes or self.forgotten)

    def phase(self, phase: int) -> list[Upload]:
        return [u for u in self.uploads if u.obj.phase == phase]


def key_id(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def headers_digest(content_type: str, cache_control: str) -> str:
    return hashlib.sha256(f"{content_type}\n{cache_control}".encode()).hexdigest()[:8]


def content_type(key: str) -> str:
    """The Content-Type of an object, by its key (relative to the prefix)."""
    suffix = PurePosixPath(key).suffix.lower()
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
    """Every object the bucket must hold, sorted by key; dot-files and `.sitegen/` are never included."""
    objects: list[LocalObject] = []
    for dirpath, dirnames, filenames in os.walk(build_dir):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            path = Path(dirpath, name)
            if name.startswith(".") or not path.is_file():
                continue
            key = path.relative_to(build_dir).as_posix()
            md5, size = _md5_and_size(path)
            for k in (key, *page_aliases(key)):
                ctype = content_type(k)
                objects.append(
                    LocalObject(k, path, md5, size, ctype, cache_control(k, cache), phase(ctype))
                )
    return sorted(objects, key=lambda o: o.key)


def _md5_and_size(path: Path) -> tuple[str, int]:
    with path.open("rb") as f:
        digest = hashlib.file_digest(f, "md5")
        return digest.hexdigest(), f.tell()


def make_plan(
    local: list[LocalObject], remote: dict[str, RemoteObject], manifest: Manifest
) -> PublishPlan:
    """Compare the build with the bucket listing and the manifest. No HEAD per object."""
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
    return ManifestEntry(obj.md5, obj.size, obj.headers_digest, etag)


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


def merge_invalidation(
    leftover: PendingInvalidation | None, paths: list[str]
) -> PendingInvalidation | None:
    """Add this run's paths to those a killed run did not get to invalidate."""
    old = set(leftover.paths) if leftover else set()
    merged = collapse_paths(_uncovered(old | set(paths)))
    if not merged:
        return None
    if leftover and set(merged) == old:
        return leftover  # same batch, same reference: CloudFront will not run it twice
    return PendingInvalidation(uuidlib.uuid4().hex, merged)


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
