"""The legacy verification pages: a `LegacyCertificate` + the site -> page bytes.

Rendering only: no file is read but the theme's, none written.

594,716 certificates share 687 courses and one theme, so `LegacyRenderer` renders what
certificates share (the theme's chrome, the site's header and footer, the course's parts)
once, as a *frame*: the page with a marker where each value is printed. A certificate's page
is then its frame with its values, escaped, in place of the markers: the bytes the template
would have rendered, for a few microseconds.

While a frame is rendered, each value is a `_Slot`, which prints its marker when printed
(autoescaped, or `|e`) and refuses anything else. When the template computes with a course's
value (the default theme tests course_has_title and distinction), that value joins the
frames' key: a frame for each of its values (four in the default theme, whatever the
course); a frame per course if it compares the title, per mode if it tests the mode. When it
computes with a certificate's own value (`{% if legacy.name %}`, `|upper`,
`legacy.pdf_url.startswith(...)`, `~`), or its frame loses a marker's exact form, or the
first certificate's stamped page differs from its full render, the pages are rendered in
full, one by one. Never wrong, at worst slower.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from markupsafe import Markup, escape

from sitegen.legacy.export import LegacyCertificate
from sitegen.legacy.paths import LegacyPaths
from sitegen.model import Site
from sitegen.render.theme import RenderRecord, Theme, relative_url

PAGE_TEMPLATE = "legacy/certificate.html"
WITHDRAWN_TEMPLATE = "legacy/withdrawn.html"


@dataclass(frozen=True)
class LegacyView:
    """What the legacy template shows."""

    name: str
    course_id: str
    course_title: str  # site.yml's title when the course is known there, else its ID
    course_has_title: bool  # the course's title is not its ID: a page may show the ID beside it
    mode_label: str
    issued_iso: str
    issued_display: str
    distinction: bool
    pdf_url: str  # the exported download_url, or the PDF's site path
    pdf_href: str  # the link to the PDF from the page: the download_url, or relative
    signature: str  # site path of the old Certificate.pdf.sig
    signature_href: str  # the link to it from the page (relative: it is in the page's folder)
    page: str  # site path of the page's folder
    page_url: str  # the page's canonical URL
    verify_uuid: str


# What one certificate's page shows that another of its course does not.
OWN_VALUES = ("name", "issued_iso", "issued_display", "pdf_url", "pdf_href", "signature", "page", "page_url",
              "verify_uuid")
# What it shows of its course and mode: printed from a frame too, unless the template computes with it.
COURSE_VALUES = ("course_id", "course_title", "course_has_title", "mode_label", "distinction")
SLOTTED = OWN_VALUES + COURSE_VALUES  # in slot-number order


def legacy_view(certificate: LegacyCertificate, site: Site) -> LegacyView:
    paths = certificate.paths
    course = site.courses.get(certificate.course_id)
    issued = certificate.issued
    page_file = paths.file("index.html")  # valid.html and verify.html are in the same folder
    return LegacyView(
        name=certificate.name,
        course_id=certificate.course_id,
        course_title=course.title if course else certificate.course_id,
        course_has_title=course is not None and course.title != certificate.course_id,
        mode_label=certificate.mode_label,
        issued_iso=issued.isoformat(),
        issued_display=f"{issued.day} {issued:%B %Y}",
        distinction=certificate.distinction,
        pdf_url=certificate.download_url or certificate.pdf_key,
        pdf_href=certificate.download_url or relative_url(page_file, certificate.pdf_key),
        signature=paths.signature,
        signature_href=relative_url(page_file, paths.signature),
        page=paths.page,
        page_url=site.base_url + paths.page,
        verify_uuid=certificate.verify_uuid,
    )


def legacy_pages(theme: Theme, certificate: LegacyCertificate, record: RenderRecord | None = None) -> dict[str, bytes]:
    """Site path -> bytes of the certificate's verification pages (index, valid, verify), each
    rendered in full."""
    view = legacy_view(certificate, theme.site)
    return {path: theme.render(PAGE_TEMPLATE, path, record, legacy=view).encode("utf-8")
            for path in certificate.paths.pages}


def legacy_withdrawn_page(theme: Theme, verify_uuid: str) -> bytes:
    paths = LegacyPaths(verify_uuid)
    return theme.render(WITHDRAWN_TEMPLATE, paths.file("index.html"), verify_uuid=verify_uuid).encode("utf-8")


@dataclass(frozen=True)
class RenderedLegacy:
    files: dict[str, bytes]  # site path -> bytes, in PAGES order
    theme_files: dict[str, str]  # "template:x" / "asset:y" -> digest: what the render loaded


class LegacyRenderer:
    """The pages of legacy certificates, each frame rendered once (per process)."""

    def __init__(self, theme: Theme):
        self.theme = theme
        # Course values the template computes with (tests, compares): the frames' key, learnt
        # as renders refuse them. The default theme tests course_has_title and distinction:
        # four frames at most, whatever the course and mode.
        self._keyed: list[str] = []
        self._frames: dict[tuple, _Frames | None] = {}  # a few; a few thousand if keyed by course

    def render(self, certificate: LegacyCertificate) -> RenderedLegacy:
        view = legacy_view(certificate, self.theme.site)
        frames = self._frames_of(certificate, view)
        if frames is None:  # the template computes with the certificate's own values
            record = RenderRecord()
            files = legacy_pages(self.theme, certificate, record)
            return RenderedLegacy(files, self.theme.file_digests(record))
        values = _values(view)
        pages: dict[int, bytes] = {}
        files = {}
        for path, frame in zip(certificate.paths.pages, frames.pages):
            if id(frame) not in pages:  # the three pages are one frame, mostly
                pages[id(frame)] = frame.stamp(values)
            files[path] = pages[id(frame)]
        return RenderedLegacy(files, frames.theme_files)

    def _frames_of(self, certificate: LegacyCertificate, view: LegacyView) -> _Frames | None:
        while True:
            key = tuple(getattr(view, name) for name in self._keyed)
            if key in self._frames:
                return self._frames[key]
            try:
                frames = self._make_frames(certificate, view)
            except _SlotRefused as refused:
                if refused.name in OWN_VALUES:
                    frames = None
                else:  # a course value: it joins the key, and the frame is made again
                    self._keyed.append(refused.name)
                    continue
            self._frames[key] = frames
            return frames

    def _make_frames(self, certificate: LegacyCertificate, view: LegacyView) -> _Frames | None:
        """The frames of the certificate's page, each checked against its own full render;
        None when the template cannot be stamped. _SlotRefused names a value it computes with."""
        slotted = dataclasses.replace(view, **{name: _Slot(number, name) for number, name in enumerate(SLOTTED)
                                               if name not in self._keyed})
        record = RenderRecord()
        frames: list[_Frame] = []
        for path in certificate.paths.pages:
            try:
                html = self.theme.render(PAGE_TEMPLATE, _slot_path(path), record, legacy=slotted)
            except _SlotRefused:
                raise
            except Exception:  # a template error: the full render reports it, certificate by certificate
                return None
            frame = _Frame.parse(html)
            if frame is None:
                return None
            frames.append(next((f for f in frames if f == frame), frame))  # the same page, mostly
        values = _values(view)
        checked: list[_Frame] = []
        for path, frame in zip(certificate.paths.pages, frames):
            if any(frame is f for f in checked):
                continue
            if frame.stamp(values) != self.theme.render(PAGE_TEMPLATE, path, record, legacy=view).encode("utf-8"):
                return None
            checked.append(frame)
        return _Frames(tuple(frames), self.theme.file_digests(record))


def _values(view: LegacyView) -> tuple[str, ...]:
    """Every value a frame may print, escaped as the template prints it, in slot order."""
    return tuple(str(escape(getattr(view, name))) for name in SLOTTED)


def _slot_path(path: str) -> str:
    """The page's path as the frame is rendered: its folder's verify_uuid is a value too.
    (Pages of one folder all link out the same way: `url()` climbs as many folders.)"""
    folder, _, name = path.rpartition("/")
    return f"{folder.rpartition('/')[0]}/{'0' * 32}/{name}"


# U+FDD0 and U+FDD1 are noncharacters: no export, site.yml or template holds them. The
# letters' mixed case shows a filter that changed a printed marker (|e|upper...).
_MARKER = re.compile("\ufdd0([0-9]+)gL\ufdd1")


class _SlotRefused(Exception):
    def __init__(self, name: str):
        super().__init__(name)
        self.name = name


class _Slot:
    """A certificate's own value while its course's frame is rendered: printing it prints
    its marker; anything else raises (the page is then rendered in full, per certificate)."""

    __slots__ = ("marker", "name")

    def __init__(self, number: int, name: str):
        self.marker = Markup(f"\ufdd0{number}gL\ufdd1")
        self.name = name

    def __html__(self) -> Markup:
        return self.marker

    def __getattr__(self, attribute: str):
        if attribute.startswith("__"):
            raise AttributeError(attribute)  # hasattr() probes: not a use of the value
        raise _SlotRefused(self.name)

    def _refuse(self, *args, **kwargs):
        raise _SlotRefused(self.name)

    __str__ = __repr__ = __bool__ = __len__ = __iter__ = __contains__ = __getitem__ = _refuse
    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __add__ = __radd__ = __mod__ = __format__ = _refuse
    __hash__ = None


@dataclass(frozen=True)
class _Frame:
    """A rendered page cut at its markers: texts and, between them, the numbers of values."""

    texts: tuple[str, ...]
    slots: tuple[int, ...]

    @classmethod
    def parse(cls, html: str) -> _Frame | None:
        parts = _MARKER.split(html)
        texts, slots = tuple(parts[0::2]), tuple(int(n) for n in parts[1::2])
        if any("\ufdd0" in text or "\ufdd1" in text for text in texts):
            return None  # a marker a filter changed: its value would not be printed as it is
        return cls(texts, slots)

    def stamp(self, values: tuple[str, ...]) -> bytes:
        pieces = [self.texts[0]]
        for slot, text in zip(self.slots, self.texts[1:]):
            pieces.append(values[slot])
            pieces.append(text)
        return "".join(pieces).encode("utf-8")


@dataclass(frozen=True)
class _Frames:
    pages: tuple[_Frame, ...]  # in PAGES order
    theme_files: dict[str, str]

