"""The storage section of the settings file: a version-1 file (flat ``media_backend``/``oss_*``/``cos_*``
fields) is migrated and keeps its secrets; each backend's section is typed and checked by the backend;
a section this version does not know is kept; a change is recorded under the field's dotted name."""

from __future__ import annotations

import json

import pytest

from app.core.actor import Actor
from app.core.auth import AUDITOR, Action, AuditFilter
from app.core.config.paths import AppPaths
from app.core.config.settings import SETTINGS_VERSION, SettingsError, load_settings, save_settings
from app.core.context import AppContext
from app.core.media.registry import backend_names, storage_backend

KEY_ID = "LTAI5tMigratedKey01"

VERSION_1 = {
    "language": "en",
    "database_url": "",
    "media_backend": "oss",
    "media_dir": "/srv/wecom-media",
    "oss_endpoint": "http://127.0.0.1:9",
    "oss_region": "cn-hangzhou",
    "oss_bucket": "team-archive",
    "oss_prefix": "wecom",
    "oss_access_key_id": KEY_ID,
    "cos_region": "ap-guangzhou",
    "cos_bucket": "archive-1250000000",
    "cos_endpoint": "",
    "cos_prefix": "",
    "cos_secret_id": "AKIDMigrated",
    "sync_workers": 2,
    "media_workers": 3,
    "queue_url": "",
    "sync_interval_minutes": 30,
    "no_login": False,
    "corps": [{"corpid": "wwmigrated", "name": "Migrated"}],
}


def write_settings(paths: AppPaths, data: dict) -> None:
    paths.config_dir.mkdir(parents=True, exist_ok=True)
    paths.settings_file.write_text(json.dumps(data), encoding="utf-8")


def test_a_version_1_file_is_migrated_into_the_storage_section(tmp_path):
    paths = AppPaths.resolve(tmp_path)
    write_settings(paths, VERSION_1)  # version 1 files had no "version" key at first; 1 is assumed
    s = load_settings(paths)
    assert s.version == SETTINGS_VERSION == 2
    assert s.storage.backend == "oss"
    assert s.storage["local"].folder == "/srv/wecom-media"
    oss = s.storage["oss"]
    assert (oss.endpoint, oss.region, oss.bucket, oss.prefix, oss.access_key_id) == (
        "http://127.0.0.1:9", "cn-hangzhou", "team-archive", "wecom", KEY_ID)
    cos = s.storage["cos"]
    assert (cos.region, cos.bucket, cos.secret_id) == ("ap-guangzhou", "archive-1250000000", "AKIDMigrated")
    assert (s.sync_workers, s.media_workers, s.sync_interval_minutes) == (2, 3, 30)
    assert [c.corpid for c in s.corps] == ["wwmigrated"]

    save_settings(s, paths)
    written = json.loads(paths.settings_file.read_text(encoding="utf-8"))
    assert written["version"] == 2
    assert not any(k.startswith(("oss_", "cos_")) or k in ("media_backend", "media_dir") for k in written)
    assert written["storage"]["backend"] == "oss" and written["storage"]["oss"]["bucket"] == "team-archive"
    assert written["storage"]["local"] == {"folder": "/srv/wecom-media"}
    assert load_settings(paths) == s


def test_a_version_1_file_without_storage_fields_is_the_local_default(tmp_path):
    paths = AppPaths.resolve(tmp_path)
    write_settings(paths, {"version": 1, "language": "zh_CN"})
    s = load_settings(paths)
    assert s.language == "zh_CN" and s.storage.backend == "local" and s.storage["local"].folder == ""
    assert s.storage["oss"].bucket == ""


def test_the_migrated_settings_open_the_backend_with_the_secret_already_in_the_keyring(tmp_path, isolated_env):
    paths = AppPaths.resolve(tmp_path / "data")
    write_settings(paths, {**VERSION_1, "version": 1})
    # Stored by a version-1 app: the keyring names are unchanged, so nothing needs typing again.
    isolated_env.set_password("wecom-archive-auditor", f"storage:oss:{KEY_ID}", "kept-secret")
    ctx = AppContext(tmp_path / "data")
    try:
        assert ctx.storage.name == "oss" and ctx.storage._secret == "kept-secret"  # opening makes no request
        assert ctx.storage.describe() == "Aliyun OSS bucket 'team-archive' at http://127.0.0.1:9"
    finally:
        ctx.close()


def test_each_backend_checks_its_own_section(tmp_path):
    paths = AppPaths.resolve(tmp_path)
    write_settings(paths, {"version": 2, "storage": {"backend": "cos", "cos": {"bucket": "no-appid", "region": "x1"}}})
    with pytest.raises(SettingsError, match=r"storage\.cos\.bucket 'no-appid' is not a COS bucket"):
        load_settings(paths)
    write_settings(paths, {"version": 2, "storage": {"backend": "local", "oss": {"bucket": 42}}})
    with pytest.raises(SettingsError, match=r"storage\.oss\.bucket must be a string, not 42"):
        load_settings(paths)
    write_settings(paths, {"version": 2, "storage": {"backend": "ftp"}})
    with pytest.raises(SettingsError, match=r"storage\.backend must be one of .*, not 'ftp'") as err:
        load_settings(paths)
    assert all(name in str(err.value) for name in ("cos", "local", "oss"))
    # A half-filled form of a backend not in use is no error.
    write_settings(paths, {"version": 2, "storage": {"backend": "local", "oss": {"bucket": "Bad_Bucket"}}})
    assert load_settings(paths).storage["oss"].bucket == "Bad_Bucket"


def test_a_section_of_a_backend_this_version_does_not_know_is_kept(tmp_path):
    paths = AppPaths.resolve(tmp_path)
    write_settings(paths, {"version": 2, "storage": {"backend": "local", "s3": {"bucket": "elsewhere"}}})
    s = load_settings(paths)
    save_settings(s, paths)
    written = json.loads(paths.settings_file.read_text(encoding="utf-8"))
    assert written["storage"]["s3"] == {"bucket": "elsewhere"}


def test_the_registry_names_every_backend_once():
    assert backend_names()[:3] == ("local", "oss", "cos")  # the built-in ones first; others may follow
    assert len(set(backend_names())) == len(backend_names())
    assert storage_backend("oss").secret.key_id == "access_key_id" and storage_backend("local").secret is None
    with pytest.raises(SettingsError, match="storage backend 'ftp' is not one of ") as err:
        storage_backend("ftp")
    assert all(name in str(err.value) for name in ("cos", "local", "oss"))


def test_a_storage_change_is_recorded_under_its_dotted_name(tmp_path):
    ctx = AppContext(tmp_path / "data")
    try:
        ctx.settings.storage["cos"].region = "ap-shanghai"
        names = ctx.change_settings(Actor.local(), ctx.settings)
        assert names == ["storage.cos.region"]
        entries = ctx.trail.entries(Actor("t", roles={AUDITOR}), AuditFilter(actions={Action.SETTINGS_CHANGE}))
        assert [e.object for e in entries if e.object_type == "setting"] == ["storage.cos.region:  -> ap-shanghai"]
    finally:
        ctx.close()
