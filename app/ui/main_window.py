"""The window compliance officers live in: sessions | messages | search, with sync and settings."""

from __future__ import annotations

import contextlib
import logging
import threading
from datetime import datetime

from PySide6.QtCore import QByteArray, QCoreApplication, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QWidget,
)

from app.core.actor import Actor
from app.core.auth import (
    ACCOUNTS_MANAGE,
    AUDIT_READ,
    EXPORT_CREATE,
    EXPORT_VERIFY,
    MESSAGES_READ,
    SEARCH_RUN,
    SETTINGS_CHANGE,
    SYNC_RUN,
    AccountDisabledError,
    can,
)
from app.core.context import AppContext
from app.core.export import Selection
from app.core.safe_text import display_name
from app.core.search import QueryError
from app.ui.search.syntax import mistake_text

from .archive_text import archive_text
from .auth import (
    AccountsDialog,
    AuditPanel,
    ChangePasswordDialog,
    ContentNotice,
    account_service,
    audit_trail,
)
from .auth.services import error_text, no_login_requested, no_login_supported, roles_text, set_no_login
from .counts import count_text
from .export_dialog import ExportDialog
from .panels import Navigator, registered_panels
from .queue import QueueDialog, QueueRunner
from .review import attach_review, review_settings_action
from .search import SearchPanel
from .search.panel import FormError
from .sessions import SessionPanel
from .sessions.model import SessionRole
from .settings import SettingsDialog
from .shortcuts import WindowShortcutsFirst
from .sync import SyncController, SyncHistoryDialog, SyncProgressPanel
from .tasks import run_task, wait_for_tasks
from .viewer import MessageViewer
from .viewer.find import FIND_KEY, NEXT_KEY, PREVIOUS_KEY
from .welcome import WelcomeWidget, prepare_demo

log = logging.getLogger(__name__)


def _local_time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M")


class MainWindow(QMainWindow):
    def __init__(self, ctx: AppContext, actor: Actor, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.actor = actor  # the signed-in account: every panel and dialog acts as it
        # The panels of message content exist only for an actor who may read it (for the others they
        # would only collect refusals from the core): sessions, viewer and search are None otherwise.
        self.reads_content = can(self.actor, MESSAGES_READ)
        self.logout_requested = False  # run_gui shows the login dialog again when the window closes
        self.next_actor: Actor | None = None  # run_gui reopens the window with it (roles changed)
        self.setWindowTitle(self.tr("WeCom Archive Auditor"))
        self._closing = threading.Event()  # tells background work to stop early at close
        self._window_state = QSettings(str(ctx.paths.config_dir / "window.ini"), QSettings.Format.IniFormat)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.sessions: SessionPanel | None = None
        self.viewer: MessageViewer | None = None
        self.search: SearchPanel | None = None
        if self.reads_content:
            self.sessions = SessionPanel(ctx, self.actor, self)
            self.viewer = MessageViewer(ctx, self.actor, self)
            self.search = SearchPanel(ctx, self.actor, self)
            for w in (self.sessions, self.viewer, self.search):
                self.splitter.addWidget(w)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 5)
        self.splitter.setStretchFactor(2, 3)
        self.splitter.setSizes([430, 610, 460])  # the sessions' names need the room
        self.welcome = WelcomeWidget(self)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(self.splitter)
        self.setCentralWidget(self.stack)

        self.sync = SyncController(ctx, self.actor, self)
        self.queue_runner = QueueRunner(ctx, self)  # background jobs while the window is open: start()
        self.progress = SyncProgressPanel(self)
        self.statusBar().addPermanentWidget(self.progress)
        # The status bar's left part is for messages ("Sync finished: …"); which archive is open is in
        # the window title, where nothing draws over it.
        self._who_label = QLabel(self)
        self._who_label.setTextFormat(Qt.TextFormat.PlainText)
        self.statusBar().addPermanentWidget(self._who_label)
        # Batches commit several times a second during a sync: refresh the tree at most every 2 s.
        self._refresh_timer = QTimer(self, singleShot=True, interval=2000)
        self._refresh_timer.timeout.connect(self._refresh_sessions)

        self._sync_queue: list = []  # corps waiting to be synced after the current one (Sync now: all)
        self._sync_cancelled = False
        self.navigator = Navigator(self)  # what the docked panels ask of the window
        self.panels: dict[str, QWidget] = {}  # the docked panels made for this actor, by key

        self._make_actions()
        self._make_panels()
        self._shortcuts_first = WindowShortcutsFirst(self)  # Ctrl+E in the search box exports (X11 keys)
        self._connect()
        self._apply_permissions()
        self.review = attach_review(self)  # the review's marks, menus, notes and alert count (app/ui/review)
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
        self.verify_package_action = QAction(self.tr("&Verify evidence package…"), self)
        for a in (self.export_session_action, self.export_search_action, self.export_selected_action,
                  self.verify_package_action):
            file_menu.addAction(a)
        self.print_action = QAction(self.tr("&Print conversation…"), self, shortcut=QKeySequence.StandardKey.Print)
        file_menu.addAction(self.print_action)  # the PDF transcript, through the Print conversation panel
        file_menu.addSeparator()
        file_menu.addAction(self.settings_action)
        self.review_settings_action = review_settings_action(self)  # administrators: tags, policies, sampling
        file_menu.addAction(self.review_settings_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)

        sync_menu = bar.addMenu(self.tr("S&ync"))
        self.sync_action = QAction(self.tr("&Sync now"), self, shortcut=QKeySequence("Ctrl+R"))
        self.sync_action.setToolTip(self.tr("Sync every configured corp, one after the other"))
        self.sync_one_menu = QMenu(self.tr("Sync &one corp"), self)  # filled when it opens, with last syncs
        self.sync_one_menu.aboutToShow.connect(self._fill_sync_one_menu)
        self.cancel_sync_action = QAction(self.tr("&Cancel sync"), self, enabled=False)
        self.history_action = QAction(self.tr("Sync &history…"), self)
        self.jobs_action = QAction(self.tr("Background &jobs…"), self)
        sync_menu.addAction(self.sync_action)
        sync_menu.addMenu(self.sync_one_menu)
        for a in (self.cancel_sync_action, self.history_action, self.jobs_action):
            sync_menu.addAction(a)

        view_menu = self.view_menu = bar.addMenu(self.tr("&View"))
        self.find_action = QAction(self.tr("&Search messages"), self, shortcut=QKeySequence.StandardKey.Find)
        self.copy_action = QAction(self.tr("&Copy selected messages"), self, shortcut=QKeySequence.StandardKey.Copy)
        self.jump_action = QAction(self.tr("&Jump to date…"), self, shortcut=QKeySequence("Ctrl+G"))
        self.find_here_action = QAction(self.tr("&Find in this conversation…"), self, shortcut=FIND_KEY)
        self.next_hit_action = QAction(self.tr("&Next hit"), self, shortcut=NEXT_KEY)
        self.previous_hit_action = QAction(self.tr("&Previous hit"), self, shortcut=PREVIOUS_KEY)
        for a in (self.find_action, self.copy_action, self.jump_action, self.find_here_action,
                  self.next_hit_action, self.previous_hit_action):
            view_menu.addAction(a)
            self.addAction(a)

        account_menu = bar.addMenu(self.tr("&Account"))
        self.change_password_action = QAction(self.tr("Change &password…"), self)
        self.accounts_action = QAction(self.tr("&Accounts…"), self)
        self.audit_action = QAction(self.tr("Audit &log…"), self)
        self.no_login_action = QAction(self.tr("Open &without login on this workstation"), self, checkable=True)
        self.logout_action = QAction(self.tr("Log &out"), self)
        for a in (self.change_password_action, self.accounts_action, self.audit_action, self.no_login_action):
            account_menu.addAction(a)
        account_menu.addSeparator()
        account_menu.addAction(self.logout_action)
        account_menu.aboutToShow.connect(self._update_no_login_action)

        help_menu = bar.addMenu(self.tr("&Help"))
        self.about_action = QAction(self.tr("&About"), self)
        help_menu.addAction(self.about_action)

    def _make_panels(self) -> None:
        """A dock for each registered panel the actor may use (app/ui/panel_list.py), hidden until
        chosen in the View menu; where the user leaves it is remembered."""
        specs = [spec for spec in registered_panels() if can(self.actor, spec.permission)]
        if specs:
            self.view_menu.addSeparator()
        for spec in specs:
            panel = spec.create(self.ctx, self.actor, self.navigator, self)
            dock = QDockWidget(QCoreApplication.translate("Panels", spec.title), self)
            dock.setObjectName(f"panel-{spec.key}")
            dock.setWidget(panel)
            self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
            dock.hide()
            toggle = dock.toggleViewAction()
            if spec.shortcut:
                toggle.setShortcut(QKeySequence(spec.shortcut))
            self.view_menu.addAction(toggle)
            self.addAction(toggle)
            self.panels[spec.key] = panel

    def _connect(self) -> None:
        self.settings_action.triggered.connect(self.open_settings)
        self.quit_action.triggered.connect(self.close)
        self.sync_action.triggered.connect(lambda: self.start_sync())  # (not the "checked" argument)
        self.cancel_sync_action.triggered.connect(self._cancel_sync)
        self.history_action.triggered.connect(lambda: SyncHistoryDialog(self.ctx, self.actor, self).exec())
        self.jobs_action.triggered.connect(lambda: QueueDialog(self.ctx, self.actor, self,
                                                               queue=self.queue_runner.queue).exec())
        self.about_action.triggered.connect(self._about)
        self.change_password_action.triggered.connect(self.change_password)
        self.accounts_action.triggered.connect(self.open_accounts)
        self.audit_action.triggered.connect(self.open_audit_log)
        self.no_login_action.triggered.connect(self._set_no_login)
        self.logout_action.triggered.connect(self.log_out)
        if self.reads_content:
            self._connect_content()
        self.welcome.demo_requested.connect(self.open_demo)
        self.welcome.configure_requested.connect(self.open_settings)

        self.progress.attach(self.sync)  # progress, outcome, summary, and the failure message box
        self.sync.batch_committed.connect(self._on_batch_committed)
        self.sync.sync_finished.connect(self._on_sync_finished)
        self.sync.sync_failed.connect(self._sync_ended)

    def _connect_content(self) -> None:
        self.find_action.triggered.connect(self.search.focus_search)
        self.copy_action.triggered.connect(self.viewer.copy_selection)
        self.jump_action.triggered.connect(self.viewer.ask_jump_to_date)
        self.find_here_action.triggered.connect(self.viewer.find_in_conversation)
        self.next_hit_action.triggered.connect(self.viewer.next_hit)
        self.previous_hit_action.triggered.connect(self.viewer.previous_hit)
        self.export_session_action.triggered.connect(self.export_current_session)
        self.print_action.triggered.connect(self.print_current_session)
        self.export_search_action.triggered.connect(self.export_search_results)
        self.export_selected_action.triggered.connect(self.export_selected_messages)
        self.verify_package_action.triggered.connect(self.verify_package)
        # The results list has no menu of its own: its right-click menu is this one action.
        self.search.results.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.search.results.addAction(self.export_search_action)
        self.sessions.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.sessions.tree.addAction(self.export_session_action)
        self.viewer.export_requested.connect(self.export_selected_messages)

        self.sessions.session_selected.connect(self.viewer.show_session)
        self.viewer.model.session_opened.connect(  # the panels that follow the open conversation
            lambda s: self.navigator.session_shown.emit(s.corp_id, s.session_id) if s is not None else None)
        self.search.result_activated.connect(self._open_search_hit)
        self.navigator.open_message.connect(self._open_search_result)
        self.navigator.open_session.connect(self._open_session)
        # a panel changed what the panes show (the directory's names and pictures): they reload too
        self.navigator.archive_changed.connect(self._refresh_sessions)

    # ------------------------------------------------------------------ state
    def _show_archive_or_welcome(self) -> None:
        has_corp = bool(self.ctx.settings.corps)
        self.stack.setCurrentWidget(self.welcome if not has_corp else self.splitter if self.reads_content
                                    else self.no_content)
        self.sync_action.setEnabled(has_corp)
        self.sync_one_menu.menuAction().setVisible(len(self.ctx.settings.corps) > 1 and can(self.actor, SYNC_RUN))
        where = archive_text(self.ctx.db) if has_corp else ""
        self.setWindowTitle(self.tr("WeCom Archive Auditor") + (f" — {where}" if where else ""))
        if has_corp:
            self._refresh_sessions()
            if can(self.actor, SEARCH_RUN):
                self._catch_up_search_index()

    def _catch_up_search_index(self) -> None:
        """Bring the search index up to date in the background (the first time on an archive this
        indexes every message, ~50 s per million), so that no search has to wait for it."""
        closing = self._closing

        def done(count):
            if count:
                self.statusBar().showMessage(count_text(count, self.tr("Search index updated: 1 message"),
                                                        self.tr("Search index updated: %1 messages")), 10000)

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
        docks = self._window_state.value("docks")
        if isinstance(docks, QByteArray) and self.panels:
            self.restoreState(docks)

    def closeEvent(self, event) -> None:
        self._window_state.setValue("geometry", self.saveGeometry())
        if self.reads_content:  # an empty splitter's state would spoil the next reviewer's layout
            self._window_state.setValue("splitter", self.splitter.saveState())
        if self.panels:
            self._window_state.setValue("docks", self.saveState())
        self._window_state.sync()
        self._closing.set()
        self.sync.shutdown()
        self.queue_runner.shutdown()
        for dialog in self.findChildren(ExportDialog):
            dialog.shutdown()
        for panel in self.panels.values():
            if hasattr(panel, "shutdown"):
                panel.shutdown()
        wait_for_tasks()
        super().closeEvent(event)

    # ------------------------------------------------------------------ actions
    def open_settings(self) -> None:
        if not can(self.actor, SETTINGS_CHANGE):
            return
        dialog = SettingsDialog(self.ctx, self.actor, self)
        if dialog.exec():
            self._show_archive_or_welcome()

    def open_demo(self) -> None:
        if not (can(self.actor, SETTINGS_CHANGE) and can(self.actor, SYNC_RUN)):
            return
        self.welcome.setEnabled(False)
        self.welcome.show_busy(self.tr("Preparing the demo archive… (about ten seconds the first time)"))

        def done(corp):
            self.welcome.setEnabled(True)
            self.welcome.show_busy("")
            self._show_archive_or_welcome()
            self.sync.start(corp)
            self._sync_started()

        def failed(exc):
            self.welcome.setEnabled(True)
            self.welcome.show_busy("")
            QMessageBox.warning(self, self.tr("Demo archive"), str(exc))

        run_task(self, lambda: prepare_demo(self.ctx, self.actor), done, failed)

    def start_sync(self, corps=None) -> bool:
        """Sync ``corps`` (default: every configured corp) one after the other; False if a sync is
        running or there is nothing to sync."""
        corps = list(self.ctx.settings.corps if corps is None else corps)
        if self.sync.is_running() or not corps or not can(self.actor, SYNC_RUN):
            return False
        self._sync_queue = corps[1:]
        self.sync.start(corps[0])
        self._sync_started()
        return True

    def _cancel_sync(self) -> None:
        self._sync_cancelled = True  # the corps still waiting are not synced either
        self.sync.cancel()

    def _next_corp(self) -> bool:
        """After one corp's sync: start the next waiting one (unless the user cancelled)."""
        if self._sync_queue and not self._sync_cancelled:
            corp = self._sync_queue.pop(0)
            if self.sync.start(corp):
                return True
        self._sync_queue = []
        return False

    def _fill_sync_one_menu(self) -> None:
        """One entry per corp, with when it last synced (read from the sync history off the GUI thread)."""
        menu, corps = self.sync_one_menu, list(self.ctx.settings.corps)
        menu.clear()
        actions = {}
        for corp in corps:
            label = display_name(f"{corp.name} ({corp.corpid})" if corp.name else corp.corpid)
            action = menu.addAction(label)
            action.setEnabled(not self.sync.is_running())
            action.triggered.connect(lambda _=False, c=corp: self.start_sync([c]))
            actions[corp.corpid] = (action, label)
        archive, actor = self.ctx.archive, self.actor

        def last_syncs() -> dict[str, object]:
            ids = {c.id: c.corpid for c in archive.corps(actor)}
            latest: dict[str, object] = {}
            for run in archive.sync_runs(actor, limit=500):  # newest first
                corpid = ids.get(run.corp_id)
                if corpid is not None and corpid not in latest and run.outcome != "running":
                    latest[corpid] = run
            return latest

        def done(latest) -> None:
            for corpid, (action, label) in actions.items():
                run = latest.get(corpid)
                when = (self.tr("last synced %1 (%2)").replace("%1", _local_time(run.ended_at or run.started_at))
                        .replace("%2", self._outcome_text(run.outcome)) if run else self.tr("never synced"))
                with contextlib.suppress(RuntimeError):  # the menu closed and its actions are gone
                    action.setText(f"{label} — {when}")

        run_task(self, last_syncs, done, lambda exc: None)

    def _outcome_text(self, outcome: str) -> str:
        return {"succeeded": self.tr("finished"), "cancelled": self.tr("cancelled"), "failed": self.tr("failed"),
                "interrupted": self.tr("interrupted")}.get(outcome, outcome)

    def _sync_started(self) -> None:
        self._sync_cancelled = False
        self.sync_action.setEnabled(False)
        self.cancel_sync_action.setEnabled(True)

    def _sync_ended(self, *_failure) -> None:
        if self._next_corp():  # several corps: the next one starts now
            self._refresh_sessions()
            self.navigator.archive_changed.emit()
            return
        self.sync_action.setEnabled(True)
        self.cancel_sync_action.setEnabled(False)
        self._refresh_timer.stop()
        self._refresh_sessions()
        if self.reads_content:  # the open conversation: media that arrived, messages that came in
            self.viewer.refresh()
        self.navigator.archive_changed.emit()

    def _on_batch_committed(self) -> None:
        if not self._refresh_timer.isActive():
            self._refresh_timer.start()

    def _on_sync_finished(self, report) -> None:
        if report.outcome == "cancelled":
            self._sync_cancelled = True
        self._sync_ended()
        outcome = self._outcome_text(report.outcome)
        parts = [count_text(report.stored, self.tr("1 new message"), self.tr("%1 new messages")),
                 count_text(report.quarantined, self.tr("1 quarantined"), self.tr("%1 quarantined")),
                 count_text(report.media_stored, self.tr("1 media file stored"), self.tr("%1 media files stored"))]
        if self.progress.isVisible():  # the strip says it, with more: the same line twice has no room
            return
        self.statusBar().showMessage(self.tr("Sync %1: %2").replace("%1", outcome)
                                     .replace("%2", self.tr(", ").join(parts)), 15000)

    def _open_session(self, corp_id: int, session_id: str) -> None:
        if self.reads_content:
            self.sessions.select_session(corp_id, session_id, emit=True)  # the viewer follows the tree

    def _open_search_hit(self, corp_id: int, session_id: str, message_id: int) -> None:
        """A hit of the search panel: its terms marked in the chat, F3 / Shift+F3 to the next ones."""
        request = self.search.model.request
        if request is None:
            self._open_search_result(corp_id, session_id, message_id)
            return
        self.sessions.select_session(corp_id, session_id)
        self.viewer.show_search_hit(corp_id, session_id, message_id, request.text)

    def _open_search_result(self, corp_id: int, session_id: str, message_id: int) -> None:
        self.sessions.select_session(corp_id, session_id)
        self.viewer.show_message(corp_id, session_id, message_id)

    # ------------------------------------------------------------------ export
    def _open_export(self, selection: Selection, description: str) -> ExportDialog | None:
        if not can(self.actor, EXPORT_CREATE):
            return None
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
        title = self.sessions.tree.currentIndex().data(SessionRole.TitleRole) or display_name(session_id)
        return self._open_export(Selection(session_ids=(session_id,), corp_id=corp_id),
                                 self.tr("Session %1").replace("%1", title))

    def print_current_session(self) -> bool:
        """Make and open the PDF transcript of the conversation shown, in the Print conversation panel
        (shown); False, with a note, when no conversation is open or the account may not export."""
        panel = self.panels.get("print")
        corp_id, session_id = self.viewer.model.corp_id, self.viewer.model.session_id
        if panel is None:
            return False
        if not session_id:
            self.statusBar().showMessage(self.tr("Open a conversation to print."), 8000)
            return False
        dock = panel.parentWidget()
        dock.show()
        dock.raise_()
        panel.print_session(corp_id, session_id)
        return True

    def export_search_results(self) -> ExportDialog | None:
        """The export dialog for the hits of the search panel's query (None, with a note, if it is not valid)."""
        try:
            request = self.search.request()
        except (FormError, QueryError) as exc:
            reason = mistake_text(exc) if isinstance(exc, QueryError) else str(exc)
            self.statusBar().showMessage(self.tr("Nothing to export: %1").replace("%1", reason), 8000)
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
                                 count_text(len(msgids), self.tr("1 selected message"),
                                            self.tr("%1 selected messages")))

    # ------------------------------------------------------------------ accounts and permissions
    def verify_package(self):
        """The dialog that checks an evidence package (auditors)."""
        from .verify_dialog import VerifyDialog

        dialog = VerifyDialog(self.ctx, self.actor, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def _apply_permissions(self) -> None:
        """Show only what the actor may do (the core services refuse the rest anyway)."""
        actor = self.actor
        for action, permission in ((self.settings_action, SETTINGS_CHANGE), (self.sync_action, SYNC_RUN),
                                   (self.cancel_sync_action, SYNC_RUN), (self.accounts_action, ACCOUNTS_MANAGE),
                                   (self.audit_action, AUDIT_READ), (self.no_login_action, SETTINGS_CHANGE),
                                   (self.verify_package_action, EXPORT_VERIFY)):
            action.setVisible(can(actor, permission))
        jobs = getattr(self, "jobs_action", None)  # the background-jobs dialog: an administrator's tool
        if jobs is not None:
            jobs.setVisible(can(actor, SYNC_RUN))
        exporting = can(actor, EXPORT_CREATE) and self.reads_content  # exports start from what one reads
        for action in (self.export_session_action, self.export_search_action, self.export_selected_action):
            action.setVisible(exporting)
        self.print_action.setVisible(exporting and "print" in self.panels)
        for action in (self.find_action, self.copy_action, self.jump_action, self.find_here_action,
                       self.next_hit_action, self.previous_hit_action):
            action.setVisible(self.reads_content)
            action.setEnabled(self.reads_content)
        # The View menu holds those and the panels' switches: no empty menu.
        self.view_menu.menuAction().setVisible(self.reads_content or bool(self.panels))
        self.no_login_action.setVisible(self.no_login_action.isVisible() and no_login_supported())
        self.change_password_action.setVisible(actor.is_authenticated)
        self.logout_action.setVisible(actor.is_authenticated)
        self.welcome.set_setup_allowed(can(actor, SETTINGS_CHANGE) and can(actor, SYNC_RUN))
        self.no_content = ContentNotice(actor, [self.sync_action, self.history_action, self.accounts_action,
                                                self.audit_action, self.settings_action], self)
        self.stack.addWidget(self.no_content)
        # The name only: the roles (four of them for an administrator) took the message's room.
        who = self.tr("Logged in: %1") if actor.is_authenticated else self.tr("Acting as: %1")
        self._who_label.setText(who.replace("%1", display_name(actor.username)))
        self._who_label.setToolTip(self.tr("Roles: %1").replace("%1", roles_text(actor.roles)))

    def _refresh_sessions(self) -> None:
        if self.reads_content:
            self.sessions.refresh()

    def _update_no_login_action(self) -> None:
        """The "no login" switch reflects the setting, and is offered only while the archive has a
        single account (read in the background when the menu opens)."""
        self.no_login_action.setChecked(no_login_requested(self.ctx))
        if not self.no_login_action.isVisible():
            return
        accounts = account_service(self.ctx)
        run_task(self, accounts.no_login_allowed, self.no_login_action.setEnabled,
                 lambda exc: self.no_login_action.setEnabled(False))

    def _set_no_login(self, on: bool) -> None:
        try:
            set_no_login(self.ctx, self.actor, on)
        except Exception as exc:  # noqa: BLE001 - any refusal or write error goes to the user as it is
            self.no_login_action.setChecked(not on)
            box = QMessageBox(QMessageBox.Icon.Warning, self.tr("Open without login"), error_text(exc),
                              QMessageBox.StandardButton.Close, self)
            box.setTextFormat(Qt.TextFormat.PlainText)
            box.exec()
            return
        self.statusBar().showMessage(
            self.tr("This workstation opens without login from now on.") if on
            else self.tr("This workstation asks for the password from now on."), 8000)

    def change_password(self) -> ChangePasswordDialog | None:
        if not self.actor.is_authenticated:
            return None
        dialog = ChangePasswordDialog(account_service(self.ctx), self.actor, parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.statusBar().showMessage(self.tr("Password changed."), 8000))
        dialog.open()
        return dialog

    def open_accounts(self) -> AccountsDialog | None:
        if not can(self.actor, ACCOUNTS_MANAGE):
            return None
        dialog = AccountsDialog(self.ctx, self.actor, account_service(self.ctx), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accounts_changed.connect(self._recheck_actor)
        dialog.open()
        return dialog

    def open_audit_log(self) -> AuditPanel | None:
        if not can(self.actor, AUDIT_READ):
            return None
        dialog = AuditPanel(self.ctx, self.actor, audit_trail(self.ctx), self, navigator=self.navigator)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()  # not modal: "Go to" shows a conversation the user then reads in the window
        return dialog

    def account_changed(self) -> None:
        """Say why the window was reopened (the account's own roles or scope changed)."""
        self.statusBar().showMessage(self.tr("The roles or the scope of your account changed: the window was "
                                             "reopened with them."), 20000)

    def log_out(self) -> None:
        """Close the window; run_gui records the logout and shows the login dialog."""
        self.logout_requested = True
        self.close()

    def _recheck_actor(self) -> None:
        """After account changes: if the logged-in account's own roles or scope changed, reopen the
        window with them; if it was disabled, log out."""
        if not self.actor.is_authenticated:
            return
        accounts, actor = account_service(self.ctx), self.actor

        def changed(fresh: Actor) -> None:
            if (fresh.roles, fresh.scope) == (actor.roles, actor.scope) or self.next_actor is not None:
                return
            self.next_actor = fresh  # run_gui reopens the window with it and calls account_changed()
            self.close()

        def failed(exc: Exception) -> None:
            if isinstance(exc, AccountDisabledError):
                self.log_out()

        run_task(self, lambda: accounts.refresh(actor), changed, failed)

    def _about(self) -> None:
        box = QMessageBox(self)
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setWindowTitle(self.tr("About"))
        box.setText(self.tr("WeCom Archive Auditor\nArchive and review WeCom chats for compliance."))
        box.exec()
