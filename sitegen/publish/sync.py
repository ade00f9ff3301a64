"""`sitegen publish`: sync build/ to an S3 bucket by content, then invalidate the CDN.

`publish()` reads top to bottom: check the build -> resolve the target -> list the bucket
and read the manifest -> plan (`plan.py`) -> guard deletes -> record what the pages link to,
and the intent -> upload phase by phase (files, data, pages) -> record -> delete -> invalidate
-> record.

Every step is safe to interrupt: the manifest in the bucket says what sitegen owns and what
it was about to do, so running publish again finishes the job.

With `shard` (K of N), publish looks only at the partitions of the manifest that shard
owns (`sitegen.shards`): it lists, uploads, deletes and records only their objects, and
invalidates only their paths, so the N shards publish at the same time without a race.
Shard 1 also reads what the other partitions' pages link to among the shared files named
by their bytes, and deletes those no page has linked to for `publish.unused_grace_hours`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from sitegen.errors import SitegenError
from sitegen.layout import IN_PROGRESS_FILE, LAST_BUILD_FILE, CredentialPaths, is_uuid
from sitegen.legacy.bucket import erase_purged_legacy, legacy_erasures_in_bucket
from sitegen.load.config import ENV_PUBLISH_BUCKET
from sitegen.model import PublishSettings
from sitegen.publish.bucket import (
    DEFAULT_JOBS,
    DEFAULT_RETRY,
    MULTIPART_THRESHOLD,
    Bucket,
    PublishTarget,
    RetryPolicy,
)
from sitegen.publish.manifest import Manifest, key_id, timestamp
from sitegen.publish.plan import (
    PHASE_NAMES,
    Grace,
    LocalObject,
    PublishPlan,
    RemoteObject,
    Upload,
    collapse_paths,
    invalidation_limit,
    invalidation_paths,
    leftover_invalidation,
    make_plan,
    manifest_entry,
    merge_invalidation,
    partition_uses,
    scan_build,
    spare_used_again,
)
from sitegen.publish.scope import Scope
from sitegen.publish.upload_processes import PROCESS_THRESHOLD, upload_batch
from sitegen.shards import SHARED_PARTITION, Shard, partition_name, partition_of

LEGACY_SPLIT_WAIT = 900.0  # seconds a shard waits for shard 1 to split an older manifest


@dataclass
class PublishReport:
    target: str
    endpoint_url: str | None
    dry_run: bool
    shard: str | None = None  # "K/N": only that shard's objects were looked at
    uploaded: int = 0  # in a dry run: would be uploaded
    uploaded_bytes: int = 0
    unchanged: int = 0
    deleted: int = 0
    foreign: int = 0  # objects under the prefix that sitegen did not publish: left alone
    kept: int = 0  # shared files named by their bytes, not in this shard's build: other shards' pages use them
    # Shared files named by their bytes that no page links to, in their grace period:
    # {"key", "unused_since", "deleted_from"} (a sharded publish of the shared pages).
    waiting: list[dict[str, str]] = field(default_factory=list)
    uses_unknown: list[str] = field(default_factory=list)  # partitions whose links are not known: all kept
    requests: int = 0  # HTTP requests made, retries included
    distribution_id: str | None = None
    invalidation_paths: list[str] = field(default_factory=list)
    invalidation_id: str | None = None
    erased: int = 0  # purged credentials whose old object versions were (or would be) deleted
    legacy_erased: list[str] = field(default_factory=list)  # keys of purged legacy certificates (to be) erased
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
        if self.kept:
            legacy += f", {self.kept} shared files kept for other shards' pages"
            if self.uses_unknown:
                legacy += f" (what partitions {_names(self.uses_unknown)} link to is not recorded)"
        if self.waiting:
            legacy += (f", {len(self.waiting)} unused shared files waiting to be deleted "
                       f"(from {min(w['deleted_from'] for w in self.waiting)})")
        if self.legacy_erased:
            legacy += (f", {len(self.legacy_erased)} objects of purged legacy certificates "
                       f"{'to erase' if self.dry_run else 'erased'}")
        shard = f" (shard {self.shard})" if self.shard else ""
        return (
            f"{verb} {self.target}{shard}: {self.uploaded} uploaded ({_size(self.uploaded_bytes)}), "
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


def check_build(build_dir: Path, *, allow_development_key: bool = False, shard: Shard | None = None) -> dict:
    """Refuse a build that failed, was never made, is a preview, was signed with a
    development key, or holds another shard than the one to publish."""
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
    _check_shard(state, state_file, shard)
    return state


def _check_shard(state: dict, state_file: Path, shard: Shard | None) -> None:
    """A shard's build published as the whole site, or as another shard, would delete
    every object it does not hold."""
    built = state.get("shard")
    if shard is None and built is not None:
        raise SitegenError(f"{state_file}: this build holds only shard {built} of the credentials: "
                           f"publish it with --shard {built}")
    if shard is not None and "shard" not in state:
        raise SitegenError(f"{state_file}: made by an older sitegen, which split shards otherwise: "
                           f"run sitegen build --shard {shard} again before publishing")
    if shard is not None and built is not None and built != str(shard):
        raise SitegenError(f"{state_file}: this build is shard {built}, not {shard}: "
                           f"publish it with --shard {built}, or build with --shard {shard}")


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
    retry: RetryPolicy = DEFAULT_RETRY,
    multipart_threshold: int = MULTIPART_THRESHOLD,
    upload_processes: int | None = None,
    process_threshold: int = PROCESS_THRESHOLD,
    allow_development_key: bool = False,
    purged: Collection[str] = (),
    shard: Shard | None = None,
    legacy_wait: float = LEGACY_SPLIT_WAIT,
    now: dt.datetime | None = None,
) -> PublishReport:
    """Make the bucket hold exactly build/ (plus what sitegen never owned), changing only what differs.

    `base_url` (the site's, from site.yml) gives the URL path of the prefix for CDN
    invalidations; without it, paths are `/` + the full key. `purged`: credential IDs
    erased on request, whose old object versions must go too (once). `shard`: publish
    only that shard's objects (and, for shard 1, the shared ones), beside the others.
    `now`: the clock of the grace period of unused shared files (tests set it).
    `upload_processes` (default: the settings'): how many processes upload a batch of at
    least `process_threshold` objects (0: one per core; `upload_processes.py`).
    """
    build_dir = Path(build_dir)
    check_build(build_dir, allow_development_key=allow_development_key, shard=shard)
    target = resolve_target(settings, endpoint_url)
    limit = settings.max_deletes if max_deletes is None else max_deletes
    scope = Scope.of(shard)
    local = scan_build(build_dir, settings.cache)
    try:
        bucket = Bucket(target, jobs=jobs, retry=retry, multipart_threshold=multipart_threshold)
    except ValueError as exc:  # botocore's "Invalid endpoint: <the URL, password and all>"
        raise SitegenError(f"publish.endpoint_url: {target.scrub(str(exc))}") from None
    report = PublishReport(target.url, target.endpoint_shown, dry_run, str(shard) if shard else None,
                           distribution_id=target.distribution_id)
    purged = sorted(u for u in purged if is_uuid(u))
    try:
        remote, manifests = bucket.survey(scope, local, purged, dry_run=dry_run, log=log, legacy_wait=legacy_wait)
        # What the other shards' pages link to, for the shared files named by their bytes.
        usage = bucket.read_usage(scope.others) if scope.sharded and scope.shared else None
        grace = Grace(now or dt.datetime.now(dt.UTC), dt.timedelta(hours=settings.unused_grace_hours))
        plan = make_plan(local, remote, manifests, scope, usage, grace)
        url_base = _url_base(base_url, target.prefix)
        leftover = leftover_invalidation(list(manifests.values())) if target.distribution_id else None
        most = invalidation_limit(shard)
        paths = collapse_paths(invalidation_paths(plan.stale, url_base), most)
        invalidation = merge_invalidation(leftover, paths if target.distribution_id else [], most)
        _fill_report(report, plan, invalidation)
        to_erase = [u for u in purged if _partition_of_uuid(u) in manifests
                    and key_id(u) not in manifests[_partition_of_uuid(u)].erased]
        report.erased = len(to_erase)
        published = {obj.key for obj in local}
        if dry_run:
            # Purged legacy edX certificates: their old PDF and signature too (sitegen/legacy/bucket.py).
            report.legacy_erased = legacy_erasures_in_bucket(bucket, build_dir, manifests, published)
            _log_plan(log, target, plan, report)
            return report
        _guard_deletes(plan, limit)
        log(_plan_line(target, plan))
        processes = settings.upload_processes if upload_processes is None else upload_processes
        upload = partial(upload_batch, bucket, processes=processes, threshold=process_threshold, log=log)
        manifests = _carry_out(bucket, target, plan, manifests, invalidation, remote, report, log,
                               partition_uses(local, scope), scope, upload)
        if to_erase:
            _erase_old_versions(bucket, manifests, to_erase, published, log)
        # Purged legacy edX certificates: their old PDF and signature too (sitegen/legacy/bucket.py).
        report.legacy_erased = erase_purged_legacy(bucket, build_dir, manifests, published, log=log)
    except (BotoCoreError, ClientError) as exc:
        raise SitegenError(_failure_line(exc, target)) from None
    finally:
        report.requests = bucket.requests.value
    log(report.summary())
    return report


def _partition_of_uuid(uuid: str) -> str:
    return partition_name(partition_of(uuid))


def _carry_out(bucket, target, plan: PublishPlan, manifests: dict[str, Manifest], invalidation, remote, report,
               log, uses, scope: Scope, upload: Callable[[list[Upload]], list[tuple[LocalObject, str]]],
               ) -> dict[str, Manifest]:
    # Note that order matters: intent first, so that whatever happens next, the
    # objects we are about to create are known to be ours, and the shared files our pages
    # are about to link to known to be used.
    bucket.write_uses(uses, widen=True)
    state = {name: manifest.copy() for name, manifest in manifests.items()}
    # The batch is kept by every partition whose paths it holds, or that held a leftover.
    holders = {name for name, part in plan.partitions.items() if part.stale} | {
        name for name, manifest in manifests.items() if manifest.invalidation}
    for name, part in plan.partitions.items():
        state[name].pending.update({key_id(u.obj.key): manifest_entry(u.obj, None) for u in part.uploads})
    for name in holders:
        state[name].invalidation = invalidation
    if SHARED_PARTITION in state:
        state[SHARED_PARTITION].unused = {key_id(k): since for k, since in plan.shared.unused.items()}
    bucket.write_manifests(state)  # only the partitions that changed
    for phase, name in enumerate(PHASE_NAMES):
        batch = plan.phase(phase)
        if batch:
            log(f"  uploading {len(batch)} {name}")
            for obj, etag in upload(batch):
                if obj.partition in state:  # not a shared file added for shard 1 to record
                    state[obj.partition].objects[key_id(obj.key)] = manifest_entry(obj, etag)
                    state[obj.partition].pending.pop(key_id(obj.key), None)
    for name, part in plan.partitions.items():
        _adopt_confirmed(state[name], part, remote)
    bucket.write_manifests(state)
    if plan.shared.retiring:
        _spare_used_again(bucket, plan, scope, state, report, invalidation, log)
    if plan.deletes:
        log(f"  deleting {len(plan.deletes)}")
        bucket.delete(plan.deletes)
        for name, part in plan.partitions.items():
            for key in part.deletes:
                state[name].objects.pop(key_id(key), None)
                state[name].pending.pop(key_id(key), None)
                state[name].unused.pop(key_id(key), None)
    bucket.write_uses(uses)  # exactly: every page of these partitions in the bucket is the build's now
    if invalidation is not None:
        try:
            report.invalidation_id = bucket.invalidate(invalidation)
        except (BotoCoreError, ClientError) as exc:
            bucket.write_manifests(state)  # uploads and deletes are recorded; the paths stay pending
            raise SitegenError(
                f"published {target.url}, but the CDN invalidation of distribution "
                f"{target.distribution_id} failed ({target.scrub(_describe(exc))}): "
                "run sitegen publish again to retry it"
            ) from None
        for name in holders:
            state[name].invalidation = None
    bucket.write_manifests(state)
    return state


def _erase_old_versions(bucket: Bucket, manifests: dict[str, Manifest], uuids: list[str], published: set[str],
                        log) -> None:
    """Every version of every object of a purged credential, but the current "no longer
    available" page: a versioned bucket keeps old copies of the learner's data otherwise."""
    log(f"  erasing the old versions of {len(uuids)} purged credential(s)")
    for uuid in uuids:
        paths = CredentialPaths(uuid)
        bucket.delete_versions([paths.folder, paths.api], keep_current=published)
        manifests[_partition_of_uuid(uuid)].erased.add(key_id(uuid))
    bucket.write_manifests(manifests)


def _spare_used_again(bucket: Bucket, plan: PublishPlan, scope: Scope, state: dict[str, Manifest],
                      report: PublishReport, invalidation, log) -> None:
    """Just before deleting unused shared files, read again what the other partitions link
    to: a shard that started to link to one since this publish began has recorded it by
    now, before its pages went up. (One that records it after this is read finds the file
    gone, and adds it again at its next publish.)"""
    spared = spare_used_again(plan, bucket.read_usage(scope.others, again=True))
    if spared:
        log(f"  keeping {len(spared)} shared files a shard links to again")
        for key in spared:
            state[SHARED_PARTITION].unused.pop(key_id(key), None)
        _fill_report(report, plan, invalidation)


def _adopt_confirmed(state: Manifest, plan: PublishPlan, remote: dict[str, RemoteObject]) -> None:
    """Unchanged objects of build/ are sitegen's for sure now: ours already, pending from a
    killed run, or added by another shard (a shared file named by its bytes, found in the
    build, or in what another partition's pages link to)."""
    for obj in plan.unchanged:
        kid = key_id(obj.key)
        state.objects[kid] = manifest_entry(obj, remote[obj.key].etag)
        state.pending.pop(kid, None)
    state.objects.update(plan.adopted)
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
    report.kept = len(plan.kept)
    grace = plan.shared.grace.period if plan.shared.grace else dt.timedelta(0)
    report.waiting = [{"key": key, "unused_since": timestamp(since), "deleted_from": timestamp(since + grace)}
                      for key, since in sorted(plan.shared.waiting.items())]
    report.uses_unknown = list(plan.shared.uses_unknown)
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
    unused = plan.shared.unused
    for key in plan.deletes:
        log(f"  delete          {key}" + (f" (no page links to it since {timestamp(unused[key])})"
                                          if key in unused else ""))
    for entry in report.waiting:
        log(f"  unused          {entry['key']} (no page links to it since {entry['unused_since']}; "
            f"deleted from {entry['deleted_from']})")
    if report.uses_unknown:
        log(f"  keep            {report.kept} shared files named by their bytes: what the pages of partitions "
            f"{_names(report.uses_unknown)} link to is not recorded (published by an older sitegen); "
            "each shard's next publish records it")
    for key in report.legacy_erased:
        log(f"  erase           {key} (every version: a purged legacy certificate)")
    for path in report.invalidation_paths:
        log(f"  invalidate      {path}")
    log(_plan_line(target, plan) + (f", {len(plan.foreign)} not sitegen's (left alone)"))


def _names(partitions: list[str]) -> str:
    shown = ", ".join(partitions[:8])
    return shown + (f" and {len(partitions) - 8} more" if len(partitions) > 8 else "")


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


__all__ = [
    "PublishReport",
    "PublishTarget",
    "RetryPolicy",
    "check_build",
    "publish",
    "resolve_target",
]
