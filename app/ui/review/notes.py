"""The notes side panel: the reviewers' notes of the selected message and of its conversation, with
author and time; add a note; editing one's own note adds a version (the earlier ones stay), others'
notes are read-only. A chosen note that was edited offers its earlier versions ("edited · 2 earlier
versions"), each with author and time, read-only. Texts are plain text (never HTML); an auditor
sees who wrote when, not what."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.review import NoteRow, NoteVersion
from app.core.safe_text import display_name, display_text

from ..counts import count_text
from ..tasks import run_task
from .common import refusal_text, when
from .viewer_review import ViewerReview


class NotesPane(QWidget):
    """Follows the viewer's current message (``viewer_review``); GUI thread only."""

    versions_shown = Signal()  # the earlier versions of the chosen note were read and are listed

    def __init__(self, viewer_review: ViewerReview, parent: QWidget | None = None):
        super().__init__(parent)
        self.vr = viewer_review
        self.heading = QLabel(self)
        self.heading.setTextFormat(Qt.TextFormat.PlainText)
        self.heading.setWordWrap(True)
        self.list = QListWidget(self)
        self.list.setWordWrap(True)
        self.list.setAccessibleName(self.tr("Notes"))
        # the chosen note's earlier versions: folded under a switch that says how many there are
        self.versions_button = QToolButton(self)
        self.versions_button.setCheckable(True)
        self.versions_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.versions_button.setArrowType(Qt.ArrowType.RightArrow)
        self.versions_button.setAutoRaise(True)
        self.versions_button.hide()
        self.versions = QListWidget(self)
        self.versions.setWordWrap(True)
        self.versions.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.versions.setSpacing(3)  # one version from the next
        self.versions.setAccessibleName(self.tr("Earlier versions"))
        self.versions.hide()
        self.editor = QPlainTextEdit(self)
        self.editor.setPlaceholderText(self.tr("Write a note…"))
        self.editor.setMaximumHeight(110)
        self.add_message_button = QPushButton(self.tr("Add to message"), self)
        self.add_session_button = QPushButton(self.tr("Add to conversation"), self)
        self.edit_button = QPushButton(self.tr("Edit"), self)
        self.save_button = QPushButton(self.tr("Save new version"), self)
        self.result = QLabel(self)
        self.result.setTextFormat(Qt.TextFormat.PlainText)
        self.result.setWordWrap(True)
        self._editing: int | None = None  # the note whose new version the editor holds
        self._versions_of: int | None = None  # the note whose earlier versions the switch shows

        buttons = QHBoxLayout()
        for b in (self.add_message_button, self.add_session_button):
            buttons.addWidget(b)
        edit_row = QHBoxLayout()
        edit_row.addWidget(self.edit_button)
        edit_row.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.heading)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.versions_button)
        layout.addWidget(self.versions)
        layout.addLayout(edit_row)
        layout.addWidget(self.editor)
        layout.addLayout(buttons)
        layout.addWidget(self.result)

        self.add_message_button.clicked.connect(lambda: self.add(on_message=True))
        self.add_session_button.clicked.connect(lambda: self.add(on_message=False))
        self.edit_button.clicked.connect(self.start_edit)
        self.save_button.clicked.connect(self.save_version)
        self.list.currentItemChanged.connect(lambda *_: self._update_buttons())
        self.list.currentItemChanged.connect(lambda *_: self._update_versions())
        self.versions_button.toggled.connect(self.show_versions)
        self.editor.textChanged.connect(self._update_buttons)
        self.vr.current_changed.connect(self.refresh)
        self.vr.loaded.connect(self.refresh)
        self.refresh()

    # ------------------------------------------------------------------ showing
    def shown_notes(self) -> list[NoteRow]:
        """The notes of the current message, then those of its conversation, oldest first."""
        mid = self.vr.current_id()
        notes = self.vr.notes()
        return [n for n in notes if mid is not None and n.message_id == mid] + \
            [n for n in notes if n.message_id is None]

    def refresh(self) -> None:
        session = self.vr.session()
        mid = self.vr.current_id()
        if session is None:
            self.heading.setText(self.tr("Choose a conversation to read and write notes."))
        elif mid is None:
            self.heading.setText(self.tr("Notes on this conversation"))
        else:
            self.heading.setText(self.tr("Notes on the selected message and its conversation"))
        self.list.clear()
        for note in self.shown_notes():
            item = QListWidgetItem(self.note_text(note))  # a list item's text is never rich text
            item.setData(Qt.ItemDataRole.UserRole, note.id)
            if not note.mine:
                item.setToolTip(self.tr("Only its author may change a note."))
            self.list.addItem(item)
        if self.list.count() == 0 and session is not None:
            self.list.addItem(QListWidgetItem(self.tr("No notes yet.")))
        self._update_buttons()
        self._update_versions()

    def note_text(self, note: NoteRow) -> str:
        where = self.tr("on the message") if note.message_id else self.tr("on the conversation")
        head = f"{display_name(note.author)} · {when(note.created_at)} · {where}"
        if note.version > 1:
            head += " · " + self.tr("edited %1 (version %2)").replace("%1", when(note.updated_at)).replace(
                "%2", str(note.version))
        body = display_text(note.text) if note.text is not None else \
            self.tr("(The text is hidden: your account sees who wrote a note and when, not what.)")
        return f"{head}\n{body}"

    def _selected_note(self) -> NoteRow | None:
        item = self.list.currentItem()
        note_id = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        return next((n for n in self.vr.notes() if n.id == note_id), None)

    def _update_buttons(self) -> None:
        session = self.vr.session() is not None
        write = self.vr.can_write and session
        has_text = bool(self.editor.toPlainText().strip())
        note = self._selected_note()
        self.add_message_button.setEnabled(write and has_text and self._editing is None
                                           and self.vr.current_id() is not None)
        self.add_session_button.setEnabled(write and has_text and self._editing is None)
        self.edit_button.setEnabled(write and note is not None and note.mine and note.text is not None)
        self.save_button.setEnabled(write and self._editing is not None and has_text)
        for w in (self.editor, self.add_message_button, self.add_session_button, self.edit_button, self.save_button):
            w.setVisible(self.vr.can_write)

    # ------------------------------------------------------------------ earlier versions
    def _update_versions(self) -> None:
        """The switch for the chosen note's earlier versions (folded whenever the choice changes)."""
        note = self._selected_note()
        earlier = note.version - 1 if note is not None else 0
        self.versions_button.blockSignals(True)
        self.versions_button.setChecked(False)
        self.versions_button.blockSignals(False)
        self.versions_button.setArrowType(Qt.ArrowType.RightArrow)
        self.versions.hide()
        self.versions.clear()
        self.versions_button.setText(count_text(earlier, self.tr("edited · 1 earlier version"),
                                                self.tr("edited · %1 earlier versions")))
        self.versions_button.setVisible(earlier > 0)
        self._versions_of = note.id if earlier > 0 and note is not None else None

    def show_versions(self, shown: bool = True) -> None:
        """Unfold (read off the GUI thread) or fold the chosen note's earlier versions."""
        self.versions_button.setChecked(shown)
        self.versions_button.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        self.versions.setVisible(shown)
        note = self._selected_note()
        if not shown or note is None or note.id != self._versions_of:
            return
        notes, actor = self.vr.review.notes, self.vr.actor

        def done(history: list[NoteVersion]) -> None:
            if self._versions_of != note.id or not self.versions_button.isChecked():
                return  # another note was chosen meanwhile
            self.versions.clear()
            for v in reversed([v for v in history if v.version < note.version]):  # the newest first
                self.versions.addItem(QListWidgetItem(self.version_text(note, v)))  # plain text
            self.versions_shown.emit()

        run_task(self, lambda: notes.history(actor, note.id), done, self._failed)

    def version_text(self, note: NoteRow, version: NoteVersion) -> str:
        """One earlier version: its number, author (a note's versions are all its author's) and time."""
        head = self.tr("Version %1 · %2 · %3").replace("%1", str(version.version)) \
            .replace("%2", display_name(note.author)).replace("%3", when(version.at))
        body = display_text(version.text) if version.text is not None else \
            self.tr("(The text is hidden: your account sees who wrote a note and when, not what.)")
        return f"{head}\n{body}"

    # ------------------------------------------------------------------ writing
    def add(self, *, on_message: bool) -> bool:
        session = self.vr.session()
        mid = self.vr.current_id() if on_message else None
        text = self.editor.toPlainText()
        if session is None or not text.strip() or (on_message and mid is None):
            return False
        notes, actor = self.vr.review.notes, self.vr.actor
        run_task(self, lambda: notes.add(actor, session[0], session[1], text, message_id=mid),
                 lambda _note: self._written(self.tr("Note added.")), self._failed)
        return True

    def start_edit(self) -> None:
        note = self._selected_note()
        if note is None or not note.mine or note.text is None:
            return
        self._editing = note.id
        self.editor.setPlainText(note.text)
        self.editor.setFocus()
        self._update_buttons()

    def save_version(self) -> bool:
        if self._editing is None:
            return False
        note_id, text = self._editing, self.editor.toPlainText()
        notes, actor = self.vr.review.notes, self.vr.actor
        run_task(self, lambda: notes.edit(actor, note_id, text),
                 lambda note: self._written(self.tr("Saved as version %1; the earlier versions are kept.")
                                            .replace("%1", str(note.version))), self._failed)
        return True

    def _written(self, message: str) -> None:
        self._editing = None
        self.editor.clear()
        self.result.setText(message)
        self.vr.after_change()

    def _failed(self, exc: Exception) -> None:
        self.result.setText(refusal_text(exc))
