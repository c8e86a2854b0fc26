"""A worker polling healthy and hostile local feeds side by side (issue 5).

The healthy feeds keep being polled on schedule with conditional requests;
each hostile one ends in a clear per-feed reason, within bounded time.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta

import pytest

from tests.hostile_servers import RawServer, drip, endless_zeros, gzip_bomb
from tests.sample_feed import UNRELATED, rss
from tests.servers import LocalHTTPServer, Response
from worker.config import DEFAULT_COVERAGE, DEFAULT_RULES
from worker.coverage import load_articles
from worker.fetch import Fetcher, FetchLimits
from worker.pipeline import Monitor, poll
from worker.rules import load_rules
from worker.state import RedisState

pytestmark = [pytest.mark.integration, pytest.mark.slow]

INTERVAL = 60.0
START = datetime(2025, 1, 20, 12, tzinfo=UTC)
LIMITS = FetchLimits(deadline=2.0, connect_timeout=1.0, max_bytes=1024 * 1024, max_redirects=3)
ENTITY_BOMB = (b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">'
               + b"".join(b'<!ENTITY %c "&%c;&%c;&%c;&%c;&%c;&%c;&%c;&%c;&%c;&%c;">'
                          % ((98 + i,) + (97 + i,) * 10) for i in range(8))
               + b']><rss version="2.0"><channel><title>&i;</title></channel></rss>')


@pytest.fixture
def feeds(http_server: LocalHTTPServer) -> Iterator[dict[str, str]]:
    """name -> URL: two healthy feeds with validators and a set of hostile ones."""
    def healthy(etag: str):  # type: ignore[no-untyped-def]
        def answer(request):  # type: ignore[no-untyped-def]
            if request.headers.get("If-None-Match") == etag:
                return Response(304)
            return Response(200, rss([UNRELATED]), {"ETag": etag,
                                                     "Content-Type": "application/rss+xml"})
        return answer

    http_server.routes["/healthy-1"] = healthy('"h1"')
    http_server.routes["/healthy-2"] = healthy('"h2"')
    http_server.routes["/gone"] = lambda r: Response(410, b"gone")
    http_server.routes["/limited"] = lambda r: Response(429, b"slow down", {"Retry-After": "3600"})
    http_server.routes["/loop"] = lambda r: Response(302, b"", {"Location": "/loop"})
    http_server.routes["/moved"] = lambda r: Response(301, b"", {"Location": "/healthy-2"})
    http_server.routes["/html"] = lambda r: Response(200, b"<html><body>Sign in</body></html>",
                                                     {"Content-Type": "text/html"})
    http_server.routes["/entities"] = lambda r: Response(200, ENTITY_BOMB,
                                                         {"Content-Type": "application/xml"})
    with ExitStack() as stack:
        slow = stack.enter_context(RawServer(drip(
            b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", b"<" * 1000, 0.5)))
        huge = stack.enter_context(RawServer(endless_zeros(100 * 1024 * 1024)))
        bomb = stack.enter_context(RawServer(gzip_bomb(1024 * 1024 * 1024)))
        urls = {name: http_server.url(f"/{name}") for name in
                ("healthy-1", "healthy-2", "gone", "limited", "loop", "moved", "html", "entities")}
        urls |= {"drip": slow.url("/feed"), "huge": huge.url("/feed"), "bomb": bomb.url("/feed")}
        yield urls


def test_hostile_feeds_do_not_stop_the_healthy_ones(
        feeds: dict[str, str], http_server: LocalHTTPServer, redis_base_url: str,
        namespace: str) -> None:
    state = RedisState.from_url(redis_base_url, namespace)
    monitor = Monitor(load_rules(DEFAULT_RULES), load_articles(DEFAULT_COVERAGE), state)
    fetcher = Fetcher(allow_private=True, limits=LIMITS)
    reports: dict[str, list[str]] = {name: [] for name in feeds}
    errors: dict[str, str] = {}
    now = START
    for _round in range(3):
        for name, url in feeds.items():
            started = time.monotonic()
            report = poll(name, url, name, INTERVAL, fetcher=fetcher, feeds=state, seen=state,
                          monitor=monitor, sink=lambda alert: None, now=now)
            assert time.monotonic() - started < LIMITS.deadline + 3, f"{name} was not cut off"
            reports[name].append(report.status)
            if report.error and report.status == "error":
                errors.setdefault(name, report.error)
        now += timedelta(seconds=INTERVAL)

    assert reports["healthy-1"] == ["new", "not-modified", "not-modified"]
    assert reports["healthy-2"] == ["new", "not-modified", "not-modified"]
    conditional = [r.headers.get("If-None-Match") for r in http_server.requests_to("/healthy-1")]
    assert conditional == [None, '"h1"', '"h1"']

    assert reports["gone"] == ["gone", "skipped", "skipped"]
    assert "410" in (state.get_feed("gone").disabled or "")  # type: ignore[union-attr]
    limited = state.get_feed("limited")
    assert limited is not None and limited.disabled is None
    assert limited.next_poll is not None and limited.next_poll >= START + timedelta(seconds=3600)
    assert reports["limited"] == ["error", "skipped", "skipped"]
    moved = state.get_feed("moved")
    assert moved is not None and moved.url == http_server.url("/healthy-2")

    for name, words in {"loop": "redirect", "drip": "deadline", "huge": "larger than",
                        "bomb": "larger than", "html": "not a feed"}.items():
        assert name in errors, f"{name}: no error reported ({reports[name]})"
        assert words.lower() in errors[name].lower(), f"{name}: {errors[name]}"
    # The entity bomb expands nothing: it is read as a feed with no entries, quickly.
    assert reports["entities"][0] in {"new", "error"}
    # Each error backs the hostile feed off (two intervals, jittered by 10%): the next
    # scheduled poll is skipped.
    assert reports["loop"][1] == "skipped"
