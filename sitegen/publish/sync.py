"""`sitegen publish`: sync build/ to an S3 bucket by content, then invalidate the CDN.

`publish()` reads top to bottom: check the build -> resolve the target -> list the bucket
and read the manifest -> plan (`publish_plan.py`) -> guard deletes -> record the intent
-> upload phase by phase (files, data, pages) -> record -> delete -> invalidate -> record.

Every step is safe to interrupt: the manifest in the bucket says what sitegen owns and what
it was about to do, so running publish again finishes the job.
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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    NoCredentialsError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from sitegen.errors import SitegenError
from sitegen.layout import IN_PROGRESS_FILE, LAST_BUILD_FILE, STATE_DIR, CredentialPaths
from sitegen.load.config import ENV_PUBLISH_BUCKET, without_userinfo
from sitegen.model import PublishSettings
from sitegen.publish.plan import (
    MANIFEST_KEY,
    PHASE_NAMES,
    LocalObject,
    Manifest,
    PublishPlan,
    RemoteObject,
    Upload,
    collapse_paths,
    invalidation_paths,
    key_id,
    make_plan,
    manifest_entry,
    merge_invalidation,
    scan_build,
)

MiB = 1024 * 1024
MULTIPART_THRESHOLD = 8 * MiB  # above it, the ETag is not an MD5: the manifest keeps the MD5
MIN_PART_SIZE = 5 * MiB  # S3's minimum for every part but the last
DEFAULT_JOBS = 16
DELETE_BATCH = 1000  # DeleteObjects takes at most 1,000 keys
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


@dataclass
class PublishReport:
    target: str
    endpoint_url: str | None
    dry_run: bool
    uploaded: int = 0  # in a dry run: would be uploaded
    uploaded_bytes: int = 0
    unchanged: int = 0
    deleted: int = 0
    foreign: int = 0  # objects under the prefix that sitegen did not publish: left alone
    requests: int = 0  # HTTP requests made, retries included
    distribution_id: str | None = None
    invalidation_paths: list[str] = field(default_factory=list)
    invalidation_id: str | None = None
    erased: int = 0  # purged credentials whose old object versions were (or would be) deleted
    uploads: list[dict[str, str]] = field(default_factory=list)  # {"key", "reason"}
    deletes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        verb = "would publish" if self.dry_run else "published"
        cdn = (
            f"; CDN: {len(self.invalidation_paths)} paths invalidated"
            if self.invalidation_paths
            else "; CDN: nothing to invalidate"
            if self.distribution_id
            else ""
        )
        legacy = f", {self.foreign} not sitegen's (left alone)" if self.foreign else ""
        return (
            f"{verb} {self.target}: {self.uploaded} uploaded ({_size(self.uploaded_bytes)}), "
            f"{self.deleted} deleted, {self.unchanged} unchanged{legacy}, "
            f"{self.requests} requests{cdn}"
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False)


def resolve_target(settings: PublishSettings, endpoint_url: str | None = None) -> PublishTarget:
    """The loaded settings (site.yml with the environment applied), `endpoint_url`
    (the command line's --endpoint-url) over both."""
    if not settings.bucket:
        raise SitegenError(f"site.yml: publish.bucket: no bucket to publish to (or set {ENV_PUBLISH_BUCKET})")
    return PublishTarget(
        bucket=settings.bucket,
        prefix=settings.prefix,
        region=settings.region,
        endpoint_url=endpoint_url or settings.endpoint_url,
        distribution_id=settings.cdn_distribution_id,
    )


def check_distinct_targets(settings: list[PublishSettings], endpoint_url: str | None, names: list[str]) -> None:
    """Several sites published in one run must go to different places (bucket and prefix,
    with the environment applied): each would otherwise delete the other's objects."""
    seen: dict[tuple, str] = {}
    for each, name in zip(settings, names, strict=True):
        target = resolve_target(each, endpoint_url)
        place = (target.endpoint_url, target.bucket, target.prefix)
        if place in seen:
            raise SitegenError(f"sites {seen[place]} and {name} would both publish to s3://{target.bucket}/"
                               f"{target.prefix}: give each its own bucket or prefix, or publish one with "
                               "--site-name")
        seen[place] = name


def check_build(build_dir: Path, *, allow_development_key: bool = False) -> dict:
    """Refuse a build that failed, was never made, is a preview, or was signed with a development key."""
    state_file = build_dir / LAST_BUILD_FILE
    if (build_dir / IN_PROGRESS_FILE).exists():
        raise SitegenError(f"{build_dir / IN_PROGRESS_FILE}: the last build did not finish (killed, or still "
                           "running): run sitegen build again before publishing")
    try:
        state = json.loads(state_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SitegenError(f"{state_file}: no finished build here: run sitegen build first") from None
    except (OSError, ValueError) as exc:
        raise SitegenError(f"{state_file}: unreadable ({exc}): run sitegen build again") from None
    if not isinstance(state, dict) or state.get("ok") is not True:
        errors = state.get("errors", "?") if isinstance(state, dict) else "?"
        raise SitegenError(
            f"{state_file}: the last build failed ({errors} errors): "
            "fix them and run sitegen build before publishing"
        )
    if state.get("publishable") is not True:
        why = state.get("preview") or "made by an older sitegen"
        raise SitegenError(
            f"{state_file}: this build is a preview ({why}) and is never published: "
            "run sitegen build without --pages-only or --base-url"
        )
    signing = state.get("signing") if isinstance(state.get("signing"), dict) else {}
    if signing.get("development_key") is not False and not allow_development_key:
        fingerprint = signing.get("fingerprint") or "unknown key"
        raise SitegenError(
            f"{state_file}: the build was signed with a development key ({fingerprint}), "
            "which nobody can trust: set the real signing key and build again"
        )
    return state


def publish(
    build_dir: Path,
    settings: PublishSettings,
    *,
    dry_run: bool = False,
    endpoint_url: str | None = None,
    max_deletes: int | None = None,
    log: Callable[[str], object] = print,
    base_url: str | None = None,
    jobs: int = DEFAULT_JOBS,
    retry: RetryPolicy = RetryPolicy(),
    multipart_threshold: int = MULTIPART_THRESHOLD,
    allow_development_key: bool = False,
    purged: Collection[str] = (),
) -> PublishReport:
    """Make the bucket hold exactly build/ (plus what sitegen never owned), changing only what differs.

    `base_url` (the site's, from site.yml) gives the URL path of the prefix for CDN
    invalidations; without it, paths are `/` + the full key. `purged`: credential IDs
    erased on request, whose old object versions must go too (once).
    """
    build_dir = Path(build_dir)
    check_build(build_dir, allow_development_key=allow_development_key)
    target = resolve_target(settings, endpoint_url)
    limit = settings.max_deletes if max_deletes is None else max_deletes
    local = scan_build(build_dir, settings.cache)
    try:
        bucket = _Bucket(target, jobs=jobs, retry=retry, multipart_threshold=multipart_threshold)
    except ValueError as exc:  # botocore's "Invalid endpoint: <the URL, password and all>"
        raise SitegenError(f"publish.endpoint_url: {target.scrub(str(exc))}") from None
    report = PublishReport(
        target.url, target.endpoint_shown, dry_run, distribution_id=target.distribution_id
    )
    try:
        remote, manifest = bucket.list_with_manifest()
        plan = make_plan(local, remote, manifest)
        url_base = _url_base(base_url, target.prefix)
        leftover = manifest.invalidation if target.distribution_id else None
        paths = collapse_paths(invalidation_paths(plan.stale, url_base))
        invalidation = merge_invalidation(leftover, paths if target.distribution_id else [])
        _fill_report(report, plan, invalidation)
        to_erase = sorted(u for u in purged if key_id(u) not in manifest.erased)
        report.erased = len(to_erase)
        if dry_run:
            _log_plan(log, target, plan, report)
            return report
        _guard_deletes(plan, limit)
        log(_plan_line(target, plan))
        if plan.changes_bucket or manifest.pending or invalidation is not None:
            manifest = _carry_out(bucket, target, plan, manifest, invalidation, remote, report, log)
        if to_erase:
            _erase_old_versions(bucket, manifest, to_erase, {obj.key for obj in local}, log)
    except (BotoCoreError, ClientError) as exc:
        raise SitegenError(_failure_line(exc, target)) from None
    finally:
        report.requests = bucket.requests.value
    log(report.summary())
    return report


def _carry_out(bucket, target, plan, manifest, invalidation, remote, report, log) -> Manifest:
    # Note that order matters: intent first, so that whatever happens next, the
    # objects we are about to create are known to be ours.
    state = Manifest(dict(manifest.objects), dict(manifest.pending), invalidation, set(manifest.erased))
    if plan.uploads or invalidation != manifest.invalidation:
        state.pending.update({key_id(u.obj.key): manifest_entry(u.obj, None) for u in plan.uploads})
        bucket.write_manifest(state)
    for phase, name in enumerate(PHASE_NAMES):
        batch = plan.phase(phase)
        if batch:
            log(f"  uploading {len(batch)} {name}")
            for obj, etag in bucket.upload_all(batch):
                state.objects[key_id(obj.key)] = manifest_entry(obj, etag)
                state.pending.pop(key_id(obj.key), None)
    _adopt_confirmed(state, plan, remote)
    if plan.uploads or plan.forgotten or manifest.pending:
        bucket.write_manifest(state)
    if plan.deletes:
        log(f"  deleting {len(plan.deletes)}")
        bucket.delete(plan.deletes)
        for key in plan.deletes:
            state.objects.pop(key_id(key), None)
            state.pending.pop(key_id(key), None)
    if state.invalidation is not None:
        try:
            report.invalidation_id = _invalidate(target, state.invalidation, bucket)
        except (BotoCoreError, ClientError) as exc:
            bucket.write_manifest(state)  # uploads and deletes are recorded; the paths stay pending
            raise SitegenError(
                f"published {target.url}, but the CDN invalidation of distribution "
                f"{target.distribution_id} failed ({target.scrub(_describe(exc))}): "
                "run sitegen publish again to retry it"
            ) from None
        state.invalidation = None
    if plan.deletes or report.invalidation_id:
        bucket.write_manifest(state)
    return state


def _erase_old_versions(bucket: _Bucket, manifest: Manifest, uuids: list[str], published: set[str], log) -> None:
    """Every version of every object of a purged credential, but the current "no longer
    available" page: a versioned bucket keeps old copies of the learner's data otherwise."""
    log(f"  erasing the old versions of {len(uuids)} purged credential(s)")
    for uuid in uuids:
        paths = CredentialPaths(uuid)
        bucket.delete_versions([paths.folder, paths.api], keep_current=published)
        manifest.erased.add(key_id(uuid))
    bucket.write_manifest(manifest)


def _adopt_confirmed(state: Manifest, plan: PublishPlan, remote: dict[str, RemoteObject]) -> None:
    """Unchanged objects that were ours (or pending from a killed run) are ours for sure now."""
    for obj in plan.unchanged:
        kid = key_id(obj.key)
        if kid in state.objects or kid in state.pending:
            state.objects[kid] = manifest_entry(obj, remote[obj.key].etag)
            state.pending.pop(kid, None)
    for kid in plan.forgotten:
        state.objects.pop(kid, None)
        state.pending.pop(kid, None)


def _guard_deletes(plan: PublishPlan, limit: int) -> None:
    if len(plan.deletes) > limit:
        raise SitegenError(
            f"refusing to delete {len(plan.deletes)} objects (more than max_deletes={limit}): "
            "sitegen published them and they are no longer in build/; if that is intended "
            f"(purges, a changed URL layout), run again with --max-deletes {len(plan.deletes)}"
        )


def _url_base(base_url: str | None, prefix: str) -> str:
    if base_url:
        path = urlsplit(base_url).path or "/"
        return path if path.endswith("/") else path + "/"
    return "/" + prefix


def _fill_report(report: PublishReport, plan: PublishPlan, invalidation) -> None:
    report.uploaded = len(plan.uploads)
    report.uploaded_bytes = sum(u.obj.size for u in plan.uploads)
    report.unchanged = len(plan.unchanged)
    report.deleted = len(plan.deletes)
    report.foreign = len(plan.foreign)
    report.uploads = [{"key": u.obj.key, "reason": u.reason} for u in plan.uploads]
    report.deletes = list(plan.deletes)
    report.invalidation_paths = list(invalidation.paths) if invalidation else []


def _plan_line(target: PublishTarget, plan: PublishPlan) -> str:
    reasons: dict[str, int] = {}
    for u in plan.uploads:
        reasons[u.reason] = reasons.get(u.reason, 0) + 1
    detail = ", ".join(f"{n} {r}" for r, n in sorted(reasons.items()))
    return (
        f"publishing to {target.url}: {len(plan.uploads)} to upload"
        + (f" ({detail})" if detail else "")
        + f", {len(plan.deletes)} to delete, {len(plan.unchanged)} unchanged"
    )


def _log_plan(log, target: PublishTarget, plan: PublishPlan, report: PublishReport) -> None:
    log(f"dry run: nothing is changed in {target.url}")
    for phase in range(len(PHASE_NAMES)):
        for u in plan.phase(phase):
            log(f"  upload {u.reason:<8} {u.obj.key}")
    for key in plan.deletes:
        log(f"  delete          {key}")
    for path in report.invalidation_paths:
        log(f"  invalidate      {path}")
    log(_plan_line(target, plan) + (f", {len(plan.foreign)} not sitegen's (left alone)"))


def _describe(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        return f"{exc.operation_name}: {err.get('Code', '?')}: {err.get('Message', '')}".rstrip(": ")
    return str(exc)


def _failure_line(exc: Exception, target: PublishTarget) -> str:
    if isinstance(exc, NoCredentialsError):
        return (
            "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
            "AWS_PROFILE, or run with a role (the standard AWS chain)"
        )
    if isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") == "NoSuchBucket":
        where = f" at {target.endpoint_shown}" if target.endpoint_url else ""
        return f"bucket {target.bucket}{where} does not exist"
    return (
        f"publish to {target.url} stopped: {target.scrub(_describe(exc))}; "
        "what was done is recorded: run sitegen publish again to finish"
    )


def _size(n: float) -> str:
    if n < 1024:
        return f"{n:.0f} B"
    for unit in ("KiB", "MiB", "GiB"):
        n /= 1024
        if n < 1024 or unit == "GiB":
            break
    return f"{n:.1f} {unit}"


class _Counter:
    """Counts HTTP requests (retries too): registered on botocore's before-send event."""

    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()

    def __call__(self, **_: object) -> None:  # must return None, or botocore skips the send
        with self._lock:
            self.value += 1


class _Bucket:
    """The S3 side: listing, manifest, uploads, deletes; every call retried and counted."""

    def __init__(self, target: PublishTarget, *, jobs: int, retry: RetryPolicy, multipart_threshold: int):
        self.target = target
        self.jobs = max(1, jobs)
        self.retry = retry
        self.multipart_threshold = multipart_threshold
        self.requests = _Counter()
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

    def list_with_manifest(self) -> tuple[dict[str, RemoteObject], Manifest]:
        """One ListObjectsV2 pass over the prefix, then the manifest if the listing has one."""
        remote: dict[str, RemoteObject] = {}
        kwargs = {"Bucket": self.target.bucket, "Prefix": self.target.prefix, "MaxKeys": 1000}
        while True:
            page = self.retrying(lambda: self.s3.list_objects_v2(**kwargs))
            for item in page.get("Contents", ()):
                key = item["Key"][len(self.target.prefix) :]
                remote[key] = RemoteObject(key, item["ETag"].strip('"'), item["Size"])
            if not page.get("IsTruncated"):
                break
            kwargs["ContinuationToken"] = page["NextContinuationToken"]
        has_manifest = MANIFEST_KEY in remote
        remote = {k: v for k, v in remote.items() if not k.startswith(STATE_DIR + "/")}
        return remote, self.read_manifest() if has_manifest else Manifest()

    def read_manifest(self) -> Manifest:
        where = f"s3://{self.target.bucket}/{self.key(MANIFEST_KEY)}"
        try:
            body = self.retrying(
                lambda: self.s3.get_object(Bucket=self.target.bucket, Key=self.key(MANIFEST_KEY))["Body"].read()
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return Manifest()
            raise
        return Manifest.from_json(body, where)

    def write_manifest(self, manifest: Manifest) -> None:
        body = manifest.to_json().encode()
        self.retrying(
            lambda: self.s3.put_object(
                Bucket=self.target.bucket,
                Key=self.key(MANIFEST_KEY),
                Body=body,
                ContentMD5=_b64md5(body),
                ContentType="application/json",
                CacheControl="no-store",
            )
        )

    def upload_all(self, uploads: list[Upload]) -> list[tuple[LocalObject, str]]:
        """Upload concurrently; the first failure stops the batch (queued uploads are dropped)."""
        done: list[tuple[LocalObject, str]] = []
        pool = ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="sitegen-publish")
        try:
            futures = {pool.submit(self.upload, u.obj): u.obj for u in uploads}
            for future in as_completed(futures):
                done.append((futures[future], future.result()))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return done

    def upload(self, obj: LocalObject) -> str:
        """Put one object; returns its ETag (without quotes)."""
        if obj.size > self.multipart_threshold:
            return self.upload_multipart(obj)
        body = obj.path.read_bytes()
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
            with obj.path.open("rb") as f:
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

    def delete_versions(self, prefixes: list[str], keep_current: set[str]) -> None:
        """Delete every version and delete marker under `prefixes`, except the current
        version of the keys in `keep_current` (works on unversioned buckets too)."""
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
        for start in range(0, len(doomed), DELETE_BATCH):
            batch = doomed[start:start + DELETE_BATCH]
            response = self.retrying(lambda: self.s3.delete_objects(
                Bucket=self.target.bucket, Delete={"Objects": batch, "Quiet": True}))
            if response.get("Errors"):
                first = response["Errors"][0]
                raise SitegenError(f"could not erase {len(response['Errors'])} old object versions "
                                   f"(first: {first.get('Code')}: {first.get('Message')}): "
                                   "run sitegen publish again to finish")

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


def _invalidate(target: PublishTarget, invalidation, bucket: _Bucket) -> str:
    # CloudFront is global; AWS_ENDPOINT_URL_CLOUDFRONT (standard chain) points it elsewhere.
    cloudfront = bucket.client("cloudfront", region_name="us-east-1")
    response = bucket.retrying(
        lambda: cloudfront.create_invalidation(
            DistributionId=target.distribution_id,
            InvalidationBatch={
                "Paths": {"Quantity": len(invalidation.paths), "Items": invalidation.paths},
                "CallerReference": invalidation.reference,
            },
        )
    )
    return response["Invalidation"]["Id"]


def _transient(exc: Exception) -> bool:
    if isinstance(exc, (BotoConnectionError, HTTPClientError)):
        return True
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return status >= 500 or exc.response.get("Error", {}).get("Code") in THROTTLING_CODES
    return False


def _b64md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode("ascii")


__all__ = [
    "PublishReport",
    "PublishTarget",
    "RetryPolicy",
    "check_build",
    "publish",
    "resolve_target",
]
