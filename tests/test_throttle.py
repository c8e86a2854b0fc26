"""Per-thread throttling and digests against a real Redis, webhook and SMTP server."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from tests.servers import LocalHTTPServer, Response
from tests.smtp_servers import smtp_server
from tests.test_render import INJECTIONS, escaped, make_alert, slack_links
from worker.config import DigestPeriod, load_settings
from worker.deliver import ConsoleChannel, EmailChannel, SlackChannel
from worker.errors import ConfigError, PermanentDeliveryError, TransientDeliveryError
from worker.outbox import Flushed, Outbox, period_bounds
from worker.records import Alert
from worker.render import Bundle

HOOK = "/services/T000/B000/throttle"
WINDOW = 600.0
# 2024-12-24 09:20:00 UTC: inside an hour, inside a day
START = 1735032000.0


class Clock:
    """The outbox's clock, moved by hand."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class RecordingBundles:
    """A bundling channel that records what it sent; ``failures`` scripts bundle errors."""

    name = "slack"

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.bundles: list[Bundle] = []
        self.failures: list[Exception] = []

    def send(self, alert: Alert) -> None:
        self.sent.append(alert.id)

    def send_bundle(self, bundle: Bundle) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.bundles.append(bundle)


@pytest.fixture
def client(redis_base_url: str) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_base_url)
    yield connection
    connection.close()


@pytest.fixture
def slack(http_server: LocalHTTPServer) -> Iterator[SlackChannel]:
    http_server.routes[HOOK] = lambda request: Response(200, b"ok")
    channel = SlackChannel(http_server.url(HOOK), min_interval=0)
    yield channel
    channel.close()


def posts(server: LocalHTTPServer) -> list[dict[str, Any]]:
    return [json.loads(request.body) for request in server.requests_to(HOOK)]


def headers(payload: dict[str, Any]) -> list[str]:
    return [block["text"]["text"] for block in payload["blocks"] if block["type"] == "header"]


def flushed(*alert_ids: str) -> Flushed:
    """One bundle's worth of alerts sent to Slack."""
    return Flushed(channel="slack", alert_ids=alert_ids)


def on_thread(alert_id: str, thread: str = "thread-1", **fields: Any) -> Alert:
    return make_alert(alert_id, title=f"title {alert_id}", thread_id=thread, **fields)


# -- per-thread throttling ------------------------------------------------------


def test_three_alerts_on_a_thread_make_one_message_now_and_one_after_the_window(
    client: redis.Redis, namespace: str, http_server: LocalHTTPServer, slack: SlackChannel
) -> None:
    clock = Clock()
    outbox = Outbox(client, namespace, {"slack": slack}, clock=clock, thread_window=WINDOW)
    reports = []
    for offset, alert_id in enumerate(("a1", "a2", "a3")):
        clock.now = START + 10 * offset
        outbox.put(on_thread(alert_id), ["slack"])
        reports.append(outbox.deliver(alert_id))
    assert [(r.sent, r.held) for r in reports] == [
        (("slack",), ()), ((), ("slack",)), ((), ("slack",)),
    ]
    assert outbox.deliver("a2").held == ("slack",)  # waiting is not a failure
    assert outbox.pending() == []  # nothing for the sweep to re-queue
    assert len(posts(http_server)) == 1

    # the process dies; a new one on the same Redis flushes when the window ends
    restarted = Outbox(client, namespace, {"slack": slack}, clock=clock, thread_window=WINDOW)
    assert restarted.flush_due(START + WINDOW - 1).sent == ()
    report = restarted.flush_due(START + WINDOW)
    assert report.sent == (flushed("a2", "a3"),)
    assert restarted.flush_due(START + WINDOW + 1).sent == ()

    first, folded = posts(http_server)
    assert headers(first) == ["HIGH · nk-casualties"]
    assert headers(folded) == ["2 more developments on this thread"]
    assert sorted(link.split("|", 1)[1] for link in slack_links(folded) if "title" in link) == [
        "title a2", "title a3",
    ]
    for alert_id in ("a1", "a2", "a3"):
        assert restarted.deliver(alert_id).skipped == ("slack",)
    assert len(posts(http_server)) == 2


def test_the_folded_message_opens_the_next_window(client: redis.Redis, namespace: str) -> None:
    clock, channel = Clock(), RecordingBundles()
    outbox = Outbox(client, namespace, {"slack": channel}, clock=clock, thread_window=WINDOW)
    for alert_id in ("a1", "a2"):
        outbox.put(on_thread(alert_id), ["slack"])
        outbox.deliver(alert_id)
    clock.now = START + WINDOW + 5
    outbox.flush_due()
    clock.now += 100  # inside the window the folded message opened
    outbox.put(on_thread("a3"), ["slack"])
    assert outbox.deliver("a3").held == ("slack",)
    assert outbox.flush_due(START + 2 * WINDOW + 4).sent == ()
    assert outbox.flush_due(START + 2 * WINDOW + 5).sent == (flushed("a3"),)
    clock.now = START + 4 * WINDOW  # quiet for a whole window: the next goes at once
    outbox.put(on_thread("a4"), ["slack"])
    assert outbox.deliver("a4").sent == ("slack",)
    assert channel.sent == ["a1", "a4"]
    assert [[a.id for a in b.alerts] for b in channel.bundles] == [["a2"], ["a3"]]


def test_threads_are_throttled_separately_and_the_console_never(
    client: redis.Redis, namespace: str
) -> None:
    stream, channel = io.StringIO(), RecordingBundles()
    outbox = Outbox(
        client, namespace, {"console": ConsoleChannel(stream), "slack": channel},
        clock=Clock(), thread_window=WINDOW,
    )
    for alert_id, thread in (("a1", "t1"), ("a2", "t2"), ("a3", "t1")):
        outbox.put(on_thread(alert_id, thread), ["console", "slack"])
        outbox.deliver(alert_id)
    assert channel.sent == ["a1", "a2"]
    assert [json.loads(line)["title"] for line in stream.getvalue().splitlines()] == [
        "title a1", "title a2", "title a3",
    ]


def test_a_window_of_zero_sends_every_alert_alone(client: redis.Redis, namespace: str) -> None:
    channel = RecordingBundles()
    outbox = Outbox(client, namespace, {"slack": channel}, clock=Clock(), thread_window=0)
    for alert_id in ("a1", "a2", "a3"):
        outbox.put(on_thread(alert_id), ["slack"])
        assert outbox.deliver(alert_id).sent == ("slack",)
    assert channel.sent == ["a1", "a2", "a3"]
    assert outbox.flush_due(START + 10 * WINDOW).sent == ()


def test_the_alert_that_opened_a_window_still_goes_alone_after_a_failed_send(
    client: redis.Redis, namespace: str
) -> None:
    class FlakySlack(RecordingBundles):
        def send(self, alert: Alert) -> None:
            if self.failures:
                raise self.failures.pop(0)
            super().send(alert)

    channel = FlakySlack()
    channel.failures = [TransientDeliveryError("slack", "503")]
    outbox = Outbox(client, namespace, {"slack": channel}, clock=Clock(), thread_window=WINDOW)
    outbox.put(on_thread("a1"), ["slack"])
    with pytest.raises(TransientDeliveryError):
        outbox.deliver("a1")  # its window is open now
    assert outbox.deliver("a1").sent == ("slack",)  # the retry, not held behind itself
    outbox.put(on_thread("a2"), ["slack"])
    assert outbox.deliver("a2").held == ("slack",)
    assert channel.sent == ["a1"]


def test_an_alert_held_while_its_batch_is_being_sent_waits_for_the_next_window(
    client: redis.Redis, namespace: str
) -> None:
    clock = Clock()

    class LateArrival(RecordingBundles):
        def send_bundle(self, bundle: Bundle) -> None:
            super().send_bundle(bundle)
            outbox.put(on_thread("late"), ["slack"])
            assert outbox.deliver("late").held == ("slack",)

    channel = LateArrival()
    outbox = Outbox(client, namespace, {"slack": channel}, clock=clock, thread_window=WINDOW)
    for alert_id in ("a1", "a2"):
        outbox.put(on_thread(alert_id), ["slack"])
        outbox.deliver(alert_id)
    clock.now = START + WINDOW
    assert outbox.flush_due().sent == (flushed("a2"),)
    assert outbox.flush_due(START + 2 * WINDOW - 1).sent == ()
    assert outbox.flush_due(START + 2 * WINDOW).sent == (flushed("late"),)


def test_a_transient_failure_keeps_the_bundle_and_a_permanent_one_dead_letters_it(
    client: redis.Redis, namespace: str
) -> None:
    channel = RecordingBundles()
    channel.failures = [
        TransientDeliveryError("slack", "429", retry_after=3),
        PermanentDeliveryError("slack", "webhook revoked"),
    ]
    outbox = Outbox(client, namespace, {"slack": channel}, clock=Clock(), thread_window=WINDOW)
    for alert_id in ("a1", "a2", "a3"):
        outbox.put(on_thread(alert_id), ["slack"])
        outbox.deliver(alert_id)

    failed = outbox.flush_due(START + WINDOW)
    assert failed.sent == () and failed.failed == ("slack: 429",)
    refused = outbox.flush_due(START + WINDOW)
    assert refused.dead == (flushed("a2", "a3"),)
    assert sorted((d.alert_id, d.error) for d in outbox.dead_letters()) == [
        ("a2", "slack: webhook revoked"), ("a3", "slack: webhook revoked"),
    ]
    assert outbox.deliver("a2").skipped == ("slack",)

    # retried dead letters are held again and go in the next fold
    assert outbox.retry_dead_letters() == ["a2", "a3"]
    assert [outbox.deliver(a).held for a in ("a2", "a3")] == [("slack",), ("slack",)]
    assert outbox.flush_due(START + 2 * WINDOW).sent == (flushed("a2", "a3"),)
    assert channel.sent == ["a1"] and len(channel.bundles) == 1


def test_email_fold_replies_to_the_thread_root(client: redis.Redis, namespace: str) -> None:
    with smtp_server() as (port, handler):
        email = EmailChannel(f"smtp://127.0.0.1:{port}?tls=none", "newsmon@example.org",
                             ["desk@example.org"])
        outbox = Outbox(client, namespace, {"email": email}, clock=Clock(),
                        thread_window=WINDOW)
        for alert_id in ("a1", "a2", "a3"):
            outbox.put(on_thread(alert_id, "seed-000"), ["email"])
            outbox.deliver(alert_id)
        outbox.flush_due(START + WINDOW)
        single, folded = handler.messages()
    assert folded["Subject"] == "[newsmon] 2 more developments on this thread: title a3"
    assert folded["In-Reply-To"] == folded["References"] == "<seed-000@newsmon>"
    assert single["In-Reply-To"] == "<seed-000@newsmon>"
    text = folded.get_body(("plain",))
    assert text is not None and "title a2" in text.get_content()


# -- digests --------------------------------------------------------------------


def test_hourly_digest_posts_once_at_the_hour_with_every_headline_escaped(
    client: redis.Redis, namespace: str, http_server: LocalHTTPServer, slack: SlackChannel
) -> None:
    clock = Clock()
    outbox = Outbox(client, namespace, {"slack": slack}, clock=clock, thread_window=WINDOW,
                    digests={"slack": "hourly"})
    for index in range(5):
        clock.now = START + 60 * index
        alert = make_alert(f"d{index}", title=f"headline {index} {INJECTIONS}",
                           rule_id="gas-deal" if index % 2 else "nk-casualties")
        outbox.put(alert, ["slack"])
        assert outbox.deliver(alert.id).held == ("slack",)
    assert posts(http_server) == [] and outbox.pending() == []

    _, hour_end = period_bounds("hourly", START)
    assert outbox.flush_due(hour_end - 1).sent == ()
    assert outbox.flush_due(hour_end).sent == (
        flushed(*(f"d{index}" for index in range(5))),
    )
    (digest,) = posts(http_server)
    assert headers(digest) == ["Hourly digest: 5 alerts"]
    titles = sorted(link.split("|", 1)[1] for link in slack_links(digest) if "headline" in link)
    assert titles == [f"headline {index} {escaped(INJECTIONS)}" for index in range(5)]
    assert "<!channel>" not in json.dumps(digest)
    sections = [b["text"]["text"] for b in digest["blocks"] if b["type"] == "section"]
    assert sections[0].startswith("*nk-casualties* · 3 alerts")
    assert sections[1].startswith("*gas-deal* · 2 alerts")
    context = digest["blocks"][1]["elements"][0]["text"]
    assert context == "2024-12-24 09:00–10:00 UTC"


def test_an_alert_after_the_hour_waits_for_the_next_digest(
    client: redis.Redis, namespace: str
) -> None:
    clock, channel = Clock(), RecordingBundles()
    outbox = Outbox(client, namespace, {"slack": channel}, clock=clock,
                    digests={"slack": "hourly"})
    _, hour_end = period_bounds("hourly", START)
    outbox.put(make_alert("d1"), ["slack"])
    outbox.deliver("d1")
    clock.now = hour_end + 1  # delivered after the hour, before the flush ran
    outbox.put(make_alert("d2"), ["slack"])
    outbox.deliver("d2")
    assert outbox.flush_due().sent == (flushed("d1"),)
    assert outbox.flush_due(hour_end + 3600).sent == (flushed("d2"),)
    assert channel.sent == []


def test_email_digest_is_one_multipart_message(client: redis.Redis, namespace: str) -> None:
    clock = Clock()
    with smtp_server() as (port, handler):
        email = EmailChannel(f"smtp://127.0.0.1:{port}?tls=none", "newsmon@example.org",
                             ["desk@example.org"])
        outbox = Outbox(client, namespace, {"email": email}, clock=clock,
                        digests={"email": "daily"})
        for index in range(5):
            clock.now = START + 3600 * index
            outbox.put(make_alert(f"d{index}", title=f"<b>headline {index}</b>"), ["email"])
            outbox.deliver(f"d{index}")
        assert handler.messages() == []
        _, day_end = period_bounds("daily", START)
        outbox.flush_due(day_end)
        (message,) = handler.messages()
    assert message.get_content_type() == "multipart/alternative"
    assert message["Subject"] == (
        "[newsmon] Daily digest: 5 alerts, 2024-12-24 00:00–2024-12-25 00:00 UTC"
    )
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None and html is not None
    for index in range(5):
        assert f"<b>headline {index}</b>" in plain.get_content()
        assert f"&lt;b&gt;headline {index}&lt;/b&gt;" in html.get_content()
    assert "<b>" not in html.get_content()


def test_a_channel_that_cannot_bundle_refuses_a_digest(
    client: redis.Redis, namespace: str
) -> None:
    with pytest.raises(ValueError, match="console"):
        Outbox(client, namespace, {"console": ConsoleChannel(io.StringIO())},
               digests={"console": "hourly"})


@pytest.mark.parametrize(
    ("period", "moment", "bounds"),
    [
        ("hourly", START, (1735030800.0, 1735034400.0)),
        ("daily", START, (1734998400.0, 1735084800.0)),
        ("hourly", 1735030800.0, (1735030800.0, 1735034400.0)),
    ],
)
def test_period_bounds_are_utc_hours_and_days(
    period: DigestPeriod, moment: float, bounds: tuple[float, float]
) -> None:
    assert period_bounds(period, moment) == bounds


# -- settings -----------------------------------------------------------------


def test_settings_read_the_window_and_digest_modes() -> None:
    settings = load_settings(
        {"NEWSMON_THREAD_WINDOW": "900", "NEWSMON_DIGEST_SLACK": "Hourly",
         "NEWSMON_DIGEST_EMAIL": "off"},
        dotenv=False,
    )
    assert (settings.thread_window, settings.digest_slack, settings.digest_email) == (
        900.0, "hourly", None,
    )
    defaults = load_settings({}, dotenv=False)
    assert (defaults.thread_window, defaults.digest_slack, defaults.digest_email) == (
        0.0, None, None,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [("NEWSMON_THREAD_WINDOW", "-5"), ("NEWSMON_THREAD_WINDOW", "soon"),
     ("NEWSMON_DIGEST_SLACK", "weekly"), ("NEWSMON_DIGEST_EMAIL", "1")],
)
def test_bad_throttle_settings_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_settings({name: value}, dotenv=False)
