"""`sitegen verify PDF_OR_URL`: is this certificate genuine, and what is its status?

The evidence is what the issuer's site publishes, read from a local build folder or
fetched over HTTP(S): its public key, the PDF's detached signature and the clear-signed
statement. gpg checks the signatures in a fresh temporary GNUPGHOME that holds only the
trusted public key, so nothing in the user's own keyring can vouch for anything.

Trust comes from the user, never from the document. A PDF or URL names a site, and anyone
can build a site (or copy an old one) that vouches for its own documents. So the answer is
"valid" only against an issuer the user named: `--site-url` (that site and the key it
publishes), `--build-dir` (a local build, the issuer's own), `--key` or `--fingerprint`
(the issuer's key: the site is then the one the document names, and the issuer's signed
statement must place the credential on it), or an issuer list (`--issuers FILE`: sites and
their pinned fingerprints). Against the document's own site alone the verdict is
"unverified", never exit status 0.

Whatever the anchor, the signed statement's Credential URL must be this credential's URL
on the site consulted: a copy of genuine evidence served elsewhere (an old statement of a
since revoked credential, say) does not count there.

Downloads follow no redirect to another host (nor from https to http), stop at a total
deadline (`--timeout`, SITEGEN_VERIFY_TIMEOUT, default 20 s) however slowly the server
trickles bytes, and at a size cap.

Every credential ID taken from a PDF, a URL or the site is checked to be 32 lowercase hex
digits before it is used in a path or a URL.

A PDF that carries its verifiable credential (credential.json, embedded by signed builds) has
it checked too, as `sitegen verify credential.json` checks one, against the same issuer, and
against the PDF's own evidence: it must be the credential the signed statement is about. One
that is not genuine, or is another's, makes the PDF not genuine, whatever else says.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import http.client
import io
import json
import os
import re
import socket
import ssl
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from pypdf import PdfReader

from sitegen import __version__
from sitegen.errors import SitegenError
from sitegen.layout import CREDENTIALS_DIR, KEY_FILE, CredentialPaths, is_uuid, pdf_hash_path
from sitegen.load.yamlsource import YamlSyntaxError, load_yaml
from sitegen.sign.gpg import DEV_KEY_COMMENT, gpg_message, open_gpg
from sitegen.sign.statement import NONE, parse_statement
from sitegen.vc.embedded import FILE_NAME, EmbeddedError, embedded_credential

VALID, INVALID, REVOKED, EXPIRED, UNKNOWN = "valid", "invalid", "revoked", "expired", "unknown"
UNVERIFIED = "unverified"  # only the document's own site vouched for it
HEADLINES = {
    VALID: "GENUINE and VALID",
    INVALID: "NOT GENUINE",
    REVOKED: "REVOKED",
    EXPIRED: "EXPIRED",
    UNKNOWN: "UNKNOWN",
    UNVERIFIED: "UNVERIFIED",
}
# What the report says of a PDF's embedded credential.
EMBEDDED_HEADLINES = {VALID: "verified", INVALID: "NOT GENUINE", REVOKED: "REVOKED", EXPIRED: "EXPIRED",
                      UNKNOWN: "could not be checked", UNVERIFIED: "unverified"}
MAX_DOWNLOAD = 50 * 1024 * 1024
TIMEOUT_ENV = "SITEGEN_VERIFY_TIMEOUT"
DEFAULT_TIMEOUT = 20.0  # seconds for one download, redirects included
MAX_REDIRECTS = 5
HOW_TO_NAME_THE_ISSUER = (
    "name the issuer yourself: --site-url URL (its site, as you know it, not as the document "
    "says), --key FILE or --fingerprint FPR (its signing key), or --issuers FILE")
_CREDENTIAL_PATH = re.compile(rf"(?P<prefix>/(?:.*/)?){re.escape(CREDENTIALS_DIR)}/(?P<id>[^/]+)(?:/(?:index\.html)?)?")
_URL_IN_TEXT = re.compile(r"https?://[^\s<>\"']+")
_FINGERPRINT = re.compile(r"[0-9A-F]{40}|[0-9A-F]{64}")
# Only the trusted public key is in the keyring; gpg must not fetch or start anything.
_VERIFY_OPTIONS = ("--no-autostart", "--no-auto-key-retrieve", "--trust-model", "always")


@dataclass(frozen=True)
class EmbeddedCredential:
    """The verifiable credential a PDF carries: its verdict, as `sitegen verify credential.json`
    gives it and against the PDF's own evidence."""

    verdict: str  # as Verification.verdict
    reason: str
    credential_url: str | None = None  # its id: where it says it is published
    found: str | None = None  # unverified: the verdict of the site it names

    @property
    def report(self) -> str:
        return f"{EMBEDDED_HEADLINES[self.verdict]}: {self.reason}"


@dataclass(frozen=True)
class Verification:
    """The answer, for people (`report`) and programs (`verdict`, `exit_code`)."""

    verdict: str  # valid, invalid (not genuine), revoked, expired, unknown or unverified
    reason: str  # one line: why
    uuid: str | None = None
    recipient: str | None = None
    title: str | None = None
    issuer: str | None = None
    issued: dt.date | None = None
    expires: dt.date | None = None
    revocation_reason: str | None = None
    revocation_date: dt.date | None = None
    credential_url: str | None = None
    fingerprint: str | None = None  # the key that signed the evidence
    source: str | None = None  # where the evidence came from: a build folder or a base URL
    source_named_by_document: bool = False  # the PDF or URL itself chose the site
    trust: str | None = None  # why that site and key were believed (the option the user gave)
    trusted_keys: tuple[str, ...] = ()  # fingerprints of the keys the check accepted
    key_source: str | None = None  # where those keys came from
    found: str | None = None  # unverified: the verdict the document's own site gave
    warnings: tuple[str, ...] = ()
    development_key: bool = False
    embedded_credential: EmbeddedCredential | None = None  # a PDF's credential.json, if it carries one

    @property
    def exit_code(self) -> int:
        return 0 if self.verdict == VALID else 1

    @property
    def report(self) -> str:
        lines = [f"{HEADLINES[self.verdict]}: {self.reason}"]
        if self.found:
            lines.append(f"  What that site says: {HEADLINES[self.found]} (not to be relied on)")
        signer = self.fingerprint
        keys = ", ".join(self.trusted_keys) or None
        details = [
            ("Recipient", self.recipient),
            ("Credential", self.title),
            ("Issuer", self.issuer),
            ("Issued", self.issued and self.issued.isoformat()),
            ("Expires", self.expires and self.expires.isoformat()),
            ("Revocation reason", self.revocation_reason),
            ("Revoked on", self.revocation_date and self.revocation_date.isoformat()),
            ("Credential ID", self.uuid),
            ("Credential URL", self.credential_url),
            ("Embedded credential", self.embedded_credential and self.embedded_credential.report),
            ("Signing key", signer and (f"{signer} (from {self.key_source})" if self.key_source else signer)),
            ("Trusted key", keys and signer not in self.trusted_keys
             and (f"{keys} (from {self.key_source})" if self.key_source else keys)),
            ("Checked against", self.source),
            ("Trusted because", self.trust),
        ]
        lines += [f"  {label + ':':<20} {value}" for label, value in details if value]
        lines += [f"  Warning: {warning}" for warning in self.warnings]
        if self.development_key:
            lines.append(f"  WARNING: the site signs with a development key ({DEV_KEY_COMMENT}): "
                         "its signatures prove nothing.")
        return "\n".join(lines)

    def as_json(self) -> dict:
        fields = {name: getattr(self, name) for name in self.__dataclass_fields__}
        for name in ("issued", "expires", "revocation_date"):
            fields[name] = fields[name] and fields[name].isoformat()
        for name in ("trusted_keys", "warnings"):
            fields[name] = list(fields[name])
        if self.embedded_credential is not None:
            fields["embedded_credential"] = dataclasses.asdict(self.embedded_credential)
        return {**fields, "exit_code": self.exit_code}


def verify_command(args) -> int:
    """`sitegen verify PDF_OR_URL [--site-url URL] [--build-dir DIR] [--key FILE]
    [--fingerprint FPR] [--issuers FILE] [--timeout S] [--json]`."""
    result = verify(args.target, build_dir=args.build_dir, base_url=args.site_url,
                    key_file=getattr(args, "key", None), fingerprint=getattr(args, "fingerprint", None),
                    issuers=getattr(args, "issuers", None), timeout=getattr(args, "timeout", None))
    if args.json:
        print(json.dumps(result.as_json(), ensure_ascii=False, indent=2))
    else:
        print(result.report)
    return result.exit_code


def verify(target: str | Path, *, build_dir: Path | None = None, base_url: str | None = None,
           key_file: Path | None = None, fingerprint: str | None = None,
           issuers: Path | Sequence[Issuer] | None = None, today: dt.date | None = None,
           gpg_binary: str = "gpg", timeout: float | None = None) -> Verification:
    """Check a certificate PDF or Open Badges 3.0 credential (a path) or a credential URL
    against the issuer the user names.

    The evidence is read from `build_dir` if given, else from `base_url`, else from the site
    the document names. It is trusted only through what the user gave: the build folder,
    the base URL, the key file, the fingerprint, or an issuer list entry for the document's
    site; with none of these the verdict is at best "unverified".
    """
    today = today or dt.datetime.now(dt.UTC).date()
    trust = _TrustOptions(
        build_dir=Path(build_dir) if build_dir is not None else None,
        base_url=normalise_base_url(base_url, "--site-url") if base_url else None,
        key_file=Path(key_file) if key_file is not None else None,
        pin=normalise_fingerprint(fingerprint, "--fingerprint") if fingerprint else None,
        issuers=load_issuers(issuers) if isinstance(issuers, str | Path) else tuple(issuers or ()),
        timeout=download_timeout(timeout),
    )
    text = str(target)
    if re.match(r"https?://", text, re.IGNORECASE):
        named = parse_credential_url(text)
        if named is None:
            raise SitegenError(f"{text}: not a credential URL (expected .../credentials/<32 hex digits>/)")
        named_base, uuid = named
        anchor = _anchor(trust, named_base)
        result = _verify_url(anchor, uuid, today, gpg_binary)
        what = "the URL you were given"
    else:
        path = Path(target)
        if not path.is_file():
            raise SitegenError(f"{target}: no such file (give a certificate PDF or a credential URL)")
        data = path.read_bytes()
        if data.lstrip()[:1] in (b"{", b"["):
            return verify_badge(data, trust, today, str(target))
        uuid, named_base = pdf_claim(data)
        anchor = _anchor(trust, named_base)
        if anchor is None:
            return Verification(UNVERIFIED, "the PDF names no site, and no issuer's site was given: "
                                "name it with --site-url URL (the issuer's site, as you know it) "
                                "or --build-dir DIR (its build)")
        result = _verify_pdf(anchor, data, uuid, today, gpg_binary)
        result = _with_embedded_credential(result, data, trust, today)
        what = "the PDF"
    warnings = list(result.warnings)
    if named_base and anchor.base_url and not is_under(named_base, anchor.base_url):
        warnings.append(f"{what} names another site ({named_base}); the credential was looked "
                        f"up on {anchor.base_url}")
    result = dataclasses.replace(result, source=anchor.files.where, trust=anchor.trust,
                                 source_named_by_document=anchor.named_by_document,
                                 warnings=tuple(warnings))
    return result if anchor.trusted else _unverified(result)


def verify_badge(data: bytes, trust: _TrustOptions, today: dt.date, where: str) -> Verification:
    """An Open Badges 3.0 credential (credential.json): its proof against its issuer's DID
    document, its status list and its dates, read from the build or the site the user names."""
    from sitegen.vc import build_fetcher, did_document_url, did_for_base_url, http_fetcher, verify_credential

    try:
        document = json.loads(data)
        issuer = document["issuer"]["id"] if isinstance(document["issuer"], dict) else document["issuer"]
        named_base = did_document_url(issuer).removesuffix(".well-known/did.json").removesuffix("did.json")
    except (ValueError, KeyError, TypeError, AttributeError):
        raise SitegenError(f"{where}: not an Open Badges 3.0 credential (JSON with an issuer did:web)") from None
    base = trust.base_url or named_base
    if trust.base_url and issuer != did_for_base_url(trust.base_url):
        return Verification(INVALID, f"issued by {issuer}, not by the site you named ({did_for_base_url(base)})",
                            **_badge_facts(document))
    if trust.build_dir is not None:
        fetch, source, why = build_fetcher(base, trust.build_dir), str(trust.build_dir), \
            "--build-dir: a local build, taken as the issuer's own"
    else:
        fetch, source = http_fetcher(trust.timeout), base
        why = "--site-url: the issuer's site, as you named it" if trust.base_url else "nothing: the credential named it"
    now = dt.datetime.combine(today, dt.time(12, 0), tzinfo=dt.UTC)
    answer = verify_credential(data, fetch, now=now)
    result = Verification(_BADGE_VERDICTS[answer.status], answer.reason, source=source, trust=why,
                          source_named_by_document=trust.build_dir is None and not trust.base_url,
                          **_badge_facts(document))
    return result if trust.build_dir is not None or trust.base_url else _unverified(result)


_BADGE_VERDICTS = {"valid": VALID, "revoked": REVOKED, "expired": EXPIRED, "invalid": INVALID, "unknown": UNKNOWN}


def _badge_facts(document: dict) -> dict:
    """What the report shows of a credential: as it claims it (the verdict says whether to believe it)."""
    subject = document.get("credentialSubject") if isinstance(document.get("credentialSubject"), dict) else {}
    achievement = subject.get("achievement") if isinstance(subject.get("achievement"), dict) else {}
    issuer = document.get("issuer") if isinstance(document.get("issuer"), dict) else {}
    named = parse_credential_url(str(document.get("id", "")).removesuffix("credential.json"))
    return {
        "uuid": named[1] if named else None,
        "recipient": _text(subject.get("name")),
        "title": _text(achievement.get("name")),
        "issuer": _text(issuer.get("name")),
        "issued": _date(str(document.get("validFrom", ""))[:10]),
        "expires": _date(str(document.get("validUntil", ""))[:10]),
        "credential_url": _text(document.get("id")),
    }


def _text(value) -> str | None:
    return value if isinstance(value, str) else None


def _unverified(result: Verification) -> Verification:
    """What the document's own site says, demoted: that site vouches for nothing."""
    reason = (f"the document chose its own issuer ({result.source}), and anyone can set up a "
              f"site that vouches for its own documents; to check it, {HOW_TO_NAME_THE_ISSUER}")
    return dataclasses.replace(result, verdict=UNVERIFIED, reason=reason, found=result.verdict)


def _with_embedded_credential(result: Verification, pdf: bytes, trust: _TrustOptions,
                              today: dt.date) -> Verification:
    """The PDF's verdict, with its embedded credential's: one not genuine, or another
    credential's, makes the PDF not genuine; one revoked or expired, the PDF too."""
    embedded = _embedded_credential(pdf, trust, today, result)
    if embedded is None:
        return result
    result = dataclasses.replace(result, embedded_credential=embedded)
    if INVALID in (embedded.verdict, embedded.found) and result.verdict != INVALID:
        return dataclasses.replace(result, verdict=INVALID,
                                   reason=f"the {FILE_NAME} it carries is not genuine: {embedded.reason}")
    if embedded.verdict in (REVOKED, EXPIRED) and result.verdict == VALID:
        return dataclasses.replace(result, verdict=embedded.verdict,
                                   reason=f"the {FILE_NAME} it carries is {embedded.verdict}: {embedded.reason}")
    return result


def _embedded_credential(pdf: bytes, trust: _TrustOptions, today: dt.date,
                         result: Verification) -> EmbeddedCredential | None:
    try:
        data = embedded_credential(pdf)
    except EmbeddedError as error:
        return EmbeddedCredential(INVALID, str(error))
    if data is None:
        return None
    try:
        checked = verify_badge(data, trust, today, f"the {FILE_NAME} the PDF carries")
    except SitegenError as error:
        return EmbeddedCredential(INVALID, str(error))
    if not _is_the_credential_of(checked.credential_url, result):
        about = result.credential_url or f"credential {result.uuid}"
        return EmbeddedCredential(INVALID, f"it is {checked.credential_url}, not the credential the PDF is "
                                  f"({about})", checked.credential_url)
    reason = checked.reason
    if checked.verdict == UNVERIFIED:
        reason = (f"its own site ({checked.source}) says {HEADLINES[checked.found]}, but that site "
                  "chose itself; name the issuer's site (--site-url or --build-dir) to check it")
    return EmbeddedCredential(checked.verdict, reason, checked.credential_url, checked.found)


def _is_the_credential_of(credential_id: str | None, result: Verification) -> bool:
    """Whether a credential.json's id (<site>credentials/<uuid>/credential.json) names the
    credential of the PDF: the Credential URL its signed statement gives (same site, same
    ID), or, without a statement, the ID the PDF was found under."""
    named = parse_credential_url((credential_id or "").removesuffix(FILE_NAME))
    if result.credential_url:
        return named is not None and named == parse_credential_url(result.credential_url)
    return result.uuid is None or (named is not None and named[1] == result.uuid)


def _verify_url(anchor: _Anchor, uuid: str, today, gpg_binary) -> Verification:
    with _Keyring(anchor, gpg_binary) as keyring:
        if keyring.problem:
            return keyring.answer(keyring.problem_verdict, keyring.problem, uuid=uuid)
        return _judge(anchor, keyring, uuid, None, None, today)


def _verify_pdf(anchor: _Anchor, data: bytes, uuid: str | None, today, gpg_binary) -> Verification:
    sha256 = hashlib.sha256(data).hexdigest()
    with _Keyring(anchor, gpg_binary) as keyring:
        if keyring.problem:
            return keyring.answer(keyring.problem_verdict, keyring.problem, uuid=uuid)
        signature = _pdf_signature(anchor, keyring, uuid, data) if uuid else None
        if signature is None:
            # No ID in the PDF, or nothing published under it: the site also knows its
            # PDFs by their SHA-256, one at a time.
            by_hash = _uuid_by_sha256(anchor, sha256)
            if by_hash:
                uuid, signature = by_hash, _pdf_signature(anchor, keyring, by_hash, data)
        if uuid is None:
            return keyring.answer(INVALID, "the site never published this PDF (it names no "
                                  "credential, and its SHA-256 is unknown to the site)")
        if signature is not None and not signature.good:
            return keyring.answer(INVALID, f"the PDF's signature does not match: {signature.problem}",
                                  uuid=uuid, fingerprint=signature.fingerprint)
        return _judge(anchor, keyring, uuid, sha256, signature, today)


def _judge(anchor: _Anchor, keyring: _Keyring, uuid, sha256, signature, today) -> Verification:
    """The verdict from the credential's signed statement (and the PDF's signature)."""
    answer = keyring.answer
    armored = anchor.files.read(CredentialPaths(uuid).statement)
    if armored is None:
        if signature is not None:
            return answer(UNKNOWN, "the PDF's signature is good, but the site publishes no "
                          "statement for it, so its status is unknown", uuid=uuid,
                          fingerprint=signature.fingerprint)
        return answer(UNKNOWN, f"the site has no credential {uuid} (it was withdrawn, "
                      "or the document is not genuine)", uuid=uuid)
    statement = keyring.statement(armored)
    if statement.problem:
        return answer(INVALID, statement.problem, uuid=uuid, fingerprint=statement.fingerprint)
    fields = statement.fields
    facts = _facts(fields, uuid, statement.fingerprint)
    if fields["credential_id"] != uuid:
        return answer(INVALID, "the statement is about another credential", **facts)
    if fields["signing_key"] != statement.fingerprint:
        return answer(INVALID, "the statement names another signing key", **facts)
    misplaced = _credential_url_problem(fields["credential_url"], uuid, anchor.base_url)
    if misplaced:
        return answer(INVALID, misplaced, **facts)
    if fields["status"] == REVOKED:
        return answer(REVOKED, "the issuer revoked this credential", **facts)
    if sha256 is not None and fields["pdf_sha256"] != sha256:
        return answer(INVALID, "this PDF is not the one the site's statement describes", **facts)
    if fields["status"] == EXPIRED or (facts["expires"] and facts["expires"] < today):
        return answer(EXPIRED, f"the credential expired on {facts['expires']}", **facts)
    if fields["status"] != VALID:
        return answer(INVALID, f"the statement has an unknown status {fields['status']!r}", **facts)
    what = "the PDF and its statement are signed" if sha256 else "its statement is signed"
    return answer(VALID, f"{what} by the issuer's key, and the credential is valid", **facts)


def _credential_url_problem(url: str, uuid: str, base_url: str | None) -> str | None:
    """Why the statement's Credential URL is not this credential on the site consulted."""
    named = parse_credential_url(url)
    if named is None or named[1] != uuid:
        return f"the statement's Credential URL ({url}) is not this credential's"
    if base_url is not None and not is_under(named[0], base_url):
        return (f"the statement's Credential URL ({url}) is not on the site consulted "
                f"({base_url}): the issuer published this credential elsewhere, so this "
                "site's copy says nothing about its status")
    return None


def _facts(fields: dict, uuid: str, fingerprint: str) -> dict:
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
        "revocation_date": _date(fields["revocation_date"]) if fields["revocation_date"] != NONE else None,
        "credential_url": fields["credential_url"],
        "fingerprint": fingerprint,
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


# --- whom to trust ----------------------------------------------------------------------------


def normalise_base_url(url: str, what: str) -> str:
    """An http(s) site URL without credentials, query or fragment, ending with a slash."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise SitegenError(f"{what}: {url!r} is not an http(s) URL")
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        raise SitegenError(f"{what}: {url!r}: give the site's plain base URL (no user, query or fragment)")
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise SitegenError(f"{what}: {url!r} has an invalid port") from None
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return f"{parts.scheme.lower()}://{parts.netloc}{path}"


def normalise_fingerprint(value: str, what: str) -> str:
    """40 (or 64) uppercase hex digits, from a fingerprint as gpg or a web page shows it."""
    text = re.sub(r"\s+", "", str(value)).upper().removeprefix("0X")
    if not _FINGERPRINT.fullmatch(text):
        raise SitegenError(f"{what}: {value!r} is not a key fingerprint (40 hex digits)")
    return text


def _origin(parts) -> tuple[str, str, int]:
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or (443 if scheme == "https" else 80)


def is_under(url: str, base_url: str) -> bool:
    """`url` is on the site at `base_url`: same scheme, host and port, path under its path."""
    try:
        url_parts, base_parts = urlsplit(url), urlsplit(base_url)
        if _origin(url_parts) != _origin(base_parts):
            return False
    except ValueError:  # a bad port
        return False
    base_path = base_parts.path if base_parts.path.endswith("/") else base_parts.path + "/"
    return (url_parts.path or "/").startswith(base_path)


@dataclass(frozen=True)
class Issuer:
    """An entry of an issuer list: a site and the fingerprint of its signing key."""

    site_url: str
    fingerprint: str
    name: str | None = None


def load_issuers(path: str | Path) -> tuple[Issuer, ...]:
    """An issuer list: YAML or JSON, a list of {site_url, fingerprint, name}, or a mapping
    with such a list under `trusted_issuers`."""
    path = Path(path)
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SitegenError(f"{path}: cannot read the issuer list: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise SitegenError(f"{path}: the issuer list is not UTF-8 text") from None
    except YamlSyntaxError as exc:
        raise SitegenError(f"{path}:{exc.line}: {exc.message}" if exc.line else f"{path}: {exc.message}") from None
    if isinstance(data, dict):
        data = data.get("trusted_issuers")
    if not isinstance(data, list) or not data:
        raise SitegenError(f"{path}: expected a list of issuers ({{site_url, fingerprint, name}}), "
                           "or one under trusted_issuers")
    issuers = []
    for number, entry in enumerate(data, 1):
        where = f"{path}:{getattr(entry, 'line', 0) or getattr(data, 'line', 0) or '?'}"
        if not isinstance(entry, dict):
            raise SitegenError(f"{where}: issuer {number}: expected a mapping {{site_url, fingerprint, name}}")
        unknown = set(entry) - {"site_url", "fingerprint", "name"}
        if unknown:
            raise SitegenError(f"{where}: issuer {number}: unknown field {sorted(map(str, unknown))[0]!r}")
        for field in ("site_url", "fingerprint"):
            if not isinstance(entry.get(field), str) or not entry[field].strip():
                raise SitegenError(f"{where}: issuer {number}: {field} is required")
        name = entry.get("name")
        if name is not None and not isinstance(name, str):
            raise SitegenError(f"{where}: issuer {number}: name must be text")
        issuers.append(Issuer(normalise_base_url(entry["site_url"], f"{where}: issuer {number}: site_url"),
                              normalise_fingerprint(entry["fingerprint"], f"{where}: issuer {number}: fingerprint"),
                              name))
    return tuple(issuers)


def _issuer_for(base_url: str, issuers: Sequence[Issuer]) -> Issuer | None:
    """The listed issuer whose site holds `base_url` (the most specific one)."""
    matches = [issuer for issuer in issuers if is_under(base_url, issuer.site_url)]
    return max(matches, key=lambda issuer: len(issuer.site_url)) if matches else None


def download_timeout(value: float | str | None) -> float:
    """Seconds one download may take: the argument, else SITEGEN_VERIFY_TIMEOUT, else 20."""
    source = "--timeout"
    if value is None:
        value, source = os.environ.get(TIMEOUT_ENV) or DEFAULT_TIMEOUT, TIMEOUT_ENV
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = float("nan")
    if not 0 < seconds <= 3600:
        raise SitegenError(f"{source}: {value!r} is not a number of seconds (more than 0, at most 3600)")
    return seconds


@dataclass(frozen=True)
class _TrustOptions:
    build_dir: Path | None
    base_url: str | None
    key_file: Path | None
    pin: str | None
    issuers: tuple[Issuer, ...]
    timeout: float


@dataclass(frozen=True)
class _Anchor:
    """Where the evidence is read, and what the user trusts it through."""

    files: _Files
    base_url: str | None  # statements' Credential URLs must be under it (None: a build folder alone)
    trust: str  # for the report: which option made it trusted
    trusted: bool  # False: only the document named it
    named_by_document: bool
    key_file: Path | None
    pin: str | None


def _anchor(options: _TrustOptions, named_base: str | None) -> _Anchor | None:
    """The site to consult and why; None when neither the user nor the document names one."""
    base = options.base_url
    issuer = _issuer_for(base or named_base, options.issuers) if (base or named_base) else None
    pin = options.pin
    if issuer is not None and pin is not None and pin != issuer.fingerprint:
        raise SitegenError(f"--fingerprint {pin} contradicts the issuer list, which gives "
                           f"{issuer.fingerprint} for {issuer.site_url}")
    pin = pin or (issuer and issuer.fingerprint)
    reasons = []
    if options.build_dir is not None:
        files, named_by_document = _LocalTree(options.build_dir), False
        reasons.append("--build-dir: a local build, taken as the issuer's own")
        if base:
            reasons.append(f"--site-url: its Credential URLs must be under {base}")
    elif base:
        files, named_by_document = _RemoteSite(base, options.timeout), False
        reasons.append("--site-url: the issuer's site, as you named it")
    elif named_base:
        base, files, named_by_document = named_base, _RemoteSite(named_base, options.timeout), True
    else:
        return None
    if issuer is not None:
        reasons.append(f"listed in the issuer list as {issuer.name or issuer.site_url}, "
                       f"with key {issuer.fingerprint}")
    if options.key_file is not None:
        reasons.append(f"--key {options.key_file}")
    if options.pin is not None:
        reasons.append(f"--fingerprint {options.pin}")
    trusted = bool(reasons)
    if not trusted:
        reasons.append("nothing: the document named this site itself"
                       + (", and the issuer list does not hold it" if options.issuers else ""))
    return _Anchor(files, base, "; ".join(reasons), trusted, named_by_document, options.key_file, pin)


# --- where the evidence comes from --------------------------------------------------------


class _Files(Protocol):
    where: str

    def read(self, path: str) -> bytes | None: ...

    def describe(self, path: str) -> str: ...


class _LocalTree:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.where = str(self.root)

    def read(self, path: str) -> bytes | None:
        file = self.root / path
        return file.read_bytes() if file.is_file() else None

    def describe(self, path: str) -> str:
        return str(self.root / path)


class _RemoteSite:
    def __init__(self, base_url: str, timeout: float):
        self.base_url = normalise_base_url(base_url, "the site's base URL")
        self.where = self.base_url
        self.timeout = timeout

    def describe(self, path: str) -> str:
        return self.base_url + path

    def read(self, path: str) -> bytes | None:
        return fetch(self.base_url + path, self.timeout)


def fetch(url: str, timeout: float, max_bytes: int = MAX_DOWNLOAD) -> bytes | None:
    """The body at `url`, None if there is none (403, 404, 410).

    Whatever the server does, this returns within `timeout` seconds (plus a moment): the
    connection is cut at the deadline. Redirects are followed only on the same host.
    """
    deadline = _Deadline(timeout)
    opener = urllib.request.build_opener(
        _DeadlineHTTPHandler(deadline), _DeadlineHTTPSHandler(deadline), _SameHostRedirects())
    request = urllib.request.Request(url, headers={"User-Agent": f"sitegen-verify/{__version__}"})
    too_slow = f"{url}: no complete answer within {timeout:g} s (the site is too slow or not answering)"
    try:
        with opener.open(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length", "")
            if length.isdigit() and int(length) > max_bytes:
                raise SitegenError(f"{url}: larger than {max_bytes // 2**20} MB")
            chunks, size = [], 0
            while chunk := response.read(64 * 1024):
                chunks.append(chunk)
                size += len(chunk)
                if size > max_bytes:
                    raise SitegenError(f"{url}: larger than {max_bytes // 2**20} MB")
        if deadline.expired:  # the cut can look like a normal end of a body without a length
            raise SitegenError(too_slow)
        return b"".join(chunks)
    except urllib.error.HTTPError as exc:
        exc.close()
        if deadline.expired:
            raise SitegenError(too_slow) from None
        if exc.code in (403, 404, 410):  # S3 answers 403 for a missing key
            return None
        raise SitegenError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        if deadline.expired or isinstance(getattr(exc, "reason", exc), TimeoutError):
            raise SitegenError(too_slow) from None
        raise SitegenError(f"cannot fetch {url}: {getattr(exc, 'reason', exc) or type(exc).__name__}") from None
    finally:
        deadline.done()


class _Deadline:
    """A total time limit for one download: at the deadline, the open connection is shut
    down, so a server that trickles a byte at a time cannot hold the download open (a
    socket timeout only bounds each single read)."""

    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds
        self.expired = False
        self._lock = threading.Lock()
        self._finished = False
        self._timers: list[threading.Timer] = []

    def remaining(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            self.expired = True
            raise TimeoutError("deadline reached")
        return left

    def watch(self, sock: socket.socket) -> None:
        timer = threading.Timer(self.remaining(), self._cut, (sock,))
        timer.daemon = True
        with self._lock:
            self._timers.append(timer)
        timer.start()

    def _cut(self, sock: socket.socket) -> None:
        with self._lock:  # never after done(): the socket may be closed and its number reused
            if self._finished:
                return
            self.expired = True
            try:
                # The plain socket call, also for a TLS socket: the blocked read returns.
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass

    def done(self) -> None:
        with self._lock:
            self._finished = True
            for timer in self._timers:
                timer.cancel()


class _WatchedConnection:
    """An http.client connection whose socket the deadline can cut; each connect (one per
    redirect) gets at most the time left."""

    def __init__(self, *args, deadline: _Deadline, **kwargs):
        super().__init__(*args, **kwargs)
        self._deadline = deadline

    def connect(self) -> None:
        self.timeout = self._deadline.remaining()  # connect and TLS handshake: bounded by it
        super().connect()
        self._deadline.watch(self.sock)


class _WatchedHTTPConnection(_WatchedConnection, http.client.HTTPConnection):
    pass


class _WatchedHTTPSConnection(_WatchedConnection, http.client.HTTPSConnection):
    pass


class _DeadlineHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, deadline: _Deadline):
        super().__init__()
        self._deadline = deadline

    def http_open(self, req):
        return self.do_open(functools.partial(_WatchedHTTPConnection, deadline=self._deadline), req)


class _DeadlineHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, deadline: _Deadline):
        super().__init__(context=ssl.create_default_context())
        self._deadline = deadline

    def https_open(self, req):
        return self.do_open(functools.partial(_WatchedHTTPSConnection, deadline=self._deadline), req,
                            context=self._context)


def redirect_allowed(url: str, new_url: str) -> bool:
    """Same host and port; http to https on the default ports; never https to http."""
    try:
        old, new = urlsplit(url), urlsplit(new_url)
        old_origin, new_origin = _origin(old), _origin(new)
    except ValueError:
        return False
    if new_origin[0] not in ("http", "https") or new.username is not None or new.password is not None:
        return False
    if old_origin == new_origin:
        return True
    return (old_origin[1] == new_origin[1] and old_origin[0] == "http" and new_origin[0] == "https"
            and old_origin[2] == 80 and new_origin[2] == 443)


class _SameHostRedirects(urllib.request.HTTPRedirectHandler):
    max_redirections = MAX_REDIRECTS

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if not redirect_allowed(req.full_url, newurl):
            fp.close()
            downgrade = urlsplit(req.full_url).scheme == "https" and urlsplit(newurl).scheme == "http"
            what = "from https to http" if downgrade else "another host"
            raise SitegenError(f"{req.full_url} redirects to {newurl}, {what}: not followed; if that "
                               "is the issuer's site, name it with --site-url")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _uuid_by_sha256(anchor: _Anchor, sha256: str) -> str | None:
    body = anchor.files.read(pdf_hash_path(sha256))
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


def _pdf_signature(anchor: _Anchor, keyring: _Keyring, uuid: str, data: bytes) -> _Signature | None:
    signature = anchor.files.read(CredentialPaths(uuid).signature)
    return None if signature is None else keyring.detached(signature, data)


class _Keyring:
    """A temporary GNUPGHOME holding only the trusted public key: the one in `--key FILE`,
    else the one the site publishes; with a pin, only signatures by the pinned key count."""

    def __init__(self, anchor: _Anchor, gpg_binary: str):
        self._anchor = anchor
        self._gpg_binary = gpg_binary
        self.problem: str | None = None
        self.problem_verdict = UNKNOWN
        self.development_key = False
        self.trusted: tuple[str, ...] = ()
        if anchor.key_file is not None:
            self.key_source = str(anchor.key_file)
            self.described = f"the key in {anchor.key_file}"
        else:
            self.key_source = anchor.files.describe(KEY_FILE)
            self.described = "the key the site publishes"
        if anchor.pin:
            self.described = f"the pinned key {anchor.pin}"

    def __enter__(self) -> _Keyring:
        key = self._read_key()  # before any temporary folder: a download may fail
        self._tmp = tempfile.TemporaryDirectory(prefix="sitegen-verify-")
        self.home = Path(self._tmp.name)
        try:
            self._gpg = open_gpg(self.home, self._gpg_binary, extra_options=_VERIFY_OPTIONS)
        except BaseException:
            self._tmp.cleanup()
            raise
        if key is None:
            self.problem = f"the site publishes no signing key ({KEY_FILE})"
            return self
        imported = self._gpg.import_keys(key)
        fingerprints = tuple(dict.fromkeys(imported.fingerprints))
        if not fingerprints:
            self.problem = f"{self.key_source} holds no usable public key"
            return self
        pin = self._anchor.pin
        if pin and pin not in fingerprints:
            self.problem_verdict = INVALID
            self.trusted = fingerprints
            self.problem = (f"the key {self.key_source} gives is {', '.join(fingerprints)}, not the "
                            f"pinned {pin}: not that issuer's")
            return self
        self.trusted = (pin,) if pin else fingerprints
        self.development_key = any(
            f"({DEV_KEY_COMMENT})" in uid for k in self._gpg.list_keys(keys=list(self.trusted))
            for uid in k["uids"]
        )
        return self

    def _read_key(self) -> bytes | None:
        if self._anchor.key_file is None:
            return self._anchor.files.read(KEY_FILE)
        try:
            key = self._anchor.key_file.read_bytes()
        except OSError as exc:
            raise SitegenError(f"--key {self._anchor.key_file}: {exc.strerror or exc}") from None
        if b"PRIVATE KEY BLOCK" in key:
            raise SitegenError(f"--key {self._anchor.key_file}: a private key; give the issuer's public key")
        if b"-----BEGIN PGP PUBLIC KEY BLOCK-----" not in key:
            raise SitegenError(f"--key {self._anchor.key_file}: not an ASCII-armoured public key "
                               "(-----BEGIN PGP PUBLIC KEY BLOCK-----)")
        return key

    def __exit__(self, *exc) -> None:
        self._tmp.cleanup()

    def answer(self, verdict: str, reason: str, **facts) -> Verification:
        """A verdict that names the key it was checked with and where that key came from."""
        return Verification(verdict, reason, trusted_keys=self.trusted, key_source=self.key_source,
                            development_key=self.development_key, **facts)

    def detached(self, signature: bytes, data: bytes) -> _Signature:
        sig_file = self.home / "certificate.pdf.sig"
        sig_file.write_bytes(signature)
        fingerprint, problem = self._checked(self._gpg.verify_data(str(sig_file), data))
        return _Signature(problem is None, fingerprint, problem)

    def statement(self, armored: bytes) -> _Statement:
        # Decrypting a clear-signed text outputs exactly what was signed, nothing around it.
        result = self._gpg.decrypt(armored)
        fingerprint, problem = self._checked(result)
        if problem:
            return _Statement(None, fingerprint, f"the statement's signature is bad: {problem}")
        try:
            fields = parse_statement(result.data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            return _Statement(None, fingerprint, f"the statement cannot be read: {exc}")
        return _Statement(fields, fingerprint)

    def _checked(self, result) -> tuple[str | None, str | None]:
        """(primary key fingerprint, None) for a good signature by a trusted key, else
        (..., what is wrong)."""
        fingerprint = result.pubkey_fingerprint or result.fingerprint
        if result.valid and result.returncode == 0 and fingerprint:
            if fingerprint not in self.trusted:
                return fingerprint, f"it was made with key {fingerprint}, not with {self.described}"
            return fingerprint, None
        if result.status == "no public key":
            return fingerprint, f"it was not made with {self.described}"
        return fingerprint, result.status or gpg_message(result.stderr)
