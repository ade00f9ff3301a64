"""Stamped certificates: what every learner of a template shares is drawn once, and each
learner's own text is placed over it.

    Stamper(layout).stamp(certificate) -> PDF bytes | OVERFLOW | None (render it in full)

A PDF template marks what differs from one learner to the next with `learner(...)`
(certificate_pdf.html: the name, grade, dates, credential ID, URL and QR code). The rest
(frame, ornaments, seal, logos, signatures, fixed text, the course title) is laid out,
painted and subset by WeasyPrint once, kept as a PDF form XObject (the *backdrop*) and
reused for every learner it fits. A learner then costs: shaping their few strings with
Pango and HarfBuzz (as WeasyPrint would), drawing the lines that hold them with
WeasyPrint's own drawing code, subsetting the glyphs those lines use, and writing the file
(pdf_write.py).

Why the result is the certificate WeasyPrint would have drawn:

* The backdrop key is the template's output with the learner's values left out, plus the
  digests of the templates and theme files it used: the template chosen, course, mode,
  signatories, status, language and type scale are all in it. Within a key, the values
  can only move the page through their own boxes, so the key also holds what Pango says
  of each value's height and baseline: everything below a taller name moves, so a taller
  name gets a backdrop of its own (names in another script, mostly).
* A line holding a learner's value is drawn whole over the backdrop: its other boxes are
  the backdrop's representative's (static text, labels), moved along the line as
  WeasyPrint's inline layout moves them (text-align start, center or end).
* What this model cannot place is left to the full renderer, never guessed: a value that
  would not fit on its line, text WeasyPrint would change (spaces to collapse, control
  characters), colour or bitmap glyphs, and templates whose learner lines are transformed,
  clipped, translucent or overlapped. Each backdrop is checked, when it is made, against
  its own representative: its values shaped and placed by this module must land where
  WeasyPrint's layout put them.
* Nothing depends on which learner a backdrop was made from: its objects hold no learner
  text (their lines are removed before it is painted; links, anchors, bookmarks and
  metadata are dropped), and learner lines are placed from the backdrop's static boxes
  and the learner's own measures only. Same input, same bytes, whatever the batch or order.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import re
import zlib
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace

import pydyf
import weasyprint
from markupsafe import Markup, escape
from weasyprint.anchors import gather_anchors
from weasyprint.document import Page
from weasyprint.draw import draw_inline_level
from weasyprint.formatting_structure import boxes
from weasyprint.layout.replaced import replacedbox_layout
from weasyprint.matrix import Matrix
from weasyprint.pdf.fonts import Font
from weasyprint.pdf.metadata import DocumentMetadata
from weasyprint.pdf.stream import Stream
from weasyprint.text.ffi import FROM_UNITS, ffi, pango
from weasyprint.text.fonts import get_pango_font_key
from weasyprint.text.line_break import Layout as PangoLayout
from weasyprint.text.line_break import create_layout, line_size
from weasyprint.urls import FatalURLFetchingError

from sitegen.render.pdf_write import (
    PDF_VARIANT,
    ZLIB_LEVEL,
    Kept,
    NotEmbeddable,
    PdfFile,
    RawObject,
    compressed_stream,
    embed_fonts,
    stream_content,
)

LOGGER = logging.getLogger(__name__)

OVERFLOW = "overflow"  # stamp(): at this type scale the certificate needs a second page
PAGE_ID = "learner"  # the certificate's id in the layouts this module asks for
# Kept per process (measured: a template ~30 KB, a backdrop ~170 KB with its boxes and
# objects): template outputs (course, mode, expiry, direction, type scale...), and backdrops
# (a template output's, for names of other heights: other scripts, mostly).
TEMPLATES_KEPT = 512
BACKDROPS_KEPT = 512
FIT_MARGIN = 0.5  # CSS px a learner line keeps free: nearer the edge, WeasyPrint decides
SAME_POSITION = 1e-6  # CSS px: a representative placed by this module as WeasyPrint placed it
PT_PER_PX = 0.75

# learner(value) prints a marker: U+FDD0..U+FDD1 are noncharacters, which no font draws,
# so no value that reaches a PDF contains them.
_MARKER = re.compile("\ufdd0(\\d+)([+-])\ufdd1")
_TAG_NAME = re.compile(r"<([A-Za-z][A-Za-z0-9-]*)")
_ATTRIBUTE = re.compile(r"""([^\s"'>/=]+)\s*=\s*"([^"]*)$""")
_URL = re.compile(r"[!#-~]+")  # printable ASCII, no space or quote: a link WeasyPrint keeps as is
_TEXT_CONTEXT = SimpleNamespace(dictionaries={})  # split_first_line's context: hyphenation only
PROBE = "x"  # the text a template output is first laid out with

STATS: Counter = Counter()  # outcomes of stamp(), by reason: what the benchmark reports


class CannotStamp(Exception):
    """Raised by a layout for a certificate the full renderer must draw (and report)."""


class LearnerValues:
    """The template's `learner(value)`: records the value and prints a marker in its place.

    The marker holds the value's number and whether it prints anything, so the template's
    output with markers is the same for every learner whose certificate differs only by
    these values.
    """

    def __init__(self):
        self.values: list = []

    def __call__(self, value):
        self.values.append(value)
        printed = "-" if isinstance(value, str) and not value else "+"  # Jinja prints None as "None"
        return Markup(f"\ufdd0{len(self.values) - 1}{printed}\ufdd1")


@dataclass(frozen=True)
class Certificate:
    """One certificate at one type scale, as the stamper needs it."""

    html: str  # the template's output, learner values as markers
    values: tuple  # the learner values, in marker order
    theme_digest: str  # digests of the templates and theme files the output used
    metadata: DocumentMetadata
    identifier: bytes  # the PDF /ID
    printed: Callable[[Callable], str]  # the template's output with another learner()
    attachments: tuple = ()  # files to embed: each gives a new weasyprint_attachment()

    @property
    def key(self) -> str:
        return hashlib.sha256(f"{self.theme_digest}\n{self.html}".encode()).hexdigest()


# A layout: the certificate's HTML (learner values in) -> WeasyPrint's document, and its
# page when the certificate fits on one.
LayOut = Callable[[str], tuple[weasyprint.Document, Page | None]]


class Stamper:
    def __init__(self, layout: LayOut):
        self.layout = layout

    def stamp(self, certificate: Certificate):
        """The PDF; OVERFLOW when it needs smaller type; None when it must be drawn in full."""
        try:
            return self._stamp(certificate)
        except Exception as error:  # never worse than the whole layout: it draws this one
            LOGGER.warning("stamping %s failed, laid out whole instead: %r", certificate.identifier.decode(),
                           error, exc_info=True)
            return _outcome(None, f"an error: {type(error).__name__}")

    def _stamp(self, certificate: Certificate):
        uses = _uses(certificate.html)
        if uses is None:
            return _outcome(None, "no learner() values, or one in an attribute it cannot follow")
        if not _stampable_values(uses, certificate.values):
            return _outcome(None, "a value WeasyPrint would change (spaces, controls)")
        template = _TEMPLATES.get(certificate.key)
        laid_out = None
        if template is None:
            if not _prints_values_as_given(certificate):
                template = _Template(uses, problem="the template changes a learner() value (a filter?)")
            else:
                laid_out = self._layout(_html(certificate.html, uses, certificate.values))
                template = self._learn(certificate, uses, laid_out)
            _TEMPLATES.put(certificate.key, template)
        if template.problem:
            return _outcome(None, template.problem)
        shaped = template.shape(certificate.values)
        if shaped is None:
            return _outcome(None, "a value does not fit on its line")
        backdrop = _BACKDROPS.get((certificate.key, shaped.metrics))
        if backdrop is None:
            laid_out = laid_out or self._layout(_html(certificate.html, uses, certificate.values))
            backdrop = _Backdrop.make(template, *laid_out, certificate.values) if laid_out else \
                _Unstampable("the layout failed")
            _BACKDROPS.put((certificate.key, shaped.metrics), backdrop)
        if backdrop is OVERFLOW:
            return _outcome(OVERFLOW, "overflow")
        if isinstance(backdrop, _Unstampable):
            return _outcome(None, backdrop.reason)
        try:
            return _outcome(backdrop.stamp(shaped, certificate), "stamped")
        except NotEmbeddable as reason:
            return _outcome(None, f"not drawn by the stamper: {reason}")

    def _learn(self, certificate: Certificate, uses: tuple[_Use, ...], laid_out) -> _Template:
        """What a template output shares, learnt from this certificate's layout; or, when
        this learner's own values split a line, from a probe whose texts are all "x" (then a
        split is the template's). Either way nothing learnt depends on the learner."""
        if laid_out is not None:
            try:
                return _Template.learn(uses, laid_out[0], certificate.values)
            except _Split:
                pass
        values = list(certificate.values)
        for use in uses:
            if use.kind == "text" and values[use.value]:
                values[use.value] = PROBE
        laid_out = self._layout(_html(certificate.html, uses, tuple(values)))
        if laid_out is None:
            return _Template(uses, problem="the layout failed")
        try:
            return _Template.learn(uses, laid_out[0], tuple(values))
        except _Split as split:
            return _Template(uses, problem=str(split))

    def _layout(self, html: str):
        try:
            return self.layout(html)
        except (Exception, FatalURLFetchingError):  # the full renderer reports it
            return None


def _outcome(result, reason: str):
    STATS[reason] += 1
    return result


# -- learner values in the template's output ----------------------------------------------


@dataclass(frozen=True)
class _Use:
    """One marker in the template's output: where a learner value is printed."""

    value: int  # index into the certificate's values
    kind: str  # "text", "href" (the whole link), "src" (the whole image), "note" (alt/title)
    tag_start: int = -1  # attributes: where the element's tag starts in the output
    tag_name: str = ""


def _uses(html: str) -> tuple[_Use, ...] | None:
    """Where the output prints learner values; None when it prints one where this module
    cannot follow it (in an attribute other than a link, an image, alt or title)."""
    found = []
    for match in _MARKER.finditer(html):
        start = match.start()
        tag_start = html.rfind("<", 0, start)
        if tag_start <= html.rfind(">", 0, start):
            found.append(_Use(int(match[1]), "text"))
            continue
        tag = _TAG_NAME.match(html, tag_start)
        attribute = _ATTRIBUTE.search(html, tag_start, start)
        if tag is None or attribute is None:
            return None
        name, before = attribute[1].lower(), attribute[2]
        whole = not before and html.startswith('"', match.end())
        tag_name = tag[1].lower()
        if name in ("alt", "title"):
            kind = "note"
        elif whole and (tag_name, name) in (("a", "href"), ("img", "src")):
            kind = name
        else:
            return None
        found.append(_Use(int(match[1]), kind, tag_start, tag_name))
    return tuple(found) if found else None


class _Probes:
    """learner() printing probes: mixed case, spaces, characters HTML escapes."""

    def __init__(self):
        self.count = 0

    def __call__(self, value):
        self.count += 1
        return f"pRoBe {self.count - 1} <&\"'>" if not isinstance(value, str) or value else ""


def _prints_values_as_given(certificate: Certificate) -> bool:
    """Whether the template prints learner() values as they are, escaped, and nothing else
    of them: its output with probes for values is its marked output with the probes in.
    A filter on a value (upper, truncate, replace...) would not apply to what is stamped."""
    expected = _MARKER.sub(lambda m: str(escape(f"pRoBe {m[1]} <&\"'>")) if m[2] == "+" else "",
                           certificate.html)
    return "\ufdd0" not in expected and "\ufdd1" not in expected and certificate.printed(_Probes()) == expected


def _stampable_values(uses: tuple[_Use, ...], values: tuple) -> bool:
    for use in uses:
        value = values[use.value]
        if use.kind == "text" and not _stampable_text(value):
            return False
        if use.kind == "href" and not (isinstance(value, str) and _URL.fullmatch(value)):
            return False
        if use.kind == "src" and not callable(getattr(value, "image_mask", None)):
            return False
    return True


def _stampable_text(value) -> bool:
    """Text WeasyPrint lays out as given: no spaces to collapse, nothing it would change."""
    if not isinstance(value, str) or isinstance(value, Markup):
        return False
    if value == "":
        return True
    if value != value.strip(" ") or "  " in value:
        return False
    return not any(ord(char) < 0x20 or 0x7F <= ord(char) < 0xA0 or char in "\u2028\u2029"
                   or 0xD800 <= ord(char) < 0xE000 or 0xFDD0 <= ord(char) <= 0xFDEF
                   for char in value)


def _html(marked: str, uses: tuple[_Use, ...], values: tuple) -> str:
    """The template's output with the values in: text in spans, attributes as printed, and
    each element holding a value in an attribute marked, so that layout boxes name them."""
    pieces, position = [], 0
    inserts: dict[int, list[str]] = {}
    for number, use in enumerate(uses):
        if use.kind in ("href", "src"):
            inserts.setdefault(use.tag_start + 1 + len(use.tag_name), []).append(
                f' data-learner-{use.kind}="{number}"')
    points = sorted(inserts)
    for number, (use, match) in enumerate(zip(uses, _MARKER.finditer(marked))):
        while points and points[0] <= match.start():
            point = points.pop(0)
            pieces += [marked[position:point], *inserts[point]]
            position = point
        pieces.append(marked[position:match.start()])
        value = values[use.value]
        if use.kind == "text":
            pieces.append(f'<span data-learner="{number}">{escape(value)}</span>' if value else "")
        else:
            pieces.append(str(escape(value)))
        position = match.end()
    pieces.append(marked[position:])
    return "".join(pieces)


# -- what a template output shares: styles, lines, and its backdrops ----------------------


class _Unstampable:
    """A backdrop this module cannot stamp on (the template does something it does not follow)."""

    def __init__(self, reason: str):
        self.reason = reason


class _Cache(OrderedDict):
    """A small LRU mapping."""

    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def get(self, key, default=None):
        found = super().get(key, default)
        if found is not default:
            self.move_to_end(key)
        return found

    def put(self, key, value) -> None:
        self[key] = value
        if len(self) > self.size:
            self.popitem(last=False)


_TEMPLATES = _Cache(TEMPLATES_KEPT)  # certificate key -> _Template
_BACKDROPS = _Cache(BACKDROPS_KEPT)  # (certificate key, metrics) -> _Backdrop, OVERFLOW or _Unstampable


@dataclass
class _Found:
    """The learner values of one laid-out certificate, found in its boxes."""

    texts: dict[int, tuple]  # use number -> (text box, its line, the line's block)
    images: dict[int, boxes.ReplacedBox]  # use number -> image box
    links: dict[int, boxes.Box]  # use number -> box of the link element
    lines: list  # the distinct lines holding text values, in order


@dataclass
class _Shaped:
    """A learner's values as Pango shapes them, in a template's styles."""

    texts: dict[int, tuple]  # use number -> (layout, width, height, baseline)
    metrics: tuple  # what moves the page: heights and baselines, image sizes


@dataclass
class _Template:
    uses: tuple[_Use, ...]
    styles: dict[int, object] = field(default_factory=dict)  # text use -> computed style
    lines: list = field(default_factory=list)  # (line, block, uses) of the representative
    problem: str | None = None

    @classmethod
    def learn(cls, uses: tuple[_Use, ...], document: weasyprint.Document, values: tuple) -> _Template:
        template = cls(uses)
        try:
            found = _find(uses, [page._page_box for page in document.pages], values)
        except _Split:
            raise
        except _NotFollowed as reason:
            template.problem = str(reason)
            return template
        template.styles = {number: text_box.style for number, (text_box, _, _) in found.texts.items()}
        template.lines = [(line, block, _line_uses(line)) for line, block in found.lines]
        return template

    def shape(self, values: tuple) -> _Shaped | None:
        """Shape the learner's text values; None when one would not fit on its line."""
        texts, metrics = {}, []
        for number, style in self.styles.items():
            shaped = _shape(values[self.uses[number].value], style)
            if shaped is None:
                return None
            _, _, height, baseline = texts[number] = shaped
            metrics.append((number, height, baseline))
        for number, use in enumerate(self.uses):
            if use.kind == "src":
                width, height, _, _ = values[use.value].image_mask()
                metrics.append((number, width, height))
        for line, block, line_uses in self.lines:
            widths = {n: texts[n][1] for n in line_uses}
            if _line_width(line, widths) > _available_width(block) - FIT_MARGIN:
                return None
        return _Shaped(texts, tuple(metrics))


class _NotFollowed(Exception):
    """The laid-out certificate does something this module does not follow."""


class _Split(_NotFollowed):
    """A learner text split over lines: its own length, or the template's doing."""


def _find(uses: tuple[_Use, ...], page_boxes: list, values: tuple) -> _Found:
    found = _Found({}, {}, {}, [])
    for page_box in page_boxes:
        _collect(page_box, [], found)
    for number, use in enumerate(uses):
        value = values[use.value]
        if use.kind == "text" and value and number not in found.texts:
            raise _NotFollowed(f"learner text {number} is not laid out as a text of its own")
        if use.kind == "src" and number not in found.images:
            raise _NotFollowed(f"learner image {number} is not laid out as an image")
        if use.kind == "href" and number not in found.links:
            raise _NotFollowed(f"learner link {number} is not laid out")
    for number, (text_box, _, _) in found.texts.items():
        if text_box.text != values[uses[number].value]:
            raise _NotFollowed(f"learner text {number} is laid out as {text_box.text!r}")
    for number, box in found.links.items():
        if box.link[1][1] != values[uses[number].value]:
            raise _NotFollowed(f"learner link {number} is resolved to {box.link[1][1]!r}")
    return found


def _collect(box, ancestors: list, found: _Found) -> None:
    """Walk the boxes: learner texts, images and links, and the lines holding them."""
    element = box.element
    if element is not None and not isinstance(box, boxes.TextBox):
        text_use = element.get("data-learner")
        if text_use is not None and isinstance(box, boxes.InlineBox):
            _collect_text(int(text_use), box, ancestors, found)
        image_use = element.get("data-learner-src")
        if image_use is not None and isinstance(box, boxes.ReplacedBox):
            _check_ancestors(ancestors + [box])
            if any(isinstance(a, boxes.LineBox) for a in ancestors):
                raise _NotFollowed("a learner image inside a line of text")
            found.images[int(image_use)] = box
        link_use = element.get("data-learner-href")
        if link_use is not None and box.link is not None and int(link_use) not in found.links:
            found.links[int(link_use)] = box
    for child in getattr(box, "children", ()):
        _collect(child, ancestors + [box], found)


def _collect_text(number: int, span: boxes.InlineBox, ancestors: list, found: _Found) -> None:
    lines = [index for index, box in enumerate(ancestors) if isinstance(box, boxes.LineBox)]
    if not lines:
        raise _NotFollowed(f"learner text {number} is not in a line of text")
    if number in found.texts or len(span.children) != 1 or not isinstance(span.children[0], boxes.TextBox):
        raise _Split(f"learner text {number} is split")  # over lines or pages, or in pieces
    line = ancestors[lines[-1]]
    block = ancestors[lines[-1] - 1]
    if len(block.children) != 1 or block.children[0] is not line:
        raise _Split(f"learner text {number} is in a paragraph of more than one line")
    _check_ancestors(ancestors + [span])
    found.texts[number] = (span.children[0], line, block)
    if all(line is not known for known, _ in found.lines):
        found.lines.append((line, block))


def _check_ancestors(chain: list) -> None:
    for box in chain:
        if isinstance(box, boxes.PageBox):
            continue
        style = box.style
        if style["opacity"] < 1 or style["transform"] or style["visibility"] != "visible" or \
                (style["overflow"] != "visible" and not isinstance(box, (boxes.LineBox, boxes.ReplacedBox))) or \
                (style["position"] == "fixed"):
            raise _NotFollowed("a learner value inside a transformed, translucent, hidden or "
                               "clipping box")


def _line_uses(line) -> list[int]:
    return [int(box.element.get("data-learner")) for box in line.descendants()
            if isinstance(box, boxes.InlineBox) and box.element is not None
            and box.element.get("data-learner") is not None]


# -- placing a line as WeasyPrint's inline layout does --------------------------------------


def _shape(text: str, style) -> tuple | None:
    """Pango's layout of a text alone on a line, and its width, height and baseline: what
    split_first_line gives WeasyPrint's inline layout for a text that fits, with the layout
    kept active for drawing. None when the text holds a line break of its own."""
    layout = create_layout(text, style, _TEXT_CONTEXT, None, 0)
    line, next_line = layout.get_first_line()
    if next_line is not None:
        return None
    width, height = line_size(line, style)
    baseline = pango.pango_layout_get_baseline(layout.layout) * FROM_UNITS
    layout.__class__ = _ActiveLayout
    return layout, width, height, baseline


class _ActiveLayout(PangoLayout):
    """A Pango layout that stays set up: WeasyPrint tears layouts down after layout and sets
    them up again to draw them; a learner text is drawn once, a backdrop's fixed texts on
    learner lines once per learner."""

    __slots__ = ()

    def reactivate(self, style):
        pass

    def deactivate(self):
        pass


def _kept_active(layout: PangoLayout, style) -> _ActiveLayout:
    active = copy.copy(layout)
    PangoLayout.reactivate(active, style)  # as draw_text would, before each drawing
    active.__class__ = _ActiveLayout
    return active


def _text_use(box) -> int | None:
    """The use number of a learner text box (the only child of its marked span)."""
    if isinstance(box, boxes.TextBox) and box.element is not None:
        number = box.element.get("data-learner")
        return None if number is None else int(number)
    return None


def _line_width(line, widths: dict[int, float]) -> float:
    """The width of a line whose learner texts have these widths."""
    return _width(line, widths, 0.0)


def _width(box, widths: dict[int, float], total: float) -> float:
    for child in box.children:
        if isinstance(child, boxes.InlineBox):
            total += child.margin_left + child.border_left_width + child.padding_left
            total = _width(child, widths, total)
            total += child.padding_right + child.border_right_width + child.margin_right
        else:
            number = _text_use(child)
            total += widths[number] if number is not None else child.margin_width()
    return total


def _available_width(block) -> float:
    return block.width


def _line_start(line, block, width: float) -> float:
    """Where a line of this width starts, as layout/inline.py places it (text_align)."""
    style = line.style
    available = _available_width(block)
    align = style["text_align_all"]
    if style["text_align_last"] != "auto":
        align = style["text_align_last"]  # the only line of its paragraph is its last
    rtl = block.style["direction"] == "rtl"
    if align in ("left", "right"):
        align = "start" if (align == "left") ^ rtl else "end"
    if align not in ("start", "center", "end"):
        raise _NotFollowed(f"text-align: {align} on a learner line")
    offset = 0.0
    if width < available:
        offset = {"start": 0.0, "center": (available - width) / 2, "end": available - width}[align]
    left = block.content_box_x()
    if rtl:
        return left + available - offset - width
    return left + line.text_indent + offset


def _place(line, block, widths: dict[int, float]) -> None:
    """Set the horizontal positions of a line's boxes for these learner text widths."""
    if block.style["direction"] == "rtl" and (line.text_indent or _branches(line)):
        raise _NotFollowed("a right-to-left learner line with more than one box")
    x = _line_start(line, block, _line_width(line, widths))
    line.position_x = x
    _advance(line, x, widths)


def _branches(box) -> bool:
    children = getattr(box, "children", ())
    return len(children) > 1 or any(_branches(child) for child in children)


def _advance(box, x: float, widths: dict[int, float]) -> float:
    for child in box.children:
        if isinstance(child, boxes.InlineBox):
            child.position_x = x
            x += child.margin_left + child.border_left_width + child.padding_left
            start = x
            x = _advance(child, x, widths)
            child.width = x - start
            x += child.padding_right + child.border_right_width + child.margin_right
        elif isinstance(child, boxes.TextBox):
            child.position_x = x
            number = _text_use(child)
            if number is not None:
                child.width = widths[number]
            x += child.margin_width()
        else:  # an inline block, an image: moved whole
            child.translate(dx=x - child.position_x)
            x += child.margin_width()
    return x


def _positions(line) -> list[tuple[float, float]]:
    return [(box.position_x, getattr(box, "width", 0.0)) for box in line.descendants()]


# -- backdrops ---------------------------------------------------------------------------


@dataclass
class _Line:
    """A line holding learner texts, as its backdrop's representative laid it out."""

    line: boxes.LineBox
    block: boxes.Box
    uses: list[int]


@dataclass
class _Image:
    use: int
    x: float
    y: float
    width: float
    height: float
    interpolate: bool


@dataclass
class _Backdrop:
    kept: Kept  # the objects of the backdrop's file, the page's drawing as a form
    page_number: int
    form: bytes  # reference of the form XObject
    color_space: bytes  # reference of the backdrop's colour spaces
    page_boxes: dict  # MediaBox, TrimBox, BleedBox
    annotations: list  # references of the backdrop's own link annotations
    height: float  # the page's, CSS px
    width: float
    uses: tuple[_Use, ...]
    lines: list[_Line]
    images: list[_Image]
    catalog: dict  # what the backdrop's catalog holds for every file (/OutputIntents)

    @classmethod
    def make(cls, template: _Template, document: weasyprint.Document, page: Page | None, values: tuple):
        """The backdrop of a laid-out certificate, OVERFLOW, or why it cannot be one."""
        if page is None:
            return OVERFLOW
        page_box = page._page_box
        try:
            found = _find(template.uses, [page_box], values)
            lines = [_Line(line, block, _line_uses(line)) for line, block in found.lines]
            for line in lines:
                if any(box.style["opacity"] < 1 or box.style["transform"] for box in line.line.descendants()):
                    # WeasyPrint paints those as stacking contexts of their own, not drawn here
                    raise _NotFollowed("a translucent or transformed box in a learner line")
            _check_representative(template.uses, found, lines, values)
            for line in lines:
                for box in line.line.descendants():
                    if isinstance(box, boxes.TextBox) and _text_use(box) is None:
                        box.pango_layout = _kept_active(box.pango_layout, box.style)
            images = {box: _image(number, box) for number, box in found.images.items()}
            _check_overlaps(page_box, lines, images)
            _remove(page_box, [line.line for line in lines] + list(images))
            images = list(images.values())
            return cls._paint(document, page_box, template.uses, lines, images)
        except _NotFollowed as reason:
            return _Unstampable(str(reason))

    @classmethod
    def _paint(cls, document, page_box, uses, lines, images) -> _Backdrop:
        shared = Page(page_box)  # links, anchors and bookmarks of what is left
        if any(box.element is not None and box.element.get("data-learner-href") is not None
               for _, _, _, box in shared.links):
            raise _NotFollowed("a learner link around more than learner lines")
        if any(shared.forms.values()) or len(shared.forms) > 1:
            raise _NotFollowed("form fields")
        shared.anchors, shared.bookmarks = {}, []
        alone = document.copy([shared])
        alone.metadata = DocumentMetadata()
        captured = {}
        # In the variant every file is: the output intent and its ICC profile, print flags.
        alone.write_pdf(pdf_variant=PDF_VARIANT,
                        finisher=lambda _, pdf: captured.update(pdf=pdf, count=len(pdf.objects)))
        pdf, count = captured["pdf"], captured["count"]
        page_number = int(pdf.pages["Kids"][0])
        page = pdf.objects[page_number]
        content_number = int(page["Contents"].split()[0])
        if int(pdf.catalog["Metadata"].split()[0]) != count - 1:  # each file has its own XMP
            raise _NotFollowed("the XMP metadata is not the backdrop's last object")
        pages = pydyf.Dictionary({"Type": "/Pages", "Kids": pydyf.Array([page_number, 0, "R"]), "Count": 1})
        kept = [RawObject(1, pages.data, stream=False)]
        for number in range(3, count - 1):
            obj = pdf.objects[number]
            if number == page_number:
                continue  # each file has its own page
            elif number == content_number:
                kept.append(compressed_stream(stream_content(obj), {
                    "Type": "/XObject", "Subtype": "/Form", "BBox": page["MediaBox"],
                    "Resources": page["Resources"]}, number))
            else:
                kept.append(RawObject(number, obj.data, isinstance(obj, pydyf.Stream)))
        resources = pdf.objects[int(page["Resources"].split()[0])]
        return cls(Kept(kept), page_number, f"{content_number} 0 R".encode(), resources["ColorSpace"],
                   {key: page[key] for key in ("MediaBox", "TrimBox", "BleedBox")},
                   list(page.get("Annots", ())), shared.height, shared.width, uses, lines, images,
                   {key: pdf.catalog[key] for key in ("OutputIntents",) if key in pdf.catalog})

    def stamp(self, shaped: _Shaped, certificate: Certificate) -> bytes:
        """This backdrop with the learner's lines, image and links: the PDF file."""
        pdf_file = PdfFile(self.kept)
        fonts: dict = {}  # the Font objects the layer draws with, filled as it draws
        resources = pydyf.Dictionary({
            "ExtGState": pydyf.Dictionary(), "XObject": pydyf.Dictionary({"BD": self.form}),
            "Pattern": pydyf.Dictionary(), "Shading": pydyf.Dictionary(), "ColorSpace": self.color_space})
        stream = _LayerStream(fonts, (0, 0, self.width, self.height), resources, {}, None, {}, None)
        stream.draw_x_object("BD")
        stream.transform(d=-1, f=self.height * PT_PER_PX)  # as weasyprint.pdf.generate_pdf
        annotations = list(self.annotations)
        with stream.stacked():
            stream.transform(a=PT_PER_PX, d=PT_PER_PX)
            for line in self.lines:
                placed = _learner_line(line, shaped)
                draw_inline_level(stream, None, placed)
                annotations += self._annotations(pdf_file, placed, certificate.values)
            for number, image in enumerate(self.images):
                self._draw_image(stream, pdf_file, resources, number, image, certificate.values)
        _check_resources(resources, {"BD", *(f"m{number}" for number in range(len(self.images)))})
        resources["Font"] = embed_fonts(pdf_file, fonts)
        page = pydyf.Dictionary({
            "Type": "/Page", "Parent": b"1 0 R",
            "MediaBox": self.page_boxes["MediaBox"],
            "Contents": pdf_file.add(compressed_stream(stream_content(stream))),
            "Resources": pdf_file.add(resources),
        })
        if annotations:
            page["Annots"] = pydyf.Array(annotations)
        page["TrimBox"], page["BleedBox"] = self.page_boxes["TrimBox"], self.page_boxes["BleedBox"]
        pdf_file.put(self.page_number, page)
        pdf_file.catalog.update(self.catalog)
        return pdf_file.write(certificate.metadata, certificate.identifier,
                              [attachment.weasyprint_attachment() for attachment in certificate.attachments])

    def _annotations(self, pdf_file: PdfFile, line, values: tuple) -> list:
        """Link annotations of a learner line, as weasyprint.pdf.anchors.add_links makes them."""
        links = []
        gather_anchors(line, {}, links, [], {None: []})
        matrix = Matrix(PT_PER_PX, 0, 0, -PT_PER_PX, 0, self.height * PT_PER_PX)
        references = []
        for link_type, target, rectangle, box in links:
            if box.link is None or link_type != "external":
                continue
            number = box.element.get("data-learner-href") if box.element is not None else None
            if number is not None:
                target = values[self.uses[int(number)].value]
            x1, y1 = matrix.transform_point(*rectangle[:2])
            x2, y2 = matrix.transform_point(*rectangle[2:])
            references.append(pdf_file.add(pydyf.Dictionary({
                "Type": "/Annot", "Subtype": "/Link", "Rect": pydyf.Array([x1, y1, x2, y2]),
                "F": 4,  # printed, as weasyprint.pdf.pdfa flags every annotation
                "BS": pydyf.Dictionary({"W": 0}),
                "A": pydyf.Dictionary({"Type": "/Action", "S": "/URI", "URI": pydyf.String(target)}),
            })))
        return references

    def _draw_image(self, stream, pdf_file, resources, number, image: _Image, values) -> None:
        """A learner's image (the QR code) where the representative's was.

        As WeasyPrint embeds the template's PNG: its colours, white under the transparent
        pixels, and a soft mask of its transparency (viewers blend both when they scale it),
        here one bit per pixel each.
        """
        width, height, rows, color = values[self.uses[image.use].value].image_mask()
        data = zlib.compress(rows, ZLIB_LEVEL)
        common = {"Type": "/XObject", "Subtype": "/Image", "Width": width, "Height": height,
                  "BitsPerComponent": 1, "Interpolate": "true" if image.interpolate else "false",
                  "Filter": "/FlateDecode", "Length": len(data)}
        alpha = RawObject(None, _stream_data({**common, "ColorSpace": "/DeviceGray"}, data), True)
        palette = b"<" + bytes((255, 255, 255, *color)).hex().encode() + b">"
        colors = RawObject(None, _stream_data({
            **common, "ColorSpace": pydyf.Array(["/Indexed", "/DeviceRGB", 1, palette]),
            "SMask": pdf_file.add(alpha)}, data), True)
        name = f"m{number}"
        resources["XObject"][name] = pdf_file.add(colors)
        with stream.stacked():  # as weasyprint.draw.draw_replacedbox
            stream.set_alpha(1)
            stream.transform(e=image.x, f=image.y)
            with stream.stacked():
                stream.transform(image.width, 0, 0, -image.height, 0, image.height)
                stream.draw_x_object(name)


def _check_resources(resources: pydyf.Dictionary, ours: set[str]) -> None:
    """What learner lines drew with besides text and colours (a pattern, a gradient, a
    group for opacity) is left to the whole layout: WeasyPrint writes those itself."""
    if resources["Pattern"] or resources["Shading"] or set(resources["XObject"]) != ours or \
            not all(_ALPHA_STATE.fullmatch(key) for key in resources["ExtGState"]):
        raise NotEmbeddable("a learner line drawn with more than text")


_ALPHA_STATE = re.compile(r"[aA][0-9.]+")  # Stream.set_alpha's states: plain dictionaries


def _stream_data(extra: dict, data: bytes) -> bytes:
    return b"\n".join((pydyf.Dictionary(extra).data, b"stream", data, b"endstream"))


def _image(number: int, box: boxes.ReplacedBox) -> _Image:
    width, height, x, y = replacedbox_layout(box)
    return _Image(number, x, y, width, height, box.style["image_rendering"] == "auto")


def _check_representative(uses, found: _Found, lines: list[_Line], values: tuple) -> None:
    """The representative's own values, shaped and placed here, where WeasyPrint put them."""
    widths = {}
    for number, (text_box, _, _) in found.texts.items():
        shaped = _shape(text_box.text, text_box.style)
        if shaped is None or abs(shaped[1] - text_box.width) > SAME_POSITION or \
                shaped[2] != text_box.height or shaped[3] != text_box.baseline - text_box.margin_top:
            raise _NotFollowed(f"learner text {number} measures differently alone")
        widths[number] = shaped[1]
    for line in lines:
        before = _positions(line.line)
        placed = line.line.deepcopy()
        _place(placed, line.block, widths)
        after = _positions(placed)
        if any(abs(x - y) > SAME_POSITION for pair in zip(before, after) for x, y in zip(*pair)):
            raise _NotFollowed("a learner line is placed differently from WeasyPrint's layout")


def _remove(page_box, removed: list) -> None:
    """Take the learner lines and images out of the box tree before it is painted."""
    removed_ids = {id(box) for box in removed}

    def prune(box):
        children = getattr(box, "children", None)
        if not children:
            return
        kept = [child for child in children if id(child) not in removed_ids]
        if len(kept) != len(children):
            box.children = kept if isinstance(children, list) else type(children)(kept)
        for child in kept:
            prune(child)

    prune(page_box)


def _check_overlaps(page_box, lines: list[_Line], images: dict) -> None:
    """Positioned and floating boxes, which WeasyPrint may paint over a learner line, must
    not touch one: the learner layer is painted last. A line's area is its whole width
    (whatever its text), so the answer is the same for every learner of the backdrop."""
    items = [(line.line, _area(line)) for line in lines] + [
        (box, (image.x, image.y, image.x + image.width, image.y + image.height))
        for box, image in images.items()]
    inside = {id(inner) for item, _ in items for inner in item.descendants()}
    for item, (left, top, right, bottom) in items:
        ancestors = _ancestor_ids(page_box, item)
        for box in page_box.descendants():
            if id(box) in ancestors or id(box) in inside or isinstance(box, (boxes.TextBox, boxes.LineBox)):
                continue
            if box.style["position"] in ("absolute", "relative", "fixed") or box.is_floated():
                x, y, width, height = box.hit_area()
                if x < right and y < bottom and x + width > left and y + height > top:
                    raise _NotFollowed("a positioned box over a learner line")


def _area(line: _Line) -> tuple[float, float, float, float]:
    left = line.block.content_box_x()
    return left, line.line.position_y, left + line.block.width, line.line.position_y + line.line.height


def _ancestor_ids(root, target) -> set[int]:
    path: list = []

    def search(box) -> bool:
        path.append(id(box))
        if box is target:
            return True
        for child in getattr(box, "children", ()):
            if search(child):
                return True
        path.pop()
        return False

    search(root)
    return set(path)


def _learner_line(line: _Line, shaped: _Shaped):
    """A copy of a backdrop's learner line with this learner's texts, placed."""
    placed = line.line.deepcopy()
    widths = {}
    for box in placed.descendants():
        number = _text_use(box)
        if number is None:
            continue
        layout, width, height, baseline = shaped.texts[number]
        box.text = layout.text
        box.pango_layout = layout
        box.width = width
        widths[number] = width
    _place(placed, line.block, widths)
    return placed


# -- fonts of one learner layer ----------------------------------------------------------


_FACES: dict = {}  # Pango font key -> WeasyPrint Font (holding the font file: made once)
_SIZED: dict = {}  # (key, size) -> Font with that size's metrics
_FILES: dict = {}  # size -> font files (bytes) the Font objects share


class _LayerStream(Stream):
    """WeasyPrint's stream, with its Font objects made once per process: making one copies the
    whole font file (26 MB for a CJK collection). Each PDF still gets Font objects of its
    own, made at the size it first uses them, as WeasyPrint makes them per document."""

    def add_font(self, pango_font):
        key, description, font_size = get_pango_font_key(pango_font)
        if key not in self._fonts:
            self._fonts[key] = _fresh(_sized(key, pango_font, description, font_size))
        return self._fonts[key], font_size


def _sized(key, pango_font, description, font_size) -> Font:
    sized = _SIZED.get((key, font_size))
    if sized is not None:
        return sized
    face = _FACES.get(key)
    if face is None:
        sized = _FACES[key] = Font(pango_font, description, font_size)
        sized.file_content = _shared(sized.file_content)  # faces of one collection: one copy
    else:  # the same face at another size: its vertical metrics, as Font.__init__ makes them
        sized = copy.copy(face)
        sized.font_size = font_size
        sized.ascent = sized.descent = 0
        if font_size:
            metrics = pango.pango_font_get_metrics(pango_font, ffi.NULL)
            sized.ascent = round(pango.pango_font_metrics_get_ascent(metrics) * FROM_UNITS / font_size * 1000)
            sized.descent = -round(pango.pango_font_metrics_get_descent(metrics) * FROM_UNITS / font_size * 1000)
            pango.pango_font_metrics_unref(metrics)
    _SIZED[key, font_size] = sized
    return sized


def _shared(content: bytes) -> bytes:
    for known in _FILES.get(len(content), ()):
        if known == content:
            return known
    _FILES.setdefault(len(content), []).append(content)
    return content


def _fresh(font: Font) -> Font:
    fresh = copy.copy(font)
    fresh.widths, fresh.to_unicode, fresh.missing = {}, {}, {}
    fresh.variations = dict(font.variations)
    fresh.used_in_forms = False
    return fresh
