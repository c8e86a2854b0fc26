"""The pipeline: one feed poll, from bytes on the wire to alerts in the outbox.

::

    fetch ─▶ parse ─▶ dedupe ─▶ normalise ─▶ facts ─▶ match ─▶ coverage ─▶ alerts ─▶ deliver
    (edge)   (pure)   (store)    (pure)      (pure)   (pure)    (pure)      (pure)    (edge)

``Monitor`` holds what one process knows (rules, their term index, the
coverage so far) and judges stories: ``assess`` is pure given that knowledge.
``process_stories`` runs a batch in published order and lets each alert join
the coverage, so the next story on the thread links back to it. ``poll`` adds
the edges around it: fetching with conditional GET, feed health, the seen
store. The daemon (``worker.tasks``), ``newsmon check`` and ``newsmon replay``
all run this same code; only the stores they are wired with differ.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta

import msgspec
import structlog

from worker.alerts import build_alert
from worker.coverage import Coverage, CoverageItem, headline_names, item_from_story
from worker.dedupe import Fingerprint, fingerprint, near_duplicate_of
from worker.errors import FeedError, ParseError, RateLimitedError
from worker.facts import extract_facts
from worker.fetch import Fetcher, Validators
from worker.match import Development, Evidence, TermIndex, Verdict, judge
from worker.parse import ParsedFeed, normalise, parse_feed
from worker.records import Alert, Fact, Record, Story
from worker.rules import Rule
from worker.state import FailedStory, FeedState, FeedStateStore, MonitorStore, SeenStore

log = structlog.get_logger("newsmon.pipeline")

#: Errors back off exponentially from the feed's interval up to this.
MAX_BACKOFF = timedelta(hours=6)
#: A feed that failed to parse this many times in a row is "broken": polled daily.
BROKEN_AFTER = 5
BROKEN_INTERVAL = timedelta(hours=24)
#: Backed-off poll times are spread by up to this share of the wait.
JITTER = 0.1


class Assessment(Record, frozen=True):
    """Everything decided about one story: its facts, each rule's verdict, its alerts."""

    story: Story
    facts: tuple[Fact, ...]
    verdicts: tuple[Verdict, ...]
    alerts: tuple[Alert, ...]
    duplicate_of: str | None = None


def published_order(story: Story) -> tuple[datetime, str]:
    """The order stories are judged in: published time (undated first), then id."""
    return (story.published or datetime.min.replace(tzinfo=UTC), story.id)


class Monitor:
    """Rules and coverage of one process; judges stories against them."""

    def __init__(self, rules: Sequence[Rule], articles: Iterable[CoverageItem],
                 store: MonitorStore, *,
                 interruptions: tuple[type[BaseException], ...] = ()) -> None:
        """``interruptions`` are exceptions that stop a batch (a task's time limit),
        never mistaken for a story the pipeline fails on."""
        self.rules = tuple(rules)
        self.rules_by_id = {rule.id: rule for rule in self.rules}
        self.terms = TermIndex(term for rule in self.rules for term in rule.terms())
        self.coverage = Coverage(articles)
        self.article_ids = frozenset(item.id for item in self.coverage.items)
        self.store = store
        self.interruptions = interruptions
        self._synced = 0
        self._fingerprints: dict[str, Fingerprint] = {}  # alerted story id -> fingerprint
        self._developments: list[Development] = []
        self._outlets: dict[str, list[str]] = {}  # alerted story id -> other outlets
        self.sync()

    def sync(self) -> None:
        """Take in coverage other workers (or earlier runs) added since we last looked."""
        items = self.store.coverage_since(self._synced)
        self._synced += len(items)
        for item in items:
            self._remember(item)

    def _remember(self, item: CoverageItem) -> None:
        self.coverage.extend([item])
        story = Story(id=item.id, feed_url="", feed_title="", title=item.title, link=item.url,
                      published=item.published, summary=" ".join(item.sentences))
        self._fingerprints[item.id] = fingerprint(story)
        self._developments = [d for d in self._developments if d.story_id != item.id]
        item_names = self.coverage.names_of(item.id)
        self._developments.extend(
            Development(rule_id=rule_id, story_id=item.id, title=item.title,
                        events=frozenset(events), published=item.published,
                        names=item_names, headline_names=headline_names(item.title, item_names))
            for rule_id, events in item.developments.items()
        )

    def assess(self, story: Story, now: datetime) -> Assessment:
        """Judge one story against every rule and the coverage known now. Pure."""
        text = f"{story.title}\n{story.summary}"
        found = self.terms.find(text)
        candidates = [rule for rule in self.rules if any(
            term in found for term in rule.require[0])]
        if not candidates:
            return Assessment(story=story, facts=(), verdicts=(), alerts=())
        evidence = Evidence(found=found, in_title=self.terms.find(story.title))
        facts = extract_facts(text)
        # Judged against what was known before the story: a story seen again (a
        # retried poll whose alert never reached the outbox, or an updated entry)
        # is not its own precedent.
        earlier = self.coverage.follow(story)
        known = self.coverage.known_facts(exclude=story.id)
        developments = [d for d in self._developments if d.story_id != story.id]
        duplicate = near_duplicate_of(
            fingerprint(story),
            (fp for story_id, fp in self._fingerprints.items() if story_id != story.id))
        thread_id = self.coverage.thread_of(earlier)
        verdicts: list[Verdict] = []
        alerts: list[Alert] = []
        for rule in candidates:
            verdict = judge(rule, story, facts, evidence, known, earlier, developments,
                            self.article_ids, self.coverage.names_told_with)
            if verdict.match is not None and duplicate is not None and not verdict.match.changes:
                # The same story from another outlet: listed on that alert, unless it
                # brings a new figure.
                verdict = Verdict(rule_id=rule.id, fired=False,
                                  reason=f"same story as already alerted {duplicate}")
            verdicts.append(verdict)
            if verdict.match is not None:
                alerts.append(build_alert(story, verdict.match, severity=rule.severity,
                                          facts=facts, earlier=earlier, thread_id=thread_id,
                                          now=now))
        return Assessment(story=story, facts=facts, verdicts=tuple(verdicts),
                          alerts=tuple(alerts), duplicate_of=duplicate)

    def learn(self, assessment: Assessment) -> None:
        """An alerted story joins the coverage (locally and in the shared log)."""
        story = assessment.story
        if not assessment.alerts:
            if assessment.duplicate_of is not None:
                # The same story from another outlet: no alert, but it is listed.
                self._outlets.setdefault(assessment.duplicate_of, []).append(
                    story.feed_title or story.feed_url)
            return
        developments = {v.rule_id: v.events for v in assessment.verdicts if v.fired and v.events}
        item = item_from_story(story, assessment.facts, assessment.alerts[0].thread_id,
                               developments)
        # Shared with every worker; an updated story's item replaces its earlier one.
        self.store.append_coverage(item)
        self.sync()

    def outlets(self, alert: Alert) -> tuple[str, ...]:
        """Every outlet known to have carried the alert's story so far."""
        return tuple(dict.fromkeys((*alert.outlets, *self._outlets.get(alert.story.id, ()))))

    def process_stories(self, stories: Iterable[Story], now: datetime) -> list[Assessment]:
        """Assess stories in published order; each alerted one becomes coverage.

        A story whose assessment raises (a bug the story triggers) is logged
        and recorded with its error (``newsmon status`` lists them) and
        skipped, so one poison story cannot stop its feed: the others are still
        judged, and it is marked seen with them.
        """
        assessments = []
        for story in sorted(stories, key=published_order):
            try:
                assessment = self.assess(story, now)
            except self.interruptions:
                raise
            except Exception as exc:  # a poison story: recorded, skipped; its feed goes on
                error = f"{type(exc).__name__}: {exc}"
                log.exception("story.failed", story_id=story.id, feed=story.feed_url,
                              title=story.title, error=error)
                self.store.record_failure(FailedStory(
                    story_id=story.id, feed_url=story.feed_url, title=story.title,
                    link=story.link, error=error, failed_at=now))
                continue
            self.learn(assessment)
            assessments.append(assessment)
        return assessments


class PollReport(Record, frozen=True):
    """What one poll of one feed did; logged and shown by ``newsmon feeds``."""

    feed_id: str
    url: str
    status: str  # "new", "not-modified", "unchanged", "skipped", "gone", "error"
    entries: int = 0
    new_entries: int = 0
    alerts: tuple[Alert, ...] = ()
    error: str | None = None


def process_body(monitor: Monitor, seen: SeenStore, parsed: ParsedFeed, *, feed_url: str,
                 feed_title: str, now: datetime) -> tuple[list[Assessment], list[str]]:
    """New entries of a parsed feed → their assessments, and the new entries' keys."""
    keys = [entry.key for entry in parsed.entries]
    fresh = set(seen.unseen(keys))
    title = parsed.title or feed_title
    stories = [normalise(entry, feed_url=feed_url, feed_title=title)
               for entry in parsed.entries if entry.key in fresh]
    monitor.sync()
    return monitor.process_stories(stories, now), [k for k in keys if k in fresh]


def next_poll_after(state: FeedState, interval: float, now: datetime,
                    rng: random.Random | None = None) -> datetime:
    """When to poll next: the interval, or after errors a jittered exponential backoff.

    Regular polls are spread by beat (each feed has its own phase); backoffs
    are jittered here so feeds failing together do not retry together.
    """
    base = timedelta(seconds=interval)
    if not state.consecutive_errors:
        return now + base
    if state.last_status == "broken":
        return now + BROKEN_INTERVAL
    backoff = min(base * 2 ** min(state.consecutive_errors, 16), MAX_BACKOFF)
    return now + backoff * (1 + (rng or random).uniform(-JITTER, JITTER))


def poll_is_due(state: FeedState, interval: float, now: datetime) -> bool:
    """Whether a scheduled poll should run now.

    After a healthy poll a scheduled one may come a little early (beat's own
    drift); one within half an interval of the last is a duplicate (say, two
    beat processes) and is skipped. After an error or a Retry-After the next
    poll time is a promise to the publisher and is kept to the second.
    """
    if state.next_poll is None:
        return True
    healthy = not state.consecutive_errors and not (
        state.last_status or "").startswith("rate-limited")
    tolerance = timedelta(seconds=interval / 2) if healthy else timedelta(0)
    return now >= state.next_poll - tolerance


def poll(
    feed_id: str,
    url: str,
    title: str,
    interval: float,
    *,
    fetcher: Fetcher,
    feeds: FeedStateStore,
    seen: SeenStore,
    monitor: Monitor,
    sink: Callable[[Alert], None],
    now: datetime,
    force: bool = False,
) -> PollReport:
    """Poll one feed once. Feed errors become a report, never an exception.

    Each alert goes to ``sink`` (the outbox) before its entry is marked seen,
    so a crash in between repeats the work (alerts are idempotent) and never
    loses an alert.
    """
    state = feeds.get_feed(feed_id) or FeedState(feed_id=feed_id, url=url)
    if state.disabled:
        return PollReport(feed_id=feed_id, url=state.url, status="skipped", error=state.disabled)
    if not force and not poll_is_due(state, interval, now):
        return PollReport(feed_id=feed_id, url=state.url, status="skipped",
                          error=f"next poll at {state.next_poll}")

    def save(*, next_poll: datetime | None = None, **changes: object) -> None:
        updated = msgspec.structs.replace(state, last_poll=now, **changes)
        next_poll = next_poll or next_poll_after(updated, interval, now)
        feeds.put_feed(msgspec.structs.replace(updated, next_poll=next_poll))

    try:
        result = fetcher.fetch(state.url, Validators(etag=state.etag,
                                                     last_modified=state.last_modified))
    except FeedError as error:
        if isinstance(error, RateLimitedError) and error.retry_after is not None:
            # 429/503: the publisher asked us to wait; that is no fault of the feed.
            wait = timedelta(seconds=max(error.retry_after, interval))
            save(last_status=f"rate-limited: {error.problem}", next_poll=now + wait)
        else:
            save(last_status=f"error: {error.problem}",
                 consecutive_errors=state.consecutive_errors + 1)
        return PollReport(feed_id=feed_id, url=state.url, status="error", error=str(error))

    if result.moved_to:
        state = msgspec.structs.replace(state, url=result.moved_to)  # 301/308: follow for good
    if result.status == 410:
        save(last_status="410", disabled="gone (HTTP 410): the publisher removed this feed")
        return PollReport(feed_id=feed_id, url=state.url, status="gone",
                          error=f"{state.url}: HTTP 410 Gone; feed disabled")
    if result.status == 304:
        save(last_status="304", consecutive_errors=0)
        return PollReport(feed_id=feed_id, url=state.url, status="not-modified")

    body_hash = hashlib.sha256(result.body).hexdigest()[:32]
    if body_hash == state.body_hash:
        save(last_status="200", consecutive_errors=0, etag=result.validators.etag,
             last_modified=result.validators.last_modified)
        return PollReport(feed_id=feed_id, url=state.url, status="unchanged")
    try:
        parsed = parse_feed(result.body, result.final_url, content_type=result.content_type)
    except ParseError as error:
        # The validators of a body we could not read are not kept: the next poll
        # fetches it again rather than being told 304 and calling the feed healthy.
        errors = state.consecutive_errors + 1
        save(last_status="broken" if errors >= BROKEN_AFTER else f"error: {error.problem}",
             consecutive_errors=errors)
        return PollReport(feed_id=feed_id, url=state.url, status="error", error=str(error))
    state = msgspec.structs.replace(state, etag=result.validators.etag,
                                    last_modified=result.validators.last_modified)

    assessments, fresh_keys = process_body(monitor, seen, parsed, feed_url=url,
                                           feed_title=title, now=now)
    alerts = tuple(alert for a in assessments for alert in a.alerts)
    for alert in alerts:
        sink(alert)
    report = PollReport(feed_id=feed_id, url=state.url, status="new",
                        entries=len(parsed.entries), new_entries=len(fresh_keys), alerts=alerts)
    save(last_status="200", consecutive_errors=0, body_hash=body_hash,
         entries_seen=state.entries_seen + len(fresh_keys))
    # Every entry still in the feed is marked, so expiry counts from the last sighting.
    seen.mark([entry.key for entry in parsed.entries])
    return report
