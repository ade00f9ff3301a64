"""Open Badges 2.0 hosted verification, as static files: an issuer profile, badge classes, assertions.

For the consumers that still read Open Badges 2.0 (Badgr-era backpacks, some LMSs). Every object is
a JSON-LD file at a stable URL under the site's base URL, and links the next one by that URL:

    assertion  credentials/<uuid>/assertion.json          one per credential
      badge -> badge class  ob2/badges/course/<course>/<mode>.json, ob2/badges/program/<program>.json
        issuer -> issuer profile  ob2/issuers/<organization>.json

    issuer = Ob2Issuer("acmex", "Acme University", url="https://acme.example/", email="help@acme.example")
    badge = Ob2Badge("acmex", COURSE, "course-v1:AcmeX+CS101+2026", "verified", name, description,
                     image_url, criteria_narrative="...")
    award = Ob2Award(uuid, badge, Ob2Recipient("jane@example.org"), issued=date, expires=None)
    files = {issuer_path("acmex"): ob2_json(issuer_profile(issuer, base_url)),
             badge_path(badge): ob2_json(badge_class(badge, base_url)),
             assertion_path(uuid): ob2_json(assertion(award, base_url))}

Served as `application/ld+json` (CONTENT_TYPE), as the specification asks of badge objects. (It
would like `application/json` for a client that accepts only that, which a static host cannot
do; such a client reads the same JSON. The reference validator does not look at the type.)

A revoked credential's assertion stays at its URL with `revoked: true` and the reason: a static
site cannot answer `410 Gone`, and the specification takes either as revocation. Hosted
verification then needs nothing else: a verifier fetches the assertion's `id` and trusts it if
that URL lies where the issuer profile's `verification.startsWith` allows.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field
from urllib.parse import quote

from sitegen.json_text import indented_json
from sitegen.layout import CREDENTIALS_DIR, CredentialPaths
from sitegen.model import CERTIFICATE_MODES
from sitegen.vc.credential import identity_hash, identity_salt, valid_from, valid_until

CONTEXT = "https://w3id.org/openbadges/v2"
CONTENT_TYPE = "application/ld+json"
OB2_DIR = "ob2"
ASSERTION_FILE = "assertion.json"

COURSE = "course"
PROGRAM = "program"
BADGE_KINDS = (COURSE, PROGRAM)
# The Profile properties an Open Badges 2.0 recipient may be identified by; many backpacks read only email.
RECIPIENT_TYPES = ("email", "url", "telephone", "id")

# Organization keys, course ids and program ids as site.yml allows them (load/config.py).
_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:+\-]*")
# What a key keeps in a file name; "_" starts an escape, so it is never kept as itself.
_KEPT = re.compile(r"[A-Za-z0-9.\-]")
_MAX_NAME_BYTES = 255  # one path component, as file systems allow it
_BASE_URL = re.compile(r"https?://[^\s/?#]+/([^\s?#]*/)?")
_HTTP_URL = re.compile(r"https?://[^\s/?#]+[^\s]*")
_IMAGE_URL = re.compile(r"(https?://[^\s?#]+\.(png|svg)([?#]\S*)?|data:image/(png|svg\+xml)[;,]\S+)", re.IGNORECASE)
_SAFE_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]*"
_OB2_DOCUMENT = re.compile(
    rf"{OB2_DIR}/(issuers/{_SAFE_NAME}|badges/{COURSE}/{_SAFE_NAME}/({'|'.join(CERTIFICATE_MODES)})"
    rf"|badges/{PROGRAM}/{_SAFE_NAME})\.json|{CREDENTIALS_DIR}/[0-9a-f]{{32}}/{re.escape(ASSERTION_FILE)}")
# The forms the reference validator accepts for each recipient type (as plain values, before hashing).
_RECIPIENT_FORMS = {
    "email": re.compile(r"[^@\s]+@[^@\s]+"),
    "url": _HTTP_URL,
    "telephone": re.compile(r"\+?[1-9]\d{1,14}(;ext=\d+)?"),
    "id": re.compile(r"https?://[^\s/?#]+[^\s]*|urn:uuid:[0-9a-fA-F-]{36}"),
}


@dataclass(frozen=True)
class Ob2Issuer:
    """An issuing organization, as its Open Badges 2.0 issuer profile says it."""
    key: str  # the organization's key in site.yml: names the file
    name: str
    url: str  # the organization's website, or the site's home page
    email: str  # a contact address: Open Badges 2.0 requires one of every issuer
    image_url: str | None = None  # the logo
    description: str | None = None

    def __post_init__(self):
        safe_name(self.key)
        _require_text(self, "name")
        _refuse_lone_surrogates(self, "name", "description")
        _require_url(self, "url")
        if not _RECIPIENT_FORMS["email"].fullmatch(self.email or ""):
            raise ValueError(f"issuer {self.key}: email {self.email!r} is not an email address")
        if self.image_url is not None:
            _require_url(self, "image_url", data_uri=True)


@dataclass(frozen=True)
class Ob2Badge:
    """What is awarded: one badge class per course and mode, or per program."""
    issuer_key: str
    kind: str  # COURSE or PROGRAM
    subject_id: str  # the course id or program id, as in site.yml
    mode: str | None  # a course's certificate mode; None for a program
    name: str
    description: str
    image_url: str  # a PNG or SVG of the badge: required, and shown by every backpack
    criteria_narrative: str | None = None
    criteria_url: str | None = None  # a web page about the course or program

    def __post_init__(self):
        safe_name(self.issuer_key)
        badge_path(self)  # checks kind, subject_id and mode
        _require_text(self, "name", "description")
        _refuse_lone_surrogates(self, "name", "description", "criteria_narrative")
        if not _IMAGE_URL.fullmatch(self.image_url or ""):
            raise ValueError(f"badge {self.subject_id}: image {self.image_url!r} is not the URL of a PNG or SVG "
                             f"image (Open Badges 2.0 allows no other)")
        if not (self.criteria_narrative or self.criteria_url):
            raise ValueError(f"badge {self.subject_id}: criteria need a narrative or a URL")
        if self.criteria_url is not None:
            _require_url(self, "criteria_url")


@dataclass(frozen=True)
class Ob2Recipient:
    """Who the badge was awarded to: only a salted hash of `identity` is ever published."""
    identity: str = field(repr=False)  # kept out of reprs, so no log or traceback shows it
    type: str = "email"  # one of RECIPIENT_TYPES

    def __post_init__(self):
        if self.type not in RECIPIENT_TYPES:
            raise ValueError(f"recipient type {self.type!r} is not one of {', '.join(RECIPIENT_TYPES)}")
        if not isinstance(self.identity, str) or not _RECIPIENT_FORMS[self.type].fullmatch(self.identity):
            raise ValueError(f"the recipient's identity is not a valid {self.type} (value not shown)")

    @classmethod
    def for_username(cls, username: str, profile_url: str) -> Ob2Recipient:
        """A learner known by a username, as the URL of their profile on the learning platform.

        Open Badges 2.0 has no username identity: a recipient is an email, url, telephone or
        id of a Profile. `profile_url` has `{username}` where the username goes, e.g. Open edX's
        "https://lms.example.org/u/{username}".
        """
        if profile_url.count("{username}") != 1:
            raise ValueError(f"profile URL {profile_url!r} needs one {{username}}")
        if not username:
            raise ValueError("the username is empty")
        return cls(profile_url.replace("{username}", quote(username, safe="")), "url")


@dataclass(frozen=True)
class Ob2Award:
    """One credential, as its hosted assertion says it."""
    uuid: str  # the credential's ID: validated before it names a file
    badge: Ob2Badge
    recipient: Ob2Recipient
    issued: dt.date
    expires: dt.date | None = None
    revoked: bool = False
    revocation_reason: str | None = None

    def __post_init__(self):
        CredentialPaths(self.uuid)
        if self.expires is not None and self.expires < self.issued:
            raise ValueError(f"credential {self.uuid}: expires {self.expires} is before issued {self.issued}")
        if self.revocation_reason is not None and not self.revoked:
            raise ValueError(f"credential {self.uuid}: a revocation reason, but not revoked")
        _refuse_lone_surrogates(self, "revocation_reason")


# --- Where each file is published ------------------------------------------------------------------

def safe_name(key: str) -> str:
    """A site.yml key (organization key, course id, program id) as one file name, one for one.

    Letters, digits, "." and "-" stay; every other character becomes "_" and its UTF-8 bytes in
    lower-case hex: course-v1:AcmeX+CS101+2026 -> course-v1_3aAcmeX_2bCS101_2b2026. Since "_" is
    itself escaped, two keys never share a name, and no name needs quoting in a URL (":" would
    read as a URL scheme, "+" as a space to some S3 front ends). Keys that differ only in
    letter case still collide on a case-insensitive file system (macOS, Windows).
    """
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise ValueError(f"not a site.yml key (letters, digits and . _ - + :): {key!r}")
    name = "".join(c if _KEPT.fullmatch(c) else "_" + c.encode("utf-8").hex() for c in key)
    if len(name) > _MAX_NAME_BYTES:
        raise ValueError(f"key {key!r} is too long to name a file ({len(name)} bytes once made safe)")
    return name


def issuer_path(key: str) -> str:
    return f"{OB2_DIR}/issuers/{safe_name(key)}.json"


def badge_path(badge: Ob2Badge) -> str:
    return badge_class_path(badge.kind, badge.subject_id, badge.mode)


@functools.lru_cache(maxsize=4096)  # one per course and mode, asked for by each of their assertions
def badge_class_path(kind: str, subject_id: str, mode: str | None) -> str:
    """`ob2/badges/course/<course id>/<mode>.json` or `ob2/badges/program/<program id>.json`
    (course and program ids are two namespaces in site.yml: they may be equal)."""
    if kind == COURSE:
        if mode not in CERTIFICATE_MODES:
            raise ValueError(f"course {subject_id}: mode {mode!r} is not one of {', '.join(CERTIFICATE_MODES)}")
        return f"{OB2_DIR}/badges/{COURSE}/{safe_name(subject_id)}/{mode}.json"
    if kind == PROGRAM:
        if mode is not None:
            raise ValueError(f"program {subject_id}: programs have no mode (got {mode!r})")
        return f"{OB2_DIR}/badges/{PROGRAM}/{safe_name(subject_id)}.json"
    raise ValueError(f"badge kind {kind!r} is not one of {', '.join(BADGE_KINDS)}")


def assertion_path(uuid: str) -> str:
    """`credentials/<uuid>/assertion.json`, beside the certificate page (raises on anything but a UUID)."""
    return f"{CredentialPaths(uuid).folder}/{ASSERTION_FILE}"


def is_ob2_document(key: str) -> bool:
    """A published file this module makes: served as CONTENT_TYPE."""
    return _OB2_DOCUMENT.fullmatch(key) is not None


# --- The documents ---------------------------------------------------------------------------------

def issuer_profile(issuer: Ob2Issuer, base_url: str) -> dict:
    """The issuer profile, at issuer_path(issuer.key).

    Its verification policy admits only assertions under the site's credentials/ folder: without
    one, any file on the same host (another site under another path, a user's page) could pass
    for a hosted assertion of this issuer.
    """
    _check_base_url(base_url)
    document = {
        "@context": CONTEXT,
        "id": base_url + issuer_path(issuer.key),
        "type": "Issuer",
        "name": issuer.name,
        "url": issuer.url,
        "email": issuer.email,
    }
    if issuer.description:
        document["description"] = issuer.description
    if issuer.image_url:
        document["image"] = issuer.image_url
    document["verification"] = {"type": "VerificationObject", "startsWith": base_url + CREDENTIALS_DIR + "/"}
    return document


def badge_class(badge: Ob2Badge, base_url: str) -> dict:
    """The badge class, at badge_path(badge)."""
    _check_base_url(base_url)
    criteria = {}
    if badge.criteria_url:
        criteria["id"] = badge.criteria_url
    if badge.criteria_narrative:
        criteria["narrative"] = badge.criteria_narrative
    return {
        "@context": CONTEXT,
        "id": base_url + badge_path(badge),
        "type": "BadgeClass",
        "name": badge.name,
        "description": badge.description,
        "image": badge.image_url,
        "criteria": criteria,
        "issuer": base_url + issuer_path(badge.issuer_key),
    }


def assertion(award: Ob2Award, base_url: str) -> dict:
    """The hosted assertion, at assertion_path(award.uuid); its id is its own URL."""
    _check_base_url(base_url)
    url = base_url + assertion_path(award.uuid)
    salt = identity_salt(url)
    document = {
        "@context": CONTEXT,
        "id": url,
        "type": "Assertion",
        "recipient": {
            "type": award.recipient.type,
            "hashed": True,
            "salt": salt,
            # "sha256$" + hex SHA-256 of the identity followed by the salt, as in OB 3.0's identityHash
            "identity": identity_hash(award.recipient.identity, salt),
        },
        "badge": base_url + badge_path(award.badge),
        "verification": {"type": "HostedBadge"},
        "issuedOn": valid_from(award.issued),
        "evidence": base_url + CredentialPaths(award.uuid).page,
    }
    if award.expires is not None:
        document["expires"] = valid_until(award.expires)  # the end of that day, as on the certificate page
    if award.revoked:
        document["revoked"] = True
        if award.revocation_reason:
            document["revocationReason"] = award.revocation_reason
    return document


def ob2_json(document: dict) -> bytes:
    """The bytes to publish: the same each build, and ASCII only.

    Every other character is written as a \\u escape: JSON-LD's media type has no charset
    parameter, so a consumer that does not take JSON for UTF-8 guesses (Python's requests does),
    and ASCII reads the same whatever it guesses.
    """
    return (indented_json(document, ensure_ascii=True) + "\n").encode("ascii")


# --- Checks ----------------------------------------------------------------------------------------

def _check_base_url(base_url: str) -> None:
    if not isinstance(base_url, str) or not _BASE_URL.fullmatch(base_url):
        raise ValueError(f"base URL {base_url!r} is not an http(s) URL ending in /")


def _require_url(facts, name: str, data_uri: bool = False) -> None:
    value = getattr(facts, name)
    if not isinstance(value, str) or not (_HTTP_URL.fullmatch(value) or data_uri and value.startswith("data:")):
        raise ValueError(f"{type(facts).__name__}.{name}: {value!r} is not an http(s) URL")


def _require_text(facts, *names: str) -> None:
    for name in names:
        value = getattr(facts, name)
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{type(facts).__name__}.{name} is empty")


def _refuse_lone_surrogates(facts, *names: str) -> None:
    for name in names:
        value = getattr(facts, name)
        try:
            (value or "").encode("utf-8")
        except UnicodeEncodeError:
            # A \\ud800 escape would be valid JSON, but no Unicode text: a consumer's decoder may choke on it.
            raise ValueError(f"{type(facts).__name__}.{name} is not valid Unicode text (a lone surrogate)") from None
