"""Celery: the app, beat's schedule and the thin tasks around the pipeline.

Tasks pass ids, never objects; they own retries and time limits and nothing
else. Every task is idempotent, so late acknowledgement (a task redelivered
after a worker died) does no harm:

- ``poll_feed(feed_id)``: holds the feed's poll lock, runs ``pipeline.poll``,
  puts alerts in the outbox and queues their delivery;
- ``deliver_alert(alert_id)``: the outbox sends each channel at most once;
- ``deliver_pending()``: re-queues alerts whose delivery was interrupted
  (run at worker start and every 15 s);
- ``flush_outbox()``: sends the folded thread messages and digests now due.

Retry countdowns are capped far below the broker's visibility timeout: a
longer wait (a feed's Retry-After) is stored as the feed's next poll time and
honoured by ``poll``, not held in a countdown.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import structlog
from celery import Celery, Task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_ready

from worker import logs, metrics  # noqa: F401  (logs: Celery's logging signal)
from worker.config import Feed, load_feeds, load_settings
from worker.errors import StateUnavailableError, TransientDeliveryError
from worker.pipeline import poll
from worker.wiring import Runtime, build_runtime

log = structlog.get_logger("newsmon.tasks")

settings = load_settings()

#: No countdown may exceed this: well inside the visibility timeout.
MAX_COUNTDOWN = min(300.0, settings.visibility_timeout / 4)
#: Cheap (a few Redis reads); after a crash, alerts go out this soon after their claims expire.
PENDING_SWEEP_SECONDS = 15.0
#: A queued delivery is left to its task this long before the sweep queues it again.
QUEUED_DELIVERY_GRACE = 60.0
#: Folded thread messages fall due at any second, digests at the hour.
FLUSH_SWEEP_SECONDS = 15.0
#: A poll is a fetch (20 s deadline) and seconds of matching; the hard limit bounds it.
POLL_SOFT_TIME_LIMIT = 45
POLL_TIME_LIMIT = 55
#: Outlives any poll, and frees the feed this soon after a worker dies mid-poll.
POLL_LOCK_TTL = POLL_TIME_LIMIT + 5

app = Celery("newsmon", broker=settings.redis_url)
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    task_ignore_result=True,
    worker_prefetch_multiplier=1,
    task_serializer="json",
    accept_content=["json"],
    broker_connection_retry_on_startup=True,
    # Keep reconnecting however long Redis is away; the default gives up (and the worker
    # exits) after 100 attempts, about three quarters of an hour.
    broker_connection_max_retries=None,
    broker_transport_options={"visibility_timeout": settings.visibility_timeout},
    worker_hijack_root_logger=False,
    timezone="UTC",
)


def _feed_offset(feed_id: str, interval: float) -> float:
    """A stable per-feed delay within 10% of the interval, so feeds don't fire together."""
    fraction = int(hashlib.sha256(feed_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return round(fraction * interval * 0.1, 3)


def _poll_options(feed: Feed) -> dict[str, Any]:
    # A poll still queued when the next one is due is stale: it expires, so a
    # backlog after downtime does not stampede. The offset spreads feeds out.
    return {"expires": feed.interval, "countdown": _feed_offset(feed.id, feed.interval)}


def beat_schedule() -> dict[str, dict[str, Any]]:
    """Each feed's poll at its own interval, plus the delivery sweeps."""
    schedule: dict[str, dict[str, Any]] = {
        "deliver-pending": {
            "task": "worker.tasks.deliver_pending",
            "schedule": PENDING_SWEEP_SECONDS,
            "options": {"expires": PENDING_SWEEP_SECONDS},
        },
        "flush-outbox": {
            "task": "worker.tasks.flush_outbox",
            "schedule": FLUSH_SWEEP_SECONDS,
            "options": {"expires": FLUSH_SWEEP_SECONDS},
        },
    }
    for feed in load_feeds(settings.feeds_path, settings.poll_interval):
        schedule[f"poll-{feed.id}"] = {
            "task": "worker.tasks.poll_feed",
            "schedule": feed.interval,
            "args": (feed.id,),
            "options": _poll_options(feed),
        }
    return schedule


app.conf.beat_schedule = beat_schedule()

_runtime: Runtime | None = None


def runtime() -> Runtime:
    """This process's runtime, built on first use (after the worker forked)."""
    global _runtime
    if _runtime is None:
        # A soft time limit stops the poll; it is not a story that failed.
        _runtime = build_runtime(settings, interruptions=(SoftTimeLimitExceeded,))
    return _runtime


def _countdown(retries: int, retry_after: float | None = None,
               backoff_cap: float = MAX_COUNTDOWN) -> float:
    """Exponential backoff up to ``backoff_cap``, never sooner than ``retry_after``,
    never longer than ``MAX_COUNTDOWN``."""
    backoff = min(2.0 ** min(retries, 30), backoff_cap)
    return min(max(backoff, retry_after or 0.0), MAX_COUNTDOWN)


@app.task(bind=True, acks_late=True, max_retries=5, soft_time_limit=POLL_SOFT_TIME_LIMIT,
          time_limit=POLL_TIME_LIMIT)
def poll_feed(self: Task, feed_id: str) -> str:
    rt = runtime()
    feed = rt.feeds_by_id.get(feed_id)
    if feed is None:
        log.warning("poll.unknown_feed", feed_id=feed_id)
        return "unknown-feed"
    bound = log.bind(task_id=self.request.id, feed_id=feed_id, url=feed.url)
    try:
        with rt.state.poll_lock(feed_id, ttl=POLL_LOCK_TTL) as acquired:
            if not acquired:
                bound.info("poll.skipped", reason="another poll of this feed is in flight")
                return "locked"
            alert_ids: list[str] = []

            def accept(alert: Any) -> None:
                if rt.accept(alert):
                    alert_ids.append(alert.id)

            report = poll(feed.id, feed.url, feed.title, feed.interval, fetcher=rt.fetcher,
                          feeds=rt.state, seen=rt.state, monitor=rt.monitor, sink=accept,
                          now=datetime.now(UTC))
    except StateUnavailableError as exc:
        bound.warning("poll.redis_unavailable", error=str(exc))
        raise self.retry(exc=exc, countdown=_countdown(self.request.retries)) from exc
    for alert_id in alert_ids:
        queue_delivery(alert_id)
    bound.info("poll.done", status=report.status, entries=report.entries,
               new_entries=report.new_entries, alerts=len(alert_ids), error=report.error)
    metrics.record_poll(report)
    return report.status


#: Delivery backoff doubles up to a minute (unless a Retry-After asks for longer), so
#: alerts go out within about a minute of a channel's return; seventy retries are
#: about an hour before a dead letter.
DELIVERY_BACKOFF_CAP = 60.0
DELIVERY_MAX_RETRIES = 70


@app.task(bind=True, acks_late=True, max_retries=DELIVERY_MAX_RETRIES, soft_time_limit=60,
          time_limit=90)
def deliver_alert(self: Task, alert_id: str) -> str:
    rt = runtime()
    bound = log.bind(task_id=self.request.id, alert_id=alert_id)
    try:
        report = rt.outbox.deliver(alert_id)
    except TransientDeliveryError as exc:
        metrics.record_delivery_failure(exc)
        if self.request.retries >= self.max_retries:
            channels = rt.outbox.give_up(alert_id, str(exc))
            bound.error("deliver.dead_letter", channels=channels, error=str(exc))
            return "dead-letter"
        bound.warning("deliver.retry", channel=exc.channel, error=str(exc))
        countdown = _countdown(self.request.retries, exc.retry_after, DELIVERY_BACKOFF_CAP)
        # The sweep leaves the alert to this retry (and takes it back if we die).
        rt.outbox.defer(alert_id, countdown + PENDING_SWEEP_SECONDS)
        raise self.retry(exc=exc, countdown=countdown) from exc
    except StateUnavailableError as exc:
        bound.warning("deliver.redis_unavailable", error=str(exc))
        raise self.retry(exc=exc, countdown=_countdown(self.request.retries)) from exc
    metrics.record_delivery(report)
    bound.info("deliver.done")
    return "delivered"


@app.task(acks_late=True, soft_time_limit=120, time_limit=150)
def flush_outbox() -> int:
    """Send the folded thread messages and digests that are due."""
    try:
        report = runtime().outbox.flush_due()
    except StateUnavailableError as exc:
        log.warning("flush.redis_unavailable", error=str(exc))
        return 0
    if report.sent or report.dead or report.failed:
        log.info("flush.done", sent=[f.alert_ids for f in report.sent],
                 dead=[f.alert_ids for f in report.dead], failed=list(report.failed))
    return len(report.sent)


@app.task(acks_late=True, soft_time_limit=30, time_limit=60)
def deliver_pending() -> int:
    """Queue delivery of alerts whose claims expired (a worker died mid-send)."""
    try:
        pending = runtime().outbox.pending()
        for alert_id in pending:
            queue_delivery(alert_id)
    except StateUnavailableError as exc:
        log.warning("sweep.redis_unavailable", error=str(exc))
        return 0
    return len(pending)


def queue_delivery(alert_id: str) -> None:
    """Queue ``alert_id``'s delivery; the sweep leaves it to that task for a while,
    so a backlog on the queue is not queued again every sweep."""
    runtime().outbox.defer(alert_id, QUEUED_DELIVERY_GRACE)
    deliver_alert.delay(alert_id)


@worker_ready.connect
def _on_start(**_: Any) -> None:
    # Alerts interrupted by a crash are picked up at once, not a sweep later.
    deliver_pending.delay()
    # Beat's first run of an interval comes one interval after it starts; a
    # worker starting polls every feed now (polls not yet due are skipped).
    for feed in load_feeds(settings.feeds_path, settings.poll_interval):
        poll_feed.apply_async((feed.id,), **_poll_options(feed))
