"""The PDF certificate: one page per credential, drawn by WeasyPrint from the theme.

    render_pdfs(jobs, theme) -> [PdfResult]     what the build calls, a batch at a time
    render_pdf(credential, view, theme) -> bytes   one certificate, raises PdfError
    render_pdfs_reference(jobs, theme)          every certificate as a whole WeasyPrint document

Two ways to the same certificate. *Stamped* (pdf_stamp.py): what a template draws the same
for every learner is laid out, painted and subset once, and each learner's own values
(marked `learner(...)` in the template) are drawn over it; about ten times faster than the
other way (benchmarks/bench_pdf.py). *Whole*: each certificate laid out by WeasyPrint, a
batch of them as the pages of one document; it draws what the stamper leaves (templates
without `learner()`, long names with a type size of their own, a value that would wrap or
that WeasyPrint would change), and it is the reference the stamped PDFs are held to
(tests/test_pdf_stamp.py).

Promises, each tested in tests/test_pdf.py:

* One page, always. Type sizes are chosen from the length of the name and the title
  (`fit_text`), then checked after layout: a certificate that spills onto a second page
  is laid out again with smaller type and tighter spacing (`SCALES`), and reported when
  even the smallest scale does not fit.
* Real glyphs in every script: a name no installed font can draw is refused, naming
  the characters, instead of printing boxes (see fonts.py).
* Reproducible bytes: dates come from the record, the PDF /ID from the credential
  ID; nothing depends on the clock, the batch or the order of rendering.
* PDF/A-3b (archival, with associated files), both ways alike: an sRGB output intent,
  every font embedded, XMP metadata that says what the information dictionary says, and
  the files a job attaches (the signed credential.json of a signed build) embedded with
  their relationship to the document, listed in the catalog's /AF.
* Speed: stamped where the template allows it; otherwise certificates sharing a template
  are laid out as the pages of one document, then each page is written as its own PDF
  with its own metadata. Either way the bytes are the same as rendering the certificate
  alone: which way a certificate takes depends on it and its template only.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import functools
import hashlib
import io
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pydyf
import weasyprint
from weasyprint.pdf.metadata import DocumentMetadata
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import FatalURLFetchingError, URLFetcher

from sitegen.errors import Problem, SitegenError
from sitegen.model import Credential, issue_time
from sitegen.render import fonts, pdf_stamp, qr
from sitegen.render.pdf_write import PDF_VARIANT
from sitegen.render.theme import RenderRecord, Theme
from sitegen.render.view import CertificateView

PDF_TEMPLATE = "certificate_pdf.html"
GENERATOR = "sitegen"
# Bump when a change here changes the bytes of PDFs (it goes into `renderer_fingerprint`).
RENDERER_VERSION = "4"

# Successive type scales tried when a certificate does not fit on one page.
SCALES = (1.0, 0.88, 0.77, 0.67, 0.58, 0.5)
PAGES_PER_DOCUMENT = 100  # certificates laid out as one document: bounds memory
QR_PIXELS_PER_MODULE = 8
QR_COLOR = (0x1B, 0x2A, 0x4A)  # the theme's ink

# The widths, in points, the default theme gives the name and the title (an A4
# landscape page less its frame); the sizes are then checked by layout anyway.
NAME_MEASURE = 640.0
TITLE_MEASURE = 600.0
NAME_LARGEST = 40.0  # points: short names; longer ones get a size of their own

# Laid out around each certificate, in the batch and alone alike, so that both give
# the same bytes; the ids say which page belongs to which credential.
_WRAPPER_CSS = """
.sitegen-pdf-page + .sitegen-pdf-page { break-before: page }
.sitegen-pdf-end { display: block; clear: both; height: 0 }
"""
_START_ID = "credential-{uuid}"
_END_ID = "credential-{uuid}-end"
_BODY = re.compile(r"(?is)^(?P<head>.*?<body\b[^>]*>)(?P<body>.*)(?P<tail></body\s*>.*)$")
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


class PdfError(SitegenError):
    """A certificate that cannot be made into a correct PDF."""

    def __init__(self, problem: Problem):
        self.problem = problem
        super().__init__(str(problem))


@dataclass(frozen=True)
class PdfJob:
    """One certificate to render: the record (for its location and templates) and its view."""

    credential: Credential
    view: CertificateView
    attachments: tuple[PdfAttachment, ...] = ()  # files to embed, both ways of rendering alike


@dataclass(frozen=True)
class PdfAttachment:
    """A file embedded in the PDF as a PDF/A-3 associated file, with its relationship to
    the document ("Data", "Source"... ISO 32000-2, 7.11.3)."""

    name: str
    data: bytes
    media_type: str  # written as the embedded file's /Subtype
    modified: dt.datetime  # its dates in the PDF: never the clock, or the bytes would change
    relationship: str = "Unspecified"
    description: str | None = None

    def weasyprint_attachment(self) -> weasyprint.Attachment:
        """A new WeasyPrint attachment (each can be written once)."""
        attachment = weasyprint.Attachment(
            file_obj=io.BytesIO(self.data), name=self.name, description=self.description,
            relationship=self.relationship, created=self.modified, modified=self.modified,
            url_fetcher=_NO_FETCHES)
        # WeasyPrint takes the type from the source, else guesses it from the name
        # ("application/json"); a data: URL would give it, at 0.3 ms of parsing a file.
        attachment.source = _source(self.data, self.media_type)
        return attachment


@contextlib.contextmanager
def _source(data: bytes, media_type: str):
    yield io.BytesIO(data), None, None, media_type  # as weasyprint.urls.select_source yields


@dataclass(frozen=True)
class PdfResult:
    """The PDF of one credential, or the problem that prevented it."""

    uuid: str
    pdf: bytes | None
    problem: Problem | None
    used: RenderRecord  # templates and assets the render used, for the build state
    scale: float | None = None  # the type scale that fitted
    stamped: bool = False  # drawn over its template's shared backdrop (else laid out whole)

    @property
    def ok(self) -> bool:
        return self.pdf is not None


@dataclass(frozen=True)
class TextFit:
    """Type sizes for one certificate, in points, and hints for the template."""

    name_size: float
    title_size: float
    scale: float
    name_lang: str | None
    title_lang: str | None


# -- public API ----------------------------------------------------------------------


def render_pdf(credential: Credential, view: CertificateView, theme: Theme) -> bytes:
    """The PDF of one certificate; raises PdfError with the record's location."""
    return _one(render_pdfs([PdfJob(credential, view)], theme))


def render_pdfs(jobs: Sequence[PdfJob], theme: Theme,
                batch_size: int = PAGES_PER_DOCUMENT) -> list[PdfResult]:
    """PDFs for many certificates, in the order given; one bad certificate fails alone.

    Stamped where the template allows; the others are laid out `batch_size` at a time, so
    memory stays bounded by the batch (plus the returned PDFs: give it a few hundred jobs
    at a time, not all).
    """
    renderer = _Renderer(theme)
    results: list[PdfResult | None] = [renderer.render_stamped(job) for job in jobs]
    whole = [index for index, result in enumerate(results) if result is None]
    for index, result in zip(whole, _render_whole(renderer, [jobs[i] for i in whole], batch_size)):
        results[index] = result
    return results


def render_pdf_reference(credential: Credential, view: CertificateView, theme: Theme) -> bytes:
    """The PDF of one certificate laid out whole, never stamped; raises PdfError."""
    return _one(render_pdfs_reference([PdfJob(credential, view)], theme))


def _one(results: list[PdfResult]) -> bytes:
    (result,) = results
    if result.problem is not None:
        raise PdfError(result.problem)
    return result.pdf


def render_pdfs_reference(jobs: Sequence[PdfJob], theme: Theme,
                          batch_size: int = PAGES_PER_DOCUMENT) -> list[PdfResult]:
    """PDFs laid out whole, never stamped: the reference stamped PDFs are compared with."""
    return _render_whole(_Renderer(theme), jobs, batch_size)


def _render_whole(renderer: _Renderer, jobs: Sequence[PdfJob], batch_size: int) -> list[PdfResult]:
    results: list[PdfResult | None] = [None] * len(jobs)
    pending: dict[str, list[_Prepared]] = {}  # by group: same markup around <body>

    def render(batch: list[_Prepared]) -> None:
        for prepared, result in renderer.render_batch(batch):
            results[prepared.index] = result

    for index, job in enumerate(jobs):
        prepared = renderer.prepare(job, scale_index=0)
        if isinstance(prepared, PdfResult):
            results[index] = prepared
            continue
        prepared.index = index
        batch = pending.setdefault(prepared.group_key, [])
        # Page ids are credential ids: the same credential twice goes in another batch.
        if len(batch) >= batch_size or any(p.uuid == prepared.uuid for p in batch):
            render(batch)
            batch.clear()
        batch.append(prepared)
    for batch in pending.values():
        if batch:
            render(batch)
    return results


def fit_text(view: CertificateView, scale: float = 1.0) -> TextFit:
    """Type sizes from the length of the texts: short names large, long ones on two lines."""
    name = _fit_size(estimated_width(view.recipient_name), NAME_MEASURE,
                     largest=NAME_LARGEST, preferred=28, smallest=14, max_lines=2)
    title = _fit_size(estimated_width(view.title), TITLE_MEASURE,
                      largest=22, preferred=17, smallest=10, max_lines=3)
    return TextFit(name_size=round(name * scale, 2), title_size=round(title * scale, 2),
                   scale=scale, name_lang=fonts.lang_hint(view.recipient_name),
                   title_lang=fonts.lang_hint(view.title))


def estimated_width(text: str) -> float:
    """The width of `text` in em, roughly: wide (CJK) characters 1, Latin about 0.5."""
    width = 0.0
    for char in text:
        category = unicodedata.category(char)
        if category in ("Mn", "Me", "Cf", "Cc"):
            continue
        if unicodedata.east_asian_width(char) in ("W", "F"):
            width += 1.0
        elif char.isspace():
            width += 0.28
        elif char.isupper():
            width += 0.7
        else:
            width += 0.52
    return max(width, 1.0)


def pdf_metadata(view: CertificateView, credential_url: str, lang: str) -> DocumentMetadata:
    """The document information: who issued what to whom, and where to check it."""
    name = _metadata_text(view.recipient_name)
    title = _metadata_text(view.title)
    organization = _metadata_text(view.organization_name)
    kind = view.mode_label or view.kind_label
    return DocumentMetadata(
        title=f"{title} \u2014 certificate for {name}",
        authors=[organization],
        description=(f"{kind} issued by {organization} to {name} on {view.issued_display}. "
                     f"Credential ID {view.uuid}; verify at {credential_url}"),
        keywords=["certificate", kind, organization, title, view.uuid, credential_url],
        generator=GENERATOR,
        # A time and a zone, not a bare date: PDF/A checks that the information dictionary's
        # dates and the XMP's are the same instant, and a bare date is midnight in some zone.
        created=_w3c_time(view.issued),
        modified=_w3c_time(view.issued),
        lang=lang,
        custom={"CredentialURL": credential_url, "CredentialID": view.uuid},
    )


def _w3c_time(issued: dt.date) -> str:
    return issue_time(issued).strftime("%Y-%m-%dT%H:%M:%SZ")


def renderer_fingerprint() -> str:
    """What PDF bytes depend on besides the record and the theme files, for the build state.

    The Python packages that lay out, encode and subset; the HarfBuzz and Pango that
    shape and subset (HarfBuzz and fontTools subset differently); the installed fonts.
    """
    parts = [RENDERER_VERSION, f"hb-subset={fonts.harfbuzz_subset_available()}",
             *_package_versions(), *fonts.native_library_versions(), fonts.fonts_fingerprint()]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _package_versions() -> list[str]:
    from importlib import metadata

    versions = []
    for package in ("weasyprint", "pydyf", "tinycss2", "tinyhtml5", "cssselect2", "fonttools",
                    "pillow", "qrcode"):
        try:
            versions.append(f"{package}={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package}=none")
    return versions


def qr_code_data_uri(text: str) -> str:
    """A QR code of `text` as a PNG data: URI: navy on transparent, with its quiet zone."""
    return QrCode(text).data_uri


_BYTE_OF_MODULE = bytes([0, 0xFF]) + bytes(254)  # a dark module: 8 pixels of ink


class QrCode:
    """The QR code of a URL: a PNG data: URI where a template prints it, rows of bits where
    a stamped certificate draws it (the same pixels: 8x8 per module, navy, transparent).

    A small bitmap costs WeasyPrint almost nothing to parse and draw on every page.
    Each module is 8x8 pixels: with one pixel per module, viewers and scanners smooth
    the scaled-up bitmap into uneven modules that do not decode from a 150 dpi scan.
    """

    def __init__(self, text: str):
        self.text = text

    @functools.cached_property
    def matrix(self) -> list[list[bool]]:
        return qr.qr_matrix(self.text)

    @functools.cached_property
    def data_uri(self) -> str:
        png = _png_1bit(self.matrix, color=QR_COLOR)
        return "data:image/png;base64," + base64.b64encode(png).decode("ascii")

    def __html__(self) -> str:
        return self.data_uri

    def __str__(self) -> str:
        return self.data_uri

    def image_mask(self) -> tuple[int, int, bytes, tuple[int, int, int]]:
        """(width, height, rows of bits: 1 where the ink goes, colour): the PNG's pixels,
        for pdf_stamp.py."""
        return self._mask

    @functools.cached_property
    def _mask(self) -> tuple[int, int, bytes, tuple[int, int, int]]:
        assert QR_PIXELS_PER_MODULE == 8  # a module is one byte of a row
        rows = [bytes(row).translate(_BYTE_OF_MODULE) for row in self.matrix]
        data = b"".join(row * QR_PIXELS_PER_MODULE for row in rows)
        return len(self.matrix[0]) * QR_PIXELS_PER_MODULE, len(rows) * QR_PIXELS_PER_MODULE, data, QR_COLOR


def _png_1bit(rows: list[list[bool]], color: tuple[int, int, int]) -> bytes:
    """A two-colour palette PNG through Pillow: index 0 transparent, index 1 `color`."""
    from PIL import Image

    width, height = len(rows[0]), len(rows)
    image = Image.new("P", (width, height), 0)
    image.putpalette((255, 255, 255, *color))
    image.putdata([1 if dark else 0 for row in rows for dark in row])
    image = image.resize((width * QR_PIXELS_PER_MODULE, height * QR_PIXELS_PER_MODULE), Image.NEAREST)
    out = io.BytesIO()
    image.save(out, format="PNG", transparency=0, bits=1)
    return out.getvalue()


# -- the work --------------------------------------------------------------------------


@dataclass
class _Prepared:
    """One certificate's HTML, split so that several can share one document."""

    job: PdfJob
    scale_index: int
    head: str
    body: str
    tail: str
    used: RenderRecord
    index: int = 0

    @property
    def uuid(self) -> str:
        return self.job.view.uuid

    @property
    def group_key(self) -> str:
        # Certificates whose HTML around the body is identical can be laid out together.
        return self.head + "\0" + self.tail


class _Renderer:
    def __init__(self, theme: Theme):
        self.theme = theme
        self.site = theme.site
        self.coverage = fonts.installed_coverage(fonts.theme_font_files(theme.static_dir))
        self.font_config = _font_config()
        self.stylesheets = [_wrapper_stylesheet()]
        self.fetcher = _ThemeFetcher([theme.static_dir, self.site.root])
        self.image_cache: dict = {}
        self.stamper = pdf_stamp.Stamper(self._layout_certificate)
        # Every theme file, as a digest: a stamped backdrop is reused only with these files.
        self.theme_files = hashlib.sha256("\n".join(
            [RENDERER_VERSION, *(f"{name}={asset.digest}" for name, asset in sorted(theme.assets.items()))]
        ).encode()).hexdigest()

    def prepare(self, job: PdfJob, scale_index: int) -> _Prepared | PdfResult:
        failure = self._glyphs_failure(job)
        if failure is not None:
            return failure
        used = RenderRecord()
        names = self.theme.certificate_templates(PDF_TEMPLATE, job.credential)
        try:
            html = self._html(job, names, SCALES[scale_index], used)
        except Exception as error:  # a theme error must not stop the other certificates
            return self._failure(
                job, None, f"PDF template {_chosen(self.theme, names)} failed: {error}", used)
        match = _BODY.match(html)
        if match is None:
            return self._failure(job, None, "the PDF template has no <body> element", used)
        return _Prepared(job, scale_index, match["head"], match["body"], match["tail"], used)

    def render_stamped(self, job: PdfJob) -> PdfResult | None:
        """The certificate stamped over its template's backdrop, at the first type scale that
        fits; None when it must be laid out whole (the template or the values do not allow
        stamping), and for the problems the whole layout reports."""
        if self._glyphs_failure(job) is not None:
            return None
        view = job.view
        names = self.theme.certificate_templates(PDF_TEMPLATE, job.credential)
        credential_url = self._credential_url(view)
        metadata = pdf_metadata(view, credential_url, self.site.language)
        qr_code = QrCode(credential_url)
        for scale in SCALES:
            if fit_text(view, scale).name_size < round(NAME_LARGEST * scale, 2):
                # A long name has a type size of its own, so the page around it too: a
                # backdrop for one certificate costs more than laying it out whole.
                pdf_stamp.STATS["a long name, in a type size of its own"] += 1
                return None
            used, learner = RenderRecord(), pdf_stamp.LearnerValues()
            try:
                html = self._html(job, names, scale, used, learner, qr_code)
            except Exception:  # reported by the whole layout, with the template's name
                return None
            printed = functools.partial(self._html, job, names, scale, RenderRecord(), qr_code=qr_code)
            pdf = self.stamper.stamp(pdf_stamp.Certificate(
                html, tuple(learner.values), self._theme_digest(used), metadata, view.uuid.encode("ascii"),
                lambda probes: printed(learner=probes), job.attachments))
            if pdf is None:
                return None
            if pdf is not pdf_stamp.OVERFLOW:
                return PdfResult(view.uuid, pdf, None, used, scale, stamped=True)
        return None

    def _glyphs_failure(self, job: PdfJob) -> PdfResult | None:
        view = job.view
        message = fonts.missing_glyphs_message(view.recipient_name, self.coverage)
        if message:
            return self._failure(job, "full_name", message, RenderRecord())
        message = fonts.missing_glyphs_message(view.title, self.coverage)
        if message:  # the title comes from site.yml, not from the record
            return self._failure(job, None, f"the {view.kind} title in site.yml: {message}",
                                 RenderRecord())
        return None

    def _theme_digest(self, used: RenderRecord) -> str:
        return "\n".join([self.theme_files, *(f"{name}={self.theme.template_digest(name)}"
                                              for name in sorted(used.templates))])

    def _layout_certificate(self, html: str) -> tuple[weasyprint.Document, weasyprint.Page | None]:
        """One certificate laid out alone, as the whole layout does it; with its page if it
        fits on one."""
        match = _BODY.match(html)
        if match is None:
            raise pdf_stamp.CannotStamp("the PDF template has no <body> element")
        document = self._layout_html(match["head"], [(pdf_stamp.PAGE_ID, match["body"])], match["tail"])
        return document, _pages_by_credential(document, [pdf_stamp.PAGE_ID]).get(pdf_stamp.PAGE_ID)

    def render_batch(self, batch: list[_Prepared]):
        """Yield (prepared, result) for a batch laid out as the pages of one document."""
        if len(batch) == 1:
            yield batch[0], self.render_alone(batch[0])
            return
        try:
            document = self._layout(batch)
        except (Exception, FatalURLFetchingError):  # find which one broke the batch
            for prepared in batch:
                yield prepared, self.render_alone(prepared)
            return
        pages = _pages_by_credential(document, [p.uuid for p in batch])
        for prepared in batch:
            page = pages.get(prepared.uuid)
            if page is None:  # spilled onto a second page: smaller type, alone
                yield prepared, self.render_alone(prepared, first_scale_index=1)
            else:
                yield prepared, self._result(prepared, document.copy([page]))

    def render_alone(self, prepared: _Prepared, first_scale_index: int = 0) -> PdfResult:
        job = prepared.job
        for scale_index in range(first_scale_index, len(SCALES)):
            if scale_index != prepared.scale_index:
                again = self.prepare(job, scale_index)
                if isinstance(again, PdfResult):
                    return again
                prepared = again
            try:
                document = self._layout([prepared])
            except FatalURLFetchingError as error:
                return self._failure(job, None, str(error), prepared.used)
            except Exception as error:
                return self._failure(job, None, f"PDF layout failed: {error!r}", prepared.used)
            if _pages_by_credential(document, [prepared.uuid]):
                return self._result(prepared, document)
        view = job.view
        return self._failure(
            job, None,
            f"the certificate does not fit on one page even with its text at "
            f"{SCALES[-1]:.0%} (name: {len(view.recipient_name)} characters, "
            f"title: {len(view.title)} characters); shorten them or adapt the theme",
            prepared.used)

    # -- steps -------------------------------------------------------------------------

    def _html(self, job: PdfJob, names: list[str], scale: float, used: RenderRecord,
              learner=None, qr_code=None) -> str:
        """The template's output. `learner` is the template's learner(): by default it prints
        the value; the stamper's prints a marker instead."""
        view = job.view
        credential_url = self._credential_url(view)
        return self.theme.render(
            names, view.paths.pdf, record=used, for_pdf=True, cert=view,
            fit=fit_text(view, scale), credential_url=credential_url,
            qr_code=qr_code or qr_code_data_uri(credential_url), learner=learner or _as_printed)

    def _layout(self, batch: list[_Prepared]) -> weasyprint.Document:
        return self._layout_html(batch[0].head, [(p.uuid, p.body) for p in batch], batch[0].tail)

    def _layout_html(self, head: str, bodies: list[tuple[str, str]], tail: str) -> weasyprint.Document:
        pages = "".join(
            f'<div class="sitegen-pdf-page" id="{_START_ID.format(uuid=uuid)}">{body}'
            f'<div class="sitegen-pdf-end" id="{_END_ID.format(uuid=uuid)}"></div></div>'
            for uuid, body in bodies)
        html = weasyprint.HTML(string=head + pages + tail,
                               base_url=self.theme.static_dir.as_uri() + "/",
                               url_fetcher=self.fetcher)
        return html.render(font_config=self.font_config, stylesheets=self.stylesheets,
                           cache=self.image_cache)

    def _result(self, prepared: _Prepared, document: weasyprint.Document) -> PdfResult:
        view = prepared.job.view
        document.metadata = pdf_metadata(view, self._credential_url(view), self.site.language)
        attachments = [attachment.weasyprint_attachment() for attachment in prepared.job.attachments]
        pdf = document.write_pdf(pdf_identifier=view.uuid.encode("ascii"), custom_metadata=True,
                                 attachments=attachments or None, pdf_variant=PDF_VARIANT,
                                 finisher=_associated_files_once)
        return PdfResult(view.uuid, pdf, None, prepared.used, SCALES[prepared.scale_index])

    def _failure(self, job: PdfJob, field_name: str | None, message: str,
                 used: RenderRecord) -> PdfResult:
        return PdfResult(job.view.uuid, None, _problem(job, field_name, message), used)

    def _credential_url(self, view: CertificateView) -> str:
        return self.site.base_url + view.paths.page


def _associated_files_once(document, pdf) -> None:
    """WeasyPrint 70 lists each embedded file twice in the catalog's /AF (from the name tree,
    then from the objects): once is what PDF/A-3 asks, and what the stamped PDFs hold."""
    if "AF" in pdf.catalog:
        pdf.catalog["AF"] = pydyf.Array(dict.fromkeys(pdf.catalog["AF"]))


def _as_printed(value):
    """learner() of a certificate laid out whole: the value, printed as is."""
    return value


def _chosen(theme: Theme, names: list[str]) -> str:
    """Which template of the override chain applies, for error messages."""
    try:
        return theme.env.get_or_select_template(names).name
    except Exception:  # the template itself is broken: its own error says where
        return names[-1]


def _pages_by_credential(document: weasyprint.Document, uuids: list[str]) -> dict:
    """The page of each credential that fits on exactly one page (the others are absent).

    A certificate fits when its start and end markers are on the same page and nothing
    else of it is on another, and its end is within the page's content area (a box of
    fixed height overflows the page without making a second one).
    """
    starts: dict[str, list] = {}
    ends: dict[str, object] = {}
    for page in document.pages:
        bottom = _content_bottom(page)
        for uuid in uuids:
            if _START_ID.format(uuid=uuid) in page.anchors:
                starts.setdefault(uuid, []).append(page)
            end = page.anchors.get(_END_ID.format(uuid=uuid))
            if end is not None and end[1] <= bottom + 0.01:
                ends[uuid] = page
    return {uuid: found[0] for uuid, found in starts.items()
            if len(found) == 1 and ends.get(uuid) is found[0]}


def _content_bottom(page) -> float:
    # WeasyPrint has no public API for the page area; the sheet's height is the fallback.
    box = getattr(page, "_page_box", None)
    if box is None:
        return page.height
    return box.content_box_y() + box.height


def _fit_size(width_em: float, measure: float, largest: float, preferred: float,
              smallest: float, max_lines: int) -> float:
    """One line as large as `largest` when it can be at least `preferred`; else wrap.

    Wrapped text is never set larger than `preferred`, and lines never fill completely
    once text wraps, hence the lower fill factor.
    """
    size = smallest
    for lines in range(1, max_lines + 1):
        fill = 0.95 if lines == 1 else 0.85
        size = min(lines * measure * fill / width_em, largest if lines == 1 else preferred)
        if size >= preferred:
            break
    return max(smallest, size)


def _metadata_text(text: str) -> str:
    """Text for a PDF info string: one line; bidi overrides kept to themselves."""
    text = " ".join("".join(" " if unicodedata.category(c) == "Cc" else c for c in text).split())
    if _BIDI_CONTROLS.search(text):
        text = "\u2068" + text + "\u2069"  # first-strong isolate ... pop directional isolate
    return text


def _problem(job: PdfJob, field_name: str | None, message: str) -> Problem:
    source = job.credential.source
    if source is None:
        return Problem(f"credential {job.view.uuid}", None, field_name, message)
    return Problem(source.file, source.line, field_name, f"{message} (credential {job.view.uuid})")


class _NoFetches(URLFetcher):
    """The URL fetcher of attachments, which are given as bytes: made once (making a
    URLFetcher costs 0.3 ms), never asked for anything."""

    def fetch(self, url, headers=None):
        raise FatalURLFetchingError(f"an attachment fetches nothing: {url[:80]}")


class _ThemeFetcher(URLFetcher):
    """Fetches data: URIs and files inside the theme or the project, nothing else.

    Rendering reads only what it was handed; a template that points anywhere else
    (the network, /etc/...) stops the render with a clear error.
    """

    def __init__(self, roots: list[Path]):
        super().__init__(allowed_protocols=("file", "data"))
        self._roots = [root.resolve() for root in roots]

    def fetch(self, url, headers=None):
        parts = urlsplit(url)
        if parts.scheme == "file":
            path = Path(unquote(parts.path)).resolve()
            if not any(path.is_relative_to(root) for root in self._roots):
                raise FatalURLFetchingError(f"the PDF template uses a file outside the "
                                            f"theme and the project: {path}")
        elif parts.scheme != "data":
            raise FatalURLFetchingError(f"the PDF template uses a URL that is not a "
                                        f"theme file: {url[:80]}")
        return super().fetch(url, headers)


@functools.lru_cache(maxsize=1)
def _font_config() -> FontConfiguration:
    # One per process: it caches fonts across documents, and @font-face files live as
    # long as it does.
    return FontConfiguration()


@functools.lru_cache(maxsize=1)
def _wrapper_stylesheet() -> weasyprint.CSS:
    return weasyprint.CSS(string=_WRAPPER_CSS, font_config=_font_config())


_NO_FETCHES = _NoFetches()
