"""What the statistics, timeline, group-member and print panels share: a corp choice (shown when the
archive holds several), a From/To date range, local time text, and names beside ids."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QCoreApplication, QDate, QDateTime, QTime, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QDateEdit, QHBoxLayout, QWidget

from app.core.safe_text import display_name

from .tasks import run_task


def local_time(ms: int | None, seconds: bool = False) -> str:
    """``ms`` (UTC ms) as this computer's local time, "" for None."""
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def name_and_id(name: str, userid: str) -> str:
    """"Name (id)", or the id alone when there is no name; both made safe to show."""
    return f"{display_name(name)} ({display_name(userid)})" if name else display_name(userid)


def day_start_ms(day: QDate) -> int:
    """The first millisecond of ``day`` in this computer's zone."""
    return QDateTime(day, QTime(0, 0)).toMSecsSinceEpoch()


def ms_to_qdate(ms: int) -> QDate:
    return QDateTime.fromMSecsSinceEpoch(ms).date()


def conversation_title(ctx, actor, corp_id: int, roomid: str, participants, exclude: str = "") -> str:
    """A conversation's name for a list: the group's name, else the names of the people in it (but
    ``exclude``), with external contacts' corp tags; ids where the directory has no name. Reads the
    directory: call it off the GUI thread the first time for a corp."""
    d = ctx.directory
    if roomid:
        name = d.name(actor, corp_id, roomid)
        return display_name(name) if name else QCoreApplication.translate("Insights", "Group %1").replace(
            "%1", display_name(roomid))
    others = [p for p in participants if p != exclude] or list(participants)
    names = []
    for p in others[:4]:
        shown = display_name(d.label(actor, corp_id, p))
        tag = d.corp_tag(actor, corp_id, p)
        names.append(f"{shown} {display_name(tag)}" if tag else shown)
    return "、".join(names) + (" …" if len(others) > 4 else "")


class ReadsWhenShown:
    """For a docked panel (a QWidget subclass lists this first): it reads the archive only while
    shown — the first show reads, and a change of the archive while hidden is read at the next show —
    so that hidden panels cost nothing when the window opens or a sync ends. ``refresh()`` reads."""

    _stale = True

    def showEvent(self, event) -> None:
        super().showEvent(event)  # type: ignore[misc]
        if self._stale:
            self._stale = False
            self.refresh()

    def archive_changed(self) -> None:
        if self.isVisible():  # type: ignore[attr-defined]
            self.refresh()
        else:
            self._stale = True

    def refresh(self) -> None:
        raise NotImplementedError


class CorpBox(QComboBox):
    """The archive's corps (read off the GUI thread); hidden while there is only one."""

    loaded = Signal()

    def __init__(self, ctx, actor, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx, self.actor = ctx, actor
        self.setVisible(False)

    def reload(self) -> None:
        run_task(self, lambda: self.ctx.archive.corps(self.actor), self._read, lambda exc: self.loaded.emit())

    def _read(self, corps) -> None:
        current = self.currentData()
        self.blockSignals(True)
        self.clear()
        for c in corps:
            self.addItem(display_name(f"{c.name} ({c.corpid})" if c.name else c.corpid), c.id)
        self.setCurrentIndex(max(0, self.findData(current)) if current is not None else 0)
        self.blockSignals(False)
        self.setVisible(self.count() > 1)
        self.loaded.emit()

    def corp_id(self) -> int | None:
        return self.currentData()


class DateRange(QWidget):
    """"From [date]" and "To [date]", each used only when ticked; ``changed`` after any change."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.from_box = QCheckBox(self.tr("From"), self)
        self.to_box = QCheckBox(self.tr("To"), self)
        self.from_date = QDateEdit(self)
        self.to_date = QDateEdit(self)
        for edit in (self.from_date, self.to_date):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
        today = QDate.currentDate()
        self.from_date.setDate(today.addMonths(-1))
        self.to_date.setDate(today)
        self._user_set = False
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for w in (self.from_box, self.from_date, self.to_box, self.to_date):
            layout.addWidget(w)
        for box, edit in ((self.from_box, self.from_date), (self.to_box, self.to_date)):
            edit.setEnabled(False)
            box.toggled.connect(edit.setEnabled)
            box.toggled.connect(self._changed)
            edit.dateChanged.connect(self._edited)

    def _edited(self) -> None:
        self._user_set = True
        if self.sender() is self.from_date and self.from_box.isChecked() or \
                self.sender() is self.to_date and self.to_box.isChecked():
            self.changed.emit()

    def _changed(self) -> None:
        self._user_set = True
        self.changed.emit()

    def suggest(self, first_ms: int | None, last_ms: int | None) -> None:
        """Start the dates at the data's first and last day, unless the user has set them."""
        if self._user_set or first_ms is None or last_ms is None:
            return
        for edit, ms in ((self.from_date, first_ms), (self.to_date, last_ms)):
            edit.blockSignals(True)
            edit.setDate(ms_to_qdate(ms))
            edit.blockSignals(False)

    def set_range(self, start: QDate | None, end: QDate | None) -> None:
        for box, edit, day in ((self.from_box, self.from_date, start), (self.to_box, self.to_date, end)):
            box.blockSignals(True)
            box.setChecked(day is not None)
            edit.setEnabled(day is not None)
            box.blockSignals(False)
            if day is not None:
                edit.blockSignals(True)
                edit.setDate(day)
                edit.blockSignals(False)
        self._user_set = True
        self.changed.emit()

    def start_ms(self) -> int | None:
        return day_start_ms(self.from_date.date()) if self.from_box.isChecked() else None

    def end_ms(self) -> int | None:
        """The end (exclusive): the first millisecond after the To day."""
        return day_start_ms(self.to_date.date().addDays(1)) if self.to_box.isChecked() else None


__all__ = ["CorpBox", "DateRange", "ReadsWhenShown", "conversation_title", "day_start_ms", "local_time", "ms_to_qdate", "name_and_id"]
