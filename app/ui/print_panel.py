"""Printing a conversation: its PDF transcript, made by the export core (the same renderer, header,
page footer and package fingerprint as an evidence package's transcript), opened in the computer's
PDF viewer to print from there.

The transcript comes from a real evidence package of the one conversation (optionally a date range),
so it is recorded in the audit trail as an export like any other, and its pages carry the package's
fingerprint. The package is written to a private temporary folder (0700) that is removed when the
window closes (:meth:`PrintPanel.shutdown`); "Show folder" points at it for those who want to keep
it. The panel follows the conversation open in the window (``Navigator.session_shown``).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.actor import Actor
from app.core.auth import MESSAGES_READ, can
from app.core.context import AppContext
from app.core.export import ExportCancelled, ExportResult, Selection
from app.core.export.signing import passphrase_needed
from app.core.safe_text import display_name, display_text
from app.ui.language import error_sentence

from . import temp_copies
from .charts import plain_tooltip
from .counts import count_text
from .desktop import has_program_for
from .export_dialog import ask_export_key_passphrase, export_work
from .insight_common import CorpBox, DateRange, ReadsWhenShown, conversation_title, local_time
from .long_job import LongJob
from .panels import Navigator
from .sync.panel import fill
from .tasks import run_task

PATH_ROLE = Qt.ItemDataRole.UserRole + 1


def open_file(path: Path) -> bool:
    """Open ``path`` in the program the desktop associates with it; False if none did."""
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))


class PrintPanel(ReadsWhenShown, QWidget):
    """Make a conversation's PDF transcript for printing (see the module docstring)."""

    def __init__(self, ctx: AppContext, actor: Actor, navigator: Navigator, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx, self.actor, self.navigator = ctx, actor, navigator
        self.result: ExportResult | None = None
        self.pdfs: list[Path] = []
        self._folder: Path | None = None  # the private temporary folder of this window's transcripts
        self._wanted: str | None = None
        self._make_when_listed: str | None = None  # print_session's conversation, once it is listed
        self._spans: dict[str, tuple[int, int, int]] = {}  # session id -> first and last message time, count
        self._job = LongJob("print-transcript", self, cancel_errors=(ExportCancelled,))
        self._job.progressed.connect(self._progress)
        self._job.succeeded.connect(self._made)
        self._job.failed.connect(lambda exc: self._ended(fill(self.tr("The transcript could not be made: %1"),
                                                              display_text(error_sentence(exc)))))
        self._job.cancelled.connect(lambda: self._ended(self.tr("Cancelled; nothing was kept.")))
        self.corp_box = CorpBox(ctx, actor, self)
        self.session_box = QComboBox(self)
        self.session_box.setMinimumContentsLength(24)
        self.session_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.range = DateRange(self)
        self.make_button = QPushButton(self.tr("Make PDF and open it"), self)
        self.cancel_button = QPushButton(self.tr("Cancel"), self)
        self.cancel_button.setVisible(False)
        self.progress_bar = QProgressBar(self)
        self.progress_bar.setVisible(False)
        self.status = QLabel(self)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)
        self.volumes = QListWidget(self)
        self.volumes.setMaximumHeight(90)
        self.volumes.setVisible(False)  # until a transcript is made
        self.open_button = QPushButton(self.tr("Open PDF"), self)
        self.folder_button = QPushButton(self.tr("Show folder"), self)
        for b in (self.open_button, self.folder_button):
            b.setEnabled(False)
            b.setVisible(False)
        note = QLabel(self.tr("The transcript is the PDF of an evidence package of this conversation (recorded in the "
                              "audit trail as an export). Print it from the PDF viewer. The package is kept in a "
                              "private temporary folder until the window closes."), self)
        note.setWordWrap(True)
        note.setTextFormat(Qt.TextFormat.PlainText)
        top = QHBoxLayout()
        top.addWidget(self.corp_box)
        top.addWidget(QLabel(self.tr("Conversation:"), self))
        top.addWidget(self.session_box, 1)
        second = QHBoxLayout()
        second.addWidget(QLabel(self.tr("Only messages"), self))
        second.addWidget(self.range)
        second.addStretch(1)
        second.addWidget(self.make_button)
        second.addWidget(self.cancel_button)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.folder_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(second)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status)
        layout.addWidget(self.volumes)
        layout.addLayout(buttons)
        layout.addWidget(note)
        layout.addStretch(1)

        self.corp_box.loaded.connect(self._load_sessions)
        self.corp_box.currentIndexChanged.connect(self._load_sessions)
        self.session_box.currentIndexChanged.connect(lambda _i: self._session_changed())
        self.make_button.clicked.connect(self.make)
        self.cancel_button.clicked.connect(self._job.cancel)
        self.open_button.clicked.connect(self.open_pdf)
        self.folder_button.clicked.connect(self.show_folder)
        self.volumes.itemDoubleClicked.connect(lambda item: self._open(Path(item.data(PATH_ROLE))))
        navigator.session_shown.connect(self.follow)
        if not can(actor, MESSAGES_READ):  # a transcript is read content: exports start from what one reads
            self.make_button.setEnabled(False)
            self.status.setText(self.tr("Printing a conversation needs an account that may read it (the "
                                        "reviewer role) besides the exporter role."))
        navigator.archive_changed.connect(self.archive_changed)

    # ------------------------------------------------------------------ the conversation
    def refresh(self) -> None:
        self.corp_box.reload()

    def _load_sessions(self) -> None:
        corp_id = self.corp_box.corp_id()
        if corp_id is None or not can(self.actor, MESSAGES_READ):
            return

        def read():
            rows = self.ctx.archive.sessions(self.actor, corp_id, limit=2000)
            return [(s.session_id, conversation_title(self.ctx, self.actor, corp_id, s.roomid, s.participants),
                     s.first_msgtime, s.last_msgtime, s.message_count) for s in rows]

        run_task(self, read, self._sessions_read, lambda exc: self.status.setText(display_text(error_sentence(exc))))

    def _sessions_read(self, sessions) -> None:
        current = self._wanted or self.session_box.currentData()
        self.session_box.blockSignals(True)
        self.session_box.clear()
        self._spans = {}
        for session_id, title, first, last, count in sessions:
            self.session_box.addItem(title or display_name(session_id), session_id)
            self._spans[session_id] = (first, last, count)
        i = self.session_box.findData(current) if current else -1
        self.session_box.setCurrentIndex(max(0, i) if self.session_box.count() else -1)
        self.session_box.blockSignals(False)
        self._wanted = None
        self._session_changed()
        if self._make_when_listed is not None:
            wanted, self._make_when_listed = self._make_when_listed, None
            if self.session_box.currentData() == wanted:
                self.make()

    def _session_changed(self) -> None:
        """The dates start at the conversation's first and last day (unless the user set them)."""
        span = self._spans.get(self.session_box.currentData())
        if span is not None and not self._job.is_running():
            first, last, count = span
            self.range.suggest(first, last)
            self.status.setText(fill(self.tr("%1 from %2 to %3."), count_text(count, self.tr("1 message"),
                                                                               self.tr("%1 messages")),
                                     local_time(first), local_time(last)))

    def follow(self, corp_id: int, session_id: str) -> None:
        """The window shows ``session_id``: make it the conversation to print."""
        if self.corp_box.count() == 0:  # not read yet (hidden until now): chosen once it is
            self._wanted = session_id
            return
        if corp_id != self.corp_box.corp_id():
            i = self.corp_box.findData(corp_id)
            if i < 0:
                return
            self._wanted = session_id
            self.corp_box.setCurrentIndex(i)
            return
        i = self.session_box.findData(session_id)
        if i >= 0:
            self.session_box.setCurrentIndex(i)
        else:  # newer than the list (or the list is still being read)
            self._wanted = session_id
            self._load_sessions()

    def print_session(self, corp_id: int, session_id: str) -> None:
        """Make and open the transcript of ``session_id`` (the window's File → Print conversation…),
        as soon as the conversation list holds it."""
        self.follow(corp_id, session_id)
        if self.session_box.currentData() == session_id and self.corp_box.corp_id() == corp_id:
            self.make()
        else:
            self._make_when_listed = session_id

    # ------------------------------------------------------------------ the transcript
    def make(self) -> bool:
        """Start making the transcript of the chosen conversation; False if nothing was started."""
        corp_id, session_id = self.corp_box.corp_id(), self.session_box.currentData()
        if corp_id is None or not session_id or self._job.is_running() or not can(self.actor, MESSAGES_READ):
            return False
        passphrase = None
        need = passphrase_needed(self.ctx.secrets, self.ctx.paths.data_dir)
        if need:
            passphrase = ask_export_key_passphrase(self, need, self.status.setText)
            if passphrase is None:
                return False
        if self._folder is None:
            # 0700, named by the process: a crashed run's is removed at the next start (temp_copies)
            self._folder = temp_copies.new_folder(temp_copies.PRINT_PREFIX)
        out = self._folder / f"transcript-{session_id[:12]}-{len(list(self._folder.iterdir())) + 1}"
        selection = Selection(session_ids=(session_id,), corp_id=corp_id, start_ms=self.range.start_ms(),
                              end_ms=self.range.end_ms())
        self.result, self.pdfs = None, []
        self.volumes.clear()
        for b in (self.open_button, self.folder_button):
            b.setEnabled(False)
        self.make_button.setEnabled(False)
        self.cancel_button.setVisible(True)
        self.progress_bar.setRange(0, 0)
        self.progress_bar.setVisible(True)
        self.status.setText(self.tr("Making the transcript…"))
        return self._job.start(export_work(self.ctx, self.actor, selection, out, pdf=True, passphrase=passphrase))

    def _progress(self, report) -> None:
        done, total = report
        if total > 0:
            self.progress_bar.setRange(0, total)
            self.progress_bar.setValue(min(done, total))

    def _ended(self, text: str) -> None:
        self.progress_bar.setVisible(False)
        self.cancel_button.setVisible(False)
        self.make_button.setEnabled(True)
        self.status.setText(text)

    def _made(self, result: ExportResult) -> None:
        self.result = result
        self.pdfs = sorted((result.path / "data" / "transcripts").glob("*.pdf"),
                           key=lambda p: (len(p.name), p.name))  # volume 1, then -2, -3 …
        self._ended(fill(self.tr("Transcript made (package %1): %2 PDF file(s), %3 messages."),
                         result.fingerprint[:16], len(self.pdfs), result.counts.get("messages", 0)))
        for pdf in self.pdfs:
            item = QListWidgetItem(display_name(pdf.name), self.volumes)
            item.setData(PATH_ROLE, str(pdf))
            item.setToolTip(plain_tooltip(str(pdf)))
        self.open_button.setEnabled(bool(self.pdfs))
        self.folder_button.setEnabled(True)
        for w in (self.volumes, self.open_button, self.folder_button):
            w.setVisible(True)
        if self.pdfs:
            self._open(self.pdfs[0])

    def _open(self, path: Path) -> None:
        """Hand ``path`` to the desktop's program for its type, after asking whether there is one
        (xdg-open says yes to everything; app/ui/desktop.py), off the GUI thread."""
        run_task(self, lambda: has_program_for(path.name), lambda known: self._open_checked(path, known),
                 lambda _exc: self._open_checked(path, None))

    def _open_checked(self, path: Path, known: bool | None) -> None:
        if known is False or not open_file(path):
            self.status.setText(fill(self.tr("No program on this computer opens PDF files; the transcript is at %1"),
                                     display_name(str(path))))

    def open_pdf(self) -> None:
        item = self.volumes.currentItem()
        if item is not None:
            self._open(Path(item.data(PATH_ROLE)))
        elif self.pdfs:
            self._open(self.pdfs[0])

    def show_folder(self) -> None:
        if self.result is not None:
            self._open(self.result.path / "data" / "transcripts")

    def shutdown(self) -> None:
        """Stop a transcript being made and remove the temporary folder (the window closes)."""
        self._job.shutdown()
        if self._folder is not None:
            temp_copies.discard(self._folder)
            self._folder = None


__all__ = ["PrintPanel", "open_file"]
