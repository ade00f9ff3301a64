"""Fonts for the PDF: can every character of a name be drawn, and will PDFs be fast.

A certificate must never print a box (tofu) where a learner's name should be. When the
theme's font stack lacks a character, Pango falls back to any installed font that has
it, so the question to ask is "does some installed font cover this character?". The
answer comes from fontconfig's own coverage data (what Pango's fallback uses), read once
per process with one `fc-list` call, plus any font files a theme ships for `@font-face`.

Measured (Debian fonts-noto-core + fonts-noto-cjk, ~340 faces): building the coverage
takes 0.1-0.2 s per process; checking a name about 4 microseconds. Reading the cmaps of
just the families certificate.css names with fontTools took longer (0.35 s, most of it
one CJK collection) and would reject characters that Pango's fallback draws fine;
`fc-list ':charset=XXXX'` per character costs a process per character.
"""
from __future__ import annotations

import bisect
import functools
import hashlib
import logging
import re
import shutil
import subprocess
import unicodedata
from pathlib import Path

LOGGER = logging.getLogger(__name__)

FONT_FILE_SUFFIXES = (".ttf", ".otf", ".ttc", ".otc", ".woff", ".woff2")

# Characters that are never drawn as glyphs of their own: controls, format characters
# (ZWJ, ZWNJ, bidi marks and isolates, soft hyphen), separators and variation selectors.
_INVISIBLE_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Zs"}
_HEX_RANGE = re.compile(r"([0-9a-f]+)(?:-([0-9a-f]+))?")

SLOW_PDF_WARNING = (
    "HarfBuzz subsetting (libharfbuzz-subset.so.0, Debian package libharfbuzz-subset0) "
    "is not available: WeasyPrint falls back to fontTools and PDFs will be about "
    "5 times slower"
)


class FontCoverage:
    """The set of code points some font can draw, as sorted, merged intervals."""

    def __init__(self, intervals: list[tuple[int, int]]):
        starts: list[int] = []
        ends: list[int] = []
        for start, end in sorted(intervals):
            if ends and start <= ends[-1] + 1:
                if end > ends[-1]:
                    ends[-1] = end
            else:
                starts.append(start)
                ends.append(end)
        self._starts, self._ends = starts, ends
        self._memo: dict[str, bool] = {}

    def __len__(self) -> int:
        return sum(end - start + 1 for start, end in zip(self._starts, self._ends))

    def covers(self, char: str) -> bool:
        known = self._memo.get(char)
        if known is None:
            known = self._memo[char] = _is_invisible(char) or self._has(ord(char))
        return known

    def missing(self, text: str) -> list[str]:
        """The distinct characters of `text` no font can draw, in order of appearance."""
        return list(dict.fromkeys(char for char in text if not self.covers(char)))

    def _has(self, code_point: int) -> bool:
        index = bisect.bisect_right(self._starts, code_point) - 1
        return index >= 0 and code_point <= self._ends[index]


def _is_invisible(char: str) -> bool:
    code_point = ord(char)
    return (
        unicodedata.category(char) in _INVISIBLE_CATEGORIES
        or 0xFE00 <= code_point <= 0xFE0F  # variation selectors
        or 0xE0100 <= code_point <= 0xE01EF
    )


@functools.cache
def installed_coverage(extra_fonts: tuple[Path, ...] = ()) -> FontCoverage:
    """What the installed fonts (and `extra_fonts`, e.g. a theme's) can draw; cached."""
    intervals = list(_fontconfig_intervals())
    for path in extra_fonts:
        intervals.extend((cp, cp) for cp in _cmap_code_points(path))
    return FontCoverage(intervals)


def theme_font_files(static_dir: Path) -> tuple[Path, ...]:
    """Font files a theme ships (for `@font-face`), which fontconfig does not know."""
    if not static_dir.is_dir():
        return ()
    return tuple(sorted(p for p in static_dir.rglob("*")
                        if p.suffix.lower() in FONT_FILE_SUFFIXES and p.is_file()))


def missing_glyphs_message(text: str, coverage: FontCoverage) -> str | None:
    """None when every character can be drawn, else which ones cannot, for a person."""
    missing = coverage.missing(text)
    if not missing:
        return None
    shown = ", ".join(_describe(char) for char in missing[:10])
    more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
    return (f"no installed font has a glyph for {shown}{more}; install a font that covers "
            f"it (e.g. a Noto package) or correct the text")


def _describe(char: str) -> str:
    name = unicodedata.name(char, "")
    if not name:
        category = unicodedata.category(char)
        name = {"Co": "private use", "Cn": "unassigned", "Cs": "surrogate"}.get(category, category)
        return f"U+{ord(char):04X} ({name})"
    return f"U+{ord(char):04X} {char!r} ({name.lower()})"


def lang_hint(text: str) -> str | None:
    """A language tag when the script says more than the site's language does.

    Han characters are drawn differently in Japanese, Korean and Chinese; kana means
    Japanese and hangul Korean, so the right regional glyphs can be chosen. Han alone
    stays unmarked (the theme's default CJK font applies).
    """
    for char in text:
        code_point = ord(char)
        if 0x3040 <= code_point <= 0x30FF or 0x31F0 <= code_point <= 0x31FF \
                or 0xFF66 <= code_point <= 0xFF9F:
            return "ja"
    for char in text:
        code_point = ord(char)
        if 0xAC00 <= code_point <= 0xD7AF or 0x1100 <= code_point <= 0x11FF \
                or 0x3130 <= code_point <= 0x318F:
            return "ko"
    return None


# -- HarfBuzz subsetting -----------------------------------------------------------


def harfbuzz_subset_available() -> bool:
    """Whether WeasyPrint subsets fonts with HarfBuzz (fast) rather than fontTools.

    Mirrors WeasyPrint 70 (`weasyprint/pdf/fonts.py: Font.subset`): it loads
    libharfbuzz-subset with cffi's dlopen at import (`weasyprint.text.ffi.harfbuzz_subset`,
    None when missing) and uses it only with HarfBuzz >= 4.1.0.
    """
    try:
        from weasyprint.text import ffi
    except (ImportError, OSError):
        return False
    subset = getattr(ffi, "harfbuzz_subset", None)
    return subset is not None and bool(ffi.harfbuzz.hb_version_atleast(4, 1, 0))


@functools.lru_cache(maxsize=1)
def warn_if_slow_pdfs() -> str | None:
    """Warn once per process when PDFs will be slow; returns the warning, or None."""
    if harfbuzz_subset_available():
        return None
    LOGGER.warning(SLOW_PDF_WARNING)
    return SLOW_PDF_WARNING


# -- what the PDF bytes depend on ----------------------------------------------------


@functools.lru_cache(maxsize=1)
def native_library_versions() -> tuple[str, ...]:
    """The HarfBuzz and Pango versions (shaping and subsetting change the PDF bytes)."""
    versions = []
    for library, names, function in (
            ("harfbuzz", ("libharfbuzz.so.0", "harfbuzz"), "hb_version_string"),
            ("pango", ("libpango-1.0.so.0", "pango-1.0"), "pango_version_string")):
        versions.append(f"{library}={_native_version(names, function)}")
    return tuple(versions)


def _native_version(names: tuple[str, ...], function: str) -> str:
    import ctypes
    import ctypes.util

    for name in names:
        path = ctypes.util.find_library(name) if "." not in name else name
        try:
            get_version = getattr(ctypes.CDLL(path), function)
        except (OSError, AttributeError, TypeError):
            continue
        get_version.restype = ctypes.c_char_p
        return get_version().decode()
    return "unknown"


@functools.lru_cache(maxsize=1)
def fonts_fingerprint() -> str:
    """A digest of the installed fonts (files, faces, versions): PDFs embed them."""
    listing = _fc_list("%{file}|%{index}|%{fontversion}|%{family[0]}|%{style[0]}\n")
    return hashlib.sha256("\n".join(sorted(listing.splitlines())).encode()).hexdigest()


def _fontconfig_intervals():
    # fc-list prints each font's charset as hex ranges: "20-7e a0-17f 1e00-1eff ..."
    for start, end in set(_HEX_RANGE.findall(_fc_list("%{charset}\n"))):
        yield int(start, 16), int(end or start, 16)


def _fc_list(fmt: str) -> str:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        # fontconfig's command-line tools are a separate Debian package ("fontconfig").
        LOGGER.warning("fc-list not found: font coverage is unknown, every character passes")
        return "0-10ffff\n" if "charset" in fmt else ""
    return subprocess.run([fc_list, "--format", fmt], check=True, capture_output=True,
                          text=True).stdout


def _cmap_code_points(path: Path) -> set[int]:
    from fontTools.ttLib import TTCollection, TTFont, TTLibError

    try:
        if path.suffix.lower() in (".ttc", ".otc"):
            fonts = TTCollection(str(path), lazy=True).fonts
        else:
            fonts = [TTFont(str(path), lazy=True)]
        code_points: set[int] = set()
        for font in fonts:
            code_points.update(font["cmap"].getBestCmap() or {})
        return code_points
    except (OSError, KeyError, TTLibError, ImportError) as error:
        LOGGER.warning("cannot read the characters of font %s: %s", path, error)
        return set()
