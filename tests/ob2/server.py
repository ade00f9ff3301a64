"""A static site on 127.0.0.1, served from a folder with the content types a bucket would give."""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from sitegen.vc.openbadges2 import CONTENT_TYPE


class _Handler(SimpleHTTPRequestHandler):
    requested: list[str]

    def guess_type(self, path):
        if str(path).endswith(".json"):
            return CONTENT_TYPE  # as a published site serves them
        return super().guess_type(path)

    def do_GET(self):
        self.requested.append(self.path)
        super().do_GET()

    def log_message(self, format, *args):  # quiet: pytest shows failures, not every request
        pass


@contextlib.contextmanager
def serve_folder(root: Path) -> Iterator[tuple[str, list[str]]]:
    """(base URL with its slash, the paths requested so far) while the folder is served."""
    requested: list[str] = []
    handler = type("Handler", (_Handler,), {"requested": requested})
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", requested
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
