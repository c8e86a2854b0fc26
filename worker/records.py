"""The small frozen records the pipeline stages hand each other.

Every stage takes records and returns records; none of them is a loose dict.
They are msgspec structs so the same definitions validate and (de)serialise
what goes through Redis and the JSONL files.
"""

from __future__ import annotations

import enum
from datetime import datetime

import msgspec


class Record(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base of every record: immutable, keyword-only."""


class FactKind(enum.StrEnum):
    CASUALTY = "casualty"
    MONEY = "money"
    GAS_VOLUME = "gas_volume"


class Story(Record, frozen=True):
    """One feed entry, normalised: plain text, canonical link, aware UTC time."""

    id: str  # stable: derived from the feed URL and the entry's own id or link
    feed_url: str
    feed_title: str
    title: str
    link: str
    published: datetime | None
    summary: str


class Fact(Record, frozen=True):
    """A figure a story reports, typed and normalised.

    ``value`` is the low end and ``high`` the high end of a range (equal for a
    single figure). ``unit`` is "people", a currency code ("USD", "EUR", "GBP")
    or "m3" for gas volumes.
    """

    kind: FactKind
    value: float
    high: float
    unit: str
    text: str  # the words the figure was read from, as written
    subject: str | None = None  # whose: "north_korean", "russian", "ukrainian", "civilians"
    measure: str | None = None  # "killed", "wounded", "killed_or_wounded", "casualties", ...
    qualifier: str | None = None  # "more_than", "at_least", "about", "nearly", "up_to"
    attribution: str | None = None  # who says so, as written
    period: str | None = None  # time frame, as written ("in one week")


class KnownFact(Record, frozen=True):
    """A fact already reported, with where and when it was reported."""

    fact: Fact
    source_id: str
    source_title: str
    published: datetime | None


class Change(Record, frozen=True):
    """A new fact and the closest figure known before it (if any)."""

    new: Fact
    previous: KnownFact | None


class Match(Record, frozen=True):
    """A rule that fired on a story, and why."""

    rule_id: str
    story_id: str
    terms: tuple[str, ...]  # the rule's words found in the story
    changes: tuple[Change, ...]  # what is new; empty for rules without figures
    reason: str  # one sentence a person can read


class EarlierItem(Record, frozen=True):
    """A piece of earlier coverage an alert follows, with the connecting sentence."""

    id: str
    title: str
    url: str
    quote: str
    score: float


class Alert(Record, frozen=True):
    """What gets delivered: one rule, one story, what changed, what it follows."""

    id: str
    rule_id: str
    severity: str
    story: Story
    changes: tuple[Change, ...]
    facts: tuple[Fact, ...]
    earlier: tuple[EarlierItem, ...]
    outlets: tuple[str, ...]  # every feed title that carried the story
    thread_id: str  # the coverage item this alert's story thread started from
    reason: str
    created: datetime
