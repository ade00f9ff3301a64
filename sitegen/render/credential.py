"""Every output of a credential, as bytes: page, API JSON, PDF, share card, statement text.

Nothing here signs or writes: `sitegen.sign.credential` adds the signatures and
`sitegen.write.credential` writes the files. A credential that cannot be rendered
(a theme error, a name no font can draw, text that cannot be encoded) becomes a
`CredentialFailure` before any of its files is touched.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import traceback
from dataclasses import dataclass, field

from sitegen.layout import share_card_path
from sitegen.model import Credential, Site
from sitegen.render.badges import Badges
from sitegen.render.html import SigningFacts, certificate_page, credential_json, pdf_hash_json
from sitegen.render.share_card import ShareCards
from sitegen.render.theme import RenderRecord, Theme
from sitegen.render.view import CertificateView, present


@dataclass(frozen=True)
class RenderedCredential:
    uuid: str
    files: dict[str, bytes]  # output kind (sitegen.layout) -> bytes, signatures not yet made
    statement: str | None  # the text to clear-sign; None in a pages-only build
    signed_at: dt.datetime  # the issue date at noon UTC: signatures are reproducible
    theme_files: dict[str, str] = field(default_factory=dict)  # "template:x" / "asset:y" -> digest


@dataclass(frozen=True)
class CredentialFailure:
    uuid: str
    reason: str


@dataclass
class CredentialRenderer:
    site: Site
    theme: Theme
    signing: SigningFacts
    today: dt.date
    signed: bool  # False for a pages-only build: no PDF, statement or share card

    badges: Badges

    def __post_init__(self):
        self.share_cards = ShareCards(self.theme)

    def render_batch(self, credentials: list[Credential]) -> list[RenderedCredential | CredentialFailure]:
        views = [present(c, self.site, self.today) for c in credentials]
        pdfs = self._render_pdfs(credentials, views)
        return [self._render_one(c, v, pdfs.get(c.uuid)) for c, v in zip(credentials, views)]

    def _render_pdfs(self, credentials: list[Credential], views: list[CertificateView]) -> dict:
        """uuid -> PdfResult, for the credentials that get a PDF (PDFs are laid out in batches)."""
        if not self.signed:
            return {}
        from sitegen.render.pdf import PdfJob, render_pdfs

        jobs = [PdfJob(c, v) for c, v in zip(credentials, views) if v.status != "revoked"]
        return {result.uuid: result for result in (render_pdfs(jobs, self.theme) if jobs else [])}

    def _render_one(self, credential: Credential, view: CertificateView, pdf) -> RenderedCredential | CredentialFailure:
        if pdf is not None and pdf.problem is not None:
            return CredentialFailure(credential.uuid, str(pdf.problem))
        record = RenderRecord()
        if pdf is not None:
            record.add(pdf.used)
        try:
            files, statement = self._files(credential, view, pdf.pdf if pdf else None, record)
        except Exception as err:  # one credential's failure must not stop the others
            detail = traceback.format_exception_only(type(err), err)[-1].strip()
            return CredentialFailure(credential.uuid, detail)
        signed_at = dt.datetime.combine(credential.issued, dt.time(12, 0), tzinfo=dt.UTC)
        return RenderedCredential(credential.uuid, files, statement, signed_at, self.theme.file_digests(record))

    def _files(self, credential: Credential, view: CertificateView, pdf: bytes | None,
               record: RenderRecord) -> tuple[dict[str, bytes], str | None]:
        pdf_sha256 = hashlib.sha256(pdf).hexdigest() if pdf is not None else None
        files: dict[str, bytes] = {}
        statement = None
        if pdf is not None:
            files["pdf"] = pdf
            files["pdf_hash"] = pdf_hash_json(credential.uuid)
        if self.signed:
            from sitegen.sign.statement import statement_text

            statement = statement_text(view, self.site, pdf_sha256, self.signing.fingerprint,
                                       lambda path: self.site.base_url + path)
            statement.encode("utf-8")  # fail here, before anything is signed or written
            card, card_record = self.share_cards.card_for(view)
            record.add(card_record)
            files["share_image"] = card
            files["credential"] = self.badges.open_badge_3(credential, view)
        files["assertion"] = self.badges.assertion(credential, view)
        files["api"] = credential_json(self.site, view, credential, self.signing, pdf_sha256)
        card = files.get("share_image")
        card_path = share_card_path(hashlib.sha256(card).hexdigest()) if card is not None else None
        html = certificate_page(self.theme, view, credential, self.signing, pdf is not None, record, card_path,
                                has_verifiable_credential="credential" in files)
        files["page"] = html.encode("utf-8")
        return files, statement
