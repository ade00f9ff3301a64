"""Is this Open Badges 3.0 credential genuine, and what is its status? (`sitegen verify`)

The issuer's key comes from its did:web document and the revocation bit from its signed status
list, both fetched through a callable (url -> bytes) so that the answer can come from the
published site or from a local build. Dates are checked against `now`.
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from sitegen.vc.canonical import CanonicalizationError
from sitegen.vc.did import did_document_url
from sitegen.vc.keys import public_key_from_multibase
from sitegen.vc.loader import CREDENTIALS_V2
from sitegen.vc.multibase import decode_base58btc
from sitegen.vc.proof import CRYPTOSUITE, PROOF_PURPOSE, PROOF_TYPE, proof_matches
from sitegen.vc.status_list import STATUS_PURPOSE, decode_status_list, is_set

Fetch = Callable[[str], bytes]

VALID = "valid"
REVOKED = "revoked"
EXPIRED = "expired"
INVALID = "invalid"  # not genuine: changed, or not signed by the issuer it names
UNKNOWN = "unknown"  # could not be checked: the issuer's key or status list could not be fetched


@dataclass(frozen=True)
class Verdict:
    status: str  # VALID, REVOKED, EXPIRED, INVALID or UNKNOWN
    reason: str  # one sentence for people
    credential_id: str | None = None
    issuer: str | None = None


class _Rejected(Exception):
    def __init__(self, status: str, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def verify_credential(credential: dict | bytes, fetch: Fetch, now: dt.datetime | None = None) -> Verdict:
    """The verdict on a credential: its proof against the issuer's DID document, its status list
    entry (that list's proof too), then its dates. The first failure decides, in that order."""
    now = now or dt.datetime.now(dt.UTC)
    document = credential
    try:
        document = _parse(credential)
        issuer = _issuer_did(document)
        _check_proof(document, issuer, fetch)
        if _is_revoked(document, issuer, fetch):
            return _verdict(document, REVOKED, "the issuer has revoked this credential")
        return _dated_verdict(document, now)
    except _Rejected as rejected:
        return _verdict(document, rejected.status, rejected.reason)


def _verdict(document, status: str, reason: str) -> Verdict:
    if not isinstance(document, dict):
        return Verdict(status, reason)
    issuer = document.get("issuer")
    issuer = issuer.get("id") if isinstance(issuer, dict) else issuer
    return Verdict(status, reason, _text(document.get("id")), _text(issuer))


def _text(value) -> str | None:
    return value if isinstance(value, str) else None


def _parse(credential: dict | bytes) -> dict:
    if isinstance(credential, dict):
        return credential
    try:
        document = json.loads(credential)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _Rejected(INVALID, f"not JSON: {error}") from None
    if not isinstance(document, dict):
        raise _Rejected(INVALID, "not a JSON object")
    return document


def _issuer_did(document: dict) -> str:
    contexts = document.get("@context")
    if not isinstance(contexts, list) or not contexts or contexts[0] != CREDENTIALS_V2:
        raise _Rejected(INVALID, f"not a Verifiable Credential 2.0: its first @context is not {CREDENTIALS_V2}")
    issuer = document.get("issuer")
    issuer = issuer.get("id") if isinstance(issuer, dict) else issuer
    if not isinstance(issuer, str) or not issuer.startswith("did:web:"):
        raise _Rejected(INVALID, f"the issuer {issuer!r} is not a did:web")
    return issuer


def _check_proof(document: dict, issuer: str, fetch: Fetch) -> None:
    """The document's proof is the issuer's, by a key its DID document lets it assert with."""
    proof = document.get("proof")
    if not isinstance(proof, dict):
        raise _Rejected(INVALID, "it has no proof (one Data Integrity proof is expected)")
    expected = {"type": PROOF_TYPE, "cryptosuite": CRYPTOSUITE, "proofPurpose": PROOF_PURPOSE}
    for field, value in expected.items():
        if proof.get(field) != value:
            raise _Rejected(INVALID, f"the proof's {field} is {proof.get(field)!r}, not {value!r}")
    method = proof.get("verificationMethod")
    if not isinstance(method, str) or not method.startswith(issuer + "#"):
        raise _Rejected(INVALID, f"the proof names the key {method!r}, which is not one of {issuer}")
    try:
        decode_base58btc(proof.get("proofValue"))
    except (TypeError, AttributeError, ValueError):
        raise _Rejected(INVALID, "the proof has no proofValue in base58btc multibase") from None
    key = _issuer_key(issuer, method, fetch)
    try:
        genuine = proof_matches(document, key)
    except CanonicalizationError as error:
        raise _Rejected(INVALID, f"it cannot be read as JSON-LD the signature could cover: {error}") from None
    if not genuine:
        raise _Rejected(INVALID, f"the signature does not match: it was changed after {issuer} signed it, "
                                 "or was never signed by that key")


def _issuer_key(issuer: str, method: str, fetch: Fetch) -> Ed25519PublicKey:
    url = did_document_url(issuer)
    did_document = _fetch_json(url, fetch)
    if did_document.get("id") != issuer:
        raise _Rejected(INVALID, f"the DID document at {url} is not that of {issuer}")
    assertion = [m if isinstance(m, str) else m.get("id") for m in did_document.get("assertionMethod", [])
                 if isinstance(m, (str, dict))]
    if method not in assertion:
        raise _Rejected(INVALID, f"{issuer} does not list the key {method} as one it asserts with")
    methods = [m for m in did_document.get("verificationMethod", []) if isinstance(m, dict)]
    methods += [m for m in did_document.get("assertionMethod", []) if isinstance(m, dict)]
    for candidate in methods:
        if candidate.get("id") == method and candidate.get("controller") == issuer:
            try:
                return public_key_from_multibase(candidate.get("publicKeyMultibase", ""))
            except ValueError as error:
                raise _Rejected(INVALID, f"the key {method}: {error}") from None
    raise _Rejected(INVALID, f"the DID document of {issuer} has no key {method} that it controls")


def _fetch_json(url: str, fetch: Fetch) -> dict:
    try:
        data = fetch(url)
    except Exception as error:  # whatever the transport raises: the check could not be made
        raise _Rejected(UNKNOWN, f"could not fetch {url}: {error}") from None
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _Rejected(UNKNOWN, f"{url} is not JSON") from None
    if not isinstance(document, dict):
        raise _Rejected(UNKNOWN, f"{url} is not a JSON object")
    return document


def _is_revoked(document: dict, issuer: str, fetch: Fetch) -> bool:
    entries = document.get("credentialStatus", [])
    revoked = False
    for entry in entries if isinstance(entries, list) else [entries]:
        if isinstance(entry, dict) and entry.get("type") == "BitstringStatusListEntry":
            if entry.get("statusPurpose") == STATUS_PURPOSE:
                revoked |= _status_bit(entry, issuer, fetch)
    return revoked


def _status_bit(entry: dict, issuer: str, fetch: Fetch) -> bool:
    url = entry.get("statusListCredential")
    try:
        index = int(entry.get("statusListIndex"))
    except (TypeError, ValueError):
        raise _Rejected(INVALID, f"the status list index {entry.get('statusListIndex')!r} is not a number") from None
    if not isinstance(url, str):
        raise _Rejected(INVALID, "the credential's status entry names no status list")
    status_list = _fetch_json(url, fetch)
    if status_list.get("issuer") != issuer:
        raise _Rejected(UNKNOWN, f"the status list {url} is not issued by {issuer}")
    try:
        _check_proof(status_list, issuer, fetch)
    except _Rejected as rejected:
        raise _Rejected(UNKNOWN, f"the status list {url} cannot be trusted: {rejected.reason}") from None
    subject = status_list.get("credentialSubject")
    if "BitstringStatusListCredential" not in status_list.get("type", []) or not isinstance(subject, dict) \
            or subject.get("statusPurpose") != STATUS_PURPOSE:
        raise _Rejected(UNKNOWN, f"{url} is not a revocation BitstringStatusListCredential")
    try:
        return is_set(decode_status_list(subject.get("encodedList", "")), index)
    except (ValueError, IndexError) as error:
        raise _Rejected(UNKNOWN, f"the status list {url}: {error}") from None


def _dated_verdict(document: dict, now: dt.datetime) -> Verdict:
    start = _date_time(document, "validFrom")
    end = _date_time(document, "validUntil")
    if start and now < start:
        return _verdict(document, EXPIRED, f"not valid before {document['validFrom']}")
    if end and now > end:
        return _verdict(document, EXPIRED, f"expired at {document['validUntil']}")
    return _verdict(document, VALID, "signed by its issuer, not revoked, within its dates")


def _date_time(document: dict, field: str) -> dt.datetime | None:
    value = document.get(field)
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise _Rejected(INVALID, f"{field} {value!r} is not a date and time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def build_fetcher(base_url: str, build_dir: Path) -> Fetch:
    """A fetch that answers the site's URLs (any scheme: did:web always says https) from a local build."""
    root = build_dir.resolve()
    site = _without_scheme(base_url).rstrip("/") + "/"

    def fetch(url: str) -> bytes:
        address = _without_scheme(url)
        if not address.startswith(site):
            raise FileNotFoundError(f"{url} is not a URL of the site {base_url}")
        path = (root / unquote(address[len(site):])).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise FileNotFoundError(f"{url} is not in {build_dir}")
        return path.read_bytes()

    return fetch


def http_fetcher(timeout: float = 20, limit: int = 4 * 1024 * 1024) -> Fetch:
    """A fetch over HTTP(S): the published site, as any verifier sees it."""

    def fetch(url: str) -> bytes:
        if urlsplit(url).scheme not in ("https", "http"):
            raise ValueError(f"{url}: only http and https are fetched")
        request = urllib.request.Request(url, headers={"Accept": "application/ld+json, application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            data = response.read(limit + 1)
        if len(data) > limit:
            raise ValueError(f"{url} is larger than {limit} bytes")
        return data

    return fetch


def _without_scheme(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.netloc.lower()}{parts.path}"
