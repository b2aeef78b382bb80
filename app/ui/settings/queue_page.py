"""The Background jobs page of the settings: where the delay queue lives — the embedded queue in the
archive database, or a Redis server — with "Test connection", how often scheduled syncs run, and the
scheduled backups of this computer (every so many hours into a folder; app/core/jobs/backup.py). The
window's "Back up now…" (app/ui/backup_dialog.py) shows this schedule but does not change it.

The Redis password typed here stays in the page until OK stores it in the keyring
(``secret_operations``); it never reaches the settings file, and the URL may not carry one. The
page reads whether a password is stored (keyring or environment) off the GUI thread, and tests a
connection off the GUI thread too (``run_task``).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from urllib.parse import urlsplit

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.core.config.queue_settings import MAX_SYNC_INTERVAL_MINUTES, REDIS_PASSWORD_ENV, check_queue_settings
from app.core.config.secrets import IN_ENVIRONMENT, IN_KEYRING, SecretStore
from app.core.config.settings import Settings
from app.core.jobs.backup import BACKUP_INTERVAL_MAX_HOURS
from app.ui.language import error_sentence

from ..sync.panel import fill
from ..tasks import run_task
from .fields import ERROR_STYLE, NOTE_STYLE, OK_STYLE, ErrorLabel, note_label

REDIS_SCHEMES = ("redis", "rediss", "unix")


def redis_password_source(store: SecretStore, url: str) -> str | None:
    """Where the password of the Redis at ``url`` would be read from (IN_KEYRING / IN_ENVIRONMENT), or
    None. Blocking (the keyring may be slow or locked): call off the GUI thread."""
    value = store.redis_password(url)  # the keyring's first, then the environment's
    if not value:
        return None
    return IN_ENVIRONMENT if value == os.environ.get(REDIS_PASSWORD_ENV) else IN_KEYRING


class QueuePage(QWidget):
    """Choose the job queue's backend, the sync schedule and the backup schedule; ``apply`` writes them
    into a Settings object.

    ``archive_url`` gives the archive database's URL with its password (blocking: it may read the
    keyring; called on a pool thread) for testing the embedded queue.
    """

    changed = Signal()
    connection_tested = Signal(bool, str)  # ok, message shown
    secrets_read = Signal()

    def __init__(self, settings: Settings, secrets: SecretStore, keyring_ok: bool, archive_url: Callable[[], str],
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.secrets, self.keyring_ok, self.archive_url = secrets, keyring_ok, archive_url
        self._settings = settings
        self._source: str | None = None  # where the stored password of ``_read_for`` is (once read)
        self._read_for: str | None = None  # ... the URL it was read for
        self._test_generation = 0
        self.embedded_radio = QRadioButton(self.tr("Embedded, in the archive database (no server needed)"), self)
        self.redis_radio = QRadioButton(self.tr("A Redis server (a team's workstations and servers share it)"),
                                        self)
        group = QButtonGroup(self)
        group.addButton(self.embedded_radio)
        group.addButton(self.redis_radio)
        self.url_edit = QLineEdit(self)
        self.url_edit.setPlaceholderText("redis://redis.example.com:6379/0")
        self.url_edit.setClearButtonEnabled(True)
        self.password_edit = QLineEdit(self)
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setPlaceholderText(self.tr("Type to replace the stored password"))
        self.password_status = QLabel(self)
        self.password_status.setTextFormat(Qt.TextFormat.PlainText)
        self.password_status.setStyleSheet(NOTE_STYLE)
        self.password_status.setWordWrap(True)
        self.error = ErrorLabel(self)
        self.test_button = QPushButton(self.tr("Test connection"), self)
        self.test_button.setToolTip(self.tr("Opens the job queue off the main window and counts its jobs (the "
                                            "embedded queue: in the archive database in use now)."))
        self.test_result = QLabel(self)
        self.test_result.setTextFormat(Qt.TextFormat.PlainText)
        self.test_result.setWordWrap(True)
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addWidget(self.test_result, 1)

        self.interval_spin = QSpinBox(self)
        self.interval_spin.setRange(0, MAX_SYNC_INTERVAL_MINUTES)
        self.interval_spin.setSingleStep(5)
        self.interval_spin.setSuffix(self.tr(" min"))
        self.interval_spin.setSpecialValueText(self.tr("Off"))
        self.backup_spin = QSpinBox(self)
        self.backup_spin.setRange(0, BACKUP_INTERVAL_MAX_HOURS)
        self.backup_spin.setSuffix(self.tr(" h"))
        self.backup_spin.setSpecialValueText(self.tr("Off"))
        self.backup_folder_edit = QLineEdit(self)
        self.backup_folder_edit.setPlaceholderText(self.tr("A folder on another disk or a mounted share"))
        self.backup_browse = QPushButton(self.tr("Browse…"), self)
        self.backup_error = ErrorLabel(self)

        form = QFormLayout()
        form.addRow(self.embedded_radio)
        form.addRow(self.redis_radio)
        form.addRow(self.tr("Redis URL:"), self.url_edit)
        form.addRow(self.tr("Redis password:"), self.password_edit)
        form.addRow("", self.password_status)
        form.addRow("", self.error)
        schedule = QFormLayout()
        schedule.addRow(self.tr("Sync every:"), self.interval_spin)
        backup_folder = QHBoxLayout()
        backup_folder.addWidget(self.backup_folder_edit, 1)
        backup_folder.addWidget(self.backup_browse)
        backups = QFormLayout()
        backups.addRow(self.tr("Back up every:"), self.backup_spin)
        backups.addRow(self.tr("Backup folder:"), backup_folder)
        backups.addRow("", self.backup_error)

        layout = QVBoxLayout(self)
        layout.addWidget(note_label(self.tr(
            "Failed media downloads and scheduled syncs run as background jobs on a delay queue, while the window "
            "is open or on a server running: wecom-auditor worker. Where the jobs wait:"), self))
        layout.addLayout(form)
        layout.addLayout(test_row)
        layout.addWidget(note_label(self.tr(
            "The embedded queue suits one workstation, or a team sharing a MySQL archive. Redis URL: "
            "redis://host:6379/0 (rediss:// for TLS); add ?prefix=NAME to keep two archives apart on one Redis. "
            "The password is kept in the keyring, never in the settings file or the URL. A new queue takes "
            "effect after a restart; jobs waiting in the old one stay there, and pending media is queued "
            "again from the archive."), self))
        layout.addSpacing(8)
        layout.addLayout(schedule)
        layout.addWidget(note_label(self.tr(
            "Syncs every corp in the background every so many minutes (Off: only when you sync). WeCom keeps "
            "chats for about 5 days, so keep it well below that. A new interval takes effect within 5 minutes."),
            self))
        layout.addSpacing(8)
        layout.addLayout(backups)
        layout.addWidget(note_label(self.tr(
            "Backs up the archive every so many hours into a folder of this computer, as \"Back up now…\" does "
            "(incremental, continuing the folder's chain; the first one is full). Off: only when you back up. "
            "On a computer without a keyring, set WECOM_AUDITOR_EXPORT_KEY_PASSPHRASE for the signing key."),
            self))
        layout.addStretch(1)

        if settings.queue_url:
            self.redis_radio.setChecked(True)
            self.url_edit.setText(settings.queue_url)
        else:
            self.embedded_radio.setChecked(True)
        self.interval_spin.setValue(min(max(settings.sync_interval_minutes, 0), MAX_SYNC_INTERVAL_MINUTES))
        self.backup_spin.setValue(min(max(settings.backup_interval_hours, 0), BACKUP_INTERVAL_MAX_HOURS))
        self.backup_folder_edit.setText(settings.backup_folder)
        for signal in (self.url_edit.textChanged, self.password_edit.textChanged, self.redis_radio.toggled,
                       self.interval_spin.valueChanged, self.backup_spin.valueChanged,
                       self.backup_folder_edit.textChanged):
            signal.connect(self._on_edit)
        self.backup_browse.clicked.connect(self._browse_backup_folder)
        self.test_button.clicked.connect(self.test_connection)
        # Whether a password is stored for a newly typed URL: asked again once typing pauses.
        self._source_timer = QTimer(self)
        self._source_timer.setSingleShot(True)
        self._source_timer.setInterval(300)
        self._source_timer.timeout.connect(self._read_source)
        self.url_edit.textChanged.connect(self._source_timer.start)
        self._enable_fields()
        self.refresh_password_status()
        self._read_source()

    # ------------------------------------------------------------------ values
    def uses_redis(self) -> bool:
        return self.redis_radio.isChecked()

    def queue_url(self) -> str:
        """The URL for the settings file ("" = the embedded queue): never with a password."""
        return self.url_edit.text().strip() if self.uses_redis() else ""

    def new_password(self) -> str:
        return self.password_edit.text() if self.uses_redis() and self.keyring_ok else ""

    def apply(self, settings: Settings) -> None:
        """Write ``queue_url``, ``sync_interval_minutes``, ``backup_interval_hours`` and ``backup_folder``
        into ``settings`` (no password)."""
        settings.queue_url = self.queue_url()
        settings.sync_interval_minutes = self.interval_spin.value()
        settings.backup_interval_hours = self.backup_spin.value()
        settings.backup_folder = self.backup_folder_edit.text().strip()

    def secret_operations(self) -> list[Callable[[], None]]:
        """Keyring writes to run on OK (the typed Redis password, if any); each is a callable."""
        url, password = self.queue_url(), self.new_password()
        if not url or not password or self._error():
            return []
        return [lambda: self.secrets.set_redis_password(url, password)]

    def secret_names(self) -> list[str]:
        """The names of the secrets :meth:`secret_operations` writes (for the audit trail; no value)."""
        return ["redis_password"] if self.secret_operations() else []

    # ------------------------------------------------------------------ validation
    def errors(self) -> list[str]:
        error = self._error()
        self.error.set_error(error)
        backup_error = self._backup_error()
        self.backup_error.set_error(backup_error)
        return [self.tr("The background jobs setting has a value to fix.")] if error or backup_error else []

    def _backup_error(self) -> str | None:
        if self.backup_spin.value() and not self.backup_folder_edit.text().strip():
            return self.tr("Choose the folder the scheduled backups go into.")
        return None

    def _browse_backup_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Backup folder"), self.backup_folder_edit.text())
        if folder:
            self.backup_folder_edit.setText(folder)

    def _error(self) -> str | None:
        if not self.uses_redis():
            return None
        text = self.url_edit.text().strip()
        if not text:
            return self.tr("Enter the Redis server's URL: redis://host:6379/0")
        try:
            parts = urlsplit(text)
            port = parts.port  # ValueError for a port that is not a number
        except ValueError:
            return self.tr("This is not a Redis URL; write it as redis://host:6379/0")
        if parts.scheme not in REDIS_SCHEMES:
            return self.tr("A Redis URL starts with redis:// (rediss:// for TLS, unix:// for a socket).")
        if parts.password:
            return self.tr("Leave the password out of the URL (the URL is saved in the settings file); type it "
                           "in the Redis password field, which is kept in the keyring.")
        if parts.scheme == "unix":
            if not parts.path:
                return self.tr("Give the socket's path: unix:///run/redis/redis.sock")
        else:
            if not parts.hostname:
                return self.tr("The URL needs the server's host: redis://host:6379/0")
            db = parts.path.strip("/")
            if db and not db.isdigit():
                return self.tr("After the host comes the database number: redis://host:6379/0")
            if port == 0:
                return self.tr("This is not a Redis URL; write it as redis://host:6379/0")
        trial = copy.deepcopy(self._settings)
        self.apply(trial)
        try:
            check_queue_settings(trial.queue_url, trial.sync_interval_minutes)  # the key prefix, and the rest
        except ValueError as exc:
            return error_sentence(exc)
        return None

    # ------------------------------------------------------------------ the stored password
    def _read_source(self) -> None:
        url = self.url_edit.text().strip()
        if not url or not self.keyring_ok or self._error_for_url(url):
            self._source, self._read_for = None, None
            self.refresh_password_status()
            self.secrets_read.emit()
            return
        store = self.secrets

        def read() -> str | None:  # on a pool thread: the keyring may be slow or locked
            return redis_password_source(store, url)

        def done(source: str | None) -> None:
            self._source, self._read_for = source, url
            self.refresh_password_status()
            self.secrets_read.emit()

        def failed(exc: Exception) -> None:
            self.password_status.setText(fill(self.tr("Cannot read the keyring: %1"), exc))
            self.secrets_read.emit()

        run_task(self, read, done, failed)

    def _error_for_url(self, url: str) -> bool:
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
        except ValueError:
            return True
        return parts.scheme not in REDIS_SCHEMES or bool(parts.password)

    def refresh_password_status(self) -> None:
        if not self.keyring_ok:
            text = fill(self.tr("No keyring on this computer: give the password in the environment variable %1."),
                        REDIS_PASSWORD_ENV)
        elif self.password_edit.text():
            text = self.tr("Stored in the keyring when you click OK.")
        elif self._read_for is None or self._read_for != self.url_edit.text().strip():
            text = ""
        elif self._source == IN_KEYRING:
            text = self.tr("Stored in the keyring.")
        elif self._source == IN_ENVIRONMENT:
            text = fill(self.tr("Read from the environment variable %1."), REDIS_PASSWORD_ENV)
        else:
            text = self.tr("Not set (fine if the server asks for none).")
        self.password_status.setText(text)

    # ------------------------------------------------------------------ events
    def _enable_fields(self) -> None:
        redis = self.uses_redis()
        self.url_edit.setEnabled(redis)
        self.password_edit.setEnabled(redis and self.keyring_ok)
        self.password_status.setEnabled(redis)

    def _on_edit(self) -> None:
        self._enable_fields()
        self.refresh_password_status()
        self._test_generation += 1  # a test still running no longer describes these values
        self.test_result.clear()
        self.test_button.setEnabled(True)
        self.changed.emit()

    # ------------------------------------------------------------------ test connection
    def test_connection(self) -> None:
        """Open the chosen queue on a pool thread and count its jobs; ``connection_tested`` reports."""
        if self.errors():
            return
        url, typed = self.queue_url(), self.new_password()
        store, archive_url = self.secrets, self.archive_url
        self._test_generation += 1
        generation = self._test_generation
        self.test_button.setEnabled(False)
        self._show_result(None, self.tr("Connecting…"))

        def probe() -> tuple[str, dict[str, int]]:  # on a pool thread: the server may take seconds to answer
            from app.core.checks import check_queue

            return check_queue(url, password=typed or None, archive_url=archive_url(), secrets=store)

        def done(result: tuple[str, dict[str, int]]) -> None:
            if generation == self._test_generation:
                where, counts = result
                self._show_result(True, fill(
                    self.tr("OK: %1. Jobs: %2 scheduled, %3 ready, %4 running, %5 dead."), where,
                    counts.get("scheduled", 0), counts.get("ready", 0), counts.get("running", 0),
                    counts.get("dead", 0)))

        def failed(exc: Exception) -> None:
            if generation == self._test_generation:
                self._show_result(False, fill(self.tr("Failed: %1"), exc))

        run_task(self, probe, done, failed)

    def _show_result(self, ok: bool | None, message: str) -> None:
        self.test_result.setText(message)
        self.test_result.setStyleSheet(OK_STYLE if ok else ERROR_STYLE if ok is False else NOTE_STYLE)
        if ok is not None:
            self.test_button.setEnabled(True)
            self.connection_tested.emit(ok, message)
