"""A credential's machine-readable forms for wallets and backpacks, and the site files they name.

Per credential:
* `credential.json`, an Open Badges 3.0 `OpenBadgeCredential` signed with the site's Ed25519
  key (signed builds only), whose `credentialStatus` names its bit in a status list;
* `assertion.json`, an Open Badges 2.0 hosted assertion (verified by fetching it).

Per site (the shared pages): the issuer's DID document, the signed status lists, and the Open
Badges 2.0 issuer profile of each organization and badge class (with its SVG image) of each
course and mode and of each program, for the whole catalogue of the site, so that no shard of
a sharded build depends on which credentials another built.

The learner is named by a salted hash of their username (OB 3.0) or profile URL (OB 2.0),
never in the clear; their name is in OB 3.0's subject, as printed on the certificate.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid as uuid_module
from collections.abc import Iterable
from dataclasses import dataclass
from xml.sax.saxutils import escape

from sitegen.layout import status_list_path
from sitegen.model import Course, Credential, Program, Site
from sitegen.plan.status_indexes import StatusIndexes
from sitegen.render.theme import Theme
from sitegen.render.view import MODE_LABELS, CertificateView
from sitegen.sign.vc_key import VcKey
from sitegen.vc import (
    MIN_ENTRIES,
    Achievement,
    BadgeFacts,
    CredentialIssuer,
    IssuerProfile,
    credential_json,
    did_document,
    did_document_path,
    did_for_base_url,
)
from sitegen.vc import openbadges2 as ob2


@dataclass(frozen=True)
class StatusEntry:
    url: str  # of the status list
    index: int  # within that list


class Badges:
    """Renders both badge forms of a site's credentials; one per build (and per worker)."""

    def __init__(self, site: Site, theme: Theme, indexes: StatusIndexes, key: VcKey | None):
        self.site = site
        self.theme = theme
        self.indexes = indexes
        self.key = key
        self.did = did_for_base_url(site.base_url)
        profile = IssuerProfile(self.did, site.platform_name or site.name, site.base_url)
        self.issuer = CredentialIssuer(profile, key.key) if key else None

    # -- per credential ----------------------------------------------------------------------

    def open_badge_3(self, credential: Credential, view: CertificateView) -> bytes:
        """The signed Open Badges 3.0 credential."""
        if self.issuer is None:
            raise ValueError("a build without signatures makes no verifiable credential")
        status = self.status_entry(credential.uuid)
        facts = BadgeFacts(
            credential_url=self.site.base_url + view.paths.credential,
            page_url=self.site.base_url + view.paths.page,
            achievement=self._achievement(credential),
            learner_name=credential.full_name,
            identity=credential.username,
            identity_type="userName",
            issued=credential.issued,
            expires=credential.expires,
            status_list_url=status.url,
            status_index=status.index,
        )
        return credential_json(self.issuer.issue(facts))

    def assertion(self, credential: Credential, view: CertificateView) -> bytes:
        """The Open Badges 2.0 hosted assertion: revoked ones stay, saying so."""
        award = ob2.Ob2Award(
            uuid=credential.uuid,
            badge=self._badge(*_subject_key(credential)),
            recipient=self._recipient(credential),
            issued=credential.issued,
            expires=credential.expires,
            revoked=view.status == "revoked",
            revocation_reason=credential.revocation_reason if view.status == "revoked" else None,
        )
        return ob2.ob2_json(ob2.assertion(award, self.site.base_url))

    def status_entry(self, uuid: str) -> StatusEntry:
        number, position = _list_position(self.indexes[uuid])
        return StatusEntry(self.site.base_url + status_list_path(number), position)

    # -- per site ------------------------------------------------------------------------------

    def site_files(self) -> dict[str, bytes]:
        """Issuers and badge classes, and the DID document (signed builds): made from site.yml,
        the theme's assets and the key alone."""
        files: dict[str, bytes] = {}
        for key in self.site.organizations:
            issuer = self._ob2_issuer(key)
            files[ob2.issuer_path(key)] = ob2.ob2_json(ob2.issuer_profile(issuer, self.site.base_url))
        for kind, subject_id, mode in self._catalogue():
            badge = self._badge(kind, subject_id, mode)
            files[ob2.badge_path(badge)] = ob2.ob2_json(ob2.badge_class(badge, self.site.base_url))
            files[_badge_image_path(kind, subject_id, mode)] = self._badge_image(kind, subject_id, mode)
        if self.issuer is not None:
            files[did_document_path(self.site.base_url)] = credential_json(
                did_document(self.did, self.key.public_keys))
        return files

    def status_lists(self, credentials: Iterable[Credential], today: dt.date) -> dict[str, bytes]:
        """The signed status lists (signed builds; none in others), one per MIN_ENTRIES indexes
        in use (at least one, so the URL answers)."""
        if self.issuer is None:
            return {}
        lists: dict[int, set[int]] = {1: set()}
        issued: dict[int, dt.date] = {}
        for credential in credentials:
            number, position = _list_position(self.indexes[credential.uuid])
            lists.setdefault(number, set())
            latest = max(credential.issued, credential.revocation_date or credential.issued)
            issued[number] = max(issued.get(number, latest), latest)
            if credential.status == "revoked":
                lists[number].add(position)
        files = {}
        for number, revoked in sorted(lists.items()):
            url = self.site.base_url + status_list_path(number)
            # A date the list's content gives, not the clock: a rebuild with nothing new
            # gives the same bytes (the latest issue or revocation date of its credentials).
            valid_from = _datetime(issued.get(number, today))
            files[status_list_path(number)] = credential_json(self.issuer.status_list(url, revoked, valid_from))
        return files

    # -- the parts -----------------------------------------------------------------------------

    def _catalogue(self) -> list[tuple[str, str, str | None]]:
        subjects = [(ob2.COURSE, course.id, mode) for course in self.site.courses.values()
                    if course.org in self.site.organizations for mode in course.modes]
        subjects += [(ob2.PROGRAM, program.id, None) for program in self.site.programs.values()
                     if program.org in self.site.organizations]
        return subjects

    @functools.cache  # noqa: B019 - one Badges per build: the cache lives as long as the build
    def _badge(self, kind: str, subject_id: str, mode: str | None) -> ob2.Ob2Badge:
        subject = self._subject(kind, subject_id)
        return ob2.Ob2Badge(
            issuer_key=subject.org,
            kind=kind,
            subject_id=subject_id,
            mode=mode,
            name=_badge_name(subject, mode),
            description=subject.description or f"{_badge_name(subject, mode)}, awarded by "
                                               f"{self.site.organizations[subject.org].name}.",
            image_url=self.site.base_url + _badge_image_path(kind, subject_id, mode),
            criteria_narrative=_criteria(subject, mode),
        )

    def _achievement(self, credential: Credential) -> Achievement:
        badge = self._badge(*_subject_key(credential))
        return Achievement(
            id=self.site.base_url + ob2.badge_path(badge),
            name=badge.name,
            description=badge.description,
            criteria_narrative=badge.criteria_narrative,
            image_url=badge.image_url,
            achievement_type="Certificate",
        )

    def _subject(self, kind: str, subject_id: str) -> Course | Program:
        return self.site.courses[subject_id] if kind == ob2.COURSE else self.site.programs[subject_id]

    def _recipient(self, credential: Credential) -> ob2.Ob2Recipient:
        if self.site.learner_profile_url:
            return ob2.Ob2Recipient.for_username(credential.username, self.site.learner_profile_url)
        # No profile URL to name them by: a stable, opaque id of the learner on this site.
        learner = uuid_module.uuid5(uuid_module.NAMESPACE_URL, f"{self.site.base_url}learners/{credential.username}")
        return ob2.Ob2Recipient(f"urn:uuid:{learner}", "id")

    def _ob2_issuer(self, key: str) -> ob2.Ob2Issuer:
        org = self.site.organizations[key]
        logo = self.theme.assets.get(org.logo) if org.logo else None
        image = self.site.base_url + logo.published if logo and logo.published.endswith((".png", ".svg")) else None
        if not self.site.contact_email:
            raise ValueError("contact_email in site.yml: Open Badges 2.0 requires an email address of every issuer")
        return ob2.Ob2Issuer(key=key, name=org.name, url=org.website or self.site.base_url,
                             email=self.site.contact_email, image_url=image)

    def _badge_image(self, kind: str, subject_id: str, mode: str | None) -> bytes:
        subject = self._subject(kind, subject_id)
        org = self.site.organizations[subject.org]
        return badge_svg(subject.title, org.short_name, MODE_LABELS.get(mode) if mode else "Program certificate")


def badge_svg(title: str, organization: str, award: str) -> bytes:
    """A plain round badge: the award, the organization and the title, as text (any script)."""
    lines = _wrapped(title, 22)[:3]
    text = "".join(f'<text x="200" y="{190 + 30 * n}" class="t">{escape(line)}</text>' for n, line in enumerate(lines))
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="400" viewBox="0 0 400 400">'
        "<style>text{font-family:'Noto Sans',sans-serif;text-anchor:middle;fill:#1d2b44}"
        ".t{font-size:24px;font-weight:600}.s{font-size:18px;letter-spacing:1px}</style>"
        '<circle cx="200" cy="200" r="190" fill="#f7f3e8" stroke="#1d2b44" stroke-width="8"/>'
        '<circle cx="200" cy="200" r="170" fill="none" stroke="#b08d3c" stroke-width="3"/>'
        f'<text x="200" y="120" class="s">{escape(award.upper())}</text>'
        f"{text}"
        f'<text x="200" y="310" class="s">{escape(organization)}</text>'
        "</svg>\n"
    ).encode()


def _wrapped(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    if len(lines) > 3:
        lines = lines[:2] + [" ".join(lines[2:])[: width - 1] + "…"]
    return lines


def _subject_key(credential: Credential) -> tuple[str, str, str | None]:
    if credential.is_course:
        return ob2.COURSE, credential.course_id, credential.certificate_type
    return ob2.PROGRAM, credential.program_id, None


def _badge_name(subject: Course | Program, mode: str | None) -> str:
    return f"{subject.title} ({MODE_LABELS.get(mode) if mode else 'Program certificate'})"


def _criteria(subject: Course | Program, mode: str | None) -> str:
    if isinstance(subject, Program):
        return f"Earned a certificate in every course of the program {subject.title}."
    return f"Completed the course {subject.title} and earned a {MODE_LABELS.get(mode, mode).lower()}."


def _list_position(index: int) -> tuple[int, int]:
    """(the status list's number, from 1; the bit within it) of a credential's index."""
    return index // MIN_ENTRIES + 1, index % MIN_ENTRIES


def _badge_image_path(kind: str, subject_id: str, mode: str | None) -> str:
    return ob2.badge_class_path(kind, subject_id, mode).removesuffix(".json") + ".svg"


def _datetime(day: dt.date) -> str:
    return f"{day.isoformat()}T00:00:00Z"

