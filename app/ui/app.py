"""Starting the desktop application: QApplication, translations, the main window."""

from __future__ import annotations

import os
import sys

from PySide6.QtCore import QLibraryInfo, QLocale, QTranslator
from PySide6.QtWidgets import QApplication

from app.core.context import AppContext

from .resources import translation_file


def ui_language(setting: str) -> str:
    """"zh_CN" or "en": the setting, or the system locale when it says "system"."""
    if setting in ("zh_CN", "en"):
        return setting
    return "zh_CN" if QLocale.system().language() == QLocale.Language.Chinese else "en"


def install_translators(app: QApplication, language: str) -> list[QTranslator]:
    """Load our .qm and Qt's own (standard dialogs) for ``language``; keep the returned objects alive."""
    translators = []
    ours = QTranslator(app)
    if ours.load(str(translation_file(language))):
        app.installTranslator(ours)
        translators.append(ours)
    qt = QTranslator(app)
    if qt.load(QLocale(language), "qtbase", "_", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
        app.installTranslator(qt)
        translators.append(qt)
    return translators


def _no_display() -> bool:
    return (sys.platform.startswith("linux") and not os.environ.get("QT_QPA_PLATFORM")
            and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"))


def run_gui(data_dir: str | None = None, db_url: str | None = None) -> int:
    if _no_display():
        print("wecom-auditor: there is no display to open the window on (no DISPLAY or WAYLAND_DISPLAY). "
              "Use the commands instead (wecom-auditor --help), or run it under xvfb-run.", file=sys.stderr)
        return 2
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("WeCom Archive Auditor")
    app.setOrganizationName("wecom-auditor")
    ctx = AppContext(data_dir, db_url)
    language = ui_language(ctx.settings.language)
    app.setProperty("ui_language", language)
    translators = install_translators(app, language)  # must outlive app.exec()
    from .main_window import MainWindow

    window = MainWindow(ctx)
    window.show()
    try:
        return app.exec()
    finally:
        for t in translators:
            app.removeTranslator(t)
        ctx.close()
