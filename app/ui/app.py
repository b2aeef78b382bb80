"""Starting the desktop application: QApplication, translations, who is logging in, the main window.

The start-up flow (app/ui/auth/startup.py): the first administrator on an archive without accounts,
"open without login" where this workstation asked for it and the archive has a single account, else
the login dialog. "Log out" closes the main window and asks again; quitting any dialog quits."""

from __future__ import annotations

import gc
import logging
import os
import sys

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, Qt, QTimer, QTranslator
from PySide6.QtWidgets import QApplication, QMessageBox

from app.core.actor import Actor
from app.core.auth import AuditTrailError
from app.core.context import AppContext
from app.core.errors import DatabaseError
from app.ui.language import error_sentence

from .resources import translation_file

log = logging.getLogger(__name__)


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
        log.info("user interface in %s (%s)", language, translation_file(language))
    elif language != "en":
        log.warning("the %s translation %s could not be loaded", language, translation_file(language))
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
    from .platform_check import check_xcb

    problem = check_xcb()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    _prefer_utf8_locale()
    app = QApplication.instance() or QApplication(sys.argv)
    from .interrupt import quit_on_sigint

    sigint_timer = quit_on_sigint(app)  # noqa: F841 — lives as long as the window
    add_shipped_fonts()
    from . import temp_copies

    temp_copies.remove_stale()  # decrypted copies "Open" left when a run crashed or was killed
    app.setApplicationName("WeCom Archive Auditor")
    app.setOrganizationName("wecom-auditor")
    ctx = AppContext(data_dir, db_url)
    language = ui_language(ctx.settings.language)
    app.setProperty("ui_language", language)
    translators = install_translators(app, language)  # must outlive app.exec()
    try:
        return run_windows(app, ctx)
    finally:
        temp_copies.remove_own()  # this run's decrypted copies: not left in the temp folder
        for t in translators:
            app.removeTranslator(t)
        ctx.close()


def _prefer_utf8_locale() -> None:
    """Under the C/POSIX locale (no LANG, as on a minimal system or in a service) Qt switches to
    C.UTF-8 itself and prints four lines about it on stderr; the same switch made here first is
    silent. LC_ALL, when set, is the user's explicit choice and is left alone."""
    if not sys.platform.startswith("linux") or os.environ.get("LC_ALL"):
        return
    if (os.environ.get("LC_CTYPE") or os.environ.get("LANG") or "C") in ("C", "POSIX"):
        os.environ["LC_CTYPE"] = "C.UTF-8"


def add_shipped_fonts() -> None:
    """Offer the app's own Noto Sans SC (resources/fonts, shipped for the PDFs) to Qt: the window has
    Chinese glyphs whatever fonts are installed — and glyphs at all: Qt crashes laying out text on
    a computer without any font. Installed fonts keep their place; this one fills in."""
    from PySide6.QtGui import QFontDatabase

    from app.core.resources import resource_dir

    path = resource_dir() / "fonts" / "NotoSansSC-Regular.ttf"
    if path.is_file() and QFontDatabase.addApplicationFont(str(path)) < 0:
        log.warning("the shipped font %s could not be loaded", path)
    _add_emoji_font(resource_dir() / "fonts" / "NotoEmoji-Regular.ttf")


# Colour emoji fonts of the desktops: where one is installed it draws the emoji, not the shipped one.
SYSTEM_EMOJI_FAMILIES = ("Noto Color Emoji", "Apple Color Emoji", "Segoe UI Emoji", "Twemoji", "JoyPixels",
                         "EmojiOne Color")


def _add_emoji_font(path) -> None:
    """Offer the shipped Noto Emoji (resources/fonts, also the PDFs') for emoji: on a Linux desktop
    without an emoji font they showed as empty boxes (DejaVu Sans, the usual fallback, has a glyph for
    few of them). Registered as the application's emoji font only where no colour emoji font is
    installed (the desktop's own then draws them)."""
    from PySide6.QtGui import QFontDatabase

    if not path.is_file():
        log.warning("the shipped emoji font %s is missing: emoji may show as empty boxes", path)
        return
    font_id = QFontDatabase.addApplicationFont(str(path))
    families = QFontDatabase.applicationFontFamilies(font_id) if font_id >= 0 else []
    if not families:
        log.warning("the shipped emoji font %s could not be loaded", path)
        return
    installed = set(QFontDatabase.families())
    if not any(f in installed for f in SYSTEM_EMOJI_FAMILIES):
        QFontDatabase.addApplicationEmojiFontFamily(families[0])


FREEZE_AFTER_MS = 3000


def freeze_startup_objects() -> None:
    """Leave what exists once the window is up (modules, Qt wrappers, the archive's services: it
    lives as long as the process) out of the garbage collector's full collections. A full
    collection walks every tracked object, and with all of that in it took 125–150 ms on the GUI
    thread: a visible stall while scrolling (bench_viewer's longest stall)."""
    gc.collect()
    gc.freeze()


def run_windows(app: QApplication, ctx: AppContext, sign_in=None) -> int:
    """Sign in, then run the main window until the user quits; "Log out" signs in again. Returns
    the exit status (1 if the archive cannot be opened). ``sign_in`` is injectable for tests."""
    from .auth import account_service
    from .auth import sign_in as default_sign_in
    from .main_window import MainWindow

    sign_in = sign_in or default_sign_in
    title = QCoreApplication.translate("StartUp", "WeCom Archive Auditor")
    _clean_interrupted_exports(ctx)
    try:
        accounts = account_service(ctx)
        actor: Actor | None = sign_in(ctx, accounts=accounts)
    except DatabaseError as exc:
        _fatal(title, QCoreApplication.translate("StartUp", "The archive cannot be opened: %1").replace(
            "%1", error_sentence(exc)))
        return 1
    status = 0
    reopened = False
    while actor is not None:
        window = MainWindow(ctx, actor)
        window.show()
        # Once the window has drawn and read its first pages (the collection takes ~0.1 s, not
        # before the first paint).
        QTimer.singleShot(FREEZE_AFTER_MS, freeze_startup_objects)
        window.queue_runner.start()  # media retries and scheduled syncs while the window is open
        if reopened:
            window.account_changed()
        status = app.exec()
        gc.unfreeze()  # the next window (after a logout) freezes what it starts with
        logout, next_actor = window.logout_requested, window.next_actor
        window.deleteLater()
        reopened = next_actor is not None
        if reopened:  # the account's own roles or scope changed: the same login with its new rights
            actor = next_actor
            continue
        if actor.is_authenticated:
            try:
                accounts.logout(actor)
            except (AuditTrailError, DatabaseError) as exc:
                log.warning("the logout of %s could not be recorded: %s", actor.username, exc)
        if not logout:
            break
        try:
            actor = sign_in(ctx, accounts=accounts, allow_no_login=False)
        except DatabaseError as exc:
            _fatal(title, error_sentence(exc))
            return 1
    return status


def _clean_interrupted_exports(ctx: AppContext) -> None:
    """What an export killed last time left (a private staging folder, a package never recorded) is
    removed and the interruption recorded; a problem here never stops the window from opening."""
    from app.core.export import clean_interrupted_exports

    try:
        for note in clean_interrupted_exports(ctx):
            log.warning("%s", note)
    except Exception as exc:
        log.warning("leftovers of interrupted exports could not be cleaned up: %s", exc)


def _fatal(title: str, message: str) -> None:
    box = QMessageBox(QMessageBox.Icon.Critical, title, message, QMessageBox.StandardButton.Close)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.exec()
