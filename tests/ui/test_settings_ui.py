"""The settings dialog: secrets go to the keyring (never the settings file), inline errors keep OK
disabled, Test connection runs off the GUI thread. Plus the SecretStore additions it relies on."""

from __future__ import annotations

import json
import shutil

import keyring
import pytest
from keyring.backends import fail

from app.core.actor import Actor
from app.core.config.secrets import IN_ENVIRONMENT, IN_KEYRING, SERVICE, SecretStore
from app.core.config.settings import CorpSettings
from app.core.context import AppContext
from app.ui.settings import PrivateKeyImportDialog, SettingsDialog
from app.ui.tasks import wait_for_tasks

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


@pytest.fixture
def ctx():
    c = AppContext()
    yield c
    wait_for_tasks()
    c.close()


def open_dialog(qtbot, ctx) -> SettingsDialog:
    dialog = SettingsDialog(ctx, Actor.local())
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.secrets_loaded, timeout=10_000):
        pass
    return dialog


def save(qtbot, dialog: SettingsDialog) -> None:
    assert dialog.ok_button().isEnabled(), dialog.problem_label.text()
    with qtbot.waitSignal(dialog.accepted, timeout=10_000):
        dialog.ok_button().click()


def pem_file(tmp_path, rsa_keys, version=1):
    path = tmp_path / f"private_v{version}.pem"
    path.write_bytes(rsa_keys[version][0])
    return path


def test_secret_and_key_go_to_the_keyring_not_the_settings_file(qtbot, ctx, tmp_path, rsa_keys, simulator_path,
                                                                 isolated_env):
    dialog = open_dialog(qtbot, ctx)
    page = dialog.corp_page
    assert page.empty_note.isVisibleTo(page) and dialog.ok_button().isEnabled()  # nothing configured yet
    page.add_corp()
    page.corpid_edit.setText("wwroundtrip01")
    page.name_edit.setText("往返测试 Round Trip")
    page.library_radio.setChecked(True)
    library = tmp_path / "libWeWorkFinanceSdk_C.so"  # a file this session has not checked yet
    shutil.copy(simulator_path, library)
    page.library_field.setText(str(library))
    # The library is loaded in an SDK host process, off the GUI thread; OK waits for the answer.
    assert page.sdk_error.text() == "Checking the SDK library…" and not dialog.ok_button().isEnabled()
    qtbot.waitUntil(page.sdk_error.isHidden, timeout=30_000)
    page.secret_edit.setText("s3cret-value")
    assert page.secret_status.text() == "Stored in the keyring when you click OK."

    importer = page.open_import_dialog()
    importer.version_spin.setValue(1)
    importer.file_field.setText(str(pem_file(tmp_path, rsa_keys)))
    assert importer.ok_enabled() and importer.error_text() == ""
    importer.accept()
    assert page.key_table.rowCount() == 1 and page.key_table.item(0, 0).text() == "1"
    assert page.key_table.item(0, 1).text() == "New: stored in the keyring when you click OK."
    save(qtbot, dialog)

    store = isolated_env.store
    assert store[(SERVICE, "corp:wwroundtrip01:secret")] == "s3cret-value"
    assert store[(SERVICE, "corp:wwroundtrip01:key:1")] == rsa_keys[1][0].decode()
    text = ctx.paths.settings_file.read_text(encoding="utf-8")
    assert "s3cret-value" not in text and "PRIVATE KEY" not in text
    saved = json.loads(text)["corps"][0]
    assert saved["corpid"] == "wwroundtrip01" and saved["key_versions"] == [1]
    assert saved["sdk_library"] == str(library)
    assert ctx.settings.corps[0].name == "往返测试 Round Trip"

    again = open_dialog(qtbot, ctx)
    assert again.corp_page.secret_status.text() == "Stored in the keyring."
    assert again.corp_page.secret_edit.text() == ""  # a stored secret is never shown
    assert again.corp_page.key_table.item(0, 1).text() == "Stored in the keyring."
    assert again.corp_page.corpid_edit.isReadOnly()


def test_invalid_pem_shows_an_inline_error_and_disables_ok(qtbot, tmp_path, rsa_keys):
    bad = tmp_path / "not-a-key.pem"
    bad.write_text("-----BEGIN RSA PRIVATE KEY-----\nnot base64\n-----END RSA PRIVATE KEY-----\n")
    dialog = PrivateKeyImportDialog("ww1", [1])
    qtbot.addWidget(dialog)
    assert not dialog.ok_enabled()  # nothing chosen yet
    assert dialog.version() == 2  # the next version after the installed ones
    dialog.file_field.setText(str(bad))
    assert not dialog.ok_enabled()
    assert dialog.error_text().startswith("This file is not a usable private key: an unencrypted PEM RSA key")
    assert "version 2 is not a readable unencrypted PEM RSA key" in dialog.file_error.toolTip()
    dialog.file_field.setText(str(tmp_path / "missing.pem"))
    assert not dialog.ok_enabled() and "is not a file" in dialog.error_text()
    dialog.file_field.setText(str(pem_file(tmp_path, rsa_keys, 2)))
    assert dialog.ok_enabled() and dialog.error_text() == ""
    dialog.version_spin.setValue(1)
    assert dialog.version_note.text() == "Version 1 is installed: importing replaces its key."


def test_a_wrong_sdk_library_is_said_in_the_chinese_window_s_language(qtbot, ctx, tmp_path, chinese_window):
    dialog = open_dialog(qtbot, ctx)
    page = dialog.corp_page
    page.add_corp()
    page.corpid_edit.setText("wwgood")
    page.library_field.setText(str(tmp_path / "libWeWorkFinanceSdk_C.so"))
    assert page.sdk_error.text().startswith(f"SDK 库 {tmp_path / 'libWeWorkFinanceSdk_C.so'} 不存在"), \
        page.sdk_error.text()
    (tmp_path / "notes.txt").write_text("hello")
    page.library_field.setText(str(tmp_path / "notes.txt"))
    assert "不是共享库（不是 ELF）" in page.sdk_error.text()
    page.library_field.setText(str(tmp_path))
    assert "是文件夹：请选择库文件本身" in page.sdk_error.text()
    assert not dialog.ok_button().isEnabled()


def test_bad_values_show_inline_errors_and_disable_ok(qtbot, ctx, tmp_path, simulator_path):
    dialog = open_dialog(qtbot, ctx)
    page = dialog.corp_page
    page.add_corp()
    assert not dialog.ok_button().isEnabled()
    assert page.corpid_error.text().startswith("Enter the corp ID")
    page.corpid_edit.setText("ww bad")
    assert page.corpid_error.text() == "The corp ID cannot contain spaces."
    page.corpid_edit.setText("wwgood")
    assert page.corpid_error.isHidden()

    page.library_field.setText(str(tmp_path / "libWeWorkFinanceSdk_C.so"))
    assert "does not exist" in page.sdk_error.text() and not dialog.ok_button().isEnabled()
    not_a_library = tmp_path / "notes.txt"
    not_a_library.write_text("hello")
    page.library_field.setText(str(not_a_library))
    assert "not a shared library" in page.sdk_error.text()
    page.simulator_radio.setChecked(True)
    page.corpus_field.setText(str(tmp_path))
    assert "has no corpus.json" in page.sdk_error.text()
    page.library_radio.setChecked(True)
    page.library_field.setText(str(simulator_path))
    qtbot.waitUntil(page.sdk_error.isHidden, timeout=30_000)

    page.proxy_edit.setText("10.0.0.1:8081")
    assert page.proxy_error.text().startswith("Write the proxy as socks5://host:port")
    page.proxy_edit.setText("socks5://10.0.0.1:8081")
    assert page.proxy_error.isHidden() and dialog.ok_button().isEnabled()

    archive = dialog.archive_page
    archive.mysql_radio.setChecked(True)
    archive.url_edit.setText("definitely not a url")
    assert archive.error.text().startswith("This is not a database URL") and not dialog.ok_button().isEnabled()
    archive.url_edit.setText("postgresql://u@h/db")
    assert archive.error.text().startswith("Only MySQL or MariaDB")
    archive.url_edit.setText("mysql+pymysql://auditor:hunter2@db.example.com:3306/archive")
    assert archive.error.text().startswith("Leave the password out of the URL")
    archive.url_edit.setText("mysql+pymysql://auditor@db.example.com:3306/archive")
    assert archive.error.isHidden() and dialog.ok_button().isEnabled()

    dialog.media_page.folder_field.setText(str(not_a_library))
    assert dialog.media_page.error.text() == "This is a file; choose a folder."
    assert not dialog.ok_button().isEnabled()
    assert "The media folder has a value to fix." in dialog.problem_label.text()


def test_test_connection_reports_ok_for_a_sqlite_file_and_the_error_otherwise(qtbot, ctx, tmp_path):
    dialog = open_dialog(qtbot, ctx)
    archive = dialog.archive_page
    archive.sqlite_field.setText(str(tmp_path / "elsewhere" / "archive.db"))
    with qtbot.waitSignal(archive.connection_tested, timeout=30_000) as tested:
        archive.test_button.click()
    ok, message = tested.args
    assert ok and message.startswith("Connected: sqlite") and "elsewhere" in message
    assert archive.test_result.text() == message

    archive.mysql_radio.setChecked(True)
    archive.url_edit.setText("mysql+pymysql://nobody@127.0.0.1:1/none")
    with qtbot.waitSignal(archive.connection_tested, timeout=30_000) as tested:
        archive.test_button.click()
    ok, message = tested.args
    assert not ok and "cannot open the archive database" in message


def test_database_password_is_kept_in_the_keyring(qtbot, ctx, isolated_env):
    dialog = open_dialog(qtbot, ctx)
    archive = dialog.archive_page
    archive.mysql_radio.setChecked(True)
    archive.url_edit.setText("mysql+pymysql://auditor@db.example.com:3306/archive")
    archive.password_edit.setText("hunter2")
    save(qtbot, dialog)
    assert ctx.settings.database_url == "mysql+pymysql://auditor@db.example.com:3306/archive"
    assert "hunter2" not in ctx.paths.settings_file.read_text(encoding="utf-8")
    assert isolated_env.store[(SERVICE, "database:auditor@db.example.com:3306/archive")] == "hunter2"
    assert ctx.secrets.database_url(ctx.settings.database_url) == \
        "mysql+pymysql://auditor:hunter2@db.example.com:3306/archive"
    assert dialog.restart_required


def test_language_media_and_removing_a_corp(qtbot, ctx, tmp_path, isolated_env, simulator_path):
    ctx.settings.upsert_corp(CorpSettings(corpid="wwgone", sdk_library=str(simulator_path), key_versions=[3]))
    ctx.save()
    ctx.secrets.set_corp_secret("wwgone", "x")
    ctx.secrets.set_private_key("wwgone", 3, "pem")
    dialog = open_dialog(qtbot, ctx)
    dialog.language_page.buttons["zh_CN"].setChecked(True)
    dialog.media_page.folder_field.setText(str(tmp_path / "media"))
    dialog.corp_page.remove_corp(0)
    assert dialog.corp_page.empty_note.isVisibleTo(dialog.corp_page)
    save(qtbot, dialog)
    assert ctx.settings.language == "zh_CN" and ctx.settings.storage["local"].folder == str(tmp_path / "media")
    assert ctx.settings.corps == [] and dialog.restart_required
    assert not any(name.startswith("corp:wwgone") for _, name in isolated_env.store)


def test_without_a_keyring_the_dialog_says_how_to_use_environment_variables(qtbot, ctx):
    keyring.set_keyring(fail.Keyring())  # isolated_env restores the in-memory keyring afterwards
    ctx.settings.upsert_corp(CorpSettings(corpid="wwheadless", sdk_library="/nowhere/lib.so"))
    dialog = open_dialog(qtbot, ctx)
    page = dialog.corp_page
    assert not page.secret_edit.isEnabled() and not page.import_button.isEnabled()
    note = page.keyring_note.text()
    assert page.keyring_note.isVisibleTo(page)
    assert "no usable keyring" in note
    assert "WECOM_AUDITOR_CORP_SECRET_WWHEADLESS" in note and "WECOM_AUDITOR_PRIVATE_KEY_WWHEADLESS_V<VERSION>" in note
    assert page.secret_status.text() == "Not set."


# ---------------------------------------------------------------- SecretStore additions

def test_secret_store_proxy_and_database_passwords_and_sources(monkeypatch):
    store = SecretStore()
    corp = CorpSettings(corpid="ww-src", key_versions=[1, 2])
    assert store.proxy_password(corp) is None and store.corp_secret_source(corp) is None
    store.set_proxy_password("ww-src", "user:pw")
    assert store.proxy_password(corp) == "user:pw"
    store.delete_proxy_password("ww-src")
    assert store.proxy_password(corp) is None
    monkeypatch.setenv("WECOM_AUDITOR_PROXY_PASSWORD_WW_SRC", "env:pw")
    assert store.proxy_password(corp) == "env:pw"

    store.set_corp_secret("ww-src", "s")
    store.set_private_key("ww-src", 1, "pem1")
    monkeypatch.setenv("WECOM_AUDITOR_PRIVATE_KEY_WW_SRC_V5", "pem5")
    assert store.corp_secret_source(corp) == IN_KEYRING
    assert store.private_key_sources(corp) == {1: IN_KEYRING, 5: IN_ENVIRONMENT}  # v2 is nowhere
    store.delete_corp_secret("ww-src")
    assert store.corp_secret_source(corp) is None

    url = "mysql+pymysql://a@h:3306/d"
    assert store.database_url(url) == url
    store.set_database_password(url, "p@ss/word")
    assert store.database_password(url) == "p@ss/word"
    assert store.database_url(url) == "mysql+pymysql://a:p%40ss%2Fword@h:3306/d"
    assert store.database_url("sqlite:///x.db") == "sqlite:///x.db"
    store.delete_database_password(url)
    monkeypatch.setenv("WECOM_AUDITOR_DATABASE_PASSWORD", "envpw")
    assert store.database_url(url) == "mysql+pymysql://a:envpw@h:3306/d"


def test_test_connection_checks_the_corp_as_typed(qtbot, ctx, tmp_path, simulator_path):
    """Settings > Corp > Test connection: the library, the keys and the archive, off the GUI thread,
    with the secret as typed (not yet stored) — a wrong one is named as such."""
    from native.corpus import generate_corpus

    corpus = tmp_path / "corpus"
    generate_corpus(corpus, messages=30, seed=3)
    corp, _ = ctx.setup_demo(corpus)
    dialog = open_dialog(qtbot, ctx)
    page = dialog.corp_page
    qtbot.waitUntil(lambda: page.current() is not None and page.current().state is not None, timeout=10_000)
    page.test_button.click()
    assert not page.test_button.isEnabled()
    qtbot.waitUntil(page.test_button.isEnabled, timeout=60_000)
    lines = page.test_result.text().splitlines()
    assert len(lines) == 4 and all(line.startswith("✓") for line in lines), lines
    assert "decrypts" in lines[-1]

    page.secret_edit.setText("not-the-secret")
    assert page.test_result.text() == ""  # an edit clears a result that no longer describes the values
    page.test_button.click()
    qtbot.waitUntil(page.test_button.isEnabled, timeout=60_000)
    last = page.test_result.text().splitlines()[-1]
    assert last.startswith("✗") and "Secret is wrong" in last
    assert ctx.secrets.corp_secret(ctx.settings.corp(corp.corpid)) != "not-the-secret"  # nothing was stored

    page.ca_field.setText(str(tmp_path / "missing.pem"))
    assert "is not a file" in page.ca_error.text() and not dialog.ok_button().isEnabled()
