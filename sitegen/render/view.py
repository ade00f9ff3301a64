"""What a certificate shows: turns a Credential and the Site into display-ready data.

Templates (page and PDF) only format what is here; they never look things up.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass

from sitegen.layout import CredentialPaths
from sitegen.model import Credential, Site

MODE_LABELS = {
    "honor": "Honor Code Certificate",
    "verified": "Verified Certificate",
    "professional": "Professional Certificate",
}
MODE_DESCRIPTIONS = {
    "honor": "The learner completed the course and agreed to the honor code. "
    "Their identity was not verified.",
    "verified": "The learner completed the course and verified their identity "
    "with a government-issued photo ID.",
    "professional": "The learner completed professional education coursework and "
    "verified their identity with a government-issued photo ID.",
}
STATUS_LABELS = {
    "valid": "Valid",
    "revoked": "Revoked",
    "expired": "Expired",
}
ATTRIBUTE_LABELS = {
    ("course", "grade"): "Grade",
    ("course", "hours"): "Hours of effort",
    ("course", "distinction"): "Distinction",
}


@dataclass(frozen=True)
class SignatoryView:
    name: str
    title: str
    organization: str
    signature_image: str | None  # path relative to the project folder


@dataclass(frozen=True)
class CertificateView:
    uuid: str
    recipient_name: str
    name_direction: str  # "rtl" or "ltr": the base direction of the name itself
    username: str
    title: str  # course or program title
    kind: str  # "course" or "program"
    kind_label: str
    mode: str | None
    mode_label: str | None
    mode_description: str | None
    organization_name: str
    organization_short_name: str
    organization_logo: str | None
    organization_linkedin_id: str | None
    issued: dt.date
    issued_display: str
    expires: dt.date | None
    expires_display: str | None
    status: str  # "valid", "revoked" or "expired"
    status_label: str
    revocation_reason: str | None
    grade: str | None
    attributes: tuple[tuple[str, str], ...]  # (label, value), grade excluded
    program_courses: tuple[str, ...]  # titles, for program certificates
    signatories: tuple[SignatoryView, ...]
    paths: CredentialPaths
    grade_display: str | None = None  # "0.94" -> "94%"; letter grades as given
    description: str = ""  # the course's or program's paragraph from site.yml; may be empty
    organization_website: str | None = None  # an http(s) URL (site.yml refuses any other)
    revocation_date: dt.date | None = None  # when revoked, when the record says
    revocation_date_display: str | None = None


def certificate_status(credential: Credential, today: dt.date) -> str:
    if credential.status == "revoked":
        return "revoked"
    if credential.expires is not None and credential.expires < today:
        return "expired"
    return "valid"


def display_date(value: dt.date) -> str:
    # Spelled-out months read the same in every country (03/04 does not).
    return f"{value.day} {value.strftime('%B')} {value.year}"


def display_grade(grade: str | None) -> str | None:
    """A fraction grade as a percentage (how learners read it); other grades as given."""
    if grade is None:
        return None
    try:
        value = float(grade)
    except ValueError:
        return grade
    if 0 <= value <= 1 and "." in grade:
        return f"{round(value * 100)}%"
    return grade


def text_direction(text: str) -> str:
    """The direction of the first strong character, as the Unicode bidi algorithm picks it."""
    for char in text:
        bidi = unicodedata.bidirectional(char)
        if bidi in ("R", "AL"):
            return "rtl"
        if bidi == "L":
            return "ltr"
    return "ltr"


def present(credential: Credential, site: Site, today: dt.date) -> CertificateView:
    subject = site.subject_of(credential)
    if credential.is_course:
        kind, kind_label, program_courses = "course", "Course certificate", ()
    else:
        kind, kind_label = "program", "Program certificate"
        program_courses = tuple(
            site.courses[c].title for c in subject.courses if c in site.courses
        )
    org = site.organizations[subject.org]
    status = certificate_status(credential, today)
    mode = credential.certificate_type if credential.is_course else None
    return CertificateView(
        uuid=credential.uuid,
        recipient_name=credential.full_name,
        name_direction=text_direction(credential.full_name),
        username=credential.username,
        title=subject.title,
        kind=kind,
        kind_label=kind_label,
        mode=mode,
        mode_label=MODE_LABELS.get(mode) if mode else None,
        mode_description=MODE_DESCRIPTIONS.get(mode) if mode else None,
        organization_name=org.name,
        organization_short_name=org.short_name,
        organization_logo=org.logo,
        organization_linkedin_id=org.linkedin_id,
        issued=credential.issued,
        issued_display=display_date(credential.issued),
        expires=credential.expires,
        expires_display=display_date(credential.expires) if credential.expires else None,
        status=status,
        status_label=STATUS_LABELS[status],
        revocation_reason=credential.revocation_reason if status == "revoked" else None,
        grade=credential.attribute("course", "grade"),
        attributes=_display_attributes(credential),
        program_courses=program_courses,
        signatories=_signatories(subject, site),
        paths=CredentialPaths(credential.uuid),
        grade_display=display_grade(credential.attribute("course", "grade")),
        description=subject.description,
        organization_website=org.website,
        revocation_date=credential.revocation_date if status == "revoked" else None,
        revocation_date_display=display_date(credential.revocation_date)
        if status == "revoked" and credential.revocation_date else None,
    )


def _display_attributes(credential: Credential) -> tuple[tuple[str, str], ...]:
    shown = []
    for attr in credential.attributes:
        if (attr.namespace, attr.name) == ("course", "grade"):
            continue
        label = ATTRIBUTE_LABELS.get((attr.namespace, attr.name))
        shown.append((label or attr.name.replace("_", " ").capitalize(), attr.value))
    return tuple(shown)


def _signatories(subject, site: Site) -> tuple[SignatoryView, ...]:
    keys = subject.signatories or ()
    chosen = [site.signatories[k] for k in keys if k in site.signatories]
    return tuple(
        SignatoryView(s.name, s.title, s.organization, s.signature_image) for s in chosen
    )


@dataclass(frozen=True)
class SigningFacts:
    """What pages say about the signatures, without touching the key itself."""

    fingerprint: str | None
    development_key: bool

    @classmethod
    def of(cls, signer) -> SigningFacts:
        """From a `sitegen.sign.gpg.Signer`, or None for a build without signatures."""
        if signer is None:
            return cls(None, False)
        return cls(signer.fingerprint, signer.is_development_key)
