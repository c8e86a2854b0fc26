"""Fault tests against real processes: workers killed mid-poll and mid-send, Redis killed
or away for a while, two beats, three workers, Slack and SMTP down, a poison story, and
retry delays that must stay inside the broker's visibility timeout.

Each process test runs a redis-server of its own (appendonly, appendfsync always), real
``celery`` worker and beat processes and local feed, Slack and SMTP servers (see
``tests.processes``). Slack posts are counted by the endpoint (only those it accepted),
emails by aiosmtpd.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from tests.processes import Stack, figure_story, stack, wait_until
from tests.sample_feed import NEW_FIGURE, REPEAT, UNRELATED, rss
from tests.servers import LocalHTTPServer, Response
from worker.config import DEFAULT_COVERAGE, DEFAULT_RULES
from worker.coverage import load_articles
from worker.facts import extract_facts
from worker.fetch import Fetcher
from worker.pipeline import Monitor, PollReport, poll
from worker.records import Alert, Fact
from worker.rules import load_rules
from worker.state import RedisState

slow = pytest.mark.slow

#: How long a worker killed mid-poll keeps the feed locked, and mid-send its claim, plus the
#: sweep period and start-up: the bound for recovery after a SIGKILL.
RECOVERY_TIMEOUT = 90


def settle(deployment: Stack) -> None:
    """Worker and beat are up and the feed's first story is seen, without alerting."""
    deployment.feed.items = [UNRELATED]
    deployment.wait_for_polls(2, timeout=40)
    assert deployment.slack.posts == [] and deployment.smtp.subjects() == []


def assert_each_once(deployment: Stack, figures: list[str]) -> None:
    """One Slack post and one email per figure, and nothing else."""
    posts, subjects = deployment.slack.posts, deployment.smtp.subjects()
    assert len(posts) == len(figures), posts
    assert len(subjects) == len(figures), subjects
    for figure in figures:
        assert sum(figure in post for post in posts) == 1, (figure, posts)
        assert sum(figure in subject for subject in subjects) == 1, (figure, subjects)


@slow
@pytest.mark.parametrize(("server", "when"), [("feed", "mid_poll"), ("slack", "mid_delivery")])
def test_worker_killed_alerts_once_after_restart(tmp_path: Path, server: str, when: str) -> None:
    """SIGKILL while the feed request (a poll) or the Slack post (a delivery) hangs."""
    with stack(tmp_path) as deployment:
        worker = deployment.worker()
        deployment.beat()
        settle(deployment)
        hang = getattr(deployment, server).hang
        hang.arm()
        deployment.feed.items = [UNRELATED, NEW_FIGURE]
        assert hang.entered.wait(20), f"the worker never reached the {server} server"
        worker.kill()
        hang.release()
        deployment.worker()
        deployment.wait_for_alerts(1, 1, RECOVERY_TIMEOUT)
        deployment.wait_for_polls(3)
        assert_each_once(deployment, ["4,000"])


@slow
def test_redis_killed_and_restarted_loses_nothing_and_repeats_nothing(tmp_path: Path) -> None:
    # When Redis dies while the worker holds an unacknowledged task, kombu may give up
    # ("Unrecoverable error: AttributeError(... 'hostname')") and the worker exits; it
    # runs supervised, as under `newsmon run` or the compose restart policy.
    with stack(tmp_path) as deployment:
        worker = deployment.worker(supervised=True)
        beat = deployment.beat()
        settle(deployment)
        deployment.feed.items = [UNRELATED, NEW_FIGURE]
        deployment.wait_for_alerts(1, 1, 30)
        # The next alert is put and emailed, but owed to Slack when Redis dies.
        deployment.slack.status = 503
        queued = figure_story(2, "5,200")
        deployment.feed.items = [UNRELATED, NEW_FIGURE, queued]
        deployment.wait_for_alerts(1, 2, 30)
        deployment.redis.kill()
        deployment.redis.start()
        deployment.slack.status = 200
        # A delivery task lost with Redis is queued again by the sweep once its grace has
        # passed: up to worker.tasks' QUEUED_DELIVERY_GRACE + PENDING_SWEEP_SECONDS (60 s +
        # 15 s), plus the supervised worker's restart.
        deployment.wait_for_alerts(2, 2, 120)
        deployment.wait_for_polls(3)
        assert worker.alive and beat.alive
        assert_each_once(deployment, ["4,000", "5,200"])


@slow
def test_redis_away_for_a_while_worker_waits_and_catches_up(tmp_path: Path) -> None:
    with stack(tmp_path) as deployment:
        worker = deployment.worker()
        deployment.beat()
        settle(deployment)
        pid = worker.process.pid if worker.process else None
        deployment.redis.stop()
        deployment.feed.items = [UNRELATED, NEW_FIGURE]  # changed while Redis is away
        time.sleep(10)
        assert worker.alive and worker.process is not None and worker.process.pid == pid
        assert deployment.slack.posts == []
        deployment.redis.start()
        deployment.wait_for_alerts(1, 1, 60)
        deployment.wait_for_polls(3)
        assert worker.alive and worker.process.pid == pid
        assert_each_once(deployment, ["4,000"])
        log = worker.output()
        assert "Connection to broker lost" in log or "Cannot connect to redis" in log, log[-3000:]


def polls_over(deployment: Stack, seconds: float) -> int:
    before = deployment.feed.polls
    time.sleep(seconds)
    return deployment.feed.polls - before


def tasks_received(process_log: str) -> int:
    return len(re.findall(r"Task worker\.tasks\.poll_feed\[[^\]]+\] received", process_log))


@slow
def test_two_beats_still_poll_each_feed_once_per_interval(tmp_path: Path) -> None:
    interval, window = 2, 16
    with stack(tmp_path, interval=interval) as deployment:
        worker = deployment.worker()
        deployment.beat("beat1")
        deployment.beat("beat2")
        settle(deployment)
        received = tasks_received(worker.output())
        polls = polls_over(deployment, window)
        scheduled = tasks_received(worker.output()) - received
    expected = window / interval
    # Both beats did schedule every poll; the duplicates were skipped, not fetched.
    assert scheduled >= 1.5 * expected, (scheduled, polls)
    assert 0.6 * expected <= polls <= 1.3 * expected, (scheduled, polls)


@slow
def test_three_workers_poll_once_per_interval_and_deliver_each_alert_once(
        tmp_path: Path) -> None:
    interval, window = 2, 12
    figures = ["5,200", "6,300", "7,100"]
    with stack(tmp_path, interval=interval) as deployment:
        workers = [deployment.worker(f"w{n}") for n in (1, 2, 3)]
        deployment.beat()
        settle(deployment)
        deployment.feed.items = [UNRELATED, *(figure_story(n, figure)
                                              for n, figure in enumerate(figures))]
        deployment.wait_for_alerts(3, 3, 40)
        polls = polls_over(deployment, window)
        assert all(worker.alive for worker in workers)
        assert_each_once(deployment, figures)
        busy = [worker for worker in workers if "poll.done" in worker.output()]
    assert 0.6 * window / interval <= polls <= 1.3 * window / interval, polls
    assert len(busy) >= 2, "the polls were shared between workers"


#: Slack and SMTP are down this long: a minute, as issue 4 asks of a run to lose nothing.
OUTAGE_SECONDS = 60


@slow
def test_slack_and_smtp_down_alerts_wait_and_go_out_in_order(tmp_path: Path) -> None:
    from worker import tasks

    with stack(tmp_path) as deployment:
        deployment.worker()
        deployment.beat()
        settle(deployment)
        deployment.slack.status = 503
        deployment.smtp.stop()
        first, second = figure_story(1, "5,200"), figure_story(2, "6,300")
        deployment.feed.items = [UNRELATED, first]
        wait_until(lambda: deployment.alerts_put() == 1, 20, "the first alert put")
        deployment.feed.items = [UNRELATED, first, second]
        wait_until(lambda: deployment.alerts_put() == 2, 20, "the second alert put")
        time.sleep(OUTAGE_SECONDS)  # both owed, being retried with backoff
        assert deployment.slack.posts == [] and deployment.smtp.subjects() == []
        deployment.slack.status = 200
        deployment.smtp.start()
        # Deliveries back off to a minute at most: both go out within two steps of the return.
        deployment.wait_for_alerts(2, 2, 2 * tasks.DELIVERY_BACKOFF_CAP + 30)
        deployment.wait_for_polls(3)
        assert_each_once(deployment, ["5,200", "6,300"])
        posts, subjects = deployment.slack.posts, deployment.smtp.subjects()
    assert "5,200" in posts[0] and "6,300" in posts[1]
    assert "5,200" in subjects[0] and "6,300" in subjects[1]


# -- in-process: a poison story, retry delays, late acknowledgement ------------------------

NOW = datetime(2025, 1, 20, 12, tzinfo=UTC)


@pytest.fixture
def state(redis_base_url: str, namespace: str) -> RedisState:
    return RedisState.from_url(redis_base_url, namespace)


def poll_once(state: RedisState, url: str, sink: Callable[[Alert], None],
              now: datetime = NOW) -> PollReport:
    monitor = Monitor(load_rules(DEFAULT_RULES), load_articles(DEFAULT_COVERAGE), state)
    return poll("feed1", url, "Local Wire", 60, fetcher=Fetcher(allow_private=True),
                feeds=state, seen=state, monitor=monitor, sink=sink, now=now)


def test_a_poison_story_is_logged_and_skipped_and_the_others_alert(
        state: RedisState, http_server: LocalHTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    poison, good = figure_story(1, "5,200"), figure_story(2, "6,300")

    def extract(text: str) -> tuple[Fact, ...]:
        if "5,200" in text:
            raise RuntimeError("the extractor choked")
        return extract_facts(text)

    monkeypatch.setattr("worker.pipeline.extract_facts", extract)
    http_server.routes["/feed.xml"] = lambda request: Response(
        200, rss([UNRELATED, poison, good]), {"Content-Type": "application/rss+xml"})
    alerts: list[Alert] = []
    with capture_logs() as logs:
        report = poll_once(state, http_server.url("/feed.xml"), alerts.append)
    assert report.status == "new" and report.new_entries == 3
    assert [alert.story.title for alert in alerts] == [good[0]]
    [failure] = [entry for entry in logs if entry["event"] == "story.failed"]
    assert failure["title"] == poison[0]
    assert failure["error"] == "RuntimeError: the extractor choked"
    assert failure["feed"] == http_server.url("/feed.xml")
    [recorded] = state.failures()
    assert (recorded.title, recorded.error) == (poison[0], "RuntimeError: the extractor choked")
    # Marked seen with the rest: the next poll takes only the story added since.
    http_server.routes["/feed.xml"] = lambda request: Response(
        200, rss([UNRELATED, poison, good, REPEAT]), {"Content-Type": "application/rss+xml"})
    with capture_logs() as later_logs:
        later = poll_once(state, http_server.url("/feed.xml"), alerts.append,
                          NOW + timedelta(minutes=2))
    assert later.status == "new" and later.new_entries == 1
    assert not [entry for entry in later_logs if entry["event"] == "story.failed"]


def test_countdowns_never_exceed_the_cap_inside_the_visibility_timeout() -> None:
    from worker import tasks

    assert tasks.settings.visibility_timeout / 4 >= tasks.MAX_COUNTDOWN
    for retries in (0, 1, 5, 10, 30, 100, 1000):
        assert 0 < tasks._countdown(retries) <= tasks.MAX_COUNTDOWN
        assert tasks._countdown(retries, retry_after=7200.0) == tasks.MAX_COUNTDOWN
    assert tasks._countdown(100, retry_after=float("inf")) == tasks.MAX_COUNTDOWN
    assert tasks._countdown(0, retry_after=0.5) == 1.0  # backoff still applies
    # Deliveries back off to a minute at most, but a longer Retry-After is honoured.
    assert tasks._countdown(50, backoff_cap=tasks.DELIVERY_BACKOFF_CAP) == 60.0
    assert tasks._countdown(50, 120.0, tasks.DELIVERY_BACKOFF_CAP) == min(120.0,
                                                                           tasks.MAX_COUNTDOWN)


def test_a_long_retry_after_on_a_feed_becomes_its_next_poll(
        state: RedisState, http_server: LocalHTTPServer) -> None:
    http_server.routes["/feed.xml"] = lambda request: Response(
        429, b"slow down", {"Retry-After": "7200"})
    report = poll_once(state, http_server.url("/feed.xml"), lambda alert: None)
    assert report.status == "error"
    feed = state.get_feed("feed1")
    assert feed is not None and feed.next_poll == NOW + timedelta(seconds=7200)
    assert feed.last_status is not None and feed.last_status.startswith("rate-limited")
    # Kept to the second: a scheduled poll a minute early does not fetch.
    early = poll_once(state, http_server.url("/feed.xml"), lambda alert: None,
                      NOW + timedelta(seconds=7140))
    assert early.status == "skipped"
    assert len(http_server.requests_to("/feed.xml")) == 1


def test_tasks_are_acknowledged_late_and_requeued_when_their_worker_dies() -> None:
    from worker import tasks

    assert tasks.app.conf.task_acks_late is True
    assert tasks.app.conf.task_reject_on_worker_lost is True
    assert tasks.app.conf.worker_prefetch_multiplier == 1
    assert tasks.app.conf.broker_connection_max_retries is None
    for task in (tasks.poll_feed, tasks.deliver_alert, tasks.deliver_pending):
        assert task.acks_late is True
        assert task.reject_on_worker_lost in (None, True)  # None: the app's setting applies


def test_a_time_limit_during_matching_is_not_a_poison_story(
        state: RedisState, monkeypatch: pytest.MonkeyPatch) -> None:
    from celery.exceptions import SoftTimeLimitExceeded

    from worker.records import Story

    def stopped(text: str) -> tuple[Fact, ...]:
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr("worker.pipeline.extract_facts", stopped)
    monitor = Monitor(load_rules(DEFAULT_RULES), load_articles(DEFAULT_COVERAGE), state,
                      interruptions=(SoftTimeLimitExceeded,))
    story = Story(id="s1", feed_url="https://wire.example/rss", feed_title="Wire",
                  title=NEW_FIGURE[0], link="https://wire.example/1", published=NOW,
                  summary=NEW_FIGURE[1])
    with pytest.raises(SoftTimeLimitExceeded):
        monitor.process_stories([story], NOW)
    assert state.failures() == []
