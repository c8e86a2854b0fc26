"""Real processes for fault tests: celery workers and beats, a restartable SMTP server,
and a feed server and Slack endpoint a test can make hang or fail on purpose.

A ``Stack`` is one newsmon deployment on 127.0.0.1: a redis-server of its own
(appendonly, appendfsync always), a feed, a Slack webhook and an SMTP server,
and whatever workers and beats the test starts. Processes run in their own
session, so ``kill()`` sends SIGKILL to a worker and its pool children at once,
as a machine or container dying would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import redis
from aiosmtpd.controller import Controller

from tests.sample_feed import rss
from tests.servers import LocalHTTPServer, RedisServer, Request, Response, free_port, redis_server
from tests.smtp_servers import RecordingHandler

#: The shortest visibility timeout settings allow; the tests need redelivery to be quick.
VISIBILITY_TIMEOUT = "10"


def figure_story(number: int, figure: str) -> tuple[str, str]:
    """A story reporting a new North Korean casualty figure: each distinct figure alerts."""
    return (f"North Korean casualties in Kursk rise to {figure}, report {number} says",
            f"About {figure} North Korean soldiers have been killed or wounded in Kursk, "
            f"Ukraine's president said.")


class Hang:
    """Holds the next request on a route until released: the moment to kill a worker."""

    def __init__(self) -> None:
        self.armed = False
        self.entered = threading.Event()
        self.released = threading.Event()
        self._lock = threading.Lock()

    def arm(self) -> None:
        self.armed = True

    def hold(self) -> bool:
        """Called by the route: True if this request was held (and has now been let go)."""
        with self._lock:
            if not self.armed:
                return False
            self.armed = False
        self.entered.set()
        self.released.wait(timeout=60)
        return True

    def release(self) -> None:
        self.released.set()


class Feed:
    """The feed route: serves ``items``; counts polls; can hang one request."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []
        self.hang = Hang()
        self.polls = 0
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        with self._lock:
            self.polls += 1
        items = list(self.items)
        if self.hang.hold():
            return Response(503, b"held")
        return Response(200, rss(items), {"Content-Type": "application/rss+xml"})


class Slack:
    """The webhook route: answers ``status``; ``posts`` keeps only the texts it accepted (200)."""

    def __init__(self) -> None:
        self.status = 200
        self.hang = Hang()
        self.posts: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        if self.hang.hold():
            return Response(503, b"held")  # the worker that sent it is dead by now
        status = self.status
        if status == 200:
            with self._lock:
                self.posts.append(json.loads(request.body)["text"])
        return Response(status, b"ok" if status == 200 else b"unavailable")


class SMTPServer:
    """aiosmtpd on a fixed port that can be stopped and started again; keeps one mailbox."""

    def __init__(self) -> None:
        self.port = free_port()
        self.mailbox = RecordingHandler()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def subjects(self) -> list[str]:
        return [str(message["Subject"]) for message in self.mailbox.messages()]


SUPERVISE = ("import sys; from worker.supervise import supervise; "
             "sys.exit(supervise(sys.argv[1:], restart_delay=0.5))")


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class CeleryProcess:
    """One ``celery -A worker`` process (worker or beat) with its log file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path,
                 supervised: bool = False) -> None:
        self.args = args
        self.env = env
        self.log = log
        self.supervised = supervised
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> CeleryProcess:
        command = [sys.executable, "-m", "celery", "-A", "worker", *self.args]
        if self.supervised:
            # Under worker.supervise, as `newsmon run` runs it: restarted if it exits.
            command = [sys.executable, "-c", SUPERVISE, *command]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                command, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)
        return self

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the process and its pool children: no shutdown code runs."""
        if self.process is not None:
            if self.alive:
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        if self.alive:
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()
        self.process = None

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def celery(args: list[str], env: dict[str, str], log: Path) -> Iterator[CeleryProcess]:
    """A started ``celery -A worker ARGS`` process, stopped (warm, then hard) on exit."""
    process = CeleryProcess(args, env, log).start()
    try:
        yield process
    finally:
        process.stop()


class Stack:
    """A newsmon deployment on 127.0.0.1 for one test."""

    def __init__(self, redis: RedisServer, web: LocalHTTPServer, smtp: SMTPServer,
                 directory: Path, interval: float) -> None:
        self.redis = redis
        self.web = web
        self.smtp = smtp
        self.directory = directory
        self.feed = Feed()
        self.slack = Slack()
        web.routes["/feed.xml"] = self.feed
        web.routes["/slack"] = self.slack
        feeds = directory / "feeds.yaml"
        feeds.write_text(f"feeds:\n  - url: {web.url('/feed.xml')}\n    title: Local Wire\n"
                         f"    interval: {interval}\n")
        self.env = {
            **os.environ,
            "NEWSMON_REDIS_URL": redis.url,
            "NEWSMON_FEEDS": str(feeds),
            "NEWSMON_ALLOW_PRIVATE_NETWORKS": "on",
            "NEWSMON_VISIBILITY_TIMEOUT": VISIBILITY_TIMEOUT,
            "NEWSMON_SLACK_WEBHOOK_URL": web.url("/slack"),
            "NEWSMON_SMTP_URL": f"smtp://127.0.0.1:{smtp.port}?tls=none",
            "NEWSMON_EMAIL_FROM": "newsmon@example.test",
            "NEWSMON_EMAIL_TO": "desk@example.test",
        }
        self.processes: list[CeleryProcess] = []

    def worker(self, name: str = "w1", supervised: bool = False) -> CeleryProcess:
        """A started worker with one pool process, named ``name``."""
        process = CeleryProcess(
            ["worker", "--concurrency", "1", "--loglevel", "INFO", "-n", f"{name}@%h",
             "--without-gossip", "--without-mingle"],
            self.env, self.directory / f"{name}.log", supervised)
        self.processes.append(process)
        return process.start()

    def beat(self, name: str = "beat") -> CeleryProcess:
        process = CeleryProcess(
            ["beat", "--loglevel", "INFO", "--schedule", str(self.directory / f"{name}.db")],
            self.env, self.directory / f"{name}.log")
        self.processes.append(process)
        return process.start()

    def wait_for_polls(self, count: int, timeout: float = 30) -> None:
        """Wait until the feed has been fetched ``count`` more times from now."""
        target = self.feed.polls + count
        wait_until(lambda: self.feed.polls >= target, timeout, f"{count} more polls")

    def alerts_put(self) -> int:
        """How many alerts are in the outbox (delivered or not)."""
        client = redis.Redis.from_url(self.redis.url)
        try:
            return int(client.zcard("newsmon:outbox:order"))
        finally:
            client.close()

    def wait_for_alerts(self, slack: int, email: int, timeout: float) -> None:
        wait_until(lambda: len(self.slack.posts) >= slack and len(self.smtp.subjects()) >= email,
                   timeout, f"{slack} Slack posts and {email} emails")


@contextmanager
def stack(directory: Path, interval: float = 1) -> Iterator[Stack]:
    """A Stack; every process it started is stopped afterwards, and held requests let go."""
    smtp = SMTPServer()
    smtp.start()
    with redis_server() as redis, LocalHTTPServer() as web:
        deployment = Stack(redis, web, smtp, directory, interval)
        try:
            yield deployment
        finally:
            deployment.feed.hang.release()
            deployment.slack.hang.release()
            for process in deployment.processes:
                process.stop()
            smtp.stop()
