"""Render, sign and write every output of a batch of credentials.

This runs in worker processes: each worker holds its own `CredentialRenderer` (theme,
signer) and writes files itself, so page and PDF bytes never travel between processes
and memory stays flat however many credentials there are. It returns small results
the build turns into state and the report.

Per credential the order is: PDF and its signature, statement, JSON, page last, so
that a page never links to a PDF that is not there yet.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from sitegen.model import Credential, Site
from sitegen.write.files import remove_file, write_atomic
from sitegen.render.view import CertificateView, present
from sitegen.render.html import API_CREDENTIALS, API_PDF_HASHES, SigningFacts, certificate_page, credential_json, pdf_hash_json
from sitegen.render.share_card import ShareCards
from sitegen.render.theme import RenderRecord, Theme


@dataclass
class CredentialResult:
    uuid: str
    error: str | None = None
    pdf_sha256: str | None = None
    theme_files: dict[str, str] = field(default_factory=dict)  # "template:x" / "asset:y" -> digest

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class CredentialRenderer:
    site: Site
    theme: Theme
    signer: object | None  # sitegen.sign.gpg.Signer; None for a pages-only build
    out_dir: Path
    today: dt.date
    pages_only: bool = False

    def __post_init__(self):
        self.share_cards = ShareCards(self.theme)

    @property
    def signing(self) -> SigningFacts:
        return SigningFacts.of(self.signer)

    def render_batch(self, credentials: list[Credential], old_pdf_hashes: dict[str, str | None]) -> list[CredentialResult]:
        views = [present(c, self.site, self.today) for c in credentials]
        pdfs = self._render_pdfs(credentials, views)
        results = []
        for credential, view in zip(credentials, views):
            results.append(self._finish_one(credential, view, pdfs.get(credential.uuid), old_pdf_hashes.get(credential.uuid)))
        return results

    def _render_pdfs(self, credentials, views) -> dict[str, tuple]:
        """uuid -> (pdf bytes or None, error or None, RenderRecord) for those that get a PDF."""
        if self.pages_only:
            return {}
        from sitegen.render.pdf import PdfJob, render_pdfs

        jobs = [PdfJob(c, v) for c, v in zip(credentials, views) if v.status != "revoked"]
        results = render_pdfs(jobs, self.theme) if jobs else []
        return {r.uuid: (r.pdf, str(r.problem) if r.problem else None, r.used) for r in results}

    def _finish_one(self, credential: Credential, view: CertificateView, pdf, old_pdf_hash) -> CredentialResult:
        record = RenderRecord()
        try:
            pdf_bytes, error, pdf_record = pdf if pdf else (None, None, None)
            if error:
                return CredentialResult(credential.uuid, error=error)
            if pdf_record is not None:
                record.templates |= pdf_record.templates
                record.assets |= pdf_record.assets
            pdf_sha256 = self._write_credential(credential, view, pdf_bytes, old_pdf_hash, record)
        except Exception as err:  # one credential's failure must not stop the others
            detail = traceback.format_exception_only(type(err), err)[-1].strip()
            return CredentialResult(credential.uuid, error=detail)
        files = {f"template:{n}": self.theme.template_digest(n) for n in record.templates}
        files.update({f"asset:{n}": self.theme.asset_digest(n) for n in record.assets})
        return CredentialResult(credential.uuid, pdf_sha256=pdf_sha256, theme_files=files)

    def _write_credential(self, credential, view, pdf_bytes, old_pdf_hash, record) -> str | None:
        folder = self.out_dir / "credentials" / credential.uuid
        pdf_sha256 = hashlib.sha256(pdf_bytes).hexdigest() if pdf_bytes is not None else None
        signed_at = dt.datetime.combine(credential.issued, dt.time(12, 0), tzinfo=dt.timezone.utc)
        if pdf_bytes is not None:
            write_atomic(folder / "certificate.pdf", pdf_bytes)
            signature = self.signer.sign_detached(pdf_bytes, signed_at=signed_at)
            write_atomic(folder / "certificate.pdf.sig", signature.encode("ascii"))
            write_atomic(self.out_dir / API_PDF_HASHES / pdf_sha256, pdf_hash_json(credential.uuid))
        else:
            # Revoked (or pages only): the PDF must not stay downloadable.
            remove_file(folder / "certificate.pdf")
            remove_file(folder / "certificate.pdf.sig")
        if old_pdf_hash and old_pdf_hash != pdf_sha256:
            remove_file(self.out_dir / API_PDF_HASHES / old_pdf_hash)
        if self.signer is not None:
            from sitegen.sign.statement import statement_text

            text = statement_text(view, self.site, pdf_sha256, self.signer.fingerprint,
                                  lambda path: self.site.base_url + path)
            write_atomic(folder / "statement.txt.asc", self.signer.clearsign(text, signed_at=signed_at).encode("utf-8"))
        if not self.pages_only:
            card, card_record = self.share_cards.card_for(view)
            record.templates |= card_record.templates
            record.assets |= card_record.assets
            write_atomic(folder / "share.png", card)
        json_bytes = credential_json(self.site, view, credential, self.signing, pdf_sha256)
        write_atomic(self.out_dir / API_CREDENTIALS / credential.uuid, json_bytes)
        html = certificate_page(self.theme, view, credential, self.signing, pdf_bytes is not None, record)
        write_atomic(folder / "index.html", html.encode("utf-8"))
        return pdf_sha256


# -- worker processes -------------------------------------------------------------

_renderer: CredentialRenderer | None = None


def init_worker(renderer: CredentialRenderer) -> None:
    global _renderer
    _renderer = renderer
    # Everything loaded so far (theme, fonts, site) lives as long as the worker: keep the
    # garbage collector from scanning it again and again (a few % of PDF time).
    gc.freeze()


def render_batch_in_worker(credentials: list[Credential], old_pdf_hashes: dict) -> list[CredentialResult]:
    return _renderer.render_batch(credentials, old_pdf_hashes)
