"""Render an alert for each channel: a Slack Block Kit message, an email, a JSON line.

Pure: an Alert goes in, a payload comes out; nothing here touches the network.

Everything taken from a feed (titles, summaries, quotes, outlet names, the
words a figure was read from) is untrusted. For Slack it is escaped (``&``,
``<``, ``>``) so ``<!channel>`` or ``<https://evil.example|click>`` in a title
posts as text; a URL is only linked when it is plain http(s) with nothing that
could end the ``<url|text>`` syntax early. For email the HTML template
autoescapes and the subject is folded to one line that cannot start a header.
Every piece is cut to a length that keeps the message inside Slack's limits.

A ``Bundle`` is several alerts sent as one message: the follow-ups a story
thread gathered while it was throttled, or a channel's hourly/daily digest.
It renders as a heading and the alerts grouped by rule, each with its
headline, what is new and its closest earlier coverage.
"""

from __future__ import annotations

import email.policy
import email.utils
import enum
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
from worker.records import Alert, Change, Record

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
MAX_BLOCKS = 50

# A bundle lists many alerts: links in it are shorter (a longer URL shows its
# title unlinked), so one alert's entry stays well under SECTION_LIMIT, and
# the whole message stays readable.
BUNDLE_URL_LIMIT = 500
BUNDLE_FACTS_LIMIT = 300
RULE_LIMIT = 100
BUNDLE_TEXT_LIMIT = 12_000

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


def slack_link(url: str, title: str, url_limit: int = URL_LIMIT) -> str:
    """``<url|title>`` when the URL is safe and short enough, else the title alone, unlinked."""
    label = slack_text(title or url, TITLE_LIMIT)
    target = safe_url(url)
    if target is None or len(slack_escape(target)) > url_limit:
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


# -- bundles: a thread's held follow-ups, a digest ---------------------------


class BundleKind(enum.StrEnum):
    THREAD = "thread"  # what a story thread gathered while throttled
    DIGEST = "digest"  # every alert a channel was owed over a period


class Bundle(Record, frozen=True):
    """Several alerts sent as one message, in the order they were put."""

    kind: BundleKind
    key: str  # the thread id, or the digest's period ("hourly", "daily")
    alerts: tuple[Alert, ...]
    since: datetime  # the thread's first held alert, or the period's start
    until: datetime  # when the message fell due


class _Group(NamedTuple):
    rule_id: str
    alerts: list[Alert]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def bundle_heading(bundle: Bundle) -> str:
    count = len(bundle.alerts)
    if bundle.kind is BundleKind.THREAD:
        return f"{_plural(count, 'more development')} on this thread"
    return f"{bundle.key.capitalize()} digest: {_plural(count, 'alert')}"


def bundle_span(bundle: Bundle) -> str:
    """``2024-12-24 09:00–10:00 UTC``; the end shows its date when it is another day."""
    since, until = bundle.since, bundle.until
    end = f"{until:%H:%M}" if since.date() == until.date() else f"{until:%Y-%m-%d %H:%M}"
    return f"{since:%Y-%m-%d %H:%M}–{end} UTC"


def by_rule(alerts: Sequence[Alert]) -> list[_Group]:
    """The alerts grouped by rule, rules in the order they first fired."""
    groups: dict[str, list[Alert]] = {}
    for alert in alerts:
        groups.setdefault(alert.rule_id, []).append(alert)
    return [_Group(rule_id, members) for rule_id, members in groups.items()]


def _slack_entry(alert: Alert) -> str:
    """One alert in a bundle: headline, what is new, closest earlier coverage."""
    story = alert.story
    headline = f"• *{slack_link(story.link, story.title, BUNDLE_URL_LIMIT)}*"
    if story.feed_title:
        headline += f" · {slack_text(story.feed_title, TITLE_LIMIT)}"
    lines = [headline]
    if facts := fact_lines(alert):
        lines.append(slack_text("; ".join(facts), BUNDLE_FACTS_LIMIT))
    if alert.earlier:
        item = alert.earlier[0]
        lines.append(f"Earlier: {slack_link(item.url, item.title, BUNDLE_URL_LIMIT)}")
    return "\n".join(lines)


def _pack(groups: list[_Group], max_sections: int) -> tuple[list[str], int]:
    """Entries packed into sections (a new one per rule, or when one is full).

    Stops before ``max_sections`` or BUNDLE_TEXT_LIMIT would be passed;
    returns the sections and how many alerts they show.
    """
    sections: list[str] = []
    used = shown = 0
    for group in groups:
        count = _plural(len(group.alerts), "alert")
        current, started = f"*{slack_text(group.rule_id, RULE_LIMIT)}* · {count}", False
        for alert in group.alerts:
            entry = _slack_entry(alert)
            split = len(current) + 1 + len(entry) > SECTION_LIMIT
            if (
                len(sections) + 1 + split > max_sections
                or used + len(current) + 1 + len(entry) > BUNDLE_TEXT_LIMIT
            ):
                return [*sections, current] if started else sections, shown
            if split:
                sections.append(current)
                used += len(current)
                current = entry
            else:
                current += "\n" + entry
            started = True
            shown += 1
        sections.append(current)
        used += len(current)
    return sections, shown


def slack_bundle_payload(bundle: Bundle) -> dict[str, Any]:
    """One Block Kit message for a bundle, within Slack's limits.

    Alerts that do not fit are counted at the end rather than silently dropped.
    """
    heading = bundle_heading(bundle)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": heading, "emoji": False}},
        _context(bundle_span(bundle)),
    ]
    # room for the sections, keeping one block for the "more" note
    sections, shown = _pack(by_rule(bundle.alerts), MAX_BLOCKS - len(blocks) - 1)
    blocks.extend(_section(text) for text in sections)
    if shown < len(bundle.alerts):
        blocks.append(_context(f"…and {_plural(len(bundle.alerts) - shown, 'more alert')}"))
    titles = "; ".join(alert.story.title for alert in bundle.alerts)
    return {"text": slack_text(f"{heading}: {titles}", FALLBACK_LIMIT), "blocks": blocks}


def _entry_context(alert: Alert) -> dict[str, Any]:
    story = alert.story
    first = alert.earlier[0] if alert.earlier else None
    return {
        "title": story.title,
        "link": safe_url(story.link),
        "feed_title": story.feed_title,
        "published": format_time(story.published),
        "fact_lines": fact_lines(alert),
        "earlier": first and {"title": first.title or first.url, "url": safe_url(first.url)},
    }


def bundle_email(bundle: Bundle, *, sender: str, recipients: Sequence[str]) -> EmailMessage:
    """One multipart/alternative email for a bundle.

    A thread's follow-ups reply to the thread's root (In-Reply-To/References),
    like single follow-up alerts do. The Message-ID derives from the alert ids,
    so a resent bundle carries the same one.
    """
    heading, span = bundle_heading(bundle), bundle_span(bundle)
    context = {
        "heading": heading,
        "span": span,
        "groups": [
            {"rule_id": group.rule_id, "entries": [_entry_context(a) for a in group.alerts]}
            for group in by_rule(bundle.alerts)
        ],
        "alert_ids": [alert.id for alert in bundle.alerts],
    }
    if bundle.kind is BundleKind.THREAD:
        latest = truncate(header_text(bundle.alerts[-1].story.title), SUBJECT_TITLE_LIMIT)
        subject = f"[newsmon] {heading}: {latest}"
    else:
        subject = f"[newsmon] {heading}, {span}"
    ids = "\n".join(alert.id for alert in bundle.alerts)
    message = EmailMessage()
    message["Subject"] = header_text(subject)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = email.utils.format_datetime(bundle.until)
    message["Message-ID"] = message_id(f"bundle-{hashlib.sha256(ids.encode()).hexdigest()[:32]}")
    if bundle.kind is BundleKind.THREAD:
        message["In-Reply-To"] = message_id(bundle.key)
        message["References"] = message_id(bundle.key)
    message.set_content(_TEMPLATES.get_template("bundle.txt.j2").render(context))
    message.add_alternative(
        _TEMPLATES.get_template("bundle.html.j2").render(context), subtype="html"
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
