"""Importing one private key (PEM) for a publickey_ver, checked before it can be accepted."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from app.core.sdk import load_private_key
from app.core.sdk.keys import PrivateKeyError

from ..sync.panel import fill
from .fields import ErrorLabel, PathField, note_label

MAX_PEM_BYTES = 64 * 1024  # an RSA-4096 PEM is ~3.3 KB: anything far bigger is the wrong file


class PrivateKeyImportDialog(QDialog):
    """Asks for the key version and the PEM file; OK only once the file is a readable RSA key.

    After ``accepted``: :meth:`version` and :meth:`pem` (the text, to be stored in the keyring).
    """

    def __init__(self, corpid: str, installed: list[int], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(self.tr("Import private key"))
        self._installed = set(installed)
        self._pem: str | None = None
        self.version_spin = QSpinBox(self)
        self.version_spin.setRange(1, 9999)
        self.version_spin.setValue(max(installed, default=0) + 1)
        self.file_field = PathField("file", self.tr("Choose the private key (PEM)"),
                                    self.tr("PEM files (*.pem *.key);;All files (*)"), self)
        self.file_field.setPlaceholderText(self.tr("private_key_v2.pem"))
        self.file_error = ErrorLabel(self)
        self.version_note = QLabel(self)
        intro = note_label(fill(self.tr(
            "The private key that matches the public key of this version in the WeCom admin console "
            "(Chat archive > publickey_ver) for corp %1. Keep every old version: older messages need it."),
            corpid or self.tr("(new corp)")), self)
        form = QFormLayout()
        form.addRow(self.tr("Key version (publickey_ver):"), self.version_spin)
        form.addRow("", self.version_note)
        form.addRow(self.tr("PEM file:"), self.file_field)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
                                        self)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.file_error)
        layout.addWidget(self.buttons)
        self.file_field.textChanged.connect(self._validate)
        self.version_spin.valueChanged.connect(self._validate)
        self.setMinimumWidth(560)
        self._validate()

    def version(self) -> int:
        return self.version_spin.value()

    def pem(self) -> str | None:
        return self._pem

    def ok_enabled(self) -> bool:
        return self.buttons.button(QDialogButtonBox.StandardButton.Ok).isEnabled()

    def error_text(self) -> str:
        return self.file_error.text()

    def _validate(self) -> None:
        replaced = self.version() in self._installed
        self.version_note.setText(fill(self.tr("Version %1 is installed: importing replaces its key."),
                                       self.version()) if replaced else "")
        self.version_note.setVisible(replaced)
        self._pem, error = self._read(self.file_field.text())
        if error is None:
            self.file_error.setToolTip("")
        self.file_error.set_error(error)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(self._pem is not None)
        if self.isVisible():
            self.adjustSize()  # room for the error line, or none

    def _read(self, path_text: str) -> tuple[str | None, str | None]:
        if not path_text:
            return None, None  # nothing chosen yet: OK stays disabled, no complaint
        path = Path(path_text).expanduser()
        if not path.is_file():
            return None, fill(self.tr("%1 is not a file."), path)
        try:
            if path.stat().st_size > MAX_PEM_BYTES:
                return None, self.tr("This file is far too big to be a private key; choose the .pem file.")
            text = path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError):
            return None, self.tr("This file cannot be read as a PEM text file; choose the .pem file.")
        try:
            load_private_key(text, version=self.version())
        except PrivateKeyError as exc:
            self.file_error.setToolTip(str(exc))  # the library's details, for whoever needs them
            return None, self.tr("This file is not a usable private key: an unencrypted PEM RSA key is needed "
                                 "(-----BEGIN RSA PRIVATE KEY----- or -----BEGIN PRIVATE KEY-----).")
        return text, None
