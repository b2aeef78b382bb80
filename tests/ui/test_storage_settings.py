"""The Media page of the settings: choosing OSS or COS, Test connection against the loopback object store
(off the GUI thread), inline errors, and the secret key going to the keyring, never the settings file."""

from __future__ import annotations

import pytest
from media.objectstore import ObjectStore

from app.core.actor import Actor
from app.core.config.secrets import SERVICE
from app.core.context import AppContext
from app.ui.settings import SettingsDialog
from app.ui.tasks import wait_for_tasks

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

KEY_ID, SECRET = "LTAI5tDialogKey001", "dialog-secret-key-9876"
REGION = {"oss": "cn-hangzhou", "cos": "ap-guangzhou"}
BUCKET = {"oss": "dialog-bucket", "cos": "dialog-bucket-1250000000"}
KEY_ID_FIELD = {"oss": "access_key_id", "cos": "secret_id"}


@pytest.fixture
def ctx():
    c = AppContext()
    yield c
    wait_for_tasks()
    c.close()


@pytest.fixture(params=["oss", "cos"])
def store(request, tmp_path):
    s = ObjectStore(request.param, tmp_path / "server", access_key_id=KEY_ID, secret=SECRET,
                    region=REGION[request.param], buckets=(BUCKET[request.param],)).start()
    yield s
    s.stop()


def open_page(qtbot, ctx):
    dialog = SettingsDialog(ctx, Actor.local())
    qtbot.addWidget(dialog)
    page = dialog.media_page
    with qtbot.waitSignal(dialog.secrets_loaded, timeout=10_000):
        pass
    qtbot.waitUntil(lambda: bool(page._sources), timeout=10_000)
    return dialog, page


def fill_form(page, kind: str, endpoint: str, *, bucket: str | None = None, secret: str = SECRET):
    page.radios[kind].setChecked(True)
    form = page.forms[kind]
    form.edits["region"].setText(REGION[kind])
    form.edits["endpoint"].setText(endpoint)
    form.edits["bucket"].setText(BUCKET[kind] if bucket is None else bucket)
    form.edits["prefix"].setText("team-archive")
    form.edits[KEY_ID_FIELD[kind]].setText(KEY_ID)
    form.secret_edit.setText(secret)
    return form


def test_test_connection_runs_in_the_background_and_reports(qtbot, ctx, store):
    dialog, page = open_page(qtbot, ctx)
    form = fill_form(page, store.kind, store.endpoint)
    assert page.stack.currentWidget() is form and dialog.ok_button().isEnabled()
    with qtbot.waitSignal(page.connection_tested, timeout=20_000) as result:
        page.test_button.click()
        assert not page.test_button.isEnabled() and page.test_result.text() == "Connecting…"
    ok, message = result.args
    assert ok and message.startswith("Connected to") and BUCKET[store.kind] in message
    assert page.test_result.text() == message and page.test_button.isEnabled()
    assert store.keys_in(BUCKET[store.kind]) == []  # the probe object was deleted

    form.secret_edit.setText("a-wrong-secret")
    with qtbot.waitSignal(page.connection_tested, timeout=20_000) as result:
        page.test_button.click()
    ok, message = result.args
    assert not ok and "secret key does not match" in message and "a-wrong-secret" not in message
    assert page.test_result.textFormat().name == "PlainText"


def test_ok_keeps_the_secret_in_the_keyring_and_the_rest_in_the_settings(qtbot, ctx, store, isolated_env):
    dialog, page = open_page(qtbot, ctx)
    fill_form(page, store.kind, store.endpoint)
    assert page.forms[store.kind].secret_status.text() == "Stored in the keyring when you click OK."
    with qtbot.waitSignal(dialog.accepted, timeout=10_000):
        dialog.ok_button().click()
    s = ctx.settings.storage
    assert s.backend == store.kind and dialog.restart_required
    section = s[store.kind]
    assert (section.bucket, section.region, section.prefix, getattr(section, KEY_ID_FIELD[store.kind])) == (
        BUCKET[store.kind], REGION[store.kind], "team-archive", KEY_ID)
    assert isolated_env.store[(SERVICE, f"storage:{store.kind}:{KEY_ID}")] == SECRET
    assert SECRET not in ctx.paths.settings_file.read_text(encoding="utf-8")
    # A new context opens the chosen backend with the stored secret.
    again = AppContext()
    try:
        assert again.storage.name == store.kind and again.storage.exists("corp/none") is False
    finally:
        again.close()
    # Reopened: the fields are there and the secret is reported as stored, not shown.
    dialog2, page2 = open_page(qtbot, ctx)
    assert page2.backend() == store.kind and page2.forms[store.kind].secret_edit.text() == ""
    assert page2.forms[store.kind].secret_status.text() == "Stored in the keyring."
    assert dialog2.ok_button().isEnabled()


def test_missing_fields_are_named_and_keep_ok_disabled(qtbot, ctx):
    dialog, page = open_page(qtbot, ctx)
    form = fill_form(page, "cos", "", bucket="")
    assert not dialog.ok_button().isEnabled()
    assert form.error.text() == "Enter the bucket's name."
    assert "The media storage has a value to fix." in dialog.problem_label.text()
    form.edits["bucket"].setText("no-appid")
    assert "storage.cos.bucket" in form.error.text() and not dialog.ok_button().isEnabled()
    form.edits["bucket"].setText(BUCKET["cos"])
    form.secret_edit.setText("")
    qtbot.waitUntil(lambda: page._read_for.get("cos") == KEY_ID, timeout=10_000)  # no secret stored for it
    assert form.error.text() == "Enter the secret key (it is kept in the keyring)."
    form.secret_edit.setText(SECRET)
    assert form.error.isHidden() and dialog.ok_button().isEnabled()
    page.radios["local"].setChecked(True)  # the cloud form's values do not block the local folder
    form.edits["bucket"].setText("")
    assert dialog.ok_button().isEnabled()


@pytest.mark.parametrize("kind, bucket, said", [
    ("cos", "no-appid", "storage.cos.bucket 'no-appid' 不是 COS 存储桶：请写成 BucketName-APPID"),
    ("oss", "Bad_Bucket", "storage.oss.bucket 'Bad_Bucket' 不是 OSS 存储桶名称"),
])
def test_a_wrong_value_is_said_in_the_chinese_window_s_language(qtbot, ctx, kind, bucket, said, chinese_window):
    dialog, page = open_page(qtbot, ctx)
    form = fill_form(page, kind, "", bucket=bucket)
    assert form.error.text().startswith(said), form.error.text()
    assert not dialog.ok_button().isEnabled()
    form.edits["bucket"].setText(BUCKET[kind])
    form.edits["region"].setText("Hangzhou!")
    assert form.error.text().startswith(f"storage.{kind}.region 'Hangzhou!' 不是地域名称"), form.error.text()


def test_test_connection_reports_in_the_chinese_window_s_language(qtbot, ctx, store, chinese_window):
    dialog, page = open_page(qtbot, ctx)
    form = fill_form(page, store.kind, store.endpoint)
    with qtbot.waitSignal(page.connection_tested, timeout=20_000) as result:
        page.test_button.click()
    ok, message = result.args
    assert ok and message.startswith("已连接 ") and "测试对象" in message, message
    form.secret_edit.setText("a-wrong-secret")
    with qtbot.waitSignal(page.connection_tested, timeout=20_000) as result:
        page.test_button.click()
    ok, message = result.args
    assert not ok and "拒绝上传：密钥与" in message and "a-wrong-secret" not in message, message


def test_the_local_folder_can_be_tested_too(qtbot, ctx, tmp_path):
    dialog, page = open_page(qtbot, ctx)
    page.folder_field.setText(str(tmp_path / "media-here"))
    with qtbot.waitSignal(page.connection_tested, timeout=10_000) as result:
        page.test_button.click()
    ok, message = result.args
    assert ok and "is writable" in message and (tmp_path / "media-here").is_dir()
