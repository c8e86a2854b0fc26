"""Match stories against watch rules, and decide whether what they report is new.

Two passes. First an Aho-Corasick automaton over every rule's terms finds, in
one scan of the text, which terms a story contains; rules whose groups are not
all hit stop there (most stories). Then each remaining rule judges novelty:

- ``new-figure``: fires only on a fact (e.g. a North Korean casualty figure)
  that differs from every figure already known;
- ``new-development``: fires on an event term or a new amount, unless the
  story only restates earlier coverage or hedges ("will soon be announced");
- ``any``: fires on the terms alone.

Everything here is pure: records in, ``Verdict`` records out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import ahocorasick

from worker.coverage import tokens
from worker.facts import closest_known, format_fact, same_figure
from worker.records import Change, Fact, KnownFact, Match, Record, Story
from worker.rules import NoveltyKind, Rule

#: A story whose content words are mostly in one earlier sentence restates it.
RESTATEMENT_CONTAINMENT = 0.6

#: Words that make an event a forecast rather than news.
HEDGES = ("will soon", "soon be", "upcoming", "expected to", "is set to", "are set to",
          "plans to", "planning to", "to be announced", "would be announced")


class Verdict(Record, frozen=True):
    """A rule's decision on a story, fired or not, with the reason."""

    rule_id: str
    fired: bool
    reason: str
    match: Match | None = None


class TermIndex:
    """Finds which of many terms occur in a text, in one pass.

    A term is matched on word boundaries; a trailing ``*`` lets the last word
    run on ("casualt*" matches "casualty" and "casualties").
    """

    def __init__(self, terms: Iterable[str]) -> None:
        self._automaton = ahocorasick.Automaton()
        for term in sorted(set(terms)):
            stem = term.rstrip("*")
            entries = self._automaton.get(stem, ())
            self._automaton.add_word(stem, (*entries, (term, term.endswith("*"))))
        self._empty = len(self._automaton) == 0
        if not self._empty:
            self._automaton.make_automaton()

    def find(self, text: str) -> frozenset[str]:
        if self._empty:
            return frozenset()
        haystack = " ".join(text.lower().replace("’", "'").split())
        found: set[str] = set()
        for end, entries in self._automaton.iter(haystack):
            for term, is_prefix in entries:
                start = end - len(term.rstrip("*")) + 1
                if start > 0 and haystack[start - 1].isalnum():
                    continue
                if not is_prefix and end + 1 < len(haystack) and haystack[end + 1].isalnum():
                    continue
                found.add(term)
        return frozenset(found)


def rule_terms_hit(rule: Rule, found: frozenset[str]) -> tuple[str, ...] | None:
    """The rule's required terms found, or None when a group is missing or an exclusion hit."""
    if any(term in found for term in rule.exclude):
        return None
    hits: list[str] = []
    for group in rule.require:
        in_group = [term for term in group if term in found]
        if not in_group:
            return None
        hits.extend(in_group)
    return tuple(dict.fromkeys(hits))


def restated_by(story: Story, quotes: Sequence[str]) -> str | None:
    """The earlier sentence the story only restates, if any."""
    words = set(tokens(f"{story.title} {story.summary}"))
    if not words:
        return None
    for quote in quotes:
        if len(words & set(tokens(quote))) / len(words) >= RESTATEMENT_CONTAINMENT:
            return quote
    return None


def _new_facts(facts: Iterable[Fact], known: Sequence[KnownFact]) -> list[Change]:
    return [
        Change(new=fact, previous=closest_known(fact, known))
        for fact in facts
        if not any(same_figure(fact, k.fact) for k in known)
    ]


def judge(
    rule: Rule,
    story: Story,
    facts: Sequence[Fact],
    found: frozenset[str],
    known: Sequence[KnownFact],
    earlier_quotes: Sequence[str],
) -> Verdict:
    """Whether ``rule`` fires on ``story``, and why (or why not)."""
    terms = rule_terms_hit(rule, found)
    if terms is None:
        excluded = [t for t in rule.exclude if t in found]
        reason = f"excluded by {excluded[0]!r}" if excluded else "required terms missing"
        return Verdict(rule_id=rule.id, fired=False, reason=reason)

    novelty = rule.novelty

    def fire(changes: Sequence[Change], reason: str) -> Verdict:
        match = Match(rule_id=rule.id, story_id=story.id, terms=terms, changes=tuple(changes),
                      reason=reason)
        return Verdict(rule_id=rule.id, fired=True, reason=reason, match=match)

    if novelty.kind is NoveltyKind.ANY:
        return fire((), f"terms {', '.join(terms)}")

    if novelty.kind is NoveltyKind.NEW_FIGURE:
        relevant = [
            f for f in facts
            if f.kind is novelty.fact and (novelty.subject is None or f.subject == novelty.subject)
        ]
        if not relevant:
            return Verdict(rule_id=rule.id, fired=False,
                           reason=f"terms {', '.join(terms)} but no {novelty.fact} figure"
                           + (f" for {novelty.subject}" if novelty.subject else ""))
        comparable = [k for k in known if k.fact.kind is novelty.fact]
        changes = _new_facts(relevant, comparable)
        if not changes:
            repeats = [
                f"{format_fact(f)} (known from {k.source_title})"
                for f in relevant
                for k in comparable
                if same_figure(f, k.fact)
            ][:1]
            return Verdict(rule_id=rule.id, fired=False,
                           reason="repeats a known figure: " + "; ".join(repeats))
        return fire(changes, "new figure " + "; ".join(format_fact(c.new) for c in changes))

    # new-development
    new_amounts = _new_facts(
        [f for f in facts if f.kind in novelty.fact_kinds],
        [k for k in known if k.fact.kind in novelty.fact_kinds],
    )
    events = [t for t in novelty.events if t in found]
    text = f"{story.title} {story.summary}".lower()
    hedge = next((h for h in HEDGES if h in text), None)
    if not new_amounts:
        if not events:
            return Verdict(rule_id=rule.id, fired=False,
                           reason=f"terms {', '.join(terms)} but no event and no new amount")
        if hedge:
            return Verdict(rule_id=rule.id, fired=False,
                           reason=f"event {events[0]!r} is hedged ({hedge!r})")
        quote = restated_by(story, earlier_quotes)
        if quote:
            return Verdict(rule_id=rule.id, fired=False,
                           reason=f"restates earlier coverage: {quote!r}")
    what = [f"event {', '.join(events)}"] if events else []
    what += [f"new amount {format_fact(c.new)}" for c in new_amounts]
    return fire(new_amounts, "; ".join(what))
