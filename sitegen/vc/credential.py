"""An Open Badges 3.0 `OpenBadgeCredential` (a W3C Verifiable Credential 2.0) from plain facts.

The document is built in two halves: what every credential of one achievement shares (the
shape: issuer, achievement, which optional fields are present) and the per-credential values,
as the strings they are in the JSON. `sitegen.vc.issue` canonicalises the shape once and then only
writes values into it, so both halves must say everything the document says.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from sitegen.vc.canonical import DISPUTED_CHARACTERS
from sitegen.vc.loader import CREDENTIALS_V2, OPEN_BADGES_V3

CREDENTIAL_CONTEXTS = [CREDENTIALS_V2, OPEN_BADGES_V3]
IDENTITY_TYPES = ("emailAddress", "userName", "identifier")


@dataclass(frozen=True)
class IssuerProfile:
    """The issuer as the credential names it: a `Profile` whose id is the site's did:web."""
    did: str
    name: str
    url: str  # the site's home page

    def __post_init__(self):
        _refuse_disputed_characters(self, "name")


@dataclass(frozen=True)
class Achievement:
    """What was achieved: one per course or program and mode (e.g. a verified certificate of a course)."""
    id: str  # a URL, stable for as long as credentials name it
    name: str
    description: str
    criteria_narrative: str | None = None
    criteria_url: str | None = None
    image_url: str | None = None
    achievement_type: str | None = None  # OB 3.0 AchievementType, e.g. "Certificate", "CertificateOfCompletion"

    def __post_init__(self):
        if not (self.criteria_narrative or self.criteria_url):
            raise ValueError(f"achievement {self.id}: criteria need a narrative or a URL")
        _refuse_disputed_characters(self, "name", "description", "criteria_narrative")


@dataclass(frozen=True)
class BadgeFacts:
    """One learner's credential, as plain values."""
    credential_url: str  # where credential.json is published; also the credential's id
    page_url: str  # the certificate page, given as evidence
    achievement: Achievement
    learner_name: str  # as printed on the certificate
    identity: str  # username or email: only its salted hash is published
    identity_type: str  # one of IDENTITY_TYPES
    issued: dt.date
    expires: dt.date | None
    status_list_url: str
    status_index: int

    def __post_init__(self):
        if self.identity_type not in IDENTITY_TYPES:
            raise ValueError(f"identity_type {self.identity_type!r} is not one of {', '.join(IDENTITY_TYPES)}")
        if self.status_index < 0:
            raise ValueError(f"status_index {self.status_index} is negative")
        if self.expires is not None and self.expires < self.issued:
            raise ValueError(f"expires {self.expires} is before issued {self.issued}")
        _refuse_disputed_characters(self, "learner_name", "identity")


def identity_salt(credential_url: str) -> str:
    """The salt of a credential's identity hash: derived from its id, so rebuilds give the same bytes.

    A salt of its own per credential keeps two credentials of one learner from sharing a hash (no
    one can link them by it). A secret would add nothing: the salt is published next to the hash
    for the holder to prove the match, and it would be one more secret whose loss changes every file.
    """
    return hashlib.sha256(b"sitegen identity salt\n" + credential_url.encode("utf-8")).hexdigest()[:32]


def identity_hash(identity: str, salt: str) -> str:
    """OB 3.0 `identityHash`: "sha256$" + hex SHA-256 of the identity followed by the salt."""
    return "sha256$" + hashlib.sha256((identity + salt).encode("utf-8")).hexdigest()


def valid_from(issued: dt.date) -> str:
    return f"{issued.isoformat()}T00:00:00Z"


def valid_until(expires: dt.date) -> str:
    """The end of the expiry date (UTC): the certificate page calls a credential expired from the day after."""
    return f"{expires.isoformat()}T23:59:59Z"


def credential_values(facts: BadgeFacts) -> dict[str, str]:
    """The values that differ between credentials of one achievement, as the JSON holds them."""
    salt = identity_salt(facts.credential_url)
    values = {
        "credential_id": facts.credential_url,
        "valid_from": valid_from(facts.issued),
        "learner_name": facts.learner_name,
        "identity_hash": identity_hash(facts.identity, salt),
        "identity_type": facts.identity_type,
        "salt": salt,
        "evidence_id": facts.page_url,
        "status_entry_id": f"{facts.status_list_url}#{facts.status_index}",
        "status_index": str(facts.status_index),
        "status_list_url": facts.status_list_url,
    }
    if facts.expires is not None:
        values["valid_until"] = valid_until(facts.expires)
    return values


def credential_document(issuer: IssuerProfile, achievement: Achievement, values: Mapping[str, str]) -> dict:
    """The unsigned credential of one shape (issuer, achievement, whether it expires) with these values."""
    document = {
        "@context": list(CREDENTIAL_CONTEXTS),
        "id": values["credential_id"],
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": achievement.name,
        "issuer": {"id": issuer.did, "type": ["Profile"], "name": issuer.name, "url": issuer.url},
        "validFrom": values["valid_from"],
    }
    if "valid_until" in values:
        document["validUntil"] = values["valid_until"]
    document["credentialSubject"] = {
        "type": ["AchievementSubject"],
        "name": values["learner_name"],
        "identifier": [{
            "type": "IdentityObject",
            "identityHash": values["identity_hash"],
            "identityType": values["identity_type"],
            "hashed": True,
            "salt": values["salt"],
        }],
        "achievement": achievement_document(achievement),
    }
    document["evidence"] = [{"id": values["evidence_id"], "type": ["Evidence"]}]
    document["credentialStatus"] = {
        "id": values["status_entry_id"],
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": values["status_index"],
        "statusListCredential": values["status_list_url"],
    }
    return document


def achievement_document(achievement: Achievement) -> dict:
    criteria = {}
    if achievement.criteria_url:
        criteria["id"] = achievement.criteria_url
    if achievement.criteria_narrative:
        criteria["narrative"] = achievement.criteria_narrative
    document = {"id": achievement.id, "type": ["Achievement"]}
    if achievement.achievement_type:
        document["achievementType"] = achievement.achievement_type
    document.update({"name": achievement.name, "description": achievement.description, "criteria": criteria})
    if achievement.image_url:
        document["image"] = {"id": achievement.image_url, "type": "Image"}
    return document


def build_credential(issuer: IssuerProfile, facts: BadgeFacts) -> dict:
    """The unsigned OpenBadgeCredential of `facts`."""
    return credential_document(issuer, facts.achievement, credential_values(facts))


def _refuse_disputed_characters(facts, *fields: str) -> None:
    for field in fields:
        match = DISPUTED_CHARACTERS.search(getattr(facts, field) or "")
        if match:
            # Canonical forms disagree on how to write these (pyld and RDFC-1.0), and no real text has one.
            raise ValueError(f"{field} contains the control character U+{ord(match.group()):04X}")
