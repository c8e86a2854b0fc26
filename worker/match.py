"""Match stories against watch rules, and decide whether what they report is new.

Two passes. First an Aho-Corasick automaton over every rule's terms finds, in
one scan of the text, which terms a story contains; rules whose groups are not
all hit stop there (most stories). Then each remaining rule judges novelty:

- ``new-figure``: fires only on a fact (e.g. a North Korean casualty figure)
  that differs from every figure already known;
- ``new-development``: fires on an event term told as news in a headline about
  the rule's matter, unless the headline hedges ("will soon be announced"),
  refuses or delays, reports an attack, a reaction, a plea or a proposal,
  continues, denies or explains, or the story repeats a known amount, restates
  earlier coverage, or follows up a development already alerted (same kind of
  event, same parties by their proper names, within the follow-up window);
- ``any``: fires on the terms alone.

Everything here is pure: records in, ``Verdict`` records out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from itertools import pairwise

import ahocorasick

from worker.coverage import COUNTRY_OF, headline_names, name_key, names, tokens
from worker.dedupe import NEAR_DUPLICATE_WINDOW
from worker.facts import closest_known, format_fact, same_figure
from worker.records import Change, EarlierItem, Fact, KnownFact, Match, Record, Story
from worker.rules import NoveltyKind, Rule

#: Countries by their name keys (see ``worker.coverage.names``).
COUNTRIES = frozenset(COUNTRY_OF.values())

#: A story whose content words are mostly in one earlier sentence restates it.
RESTATEMENT_CONTAINMENT = 0.6
RESTATEMENT_MIN_WORDS = 4  # three shared words ("Russia", "send", "gas") say little

#: Words that make an event a forecast rather than news.
HEDGES = ("soon", "upcoming", "coming in", "coming days", "coming weeks", "is coming",
          "next few days", " in days", "must ", "possible", "risk to", "risk of", "to discuss",
          "discusses", "to talk", "in talks", "holds talks", "offers to", "expected to",
          "is set to", "are set to", "plans to", "planning to", "ready to", "to be announced",
          "be announced", "be unveiled", "be signed", "be sent", "to announce",
          "will announce", "to unveil", "will unveil", "braces", "warns against",
          "could ", "weighs ", "threat to", "threaten", "dangles", "within weeks",
          "meets ", "only if", "only with", "or face", "tomorrow", "days ahead",
          "weeks ahead", "countdown", "at midnight", "tonight", "aims to",
          "package coming", "aid coming", " set to ", "uncertain", "unclear", " expected",
          "at year end", "at year-end", "at the end of the year", "final day", "last day",
          "'ll ", "’ll ")

#: Headline words that count one more of a kind ("Second US LNG cargo reaches Ukraine"; not
#: "another $500m" or "another half billion", which outlets write of the latest package).
ANOTHER = re.compile(r"\b(?:second|third|fourth|fifth|another)\b", re.IGNORECASE)
#: ... and the start of an amount after one.
AMOUNT_START = re.compile(r"\s*(?:[$€£\d]|half\b)", re.IGNORECASE)

#: Headline words that report a refusal, not a development ("Tiraspol rejects gas offer").
#: (Matched inside words: "reject" finds "rejects" and "rejected".)
REFUSALS = (
    # refusals and opposition
    "reject", "turns down", "turned down", "refuse", "refusing", "declines", "declined",
    "no thanks", "balks", "balked", "balk at", "rebuff", "resist", "digs in", "dug in",
    "brush off", "brushes off", "brushed off", "shrug off", "shrugs off", "not give up",
    "cool on", "cools on", "punt", "torpedo", "shelve",
    "says no to", "say no to", "said no to", "rules out", "ruled out",
    "oppose", "challenge", "vow to fight", "vows to fight", "court fight", "blocks", "blocked",
    "vetoes", "vetoed",
    # delays
    "delays", "delayed", "pushes back", "pushed back", "puts off", "put off", "postpones",
    "postponed", "slips", "slipped", "stalls", "stalled", "stuck", "held up", "on hold",
    # halts and cuts (to a gas rule a halt is an event, which wins: see ``_before``)
    "pause", "freeze", "halts", "halted", "halt to", "suspends", "suspended", "holds back",
    "scaled back", "scales back", "shrinks", "cut to")
#: ... headlines that report an attack ("Russian missiles hit gas production sites"),
ATTACKS = ("missiles hit", "missile hits", "drones hit", "drone hits", "strikes hit",
           "hit by", "strike on", "strikes on", "attack on", "attacks on", "attacked",
           "shelled", "bombed", "strike hits", "strike yet hits", "attack hits",
           "strike yet on", "attack yet on", "biggest strike", "biggest attack",
           "largest strike", "largest attack", "massive strike", "massive attack",
           "knocks out", "knock out", "overnight strike", "missiles strike", "missile strike",
           "strike damages", "strikes damage", "russia strikes", "russian strikes",
           "strikes wipe", "strikes cut", "raid on", "drone raid", "damaged in")
#: ... headlines that react to an event ("EU condemns Gazprom's cut-off of gas to Moldova").
REACTIONS = ("condemn", "slams", "slammed", "blames", "blamed", "criticis", "criticiz",
             "denounce", "welcomes", "welcomed", "hails", "hailed", "praises", "praised",
             "fumes", "lashes out", "thanks", "thanked", "accuse", "rally over",
             "rallies over")
#: ... headlines that only propose or plan one ("Commission proposes law to ban Russian gas
#: imports": nothing is agreed, halted or delivered yet),
PROPOSALS = ("proposes", "proposed", "proposal", "roadmap", "tables ", "pitches", "floats",
             "floated", "sketches", "sketched", "new plan", "plan for", "sets out plan",
             "set out plan", "position on", "stance on", "draft")
#: ... headlines that ask for one ("NATO chief urges allies to send more air defence").
PLEAS = ("urges", "urged", "presses", "pressed", "calls on", "calls for", "appeals for",
         "asks ", "asked ", "pleads", "demands", "demanded", "tells allies", "tells nato",
         "tells eu", "tells the eu", "tells europe")
#: What such a headline reports instead of a development, unless an event is told before
#: it ("Gas Stops Flowing After Ukraine Refuses") or it is background ("after strikes on").
NOT_DEVELOPMENTS = (("a refusal or a delay", REFUSALS), ("an attack", ATTACKS),
                    ("a reaction", REACTIONS), ("a plea", PLEAS), ("a proposal", PROPOSALS))
#: ... headlines that report no result at all, whatever else they say,
NO_RESULT = ("fail to", "fails to", "failed to", "without deal", "without a deal",
             "without agreement", "without an agreement", "without a fix", "without a solution",
             "without a breakthrough", "without result", "no deal", "no time left", "drag on",
             "drags on", "dragged on", "left unused", "go unused", "goes unused", "went unused")
#: ... and stories that say there is nothing agreed or nothing to tell yet.
NOTHING_YET = ("no details", "not been agreed", "nothing has been agreed", "lacks agreement",
               "has not agreed", "have not agreed", "not yet agreed", "not accepted",
               "nothing has been signed", "not been signed", "to be worked out", "to be decided",
               "not been decided", "no deal was", "no agreement was", "no amount",
               "without an amount", "no dollar figure", "no dollar amount", "no list", "no number",
               "no timeline", "did not say how many", "didn't say how many", "will come later",
               "not military", "no contract", "nothing changes", "did not name", "no new sum",
               "did not give a total", "no signed", "no change", "not produced",
               "negotiating position", "details to follow", "no announced", "without details",
               "without giving a", "none has been", "set out later", "not set out",
               "non-military", "not weapons", "separate from military", "separate from weapons",
               "without naming amount", "without naming specific", "not been settled",
               "not yet responded", "yet to answer", "yet to respond", "studying the offer")
#: ... or that no new aid came ("no new package", "No New US Aid Expected", "no new Ukraine
#: package").
_NOTHING_NEW = re.compile(r"\bno (?:new |specific )?(?:[\w-]+ )?(?:aid|packages?|assistance|money"
                          r"|weapons|drawdown)\b", re.IGNORECASE)

#: Headlines that report more of the same, not a change ("Italy keeps aid flowing",
#: "Italy to keep sending arms", "... waiver to keep buying Russian gas", "Council formally
#: adopts the ban agreed in December"; not "... gas to keep heating on").
CONTINUATION = re.compile(
    r"\b(?:keeps|continues|still|remains|repeats|formally)\b"
    r"|^[\w' -]{0,25}?\bto (?:keep|continue)\b"
    r"|\bto (?:keep|continue) (?:buying|paying|receiving|sending|importing|getting|supplying)\b",
    re.IGNORECASE)

#: ... unless they name a route or a new end, which is new ("Slovakia's SPP keeps gas flowing
#: via Hungary", "Srbijagas keeps Russian gas on old terms until end-September").
ROUTE_OR_END = re.compile(r"\b(?:via|until|more months)\b", re.IGNORECASE)

#: Words that make the event after them background ("since Moscow cut off gas") or
#: deny it ("no chance of a new agreement").
BACKGROUND = frozenset({"since", "after", "when", "following", "amid", "as", "despite",
                        "before", "until", "ahead", "where", "if", "unless", "financed",
                        "paid"})
NEGATIONS = frozenset({"no", "not", "never", "without", "nor", "didn't", "won't", "fail",
                       "fails", "failed", "refuses", "refused", "refusing", "rejects", "rejected",
                       "declines", "declined"})
_CLAUSE_START = re.compile(r"[,;:()\n—–]|[.!?]\s|\b(?:that|which|but)\b")
_PERFECT = re.compile(r"\b(?:has|have|had)\s+(?:\w+ly\s+)?\w+ed\b", re.IGNORECASE)
_IRREGULAR_PAST = re.compile(r"\b(?:fell|went|began|ran|rose|came|gave|took|sent|cut off)\b",
                             re.IGNORECASE)
NEGATION_SPAN = 7  # "no chance of a new transit agreement"
#: Words that deny the event just before them ("supplies were not interrupted").
DENIED_AFTER = frozenset({"not", "never"})
DENIED_AFTER_SPAN = 3
#: Words that make the event word after them a thing ("protesters held signs").
HELD = frozenset({"held", "holding", "carried", "carrying", "waved", "waving"})
FOLLOWING_SPAN = 5
OBJECT_SPAN = 2  # "launches its biggest strike": the strike is what is launched
#: Words after an event (or right before it: "already approved") that date it before the
#: story ("announced last October") or say it goes on as before ("continued normally").
EARLIER = frozenset({"earlier", "previously", "ago", "already", "continued", "continue",
                     "continues", "normally", "unaffected"})
LAST_WHAT = frozenset({"week", "month", "year", "spring", "summer", "autumn", "fall", "winter",
                       "january", "february", "march", "april", "may", "june", "july",
                       "august", "september", "october", "november", "december"})
#: "December's US LNG shipment" was an earlier month's.
MONTHS_OF = frozenset(f"{month}'s" for month in (
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december"))
MONTH_SPAN = 4
#: Event words that, before "of", name a point in time.
TIME_POINTS = frozenset({"start", "end", "beginning"})
_WORD_RE = re.compile(r"[a-z]+(?:'[a-z]+)*")  # not the quote marks in "'no time left'"
_COMPOUND_RE = re.compile(r"[a-z'-]+")  # "russian-paid" is one word

#: Headlines that explain or analyse rather than report.
EXPLAINERS = ("explainer", "explained", "key questions", "what next", "what we know",
              "what it means", "what this means", "what that means",
              "analysis:", "opinion:", "comment:", "op-ed", "what to know", "how it works",
              "years on:", "year on:", "overview", "preview:")
EXPLAINER_STARTS = ("what ", "what's", "how ", "why ", "who ", "here's", "here is")
#: ... and, after a label, a yes-no question ("Ursula's $750bn shopping list: can Europe
#: really buy that much US gas?").
YES_NO_STARTS = ("can ", "will ", "is ", "are ", "does ", "do ", "should ", "could ",
                 "would ", "has ", "have ")
#: A quoted sentence is someone's view ("'We must put Ukraine in the strongest
#: position'"), not the story's forecast; a quoted phrase ("'in the coming days'") is the
#: story's.
_QUOTED = re.compile(r"[\"“][A-Z][^\"“”]*[\"”]|(?<!\w)['‘][A-Z][^'‘’]*['’](?!\w)")
#: A quoted word is the story's own word ("Putin 'ready' to keep gas flowing").
_QUOTED_WORD = re.compile(r"[\"“'‘]([\w-]+)[\"”'’](?!\w)")
_NEW_WORDS = "another|new|fresh"
#: Words that tell an amount after them is news ("another $500m drawdown", "Austin Closes
#: Out Ramstein Tenure With $500 Million Ukraine Package", "Dutch put €500m into...").
_MORE_OF = rf"\b(?:{_NEW_WORDS}|with|puts?)"
#: ... and words that tell it is more than a known amount ("with extra £150m").
_EXTRA = rf"\b(?:{_NEW_WORDS}|extra|additional|further|more)"
#: Where a headline's label ends and what it tells begins ("Austin's farewell: $500m more").
_AFTER_COLON = re.compile(r"[:—–]\s")
_STATEMENT_BEFORE_QUESTION = re.compile(r"(.+?(?:[.:;]|\s[–—-]))\s+\S[^.:;–—]*\?\W*$")

#: A story whose closest earlier coverage (the first ranks, scoring near the best)
#: is an alerted story of the same rule and kind of event, within the rule's
#: follow-up window, follows that one up.
FOLLOW_UP_RANKS = 3
FOLLOW_UP_SCORE = 0.6
#: Reports this close are of the same days' news, as near-duplicates are.
SAME_DAYS = NEAR_DUPLICATE_WINDOW / timedelta(days=1)


class Verdict(Record, frozen=True):
    """A rule's decision on a story, fired or not, with the reason."""

    rule_id: str
    fired: bool
    reason: str
    match: Match | None = None
    events: tuple[str, ...] = ()  # new-development: the kinds of event it fired on


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
                if start > 0 and (haystack[start - 1].isalnum() or haystack[start - 1] == "-"):
                    continue  # "year-end" holds no "end"
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


def restated_by(story: Story, earlier: Sequence[EarlierItem],
                articles: frozenset[str] = frozenset(),
                reports: Callable[[str], bool] = lambda quote: True,
                parties: frozenset[str] = frozenset()) -> str | None:
    """The earlier sentence the story only restates, if any.

    Most of the story's words are in that sentence, or, for a sentence of our
    own ``articles``, most of its headline's (a short headline is too generic
    to compare with other outlets' stories) or, in the clause that reports the event,
    every one of its ``parties`` (the names that tell developments apart: "Rome
    extends its arms decree through 2025" restates "..., while Italy has extended its
    commitment to supplying Ukraine"; Starmer's pledge does not restate "Starmer and
    Zelenskyy discussed training"). Only sentences that ``report`` what the story does
    count: "a halt when the deal lapses" foresees the halt a story reports.
    """
    story_words = _word_roots(f"{story.title} {story.summary}")
    headline_words = _word_roots(story.title)
    for item in earlier:
        if not reports(item.quote):
            continue
        ours = item.id in articles
        if ours and parties and any(parties <= names(clause)
                                    for clause in _CLAUSE_START.split(item.quote)
                                    if reports(clause)):
            return item.quote
        said = _word_roots(item.quote)
        wordings = [story_words, headline_words] if ours else [story_words]
        if any(len(words & said) >= RESTATEMENT_MIN_WORDS
               and len(words & said) / len(words) >= RESTATEMENT_CONTAINMENT
               for words in wordings):
            return item.quote
    return None


def _word_roots(text: str) -> set[str]:
    """Content words with their inflection cut ("extends", "extended" → "extend";
    "supplies", "supplying" → "supply"), for comparing wordings."""
    roots = set()
    for word in tokens(text):
        for ending in ("ing", "ed", "es"):
            if len(word) > len(ending) + 3 and word.endswith(ending):
                word = word.removesuffix(ending)
                break
        roots.add(re.sub(r"ie?$", "y", word))
    return roots


def _new_facts(facts: Iterable[Fact], known: Sequence[KnownFact]) -> list[Change]:
    return [
        Change(new=fact, previous=closest_known(fact, known))
        for fact in facts
        if not any(same_figure(fact, k.fact) for k in known)
    ]


class Development(Record, frozen=True):
    """A development already alerted by a ``new-development`` rule."""

    rule_id: str
    story_id: str
    title: str
    events: frozenset[str]  # the kinds of event it reported ("halt", "deal")
    published: datetime | None
    names: frozenset[str] = frozenset()  # who it is about (see ``names``)
    headline_names: frozenset[str] = frozenset()  # of those, the ones its headline names


class Evidence(Record, frozen=True):
    """The rule terms found in a story: anywhere, and in its title alone."""

    found: frozenset[str]
    in_title: frozenset[str]


def same_development(rule: Rule, story: Story, events: frozenset[str],
                     earlier: Sequence[EarlierItem], developments: Iterable[Development],
                     story_names: frozenset[str], repeats_amount: bool = False
                     ) -> Development | None:
    """The alerted development this story follows up, if any.

    The story's closest earlier coverage (BM25-ranked) is a story this rule
    already alerted on, for the same kind of event, within the rule's
    ``follow_up_days``: it is the same development, told again. Unless both
    name who they are about (beyond the rule's ``common_names``) and share no
    name (within ``SAME_DAYS``, no country: the same days' reports name
    different officials): Hungary's gas deal is not a follow-up of Ukraine's LNG
    purchase. Or unless the story, repeating no known amount (``repeats_amount``),
    names in its headline someone the development never did: Slovakia's SPP
    signing with SOCAR is not Naftogaz's SOCAR deal (within ``SAME_DAYS``, a headline
    telling the same event that adds only countries to those the development's headline
    named tells who is hit, not another development). Or unless the two headlines name
    countries and share none ("Russian gas stops flowing through Ukraine" is not "Gazprom
    to cut off Moldova"). Within ``SAME_DAYS`` a story whose headline names the
    development's parties, or only countries its headline named, follows it up however
    it ranks ("Gas reaches Transnistria again. Who is really paying for it?" ranks a
    payment story first), unless their headlines name other companies or people
    (Energocom's delivery is not Moldovagaz's loan; the minister a summary quotes is no
    other party). ``story_names`` are the story's proper names
    (see ``names``).
    """
    if not earlier:
        return None
    parties = _parties(rule, story_names)
    headline_parties = frozenset() if repeats_amount else headline_names(story.title, parties)
    headline_countries = headline_names(story.title, story_names) & COUNTRIES
    best = earlier[0].score
    closest = [item for item in earlier[:FOLLOW_UP_RANKS] if item.score >= FOLLOW_UP_SCORE * best]
    for development in developments:
        same_days = _within(story, development.published, SAME_DAYS)
        # The same days' reports of one development tell it as different kinds of event
        # ("signs LNG deal", "Ukraine to get LNG", "gas flowing again") and name different
        # officials and places: only countries tell two developments apart then (Canada's
        # package is not Spain's).
        if development.rule_id != rule.id or not (same_days or development.events & events):
            continue
        known = _parties(rule, development.names)
        if same_days:
            related = _may_be_the_same(parties & COUNTRIES, known & COUNTRIES)
        else:
            related = _may_be_the_same(parties, known)
        if not related:
            continue
        if same_days and repeats_amount:
            return development  # the same days' amount again, whatever else the story adds
        led_by = _parties(rule, development.headline_names)
        if same_days:  # only countries tell the same days' reports apart (see above)
            led_by &= COUNTRIES
        if led_by and parties and not led_by & parties:
            continue  # the story is not about whom the development's headline named
        told_countries = development.headline_names & COUNTRIES
        if (added := headline_parties - known) and not (
                # the same days' report of the same event whose headline adds only the
                # countries hit ("Ukraine halts Russian gas transit; Slovakia, Austria lose
                # route"; not "Slovakia's SPP receives gas via Hungary")
                same_days and development.events & events and added <= COUNTRIES
                and told_countries and told_countries <= headline_countries):
            continue
        if not _may_be_the_same(headline_countries, told_countries):
            continue  # "Russian gas stops flowing through Ukraine" is not "Gazprom to cut Moldova"
        if not _within(story, development.published, rule.novelty.follow_up_days):
            continue
        if any(item.id == development.story_id for item in closest) or (
                same_days and _may_be_the_same(headline_parties - COUNTRIES, known - COUNTRIES)
                and (headline_parties or (headline_countries
                                          and headline_countries <= told_countries))):
            return development
    return None


def _within(story: Story, published: datetime | None, days: float) -> bool:
    """Whether ``published`` is within ``days`` of the story (undated counts as within)."""
    return not (story.published and published
                and abs(story.published - published) > timedelta(days=days))


def _before(rule: Rule, text: str, position: int) -> bool:
    """Whether an event term is told in ``text`` before ``position`` or at it ("Gas Stops
    Flowing After Ukraine Refuses": the halt is news, the refusal its cause; "Gazprom
    halts gas": a halt is news to a gas rule, though a refusal to an aid rule). One only
    intended is not ("Roadmap to end Russian gas imports postponed"), nor one whose object
    the phrase at ``position`` is ("Russia launches its biggest strike yet")."""
    return any(found.start() <= position and not text[: found.start()].lower().endswith("to ")
               and not _is_object(text[found.end() : position])
               for term in rule.novelty.event_terms() for found in _occurrences(term, text))


def _is_object(between: str) -> bool:
    """Whether the words ``between`` an event term and a phrase make the phrase its
    object: a few words, in one clause."""
    return (bool(between) and not _CLAUSE_START.search(between)
            and len(_WORD_RE.findall(between.lower())) <= OBJECT_SPAN)


def _parties(rule: Rule, found: frozenset[str]) -> frozenset[str]:
    """The names that tell this rule's developments apart: all but its ``common_names``."""
    return found - frozenset(name_key(name) for name in rule.novelty.common_names)


def _may_be_the_same(parties: frozenset[str], others: frozenset[str]) -> bool:
    """Two reports may be of one development unless both name parties and share none."""
    return not parties or not others or bool(parties & others)


def _occurrences(term: str, text: str, *, in_compounds: bool = False) -> list[re.Match[str]]:
    """Where a rule term occurs in ``text`` as a word of its own: "year-end" holds no "end",
    nor, unless ``in_compounds`` ("gas-transit" names gas), "end-2027"."""
    stem = re.escape(term.rstrip("*")) + (r"\w*" if term.endswith("*") else r"\b")
    return list(re.finditer(r"(?<![\w-])" + stem + ("" if in_compounds else "(?!-)"), text,
                            re.IGNORECASE))


def _done(terms: Iterable[str], text: str) -> bool:
    """Whether ``text`` tells one of the event ``terms``, or anything in the present
    perfect or a common irregular past, as done ("expired", "has extended", "fell")."""
    return bool(_PERFECT.search(text) or _IRREGULAR_PAST.search(text)) or any(
        found.group().lower().endswith("ed")
        for term in terms for found in _occurrences(term, text))


def _event_done(terms: Iterable[str], text: str) -> bool:
    """Whether ``text`` tells one of the event ``terms`` as done in the clause that holds
    it ("expired", "Italy has extended its commitment"): "Ukraine ends a transit deal,
    which has continued sending gas" does not."""
    for term in terms:
        for found in _occurrences(term, text):
            starts = [m.end() for m in _CLAUSE_START.finditer(text, 0, found.start())]
            end = _CLAUSE_START.search(text, found.end())
            clause = text[starts[-1] if starts else 0 : end.start() if end else len(text)]
            if found.group().lower().endswith("ed") or _done((), clause):
                return True
    return False


def _told_as_news(term: str, text: str) -> bool:
    """Whether ``term`` occurs in ``text`` as news: not background, denied or dated earlier.

    "Ukraine ends gas transit" reports the event; "a crisis since Moscow cut
    off gas", "when the transit deal lapses at year's end" (the clause after
    "since", "when", "as"...), "no chance of a new agreement" and "the package
    announced last October" and "December's LNG shipment" do not. "Year-end" is not
    "end".
    """
    for occurrence in _occurrences(term, text):
        preceding = _WORD_RE.findall(text[: occurrence.start()].lower().replace("’", "'"))
        after = _WORD_RE.findall(text[occurrence.end() :].lower())[:FOLLOWING_SPAN]
        if (_in_background(text, occurrence.start()) or _negated(text, occurrence)
                or set(preceding[-1:]) & HELD or set(preceding[-1:]) & EARLIER
                or set(preceding[-MONTH_SPAN:]) & MONTHS_OF):
            continue
        if occurrence.group().lower() in TIME_POINTS and after[:1] == ["of"]:
            continue  # "by the start of 2028" names a time, not a start
        done = occurrence.group().lower().endswith("ed")
        if EARLIER & set(after) or any(
                following in LAST_WHAT and (word == "last" or (word == "in" and done))
                for word, following in pairwise(after)):  # "announced in August"
            continue
        return True
    return False


def _negated(text: str, occurrence: re.Match[str]) -> bool:
    """Whether an event term's ``occurrence`` is denied in its clause ("will not extend",
    "no deal", "deliveries were not at risk"; not '"We will not leave Kyiv alone": Norway
    pledges')."""
    clause = _CLAUSE_START.split(text[: occurrence.start()])[-1]
    preceding = _WORD_RE.findall(clause.lower())[-NEGATION_SPAN:]
    rest = _CLAUSE_START.split(text[occurrence.end() :])[0]
    following = _WORD_RE.findall(rest.lower())[:DENIED_AFTER_SPAN]
    return bool(NEGATIONS & set(preceding)) or following[:1] == ["no"] or bool(
        DENIED_AFTER & set(following))


def _in_background(text: str, position: int) -> bool:
    """Whether ``position`` in ``text`` is in a background clause ("after the gas loan";
    not "Russian-paid gas")."""
    clause = _CLAUSE_START.split(text[:position])[-1]
    return bool(BACKGROUND & set(_COMPOUND_RE.findall(clause.lower())))


def _foreground(text: str) -> str:
    """``text`` without its background clauses: "Germany funds $500m, after the first
    Dutch and Nordic packages" is about Germany."""
    pieces = re.split(f"({_CLAUSE_START.pattern})", text)  # clauses and what divides them
    if len(pieces) == 1:
        return text
    return "".join(piece for piece in pieces
                   if not (words := _COMPOUND_RE.findall(piece.lower()))
                   or words[0] not in BACKGROUND)


def _event_kinds(rule: Rule, found: frozenset[str], text: str) -> frozenset[str]:
    return frozenset(kind for kind, terms in rule.novelty.events.items()
                     if any(term in found and _told_as_news(term, text) for term in terms))


def _is_explainer(title: str, tells_event: Callable[[str], bool]) -> bool:
    """Whether the headline asks or explains rather than reports. A question after a
    statement is judged by the statement ("Berlin releases its €3 billion. What will it
    buy?"); after a label that ``tells_event`` of none, it asks ("Russian gas transit via
    Ukraine: what ends at midnight?", "Last day of Russian gas via Ukraine: what ends
    tomorrow")."""
    lowered = title.lower().replace("’", "'")
    if any(m in lowered for m in EXPLAINERS) or lowered.startswith(EXPLAINER_STARTS):
        return True
    is_question = title.rstrip(" ’'\"”").endswith("?")
    label, *told = title.split(": ", 1)
    after_label = told[0].lower() if told else ""
    asks = after_label.startswith(EXPLAINER_STARTS) or (
        is_question and after_label.startswith(YES_NO_STARTS))
    if asks and not tells_event(label):
        return True
    return is_question and not _STATEMENT_BEFORE_QUESTION.match(title)


def _first_in(text: str, phrases: Iterable[str]) -> str | None:
    """The first of ``phrases`` that ``text`` contains, ignoring case."""
    lowered = text.lower()
    return next((phrase for phrase in phrases if phrase in lowered), None)


def judge(
    rule: Rule,
    story: Story,
    facts: Sequence[Fact],
    evidence: Evidence,
    known: Sequence[KnownFact],
    earlier: Sequence[EarlierItem],
    developments: Sequence[Development] = (),
    articles: frozenset[str] = frozenset(),
    names_told_with: Callable[[KnownFact], frozenset[str]] = lambda known: frozenset(),
) -> Verdict:
    """Whether ``rule`` fires on ``story``, and why (or why not).

    ``earlier`` is the coverage the story follows, ranked; ``developments``
    those already alerted; ``articles`` the ids of our own earlier articles;
    ``names_told_with`` the names told with a known figure (see
    ``Coverage.names_told_with``).
    """
    found = evidence.found
    terms = rule_terms_hit(rule, found)
    if terms is None:
        excluded = [t for t in rule.exclude if t in found]
        reason = f"excluded by {excluded[0]!r}" if excluded else "required terms missing"
        return Verdict(rule_id=rule.id, fired=False, reason=reason)

    novelty = rule.novelty
    text = f"{story.title}\n{story.summary}"

    def fire(changes: Sequence[Change], reason: str,
             events: frozenset[str] = frozenset()) -> Verdict:
        match = Match(rule_id=rule.id, story_id=story.id, terms=terms, changes=tuple(changes),
                      reason=reason)
        return Verdict(rule_id=rule.id, fired=True, reason=reason, match=match,
                       events=tuple(sorted(events)))

    def silent(reason: str) -> Verdict:
        return Verdict(rule_id=rule.id, fired=False, reason=reason)

    if novelty.kind is NoveltyKind.ANY:
        return fire((), f"terms {', '.join(terms)}")

    if novelty.kind is NoveltyKind.NEW_FIGURE:
        relevant = [
            f for f in facts
            if f.kind is novelty.fact and (novelty.subject is None or f.subject == novelty.subject)
        ]
        if not relevant:
            return silent(f"terms {', '.join(terms)} but no {novelty.fact} figure"
                          + (f" for {novelty.subject}" if novelty.subject else ""))
        comparable = [k for k in known if k.fact.kind is novelty.fact]
        changes = _new_facts(relevant, comparable)
        if not changes:
            return silent("repeats a known figure: " + _repeat(relevant, comparable))
        return fire(changes, "new figure " + "; ".join(format_fact(c.new) for c in changes))

    # new-development: an event, told as news (not a forecast, not an explainer),
    # not told before.
    if _is_explainer(story.title, lambda label: any(
            _occurrences(term, label) for term in novelty.event_terms())):
        return silent("the headline asks or explains rather than reports")
    headline_terms = novelty.headline_terms() or tuple(t for group in rule.require for t in group)
    in_headline = [term for term in headline_terms if term in evidence.in_title]
    if not in_headline:
        return silent("the headline is about something else (none of "
                      + ("its headline terms)" if novelty.headline else "the rule's terms)"))
    elsewhere = next((term for term in novelty.headline_exclude if term in evidence.in_title),
                     None)
    if elsewhere:
        return silent(f"the headline is about {elsewhere!r}")
    if all(_in_background(story.title, found.start())
           for term in in_headline
           for found in _occurrences(term, story.title, in_compounds=True)):
        # "Radiators warm again in Tiraspol after gas loan" reports a consequence.
        return silent(f"the headline names {in_headline[0]!r} only as background")
    continuation = CONTINUATION.search(story.title.replace("’", "'"))
    if continuation and not ROUTE_OR_END.search(story.title):
        return silent(f"the headline reports more of the same ({continuation.group()!r})")
    said_title = _QUOTED_WORD.sub(r"\1", _QUOTED.sub("", story.title))
    title_hedge = _first_in(said_title, HEDGES)
    if title_hedge and _in_background(said_title, said_title.lower().find(title_hedge)):
        title_hedge = None  # "Biden approves $500 million as Ukraine braces for winter"
    summary_hedge = _first_in(_QUOTED.sub("", story.summary), HEDGES)
    in_title = _event_kinds(rule, evidence.in_title, story.title)
    if title_hedge:
        return silent(f"the headline is a forecast ({title_hedge!r})")
    lowered_title = story.title.lower()
    for instead, phrases in NOT_DEVELOPMENTS:
        for phrase in (phrase for phrase in phrases if phrase in lowered_title):
            at = lowered_title.index(phrase)
            if not (_before(rule, story.title, at) or _in_background(story.title, at)):
                return silent(f"the headline reports {instead} ({phrase!r})")
    nothing_new = _NOTHING_NEW.search(text)
    no_result = (_first_in(story.title, NO_RESULT) or _first_in(text, NOTHING_YET)
                 or (nothing_new.group() if nothing_new else None))
    if no_result:
        return silent(f"the story reports no result ({no_result!r})")
    denied = None if in_title else next((term for term in rule.novelty.event_terms() if any(
        _negated(story.title, found) for found in _occurrences(term, story.title))), None)
    if denied:
        return silent(f"the headline denies the event ({denied!r})")
    events = in_title or (frozenset() if summary_hedge
                          else _event_kinds(rule, found, text))
    amounts = [f for f in facts if f.kind in novelty.fact_kinds]
    labelled = bool(_AFTER_COLON.search(story.title))
    if not events and novelty.amount_event and any(
            (labelled and f.text in story.title)
            or re.search(rf"{_MORE_OF}\s+{re.escape(f.text)}", story.title, re.IGNORECASE)
            for f in amounts):
        # "Sweden's biggest package yet: SEK 13.5bn", "$500 Million Drawdown: Pentagon Lists",
        # "Another $500 Million Drawdown for Kyiv", "... Tenure With $500 Million Package"
        events = frozenset({novelty.amount_event})
    if not events:
        hedged = f" (the summary hedges: {summary_hedge!r})" if summary_hedge else ""
        return silent(f"terms {', '.join(terms)} but no event{hedged}")
    # The same amount is the same development within the follow-up window (outlets
    # name the donor differently: "US", "Pentagon", "Austin") unless told of other
    # countries; in our undated articles only if not told of other parties (Hungary's
    # 100 million m³ is not the 100 million m³ DTEK received); after the window only if
    # told of the same parties (Belgium's €1 billion is not Spain's, and January's $500
    # million package is not December's).
    # "Brussels BANS Putin's gas": the rule's own event word is no name, whatever its case
    story_names = names(_foreground(text)) - frozenset(
        name_key(occurrence.group()) for term in novelty.event_terms() if term in found
        for occurrence in _occurrences(term, text))
    parties = _parties(rule, story_names)  # whom the story is about, for this rule

    def told_of_the_same(known_fact: KnownFact) -> bool:
        theirs = names_told_with(known_fact)
        if known_fact.published is None:
            return _may_be_the_same(parties, _parties(rule, theirs))
        if _within(story, known_fact.published, novelty.follow_up_days):
            return (_may_be_the_same(parties, _parties(rule, theirs))
                    or _may_be_the_same(parties & COUNTRIES, theirs & COUNTRIES))
        return bool(parties & _parties(rule, theirs))

    comparable = [k for k in known
                  if k.fact.kind in novelty.fact_kinds and told_of_the_same(k)]
    another = ANOTHER.search(story.title)
    if another and not AMOUNT_START.match(story.title, another.end()):
        comparable = []  # "Second US LNG cargo": the same volume again is another delivery
    new_amounts = _new_facts(amounts, comparable)
    repeated_known = [k for k in comparable if any(same_figure(f, k.fact) for f in amounts)]
    repeated = _repeat(amounts, repeated_known)
    beside = bool(repeated_known) and _beside_known_amount(
        rule, story, parties, repeated_known, developments, names_told_with)
    if amounts and not new_amounts and not beside:
        return silent(f"repeats a known figure: {repeated}")
    told_in_title = any(change.new.text in story.title for change in new_amounts)
    if any(re.search(rf"{_EXTRA}\s+{re.escape(change.new.text)}", story.title, re.IGNORECASE)
           for change in new_amounts) and not _repeat(
            [f for f in amounts if f.text in story.title], comparable):
        repeated = ""  # "UK tops up its package with extra £150m" (the £500m in the summary)
    same = None if beside else same_development(rule, story, events, earlier, developments,
                                                story_names, repeats_amount=bool(repeated))
    if same is not None and (repeated or not new_amounts or (
            not told_in_title and _within(story, same.published, SAME_DAYS))):
        # A follow-up: details of a package already alerted are not a new package, nor,
        # within the same days, an amount only the summary adds.
        return silent(f"same development as already alerted {same.title!r}")
    if not new_amounts:
        event_terms = [term for kind in events for term in novelty.events[kind]]
        story_done = _done(event_terms, text)

        def reports_it(quote: str) -> bool:
            # The sentence tells the event as news, not as background ("faces disruption
            # when a transit deal lapses at year's end" does not report "gas stops
            # flowing"), and not only as to come when the story tells it done ("lapses at
            # year's end" before "expired overnight").
            told = any(_told_as_news(term, quote) for term in event_terms)
            return told and (not story_done or _event_done(event_terms, quote))

        quote = restated_by(story, earlier, articles, reports_it,
                            headline_names(story.title, parties) or parties)
        if quote:
            return silent(f"restates earlier coverage: {quote!r}")
    what = [f"{kind} event" for kind in sorted(events)]
    what += [f"new figure {format_fact(c.new)}" for c in new_amounts]
    return fire(new_amounts, "; ".join(what), events)


def _beside_known_amount(rule: Rule, story: Story, parties: frozenset[str],
                         repeated: Sequence[KnownFact], developments: Sequence[Development],
                         names_told_with: Callable[[KnownFact], frozenset[str]]) -> bool:
    """Whether the headline names the country the ``repeated`` known amounts were told of
    and another one, reporting that other country's development beside them ("£450m from
    London, four IRIS-T from Berlin"), unless the same days' news already told of it."""
    told_of = frozenset().union(*(names_told_with(known) for known in repeated))
    countries = headline_names(story.title, parties) & COUNTRIES
    others = countries - told_of
    return bool(countries & told_of and others) and not any(
        development.rule_id == rule.id and others <= development.headline_names
        and _within(story, development.published, SAME_DAYS) for development in developments)


def _repeat(facts: Sequence[Fact], known: Sequence[KnownFact]) -> str:
    for fact in facts:
        for k in known:
            if same_figure(fact, k.fact):
                return f"{format_fact(fact)} (known from {k.source_title})"
    return ""
