"""Media files made on the spot: JPEG/PNG photos and screenshots, GIF/PNG stickers, AMR-NB voice,
MP4 video (Motion-JPEG frames in ISO-BMFF, so players can show it), PDF, DOCX, XLSX, text and
binary files.

Every maker is a pure function of a ``random.Random`` (``make(kind, rng)``): the same seed gives
the same bytes, as long as Pillow's and zlib's encoders are the same version. Nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import io
import math
import random
import struct
import zipfile
import zlib
from dataclasses import dataclass
from xml.sax.saxutils import escape

from PIL import Image, ImageChops, ImageDraw, ImageFont

from .names import COMPANIES, OUR_ADDRESS, OUR_CORP
from .phrases import LONG_TEXT_PARTS, PRODUCTS, address, tax_id

# A fixed timestamp for zip members and document metadata, so that output is deterministic.
FIXED_ZIP_TIME = (2025, 1, 1, 9, 0, 0)


@dataclass(frozen=True, slots=True)
class Made:
    data: bytes
    ext: str
    meta: dict


# ---------------------------------------------------------------------------------------------
# images


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType
        return ImageFont.load_default()


def _noise(rng: random.Random, w: int, h: int, amp: int, grain: int = 1) -> Image.Image:
    """Deterministic noise in [0, amp] (Pillow's effect_noise uses the C library's rand())."""
    nw, nh = max(1, w // grain), max(1, h // grain)
    n = Image.frombytes("L", (nw, nh), rng.randbytes(nw * nh))
    if grain > 1:
        n = n.resize((w, h), Image.Resampling.BILINEAR)
    return n.point([v * amp // 255 for v in range(256)]).convert("RGB")


def _scene(rng: random.Random, w: int, h: int, shapes: int = 12) -> Image.Image:
    lin = Image.linear_gradient("L")
    rad = Image.radial_gradient("L")
    chans = []
    for _ in range(3):
        g = (lin if rng.random() < 0.6 else rad).rotate(rng.choice((0, 90, 180, 270, rng.uniform(0, 360))))
        lo, hi = sorted((rng.randint(0, 160), rng.randint(90, 255)))
        chans.append(g.point([lo + v * (hi - lo) // 255 for v in range(256)]))
    # colour at gradient resolution, then one resize: a smooth background costs little
    img = Image.merge("RGB", chans).resize((w, h), Image.Resampling.BILINEAR)
    d = ImageDraw.Draw(img)
    for _ in range(shapes):
        x0, y0 = rng.randrange(w), rng.randrange(h)
        x1, y1 = x0 + rng.randint(w // 20, w // 2), y0 + rng.randint(h // 20, h // 2)
        color = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        kind = rng.random()
        if kind < 0.4:
            d.ellipse((x0, y0, x1, y1), fill=color)
        elif kind < 0.75:
            d.rectangle((x0, y0, x1, y1), fill=color)
        else:
            pts = [(rng.randrange(w), rng.randrange(h)) for _ in range(rng.randint(3, 6))]
            d.polygon(pts, fill=color)
    return img


def photo_jpeg(rng: random.Random, tier: str | None = None) -> Made:
    """A camera-like JPEG. Tiers: small 30-150 KB, medium 200-900 KB, large 1.3-3 MB."""
    if tier is None:
        r = rng.random()
        tier = "small" if r < 0.72 else "medium" if r < 0.96 else "large"
    if tier == "tiny":
        w, h, amp, q, grain = 32, 24, 10, 80, 1
    elif tier == "small":
        w = rng.choice((640, 720, 800, 960, 1080))
        h = w * rng.choice((3, 4, 9)) // rng.choice((4, 3, 16))
        amp, q, grain = rng.randint(6, 18), rng.choice((75, 80, 85)), 2
    elif tier == "medium":
        w = rng.choice((1280, 1440, 1600, 1920))
        h = w * 3 // 4
        amp, q, grain = rng.randint(14, 30), rng.choice((85, 88, 90)), 1
    else:
        w, h = rng.choice(((2400, 1800), (2560, 1920), (2736, 2052)))
        amp, q, grain = rng.randint(40, 60), 92, 1
    if rng.random() < 0.35:
        w, h = h, w  # portrait
    img = _scene(rng, w, h, shapes=rng.randint(4, 20))
    d = ImageDraw.Draw(img)
    if rng.random() < 0.5:
        d.text((w // 20, h - h // 10), f"IMG_{rng.randint(20240101, 20251231)}_{rng.randint(0, 235959):06d}",
               fill=(255, 255, 255), font=_font(max(10, w // 40)))
    img = ImageChops.add(img, _noise(rng, w, h, amp, grain), 1.0, -amp // 2)
    buf = io.BytesIO()
    kwargs: dict = {"quality": q}
    if tier != "tiny" and rng.random() < 0.6:
        exif = Image.Exif()
        exif[0x010F] = rng.choice(("HUAWEI", "Xiaomi", "Apple", "OPPO", "vivo"))
        exif[0x0110] = rng.choice(("ELS-AN00", "M2012K11AC", "iPhone 13", "PFDM00", "V2055A"))
        exif[0x0132] = f"2025:{rng.randint(1, 6):02d}:{rng.randint(1, 28):02d} {rng.randint(9, 18):02d}:{rng.randint(0, 59):02d}:00"
        kwargs["exif"] = exif.tobytes()
    img.save(buf, "JPEG", **kwargs)
    return Made(buf.getvalue(), "jpg", {"width": w, "height": h})


def screenshot_png(rng: random.Random, tiny: bool = False) -> Made:
    """A phone or desktop screenshot: flat colours, text-like bars, sometimes a photo inset."""
    if tiny:
        w, h = 40, 72
    else:
        w, h = rng.choice(((750, 1334), (1080, 2340), (828, 1792), (1920, 1080), (1440, 900)))
    bg = rng.choice(((237, 237, 237), (255, 255, 255), (245, 246, 247)))
    img = Image.new("RGB", (w, h), bg)
    d = ImageDraw.Draw(img)
    bar = max(4, h // 18)
    d.rectangle((0, 0, w, bar), fill=rng.choice(((40, 120, 230), (30, 30, 30), (250, 250, 250))))
    y = h if tiny else bar + 10
    font = _font(max(8, w // 36))
    while y < h - bar:
        bubble_w = rng.randint(w // 5, w * 3 // 4)
        lines = rng.randint(1, 4)
        bh = lines * (w // 22 + 6) + 12
        mine = rng.random() < 0.5
        x0 = w - bubble_w - 20 if mine else 20
        d.rounded_rectangle((x0, y, x0 + bubble_w, y + bh), radius=10,
                            fill=(149, 236, 105) if mine else (255, 255, 255))
        for i in range(lines):
            ly = y + 8 + i * (w // 22 + 6)
            d.rectangle((x0 + 10, ly, x0 + 10 + rng.randint(bubble_w // 3, bubble_w - 20), ly + w // 30),
                        fill=(90, 90, 90))
        if not tiny and rng.random() < 0.08:
            d.text((x0 + 12, y + 6), f"#{rng.randint(1000, 9999)} OK", fill=(0, 0, 0), font=font)
        y += bh + 20
        if not tiny and rng.random() < 0.06 and y + h // 4 < h:
            inset = _scene(rng, w // 2, h // 5, shapes=3)
            inset = ImageChops.add(inset, _noise(rng, w // 2, h // 5, 20, 1), 1.0, -10)
            img.paste(inset, (w // 4, y))
            y += h // 5 + 20
    buf = io.BytesIO()
    img.save(buf, "PNG", compress_level=6)
    return Made(buf.getvalue(), "png", {"width": w, "height": h})


def sticker_gif(rng: random.Random, tiny: bool = False) -> Made:
    """An animated sticker (emotion type 1)."""
    size = 24 if tiny else rng.choice((120, 160, 200, 240))
    frames = []
    n = 2 if tiny else rng.randint(4, 12)
    face = (rng.randint(200, 255), rng.randint(160, 230), rng.randint(0, 90))
    bg = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
    for i in range(n):
        img = Image.new("RGB", (size, size), bg)
        d = ImageDraw.Draw(img)
        off = int(size * 0.08 * math.sin(2 * math.pi * i / n))
        d.ellipse((size * 0.15, size * 0.15 + off, size * 0.85, size * 0.85 + off), fill=face, outline=(60, 40, 0), width=2)
        ey = size * 0.4 + off
        d.ellipse((size * 0.33, ey, size * 0.41, ey + size * 0.08), fill=(30, 30, 30))
        d.ellipse((size * 0.59, ey, size * 0.67, ey + size * 0.08), fill=(30, 30, 30))
        d.arc((size * 0.32, size * 0.45 + off, size * 0.68, size * 0.72 + off), 20, 160, fill=(120, 0, 0), width=3)
        frames.append(img.quantize(colors=32, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE))
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=rng.choice((80, 100, 120)), loop=0)
    return Made(buf.getvalue(), "gif", {"width": size, "height": size})


def sticker_png(rng: random.Random, tiny: bool = False) -> Made:
    """A static sticker with transparency (emotion type 2)."""
    size = 24 if tiny else rng.choice((128, 180, 240, 300))
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    color = (rng.randrange(256), rng.randrange(256), rng.randrange(256), 255)
    d.ellipse((4, 4, size - 4, size - 4), fill=color)
    d.text((size // 4, size // 3), rng.choice(("OK", "GO!", "666", "+1", "Hi")), fill=(255, 255, 255, 255),
           font=_font(max(8, size // 4)))
    if not tiny:
        n = Image.frombytes("L", (size, size), rng.randbytes(size * size)).point([v // 16 for v in range(256)])
        r, g, b, a = img.split()
        img = Image.merge("RGBA", (ImageChops.add(r, n), g, ImageChops.add(b, n), a))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return Made(buf.getvalue(), "png", {"width": size, "height": size})


# ---------------------------------------------------------------------------------------------
# AMR-NB voice

# mode -> (frame bytes including the 1-byte header, number of speech bits)
AMR_MODES = {0: (13, 95), 7: (32, 244)}


def amr_voice(rng: random.Random, seconds: int) -> Made:
    """RFC 4867 storage format: "#!AMR\\n" then 50 frames per second of one real mode.

    The payload bits are random, so it decodes to noise, but every frame is well formed (header
    byte with FT/Q set, payload of the mode's size, padding bits zero).
    """
    mode = 0 if rng.random() < 0.85 else 7
    flen, bits = AMR_MODES[mode]
    header = bytes([(mode << 3) | 0x04])
    pad_mask = (0xFF << (8 * (flen - 1) - bits)) & 0xFF
    nframes = seconds * 50
    payload = rng.randbytes(nframes * (flen - 1))
    out = bytearray(b"#!AMR\n")
    step = flen - 1
    for i in range(nframes):
        chunk = bytearray(payload[i * step:(i + 1) * step])
        chunk[-1] &= pad_mask
        out += header
        out += chunk
    return Made(bytes(out), "amr", {"play_length": seconds, "mode": mode})


# ---------------------------------------------------------------------------------------------
# MP4: ISO-BMFF with one Motion-JPEG video track (esds objectTypeIndication 0x6C, ISO 10918-1)


def _box(typ: bytes, *parts: bytes) -> bytes:
    body = b"".join(parts)
    return struct.pack(">I", 8 + len(body)) + typ + body


def _full(typ: bytes, version: int, flags: int, *parts: bytes) -> bytes:
    return _box(typ, struct.pack(">I", (version << 24) | flags), *parts)


def _descr(tag: int, body: bytes) -> bytes:
    n = len(body)
    size = bytes([0x80 | ((n >> 21) & 0x7F), 0x80 | ((n >> 14) & 0x7F), 0x80 | ((n >> 7) & 0x7F), n & 0x7F])
    return bytes([tag]) + size + body


_MATRIX = struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)
_MAC_EPOCH_OFFSET = 2082844800  # seconds from 1904-01-01 to 1970-01-01


def mp4_from_jpegs(frames: list[bytes], width: int, height: int, fps: int, created_unix: int) -> bytes:
    timescale = 1000
    delta = timescale // fps
    duration = delta * len(frames)
    t = created_unix + _MAC_EPOCH_OFFSET
    ftyp = _box(b"ftyp", b"mp42", struct.pack(">I", 0), b"mp42", b"isom", b"mp41")
    mvhd = _full(b"mvhd", 0, 0, struct.pack(">IIII", t, t, timescale, duration), struct.pack(">IH", 0x00010000, 0x0100),
                 b"\0" * 10, _MATRIX, b"\0" * 24, struct.pack(">I", 2))
    tkhd = _full(b"tkhd", 0, 3, struct.pack(">IIIII", t, t, 1, 0, duration), b"\0" * 8,
                 struct.pack(">hhhH", 0, 0, 0, 0), _MATRIX, struct.pack(">II", width << 16, height << 16))
    mdhd = _full(b"mdhd", 0, 0, struct.pack(">IIII", t, t, timescale, duration), struct.pack(">HH", 0x55C4, 0))
    hdlr = _full(b"hdlr", 0, 0, b"\0" * 4, b"vide", b"\0" * 12, b"VideoHandler\0")
    vmhd = _full(b"vmhd", 0, 1, b"\0" * 8)
    dinf = _box(b"dinf", _full(b"dref", 0, 0, struct.pack(">I", 1), _full(b"url ", 0, 1)))
    max_size = max(len(f) for f in frames)
    total = sum(len(f) for f in frames)
    bitrate = total * 8 * timescale // max(1, duration)
    dec_cfg = _descr(0x04, bytes([0x6C, 0x11]) + max_size.to_bytes(3, "big") + struct.pack(">II", bitrate, bitrate))
    esds = _full(b"esds", 0, 0, _descr(0x03, struct.pack(">HB", 1, 0) + dec_cfg + _descr(0x06, b"\x02")))
    compressor = b"\x0cMotion JPEG".ljust(32, b"\0")
    mp4v = _box(b"mp4v", b"\0" * 6, struct.pack(">H", 1), b"\0" * 16, struct.pack(">HH", width, height),
                struct.pack(">II", 0x00480000, 0x00480000), b"\0" * 4, struct.pack(">H", 1), compressor,
                struct.pack(">Hh", 0x0018, -1), esds)
    stsd = _full(b"stsd", 0, 0, struct.pack(">I", 1), mp4v)
    stts = _full(b"stts", 0, 0, struct.pack(">III", 1, len(frames), delta))
    stsc = _full(b"stsc", 0, 0, struct.pack(">IIII", 1, 1, len(frames), 1))
    stsz = _full(b"stsz", 0, 0, struct.pack(">II", 0, len(frames)), b"".join(struct.pack(">I", len(f)) for f in frames))

    def moov_with(offset: int) -> bytes:
        stco = _full(b"stco", 0, 0, struct.pack(">II", 1, offset))
        stbl = _box(b"stbl", stsd, stts, stsc, stsz, stco)
        minf = _box(b"minf", vmhd, dinf, stbl)
        mdia = _box(b"mdia", mdhd, hdlr, minf)
        trak = _box(b"trak", tkhd, mdia)
        return _box(b"moov", mvhd, trak)

    moov_len = len(moov_with(0))
    moov = moov_with(len(ftyp) + moov_len + 8)  # frames start right after the mdat header
    mdat = struct.pack(">I", 8 + total) + b"mdat"
    return b"".join((ftyp, moov, mdat, *frames))


def video_mp4(rng: random.Random, tier: str | None = None) -> Made:
    """A short clip: a scene with a moving shape, 2-3 frames per second. The "large" tier adds whole
    seconds of sharper frames until the file passes 5.5 MB."""
    min_bytes = 0
    if tier == "tiny":
        w, h, fps, seconds, amp, q = 32, 24, 1, 1, 4, 70
    elif tier == "large":
        w, h, fps, seconds, amp, q = 640, 360, 4, 600, 30, 88
        min_bytes = 5_500_000 + rng.randint(0, 800_000)
    else:
        w, h = rng.choice(((480, 270), (640, 360), (360, 640), (320, 240)))
        fps = rng.choice((2, 2, 3))
        seconds = rng.choice((2, 3, 5, 6, 8, 10, 12, 15, 20, 30, 45, 60))
        amp, q = rng.randint(2, 8), rng.choice((45, 55, 65))
    base = _scene(rng, w, h, shapes=6)
    base = ImageChops.add(base, _noise(rng, w, h, amp, 1), 1.0, -amp // 2)
    frames: list[bytes] = []
    total = 0
    r = max(4, min(w, h) // 8)
    color = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
    for i in range(fps * seconds):
        img = base.copy()
        d = ImageDraw.Draw(img)
        x = int((w - 2 * r) * (0.5 + 0.5 * math.sin(i / 7.0)))
        y = int((h - 2 * r) * (0.5 + 0.5 * math.cos(i / 11.0)))
        d.ellipse((x, y, x + 2 * r, y + 2 * r), fill=color)
        d.text((8, 8), f"{i // fps // 60:02d}:{i // fps % 60:02d}", fill=(255, 255, 255))
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=q)
        frames.append(buf.getvalue())
        total += len(frames[-1])
        if min_bytes and total >= min_bytes and len(frames) % fps == 0:
            break
    seconds = len(frames) // fps
    data = mp4_from_jpegs(frames, w, h, fps, rng.randint(1704038400, 1751241600))
    return Made(data, "mp4", {"play_length": seconds, "width": w, "height": h})


# ---------------------------------------------------------------------------------------------
# PDF


class _Pdf:
    """A minimal PDF 1.4 writer: objects, a classic xref table, trailer, %%EOF."""

    def __init__(self) -> None:
        self.objs: list[bytes] = []

    def add(self, body: bytes) -> int:
        self.objs.append(body)
        return len(self.objs)

    def reserve(self) -> int:
        self.objs.append(b"")
        return len(self.objs)

    def set(self, num: int, body: bytes) -> None:
        self.objs[num - 1] = body

    def stream(self, data: bytes, extra: bytes = b"", compress: bool = True) -> int:
        if compress:
            data = zlib.compress(data, 6)
            extra += b" /Filter /FlateDecode"
        return self.add(b"<< /Length %d%s >>\nstream\n" % (len(data), extra) + data + b"\nendstream")

    def build(self, root: int, info: int) -> bytes:
        out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        offsets = []
        for i, body in enumerate(self.objs, 1):
            offsets.append(len(out))
            out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
        xref = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(self.objs) + 1)
        for off in offsets:
            out += b"%010d 00000 n \n" % off
        out += b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
            len(self.objs) + 1, root, info, xref)
        return bytes(out)


def _pdf_text(s: str) -> bytes:
    """A hex string for the UniGB-UCS2-H CMap (UCS-2 big endian; characters beyond the BMP
    cannot be shown with it and become '?')."""
    return b"<" + "".join(f"{ord(ch):04X}" if ord(ch) < 0x10000 else "003F" for ch in s).encode() + b">"


def _pdf_info_text(s: str) -> bytes:
    return b"<FEFF" + s.encode("utf-16-be").hex().upper().encode() + b">"


def _doc_lines(rng: random.Random, n: int) -> list[str]:
    company = rng.choice(COMPANIES)
    lines = [f"{rng.choice(('采购合同', '报价单', '产品说明书', '验收报告', '服务协议', '会议纪要'))}",
             f"甲方：{company}", f"乙方：{OUR_CORP}", f"地址：{address(rng)[0]}",
             f"统一社会信用代码：{tax_id(rng)}"]
    while len(lines) < n:
        r = rng.random()
        if r < 0.5:
            lines.append(rng.choice(LONG_TEXT_PARTS))
        else:
            name, model, lo, hi, _ = rng.choice(PRODUCTS)
            qty = rng.randint(1, 50)
            price = rng.randrange(lo, hi + 1, 10)
            lines.append(f"{name} {model}  数量 {qty}  单价 {price} 元  金额 {qty * price} 元")
    return lines


def _wrap(s: str, width: int) -> list[str]:
    return [s[i:i + width] for i in range(0, len(s), width)] or [""]


def pdf_document(rng: random.Random, pages: int | None = None, scans: int = 0, min_bytes: int = 0) -> Made:
    """A text PDF (Chinese via the standard STSong-Light CID font) and optionally scanned pages
    (embedded DCT images), which is how the large PDFs get large."""
    if pages is None:
        pages = rng.choice((1, 1, 2, 3, 4, 6, 10, 24))
    pdf = _Pdf()
    catalog = pdf.reserve()
    pages_obj = pdf.reserve()
    font = pdf.add(b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H "
                   b"/DescendantFonts [ << /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light "
                   b"/CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 4 >> "
                   b"/FontDescriptor << /Type /FontDescriptor /FontName /STSong-Light /Flags 6 "
                   b"/FontBBox [-25 -254 1000 880] /ItalicAngle 0 /Ascent 880 /Descent -120 "
                   b"/CapHeight 880 /StemV 93 >> /DW 1000 >> ] >>")
    helv = pdf.add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    kids = []
    lines = _doc_lines(rng, 30)
    for p in range(pages):
        ops = [b"BT /F1 16 Tf 72 780 Td ", _pdf_text(lines[0]), b" Tj ET\n"]
        y = 740
        for line in rng.sample(lines, min(len(lines), 22)):
            for part in _wrap(line, 38):
                if y < 72:
                    break
                ops += [b"BT /F1 11 Tf 60 %d Td " % y, _pdf_text(part), b" Tj ET\n"]
                y -= 16
        ops.append(b"BT /F2 9 Tf 280 40 Td (Page %d) Tj ET\n" % (p + 1))
        content = pdf.stream(b"".join(ops))
        kids.append(pdf.add(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Contents %d 0 R "
                            b"/Resources << /Font << /F1 %d 0 R /F2 %d 0 R >> >> >>" % (pages_obj, content, font, helv)))
    scanned = 0
    while scanned < scans or sum(map(len, pdf.objs)) < min_bytes:
        scanned += 1
        w, h = 1240, 1754  # A4 at 150 dpi
        img = Image.new("L", (w, h), 235)
        d = ImageDraw.Draw(img)
        for y in range(160, h - 160, 46):
            d.rectangle((120, y, 120 + rng.randint(400, w - 240), y + 18), fill=rng.randint(40, 90))
        d.ellipse((w - 420, h - 460, w - 140, h - 180), outline=(170,), width=12)  # the company seal
        n = Image.frombytes("L", (w, h), rng.randbytes(w * h)).point([v * 70 // 255 for v in range(256)])
        img = ImageChops.add(img, n, 1.0, -35)
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=92)
        jpg = buf.getvalue()
        xobj = pdf.add(b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
                       b"/BitsPerComponent 8 /Filter /DCTDecode /Length %d >>\nstream\n" % (w, h, len(jpg))
                       + jpg + b"\nendstream")
        content = pdf.stream(b"q 595 0 0 842 0 0 cm /Im1 Do Q\n")
        kids.append(pdf.add(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Contents %d 0 R "
                            b"/Resources << /XObject << /Im1 %d 0 R >> >> >>" % (pages_obj, content, xobj)))
    pdf.set(pages_obj, b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids), len(kids)))
    pdf.set(catalog, b"<< /Type /Catalog /Pages %d 0 R >>" % pages_obj)
    info = pdf.add(b"<< /Title " + _pdf_info_text(lines[0]) + b" /Producer (WeCom Archive Auditor corpus generator)"
                   b" /CreationDate (D:20250101090000+08'00') >>")
    return Made(pdf.build(catalog, info), "pdf", {"pages": len(kids)})


# ---------------------------------------------------------------------------------------------
# OOXML


def _zip(members: list[tuple[str, str | bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members:
            info = zipfile.ZipInfo(name, FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, data.encode("utf-8") if isinstance(data, str) else data)
    return buf.getvalue()


_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_OFFICE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _core_props(title: str, creator: str) -> str:
    return (_XML + '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            f"<dc:title>{escape(title)}</dc:title><dc:creator>{escape(creator)}</dc:creator>"
            '<dcterms:created xsi:type="dcterms:W3CDTF">2025-01-01T09:00:00Z</dcterms:created>'
            "</cp:coreProperties>")


def docx_document(rng: random.Random, paragraphs: int | None = None) -> Made:
    """A WordprocessingML document: title, paragraphs and a price table, in Chinese."""
    lines = _doc_lines(rng, paragraphs or rng.randint(8, 60))
    body = []
    body.append('<w:p><w:pPr><w:jc w:val="center"/></w:pPr><w:r><w:rPr><w:b/><w:sz w:val="36"/></w:rPr>'
                f'<w:t>{escape(lines[0])}</w:t></w:r></w:p>')
    for line in lines[1:]:
        body.append(f'<w:p><w:r><w:t xml:space="preserve">{escape(line)}</w:t></w:r></w:p>')
    rows = []
    for name, model, lo, hi, _ in rng.sample(PRODUCTS, 4):
        cells = (name, model, str(rng.randint(1, 30)), str(rng.randrange(lo, hi + 1, 10)))
        rows.append("<w:tr>" + "".join(f"<w:tc><w:p><w:r><w:t>{escape(c)}</w:t></w:r></w:p></w:tc>" for c in cells) + "</w:tr>")
    body.append('<w:tbl><w:tblPr><w:tblStyle w:val="TableGrid"/><w:tblW w:w="0" w:type="auto"/></w:tblPr>'
                + "".join(rows) + "</w:tbl>")
    body.append(f'<w:p><w:r><w:t xml:space="preserve">{escape(OUR_CORP)}（盖章）  地址：{escape(OUR_ADDRESS)}</w:t></w:r></w:p>')
    document = (_XML + '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
                f'xmlns:r="{_OFFICE_REL}"><w:body>' + "".join(body)
                + '<w:sectPr><w:pgSz w:w="11906" w:h="16838"/><w:pgMar w:top="1440" w:right="1800" w:bottom="1440" '
                'w:left="1800" w:header="851" w:footer="992" w:gutter="0"/></w:sectPr></w:body></w:document>')
    content_types = (_XML + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                     '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                     '<Default Extension="xml" ContentType="application/xml"/>'
                     '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
                     '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
                     "</Types>")
    rels = (_XML + f'<Relationships xmlns="{_RELS_NS}">'
            f'<Relationship Id="rId1" Type="{_OFFICE_REL}/officeDocument" Target="word/document.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>'
            "</Relationships>")
    doc_rels = _XML + f'<Relationships xmlns="{_RELS_NS}"></Relationships>'
    data = _zip([("[Content_Types].xml", content_types), ("_rels/.rels", rels),
                 ("word/document.xml", document), ("word/_rels/document.xml.rels", doc_rels),
                 ("docProps/core.xml", _core_props(lines[0], OUR_CORP))])
    return Made(data, "docx", {"paragraphs": len(lines)})


def _col(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def xlsx_workbook(rng: random.Random, rows: int | None = None) -> Made:
    """A SpreadsheetML workbook (inline strings, no shared-strings part): a quote or a report."""
    rows = rows or rng.randint(5, 120)
    header = ["序号", "产品名称", "型号", "数量", "单价(元)", "金额(元)", "备注"]
    table: list[list[object]] = [header]
    for i in range(rows):
        name, model, lo, hi, _ = rng.choice(PRODUCTS)
        qty, price = rng.randint(1, 50), rng.randrange(lo, hi + 1, 10)
        table.append([i + 1, name, model, qty, price, qty * price, rng.choice(("", "含安装", "含税", "现货", "预计下周到货"))])
    xml_rows = []
    for r, row in enumerate(table, 1):
        cells = []
        for c, v in enumerate(row):
            ref = f"{_col(c)}{r}"
            if isinstance(v, str):
                cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{escape(v)}</t></is></c>')
            else:
                cells.append(f'<c r="{ref}"><v>{v}</v></c>')
        xml_rows.append(f'<row r="{r}">' + "".join(cells) + "</row>")
    sheet = (_XML + '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
             "<sheetData>" + "".join(xml_rows) + "</sheetData></worksheet>")
    workbook = (_XML + '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                f'xmlns:r="{_OFFICE_REL}"><sheets><sheet name="{rng.choice(("报价单", "Sheet1", "销售明细"))}" sheetId="1" r:id="rId1"/>'
                "</sheets></workbook>")
    content_types = (_XML + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                     '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                     '<Default Extension="xml" ContentType="application/xml"/>'
                     '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
                     '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                     "</Types>")
    rels = (_XML + f'<Relationships xmlns="{_RELS_NS}">'
            f'<Relationship Id="rId1" Type="{_OFFICE_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
    wb_rels = (_XML + f'<Relationships xmlns="{_RELS_NS}">'
               f'<Relationship Id="rId1" Type="{_OFFICE_REL}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
    data = _zip([("[Content_Types].xml", content_types), ("_rels/.rels", rels), ("xl/workbook.xml", workbook),
                 ("xl/_rels/workbook.xml.rels", wb_rels), ("xl/worksheets/sheet1.xml", sheet)])
    return Made(data, "xlsx", {"rows": rows})


# ---------------------------------------------------------------------------------------------
# plain files


def text_file(rng: random.Random, tiny: bool = False) -> Made:
    """Invoice details or notes; GBK-encoded a third of the time, as Windows Notepad used to save."""
    company = rng.choice(COMPANIES)
    text = (f"单位名称：{company}\r\n纳税人识别号：{tax_id(rng)}\r\n地址、电话：{address(rng)[0]} 021-{rng.randint(50000000, 69999999)}\r\n"
            f"开户行及账号：{rng.choice(('招商银行', '工商银行', '建设银行'))} {rng.randrange(10**15, 10**16)}\r\n")
    if not tiny:
        text += "\r\n".join(rng.sample(LONG_TEXT_PARTS, rng.randint(0, 4)))
    r = rng.random()
    if r < 0.33:
        data = text.replace("𠮷", "吉").encode("gbk")
    elif r < 0.5:
        data = b"\xef\xbb\xbf" + text.encode("utf-8")
    else:
        data = text.encode("utf-8")
    return Made(data, "txt", {})


def misc_binary(rng: random.Random, tiny: bool = False) -> Made:
    """Some proprietary binary (a backup, an export): random bytes behind a small header."""
    n = 64 if tiny else rng.randint(8_000, 200_000)
    return Made(b"XHBK\x00\x01\x00\x00" + rng.randbytes(n), "dat", {})


def nul_firmware(rng: random.Random, tiny: bool = False) -> Made:
    """A firmware image that is almost all NUL bytes (> 1.5 MB): binary-safety of every layer."""
    size = 256 if tiny else 2 * 1024 * 1024 + rng.randint(0, 4096)
    data = bytearray(size)
    data[:16] = b"XHFW\x02\x01\x00\x00" + rng.randbytes(8)
    if not tiny:
        for _ in range(8):
            at = rng.randrange(64, size - 512)
            data[at:at + 256] = rng.randbytes(256)
    return Made(bytes(data), "bin", {})


# ---------------------------------------------------------------------------------------------
# the kinds a message can ask for


def make(kind: str, rng: random.Random, tiny: bool = False) -> Made:
    """Make one file of a kind. ``tiny`` makes the smallest valid file of that kind."""
    if kind == "jpg":
        return photo_jpeg(rng, "tiny" if tiny else None)
    if kind == "png":
        return screenshot_png(rng, tiny)
    if kind == "gif":
        return sticker_gif(rng, tiny)
    if kind == "sticker_png":
        return sticker_png(rng, tiny)
    if kind == "amr":
        return amr_voice(rng, 1 if tiny else min(60, max(1, int(rng.expovariate(1 / 9)) + 1)))
    if kind == "amr_long":
        return amr_voice(rng, 2 if tiny else rng.randint(60, 900))
    if kind == "mp4":
        return video_mp4(rng, "tiny" if tiny else None)
    if kind == "mp4_big":
        return video_mp4(rng, "tiny" if tiny else "large")
    if kind == "pdf":
        return pdf_document(rng, 1 if tiny else None)
    if kind == "pdf_big":
        return pdf_document(rng, 1) if tiny else pdf_document(rng, 2, min_bytes=5_400_000 + rng.randint(0, 600_000))
    if kind == "docx":
        return docx_document(rng, 3 if tiny else None)
    if kind == "xlsx":
        return xlsx_workbook(rng, 2 if tiny else None)
    if kind == "txt":
        return text_file(rng, tiny)
    if kind == "dat":
        return misc_binary(rng, tiny)
    if kind == "nul_bin":
        return nul_firmware(rng, tiny)
    raise ValueError(f"unknown media kind {kind!r}")


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()
