"""The Media page of the settings: where media files are stored — a folder on this computer, an Aliyun
OSS bucket or a Tencent COS bucket — with "Test connection".

The secret key typed here stays in the page until OK stores it in the keyring (``secret_operations``);
it never reaches the settings file. The page reads where the stored secrets are (keyring or
environment) off the GUI thread, and tests a connection off the GUI thread too (``run_task``).
"""

from __future__ import annotations

import copy

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
from app.core.config.settings import Settings, SettingsError

from ..sync.panel import fill
from ..tasks import run_task
from .fields import ERROR_STYLE, NOTE_STYLE, OK_STYLE, ErrorLabel, PathField, note_label

BACKENDS = ("local", "oss", "cos")
# The settings fields each cloud backend's form edits, by form field name.
CLOUD_FIELDS = {
    "oss": {"endpoint": "oss_endpoint", "region": "oss_region", "bucket": "oss_bucket", "prefix": "oss_prefix",
            "key_id": "oss_access_key_id"},
    "cos": {"endpoint": "cos_endpoint", "region": "cos_region", "bucket": "cos_bucket", "prefix": "cos_prefix",
            "key_id": "cos_secret_id"},
}


def storage_fields(settings: Settings) -> tuple:
    """Every storage setting, to tell whether a change needs a restart."""
    names = ["media_backend", "media_dir"] + [f for fields in CLOUD_FIELDS.values() for f in fields.values()]
    return tuple(getattr(settings, n) for n in names)


class CloudStorageForm(QWidget):
    """The fields of one cloud backend."""

    def __init__(self, kind: str, settings: Settings, keyring_ok: bool, parent: QWidget):
        super().__init__(parent)
        self.kind = kind
        self.edits: dict[str, QLineEdit] = {}
        for name, field in CLOUD_FIELDS[kind].items():
            edit = QLineEdit(self)
            edit.setText(getattr(settings, field))
            edit.setClearButtonEnabled(True)
            self.edits[name] = edit
        self.secret_edit = QLineEdit(self)
        self.secret_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret_edit.setPlaceholderText(self.tr("Type to replace the stored secret key"))
        self.secret_edit.setEnabled(keyring_ok)
        self.secret_status = QLabel(self)
        self.secret_status.setTextFormat(Qt.TextFormat.PlainText)
        self.secret_status.setStyleSheet(NOTE_STYLE)
        self.secret_status.setWordWrap(True)
        self.error = ErrorLabel(self)
        e = self.edits
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        if kind == "oss":
            e["region"].setPlaceholderText("cn-hangzhou")
            e["endpoint"].setPlaceholderText(self.tr("Default: the region's, e.g. oss-cn-hangzhou.aliyuncs.com"))
            e["bucket"].setPlaceholderText("my-archive-bucket")
            e["key_id"].setPlaceholderText("LTAI5t…")
            form.addRow(self.tr("Region:"), e["region"])
            form.addRow(self.tr("Endpoint:"), e["endpoint"])
            form.addRow(self.tr("Bucket:"), e["bucket"])
            form.addRow(self.tr("Folder in the bucket:"), e["prefix"])
            form.addRow(self.tr("AccessKey ID:"), e["key_id"])
            form.addRow(self.tr("AccessKey secret:"), self.secret_edit)
        else:
            e["region"].setPlaceholderText("ap-guangzhou")
            e["endpoint"].setPlaceholderText(self.tr("Default: the region's (cos.<region>.myqcloud.com)"))
            e["bucket"].setPlaceholderText("archive-1250000000")
            e["key_id"].setPlaceholderText("AKID…")
            form.addRow(self.tr("Region:"), e["region"])
            form.addRow(self.tr("Bucket (name-APPID):"), e["bucket"])
            form.addRow(self.tr("Endpoint:"), e["endpoint"])
            form.addRow(self.tr("Folder in the bucket:"), e["prefix"])
            form.addRow(self.tr("SecretId:"), e["key_id"])
            form.addRow(self.tr("SecretKey:"), self.secret_edit)
        e["prefix"].setPlaceholderText(self.tr("Optional, e.g. wecom-archive"))
        form.addRow("", self.secret_status)
        form.addRow("", self.error)

    def key_id(self) -> str:
        return self.edits["key_id"].text().strip()

    def apply(self, settings: Settings) -> None:
        for name, field in CLOUD_FIELDS[self.kind].items():
            setattr(settings, field, self.edits[name].text().strip())


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
        self.radios = {"local": QRadioButton(self.tr("A folder on this computer"), self),
                       "oss": QRadioButton(self.tr("Aliyun OSS bucket"), self),
                       "cos": QRadioButton(self.tr("Tencent COS bucket"), self)}
        group = QButtonGroup(self)
        choice = QHBoxLayout()
        for radio in self.radios.values():
            group.addButton(radio)
            choice.addWidget(radio)
        choice.addStretch(1)

        self.folder_field = PathField("folder", self.tr("Folder for media files"), parent=self)
        self.folder_field.setPlaceholderText(str(paths.media_dir))
        self.folder_field.setText(settings.media_dir)
        self.error = ErrorLabel(self)
        local = QWidget(self)
        local_form = QFormLayout(local)
        local_form.setContentsMargins(0, 0, 0, 0)
        local_form.addRow(self.tr("Local folder:"), self.folder_field)
        local_form.addRow("", self.error)
        local_form.addRow(note_label(self.tr(
            "Leave it empty for the default folder. For a team, use a bucket: every workstation then reads the "
            "same files."), local))
        self.forms = {kind: CloudStorageForm(kind, settings, keyring_ok, self) for kind in ("oss", "cos")}
        self.stack = QStackedWidget(self)
        self.stack.addWidget(local)
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

        self.radios.get(settings.media_backend, self.radios["local"]).setChecked(True)
        self._show_backend()
        for radio in self.radios.values():
            radio.toggled.connect(self._on_edit)
        self.folder_field.textChanged.connect(self._on_edit)
        for form in self.forms.values():
            for edit in (*form.edits.values(), form.secret_edit):
                edit.textChanged.connect(self._on_edit)
        self.test_button.clicked.connect(self.test_connection)
        # Where the secret of a newly typed key id is: asked again once typing pauses.
        self._source_timer = QTimer(self)
        self._source_timer.setSingleShot(True)
        self._source_timer.setInterval(300)
        self._source_timer.timeout.connect(self._read_sources)
        for form in self.forms.values():
            form.edits["key_id"].textChanged.connect(self._source_timer.start)
        self.refresh_secret_status()
        self._read_sources()

    # ------------------------------------------------------------------ values
    def backend(self) -> str:
        return next(k for k, r in self.radios.items() if r.isChecked())

    def media_dir(self) -> str:
        text = self.folder_field.text()
        from pathlib import Path

        return "" if not text or Path(text).expanduser() == self.paths.media_dir else text

    def apply(self, settings: Settings) -> None:
        """Write the backend, the folder and both cloud forms into ``settings`` (no secret)."""
        settings.media_backend = self.backend()
        settings.media_dir = self.media_dir()
        for form in self.forms.values():
            form.apply(settings)

    def secret_operations(self) -> list:
        """Keyring writes to run on OK (one per typed secret key); each is a callable."""
        ops = []
        for kind, form in self.forms.items():
            secret, key_id = form.secret_edit.text(), form.key_id()
            if secret and key_id:
                ops.append(lambda k=kind, i=key_id, s=secret: self.secrets.set_storage_secret(k, i, s))
        return ops

    def secret_names(self) -> list[str]:
        """The names of the secrets :meth:`secret_operations` writes (for the audit trail; no value)."""
        return [f"{kind}_secret_key" for kind, form in self.forms.items()
                if form.secret_edit.text() and form.key_id()]

    # ------------------------------------------------------------------ validation
    def errors(self) -> list[str]:
        backend = self.backend()
        folder_error = self._folder_error() if backend == "local" else None
        self.error.set_error(folder_error)
        if folder_error:
            return [self.tr("The media folder has a value to fix.")]
        for kind, form in self.forms.items():
            form.error.set_error(self._cloud_error(kind) if kind == backend else None)
        if backend in self.forms and self.forms[backend].error.text():
            return [self.tr("The media storage has a value to fix.")]
        return []

    def _folder_error(self) -> str | None:
        from pathlib import Path

        text = self.folder_field.text()
        if text:
            p = Path(text).expanduser()
            if not p.is_absolute():
                return self.tr("Give the full path of the folder.")
            if p.exists() and not p.is_dir():
                return self.tr("This is a file; choose a folder.")
        return None

    def _cloud_error(self, kind: str) -> str | None:
        form = self.forms[kind]
        e = form.edits
        if not e["bucket"].text().strip():
            return self.tr("Enter the bucket's name.")
        if not e["region"].text().strip() and (kind == "cos" or not e["endpoint"].text().strip()):
            return self.tr("Enter the bucket's region.")
        if not form.key_id():
            return self.tr("Enter the AccessKey ID.") if kind == "oss" else self.tr("Enter the SecretId.")
        if (self.keyring_ok and not form.secret_edit.text() and kind in self._sources
                and self._sources[kind] is None and self._read_for.get(kind) == form.key_id()):
            return self.tr("Enter the secret key (it is kept in the keyring).")
        trial = self._trial_settings()
        try:
            from app.core.media.config import cloud_config

            cloud_config(trial, kind)
        except SettingsError as exc:
            return str(exc)
        return None

    def _trial_settings(self) -> Settings:
        trial = copy.deepcopy(self._settings)
        self.apply(trial)
        return trial

    # ------------------------------------------------------------------ secrets
    def _read_sources(self) -> None:
        store = self.secrets
        wanted = {kind: form.key_id() for kind, form in self.forms.items()}

        def read() -> dict[str, str | None]:  # on a pool thread: the keyring may be slow or locked
            return {kind: store.storage_secret_source(kind, key_id) for kind, key_id in wanted.items()}

        def done(sources: dict[str, str | None]) -> None:
            self._sources, self._read_for = sources, wanted
            self.refresh_secret_status()
            self.changed.emit()
            self.secrets_read.emit()

        def failed(exc: Exception) -> None:
            for form in self.forms.values():
                form.secret_status.setText(fill(self.tr("Cannot read the keyring: %1"), exc))
            self.secrets_read.emit()

        run_task(self, read, done, failed)

    def refresh_secret_status(self) -> None:
        for kind, form in self.forms.items():
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
        self.stack.setCurrentIndex(BACKENDS.index(self.backend()))

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
        typed = self.forms[backend].secret_edit.text() if backend in self.forms else ""
        paths, store = self.paths, self.secrets
        self._test_generation += 1
        generation = self._test_generation
        self.test_button.setEnabled(False)
        self._show_result(None, self.tr("Connecting…"))

        def probe() -> str:  # on a pool thread: the service may take seconds to answer
            return probe_storage(trial, paths, store, backend, secret=typed or None, timeout=15)

        def done(message: str) -> None:
            if generation == self._test_generation:
                self._show_result(True, message)

        def failed(exc: Exception) -> None:
            if generation == self._test_generation:
                self._show_result(False, str(exc))

        run_task(self, probe, done, failed)

    def _show_result(self, ok: bool | None, message: str) -> None:
        self.test_result.setText(message)
        self.test_result.setStyleSheet(OK_STYLE if ok else ERROR_STYLE if ok is False else NOTE_STYLE)
        if ok is not None:
            self.test_button.setEnabled(True)
            self.connection_tested.emit(ok, message)
