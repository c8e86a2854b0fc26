"""Prometheus metrics: what the daemon did, served over HTTP when NEWSMON_METRICS_PORT is set.

Celery's prefork pool runs tasks in child processes, so the counts use
prometheus_client's multiprocess mode: every process writes its own files
under ``PROMETHEUS_MULTIPROC_DIR`` and the one HTTP server, started in the
worker's main process, adds them up on each scrape. ``newsmon run`` sets that
directory (a fresh one per run); ``celery -A worker worker`` needs it set to an
empty directory in the environment. Without it (``newsmon`` commands, tests,
``--pool solo``) the server shows the counts of its own process.

The queue depth is not counted but read from Redis (LLEN) on each scrape.

The tasks report what they did with ``record_poll``, ``record_delivery`` and
``record_delivery_failure``; poll durations come from Celery's task signals.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable
from typing import Any
from wsgiref.simple_server import WSGIServer

import redis
import structlog
from celery import signals
from prometheus_client import CollectorRegistry, Counter, Histogram, multiprocess
from prometheus_client.exposition import start_http_server
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from redis.backoff import NoBackoff
from redis.retry import Retry

from worker.config import load_settings
from worker.errors import TransientDeliveryError
from worker.outbox import DeliveryReport
from worker.pipeline import PollReport

log = structlog.get_logger("newsmon.metrics")

MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
#: Celery's default queue: a Redis list of that name holds the waiting task messages.
CELERY_QUEUE = "celery"
POLL_TASK = "worker.tasks.poll_feed"

if multiproc_directory := os.environ.get(MULTIPROC_VARIABLE):
    # The counters below write their files there as soon as they exist.
    os.makedirs(multiproc_directory, exist_ok=True)

#: This process's counts. In multiprocess mode they are also written to files.
REGISTRY = CollectorRegistry(auto_describe=True)

POLLS = Counter("newsmon_polls", "Feed polls, by outcome (new, not-modified, unchanged, "
                "skipped, gone, error).", ["status"], registry=REGISTRY)
ENTRIES = Counter("newsmon_entries", "New feed entries run through the rules.",
                  registry=REGISTRY)
ALERTS = Counter("newsmon_alerts", "Alerts made, by rule.", ["rule"], registry=REGISTRY)
DELIVERIES = Counter("newsmon_deliveries", "Alerts sent, by channel.", ["channel"],
                     registry=REGISTRY)
DELIVERY_FAILURES = Counter(
    "newsmon_delivery_failures",
    "Failed sends, by channel and kind (transient: retried later; permanent: dead-lettered).",
    ["channel", "kind"], registry=REGISTRY)
POLL_SECONDS = Histogram(
    "newsmon_poll_seconds", "Wall time of one feed poll task: fetch, parse and match "
    "(the fetch dominates).", registry=REGISTRY,
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0))


def record_poll(report: PollReport) -> None:
    """Count one poll, its new entries and the alerts it made."""
    POLLS.labels(report.status).inc()
    ENTRIES.inc(report.new_entries)
    for alert in report.alerts:
        ALERTS.labels(alert.rule_id).inc()


def record_delivery(report: DeliveryReport) -> None:
    """Count the channels an alert went to, and those that refused it for good."""
    for channel in report.sent:
        DELIVERIES.labels(channel).inc()
    for channel in report.dead:
        DELIVERY_FAILURES.labels(channel, "permanent").inc()


def record_delivery_failure(error: TransientDeliveryError) -> None:
    """Count a send that will be retried (or dead-lettered after the last retry)."""
    # The outbox reports several failed channels in one error, joined by ", ".
    for channel in error.channel.split(", "):
        DELIVERY_FAILURES.labels(channel, "transient").inc()


def scrape_client(url: str) -> redis.Redis:
    """A Redis client for scrapes: no retries, short timeouts; a scrape reports what is now."""
    return redis.Redis.from_url(url, socket_connect_timeout=2.0, socket_timeout=2.0,
                                retry=Retry(NoBackoff(), 0))


def queue_depth(client: redis.Redis, queue: str = CELERY_QUEUE) -> int:
    """Task messages waiting in a Celery queue (by default, the default one)."""
    return int(client.llen(queue))


class QueueCollector(Collector):
    """Reads Redis on each scrape: whether it answers, and how many tasks wait."""

    def __init__(self, client: redis.Redis, queue: str = CELERY_QUEUE) -> None:
        self.client = client
        self.queue = queue

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("newsmon_redis_up", "1 if Redis answered this scrape.")
        try:
            depth = queue_depth(self.client, self.queue)
        except redis.RedisError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        waiting = GaugeMetricFamily("newsmon_queue_depth", "Task messages waiting in the queue.",
                                  labels=["queue"])
        waiting.add_metric([self.queue], depth)
        yield waiting


class _OwnCounts(Collector):
    """This process's counts, for a server outside multiprocess mode."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def multiprocess_mode() -> bool:
    return MULTIPROC_VARIABLE in os.environ


def scrape_registry(client: redis.Redis, queue: str = CELERY_QUEUE) -> CollectorRegistry:
    """What a scrape shows: the counts (of every process when they share files) and Redis."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_mode():
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_OwnCounts())
    registry.register(QueueCollector(client, queue))
    return registry


def serve(port: int, client: redis.Redis, *, address: str = "0.0.0.0",
          queue: str = CELERY_QUEUE) -> WSGIServer:
    """Serve the metrics on ``address:port`` from a daemon thread; ``shutdown()`` stops it."""
    server, _ = start_http_server(port, addr=address, registry=scrape_registry(client, queue))
    return server


# --- Celery hooks -------------------------------------------------------------------------

@signals.worker_init.connect
def _serve_from_worker(**_: Any) -> None:
    # worker_init runs in the worker's main process, before the pool forks.
    settings = load_settings()
    if settings.metrics_port is None:
        return
    if not multiprocess_mode():
        log.warning("metrics.single_process", hint=f"set {MULTIPROC_VARIABLE} to an empty "
                    "directory, or the pool's child processes' counts are not shown")
    serve(settings.metrics_port, scrape_client(settings.redis_url))
    log.info("metrics.serving", port=settings.metrics_port)


_started: dict[str, float] = {}
_started_lock = threading.Lock()


@signals.task_prerun.connect
def _poll_started(task_id: str, task: Any, **_: Any) -> None:
    if task.name == POLL_TASK:
        with _started_lock:
            _started[task_id] = time.monotonic()


@signals.task_postrun.connect
def _poll_finished(task_id: str, task: Any, **_: Any) -> None:
    with _started_lock:
        started = _started.pop(task_id, None)
    if started is not None:
        POLL_SECONDS.observe(time.monotonic() - started)

