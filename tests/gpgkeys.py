"""Throw-away GnuPG homes with real keys made by the real gpg, for tests.

Use the fixtures from a test module with `from gpgkeys import gpg_key, no_signing_env`
(or list "gpgkeys" in `pytest_plugins`). `gpg_key` is made once per test session: an
Ed25519 key takes gpg a few milliseconds, no passphrase, no expiry, created on
2020-01-01 (UTC).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from sitegen.model import SigningSettings

TEST_UID = "sitegen test key <test@sitegen.invalid>"
# The session key is older than the credentials tests sign, as a real issuer's key is. gpg's
# clock is frozen there ("!") while it makes the key, so the key is made at exactly that second
# however slow the machine: running on from it, a slow key generation once dated the key a
# second later than the test of a signature clamped to the key's creation expects.
KEY_CREATED = "20200101T000000!"


@dataclass(frozen=True)
class ThrowawayKey:
    home: Path
    fingerprint: str

    @property
    def settings(self) -> SigningSettings:
        return SigningSettings(key=self.fingerprint, gnupghome=str(self.home))


def gpg(home: Path, *args: str, input: bytes | None = None) -> subprocess.CompletedProcess:
    """Run the real gpg in `home`, with messages in English."""
    env = {**os.environ, "LC_ALL": "C", "GNUPGHOME": str(home)}
    return subprocess.run(["gpg", "--batch", "--no-tty", *args], input=input,
                          capture_output=True, env=env, check=False)


def new_home(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def make_key(home: Path, uid: str = TEST_UID, algorithm: str = "ed25519",
             expires: str = "never", extra: tuple[str, ...] = (), usage: str = "sign") -> str:
    """A signing key in `home`, no passphrase; its fingerprint."""
    done = gpg(home, "--passphrase", "", *extra, "--quick-gen-key", uid, algorithm, usage, expires)
    assert done.returncode == 0, done.stderr.decode()
    listing = gpg(home, "--with-colons", "--list-secret-keys", uid).stdout.decode()
    fingerprints = [line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:")]
    return fingerprints[-1]


def stop_agent(home: Path) -> None:
    """Stop the gpg-agent gpg started for `home` (and only that one)."""
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"],
                   capture_output=True, check=False)


@pytest.fixture(scope="session")
def gpg_key(tmp_path_factory) -> ThrowawayKey:
    """An OpenPGP key in a throw-away GnuPG home, with the Ed25519 key of the verifiable
    credentials beside it, where `sitegen keys init` puts it."""
    from sitegen.sign.vc_key import VC_KEY_FILE_NAME
    from sitegen.vc import new_key, save_key

    home = new_home(tmp_path_factory.mktemp("gnupg"))
    key = ThrowawayKey(home, make_key(home, extra=("--faked-system-time", KEY_CREATED)))
    save_key(new_key(), home / VC_KEY_FILE_NAME)
    yield key
    stop_agent(home)


@pytest.fixture
def no_signing_env(monkeypatch):
    """Tests choose their key; the environment of whoever runs them must not."""
    for name in ("SITEGEN_GNUPGHOME", "SITEGEN_SIGNING_KEY", "SITEGEN_VC_KEY", "SITEGEN_VC_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
