"""The sample project (its own plain theme, pages only): every record is published, learner names
stay inert. The full build with the default theme is compared with tests/golden in test_golden.py."""

from __future__ import annotations

import json

import pytest
from bs4 import BeautifulSoup

from conftest import TESTS, output_files

HOSTILE_UUID = "2c3d4e5f6a7b4293a415c6d7e8f90a1b"
HOSTILE_NAME = "<script>alert(\"x\")</script> & 'Mallory' \"Q\""


@pytest.fixture
def built(sample_site, sitegen):
    result = sitegen("build", "--site", sample_site, "--pages-only")
    assert result.code == 0, result.err
    return sample_site / "build/.preview"  # pages-only builds are previews


def test_every_record_gets_a_page_and_json(built):
    uuids = ["0a1b2c3d4e5f40718293a4b5c6d7e8f9", "1b2c3d4e5f6a41829304b5c6d7e8f90a", HOSTILE_UUID,
             "3d4e5f6a7b8c43a4b526d7e8f90a1b2c", "4e5f6a7b8c9d44b5c637e8f90a1b2c3d",
             "5f6a7b8c9d0e45c6d748f90a1b2c3d4e", "6a7b8c9d0e1f46d7e859a0b1c2d3e4f5",
             "7b8c9d0e1f2a47e8f96ab1c2d3e4f5a6"]  # the last one from a Credentials API export
    for uuid in uuids:
        assert (built / "credentials" / uuid / "index.html").is_file()
        data = json.loads((built / "api/v1/credentials" / uuid).read_text())
        assert data["uuid"] == uuid


def test_hostile_name_is_escaped_in_html_attributes_and_json(built):
    html = (built / "credentials" / HOSTILE_UUID / "index.html").read_text()
    assert "<script>alert" not in html
    soup = BeautifulSoup(html, "html.parser")
    assert soup.find("h1").get_text() == HOSTILE_NAME  # shown exactly as written, as text
    assert soup.find("meta", property="og:title")["content"].startswith(HOSTILE_NAME)
    scripts = soup.find_all("script")
    assert all(s.get("type") == "application/ld+json" for s in scripts)  # no script came from the name
    assert json.loads(scripts[0].string)["name"] == HOSTILE_NAME
    assert json.loads((built / "api/v1/credentials" / HOSTILE_UUID).read_text())["full_name"] == HOSTILE_NAME


def test_share_url_parameters_are_url_encoded(built):
    soup = BeautifulSoup((built / "credentials" / HOSTILE_UUID / "index.html").read_text(), "html.parser")
    link = soup.find("a", string="Add to LinkedIn")["href"]
    assert "name=Cells+%26+Systems" in link  # the & in the title cannot start a new parameter


def test_statuses_revoked_and_expired(built):
    revoked = json.loads((built / "api/v1/credentials/5f6a7b8c9d0e45c6d748f90a1b2c3d4e").read_text())
    expired = json.loads((built / "api/v1/credentials/6a7b8c9d0e1f46d7e859a0b1c2d3e4f5").read_text())
    assert revoked["verification"]["status"] == "revoked"
    assert revoked["verification"]["revocation_reason"] == "Academic integrity violation"
    assert expired["verification"]["status"] == "expired"


def test_no_page_lists_credentials(built):
    for path, data in output_files(built).items():
        if not path.endswith(".html") or path.startswith("credentials/"):
            continue
        text = data.decode("utf-8")
        assert "credentials/" + HOSTILE_UUID[:8] not in text, path
        assert "0a1b2c3d4e5f40718293a4b5c6d7e8f9" not in text, path


def test_base_url_override_for_previews(sample_site, sitegen):
    assert sitegen("build", "--site", sample_site, "--pages-only", "--base-url", "http://127.0.0.1:9999").code == 0
    data = json.loads((sample_site / "build/.preview/api/v1/credentials" / HOSTILE_UUID).read_text())
    assert data["certificate_url"] == f"http://127.0.0.1:9999/credentials/{HOSTILE_UUID}/"


def test_content_pages_are_rendered(built):
    soup = BeautifulSoup((built / "how-to-verify/index.html").read_text(), "html.parser")
    assert soup.find("h1").get_text() == "How to verify"
    assert soup.find("code").get_text() == "gpg --verify certificate.pdf.sig certificate.pdf"
    assert (TESTS / "sample_site/content/index.md").exists() and (built / "index.html").is_file()
