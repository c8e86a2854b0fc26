"""A small RSS feed of known stories, served by the tests' local feed servers."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime
from xml.sax.saxutils import escape

UNRELATED = ("Chevron Wants to Tap Into A.I. Boom",
             "The oil company plans to build power plants for data centers.")
NEW_FIGURE = ("North Korean casualties in Kursk rise to 4,000, Zelenskyy says",
              "About 4,000 North Korean soldiers have been killed or wounded in Kursk, "
              "Ukraine's president said.")
REPEAT = ("Zelenskyy: more than 3,000 North Korean troops killed or wounded",
          "More than 3,000 North Korean soldiers have been killed or wounded, he said.")


def rss(items: list[tuple[str, str]]) -> bytes:
    now = format_datetime(datetime(2025, 1, 20, 12, tzinfo=UTC))
    body = "".join(
        f"<item><title>{escape(title)}</title><link>https://news.example/{n}</link>"
        f"<guid>https://news.example/{n}</guid><pubDate>{now}</pubDate>"
        f"<description>{escape(text)}</description></item>"
        for n, (title, text) in enumerate(items)
    )
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Local Wire</title>'
            f"<link>https://news.example/</link><description>d</description>{body}"
            f"</channel></rss>").encode()
