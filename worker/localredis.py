"""A private redis-server for ``newsmon run`` when none is reachable.

A user with Redis installed but not running (or not installed as a service)
still gets a working daemon: the data lives in the user's state directory with
the append-only file on, and the server stops when ``newsmon run`` exits.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis

from worker.errors import StateUnavailableError

HOW_TO_GET_REDIS = (
    "install Redis (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install "
    "redis) or point NEWSMON_REDIS_URL at a running server"
)


def state_directory() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "newsmon"


def reachable(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        return bool(client.ping())
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False
    finally:
        client.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivateRedis:
    """A redis-server of newsmon's own, on a free loopback port."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise StateUnavailableError(f"Redis is not reachable and not installed: "
                                        f"{HOW_TO_GET_REDIS}")
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir",
             str(self.directory), "--appendonly", "yes", "--appendfsync", "everysec",
             "--save", "", "--logfile", str(self.directory / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise StateUnavailableError(
                    f"redis-server exited at start; see {self.directory / 'redis.log'}")
            if reachable(self.url):
                return
            time.sleep(0.05)
        self.stop()
        raise StateUnavailableError(f"redis-server did not answer within {timeout:g}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
