"""Verifiable credentials from a static build: Open Badges 3.0, did:web, a signed status list.

    issuer = CredentialIssuer(IssuerProfile(did_for_base_url(base_url), name, base_url), key)
    credential = issuer.issue(BadgeFacts(...))            # signed, eddsa-rdfc-2022
    did_document(did, [key.public_key(), *older_keys])    # at did_document_path(base_url)
    issuer.status_list(url, revoked_indexes, valid_from)  # BitstringStatusListCredential
    verify_credential(credential_bytes, build_fetcher(base_url, build_dir))

Every JSON-LD context comes from `contexts/` (see `loader.py`); nothing is fetched at build time.
"""

from sitegen.vc.canonical import CanonicalizationError, canonize
from sitegen.vc.credential import (
    Achievement,
    BadgeFacts,
    IssuerProfile,
    build_credential,
    identity_hash,
    identity_salt,
)
from sitegen.vc.did import did_document, did_document_path, did_document_url, did_for_base_url, key_id
from sitegen.vc.issue import CredentialIssuer, credential_json
from sitegen.vc.keys import (
    KEY_ENVIRONMENT_VARIABLE,
    key_from_environment,
    load_key,
    new_key,
    parse_key,
    public_key_multibase,
    save_key,
    secret_key_multibase,
)
from sitegen.vc.loader import load_document
from sitegen.vc.status_list import MIN_ENTRIES, decode_status_list, encode_status_list, is_set
from sitegen.vc.verify import (
    EXPIRED,
    INVALID,
    REVOKED,
    UNKNOWN,
    VALID,
    Verdict,
    build_fetcher,
    http_fetcher,
    verify_credential,
)

__all__ = [
    "EXPIRED", "INVALID", "KEY_ENVIRONMENT_VARIABLE", "MIN_ENTRIES", "REVOKED", "UNKNOWN", "VALID",
    "Achievement", "BadgeFacts", "CanonicalizationError", "CredentialIssuer", "IssuerProfile", "Verdict",
    "build_credential", "build_fetcher", "canonize", "credential_json", "decode_status_list", "did_document",
    "did_document_path", "did_document_url", "did_for_base_url", "encode_status_list", "http_fetcher",
    "identity_hash", "identity_salt", "is_set", "key_from_environment", "key_id", "load_document", "load_key",
    "new_key", "parse_key", "public_key_multibase", "save_key", "secret_key_multibase", "verify_credential",
]
