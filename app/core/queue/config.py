"""The queue's settings (``queue_url``, ``sync_interval_minutes``): checked here, beside the queue."""

from __future__ import annotations

from urllib.parse import urlsplit

MAX_SYNC_INTERVAL_MINUTES = 7 * 24 * 60  # WeCom keeps data ~5 days: a longer interval would lose messages
REDIS_PASSWORD_ENV = "WECOM_AUDITOR_REDIS_PASSWORD"


def check_queue_settings(settings) -> None:
    """Raise SettingsError naming the setting when ``queue_url`` or ``sync_interval_minutes`` is invalid."""
    from app.core.config.settings import SettingsError

    from .redis_queue import split_redis_url

    url = settings.queue_url
    if not isinstance(url, str):
        raise SettingsError("queue_url must be a string")
    if url:
        try:
            split_redis_url(url)
            parts = urlsplit(url)
            parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
        except ValueError as exc:
            raise SettingsError(f"queue_url: {exc} (leave it empty for the embedded queue in the archive "
                                f"database)") from None
        if parts.password:
            raise SettingsError(f"queue_url must not contain a password: keep the Redis password in the keyring "
                                f"or in {REDIS_PASSWORD_ENV}")
    minutes = settings.sync_interval_minutes
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 0 <= minutes <= MAX_SYNC_INTERVAL_MINUTES:
        raise SettingsError(f"sync_interval_minutes must be a whole number from 0 (off) to "
                            f"{MAX_SYNC_INTERVAL_MINUTES}, not {minutes!r}")
