"""The review's part of the main window, attached from outside in one call (``attach_review``): the
open-alert count in the status bar, the viewer's chips, keys and menu (ViewerReview), the notes
side panel, badges and a tag filter in the session tree, tagging a whole conversation (the tree's
menu) and every result of a search (the results' menu), saving the search, and showing a saved
search's hits in the search panel when the Review panel asks the Navigator."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QInputDialog, QLabel, QMenu, QMessageBox

from app.core.auth import MESSAGES_READ, REVIEW_READ, REVIEW_WRITE, can
from app.core.review import TagRow
from app.core.search import QueryError
from app.ui.search.syntax import mistake_text

from ..counts import count_text
from ..search.panel import FormError
from ..sessions.model import COL_TITLE
from ..tasks import run_task
from .badges import SessionBadges
from .common import menu_text, refusal_text, review_of, tag_label
from .notes import NotesPane
from .viewer_review import ViewerReview

COUNTS_EVERY_MS = 60_000  # others triage and policies raise alerts: the counts follow within a minute


def _call(fn, *args, **kwargs):
    """A slot without arguments (a menu action's ``checked`` is not passed on)."""
    return lambda: fn(*args, **kwargs)


def attach_review(window) -> WindowReview | None:
    """The review in ``window`` (a MainWindow), or None for an actor who may not read the review."""
    if not can(window.actor, REVIEW_READ):
        return None
    return WindowReview(window)


class WindowReview(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.ctx, self.actor, self.navigator = window.ctx, window.actor, window.navigator
        self.review = review_of(self.ctx)
        self.can_write = can(self.actor, REVIEW_WRITE)
        self.tag_set: list[TagRow] = []
        self.open_alerts: dict[str, int] | None = None

        self.alert_label = QLabel(window)
        self.alert_label.setTextFormat(Qt.TextFormat.PlainText)
        self.alert_label.setAccessibleName(self.tr("Open alerts"))
        window.statusBar().insertPermanentWidget(0, self.alert_label)
        self._timer = QTimer(self, interval=COUNTS_EVERY_MS)
        self._timer.timeout.connect(self.refresh_counts)
        self._timer.start()
        self.navigator.review_changed.connect(self.refresh)
        self.navigator.archive_changed.connect(self.refresh)

        self.viewer_review: ViewerReview | None = None
        self.notes: NotesPane | None = None
        self.badges: SessionBadges | None = None
        if window.reads_content and can(self.actor, MESSAGES_READ):
            self._attach_content()
        self.load_tag_set()
        self.refresh_counts()

    # ------------------------------------------------------------------ the panes of content
    def _attach_content(self) -> None:
        w = self.window
        self.viewer_review = vr = ViewerReview(self.ctx, self.actor, w.viewer, self)
        vr.notice.connect(lambda text: w.statusBar().showMessage(text, 10000))
        vr.changed.connect(self.navigator.review_changed.emit)

        self.notes = NotesPane(vr, w)
        dock = self.notes_dock = QDockWidget(self.tr("Notes"), w)
        dock.setObjectName("review-notes")
        dock.setWidget(self.notes)
        w.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        dock.hide()
        toggle = dock.toggleViewAction()
        toggle.setShortcut(QKeySequence("Ctrl+Shift+M"))
        w.view_menu.addAction(toggle)
        w.addAction(toggle)

        self.badges = SessionBadges(w.sessions.tree)
        w.sessions.tree.setItemDelegateForColumn(COL_TITLE, self.badges)
        model = w.sessions.model
        self._badge_timer = QTimer(self, singleShot=True, interval=150)
        self._badge_timer.timeout.connect(self.refresh_badges)
        for signal in (model.modelReset, model.rowsInserted, model.loading_finished):
            signal.connect(lambda *_: self._badge_timer.start())

        # the tree's menu: the conversation's tags and its review
        self.session_tag_menu = QMenu(self.tr("Tag conversation"), w)
        self.session_tag_action = self.session_tag_menu.menuAction()
        self.session_reviewed_action = QAction(self.tr("Mark conversation reviewed"), w)
        self.session_reviewed_action.triggered.connect(self.mark_session_reviewed)
        w.sessions.tree.addAction(self.session_tag_action)
        w.sessions.tree.addAction(self.session_reviewed_action)
        # the results' menu: tag every result, save the search
        self.results_tag_menu = QMenu(self.tr("Tag all results"), w)
        self.results_untag_menu = QMenu(self.tr("Take a tag off all results"), w)
        self.save_search_action = QAction(self.tr("Save this search…"), w)
        self.save_search_action.triggered.connect(self.save_search)
        for a in (self.results_tag_menu.menuAction(), self.results_untag_menu.menuAction(), self.save_search_action):
            w.search.results.addAction(a)
            a.setVisible(self.can_write)
        self.session_tag_action.setVisible(self.can_write)
        self.session_reviewed_action.setVisible(self.can_write)
        self.navigator.run_query.connect(self.show_query)

    # ------------------------------------------------------------------ reading
    def load_tag_set(self) -> None:
        tags, actor = self.review.tags, self.actor
        run_task(self, lambda: tags.tags(actor, include_disabled=True), self._tag_set_read,
                 lambda exc: self.window.statusBar().showMessage(refusal_text(exc), 10000))

    def _tag_set_read(self, tags: list[TagRow]) -> None:
        self.tag_set = tags
        enabled = [t for t in tags if not t.disabled]
        if self.viewer_review is None:
            return
        self.viewer_review.set_tag_set(tags)
        self.window.sessions.set_tag_choices([(t.key, tag_label(t)) for t in tags])
        self.session_tag_menu.clear()
        self.results_tag_menu.clear()
        self.results_untag_menu.clear()
        for tag in enabled:
            label = menu_text(tag_label(tag))
            self.session_tag_menu.addAction(label, _call(self.toggle_session_tag, tag))
            self.results_tag_menu.addAction(label, _call(self.tag_results, tag, remove=False))
            self.results_untag_menu.addAction(label, _call(self.tag_results, tag, remove=True))

    def refresh(self) -> None:
        """The review or the archive changed: counts, badges, the viewer's marks and the tag set
        (an administrator may have changed it) again."""
        self.refresh_counts()
        self.load_tag_set()
        if self.viewer_review is not None:
            self.viewer_review.reload()
            self._badge_timer.start()

    def refresh_counts(self) -> None:
        alerts, actor = self.review.alerts, self.actor
        run_task(self, lambda: alerts.counts(actor), self._counts_read, lambda exc: None)

    def _counts_read(self, counts: dict[str, int]) -> None:
        self.open_alerts = counts
        n = counts["open"]
        text = count_text(n, self.tr("1 open alert"), self.tr("%1 open alerts"))
        if n and counts["mine"]:
            text += " " + self.tr("(%1 mine)").replace("%1", str(counts["mine"]))
        self.alert_label.setText("⚑ " + text)
        self.alert_label.setVisible(n > 0)  # no alert, nothing to say: the status message keeps the room
        self.alert_label.setToolTip(self.tr("Open alerts of conversations in your scope: %1 assigned to you, %2 "
                                            "to nobody. The Review panel (Ctrl+Shift+R) lists them.")
                                    .replace("%1", str(counts["mine"])).replace("%2", str(counts["unassigned"])))

    def refresh_badges(self) -> None:
        badges = self.badges
        if badges is None:
            return
        status, alerts, actor = self.review.status, self.review.alerts, self.actor
        tree = self.window.sessions.tree

        def done(result) -> None:
            badges.set_counts(*result)
            tree.viewport().update()

        run_task(self, lambda: (status.overview(actor), alerts.session_counts(actor)), done, lambda exc: None)

    # ------------------------------------------------------------------ actions
    def _say(self, text: str) -> None:
        self.window.statusBar().showMessage(text, 10000)

    def _changed(self, text: str) -> None:
        self._say(text)
        self.navigator.review_changed.emit()

    def toggle_session_tag(self, tag: TagRow) -> None:
        """Put ``tag`` on the conversation chosen in the tree, or take it off if it has it."""
        current = self.window.sessions.current_session()
        if current is None:
            self._say(self.tr("Choose a conversation first."))
            return
        tags, actor = self.review.tags, self.actor

        def work():
            on = tag.id in tags.of_session(actor, *current)
            return on, tags.tag(actor, tag.key, session=current, remove=on)

        def done(result) -> None:
            removed, _changed = result
            text = self.tr("Took “%1” off the conversation.") if removed else self.tr("Tagged the conversation “%1”.")
            self._changed(text.replace("%1", tag_label(tag)))

        run_task(self, work, done, lambda exc: self._say(refusal_text(exc)))

    def mark_session_reviewed(self) -> None:
        current = self.window.sessions.current_session()
        if current is None:
            self._say(self.tr("Choose a conversation first."))
            return
        status, actor = self.review.status, self.actor
        run_task(self, lambda: status.mark_reviewed(actor, *current),
                 lambda _state: self._changed(self.tr("The conversation is reviewed up to its newest message.")),
                 lambda exc: self._say(refusal_text(exc)))

    def confirm(self, text: str) -> bool:
        """Ask before a change to many messages (tests replace it)."""
        box = QMessageBox(QMessageBox.Icon.Question, self.tr("Review"), text,
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self.window)
        box.setTextFormat(Qt.TextFormat.PlainText)
        return box.exec() == QMessageBox.StandardButton.Yes

    def _query(self) -> str | None:
        """The search panel's query with its filters, as the panel runs it (without the parentheses
        the panel puts round the box when no filter follows: shown again, it would get a second pair)."""
        try:
            text = self.window.search.request().text
        except (FormError, QueryError) as exc:
            self._say(self.tr("No search to use: %1").replace("%1", mistake_text(exc) if isinstance(exc, QueryError)
                                                               else str(exc)))
            return None
        box = self.window.search.query_edit.text().strip()
        return box if text == f"({box})" else text

    def tag_results(self, tag: TagRow, *, remove: bool) -> bool:
        """Put ``tag`` on (or take it off) every message the search panel's query finds in scope."""
        query = self._query()
        if query is None:
            return False
        ask = (self.tr("Take “%1” off every message this search finds?\n\n%2") if remove
               else self.tr("Tag every message this search finds “%1”?\n\n%2"))
        if not self.confirm(ask.replace("%1", tag_label(tag)).replace("%2", query)):
            return False
        tags, search, actor = self.review.tags, self.ctx.search, self.actor

        def done(changed: int) -> None:
            text = (count_text(changed, self.tr("Took “%2” off 1 message."), self.tr("Took “%2” off %1 messages."))
                    if remove else count_text(changed, self.tr("Tagged 1 message “%2”."),
                                              self.tr("Tagged %1 messages “%2”.")))
            self._changed(text.replace("%2", tag_label(tag)))

        run_task(self, lambda: tags.tag_results(actor, tag.key, query, search, remove=remove), done,
                 lambda exc: self._say(refusal_text(exc)))
        return True

    def save_search(self, name: str | None = None) -> bool:
        query = self._query()
        if query is None:
            return False
        if name is None:
            name, ok = QInputDialog.getText(self.window, self.tr("Save search"),
                                            self.tr("Name of the search (the Review panel lists it):"))
            if not ok:
                return False
        searches, actor = self.review.searches, self.actor
        run_task(self, lambda: searches.save(actor, name, query),
                 lambda row: self._changed(self.tr("Saved the search “%1”.").replace("%1", row.name)),
                 lambda exc: self._say(refusal_text(exc)))
        return True

    def show_query(self, text: str) -> None:
        """Show ``text``'s hits in the search panel: the query as the box, the form's filters cleared
        (a saved query holds its own), searched now — one recorded search."""
        s = self.window.search
        widgets = (s.query_edit, s.sender_edit, s.from_check, s.to_check, s.msgtype_combo, s.session_type_combo,
                   s.corp_combo)
        for w in widgets:
            w.blockSignals(True)
        try:
            s.query_edit.setText(text)
            s.sender_edit.clear()
            s.from_check.setChecked(False)
            s.to_check.setChecked(False)
            s.from_date.setEnabled(False)
            s.to_date.setEnabled(False)
            for combo in (s.msgtype_combo, s.session_type_combo, s.corp_combo):
                combo.setCurrentIndex(0)
        finally:
            for w in widgets:
                w.blockSignals(False)
        s.search()
