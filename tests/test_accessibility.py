"""The pages people use pass an automated accessibility check: axe-core (from npm, the
engine behind Lighthouse's and most browsers' audits) run in headless Chromium on a
signed build of the example project. No serious or critical violation is allowed."""

from __future__ import annotations

import functools
import json
import os
import shutil
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from conftest import REPO, copy_example_project, sitegen_subprocess
from gpgkeys import gpg_key, no_signing_env  # noqa: F401 - fixtures
from test_theme_pages import REVOKED, VALID, _QuietHandler, chromium, chromium_installed  # noqa: F401

AXE = REPO / "node_modules/axe-core/axe.min.js"
BLOCKING = ("serious", "critical")

# Runs axe once the page (and its own scripts) have loaded, and what READY selects is in it
# (a result its script shows), and writes what it found into the page, where
# `chromium --dump-dom` can read it.
AXE_HARNESS = """
<script src="/__axe/axe.min.js"></script>
<script>
window.addEventListener("load", () => setTimeout(async () => {
  const ready = READY;
  for (let wait = 0; ready && !document.querySelector(ready) && wait < 200; wait++) {
    await new Promise(resolve => setTimeout(resolve, 50));
  }
  const results = await axe.run(document, {resultTypes: ["violations"]});
  const out = document.createElement("pre");
  out.id = "axe-results";
  out.textContent = JSON.stringify(results.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + " :: " + n.failureSummary)})));
  document.body.appendChild(out);
}, 300));
</script>
"""


@pytest.fixture(scope="module")
def served_site(tmp_path_factory, gpg_key):
    assert AXE.is_file(), "axe-core is not installed: run ./dev setup (npm ci)"
    root = tmp_path_factory.mktemp("a11y")
    project = copy_example_project(root / "site", one_site=True)
    env = {**os.environ, "SITEGEN_GNUPGHOME": str(gpg_key.home), "SITEGEN_SIGNING_KEY": gpg_key.fingerprint}
    result = sitegen_subprocess("build", "--site", project, "--out", root / "www", cwd=project, env=env)
    assert result.code == 0, result.err
    (root / "www/__axe").mkdir()
    shutil.copy(AXE, root / "www/__axe/axe.min.js")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(root / "www")))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root / "www", f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def axe_violations(served_site, tmp_path: Path, page: str, query: str = "", width: int = 1280,
                   before: str = "", ready: str | None = None) -> list[dict]:
    """axe's violations on `page`, with `before` (another harness) added to it first, once
    what `ready` selects is in the page."""
    root, base = served_site
    original = root / page
    checked = original.with_name(original.stem + ".axe.html")
    harness = before + AXE_HARNESS.replace("READY", json.dumps(ready))
    checked.write_text(original.read_text(encoding="utf-8").replace("</body>", harness + "</body>"),
                       encoding="utf-8")
    dom = chromium(tmp_path, f"{base}{checked.relative_to(root).as_posix()}{query}", "--dump-dom", width=width)
    found = BeautifulSoup(dom, "html.parser").find(id="axe-results")
    assert found is not None, "axe did not run on " + page
    return json.loads(found.get_text())


PAGES = {
    "home": ("index.html", ""),
    "certificate": (f"credentials/{VALID}/index.html", ""),
    "revoked certificate": (f"credentials/{REVOKED}/index.html", ""),
    "verify": ("verify/index.html", ""),
    "verify with a result": ("verify/index.html", f"?id={VALID}"),
    "keys": ("keys/index.html", ""),
}


CHECKS = [(name, 1280) for name in PAGES] + [("certificate", 390), ("verify with a result", 390)]


@pytest.mark.slow
@pytest.mark.usefixtures("chromium_installed")
@pytest.mark.parametrize("name, width", CHECKS, ids=[f"{n}-{w}px" for n, w in CHECKS])
def test_no_serious_accessibility_violation(served_site, tmp_path, name, width):
    page, query = PAGES[name]
    violations = axe_violations(served_site, tmp_path, page, query, width)
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    assert blocking == [], json.dumps(blocking, indent=1, ensure_ascii=False)
