"""Helpers shared by the queue tests (the real Redis on 127.0.0.1, key clean-up)."""

from __future__ import annotations

REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_client():
    import redis

    return redis.Redis.from_url(REDIS_URL, decode_responses=True, socket_connect_timeout=2)


def redis_available() -> bool:
    try:
        return bool(redis_client().ping())
    except Exception:
        return False


def delete_prefix(prefix: str) -> int:
    """Delete every key under ``prefix`` (what a Redis that lost its memory looks like to us)."""
    client = redis_client()
    keys = list(client.scan_iter(match=prefix + "*", count=1000))
    if keys:
        client.delete(*keys)
    return len(keys)
