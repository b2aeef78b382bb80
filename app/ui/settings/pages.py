"""The Archive (database) and Language pages of the settings (Media: storage_page.py)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.core.checks import check_database
from app.core.config.database import (
    HAS_PASSWORD,
    NOT_A_URL,
    NOT_MYSQL,
    server_url_problem,
    sqlite_path,
    sqlite_url,
)
from app.core.config.paths import AppPaths
from app.core.config.settings import Settings
from app.ui.language import error_sentence

from ..sync.panel import fill
from ..tasks import run_task
from .fields import ERROR_STYLE, NOTE_STYLE, OK_STYLE, ErrorLabel, PathField, note_label


class ArchivePage(QWidget):
    """Where the archive lives: a SQLite file here, or a MySQL/MariaDB server (password in the keyring)."""

    changed = Signal()
    connection_tested = Signal(bool, str)  # ok, message shown

    def __init__(self, settings: Settings, paths: AppPaths, keyring_ok: bool, parent: QWidget | None = None):
        super().__init__(parent)
        self.paths = paths
        self.keyring_ok = keyring_ok
        self.password_stored = False  # set by the dialog once the keyring has been read
        self._test_generation = 0
        self.sqlite_radio = QRadioButton(self.tr("SQLite file on this computer (one workstation)"), self)
        self.mysql_radio = QRadioButton(self.tr("MySQL / MariaDB server (a team)"), self)
        group = QButtonGroup(self)
        group.addButton(self.sqlite_radio)
        group.addButton(self.mysql_radio)
        self.sqlite_field = PathField("save", self.tr("Archive database file"),
                                      self.tr("SQLite databases (*.db *.sqlite);;All files (*)"), self)
        self.sqlite_field.setPlaceholderText(str(paths.default_database))
        self.url_edit = QLineEdit(self)
        self.url_edit.setPlaceholderText("mysql+pymysql://auditor@db.example.com:3306/wecom_archive")
        self.password_edit = QLineEdit(self)
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setPlaceholderText(self.tr("Type to replace the stored password"))
        self.password_edit.setEnabled(keyring_ok)
        self.password_status = QLabel(self)
        self.password_status.setStyleSheet(NOTE_STYLE)
        self.error = ErrorLabel(self)
        self.test_button = QPushButton(self.tr("Test connection"), self)
        self.test_button.setToolTip(self.tr("Opens the database off the main window. An empty database gets the "
                                            "archive's tables."))
        self.test_result = QLabel(self)
        self.test_result.setTextFormat(Qt.TextFormat.PlainText)
        self.test_result.setWordWrap(True)
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addWidget(self.test_result, 1)

        form = QFormLayout()
        form.addRow(self.sqlite_radio)
        form.addRow(self.tr("File:"), self.sqlite_field)
        form.addRow(self.mysql_radio)
        form.addRow(self.tr("URL:"), self.url_edit)
        form.addRow(self.tr("Password:"), self.password_edit)
        form.addRow("", self.password_status)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addLayout(test_row)
        layout.addWidget(note_label(self.tr("The app uses a new database after a restart. The password is kept "
                                            "in the keyring, never in the settings file."), self))
        layout.addStretch(1)

        url = settings.database_url
        path = sqlite_path(url) if url else ""
        if url and path is None:
            self.mysql_radio.setChecked(True)
            self.url_edit.setText(url)
        else:
            self.sqlite_radio.setChecked(True)
            self.sqlite_field.setText("" if not path or Path(path) == paths.default_database else path)
        self._original_url = self.database_url()
        for signal in (self.sqlite_field.textChanged, self.url_edit.textChanged, self.password_edit.textChanged,
                       self.sqlite_radio.toggled):
            signal.connect(self._on_edit)
        self.test_button.clicked.connect(self.test_connection)
        self._on_edit()

    # ------------------------------------------------------------------ values
    def uses_mysql(self) -> bool:
        return self.mysql_radio.isChecked()

    def database_url(self) -> str:
        """The URL for the settings file ("" = the default SQLite file): never with a password."""
        if self.uses_mysql():
            return self.url_edit.text().strip()
        path = self.sqlite_field.text()
        if not path or Path(path).expanduser() == self.paths.default_database:
            return ""
        return sqlite_url(Path(path).expanduser())

    def new_password(self) -> str:
        return self.password_edit.text() if self.uses_mysql() else ""

    def changed_database(self) -> bool:
        return self.database_url() != self._original_url

    def errors(self) -> list[str]:
        error = self._error()
        self.error.set_error(error)
        return [self.tr("The database setting has a value to fix.")] if error else []

    def _error(self) -> str | None:
        if self.uses_mysql():
            text = self.url_edit.text().strip()
            if not text:
                return self.tr("Enter the server's URL: mysql+pymysql://user@host:3306/dbname")
            problem = server_url_problem(text)
            if problem == NOT_A_URL:
                return self.tr("This is not a database URL; write it as mysql+pymysql://user@host:3306/dbname")
            if problem == NOT_MYSQL:
                return self.tr("Only MySQL or MariaDB servers: the URL starts with mysql+pymysql://")
            if problem == HAS_PASSWORD:
                return self.tr("Leave the password out of the URL (the URL is saved in the settings file); "
                               "type it in the Password field, which is kept in the keyring.")
            if problem is not None:
                return self.tr("The URL needs a host and a database name: mysql+pymysql://user@host:3306/dbname")
            return None
        path = self.sqlite_field.text()
        if path:
            p = Path(path).expanduser()
            if p.is_dir():
                return self.tr("This is a folder; choose or type a file name, e.g. archive.db.")
            if not p.is_absolute():
                return self.tr("Give the full path of the database file.")
        return None

    def _on_edit(self) -> None:
        mysql = self.uses_mysql()
        self.sqlite_field.setEnabled(not mysql)
        for w in (self.url_edit, self.password_edit, self.password_status):
            w.setEnabled(mysql and (w is not self.password_edit or self.keyring_ok))
        self.refresh_password_status()
        self.test_result.clear()
        self.changed.emit()

    def refresh_password_status(self) -> None:
        if self.password_edit.text():
            text = self.tr("Stored in the keyring when you click OK.")
        elif self.password_stored:
            text = self.tr("Stored in the keyring.")
        else:
            text = self.tr("Not set.")
        self.password_status.setText(text)

    # ------------------------------------------------------------------ test connection
    def test_connection(self) -> None:
        """Open the database on a pool thread; ``connection_tested`` reports the result."""
        if self._error():
            self.errors()
            return
        url = self.database_url() or sqlite_url(self.paths.default_database)
        typed = self.new_password()
        self._test_generation += 1
        generation = self._test_generation
        self.test_button.setEnabled(False)
        self._show_result(None, self.tr("Connecting…"))

        def connect() -> str:  # on a pool thread: the keyring and the server may take a while
            return check_database(url, password=typed or None)

        def done(display: str) -> None:
            if generation == self._test_generation:
                self._show_result(True, fill(self.tr("Connected: %1"), display))

        def failed(exc: Exception) -> None:
            if generation == self._test_generation:
                self._show_result(False, error_sentence(exc))

        run_task(self, connect, done, failed)

    def _show_result(self, ok: bool | None, message: str) -> None:
        self.test_result.setText(message)
        self.test_result.setStyleSheet(OK_STYLE if ok else ERROR_STYLE if ok is False else NOTE_STYLE)
        if ok is not None:
            self.test_button.setEnabled(True)
            self.connection_tested.emit(ok, message)


class LanguagePage(QWidget):
    changed = Signal()

    def __init__(self, settings: Settings, parent: QWidget | None = None):
        super().__init__(parent)
        self.buttons = {"zh_CN": QRadioButton("中文（简体）", self), "en": QRadioButton("English", self),
                        "system": QRadioButton(self.tr("Follow the system"), self)}
        group = QButtonGroup(self)
        layout = QVBoxLayout(self)
        for button in self.buttons.values():
            group.addButton(button)
            layout.addWidget(button)
            button.toggled.connect(self.changed)
        self.buttons.get(settings.language, self.buttons["system"]).setChecked(True)
        layout.addWidget(note_label(self.tr("The new language takes effect after you restart the app."), self))
        layout.addStretch(1)

    def language(self) -> str:
        return next(v for v, b in self.buttons.items() if b.isChecked())
