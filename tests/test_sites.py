"""Several sites from one repository: each publishes its own organizations' credentials,
into its own folder and bucket, and never a credential of another's, in any output."""

from __future__ import annotations

import csv
import json
import os
import re
from pathlib import Path

import pytest

from conftest import copy_example_project, output_files, sitegen_subprocess
from s3server import moto_server, s3  # noqa: F401  (fixtures)
from sitegen.errors import InputProblems
from sitegen.load.config import load_sites
from sitegen.load.record_cache import load_credentials
from siteyml import write_site

SITES = {"learnwell": "MeridianX", "northbridge": "NorthbridgeX"}  # the example project's sites
BASE_URLS = {"learnwell": "https://verify.example.org/", "northbridge": "https://credentials.northbridge.example.edu/"}


def records_by_organization(project: Path) -> dict[str, dict[str, str]]:
    """{organization: {uuid: full name}} of every record of the example, as the build reads them."""
    site = load_sites(project, environ={})[0]
    found: dict[str, dict[str, str]] = {}
    for credential in load_credentials(site, None).credentials:
        found.setdefault(site.subject_of(credential).org, {})[credential.uuid] = credential.full_name
    return found


@pytest.fixture(scope="module")
def example(tmp_path_factory, gpg_key):
    """The example project built whole (both sites), signed with the throw-away key."""
    project = copy_example_project(tmp_path_factory.mktemp("sites") / "site")
    env = {**_without_sitegen_env(), "SITEGEN_GNUPGHOME": str(gpg_key.home),
           "SITEGEN_SIGNING_KEY": gpg_key.fingerprint}
    built = sitegen_subprocess("build", "--site", project, "--json", env=env)
    assert built.code == 0, built.err
    return project, json.loads(built.out), env


def _without_sitegen_env() -> dict:
    return {k: v for k, v in os.environ.items() if not k.startswith("SITEGEN_")}


def test_two_sites_never_share_a_credential(example):
    project, report, _ = example
    records = records_by_organization(project)
    assert set(report["sites"]) == set(SITES) and report["ok"] is True
    for site, org in SITES.items():
        out = project / "build" / site
        own, others = set(records[org]), {u for o, r in records.items() if o != org for u in r}
        assert own and others
        built = {p.name for p in (out / "credentials").iterdir()}
        assert built == own, site  # each of its own, none of another's
        assert set(report["sites"][site]["credentials"]) == own
        # The hash index names its own PDFs (a revoked credential has none), no other site's.
        indexed = {json.loads(p.read_text())["uuid"] for p in (out / "api/v1/pdf-sha256").iterdir()}
        assert indexed == {u for u in own if (out / "credentials" / u / "certificate.pdf").is_file()}
        assert len(indexed) >= len(own) - 2
        # Nowhere in the site (pages, JSON, statements, PDFs, state) is another site's
        # credential ID or learner's name.
        names = {n for o, r in records.items() if o != org for n in r.values()}
        for path, data in output_files(out).items():
            assert not any(u.encode() in data for u in others), (site, path)
            assert not any(n.encode("utf-8") in data or n.encode("utf-16-be") in data for n in names), (site, path)
        for path in (out / ".sitegen").rglob("*"):
            if path.is_file():
                assert not any(u.encode() in path.read_bytes() for u in others), (site, path)


def test_each_site_has_its_own_address_and_pages(example):
    project, _, _ = example
    for site in SITES:
        out = project / "build" / site
        some = next((out / "credentials").iterdir())
        page = (some / "index.html").read_text(encoding="utf-8")
        assert f'href="{BASE_URLS[site]}credentials/{some.name}/"' in page
        statement = (some / "statement.txt.asc").read_text(encoding="utf-8")
        assert f"{BASE_URLS[site]}credentials/{some.name}/" in statement
    northbridge_home = (project / "build/northbridge/index.html").read_text(encoding="utf-8")
    assert "Northbridge University certificates you can check for yourself" in northbridge_home  # its own pages
    assert "Meridian" not in northbridge_home  # not even in the footer's list of issuers
    assert "Northbridge University Credentials" in northbridge_home  # its own name


def test_site_name_builds_one_site_only(tmp_path):
    project = copy_example_project(tmp_path / "site")
    built = sitegen_subprocess("build", "--site", project, "--site-name", "northbridge", "--pages-only",
                               "--out", project / "out", env=_without_sitegen_env())
    assert built.code == 0, built.err
    assert [p.name for p in (project / "out").iterdir() if not p.name.startswith(".")] == ["northbridge"]
    assert "site northbridge" in built.out and "site learnwell" not in built.out
    unknown = sitegen_subprocess("build", "--site", project, "--site-name", "nosuch", env=_without_sitegen_env())
    assert unknown.code != 0
    assert unknown.err.strip().splitlines() == [
        "sitegen: error: --site-name nosuch: no such site in site.yml (known: learnwell, northbridge)"]


def test_sites_publish_each_to_its_own_bucket(example, moto_server, s3):
    project, _, env = example
    buckets = {"learnwell": "verify-example-org", "northbridge": "credentials-northbridge-example-edu"}
    for name in buckets.values():
        s3.create_bucket(Bucket=name)
    env = {**env, **moto_server.env(), "SITEGEN_PUBLISH_ENDPOINT_URL": moto_server.url}
    one = sitegen_subprocess("publish", "--site", project, "--site-name", "northbridge", env=env)
    assert one.code == 0, one.err
    assert "Contents" not in s3.list_objects_v2(Bucket=buckets["learnwell"])  # --site-name: that site only
    both = sitegen_subprocess("publish", "--site", project, env=env)
    assert both.code == 0, both.err
    records = records_by_organization(project)
    for site, bucket in buckets.items():
        keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket, MaxKeys=1000)["Contents"]}
        published = {k.split("/")[1] for k in keys if k.startswith("credentials/")}
        assert published == set(records[SITES[site]]), site
        assert ".well-known/did.json" in keys  # a dot-folder, published: did:web resolves it there
    # One bucket for both sites would make each delete the other's objects: refused.
    clash = sitegen_subprocess("publish", "--site", project, env={**env, "SITEGEN_PUBLISH_BUCKET": "one-bucket"})
    assert clash.code != 0 and "would both publish to s3://one-bucket/" in clash.err


def test_purge_answers_no_longer_available_only_on_its_own_site(tmp_path):
    project = copy_example_project(tmp_path / "site")
    records = records_by_organization(project)
    gone = sorted(records["NorthbridgeX"])[0]
    env = _without_sitegen_env()
    assert sitegen_subprocess("build", "--site", project, "--pages-only", "--out", project / "out", env=env).code == 0
    purged = sitegen_subprocess("purge", gone, "--site", project, env=env)
    assert purged.code == 0, purged.err
    listed = (project / "credentials_data/purged.txt").read_text(encoding="utf-8")
    assert re.search(rf"^{gone} \d{{4}}-\d\d-\d\d site=northbridge$", listed, re.MULTILINE)
    rebuilt = sitegen_subprocess("build", "--site", project, "--pages-only", "--out", project / "out", env=env)
    assert rebuilt.code == 0, rebuilt.err
    notice = (project / f"out/northbridge/credentials/{gone}/index.html").read_text(encoding="utf-8")
    assert "no longer available" in notice
    assert not (project / f"out/learnwell/credentials/{gone}").exists()


def test_sites_settings_come_from_the_top_level_unless_a_site_says(tmp_path):
    write_site(tmp_path, """\
  globex:
    name: Globex
publish:
  region: eu-west-1
  bucket: shared-bucket
  max_deletes: 7
sites:
  acme:
    organizations: [acmex]
    publish:
      prefix: acme/
  globex:
    name: Globex Credentials
    base_url: https://credentials.globex.test/
    organizations: [globex]
    publish:
      bucket: globex-bucket
""")
    acme, globex = load_sites(tmp_path, environ={})
    assert (acme.key, acme.name, acme.base_url, acme.served) == (
        "acme", "Minimal Verify", "https://verify.minimal.test/", ("acmex",))
    assert (acme.publish.bucket, acme.publish.prefix, acme.publish.region, acme.publish.max_deletes) == (
        "shared-bucket", "acme/", "eu-west-1", 7)
    assert (globex.name, globex.base_url, globex.served) == (
        "Globex Credentials", "https://credentials.globex.test/", ("globex",))
    assert (globex.publish.bucket, globex.publish.prefix, globex.publish.region) == ("globex-bucket", "", "eu-west-1")
    # The environment still overrides every site (CI publishes one site per job with --site-name).
    acme, globex = load_sites(tmp_path, environ={"SITEGEN_PUBLISH_BUCKET": "ci-bucket"})
    assert acme.publish.bucket == globex.publish.bucket == "ci-bucket"


@pytest.mark.parametrize(("sites", "expected"), [
    ("  a:\n    organizations: [acmex]\n  b:\n    organizations: [acmex]\n",
     "site.yml:10: sites.b.organizations: organization 'acmex' is already published by site 'a'"),
    ("  a:\n    organizations: [nosuch, acmex]\n",
     "site.yml:8: sites.a.organizations: unknown organization 'nosuch' (known: acmex)"),
    ("  a:\n    organizations: []\n",
     "site.yml:6: sites: organization 'acmex' belongs to no site: add it to one site's organizations"),
    ("  a:\n    base_url: ftp://x/\n    organizations: [acmex]\n",
     "site.yml:8: sites.a.base_url: must be an http(s) URL like https://verify.example.org/, got 'ftp://x/'"),
    ("  a:\n    organizations: [acmex]\n    colour: red\n",
     "site.yml:9: sites.a.colour: unknown key (known: organizations, name, base_url, platform_name, theme, "
     "language, contact_email, content, learner_profile_url, index_certificate_pages, signing, publish)"),
    ("  a:\n    organizations: [acmex]\n    content: ../elsewhere\n",
     "site.yml:9: sites.a.content: must be a folder inside the project folder"),
])
def test_a_wrong_sites_section_is_one_line_naming_the_line(tmp_path, sites, expected):
    write_site(tmp_path, "sites:\n" + sites)
    with pytest.raises(InputProblems) as caught:
        load_sites(tmp_path, environ={})
    assert [str(p) for p in caught.value.problems] == [expected]


def test_two_sites_on_one_bucket_and_prefix_are_refused(tmp_path):
    write_site(tmp_path, """\
  globex:
    name: Globex
publish:
  bucket: shared
sites:
  a:
    organizations: [acmex]
  b:
    organizations: [globex]
""")
    with pytest.raises(InputProblems) as caught:
        load_sites(tmp_path, environ={})
    assert [str(p) for p in caught.value.problems] == [
        "site.yml:13: sites.b.publish: publishes to the same bucket and prefix as site 'a': "
        "give each site its own bucket or prefix"]


def test_the_example_records_cover_both_sites():
    """The example keeps both sites populated (a test above would pass vacuously otherwise)."""
    from conftest import REPO

    with open(REPO / "credentials_data/awards-2026.csv", encoding="utf-8") as f:
        orgs = {row["course_id"].split(":")[1].split("+")[0] for row in csv.DictReader(f) if row.get("course_id")}
    assert set(SITES.values()) <= orgs
