"""The window says clearly that an empty file is not an archive (and leaves it empty) instead of
opening a fresh archive over it."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def test_the_window_refuses_an_empty_archive_file_with_a_clear_message(qapp, tmp_path, monkeypatch):
    from app.core.context import AppContext
    from app.ui import app as ui_app

    data = tmp_path / "data"
    data.mkdir()
    (data / "archive.db").write_bytes(b"")
    shown = []
    monkeypatch.setattr(ui_app, "_fatal", lambda title, message: shown.append(message))
    ctx = AppContext(data)
    try:
        status = ui_app.run_windows(qapp, ctx, sign_in=lambda *a, **k: None)
    finally:
        ctx.close()
    assert status == 1
    assert len(shown) == 1 and "is an empty file (0 bytes), not an archive" in shown[0]
    assert (data / "archive.db").stat().st_size == 0


def test_a_chinese_window_says_it_in_chinese(qapp, tmp_path, monkeypatch, chinese_window):
    from app.core.context import AppContext
    from app.ui import app as ui_app

    data = tmp_path / "data"
    data.mkdir()
    (data / "archive.db").write_bytes(b"not a database at all")
    shown = []
    monkeypatch.setattr(ui_app, "_fatal", lambda title, message: shown.append(message))
    ctx = AppContext(data)
    try:
        assert ui_app.run_windows(qapp, ctx, sign_in=lambda *a, **k: None) == 1
    finally:
        ctx.close()
    assert len(shown) == 1 and "不是存档（不是 SQLite 数据库），已保持原样" in shown[0], shown
    assert "not an archive" not in shown[0]
