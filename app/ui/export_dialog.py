"""The evidence-export dialog: what will be exported, a few options, the export off the GUI thread
with progress and Cancel, then the package's path and fingerprint.

Threads: app.core.export.export_package runs as a LongJob (app/ui/long_job.py) on its own QThread;
everything reaches the dialog through queued signals. Cancel is polled by the core after each
message; a cancelled export leaves nothing at the output path.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QDate, QDateTime, Qt, QTime, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QDateEdit,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.actor import Actor
from app.core.export import ExportCancelled, ExportResult, Selection, export_package
from app.core.export.signing import (
    ExportKeyError,
    check_new_passphrase,
    export_key_passphrase,
    passphrase_needed,
)
from app.ui.language import error_sentence

from .long_job import LongJob
from .tasks import run_task


def export_work(ctx, actor: Actor, selection: Selection, out_path: Path, *, pdf: bool = True,
                passphrase: str | None = None):
    """The work of one export, for a LongJob: progress values are ``(done, total)`` (total -1
    while unknown); ExportCancelled ends the job as cancelled."""

    def work(progress, cancelled) -> ExportResult:
        with export_key_passphrase(passphrase):  # of the export key, when it is kept encrypted (no keyring)
            return export_package(ctx, actor, selection, out_path, pdf=pdf, cancel=cancelled,
                                  progress=lambda done, total: progress((done, -1 if total is None else total)))

    return work


def ask_export_key_passphrase(parent: QWidget, need: str, show_error: Callable[[str], None]) -> str | None:
    """The export signing key's passphrase when this computer has no keyring (``need`` from
    :func:`passphrase_needed`): "unlock" asks for it once, "new" asks for a new one twice. None if
    cancelled or not acceptable (then ``show_error`` got the reason). Used by every dialog that signs
    with the export key (exports, backups)."""
    translate = QCoreApplication.translate  # literal calls below: pyside6-lupdate extracts them
    title = translate("ExportDialog", "Export signing key")
    echo = QLineEdit.EchoMode.Password
    if need != "new":
        text, ok = QInputDialog.getText(parent, title,
                                        translate("ExportDialog", "Passphrase of the export signing key:"), echo)
        return text if ok and text else None
    text, ok = QInputDialog.getText(
        parent, title, translate("ExportDialog", "This computer has no keyring: the export signing key is kept "
                                 "encrypted under a passphrase. Choose it (asked for at each export):"), echo)
    if not ok:
        return None
    again, ok = QInputDialog.getText(parent, title, translate("ExportDialog", "The same passphrase again:"), echo)
    if not ok:
        return None
    if again != text:
        show_error(translate("ExportDialog", "The two passphrases differ."))
        return None
    try:
        check_new_passphrase(text)
    except ExportKeyError as exc:
        show_error(error_sentence(exc))
        return None
    return text


def _start_of_day_ms(date: QDate) -> int:
    return QDateTime(date, QTime(0, 0)).toMSecsSinceEpoch()  # this computer's zone, like the viewer


class ExportDialog(QDialog):
    """Export ``selection`` as an evidence package. ``description`` (plain text, already translated)
    says what the selection is, e.g. "Session 销售二部".

    Signals mirror the worker's outcome, emitted on the GUI thread once its thread has ended:
    ``export_finished(ExportResult)``, ``export_cancelled()``, ``export_failed(message)``.
    Closing the dialog during an export cancels it and waits for the thread.
    """

    export_progressed = Signal(int, int)
    export_finished = Signal(object)
    export_cancelled = Signal()
    export_failed = Signal(str)

    def __init__(self, ctx, actor: Actor, selection: Selection, description: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx, self.actor, self.selection = ctx, actor, selection
        self.result: ExportResult | None = None
        self._job = LongJob("export", self, cancel_errors=(ExportCancelled,))
        self._job.progressed.connect(lambda report: self._on_progress(*report))
        self._job.succeeded.connect(lambda result: self._on_outcome(("finished", result)))
        self._job.cancelled.connect(lambda: self._on_outcome(("cancelled",)))
        self._job.failed.connect(lambda exc: self._on_outcome(("failed", error_sentence(exc))))
        self.setWindowTitle(self.tr("Export evidence"))
        self.setMinimumWidth(560)

        self.description_label = self._plain_label(description)
        form = QFormLayout()
        form.addRow(self.tr("Export:"), self.description_label)

        self.from_check = QCheckBox(self.tr("From"), self)
        self.to_check = QCheckBox(self.tr("To"), self)
        today = QDate.currentDate()
        self.from_date = self._date_edit(today.addMonths(-1))
        self.to_date = self._date_edit(today)
        self.context_spin = QDoubleSpinBox(self)
        self.context_spin.setRange(0, 24 * 30)
        self.context_spin.setDecimals(1)
        self.context_spin.setSuffix(self.tr(" h"))
        self.context_spin.setValue(12.0 if selection.context_hours is None else selection.context_hours)
        self.context_spin.setToolTip(self.tr("The conversation around each message that is also exported"))
        if selection.session_ids:
            dates = QHBoxLayout()
            for w in (self.from_check, self.from_date, self.to_check, self.to_date):
                dates.addWidget(w)
            dates.addStretch(1)
            self.from_check.toggled.connect(self.from_date.setEnabled)
            self.to_check.toggled.connect(self.to_date.setEnabled)
            form.addRow(self.tr("Dates:"), dates)
            self._read_session_dates(selection)
            self.context_spin.setVisible(False)  # parented to the dialog but in no layout
        else:
            for w in (self.from_check, self.from_date, self.to_check, self.to_date):
                w.setVisible(False)
            form.addRow(self.tr("Context (±hours):"), self.context_spin)

        self.folder_edit = QLineEdit(str(ctx.paths.data_dir / "exports"), self)
        self.folder_edit.setAccessibleName(self.tr("Output folder"))
        self.browse_button = QPushButton(self.tr("Browse…"), self)
        folder = QHBoxLayout()
        folder.addWidget(self.folder_edit, 1)
        folder.addWidget(self.browse_button)
        form.addRow(self.tr("Output folder:"), folder)
        self.zip_check = QCheckBox(self.tr("As a single zip file"), self)
        self.zip_check.setToolTip(self.tr("One .zip file holding the package folder, easy to send; "
                                          "`wecom-auditor verify` checks it without unzipping"))
        self.pdf_check = QCheckBox(self.tr("PDF transcripts"), self)
        self.pdf_check.setChecked(True)
        self.pdf_check.setToolTip(self.tr("A PDF per conversation besides the HTML transcript "
                                          "(slower for large exports)"))
        formats = QHBoxLayout()
        formats.addWidget(self.zip_check)
        formats.addWidget(self.pdf_check)
        formats.addStretch(1)
        form.addRow(self.tr("Package:"), formats)
        self.options = QWidget(self)
        self.options.setLayout(form)

        self.progress_bar = QProgressBar(self)
        self.progress_bar.setVisible(False)
        self.status_label = self._plain_label("")
        self.error_label = self._plain_label("")
        self.error_label.setStyleSheet("color: #b00020;")
        self.error_label.setVisible(False)

        self.summary = QWidget(self)
        summary_form = QFormLayout(self.summary)
        summary_form.setContentsMargins(0, 0, 0, 0)
        summary_form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)  # the fingerprint is 64 chars
        self.path_label = self._plain_label("", selectable=True)
        self.fingerprint_label = self._plain_label("", selectable=True)
        self.fingerprint_label.setFont(self._fixed_font())
        self.fingerprint_label.setWordWrap(False)
        self.counts_label = self._plain_label("")
        summary_form.addRow(self.tr("Saved as:"), self.path_label)
        summary_form.addRow(self.tr("Package fingerprint:"), self.fingerprint_label)
        summary_form.addRow(self.tr("Contents:"), self.counts_label)
        self.summary.setVisible(False)

        self.export_button = QPushButton(self.tr("Export"), self)
        self.export_button.setDefault(True)
        self.cancel_button = QPushButton(self.tr("Cancel export"), self)
        self.cancel_button.setVisible(False)
        self.open_folder_button = QPushButton(self.tr("Open folder"), self)
        self.open_folder_button.setVisible(False)
        self.close_button = QPushButton(self.tr("Close"), self)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for b in (self.open_folder_button, self.export_button, self.cancel_button, self.close_button):
            buttons.addWidget(b)

        layout = QVBoxLayout(self)
        layout.addWidget(self.options)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status_label)
        layout.addWidget(self.error_label)
        layout.addWidget(self.summary)
        layout.addStretch(1)
        layout.addLayout(buttons)

        self.browse_button.clicked.connect(self._browse)
        self.export_button.clicked.connect(self.start_export)
        self.cancel_button.clicked.connect(self.cancel_export)
        self.open_folder_button.clicked.connect(self.open_folder)
        self.close_button.clicked.connect(self.reject)

    # ------------------------------------------------------------------ widgets
    def _plain_label(self, text: str, *, selectable: bool = False) -> QLabel:
        label = QLabel(self)
        label.setTextFormat(Qt.TextFormat.PlainText)  # descriptions and paths may hold "<...>"
        label.setWordWrap(True)
        label.setText(text)
        if selectable:
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                          | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        return label

    def _read_session_dates(self, selection: Selection) -> None:
        """The date fields start at the conversations' first and last day (a month back from today
        may hold none of their messages), unless the user set them meanwhile."""
        from .search.panel import archive_dates

        defaults = (self.from_date.date(), self.to_date.date())
        archive, actor = self.ctx.archive, self.actor

        def apply(span) -> None:
            if span is not None and (self.from_date.date(), self.to_date.date()) == defaults:
                self.from_date.setDate(span[0])
                self.to_date.setDate(span[1])

        run_task(self, lambda: archive_dates(archive, actor, selection.corp_id, selection.session_ids), apply,
                 lambda exc: None)

    def _date_edit(self, date: QDate) -> QDateEdit:
        edit = QDateEdit(date, self)
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("yyyy-MM-dd")
        edit.setEnabled(False)
        return edit

    @staticmethod
    def _fixed_font():
        from PySide6.QtGui import QFontDatabase

        return QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Output folder"), self.folder_edit.text())
        if folder:
            self.folder_edit.setText(folder)

    def _show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))

    # ------------------------------------------------------------------ the export
    def is_running(self) -> bool:
        return self._job.is_running()

    def effective_selection(self) -> Selection | None:
        """The selection with the dialog's options; None (and an inline message) if they are wrong."""
        sel = self.selection
        if sel.session_ids:
            start = _start_of_day_ms(self.from_date.date()) if self.from_check.isChecked() else None
            end = _start_of_day_ms(self.to_date.date().addDays(1)) if self.to_check.isChecked() else None
            if start is not None and end is not None and end <= start:
                self._show_error(self.tr("The end date is before the start date."))
                return None
            return dataclasses.replace(sel, start_ms=start, end_ms=end)
        return dataclasses.replace(sel, context_hours=self.context_spin.value())

    def _output_path(self) -> Path | None:
        text = self.folder_edit.text().strip()
        if not text:
            self._show_error(self.tr("Choose an output folder."))
            return None
        folder = Path(text).expanduser()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self._show_error(self.tr("The output folder cannot be created: %1").replace("%1", str(exc)))
            return None
        stem = "evidence-" + QDateTime.currentDateTime().toString("yyyyMMdd-HHmmss")
        n = 2
        suffix = ".zip" if self.zip_check.isChecked() else ""
        out = folder / (stem + suffix)
        while out.exists():  # two exports in one second
            out, n = folder / f"{stem}-{n}{suffix}", n + 1
        return out

    @Slot()
    def start_export(self) -> bool:
        """Start the export with the dialog's options; False (with an inline message) if they are wrong."""
        if self._job.is_running():
            return False
        self._show_error("")
        selection = self.effective_selection()
        out = self._output_path() if selection is not None else None
        if selection is None or out is None:
            return False
        passphrase = None
        need = passphrase_needed(self.ctx.secrets, self.ctx.paths.data_dir)
        if need is not None:
            passphrase = self.ask_export_key_passphrase(need)
            if passphrase is None:
                return False
        self._job.start(export_work(self.ctx, self.actor, selection, out, pdf=self.pdf_check.isChecked(),
                                    passphrase=passphrase))
        self.options.setEnabled(False)
        self.export_button.setVisible(False)
        self.close_button.setEnabled(False)
        self.cancel_button.setVisible(True)
        self.cancel_button.setEnabled(True)
        self.progress_bar.setRange(0, 0)
        self.progress_bar.setVisible(True)
        self.status_label.setText(self.tr("Preparing the export…"))
        return True

    def ask_export_key_passphrase(self, need: str) -> str | None:
        """The export signing key's passphrase (see :func:`ask_export_key_passphrase`)."""
        return ask_export_key_passphrase(self, need, self._show_error)

    @Slot()
    def cancel_export(self) -> None:
        """Stop after the current message; the partial package is removed."""
        if self._job.cancel():
            self.cancel_button.setEnabled(False)
            self.status_label.setText(self.tr("Cancelling…"))

    def shutdown(self) -> None:
        """Cancel a running export and wait for its thread (at close). Emits no outcome."""
        self._job.shutdown()

    def _on_progress(self, done: int, total: int) -> None:
        if self._job.is_cancelling():
            return
        if total > 0:
            self.progress_bar.setRange(0, total)
            self.progress_bar.setValue(done)
            # two steps per message: the originals and media, then the transcripts
            phase = self.tr("Copying messages and media…") if done * 2 < total else self.tr("Writing transcripts…")
            self.status_label.setText(self.tr("%1 (%2%)").replace("%1", phase)
                                      .replace("%2", str(done * 100 // total)))
        else:
            self.status_label.setText(self.tr("Preparing the export…"))
        self.export_progressed.emit(done, total)

    def _on_outcome(self, outcome: tuple) -> None:
        """The job's outcome, on the GUI thread, after its thread has ended."""
        self.progress_bar.setVisible(False)
        self.cancel_button.setVisible(False)
        self.close_button.setEnabled(True)
        if outcome[0] == "finished":
            self._show_result(outcome[1])
            self.export_finished.emit(outcome[1])
            return
        self.options.setEnabled(True)
        self.export_button.setVisible(True)
        if outcome[0] == "cancelled":
            self.status_label.setText(self.tr("The export was cancelled; nothing was written."))
            self.export_cancelled.emit()
        else:
            self.status_label.setText("")
            self._show_error(self.tr("The export failed: %1").replace("%1", outcome[1]))
            self.export_failed.emit(outcome[1])

    def _show_result(self, result: ExportResult) -> None:
        self.result = result
        c = result.counts
        self.status_label.setText(self.tr("The evidence package is ready."))
        self.path_label.setText(str(result.path))
        self.fingerprint_label.setText(result.fingerprint)
        self.counts_label.setText(self.describe_counts(c))
        self.summary.setVisible(True)
        self.open_folder_button.setVisible(True)
        self.close_button.setDefault(True)

    def describe_counts(self, c: dict) -> str:
        """What the package holds, in the UI language, with singular and plural."""
        def count(n: int, one: str, many: str) -> str:
            return (one if n == 1 else many).replace("%1", str(n))

        parts = [count(c.get("messages", 0), self.tr("1 message"), self.tr("%1 messages")),
                 count(c.get("sessions", 0), self.tr("1 conversation"), self.tr("%1 conversations")),
                 count(c.get("media_files", 0), self.tr("1 media file"), self.tr("%1 media files"))]
        if c.get("hits"):
            parts.append(count(c["hits"], self.tr("1 hit"), self.tr("%1 hits")))
        if c.get("pdf_files"):
            parts.append(count(c["pdf_files"], self.tr("1 PDF transcript"), self.tr("%1 PDF transcripts")))
        text = self.tr(", ").join(parts)
        if c.get("media_missing"):
            text += self.tr("; %1 media not stored in the archive (listed in the load file)").replace(
                "%1", str(c["media_missing"]))
        return text

    @Slot()
    def open_folder(self) -> None:
        if self.result is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.result.path.parent)))

    # ------------------------------------------------------------------ closing
    def done(self, code: int) -> None:
        self.shutdown()  # closing mid-export cancels it; nothing is left behind
        super().done(code)

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)
