"""The issuer's did:web: its DID from the site's base URL, its DID document, where that is published."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote, unquote, urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from sitegen.vc.keys import public_key_multibase

DID_CONTEXTS = ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"]


def did_for_base_url(base_url: str) -> str:
    """`https://verify.example.org/` -> `did:web:verify.example.org`; a path adds `:segment`s,
    a port is written `%3A` (did:web resolves only over https, whatever the base URL's scheme)."""
    parts = urlsplit(base_url)
    if not parts.hostname or parts.query or parts.fragment:
        raise ValueError(f"{base_url!r}: a did:web needs a base URL with a host and no query or fragment")
    host = parts.hostname.lower() + (f"%3A{parts.port}" if parts.port else "")
    segments = [quote(unquote(s), safe="") for s in parts.path.split("/") if s]
    return ":".join(["did:web", host, *segments])


def did_document_url(did: str) -> str:
    """Where a did:web's document is fetched: `https://<host>/.well-known/did.json` or `<path>/did.json`."""
    if not did.startswith("did:web:"):
        raise ValueError(f"{did!r} is not a did:web")
    host, *segments = did[len("did:web:"):].split(":")
    path = "/".join(unquote(s) for s in segments)
    return f"https://{unquote(host)}/" + (f"{path}/did.json" if path else ".well-known/did.json")


def did_document_path(base_url: str) -> str:
    """The DID document's path in the built site, whose root is `base_url`: `.well-known/did.json` for a
    site at the root of its host, else `did.json` (did:web looks for `<path>/did.json`)."""
    return "did.json" if urlsplit(base_url).path.strip("/") else ".well-known/did.json"


def key_id(did: str, key: Ed25519PublicKey) -> str:
    """`<did>#<publicKeyMultibase>`: each key names itself, so rotated keys never clash."""
    return f"{did}#{public_key_multibase(key)}"


def did_document(did: str, keys: Sequence[Ed25519PublicKey]) -> dict:
    """The DID document: every key (the signing key and each older one, so that credentials signed
    before a rotation keep verifying) as a Multikey verification method allowed to assert."""
    if not keys:
        raise ValueError("a DID document needs at least one key")
    if len({public_key_multibase(key) for key in keys}) != len(keys):
        raise ValueError("the same key is listed twice")
    methods = [{
        "id": key_id(did, key),
        "type": "Multikey",
        "controller": did,
        "publicKeyMultibase": public_key_multibase(key),
    } for key in keys]
    return {
        "@context": DID_CONTEXTS,
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": [method["id"] for method in methods],
    }
