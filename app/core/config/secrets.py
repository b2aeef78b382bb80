"""Secrets (corp secret, private keys per ``publickey_ver``) live only in the OS keyring.

On a headless server without a keyring backend, environment variables may supply them:

* ``WECOM_AUDITOR_CORP_SECRET_<CORPID>``: the chat-archive secret of that corp;
* ``WECOM_AUDITOR_PRIVATE_KEY_<CORPID>_V<VERSION>``: the PEM text of that key version, or ``@/path/to/key.pem``;
* ``WECOM_AUDITOR_PROXY_PASSWORD_<CORPID>``: the password of that corp's SDK proxy;
* ``WECOM_AUDITOR_CONTACTS_SECRET_<CORPID>`` / ``WECOM_AUDITOR_CUSTOMER_SECRET_<CORPID>``: the secrets the
  directory sync calls WeCom's contacts / customer-contact APIs with (optional);
* ``WECOM_AUDITOR_DATABASE_PASSWORD``: the password of the MySQL/MariaDB archive database;
* ``WECOM_AUDITOR_REDIS_PASSWORD``: the password of the job queue's Redis (``queue_url``);
* ``WECOM_AUDITOR_STORAGE_SECRET_<BACKEND>``: the secret key of the cloud media storage, ``_OSS`` (the
  AccessKey secret of Aliyun OSS) or ``_COS`` (the SecretKey of Tencent COS).

(``<CORPID>`` upper-cased, any character other than A-Z, 0-9 and _ replaced by _.)
The export signing key is in the keyring too, or — without one — encrypted under a passphrase
(``WECOM_AUDITOR_EXPORT_KEY_PASSPHRASE`` for headless use; app/core/export/signing.py).
A demo profile (``secrets_in_corpus``) reads them from the simulator's corpus, which is demo data.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from pathlib import Path
from typing import Any

import keyring
import keyring.errors
from keyring.backends import fail

from .settings import CorpSettings

SERVICE = "wecom-archive-auditor"


class SecretMissingError(RuntimeError):
    """A secret is needed but not stored; the message says which and how to provide it."""


def _env_name(kind: str, corpid: str, version: int | None = None) -> str:
    base = f"WECOM_AUDITOR_{kind}_{re.sub(r'[^A-Z0-9_]', '_', corpid.upper())}"
    return f"{base}_V{version}" if version is not None else base


def env_var_name(kind: str, corpid: str, version: int | None = None) -> str:
    """The environment variable that may supply a secret on a headless server, e.g.
    ``env_var_name("CORP_SECRET", "ww1")`` → ``WECOM_AUDITOR_CORP_SECRET_WW1`` (kinds: CORP_SECRET,
    PRIVATE_KEY (with ``version``), PROXY_PASSWORD)."""
    return _env_name(kind, corpid, version)


DATABASE_PASSWORD_ENV = "WECOM_AUDITOR_DATABASE_PASSWORD"


def storage_secret_env(backend: str) -> str:
    """The variable that may hold a cloud storage secret key: ``WECOM_AUDITOR_STORAGE_SECRET_OSS`` / ``_COS``."""
    return f"WECOM_AUDITOR_STORAGE_SECRET_{re.sub(r'[^A-Z0-9_]', '_', backend.upper())}"

# Where a secret was found (SecretStore.*_source): the UI says so next to the field.
IN_KEYRING, IN_ENVIRONMENT, IN_CORPUS = "keyring", "environment", "corpus"


def keyring_available() -> bool:
    backend = keyring.get_keyring()
    return not isinstance(backend, fail.Keyring) and getattr(backend, "priority", 1) > 0


class SecretStore:
    """Reads and writes the app's secrets; never logs or prints them."""

    def _get(self, name: str) -> str | None:
        if not keyring_available():
            return None
        try:
            return keyring.get_password(SERVICE, name)
        except keyring.errors.KeyringError:
            return None

    def _set(self, name: str, value: str) -> None:
        if not keyring_available():
            raise SecretMissingError(
                "this computer has no usable OS keyring (Secret Service / Keychain / Credential Manager), "
                "so secrets cannot be saved; on a headless server set the WECOM_AUDITOR_* environment "
                "variables described in the README instead")
        keyring.set_password(SERVICE, name, value)

    def _delete(self, name: str) -> None:
        if keyring_available():
            with contextlib.suppress(keyring.errors.PasswordDeleteError):  # already absent
                keyring.delete_password(SERVICE, name)

    # -- corp secret
    def set_corp_secret(self, corpid: str, secret: str) -> None:
        self._set(f"corp:{corpid}:secret", secret)

    def delete_corp_secret(self, corpid: str) -> None:
        self._delete(f"corp:{corpid}:secret")

    def corp_secret_source(self, corp: CorpSettings) -> str | None:
        """Where the corp secret would be read from (IN_KEYRING / IN_ENVIRONMENT / IN_CORPUS), or None."""
        if self._get(f"corp:{corp.corpid}:secret"):
            return IN_KEYRING
        if os.environ.get(_env_name("CORP_SECRET", corp.corpid)):
            return IN_ENVIRONMENT
        if corp.secrets_in_corpus and _corpus_conf(corp).get("secret"):
            return IN_CORPUS
        return None

    def corp_secret(self, corp: CorpSettings) -> str:
        value = self._get(f"corp:{corp.corpid}:secret") or os.environ.get(_env_name("CORP_SECRET", corp.corpid))
        if not value and corp.secrets_in_corpus:
            value = _corpus_conf(corp).get("secret")
        if not value:
            raise SecretMissingError(
                f"the chat-archive secret of corp {corp.corpid} is not set: enter it in Settings, "
                f"or set {_env_name('CORP_SECRET', corp.corpid)} on a headless server")
        return value

    # -- directory secrets (app/core/directory): WeCom's contacts and customer-contact APIs
    DIRECTORY_SECRETS = {"contacts": "CONTACTS_SECRET", "customer": "CUSTOMER_SECRET"}

    def set_directory_secret(self, corpid: str, kind: str, secret: str) -> None:
        """Keep the ``contacts`` or ``customer`` secret of ``corpid`` (what the directory sync calls
        WeCom's contacts / external-contact APIs with) in the keyring."""
        self._set(f"corp:{corpid}:{self._directory_kind(kind)}", secret)

    def delete_directory_secret(self, corpid: str, kind: str) -> None:
        self._delete(f"corp:{corpid}:{self._directory_kind(kind)}")

    def directory_secret_source(self, corp: CorpSettings, kind: str) -> str | None:
        """IN_KEYRING / IN_ENVIRONMENT, or None when that secret is not set."""
        if self._get(f"corp:{corp.corpid}:{self._directory_kind(kind)}"):
            return IN_KEYRING
        if os.environ.get(_env_name(self.DIRECTORY_SECRETS[kind], corp.corpid)):
            return IN_ENVIRONMENT
        return None

    def directory_secret(self, corp: CorpSettings, kind: str) -> str | None:
        """The ``contacts`` or ``customer`` secret (keyring, then ``WECOM_AUDITOR_CONTACTS_SECRET_<CORPID>``
        / ``WECOM_AUDITOR_CUSTOMER_SECRET_<CORPID>``), or None: both are optional."""
        return (self._get(f"corp:{corp.corpid}:{self._directory_kind(kind)}")
                or os.environ.get(_env_name(self.DIRECTORY_SECRETS[kind], corp.corpid)) or None)

    def _directory_kind(self, kind: str) -> str:
        if kind not in self.DIRECTORY_SECRETS:
            raise ValueError(f"unknown directory secret {kind!r}")
        return f"{kind}_secret"

    # -- private keys
    def set_private_key(self, corpid: str, version: int, pem: str) -> None:
        self._set(f"corp:{corpid}:key:{version}", pem)

    def delete_private_key(self, corpid: str, version: int) -> None:
        self._delete(f"corp:{corpid}:key:{version}")

    def private_key(self, corp: CorpSettings, version: int) -> str | None:
        value = self._get(f"corp:{corp.corpid}:key:{version}")
        if value is None:
            env = os.environ.get(_env_name("PRIVATE_KEY", corp.corpid, version))
            if env and env.startswith("@"):
                value = Path(env[1:]).expanduser().read_text(encoding="ascii")
            else:
                value = env
        if value is None and corp.secrets_in_corpus:
            value = _corpus_private_keys(corp).get(version)
        return value

    def private_key_sources(self, corp: CorpSettings) -> dict[int, str]:
        """Every key version the corp has, with where it is read from (IN_KEYRING / IN_ENVIRONMENT /
        IN_CORPUS). A version listed in the settings whose key is nowhere is left out."""
        sources: dict[int, str] = {}
        corpus_keys = _corpus_private_keys(corp) if corp.secrets_in_corpus else {}
        for v in sorted(set(corp.key_versions) | _env_key_versions(corp.corpid) | set(corpus_keys)):
            if self._get(f"corp:{corp.corpid}:key:{v}"):
                sources[v] = IN_KEYRING
            elif os.environ.get(_env_name("PRIVATE_KEY", corp.corpid, v)):
                sources[v] = IN_ENVIRONMENT
            elif v in corpus_keys:
                sources[v] = IN_CORPUS
        return sources

    # -- proxy password (of the corp's SDK proxy)
    def set_proxy_password(self, corpid: str, password: str) -> None:
        self._set(f"corp:{corpid}:proxy", password)

    def delete_proxy_password(self, corpid: str) -> None:
        self._delete(f"corp:{corpid}:proxy")

    def proxy_password(self, corp: CorpSettings) -> str | None:
        return self._get(f"corp:{corp.corpid}:proxy") or os.environ.get(_env_name("PROXY_PASSWORD", corp.corpid))

    # -- database password (MySQL/MariaDB; never part of the URL in the settings file)
    @staticmethod
    def _database_key(url: str) -> str:
        from sqlalchemy.engine import make_url

        u = make_url(url)
        return f"database:{u.username or ''}@{u.host or ''}:{u.port or ''}/{u.database or ''}"

    def set_database_password(self, url: str, password: str) -> None:
        """Store the password of the database at ``url`` (its user, host, port and name identify it)."""
        self._set(self._database_key(url), password)

    def delete_database_password(self, url: str) -> None:
        self._delete(self._database_key(url))

    def database_password(self, url: str) -> str | None:
        return self._get(self._database_key(url)) or os.environ.get(DATABASE_PASSWORD_ENV)

    def database_url(self, url: str) -> str:
        """``url`` with the password from the keyring (or the environment) filled in, if it has
        none and one is stored. The result holds a secret: never log or save it."""
        from sqlalchemy.engine import make_url

        try:
            u = make_url(url)
        except Exception:  # not a URL: opening it will say so clearly
            return url
        if u.password or u.get_backend_name() == "sqlite":
            return url
        password = self.database_password(url)
        return u.set(password=password).render_as_string(hide_password=False) if password else url

    # -- cloud media storage (the AccessKey secret of OSS, the SecretKey of COS; app/core/media/backends.py)
    @staticmethod
    def _storage_key(backend: str, key_id: str) -> str:
        return f"storage:{backend}:{key_id}"

    def set_storage_secret(self, backend: str, key_id: str, secret: str) -> None:
        """Keep the secret key of ``backend`` ("oss"/"cos") for the access key id ``key_id`` in the keyring."""
        self._set(self._storage_key(backend, key_id), secret)

    def delete_storage_secret(self, backend: str, key_id: str) -> None:
        self._delete(self._storage_key(backend, key_id))

    def storage_secret_source(self, backend: str, key_id: str) -> str | None:
        """Where the storage secret would be read from (IN_KEYRING / IN_ENVIRONMENT), or None."""
        if key_id and self._get(self._storage_key(backend, key_id)):
            return IN_KEYRING
        if os.environ.get(storage_secret_env(backend)):
            return IN_ENVIRONMENT
        return None

    def storage_secret(self, backend: str, key_id: str) -> str:
        """The secret key for ``key_id`` on ``backend``: keyring first, then the environment.

        Raises SecretMissingError (naming the variable, never a value) when neither has it."""
        value = (self._get(self._storage_key(backend, key_id)) if key_id else None) \
            or os.environ.get(storage_secret_env(backend))
        if not value:
            raise SecretMissingError(
                f"the {backend.upper()} secret key for access key id {key_id!r} is not set: enter it in "
                f"Settings → Media, or set {storage_secret_env(backend)} on a headless server")
        return value

    # -- the password of the job queue's Redis (settings.queue_url never holds it; app/core/queue)
    @staticmethod
    def _redis_key(url: str) -> str:
        from urllib.parse import urlsplit

        u = urlsplit(url)
        return f"redis:{u.username or ''}@{u.hostname or ''}:{u.port or ''}{u.path or ''}"

    def set_redis_password(self, url: str, password: str) -> None:
        self._set(self._redis_key(url), password)

    def redis_password(self, url: str) -> str | None:
        """The password of the Redis at ``url`` (keyring, then WECOM_AUDITOR_REDIS_PASSWORD), or None."""
        return self._get(self._redis_key(url)) or os.environ.get("WECOM_AUDITOR_REDIS_PASSWORD") or None

    # -- the workstation's export signing key (Ed25519, PKCS#8 PEM; app/core/export/signing.py)
    EXPORT_KEY_NAME = "export:ed25519"

    def export_key(self) -> str | None:
        """The private export key's PEM from the keyring, or None (none stored, or no keyring)."""
        return self._get(self.EXPORT_KEY_NAME)

    def set_export_key(self, pem: str) -> None:
        """Keep the private export key in the keyring (raises SecretMissingError without one)."""
        self._set(self.EXPORT_KEY_NAME, pem)

    def keep_previous_export_key(self, fingerprint: str, pem: str) -> None:
        """Keep a former export key (e.g. an earlier version's plaintext key that differs from the
        keyring's) in the keyring under its fingerprint, so that it is not lost when its file goes."""
        self._set(f"{self.EXPORT_KEY_NAME}:previous:{fingerprint}", pem)

    # -- the command line's login token (app/cli/auth.py), one per data folder and archive
    @staticmethod
    def _cli_token_key(profile: str) -> str:
        return f"cli-token:{profile}"

    def cli_token(self, profile: str) -> str | None:
        """The login token ``wecom-auditor login`` kept for ``profile`` (a digest naming the data
        folder and archive), or None."""
        return self._get(self._cli_token_key(profile))

    def set_cli_token(self, profile: str, token: str) -> None:
        self._set(self._cli_token_key(profile), token)

    def delete_cli_token(self, profile: str) -> None:
        self._delete(self._cli_token_key(profile))

    def private_keys(self, corp: CorpSettings) -> dict[int, str]:
        """Every installed key of the corp, by version (versions from the settings and the corpus)."""
        versions = set(corp.key_versions) | _env_key_versions(corp.corpid)
        if corp.secrets_in_corpus:
            versions |= set(_corpus_private_keys(corp))
        keys = {}
        for v in sorted(versions):
            pem = self.private_key(corp, v)
            if pem:
                keys[v] = pem
        return keys


def _env_key_versions(corpid: str) -> set[int]:
    prefix = _env_name("PRIVATE_KEY", corpid) + "_V"
    return {int(name[len(prefix):]) for name in os.environ
            if name.startswith(prefix) and name[len(prefix):].isdigit()}


def _corpus_conf(corp: CorpSettings) -> dict[str, Any]:
    path = Path(corp.simulator_corpus) / "corpus.json"
    try:
        conf: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return conf
    except (OSError, ValueError) as exc:
        raise SecretMissingError(f"cannot read the simulator corpus {path}: {exc}") from None


def _corpus_private_keys(corp: CorpSettings) -> dict[int, str]:
    """The private keys a demo profile installs: those not marked ``"install": false``."""
    conf = _corpus_conf(corp)
    root = Path(corp.simulator_corpus)
    keys = {}
    for version, entry in (conf.get("keys") or {}).items():
        if entry.get("install", True) and entry.get("private"):
            keys[int(version)] = (root / entry["private"]).read_text(encoding="ascii")
    return keys
