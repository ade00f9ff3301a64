"""Every path of a legacy certificate, from validated IDs only (see sitegen/layout.py).

The old certificate agent laid a certificate out in two folders of its bucket:

    cert/<verify_uuid>/valid.html           the verification page it printed on the PDF
    cert/<verify_uuid>/verify.html          how to check the signature
    cert/<verify_uuid>/Certificate.pdf.sig  detached GPG signature of the PDF (old key)
    downloads/<download_uuid>/Certificate.pdf

sitegen writes `cert/<verify_uuid>/index.html`, `valid.html` and `verify.html` (the
verification page in the current theme); the PDF and its signature stay the old agent's:
sitegen never writes, uploads or deletes them, except to erase a purged certificate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sitegen.layout import LEGACY_CERT_DIR, LEGACY_DOWNLOADS_DIR, is_uuid

PDF_NAME = "Certificate.pdf"
PAGES = ("index.html", "valid.html", "verify.html")  # what sitegen writes in cert/<verify_uuid>/
OLD_PAGES = ("valid.html", "verify.html")  # the old agent's, replaced by sitegen's
SIGNATURE_NAME = "Certificate.pdf.sig"
# A PDF key as download_url may name it: downloads/<32 hex>/<plain file name>.pdf
_PDF_KEY = re.compile(rf"{LEGACY_DOWNLOADS_DIR}/([0-9a-f]{{32}})/([A-Za-z0-9][A-Za-z0-9._-]{{0,99}}\.pdf)")
_PRESERVED = re.compile(rf"(?:{LEGACY_DOWNLOADS_DIR}/[0-9a-f]{{32}}/[^/]+"
                        rf"|{LEGACY_CERT_DIR}/[0-9a-f]{{32}}/{re.escape(SIGNATURE_NAME)})")


@dataclass(frozen=True)
class LegacyPaths:
    """The site paths of one legacy certificate."""

    verify_uuid: str

    def __post_init__(self):
        if not is_uuid(self.verify_uuid):
            raise ValueError(f"not a verify_uuid (32 lowercase hex digits): {self.verify_uuid!r}")

    @property
    def folder(self) -> str:
        return f"{LEGACY_CERT_DIR}/{self.verify_uuid}"

    @property
    def page(self) -> str:
        """The URL path of the verification page: the folder, with its slash."""
        return self.folder + "/"

    def file(self, name: str) -> str:
        if name not in PAGES + (SIGNATURE_NAME,):
            raise ValueError(f"not a file of a legacy certificate: {name!r}")
        return f"{self.folder}/{name}"

    @property
    def pages(self) -> tuple[str, ...]:
        return tuple(self.file(name) for name in PAGES)

    @property
    def signature(self) -> str:
        return self.file(SIGNATURE_NAME)


def pdf_key(download_uuid: str, name: str = PDF_NAME) -> str:
    key = f"{LEGACY_DOWNLOADS_DIR}/{download_uuid}/{name}"
    if not _PDF_KEY.fullmatch(key):
        raise ValueError(f"not a legacy PDF key: {key!r}")
    return key


def pdf_key_in(path: str) -> tuple[str, str] | None:
    """(download_uuid, file name) of a URL path ending in downloads/<uuid>/<name>.pdf."""
    match = _PDF_KEY.search(path)
    return (match.group(1), match.group(2)) if match and match.end() == len(path) else None


def is_pdf_key(key: str) -> bool:
    return _PDF_KEY.fullmatch(key) is not None


def is_preserved_legacy_key(key: str) -> bool:
    """An object of the old agent's that sitegen never uploads and never deletes in a
    normal publish: a PDF under downloads/ (or any file there) and an old signature."""
    return _PRESERVED.fullmatch(key) is not None
