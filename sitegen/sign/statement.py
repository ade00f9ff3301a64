"""The plain-text statement that is clear-signed and published as statement.txt.asc.

One `Key: value` line per field, always all fields, always in this order, so a program
(`parse_statement`, or a shell one-liner) can read it. Values come from records and
site.yml and are untrusted: `clean_value` makes each of them one line, so a learner's
name cannot add a field or an armour line.
"""

from __future__ import annotations

import re
import textwrap
import unicodedata
from collections.abc import Callable

from sitegen.layout import KEY_FILE
from sitegen.model import Site
from sitegen.render.view import CertificateView

HEADER = "sitegen credential statement, version 2"
HEADER_V1 = "sitegen credential statement, version 1"  # before "Revocation date"; still read
# (label in the text, key in parse_statement's dict), in the order they are written.
FIELDS = (
    ("Issuer", "issuer"),
    ("Site", "site"),
    ("Recipient", "recipient"),
    ("Credential", "credential"),
    ("Type", "type"),
    ("Mode", "mode"),
    ("Issued", "issued"),
    ("Expires", "expires"),
    ("Status", "status"),
    ("Revocation reason", "revocation_reason"),
    ("Revocation date", "revocation_date"),
    ("Credential ID", "credential_id"),
    ("Credential URL", "credential_url"),
    ("PDF SHA-256", "pdf_sha256"),
    ("Signing key", "signing_key"),
)
FIELDS_V1 = tuple(field for field in FIELDS if field[1] != "revocation_date")
NONE = "none"
NO_PDF_REVOKED = "none: revoked"

# Explicit bidi embeddings and overrides, and the BOM: they can make a line display in
# an order other than the one it is read in. Marks and joiners (ZWJ, ZWNJ, LRM, RLM) stay:
# names in Persian, Indic scripts and mixed scripts need them.
_INVISIBLE = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"))
_LINE_BREAKING = ("Cc", "Zl", "Zp")  # \n, \r, \x85, \u2028, \u2029, other controls


def clean_value(value: str) -> str:
    """One line of text: line breaks and controls become spaces, runs of spaces one."""
    value = value.translate(_INVISIBLE)
    value = "".join(" " if unicodedata.category(c) in _LINE_BREAKING else c for c in value)
    return " ".join(value.split()) or NONE


def statement_text(view: CertificateView, site: Site, pdf_sha256: str | None,
                   fingerprint: str, absolute_url: Callable[[str], str]) -> str:
    if pdf_sha256 is not None and not re.fullmatch(r"[0-9a-f]{64}", pdf_sha256):
        raise ValueError(f"not a SHA-256 hex digest: {pdf_sha256!r}")
    if not re.fullmatch(r"[0-9A-F]{40}", fingerprint):
        raise ValueError(f"not a key fingerprint: {fingerprint!r}")
    if pdf_sha256 is None:
        pdf_sha256 = NO_PDF_REVOKED if view.status == "revoked" else NONE
    values = {
        "issuer": view.organization_name,
        "site": site.name,
        "recipient": view.recipient_name,
        "credential": view.title,
        "type": view.kind_label,
        "mode": view.mode_label or NONE,
        "issued": view.issued.isoformat(),
        "expires": view.expires.isoformat() if view.expires else "never",
        "status": view.status,
        "revocation_reason": view.revocation_reason or NONE,
        "revocation_date": view.revocation_date.isoformat() if view.revocation_date else NONE,
        "credential_id": view.uuid,
        "credential_url": absolute_url(view.paths.page),
        "pdf_sha256": pdf_sha256,
        "signing_key": fingerprint,
    }
    lines = [HEADER, ""]
    lines += [f"{label}: {clean_value(values[key])}" for label, key in FIELDS]
    lines += ["", *textwrap.wrap(_how_to_check(absolute_url(KEY_FILE)), 72)]
    return "\n".join(lines) + "\n"


def _how_to_check(key_url: str) -> str:
    return (
        f"How to check: this statement is signed with the key above, published at "
        f"{key_url}. Import it (gpg --import signing-key.asc), then run "
        f"gpg --verify statement.txt.asc, and for the PDF gpg --verify "
        f"certificate.pdf.sig certificate.pdf; sha256sum certificate.pdf must print the "
        f"PDF SHA-256 above. The status is as of this statement; the page at the "
        f"Credential URL always shows the current one."
    )


def parse_statement(text: str) -> dict[str, str]:
    """The fields of a statement (the signed text, without armour), by their dict keys.

    Strict: the header, then exactly the known fields in order, then a blank line.
    Raises ValueError on anything else, so a statement that parses was written by
    `statement_text`.
    """
    lines = [line.rstrip("\r") for line in text.split("\n")]
    known = {HEADER: FIELDS, HEADER_V1: FIELDS_V1}
    if lines[:1] and lines[0] in known:
        expected = known[lines[0]]
    else:
        raise ValueError("not a sitegen credential statement (unknown header)")
    if len(lines) < len(expected) + 3:
        raise ValueError("statement is truncated")
    if lines[1] != "":
        raise ValueError("not a sitegen credential statement (unknown header)")
    fields = {"revocation_date": NONE}
    for line, (label, key) in zip(lines[2:], expected):
        if not line.startswith(f"{label}: "):
            raise ValueError(f"statement: expected the {label!r} field, found {line[:40]!r}")
        fields[key] = line[len(label) + 2:].strip()
    rest = lines[2 + len(expected):]
    if rest[0] != "" or HEADER in rest or HEADER_V1 in rest:
        raise ValueError("statement: unexpected lines after the fields")
    return fields
