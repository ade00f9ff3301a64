"""Signing: detached and clear signatures made with a key in a GnuPG home.

Where the key lives is resolved once (`locate_key`, location.py), then a `Signer` holds a checked,
usable key. The private key never leaves GNUPGHOME: sitegen only ever asks gpg, or the
gpg-agent that holds the key, for signatures and for the public key, and logs neither
key material nor passphrases.

Signatures are byte-reproducible: EdDSA and RSA (PKCS#1 v1.5) signatures depend only on
the key, the data and the signature creation time, so every signature is made at a time
the caller chooses (`signed_at`, e.g. the credential's issue date).

Two ways make the same bytes. The fast one asks gpg-agent for each signature over one
connection and writes the OpenPGP packet itself (`agent`, `openpgp`): no process per
signature. It is used only once it has reproduced, byte for byte, the signatures gpg
itself makes with this key and this home (its gpg.conf may add to them); otherwise, or
once the agent stops answering, every signature is one run of the real gpg through
python-gnupg, with gpg's `--faked-system-time`.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from sitegen.errors import SitegenError
from sitegen.load.config import ENV_SIGNING_KEY as KEY_ENV
from sitegen.model import SigningSettings
from sitegen.sign import openpgp
from sitegen.sign.agent import AgentError, AgentKey, AgentSigner, agent_socket
from sitegen.sign.location import FINGERPRINT_RE, KeyLocation, locate_key

if TYPE_CHECKING:
    import gnupg

log = logging.getLogger("sitegen")

DEV_MARKER_NAME = "SITEGEN-DEVELOPMENT-KEY"
DEV_KEY_NAME = "sitegen development key"
DEV_KEY_COMMENT = "NOT FOR PRODUCTION"
DEV_KEY_EMAIL = "dev@sitegen.invalid"
ALGORITHMS = ("ed25519", "rsa3072")

# Options for every gpg run. Output must not vary with the gpg version or a gpg.conf
# (command-line options override gpg.conf), and the digest is pinned for the same reason.
GPG_OPTIONS = ["--no-emit-version", "--no-comments", "--digest-algo", "SHA512"]
# What the agent's signatures must equal gpg's on before sitegen uses them: dash and
# "From " escapes, trailing white space, CR LF, non-ASCII, no final line break.
_PROBE_DATA = b"sitegen signing check\x00\xff"
_PROBE_TEXT = "sitegen signing check\n- dash\nFrom here \t\r\nZo\u00eb \u5c71\u7530\n\nend  "
# gpg cuts clear-signed lines longer than this (in bytes) its own way: such rare texts go to gpg.
_LONGEST_AGENT_LINE = 16384


class Signer(Protocol):
    """What the build needs of a signing key: its identity and two kinds of signature."""

    fingerprint: str
    is_development_key: bool

    def public_key_armored(self) -> str: ...

    def sign_detached(self, data: bytes, signed_at: dt.datetime | dt.date) -> str: ...

    def clearsign(self, text: str, signed_at: dt.datetime | dt.date) -> str: ...


def open_gpg(home: Path, gpg_binary: str = "gpg", *, create: bool = False,
             extra_options: tuple[str, ...] = ()) -> gnupg.GPG:
    """python-gnupg around the real gpg binary, working in `home`."""
    import gnupg  # here: a build that signs nothing (pages only) never loads it

    if shutil.which(gpg_binary) is None:
        raise SitegenError(
            f"gpg not found ({gpg_binary!r} is not on PATH): install the Debian package gnupg"
        )
    if create:
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        home.chmod(0o700)  # gpg refuses to trust a home others can read
    elif not home.is_dir():
        raise SitegenError(f"GNUPGHOME {home} does not exist")
    _check_socket_path(home)
    # C locale: gpg's messages, which end up in our one-line errors, are plain ASCII.
    env = {**os.environ, "LC_ALL": "C"}
    env.pop("GNUPGHOME", None)
    try:
        gpg = gnupg.GPG(gpgbinary=gpg_binary, gnupghome=str(home),
                        options=[*GPG_OPTIONS, *extra_options],
                        env=env, encoding="utf-8")
    except (OSError, ValueError) as exc:
        raise SitegenError(f"cannot run gpg ({gpg_binary}): {exc}") from None
    gpg.decode_errors = "replace"
    return gpg


# A Unix socket path holds at most 107 bytes; gpg-agent's longest is S.gpg-agent.browser.
_SOCKET_PATH_LIMIT = 107


def _check_socket_path(home: Path) -> None:
    """gpg-agent puts its sockets in GNUPGHOME unless /run/user/<uid> exists; too deep a
    home makes every signature fail with gpg's cryptic "No agent running"."""
    if Path(f"/run/user/{os.getuid()}").is_dir():
        return
    if len(os.fsencode(home / "S.gpg-agent.browser")) > _SOCKET_PATH_LIMIT:
        raise SitegenError(
            f"GNUPGHOME {home}: path too long for gpg-agent's sockets "
            f"(at most {_SOCKET_PATH_LIMIT - 20} characters); use a shorter folder "
            "(SITEGEN_GNUPGHOME) or move the project")


def generate_key(gpg: gnupg.GPG, algorithm: str, name: str, email: str | None = None,
                 comment: str | None = None) -> str:
    """A new signing-only key without passphrase (CI signs unattended); its fingerprint."""
    if algorithm not in ALGORITHMS:
        raise SitegenError(
            f"signing.algorithm: {algorithm!r} is not one of {', '.join(ALGORITHMS)}"
        )
    identity = {"Name-Real": name, "Name-Comment": comment, "Name-Email": email}
    for field, value in identity.items():
        # One parameter per line: a line break in a value would add gpg directives.
        if value is not None and (not value.strip() or not value.isprintable()):
            raise SitegenError(f"key {field.lower()}: {value!r} must be one printable line")
    key_type = ["Key-Type: EDDSA", "Key-Curve: ed25519"] if algorithm == "ed25519" else [
        "Key-Type: RSA", "Key-Length: 3072"]
    request = "\n".join([
        *key_type, "Key-Usage: sign",
        *(f"{field}: {value.strip()}" for field, value in identity.items() if value),
        "Expire-Date: 0", "%no-protection", "%commit", "",
    ])
    result = gpg.gen_key(request)
    if not result.fingerprint:
        raise SitegenError(f"gpg could not create a key in {gpg.gnupghome}: "
                           f"{gpg_message(result.stderr)}")
    return result.fingerprint


def gpg_message(stderr: str) -> str:
    """The last thing gpg said that explains a failure, as one line."""
    lines = [
        line.removeprefix("gpg: ").strip()
        for line in (stderr or "").splitlines()
        if line.startswith("gpg: ") and "faked system time" not in line
    ]
    return lines[-1] if lines else "no reason given"


def signature_time(signed_at: dt.datetime | dt.date) -> int:
    """Seconds since the epoch; a date means its midnight UTC, a naive datetime is UTC."""
    if isinstance(signed_at, dt.datetime):
        if signed_at.tzinfo is None:
            signed_at = signed_at.replace(tzinfo=dt.UTC)
        return int(signed_at.timestamp())
    if isinstance(signed_at, dt.date):
        return int(dt.datetime(signed_at.year, signed_at.month, signed_at.day,
                               tzinfo=dt.UTC).timestamp())
    raise TypeError(f"signed_at must be a date or datetime, not {type(signed_at).__name__}")


class GpgSigner:
    """A usable signing key in a GnuPG home; makes reproducible signatures with it."""

    def __init__(self, gpg: gnupg.GPG, home: Path, fingerprint: str, key_created: int,
                 is_development_key: bool):
        self._gpg = gpg
        self.home = home
        self.fingerprint = fingerprint
        self.key_created = key_created  # the earliest time gpg may sign with it
        self.is_development_key = is_development_key
        self.agent: AgentSigner | None = None  # the fast way, once it proved to match gpg

    @classmethod
    def open(cls, settings: SigningSettings, project_root: Path,
             allow_development_key: bool = True, gpg_binary: str = "gpg",
             use_agent: bool = True) -> GpgSigner:
        where = locate_key(settings, project_root)
        if not where.is_development_home and not where.home.is_dir():
            raise SitegenError(f"GNUPGHOME {where.home} (from {where.home_source}) does not exist")
        gpg = open_gpg(where.home, gpg_binary, create=where.is_development_home)
        fingerprint = where.fingerprint
        if fingerprint is None:
            if not where.is_development_home:
                raise SitegenError(
                    f"{where.home_source} is set ({where.home}) but no signing key is: "
                    f"set {KEY_ENV} or signing.key in site.yml to its fingerprint"
                )
            if not allow_development_key:
                raise SitegenError(
                    f"no signing key configured: set {KEY_ENV} or signing.key in site.yml "
                    "(`sitegen keys init` creates one)"
                )
            fingerprint = development_key(gpg, where.home)
        key, secret = usable_key(gpg, fingerprint, where)
        is_dev = is_development(key, where.home)
        if is_dev and not allow_development_key:
            raise SitegenError(
                f"key {fingerprint} is the development key ({DEV_KEY_COMMENT}): "
                f"configure a real key with {KEY_ENV} or signing.key"
            )
        if is_dev:
            _warn_development_key(fingerprint, where.home)
        signer = cls(gpg, where.home, fingerprint, signing_key_created(key), is_dev)
        if use_agent:
            signer.start_agent(secret)
        return signer

    def public_key_armored(self) -> str:
        """The public key only (minimal export: no third-party signatures)."""
        armored = self._gpg.export_keys(self.fingerprint, armor=True, minimal=True)
        if "-----BEGIN PGP PUBLIC KEY BLOCK-----" not in armored:
            raise SitegenError(f"gpg could not export key {self.fingerprint} from {self.home}")
        return armored

    def sign_detached(self, data: bytes, signed_at: dt.datetime | dt.date) -> str:
        """ASCII-armoured detached signature of `data`, made at `signed_at`."""
        when = self._signing_time(signed_at)
        if self.agent is not None:
            try:
                return self.agent.sign_detached(data, when)
            except AgentError as err:
                self._stop_agent(err)
        return self._gpg_sign(data, when, detach=True).data.decode("ascii")

    def clearsign(self, text: str, signed_at: dt.datetime | dt.date) -> str:
        """`text` (UTF-8) clear-signed; lines that start with '-' or 'From ' dash-escaped."""
        when = self._signing_time(signed_at)
        if self.agent is not None and not _has_long_line(text):
            try:
                return self.agent.clearsign(text, when)
            except AgentError as err:
                self._stop_agent(err)
        return self._gpg_sign(text.encode("utf-8"), when, detach=False).data.decode("utf-8")

    def _signing_time(self, signed_at: dt.datetime | dt.date) -> int:
        # gpg refuses to sign before the key existed; a time in the future is not a
        # signing time at all. Clamping keeps the result reproducible for past dates.
        return max(self.key_created, min(signature_time(signed_at), int(time.time())))

    def _gpg_sign(self, data: bytes, when: int, *, detach: bool) -> gnupg.Sign:
        result = self._gpg.sign(
            data, keyid=self.fingerprint, detach=detach, clearsign=not detach,
            extra_args=["--faked-system-time", f"{when}!"],
        )
        if result.returncode != 0 or not result.data:
            raise SitegenError(
                f"gpg could not sign with key {self.fingerprint} in {self.home}: "
                f"{gpg_message(result.stderr)}"
            )
        return result

    # -- the fast way: gpg-agent directly ------------------------------------------------

    def start_agent(self, secret: dict) -> None:
        """Sign through gpg-agent directly from now on, if it makes gpg's very bytes;
        else say once why every signature will cost a gpg process."""
        try:
            self.agent = self._checked_agent(secret)
        except (AgentError, SitegenError) as err:  # SitegenError: gpg itself cannot sign
            log.warning("signing with one gpg process per signature (slower): %s", err)
        else:
            log.debug("signing through gpg-agent at %s", self.agent.agent_key.socket_path)

    def _checked_agent(self, secret: dict) -> AgentSigner:
        keys = _secret_signing_keys(secret)
        if not keys:
            raise AgentError(f"gpg lists no keygrip for key {self.fingerprint}")
        socket_path = agent_socket(self.home)
        for fingerprint, (_, keygrip) in keys.items():
            _require_unattended(AgentKey(socket_path, keygrip), fingerprint)
        # Which key (or subkey) gpg signs with, and with which hash: as gpg says it did.
        when = self.key_created
        detached = self._gpg_sign(_PROBE_DATA, when, detach=True)
        key, keygrip = _key_gpg_used(detached, keys)
        agent = AgentSigner(AgentKey(socket_path, keygrip), key)
        clear = self._gpg_sign(_PROBE_TEXT.encode("utf-8"), when, detach=False)
        if (agent.sign_detached(_PROBE_DATA, when) != detached.data.decode("ascii")
                or agent.clearsign(_PROBE_TEXT, when) != clear.data.decode("utf-8")):
            agent.agent_key.close()
            raise AgentError("gpg-agent's signatures would differ from gpg's "
                             "(an option in gpg.conf, e.g. sig-notation, adds to gpg's)")
        return agent

    def _stop_agent(self, err: AgentError) -> None:
        log.warning("gpg-agent stopped signing (%s): signing with one gpg process per "
                    "signature from now on (slower)", err)
        self.agent = None


def _secret_signing_keys(secret: dict) -> dict[str, tuple[int, str]]:
    """{fingerprint: (public key algorithm, keygrip)} of each key or subkey of `secret` (a
    python-gnupg secret-key listing) that can sign and whose secret part is here."""
    keys = {}
    if "s" in secret["cap"] and secret["token"] != "#" and secret.get("keygrip"):
        keys[secret["fingerprint"]] = (int(secret["algo"]), secret["keygrip"])
    for keyid, _, fingerprint, keygrip in secret.get("subkeys", []):
        info = secret.get("subkey_info", {}).get(keyid, {})
        if "s" in info.get("cap", "") and info.get("token") != "#" and fingerprint and keygrip:
            keys[fingerprint] = (int(info["algo"]), keygrip)
    return keys


def _require_unattended(agent_key: AgentKey, fingerprint: str) -> None:
    """The agent must sign with the key without asking anyone for a passphrase or a PIN."""
    try:
        state = agent_key.state()
    finally:
        agent_key.close()
    if not state.on_disk:
        raise AgentError(f"key {fingerprint} is on a smartcard")
    if not state.signs_unattended:
        raise AgentError(f"key {fingerprint} is protected by a passphrase gpg-agent has not cached")


def _key_gpg_used(result: gnupg.Sign, keys: dict[str, tuple[int, str]]) -> tuple[openpgp.SigningKey, str]:
    """The key (or subkey) gpg made `result` with, as a signature names it, and its keygrip."""
    if result.fingerprint not in keys:
        raise AgentError(f"gpg signed with {result.fingerprint}, which has no usable secret key")
    algorithm, keygrip = keys[result.fingerprint]
    hash_algorithm = int(result.hash_algo)
    if algorithm not in openpgp.PUBLIC_KEY_ALGORITHMS or hash_algorithm not in openpgp.HASH_ALGORITHMS:
        raise AgentError(f"key algorithm {algorithm} with hash {hash_algorithm} is not supported")
    return openpgp.SigningKey(bytes.fromhex(result.fingerprint), algorithm, hash_algorithm), keygrip


def _has_long_line(text: str) -> bool:
    return any(len(line) >= _LONGEST_AGENT_LINE for line in text.encode("utf-8").split(b"\n"))


def usable_key(gpg: gnupg.GPG, fingerprint: str, where: KeyLocation) -> tuple[dict, dict]:
    """The key's public and secret listings, once it is known to exist, be valid and able
    to sign."""
    found = gpg.list_keys(keys=[fingerprint])
    if not found:
        raise SitegenError(
            f"signing key {fingerprint} (from {where.fingerprint_source or 'the development key'}) "
            f"not found in GNUPGHOME {where.home}"
        )
    key = found[0]
    now = int(time.time())
    if key["trust"] == "r":
        raise SitegenError(f"signing key {fingerprint} in {where.home} is revoked")
    if key["trust"] == "e" or (key["expires"] and int(key["expires"]) <= now):
        raise SitegenError(f"signing key {fingerprint} in {where.home} has expired")
    if "S" not in key["cap"]:
        raise SitegenError(f"key {fingerprint} in {where.home} has no usable signing key")
    secret = gpg.list_keys(secret=True, keys=[fingerprint])
    if not secret or not _has_signing_secret(secret[0]):
        raise SitegenError(
            f"key {fingerprint} in {where.home} has no secret part here "
            "(only the public key was imported)"
        )
    return key, secret[0]


def _has_signing_secret(secret_key: dict) -> bool:
    # Token '#' marks a stub: the secret part is elsewhere (offline, on a card...).
    if "s" in secret_key["cap"].lower() and secret_key["token"] != "#":
        return True
    return any(
        "s" in sub.get("capability", "") and sub.get("token") != "#"
        for sub in secret_key.get("subkey_info", {}).values()
    )


def signing_key_created(key: dict) -> int:
    """When the newest key gpg may sign with was created (signatures cannot predate it)."""
    times = [int(key["date"])]
    for sub in key.get("subkey_info", {}).values():
        if "s" in sub.get("capability", "") and sub.get("trust") not in ("r", "e"):
            times.append(int(sub["date"]))
    return max(times)


def is_development(key: dict, home: Path) -> bool:
    """The development key is known by its uid, and by the marker in its home."""
    if any(f"({DEV_KEY_COMMENT})" in uid and DEV_KEY_EMAIL in uid for uid in key["uids"]):
        return True
    marker = home / DEV_MARKER_NAME
    return marker.is_file() and key["fingerprint"] in marker.read_text().split()


def development_key(gpg: gnupg.GPG, home: Path) -> str:
    """The development key's fingerprint, creating the key on first use."""
    with open(home / ".sitegen-lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel builds must not make two keys
        marker = home / DEV_MARKER_NAME
        if marker.is_file():
            for word in marker.read_text().split():
                if FINGERPRINT_RE.fullmatch(word) and gpg.list_keys(secret=True, keys=[word]):
                    return word
        fingerprint = generate_key(gpg, "ed25519", DEV_KEY_NAME, DEV_KEY_EMAIL, DEV_KEY_COMMENT)
        temporary = marker.with_suffix(".tmp")
        temporary.write_text(
            f"{fingerprint}\n\nThis GnuPG home holds the sitegen development key. "
            f"Signatures made with it prove nothing: `sitegen publish` refuses it.\n"
        )
        temporary.replace(marker)
        log.info("created the development signing key %s in %s", fingerprint, home)
        return fingerprint


def _warn_development_key(fingerprint: str, home: Path) -> None:
    log.warning(
        "signing with the DEVELOPMENT key %s (%s): its signatures prove nothing; "
        "set %s or signing.key in site.yml before publishing", fingerprint, home, KEY_ENV,
    )
