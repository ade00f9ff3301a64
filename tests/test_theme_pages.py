"""The default theme, on the example project at the repository root.

The example project is built once (pages and JSON; PDFs only in the slow test) and every
page is read back with BeautifulSoup: landmarks, alt text, share tags, structured data,
status you can read without colour, nothing loaded from elsewhere, no page that lists
learners. The slow tests open the pages in headless Chromium: the certificate page
renders, and the verify page's JavaScript really finds credentials and checks PDFs.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import posixpath
import re
import shutil
import subprocess
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode

import pytest
from bs4 import BeautifulSoup

from conftest import copy_example_project, sitegen_subprocess
from gpgkeys import gpg_key, no_signing_env  # noqa: F401 - fixtures

BASE_URL = "https://verify.example.org/"
UUID_RE = re.compile(r"[0-9a-f]{32}")
STATUS_LABELS = {"valid": "Valid", "revoked": "Revoked", "expired": "Expired"}

REVOKED = "14a6787ce951412d8d1c2a0c078a8146"  # hand-edits.yml
EXPIRED = "bb0fdb664d884405b69ce2b8bbed671f"  # hand-edits.yml
ARABIC = "c898712bb3aa44909099e043836baf74"  # awards-2026.csv
HEBREW = "fb7338f18f4b4fedbe6f2b5fecef9c22"
PROGRAM = "19c6fee6e1a042c3a5caed1e63fc53fc"  # program-awards.jsonl
VALID = "f37cde5392bb42a9876c49b3b46d0c62"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    project = copy_example_project(tmp_path_factory.mktemp("example") / "site", one_site=True)
    out = project / "build"
    result = sitegen_subprocess("build", "--site", project, "--out", out, "--pages-only")
    assert result.code == 0, result.err
    return out


@pytest.fixture(scope="module")
def records(built) -> dict[str, dict]:
    folder = built / "api/v1/credentials"
    return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in folder.iterdir()}


def soup_of(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def html_pages(built: Path) -> list[Path]:
    return sorted(p for p in built.rglob("*.html") if ".sitegen" not in p.parts)


def cert_page(built: Path, uuid: str) -> BeautifulSoup:
    return soup_of(built / "credentials" / uuid / "index.html")


# -- every page -------------------------------------------------------------------------


def test_example_project_builds_every_credential(built, records):
    assert len(records) >= 20
    for uuid in records:
        assert (built / "credentials" / uuid / "index.html").is_file()
    for page in ("index.html", "about/index.html", "faq/index.html", "how-to-verify/index.html",
                 "keys/index.html", "verify/index.html", "404.html"):
        assert (built / page).is_file(), page


def test_every_page_has_landmarks_language_and_skip_link(built):
    for path in html_pages(built):
        soup = soup_of(path)
        where = path.relative_to(built).as_posix()
        assert soup.html.get("lang") == "en", where
        assert soup.find("meta", attrs={"name": "viewport"}), where
        assert soup.find("meta", attrs={"name": "description"})["content"].strip(), where
        assert soup.title and soup.title.get_text(strip=True), where
        for landmark in ("header", "nav", "main", "footer"):
            assert soup.find(landmark), f"{where}: no <{landmark}>"
        assert len(soup.find_all("h1")) == 1, f"{where}: one <h1> per page"
        skip = soup.find("a", class_="skip-link")
        assert skip and skip["href"] == "#main" and soup.find(id="main").name == "main", where


def test_every_image_has_alt_text(built):
    for path in html_pages(built):
        for img in soup_of(path).find_all("img"):
            assert img.get("alt", "").strip(), f"{path.relative_to(built)}: {img}"


def test_nothing_is_loaded_from_another_site(built):
    """The site works offline and tracks nobody: scripts, styles, icons and images are local."""
    external = re.compile(r"^(https?:)?//")
    for path in html_pages(built):
        soup = soup_of(path)
        where = path.relative_to(built).as_posix()
        for tag in soup.find_all("script", src=True):
            assert not external.match(tag["src"]), f"{where}: {tag}"
        for tag in soup.find_all("link", href=True):
            rel = set(tag.get("rel", []))
            if rel & {"stylesheet", "icon", "preload", "modulepreload", "preconnect", "dns-prefetch"}:
                assert not external.match(tag["href"]), f"{where}: {tag}"
        for tag in soup.find_all(["img", "iframe", "video", "audio", "source", "embed", "object"]):
            assert not external.match(tag.get("src", "") or tag.get("data", "")), f"{where}: {tag}"
        for style in soup.find_all("style"):
            assert "@import" not in style.get_text() and "url(http" not in style.get_text(), where
    css = "\n".join(p.read_text() for p in (built / "assets").glob("site.*.css"))
    assert "@import" not in css and not re.search(r"url\(\s*['\"]?(https?:)?//", css)


def test_no_page_lists_other_learners_credentials(built, records):
    """A certificate page names only its own credential; no other page names any."""
    known = set(records)
    for path in html_pages(built):
        rel = path.relative_to(built).as_posix()
        own = {rel.split("/")[1]} if rel.startswith("credentials/") else set()
        found = set(UUID_RE.findall(path.read_text(encoding="utf-8"))) & known
        assert found <= own, f"{rel} names {sorted(found - own)}"


def test_assets_are_fingerprinted_and_exist(built):
    for path in html_pages(built):
        soup = soup_of(path)
        if path.name == "404.html":
            continue  # links resolve against <base href>, checked below
        for tag in soup.find_all(["link", "script", "img"]):
            ref = tag.get("href") or tag.get("src")
            if not ref or not ref.lstrip("./").startswith("assets/") and "/assets/" not in ref:
                continue
            target = (path.parent / ref).resolve()
            assert target.is_file(), f"{path.relative_to(built)}: {ref}"
            assert re.search(r"\.[0-9a-f]{8}\.\w+$", target.name), ref


def test_not_found_page_links_work_from_any_depth(built):
    soup = soup_of(built / "404.html")
    assert soup.find("base")["href"] == BASE_URL
    stylesheet = soup.find("link", rel="stylesheet")["href"]
    assert (built / stylesheet).is_file()


# -- the certificate page -----------------------------------------------------------------


def test_share_tags_are_absolute_and_complete(built, records):
    for uuid in records:
        soup = cert_page(built, uuid)
        page_url = f"{BASE_URL}credentials/{uuid}/"

        def meta(key):
            tag = soup.find("meta", property=key) or soup.find("meta", attrs={"name": key})
            assert tag is not None, f"{uuid}: no {key}"
            return tag["content"]

        assert soup.find("link", rel="canonical")["href"] == page_url
        assert meta("og:url") == page_url
        # A pages-only build has no share cards: its pages point at none.
        assert not soup.find("meta", property="og:image") and not soup.find("meta", attrs={"name": "twitter:image"})
        assert meta("og:title").startswith(records[uuid]["full_name"])
        assert meta("og:description")
        assert meta("twitter:card") == "summary"
        # Link previews read the tags above whatever robots says; search engines are kept
        # from indexing learners' names (index_certificate_pages: true opts in).
        assert meta("robots") == "noindex"


def test_json_ld_parses_and_names_the_learner(built, records):
    for uuid, record in records.items():
        blocks = cert_page(built, uuid).find_all("script", type="application/ld+json")
        assert len(blocks) == 1, uuid
        data = json.loads(blocks[0].string)
        assert data["@context"] == "https://schema.org"
        assert data["name"] == record["full_name"]
        credential = data["hasCredential"]
        assert credential["@type"] == "EducationalOccupationalCredential"
        assert credential["identifier"] == uuid
        assert credential["url"] == f"{BASE_URL}credentials/{uuid}/"
        assert credential["dateCreated"] == record["issued"]


def test_name_title_and_status_are_shown_as_text(built, records):
    for uuid, record in records.items():
        soup = cert_page(built, uuid)
        status = record["verification"]["status"]
        assert soup.find("h1").get_text(strip=True) == record["full_name"]
        assert record["title"] in soup.get_text()
        badges = soup.select(".status-badge")
        assert badges, uuid
        for badge in badges:  # the word is there, not only a colour; the icon is decorative
            assert badge.get_text(strip=True) == STATUS_LABELS[status]
            assert f"status-badge--{status}" in badge["class"]
            assert badge.find("svg")["aria-hidden"] == "true"


@pytest.mark.parametrize("uuid, direction", [(ARABIC, "rtl"), (HEBREW, "rtl"), (VALID, "ltr")])
def test_name_keeps_its_own_direction(built, uuid, direction):
    soup = cert_page(built, uuid)
    assert soup.find("h1")["dir"] == direction
    for bdi in soup.find_all("bdi"):  # inside sentences, the name is isolated
        assert bdi.get_text() == soup.find("h1").get_text()


def test_revoked_page_says_why_and_offers_nothing_to_download(built, records):
    soup = cert_page(built, REVOKED)
    banner = soup.select_one(".status-banner--revoked")
    assert "has been revoked" in banner.get_text()
    assert records[REVOKED]["verification"]["revocation_reason"] in banner.get_text()
    hrefs = [a["href"] for a in soup.find_all("a", href=True)]
    assert not any(h.endswith(("certificate.pdf", ".sig")) for h in hrefs)
    assert not soup.find("a", attrs={"download": True})
    assert not soup.find(string=re.compile("LinkedIn"))
    assert any(h.endswith("statement.txt.asc") for h in hrefs)


def test_expired_page_says_when(built):
    soup = cert_page(built, EXPIRED)
    banner = soup.select_one(".status-banner--expired")
    assert "expired on 11 August 2026" in banner.get_text()


def test_program_page_lists_its_courses(built):
    soup = cert_page(built, PROGRAM)
    courses = [li.get_text(strip=True) for li in soup.select(".cert-card__courses li")]
    assert courses == ["Introduction to Computer Science and Programming",
                       "Data Science: Probability and Statistical Inference",
                       "Data Science: Machine Learning Foundations"]


def test_signatures_are_images_with_names(built):
    soup = cert_page(built, VALID)
    images = soup.select("img.signature__image")
    assert [img["alt"] for img in images] == ["Signature of Elena Vásquez", "Signature of Samuel Okafor"]
    logo = soup.select_one("img.cert-card__logo")
    assert logo["alt"].startswith("Northbridge University")


def site_path(page: str, href: str) -> str:
    """Where a relative link from the page at site path `page` leads, as a site path."""
    path, _, query = href.partition("?")
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(page), path))
    resolved = "" if resolved == "." else resolved + ("/" if path.endswith("/") else "")
    return resolved + (f"?{query}" if query else "")


def test_links_to_key_verify_page_and_statement(built):
    page = f"credentials/{VALID}/index.html"
    soup = cert_page(built, VALID)
    links = {a.get_text(strip=True): site_path(page, a["href"]) for a in soup.find_all("a", href=True)
             if not a["href"].startswith("https://")}
    assert links[f"{BASE_URL}keys/"] == "keys/"
    assert links["Check on the verify page"] == f"verify/?id={VALID}"
    assert links["statement.txt.asc"] == f"credentials/{VALID}/statement.txt.asc"
    assert links["Status as JSON"] == f"api/v1/credentials/{VALID}"
    linkedin = soup.select_one("a.button--linkedin")
    assert linkedin.get_text(strip=True) == "Add to LinkedIn profile"
    assert linkedin["href"].startswith("https://www.linkedin.com/profile/add?")


# -- the other pages ------------------------------------------------------------------------


def test_home_page_has_a_lookup_form_that_works_without_javascript(built):
    soup = soup_of(built / "index.html")
    form = soup.find("form", role="search")
    assert site_path("index.html", form["action"]) == "verify/" and form["method"] == "get"
    assert form.find("input")["name"] == "id"
    hrefs = {site_path("index.html", a["href"]) for a in soup.find_all("a", href=True)}
    assert {"keys/", "verify/"} <= hrefs


def test_content_pages_have_their_titles(built):
    expected = {"about/index.html": "About this site", "faq/index.html": "Frequently asked questions",
                "how-to-verify/index.html": "How to verify a certificate"}
    for page, title in expected.items():
        soup = soup_of(built / page)
        assert soup.find("h1").get_text(strip=True) == title
        assert soup.title.get_text().startswith(title)


def test_keys_page_explains_gpg_on_every_system(built):
    soup = soup_of(built / "keys/index.html")
    text = soup.get_text()
    for command in ("gpg --import signing-key.asc", "gpg --verify certificate.pdf.sig certificate.pdf",
                    "gpg --verify statement.txt.asc"):
        assert command in text
    for system in ("Linux", "macOS", "Windows", "Kleopatra", "Good signature"):
        assert system in text
    hrefs = {site_path("keys/index.html", a["href"]) for a in soup.find_all("a", href=True)}
    assert "keys/signing-key.asc" in hrefs


def test_verify_page_reads_the_api_relative_to_itself(built):
    soup = soup_of(built / "verify/index.html")
    app = soup.find(id="verify-app")
    assert site_path("verify/index.html", app["data-site-root"]) == ""
    # the layout comes from sitegen.layout, not from a copy in the script
    layout = json.loads(soup.find(id="sitegen-layout").string)
    uuid = sorted((built / "credentials").iterdir())[0].name
    assert (built / layout["credentialApi"].replace("{uuid}", uuid)).is_file()
    assert (built / layout["credentialPage"].replace("{uuid}", uuid) / "index.html").is_file()
    assert layout["pdfHash"].startswith("api/v1/pdf-sha256/") and layout["pdfHash"].endswith("{sha256}")
    assert soup.find("script", src=re.compile(r"assets/verify\.[0-9a-f]{8}\.js$"))
    # Without JavaScript the page still says how to check.
    assert soup.select(".js-off-note") and soup.find(id="id-form").has_attr("hidden")


# -- with signatures and PDFs (the whole pipeline) --------------------------------------------


@pytest.mark.slow
def test_full_build_offers_pdf_and_shows_fingerprint_in_groups(tmp_path, gpg_key, no_signing_env):
    project = copy_example_project(tmp_path / "site", one_site=True)
    env = {**os.environ, "SITEGEN_GNUPGHOME": str(gpg_key.home), "SITEGEN_SIGNING_KEY": gpg_key.fingerprint}
    result = sitegen_subprocess("build", "--site", project, "--out", project / "build", cwd=project, env=env)
    assert result.code == 0, result.err
    soup = cert_page(project / "build", VALID)
    assert soup.find("a", href="certificate.pdf", attrs={"download": True})
    assert soup.find("a", href="certificate.pdf.sig")
    grouped = " ".join(re.findall(".{4}", gpg_key.fingerprint.upper()))
    assert soup.select_one(".fingerprint").get_text(" ", strip=True) == grouped
    keys = soup_of(project / "build/keys/index.html")
    assert keys.select_one(".fingerprint").get_text(" ", strip=True) == grouped
    assert "-----BEGIN PGP PUBLIC KEY BLOCK-----" in keys.get_text()
    assert not cert_page(project / "build", REVOKED).find("a", href="certificate.pdf")


# -- in a real browser -------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Never skipped: `./dev test` installs Debian's chromium, and a missing browser must fail loudly.
needs_chromium = pytest.mark.usefixtures("chromium_installed")


@pytest.fixture
def chromium_installed():
    assert CHROMIUM, "headless Chromium is not installed (Debian package chromium; ./dev setup installs it)"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass

    def do_GET(self):
        if self.path == WAIT_PATH:  # DROP_HARNESS: a request that takes real time
            time.sleep(0.05)
            self.send_response(204)
            self.end_headers()
            return
        super().do_GET()


# Chromium's --virtual-time-budget runs out without waiting for work it does not track
# (crypto.subtle, DecompressionStream); a pending request does hold it. So after the drop the
# harness asks for WAIT_PATH, 50 ms of real time each, until the page has shown its result.
WAIT_PATH = "/__wait"


@pytest.fixture
def served(built, tmp_path):
    """A copy of the build served on 127.0.0.1 (a secure context, so crypto.subtle works)."""
    root = tmp_path / "www"
    shutil.copytree(built, root)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def chromium(tmp_path: Path, url: str, *args: str, width: int = 1280, height: int = 1600) -> str:
    profile = tmp_path / "chromium-profile"
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
         f"--user-data-dir={profile}", f"--window-size={width},{height}",
         "--virtual-time-budget=10000", *args, url],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def screenshot_is_a_page(png: Path) -> None:
    from PIL import Image

    with Image.open(png) as image:
        grey = image.convert("L")
        low, high = grey.getextrema()
        colours = len(image.convert("RGB").getcolors(maxcolors=1 << 20) or [])
    assert high - low > 100, "the page rendered as one flat colour"
    assert colours > 200, "too few colours for a rendered certificate page"


@pytest.mark.slow
@needs_chromium
@pytest.mark.parametrize("width, height", [(1280, 1600), (390, 2000)])
def test_certificate_page_renders_in_chromium(served, tmp_path, width, height):
    _, base = served
    png = tmp_path / f"certificate-{width}.png"
    chromium(tmp_path, f"{base}credentials/{VALID}/", f"--screenshot={png}", width=width, height=height)
    screenshot_is_a_page(png)


def verify_result(tmp_path: Path, url: str, result_id: str) -> BeautifulSoup:
    dom = chromium(tmp_path, url, "--dump-dom")
    result = BeautifulSoup(dom, "html.parser").find(id=result_id)
    assert result is not None, dom[:2000]
    return result


@pytest.mark.slow
@needs_chromium
def dashed(uuid: str) -> str:
    """The Credentials API's form of a credential ID."""
    return f"{uuid[:8]}-{uuid[8:12]}-{uuid[12:16]}-{uuid[16:20]}-{uuid[20:]}"


@pytest.mark.parametrize("query, heading, status", [
    (VALID, "Valid certificate", "Valid"),
    (REVOKED, "Revoked certificate", "Revoked"),
    (EXPIRED, "Expired certificate", "Expired"),
    (f"https://verify.example.org/credentials/{ARABIC}/", "Valid certificate", "Valid"),
    ("0123456789abcdef0123456789abcdef", "No certificate with this ID", "Not found"),
    # what people paste: upper case, the API's dashes, spaces, a link in any form
    (VALID.upper(), "Valid certificate", "Valid"),
    (dashed(REVOKED).upper(), "Revoked certificate", "Revoked"),
    ("  " + " ".join(VALID[i:i + 4] for i in range(0, 32, 4)) + " ", "Valid certificate", "Valid"),
    (f"https://verify.example.org/credentials/{EXPIRED.upper()}", "Expired certificate", "Expired"),
    (f"verify.example.org/credentials/{ARABIC}/index.html", "Valid certificate", "Valid"),
])
def test_verify_page_looks_up_an_id_from_the_query_string(served, tmp_path, records, query, heading, status):
    _, base = served
    result = verify_result(tmp_path, f"{base}verify/?{urlencode({'id': query})}", "id-result")
    assert result.select_one(".result-box__heading").get_text(strip=True) == heading
    assert result.select_one(".status-badge").get_text(strip=True) == status
    uuid = UUID_RE.search(re.sub(r"[\s-]", "", query).lower()).group()
    if uuid in records:
        assert records[uuid]["full_name"] in result.get_text()
        link = result.find("a", string="Open the certificate page")
        assert site_path("verify/index.html", link["href"]) == f"credentials/{uuid}/"


# A page beside verify/ that drops a PDF on the drop zone, as a user would.
DROP_HARNESS = """
<script>
window.addEventListener("load", async () => {
  const name = new URLSearchParams(location.search).get("pdf");
  const blob = await (await fetch(name)).blob();
  const transfer = new DataTransfer();
  transfer.items.add(new File([blob], name, {type: "application/pdf"}));
  document.getElementById("drop-zone").dispatchEvent(
    new DragEvent("drop", {dataTransfer: transfer, bubbles: true, cancelable: true}));
  const result = document.getElementById("pdf-result");
  for (let i = 0; i < 400 && (!result.firstChild || result.querySelector(".result-busy")); i++) {
    await fetch("/__wait", {cache: "no-store"});
  }
});
</script>
"""


def fake_pdf(text: str) -> bytes:
    # The link goes where sitegen writes it besides /CredentialURL: the document's /Subject.
    return b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Subject (" + text.encode("latin-1") + b") >>\nendobj\n%%EOF\n"


@pytest.mark.slow
@needs_chromium
def test_verify_page_checks_dropped_pdfs(served, tmp_path):
    root, base = served
    verify_dir = root / "verify"
    harness = (verify_dir / "index.html").read_text().replace("</body>", DROP_HARNESS + "</body>")
    (verify_dir / "drop.html").write_text(harness)

    def publish(uuid: str, pdf: bytes, name: str, register_hash: bool = False) -> None:
        (verify_dir / name).write_bytes(pdf)
        record_path = root / "api/v1/credentials" / uuid
        record = json.loads(record_path.read_text())
        record["verification"]["pdf_sha256"] = hashlib.sha256(pdf).hexdigest()
        record_path.write_text(json.dumps(record))
        if register_hash:
            hashes = root / "api/v1/pdf-sha256"
            hashes.mkdir(parents=True, exist_ok=True)
            (hashes / hashlib.sha256(pdf).hexdigest()).write_text(json.dumps({"uuid": uuid}))

    genuine = fake_pdf(f"Certificate {BASE_URL}credentials/{VALID}/")
    publish(VALID, genuine, "genuine.pdf")
    (verify_dir / "altered.pdf").write_bytes(genuine.replace(b"Certificate", b"Certifikate"))
    no_url = fake_pdf("A certificate whose metadata was rewritten")
    publish(EXPIRED, no_url, "no-url.pdf", register_hash=True)
    (verify_dir / "stranger.pdf").write_bytes(fake_pdf("Somebody else's PDF"))
    (verify_dir / "not-a-pdf.pdf").write_bytes(b"GIF89a not a pdf at all")
    # A pages-only build publishes no PDF fingerprints: nothing to compare with.
    (verify_dir / "unpublished.pdf").write_bytes(fake_pdf(f"{BASE_URL}credentials/{ARABIC}/"))

    expected = {
        "genuine.pdf": "Genuine and valid",
        "altered.pdf": "This PDF has been altered or is not ours",
        "no-url.pdf": "Genuine, but expired",
        "stranger.pdf": "Not a certificate we issued",
        "not-a-pdf.pdf": "This is not a PDF file",
        "unpublished.pdf": "Could not compare this file",
    }
    for name, heading in expected.items():
        result = verify_result(tmp_path, f"{base}verify/drop.html?pdf={name}", "pdf-result")
        assert result.select_one(".result-box__heading").get_text(strip=True) == heading, name
