"""Multibase text for bytes: base58btc ('z', keys and signatures) and base64url ('u', status lists)."""

from __future__ import annotations

import base64

BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BASE58_VALUES = {char: value for value, char in enumerate(BASE58_ALPHABET)}


def encode_base58btc(data: bytes) -> str:
    """'z' + base58btc of `data` (Bitcoin alphabet, leading zero bytes kept as '1's)."""
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, digit = divmod(number, 58)
        digits.append(BASE58_ALPHABET[digit])
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "z" + "1" * zeros + "".join(reversed(digits))


def decode_base58btc(text: str) -> bytes:
    """The bytes of a 'z' multibase string; ValueError if it is not one."""
    if not text.startswith("z"):
        raise ValueError("not base58btc multibase (it must start with 'z')")
    body = text[1:]
    number = 0
    for char in body:
        if char not in _BASE58_VALUES:
            raise ValueError(f"{char!r} is not a base58btc character")
        number = number * 58 + _BASE58_VALUES[char]
    zeros = len(body) - len(body.lstrip("1"))
    return b"\0" * zeros + number.to_bytes((number.bit_length() + 7) // 8, "big")


def encode_base64url(data: bytes) -> str:
    """'u' + unpadded base64url of `data`."""
    return "u" + base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def decode_base64url(text: str) -> bytes:
    """The bytes of a 'u' multibase string; ValueError if it is not one."""
    if not text.startswith("u"):
        raise ValueError("not base64url multibase (it must start with 'u')")
    body = text[1:]
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except ValueError as error:  # binascii.Error is a ValueError
        raise ValueError(f"not base64url: {error}") from None
