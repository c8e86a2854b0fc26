"""Figures a story reports: casualty counts, money amounts and gas volumes.

``extract_facts`` reads a story's text (title and summary, joined by a newline,
or a coverage article) and returns the figures in it as ``Fact`` records;
``same_figure``, ``closest_known`` and ``describe_change`` compare them with
figures reported before. Everything here is pure.

The reader is a small set of patterns around each number, not a grammar:

* a casualty figure is a count bound to a casualty word, in one of three
  shapes: count first ("300 North Korean soldiers killed", "over 1,000
  casualties"), verb first ("killed at least 63 people", "lost 430,000
  soldiers") or total first ("casualties ... have surpassed 3,000", "death
  toll rose to 50"). A count bound to nothing of the kind (troops sent,
  prisoners swapped, distances, years, dates, ages, percentages) is not one.
* money is a number with a currency sign or word; gas is a number with a
  cubic-metre unit (tons of LNG are not read: they are mass, not volume).
* vague words ("dozens", "hundreds", "thousands") are not figures.

Most stories carry no figure at all, so the text is first checked for a
handful of substrings and left alone when none is there.
"""

from __future__ import annotations

import bisect
import html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

import msgspec

from worker.records import Change, Fact, FactKind, KnownFact

__all__ = ["CURRENCY_CODES", "closest_known", "describe_change", "extract_facts", "format_fact",
           "same_figure"]

PEOPLE = "people"


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


# -- quick checks: a story without any of these has no fact of that kind ------

_CASUALTY_HINTS = (
    "kill", "eliminat", "neutrali", "dead", "death", "died", "wound", "injur", "hurt",
    "casualt", "captur", "missing", "unaccounted", "loss", "lost", "lose", "losing", "toll",
    "fatalit", "fallen",
    "slain", "prisoner", "captive", "alive", "held", "hold", "wiped out", "nabb", "caught",
    "catch", "grabbed", "bodies",
)
_GAS_HINTS = ("cubic", "bcm", "mcm", "tcm", "m3", "m³", "cu m", "cu. m")

# -- numbers -------------------------------------------------------------------

_SMALL_NUMBERS = {
    word: n
    for n, word in enumerate((
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
        "eighteen", "nineteen",
    ))
} | {"pair": 2} | {  # "a pair of North Korean prisoners"
    word: 10 * n
    for n, word in enumerate(
        ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"), 2
    )
}
_MAGNITUDES = {
    "hundred": 100, "thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12,
}
_SCALES = _MAGNITUDES | {
    "dozen": 12, "k": 10**3, "m": 10**6, "mn": 10**6, "mln": 10**6,
    "b": 10**9, "bn": 10**9, "bln": 10**9, "tn": 10**12,
}

#: Currency words that may follow a number with a hyphen ("half-billion-dollar package").
_CURRENCY_WORD = r"(?:dollar|euro|pound)"
_SMALL_RE = "|".join(sorted(_SMALL_NUMBERS, key=len, reverse=True))
_WORD_ITEM = (
    rf"(?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)-(?:{_SMALL_RE})"
    rf"|{_SMALL_RE}|hundred(?:\s+and(?=\s+(?:{_SMALL_RE})\b))?|thousand|million|billion"
    r"|trillion|dozen)"
)
_WORD_NUMBER = (
    rf"(?:(?:half[\s-]+(?:an?[\s-]+)?|an?\s+)(?=(?:hundred|thousand|million|billion|dozen)\b))?"
    rf"{_WORD_ITEM}(?:[ \t\u00a0]+and[ \t\u00a0]+a[ \t\u00a0]+half"
    r"(?=[ \t\u00a0]+(?:thousand|million|billion|trillion)\b))?"  # "two and a half billion"
    rf"(?:[ \t\u00a0]+{_WORD_ITEM})*(?:(?![\w-])|(?=-{_CURRENCY_WORD}))"
)
# Atomic, so "4,000sq" cannot backtrack to a bare "4".
_DIGITS = r"(?>\d{1,3}(?:,\d{3})+(?!\d|,\d)|\d+)(?:\.\d+)?"
_SCALE = (
    r"(?:[ \t\u00a0]*(?:thousand|million|billion|trillion|dozen)\b"
    r"|[ \t\u00a0]?(?:mn|mln|bn|bln)(?![a-z0-9])|(?:k|m|b|tn)(?![a-z0-9]))"
)
#: The ISO codes read as currencies (lower case): "EUR" in a text is money, not a name.
CURRENCY_CODES = frozenset({"usd", "eur", "gbp", "sek", "nok", "dkk", "cad", "aud", "chf", "pln"})
_CURRENCY_SIGN = (r"(?:US\$|C\$|A\$|\$|€|£"
                  rf"|(?:{'|'.join(sorted(code.upper() for code in CURRENCY_CODES))})[ \t\u00a0]?)")

_QUANTITY = re.compile(
    rf"""
    (?<![\w.,/#$€£-])                                  # not inside a word, number or code
    (?P<currency>{_CURRENCY_SIGN})?
    (?:(?P<digits>{_DIGITS})(?P<scale>{_SCALE})?|(?P<words>{_WORD_NUMBER}))
    (?:[ \t\u00a0]*(?:-|–|—|to)[ \t\u00a0]*{_CURRENCY_SIGN}?
       (?P<digits2>{_DIGITS})(?P<scale2>{_SCALE})?)?    # a range: 1,000-1,200
    """,
    re.IGNORECASE | re.VERBOSE,
)
_BETWEEN_BEFORE = re.compile(r"\bbetween[ \t\u00a0]+$", re.IGNORECASE)
_BETWEEN_AND = re.compile(rf"[ \t\u00a0]+and[ \t\u00a0]+{_CURRENCY_SIGN}?(?=\d)", re.IGNORECASE)

_QUALIFIERS = {
    "more than": "more_than", "over": "more_than", "above": "more_than",
    "upwards of": "more_than",
    "in excess of": "more_than", "surpassed": "more_than", "surpassing": "more_than",
    "exceeded": "more_than", "exceeding": "more_than", "topped": "more_than",
    "at least": "at_least", "no fewer than": "at_least", "no less than": "at_least",
    "about": "about", "around": "about", "some": "about", "roughly": "about",
    "approximately": "about", "an estimated": "about", "estimated": "about",
    "nearly": "nearly", "almost": "nearly", "close to": "nearly", "near": "nearly",
    "up to": "up_to", "as many as": "up_to",
}
_QUALIFIER_BEFORE = re.compile(
    r"\b(more\s+than|over|above|upwards\s+of|in\s+excess\s+of|surpass(?:ed|ing)|exceed(?:ed|ing)"
    r"|topped|at\s+least|no\s+(?:fewer|less)\s+than|about|around|some|roughly|approximately"
    r"|an\s+estimated|estimated|nearly|almost|near|close\s+to|up\s+to|as\s+many\s+as)[ \t\u00a0]+$",
    re.IGNORECASE,
)
_ODD_AFTER = re.compile(r"-odd\b", re.IGNORECASE)
# "no one was killed", "several hundred casualties" (no figure)
_NO_COUNT_BEFORE = re.compile(r"\b(?:no|any|every|each|several|few|many)[ \t\u00a0]+$",
                              re.IGNORECASE)
_MORE_AFTER = re.compile(r"(?:\+|[ \t\u00a0]*-?plus\b|[ \t\u00a0]+or[ \t\u00a0]+more\b)",
                         re.IGNORECASE)

_QUOTE_AT_NUMBER = re.compile(
    r"(?<=\d)[\"'’”](?=\W|$)|(?:(?<=\s)|^)[\"'‘“](?=\d|(?:more|about|nearly|some|over|around"
    r"|at\s+least|up\s+to|between)\b)", re.IGNORECASE | re.MULTILINE)

_MONTHS = (
    "January|February|March|April|May|June|July|August|September|October|November|December"
    "|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec"
)
_MONTH_BEFORE = re.compile(rf"\b(?:{_MONTHS})\.?[ \t\u00a0]+$")
_MONTH_AFTER = re.compile(rf"[ \t\u00a0]+(?:{_MONTHS})\b")
_AGE_BEFORE = re.compile(r"\baged?[ \t\u00a0]+$", re.IGNORECASE)
_TIMES_AFTER = re.compile(r"[ \t\u00a0]+times\b", re.IGNORECASE)  # "three times its figure"
_PERCENT_AFTER = re.compile(r"[ \t\u00a0]*(?:%|percent\b|per[ \t\u00a0]+cent\b)", re.IGNORECASE)

# -- casualties ------------------------------------------------------------------

_MEASURE = re.compile(
    r"""(?:
      (?P<killed_or_wounded>(?:killed|dead)\s+(?:or|and|&)\s+(?:wounded|injured|hurt|maimed)
                           |(?:wounded|injured|hurt)\s+(?:or|and|&)\s+(?:killed|dead))
     |(?P<killed>killed|slain|wiped\s+out)
     |(?P<dead>dead|died|deaths|fatalities|fallen|lost\s+their\s+lives|bodies)
     |(?P<wounded>wounded|injured|hurt|injuries)
     |(?P<casualties>casualties|losses)
     |(?P<captured>captured|nabbed|caught|grabbed|taken\s+(?:as\s+)?prisoners?|taken\s+(?:captive|alive)
                  |prisoners|pows|captives
                  |held\s+(?:captive|prisoner|by\s+(?:ukraine|kyiv)|in\s+(?:ukraine|kyiv)))
     |(?P<missing>missing|unaccounted\s+for)
    )\b""",
    re.IGNORECASE | re.VERBOSE,
)
# Verb first: "killed at least 63", "lost 430,000 soldiers".
_VERB_BEFORE = re.compile(
    r"\b(?:(?P<killed>kill(?:ed|s|ing)?|claim(?:ed|s|ing)?\s+the\s+lives\s+of"
    r"|eliminat(?:ed|es|ing|e)|neutrali[sz](?:ed|es|ing|e)|wip(?:ed|es|ing|e)[ \t\u00a0]+out)"
    r"|(?P<wounded>wound(?:ed|s|ing)|injur(?:ed|es|ing|e))"
    r"|(?P<captured>captur(?:ed|es|ing|e)|catch(?:es|ing)?|caught|nab(?:s|bed|bing)?"
    r"|grab(?:s|bed|bing)?)"
    # "taken one North Korean soldier prisoner", "holds three North Korean prisoners"
    r"|(?P<taken>t(?:ook|aken|akes|aking)|hold(?:s|ing)?|held)"
    r"|(?P<dead>bodies[ \t\u00a0]+of)"  # "counted the bodies of more than 40 soldiers"
    r"|(?P<casualties>los(?:t|es|ing|e)))[ \t\u00a0]+$",
    re.IGNORECASE,
)
# Total first: "Casualties among North Koreans 'have surpassed 3,000'".
# A total that approaches a figure ("war dead approach 2,000") is nearly it.
_NEARLY_VERBS = r"approach(?:es|ed|ing)?|nears?|neared|nearing"
_TOTAL_BEFORE = re.compile(
    r"""\b(?:(?P<dead>death\s+toll|deaths|fatalities|(?<!is\s)(?<!was\s)dead)
       |(?P<casualties>casualties|losses|toll|(?:killed|dead)\s+(?:and|or)\s+(?:wounded|injured|hurt))
       |(?P<wounded>wounded|injured))\b
    # another measure or a total in between is what the figure counts ("the dead ...
    # casualties at", "wounded brings the total to")
    (?P<between>(?:(?!wounded|injured|killed|captured|casualt|losses|dead|deaths|toll|total|deploy
                    |sent\b(?!\s+to\s+[A-Z])|dispatch)
                   [^\d.;:!?\n]){0,60}?)
    \b(?P<verb>surpass(?:es|ed)?|exceed(?:s|ed)?|tops?|topped|pass(?:es|ed)?|reach(?:es|ed)?
       |hits?|(?:rises?|rose|risen|climb(?:s|ed)?|jump(?:s|ed)?|grow(?:s|n)?|grew)\s+to
       |stands?\s+at|stood\s+at|totall?(?:s|ed)?|numbers?|numbered|of|at|to|is|are|was|were
       |""" + _NEARLY_VERBS + r""")
    [ \t\u00a0]+
    ['"‘“]?[ \t\u00a0]*$""",
    re.IGNORECASE | re.VERBOSE,
)
# A figure the losses may reach later is a projection, not a report: "losses could
# reach 10,000 by spring", "casualties are expected to climb to 5,000".
_PROJECTION = re.compile(
    r"\b(?:could|may|might|would|will|(?:expected|projected|forecast|likely|set)\s+to)"
    r"\s+(?:\w+\s+)?(?:reach|rise|climb|grow|top|exceed|surpass|hit|double|triple|swell"
    r"|increase|mount)",
    re.IGNORECASE,
)
_TRANSITIVE = frozenset({"killed", "wounded", "captured"})
_PERFECT = frozenset({"have", "has", "had"})  # "had killed" is active; "had been killed" is not
_COUNT_AFTER = re.compile(
    rf"[ \t\u00a0]+(?:(?:more\s+than|over|at\s+least|about|around|nearly|almost|some|up\s+to)"
    rf"[ \t\u00a0]+)?(?:\d|(?:{_SMALL_RE})\b)",
    re.IGNORECASE,
)
# ... or with only a qualifier between: "North Korean casualties near 4,000".
_TOTAL_QUALIFIED = re.compile(
    r"\b(?:(?P<casualties>casualt(?:y|ies)|losses"
    r"|(?:killed|dead)[ \t\u00a0]+and[ \t\u00a0]+wounded|(?<!death\s)toll)"
    r"|(?P<dead>death\s+toll|dead))"
    # "death toll of North Korean troops in Russia now around 2,000"
    r"(?:[ \t\u00a0]+of[ \t\u00a0]+(?:[\w.'’-]+[ \t\u00a0]+){0,3}?(?:troops|soldiers|forces))?"
    # "losses in Kursk now", "killed and wounded in Russia war now"
    r"(?:[ \t\u00a0]+(?:in|near)[ \t\u00a0]+[A-Z][\w-]*(?:[ \t\u00a0]+war)?)?"
    r"(?:[ \t\u00a0]+(?:now|already|so\s+far))?"
    r"(?:[ \t\u00a0]+estimated?(?:[ \t\u00a0]+(?:at|to))?)?"  # "casualty estimate to about 4,700"
    r"[ \t\u00a0]+$",
    re.IGNORECASE,
)
_TOTAL_MORE_THAN = re.compile(
    r"(?:surpass(?:es|ed)?|exceed(?:s|ed)?|tops?|topped|pass(?:es|ed)?)\b", re.IGNORECASE
)
# Qualifiers that may be prepositions of place after a verb ("killed near two villages").
_PLACE_QUALIFIERS = frozenset({"near", "above"})
_TOTAL_NEARLY = re.compile(_NEARLY_VERBS, re.IGNORECASE)
_SUFFERED_BEFORE = re.compile(
    r"\b(?:suffer(?:ed|s|ing)?|sustain(?:ed|s|ing)?|incurr?(?:ed|s|ing)?|los(?:t|es|ing|e))"
    r"[ \t\u00a0]+$",
    re.IGNORECASE,
)
_SUBJECT = re.compile(
    r"\b(?:(?P<north_korean>north\s+korean?s?|north\s+korea['’]s|n\.\s?korean?s?|n\.\s?korea['’]s"
    r"|dprk|kpa"
    r"|pyongyang(?:['’]s)?|kim(?:\s+jong[\s-]+un)?['’]s)"
    r"|(?P<russian>russian?s?|russia['’]s|moscow(?:['’]s)?)"
    r"|(?P<ukrainian>ukrainian?s?|ukraine(?:['’]s)?|kyiv(?:['’]s)?)"
    r"|(?P<civilians>civilians?))\b",
    re.IGNORECASE,
)
# Whose, when the owner stands right before its verb or casualty word:
# "North Korea may have suffered", "Russian troop losses".
_SUBJECT_BEFORE = re.compile(
    _SUBJECT.pattern
    + r"(?:[ \t\u00a0]+(?:may|might|could|would|has|have|had|is|are|was|were|reportedly|already"
    r"|also|now|likely|probably|been|be|troops?|soldiers|forces|army|military|units?"
    r"|battalions?|brigades?|contingents?|fighters|personnel|servicemen|war))*[ \t\u00a0]*$",
    re.IGNORECASE,
)
_OF_SUBJECT = re.compile(r"[ \t\u00a0]+" + _SUBJECT.pattern, re.IGNORECASE)
_POSSESSIVE_BEFORE = re.compile(r"['’]s[ \t\u00a0]+$")
_OF_AFTER = re.compile(r"[ \t\u00a0]+of\b", re.IGNORECASE)
_SUBJECT_AFTER_MEASURE = re.compile(
    r"[ \t\u00a0]+(?:(?:among|of|from)[ \t\u00a0]+)?(?:the[ \t\u00a0]+)?"
)
# Whose, from the nearest owner named earlier in the clause: "the North Koreans resumed
# assaults and lost about 200 men". A place ("in Russia", "Russia's Belgorod region"),
# whom the troops fight for ("died fighting for Russia and nearly 1,000 have been wounded")
# or a speaker ("Ukraine's military said") is not the owner.
_CLAUSE_BREAK = re.compile(
    r"[;:]|\b(?:as|while|after|when|because|since|but|although|though|whereas)\b",
    re.IGNORECASE,
)
_PLACE_WORDS = r"in|into|inside|to|from|across|near|over|on|of|alongside"  # or an ally
_FOR_OR_IN = re.compile(
    rf"\b(?:for|{_PLACE_WORDS})[ \t\u00a0]+(?:the[ \t\u00a0]+)?$", re.IGNORECASE)
_PLACE_AFTER = re.compile(r"[ \t\u00a0]+(?:[A-Z][\w-]*[ \t\u00a0]+)?"
                          r"(?:region|oblast|province|territory|soil|border)\b")
_SPEAKER_AFTER = re.compile(
    r"(?:[ \t\u00a0]+[\w'’-]+){0,2}[ \t\u00a0]+(?:says|said|say|told|tells|claims?|claimed"
    r"|reports?|reported|estimates?|estimated|believes?)\b"
    r"|[ \t\u00a0]+(?:commanders?|officers?|officials?|spokes(?:man|woman|person))\b",
    re.IGNORECASE,
)
_ATTACK_ON = re.compile(
    r"\b(?:strike|attack|shelling|raid|bombardment|assault|ambush)s?\s+on\s+(?:an?\s+|the\s+)?"
    + _SUBJECT.pattern,
    re.IGNORECASE,
)
_NORTH_KOREAN_MEDIA = r"KCNA|KCTV|Rodong"
_NORTH_KOREAN_SOURCE = re.compile(
    rf"(?:North\s+Korea(?:['’]s)?|N\.\s?Korea|DPRK|Pyongyang|{_NORTH_KOREAN_MEDIA}"
    r"|Kim\s+Jong[\s-]+Un)\b(?!\s+(?:soldiers|troops))", re.IGNORECASE)
# North Korea's leader and state media speak for its side: "Kim Jong Un", "Kim" alone, not a
# South Korean Kim by a hyphenated given name ("Kim Yong-hyun").
_NORTH_KOREAN_VOICE = re.compile(
    rf"\b(?:Kim(?:[\s-]+Jong[\s-]+Un\b|\b(?![\s-]+[A-Z][a-z]*-[a-z]))|{_NORTH_KOREAN_MEDIA})\b")
_SAME_LIST = re.compile(
    r"[ \t\u00a0]*[,;]?[ \t\u00a0]*"
    r"(?:(?:and|including|among\s+them|of\s+(?:whom|them))[ \t\u00a0]+)?$"
)
# A word; an initial is one too ("N. Korean soldiers").
_WORD = re.compile(
    r"[ \t\u00a0]*(?:([A-Z]\.(?=[ \t\u00a0]?[A-Z])|[A-Za-z][A-Za-z'’]*(?:-[A-Za-z]+)*)|(\S|\n))")

# Words between a count and its casualty word: "300 soldiers *were reportedly* killed".
_AUXILIARIES = _word_set(
    "have has had were was are is been being be reportedly reported now also already "
    "allegedly likely probably presumably may might could would believed estimated thought "
    "feared confirmed suffered sustained who that which to all"
)
_UNIT_NOUNS = _word_set(
    "percent per cent years year days day weeks week months month hours hour minutes minute "
    "seconds km kilometres kilometers miles mile metres meters tons tonnes barrels times "
    "points degrees votes kg pounds dollars euros"
)
# Words after which a count's noun phrase has ended.
_PHRASE_ENDS = _UNIT_NOUNS | _word_set(
    "of than and or but in on at from for with by into near after before during since across "
    "over under as out amid among against about through without despite following via "
    "including like said says say told where when while"
)
# A verb-first count needs people after "lost": "lost 430,000 soldiers", not "lost 3 games".
_PEOPLE_NOUNS = _word_set(
    "soldiers troops men servicemen personnel fighters people lives marines sailors pilots "
    "troopers paratroopers civilians members"
)
_CAPTIVE_NOUNS = _word_set("prisoner prisoners captive captives")
_CAPTIVE_MEASURES = _word_set("prisoners pows captives")
_IMAGE_NOUNS = _word_set("portraits photographs photos pictures images")
# "Troops lose 40 on the first day": a count of the troops (not "lose 3 of 5 positions").
_NEXT_WORD = re.compile(r"[ \t\u00a0]+([A-Za-z]+)")
_WHEN_OR_WHERE = _word_set("on in during at near over since after amid while around across")
_LOST_AS = re.compile(
    r"[ \t\u00a0]+(?:[A-Za-z-]+[ \t\u00a0]+){0,2}?(?P<measure>(?:killed|dead)[ \t\u00a0]+"
    r"(?:or|and)[ \t\u00a0]+(?:wounded|injured)|killed|dead|wounded|injured)\b",
    re.IGNORECASE,
)
_NOUN_PHRASE_WORDS = 5
# Who holds or did it ("held by Ukraine") is no side of the count.
_AGENT_BEFORE = re.compile(r"\bby[ \t\u00a0]+(?:the[ \t\u00a0]+)?$", re.IGNORECASE)
# "2 wounded North Korean POWs", "Two Wounded North Korean Soldiers Taken Prisoner":
# "wounded" describes prisoners, who are the count.
_CAPTIVES_AFTER = re.compile(
    r"(?:[ \t\u00a0]+(?!(?:as|while|after|when|and|but|since|because)\b)[\w.'’-]+){0,4}?"
    r"[ \t\u00a0]+(?:POWs|prisoners(?:[ \t\u00a0]+of[ \t\u00a0]+war)?|captives|captured"
    r"|taken[ \t\u00a0]+(?:prisoner|alive|captive)|in[ \t\u00a0]+(?:\w+[ \t\u00a0]+)?custody"
    r"|held[ \t\u00a0]+(?:in|by)[ \t\u00a0]+(?:Ukraine|Kyiv))\b",
    re.IGNORECASE)
_QUOTE_MARKS = frozenset("\"“”‘’'")

# -- who says so, and when ----------------------------------------------------------

_BY_SOURCE = re.compile(
    r"\b(?:according\s+to|(?:provided|reported|cited|corroborated|confirmed|estimated)\s+by)\s+",
    re.IGNORECASE,
)
_SAY_VERB = re.compile(
    r"\b(?:says|said|say|reports|reported|estimates|estimated|claims|claimed|claim"
    r"|confirms|confirmed|confirm|believes|believe|suggests|suggested|suggest|told|tells"
    r"|warns|warned)\b",
    re.IGNORECASE,
)
_HEADLINE_SOURCE = re.compile(  # "... for Russia – BBC", "... in Haiti in 2024: UN"
    r"(?:\s[–—-]|:)[ \t\u00a0]+([A-Z][\w.&'’]*(?:[ \t\u00a0]+[A-Z][\w.&'’]*){0,2})\s*$"
)
_HEADLINE_SPEAKER = re.compile(  # "Zelenskyy: more than 3,000 ..."
    r"\s*([A-Z][\w.&'’-]*(?:[ \t\u00a0]+[A-Z][\w.&'’-]*){0,2}):[ \t\u00a0]"
)
_NOT_SOURCES = frozenset({"report", "reports", "video", "live", "photos", "analysis", "opinion"})
_SOURCE_CUT = re.compile(r"[,;:()\"“”!?]|\.(?=\s|$)|\s[–—-]\s|(?<![A-Za-z])['‘’]|['‘’](?![A-Za-z])")
_SOURCE_SKIP = _word_set("has have had also now previously recently later earlier")
_SOURCE_BREAKS = _word_set(
    "that which who as and but while when where because after before if it he she they we i "
    "this these those there has have had was were is are been be will would could may might "
    "can not in on at for with to since during over"
)
_PRONOUNS = _word_set("it he she they we i you one")
_SOURCE_WORDS = 7

_PERIOD = re.compile(
    rf"""\b(?:
      (?:in|over|during|within)\s+(?:just\s+|only\s+)?(?:the\s+)?(?:(?:past|last|first)\s+)?
        (?:(?:a|one|two|three|four|five|six|seven|eight|nine|ten|twelve|several|few|\d+)\s+)?
        (?:hours?|days?|weeks?|months?|years?)
     |since\s+(?:the\s+start\s+of\s+[\w'’-]+|last\s+\w+|(?:19|20)\d\d
        |(?:{_MONTHS})\b\.?(?:\s+\d{{1,2}}\b)?(?:,?\s+(?:19|20)\d\d)?)
     |in\s+(?:19|20)\d\d
     |(?:last|this|past)\s+(?:week|month|year|weekend)
    )\b""",
    re.IGNORECASE | re.VERBOSE,
)
_SENTENCE_END = re.compile(r"\n|\|\||[.!?][\"'”’)]*[ \t\u00a0]+(?=[\"'“‘(]?[A-Z0-9])")
_ABBREVIATION_BEFORE = re.compile(
    rf"(?:\b[A-Z]|\b(?:{_MONTHS}|Mr|Mrs|Ms|Dr|St|Gen|Lt|Col|Sgt|Capt|Rep|Sen|Gov|No|vs))$"
)

# -- money and gas --------------------------------------------------------------------

_CURRENCY_CODES = {"$": "USD", "us$": "USD", "c$": "CAD", "a$": "AUD", "€": "EUR", "£": "GBP"} | {
    code: code.upper() for code in CURRENCY_CODES}
_CURRENCY_AFTER = re.compile(
    r"(?:[ \t\u00a0]*|-(?=" + _CURRENCY_WORD + r"))(?:(?P<EUR>euros?|EUR)"
    r"|(?P<USD>(?:US[ \t\u00a0]+|U\.S\.[ \t\u00a0]+)?dollars?|USD)"
    r"|(?P<GBP>pounds[ \t\u00a0]+sterling|GBP|(?<=illion[ \t\u00a0])pounds?)"  # not 500 lb
    r"|(?P<SEK>(?:Swedish[ \t\u00a0]+)?kronor|SEK)|(?P<NOK>Norwegian[ \t\u00a0]+kroner|NOK)"
    r"|(?P<DKK>(?:Danish[ \t\u00a0]+)?kroner|DKK)|(?P<PLN>zlotys?|PLN))\b",
    re.IGNORECASE,
)
# A currency's code or sign, or a word for one, before any money is read.
_MONEY_HINTS = (*_CURRENCY_CODES, "dollar", "sterling", "pound", "kronor", "kroner", "zloty")
_GAS_UNIT = re.compile(
    r"[ \t\u00a0]*(?:(?P<m3>cubic[ \t\u00a0]+met(?:er|re)s?\b|cu\.?[ \t\u00a0]?m\b|m3\b|m³)"
    r"|(?P<bcm>bcm)\b|(?P<mcm>mcm)\b|(?P<tcm>tcm)\b)",
    re.IGNORECASE,
)
_PER_DAY = re.compile(r"[ \t\u00a0]*(?:(?:a|per)[ \t\u00a0]+day\b|/[ \t\u00a0]*d(?:ay)?\b)",
                      re.IGNORECASE)
_GAS_SCALES = {"m3": 1, "mcm": 10**6, "bcm": 10**9, "tcm": 10**12}


@dataclass(frozen=True, slots=True)
class _Quantity:
    """One number as written: where it is, what it is worth, what kind of number."""

    start: int  # of the qualifier, if any, else of the number (or its currency sign)
    number_start: int
    end: int
    value: float
    high: float
    qualifier: str | None
    currency: str | None
    countable: bool  # could be a head count: not a year, date, age, percentage or "4,000sq"


def extract_facts(text: str) -> tuple[Fact, ...]:
    """Every casualty figure, money amount and gas volume ``text`` reports, in order.

    ``text`` is plain text; a newline separates sentences (title from summary).
    The same figure read twice is returned once, with what either reading knew.
    """
    lowered = text.lower()
    want_casualties = any(hint in lowered for hint in _CASUALTY_HINTS)
    want_money = any(hint in lowered for hint in _MONEY_HINTS)
    want_gas = any(hint in lowered for hint in _GAS_HINTS)
    if not (want_casualties or want_money or want_gas):
        return ()
    if "&" in text:  # entities left by a feed ("South Korea&#039;s") hide words
        text = html.unescape(text)
    text = _QUOTE_AT_NUMBER.sub(" ", text)  # "'about 4,000' troops killed" reads on
    reader = _Reader(text)
    facts: list[Fact] = []
    previous: tuple[int, str | None] | None = None  # end and subject of the last casualty
    position = 0  # "between 1,000 and 1,200" is one quantity, not two
    while (match := _QUANTITY.search(text, position)) is not None:
        position = match.end()
        quantity = reader.quantity(match)
        if quantity is None:
            continue
        position = quantity.end  # "3,000 — 300 dead" is no range: read on from "3,000"
        if quantity.currency is not None:
            if want_money:
                facts.append(reader.money(quantity, quantity.currency, quantity.end))
            continue
        gas = _GAS_UNIT.match(text, quantity.end) if want_gas else None
        if gas is not None:
            facts.append(reader.gas(quantity, gas))
            continue
        currency = _CURRENCY_AFTER.match(text, quantity.end) if want_money else None
        if currency is not None and currency.lastgroup:
            facts.append(reader.money(quantity, currency.lastgroup, currency.end()))
            continue
        if want_casualties and quantity.countable:
            fact = reader.casualty(quantity, previous)
            if fact is not None:
                facts.append(fact.fact)
                previous = (fact.end, fact.fact.subject)
    if want_casualties:
        facts.extend(_single_captures(text, facts))
        # whose: the side its own line names ("'About 200 dead': Kim's troops mauled"),
        # else the side the whole text names
        headline = text.split("\n", 1)[0]
        sides = (reader.only_side(len(headline)), reader.only_side())
        facts = [msgspec.structs.replace(
                     fact, subject=sides[0] if fact.text in headline and sides[0] else sides[1])
                 if fact.kind is FactKind.CASUALTY and fact.subject is None else fact
                 for fact in facts]
    return _merge_repeats(facts)


class _Reading(NamedTuple):
    """How a count reads as a casualty figure: its words, measure and whose."""

    start: int
    end: int
    measure: str | None
    subject: str | None
    qualifier: str | None = None  # from the verb: "have surpassed 3,000"
    # whether a name earlier in the clause may own the count: not the attacker
    # of "Russian Drone Attack Kills 9"
    owned_before: bool = True


@dataclass(frozen=True, slots=True)
class _Casualty:
    fact: Fact
    end: int


#: Larger figures are not read: no casualty count, budget or gas volume comes near,
#: and a feed's string of 400 digits would otherwise become an infinite value.
MAX_FIGURE = 1e15


class _Reader:
    """The patterns around each number of one text; sentence bounds found on first need."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._sentence_starts: list[int] | None = None

    # -- numbers ----------------------------------------------------------------------

    def quantity(self, match: re.Match[str]) -> _Quantity | None:
        text = self.text
        groups = match.groupdict()
        number_start = match.start("digits") if groups["digits"] else match.start("words")
        end = match.end()
        if groups["digits"]:
            value = _scaled(Decimal(groups["digits"].replace(",", "")), groups["scale"])
        else:
            value = _words_value(groups["words"])
        high = value
        if groups["digits2"]:
            high = _scaled(Decimal(groups["digits2"].replace(",", "")), groups["scale2"])
            if groups["scale2"] and not groups["scale"]:  # "1.2 to 1.5 billion"
                value = _scaled(Decimal(groups["digits"].replace(",", "")), groups["scale2"])
            if high < value:  # no range but two figures: "casualties 3,000 — 300 dead"
                value = high = _scaled(Decimal(groups["digits"].replace(",", "")),
                                       groups["scale"])
                end = match.end("scale") if groups["scale"] else match.end("digits")
        left = self._left(match.start())
        start = match.start()
        between = _BETWEEN_BEFORE.search(left) if groups["digits"] else None
        if between is not None and not groups["digits2"]:
            tail = _BETWEEN_AND.match(text, end)
            second = _QUANTITY.match(text, tail.end()) if tail else None
            if second is not None and second.group("digits"):
                high = _scaled(Decimal(second.group("digits").replace(",", "")),
                               second.group("scale") or groups["scale"])
                end = second.end()
                start -= len(left) - between.start()
                left = left[: between.start()]
        if high < value or high > MAX_FIGURE:
            return None  # a range backwards, or digits no report means (and JSON can't carry)
        if groups["words"] and _NO_COUNT_BEFORE.search(left):
            return None  # "no one was killed"
        qualifier_match = _QUALIFIER_BEFORE.search(left)
        qualifier = None
        if qualifier_match is not None:
            qualifier = _QUALIFIERS[" ".join(qualifier_match.group(1).lower().split())]
            start -= len(left) - qualifier_match.start()
        more = _MORE_AFTER.match(text, end)
        if more is not None:
            qualifier = qualifier or "more_than"
            end = more.end()
        odd = _ODD_AFTER.match(text, end)
        if odd is not None:  # "40-odd soldiers"
            qualifier = qualifier or "about"
            end = odd.end()
        currency = None
        if groups["currency"]:
            currency = _CURRENCY_CODES[groups["currency"].strip().lower()]
        return _Quantity(
            start=start,
            number_start=number_start,
            end=end,
            value=value,
            high=high,
            qualifier=qualifier,
            currency=currency,
            countable=self._countable(match, left, end),
        )

    def _countable(self, match: re.Match[str], left: str, end: int) -> bool:
        text = self.text
        digits = match.group("digits")
        if (digits and not match.group("scale") and len(digits) == 4 and digits.isdigit()
                and 1900 <= int(digits) <= 2100):
            return False  # a year ("$3.25" is no year)
        after = text[end : end + 2]
        if after[:1].isalnum() or (after[:1] == "-" and after[1:2].isalpha()):
            return False  # "4,000sq km", "74-year-old", "20-somethings"
        return not (
            _MONTH_BEFORE.search(left)
            or _MONTH_AFTER.match(text, end)
            or _AGE_BEFORE.search(left)
            or _PERCENT_AFTER.match(text, end)
            or _TIMES_AFTER.match(text, end)
        )

    def _left(self, position: int) -> str:
        """Up to 60 characters before ``position``, not reaching back past a newline."""
        left = self.text[max(0, position - 60) : position]
        return left[left.rfind("\n") + 1 :]

    # -- money and gas ------------------------------------------------------------------

    def money(self, quantity: _Quantity, currency: str, end: int) -> Fact:
        return Fact(
            kind=FactKind.MONEY,
            value=quantity.value,
            high=quantity.high,
            unit=currency,
            text=self.text[quantity.start : end],
            qualifier=quantity.qualifier,
        )

    def gas(self, quantity: _Quantity, unit: re.Match[str]) -> Fact:
        scale = _GAS_SCALES[unit.lastgroup or "m3"]
        daily = _PER_DAY.match(self.text, unit.end())  # a rate is not a volume
        return Fact(
            kind=FactKind.GAS_VOLUME,
            value=quantity.value * scale,
            high=quantity.high * scale,
            unit="m3/day" if daily else "m3",
            text=self.text[quantity.start : daily.end() if daily else unit.end()],
            qualifier=quantity.qualifier,
        )

    # -- casualties ---------------------------------------------------------------------

    def casualty(
        self, quantity: _Quantity, previous: tuple[int, str | None] | None
    ) -> _Casualty | None:
        verb_first = self._verb_first(quantity)
        reading = verb_first or self._count_first(quantity) or self._total_first(quantity)
        if reading is None:
            return None
        start, end, measure, subject, verb_qualifier, owned_before = reading
        sentence_start, sentence_end = self._sentence(quantity.number_start)
        if _PROJECTION.search(self.text, max(sentence_start, start - 40), quantity.number_start):
            return None
        if subject is None and previous is not None and _SAME_LIST.match(
            self.text, previous[0], quantity.start
        ):
            subject = previous[1]  # "300 North Korean soldiers killed, 2,700 wounded"
        if subject is None and owned_before:
            subject = self._owner_in_clause(sentence_start, start)
        elif subject is None and measure in ("killed", "wounded"):
            subject = self._attacked(sentence_start, start)
        attribution = self._attribution(sentence_start, sentence_end, start, end)
        if subject is None and verb_first is None and _speaks_for_north_korea(attribution):
            # "North Korea says nine soldiers died": its own (not whom its troops killed)
            subject = "north_korean"
        fact = Fact(
            kind=FactKind.CASUALTY,
            value=quantity.value,
            high=quantity.high,
            unit=PEOPLE,
            text=self.text[start:end],
            subject=subject,
            measure=measure,
            qualifier=quantity.qualifier or verb_qualifier,
            attribution=attribution,
            period=self._period(sentence_start, sentence_end, start, end),
        )
        return _Casualty(fact, end)

    def _verb_first(self, quantity: _Quantity) -> _Reading | None:
        """ "killed at least 45,541 Palestinians", "Captured 2 North Korean Soldiers"."""
        left = self._left(quantity.start)
        verb = _VERB_BEFORE.search(left)
        if verb is None or verb.lastgroup is None:
            return None
        start = quantity.start - (len(left) - verb.start())
        if self.text[quantity.start : quantity.number_start].strip().lower() in _PLACE_QUALIFIERS:
            return None  # "killed near two villages"; "killed and wounded above 3,000" is a total
        words, end = self._phrase_after(quantity.end)
        if words and words[0].lower() in _UNIT_NOUNS:
            return None
        measure = verb.lastgroup
        if measure == "taken":
            if not _CAPTIVE_NOUNS.intersection(w.lower() for w in words):
                return None
            measure = "captured"
        subject = _subject_in(" ".join(words))
        if subject is None and not words:  # "captures two of Kim's soldiers"
            of = _OF_AFTER.match(self.text, quantity.end)
            owner = _OF_SUBJECT.match(self.text, of.end()) if of else None
            subject = owner.lastgroup if owner is not None else None
        if measure == "casualties":  # "lost": only people, and the loser is the subject
            loser = _WORD_BEFORE.search(left, 0, verb.start())
            following = _NEXT_WORD.match(self.text, quantity.end)
            if not (_PEOPLE_NOUNS.intersection(w.lower() for w in words) or (
                    not words and loser is not None and loser.group(1).lower() in _PEOPLE_NOUNS
                    and (following is None or following.group(1).lower() in _WHEN_OR_WHERE))):
                return None  # "lost 3 games"; but "troops lose at least 40 on first day"
            subject = subject or self._sufferer(quantity.start)
            said = _LOST_AS.match(self.text, quantity.end)  # "lost 70 men killed or wounded"
            if said is not None and said.group("measure"):
                measure_word = _MEASURE.match(said.group("measure"))
                if measure_word is not None and measure_word.lastgroup is not None:
                    return _Reading(start, said.end(), measure_word.lastgroup, subject)
            # "lost 600 soldiers" may count the dead or every casualty: compare with either
            return _Reading(start, end, None, subject)
        return _Reading(start, end, measure, subject, owned_before=False)

    def _count_first(self, quantity: _Quantity) -> _Reading | None:
        """ "300 North Korean soldiers killed", "1,100 soldiers have suffered casualties"."""
        text = self.text
        position = quantity.end
        phrase_end = position
        words = 0
        auxiliary = ""  # the last word between the phrase and the casualty word
        last_word = ""
        while True:
            token = _WORD.match(text, position)
            if token is not None and token.group(2) in _QUOTE_MARKS:
                position = token.end()  # 'soldiers "wiped out"'
                continue
            if token is None or token.group(1) is None:
                return None
            measure = _MEASURE.match(text, token.start(1))
            if measure is not None and measure.lastgroup is not None and not (
                    # "swap 300 prisoners" are any side's; "two North Korean prisoners" count
                    measure.group().lower() in _CAPTIVE_MEASURES
                    and _subject_in(text[quantity.end : token.start(1)]) is None):
                break
            word = token.group(1).lower()
            if word == "of" and last_word in _IMAGE_NOUNS:
                position = token.end()  # "101 portraits of the dead" count the dead
                last_word = word
                continue
            last_word = word
            if word in _AUXILIARIES and (word != "to" or auxiliary):
                auxiliary = word
            elif (
                auxiliary
                or (word in _PHRASE_ENDS and not self._of_subject(word, token.end()))
                or words == _NOUN_PHRASE_WORDS
            ):
                return None
            else:
                words += 1
                phrase_end = token.end()
            position = token.end()
        if measure.lastgroup in _TRANSITIVE and (
            auxiliary in _PERFECT or _COUNT_AFTER.match(text, measure.end())
        ):
            return None  # "eight attacks had killed (81) people": the count is not the dead
        captives = _CAPTIVES_AFTER.match(text, measure.end()) if words == 0 else None
        if captives is not None:  # "2 wounded North Korean POWs" are prisoners
            return _Reading(quantity.start, captives.end(), "captured",
                            _subject_in(captives.group()))
        subject = (
            _subject_in(text[quantity.end : phrase_end])
            or self._subject_after(measure.end())
            or (self._sufferer(quantity.start) if words == 0 else None)
        )
        return _Reading(quantity.start, measure.end(), measure.lastgroup, subject)

    def _owner_in_clause(self, sentence_start: int, position: int) -> str | None:
        text = self.text
        breaks = list(_CLAUSE_BREAK.finditer(text, sentence_start, position))
        clause_start = breaks[-1].end() if breaks else sentence_start
        owner = self._owner_between(clause_start, position)
        if owner is None and breaks and breaks[-1].group() in ":;":
            # a headline's topic before its colon: "North Korean Deminers: 11 Killed"
            topic_start = breaks[-2].end() if len(breaks) > 1 else sentence_start
            owner = self._owner_between(topic_start, breaks[-1].start())
        return owner

    def _owner_between(self, start: int, end: int) -> str | None:
        return next(reversed(self._owners(start, end)), None)

    def _owners(self, start: int, end: int) -> list[str]:
        """The sides named between ``start`` and ``end`` as owners, not places or speakers."""
        text = self.text
        return [owner.lastgroup for owner in _SUBJECT.finditer(text, start, end)
                if owner.lastgroup and not (
                    _FOR_OR_IN.search(text, max(start, owner.start() - 12), owner.start())
                    or _PLACE_AFTER.match(text, owner.end())
                    or _SPEAKER_AFTER.match(text, owner.end()))]

    def only_side(self, end: int | None = None) -> str | None:
        """The one fighting side the text (up to ``end``) names, if it names only one:
        whose the soldiers are when no sentence says ("Kim honours portraits of 101 soldiers
        killed")."""
        # A place counts ("20 killed in a strike on Kyiv"), but for Russia, where and for
        # whom the North Korean troops fight ("N. Korea's Russia deployment").
        text = self.text[:end]
        sides = {side.lastgroup for side in _SUBJECT.finditer(text) if side.lastgroup
                 and not _SPEAKER_AFTER.match(text, side.end())
                 # nor is who did it ("held by Ukraine")
                 and not _AGENT_BEFORE.search(text, max(0, side.start() - 8), side.start())
                 and not (side.lastgroup == "russian" and (
                     _FOR_OR_IN.search(text, max(0, side.start() - 12), side.start())
                     or _PLACE_AFTER.match(text, side.end())
                     or _POSSESSIVE_BEFORE.search(text, 0, side.start())))}
        sides.discard("civilians")
        if _NORTH_KOREAN_VOICE.search(text):
            sides.add("north_korean")
        return sides.pop() if len(sides) == 1 else None

    def _attacked(self, sentence_start: int, position: int) -> str | None:
        """Whose, when the killing verb's subject is an attack on them: "a rocket strike
        on a North Korean battery killed some 30 soldiers"."""
        attacks = list(_ATTACK_ON.finditer(self.text, sentence_start, position))
        if not attacks:
            return None
        return next((name for name in _SUBJECT_NAMES if attacks[-1].group(name)), None)

    def _of_subject(self, word: str, position: int) -> bool:
        """ "40 *of Pyongyang's* troops", but not "one *of the* captured soldiers"."""
        return word == "of" and _OF_SUBJECT.match(self.text, position) is not None

    def _total_first(self, quantity: _Quantity) -> _Reading | None:
        """ "Casualties among North Koreans 'have surpassed 3,000'", "death toll rose to 50"."""
        sentence_start, _ = self._sentence(quantity.number_start)
        window_start = max(sentence_start, quantity.number_start - 120)
        written = self.text[quantity.start : quantity.number_start]
        # The qualifier may be the verb ("have surpassed 3,000") or not ("rose to over 50").
        verb_end = quantity.number_start if _TOTAL_MORE_THAN.match(written) else quantity.start
        total = _TOTAL_BEFORE.search(self.text[window_start:verb_end])
        bare = None
        if total is None and quantity.qualifier is not None:
            bare = _TOTAL_QUALIFIED.search(self.text[window_start : quantity.start])
        found = total or bare
        if found is None:
            return None
        start = window_start + found.start()
        before = self.text[max(sentence_start, start - 30) : start]
        subject = (
            _subject_before(before)  # "North Korean casualties in the Russia-Ukraine war at"
            or (_subject_in(total.group("between")) if total else None)
            or _subject_in(" ".join(self._phrase_after(quantity.end)[0]))
        )
        measure = next((name for name in ("casualties", "wounded")
                        if found.groupdict().get(name)), "dead")
        qualifier = None
        if total and _TOTAL_MORE_THAN.fullmatch(total.group("verb")):
            qualifier = "more_than"
        elif total and _TOTAL_NEARLY.fullmatch(total.group("verb")):
            qualifier = "nearly"  # "war dead approach 2,000"
        return _Reading(start, quantity.end, measure, subject, qualifier)

    def _phrase_after(self, position: int) -> tuple[list[str], int]:
        """The words of the noun phrase starting at ``position`` and where it ends."""
        words: list[str] = []
        end = position
        while len(words) < _NOUN_PHRASE_WORDS:
            token = _WORD.match(self.text, end)
            if token is None or token.group(1) is None:
                break
            word = token.group(1)
            if word.lower() in _PHRASE_ENDS and word.lower() not in _UNIT_NOUNS:
                break
            words.append(word)
            end = token.end()
        return words, end

    def _subject_after(self, position: int) -> str | None:
        """Whose, right after the casualty word: "casualties among North Koreans"."""
        lead = _SUBJECT_AFTER_MEASURE.match(self.text, position)
        if lead is None:
            return None
        subject = _SUBJECT.match(self.text, lead.end())
        return subject.lastgroup if subject is not None else None

    def _sufferer(self, position: int) -> str | None:
        """Whose, when the count's owner comes first: "North Korea may have suffered over"."""
        left = self._left(position)
        verb = _SUFFERED_BEFORE.search(left)
        if verb is None:
            return None
        # the nearest owner, not a place or an ally: "North Korean units fighting
        # alongside Russian troops have lost"
        left_start = position - len(left)
        return self._owner_between(left_start, left_start + verb.start())

    # -- who and when ---------------------------------------------------------------------

    def _sentence(self, position: int) -> tuple[int, int]:
        if self._sentence_starts is None:
            starts = [0]
            for end in _SENTENCE_END.finditer(self.text):
                if end.group().startswith(".") and _ABBREVIATION_BEFORE.search(
                    self.text, max(0, end.start() - 6), end.start()
                ):
                    continue  # "U.S. President", "Jan. 13"
                starts.append(end.end())
            self._sentence_starts = starts
        index = bisect.bisect_right(self._sentence_starts, position) - 1
        start = self._sentence_starts[index]
        stop = (
            self._sentence_starts[index + 1]
            if index + 1 < len(self._sentence_starts)
            else len(self.text)
        )
        return start, stop

    def _attribution(self, start: int, end: int, fact_start: int, fact_end: int) -> str | None:
        """Who the sentence says reports the figure: nearest named source, else a byline."""
        text = self.text
        by_sources = [
            (abs(found.start() - fact_start), source)
            for found in _BY_SOURCE.finditer(text, start, end)
            if (source := _source_after(text, found.end(), end))
        ]
        if by_sources:
            return min(by_sources)[1]
        sayers = [
            (abs(verb.start() - fact_start), source)
            for verb in _SAY_VERB.finditer(text, start, end)
            if not fact_start <= verb.start() < fact_end  # "an estimated 3,000"
            and (source := _source_before(text, start, verb.start())
                 or _inverted_source(text, start, verb.start(), verb.end(), end))
        ]
        if sayers:
            return min(sayers)[1]
        for headline in (
            _HEADLINE_SOURCE.search(text[start:end].rstrip()),
            _HEADLINE_SPEAKER.match(text, start, fact_start),
        ):
            if headline is not None and _is_source(headline.group(1)):
                return headline.group(1)
        return None

    def _period(self, start: int, end: int, fact_start: int, fact_end: int) -> str | None:
        after = _PERIOD.search(self.text, fact_end, end)
        if after is not None:
            return after.group()
        before = list(_PERIOD.finditer(self.text, start, fact_start))
        return before[-1].group() if before else None


_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth")
# One soldier captured, told without a number: "Ukraine captures North Korean soldier",
# "a North Korean soldier was taken alive".
_SINGLE_CAPTURE = re.compile(
    r"(?:\b(?P<verb>captur(?:e|es|ed|ing)|t(?:ake|ook|aken|akes|aking))\s+(?:an?\s+|one\s+)?"
    # "third N. Korean soldier captured"; a headline's "North Korean soldier captured by..."
    r"|\b(?:an?|one)\s+|\b(?=(?:" + "|".join(_ORDINALS[1:]) + r")\s)|^)"
    r"(?:(?P<ordinal>" + "|".join(_ORDINALS) + r")\s+)?"
    r"(?:(?:badly\s+)?(?:wounded|injured)\s+)?" + _SUBJECT.pattern
    + r"\s+(?:soldier|serviceman|fighter)\b(?!s)(?P<prisoner>\s+(?:prisoner|captive)\b)?"
    r"(?P<passive>(?:\s+(?:was|has\s+been|had\s+been))?\s+(?:captured|taken\s+(?:alive"
    r"|prisoner|captive)))?",
    re.IGNORECASE,
)
_SUBJECT_NAMES = ("north_korean", "russian", "ukrainian", "civilians")
_WORD_BEFORE = re.compile(r"([A-Za-z']+)[ \t\u00a0]+$")
_DETERMINERS = _word_set("the a an this that one two both of his their its")


def _speaks_for_north_korea(source: str | None) -> bool:
    """Whether ``source`` is North Korea's state or its media ("KCNA", "Pyongyang")."""
    return source is not None and bool(_NORTH_KOREAN_SOURCE.match(source))


def _single_captures(text: str, facts: Sequence[Fact]) -> list[Fact]:
    found: list[Fact] = []
    for match in _SINGLE_CAPTURE.finditer(text):
        if not (match.group("verb") or match.group("passive")):
            continue
        if (match.group("verb") or "").lower().startswith("t") and not match.group("prisoner"):
            continue  # "took a North Korean soldier" is a capture only when taken prisoner
        before = _WORD_BEFORE.search(text, 0, match.start())
        if match.group("verb") and not match.group("passive") and (
                before is None or before.group(1).lower() in _DETERMINERS):
            continue  # "Captured North Korean soldier wants...": an adjective, not a verb
        subject = next(name for name in _SUBJECT_NAMES if match.group(name))
        if any(f.measure == "captured" and f.subject == subject for f in [*facts, *found]):
            continue
        # "captured a third North Korean soldier": three captured so far
        count = float(_ORDINALS.index((match.group("ordinal") or "first").lower()) + 1)
        found.append(Fact(kind=FactKind.CASUALTY, value=count, high=count, unit=PEOPLE,
                          text=match.group(), subject=subject, measure="captured"))
    return found


def _scaled(number: Decimal, scale: str | None) -> float:
    if scale:
        number *= _SCALES[scale.strip().lower()]
    return float(number)


def _words_value(words: str) -> float:
    """ "three thousand" → 3000, "a thousand" → 1000, "two dozen" → 24, "two and a half
    billion" → 2.5e9."""
    total = 0.0
    current = 0.0
    lowered = words.lower()
    if lowered.startswith("half"):  # "half a billion"
        return _words_value(lowered.removeprefix("half")) / 2
    for word in re.split(r"[\s-]+", re.sub(r"\s+and\s+a\s+half\b", " and_a_half", lowered)):
        if word == "and_a_half":
            current += 0.5
        elif word in ("a", "an"):
            current = 1
        elif word in _SMALL_NUMBERS:
            current += _SMALL_NUMBERS[word]
        elif word == "hundred":
            current = max(current, 1) * 100
        elif word == "dozen":
            current = max(current, 1) * 12
        elif word in _MAGNITUDES:
            total += max(current, 1) * _MAGNITUDES[word]
            current = 0
    return float(total + current)


def _subject_in(words: str) -> str | None:
    subject = _SUBJECT.search(words)
    return subject.lastgroup if subject is not None else None


def _subject_before(words: str) -> str | None:
    subject = _SUBJECT_BEFORE.search(words)
    return subject.lastgroup if subject is not None else None


def _is_source(words: str) -> bool:
    """A headline's "– BBC" or "Zelenskyy:" names a source; "Photos:" or "North Korea:" not."""
    return words.lower() not in _NOT_SOURCES and not _SUBJECT.fullmatch(words)


def _source_words(segment: str) -> list[str]:
    cut = list(_SOURCE_CUT.finditer(segment))
    return segment[cut[-1].end() :].split() if cut else segment.split()


def _source_before(text: str, start: int, verb: int) -> str | None:
    """ "President Volodymyr Zelenskyy of Ukraine reported" → the words before the verb."""
    words = _source_words(text[max(start, verb - 120) : verb])
    while words and words[-1].lower() in _SOURCE_SKIP:
        words.pop()
    picked: list[str] = []
    for word in reversed(words):
        if word.lower() in _SOURCE_BREAKS or len(picked) == _SOURCE_WORDS or not word[0].isalpha():
            break
        picked.append(word)
    source = " ".join(reversed(picked))
    return source if source and source.lower() not in _PRONOUNS else None


def _source_after(text: str, position: int, end: int) -> str | None:
    """ "according to South Korea's intelligence agency." → the words after."""
    segment = text[position:end]
    cut = _SOURCE_CUT.search(segment)
    picked: list[str] = []
    for word in (segment[: cut.start()] if cut else segment).split():
        if word.lower() in _SOURCE_BREAKS or len(picked) == _SOURCE_WORDS:
            break
        picked.append(word)
    source = " ".join(picked)
    return source if source and source.lower() not in _PRONOUNS else None


def _inverted_source(text: str, start: int, verb: int, after: int, end: int) -> str | None:
    """ "..., says Ukraine" → "Ukraine"."""
    if not text[start:verb].rstrip().endswith(","):
        return None
    return _source_after(text, after, end)


def _merge_repeats(facts: list[Fact]) -> tuple[Fact, ...]:
    merged: dict[tuple[object, ...], Fact] = {}
    for fact in facts:
        key = (fact.kind, fact.unit, fact.value, fact.high, fact.subject, _family(fact.measure))
        first = merged.get(key)
        if first is None:
            merged[key] = fact
        else:
            merged[key] = Fact(
                kind=first.kind, value=first.value, high=first.high, unit=first.unit,
                text=first.text, subject=first.subject, measure=first.measure,
                qualifier=first.qualifier or fact.qualifier,
                attribution=first.attribution or fact.attribution,
                period=first.period or fact.period,
            )
    return tuple(merged.values())


# -- comparing figures ------------------------------------------------------------------

TOLERANCE = 0.01  # amounts within 1% of each other are the same amount, rounded differently
#: ... and an amount told as approximate ("nearly $1 billion") is within 5% of the exact one
#: ($988 million). Not casualties: "about 1,000 killed" is not 1,040.
APPROXIMATE_TOLERANCE = 0.05
_APPROXIMATE = frozenset({"about", "nearly"})

# "dead" and "killed" report the same toll; "killed or wounded" is a casualty count.
_MEASURE_FAMILIES = {"killed_or_wounded": "casualties", "dead": "killed"}


def _family(measure: str | None) -> str | None:
    return _MEASURE_FAMILIES.get(measure or "", measure)


def _comparable(a: Fact, b: Fact) -> bool:
    return a.kind == b.kind and a.unit == b.unit and a.subject == b.subject


def same_figure(a: Fact, b: Fact) -> bool:
    """Whether ``b`` reports the figure ``a`` does: "3,000" and "more than 3,000" do.

    Qualifiers are ignored; ranges match when they overlap; an unknown subject
    or measure on either side does not rule a match out.
    """
    if a.kind != b.kind or a.unit != b.unit:
        return False
    if a.subject and b.subject and a.subject != b.subject:
        return False
    if a.measure and b.measure and _family(a.measure) != _family(b.measure):
        return False
    if a.kind is FactKind.CASUALTY:
        tolerance = 0.0  # a head count is exact: 101 portraits of the dead are not "at least 100"
    elif {a.qualifier, b.qualifier} & _APPROXIMATE:
        tolerance = APPROXIMATE_TOLERANCE
    else:
        tolerance = TOLERANCE
    if a.kind is not FactKind.CASUALTY and (_rounds(a, b) or _rounds(b, a)):
        return True
    return a.value <= b.high * (1 + tolerance) and b.value <= a.high * (1 + tolerance)


def _rounds(rounded: Fact, exact: Fact) -> bool:
    """Whether ``rounded``, an amount told to two significant digits, is ``exact`` rounded
    ("$2.5bn" for $2.47 billion; not "$500m" for $480 million, told to one)."""
    if rounded.value != rounded.high or exact.value != exact.high or rounded.value <= 0:
        return False
    unit = 10 ** (math.floor(math.log10(rounded.value)) - 1)
    digits = rounded.value / unit
    return (abs(digits - round(digits)) < 1e-9 and round(digits) % 10 != 0
            and abs(rounded.value - exact.value) <= unit / 2)


def closest_known(new: Fact, known: Sequence[KnownFact]) -> KnownFact | None:
    """The known figure of the same kind, unit, subject and measure nearest to ``new``.

    "2 captured" has no previous figure in "1,000 casualties": a change between
    different measures would mislead. An unknown measure compares with any;
    the same measure wins, ties go to the most recently published.
    """
    family = _family(new.measure)
    candidates = [
        k for k in known
        if _comparable(new, k.fact)
        and (family is None or k.fact.measure is None or _family(k.fact.measure) == family)
    ]
    if not candidates:
        return None
    return min(
        candidates,
        key=lambda k: (
            _family(k.fact.measure) != family,
            _relative_distance(_middle(new), _middle(k.fact)),
            -(k.published.timestamp() if k.published else -math.inf),
            k.source_id,
        ),
    )


def _middle(fact: Fact) -> float:
    return (fact.value + fact.high) / 2


def _relative_distance(a: float, b: float) -> float:
    largest = max(abs(a), abs(b))
    return abs(a - b) / largest if largest else 0.0


# -- for people ----------------------------------------------------------------------------

_QUALIFIER_WORDS = {
    "more_than": "more than", "at_least": "at least", "about": "about",
    "nearly": "nearly", "up_to": "up to",
}
_SUBJECT_WORDS = {
    "north_korean": "North Korean", "russian": "Russian", "ukrainian": "Ukrainian",
    "civilians": "civilian",
}
_CURRENCY_SIGNS = {"USD": "$", "EUR": "€", "GBP": "£"}
_UNIT_SUFFIXES = {"m3": " m³", "m3/day": " m³ a day", PEOPLE: ""}


def describe_change(change: Change) -> str:
    """ "3,000 → 4,000, +33%", or "4,000 (first figure)" when nothing was known."""
    new = _amount(change.new)
    if change.previous is None:
        return f"{new} (first figure)"
    old_fact = change.previous.fact
    old = _amount(old_fact)
    before, after = _middle(old_fact), _middle(change.new)
    if before == after:
        return f"{old} → {new}, unchanged"
    if not before:
        return f"{old} → {new}"
    percent = (after - before) / before * 100
    shown = f"{percent:+.0f}" if abs(percent) >= 1 else f"{percent:+.1f}"
    return f"{old} → {new}, {shown}%"


def format_fact(fact: Fact) -> str:
    """ "more than 3,000 North Korean killed or wounded — Zelenskyy", "$2.5 billion"."""
    parts = []
    if fact.qualifier:
        parts.append(_QUALIFIER_WORDS.get(fact.qualifier, fact.qualifier.replace("_", " ")))
    parts.append(_amount(fact))
    if fact.subject:
        parts.append(_SUBJECT_WORDS.get(fact.subject, fact.subject.replace("_", " ")))
    if fact.measure:
        parts.append(fact.measure.replace("_", " "))
    if fact.period:
        parts.append(fact.period)
    described = " ".join(parts)
    return f"{described} — {fact.attribution}" if fact.attribution else described


def _amount(fact: Fact) -> str:
    low = _number(fact.value)
    if fact.high != fact.value:
        low = f"{low}–{_number(fact.high)}"
    sign = _CURRENCY_SIGNS.get(fact.unit)
    if sign:
        return f"{sign}{low}"
    suffix = _UNIT_SUFFIXES.get(fact.unit, f" {fact.unit}")
    return f"{low}{suffix}"


def _number(value: float) -> str:
    """ "3,000", "40,500.5"; from a million up "2.5 billion", "988 million"."""
    for size, name in ((10**12, "trillion"), (10**9, "billion"), (10**6, "million")):
        if value >= size:
            return f"{_trimmed(value / size)} {name}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _trimmed(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")
