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

Noise control, for channels that can send a ``Bundle`` (Slack, email; never
the console):

- thread throttling (``thread_window`` seconds): at most one message per
  (channel, story thread) per window. The first alert of a thread goes at
  once and opens the window; later ones are *held* in the thread's batch and
  go out together, as one message, when the window ends, which opens the
  next window.
- digests (``digests``: channel -> hourly/daily): every alert is held in the
  batch of the UTC hour or day it was delivered in, sent as one message when
  that period ends. A digest channel ignores the thread window.

A held alert leaves its channel's queue (so it neither blocks later alerts
nor shows in ``pending()``) and waits in Redis, not in a task: ``flush_due``
(run periodically) claims each due batch, sends it and marks every alert in
it sent, in one step, so exactly-once holds for bundles as for single alerts,
with the same one window for a duplicate. A bundle refused for good
dead-letters each of its alerts on that channel.

Keys live under ``{namespace}:outbox:``: ``alert:<id>`` (the alert, msgspec
JSON), ``seq``, ``order`` (every alert by put number), ``status:<id>`` (hash:
channel -> pending/held/sent/dead), ``queue:<channel>`` (pending alerts by put
number), ``channels`` (every channel name ever used), ``claim:<id>:<channel>``
and ``dead`` (hash of dead letters); for bundles ``batch:<channel>:<batch>``
(held alerts by put number; a batch is ``thread:<thread id>`` or
``digest:<period>:<start>``), ``due:<channel>`` (batches by when they are
due), ``bundle-claim:<channel>:<batch>``, ``retrying:<id>`` (a retry is
scheduled), ``windows:<channel>`` (threads by when their window opened) and
``openers:<channel>`` (thread -> the alert that opened it). The retry script
builds keys from the prefix itself, which a single Redis allows (a cluster
would not).
"""

from __future__ import annotations

import enum
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import cast

import msgspec
import redis

from worker.config import DigestPeriod
from worker.deliver import BundleChannel, Channel
from worker.errors import PermanentDeliveryError, TransientDeliveryError
from worker.records import Alert, Record
from worker.render import Bundle, BundleKind
from worker.state import redis_errors

#: How long an alert waits when an earlier one on its channel is being sent elsewhere.
BUSY_RETRY_AFTER = 1.0

PERIOD_SECONDS: dict[DigestPeriod, int] = {"hourly": 3600, "daily": 86400}


class Status(enum.StrEnum):
    PENDING = "pending"
    HELD = "held"  # waiting in a batch for a folded message or a digest
    SENT = "sent"
    DEAD = "dead"


class Outcome(enum.Enum):
    SENT = "sent"
    DONE = "done"  # not pending any more: sent, or dead-lettered
    CLAIMED = "claimed"  # another worker is sending it now
    DEAD = "dead"
    HELD = "held"


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
    held: tuple[str, ...] = ()  # channels where it waits for a folded message or digest


class Flushed(Record, frozen=True):
    """The alerts one bundle carried to a channel."""

    channel: str
    alert_ids: tuple[str, ...]


class FlushReport(Record, frozen=True):
    """What one ``flush_due`` call did."""

    sent: tuple[Flushed, ...]
    dead: tuple[Flushed, ...]  # bundles refused for good: their alerts are dead letters
    failed: tuple[str, ...]  # one error per channel whose bundles wait for the next flush


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

# KEYS: status, claim, queue, batch, due, windows, openers;
# ARGV: channel, id, put number, now, batch, thread ('' for a digest), window (or the digest's due)
# -> 0 not pending, 1 send it now, 2 being sent elsewhere, 3 held
_GATE = """
if redis.call('HGET', KEYS[1], ARGV[1]) ~= 'pending' then return 0 end
if redis.call('EXISTS', KEYS[2]) == 1 then return 2 end
local now = tonumber(ARGV[4])
local due = tonumber(ARGV[7])
if ARGV[6] ~= '' then
  if redis.call('HGET', KEYS[7], ARGV[6]) == ARGV[2] then return 1 end
  if redis.call('ZCARD', KEYS[4]) > 0 then
    due = false
  else
    local opened = redis.call('ZSCORE', KEYS[6], ARGV[6])
    if not opened or tonumber(opened) + due <= now then
      redis.call('ZADD', KEYS[6], now, ARGV[6])
      redis.call('HSET', KEYS[7], ARGV[6], ARGV[2])
      return 1
    end
    due = tonumber(opened) + due
  end
end
redis.call('HSET', KEYS[1], ARGV[1], 'held')
redis.call('ZREM', KEYS[3], ARGV[2])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[2])
if due then redis.call('ZADD', KEYS[5], 'NX', due, ARGV[5]) end
return 3
"""

# KEYS: batch, due, bundle claim, windows, openers, dead, status per alert;
# ARGV: channel, token, state, batch, now, thread ('' for a digest), window, n,
#       n alert ids, n dead-letter fields, n dead-letter json.
# Only "held" alerts change; any added to the batch meanwhile wait one more window.
_FINISH_BUNDLE = """
local n = tonumber(ARGV[8])
for i = 1, n do
  local id = ARGV[8 + i]
  if redis.call('HGET', KEYS[6 + i], ARGV[1]) == 'held' then
    redis.call('HSET', KEYS[6 + i], ARGV[1], ARGV[3])
    if ARGV[3] == 'dead' then redis.call('HSET', KEYS[6], ARGV[8 + n + i], ARGV[8 + 2 * n + i]) end
  end
  redis.call('ZREM', KEYS[1], id)
end
if redis.call('ZCARD', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[2], ARGV[4])
elseif ARGV[6] ~= '' then
  redis.call('ZADD', KEYS[2], tonumber(ARGV[5]) + tonumber(ARGV[7]), ARGV[4])
end
if ARGV[6] ~= '' and ARGV[3] == 'sent' then
  redis.call('ZADD', KEYS[4], ARGV[5], ARGV[6])
  redis.call('HDEL', KEYS[5], ARGV[6])
end
if redis.call('GET', KEYS[3]) == ARGV[2] then redis.call('DEL', KEYS[3]) end
"""

# KEYS: windows, openers; ARGV: cutoff -> threads whose window closed before it are forgotten
_EXPIRE_WINDOWS = """
local closed = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
for _, thread in ipairs(closed) do
  redis.call('ZREM', KEYS[1], thread)
  redis.call('HDEL', KEYS[2], thread)
end
return #closed
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


def _text(value: object) -> str:
    """A Redis reply as text, whether the client decodes responses or not."""
    return value.decode() if isinstance(value, bytes) else str(value)


def period_bounds(period: DigestPeriod, moment: float) -> tuple[float, float]:
    """The UTC hour or day holding ``moment`` (epoch seconds), as [start, end)."""
    length = PERIOD_SECONDS[period]
    start = moment - moment % length
    return start, start + length


def _epoch_datetime(moment: float) -> datetime:
    return datetime.fromtimestamp(moment, UTC)


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
        thread_window: float = 0.0,
        digests: Mapping[str, DigestPeriod | None] | None = None,
    ) -> None:
        """``thread_window`` and ``digests`` apply to channels that can send bundles."""
        self._redis = redis
        self._prefix = f"{namespace}:outbox"
        self._channels = channels
        self._claim_ms = max(1, int(claim_ttl * 1000))
        self._clock = clock
        self._thread_window = thread_window
        self._bundling = {
            name: channel for name, channel in channels.items()
            if isinstance(channel, BundleChannel)
        }
        self._digests = {
            name: period for name, period in (digests or {}).items()
            if period is not None and name in channels
        }
        for name in self._digests:
            if name not in self._bundling:
                raise ValueError(f"channel {name!r} cannot send a digest")
        self._gate = redis.register_script(_GATE)
        self._finish_bundle = redis.register_script(_FINISH_BUNDLE)
        self._expire_windows = redis.register_script(_EXPIRE_WINDOWS)
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
        with redis_errors():
            return bool(self._put(keys=keys, args=[msgspec.json.encode(alert), alert.id, *names]))

    def get(self, alert_id: str) -> Alert | None:
        with redis_errors():
            data = self._redis.get(self._key("alert", alert_id))
        return None if data is None else msgspec.json.decode(data, type=Alert)

    def deliver(self, alert_id: str) -> DeliveryReport:
        """Send ``alert_id`` to each channel it is still owed to, after anything queued first.

        On a throttled or digest channel it may be held for a bundle instead:
        reported in ``held``, not an error; ``flush_due`` sends it later.

        Raises TransientDeliveryError (with the longest retry_after asked for)
        when any channel should be tried again, after trying all the others.
        A PermanentDeliveryError dead-letters that channel instead.
        """
        with redis_errors():
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
        held: list[str] = []
        for name, status in sorted(statuses.items()):
            channel = self._channels.get(name)
            if status == Status.HELD:
                held.append(name)
            elif status != Status.PENDING:
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
                by_outcome = {Outcome.SENT: sent, Outcome.DEAD: dead, Outcome.HELD: held}
                by_outcome.get(outcome, skipped).append(name)
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
            held=tuple(held),
        )

    def _send_earlier(self, channel: Channel, seq: float) -> list[str]:
        """Send what is queued on ``channel`` before put number ``seq``, in order."""
        with redis_errors():
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
        """Hold, or claim, send and record one (alert, channel).

        TransientDeliveryError passes through.
        """
        alert = self.get(alert_id)
        if alert is None:
            raise KeyError(f"alert {alert_id!r} is queued but not stored")
        gate = self._pass_gate(alert, channel.name)
        if gate is not None:
            return gate
        token = uuid.uuid4().hex
        claim = self._key("claim", alert_id, channel.name)
        with redis_errors():
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
            with redis_errors():
                self._release(keys=[claim], args=[token])
            raise
        except PermanentDeliveryError as exc:
            self._record(alert, channel.name, Status.DEAD, token=token, error=str(exc))
            return Outcome.DEAD
        self._record(alert, channel.name, Status.SENT, token=token)
        return Outcome.SENT

    def _batch_for(self, alert: Alert, channel: str, now: float) -> tuple[str, str, float] | None:
        """(batch, thread, window or due) for the gate; None when each alert goes alone."""
        if period := self._digests.get(channel):
            start, end = period_bounds(period, now)
            return f"digest:{period}:{start:.0f}", "", end
        if self._thread_window > 0 and channel in self._bundling:
            return f"thread:{alert.thread_id}", alert.thread_id, self._thread_window
        return None

    def _pass_gate(self, alert: Alert, channel: str) -> Outcome | None:
        """None when the alert may be sent now; else why not (held, done, claimed)."""
        now = self._clock()
        batch = self._batch_for(alert, channel, now)
        if batch is None:
            return None
        key, thread, limit = batch
        keys = [
            self._key("status", alert.id),
            self._key("claim", alert.id, channel),
            self._key("queue", channel),
            self._key("batch", channel, key),
            self._key("due", channel),
            self._key("windows", channel),
            self._key("openers", channel),
        ]
        with redis_errors():
            seq = self._redis.zscore(self._key("order"), alert.id)
            verdict = self._gate(
                keys=keys, args=[channel, alert.id, seq or 0, repr(now), key, thread, repr(limit)]
            )
        return {0: Outcome.DONE, 1: None, 2: Outcome.CLAIMED, 3: Outcome.HELD}[int(verdict)]

    def flush_due(self, now: float | None = None) -> FlushReport:
        """Send every bundle due by ``now`` (default: the clock): folded threads, digests.

        Bundles go in the order they fell due. A channel that fails
        transiently keeps its bundles (this one and later ones) for the next
        flush; one that refuses a bundle for good dead-letters its alerts.
        """
        moment = self._clock() if now is None else now
        sent: list[Flushed] = []
        dead: list[Flushed] = []
        failed: list[str] = []
        for name, channel in sorted(self._bundling.items()):
            with redis_errors():
                due = cast(list[tuple[bytes, float]], self._redis.zrangebyscore(
                    self._key("due", name), "-inf", moment, withscores=True
                ))
            try:
                for key, due_at in due:
                    outcome, ids = self._send_batch(channel, _text(key), due_at, moment)
                    if ids:
                        (sent if outcome is Outcome.SENT else dead).append(Flushed(
                            channel=name, alert_ids=ids))
            except TransientDeliveryError as exc:
                failed.append(str(exc))
            if self._thread_window > 0:
                with redis_errors():
                    self._expire_windows(
                        keys=[self._key("windows", name), self._key("openers", name)],
                        args=[repr(moment - self._thread_window)],
                    )
        return FlushReport(sent=tuple(sent), dead=tuple(dead), failed=tuple(failed))

    def _send_batch(
        self, channel: BundleChannel, key: str, due_at: float, now: float
    ) -> tuple[Outcome, tuple[str, ...]]:
        """Claim, send and record one due batch; the alerts it carried."""
        token = uuid.uuid4().hex
        claim = self._key("bundle-claim", channel.name, key)
        batch = self._key("batch", channel.name, key)
        with redis_errors():
            if not self._redis.set(claim, token, nx=True, px=self._claim_ms):
                return Outcome.CLAIMED, ()
            ids = [_text(alert_id) for alert_id in self._redis.zrange(batch, 0, -1)]
            with self._redis.pipeline(transaction=False) as pipe:
                for alert_id in ids:
                    pipe.hget(self._key("status", alert_id), channel.name)
                statuses = pipe.execute()
        waiting = [i for i, status in zip(ids, statuses, strict=True) if status is not None
                   and _text(status) == Status.HELD]
        alerts = [alert for alert in map(self.get, waiting) if alert is not None]
        outcome, error = Outcome.SENT, ""
        if alerts:
            try:
                channel.send_bundle(self._bundle(key, alerts, due_at))
            except TransientDeliveryError:
                with redis_errors():
                    self._release(keys=[claim], args=[token])
                raise
            except PermanentDeliveryError as exc:
                outcome, error = Outcome.DEAD, str(exc)
        self._finish_batch(channel.name, key, ids, alerts, token=token, now=now, error=error)
        return outcome, tuple(alert.id for alert in alerts)

    def _bundle(self, key: str, alerts: list[Alert], due_at: float) -> Bundle:
        kind, _, rest = key.partition(":")
        if kind == BundleKind.DIGEST:
            period, _, start = rest.partition(":")
            return Bundle(kind=BundleKind.DIGEST, key=period, alerts=tuple(alerts),
                          since=_epoch_datetime(float(start)), until=_epoch_datetime(due_at))
        return Bundle(kind=BundleKind.THREAD, key=rest, alerts=tuple(alerts),
                      since=alerts[0].created, until=_epoch_datetime(due_at))

    def _finish_batch(
        self, channel: str, key: str, ids: list[str], alerts: list[Alert], *,
        token: str, now: float, error: str,
    ) -> None:
        """Mark a batch's held alerts sent (or dead, when ``error``) and retire the batch."""
        titles = {alert.id: alert.story.title for alert in alerts}
        failed_at = _epoch_datetime(self._clock())
        letters = [
            msgspec.json.encode(DeadLetter(alert_id=alert_id, channel=channel, error=error,
                                           failed_at=failed_at, title=titles.get(alert_id, "")))
            if error else b""
            for alert_id in ids
        ]
        thread = key.partition(":")[2] if key.startswith(f"{BundleKind.THREAD}:") else ""
        keys = [
            self._key("batch", channel, key),
            self._key("due", channel),
            self._key("bundle-claim", channel, key),
            self._key("windows", channel),
            self._key("openers", channel),
            self._key("dead"),
            *(self._key("status", alert_id) for alert_id in ids),
        ]
        args: list[str | bytes | int] = [
            channel, token, Status.DEAD if error else Status.SENT, key, repr(now), thread,
            repr(self._thread_window), len(ids), *ids,
            *(f"{alert_id}\n{channel}" for alert_id in ids), *letters,
        ]
        with redis_errors():
            self._finish_bundle(keys=keys, args=args)

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
        with redis_errors():
            self._finish(keys=keys, args=args)

    def dead_letter(self, alert_id: str, channel: str, error: str) -> None:
        """Give up on (alert, channel) until ``retry_dead_letters``; a no-op once sent."""
        alert = self.get(alert_id)
        if alert is None:
            raise KeyError(f"alert {alert_id!r} was never put in the outbox")
        self._record(alert, channel, Status.DEAD, token="", error=error)

    def dead_letters(self) -> list[DeadLetter]:
        with redis_errors():
            values = self._redis.hvals(self._key("dead"))
        letters = [msgspec.json.decode(value, type=DeadLetter) for value in values]
        return sorted(letters, key=lambda letter: letter.failed_at)

    def retry_dead_letters(self) -> list[str]:
        """Make every dead letter pending again; the alert ids to deliver, in put order."""
        with redis_errors():
            flat = self._retry_dead(
                keys=[self._key("dead"), self._key("order")], args=[self._prefix]
            )
        by_seq = {_text(flat[i]): float(flat[i + 1]) for i in range(0, len(flat), 2)}
        return sorted(by_seq, key=by_seq.__getitem__)

    def defer(self, alert_id: str, seconds: float) -> None:
        """A retry of ``alert_id`` is scheduled in ``seconds``; ``pending()`` skips it till then.

        Like a claim, the mark expires: if the worker holding the retry dies,
        the alert is pending again once it is due.
        """
        with redis_errors():
            self._redis.set(self._key("retrying", alert_id), b"",
                            px=max(1, int(seconds * 1000)))

    def give_up(self, alert_id: str, error: str) -> list[str]:
        """Dead-letter every channel still owed ``alert_id`` (its retries are spent)."""
        with redis_errors():
            statuses = self._redis.hgetall(self._key("status", alert_id))
        owed = sorted(_text(name) for name, status in statuses.items()
                      if _text(status) == Status.PENDING)
        for name in owed:
            self.dead_letter(alert_id, name, error)
        return owed

    def pending(self) -> list[str]:
        """Alert ids owed to some channel nobody is sending them to now, in put order.

        An alert being sent (claimed) or waiting for a scheduled retry
        (``defer``) is not listed: it is somebody's already.
        """
        with redis_errors():
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
                    pipe.exists(self._key("claim", alert_id, name),
                                self._key("retrying", alert_id))
                claimed = pipe.execute()
        unclaimed = {
            alert_id: seq for (alert_id, _, seq), taken in zip(owed, claimed, strict=True)
            if not taken
        }
        return sorted(unclaimed, key=unclaimed.__getitem__)

    def recent(self, limit: int = 20) -> list[Alert]:
        """The last ``limit`` alerts put, newest first."""
        with redis_errors():
            ids = self._redis.zrevrange(self._key("order"), 0, limit - 1)
            values = self._redis.mget([self._key("alert", _text(i)) for i in ids]) if ids else []
        return [msgspec.json.decode(value, type=Alert) for value in values if value is not None]
