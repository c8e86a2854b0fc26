"""Tests of the parse stage: fast path and feedparser agree, hostile bodies stay harmless."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from worker.errors import ParseError
from worker.parse import (
    ParsedFeed,
    RawEntry,
    canonical_url,
    normalise,
    parse_feed,
    parse_feed_fast,
    parse_feed_lenient,
    parse_published,
    story_id,
    strip_html,
)
from worker.records import Story

DATA = Path(__file__).parent / "data"
FEEDS = DATA / "feeds"
FEEDPARSER_DATA = DATA / "feedparser"
CORPUS_XML_FEEDS = ["rss2.xml", "atom.xml", "rss1.xml"]
FEED_URL = "https://news.example.com/world/feed.xml"


def _feed_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in (".xml", ".json"))


def _stories(parsed: ParsedFeed, feed_url: str = FEED_URL) -> list[Story]:
    return [normalise(e, feed_url=feed_url, feed_title=parsed.title) for e in parsed.entries]


def _rss(items: str, *, head: str = "", channel_title: str = "T") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>{head}<rss version="2.0"><channel>'
        f"<title>{channel_title}</title>{items}</channel></rss>"
    ).encode()


# --- the two paths agree -------------------------------------------------------------------


GOLDEN_FILES = [FEEDS / name for name in CORPUS_XML_FEEDS] + [
    path
    for path in _feed_files(FEEDPARSER_DATA / "wellformed")
    if parse_feed_fast(path.read_bytes(), FEED_URL) is not None
]


@pytest.mark.parametrize("path", GOLDEN_FILES, ids=lambda p: str(p.relative_to(DATA)))
def test_fast_path_gives_the_same_stories_as_feedparser(path: Path) -> None:
    body = path.read_bytes()
    fast = parse_feed_fast(body, FEED_URL)
    lenient = parse_feed_lenient(body, FEED_URL)
    assert fast is not None and fast.parser == "fast"
    assert lenient.parser == "feedparser"
    assert fast.title == lenient.title
    assert _stories(fast) == _stories(lenient)
    assert [e.entry_id for e in fast.entries] == [e.entry_id for e in lenient.entries]


def test_golden_set_covers_each_format() -> None:
    roots = {path.read_bytes().lstrip()[:300].split(b"<!--")[0] for path in GOLDEN_FILES}
    text = b"".join(roots)
    assert len(GOLDEN_FILES) > 30
    assert b"<rss" in text and b"<feed" in text and b"<rdf:RDF" in text


def test_corpus_feeds_read_the_same_in_every_format() -> None:
    per_format = {}
    for name in [*CORPUS_XML_FEEDS, "jsonfeed.json"]:
        parsed = parse_feed((FEEDS / name).read_bytes(), FEED_URL)
        assert parsed.parser == "fast"
        assert parsed.title == "newsmon test corpus"
        per_format[name] = [
            (s.id, s.title, s.link, s.published, s.summary) for s in _stories(parsed)
        ]
    rss2 = per_format["rss2.xml"]
    assert len(rss2) == 50
    assert all(rows == rss2 for rows in per_format.values())


def test_corpus_entries_come_out_as_the_corpus_has_them() -> None:
    jf = json.loads((FEEDS / "jsonfeed.json").read_text())
    stories = _stories(parse_feed((FEEDS / "rss2.xml").read_bytes(), FEED_URL))
    for item, story in zip(jf["items"], stories, strict=True):
        assert story.title == item["title"]
        assert story.link == item["url"]
        assert story.id == story_id(FEED_URL, item["url"])
        assert story.published == datetime.fromisoformat(item["date_published"])
        assert story.summary == strip_html(item.get("content_html", ""))
    # the corpus' HTML entities come out as characters
    assert any("won't" in s.summary for s in stories)
    assert not any("&#039;" in s.summary for s in stories)


# --- JSON Feed -----------------------------------------------------------------------------


def test_feedparser_cannot_read_json_feed_so_only_the_fast_path_does() -> None:
    body = (FEEDPARSER_DATA / "json" / "example.json").read_bytes()
    with pytest.raises(ParseError, match="not a feed"):
        parse_feed_lenient(body, FEED_URL)
    parsed = parse_feed(body, FEED_URL)
    assert parsed.parser == "fast"
    assert parsed.title == "My Example Feed"
    first, second = _stories(parsed)
    assert (first.title, first.summary, first.link) == (
        "post 2",
        "This is a second item.",
        "https://example.org/second-item",
    )
    assert second.summary == "Hello, world!"  # the <script> content is dropped
    assert second.id == story_id(FEED_URL, "1")


def test_json_feed_plain_text_stays_as_written() -> None:
    body = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1",
            "title": "J",
            "items": [{"id": 7, "title": "AT&amp;T <b>", "content_text": "x < y & z"}],
        }
    ).encode()
    (story,) = _stories(parse_feed(body, FEED_URL))
    assert (story.title, story.summary) == ("AT&amp;T <b>", "x < y & z")
    assert story.id == story_id(FEED_URL, "7")


def test_json_that_is_not_a_json_feed_is_not_a_feed() -> None:
    body = b'{"version": "something else", "items": []}'
    assert parse_feed_fast(body, FEED_URL) is None
    with pytest.raises(ParseError):
        parse_feed(body, FEED_URL)


# --- robustness over feedparser's own test files -------------------------------------------


@pytest.mark.timeout(20)
@pytest.mark.parametrize(
    "path",
    _feed_files(FEEDPARSER_DATA),
    ids=lambda p: str(p.relative_to(FEEDPARSER_DATA)),
)
def test_every_feedparser_test_file_gives_a_feed_or_a_parse_error(path: Path) -> None:
    try:
        parsed = parse_feed(path.read_bytes(), FEED_URL, content_type="application/xml")
    except ParseError as exc:
        assert exc.url == FEED_URL
        assert exc.problem
        return
    for story in _stories(parsed):
        assert len(story.id) == 16
        assert story.published is None or story.published.tzinfo is UTC


def test_ill_formed_feed_falls_back_to_feedparser() -> None:
    body = (FEEDPARSER_DATA / "illformed" / "rss_item_link_corrupted_ampersands.xml").read_bytes()
    assert parse_feed_fast(body, FEED_URL) is None
    parsed = parse_feed(body, FEED_URL)
    assert parsed.parser == "feedparser"
    assert parsed.entries


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"", "the body is empty"),
        (b"<html><head><title>Hi</title></head><body><p>no feed</body></html>", "not a feed"),
        (b"\x00\xff\xfe garbage \x89PNG", "not a feed"),
        (b"<?xml version='1.0'?><note><to>you</to></note>", "not a feed"),
    ],
)
def test_bodies_that_are_not_feeds_raise_parse_error(body: bytes, problem: str) -> None:
    with pytest.raises(ParseError, match=problem) as caught:
        parse_feed(body, FEED_URL, content_type="text/html")
    assert caught.value.url == FEED_URL


def test_empty_but_valid_feed_has_no_entries() -> None:
    parsed = parse_feed(_rss(""), FEED_URL)
    assert (parsed.title, parsed.entries, parsed.parser) == ("T", (), "fast")


@pytest.mark.parametrize(
    "body",
    [
        _rss("<item><title>x</title></item>", head='<!DOCTYPE rss SYSTEM "http://x/rss.dtd">'),
        b"<rss><channel><title>broken</title><item></channel></rss>",
        b"<html><body>not a feed</body></html>",
        b'<feed xmlns="http://purl.org/atom/ns#"><title>Atom 0.3</title></feed>',
        b'<rss version="2.0"><title>no channel</title></rss>',
        _rss("<item><title>&nbsp;undeclared</title></item>"),
    ],
)
def test_fast_path_gives_up_on_what_it_does_not_read(body: bytes) -> None:
    assert parse_feed_fast(body, FEED_URL) is None


# --- character encodings --------------------------------------------------------------------


TITLE = "Café in Zürich – “quoted” naïve"


def test_utf8_body_declared_iso_8859_1_reads_correctly() -> None:
    body = _rss(f"<item><title>{TITLE}</title><link>/a</link></item>")
    for parse in (parse_feed, parse_feed_lenient):
        parsed = parse(body, FEED_URL, content_type="application/rss+xml; charset=ISO-8859-1")
        assert _stories(parsed)[0].title == TITLE


def test_ill_formed_utf8_body_declared_iso_8859_1_reads_correctly() -> None:
    body = f'<rss version="2.0"><channel><title>T</title><item><title>{TITLE}</title>'.encode()
    parsed = parse_feed(body, FEED_URL, content_type="text/xml; charset=iso-8859-1")
    assert parsed.parser == "feedparser"
    assert _stories(parsed)[0].title == TITLE


def test_windows_1252_body_without_declaration_reads_correctly() -> None:
    body = (
        f'<rss version="2.0"><channel><title>T</title><item><title>{TITLE}</title>'
        "</item></channel></rss>"
    ).encode("windows-1252")
    parsed = parse_feed(body, FEED_URL, content_type="application/rss+xml")
    assert _stories(parsed)[0].title == TITLE


def test_declared_encoding_is_honoured_by_the_fast_path() -> None:
    body = (
        f'<?xml version="1.0" encoding="windows-1252"?><rss version="2.0"><channel>'
        f"<title>T</title><item><title>{TITLE}</title></item></channel></rss>"
    ).encode("windows-1252")
    parsed = parse_feed(body, FEED_URL)
    assert parsed.parser == "fast"
    assert _stories(parsed)[0].title == TITLE


# --- hostile bodies ------------------------------------------------------------------------


def _passwd_lines() -> list[str]:
    return [line for line in Path("/etc/passwd").read_text().splitlines() if line][:3]


XXE = _rss(
    "<item><title>&xxe;</title><description>&xxe;</description><link>/x</link></item>",
    head='<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
    channel_title="t &xxe;",
)
PARAMETER_XXE = _rss(
    "<item><title>p</title></item>",
    head='<!DOCTYPE rss [<!ENTITY % xxe SYSTEM "file:///etc/passwd"> %xxe;]>',
)
BILLION_LAUGHS = _rss(
    "<item><title>&lol9;</title><description>&lol9;</description></item>",
    head="<!DOCTYPE rss [<!ENTITY lol 'lolololololololololol'>"
    + "".join(f"<!ENTITY lol{i} '{('&lol' + str(i - 1) + ';') * 10}'>" for i in range(2, 10))
    + "<!ENTITY lol1 '&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'>]>",
)


@pytest.mark.parametrize("body", [XXE, PARAMETER_XXE], ids=["general", "parameter"])
@pytest.mark.parametrize("parse", [parse_feed, parse_feed_lenient])
def test_external_entities_read_nothing(body: bytes, parse) -> None:  # type: ignore[no-untyped-def]
    assert parse_feed_fast(body, FEED_URL) is None
    try:
        parsed = parse(body, FEED_URL, content_type="application/rss+xml")
    except ParseError:
        return
    text = repr(parsed) + repr(_stories(parsed))
    for line in _passwd_lines():
        assert line not in text


@pytest.mark.parametrize("parse", [parse_feed, parse_feed_lenient])
def test_billion_laughs_expands_nothing(parse) -> None:  # type: ignore[no-untyped-def]
    assert parse_feed_fast(BILLION_LAUGHS, FEED_URL) is None
    started = time.monotonic()
    try:
        parsed = parse(BILLION_LAUGHS, FEED_URL, content_type="application/rss+xml")
    except ParseError:
        parsed = None
    assert time.monotonic() - started < 5
    if parsed is not None:
        assert all(len(e.title) + len(e.summary) < len(BILLION_LAUGHS) for e in parsed.entries)


def test_entity_bomb_within_expats_limits_is_refused() -> None:
    # one flat entity, many references: expat would allow this (100x the body size)
    body = _rss(
        f"<item><title>{'&big;' * 10_000}</title></item>",
        head=f'<!DOCTYPE rss [<!ENTITY big "{"x" * 10_000}">]>',
    )
    for parse in (parse_feed, parse_feed_lenient):
        with pytest.raises(ParseError, match="could expand past 1 MiB; refused"):
            parse(body, FEED_URL)


def test_small_declared_entities_still_read() -> None:
    body = (FEEDPARSER_DATA / "wellformed" / "rss" / "entity_in_doctype.xml").read_bytes()
    (entry,) = parse_feed(body, FEED_URL).entries
    assert entry.entry_id == "tag:example.com,2006-05-04:/blog/"


def test_expat_itself_stops_billion_laughs() -> None:
    # feedparser's strict pass runs on expat; 2.4+ caps entity amplification
    import pyexpat
    import xml.sax

    assert pyexpat.version_info >= (2, 4, 0)
    started = time.monotonic()
    with pytest.raises(xml.sax.SAXParseException, match="amplification"):
        xml.sax.parseString(BILLION_LAUGHS, xml.sax.ContentHandler())
    assert time.monotonic() - started < 5


def test_feedparser_is_never_handed_a_path(tmp_path: Path) -> None:
    # feedparser.parse(bytes) would open() a body that names a local file
    local = tmp_path / "local.xml"
    local.write_bytes(_rss("<item><title>secret local file</title></item>"))
    with pytest.raises(ParseError):
        parse_feed(str(local).encode(), FEED_URL)


# --- RawEntry: ids and dedupe keys ---------------------------------------------------------


def _one_entry(items: str) -> RawEntry:
    (entry,) = parse_feed(_rss(items), FEED_URL).entries
    return entry


def test_entry_id_is_the_guid_else_the_link_else_the_title() -> None:
    guid = _one_entry('<item><guid isPermaLink="false">g-1</guid><link>/a</link></item>')
    link = _one_entry("<item><title>t</title><link>/a</link></item>")
    title = _one_entry("<item><title>Only &lt;b&gt;a&lt;/b&gt; title</title></item>")
    assert guid.entry_id == "g-1"
    assert link.entry_id == "https://news.example.com/a"
    assert title.entry_id == "Only a title"


def test_permalink_guid_stands_in_for_a_missing_link() -> None:
    entry = _one_entry("<item><guid>https://example.org/story</guid></item>")
    assert entry.link == entry.entry_id == "https://example.org/story"


def test_key_changes_with_content_but_not_otherwise() -> None:
    item = "<item><guid>g</guid><title>{}</title><pubDate>Mon, 06 Jan 2025</pubDate></item>"
    first = _one_entry(item.format("Casualties rise to 100"))
    again = _one_entry(item.format("Casualties rise to 100"))
    changed = _one_entry(item.format("Casualties rise to 300"))
    assert first.key == again.key
    assert first.key != changed.key
    assert first.entry_id == changed.entry_id


# --- normalise -----------------------------------------------------------------------------


def test_normalise_makes_plain_text_canonical_links_and_utc_times() -> None:
    entry = _one_entry(
        "<item><title>  Gas &lt;b&gt;deal&lt;/b&gt; &amp;amp; more  </title>"
        "<link>/news/1?utm_source=rss&amp;id=5#top</link>"
        "<description><![CDATA[<p>First&nbsp;para</p><script>evil()</script><p>second</p>]]>"
        "</description><pubDate>Mon, 06 Jan 2025 12:00:00 +0200</pubDate></item>"
    )
    story = normalise(entry, feed_url=FEED_URL, feed_title="World")
    assert story == Story(
        id=story_id(FEED_URL, "https://news.example.com/news/1?utm_source=rss&id=5#top"),
        feed_url=FEED_URL,
        feed_title="World",
        title="Gas deal & more",
        link="https://news.example.com/news/1?id=5",
        published=datetime(2025, 1, 6, 10, 0, tzinfo=UTC),
        summary="First para second",  # the no-break space collapses too
    )


def test_story_id_is_sha256_of_feed_url_and_entry_id() -> None:
    import hashlib

    expected = hashlib.sha256(b"https://a.example/feed\nentry-1").hexdigest()[:16]
    assert story_id("https://a.example/feed", "entry-1") == expected
    assert story_id("https://b.example/feed", "entry-1") != expected


@pytest.mark.parametrize(
    ("html_text", "plain"),
    [
        ("<p>One</p><p>Two</p>", "One Two"),
        ("H<sub>2</sub>O", "H2O"),
        ("a <script type='x'>if (a < b) alert(1)</script>b", "a b"),
        ("<style>p { color: red }</style>Text", "Text"),
        ("won&#039;t &amp; can&rsquo;t", "won't & can’t"),
        ('<img alt="a > b" src="x">caption', "caption"),
        ("x < y and y > z", "x < y and y > z"),
        ("  lots \n\t of   space ", "lots of space"),
        ("before<!-- a comment -->after", "before after"),
        ("unclosed <script>forever", "unclosed"),
        ("", ""),
    ],
)
def test_strip_html(html_text: str, plain: str) -> None:
    assert strip_html(html_text) == plain


@pytest.mark.parametrize(
    ("url", "base", "canonical"),
    [
        ("HTTPS://News.Example.COM:443/a/b?x=1#frag", None, "https://news.example.com/a/b?x=1"),
        ("http://example.com:80", None, "http://example.com/"),
        ("http://example.com:8080/a", None, "http://example.com:8080/a"),
        (
            "/a?utm_source=x&b=2&UTM_Medium=y&fbclid=z&gclid=w&c",
            FEED_URL,
            "https://news.example.com/a?b=2&c",
        ),
        (
            "story.html",
            "https://example.com/feeds/world.xml",
            "https://example.com/feeds/story.html",
        ),
        ("//cdn.example.com/x", "https://example.com/", "https://cdn.example.com/x"),
        ("https://example.com/a?b=%20c&d=e+f", None, "https://example.com/a?b=%20c&d=e+f"),
        ("https://user:pw@Example.com/p", None, "https://user:pw@example.com/p"),
        ("http://[::1", None, "http://[::1"),
        ("tag:example.com,2025:1", None, "tag:example.com,2025:1"),
    ],
)
def test_canonical_url(url: str, base: str | None, canonical: str) -> None:
    assert canonical_url(url, base) == canonical


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Mon, 06 Jan 2025 12:00:00 +0200", datetime(2025, 1, 6, 10, 0, tzinfo=UTC)),
        ("Mon, 06 Jan 2025 12:00:00 GMT", datetime(2025, 1, 6, 12, 0, tzinfo=UTC)),
        ("2025-01-06T12:00:00Z", datetime(2025, 1, 6, 12, 0, tzinfo=UTC)),
        ("2025-01-06T12:00:00.5-05:00", datetime(2025, 1, 6, 17, 0, 0, 500000, tzinfo=UTC)),
        ("2025-01-06 12:00:00", datetime(2025, 1, 6, 12, 0, tzinfo=UTC)),
        ("06 Jan 2025 12:00 EST", datetime(2025, 1, 6, 17, 0, tzinfo=UTC)),
        (datetime(2025, 1, 6, 12, 0), datetime(2025, 1, 6, 12, 0, tzinfo=UTC)),
        (
            datetime(2025, 1, 6, 12, 0, tzinfo=timezone(timedelta(hours=1))),
            datetime(2025, 1, 6, 11, 0, tzinfo=UTC),
        ),
        ("yesterday-ish", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_published(value: str | datetime | None, expected: datetime | None) -> None:
    parsed = parse_published(value)
    assert parsed == expected
    assert parsed is None or parsed.tzinfo is UTC


def test_published_falls_back_to_updated() -> None:
    atom = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><entry><id>urn:1</id>'
        b"<updated>2025-01-06T12:00:00Z</updated></entry></feed>"
    )
    for parse in (parse_feed_fast, parse_feed_lenient):
        parsed = parse(atom, FEED_URL)
        assert parsed is not None
        assert _stories(parsed)[0].published == datetime(2025, 1, 6, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_a_date_outside_the_calendar_in_utc_is_unknown(value: str) -> None:
    assert parse_published(value) is None
