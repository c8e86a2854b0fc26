"""The one place where the edges are wired to the core.

Settings in, a ``Runtime`` out: the Redis stores, the fetcher, the monitor
(rules + coverage), the outbox and the delivery channels. Celery tasks and
CLI commands ask for a runtime; nothing else constructs these.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TextIO

import structlog

from worker.alerts import figure_keys
from worker.config import Feed, Settings, load_feeds
from worker.coverage import load_articles
from worker.deliver import Channel, ConsoleChannel, EmailChannel, SlackChannel
from worker.fetch import Fetcher
from worker.outbox import Outbox
from worker.pipeline import Monitor
from worker.records import Alert
from worker.rules import Rule, load_rules
from worker.state import MemoryState, RedisState

log = structlog.get_logger("newsmon.wiring")

#: A claim on an (alert, channel) expires after this; far inside the broker's
#: visibility timeout, so a crashed send is retried by the pending sweep first.
CLAIM_TTL_SECONDS = 60.0


def build_channels(settings: Settings, stream: TextIO | None = None) -> dict[str, Channel]:
    """Console always; Slack and email when their settings are present."""
    channels: dict[str, Channel] = {"console": ConsoleChannel(stream or sys.stdout)}
    if settings.slack_webhook_url:
        channels["slack"] = SlackChannel(settings.slack_webhook_url)
    if settings.smtp_url and settings.email_from:
        channels["email"] = EmailChannel(settings.smtp_url, settings.email_from,
                                         settings.email_to)
    return channels


def channels_for(rule: Rule | None, available: Mapping[str, Channel]) -> list[str]:
    """The rule's channels that are configured; every configured one by default."""
    if rule is None or rule.channels is None:
        return list(available)
    return [name for name in rule.channels if name in available]


def memory_monitor(settings: Settings) -> Monitor:
    """A monitor over a clean in-memory state: the shipped coverage only."""
    return Monitor(load_rules(settings.rules_path), load_articles(settings.coverage_path),
                   MemoryState())


@dataclass
class Runtime:
    settings: Settings
    feeds: tuple[Feed, ...]
    state: RedisState
    monitor: Monitor
    fetcher: Fetcher
    channels: dict[str, Channel]
    outbox: Outbox
    feeds_by_id: dict[str, Feed] = field(init=False)

    def __post_init__(self) -> None:
        self.feeds_by_id = {feed.id: feed for feed in self.feeds}

    def accept(self, alert: Alert) -> bool:
        """Put an alert in the outbox, routed by its rule; False if another worker's
        alert reported the same new figures first."""
        if not self.state.claim_figures(alert.rule_id, alert.id, figure_keys(alert.changes)):
            log.info("alert.figure_already_reported", alert_id=alert.id, rule=alert.rule_id)
            return False
        rule = self.monitor.rules_by_id.get(alert.rule_id)
        self.outbox.put(alert, channels_for(rule, self.channels))
        return True


def build_runtime(settings: Settings, stream: TextIO | None = None, *,
                  interruptions: tuple[type[BaseException], ...] = ()) -> Runtime:
    """``interruptions``: the task runner's own stops (Celery's soft time limit)."""
    feeds = load_feeds(settings.feeds_path, settings.poll_interval)
    state = RedisState.from_url(settings.redis_url, settings.namespace)
    monitor = Monitor(load_rules(settings.rules_path), load_articles(settings.coverage_path),
                      state, interruptions=interruptions)
    channels = build_channels(settings, stream)
    return Runtime(
        settings=settings,
        feeds=feeds,
        state=state,
        monitor=monitor,
        fetcher=Fetcher(allow_private=settings.allow_private_networks),
        channels=channels,
        outbox=Outbox(
            state.redis, settings.namespace, channels, claim_ttl=CLAIM_TTL_SECONDS,
            thread_window=settings.thread_window,
            digests={"slack": settings.digest_slack, "email": settings.digest_email},
        ),
    )
