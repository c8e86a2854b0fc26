"""Build the alert record from a story, the rule's match and the coverage it follows."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

from worker.records import Alert, EarlierItem, Fact, Match, Story


def alert_id(rule_id: str, story_id: str) -> str:
    """One alert per (rule, story): the same pair always gives the same id."""
    return hashlib.sha256(f"{rule_id}\n{story_id}".encode()).hexdigest()[:20]


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
    this_id = alert_id(match.rule_id, story.id)
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
