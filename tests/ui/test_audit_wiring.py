"""The window records what a person does, once per action (issue 8): opening a session, a message's
details (raw JSON), opening and saving media, a search, a sync, a settings change — under the
signed-in account, with refusals shown in the window and recorded as denied; page reads
(scrolling, counts, thumbnails) are not recorded. And every audit action has a label in the audit
panel, in both languages."""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QModelIndex, QPoint, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QWidget

from app.core.actor import Actor
from app.core.auth import (
    ACTIONS,
    AUDITOR,
    REVIEWER,
    AccountService,
    Action,
    AuditFilter,
    PasswordHasher,
    PermissionDenied,
    ScryptParams,
)
from app.core.context import AppContext
from app.ui.auth.audit_panel import action_labels
from app.ui.main_window import MainWindow
from app.ui.search import SearchPanel
from app.ui.search.model import SearchRequest
from app.ui.settings import SettingsDialog
from app.ui.sync import SyncController, describe_failure
from app.ui.tasks import wait_for_tasks
from app.ui.viewer import MessageDetailsDialog, MessageViewer, media_view
from app.ui.viewer.media_view import ImageViewDialog, MediaActions

ROOT = Path(__file__).resolve().parents[2]
FAST = PasswordHasher(ScryptParams(n=2**10, r=8, p=1))
AUDITOR_ACTOR = Actor("test-auditor", roles={AUDITOR})
_names = itertools.count(1)

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support (propagateSizeHints|raise|grabbing)")


@pytest.fixture(autouse=True)
def _join_background_reads():
    yield
    assert wait_for_tasks()


def reviewer(scope=None) -> Actor:
    """A reviewer with a user name of its own: the shared demo archive's trail is filtered by it."""
    return Actor(f"wiring-rev-{next(_names)}", roles={REVIEWER}, workstation="ws",
                 scope=None if scope is None else frozenset(scope))


def entries(ctx, actor: Actor, *actions: str, outcome: str | None = None):
    """The audit entries of ``actor`` (of these actions), oldest first."""
    rows = ctx.trail.entries(AUDITOR_ACTOR, AuditFilter(account=actor.username, actions=frozenset(actions),
                                                        outcome=outcome), limit=1000)
    return list(reversed(rows))


def two_sessions(ctx):
    """Two sessions with more than one page of messages and no participant in common."""
    sessions = sorted(ctx.archive.sessions(Actor.local(), limit=10_000), key=lambda s: -s.message_count)
    first = sessions[0]
    second = next(s for s in sessions[1:] if not set(s.participants) & set(first.participants))
    return first, second


def open_session(qtbot, viewer: MessageViewer, s) -> None:
    with qtbot.waitSignal(viewer.model.window_opened, timeout=20000):
        viewer.show_session(s.corp_id, s.session_id, "")


@pytest.fixture
def make_viewer(app_ctx, qtbot):
    def make(actor: Actor) -> MessageViewer:
        v = MessageViewer(app_ctx, actor)
        qtbot.addWidget(v)
        v.resize(820, 640)
        v.show()
        return v

    return make


# ------------------------------------------------------------------ the viewer

def test_opening_a_session_records_one_session_open_and_paging_records_nothing(qtbot, app_ctx, make_viewer):
    actor = reviewer()
    viewer = make_viewer(actor)
    viewer.model.page_size = 8
    big, other = two_sessions(app_ctx)
    assert big.message_count > 2 * viewer.model.page_size  # pages older than the first window exist

    open_session(qtbot, viewer, big)
    assert viewer.session == big  # the row open_session returned fills the header
    opened = entries(app_ctx, actor, Action.SESSION_OPEN)
    assert [(e.object, e.outcome, e.detail["message_count"]) for e in opened] == [(big.session_id, "ok",
                                                                                   big.message_count)]
    # Reading on in the same conversation: older pages, the newest again, a date, another message.
    with qtbot.waitSignal(viewer.model.window_changed, timeout=20000):
        viewer.model.fetch_older()
    viewer.show_latest()
    first = app_ctx.archive.messages(actor, corp_id=big.corp_id, session_id=big.session_id, limit=1)[0]
    with qtbot.waitSignal(viewer.message_shown, timeout=20000):
        viewer.show_message(big.corp_id, big.session_id, first.id)
    qtbot.waitUntil(lambda: not viewer.model.is_loading(), timeout=20000)
    assert len(entries(app_ctx, actor, Action.SESSION_OPEN)) == 1

    open_session(qtbot, viewer, other)
    open_session(qtbot, viewer, big)  # opened again: a second look is recorded again
    assert [e.object for e in entries(app_ctx, actor, Action.SESSION_OPEN)] == \
        [big.session_id, other.session_id, big.session_id]
    assert entries(app_ctx, actor, Action.ARCHIVE_READ) == []  # nothing was refused


def test_a_session_outside_the_scope_shows_a_notice_instead_of_messages(qtbot, app_ctx, make_viewer):
    mine, theirs = two_sessions(app_ctx)
    actor = reviewer(scope=mine.participants)
    viewer = make_viewer(actor)
    open_session(qtbot, viewer, mine)
    assert viewer.model.rowCount() > 0

    with qtbot.waitSignal(viewer.model.access_denied, timeout=20000) as denied:
        viewer.show_session(theirs.corp_id, theirs.session_id, "")
    assert "outside the scope" in denied.args[0]
    assert viewer.stack.currentWidget() is viewer.denied_notice
    assert viewer.denied_notice.textFormat() == Qt.TextFormat.PlainText
    assert viewer.denied_notice.text().startswith("This conversation cannot be shown to your account.\nSession ")
    assert viewer.model.rowCount() == 0  # the messages of the session shown before are gone too
    assert not viewer.details_button.isEnabled() and not viewer.jump_button.isEnabled()
    rows = entries(app_ctx, actor, Action.SESSION_OPEN)
    assert [(e.object, e.outcome) for e in rows] == [(mine.session_id, "ok"), (theirs.session_id, "denied")]

    open_session(qtbot, viewer, mine)  # back to an allowed one: its messages again
    assert viewer.stack.currentWidget() is viewer.view and viewer.model.rowCount() > 0


def test_message_details_record_one_message_raw(qtbot, app_ctx, make_viewer):
    actor = reviewer()
    viewer = make_viewer(actor)
    s, other = two_sessions(app_ctx)
    open_session(qtbot, viewer, s)
    row = viewer.model.rowCount() - 1
    message = viewer.model.message_at(row)
    rect = viewer.view.visualRect(viewer.model.index(row))
    point = QPoint(rect.left() + 4, rect.center().y())  # beside the bubble: no link there
    with qtbot.waitSignal(viewer.message_activated, timeout=5000):
        qtbot.mouseClick(viewer.view.viewport(), Qt.MouseButton.LeftButton, pos=point)
        qtbot.mouseDClick(viewer.view.viewport(), Qt.MouseButton.LeftButton, pos=point)
    dialogs = [w for w in QApplication.topLevelWidgets() if isinstance(w, MessageDetailsDialog) and w.isVisible()
               and w.actor is actor]
    assert len(dialogs) == 1 and dialogs[0].detail.row.id == message.id
    assert dialogs[0].raw_exact.toPlainText() == dialogs[0].detail.raw_json.decode("utf-8", "replace")
    dialogs[0].tabs.setCurrentIndex(2)  # looking through its tabs records nothing more
    dialogs[0].verify()
    dialogs[0].close()
    raw = entries(app_ctx, actor, Action.MESSAGE_RAW, Action.MESSAGE_VIEW)
    assert [(e.action, e.object, e.detail["message_id"]) for e in raw] == [(Action.MESSAGE_RAW, message.msgid,
                                                                            message.id)]

    # Outside the scope: a notice, nothing of the message, and a denied entry.
    scoped = reviewer(scope=other.participants)
    dialog = MessageDetailsDialog(app_ctx, scoped, message.id)
    qtbot.addWidget(dialog)
    assert dialog.detail is None and dialog.raw_exact is None
    assert "outside the scope" in dialog.refusal
    assert [(e.action, e.outcome) for e in entries(app_ctx, scoped)] == [(Action.MESSAGE_RAW, "denied")]


def _stored_image(ctx):
    for r in ctx.archive.messages(Actor.local(), limit=5000):
        if r.msgtype == "image" and r.has_media:
            media = ctx.archive.media_of(Actor.local(), r.id)
            if media and media[0].status == "stored":
                return r, media[0]
    raise AssertionError("the demo archive has no stored image")


def test_media_viewing_opening_and_saving_are_recorded_thumbnails_are_not(qtbot, app_ctx, make_viewer, tmp_path,
                                                                          monkeypatch):
    actor = reviewer()
    message, media = _stored_image(app_ctx)
    viewer = make_viewer(actor)
    with qtbot.waitSignal(viewer.message_shown, timeout=20000):
        viewer.show_message(message.corp_id, message.session_id, message.id)
    qtbot.waitUntil(lambda: viewer.thumbnails.pixmap(media.id) is not None, timeout=10000)
    assert entries(app_ctx, actor, Action.MEDIA_OPEN, Action.MEDIA_SAVE) == []  # thumbnails are page reads

    image = ImageViewDialog(app_ctx, actor, media, "", viewer)
    qtbot.waitUntil(lambda: image._pixmap is not None, timeout=10000)
    image.close()

    opened_urls = []
    monkeypatch.setattr(media_view, "QDesktopServices", type("Desktop", (), {
        "openUrl": staticmethod(lambda url: opened_urls.append(url.toLocalFile()) or True)}))
    monkeypatch.setattr(media_view, "has_program_for", lambda name: True)  # a desktop with an image viewer
    actions = MediaActions(app_ctx, actor, viewer)
    with qtbot.waitSignal(actions.finished, timeout=10000):
        actions.open_externally(media)
    assert len(opened_urls) == 1 and Path(opened_urls[0]).parent != tmp_path

    target = tmp_path / "saved image.bin"
    with qtbot.waitSignal(actions.finished, timeout=10000) as saved:
        actions.save_as(media, str(target))
    assert saved.args[0] == str(target)
    assert hashlib.sha256(target.read_bytes()).hexdigest() == media.sha256

    rows = entries(app_ctx, actor, Action.MEDIA_OPEN, Action.MEDIA_SAVE)
    assert [(e.action, e.object, e.detail.get("how")) for e in rows] == [
        (Action.MEDIA_OPEN, str(media.id), "viewer"),
        (Action.MEDIA_OPEN, str(media.id), "external application"),
        (Action.MEDIA_SAVE, str(media.id), None)]
    assert rows[2].detail["path"] == str(target) and rows[2].detail["sha256"] == media.sha256


def test_saving_media_outside_the_scope_is_refused_and_said(qtbot, app_ctx, tmp_path, monkeypatch):
    message, media = _stored_image(app_ctx)
    session = app_ctx.archive.session(Actor.local(), message.corp_id, message.session_id)
    others = next(s for s in app_ctx.archive.sessions(Actor.local(), limit=10_000)
                  if not set(s.participants) & set(session.participants))
    actor = reviewer(scope=others.participants)
    shown = []
    monkeypatch.setattr(media_view, "plain_message", lambda parent, icon, title, text: shown.append(text))
    parent = QWidget()
    qtbot.addWidget(parent)
    actions = MediaActions(app_ctx, actor, parent)
    target = tmp_path / "refused.png"
    with qtbot.waitSignal(actions.failed, timeout=10000):
        actions.save_as(media, str(target))
    assert not target.exists()
    assert len(shown) == 1 and shown[0].startswith("The file could not be copied: media ")
    assert [(e.action, e.outcome) for e in entries(app_ctx, actor)] == [(Action.MEDIA_SAVE, "denied")]


# ------------------------------------------------------------------ search

def _frequent_word(ctx) -> str:
    from sqlalchemy import select

    from app.core.store.models import Message

    with ctx.db.read() as conn:
        texts = conn.execute(select(Message.content_text).where(Message.msgtype == "text")).scalars().all()
    counts: dict[str, int] = {}
    for t in texts:
        for bigram in {t[i:i + 2] for i in range(len(t) - 1)}:
            if all("\u4e00" <= ch <= "\u9fff" for ch in bigram):
                counts[bigram] = counts.get(bigram, 0) + 1
    return max(counts, key=counts.get)


def test_a_search_typed_in_the_panel_is_recorded_once_whatever_is_scrolled(qtbot, app_ctx):
    actor = reviewer()
    panel = SearchPanel(app_ctx, actor)
    qtbot.addWidget(panel)
    panel.resize(520, 600)
    panel.show()
    qtbot.waitExposed(panel)
    word = _frequent_word(app_ctx)
    for ch in word:  # typed (QTest.keyClicks takes Latin-1 only): what an input method delivers
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            QApplication.sendEvent(panel.query_edit, QKeyEvent(kind, 0, Qt.KeyboardModifier.NoModifier, ch))
    assert panel.query_edit.text() == word
    with qtbot.waitSignal(panel.count_finished, timeout=15000) as counted:
        qtbot.keyClick(panel.query_edit, Qt.Key.Key_Return)
    total = counted.args[1]
    model = panel.model
    qtbot.waitUntil(lambda: not model.is_loading(), timeout=15000)
    assert model.rowCount() < total  # more than one page: scrolling loads the rest
    pages = 1
    while model.canFetchMore(QModelIndex()):
        panel.results.scrollToBottom()
        qtbot.waitUntil(lambda: not model.is_loading(), timeout=15000)
        pages += 1
        assert pages < 100
    assert model.rowCount() == total and pages >= 2

    rows = entries(app_ctx, actor, Action.SEARCH)
    assert [(e.object, e.outcome) for e in rows] == [(model.request.text, "ok")]  # the query as run
    assert word in rows[0].object

    # Another order is a search the person asked for; a search shown without a person (record=False) is not.
    with qtbot.waitSignal(panel.count_finished, timeout=15000):
        panel.order_combo.setCurrentIndex(panel.order_combo.findData("oldest"))
    qtbot.waitUntil(lambda: not model.is_loading(), timeout=15000)
    with qtbot.waitSignal(model.page_loaded, timeout=15000):
        model.start(SearchRequest(word))
    assert [e.detail.get("order") for e in entries(app_ctx, actor, Action.SEARCH)] == ["newest", "oldest"]


# ------------------------------------------------------------------ sync

def _team_archive(tmp_path, messages: int = 300):
    """A fresh archive with the demo corp, an administrator "operator" (who set it up) and a reviewer."""
    from native.corpus import generate_corpus

    ctx = AppContext(tmp_path / "data")
    accounts = AccountService(ctx.db, ctx.trail, hasher=FAST)
    accounts.create_first_admin("operator", "operator-pass-01", workstation="ws")
    operator = accounts.authenticate("operator", "operator-pass-01", "ws")
    accounts.create_account(operator, "reader", "reader-pass-002", roles=[REVIEWER], must_change_password=False)
    corpus = tmp_path / "corpus"
    generate_corpus(corpus, messages=messages, seed=8, media=False)
    corp, _ = ctx.setup_demo(corpus, actor=operator)
    return ctx, accounts, corp, operator, accounts.authenticate("reader", "reader-pass-002", "ws")


def test_a_sync_started_in_the_window_is_recorded_under_the_account(qtbot, tmp_path):
    ctx, _accounts, corp, operator, reader = _team_archive(tmp_path)
    window = MainWindow(ctx, operator)
    qtbot.addWidget(window)
    ended = []
    window.sync.sync_finished.connect(lambda report: ended.append(report))
    window.sync.sync_failed.connect(lambda en, _zh: ended.append(en))
    window.start_sync()
    qtbot.waitUntil(lambda: bool(ended), timeout=120_000)
    report = ended[0]
    assert getattr(report, "outcome", report) == "succeeded"
    runs = entries(ctx, operator, Action.SYNC_RUN)
    assert [(e.object, e.outcome, e.account_id) for e in runs] == [(corp.corpid, "ok", operator.account_id)]
    assert runs[0].detail["result"] == "succeeded" and runs[0].detail["stored"] == report.stored > 0
    assert entries(ctx, Actor("system:scheduled-sync"), Action.SYNC_RUN) == []
    window.close()

    # Someone without sync.run gets a sentence, and the attempt is recorded as denied.
    controller = SyncController(ctx, reader)
    with qtbot.waitSignal(controller.sync_failed, timeout=60_000) as failed:
        controller.start(corp, media=False)
    assert failed.args[0].startswith("Not allowed: account 'reader' may not run a sync")
    assert failed.args[1].startswith("无权同步：")
    assert [(e.action, e.outcome) for e in entries(ctx, reader)] == [(Action.LOGIN, "ok"), (Action.SYNC_RUN, "denied")]
    assert controller.shutdown()
    ctx.close()


def test_describe_failure_says_not_allowed_in_both_languages():
    en, zh = describe_failure(PermissionDenied("account 'x' may not run a sync (sync.run)"))
    assert en == "Not allowed: account 'x' may not run a sync (sync.run)."
    assert zh == "无权同步：account 'x' may not run a sync (sync.run)。"


# ------------------------------------------------------------------ settings

@pytest.fixture
def admin_ctx(tmp_path):
    ctx = AppContext(tmp_path / "settings-data")
    accounts = AccountService(ctx.db, ctx.trail, hasher=FAST)
    accounts.create_first_admin("chief", "chief-pass-001", workstation="ws")
    chief = accounts.authenticate("chief", "chief-pass-001", "ws")
    accounts.create_account(chief, "reader", "reader-pass-002", roles=[REVIEWER], must_change_password=False)
    yield ctx, chief, accounts.authenticate("reader", "reader-pass-002", "ws")
    wait_for_tasks()
    ctx.close()


def _open_settings(qtbot, ctx, actor) -> SettingsDialog:
    dialog = SettingsDialog(ctx, actor)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.secrets_loaded, timeout=10_000):
        pass
    return dialog


def test_saving_settings_records_each_change_and_names_secrets_without_values(qtbot, admin_ctx, tmp_path, rsa_keys,
                                                                              simulator_path, isolated_env):
    ctx, chief, _reader = admin_ctx
    dialog = _open_settings(qtbot, ctx, chief)
    page = dialog.corp_page
    page.add_corp()
    page.corpid_edit.setText("wwaudited01")
    page.name_edit.setText("Audited")
    page.library_radio.setChecked(True)
    page.library_field.setText(str(simulator_path))
    qtbot.waitUntil(page.sdk_error.isHidden, timeout=30_000)  # checked in an SDK host process
    page.secret_edit.setText("corp-s3cret-value")
    pem = tmp_path / "key.pem"
    pem.write_bytes(rsa_keys[1][0])
    importer = page.open_import_dialog()
    importer.version_spin.setValue(1)
    importer.file_field.setText(str(pem))
    importer.accept()
    dialog.language_page.buttons["zh_CN"].setChecked(True)
    with qtbot.waitSignal(dialog.accepted, timeout=10_000):
        dialog.ok_button().click()

    assert ctx.settings.language == "zh_CN" and ctx.settings.corps[0].corpid == "wwaudited01"
    rows = entries(ctx, chief, Action.SETTINGS_CHANGE)
    objects = [e.object for e in rows]
    assert "language: system -> zh_CN" in objects
    assert any(o.startswith("corps[wwaudited01]: (none) -> ") for o in objects)
    assert "corps[wwaudited01].corp_secret: [redacted] -> [redacted]" in objects
    assert "corps[wwaudited01].private_key_v1: [redacted] -> [redacted]" in objects
    assert {e.outcome for e in rows} == {"ok"} and {e.account_id for e in rows} == {chief.account_id}
    text = json.dumps([(e.object, e.detail) for e in rows], ensure_ascii=False)
    assert "corp-s3cret-value" not in text and "PRIVATE KEY" not in text
    assert isolated_env.store[("wecom-archive-auditor", "corp:wwaudited01:secret")] == "corp-s3cret-value"

    # Saved again without a change: nothing more is recorded.
    again = _open_settings(qtbot, ctx, chief)
    with qtbot.waitSignal(again.accepted, timeout=10_000):
        again.ok_button().click()
    assert len(entries(ctx, chief, Action.SETTINGS_CHANGE)) == len(rows)


def test_settings_refused_to_a_reviewer_inline_and_nothing_stored(qtbot, admin_ctx, isolated_env):
    ctx, _chief, reader = admin_ctx
    before = ctx.paths.settings_file.read_text(encoding="utf-8") if ctx.paths.settings_file.exists() else None
    dialog = _open_settings(qtbot, ctx, reader)
    dialog.language_page.buttons["en"].setChecked(True)
    dialog.archive_page.mysql_radio.setChecked(True)
    dialog.archive_page.url_edit.setText("mysql+pymysql://auditor@db.example.com:3306/archive")
    dialog.archive_page.password_edit.setText("db-pass-never-stored")
    accepted = []
    dialog.accepted.connect(lambda: accepted.append(True))
    with qtbot.waitSignal(dialog.save_failed, timeout=10_000) as failed:
        dialog.ok_button().click()
    assert failed.args[0].startswith("Not saved: account 'reader' may not change settings")
    assert dialog.problem_label.text() == failed.args[0] and dialog.ok_button().isEnabled() and not accepted
    assert ctx.settings.language != "en" and ctx.settings.database_url == ""
    assert not any("db-pass-never-stored" in v for v in isolated_env.store.values())
    after = ctx.paths.settings_file.read_text(encoding="utf-8") if ctx.paths.settings_file.exists() else None
    assert after == before
    assert [(e.action, e.outcome) for e in entries(ctx, reader, Action.SETTINGS_CHANGE)] == [
        (Action.SETTINGS_CHANGE, "denied")]


def test_the_window_opens_settings_as_the_signed_in_account(qtbot, admin_ctx, monkeypatch):
    ctx, chief, _reader = admin_ctx
    seen = []
    monkeypatch.setattr(SettingsDialog, "exec", lambda self: seen.append(self.actor) or 0)
    window = MainWindow(ctx, chief)
    qtbot.addWidget(window)
    window.welcome.configure_button.click()  # the welcome page's way in (no corp yet)
    window.settings_action.trigger()
    assert seen == [chief, chief]
    window.close()


# ------------------------------------------------------------------ the audit panel's vocabulary

def test_every_audit_action_has_a_label_and_a_chinese_one():
    labels = action_labels()
    assert set(labels) == ACTIONS
    assert len(set(labels.values())) == len(labels)  # no two actions look the same in the filter
    catalogue: dict[str, str] = {}
    for path in sorted((ROOT / "resources" / "i18n" / "zh_CN").glob("*.json")):
        catalogue.update(json.loads(path.read_text(encoding="utf-8")).get("AuditText", {}))
    missing = [label for label in labels.values() if not catalogue.get(label)]
    assert not missing, missing
    assert labels[Action.INDEX_REBUILD] == "Search index rebuilt"
    assert catalogue[labels[Action.DIRECTORY_IMPORT]] == "导入通讯录"


def test_no_window_code_acts_as_the_operating_system_user():
    """Everything in the window acts as the signed-in account passed down from the login."""
    offenders = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "app" / "ui").rglob("*.py"))
                 if "Actor.local(" in p.read_text(encoding="utf-8")]
    assert offenders == []
