"""The outbox against a real Redis: each (alert, channel) is sent once, in put order."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.servers import LocalHTTPServer, Request, Response, free_port
from tests.test_render import make_alert
from worker.deliver import Channel, ConsoleChannel, SlackChannel
from worker.errors import (
    PermanentDeliveryError,
    StateUnavailableError,
    TransientDeliveryError,
)
from worker.outbox import Outbox
from worker.records import Alert


class Crash(BaseException):
    """Stands in for the worker dying mid-send."""


class RecordingChannel:
    """A channel that records what it sent; ``failures`` scripts the next sends' errors."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sent: list[str] = []
        self.failures: list[BaseException] = []

    def send(self, alert: Alert) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(alert.id)


@pytest.fixture
def client(redis_base_url: str) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_base_url)
    yield connection
    connection.close()


def outbox_with(
    client: redis.Redis, namespace: str, *channels: Channel, claim_ttl: float = 60.0
) -> Outbox:
    return Outbox(client, namespace, {c.name: c for c in channels}, claim_ttl=claim_ttl)


def test_put_is_idempotent_and_recent_is_newest_first(
    client: redis.Redis, namespace: str
) -> None:
    outbox = outbox_with(client, namespace, RecordingChannel("console"))
    first, second = make_alert("a1"), make_alert("a2")
    assert outbox.put(first, ["console"]) is True
    assert outbox.put(second, ["console"]) is True
    assert outbox.put(first, ["console"]) is False
    assert outbox.get("a1") == first and outbox.get("missing") is None
    assert outbox.recent() == [second, first]
    assert outbox.recent(limit=1) == [second]
    assert outbox.pending() == ["a1", "a2"]


def test_deliver_sends_once_per_channel_even_when_called_twice(
    client: redis.Redis, namespace: str
) -> None:
    console, slack = RecordingChannel("console"), RecordingChannel("slack")
    outbox = outbox_with(client, namespace, console, slack)
    outbox.put(make_alert("a1"), ["console", "slack"])
    report = outbox.deliver("a1")
    again = outbox.deliver("a1")
    assert console.sent == slack.sent == ["a1"]
    assert report.sent == ("console", "slack") and again.sent == ()
    assert again.skipped == ("console", "slack")
    assert outbox.pending() == []


def test_transient_failure_leaves_that_channel_pending(
    client: redis.Redis, namespace: str
) -> None:
    console, slack = RecordingChannel("console"), RecordingChannel("slack")
    slack.failures = [TransientDeliveryError("slack", "429", retry_after=3)]
    outbox = outbox_with(client, namespace, console, slack)
    outbox.put(make_alert("a1"), ["console", "slack"])
    with pytest.raises(TransientDeliveryError) as caught:
        outbox.deliver("a1")
    assert caught.value.retry_after == 3 and caught.value.channel == "slack"
    assert console.sent == ["a1"] and slack.sent == []
    assert outbox.pending() == ["a1"]
    assert outbox.deliver("a1").sent == ("slack",)
    assert console.sent == slack.sent == ["a1"]


def test_expired_claim_after_a_crash_is_delivered_once(
    client: redis.Redis, namespace: str
) -> None:
    slack = RecordingChannel("slack")
    slack.failures = [Crash()]
    outbox = outbox_with(client, namespace, slack, claim_ttl=0.2)
    outbox.put(make_alert("a1"), ["slack"])
    with pytest.raises(Crash):
        outbox.deliver("a1")  # claimed, never marked
    assert outbox.pending() == []  # the claim is still live: someone may be sending
    assert outbox.deliver("a1").skipped == ("slack",)
    time.sleep(0.3)
    assert outbox.pending() == ["a1"]
    assert outbox.deliver("a1").sent == ("slack",)
    outbox.deliver("a1")
    assert slack.sent == ["a1"]


def test_permanent_failure_is_dead_lettered_then_retried(
    client: redis.Redis, namespace: str
) -> None:
    email = RecordingChannel("email")
    email.failures = [PermanentDeliveryError("email", "SMTP login refused for user x")]
    outbox = outbox_with(client, namespace, email)
    outbox.put(make_alert("a1", title="Kursk"), ["email"])
    assert outbox.deliver("a1").dead == ("email",)
    (letter,) = outbox.dead_letters()
    assert (letter.alert_id, letter.channel, letter.title) == ("a1", "email", "Kursk")
    assert "login refused" in letter.error
    assert outbox.pending() == []
    assert outbox.retry_dead_letters() == ["a1"]
    assert outbox.dead_letters() == []
    assert outbox.pending() == ["a1"]
    assert outbox.deliver("a1").sent == ("email",)
    assert email.sent == ["a1"]


def test_dead_letter_when_retries_run_out_and_never_after_a_send(
    client: redis.Redis, namespace: str
) -> None:
    slack = RecordingChannel("slack")
    outbox = outbox_with(client, namespace, slack)
    outbox.put(make_alert("a1"), ["slack"])
    outbox.put(make_alert("a2"), ["slack"])
    outbox.dead_letter("a1", "slack", "429 ten times")
    assert [letter.error for letter in outbox.dead_letters()] == ["429 ten times"]
    assert outbox.pending() == ["a2"]
    outbox.deliver("a2")
    outbox.dead_letter("a2", "slack", "too late: it was sent")
    assert [letter.alert_id for letter in outbox.dead_letters()] == ["a1"]
    assert slack.sent == ["a2"]


def test_a_later_alert_never_overtakes_an_earlier_one(
    client: redis.Redis, namespace: str
) -> None:
    slack = RecordingChannel("slack")
    outbox = outbox_with(client, namespace, slack)
    for alert_id in ("a1", "a2", "a3"):
        outbox.put(make_alert(alert_id), ["slack"])
    slack.failures = [TransientDeliveryError("slack", "429", retry_after=1)]
    with pytest.raises(TransientDeliveryError):
        outbox.deliver("a2")  # a1 goes first, fails, so a2 waits
    assert slack.sent == []
    report = outbox.deliver("a3")
    assert report.earlier_sent == ("a1", "a2") and report.sent == ("slack",)
    assert slack.sent == ["a1", "a2", "a3"]
    assert outbox.deliver("a1").skipped == ("slack",)


def test_unconfigured_channel_is_dead_lettered(client: redis.Redis, namespace: str) -> None:
    outbox = outbox_with(client, namespace, RecordingChannel("console"))
    outbox.put(make_alert("a1"), ["console", "email"])
    report = outbox.deliver("a1")
    assert report.sent == ("console",) and report.dead == ("email",)
    assert "not configured" in outbox.dead_letters()[0].error


def test_unreachable_redis_is_state_unavailable() -> None:
    client = redis.Redis(
        host="127.0.0.1", port=free_port(), socket_connect_timeout=1, retry=Retry(NoBackoff(), 0)
    )
    outbox = Outbox(client, "nowhere", {})
    with pytest.raises(StateUnavailableError, match="Redis"):
        outbox.put(make_alert("a1"), ["console"])
    with pytest.raises(StateUnavailableError):
        outbox.pending()


@pytest.mark.slow
def test_burst_against_a_rate_limiting_webhook_delivers_each_once_in_order(
    client: redis.Redis, namespace: str, http_server: LocalHTTPServer
) -> None:
    refusals = 5
    accepted: list[str] = []
    lock = threading.Lock()

    def webhook(request: Request) -> Response:
        nonlocal refusals
        with lock:
            if refusals:
                refusals -= 1
                return Response(429, b"rate_limited", {"Retry-After": "0.1"})
            accepted.append(json.loads(request.body)["text"])
        return Response(200, b"ok")

    http_server.routes["/hook"] = webhook
    slack = SlackChannel(http_server.url("/hook"), min_interval=0.005)
    outbox = outbox_with(client, namespace, slack, claim_ttl=5)
    ids = [f"burst{i:03d}" for i in range(100)]
    for alert_id in ids:
        outbox.put(make_alert(alert_id, title=f"title {alert_id}"), ["slack"])

    def worker(mine: list[str]) -> None:
        """A Celery worker's view: deliver each task, retrying after retry_after."""
        for alert_id in mine:
            while True:
                try:
                    outbox.deliver(alert_id)
                    break
                except TransientDeliveryError as exc:
                    time.sleep(exc.retry_after or 0.05)

    workers = [threading.Thread(target=worker, args=(ids[i::4],)) for i in range(4)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=60)
    slack.close()

    assert len(http_server.requests_to("/hook")) == 105
    assert accepted == [f"[high] nk-casualties: title {alert_id}" for alert_id in ids]
    assert outbox.pending() == []


def test_a_deferred_alert_is_not_pending_until_its_retry_is_due(
        redis_base_url: str, namespace: str) -> None:
    client = redis.Redis.from_url(redis_base_url)
    outbox = Outbox(client, namespace, {"console": ConsoleChannel(io.StringIO())})
    alert = make_alert("a1")
    outbox.put(alert, ["console"])
    assert outbox.pending() == ["a1"]
    outbox.defer("a1", 0.2)
    assert outbox.pending() == []
    time.sleep(0.3)
    assert outbox.pending() == ["a1"]


def test_giving_up_dead_letters_every_channel_still_owed(
        redis_base_url: str, namespace: str) -> None:
    client = redis.Redis.from_url(redis_base_url)
    stream = io.StringIO()
    outbox = Outbox(client, namespace, {"console": ConsoleChannel(stream),
                                        "slack": ConsoleChannel(io.StringIO())})
    alert = make_alert("a2")
    outbox.put(alert, ["console", "slack", "email"])
    assert outbox.give_up("a2", "retries spent") == ["console", "email", "slack"]
    assert sorted(letter.channel for letter in outbox.dead_letters()) == [
        "console", "email", "slack"]
    assert outbox.pending() == []
