"""The window's language (English or Simplified Chinese, chosen at start-up: app/ui/app.py sets the
application property ``ui_language``), and sentences of the core said in it.

The window's own words go through Qt's translator (``self.tr``). Some core errors are written in
both languages where they are raised (``message_en``/``message_zh``: a refused review action, a
failed sync, WeCom's answer); :func:`error_sentence` shows such an error in the window's language.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication


def ui_is_chinese() -> bool:
    """Whether the window runs in Chinese."""
    app = QCoreApplication.instance()
    return app is not None and app.property("ui_language") == "zh_CN"


def pick(en: str, zh: str) -> str:
    """``zh`` in a Chinese window, ``en`` otherwise."""
    return zh if ui_is_chinese() else en


def as_sentence(text: str) -> str:
    """``text`` (a core's reason, in either language) as a sentence: a capital first letter and a full
    stop, a Chinese one after Chinese."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    if text.endswith((".", "!", "?", "。", "！", "？")):
        return text
    return text + ("。" if "\u4e00" <= text[-1] <= "\u9fff" or text[-1] in "）”" else ".")


def error_sentence(exc: BaseException) -> str:
    """The sentence of ``exc`` in the window's language: its ``message_zh`` in a Chinese window when
    it has one, else its text (English, or whatever the library said)."""
    zh = getattr(exc, "message_zh", None)
    if isinstance(zh, str) and zh and ui_is_chinese():
        return zh
    en = getattr(exc, "message_en", None)
    return en if isinstance(en, str) and en else str(exc)
