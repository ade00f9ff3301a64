"""api/v1/credentials/<uuid>: the Credentials API's public fields, for a course and a program
certificate, as a client of the Credentials service reads them; learner text exactly as written."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from conftest import SAMPLE_SITE, sitegen_subprocess

BASE_URL = "https://verify.sample.test/"
ZOE = "0a1b2c3d4e5f40718293a4b5c6d7e8f9"  # a course certificate, awards.csv
PRIYA = "4e5f6a7b8c9d44b5c637e8f90a1b2c3d"  # a program certificate, more.jsonl
ANNA = "5f6a7b8c9d0e45c6d748f90a1b2c3d4e"  # revoked, hand.yml
KENJI = "7b8c9d0e1f2a47e8f96ab1c2d3e4f5a6"  # from a Credentials API export, api.json
HOSTILE = "2c3d4e5f6a7b4293a415c6d7e8f90a1b"  # a name of quotes, tags and ampersands

PUBLIC = {"credential_type", "credential_id", "username", "status", "uuid", "download_url", "attributes"}
COURSE_PUBLIC = PUBLIC | {"course_id", "certificate_type"}
PROGRAM_PUBLIC = PUBLIC | {"program_id"}
# What sitegen has always added: the printed name, the API's nested subject, what the page shows, how to check it.
EXTRA = {"full_name", "credential", "title", "organization", "issued", "created", "expires", "certificate_url",
         "verification"}


@pytest.fixture(scope="module")
def build(tmp_path_factory, gpg_key):
    """The sample project built in full (PDFs, signatures) once for this module."""
    site = tmp_path_factory.mktemp("api") / "site"
    shutil.copytree(SAMPLE_SITE, site, ignore=shutil.ignore_patterns("build", ".dev-gnupg"))
    env = {**os.environ, "SITEGEN_GNUPGHOME": str(gpg_key.home), "SITEGEN_SIGNING_KEY": gpg_key.fingerprint}
    result = sitegen_subprocess("build", "--site", site, env=env)
    assert result.code == 0, result.err
    return site / "build"


def api(build, uuid: str) -> dict:
    return json.loads((build / "api/v1/credentials" / uuid).read_bytes())


def test_a_course_certificate_has_the_public_fields(build):
    data = api(build, ZOE)
    assert data.keys() == COURSE_PUBLIC | EXTRA
    assert {key: data[key] for key in COURSE_PUBLIC} == {
        "credential_type": "course-certificate",
        "credential_id": ZOE,  # the ID printed on the certificate
        "course_id": "course-v1:AcmeX+CS101+2026",
        "certificate_type": "verified",
        "username": "zoe",
        "status": "awarded",
        "uuid": ZOE,
        "download_url": f"{BASE_URL}credentials/{ZOE}/certificate.pdf",
        "attributes": [{"namespace": "course", "name": "grade", "value": "0.93"}],
    }
    assert data["credential"] == {"type": "course-run", "course_run_key": "course-v1:AcmeX+CS101+2026",
                                  "mode": "verified"}


def test_a_program_certificate_has_the_public_fields(build):
    data = api(build, PRIYA)
    assert data.keys() == PROGRAM_PUBLIC | EXTRA
    assert {key: data[key] for key in PROGRAM_PUBLIC} == {
        "credential_type": "program-certificate",
        "credential_id": PRIYA,
        "program_id": "data-science",
        "username": "priya",
        "status": "awarded",
        "uuid": PRIYA,
        "download_url": f"{BASE_URL}credentials/{PRIYA}/certificate.pdf",
        "attributes": [],
    }
    assert data["credential"] == {"type": "program", "program_uuid": "data-science"}


def test_a_record_from_a_credentials_api_export_comes_back_in_the_same_fields(build):
    data = api(build, KENJI)
    assert {key: data[key] for key in ("course_id", "certificate_type", "username", "status")} == {
        "course_id": "course-v1:AcmeX+CS101+2026", "certificate_type": "verified", "username": "kenji",
        "status": "awarded"}
    assert data["attributes"] == [{"namespace": "course", "name": "grade", "value": "0.88"}]


@pytest.mark.parametrize("uuid", [ZOE, PRIYA])
def test_the_download_url_is_the_published_pdf(build, uuid):
    url = api(build, uuid)["download_url"]
    assert url.startswith(BASE_URL)
    assert (build / url.removeprefix(BASE_URL)).read_bytes().startswith(b"%PDF-")


def test_a_revoked_certificate_has_no_download_url(build):
    data = api(build, ANNA)
    assert data["status"] == "revoked" and data["credential_id"] == ANNA
    assert data["download_url"] is None
    assert not (build / "credentials" / ANNA / "certificate.pdf").exists()


@pytest.mark.parametrize("uuid, name", [
    (HOSTILE, "<script>alert(\"x\")</script> & 'Mallory' \"Q\""),
    ("3d4e5f6a7b8c43a4b526d7e8f90a1b2c", "فاطمة الزهراء"),
    ("1b2c3d4e5f6a41829304b5c6d7e8f90a", "王小明"),
])
def test_learner_text_comes_back_exactly_as_written(build, uuid, name):
    raw = (build / "api/v1/credentials" / uuid).read_bytes()
    assert raw.count(b"\n") == 1 and raw.endswith(b"}\n")  # one JSON document, one line
    assert json.loads(raw.decode("utf-8"))["full_name"] == name
