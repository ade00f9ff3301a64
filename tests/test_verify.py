"""`sitegen verify`: real signatures on small published trees, read locally and over HTTP."""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import hashlib
import io
import json
import shutil
import socket
import threading
import time
import tracemalloc
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, NameObject

from gpgkeys import KEY_CREATED, gpg, gpg_key, make_key, new_home, no_signing_env, stop_agent  # noqa: F401
from sitegen.errors import SitegenError
from sitegen.model import Course, Credential, Organization, PublishSettings, SigningSettings, Site
from sitegen.render.view import present
from sitegen.sign.gpg import GpgSigner, Signer
from sitegen.sign.statement import statement_text
from sitegen.vc import CredentialIssuer, credential_json, new_key
from sitegen.vc.embedded import MAX_BYTES, EmbeddedError, embedded_credential
from sitegen.verify import parse_credential_url, pdf_claim, redirect_allowed, verify, verify_command
from test_vc import BASE, PROFILE, facts, tampered, write_site

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


def make_pdf(name: str, metadata: dict[str, str], attached: tuple[bytes, ...] = (), compress: bool = True) -> bytes:
    """A one-page PDF with the name in an uncompressed content stream, and metadata; each of
    `attached` embedded as credential.json (Flate-compressed, in the EmbeddedFiles name tree)."""
    writer = PdfWriter()
    page = writer.add_blank_page(width=595, height=842)
    content = DecodedStreamObject()
    content.set_data(f"BT /F1 24 Tf 72 700 Td ({name}) Tj ET".encode("latin-1"))
    page.replace_contents(content)
    writer.add_metadata(metadata)
    for data in attached:
        writer.add_attachment("credential.json", data)
    for spec in writer.root_object["/Names"]["/EmbeddedFiles"]["/Names"][1::2] if attached and compress else ():
        plain = spec.get_object()["/EF"]["/F"].get_object()
        spec.get_object()["/EF"][NameObject("/F")] = writer._add_object(plain.flate_encode(level=9))
        plain.set_data(b"")  # left behind, unreferenced
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

    def issue(self, uuid: str, name: str, metadata: bool = True, attached: tuple[bytes, ...] = (),
              **changes) -> Path:
        """Publish a credential with its PDF (carrying `attached` as its credential.json); the
        learner's copy of the PDF."""
        pdf = make_pdf(name, credential_metadata(self.site.base_url, uuid) if metadata else {}, attached)
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


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def folder_handler(folder: Path, redirects: dict[str, str] | None = None):
    """Serves `folder`; a path in `redirects` answers 301 to its value instead."""

    class Handler(Quiet):
        def do_GET(self):
            if redirects and self.path in redirects:
                self.send_response(301)
                self.send_header("Location", redirects[self.path])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            super().do_GET()

    return functools.partial(Handler, directory=str(folder))


def redirect_handler(target_base: str):
    """Answers every request with a redirect to the same path under `target_base`."""

    class Handler(Quiet):
        def do_GET(self):
            self.send_response(302)
            self.send_header("Location", target_base + self.path.lstrip("/"))
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


@pytest.fixture
def serve():
    """Starts real HTTP servers on 127.0.0.1, each a host of its own (its own port)."""
    servers = []

    def start(handler) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def live_site(tmp_path, serve, signer):
    """`live_site(name, signer=...)`: a Tree whose build folder is served over HTTP, with the
    base URL it is served at."""

    def make(name: str = "issuer", key: Signer | None = None, redirects: dict[str, str] | None = None) -> Tree:
        build = tmp_path / name / "build"
        build.mkdir(parents=True)
        base_url = serve(folder_handler(build, redirects))
        return Tree(build, make_site(tmp_path / name, base_url), key or signer)

    return make


@pytest.fixture
def live_tree(live_site):
    return live_site()


@pytest.fixture(scope="module")
def mallory(tmp_path_factory) -> Signer:
    """Someone else's key: a site anyone can build, claiming to be the same university."""
    home = new_home(tmp_path_factory.mktemp("mallory"))
    fingerprint = make_key(home, "Example University <certificates@example.org>",
                           extra=("--faked-system-time", KEY_CREATED))
    yield GpgSigner.open(SigningSettings(key=fingerprint, gnupghome=str(home)), tmp_path_factory.mktemp("m"))
    stop_agent(home)


def public_key_file(signer: Signer, where: Path) -> Path:
    where.write_text(signer.public_key_armored())
    return where


def test_the_site_the_pdf_names_is_consulted_but_not_trusted(live_tree):
    pdf = live_tree.issue(ADA, "Ada Lovelace")
    result = verify(pdf, today=BUILT)
    assert (result.verdict, result.exit_code, result.found) == ("unverified", 1, "valid")
    assert result.source == live_tree.site.base_url and result.source_named_by_document
    assert result.report.startswith("UNVERIFIED: the document chose its own issuer")
    assert "--site-url" in result.reason and "--fingerprint" in result.reason


@pytest.mark.parametrize("suffix", ["/", ""])
def test_verify_a_credential_url(live_tree, suffix):
    live_tree.issue(ADA, "Ada Lovelace")
    url = f"{live_tree.site.base_url}credentials/{ADA}{suffix}"
    result = verify(url, base_url=live_tree.site.base_url, today=BUILT)
    assert (result.verdict, result.recipient, result.exit_code) == ("valid", "Ada Lovelace", 0)
    assert verify(url, today=BUILT).verdict == "unverified"  # the URL came with the candidate


def test_verify_looks_up_a_pdf_without_metadata_on_the_given_site(live_tree):
    pdf = live_tree.issue(GRACE, "Grace Hopper", metadata=False)
    nothing = verify(pdf, today=BUILT)  # it names no site, and no issuer was given
    assert (nothing.verdict, nothing.exit_code) == ("unverified", 1) and "--site-url" in nothing.reason
    result = verify(pdf, base_url=live_tree.site.base_url, today=BUILT)
    assert (result.verdict, result.uuid, result.source_named_by_document) == ("valid", GRACE, False)
    flipped = pdf.with_name("flipped.pdf")
    flipped.write_bytes(flip(pdf.read_bytes(), "Grace Hopper"))
    assert verify(flipped, base_url=live_tree.site.base_url, today=BUILT).verdict == "invalid"


# --- the trust anchor is the user's, never the document's ------------------------------------------


def test_a_revoked_credentials_old_evidence_served_elsewhere_is_not_valid(live_site, signer, tmp_path):
    """Finding 1: the old PDF, signature, statement and key, copied to another host."""
    issuer, copy = live_site("issuer"), live_site("copy")
    pdf = issuer.issue(ADA, "Ada Lovelace")
    shutil.copytree(issuer.build, copy.build, dirs_exist_ok=True)  # taken while it was valid
    issuer.publish(make_credential(ADA, "Ada Lovelace", status="revoked", revocation_reason="Plagiarism"), None)
    copied_url = f"{copy.site.base_url}credentials/{ADA}/"

    unanchored = verify(copied_url, today=BUILT)
    assert unanchored.verdict != "valid" and unanchored.exit_code != 0
    for target in (copied_url, pdf):
        result = verify(target, base_url=issuer.site.base_url, today=BUILT)
        assert (result.verdict, result.exit_code, result.revocation_reason) == ("revoked", 1, "Plagiarism")
    # The issuer's key, given as a pin or a file, does not make the copy count either.
    key = public_key_file(signer, tmp_path / "issuer.asc")
    for anchor in ({"fingerprint": signer.fingerprint}, {"key_file": key}):
        result = verify(copied_url, today=BUILT, **anchor)
        assert (result.verdict, result.exit_code) == ("invalid", 1), anchor
        assert "not on the site consulted" in result.reason


def test_a_pdf_from_a_site_someone_else_built_is_not_valid(live_site, mallory, signer, tmp_path):
    """Finding 2: an "issuer" with its own key and base URL, citing a real credential ID."""
    issuer, fake = live_site("issuer"), live_site("fake", key=mallory)
    issuer.issue(ADA, "Ada Lovelace")
    forged = fake.issue(ADA, "Mallory Example")
    fresh_id = fake.issue(GRACE, "Mallory Example")

    for pdf in (forged, fresh_id):
        unanchored = verify(pdf, today=BUILT)
        assert (unanchored.verdict, unanchored.exit_code, unanchored.found) == ("unverified", 1, "valid")
    assert verify(forged, base_url=issuer.site.base_url, today=BUILT).verdict == "invalid"
    assert verify(fresh_id, base_url=issuer.site.base_url, today=BUILT).verdict == "unknown"
    pinned = verify(forged, fingerprint=signer.fingerprint, today=BUILT)
    assert (pinned.verdict, pinned.exit_code) == ("invalid", 1)
    assert f"not the pinned {signer.fingerprint}" in pinned.reason
    assert pinned.trusted_keys == (mallory.fingerprint,)  # what the fake site gave, reported
    keyed = verify(forged, key_file=public_key_file(signer, tmp_path / "issuer.asc"), today=BUILT)
    assert keyed.verdict == "invalid" and "not made with the key in" in keyed.reason
    listed = tmp_path / "issuers.yml"
    listed.write_text(f"trusted_issuers:\n  - name: Example University\n"
                      f"    site_url: {issuer.site.base_url}\n    fingerprint: {signer.fingerprint}\n")
    assert verify(forged, issuers=listed, today=BUILT).verdict == "unverified"  # not a listed site


def test_a_redirect_to_another_host_is_not_followed(live_site, serve):
    """Finding 3: host A answers with redirects to host B (another port of 127.0.0.1)."""
    elsewhere = live_site("elsewhere")
    elsewhere.issue(ADA, "Ada Lovelace")
    redirecting = serve(redirect_handler(elsewhere.site.base_url))
    for options in ({"base_url": redirecting}, {}):
        with pytest.raises(SitegenError, match="redirects to .* another host") as error:
            verify(f"{redirecting}credentials/{ADA}/", today=BUILT, **options)
        assert elsewhere.site.base_url in str(error.value) and "\n" not in str(error.value)


def test_a_redirect_on_the_same_host_is_followed(live_site):
    site = live_site("moved", redirects={"/keys/signing-key.asc": "/keys/signing-key.asc.txt"})
    site.issue(ADA, "Ada Lovelace")
    key = site.build / "keys" / "signing-key.asc"
    key.rename(key.with_name("signing-key.asc.txt"))
    assert verify(f"{site.site.base_url}credentials/{ADA}/", base_url=site.site.base_url,
                  today=BUILT).verdict == "valid"
    port = urlsplit(site.site.base_url).port
    other = live_site("other-name", redirects={"/keys/signing-key.asc": f"http://localhost:{port}/keys/x"})
    other.issue(ADA, "Ada Lovelace")
    with pytest.raises(SitegenError, match="another host"):  # localhost is not 127.0.0.1
        verify(f"{other.site.base_url}credentials/{ADA}/", base_url=other.site.base_url, today=BUILT)


@pytest.mark.parametrize("url, new_url, allowed", [
    ("https://a.example/x", "https://a.example/y/", True),
    ("https://a.example/x", "https://A.EXAMPLE:443/y", True),
    ("http://a.example/x", "https://a.example/x", True),
    ("https://a.example/x", "http://a.example/x", False),
    ("http://a.example:8080/x", "https://a.example:8443/x", False),
    ("https://a.example/x", "https://b.example/x", False),
    ("https://a.example/x", "https://a.example.evil/x", False),
    ("https://a.example/x", "https://a.example@b.example/x", False),
    ("http://127.0.0.1:8000/x", "http://127.0.0.1:8001/x", False),
    ("https://a.example/x", "file:///etc/passwd", False),
    ("https://a.example/x", "https://a.example:99999/x", False),
])
def test_redirect_policy(url, new_url, allowed):
    assert redirect_allowed(url, new_url) is allowed


@pytest.fixture
def trickling_server():
    """A server that answers one byte every `interval` seconds (giving up after 25 s)."""
    stop = threading.Event()
    listeners = []

    def start(interval: float, phase: str) -> str:
        listener = socket.create_server(("127.0.0.1", 0))
        listener.settimeout(0.1)
        listeners.append(listener)

        def trickle(conn):
            with conn:
                conn.recv(65536)
                head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 10000\r\n\r\n"
                if phase == "body":
                    conn.sendall(head)
                for byte in ((head if phase == "headers" else b"") + b"x" * 10000)[:int(25 / interval)]:
                    if stop.wait(interval):
                        return
                    try:
                        conn.sendall(bytes([byte]))
                    except OSError:
                        return

        def accept():
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except OSError:
                    continue
                threading.Thread(target=trickle, args=(conn,), daemon=True).start()

        threading.Thread(target=accept, daemon=True).start()
        return f"http://127.0.0.1:{listener.getsockname()[1]}/"

    yield start
    stop.set()
    for listener in listeners:
        listener.close()


@pytest.mark.parametrize("interval, phase", [(5, "headers"), (0.4, "headers"), (0.4, "body")])
def test_a_server_that_trickles_bytes_hits_the_deadline(trickling_server, monkeypatch, interval, phase):
    """Finding 4: one byte every few seconds must not hold verify for ever."""
    base = trickling_server(interval, phase)
    monkeypatch.setenv("SITEGEN_VERIFY_TIMEOUT", "2")
    started = time.monotonic()
    with pytest.raises(SitegenError, match="no complete answer within 2 s") as error:
        verify(f"{base}credentials/{ADA}/", base_url=base, today=BUILT)
    assert time.monotonic() - started < 8
    assert "\n" not in str(error.value) and base in str(error.value)


def test_the_deadline_is_an_option_and_one_line(trickling_server, sitegen):
    base = trickling_server(0.4, "body")
    started = time.monotonic()
    run = sitegen("verify", f"{base}credentials/{ADA}/", "--site-url", base, "--timeout", "1.5")
    assert time.monotonic() - started < 8
    assert run.code == 1 and run.out == ""
    assert run.err.count("\n") == 1 and "no complete answer within 1.5 s" in run.err


def test_the_statement_must_place_the_credential_on_the_site_consulted(live_site, tree, signer):
    """Finding 5: a genuine statement counts only on the site its Credential URL names."""
    issuer, copy = live_site("issuer"), live_site("copy")
    pdf = issuer.issue(ADA, "Ada Lovelace")
    shutil.copytree(issuer.build, copy.build, dirs_exist_ok=True)
    for target in (f"{copy.site.base_url}credentials/{ADA}/", pdf):
        result = verify(target, base_url=copy.site.base_url, today=BUILT)
        assert (result.verdict, result.exit_code) == ("invalid", 1)
        assert result.reason.startswith(f"the statement's Credential URL ({issuer.site.base_url}credentials/")
        assert "not on the site consulted" in result.reason
    # A build folder is judged by the site the user says it is.
    local = tree.issue(ADA, "Ada Lovelace")  # built for https://verify.example.org/
    for base_url, verdict in [("https://verify.example.org/", "valid"),
                              ("https://verify.example.org", "valid"),
                              ("https://verify.example.org/tenant/", "invalid"),
                              ("http://verify.example.org/", "invalid"),
                              ("https://verify.example.org:8443/", "invalid"),
                              ("https://other.example.org/", "invalid")]:
        assert check(tree, local, base_url=base_url).verdict == verdict, base_url


def test_the_report_names_the_key_and_the_site_that_answered(live_tree, signer, capsys):
    """Finding 6."""
    pdf = live_tree.issue(ADA, "Ada Lovelace")
    base = live_tree.site.base_url
    result = verify(pdf, base_url=base, today=BUILT)
    assert (result.verdict, result.fingerprint, result.source) == ("valid", signer.fingerprint, base)
    assert result.trusted_keys == (signer.fingerprint,)
    assert result.key_source == f"{base}keys/signing-key.asc"
    assert f"Signing key:         {signer.fingerprint} (from {base}keys/signing-key.asc)" in result.report
    assert f"Checked against:     {base}\n" in result.report
    assert "Trusted because:     --site-url: the issuer's site, as you named it" in result.report
    args = argparse.Namespace(target=str(pdf), build_dir=None, site_url=base, key=None,
                              fingerprint=signer.fingerprint, issuers=None, timeout=None, json=True)
    assert verify_command(args) == 0
    printed = json.loads(capsys.readouterr().out)
    assert (printed["fingerprint"], printed["source"], printed["trusted_keys"]) == (
        signer.fingerprint, base, [signer.fingerprint])
    assert f"--fingerprint {signer.fingerprint}" in printed["trust"]
    # A failure names them too: which key the evidence was checked with, and where.
    pdf.write_bytes(flip(pdf.read_bytes(), "Ada Lovelace"))
    bad = verify(pdf, base_url=base, today=BUILT)
    assert bad.verdict == "invalid" and bad.trusted_keys == (signer.fingerprint,) and bad.source == base
    assert f"{base}keys/signing-key.asc" in bad.report


# --- other anchors: a key file, a pinned fingerprint, an issuer list ------------------------------


def test_a_key_file_or_a_pinned_fingerprint_is_an_anchor(live_tree, signer, tmp_path):
    pdf = live_tree.issue(ADA, "Ada Lovelace")
    key = public_key_file(signer, tmp_path / "issuer.asc")
    spaced = " ".join(signer.fingerprint[i:i + 4] for i in range(0, 40, 4)).lower()
    for anchor in ({"key_file": key}, {"fingerprint": spaced}, {"key_file": key, "fingerprint": signer.fingerprint},
                   {"base_url": live_tree.site.base_url, "fingerprint": signer.fingerprint}):
        result = verify(pdf, today=BUILT, **anchor)
        assert (result.verdict, result.exit_code, result.trusted_keys) == ("valid", 0, (signer.fingerprint,)), anchor
    keyed = verify(pdf, key_file=key, today=BUILT)
    assert keyed.key_source == str(key) and f"--key {key}" in keyed.trust
    wrong = verify(pdf, base_url=live_tree.site.base_url, fingerprint="A" * 40, today=BUILT)
    assert (wrong.verdict, wrong.exit_code) == ("invalid", 1) and "not the pinned" in wrong.reason


def test_a_pinned_key_holds_for_a_local_build_too(tree, mallory):
    pdf = tree.issue(ADA, "Ada Lovelace")
    assert check(tree, pdf, fingerprint=tree.signer.fingerprint).verdict == "valid"
    assert check(tree, pdf, fingerprint=mallory.fingerprint).verdict == "invalid"


def test_a_key_file_must_be_a_public_key(tree, tmp_path, gpg_key):
    pdf = tree.issue(ADA, "Ada Lovelace")
    secret = tmp_path / "secret.asc"
    secret.write_bytes(gpg(gpg_key.home, "--armor", "--export-secret-keys", gpg_key.fingerprint).stdout)
    with pytest.raises(SitegenError, match="a private key"):
        check(tree, pdf, key_file=secret)
    with pytest.raises(SitegenError, match="not an ASCII-armoured public key"):
        check(tree, pdf, key_file=pdf)
    with pytest.raises(SitegenError, match="is not a key fingerprint"):
        check(tree, pdf, fingerprint="ABCD")


def test_an_issuer_list_names_sites_and_their_keys(live_site, signer, mallory, tmp_path):
    issuer, other = live_site("issuer"), live_site("other", key=mallory)
    pdf = issuer.issue(ADA, "Ada Lovelace")
    listed = tmp_path / "issuers.json"
    listed.write_text(json.dumps([
        {"name": "Example University", "site_url": issuer.site.base_url, "fingerprint": signer.fingerprint},
        {"name": "Other College", "site_url": other.site.base_url, "fingerprint": signer.fingerprint},
    ]))
    result = verify(pdf, issuers=listed, today=BUILT)
    assert (result.verdict, result.exit_code, result.source) == ("valid", 0, issuer.site.base_url)
    assert "Example University" in result.trust
    # The list pins the key: a listed site that publishes another key is not that issuer.
    other_pdf = other.issue(GRACE, "Grace Hopper")
    assert verify(other_pdf, issuers=listed, today=BUILT).verdict == "invalid"


@pytest.mark.parametrize("text, message", [
    ("[]", "expected a list of issuers"),
    ("- site_url: https://a.example/\n", "fingerprint is required"),
    ("- site_url: ftp://a.example/\n  fingerprint: " + "A" * 40 + "\n", "is not an http"),
    ("- site_url: https://a.example/\n  fingerprint: nope\n", "is not a key fingerprint"),
    ("- site_url: https://a.example/\n  fingerprint: " + "A" * 40 + "\n  url: x\n", "unknown field 'url'"),
    ("- [unclosed\n", "invalid YAML"),
])
def test_a_bad_issuer_list_is_a_one_line_error(tree, tmp_path, text, message):
    listed = tmp_path / "issuers.yml"
    listed.write_text(text)
    with pytest.raises(SitegenError, match=message) as error:
        verify(tree.issue(ADA, "Ada Lovelace"), issuers=listed)
    assert str(error.value).startswith(str(listed)) and "\n" not in str(error.value)


def test_verify_command_prints_and_exits(tree, capsys):
    pdf = tree.issue(ADA, "Ada Lovelace", expires=dt.date(2000, 1, 1))
    args = argparse.Namespace(target=str(pdf), build_dir=tree.build, site_url=None, json=True)
    assert verify_command(args) == 1
    printed = json.loads(capsys.readouterr().out)
    assert (printed["verdict"], printed["expires"], printed["exit_code"]) == ("expired", "2000-01-01", 1)
    args.json = False
    assert verify_command(args) == 1
    assert capsys.readouterr().out.startswith("EXPIRED")


def test_the_command_line_names_the_option_to_pass(live_tree, sitegen):
    pdf = live_tree.issue(ADA, "Ada Lovelace")
    unanchored = sitegen("verify", pdf)
    assert unanchored.code == 1 and unanchored.out.startswith("UNVERIFIED: the document chose its own issuer")
    assert "--site-url URL" in unanchored.out and "What that site says: GENUINE and VALID" in unanchored.out
    anchored = sitegen("verify", pdf, "--site-url", live_tree.site.base_url, "--json")
    assert anchored.code == 0 and json.loads(anchored.out)["verdict"] == "valid"


# --- the verifiable credential a PDF carries ----------------------------------------------------------


@pytest.fixture
def signed_credentials(tree) -> dict[str, bytes]:
    """The tree's site as a signed build also publishes it: a DID document, a status list
    (GRACE's bit set), and the credential.json of ADA and GRACE; and what a forger makes."""
    key = new_key()
    issuer = CredentialIssuer(PROFILE, key)
    documents = {uuid: issuer.issue(facts(index, name, credential_url=f"{BASE}credentials/{uuid}/credential.json",
                                          page_url=f"{BASE}credentials/{uuid}/", issued=dt.date(2024, 5, 1)))
                 for index, (uuid, name) in enumerate(((ADA, "Ada Lovelace"), (GRACE, "Grace Hopper")), 1)}
    site = write_site(tree.build, key, [], documents, revoked=[2])
    credentials = {uuid: site.read(uuid) for uuid in documents}
    credentials["forged"] = credential_json(tampered(documents[ADA]))
    return credentials


def test_a_pdf_carrying_its_credential_is_checked_with_it(tree, signed_credentials):
    pdf = tree.issue(ADA, "Ada Lovelace", attached=(signed_credentials[ADA],))
    result = check(tree, pdf)
    assert (result.verdict, result.embedded_credential.verdict) == ("valid", "valid")
    assert result.embedded_credential.credential_url == f"{BASE}credentials/{ADA}/credential.json"
    assert "  Embedded credential: verified: signed by its issuer, not revoked, within its dates" in result.report
    assert result.as_json()["embedded_credential"]["verdict"] == "valid"
    assert check(tree, tree.issue(GRACE, "Grace Hopper")).as_json()["embedded_credential"] is None


def test_a_pdf_carrying_a_changed_credential_is_not_genuine_though_the_site_signed_it(tree, signed_credentials):
    """A forged credential.json in a PDF whose own signature and statement are good."""
    pdf = tree.issue(ADA, "Ada Lovelace", attached=(signed_credentials["forged"],))
    result = check(tree, pdf)
    assert (result.verdict, result.exit_code, result.embedded_credential.verdict) == ("invalid", 1, "invalid")
    assert result.reason.startswith("the credential.json it carries is not genuine: the signature does not match")
    assert "  Embedded credential: NOT GENUINE: the signature does not match" in result.report


@pytest.mark.parametrize("attached, verdict, reason", [
    ((GRACE,), "invalid", f"it is {BASE}credentials/{GRACE}/credential.json, not the credential the PDF is"),
    ((ADA, GRACE), "invalid", "the PDF carries 2 different credential.json files"),
    ((b"\0" * (MAX_BYTES + 1),), "invalid", "the PDF's credential.json is larger than 256 KB"),
    ((b"not json",), "invalid", "not an Open Badges 3.0 credential"),
])
def test_a_pdf_carrying_another_or_a_bad_credential_is_not_genuine(tree, signed_credentials, attached, verdict, reason):
    pdf = tree.issue(ADA, "Ada Lovelace", attached=tuple(signed_credentials.get(a, a) for a in attached))
    result = check(tree, pdf)
    assert (result.verdict, result.embedded_credential.verdict) == (verdict, "invalid")
    assert reason in result.embedded_credential.reason and reason in result.reason


def test_a_pdf_whose_credential_is_revoked_in_the_status_list_is_revoked(tree, signed_credentials):
    pdf = tree.issue(GRACE, "Grace Hopper", attached=(signed_credentials[GRACE],))
    result = check(tree, pdf)  # the statement says valid: the signed status list says revoked
    assert (result.verdict, result.embedded_credential.verdict) == ("revoked", "revoked")
    assert result.reason == "the credential.json it carries is revoked: the issuer has revoked this credential"


def test_an_embedded_credential_is_read_within_bounds():
    bomb = make_pdf("Ada", {}, (b"\0" * (64 * 1024 * 1024),))  # 64 MB inflated, 64 KB in the file
    assert len(bomb) < 256 * 1024
    tracemalloc.start()
    try:
        with pytest.raises(EmbeddedError, match="larger than 256 KB"):
            embedded_credential(bomb)
        assert tracemalloc.get_traced_memory()[1] < 16 * 1024 * 1024  # never inflated whole
    finally:
        tracemalloc.stop()
    assert embedded_credential(make_pdf("Ada", {}, (b'{"a": 1}',), compress=False)) == b'{"a": 1}'
    assert embedded_credential(make_pdf("Ada", {})) is None
    assert embedded_credential(b"%PDF-1.7\nnot really") is None
