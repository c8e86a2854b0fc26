"""Polls per second and CPU per poll, for 200 and 304 answers, and Celery's per-task cost.

Run: ``.venv/bin/python bench/polls.py [--feeds 1000 --threads 8] [--skip-celery]``

A feed server in a child process (so its CPU is not counted as ours) serves
``--feeds`` distinct paths, each a 50-entry RSS 2.0 body with an ETag, and 304
to a matching If-None-Match. Each row polls every feed once:

- stdlib http.client, a new connection per GET (the floor: nothing but HTTP);
- ``Fetcher.fetch`` (what a poll does: address vetting, pinned transport, limits);
- ``pipeline.poll`` on 304 (fetch + feed state read and written in Redis: a whole
  poll short of Celery), sequential and from a thread pool.

CPU ms per poll is this process's ``time.process_time`` over the polls. Then,
unless skipped, a real Celery worker (``--pool solo``, the shipped app and
settings) runs ``poll_feed`` for an unknown feed id, a task that does nothing
but look the id up: its wall time and the worker's CPU per task are Celery's
overhead.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import redis
from harness import REPO, banner, load_corpus, rss2, table, take

from tests.servers import LocalHTTPServer, Request, Response, redis_server
from worker.fetch import Fetcher, Validators
from worker.pipeline import Monitor, poll
from worker.state import MemoryState, RedisState

TARGET_304 = 100  # polls/s per core
ENTRIES_PER_FEED = 50


def etag(n: int) -> str:
    return f'"feed-{n}-v1"'


def serve_feeds(feeds: int, ready: multiprocessing.Queue[int], stop: multiprocessing.Event) -> None:  # type: ignore[type-arg]
    corpus = load_corpus()

    def route(n: int, body: bytes) -> Callable[[Request], Response]:
        def answer(request: Request) -> Response:
            if request.headers.get("If-None-Match") == etag(n):
                return Response(304, b"", {"ETag": etag(n)})
            return Response(200, body, {"ETag": etag(n), "Content-Type": "application/rss+xml"})
        return answer

    with LocalHTTPServer() as server:
        server.server.socket.listen(1024)  # the default backlog of 5 drops SYNs from a pool
        for n in range(feeds):
            body = rss2(take(corpus, ENTRIES_PER_FEED, start=n * ENTRIES_PER_FEED))
            server.routes[f"/feed/{n}.xml"] = route(n, body)
        ready.put(server.port)
        stop.wait()


def stdlib_get(url: str, validators: Validators) -> int:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    headers = {"If-None-Match": validators.etag} if validators.etag else {}
    connection.request("GET", parts.path, headers=headers)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status


def measure(poll_one: Callable[[int], object], feeds: int, threads: int) -> tuple[float, float]:
    """(polls/s, CPU ms per poll) for polling every feed once."""
    cpu, wall = time.process_time(), time.perf_counter()
    if threads == 1:
        for n in range(feeds):
            poll_one(n)
    else:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(poll_one, range(feeds)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return feeds / wall, cpu / feeds * 1000


def celery_overhead(redis_url: str, tasks: int, workdir: Path) -> tuple[float, float]:
    """(tasks/s, worker CPU ms per task) for no-op ``poll_feed`` tasks through a real worker."""
    feeds_file = workdir / "feeds.yaml"
    feeds_file.write_text("feeds: []\n")
    env = {**os.environ, "NEWSMON_REDIS_URL": redis_url, "NEWSMON_FEEDS": str(feeds_file),
           "PYTHONPATH": str(REPO)}
    with (workdir / "worker.log").open("wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "worker", "worker", "--pool", "solo",
             "--loglevel", "WARNING"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    client = redis.Redis.from_url(redis_url)
    try:
        sys.path.insert(0, str(REPO))
        os.environ.update(env)
        from worker.tasks import poll_feed  # reads the settings from the environment

        poll_feed.delay("warm-up")
        _wait_drained(client, worker)
        cpu = _cpu_seconds(worker.pid)
        start = time.perf_counter()
        for _ in range(tasks):
            poll_feed.delay("no-such-feed")
        _wait_drained(client, worker)
        wall = time.perf_counter() - start
        return tasks / wall, (_cpu_seconds(worker.pid) - cpu) / tasks * 1000
    finally:
        client.close()
        worker.terminate()
        worker.wait(timeout=30)


def _wait_drained(client: redis.Redis, worker: subprocess.Popen[bytes]) -> None:
    """Until the queue is empty and no message is unacknowledged (acks_late)."""
    deadline = time.monotonic() + 120
    while client.llen("celery") or client.hlen("unacked"):
        if worker.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the celery worker died or stalled; see its log")
        time.sleep(0.01)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--threads", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--celery-tasks", type=int, default=2000)
    parser.add_argument("--skip-celery", action="store_true")
    args = parser.parse_args()

    banner(f"Polls: {args.feeds} feeds of {ENTRIES_PER_FEED} entries on 127.0.0.1, "
           f"server in its own process")
    ready: multiprocessing.Queue[int] = multiprocessing.Queue()
    stop = multiprocessing.Event()
    server = multiprocessing.Process(target=serve_feeds, args=(args.feeds, ready, stop))
    server.start()
    port = ready.get(timeout=60)
    urls = [f"http://127.0.0.1:{port}/feed/{n}.xml" for n in range(args.feeds)]
    fresh = [Validators() for _ in urls]
    cached = [Validators(etag=etag(n)) for n in range(args.feeds)]
    fetcher = Fetcher(allow_private=True)
    rows: list[Sequence[object]] = []
    try:
        with redis_server(appendonly=False) as server_redis:
            state = RedisState.from_url(server_redis.url, "bench")
            monitor = Monitor((), (), MemoryState())
            for n, url in enumerate(urls):  # the first poll stores each feed's ETag
                poll(f"f{n}", url, "", 1, fetcher=fetcher, feeds=state, seen=state,
                     monitor=monitor, sink=lambda alert: None, now=datetime.now(UTC))

            def full_poll(n: int) -> None:
                report = poll(f"f{n}", urls[n], "", 1, fetcher=fetcher, feeds=state, seen=state,
                              monitor=monitor, sink=lambda alert: None, now=datetime.now(UTC),
                              force=True)
                assert report.status == "not-modified", report

            cases: list[tuple[str, int, Callable[[int], object]]] = []
            for answer, validators in (("200", fresh), ("304", cached)):
                cases += [
                    (f"{answer}: http.client, new connection (floor)", 1,
                     lambda n, v=validators: stdlib_get(urls[n], v[n])),
                    *[(f"{answer}: Fetcher.fetch", threads,
                       lambda n, v=validators: fetcher.fetch(urls[n], v[n]))
                      for threads in (1, *args.threads)],
                ]
            cases += [("304: pipeline.poll (fetch + Redis state)", threads, full_poll)
                      for threads in (1, *args.threads)]
            floors: dict[str, float] = {}
            for name, threads, poll_one in cases:
                rate, cpu_ms = measure(poll_one, args.feeds, threads)
                answer = name[:3]
                floors.setdefault(answer, cpu_ms)
                cores_bound = 1000 / cpu_ms  # polls/s one core could do at this CPU cost
                verdict = ("met" if cores_bound >= TARGET_304 else "NOT met") if (
                    answer == "304" and "floor" not in name) else ""
                rows.append((name, threads, rate, f"{cpu_ms:.2f}",
                             f"{cpu_ms / floors[answer]:.1f}×", cores_bound, verdict))
            state.redis.close()
            print(table(("client", "threads", "polls/s (wall)", "CPU ms/poll", "CPU vs floor",
                         "polls/s per core (1000/CPU ms)", f"304 ≥ {TARGET_304}/s per core"),
                        rows))
            if not args.skip_celery:
                with tempfile.TemporaryDirectory(prefix="newsmon-bench-") as workdir:
                    rate, cpu_ms = celery_overhead(server_redis.url, args.celery_tasks,
                                                   Path(workdir))
                print()
                print(table(("Celery (worker --pool solo, redis broker)", "tasks/s (wall)",
                             "worker CPU ms/task"),
                            [("poll_feed on an unknown feed id (no-op)", rate, f"{cpu_ms:.2f}")]))
    finally:
        stop.set()
        server.join(timeout=10)


if __name__ == "__main__":
    main()
