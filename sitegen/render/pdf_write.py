"""The last step of a stamped PDF: objects in, file bytes out.

    Kept(objects) -> what every file made from one backdrop begins with, serialized once
    PdfFile(kept) -> .add(obj), .put(number, page), .write(metadata, identifier) -> bytes
    embed_fonts(pdf_file, fonts) -> the /Font resource dictionary of one content stream

A stamped certificate (pdf_stamp.py) is one page whose backdrop, already serialized, is
reused object for object, plus a few objects of the learner's own. They are written as
pydyf writes a WeasyPrint document (PDF 1.7, dictionaries in a compressed object stream,
a cross-reference stream, the information dictionary as WeasyPrint fills it, /ID =
[credential ID, digest of the file]), with the backdrop's part written once per backdrop.

Every file is PDF/A-3b (`PDF_VARIANT`), as WeasyPrint makes that variant: the backdrop is
rendered with it, so its sRGB ICC profile and output intent are kept objects, referenced from
each file's catalog, and its annotations are flagged for printing; `write` adds what
weasyprint.pdf.pdfa adds per file: the XMP metadata (pdfaid part 3, conformance B, and the
information dictionary's values, through WeasyPrint's own DocumentMetadata.include_in_pdf),
and for each embedded file (`write(..., attachments=[weasyprint.Attachment(...)])`, through
WeasyPrint's write_pdf_attachment) its /AFRelationship and an entry in the catalog's /AF.

Fonts: a certificate embeds the subset of each font its learner layer draws. Subsetting
is HarfBuzz's, through WeasyPrint's `Font.clean` (the same subset WeasyPrint would embed);
the result is kept per process by glyph set, so the fixed text of a layer (labels, digits)
is subset once, not once per learner.
"""

from __future__ import annotations

import copy
import hashlib
import zlib
from collections import OrderedDict

import pydyf
import weasyprint
from weasyprint.pdf.anchors import write_pdf_attachment

PDF_VERSION = b"1.7"  # what WeasyPrint writes by default, and for PDF/A-3
PDF_VARIANT = "pdf/a-3b"  # every certificate, stamped or laid out whole
PDFA_PART, PDFA_CONFORMANCE = 3, "B"  # what weasyprint.pdf.pdfa.VARIANTS gives PDF_VARIANT
ZLIB_LEVEL = 9  # pydyf's level: the same bytes as WeasyPrint's streams
FONT_PROGRAMS_KEPT = 512  # subset font programs kept per process (a few kilobytes each)

_PROGRAMS: OrderedDict = OrderedDict()  # (face, glyphs) -> (compressed bytes, length, type)


class NotEmbeddable(Exception):
    """Something this module does not write (bitmap or colour glyphs, .notdef boxes):
    the certificate is laid out whole instead."""


class RawObject(pydyf.Object):
    """An object already serialized: a backdrop's, reused as is in every certificate."""

    def __init__(self, number: int | None, data: bytes, stream: bool):
        super().__init__()
        self.number = number
        self._data = data
        self._stream = stream

    @property
    def data(self) -> bytes:
        return self._data

    @property
    def compressible(self) -> bool:
        return not self._stream


def compressed_stream(content: bytes, extra: dict | None = None, number: int | None = None) -> RawObject:
    """A stream object with its Flate-compressed content, serialized once."""
    data = zlib.compress(content, ZLIB_LEVEL)
    header = pydyf.Dictionary({**(extra or {}), "Filter": "/FlateDecode", "Length": len(data)})
    return RawObject(number, b"\n".join((header.data, b"stream", data, b"endstream")), stream=True)


def stream_content(stream: pydyf.Stream) -> bytes:
    """The operators of a pydyf (WeasyPrint) stream, uncompressed, as pydyf joins them."""
    return b"\n".join(item if isinstance(item, bytes) else pydyf.Array([item]).data[1:-1]
                      for item in stream.stream)


class Kept:
    """Objects every file made from one backdrop begins with, written once: the header,
    their streams, and the other objects in one compressed object stream (as pydyf
    writes them)."""

    def __init__(self, objects: list[RawObject]):
        numbers = [obj.number for obj in objects]
        assert numbers == sorted(numbers) and numbers[0] >= 1
        self.next_number = numbers[-1] + 2  # and one for the object stream
        self.entries: dict[int, tuple[int, int, int]] = {0: (0, 0, 65535)}
        self.head = _serialize(objects, self.next_number - 1, HEADER, self.entries)


def _serialize(objects, packed_number: int, start: bytes, entries: dict) -> bytes:
    """Objects after `start`: streams as they are, the others packed in one object stream
    numbered `packed_number`; their cross-reference entries into `entries`."""
    parts, position, packed = [start], len(start), []
    for obj in objects:
        if obj.compressible:
            packed.append(obj)
            continue
        entries[obj.number] = (1, position, 0)
        chunk = _indirect(obj.number, obj.data)
        parts.append(chunk)
        position += len(chunk)
    if packed:
        offsets, datas, offset = [], [], 0
        for index, obj in enumerate(packed):
            data = obj.data
            entries[obj.number] = (2, packed_number, index)
            offsets += [str(obj.number), str(offset)]
            datas.append(data)
            offset += len(data) + 1
        first = " ".join(offsets).encode()
        stream = compressed_stream(b"\n".join([first, *datas]),
                                   {"Type": "/ObjStm", "N": len(packed), "First": len(first) + 1})
        entries[packed_number] = (1, position, 0)
        parts.append(_indirect(packed_number, stream.data))
    return b"".join(parts)


HEADER = b"%PDF-" + PDF_VERSION + b"\n%\xf0\x9f\x96\xa4\n"  # as pydyf starts a file


def _indirect(number: int, data: bytes) -> bytes:
    return b"%d 0 obj\n%s\nendobj\n" % (number, data)


class PdfFile:
    """One PDF being assembled: what a backdrop keeps, then this file's own objects.

    Quacks like the part of pydyf.PDF that weasyprint.pdf.anchors.write_pdf_attachment
    uses (`add_object`), so that WeasyPrint's own code can attach files to it.
    """

    def __init__(self, kept: Kept):
        self.kept = kept
        self.objects: dict[int, pydyf.Object] = {}
        self.next_number = kept.next_number
        self.catalog = pydyf.Dictionary({"Type": "/Catalog", "Pages": b"1 0 R"})
        self.info = pydyf.Dictionary({})

    def add(self, obj: pydyf.Object) -> bytes:
        """Add an object at the next number; its reference."""
        obj.number = self.next_number
        self.next_number += 1
        self.objects[obj.number] = obj
        return obj.reference

    def add_object(self, obj: pydyf.Object) -> None:
        self.add(obj)

    def put(self, number: int, obj: pydyf.Object) -> None:
        """An object at a number the backdrop left free (the page)."""
        obj.number = number
        self.objects[number] = obj

    def write(self, metadata, identifier: bytes, attachments=()) -> bytes:
        """The PDF/A-3b file: the information dictionary, XMP metadata and /Lang from
        `metadata` (a WeasyPrint DocumentMetadata, written as WeasyPrint writes them), /ID
        from `identifier` and a digest of the file, and `attachments` (weasyprint.Attachment)
        embedded as associated files."""
        _information(self, metadata)
        if attachments:
            _attach(self, attachments)
        metadata.include_in_pdf(self, "a", PDFA_PART, PDFA_CONFORMANCE, True)
        info = self.add(self.info)
        self.put(2, self.catalog)
        entries = dict(self.kept.entries)
        packed_number = self.next_number
        body = _serialize([self.objects[n] for n in sorted(self.objects)], packed_number,
                          self.kept.head, entries)
        digest = hashlib.md5(body, usedforsecurity=False)
        position = len(body)
        number = packed_number + 1
        entries[number] = (1, position, 0)
        size = number + 1
        widths = (1, max(1, (position.bit_length() + 7) // 8), 2)
        table = b"".join(value.to_bytes(width, "big")
                         for n in range(size) for value, width in zip(entries.get(n, (0, 0, 0)), widths))
        xref = compressed_stream(table, {
            "Type": "/XRef", "Index": pydyf.Array((0, size)), "W": pydyf.Array(widths), "Size": size,
            "Root": b"2 0 R", "Info": info,
            "ID": pydyf.Array((pydyf.String(identifier).data, pydyf.String(digest.hexdigest()).data)),
        })
        return b"".join((body, _indirect(number, xref.data), b"startxref\n%d\n%%%%EOF\n" % position))


def _information(pdf: PdfFile, metadata) -> None:
    # As weasyprint.pdf.generate_pdf writes it, with custom_metadata=True.
    info = pdf.info
    info["Producer"] = pydyf.String(f"WeasyPrint {weasyprint.__version__}")
    if metadata.title:
        info["Title"] = pydyf.String(metadata.title)
    if metadata.authors:
        info["Author"] = pydyf.String(", ".join(metadata.authors))
    if metadata.description:
        info["Subject"] = pydyf.String(metadata.description)
    if metadata.keywords:
        info["Keywords"] = pydyf.String(", ".join(metadata.keywords))
    if metadata.generator:
        info["Creator"] = pydyf.String(metadata.generator)
    for key, value in (("CreationDate", metadata.created), ("ModDate", metadata.modified)):
        if value:
            info[key] = pydyf.String(_pdf_date(value))
    if metadata.lang:
        pdf.catalog["Lang"] = pydyf.String(metadata.lang)
    for key, value in metadata.custom.items():
        key = "".join(char for char in key if char.isalnum()).encode("ascii", "ignore").decode()
        if key:
            info[key] = pydyf.String(value)


def _pdf_date(value: str) -> str:
    """A W3C date and time in UTC (YYYY-MM-DDTHH:MM:SSZ, all sitegen writes) as a PDF date,
    as WeasyPrint converts it."""
    return "D:" + value.translate(_DATE_SEPARATORS)


_DATE_SEPARATORS = str.maketrans("", "", "-:T")


def _attach(pdf: PdfFile, attachments) -> None:
    # As weasyprint.pdf.generate_pdf does for write_pdf(attachments=...), then
    # weasyprint.pdf.pdfa for PDF/A-3: each file's /AFRelationship, and /AF (once each).
    names, associated = pydyf.Array(), pydyf.Array()
    for attachment in attachments:
        filespec = write_pdf_attachment(pdf, attachment, compress=True)
        if filespec is not None:
            filespec["AFRelationship"] = f"/{attachment.relationship}"
            names.extend([filespec["F"], filespec.reference])
            associated.append(filespec.reference)
    pdf.catalog["Names"] = pydyf.Dictionary({"EmbeddedFiles": pdf.add(pydyf.Dictionary({"Names": names}))})
    pdf.catalog["AF"] = associated


# -- fonts ------------------------------------------------------------------------------


def embed_fonts(pdf_file: PdfFile, fonts: dict) -> pydyf.Dictionary:
    """Embed the fonts a WeasyPrint stream drew with (`fonts`: its Font objects by key,
    each knowing the glyphs it drew); the /Font resources naming them.

    Mirrors weasyprint.pdf.fonts.build_fonts_dictionary for outline fonts.
    """
    resources = pydyf.Dictionary()
    by_file: dict[str, list] = {}
    for font in fonts.values():
        # Bitmap and colour glyphs, and .notdef boxes (WeasyPrint's own encoding, and a
        # warning): left to the full renderer.
        if font.bitmap or font.png or font.svg or font.colr or font.missing or not font.to_unicode:
            raise NotEmbeddable(f"the font {font.family}")
        by_file.setdefault(font.hash, []).append(font)
    programs = {}
    for file_hash, file_fonts in by_file.items():
        glyphs = {}
        for font in file_fonts:
            glyphs.update(font.to_unicode)
        data, length, kind = _program(file_fonts[0], glyphs)
        extra = {"Subtype": "/OpenType"} if kind == "otf" else {"Length1": length}
        header = pydyf.Dictionary({**extra, "Filter": "/FlateDecode", "Length": len(data)})
        program = RawObject(None, b"\n".join((header.data, b"stream", data, b"endstream")), True)
        programs[file_hash] = (pdf_file.add(program), kind)
    for font in fonts.values():
        reference, kind = programs[font.hash]
        resources[font.hash] = pdf_file.add(_font_dictionary(pdf_file, font, reference, kind))
    return resources


def _program(font, to_unicode: dict) -> tuple[bytes, int, str]:
    """The subset font file for these glyphs, compressed: HarfBuzz's, through WeasyPrint.

    Glyph ids are kept (WeasyPrint's first pass): the layer's codes are glyph ids, which
    viewers read as glyph ids (poppler) or, in a CFF font, as CIDs; only kept ids satisfy
    both. In a CJK collection that costs about twice a renumbering pass (measured, 26 MB
    Noto CJK: ~7 against ~3 ms), so names in CJK scripts cost more than others.
    """
    key = (font.hash, font.index, font.glyph_count, tuple(sorted(to_unicode)), bool(font.missing),
           tuple(sorted(font.variations.items())), font.weight, font.font_size if "fvar" in font.tables else None)
    found = _PROGRAMS.get(key)
    if found is not None:
        _PROGRAMS.move_to_end(key)
        return found
    work = copy.copy(font)  # clean() replaces file_content: never on the shared Font
    work.variations = dict(font.variations)
    work.clean(to_unicode, False)  # hinting: WeasyPrint's default
    content = work.file_content
    found = (zlib.compress(content, ZLIB_LEVEL), len(content), work.type)
    _PROGRAMS[key] = found
    if len(_PROGRAMS) > FONT_PROGRAMS_KEPT:
        _PROGRAMS.popitem(last=False)
    return found


def _font_dictionary(pdf_file: PdfFile, font, program: bytes, kind: str) -> pydyf.Dictionary:
    # weasyprint.pdf.fonts: the ToUnicode CMap, then _build_vector_font_dictionary.
    widths = font.widths
    max_x = max(widths.values()) if widths else 0
    flags = font.flags
    if len(widths) > 1 and len(set(widths.values())) == 1:
        flags += 1  # FixedPitch
    descriptor = pydyf.Dictionary({
        "Type": "/FontDescriptor", "FontName": font.name, "FontFamily": pydyf.String(font.family),
        "Flags": flags, "FontBBox": pydyf.Array((0, font.descent, max_x, font.ascent)),
        "ItalicAngle": font.italic_angle, "Ascent": font.ascent, "Descent": font.descent,
        "CapHeight": font.ascent, "StemV": font.stemv, "StemH": font.stemh,
        f"FontFile{3 if kind == 'otf' else 2}": program,
    })
    pdf_widths = pydyf.Array()
    for glyph in sorted(widths):
        if glyph - 1 not in widths:
            pdf_widths.append(glyph)
            run = pydyf.Array()
            pdf_widths.append(run)
        run.append(widths[glyph])
    cid_font = pydyf.Dictionary({
        "Type": "/Font", "Subtype": f"/CIDFontType{0 if kind == 'otf' else 2}", "BaseFont": font.name,
        "CIDSystemInfo": pydyf.Dictionary({"Registry": pydyf.String("Adobe"),
                                           "Ordering": pydyf.String("Identity"), "Supplement": 0}),
        "CIDToGIDMap": "/Identity", "W": pdf_widths,
        "FontDescriptor": pdf_file.add(descriptor),
    })
    return pydyf.Dictionary({
        "Type": "/Font", "Subtype": "/Type0", "BaseFont": font.name,
        "ToUnicode": pdf_file.add(compressed_stream(_to_unicode_cmap(font.to_unicode))),
        "Encoding": "/Identity-H", "DescendantFonts": pydyf.Array([pdf_file.add(cid_font)]),
    })


def _to_unicode_cmap(to_unicode: dict) -> bytes:
    lines = [b"/CIDInit /ProcSet findresource begin", b"12 dict begin", b"begincmap",
             b"/CIDSystemInfo", b"<< /Registry (Adobe)", b"/Ordering (UCS)", b"/Supplement 0",
             b">> def", b"/CMapName /Adobe-Identity-UCS def", b"/CMapType 2 def",
             b"1 begincodespacerange", b"<0000> <ffff>", b"endcodespacerange"]
    items = tuple(to_unicode.items())
    for start in range(0, len(items), 100):
        batch = items[start:start + 100]
        lines.append(f"{len(batch)} beginbfchar".encode())
        for glyph, text in batch:
            lines.append(f"<{glyph:04x}> <{text.encode('utf-16-be').hex()}>".encode())
        lines.append(b"endbfchar")
    lines += [b"endcmap", b"CMapName currentdict /CMap defineresource pop", b"end", b"end"]
    return b"\n".join(lines)
