"""Render an alert for each channel: a Slack Block Kit message, an email, a JSON line.

Pure: an Alert goes in, a payload comes out; nothing here touches the network.

Everything taken from a feed (titles, summaries, quotes, outlet names, the
words a figure was read from) is untrusted. For Slack it is escaped (``&``,
``<``, ``>``) so ``<!channel>`` or ``<https://evil.example|click>`` in a title
posts as text; a URL is only linked when it is plain http(s) with nothing that
could end the ``<url|text>`` syntax early. For email the HTML template
autoescapes and the subject is folded to one line that cannot start a header.
Every piece is cut to a length that keeps the message inside Slack's limits.
"""

from __future__ import annotations

import email.policy
import email.utils
import hashlib
import re
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import jinja2
import msgspec

from worker.facts import describe_change, format_fact
from worker.records import Alert, Change

#: Slack Block Kit limits (https://api.slack.com/reference/block-kit/blocks).
HEADER_LIMIT = 150
SECTION_LIMIT = 3000
FALLBACK_LIMIT = 300

# Budgets for single pieces of feed text; a section holding one link adds up
# to at most URL + title + quote + a little markup, well under SECTION_LIMIT.
URL_LIMIT = 2000
TITLE_LIMIT = 250
SUMMARY_LIMIT = 300
QUOTE_LIMIT = 600
EARLIER_SHOWN = 10
SUBJECT_TITLE_LIMIT = 200

ELLIPSIS = "…"

_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("worker", "templates"),
    autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default=False),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)

_PARTIAL_ENTITY = re.compile(r"&[a-z]*$")
_UNSAFE_IN_URL = re.compile(r"[\s<>|\"'`\\\x00-\x1f\x7f]")
_DOT_ATOM = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*")


class ChangeText(NamedTuple):
    """A change as three readable strings (the previous one may be absent)."""

    new: str
    previous: str | None
    change: str


# -- shared pieces ------------------------------------------------------------


def truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending in an ellipsis if cut."""
    if len(text) <= limit:
        return text
    return text[: limit - len(ELLIPSIS)].rstrip() + ELLIPSIS


def safe_url(url: str) -> str | None:
    """``url`` if it is an http(s) URL safe to put in a link, else None.

    Rejects anything that could close Slack's ``<url|text>`` early or break
    out of an HTML attribute, and URLs too long to fit a section.
    """
    if len(url) > URL_LIMIT or _UNSAFE_IN_URL.search(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


def format_time(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else None


def change_text(change: Change) -> ChangeText:
    previous = change.previous
    if previous is None:
        return ChangeText(format_fact(change.new), None, describe_change(change))
    source = ", ".join(
        part for part in (previous.source_title, format_date(previous.published)) if part
    )
    return ChangeText(
        format_fact(change.new),
        f"{format_fact(previous.fact)} ({source})",
        describe_change(change),
    )


def format_date(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%d") if moment else None


def change_line(change: Change) -> str:
    """One line for a person: the new figure, how it moved, what it replaces."""
    text = change_text(change)
    if text.previous is None:
        return f"{text.new} (new figure)"
    return f"{text.new} ({text.change}); previously {text.previous}"


def fact_lines(alert: Alert) -> list[str]:
    """What changed, or the figures themselves when nothing had been reported before."""
    if alert.changes:
        return [change_line(change) for change in alert.changes]
    return [format_fact(fact) for fact in alert.facts]


# -- Slack ------------------------------------------------------------------


def slack_escape(text: str) -> str:
    """Feed text made inert for Slack mrkdwn: no mentions, no links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_text(text: str, limit: int) -> str:
    """``text`` escaped and cut to ``limit`` characters without splitting an entity."""
    escaped = slack_escape(text)
    if len(escaped) <= limit:
        return escaped
    cut = _PARTIAL_ENTITY.sub("", escaped[: limit - len(ELLIPSIS)])
    return cut.rstrip() + ELLIPSIS


def slack_link(url: str, title: str) -> str:
    """``<url|title>`` when the URL is safe, else the title alone, unlinked."""
    label = slack_text(title or url, TITLE_LIMIT)
    target = safe_url(url)
    if target is None or len(slack_escape(target)) > URL_LIMIT:
        return label
    return f"<{slack_escape(target)}|{label}>"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def slack_payload(alert: Alert) -> dict[str, Any]:
    """A Block Kit message for an incoming webhook, within Slack's limits."""
    story = alert.story
    header = truncate(f"{alert.severity.upper()} · {alert.rule_id}", HEADER_LIMIT)
    meta = " · ".join(
        part
        for part in (
            slack_text(story.feed_title, TITLE_LIMIT),
            format_time(story.published),
            f"rule {slack_text(alert.rule_id, TITLE_LIMIT)}",
            f"severity {slack_text(alert.severity, 50)}",
        )
        if part
    )
    headline = f"*{slack_link(story.link, story.title)}*\n{meta}"
    if story.summary:
        headline += "\n" + slack_text(story.summary, SUMMARY_LIMIT)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": False}},
        _section(headline),
    ]
    lines = fact_lines(alert)
    if lines:
        title = "*What changed*" if alert.changes else "*Figures*"
        body = "\n".join(f"• {line}" for line in lines)
        blocks.append(_section(f"{title}\n{slack_text(body, SECTION_LIMIT - len(title) - 1)}"))
    notes = [f"Carried by {', '.join(alert.outlets)}"] if alert.outlets else []
    if alert.reason:
        notes.append(alert.reason)
    if notes:
        blocks.append(_context(slack_text(" · ".join(notes), SECTION_LIMIT)))
    if alert.earlier:
        blocks.append(_section("*Earlier coverage*"))
        for item in alert.earlier[:EARLIER_SHOWN]:
            text = f"• {slack_link(item.url, item.title)}"
            if item.quote:
                text += f"\n> {slack_text(item.quote, QUOTE_LIMIT)}"
            blocks.append(_section(text))
        if len(alert.earlier) > EARLIER_SHOWN:
            blocks.append(_context(f"…and {len(alert.earlier) - EARLIER_SHOWN} more"))
    fallback = slack_text(f"[{alert.severity}] {alert.rule_id}: {story.title}", FALLBACK_LIMIT)
    return {"text": fallback, "blocks": blocks}


# -- email ------------------------------------------------------------------


def header_text(text: str) -> str:
    """``text`` as one header line: no control characters, no encoded line breaks.

    The email package decodes RFC 2047 encoded words when a header is set, so
    ``=?utf-8?q?a=0D=0ABcc:_x?=`` would come out as a real line break; decode
    first (repeatedly, in case decoding reveals another encoded word), then
    fold every control or line-separator character into a space.
    """
    while True:
        decoded = str(email.policy.default.header_factory("subject", text))
        cleaned = " ".join(
            "".join(
                " " if unicodedata.category(char)[0] in "CZ" and char != " " else char
                for char in decoded
            ).split()
        )
        if cleaned == text:
            return cleaned
        text = cleaned


def message_id(key: str) -> str:
    """A Message-ID derived from an alert or thread id: ``<key@newsmon>``.

    Ids that are not plain dot-atoms are hashed so the header stays valid and
    still deterministic.
    """
    if not _DOT_ATOM.fullmatch(key):
        key = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"<{key}@newsmon>"


def _template_context(alert: Alert) -> dict[str, Any]:
    story = alert.story
    return {
        "alert": alert,
        "title": story.title,
        "link": safe_url(story.link),
        "published": format_time(story.published),
        "summary": story.summary,
        "changed": bool(alert.changes),
        "fact_lines": fact_lines(alert),
        "earlier": [
            {"title": item.title or item.url, "url": safe_url(item.url), "quote": item.quote}
            for item in alert.earlier
        ],
    }


def email_message(
    alert: Alert, *, sender: str, recipients: Sequence[str], thread_root: str | None
) -> EmailMessage:
    """A multipart/alternative (text + HTML) alert email.

    ``thread_root`` is the id of the alert that started the story's thread;
    when given, In-Reply-To/References point at it so mail clients group the
    follow-ups under it.
    """
    context = _template_context(alert)
    title = truncate(header_text(alert.story.title), SUBJECT_TITLE_LIMIT)
    message = EmailMessage()
    message["Subject"] = header_text(f"[newsmon] {alert.rule_id}: {title}")
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = email.utils.format_datetime(alert.created)
    message["Message-ID"] = message_id(alert.id)
    if thread_root is not None:
        message["In-Reply-To"] = message_id(thread_root)
        message["References"] = message_id(thread_root)
    message.set_content(_TEMPLATES.get_template("alert.txt.j2").render(context))
    message.add_alternative(
        _TEMPLATES.get_template("alert.html.j2").render(context), subtype="html"
    )
    return message


# -- JSON -------------------------------------------------------------------


def alert_json(alert: Alert) -> dict[str, Any]:
    """The console / replay contract: plain JSON types only."""
    story = alert.story
    return {
        "rule": alert.rule_id,
        "title": story.title,
        "link": story.link,
        "published": story.published.isoformat() if story.published else None,
        "feed_url": story.feed_url,
        "facts": [msgspec.to_builtins(fact) for fact in alert.facts],
        "changes": [change_text(change)._asdict() for change in alert.changes],
        "outlets": list(alert.outlets),
        "earlier": [
            {"id": item.id, "title": item.title, "url": item.url, "quote": item.quote}
            for item in alert.earlier
        ],
    }
