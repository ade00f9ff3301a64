"""`sitegen verify PDF_OR_URL`: is this certificate genuine, and what is its status?

The evidence is what the issuer's site publishes, read from a local build folder or
fetched over HTTP(S): its public key, the PDF's detached signature and the clear-signed
statement. gpg checks the signatures in a fresh temporary GNUPGHOME that holds only the
site's public key, so nothing in the user's own keyring can vouch for anything.

Every credential ID taken from a PDF, a URL or the site is checked to be 32 lowercase hex
digits before it is used in a path or a URL.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from pypdf import PdfReader

from sitegen import __version__
from sitegen.errors import SitegenError
from sitegen.layout import KEY_FILE, CredentialPaths, is_uuid, pdf_hash_path
from sitegen.sign.gpg import DEV_KEY_COMMENT, gpg_message, open_gpg
from sitegen.sign.statement import NONE, parse_statement

VALID, INVALID, REVOKED, EXPIRED, UNKNOWN = "valid", "invalid", "revoked", "expired", "unknown"
MAX_DOWNLOAD = 50 * 1024 * 1024
_CREDENTIAL_PATH = re.compile(r"(?P<prefix>/(?:.*/)?)credentials/(?P<id>[^/]+)(?:/(?:index\.html)?)?")
_URL_IN_TEXT = re.compile(r"https?://[^\s<>\"']+")
# Only the site's public key is in the keyring; gpg must not fetch or start anything.
_VERIFY_OPTIONS = ("--no-autostart", "--no-auto-key-retrieve", "--trust-model", "always")


@dataclass(frozen=True)
class Verification:
    """The answer, for people (`report`) and programs (`verdict`, `exit_code`)."""

    verdict: str  # valid, invalid (not genuine), revoked, expired or unknown
    reason: str  # one line: why
    uuid: str | None = None
    recipient: str | None = None
    title: str | None = None
    issuer: str | None = None
    issued: dt.date | None = None
    expires: dt.date | None = None
    revocation_reason: str | None = None
    credential_url: str | None = None
    fingerprint: str | None = None  # the key that signed the evidence
    source: str | None = None  # where the evidence came from: a build folder or a base URL
    source_named_by_document: bool = False  # the PDF or URL itself chose the site
    development_key: bool = False

    @property
    def exit_code(self) -> int:
        return 0 if self.verdict == VALID else 1

    @property
    def report(self) -> str:
        headline = {
            VALID: "GENUINE and VALID",
            INVALID: "NOT GENUINE",
            REVOKED: "REVOKED",
            EXPIRED: "EXPIRED",
            UNKNOWN: "UNKNOWN",
        }[self.verdict]
        lines = [f"{headline}: {self.reason}"]
        details = [
            ("Recipient", self.recipient),
            ("Credential", self.title),
            ("Issuer", self.issuer),
            ("Issued", self.issued and self.issued.isoformat()),
            ("Expires", self.expires and self.expires.isoformat()),
            ("Revocation reason", self.revocation_reason),
            ("Credential ID", self.uuid),
            ("Credential URL", self.credential_url),
            ("Signing key", self.fingerprint),
            ("Checked against", self.source),
        ]
        lines += [f"  {label + ':':<18} {value}" for label, value in details if value]
        if self.source_named_by_document and self.source:
            lines.append(f"  The document itself names {self.source}: make sure that site "
                         "belongs to the issuer you expect.")
        if self.development_key:
            lines.append(f"  WARNING: the site signs with a development key ({DEV_KEY_COMMENT}): "
                         "its signatures prove nothing.")
        return "\n".join(lines)

    def as_json(self) -> dict:
        fields = {name: getattr(self, name) for name in self.__dataclass_fields__}
        for name in ("issued", "expires"):
            fields[name] = fields[name] and fields[name].isoformat()
        return {**fields, "exit_code": self.exit_code}


def verify_command(args) -> int:
    """`sitegen verify PDF_OR_URL [--build-dir DIR] [--site-url URL] [--json]`."""
    result = verify(args.target, build_dir=args.build_dir, base_url=args.site_url)
    if args.json:
        print(json.dumps(result.as_json(), ensure_ascii=False, indent=2))
    else:
        print(result.report)
    return result.exit_code


def verify(target: str | Path, *, build_dir: Path | None = None, base_url: str | None = None,
           today: dt.date | None = None, gpg_binary: str = "gpg") -> Verification:
    """Check a certificate PDF (a path) or a credential URL against the issuer's site.

    The site is `build_dir` (a local build) if given, else `base_url`, else the one the PDF
    or URL names (the report then says so).
    """
    today = today or dt.datetime.now(dt.timezone.utc).date()
    text = str(target)
    if re.match(r"https?://", text, re.IGNORECASE):
        return _verify_url(text, build_dir, base_url, today, gpg_binary)
    path = Path(target)
    if not path.is_file():
        raise SitegenError(f"{target}: no such file (give a certificate PDF or a credential URL)")
    return _verify_pdf(path.read_bytes(), build_dir, base_url, today, gpg_binary)


def _verify_url(url: str, build_dir, base_url, today, gpg_binary) -> Verification:
    named = parse_credential_url(url)
    if named is None:
        raise SitegenError(f"{url}: not a credential URL (expected .../credentials/<32 hex digits>/)")
    named_base, uuid = named
    site = _evidence_site(build_dir, base_url, named_base)
    with _Keyring(site, gpg_binary) as keyring:
        if keyring.problem:
            return site.answer(UNKNOWN, keyring.problem, uuid=uuid)
        return _judge(site, keyring, uuid, None, None, today)


def _verify_pdf(data: bytes, build_dir, base_url, today, gpg_binary) -> Verification:
    sha256 = hashlib.sha256(data).hexdigest()
    uuid, named_base = pdf_claim(data)
    site = _evidence_site(build_dir, base_url, named_base)
    if site is None:
        return Verification(UNKNOWN, "the PDF names no credential of a sitegen site; "
                            "give the issuer's site (base URL or build folder) to look it up")
    with _Keyring(site, gpg_binary) as keyring:
        if keyring.problem:
            return site.answer(UNKNOWN, keyring.problem, uuid=uuid)
        signature = _pdf_signature(site, keyring, uuid, data) if uuid else None
        if signature is None:
            # No ID in the PDF, or nothing published under it: the site also knows its
            # PDFs by their SHA-256, one at a time.
            by_hash = _uuid_by_sha256(site, sha256)
            if by_hash:
                uuid, signature = by_hash, _pdf_signature(site, keyring, by_hash, data)
        if uuid is None:
            return site.answer(INVALID, "the site never published this PDF (it names no "
                               "credential, and its SHA-256 is unknown to the site)")
        if signature is not None and not signature.good:
            return site.answer(INVALID, f"the PDF's signature does not match: {signature.problem}",
                               uuid=uuid, fingerprint=signature.fingerprint)
        return _judge(site, keyring, uuid, sha256, signature, today)


def _judge(site, keyring, uuid, sha256, signature, today) -> Verification:
    """The verdict from the credential's signed statement (and the PDF's signature)."""
    armored = site.read(CredentialPaths(uuid).statement)
    if armored is None:
        if signature is not None:
            return site.answer(UNKNOWN, "the PDF's signature is good, but the site publishes no "
                               "statement for it, so its status is unknown", uuid=uuid,
                               fingerprint=signature.fingerprint)
        return site.answer(UNKNOWN, f"the site has no credential {uuid} (it was withdrawn, "
                           "or the document is not genuine)", uuid=uuid)
    statement = keyring.statement(armored)
    if statement.problem:
        return site.answer(INVALID, statement.problem, uuid=uuid)
    fields = statement.fields
    facts = _facts(fields, uuid, statement.fingerprint, keyring.development_key)
    if fields["credential_id"] != uuid:
        return site.answer(INVALID, "the statement is about another credential", **facts)
    if fields["signing_key"] != statement.fingerprint:
        return site.answer(INVALID, "the statement names another signing key", **facts)
    if fields["status"] == REVOKED:
        return site.answer(REVOKED, "the issuer revoked this credential", **facts)
    if sha256 is not None and fields["pdf_sha256"] != sha256:
        return site.answer(INVALID, "this PDF is not the one the site's statement describes",
                           **facts)
    if fields["status"] == EXPIRED or (facts["expires"] and facts["expires"] < today):
        return site.answer(EXPIRED, f"the credential expired on {facts['expires']}", **facts)
    if fields["status"] != VALID:
        return site.answer(INVALID, f"the statement has an unknown status {fields['status']!r}",
                           **facts)
    what = "the PDF and its statement are signed" if sha256 else "its statement is signed"
    return site.answer(VALID, f"{what} by the issuer's key, and the credential is valid", **facts)


def _facts(fields: dict, uuid: str, fingerprint: str, development_key: bool) -> dict:
    return {
        "uuid": uuid,
        "recipient": fields["recipient"],
        "title": f"{fields['credential']} ({fields['type']}"
        + (f", {fields['mode']})" if fields["mode"] != NONE else ")"),
        "issuer": fields["issuer"],
        "issued": _date(fields["issued"]),
        "expires": None if fields["expires"] == "never" else _date(fields["expires"]),
        "revocation_reason": None if fields["revocation_reason"] == NONE
        else fields["revocation_reason"],
        "credential_url": fields["credential_url"],
        "fingerprint": fingerprint,
        "development_key": development_key,
    }


def _date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


# --- what the document says about itself -------------------------------------------------


def parse_credential_url(url: str) -> tuple[str, str] | None:
    """(base URL of the site, credential ID) from `https://host[/prefix]/credentials/<id>/`."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    if parts.username is not None or parts.password is not None:
        return None  # https://trusted.example@elsewhere/... is made to mislead
    match = _CREDENTIAL_PATH.fullmatch(parts.path)
    if not match or not is_uuid(match["id"]):
        return None
    return f"{parts.scheme.lower()}://{parts.netloc}{match['prefix']}", match["id"]


def pdf_claim(data: bytes) -> tuple[str | None, str | None]:
    """(credential ID, site base URL) the PDF's metadata names; None where unclear.

    sitegen writes /CredentialID and /CredentialURL; only without both is a credential
    URL looked for in /Subject (where a learner's name also appears). Contradicting
    values count as none: the bytes will decide (SHA-256 look-up).
    """
    try:
        info = PdfReader(io.BytesIO(data), strict=False).metadata or {}
        values = {key: str(info[key]) for key in ("/CredentialID", "/CredentialURL", "/Subject")
                  if key in info}
    except Exception:  # a damaged file can fail in many ways inside pypdf; it names nothing
        return None, None
    ids, bases = set(), set()
    if "/CredentialID" in values or "/CredentialURL" in values:
        if "/CredentialID" in values:
            ids.add(values["/CredentialID"].strip())
        if "/CredentialURL" in values:
            named = parse_credential_url(values["/CredentialURL"])
            ids.add(named[1] if named else None)
            bases.add(named[0] if named else None)
    else:
        for url in _URL_IN_TEXT.findall(values.get("/Subject", "")):
            named = parse_credential_url(url.rstrip(".,;)"))
            if named:
                bases.add(named[0])
                ids.add(named[1])
    uuid = ids.pop() if len(ids) == 1 else None
    base = bases.pop() if len(bases) == 1 else None
    return (uuid if is_uuid(uuid) else None), base


# --- where the evidence comes from --------------------------------------------------------


class _Files(Protocol):
    where: str

    def read(self, path: str) -> bytes | None: ...


class _LocalTree:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.where = str(self.root)

    def read(self, path: str) -> bytes | None:
        file = self.root / path
        return file.read_bytes() if file.is_file() else None


class _RemoteSite:
    def __init__(self, base_url: str):
        parts = urlsplit(base_url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise SitegenError(f"{base_url}: the site's base URL must be an http(s) URL")
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.where = self.base_url

    def read(self, path: str) -> bytes | None:
        url = self.base_url + path
        request = urllib.request.Request(url, headers={"User-Agent": f"sitegen-verify/{__version__}"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                body = response.read(MAX_DOWNLOAD + 1)
        except urllib.error.HTTPError as exc:
            if exc.code in (403, 404, 410):  # S3 answers 403 for a missing key
                return None
            raise SitegenError(f"{url}: HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise SitegenError(f"cannot fetch {url}: {getattr(exc, 'reason', exc)}") from None
        if len(body) > MAX_DOWNLOAD:
            raise SitegenError(f"{url}: larger than {MAX_DOWNLOAD // 2**20} MB")
        return body


class _Site:
    """The files of the issuer's site, and how to phrase an answer about them."""

    def __init__(self, files: _Files, named_by_document: bool):
        self.files = files
        self.named_by_document = named_by_document

    def read(self, path: str) -> bytes | None:
        return self.files.read(path)

    def answer(self, verdict: str, reason: str, **facts) -> Verification:
        return Verification(verdict, reason, source=self.files.where,
                            source_named_by_document=self.named_by_document, **facts)


def _evidence_site(build_dir, base_url, named_base) -> _Site | None:
    if build_dir is not None:
        return _Site(_LocalTree(build_dir), False)
    if base_url:
        return _Site(_RemoteSite(base_url), False)
    if named_base:
        return _Site(_RemoteSite(named_base), True)
    return None


def _uuid_by_sha256(site: _Site, sha256: str) -> str | None:
    body = site.read(pdf_hash_path(sha256))
    try:
        uuid = json.loads(body)["uuid"] if body else None
    except (ValueError, TypeError, KeyError):
        return None
    return uuid if is_uuid(uuid) else None


# --- signatures -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Signature:
    good: bool
    fingerprint: str | None
    problem: str | None = None


@dataclass(frozen=True)
class _Statement:
    fields: dict | None
    fingerprint: str | None
    problem: str | None = None


def _pdf_signature(site: _Site, keyring: _Keyring, uuid: str, data: bytes) -> _Signature | None:
    signature = site.read(CredentialPaths(uuid).signature)
    return None if signature is None else keyring.detached(signature, data)


class _Keyring:
    """A temporary GNUPGHOME holding only the public key the site publishes."""

    def __init__(self, site: _Site, gpg_binary: str):
        self._site = site
        self._gpg_binary = gpg_binary
        self.problem: str | None = None
        self.development_key = False

    def __enter__(self) -> _Keyring:
        self._tmp = tempfile.TemporaryDirectory(prefix="sitegen-verify-")
        self.home = Path(self._tmp.name)
        self._gpg = open_gpg(self.home, self._gpg_binary, extra_options=_VERIFY_OPTIONS)
        key = self._site.read(KEY_FILE)
        if key is None:
            self.problem = f"the site publishes no signing key ({KEY_FILE})"
            return self
        imported = self._gpg.import_keys(key)
        if not imported.fingerprints:
            self.problem = f"the site's {KEY_FILE} holds no usable public key"
            return self
        self.development_key = any(
            f"({DEV_KEY_COMMENT})" in uid for k in self._gpg.list_keys() for uid in k["uids"]
        )
        return self

    def __exit__(self, *exc) -> None:
        self._tmp.cleanup()

    def detached(self, signature: bytes, data: bytes) -> _Signature:
        sig_file = self.home / "certificate.pdf.sig"
        sig_file.write_bytes(signature)
        fingerprint, problem = _checked(self._gpg.verify_data(str(sig_file), data))
        return _Signature(problem is None, fingerprint, problem)

    def statement(self, armored: bytes) -> _Statement:
        # Decrypting a clear-signed text outputs exactly what was signed, nothing around it.
        result = self._gpg.decrypt(armored)
        fingerprint, problem = _checked(result)
        if problem:
            return _Statement(None, fingerprint, f"the statement's signature is bad: {problem}")
        try:
            fields = parse_statement(result.data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            return _Statement(None, fingerprint, f"the statement cannot be read: {exc}")
        return _Statement(fields, fingerprint)


def _checked(result) -> tuple[str | None, str | None]:
    """(primary key fingerprint, None) for a good signature, else (..., what is wrong)."""
    fingerprint = result.pubkey_fingerprint or result.fingerprint
    if result.valid and result.returncode == 0 and fingerprint:
        return fingerprint, None
    if result.status == "no public key":
        return fingerprint, "it was not made with the key the site publishes"
    return fingerprint, result.status or gpg_message(result.stderr)
