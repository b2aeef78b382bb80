"""The delay queue on Redis (a team: several workstations and servers share one Redis).

Keys, all under a configurable prefix ``P`` (default ``wecom-auditor:``):

=====================  ========================================================================
``P job:<id>``         hash: the job (topic, payload, execute_at, ttr_ms, attempts, max_attempts,
                       state, last_error, lease_until, token, owner, its bucket, times)
``P bucket:<n>``       sorted sets by execute_at (ms): the seed's time buckets, a job's bucket is
                       crc32(id) mod ``buckets``
``P ready:<topic>``    lists: due jobs in the order they became due
``P running``          sorted set by lease deadline (ms): leased jobs
``P dead``             sorted set by the time they died
``P topics``           set of every topic seen (to list the ready queues)
``P notify``           short list pushed when a job becomes due, so idle consumers wake at once
=====================  ========================================================================

Every change of state is **one Lua script** (registered with ``register_script``; Redis runs a
script atomically): enqueue; reserve (which first runs the timer step, moving due jobs bucket →
ready and expired leases running → ready/dead, then pops a ready job and leases it); ack; fail /
bury / release / repeat; extend; reschedule; delete. A crash of any client between two calls
therefore never loses or duplicates a job. Times are taken from the Redis server's clock
(``TIME``), so consumers on machines whose clocks disagree still agree on leases.

The scripts touch keys they compute from the prefix, which a Redis Cluster does not allow: use a
single Redis server (with a replica and persistence as you see fit). Should Redis lose its data,
:func:`app.core.jobs.requeue_pending` rebuilds the jobs from the archive database.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import secrets
import time
import uuid
import zlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

import redis
import redis.exceptions

from app.core.config.queue_settings import DEFAULT_PREFIX, PREFIX_RE, split_redis_url

from .base import (
    DEAD,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_TTR,
    READY,
    RUNNING,
    SCHEDULED,
    STATES,
    Backoff,
    Job,
    JobQueue,
    JobSpec,
    QueueError,
    QueueUnavailable,
    check_enqueue_args,
    check_state,
    default_owner,
    encode_payload,
    short_error,
    validate_job_id,
)

__all__ = ["DEFAULT_PREFIX", "RedisQueue", "split_redis_url"]

PROMOTE_LIMIT = 256  # due jobs moved per timer step (the rest move on the next one)

# Shared by every script: KEYS[1] running, KEYS[2] dead, KEYS[3] topics, KEYS[4] notify,
# KEYS[5..] buckets (or the one bucket of the job); ARGV[1] the prefix.
_PRELUDE = """
local P = ARGV[1]
local RUNNING, DEAD, TOPICS, NOTIFY = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function jkey(id) return P .. 'job:' .. id end
local function rkey(topic) return P .. 'ready:' .. topic end
local function notify(topic)
  redis.call('LPUSH', NOTIFY, topic)
  redis.call('LTRIM', NOTIFY, 0, 63)
end
local function promote(now, limit)
  local due = {}
  for i = 5, #KEYS do
    local items = redis.call('ZRANGEBYSCORE', KEYS[i], '-inf', now, 'WITHSCORES', 'LIMIT', 0, limit)
    for j = 1, #items, 2 do
      due[#due + 1] = {items[j], tonumber(items[j + 1]), KEYS[i]}
    end
  end
  table.sort(due, function(a, b)
    if a[2] ~= b[2] then return a[2] < b[2] end
    return a[1] < b[1]
  end)
  local moved = 0
  for j = 1, math.min(#due, limit) do
    local id, bucket = due[j][1], due[j][3]
    redis.call('ZREM', bucket, id)
    local topic = redis.call('HGET', jkey(id), 'topic')
    if topic then
      redis.call('HSET', jkey(id), 'state', 'ready')
      redis.call('RPUSH', rkey(topic), id)
      moved = moved + 1
    end
  end
  return moved
end
local function reap(now, limit)
  local expired = redis.call('ZRANGEBYSCORE', RUNNING, '-inf', now, 'LIMIT', 0, limit)
  for _, id in ipairs(expired) do
    redis.call('ZREM', RUNNING, id)
    local k = jkey(id)
    local f = redis.call('HMGET', k, 'topic', 'attempts', 'max_attempts', 'owner')
    if f[1] then
      local msg = 'not acknowledged within its TTR (the consumer ' .. (f[4] or '?') ..
                  ' stopped, hung or lost its connection)'
      redis.call('HDEL', k, 'lease_until', 'token', 'owner')
      if tonumber(f[2]) >= tonumber(f[3]) then
        redis.call('HSET', k, 'state', 'dead', 'last_error', msg, 'updated_at', now)
        redis.call('ZADD', DEAD, now, id)
      else
        redis.call('HSET', k, 'state', 'ready', 'last_error', msg, 'updated_at', now)
        redis.call('LPUSH', rkey(f[1]), id)
      end
    end
  end
  return #expired
end
"""

_ENQUEUE = _PRELUDE + """
local id = ARGV[2]
local k = jkey(id)
if redis.call('EXISTS', k) == 1 then return 0 end
local now = now_ms()
local at
if ARGV[5] ~= '' then at = tonumber(ARGV[5]) else at = now + tonumber(ARGV[6]) end
redis.call('HSET', k, 'id', id, 'topic', ARGV[3], 'payload', ARGV[4], 'execute_at', at, 'ttr_ms', ARGV[7],
           'attempts', 0, 'max_attempts', ARGV[8], 'state', 'scheduled', 'created_at', now, 'updated_at', now,
           'bucket', KEYS[5])
redis.call('ZADD', KEYS[5], at, id)
redis.call('SADD', TOPICS, ARGV[3])
if at <= now then notify(ARGV[3]) end
return 1
"""

# ARGV: prefix, token, owner, promote limit, topics...
_RESERVE = _PRELUDE + """
local now = now_ms()
local limit = tonumber(ARGV[4])
promote(now, limit)
reap(now, limit)
for i = 5, #ARGV do
  while true do
    local id = redis.call('LPOP', rkey(ARGV[i]))
    if not id then break end
    local k = jkey(id)
    if redis.call('EXISTS', k) == 1 then
      redis.call('HINCRBY', k, 'attempts', 1)
      local lease = now + tonumber(redis.call('HGET', k, 'ttr_ms'))
      redis.call('HSET', k, 'state', 'running', 'lease_until', lease, 'token', ARGV[2], 'owner', ARGV[3],
                 'updated_at', now)
      redis.call('ZADD', RUNNING, lease, id)
      return {1, redis.call('HGETALL', k)}
    end
  end
end
local nxt = -1
local function consider(key)
  local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  if first[2] then
    local at = tonumber(first[2])
    if nxt < 0 or at < nxt then nxt = at end
  end
end
for i = 5, #KEYS do consider(KEYS[i]) end
consider(RUNNING)
if nxt >= 0 then return {0, math.max(nxt - now, 0)} end
return {0, -1}
"""

# ARGV: prefix, id, token
_ACK = _PRELUDE + """
local k = jkey(ARGV[2])
local f = redis.call('HMGET', k, 'state', 'token')
if f[1] ~= 'running' or f[2] ~= ARGV[3] then return 0 end
redis.call('DEL', k)
redis.call('ZREM', RUNNING, ARGV[2])
return 1
"""

# ARGV: prefix, id, token, mode (fail/bury/release/repeat), error, delay ms, execute_at ms
_FINISH = _PRELUDE + """
local id = ARGV[2]
local k = jkey(id)
local f = redis.call('HMGET', k, 'state', 'token', 'attempts', 'max_attempts', 'bucket', 'topic')
if f[1] ~= 'running' or f[2] ~= ARGV[3] then return false end
local now = now_ms()
local mode = ARGV[4]
local attempts, max = tonumber(f[3]), tonumber(f[4])
redis.call('ZREM', RUNNING, id)
redis.call('HDEL', k, 'lease_until', 'token', 'owner')
if mode == 'bury' or (mode == 'fail' and attempts >= max) then
  redis.call('HSET', k, 'state', 'dead', 'last_error', ARGV[5], 'updated_at', now)
  redis.call('ZADD', DEAD, now, id)
  return 'dead'
end
local at
if mode == 'repeat' then
  at = tonumber(ARGV[7])
  if ARGV[5] == '' then
    redis.call('HSET', k, 'attempts', 0)
    redis.call('HDEL', k, 'last_error')
  else
    redis.call('HSET', k, 'last_error', ARGV[5])
  end
elseif mode == 'release' then
  at = now + tonumber(ARGV[6])
  redis.call('HSET', k, 'attempts', math.max(attempts - 1, 0))
else
  at = now + tonumber(ARGV[6])
  redis.call('HSET', k, 'last_error', ARGV[5])
end
redis.call('HSET', k, 'state', 'scheduled', 'execute_at', at, 'updated_at', now)
redis.call('ZADD', f[5], at, id)
if at <= now then notify(f[6]) end
return 'scheduled'
"""

# ARGV: prefix, id, token, ttr ms ('' = the job's)
_EXTEND = _PRELUDE + """
local id = ARGV[2]
local k = jkey(id)
local f = redis.call('HMGET', k, 'state', 'token', 'ttr_ms')
if f[1] ~= 'running' or f[2] ~= ARGV[3] then return -1 end
local ttr = tonumber(f[3])
if ARGV[4] ~= '' then ttr = tonumber(ARGV[4]) end
local lease = now_ms() + ttr
redis.call('HSET', k, 'lease_until', lease)
redis.call('ZADD', RUNNING, lease, id)
return lease
"""

# ARGV: prefix, id, execute_at ms ('' = now)
_RESCHEDULE = _PRELUDE + """
local id = ARGV[2]
local k = jkey(id)
local f = redis.call('HMGET', k, 'state', 'topic', 'bucket')
if not f[1] or f[1] == 'running' then return 0 end
local now = now_ms()
local at = now
if ARGV[3] ~= '' then at = tonumber(ARGV[3]) end
if f[1] == 'dead' then
  redis.call('ZREM', DEAD, id)
  redis.call('HSET', k, 'attempts', 0)
elseif f[1] == 'ready' then
  redis.call('LREM', rkey(f[2]), 0, id)
end
redis.call('HSET', k, 'state', 'scheduled', 'execute_at', at, 'updated_at', now)
redis.call('ZADD', f[3], at, id)
if at <= now then notify(f[2]) end
return 1
"""

# ARGV: prefix, id
_DELETE = _PRELUDE + """
local id = ARGV[2]
local k = jkey(id)
local f = redis.call('HMGET', k, 'state', 'topic', 'bucket')
if not f[1] then return 0 end
if f[3] then redis.call('ZREM', f[3], id) end
if f[2] then redis.call('LREM', rkey(f[2]), 0, id) end
redis.call('ZREM', RUNNING, id)
redis.call('ZREM', DEAD, id)
redis.call('DEL', k)
return 1
"""

# ARGV: prefix, promote limit
_TICK = _PRELUDE + """
local now = now_ms()
local limit = tonumber(ARGV[2])
return promote(now, limit) + reap(now, limit)
"""


def _strs(reply: Any) -> list[str]:
    """A list or set reply of the queue's client, which decodes responses (``decode_responses``): str."""
    return list(reply)


def _scored(reply: Any) -> list[tuple[str, float]]:
    """A ``withscores`` reply of the queue's client: (member, score) pairs."""
    return [(member, score) for member, score in reply]


class RedisQueue(JobQueue):
    """The delay queue on one Redis server. Thread-safe (redis-py pools connections).

    ``url``: ``redis://[user@]host:port/db`` (``rediss://`` for TLS, ``unix:///path?db=N``), with an
    optional ``prefix=`` query parameter; the password is passed separately (it lives in the
    keyring, never in the settings file). ``buckets``: how many time buckets (the seed's sharding
    of the timer). ``poll_interval``: the longest a waiting consumer sleeps before looking again.
    """

    def __init__(self, url: str, *, password: str | None = None, prefix: str | None = None,
                 backoff: Backoff | None = None, buckets: int = 4, poll_interval: float = 1.0,
                 client: redis.Redis | None = None):
        redis_url, url_prefix = split_redis_url(url)
        prefix = prefix or url_prefix
        if not PREFIX_RE.fullmatch(prefix):
            raise ValueError(f"invalid queue key prefix {prefix!r}")
        self.prefix = prefix if prefix.endswith(":") else prefix + ":"
        self.backoff = backoff or Backoff()
        if not 1 <= buckets <= 64:
            raise ValueError("buckets must be within 1..64")
        self.poll_interval = poll_interval
        parts = urlsplit(redis_url)
        self._where = (f"{parts.hostname or 'localhost'}:{parts.port or 6379}{parts.path or '/0'}"
                       if parts.scheme != "unix" else parts.path)
        if client is None:
            kwargs: dict[str, Any] = {"decode_responses": True, "socket_connect_timeout": 5,
                                      "health_check_interval": 30}
            if password:
                kwargs["password"] = password
            try:
                client = redis.Redis.from_url(redis_url, **kwargs)
            except ValueError as exc:
                raise QueueError(f"invalid Redis URL for the job queue: {exc}") from None
        self.r = client
        p = self.prefix
        self._running, self._dead, self._topics, self._notify = p + "running", p + "dead", p + "topics", p + "notify"
        self._buckets = [f"{p}bucket:{i}" for i in range(buckets)]
        self._base_keys = [self._running, self._dead, self._topics, self._notify]
        self._s_enqueue = client.register_script(_ENQUEUE)
        self._s_reserve = client.register_script(_RESERVE)
        self._s_ack = client.register_script(_ACK)
        self._s_finish = client.register_script(_FINISH)
        self._s_extend = client.register_script(_EXTEND)
        self._s_reschedule = client.register_script(_RESCHEDULE)
        self._s_delete = client.register_script(_DELETE)
        self._s_tick = client.register_script(_TICK)

    # ------------------------------------------------------------------ helpers
    @property
    def description(self) -> str:
        return f"Redis at {self._where} (key prefix {self.prefix})"

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            raise QueueUnavailable(f"cannot reach the job queue's Redis at {self._where}: {exc}") from None
        except redis.exceptions.AuthenticationError as exc:
            raise QueueError(f"Redis at {self._where} refused the password: {exc}; set it in the keyring or "
                             f"WECOM_AUDITOR_REDIS_PASSWORD") from None
        except redis.exceptions.ResponseError as exc:
            raise QueueError(f"the job queue's Redis at {self._where} answered an error: {exc}") from None
        except redis.exceptions.RedisError as exc:
            raise QueueError(f"the job queue's Redis at {self._where} failed: {exc}") from None

    def _bucket(self, job_id: str) -> str:
        return self._buckets[zlib.crc32(job_id.encode("utf-8")) % len(self._buckets)]

    def _job_key(self, job_id: str) -> str:
        return f"{self.prefix}job:{job_id}"

    @staticmethod
    def _to_job(fields: dict[str, str] | list[str]) -> Job:
        if isinstance(fields, list):
            fields = dict(zip(fields[::2], fields[1::2], strict=True))
        return Job(id=fields["id"], topic=fields["topic"], payload=json.loads(fields.get("payload") or "{}"),
                   execute_at=int(fields["execute_at"]), ttr=int(fields["ttr_ms"]) / 1000,
                   attempts=int(fields.get("attempts", 0)), max_attempts=int(fields["max_attempts"]),
                   state=fields.get("state", SCHEDULED), last_error=fields.get("last_error"),
                   created_at=int(fields.get("created_at", 0)), updated_at=int(fields.get("updated_at", 0)),
                   lease_until=int(fields["lease_until"]) if fields.get("lease_until") else None,
                   token=fields.get("token"), owner=fields.get("owner"))

    # ------------------------------------------------------------------ producers
    def _enqueue_args(self, s: JobSpec) -> tuple[list[str], list[Any]]:
        check_enqueue_args(s.topic, s.ttr, s.max_attempts, s.job_id, s.delay, s.execute_at)
        job_id = s.job_id or uuid.uuid4().hex
        payload = encode_payload(s.payload)
        keys = [*self._base_keys, self._bucket(job_id)]
        args = [self.prefix, job_id, s.topic, payload, "" if s.execute_at is None else s.execute_at,
                int(round(s.delay * 1000)), max(1, int(round(s.ttr * 1000))), s.max_attempts]
        return keys, args

    def enqueue(self, topic: str, payload: Any = None, *, delay: float = 0.0, execute_at: int | None = None,
                ttr: float = DEFAULT_TTR, max_attempts: int = DEFAULT_MAX_ATTEMPTS,
                job_id: str | None = None) -> str | None:
        keys, args = self._enqueue_args(JobSpec(topic, payload, delay, execute_at, ttr, max_attempts, job_id))
        with self._errors():
            created = self._s_enqueue(keys=keys, args=args)
        return args[1] if created else None

    def enqueue_many(self, specs: Iterable[JobSpec]) -> int:
        created = 0
        batch: list[tuple[list[str], list[Any]]] = []

        def flush() -> int:
            if not batch:
                return 0
            with self._errors():
                pipe = self.r.pipeline(transaction=False)
                for keys, args in batch:
                    self._s_enqueue(keys=keys, args=args, client=pipe)
                results = pipe.execute()
            batch.clear()
            return sum(1 for r in results if r)

        for spec in specs:
            batch.append(self._enqueue_args(spec))
            if len(batch) >= 500:
                created += flush()
        return created + flush()

    # ------------------------------------------------------------------ consumers
    def reserve(self, topics: Sequence[str], timeout: float = 0.0, *, owner: str | None = None) -> Job | None:
        topics = list(topics)
        if not topics:
            raise ValueError("reserve needs at least one topic")
        deadline = time.monotonic() + max(timeout, 0.0)
        owner = owner or default_owner()
        while True:
            token = secrets.token_hex(8)
            with self._errors():
                found, value = self._s_reserve(keys=[*self._base_keys, *self._buckets],
                                               args=[self.prefix, token, owner, PROMOTE_LIMIT, *topics])
            if found:
                return self._to_job(value)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            wait = min(remaining, self.poll_interval)
            if value is not None and int(value) >= 0:
                wait = min(wait, int(value) / 1000)
            if wait >= 0.01:
                with self._errors():
                    # Woken early when a job becomes due (enqueue/fail/reschedule push a note).
                    self.r.blpop([self._notify], timeout=wait)

    def ack(self, job: Job) -> bool:
        with self._errors():
            return bool(self._s_ack(keys=self._base_keys, args=[self.prefix, job.id, job.token or ""]))

    def _finish(self, job: Job, mode: str, error: str | None = None, delay: float = 0.0,
                execute_at: int = 0) -> str | None:
        with self._errors():
            state = self._s_finish(keys=self._base_keys,
                                   args=[self.prefix, job.id, job.token or "", mode, short_error(error) or "",
                                         max(0, int(round(delay * 1000))), execute_at])
        return state or None

    def fail(self, job: Job, error: str, *, delay: float | None = None) -> str | None:
        if delay is None:
            delay = self.backoff.delay(job.attempts)
        return self._finish(job, "fail", error or "failed", delay)

    def bury(self, job: Job, error: str) -> bool:
        return self._finish(job, "bury", error or "buried") is not None

    def release(self, job: Job, *, delay: float = 0.0) -> bool:
        return self._finish(job, "release", None, delay) is not None

    def repeat(self, job: Job, execute_at: int, *, error: str | None = None) -> bool:
        return self._finish(job, "repeat", error, 0.0, int(execute_at)) is not None

    def extend(self, job: Job, ttr: float | None = None) -> int | None:
        with self._errors():
            lease = self._s_extend(keys=self._base_keys, args=[
                self.prefix, job.id, job.token or "", "" if ttr is None else max(1, int(round(ttr * 1000)))])
        return int(lease) if lease is not None and int(lease) >= 0 else None

    def tick(self) -> int:
        with self._errors():
            return int(self._s_tick(keys=[*self._base_keys, *self._buckets], args=[self.prefix, PROMOTE_LIMIT]))

    # ------------------------------------------------------------------ inspection and administration
    def now_ms(self) -> int:
        with self._errors():
            seconds, micros = self.r.time()
        return int(seconds) * 1000 + int(micros) // 1000

    def get(self, job_id: str) -> Job | None:
        validate_job_id(job_id)
        with self._errors():
            pipe = self.r.pipeline(transaction=False)
            pipe.hgetall(self._job_key(job_id))
            pipe.time()
            fields, (seconds, micros) = pipe.execute()
        if not fields:
            return None
        job = self._to_job(fields)
        if job.state == SCHEDULED and job.execute_at <= int(seconds) * 1000 + int(micros) // 1000:
            return dataclasses.replace(job, state=READY)  # due, not yet moved by the timer step
        return job

    def _ids(self, state: str) -> list[str]:
        """Every id in ``state``, in the listing order of :meth:`list_jobs`."""
        with self._errors():
            if state == SCHEDULED:
                merged: list[tuple[float, str]] = []
                for b in self._buckets:
                    merged.extend((score, member) for member, score in _scored(self.r.zrange(b, 0, -1, withscores=True)))
                return [m for _, m in sorted(merged)]
            if state == READY:
                ids: list[str] = []
                for topic in sorted(_strs(self.r.smembers(self._topics))):
                    ids.extend(_strs(self.r.lrange(f"{self.prefix}ready:{topic}", 0, -1)))
                return ids
            if state == RUNNING:
                return _strs(self.r.zrange(self._running, 0, -1))
            return _strs(self.r.zrevrange(self._dead, 0, -1))

    def _load(self, ids: list[str]) -> list[Job]:
        if not ids:
            return []
        with self._errors():
            pipe = self.r.pipeline(transaction=False)
            for job_id in ids:
                pipe.hgetall(self._job_key(job_id))
            rows = pipe.execute()
        return [self._to_job(f) for f in rows if f]

    def list_jobs(self, state: str | None = None, *, topic: str | None = None, limit: int = 100,
                  offset: int = 0) -> list[Job]:
        check_state(state)
        if limit <= 0:
            return []
        self._catch_up()  # due jobs show as ready, expired leases as ready (or dead), as on the database queue
        out: list[Job] = []
        if topic is None:  # pages straight from the sorted sets and lists
            counts = self._counts()
            skip = offset
            for st in ([state] if state else list(STATES)):
                if skip >= counts[st]:
                    skip -= counts[st]
                    continue
                out.extend(self._page(st, skip, limit - len(out)))
                skip = 0
                if len(out) >= limit:
                    break
            return out
        # One topic: filter the jobs of each state (an administrator's view; scans the state's ids).
        skipped = 0
        for st in ([state] if state else list(STATES)):
            if st == READY:
                with self._errors():
                    ids = _strs(self.r.lrange(f"{self.prefix}ready:{topic}", 0, -1))
            else:
                ids = self._ids(st)
            for i in range(0, len(ids), 500):
                for job in self._load(ids[i:i + 500]):
                    if job.topic != topic:
                        continue
                    if skipped < offset:
                        skipped += 1
                        continue
                    out.append(job)
                    if len(out) >= limit:
                        return out
        return out

    def _page(self, state: str, offset: int, limit: int) -> list[Job]:
        with self._errors():
            ids: list[str]
            if state == RUNNING:
                ids = _strs(self.r.zrange(self._running, offset, offset + limit - 1))
            elif state == DEAD:
                ids = _strs(self.r.zrevrange(self._dead, offset, offset + limit - 1))
            elif state == READY:  # the topics' ready lists one after the other
                ids = []
                for t in sorted(_strs(self.r.smembers(self._topics))):
                    key = f"{self.prefix}ready:{t}"
                    n = self.r.llen(key)
                    if offset >= n:
                        offset -= n
                        continue
                    ids.extend(_strs(self.r.lrange(key, offset, offset + limit - len(ids) - 1)))
                    offset = 0
                    if len(ids) >= limit:
                        break
            else:  # scheduled: merge the first offset+limit of every bucket
                merged: list[tuple[float, str]] = []
                for b in self._buckets:
                    merged.extend((s, m) for m, s in _scored(self.r.zrange(b, 0, offset + limit - 1, withscores=True)))
                ids = [m for _, m in sorted(merged)[offset:offset + limit]]
        return self._load(ids)

    def counts(self, *, topic: str | None = None) -> dict[str, int]:
        if topic is not None:
            return {st: len(self.list_jobs(st, topic=topic, limit=10**9)) for st in STATES}
        self._catch_up()
        return self._counts()

    def _catch_up(self) -> None:
        """The timer step until nothing more is due (it moves at most PROMOTE_LIMIT jobs a call)."""
        for _ in range(10_000):
            if self.tick() < PROMOTE_LIMIT:
                return

    def _counts(self) -> dict[str, int]:
        with self._errors():
            pipe = self.r.pipeline(transaction=False)
            for b in self._buckets:
                pipe.zcard(b)
            pipe.zcard(self._running)
            pipe.zcard(self._dead)
            pipe.smembers(self._topics)
            res = pipe.execute()
            topics = sorted(res[-1])
            ready = 0
            if topics:
                pipe = self.r.pipeline(transaction=False)
                for t in topics:
                    pipe.llen(f"{self.prefix}ready:{t}")
                ready = sum(pipe.execute())
        n = len(self._buckets)
        return {SCHEDULED: sum(res[:n]), READY: ready, RUNNING: res[n], DEAD: res[n + 1]}

    def reschedule(self, job_id: str, execute_at: int | None = None) -> bool:
        validate_job_id(job_id)
        with self._errors():
            return bool(self._s_reschedule(keys=self._base_keys,
                                           args=[self.prefix, job_id, "" if execute_at is None else execute_at]))

    def delete(self, job_id: str) -> bool:
        validate_job_id(job_id)
        with self._errors():
            return bool(self._s_delete(keys=self._base_keys, args=[self.prefix, job_id]))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.r.close()
