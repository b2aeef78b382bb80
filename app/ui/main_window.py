"""The window compliance officers live in: sessions | messages | search, with sync and settings."""

from __future__ import annotations

import logging
import threading

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStackedWidget,
)

from app.core.actor import Actor
from app.core.context import AppContext
from app.core.export import Selection
from app.core.search import QueryError

from .export_dialog import ExportDialog
from .search import SearchPanel
from .search.panel import FormError
from .sessions import SessionPanel
from .sessions.model import SessionRole
from .settings import SettingsDialog
from .sync import SyncController, SyncHistoryDialog, SyncProgressPanel
from .tasks import run_task, wait_for_tasks
from .viewer import MessageViewer
from .welcome import WelcomeWidget, prepare_demo

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    def __init__(self, ctx: AppContext, actor: Actor | None = None, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.actor = actor or Actor.local()
        self.setWindowTitle(self.tr("WeCom Archive Auditor"))
        self._closing = threading.Event()  # tells background work to stop early at close
        self._window_state = QSettings(str(ctx.paths.config_dir / "window.ini"), QSettings.Format.IniFormat)

        self.sessions = SessionPanel(ctx, self.actor, self)
        self.viewer = MessageViewer(ctx, self.actor, self)
        self.search = SearchPanel(ctx, self.actor, self)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        for w in (self.sessions, self.viewer, self.search):
            self.splitter.addWidget(w)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 5)
        self.splitter.setStretchFactor(2, 3)
        self.splitter.setSizes([380, 660, 460])
        self.welcome = WelcomeWidget(self)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(self.splitter)
        self.setCentralWidget(self.stack)

        self.sync = SyncController(ctx, self)
        self.progress = SyncProgressPanel(self)
        self.statusBar().addPermanentWidget(self.progress)
        self._archive_label = QLabel(self)
        self.statusBar().addWidget(self._archive_label)
        # Batches commit several times a second during a sync: refresh the tree at most every 2 s.
        self._refresh_timer = QTimer(self, singleShot=True, interval=2000)
        self._refresh_timer.timeout.connect(self.sessions.refresh)

        self._make_actions()
        self._connect()
        self._restore_state()
        self._show_archive_or_welcome()

    # ------------------------------------------------------------------ set-up
    def _make_actions(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu(self.tr("&File"))
        self.settings_action = QAction(self.tr("&Settings…"), self, shortcut=QKeySequence.StandardKey.Preferences)
        self.quit_action = QAction(self.tr("&Quit"), self, shortcut=QKeySequence.StandardKey.Quit)
        self.export_session_action = QAction(self.tr("&Export evidence…"), self, shortcut=QKeySequence("Ctrl+E"))
        self.export_search_action = QAction(self.tr("Export search &results…"), self)
        self.export_selected_action = QAction(self.tr("Export &selected messages…"), self)
        for a in (self.export_session_action, self.export_search_action, self.export_selected_action):
            file_menu.addAction(a)
        file_menu.addSeparator()
        file_menu.addAction(self.settings_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)

        sync_menu = bar.addMenu(self.tr("S&ync"))
        self.sync_action = QAction(self.tr("&Sync now"), self, shortcut=QKeySequence("Ctrl+R"))
        self.cancel_sync_action = QAction(self.tr("&Cancel sync"), self, enabled=False)
        self.history_action = QAction(self.tr("Sync &history…"), self)
        for a in (self.sync_action, self.cancel_sync_action, self.history_action):
            sync_menu.addAction(a)

        view_menu = bar.addMenu(self.tr("&View"))
        self.find_action = QAction(self.tr("&Search messages"), self, shortcut=QKeySequence.StandardKey.Find)
        self.copy_action = QAction(self.tr("&Copy selected messages"), self, shortcut=QKeySequence.StandardKey.Copy)
        self.jump_action = QAction(self.tr("&Jump to date…"), self, shortcut=QKeySequence("Ctrl+G"))
        for a in (self.find_action, self.copy_action, self.jump_action):
            view_menu.addAction(a)
            self.addAction(a)

        help_menu = bar.addMenu(self.tr("&Help"))
        self.about_action = QAction(self.tr("&About"), self)
        help_menu.addAction(self.about_action)

    def _connect(self) -> None:
        self.settings_action.triggered.connect(self.open_settings)
        self.quit_action.triggered.connect(self.close)
        self.sync_action.triggered.connect(self.start_sync)
        self.cancel_sync_action.triggered.connect(self.sync.cancel)
        self.history_action.triggered.connect(lambda: SyncHistoryDialog(self.ctx, self.actor, self).exec())
        self.find_action.triggered.connect(self.search.focus_search)
        self.copy_action.triggered.connect(self.viewer.copy_selection)
        self.jump_action.triggered.connect(self.viewer.ask_jump_to_date)
        self.about_action.triggered.connect(self._about)
        self.export_session_action.triggered.connect(self.export_current_session)
        self.export_search_action.triggered.connect(self.export_search_results)
        self.export_selected_action.triggered.connect(self.export_selected_messages)
        # The results list has no menu of its own: its right-click menu is this one action.
        self.search.results.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.search.results.addAction(self.export_search_action)
        self.sessions.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.sessions.tree.addAction(self.export_session_action)
        self.viewer.export_requested.connect(self.export_selected_messages)

        self.sessions.session_selected.connect(self.viewer.show_session)
        self.search.result_activated.connect(self._open_search_result)
        self.welcome.demo_requested.connect(self.open_demo)
        self.welcome.configure_requested.connect(self.open_settings)

        self.progress.attach(self.sync)  # progress, outcome, summary, and the failure message box
        self.sync.batch_committed.connect(self._on_batch_committed)
        self.sync.sync_finished.connect(self._on_sync_finished)
        self.sync.sync_failed.connect(self._sync_ended)

    # ------------------------------------------------------------------ state
    def _show_archive_or_welcome(self) -> None:
        has_corp = bool(self.ctx.settings.corps)
        self.stack.setCurrentWidget(self.splitter if has_corp else self.welcome)
        self.sync_action.setEnabled(has_corp)
        self._archive_label.setText(self.tr("Archive: %1").replace("%1", self.ctx.db.display_url) if has_corp else "")
        if has_corp:
            self.sessions.refresh()
            self._catch_up_search_index()

    def _catch_up_search_index(self) -> None:
        """Bring the search index up to date in the background (the first time on an archive this
        indexes every message, ~50 s per million), so that no search has to wait for it."""
        closing = self._closing

        def done(count):
            if count:
                self.statusBar().showMessage(self.tr("Search index updated: %1 messages").replace("%1", str(count)),
                                             10000)

        def failed(exc):  # another process is at it, or the index is unusable: searches still work
            log.warning("background search-index catch-up failed: %s", exc)

        run_task(self, lambda: self.ctx.search.catch_up(cancel=closing.is_set), done, failed)

    def _restore_state(self) -> None:
        geometry = self._window_state.value("geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        else:
            self.resize(1400, 860)
        splitter = self._window_state.value("splitter")
        if isinstance(splitter, QByteArray):
            self.splitter.restoreState(splitter)

    def closeEvent(self, event) -> None:
        self._window_state.setValue("geometry", self.saveGeometry())
        self._window_state.setValue("splitter", self.splitter.saveState())
        self._window_state.sync()
        self._closing.set()
        self.sync.shutdown()
        for dialog in self.findChildren(ExportDialog):
            dialog.shutdown()
        wait_for_tasks()
        super().closeEvent(event)

    # ------------------------------------------------------------------ actions
    def open_settings(self) -> None:
        dialog = SettingsDialog(self.ctx, self)
        if dialog.exec():
            self._show_archive_or_welcome()

    def open_demo(self) -> None:
        self.welcome.setEnabled(False)
        self.statusBar().showMessage(self.tr("Preparing the demo archive…"))

        def done(corp):
            self.welcome.setEnabled(True)
            self._show_archive_or_welcome()
            self.sync.start(corp)
            self._sync_started()

        def failed(exc):
            self.welcome.setEnabled(True)
            QMessageBox.warning(self, self.tr("Demo archive"), str(exc))

        run_task(self, lambda: prepare_demo(self.ctx), done, failed)

    def start_sync(self) -> None:
        if self.sync.is_running() or not self.ctx.settings.corps:
            return
        for corp in self.ctx.settings.corps[:1]:
            self.sync.start(corp)
        self._sync_started()

    def _sync_started(self) -> None:
        self.sync_action.setEnabled(False)
        self.cancel_sync_action.setEnabled(True)

    def _sync_ended(self, *_failure) -> None:
        self.sync_action.setEnabled(True)
        self.cancel_sync_action.setEnabled(False)
        self._refresh_timer.stop()
        self.sessions.refresh()

    def _on_batch_committed(self) -> None:
        if not self._refresh_timer.isActive():
            self._refresh_timer.start()

    def _on_sync_finished(self, report) -> None:
        self._sync_ended()
        outcome = {"succeeded": self.tr("finished"), "cancelled": self.tr("cancelled"),
                   "failed": self.tr("failed")}.get(report.outcome, report.outcome)
        self.statusBar().showMessage(
            self.tr("Sync %1: %2 new messages, %3 quarantined, %4 media files stored")
            .replace("%1", outcome).replace("%2", str(report.stored))
            .replace("%3", str(report.quarantined)).replace("%4", str(report.media_stored)), 15000)

    def _open_search_result(self, corp_id: int, session_id: str, message_id: int) -> None:
        self.sessions.select_session(corp_id, session_id)
        self.viewer.show_message(corp_id, session_id, message_id)

    # ------------------------------------------------------------------ export
    def _open_export(self, selection: Selection, description: str) -> ExportDialog:
        dialog = ExportDialog(self.ctx, self.actor, selection, description, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def export_current_session(self) -> ExportDialog | None:
        """The export dialog for the session chosen in the tree (None, with a note, if there is none)."""
        current = self.sessions.current_session()
        if current is None:
            self.statusBar().showMessage(self.tr("Choose a session to export."), 8000)
            return None
        corp_id, session_id = current
        title = self.sessions.tree.currentIndex().data(SessionRole.TitleRole) or session_id
        return self._open_export(Selection(session_ids=(session_id,), corp_id=corp_id),
                                 self.tr("Session %1").replace("%1", title))

    def export_search_results(self) -> ExportDialog | None:
        """The export dialog for the hits of the search panel's query (None, with a note, if it is not valid)."""
        try:
            request = self.search.request()
        except (FormError, QueryError) as exc:
            self.statusBar().showMessage(self.tr("Nothing to export: %1").replace("%1", str(exc)), 8000)
            return None
        return self._open_export(Selection(query=request.text, corp_id=request.corp_id),
                                 self.tr("Search: %1").replace("%1", request.text))

    def export_selected_messages(self) -> ExportDialog | None:
        """The export dialog for the messages selected in the viewer (None, with a note, if there are none)."""
        view, model = self.viewer.view, self.viewer.model
        rows = sorted({ix.row() for ix in view.selectionModel().selectedIndexes()})
        if not rows and view.currentIndex().isValid():
            rows = [view.currentIndex().row()]
        if not rows:
            self.statusBar().showMessage(self.tr("Select the messages to export first."), 8000)
            return None
        msgids = tuple(model.message_at(r).msgid for r in rows)
        return self._open_export(Selection(msgids=msgids, corp_id=self.viewer.corp_id),
                                 self.tr("%1 selected messages").replace("%1", str(len(msgids))))

    def _about(self) -> None:
        box = QMessageBox(self)
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setWindowTitle(self.tr("About"))
        box.setText(self.tr("WeCom Archive Auditor\nArchive and review WeCom chats for compliance."))
        box.exec()
