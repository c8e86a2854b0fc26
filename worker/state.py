"""Where the worker keeps what it must remember: Redis for the daemon, memory for dry runs.

Small stores, each a Protocol with a Redis and an in-memory
implementation: which entries were already seen, each feed's poll state,
the log of coverage made by alerts (so every worker, and every restart, knows
the figures already reported) and the stories the pipeline failed on.
``newsmon replay`` and ``newsmon check`` use the memory versions, so they
never touch the daemon's state.

Redis keys all start with the namespace (``newsmon`` by default)::

    {ns}:seen:{bucket}         hash of entry keys seen in that 30-day bucket (expiring)
    {ns}:feed:{feed id}        feed state (msgspec JSON)
    {ns}:coverage              list of coverage items made by alerts (JSON)
    {ns}:failed-stories        the latest stories the pipeline failed on (JSON)
    {ns}:lock:poll:{feed id}   a feed's poll lock (SET NX PX)
    {ns}:figure:{rule}:{figure} the alert that reported a new figure first (expiring)
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from typing import Any, ParamSpec, Protocol, TypeVar

import msgspec
import redis

from worker.coverage import CoverageItem
from worker.errors import StateUnavailableError
from worker.records import Record

#: Seen markers live in one hash per time bucket (fields: an entry key's 16 raw
#: bytes), about 80 bytes an entry against 180 for a key each (bench/redis_memory.py).
#: An entry is seen while any of the last SEEN_BUCKETS buckets holds it; as every
#: poll re-marks what is still in the feed, an entry is forgotten 60 to 90 days
#: after it was last in its feed, when its buckets expire.
SEEN_BUCKET_SECONDS = 30 * 24 * 3600
SEEN_BUCKETS = 3

P = ParamSpec("P")
T = TypeVar("T")


class FeedState(Record, frozen=True):
    """What the worker remembers of one feed between polls."""

    feed_id: str
    url: str  # where to poll now (updated by a permanent redirect)
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    last_poll: datetime | None = None
    last_status: str | None = None  # "200", "304", "error: ...", ...
    next_poll: datetime | None = None
    entries_seen: int = 0
    consecutive_errors: int = 0
    disabled: str | None = None  # why the feed is no longer polled


class SeenStore(Protocol):
    def unseen(self, keys: Sequence[str]) -> list[str]: ...
    def mark(self, keys: Sequence[str]) -> None: ...


class FeedStateStore(Protocol):
    def get_feed(self, feed_id: str) -> FeedState | None: ...
    def put_feed(self, state: FeedState) -> None: ...


class CoverageLog(Protocol):
    def append_coverage(self, item: CoverageItem) -> None: ...
    def coverage_since(self, position: int) -> list[CoverageItem]: ...


class FailedStory(Record, frozen=True):
    """A story the pipeline could not judge (a bug it triggers), kept for the operator."""

    story_id: str
    feed_url: str
    title: str
    link: str
    error: str
    failed_at: datetime


class FailureLog(Protocol):
    def record_failure(self, failure: FailedStory) -> None: ...
    def failures(self, limit: int = 20) -> list[FailedStory]: ...


class MonitorStore(CoverageLog, FailureLog, Protocol):
    """What a ``Monitor`` shares with every other worker."""


class MemoryState:
    """All three stores in memory: a clean slate for replay and check."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.feeds: dict[str, FeedState] = {}
        self.coverage: list[CoverageItem] = []
        self.failed: list[FailedStory] = []

    def unseen(self, keys: Sequence[str]) -> list[str]:
        return [key for key in keys if key not in self.seen]

    def mark(self, keys: Sequence[str]) -> None:
        self.seen.update(keys)

    def get_feed(self, feed_id: str) -> FeedState | None:
        return self.feeds.get(feed_id)

    def put_feed(self, state: FeedState) -> None:
        self.feeds[state.feed_id] = state

    def append_coverage(self, item: CoverageItem) -> None:
        self.coverage.append(item)

    def coverage_since(self, position: int) -> list[CoverageItem]:
        return self.coverage[position:]

    def record_failure(self, failure: FailedStory) -> None:
        self.failed.append(failure)

    def failures(self, limit: int = 20) -> list[FailedStory]:
        return self.failed[::-1][:limit]


#: Redis failures that are the server's state, not our bug: unreachable, loading,
#: out of memory (noeviction is full), a read-only replica, no master.
_UNAVAILABLE = (redis.ConnectionError, redis.TimeoutError, redis.exceptions.OutOfMemoryError,
                redis.exceptions.ReadOnlyError, redis.exceptions.MasterDownError)


@contextmanager
def redis_errors() -> Iterator[None]:
    """Turn Redis being unreachable or refusing writes into StateUnavailableError.

    Other Redis errors (a wrong command, a script error) are bugs and raise as they are.
    """
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise StateUnavailableError(f"Redis is unreachable: {exc}") from exc
    except _UNAVAILABLE as exc:
        raise StateUnavailableError(f"Redis refused the write: {exc}") from exc


def _converting(method: Callable[P, T]) -> Callable[P, T]:
    """Convert Redis' unavailability at this boundary (see ``redis_errors``)."""

    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        with redis_errors():
            return method(*args, **kwargs)

    wrapper.__name__ = method.__name__
    wrapper.__doc__ = method.__doc__
    return wrapper


_feed_decoder = msgspec.json.Decoder(FeedState)
_coverage_decoder = msgspec.json.Decoder(CoverageItem)
_failure_decoder = msgspec.json.Decoder(FailedStory)

#: A figure's claim outlives any race between workers by far; after it, the coverage
#: (which every worker reads) knows the figure.
FIGURE_CLAIM_SECONDS = 7 * 24 * 3600

#: The failed-story list keeps the most recent this many.
FAILURES_KEPT = 1000


class RedisState:
    """All three stores in Redis, under one namespace."""

    def __init__(self, client: redis.Redis, namespace: str = "newsmon",
                 clock: Callable[[], float] = time.time) -> None:
        self.redis = client
        self.ns = namespace
        self._clock = clock

    @classmethod
    def from_url(cls, url: str, namespace: str = "newsmon") -> RedisState:
        client = redis.Redis.from_url(
            url, socket_connect_timeout=5, socket_timeout=10, health_check_interval=30
        )
        return cls(client, namespace)

    def key(self, *parts: str) -> str:
        return ":".join((self.ns, *parts))

    @_converting
    def ping(self) -> bool:
        return bool(self.redis.ping())

    def _seen_buckets(self) -> list[str]:
        """The current bucket first, then the older ones still kept."""
        current = int(self._clock() // SEEN_BUCKET_SECONDS)
        return [self.key("seen", str(current - age)) for age in range(SEEN_BUCKETS)]

    @_converting
    def unseen(self, keys: Sequence[str]) -> list[str]:
        """The keys not seen before, in one round trip for the whole feed."""
        if not keys:
            return []
        fields = [bytes.fromhex(key) for key in keys]  # entry keys are hex digests
        pipe = self.redis.pipeline(transaction=False)
        for bucket in self._seen_buckets():
            pipe.hmget(bucket, fields)
        found = [any(markers) for markers in zip(*pipe.execute(), strict=True)]
        return [key for key, seen in zip(keys, found, strict=True) if not seen]

    @_converting
    def mark(self, keys: Sequence[str]) -> None:
        if not keys:
            return
        current = self._seen_buckets()[0]
        pipe = self.redis.pipeline(transaction=False)
        pipe.hset(current, mapping={bytes.fromhex(key): b"1" for key in keys})
        pipe.expire(current, SEEN_BUCKETS * SEEN_BUCKET_SECONDS)
        pipe.execute()

    @_converting
    def get_feed(self, feed_id: str) -> FeedState | None:
        raw = self.redis.get(self.key("feed", feed_id))
        return _feed_decoder.decode(raw) if raw else None

    @_converting
    def put_feed(self, state: FeedState) -> None:
        self.redis.set(self.key("feed", state.feed_id), msgspec.json.encode(state))

    @_converting
    def append_coverage(self, item: CoverageItem) -> None:
        self.redis.rpush(self.key("coverage"), msgspec.json.encode(item))

    @_converting
    def coverage_since(self, position: int) -> list[CoverageItem]:
        raw: list[Any] = self.redis.lrange(self.key("coverage"), position, -1)
        return [_coverage_decoder.decode(item) for item in raw]

    @_converting
    def record_failure(self, failure: FailedStory) -> None:
        pipe = self.redis.pipeline()
        pipe.lpush(self.key("failed-stories"), msgspec.json.encode(failure))
        pipe.ltrim(self.key("failed-stories"), 0, FAILURES_KEPT - 1)
        pipe.execute()

    @_converting
    def failures(self, limit: int = 20) -> list[FailedStory]:
        raw: list[Any] = self.redis.lrange(self.key("failed-stories"), 0, limit - 1)
        return [_failure_decoder.decode(item) for item in raw]

    _CLAIM_FIGURES = """
    for i, key in ipairs(KEYS) do
        local holder = redis.call('get', key)
        if holder and holder ~= ARGV[1] then return 0 end
    end
    for i, key in ipairs(KEYS) do redis.call('set', key, ARGV[1], 'EX', ARGV[2]) end
    return 1
    """

    @_converting
    def claim_figures(self, rule_id: str, alert_id: str, figures: Sequence[str]) -> bool:
        """Whether ``alert_id`` may be the one to report ``figures`` under ``rule_id``.

        Two workers judging stories with the same new figure at the same moment
        (before either's alert reached the shared coverage) would both alert it;
        the first to claim the figures wins. The same alert may claim again.
        """
        if not figures:
            return True
        keys = [self.key("figure", rule_id, figure) for figure in figures]
        return bool(self.redis.eval(self._CLAIM_FIGURES, len(keys), *keys, alert_id,
                                    FIGURE_CLAIM_SECONDS))

    @contextmanager
    def poll_lock(self, feed_id: str, ttl: float) -> Iterator[bool]:
        """Hold the feed's poll lock, if nobody else does; yields whether we got it."""
        key = self.key("lock", "poll", feed_id)
        token = uuid.uuid4().hex
        with redis_errors():
            acquired = bool(self.redis.set(key, token, nx=True, px=int(ttl * 1000)))
        try:
            yield acquired
        finally:
            if acquired:
                self._release(key, token)

    _RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end"

    def _release(self, key: str, token: str) -> None:
        # Only the holder releases: a lock that expired and was taken by another
        # poll must not be deleted by the slow first one.
        with suppress(redis.ConnectionError, redis.TimeoutError):  # it expires on its own
            self.redis.eval(self._RELEASE, 1, key, token)
