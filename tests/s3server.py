"""A real S3-protocol server for tests: moto in server mode on 127.0.0.1 (its own process),
and a proxy that can make it misbehave (503s, dropped connections, stalls) on chosen requests.

Fixtures (import them into a test module, or list this module in `pytest_plugins`):

- `moto_server`: session-wide `MotoServer` (url, port); dummy AWS credentials are set in
  os.environ for the session, and `AWS_ENDPOINT_URL_CLOUDFRONT` points CloudFront at it.
- `s3`: a boto3 S3 client talking HTTP to it.
- `bucket`: a fresh, empty bucket name for each test.
- `fault_proxy`: a `FaultProxy` in front of the server, passing everything until told.
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from botocore.config import Config

DUMMY_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


@dataclass
class MotoServer:
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def env(self) -> dict[str, str]:
        """What a subprocess needs to reach this server through the standard AWS chain."""
        return {**DUMMY_ENV, "AWS_ENDPOINT_URL_CLOUDFRONT": self.url}


def s3_client(endpoint_url: str):
    config = Config(
        s3={"addressing_style": "path"},
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    return boto3.session.Session().client(
        "s3", endpoint_url=endpoint_url, region_name="us-east-1", config=config
    )


def start_moto_server() -> tuple[subprocess.Popen, MotoServer]:
    """moto's S3/CloudFront server in its own process (its own CPU, not the tests' GIL)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, MotoServer("127.0.0.1", port)
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("moto server did not start") from None
            time.sleep(0.05)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    proc, info = start_moto_server()
    saved = {k: os.environ.get(k) for k in info.env()}
    os.environ.update(info.env())
    try:
        yield info
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture
def s3(moto_server: MotoServer):
    return s3_client(moto_server.url)


@pytest.fixture
def bucket(s3) -> str:
    name = f"test-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name)
    return name


# --------------------------------------------------------------------------- fault proxy

PASS, ANSWER_503, DROP, DROP_AFTER, STALL = "pass", "503", "drop", "drop-after", "stall"
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te", "upgrade"}


@dataclass(frozen=True)
class Request:
    number: int  # 1-based, in arrival order, over the proxy's life
    method: str
    path: str  # with the query string

    @property
    def is_object_put(self) -> bool:
        """A PutObject or UploadPart (not the publish manifest, not a bucket call)."""
        bare = self.path.split("?", 1)[0]
        return (
            self.method == "PUT"
            and bare.count("/") >= 2
            and "/.sitegen/" not in bare
        )


Rule = Callable[[Request], str]


class FaultProxy:
    """HTTP/1.1 forwarding proxy; `rule(request)` says what to do with each request:

    "pass" forwards it; "503" answers 503 SlowDown without forwarding; "drop" closes the
    connection without forwarding; "drop-after" forwards it, then closes without answering
    (the server did it, the client never hears); "stall" holds it until `release()`.
    """

    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.rule: Rule = lambda request: PASS
        self.log: list[tuple[Request, str]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._counter = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def _handle(self) -> None:
                proxy._serve(self)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def release(self) -> None:
        self._released.set()

    def close(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()

    def count(self, action: str | None = None, *, object_puts: bool = False) -> int:
        with self._lock:
            return sum(
                1
                for request, done in self.log
                if (action is None or done == action) and (not object_puts or request.is_object_put)
            )

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        body = _read_body(handler)
        with self._lock:
            self._counter += 1
            request = Request(self._counter, handler.command, handler.path)
            action = self.rule(request)
            self.log.append((request, action))
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if action == STALL:
                self._released.wait()
                _drop(handler)
            elif action == DROP:
                _drop(handler)
            elif action == ANSWER_503:
                _answer_503(handler)
            else:
                status, reason, headers, payload = self._forward(handler, body)
                if action == DROP_AFTER:
                    _drop(handler)
                else:
                    _answer(handler, status, reason, headers, payload)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _forward(self, handler, body: bytes):
        conn = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=60)
        try:
            headers = {k: v for k, v in handler.headers.items() if k.lower() not in HOP_BY_HOP}
            headers["Content-Length"] = str(len(body))
            conn.request(handler.command, handler.path, body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            return response.status, response.reason, response.getheaders(), payload
        finally:
            conn.close()


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


def _answer(handler, status: int, reason: str, headers, payload: bytes) -> None:
    handler.send_response_only(status, reason)
    for name, value in headers:
        if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
            handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(payload)))
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(payload)


def _answer_503(handler) -> None:
    payload = (
        b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
        b"<Message>Please reduce your request rate.</Message></Error>"
    )
    _answer(handler, 503, "Slow Down", [("Content-Type", "application/xml")], payload)


def _drop(handler) -> None:
    handler.close_connection = True
    try:
        handler.connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


@pytest.fixture
def fault_proxy(moto_server: MotoServer) -> Iterator[FaultProxy]:
    proxy = FaultProxy(moto_server.port)
    try:
        yield proxy
    finally:
        proxy.close()
