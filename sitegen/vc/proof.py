"""Data Integrity proofs with the `eddsa-rdfc-2022` cryptosuite (W3C vc-di-eddsa).

What is signed: SHA-256 of the canonical proof options (with the document's @context) followed
by SHA-256 of the canonical document without its proof, 64 bytes, Ed25519.
"""

from __future__ import annotations

import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sitegen.vc.canonical import canonize
from sitegen.vc.multibase import decode_base58btc, encode_base58btc

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-rdfc-2022"
PROOF_PURPOSE = "assertionMethod"


def proof_options(verification_method: str, created: str) -> dict:
    """The proof without its value; `created` an XML Schema dateTime, e.g. the issue date at midnight UTC."""
    return {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": created,
        "verificationMethod": verification_method,
        "proofPurpose": PROOF_PURPOSE,
    }


def proof_configuration(options: dict, context) -> dict:
    """What the proof's hash covers: its options under the document's own @context."""
    return {"@context": context, **options}


def hash_data(canonical_configuration: str, canonical_document: str) -> bytes:
    return (hashlib.sha256(canonical_configuration.encode("utf-8")).digest()
            + hashlib.sha256(canonical_document.encode("utf-8")).digest())


def attach_proof(document: dict, options: dict, key: Ed25519PrivateKey, data: bytes) -> dict:
    """The document with its proof: `data` (see `hash_data`) signed with `key`."""
    return {**document, "proof": {**options, "proofValue": encode_base58btc(key.sign(data))}}


def sign(document: dict, key: Ed25519PrivateKey, verification_method: str, created: str) -> dict:
    """The document signed the full way (pyld canonicalisation of both halves)."""
    options = proof_options(verification_method, created)
    configuration = proof_configuration(options, document["@context"])
    return attach_proof(document, options, key, hash_data(canonize(configuration), canonize(document)))


def proof_matches(document: dict, key: Ed25519PublicKey) -> bool:
    """Whether the document's proof is a signature by `key` of the document as it is now.

    The proof's own fields (type, cryptosuite, purpose) are the caller's to check; any document
    or proof that cannot be canonicalised raises CanonicalizationError.
    """
    proof = dict(document["proof"])
    signature = decode_base58btc(proof.pop("proofValue"))
    unsecured = {name: value for name, value in document.items() if name != "proof"}
    configuration = proof_configuration(proof, document["@context"])
    try:
        key.verify(signature, hash_data(canonize(configuration), canonize(unsecured)))
    except InvalidSignature:
        return False
    return True
