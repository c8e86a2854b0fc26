"""The one error hierarchy of newsmon.

Third-party exceptions (httpx, redis, smtplib, yaml, feedparser) are converted
to these at the boundary where they occur, so callers above the edges only
ever see ``NewsmonError`` subclasses. Each message is one sentence a user can
act on. Bugs are not converted: they still raise as themselves.
"""

from __future__ import annotations


class NewsmonError(Exception):
    """Base of every error newsmon reports to a user."""


class ConfigError(NewsmonError):
    """A settings value, rule file or feed list is invalid.

    Names the file (or variable) and the field at fault.
    """

    def __init__(self, source: str, field: str | None, problem: str) -> None:
        self.source = source
        self.field = field
        self.problem = problem
        where = f"{source}: {field}" if field else source
        super().__init__(f"{where}: {problem}")


class FeedError(NewsmonError):
    """A feed could not be fetched or parsed. Recorded per feed as a value."""

    #: short machine-readable reason, shown in ``newsmon feeds``
    reason = "error"

    def __init__(self, url: str, problem: str) -> None:
        self.url = url
        self.problem = problem
        super().__init__(f"{url}: {problem}")


class FetchError(FeedError):
    """Network-level failure: refused, timed out, too large, bad status."""

    reason = "fetch"


class BlockedAddressError(FetchError):
    """The feed's address is on a private, loopback or metadata network."""

    reason = "blocked"


class ParseError(FeedError):
    """The body is not a feed feedparser or the fast path can read."""

    reason = "parse"


class StateUnavailableError(NewsmonError):
    """Redis (the state store and broker) cannot be reached."""


class DeliveryError(NewsmonError):
    """An alert could not be delivered to a channel."""

    def __init__(self, channel: str, problem: str, *, retry_after: float | None = None) -> None:
        self.channel = channel
        self.problem = problem
        self.retry_after = retry_after
        super().__init__(f"{channel}: {problem}")


class TransientDeliveryError(DeliveryError):
    """Worth retrying: 429, 5xx, network errors, temporary SMTP failures."""


class PermanentDeliveryError(DeliveryError):
    """Not worth retrying: bad webhook, refused login, 4xx other than 429."""


class RateLimitedError(FetchError):
    """The server asked us to slow down (HTTP 429 or 503).

    ``retry_after`` is how many seconds it asked us to wait, if it said.
    """

    reason = "rate_limited"

    def __init__(self, url: str, problem: str, *, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(url, problem)
