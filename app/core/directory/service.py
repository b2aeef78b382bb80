"""Running a directory sync for a configured corp: its secrets, its proxy and CA, the transport."""

from __future__ import annotations

from collections.abc import Callable

from app.core.actor import Actor
from app.core.config.settings import CorpSettings
from app.core.wecom.api import WeComClient
from app.core.wecom.errcodes import ARCHIVE, CONTACTS, CUSTOMER

from .sync import DirectoryProgress, DirectoryReport, DirectorySync
from .transport import open_transport


class DirectorySetupError(RuntimeError):
    """A corp whose directory cannot be synced as configured; the message says what to do."""


def directory_client(ctx, corp: CorpSettings) -> WeComClient:
    """A WeComClient for ``corp`` with the secrets it has (the chat-archive secret, and the contacts
    and customer-contact secrets if set; SecretMissingError without the first), through its proxy
    and CA file — or, for a demo corp, its corpus' simulated WeCom."""
    from .transport import simulated_directory

    if corp.uses_simulator and not corp.proxy and simulated_directory(corp) is None:
        raise DirectorySetupError(
            f"the demo corpus {corp.simulator_corpus} has no directory.json (an older corpus): run "
            f"`wecom-auditor demo` again to make a new one, or import names with `wecom-auditor import-names`")
    secrets = {ARCHIVE: ctx.secrets.corp_secret(corp)}
    for kind in (CONTACTS, CUSTOMER):
        value = ctx.secrets.directory_secret(corp, kind)
        if value:
            secrets[kind] = value
    proxy_passwd = ctx.secrets.proxy_password(corp) if corp.proxy else None
    return WeComClient(corp.corpid, secrets, open_transport(corp, proxy_passwd), timeout=float(min(corp.timeout, 30)))


def sync_directory(ctx, actor: Actor | None, corp: CorpSettings, *,
                   progress: Callable[[DirectoryProgress], None] | None = None,
                   cancel: Callable[[], bool] | None = None, avatars: bool = True) -> DirectoryReport:
    """Sync ``corp``'s directory from WeCom's server API on behalf of ``actor`` (None: a scheduled
    job); see app/core/directory/sync.py. ``ctx``: an AppContext. Blocking (seconds to minutes)."""
    from app.core.sync.pipeline import ensure_corp

    client = directory_client(ctx, corp)
    corp_id = ensure_corp(ctx.db, corp.corpid, corp.name)
    try:
        return DirectorySync(ctx.db, corp_id, client, actor, avatars=avatars).run(progress, cancel)
    finally:
        loaded = ctx.__dict__.get("directory")
        if loaded is not None:
            loaded.refresh()


__all__ = ["DirectorySetupError", "directory_client", "sync_directory"]
