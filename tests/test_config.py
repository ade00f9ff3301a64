"""site.yml and the environment: one load, declared options, generated docs."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from conftest import REPO, copy_example_project, sitegen_subprocess
from sitegen.errors import InputProblems
from sitegen.load import config_docs
from sitegen.load.config import SECTIONS, load_site
from sitegen.model import CachePolicy, PublishSettings, SigningSettings
from siteyml import line_of, write_site

FINGERPRINT = "0123456789ABCDEF0123456789ABCDEF01234567"
SIGNING_AND_PUBLISH = f"""\
signing:
  key: "{FINGERPRINT}"
  gnupghome: /keys/from-site-yml
publish:
  bucket: yml-bucket
  prefix: /yml/site/
  endpoint_url: http://yml.test
  cdn_distribution_id: YML
"""
ENVIRONMENT = {
    "SITEGEN_GNUPGHOME": "/keys/from-env",
    "SITEGEN_SIGNING_KEY": "abcd " * 10,
    "SITEGEN_PUBLISH_BUCKET": "env-bucket",
    "SITEGEN_PUBLISH_PREFIX": "env/",
    "SITEGEN_PUBLISH_ENDPOINT_URL": "http://env.test",
    "SITEGEN_CDN_DISTRIBUTION_ID": "ENV",
}


def problems(root: Path, environ: dict | None = None) -> list[str]:
    with pytest.raises(InputProblems) as caught:
        load_site(root, environ=environ or {})
    return [str(p) for p in caught.value.problems]


# --- the environment, applied once, by load_site ----------------------------------------------


def test_site_yml_alone(tmp_path):
    site = load_site(write_site(tmp_path, SIGNING_AND_PUBLISH), environ={})
    assert site.signing == SigningSettings(key=FINGERPRINT, gnupghome="/keys/from-site-yml")
    assert site.signing.key_source == "signing.key in site.yml"
    assert site.signing.gnupghome_source == "signing.gnupghome in site.yml"
    assert site.publish == PublishSettings(bucket="yml-bucket", prefix="yml/site/",
                                           endpoint_url="http://yml.test", cdn_distribution_id="YML")


def test_the_environment_overrides_site_yml_and_names_itself_as_the_source(tmp_path):
    site = load_site(write_site(tmp_path, SIGNING_AND_PUBLISH), environ=ENVIRONMENT)
    assert (site.signing.key, site.signing.key_source) == ("ABCD" * 10, "SITEGEN_SIGNING_KEY")
    assert (site.signing.gnupghome, site.signing.gnupghome_source) == ("/keys/from-env", "SITEGEN_GNUPGHOME")
    assert site.publish == PublishSettings(bucket="env-bucket", prefix="env/",
                                           endpoint_url="http://env.test", cdn_distribution_id="ENV")


def test_the_environment_works_without_those_sections_in_site_yml(tmp_path):
    site = load_site(write_site(tmp_path), environ=ENVIRONMENT)
    assert site.signing.key == "ABCD" * 10 and site.publish.bucket == "env-bucket"


def test_an_empty_variable_counts_as_unset(tmp_path):
    write_site(tmp_path, SIGNING_AND_PUBLISH)
    assert load_site(tmp_path, environ=dict.fromkeys(ENVIRONMENT, "")) == load_site(tmp_path, environ={})


def test_os_environ_is_the_default(tmp_path, monkeypatch):
    monkeypatch.setenv("SITEGEN_PUBLISH_BUCKET", "from-os-environ")
    assert load_site(write_site(tmp_path)).publish.bucket == "from-os-environ"


# --- values checked once, named where they came from ------------------------------------------


@pytest.mark.parametrize("value", ["alice@example.org", "ABCD1234", "--export-secret-keys"])
def test_only_a_full_fingerprint_names_a_key(tmp_path, value):
    write_site(tmp_path, f'signing:\n  key: "{value}"\n')
    [message] = problems(tmp_path)
    assert message.startswith(f"site.yml:{line_of(tmp_path, 'key:')}: signing.key: ")
    assert "is not a key fingerprint" in message
    [message] = problems(write_site(tmp_path), {"SITEGEN_SIGNING_KEY": value})
    assert message.startswith("environment: SITEGEN_SIGNING_KEY: ") and "is not a key fingerprint" in message


@pytest.mark.parametrize("prefix, normalised", [("", ""), ("site", "site/"), ("/a/b/", "a/b/"), (" x ", "x/")])
def test_the_prefix_is_normalised(tmp_path, prefix, normalised):
    site = load_site(write_site(tmp_path, f'publish:\n  prefix: "{prefix}"\n'), environ={})
    assert site.publish.prefix == normalised
    assert load_site(write_site(tmp_path), environ={"SITEGEN_PUBLISH_PREFIX": prefix}).publish.prefix == normalised


@pytest.mark.parametrize("prefix", ["a//b", "a/../b", "./a"])
def test_a_prefix_that_is_not_a_plain_folder_is_one_line_naming_its_source(tmp_path, prefix):
    write_site(tmp_path, f'publish:\n  bucket: b\n  prefix: "{prefix}"\n')
    assert problems(tmp_path) == [
        f"site.yml:{line_of(tmp_path, 'prefix:')}: publish.prefix: {prefix!r} is not a plain folder path"]
    assert problems(tmp_path, {"SITEGEN_PUBLISH_PREFIX": prefix}) == [
        f"environment: SITEGEN_PUBLISH_PREFIX: {prefix!r} is not a plain folder path"]


@pytest.mark.parametrize("website", ["javascript:alert(1)", "data:text/html,<b>hi</b>", "www.example.edu",
                                     "https://example.edu/\njavascript:alert(1)"])
def test_an_organization_website_must_be_an_http_url(tmp_path, website):
    write_site(tmp_path)
    text = (tmp_path / "site.yml").read_text().replace(
        "    name: Acme University\n", f"    name: Acme University\n    website: {json.dumps(website)}\n")
    (tmp_path / "site.yml").write_text(text)
    [message] = problems(tmp_path)
    assert message.startswith(f"site.yml:{line_of(tmp_path, 'website:')}: organizations.acmex.website: ")
    assert "must be an http(s) URL" in message


def test_declared_choices_and_urls_are_checked(tmp_path):
    write_site(tmp_path, "signing:\n  algorithm: dsa\npublish:\n  endpoint_url: s3.example.test\n")
    assert problems(tmp_path) == [
        f"site.yml:{line_of(tmp_path, 'algorithm:')}: signing.algorithm: must be ed25519 or rsa3072",
        f"site.yml:{line_of(tmp_path, 'endpoint_url:')}: publish.endpoint_url: "
        "must be an http(s) URL, got 's3.example.test'",
    ]


def test_cache_defaults_are_the_declared_ones(tmp_path):
    site = load_site(write_site(tmp_path, "publish:\n  cache:\n    pages: no-cache\n"), environ={})
    assert site.publish.cache == CachePolicy(pages="no-cache")
    assert load_site(write_site(tmp_path, ""), environ={}).publish.cache == CachePolicy()


# --- declared options, documented -------------------------------------------------------------


def test_docs_configuration_md_is_generated_from_the_declarations():
    committed = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert committed == config_docs.render(), (
        "docs/configuration.md is out of date: regenerate it with "
        "`.venv/bin/python -m sitegen.load.config_docs > docs/configuration.md` (or `./dev docs`)")


def test_every_option_and_variable_is_documented():
    page = config_docs.render()
    for section in SECTIONS:
        for key, option in section.options.items():
            assert re.search(rf"^\| `{re.escape(key)}` \|.*{re.escape(option.doc)}", page, re.M), key
            if option.env:
                assert f"`{option.env}`" in page and option.env in (REPO / "README.md").read_text()


def test_the_example_site_yml_uses_only_declared_options():
    load_site(REPO, environ={})  # raises on any unknown key


# --- accepted options are used: description and website on the certificate page ----------------


@pytest.fixture(scope="module")
def example_build(tmp_path_factory):
    """The example project, with a description that tries to inject markup."""
    project = copy_example_project(tmp_path_factory.mktemp("about") / "site", one_site=True)
    site_yml = (project / "site.yml").read_text(encoding="utf-8")
    marker = "Symmetric and public-key cryptography"
    assert marker in site_yml
    (project / "site.yml").write_text(site_yml.replace(marker, "<script>alert(1)</script> " + marker),
                                      encoding="utf-8")
    result = sitegen_subprocess("build", "--site", project, "--out", project / "build", "--pages-only",
                                env=_without_signing_env())
    assert result.code == 0, result.err
    return project / "build"


def _without_signing_env() -> dict:
    return {k: v for k, v in os.environ.items() if not k.startswith("SITEGEN_")}


def certificate(build: Path, uuid: str) -> BeautifulSoup:
    return BeautifulSoup((build / "credentials" / uuid / "index.html").read_text(encoding="utf-8"), "html.parser")


def test_the_certificate_page_says_what_the_course_is_about(example_build):
    page = certificate(example_build, "14a6787ce951412d8d1c2a0c078a8146")  # Applied Cryptography, MeridianX
    about = page.find("section", class_="panel--about")
    assert about.find("h2").get_text() == "About this course"
    text = about.find(class_="about__text").get_text()
    assert text.startswith("<script>alert(1)</script> Symmetric and public-key cryptography")  # as text
    assert not page.find_all("script", string=re.compile("alert"))


def test_the_certificate_page_links_the_organization_to_its_website(example_build):
    page = certificate(example_build, "14a6787ce951412d8d1c2a0c078a8146")
    links = page.find_all("a", href="https://www.meridian.example.edu/")
    assert links and all(a.get_text() == "Meridian Institute of Technology" for a in links)
    assert all(a["rel"] == ["noopener"] for a in links)


def test_a_program_page_says_what_the_program_is_about(example_build):
    page = certificate(example_build, "19c6fee6e1a042c3a5caed1e63fc53fc")  # Data Science Foundations
    about = page.find("section", class_="panel--about")
    assert about.find("h2").get_text() == "About this program"
    assert about.find(class_="about__text").get_text().strip()
