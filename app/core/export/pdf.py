"""PDF transcripts (fpdf2): CJK text embedded as font subsets and selectable, emoji from a fallback
font, page numbers and the package fingerprint on every page.

fpdf2 is pure Python (no Qt), so this stays in app.core. It keeps a document in memory until it is
written, so a long conversation is split into volumes of at most ``MESSAGES_PER_VOLUME`` messages
(``<session>.pdf``, ``<session>-2.pdf``, ...): memory stays bounded whatever the conversation's size.

Fonts: the app ships its own (``resources/fonts``: Noto Sans SC for the text, Noto Emoji and Noto
Sans Math as fallbacks, all OFL), so a transcript looks the same on every computer and needs nothing
installed. ``WECOM_AUDITOR_PDF_FONT`` (a font file, optionally ``path#index`` for a collection)
replaces the text font. Fonts installed on the computer (fontconfig's choice for Simplified Chinese,
well-known paths on Linux, Windows and macOS, Symbola / Segoe UI Symbol / DejaVu Sans) come after
the shipped ones, for characters these lack (Hangul, rare ideographs of Extensions B–G); without the
shipped fonts (a packager removed them) they are the text font as before. Colour-bitmap emoji fonts
cannot be embedded as text and are skipped. A character no font has is drawn as its code point,
``⟨U+20BB7⟩``: visible, never dropped.
"""

from __future__ import annotations

import copy
import io
import logging
import os
import shutil
import struct
import subprocess
import sys
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from app.core.errors import SaidInTwoLanguages
from app.core.resources import resource_dir
from app.core.safe_text import ESCAPE, display_name, display_text

log = logging.getLogger(__name__)

FONT_ENV = "WECOM_AUDITOR_PDF_FONT"
MESSAGES_PER_VOLUME = 2000
THUMBNAIL_PX = 480  # longest side of an inline image, in pixels
MAX_INLINE_IMAGE_BYTES = 20 * 1024 * 1024  # larger images are referenced, not drawn

_CJK_CANDIDATES = (
    # Linux (Debian/Ubuntu fonts-noto-cjk, fonts-wqy-*, fonts-arphic-*, droid fallback)
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    # Windows
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simhei.ttf",
    "C:/Windows/Fonts/simsun.ttc",
    # macOS
    "/System/Library/Fonts/Supplemental/Songti.ttc",
    "/Library/Fonts/Arial Unicode.ttf",
    "/System/Library/Fonts/STHeiti Light.ttc",
)
_FALLBACK_CANDIDATES = (
    "/usr/share/fonts/truetype/ancient-scripts/Symbola_hint.ttf",
    "/usr/share/fonts/truetype/ancient-scripts/Symbola.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "C:/Windows/Fonts/seguisym.ttf",
    "C:/Windows/Fonts/seguiemj.ttf",
    "/System/Library/Fonts/Apple Symbols.ttf",
)
_CJK_PROBE = "中文档案"
# The fonts shipped with the app (resources/fonts/README.md says where they come from).
BUNDLED_TEXT_FONT = "NotoSansSC-Regular.ttf"
BUNDLED_FALLBACK_FONTS = ("NotoEmoji-Regular.ttf", "NotoSansMath-Regular.ttf")
# Invisible parts of emoji sequences (variation selectors, ZWJ, flag tags): no glyph needed, left out
# of the PDF when no font has them rather than escaped (display_text escapes them where they deceive).
_NO_GLYPH_NEEDED = frozenset(chr(c) for c in (*range(0xFE00, 0xFE10), 0x200D, *range(0xE0020, 0xE0080)))


class PdfFontError(SaidInTwoLanguages, RuntimeError):
    """No font that can show Chinese text was found on this computer."""


@dataclass(frozen=True)
class FontChoice:
    path: str
    index: int = 0

    def describe(self) -> str:
        return f"{self.path}" + (f"#{self.index}" if self.index else "")


@dataclass(frozen=True)
class PdfFonts:
    cjk: FontChoice
    fallbacks: tuple[FontChoice, ...] = ()

    def describe(self) -> dict:
        return {"text": self.cjk.describe(), "fallbacks": [f.describe() for f in self.fallbacks]}


def _covers(choice: FontChoice, text: str) -> bool:
    """Whether the font has a glyph for every character of ``text`` (and is not a colour bitmap font)."""
    from fontTools.ttLib import TTFont

    try:
        font = TTFont(choice.path, fontNumber=choice.index, lazy=True)
        try:
            if "CBDT" in font or "sbix" in font:  # colour bitmaps: fpdf2 cannot embed them as text
                return False
            cmap = font.getBestCmap() or {}
            return all(ord(c) in cmap for c in text)
        finally:
            font.close()
    except Exception:  # an unreadable or unsupported font file is simply not a candidate
        return False


def _collection_indexes(path: str) -> list[int]:
    """Face indexes to try in ``path``: for a collection, the Simplified Chinese face first."""
    if not path.lower().endswith((".ttc", ".otc")):
        return [0]
    try:
        from fontTools.ttLib import TTCollection

        coll = TTCollection(path, lazy=True)
        names = [str(f["name"].getDebugName(4) or "") for f in coll.fonts]
        coll.close()
    except Exception:
        return [0]
    order = sorted(range(len(names)), key=lambda i: (" SC" not in names[i] and "GB" not in names[i]
                                                     and "Hei" not in names[i], i))
    return order


def _fc_match(pattern: str) -> FontChoice | None:
    exe = shutil.which("fc-match")
    if not exe:
        return None
    try:
        out = subprocess.run([exe, "-f", "%{file}|%{index}", pattern], capture_output=True, text=True,
                             timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    path, _, index = out.partition("|")
    if not path or not os.path.isfile(path):
        return None
    return FontChoice(path, int(index) if index.isdigit() else 0)


def bundled_fonts() -> tuple[FontChoice | None, tuple[FontChoice, ...]]:
    """The text font and fallbacks shipped in resources/fonts (None / fewer where a file is missing)."""
    folder = resource_dir() / "fonts"
    text = folder / BUNDLED_TEXT_FONT
    fallbacks = tuple(FontChoice(str(folder / name)) for name in BUNDLED_FALLBACK_FONTS
                      if (folder / name).is_file())
    return (FontChoice(str(text)) if text.is_file() else None), fallbacks


def _system_cjk_fonts() -> list[FontChoice]:
    """Fonts with Chinese characters installed on this computer, best first."""
    candidates: list[FontChoice] = []
    fc = _fc_match("sans-serif:lang=zh-cn")
    if fc:
        candidates.append(fc)
    for path in _CJK_CANDIDATES:
        if os.path.isfile(path):
            candidates.extend(FontChoice(path, i) for i in _collection_indexes(path))
    return candidates


def _system_fallback_fonts() -> list[FontChoice]:
    """Symbol and emoji fonts installed on this computer (outline fonts only)."""
    return [FontChoice(path) for path in _FALLBACK_CANDIDATES
            if os.path.isfile(path) and _covers(FontChoice(path), "☺")]


@lru_cache(maxsize=1)
def find_fonts() -> PdfFonts:
    """The fonts to write PDF transcripts with: the configured or shipped text font, then the shipped
    fallbacks, then one installed Chinese font and the installed symbol fonts for what those lack.
    Raises PdfFontError (naming what to do) when no font with Chinese characters is there at all."""
    configured = os.environ.get(FONT_ENV, "").strip()
    shipped_text, shipped_fallbacks = bundled_fonts()
    if shipped_text is not None and not _covers(shipped_text, _CJK_PROBE):
        log.warning("the shipped PDF font %s cannot be read; using installed fonts", shipped_text.path)
        shipped_text = None
    text: FontChoice | None = None
    if configured:
        path, _, index = configured.partition("#")
        text = FontChoice(path, int(index) if index.isdigit() else 0)
        if not _covers(text, _CJK_PROBE):
            raise PdfFontError(f"{FONT_ENV}={configured} is not a readable font with Chinese characters",
                               f"{FONT_ENV}={configured} 不是可读取的中文字体")
    system = next((c for c in _system_cjk_fonts() if _covers(c, _CJK_PROBE)), None)
    fallbacks: list[FontChoice] = []
    for choice in (shipped_text, *shipped_fallbacks, system, *_system_fallback_fonts()):
        if choice is None or choice in fallbacks:
            continue
        if text is None:
            text = choice
        elif choice != text:
            fallbacks.append(choice)
    if text is None or not _covers(text, _CJK_PROBE):
        own = resource_dir() / "fonts" / BUNDLED_TEXT_FONT
        raise PdfFontError(
            "no font with Chinese characters was found for the PDF transcripts, and the app's own "
            f"({own}) is missing: reinstall the app, install one "
            "(Debian/Ubuntu: apt install fonts-noto-cjk) or set " + FONT_ENV + " to a .ttf/.otf/.ttc file",
            f"找不到用于 PDF 记录的中文字体，应用自带的字体（{own}）也缺失：请重新安装应用、安装一种中文字体"
            f"（Debian/Ubuntu：apt install fonts-noto-cjk），或将 {FONT_ENV} 设为 .ttf/.otf/.ttc 字体文件")
    return PdfFonts(text, tuple(fallbacks))


def covered_characters(fonts: PdfFonts) -> frozenset[str]:
    """Every character some font of ``fonts`` has a glyph for (cheap on subsets, ~0.3 s on a full CJK font)."""
    from fontTools.ttLib import TTFont

    out: set[int] = set()
    for choice in (fonts.cjk, *fonts.fallbacks):
        font = TTFont(choice.path, fontNumber=choice.index, lazy=True)
        try:
            out.update((font.getBestCmap() or {}).keys())
        finally:
            font.close()
    return frozenset(map(chr, out))


def visible_in_pdf(text: str, covered: frozenset[str]) -> str:
    """``text`` as the PDF can draw it: a character no font has becomes ``⟨U+XXXX⟩`` (visible, never
    a silently missing glyph); invisible parts of emoji sequences without a glyph are left out."""
    if covered.issuperset(text):
        return text
    return "".join(ch if ch in covered or ch == "\n" else "" if ch in _NO_GLYPH_NEEDED else ESCAPE.format(ord(ch))
                   for ch in text)


_LAYOUT_TABLES = ("GSUB", "GPOS", "GDEF", "BASE", "JSTF", "MATH")


def subset_fonts(fonts: PdfFonts, chars: set[str], folder: Path) -> PdfFonts:
    """Copies of the fonts cut down to ``chars`` (plus the writer's own labels and ASCII), written to
    ``folder``, once per export. A fallback keeps only the characters the fonts before it lack (fpdf2
    draws a character with the first font that has it), and one that adds none is left out: every
    font of the list is embedded in every PDF that uses it.

    Tables are read lazily and glyphs copied as they are (not decoded): cutting Noto Sans SC down
    to a few thousand characters takes a fraction of a second."""
    from fontTools import subset

    wanted = {ord(c) for c in chars | set(STATIC_TEXT)} | set(range(0x20, 0x7F))
    out: list[FontChoice] = []
    for n, choice in enumerate((fonts.cjk, *fonts.fallbacks)):
        options = subset.Options()
        options.font_number = choice.index
        options.name_IDs = ["*"]
        options.name_languages = ["*"]
        options.notdef_outline = True
        options.layout_features = []
        options.desubroutinize = False
        options.drop_tables += ["FFTM"]  # FontForge's timestamp (Symbola): fontTools would warn on stderr
        # fontTools' own loader: without glyph names (the subset has none), which are 65,000 names
        # read from Noto Sans SC's post table otherwise.
        font = subset.load_font(choice.path, options)
        try:
            cmap = font.getBestCmap() or {}
            keep = wanted & set(cmap)
            if n and not keep:  # a fallback the export does not need
                continue
            wanted -= keep
            # Layout tables: fpdf2 positions glyphs itself (no text shaping). Removed before the
            # subsetter sees them: it reads GSUB/GPOS whole before dropping them (fontTools 4.69's
            # beyond64k._compact_layout_tables), which was half of this function's time.
            for tag in _LAYOUT_TABLES:
                if tag in font:
                    del font[tag]
            sub = subset.Subsetter(options)
            sub.populate(unicodes=keep)
            sub.subset(font)
            suffix = ".otf" if "CFF " in font else ".ttf"
            target = folder / f"font-{n}{suffix}"
            font.save(str(target))
        finally:
            font.close()
        out.append(FontChoice(str(target)))
    return PdfFonts(out[0], tuple(out[1:]))


# ------------------------------------------------------------------------------- fonts, once a process


class _GlyfProgram:
    """A TrueType-outline font file read once, from which each PDF gets a copy holding only the
    glyphs it draws, made by copying bytes (glyph ids kept, so fpdf2's metrics stay valid): a few
    hundred microseconds, where fontTools' subsetter, which fpdf2 runs for every font of every PDF,
    parses and rebuilds the whole font (tens of milliseconds each)."""

    # What a PDF viewer needs of an embedded TrueType CIDFont (layout tables, vertical metrics and
    # glyph names are not used: fpdf2 positions every glyph itself).
    _KEEP = {"head", "hhea", "maxp", "hmtx", "loca", "glyf", "cvt ", "fpgm", "prep", "OS/2", "name", "post",
             "gasp"}

    def __init__(self, data: bytes, glyph_ids: dict[str, int]) -> None:
        self.glyph_ids = glyph_ids  # glyph name -> id
        (num_tables,) = struct.unpack_from(">H", data, 4)
        self.tables: dict[str, bytes] = {}
        for i in range(num_tables):
            tag, _checksum, offset, length = struct.unpack_from(">4sIII", data, 12 + 16 * i)
            name = tag.decode("latin-1")
            if name in self._KEEP:
                self.tables[name] = data[offset:offset + length]
        head, maxp = self.tables["head"], self.tables["maxp"]
        self.glyphs = struct.unpack_from(">H", maxp, 4)[0]
        (long_loca,) = struct.unpack_from(">h", head, 50)
        loca = array("I" if long_loca else "H", self.tables.pop("loca")[:(self.glyphs + 1) * (4 if long_loca else 2)])
        if sys.byteorder == "little":
            loca.byteswap()
        self.loca = [x if long_loca else 2 * x for x in loca]
        self.glyf = self.tables.pop("glyf")
        (self.metrics,) = struct.unpack_from(">H", self.tables["hhea"], 34)  # numberOfHMetrics
        post = self.tables.get("post")
        if post is not None:  # version 3: no glyph names (what fontTools' subsetter makes by default)
            self.tables["post"] = b"\x00\x03\x00\x00" + post[4:32]

    def _components(self, gid: int) -> list[int]:
        """The glyphs a composite glyph is made of (none for a simple one)."""
        start, end = self.loca[gid], self.loca[gid + 1]
        if end - start < 10 or struct.unpack_from(">h", self.glyf, start)[0] >= 0:
            return []
        out, pos = [], start + 10
        while True:
            flags, component = struct.unpack_from(">HH", self.glyf, pos)
            out.append(component)
            pos += 4 + (4 if flags & 0x0001 else 2)  # ARG_1_AND_2_ARE_WORDS
            pos += 2 if flags & 0x0008 else 4 if flags & 0x0040 else 8 if flags & 0x0080 else 0  # scales
            if not flags & 0x0020:  # MORE_COMPONENTS
                return out

    def subset(self, used: set[int], cmap: dict[int, str], font) -> bytes:
        """The font file with the outlines of ``used`` (and the glyphs they are made of) only, its
        ``cmap`` table mapping ``cmap`` (code point -> glyph name) alone; ``font``: the fontTools
        font the names belong to."""
        from fontTools.ttLib.tables._c_m_a_p import CmapSubtable, table__c_m_a_p

        keep = {0} | {g for g in used if 0 <= g < self.glyphs}
        todo = list(keep)
        while todo:
            for c in self._components(todo.pop()):
                if c not in keep and c < self.glyphs:
                    keep.add(c)
                    todo.append(c)
        loca = array("I", bytes(4 * (self.glyphs + 1)))
        pieces: list[bytes] = []
        pos = done = 0
        for gid in sorted(keep):
            loca[done:gid + 1] = array("I", [pos]) * (gid + 1 - done)
            piece = self.glyf[self.loca[gid]:self.loca[gid + 1]]
            piece += b"\x00" * (-len(piece) % 4)
            pieces.append(piece)
            pos += len(piece)
            done = gid + 1
        loca[done:] = array("I", [pos]) * (self.glyphs + 1 - done)
        if sys.byteorder == "little":
            loca.byteswap()
        hmtx = bytearray(self.tables["hmtx"])  # metrics of glyphs not drawn: zeros (they compress away)
        kept = sorted(keep)
        wide = [g for g in kept if g < self.metrics]
        blank = bytearray(len(hmtx))
        for g in wide:
            blank[4 * g:4 * g + 4] = hmtx[4 * g:4 * g + 4]
        base = 4 * self.metrics
        for g in kept:
            if g >= self.metrics:
                at = base + 2 * (g - self.metrics)
                blank[at:at + 2] = hmtx[at:at + 2]
        table = table__c_m_a_p()
        table.tableVersion = 0
        table.tables = []
        for plat_enc, fmt, codes in ((1, 4, {c: n for c, n in cmap.items() if c <= 0xFFFF}),
                                     (10, 12, dict(cmap) if any(c > 0xFFFF for c in cmap) else None)):
            if codes is None:
                continue
            sub = CmapSubtable.newSubtable(fmt)
            sub.platformID, sub.platEncID, sub.language, sub.cmap = 3, plat_enc, 0, codes
            table.tables.append(sub)
        tables = dict(self.tables)
        tables["glyf"] = b"".join(pieces)
        tables["loca"] = loca.tobytes()
        tables["hmtx"] = bytes(blank)
        tables["cmap"] = table.compile(font)
        head = bytearray(tables["head"])
        head[8:12] = bytes(4)  # checkSumAdjustment, set below
        head[50:52] = struct.pack(">h", 1)  # long loca offsets
        tables["head"] = bytes(head)
        return _sfnt(tables)


def _checksum(data: bytes) -> int:
    words = array("I", data + b"\x00" * (-len(data) % 4))
    if sys.byteorder == "little":
        words.byteswap()
    return sum(words) & 0xFFFFFFFF


def _sfnt(tables: dict[str, bytes]) -> bytes:
    """A TrueType font file of ``tables`` (the table directory and checksums as the format wants)."""
    tags = sorted(tables)
    count = len(tags)
    power = 1 << (count.bit_length() - 1)
    header = struct.pack(">IHHHH", 0x00010000, count, power * 16, power.bit_length() - 1, (count - power) * 16)
    offset = 12 + 16 * count
    records, bodies = [], []
    for tag in tags:
        body = tables[tag]
        records.append(struct.pack(">4sIII", tag.encode("latin-1"), _checksum(body), offset, len(body)))
        body += b"\x00" * (-len(body) % 4)
        bodies.append(body)
        offset += len(body)
    data = bytearray(header + b"".join(records) + b"".join(bodies))
    at = 12 + 16 * count + sum(len(b) for b in bodies[:tags.index("head")])
    data[at + 8:at + 12] = struct.pack(">I", (0xB1B0AFBA - _checksum(bytes(data))) & 0xFFFFFFFF)
    return bytes(data)


@dataclass
class _LoadedFont:
    key: str  # the font's name in fpdf2 ("cjk", "fb0", ...)
    font: object  # fpdf2's TTFFont, parsed once; each PDF gets a copy (_font_for_pdf)
    data: bytes  # the font file
    program: _GlyfProgram | None  # None for CFF outlines: those go through fpdf2's own subsetting


@dataclass
class _LoadedFonts:
    """The fonts of an export as fpdf2 uses them, read once per process and shared by every PDF."""

    fonts: list[_LoadedFont]
    covered: frozenset[str]  # characters some font has
    text_cmap: frozenset[str]  # characters the text font has
    widths: dict[float, dict[str, float]] = field(default_factory=dict)  # font size -> character -> mm
    wrapped: dict[tuple, list[str]] = field(default_factory=dict)  # header lines wrapped (PdfTranscriptWriter._lines)


_loaded: dict[tuple, _LoadedFonts] = {}


def _load_fonts(fonts: PdfFonts) -> _LoadedFonts:
    """The fonts of ``fonts`` parsed (once per process and set of files; only the latest set is kept)."""
    from fpdf import FPDF
    from fpdf.fonts import TTFFont

    choices = (fonts.cjk, *fonts.fallbacks)
    key = tuple((c.path, c.index, *_file_identity(c.path)) for c in choices)
    hit = _loaded.get(key)
    if hit is not None:
        return hit
    host = FPDF()  # TTFFont wants a document to number its fonts in
    loaded: list[_LoadedFont] = []
    for n, choice in enumerate(choices):
        name = "cjk" if n == 0 else f"fb{n - 1}"
        font = TTFFont(host, Path(choice.path), name, "", collection_font_number=choice.index)
        font.ttfont.recalcBBoxes = False  # see _font_for_pdf
        data = Path(choice.path).read_bytes()
        program = None
        if "glyf" in font.ttfont and data[:4] in (b"\x00\x01\x00\x00", b"true"):
            program = _GlyfProgram(data, font.ttfont.getReverseGlyphMap())
        loaded.append(_LoadedFont(name, font, data, program))
        host.fonts[name] = font
    covered: set[str] = set()
    for lf in loaded:
        covered.update(map(chr, lf.font.cmap))
    result = _LoadedFonts(loaded, frozenset(covered), frozenset(map(chr, loaded[0].font.cmap)))
    _loaded.clear()
    _loaded[key] = result
    return result


def _file_identity(path: str) -> tuple[int, int, int]:
    st = os.stat(path)
    return st.st_ino, st.st_size, st.st_mtime_ns


def _font_for_pdf(loaded: _LoadedFont, number: int):
    """A copy of a parsed font for one PDF: metrics and character maps shared, what the PDF
    records (the glyphs it used) its own. fpdf2's TTFFont.__deepcopy__ shares the same parts."""
    from fpdf.fonts import SubsetMap

    proto = loaded.font
    font = _shared_font_class().__new__(_shared_font_class())
    for name in ("type", "ttffile", "fontkey", "scale", "name", "up", "ut", "sp", "ss", "emphasis", "is_compressed",
                 "is_cff", "is_cid_keyed", "is_symbol", "cff_ros", "collection_font_number", "ttfont", "cmap",
                 "cw", "glyph_ids", "_hbfont", "color_font", "palette_index"):
        setattr(font, name, getattr(proto, name))
    font.i = number
    font.desc = copy.copy(proto.desc)  # the output sets its object id and font file
    font.missing_glyphs = []
    font.biggest_size_pt = 0
    font.loaded = loaded
    font.subset = SubsetMap(font)
    font.codes = _Codes(font.subset.pick)
    return font


class _Codes(dict):
    """A ``str.translate`` table of one PDF's font copy: a code point -> the character of its code
    in the PDF's font subset, None (left out) without a glyph. ``pick`` records the glyph for the
    subset, as fpdf2 does, once per character: translating a line is then one C call where a
    Python loop over its characters was a fifth of a transcript's time."""

    __slots__ = ("pick",)

    def __init__(self, pick: Callable[[int], int | None]) -> None:
        super().__init__()
        self.pick = pick

    def __missing__(self, code_point: int) -> str | None:
        code = self.pick(code_point)
        char = chr(code) if code else None
        self[code_point] = char
        return char


@lru_cache(maxsize=1)
def _shared_font_class():
    from fpdf.fonts import TTFFont

    class SharedTTFFont(TTFFont):
        """A TTFFont whose parsed font file is shared between PDFs (see _font_for_pdf)."""

        __slots__ = ("codes", "loaded")

        def close(self) -> None:  # the shared font stays open for the next PDF (a CFF font's own copy is closed)
            if self.ttfont is not self.loaded.font.ttfont:
                self.ttfont.close()
            self._hbfont = None

    return SharedTTFFont


@lru_cache(maxsize=1)
def _output_class():
    """fpdf2's OutputProducer, embedding each shared TrueType font as the subset _GlyfProgram cuts
    (the same PDF objects fpdf2 writes for a TrueType CIDFont); CFF fonts get a fresh copy of the
    font for fpdf2's own subsetter, which changes the font it is given."""
    from fontTools.ttLib import TTFont
    from fpdf.enums import PDFResourceType
    from fpdf.output import (
        CIDSystemInfo,
        OutputProducer,
        PDFContentStream,
        PDFFont,
        PDFFontStream,
        _build_cmap_blocks,
        _tt_font_widths,
    )
    from fpdf.syntax import Name, PDFArray

    shared = _shared_font_class()

    def embed(producer, font) -> object:
        fontname = f"MPDFAA+{font.name}"
        program: _GlyfProgram = font.loaded.program
        glyphs = [(glyph, code) for glyph, code in font.subset.items() if glyph is not None]
        code_to_glyph = {code: program.glyph_ids.get(glyph.glyph_name, 0) for glyph, code in glyphs}
        cmap = {u[0]: glyph.glyph_name for glyph, _code in glyphs
                if isinstance(u := glyph.unicode, tuple) and len(u) == 1 and u[0] in font.cmap}
        stream = program.subset(set(code_to_glyph.values()), cmap, font.ttfont)
        composite = PDFFont(subtype="Type0", base_font=fontname, encoding="Identity-H")
        producer._add_pdf_obj(composite, "fonts")
        cid_font = PDFFont(subtype="CIDFontType2", base_font=fontname, d_w=font.desc.missing_width,
                           w=_tt_font_widths(font))
        producer._add_pdf_obj(cid_font, "fonts")
        composite.descendant_fonts = PDFArray([cid_font])

        def code(u: int) -> str:
            if u > 0xFFFF:
                return f"{0xD800 | (u - 0x10000) >> 10:04X}{0xDC00 | (u & 0x3FF):04X}"
            return f"{u:04X}"

        bf_char = [f"<{mapped:04X}> <{''.join(code(u) for u in glyph.unicode)}>\n" for glyph, mapped in glyphs
                   if isinstance(glyph.unicode, tuple) and glyph.unicode]
        to_unicode = PDFContentStream((
            "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CIDSystemInfo\n"
            "<</Registry (Adobe)\n/Ordering (UCS)\n/Supplement 0\n>> def\n/CMapName /Adobe-Identity-UCS def\n"
            "/CMapType 2 def\n1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
            f"{_build_cmap_blocks(bf_char, 'bfchar')}"
            "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend").encode("latin-1"))
        producer._add_pdf_obj(to_unicode, "fonts")
        composite.to_unicode = to_unicode
        system_info = CIDSystemInfo()
        producer._add_pdf_obj(system_info, "fonts")
        cid_font.c_i_d_system_info = system_info
        descriptor = font.desc
        descriptor.font_name = Name(fontname)
        producer._add_pdf_obj(descriptor, "fonts")
        cid_font.font_descriptor = descriptor
        # As long as the highest code this PDF uses (PDF 32000-1, table 117: byte 2 × CID holds
        # its glyph): a full 65,536-code map was 128 KiB to build and compress for every PDF.
        cid_to_gid = bytearray(2 * (max(code_to_glyph, default=0) + 1))
        for c, gid in code_to_glyph.items():
            cid_to_gid[2 * c:2 * c + 2] = gid.to_bytes(2, "big")
        gid_map = PDFContentStream(contents=bytes(cid_to_gid), compress=True)
        producer._add_pdf_obj(gid_map, "fonts")
        cid_font.c_i_d_to_g_i_d_map = gid_map
        font_file = PDFFontStream(contents=stream)
        producer._add_pdf_obj(font_file, "fonts")
        descriptor.font_file2 = font_file
        font.subset.pick.cache_clear()
        font.subset.get_glyph.cache_clear()
        return composite

    class Output(OutputProducer):
        def _add_fonts(self, image_objects_per_index, gfxstate_objs_per_name, pattern_objs_per_name):
            fonts = self.fpdf.fonts  # fpdf2's registry (a dict): changed in place, restored below
            catalog = self.fpdf._resource_catalog
            drawn = {int(i) for page in range(1, self.fpdf.pages_count + 1)
                     for i in catalog.get_resources_per_page(page, PDFResourceType.FONT)}
            for k, f in list(fonts.items()):  # a fallback font no page draws with is left out
                if isinstance(f, shared) and f.i not in drawn and not f.subset._next:
                    del fonts[k]
            ours = {k: f for k, f in fonts.items() if isinstance(f, shared) and f.loaded.program is not None}
            for f in fonts.values():
                if isinstance(f, shared) and f.loaded.program is None:
                    f.ttfont = TTFont(io.BytesIO(f.loaded.data), recalcTimestamp=False, lazy=True,
                                      fontNumber=f.collection_font_number)
                    f.ttfont.recalcBBoxes = False
            for k in ours:
                del fonts[k]
            try:
                objects = super()._add_fonts(image_objects_per_index, gfxstate_objs_per_name, pattern_objs_per_name)
            finally:
                fonts.update(ours)
            for f in sorted(ours.values(), key=lambda f: f.i):
                objects[f.i] = embed(self, f)
            return objects

    return Output


# ---------------------------------------------------------------------------------------------- writing


@dataclass
class TranscriptHeader:
    session_id: str
    session_type: str
    participants: tuple[str, ...]
    roomid: str
    zone_note: str
    selection_note: str
    fingerprint: str
    title: str = ""  # the conversation by names (the group's name, or its people's)
    room_name: str = ""
    participant_names: tuple[str, ...] = ()  # aligned with participants ("" where unknown)


def _labelled(label: str, ident: str) -> str:
    """``name (id)``, or the id alone when no name is known (both made visible by display_name)."""
    return f"{display_name(label)} ({display_name(ident)})" if label and label != ident else display_name(ident)


@dataclass
class PdfMedia:
    kind: str
    label: str
    native_path: str  # the file inside the package (data/media/...)
    is_image: bool
    source: Path | None = None  # the file to draw an inline thumbnail from


@dataclass
class _Volume:
    number: int
    rel: str
    messages: int = 0
    pages: int = 0


_GREY, _BLACK, _RED, _HIT = (90, 90, 90), (20, 20, 20), (180, 0, 0), (150, 80, 0)
_FILL = 0  # fpdf2's TextMode.FILL (an IntEnum)
_REVIEW = (26, 115, 232)  # reviewers' annotations: apart from the message, in blue
REVIEW_HEADING = "｜审阅 Review (审阅人的批注，非消息内容 reviewers' annotations, not part of the message)"
# Every fixed label the writer draws (subset_fonts keeps their characters).
STATIC_TEXT = ("会话记录 Transcript · 第 卷 volume 页 Page 包指纹 Package fingerprint (SHA-256): 类型 Type 群 Room "
               "参与者 Participants 会话 Conversation 时区 Times 选择 Selection 续 Continued from ⋯ 未导出的消息 messages not exported "
               "→ 【命中 hit】 已撤回 recalled 图片 image 附件 file 未存档 not stored — msgid （）：，"
               "⟨U+0123456789ABCDEF⟩ …")  # and the visible escapes of app.core.safe_text


def warm_up() -> None:
    """Load what rendering a transcript needs (fpdf2, fontTools, Pillow and the classes made from
    them): a renderer process does it while it waits for its first conversation."""
    from fontTools import ttLib  # noqa: F401
    from PIL import Image  # noqa: F401

    _pdf_class()
    _output_class()
    _shared_font_class()


_COLOR_OPS: dict = {}  # a text colour -> its PDF operator (TranscriptPdf.text_line)


@lru_cache(maxsize=1)
def _pdf_class():
    from fpdf import FPDF

    class TranscriptPdf(FPDF):
        """A transcript volume: its running title, page number and the package fingerprint on every page."""

        running_title = ""
        fingerprint = ""
        text_cmap: frozenset[str] = frozenset()  # what the text font draws
        fallback_ids: list[str] = []  # fpdf2's keys of the fallback fonts

        def fallbacks_for(self, text: str) -> list[str]:
            """Switch fpdf2's fallback fonts on for ``text`` only when the text font cannot draw it
            whole; returns the previous setting. With fallbacks set, fpdf2 splits every string it is
            given character by character (copying the rest of the string each time): that was most
            of a transcript's time, for text the text font draws anyway."""
            before = self._fallback_font_ids
            self._fallback_font_ids = [] if self.text_cmap.issuperset(text) else self.fallback_ids
            return before

        def set_font(self, family=None, style="", size=0) -> None:
            """fpdf2's set_font; the font already set (most of the writer's calls) costs a few
            comparisons here, where fpdf2 normalises its arguments first (4% of a transcript)."""
            font = self.current_font
            if (not style and size == self.font_size_pt and family == self.font_family and not self.font_style
                    and not self.underline and not self.strikethrough and font is not None
                    and font.fontkey == family):
                return
            super().set_font(family, style, size)

        def header(self) -> None:
            before = self.fallbacks_for(self.running_title)
            self.set_font("cjk", size=8)
            self.set_text_color(*_GREY)
            if self._fallback_font_ids:
                self.cell(0, 5, self.running_title, new_x="LMARGIN", new_y="NEXT")
            else:
                self.text_line(self.running_title, 5)
                self.x, self.y = self.l_margin, self.y + 5
            self.ln(2)
            self._fallback_font_ids = before

        def footer(self) -> None:
            # Drawn by the text font (digits and fixed labels): straight into the page, centred as
            # fpdf2's cell(0, 4, text, align="C") centres it; a cell cost a millisecond, twice a page.
            before, self._fallback_font_ids = self._fallback_font_ids, []
            self.set_y(-13)
            self.set_font("cjk", size=7)
            self.set_text_color(*_GREY)
            for text in (f"第 {self.page_no()} 页 Page {self.page_no()}",
                         f"包指纹 Package fingerprint (SHA-256): {self.fingerprint}"):
                width = self.w - self.r_margin - self.x - 2 * self.c_margin
                self.text_line(text, 4, dx=(width - self.get_string_width(text)) / 2)
                self.x, self.y = self.l_margin, self.y + 4
            self._fallback_font_ids = before

        def text_line(self, text: str, height: float, *, dx: float = 0.0) -> None:
            """``text`` (which the current font draws whole, in one line) written straight into the
            page at the current position (``dx`` mm further right) as fpdf2's cell draws it, without
            moving the position; fpdf2's cell (fragments, graphics-state copies, widths summed again)
            cost about a millisecond a line. The caller checks the fit and moves on."""
            self._perform_page_break_if_need_be(height)  # the next page's header and footer drawn by fpdf2
            font = self.current_font
            if not self.current_font_is_set_on_page:
                self._out(self._set_font_for_page(font, self.font_size_pt))
            if self.font_size_pt > font.biggest_size_pt:
                font.biggest_size_pt = self.font_size_pt
            codes = text.translate(font.codes)  # records each glyph for the font subset, as fpdf2 does
            k = self.k
            op = (f"BT {(self.x + self.c_margin + dx) * k:.2f} "
                  f"{(self.h - self.y - 0.5 * height - 0.3 * self.font_size) * k:.2f} Td "
                  f"({font.escape_text(codes)}) Tj ET")
            color = self.text_color
            if color != self.fill_color:
                setting = _COLOR_OPS.get(color)
                if setting is None:
                    setting = _COLOR_OPS[color] = color.serialize().lower()
                op = f"q {setting} {op} Q"
            self._out(op)
            self._lasth = height

    return TranscriptPdf


def _make_pdf(fonts: _LoadedFonts, header: TranscriptHeader, volume: int, visible: Callable[[str], str]):
    pdf = _pdf_class()(orientation="portrait", unit="mm", format="A4")
    pdf.running_title = f"会话记录 Transcript {visible(display_name(header.title or header.session_id))}" + (
        f" · 第 {volume} 卷 volume {volume}" if volume > 1 else "")
    pdf.fingerprint = header.fingerprint
    pdf.set_auto_page_break(True, margin=18)
    pdf.set_margins(15, 12, 15)
    pdf.set_creator("WeCom Archive Auditor")
    pdf.set_title(f"Transcript {display_name(header.title or header.session_id)}")
    pdf.set_lang("zh-CN")
    pdf.alias_nb_pages("")  # fpdf2 would replace "{nb}" in a message's text by the number of pages
    # The fonts were parsed once for the whole export (_load_fonts); this PDF gets copies that
    # record which glyphs it uses, and is written by _output_class, which embeds just those.
    for n, loaded in enumerate(fonts.fonts, 1):
        font = pdf.fonts[loaded.key] = _font_for_pdf(loaded, n)
        if font.is_cff and font.is_cid_keyed:
            pdf._set_min_pdf_version("1.6")  # as fpdf2's add_font does
    if len(fonts.fonts) > 1:
        pdf.set_fallback_fonts([f.key for f in fonts.fonts[1:]], exact_match=False)
        pdf.fallback_ids = list(pdf._fallback_font_ids)  # switched on per text (fallbacks_for)
        pdf._fallback_font_ids = []
    pdf.text_cmap = fonts.text_cmap
    pdf.add_page()
    return pdf


def _thumbnail(path: Path):
    """A small RGB copy of the image for the PDF, or None if it cannot be read safely."""
    from PIL import Image

    try:
        if path.stat().st_size > MAX_INLINE_IMAGE_BYTES:
            return None
        with Image.open(path) as im:
            if im.width * im.height > 80_000_000:  # refuse decompression bombs outright
                return None
            im.draft("RGB", (THUMBNAIL_PX, THUMBNAIL_PX))
            im.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
            out = im.convert("RGB")
        buf = io.BytesIO()
        out.save(buf, "JPEG", quality=80)
        buf.seek(0)
        return buf
    except Exception:  # a broken or unsupported image is referenced instead of drawn
        return None


@dataclass
class PdfTranscriptWriter:
    """Writes one conversation's PDF volume(s) as messages come.

    ``open_volume(number) -> (rel, path)`` names and places volume files; each volume is written to its
    path when full or on :meth:`close`, and ``on_written(rel, path)`` is called so the bag can hash it.
    With ``on_volume``, a finished volume is handed over as ``on_volume(rel, pdf bytes)`` instead (no file
    is written, ``on_written`` is not called). The fonts are parsed once per process (_load_fonts).
    """

    fonts: PdfFonts
    header: TranscriptHeader
    open_volume: Callable[[int], tuple[str, Path]]
    on_written: Callable[[str, Path], None]
    per_volume: int = MESSAGES_PER_VOLUME
    volumes: list[_Volume] = field(default_factory=list)
    session_review: list[str] = field(default_factory=list)  # the conversation's own review, under each header
    on_volume: Callable[[str, bytes], None] | None = None
    _pdf: object = None
    _path: Path | None = None
    _loaded: _LoadedFonts | None = None

    def _fonts(self) -> _LoadedFonts:
        if self._loaded is None:
            self._loaded = _load_fonts(self.fonts)
        return self._loaded

    def _visible(self, text: str) -> str:
        return visible_in_pdf(text, self._fonts().covered)  # others are drawn as ⟨U+XXXX⟩

    def _start_volume(self) -> None:
        number = len(self.volumes) + 1
        rel, self._path = self.open_volume(number)
        self.volumes.append(_Volume(number, rel))
        pdf = self._pdf = _make_pdf(self._fonts(), self.header, number, self._visible)
        h = self.header
        pdf.set_font("cjk", size=14)
        pdf.set_text_color(*_BLACK)
        self._lines(f"会话记录 Transcript {display_name(h.title or h.session_id)}", 7)
        pdf.set_font("cjk", size=8.5)
        pdf.set_text_color(*_GREY)
        lines = [f"会话 Conversation: {display_name(h.session_id)}"] if h.title else []
        lines.append(f"类型 Type: {display_name(h.session_type)}")
        if h.roomid:
            lines.append(f"群 Room: {_labelled(h.room_name, h.roomid)}")
        names = h.participant_names or ("",) * len(h.participants)
        lines += [f"参与者 Participants: {', '.join(_labelled(n, p) for n, p in zip(names, h.participants, strict=False))}",
                  f"时区 Times: {h.zone_note}", f"选择 Selection: {display_name(h.selection_note)}",
                  f"包指纹 Package fingerprint: {h.fingerprint}"]
        if number > 1:
            lines.append(f"续第 {number - 1} 卷 Continued from volume {number - 1}")
        for line in lines:  # a group's participants can fill many lines: wrapped by _lines, not multi_cell
            self._lines(line, 4.5, remember=True)
        if self.session_review:
            self._review(self.session_review)
        pdf.ln(3)

    def gap(self) -> None:
        if self._pdf is None:
            self._start_volume()
        pdf = self._pdf
        pdf.set_font("cjk", size=8.5)
        pdf.set_text_color(*_GREY)
        text = "⋯ 未导出的消息 messages not exported ⋯"
        pdf.fallbacks_for(text)
        pdf.cell(0, 6, text, align="C", new_x="LMARGIN", new_y="NEXT")

    def message(self, *, seq: int, time: str, sender: str, recipients: tuple[str, ...], msgtype: str,
                summary: str, text: str, recalled_at: str | None, hit: bool,
                hit_spans: tuple[tuple[int, int], ...] = (), media: list[PdfMedia] = (), msgid: str = "",
                native_path: str = "", sender_name: str = "", sender_note: str = "",
                recipient_names: tuple[str, ...] = (), review: tuple[str, ...] | list[str] = ()) -> None:
        if self._pdf is None or self.volumes[-1].messages >= self.per_volume:
            self._finish_volume()
            self._start_volume()
        pdf = self._pdf
        vol = self.volumes[-1]
        pdf.set_draw_color(210, 210, 210)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
        pdf.ln(1)
        to = ", ".join(_labelled(n, r) for n, r in zip(recipient_names or ("",) * len(recipients), recipients,
                                                        strict=False))
        if sender_name and sender_name != sender:  # the name, the id beside it in small type
            name = self._visible(display_name(sender_name))
            ident = self._visible(f"  {display_name(sender)}" + (f"  {display_name(sender_note)}" if sender_note else ""))
            pdf.set_font("cjk", size=9.5)
            pdf.set_text_color(*_BLACK)
            name_width = self._width(name)
            pdf.set_font("cjk", size=6.5)
            if name_width + self._width(ident) + 4 * pdf.c_margin < pdf.w - pdf.l_margin - pdf.r_margin:
                pdf.set_font("cjk", size=9.5)
                self._line(name, 4.5, end_line=False)
                pdf.set_font("cjk", size=6.5)
                pdf.set_text_color(*_GREY)
                self._line(ident, 4.5)
            else:  # longer than a line: fpdf2's write wraps it
                pdf.set_font("cjk", size=9.5)
                self._write(4.5, name)
                pdf.set_font("cjk", size=6.5)
                pdf.set_text_color(*_GREY)
                self._write(4.5, ident)
                pdf.ln(4.5)
            who = ""
        else:
            who = f" · {display_name(sender)}" + (f" {display_name(sender_note)}" if sender_note else "")
        pdf.set_font("cjk", size=8)
        pdf.set_text_color(*_GREY)
        head = f"{time}{who} → {to} · {display_name(msgtype)} · seq {seq}"
        if hit:
            head += " · 【命中 hit】"
        self._lines(head, 4)
        if recalled_at:
            pdf.set_text_color(*_RED)
            self._lines(f"已撤回 recalled {recalled_at}", 4)
        pdf.set_font("cjk", size=10)
        pdf.set_text_color(*_BLACK)
        if not (hit_spans and text == summary):
            self._lines(display_text(summary) or " ", 5)
        if text and (text != summary or hit_spans):
            self._text_with_hits(text, hit_spans)
        for m in media:
            self._media(m)
        if review:
            self._review(review)
        pdf.set_font("cjk", size=6.5)
        pdf.set_text_color(*_GREY)
        self._lines(f"msgid {display_name(msgid)} · {native_path}", 3.5)
        pdf.ln(1.5)
        vol.messages += 1

    def _review(self, lines) -> None:
        """Reviewers' annotations (app/core/review/evidence.py), headed and in blue, apart from the message."""
        pdf = self._pdf
        pdf.set_font("cjk", size=8)
        pdf.set_text_color(*_REVIEW)
        self._lines(REVIEW_HEADING, 4)
        for line in lines:
            self._lines("｜" + display_text(line), 4)
        pdf.set_text_color(*_BLACK)

    def _lines(self, text: str, height: float, *, remember: bool = False) -> None:
        """``text`` wrapped to the page width in the current font, one cell per line.

        fpdf2's multi_cell measures a line again for every character it adds (quadratic, and most of
        the time of a transcript); here each character's width is measured once per font size.
        ``remember``: keep the wrapped lines for the next PDF of this process (the header's lines,
        the same in every volume: an export's selection of hundreds of conversations is thousands
        of characters, walked one by one for every PDF before)."""
        pdf = self._pdf
        text = self._visible(text)
        limit = pdf.w - pdf.l_margin - pdf.r_margin - 0.5
        wrapped = self._fonts().wrapped
        key = (text, pdf.font_size_pt, limit)
        lines = wrapped.get(key) if remember else None
        if lines is None:
            lines = self._wrap(text, limit)
            if remember:
                if len(wrapped) >= 256:  # bounded: a few lines per conversation
                    wrapped.clear()
                wrapped[key] = lines
        for line in lines:
            self._line(line, height)

    def _wrap(self, text: str, limit: float) -> list[str]:
        """The lines of ``text`` no wider than ``limit`` (mm) in the current font: broken after a
        space or around CJK characters where possible, else within a word."""
        widths = self._widths(text)
        width_of = widths.__getitem__
        lines = []
        for paragraph in text.split("\n"):
            if sum(map(width_of, paragraph)) <= limit:  # most lines fit: no character-by-character walk
                lines.append(paragraph or " ")
                continue
            line_start, width, last_break = 0, 0.0, -1
            for i, ch in enumerate(paragraph):
                w = widths[ch]
                if width + w > limit and i > line_start:
                    cut = last_break if last_break > line_start else i
                    lines.append(paragraph[line_start:cut].rstrip(" "))
                    line_start = cut + 1 if cut == last_break and paragraph[cut] == " " else cut
                    width = sum(widths[c] for c in paragraph[line_start:i])
                    last_break = -1
                width += w
                if ch == " " or ord(ch) >= 0x2E80:  # a line may break after a space or around CJK
                    last_break = i if ch == " " else i + 1 if i + 1 < len(paragraph) else -1
            lines.append(paragraph[line_start:] or " ")
        return lines

    def _widths(self, text: str) -> dict[str, float]:
        """The widths (mm) of characters in the current font size, ``text``'s measured if not yet."""
        pdf = self._pdf
        fonts = self._fonts()
        size = pdf.font_size_pt
        widths = fonts.widths.setdefault(size, {})
        missing = set(text).difference(widths)
        if missing:
            cmap = fonts.text_cmap
            for ch in missing:
                widths[ch] = pdf.get_string_width(ch) if ch in cmap else size * 0.3528
        return widths

    def _width(self, text: str) -> float:
        widths = self._widths(text)
        return sum(widths[c] for c in text)

    def _line(self, text: str, height: float, *, end_line: bool = True) -> None:
        """One line of text that fits the width, as ``cell(0, height, text, new_x="LMARGIN",
        new_y="NEXT")`` draws it (``end_line=False``: the next text follows on the same line),
        written straight into the page for text the current font draws whole: fpdf2's cell
        (fragments, graphics-state copies, widths summed again) cost about a millisecond a line.
        Text that needs fallback fonts or underlining goes through fpdf2."""
        pdf = self._pdf
        pdf.fallbacks_for(text)
        if pdf._fallback_font_ids or pdf.underline or pdf.strikethrough or pdf.char_spacing \
                or pdf.font_stretching != 100 or pdf.text_mode != _FILL:
            if end_line:
                pdf.cell(0, height, text, new_x="LMARGIN", new_y="NEXT")
            else:
                pdf.cell(self._width(text) + 2 * pdf.c_margin, height, text, new_x="RIGHT", new_y="TOP")
            return
        pdf.text_line(text, height)
        if end_line:
            pdf.x = pdf.l_margin
            pdf.y += height
        else:
            pdf.x += self._width(text) + 2 * pdf.c_margin

    def _write(self, height: float, text: str) -> None:
        """fpdf2's write (text flowing on from the current position), fallback fonts only where needed."""
        pdf = self._pdf
        pdf.fallbacks_for(text)
        pdf.write(height, text)

    def _text_with_hits(self, text: str, spans) -> None:
        """``text`` with the (start, end) spans underlined; without spans, wrapped by :meth:`_lines`.
        Each piece is neutralised on its own (the spans are offsets into the original text)."""
        if not spans:
            self._lines(display_text(text), 5)
            return
        pdf = self._pdf
        pos = 0
        for start, end in sorted(spans):
            start, end = max(start, pos), min(end, len(text))
            if start >= end:
                continue
            if start > pos:
                pdf.set_text_color(*_BLACK)
                pdf.set_font("cjk", "", 10)
                self._write(5, self._visible(display_text(text[pos:start])))
            pdf.set_text_color(*_HIT)
            pdf.set_font("cjk", "U", 10)
            self._write(5, self._visible(display_text(text[start:end])))
            pos = end
        pdf.set_text_color(*_BLACK)
        pdf.set_font("cjk", "", 10)
        if pos < len(text):
            self._write(5, self._visible(display_text(text[pos:])))
        pdf.ln(5)

    def _media(self, m: PdfMedia) -> None:
        pdf = self._pdf
        drawn = False
        if m.is_image and m.source is not None:
            thumb = _thumbnail(m.source)
            if thumb is not None:
                try:
                    pdf.image(thumb, w=60, h=60, keep_aspect_ratio=True)
                    drawn = True
                except Exception as exc:  # fpdf2 refused the image: reference it instead
                    log.info("image not drawn in the PDF (%s): %s", m.native_path, exc)
        pdf.set_font("cjk", size=8.5)
        pdf.set_text_color(*_GREY)
        label = f"{display_name(m.label)} ({display_name(m.kind)})"
        if not m.native_path:
            label += " — 未存档 not stored"
        self._lines(("图片 image: " if drawn else "附件 file: ") + label
                    + (f" → {m.native_path}" if m.native_path else ""), 4.5)

    def _finish_volume(self) -> None:
        if self._pdf is None:
            return
        pdf, path = self._pdf, self._path
        self.volumes[-1].pages = pdf.page_no()
        data = bytes(pdf.output(output_producer_class=_output_class()))
        self._pdf = None
        if self.on_volume is not None:
            self.on_volume(self.volumes[-1].rel, data)
            return
        with open(path, "xb") as f:
            f.write(data)
        self.on_written(self.volumes[-1].rel, path)

    def close(self) -> None:
        if self._pdf is None and not self.volumes:
            self._start_volume()
        self._finish_volume()
