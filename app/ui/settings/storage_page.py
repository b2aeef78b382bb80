"""The Media page of the settings: where media files are stored — one of the storage backends registered
in app/core/media/registry.py (a folder on this computer, an Aliyun OSS bucket, a Tencent COS bucket)
— with "Test connection". Each backend's form is built from its declaration: its fields, labels and
placeholders in both languages, and its secret key if it has one.

The secret key typed here stays in the page until OK stores it in the keyring (``secret_operations``);
it never reaches the settings file. The page reads where the stored secrets are (keyring or
environment) off the GUI thread, and tests a connection off the GUI thread too (``run_task``).
"""

from __future__ import annotations

import copy
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.config.paths import AppPaths
from app.core.config.secrets import IN_ENVIRONMENT, IN_KEYRING, SecretStore, storage_secret_env
from app.core.config.settings import Settings, SettingsError, StorageSection
from app.core.media.registry import StorageBackend, Text, storage_backends
from app.ui.language import error_sentence, pick, ui_is_chinese

from ..sync.panel import fill
from ..tasks import run_task
from .fields import ERROR_STYLE, NOTE_STYLE, OK_STYLE, ErrorLabel, PathField, note_label


def storage_fields(settings: Settings) -> dict:
    """Every storage setting, to tell whether a change needs a restart."""
    return settings.storage.to_dict()


def _text(text: Text) -> str:
    return text.pick(ui_is_chinese())


class BackendForm(QWidget):
    """The fields of one storage backend, as its declaration lists them (``edits`` by field name)."""

    def __init__(self, backend: StorageBackend, section: StorageSection, paths: AppPaths, keyring_ok: bool,
                 parent: QWidget):
        super().__init__(parent)
        self.backend, self.name = backend, backend.name
        self.edits: dict[str, QLineEdit | PathField] = {}
        self.defaults: dict[str, str] = {}  # a folder field's default: left empty when it is chosen
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        for f in backend.fields:
            if f.kind == "folder":
                edit: QLineEdit | PathField = PathField("folder", self.tr("Folder for media files"), parent=self)
            else:
                edit = QLineEdit(self)
                edit.setClearButtonEnabled(True)
            if isinstance(f.placeholder, Text):
                edit.setPlaceholderText(_text(f.placeholder))
            elif f.placeholder is not None:
                self.defaults[f.name] = f.placeholder(paths)
                edit.setPlaceholderText(self.defaults[f.name])
            edit.setText(str(getattr(section, f.name)))
            self.edits[f.name] = edit
            form.addRow(_text(f.label), edit)
        self.secret_edit = QLineEdit(self)
        self.secret_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret_edit.setPlaceholderText(self.tr("Type to replace the stored secret key"))
        self.secret_edit.setEnabled(keyring_ok)
        self.secret_status = QLabel(self)
        self.secret_status.setTextFormat(Qt.TextFormat.PlainText)
        self.secret_status.setStyleSheet(NOTE_STYLE)
        self.secret_status.setWordWrap(True)
        if backend.secret is not None:
            form.addRow(_text(backend.secret.label), self.secret_edit)
            form.addRow("", self.secret_status)
        else:
            self.secret_edit.hide()
            self.secret_status.hide()
        self.error = ErrorLabel(self)
        form.addRow("", self.error)
        if backend.note is not None:
            form.addRow(note_label(_text(backend.note), self))

    @property
    def has_secret(self) -> bool:
        return self.backend.secret is not None

    def key_id(self) -> str:
        return self.edits[self.backend.secret.key_id].text().strip() if self.backend.secret else ""

    def value(self, name: str) -> str:
        text = self.edits[name].text().strip()
        default = self.defaults.get(name)
        if default is not None and text and Path(text).expanduser() == Path(default):
            return ""  # the default folder: kept as "default", so it follows the data folder
        return text

    def apply(self, section: StorageSection) -> None:
        for name in self.edits:
            setattr(section, name, self.value(name))


class MediaStoragePage(QWidget):
    """Choose the media backend and its settings; ``apply`` writes them into a Settings object."""

    changed = Signal()
    connection_tested = Signal(bool, str)  # ok, message shown
    secrets_read = Signal()

    def __init__(self, settings: Settings, paths: AppPaths, secrets: SecretStore, keyring_ok: bool,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.paths, self.secrets, self.keyring_ok = paths, secrets, keyring_ok
        self._settings = settings
        self._sources: dict[str, str | None] = {}  # where each backend's stored secret is (once read)
        self._read_for: dict[str, str] = {}  # ... for these key ids
        self._test_generation = 0
        backends = storage_backends()
        self.radios = {b.name: QRadioButton(_text(b.title), self) for b in backends}
        group = QButtonGroup(self)
        choice = QHBoxLayout()
        for radio in self.radios.values():
            group.addButton(radio)
            choice.addWidget(radio)
        choice.addStretch(1)

        self.forms = {b.name: BackendForm(b, settings.storage[b.name], paths, keyring_ok, self) for b in backends}
        self.stack = QStackedWidget(self)
        for form in self.forms.values():
            self.stack.addWidget(form)

        self.test_button = QPushButton(self.tr("Test connection"), self)
        self.test_button.setToolTip(self.tr("Writes, reads back and deletes a small test object (for a folder: "
                                            "checks it can be written), off the main window."))
        self.test_result = QLabel(self)
        self.test_result.setTextFormat(Qt.TextFormat.PlainText)
        self.test_result.setWordWrap(True)
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addWidget(self.test_result, 1)

        layout = QVBoxLayout(self)
        layout.addWidget(note_label(self.tr(
            "Images, voice, video and files are downloaded, verified against WeCom's checksum and stored under "
            "their SHA-256. Choose where:"), self))
        layout.addLayout(choice)
        layout.addWidget(self.stack)
        layout.addLayout(test_row)
        layout.addWidget(note_label(self.tr(
            "Secret keys are kept in the keyring, never in the settings file. Files already stored stay where "
            "they are and remain readable; to move them, run: wecom-auditor media migrate --to oss (or cos, "
            "local). A new choice takes effect after a restart."), self))
        layout.addStretch(1)

        self.radios.get(settings.storage.backend, self.radios["local"]).setChecked(True)
        self._show_backend()
        for radio in self.radios.values():
            radio.toggled.connect(self._on_edit)
        for form in self.forms.values():
            for edit in (*form.edits.values(), form.secret_edit):
                edit.textChanged.connect(self._on_edit)
        self.test_button.clicked.connect(self.test_connection)
        # Where the secret of a newly typed key id is: asked again once typing pauses.
        self._source_timer = QTimer(self)
        self._source_timer.setSingleShot(True)
        self._source_timer.setInterval(300)
        self._source_timer.timeout.connect(self._read_sources)
        for form in self._secret_forms():
            form.edits[form.backend.secret.key_id].textChanged.connect(self._source_timer.start)
        self.refresh_secret_status()
        self._read_sources()

    def _secret_forms(self) -> list[BackendForm]:
        return [form for form in self.forms.values() if form.has_secret]

    # The local folder's field and error label (the settings dialog and its tests use them).
    @property
    def folder_field(self) -> PathField:
        return self.forms["local"].edits["folder"]

    @property
    def error(self) -> ErrorLabel:
        return self.forms["local"].error

    # ------------------------------------------------------------------ values
    def backend(self) -> str:
        return next(k for k, r in self.radios.items() if r.isChecked())

    def apply(self, settings: Settings) -> None:
        """Write the backend in use and every backend's form into ``settings`` (no secret)."""
        settings.storage.backend = self.backend()
        for name, form in self.forms.items():
            form.apply(settings.storage[name])

    def secret_operations(self) -> list:
        """Keyring writes to run on OK (one per typed secret key); each is a callable."""
        ops = []
        for form in self._secret_forms():
            secret, key_id = form.secret_edit.text(), form.key_id()
            if secret and key_id:
                ops.append(lambda k=form.name, i=key_id, s=secret: self.secrets.set_storage_secret(k, i, s))
        return ops

    def secret_names(self) -> list[str]:
        """The names of the secrets :meth:`secret_operations` writes (for the audit trail; no value)."""
        return [f"{form.name}_secret_key" for form in self._secret_forms()
                if form.secret_edit.text() and form.key_id()]

    # ------------------------------------------------------------------ validation
    def errors(self) -> list[str]:
        backend = self.backend()
        for name, form in self.forms.items():
            form.error.set_error(None if name != backend else self._form_error(form))
        form = self.forms[backend]
        if not form.error.text():
            return []
        if any(f.kind == "folder" for f in form.backend.fields) and self._folder_error(form):
            return [self.tr("The media folder has a value to fix.")]
        return [self.tr("The media storage has a value to fix.")]

    def _folder_error(self, form: BackendForm) -> str | None:
        for f in form.backend.fields:
            text = form.edits[f.name].text().strip() if f.kind == "folder" else ""
            if text:
                p = Path(text).expanduser()
                if not p.is_absolute():
                    return self.tr("Give the full path of the folder.")
                if p.exists() and not p.is_dir():
                    return self.tr("This is a file; choose a folder.")
        return None

    def _form_error(self, form: BackendForm) -> str | None:
        folder_error = self._folder_error(form)
        if folder_error:
            return folder_error
        trial = self._trial_settings()
        section = trial.storage[form.name]
        missing = section.missing()
        if missing is not None:
            field = next((f for f in form.backend.fields if f.name == missing), None)
            if field is not None and field.missing is not None:
                return _text(field.missing)
        if (form.has_secret and self.keyring_ok and not form.secret_edit.text() and form.name in self._sources
                and self._sources[form.name] is None and self._read_for.get(form.name) == form.key_id()):
            return self.tr("Enter the secret key (it is kept in the keyring).")
        try:
            section.validate()
        except SettingsError as exc:
            return error_sentence(exc)
        return None

    def _trial_settings(self) -> Settings:
        trial = copy.deepcopy(self._settings)
        self.apply(trial)
        return trial

    # ------------------------------------------------------------------ secrets
    def _read_sources(self) -> None:
        store = self.secrets
        wanted = {form.name: form.key_id() for form in self._secret_forms()}

        def read() -> dict[str, str | None]:  # on a pool thread: the keyring may be slow or locked
            return {kind: store.storage_secret_source(kind, key_id) for kind, key_id in wanted.items()}

        def done(sources: dict[str, str | None]) -> None:
            self._sources, self._read_for = sources, wanted
            self.refresh_secret_status()
            self.changed.emit()
            self.secrets_read.emit()

        def failed(exc: Exception) -> None:
            for form in self._secret_forms():
                form.secret_status.setText(fill(self.tr("Cannot read the keyring: %1"), exc))
            self.secrets_read.emit()

        run_task(self, read, done, failed)

    def refresh_secret_status(self) -> None:
        for form in self._secret_forms():
            kind = form.name
            if not self.keyring_ok:
                text = fill(self.tr("No keyring on this computer: give the secret key in the environment "
                                    "variable %1."), storage_secret_env(kind))
            elif form.secret_edit.text():
                text = self.tr("Stored in the keyring when you click OK.")
            elif kind not in self._sources or self._read_for.get(kind) != form.key_id():
                text = ""
            elif self._sources[kind] == IN_KEYRING:
                text = self.tr("Stored in the keyring.")
            elif self._sources[kind] == IN_ENVIRONMENT:
                text = fill(self.tr("Read from the environment variable %1."), storage_secret_env(kind))
            else:
                text = self.tr("Not set.")
            form.secret_status.setText(text)

    # ------------------------------------------------------------------ events
    def _show_backend(self) -> None:
        self.stack.setCurrentWidget(self.forms[self.backend()])

    def _on_edit(self) -> None:
        self._show_backend()
        self.refresh_secret_status()
        self._test_generation += 1  # a test still running no longer describes these values
        self.test_result.clear()
        self.test_button.setEnabled(True)
        self.changed.emit()

    # ------------------------------------------------------------------ test connection
    def test_connection(self) -> None:
        """Check the chosen backend on a pool thread; ``connection_tested`` reports the result."""
        if self.errors():
            return
        from app.core.media.backends import probe_storage

        backend = self.backend()
        trial = self._trial_settings()
        typed = self.forms[backend].secret_edit.text()
        paths, store = self.paths, self.secrets
        self._test_generation += 1
        generation = self._test_generation
        self.test_button.setEnabled(False)
        self._show_result(None, self.tr("Connecting…"))

        def probe() -> tuple[str, str]:  # on a pool thread: the service may take seconds to answer
            return probe_storage(trial, paths, store, backend, secret=typed or None, timeout=15)

        def done(said: tuple[str, str]) -> None:
            if generation == self._test_generation:
                self._show_result(True, pick(*said))

        def failed(exc: Exception) -> None:
            if generation == self._test_generation:
                self._show_result(False, error_sentence(exc))

        run_task(self, probe, done, failed)

    def _show_result(self, ok: bool | None, message: str) -> None:
        self.test_result.setText(message)
        self.test_result.setStyleSheet(OK_STYLE if ok else ERROR_STYLE if ok is False else NOTE_STYLE)
        if ok is not None:
            self.test_button.setEnabled(True)
            self.connection_tested.emit(ok, message)
