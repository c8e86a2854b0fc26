"""Earlier coverage: the shipped articles plus every story already alerted.

An alert links back to the coverage it continues. ``Coverage.follow`` ranks
the coverage items against a story with BM25 over their sentences (bm25s) and
quotes the sentence that connects them. The same items are the source of the
figures already known, read with the same fact extractor as stories.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

import bm25s
import msgspec
from bm25s.stopwords import STOPWORDS_EN

from worker.errors import ConfigError
from worker.facts import CURRENCY_CODES, extract_facts
from worker.records import EarlierItem, Fact, KnownFact, Record, Story

#: How many earlier items an alert lists at most.
EARLIER_LIMIT = 3
#: An earlier item is listed only when its best sentence scores at least this
#: share of the best item's: a weak match is noise, not the story it continues.
EARLIER_RELATIVE_SCORE = 0.4

_ABBREVIATIONS = frozenset((
    "mr", "mrs", "ms", "dr", "st", "jr", "sr", "gen", "col", "lt", "sgt", "rep", "sen", "gov",
    "pres", "prof", "inc", "ltd", "co", "corp", "vs", "etc", "no", "jan", "feb", "mar", "apr",
    "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "u.s", "u.k", "u.n", "e.u",
))
_SENTENCE_END = re.compile(r"[.!?][\"'”’)]*\s+(?=[\"'“‘(]?[A-Z0-9])")
_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
STOPWORDS = frozenset(STOPWORDS_EN)

#: Names are compared by their first letters, so "Hungary" meets "Hungarian";
#: a country's words by the country ("Danish", "Copenhagen" → "denmark").
NAME_PREFIX = 4
COUNTRIES_FILE = Path(__file__).parent / "data" / "countries.txt"
_NAME_RE = re.compile(r"[A-Za-z][\w'’-]*")
#: Words in capitals that are no acronyms: a currency's code ("EUR 1bn") or a headline's
#: label ("LIVE: Gazprom halts transit").
_NOT_ACRONYMS = CURRENCY_CODES | {"live", "breaking", "update", "updated", "exclusive", "watch",
                                  "analysis", "opinion", "explainer", "preview"}
_NOT_NAMES = STOPWORDS | {
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    # titles before a name ("Prime Minister Bart De Wever"), not names themselves
    "president", "prime", "minister", "ministry", "secretary", "chancellor", "defence",
    "defense", "foreign", "general", "chief", "leader", "spokesman", "spokeswoman", "deputy",
    "head", "senator", "governor", "mr", "mrs", "ms", "dr",
    # a question after a headline's colon ("... stopped: Who does it hurt?")
    "who", "what", "why", "how", "where", "when", "which",
    # holidays ("on New Year's Day")
    "new", "year", "years", "day", "eve", "christmas", "easter",
}


#: Two long words in capitals running together shout ("IT'S OVER"); acronyms stand apart.
_SHOUTED_WORDS = re.compile(r"\b[A-Z][A-Z']{2,}\s+[A-Z][A-Z']{2,}\b")


def _load_countries(path: Path) -> dict[str, str]:
    countries = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        words = line.split("#")[0].split()
        for word in words:
            countries[word] = words[0]
    return countries


COUNTRY_OF = _load_countries(COUNTRIES_FILE)


def name_key(word: str) -> str:
    """How a name is compared: its country, else its first letters."""
    lowered = word.lower()
    return COUNTRY_OF.get(lowered.split("-")[0]) or lowered[:NAME_PREFIX]


def headline_names(title: str, found: frozenset[str]) -> frozenset[str]:
    """Those of ``found`` (an item's names) that its headline ``title`` names."""
    return found & {name_key(word) for word in re.findall(r"[\w-]+", title)}


class CoverageItem(Record, frozen=True):
    """One piece of earlier coverage: an article we published or an alerted story."""

    id: str
    title: str
    url: str
    published: datetime | None
    sentences: tuple[str, ...]  # the body's sentences (the title is apart)
    facts: tuple[Fact, ...]
    thread_id: str  # the item this one's thread started from (itself for a seed)
    # rule id -> kinds of event, for an alerted story of new-development rules
    developments: dict[str, tuple[str, ...]] = msgspec.field(default_factory=dict)


def split_sentences(text: str) -> list[str]:
    """Sentences of a plain text; wrapped lines are joined, abbreviations respected."""
    sentences: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        flat = " ".join(paragraph.split())
        start = 0
        for found in _SENTENCE_END.finditer(flat):
            words = flat[start : found.start() + 1].split()
            last = words[-1].rstrip(".").lower() if words else ""
            # "U.S. President", "Jan. 13", "Mr. Kim": not an end of sentence.
            if last in _ABBREVIATIONS or re.fullmatch(r"(?:[a-z]\.)*[a-z]", last):
                continue
            sentences.append(flat[start : found.end()].strip())
            start = found.end()
        if tail := flat[start:].strip():
            sentences.append(tail)
    return sentences


def tokens(text: str) -> list[str]:
    """Lowercase content words, plural s folded so "troops" meets "troop"."""
    words = []
    for word in _WORD.findall(text.lower().replace("’", "'")):
        word = word.split("'")[0]
        if word in STOPWORDS or len(word) < 2:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        words.append(word)
    return words


def names(text: str) -> frozenset[str]:
    """The proper names in ``text`` (countries, people, companies), by their first letters.

    A name is a country's word ("Norway", "Danish", "Kyiv"), an acronym ("US",
    "MVM"), a capitalised word inside a sentence ("... signs deal to buy
    Azerbaijani gas") or a possessive one anywhere ("Hungary's"). Other first
    words of a sentence and the words of a title-case headline are not names
    by their capital alone, and no word the text also writes in lower case is
    one; nor, but countries, is a word in capitals in a sentence that shouts
    ("THAT'S IT, VLAD!").
    """
    text = text.replace("’", "'")
    lowercase = {word.lower() for word in _NAME_RE.findall(text) if word[0].islower()}
    found: set[str] = set()
    for sentence in re.split(r"\n|(?<=[.!?])(?<!\.[A-Z]\.)\s+", text):  # not after "U.S."
        words = _NAME_RE.findall(sentence)
        long_words = [word for word in words if len(word) > 3]
        title_case = len(long_words) >= 4 and sum(
            word[0].isupper() for word in long_words) >= 0.6 * len(long_words)
        # "THAT'S IT, VLAD!", "PIPES RUN DRY": capitals that shout are no names
        shouting = bool(_SHOUTED_WORDS.search(sentence)) or any(
            word.isupper() and word.split("'")[0].lower() in _NOT_NAMES
            for word in words if len(word) > 1)
        for position, word in enumerate(words):
            base = word.split("'")[0]
            key = name_key(base)
            if base[0].isupper() and base.lower().split("-")[0] in COUNTRY_OF:
                if not (position and words[position - 1] == "in"):
                    found.add(key)  # "said in Germany" names a place, not a party
            elif shouting and base.isupper():
                continue
            elif len(base) >= 2 and base.isupper():
                if base.lower() not in _NOT_ACRONYMS:
                    found.add(key)  # an acronym
            elif (len(base) >= 2 and base[0].isupper() and base.lower() not in lowercase
                  and base.lower() not in _NOT_NAMES and not title_case
                  # a first word's capital may be grammar's; "Hungary's" is a name's
                  and (position or base != word)):
                found.add(key)
    return frozenset(found)


def load_articles(directory: Path) -> list[CoverageItem]:
    """The shipped articles: id = file stem, title = first line, the rest as sentences."""
    paths = sorted(directory.glob("*.txt"))
    if not paths:
        raise ConfigError(str(directory), None, "holds no *.txt coverage articles")
    items = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        title, _, body = text.strip().partition("\n")
        sentences = tuple(split_sentences(body))
        items.append(
            CoverageItem(
                id=path.stem,
                title=title.strip(),
                url="",
                published=None,
                sentences=sentences,
                facts=extract_facts(text),
                thread_id=path.stem,
            )
        )
    return items


def item_from_story(story: Story, facts: tuple[Fact, ...], thread_id: str,
                    developments: dict[str, tuple[str, ...]]) -> CoverageItem:
    """An alerted story joins the coverage, so later alerts link back to it."""
    return CoverageItem(
        id=story.id,
        title=story.title,
        url=story.link,
        published=story.published,
        sentences=tuple(split_sentences(story.summary)),
        facts=facts,
        thread_id=thread_id,
        developments=developments,
    )


class Coverage:
    """The coverage known so far, indexed for ranking; grows as alerts are made."""

    def __init__(self, items: Iterable[CoverageItem] = ()) -> None:
        self.items: list[CoverageItem] = []
        self._by_id: dict[str, CoverageItem] = {}
        self._index: bm25s.BM25 | None = None
        self._sentence_owner: list[int] = []
        self._sentences: list[str] = []
        self._names: dict[str, frozenset[str]] = {}
        self._fact_names: dict[tuple[str, str], frozenset[str]] = {}
        self.extend(items)

    def __len__(self) -> int:
        return len(self.items)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._by_id

    def extend(self, items: Iterable[CoverageItem]) -> None:
        """Add items; an item with a known id (an updated story) replaces the old one."""
        for item in items:
            old = self._by_id.get(item.id)
            self._by_id[item.id] = item
            if old is None:
                self.items.append(item)
            else:
                self.items[self.items.index(old)] = item
                self._names.pop(item.id, None)
                self._fact_names = {key: found for key, found in self._fact_names.items()
                                    if key[0] != item.id}
            self._index = None  # rebuilt lazily; coverage changes rarely (once per alert)

    def known_facts(self, exclude: str | None = None) -> list[KnownFact]:
        """Every figure the coverage reports, but those of item ``exclude``."""
        return [
            KnownFact(fact=fact, source_id=item.id, source_title=item.title,
                      published=item.published)
            for item in self.items if item.id != exclude
            for fact in item.facts
        ]

    def names_of(self, item_id: str) -> frozenset[str]:
        """The proper names in a coverage item (see ``names``); none for an unknown id."""
        if item_id not in self._names:
            item = self._by_id.get(item_id)
            self._names[item_id] = (names("\n".join((item.title, *item.sentences)))
                                    if item else frozenset())
        return self._names[item_id]

    def names_told_with(self, known: KnownFact) -> frozenset[str]:
        """Whom a known figure is about: every name of a story alerted as a development
        (it tells one), else those of the sentences reporting the figure ("DTEK" for the
        100 million m³ in our article, which tells several threads)."""
        key = (known.source_id, known.fact.text)
        if key not in self._fact_names:
            item = self._by_id.get(known.source_id)
            told = [sentence for sentence in (item.title, *item.sentences)
                    if known.fact.text in sentence] if item and not item.developments else []
            self._fact_names[key] = (names("\n".join(told)) if told
                                     else self.names_of(known.source_id))
        return self._fact_names[key]

    def _build(self) -> bm25s.BM25:
        corpus: list[list[str]] = []
        self._sentence_owner = []
        self._sentences = []
        for position, item in enumerate(self.items):
            for sentence in (item.title, *item.sentences):
                corpus.append(tokens(sentence) or ["_"])
                self._sentence_owner.append(position)
                self._sentences.append(sentence)
        index = bm25s.BM25()
        index.index(corpus, show_progress=False)
        return index

    def follow(self, story: Story, limit: int = EARLIER_LIMIT) -> tuple[EarlierItem, ...]:
        """The coverage the story continues, best first, each with its connecting sentence.

        The article its thread started from is always listed (last, if it does not
        rank), so every alert names the earlier article it continues. The story's
        own earlier version, if it is in the coverage, is not listed.
        """
        if not self.items:
            return ()
        if self._index is None:
            self._index = self._build()
        query = [t for t in tokens(f"{story.title} {story.summary}")
                 if t in self._index.vocab_dict]
        if not query:
            return ()
        scores = self._index.get_scores(query)
        best: dict[int, tuple[float, int]] = {}
        for sentence_no, score in enumerate(scores.tolist()):
            if score <= 0:
                continue
            owner = self._sentence_owner[sentence_no]
            if self.items[owner].id == story.id:
                continue
            if owner not in best or score > best[owner][0]:
                best[owner] = (score, sentence_no)
        ranked = sorted(best.items(), key=lambda kv: (-kv[1][0], kv[0]))[:limit]
        if ranked:
            floor = ranked[0][1][0] * EARLIER_RELATIVE_SCORE
            ranked = [entry for entry in ranked if entry[1][0] >= floor]
            root = self._by_id.get(self.items[ranked[0][0]].thread_id)
            root_position = self.items.index(root) if root is not None else None
            if root_position is not None and \
                    all(owner != root_position for owner, _ in ranked):
                # a story that shares no word with its thread's article still names it,
                # by its headline
                ranked.append((root_position, best.get(
                    root_position, (0.0, self._sentence_owner.index(root_position)))))
        return tuple(
            EarlierItem(
                id=self.items[owner].id,
                title=self.items[owner].title,
                url=self.items[owner].url,
                quote=self._sentences[sentence_no],
                score=round(score, 4),
            )
            for owner, (score, sentence_no) in ranked
        )

    def thread_of(self, earlier: Sequence[EarlierItem]) -> str | None:
        """The thread an alert joins: that of the best-ranked earlier item."""
        for entry in earlier:
            if item := self._by_id.get(entry.id):
                return item.thread_id
        return None
