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

import io
import logging
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

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


class PdfFontError(RuntimeError):
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
            raise PdfFontError(f"{FONT_ENV}={configured} is not a readable font with Chinese characters")
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
        raise PdfFontError(
            "no font with Chinese characters was found for the PDF transcripts, and the app's own "
            f"({resource_dir() / 'fonts' / BUNDLED_TEXT_FONT}) is missing: reinstall the app, install one "
            "(Debian/Ubuntu: apt install fonts-noto-cjk) or set " + FONT_ENV + " to a .ttf/.otf/.ttc file")
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


def subset_fonts(fonts: PdfFonts, chars: set[str], folder: Path) -> PdfFonts:
    """Copies of the fonts cut down to ``chars`` (plus the writer's own labels and ASCII), written to
    ``folder``. A CJK font is tens of megabytes; loading it for every conversation's PDF costs about
    half a second, loading a subset of the characters the export uses costs a few milliseconds."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    wanted = {ord(c) for c in chars | set(STATIC_TEXT)} | set(range(0x20, 0x7F))
    out: list[FontChoice] = []
    for n, choice in enumerate((fonts.cjk, *fonts.fallbacks)):
        font = TTFont(choice.path, fontNumber=choice.index, lazy=False, recalcBBoxes=False)
        try:
            cmap = font.getBestCmap() or {}
            keep = wanted & set(cmap)
            if n and not keep:  # a fallback the export does not need
                continue
            options = subset.Options()
            options.name_IDs = ["*"]
            options.name_languages = ["*"]
            options.notdef_outline = True
            options.layout_features = []
            options.hinting = False
            options.desubroutinize = False
            options.drop_tables += ["FFTM"]  # FontForge's timestamp (Symbola): fontTools would warn on stderr
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
# Every fixed label the writer draws (subset_fonts keeps their characters).
STATIC_TEXT = ("会话记录 Transcript · 第 卷 volume 页 Page 包指纹 Package fingerprint (SHA-256): 类型 Type 群 Room "
               "参与者 Participants 会话 Conversation 时区 Times 选择 Selection 续 Continued from ⋯ 未导出的消息 messages not exported "
               "→ 【命中 hit】 已撤回 recalled 图片 image 附件 file 未存档 not stored — msgid （）：，"
               "⟨U+0123456789ABCDEF⟩ …")  # and the visible escapes of app.core.safe_text


def _make_pdf(fonts: PdfFonts, header: TranscriptHeader, volume: int, visible: Callable[[str], str]):
    from fpdf import FPDF

    class _Pdf(FPDF):
        def header(self) -> None:
            self.set_font("cjk", size=8)
            self.set_text_color(*_GREY)
            title = f"会话记录 Transcript {visible(display_name(header.title or header.session_id))}" + (
                f" · 第 {volume} 卷 volume {volume}" if volume > 1 else "")
            self.cell(0, 5, title, new_x="LMARGIN", new_y="NEXT")
            self.ln(2)

        def footer(self) -> None:
            self.set_y(-13)
            self.set_font("cjk", size=7)
            self.set_text_color(*_GREY)
            self.cell(0, 4, f"第 {self.page_no()} 页 Page {self.page_no()}", align="C", new_x="LMARGIN",
                      new_y="NEXT")
            self.cell(0, 4, f"包指纹 Package fingerprint (SHA-256): {header.fingerprint}", align="C")

    pdf = _Pdf(orientation="portrait", unit="mm", format="A4")
    pdf.set_auto_page_break(True, margin=18)
    pdf.set_margins(15, 12, 15)
    pdf.set_creator("WeCom Archive Auditor")
    pdf.set_title(f"Transcript {display_name(header.title or header.session_id)}")
    pdf.set_lang("zh-CN")
    pdf.add_font("cjk", fname=fonts.cjk.path, collection_font_number=fonts.cjk.index)
    names = []
    for i, fb in enumerate(fonts.fallbacks):
        name = f"fb{i}"
        pdf.add_font(name, fname=fb.path, collection_font_number=fb.index)
        names.append(name)
    for font in pdf.fonts.values():
        # Recomputing every glyph's bounding box when the subset is saved costs more than the rest of
        # the PDF; the font's own boxes are kept (PDF viewers use the FontBBox only as a hint).
        ttfont = getattr(font, "ttfont", None)
        if ttfont is not None:
            ttfont.recalcBBoxes = False
    if names:
        pdf.set_fallback_fonts(names, exact_match=False)
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
    """

    fonts: PdfFonts
    header: TranscriptHeader
    open_volume: Callable[[int], tuple[str, Path]]
    on_written: Callable[[str, Path], None]
    per_volume: int = MESSAGES_PER_VOLUME
    volumes: list[_Volume] = field(default_factory=list)
    _pdf: object = None
    _path: Path | None = None
    _widths: dict = field(default_factory=dict)  # font size -> character -> width (mm)
    _cmap: frozenset = frozenset()  # characters the main font has
    _covered: frozenset | None = None  # characters some font has (others are drawn as ⟨U+XXXX⟩)

    def _visible(self, text: str) -> str:
        if self._covered is None:
            self._covered = covered_characters(self.fonts)
        return visible_in_pdf(text, self._covered)

    def _start_volume(self) -> None:
        number = len(self.volumes) + 1
        rel, self._path = self.open_volume(number)
        self.volumes.append(_Volume(number, rel))
        pdf = self._pdf = _make_pdf(self.fonts, self.header, number, self._visible)
        if not self._cmap:
            self._cmap = frozenset(chr(c) for c in pdf.fonts["cjk"].cmap) if hasattr(pdf.fonts["cjk"], "cmap") \
                else frozenset()
        h = self.header
        pdf.set_font("cjk", size=14)
        pdf.set_text_color(*_BLACK)
        pdf.multi_cell(0, 7, align="L", text=self._visible(f"会话记录 Transcript {display_name(h.title or h.session_id)}"),
                       new_x="LMARGIN", new_y="NEXT")
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
        for line in lines:
            pdf.multi_cell(0, 4.5, align="L", text=self._visible(line), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)

    def gap(self) -> None:
        if self._pdf is None:
            self._start_volume()
        pdf = self._pdf
        pdf.set_font("cjk", size=8.5)
        pdf.set_text_color(*_GREY)
        pdf.multi_cell(0, 6, "⋯ 未导出的消息 messages not exported ⋯", align="C", new_x="LMARGIN", new_y="NEXT")

    def message(self, *, seq: int, time: str, sender: str, recipients: tuple[str, ...], msgtype: str,
                summary: str, text: str, recalled_at: str | None, hit: bool,
                hit_spans: tuple[tuple[int, int], ...] = (), media: list[PdfMedia] = (), msgid: str = "",
                native_path: str = "", sender_name: str = "", sender_note: str = "",
                recipient_names: tuple[str, ...] = ()) -> None:
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
            pdf.set_font("cjk", size=9.5)
            pdf.set_text_color(*_BLACK)
            pdf.write(4.5, self._visible(display_name(sender_name)))
            pdf.set_font("cjk", size=6.5)
            pdf.set_text_color(*_GREY)
            pdf.write(4.5, self._visible(f"  {display_name(sender)}" + (f"  {display_name(sender_note)}"
                                                                         if sender_note else "")))
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
        pdf.set_font("cjk", size=6.5)
        pdf.set_text_color(*_GREY)
        self._lines(f"msgid {display_name(msgid)} · {native_path}", 3.5)
        pdf.ln(1.5)
        vol.messages += 1

    def _lines(self, text: str, height: float) -> None:
        """``text`` wrapped to the page width in the current font, one cell per line.

        fpdf2's multi_cell measures a line again for every character it adds (quadratic, and most of
        the time of a transcript); here each character's width is measured once per font size."""
        pdf = self._pdf
        text = self._visible(text)
        size = pdf.font_size_pt
        widths = self._widths.setdefault(size, {})
        limit = pdf.w - pdf.l_margin - pdf.r_margin - 0.5
        for paragraph in text.split("\n"):
            line_start, width, last_break = 0, 0.0, -1
            for i, ch in enumerate(paragraph):
                w = widths.get(ch)
                if w is None:
                    w = widths[ch] = pdf.get_string_width(ch) if ch in self._cmap else size * 0.3528
                if width + w > limit and i > line_start:
                    cut = last_break if last_break > line_start else i
                    pdf.cell(0, height, paragraph[line_start:cut].rstrip(" "), new_x="LMARGIN", new_y="NEXT")
                    line_start = cut + 1 if cut == last_break and paragraph[cut] == " " else cut
                    width = sum(widths[c] for c in paragraph[line_start:i])
                    last_break = -1
                width += w
                if ch == " " or ord(ch) >= 0x2E80:  # a line may break after a space or around CJK
                    last_break = i if ch == " " else i + 1 if i + 1 < len(paragraph) else -1
            pdf.cell(0, height, paragraph[line_start:] or " ", new_x="LMARGIN", new_y="NEXT")

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
                pdf.write(5, self._visible(display_text(text[pos:start])))
            pdf.set_text_color(*_HIT)
            pdf.set_font("cjk", "U", 10)
            pdf.write(5, self._visible(display_text(text[start:end])))
            pos = end
        pdf.set_text_color(*_BLACK)
        pdf.set_font("cjk", "", 10)
        if pos < len(text):
            pdf.write(5, self._visible(display_text(text[pos:])))
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
        pdf.output(str(path))
        self._pdf = None
        self.on_written(self.volumes[-1].rel, path)

    def close(self) -> None:
        if self._pdf is None and not self.volumes:
            self._start_volume()
        self._finish_volume()
