"""The job queue's settings (``queue_url``, ``sync_interval_minutes``) and the reading of a queue URL:
checked here, in the settings' package, so that checking settings needs nothing above it (the Redis
queue, app/core/queue/redis_queue.py, reads its URL with the same :func:`split_redis_url`)."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from app.core.errors import SaidInTwoLanguages

__all__ = ["DEFAULT_PREFIX", "MAX_SYNC_INTERVAL_MINUTES", "PREFIX_RE", "REDIS_PASSWORD_ENV", "QueueSettingsError",
           "check_queue_settings", "split_redis_url"]

MAX_SYNC_INTERVAL_MINUTES = 7 * 24 * 60  # WeCom keeps data ~5 days: a longer interval would lose messages
REDIS_PASSWORD_ENV = "WECOM_AUDITOR_REDIS_PASSWORD"
DEFAULT_PREFIX = "wecom-auditor:"
PREFIX_RE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


class QueueSettingsError(SaidInTwoLanguages, ValueError):
    """A queue setting that cannot be used (the sentence names it, in English and Chinese)."""


def split_redis_url(url: str) -> tuple[str, str]:
    """(the URL for redis-py, the key prefix) from a queue URL; ``?prefix=NAME`` is ours, not redis-py's."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise QueueSettingsError(
            f"a Redis queue URL starts with redis://, rediss:// or unix://, not {url.split(':')[0]!r}",
            f"Redis 队列 URL 应以 redis://、rediss:// 或 unix:// 开头，而不是 {url.split(':')[0]!r}")
    query = parse_qsl(parts.query, keep_blank_values=True)
    prefix = DEFAULT_PREFIX
    rest = []
    for k, v in query:
        if k == "prefix":
            prefix = v
        else:
            rest.append((k, v))
    if not PREFIX_RE.fullmatch(prefix):
        raise QueueSettingsError(
            f"invalid queue key prefix {prefix!r}: use 1-64 characters of letters, digits and _ . : -",
            f"队列键前缀 {prefix!r} 无效：请使用 1-64 个字母、数字或 _ . : -")
    if not prefix.endswith(":"):
        prefix += ":"
    return urlunsplit(parts._replace(query=urlencode(rest))), prefix


def check_queue_settings(queue_url: object, sync_interval_minutes: object) -> None:
    """Raise QueueSettingsError naming the setting when ``queue_url`` or ``sync_interval_minutes`` is
    invalid (Settings.validate turns it into a SettingsError)."""
    url = queue_url
    if not isinstance(url, str):
        raise QueueSettingsError("queue_url must be a string", "queue_url 必须是字符串")
    if url:
        try:
            split_redis_url(url)
            parts = urlsplit(url)
            parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
        except ValueError as exc:
            zh = exc.message_zh if isinstance(exc, QueueSettingsError) else str(exc)
            raise QueueSettingsError(f"queue_url: {exc} (leave it empty for the embedded queue in the archive "
                                     f"database)", f"queue_url：{zh}（留空则使用存档数据库中的内置队列）") from None
        if parts.password:
            raise QueueSettingsError(f"queue_url must not contain a password: keep the Redis password in the "
                                     f"keyring or in {REDIS_PASSWORD_ENV}",
                                     f"queue_url 中不能包含密码：请把 Redis 密码保存在密钥环或 {REDIS_PASSWORD_ENV} 中")
    minutes = sync_interval_minutes
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 0 <= minutes <= MAX_SYNC_INTERVAL_MINUTES:
        raise QueueSettingsError(f"sync_interval_minutes must be a whole number from 0 (off) to "
                                 f"{MAX_SYNC_INTERVAL_MINUTES}, not {minutes!r}",
                                 f"sync_interval_minutes 必须是 0（关闭）到 {MAX_SYNC_INTERVAL_MINUTES} 之间的整数，"
                                 f"而不是 {minutes!r}")
