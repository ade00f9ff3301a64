"""The build issues every credential as an Open Badges 3.0 verifiable credential and an Open
Badges 2.0 hosted assertion, with the files they name (DID document, status lists, issuers,
badge classes), checked by independent verifiers offline."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess

import pytest
from bs4 import BeautifulSoup
from pypdf import PdfReader, PdfWriter

from conftest import SAMPLE_SITE, sitegen_subprocess
from gpgkeys import gpg, gpg_key, new_home  # noqa: F401 - fixture
from ob2.server import serve_folder
from ob2.validator import run_validator, write_context
from sitegen.plan.status_indexes import STATUS_INDEXES, load_status_indexes
from sitegen.vc import MIN_ENTRIES, build_fetcher, decode_status_list, is_set, verify_credential
from test_pdf import page_count, pdfa_3b_problems
from test_vc import run_verifier_core, verifier_says

BASE = "https://verify.sample.test/"
VALID = "0a1b2c3d4e5f40718293a4b5c6d7e8f9"  # awards.csv
REVOKED = "5f6a7b8c9d0e45c6d748f90a1b2c3d4e"
PROGRAM = "4e5f6a7b8c9d44b5c637e8f90a1b2c3d"  # more.jsonl


def env_with(gpg_key) -> dict:
    return {**os.environ, "SITEGEN_GNUPGHOME": str(gpg_key.home), "SITEGEN_SIGNING_KEY": gpg_key.fingerprint}


@pytest.fixture(scope="module")
def built(tmp_path_factory, gpg_key):
    site = tmp_path_factory.mktemp("badges") / "site"
    shutil.copytree(SAMPLE_SITE, site)
    result = sitegen_subprocess("build", "--site", site, "--json", env=env_with(gpg_key))
    assert result.code == 0, result.err
    return site, site / "build", json.loads(result.out)


def statuses(report) -> dict[str, str]:
    return {u: c["state"] for u, c in report["credentials"].items()}


def test_every_credential_verifies_with_the_sites_own_files(built):
    site, out, report = built
    fetch = build_fetcher(BASE, out)
    verdicts = {u: verify_credential((out / "credentials" / u / "credential.json").read_bytes(), fetch).status
                for u in report["credentials"]}
    assert verdicts[VALID] == "valid" and verdicts[PROGRAM] == "valid"
    assert verdicts[REVOKED] == "revoked"  # by its bit in the signed status list
    assert set(verdicts.values()) <= {"valid", "revoked", "expired"}


def test_the_independent_verifier_agrees_offline(built):
    """The Digital Credentials Consortium's verifier-core, as wallets run it, answering the
    site's URLs (DID document, status list) from the build."""
    _, out, _ = built
    files = {u: out / "credentials" / u / "credential.json" for u in (VALID, REVOKED, PROGRAM)}
    answer = run_verifier_core(out, BASE, files)
    assert {u: verifier_says(r) for u, r in answer["results"].items()} == {
        VALID: "valid", REVOKED: "revoked", PROGRAM: "valid"}
    assert answer["refused"] == [] or all("schema" in url for url in answer["refused"])


def test_each_pdf_is_pdfa_3b_one_page_signed_and_carries_its_published_credential(built, tmp_path):
    """The PDF carries its proof: the published credential.json, byte for byte, which verifies
    (in Python and with verifier-core), in a one-page PDF/A-3b file that gpg still verifies."""
    _, out, report = built
    employer = new_home(tmp_path / "employer")
    assert gpg(employer, "--import", str(out / "keys/signing-key.asc")).returncode == 0
    carried, fetch = {}, build_fetcher(BASE, out)
    for uuid in report["credentials"]:
        folder = out / "credentials" / uuid
        if uuid == REVOKED:
            assert not (folder / "certificate.pdf").exists()  # a revoked credential has no PDF
            continue
        pdf = (folder / "certificate.pdf").read_bytes()
        assert pdfa_3b_problems(pdf) == [] and page_count(pdf) == 1, uuid
        checked = gpg(employer, "--verify", str(folder / "certificate.pdf.sig"), str(folder / "certificate.pdf"))
        assert checked.returncode == 0 and b"Good signature" in checked.stderr, uuid
        (embedded,) = PdfReader(io.BytesIO(pdf)).attachments["credential.json"]
        assert embedded == (folder / "credential.json").read_bytes(), uuid
        assert verify_credential(embedded, fetch).status in ("valid", "expired"), uuid
        carried[uuid] = tmp_path / f"{uuid}.json"
        carried[uuid].write_bytes(embedded)
    # poppler reads it the same (what `pdfdetach -saveall` gives a user)
    folder = out / "credentials" / VALID
    subprocess.run(["pdfdetach", "-saveall", "-o", tmp_path, folder / "certificate.pdf"], check=True)
    assert (tmp_path / "credential.json").read_bytes() == (folder / "credential.json").read_bytes()
    answer = run_verifier_core(out, BASE, {u: carried[u] for u in (VALID, PROGRAM)})
    assert {u: verifier_says(r) for u, r in answer["results"].items()} == {VALID: "valid", PROGRAM: "valid"}


def test_the_learner_is_in_it_by_name_and_by_a_salted_hash_only(built):
    site, out, _ = built
    document = json.loads((out / "credentials" / VALID / "credential.json").read_text(encoding="utf-8"))
    subject = document["credentialSubject"]
    assert subject["name"] == "Zoë Ó Súilleabháin"
    assert subject["identifier"][0]["hashed"] is True and subject["identifier"][0]["identityType"] == "userName"
    for path in (out / "credentials" / VALID / "credential.json", out / "credentials" / VALID / "assertion.json"):
        assert b'"zoe"' not in path.read_bytes()  # the username, never in the clear
    assert document["issuer"]["id"] == "did:web:verify.sample.test"
    assert document["credentialSubject"]["achievement"]["id"].startswith(BASE + "ob2/badges/course/")


def test_indexes_are_committed_kept_by_a_fresh_build_and_never_reused(built, tmp_path, gpg_key):
    site, out, report = built
    first = load_status_indexes(site)
    assert set(first.indexes) == set(report["credentials"])  # one each, in the committed file
    assert sorted(first.indexes.values()) == list(range(len(first.indexes)))
    # A fresh checkout: no build/, the same file: the same indexes, the same signed bytes.
    copy = tmp_path / "site"
    shutil.copytree(site, copy, ignore=shutil.ignore_patterns("build"))
    again = sitegen_subprocess("build", "--site", copy, env=env_with(gpg_key))
    assert again.code == 0, again.err
    for uuid in report["credentials"]:
        path = f"build/credentials/{uuid}/credential.json"
        assert (copy / path).read_bytes() == (site / path).read_bytes(), uuid
    # Purge one, award another: the new one gets a new index, never the purged one's.
    purged_index = first.indexes[VALID]
    assert sitegen_subprocess("purge", VALID, "--site", copy, env=env_with(gpg_key)).code == 0
    csv = copy / "credentials_data/awards.csv"
    new = "9" * 32
    row = csv.read_text(encoding="utf-8").splitlines()[1].split(",")
    row[0], row[1] = new, "newlearner"
    csv.write_text(csv.read_text(encoding="utf-8") + ",".join(row) + "\n", encoding="utf-8")
    assert sitegen_subprocess("build", "--site", copy, env=env_with(gpg_key)).code == 0
    after = load_status_indexes(copy)
    assert after.indexes[VALID] == purged_index  # its line stays
    assert after.indexes[new] == max(first.indexes.values()) + 1
    text = (copy / STATUS_INDEXES).read_text(encoding="utf-8")
    assert "Súilleabháin" not in text and "zoe" not in text  # IDs and numbers only


def test_revoking_sets_one_bit_of_the_signed_status_list(built, tmp_path, gpg_key):
    site, out, _ = built
    copy = tmp_path / "site"
    shutil.copytree(site, copy)
    before = decode_status_list(json.loads((copy / "build/status/1.json").read_text())["credentialSubject"]
                                ["encodedList"])
    assert sitegen_subprocess("revoke", VALID, "--reason", "Issued in error", "--site", copy).code == 0
    rebuilt = sitegen_subprocess("build", "--site", copy, "--json", env=env_with(gpg_key))
    assert rebuilt.code == 0, rebuilt.err
    after = decode_status_list(json.loads((copy / "build/status/1.json").read_text())["credentialSubject"]
                               ["encodedList"])
    index = load_status_indexes(copy).indexes[VALID] % MIN_ENTRIES
    changed = [i for i in range(len(after) * 8) if is_set(after, i) != is_set(before, i)]
    assert changed == [index] and is_set(after, index)
    assert len(after) * 8 >= 131072  # herd privacy: the list hides which credential is checked
    fetch = build_fetcher(BASE, copy / "build")
    credential = (copy / f"build/credentials/{VALID}/credential.json").read_bytes()
    assert verify_credential(credential, fetch).status == "revoked"
    assertion = json.loads((copy / f"build/credentials/{VALID}/assertion.json").read_text())
    assert assertion["revoked"] is True and assertion["revocationReason"] == "Issued in error"


def test_the_page_links_its_machine_readable_forms_and_offers_the_wallet(built, tmp_path):
    _, out, _ = built
    soup = BeautifulSoup((out / "credentials" / VALID / "index.html").read_text(encoding="utf-8"), "html.parser")
    alternates = {link["type"]: link["href"] for link in soup.find_all("link", rel="alternate")}
    assert alternates == {
        "application/json": f"{BASE}api/v1/credentials/{VALID}",
        "application/ld+json": f"{BASE}credentials/{VALID}/assertion.json",
        "application/vc": f"{BASE}credentials/{VALID}/credential.json",
    }
    for href in alternates.values():
        assert (out / href.removeprefix(BASE)).is_file(), href
    # The QR code scans to the credential's URL, as a wallet's camera reads it.
    svg = soup.select_one(".wallet__qr svg") or soup.find("svg", attrs={"aria-hidden": "true"})
    assert svg is not None
    raster(str(svg)).save(tmp_path / "qr.png")
    scanned = subprocess.run(["zbarimg", "--raw", "-q", str(tmp_path / "qr.png")], capture_output=True, text=True)
    assert scanned.stdout.strip() == f"{BASE}credentials/{VALID}/credential.json"
    revoked = (out / "credentials" / REVOKED / "index.html").read_text(encoding="utf-8")
    assert "wallet__qr" not in revoked  # nobody should add a revoked credential


def raster(svg: str, scale: int = 8):
    """The QR code's SVG drawn as pixels: each `M x,y H x2 V y2 H x z` of its path is a
    dark square (the shape qrcode's SvgPathImage writes), on white."""
    from PIL import Image, ImageDraw

    size = int(float(re.search(r'viewBox="0 0 ([\d.]+)', svg, re.IGNORECASE)[1]))
    image = Image.new("L", (size * scale, size * scale), 255)
    draw = ImageDraw.Draw(image)
    squares = re.findall(r"M(\d+),(\d+)H(\d+)V(\d+)H\d+z", svg)
    assert squares, "no squares in the QR code's path"
    for x, y, x2, y2 in squares:
        draw.rectangle([int(x) * scale, int(y) * scale, int(x2) * scale - 1, int(y2) * scale - 1], fill=0)
    return image


def test_sitegen_verify_checks_a_credential_json(built, tmp_path):
    _, out, _ = built
    valid = sitegen_subprocess("verify", out / "credentials" / VALID / "credential.json", "--build-dir", out,
                               "--json")
    assert valid.code == 0 and json.loads(valid.out)["verdict"] == "valid"
    assert json.loads(valid.out)["recipient"] == "Zoë Ó Súilleabháin"
    revoked = sitegen_subprocess("verify", out / "credentials" / REVOKED / "credential.json", "--build-dir", out,
                                 "--json")
    assert revoked.code != 0 and json.loads(revoked.out)["verdict"] == "revoked"
    forged = tmp_path / "forged.json"
    text = (out / "credentials" / VALID / "credential.json").read_text(encoding="utf-8")
    forged.write_text(text.replace("Súilleabháin", "Smith"), encoding="utf-8")
    answer = sitegen_subprocess("verify", forged, "--build-dir", out, "--json")
    assert answer.code != 0 and json.loads(answer.out)["verdict"] == "invalid"
    other = sitegen_subprocess("verify", out / "credentials" / VALID / "credential.json", "--site-url",
                               "https://another.example/", "--json")
    assert other.code != 0 and json.loads(other.out)["verdict"] == "invalid"


def with_embedded_credential(pdf: bytes, edit) -> bytes:
    """The PDF written again by pypdf, its embedded credential.json edited: edit(bytes) -> bytes."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    (spec,) = writer.root_object["/AF"]
    stream = spec.get_object()["/EF"]["/F"].get_object()
    stream.set_data(edit(stream.get_data()))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_sitegen_verify_checks_the_credential_a_pdf_carries(built, tmp_path):
    _, out, _ = built
    pdf = out / "credentials" / VALID / "certificate.pdf"
    genuine = sitegen_subprocess("verify", pdf, "--build-dir", out)
    assert genuine.code == 0, genuine.out
    assert "  Embedded credential: verified: signed by its issuer, not revoked, within its dates\n" in genuine.out
    forged = tmp_path / "forged.pdf"
    forged.write_bytes(with_embedded_credential(pdf.read_bytes(), lambda data: data.replace(
        "Súilleabháin".encode(), b"Smith")))
    answer = sitegen_subprocess("verify", forged, "--build-dir", out, "--json")
    assert answer.code == 1
    report = json.loads(answer.out)
    assert report["verdict"] == "invalid" and report["embedded_credential"]["verdict"] == "invalid"
    assert report["embedded_credential"]["reason"].startswith("the signature does not match: it was changed after")
    text = sitegen_subprocess("verify", forged, "--build-dir", out).out
    assert "  Embedded credential: NOT GENUINE: the signature does not match" in text


def test_the_site_publishes_its_did_document_and_ob2_files(built):
    _, out, _ = built
    did = json.loads((out / ".well-known/did.json").read_text())
    assert did["id"] == "did:web:verify.sample.test"
    assert [m["type"] for m in did["verificationMethod"]] == ["Multikey"]
    assert did["assertionMethod"] == [did["verificationMethod"][0]["id"]]
    assertion = json.loads((out / "credentials" / VALID / "assertion.json").read_text())
    badge = out / assertion["badge"].removeprefix(BASE)
    issuer = out / json.loads(badge.read_text())["issuer"].removeprefix(BASE)
    assert json.loads(issuer.read_text())["type"] == "Issuer"
    image = out / json.loads(badge.read_text())["image"].removeprefix(BASE)
    assert image.read_bytes().startswith(b"<svg")


@pytest.mark.slow
def test_the_built_assertions_pass_the_open_badges_2_validator(tmp_path, gpg_key):
    site = tmp_path / "site"
    shutil.copytree(SAMPLE_SITE, site)
    root = tmp_path / "www"
    root.mkdir()
    with serve_folder(root) as (base, _):
        built = sitegen_subprocess("build", "--site", site, "--base-url", base, "--out", root, env=env_with(gpg_key))
        assert built.code == 0, built.err
        write_context(root)
        jobs = [{"input": f"{base}credentials/{uuid}/assertion.json"} for uuid in (VALID, PROGRAM, REVOKED)]
        answer = run_validator(base, jobs)
    assert answer["refused"] == []
    valid, program, revoked = (result["report"] for result in answer["results"])
    assert (valid["valid"], valid["errorCount"], valid["messages"]) == (True, 0, [])
    assert (program["valid"], program["errorCount"]) == (True, 0)
    # The validator does not check `revoked` on hosted assertions (openbadges-validator-core#236):
    # what it read says so, for the consumers that do.
    graph = answer["results"][2]["graph"]
    assert any(node.get("revoked") is True for node in graph)
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", base)


def test_keys_init_makes_both_keys_and_export_shows_the_issuer(tmp_path):
    from gpgkeys import stop_agent
    from siteyml import write_site

    project = write_site(tmp_path / "project")
    home = tmp_path / "operator-gnupg"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SITEGEN_")} | {"SITEGEN_GNUPGHOME": str(home)}
    try:
        init = sitegen_subprocess("keys", "init", "--site", project, "--email", "verify@minimal.test", env=env)
        assert init.code == 0, init.err
        fingerprint = re.search(r"Created signing key ([0-9A-F]{40})", init.out)[1]
        vc_file = home / "sitegen-vc-ed25519.key"
        assert f"Created the Ed25519 key of the verifiable credentials in {vc_file}" in init.out
        assert oct(vc_file.stat().st_mode & 0o777) == "0o600"
        shown = sitegen_subprocess("keys", "export", "--site", project, env=env | {"SITEGEN_SIGNING_KEY": fingerprint})
        assert shown.code == 0, shown.err
        assert re.search(r"issuer did:web:verify\.minimal\.test, Ed25519 key z6Mk[1-9A-HJ-NP-Za-km-z]{44}\n", shown.out)
        assert "PRIVATE" not in shown.out and vc_file.read_text().strip() not in shown.out
    finally:
        stop_agent(home)


def test_a_site_without_a_contact_email_is_told_what_open_badges_need(tmp_path):
    site = tmp_path / "site"
    shutil.copytree(SAMPLE_SITE, site)
    site_yml = site / "site.yml"
    site_yml.write_text(re.sub(r"(?m)^contact_email: .*\n", "", site_yml.read_text(encoding="utf-8")),
                        encoding="utf-8")
    built = sitegen_subprocess("build", "--site", site, "--pages-only", "--out", tmp_path / "out")
    assert built.code != 0 and not (tmp_path / "out").exists()
    assert "error: site.yml: contact_email: is required: every credential is also an Open Badges 2.0 " \
           "assertion, whose issuer must give an email address" in built.err


def test_a_new_award_rebuilds_only_itself_even_when_it_sorts_first(tmp_path):
    """Indexes go to new credentials in issue-date order; one issued before all others must
    not move another's index, or every later credential would be rebuilt (here: a preview,
    whose indexes are never written down)."""
    site = tmp_path / "site"
    shutil.copytree(SAMPLE_SITE, site)
    out = tmp_path / "out"
    assert sitegen_subprocess("build", "--site", site, "--pages-only", "--out", out).code == 0
    csv = site / "credentials_data/awards.csv"
    row = csv.read_text(encoding="utf-8").splitlines()[1].split(",")
    new = "1" * 32
    row[0], row[1], row[7] = new, "early", "2020-01-02"
    assert row[7] == "2020-01-02" and "issued" == csv.read_text(encoding="utf-8").splitlines()[0].split(",")[7]
    csv.write_text(csv.read_text(encoding="utf-8") + ",".join(row) + "\n", encoding="utf-8")
    again = sitegen_subprocess("build", "--site", site, "--pages-only", "--out", out, "--json")
    assert again.code == 0, again.err
    report = json.loads(again.out)
    assert {u: c["state"] for u, c in report["credentials"].items() if c["state"] == "generated"} == {
        new: "generated"}
