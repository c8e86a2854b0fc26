from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.servers import LocalHTTPServer, env_redis_url, redis_server

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def redis_base_url() -> Iterator[str]:
    """A real Redis: NEWSMON_TEST_REDIS_URL if set, else a redis-server of our own."""
    url = env_redis_url()
    if url:
        yield url
        return
    with redis_server() as server:
        yield server.url


@pytest.fixture
def namespace(redis_base_url: str) -> Iterator[str]:
    """A key prefix of this test's own; only keys under it are deleted afterwards.

    The suite never flushes a database: on a shared Redis (NEWSMON_TEST_REDIS_URL)
    it removes exactly the keys it created.
    """
    prefix = f"newsmon-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    client = redis.Redis.from_url(redis_base_url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def http_server() -> Iterator[LocalHTTPServer]:
    with LocalHTTPServer() as server:
        yield server
