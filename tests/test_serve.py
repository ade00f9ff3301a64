"""`sitegen serve`: the preview server rebuilds when a file of the project changes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

STARTUP_SECONDS = 60  # a full first build (PDFs, signatures) and the server coming up
RELOAD_SECONDS = 30


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _fetch(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode("utf-8")
    except (urllib.error.URLError, OSError):
        return None  # not serving yet, or between rebuilds


def _wait_for(url: str, seconds: float, process: subprocess.Popen, log, text: str | None = None) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, f"sitegen serve exited with {process.returncode}: {log.read_text()}"
        page = _fetch(url)
        if page is not None and (text is None or text in page):
            return page
        time.sleep(0.2)
    raise AssertionError(f"{url} did not show {text!r} within {seconds} s; serve said: {log.read_text()}")


@pytest.mark.slow
def test_serve_shows_an_edited_page_without_a_restart(sample_site, signing_env, tmp_path):
    port = _free_port()
    url = f"http://127.0.0.1:{port}/how-to-verify/"
    log = tmp_path / "serve.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "sitegen", "serve", "--site", str(sample_site), "--port", str(port)],
            stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        page = _wait_for(url, STARTUP_SECONDS, process, log)
        assert "How to verify" in page
        edit = "Ask the issuer when in doubt (edited while serving)."
        assert edit not in page

        source = sample_site / "content/how-to-verify.md"
        source.write_text(source.read_text(encoding="utf-8") + f"\n{edit}\n", encoding="utf-8")
        _wait_for(url, RELOAD_SECONDS, process, log, text=edit)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)  # the server and anything it started
        process.wait()
