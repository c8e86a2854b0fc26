"""One poll through the real edges: a local feed server, a real Redis, the real fetcher."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest

from tests.sample_feed import NEW_FIGURE, REPEAT, UNRELATED, rss
from tests.servers import LocalHTTPServer, Response
from worker.config import DEFAULT_COVERAGE, DEFAULT_RULES
from worker.coverage import load_articles
from worker.fetch import Fetcher
from worker.pipeline import Monitor, PollReport, poll
from worker.records import Alert, Story
from worker.rules import load_rules
from worker.state import RedisState

pytestmark = pytest.mark.integration

NOW = datetime(2025, 1, 20, 12, tzinfo=UTC)


class Poller:
    """A worker process's view: its own Monitor over the shared Redis state."""

    def __init__(self, redis_url: str, namespace: str) -> None:
        self.state = RedisState.from_url(redis_url, namespace)
        self.monitor = Monitor(load_rules(DEFAULT_RULES), load_articles(DEFAULT_COVERAGE),
                               self.state)
        self.fetcher = Fetcher(allow_private=True)
        self.alerts: list[Alert] = []

    def poll(self, url: str, now: datetime = NOW) -> PollReport:
        return poll("feed1", url, "Local Wire", 60, fetcher=self.fetcher, feeds=self.state,
                    seen=self.state, monitor=self.monitor, sink=self.alerts.append, now=now)


@pytest.fixture
def poller(redis_base_url: str, namespace: str) -> Poller:
    return Poller(redis_base_url, namespace)


def serve(server: LocalHTTPServer, items: list[tuple[str, str]], etag: str | None = None) -> None:
    def answer(request):  # type: ignore[no-untyped-def]
        if etag and request.headers.get("If-None-Match") == etag:
            return Response(304)
        headers = {"Content-Type": "application/rss+xml"}
        if etag:
            headers["ETag"] = etag
        return Response(200, rss(items), headers)

    server.routes["/feed.xml"] = answer


def test_new_figure_alerts_once_and_repeat_polls_are_conditional(
        poller: Poller, http_server: LocalHTTPServer) -> None:
    serve(http_server, [UNRELATED, REPEAT, NEW_FIGURE], etag='"v1"')
    report = poller.poll(http_server.url("/feed.xml"))
    assert report.status == "new" and report.new_entries == 3
    assert [a.rule_id for a in poller.alerts] == ["casualty-figure"]
    assert poller.alerts[0].earlier[0].id == "000_cec66fe4180fa49a"

    again = poller.poll(http_server.url("/feed.xml"), NOW + timedelta(minutes=2))
    assert again.status == "not-modified"
    assert http_server.requests_to("/feed.xml")[-1].headers["If-None-Match"] == '"v1"'
    assert len(poller.alerts) == 1


def test_seen_entries_survive_a_restart(redis_base_url: str, namespace: str,
                                        http_server: LocalHTTPServer) -> None:
    serve(http_server, [UNRELATED, NEW_FIGURE])
    first = Poller(redis_base_url, namespace)
    first.poll(http_server.url("/feed.xml"))
    assert len(first.alerts) == 1
    # A new process (new Monitor, new connection) with a changed body: only the new entry
    # is processed, and the figure alerted before is known from the shared coverage log.
    serve(http_server, [UNRELATED, NEW_FIGURE, REPEAT])
    second = Poller(redis_base_url, namespace)
    report = second.poll(http_server.url("/feed.xml"), NOW + timedelta(minutes=5))
    assert report.new_entries == 1
    assert second.alerts == []
    assert NEW_FIGURE[0] in {item.title for item in second.monitor.coverage.items}


def test_a_broken_feed_is_recorded_not_raised(poller: Poller,
                                             http_server: LocalHTTPServer) -> None:
    http_server.routes["/feed.xml"] = lambda request: Response(500, b"oops")
    report = poller.poll(http_server.url("/feed.xml"))
    assert report.status == "error" and "500" in (report.error or "")
    state = poller.state.get_feed("feed1")
    assert state is not None and state.consecutive_errors == 1
    assert state.next_poll is not None and state.next_poll > NOW + timedelta(seconds=60)
    # Backed off: polling before next_poll does nothing.
    skipped = poller.poll(http_server.url("/feed.xml"), NOW + timedelta(seconds=30))
    assert skipped.status == "skipped"
    assert len(http_server.requests_to("/feed.xml")) == 1


def test_gone_feed_is_disabled(poller: Poller, http_server: LocalHTTPServer) -> None:
    http_server.routes["/feed.xml"] = lambda request: Response(410, b"gone")
    assert poller.poll(http_server.url("/feed.xml")).status == "gone"
    later = poller.poll(http_server.url("/feed.xml"), NOW + timedelta(days=1))
    assert later.status == "skipped" and "410" in (later.error or "")
    assert len(http_server.requests_to("/feed.xml")) == 1


def test_not_a_feed_is_a_parse_error(poller: Poller, http_server: LocalHTTPServer,
                                     tmp_path: Path) -> None:
    http_server.routes["/feed.xml"] = lambda request: Response(
        200, b"<html><body>login</body></html>", {"Content-Type": "text/html"})
    report = poller.poll(http_server.url("/feed.xml"))
    assert report.status == "error" and report.error


def test_an_alert_lost_before_the_outbox_is_made_again_by_the_retried_poll(
        poller: Poller, http_server: LocalHTTPServer) -> None:
    from worker.errors import StateUnavailableError

    serve(http_server, [UNRELATED, NEW_FIGURE])

    def outbox_down(alert: Alert) -> None:
        raise StateUnavailableError("Redis is unreachable")

    with pytest.raises(StateUnavailableError):
        poll("feed1", http_server.url("/feed.xml"), "Local Wire", 60, fetcher=poller.fetcher,
             feeds=poller.state, seen=poller.state, monitor=poller.monitor, sink=outbox_down,
             now=NOW)
    # The story already joined the coverage, but it is not its own precedent: the
    # retried poll makes the same alert (same id, so the outbox keeps it once).
    report = poller.poll(http_server.url("/feed.xml"), NOW + timedelta(seconds=30))
    assert report.new_entries == 2
    assert [a.rule_id for a in poller.alerts] == ["casualty-figure"]


def test_an_updated_entry_with_a_new_figure_alerts_again(
        poller: Poller, http_server: LocalHTTPServer) -> None:
    serve(http_server, [NEW_FIGURE])
    poller.poll(http_server.url("/feed.xml"))
    updated = (NEW_FIGURE[0].replace("4,000", "4,500"),
               NEW_FIGURE[1].replace("4,000", "4,500"))
    serve(http_server, [updated])  # the same guid, edited
    poller.poll(http_server.url("/feed.xml"), NOW + timedelta(minutes=5))
    first, second = poller.alerts
    assert first.story.id == second.story.id and first.id != second.id
    assert second.changes[0].new.value == 4500


def test_the_validators_of_a_body_that_failed_to_parse_are_not_kept(
        poller: Poller, http_server: LocalHTTPServer) -> None:
    http_server.routes["/feed.xml"] = lambda request: Response(
        200, b"<html><body>maintenance</body></html>",
        {"Content-Type": "text/html", "ETag": '"broken"'})
    assert poller.poll(http_server.url("/feed.xml")).status == "error"
    later = poller.poll(http_server.url("/feed.xml"), NOW + timedelta(hours=1))
    assert later.status == "error"  # fetched and read again, not "not-modified"
    assert "If-None-Match" not in http_server.requests_to("/feed.xml")[-1].headers
    state = poller.state.get_feed("feed1")
    assert state is not None and state.consecutive_errors == 2


def test_two_workers_judging_one_new_figure_at_once_alert_it_once(
        redis_base_url: str, namespace: str) -> None:
    from worker.alerts import figure_keys

    first, second = Poller(redis_base_url, namespace), Poller(redis_base_url, namespace)
    story_a = Story(id="a", feed_url="https://a.example/rss", feed_title="A",
                    title=NEW_FIGURE[0], link="https://a.example/1", published=NOW,
                    summary=NEW_FIGURE[1])
    story_b = msgspec.structs.replace(story_a, id="b", feed_url="https://b.example/rss",
                                      feed_title="B", link="https://b.example/1")
    # Both judge before either's alert reaches the shared coverage.
    (alert_a,) = first.monitor.assess(story_a, NOW).alerts
    (alert_b,) = second.monitor.assess(story_b, NOW).alerts
    claim = first.state.claim_figures
    assert claim(alert_a.rule_id, alert_a.id, figure_keys(alert_a.changes))
    assert not claim(alert_b.rule_id, alert_b.id, figure_keys(alert_b.changes))
    # The winner may claim again (a retried poll), and alerts without figures always may.
    assert claim(alert_a.rule_id, alert_a.id, figure_keys(alert_a.changes))
    assert claim("gas-deal", "x", [])
