"""The fetch stage: one polite, bounded, SSRF-safe HTTP GET of a feed URL.

``Fetcher.fetch`` sends a conditional GET (the validators exactly as stored),
follows redirects itself, and returns a ``FetchResult`` for 2xx, 304 and 410;
everything else becomes a ``FetchError`` with one sentence saying what went
wrong. Every fetch is bounded: an overall deadline that a server dripping one
byte at a time cannot stretch, and a body cap counted after decompression
that a gzip bomb cannot inflate past.

Unless ``allow_private`` is set, a fetch refuses hosts that resolve to
loopback, private, link-local, CGNAT, multicast, reserved or cloud metadata
addresses. The check is made on every hop, and the connection then goes to
the very address that was checked (the host name still names the site in
the Host header, TLS SNI and certificate check), so a DNS answer that changes
between check and connect cannot redirect the fetch. If any address a host
resolves to is blocked, the whole host is refused: a name that mixes public
and internal answers is not one a feed should have.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import email.utils
import importlib.metadata
import ipaddress
import os
import re
import socket
import ssl
import time
import zlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from types import TracebackType
from typing import ClassVar, Protocol

import httpcore
import httpx

from worker.errors import BlockedAddressError, FetchError, RateLimitedError
from worker.records import Record


def _version() -> str:
    try:
        return importlib.metadata.version("newsmon")
    except importlib.metadata.PackageNotFoundError:  # running from a source checkout
        return "0+unknown"


DEFAULT_USER_AGENT = f"newsmon/{_version()} (+https://github.com/newsmon/newsmon)"

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8"
)
DEFAULT_PORTS = {"http": 80, "https": 443}
REDIRECTS = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECTS = frozenset({301, 308})
RATE_LIMITED = frozenset({429, 503})
#: A Retry-After beyond this is taken as this: a server cannot park a feed for years.
MAX_RETRY_AFTER = 7 * 24 * 3600.0
#: Most bytes one inflate step may produce, so memory stays near the body cap.
INFLATE_STEP = 64 * 1024

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


# frozen=True repeats Record's config: mypy does not see it inherited.
class Validators(Record, frozen=True):
    """The cache validators of a response, stored and sent back exactly as received."""

    etag: str | None = None
    last_modified: str | None = None


class FetchResult(Record, frozen=True):
    """What one fetch got: a body (2xx), not modified (304) or gone (410)."""

    url: str  # the URL requested
    final_url: str  # after redirects
    status: int
    body: bytes  # b"" unless 2xx
    content_type: str | None
    validators: Validators  # from this response (on 304, the ones sent where it had none)
    moved_to: str | None  # the URL to store: set only when every redirect was permanent
    retry_after: float | None  # seconds, if the response carried a Retry-After


class FetchLimits(Record, frozen=True):
    """How long and how much one fetch may take."""

    deadline: float = 20.0  # seconds for the whole fetch, redirects and a slow drip included
    connect_timeout: float = 5.0
    max_bytes: int = 10 * 1024 * 1024  # of body, counted after decompression
    max_redirects: int = 5


NO_VALIDATORS = Validators()
DEFAULT_LIMITS = FetchLimits()


class Resolver(Protocol):
    """Turns a host name into IP addresses; raises OSError when it cannot."""

    def resolve(self, host: str, port: int) -> list[str]: ...


class SystemResolver:
    """The operating system's resolver (getaddrinfo), given up on after ``timeout``.

    getaddrinfo itself cannot be interrupted, so it runs on a small pool of threads
    shared by the process: a hanging DNS server holds a thread, not the fetch.
    """

    # One pool per process: a forked worker must not inherit its parent's (threadless) pool.
    _pools: ClassVar[dict[int, concurrent.futures.ThreadPoolExecutor]] = {}

    def __init__(self, timeout: float = DEFAULT_LIMITS.deadline) -> None:
        self.timeout = timeout

    @classmethod
    def _pool(cls) -> concurrent.futures.ThreadPoolExecutor:
        pid = os.getpid()
        if pid not in cls._pools:
            cls._pools[pid] = concurrent.futures.ThreadPoolExecutor(
                max_workers=4, thread_name_prefix="newsmon-dns")
        return cls._pools[pid]

    def resolve(self, host: str, port: int) -> list[str]:
        # As bytes: the name is already ASCII (IDNA-encoded by httpx), and Python's
        # idna codec would raise UnicodeError, not OSError, on a long label.
        lookup = self._pool().submit(socket.getaddrinfo, host.encode("ascii"), port,
                                     type=socket.SOCK_STREAM)
        try:
            answers = lookup.result(timeout=self.timeout)
        except concurrent.futures.TimeoutError:
            lookup.cancel()
            raise OSError(f"no answer from DNS within {self.timeout:g} s") from None
        return list(dict.fromkeys(str(answer[4][0]) for answer in answers))


def parse_ip_literal(host: str) -> IPAddress | None:
    """The address a host names by itself, in any form a C resolver accepts.

    Besides the usual forms this reads what inet_aton reads: "2130706433",
    "0x7f.0.0.1", "017700000001", "127.1" are all 127.0.0.1.
    """
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


_METADATA = frozenset(map(ipaddress.ip_address, ["169.254.169.254", "fd00:ec2::254"]))
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT
_SITE_LOCAL = ipaddress.ip_network("fec0::/10")  # deprecated, but still routed inside sites


def blocked_reason(address: IPAddress) -> str | None:
    """Why a fetch must not connect to ``address`` ("a private address"); None if public."""
    if isinstance(address, ipaddress.IPv6Address):
        # ::ffff:10.0.0.1 and 6to4's 2002:a00:1:: reach the IPv4 address inside them.
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            return blocked_reason(embedded)
    checks = (
        (address in _METADATA, "a cloud metadata address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_unspecified, "the unspecified address"),
        (address.is_multicast, "a multicast address"),
        (address in _SHARED, "a shared (carrier-grade NAT) address"),
        (address in _SITE_LOCAL, "a site-local address"),
        (address.is_reserved, "a reserved address"),
        (address.is_private, "a private address"),
        (not address.is_global, "a non-public address"),
    )
    return next((reason for blocked, reason in checks if blocked), None)


_DELAY_SECONDS = re.compile(r"[0-9]+(?:\.[0-9]+)?")


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """A Retry-After header (delay-seconds or an HTTP-date) as seconds from ``now``.

    None if absent or unreadable; never negative, never more than MAX_RETRY_AFTER.
    """
    if value is None:
        return None
    value = value.strip()
    if _DELAY_SECONDS.fullmatch(value):  # an integer by the RFC; decimals are tolerated
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000": UTC by RFC 5322
        when = when.replace(tzinfo=UTC)
    return min(max(0.0, (when - now).total_seconds()), MAX_RETRY_AFTER)


def _time_left(deadline: float, timeout: float | None, expired: type[Exception]) -> float:
    """``timeout`` cut down to the time left before ``deadline``; ``expired`` if none is."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise expired("the fetch deadline has passed")
    return remaining if timeout is None else min(timeout, remaining)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write gives up at the fetch's deadline.

    httpcore's read timeout is per read; clamping each one to the time left
    is what stops a server that sends a byte just before each timeout.
    """

    def __init__(self, stream: httpcore.NetworkStream, deadline: float) -> None:
        self._stream = stream
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        timeout = _time_left(self._deadline, timeout, httpcore.ReadTimeout)
        return self._stream.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        timeout = _time_left(self._deadline, timeout, httpcore.WriteTimeout)
        self._stream.write(buffer, timeout)

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        timeout = _time_left(self._deadline, timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(
            self._stream.start_tls(ssl_context, server_hostname, timeout), self._deadline
        )

    def get_extra_info(self, info: str) -> object:
        return self._stream.get_extra_info(info)


class _PinnedBackend(httpcore.NetworkBackend):
    """Connects only to the addresses the fetcher vetted for a (host, port), never via DNS.

    httpcore still hands the host name to TLS (SNI and certificate check);
    only the address dialled comes from ``pins``.
    """

    def __init__(self, pins: dict[tuple[str, int], list[str]], deadline: float) -> None:
        self._pins = pins
        self._deadline = deadline
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        *others, last = self._pins[(host, port)]
        for address in others:
            with contextlib.suppress(httpcore.ConnectError):
                return self._connect(address, port, timeout, local_address, socket_options)
        return self._connect(last, port, timeout, local_address, socket_options)

    def _connect(
        self,
        address: str,
        port: int,
        timeout: float | None,
        local_address: str | None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None,
    ) -> httpcore.NetworkStream:
        timeout = _time_left(self._deadline, timeout, httpcore.ConnectTimeout)
        stream = self._backend.connect_tcp(address, port, timeout, local_address, socket_options)
        return _DeadlineStream(stream, self._deadline)


class _PinnedTransport(httpx.HTTPTransport):
    """httpx's own transport over a connection pool that dials pinned addresses.

    httpx has no public hook for the network backend, so the pool it builds
    is replaced by one (built with public httpcore API) that has ours.
    """

    def __init__(
        self, pins: dict[tuple[str, int], list[str]], deadline: float, ssl_context: ssl.SSLContext
    ) -> None:
        super().__init__(verify=ssl_context, trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context, network_backend=_PinnedBackend(pins, deadline)
        )


def _raw_header(response: httpx.Response, name: bytes) -> str | None:
    """A header's value with every byte as sent (latin-1 maps bytes to characters 1:1)."""
    return next(
        (value.decode("latin-1") for key, value in response.headers.raw if key.lower() == name),
        None,
    )


def _inflate(chunks: Iterable[bytes], wbits: int) -> Iterator[bytes]:
    """Decompress ``chunks`` in steps of at most INFLATE_STEP bytes of output.

    A bounded step is what keeps a gzip bomb (1000:1) from inflating a whole
    network read, tens of megabytes, in one go.
    """
    inflater = zlib.decompressobj(wbits)
    for chunk in chunks:
        data = chunk
        while data:
            yield inflater.decompress(data, INFLATE_STEP)
            data = inflater.unconsumed_tail
    yield inflater.flush()


def _decoded(chunks: Iterable[bytes], content_encoding: str | None) -> Iterator[bytes]:
    """The body with its Content-Encoding undone; ValueError if it is not gzip or deflate."""
    codings = [
        coding.strip().lower()
        for coding in (content_encoding or "").split(",")
        if coding.strip().lower() not in ("", "identity")
    ]
    if not codings:
        return iter(chunks)
    if codings in (["gzip"], ["x-gzip"], ["deflate"]):
        # 32 + MAX_WBITS reads a gzip or a zlib header, whichever the server sent.
        return _inflate(chunks, 32 + zlib.MAX_WBITS)
    raise ValueError(f"the body has a Content-Encoding we did not ask for: {content_encoding}")


def _describe(exc: httpx.TransportError, where: str, limits: FetchLimits) -> str:
    """One sentence for what went wrong on the wire talking to ``where``."""
    causes: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None:
        causes.append(cause)
        cause = cause.__cause__ or cause.__context__
    tls = next((c for c in causes if isinstance(c, ssl.SSLError)), None)
    if tls is not None:
        detail = getattr(tls, "verify_message", None) or tls.reason or str(tls)
        return f"TLS with {where} failed: {detail}"
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return f"{where} refused the connection"
    if isinstance(exc, httpx.ConnectTimeout):
        return f"timed out connecting to {where}"
    if isinstance(exc, httpx.TimeoutException):
        # every read and write timeout is set to the time left, so this is the deadline
        return f"{where} did not send the whole response within the {limits.deadline:g} s deadline"
    if isinstance(exc, httpx.ConnectError):
        return f"could not connect to {where}: {exc}"
    if isinstance(exc, httpx.ProtocolError):
        return f"{where} broke the HTTP protocol: {exc}"
    return f"the connection to {where} failed: {exc}"


class Fetcher:
    """Fetches feed URLs politely and within limits; safe to share between threads.

    ``transport`` replaces the network (for tests); the address checks still
    apply, made before the transport is called.
    """

    def __init__(
        self,
        *,
        allow_private: bool,
        limits: FetchLimits = DEFAULT_LIMITS,
        user_agent: str = DEFAULT_USER_AGENT,
        resolver: Resolver | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._allow_private = allow_private
        self._limits = limits
        self._user_agent = user_agent
        self._resolver = resolver or SystemResolver(limits.deadline)
        self._transport = transport
        # honours SSL_CERT_FILE / SSL_CERT_DIR, else certifi's roots
        self._ssl_context = httpx.create_ssl_context()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the injected transport; a fetch's own connections close when it ends."""
        if self._transport is not None:
            self._transport.close()

    def fetch(self, url: str, validators: Validators = NO_VALIDATORS) -> FetchResult:
        """GET ``url`` conditionally, following redirects; raise FetchError on failure."""
        deadline = time.monotonic() + self._limits.deadline
        # Each fetch has its own pool: the pins and the deadline belong to it.
        pins: dict[tuple[str, int], list[str]] = {}
        transport: contextlib.AbstractContextManager[httpx.BaseTransport] = (
            contextlib.nullcontext(self._transport)
            if self._transport is not None
            else _PinnedTransport(pins, deadline, self._ssl_context)
        )
        with transport as connection:
            return self._follow(url, validators, deadline, pins, connection)

    def _follow(
        self,
        url: str,
        validators: Validators,
        deadline: float,
        pins: dict[tuple[str, int], list[str]],
        transport: httpx.BaseTransport,
    ) -> FetchResult:
        current = self._parse_url(url, url)
        seen = {current}
        redirects: list[int] = []  # the status of each redirect followed
        while True:
            if self._transport is None or not self._allow_private:
                # An injected transport dials nothing we could pin: resolve only to refuse.
                self._vet(url, current, pins)
            request = httpx.Request(
                "GET",
                current,
                headers=self._headers(validators),
                extensions={"timeout": self._timeouts(url, deadline)},
            )
            try:
                response = transport.handle_request(request)
                try:
                    if response.status_code not in REDIRECTS:
                        permanent = bool(redirects) and PERMANENT_REDIRECTS.issuperset(redirects)
                        moved_to = str(current) if permanent else None
                        return self._result(url, current, response, validators, deadline, moved_to)
                    redirects.append(response.status_code)
                    current = self._redirect_target(url, current, response)
                finally:
                    response.close()
            except httpx.TransportError as exc:
                where = current.netloc.decode("ascii")
                raise FetchError(url, _describe(exc, where, self._limits)) from exc
            if current in seen:
                raise FetchError(url, f"the redirects loop back to {current}")
            if len(redirects) > self._limits.max_redirects:
                raise FetchError(url, f"more than {self._limits.max_redirects} redirects")
            seen.add(current)

    def _result(
        self,
        url: str,
        final: httpx.URL,
        response: httpx.Response,
        sent: Validators,
        deadline: float,
        moved_to: str | None,
    ) -> FetchResult:
        status = response.status_code
        retry_after = parse_retry_after(response.headers.get("Retry-After"), datetime.now(UTC))
        if status in RATE_LIMITED:
            raise RateLimitedError(
                url, f"{final} answered HTTP {status} (rate limited)", retry_after=retry_after
            )
        if not (200 <= status < 300 or status in (304, 410)):
            phrase = f"HTTP {status} {response.reason_phrase}".rstrip()
            raise FetchError(url, f"{final} answered {phrase}")
        received = Validators(
            etag=_raw_header(response, b"etag"),
            last_modified=_raw_header(response, b"last-modified"),
        )
        if status == 304:
            # A 304 need not repeat the validators; the ones sent still hold.
            received = Validators(
                etag=received.etag or sent.etag,
                last_modified=received.last_modified or sent.last_modified,
            )
        body = self._read_body(url, response, deadline) if 200 <= status < 300 else b""
        return FetchResult(
            url=url,
            final_url=str(final),
            status=status,
            body=body,
            content_type=response.headers.get("Content-Type"),
            validators=received,
            moved_to=moved_to,
            retry_after=retry_after,
        )

    def _read_body(self, url: str, response: httpx.Response, deadline: float) -> bytes:
        """The decoded body, refusing it past max_bytes or the deadline."""
        limit = self._limits.max_bytes
        encoding = response.headers.get("Content-Encoding")
        try:
            # A transport may hand over a body it read (and decoded) already: MockTransport does.
            pieces = (
                iter([response.content])
                if response.is_stream_consumed
                else _decoded(response.iter_raw(), encoding)
            )
        except ValueError as exc:
            raise FetchError(url, str(exc)) from exc
        body = bytearray()
        try:
            for piece in pieces:
                body += piece
                if len(body) > limit:
                    raise FetchError(url, f"the body is larger than the {limit}-byte limit")
                if time.monotonic() > deadline:
                    raise self._past_deadline(url)
        except zlib.error as exc:
            raise FetchError(url, f"could not decode the {encoding} body: {exc}") from exc
        return bytes(body)

    def _parse_url(self, url: str, target: str) -> httpx.URL:
        try:
            parsed = httpx.URL(target)
        except httpx.InvalidURL as exc:
            raise FetchError(url, f"{target!r} is not a valid URL: {exc}") from exc
        if parsed.scheme not in DEFAULT_PORTS or not parsed.host:
            raise FetchError(url, f"{target!r} is not an http(s) URL")
        return parsed

    def _vet(self, url: str, target: httpx.URL, pins: dict[tuple[str, int], list[str]]) -> None:
        """Resolve ``target``'s host, refuse it if blocked, and pin what was checked."""
        host = target.raw_host.decode("ascii")
        port = target.port or DEFAULT_PORTS[target.scheme]
        literal = parse_ip_literal(host)
        if literal is not None:
            addresses = [literal]
        else:
            try:
                addresses = [ipaddress.ip_address(a) for a in self._resolver.resolve(host, port)]
            except OSError as exc:
                raise FetchError(url, f"could not resolve {host}: {exc.strerror or exc}") from exc
            if not addresses:
                raise FetchError(url, f"{host} resolves to no address")
        if not self._allow_private:
            for address in addresses:
                reason = blocked_reason(address)
                if reason is not None:
                    raise BlockedAddressError(
                        url, f"refusing to connect to {host}: {address} is {reason}"
                    )
        pins[(host, port)] = [str(address) for address in addresses]

    def _headers(self, validators: Validators) -> list[tuple[bytes, bytes]]:
        headers = [
            (b"User-Agent", self._user_agent.encode()),
            (b"Accept", ACCEPT.encode()),
            (b"Accept-Encoding", b"gzip, deflate"),
        ]
        if validators.etag is not None:
            headers.append((b"If-None-Match", validators.etag.encode("latin-1")))
        if validators.last_modified is not None:
            headers.append((b"If-Modified-Since", validators.last_modified.encode("latin-1")))
        return headers

    def _timeouts(self, url: str, deadline: float) -> dict[str, float]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise self._past_deadline(url)
        return {
            "connect": min(self._limits.connect_timeout, remaining),
            "read": remaining,
            "write": remaining,
            "pool": remaining,
        }

    def _past_deadline(self, url: str) -> FetchError:
        return FetchError(url, f"did not finish within the {self._limits.deadline:g} s deadline")

    def _redirect_target(self, url: str, current: httpx.URL, response: httpx.Response) -> httpx.URL:
        location = response.headers.get("Location")
        if not location:
            raise FetchError(
                url, f"{current} redirected (HTTP {response.status_code}) without a Location"
            )
        try:
            target = current.join(location)
        except httpx.InvalidURL as exc:
            raise FetchError(url, f"{current} redirected to an invalid URL {location!r}") from exc
        return self._parse_url(url, str(target))
