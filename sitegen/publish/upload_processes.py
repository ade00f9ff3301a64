"""Uploading a large batch from several processes, so that the client side uses every core.

boto3 spends about 2.5 ms of CPU on each PutObject (building, signing, parsing), under the
GIL: one process uploads at most about 400 objects a second, however many threads it has
and however fast the network. The first publish of a shard (some 300,000 objects) is worth
one process per core: each worker has its own boto3 session and client, made in the worker
(a client must not cross a fork) from the standard AWS chain as the parent's was, and its
own thread pool; it uploads the chunks of the batch it is handed and returns what each
upload got (key, ETag) and how many requests it made. The parent records them as it records
its own uploads.

`Bucket.upload_all` still does each upload, so everything it guarantees holds: the file's
MD5 is checked before sending, retries are the same, and the first failure stops the batch
(the other workers stop before their next upload). A worker's failure comes back as plain
data (`UploadFailure`: not every botocore exception survives pickling) and is raised again
in the parent with the same message.
"""

from __future__ import annotations

import math
import multiprocessing
import pickle
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from sitegen.errors import SitegenError
from sitegen.publish.bucket import Bucket, PublishTarget, RetryPolicy, StopSignal
from sitegen.publish.plan import LocalObject, Upload
from sitegen.workers import cores, run_tasks

# Below this many objects a batch is uploaded by the publishing process alone: a worker
# costs about 0.1 s of CPU to start (fork, boto3 session and client), the time of 40
# uploads, and a small batch is over before the processes pay for themselves
# (benchmarks/bench_publish.py).
PROCESS_THRESHOLD = 1000
MAX_CHUNK = 500  # objects per task: small enough to share the work out evenly and stop soon


def upload_batch(bucket: Bucket, uploads: list[Upload], processes: int, threshold: int = PROCESS_THRESHOLD,
                 log: Callable[[str], object] = lambda line: None) -> list[tuple[LocalObject, str]]:
    """Upload `uploads` (each object and its ETag, as `Bucket.upload_all`): from `processes`
    worker processes (0: one per core, never more than the cores) when there are at least
    `threshold` of them; else from this process."""
    count = process_count(processes, len(uploads), threshold)
    if count <= 1:
        return bucket.upload_all(uploads)
    log(f"    from {count} processes, {bucket.jobs} threads each")
    return _upload_in_processes(bucket, uploads, count)


def process_count(processes: int, objects: int, threshold: int) -> int:
    """How many processes upload a batch of `objects` (1: this one)."""
    if objects < max(threshold, 2):
        return 1
    return min(processes or cores(), cores(), objects)


def _upload_in_processes(bucket: Bucket, uploads: list[Upload], processes: int) -> list[tuple[LocalObject, str]]:
    # fork (as the build's workers): a worker starts in milliseconds, and makes its own client.
    job = UploadJob(bucket.target, bucket.jobs, bucket.retry, bucket.multipart_threshold,
                    multiprocessing.get_context("fork").Event())
    by_key = {u.obj.key: u.obj for u in uploads}
    size = max(1, min(MAX_CHUNK, math.ceil(len(uploads) / (processes * 4))))
    done: list[tuple[LocalObject, str]] = []
    failure: UploadFailure | None = None
    # After a failure, the chunks already handed out still report (the requests they made
    # count); no new chunk is handed out.
    for outcome in run_tasks(job, _chunks(uploads, size, job.stop), processes):
        bucket.requests.add(outcome.requests)
        if outcome.failure is not None and failure is None:
            failure = outcome.failure
            job.stop.set()
        if failure is None:
            done.extend((by_key[key], etag) for key, etag in outcome.done)
    if failure is not None:
        raise failure.exception()
    return done


def _chunks(uploads: list[Upload], size: int, stop: StopSignal) -> Iterator[list[Upload]]:
    for start in range(0, len(uploads), size):
        if stop.is_set():
            return
        yield uploads[start:start + size]


@dataclass(frozen=True)
class ChunkOutcome:
    done: list[tuple[str, str]]  # key, ETag (without quotes)
    requests: int  # HTTP requests made, retries included
    failure: UploadFailure | None = None


class UploadJob:
    """What a worker process runs (`sitegen.workers.run_tasks`): chunks of a batch, with
    the worker's own `Bucket`, made at its first chunk."""

    def __init__(self, target: PublishTarget, jobs: int, retry: RetryPolicy, multipart_threshold: int,
                 stop: StopSignal):
        self.target = target
        self.jobs = jobs
        self.retry = retry
        self.multipart_threshold = multipart_threshold
        self.stop = stop  # set by the parent at the first failure
        self._bucket: Bucket | None = None  # the worker's: never made in the parent

    def run(self, chunk: list[Upload]) -> ChunkOutcome:
        try:
            bucket = self._worker_bucket()
        except Exception as exc:  # a profile the AWS chain cannot read, say: as in the parent
            return ChunkOutcome([], 0, UploadFailure.of(exc))
        before = bucket.requests.value
        try:
            done = bucket.upload_all(chunk, stop=self.stop)
        except Exception as exc:  # carried to the parent, raised there
            return ChunkOutcome([], bucket.requests.value - before, UploadFailure.of(exc))
        return ChunkOutcome([(obj.key, etag) for obj, etag in done], bucket.requests.value - before)

    def _worker_bucket(self) -> Bucket:
        if self._bucket is None:
            self._bucket = Bucket(self.target, jobs=self.jobs, retry=self.retry,
                                  multipart_threshold=self.multipart_threshold)
        return self._bucket


class WorkerBotoCoreError(BotoCoreError):
    """A botocore error of a worker process, by its message."""

    fmt = "{message}"


@dataclass(frozen=True)
class UploadFailure:
    """A worker's failure as plain data, raised again in the parent with the same message
    (and the same class where the parent's messages depend on it)."""

    kind: str  # "sitegen", "client", "credentials", "botocore" or "other"
    message: str
    code: str = ""  # "client": the S3 error code, its HTTP status and the operation
    status: int = 0
    operation: str = ""
    other: BaseException | None = None  # "other": the exception itself, when it survives pickling

    @classmethod
    def of(cls, exc: Exception) -> UploadFailure:
        if isinstance(exc, SitegenError):
            return cls("sitegen", str(exc))
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
            return cls("client", str(error.get("Message", "")), str(error.get("Code", "")), status,
                       exc.operation_name or "")
        if isinstance(exc, NoCredentialsError):
            return cls("credentials", str(exc))
        if isinstance(exc, BotoCoreError):
            return cls("botocore", str(exc))
        return cls("other", f"{type(exc).__name__}: {exc}", other=exc if _survives_pickling(exc) else None)

    def exception(self) -> Exception:
        if self.kind == "sitegen":
            return SitegenError(self.message)
        if self.kind == "client":
            response = {"Error": {"Code": self.code, "Message": self.message},
                        "ResponseMetadata": {"HTTPStatusCode": self.status}}
            return ClientError(response, self.operation)
        if self.kind == "credentials":
            return NoCredentialsError()
        if self.kind == "botocore":
            return WorkerBotoCoreError(message=self.message)
        return self.other if isinstance(self.other, Exception) else RuntimeError(self.message)


def _survives_pickling(exc: BaseException) -> bool:
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # any failure means: send the message instead
        return False
    return True
