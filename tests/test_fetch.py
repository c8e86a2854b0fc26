"""The fetch stage against real HTTP servers on 127.0.0.1, polite ones and hostile ones."""

from __future__ import annotations

import email.utils
import gzip
import socket
import ssl
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
import trustme

from tests.hostile_servers import RawServer, drip, endless_zeros, gzip_bomb
from tests.servers import LocalHTTPServer, Request, Response, free_port
from worker.errors import FetchError, RateLimitedError
from worker.fetch import (
    DEFAULT_USER_AGENT,
    MAX_RETRY_AFTER,
    Fetcher,
    FetchLimits,
    Validators,
    parse_retry_after,
)

FEED = b"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title></channel></rss>"
ETAG = '"abc-123"'
LAST_MODIFIED = "Wed, 21 Oct 2015 07:28:00 GMT"
MB = 1024 * 1024


class StubResolver:
    """Answers every host with the same addresses and records what it was asked."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = list(addresses)
        self.asked: list[tuple[str, int]] = []

    def resolve(self, host: str, port: int) -> list[str]:
        self.asked.append((host, port))
        return self.addresses


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(allow_private=True, limits=FetchLimits(deadline=10.0)) as fetcher:
        yield fetcher


def conditional_feed(request: Request) -> Response:
    if (request.headers.get("If-None-Match") == ETAG
            and request.headers.get("If-Modified-Since") == LAST_MODIFIED):
        return Response(304)
    return Response(200, FEED, {"ETag": ETAG, "Last-Modified": LAST_MODIFIED,
                                "Content-Type": "application/rss+xml"})


def test_conditional_get_sends_stored_validators_and_gets_304(
    http_server: LocalHTTPServer, fetcher: Fetcher
) -> None:
    http_server.routes["/feed"] = conditional_feed
    url = http_server.url("/feed")

    first = fetcher.fetch(url)
    second = fetcher.fetch(url, first.validators)

    assert (first.status, first.body, first.content_type) == (200, FEED, "application/rss+xml")
    assert first.validators == Validators(etag=ETAG, last_modified=LAST_MODIFIED)
    assert (first.url, first.final_url, first.moved_to) == (url, url, None)
    assert (second.status, second.body) == (304, b"")
    assert second.validators == first.validators
    sent = http_server.requests_to("/feed")
    assert "If-None-Match" not in sent[0].headers
    assert sent[1].headers["If-None-Match"] == ETAG
    assert sent[1].headers["If-Modified-Since"] == LAST_MODIFIED
    assert sent[1].headers["User-Agent"] == DEFAULT_USER_AGENT
    assert sent[1].headers["Accept-Encoding"] == "gzip, deflate"


def test_304_keeps_a_validator_the_response_did_not_repeat(
    http_server: LocalHTTPServer, fetcher: Fetcher
) -> None:
    http_server.routes["/feed"] = lambda request: Response(304, b"", {"ETag": '"new"'})

    result = fetcher.fetch(http_server.url("/feed"), Validators(etag='"old"', last_modified="x"))

    assert result.validators == Validators(etag='"new"', last_modified="x")


@pytest.mark.parametrize(("encoding", "compress"), [
    ("gzip", gzip.compress),
    ("deflate", zlib.compress),
])
def test_compressed_body_is_decoded(
    http_server: LocalHTTPServer, fetcher: Fetcher, encoding: str,
    compress: Callable[[bytes], bytes],
) -> None:
    http_server.routes["/feed"] = lambda request: Response(
        200, compress(FEED), {"Content-Encoding": encoding})

    assert fetcher.fetch(http_server.url("/feed")).body == FEED


def test_corrupt_gzip_is_a_fetch_error(http_server: LocalHTTPServer, fetcher: Fetcher) -> None:
    http_server.routes["/feed"] = lambda request: Response(
        200, b"\x1f\x8b\x08\x00garbage-not-gzip", {"Content-Encoding": "gzip"})

    with pytest.raises(FetchError, match="could not decode the gzip body"):
        fetcher.fetch(http_server.url("/feed"))


def test_an_encoding_not_asked_for_is_a_fetch_error(
    http_server: LocalHTTPServer, fetcher: Fetcher
) -> None:
    http_server.routes["/feed"] = lambda request: Response(200, b"xx", {"Content-Encoding": "br"})

    with pytest.raises(FetchError, match=r"Content-Encoding we did not ask for: br$"):
        fetcher.fetch(http_server.url("/feed"))


def test_non_feed_content_still_returns_the_body(
    http_server: LocalHTTPServer, fetcher: Fetcher
) -> None:
    page = b"<!doctype html><html><body>not a feed</body></html>"
    http_server.routes["/page"] = lambda request: Response(
        200, page, {"Content-Type": "text/html; charset=utf-8"})

    result = fetcher.fetch(http_server.url("/page"))

    assert (result.status, result.body, result.content_type) == (
        200, page, "text/html; charset=utf-8")


@pytest.mark.slow
@pytest.mark.parametrize("where", ["headers", "body"])
def test_a_dripping_server_is_cut_off_at_the_deadline(where: str) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
    script = (drip(b"", head + bytes(1000), 0.5) if where == "headers"
              else drip(head, bytes(1000), 0.5))
    with RawServer(script) as server, \
            Fetcher(allow_private=True, limits=FetchLimits(deadline=2.0)) as fetcher:
        started = time.monotonic()
        with pytest.raises(FetchError, match="deadline"):
            fetcher.fetch(server.url("/feed"))
        elapsed = time.monotonic() - started

    assert elapsed < 2.0 + 1.0


def peak_memory_of_fetch(fetcher: Fetcher, url: str) -> tuple[int, FetchError]:
    tracemalloc.start()
    try:
        with pytest.raises(FetchError) as caught:
            fetcher.fetch(url)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, caught.value


def test_a_100_mb_body_is_refused_at_the_cap_without_buffering_it() -> None:
    with RawServer(endless_zeros(100 * MB)) as server, \
            Fetcher(allow_private=True, limits=FetchLimits(max_bytes=MB)) as fetcher:
        peak, error = peak_memory_of_fetch(fetcher, server.url("/big"))

    assert f"larger than the {MB}-byte limit" in str(error)
    assert peak < 4 * MB


def test_a_gzip_bomb_is_refused_at_the_cap_without_inflating_it() -> None:
    with RawServer(gzip_bomb(1024 * MB)) as server, \
            Fetcher(allow_private=True, limits=FetchLimits(max_bytes=MB)) as fetcher:
        peak, error = peak_memory_of_fetch(fetcher, server.url("/bomb"))

    assert f"larger than the {MB}-byte limit" in str(error)
    assert peak < 4 * MB


def redirect(status: int, to: str) -> Response:
    return Response(status, b"", {"Location": to})


def redirect_route(status: int, to: str, request: Request) -> Response:
    return redirect(status, to)


def test_a_redirect_loop_is_a_clear_error(http_server: LocalHTTPServer, fetcher: Fetcher) -> None:
    http_server.routes["/a"] = lambda request: redirect(302, "/b")
    http_server.routes["/b"] = lambda request: redirect(302, http_server.url("/a"))

    with pytest.raises(FetchError, match=r"redirects loop back to http://\S+/a$"):
        fetcher.fetch(http_server.url("/a"))


def test_too_many_redirects_is_a_clear_error(http_server: LocalHTTPServer) -> None:
    for hop in range(5):
        http_server.routes[f"/r{hop}"] = partial(redirect_route, 301, f"/r{hop + 1}")
    http_server.routes["/r5"] = lambda request: Response(200, FEED)

    with Fetcher(allow_private=True, limits=FetchLimits(max_redirects=3)) as fetcher, \
            pytest.raises(FetchError, match="more than 3 redirects"):
        fetcher.fetch(http_server.url("/r0"))
    assert len(http_server.requests_to("/r4")) == 0


@pytest.mark.parametrize(("statuses", "moved"), [
    ((301, 301), True),
    ((308,), True),
    ((301, 302), False),
    ((302,), False),
    ((307,), False),
    ((303,), False),
])
def test_moved_to_is_set_only_when_every_hop_is_permanent(
    http_server: LocalHTTPServer, fetcher: Fetcher, statuses: tuple[int, ...], moved: bool
) -> None:
    for hop, status in enumerate(statuses):
        http_server.routes[f"/hop{hop}"] = partial(redirect_route, status, f"/hop{hop + 1}")
    final = f"/hop{len(statuses)}"
    http_server.routes[final] = lambda request: Response(200, FEED)

    result = fetcher.fetch(http_server.url("/hop0"))

    assert (result.status, result.body) == (200, FEED)
    assert result.final_url == http_server.url(final)
    assert result.moved_to == (http_server.url(final) if moved else None)


def test_a_redirect_to_a_304_keeps_the_validators(
    http_server: LocalHTTPServer, fetcher: Fetcher
) -> None:
    http_server.routes["/old"] = lambda request: redirect(301, "/feed")
    http_server.routes["/feed"] = conditional_feed

    stored = Validators(etag=ETAG, last_modified=LAST_MODIFIED)

    result = fetcher.fetch(http_server.url("/old"), stored)

    assert (result.status, result.moved_to) == (304, http_server.url("/feed"))


def test_429_with_retry_after_seconds(http_server: LocalHTTPServer, fetcher: Fetcher) -> None:
    http_server.routes["/feed"] = lambda request: Response(429, b"", {"Retry-After": "120"})

    with pytest.raises(RateLimitedError, match="HTTP 429") as caught:
        fetcher.fetch(http_server.url("/feed"))

    assert caught.value.retry_after == 120.0


def test_429_with_retry_after_http_date(http_server: LocalHTTPServer, fetcher: Fetcher) -> None:
    when = datetime.now(UTC) + timedelta(seconds=300)
    http_server.routes["/feed"] = lambda request: Response(
        429, b"", {"Retry-After": email.utils.format_datetime(when, usegmt=True)})

    with pytest.raises(RateLimitedError) as caught:
        fetcher.fetch(http_server.url("/feed"))

    assert caught.value.retry_after is not None
    assert 290 <= caught.value.retry_after <= 300


def test_503_is_rate_limited_even_without_retry_after(
    http_server: LocalHTTPServer, fetcher: Fetcher
) -> None:
    http_server.routes["/feed"] = lambda request: Response(503, b"busy")

    with pytest.raises(RateLimitedError, match="HTTP 503") as caught:
        fetcher.fetch(http_server.url("/feed"))

    assert caught.value.retry_after is None


def test_410_is_a_result_so_the_pipeline_can_disable_the_feed(
    http_server: LocalHTTPServer, fetcher: Fetcher
) -> None:
    http_server.routes["/feed"] = lambda request: Response(410, b"gone for good")

    result = fetcher.fetch(http_server.url("/feed"))

    assert (result.status, result.body) == (410, b"")


@pytest.mark.parametrize(("status", "words"), [
    (500, "HTTP 500 Internal Server Error"),
    (404, "HTTP 404 Not Found"),
])
def test_other_error_statuses_are_fetch_errors(
    http_server: LocalHTTPServer, fetcher: Fetcher, status: int, words: str
) -> None:
    http_server.routes["/feed"] = lambda request: Response(status, b"oops")
    url = http_server.url("/feed")

    with pytest.raises(FetchError) as caught:
        fetcher.fetch(url)

    assert str(caught.value) == f"{url}: {url} answered {words}"
    assert type(caught.value) is FetchError


def test_connection_refused_is_a_fetch_error(fetcher: Fetcher) -> None:
    port = free_port()

    with pytest.raises(FetchError, match=f"127.0.0.1:{port} refused the connection"):
        fetcher.fetch(f"http://127.0.0.1:{port}/feed")


def test_a_server_hanging_up_without_answering_is_a_fetch_error(fetcher: Fetcher) -> None:
    with RawServer(lambda conn: None) as server, \
            pytest.raises(FetchError, match="broke the HTTP protocol"):
        fetcher.fetch(server.url("/feed"))


def test_a_name_that_does_not_resolve_is_a_fetch_error() -> None:
    class Unresolvable:
        def resolve(self, host: str, port: int) -> list[str]:
            raise OSError(-2, "Name or service not known")

    with Fetcher(allow_private=True, resolver=Unresolvable()) as fetcher, \
            pytest.raises(FetchError, match=r"could not resolve feeds\.example: Name or service"):
        fetcher.fetch("http://feeds.example/feed")


@pytest.mark.parametrize("url", ["ftp://example.com/feed", "file:///etc/passwd", "http://"])
def test_only_http_urls_are_fetched(fetcher: Fetcher, url: str) -> None:
    with pytest.raises(FetchError, match="not"):
        fetcher.fetch(url)


def test_the_host_name_is_kept_while_connecting_to_the_resolved_address(
    http_server: LocalHTTPServer,
) -> None:
    http_server.routes["/feed"] = lambda request: Response(200, FEED)
    resolver = StubResolver("127.0.0.1")

    with Fetcher(allow_private=True, resolver=resolver) as fetcher:
        result = fetcher.fetch(f"http://feeds.example:{http_server.port}/feed")

    assert result.body == FEED
    host = http_server.requests_to("/feed")[0].headers["Host"]
    assert host == f"feeds.example:{http_server.port}"
    assert resolver.asked == [("feeds.example", http_server.port)]


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


def tls_server(authority: trustme.CA, hostname: str) -> LocalHTTPServer:
    server = LocalHTTPServer()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert(hostname).configure_cert(context)
    server.server.socket = context.wrap_socket(server.server.socket, server_side=True)
    server.routes["/feed"] = lambda request: Response(200, FEED)
    return server


@pytest.fixture
def trusted_ca_file(authority: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(path))
    monkeypatch.setenv("SSL_CERT_FILE", str(path))


@pytest.mark.usefixtures("trusted_ca_file")
def test_tls_verifies_the_certificate_against_the_host_name(authority: trustme.CA) -> None:
    with tls_server(authority, "feeds.example") as server, \
            Fetcher(allow_private=True, resolver=StubResolver("127.0.0.1")) as fetcher:
        result = fetcher.fetch(f"https://feeds.example:{server.port}/feed")

    assert result.body == FEED


@pytest.mark.usefixtures("trusted_ca_file")
def test_a_certificate_for_another_name_is_a_tls_error(authority: trustme.CA) -> None:
    with tls_server(authority, "other.example") as server, \
            Fetcher(allow_private=True, resolver=StubResolver("127.0.0.1")) as fetcher, \
            pytest.raises(FetchError, match=r"TLS with feeds\.example:\d+ failed: Hostname"):
        fetcher.fetch(f"https://feeds.example:{server.port}/feed")


NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("header", "seconds"), [
    ("120", 120.0),
    (" 0 ", 0.0),
    ("Wed, 01 May 2024 12:02:00 GMT", 120.0),
    ("Wed, 01 May 2024 12:02:00 -0000", 120.0),
    ("Wed, 01 May 2024 11:00:00 GMT", 0.0),
    ("99999999999999999999", MAX_RETRY_AFTER),
    ("-5", None),
    ("inf", None),
    ("soon", None),
    (None, None),
])
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, NOW) == seconds


def test_a_hanging_dns_lookup_is_given_up_at_the_fetch_deadline(
        monkeypatch: pytest.MonkeyPatch) -> None:
    released = threading.Event()

    def hanging_getaddrinfo(*args: object, **kwargs: object) -> list[object]:
        released.wait(10)
        return []

    monkeypatch.setattr(socket, "getaddrinfo", hanging_getaddrinfo)
    started = time.monotonic()
    try:
        with Fetcher(allow_private=False, limits=FetchLimits(deadline=0.3)) as fetcher, \
                pytest.raises(FetchError, match=r"no answer from DNS within 0\.3 s"):
            fetcher.fetch("http://feeds.example.org/rss")
    finally:
        released.set()
    assert time.monotonic() - started < 3
