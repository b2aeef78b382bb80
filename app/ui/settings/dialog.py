"""The settings dialog: Corp, Archive, Media, Background jobs and Language pages.

Nothing is saved until OK: then the secrets go to the keyring (off the GUI thread: a keyring may
be slow or ask to be unlocked), and the settings are saved through the audited
``AppContext.change_settings`` as the signed-in account: one ``settings.change`` audit entry per
changed setting, and one per secret changed in the keyring (named, its value never recorded). Bad
values are shown in red under their field and keep OK disabled; a refusal (the account may not
change settings) or a failed save is shown under the pages like them.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTabWidget, QVBoxLayout, QWidget

from app.core.actor import Actor
from app.core.auth import SETTINGS_CHANGE, Action, AuthError, can
from app.core.config.secrets import IN_KEYRING, SecretStore, env_var_name, keyring_available
from app.core.config.settings import CorpSettings, Settings, SettingsError
from app.core.context import AppContext
from app.core.errors import DatabaseError
from app.ui.language import error_sentence

from ..sync.panel import fill
from ..tasks import run_task
from .corp_page import CorpPage, SecretState
from .fields import ErrorLabel
from .pages import ArchivePage, LanguagePage
from .queue_page import QueuePage
from .storage_page import MediaStoragePage, storage_fields


def read_secret_states(store: SecretStore, corps: list[CorpSettings]) -> dict[str, SecretState]:
    """Where each corp's secrets live (blocking: the keyring may be slow; call off the GUI thread)."""
    states = {}
    for corp in corps:
        try:
            states[corp.corpid] = SecretState(store.corp_secret_source(corp), store.private_key_sources(corp),
                                              bool(store.proxy_password(corp)))
        except Exception as exc:  # an unreadable demo corpus or a locked keyring: say so, do not crash
            states[corp.corpid] = SecretState(error=str(exc))
    return states


class SettingsDialog(QDialog):
    """``exec()`` or ``open()``; after ``accepted`` the settings are saved as ``actor`` (who needs
    ``settings.change``; ``restart_required`` says whether a change needs a restart).
    ``secrets_loaded`` fires once the keyring has been read."""

    secrets_loaded = Signal()
    save_failed = Signal(str)

    def __init__(self, ctx: AppContext, actor: Actor, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.actor = actor
        self.restart_required = False
        self._saving = False
        self.keyring_ok = keyring_available()
        self.setWindowTitle(self.tr("Settings"))
        settings = ctx.settings
        self.corp_page = CorpPage(settings.corps, self.keyring_ok, self)
        self.corp_page.connection_test = self._test_corp
        self.archive_page = ArchivePage(settings, ctx.paths, self.keyring_ok, self)
        self.media_page = MediaStoragePage(settings, ctx.paths, ctx.secrets, self.keyring_ok, self)
        self.queue_page = QueuePage(settings, ctx.secrets, self.keyring_ok, lambda: ctx.db_url, self)
        self.language_page = LanguagePage(settings, self)
        self.tabs = QTabWidget(self)
        self.tabs.addTab(self.corp_page, self.tr("Corp"))
        self.tabs.addTab(self.archive_page, self.tr("Archive"))
        self.tabs.addTab(self.media_page, self.tr("Media"))
        self.tabs.addTab(self.queue_page, self.tr("Background jobs"))
        self.tabs.addTab(self.language_page, self.tr("Language"))
        self.problem_label = ErrorLabel(self)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
                                        self)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.problem_label)
        layout.addWidget(self.buttons)
        for page in (self.corp_page, self.archive_page, self.media_page, self.queue_page, self.language_page):
            page.changed.connect(self.validate)
        self.resize(720, 760)
        self.validate()
        self._read_secrets()

    def ok_button(self):
        return self.buttons.button(QDialogButtonBox.StandardButton.Ok)

    def _test_corp(self, draft):
        """The corp page's "Test connection" (on a pool thread): the draft as typed, with the secrets
        typed in the page or else those stored; nothing is saved."""
        from app.core.sync.checks import run_checks

        corp = draft.result()
        keys = {v: pem for v, pem in self.ctx.secrets.private_keys(corp).items() if v not in draft.removed_keys}
        keys.update(draft.new_keys)
        connection = self.ctx.connection(corp, secret=draft.secret or None,
                                         proxy_passwd=draft.proxy_password or None)
        return run_checks(connection, keys)

    # ------------------------------------------------------------------ validation
    def validate(self) -> bool:
        problems = (self.corp_page.errors() + self.archive_page.errors() + self.media_page.errors()
                    + self.queue_page.errors())
        self.problem_label.set_error(" ".join(problems))
        self.ok_button().setEnabled(not problems and not self._saving)
        return not problems

    # ------------------------------------------------------------------ reading the keyring
    def _read_secrets(self) -> None:
        store, corps = self.ctx.secrets, [d.corp for d in self.corp_page.drafts if d.saved]
        url = self.archive_page.database_url() if self.archive_page.uses_mysql() else ""

        def read():
            return read_secret_states(store, corps), bool(url) and bool(store.database_password(url))

        run_task(self, read, self._on_secrets_read, self._on_secrets_failed)

    def _on_secrets_read(self, result) -> None:
        states, db_password = result
        self.corp_page.set_secret_states(states)
        self.archive_page.password_stored = db_password
        self.archive_page.refresh_password_status()
        self.secrets_loaded.emit()

    def _on_secrets_failed(self, exc: Exception) -> None:
        self.corp_page.set_secret_states({})
        self.problem_label.set_error(fill(self.tr("Cannot read the keyring: %1"), exc))
        self.secrets_loaded.emit()

    # ------------------------------------------------------------------ saving
    def accept(self) -> None:
        if self._saving or not self.validate():
            return
        try:
            new = self._new_settings()
        except SettingsError as exc:
            self.problem_label.set_error(error_sentence(exc))
            return
        operations, writes, secret_names = self._secret_operations()
        if writes and not keyring_available():
            self.problem_label.set_error(self._no_keyring_message())
            return
        try:
            # The change is recorded in the archive open now: open it before the settings (maybe its
            # URL) change in place (the window opened it long ago; a fresh context has not).
            trail = self.ctx.trail
            if not can(self.actor, SETTINGS_CHANGE):  # refused before any secret reaches the keyring
                trail.require(self.actor, SETTINGS_CHANGE, action=Action.SETTINGS_CHANGE,
                              object_type="settings", object="settings dialog")
        except (AuthError, DatabaseError) as exc:  # PermissionDenied (recorded as denied), no archive
            self._on_save_failed(exc)
            return
        self._saving = True
        self.ok_button().setEnabled(False)
        self.problem_label.set_error(None)

        def store_secrets() -> None:  # on a pool thread; the values never reach a log or the settings
            for op in operations:
                op()

        run_task(self, store_secrets, lambda _: self._finish_save(new, secret_names), self._on_save_failed)

    def _new_settings(self) -> Settings:
        new = copy.deepcopy(self.ctx.settings)
        new.language = self.language_page.language()
        new.database_url = self.archive_page.database_url()
        self.media_page.apply(new)  # backend, folder, bucket settings (the secret key goes to the keyring)
        self.queue_page.apply(new)  # queue_url, sync_interval_minutes (the Redis password goes to the keyring)
        new.corps = [d.result() for d in self.corp_page.drafts]
        new.validate()
        return new

    def _secret_operations(self) -> tuple[list[Callable[[], None]], bool, list[str]]:
        """What to do in the keyring on OK, whether any of it writes a secret, and the names of the
        secrets it changes (``corps[<corpid>].corp_secret``…, for the audit trail: never a value)."""
        store = self.ctx.secrets
        ops: list[Callable[[], None]] = []
        names: list[str] = []
        writes = False
        for d in self.corp_page.removed:
            corpid, state = d.corp.corpid, d.state
            in_keyring = {v for v, w in (state.keys if state else {}).items() if w == IN_KEYRING}
            versions = set(d.corp.key_versions) | in_keyring
            ops.append(lambda c=corpid: store.delete_corp_secret(c))
            ops.append(lambda c=corpid: store.delete_proxy_password(c))
            ops.extend(lambda c=corpid, v=v: store.delete_private_key(c, v) for v in sorted(versions))
            # Named when they were in the keyring (or where that was not read yet): those deletions change it.
            if state is None or state.secret == IN_KEYRING:
                names.append(f"corps[{corpid}].corp_secret")
            if state is not None and state.proxy_password:
                names.append(f"corps[{corpid}].proxy_password")
            names.extend(f"corps[{corpid}].private_key_v{v}" for v in sorted(versions)
                         if state is None or v in in_keyring)
        for d in self.corp_page.drafts:
            corpid = d.corp.corpid
            if d.secret:
                ops.append(lambda c=corpid, s=d.secret: store.set_corp_secret(c, s))
                names.append(f"corps[{corpid}].corp_secret")
                writes = True
            if d.proxy_password:
                ops.append(lambda c=corpid, s=d.proxy_password: store.set_proxy_password(c, s))
                names.append(f"corps[{corpid}].proxy_password")
                writes = True
            for v, pem in sorted(d.new_keys.items()):
                ops.append(lambda c=corpid, v=v, pem=pem: store.set_private_key(c, v, pem))
                names.append(f"corps[{corpid}].private_key_v{v}")
                writes = True
            ops.extend(lambda c=corpid, v=v: store.delete_private_key(c, v) for v in sorted(d.removed_keys))
            names.extend(f"corps[{corpid}].private_key_v{v}" for v in sorted(d.removed_keys - set(d.new_keys)))
        storage_ops = self.media_page.secret_operations()
        ops.extend(storage_ops)
        names.extend(self.media_page.secret_names())
        writes = writes or bool(storage_ops)
        queue_ops = self.queue_page.secret_operations()
        ops.extend(queue_ops)
        names.extend(self.queue_page.secret_names())
        writes = writes or bool(queue_ops)
        password = self.archive_page.new_password()
        if password:
            url = self.archive_page.database_url()
            ops.append(lambda: store.set_database_password(url, password))
            names.append("database_password")
            writes = True
        return ops, writes, names

    def _no_keyring_message(self) -> str:
        corpid = next((d.corp.corpid for d in self.corp_page.drafts if d.corp.corpid), "<CORPID>")
        return fill(self.tr(
            "Not saved: this computer has no usable keyring (Secret Service, KWallet, Keychain or Credential "
            "Manager), so secrets cannot be stored. Clear the secret fields, and give the secrets to the app as "
            "environment variables instead: %1, %2 (PEM text or @/path/to/key.pem), %3, and %4 for the "
            "database password."),
            env_var_name("CORP_SECRET", corpid),
            env_var_name("PRIVATE_KEY", corpid) + "_V<VERSION>",
            env_var_name("PROXY_PASSWORD", corpid), "WECOM_AUDITOR_DATABASE_PASSWORD")

    def _finish_save(self, new: Settings, secret_names: Iterable[str] = ()) -> None:
        old = self.ctx.settings
        self.restart_required = (new.language, new.database_url, storage_fields(new)) != (
            old.language, old.database_url, storage_fields(old))
        previous = copy.deepcopy(old)
        # Update the Settings object in place: the main window and services hold references to it.
        for f in dataclasses.fields(Settings):
            setattr(old, f.name, getattr(new, f.name))
        try:
            # Compares with the file on disk, records each change and writes the file in one transaction.
            self.ctx.change_settings(self.actor, old, secrets_changed=list(dict.fromkeys(secret_names)))
        except (OSError, SettingsError, AuthError, DatabaseError) as exc:  # AuthError: refused, or no trail
            for f in dataclasses.fields(Settings):
                setattr(old, f.name, getattr(previous, f.name))
            self._on_save_failed(exc)
            return
        self._saving = False
        super().accept()

    def _on_save_failed(self, exc: Exception) -> None:
        self._saving = False
        message = fill(self.tr("Not saved: %1"), exc)
        self.problem_label.set_error(message)
        self.ok_button().setEnabled(True)
        self.save_failed.emit(message)
