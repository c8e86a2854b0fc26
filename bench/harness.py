"""What every benchmark shares: the corpus, feed bodies built from it, timing, tables.

The corpus is the full real-feeds file when it is present beside the repository
(``../shared/corpus/...`` or ``/work/shared/corpus/...``), else the 300-entry
slice in ``tests/data/corpus/sample.jsonl``. Bodies are built from it in the
three XML dialects the fast parser reads; entries are repeated with a
``?copy=N`` link suffix to reach the size asked for, so every entry (and its
dedupe key) stays distinct.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from lxml import etree

REPO = Path(__file__).resolve().parent.parent
# Scripts run as ``python bench/NAME.py``: make ``worker`` and ``tests.servers`` importable.
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

CORPUS_NAME = "realfeeds-2024-12-28_2025-01-31.jsonl"
CORPUS_CANDIDATES = (
    REPO.parent / "shared" / "corpus" / CORPUS_NAME,
    Path("/work/shared/corpus") / CORPUS_NAME,
    REPO / "tests" / "data" / "corpus" / "sample.jsonl",
)
FEED_URL = "https://bench.example/feed.xml"
_RSS10 = "{http://purl.org/rss/1.0/}"
_ATOM = "{http://www.w3.org/2005/Atom}"
_DC_DATE = "{http://purl.org/dc/elements/1.1/}date"
DIALECTS = ("rss2", "atom", "rss1")


@dataclass(frozen=True)
class CorpusEntry:
    title: str
    link: str
    published: datetime
    description: str | None  # None where the corpus says "None"


def corpus_path() -> Path:
    for path in CORPUS_CANDIDATES:
        if path.is_file():
            return path
    raise FileNotFoundError(f"no corpus at any of {[str(p) for p in CORPUS_CANDIDATES]}")


def load_corpus() -> list[CorpusEntry]:
    entries = []
    with corpus_path().open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            description = row.get("description")
            entries.append(CorpusEntry(
                title=row["title"],
                link=row["link"],
                published=datetime.fromisoformat(row["published"]),
                description=None if description in (None, "None") else description,
            ))
    return entries


def take(corpus: Sequence[CorpusEntry], count: int, start: int = 0) -> list[CorpusEntry]:
    """``count`` distinct entries, cycling the corpus with a ``?copy=N`` link suffix."""
    taken = []
    for n in range(start, start + count):
        entry = corpus[n % len(corpus)]
        copy = n // len(corpus)
        if copy:
            separator = "&" if "?" in entry.link else "?"
            entry = CorpusEntry(entry.title, f"{entry.link}{separator}copy={copy}",
                                entry.published, entry.description)
        taken.append(entry)
    return taken


def rss2(entries: Sequence[CorpusEntry]) -> bytes:
    items = "".join(
        f"<item><title>{escape(e.title)}</title><link>{escape(e.link)}</link>"
        f'<guid isPermaLink="true">{escape(e.link)}</guid>'
        + (f"<description>{escape(e.description)}</description>" if e.description else "")
        + f"<pubDate>{format_datetime(e.published)}</pubDate></item>\n"
        for e in entries
    )
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
            "<title>bench</title><link>https://bench.example/</link>"
            f"<description>benchmark feed</description>\n{items}</channel></rss>").encode()


def atom(entries: Sequence[CorpusEntry]) -> bytes:
    items = "".join(
        f"<entry><id>{escape(e.link)}</id><title type=\"html\">{escape(e.title)}</title>"
        f'<link rel="alternate" type="text/html" href={quoteattr(e.link)}/>'
        f"<published>{e.published.isoformat()}</published>"
        f"<updated>{e.published.isoformat()}</updated>"
        + (f'<summary type="html">{escape(e.description)}</summary>' if e.description else "")
        + "</entry>\n"
        for e in entries
    )
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<feed xmlns="http://www.w3.org/2005/Atom"><title>bench</title>'
            "<id>urn:bench</id><updated>2025-01-31T00:00:00Z</updated>\n"
            f"{items}</feed>").encode()


def rss1(entries: Sequence[CorpusEntry]) -> bytes:
    items = "".join(
        f"<item rdf:about={quoteattr(e.link)}><title>{escape(e.title)}</title>"
        f"<link>{escape(e.link)}</link>"
        + (f"<description>{escape(e.description)}</description>" if e.description else "")
        + f"<dc:date>{e.published.isoformat()}</dc:date></item>\n"
        for e in entries
    )
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
            '<channel rdf:about="https://bench.example/feed.xml"><title>bench</title>'
            "<link>https://bench.example/</link><description>benchmark feed</description>"
            f"</channel>\n{items}</rdf:RDF>").encode()


BUILDERS: dict[str, Callable[[Sequence[CorpusEntry]], bytes]] = {
    "rss2": rss2, "atom": atom, "rss1": rss1}


def lxml_floor(dialect: str) -> Callable[[bytes], int]:
    """Raw lxml for one dialect: parse, then read four fields of every entry.

    One pass over each entry's children (``findtext`` per field would be 3× slower,
    and the floor should be the least work, not a typical program).
    """
    item, link, fields = {
        "rss2": ("item", "link", {"title", "link", "description", "pubDate"}),
        "rss1": (_RSS10 + "item", _RSS10 + "link",
                 {_RSS10 + "title", _RSS10 + "link", _RSS10 + "description", _DC_DATE}),
        "atom": (_ATOM + "entry", _ATOM + "link",
                 {_ATOM + "title", _ATOM + "link", _ATOM + "summary", _ATOM + "published"}),
    }[dialect]
    href = dialect == "atom"
    parser = etree.XMLParser(resolve_entities=False, no_network=True)

    def parse(body: bytes) -> int:
        read = 0
        for entry in etree.fromstring(body, parser).iter(item):
            for child in entry:
                if child.tag in fields:
                    value = child.get("href") if href and child.tag == link else child.text
                    read += value is not None
        return read

    return parse


def best_seconds(run: Callable[[], object], *, repeat: int = 7, min_seconds: float = 0.2) -> float:
    """The fastest of ``repeat`` timings of ``run``, each looped to last ``min_seconds``.

    The minimum, not the mean: the noise on a shared machine only ever adds time.
    """
    best = float("inf")
    for _ in range(repeat):
        loops = 0
        start = time.perf_counter()
        while True:
            run()
            loops += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_seconds:
                break
        best = min(best, elapsed / loops)
    return best


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table, so output pastes straight into docs/benchmarks.md."""
    cells = [[str(h) for h in headers], *[[_cell(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
             for row in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.0f}" if value >= 100 else f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def banner(title: str) -> None:
    print(f"\n## {title}\n")
    print(f"corpus: {corpus_path()}")
