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

from worker.coverage import tokens
from worker.records import Record, Story

#: Two stories sharing this share of content words are one story.
NEAR_DUPLICATE_JACCARD = 0.5


class Fingerprint(Record, frozen=True):
    story_id: str
    link: str
    title_words: frozenset[str]
    words: frozenset[str]


def fingerprint(story: Story) -> Fingerprint:
    return Fingerprint(
        story_id=story.id,
        link=story.link,
        title_words=frozenset(tokens(story.title)),
        words=frozenset(tokens(f"{story.title} {story.summary}")),
    )


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def near_duplicate_of(story: Fingerprint, earlier: Iterable[Fingerprint]) -> str | None:
    """The id of an earlier story this one repeats, if any."""
    for other in earlier:
        if story.link and story.link == other.link:
            return other.story_id
        similarity = max(_jaccard(story.title_words, other.title_words),
                         _jaccard(story.words, other.words))
        if similarity >= NEAR_DUPLICATE_JACCARD:
            return other.story_id
    return None
