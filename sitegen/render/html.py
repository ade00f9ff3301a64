"""Pages and JSON: the certificate page, the public API record, and the site's own pages.

Functions here return text; writing it is the build's job. Learner data only ever
reaches HTML through Jinja's autoescaping, JSON through json.dumps, URLs through urlencode.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from urllib.parse import urlencode

import jinja2

from sitegen.layout import KEY_FILE, KEYS_PAGE, NOT_FOUND_PAGE, VERIFY_PAGE, CredentialPaths, verify_page_config
from sitegen.load.content import ContentPage
from sitegen.model import Credential, Site
from sitegen.render import qr
from sitegen.render.theme import RenderRecord, Theme
from sitegen.render.view import CertificateView, SigningFacts


def certificate_page(theme: Theme, view: CertificateView, credential: Credential,
                     signing: SigningFacts, has_pdf: bool, record: RenderRecord,
                     share_image: str | None = None, has_verifiable_credential: bool = False) -> str:
    """The certificate page; `share_image` is the site path of its link preview card (none
    in a pages-only build), as is the verifiable credential a wallet takes."""
    names = theme.certificate_templates("certificate.html", credential)
    return theme.render(
        names, view.paths.page_file, record=record,
        cert=view, fingerprint=signing.fingerprint, development_key=signing.development_key,
        has_pdf=has_pdf, share=share_links(theme.site, view), status_json_url=view.paths.api,
        share_image=share_image, machine_readable=machine_readable(view, has_verifiable_credential),
        wallet=wallet_offer(theme.site, view) if has_verifiable_credential else None,
    )


def machine_readable(view: CertificateView, has_verifiable_credential: bool) -> list[dict[str, str]]:
    """The page's `<link rel="alternate">`s: its forms for programs (DESIGN.md's types)."""
    links = [{"type": "application/json", "path": view.paths.api, "title": "Credentials API JSON"},
             {"type": "application/ld+json", "path": view.paths.assertion, "title": "Open Badges 2.0 assertion"}]
    if has_verifiable_credential:
        links.append({"type": "application/vc", "path": view.paths.credential,
                      "title": "Open Badges 3.0 verifiable credential"})
    return links


def wallet_offer(site: Site, view: CertificateView) -> dict[str, str]:
    """What the page offers a learner's wallet: the credential's URL, as a link and as a QR
    code (the Learner Credential Wallet adds a credential from a URL or a scanned one)."""
    url = site.base_url + view.paths.credential
    return {"url": url, "path": view.paths.credential, "qr_svg": qr_svg(url)}


def qr_svg(text: str) -> jinja2.utils.markupsafe.Markup:
    """A QR code as inline SVG (one path; scales without blur; no script, no external file)."""
    size, path = qr.qr_svg_path(text)
    return jinja2.utils.markupsafe.Markup(
        f'<svg aria-hidden="true" focusable="false" width="{size}mm" height="{size}mm" version="1.1" '
        f'viewBox="0 0 {size} {size}" xmlns="http://www.w3.org/2000/svg">'
        f'<path d="{path}" fill="#000000" stroke="none"/></svg>')


def share_links(site: Site, view: CertificateView) -> dict[str, str]:
    """LinkedIn 'Add to profile' and share URLs; every value goes through urlencode."""
    page_url = site.base_url + view.paths.page
    course = _course_share_query(view.title, view.mode_label or view.kind_label, view.kind_label,
                                 view.organization_name, view.organization_linkedin_id)
    learner = {
        "issueYear": str(view.issued.year),
        "issueMonth": str(view.issued.month),
        "certUrl": page_url,
        "certId": view.uuid,
    }
    if view.expires:
        learner["expirationYear"], learner["expirationMonth"] = str(view.expires.year), str(view.expires.month)
    shared_url = urlencode({"url": page_url})
    return {
        # The query's fields in LinkedIn's documented order: the award, this learner's, the issuer.
        "linkedin_add_url": f"https://www.linkedin.com/profile/add?{course.award}&{urlencode(learner)}&{course.issuer}",
        "linkedin_share_url": "https://www.linkedin.com/sharing/share-offsite/?" + shared_url,
        "x_share_url": f"https://x.com/intent/post?{course.text}&{shared_url}",
        "facebook_share_url": "https://www.facebook.com/sharer/sharer.php?" + urlencode({"u": page_url}),
    }


@dataclass(frozen=True)
class _CourseShareQuery:
    """The parts of a page's share URLs that name the course and issuer, not the learner:
    urlencoded once per course (or program) and mode instead of once per page."""

    award: str  # startTask=...&name=...
    issuer: str  # organizationId=... or organizationName=...
    text: str  # text=... of the post on X


@functools.lru_cache(maxsize=1024)
def _course_share_query(title: str, award: str, kind_label: str, organization_name: str,
                        organization_linkedin_id: str | None) -> _CourseShareQuery:
    # The key is every value the parts show: two learners of a course and mode share them.
    issuer = ({"organizationId": organization_linkedin_id} if organization_linkedin_id
              else {"organizationName": organization_name})
    text = f"I earned a {kind_label.lower()} for {title} from {organization_name}"
    return _CourseShareQuery(urlencode({"startTask": "CERTIFICATION_NAME", "name": f"{title} ({award})"}),
                             urlencode(issuer), urlencode({"text": text}))


def credential_json(site: Site, view: CertificateView, credential: Credential,
                    signing: SigningFacts, pdf_sha256: str | None) -> bytes:
    """The Credentials API's public fields of a credential (its UserCredential, the record's
    field names), plus what an employer's check needs.

    What the Credentials service fills from its database, a static site fills from what it
    publishes: `credential_id` is the ID printed on the certificate, in its URL and in its
    signed statement; `download_url` is the PDF's URL, or null when there is no PDF (revoked,
    or a preview built without PDFs). `credential` is the API's nested form of the subject.
    """
    if credential.is_course:
        subject = {"type": "course-run", "course_run_key": credential.course_id,
                   "mode": credential.certificate_type}
        subject_fields = {"course_id": credential.course_id, "certificate_type": credential.certificate_type}
    else:
        subject = {"type": "program", "program_uuid": credential.program_id}
        subject_fields = {"program_id": credential.program_id}
    data = {
        "uuid": credential.uuid,
        "credential_id": credential.uuid,
        "username": credential.username,
        "full_name": credential.full_name,
        "credential": subject,
        "credential_type": credential.credential_type,
        **subject_fields,
        "status": credential.status,
        "title": view.title,
        "organization": view.organization_name,
        "issued": credential.issued.isoformat(),
        "created": credential.issued.isoformat(),
        "expires": credential.expires.isoformat() if credential.expires else None,
        "attributes": [{"namespace": a.namespace, "name": a.name, "value": a.value} for a in credential.attributes],
        "certificate_url": site.base_url + view.paths.page,
        "download_url": site.base_url + view.paths.pdf if pdf_sha256 else None,
        "verification": {
            "status": view.status,
            "revocation_reason": view.revocation_reason,
            "revocation_date": view.revocation_date.isoformat() if view.revocation_date else None,
            "pdf_sha256": pdf_sha256,
            "pdf_url": site.base_url + view.paths.pdf if pdf_sha256 else None,
            "signature_url": site.base_url + view.paths.signature if pdf_sha256 else None,
            "statement_url": site.base_url + view.paths.statement,
            "page_url": site.base_url + view.paths.page,
            "key_url": site.base_url + KEY_FILE,
            "key_fingerprint": signing.fingerprint,
        },
    }
    # No indent: only then does json use its C encoder (several times faster at 100k files).
    return (json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n").encode("utf-8")


def pdf_hash_json(uuid: str) -> bytes:
    # Lets the verify page find an altered-metadata PDF by its bytes, one hash at a time:
    # nobody can list credentials from it.
    return (json.dumps({"uuid": uuid}) + "\n").encode("utf-8")


def content_page(theme: Theme, page: ContentPage, record: RenderRecord | None = None) -> str:
    return theme.render("page.html", page.output_path, record=record, page=page)


def keys_page(theme: Theme, signing: SigningFacts, public_key: str, record: RenderRecord | None = None) -> str:
    return theme.render("keys.html", KEYS_PAGE, record=record, fingerprint=signing.fingerprint,
                        development_key=signing.development_key, public_key=public_key,
                        key_url=theme.site.base_url + KEY_FILE)


def verify_page(theme: Theme, signing: SigningFacts, record: RenderRecord | None = None) -> str:
    # The layout goes into the page as JSON: verify.js reads it instead of a copy of it.
    return theme.render("verify.html", VERIFY_PAGE, record=record, fingerprint=signing.fingerprint,
                        development_key=signing.development_key, layout=verify_page_config())


def withdrawn_page(theme: Theme, uuid: str) -> str:
    """What a purged credential's URL answers: that it is gone, and nothing about whom."""
    return theme.render("withdrawn.html", CredentialPaths(uuid).page_file, uuid=uuid)


def not_found_page(theme: Theme, record: RenderRecord | None = None) -> str:
    # Served from any depth, so its links must be absolute.
    return theme.render("404.html", NOT_FOUND_PAGE, record=record)

