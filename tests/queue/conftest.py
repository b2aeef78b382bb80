"""Queue test fixtures: ONE suite for every backend.

Each test that asks for ``backend`` runs three times: on the real Redis at 127.0.0.1 (``redis``;
its archive database, where a test needs one, is SQLite), and on the embedded DatabaseQueue over
SQLite and over MariaDB (the shared ``db_url`` fixture gives both). Redis tests use
a unique key prefix and delete their keys afterwards: the shared Redis is never flushed.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from queue_kit import REDIS_URL, delete_prefix, redis_available


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", ["redis", "database"])


def pytest_collection_modifyitems(config, items):
    """``db_url`` (the shared fixture) gives sqlite and mariadb; Redis runs once, with SQLite as its
    archive database, so the combinations are redis, database-sqlite and database-mariadb."""
    here = Path(__file__).parent
    keep, drop = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if (Path(str(item.path)).is_relative_to(here) and params.get("backend") == "redis"
                and params.get("db_url") == "mariadb"):
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture
def redis_prefix(backend):
    """A key prefix of this test's own (Redis only); its keys are deleted afterwards."""
    if backend != "redis":
        yield None
        return
    if not redis_available():
        if os.environ.get("CI"):
            pytest.fail("Redis on 127.0.0.1:6379 is not reachable (CI must start it)")
        pytest.skip("Redis on 127.0.0.1:6379 is not reachable")
    prefix = f"wa-test-{uuid.uuid4().hex[:12]}:"
    yield prefix
    delete_prefix(prefix)


@pytest.fixture
def queue_url(backend, redis_prefix) -> str:
    """The settings' ``queue_url`` for this backend ("" = the embedded queue)."""
    return f"{REDIS_URL}?prefix={redis_prefix}" if backend == "redis" else ""


@pytest.fixture
def db(db_url):
    from app.core.store.db import open_database

    database = open_database(db_url)
    yield database
    database.close()


@pytest.fixture
def make_queue(queue_url, db):
    """Makes queues on this test's backend (all sharing its store), closed afterwards."""
    from app.core.queue import Backoff, open_queue

    made = []

    def make(backoff=None, poll_interval=0.05):
        q = open_queue(queue_url, db, backoff=backoff or Backoff(base=0.2, cap=1.0, jitter=0.0),
                       poll_interval=poll_interval)
        made.append(q)
        return q

    yield make
    for q in made:
        q.close()


@pytest.fixture
def queue(make_queue):
    return make_queue()
