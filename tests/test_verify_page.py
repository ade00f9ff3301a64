"""The verify page, in headless Chromium, on a signed build of the example project: a dropped
PDF's embedded credential.json is read in the browser and compared with the published one."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from gpgkeys import gpg_key  # noqa: F401 - fixture
from test_accessibility import BLOCKING, axe_violations, served_site  # noqa: F401 - fixture
from test_badges import with_embedded_credential
from test_theme_pages import DROP_HARNESS, PROGRAM, VALID, chromium, chromium_installed  # noqa: F401 - fixture

CARRIED = "#pdf-result .embedded-credential"


def drop_page(root) -> str:
    """verify/drop.html: the verify page, with a PDF (?pdf=NAME, beside it) dropped on it."""
    verify = root / "verify"
    (verify / "drop.html").write_text(
        (verify / "index.html").read_text(encoding="utf-8").replace("</body>", DROP_HARNESS + "</body>"),
        encoding="utf-8")
    return "verify/drop.html"


@pytest.mark.slow
@pytest.mark.usefixtures("chromium_installed")
def test_the_verify_page_shows_the_credential_a_dropped_pdf_carries(served_site, tmp_path):
    root, base = served_site
    page = drop_page(root)
    genuine = (root / "credentials" / VALID / "certificate.pdf").read_bytes()
    other = (root / "credentials" / PROGRAM / "credential.json").read_bytes()
    pdfs = {
        "genuine.pdf": genuine,
        "changed.pdf": with_embedded_credential(genuine, lambda data: data.replace(
            "Súilleabháin".encode(), b"Smith")),
        "another.pdf": with_embedded_credential(genuine, lambda data: other),
    }
    expected = {  # the PDF's own heading, then the embedded credential's
        "genuine.pdf": ("Genuine and valid", "The PDF carries its verifiable credential",
                        "Its credential.json is identical, byte for byte, to the one we publish."),
        "changed.pdf": ("This PDF has been altered or is not ours",
                        "The credential in this PDF differs from the one we publish", "Do not rely on it."),
        "another.pdf": ("This PDF has been altered or is not ours", "The credential in this PDF is another one",
                        f"the credential it carries is {PROGRAM}"),
    }
    shown = {}
    for name, pdf in pdfs.items():
        (root / "verify" / name).write_bytes(pdf)
        dom = BeautifulSoup(chromium(tmp_path, f"{base}{page}?pdf={name}", "--dump-dom"), "html.parser")
        result = dom.find(id="pdf-result")
        heading, carried_heading, line = expected[name]
        assert result.select_one(".result-box__heading").get_text(strip=True) == heading, name
        carried = result.select_one(".embedded-credential")
        assert carried is not None, result.get_text(" ", strip=True)
        assert carried.select_one(".embedded-credential__heading").get_text(strip=True) == carried_heading
        assert line in carried.get_text(" ", strip=True)
        shown[name] = carried
    # Its name, learner and ID; a link to the published file; and what the page did not check.
    text = shown["genuine.pdf"].get_text(" ", strip=True)
    assert "Zoë Ó Súilleabháin" in text and VALID in text and "(Verified Certificate)" in text
    assert "it does not check its digital signature" in text and "sitegen verify certificate.pdf" in text
    assert shown["genuine.pdf"].find("a")["href"].endswith(f"credentials/{VALID}/credential.json")
    assert "Zoë Ó Smith" in shown["changed.pdf"].get_text(" ", strip=True)


@pytest.mark.slow
@pytest.mark.usefixtures("chromium_installed")
def test_the_credential_a_dropped_pdf_carries_passes_axe(served_site, tmp_path):
    root, _ = served_site
    (root / "verify" / "genuine.pdf").write_bytes((root / "credentials" / VALID / "certificate.pdf").read_bytes())
    violations = axe_violations(served_site, tmp_path, drop_page(root), "?pdf=genuine.pdf", ready=CARRIED)
    assert [v for v in violations if v["impact"] in BLOCKING] == []
