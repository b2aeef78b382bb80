"""Avatars and per-person colours for the window: the picture the directory downloaded, or the
person's initials on a colour of their own — the same colour for the same id everywhere (session
tree, bubbles), stable across runs (from a hash of the id, not from Python's ``hash``).

Pictures are PNGs the directory made itself (app/core/directory/avatars.py); they are read from
the database on a worker thread (``Directory.avatar``) and only looked up here
(``Directory.peek_avatar``), so painting never waits for the database.
"""

from __future__ import annotations

import hashlib

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QImage, QPainter, QPainterPath, QPalette, QPixmap
from PySide6.QtWidgets import QApplication

# Hues far enough apart to tell senders of one group apart; lightness set per palette (dark/light).
_HUES = (0, 28, 48, 95, 140, 172, 200, 222, 262, 292, 322, 345)
_CACHE: dict[tuple, QPixmap] = {}
_MAX_CACHE = 2000


def _digest(userid: str) -> bytes:
    return hashlib.sha256(userid.encode("utf-8", "surrogatepass")).digest()


def _dark_palette() -> bool:
    app = QApplication.instance()
    return app is not None and app.palette().color(QPalette.ColorRole.Base).lightness() < 128


def person_color(userid: str) -> QColor:
    """The colour of ``userid`` (avatar background, sender name in a group): stable, readable on the
    palette's base colour."""
    d = _digest(userid)
    hue = _HUES[d[0] % len(_HUES)]
    return QColor.fromHsl(hue, 150 + d[1] % 60, 170 if _dark_palette() else 95)


def initials(name: str, userid: str) -> str:
    """What stands in for a picture: a Chinese name's surname (its first character), else the first
    letters of up to two words (upper-cased), else the id's first character."""
    text = (name or userid or "?").strip()
    letters = [c for c in text if c.isalnum()]
    if not letters:
        return "?"
    if ord(letters[0]) >= 0x2E80:  # CJK and friends: one character says it
        return letters[0]
    words = [w for w in text.replace("_", " ").replace(".", " ").split() if w[:1].isalnum()]
    if len(words) >= 2:
        return (words[0][0] + words[1][0]).upper()
    return "".join(letters[:2]).upper() if letters[0].isalpha() else letters[0]


def avatar_pixmap(picture: bytes | None, name: str, userid: str, size: int, dpr: float = 1.0) -> QPixmap:
    """A round ``size``×``size`` (logical pixels) picture: ``picture`` (PNG bytes) when it decodes,
    else the initials of ``name`` on ``userid``'s colour. Cached."""
    key = (hashlib.sha256(picture).hexdigest() if picture else None, name, userid, size, dpr, _dark_palette())
    found = _CACHE.get(key)
    if found is not None:
        return found
    px = QPixmap(int(size * dpr), int(size * dpr))
    px.setDevicePixelRatio(dpr)
    px.fill(Qt.GlobalColor.transparent)
    painter = QPainter(px)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    clip = QPainterPath()
    clip.addEllipse(QRectF(0, 0, size, size))
    painter.setClipPath(clip)
    image = QImage.fromData(picture, "PNG") if picture else QImage()
    if not image.isNull():
        painter.drawImage(QRectF(0, 0, size, size), image)
    else:
        painter.fillRect(QRectF(0, 0, size, size), person_color(userid))
        font = QFont(QApplication.font())
        font.setPixelSize(max(6, int(size * (0.5 if len(initials(name, userid)) == 1 else 0.4))))
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(QColor("white"))
        painter.drawText(QRectF(0, 0, size, size), Qt.AlignmentFlag.AlignCenter, initials(name, userid))
    painter.end()
    if len(_CACHE) > _MAX_CACHE:
        _CACHE.clear()
    _CACHE[key] = px
    return px


def avatar_icon(picture: bytes | None, name: str, userid: str, size: int = 20) -> QIcon:
    app = QApplication.instance()
    dpr = app.devicePixelRatio() if app is not None else 1.0
    return QIcon(avatar_pixmap(picture, name, userid, size, dpr))


__all__ = ["avatar_icon", "avatar_pixmap", "initials", "person_color"]
