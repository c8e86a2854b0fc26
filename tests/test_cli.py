"""The ``newsmon`` commands at work: their output on the shipped rules and the eval streams.

In-process with click's CliRunner. Commands that read the daemon's state run against
the suite's real redis-server, under the test's own namespace. Bad input and exit
codes are tests/test_cli_errors.py's subject.
"""

from __future__ import annotations

import io
import json
import os
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest
from click.testing import CliRunner, Result

from worker.cli import main, stories_from_jsonl
from worker.config import feed_id, load_settings
from worker.deliver import ConsoleChannel
from worker.outbox import Outbox
from worker.records import Alert
from worker.state import FeedState, RedisState
from worker.wiring import memory_monitor

EVAL = Path(__file__).parent / "data" / "eval"
DEV = EVAL / "dev.jsonl"
HELDOUT = EVAL / "heldout.jsonl"
RULE_IDS = {"casualty-figure", "gas-deal", "aid-package"}
OPML = """<?xml version="1.0"?>
<opml version="2.0"><body>
  <outline text="Wire" title="Wire World" xmlUrl="https://wire.example/world.rss"/>
  <outline text="Desk" xmlUrl="https://desk.example/feed"/>
</body></opml>
"""


@pytest.fixture(autouse=True)
def clean_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No NEWSMON_* from the caller's shell, no .env from the working directory."""
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("NEWSMON_")]:
        monkeypatch.delenv(name)


def newsmon(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), prog_name="newsmon", catch_exceptions=False)


def dev_alerts() -> list[Alert]:
    monitor = memory_monitor(load_settings(dotenv=False))
    assessments = monitor.process_stories(stories_from_jsonl(DEV), now=datetime.now(UTC))
    return [alert for a in assessments for alert in a.alerts]


# --- without a daemon --------------------------------------------------------------------

def test_rules_lists_the_three_shipped_rules() -> None:
    result = newsmon("rules")

    assert result.exit_code == 0, result.output
    header, *lines = result.stdout.splitlines()
    assert header.split() == ["id", "severity", "novelty", "channels", "name", "file"]
    assert {line.split()[0] for line in lines} == RULE_IDS
    casualty = next(line for line in lines if line.startswith("casualty-figure"))
    assert "high" in casualty and "new-figure" in casualty


def test_rules_test_explains_matches_and_near_misses() -> None:
    result = newsmon("rules", "test", "casualty-figure", str(DEV))

    assert result.exit_code == 0, result.output
    alerts = result.stdout.count("casualty-figure: ALERT: new figure")
    near = result.stdout.count("casualty-figure: no: ")
    assert alerts > 0 and near > 0
    assert "repeats a known figure" in result.stdout  # why a near miss did not alert
    assert "gas-deal" not in result.stdout
    stories = sum(1 for line in DEV.read_text().splitlines() if line.strip())
    assert result.stderr.strip() == (
        f"{stories} stories: {alerts} alerts, {near} near misses")


def test_check_json_prints_one_alert_per_line(tmp_path: Path) -> None:
    result = newsmon("check", str(HELDOUT), "--json")
    replayed = newsmon("replay", str(HELDOUT), "--out", str(tmp_path / "alerts.jsonl"))

    assert result.exit_code == 0, result.output
    alerts = [json.loads(line) for line in result.stdout.splitlines()]
    assert alerts
    assert {alert["rule"] for alert in alerts} <= RULE_IDS
    assert all(alert["link"].startswith("https://") for alert in alerts)
    # check and replay run the same pipeline: the same alerts, whatever the clock says.
    out = (tmp_path / "alerts.jsonl").read_text().splitlines()
    assert replayed.exit_code == 0, replayed.output
    assert [(a["rule"], a["link"]) for a in alerts] == [
        (a["rule"], a["link"]) for a in map(json.loads, out)]


def test_check_explain_shows_each_rules_decision() -> None:
    result = newsmon("check", str(DEV), "--explain")

    assert result.exit_code == 0, result.output
    assert "ALERT casualty-figure [high]:" in result.stdout
    assert "    casualty-figure: no: repeats a known figure" in result.stdout
    assert "  follows " in result.stdout  # alerts link back to earlier coverage


def test_replay_prints_alerts_per_rule(tmp_path: Path) -> None:
    out = tmp_path / "alerts.jsonl"

    result = newsmon("replay", str(DEV), "--out", str(out))

    assert result.exit_code == 0, result.output
    written = Counter(json.loads(line)["rule"] for line in out.read_text().splitlines())
    table = [line.split() for line in result.stdout.splitlines()]
    assert table[0] == ["rule", "alerts"]
    assert {row[0]: int(row[1]) for row in table[1:-1]} == {
        rule: written[rule] for rule in RULE_IDS}
    assert table[-1] == ["total", str(sum(written.values()))]
    stories = sum(1 for line in DEV.read_text().splitlines() if line.strip())
    assert result.stderr == (
        f"{stories} stories read, {sum(written.values())} alerts written to {out}\n")


def test_backtest_prints_a_score_per_rule() -> None:
    result = newsmon("backtest", str(HELDOUT), str(EVAL / "labels.jsonl"))

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["rule", "TP", "FP", "FN", "precision", "recall"]
    assert {line.split()[0] for line in lines[1:4]} == RULE_IDS


# --- against the daemon's Redis ----------------------------------------------------------

@pytest.fixture
def daemon_env(redis_base_url: str, namespace: str, monkeypatch: pytest.MonkeyPatch,
               tmp_path: Path) -> Iterator[RedisState]:
    """Settings pointing at the test's Redis namespace and a feed list of two feeds."""
    feeds = tmp_path / "feeds.yaml"
    imported = newsmon("feeds", "import", _opml(tmp_path), "--out", str(feeds))
    assert imported.exit_code == 0, imported.output
    monkeypatch.setenv("NEWSMON_REDIS_URL", redis_base_url)
    monkeypatch.setenv("NEWSMON_NAMESPACE", namespace)
    monkeypatch.setenv("NEWSMON_FEEDS", str(feeds))
    state = RedisState.from_url(redis_base_url, namespace)
    yield state
    state.redis.close()


def _opml(tmp_path: Path) -> str:
    path = tmp_path / "subscriptions.opml"
    path.write_text(OPML)
    return str(path)


def _polled(state: RedisState, when: datetime) -> None:
    url = "https://wire.example/world.rss"
    state.put_feed(FeedState(feed_id=feed_id(url), url=url, last_poll=when, last_status="200",
                             next_poll=when + timedelta(minutes=5), entries_seen=7))


def test_imported_feed_list_is_what_feeds_shows(daemon_env: RedisState) -> None:
    when = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    _polled(daemon_env, when)

    listed = newsmon("feeds", "--json")
    table = newsmon("feeds")

    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert [(row["url"], row["title"]) for row in rows] == [
        ("https://wire.example/world.rss", "Wire World"),
        ("https://desk.example/feed", "Desk")]
    assert rows[0]["entries_seen"] == 7 and rows[1]["last_poll"] is None
    assert table.exit_code == 0, table.output
    header, wire, desk = table.stdout.splitlines()
    assert header.split() == ["title", "last_poll", "last_status", "entries_seen", "next_poll",
                              "consecutive_errors", "disabled"]
    assert wire.split()[:5] == ["Wire", "World", "2025-01-02", "03:04:05", "200"]
    assert desk.split()[:2] == ["Desk", "-"]


def test_status_reports_redis_workers_queue_alerts_and_feeds(
        daemon_env: RedisState, namespace: str) -> None:
    now = datetime.now(UTC)
    _polled(daemon_env, now)
    outbox = Outbox(daemon_env.redis, namespace, {})
    yesterday, today = dev_alerts()[:2]
    outbox.put(msgspec.structs.replace(yesterday, created=now - timedelta(days=1)), ["console"])
    outbox.put(msgspec.structs.replace(today, created=now), ["console"])

    result = newsmon("status", "--timeout", "0.2")

    assert result.exit_code == 0, result.output
    fields, feeds = result.stdout.split("\n\n")
    lines = dict(line.split(None, 1) for line in fields.replace("workers alive", "workers")
                 .replace("queue depth", "queue").replace("alerts today", "alerts")
                 .splitlines())
    assert lines["redis"].startswith("reachable at redis://127.0.0.1:")
    assert lines["workers"] == "0"  # no worker runs in this test
    assert lines["queue"] == str(daemon_env.redis.llen("celery"))
    assert lines["alerts"].startswith("1 (since ")
    header, wire, desk = feeds.splitlines()
    assert header.split() == ["title", "last_poll", "last_status", "next_poll"]
    assert wire.split()[2] == f"{now:%Y-%m-%d}" and wire.split()[4] == "200"
    assert desk.split() == ["Desk", "-", "-", "-"]


def test_alerts_lists_recent_and_failed(daemon_env: RedisState, namespace: str) -> None:
    outbox = Outbox(daemon_env.redis, namespace, {"console": ConsoleChannel(io.StringIO())})
    first, second = dev_alerts()[:2]
    outbox.put(first, ["console"])
    outbox.put(second, ["console"])
    outbox.dead_letter(first.id, "console", "the console is closed")

    recent = newsmon("alerts")
    failed = newsmon("alerts", "--failed")

    assert recent.exit_code == 0, recent.output
    header, *rows = recent.stdout.splitlines()
    assert header.split() == ["created", "rule", "severity", "title", "link"]
    assert [row.rsplit(None, 1)[1] for row in rows] == [second.story.link, first.story.link]
    assert failed.exit_code == 0, failed.output
    header, row = failed.stdout.splitlines()
    assert header.split() == ["failed_at", "alert", "channel", "title", "error"]
    assert first.id in row and "the console is closed" in row

