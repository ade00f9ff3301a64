"""`sitegen verify`: real signatures on small published trees, read locally and over HTTP."""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import hashlib
import io
import json
import threading
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from gpgkeys import gpg, gpg_key, make_key, new_home, no_signing_env, stop_agent  # noqa: F401
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject

from sitegen.errors import SitegenError
from sitegen.model import Course, Credential, Organization, PublishSettings, Site, SigningSettings
from sitegen.render.view import present
from sitegen.sign.gpg import GpgSigner, Signer
from sitegen.sign.statement import statement_text
from sitegen.verify import parse_credential_url, pdf_claim, verify, verify_command

pytestmark = pytest.mark.usefixtures("no_signing_env")

ADA = "0123456789abcdef0123456789abcdef"
GRACE = "fedcba9876543210fedcba9876543210"
BUILT = dt.date(2024, 6, 1)


def make_site(root: Path, base_url: str) -> Site:
    return Site(
        root=root, name="Example Verify", base_url=base_url, platform_name="Example",
        theme="default", language="en",
        organizations={"exu": Organization("exu", "Example University", "ExU")},
        courses={"cs101": Course("cs101", "Computing 101", "exu")},
        programs={}, signatories={}, signing=SigningSettings(), publish=PublishSettings(),
    )


def make_credential(uuid: str, name: str, **changes) -> Credential:
    fields = dict(uuid=uuid, username=name.split()[0].lower(), full_name=name,
                  credential_type="course-certificate", status="awarded",
                  issued=dt.date(2024, 5, 1), course_id="cs101", certificate_type="verified")
    return Credential(**{**fields, **changes})


def make_pdf(name: str, metadata: dict[str, str]) -> bytes:
    """A one-page PDF with the name in an uncompressed content stream, and metadata."""
    writer = PdfWriter()
    page = writer.add_blank_page(width=595, height=842)
    content = DecodedStreamObject()
    content.set_data(f"BT /F1 24 Tf 72 700 Td ({name}) Tj ET".encode("latin-1"))
    page.replace_contents(content)
    writer.add_metadata(metadata)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def credential_metadata(base_url: str, uuid: str) -> dict[str, str]:
    url = f"{base_url}credentials/{uuid}/"
    return {"/Title": "Certificate", "/Subject": url, "/CredentialURL": url, "/CredentialID": uuid}


@dataclass
class Tree:
    """A published site, as the build writes it (only what verify reads)."""

    build: Path
    site: Site
    signer: Signer
    today: dt.date = BUILT

    def publish(self, credential: Credential, pdf: bytes | None) -> None:
        folder = self.build / "credentials" / credential.uuid
        folder.mkdir(parents=True, exist_ok=True)
        sha256 = None
        if pdf is not None:
            sha256 = hashlib.sha256(pdf).hexdigest()
            (folder / "certificate.pdf").write_bytes(pdf)
            (folder / "certificate.pdf.sig").write_text(self.signer.sign_detached(pdf, credential.issued))
            hashes = self.build / "api" / "v1" / "pdf-sha256"
            hashes.mkdir(parents=True, exist_ok=True)
            (hashes / sha256).write_text(json.dumps({"uuid": credential.uuid}))
        else:
            for gone in ("certificate.pdf", "certificate.pdf.sig"):
                (folder / gone).unlink(missing_ok=True)
        view = present(credential, self.site, self.today)
        text = statement_text(view, self.site, sha256, self.signer.fingerprint,
                              lambda path: self.site.base_url + path)
        (folder / "statement.txt.asc").write_text(self.signer.clearsign(text, credential.issued))
        (self.build / "keys").mkdir(exist_ok=True)
        (self.build / "keys" / "signing-key.asc").write_text(self.signer.public_key_armored())

    def issue(self, uuid: str, name: str, metadata: bool = True, **changes) -> Path:
        """Publish a credential with its PDF; the learner's copy of the PDF."""
        pdf = make_pdf(name, credential_metadata(self.site.base_url, uuid) if metadata else {})
        self.publish(make_credential(uuid, name, **changes), pdf)
        copy = self.build.parent / f"{uuid}-{len(list(self.build.parent.glob('*.pdf')))}.pdf"
        copy.write_bytes(pdf)
        return copy


@pytest.fixture(scope="module")
def signer(gpg_key, tmp_path_factory) -> Signer:
    return GpgSigner.open(gpg_key.settings, tmp_path_factory.mktemp("project"))


@pytest.fixture
def tree(tmp_path, signer) -> Tree:
    return Tree(tmp_path / "build", make_site(tmp_path, "https://verify.example.org/"), signer)


def check(tree: Tree, target, **options):
    return verify(target, build_dir=tree.build, today=options.pop("today", BUILT), **options)


# --- genuine, and not ------------------------------------------------------------------------


def test_a_genuine_pdf_is_valid(tree):
    pdf = tree.issue(ADA, "Ada Lovelace")
    result = check(tree, pdf)
    assert (result.verdict, result.exit_code) == ("valid", 0)
    assert result.recipient == "Ada Lovelace"
    assert result.title == "Computing 101 (Course certificate, Verified Certificate)"
    assert result.issuer == "Example University"
    assert result.issued == dt.date(2024, 5, 1)
    assert result.fingerprint == tree.signer.fingerprint
    assert result.report.startswith("GENUINE and VALID")
    assert "Ada Lovelace" in result.report


def flip(data: bytes, where: str | int) -> bytes:
    at = data.index(where.encode()) if isinstance(where, str) else where % len(data)
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]


@pytest.mark.parametrize("where", [
    "Ada Lovelace",  # the printed name
    "/CredentialURL",  # the metadata
    "endstream",
    0,  # the header
    -2,  # inside %%EOF
])
def test_one_changed_byte_is_not_genuine(tree, where):
    pdf = tree.issue(ADA, "Ada Lovelace")
    pdf.write_bytes(flip(pdf.read_bytes(), where))
    result = check(tree, pdf)
    assert (result.verdict, result.exit_code) == ("invalid", 1)
    assert result.report.startswith("NOT GENUINE")


def test_a_forged_pdf_citing_a_real_credential_is_not_genuine(tree, tmp_path):
    tree.issue(ADA, "Ada Lovelace")
    forged = tmp_path / "forged.pdf"
    forged.write_bytes(make_pdf("Mallory", credential_metadata(tree.site.base_url, ADA)))
    assert check(tree, forged).verdict == "invalid"


def test_a_pdf_without_metadata_is_found_by_its_sha256(tree):
    pdf = tree.issue(GRACE, "Grace Hopper", metadata=False)
    assert pdf_claim(pdf.read_bytes()) == (None, None)
    result = check(tree, pdf)
    assert (result.verdict, result.uuid, result.recipient) == ("valid", GRACE, "Grace Hopper")


def test_without_its_signature_file_a_pdf_is_judged_by_the_statement_sha256(tree, tmp_path):
    pdf = tree.issue(ADA, "Ada Lovelace")
    (tree.build / "credentials" / ADA / "certificate.pdf.sig").unlink()
    assert check(tree, pdf).verdict == "valid"
    forged = tmp_path / "forged.pdf"
    forged.write_bytes(make_pdf("Mallory", credential_metadata(tree.site.base_url, ADA)))
    assert check(tree, forged).verdict == "invalid"


def test_a_pdf_the_site_never_published_is_not_genuine(tree, tmp_path):
    tree.issue(ADA, "Ada Lovelace")
    stranger = tmp_path / "stranger.pdf"
    stranger.write_bytes(make_pdf("Someone", {}))
    assert check(tree, stranger).verdict == "invalid"


# --- status ---------------------------------------------------------------------------------------


def test_a_revoked_credential_is_reported_revoked(tree):
    pdf = tree.issue(ADA, "Ada Lovelace")
    revoked = make_credential(ADA, "Ada Lovelace", status="revoked", revocation_reason="Academic misconduct")
    tree.publish(revoked, None)  # the rebuild removes the PDF and its signature
    for target in (pdf, f"https://verify.example.org/credentials/{ADA}/"):
        result = check(tree, target)
        assert (result.verdict, result.exit_code) == ("revoked", 1)
        assert result.revocation_reason == "Academic misconduct"
        assert "Academic misconduct" in result.report


def test_an_expired_credential_is_reported_expired(tree):
    pdf = tree.issue(ADA, "Ada Lovelace", expires=dt.date(2025, 1, 1))
    assert check(tree, pdf, today=dt.date(2024, 12, 31)).verdict == "valid"
    result = check(tree, pdf, today=dt.date(2025, 1, 2))
    assert (result.verdict, result.exit_code, result.expires) == ("expired", 1, dt.date(2025, 1, 1))


def test_an_unknown_credential_is_unknown(tree):
    tree.issue(ADA, "Ada Lovelace")
    result = check(tree, f"https://verify.example.org/credentials/{GRACE}")
    assert (result.verdict, result.exit_code) == ("unknown", 1)


# --- the site's evidence must hold together -----------------------------------------------------


def test_an_edited_statement_is_not_genuine(tree):
    pdf = tree.issue(ADA, "Ada Lovelace")
    tree.publish(make_credential(ADA, "Ada Lovelace", status="revoked", revocation_reason="fraud"), None)
    statement = tree.build / "credentials" / ADA / "statement.txt.asc"
    statement.write_text(statement.read_text().replace("Status: revoked", "Status: valid"))
    assert check(tree, pdf).verdict == "invalid"


def test_the_statement_of_another_credential_does_not_count(tree):
    tree.issue(ADA, "Ada Lovelace")
    tree.issue(GRACE, "Grace Hopper")
    ada, grace = (tree.build / "credentials" / uuid / "statement.txt.asc" for uuid in (ADA, GRACE))
    grace.write_bytes(ada.read_bytes())
    result = check(tree, f"https://verify.example.org/credentials/{GRACE}/")
    assert result.verdict == "invalid" and "another credential" in result.reason


def test_signatures_must_be_made_with_the_key_the_site_publishes(tree, tmp_path):
    pdf = tree.issue(ADA, "Ada Lovelace")
    other_home = new_home(tmp_path / "other")
    try:
        other = make_key(other_home, "someone else <else@example.org>")
        exported = gpg(other_home, "--armor", "--export", other).stdout
    finally:
        stop_agent(other_home)
    (tree.build / "keys" / "signing-key.asc").write_bytes(exported)
    result = check(tree, pdf)
    assert result.verdict == "invalid" and "not made with the key the site publishes" in result.reason


def test_a_signature_file_must_hold_a_detached_signature(tree):
    pdf = tree.issue(ADA, "Ada Lovelace")
    folder = tree.build / "credentials" / ADA
    (folder / "certificate.pdf.sig").write_bytes((folder / "statement.txt.asc").read_bytes())
    assert check(tree, pdf).verdict == "invalid"


def test_the_statement_must_name_the_key_that_signed_it(tree):
    tree.issue(ADA, "Ada Lovelace")
    view = present(make_credential(ADA, "Ada Lovelace"), tree.site, BUILT)
    text = statement_text(view, tree.site, None, "A" * 40, lambda path: tree.site.base_url + path)
    statement = tree.build / "credentials" / ADA / "statement.txt.asc"
    statement.write_text(tree.signer.clearsign(text, view.issued))
    result = check(tree, f"https://verify.example.org/credentials/{ADA}/")
    assert result.verdict == "invalid" and "another signing key" in result.reason


def test_a_development_key_is_pointed_out(tmp_path):
    import tempfile

    # gpg-agent's socket lives in the home; under pytest-xdist tmp_path is too long for a socket path.
    project = Path(tempfile.mkdtemp(prefix="sg-"))
    try:
        dev_signer = GpgSigner.open(SigningSettings(), project)
        tree = Tree(tmp_path / "build", make_site(project, "https://verify.example.org/"), dev_signer)
        result = check(tree, tree.issue(ADA, "Ada Lovelace"))
    finally:
        stop_agent(project / ".dev-gnupg")
    assert result.verdict == "valid" and result.development_key
    assert "development key" in result.report


def test_a_site_without_a_key_cannot_vouch(tree):
    pdf = tree.issue(ADA, "Ada Lovelace")
    (tree.build / "keys" / "signing-key.asc").unlink()
    assert check(tree, pdf).verdict == "unknown"


# --- what a document says about itself is checked before use -------------------------------------


@pytest.mark.parametrize("url, expected", [
    (f"https://verify.example.org/credentials/{ADA}/", ("https://verify.example.org/", ADA)),
    (f"https://verify.example.org/credentials/{ADA}", ("https://verify.example.org/", ADA)),
    (f"https://cdn.example.org/certs/credentials/{ADA}/index.html",
     ("https://cdn.example.org/certs/", ADA)),
    (f"https://verify.example.org/credentials/{ADA.upper()}/", None),
    ("https://verify.example.org/credentials/0123-4567/", None),
    ("https://verify.example.org/credentials/../../etc/passwd", None),
    (f"https://verify.example.org@evil.example/credentials/{ADA}/", None),
    (f"file:///credentials/{ADA}/", None),
])
def test_credential_urls_are_parsed_strictly(url, expected):
    assert parse_credential_url(url) == expected


@pytest.mark.parametrize("metadata", [
    {"/CredentialID": "../../../../etc/passwd"},
    {"/CredentialID": ADA.upper()},
    {"/CredentialID": ADA, "/CredentialURL": f"https://verify.example.org/credentials/{GRACE}/"},
    {"/CredentialURL": "https://verify.example.org/credentials/../../keys/"},
])
def test_pdf_metadata_that_is_not_a_credential_id_is_not_used(metadata):
    assert pdf_claim(make_pdf("X", metadata))[0] is None


def test_the_subject_is_read_only_without_sitegen_metadata():
    url = f"https://verify.example.org/credentials/{ADA}/"
    hostile = f"Issued to https://evil.example/credentials/{GRACE}/; verify at {url}"
    claim = pdf_claim(make_pdf("X", {"/Subject": hostile, "/CredentialID": ADA, "/CredentialURL": url}))
    assert claim == (ADA, "https://verify.example.org/")
    assert pdf_claim(make_pdf("X", {"/Subject": f"Verify at {url}."})) == (ADA, "https://verify.example.org/")


def test_a_bad_target_is_a_one_line_error(tree, tmp_path):
    with pytest.raises(SitegenError, match="not a credential URL"):
        check(tree, "https://verify.example.org/credentials/../keys/signing-key.asc")
    with pytest.raises(SitegenError, match="no such file"):
        check(tree, tmp_path / "missing.pdf")


# --- over HTTP, as an employer runs it ----------------------------------------------------------


@pytest.fixture
def live_tree(tmp_path, signer):
    build = tmp_path / "build"
    build.mkdir()

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(build)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{server.server_address[1]}/"
    yield Tree(build, make_site(tmp_path, base_url), signer)
    server.shutdown()
    server.server_close()


def test_verify_fetches_from_the_site_the_pdf_names(live_tree):
    pdf = live_tree.issue(ADA, "Ada Lovelace")
    result = verify(pdf, today=BUILT)
    assert result.verdict == "valid"
    assert result.source == live_tree.site.base_url and result.source_named_by_document
    assert "make sure that site belongs to the issuer" in result.report


@pytest.mark.parametrize("suffix", ["/", ""])
def test_verify_a_credential_url(live_tree, suffix):
    live_tree.issue(ADA, "Ada Lovelace")
    result = verify(f"{live_tree.site.base_url}credentials/{ADA}{suffix}", today=BUILT)
    assert (result.verdict, result.recipient) == ("valid", "Ada Lovelace")


def test_verify_looks_up_a_pdf_without_metadata_on_the_given_site(live_tree):
    pdf = live_tree.issue(GRACE, "Grace Hopper", metadata=False)
    assert verify(pdf, today=BUILT).verdict == "unknown"  # it names no site
    result = verify(pdf, base_url=live_tree.site.base_url, today=BUILT)
    assert (result.verdict, result.uuid, result.source_named_by_document) == ("valid", GRACE, False)
    flipped = pdf.with_name("flipped.pdf")
    flipped.write_bytes(flip(pdf.read_bytes(), "Grace Hopper"))
    assert verify(flipped, base_url=live_tree.site.base_url, today=BUILT).verdict == "invalid"


def test_verify_command_prints_and_exits(tree, capsys):
    pdf = tree.issue(ADA, "Ada Lovelace", expires=dt.date(2000, 1, 1))
    args = argparse.Namespace(target=str(pdf), build_dir=tree.build, site_url=None, json=True)
    assert verify_command(args) == 1
    printed = json.loads(capsys.readouterr().out)
    assert (printed["verdict"], printed["expires"], printed["exit_code"]) == ("expired", "2000-01-01", 1)
    args.json = False
    assert verify_command(args) == 1
    assert capsys.readouterr().out.startswith("EXPIRED")
