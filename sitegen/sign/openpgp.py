"""OpenPGP v4 signatures, byte for byte as gpg writes them (RFC 4880, RFC 9580).

Pure functions, no I/O: what to hash for a detached or a clear signature, the signature
packet around the values a key holder (gpg-agent) computed from that hash, and the ASCII
armour. `gpg.GpgSigner` only uses them once they have reproduced gpg's own bytes.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

BINARY = 0x00  # signature class of a binary document (certificate.pdf.sig)
TEXT = 0x01  # of a canonical text document (the clear-signed statement)

RSA = 1
EDDSA = 22  # EdDSA as gpg 2.2 to 2.4 write v4 keys: two MPIs, r and s
PUBLIC_KEY_ALGORITHMS = (RSA, EDDSA)
HASH_ALGORITHMS = {8: "SHA256", 9: "SHA384", 10: "SHA512"}  # OpenPGP ID -> armour name

_ISSUER = 16
_CREATED = 2
_ISSUER_FINGERPRINT = 33


@dataclass(frozen=True)
class SigningKey:
    """What a v4 signature says about the key that made it, and how it hashed."""

    fingerprint: bytes  # the (sub)key's v4 fingerprint, 20 bytes
    public_key_algorithm: int
    hash_algorithm: int

    @property
    def hash_name(self) -> str:
        return HASH_ALGORITHMS[self.hash_algorithm]


@dataclass(frozen=True)
class PendingSignature:
    """A signature before the key's part: its hashed packet part and the digest to sign."""

    key: SigningKey
    hashed_part: bytes  # version .. hashed subpackets, as the packet carries them
    digest: bytes

    def packet(self, values: list[int]) -> bytes:
        """The signature packet, given the key's values (RSA: s; EdDSA: r, s)."""
        unhashed = _subpacket(_ISSUER, self.key.fingerprint[-8:])
        body = b"".join([
            self.hashed_part, len(unhashed).to_bytes(2, "big"), unhashed,
            self.digest[:2], *(_mpi(value) for value in values),
        ])
        return _old_format_packet(2, body)


def pending_signature(key: SigningKey, signature_class: int, created: int, document: bytes) -> PendingSignature:
    """Hash `document` (already canonical for a text signature) the v4 way, as made at `created`.

    The hashed subpackets are gpg's, in gpg's order: issuer fingerprint, creation time.
    """
    subpackets = (_subpacket(_ISSUER_FINGERPRINT, b"\x04" + key.fingerprint)
                  + _subpacket(_CREATED, created.to_bytes(4, "big")))
    hashed_part = (bytes([4, signature_class, key.public_key_algorithm, key.hash_algorithm])
                   + len(subpackets).to_bytes(2, "big") + subpackets)
    digest = hashlib.new(key.hash_name.lower(), document)
    digest.update(hashed_part)
    digest.update(b"\x04\xff" + len(hashed_part).to_bytes(4, "big"))
    return PendingSignature(key, hashed_part, digest.digest())


def armored(packet: bytes) -> str:
    """An ASCII-armoured signature, as gpg --armor writes it without version or comment."""
    encoded = base64.b64encode(packet).decode("ascii")
    lines = [encoded[i:i + 64] for i in range(0, len(encoded), 64)]
    checksum = base64.b64encode(_crc24(packet).to_bytes(3, "big")).decode("ascii")
    return "\n".join(["-----BEGIN PGP SIGNATURE-----", "", *lines, f"={checksum}",
                      "-----END PGP SIGNATURE-----", ""])


# -- clear-signed text: what gpg hashes and what it shows ------------------------------------
# gpg reads the text line by line (a line ends at "\n"). It hashes each line without its
# trailing spaces, tabs and CRs, lines joined by CR LF, and the last line break not at
# all; it shows every line as given, with "- " before a line that starts with "-" or
# "From " (gpg's escape-from-lines default), and ends the text with a line break.


def canonical_text(text: str) -> bytes:
    """The bytes a text signature (class 0x01) of gpg's clear-signed `text` hashes."""
    body = text.removesuffix("\n")
    return "\r\n".join(line.rstrip(" \t\r") for line in body.split("\n")).encode("utf-8")


def clearsigned(text: str, key: SigningKey, signature: str) -> str:
    """`text`, dash-escaped, with the header and the armoured `signature` (a class 0x01 one)."""
    shown = "\n".join(f"- {line}" if line.startswith(("-", "From ")) else line
                      for line in text.split("\n"))
    if not shown.endswith("\n"):
        shown += "\n"
    return f"-----BEGIN PGP SIGNED MESSAGE-----\nHash: {key.hash_name}\n\n{shown}{signature}"


def _subpacket(kind: int, data: bytes) -> bytes:
    return bytes([len(data) + 1, kind]) + data  # every subpacket here is under 192 bytes


def _mpi(value: int) -> bytes:
    return value.bit_length().to_bytes(2, "big") + value.to_bytes((value.bit_length() + 7) // 8, "big")


def _old_format_packet(tag: int, body: bytes) -> bytes:
    # gpg writes signatures with old-format headers and the shortest length field.
    for length_type, size in enumerate((1, 2, 4)):
        if len(body) < 1 << (8 * size):
            return bytes([0x80 | tag << 2 | length_type]) + len(body).to_bytes(size, "big") + body
    raise ValueError("packet too long")


def _crc24_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte << 16
        for _ in range(8):
            crc = (crc << 1) ^ (0x1864CFB if crc & 0x800000 else 0)
        table.append(crc & 0xFFFFFF)
    return table


_CRC24_TABLE = _crc24_table()


def _crc24(data: bytes) -> int:
    """The armour checksum (RFC 4880 6.1)."""
    crc = 0xB704CE
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFF) ^ _CRC24_TABLE[(crc >> 16) ^ byte]
    return crc
