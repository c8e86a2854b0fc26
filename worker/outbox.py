"""Exactly-once delivery bookkeeping in Redis: what was sent where, what is still owed.

An alert is put once with the channels it is owed to. Delivering it claims
each (alert, channel) in Redis (``SET NX PX claim_ttl``) before sending and
marks it sent afterwards, so:

- a crash before a send completes loses nothing: the claim expires after
  ``claim_ttl`` (well inside the broker's visibility timeout), ``pending()``
  lists the alert again and the next delivery sends it;
- a retry after a recorded send never sends again: the claim is refused for
  anything not pending.

The one window for a duplicate: a crash (or a lost Redis connection) after
the server accepted the message (Slack's 200, SMTP's 250) and before the
send was recorded. The same happens if one send outlasts ``claim_ttl`` and
another worker claims the expired key, so ``claim_ttl`` must exceed the
channels' timeouts.

Order: alerts are numbered as they are put; each channel has a queue sorted
by that number, and delivering an alert on a channel first sends whatever is
queued before it there. If an earlier alert cannot go (a transient failure,
or another worker is sending it) the later one waits, as a
TransientDeliveryError, rather than overtake it.

Keys live under ``{namespace}:outbox:``: ``alert:<id>`` (the alert, msgspec
JSON), ``seq``, ``order`` (every alert by put number), ``status:<id>`` (hash:
channel -> pending/sent/dead), ``queue:<channel>`` (pending alerts by put
number), ``channels`` (every channel name ever used), ``claim:<id>:<channel>``
and ``dead`` (hash of dead letters). The retry script builds keys from the
prefix itself, which a single Redis allows (a cluster would not).
"""

from __future__ import annotations

import enum
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

import msgspec
import redis

from worker.deliver import Channel
from worker.errors import PermanentDeliveryError, StateUnavailableError, TransientDeliveryError
from worker.records import Alert, Record

#: How long an alert waits when an earlier one on its channel is being sent elsewhere.
BUSY_RETRY_AFTER = 1.0


class Status(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"


class Outcome(enum.Enum):
    SENT = "sent"
    DONE = "done"  # not pending any more: sent, or dead-lettered
    CLAIMED = "claimed"  # another worker is sending it now
    DEAD = "dead"


class DeadLetter(Record, frozen=True):
    """An (alert, channel) that failed for good, kept until retried."""

    alert_id: str
    channel: str
    error: str
    failed_at: datetime
    title: str


class DeliveryReport(Record, frozen=True):
    """What one ``deliver`` call did for its alert, channel by channel."""

    alert_id: str
    sent: tuple[str, ...]  # channels it was sent to now
    skipped: tuple[str, ...]  # already sent, dead-lettered, or being sent elsewhere
    dead: tuple[str, ...]  # channels that failed for good now
    earlier_sent: tuple[str, ...]  # alerts queued before it that had to go first


# KEYS: alert, seq, order, status, channels, queue per channel; ARGV: json, id, channel...
_PUT = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
local seq = redis.call('INCR', KEYS[2])
redis.call('ZADD', KEYS[3], seq, ARGV[2])
for i = 3, #ARGV do
  redis.call('HSET', KEYS[4], ARGV[i], 'pending')
  redis.call('SADD', KEYS[5], ARGV[i])
  redis.call('ZADD', KEYS[i + 3], seq, ARGV[2])
end
return 1
"""

# KEYS: status, claim; ARGV: channel, token, ttl ms -> 0 not pending, 1 claimed, 2 taken
_CLAIM = """
if redis.call('HGET', KEYS[1], ARGV[1]) ~= 'pending' then return 0 end
if redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) then return 1 end
return 2
"""

# KEYS: claim; ARGV: token
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
"""

# KEYS: status, claim, queue, dead; ARGV: channel, token, state, id, dead field, dead json.
# "sent" always wins (the send happened); "dead" only replaces "pending".
_FINISH = """
if ARGV[3] == 'dead' and redis.call('HGET', KEYS[1], ARGV[1]) ~= 'pending' then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('ZREM', KEYS[3], ARGV[4])
if redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('DEL', KEYS[2]) end
if ARGV[3] == 'dead' then redis.call('HSET', KEYS[4], ARGV[5], ARGV[6]) end
return 1
"""

# KEYS: dead, order; ARGV: key prefix -> flat list of id, put number
_RETRY_DEAD = """
local entries = redis.call('HGETALL', KEYS[1])
local result = {}
for i = 1, #entries, 2 do
  local letter = cjson.decode(entries[i + 1])
  local status = ARGV[1] .. ':status:' .. letter.alert_id
  if redis.call('HGET', status, letter.channel) == 'dead' then
    local seq = redis.call('ZSCORE', KEYS[2], letter.alert_id)
    redis.call('HSET', status, letter.channel, 'pending')
    redis.call('ZADD', ARGV[1] .. ':queue:' .. letter.channel, seq, letter.alert_id)
    table.insert(result, letter.alert_id)
    table.insert(result, seq)
  end
end
redis.call('DEL', KEYS[1])
return result
"""


@contextmanager
def _state() -> Iterator[None]:
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise StateUnavailableError(f"Redis is unreachable from the outbox: {exc}") from None


def _text(value: object) -> str:
    """A Redis reply as text, whether the client decodes responses or not."""
    return value.decode() if isinstance(value, bytes) else str(value)


class Outbox:
    """The alerts owed to each channel, and which of them went out."""

    def __init__(
        self,
        redis: redis.Redis,
        namespace: str,
        channels: Mapping[str, Channel],
        *,
        claim_ttl: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis
        self._prefix = f"{namespace}:outbox"
        self._channels = channels
        self._claim_ms = max(1, int(claim_ttl * 1000))
        self._clock = clock
        self._put = redis.register_script(_PUT)
        self._claim = redis.register_script(_CLAIM)
        self._release = redis.register_script(_RELEASE)
        self._finish = redis.register_script(_FINISH)
        self._retry_dead = redis.register_script(_RETRY_DEAD)

    def _key(self, *parts: str) -> str:
        return ":".join((self._prefix, *parts))

    def put(self, alert: Alert, channel_names: Sequence[str]) -> bool:
        """Store ``alert`` as owed to ``channel_names``; False if it was put before."""
        names = list(dict.fromkeys(channel_names))
        keys = [
            self._key("alert", alert.id),
            self._key("seq"),
            self._key("order"),
            self._key("status", alert.id),
            self._key("channels"),
            *(self._key("queue", name) for name in names),
        ]
        with _state():
            return bool(self._put(keys=keys, args=[msgspec.json.encode(alert), alert.id, *names]))

    def get(self, alert_id: str) -> Alert | None:
        with _state():
            data = self._redis.get(self._key("alert", alert_id))
        return None if data is None else msgspec.json.decode(data, type=Alert)

    def deliver(self, alert_id: str) -> DeliveryReport:
        """Send ``alert_id`` to each channel it is still owed to, after anything queued first.

        Raises TransientDeliveryError (with the longest retry_after asked for)
        when any channel should be tried again, after trying all the others.
        A PermanentDeliveryError dead-letters that channel instead.
        """
        with _state():
            seq = self._redis.zscore(self._key("order"), alert_id)
            statuses = {
                _text(name): _text(status)
                for name, status in self._redis.hgetall(self._key("status", alert_id)).items()
            }
        if seq is None:
            raise KeyError(f"alert {alert_id!r} was never put in the outbox")
        sent: list[str] = []
        skipped: list[str] = []
        dead: list[str] = []
        earlier_sent: list[str] = []
        failures: list[TransientDeliveryError] = []
        for name, status in sorted(statuses.items()):
            channel = self._channels.get(name)
            if status != Status.PENDING:
                skipped.append(name)
            elif channel is None:
                self.dead_letter(alert_id, name, f"channel {name!r} is not configured")
                dead.append(name)
            else:
                try:
                    earlier_sent.extend(self._send_earlier(channel, seq))
                    outcome = self._attempt(alert_id, channel)
                except TransientDeliveryError as exc:
                    failures.append(exc)
                    continue
                {Outcome.SENT: sent, Outcome.DEAD: dead}.get(outcome, skipped).append(name)
        if failures:
            delays = [exc.retry_after for exc in failures if exc.retry_after is not None]
            raise TransientDeliveryError(
                ", ".join(exc.channel for exc in failures),
                "; ".join(exc.problem for exc in failures),
                retry_after=max(delays, default=None),
            )
        return DeliveryReport(
            alert_id=alert_id,
            sent=tuple(sent),
            skipped=tuple(skipped),
            dead=tuple(dead),
            earlier_sent=tuple(dict.fromkeys(earlier_sent)),
        )

    def _send_earlier(self, channel: Channel, seq: float) -> list[str]:
        """Send what is queued on ``channel`` before put number ``seq``, in order."""
        with _state():
            queued = self._redis.zrangebyscore(self._key("queue", channel.name), "-inf", f"({seq}")
        sent = []
        for alert_id in map(_text, queued):
            outcome = self._attempt(alert_id, channel)
            if outcome is Outcome.CLAIMED:
                raise TransientDeliveryError(
                    channel.name,
                    f"waiting for earlier alert {alert_id}, being sent elsewhere",
                    retry_after=BUSY_RETRY_AFTER,
                )
            if outcome is Outcome.SENT:
                sent.append(alert_id)
        return sent

    def _attempt(self, alert_id: str, channel: Channel) -> Outcome:
        """Claim, send and record one (alert, channel); TransientDeliveryError passes through."""
        alert = self.get(alert_id)
        if alert is None:
            raise KeyError(f"alert {alert_id!r} is queued but not stored")
        token = uuid.uuid4().hex
        claim = self._key("claim", alert_id, channel.name)
        with _state():
            claimed = self._claim(
                keys=[self._key("status", alert_id), claim],
                args=[channel.name, token, self._claim_ms],
            )
        if claimed == 0:
            return Outcome.DONE
        if claimed == 2:
            return Outcome.CLAIMED
        try:
            channel.send(alert)
        except TransientDeliveryError:
            with _state():
                self._release(keys=[claim], args=[token])
            raise
        except PermanentDeliveryError as exc:
            self._record(alert, channel.name, Status.DEAD, token=token, error=str(exc))
            return Outcome.DEAD
        self._record(alert, channel.name, Status.SENT, token=token)
        return Outcome.SENT

    def _record(
        self, alert: Alert, channel: str, status: Status, *, token: str, error: str = ""
    ) -> None:
        letter = b""
        if status is Status.DEAD:
            letter = msgspec.json.encode(
                DeadLetter(
                    alert_id=alert.id,
                    channel=channel,
                    error=error,
                    failed_at=datetime.fromtimestamp(self._clock(), UTC),
                    title=alert.story.title,
                )
            )
        keys = [
            self._key("status", alert.id),
            self._key("claim", alert.id, channel),
            self._key("queue", channel),
            self._key("dead"),
        ]
        args: list[str | bytes] = [
            channel, token, status, alert.id, f"{alert.id}\n{channel}", letter
        ]
        with _state():
            self._finish(keys=keys, args=args)

    def dead_letter(self, alert_id: str, channel: str, error: str) -> None:
        """Give up on (alert, channel) until ``retry_dead_letters``; a no-op once sent."""
        alert = self.get(alert_id)
        if alert is None:
            raise KeyError(f"alert {alert_id!r} was never put in the outbox")
        self._record(alert, channel, Status.DEAD, token="", error=error)

    def dead_letters(self) -> list[DeadLetter]:
        with _state():
            values = self._redis.hvals(self._key("dead"))
        letters = [msgspec.json.decode(value, type=DeadLetter) for value in values]
        return sorted(letters, key=lambda letter: letter.failed_at)

    def retry_dead_letters(self) -> list[str]:
        """Make every dead letter pending again; the alert ids to deliver, in put order."""
        with _state():
            flat = self._retry_dead(
                keys=[self._key("dead"), self._key("order")], args=[self._prefix]
            )
        by_seq = {_text(flat[i]): float(flat[i + 1]) for i in range(0, len(flat), 2)}
        return sorted(by_seq, key=by_seq.__getitem__)

    def pending(self) -> list[str]:
        """Alert ids owed to some channel nobody is sending them to now, in put order."""
        with _state():
            names = sorted(map(_text, self._redis.smembers(self._key("channels"))))
            with self._redis.pipeline(transaction=False) as pipe:
                for name in names:
                    pipe.zrange(self._key("queue", name), 0, -1, withscores=True)
                queues = pipe.execute()
            owed = [
                (_text(alert_id), name, seq)
                for name, queue in zip(names, queues, strict=True)
                for alert_id, seq in queue
            ]
            with self._redis.pipeline(transaction=False) as pipe:
                for alert_id, name, _ in owed:
                    pipe.exists(self._key("claim", alert_id, name))
                claimed = pipe.execute()
        unclaimed = {
            alert_id: seq for (alert_id, _, seq), taken in zip(owed, claimed, strict=True)
            if not taken
        }
        return sorted(unclaimed, key=unclaimed.__getitem__)

    def recent(self, limit: int = 20) -> list[Alert]:
        """The last ``limit`` alerts put, newest first."""
        with _state():
            ids = self._redis.zrevrange(self._key("order"), 0, limit - 1)
            values = self._redis.mget([self._key("alert", _text(i)) for i in ids]) if ids else []
        return [msgspec.json.decode(value, type=Alert) for value in values if value is not None]
