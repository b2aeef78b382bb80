"""The export dialog supplies the export key's passphrase on a computer without a keyring: it asks
before the export starts (a new passphrase twice, or the one that unlocks the key), the worker signs
with it, and a wrong one fails the export with a clear sentence."""

from __future__ import annotations

import dataclasses

import keyring
import pytest
from keyring.backends import fail
from sqlalchemy import select

from app.core.actor import Actor
from app.core.auth.roles import ROLES
from app.core.export import Selection, verify_package
from app.core.store.models import Message
from app.ui.export_dialog import ExportDialog

ACTOR = Actor("os:tester", roles=frozenset(ROLES), workstation="test-host")
PASSPHRASE = "a passphrase of mine"


class _Ctx:
    """The shared GUI test archive, with a data folder of this test's own (the key file goes there)."""

    def __init__(self, ctx, data_dir):
        self._ctx = ctx
        self.paths = dataclasses.replace(ctx.paths, data_dir=data_dir)

    def __getattr__(self, name):
        return getattr(self._ctx, name)


@pytest.fixture
def ctx(app_ctx, tmp_path, monkeypatch):
    monkeypatch.setattr(keyring, "get_keyring", lambda: fail.Keyring())
    monkeypatch.delenv("WECOM_AUDITOR_EXPORT_KEY_PASSPHRASE", raising=False)
    (tmp_path / "data").mkdir()
    return _Ctx(app_ctx, tmp_path / "data")


@pytest.fixture
def selection(app_ctx) -> Selection:
    with app_ctx.db.read() as conn:
        corp_id, session_id = conn.execute(select(Message.corp_id, Message.session_id)
                                           .where(Message.session_id.is_not(None)).limit(1)).one()
    return Selection(session_ids=(session_id,), corp_id=corp_id)


def _dialog(qtbot, ctx, selection, out, answer):
    dialog = ExportDialog(ctx, ACTOR, selection, "Session", None)
    qtbot.addWidget(dialog)
    dialog.folder_edit.setText(str(out))
    dialog.pdf_check.setChecked(False)
    asked = []
    dialog.ask_export_key_passphrase = lambda need: asked.append(need) or answer
    return dialog, asked


def test_the_dialog_asks_for_the_passphrase_and_signs_with_it(qtbot, ctx, selection, tmp_path):
    dialog, asked = _dialog(qtbot, ctx, selection, tmp_path / "out", PASSPHRASE)
    with qtbot.waitSignal(dialog.export_finished, timeout=60000) as blocker:
        assert dialog.start_export()
    assert asked == ["new"] and (ctx.paths.data_dir / "export-key.enc").is_file()
    assert verify_package(blocker.args[0].path).ok

    dialog, asked = _dialog(qtbot, ctx, selection, tmp_path / "out2", "not my passphrase")
    with qtbot.waitSignal(dialog.export_failed, timeout=60000) as blocker:
        assert dialog.start_export()
    assert asked == ["unlock"] and "does not unlock the export signing key" in blocker.args[0]
    assert not any((tmp_path / "out2").iterdir())

    dialog, asked = _dialog(qtbot, ctx, selection, tmp_path / "out3", None)  # the user cancelled
    assert not dialog.start_export() and not dialog.is_running()


def test_a_new_passphrase_must_be_typed_twice_alike_and_long_enough(qtbot, ctx, selection, monkeypatch):
    dialog = ExportDialog(ctx, ACTOR, selection, "Session", None)
    qtbot.addWidget(dialog)
    answers = []
    monkeypatch.setattr("app.ui.export_dialog.QInputDialog.getText", lambda *a, **k: answers.pop(0))
    answers[:] = [(PASSPHRASE, True), (PASSPHRASE + "x", True)]
    assert dialog.ask_export_key_passphrase("new") is None and "differ" in dialog.error_label.text()
    answers[:] = [("short", True), ("short", True)]
    assert dialog.ask_export_key_passphrase("new") is None and "at least 10" in dialog.error_label.text()
    answers[:] = [(PASSPHRASE, True), (PASSPHRASE, True)]
    assert dialog.ask_export_key_passphrase("new") == PASSPHRASE
    answers[:] = [(PASSPHRASE, False)]
    assert dialog.ask_export_key_passphrase("unlock") is None
