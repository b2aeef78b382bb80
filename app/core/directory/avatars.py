"""Avatars: fetched from WeCom's image servers with the directory, kept as small PNGs.

WeCom's API gives picture URLs (``https://wework.qpic.cn/...`` for staff, ``http://wx.qlogo.cn/...``
for WeChat users). They are data from the network, so: only those image hosts are asked (https,
an http URL is upgraded; no other host, no redirect), an answer is read up to a size cap, it must be
a JPEG, PNG, GIF or WebP image of sane dimensions, and what is kept is a 96-pixel PNG drawn from it —
never the bytes as received. The window draws these, or initials in a stable colour without one.
"""

from __future__ import annotations

import hashlib
import io
from urllib.parse import urlsplit, urlunsplit

AVATAR_HOSTS = ("qpic.cn", "qlogo.cn")  # WeCom's and WeChat's image servers (and their subdomains)
MAX_AVATAR_BYTES = 2 * 2**20
AVATAR_PX = 96
_MAX_PIXELS = 40_000_000


def avatar_fetch_url(url: str | None) -> str | None:
    """The https URL to fetch for an avatar URL WeCom gave, or None if it is not one of WeCom's
    image servers (or not a URL at all)."""
    if not url or len(url) > 2048:
        return None
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or parts.username or parts.password or port not in (None, 80, 443):
        return None
    if not any(host == h or host.endswith("." + h) for h in AVATAR_HOSTS):
        return None
    return urlunsplit(("https", host, parts.path or "/", parts.query, ""))


def _is_image(data: bytes) -> bool:
    return (data.startswith(b"\xff\xd8\xff") or data.startswith(b"\x89PNG\r\n\x1a\n")
            or data[:6] in (b"GIF87a", b"GIF89a") or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"))


def normalise_avatar(data: bytes) -> tuple[bytes, str, int, int] | None:
    """(PNG bytes, their SHA-256, width, height) of a small copy of the picture in ``data``, or None
    when ``data`` is not a picture the app accepts (type, size, dimensions, or it does not decode)."""
    if not data or len(data) > MAX_AVATAR_BYTES or not _is_image(data):
        return None
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.width * im.height > _MAX_PIXELS or not im.width or not im.height:
                return None
            im.draft("RGB", (AVATAR_PX * 2, AVATAR_PX * 2))
            im.thumbnail((AVATAR_PX, AVATAR_PX))
            out = im.convert("RGBA" if im.mode in ("RGBA", "LA", "P") else "RGB")
        buf = io.BytesIO()
        out.save(buf, "PNG", optimize=True)
    except Exception:  # a broken or hostile image is simply not kept (initials are shown)
        return None
    png = buf.getvalue()
    return png, hashlib.sha256(png).hexdigest(), out.width, out.height


__all__ = ["AVATAR_PX", "MAX_AVATAR_BYTES", "avatar_fetch_url", "normalise_avatar"]
