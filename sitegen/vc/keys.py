"""The issuer's Ed25519 key: create it, keep it in a file or an environment variable, name it as a Multikey.

One text format everywhere (file, environment, `sitegen keys export`): the Multikey
`secretKeyMultibase`, base58btc 'z' of the multicodec header 0x8026 (ed25519-priv) and the
32-byte seed, e.g. "z3u2..."; one line, so CI can keep it in a secret. A PKCS#8 PEM key (what
`openssl genpkey -algorithm ed25519` writes) is read too.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sitegen.vc.multibase import decode_base58btc, encode_base58btc

KEY_ENVIRONMENT_VARIABLE = "SITEGEN_VC_KEY"
PUBLIC_KEY_HEADER = b"\xed\x01"  # multicodec ed25519-pub, as a varint
SECRET_KEY_HEADER = b"\x80\x26"  # multicodec ed25519-priv (0x1300), as a varint


def new_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def public_key_multibase(key: Ed25519PublicKey) -> str:
    """The Multikey `publicKeyMultibase`: "z6Mk..."."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return encode_base58btc(PUBLIC_KEY_HEADER + raw)


def public_key_from_multibase(text: str) -> Ed25519PublicKey:
    """The key of a `publicKeyMultibase`; ValueError unless it is an Ed25519 Multikey."""
    data = decode_base58btc(text)
    if not data.startswith(PUBLIC_KEY_HEADER) or len(data) != 34:
        raise ValueError("not an Ed25519 Multikey public key (0xed01 + 32 bytes)")
    return Ed25519PublicKey.from_public_bytes(data[2:])


def secret_key_multibase(key: Ed25519PrivateKey) -> str:
    """The Multikey `secretKeyMultibase`: "z3u2..."; as secret as the key itself."""
    seed = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                             serialization.NoEncryption())
    return encode_base58btc(SECRET_KEY_HEADER + seed)


def parse_key(text: str) -> Ed25519PrivateKey:
    """A key from its `secretKeyMultibase` or PKCS#8 PEM text; ValueError with a reason otherwise."""
    text = text.strip()
    if text.startswith("-----"):
        key = serialization.load_pem_private_key(text.encode("ascii"), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("the PEM key is not an Ed25519 key")
        return key
    data = decode_base58btc(text)
    if not data.startswith(SECRET_KEY_HEADER) or len(data) != 34:
        raise ValueError("not an Ed25519 Multikey secret key (0x8026 + 32 bytes)")
    return Ed25519PrivateKey.from_private_bytes(data[2:])


def save_key(key: Ed25519PrivateKey, path: Path) -> None:
    """Write a new key file, readable by its owner only; never over an existing key (FileExistsError)."""
    # Created with mode 0600 from the first byte: no moment where others could read it.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(secret_key_multibase(key) + "\n")
        file.flush()
        os.fsync(file.fileno())


def load_key(path: Path) -> Ed25519PrivateKey:
    """The key in `path`; PermissionError if others may read the file, as ssh refuses such keys."""
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise PermissionError(f"{path}: the key file is open to other users (mode {stat.filemode(mode)}); "
                              f"run chmod 600 {path}")
    return parse_key(path.read_text(encoding="ascii"))


def key_from_environment(environ: Mapping[str, str],
                         name: str = KEY_ENVIRONMENT_VARIABLE) -> Ed25519PrivateKey | None:
    """The key CI passes in `name`, or None when it is unset or empty."""
    text = environ.get(name, "").strip()
    if not text:
        return None
    try:
        return parse_key(text)
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None
