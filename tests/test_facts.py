"""Fact extraction and figure comparison (worker.facts): pure, table-driven."""

from __future__ import annotations

import html
import json
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from worker.facts import closest_known, describe_change, extract_facts, format_fact, same_figure
from worker.records import Change, Fact, FactKind, KnownFact

CORPUS = Path("/work/shared/corpus/realfeeds-2024-12-28_2025-01-31.jsonl")

CASUALTY = FactKind.CASUALTY
MONEY = FactKind.MONEY
GAS = FactKind.GAS_VOLUME


def facts_of(text: str, kind: FactKind) -> list[Fact]:
    return [fact for fact in extract_facts(text) if fact.kind is kind]


def only(text: str, kind: FactKind) -> Fact:
    facts = facts_of(text, kind)
    assert len(facts) == 1, facts
    return facts[0]


def assert_fields(fact: Fact, expected: dict[str, Any]) -> None:
    for field, value in expected.items():
        if field == "attribution_has":
            assert fact.attribution is not None and value in fact.attribution, fact
        else:
            assert getattr(fact, field) == value, (field, fact)


# -- the seed articles ----------------------------------------------------------------------

SEED_ZELENSKYY = (
    "In a startling development in the ongoing Ukraine-Russia conflict, President Volodymyr "
    "Zelenskyy of Ukraine reported that more than 3,000 North Korean military personnel have "
    "been killed or wounded in the Russian region of Kursk."
)
SEED_OFFICIALS = (
    "The Ukrainian president's estimate of North Korean casualties starkly contrasts with "
    "figures provided by South Korean officials, who suggest at least 1,100 North Korean "
    "soldiers have suffered casualties."
)
SEED_ONE_WEEK = (
    "Recent estimates suggest that North Korea may have suffered over 1,000 casualties in just "
    "one week of combat operations—figures corroborated by South Korean intelligence reports."
)
SEED_LNG = (
    "DTEK, Ukraine's largest private energy firm, confirmed the delivery of this cargo, which "
    "totals approximately 100 million cubic meters of LNG, an essential step toward boosting "
    "energy security and reducing dependence on Russian supplies."
)


def test_seed_zelenskyy_figure() -> None:
    assert_fields(only(SEED_ZELENSKYY, CASUALTY), {
        "measure": "killed_or_wounded", "qualifier": "more_than", "value": 3000.0,
        "high": 3000.0, "subject": "north_korean", "unit": "people",
        "attribution_has": "Zelenskyy",
    })


def test_seed_south_korean_officials_figure() -> None:
    assert_fields(only(SEED_OFFICIALS, CASUALTY), {
        "measure": "casualties", "qualifier": "at_least", "value": 1100.0,
        "subject": "north_korean", "attribution_has": "South Korean officials",
    })


def test_seed_one_week_figure() -> None:
    assert_fields(only(SEED_ONE_WEEK, CASUALTY), {
        "measure": "casualties", "qualifier": "more_than", "value": 1000.0,
        "subject": "north_korean", "period": "in just one week",
    })


def test_seed_lng_volume() -> None:
    assert_fields(only(SEED_LNG, GAS), {
        "value": 1e8, "high": 1e8, "unit": "m3", "qualifier": "about",
        "text": "approximately 100 million cubic meters",
    })
    assert facts_of(SEED_LNG, CASUALTY) == []


def test_seed_sentences_together_give_each_figure_once() -> None:
    text = " ".join([SEED_ZELENSKYY, SEED_OFFICIALS, SEED_ONE_WEEK, SEED_LNG])
    facts = extract_facts(text)
    assert [(f.kind, f.value, f.measure) for f in facts] == [
        (CASUALTY, 3000.0, "killed_or_wounded"),
        (CASUALTY, 1100.0, "casualties"),
        (CASUALTY, 1000.0, "casualties"),
        (GAS, 1e8, None),
    ]


# -- casualty figures -------------------------------------------------------------------------

CASUALTY_CASES = [
    # real headlines (title, newline, description) from the feed corpus
    ("Around 300 North Korean Soldiers Killed Fighting for Russia, South Korean Lawmaker Says",
     {"value": 300.0, "measure": "killed", "qualifier": "about", "subject": "north_korean",
      "attribution": "South Korean Lawmaker"}),
    ("Around 1K North Korean Soldiers Killed Fighting for Russia – BBC\nPyongyang is believed "
     "to have sent over 10,000 troops to help Russia drive out Ukrainian forces in the "
     "southwestern Kursk region.",
     {"value": 1000.0, "measure": "killed", "qualifier": "about", "subject": "north_korean",
      "attribution": "BBC"}),
    ("About 1,000 North Koreans killed fighting Ukraine in Kursk, officials say\nWestern "
     "officials tell the BBC the troop losses appear unsustainable.",
     {"value": 1000.0, "measure": "killed", "qualifier": "about", "subject": "north_korean",
      "attribution": "officials"}),
    ("Ukraine Says It Captured 2 North Korean Soldiers Fighting for Russia",
     {"value": 2.0, "measure": "captured", "subject": "north_korean", "attribution": "Ukraine"}),
    # "lost N soldiers" may count the dead or every casualty: no measure, so it meets either
    ("‘Highest price for war’: Russia lost 430,000 soldiers in 2024, says Ukraine",
     {"value": 430000.0, "measure": None, "subject": "russian",
      "attribution": "Ukraine", "period": "in 2024"}),
    ("Russia concentrates on Donetsk, as Ukraine claims Moscow has lost almost 835,000 men.",
     {"value": 835000.0, "measure": None, "qualifier": "nearly", "subject": "russian"}),
    ("Russia Claims Ukrainian Soldiers Killed Nearly 2 Dozen Civilians in Kursk Region",
     {"value": 24.0, "measure": "killed", "qualifier": "nearly", "subject": "civilians"}),
    ("Kyiv Claims Russian Forces Killed 6 Captured Ukrainian Troops",
     {"value": 6.0, "measure": "killed", "subject": "ukrainian", "attribution": "Kyiv"}),
    ("Gang violence killed more than 5,600 people in Haiti in 2024: UN",
     {"value": 5600.0, "measure": "killed", "qualifier": "more_than", "subject": None,
      "attribution": "UN", "period": "in 2024"}),
    ("Gaza’s health ministry said that 88 people had been killed over the past day.",
     {"value": 88.0, "measure": "killed", "attribution": "Gaza’s health ministry",
      "period": "over the past day"}),
    ("At least 66 people have died and 32 were injured in a fire at a ski resort hotel.",
     {"value": 66.0, "measure": "dead", "qualifier": "at_least"}),
    ("The clashes between rival guerrilla groups have left 80 dead as Colombia braces.",
     {"value": 80.0, "measure": "dead"}),
    ("Israeli attacks kill 46 in Gaza as ceasefire talks continue",
     {"value": 46.0, "measure": "killed", "subject": None}),
    ("Russian Missile Attack Hits Odesa Hotel, 2 Wounded",
     {"value": 2.0, "measure": "wounded"}),
    ("Israel’s war on Gaza has killed at least 45,541 Palestinians since October 7, 2023.",
     {"value": 45541.0, "qualifier": "at_least", "period": "since October 7, 2023"}),
    ("The death toll from the two-day operation rose to 10, officials said.",
     {"value": 10.0, "measure": "dead", "attribution": "officials"}),
    ("Casualties among North Koreans assisting Russia 'have surpassed 3,000', according to "
     "South Korea's intelligence agency.",
     {"value": 3000.0, "measure": "casualties", "qualifier": "more_than",
      "subject": "north_korean", "attribution_has": "South Korea's intelligence"}),
    # the same, as the feed delivers it: HTML entities not yet decoded
    ("Casualties among North Koreans assisting Russia &#039;have surpassed 3,000&#039;, "
     "according to South Korea&#039;s intelligence agency.",
     {"value": 3000.0, "qualifier": "more_than", "subject": "north_korean",
      "attribution_has": "South Korea's intelligence"}),
    # shapes the spec names
    ("An estimated 3,000 North Korean soldiers were killed or wounded, the White House said.",
     {"measure": "killed_or_wounded", "qualifier": "about", "attribution": "the White House"}),
    ("North Korean casualties have surpassed 4,000, a South Korean lawmaker said.",
     {"value": 4000.0, "measure": "casualties", "qualifier": "more_than",
      "subject": "north_korean", "attribution": "a South Korean lawmaker"}),
    ("DPRK troops: 500 KPA soldiers killed in one week since October",
     {"value": 500.0, "subject": "north_korean", "period": "in one week"}),
    ("The Pentagon said 40 of Pyongyang's troops were missing.",
     {"value": 40.0, "measure": "missing", "subject": "north_korean"}),
    ("Some 120 North Korean troops were unaccounted for after the fighting.",
     {"value": 120.0, "measure": "missing", "qualifier": "about", "subject": "north_korean"}),
    # the only side a text names owns its unowned soldiers; Kim speaks for North Korea
    ("Kim Unveils Portraits of 101 Soldiers Killed in Kursk\nState TV showed Kim Jong Un "
     "before portraits of 101 soldiers who fought in Russia.",
     {"value": 101.0, "measure": "killed", "subject": "north_korean"}),
    ("Pyongyang honours portraits of about a hundred fallen",
     {"value": 100.0, "measure": "dead", "subject": "north_korean"}),
    ("North Korean troops attacked as Ukraine's brigade lost 12 soldiers.",
     {"value": 12.0, "subject": "ukrainian"}),
    # soldiers' jargon, and a figure quoted as said
    ("A Ukrainian drone unit said it had eliminated 25 North Korean soldiers",
     {"value": 25.0, "measure": "killed", "subject": "north_korean"}),
    ("Zelensky says 'about 4,000' North Korean troops killed or wounded",
     {"value": 4000.0, "measure": "killed_or_wounded", "qualifier": "about",
      "subject": "north_korean"}),
    ("Kyiv: North Korean Dead In Kursk Campaign Now Exceed 1,500",
     {"value": 1500.0, "measure": "dead", "qualifier": "more_than", "subject": "north_korean"}),
    ("Zelenskyy: two North Korean soldiers taken alive in Kursk",
     {"value": 2.0, "measure": "captured", "subject": "north_korean"}),
    ("(LEAD) About 300 N. Korean soldiers killed, 2,700 wounded in Russia: NIS",
     {"value": 300.0, "measure": "killed", "subject": "north_korean"}),
    ("'They never came back': Kyiv says some 60 of Kim's soldiers missing after Kursk rout",
     {"value": 60.0, "measure": "missing", "subject": "north_korean"}),
    ("One of the two North Korean soldiers held by Ukraine since January spoke.",
     {"value": 2.0, "measure": "captured", "subject": "north_korean"}),
    ("North Korean troops back in Kursk fighting; Kyiv says 40 killed on first day",
     {"value": 40.0, "measure": "killed", "subject": "north_korean"}),
    ("North Korean units fighting alongside Russian troops have lost nearly 4,000 killed and "
     "wounded.", {"value": 4000.0, "measure": "killed_or_wounded", "subject": "north_korean"}),
    ("‘3,800 dead and wounded’: Zelenskyy updates North Korean toll",
     {"value": 3800.0, "measure": "killed_or_wounded", "subject": "north_korean"}),
    # a bare toll counts every casualty; a death toll the dead
    ("Spy agency puts North Korean toll at 3,000: 300 dead, 2,700 wounded",
     {"value": 3000.0, "measure": "casualties", "subject": "north_korean"}),
    ("Kyiv: North Korean losses in Kursk now ‘more than 5,000’",
     {"value": 5000.0, "measure": "casualties", "qualifier": "more_than",
      "subject": "north_korean"}),
    ("Ukraine says it has captured a third North Korean soldier",
     {"value": 3.0, "measure": "captured", "subject": "north_korean"}),
    ("UK intelligence: North Korean losses top 6,000",
     {"value": 6000.0, "measure": "casualties", "qualifier": "more_than",
      "subject": "north_korean"}),
    ("Zelensky repeats that more than 3,000 North Koreans have been killed or hurt",
     {"value": 3000.0, "measure": "killed_or_wounded", "subject": "north_korean"}),
    ("Kim Unveils Portraits Of 101 Soldiers Killed Fighting For Russia\nState television "
     "showed Kim Jong Un before photographs of the fallen.",
     {"value": 101.0, "measure": "killed", "subject": "north_korean"}),
    ("Some 200 Pyongyang's soldiers were captured.",
     {"value": 200.0, "measure": "captured", "qualifier": "about", "subject": "north_korean"}),
    ("Seventeen civilians also wounded in the strike.",
     {"value": 17.0, "measure": "wounded", "subject": "civilians"}),
    ("Up to 3,000 Russian troops were taken prisoner.",
     {"value": 3000.0, "measure": "captured", "qualifier": "up_to", "subject": "russian"}),
    ("Over 500 Russian troops dead, Kyiv says",
     {"value": 500.0, "measure": "dead", "subject": "russian", "attribution": "Kyiv"}),
    ("North Korean losses in Kursk pass 4,000, Zelenskyy says",
     {"value": 4000.0, "measure": "casualties", "qualifier": "more_than",
      "subject": "north_korean", "attribution": "Zelenskyy"}),
    ("Casualties among top commanders reached 50.",
     {"value": 50.0, "measure": "casualties", "qualifier": None}),
    ("Zelenskyy: more than 3,000 North Korean troops killed or wounded",
     {"value": 3000.0, "measure": "killed_or_wounded", "attribution": "Zelenskyy"}),
    ("North Korea: 1,000 killed", {"value": 1000.0, "attribution": None}),
    ("Photos: More than 70 Palestinians killed in Israeli attacks on Gaza",
     {"value": 70.0, "attribution": None}),
    ("Ukrainian losses of about 1,500 were reported.",
     {"value": 1500.0, "measure": "casualties", "subject": "ukrainian", "qualifier": "about"}),
    # the owner named by its units, before the verb
    ("North Korean units had suffered about 1,500 killed and wounded in January.",
     {"value": 1500.0, "measure": "killed_or_wounded", "subject": "north_korean"}),
    ("Pyongyang's battalions lost 200 soldiers.",
     {"value": 200.0, "subject": "north_korean"}),
    ("North Korean casualties near 4,000: Zelenskyy",
     {"value": 4000.0, "measure": "casualties", "qualifier": "nearly",
      "subject": "north_korean", "attribution": "Zelenskyy"}),
    # the owner named earlier in the clause, not a place or a speaker
    ("Ukrainian paratroopers say the North Koreans resumed assaults this week and lost about "
     "200 men killed or wounded in two days.",
     {"value": 200.0, "subject": "north_korean", "period": "in two days"}),
    ("Ukraine's military said North Korean troops have joined attacks in Russia's Belgorod "
     "region, where some 70 were killed in the first week.",
     {"value": 70.0, "measure": "killed", "subject": "north_korean"}),
    ("The agency estimates North Korea's losses in Russia at about 4,000 killed or wounded.",
     {"value": 4000.0, "subject": "north_korean"}),
    ("The military estimates North Korean casualties in the Russia-Ukraine war at around 4,700.",
     {"value": 4700.0, "measure": "casualties", "subject": "north_korean"}),
    ("JCS: North Korea sent 3,000 more troops, casualties reach 4,700",
     {"value": 4700.0, "measure": "casualties", "subject": "north_korean"}),
    ("Western officials say North Korean dead now around a thousand",
     {"value": 1000.0, "measure": "dead", "qualifier": "about", "subject": "north_korean"}),
    ("Special forces said they had taken one North Korean soldier prisoner in Kursk.",
     {"value": 1.0, "measure": "captured", "subject": "north_korean"}),
    ("Kyiv's intelligence now puts North Korean killed and wounded at around 4,600.",
     {"value": 4600.0, "measure": "casualties", "qualifier": "about",
      "subject": "north_korean"}),
    ("North Korean Deminers: 11 Killed in Kursk Mine Blast, Kyiv Says",
     {"value": 11.0, "measure": "killed", "subject": "north_korean"}),
    ("A rocket strike on a North Korean battery in the Kursk area killed some 30 soldiers.",
     {"value": 30.0, "measure": "killed", "subject": "north_korean", "qualifier": "about"}),
    ("North Korean infantry lost around 70 men killed or wounded over two days.",
     {"value": 70.0, "measure": "killed_or_wounded", "subject": "north_korean"}),
    ("Ukrainian paratroopers report 40-odd North Korean soldiers killed in Kursk",
     {"value": 40.0, "measure": "killed", "qualifier": "about", "subject": "north_korean"}),
    # one soldier captured, without a number
    ("Ukraine captures North Korean soldier in Kursk, NIS confirms",
     {"value": 1.0, "measure": "captured", "subject": "north_korean"}),
    ("The NIS said a North Korean soldier was taken alive by Ukrainian forces.",
     {"value": 1.0, "measure": "captured", "subject": "north_korean"}),
    ("Special forces said they had taken a wounded North Korean soldier prisoner.",
     {"value": 1.0, "measure": "captured", "subject": "north_korean"}),
    ("Ukraine Captures First North Korean Soldier in Kursk",
     {"value": 1.0, "measure": "captured", "subject": "north_korean"}),
    ("Kyiv: Special Forces Take Wounded North Korean Soldier Prisoner",
     {"value": 1.0, "measure": "captured", "subject": "north_korean"}),
    ("They published photos of a man they say is a North Korean soldier taken alive.",
     {"value": 1.0, "measure": "captured", "subject": "north_korean"}),
    # whose, after "of": "two of Kim's soldiers"
    ("NABBED! Ukraine catches TWO of Kim's soldiers alive",
     {"value": 2.0, "measure": "captured", "subject": "north_korean"}),
    ("GOTCHA! Two of Kim's soldiers nabbed alive",
     {"value": 2.0, "measure": "captured", "subject": "north_korean"}),
    # a count of the portraits of the dead is a count of the dead; the only side named is
    # theirs, and a commander who speaks is no side
    ("Kim Honors Fallen Soldiers; State TV Shows 101 Portraits of the Dead\nKim Jong Un knelt "
     "before a wall of photographs.",
     {"value": 101.0, "measure": "dead", "subject": "north_korean"}),
    ("'We killed 800 of them in March' - Ukrainian commander on Kim's troops",
     {"value": 800.0, "measure": "killed", "subject": "north_korean"}),
    # Russia as where a deployment goes is no side
    ("NIS Updates Toll of N. Korea's Russia Deployment\nThe agency said casualties stand at "
     "around 4,700.", {"value": 4700.0, "measure": "casualties", "subject": "north_korean"}),
    # troops who lose a count lose that many of themselves
    ("Back in Kursk, North Korean troops lose at least 40 on first day",
     {"value": 40.0, "qualifier": "at_least", "subject": "north_korean"}),
    # the headline's own side, though the summary names two
    ("'About 200 dead': Kim's troops mauled in Sudzha push, says Ukrainian commander\n"
     "Ukraine's forces say Russian and North Korean units took heavy losses.",
     {"value": 200.0, "measure": "dead", "subject": "north_korean"}),
    ("Ukraine now holds three North Korean prisoners, officials say",
     {"value": 3.0, "measure": "captured", "subject": "north_korean"}),
    ('Twenty-seven of Kim\'s soldiers "wiped out" in a single night, brigade claims',
     {"value": 27.0, "measure": "killed", "subject": "north_korean"}),
    ("Zelenskyy posts photos of 2 wounded North Korean POWs, offers swap with Kim",
     {"value": 2.0, "measure": "captured", "subject": "north_korean"}),
    # who holds the prisoners is no side
    ("Third North Korean soldier captured, Zelenskyy says\nA wounded North Korean was taken "
     "prisoner, bringing to three the number held by Ukraine, the president said.",
     {"value": 3.0, "measure": "captured", "subject": "north_korean"}),
    ("Ukraine says third N. Korean soldier captured, first in over a year",
     {"value": 3.0, "measure": "captured", "subject": "north_korean"}),
    ("Zelensky said North Korean killed and wounded in Kursk now number nearly 3,800.",
     {"value": 3800.0, "qualifier": "nearly", "subject": "north_korean"}),
    ("NIS: North Korean killed and wounded in Russia war now about 6,500",
     {"value": 6500.0, "qualifier": "about", "subject": "north_korean"}),
    ("N.Korean dead in Russia war now estimated about 2,000 -- spy agency",
     {"value": 2000.0, "measure": "dead", "subject": "north_korean"}),
    ("4,700 KIM TROOPS KILLED OR MAIMED, says Seoul",
     {"value": 4700.0, "measure": "killed_or_wounded"}),
    ("Death toll of North Korean troops in Russia now around 2,000, says NIS",
     {"value": 2000.0, "measure": "dead", "subject": "north_korean"}),
    ("JCS: North Korea casualty in Russia estimate about 4,700",
     {"value": 4700.0, "qualifier": "about", "subject": "north_korean"}),
    ("North Korean soldier captured by Ukraine dies of his wounds, Seoul's spy agency says",
     {"value": 1.0, "measure": "captured", "subject": "north_korean"}),
    ("Two Wounded North Korean Soldiers Taken Prisoner in Kursk, Zelensky Says",
     {"value": 2.0, "measure": "captured", "subject": "north_korean"}),
    # a hedged estimate of losses already taken is still a reported figure
    ("North Korea may have suffered over 3,000 casualties.",
     {"value": 3000.0, "subject": "north_korean", "qualifier": "more_than"}),
    # prisoners counted with their side are captured
    ("Zelenskyy Posts Video of Two North Korean Prisoners Held by SBU",
     {"value": 2.0, "measure": "captured", "subject": "north_korean"}),
    ("CAUGHT! Ukraine grabs TWO of Kim's soldiers alive",
     {"value": 2.0, "measure": "captured", "subject": "north_korean"}),
    # a total approaching a figure, an estimate raised to one; "in Russia" is a place
    ("North Korean war dead in Russia approach 2,000, NIS briefing shows",
     {"value": 2000.0, "measure": "dead", "qualifier": "nearly", "subject": "north_korean"}),
    ("Seoul Joint Chiefs raise N. Korean casualty estimate to about 4,700",
     {"value": 4700.0, "qualifier": "about", "subject": "north_korean"}),
    # North Korea's own count of its dead is of its side; whom its troops killed is not
    ("North Korea says nine soldiers died clearing mines in Kursk",
     {"value": 9.0, "measure": "dead", "subject": "north_korean"}),
    ("KCNA said nine sappers were killed.",
     {"value": 9.0, "measure": "killed", "subject": "north_korean"}),
    ("North Korea says its troops killed 500 Ukrainian soldiers",
     {"value": 500.0, "subject": "ukrainian"}),
    ("From Russia's million casualties to the 2,000 North Koreans Seoul says were killed",
     {"value": 1e6, "subject": None}),
    # bodies are the dead; prisoners held in Kyiv are captured; "above" is "more than"
    ("Special forces say 63 North Korean bodies found after Makhnovka fighting",
     {"value": 63.0, "measure": "dead", "subject": "north_korean"}),
    ("Two Wounded DPRK Soldiers Held in Kyiv; Zelensky Floats Swap",
     {"value": 2.0, "measure": "captured", "subject": "north_korean"}),
    ("British intelligence: Pyongyang's Kursk casualties now above 6,000",
     {"value": 6000.0, "qualifier": "more_than", "subject": "north_korean"}),
    ("Zelensky Puts North Korean Killed and Wounded Above 3,000",
     {"value": 3000.0, "measure": "casualties", "qualifier": "more_than"}),
    ("Zelenskyy Puts Toll Above 3,000", {"value": 3000.0, "measure": "casualties"}),
    ("Zelenskyy posts photos of pair of North Korean prisoners taken in Kursk region",
     {"value": 2.0, "measure": "captured", "subject": "north_korean"}),
    # troops sent to a country, before the figure, are whose toll it is
    ("Death toll among North Korean troops sent to Russia rises to about 2,000",
     {"value": 2000.0, "measure": "dead", "subject": "north_korean"}),
    # "N. Korea's" owns the casualties; "in Russia" is where they fell
    ("N. Korea's casualties in Russia reach about 4,700: JCS",
     {"value": 4700.0, "measure": "casualties", "subject": "north_korean"}),
    ("DRONE HUNTERS: Ukrainian unit says it wiped out 19 North Korean soldiers in one night",
     {"value": 19.0, "measure": "killed", "subject": "north_korean"}),
    # Kim alone and KCNA speak for the North Korean side; "the Russian region" and "Russia's
    # Kursk region" are where it fought
    ("Kim says nine engineers died clearing mines in Kursk\nWelcoming back a regiment that "
     "spent months demining the Russian region, Kim Jong Un said nine of its soldiers were "
     "killed.",
     {"value": 9.0, "measure": "dead", "subject": "north_korean"}),
    ("Kim welcomes engineers home, honours nine killed clearing mines\nKCNA said nine members "
     "of an engineering regiment died in Russia's Kursk region.",
     {"value": 9.0, "measure": "killed", "subject": "north_korean"}),
]


@pytest.mark.parametrize(("text", "expected"), CASUALTY_CASES)
def test_casualty_figure(text: str, expected: dict[str, Any]) -> None:
    facts = facts_of(text, CASUALTY)
    assert facts, text
    assert_fields(facts[0], {"unit": "people"} | expected)


def test_one_headline_two_figures_share_the_subject() -> None:
    facts = facts_of(
        "Seoul says 300 North Korean soldiers killed, 2,700 wounded fighting Ukraine", CASUALTY
    )
    assert [(f.value, f.measure, f.subject, f.attribution) for f in facts] == [
        (300.0, "killed", "north_korean", "Seoul"),
        (2700.0, "wounded", "north_korean", "Seoul"),
    ]


def test_wounded_are_prisoners_only_in_their_own_clause() -> None:
    facts = facts_of("300 wounded in Kursk as Ukraine captured a village", CASUALTY)
    assert [(f.value, f.measure) for f in facts] == [(300.0, "wounded")]


def test_two_figures_after_a_dash_are_no_backwards_range() -> None:
    facts = facts_of("NIS: North Korean casualties 3,000 — 300 dead, 2,700 wounded", CASUALTY)
    assert [(f.value, f.high, f.measure) for f in facts] == [
        (300.0, 300.0, "dead"), (2700.0, 2700.0, "wounded")]


def test_a_figure_included_in_another_shares_its_subject() -> None:
    facts = facts_of("North Korean troops have suffered 4,700 casualties including 600 deaths",
                     CASUALTY)

    assert [(f.value, f.subject) for f in facts] == [
        (4700.0, "north_korean"), (600.0, "north_korean")]


def test_one_killed_four_injured() -> None:
    facts = facts_of("One killed, four injured as barrage of Russian drones hits Kyiv", CASUALTY)
    assert [(f.value, f.measure) for f in facts] == [(1.0, "killed"), (4.0, "wounded")]


def test_a_figure_read_twice_is_one_fact_with_what_both_readings_knew() -> None:
    facts = facts_of(
        "19 killed in assault on Chad presidential complex\nAt least 19 people have been killed "
        "in Chad, security forces said.",
        CASUALTY,
    )
    assert len(facts) == 1
    assert_fields(facts[0], {"value": 19.0, "qualifier": "at_least",
                             "attribution": "security forces", "text": "19 killed"})


def test_casualties_and_killed_or_wounded_read_twice_are_one_fact() -> None:
    facts = facts_of(
        "North Korean casualties in Kursk rise to 4,000, Zelenskyy says\nAbout 4,000 North "
        "Korean soldiers have been killed or wounded in Kursk, he said.",
        CASUALTY,
    )
    assert [(f.value, f.measure, f.qualifier, f.attribution) for f in facts] == [
        (4000.0, "casualties", "about", "Zelenskyy"),
    ]


NOT_CASUALTIES = [
    # deployments and other people who are not casualties
    "Pyongyang is believed to have sent over 10,000 troops to help Russia drive out Ukrainian "
    "forces in the southwestern Kursk region.",
    "North Korea is preparing to send 1,500 more troops to Russia, Seoul said.",
    "The dictator has been exalting a shock brigade of 300,000 teens and 20-somethings drafted "
    "into flood reconstruction.",
    # prisoners exchanged are not counted as captured: they were captured long before
    "Russia and Ukraine swap more than 300 prisoners of war.",
    "South Korea's Joint Chiefs of Staff said the missiles travelled up to 250km (155 miles).",
    # years, dates, ages, ordinals, percentages, durations, areas
    "In 2025 the war killed many.",
    "On Jan. 13 the attack killed many.",
    "The strike on 7 January killed many.",
    "Jimmy Carter, 39th U.S. President, Is Dead at 100",
    "Zakir Hussain, Grammy-Winning Indian Tabla Player, Dies at 73",
    "Lim Kimya, 74, was shot dead in Bangkok.",
    "A 74-year-old man was killed.",
    "A man aged 74 was killed.",
    "Troops lost 5% of their equipment and casualties rose.",
    "Losses rose 40 percent last year.",
    "The siege has killed civilians for 100 days.",
    "Russia gained 4,000sq km of Ukraine in 2024. How many soldiers did it lose?",
    "He Survived 15 Months of War in Gaza, Then Died as Cease-Fire Neared",
    "Ukraine has lost 3 regional elections.",
    # vague words are not figures
    "Dozens killed in Myanmar military air attack.",
    "Hundreds of soldiers killed and thousands wounded.",
    "No one was killed in the attack.",
    # a count that did the killing is not the dead
    "Gaza’s health ministry said that eight Israeli attacks had killed people.",
    "Gazprom Weighs Laying Off 1,600 Managers Amid Wartime Losses",
    "Officials said it could take up to 10 days to prepare the dead for transport.",
    "One of the captured soldiers allegedly said he received military training.",
    "They took 3 games in a row.",
    "North Korean troops lose 3 of 5 positions.",
    "North Korean troops lost 40 km of ground.",
    # "captured" as an adjective is no capture
    "Captured North Korean soldier wants to go to South Korea",
    "The captured North Korean soldier said he was a sniper.",
    "The third North Korean soldier said he wanted to go home.",
    # a place after a verb is no count
    "Ukraine's spies say Pyongyang's troops were killed near two villages in Kursk.",
    # "several hundred" is no figure
    "Pentagon: North Korean Troops Have Suffered 'Several Hundred' Casualties",
    # projections of losses to come are not reported figures
    "North Korean losses could reach 10,000 by spring, analysts warn",
    "Casualties could climb to as many as 10,000 by April, a think tank projected.",
    "North Korean casualties are expected to rise to 5,000 this year.",
    # a deployment's total, after losses it replaces
    "The soldiers arrived to replace losses, officials said, bringing the total deployed to "
    "around 14,000.",
]


@pytest.mark.parametrize("text", NOT_CASUALTIES)
def test_not_a_casualty_figure(text: str) -> None:
    assert facts_of(text, CASUALTY) == []


def test_eight_attacks_killed_81_people_is_81() -> None:
    text = "The ministry said that eight Israeli attacks had killed 81 people over the past day."
    assert [f.value for f in facts_of(text, CASUALTY)] == [81.0]


def test_subject_is_not_read_from_the_attacker() -> None:
    fact = only("Russian Drone Attack Kills 9 in Eastern Ukraine's Sumy", CASUALTY)
    assert fact.subject is None


def test_subject_is_not_read_across_a_clause() -> None:
    fact = only("North Korea fires missile as 20 killed in strike on Kyiv", CASUALTY)
    assert fact.subject is None


# -- numbers ----------------------------------------------------------------------------------

NUMBER_CASES = [
    ("3,000 soldiers killed", 3000.0, 3000.0, None),
    ("3000 soldiers killed", 3000.0, 3000.0, None),
    ("3k soldiers killed", 3000.0, 3000.0, None),
    ("1K soldiers killed", 1000.0, 1000.0, None),
    ("three thousand soldiers killed", 3000.0, 3000.0, None),
    ("one hundred and fifty soldiers killed", 150.0, 150.0, None),
    ("twenty-five soldiers killed", 25.0, 25.0, None),
    ("1.2 million soldiers killed", 1.2e6, 1.2e6, None),
    ("some 1,000 soldiers killed", 1000.0, 1000.0, "about"),
    ("over a thousand soldiers killed", 1000.0, 1000.0, "more_than"),
    ("a thousand soldiers killed", 1000.0, 1000.0, None),
    ("3,000+ soldiers killed", 3000.0, 3000.0, "more_than"),
    ("3,000 or more soldiers killed", 3000.0, 3000.0, "more_than"),
    ("roughly 3,000 soldiers killed", 3000.0, 3000.0, "about"),
    ("almost 3,000 soldiers killed", 3000.0, 3000.0, "nearly"),
    ("as many as 3,000 soldiers killed", 3000.0, 3000.0, "up_to"),
    ("1,000-1,200 soldiers killed", 1000.0, 1200.0, None),
    ("1,000 to 1,200 soldiers killed", 1000.0, 1200.0, None),
    ("between 1,000 and 1,200 soldiers killed", 1000.0, 1200.0, None),
    ("upwards of 1,000 soldiers killed", 1000.0, 1000.0, "more_than"),
]


@pytest.mark.parametrize(("text", "value", "high", "qualifier"), NUMBER_CASES)
def test_number_forms(text: str, value: float, high: float, qualifier: str | None) -> None:
    fact = only(text, CASUALTY)
    assert (fact.value, fact.high, fact.qualifier) == (value, high, qualifier)


def test_between_range_keeps_its_words() -> None:
    assert only("between 1,000 and 1,200 soldiers killed", CASUALTY).text == (
        "between 1,000 and 1,200 soldiers killed"
    )


# -- money and gas ----------------------------------------------------------------------------

MONEY_CASES = [
    ("Biden Announces $2.5 Billion in Security Aid to Ukraine", 2.5e9, "USD", None),
    ("Austin pledges half a billion dollars more for Kyiv", 5e8, "USD", None),
    ("Washington adds two and a half billion dollars in weapons", 2.5e9, "USD", None),
    # other currencies keep their own code: Australian dollars are not USD
    ("A grant of A$3 million", 3e6, "AUD", None),
    ("CANADA DIGS DEEP: C$2bn for drones", 2e9, "CAD", None),
    ("Sweden's biggest Ukraine package yet: SEK 13.5bn", 13.5e9, "SEK", None),
    ("Sweden's 20th package: 9.7bn kronor of air defence", 9.7e9, "SEK", None),
    ("Denmark allocates 1.3 billion kroner for weapons", 1.3e9, "DKK", None),
    ("A $988m package", 988e6, "USD", None),
    ("A $988 million package", 988e6, "USD", None),
    ("ING said it will incur a loss of 650 million euros.", 650e6, "EUR", None),
    ("A €1.2bn loan", 1.2e9, "EUR", None),
    ("A £3bn deal", 3e9, "GBP", None),
    ("Samara Region Offers Record $40K Bonuses", 40e3, "USD", None),
    ("Some $35 billion is aimed at building small solar sites.", 35e9, "USD", "about"),
    ("Reform U.K. is Said to Land Over $1 Million", 1e6, "USD", "more_than"),
    ("Chip giant Nvidia shed nearly $600bn in market value", 600e9, "USD", "nearly"),
    ("A grant of US$5 million", 5e6, "USD", None),
    ("US unveil $2.5 bln weapons package for Ukraine", 2.5e9, "USD", None),
    ("Austin Rolls Out Half-Billion-Dollar Arms Tranche", 5e8, "USD", None),
    ("Belfast-built missiles for Kyiv as UK inks 1.6 billion pound deal", 1.6e9, "GBP", None),
    ("A grant of 20 million US dollars", 20e6, "USD", None),
]


@pytest.mark.parametrize(("text", "value", "unit", "qualifier"), MONEY_CASES)
def test_money(text: str, value: float, unit: str, qualifier: str | None) -> None:
    fact = only(text, MONEY)
    assert (fact.value, fact.high, fact.unit, fact.qualifier) == (value, value, unit, qualifier)
    assert facts_of(text, CASUALTY) == []


def test_money_range() -> None:
    fact = only("premiums of $3 to $5 per barrel", MONEY)
    assert (fact.value, fact.high) == (3.0, 5.0)


@pytest.mark.parametrize("text", [
    "A grant of HK$3 million",
    "500 pounds of explosives",  # weight, not sterling
    "drops 500 pounds of bombs",
])
def test_not_money(text: str) -> None:
    assert facts_of(text, MONEY) == []


GAS_CASES = [
    ("Moldova Approves 3M Cubic Meter Gas ‘Loan’ to Transnistria", 3e6, None),
    ("approximately 100 million cubic meters of LNG", 1e8, "about"),
    ("Transit of 15 bcm a year", 15e9, None),
    ("Transit of 15bcm a year", 15e9, None),
    ("Transit of 15 billion cubic metres a year", 15e9, None),
    ("Storage of 2 mcm", 2e6, None),
    ("Storage of 500,000 m3", 5e5, None),
]


@pytest.mark.parametrize(("text", "value", "qualifier"), GAS_CASES)
def test_gas_volume(text: str, value: float, qualifier: str | None) -> None:
    fact = only(text, GAS)
    assert (fact.value, fact.unit, fact.qualifier) == (value, "m3", qualifier)


def test_a_daily_rate_is_not_a_volume() -> None:
    fact = only("Deliveries of about 3 million cubic metres a day will start on Saturday.", GAS)
    assert (fact.value, fact.unit) == (3e6, "m3/day")
    assert format_fact(fact) == "about 3 million m³ a day"


def test_lng_tons_are_not_a_volume() -> None:
    text = "European ports received 17.8 million tons of LNG from Russia in 2024."
    assert extract_facts(text) == ()


# -- over the real corpus ------------------------------------------------------------------------

NORTH_KOREA = re.compile(r"north\s+korea|dprk|pyongyang|\bkpa\b", re.IGNORECASE)


@pytest.mark.skipif(not CORPUS.exists(), reason="the shared feed corpus is not here")
def test_whole_corpus() -> None:
    """Every title and description: no error, and every fact is sound and from its text."""
    stories = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]
    assert len(stories) > 2000
    north_korean = 0
    for story in stories:
        text = f"{story['title']}\n{story['description']}"
        facts = extract_facts(text)
        assert facts == extract_facts(text)  # deterministic
        for fact in facts:
            assert 0 < fact.value <= fact.high, (fact, text)
            assert fact.text in html.unescape(text), (fact, text)
            if fact.kind is CASUALTY and fact.subject == "north_korean":
                assert NORTH_KOREA.search(text), (fact, text)
                north_korean += 1
    assert north_korean >= 5  # the corpus has that many North Korean casualty headlines


# -- hostile input ------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "casualties among " * 5000 + "3,000 " * 5000,
    "1," * 50000,
    "killed " + "9" * 100000,
    "North Korea suffered over " * 4000 + "1,000 casualties",
    "a" * 100000 + " killed 5",
])
def test_hostile_input_is_read_in_bounded_time(text: str) -> None:
    started = time.perf_counter()
    extract_facts(text)
    assert time.perf_counter() - started < 2.0


def test_empty_and_figureless_text() -> None:
    assert extract_facts("") == ()
    assert extract_facts("Putin apologizes without claiming responsibility for plane crash") == ()


# -- comparing figures ---------------------------------------------------------------------------

def casualty(value: float, *, high: float | None = None, subject: str | None = "north_korean",
             measure: str = "killed", qualifier: str | None = None,
             attribution: str | None = None, period: str | None = None) -> Fact:
    return Fact(kind=CASUALTY, value=value, high=value if high is None else high, unit="people",
                text=f"{value:g}", subject=subject, measure=measure, qualifier=qualifier,
                attribution=attribution, period=period)


def money(value: float, unit: str = "USD") -> Fact:
    return Fact(kind=MONEY, value=value, high=value, unit=unit, text=f"{value:g}")


def known(fact: Fact, source_id: str, published: datetime | None = None) -> KnownFact:
    return KnownFact(fact=fact, source_id=source_id, source_title=source_id, published=published)


SAME_FIGURE_CASES = [
    (casualty(3000), casualty(3000, qualifier="more_than"), True),
    (casualty(1000), casualty(1000, qualifier="about"), True),
    (casualty(1000), casualty(1005), False),  # a head count is exact
    (casualty(100, qualifier="at_least"), casualty(101), False),
    (money(1e9), money(1.005e9), True),  # amounts within 1% are rounded differently
    (casualty(1000), casualty(1100), False),
    (casualty(1000, high=1200), casualty(1100), True),  # inside the range
    (casualty(1000, high=1200), casualty(1300), False),
    (casualty(3000, measure="killed_or_wounded"), casualty(3000, measure="casualties"), True),
    (casualty(3000, measure="killed"), casualty(3000, measure="wounded"), False),
    (casualty(3000, subject="russian"), casualty(3000, subject="north_korean"), False),
    (casualty(3000, subject=None), casualty(3000, subject="north_korean"), True),
    (money(2.5e9), money(2.5e9, "EUR"), False),
    (money(2.5e9), casualty(2.5e9), False),
    # an amount told to two significant digits is the exact one rounded, not one told to one
    (money(2.5e9), money(2.47e9), True),
    (money(5e8), money(4.8e8), False),
    (money(1.25e9), money(1.22e9), False),
]


@pytest.mark.parametrize(("a", "b", "same"), SAME_FIGURE_CASES)
def test_same_figure(a: Fact, b: Fact, same: bool) -> None:
    assert same_figure(a, b) is same
    assert same_figure(b, a) is same


def test_same_figure_across_extracted_wordings() -> None:
    [one_k] = facts_of("Around 1K North Korean Soldiers Killed Fighting for Russia", CASUALTY)
    [thousand] = facts_of("About 1,000 North Koreans killed fighting Ukraine", CASUALTY)
    [three_hundred] = facts_of("Around 300 North Korean Soldiers Killed", CASUALTY)
    assert same_figure(one_k, thousand)
    assert not same_figure(one_k, three_hundred)


def test_closest_known_needs_the_same_family_then_nearest_value() -> None:
    new = casualty(4000, measure="casualties")
    same_family_far = known(casualty(1100, measure="casualties"), "officials")
    same_family_near = known(casualty(3000, measure="killed_or_wounded"), "zelenskyy")
    other_family_nearer = known(casualty(3900, measure="killed"), "killed")
    other_subject = known(casualty(4000, measure="casualties", subject="russian"), "russia")
    other_kind = known(money(4000), "money")
    choices = [other_kind, other_subject, other_family_nearer, same_family_far, same_family_near]
    assert closest_known(new, choices) == same_family_near
    # "3,900 killed" is no previous figure for "4,000 casualties".
    assert closest_known(new, [other_family_nearer, other_subject]) is None
    assert closest_known(casualty(4000, measure=None), [other_family_nearer]) == \
        other_family_nearer
    assert closest_known(new, [other_subject, other_kind]) is None
    assert closest_known(new, []) is None


def test_closest_known_tie_goes_to_the_latest() -> None:
    new = casualty(2000)
    older = known(casualty(1000), "older", datetime(2025, 1, 1, tzinfo=UTC))
    newer = known(casualty(3000), "newer", datetime(2025, 1, 10, tzinfo=UTC))
    undated = known(casualty(1000), "undated")
    assert closest_known(new, [older, undated, newer]) == newer


DESCRIBE_CASES = [
    (casualty(4000), casualty(3000), "3,000 → 4,000, +33%"),
    (casualty(3000), casualty(4000), "4,000 → 3,000, -25%"),
    (casualty(1005), casualty(1000), "1,000 → 1,005, +0.5%"),
    (casualty(1000), casualty(1000), "1,000 → 1,000, unchanged"),
    (casualty(1200, high=1400), casualty(1000), "1,000 → 1,200–1,400, +30%"),
    (money(3e9), money(2.5e9), "$2.5 billion → $3 billion, +20%"),
]


@pytest.mark.parametrize(("new", "old", "described"), DESCRIBE_CASES)
def test_describe_change(new: Fact, old: Fact, described: str) -> None:
    assert describe_change(Change(new=new, previous=known(old, "before"))) == described


def test_describe_first_figure() -> None:
    assert describe_change(Change(new=casualty(4000), previous=None)) == "4,000 (first figure)"


FORMAT_CASES = [
    (casualty(3000, measure="killed_or_wounded", qualifier="more_than", attribution="Zelenskyy"),
     "more than 3,000 North Korean killed or wounded — Zelenskyy"),
    (casualty(1000, measure="casualties", qualifier="more_than", period="in just one week"),
     "more than 1,000 North Korean casualties in just one week"),
    (casualty(10, subject=None, qualifier="at_least"), "at least 10 killed"),
    (money(2.5e9), "$2.5 billion"),
    (money(650e6, "EUR"), "€650 million"),
    (money(40e3), "$40,000"),
    (Fact(kind=GAS, value=1e8, high=1e8, unit="m3", text="x"), "100 million m³"),
]


@pytest.mark.parametrize(("fact", "formatted"), FORMAT_CASES)
def test_format_fact(fact: Fact, formatted: str) -> None:
    assert format_fact(fact) == formatted


def test_format_extracted_seed() -> None:
    assert format_fact(only(SEED_ZELENSKYY, CASUALTY)) == (
        "more than 3,000 North Korean killed or wounded — "
        "President Volodymyr Zelenskyy of Ukraine"
    )


def test_absurd_figures_are_not_read() -> None:
    # 400 digits would be an infinite float, which JSON (and Redis records) cannot carry.
    assert extract_facts("North Korea says " + "9" * 400 + " soldiers were killed") == ()


def test_a_total_does_not_reach_across_another_measure() -> None:
    facts = extract_facts("Seoul Puts North Korean Dead At Three Hundred, Wounded At "
                          "Twenty-Seven Hundred")
    assert [(f.value, f.measure) for f in facts] == [(300.0, "dead"), (2700.0, "wounded")]
    # "the dead" is not what "casualties at about 4,700" counts, nor the wounded a total
    facts = extract_facts("Seoul updated its count of the dead while keeping overall "
                          "casualties at about 4,700. Some 300 killed and 2,700 wounded "
                          "brings the total to about 3,000.")
    assert [(f.value, f.measure) for f in facts] == [
        (4700.0, "casualties"), (300.0, "killed"), (2700.0, "wounded")]


def test_whom_the_troops_fight_for_is_not_whose_the_wounded_are() -> None:
    facts = facts_of("At least 100 North Korean soldiers have died fighting for Russia and "
                     "nearly 1,000 have been wounded, a lawmaker said.", CASUALTY)
    assert [(f.value, f.subject) for f in facts] == [(100.0, "north_korean"),
                                                     (1000.0, "north_korean")]


def test_a_south_korean_kim_does_not_speak_for_the_north() -> None:
    (fact,) = extract_facts("Defence Minister Kim Yong-hyun said 20 soldiers were killed")
    assert fact.subject is None


def test_a_multiplier_is_not_a_count() -> None:
    assert not extract_facts("The count of North Koreans killed is more than three times its "
                             "April figure.")


def test_a_price_with_four_characters_is_read_not_crashed_on() -> None:
    facts = extract_facts("Gas prices creep higher\nA gallon of regular rose to about $3.25.")
    assert [(f.value, f.unit) for f in facts] == [(3.25, "USD")]
