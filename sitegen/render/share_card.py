"""The 1200x630 social card (`cards/<sha256>.png`) that LinkedIn, X and Facebook show for a link.

The card shows the course or program, the organization and the status, not the
learner's name: the name is already in the link preview's title, and an image of
it would be one more copy of personal data to purge. So one card serves every
credential of the same course, mode and status: it is rendered once per process and
published once, named by its bytes, for every page to point at.

WeasyPrint lays the card out (same fonts and shaping as the PDFs), pypdfium2
rasterises it, Pillow writes the PNG: all three give the same bytes for the same input.
"""

from __future__ import annotations

import io

from sitegen.layout import SHARE_CARDS_DIR
from sitegen.render.theme import RenderRecord, Theme
from sitegen.render.view import CertificateView

CARD_WIDTH, CARD_HEIGHT = 1200, 630
STATUS_COLORS = {"valid": "#146c3c", "expired": "#8a4600", "revoked": "#a1181d"}


class ShareCards:
    def __init__(self, theme: Theme):
        self.theme = theme
        self._cards: dict[tuple, tuple[bytes, RenderRecord]] = {}

    def card_for(self, view: CertificateView) -> tuple[bytes, RenderRecord]:
        key = (view.title, view.kind_label, view.mode_label, view.organization_name,
               view.organization_logo, view.status)
        if key not in self._cards:
            self._cards[key] = self._render(view)
        return self._cards[key]

    def _render(self, view: CertificateView) -> tuple[bytes, RenderRecord]:
        from weasyprint import HTML

        record = RenderRecord()
        card = {
            "title": view.title,
            "title_size": 56 if len(view.title) <= 48 else 44 if len(view.title) <= 90 else 34,
            "kind": view.mode_label or view.kind_label,
            "organization": view.organization_name,
            "logo": view.organization_logo,
            "status_label": view.status_label,
            "status_color": STATUS_COLORS.get(view.status, "#475266"),
        }
        html = self.theme.render("share_card.html", f"{SHARE_CARDS_DIR}/card.png", record=record, for_pdf=True,
                                 card=card)
        pdf = HTML(string=html, base_url=str(self.theme.site.root)).write_pdf()
        return _rasterise(pdf), record


def _rasterise(pdf: bytes) -> bytes:
    import pypdfium2

    document = pypdfium2.PdfDocument(pdf)
    try:
        page = document[0]
        scale = CARD_WIDTH / page.get_width()
        image = page.render(scale=scale).to_pil().convert("RGB")
    finally:
        document.close()
    if image.size != (CARD_WIDTH, CARD_HEIGHT):
        image = image.resize((CARD_WIDTH, CARD_HEIGHT))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
