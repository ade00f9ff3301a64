"""Nothing reaches build/ or the bucket that should not, and previews are never published."""

from __future__ import annotations

import functools
import json
import shutil
import threading
from http.server import ThreadingHTTPServer

import pytest

from test_theme_pages import DROP_HARNESS, _QuietHandler, chromium_installed, needs_chromium, verify_result  # noqa: F401

ZOE = "0a1b2c3d4e5f40718293a4b5c6d7e8f9"  # awarded, awards.csv line 2
CSV = "credentials_data/awards.csv"


def one_line_error(result) -> str:
    """The one line that says what is wrong (input problems add a count line after theirs)."""
    assert result.code != 0
    lines = [line for line in result.err.strip().splitlines() if not line.endswith("nothing was written.")]
    assert len(lines) == 1, result.err
    return lines[0]


# -- the output folder ------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["credentials_data", "content", "themes/plain", "themes/plain/static/x"])
def test_out_holding_or_inside_an_input_is_refused(sample_site, sitegen, where):
    before = {p: p.read_bytes() for p in sample_site.rglob("*") if p.is_file()}
    line = one_line_error(sitegen("build", "--site", sample_site, "--out", sample_site / where,
                                  "--clean", "--pages-only"))
    assert "--out" in line and "input folder" in line
    assert {p: p.read_bytes() for p in sample_site.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize("relation", ["the home itself", "a folder holding it", "a folder inside it"])
def test_out_near_the_gnupg_home_is_refused(sample_site, sitegen, tmp_path, monkeypatch, relation):
    home = tmp_path / "keys" / "gnupg"
    home.mkdir(parents=True)
    (home / "private-keys-v1.d").mkdir()
    (home / "private-keys-v1.d" / "secret.key").write_text("the signing key")
    monkeypatch.setenv("SITEGEN_GNUPGHOME", str(home))
    out = {"the home itself": home, "a folder holding it": home.parent, "a folder inside it": home / "b"}[relation]
    line = one_line_error(sitegen("build", "--site", sample_site, "--out", out, "--clean", "--pages-only"))
    assert "GnuPG home" in line
    assert (home / "private-keys-v1.d" / "secret.key").read_text() == "the signing key"


# -- links out of the project -----------------------------------------------------------------


@pytest.mark.parametrize("link", ["content/passwd.md", "themes/plain/static/secret.key",
                                  "themes/plain/templates/page.html", "credentials_data/more.csv",
                                  "themes/plain/static/elsewhere"])
def test_a_link_out_of_the_project_is_refused(sample_site, sitegen, tmp_path, link):
    secret = tmp_path / "outside" / "secret.key"
    secret.parent.mkdir()
    # A stand-in for a private key file (made here, so no key-like text is kept in the repository).
    secret.write_text("-----BEGIN PGP " + "PRIVATE KEY BLOCK-----\nsecret\n")
    target = sample_site / link
    if target.exists():
        target.unlink()
    target.symlink_to(secret.parent if link.endswith("elsewhere") else secret)

    result = sitegen("build", "--site", sample_site, "--pages-only")
    assert result.code != 0
    assert f"error: {link}: is a link to something outside the project folder" in result.err
    assert "secret" not in result.err.replace("secret.key", "") and "PRIVATE KEY" not in result.out + result.err
    assert not (sample_site / "build").exists()


def test_a_link_inside_the_project_is_fine(sample_site, sitegen):
    (sample_site / "content/again.md").symlink_to(sample_site / "content/index.md")
    assert sitegen("build", "--site", sample_site, "--pages-only").code == 0
    assert (sample_site / "build/.preview/again/index.html").is_file()


# -- the verify page and a revoked credential's PDF -------------------------------------------


@pytest.fixture
def revoked_after_build(sample_site, sitegen, signing_env, tmp_path):
    """A signed build in the default theme; then Zoë's credential is revoked and the site
    built again. Returns the build folder and her PDF from before the revocation."""
    from conftest import REPO

    shutil.copytree(REPO / "themes/default", sample_site / "themes/default")
    site_yml = sample_site / "site.yml"
    site_yml.write_text(site_yml.read_text(encoding="utf-8").replace("theme: plain", "theme: default"),
                        encoding="utf-8")
    assert sitegen("build", "--site", sample_site).code == 0
    old_pdf = tmp_path / "zoe.pdf"
    shutil.copy(sample_site / f"build/credentials/{ZOE}/certificate.pdf", old_pdf)
    csv = sample_site / CSV
    row = next(line for line in csv.read_text(encoding="utf-8").splitlines() if line.startswith(ZOE))
    revoked = row.replace(",awarded,2026-03-14,,,", ",revoked,2026-03-14,,Issued in error,")
    csv.write_text(csv.read_text(encoding="utf-8").replace(row, revoked), encoding="utf-8")
    assert sitegen("build", "--site", sample_site).code == 0
    assert not (sample_site / f"build/credentials/{ZOE}/certificate.pdf").exists()
    return sample_site / "build", old_pdf


@pytest.mark.slow
@needs_chromium
def test_verify_page_says_revoked_for_the_old_pdf_of_a_revoked_credential(revoked_after_build, tmp_path):
    build, old_pdf = revoked_after_build
    root = tmp_path / "www"
    shutil.copytree(build, root)
    verify_dir = root / "verify"
    shutil.copy(old_pdf, verify_dir / "old.pdf")
    harness = (verify_dir / "index.html").read_text().replace("</body>", DROP_HARNESS + "</body>")
    (verify_dir / "drop.html").write_text(harness)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/verify/drop.html?pdf=old.pdf"
        result = verify_result(tmp_path, url, "pdf-result")
    finally:
        server.shutdown()
        server.server_close()
    assert "revoked" in result.select_one(".result-box__heading").get_text(strip=True).lower()
    assert "Issued in error" in result.get_text()


@pytest.mark.slow
def test_cli_says_revoked_for_the_old_pdf_of_a_revoked_credential(revoked_after_build, sitegen):
    build, old_pdf = revoked_after_build
    result = sitegen("verify", old_pdf, "--build-dir", build, "--json")
    assert result.code != 0
    assert json.loads(result.out)["verdict"] == "revoked"



# -- previews are never published ---------------------------------------------------------------


@pytest.fixture
def signed_site(sample_site, sitegen, signing_env):
    assert sitegen("build", "--site", sample_site).code == 0
    build = sample_site / "build"
    return sample_site, {p: p.read_bytes() for p in build.rglob("*") if p.is_file()}


def files_of(folder):
    return {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.slow
@pytest.mark.parametrize("preview", [["--pages-only"], ["--base-url", "http://127.0.0.1:8123/"]])
def test_a_preview_goes_to_its_own_folder_and_leaves_the_signed_build_alone(signed_site, sitegen, preview):
    site, before = signed_site
    assert sitegen("build", "--site", site, *preview).code == 0
    assert files_of(site / "build") == {**before, **files_of(site / "build/.preview")}
    assert (site / f"build/.preview/credentials/{ZOE}/index.html").is_file()
    last = json.loads((site / "build/.preview/.sitegen/last-build.json").read_text())
    assert last["publishable"] is False and last["preview"]


@pytest.mark.slow
@pytest.mark.parametrize("preview", [["--pages-only"], ["--base-url", "http://127.0.0.1:8123/"]])
def test_a_preview_over_a_publishable_build_is_refused(signed_site, sitegen, preview):
    site, before = signed_site
    line = one_line_error(sitegen("build", "--site", site, "--out", site / "build", *preview))
    assert "holds a build that can be published" in line
    assert files_of(site / "build") == before


def test_a_preview_cannot_be_published(sample_site, sitegen):
    assert sitegen("build", "--site", sample_site, "--pages-only").code == 0
    line = one_line_error(sitegen("publish", "--site", sample_site, "--out", sample_site / "build/.preview"))
    assert "is a preview (pages only" in line and "never published" in line


# -- search engines -----------------------------------------------------------------------------


@pytest.mark.parametrize("setting, indexed", [(None, False), ("false", False), ("true", True)])
def test_certificate_pages_are_noindex_unless_the_site_says_otherwise(sample_site, sitegen, setting, indexed):
    from bs4 import BeautifulSoup

    from conftest import REPO

    shutil.copytree(REPO / "themes/default", sample_site / "themes/default")
    site_yml = sample_site / "site.yml"
    text = site_yml.read_text(encoding="utf-8").replace("theme: plain", "theme: default")
    if setting is not None:
        text += f"index_certificate_pages: {setting}\n"
    site_yml.write_text(text, encoding="utf-8")
    assert sitegen("build", "--site", sample_site, "--pages-only").code == 0
    page = sample_site / f"build/.preview/credentials/{ZOE}/index.html"
    robots = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser").find("meta", attrs={"name": "robots"})
    assert (robots is None) == indexed
    if not indexed:
        assert robots["content"] == "noindex"


def test_switching_indexing_rebuilds_the_certificate_pages(sample_site, sitegen):
    assert sitegen("build", "--site", sample_site, "--pages-only").code == 0
    with open(sample_site / "site.yml", "a", encoding="utf-8") as handle:
        handle.write("index_certificate_pages: true\n")
    result = sitegen("build", "--site", sample_site, "--pages-only", "--json")
    assert json.loads(result.out)["counts"]["generated"] == 8


# -- names that become paths --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["bad\nname.md", "naïve.md", "a b.md", "..md"])
def test_a_content_file_whose_name_cannot_be_a_url_is_refused(sample_site, sitegen, name):
    (sample_site / "content" / name).write_text("# Hello\n", encoding="utf-8")
    result = sitegen("build", "--site", sample_site, "--pages-only")
    assert result.code != 0 and "file name becomes its URL" in result.err
    assert len([line for line in result.err.splitlines() if line.startswith("error:")]) == 1


def test_a_site_yml_key_with_a_line_break_is_refused(sample_site, sitegen):
    site_yml = sample_site / "site.yml"
    text = site_yml.read_text(encoding="utf-8")
    site_yml.write_text(text.replace("organizations:\n", 'organizations:\n  "evil\\n":\n    name: Evil\n', 1),
                        encoding="utf-8")
    line = one_line_error(sitegen("build", "--site", sample_site, "--pages-only"))
    assert "keys are letters, digits" in line and "evil\\n" in line


def test_a_build_with_an_unusable_signing_key_writes_nothing(sample_site, sitegen, gpg_key, monkeypatch):
    monkeypatch.setenv("SITEGEN_GNUPGHOME", str(gpg_key.home))
    monkeypatch.setenv("SITEGEN_SIGNING_KEY", "0" * 40)  # no such key in that home
    line = one_line_error(sitegen("build", "--site", sample_site))
    assert "not found" in line
    assert not (sample_site / "build").exists()


def test_out_holding_an_image_site_yml_names_is_refused(sample_site, sitegen):
    before = {p: p.read_bytes() for p in (sample_site / "images").iterdir()}
    line = one_line_error(sitegen("build", "--site", sample_site, "--out", sample_site / "images",
                                  "--clean", "--pages-only"))
    assert "the image images/" in line
    assert {p: p.read_bytes() for p in (sample_site / "images").iterdir()} == before


def test_a_themes_folder_that_is_a_link_out_of_the_project_is_refused(sample_site, sitegen, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.move(sample_site / "themes", elsewhere / "themes")
    (elsewhere / "themes/plain/static/leak.txt").write_text("not for the bucket")
    (sample_site / "themes").symlink_to(elsewhere / "themes")
    result = sitegen("build", "--site", sample_site, "--pages-only")
    assert result.code != 0 and "themes/plain: is a link to something outside the project" in result.err
    assert not (sample_site / "build").exists()


def test_a_loop_of_links_is_one_clear_line(sample_site, sitegen):
    (sample_site / "content/a.md").symlink_to(sample_site / "content/b.md")
    (sample_site / "content/b.md").symlink_to(sample_site / "content/a.md")
    result = sitegen("build", "--site", sample_site, "--pages-only")
    assert result.code != 0 and "internal error" not in result.err
    assert "content/a.md: is a broken link" in result.err


def test_an_invalid_endpoint_never_shows_its_password(sample_site, sitegen):
    result = sitegen("publish", "--site", sample_site, "--endpoint-url", "http://user:s3cretPW@exa mple.com")
    line = one_line_error(result)
    assert "s3cretPW" not in line and "internal error" not in line
    with open(sample_site / "site.yml", "a", encoding="utf-8") as handle:
        handle.write("publish:\n  bucket: b\n  endpoint_url: 'http://user:s3cretPW@exa mple.com'\n")
    line = one_line_error(sitegen("publish", "--site", sample_site))
    assert "endpoint_url" in line and "s3cretPW" not in line
