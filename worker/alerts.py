"""Build the alert record from a story, the rule's match and the coverage it follows."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

from worker.records import Alert, Change, EarlierItem, Fact, Match, Story


def figure_keys(changes: Sequence[Change]) -> list[str]:
    """The new figures of ``changes`` as stable text keys, sorted."""
    return sorted(f"{c.new.kind}:{c.new.value:g}-{c.new.high:g}:{c.new.unit}:"
                  f"{c.new.subject}:{c.new.measure}" for c in changes)


def alert_id(rule_id: str, story_id: str, changes: Sequence[Change] = ()) -> str:
    """One alert per (rule, story, new figures): judging a story again gives the same id,
    while an updated entry that brings another figure is another alert."""
    key = "\n".join((rule_id, story_id, *figure_keys(changes)))
    return hashlib.sha256(key.encode()).hexdigest()[:20]


def build_alert(
    story: Story,
    match: Match,
    *,
    severity: str,
    facts: Sequence[Fact],
    earlier: Sequence[EarlierItem],
    thread_id: str | None,
    now: datetime,
) -> Alert:
    this_id = alert_id(match.rule_id, story.id, match.changes)
    return Alert(
        id=this_id,
        rule_id=match.rule_id,
        severity=severity,
        story=story,
        changes=match.changes,
        facts=tuple(facts),
        earlier=tuple(earlier),
        outlets=(story.feed_title or story.feed_url,),
        thread_id=thread_id or this_id,
        reason=match.reason,
        created=now,
    )
