"""The legacy verification pages: a `LegacyCertificate` + the site -> page text.

Rendering only: no file is read but the theme's, none written.
"""

from __future__ import annotations

from dataclasses import dataclass

from sitegen.legacy.export import LegacyCertificate
from sitegen.legacy.paths import LegacyPaths
from sitegen.model import Site
from sitegen.render.theme import Theme

PAGE_TEMPLATE = "legacy/certificate.html"
WITHDRAWN_TEMPLATE = "legacy/withdrawn.html"


@dataclass(frozen=True)
class LegacyView:
    """What the legacy template shows."""

    name: str
    course_id: str
    course_title: str  # site.yml's title when the course is known there, else its ID
    mode_label: str
    issued_iso: str
    issued_display: str
    distinction: bool
    pdf_url: str  # the exported download_url, or the PDF's site path
    signature: str
    page: str
    verify_uuid: str


def legacy_view(certificate: LegacyCertificate, site: Site) -> LegacyView:
    paths = certificate.paths
    course = site.courses.get(certificate.course_id)
    issued = certificate.issued
    return LegacyView(
        name=certificate.name,
        course_id=certificate.course_id,
        course_title=course.title if course else certificate.course_id,
        mode_label=certificate.mode_label,
        issued_iso=issued.isoformat(),
        issued_display=f"{issued.day} {issued:%B %Y}",
        distinction=certificate.distinction,
        pdf_url=certificate.download_url or certificate.pdf_key,
        signature=paths.signature,
        page=paths.page,
        verify_uuid=certificate.verify_uuid,
    )


def legacy_pages(theme: Theme, certificate: LegacyCertificate) -> dict[str, bytes]:
    """Site path -> bytes of the certificate's verification pages (index, valid, verify)."""
    view = legacy_view(certificate, theme.site)
    return {path: theme.render(PAGE_TEMPLATE, path, legacy=view).encode("utf-8")
            for path in certificate.paths.pages}


def legacy_withdrawn_page(theme: Theme, verify_uuid: str) -> bytes:
    paths = LegacyPaths(verify_uuid)
    return theme.render(WITHDRAWN_TEMPLATE, paths.file("index.html"), verify_uuid=verify_uuid).encode("utf-8")
