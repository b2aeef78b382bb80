"""Review settings, an administrator's dialog (``review.manage``): the archive's tag set (names in
Chinese and English, colour, order; a tag is retired rather than deleted: it stays on what it
tagged), the policies (a saved query and a schedule; the query checked by the core as it is typed;
enable, disable, run now) and the sampling rules (a staff group and a weekly size; draw now, which
shows the seed an auditor reproduces the draw with).

Reached from File → Review settings… and the Review panel, shown only to an administrator. Every
read and change is a call to the core's review services off the GUI thread (run_task); they check
the permission and write the audit trail, and their refusals are said under the list. User text
(names, queries) is shown as plain text only.
"""

from __future__ import annotations

from datetime import date
from typing import TypeVar

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QColor, QIcon
from PySide6.QtWidgets import (
    QColorDialog,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QPushButton,
    QTabWidget,
    QTreeWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.actor import Actor
from app.core.auth import ACCOUNTS_MANAGE, REVIEW_MANAGE, REVIEW_WRITE, can
from app.core.directory import StaffMember
from app.core.review import DrawRow, PolicyRow, Review, RuleRow, RunReport, TagRow
from app.core.safe_text import display_name, display_text
from app.ui.language import ui_is_chinese

from ..auth.widgets import HINT_STYLE, MessageLine, plain_label
from ..counts import count_text
from ..sessions.model import plain_tooltip
from ..tasks import run_task
from .common import refusal_text, review_of, translate, tree_item, tree_widget, when
from .settings_editors import (
    DrawDialog,
    PolicyDialog,
    ReviewEditor,
    RuleDialog,
    RunPolicyDialog,
    TagDialog,
    schedule_text,
    swatch,
)

E = TypeVar("E", bound=ReviewEditor)
COLUMN_GAP = 18  # pixels between one column's longest text and the next column


# ====================================================================== the pages


class _Page(QWidget):
    """A list with its buttons beside it and a message line under it; reads and changes through
    the review services off the GUI thread."""

    loaded = Signal()  # the list was read (tests wait on it)
    changed = Signal()  # something was changed: the window's review follows

    def __init__(self, review: Review, actor: Actor, intro: str, headers: list[str], parent: QWidget | None = None):
        super().__init__(parent)
        self.review, self.actor = review, actor
        self.loads = 0
        self._select_after = None  # the row to choose when the list is read again (the one just changed)
        self.intro = plain_label(intro, self)
        self.intro.setStyleSheet(HINT_STYLE)
        self.tree = tree_widget(self, headers)
        self.tree.setSelectionMode(QTreeWidget.SelectionMode.SingleSelection)
        self.message = MessageLine(self)
        self.side = QVBoxLayout()
        body = QHBoxLayout()
        body.addWidget(self.tree, 1)
        body.addLayout(self.side)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addLayout(body, 1)
        layout.addWidget(self.message)
        self.tree.itemSelectionChanged.connect(self.update_buttons)

    def _button(self, text: str, slot) -> QPushButton:
        b = QPushButton(text, self)
        b.clicked.connect(lambda: slot())
        self.side.addWidget(b)
        return b

    def selected(self):
        items = self.tree.selectedItems()
        return items[0].data(0, Qt.ItemDataRole.UserRole) if items else None

    def select(self, key) -> None:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item is not None and item.data(0, Qt.ItemDataRole.UserRole) == key:
                self.tree.setCurrentItem(item)
                return

    def update_buttons(self) -> None:
        raise NotImplementedError

    def load(self) -> None:
        raise NotImplementedError

    def _fill(self, rows: list[list[str]], keys: list, icons: list[QIcon] | None = None) -> None:
        keep = self._select_after if self._select_after is not None else self.selected()
        self._select_after = None
        self.tree.clear()
        for i, (values, key) in enumerate(zip(rows, keys, strict=True)):
            item = tree_item(values, key)
            if icons:
                item.setIcon(0, icons[i])
            self.tree.addTopLevelItem(item)
        for c in range(self.tree.columnCount() - 1):  # the last one takes the rest
            self.tree.resizeColumnToContents(c)
            self.tree.setColumnWidth(c, self.tree.columnWidth(c) + COLUMN_GAP)
        if keep is not None:
            self.select(keep)
        self.loads += 1
        self.update_buttons()
        self.loaded.emit()

    def say(self, text: str) -> None:
        self.message.show_ok(text)

    def fail(self, exc: Exception) -> None:
        self.message.show_error(refusal_text(exc))

    def run(self, fn, done) -> None:
        """Call ``fn`` off the GUI thread; ``done(result)`` on success, the refusal said otherwise."""
        run_task(self, fn, done, self.fail)

    def edited(self, text: str, key=None) -> None:
        """A change was made: say it, read the list again (choosing ``key``), tell the window."""
        self.say(text)
        self._select_after = key
        self.load()
        self.changed.emit()

    def _open(self, dialog: E, done) -> E:
        dialog.accepted.connect(lambda: done(dialog.outcome))
        dialog.open()
        return dialog


class TagSetPage(_Page):
    """The tag set in its order, with each tag's colour."""

    def __init__(self, review: Review, actor: Actor, parent: QWidget | None = None):
        super().__init__(review, actor, translate("TagSetPage", "The tags reviewers put on messages and "
                                                                "conversations (keys 1–9 in the viewer, in this "
                                                                "order). A retired tag stays on what it tagged and "
                                                                "in searches, but is offered no more."),
                         [translate("TagSetPage", "Chinese name"), translate("TagSetPage", "English name"),
                          translate("TagSetPage", "Colour"), translate("TagSetPage", "Key"),
                          translate("TagSetPage", "State")], parent)
        self.tags: list[TagRow] = []
        self.add_button = self._button(self.tr("Add…"), self.add_tag)
        self.edit_button = self._button(self.tr("Edit…"), self.edit_tag)
        self.colour_button = self._button(self.tr("Colour…"), self.recolour)
        self.up_button = self._button(self.tr("Move up"), lambda: self.move_tag(-1))
        self.down_button = self._button(self.tr("Move down"), lambda: self.move_tag(+1))
        self.retire_button = self._button(self.tr("Retire"), self.toggle_retired)
        self.side.addStretch(1)
        self.tree.itemDoubleClicked.connect(lambda *_: self.edit_tag())

    def current(self) -> TagRow | None:
        key = self.selected()
        return next((t for t in self.tags if t.key == key), None)

    def load(self) -> None:
        tags, actor = self.review.tags, self.actor
        self.run(lambda: tags.tags(actor, include_disabled=True), self._read)

    def _read(self, tags: list[TagRow]) -> None:
        self.tags = tags
        self._fill([[display_name(t.label_zh), display_name(t.label_en), t.colour, t.key,
                     self.tr("Retired") if t.disabled else self.tr("In use")] for t in tags],
                   [t.key for t in tags], [swatch(t.colour) for t in tags])

    def update_buttons(self) -> None:
        tag = self.current()
        for b in (self.edit_button, self.colour_button, self.retire_button):
            b.setEnabled(tag is not None)
        at = self.tags.index(tag) if tag is not None else -1
        self.up_button.setEnabled(at > 0)
        self.down_button.setEnabled(0 <= at < len(self.tags) - 1)
        self.retire_button.setText(self.tr("Restore") if tag is not None and tag.disabled else self.tr("Retire"))

    def _name(self, tag: TagRow) -> str:
        return display_name(tag.label("zh" if ui_is_chinese() else "en"))

    def add_tag(self) -> TagDialog:
        return self._open(TagDialog(self.review, self.actor, parent=self), lambda tag: self.edited(
            self.tr("Tag “%1” added.").replace("%1", self._name(tag)), tag.key))

    def edit_tag(self) -> TagDialog | None:
        tag = self.current()
        if tag is None:
            return None
        return self._open(TagDialog(self.review, self.actor, tag, parent=self), lambda t: self.edited(
            self.tr("Tag “%1” changed.").replace("%1", self._name(t)), t.key))

    def recolour(self, colour: str | None = None) -> bool:
        """Give the selected tag ``colour`` (#RRGGBB), or the one chosen in the colour picker."""
        tag = self.current()
        if tag is None:
            return False
        if colour is None:
            picked = QColorDialog.getColor(QColor(tag.colour), self, self.tr("Colour of “%1”")
                                           .replace("%1", self._name(tag)))
            if not picked.isValid():
                return False
            colour = picked.name()
        tags, actor = self.review.tags, self.actor
        self.run(lambda: tags.edit_tag(actor, tag.key, colour=colour), lambda t: self.edited(
            self.tr("“%1” is now %2.").replace("%1", self._name(t)).replace("%2", t.colour), t.key))
        return True

    def move_tag(self, step: int) -> bool:
        """Move the selected tag ``step`` places (-1: up) in the set's order."""
        tag = self.current()
        if tag is None:
            return False
        position = self.tags.index(tag) + 1 + step
        tags, actor = self.review.tags, self.actor
        self.run(lambda: tags.edit_tag(actor, tag.key, position=position), lambda t: self.edited(
            self.tr("“%1” moved to place %2.").replace("%1", self._name(t)).replace("%2", str(position)), t.key))
        return True

    def toggle_retired(self) -> bool:
        tag = self.current()
        if tag is None:
            return False
        tags, actor = self.review.tags, self.actor
        text = self.tr("“%1” is in use again.") if tag.disabled else \
            self.tr("“%1” is retired: it stays on what it tagged.")
        self.run(lambda: tags.edit_tag(actor, tag.key, enabled=tag.disabled),
                 lambda t: self.edited(text.replace("%1", self._name(t)), t.key))
        return True


class PoliciesPage(_Page):
    """The policies with their schedule, state, assignee and alerts."""

    def __init__(self, review: Review, actor: Actor, search, parent: QWidget | None = None):
        super().__init__(review, actor, translate("PoliciesPage", "A policy is a saved query that raises an alert "
                                                                  "in the reviewers' queue for each conversation "
                                                                  "and day with new matches."),
                         [translate("PoliciesPage", "Name"), translate("PoliciesPage", "Query"),
                          translate("PoliciesPage", "Runs"), translate("PoliciesPage", "State"),
                          translate("PoliciesPage", "Assignee"), translate("PoliciesPage", "Alerts"),
                          translate("PoliciesPage", "Last run")], parent)
        self.search = search
        self.policies: list[PolicyRow] = []
        self.new_button = self._button(self.tr("New…"), self.new_policy)
        self.edit_button = self._button(self.tr("Edit…"), self.edit_policy)
        self.enable_button = self._button(self.tr("Disable"), self.toggle_enabled)
        self.run_button = self._button(self.tr("Run now…"), self.run_policy)
        self.side.addStretch(1)
        self.tree.itemDoubleClicked.connect(lambda *_: self.edit_policy())

    def current(self) -> PolicyRow | None:
        pid = self.selected()
        return next((p for p in self.policies if p.id == pid), None)

    def load(self) -> None:
        policies, alerts, actor = self.review.policies, self.review.alerts, self.actor
        self.run(lambda: (policies.policies(actor), alerts.policy_counts(actor)), self._read)

    def _read(self, result) -> None:
        self.policies, counts = result
        rows = []
        for p in self.policies:
            total, opened = counts.get(p.id, (0, 0))
            alerts = self.tr("%1 (%2 open)").replace("%1", str(total)).replace("%2", str(opened)) if total else "0"
            rows.append([display_name(p.name), display_text(p.query, one_line=True), schedule_text(p.schedule),
                         self.tr("Enabled") if p.enabled else self.tr("Disabled"), display_name(p.assignee or ""),
                         alerts, when(p.last_run_at) or self.tr("never")])
        self._fill(rows, [p.id for p in self.policies])
        self.tree.setColumnWidth(1, min(self.tree.columnWidth(1), 340))  # a long lexicon: its tooltip has it all
        for i, p in enumerate(self.policies):
            item = self.tree.topLevelItem(i)
            if item is not None:
                item.setToolTip(1, plain_tooltip(display_text(p.query)))  # a tooltip would take <b> for HTML

    def update_buttons(self) -> None:
        policy = self.current()
        for b in (self.edit_button, self.enable_button):
            b.setEnabled(policy is not None)
        self.run_button.setEnabled(policy is not None and policy.enabled)
        self.enable_button.setText(self.tr("Enable") if policy is not None and not policy.enabled
                                   else self.tr("Disable"))

    def new_policy(self) -> PolicyDialog:
        return self._open(PolicyDialog(self.review, self.actor, parent=self), lambda p: self.edited(
            self.tr("Policy “%1” created: it looks at what arrives from now on.").replace(
                "%1", display_name(p.name)), p.id))

    def edit_policy(self) -> PolicyDialog | None:
        policy = self.current()
        if policy is None:
            return None
        return self._open(PolicyDialog(self.review, self.actor, policy, parent=self), lambda p: self.edited(
            self.tr("Policy “%1” saved.").replace("%1", display_name(p.name)), p.id))

    def toggle_enabled(self) -> bool:
        policy = self.current()
        if policy is None:
            return False
        policies, actor = self.review.policies, self.actor
        text = self.tr("“%1” is disabled: it raises no alerts.") if policy.enabled else \
            self.tr("“%1” is enabled: it looks at what arrives from now on.")
        self.run(lambda: policies.update(actor, policy.id, enabled=not policy.enabled),
                 lambda p: self.edited(text.replace("%1", display_name(p.name)), p.id))
        return True

    def run_policy(self) -> RunPolicyDialog | None:
        policy = self.current()
        if policy is None or not policy.enabled:
            return None
        return self._open(RunPolicyDialog(self.review, self.actor, self.search, policy, parent=self),
                          lambda report: self.edited(self.report_text(policy, report), policy.id))

    def report_text(self, policy: PolicyRow, report: RunReport) -> str:
        hits = sum(report.hits.values())
        return (self.tr("“%1” ran on %2: %3; %4 raised, %5 given new hits.")
                .replace("%1", display_name(policy.name))
                .replace("%2", count_text(report.messages, self.tr("1 message"), self.tr("%1 messages")))
                .replace("%3", count_text(hits, self.tr("1 new hit"), self.tr("%1 new hits")))
                .replace("%4", count_text(len(report.raised), self.tr("1 alert"), self.tr("%1 alerts")))
                .replace("%5", str(len(report.updated))))


class SamplingPage(_Page):
    """The sampling rules; drawing one now needs the reviewer role too (a draw is review work)."""

    def __init__(self, review: Review, actor: Actor, directory=None, parent: QWidget | None = None):
        super().__init__(review, actor, translate("SamplingPage", "A sampling rule gives the reviewers a weekly "
                                                                  "sample of a staff group's conversations without "
                                                                  "alerts."),
                         [translate("SamplingPage", "Name"), translate("SamplingPage", "Staff group"),
                          translate("SamplingPage", "Each week"), translate("SamplingPage", "State"),
                          translate("SamplingPage", "Created")], parent)
        self.rules: list[RuleRow] = []
        self.directory = directory  # the staff's names, offered while typing a group (None: ids only)
        self.staff: list[StaffMember] = []
        self.can_draw = can(actor, REVIEW_WRITE)
        self.new_button = self._button(self.tr("New…"), self.new_rule)
        self.edit_button = self._button(self.tr("Edit…"), self.edit_rule)
        self.enable_button = self._button(self.tr("Disable"), self.toggle_enabled)
        self.draw_button = self._button(self.tr("Draw now…"), self.draw)
        if not self.can_draw:
            self.draw_button.setToolTip(self.tr("Drawing a sample is review work: it needs the reviewer role."))
        self.side.addStretch(1)
        self.tree.itemDoubleClicked.connect(lambda *_: self.edit_rule())

    def current(self) -> RuleRow | None:
        rid = self.selected()
        return next((r for r in self.rules if r.id == rid), None)

    def load(self) -> None:
        sampling, actor, directory = self.review.sampling, self.actor, self.directory
        # the directory lists the staff for those who choose accounts' scopes: administrators
        names = directory is not None and can(actor, ACCOUNTS_MANAGE)
        self.run(lambda: (sampling.rules(actor, include_disabled=True), directory.staff(actor) if names else []),
                 self._read)

    def _read(self, result: tuple[list[RuleRow], list[StaffMember]]) -> None:
        self.rules, self.staff = result
        self._fill([[display_name(r.name), self.group_text(r), self.size_text(r),
                     self.tr("Disabled") if r.disabled else self.tr("Enabled"),
                     f"{display_name(r.created_by)} · {when(r.created_at)}"] for r in self.rules],
                   [r.id for r in self.rules])

    def group_text(self, rule: RuleRow) -> str:
        parts = []
        names = {m.userid: m.name for m in self.staff}
        if rule.userids:
            people = ", ".join(names.get(u) or u for u in rule.userids)
            parts.append(self.tr("Staff: %1").replace("%1", display_name(people)))
        if rule.departments:
            parts.append(self.tr("Departments: %1").replace("%1", display_name(", ".join(rule.departments))))
        return "; ".join(parts)

    def size_text(self, rule: RuleRow) -> str:
        if rule.percent:
            return f"{rule.percent} %"
        return count_text(rule.sessions or 0, self.tr("1 conversation"), self.tr("%1 conversations"))

    def update_buttons(self) -> None:
        rule = self.current()
        for b in (self.edit_button, self.enable_button):
            b.setEnabled(rule is not None)
        self.draw_button.setEnabled(rule is not None and not rule.disabled and self.can_draw)
        self.enable_button.setText(self.tr("Enable") if rule is not None and rule.disabled else self.tr("Disable"))

    def new_rule(self) -> RuleDialog:
        return self._open(RuleDialog(self.review, self.actor, staff=self.staff, parent=self), lambda r: (
            self.edited(self.tr("Sampling rule “%1” created.").replace("%1", display_name(r.name)), r.id)))

    def edit_rule(self) -> RuleDialog | None:
        rule = self.current()
        if rule is None:
            return None
        return self._open(RuleDialog(self.review, self.actor, rule, staff=self.staff, parent=self), lambda r: (
            self.edited(self.tr("Sampling rule “%1” saved.").replace("%1", display_name(r.name)), r.id)))

    def toggle_enabled(self) -> bool:
        rule = self.current()
        if rule is None:
            return False
        sampling, actor = self.review.sampling, self.actor
        text = self.tr("“%1” is enabled.") if rule.disabled else self.tr("“%1” is disabled: it is drawn no more.")
        self.run(lambda: sampling.update_rule(actor, rule.id, enabled=rule.disabled),
                 lambda r: self.edited(text.replace("%1", display_name(r.name)), r.id))
        return True

    def draw(self) -> DrawDialog | None:
        rule = self.current()
        if rule is None or rule.disabled or not self.can_draw:
            return None
        return self._open(DrawDialog(self.review, self.actor, rule, parent=self),
                          lambda d: self.edited(self.draw_text(d), rule.id))

    def draw_text(self, d: DrawRow) -> str:
        return (self.tr("Drew %1 of %2 for the week of %3. Seed: %4 — an auditor reproduces the draw with it "
                        "(sample reproduce %5).")
                .replace("%1", count_text(d.size, self.tr("1 conversation"), self.tr("%1 conversations")))
                .replace("%2", str(d.candidates)).replace("%3", date.fromtimestamp(d.period_start / 1000).isoformat())
                .replace("%4", d.seed).replace("%5", str(d.id)))


# ====================================================================== the dialog

class ReviewSettingsDialog(QDialog):
    """The tag set, policies and sampling rules of the archive, for an administrator. Not modal.
    :attr:`changed` fires after each change (the window re-reads its tags, menus and counts)."""

    changed = Signal()

    def __init__(self, ctx, actor: Actor, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx, self.actor = ctx, actor
        review = review_of(ctx)
        self.setWindowTitle(self.tr("Review settings"))
        self.tags_page = TagSetPage(review, actor, self)
        self.policies_page = PoliciesPage(review, actor, ctx.search, self)
        self.sampling_page = SamplingPage(review, actor, ctx.directory, self)
        self.tabs = QTabWidget(self)
        self.tabs.addTab(self.tags_page, self.tr("Tags"))
        self.tabs.addTab(self.policies_page, self.tr("Policies"))
        self.tabs.addTab(self.sampling_page, self.tr("Sampling rules"))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(buttons)
        for page in self.pages():
            page.changed.connect(self.changed)
            page.load()
        self.resize(1000, 520)

    def pages(self) -> tuple[_Page, ...]:
        return self.tags_page, self.policies_page, self.sampling_page


def open_review_settings(ctx, actor: Actor, navigator, parent: QWidget) -> ReviewSettingsDialog | None:
    """Show the dialog (None for an actor who may not manage the review). Its changes are announced
    as ``navigator.review_changed``."""
    if not can(actor, REVIEW_MANAGE):
        return None
    top = parent.window()
    open_already = next((d for d in top.findChildren(ReviewSettingsDialog) if d.isVisible()), None)
    if open_already is not None:  # asked again: the one open comes forward (closed ones await deletion)
        open_already.raise_()
        open_already.activateWindow()
        return open_already
    dialog = ReviewSettingsDialog(ctx, actor, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.changed.connect(navigator.review_changed)
    dialog.show()
    return dialog


def review_settings_action(window) -> QAction:
    """File → Review settings…, shown only to an administrator (``review.manage``)."""
    action = QAction(translate("ReviewSettings", "Review se&ttings…"), window)
    action.setToolTip(translate("ReviewSettings", "Tags, policies and sampling rules of the review"))
    action.setVisible(can(window.actor, REVIEW_MANAGE))
    action.triggered.connect(lambda: open_review_settings(window.ctx, window.actor, window.navigator, window))
    return action
