"""Latency from a feed change to its Slack post, through real Celery worker and beat.

Run: ``.venv/bin/python bench/latency.py [--changes 20]``

The stack of ``tests/test_e2e.py``: a redis-server, a local feed and Slack
endpoint, ``celery worker`` and ``celery beat`` with the shipped app, one feed
polled every second. Each change adds a story with a North Korean casualty
figure never reported before, so the casualty rule fires once per change. The
feed server notes when it first served each changed body (the poll that sees
the change), the Slack endpoint when the post arrived; the latency is the
difference. There is no floor to divide by: the target is absolute (≤ 1 s).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

from harness import REPO, banner, table

from tests.processes import celery
from tests.servers import LocalHTTPServer, Request, Response, redis_server

TARGET_SECONDS = 1.0
BASE_FIGURE = 4100
FIGURE_STEP = 150  # > 1% apart: worker.facts takes figures within 1% as the same one


def story(n: int) -> tuple[str, str]:
    figure = f"{BASE_FIGURE + FIGURE_STEP * n:,}"
    return (f"North Korean casualties in Kursk rise to {figure}, Zelenskyy says",
            f"About {figure} North Korean soldiers have been killed or wounded in Kursk, "
            "Ukraine's president said.")


def rss(version: int) -> bytes:
    published = format_datetime(datetime(2025, 1, 20, 12, tzinfo=UTC))
    items = "".join(
        f"<item><title>{escape(title)}</title><link>https://news.example/{n}</link>"
        f"<guid>https://news.example/{n}</guid><pubDate>{published}</pubDate>"
        f"<description>{escape(text)}</description></item>"
        for n, (title, text) in ((n, story(n)) for n in range(version))
    )
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Local Wire</title>'
            f"<link>https://news.example/</link><description>d</description>{items}"
            f"</channel></rss>").encode()


class Feed:
    """The feed's current version, and when each version was first served."""

    def __init__(self) -> None:
        self.version = 0
        self.changed: dict[int, float] = {}  # version -> when the feed changed to it
        self.first_served: dict[int, float] = {}
        self.posts: dict[int, float] = {}  # change number -> when its Slack post arrived
        self._lock = threading.Lock()

    def serve(self, request: Request) -> Response:
        with self._lock:
            version = self.version
            self.first_served.setdefault(version, time.time())
        return Response(200, rss(version), {"Content-Type": "application/rss+xml"})

    def slack(self, request: Request) -> Response:
        arrived = time.time()
        text = json.loads(request.body)["text"]
        for n in range(self.version):
            if f"{BASE_FIGURE + FIGURE_STEP * n:,}" in text:
                with self._lock:
                    self.posts.setdefault(n, arrived)
        return Response(200, b"ok")


def wait_for(condition: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.01)
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--changes", type=int, default=20)
    args = parser.parse_args()
    banner(f"Latency: {args.changes} feed changes, poll interval 1 s, celery worker + beat")

    feed = Feed()
    with redis_server(appendonly=False) as redis, LocalHTTPServer() as web, \
            tempfile.TemporaryDirectory(prefix="newsmon-bench-") as workdir:
        web.routes["/feed.xml"] = feed.serve
        web.routes["/slack"] = feed.slack
        feeds = Path(workdir) / "feeds.yaml"
        feeds.write_text(f"feeds:\n  - url: {web.url('/feed.xml')}\n    title: Local Wire\n"
                         f"    interval: 1\n")
        env = {**os.environ, "NEWSMON_REDIS_URL": redis.url, "NEWSMON_FEEDS": str(feeds),
               "NEWSMON_ALLOW_PRIVATE_NETWORKS": "on",
               "NEWSMON_SLACK_WEBHOOK_URL": web.url("/slack"), "PYTHONPATH": str(REPO)}
        with celery(["worker", "--concurrency", "2", "--loglevel", "WARNING"], env,
                    Path(workdir) / "worker.log"), \
             celery(["beat", "--schedule", str(Path(workdir) / "schedule"),
                     "--loglevel", "WARNING"], env, Path(workdir) / "beat.log"):
            if not wait_for(lambda: len(web.requests_to("/feed.xml")) >= 2, 60):
                sys.exit(f"the feed was never polled twice; see the logs in {workdir}")
            for n in range(args.changes):
                with feed._lock:
                    feed.version = n + 1
                    feed.changed[n + 1] = time.time()
                if not wait_for(lambda n=n: n in feed.posts, 30):
                    sys.exit(f"change {n} never reached Slack")
                time.sleep(0.3)  # let the next change land at a random point of the interval
    latencies = sorted(feed.posts[n] - feed.first_served[n + 1] for n in range(args.changes))
    from_change = statistics.median(feed.posts[n] - feed.changed[n + 1]
                                    for n in range(args.changes))
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, round(0.99 * (len(latencies) - 1)))]
    rows = [(f"p50 of {len(latencies)}", f"{p50 * 1000:.0f}", "met" if p50 <= TARGET_SECONDS
             else "NOT met"),
            (f"p99 of {len(latencies)} (= max)", f"{p99 * 1000:.0f}",
             "met" if p99 <= TARGET_SECONDS else "NOT met"),
            ("min", f"{latencies[0] * 1000:.0f}", ""),
            ("p50 from the change itself (adds the wait for the next poll)",
             f"{from_change * 1000:.0f}", "")]
    print(table(("feed change → Slack post, after the poll that saw it", "ms",
                 f"≤ {TARGET_SECONDS:.0f} s"), rows))


if __name__ == "__main__":
    main()
