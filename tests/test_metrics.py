"""Prometheus metrics: recorded in-process, scraped over HTTP from the real server.

Counters are process-wide, so each test compares a scrape before and after what it
records. One test checks the multiprocess mode the Celery prefork pool relies on:
counts made in forked children add up in the parent's scrape.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import redis
from celery import Celery
from prometheus_client.parser import text_string_to_metric_families

from tests.servers import free_port
from worker import metrics
from worker.cli import stories_from_jsonl
from worker.config import load_settings
from worker.errors import TransientDeliveryError
from worker.outbox import DeliveryReport
from worker.pipeline import PollReport
from worker.records import Alert
from worker.wiring import memory_monitor

DEV = Path(__file__).parent / "data" / "eval" / "dev.jsonl"
ROOT = Path(__file__).resolve().parent.parent

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    """Every sample of a scrape: (name, sorted labels) -> value."""
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def scrape(redis_base_url: str, namespace: str) -> Iterator[tuple[str, redis.Redis]]:
    """A metrics server on a free port; the queue it reports is this test's own list."""
    client = redis.Redis.from_url(redis_base_url)
    queue = f"{namespace}:celery"
    port = free_port()
    server = metrics.serve(port, client, address="127.0.0.1", queue=queue)
    try:
        yield f"http://127.0.0.1:{port}/metrics", client
    finally:
        server.shutdown()
        server.server_close()
        client.close()


def get(url: str) -> Samples:
    response = httpx.get(url, timeout=5.0)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


def some_alerts() -> list[Alert]:
    monitor = memory_monitor(load_settings({}))
    assessments = monitor.process_stories(stories_from_jsonl(DEV), now=datetime.now(UTC))
    return [alert for a in assessments for alert in a.alerts]


def test_a_recorded_poll_shows_in_the_scrape(scrape: tuple[str, redis.Redis]) -> None:
    url, _ = scrape
    alerts = some_alerts()[:3]
    before = get(url)

    metrics.record_poll(PollReport(feed_id="f", url="https://a.example/rss", status="new",
                                   entries=20, new_entries=5, alerts=tuple(alerts)))
    metrics.record_poll(PollReport(feed_id="f", url="https://a.example/rss",
                                   status="not-modified"))
    after = get(url)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("newsmon_polls_total", status="new") == 1
    assert grew("newsmon_polls_total", status="not-modified") == 1
    assert grew("newsmon_entries_total") == 5
    for rule in {alert.rule_id for alert in alerts}:
        expected = sum(alert.rule_id == rule for alert in alerts)
        assert grew("newsmon_alerts_total", rule=rule) == expected


def test_deliveries_and_failures_by_channel(scrape: tuple[str, redis.Redis]) -> None:
    url, _ = scrape
    before = get(url)

    metrics.record_delivery(DeliveryReport(alert_id="a", sent=("console", "slack"),
                                           skipped=(), dead=("email",), earlier_sent=()))
    # The outbox reports every channel that failed in one error.
    metrics.record_delivery_failure(TransientDeliveryError("slack, email", "HTTP 503"))
    after = get(url)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("newsmon_deliveries_total", channel="console") == 1
    assert grew("newsmon_deliveries_total", channel="slack") == 1
    assert grew("newsmon_delivery_failures_total", channel="email", kind="permanent") == 1
    assert grew("newsmon_delivery_failures_total", channel="slack", kind="transient") == 1
    assert grew("newsmon_delivery_failures_total", channel="email", kind="transient") == 1


def test_queue_depth_is_read_from_redis_on_each_scrape(
        scrape: tuple[str, redis.Redis], namespace: str) -> None:
    url, client = scrape
    queue = f"{namespace}:celery"
    assert value(get(url), "newsmon_queue_depth", queue=queue) == 0

    client.rpush(queue, b"task-1", b"task-2", b"task-3")
    samples = get(url)

    assert value(samples, "newsmon_queue_depth", queue=queue) == 3
    assert value(samples, "newsmon_redis_up") == 1


def test_redis_down_is_a_gauge_not_a_failed_scrape() -> None:
    client = metrics.scrape_client(f"redis://127.0.0.1:{free_port()}/0")
    port = free_port()
    server = metrics.serve(port, client, address="127.0.0.1")
    try:
        samples = get(f"http://127.0.0.1:{port}/metrics")
    finally:
        server.shutdown()
        server.server_close()

    assert value(samples, "newsmon_redis_up") == 0
    assert not any(name == "newsmon_queue_depth" for name, _ in samples)
    assert ("newsmon_entries_total", ()) in samples  # the counts are still served


def test_poll_task_duration_comes_from_celerys_signals() -> None:
    app = Celery("metrics-test", set_as_current=False)
    app.conf.task_always_eager = True

    @app.task(name=metrics.POLL_TASK)
    def poll_feed(feed_id: str) -> str:
        return "new"

    @app.task(name="worker.tasks.deliver_alert")
    def deliver_alert(alert_id: str) -> str:
        return "delivered"

    count = metrics.POLL_SECONDS.collect()[0]
    before = next(s.value for s in count.samples if s.name == "newsmon_poll_seconds_count")

    poll_feed.apply(args=("f",))
    deliver_alert.apply(args=("a",))  # not a poll: not timed

    count = metrics.POLL_SECONDS.collect()[0]
    after = next(s.value for s in count.samples if s.name == "newsmon_poll_seconds_count")
    assert after - before == 1


MULTIPROCESS_SCRIPT = textwrap.dedent("""
    import multiprocessing, sys
    import redis
    from prometheus_client import generate_latest
    from worker import metrics
    from worker.pipeline import PollReport

    def child(status):
        metrics.record_poll(PollReport(feed_id="f", url="u", status=status, new_entries=2))

    if __name__ == "__main__":
        context = multiprocessing.get_context("fork")
        workers = [context.Process(target=child, args=(s,)) for s in ("new", "new", "error")]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        client = redis.Redis.from_url(sys.argv[1])
        sys.stdout.write(generate_latest(metrics.scrape_registry(client)).decode())
""")


def test_counts_of_forked_processes_add_up(redis_base_url: str, tmp_path: Path) -> None:
    directory = tmp_path / "multiproc"
    directory.mkdir()
    env = {**os.environ, metrics.MULTIPROC_VARIABLE: str(directory)}

    done = subprocess.run([sys.executable, "-c", MULTIPROCESS_SCRIPT, redis_base_url],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stderr
    samples = parse(done.stdout)
    assert value(samples, "newsmon_polls_total", status="new") == 2
    assert value(samples, "newsmon_polls_total", status="error") == 1
    assert value(samples, "newsmon_entries_total") == 6
    assert value(samples, "newsmon_redis_up") == 1
