"""The export dialog: a session exported through it verifies, and Cancel leaves nothing behind."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

import app.ui.export_dialog as export_dialog_module
from app.core.actor import Actor
from app.core.auth.roles import ROLES
from app.core.export import Selection, known_keys, verify_package
from app.core.store.models import Message
from app.ui.export_dialog import ExportDialog

ACTOR = Actor("os:tester", roles=frozenset(ROLES), workstation="test-host")


@pytest.fixture
def busiest_session(app_ctx) -> tuple[int, str]:
    """(corp_id, session_id) of the session with the most messages."""
    with app_ctx.db.read() as conn:
        corp_id, session_id, _n = conn.execute(
            select(Message.corp_id, Message.session_id, func.count().label("n"))
            .where(Message.session_id.is_not(None))
            .group_by(Message.corp_id, Message.session_id).order_by(func.count().desc()).limit(1)).one()
    return corp_id, session_id


def _dialog(qtbot, app_ctx, session, out_dir) -> ExportDialog:
    corp_id, session_id = session
    dialog = ExportDialog(app_ctx, ACTOR, Selection(session_ids=(session_id,), corp_id=corp_id),
                          "Session <b>销售二部</b>", None)
    qtbot.addWidget(dialog)
    dialog.folder_edit.setText(str(out_dir))
    dialog.show()
    return dialog


def test_exporting_a_session_makes_a_package_that_verifies(qtbot, app_ctx, busiest_session, tmp_path):
    out_dir = tmp_path / "exports"
    dialog = _dialog(qtbot, app_ctx, busiest_session, out_dir)
    assert dialog.description_label.text() == "Session <b>销售二部</b>"  # shown as plain text
    assert dialog.description_label.textFormat() == dialog.description_label.textFormat().PlainText

    with qtbot.waitSignal(dialog.export_finished, timeout=60000) as blocker:
        dialog.export_button.click()
    result = blocker.args[0]

    report = verify_package(result.path, known_key_fingerprints=known_keys(app_ctx.db))
    assert report.ok, report.problems
    assert result.path.parent == out_dir
    assert result.counts["messages"] > 2
    assert dialog.summary.isVisible() and dialog.open_folder_button.isVisible()
    assert dialog.fingerprint_label.text() == report.fingerprint == result.fingerprint
    assert dialog.path_label.text() == str(result.path)
    assert not dialog.error_label.isVisible()
    assert dialog.close_button.isEnabled() and not dialog.is_running()


def test_cancel_during_an_export_leaves_no_package(qtbot, app_ctx, busiest_session, tmp_path, monkeypatch):
    # The real export, held at its first message until Cancel has been clicked: no race with a fast export.
    clicked = threading.Event()
    real_export = export_dialog_module.export_package

    def held_export(ctx, actor, selection, out_path, *, progress, cancel, **options):
        def held_progress(done, total):
            progress(done, total)
            clicked.wait(30)

        return real_export(ctx, actor, selection, out_path, progress=held_progress, cancel=cancel, **options)

    monkeypatch.setattr(export_dialog_module, "export_package", held_export)
    out_dir = tmp_path / "exports"
    dialog = _dialog(qtbot, app_ctx, busiest_session, out_dir)

    with qtbot.waitSignal(dialog.export_progressed, timeout=60000):
        dialog.export_button.click()
    assert dialog.cancel_button.isVisible() and not dialog.close_button.isEnabled()
    with qtbot.waitSignal(dialog.export_cancelled, timeout=60000), \
            qtbot.assertNotEmitted(dialog.export_finished):
        dialog.cancel_button.click()
        clicked.set()

    assert list(out_dir.iterdir()) == []  # neither a package nor a partial folder
    assert dialog.result is None and not dialog.summary.isVisible()
    assert dialog.export_button.isVisible() and dialog.options.isEnabled()
    assert "cancelled" in dialog.status_label.text()


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_a_failed_export_is_shown_in_the_dialog(qtbot, qapp, app_ctx, tmp_path, language):
    from app.ui.app import install_translators

    translators = install_translators(qapp, language) if language != "en" else []
    qapp.setProperty("ui_language", language)
    try:
        dialog = ExportDialog(app_ctx, ACTOR, Selection(msgids=("no-such-msgid",)), "1 selected messages", None)
        qtbot.addWidget(dialog)
        dialog.folder_edit.setText(str(tmp_path))
        dialog.show()
        with qtbot.waitSignal(dialog.export_failed, timeout=60000):
            dialog.export_button.click()
        text = dialog.error_label.text()
        assert dialog.error_label.isVisible() and "no-such-msgid" in text
        if language == "zh_CN":  # the core's reason in the window's language too
            assert "存档中没有 msgid 为 'no-such-msgid' 的消息" in text and "the archive" not in text, text
        assert list(tmp_path.iterdir()) == []
    finally:
        qapp.setProperty("ui_language", "en")
        for t in translators:
            qapp.removeTranslator(t)


def test_zip_without_pdf_and_a_summary_in_words(qtbot, app_ctx, busiest_session, tmp_path):
    dialog = _dialog(qtbot, app_ctx, busiest_session, tmp_path / "zips")
    dialog.zip_check.setChecked(True)
    dialog.pdf_check.setChecked(False)
    with qtbot.waitSignal(dialog.export_finished, timeout=60000) as blocker:
        dialog.export_button.click()
    result = blocker.args[0]
    assert result.path.suffix == ".zip" and result.path.is_file()
    assert verify_package(result.path).ok
    assert result.counts["pdf_files"] == 0
    n = result.counts["messages"]
    assert dialog.counts_label.text().startswith(f"{n} messages, 1 conversation, ")


def test_counts_use_singular_and_plural(qtbot, app_ctx, busiest_session, tmp_path):
    dialog = _dialog(qtbot, app_ctx, busiest_session, tmp_path)
    text = dialog.describe_counts({"messages": 1, "sessions": 2, "media_files": 0, "hits": 1, "media_missing": 3})
    assert text == "1 message, 2 conversations, 0 media files, 1 hit; 3 media not stored in the archive " \
                   "(listed in the load file)"


def test_viewer_context_menu_offers_export_of_the_selection(qtbot, app_ctx, monkeypatch):
    from app.ui.main_window import MainWindow

    window = MainWindow(app_ctx, ACTOR)
    qtbot.addWidget(window)
    opened = []
    monkeypatch.setattr(window, "export_selected_messages", lambda: opened.append(1))
    window.viewer.export_requested.connect(window.export_selected_messages)  # the patched one
    labels = []
    monkeypatch.setattr("app.ui.viewer.widget.QMenu.popup", lambda menu, pos: labels.extend(
        a.text() for a in menu.actions()))
    window.viewer.show_session(*_first_session(app_ctx))
    qtbot.waitUntil(lambda: window.viewer.model.rowCount() > 0, timeout=10000)
    view = window.viewer.view
    window.viewer._context_menu(view.visualRect(window.viewer.model.index(0)).center())
    assert "Export selected messages…" in labels
    window.viewer.export_requested.emit()
    assert opened
    assert window.export_session_action in window.sessions.tree.actions()


def _first_session(app_ctx):
    with app_ctx.db.read() as conn:
        corp_id, session_id = conn.execute(select(Message.corp_id, Message.session_id)
                                           .where(Message.session_id.is_not(None)).limit(1)).one()
    return corp_id, session_id, "t"


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_verify_dialog_reports_ok_then_the_problem(qtbot, qapp, app_ctx, busiest_session, tmp_path, language):
    from app.core.export import export_package
    from app.ui.app import install_translators
    from app.ui.verify_dialog import VerifyDialog

    translators = install_translators(qapp, language) if language != "en" else []
    qapp.setProperty("ui_language", language)
    try:
        corp_id, session_id = busiest_session
        result = export_package(app_ctx, ACTOR, Selection(session_ids=(session_id,), corp_id=corp_id),
                                tmp_path / "pkg.zip", pdf=False)
        dialog = VerifyDialog(app_ctx, ACTOR, None)
        qtbot.addWidget(dialog)
        dialog.path_edit.setText(str(result.path))
        with qtbot.waitSignal(dialog.verified, timeout=60000) as blocker:
            dialog.verify_button.click()
        assert blocker.args[0].ok and dialog.status_label.text().startswith(("OK:", "完好："))
        assert result.fingerprint in dialog.status_label.text()
        folder = tmp_path / "folder"
        export_package(app_ctx, ACTOR, Selection(session_ids=(session_id,), corp_id=corp_id), folder, pdf=False)
        (folder / "data" / "extra.txt").write_text("x")
        dialog.path_edit.setText(str(folder))
        with qtbot.waitSignal(dialog.verified, timeout=60000) as blocker:
            dialog.verify_button.click()
        problems = blocker.args[0].problems
        assert "extra file: data/extra.txt" in problems and problems[0].startswith("bad Payload-Oxum: ")
        shown = dialog.details.toPlainText().splitlines()
        if language == "en":
            assert dialog.status_label.text().startswith("FAILED")
            assert shown[:len(problems)] == problems
        else:  # the report itself stays English (CLI, audit trail); the window says each kind in Chinese
            assert "多出的文件：data/extra.txt" in shown and shown[0].startswith("Payload-Oxum 不符：")
    finally:
        qapp.setProperty("ui_language", "en")
        for t in translators:
            qapp.removeTranslator(t)


def test_the_verify_dialog_shows_progress_and_can_be_cancelled(qtbot, app_ctx, busiest_session, tmp_path,
                                                               monkeypatch):
    import time

    from app.core.auth import AuditTrail
    from app.core.auth.audit import AuditFilter
    from app.core.export import export_package
    from app.core.export import verify as verify_module
    from app.ui.verify_dialog import VerifyDialog

    corp_id, session_id = busiest_session
    result = export_package(app_ctx, ACTOR, Selection(session_ids=(session_id,), corp_id=corp_id),
                            tmp_path / "pkg", pdf=False)
    real_tick = verify_module._Check._tick

    def slow_tick(self, n=0):  # a package that takes a while to read
        time.sleep(0.02)
        real_tick(self, n)

    monkeypatch.setattr(verify_module._Check, "_tick", slow_tick)
    dialog = VerifyDialog(app_ctx, ACTOR, None)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.path_edit.setText(str(result.path))
    assert dialog.start()
    assert dialog.cancel_button.isVisible() and not dialog.verify_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.progress_bar.maximum() == 1000 and dialog.progress_bar.value() > 0, timeout=20000)
    assert " of " in dialog.status_label.text()
    with qtbot.waitSignal(dialog.cancelled, timeout=20000):
        assert dialog.cancel()
    assert dialog.status_label.text() == "The check was cancelled; nothing was concluded about the package."
    assert not dialog.cancel_button.isVisible() and not dialog.progress_bar.isVisible()
    assert dialog.verify_button.isEnabled() and dialog.report is None
    entries = AuditTrail(app_ctx.db).entries(ACTOR, AuditFilter(actions=frozenset({"verify"})), limit=1)
    assert entries[0].detail.get("cancelled") is True

    monkeypatch.setattr(verify_module._Check, "_tick", real_tick)
    with qtbot.waitSignal(dialog.verified, timeout=60000) as blocker:
        dialog.verify_button.click()
    assert blocker.args[0].ok and dialog.status_label.text().startswith("OK:")

    # closing during a check cancels it and waits for its thread
    monkeypatch.setattr(verify_module._Check, "_tick", slow_tick)
    assert dialog.start()
    qtbot.waitUntil(lambda: dialog.progress_bar.value() > 0, timeout=20000)
    dialog.reject()
    assert not dialog.is_running()
