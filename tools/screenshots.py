"""Screenshots of the main window with the demo archive, in Chinese and English (docs/*.png).

    QT_QPA_PLATFORM=offscreen python tools/screenshots.py [--data-dir DIR]

Without --data-dir it generates and syncs a demo archive in a temporary folder first.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parents[1]


def _pick_session(ctx, actor):
    """A busy group session: it shows the most kinds of messages."""
    groups = ctx.archive.sessions(actor, session_type="group", limit=50)
    return max(groups, key=lambda s: s.message_count)


def shoot(data_dir: Path, out_dir: Path) -> list[Path]:
    from app.core.actor import Actor
    from app.core.context import AppContext
    from app.ui.app import install_translators
    from app.ui.main_window import MainWindow

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before the QApplication exists
    app = QApplication.instance() or QApplication([])
    written = []
    for lang in ("zh_CN", "en"):
        translators = install_translators(app, lang) if lang != "en" else []
        app.setProperty("ui_language", lang)
        ctx = AppContext(data_dir)
        actor = Actor.local()
        window = MainWindow(ctx, actor)
        window.resize(1500, 900)
        window.show()
        session = _pick_session(ctx, actor)
        window.sessions.select_session(session.corp_id, session.session_id, emit=True)
        window.search.query_edit.setText("合同" if lang == "zh_CN" else "PDF")
        window.search.search()
        for _ in range(60):  # let background loads (thumbnails, search) land
            QCoreApplication.processEvents()
            app.thread().msleep(50)
        path = out_dir / f"main-window-{lang}.png"
        window.grab().save(str(path))
        written.append(path)
        window.close()
        ctx.close()
        for t in translators:
            app.removeTranslator(t)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.data_dir:
        paths = shoot(args.data_dir, args.out)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            from app.core.context import AppContext

            ctx = AppContext(tmp)
            corp, _ = ctx.setup_demo()
            ctx.make_syncer(corp).run()
            ctx.close()
            paths = shoot(Path(tmp), args.out)
    for p in paths:
        print(p)


if __name__ == "__main__":
    main()
