"""Signing credentials at build speed: one full canonicalisation per shape, not per credential."""

from __future__ import annotations

from collections.abc import Iterable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sitegen.json_text import indented_json
from sitegen.vc import proof
from sitegen.vc.canonical import PLACEHOLDER_PREFIX, CanonicalizationError, ShapeTemplate, canonize
from sitegen.vc.credential import (
    CREDENTIAL_CONTEXTS,
    Achievement,
    BadgeFacts,
    IssuerProfile,
    credential_document,
    credential_values,
    valid_from,
)
from sitegen.vc.did import key_id
from sitegen.vc.status_list import MIN_ENTRIES, status_list_document


class CredentialIssuer:
    """Signs an issuer's credentials with one key; keeps what it learnt of each shape.

    One per process (worker processes each make their own): the shapes it keeps are a few
    kilobytes each, one per achievement and expiry option.
    """

    def __init__(self, issuer: IssuerProfile, key: Ed25519PrivateKey):
        self.issuer = issuer
        self.key = key
        self.verification_method = key_id(issuer.did, key.public_key())
        self._shapes: dict[tuple, ShapeTemplate | None] = {}
        self._proof_shape = _template({"created": ""}, self._proof_configuration)
        self.fast = 0  # credentials canonicalised by their shape
        self.full = 0  # credentials canonicalised in full (their shape did not allow the fast way)

    def issue(self, facts: BadgeFacts) -> dict:
        """The signed OpenBadgeCredential of `facts`."""
        values = credential_values(facts)
        document = credential_document(self.issuer, facts.achievement, values)
        created = valid_from(facts.issued)
        options = proof.proof_options(self.verification_method, created)
        canonical = self._canonical(document, facts.achievement, values)
        data = proof.hash_data(self._canonical_configuration(created), canonical)
        return proof.attach_proof(document, options, self.key, data)

    def canonical_form(self, facts: BadgeFacts) -> str:
        """The canonical N-Quads that `issue` signs for `facts` (for tests and benchmarks)."""
        values = credential_values(facts)
        return self._canonical(credential_document(self.issuer, facts.achievement, values), facts.achievement, values)

    def sign(self, document: dict, created: str) -> dict:
        """Any other document (a status list), signed the full way with the same key."""
        return proof.sign(document, self.key, self.verification_method, created)

    def status_list(self, url: str, revoked: Iterable[int], valid_from: str, size: int = MIN_ENTRIES) -> dict:
        """The signed BitstringStatusListCredential at `url` with the bits of `revoked` set."""
        return self.sign(status_list_document(url, self.issuer.did, revoked, valid_from, size), valid_from)

    def _canonical(self, document: dict, achievement: Achievement, values: dict[str, str]) -> str:
        shape = self._shape(achievement, values)
        canonical = shape.canonize(values) if shape else None
        if canonical is None:
            self.full += 1
            return canonize(document)
        self.fast += 1
        return canonical

    def _shape(self, achievement: Achievement, values: dict[str, str]) -> ShapeTemplate | None:
        key = (achievement, tuple(sorted(values)))
        if key not in self._shapes:
            try:
                self._shapes[key] = _template(values, lambda v: credential_document(self.issuer, achievement, v))
            except CanonicalizationError:
                self._shapes[key] = None  # an unusual shape: every credential of it is canonicalised in full
        return self._shapes[key]

    def _proof_configuration(self, values: dict[str, str]) -> dict:
        options = proof.proof_options(self.verification_method, values["created"])
        return proof.proof_configuration(options, list(CREDENTIAL_CONTEXTS))

    def _canonical_configuration(self, created: str) -> str:
        canonical = self._proof_shape.canonize({"created": created})
        return canonical if canonical is not None else canonize(self._proof_configuration({"created": created}))


def _template(values, make_document) -> ShapeTemplate:
    placeholders = {name: PLACEHOLDER_PREFIX + name for name in values}
    return ShapeTemplate(make_document(placeholders), placeholders)


def credential_json(document: dict) -> bytes:
    """The bytes to publish: UTF-8, every script as itself (not \\u escapes), the same each build."""
    return (indented_json(document, ensure_ascii=False) + "\n").encode("utf-8")
