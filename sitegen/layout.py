"""Where everything is published: every path of the site, declared once.

Published paths are a promise: they are printed on PDFs and shared on LinkedIn, so they
must never change by accident. Every stage asks this module for them (render for links,
the build state for what a credential owns, the writer, publish for aliases and types,
`sitegen verify`, and the verify page's script through `verify_page_config`).

Paths are relative to the site root (the output folder, or the bucket prefix), without a
leading slash. A credential's paths are only ever made from a validated UUID: a UUID is
never trusted as a path.

Adding an output kind to every credential is one entry in `CREDENTIAL_OUTPUTS`.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

UUID_PATTERN = re.compile(r"[0-9a-f]{32}")
SHA256_PATTERN = re.compile(r"[0-9a-f]{64}")
_LOWER_HEX = re.compile(r"[0-9a-f]*")

CREDENTIALS_DIR = "credentials"


@dataclass(frozen=True)
class OutputKind:
    """One file every credential may have, and where it lives."""

    name: str
    pattern: str  # "{uuid}", or "{sha256}" of the output `named_by`, filled in per credential
    made_when: str  # "always", "signed" (not in a pages-only build), "pdf" (signed, not revoked)
    description: str
    named_by: str | None = None  # the output kind whose SHA-256 names the file
    shared: bool = False  # one file for many credentials: never removed with one of them


# The order is the order of writing: a page never links to a file not written yet.
CREDENTIAL_OUTPUTS: dict[str, OutputKind] = {kind.name: kind for kind in (
    OutputKind("pdf", "credentials/{uuid}/certificate.pdf", "pdf", "the PDF"),
    OutputKind("signature", "credentials/{uuid}/certificate.pdf.sig", "pdf",
               "ASCII-armoured detached GPG signature of the PDF"),
    OutputKind("pdf_hash", "api/v1/pdf-sha256/{sha256}", "pdf",
               "{\"uuid\": ...}: finds a credential by its PDF's bytes, one hash at a time", named_by="pdf"),
    OutputKind("statement", "credentials/{uuid}/statement.txt.asc", "signed", "clear-signed statement"),
    # The card shows no learner's name: one file serves every credential of a course, mode
    # and status, named by its bytes (600k credentials, a few hundred cards).
    OutputKind("share_image", "cards/{sha256}.png", "signed", "the link preview card, shared",
               named_by="share_image", shared=True),
    OutputKind("credential", "credentials/{uuid}/credential.json", "signed",
               "Open Badges 3.0 verifiable credential (W3C VC 2.0, eddsa-rdfc-2022, issuer did:web)"),
    OutputKind("assertion", "credentials/{uuid}/assertion.json", "always", "Open Badges 2.0 hosted assertion"),
    OutputKind("api", "api/v1/credentials/{uuid}", "always", "JSON in the Credentials API's public shape"),
    OutputKind("page", "credentials/{uuid}/index.html", "always", "the certificate page"),
)}
SHARE_CARDS_DIR = "cards"
OUTPUT_ORDER = tuple(CREDENTIAL_OUTPUTS)

# Site-wide files.
KEY_FILE = "keys/signing-key.asc"
KEYS_PAGE = "keys/index.html"
VERIFY_PAGE = "verify/index.html"
NOT_FOUND_PAGE = "404.html"
ASSETS_DIR = "assets"
# Folders whose names start with a dot that are published all the same (dot-folders are
# otherwise bookkeeping, never uploaded): did:web resolves the DID document there.
PUBLISHED_DOT_FOLDERS = (".well-known",)
STATUS_LISTS_DIR = "status"  # the signed revocation lists of the verifiable credentials

# Legacy edX certificates (sitegen/legacy/paths.py): the old agent's folders, at their old URLs.
LEGACY_CERT_DIR = "cert"  # cert/<verify_uuid>/: verification pages (+ the old Certificate.pdf.sig)
LEGACY_DOWNLOADS_DIR = "downloads"  # downloads/<download_uuid>/Certificate.pdf: never sitegen's

# The output folders, relative to the project: what publish uploads, and previews
# (pages only, or another base URL), which are kept apart so they can never be published.
BUILD_DIR = "build"
PREVIEW_DIR = "build/.preview"

# Build bookkeeping inside the output folder: never published.
STATE_DIR = ".sitegen"
STATE_FILE = f"{STATE_DIR}/state.json"
LAST_BUILD_FILE = f"{STATE_DIR}/last-build.json"
RECORDS_CACHE_DIR = f"{STATE_DIR}/records"
IN_PROGRESS_FILE = f"{STATE_DIR}/build-in-progress"
LEGACY_URL_MAP_FILE = f"{STATE_DIR}/legacy-url-map.csv"  # lists verify_uuids: never published
LEGACY_ERASE_FILE = f"{STATE_DIR}/legacy-erase.json"  # what publish erases in the bucket: never published
LEGACY_STATE_FILE = f"{STATE_DIR}/legacy-state.json"  # sitegen/legacy/state.py
LEGACY_ROWS_DIR = f"{STATE_DIR}/legacy-rows"  # the exports' rows as first read (sitegen/legacy/read_cache.py)
PUBLISH_DIGESTS_FILE = f"{STATE_DIR}/publish-digests.json"  # the MD5s publish read last time

_PAGE_FILE = re.compile(r"credentials/([0-9a-f]{32})/index\.html")
_PAGE_ALIAS = re.compile(r"(?:credentials|cert)/[0-9a-f]{32}/?")  # cert/: legacy verification pages
_LEGACY_PAGE_FILE = re.compile(r"cert/([0-9a-f]{32})/index\.html")
_SHARE_CARD = re.compile(r"cards/[0-9a-f]{64}\.png")


@functools.cache  # asked for every credential of every build: four possible answers
def expected_outputs(*, signed: bool, has_pdf: bool) -> tuple[str, ...]:
    """The output kinds a credential has: no PDF when revoked, nothing signed in previews."""
    made = {"always": True, "signed": signed, "pdf": signed and has_pdf}
    return tuple(kind.name for kind in CREDENTIAL_OUTPUTS.values() if made[kind.made_when])


def is_uuid(value: object) -> bool:
    return isinstance(value, str) and UUID_PATTERN.fullmatch(value) is not None


def is_sha256(value: object) -> bool:
    return isinstance(value, str) and SHA256_PATTERN.fullmatch(value) is not None


def are_uuids(values: list) -> bool:
    """`is_uuid` of every value, in a few passes in C (100k of them read from a cache)."""
    return _all_hex(values, 32)


def are_sha256s(values: list) -> bool:
    """`is_sha256` of every value, as `are_uuids`."""
    return _all_hex(values, 64)


def _all_hex(values: list, length: int) -> bool:
    # Each a string of `length` characters, and all of them end to end lowercase hex digits.
    if not values:
        return True
    if set(map(type, values)) != {str} or set(map(len, values)) != {length}:
        return False
    return _LOWER_HEX.fullmatch("".join(values)) is not None


def is_site_path(value: object) -> bool:
    """A path inside the site, as the build names its files ("verify/index.html"): relative,
    no "." or ".." part, nothing a file name must not hold."""
    return (isinstance(value, str) and "\\" not in value and "\0" not in value
            and all(part not in ("", ".", "..") for part in value.split("/")))


def output_file(kind: str, uuid: str, sha256: str | None = None) -> str:
    """The file of output `kind` of the credential `uuid`, an ID already checked (the build
    state's IDs are, when it is read)."""
    if CREDENTIAL_OUTPUTS[kind].named_by and not is_sha256(sha256):
        raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
    return CREDENTIAL_OUTPUTS[kind].pattern.format(uuid=uuid, sha256=sha256)


def output_file_parts(kind: str) -> tuple[str, str]:
    """`output_file` of `kind` as the text before and after the credential's ID (or, for a
    kind named by a digest, the SHA-256 that names it)."""
    name = "{sha256}" if CREDENTIAL_OUTPUTS[kind].named_by else "{uuid}"
    before, _, after = CREDENTIAL_OUTPUTS[kind].pattern.partition(name)
    return before, after


@dataclass(frozen=True)
class CredentialPaths:
    """Every site path of one credential."""

    uuid: str

    def __post_init__(self):
        if not is_uuid(self.uuid):
            raise ValueError(f"not a credential ID (32 lowercase hex digits): {self.uuid!r}")

    @property
    def folder(self) -> str:
        return f"{CREDENTIALS_DIR}/{self.uuid}"

    @property
    def page(self) -> str:
        """The URL path people share: the folder, with its slash."""
        return self.folder + "/"

    def output(self, kind: str, sha256: str | None = None) -> str:
        """The file of output `kind`; a kind named by a digest (the hash index by the PDF's,
        the share card by its own) needs that SHA-256."""
        return output_file(kind, self.uuid, sha256)

    def outputs(self, digests: dict[str, str]) -> dict[str, str]:
        """kind -> file, for the kinds in `digests` (kind -> SHA-256 of its bytes)."""
        return {kind: self.output(kind, digests.get(CREDENTIAL_OUTPUTS[kind].named_by or ""))
                for kind in OUTPUT_ORDER if kind in digests}

    @property
    def page_file(self) -> str:
        return self.output("page")

    @property
    def pdf(self) -> str:
        return self.output("pdf")

    @property
    def signature(self) -> str:
        return self.output("signature")

    @property
    def statement(self) -> str:
        return self.output("statement")

    @property
    def api(self) -> str:
        return self.output("api")

    @property
    def credential(self) -> str:
        return self.output("credential")

    @property
    def assertion(self) -> str:
        return self.output("assertion")

    def pdf_hash(self, pdf_sha256: str) -> str:
        return self.output("pdf_hash", pdf_sha256)


def pdf_hash_path(pdf_sha256: str) -> str:
    """The hash-index entry of a PDF, whoever it belongs to."""
    if not is_sha256(pdf_sha256):
        raise ValueError(f"not a SHA-256 hex digest: {pdf_sha256!r}")
    return CREDENTIAL_OUTPUTS["pdf_hash"].pattern.format(uuid="", sha256=pdf_sha256)


PDF_HASH_DIR = pdf_hash_path("0" * 64).rsplit("/", 1)[0]


def status_list_path(number: int) -> str:
    """The status list numbered `number` (from 1): each holds the bits of MIN_ENTRIES indexes."""
    if not isinstance(number, int) or number < 1:
        raise ValueError(f"not a status list number: {number!r}")
    return f"{STATUS_LISTS_DIR}/{number}.json"


def share_card_path(card_sha256: str) -> str:
    return CredentialPaths("0" * 32).output("share_image", card_sha256)


def is_share_card(key: str) -> bool:
    """A share card is named by its bytes: it never changes, so caches may keep it forever."""
    return _SHARE_CARD.fullmatch(key) is not None
API_CREDENTIALS_DIR = CredentialPaths("0" * 32).api.rsplit("/", 1)[0]


def site_links() -> dict[str, str]:
    """The site's own pages as templates link them (`url(site_paths.verify)`)."""
    return {
        "verify": VERIFY_PAGE.removesuffix("index.html"),
        "keys": KEYS_PAGE.removesuffix("index.html"),
        "key_file": KEY_FILE,
        "credentials": CREDENTIALS_DIR + "/",
    }


def page_aliases(key: str) -> tuple[str, ...]:
    """Bucket keys that also serve a certificate page, so the printed URL works with or
    without its slash on plain S3 (a file and a folder cannot share a name in build/)."""
    match = _PAGE_FILE.fullmatch(key) or _LEGACY_PAGE_FILE.fullmatch(key)
    if not match:
        return ()
    folder = key.removesuffix("/index.html")  # credentials/<uuid> or cert/<verify_uuid>
    return (folder, folder + "/")


def is_page_alias(key: str) -> bool:
    return _PAGE_ALIAS.fullmatch(key) is not None


def is_extensionless_json(key: str) -> bool:
    """API records have no extension (`api/v1/credentials/<uuid>`): they are JSON."""
    return key.startswith("api/") and "." not in key.rsplit("/", 1)[-1]


def verify_page_config() -> dict[str, str]:
    """The layout as the verify page's script reads it (embedded in the page as JSON),
    so the browser and `sitegen verify` look credentials up the same way."""
    sample = CredentialPaths("0" * 32)
    return {
        "credentialPage": sample.page.replace(sample.uuid, "{uuid}"),
        "credentialApi": sample.api.replace(sample.uuid, "{uuid}"),
        "credentialJson": sample.credential.replace(sample.uuid, "{uuid}"),
        "pdfHash": pdf_hash_path("0" * 64).replace("0" * 64, "{sha256}"),
        "keyFile": KEY_FILE,
    }
