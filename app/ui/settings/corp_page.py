"""The Corp page of the settings: one or more corps, each with its secret, keys, SDK and proxy.

Secrets typed or imported here are kept in the page (never in the settings) until OK stores them
in the keyring; the page only says where each secret currently lives.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.config.secrets import IN_CORPUS, IN_ENVIRONMENT, IN_KEYRING, env_var_name
from app.core.config.settings import CorpSettings
from app.core.sdk.hosted import LibrarySpec, check_library, library_file_problem
from app.ui.language import error_sentence, pick, ui_is_chinese

from ..sync.panel import fill
from ..tasks import run_task
from .fields import ERROR_STYLE, NOTE_STYLE, OK_STYLE, ErrorLabel, PathField, note_label
from .keys import PrivateKeyImportDialog

# Library files checked in this session, by (path, mtime, size): None = usable, else the sentence.
# Shared by every Settings dialog, so that opening Settings again does not load the file again.
_LIBRARY_CHECKS: dict[tuple, str | None] = {}
_PROXY = re.compile(r"^(socks5h?|https?)://[^\s/:@]+:\d{1,5}/?$")


@dataclass
class SecretState:
    """Where a saved corp's secrets live now (read from the keyring off the GUI thread)."""

    secret: str | None = None  # IN_KEYRING / IN_ENVIRONMENT / IN_CORPUS / None
    keys: dict[int, str] = field(default_factory=dict)  # version -> where
    proxy_password: bool = False
    error: str = ""


@dataclass
class CorpDraft:
    """One corp as edited: its settings plus the secrets to store or delete on OK."""

    corp: CorpSettings
    saved: bool  # already in the settings file: its id is fixed (the archive refers to it)
    use_simulator: bool
    secret: str = ""  # typed: replaces the stored secret on OK
    proxy_password: str = ""
    new_keys: dict[int, str] = field(default_factory=dict)  # version -> PEM, stored on OK
    removed_keys: set[int] = field(default_factory=set)
    state: SecretState | None = None  # None until read

    @classmethod
    def of(cls, corp: CorpSettings) -> CorpDraft:
        return cls(copy.deepcopy(corp), saved=True, use_simulator=corp.uses_simulator)

    def key_versions(self) -> list[int]:
        known = set(self.corp.key_versions) | set(self.state.keys if self.state else ())
        return sorted((known | set(self.new_keys)) - self.removed_keys)

    def result(self) -> CorpSettings:
        """The CorpSettings to save (no secret in it)."""
        c = copy.deepcopy(self.corp)
        if not self.use_simulator:
            c.simulator_corpus = ""
            c.secrets_in_corpus = False
        else:
            c.sdk_library = ""
        c.key_versions = sorted((set(c.key_versions) | set(self.new_keys)) - self.removed_keys)
        return c

    def label(self, new_text: str) -> str:
        name, corpid = self.corp.name.strip(), self.corp.corpid.strip()
        if name and corpid:
            return f"{name} ({corpid})"
        return name or corpid or new_text


class CorpPage(QWidget):
    """Emits ``changed`` after every edit (the dialog re-validates)."""

    changed = Signal()

    def __init__(self, corps: list[CorpSettings], keyring_ok: bool, parent: QWidget | None = None):
        super().__init__(parent)
        self.drafts = [CorpDraft.of(c) for c in corps]
        self.removed: list[CorpDraft] = []  # saved corps removed: their secrets are deleted on OK
        self.keyring_ok = keyring_ok
        self._loading = False
        self._library_pending: set[tuple] = set()  # library files being checked for this page
        self._build()
        self._refresh_selector()
        self._load_current()

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        self.selector = QComboBox(self)
        self.selector.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.add_button = QPushButton(self.tr("Add corp"), self)
        self.remove_button = QPushButton(self.tr("Remove corp…"), self)
        top = QHBoxLayout()
        top.addWidget(QLabel(self.tr("Corp:"), self))
        top.addWidget(self.selector, 1)
        top.addWidget(self.add_button)
        top.addWidget(self.remove_button)

        self.keyring_note = note_label("", self)
        self.keyring_note.setStyleSheet("color: #9a6700;")
        self.keyring_note.setVisible(not self.keyring_ok)
        self.empty_note = note_label(self.tr("No corp is configured. Click “Add corp” to enter yours."), self)

        self.form_host = QWidget(self)
        form = QFormLayout(self.form_host)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.corpid_edit = QLineEdit(self)
        self.corpid_edit.setPlaceholderText(self.tr("ww0123456789abcdef (Admin console > My company)"))
        self.corpid_error = ErrorLabel(self)
        self.name_edit = QLineEdit(self)
        self.name_edit.setPlaceholderText(self.tr("Shown in the session tree and in exports"))
        self.secret_edit = QLineEdit(self)
        self.secret_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret_edit.setPlaceholderText(self.tr("Type to replace the stored secret"))
        self.secret_status = self._status_label()

        self.key_table = QTableWidget(0, 2, self)
        self.key_table.setHorizontalHeaderLabels([self.tr("Version"), self.tr("Where the key is kept")])
        self.key_table.verticalHeader().hide()
        self.key_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.key_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.key_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.key_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.key_table.horizontalHeader().setStretchLastSection(True)
        self.key_table.setFixedHeight(110)
        self.import_button = QPushButton(self.tr("Import PEM…"), self)
        self.remove_key_button = QPushButton(self.tr("Remove"), self)
        key_buttons = QHBoxLayout()
        key_buttons.addWidget(self.import_button)
        key_buttons.addWidget(self.remove_key_button)
        key_buttons.addStretch(1)
        self.keys_error = ErrorLabel(self)

        self.simulator_radio = QRadioButton(self.tr("Use the built-in simulator (demo and tests)"), self)
        self.library_radio = QRadioButton(self.tr("Use Tencent's SDK library"), self)
        self._sdk_group = QButtonGroup(self)
        self._sdk_group.addButton(self.simulator_radio)
        self._sdk_group.addButton(self.library_radio)
        self.corpus_field = PathField("folder", self.tr("Choose the simulator corpus folder"), parent=self)
        self.corpus_field.setPlaceholderText(self.tr("Corpus folder (holds corpus.json)"))
        self.library_field = PathField("file", self.tr("Choose libWeWorkFinanceSdk_C.so"),
                                       self.tr("Shared libraries (*.so *.so.*);;All files (*)"), self)
        self.library_field.setPlaceholderText("/opt/wecom/libWeWorkFinanceSdk_C.so")
        self.sdk_error = ErrorLabel(self)

        self.proxy_edit = QLineEdit(self)
        self.proxy_edit.setPlaceholderText(self.tr("Optional: socks5://host:port or http://host:port"))
        self.proxy_error = ErrorLabel(self)
        self.proxy_password_edit = QLineEdit(self)
        self.proxy_password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.proxy_password_edit.setPlaceholderText(self.tr("user:password, if the proxy needs one"))
        self.proxy_password_status = self._status_label()
        self.timeout_spin = QSpinBox(self)
        self.timeout_spin.setRange(1, 600)
        self.timeout_spin.setSuffix(self.tr(" s"))
        self.ca_field = PathField("file", self.tr("Choose the CA certificate (PEM)"),
                                  self.tr("Certificates (*.pem *.crt *.cer);;All files (*)"), self)
        self.ca_field.setPlaceholderText(self.tr("Only for a company proxy that inspects TLS: its CA (PEM)"))
        self.ca_error = ErrorLabel(self)
        self.test_button = QPushButton(self.tr("Test connection"), self)
        self.test_result = QLabel(self)
        self.test_result.setTextFormat(Qt.TextFormat.PlainText)
        self.test_result.setWordWrap(True)
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addStretch(1)
        # Set by the dialog: (draft) -> list of ConnectionCheck, blocking (run off the GUI thread).
        self.connection_test = None
        self._test_generation = 0

        form.addRow(self.tr("Corp ID:"), self.corpid_edit)
        form.addRow("", self.corpid_error)
        form.addRow(self.tr("Name:"), self.name_edit)
        form.addRow(self.tr("Chat-archive secret:"), self.secret_edit)
        form.addRow("", self.secret_status)
        form.addRow(self.tr("Private keys:"), self.key_table)
        form.addRow("", key_buttons)
        form.addRow("", self.keys_error)
        form.addRow(self.tr("SDK:"), self.simulator_radio)
        form.addRow("", self.corpus_field)
        form.addRow("", self.library_radio)
        form.addRow("", self.library_field)
        form.addRow("", self.sdk_error)
        form.addRow(self.tr("Proxy:"), self.proxy_edit)
        form.addRow("", self.proxy_error)
        form.addRow(self.tr("Proxy password:"), self.proxy_password_edit)
        form.addRow("", self.proxy_password_status)
        form.addRow(self.tr("Timeout per SDK call:"), self.timeout_spin)
        form.addRow(self.tr("Trusted CA:"), self.ca_field)
        form.addRow("", self.ca_error)
        form.addRow("", test_row)
        form.addRow("", self.test_result)

        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        inner = QWidget(scroll)
        inner_layout = QVBoxLayout(inner)
        inner_layout.setContentsMargins(0, 0, 0, 0)
        inner_layout.addWidget(self.keyring_note)
        inner_layout.addWidget(self.empty_note)
        inner_layout.addWidget(self.form_host)
        inner_layout.addStretch(1)
        scroll.setWidget(inner)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(scroll, 1)

        self.selector.currentIndexChanged.connect(self._load_current)
        self.add_button.clicked.connect(self.add_corp)
        self.remove_button.clicked.connect(self._ask_remove_corp)
        self.import_button.clicked.connect(self.open_import_dialog)
        self.remove_key_button.clicked.connect(self._ask_remove_key)
        self.key_table.itemSelectionChanged.connect(self._update_buttons)
        for edit in (self.corpid_edit, self.name_edit, self.secret_edit, self.proxy_edit,
                     self.proxy_password_edit):
            edit.textChanged.connect(self._store_current)
        for f in (self.corpus_field, self.library_field, self.ca_field):
            f.textChanged.connect(self._store_current)
        self.test_button.clicked.connect(self.test_connection)
        self.simulator_radio.toggled.connect(self._store_current)
        self.timeout_spin.valueChanged.connect(self._store_current)

    def _status_label(self) -> QLabel:
        label = QLabel(self)
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setWordWrap(True)
        label.setStyleSheet(NOTE_STYLE)
        return label

    # ------------------------------------------------------------------ corps
    def current(self) -> CorpDraft | None:
        i = self.selector.currentIndex()
        return self.drafts[i] if 0 <= i < len(self.drafts) else None

    def select(self, index: int) -> None:
        self.selector.setCurrentIndex(index)

    def add_corp(self) -> CorpDraft:
        draft = CorpDraft(CorpSettings(corpid=""), saved=False, use_simulator=False, state=SecretState())
        self.drafts.append(draft)
        self._refresh_selector()
        self.selector.setCurrentIndex(len(self.drafts) - 1)
        self.corpid_edit.setFocus()
        self.changed.emit()
        return draft

    def remove_corp(self, index: int) -> None:
        """Drop the corp (its secrets leave the keyring on OK; its archived messages stay)."""
        draft = self.drafts.pop(index)
        if draft.saved:
            self.removed.append(draft)
        self._refresh_selector()
        self._load_current()
        self.changed.emit()

    def _ask_remove_corp(self) -> None:
        draft = self.current()
        if draft is None:
            return
        if draft.saved:
            answer = QMessageBox.question(self, self.tr("Remove corp"), fill(self.tr(
                "Remove %1 from the settings? When you click OK its secret and private keys are deleted "
                "from the keyring. Its archived messages stay in the archive."), draft.label("")))
            if answer != QMessageBox.StandardButton.Yes:
                return
        self.remove_corp(self.selector.currentIndex())

    def _refresh_selector(self) -> None:
        index = max(0, min(self.selector.currentIndex(), len(self.drafts) - 1))
        self.selector.blockSignals(True)
        self.selector.clear()
        for d in self.drafts:
            self.selector.addItem(d.label(self.tr("New corp")))
        self.selector.setCurrentIndex(index if self.drafts else -1)
        self.selector.blockSignals(False)

    # ------------------------------------------------------------------ secrets state
    def set_secret_states(self, states: dict[str, SecretState]) -> None:
        for d in self.drafts + self.removed:
            if d.saved:
                d.state = states.get(d.corp.corpid, SecretState())
        self._load_current()

    def states_loaded(self) -> bool:
        return all(d.state is not None for d in self.drafts)

    # ------------------------------------------------------------------ widgets <-> draft
    def _load_current(self) -> None:
        draft = self.current()
        self.form_host.setVisible(draft is not None)
        self.empty_note.setVisible(draft is None)
        self.remove_button.setEnabled(draft is not None)
        if draft is None:
            self.changed.emit()
            return
        self._loading = True
        try:
            c = draft.corp
            self.corpid_edit.setText(c.corpid)
            self.corpid_edit.setReadOnly(draft.saved)
            self.corpid_edit.setToolTip(self.tr("The corp ID of a saved corp cannot change: the archive refers "
                                                "to it. Remove the corp and add it again instead.")
                                        if draft.saved else "")
            self.name_edit.setText(c.name)
            self.secret_edit.setText(draft.secret)
            self.simulator_radio.setChecked(draft.use_simulator)
            self.library_radio.setChecked(not draft.use_simulator)
            self.corpus_field.setText(c.simulator_corpus)
            self.library_field.setText(c.sdk_library)
            self.proxy_edit.setText(c.proxy)
            self.proxy_password_edit.setText(draft.proxy_password)
            self.timeout_spin.setValue(c.timeout)
            self.ca_field.setText(c.ca_file)
        finally:
            self._loading = False
        self._refresh_state_views()
        self.changed.emit()

    def _store_current(self) -> None:
        draft = self.current()
        if self._loading or draft is None:
            return
        c = draft.corp
        if not draft.saved:
            c.corpid = self.corpid_edit.text().strip()
        c.name = self.name_edit.text().strip()
        draft.secret = self.secret_edit.text()
        draft.use_simulator = self.simulator_radio.isChecked()
        c.simulator_corpus = self.corpus_field.text()
        c.sdk_library = self.library_field.text()
        c.proxy = self.proxy_edit.text().strip()
        draft.proxy_password = self.proxy_password_edit.text()
        c.timeout = self.timeout_spin.value()
        c.ca_file = self.ca_field.text()
        self._test_generation += 1  # a test still running no longer describes these values
        self.test_result.clear()
        self.selector.setItemText(self.selector.currentIndex(), draft.label(self.tr("New corp")))
        self._refresh_state_views()
        self.changed.emit()

    def _refresh_state_views(self) -> None:
        draft = self.current()
        if draft is None:
            return
        state = draft.state
        corpid = draft.corp.corpid or "<CORPID>"
        self.corpus_field.setEnabled(draft.use_simulator)
        self.library_field.setEnabled(not draft.use_simulator)
        for w in (self.secret_edit, self.proxy_password_edit, self.import_button):
            w.setEnabled(self.keyring_ok)
        self.keyring_note.setText(fill(self.tr(
            "This computer has no usable keyring (Secret Service, KWallet, Keychain or Credential Manager), so "
            "secrets cannot be saved here. Set them as environment variables of the app instead: %1 (the "
            "chat-archive secret), %2 (each private key: the PEM text, or @/path/to/key.pem) and %3 (the "
            "proxy password)."),
            env_var_name("CORP_SECRET", corpid), env_var_name("PRIVATE_KEY", corpid) + "_V<VERSION>",
            env_var_name("PROXY_PASSWORD", corpid)))

        if draft.secret:
            secret = self.tr("Stored in the keyring when you click OK.")
        elif state is None:
            secret = self.tr("Checking the keyring…")
        else:
            secret = self._where(state.secret, env_var_name("CORP_SECRET", corpid))
        self.secret_status.setText(secret)

        if draft.proxy_password:
            proxy = self.tr("Stored in the keyring when you click OK.")
        elif state is None:
            proxy = self.tr("Checking the keyring…")
        else:
            proxy = self.tr("Stored in the keyring.") if state.proxy_password else self.tr("Not set.")
        self.proxy_password_status.setText(proxy)

        versions = draft.key_versions()
        self.key_table.setRowCount(len(versions))
        for row, v in enumerate(versions):
            if v in draft.new_keys:
                where = self.tr("New: stored in the keyring when you click OK.")
            elif state is None:
                where = self.tr("Checking the keyring…")
            else:
                where = self._where(state.keys.get(v), env_var_name("PRIVATE_KEY", corpid, v),
                                    missing=self.tr("Missing: import it again."))
            version_item = QTableWidgetItem(str(v))
            version_item.setData(Qt.ItemDataRole.UserRole, v)
            self.key_table.setItem(row, 0, version_item)
            self.key_table.setItem(row, 1, QTableWidgetItem(where))
        self._update_buttons()

    def _where(self, source: str | None, env_name: str, missing: str | None = None) -> str:
        if source == IN_KEYRING:
            return self.tr("Stored in the keyring.")
        if source == IN_ENVIRONMENT:
            return fill(self.tr("Read from the environment variable %1."), env_name)
        if source == IN_CORPUS:
            return self.tr("Read from the demo corpus folder (demo data).")
        return missing or self.tr("Not set.")

    def _update_buttons(self) -> None:
        self.remove_key_button.setEnabled(bool(self.key_table.selectedItems()))

    # ------------------------------------------------------------------ keys
    def open_import_dialog(self) -> PrivateKeyImportDialog:
        """Open (window-modal, not blocking) the import dialog; an accepted key joins the corp."""
        draft = self.current()
        dialog = PrivateKeyImportDialog(draft.corp.corpid if draft else "", draft.key_versions() if draft else [],
                                        self)
        dialog.accepted.connect(lambda: self.add_private_key(dialog.version(), dialog.pem()))
        dialog.open()
        return dialog

    def add_private_key(self, version: int, pem: str | None) -> None:
        draft = self.current()
        if draft is None or not pem:
            return
        draft.new_keys[version] = pem
        draft.removed_keys.discard(version)
        self._refresh_state_views()
        self.changed.emit()

    def remove_private_key(self, version: int) -> None:
        draft = self.current()
        if draft is None:
            return
        draft.new_keys.pop(version, None)
        draft.removed_keys.add(version)
        self._refresh_state_views()
        self.changed.emit()

    def _ask_remove_key(self) -> None:
        rows = {i.row() for i in self.key_table.selectedItems()}
        if not rows:
            return
        version = self.key_table.item(min(rows), 0).data(Qt.ItemDataRole.UserRole)
        answer = QMessageBox.question(self, self.tr("Remove private key"), fill(self.tr(
            "Remove the private key of version %1? Messages encrypted with it can no longer be decrypted "
            "(they go to quarantine) until you import it again."), version))
        if answer == QMessageBox.StandardButton.Yes:
            self.remove_private_key(version)

    # ------------------------------------------------------------------ test connection
    def test_connection(self) -> None:
        """Check the current corp as typed (library, keys, WeCom's answer with certificate
        verification, one entry fetched and decrypted) on a pool thread; the result shows below."""
        draft = self.current()
        if draft is None or self.connection_test is None:
            return
        if self._draft_errors(draft, self.drafts.index(draft)):
            self._show_test(False, self.tr("Fix the values marked above first."))
            return
        self._test_generation += 1
        generation = self._test_generation
        probe_draft = copy.deepcopy(draft)
        self.test_button.setEnabled(False)
        self._show_test(None, self.tr("Connecting… (this can take up to a minute)"))
        chinese = ui_is_chinese()

        def done(checks) -> None:
            if generation != self._test_generation:
                return
            lines = [("✓ " if c.ok else "✗ ") + (c.message_zh if chinese else c.message_en) for c in checks]
            self._show_test(all(c.ok for c in checks), "\n".join(lines))

        def failed(exc: Exception) -> None:
            if generation == self._test_generation:
                self._show_test(False, str(exc))

        run_task(self, lambda: self.connection_test(probe_draft), done, failed)

    def _show_test(self, ok: bool | None, text: str) -> None:
        self.test_result.setText(text)
        self.test_result.setStyleSheet(OK_STYLE if ok else ERROR_STYLE if ok is False else NOTE_STYLE)
        if ok is not None:
            self.test_button.setEnabled(True)

    # ------------------------------------------------------------------ validation
    def errors(self) -> list[str]:
        """One line per corp with a bad value (and the current corp's inline errors updated)."""
        problems = []
        for i, draft in enumerate(self.drafts):
            fields = self._draft_errors(draft, i)
            if draft is self.current():
                self.corpid_error.set_error(fields.get("corpid"))
                self.sdk_error.set_error(fields.get("sdk"))
                self.proxy_error.set_error(fields.get("proxy"))
                self.ca_error.set_error(fields.get("ca"))
            if fields:
                problems.append(fill(self.tr("Corp “%1” has a value to fix."), draft.label(self.tr("New corp"))))
        return problems

    def _draft_errors(self, draft: CorpDraft, index: int) -> dict[str, str]:
        errors: dict[str, str] = {}
        c = draft.corp
        corpid = c.corpid.strip()
        if not corpid:
            errors["corpid"] = self.tr("Enter the corp ID (Admin console > My company > Corp ID).")
        elif re.search(r"\s", corpid):
            errors["corpid"] = self.tr("The corp ID cannot contain spaces.")
        elif len(corpid) > 64:
            errors["corpid"] = self.tr("The corp ID is at most 64 characters long.")
        elif any(d.corp.corpid == corpid for j, d in enumerate(self.drafts) if j != index):
            errors["corpid"] = self.tr("Another corp already has this corp ID.")
        sdk = self._corpus_error(c.simulator_corpus) if draft.use_simulator else self._library_error(c.sdk_library)
        if sdk:
            errors["sdk"] = sdk
        if c.ca_file and not Path(c.ca_file).expanduser().is_file():
            errors["ca"] = fill(self.tr("%1 is not a file: choose the PEM file of your company's CA, or leave the "
                                        "field empty."), c.ca_file)
        if c.proxy and not _PROXY.match(c.proxy):
            errors["proxy"] = self.tr("Write the proxy as socks5://host:port or http://host:port "
                                      "(user and password go in the proxy password field).")
        return errors

    def _corpus_error(self, folder: str) -> str | None:
        if not folder:
            return self.tr("Choose the simulator's corpus folder.")
        if not (Path(folder).expanduser() / "corpus.json").is_file():
            return fill(self.tr("%1 is not a simulator corpus (it has no corpus.json)."), folder)
        return None

    def _library_error(self, path_text: str) -> str | None:
        if not path_text:
            return self.tr("Choose Tencent's SDK library file (libWeWorkFinanceSdk_C.so).")
        path = Path(path_text).expanduser()
        try:
            st = path.stat()
            key = (str(path), st.st_mtime_ns, st.st_size)
        except OSError:
            key = (str(path), None, None)
        if key in _LIBRARY_CHECKS:
            return _LIBRARY_CHECKS[key]
        problem = library_file_problem(path)  # the file alone: at once, without loading it
        if problem:
            return error_sentence(problem)
        if key not in self._library_pending:
            # Validation runs on every edit: load each file once, in an SDK host process off the
            # GUI thread (Tencent's library aborts a process that has loaded Qt), then re-validate.
            self._library_pending.add(key)

            def checked(result, key=key) -> None:
                _LIBRARY_CHECKS[key] = None if result.ok else pick(result.message, result.message_zh)
                self._library_pending.discard(key)
                self.changed.emit()

            def failed(exc: Exception, key=key) -> None:
                _LIBRARY_CHECKS[key] = fill(self.tr("The SDK library could not be checked: %1"), str(exc))
                self._library_pending.discard(key)
                self.changed.emit()

            run_task(self, lambda p=str(path): check_library(LibrarySpec(p)), on_done=checked, on_error=failed)
        return self.tr("Checking the SDK library…")
