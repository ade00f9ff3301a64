"""Every output of a credential, as bytes: page, API JSON, PDF, share card, statement text.

Nothing here signs or writes: `sitegen.sign.credential` adds the signatures and
`sitegen.write.credential` writes the files. A credential that cannot be rendered
(a theme error, a name no font can draw, text that cannot be encoded) becomes a
`CredentialFailure` before any of its files is touched.

In a signed build the verifiable credential (credential.json, signed with the site's Ed25519
key) is made first: the PDF carries it, byte for byte, as a PDF/A-3 associated file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import traceback
from dataclasses import dataclass, field

from sitegen.layout import share_card_path
from sitegen.model import Credential, Site
from sitegen.render.badges import Badges
from sitegen.render.html import certificate_page, credential_json, pdf_hash_json
from sitegen.render.share_card import ShareCards
from sitegen.render.theme import RenderRecord, Theme
from sitegen.render.view import CertificateView, SigningFacts, present
from sitegen.vc import embedded


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
        signed = {c.uuid: self._verifiable_credential(c, v) for c, v in zip(credentials, views)} if self.signed else {}
        pdfs = self._render_pdfs(credentials, views, signed)
        return [self._render_one(c, v, pdfs.get(c.uuid), signed.get(c.uuid)) for c, v in zip(credentials, views)]

    def _verifiable_credential(self, credential: Credential, view: CertificateView) -> bytes | CredentialFailure:
        try:
            return self.badges.open_badge_3(credential, view)
        except Exception as err:  # one credential's failure must not stop the others
            return _failure(credential, err)

    def _render_pdfs(self, credentials: list[Credential], views: list[CertificateView], signed: dict) -> dict:
        """uuid -> PdfResult, for the credentials that get a PDF (PDFs are laid out in batches),
        each carrying its verifiable credential."""
        if not signed:
            return {}  # a pages-only build: no PDF, and no WeasyPrint to load
        from sitegen.render.pdf import PdfJob, render_pdfs

        jobs = [PdfJob(c, v, (embedded_credential(c, signed[c.uuid]),)) for c, v in zip(credentials, views)
                if v.status != "revoked" and isinstance(signed.get(c.uuid), bytes)]
        return {result.uuid: result for result in (render_pdfs(jobs, self.theme) if jobs else [])}

    def _render_one(self, credential: Credential, view: CertificateView, pdf,
                    signed: bytes | CredentialFailure | None) -> RenderedCredential | CredentialFailure:
        if isinstance(signed, CredentialFailure):
            return signed
        if pdf is not None and pdf.problem is not None:
            return CredentialFailure(credential.uuid, str(pdf.problem))
        record = RenderRecord()
        if pdf is not None:
            record.add(pdf.used)
        try:
            files, statement = self._files(credential, view, pdf.pdf if pdf else None, signed, record)
        except Exception as err:  # one credential's failure must not stop the others
            return _failure(credential, err)
        return RenderedCredential(credential.uuid, files, statement, credential.issued_at,
                                  self.theme.file_digests(record))

    def _files(self, credential: Credential, view: CertificateView, pdf: bytes | None, signed: bytes | None,
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
            files["credential"] = signed
        files["assertion"] = self.badges.assertion(credential, view)
        files["api"] = credential_json(self.site, view, credential, self.signing, pdf_sha256)
        card = files.get("share_image")
        card_path = share_card_path(hashlib.sha256(card).hexdigest()) if card is not None else None
        html = certificate_page(self.theme, view, credential, self.signing, pdf is not None, record, card_path,
                                has_verifiable_credential="credential" in files)
        files["page"] = html.encode("utf-8")
        return files, statement


def embedded_credential(credential: Credential, signed: bytes):
    """The signed credential.json as its PDF embeds it (a PDF/A-3 associated file)."""
    from sitegen.render.pdf import PdfAttachment

    return PdfAttachment(embedded.FILE_NAME, signed, embedded.MEDIA_TYPE, credential.issued_at,
                         embedded.RELATIONSHIP, embedded.DESCRIPTION)


def _failure(credential: Credential, err: Exception) -> CredentialFailure:
    return CredentialFailure(credential.uuid, traceback.format_exception_only(type(err), err)[-1].strip())
