"""Verify an evidence package (a folder or a .zip) from the GUI: the same check as
`wecom-auditor verify`, off the GUI thread with its progress and a Cancel button, recorded in the audit
trail; every problem listed."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.actor import Actor
from app.core.export import VerifyCancelled, VerifyReport, export_records, verify_recorded
from app.core.export.verify import problem_in_chinese
from app.core.safe_text import display_name, display_text
from app.ui.language import error_sentence, ui_is_chinese

from .counts import count_text
from .long_job import LongJob
from .viewer.render import format_size


class VerifyDialog(QDialog):
    """Choose a package, check it, show OK or each problem. ``verified(VerifyReport)`` when done,
    ``failed(message)`` when it could not be checked, ``cancelled()`` when the user stopped it. Closing
    the dialog during a check cancels it and waits for its thread."""

    verified = Signal(object)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, ctx, actor: Actor, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx, self.actor = ctx, actor
        self.report: VerifyReport | None = None
        self.setWindowTitle(self.tr("Verify evidence package"))
        self.setMinimumSize(640, 380)
        self.path_edit = QLineEdit(self)
        self.path_edit.setPlaceholderText(self.tr("A package folder or .zip file"))
        self.folder_button = QPushButton(self.tr("Folder…"), self)
        self.zip_button = QPushButton(self.tr("Zip file…"), self)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(self.folder_button)
        row.addWidget(self.zip_button)
        self.progress_bar = QProgressBar(self)
        self.progress_bar.setVisible(False)
        self._job = LongJob("verify", self, cancel_errors=(VerifyCancelled,))
        self._job.progressed.connect(lambda report: self._on_progress(*report))
        self._job.succeeded.connect(self._done)
        self._job.failed.connect(self._failed)
        self._job.cancelled.connect(self._cancelled)
        self.status_label = QLabel(self)
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)
        self.status_label.setWordWrap(True)
        self.details = QPlainTextEdit(self)  # plain text: problem lines name files from the package
        self.details.setReadOnly(True)
        self.verify_button = QPushButton(self.tr("Verify"), self)
        self.verify_button.setDefault(True)
        self.cancel_button = QPushButton(self.tr("Cancel"), self)
        self.cancel_button.setVisible(False)
        self.close_button = QPushButton(self.tr("Close"), self)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.verify_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status_label)
        layout.addWidget(self.details, 1)
        layout.addLayout(buttons)
        self.folder_button.clicked.connect(self._choose_folder)
        self.zip_button.clicked.connect(self._choose_zip)
        self.verify_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.reject)

    def _choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, self.tr("Package folder"), self.path_edit.text())
        if path:
            self.path_edit.setText(path)

    def _choose_zip(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Package zip file"), self.path_edit.text(),
                                              self.tr("Zip files (*.zip)"))
        if path:
            self.path_edit.setText(path)

    @Slot()
    def start(self) -> bool:
        text = self.path_edit.text().strip()
        if self._job.is_running():
            return False
        if not text or not Path(text).expanduser().exists():
            self.status_label.setText(self.tr("Choose an existing package folder or .zip file."))
            return False
        path = Path(text).expanduser()
        self.status_label.setStyleSheet("")
        self.status_label.setText(self.tr("Checking every file and the signature…"))
        self.details.clear()
        ctx, actor = self.ctx, self.actor

        def check(progress, cancelled):
            report = verify_recorded(ctx.db, actor, path, progress=lambda done, total: progress((done, total)),
                                     cancel=cancelled)
            records = export_records(ctx.db, fingerprint=report.fingerprint, limit=1) if report.fingerprint else []
            return report, records[0] if records else None

        self._set_running(True)
        return self._job.start(check)

    @Slot()
    def cancel(self) -> bool:
        """Stop a running check (it says so when its thread has ended)."""
        if not self._job.cancel():
            return False
        self.cancel_button.setEnabled(False)
        self.status_label.setText(self.tr("Cancelling…"))
        return True

    def is_running(self) -> bool:
        return self._job.is_running()

    def _set_running(self, running: bool) -> None:
        for widget in (self.verify_button, self.path_edit, self.folder_button, self.zip_button):
            widget.setEnabled(not running)
        self.cancel_button.setVisible(running)
        self.cancel_button.setEnabled(running)
        self.progress_bar.setVisible(running)
        self.progress_bar.setRange(0, 0)

    def _on_progress(self, done: int, total: int) -> None:
        if self._job.is_cancelling() or total <= 0:
            return
        # bytes can pass 2 GiB: the bar counts per mille
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setValue(done * 1000 // total)
        self.status_label.setText(self.tr("Checking every file and the signature… %1 of %2")
                                  .replace("%1", format_size(done)).replace("%2", format_size(total)))

    def _cancelled(self) -> None:
        self._set_running(False)
        self.status_label.setText(self.tr("The check was cancelled; nothing was concluded about the package."))
        self.cancelled.emit()

    def done(self, code: int) -> None:
        self._job.shutdown()  # closing mid-check cancels it and waits for its thread
        super().done(code)

    def _done(self, result) -> None:
        report, record = result
        self.report = report
        self._set_running(False)
        lines = [problem_in_chinese(p) for p in report.problems] if ui_is_chinese() else list(report.problems)
        if record is not None:
            lines.append(self.tr("Recorded in this archive: exported by %1 on %2.")
                         .replace("%1", display_name(record["actor"])).replace("%2", display_name(record["workstation"])))
        if report.ok:
            self.status_label.setText(
                count_text(report.files_checked, self.tr("OK: 1 file matches; fingerprint %2; signed by key %3."),
                           self.tr("OK: %1 files match; fingerprint %2; signed by key %3.")).replace("%2", report.fingerprint or "")
                .replace("%3", report.key_fingerprint or ""))
            self.status_label.setStyleSheet("color: #1b5e20;")
        else:
            self.status_label.setText(count_text(len(report.problems), self.tr("FAILED: 1 problem (below)."),
                                                 self.tr("FAILED: %1 problems (listed below).")))
            self.status_label.setStyleSheet("color: #b00020;")
        self.details.setPlainText("\n".join(lines))
        self.verified.emit(report)

    def _failed(self, exc: BaseException) -> None:
        self._set_running(False)
        self.status_label.setStyleSheet("color: #b00020;")
        self.status_label.setText(self.tr("Not verified: %1").replace("%1", display_text(error_sentence(exc))))
        self.failed.emit(error_sentence(exc))
