"""The editors of the Review settings dialog (settings.py): a tag, a policy (its query checked by
the core while it is typed), running a policy now, a sampling rule, drawing a rule's sample now.
Each one's OK runs one review-service call off the GUI thread and closes when the core accepts; a
refusal is said under the form."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from PySide6.QtCore import QDate, Qt
from PySide6.QtGui import QColor, QIcon, QPixmap, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QColorDialog,
    QComboBox,
    QCompleter,
    QDateEdit,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.core.actor import Actor
from app.core.directory import StaffMember
from app.core.review import PolicyRow, Review, ReviewError, RuleRow, TagRow
from app.core.review.policies import check_policy_query
from app.core.safe_text import display_name
from app.core.search.query import QueryError, parse_query

from ..auth.login import BackgroundDialog
from ..auth.widgets import HINT_STYLE, MessageLine, plain_label
from ..search.syntax import mistake_text
from .common import refusal_text, translate

DEFAULT_COLOUR = "#607D8B"


def swatch(colour: str, size: int = 14) -> QIcon:
    """A square of ``colour`` (#RRGGBB), the tag's colour beside its name."""
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor(colour))
    icon = QIcon(pixmap)
    icon.addPixmap(pixmap, QIcon.Mode.Selected)  # the true colour on a chosen row too, not a tinted one
    return icon


def _split(text: str) -> list[str]:
    """Values typed separated by commas (either width), semicolons or spaces."""
    for sep in ("，", ";", "；", " "):
        text = text.replace(sep, ",")
    return [v.strip() for v in text.split(",") if v.strip()]


class ReviewEditor(BackgroundDialog):
    """An editor whose OK runs one review-service call off the GUI thread; it closes when the core
    accepts, and says the core's refusal under the form otherwise. :attr:`outcome` is what the call
    returned."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.outcome = None

    def succeeded(self, result) -> None:
        self.outcome = result

    def failed(self, exc: Exception) -> None:
        self._fail(refusal_text(exc))

    def busy_text(self) -> str:
        return self.tr("Saving…")

    def _arrange(self, parts: list, hint: str, fields: list[QWidget]) -> None:
        """Lay the editor out: ``parts`` (layouts or widgets) above a hint, the error line and the
        buttons; ``fields`` are what is disabled while the call runs."""
        layout = QVBoxLayout(self)
        for part in parts:
            if isinstance(part, QWidget):
                layout.addWidget(part)
            else:
                layout.addLayout(part)
        note = plain_label(hint, self)
        note.setStyleSheet(HINT_STYLE)
        for widget in (note, self.error, self.buttons):
            layout.addWidget(widget)
        self._form_widgets = fields


class TagDialog(ReviewEditor):
    """A tag's names in Chinese and English and its colour; a new tag without ``tag``."""

    def __init__(self, review: Review, actor: Actor, tag: TagRow | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.review, self.actor_in, self.tag = review, actor, tag
        self.setWindowTitle(self.tr("New tag") if tag is None else self.tr("Edit tag"))
        self.zh_edit = QLineEdit(tag.label_zh if tag else "", self)
        self.zh_edit.setPlaceholderText(self.tr("e.g. 需关注"))
        self.en_edit = QLineEdit(tag.label_en if tag else "", self)
        self.en_edit.setPlaceholderText(self.tr("e.g. Needs attention"))
        for edit in (self.zh_edit, self.en_edit):
            edit.setMaxLength(120)
        self.colour = tag.colour if tag else DEFAULT_COLOUR
        self.colour_button = QPushButton(self)
        self.colour_button.clicked.connect(lambda: self.choose_colour())
        self._show_colour()
        form = QFormLayout()
        form.addRow(self.tr("Chinese name:"), self.zh_edit)
        form.addRow(self.tr("English name:"), self.en_edit)
        colour_row = QHBoxLayout()
        colour_row.addWidget(self.colour_button)
        colour_row.addStretch(1)
        form.addRow(self.tr("Colour:"), colour_row)
        self._arrange([form],
                      self.tr("Reviewers see the name in the language of their window; a search finds the "
                              "tag by either (tag:违规, tag:Violation)."),
                      [self.zh_edit, self.en_edit, self.colour_button])
        self.setMinimumWidth(480)

    def _show_colour(self) -> None:
        self.colour_button.setIcon(swatch(self.colour))
        self.colour_button.setText(self.colour)

    def choose_colour(self, colour: str | None = None) -> None:
        """Set the colour (#RRGGBB), or ask for it with the colour picker."""
        if colour is None:
            picked = QColorDialog.getColor(QColor(self.colour), self, self.tr("Tag colour"))
            if not picked.isValid():
                return
            colour = picked.name()
        self.colour = colour.upper()
        self._show_colour()

    def problem(self) -> str | None:
        if not self.zh_edit.text().strip() or not self.en_edit.text().strip():
            return self.tr("Give the tag a Chinese and an English name.")
        return None

    def work(self):
        tags, actor, tag = self.review.tags, self.actor_in, self.tag
        zh, en, colour = self.zh_edit.text(), self.en_edit.text(), self.colour
        if tag is None:
            return lambda: tags.add_tag(actor, zh, en, colour=colour)
        return lambda: tags.edit_tag(actor, tag.key, label_zh=zh, label_en=en, colour=colour)


SCHEDULE_KEYS = ("sync", "daily")


def schedule_text(schedule: str) -> str:
    return {"sync": translate("ReviewSettings", "After every sync"),
            "daily": translate("ReviewSettings", "Daily")}.get(schedule, schedule)


class PolicyDialog(ReviewEditor):
    """A policy: name, query (checked by the core while it is typed: a wrong one is said under it
    and keeps OK disabled), schedule, assignee of its alerts, description; enabled when editing."""

    def __init__(self, review: Review, actor: Actor, policy: PolicyRow | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.review, self.actor_in, self.policy = review, actor, policy
        self.setWindowTitle(self.tr("New policy") if policy is None else self.tr("Edit policy"))
        self.name_edit = QLineEdit(policy.name if policy else "", self)
        self.name_edit.setMaxLength(120)
        self.query_edit = QPlainTextEdit(self)
        self.query_edit.setPlainText(policy.query if policy else "")
        self.query_edit.setPlaceholderText(self.tr('e.g. 返现 OR 回扣 OR "私下转账"'))
        self.query_edit.setTabChangesFocus(True)
        self.query_edit.setFixedHeight(self.fontMetrics().lineSpacing() * 4 + 12)
        self.query_error = MessageLine(self)
        self.schedule_combo = QComboBox(self)
        for key in SCHEDULE_KEYS:
            self.schedule_combo.addItem(schedule_text(key), key)
        self.schedule_combo.setCurrentIndex(max(0, self.schedule_combo.findData(policy.schedule if policy
                                                                                else "sync")))
        self.assignee_edit = QLineEdit(policy.assignee or "" if policy else "", self)
        self.assignee_edit.setPlaceholderText(self.tr("user name of a reviewer; empty: nobody"))
        self.description_edit = QLineEdit(policy.description if policy else "", self)
        self.enabled_check = QCheckBox(self.tr("Enabled: raises alerts"), self)
        self.enabled_check.setChecked(policy.enabled if policy else True)
        self.enabled_check.setVisible(policy is not None)  # a new policy is enabled
        form = QFormLayout()
        form.addRow(self.tr("Name:"), self.name_edit)
        form.addRow(self.tr("Query:"), self.query_edit)
        form.addRow("", self.query_error)
        form.addRow(self.tr("Runs:"), self.schedule_combo)
        form.addRow(self.tr("Assign alerts to:"), self.assignee_edit)
        form.addRow(self.tr("Description:"), self.description_edit)
        form.addRow("", self.enabled_check)
        self._arrange([form],
                      self.tr("The query is written as in the search box. Each new match raises an alert: one "
                              "per conversation and day. A new policy looks at what arrives from now on; "
                              "Run now… can look back."),
                      [self.name_edit, self.query_edit, self.schedule_combo, self.assignee_edit, self.description_edit, self.enabled_check])
        self.query_edit.textChanged.connect(self.check_query)
        self.name_edit.textChanged.connect(self.check_query)
        self.setMinimumWidth(620)
        self.check_query()

    def query_problem(self) -> str | None:
        """What the core says is wrong with the query (None: it is a policy's query)."""
        query = self.query_edit.toPlainText()
        if not query.strip():
            return None  # nothing typed yet is said by problem(), not in red while typing
        try:
            check_policy_query(query)
        except ReviewError as exc:
            try:  # a mistake of the query language: said as the search panel says it, in the UI's language
                parse_query(query)
            except QueryError as mistake:
                return mistake_text(mistake)
            return refusal_text(exc)  # parses, but is no policy's query (reviewed:me)
        return None

    def check_query(self) -> bool:
        problem = self.query_problem()
        self.query_error.show_error(problem or "")
        self.ok_button.setEnabled(problem is None and not self._busy)
        return problem is None

    def _set_busy(self, busy: bool) -> None:
        super()._set_busy(busy)
        if not busy:
            self.check_query()

    def problem(self) -> str | None:
        if not self.name_edit.text().strip():
            return self.tr("Give the policy a name.")
        if not self.query_edit.toPlainText().strip():
            return self.tr("Write the policy's query.")
        return self.query_problem()

    def work(self):
        policies, actor, policy = self.review.policies, self.actor_in, self.policy
        name, query = self.name_edit.text(), self.query_edit.toPlainText()
        schedule, description = self.schedule_combo.currentData(), self.description_edit.text()
        assignee = self.assignee_edit.text().strip() or None
        if policy is None:
            return lambda: policies.create(actor, name, query, schedule=schedule, description=description,
                                           assignee=assignee)
        enabled = self.enabled_check.isChecked()
        if assignee == policy.assignee:  # unchanged: not checked again (its account may have changed since)
            return lambda: policies.update(actor, policy.id, name=name, query=query, schedule=schedule,
                                           description=description, enabled=enabled)
        return lambda: policies.update(actor, policy.id, name=name, query=query, schedule=schedule,
                                       description=description, assignee=assignee,
                                       clear_assignee=assignee is None, enabled=enabled)


def local_midnight_ms(day: date) -> int:
    return int(datetime.combine(day, time()).astimezone().timestamp() * 1000)


class RunPolicyDialog(ReviewEditor):
    """Run one policy now: on what arrived since it last ran, or looking back over every message
    since a day (through the search index). :attr:`outcome` is the core's RunReport."""

    def __init__(self, review: Review, actor: Actor, search, policy: PolicyRow, parent: QWidget | None = None):
        super().__init__(parent)
        self.review, self.actor_in, self.search, self.policy = review, actor, search, policy
        self.setWindowTitle(self.tr("Run “%1” now").replace("%1", display_name(policy.name)))
        self.ok_button.setText(self.tr("Run"))
        self.new_radio = QRadioButton(self.tr("On the messages stored since it last ran"), self)
        self.since_radio = QRadioButton(self.tr("On every message since:"), self)
        self.since_date = QDateEdit(self)
        self.since_date.setCalendarPopup(True)
        self.since_date.setDisplayFormat("yyyy-MM-dd")
        self.since_date.setDate(QDate.currentDate().addDays(-30))
        self.new_radio.setChecked(True)
        self.since_radio.toggled.connect(self.since_date.setEnabled)
        self.since_date.setEnabled(False)
        since_row = QHBoxLayout()
        since_row.addWidget(self.since_radio)
        since_row.addWidget(self.since_date)
        since_row.addStretch(1)
        self._arrange([self.new_radio, since_row],
                      self.tr("Alerts are raised as after a sync; a message already a hit of this policy "
                              "raises nothing again. Looking back reads the search index: a long period takes "
                              "a while."),
                      [self.new_radio, self.since_radio, self.since_date])
        self.setMinimumWidth(520)

    def set_since(self, day: date | None) -> None:
        """Choose "since ``day``" (None: what arrived since the last run)."""
        (self.since_radio if day is not None else self.new_radio).setChecked(True)
        if day is not None:
            self.since_date.setDate(QDate(day.year, day.month, day.day))

    def busy_text(self) -> str:
        return self.tr("Running the policy…")

    def work(self):
        policies, actor, search, pid = self.review.policies, self.actor_in, self.search, self.policy.id
        since = None
        if self.since_radio.isChecked():
            since = local_midnight_ms(self.since_date.date().toPython())
        return lambda: policies.run(actor, [pid], since_ms=since, search=search)


class ValuesCompleter(QCompleter):
    """Completes the value being typed after the last comma of a list ("zhangwei, li" offers
    LiNa…): matched anywhere in an entry's text, the entry's UserRole value put in."""

    def __init__(self, entries: list[tuple[str, str]], parent: QLineEdit):
        """``entries``: (text shown and matched, value put in)."""
        model = QStandardItemModel(parent)
        for text, value in entries:
            item = QStandardItem(text)
            item.setData(value, Qt.ItemDataRole.UserRole)
            model.appendRow(item)
        super().__init__(model, parent)
        self.edit = parent
        self.setFilterMode(Qt.MatchFlag.MatchContains)
        self.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        parent.setCompleter(self)

    def splitPath(self, path: str) -> list[str]:  # noqa: N802 - Qt's name
        return [_split_head(path)[1].strip()]

    def pathFromIndex(self, index) -> str:  # noqa: N802 - Qt's name
        head, _last = _split_head(self.edit.text())
        return head + str(index.data(Qt.ItemDataRole.UserRole))


def _split_head(text: str) -> tuple[str, str]:
    """("a, b, ", "c") of "a, b, c": what precedes the value being typed, and that value."""
    cut = max(text.rfind(","), text.rfind("，")) + 1
    head = text[:cut]
    return (head + " " if head and not head.endswith(" ") else head), text[cut:]


class RuleDialog(ReviewEditor):
    """A sampling rule: name, staff group (userids and departments, as an account's scope names
    them; the directory's ``staff`` offered while typing) and the weekly size (a percentage or a
    number of conversations)."""

    def __init__(self, review: Review, actor: Actor, rule: RuleRow | None = None, *,
                 staff: Sequence[StaffMember] = (), parent: QWidget | None = None):
        super().__init__(parent)
        self.review, self.actor_in, self.rule = review, actor, rule
        self.setWindowTitle(self.tr("New sampling rule") if rule is None else self.tr("Edit sampling rule"))
        self.name_edit = QLineEdit(rule.name if rule else "", self)
        self.name_edit.setMaxLength(120)
        self.staff_edit = QLineEdit(", ".join(rule.userids) if rule else "", self)
        self.staff_edit.setPlaceholderText(self.tr("staff userids, separated by commas"))
        self.departments_edit = QLineEdit(", ".join(rule.departments) if rule else "", self)
        self.departments_edit.setPlaceholderText(self.tr("departments, separated by commas"))
        if staff:
            ValuesCompleter([(f"{m.name} ({m.userid})" + (f" — {m.department}" if m.department else ""), m.userid)
                             for m in staff], self.staff_edit)
            departments = sorted({m.department for m in staff if m.department})
            ValuesCompleter([(d, d) for d in departments], self.departments_edit)
        self.percent_radio = QRadioButton(self.tr("A percentage of the week's conversations:"), self)
        self.sessions_radio = QRadioButton(self.tr("A number of conversations:"), self)
        self._size_group = QButtonGroup(self)
        for b in (self.percent_radio, self.sessions_radio):
            self._size_group.addButton(b)
        self.percent_spin = QSpinBox(self)
        self.percent_spin.setRange(1, 100)
        self.percent_spin.setSuffix(" %")
        self.percent_spin.setValue(rule.percent if rule and rule.percent else 10)
        self.sessions_spin = QSpinBox(self)
        self.sessions_spin.setRange(1, 10_000)
        self.sessions_spin.setValue(rule.sessions if rule and rule.sessions else 5)
        (self.sessions_radio if rule and rule.sessions else self.percent_radio).setChecked(True)
        self.percent_radio.toggled.connect(self._update_size)
        size = QFormLayout()
        size.addRow(self.percent_radio, self.percent_spin)
        size.addRow(self.sessions_radio, self.sessions_spin)
        form = QFormLayout()
        form.addRow(self.tr("Name:"), self.name_edit)
        form.addRow(self.tr("Staff:"), self.staff_edit)
        form.addRow(self.tr("Departments:"), self.departments_edit)
        form.addRow(self.tr("Each week:"), size)
        self._arrange([form],
                      self.tr("Each week's sample is chosen at random among the conversations a member of the "
                              "group took part in that week and that raised no alert. The seed of each draw "
                              "is kept, so that an auditor can reproduce it."),
                      [self.name_edit, self.staff_edit, self.departments_edit, self.percent_radio, self.sessions_radio, self.percent_spin, self.sessions_spin])
        self._update_size()
        self.setMinimumWidth(600)

    def _update_size(self) -> None:
        self.percent_spin.setEnabled(self.percent_radio.isChecked() and not self._busy)
        self.sessions_spin.setEnabled(self.sessions_radio.isChecked() and not self._busy)

    def _set_busy(self, busy: bool) -> None:
        super()._set_busy(busy)
        self._update_size()

    def problem(self) -> str | None:
        if not self.name_edit.text().strip():
            return self.tr("Give the rule a name.")
        if not _split(self.staff_edit.text()) and not _split(self.departments_edit.text()):
            return self.tr("Name the staff or the departments whose conversations are sampled.")
        return None

    def work(self):
        sampling, actor, rule = self.review.sampling, self.actor_in, self.rule
        name, userids, departments = self.name_edit.text(), _split(self.staff_edit.text()), \
            _split(self.departments_edit.text())
        percent = self.percent_spin.value() if self.percent_radio.isChecked() else None
        sessions = self.sessions_spin.value() if self.sessions_radio.isChecked() else None
        if rule is None:
            return lambda: sampling.create_rule(actor, name, userids=userids, departments=departments,
                                                percent=percent, sessions=sessions)
        return lambda: sampling.update_rule(actor, rule.id, name=name, userids=userids, departments=departments,
                                            percent=percent, sessions=sessions)


def last_week() -> date:
    """A day of last week (a draw's default: the last full week)."""
    return date.today() - timedelta(days=7)


class DrawDialog(ReviewEditor):
    """Draw a rule's sample of one week now. :attr:`outcome` is the core's DrawRow."""

    def __init__(self, review: Review, actor: Actor, rule: RuleRow, parent: QWidget | None = None):
        super().__init__(parent)
        self.review, self.actor_in, self.rule = review, actor, rule
        self.setWindowTitle(self.tr("Draw “%1” now").replace("%1", display_name(rule.name)))
        self.ok_button.setText(self.tr("Draw"))
        self.week_date = QDateEdit(self)
        self.week_date.setCalendarPopup(True)
        self.week_date.setDisplayFormat("yyyy-MM-dd")
        self.set_week(last_week())
        form = QFormLayout()
        form.addRow(self.tr("The week holding:"), self.week_date)
        self._arrange([form],
                      self.tr("The week runs from Monday 00:00 to the next Monday, local time. A week is "
                              "drawn once per rule; the sample goes to the reviewers' queue (My sample)."),
                      [self.week_date])
        self.setMinimumWidth(480)

    def set_week(self, day: date) -> None:
        self.week_date.setDate(QDate(day.year, day.month, day.day))

    def busy_text(self) -> str:
        return self.tr("Drawing…")

    def work(self):
        sampling, actor, rule, day = self.review.sampling, self.actor_in, self.rule, self.week_date.date().toPython()
        return lambda: sampling.draw(actor, rule.id, week=day)
