"""The fetch stage refuses internal addresses before connecting, on every hop.

Refusals use a transport that fails the test if it is ever called, so no test
here can connect anywhere; the one test that uses the network fetches from
127.0.0.1 and asserts the server never heard from us.
"""

from __future__ import annotations

import ipaddress
import re

import httpx
import pytest

from tests.servers import LocalHTTPServer, Response
from worker.errors import BlockedAddressError
from worker.fetch import Fetcher, blocked_reason, parse_ip_literal

PUBLIC = "93.184.216.34"


class StubResolver:
    """Answers every host with the same addresses and records what it was asked."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = list(addresses)
        self.asked: list[str] = []

    def resolve(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        return self.addresses


class RecordingTransport(httpx.MockTransport):
    """A transport standing in for the network: answers with ``answers``, in order."""

    def __init__(self, *answers: httpx.Response) -> None:
        self.requests: list[httpx.Request] = []
        remaining = list(answers)

        def handle(request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            assert remaining, f"the fetcher went on to {request.url}"
            return remaining.pop(0)

        super().__init__(handle)


def never_called() -> RecordingTransport:
    return RecordingTransport()


@pytest.mark.parametrize("address", [
    "10.0.0.5",
    "127.0.0.1",
    "169.254.169.254",
    "::ffff:10.0.0.1",
    "100.64.1.1",
    "fd00:ec2::254",
    "::1",
    "fec0::1",
    "fe80::1",
    "0.0.0.0",
    "224.0.0.1",
    "192.168.1.1",
    "172.16.0.1",
])
def test_a_host_resolving_to_an_internal_address_is_refused_before_connecting(
    address: str,
) -> None:
    transport = never_called()
    fetcher = Fetcher(allow_private=False, resolver=StubResolver(address), transport=transport)

    with pytest.raises(BlockedAddressError) as caught:
        fetcher.fetch("https://feeds.example/feed")

    shown = ipaddress.ip_address(address)
    assert f"refusing to connect to feeds.example: {shown} is " in str(caught.value)

    assert transport.requests == []


def test_one_internal_address_among_public_ones_refuses_the_host() -> None:
    transport = never_called()
    fetcher = Fetcher(allow_private=False, resolver=StubResolver(PUBLIC, "10.1.2.3"),
                      transport=transport)

    with pytest.raises(BlockedAddressError, match=re.escape("10.1.2.3 is a private address")):
        fetcher.fetch("http://feeds.example/feed")

    assert transport.requests == []


class NoResolver:
    def resolve(self, host: str, port: int) -> list[str]:
        raise AssertionError(f"an IP literal was sent to the resolver: {host}")


@pytest.mark.parametrize("url", [
    "http://2130706433/",
    "http://0x7f.0.0.1/",
    "http://017700000001/",
    "http://127.1/",
    "http://0/",
    "http://[::ffff:10.0.0.1]/",
    "http://[::1]:8080/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fd00:ec2::254]/",
])
def test_ip_literals_in_any_spelling_are_refused(url: str) -> None:
    transport = never_called()
    fetcher = Fetcher(allow_private=False, resolver=NoResolver(), transport=transport)

    with pytest.raises(BlockedAddressError):
        fetcher.fetch(url)

    assert transport.requests == []


def test_a_redirect_to_the_metadata_address_is_refused_before_the_second_hop() -> None:
    transport = RecordingTransport(
        httpx.Response(302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}))
    fetcher = Fetcher(allow_private=False, resolver=StubResolver(PUBLIC), transport=transport)

    refused = re.escape("169.254.169.254 is a cloud metadata address")
    with pytest.raises(BlockedAddressError, match=refused):
        fetcher.fetch("http://feeds.example/feed")

    assert [str(request.url) for request in transport.requests] == ["http://feeds.example/feed"]


def test_a_redirect_to_a_name_resolving_internally_is_refused() -> None:
    class SplitResolver:
        def resolve(self, host: str, port: int) -> list[str]:
            return [PUBLIC] if host == "feeds.example" else ["10.0.0.7"]

    transport = RecordingTransport(
        httpx.Response(301, headers={"Location": "http://intranet.example/admin"}))
    fetcher = Fetcher(allow_private=False, resolver=SplitResolver(), transport=transport)

    with pytest.raises(BlockedAddressError, match=re.escape("intranet.example: 10.0.0.7")):
        fetcher.fetch("http://feeds.example/feed")

    assert len(transport.requests) == 1


def test_a_public_host_is_fetched() -> None:
    transport = RecordingTransport(httpx.Response(200, content=b"<rss/>"))
    fetcher = Fetcher(allow_private=False, resolver=StubResolver(PUBLIC), transport=transport)

    result = fetcher.fetch("https://feeds.example/feed")

    assert (result.status, result.body) == (200, b"<rss/>")


def test_loopback_is_refused_on_the_real_network_and_never_contacted(
    http_server: LocalHTTPServer,
) -> None:
    http_server.routes["/feed"] = lambda request: Response(200, b"<rss/>")

    with Fetcher(allow_private=False) as fetcher, \
            pytest.raises(BlockedAddressError, match=re.escape("127.0.0.1 is a loopback address")):
        fetcher.fetch(http_server.url("/feed"))

    assert http_server.requests == []


def test_the_connection_goes_to_the_vetted_address_without_resolving_again(
    http_server: LocalHTTPServer,
) -> None:
    """DNS rebinding: a second answer (here: none at all) is never asked for."""

    class AnswersOnce:
        def __init__(self) -> None:
            self.answered = False

        def resolve(self, host: str, port: int) -> list[str]:
            assert not self.answered, "the host was resolved a second time"
            self.answered = True
            return ["127.0.0.1"]

    http_server.routes["/feed"] = lambda request: Response(200, b"<rss/>")

    # .example never resolves in real DNS: reaching the server proves the pinned address was used
    with Fetcher(allow_private=True, resolver=AnswersOnce()) as fetcher:
        result = fetcher.fetch(f"http://feeds.example:{http_server.port}/feed")

    assert result.body == b"<rss/>"


@pytest.mark.parametrize(("address", "reason"), [
    ("169.254.169.254", "a cloud metadata address"),
    ("fd00:ec2::254", "a cloud metadata address"),
    ("127.0.0.2", "a loopback address"),
    ("::ffff:127.0.0.1", "a loopback address"),
    ("169.254.1.1", "a link-local address"),
    ("fe80::1", "a link-local address"),
    ("0.0.0.0", "the unspecified address"),
    ("::", "the unspecified address"),
    ("239.1.1.1", "a multicast address"),
    ("ff02::1", "a multicast address"),
    ("100.64.1.1", "a shared (carrier-grade NAT) address"),
    ("10.0.0.5", "a private address"),
    ("fc00::1", "a private address"),
    ("2002:a00:1::", "a private address"),  # 6to4 around 10.0.0.1
    ("240.0.0.1", "a reserved address"),
    ("192.0.2.1", "a private address"),  # documentation range
    ("64:ff9b::a00:1", "a reserved address"),  # NAT64 around 10.0.0.1
    ("8.8.8.8", None),
    ("::ffff:8.8.8.8", None),
    ("2606:4700:4700::1111", None),
])
def test_blocked_reason(address: str, reason: str | None) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize(("host", "address"), [
    ("2130706433", "127.0.0.1"),
    ("0x7f.0.0.1", "127.0.0.1"),
    ("017700000001", "127.0.0.1"),
    ("10.1", "10.0.0.1"),
    ("::1", "::1"),
    ("feeds.example", None),
    ("1e100.net", None),
])
def test_parse_ip_literal(host: str, address: str | None) -> None:
    parsed = parse_ip_literal(host)
    assert (None if parsed is None else str(parsed)) == address


def test_an_injected_transport_with_private_allowed_resolves_nothing() -> None:
    transport = RecordingTransport(httpx.Response(200, content=b"<rss/>"))
    fetcher = Fetcher(allow_private=True, resolver=NoResolver(), transport=transport)

    assert fetcher.fetch("http://feeds.example/feed").body == b"<rss/>"
