"""A large batch is uploaded from several processes (`sitegen/publish/upload_processes.py`),
against a real S3 server (moto, server mode, on 127.0.0.1), and gives what the threads of
one process give: the same bucket and manifest, the same one-line messages, the same
recovery at the next run, every request counted.

The tests force processes on for a few dozen objects (`process_threshold`) and pretend the
machine has two cores at least, so that they run the same on any runner."""

from __future__ import annotations

import os
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from botocore.exceptions import BotoCoreError

from s3server import (  # noqa: F401  (fixtures)
    ANSWER_503,
    DROP,
    PASS,
    bucket,
    fault_proxy,
    moto_server,
    s3,
)
from sitegen.errors import InputProblems, SitegenError
from sitegen.load.config import load_site
from sitegen.model import PublishSettings
from sitegen.publish import upload_processes
from sitegen.publish.bucket import Bucket, RetryPolicy
from sitegen.publish.upload_processes import process_count
from siteyml import line_of, write_site
from test_publish import (
    CACHE,
    UUIDS,
    bucket_objects,
    expected_objects,
    md5,
    run,
    site_tree,
    write_build,
)

PROCESSES = {"upload_processes": 2, "process_threshold": 2}
THREADS = {"upload_processes": 1}


@pytest.fixture(autouse=True)
def two_cores(monkeypatch):
    monkeypatch.setattr(upload_processes, "cores", lambda: max(2, os.cpu_count() or 1))


@pytest.fixture
def other_bucket(s3) -> str:
    name = f"test-threads-{os.urandom(6).hex()}"
    s3.create_bucket(Bucket=name)
    return name


def tree_with_a_multipart_object() -> dict[str, bytes]:
    tree = site_tree(UUIDS[:12], full=True)
    tree[f"credentials/{UUIDS[0]}/certificate.pdf"] = os.urandom(3000)  # above MULTIPART below
    return tree


MULTIPART = 2000


def uploading_pids(monkeypatch, tmp_path: Path) -> Path:
    """Each upload appends the ID of the process that made it to the returned file (the
    workers are forked: they inherit the patch)."""
    record = tmp_path / "pids"
    upload = Bucket.upload

    def recorded(self, obj):
        with open(record, "a") as f:
            f.write(f"{os.getpid()}\n")
        return upload(self, obj)

    monkeypatch.setattr(Bucket, "upload", recorded)
    return record


def test_processes_publish_the_same_bucket_and_manifest_as_threads(
    tmp_path, s3, bucket, other_bucket, moto_server, monkeypatch
):
    tree = tree_with_a_multipart_object()
    build = write_build(tmp_path / "build", tree)
    pids = uploading_pids(monkeypatch, tmp_path)
    settings = PublishSettings(bucket=bucket, endpoint_url=moto_server.url, cache=CACHE)

    threads = run(build, replace(settings, bucket=other_bucket), multipart_threshold=MULTIPART, **THREADS)
    assert set(pids.read_text().split()) == {str(os.getpid())}
    pids.unlink()
    processes = run(build, settings, multipart_threshold=MULTIPART, **PROCESSES)

    uploaders = set(pids.read_text().split())
    assert len(uploaders) >= 2 and str(os.getpid()) not in uploaders  # workers did every upload
    assert bucket_objects(s3, bucket) == bucket_objects(s3, other_bucket)
    big = f"credentials/{UUIDS[0]}/certificate.pdf"
    assert "-" in bucket_objects(s3, bucket)[big]  # a multipart upload, in a worker
    assert s3.get_object(Bucket=bucket, Key=big)["Body"].read() == tree[big]
    assert {**bucket_objects(s3, bucket), big: md5(tree[big])} == expected_objects(tree)
    # the manifest (every partition, byte for byte) and what the pages link to
    assert state_files(s3, bucket) == state_files(s3, other_bucket)
    assert processes.uploaded == threads.uploaded == len(expected_objects(tree))
    assert "    from 2 processes, 4 threads each" in processes.lines
    assert not any("processes" in line for line in threads.lines)
    assert run(build, settings, **PROCESSES).uploaded == 0


def state_files(s3, bucket: str) -> dict[str, bytes]:
    keys = [k for k in bucket_objects(s3, bucket, include_state=True) if k.startswith(".sitegen/")]
    return {k: s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys}


def test_every_request_of_the_workers_is_counted(tmp_path, settings_via, fault_proxy):
    build = write_build(tmp_path / "build", site_tree(UUIDS[:12]))

    report = run(build, settings_via(fault_proxy), **PROCESSES)

    assert report.requests == len(fault_proxy.log) > report.uploaded


@pytest.fixture
def settings_via(bucket, moto_server):
    def settings(proxy) -> PublishSettings:
        return PublishSettings(bucket=bucket, endpoint_url=proxy.url, cache=CACHE)

    return settings


@pytest.mark.parametrize("fault", [ANSWER_503, DROP], ids=["503", "dropped connection"])
def test_a_failing_worker_stops_the_publish_with_the_usual_line_and_the_next_run_finishes(
    tmp_path, s3, bucket, other_bucket, moto_server, fault_proxy, fault
):
    """One credential's PDF cannot be uploaded: the files phase fails in one worker, no page
    goes up, and the message is the one the threads give, a password in the endpoint never
    shown; the next run uploads only what the first missed."""
    tree = site_tree(UUIDS[:12])
    build = write_build(tmp_path / "build", tree)
    doomed = f"/credentials/{UUIDS[5]}/certificate.pdf"
    fault_proxy.rule = lambda r: fault if r.method == "PUT" and r.path.split("?")[0].endswith(doomed) else PASS
    port = fault_proxy.url.rsplit(":", 1)[1]
    endpoint = f"http://AKIAEXAMPLEUSER:s3cr3t-pass@127.0.0.1:{port}"
    failing = RetryPolicy(botocore_attempts=2, attempts=2, backoff=0.01)
    lines = {}
    for name, where, mode in [("threads", other_bucket, THREADS), ("processes", bucket, PROCESSES)]:
        settings = PublishSettings(bucket=where, endpoint_url=endpoint, cache=CACHE)
        with pytest.raises(SitegenError) as stopped:
            run(build, settings, retry=failing, **mode)
        lines[name] = str(stopped.value).replace(where, "BUCKET")

    assert lines["processes"] == lines["threads"]
    assert lines["processes"].startswith("publish to s3://BUCKET/ stopped: ")
    assert "s3cr3t-pass" not in lines["processes"] and "AKIAEXAMPLEUSER" not in lines["processes"]
    half = bucket_objects(s3, bucket)
    assert half and not any(key.endswith("index.html") for key in half)  # the pages never went up

    fault_proxy.rule = lambda r: PASS
    settings = PublishSettings(bucket=bucket, endpoint_url=moto_server.url, cache=CACHE)
    report = run(build, settings, **PROCESSES)
    assert bucket_objects(s3, bucket) == expected_objects(tree)
    assert report.uploaded == len(expected_objects(tree)) - len(half)


class PoolError(BotoCoreError):
    """A botocore error that cannot cross processes: a lock in its arguments (a connection
    pool's, say) cannot be pickled."""

    fmt = "the connection pool gave up ({detail})"


def test_a_worker_failure_that_cannot_be_pickled_reaches_the_user_as_the_same_line(
    tmp_path, bucket, other_bucket, moto_server, monkeypatch
):
    build = write_build(tmp_path / "build", site_tree(UUIDS[:12]))
    doomed = f"credentials/{UUIDS[5]}/certificate.pdf"
    upload = Bucket.upload

    def failing(self, obj):
        if obj.key == doomed:
            raise PoolError(detail="no connection left", pool=threading.Lock())
        return upload(self, obj)

    monkeypatch.setattr(Bucket, "upload", failing)
    lines = {}
    for name, where, mode in [("threads", other_bucket, THREADS), ("processes", bucket, PROCESSES)]:
        settings = PublishSettings(bucket=where, endpoint_url=moto_server.url, cache=CACHE)
        with pytest.raises(SitegenError) as stopped:
            run(build, settings, **mode)
        lines[name] = str(stopped.value).replace(where, "BUCKET")

    assert lines["processes"] == lines["threads"] == (
        "publish to s3://BUCKET/ stopped: the connection pool gave up (no connection left); "
        "what was done is recorded: run sitegen publish again to finish")


def test_a_file_changed_while_a_worker_publishes_is_refused(tmp_path, s3, bucket, settings_via, fault_proxy):
    tree = site_tree(UUIDS[:12])
    build = write_build(tmp_path / "build", tree)
    page = build / f"credentials/{UUIDS[7]}/index.html"

    def change_a_page_at_the_first_upload(request):
        if request.method == "PUT" and "/credentials/" in request.path and page.read_bytes() == tree[
                f"credentials/{UUIDS[7]}/index.html"]:
            page.write_bytes(b"<!doctype html>rebuilt meanwhile")
        return PASS

    fault_proxy.rule = change_a_page_at_the_first_upload
    with pytest.raises(SitegenError) as refused:
        run(build, settings_via(fault_proxy), **PROCESSES)

    assert str(refused.value) == f"{page}: changed while publishing: build again, then publish"
    assert f"credentials/{UUIDS[7]}/index.html" not in bucket_objects(s3, bucket)


@pytest.mark.parametrize("setting, objects, threshold, cores, expected", [
    (0, 5000, 1000, 2, 2),  # one per core
    (0, 5000, 1000, 8, 8),
    (4, 5000, 1000, 2, 2),  # never more than the cores
    (1, 5000, 1000, 8, 1),  # this process alone
    (0, 999, 1000, 8, 1),  # too small a batch to pay for the processes
    (0, 1, 1, 8, 1),
])
def test_how_many_processes_upload_a_batch(monkeypatch, setting, objects, threshold, cores, expected):
    monkeypatch.setattr(upload_processes, "cores", lambda: cores)
    assert process_count(setting, objects, threshold) == expected


def test_upload_processes_come_from_site_yml_and_the_command_line_wins(tmp_path, monkeypatch, capsys):
    from sitegen.cli import main
    from sitegen.publish import sync

    write_site(tmp_path, "publish:\n  bucket: b\n  upload_processes: 3\n")
    assert load_site(tmp_path, environ={}).publish.upload_processes == 3
    given = []
    monkeypatch.setattr(sync, "check_build", lambda *args, **kwargs: {})
    monkeypatch.setattr(sync, "publish", lambda build, settings, **kwargs: given.append(
        (settings.upload_processes, kwargs["upload_processes"])))
    assert main(["publish", "--site", str(tmp_path)]) == 0
    assert main(["publish", "--site", str(tmp_path), "--upload-processes", "1"]) == 0
    assert given == [(3, None), (3, 1)]  # None: publish takes site.yml's

    assert main(["publish", "--site", str(tmp_path), "--upload-processes", "-1"]) == 1
    assert capsys.readouterr().err == "sitegen: error: --upload-processes: must be 0 (one per core) or more\n"
    write_site(tmp_path, "publish:\n  bucket: b\n  upload_processes: -1\n")
    with pytest.raises(InputProblems) as refused:
        load_site(tmp_path, environ={})
    assert [str(p) for p in refused.value.problems] == [
        f"site.yml:{line_of(tmp_path, 'upload_processes:')}: publish.upload_processes: must be 0 or more"]
