"""Rendering: feed text is inert in Slack and email, and every payload stays within limits."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest

from worker.records import Alert, Change, EarlierItem, Fact, FactKind, KnownFact, Story
from worker.render import (
    BUNDLE_TEXT_LIMIT,
    FALLBACK_LIMIT,
    HEADER_LIMIT,
    MAX_BLOCKS,
    SECTION_LIMIT,
    Bundle,
    BundleKind,
    alert_json,
    bundle_email,
    email_message,
    header_text,
    safe_url,
    slack_bundle_payload,
    slack_payload,
)

WHEN = datetime(2024, 12, 24, 9, 30, tzinfo=UTC)
EARLIER_WHEN = datetime(2024, 12, 16, 8, 0, tzinfo=UTC)


def casualty(value: float, text: str) -> Fact:
    return Fact(
        kind=FactKind.CASUALTY, value=value, high=value, unit="people", text=text,
        subject="north_korean", measure="killed_or_wounded", qualifier="more_than",
        attribution="Zelenskyy",
    )


def make_alert(
    alert_id: str = "a1",
    *,
    title: str = "North Korean losses in Kursk pass 4,000, Zelenskyy says",
    link: str = "https://news.example/kursk-4000",
    summary: str = "More than 4,000 North Korean soldiers have been killed or wounded.",
    outlets: tuple[str, ...] = ("World Wire", "Daily Example"),
    earlier: tuple[EarlierItem, ...] | None = None,
    changes: tuple[Change, ...] | None = None,
    thread_id: str | None = None,
    rule_id: str = "nk-casualties",
) -> Alert:
    previous = KnownFact(
        fact=casualty(3000, "more than 3,000 North Korean military personnel"),
        source_id="seed-000",
        source_title="Zelenskyy: 3,000 North Koreans killed or wounded",
        published=EARLIER_WHEN,
    )
    new = casualty(4000, "more than 4,000 North Korean soldiers")
    if earlier is None:
        earlier = (
            EarlierItem(
                id="seed-000", title="Zelenskyy: 3,000 North Koreans killed or wounded",
                url="https://news.example/kursk-3000",
                quote="more than 3,000 North Korean military personnel have been killed or wounded",
                score=0.9,
            ),
        )
    return Alert(
        id=alert_id,
        rule_id=rule_id,
        severity="high",
        story=Story(
            id=f"story-{alert_id}", feed_url="https://feeds.example/world.xml",
            feed_title=outlets[0] if outlets else "World Wire", title=title, link=link,
            published=WHEN, summary=summary,
        ),
        changes=(Change(new=new, previous=previous),) if changes is None else changes,
        facts=(new,),
        earlier=earlier,
        outlets=outlets,
        thread_id=thread_id or alert_id,
        reason="A new North Korean casualty figure: 4,000, up from 3,000.",
        created=WHEN,
    )


def mrkdwn_texts(payload: dict[str, Any]) -> list[str]:
    """Every string Slack parses as mrkdwn: the fallback, sections and context elements."""
    texts = [payload["text"]]
    for block in payload["blocks"]:
        if block["type"] == "section":
            texts.append(block["text"]["text"])
        elif block["type"] == "context":
            texts.extend(element["text"] for element in block["elements"])
    return texts


def slack_links(payload: dict[str, Any]) -> list[str]:
    """What Slack would treat as ``<...>`` controls: links, mentions, commands."""
    return [match for text in mrkdwn_texts(payload) for match in re.findall(r"<([^>]*)>", text)]


INJECTIONS = "<!channel> <https://evil.example|click> <@U123> &amp; <!here>"


def test_slack_feed_text_renders_inert() -> None:
    hostile_item = EarlierItem(
        id="e1", title=f"earlier {INJECTIONS}", url="https://news.example/earlier",
        quote=f"quoted {INJECTIONS}", score=0.5,
    )
    alert = make_alert(
        title=f"headline {INJECTIONS}", summary=f"summary {INJECTIONS}",
        outlets=(f"outlet {INJECTIONS}",), earlier=(hostile_item,),
        changes=(Change(new=casualty(4000, f"fact {INJECTIONS}"), previous=None),),
    )
    payload = slack_payload(alert)

    # the only controls are our own links to the story and the earlier item
    assert sorted(slack_links(payload)) == sorted([
        f"https://news.example/kursk-4000|headline {escaped(INJECTIONS)}",
        f"https://news.example/earlier|earlier {escaped(INJECTIONS)}",
    ])
    everything = json.dumps(payload)
    assert "<!channel>" not in everything and "<@U123>" not in everything
    assert "&lt;!channel&gt;" in payload["text"]
    assert "&amp;amp;" in everything  # a literal "&amp;" in a title shows as "&amp;"


def escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "https://news.example/a|<!channel>",
        "https://news.example/a>b",
        "https://news.example/a b",
        "data:text/html,hi",
        "//news.example/no-scheme",
        "https://news.example/" + "a" * 5000,
    ],
)
def test_unsafe_story_url_leaves_the_title_unlinked(url: str) -> None:
    payload = slack_payload(make_alert(title="Kursk update", link=url, earlier=()))
    assert safe_url(url) is None
    assert slack_links(payload) == []
    assert "Kursk update" in payload["blocks"][1]["text"]["text"]


def test_url_ampersands_are_escaped_inside_links() -> None:
    payload = slack_payload(make_alert(link="https://news.example/a?b=1&c=2", earlier=()))
    assert slack_links(payload)[0].startswith("https://news.example/a?b=1&amp;c=2|")


def test_huge_inputs_stay_within_block_kit_limits() -> None:
    huge = "&<x>" * 1250  # 5 KB of text that triples when escaped
    many_earlier = tuple(
        EarlierItem(id=f"e{i}", title=huge, url="https://news.example/" + "p" * 1900,
                    quote=huge, score=0.1)
        for i in range(100)
    )
    many_changes = tuple(
        Change(new=casualty(1000 + i, huge), previous=None) for i in range(200)
    )
    alert = make_alert(
        title=huge, summary=huge, outlets=tuple(huge for _ in range(100)),
        earlier=many_earlier, changes=many_changes, rule_id="r" * 400,
    )
    payload = slack_payload(alert)

    assert len(payload["blocks"]) <= 50
    header = payload["blocks"][0]
    assert header["type"] == "header" and len(header["text"]["text"]) <= HEADER_LIMIT
    assert len(payload["text"]) <= FALLBACK_LIMIT
    for text in mrkdwn_texts(payload):
        assert len(text) <= SECTION_LIMIT
        # cut at an entity boundary: no "&am…" left for Slack to show
        assert not re.search(r"&(?!amp;|lt;|gt;)", text)
    assert payload["text"].endswith("…")
    assert any(text.endswith("…") for text in mrkdwn_texts(payload)[1:])
    assert "…and 90 more" in json.dumps(payload, ensure_ascii=False)


def test_slack_message_says_what_changed_and_links_earlier_coverage() -> None:
    payload = slack_payload(make_alert())
    texts = "\n".join(mrkdwn_texts(payload))
    assert "<https://news.example/kursk-4000|North Korean losses in Kursk pass 4,000" in texts
    assert "<https://news.example/kursk-3000|Zelenskyy: 3,000 North Koreans" in texts
    assert "&gt; more than 3,000 North Korean military personnel" not in texts  # quote is mrkdwn
    assert "> more than 3,000 North Korean military personnel" in texts
    assert "World Wire, Daily Example" in texts
    assert "Zelenskyy: 3,000 North Koreans killed or wounded, 2024-12-16" in texts
    assert "nk-casualties" in payload["blocks"][0]["text"]["text"]


# -- email --------------------------------------------------------------------


def reparse(message: EmailMessage) -> EmailMessage:
    parsed = message_from_bytes(message.as_bytes(policy=policy.SMTP), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


EXPECTED_HEADERS = {"subject", "from", "to", "date", "message-id", "content-type", "mime-version"}


@pytest.mark.parametrize(
    "title",
    [
        "Kursk\r\nBcc: victim@evil.example",
        "Kursk\nX-Injected: 1\n\nbody",
        "=?utf-8?q?Kursk=0D=0ABcc:_victim@evil.example?=",
        "=?utf-8?b?S3Vyc2sNCkJjYzogdmljdGltQGV2aWwuZXhhbXBsZQ==?=",
        # decoding once reveals a second encoded word carrying the line break
        "=?utf-8?q?=3D=3Futf-8=3Fq=3FKursk=3D0D=3D0ABcc:=5Fvictim@evil.example=3F=3D?=",
        "Kursk\u2028Bcc: victim@evil.example\x00\x1b",
    ],
)
def test_subject_cannot_inject_headers(title: str) -> None:
    message = email_message(
        make_alert(title=title), sender="newsmon@example.org",
        recipients=["desk@example.org"], thread_root=None,
    )
    parsed = reparse(message)
    assert {name.lower() for name in parsed} == EXPECTED_HEADERS
    subject = str(parsed["Subject"])
    assert subject.startswith("[newsmon] nk-casualties: Kursk")
    assert not re.search(r"[\x00-\x1f\x7f\u2028\u2029]", subject)
    assert header_text(subject) == subject


def test_email_is_multipart_alternative_with_escaped_html() -> None:
    alert = make_alert(title="<script>alert(1)</script> Kursk", link="javascript:alert(1)")
    message = reparse(
        email_message(alert, sender="newsmon@example.org", recipients=["desk@example.org"],
                      thread_root=None)
    )
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    html_body = html.get_content()
    assert "<script>" not in html_body and "&lt;script&gt;alert(1)&lt;/script&gt;" in html_body
    assert "javascript:" not in html_body
    assert '<a href="https://news.example/kursk-3000">' in html_body
    assert "<script>alert(1)</script> Kursk" in text.get_content()
    assert "Earlier coverage" in text.get_content()
    assert message["Message-ID"] == "<a1@newsmon>"
    assert message["In-Reply-To"] is None


def test_follow_up_email_threads_under_its_root() -> None:
    first = email_message(make_alert("a1"), sender="n@example.org", recipients=["d@example.org"],
                          thread_root=None)
    follow_up = email_message(make_alert("a2", thread_id="a1"), sender="n@example.org",
                              recipients=["d@example.org"], thread_root="a1")
    assert follow_up["In-Reply-To"] == follow_up["References"] == first["Message-ID"]
    assert follow_up["Message-ID"] == "<a2@newsmon>"


def test_message_id_of_an_odd_id_is_still_valid_and_stable() -> None:
    make = lambda: email_message(  # noqa: E731
        make_alert("rule:story/<1>"), sender="n@example.org", recipients=["d@example.org"],
        thread_root=None,
    )
    assert make()["Message-ID"] == make()["Message-ID"]
    assert re.fullmatch(r"<[0-9a-f]{32}@newsmon>", str(make()["Message-ID"]))


# -- JSON -----------------------------------------------------------------------


def test_alert_json_is_the_replay_contract() -> None:
    data = alert_json(make_alert())
    assert json.loads(json.dumps(data)) == data
    assert set(data) == {
        "rule", "title", "link", "published", "feed_url", "facts", "changes", "outlets", "earlier",
    }
    assert data["published"] == "2024-12-24T09:30:00+00:00"
    assert data["facts"][0]["value"] == 4000 and data["facts"][0]["kind"] == "casualty"
    assert data["earlier"] == [{
        "id": "seed-000", "title": "Zelenskyy: 3,000 North Koreans killed or wounded",
        "url": "https://news.example/kursk-3000",
        "quote": "more than 3,000 North Korean military personnel have been killed or wounded",
    }]
    change = data["changes"][0]
    assert set(change) == {"new", "previous", "change"}
    assert "4,000" in change["new"] and "3,000" in change["previous"]
    assert data["outlets"] == ["World Wire", "Daily Example"]


# -- bundles --------------------------------------------------------------------


def bundle_of(*alerts: Alert, kind: BundleKind = BundleKind.DIGEST) -> Bundle:
    key = "hourly" if kind is BundleKind.DIGEST else "seed-000"
    return Bundle(kind=kind, key=key, alerts=alerts, since=WHEN, until=WHEN + timedelta(hours=1))


def test_slack_bundle_of_many_huge_alerts_stays_within_limits_and_counts_the_rest() -> None:
    huge = EarlierItem(id="e", title="<!here> " * 400, url="https://news.example/" + "e" * 1900,
                       quote="q" * 5000, score=1.0)
    alerts = [
        make_alert(f"a{i}", title="<!channel> " * 500, summary="s" * 5000,
                   link="https://news.example/" + "x" * 1900, earlier=(huge,),
                   rule_id=f"rule-{i % 3}-" + "r" * 300)
        for i in range(200)
    ]
    payload = slack_bundle_payload(bundle_of(*alerts))
    blocks = payload["blocks"]
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert len(blocks) <= MAX_BLOCKS and len(payload["text"]) <= FALLBACK_LIMIT
    assert all(len(text) <= SECTION_LIMIT for text in sections)
    assert sum(map(len, sections)) <= BUNDLE_TEXT_LIMIT
    assert len(blocks[0]["text"]["text"]) <= HEADER_LIMIT
    shown = sum(text.count("• ") for text in sections)
    assert 0 < shown < 200
    assert blocks[-1]["elements"][0]["text"] == f"…and {200 - shown} more alerts"
    assert "<!channel>" not in json.dumps(payload) and "<!here>" not in json.dumps(payload)


def test_slack_bundle_links_headline_and_earlier_coverage_but_not_a_long_url() -> None:
    short = make_alert("a1", title="Gas deal signed")
    long_link = make_alert("a2", title="Aid package", link="https://news.example/" + "y" * 600)
    payload = slack_bundle_payload(bundle_of(short, long_link, kind=BundleKind.THREAD))
    assert slack_links(payload) == [
        "https://news.example/kursk-4000|Gas deal signed",
        "https://news.example/kursk-3000|Zelenskyy: 3,000 North Koreans killed or wounded",
        "https://news.example/kursk-3000|Zelenskyy: 3,000 North Koreans killed or wounded",
    ]
    section = payload["blocks"][2]["text"]["text"]
    assert "*Aid package*" in section and "4,000" in section
    assert payload["blocks"][0]["text"]["text"] == "2 more developments on this thread"


def test_bundle_email_escapes_html_and_keeps_a_stable_message_id() -> None:
    alerts = (make_alert("a1", title="<script>x</script>"), make_alert("a2"))
    first = bundle_email(bundle_of(*alerts), sender="n@example.org", recipients=["d@example.org"])
    again = bundle_email(bundle_of(*alerts), sender="n@example.org", recipients=["d@example.org"])
    parsed = message_from_bytes(first.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    html = parsed.get_body(("html",))
    assert html is not None and "<script>" not in html.get_content()
    assert "&lt;script&gt;x&lt;/script&gt;" in html.get_content()
    assert parsed["Subject"] == "[newsmon] Hourly digest: 2 alerts, 2024-12-24 09:30–10:30 UTC"
    assert "In-Reply-To" not in parsed
    assert first["Message-ID"] == again["Message-ID"] != email_message(
        alerts[0], sender="n@example.org", recipients=[], thread_root=None
    )["Message-ID"]
