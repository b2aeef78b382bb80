""""Back up now…" and "Verify a backup…" in the window, for administrators (``backup.run``).

The same backup as ``wecom-auditor backup --to PATH [--full]`` (app.core.backup.make_backup: a
consistent copy of the database, the media files no earlier backup of the folder's chain holds, the
settings without secrets and a manifest signed with the export key, recorded in the audit trail) and
the same check as ``wecom-auditor backup verify PATH`` (app.core.backup.verify_backup), each run as a
LongJob (app/ui/long_job.py) with progress and Cancel. A cancelled backup leaves nothing in the folder
and the backups already there unchanged. The summary names the backup, its counts, the manifest's
SHA-256 and every media file that could not be backed up; a verification lists every problem.

Scheduled backups (how often, into which folder) are set in one place, Settings → Background jobs;
this dialog only says what they are. When this computer has no keyring the export key's passphrase
is asked for as the export dialog asks for it (app.ui.export_dialog.ask_export_key_passphrase).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.core.actor import Actor
from app.core.auth import BACKUP_RUN, can
from app.core.backup import (
    BackupCancelled,
    BackupReport,
    BackupResult,
    backup_ids,
    make_backup,
    verify_backup,
)
from app.core.backup.repository import BACKUP_ID, MANIFEST
from app.core.export.signing import export_key_passphrase, passphrase_needed
from app.core.safe_text import display_name, display_text
from app.ui.language import error_sentence

from .counts import count_text
from .export_dialog import ask_export_key_passphrase
from .long_job import LongJob
from .sync.panel import fill
from .tasks import run_task
from .viewer.render import format_size

OK_STYLE, ERROR_STYLE = "color: #1b5e20;", "color: #b00020;"


def backup_work(ctx, actor: Actor, folder: Path, *, full: bool, passphrase: str | None = None):
    """The work of one backup, for a LongJob: progress values are ``(phase, done, total)``, a new
    phase reported at once; BackupCancelled ends the job as cancelled."""

    def work(progress, cancelled) -> BackupResult:
        last: list[str] = []

        def report(phase: str, done: int, total: int) -> None:
            progress((phase, done, total), urgent=not last or last[0] != phase)
            last[:] = [phase]

        with export_key_passphrase(passphrase):  # of the export key, when it is kept encrypted (no keyring)
            return make_backup(ctx, actor, folder, full=full, progress=report, cancel=cancelled)

    return work


def verify_work(repo: Path, backup_id: str | None):
    """The work of one verification, for a LongJob (progress as :func:`backup_work`)."""

    def work(progress, cancelled) -> BackupReport:
        last: list[str] = []

        def report(phase: str, done: int, total: int) -> None:
            progress((phase, done, total), urgent=not last or last[0] != phase)
            last[:] = [phase]

        return verify_backup(repo, backup_id, progress=report, cancel=cancelled)

    return work


def backup_to_verify(path: Path) -> tuple[Path, str | None]:
    """(backup folder, backup id or None for its newest) for a chosen folder: a backup folder, or
    one backup inside it (its id as the folder's name, with a manifest)."""
    if BACKUP_ID.fullmatch(path.name) and (path / MANIFEST).is_file():
        return path.parent, path.name
    return path, None


class BackupDialog(QDialog):
    """Back up the archive into a folder (full or continuing the folder's chain), or verify a backup.

    Signals, on the GUI thread once the job's thread has ended: ``backup_finished(BackupResult)``,
    ``backup_cancelled()``, ``backup_failed(message)``, ``verify_finished(BackupReport)``,
    ``verify_failed(message)``. Closing the dialog cancels a running job and waits for its thread.
    """

    backup_finished = Signal(object)
    backup_cancelled = Signal()
    backup_failed = Signal(str)
    verify_finished = Signal(object)
    verify_failed = Signal(str)
    folder_read = Signal()

    def __init__(self, ctx, actor: Actor, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx, self.actor = ctx, actor
        self.last_backup: BackupResult | None = None
        self.last_report: BackupReport | None = None
        self._running: str | None = None  # "backup" / "verify"
        self._folder_generation = 0
        self._job = LongJob("backup", self, cancel_errors=(BackupCancelled,))
        self._job.progressed.connect(self._on_progress)
        self._job.succeeded.connect(self._on_succeeded)
        self._job.cancelled.connect(self._on_cancelled)
        self._job.failed.connect(self._on_failed)
        self.setWindowTitle(self.tr("Back up the archive"))
        self.setMinimumWidth(620)

        intro = self._label(self.tr(
            "A backup holds a consistent copy of the archive database, the media files, the settings (no "
            "secrets) and a manifest with SHA-256s and the audit trail's head, signed with the export key. "
            "Keep the folder on another disk or a mounted share. The search index is not backed up: it is "
            "rebuilt after a restore."))
        self.folder_edit = QLineEdit(ctx.settings.backup_folder or "", self)
        self.folder_edit.setPlaceholderText(self.tr("A folder on another disk or a mounted share"))
        self.folder_edit.setAccessibleName(self.tr("Backup folder"))
        self.browse_button = QPushButton(self.tr("Browse…"), self)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(self.browse_button)
        self.folder_info = self._label("")
        self.folder_info.setStyleSheet("color: palette(mid);")
        self.incremental_radio = QRadioButton(self.tr("Incremental: continue the folder's chain (only new media "
                                                      "files are copied)"), self)
        self.full_radio = QRadioButton(self.tr("Full: copy every media file and start a new chain"), self)
        kinds = QButtonGroup(self)
        kinds.addButton(self.incremental_radio)
        kinds.addButton(self.full_radio)
        self.incremental_radio.setChecked(True)
        kind_box = QVBoxLayout()
        kind_box.addWidget(self.incremental_radio)
        kind_box.addWidget(self.full_radio)
        self.schedule_label = self._label(self.schedule_text())
        form = QFormLayout()
        form.addRow(self.tr("Folder:"), folder_row)
        form.addRow("", self.folder_info)
        form.addRow(self.tr("Kind:"), kind_box)
        form.addRow(self.tr("Scheduled:"), self.schedule_label)
        self.options = QWidget(self)
        self.options.setLayout(form)

        self.progress_bar = QProgressBar(self)
        self.progress_bar.setVisible(False)
        self.status_label = self._label("")
        self.summary = QWidget(self)
        summary_form = QFormLayout(self.summary)
        summary_form.setContentsMargins(0, 0, 0, 0)
        summary_form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)  # the SHA-256 is 64 characters
        self.id_label = self._label("", selectable=True)
        self.path_label = self._label("", selectable=True)
        self.kind_label = self._label("")
        self.counts_label = self._label("")
        self.sha_label = self._label("", selectable=True)
        self.sha_label.setWordWrap(False)
        self.head_label = self._label("", selectable=True)
        summary_form.addRow(self.tr("Backup:"), self.id_label)
        summary_form.addRow(self.tr("Saved in:"), self.path_label)
        summary_form.addRow(self.tr("Kind:"), self.kind_label)
        summary_form.addRow(self.tr("Contents:"), self.counts_label)
        summary_form.addRow(self.tr("Manifest SHA-256:"), self.sha_label)
        summary_form.addRow(self.tr("Audit trail head:"), self.head_label)
        self.summary.setVisible(False)
        self.problems = QPlainTextEdit(self)  # plain text: problems name files and keys from the folder
        self.problems.setReadOnly(True)
        self.problems.setVisible(False)

        self.backup_button = QPushButton(self.tr("Back up"), self)
        self.backup_button.setDefault(True)
        self.backup_button.setEnabled(can(actor, BACKUP_RUN))
        self.verify_button = QPushButton(self.tr("Verify a backup…"), self)
        self.verify_button.setToolTip(self.tr("Check a backup and every backup it continues without restoring "
                                              "it: signatures, files, media, every message's SHA-256 and the "
                                              "audit trail"))
        self.cancel_button = QPushButton(self.tr("Cancel"), self)
        self.cancel_button.setVisible(False)
        self.close_button = QPushButton(self.tr("Close"), self)
        buttons = QHBoxLayout()
        buttons.addWidget(self.verify_button)
        buttons.addStretch(1)
        for b in (self.backup_button, self.cancel_button, self.close_button):
            buttons.addWidget(b)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.options)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status_label)
        layout.addWidget(self.summary)
        layout.addWidget(self.problems, 1)
        layout.addStretch(0)
        layout.addLayout(buttons)

        self._folder_timer = QTimer(self)
        self._folder_timer.setSingleShot(True)
        self._folder_timer.setInterval(300)
        self._folder_timer.timeout.connect(self.read_folder)
        self.folder_edit.textChanged.connect(self._folder_timer.start)
        self.browse_button.clicked.connect(self._browse)
        self.backup_button.clicked.connect(self.start_backup)
        self.verify_button.clicked.connect(lambda: self.start_verify())
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.reject)
        self.read_folder()

    # ------------------------------------------------------------------ widgets
    def _label(self, text: str, *, selectable: bool = False) -> QLabel:
        label = QLabel(self)
        label.setTextFormat(Qt.TextFormat.PlainText)  # paths and ids may hold "<...>"
        label.setWordWrap(True)
        label.setText(text)
        if selectable:
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                          | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        return label

    def schedule_text(self) -> str:
        s = self.ctx.settings
        if s.backup_interval_hours and s.backup_folder:
            return fill(self.tr("Every %1 h into %2 (this computer; change it in Settings → Background jobs)."),
                        s.backup_interval_hours, display_name(s.backup_folder))
        return self.tr("Off (set an interval and a folder in Settings → Background jobs).")

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Backup folder"), self.folder_edit.text())
        if folder:
            self.folder_edit.setText(folder)

    def folder(self) -> Path | None:
        text = self.folder_edit.text().strip()
        return Path(text).expanduser() if text else None

    @Slot()
    def read_folder(self) -> None:
        """Say off the GUI thread what the chosen folder holds (a network share may be slow)."""
        self._folder_generation += 1
        generation, folder = self._folder_generation, self.folder()
        if folder is None:
            self.folder_info.setText(self.tr("Choose the folder the backups are kept in."))
            self.folder_read.emit()
            return

        def read() -> list[str]:
            return backup_ids(folder.absolute()) if folder.is_dir() else []

        def done(ids: list[str]) -> None:
            if generation != self._folder_generation:
                return
            if ids:
                self.folder_info.setText(fill(count_text(
                    len(ids), self.tr("It holds 1 backup (%2); an incremental one continues it."),
                    self.tr("It holds %1 backups, the newest %2; an incremental one continues its chain.")),
                    len(ids), display_name(ids[-1])))
            else:
                self.folder_info.setText(self.tr("It holds no backup yet: the first one is full."))
            self.folder_read.emit()

        def failed(exc: Exception) -> None:
            if generation == self._folder_generation:
                self.folder_info.setText(display_text(error_sentence(exc)))
                self.folder_read.emit()

        run_task(self, read, done, failed)

    # ------------------------------------------------------------------ the jobs
    def is_running(self) -> bool:
        return self._job.is_running()

    @Slot()
    def start_backup(self) -> bool:
        """Back up into the chosen folder; False (with a message) if it cannot start."""
        if self._job.is_running() or not can(self.actor, BACKUP_RUN):
            return False
        folder = self.folder()
        if folder is None:
            self._show_status(self.tr("Choose the backup folder."), ok=False)
            return False
        passphrase = None
        need = passphrase_needed(self.ctx.secrets, self.ctx.paths.data_dir)
        if need is not None:
            passphrase = ask_export_key_passphrase(self, need, lambda text: self._show_status(text, ok=False))
            if passphrase is None:
                return False
        self._begin("backup", self.tr("Starting the backup…"))
        self._job.start(backup_work(self.ctx, self.actor, folder, full=self.full_radio.isChecked(),
                                    passphrase=passphrase))
        return True

    def start_verify(self, path: Path | None = None) -> bool:
        """Verify a backup: ``path`` (a backup folder, its newest backup; or one backup's folder), or
        one chosen in a file dialog. False if nothing was chosen or a job is running."""
        if self._job.is_running():
            return False
        if path is None:
            chosen = QFileDialog.getExistingDirectory(self, self.tr("Backup folder, or one backup in it"),
                                                      self.folder_edit.text())
            if not chosen:
                return False
            path = Path(chosen)
        repo, backup_id = backup_to_verify(path.expanduser().absolute())
        self._begin("verify", self.tr("Checking the backup…"))
        self._job.start(verify_work(repo, backup_id))
        return True

    def _begin(self, kind: str, status: str) -> None:
        self._running = kind
        if kind == "backup":
            self.last_backup = None
        else:
            self.last_report = None
        self.options.setEnabled(False)
        self.backup_button.setEnabled(False)
        self.verify_button.setEnabled(False)
        self.close_button.setEnabled(False)
        self.cancel_button.setVisible(True)
        self.cancel_button.setEnabled(True)
        self.summary.setVisible(False)
        self.problems.clear()
        self.problems.setVisible(False)
        self.progress_bar.setRange(0, 0)
        self.progress_bar.setVisible(True)
        self._show_status(status)

    @Slot()
    def cancel(self) -> None:
        """Stop at the next safe point: a backup leaves nothing in the folder."""
        if self._job.cancel():
            self.cancel_button.setEnabled(False)
            self._show_status(self.tr("Cancelling…"))

    def shutdown(self) -> None:
        """Cancel a running job and wait for its thread (at close). Emits no outcome."""
        self._job.shutdown()

    def phase_text(self, phase: str) -> str:
        return {"database": self.tr("Copying the database…"),
                "messages": self.tr("Checking every message's SHA-256…"),
                "media": self.tr("Copying media files…") if self._running == "backup" else
                self.tr("Checking media files…"),
                "manifest": self.tr("Writing and signing the manifest…"),
                "done": self.tr("Writing the backup to disk…"),
                "manifests": self.tr("Checking the signatures and files…"),
                "audit trail": self.tr("Checking the audit trail's hash chain…")}.get(phase, display_name(phase))

    def _on_progress(self, value) -> None:
        if self._job.is_cancelling():
            return
        phase, done, total = value
        text = self.phase_text(phase)
        if total > 0:
            self.progress_bar.setRange(0, total)
            self.progress_bar.setValue(min(done, total))
            text = fill(self.tr("%1 %2 of %3"), text, done, total)
        else:
            self.progress_bar.setRange(0, 0)
        self._show_status(text)

    def _end(self) -> str | None:
        kind, self._running = self._running, None
        self.progress_bar.setVisible(False)
        self.cancel_button.setVisible(False)
        self.options.setEnabled(True)
        self.backup_button.setEnabled(can(self.actor, BACKUP_RUN))
        self.verify_button.setEnabled(True)
        self.close_button.setEnabled(True)
        return kind

    def _on_succeeded(self, outcome) -> None:
        kind = self._end()
        if kind == "backup":
            self._show_backup(outcome)
            self.read_folder()
            self.backup_finished.emit(outcome)
        else:
            self._show_report(outcome)
            self.verify_finished.emit(outcome)

    def _on_cancelled(self) -> None:
        if self._end() == "backup":
            self._show_status(self.tr("The backup was cancelled: nothing was left in the folder, and the backups "
                                      "already there are unchanged."))
            self.backup_cancelled.emit()
        else:
            self._show_status(self.tr("The verification was cancelled."))

    def _on_failed(self, exc: Exception) -> None:
        message = display_text(error_sentence(exc) or type(exc).__name__)
        if self._end() == "backup":
            self._show_status(fill(self.tr("The backup failed: %1"), message), ok=False)
            self.backup_failed.emit(message)
        else:
            self._show_status(fill(self.tr("The backup cannot be verified: %1"), message), ok=False)
            self.verify_failed.emit(message)

    def _show_status(self, text: str, ok: bool | None = None) -> None:
        self.status_label.setText(text)
        self.status_label.setStyleSheet(OK_STYLE if ok else ERROR_STYLE if ok is False else "")

    def _show_backup(self, r: BackupResult) -> None:
        self.last_backup = r
        self.id_label.setText(display_name(r.backup_id))
        self.path_label.setText(display_name(str(r.path)))
        if r.previous:
            self.kind_label.setText(fill(self.tr("Incremental, continuing %1"), display_name(r.previous)))
        elif self.incremental_radio.isChecked():
            self.kind_label.setText(self.tr("Full (the folder held no backup of this archive to continue)"))
        else:
            self.kind_label.setText(self.tr("Full, starting a new chain"))
        self.counts_label.setText(fill(self.tr("%1; %2 (%3) added"),
                                       count_text(r.messages, self.tr("1 message"), self.tr("%1 messages")),
                                       count_text(r.media_added, self.tr("1 media file"), self.tr("%1 media files")),
                                       format_size(r.media_added_bytes)))
        self.sha_label.setText(r.manifest_sha256)
        self.head_label.setText(display_name(r.audit_head))
        self.summary.setVisible(True)
        if r.media_problems:
            self._show_status(count_text(len(r.media_problems),
                                         self.tr("The backup is written, but 1 media file could not be backed up "
                                                 "(below)."),
                                         self.tr("The backup is written, but %1 media files could not be backed "
                                                 "up (below).")), ok=False)
            self.problems.setPlainText("\n".join(display_text(p, one_line=True) for p in r.media_problems))
            self.problems.setVisible(True)
        else:
            self._show_status(self.tr("The backup is written and signed."), ok=True)

    def _show_report(self, report: BackupReport) -> None:
        self.last_report = report
        if report.ok:
            self._show_status(fill(self.tr("Intact: backup %1 and its chain of %2; %3, %4, audit trail of %5 "
                                           "entries; signed by key %6."),
                                   display_name(report.backup_id),
                                   count_text(len(report.chain), self.tr("1 backup"), self.tr("%1 backups")),
                                   count_text(report.messages, self.tr("1 message"), self.tr("%1 messages")),
                                   count_text(report.media_files, self.tr("1 media file"), self.tr("%1 media files")),
                                   report.audit_entries, ", ".join(report.key_fingerprints)), ok=True)
            return
        self._show_status(fill(count_text(len(report.problems), self.tr("Backup %2 FAILED: 1 problem (below)."),
                                          self.tr("Backup %2 FAILED: %1 problems (listed below).")),
                               len(report.problems), display_name(report.backup_id)), ok=False)
        self.problems.setPlainText("\n".join(display_text(p, one_line=True) for p in report.problems))
        self.problems.setVisible(True)

    # ------------------------------------------------------------------ closing
    def done(self, code: int) -> None:
        self.shutdown()  # closing mid-backup cancels it; nothing is left behind
        super().done(code)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.shutdown()
        super().closeEvent(event)
