"""The S3 side of a publish: listing, the manifest's partitions, uploads, deletes, the CDN.

`Bucket` makes every request of a publish, each retried (botocore's standard mode, then
ours per object operation) and counted. It lists the whole prefix in one pass, or a shard's
own key ranges in parallel; reads and writes only the manifest partitions it is given, each
only when it changed; records what each partition's pages link to (`Uses`), and reads it
back for the publish of the shared pages; and splits an older sitegen's single manifest
into partitions.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import random
import threading
import time
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from functools import partial
from typing import Protocol
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from sitegen.errors import SitegenError
from sitegen.layout import STATE_DIR, is_uuid
from sitegen.load.config import without_userinfo
from sitegen.publish.manifest import (
    ALL_PARTITIONS,
    LEGACY_MANIFEST_KEY,
    LEGACY_MANIFEST_VERSION,
    MANIFEST_DIR,
    Manifest,
    PendingInvalidation,
    Uses,
    empty_manifest_etag,
    key_id,
    manifest_key,
    split_legacy_manifest,
    uses_key,
)
from sitegen.publish.plan import LocalObject, RemoteObject, Upload, Usage
from sitegen.publish.scope import (
    CREDENTIAL_AREAS,
    DIGEST_AREAS,
    UUID_AREAS,
    Scope,
    credential_partition,
    in_credential_area,
    in_digest_area,
    is_content_named,
)
from sitegen.shards import SHARED_PARTITION, partition_name, partition_of

MiB = 1024 * 1024
MULTIPART_THRESHOLD = 8 * MiB  # above it, the ETag is not an MD5: the manifest keeps the MD5
MIN_PART_SIZE = 5 * MiB  # S3's minimum for every part but the last
DEFAULT_JOBS = 16
DELETE_BATCH = 1000  # DeleteObjects takes at most 1,000 keys
HEX_DIGITS = "0123456789abcdef"
THROTTLING_CODES = {
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "RequestTimeout",
    "TooManyRequestsException",
    "InternalError",
    "ServiceUnavailable",
}


class StopSignal(Protocol):
    """A `threading.Event` or a `multiprocessing.Event`."""

    def is_set(self) -> bool: ...


@dataclass(frozen=True)
class PublishTarget:
    """Where to publish: the loaded settings, after the command line had its say."""

    bucket: str
    prefix: str  # "" or ends with "/"
    region: str | None
    endpoint_url: str | None
    distribution_id: str | None

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    @property
    def endpoint_shown(self) -> str | None:
        """The endpoint as messages and reports show it: never a user name or password."""
        return without_userinfo(self.endpoint_url) if self.endpoint_url else None

    def scrub(self, text: str) -> str:
        """`text` (a library's error message, say) without the endpoint's user name or password."""
        if self.endpoint_url and self.endpoint_shown != self.endpoint_url:
            text = text.replace(self.endpoint_url, self.endpoint_shown)
            userinfo = urlsplit(self.endpoint_url).netloc.rpartition("@")[0]
            text = text.replace(userinfo + "@", "").replace(userinfo, "***")
        return text


@dataclass(frozen=True)
class RetryPolicy:
    """Two layers: botocore's standard mode per request, then ours per object operation."""

    botocore_attempts: int = 5  # in all, per request: throttling, 5xx, connection errors
    attempts: int = 4  # ours, when botocore gives up (or its retry quota ran out)
    backoff: float = 1.0  # seconds before our second attempt; doubles after each
    # CloudFront runs at most 15 wildcard paths at once: shards invalidating together wait
    # for each other's batches to finish (a few minutes at most).
    invalidation_waits: tuple[float, ...] = (15.0, 30.0, 60.0, 60.0, 60.0)


DEFAULT_RETRY = RetryPolicy()


class _Counter:
    """Counts HTTP requests (retries too): registered on botocore's before-send event."""

    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()

    def __call__(self, **_: object) -> None:  # must return None, or botocore skips the send
        self.add(1)

    def add(self, requests: int) -> None:
        with self._lock:
            self.value += requests


class UploadsStopped(Exception):
    """Another process's upload failed: this one stops before its next upload."""


class Bucket:
    """The S3 side: listing, manifest, uploads, deletes; every call retried and counted."""

    def __init__(self, target: PublishTarget, *, jobs: int, retry: RetryPolicy, multipart_threshold: int):
        self.target = target
        self.jobs = max(1, jobs)
        self.retry = retry
        self.multipart_threshold = multipart_threshold
        self.requests = _Counter()
        self.manifest_texts: dict[str, str] = {}  # each partition's manifest as last read or written
        self.state_files: dict[str, str] = {}  # the manifest's files as last listed (or written): key -> ETag
        self.uses_read: dict[str, Uses | None] = {}  # ETag -> the `Uses` file of that ETag (None: unreadable)
        self.session = boto3.session.Session()
        self.s3 = self.client("s3", region_name=target.region, endpoint_url=target.endpoint_url)

    def client(self, service: str, **kwargs):
        config = Config(
            retries={"mode": "standard", "total_max_attempts": self.retry.botocore_attempts},
            max_pool_connections=self.jobs + 4,
            connect_timeout=10,
            read_timeout=60,
            # Content-MD5 is what every S3-compatible server checks; newer default
            # checksums are not understood by all of them.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            # S3-compatible servers (MinIO, a local endpoint) rarely do virtual-host buckets.
            s3={"addressing_style": "path"} if kwargs.get("endpoint_url") else None,
        )
        client = self.session.client(service, config=config, **kwargs)
        client.meta.events.register("before-send", self.requests)
        return client

    def retrying(self, call: Callable[[], object]):
        for attempt in itertools.count(1):
            try:
                return call()
            except (BotoConnectionError, HTTPClientError, ClientError) as exc:
                if attempt >= self.retry.attempts or not _transient(exc):
                    raise
                delay = self.retry.backoff * 2 ** (attempt - 1)
                time.sleep(delay * (0.5 + random.random() / 2))

    def key(self, key: str) -> str:
        return self.target.prefix + key

    # ------------------------------------------------------------------ listing, manifests

    def survey(self, scope: Scope, local: list[LocalObject], purged: list[str], *, dry_run: bool, log,
               legacy_wait: float) -> tuple[dict[str, RemoteObject], dict[str, Manifest]]:
        """The objects of `scope` in the bucket, and the manifest of each of its partitions."""
        remote = self.list_scope(scope, local)
        files = {key: item.etag for key, item in remote.items() if key.startswith(STATE_DIR + "/")}
        remote = {k: v for k, v in remote.items() if not k.startswith(STATE_DIR + "/")}
        self.state_files = files
        if LEGACY_MANIFEST_KEY in files:
            if scope.shared:
                return remote, self.split_legacy(scope, remote, local, purged, dry_run=dry_run, log=log)
            if dry_run:
                return remote, self.split_legacy(scope, remote, local, purged, dry_run=True, log=log)
            self.wait_for_split(legacy_wait, log)
            return self.survey(scope, local, purged, dry_run=dry_run, log=log, legacy_wait=0)
        present = {name: files[manifest_key(name)] for name in scope.partitions if manifest_key(name) in files}
        return remote, self.read_manifests(scope.partitions, present)

    def list_scope(self, scope: Scope, local: list[LocalObject]) -> dict[str, RemoteObject]:
        """The whole prefix in one pass; a shard's own key ranges, in parallel, otherwise."""
        if not scope.sharded:
            return self.list_prefix("")[0]
        prefixes = [area + name for name in scope.credential_partitions for area in UUID_AREAS]
        if scope.credential_partitions:  # named by a digest: anyone's, told apart by the manifest
            prefixes += [area + digit for area in DIGEST_AREAS for digit in HEX_DIGITS]
        prefixes.append(MANIFEST_DIR)  # the partitions' files, and an older sitegen's single one
        shared = [obj.key for obj in local if obj.partition == SHARED_PARTITION]
        if scope.shared:  # any shared object inside a credential area is looked up alone
            prefixes += [key for key in shared if in_credential_area(key)]
        else:  # what this shard may add: the folders of the shared files named by their bytes
            prefixes += sorted({key.split("/", 1)[0] + "/" for key in shared if is_content_named(key)})
        remote = self.list_prefixes(prefixes)
        if scope.shared:
            remote.update(self.walk("", excluded=(*CREDENTIAL_AREAS, STATE_DIR + "/")))
        return remote

    def list_prefix(self, prefix: str, delimiter: str | None = None) -> tuple[dict[str, RemoteObject], list[str]]:
        """Every object under `prefix` (relative to the target's), and with a delimiter the
        sub-folders it rolled up."""
        remote: dict[str, RemoteObject] = {}
        folders: list[str] = []
        kwargs = {"Bucket": self.target.bucket, "Prefix": self.key(prefix), "MaxKeys": 1000}
        if delimiter:
            kwargs["Delimiter"] = delimiter
        while True:
            page = self.retrying(lambda: self.s3.list_objects_v2(**kwargs))
            for item in page.get("Contents", ()):
                key = item["Key"][len(self.target.prefix) :]
                remote[key] = RemoteObject(key, item["ETag"].strip('"'), item["Size"])
            folders += [entry["Prefix"][len(self.target.prefix) :] for entry in page.get("CommonPrefixes", ())]
            if not page.get("IsTruncated"):
                return remote, folders
            kwargs["ContinuationToken"] = page["NextContinuationToken"]

    def list_prefixes(self, prefixes: list[str]) -> dict[str, RemoteObject]:
        remote: dict[str, RemoteObject] = {}
        for found in self.in_parallel(lambda prefix: self.list_prefix(prefix)[0], prefixes):
            remote.update(found)
        return remote

    def walk(self, prefix: str, excluded: tuple[str, ...]) -> dict[str, RemoteObject]:
        """Everything under `prefix` but the `excluded` folders, without listing them: one
        level at a time where an excluded folder is below, in one pass elsewhere."""
        remote, folders = self.list_prefix(prefix, delimiter="/")
        whole = []
        for folder in folders:
            if folder in excluded:
                continue
            if any(other.startswith(folder) for other in excluded):
                remote.update(self.walk(folder, excluded))
            else:
                whole.append(folder)
        remote.update(self.list_prefixes(whole))
        return remote

    def in_parallel(self, call: Callable, items: list) -> list:
        if len(items) <= 1:
            return [call(item) for item in items]
        with ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="sitegen-list") as pool:
            return list(pool.map(call, items))

    def read_manifests(self, names: Collection[str], present: dict[str, str]) -> dict[str, Manifest]:
        """The manifest of each partition: read where its file is not the empty one."""
        manifests = {name: Manifest(partition=name) for name in names}
        self.manifest_texts.update({name: manifests[name].to_json() for name in names})
        to_read = [name for name, etag in present.items() if etag != empty_manifest_etag(name)]
        for manifest in self.in_parallel(self.read_manifest, to_read):
            manifests[manifest.partition] = manifest
            self.manifest_texts[manifest.partition] = manifest.to_json()
        return manifests

    def read_manifest(self, partition: str) -> Manifest:
        key = manifest_key(partition)
        body = self.get(key)
        where = f"s3://{self.target.bucket}/{self.key(key)}"
        return Manifest(partition=partition) if body is None else Manifest.from_json(body, where, partition)

    def read_usage(self, partitions: Collection[str], *, again: bool = False) -> Usage:
        """What the pages of `partitions` link to among the shared files named by their bytes,
        as each one's last publish recorded it; `again`: listed anew, for what changed since
        the survey. A partition with a manifest but no (readable) record is `unknown`; one
        without either has nothing in the bucket."""
        if again:
            listed = {key: item.etag for key, item in self.list_prefix(MANIFEST_DIR)[0].items()}
            self.state_files = {k: v for k, v in self.state_files.items() if not k.startswith(MANIFEST_DIR)} | listed
        recorded = self.recorded_uses(partitions)
        older = LEGACY_MANIFEST_KEY in self.state_files  # split by this publish: no partition has a record yet
        unknown = [name for name in partitions if recorded.get(name) is None
                   and (name in recorded or older or self.has_manifest(name))]
        entries: dict = {}
        for uses in recorded.values():
            entries.update(uses.entries if uses else {})
        return Usage(entries, tuple(sorted(unknown)))

    def has_manifest(self, partition: str) -> bool:
        """Whether the listing holds a manifest of `partition` with something in it."""
        empty = empty_manifest_etag(partition)
        return self.state_files.get(manifest_key(partition), empty) != empty

    def recorded_uses(self, partitions: Collection[str]) -> dict[str, Uses | None]:
        """The `Uses` of each of `partitions` that has one as listed (None: unreadable). The
        partitions of one shard have the same file, by its ETag: each distinct one is read once."""
        by_etag: dict[str, list[str]] = {}
        for name in partitions:
            etag = self.state_files.get(uses_key(name))
            if etag is not None:
                by_etag.setdefault(etag, []).append(name)
        to_read = sorted(etag for etag in by_etag if etag not in self.uses_read)
        for etag, uses in zip(to_read, self.in_parallel(lambda e: self.read_uses(by_etag[e][0]), to_read),
                              strict=True):
            self.uses_read[etag] = uses
        return {name: self.uses_read[etag] for etag, names in by_etag.items() for name in names}

    def read_uses(self, partition: str) -> Uses | None:
        """A partition's `Uses` file; None when it is gone or unreadable (what it uses is then not known)."""
        body = self.get(uses_key(partition))
        try:
            return None if body is None else Uses.from_json(body)
        except ValueError:
            return None

    def write_uses(self, uses: dict[str, Uses], *, widen: bool = False) -> None:
        """Record what the pages of each partition link to, where it changed (by the listed ETag).
        `widen`: with what the record held, as written before the pages go up (until they are,
        the bucket holds pages of both); exactly, once they are: never a page in the bucket
        that links to a file its record leaves out."""
        changed = {name: each for name, each in uses.items() if self.uses_differ(name, each)}
        if widen and changed:
            recorded = self.recorded_uses(changed)
            changed = {name: Uses({**(recorded[name].entries if recorded.get(name) else {}), **each.entries})
                       for name, each in changed.items()}
            changed = {name: each for name, each in changed.items() if self.uses_differ(name, each)}
        self.in_parallel(lambda item: self.put_state(uses_key(item[0]), item[1].to_json()), sorted(changed.items()))
        for name, each in changed.items():
            etag = hashlib.md5(each.to_json().encode()).hexdigest()
            self.state_files[uses_key(name)] = etag
            self.uses_read[etag] = each

    def uses_differ(self, partition: str, uses: Uses) -> bool:
        """Whether `uses` is not what the bucket holds (nothing used and no file is the same)."""
        listed = self.state_files.get(uses_key(partition))
        if listed is None:
            return bool(uses.entries) or manifest_key(partition) in self.state_files
        return listed != hashlib.md5(uses.to_json().encode()).hexdigest()

    def get(self, key: str) -> bytes | None:
        try:
            return self.retrying(
                lambda: self.s3.get_object(Bucket=self.target.bucket, Key=self.key(key))["Body"].read())
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise

    def write_manifests(self, manifests: dict[str, Manifest]) -> None:
        """Write the manifests that changed since read or written: only this publish's partitions."""
        changed = {name: m.to_json() for name, m in manifests.items()}
        changed = {name: text for name, text in changed.items() if text != self.manifest_texts.get(name)}
        self.in_parallel(lambda item: self.put_state(manifest_key(item[0]), item[1]), sorted(changed.items()))
        self.manifest_texts.update(changed)

    def put_state(self, key: str, text: str) -> None:
        """Write one of sitegen's own files (a manifest's partition, a `Uses`), never cached."""
        body = text.encode()
        self.retrying(
            lambda: self.s3.put_object(
                Bucket=self.target.bucket,
                Key=self.key(key),
                Body=body,
                ContentMD5=_b64md5(body),
                ContentType="application/json",
                CacheControl="no-store",
            )
        )

    # ------------------------------------------------------------------ an older sitegen's manifest

    def split_legacy(self, scope: Scope, remote: dict[str, RemoteObject], local: list[LocalObject],
                     purged: list[str], *, dry_run: bool, log) -> dict[str, Manifest]:
        """An older sitegen's single manifest, split into partitions: done by the publish of
        the shared pages (the others wait for it), before it changes anything else."""
        where = f"s3://{self.target.bucket}/{self.key(LEGACY_MANIFEST_KEY)}"
        body = self.get(LEGACY_MANIFEST_KEY)
        legacy = Manifest.from_json(body or b"{}", where, SHARED_PARTITION, version=LEGACY_MANIFEST_VERSION)
        if scope.sharded and scope.shared:  # every key of the bucket, in parallel
            everything = self.list_scope(Scope(ALL_PARTITIONS, sharded=True), local)
        else:
            everything = remote  # the whole prefix, or (a dry run of another shard) its own part
        everything = {k: v for k, v in everything.items() if not k.startswith(STATE_DIR + "/")}
        keys = self.partitions_of(legacy, everything, local, resolve=scope.shared)
        split = split_legacy_manifest(legacy, keys, purged)
        log(f"  splitting the publish manifest of an older sitegen into {len(split)} partition(s)"
            + (" (dry run: in memory only)" if dry_run else ""))
        if not dry_run:
            existing = {k.removeprefix(MANIFEST_DIR + "/").removesuffix(".json")
                        for k in self.list_prefix(MANIFEST_DIR + "/")[0]}
            stale = {name: Manifest(partition=name) for name in existing if name in ALL_PARTITIONS}
            self.write_manifests({**stale, **split})  # what an interrupted split left is replaced
            self.retrying(lambda: self.s3.delete_object(Bucket=self.target.bucket, Key=self.key(LEGACY_MANIFEST_KEY)))
        manifests = {name: split.get(name) or Manifest(partition=name) for name in scope.partitions}
        self.manifest_texts.update({name: m.to_json() for name, m in manifests.items() if name not in split})
        return manifests

    def partitions_of(self, legacy: Manifest, remote: dict[str, RemoteObject], local: list[LocalObject], *,
                      resolve: bool) -> dict[str, str | None]:
        """Every key of the bucket and the build -> its partition. An object named by a digest
        that the build does not have is read (a few bytes: its credential's ID) when the
        legacy manifest claims it and `resolve`; else its partition stays unknown (None)."""
        keys: dict[str, str | None] = {obj.key: obj.partition for obj in local}
        owned = set(legacy.objects) | set(legacy.pending)
        unknown = []
        for key in remote:
            if key in keys:
                continue
            name = credential_partition(key)
            if name is None and in_digest_area(key):
                if key_id(key) in owned and resolve:
                    unknown.append(key)
                keys[key] = None
            else:
                keys[key] = name or SHARED_PARTITION
        for key, name in zip(unknown, self.in_parallel(self.partition_from_body, unknown), strict=True):
            keys[key] = name
        return keys

    def partition_from_body(self, key: str) -> str:
        """The partition of a hash-index entry, from the credential ID it holds."""
        try:
            uuid = json.loads(self.get(key) or b"{}").get("uuid")
        except (ValueError, AttributeError):
            uuid = None
        return partition_name(partition_of(uuid)) if is_uuid(uuid) else SHARED_PARTITION

    def wait_for_split(self, timeout: float, log) -> None:
        """Wait for the publish of the shared pages to split an older sitegen's manifest."""
        deadline = time.monotonic() + timeout
        log("  waiting for shard 1 to split the publish manifest of an older sitegen")
        while True:
            remote, _ = self.list_prefix(LEGACY_MANIFEST_KEY)
            if LEGACY_MANIFEST_KEY not in remote:
                return
            if time.monotonic() >= deadline:
                raise SitegenError(
                    f"s3://{self.target.bucket}/{self.key(LEGACY_MANIFEST_KEY)}: the publish manifest of an "
                    f"older sitegen (one file for the whole bucket) is still there after {timeout:.0f} s: shard 1, "
                    "or a publish without --shard, splits it: run one, then this shard again")
            time.sleep(min(5.0, max(0.1, deadline - time.monotonic())))

    # ------------------------------------------------------------------ objects

    def upload_all(self, uploads: list[Upload], stop: StopSignal | None = None) -> list[tuple[LocalObject, str]]:
        """Upload concurrently; the first failure stops the batch (queued uploads are dropped),
        and so does `stop` once set (a failure in another process: `upload_processes.py`)."""
        done: list[tuple[LocalObject, str]] = []
        upload = self.upload if stop is None else partial(self.upload_unless, stop)
        pool = ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="sitegen-publish")
        try:
            futures = {pool.submit(upload, u.obj): u.obj for u in uploads}
            for future in as_completed(futures):
                done.append((futures[future], future.result()))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return done

    def upload_unless(self, stop: StopSignal, obj: LocalObject) -> str:
        if stop.is_set():
            raise UploadsStopped()
        return self.upload(obj)

    def upload(self, obj: LocalObject) -> str:
        """Put one object; returns its ETag (without quotes)."""
        if obj.size > self.multipart_threshold:
            return self.upload_multipart(obj)
        with open(obj.path, "rb") as f:
            body = f.read()
        if hashlib.md5(body).hexdigest() != obj.md5:
            raise SitegenError(f"{obj.path}: changed while publishing: build again, then publish")
        response = self.retrying(
            lambda: self.s3.put_object(
                Bucket=self.target.bucket,
                Key=self.key(obj.key),
                Body=body,
                ContentMD5=_b64md5(body),
                ContentType=obj.content_type,
                CacheControl=obj.cache_control,
            )
        )
        return response["ETag"].strip('"')

    def upload_multipart(self, obj: LocalObject) -> str:
        # The MD5 goes in the metadata too, for people and other tools; sitegen itself
        # reads it from the manifest (no HEAD per object).
        common = {"Bucket": self.target.bucket, "Key": self.key(obj.key)}
        upload_id = self.retrying(
            lambda: self.s3.create_multipart_upload(
                **common,
                ContentType=obj.content_type,
                CacheControl=obj.cache_control,
                Metadata={"md5": obj.md5},
            )
        )["UploadId"]
        try:
            parts, whole = [], hashlib.md5()
            part_size = max(self.multipart_threshold, MIN_PART_SIZE)
            with open(obj.path, "rb") as f:
                for number in itertools.count(1):
                    chunk = f.read(part_size)
                    if not chunk:
                        break
                    whole.update(chunk)
                    response = self.retrying(
                        lambda: self.s3.upload_part(
                            **common, UploadId=upload_id, PartNumber=number, Body=chunk, ContentMD5=_b64md5(chunk)
                        )
                    )
                    parts.append({"ETag": response["ETag"], "PartNumber": number})
            if whole.hexdigest() != obj.md5:
                raise SitegenError(f"{obj.path}: changed while publishing: build again, then publish")
            response = self.retrying(
                lambda: self.s3.complete_multipart_upload(
                    **common, UploadId=upload_id, MultipartUpload={"Parts": parts}
                )
            )
            return response["ETag"].strip('"')
        except BaseException:
            try:
                self.s3.abort_multipart_upload(**common, UploadId=upload_id)
            except (BotoCoreError, ClientError):
                pass  # a lifecycle rule cleans up incomplete uploads (docs/publishing.md)
            raise

    def delete_versions(self, prefixes: list[str], keep_current: set[str]) -> list[str]:
        """Delete every version and delete marker under `prefixes`, except the current
        version of the keys in `keep_current` (works on unversioned buckets too); the keys
        whose versions went."""
        doomed = self.versions_under(prefixes, keep_current)
        for start in range(0, len(doomed), DELETE_BATCH):
            batch = doomed[start:start + DELETE_BATCH]
            response = self.retrying(lambda: self.s3.delete_objects(
                Bucket=self.target.bucket, Delete={"Objects": batch, "Quiet": True}))
            if response.get("Errors"):
                first = response["Errors"][0]
                raise SitegenError(f"could not erase {len(response['Errors'])} old object versions "
                                   f"(first: {first.get('Code')}: {first.get('Message')}): "
                                   "run sitegen publish again to finish")
        return sorted({item["Key"][len(self.target.prefix):] for item in doomed})

    def versions_under(self, prefixes: list[str], keep_current: set[str]) -> list[dict[str, str]]:
        """Every version and delete marker under `prefixes` (full keys and version IDs), but
        the current version of the keys in `keep_current`."""
        doomed = []
        for prefix in prefixes:
            kwargs = {"Bucket": self.target.bucket, "Prefix": self.key(prefix)}
            while True:
                page = self.retrying(lambda: self.s3.list_object_versions(**kwargs))
                for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
                    key = item["Key"][len(self.target.prefix):]
                    current_object = item.get("IsLatest") and "ETag" in item
                    if not (current_object and key in keep_current):
                        doomed.append({"Key": item["Key"], "VersionId": item["VersionId"]})
                if not page.get("IsTruncated"):
                    break
                kwargs["KeyMarker"] = page["NextKeyMarker"]
                kwargs["VersionIdMarker"] = page["NextVersionIdMarker"]
        return doomed

    def keys_under(self, prefixes: list[str], keep_current: set[str]) -> list[str]:
        """The keys (relative to the prefix) `delete_versions` would delete versions of."""
        return sorted({item["Key"][len(self.target.prefix):] for item in self.versions_under(prefixes, keep_current)})

    def delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), DELETE_BATCH):
            batch = [{"Key": self.key(k)} for k in keys[start : start + DELETE_BATCH]]
            response = self.retrying(
                lambda: self.s3.delete_objects(
                    Bucket=self.target.bucket, Delete={"Objects": batch, "Quiet": True}
                )
            )
            errors = response.get("Errors") or []
            if errors:
                first = errors[0]
                raise SitegenError(
                    f"could not delete {len(errors)} objects from {self.target.url} "
                    f"(first: {first.get('Key')}: {first.get('Code')}: {first.get('Message')}): "
                    "run sitegen publish again to finish"
                )

    def invalidate(self, invalidation: PendingInvalidation) -> str:
        """Ask CloudFront to forget `invalidation.paths`; the invalidation's ID."""
        # CloudFront is global; AWS_ENDPOINT_URL_CLOUDFRONT (standard chain) points it elsewhere.
        cloudfront = self.client("cloudfront", region_name="us-east-1")
        waits = iter(self.retry.invalidation_waits)
        while True:
            try:
                response = self.retrying(
                    lambda: cloudfront.create_invalidation(
                        DistributionId=self.target.distribution_id,
                        InvalidationBatch={
                            "Paths": {"Quantity": len(invalidation.paths), "Items": invalidation.paths},
                            "CallerReference": invalidation.reference,
                        },
                    )
                )
                return response["Invalidation"]["Id"]
            except ClientError as exc:
                # Other shards' batches (or an operator's) are running: wait for them to finish.
                wait = next(waits, None)
                if exc.response.get("Error", {}).get("Code") != "TooManyInvalidationsInProgress" or wait is None:
                    raise
                time.sleep(wait)


def _transient(exc: Exception) -> bool:
    if isinstance(exc, (BotoConnectionError, HTTPClientError)):
        return True
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return status >= 500 or exc.response.get("Error", {}).get("Code") in THROTTLING_CODES
    return False


def _b64md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode("ascii")
