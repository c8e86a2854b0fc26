"""Delivery channels: the console (JSON lines), a Slack incoming webhook, SMTP email.

Each channel sends one rendered alert and converts what can go wrong on the
wire into ``TransientDeliveryError`` (worth retrying: 429, 5xx, network
errors, temporary SMTP replies) or ``PermanentDeliveryError`` (a bad webhook,
a refused login, a server that will not encrypt). Retrying and bookkeeping
are the outbox's job, not the channel's. Slack and email can also send a
``Bundle`` (a thread's held follow-ups, a digest) as one message; the console
cannot: it stays one JSON line per alert.

The Slack webhook URL is a secret: it appears in no message and no repr,
only its host does.
"""

from __future__ import annotations

import contextlib
import json
import smtplib
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any, Literal, Protocol, TextIO, cast, runtime_checkable
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import structlog

from worker.errors import ConfigError, PermanentDeliveryError, TransientDeliveryError
from worker.fetch import parse_retry_after
from worker.records import Alert
from worker.render import (
    Bundle,
    alert_json,
    bundle_email,
    email_message,
    slack_bundle_payload,
    slack_payload,
)

log = structlog.get_logger(__name__)

SMTP_URL_VARIABLE = "NEWSMON_SMTP_URL"


class Channel(Protocol):
    """Somewhere an alert can be sent."""

    name: str

    def send(self, alert: Alert) -> None:
        """Send ``alert``; raise TransientDeliveryError or PermanentDeliveryError."""


@runtime_checkable
class BundleChannel(Channel, Protocol):
    """A channel that can send several alerts as one message."""

    def send_bundle(self, bundle: Bundle) -> None:
        """Send ``bundle``; raise TransientDeliveryError or PermanentDeliveryError."""


class ConsoleChannel:
    """Writes each alert as one JSON line (the default channel)."""

    name = "console"

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def send(self, alert: Alert) -> None:
        self.stream.write(json.dumps(alert_json(alert), ensure_ascii=False) + "\n")
        self.stream.flush()


# -- Slack ------------------------------------------------------------------


class _Pace:
    """When the next post to one webhook may start; shared by its channels."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.next_at = float("-inf")


_PACES: dict[str, _Pace] = {}
_PACES_LOCK = threading.Lock()


def _pace_for(url: str) -> _Pace:
    with _PACES_LOCK:
        return _PACES.setdefault(url, _Pace())


def redact_url(url: str) -> str:
    """The webhook's scheme and host only: its path is the secret."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}/…"


class SlackChannel:
    """Posts Block Kit alerts to a Slack incoming webhook.

    Posts to the same webhook are paced to at most one per ``min_interval``
    seconds across every SlackChannel of the process (Slack allows about one
    message per second per webhook); a 429 also holds back the next post
    until its Retry-After has passed.
    """

    name = "slack"

    def __init__(
        self,
        webhook_url: str,
        *,
        client: httpx.Client | None = None,
        min_interval: float = 1.0,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._url = webhook_url
        self._owns_client = client is None
        self._client = client or httpx.Client(timeout=timeout, follow_redirects=False)
        self._min_interval = min_interval
        self._clock = clock
        self._sleep = sleep
        self._pace = _pace_for(webhook_url)
        self.where = redact_url(webhook_url)

    def __repr__(self) -> str:
        return f"SlackChannel({self.where!r})"

    def send(self, alert: Alert) -> None:
        self._post_paced(slack_payload(alert))
        log.debug("slack.posted", webhook=self.where, alert=alert.id)

    def send_bundle(self, bundle: Bundle) -> None:
        self._post_paced(slack_bundle_payload(bundle))
        log.debug("slack.posted", webhook=self.where, alerts=[a.id for a in bundle.alerts])

    def _post_paced(self, payload: dict[str, Any]) -> None:
        with self._pace.lock:
            wait = self._pace.next_at - self._clock()
            if wait > self._min_interval:
                # A Retry-After still running: the task retries later rather than
                # sleep inside its delivery claim and time limit.
                raise TransientDeliveryError(
                    self.name, f"{self.where} asked us to wait {wait:.0f} s", retry_after=wait)
            if wait > 0:
                self._sleep(wait)
            self._pace.next_at = self._clock() + self._min_interval
            response = self._post(payload)
            if response.status_code == 429:
                retry_after = parse_retry_after(
                    response.headers.get("Retry-After"), datetime.now(UTC)
                )
                if retry_after is not None:
                    self._pace.next_at = max(self._pace.next_at, self._clock() + retry_after)
                raise TransientDeliveryError(
                    self.name, f"{self.where} is rate limiting (429)", retry_after=retry_after
                )
        if response.is_success:
            return
        body = response.text.strip()[:200] or "no body"
        problem = f"{self.where} answered {response.status_code}: {body}"
        if response.status_code >= 500:
            raise TransientDeliveryError(self.name, problem)
        raise PermanentDeliveryError(self.name, problem)

    def _post(self, payload: dict[str, Any]) -> httpx.Response:
        try:
            return self._client.post(self._url, json=payload)
        except httpx.TransportError as exc:
            # httpx messages rarely carry the URL, but never let the secret through
            detail = str(exc).replace(self._url, self.where) or type(exc).__name__
            raise TransientDeliveryError(
                self.name, f"could not reach {self.where}: {detail}"
            ) from None

    def close(self) -> None:
        if self._owns_client:
            self._client.close()


# -- email ------------------------------------------------------------------

TlsMode = Literal["starttls", "none", "implicit"]


@dataclass(frozen=True)
class SmtpTarget:
    """Where and how to reach the SMTP server, parsed from NEWSMON_SMTP_URL.

    A dataclass rather than a msgspec record so the password stays out of its repr.
    """

    scheme: Literal["smtp", "smtps"]
    host: str
    port: int
    username: str | None
    password: str | None = field(repr=False)
    tls: TlsMode

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def parse_smtp_url(url: str) -> SmtpTarget:
    """``smtp://user:pass@host:587`` (STARTTLS, required), ``smtp://host?tls=none``
    (a local relay, in clear) or ``smtps://host`` (TLS from the first byte).

    The error messages never repeat the URL: it may hold a password.
    """

    def bad(field: str | None, problem: str) -> ConfigError:
        return ConfigError(SMTP_URL_VARIABLE, field, problem)

    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise bad(None, f"not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("smtp", "smtps"):
        raise bad("scheme", f"expected smtp:// or smtps://, got {scheme or 'none'!r}")
    if not parts.hostname:
        raise bad("host", "missing")
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - {"tls"})
    if unknown:
        raise bad("query", f"unknown parameter {unknown[0]!r} (only tls= is understood)")
    tls_values = query.get("tls", ["implicit" if scheme == "smtps" else "starttls"])
    tls = tls_values[-1].lower()
    if scheme == "smtps" and tls != "implicit":
        raise bad("tls", "smtps:// always uses TLS; drop ?tls= or use smtp://")
    if scheme == "smtp" and tls not in ("starttls", "none"):
        raise bad("tls", f"expected tls=starttls or tls=none, got {tls!r}")
    default_port = {"implicit": 465, "starttls": 587, "none": 25}[tls]
    return SmtpTarget(
        scheme=cast(Literal["smtp", "smtps"], scheme),
        host=parts.hostname,
        port=port or default_port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        tls=cast(TlsMode, tls),
    )


class EmailChannel:
    """Sends alerts by SMTP; follow-ups on a story thread reply to its first alert.

    STARTTLS is required unless the URL says ``?tls=none``: a server that does
    not offer it gets nothing, so an alert is never sent in clear by accident.
    Certificates are verified against the system's CAs unless ``ssl_context``
    says otherwise.
    """

    name = "email"

    def __init__(
        self,
        smtp_url: str,
        sender: str,
        recipients: Sequence[str],
        *,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 30,
    ) -> None:
        self.target = parse_smtp_url(smtp_url)
        self.sender = sender
        self.recipients = tuple(recipients)
        self._ssl_context = ssl_context or ssl.create_default_context()
        self._timeout = timeout

    def __repr__(self) -> str:
        return f"EmailChannel({self.target.address!r})"

    def send(self, alert: Alert) -> None:
        self._send_message(
            email_message(
                alert,
                sender=self.sender,
                recipients=self.recipients,
                thread_root=None if alert.thread_id == alert.id else alert.thread_id,
            )
        )

    def send_bundle(self, bundle: Bundle) -> None:
        self._send_message(bundle_email(bundle, sender=self.sender, recipients=self.recipients))

    def _send_message(self, message: EmailMessage) -> None:
        where = self.target.address
        try:
            smtp = self._connect()
            try:
                refused = smtp.send_message(
                    message, from_addr=self.sender, to_addrs=list(self.recipients)
                )
            finally:
                # The message is accepted (or refused) by now: a server that answers
                # QUIT badly must not make us send it again.
                with contextlib.suppress(smtplib.SMTPException, OSError):
                    smtp.quit()
                smtp.close()
        except smtplib.SMTPAuthenticationError:
            raise PermanentDeliveryError(
                self.name, f"SMTP login refused for user {self.target.username} at {where}"
            ) from None
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise self._by_code(
                min(codes), f"{where} refused every recipient: {_replies(exc.recipients)}"
            ) from None
        except smtplib.SMTPResponseException as exc:
            reply = _reply_text(exc.smtp_error)
            problem = f"{where} answered {exc.smtp_code} {reply}"
            raise self._by_code(exc.smtp_code, problem) from None
        except smtplib.SMTPServerDisconnected as exc:
            raise TransientDeliveryError(self.name, f"{where} hung up: {exc}") from None
        except smtplib.SMTPException as exc:
            raise PermanentDeliveryError(self.name, f"{where}: {exc}") from None
        except ssl.SSLCertVerificationError as exc:
            raise PermanentDeliveryError(
                self.name, f"the certificate of {where} could not be verified: {exc.verify_message}"
            ) from None
        except OSError as exc:
            raise TransientDeliveryError(
                self.name, f"could not reach {where}: {exc or type(exc).__name__}"
            ) from None
        if refused:
            # the others have it; retrying would send them a second copy
            log.warning("email.recipients_refused", server=where, refused=_replies(refused))

    def _connect(self) -> smtplib.SMTP:
        target = self.target
        smtp: smtplib.SMTP
        if target.tls == "implicit":
            smtp = smtplib.SMTP_SSL(
                target.host, target.port, timeout=self._timeout, context=self._ssl_context
            )
        else:
            smtp = smtplib.SMTP(target.host, target.port, timeout=self._timeout)
        try:
            if target.tls == "starttls":
                smtp.ehlo()
                if not smtp.has_extn("starttls"):
                    raise PermanentDeliveryError(
                        self.name,
                        f"{target.address} does not offer STARTTLS; refusing to send in clear "
                        "(use ?tls=none only for a local relay)",
                    )
                smtp.starttls(context=self._ssl_context)
                smtp.ehlo()
            if target.username:
                smtp.login(target.username, target.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _by_code(self, code: int, problem: str) -> TransientDeliveryError | PermanentDeliveryError:
        # 5xx is a final no; 4xx (and smtplib's -1 for a dropped connection) may pass
        if code >= 500:
            return PermanentDeliveryError(self.name, problem)
        return TransientDeliveryError(self.name, problem)


def _reply_text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else reply


def _replies(refused: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(
        f"{address}: {code} {_reply_text(reply)}" for address, (code, reply) in refused.items()
    )
