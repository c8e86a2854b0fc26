"""Pipeline throughput against a real Redis: new entries, and entries already seen.

Run: ``.venv/bin/python bench/pipeline.py [--feeds 10 --entries 250]``

New entries: each body goes parse → dedupe (one ``unseen`` round trip) →
normalise → facts/match/coverage (``Monitor`` with the shipped rules and seed
coverage) → ``mark``, as ``pipeline.poll`` runs it after a 200. Already seen:
the same bodies again, every key already marked, so a poll is parse + one
``unseen`` round trip. Both are compared with the raw lxml floor of the same
bodies (``bench/parse.py``). The Redis is a redis-server of this script's own
on a free port, without persistence; nothing else is touched.
"""

from __future__ import annotations

import argparse
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from time import perf_counter as _clock

from harness import FEED_URL, banner, best_seconds, load_corpus, lxml_floor, rss2, table, take

from tests.servers import redis_server
from worker.config import DEFAULT_COVERAGE, DEFAULT_RULES
from worker.coverage import load_articles
from worker.parse import normalise, parse_feed
from worker.pipeline import Monitor, process_body
from worker.rules import load_rules
from worker.state import RedisState

NEW_TARGET = 5_000  # stories/s
SEEN_TARGET = 25_000  # entries/s
NOW = datetime(2025, 2, 1, tzinfo=UTC)


def feed_url(n: int) -> str:
    return FEED_URL.replace("feed.xml", f"feed-{n}.xml")


def run_new(bodies: Sequence[bytes], redis_url: str) -> tuple[float, dict[str, float], int]:
    """One pass over fresh bodies in a fresh namespace: (seconds, seconds per stage, alerts)."""
    state = RedisState.from_url(redis_url, f"bench-{uuid.uuid4().hex[:8]}")
    monitor = Monitor(load_rules(DEFAULT_RULES), load_articles(DEFAULT_COVERAGE), state)
    stages = dict.fromkeys(("parse", "dedupe+normalise+assess", "mark"), 0.0)
    alerts = 0
    for n, body in enumerate(bodies):
        stages["parse"] -= _clock()
        parsed = parse_feed(body, feed_url(n))
        stages["parse"] += _clock()
        stages["dedupe+normalise+assess"] -= _clock()
        assessments, fresh = process_body(monitor, state, parsed, feed_url=feed_url(n),
                                          feed_title="bench", now=NOW)
        stages["dedupe+normalise+assess"] += _clock()
        stages["mark"] -= _clock()
        state.mark(fresh)
        stages["mark"] += _clock()
        alerts += sum(len(a.alerts) for a in assessments)
    state.redis.close()
    return sum(stages.values()), stages, alerts


def split_assess(bodies: Sequence[bytes], redis_url: str) -> dict[str, float]:
    """Seconds for the parts of ``process_body``, each timed alone (fresh namespace)."""
    state = RedisState.from_url(redis_url, f"bench-{uuid.uuid4().hex[:8]}")
    monitor = Monitor(load_rules(DEFAULT_RULES), load_articles(DEFAULT_COVERAGE), state)
    parsed = [parse_feed(body, feed_url(n)) for n, body in enumerate(bodies)]
    seconds = dict.fromkeys(("dedupe (unseen)", "normalise", "assess"), 0.0)
    for n, feed in enumerate(parsed):
        seconds["dedupe (unseen)"] -= _clock()
        fresh = set(state.unseen([entry.key for entry in feed.entries]))
        seconds["dedupe (unseen)"] += _clock()
        seconds["normalise"] -= _clock()
        stories = [normalise(e, feed_url=feed_url(n), feed_title=feed.title)
                   for e in feed.entries if e.key in fresh]
        seconds["normalise"] += _clock()
        seconds["assess"] -= _clock()
        monitor.process_stories(stories, NOW)
        seconds["assess"] += _clock()
    state.redis.close()
    return seconds


def seen_pass(bodies: Sequence[bytes], state: RedisState) -> Callable[[], None]:
    def run() -> None:
        for n, body in enumerate(bodies):
            parsed = parse_feed(body, feed_url(n))
            fresh = state.unseen([entry.key for entry in parsed.entries])
            assert not fresh
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--feeds", type=int, default=10)
    parser.add_argument("--entries", type=int, default=250, help="entries per feed body")
    args = parser.parse_args()
    total = args.feeds * args.entries

    banner(f"Pipeline: {args.feeds} RSS 2.0 bodies × {args.entries} entries, one core")
    corpus = load_corpus()
    bodies = [rss2(take(corpus, args.entries, start=n * args.entries))
              for n in range(args.feeds)]
    read_floor = lxml_floor("rss2")
    floor = best_seconds(lambda: [read_floor(body) for body in bodies])

    with redis_server(appendonly=False) as server:
        runs = [run_new(bodies, server.url) for _ in range(3)]
        new_seconds, stages, alerts = min(runs, key=lambda run: run[0])
        parts = split_assess(bodies, server.url)

        seen = RedisState.from_url(server.url, f"bench-{uuid.uuid4().hex[:8]}")
        for n, body in enumerate(bodies):
            seen.mark([entry.key for entry in parse_feed(body, feed_url(n)).entries])
        seen_seconds = best_seconds(seen_pass(bodies, seen), repeat=5, min_seconds=0.5)
        keys = [[entry.key for entry in parse_feed(body, feed_url(n)).entries]
                for n, body in enumerate(bodies)]
        unseen_seconds = best_seconds(lambda: [seen.unseen(k) for k in keys])
        parse_seconds = best_seconds(lambda: [parse_feed(b, feed_url(n))
                                              for n, b in enumerate(bodies)])

    print(f"\nnew-entry pass: {total:,} stories, {alerts} alerts fired; best of 3 passes\n")
    rows: list[tuple[object, ...]] = [
        ("new entries, end to end", total / new_seconds, f"{new_seconds / floor:.1f}×",
         f"≥ {NEW_TARGET:,}/s", "met" if total / new_seconds >= NEW_TARGET else "NOT met"),
        ("already-seen entries (parse + unseen)", total / seen_seconds,
         f"{seen_seconds / floor:.1f}×", f"≥ {SEEN_TARGET:,}/s",
         "met" if total / seen_seconds >= SEEN_TARGET else "NOT met"),
        ("raw lxml floor (same bodies)", total / floor, "1.0×", "", ""),
    ]
    print(table(("case", "entries/s", "time vs floor", "target", "verdict"), rows))
    print("\nwhere the time goes (µs per entry)\n")
    breakdown = [
        *[(f"new: {name}", seconds / total * 1e6) for name, seconds in stages.items()],
        *[(f"new, timed alone: {name}", seconds / total * 1e6) for name, seconds in parts.items()],
        ("seen: parse", parse_seconds / total * 1e6),
        ("seen: unseen() round trips", unseen_seconds / total * 1e6),
    ]
    print(table(("stage", "µs/entry"), breakdown))


if __name__ == "__main__":
    main()
