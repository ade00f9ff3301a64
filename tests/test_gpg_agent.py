"""Signing through gpg-agent directly: gpg's very bytes, for both key algorithms.

Every signature the fast path makes is compared with the one the real gpg makes with
the same key, time and options; where the agent cannot be used, the signer falls back
to gpg and says so once.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import logging
import multiprocessing
import re
import subprocess
import time
from concurrent.futures import ProcessPoolExecutor

import pytest

from gpgkeys import KEY_CREATED, ThrowawayKey, gpg, gpg_key, make_key, new_home, no_signing_env, stop_agent  # noqa: F401
from sitegen.errors import SitegenError
from sitegen.sign import gpg as signing
from sitegen.sign import openpgp
from sitegen.sign.gpg import GPG_OPTIONS, GpgSigner, signature_time

pytestmark = pytest.mark.usefixtures("no_signing_env")

ISSUED = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
WHEN = signature_time(ISSUED)
FALLBACK = "signing with one gpg process per signature"


@pytest.fixture(scope="module", params=["ed25519", "rsa3072"])
def key(request, gpg_key, tmp_path_factory) -> ThrowawayKey:
    """The session's Ed25519 key, and an RSA 3072 one made for this module."""
    if request.param == "ed25519":
        yield gpg_key
        return
    home = new_home(tmp_path_factory.mktemp("rsa"))
    yield ThrowawayKey(home, make_key(home, algorithm="rsa3072", extra=("--faked-system-time", KEY_CREATED)))
    stop_agent(home)


@pytest.fixture(scope="module")
def signer(key, tmp_path_factory) -> GpgSigner:
    opened = GpgSigner.open(key.settings, tmp_path_factory.mktemp("project"))
    assert opened.agent is not None, "the fast path was not taken"
    return opened


def gpgs_own(key: ThrowawayKey, data: bytes, how: str, when: int = WHEN) -> str:
    """What the real gpg makes, `how` being --detach-sign or --clearsign."""
    done = gpg(key.home, *GPG_OPTIONS, "--faked-system-time", f"{when}!", "--default-key", key.fingerprint,
               "--armor", how, input=data)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode("utf-8")


@pytest.fixture
def employer(key, tmp_path):
    """A GnuPG home that knows only the public key, as an employer's does."""
    home = new_home(tmp_path / "employer")
    gpg(home, "--import", input=gpg(key.home, "--export", key.fingerprint).stdout)
    yield home
    stop_agent(home)


# --- the bytes gpg makes -------------------------------------------------------------------------

DOCUMENTS = {
    "empty": b"",
    "binary": bytes(range(256)) * 3,
    "pdf-like": b"%PDF-1.7\r\n" + b"stream\n\x00\xff\r\n" * 20000,
}

TEXTS = {
    "statement": "sitegen credential statement, version 1\n\nRecipient: Zoë Ångström\nStatus: valid\n",
    "dashes": "-----BEGIN PGP SIGNATURE-----\n- item\n--\n-\n -not first\n",
    "from lines": "From here\nFrom\nFrom: x\n>From y\nfrom z\n",
    "trailing white space": "a  \nb\t\nc \t \n   \n\t\n",
    "crlf": "a\r\nb \r\n\r\n- c\r\n",
    "lone cr": "a\rb\r\n\r",
    "non-ascii": "山田太郎 محمد\u200cرضا नमस्ते ไทย Ζωή\n",
    "no final line break": "last line  ",
    "empty": "",
    "only line breaks": "\n\n\n",
    "other line separators": "a\u2028b\x0bc\x0cd\x85e\u2029f\n",  # gpg splits lines at LF only
    "long line": "x" * 16000 + "\n",
    "longer than gpg's lines": "y" * 20000 + " \n- z\n",  # gpg cuts it its own way: sent to gpg
}


@pytest.mark.parametrize("name", DOCUMENTS)
def test_detached_signature_is_gpgs_own(name, key, signer):
    assert signer.sign_detached(DOCUMENTS[name], ISSUED) == gpgs_own(key, DOCUMENTS[name], "--detach-sign")


@pytest.mark.parametrize("name", TEXTS)
def test_clear_signature_is_gpgs_own(name, key, signer):
    text = TEXTS[name]
    assert signer.clearsign(text, ISSUED) == gpgs_own(key, text.encode("utf-8"), "--clearsign")


def test_values_with_a_leading_zero_byte_are_written_as_gpg_writes_them(key, signer):
    # An MPI drops leading zero bytes; EdDSA's r and RSA's s have one in 1 of 256 signatures.
    size = 256 if signer.agent.key.public_key_algorithm == openpgp.EDDSA else 3072
    for attempt in range(3000):
        data = b"certificate %d" % attempt
        pending = openpgp.pending_signature(signer.agent.key, openpgp.BINARY, WHEN, data)
        if signer.agent.agent_key.sign(pending)[0] < 1 << (size - 8):
            break
    else:
        pytest.fail("no signature with a short value in 3000")
    assert signer.sign_detached(data, ISSUED) == gpgs_own(key, data, "--detach-sign")


def test_signature_time_is_the_one_asked_for(key, signer):
    early = dt.date(2001, 1, 1)  # before the key existed: clamped to its creation, as gpg needs
    created = signer.key_created
    assert signer.sign_detached(b"x", early) == gpgs_own(key, b"x", "--detach-sign", created)
    assert signer.clearsign("x\n", early) == gpgs_own(key, b"x\n", "--clearsign", created)


def test_a_signing_subkey_is_used_as_gpg_uses_it(own_key, tmp_path):
    # gpg signs with the newest signing subkey, not with the primary key the settings name
    added = gpg(own_key.home, "--passphrase", "", "--faked-system-time", "20210101T000000",
                "--quick-add-key", own_key.fingerprint, "ed25519", "sign", "never")
    assert added.returncode == 0, added.stderr.decode()
    signer = GpgSigner.open(own_key.settings, tmp_path)
    assert signer.agent is not None and signer.agent.key.fingerprint.hex().upper() != own_key.fingerprint
    assert signer.sign_detached(b"x", ISSUED) == gpgs_own(own_key, b"x", "--detach-sign")
    assert signer.clearsign("- x\n", ISSUED) == gpgs_own(own_key, b"- x\n", "--clearsign")


# --- what an employer checks -----------------------------------------------------------------------


def test_plain_gpg_verifies_them_and_refuses_tampered_ones(signer, employer, tmp_path):
    pdf = DOCUMENTS["pdf-like"]
    (tmp_path / "certificate.pdf").write_bytes(pdf)
    (tmp_path / "certificate.pdf.sig").write_text(signer.sign_detached(pdf, ISSUED))
    (tmp_path / "statement.txt.asc").write_text(signer.clearsign(TEXTS["dashes"] + TEXTS["crlf"], ISSUED))
    check = ("--verify", str(tmp_path / "certificate.pdf.sig"), str(tmp_path / "certificate.pdf"))
    assert b"Good signature" in gpg(employer, *check).stderr
    assert b"Good signature" in gpg(employer, "--verify", str(tmp_path / "statement.txt.asc")).stderr

    (tmp_path / "certificate.pdf").write_bytes(pdf[:1000] + b"X" + pdf[1001:])
    (tmp_path / "statement.txt.asc").write_text(
        (tmp_path / "statement.txt.asc").read_text().replace("- item", "- itex"))
    for bad in (gpg(employer, *check), gpg(employer, "--verify", str(tmp_path / "statement.txt.asc"))):
        assert bad.returncode != 0 and b"BAD signature" in bad.stderr


# --- workers ----------------------------------------------------------------------------------------

_worker_signer: GpgSigner | None = None


def _start_worker(signer: GpgSigner) -> None:
    global _worker_signer
    _worker_signer = signer


def _sign_in_worker(n: int) -> tuple[list[str], bool]:
    signatures = [_worker_signer.sign_detached(b"worker %d" % i, ISSUED) for i in range(n)]
    return signatures, _worker_signer.agent is not None


def test_forked_workers_talk_to_the_agent_over_their_own_connections(key, signer):
    # as the build's workers do: forked after the signer opened (and used) its connection
    expected = [gpgs_own(key, b"worker %d" % i, "--detach-sign") for i in range(12)]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(2, mp_context=context, initializer=_start_worker, initargs=(signer,)) as pool:
        futures = [pool.submit(_sign_in_worker, 12) for _ in range(4)]
        in_parent = [signer.sign_detached(b"worker %d" % (i % 12), ISSUED) for i in range(24)]
        results = [future.result() for future in futures]
    assert in_parent == expected * 2
    for signatures, agent_used in results:
        assert signatures == expected and agent_used


# --- when the agent cannot be used: gpg, and one warning -------------------------------------------


def fallback_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "gpg process" in r.getMessage()]


def test_no_agent_socket_means_gpg_and_one_warning(gpg_key, tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(signing, "agent_socket", lambda home: tmp_path / "S.gpg-agent")  # nothing listens
    with caplog.at_level(logging.WARNING, logger="sitegen"):
        fallback = GpgSigner.open(gpg_key.settings, tmp_path)
        signatures = [fallback.sign_detached(b"pdf", ISSUED), fallback.clearsign("- a\n", ISSUED)]
    assert fallback.agent is None
    assert signatures == [gpgs_own(gpg_key, b"pdf", "--detach-sign"), gpgs_own(gpg_key, b"- a\n", "--clearsign")]
    [warning] = fallback_warnings(caplog)
    assert FALLBACK in warning and "no gpg-agent at" in warning


@pytest.fixture
def own_key(tmp_path):
    """An Ed25519 key in a home of its own, whose agent a test may stop or configure."""
    home = new_home(tmp_path / "own")
    key = ThrowawayKey(home, make_key(home, extra=("--faked-system-time", KEY_CREATED)))
    yield key
    stop_agent(home)


def test_an_agent_that_goes_away_mid_build_means_gpg_from_then_on(own_key, tmp_path, caplog):
    fast = GpgSigner.open(own_key.settings, tmp_path)
    assert fast.agent is not None
    stop_agent(own_key.home)  # gpg starts a new one when it needs it
    with caplog.at_level(logging.WARNING, logger="sitegen"):
        signatures = [fast.sign_detached(b"pdf %d" % i, ISSUED) for i in range(3)]
    assert fast.agent is None
    assert signatures == [gpgs_own(own_key, b"pdf %d" % i, "--detach-sign") for i in range(3)]
    [warning] = fallback_warnings(caplog)
    assert "gpg-agent stopped signing" in warning


def test_a_gpg_conf_that_adds_to_signatures_means_gpg(own_key, tmp_path, caplog):
    (own_key.home / "gpg.conf").write_text("sig-notation issuer-note@sitegen.invalid=hello\n")
    with caplog.at_level(logging.WARNING, logger="sitegen"):
        signer = GpgSigner.open(own_key.settings, tmp_path)
    assert signer.agent is None
    assert "would differ from gpg's" in fallback_warnings(caplog)[0]
    assert signer.sign_detached(b"x", ISSUED) == gpgs_own(own_key, b"x", "--detach-sign")


PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def protected_key(tmp_path):
    """A key with a passphrase, in a home whose agent can never ask anyone for it."""
    home = new_home(tmp_path / "protected")
    (home / "gpg-agent.conf").write_text("pinentry-program /bin/false\nallow-preset-passphrase\n")
    fingerprint = make_key(home, extra=("--faked-system-time", KEY_CREATED, "--pinentry-mode", "loopback",
                                         "--passphrase", PASSPHRASE))
    yield ThrowawayKey(home, fingerprint)
    stop_agent(home)


def test_a_passphrase_key_means_gpg_and_a_clear_error_not_a_hang(protected_key, tmp_path, caplog):
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="sitegen"):
        signer = GpgSigner.open(protected_key.settings, tmp_path)
    assert signer.agent is None
    assert "protected by a passphrase gpg-agent has not cached" in fallback_warnings(caplog)[0]
    with pytest.raises(SitegenError, match="gpg could not sign with key") as caught:
        signer.sign_detached(b"x", ISSUED)
    assert "\n" not in str(caught.value)
    assert time.monotonic() - started < 30


def test_a_passphrase_the_agent_has_cached_signs_the_fast_way(protected_key, tmp_path):
    listing = gpg(protected_key.home, "--with-colons", "--with-keygrip", "--list-secret-keys").stdout.decode()
    keygrip = re.search(r"^grp:(?:[^:]*:){8}([0-9A-F]{40}):", listing, re.M)[1]
    subprocess.run(["/usr/lib/gnupg/gpg-preset-passphrase", "--homedir", str(protected_key.home),
                    "--preset", keygrip], input=PASSPHRASE.encode(), check=True)
    signer = GpgSigner.open(protected_key.settings, tmp_path)
    assert signer.agent is not None
    assert signer.sign_detached(b"x", ISSUED) == gpgs_own(protected_key, b"x", "--detach-sign")


# --- the secret key stays in the agent ----------------------------------------------------------------


def secret_numbers(key: ThrowawayKey) -> list[bytes]:
    """The secret MPIs of the throw-away key (the test exports it; sitegen never does)."""
    exported = gpg(key.home, "--export-secret-keys", key.fingerprint).stdout
    numbers, at = [], 0
    while at < len(exported):
        ctb = exported[at]
        if ctb & 0x40:  # new-format header
            tag, size, at = ctb & 0x3F, exported[at + 1], at + 2
            if size >= 192:
                size, at = ((size - 192) << 8) + exported[at] + 192, at + 1
        else:
            tag, length_bytes = (ctb >> 2) & 0xF, 1 << (ctb & 3)
            size = int.from_bytes(exported[at + 1:at + 1 + length_bytes], "big")
            at += 1 + length_bytes
        body = exported[at:at + size]
        at += size
        if tag in (5, 7):  # secret key or subkey, unprotected: public part, 0, secret MPIs, checksum
            rest = _skip_public_part(body)
            assert rest[0] == 0
            rest = rest[1:-2]
            while rest:
                length = (int.from_bytes(rest[:2], "big") + 7) // 8
                numbers.append(rest[2:2 + length])
                rest = rest[2 + length:]
    assert numbers
    return numbers


def _skip_public_part(body: bytes) -> bytes:
    algorithm, rest = body[5], body[6:]
    if algorithm == openpgp.EDDSA:
        rest = rest[1 + rest[0]:]  # the curve's OID
    for _ in range(2 if algorithm == openpgp.RSA else 1):  # n, e / the public point
        rest = rest[2 + (int.from_bytes(rest[:2], "big") + 7) // 8:]
    return rest


def contains_any(blob: bytes, secrets: list[bytes]) -> bool:
    texts = blob.decode("latin-1")
    armored = re.findall(r"\n\n([A-Za-z0-9+/=\n]+?)\n=", texts)
    decoded = [binascii.a2b_base64(body) for body in armored]
    return any(secret in blob or secret.hex() in texts.lower() or any(secret in d for d in decoded)
               for secret in secrets)


def test_no_secret_key_material_in_any_file_written(key, signer, tmp_path, monkeypatch):
    secrets = secret_numbers(key)
    assert all(len(secret) >= 16 for secret in secrets)
    monkeypatch.chdir(tmp_path)
    slow = GpgSigner.open(key.settings, tmp_path, use_agent=False)
    for way, used in (("agent", signer), ("gpg", slow)):
        folder = tmp_path / way
        folder.mkdir()
        (folder / "certificate.pdf.sig").write_text(used.sign_detached(DOCUMENTS["pdf-like"], ISSUED))
        (folder / "statement.txt.asc").write_text(used.clearsign(TEXTS["statement"], ISSUED))
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(written) >= 4
    for path in written:
        blob = path.read_bytes()
        assert b"PRIVATE KEY" not in blob and not contains_any(blob, secrets), path
        packets = gpg(key.home, "--list-packets", str(path)).stdout
        assert packets and b"secret" not in packets and b"key packet" not in packets


def test_the_secret_check_finds_a_secret(key):
    secrets = secret_numbers(key)
    exported = gpg(key.home, "--export-secret-keys", "--armor", key.fingerprint).stdout
    assert contains_any(exported, secrets)
    assert contains_any(b"sig " + base64.b16encode(secrets[0]), secrets)
