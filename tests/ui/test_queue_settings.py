"""The Background jobs page of the settings: the queue backend (embedded or Redis) and the sync schedule
saved to the settings, the Redis password to the keyring (never the settings file), Test connection
against the real Redis on 127.0.0.1:6379 (off the GUI thread), and bad URLs refused inline."""

from __future__ import annotations

import os
import uuid

import pytest

from app.core.actor import Actor
from app.core.config.secrets import SERVICE, SecretStore
from app.core.config.settings import load_settings
from app.core.context import AppContext
from app.ui.settings import SettingsDialog
from app.ui.tasks import wait_for_tasks

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

PASSWORD = "queue-redis-password-4711"


def redis_available() -> bool:
    import redis

    try:
        return bool(redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=2).ping())
    except redis.exceptions.RedisError:
        return False



@pytest.fixture
def ctx():
    c = AppContext()
    yield c
    wait_for_tasks()
    c.close()


@pytest.fixture
def prefix():
    """A key prefix of this test's own on the shared Redis; its keys are removed afterwards."""
    if not redis_available():
        if os.environ.get("CI"):
            pytest.fail("Redis on 127.0.0.1:6379 is not reachable (CI must start it)")
        pytest.skip("Redis on 127.0.0.1:6379 is not reachable")
    name = f"qsettings-{uuid.uuid4().hex[:10]}"
    yield name
    import redis

    r = redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=2)
    try:
        keys = list(r.scan_iter(match=f"{name}:*"))
        if keys:
            r.delete(*keys)
    except redis.exceptions.RedisError:
        pass
    finally:
        r.close()


def open_page(qtbot, ctx):
    dialog = SettingsDialog(ctx, Actor.local())
    qtbot.addWidget(dialog)
    page = dialog.queue_page
    with qtbot.waitSignal(dialog.secrets_loaded, timeout=10_000):
        pass
    return dialog, page


def test_the_page_shows_the_current_values(qtbot, ctx):
    dialog, page = open_page(qtbot, ctx)
    assert dialog.tabs.tabText(dialog.tabs.indexOf(page)) == "Background jobs"
    assert not page.uses_redis() and page.queue_url() == ""
    assert page.interval_spin.value() == 0 and page.interval_spin.text() == "Off"
    assert not page.url_edit.isEnabled() and not page.password_edit.isEnabled()
    dialog.close()

    url = "redis://127.0.0.1:6379/3?prefix=team"
    ctx.settings.queue_url, ctx.settings.sync_interval_minutes = url, 45
    ctx.save()
    SecretStore().set_redis_password(url, PASSWORD)
    dialog, page = open_page(qtbot, ctx)
    assert page.uses_redis() and page.url_edit.text() == url and page.url_edit.isEnabled()
    assert page.interval_spin.value() == 45
    assert page.password_edit.text() == ""  # never shown, only said to be there
    qtbot.waitUntil(lambda: page.password_status.text() == "Stored in the keyring.", timeout=10_000)
    assert dialog.ok_button().isEnabled()


def test_ok_saves_the_queue_settings_and_the_password_to_the_keyring(qtbot, ctx, isolated_env):
    dialog, page = open_page(qtbot, ctx)
    url = "redis://127.0.0.1:6379/0?prefix=team-archive"
    page.redis_radio.setChecked(True)
    page.url_edit.setText(url)
    page.password_edit.setText(PASSWORD)
    page.interval_spin.setValue(15)
    assert page.password_status.text() == "Stored in the keyring when you click OK."
    assert dialog.ok_button().isEnabled()
    with qtbot.waitSignal(dialog.accepted, timeout=10_000):
        dialog.ok_button().click()
    assert (ctx.settings.queue_url, ctx.settings.sync_interval_minutes) == (url, 15)
    saved = load_settings(ctx.paths)
    assert (saved.queue_url, saved.sync_interval_minutes) == (url, 15)
    assert isolated_env.store[(SERVICE, "redis:@127.0.0.1:6379/0")] == PASSWORD
    assert PASSWORD not in ctx.paths.settings_file.read_text(encoding="utf-8")
    assert SecretStore().redis_password(url) == PASSWORD  # where open_queue looks for it

    # Back to the embedded queue with the schedule off: nothing of Redis stays in the settings.
    dialog, page = open_page(qtbot, ctx)
    page.embedded_radio.setChecked(True)
    page.interval_spin.setValue(0)
    with qtbot.waitSignal(dialog.accepted, timeout=10_000):
        dialog.ok_button().click()
    saved = load_settings(ctx.paths)
    assert (saved.queue_url, saved.sync_interval_minutes) == ("", 0)


def test_test_connection_reports_ok_and_failure_as_plain_text(qtbot, ctx, prefix):
    dialog, page = open_page(qtbot, ctx)
    page.redis_radio.setChecked(True)
    page.url_edit.setText(f"redis://127.0.0.1:6379/0?prefix={prefix}")
    with qtbot.waitSignal(page.connection_tested, timeout=20_000) as result:
        page.test_button.click()
        assert not page.test_button.isEnabled() and page.test_result.text() == "Connecting…"
    ok, message = result.args
    assert ok and message.startswith("OK: Redis at 127.0.0.1:6379/0") and prefix in message
    assert "0 scheduled, 0 ready, 0 running, 0 dead" in message
    assert page.test_result.text() == message and page.test_button.isEnabled()
    assert page.test_result.textFormat().name == "PlainText"

    page.url_edit.setText("redis://127.0.0.1:1/0")
    assert page.test_result.text() == ""  # an edit clears the old result
    with qtbot.waitSignal(page.connection_tested, timeout=20_000) as result:
        page.test_button.click()
    ok, message = result.args
    assert not ok and message.startswith("Failed:") and "cannot reach" in message and "127.0.0.1:1" in message
    assert page.test_result.text() == message and page.test_button.isEnabled()


def test_test_connection_of_the_embedded_queue_opens_the_archive_database(qtbot, ctx):
    dialog, page = open_page(qtbot, ctx)
    with qtbot.waitSignal(page.connection_tested, timeout=20_000) as result:
        page.test_button.click()
    ok, message = result.args
    assert ok and message.startswith("OK: the archive database") and "table jobs" in message


@pytest.mark.parametrize("url, expected", [
    ("redis://:secret@127.0.0.1:6379/0", "Leave the password out of the URL"),
    ("redis://auditor:secret@127.0.0.1:6379/0", "Leave the password out of the URL"),
    ("http://127.0.0.1:6379/0", "A Redis URL starts with redis://"),
    ("127.0.0.1:6379", "A Redis URL starts with redis://"),
    ("redis://127.0.0.1:port/0", "This is not a Redis URL"),
    ("redis://127.0.0.1:6379/zero", "database number"),
    ("redis://127.0.0.1:6379/0?prefix=bad prefix!", "invalid queue key prefix"),
    ("", "Enter the Redis server's URL"),
])
def test_a_bad_url_is_refused_inline_and_keeps_ok_disabled(qtbot, ctx, url, expected):
    dialog, page = open_page(qtbot, ctx)
    page.redis_radio.setChecked(True)
    page.url_edit.setText(url)
    assert expected in page.error.text() and not page.error.isHidden()
    assert not dialog.ok_button().isEnabled()
    assert "The background jobs setting has a value to fix." in dialog.problem_label.text()
    assert page.secret_operations() == []  # a refused URL never names a keyring entry
    page.url_edit.setText("redis://127.0.0.1:6379/0")
    assert page.error.isHidden() and dialog.ok_button().isEnabled()
    page.url_edit.setText(url)
    page.embedded_radio.setChecked(True)  # the Redis field does not matter for the embedded queue
    assert page.error.isHidden() and dialog.ok_button().isEnabled()
    assert page.queue_url() == ""
