"""Dedupe: an entry is processed once, and one story is alerted once across feeds.

Entry-level dedupe happens before any text work: the parse stage gives each
raw entry a key (a hash of its id and content) and the seen store answers, in
one round trip per feed, which keys are new (``worker.state.SeenStore``).

Story-level dedupe is for the same wire story reaching us from several feeds
with different links and slightly different titles: stories are compared by
canonical link, then by the Jaccard similarity of their content-word sets
(exact, on the small set of alerted stories, where MinHash would only
approximate it).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from worker.coverage import tokens
from worker.records import Record, Story

#: Two stories sharing this share of content words, published this close, are one story.
NEAR_DUPLICATE_JACCARD = 0.5
NEAR_DUPLICATE_WINDOW = timedelta(days=2)


class Fingerprint(Record, frozen=True):
    story_id: str
    link: str
    published: datetime | None
    title_words: frozenset[str]
    words: frozenset[str]


def fingerprint(story: Story) -> Fingerprint:
    return Fingerprint(
        story_id=story.id,
        link=story.link,
        published=story.published,
        title_words=frozenset(tokens(story.title)),
        words=frozenset(tokens(f"{story.title} {story.summary}")),
    )


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def near_duplicate_of(story: Fingerprint, earlier: Iterable[Fingerprint]) -> str | None:
    """The id of the earlier story this one repeats, if any: the most similar one."""
    best: tuple[float, str] | None = None
    for other in earlier:
        if story.link and story.link == other.link:
            return other.story_id
        if story.published and other.published and \
                abs(story.published - other.published) > NEAR_DUPLICATE_WINDOW:
            continue
        similarity = max(_jaccard(story.title_words, other.title_words),
                         _jaccard(story.words, other.words))
        if similarity >= NEAR_DUPLICATE_JACCARD and (best is None or similarity > best[0]):
            best = (similarity, other.story_id)
    return best[1] if best else None
