"""Parse stage: the bytes of a feed become ``RawEntry`` records, and new ones ``Story`` records.

Two parsers read a body. The fast path reads well-formed RSS 2.0/0.9x, RSS 1.0
(RDF), Atom 1.0 and JSON Feed with lxml (or msgspec) in one pass; anything it
is not sure of (a DTD, an XML error, an unknown root) makes it give up, and
feedparser reads the body leniently instead. Both yield the same ``RawEntry``
values on well-formed feeds, so which one ran never changes a ``Story``.

``RawEntry`` keeps the raw text so the pipeline can dedupe by ``key`` before
any text work; ``normalise`` (HTML to plain text, canonical link, UTC time) is
only run on entries dedupe says are new. feedparser 6 does not read JSON Feed,
so the fast path is the only reader of JSON Feed bodies.
"""

from __future__ import annotations

import calendar
import hashlib
import html
import io
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

import feedparser
import msgspec
from feedparser.datetimes import _parse_date as feedparser_parse_date
from feedparser.urls import _urljoin as feedparser_urljoin
from lxml import etree

from worker.errors import ParseError
from worker.records import Record, Story


class RawEntry(Record, frozen=True):
    """One feed entry as the parser read it, before any text work."""

    key: str  # hash of the entry's id and content: equal keys mean nothing changed
    entry_id: str  # the entry's own id, else its link, else its title
    title: str  # raw: may contain HTML and entities
    link: str  # raw: may be relative
    published: str | datetime | None  # raw date text (published, else updated) or a datetime
    summary: str  # raw HTML: summary/description, else the content


class ParsedFeed(Record, frozen=True):
    """A feed's plain-text title, its entries in document order, and which parser read it."""

    title: str
    entries: tuple[RawEntry, ...]
    parser: str  # "fast" or "feedparser"


def parse_feed(body: bytes, url: str, *, content_type: str | None = None) -> ParsedFeed:
    """Read ``body`` with the fast path, or with feedparser when the fast path gives up."""
    return parse_feed_fast(body, url) or parse_feed_lenient(body, url, content_type=content_type)


# --- feedparser (lenient) -----------------------------------------------------------------

_CHARSET = re.compile(r";\s*charset\s*=\s*[\"']?([^\"';\s]+)", re.IGNORECASE)
_UTF8_NAMES = frozenset({"utf-8", "utf8"})


def parse_feed_lenient(body: bytes, url: str, *, content_type: str | None = None) -> ParsedFeed:
    """Read ``body`` with feedparser, accepting anything that still yields a feed."""
    _refuse_entity_bombs(body, url)
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = _trusted_content_type(body, content_type)
    try:
        # A file object, not bytes: feedparser tries open() on a bytes argument first,
        # so a body that happens to be a local path would be read from disk.
        result = feedparser.parse(io.BytesIO(body), response_headers=headers)
        entries = tuple(_raw_entry_from_feedparser(entry) for entry in result.entries)
    except Exception as exc:  # feedparser's loose parser can raise almost anything on garbage
        raise ParseError(url, f"feedparser failed: {exc!r}") from exc
    feed_title = result.feed.get("title", "")
    # A recognised root with nothing in it is an empty feed, not an error.
    if not entries and not feed_title and not result.get("version"):
        reason = result.get("bozo_exception") or "no RSS, RDF or Atom root element"
        raise ParseError(url, f"not a feed: {reason if body else 'the body is empty'}")
    return ParsedFeed(title=strip_html(feed_title), entries=entries, parser="feedparser")


_ENTITY_DECLARATION = re.compile(rb"<!ENTITY[^>]*>")
_MAX_ENTITY_EXPANSION = 1 << 20


def _refuse_entity_bombs(body: bytes, url: str) -> None:
    """Refuse a body whose entity references could expand past 1 MiB.

    feedparser keeps simple internal entities (values without references) and expat
    expands them, stopping only at 100 times the body size; every ``&`` may be a
    reference to the longest declaration, so their product bounds the expansion.
    """
    if b"<!ENTITY" not in body:
        return
    longest = max(len(declaration) for declaration in _ENTITY_DECLARATION.findall(body) or [b""])
    if longest * body.count(b"&") > _MAX_ENTITY_EXPANSION:
        raise ParseError(url, "feed declares XML entities that could expand past 1 MiB; refused")


def _trusted_content_type(body: bytes, content_type: str) -> str:
    """Drop a declared non-UTF-8 charset when the body is plainly UTF-8.

    Servers often send UTF-8 feeds as ``charset=ISO-8859-1``; feedparser believes
    the header and garbles every accented letter. Non-ASCII bytes that decode as
    UTF-8 are very unlikely to be meant as anything else.
    """
    match = _CHARSET.search(content_type)
    if not match or match.group(1).lower() in _UTF8_NAMES or body.isascii():
        return content_type
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return content_type
    return content_type[: match.start()] + content_type[match.end() :]


def _raw_entry_from_feedparser(entry: feedparser.FeedParserDict) -> RawEntry:
    return raw_entry(
        own_id=entry.get("id", ""),
        title=entry.get("title", ""),
        link=entry.get("link", ""),
        published=entry.get("published") or entry.get("updated"),
        summary=entry.get("summary", ""),
    )


def raw_entry(
    *, own_id: str, title: str, link: str, published: str | None, summary: str
) -> RawEntry:
    """A RawEntry from raw fields, with its id chosen and its dedupe key computed."""
    # The title stands in as plain text: each parser escapes and sanitises it its own way.
    entry_id = own_id or link or strip_html(title)
    content = "\x1f".join((entry_id, title, summary, link, published or ""))
    key = hashlib.blake2b(content.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
    return RawEntry(
        key=key, entry_id=entry_id, title=title, link=link, published=published, summary=summary
    )


# --- fast path: lxml ---------------------------------------------------------------------

_RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
_RDF_ABOUT = _RDF + "about"
_ATOM = "{http://www.w3.org/2005/Atom}"
_RSS10 = "{http://purl.org/rss/1.0/}"
_RSS090 = "{http://my.netscape.com/rdf/simple/0.9/}"
_DC = "{http://purl.org/dc/elements/1.1/}"
_DCTERMS = "{http://purl.org/dc/terms/}"
_XHTML = "{http://www.w3.org/1999/xhtml}"

_XML_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    huge_tree=False,
    load_dtd=False,
    remove_comments=True,
    remove_pis=True,
)


class _Unsupported(Exception):
    """The fast path met something only feedparser reads the same way; it gives up."""


# The field each child element of an entry fills, by tag. As in feedparser, a later
# element overwrites an earlier one, except "content", which only ever fills a missing
# summary.
_RSS_FIELDS = {
    "guid": "id",
    "title": "title",
    "link": "link",
    "description": "summary",
    "pubDate": "published",
    "{http://purl.org/rss/1.0/modules/content/}encoded": "content",
    _DC + "title": "title",
    _DC + "description": "summary",
    _DC + "date": "updated",
    _DCTERMS + "issued": "published",
    _DCTERMS + "modified": "updated",
}
for _ns in (_RSS10, _RSS090):
    _RSS_FIELDS |= {_ns + "title": "title", _ns + "link": "link", _ns + "description": "summary"}

_ATOM_FIELDS = {
    _ATOM + "id": "id",
    _ATOM + "title": "title",
    _ATOM + "summary": "summary",
    _ATOM + "content": "content",
    _ATOM + "published": "published",
    _ATOM + "updated": "updated",
    _DC + "date": "updated",
}
# Feed elements feedparser treats specially (base64, embedded feeds, other vocabularies'
# titles and bodies): an entry holding one goes to feedparser.
_RSS_UNSUPPORTED = frozenset(
    {
        "body",
        "fullitem",
        "summary",
        _XHTML + "body",
        "{http://search.yahoo.com/mrss/}title",
        "{http://www.itunes.com/dtds/podcast-1.0.dtd}summary",
    }
)
_ATOM_LINK = _ATOM + "link"
_ATOM_TEXT_TYPES = frozenset({"text", "text/plain", "html", "text/html"})
_XHTML_TYPES = frozenset({"xhtml", "application/xhtml+xml"})
_HTML_LINK_TYPES = frozenset({"text/html", "application/xhtml+xml"})


def parse_feed_fast(body: bytes, url: str) -> ParsedFeed | None:
    """Read a well-formed RSS, RDF, Atom or JSON Feed body; None means "use feedparser"."""
    if body[:64].lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return _parse_json_feed(body)
    # Checked before parsing so no entity declaration ever reaches libxml2.
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        return None
    try:
        root = etree.fromstring(body, _XML_PARSER, base_url=url)
        if root.getroottree().docinfo.internalDTD is not None:
            return None  # a DTD in an encoding (UTF-16, say) the byte check cannot see
        return _parse_xml_feed(root)
    except (etree.XMLSyntaxError, ValueError, _Unsupported):
        return None


def _parse_xml_feed(root: etree._Element) -> ParsedFeed | None:
    tag = root.tag
    if tag == "rss":
        channel = root.find("channel")
        return None if channel is None else _rss_feed(channel, channel.iterfind("item"), "")
    if tag == _RDF + "RDF":
        for ns in (_RSS10, _RSS090):
            channel = root.find(ns + "channel")
            if channel is not None:
                return _rss_feed(channel, root.iterfind(ns + "item"), ns)
        return None
    if tag == _ATOM + "feed":
        return ParsedFeed(
            title=strip_html(_atom_text(root.find(_ATOM + "title"))),
            entries=tuple(_atom_entry(entry) for entry in root.iterfind(_ATOM + "entry")),
            parser="fast",
        )
    return None


def _rss_feed(channel: etree._Element, items: Iterable[etree._Element], ns: str) -> ParsedFeed:
    return ParsedFeed(
        title=strip_html(_text(channel.find(ns + "title")).strip()),
        entries=tuple(_rss_entry(item) for item in items),
        parser="fast",
    )


def _rss_entry(item: etree._Element) -> RawEntry:
    fields: dict[str, str] = {}
    about = item.get(_RDF_ABOUT)
    if about:
        fields["id"] = about
    guid_is_link = False  # an rdf:about id is never the link; a guid is unless it says not
    for child in item:
        field = _RSS_FIELDS.get(child.tag)
        if field is None:
            if child.tag in _RSS_UNSUPPORTED:
                raise _Unsupported(child.tag)
            continue
        # _text inlined: this line runs for every field of every entry.
        text = ("".join(child.itertext()) if len(child) else child.text or "").strip()
        if field == "content":
            fields.setdefault("summary", text)
            continue
        if field == "id":
            guid_is_link = child.get("isPermaLink", "true") == "true"
        fields[field] = text
    return _entry_from_fields(fields, item, id_is_link=guid_is_link)


def _atom_entry(entry: etree._Element) -> RawEntry:
    fields: dict[str, str] = {}
    for child in entry:
        tag = child.tag
        if tag == _ATOM_LINK:
            # feedparser takes the last alternate link of an HTML type
            href = child.get("href")
            if (
                href
                and child.get("rel", "alternate") == "alternate"
                and child.get("type", "text/html") in _HTML_LINK_TYPES
            ):
                fields["link"] = href.strip()
            continue
        field = _ATOM_FIELDS.get(tag)
        if field is None:
            continue
        if field in ("title", "summary", "content"):
            if child.get("src") is not None:
                continue  # out-of-line content: nothing to read here
            text = _atom_text(child).strip()
            if field == "content":
                fields.setdefault("summary", text)
                continue
            fields[field] = text
        else:
            fields[field] = _text(child).strip()
    return _entry_from_fields(fields, entry, id_is_link="id" in fields)


def _entry_from_fields(
    fields: dict[str, str], entry: etree._Element, *, id_is_link: bool
) -> RawEntry:
    """A RawEntry from the fields read, with links and permalink ids resolved as feedparser
    does (against xml:base, or the feed URL) and the id standing in for a missing link."""
    raw_id = fields.get("id", "")
    own_id = _resolve(entry, raw_id) if raw_id and id_is_link else raw_id
    link = fields.get("link", "")
    if link:
        # Most feeds repeat the link as the id: resolve it once.
        link = own_id if id_is_link and link == raw_id else _resolve(entry, link)
    elif id_is_link:
        link = own_id
    return raw_entry(
        own_id=own_id,
        title=fields.get("title", ""),
        link=link,
        published=fields.get("published") or fields.get("updated") or None,
        summary=fields.get("summary", ""),
    )


_ABSOLUTE_URL = re.compile(
    r"https?://[^/?#\[\]]+(?:[/?#]|\Z)"
)  # no IPv6 brackets: urljoin checks those


def _resolve(element: etree._Element, url: str) -> str:
    """``url`` resolved as feedparser resolves it: against xml:base, else the feed URL.

    feedparser's join gives an absolute http(s) URL back unchanged, so such a URL skips
    the join (and the xml:base lookup), which would otherwise take half the fast path's time.
    """
    if _is_absolute_http(url):
        return url
    return feedparser_urljoin(element.base or "", url)


def _is_absolute_http(url: str) -> bool:
    """Whether ``url`` is an absolute http(s) URL that joining would give back unchanged."""
    return bool(_ABSOLUTE_URL.match(url)) and not url.endswith(("?", "#"))


def _text(element: etree._Element | None) -> str:
    """All text inside an element (RSS puts escaped HTML in text or CDATA)."""
    if element is None:
        return ""
    if len(element) == 0:
        return element.text or ""
    return "".join(element.itertext())


def _atom_text(element: etree._Element | None) -> str:
    """An Atom text construct as HTML: plain text escaped, XHTML serialised back to markup."""
    if element is None:
        return ""
    if element.get("mode") is not None:
        raise _Unsupported("Atom 0.3 content mode")
    content_type = element.get("type", "text")
    if content_type in _ATOM_TEXT_TYPES:
        return _text(element)
    if content_type not in _XHTML_TYPES:
        raise _Unsupported(f"Atom content type {content_type}")
    div = element.find(_XHTML + "div")
    container = element if div is None else div
    parts = [html.escape(container.text or "", quote=False)]
    for child in container:
        for descendant in child.iter():
            descendant.tag = etree.QName(descendant).localname
        etree.cleanup_namespaces(child)
        parts.append(etree.tostring(child, encoding="unicode", method="html", with_tail=True))
    return "".join(parts)


# --- fast path: JSON Feed -----------------------------------------------------------------


class _JsonItem(msgspec.Struct):
    id: str | int | None = None
    url: str | None = None
    title: str | None = None
    summary: str | None = None
    content_html: str | None = None
    content_text: str | None = None
    date_published: str | None = None
    date_modified: str | None = None


class _JsonFeed(msgspec.Struct):
    version: str
    title: str = ""
    items: list[_JsonItem] = msgspec.field(default_factory=list)


_JSON_FEED_DECODER = msgspec.json.Decoder(_JsonFeed)


def _parse_json_feed(body: bytes) -> ParsedFeed | None:
    try:
        feed = _JSON_FEED_DECODER.decode(body.removeprefix(b"\xef\xbb\xbf"))
    except msgspec.DecodeError:
        return None
    if not feed.version.startswith("https://jsonfeed.org/version/"):
        return None
    # JSON Feed text fields are plain text: escape them so normalise keeps them as written.
    return ParsedFeed(
        title=feed.title.strip(),
        entries=tuple(
            raw_entry(
                own_id="" if item.id is None else str(item.id),
                title=html.escape(item.title or "", quote=False),
                link=item.url or "",
                published=item.date_published or item.date_modified,
                summary=item.content_html
                or html.escape(item.summary or item.content_text or "", quote=False),
            )
            for item in feed.items
        ),
        parser="fast",
    )


# --- normalise ----------------------------------------------------------------------------


def normalise(entry: RawEntry, *, feed_url: str, feed_title: str) -> Story:
    """Turn a raw entry into a Story: plain text, canonical link, aware UTC time."""
    return Story(
        id=story_id(feed_url, entry.entry_id),
        feed_url=feed_url,
        feed_title=feed_title,
        title=strip_html(entry.title),
        link=canonical_url(entry.link, feed_url) if entry.link else "",
        published=parse_published(entry.published),
        summary=strip_html(entry.summary),
    )


def story_id(feed_url: str, entry_id: str) -> str:
    """A short stable id: the first 16 hex digits of sha256(feed URL, newline, entry id)."""
    return hashlib.sha256(f"{feed_url}\n{entry_id}".encode()).hexdigest()[:16]


_DROPPED_ELEMENTS = re.compile(
    r"<(script|style|template)\b[^>]*>.*?(?:</\1\s*>|\Z)|<!--.*?(?:-->|\Z)",
    re.IGNORECASE | re.DOTALL,
)
_BLOCK_TAG = re.compile(
    r"</?(?:p|br|div|li|ul|ol|dl|dt|dd|h[1-6]|tr|td|th|table|blockquote|pre|hr|section|article"
    r"|header|footer|figure|figcaption|img)\b(?:[^>\"']|\"[^\"]*\"|'[^']*')*>",
    re.IGNORECASE,
)
_TAG = re.compile(r"</?[A-Za-z](?:[^>\"']|\"[^\"]*\"|'[^']*')*>|<![^>]*>")
_WHITESPACE = re.compile(r"\s+")


def strip_html(text: str) -> str:
    """HTML to plain text: tags and script/style content dropped, entities unescaped,
    whitespace collapsed; block tags become spaces so words do not run together."""
    if "<" in text:
        text = _DROPPED_ELEMENTS.sub(" ", text)
        text = _BLOCK_TAG.sub(" ", text)
        text = _TAG.sub("", text)
    if "&" in text:
        text = html.unescape(text)
    return _WHITESPACE.sub(" ", text).strip()


_DEFAULT_PORTS = {"http": 80, "https": 443}
_TRACKING_PARAMS = frozenset({"fbclid", "gclid"})


def canonical_url(url: str, base: str | None = None) -> str:
    """Resolve ``url`` against ``base`` and drop what does not name the page: the fragment,
    a default port, utm_*/fbclid/gclid parameters; scheme and host are lowercased.

    A URL too broken to split (a bad IPv6 host, say) is returned resolved but as written.
    """
    url = url.strip()
    if base and not _is_absolute_http(url):  # the join is half of this function's time
        try:
            url = urljoin(base, url)
        except ValueError:
            return url
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    netloc = host
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        netloc = f"{host}:{port}"
    if parts.username is not None:
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@{netloc}"
    query = "&".join(param for param in parts.query.split("&") if param and not _is_tracking(param))
    path = parts.path or ("/" if netloc and scheme in _DEFAULT_PORTS else "")
    return urlunsplit((scheme, netloc, path, query, ""))


def _is_tracking(param: str) -> bool:
    name = unquote(param.partition("=")[0]).lower()
    return name.startswith("utm_") or name in _TRACKING_PARAMS


def parse_published(value: str | datetime | None) -> datetime | None:
    """A feed date as an aware UTC datetime: ISO 8601, RFC 822, or whatever feedparser's
    date handlers read; naive times are taken as UTC; unreadable text gives None."""
    if value is None or isinstance(value, datetime):
        parsed = value
    else:
        parsed = _parse_date_text(value.strip())
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # "0001-01-01T00:00:00+01:00": before year 1 in UTC
        return None


def _parse_date_text(text: str) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        pass
    try:
        parsed = feedparser_parse_date(text)
    except Exception:  # feedparser's many date handlers raise assorted errors on junk
        return None
    if parsed is None:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    except (OverflowError, ValueError):
        return None
