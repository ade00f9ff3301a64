"""Revocation by a W3C Bitstring Status List: one bit per credential, 1 = revoked.

The list is published as a `BitstringStatusListCredential`, signed like the credentials. It has
at least 131,072 entries (the spec's minimum, for herd privacy: a verifier who fetches it learns
nothing about which credential it is checking), GZIP-compressed, then multibase base64url.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable

from sitegen.vc.loader import CREDENTIALS_V2
from sitegen.vc.multibase import decode_base64url, encode_base64url

MIN_ENTRIES = 131_072
STATUS_PURPOSE = "revocation"


def encode_status_list(revoked: Iterable[int], size: int = MIN_ENTRIES) -> str:
    """The `encodedList` with the bits of `revoked` set; index 0 is the first byte's highest bit."""
    if size < MIN_ENTRIES or size % 8:
        raise ValueError(f"a status list has at least {MIN_ENTRIES} entries, a multiple of 8 (not {size})")
    bits = bytearray(size // 8)
    for index in revoked:
        if not 0 <= index < size:
            raise ValueError(f"status index {index} is outside the list (0 to {size - 1})")
        bits[index // 8] |= 0x80 >> (index % 8)
    # mtime=0: the same revocations give the same bytes, and so the same signed file.
    return encode_base64url(gzip.compress(bytes(bits), compresslevel=9, mtime=0))


def decode_status_list(encoded: str) -> bytes:
    """The bitstring of an `encodedList`; ValueError if it is not multibase base64url GZIP."""
    try:
        return gzip.decompress(decode_base64url(encoded))
    except (OSError, EOFError) as error:  # gzip.BadGzipFile is an OSError
        raise ValueError(f"the status list is not GZIP data: {error}") from None


def is_set(bitstring: bytes, index: int) -> bool:
    """The bit at `index` (IndexError beyond the list)."""
    if not 0 <= index < len(bitstring) * 8:
        raise IndexError(f"status index {index} is outside the list of {len(bitstring) * 8} entries")
    return bool(bitstring[index // 8] & (0x80 >> (index % 8)))


def status_list_document(url: str, issuer_did: str, revoked: Iterable[int], valid_from: str,
                         size: int = MIN_ENTRIES) -> dict:
    """The unsigned `BitstringStatusListCredential` published at `url`.

    `valid_from` (an XML Schema dateTime) is best derived from the revocations themselves, such as
    the day of the latest one, so that a rebuild with nothing new gives the same bytes.
    """
    return {
        "@context": [CREDENTIALS_V2],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer_did,
        "validFrom": valid_from,
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": STATUS_PURPOSE,
            "encodedList": encode_status_list(revoked, size),
        },
    }
