"""Signing, keys and the statement, with the real gpg and throw-away keys."""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from pathlib import Path

import pytest

from gpgkeys import gpg, gpg_key, make_key, new_home, no_signing_env, stop_agent  # noqa: F401
from sitegen.errors import SitegenError
from sitegen.load.config import load_site
from sitegen.model import Course, Credential, Organization, PublishSettings, SigningSettings, Site
from sitegen.render.view import present
from sitegen.sign import gpg as signing
from sitegen.sign.gpg import GpgSigner, Signer, locate_key
from sitegen.sign.keys import export_key, init_key
from sitegen.sign.statement import FIELDS, clean_value, parse_statement, statement_text
from siteyml import write_site

pytestmark = pytest.mark.usefixtures("no_signing_env")

ISSUED = dt.date(2024, 5, 1)


@pytest.fixture(scope="module")
def signer(gpg_key, tmp_path_factory) -> Signer:
    return GpgSigner.open(gpg_key.settings, tmp_path_factory.mktemp("project"))


@pytest.fixture
def fresh_home(tmp_path):
    """An employer's empty GnuPG home."""
    home = new_home(tmp_path / "employer")
    yield home
    stop_agent(home)


def signature_time(home, signature: str, data: bytes, tmp_path) -> int:
    """The creation time gpg reads from a detached signature."""
    (tmp_path / "x.sig").write_text(signature)
    (tmp_path / "x").write_bytes(data)
    done = gpg(home, "--status-fd", "1", "--verify", str(tmp_path / "x.sig"), str(tmp_path / "x"))
    validsig = re.search(rb"VALIDSIG \S+ \S+ (\d+)", done.stdout)
    assert validsig, done.stderr.decode()
    return int(validsig[1])


# --- detached signatures, as an employer checks them ---------------------------------------


def test_detached_signature_checks_with_nothing_but_gpg(signer, fresh_home, tmp_path):
    pdf = b"%PDF-1.7 pretend certificate\n" * 100
    (tmp_path / "certificate.pdf").write_bytes(pdf)
    (tmp_path / "certificate.pdf.sig").write_text(signer.sign_detached(pdf, ISSUED))
    (tmp_path / "signing-key.asc").write_text(signer.public_key_armored())

    assert gpg(fresh_home, "--import", str(tmp_path / "signing-key.asc")).returncode == 0
    good = gpg(fresh_home, "--verify", str(tmp_path / "certificate.pdf.sig"), str(tmp_path / "certificate.pdf"))
    assert good.returncode == 0
    assert b"Good signature" in good.stderr

    (tmp_path / "certificate.pdf").write_bytes(pdf[:500] + b"X" + pdf[501:])
    bad = gpg(fresh_home, "--verify", str(tmp_path / "certificate.pdf.sig"), str(tmp_path / "certificate.pdf"))
    assert bad.returncode != 0
    assert b"BAD signature" in bad.stderr


def test_public_key_export_is_public_only(signer, fresh_home, tmp_path):
    armored = signer.public_key_armored()
    assert armored.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
    (tmp_path / "key.asc").write_text(armored)
    packets = gpg(fresh_home, "--list-packets", str(tmp_path / "key.asc")).stdout
    assert b":public key packet:" in packets
    assert b"secret" not in packets


# --- reproducible signatures -----------------------------------------------------------------


def test_same_bytes_same_time_give_identical_signatures(signer):
    data = b"the same certificate"
    # EdDSA has no random nonce; the time comes from signed_at (tested below), not the clock
    assert signer.sign_detached(data, ISSUED) == signer.sign_detached(data, ISSUED)
    assert signer.clearsign("Status: valid\n", ISSUED) == signer.clearsign("Status: valid\n", ISSUED)


@pytest.mark.parametrize("signed_at, expected", [
    (dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC), "2024-05-01T12:00:00+00:00"),
    (dt.datetime(2024, 5, 1, 14, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))), "2024-05-01T12:00:00+00:00"),
    (dt.datetime(2024, 5, 1, 12, 0), "2024-05-01T12:00:00+00:00"),  # naive means UTC
    (dt.date(2024, 5, 1), "2024-05-01T00:00:00+00:00"),
    (dt.date(2001, 1, 1), "2020-01-01T00:00:00+00:00"),  # clamped: the key was made in 2020
])
def test_signature_is_made_at_the_requested_time(signed_at, expected, signer, gpg_key, tmp_path):
    data = b"certificate"
    made = signature_time(gpg_key.home, signer.sign_detached(data, signed_at), data, tmp_path)
    assert dt.datetime.fromtimestamp(made, dt.UTC).isoformat() == expected


def test_armour_has_no_version_or_comment_even_if_gpg_conf_asks(tmp_path):
    home = new_home(tmp_path / "chatty")
    (home / "gpg.conf").write_text("emit-version\ncomment Hello from gpg.conf\n")
    try:
        fingerprint = make_key(home)
        chatty = GpgSigner.open(SigningSettings(key=fingerprint, gnupghome=str(home)), tmp_path)
        for armored in (chatty.sign_detached(b"x", ISSUED), chatty.clearsign("x\n", ISSUED),
                        chatty.public_key_armored()):
            assert "Version:" not in armored
            assert "Comment:" not in armored
    finally:
        stop_agent(home)


# --- clear signatures ---------------------------------------------------------------------------


def test_clearsign_round_trip(signer, fresh_home, tmp_path):
    text = "Recipient: Zoë Ångström 山田太郎 محمد\n- a line starting with a dash\nStatus: valid\n"
    (tmp_path / "key.asc").write_text(signer.public_key_armored())
    gpg(fresh_home, "--import", str(tmp_path / "key.asc"))
    signed = signer.clearsign(text, ISSUED)
    assert "\n- - a line starting with a dash\n" in signed  # gpg dash-escaped it
    out = gpg(fresh_home, "--decrypt", input=signed.encode("utf-8"))
    assert out.returncode == 0
    assert b"Good signature" in out.stderr
    assert out.stdout.decode("utf-8") == text


# --- where the key comes from ---------------------------------------------------------------


def test_environment_overrides_site_yml(tmp_path):
    write_site(tmp_path, f'signing:\n  key: "{"a" * 40}"\n  gnupghome: ~/from-site-yml\n')
    environ = {"SITEGEN_GNUPGHOME": str(tmp_path / "ci-home"), "SITEGEN_SIGNING_KEY": "b" * 40}
    where = locate_key(load_site(tmp_path, environ=environ).signing, tmp_path)
    assert (where.home, where.fingerprint) == (tmp_path / "ci-home", "B" * 40)
    assert (where.home_source, where.fingerprint_source) == ("SITEGEN_GNUPGHOME", "SITEGEN_SIGNING_KEY")
    where = locate_key(load_site(tmp_path, environ={}).signing, tmp_path)
    assert where.home.parts[-1] == "from-site-yml" and "~" not in str(where.home)
    assert where.fingerprint == "A" * 40 and not where.is_development_home
    assert (where.home_source, where.fingerprint_source) == (
        "signing.gnupghome in site.yml", "signing.key in site.yml")
    where = locate_key(SigningSettings(), tmp_path)
    assert where.home == tmp_path.resolve() / ".dev-gnupg" and where.is_development_home


def test_environment_key_is_used_for_signing(gpg_key, tmp_path):
    write_site(tmp_path, f'signing:\n  key: "{"C" * 40}"\n  gnupghome: {tmp_path / "missing"}\n')
    environ = {"SITEGEN_GNUPGHOME": str(gpg_key.home),
               "SITEGEN_SIGNING_KEY": " ".join(re.findall("....", gpg_key.fingerprint.lower()))}
    site = load_site(tmp_path, environ=environ)
    assert GpgSigner.open(site.signing, tmp_path).fingerprint == gpg_key.fingerprint


def test_errors_name_the_variable_that_set_the_home(tmp_path):
    site = load_site(write_site(tmp_path), environ={"SITEGEN_GNUPGHOME": str(tmp_path / "nowhere")})
    message = one_line_error(lambda: GpgSigner.open(site.signing, tmp_path))
    assert "(from SITEGEN_GNUPGHOME) does not exist" in message


def test_a_key_that_is_not_a_fingerprint_never_reaches_gpg(tmp_path):
    # load_site refuses one with the line or variable it came from (test_config.py); settings
    # made in code are checked too.
    with pytest.raises(SitegenError, match="not a key fingerprint"):
        locate_key(SigningSettings(key="--export-secret-keys"), tmp_path)


def one_line_error(call) -> str:
    with pytest.raises(SitegenError) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_missing_key_names_fingerprint_and_home(gpg_key, tmp_path):
    settings = SigningSettings(key="D" * 40, gnupghome=str(gpg_key.home))
    message = one_line_error(lambda: GpgSigner.open(settings, tmp_path))
    assert "D" * 40 in message and str(gpg_key.home) in message and "not found" in message


def test_missing_gpg_says_which_package_to_install(gpg_key, tmp_path, monkeypatch):
    message = one_line_error(lambda: GpgSigner.open(gpg_key.settings, tmp_path, gpg_binary="gpg-absent"))
    assert "gnupg" in message
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH without gpg
    assert "install the Debian package gnupg" in one_line_error(
        lambda: GpgSigner.open(gpg_key.settings, tmp_path))


def test_home_without_a_configured_key_is_an_error(gpg_key, tmp_path):
    settings = SigningSettings(gnupghome=str(gpg_key.home))
    assert "SITEGEN_SIGNING_KEY" in one_line_error(lambda: GpgSigner.open(settings, tmp_path))


@pytest.fixture(scope="module")
def unusable_keys(gpg_key, tmp_path_factory):
    """Keys gpg knows but must not sign with: expired, revoked, public part only."""
    home = new_home(tmp_path_factory.mktemp("unusable"))
    ten_days_ago = str(int(time.time()) - 10 * 86400)
    expired = make_key(home, "expired <e@sitegen.invalid>", "ed25519", "1d",
                       ("--faked-system-time", ten_days_ago))
    certify_only = make_key(home, "certify only <c@sitegen.invalid>", usage="cert")
    revoked = make_key(home, "revoked <r@sitegen.invalid>")
    certificate = (home / "openpgp-revocs.d" / f"{revoked}.rev").read_text()
    gpg(home, "--import", input=certificate.replace(":-----BEGIN", "-----BEGIN").encode())
    public = gpg(gpg_key.home, "--export", gpg_key.fingerprint).stdout
    gpg(home, "--import", input=public)
    yield {"expired": expired, "revoked": revoked, "no secret part": gpg_key.fingerprint,
           "no usable signing key": certify_only, "home": home}
    stop_agent(home)


@pytest.mark.parametrize("problem", ["expired", "revoked", "no secret part", "no usable signing key"])
def test_unusable_key_is_a_one_line_error(unusable_keys, problem, tmp_path):
    settings = SigningSettings(key=unusable_keys[problem], gnupghome=str(unusable_keys["home"]))
    message = one_line_error(lambda: GpgSigner.open(settings, tmp_path))
    assert problem in message and unusable_keys[problem] in message


# --- the development key ------------------------------------------------------------------------


def test_development_key_is_created_once_flagged_and_warned_about(tmp_path, monkeypatch, caplog):
    dev_home = tmp_path / ".dev-gnupg"
    try:
        with caplog.at_level(logging.WARNING, logger="sitegen"):
            first = GpgSigner.open(SigningSettings(), tmp_path)
            second = GpgSigner.open(SigningSettings(), tmp_path)
        assert first.fingerprint == second.fingerprint
        assert first.is_development_key and second.is_development_key
        assert first.fingerprint in (dev_home / signing.DEV_MARKER_NAME).read_text()
        uids = gpg(dev_home, "--list-keys", "--with-colons").stdout.decode()
        assert "(NOT FOR PRODUCTION)" in uids and uids.count("\nuid:") == 1
        warnings = [r for r in caplog.records if "DEVELOPMENT key" in r.getMessage()]
        # once per opening (one per build), so that every build log says it
        assert len(warnings) == 2 and all(w.levelno == logging.WARNING for w in warnings)
        assert f"{first.fingerprint} in" not in "".join(caplog.messages).replace(str(dev_home), "")

        # publish refuses it, whether it comes implicitly or by its fingerprint
        with pytest.raises(SitegenError, match="no signing key configured"):
            GpgSigner.open(SigningSettings(), tmp_path, allow_development_key=False)
        with pytest.raises(SitegenError, match="development key"):
            GpgSigner.open(SigningSettings(key=first.fingerprint), tmp_path, allow_development_key=False)
    finally:
        stop_agent(dev_home)


def test_development_marker_alone_flags_a_key(tmp_path):
    key = {"fingerprint": "E" * 40, "uids": ["Some One <one@example.org>"]}
    assert not signing.is_development(key, tmp_path)
    (tmp_path / signing.DEV_MARKER_NAME).write_text("E" * 40 + "\n")
    assert signing.is_development(key, tmp_path)


def test_a_real_key_is_not_flagged(signer):
    assert not signer.is_development_key


# --- sitegen keys init / export -------------------------------------------------------------------


@pytest.fixture
def key_home(tmp_path):
    home = tmp_path / "operator-gnupg"
    yield home
    stop_agent(home)


def in_home(home: Path, **settings) -> SigningSettings:
    """Signing settings whose GNUPGHOME is `home` (from site.yml or SITEGEN_GNUPGHOME alike)."""
    return SigningSettings(gnupghome=str(home), **settings)


def test_keys_init_creates_and_export_shows(key_home, tmp_path):
    project = tmp_path / "project"
    fingerprint = init_key(in_home(key_home), project, name="Example Verify", email="verify@example.org")
    assert re.fullmatch("[0-9A-F]{40}", fingerprint)
    assert oct(key_home.stat().st_mode & 0o777) == "0o700"
    shown, armored = export_key(in_home(key_home, key=fingerprint), project)
    assert shown == fingerprint and "PUBLIC KEY BLOCK" in armored
    assert not (project / ".dev-gnupg").exists()


def test_keys_init_refuses_to_make_a_second_key(key_home, tmp_path):
    project = tmp_path / "project"
    fingerprint = init_key(in_home(key_home), project, name="Example", email="verify@example.org")
    with pytest.raises(SitegenError, match="already holds a key for verify@example.org"):
        init_key(in_home(key_home), project, name="Example", email="verify@example.org")
    with pytest.raises(SitegenError, match="already exists"):
        init_key(in_home(key_home, key=fingerprint), project, name="Other", email="other@example.org")


def test_keys_init_refuses_a_home_inside_the_project(tmp_path):
    site = load_site(write_site(tmp_path), environ={"SITEGEN_GNUPGHOME": str(tmp_path / "keys")})
    with pytest.raises(SitegenError, match="inside the project"):
        init_key(site.signing, tmp_path, name="Example", email="verify@example.org")
    assert not (tmp_path / "keys").exists()


def test_keys_init_rejects_an_unknown_algorithm(key_home, tmp_path):
    with pytest.raises(SitegenError, match="rsa3072"):
        init_key(in_home(key_home), tmp_path / "p", name="E", email="e@example.org", algorithm="dsa1024")


@pytest.mark.slow
def test_rsa_keys_sign_reproducibly_too(key_home, tmp_path):
    fingerprint = init_key(in_home(key_home), tmp_path / "p", name="E", email="e@example.org",
                           algorithm="rsa3072")
    rsa = GpgSigner.open(in_home(key_home, key=fingerprint), tmp_path / "p")
    assert rsa.sign_detached(b"x", ISSUED) == rsa.sign_detached(b"x", ISSUED)


# --- the statement -------------------------------------------------------------------------------


def make_site(tmp_path) -> Site:
    org = Organization("exu", "Example University", "ExU")
    return Site(
        root=tmp_path, name="Example Verify", base_url="https://verify.example.org/",
        platform_name="Example", theme="default", language="en",
        organizations={"exu": org},
        courses={"course-v1:ExU+CS101+2024": Course("course-v1:ExU+CS101+2024", "Computing 101", "exu")},
        programs={}, signatories={}, signing=SigningSettings(), publish=PublishSettings(),
    )


def make_credential(**changes) -> Credential:
    fields = dict(uuid="0123456789abcdef0123456789abcdef", username="ada", full_name="Ada Lovelace",
                  credential_type="course-certificate", status="awarded", issued=ISSUED,
                  course_id="course-v1:ExU+CS101+2024", certificate_type="verified")
    return Credential(**{**fields, **changes})


def statement_for(credential, site, pdf_sha256="ab" * 32, fingerprint="F" * 40):
    view = present(credential, site, today=dt.date(2024, 6, 1))
    return statement_text(view, site, pdf_sha256, fingerprint, lambda path: site.base_url + path)


def test_statement_has_every_field_in_order(tmp_path):
    text = statement_for(make_credential(expires=dt.date(2027, 1, 1)), make_site(tmp_path))
    labels = [line.split(": ")[0] for line in text.splitlines()[2:2 + len(FIELDS)]]
    assert labels == [label for label, _ in FIELDS]
    fields = parse_statement(text)
    assert fields == {
        "issuer": "Example University", "site": "Example Verify", "recipient": "Ada Lovelace",
        "credential": "Computing 101", "type": "Course certificate", "mode": "Verified Certificate",
        "issued": "2024-05-01", "expires": "2027-01-01", "status": "valid", "revocation_reason": "none",
        "revocation_date": "none",
        "credential_id": "0123456789abcdef0123456789abcdef",
        "credential_url": "https://verify.example.org/credentials/0123456789abcdef0123456789abcdef/",
        "pdf_sha256": "ab" * 32, "signing_key": "F" * 40,
    }
    assert "https://verify.example.org/keys/signing-key.asc" in text.replace("\n", " ")


def test_revoked_statement_says_why_and_has_no_pdf(tmp_path):
    credential = make_credential(status="revoked", revocation_reason="Academic\nmisconduct")
    fields = parse_statement(statement_for(credential, make_site(tmp_path), pdf_sha256=None))
    assert (fields["status"], fields["revocation_reason"], fields["pdf_sha256"]) == (
        "revoked", "Academic misconduct", "none: revoked")


HOSTILE_NAMES = [
    "Eve\nStatus: valid",
    "Eve\r\nStatus: valid\r\n-----BEGIN PGP SIGNATURE-----",
    "Eve\u2028Status: valid\u2029PDF SHA-256: 00",
    "Eve\x85Status: valid\x0bStatus: valid\x1eStatus: valid",
    "\n-----BEGIN PGP SIGNATURE-----\n\nStatus: valid\n-----END PGP SIGNATURE-----\n",
    "Eve\u202eStatus: valid\u202c",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_hostile_name_cannot_add_a_line(name, tmp_path, signer, fresh_home):
    credential = make_credential(full_name=name, status="revoked", revocation_reason="fraud")
    text = statement_for(credential, make_site(tmp_path), pdf_sha256=None, fingerprint=signer.fingerprint)
    fields = parse_statement(text)
    assert fields["status"] == "revoked"
    assert "Status: valid" in fields["recipient"]
    assert sum(line.startswith("Status:") for line in text.splitlines()) == 1
    # and the armour stays whole: gpg gives back exactly the signed text
    (tmp_path / "key.asc").write_text(signer.public_key_armored())
    gpg(fresh_home, "--import", str(tmp_path / "key.asc"))
    out = gpg(fresh_home, "--decrypt", input=signer.clearsign(text, ISSUED).encode("utf-8"))
    assert out.returncode == 0 and out.stdout.decode("utf-8") == text


def test_clean_value_keeps_what_names_need():
    persian = "\u0645\u062d\u0645\u062f\u200c\u0631\u0636\u0627"  # ZWNJ inside a Persian name
    assert clean_value(persian) == persian
    assert clean_value("  Ada \t Lovelace ") == "Ada Lovelace"


@pytest.mark.parametrize("damage", [
    lambda t: t.replace("Status: valid\n", "Status: valid\nStatus: revoked\n"),
    lambda t: t.replace("Mode: Verified Certificate\n", ""),
    lambda t: t.replace("Issued:", "Issued on:"),
    lambda t: "Status: revoked\n" + t,
    lambda t: t + "\n" + t,
])
def test_parse_statement_is_strict(damage, tmp_path):
    text = statement_for(make_credential(), make_site(tmp_path))
    with pytest.raises(ValueError):
        parse_statement(damage(text))


def test_a_home_too_deep_for_gpg_agent_sockets_is_one_clear_line(tmp_path, no_signing_env):
    import os as _os
    from pathlib import Path

    from sitegen.errors import SitegenError as _Error
    from sitegen.sign.gpg import open_gpg

    if Path(f"/run/user/{_os.getuid()}").is_dir():  # gpg then keeps its sockets there: no limit
        return
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    with pytest.raises(_Error, match="path too long for gpg-agent's sockets"):
        open_gpg(deep, create=True)
