"""A full build: PDFs, signatures, statements, share cards; checked as an employer would."""

from __future__ import annotations

import json
import os

import pytest

from conftest import output_files
from gpgkeys import gpg, new_home

VALID = "0a1b2c3d4e5f40718293a4b5c6d7e8f9"
REVOKED = "5f6a7b8c9d0e45c6d748f90a1b2c3d4e"


@pytest.fixture(scope="module")
def full_build(tmp_path_factory, gpg_key):
    """The sample project built once for this module, signed with the throw-away key."""
    import shutil

    from conftest import SAMPLE_SITE, sitegen_subprocess

    site = tmp_path_factory.mktemp("full") / "site"
    shutil.copytree(SAMPLE_SITE, site)
    env = {**os.environ, "SITEGEN_GNUPGHOME": str(gpg_key.home), "SITEGEN_SIGNING_KEY": gpg_key.fingerprint}
    result = sitegen_subprocess("build", "--site", site, "--json", env=env)
    assert result.code == 0, result.err
    return site, site / "build", json.loads(result.out), env


def test_every_credential_has_all_its_files(full_build):
    _, out, report, _ = full_build
    assert report["counts"]["generated"] == 8 and report["counts"]["errors"] == 0
    folder = out / "credentials" / VALID
    for name in ("index.html", "certificate.pdf", "certificate.pdf.sig", "statement.txt.asc"):
        assert (folder / name).is_file(), name
    assert sorted(os.listdir(folder)) == ["assertion.json", "certificate.pdf", "certificate.pdf.sig", "credential.json",
                                          "index.html", "statement.txt.asc"]
    assert (out / "keys/signing-key.asc").read_text().startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")


def test_employer_checks_with_nothing_but_gpg(full_build, tmp_path):
    _, out, _, _ = full_build
    home = new_home(tmp_path / "employer")
    assert gpg(home, "--import", str(out / "keys/signing-key.asc")).returncode == 0
    folder = out / "credentials" / VALID
    good = gpg(home, "--verify", str(folder / "certificate.pdf.sig"), str(folder / "certificate.pdf"))
    assert good.returncode == 0 and b"Good signature" in good.stderr

    tampered = bytearray((folder / "certificate.pdf").read_bytes())
    tampered[len(tampered) // 2] ^= 0x01
    (tmp_path / "tampered.pdf").write_bytes(bytes(tampered))
    bad = gpg(home, "--verify", str(folder / "certificate.pdf.sig"), str(tmp_path / "tampered.pdf"))
    assert bad.returncode != 0 and b"BAD signature" in bad.stderr

    statement = gpg(home, "--verify", str(folder / "statement.txt.asc"))
    assert statement.returncode == 0 and b"Good signature" in statement.stderr


def test_statement_carries_the_pdf_hash(full_build):
    import hashlib

    _, out, _, _ = full_build
    folder = out / "credentials" / VALID
    digest = hashlib.sha256((folder / "certificate.pdf").read_bytes()).hexdigest()
    assert digest in (folder / "statement.txt.asc").read_text()
    api = json.loads((out / "api/v1/credentials" / VALID).read_text())
    assert api["verification"]["pdf_sha256"] == digest
    assert json.loads((out / "api/v1/pdf-sha256" / digest).read_text()) == {"uuid": VALID}


def test_revoked_credential_has_no_pdf(full_build):
    _, out, _, _ = full_build
    folder = out / "credentials" / REVOKED
    assert not (folder / "certificate.pdf").exists() and not (folder / "certificate.pdf.sig").exists()
    assert "Status: revoked" in (folder / "statement.txt.asc").read_text()


def test_no_private_key_material_in_build(full_build, gpg_key):
    """Nothing of the secret part of the signing key, armoured or raw, is in build/."""
    _, out, _, _ = full_build
    export = lambda *args: gpg(gpg_key.home, *args, gpg_key.fingerprint).stdout  # noqa: E731
    public_armoured, public_raw = export("--armor", "--export"), export("--export")
    secret_armoured, secret_raw = export("--armor", "--export-secret-keys"), export("--export-secret-keys")
    assert len(secret_raw) > len(public_raw)  # the export really holds the secret part
    # What the secret export has and the public one does not: armour lines and raw windows.
    secret_lines = [line for line in secret_armoured.splitlines()
                    if len(line) > 40 and line not in public_armoured]
    secret_windows = [secret_raw[i:i + 32] for i in range(0, len(secret_raw) - 32, 8)
                      if secret_raw[i:i + 32] not in public_raw]
    assert secret_lines and secret_windows
    for path in out.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(line in data for line in secret_lines), path
            assert not any(window in data for window in secret_windows), path
    assert not list(out.rglob("private-keys-v1.d"))  # no GnuPG home copied into the site


def card_of(out, uuid: str) -> str:
    """The share card a certificate page points its link previews at, as a site path."""
    import re

    page = (out / "credentials" / uuid / "index.html").read_text(encoding="utf-8")
    og = re.search(r'<meta property="og:image" content="https://verify\.sample\.test/([^"]+)">', page)
    twitter = re.search(r'<meta name="twitter:image" content="https://verify\.sample\.test/([^"]+)">', page)
    assert og and twitter and og[1] == twitter[1], uuid
    return og[1]


def test_share_cards_are_one_file_per_distinct_card_named_by_its_bytes(full_build):
    import hashlib

    from PIL import Image

    _, out, report, _ = full_build
    cards = {uuid: card_of(out, uuid) for uuid in report["credentials"]}
    files = sorted((out / "cards").iterdir())
    assert {f"cards/{f.name}" for f in files} == set(cards.values())  # every card used, none left over
    assert len(files) < len(cards)  # shared: fewer cards than credentials
    for file in files:
        assert file.name == hashlib.sha256(file.read_bytes()).hexdigest() + ".png"
        with Image.open(file) as image:
            assert image.format == "PNG" and image.size == (1200, 630)
    assert cards[VALID] != cards[REVOKED]  # the card shows the status


def test_sitegen_verify_says_valid_then_not_genuine(full_build, tmp_path):
    from conftest import sitegen_subprocess

    _, out, _, env = full_build
    pdf = out / "credentials" / VALID / "certificate.pdf"
    ok = sitegen_subprocess("verify", pdf, "--build-dir", out, env=env)
    assert ok.code == 0 and "VALID" in ok.out
    tampered = bytearray(pdf.read_bytes())
    tampered[len(tampered) // 2] ^= 0x01
    (tmp_path / "x.pdf").write_bytes(bytes(tampered))
    bad = sitegen_subprocess("verify", tmp_path / "x.pdf", "--build-dir", out, env=env)
    assert bad.code != 0


def test_full_rebuild_builds_nothing_and_clean_builds_are_identical(full_build, tmp_path):
    from conftest import sitegen_subprocess

    site, out, _, env = full_build
    again = sitegen_subprocess("build", "--site", site, "--json", env=env)
    assert json.loads(again.out)["counts"]["generated"] == 0
    other = tmp_path / "other"
    assert sitegen_subprocess("build", "--site", site, "--out", other, "--jobs", "1", env=env).code == 0
    assert output_files(other) == output_files(out)  # byte for byte: PDFs, signatures, images


def test_one_bad_credential_does_not_stop_the_others_and_keeps_its_old_output(tmp_path, signing_env, sitegen):
    import shutil

    from conftest import SAMPLE_SITE

    site = tmp_path / "site"
    shutil.copytree(SAMPLE_SITE, site)
    assert sitegen("build", "--site", site).code == 0
    page = site / "build/credentials" / VALID / "index.html"
    before = page.read_bytes()
    csv = site / "credentials_data/awards.csv"
    text = csv.read_text(encoding="utf-8")
    csv.write_text(text.replace("Zoë Ó Súilleabháin", "Zoë \ue000 Súilleabháin")  # no font draws U+E000
                   .replace("王小明", "王小红"), encoding="utf-8")

    result = sitegen("build", "--site", site, "--json")

    assert result.code != 0
    report = json.loads(result.out)
    assert report["credentials"][VALID]["state"] == "error"
    assert "U+E000" in report["credentials"][VALID]["reason"]
    assert report["credentials"]["1b2c3d4e5f6a41829304b5c6d7e8f90a"]["state"] == "generated"
    assert page.read_bytes() == before  # the last good page and PDF stay published
    assert f"error: credential {VALID}" in result.err
