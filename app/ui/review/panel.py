"""The Review panel: a reviewer's queues — My alerts (open alerts in my scope, assigned to me or to
nobody, triaged here: dismiss or escalate with a reason, assign, reopen), My sample (the current
draw's conversations, marked reviewed as they are worked through; draw this week's sample) and
Saved searches (run one into the search panel, its hit count now and new hits since my last run,
share). Conversations open through the Navigator. Every read and write runs off the GUI thread;
the core checks permission and scope, records each change, and its refusals are said here. An
auditor sees the queues' metadata (who, when, how many) but no message or reason text. An
administrator who reviews too finds Review settings… (settings.py) beside the tabs."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPushButton,
    QTabWidget,
    QTreeWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.actor import Actor
from app.core.auth import MESSAGES_READ, REVIEW_MANAGE, REVIEW_WRITE, SEARCH_RUN, can
from app.core.review import AlertRow, DrawRow, SampleItem, SavedSearchRow, SearchCounts
from app.core.safe_text import display_name, display_text

from ..counts import count_text
from ..panels import Navigator
from ..tasks import run_task
from .common import refusal_text, review_of, tree_item, tree_widget, when
from .settings import ReviewSettingsDialog, open_review_settings

ALERT_VIEWS = ("queue", "open", "mine", "dismissed", "escalated")


class ReviewPanel(QWidget):
    """The review queues of ``actor`` (see the module docstring); GUI thread only."""

    def __init__(self, ctx, actor: Actor, navigator: Navigator, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx, self.actor, self.navigator = ctx, actor, navigator
        self.review = review_of(ctx)
        self.can_write = can(actor, REVIEW_WRITE)
        self.reads_content = can(actor, MESSAGES_READ)
        self.alerts: list[AlertRow] = []
        self.draws: list[DrawRow] = []
        self.sample: list[SampleItem] = []
        self.searches: list[tuple[SavedSearchRow, SearchCounts | None]] = []
        self.titles: dict[tuple[int, str], str] = {}
        self.loads = 0  # reads applied (tests wait on it)

        self.result = QLabel(self)
        self.result.setTextFormat(Qt.TextFormat.PlainText)
        self.result.setWordWrap(True)
        self.tabs = QTabWidget(self)
        self.tabs.addTab(self._alerts_tab(), self.tr("My alerts"))
        self.tabs.addTab(self._sample_tab(), self.tr("My sample"))
        self.tabs.addTab(self._searches_tab(), self.tr("Saved searches"))
        # an administrator's tag set, policies and sampling rules, beside the tabs
        self.settings_button = QPushButton(self.tr("Review settings…"), self)
        self.settings_button.setVisible(can(actor, REVIEW_MANAGE))
        self.settings_button.clicked.connect(self.open_settings)
        self.tabs.setCornerWidget(self.settings_button, Qt.Corner.TopRightCorner)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.result)

        navigator.archive_changed.connect(self.reload)
        navigator.review_changed.connect(self.reload)
        self._update_buttons()

    # ------------------------------------------------------------------ building
    def _buttons(self, *buttons: QPushButton) -> QHBoxLayout:
        row = QHBoxLayout()
        for b in buttons:
            row.addWidget(b)
        row.addStretch(1)
        return row

    def _alerts_tab(self) -> QWidget:
        tab = QWidget(self)
        self.alert_view = QComboBox(tab)
        for key, label in zip(ALERT_VIEWS, (self.tr("Open: mine and unassigned"), self.tr("Open: all in my scope"),
                                            self.tr("Open: assigned to me"), self.tr("Dismissed"),
                                            self.tr("Escalated")), strict=True):
            self.alert_view.addItem(label, key)
        self.alert_count = QLabel(tab)
        self.alert_count.setTextFormat(Qt.TextFormat.PlainText)
        self.alert_tree = tree_widget(tab, [self.tr("Policy"), self.tr("Conversation"), self.tr("Day"),
                                            self.tr("Hits"), self.tr("Status"), self.tr("Assignee"),
                                            self.tr("Reason")])
        self.open_alert_button = QPushButton(self.tr("Open conversation"), tab)
        self.assign_me_button = QPushButton(self.tr("Assign to me"), tab)
        self.assign_button = QPushButton(self.tr("Assign…"), tab)
        self.dismiss_button = QPushButton(self.tr("Dismiss…"), tab)
        self.escalate_button = QPushButton(self.tr("Escalate…"), tab)
        self.reopen_button = QPushButton(self.tr("Reopen"), tab)
        top = QHBoxLayout()
        top.addWidget(self.alert_view)
        top.addWidget(self.alert_count, 1)
        layout = QVBoxLayout(tab)
        layout.addLayout(top)
        layout.addWidget(self.alert_tree, 1)
        layout.addLayout(self._buttons(self.open_alert_button, self.assign_me_button, self.assign_button,
                                       self.dismiss_button, self.escalate_button, self.reopen_button))
        self.alert_view.currentIndexChanged.connect(lambda _i: self.load_alerts())
        self.alert_tree.itemSelectionChanged.connect(self._update_buttons)
        self.alert_tree.itemDoubleClicked.connect(lambda *_: self.open_alert())
        self.open_alert_button.clicked.connect(self.open_alert)
        self.assign_me_button.clicked.connect(lambda: self.triage("assign", assignee="me"))
        self.assign_button.clicked.connect(lambda: self.triage("assign"))
        self.dismiss_button.clicked.connect(lambda: self.triage("dismiss"))
        self.escalate_button.clicked.connect(lambda: self.triage("escalate"))
        self.reopen_button.clicked.connect(lambda: self.triage("reopen"))
        return tab

    def _sample_tab(self) -> QWidget:
        tab = QWidget(self)
        self.draw_combo = QComboBox(tab)
        self.draw_combo.setAccessibleName(self.tr("Sample"))
        self.sample_info = QLabel(tab)
        self.sample_info.setTextFormat(Qt.TextFormat.PlainText)
        self.sample_info.setWordWrap(True)
        self.sample_tree = tree_widget(tab, [self.tr("Conversation"), self.tr("Reviewed"), self.tr("By"),
                                             self.tr("When")])
        self.open_sample_button = QPushButton(self.tr("Open conversation"), tab)
        self.mark_sample_button = QPushButton(self.tr("Mark reviewed"), tab)
        self.rule_combo = QComboBox(tab)
        self.rule_combo.setAccessibleName(self.tr("Sampling rule"))
        self.draw_button = QPushButton(self.tr("Draw this week's sample"), tab)
        layout = QVBoxLayout(tab)
        layout.addWidget(self.draw_combo)
        layout.addWidget(self.sample_info)
        layout.addWidget(self.sample_tree, 1)
        row = self._buttons(self.open_sample_button, self.mark_sample_button)
        row.addWidget(self.rule_combo)
        row.addWidget(self.draw_button)
        layout.addLayout(row)
        self.draw_combo.currentIndexChanged.connect(lambda _i: self.load_sample())
        self.sample_tree.itemSelectionChanged.connect(self._update_buttons)
        self.sample_tree.itemDoubleClicked.connect(lambda *_: self.open_sample())
        self.open_sample_button.clicked.connect(self.open_sample)
        self.mark_sample_button.clicked.connect(self.mark_sample_reviewed)
        self.draw_button.clicked.connect(self.draw)
        return tab

    def _searches_tab(self) -> QWidget:
        tab = QWidget(self)
        self.search_tree = tree_widget(tab, [self.tr("Name"), self.tr("Owner"), self.tr("Shared"),
                                             self.tr("Hits now"), self.tr("New since my last run"),
                                             self.tr("Query")])
        self.search_tree.setSelectionMode(QTreeWidget.SelectionMode.SingleSelection)
        self.run_button = QPushButton(self.tr("Run in the search panel"), tab)
        self.share_button = QPushButton(self.tr("Share"), tab)
        self.delete_button = QPushButton(self.tr("Delete"), tab)
        hint = QLabel(self.tr("Save a search from the search results' menu (right-click)."), tab)
        hint.setTextFormat(Qt.TextFormat.PlainText)
        layout = QVBoxLayout(tab)
        layout.addWidget(self.search_tree, 1)
        layout.addLayout(self._buttons(self.run_button, self.share_button, self.delete_button))
        layout.addWidget(hint)
        self.search_tree.itemSelectionChanged.connect(self._update_buttons)
        self.search_tree.itemDoubleClicked.connect(lambda *_: self.run_search())
        self.run_button.clicked.connect(self.run_search)
        self.share_button.clicked.connect(self.toggle_share)
        self.delete_button.clicked.connect(self.delete_search)
        return tab

    def open_settings(self) -> ReviewSettingsDialog | None:
        """The administrator's Review settings (tags, policies, sampling rules)."""
        return open_review_settings(self.ctx, self.actor, self.navigator, self)

    # ------------------------------------------------------------------ reading
    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        self.reload()

    def reload(self) -> None:
        if not self.isVisible():
            return
        self.load_alerts()
        self.load_draws()
        self.load_searches()

    def _say(self, text: str) -> None:
        self.result.setText(text)

    def _fail(self, exc: Exception) -> None:
        self._say(refusal_text(exc))

    def _title_reader(self, keys):
        """Conversation names for the keys (read on the pool thread): the room's name or the
        participants' names for a reader of content, else the session id."""
        archive, directory, actor, known = self.ctx.archive, self.ctx.directory, self.actor, dict(self.titles)
        reads = self.reads_content

        def titles() -> dict[tuple[int, str], str]:
            out = {}
            for corp, sid in keys:
                if (corp, sid) in known:
                    continue
                title = sid
                if reads:
                    row = archive.session(actor, corp, sid)
                    if row is not None and row.roomid:
                        title = directory.label(actor, corp, row.roomid)
                    elif row is not None and row.participants:
                        title = ", ".join(directory.label(actor, corp, p) for p in row.participants[:4])
                out[(corp, sid)] = display_name(title)
            return out

        return titles

    def _title(self, corp: int, sid: str) -> str:
        return self.titles.get((corp, sid), display_name(sid))

    def load_alerts(self) -> None:
        view = self.alert_view.currentData()
        alerts_service, actor = self.review.alerts, self.actor
        status = {"dismissed": "dismissed", "escalated": "escalated"}.get(view, "open")
        assignee = "me" if view == "mine" else None

        def read():
            rows = alerts_service.list(actor, status=status, assignee=assignee, limit=1000)
            if view == "queue":
                rows = [a for a in rows if a.mine or a.assignee is None]
            rows.sort(key=lambda a: a.day, reverse=True)
            rows.sort(key=lambda a: not a.mine)  # mine first, then the newest days
            titles = self._title_reader(sorted({(a.corp_id, a.session_id) for a in rows}))()
            return rows, titles

        def done(result) -> None:
            if view != self.alert_view.currentData():
                return
            self.alerts, titles = result
            self.titles.update(titles)
            self.alert_tree.clear()
            for a in self.alerts:
                hits = str(a.hits) + (f" (+{a.new_hits})" if a.new_hits and a.status != "open" else "")
                reason = display_text(a.reason) if a.reason else (
                    self.tr("(hidden)") if a.status != "open" and not self.reads_content else "")
                self.alert_tree.addTopLevelItem(tree_item(
                    [display_name(a.policy), self._title(a.corp_id, a.session_id), a.day, hits,
                     self._status_text(a.status), display_name(a.assignee or ""), reason], a.id))
            for c in range(self.alert_tree.columnCount() - 1):
                self.alert_tree.resizeColumnToContents(c)
            self.alert_count.setText(count_text(len(self.alerts), self.tr("1 alert"), self.tr("%1 alerts")))
            self.loads += 1
            self._update_buttons()

        run_task(self, read, done, self._fail)

    def _status_text(self, status: str) -> str:
        return {"open": self.tr("Open"), "dismissed": self.tr("Dismissed"), "escalated": self.tr("Escalated")}.get(
            status, status)

    def load_draws(self) -> None:
        sampling, actor = self.review.sampling, self.actor
        write = self.can_write

        def read():
            return sampling.draws(actor), (sampling.rules(actor) if write else [])

        def done(result) -> None:
            draws, rules = result
            chosen = self.draw_combo.currentData()
            self.draws = draws
            self.draw_combo.blockSignals(True)
            self.draw_combo.clear()
            for d in draws:
                week = date.fromtimestamp(d.period_start / 1000).isoformat()
                self.draw_combo.addItem(self.tr("%1 — week of %2 (%3 of %4 reviewed)").replace("%1", display_name(d.rule))
                                        .replace("%2", week).replace("%3", str(d.done)).replace("%4", str(d.size)),
                                        d.id)
            at = self.draw_combo.findData(chosen) if chosen is not None else 0
            self.draw_combo.setCurrentIndex(max(0, at))
            self.draw_combo.blockSignals(False)
            self.rule_combo.clear()
            for r in rules:
                if not r.disabled:
                    self.rule_combo.addItem(display_name(r.name), r.id)
            self.load_sample()

        run_task(self, read, done, self._fail)

    def load_sample(self) -> None:
        draw_id = self.draw_combo.currentData()
        if draw_id is None:
            self.sample = []
            self.sample_tree.clear()
            self.sample_info.setText(self.tr("No sample drawn yet."))
            self.loads += 1
            self._update_buttons()
            return
        sampling, actor = self.review.sampling, self.actor

        def read():
            items = sampling.items(actor, draw_id)
            return items, self._title_reader([(i.corp_id, i.session_id) for i in items])()

        def done(result) -> None:
            if draw_id != self.draw_combo.currentData():
                return
            self.sample, titles = result
            self.titles.update(titles)
            self.sample_tree.clear()
            for i in self.sample:
                self.sample_tree.addTopLevelItem(tree_item(
                    [self._title(i.corp_id, i.session_id), self.tr("Yes") if i.reviewed else self.tr("Not yet"),
                     display_name(i.reviewed_by or ""), when(i.reviewed_at)], (i.corp_id, i.session_id)))
            self.sample_tree.resizeColumnToContents(0)
            d = next((x for x in self.draws if x.id == draw_id), None)
            if d is not None:
                done_n = sum(1 for i in self.sample if i.reviewed)
                self.sample_info.setText(
                    self.tr("%1 of %2 conversations reviewed. Drawn by %3 on %4 among %5 candidates without alerts; "
                            "seed %6 (an auditor reproduces the draw with it).")
                    .replace("%1", str(done_n)).replace("%2", str(len(self.sample)))
                    .replace("%3", display_name(d.drawn_by)).replace("%4", when(d.drawn_at))
                    .replace("%5", str(d.candidates)).replace("%6", d.seed[:12] + "…"))
            self.loads += 1
            self._update_buttons()

        run_task(self, read, done, self._fail)

    def load_searches(self) -> None:
        searches, search, actor = self.review.searches, self.ctx.search, self.actor
        counts = can(actor, SEARCH_RUN)

        def read():
            rows = searches.list(actor)
            out = []
            for r in rows:
                try:
                    c = searches.counts(actor, r.id, search) if counts else None
                except Exception:  # noqa: BLE001 - one search that cannot run still lists
                    c = None
                out.append((r, c))
            return out

        def done(rows) -> None:
            self.searches = rows
            self.search_tree.clear()
            for r, c in rows:
                new = "" if c is None or c.new is None else str(c.new)
                self.search_tree.addTopLevelItem(tree_item(
                    [display_name(r.name), display_name(r.owner), self.tr("Yes") if r.shared else self.tr("No"),
                     "" if c is None else str(c.hits), new, display_text(r.query)], r.id))
            for col in range(self.search_tree.columnCount() - 1):
                self.search_tree.resizeColumnToContents(col)
            self.loads += 1
            self._update_buttons()

        run_task(self, read, done, self._fail)

    # ------------------------------------------------------------------ selection
    def selected_alerts(self) -> list[int]:
        return [int(i.data(0, Qt.ItemDataRole.UserRole)) for i in self.alert_tree.selectedItems()]

    def _selected_search(self) -> SavedSearchRow | None:
        items = self.search_tree.selectedItems()
        sid = items[0].data(0, Qt.ItemDataRole.UserRole) if items else None
        return next((r for r, _c in self.searches if r.id == sid), None)

    def _update_buttons(self) -> None:
        alerts = bool(self.selected_alerts())
        for b in (self.assign_me_button, self.assign_button, self.dismiss_button, self.escalate_button,
                  self.reopen_button):
            b.setEnabled(alerts and self.can_write)
            b.setVisible(self.can_write)
        self.open_alert_button.setEnabled(len(self.selected_alerts()) == 1 and self.reads_content)
        sample = bool(self.sample_tree.selectedItems())
        self.open_sample_button.setEnabled(sample and self.reads_content)
        self.mark_sample_button.setEnabled(sample and self.can_write)
        for w in (self.mark_sample_button, self.rule_combo, self.draw_button):
            w.setVisible(self.can_write)
        self.draw_button.setEnabled(self.rule_combo.count() > 0)
        search = self._selected_search()
        self.run_button.setEnabled(search is not None and self.reads_content and can(self.actor, SEARCH_RUN))
        self.share_button.setEnabled(search is not None and search.mine and self.can_write)
        self.share_button.setText(self.tr("Stop sharing") if search is not None and search.shared else self.tr("Share"))
        self.delete_button.setEnabled(search is not None and search.mine and self.can_write)

    # ------------------------------------------------------------------ alerts
    def open_alert(self) -> None:
        """Show the selected alert's conversation at its first hit (its newest if the hits are gone)."""
        ids = self.selected_alerts()
        alert = next((a for a in self.alerts if ids and a.id == ids[0]), None)
        if alert is None or not self.reads_content:
            return
        alerts, actor = self.review.alerts, self.actor

        def done(hits) -> None:
            if hits:
                self.navigator.open_message.emit(alert.corp_id, alert.session_id, hits[0][0])
            else:
                self.navigator.open_session.emit(alert.corp_id, alert.session_id)

        run_task(self, lambda: alerts.hits(actor, alert.id), done, self._fail)

    def triage(self, action: str, *, reason: str | None = None, assignee: str | None = None,
               alert_ids: list[int] | None = None) -> bool:
        """Triage the selected alerts; asks for a reason (dismiss, escalate) or an assignee (assign)
        when not given. False if nothing was started."""
        ids = alert_ids if alert_ids is not None else self.selected_alerts()
        if not ids:
            return False
        if action in ("dismiss", "escalate") and reason is None:
            text, ok = QInputDialog.getMultiLineText(
                self, self.tr("Dismiss alerts") if action == "dismiss" else self.tr("Escalate alerts"),
                self.tr("Why? (kept with the alert; the audit trail keeps its fingerprint)"))
            if not ok:
                return False
            reason = text
        if action == "assign" and assignee is None:
            text, ok = QInputDialog.getText(self, self.tr("Assign alerts"),
                                            self.tr("User name of the reviewer (empty: nobody):"))
            if not ok:
                return False
            assignee = text.strip() or None
        alerts, actor = self.review.alerts, self.actor

        def done(rows) -> None:
            words = {"assign": self.tr("Assigned %1."), "dismiss": self.tr("Dismissed %1."),
                     "escalate": self.tr("Escalated %1."), "reopen": self.tr("Reopened %1.")}[action]
            self._say(words.replace("%1", count_text(len(rows), self.tr("1 alert"), self.tr("%1 alerts"))))
            self.navigator.review_changed.emit()

        run_task(self, lambda: alerts.triage(actor, ids, action, reason=reason or "", assignee=assignee), done,
                 self._fail)
        return True

    # ------------------------------------------------------------------ sample
    def _selected_sample(self) -> list[tuple[int, str]]:
        return [tuple(i.data(0, Qt.ItemDataRole.UserRole)) for i in self.sample_tree.selectedItems()]

    def open_sample(self) -> None:
        chosen = self._selected_sample()
        if chosen and self.reads_content:
            self.navigator.open_session.emit(*chosen[0])

    def mark_sample_reviewed(self) -> bool:
        chosen = self._selected_sample()
        if not chosen:
            return False
        status, actor = self.review.status, self.actor

        def work():
            for corp, sid in chosen:
                status.mark_reviewed(actor, corp, sid)
            return len(chosen)

        def done(n: int) -> None:
            self._say(count_text(n, self.tr("1 conversation marked reviewed."),
                                 self.tr("%1 conversations marked reviewed.")))
            self.navigator.review_changed.emit()

        run_task(self, work, done, self._fail)
        return True

    def draw(self) -> bool:
        rule = self.rule_combo.currentData()
        if rule is None:
            return False
        sampling, actor = self.review.sampling, self.actor

        def done(d: DrawRow) -> None:
            self._say(self.tr("Drew %1 of %2 conversations.").replace("%1", str(d.size))
                      .replace("%2", str(d.candidates)))
            self.navigator.review_changed.emit()

        run_task(self, lambda: sampling.draw(actor, rule), done, self._fail)
        return True

    # ------------------------------------------------------------------ saved searches
    def run_search(self) -> bool:
        """Show the selected saved search's hits in the search panel; "new since my last run" starts
        again from now."""
        row = self._selected_search()
        if row is None or not self.reads_content:
            return False
        searches, search, actor = self.review.searches, self.ctx.search, self.actor

        def done(result) -> None:
            saved, total = result
            self.navigator.run_query.emit(saved.query)
            self._say(self.tr("“%1”: %2.").replace("%1", display_name(saved.name))
                      .replace("%2", count_text(total, self.tr("1 hit"), self.tr("%1 hits"))))
            self.load_searches()

        run_task(self, lambda: searches.remember_run(actor, row.id, search), done, self._fail)
        return True

    def toggle_share(self) -> bool:
        row = self._selected_search()
        if row is None:
            return False
        searches, actor = self.review.searches, self.actor
        def done(r: SavedSearchRow) -> None:
            text = self.tr("“%1” is shared with the other reviewers.") if r.shared else \
                self.tr("“%1” is yours alone again.")
            self._say(text.replace("%1", display_name(r.name)))
            self.load_searches()

        run_task(self, lambda: searches.update(actor, row.id, shared=not row.shared), done, self._fail)
        return True

    def delete_search(self) -> bool:
        row = self._selected_search()
        if row is None:
            return False
        searches, actor = self.review.searches, self.actor
        def done(_result) -> None:
            self._say(self.tr("Deleted “%1”.").replace("%1", display_name(row.name)))
            self.load_searches()

        run_task(self, lambda: searches.delete(actor, row.id), done, self._fail)
        return True
