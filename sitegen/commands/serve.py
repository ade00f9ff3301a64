"""`sitegen serve`: build, serve on 127.0.0.1, rebuild and live-reload on any change.

The preview (of one site: the first, or --site-name's) is built into build/.preview with
base_url pointing at the local server, so every absolute link (share tags, the URL printed
on PDFs) works in the preview too, and build/ (what publish uploads) is never touched.
A build error is printed and the last good site keeps being served.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from sitegen.commands.build import BuildOptions, build, output_folder
from sitegen.errors import InputProblems, SitegenError
from sitegen.load.config import load_sites

log = logging.getLogger("sitegen")
WATCHED = ("site.yml", "credentials_data", "content", "themes", "sites")  # sites/: where the example
# project keeps the pages of its second site


def serve(site_dir: Path, port: int, out_dir: Path | None = None, site_name: str | None = None) -> int:
    """Serve one site: `site_name`, or the project's first (or only) one."""
    from livereload import Server

    site_name = site_name or _first_site_name(site_dir)
    options = BuildOptions(site_dir=site_dir, out_dir=out_dir, base_url=f"http://127.0.0.1:{port}/",
                           site_name=site_name)
    out = out_dir.resolve() if out_dir else output_folder(site_dir, preview=True)
    out = out / site_name if site_name else out
    if not _rebuild(options) and not out.is_dir():
        return 1
    server = Server()
    logging.getLogger("livereload").propagate = False  # it prints its own lines already
    for name in WATCHED:
        path = site_dir / name
        if path.exists():
            # livereload takes glob patterns; ** covers nested theme and data folders.
            pattern = str(path / "**" / "*") if path.is_dir() else str(path)
            server.watch(pattern, lambda: _rebuild(options), delay=0.3)
    print(f"Serving {out} on http://127.0.0.1:{port}/ (Ctrl+C to stop)", flush=True)
    server.serve(host="127.0.0.1", port=port, root=str(out), open_url=False, restart_delay=0)
    return 0


def _first_site_name(site_dir: Path) -> str | None:
    """The first site of a project of several; None for one site, or a site.yml that does
    not load (the build then says why)."""
    try:
        return load_sites(site_dir)[0].key or None
    except SitegenError:
        return None


def _rebuild(options: BuildOptions) -> bool:
    try:
        report = build(options)
    except InputProblems as err:
        for problem in err.problems:
            print(f"error: {problem}", file=sys.stderr)
        print("sitegen: build failed; still serving the last good build.", file=sys.stderr, flush=True)
        return False
    except SitegenError as err:
        print(f"sitegen: error: {err}", file=sys.stderr, flush=True)
        return False
    for uuid, reason in report.errors.items():
        print(f"error: credential {uuid}: {reason}", file=sys.stderr)
    print(report.summary(), flush=True)
    return report.ok
