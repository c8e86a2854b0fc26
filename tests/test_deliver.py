"""Channels against real local servers: a webhook on 127.0.0.1 and aiosmtpd."""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tests.servers import LocalHTTPServer, Response, free_port
from tests.smtp_servers import smtp_server, tls_contexts
from tests.test_render import INJECTIONS, make_alert, slack_links
from worker.deliver import ConsoleChannel, EmailChannel, SlackChannel, parse_smtp_url
from worker.errors import ConfigError, PermanentDeliveryError, TransientDeliveryError

SECRET_PATH = "/services/T000/B000/s3cr3t"


def webhook(server: LocalHTTPServer, *responses: Response) -> str:
    """Route the webhook path to ``responses`` in turn (the last one repeats)."""
    queue = list(responses)
    server.routes[SECRET_PATH] = lambda request: queue.pop(0) if len(queue) > 1 else queue[0]
    return server.url(SECRET_PATH)


def posted(server: LocalHTTPServer) -> list[dict[str, object]]:
    return [json.loads(request.body) for request in server.requests_to(SECRET_PATH)]


# -- console ------------------------------------------------------------------


def test_console_writes_one_json_line_per_alert() -> None:
    stream = io.StringIO()
    channel = ConsoleChannel(stream)
    channel.send(make_alert("a1"))
    channel.send(make_alert("a2", title="Second\nline"))
    lines = stream.getvalue().splitlines()
    assert [json.loads(line)["title"] for line in lines] == [
        "North Korean losses in Kursk pass 4,000, Zelenskyy says", "Second\nline",
    ]


# -- Slack ----------------------------------------------------------------------


def test_slack_posts_injection_titles_inert(http_server: LocalHTTPServer) -> None:
    url = webhook(http_server, Response(200, b"ok"))
    channel = SlackChannel(url, min_interval=0)
    channel.send(make_alert(title=f"Kursk {INJECTIONS}", earlier=()))
    (payload,) = posted(http_server)
    assert slack_links(payload) == [f"https://news.example/kursk-4000|Kursk {_escaped()}"]
    assert "<!channel>" not in json.dumps(payload)


def _escaped() -> str:
    return INJECTIONS.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def test_slack_post_of_a_5kb_title_stays_within_limits(http_server: LocalHTTPServer) -> None:
    channel = SlackChannel(webhook(http_server, Response(200, b"ok")), min_interval=0)
    channel.send(make_alert(title="<!channel> " * 500))
    (payload,) = posted(http_server)
    blocks = payload["blocks"]
    assert isinstance(blocks, list) and len(blocks) <= 50
    assert all(len(block["text"]["text"]) <= 3000 for block in blocks if "text" in block)
    assert isinstance(payload["text"], str) and len(payload["text"]) <= 300


def test_slack_429_is_transient_with_retry_after(http_server: LocalHTTPServer) -> None:
    channel = SlackChannel(
        webhook(http_server, Response(429, b"rate_limited", {"Retry-After": "7"})), min_interval=0
    )
    with pytest.raises(TransientDeliveryError) as caught:
        channel.send(make_alert())
    assert caught.value.retry_after == 7
    assert SECRET_PATH not in str(caught.value)
    # While the Retry-After runs, the next post is not sent and not slept on either:
    # the task retries later, outside its delivery claim.
    started = time.monotonic()
    with pytest.raises(TransientDeliveryError) as again:
        channel.send(make_alert("a2"))
    assert time.monotonic() - started < 1
    assert again.value.retry_after is not None and 5 < again.value.retry_after <= 7
    assert len(http_server.requests_to(SECRET_PATH)) == 1


def test_slack_500_is_transient(http_server: LocalHTTPServer) -> None:
    channel = SlackChannel(webhook(http_server, Response(500, b"oops")), min_interval=0)
    with pytest.raises(TransientDeliveryError, match="500"):
        channel.send(make_alert())


def test_slack_400_is_permanent_and_names_slacks_reason(http_server: LocalHTTPServer) -> None:
    channel = SlackChannel(webhook(http_server, Response(400, b"invalid_payload")), min_interval=0)
    with pytest.raises(PermanentDeliveryError) as caught:
        channel.send(make_alert())
    message = str(caught.value)
    assert "400" in message and "invalid_payload" in message
    assert SECRET_PATH not in message and SECRET_PATH not in repr(channel)


def test_slack_unreachable_is_transient_and_keeps_the_secret() -> None:
    channel = SlackChannel(f"http://127.0.0.1:{free_port()}{SECRET_PATH}", min_interval=0)
    with pytest.raises(TransientDeliveryError) as caught:
        channel.send(make_alert())
    assert SECRET_PATH not in str(caught.value)


def test_slack_posts_are_paced_per_webhook_across_channels(http_server: LocalHTTPServer) -> None:
    url = webhook(http_server, Response(200, b"ok"))
    first, second = SlackChannel(url, min_interval=0.2), SlackChannel(url, min_interval=0.2)
    started = time.monotonic()
    for channel in (first, second, first):
        channel.send(make_alert())
    assert time.monotonic() - started >= 0.4
    assert len(posted(http_server)) == 3


# -- email ----------------------------------------------------------------------

SENDER = "newsmon@example.org"
RECIPIENTS = ["desk@example.org"]


def test_email_to_a_local_relay_is_multipart_with_escaped_html() -> None:
    with smtp_server() as (port, handler):
        channel = EmailChannel(f"smtp://127.0.0.1:{port}?tls=none", SENDER, RECIPIENTS)
        channel.send(make_alert(title="<script>alert(1)</script> Kursk"))
    (message,) = handler.messages()
    assert handler.envelopes[0].rcpt_tos == RECIPIENTS
    assert message.get_content_type() == "multipart/alternative"
    html = message.get_body(("html",))
    assert html is not None
    assert "<script>" not in html.get_content()
    assert "&lt;script&gt;" in html.get_content()


def test_email_subject_with_crlf_cannot_add_a_header() -> None:
    with smtp_server() as (port, handler):
        channel = EmailChannel(f"smtp://127.0.0.1:{port}?tls=none", SENDER, RECIPIENTS)
        channel.send(make_alert(title="Kursk\r\nBcc: victim@evil.example\r\nX-Evil: 1"))
        channel.send(make_alert(title="=?utf-8?q?Kursk=0D=0ABcc:_victim@evil.example?="))
    for envelope, message in zip(handler.envelopes, handler.messages(), strict=True):
        assert envelope.rcpt_tos == RECIPIENTS
        assert message["Bcc"] is None and message["X-Evil"] is None
        assert "\n" not in str(message["Subject"])


def test_email_follow_up_replies_to_the_thread_root() -> None:
    with smtp_server() as (port, handler):
        channel = EmailChannel(f"smtp://127.0.0.1:{port}?tls=none", SENDER, RECIPIENTS)
        channel.send(make_alert("root"))
        channel.send(make_alert("next", thread_id="root"))
    root, follow_up = handler.messages()
    assert root["In-Reply-To"] is None and root["References"] is None
    assert follow_up["In-Reply-To"] == follow_up["References"] == root["Message-ID"]


def test_email_refuses_to_send_in_clear_when_starttls_is_not_offered() -> None:
    with smtp_server() as (port, handler):
        channel = EmailChannel(f"smtp://127.0.0.1:{port}", SENDER, RECIPIENTS)
        with pytest.raises(PermanentDeliveryError, match="does not offer STARTTLS"):
            channel.send(make_alert())
    assert handler.envelopes == []


def test_email_over_starttls_with_a_trusted_certificate() -> None:
    server_context, client_context = tls_contexts()
    with smtp_server(tls_context=server_context, require_starttls=True) as (port, handler):
        channel = EmailChannel(
            f"smtp://127.0.0.1:{port}", SENDER, RECIPIENTS, ssl_context=client_context
        )
        channel.send(make_alert())
    assert len(handler.envelopes) == 1


def test_email_over_starttls_rejects_an_untrusted_certificate() -> None:
    server_context, _ = tls_contexts()
    with smtp_server(tls_context=server_context, require_starttls=True) as (port, handler):
        channel = EmailChannel(f"smtp://127.0.0.1:{port}", SENDER, RECIPIENTS)
        with pytest.raises(PermanentDeliveryError, match="certificate"):
            channel.send(make_alert())
    assert handler.envelopes == []


def _authenticator(accepted: tuple[bytes, bytes]) -> Callable[..., AuthResult]:
    """An aiosmtpd authenticator accepting only ``accepted`` (login, password)."""

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str,
                     auth_data: Any) -> AuthResult:
        return AuthResult(success=(auth_data.login, auth_data.password) == accepted, handled=False)

    return authenticate


def test_email_refused_login_is_permanent_and_clear() -> None:
    with smtp_server(
        authenticator=_authenticator((b"alerts", b"right")), auth_require_tls=False
    ) as (port, handler):
        channel = EmailChannel(
            f"smtp://alerts:wrong@127.0.0.1:{port}?tls=none", SENDER, RECIPIENTS
        )
        with pytest.raises(PermanentDeliveryError) as caught:
            channel.send(make_alert())
    assert str(caught.value) == (
        f"email: SMTP login refused for user alerts at 127.0.0.1:{port}"
    )
    assert handler.envelopes == []


def test_email_login_uses_the_url_decoded_password() -> None:
    with smtp_server(
        authenticator=_authenticator((b"alerts@example.org", b"p@ss:/w rd")),
        auth_require_tls=False,
    ) as (port, handler):
        url = f"smtp://alerts%40example.org:p%40ss%3A%2Fw%20rd@127.0.0.1:{port}?tls=none"
        EmailChannel(url, SENDER, RECIPIENTS).send(make_alert())
    assert len(handler.envelopes) == 1


def test_email_server_down_is_transient() -> None:
    channel = EmailChannel(f"smtp://127.0.0.1:{free_port()}?tls=none", SENDER, RECIPIENTS)
    with pytest.raises(TransientDeliveryError, match="could not reach"):
        channel.send(make_alert())


def test_email_5xx_from_the_server_is_permanent() -> None:
    class Refusing:
        async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                              options: list[str]) -> str:
            return "550 no such mailbox"

    port = free_port()
    controller = Controller(Refusing(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        channel = EmailChannel(f"smtp://127.0.0.1:{port}?tls=none", SENDER, RECIPIENTS)
        with pytest.raises(PermanentDeliveryError, match="550"):
            channel.send(make_alert())
    finally:
        controller.stop()


# -- NEWSMON_SMTP_URL -------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "port", "tls"),
    [
        ("smtp://mail.example.org", 587, "starttls"),
        ("smtp://mail.example.org?tls=none", 25, "none"),
        ("smtps://mail.example.org", 465, "implicit"),
        ("smtp://mail.example.org:2525?tls=starttls", 2525, "starttls"),
    ],
)
def test_smtp_url_defaults(url: str, port: int, tls: str) -> None:
    target = parse_smtp_url(url)
    assert (target.host, target.port, target.tls) == ("mail.example.org", port, tls)


def test_smtp_url_credentials_are_decoded_and_not_in_repr() -> None:
    target = parse_smtp_url("smtp://me%40example.org:s%2Fcret@mail.example.org")
    assert (target.username, target.password) == ("me@example.org", "s/cret")
    assert "s/cret" not in repr(target)


@pytest.mark.parametrize(
    "url",
    [
        "http://mail.example.org",
        "smtp://",
        "smtp://mail.example.org:notaport",
        "smtp://mail.example.org?tls=maybe",
        "smtps://mail.example.org?tls=none",
        "smtp://mail.example.org?verify=no",
    ],
)
def test_bad_smtp_url_names_the_variable(url: str) -> None:
    with pytest.raises(ConfigError, match="NEWSMON_SMTP_URL") as caught:
        parse_smtp_url(url.replace("://", "://user:hunter2@", 1) if "@" not in url else url)
    assert "hunter2" not in str(caught.value)
    assert re.search(r"NEWSMON_SMTP_URL(: \w+)?: ", str(caught.value))


def test_a_bad_answer_to_quit_does_not_fail_a_sent_email() -> None:
    """The message was accepted; a 421 to QUIT must not make the outbox send it again."""
    import socket
    import threading

    from tests.test_render import make_alert
    from worker.deliver import EmailChannel

    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[bytes] = []

    def serve() -> None:
        conn, _ = listener.accept()
        with conn, conn.makefile("rb") as lines:
            conn.sendall(b"220 ready\r\n")
            in_data = False
            for line in lines:
                if in_data:
                    if line == b".\r\n":
                        in_data = False
                        accepted.append(line)
                        conn.sendall(b"250 queued\r\n")
                    continue
                verb = line[:4].upper()
                if verb == b"DATA":
                    in_data = True
                    conn.sendall(b"354 go on\r\n")
                elif verb == b"QUIT":
                    conn.sendall(b"421 busy, closing\r\n")
                    return
                else:
                    conn.sendall(b"250 ok\r\n")

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    port = listener.getsockname()[1]
    channel = EmailChannel(f"smtp://127.0.0.1:{port}?tls=none", "newsmon@example.test",
                           ["desk@example.test"])
    channel.send(make_alert())
    server.join(5)
    listener.close()
    assert len(accepted) == 1
