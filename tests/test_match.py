"""Rules judge stories: keywords first, then novelty against what is already known."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from worker.config import DEFAULT_COVERAGE, DEFAULT_RULES
from worker.coverage import load_articles, names
from worker.match import TermIndex
from worker.pipeline import Monitor
from worker.records import Story
from worker.rules import load_rules
from worker.state import MemoryState

T0 = datetime(2025, 1, 10, 9, tzinfo=UTC)


def story(title: str, summary: str = "", hours: float = 0, n: int = 0) -> Story:
    return Story(id=f"s{n}-{abs(hash(title)) % 10**8}", feed_url="https://wire.example/rss",
                 feed_title=f"Wire {n}", title=title, link=f"https://wire.example/{n}/{hash(title)}",
                 published=T0 + timedelta(hours=hours), summary=summary)


@pytest.fixture
def monitor() -> Monitor:
    return Monitor(load_rules(DEFAULT_RULES), load_articles(DEFAULT_COVERAGE), MemoryState())


def fired(monitor: Monitor, *stories: Story) -> list[list[str]]:
    return [[a.rule_id for a in result.alerts]
            for result in monitor.process_stories(stories, now=T0)]


def reasons(monitor: Monitor, item: Story) -> dict[str, str]:
    return {v.rule_id: v.reason for v in monitor.assess(item, T0).verdicts}


def test_terms_match_on_word_boundaries_and_prefixes() -> None:
    index = TermIndex(["gas", "casualt*", "north korea*", "tear gas"])
    assert index.find("North Korean casualties rise") == {"north korea*", "casualt*"}
    assert index.find("Gaslighting and degas") == frozenset()
    assert index.find("Police fire TEAR  gas") == {"gas", "tear gas"}


def test_a_new_figure_alerts_with_the_change_from_the_closest_known(monitor: Monitor) -> None:
    results = monitor.process_stories(
        [story("Nearly 4,000 North Korean troops killed or wounded, Zelenskyy says")], now=T0)
    (alert,) = results[0].alerts
    assert alert.rule_id == "casualty-figure"
    (change,) = alert.changes
    assert change.new.value == 4000
    assert change.previous is not None and change.previous.fact.value == 3000
    assert change.previous.source_id == "000_cec66fe4180fa49a"


@pytest.mark.parametrize("title", [
    "Zelenskyy: more than 3,000 North Korean troops killed or wounded",
    "South Korea sticks to estimate of at least 1,100 North Korean casualties",
    "North Korea suffered over 1,000 casualties in a week, White House says",
])
def test_repeating_a_known_figure_stays_silent(monitor: Monitor, title: str) -> None:
    assert fired(monitor, story(title)) == [[]]
    assert reasons(monitor, story(title))["casualty-figure"].startswith("repeats a known figure")


@pytest.mark.parametrize("title", [
    "Russia lost 1,500 troops in a day, Ukraine's general staff says",
    "North Korea sent 1,500 more troops to Kursk",
    "Over 10,000 North Korean troops remain in Russia, Seoul says",
    "North Korea launches missiles that travelled up to 250km",
])
def test_other_forces_deployments_and_other_numbers_stay_silent(monitor: Monitor,
                                                                title: str) -> None:
    assert fired(monitor, story(title)) == [[]]


def test_an_alerted_figure_becomes_known(monitor: Monitor) -> None:
    first = story("Nearly 4,000 North Korean troops killed or wounded, Zelenskyy says")
    again = story("North Korean casualties approach 4,000, Kyiv says", hours=5, n=1)
    assert fired(monitor, first, again) == [["casualty-figure"], []]


def test_a_new_package_alerts_and_its_follow_ups_do_not(monitor: Monitor) -> None:
    results = fired(
        monitor,
        story("US announces $500 million weapons package for Ukraine",
              "The Pentagon announced air defence interceptors for Ukraine."),
        story("Pentagon details the $500 million Ukraine package",
              "The $500 million package announced on Thursday includes interceptors.", 3, 1),
        story("Denmark announces new military aid package for Ukraine",
              "Denmark will fund artillery ammunition for Ukraine.", 100, 2),
    )
    assert results == [["aid-package"], [], ["aid-package"]]


@pytest.mark.parametrize(("title", "why"), [
    ("US to announce more Ukraine aid package at Ramstein", "forecast"),
    ("Final weapons package for Ukraine to be unveiled on Thursday", "forecast"),
    ("Why did Ukraine halt the flow of Russian gas to Europe?", "asks or explains"),
    ("What next for Russian gas transit deal: 5 key questions", "asks or explains"),
    ("Allied Defense Chiefs Meet in Brussels; New Ukraine Arms Pledges Expected", "forecast"),
    ("TRUMP: We'll send Patriots to Ukraine - and Europe will pay", "forecast"),
])
def test_forecasts_and_explainers_are_not_developments(monitor: Monitor, title: str,
                                                       why: str) -> None:
    verdicts = reasons(monitor, story(title))
    assert any(why in reason for reason in verdicts.values()), verdicts
    assert fired(monitor, story(title)) == [[]]


@pytest.mark.parametrize("title", [
    "Kenya police fire tear gas at protest",
    "India clears toxic waste from Bhopal gas leak site",
    "Aid agencies appeal for $4 billion humanitarian package for Sudan",
    "US approves $8 billion arms package for Israel",
])
def test_unrelated_gas_and_aid_stories_stay_silent(monitor: Monitor, title: str) -> None:
    assert fired(monitor, story(title)) == [[]]


def test_a_story_restating_earlier_coverage_is_silent(monitor: Monitor) -> None:
    restated = story("Ukraine receives first US LNG cargo",
                     "DTEK confirmed the delivery of about 100 million cubic meters of LNG.")
    assert fired(monitor, restated) == [[]]
    assert "repeats a known figure" in reasons(monitor, restated)["gas-deal"]


def test_the_same_story_from_another_outlet_is_listed_not_alerted(monitor: Monitor) -> None:
    first = story("Ukraine says it captured two North Korean soldiers in Kursk",
                  "Two wounded North Korean soldiers were captured.", 0, 1)
    second = story("Ukraine says it captured two North Korean soldiers in Russia's Kursk",
                   "Two North Korean soldiers were captured in Kursk, Kyiv said.", 2, 2)
    results = monitor.process_stories([first, second], now=T0)
    assert [len(r.alerts) for r in results] == [1, 0]
    assert results[1].duplicate_of == first.id
    assert monitor.outlets(results[0].alerts[0]) == ("Wire 1", "Wire 2")


@pytest.mark.parametrize("title", [
    "Moldova faces energy crisis as flow of Russian gas ends",
    "Austria says gas supply is secure despite end of Ukraine transit",
])
def test_an_event_told_as_background_is_not_a_development(monitor: Monitor, title: str) -> None:
    assert fired(monitor, story(title)) == [[]]
    assert "no event" in reasons(monitor, story(title))["gas-deal"]


@pytest.mark.parametrize("title", [
    "Breakaway region without heat since Moscow cut off gas supplies",
    "Radiators warm again in Tiraspol after gas loan",
])
def test_a_headline_naming_the_matter_only_as_background_reports_a_consequence(
        monitor: Monitor, title: str) -> None:
    summary = "Homes began receiving heat after the first gas volumes arrived."
    assert fired(monitor, story(title, summary)) == [[]]
    assert "only as background" in reasons(monitor, story(title, summary))["gas-deal"]


def test_the_same_event_told_as_news_is_one(monitor: Monitor) -> None:
    assert fired(monitor, story("Gazprom cuts off gas supplies to Moldova")) == [["gas-deal"]]


def test_names_are_proper_names_by_their_first_letters() -> None:
    # a country by any of its words, even first in a sentence
    assert names("Hungary's MVM signs deal to buy Azerbaijani gas from SOCAR") == {
        "hungary", "mvm", "azerbaijan", "soca"}
    assert names("Denmark funds howitzers\nCopenhagen will spend 2.9 billion kroner") == {
        "denmark"}
    assert names("The US and the EU") == {"us", "eu"}
    # a first word may be capitalised for grammar's sake; titles are not names
    assert names("Heating returns to Tiraspol homes") == {"moldova"}
    assert names("Belgium pledges €1 billion in military aid\nPrime Minister Bart De Wever "
                 "announced the money during a visit to Kyiv.") == {
        "belgium", "bart", "de", "weve", "ukraine"}
    # a title-case headline's capitals say nothing; a word also in lower case is no name
    assert names("A Gas Cutoff Sends Shivers Through a Breakaway Region\nWithout gas, "
                 "Tiraspol's leader said the region's homes had no heating.") == {"moldova"}
    # capitals that shout, and abbreviated months, are no names
    assert names("THAT'S IT, VLAD! Ukraine turns off Putin's gas tap") == {"ukraine", "russia"}
    assert names("PIPES RUN DRY: Putin's gas stops flowing through Ukraine") == {
        "russia", "ukraine"}
    assert names("TAPS OFF! Vlad's gas no longer flows across Ukraine") == {"russia", "ukraine"}
    # a leader names the country, but a US president tells whose package it is
    assert names("In Moscow, Prime Minister Robert Fico met Putin") == {"russia", "slovakia"}
    assert names("The last package of Biden's") == {"bide"}
    assert names("In his last meeting, Austin urged allies to go on after Jan. 20.") == {"aust"}
    # "U.S." ends no sentence: this title-case headline's capitals stay no names
    assert names("Netherlands to Fund $500 Million U.S. Weapons Package for Ukraine") == {
        "netherlands", "ukraine"}
    # a headline's label in capitals is no acronym
    assert names("LIVE: Gazprom halts transit via Ukraine") == {"ukraine"}
    # a currency's code is money, not a name
    assert names("Spain pledges EUR 1bn in military aid to Ukraine for 2025") == {
        "spain", "ukraine"}
    # a country after "in" is where it happened, not whom it is about
    assert names("The drawdown includes air defense missiles, the secretary said in Germany.") \
        == set()


#: A development, then a later report of it or of another: the rules each should fire on.
SECOND_REPORTS = [
    pytest.param(
        story("Pentagon announces $500 million weapons package for Ukraine",
              "The drawdown includes HIMARS rounds and drones."),
        story("Another half billion: Washington sends $500m more in weapons to Kyiv",
              "Rockets, drones and Humvees are in the batch.", hours=6, n=1),
        [["aid-package"], []],
        id="another half billion the same day is the same package"),
    pytest.param(
        story("Netherlands to fund $500 million package of US weapons for Ukraine",
              "The Dutch will pay for Patriot parts under NATO's PURL scheme."),
        story("Germany Funds $500 Million PURL Package for Ukraine",
              "Berlin will pay for US equipment, the German Defense Ministry said, after the "
              "first Dutch contributions.", hours=24 * 8, n=1),
        [["aid-package"], ["aid-package"]],
        id="names in a background clause are not whom the story is about"),
    pytest.param(
        story("Flows at Sudzha hit zero: Russian gas transit via Ukraine ends after 50 years",
              "Gazprom and Ukraine's GTSOU confirmed flows stopped at 07:00."),
        story("Russian gas flows to Europe via Ukraine halted - energy ministry",
              "Ukraine's energy ministry confirmed that transit ended this morning.",
              hours=3, n=1),
        [["gas-deal"], []],
        id="a same-day report naming no parties follows up the development"),
    pytest.param(
        story("UK announces GBP 500m air defence package for Ukraine at Ramstein",
              "Healey said the package funds radars and missiles."),
        story("UK tops up Ukraine package with extra GBP 150m for drones, Healey says",
              "The extra money comes on top of Thursday's GBP 500m.", 20, 1),
        [["aid-package"], ["aid-package"]],
        id="an extra amount on top of a package is a new package"),
    pytest.param(
        # "BANS" is the halt, not a party the agreement did not name
        story("EU institutions strike deal ending Russian gas imports by autumn 2027",
              "The agreement bans new contracts for Russian pipeline gas and LNG."),
        story("Brussels BANS Putin's gas - but not till 2027",
              "Hungary and Slovakia furious at deal.", 12, 1),
        [["gas-deal"], []],
        id="a shouted event word is no name"),
    pytest.param(
        # the first headline names OMV, the second Austria, which the first told of
        story("OMV walks away from Gazprom contract running to 2040",
              "Austria's OMV said it had ended its contract with Gazprom Export running to "
              "2040."),
        story("Austria ends Kremlin gas contract, households told heating is safe",
              "Vienna's energy giant says it is done with Gazprom.", 36, 1),
        [["gas-deal"], []],
        id="the same days report naming whom the development told of follows it up"),
    pytest.param(
        story("At His Last Ramstein, Austin Rolls Out $500 Million in Air Defense, F-16 Gear",
              "The drawdown includes air defense missiles, the defense secretary said in "
              "Germany."),
        story("Berlin Signs Up for PURL With $500 Million in American Air Defense for Kyiv",
              "Berlin joins the NATO-run purchase list with a package of air defense.",
              24 * 200, 1),
        [["aid-package"], ["aid-package"]],
        id="the same amount from a donor where the first was told is another package"),
    pytest.param(
        # the first headline names Sudzha; the same day's report names Slovakia and Moldova
        story("Sudzha goes quiet: Russian gas transit through Ukraine halted at 07:00 Kyiv time",
              "Gazprom said flows to Slovakia and Austria stopped; Naftogaz confirmed."),
        story("Russian gas transit via Ukraine to Europe ends after five decades",
              "Gazprom said it had stopped pumping gas through Ukraine; Slovakia and Moldova "
              "are the most exposed.", 4, 1),
        [["gas-deal"], []],
        id="the same days report naming other places follows up the halt"),
    pytest.param(
        story("Netherlands to fund $500 million package of US weapons for Ukraine",
              "The Dutch will pay for Patriot parts under NATO's PURL scheme."),
        story("Nordic trio chips in $500m to buy US weapons for Kyiv via NATO list",
              "The Nordic countries are the second group to buy American weapons for Kyiv.",
              hours=24, n=1),
        [["aid-package"], ["aid-package"]],
        id="the Nordic countries, a party of their own, chip in the same amount the next day"),
    pytest.param(
        story("Russian gas stops flowing through Ukraine to Europe",
              "Gazprom said it had stopped pumping gas through Ukraine at 08:00 Moscow time."),
        story("Ukraine halts Russian gas transit as deal expires; Slovakia, Austria lose route",
              "Flows stopped on New Year's morning, Gazprom and Ukraine's energy ministry "
              "confirmed.", hours=2, n=1),
        [["gas-deal"], []],
        id="the same days report whose headline adds the countries hit follows up the halt"),
    pytest.param(
        story("EU agrees to phase out Russian gas imports by end of 2027",
              "Council and Parliament negotiators reached a provisional deal overnight."),
        story("EU seals deal on Russian gas exit; Budapest and Bratislava object",
              "Hungary and Slovakia say they will challenge the phase-out agreed overnight.",
              hours=3, n=1),
        [["gas-deal"], []],
        id="the same days deal whose headline adds the objecting countries follows it up"),
    pytest.param(
        story("EU agrees to phase out Russian gas imports by end of 2027",
              "Council and Parliament negotiators reached a provisional deal overnight."),
        story("BYE BYE, PUTIN'S GAS: Brussels strikes deal to end imports",
              "EU negotiators agreed overnight that Russian gas will be banned by 2027.",
              hours=5, n=1),
        [["gas-deal"], []],
        id="Brussels is the EU"),
    pytest.param(
        story("Sudzha falls silent: Russian pipeline gas stops crossing Ukraine",
              "Flows at the Sudzha metering station, built in Soviet times, stopped at 08:00."),
        story("Gas transit through Ukraine halted, Gazprom confirms",
              "Energy minister Herman Halushchenko called it historic; Slovakia and Austria "
              "said they had other routes.", hours=2, n=1),
        [["gas-deal"], []],
        id="the same days report quoting other people in its summary follows up the halt"),
]


@pytest.mark.parametrize(("first", "second", "expected"), SECOND_REPORTS)
def test_a_second_report_follows_up_the_first_or_not(
        monitor: Monitor, first: Story, second: Story, expected: list[list[str]]) -> None:
    assert fired(monitor, first, second) == expected


def test_a_development_of_other_parties_is_not_a_follow_up(monitor: Monitor) -> None:
    results = fired(
        monitor,
        story("Ukraine's Naftogaz buys US LNG cargo through Poland's Orlen",
              "Naftogaz said the cargo would be delivered via Orlen's terminal."),
        story("Hungary's MVM signs deal to buy Azerbaijani gas",
              "MVM said it had signed an agreement with SOCAR for deliveries.", 24, 1),
        story("Poland's Orlen says second US LNG cargo for Naftogaz is on its way",
              "The cargo bought by Naftogaz will be delivered via Orlen's terminal.", 30, 2),
    )
    assert results == [["gas-deal"], ["gas-deal"], []]


@pytest.mark.parametrize(("title", "summary", "why"), [
    ("Heating and hot water return to Tiraspol homes",
     "Heating was restored after gas supplies resumed.", "about something else"),
    ("Fico repeats threat to cut gas transit to Ukraine", "", "more of the same"),
    ("Fico threatens to cut gas transit to Ukraine", "", "forecast"),
    ("Italy keeps military aid to Ukraine flowing through 2025",
     "Rome has extended its commitment to supplying Kyiv.", "more of the same"),
])
def test_consequences_threats_and_continuations_are_not_developments(
        monitor: Monitor, title: str, summary: str, why: str) -> None:
    verdicts = reasons(monitor, story(title, summary))
    assert any(why in reason for reason in verdicts.values()), verdicts
    assert fired(monitor, story(title, summary)) == [[]]


def test_the_same_amount_from_another_donor_weeks_later_is_a_new_package(
        monitor: Monitor) -> None:
    results = fired(
        monitor,
        story("Spain to give Ukraine €1 billion in military aid this year",
              "Prime Minister Pedro Sánchez said Spain would provide €1bn of military aid."),
        story("US adds €1 billion in military aid for Kyiv",
              "Washington announced €1 billion for Ukraine's forces, officials said.", 2, 1),
        story("Belgium pledges €1 billion in military aid for 2025",
              "Prime Minister Bart De Wever announced the money during a visit to Kyiv.",
              24 * 40, 2),
    )
    # the same amount within the follow-up window is the same package, however named
    assert results == [["aid-package"], [], ["aid-package"]]


@pytest.mark.parametrize(("title", "summary", "why"), [
    ("Putin speaks on the gas transit contract with Ukraine",
     "He said there was no chance of a new transit agreement before the current one expires "
     "on 31 December.", "no event"),
    ("First Australian Abrams tanks reach Ukraine",
     "The tanks are part of the package Canberra announced last October.", "no event"),
    ("What Britain has pledged Ukraine in the 100-year pact",
     "From the air defence systems announced in Kyiv to £3 billion a year in military aid.",
     "asks or explains"),
    ("Trump pauses US military aid to Ukraine", "All deliveries are on hold.", "refusal"),
    ("Trump says US will send more defensive weapons to Ukraine",
     "The president gave no details of what would be sent.", "no result"),
    ("US resumes military aid deliveries to Ukraine",
     "Washington said it would resume deliveries of weapons already approved.", "resumes"),
    ("Tiraspol rejects EU-backed gas offer",
     "Transnistria turned down Chisinau's proposal to buy gas supplies on European markets.",
     "refusal"),
    ("US and Ukraine sign minerals deal",
     "The fund is fed by revenue from Ukrainian resources; future military aid could count.",
     "about something else"),
    ("Three killed in Russian drone attack on Ukraine's Kyiv region",
     "Ukraine also sends volley of drones into Russia.", "something else"),
    # attack reports share the weapons' words
    ("Russia sends volley of drones at Ukraine's air defences",
     "Three people were killed in the Kyiv region.", "volley"),
    ("Brussels pushes back roadmap to end Russian gas imports",
     "The Commission has delayed publishing its plan to phase out Russian gas.", "delay"),
    ("Kyiv and Bratislava fail to agree on Azerbaijani gas transit",
     "Talks on sending Azerbaijani gas through Ukraine ended without a deal.", "no result"),
    ("Scholz blocks €3 billion in extra military aid for Ukraine",
     "The chancellor has refused to approve an additional military aid package.", "refusal"),
    ("Protesters demand gas supplies from Moldova",
     "Demonstrators chanted and held signs reading 'let the gas in'.", "no event"),
    ("White House says another Ukraine security package is coming in the next few days",
     "Kirby said the administration would announce more military aid.", "forecast"),
    ("Russia says Ukrainian drones targeted TurkStream compressor station",
     "The ministry said gas deliveries continued normally.", "no event"),
])
def test_denied_dated_and_explained_events_are_not_developments(
        monitor: Monitor, title: str, summary: str, why: str) -> None:
    verdicts = reasons(monitor, story(title, summary))
    assert any(why in reason for reason in verdicts.values()), verdicts
    assert fired(monitor, story(title, summary)) == [[]]


def test_an_event_after_a_time_phrase_is_still_news(monitor: Monitor) -> None:
    # "after talks in Moscow" dates the news; it does not make it background
    item = story("Russia to supply 'humanitarian' gas to Transnistria, Krasnoselsky says",
                 "The region's leader said after talks in Moscow that Russia would provide gas.")
    assert fired(monitor, item) == [["gas-deal"]]


def test_a_halt_that_happened_does_not_restate_a_forecast_of_it(monitor: Monitor) -> None:
    forecast = story("Russian gas transit deal with Ukraine ends at year end",
                     "The Commission said the bloc could manage once the transit agreement "
                     "lapses on December 31.")
    happened = story("Russian gas transit through Ukraine ends after five decades",
                     "Flows of Russian gas into Slovakia fell to zero after the transit contract "
                     "expired overnight.", 40, 1)
    assert "forecast ('at year end')" in reasons(monitor, forecast)["gas-deal"]
    assert fired(monitor, happened) == [["gas-deal"]]


def test_a_story_restating_our_article_in_other_words_is_silent(monitor: Monitor) -> None:
    # the article: "Italy has extended its commitment to supplying Ukraine ... until
    # the end of 2025"
    item = story("Italy extends arms supplies to Ukraine through 2025",
                 "Rome's cabinet approved a decree allowing military equipment to keep "
                 "flowing to Kyiv until the end of next year.")
    assert "restates earlier coverage" in reasons(monitor, item)["aid-package"]


def test_gas_flowing_again_is_a_delivery_not_the_loan_that_came_before(
        monitor: Monitor) -> None:
    results = fired(
        monitor,
        story("Moldova lends Transnistria gas to keep heating on",
              "Moldovagaz will lend the region 3 million cubic metres of gas."),
        story("Gas reaches Transnistria again via Hungarian trader",
              "Deliveries resumed through a Hungarian company, financed with a "
              "Russian-arranged loan.", 90, 1),
        story("Transnistria gas supply restored, Tiraspol says",
              "Russian-financed gas began arriving via a Hungarian intermediary.", 93, 2),
    )
    assert results == [["gas-deal"], ["gas-deal"], []]


@pytest.mark.parametrize(("title", "summary"), [
    ("Netherlands pledges €400 million for drones and radars for Ukraine",
     "The Dutch defence ministry said the money would pay for interceptor drones."),
    ("Denmark funds Ukrainian-made howitzers in new package",
     "Copenhagen will spend DKK 2.9 billion on Bohdana howitzers for Ukraine's army."),
    ("Germany to send four more IRIS-T systems, Pistorius says",
     "Berlin will also deliver 30 Patriot interceptors, he told the Contact Group."),
])
def test_packages_named_by_what_they_hold_alert(monitor: Monitor, title: str,
                                                summary: str) -> None:
    assert fired(monitor, story(title, summary)) == [["aid-package"]]


def test_a_headline_sharing_three_words_with_our_article_is_not_a_restatement(
        monitor: Monitor) -> None:
    # the article: "... a gas transit deal with Russia, which has continued sending gas"
    item = story("Russia to send 'humanitarian' gas to Transnistria",
                 "Russia will supply gas to the breakaway region as humanitarian aid, its "
                 "leader said after talks in Moscow.")
    assert fired(monitor, item) == [["gas-deal"]]


def test_a_package_announced_beside_sanctions_is_still_a_package(monitor: Monitor) -> None:
    item = story("Canada to send 25 armoured vehicles to Ukraine",
                 "Trudeau said Canada would deliver 25 light armoured vehicles and announced "
                 "new sanctions on Russia.")
    assert fired(monitor, item) == [["aid-package"]]


def test_a_story_not_about_whom_a_development_named_is_not_its_follow_up(
        monitor: Monitor) -> None:
    results = fired(
        monitor,
        story("Gazprom to halt gas supplies to Moldova from January 1",
              "Gazprom said it would stop deliveries to Moldova over a disputed debt."),
        story("Russian gas transit through Ukraine stops",
              "Gazprom stopped pumping gas to Europe via Ukraine after the transit "
              "agreement expired.", 80, 1),
    )
    assert results == [["gas-deal"], ["gas-deal"]]


@pytest.mark.parametrize(("title", "summary"), [
    ("Azerbaijani gas starts flowing to Syria via Turkey",
     "Deliveries through the Kilis-Aleppo pipeline will reach 3.4 million cubic metres a day."),
    ("Gazprom and CNPC sign memorandum on Power of Siberia 2",
     "The pipeline would carry 50 billion cubic metres a year of Russian gas to China."),
    ("US lifts pause on military aid to Ukraine after Jeddah talks",
     "Washington agreed to resume deliveries after Ukraine accepted a ceasefire proposal."),
])
def test_other_continents_gas_and_resumed_deliveries_stay_silent(
        monitor: Monitor, title: str, summary: str) -> None:
    assert fired(monitor, story(title, summary)) == [[]]


def test_a_hyphenated_air_defense_package_is_a_package(monitor: Monitor) -> None:
    item = story("UK signs £1.6 billion deal for 5,000 air-defense missiles for Ukraine",
                 "UK Export Finance will pay for the missiles made in Belfast.")
    assert fired(monitor, item) == [["aid-package"]]


def test_a_second_cargo_of_a_known_volume_is_another_delivery(monitor: Monitor) -> None:
    # the article: DTEK's first US cargo, "approximately 100 million cubic meters of LNG"
    item = story("Second US LNG cargo for Ukraine unloads at Klaipeda",
                 "About 100 million cubic metres of US LNG will reach Ukraine, DTEK said, its "
                 "second cargo after the December delivery.")
    assert fired(monitor, item) == [["gas-deal"]]


def test_an_event_under_a_condition_is_not_news(monitor: Monitor) -> None:
    item = story("Moldova declares energy emergency",
                 "Lawmakers gave the government powers to limit gas use if Russian supplies "
                 "stop in January.")
    assert fired(monitor, item) == [[]]


def test_a_pledge_at_the_contact_group_is_a_package(monitor: Monitor) -> None:
    item = story("Germany pledges more than €2 billion for Ukraine at NATO Contact Group",
                 "Pistorius said the package includes Patriot interceptors and radars.")
    assert fired(monitor, item) == [["aid-package"]]


def test_a_visit_to_talk_gas_is_not_a_deal(monitor: Monitor) -> None:
    item = story("Fico meets Putin in Moscow to talk gas as transit deadline nears",
                 "He said Russia remained willing to supply gas, but the route would close.")
    assert fired(monitor, item) == [[]]


def test_two_deals_whose_headlines_name_different_companies_are_two(
        monitor: Monitor) -> None:
    # Both are Greek and about US LNG, but each headline names a company the other
    # story never does: two agreements, not one told twice.
    results = fired(
        monitor,
        story("Greek-led Atlantic-See signs 20-year US LNG deal with Venture Global",
              "The joint venture will buy US LNG for southeastern Europe and Ukraine."),
        story("Naftogaz and Greece's DEPA sign deal for US LNG this winter",
              "The agreement covers deliveries of US LNG through the Vertical Corridor.", 48, 1),
        story("Orban wins US sanctions exemption for Russian gas, agrees to buy US LNG",
              "Budapest secured an exemption and would buy US LNG.", 72, 2),
    )
    assert results == [["gas-deal"], ["gas-deal"], ["gas-deal"]]


def test_an_energy_purchase_deal_is_a_gas_deal_and_emergency_powers_are_not(
        monitor: Monitor) -> None:
    assert fired(monitor, story(
        "EU agrees to buy $750 billion of US energy under trade deal",
        "The deal commits the EU to purchase US LNG, oil and nuclear fuel.")) == [["gas-deal"]]
    emergency = story("Moldova's parliament approves 60-day energy state of emergency",
                      "Lawmakers approved powers to ration gas if Russian supplies stop.")
    assert fired(monitor, emergency) == [[]]
    assert "'emergency'" in reasons(monitor, emergency)["gas-deal"]
    # ... though a cut-off told beside one is news
    assert fired(monitor, story(
        "Gazprom to halt gas to Moldova from 1 January over disputed debt",
        "Moldova has already declared a state of emergency in the energy sector.", 1, 1)) == [
        ["gas-deal"]]


def test_a_volume_our_article_told_of_another_party_is_no_repeat(monitor: Monitor) -> None:
    # Our article's 100 million m³ is DTEK's US LNG cargo; Hungary's is another deal.
    hungary = story("Hungary's MVM signs deal for Azerbaijani gas deliveries in 2025",
                    "MVM said SOCAR would supply about 100 million m3 this year.")
    assert fired(monitor, hungary) == [["gas-deal"]]
    dtek = story("DTEK confirms US LNG cargo of about 100 million cubic metres",
                 "The shipment bought by DTEK reached Ukraine.")
    assert "repeats a known figure" in reasons(monitor, dtek)["gas-deal"]


def test_a_deal_of_another_buyer_with_the_same_seller_is_another_development(
        monitor: Monitor) -> None:
    # Slovakia's SPP is named in its headline and never in Naftogaz's deal with SOCAR.
    results = fired(
        monitor,
        story("Naftogaz signs first supply deal with Azerbaijan's SOCAR",
              "Ukraine's Naftogaz agreed test deliveries of Azerbaijani gas."),
        story("SPP agrees trial deliveries of Azerbaijani gas with SOCAR",
              "Slovakia's gas supplier signed an agreement with SOCAR for test volumes.", 96, 1),
    )
    assert results == [["gas-deal"], ["gas-deal"]]


def test_a_repeated_amount_ties_a_story_to_its_package_whatever_its_headline_names(
        monitor: Monitor) -> None:
    results = fired(
        monitor,
        story("Austin announces $500 million in new weapons for Ukraine at Ramstein",
              "The drawdown includes air defence missiles."),
        story("Pentagon's last Ukraine package under Biden: air defence missiles and F-16 support",
              "The $500 million drawdown leaves about $3.8 billion in authority unused.", 3, 1),
    )
    assert results == [["aid-package"], []]


def test_another_country_beside_a_known_amount_is_its_own_package(monitor: Monitor) -> None:
    uk = story("UK pledges £450m package at Ramstein for drones, radars and repairs",
               "Britain and Norway will fund drones and radars for Ukraine.")
    germany = story("BRITS AND GERMANS STEP UP: £450m from London, FOUR IRIS-T systems from Berlin",
                    "As well as Britain's £450m, Berlin will send four more IRIS-T air defence "
                    "systems to Ukraine.", hours=3, n=1)
    recap = story("Hegseth joins Ramstein by video as Britain and Germany lead new pledges",
                  "Britain's £450 million package and Germany's four IRIS-T systems for Ukraine "
                  "headlined the meeting.", hours=9, n=2)
    assert fired(monitor, uk, germany, recap) == [["aid-package"], ["aid-package"], []]


def test_a_gas_company_names_the_gas(monitor: Monitor) -> None:
    assert fired(monitor, story(
        "Moldova signs deal with Romania's Romgaz for winter supplies",
        "Energocom agreed to buy 200 million cubic metres.")) == [["gas-deal"]]


def test_a_figure_told_as_troops_lost_alerts(monitor: Monitor) -> None:
    assert fired(monitor, story("Pyongyang has lost some 2,000 troops in Russia, NIS estimates",
                                "Lawmakers were briefed on Tuesday.")) == [["casualty-figure"]]


def test_the_transit_halt_told_done_is_news_though_our_article_says_ukraine_ends_it(
        monitor: Monitor) -> None:
    # Our article: "... as Ukraine ends a significant gas transit deal with Russia, which
    # has continued sending gas": the perfect belongs to another clause.
    assert fired(monitor, story(
        "Russian gas transit through Ukraine ends",
        "Flows to Slovakia and Austria stopped at 06:00 after the contract expired.")) == [
        ["gas-deal"]]


def test_the_same_amount_from_another_country_days_later_is_another_package(
        monitor: Monitor) -> None:
    results = fired(
        monitor,
        story("Belgium pledges €1bn in military aid to Ukraine", "The package includes F-16s."),
        story("Spain to send €1 billion in military aid to Ukraine this year",
              "Madrid's package covers air defence.", 48, 1),
        story("Belgian €1bn package for Ukraine: F-16 support and drones",
              "Belgium will send the aid this year.", 50, 2),
    )
    assert results == [["aid-package"], ["aid-package"], []]


@pytest.mark.parametrize(("title", "summary", "why"), [
    ("US sends Ukraine $3.4 billion in budget support, apart from weapons",
     "The money pays salaries; weapons are funded separately.", "about 'budget support'"),
    ("Russian gas flow to Europe via Ukraine stopped: Who does it hurt?",
     "The end of transit may cause an energy crisis in several EU countries.",
     "same development"),
    ("Commission: roadmap to end Russian gas imports pushed back to March",
     "Brussels delayed its plan to phase out Russian gas.", "delay"),
    ("EU offers Moldova €250m for gas; Tiraspol holds out",
     "The money could buy gas for Transnistria; Tiraspol has not agreed.", "no result"),
])
def test_budget_support_follow_up_questions_delays_and_unaccepted_offers_stay_silent(
        monitor: Monitor, title: str, summary: str, why: str) -> None:
    first = story("Ukraine Ends Russian Gas Transit to Europe", "Flows stopped at 06:00.", -2, 9)
    results = monitor.process_stories([first, story(title, summary)], now=T0)
    assert not results[1].alerts
    assert any(why in v.reason for v in results[1].verdicts), results[1].verdicts


def test_an_approximate_amount_repeats_the_exact_one(monitor: Monitor) -> None:
    results = fired(
        monitor,
        story("Washington commits $988 million in long-term funding for drones for Ukraine",
              "The USAI money buys drones and HIMARS ammunition."),
        story("$988M drone cash locked in for Kyiv before Trump arrives",
              "Nearly $1 billion will buy drones for Ukraine.", 20, 1),
    )
    assert results == [["aid-package"], []]


def test_the_same_days_report_naming_other_officials_follows_up_the_development(
        monitor: Monitor) -> None:
    results = fired(
        monitor,
        story("Russian gas stops flowing through Ukraine as transit deal expires",
              "Flows at the Sudzha entry point fell to zero at 07:00."),
        story("Gas transit via Ukraine ends; Kyiv calls it a 'historic event'",
              "Energy Minister Herman Halushchenko said Ukraine had stopped the transit; "
              "Slovakia and Moldova are the most exposed.", 3, 1),
    )
    assert results == [["gas-deal"], []]


def test_the_transit_halt_after_a_notice_to_moldova_is_another_development(
        monitor: Monitor) -> None:
    # Both are halts told in the same days, and the halt's story names Moldova among
    # the countries exposed; its headline names other countries than the notice's.
    results = fired(
        monitor,
        story("Gazprom will cut off Moldova on 1 January, citing unpaid debt",
              "Moldovagaz disputes the debt."),
        story("Russian gas stops flowing through Ukraine after five decades",
              "Slovakia, Austria and Moldova are the most exposed.", 30, 1),
    )
    assert results == [["gas-deal"], ["gas-deal"]]


def test_the_same_agreement_told_as_a_halt_is_its_follow_up(monitor: Monitor) -> None:
    results = fired(
        monitor,
        story("EU energy ministers agree to phase out Russian gas by 2028",
              "Hungary and Slovakia voted against."),
        story("EU countries back phasing out Russian gas imports by start of 2028",
              "Ministers endorsed the position by qualified majority.", 3, 1),
    )
    assert results == [["gas-deal"], []]


def test_a_report_days_later_naming_the_same_parties_follows_up_however_it_ranks(
        monitor: Monitor) -> None:
    results = fired(
        monitor,
        story("Chisinau signs Russian-financed loan deal to buy gas for its power plant",
              "Moldova will borrow to pay for the plant's gas."),
        story("Transnistria to get gas from 1 February via Hungarian trader",
              "Deliveries will come through the Trans-Balkan route.", 60, 1),
        story("Gas reaches Transnistria again. Who is really paying for it?",
              "We look at the Russian-financed loan behind it and what it means for Chisinau.",
              100, 2),
    )
    assert results == [["gas-deal"], ["gas-deal"], []]


def test_the_same_amount_weeks_later_of_unnamed_parties_is_another_package(
        monitor: Monitor) -> None:
    # "another $2.5bn" the same day is the latest package told again, not a second one
    results = fired(
        monitor,
        story("US Announces $500 Million Weapons Package for Ukraine",
              "The drawdown includes HIMARS ammunition, before Jan. 20."),
        story("At Final Ramstein Meeting, Austin Unveils $500 Million Package",
              "The drawdown includes air defense missiles, before Jan. 20.", 24 * 28, 1),
        story("Austin's farewell: another $500m in arms for Kyiv",
              "The outgoing defence secretary pledged air defence missiles.", 24 * 28 + 6, 2),
    )
    assert results == [["aid-package"], ["aid-package"], []]


def test_the_same_days_report_of_a_deal_told_as_a_delivery_follows_it_up(
        monitor: Monitor) -> None:
    results = fired(
        monitor,
        story("Greece and Ukraine sign deal to ship US LNG to Ukraine this winter",
              "Naftogaz signed the agreement with Greek partners in Athens."),
        story("Zelensky in Athens: Ukraine to get American LNG through Greece",
              "US liquefied gas will go through Greek terminals to Ukraine.", 3, 1),
    )
    assert results == [["gas-deal"], []]


def test_the_same_days_report_repeating_a_package_amount_follows_it_up(
        monitor: Monitor) -> None:
    # it adds another amount (budget support), and writes "another" before the known one
    results = fired(
        monitor,
        story("Biden Administration Announces $2.5 Billion in Security Assistance for Ukraine",
              "The package pairs drawdown weapons with contracts."),
        story("US sends another $2.5bn in weapons to Ukraine before Biden leaves office",
              "The Treasury separately released $3.4 billion in budget support.", 3, 1),
    )
    assert results == [["aid-package"], []]


def test_packages_of_two_countries_on_the_same_day_are_two(monitor: Monitor) -> None:
    results = fired(
        monitor,
        story("Sánchez brings Kyiv a billion euros in military aid for this year",
              "Spain will provide the aid under its security agreement."),
        story("Trudeau, in Kyiv, Promises 25 Armored Vehicles",
              "Canada will send 25 light armoured vehicles to Ukraine.", 2, 1),
    )
    assert results == [["aid-package"], ["aid-package"]]


@pytest.mark.parametrize("title", [
    "Rome extends decree on arms for Ukraine through 2025",
    "Italy's Parliament Rubber-Stamps Another Year Of Arms For Kyiv",
])
def test_a_story_about_whom_our_article_already_told_the_event_restates_it(
        monitor: Monitor, title: str) -> None:
    summary = ("Lawmakers in Rome approved the decree allowing the government to keep sending "
               "military equipment to Ukraine until the end of 2025.")
    assert "restates earlier coverage" in reasons(monitor, story(title, summary))["aid-package"]


@pytest.mark.parametrize("title", [
    "Berlin to bankroll Ukrainian-made long-range weapons",
    "Germany to send two more Patriot launchers to Ukraine within days",
])
def test_packages_bankrolled_or_sent_within_days_alert(monitor: Monitor, title: str) -> None:
    assert fired(monitor, story(title, "The defence ministry announced it.")) == [
        ["aid-package"]]


#: Developments told in other words, each with the rule it should fire.
ALERTING = [
    ("Brussels adopts phase-out of Russian LNG",
     "The Council adopted the regulation that bans Russian LNG under short-term contracts.",
     "gas-deal"),
    ("Greece and Ukraine ink LNG supply pact",
     "DEPA and Naftogaz will ship US LNG via the Vertical Corridor this winter.",
     "gas-deal"),
    ("Slovakia's SPP gets first gas via TurkStream after Ukraine halt",
     "The company said volumes were arriving via Hungary.",
     "gas-deal"),
    ("Canada to donate 50 armoured vehicles to Ukraine",
     "Ottawa will also fund training.",
     "aid-package"),
    ("Denmark allocates 1.3 billion kroner for weapons for Ukraine",
     "The money will buy artillery and drones.",
     "aid-package"),
    ("Sweden's 18th military support package for Ukraine worth SEK 1.4 billion",
     "The package includes boats and ammunition.",
     "aid-package"),
    ("Biden Announces Nearly $2.5 Billion More for Ukraine's Military",
     "The package pairs weapons drawn from US stocks with contracts for air defense.",
     "aid-package"),
    ("Oslo more than doubles this year's Ukraine support to NOK 85 billion",
     "Most of the allocation goes to military support, including air defence, the rest to "
     "humanitarian needs.",
     "aid-package"),
    ("Naftogaz to import gas through Hungary after strikes on output",
     "Naftogaz has agreed with MVM to bring in gas via Beregdaroc.",
     "gas-deal"),
    ("Gazprom halts gas supplies to Moldova",
     "Deliveries stopped at 05:00.",
     "gas-deal"),
    ("Eustream and GTSOU: operators agree extra capacity for flows from Slovakia into Ukraine",
     "The operators signed an agreement raising firm capacity from May.",
     "gas-deal"),
    ("Orban Walks Away With Sanctions Waiver — And A US LNG Deal",
     "Hungary won an exemption from US sanctions on Russian gas and agreed to buy US LNG.",
     "gas-deal"),
    ("Pentagon Rushes $500 Million Weapons Package to Ukraine",
     "The drawdown includes HIMARS rockets.",
     "aid-package"),
    ("Germany Promises Four More IRIS-T Air Defense Systems To Kyiv",
     "Pistorius said Germany would deliver four further systems.",
     "aid-package"),
    ("Macron Announces €2 Billion Package: Mistral Missiles and AMX-10 Vehicles",
     "After talks with Zelenskyy, the French president detailed the new military aid.",
     "aid-package"),
    ("Berlin releases its €3 billion for Ukraine. What will it buy?",
     "The budget committee approved the extra military aid; most goes on air defence.",
     "aid-package"),
    ("100,000 Drones For Ukraine, Says Healey",
     "Britain will spend £350m on drones for Kyiv this year.",
     "aid-package"),
    ("US unveils nearly $2.5 billion in new weapons for Ukraine",
     "Separately, the Treasury said it would send $3.4 billion in budget support.",
     "aid-package"),
    ('"We will not leave Kyiv alone": Norway pledges NOK 3bn for air defence',
     "The money will buy Patriot missiles for Ukraine.",
     "aid-package"),
    ("Tiraspol gets Russian-paid gas from Saturday",
     "A Hungarian firm will deliver the gas via the Trans-Balkan route.",
     "gas-deal"),
    ("Orbán Leaves the White House With a US LNG Deal and a Waiver. Who Won?",
     "Hungary agreed to buy about $600 million of American LNG.",
     "gas-deal"),
    ("Pistorius brings €1.9bn in extra German military support to Kyiv",
     "Germany will add the money to its military assistance for Ukraine.",
     "aid-package"),
    ("Ignitis To Ship Gas To Ukraine Through Poland Under New Deal",
     "Lithuania's energy group will supply Naftogaz with regasified LNG.",
     "gas-deal"),
    ("Moscow promises 'humanitarian' gas to Transnistria",
     "Russia will supply gas to the region, Tiraspol's leader said.",
     "gas-deal"),
    ("Vertical Corridor: five operators launch 'Route 1' for LNG from Greece to Ukraine",
     "Grid operators will offer bundled capacity to move LNG to Ukraine.",
     "gas-deal"),
    ("Slovakia's SPP Keeps Gas Flowing Via Hungary",
     "Customers were supplied in full through an alternative route from Hungary.",
     "gas-deal"),
    ("Starmer in Kyiv: 'a hundred years' of friendship, and new kit for the front",
     "He promised Gravehawk air-defence systems and 150 artillery barrels.",
     "aid-package"),
    # our article tells of Starmer only in a clause on training
    ("Starmer Pledges Air Defence And 150 Artillery Barrels On Kyiv Visit",
     "Keir Starmer said Britain would supply more than 150 artillery barrels.",
     "aid-package"),
    ("NORDIC TRIO chip in $500M for American kit for Kyiv",
     "Denmark, Norway and Sweden will buy US weapons for Ukraine through NATO's scheme.",
     "aid-package"),
    ("Sánchez drops into Kyiv with a billion euros for the army",
     "Madrid will send €1bn in military aid this year.",
     "aid-package"),
    ("De Wever in Kyiv: Belgium Steps Up",
     "Belgium will provide €1 billion in military aid to Ukraine in 2025.",
     "aid-package"),
    ("German budget committee unblocks €3bn for Ukraine",
     "The committee approved the extra military aid, most of it for air defence.",
     "aid-package"),
    ("Ukrainian Drone Strike Wounds 40 North Korean Engineers Near Kursk",
     "The engineers were rebuilding a bridge, military intelligence said.",
     "casualty-figure"),
    ("Biden Approves Another $500 Million Drawdown as Ukraine Braces for Winter",
     "The package includes HIMARS rockets and drones.",
     "aid-package"),
    ("Pentagon Rolls Out $500 Million Weapons Package for Ukraine",
     "The drawdown includes HIMARS rockets and artillery ammunition.",
     "aid-package"),
    ("Nordic trio joins Nato scheme to arm Kyiv",
     "Sweden, Norway and Denmark will jointly fund $500m of American weapons for Ukraine.",
     "aid-package"),
    # a label, then the amount: no verb needed
    ("Sweden's biggest Ukraine package yet: SEK 13.5bn",
     "It covers air defence, artillery and drones.",
     "aid-package"),
    ("Pistorius: four more IRIS-T launchers and 30 Patriot missiles headed to Kyiv",
     "Germany made the pledge at the Contact Group.",
     "aid-package"),
    # a quoted sentence's "must" is no forecast
    ("Austin at his last Ramstein: 'The coalition must not falter'",
     "He announced a $500 million package of air defence missiles.",
     "aid-package"),
    ("GOTCHA: Ukraine captures two of Kim's soldiers alive in Kursk",
     "Zelenskyy posted photos of the pair.",
     "casualty-figure"),
    # a statement, a dash, then a question: judged by the statement
    ("OMV pulls the plug on its Gazprom contract – what does it mean for Austria?",
     "Austria's OMV said it was terminating its long-term supply agreement with Gazprom.",
     "gas-deal"),
    ("Serbia wins only a short extension from Gazprom, to 31 December",
     "Belgrade had hoped for a long-term contract.",
     "gas-deal"),
    ("Sweden drops a RECORD 13.5bn kronor package on Kyiv",
     "Think artillery ammo, air defence and boats.",
     "aid-package"),
    ("Senate panel OKs $400 million in weapons for Ukraine",
     "The money buys artillery shells and drones.",
     "aid-package"),
    ("Oslo adds NOK 2 billion for another air defence package",
     "The money goes to Ukraine's forces this winter.",
     "aid-package"),
    ("Ottawa Hands Kyiv Fresh C$200m Arms Boost",
     "'We must stand with Ukraine,' the minister said. Canada will send 400 drones.",
     "aid-package"),
    ("Gazprom to cut Moldova off from 1 January over debt",
     "Moldovagaz disputes the claim.",
     "gas-deal"),
    ("Moscow will fund gas for Transnistria",
     "Russian officials said they would pay for the region's supplies.",
     "gas-deal"),
    ("Serbia's Russian gas deal extended to March",
     "Belgrade secured supplies despite US sanctions against its oil company.",
     "gas-deal"),
    # the amount is the headline's label
    ("$2.5 Billion: Biden's Late Push of Weapons to Ukraine",
     "The package combines a $1.25 billion drawdown with $1.22 billion in contracts.",
     "aid-package"),
    ("UK to deliver 100,000 drones to Ukraine this year in £350m boost",
     "The defence secretary told the contact group.",
     "aid-package"),
    ("$500 Million Drawdown: Pentagon Lists HIMARS Rounds, Drones in Latest Ukraine Aid",
     "The package includes ammunition for HIMARS and drones.",
     "aid-package"),
    ("Austin's Ramstein Farewell Comes With a $500 Million Weapons Package",
     "The package includes air defense missiles.",
     "aid-package"),
    ("Austin Unveils $500 Million in Aid as He Chairs His Last Ramstein Session",
     "The package includes air defense missiles.",
     "aid-package"),
    # PURL buys US weapons for Ukraine only
    ("Netherlands adds €250m PURL package, plus F-16 munitions",
     "The Dutch government will finance US-made air-defence missiles.",
     "aid-package"),
    # a continuation with a new end is an extension
    ("Vucic: Srbijagas keeps Russian gas on old terms until end-September",
     "Srbijagas will keep receiving Russian gas via TurkStream for another four months.",
     "gas-deal"),
    ("Test batch of SOCAR gas crosses into Ukraine through Trans-Balkan pipeline",
     "Azerbaijani gas entered Ukraine through Bulgaria, Romania and Moldova.",
     "gas-deal"),
    ("Intelligence agency says N.Korea casualties in Russia reached about 7,000",
     "NIS told lawmakers the number rose since deminers were sent to Kursk.",
     "casualty-figure"),
    # an attack the live blog also reports does not make the pledge an attack report
    ("LIVE: Third anniversary of the invasion - leaders in Kyiv; Spain pledges €1bn in "
     "military aid", "11:40 - Sánchez announces €1bn of military aid. 09:30 - Overnight drone "
     "attack.", "aid-package"),
    # an amount in the label, or after "another", announces it
    ("STARMER'S £1.6BN MISSILE DEAL: 5,000 air defence rockets for Kyiv",
     "Belfast-made missiles for Ukraine paid with export finance.",
     "aid-package"),
    ("Another $500 Million Drawdown for Kyiv Before Inauguration Clock Runs Out",
     "The package contains HIMARS rockets and drones.",
     "aid-package"),
    ("NORDIC TRIO STUMP UP $486M for US arms to Kyiv",
     "Denmark, Norway and Sweden club together to buy American kit for Ukraine.",
     "aid-package"),
    ("Netherlands tops up PURL contribution with another €250m",
     "The extra money will buy Patriot interceptors.",
     "aid-package"),
    ("Canada Joins PURL With $500 Million for US Weapons",
     "Canada will contribute to NATO's mechanism buying American arms for Ukraine.",
     "aid-package"),
    ("First cargo under Greek deal reaches Ukraine",
     "Gas via Bulgaria and Romania.",
     "gas-deal"),
    ("Velke Kapusany reads zero: Russian transit via Ukraine ends at 08:00 Moscow time",
     "Gazprom said it had no possibility to ship gas via Ukraine.",
     "gas-deal"),
    ("Transit over: Russian gas no longer flowing through Ukraine to Europe",
     "Gazprom confirmed that deliveries through Ukraine ended at 08:00 Moscow time.",
     "gas-deal"),
    ("Moldova to lose Russian gas on New Year's Day, Gazprom notice says",
     "Transnistria, which receives almost all the gas, will be hit hardest.",
     "gas-deal"),
    ("Budapest locks in Engie LNG for a decade from 2028 in MVM contract",
     "It is Budapest's first long-term deal for non-Russian LNG.",
     "gas-deal"),
    # "falls silent" is no statistic; "did not give volumes" still tells a delivery
    ("Sudzha falls silent: Russian pipeline gas stops crossing Ukraine at 08:00 Moscow time",
     "Flows through the Sudzha entry point ended after five decades.",
     "gas-deal"),
    ("SPP says it now receives contracted gas at Hungarian border after Ukraine route shut",
     "The gas is delivered through TurkStream. It did not give volumes.",
     "gas-deal"),
    # ordering a package is announcing it
    ("Biden Orders Final $2.5 Billion Tranche of Weapons and Contracts for Ukraine",
     "The package combines a drawdown with contracts.",
     "aid-package"),
    # military aid, or a defence or drone package, is Ukraine's though the story never says
    ("Belgium will give €1 billion military aid in 2025, minister announce",
     "Francken says money for F-16 support, drones and demining.",
     "aid-package"),
    ("Netherlands announces €700 million drone and ammunition package on invasion anniversary",
     "The money would buy interceptor drones and 155mm shells.",
     "aid-package"),
    ("Oslo commits NOK 7bn to NASAMS missiles and radars for Kyiv",
     "Oslo will fund NASAMS missiles and radars.",
     "aid-package"),
    ("Nordic governments put up $500m for American arms package to Ukraine through NATO",
     "The package will be bought from American stocks.",
     "aid-package"),
    # a package whose contents are kept secret is still a package
    ("Helsinki approves 29th defence materiel package for Ukraine",
     "Finland will send equipment worth about €90 million, without naming the contents.",
     "aid-package"),
    ("Austin Closes Out Ramstein Tenure With $500 Million Ukraine Package",
     "The drawdown includes air defense missiles.",
     "aid-package"),
    ("Vucic: Belgrade keeps Russian gas terms six more months, to 30 September",
     "Serbia will keep receiving Russian gas via TurkStream.",
     "gas-deal"),
    ("EU ban on new Russian gas contracts comes into force",
     "From today, EU importers may not sign new contracts for Russian pipeline gas or LNG.",
     "gas-deal"),
    # a deal sealed, an amount put in, air defences in the plural
    ("Starmer seals £1.6bn deal for 5,000 air defence missiles for Ukraine",
     "The missiles will be built by Thales in Belfast.",
     "aid-package"),
    ("Dutch put €500m into NATO list to buy American arms for Kyiv",
     "The money will buy air defence components through NATO's list.",
     "aid-package"),
    ("STARMER'S £1.6BN BELFAST MISSILE BONANZA for Zelensky's air defences",
     "Starmer announces the deal, paid with UK export finance.",
     "aid-package"),
    # a package told without naming Ukraine, a package's total, missiles
    ("Germany to send four more IRIS-T air defence systems, Pistorius vows",
     "Berlin will deliver four IRIS-T SLM systems and 300 missiles, the defence minister said.",
     "aid-package"),
    ("Biden's Parting Arms Package for Kyiv Totals $2.5 Billion, White House Says",
     "The aid combines a drawdown of air defence interceptors with contracts.",
     "aid-package"),
    ("Belfast-built missiles for Kyiv: Starmer seals £1.6bn order for 5,000 LMMs",
     "Starmer announced the contract with Thales for lightweight multirole missiles.",
     "aid-package"),
    ("Healey unveils £450m drones-and-radars package, part-funded by Norway",
     "The package includes hundreds of thousands of drones and anti-tank mines.",
     "aid-package"),
    ("Azeri molecules reach Ukraine for the first time through Trans-Balkan pipe",
     "Naftogaz and SOCAR completed a test delivery through Bulgaria, Romania and Moldova.",
     "gas-deal"),
    ("Moscow to ship 'humanitarian' gas to Transnistria via Hungary",
     "Russia will provide gas to the breakaway region, routed through TurkStream and Hungary.",
     "gas-deal"),
    ("Greek LNG deal for Ukraine expanded with two extra cargoes",
     "DEPA and Naftogaz added two US LNG cargoes to the agreement signed in November.",
     "gas-deal"),
    # a contract torn up, gas arriving, a volume taken
    ("Austria's OMV tears up Gazprom Export contract that ran to 2040",
     "OMV said it was ending its gas supply agreement with Gazprom Export. The company said "
     "it could serve its customers from other sources.",
     "gas-deal"),
    ("SPP says Slovakia's January gas arriving via Hungary, volumes fully covered",
     "SPP said it had arranged replacement supplies entering through Hungary.",
     "gas-deal"),
    ("Szijjarto: MVM to take 2 bcm of Shell LNG over a decade, TurkStream flows stay",
     "Shell will supply about 2 billion cubic metres of gas over ten years from 2026.",
     "gas-deal"),
    ("First Azerbaijani gas flows into Ukraine via Trans-Balkan route",
     "Naftogaz said the test volumes from SOCAR crossed Bulgaria, Romania and Moldova.",
     "gas-deal"),
    ("MVM–Engie pact brings 400 mcm a year of LNG to Hungary from 2028",
     "The contract covers about 400 million cubic metres a year from 2028.",
     "gas-deal"),
    ("Transnistria to get Russian 'humanitarian' gas, Tiraspol says",
     "The breakaway region's leader said Moscow had agreed to send gas, routed through a "
     "European intermediary, to restart heating.",
     "gas-deal"),
    ("Slovakia's SPP says it is getting gas via Hungary after transit halt",
     "The state importer said it had arranged replacement volumes from Hungary.",
     "gas-deal"),
    ("Kim welcomes engineers home from Kursk, honours nine killed clearing mines",
     "KCNA said nine members of an engineering regiment died during a demining mission.",
     "casualty-figure"),
    # our article foresees the lapse only in a "when" clause; the story tells the halt as news
    ("Russian gas stops flowing through Ukraine as transit deal expires",
     "Gazprom said it had no technical or legal possibility to continue supplies via Ukraine "
     "from 08:00 Moscow time. Ukraine's energy ministry confirmed the halt.",
     "gas-deal"),
    ("Transit over: no Russian molecules cross Ukraine as of New Year's morning",
     "Gazprom said it had no legal basis to pump gas through Ukraine; flows at the Sudzha "
     "entry point fell to zero for the first time since the 1970s.",
     "gas-deal"),
    ("Sudzha flows hit zero: Russian gas transit across Ukraine is over",
     "Flows at the Sudzha entry point fell to zero as the contract expired.",
     "gas-deal"),
    ("Tiraspol U-turn: Moldova's Energocom begins pumping EU-paid gas into Transnistria",
     "The state trader began supplying about 3 million cubic metres a day to the region.",
     "gas-deal"),
]


@pytest.mark.parametrize(("title", "summary", "rule_id"), ALERTING)
def test_a_development_told_in_other_words_alerts(monitor: Monitor, title: str, summary: str,
                                                   rule_id: str) -> None:
    assert fired(monitor, story(title, summary)) == [[rule_id]]


#: Stories that report no development: reactions, statistics, pleas, proposals, offers.
SILENT = [
    ("Hungary and Slovakia reject EU plan to phase out Russian gas",
     "Budapest and Bratislava said they would oppose the plan."),
    ("EU imported record volume of Russian LNG in 2024",
     "Shipments rose to 17.5 million tonnes, according to ship-tracking data."),
    ("German €3bn aid for Ukraine stuck amid budget row",
     "Scholz and his rivals disagree on how to fund the weapons."),
    ("NATO chief urges allies to send more air defence to Ukraine",
     "Rutte said Kyiv needs more Patriots."),
    ("Washington and Kyiv Finally Sign Their Minerals Deal. Is New Military Aid Part of It?",
     "Future US military assistance could count as a contribution to the fund."),
    ("'A $90 billion weapons offer': Zelenskyy pitches Trump a mega arms deal",
     "Ukraine would buy US weapons including air defence. Nothing has been signed."),
    ("Trump Orders 90-Day Freeze on Foreign Aid. Does It Touch Ukraine's Weapons?",
     "An executive order signed on inauguration day pauses most foreign assistance."),
    ("Storage watch: EU gas stocks slide toward 60% in cold snap",
     "Traders cited the end of Russian transit via Ukraine as one factor."),
    ("Kyiv's winter gas bill: 4.4 billion cubes to buy after Russian blitz",
     "Ukraine must import gas after strikes on its output."),
    ("'Illegal': Budapest and Bratislava vow court fight over EU gas ban",
     "Hungary and Slovakia say they will sue over the phase-out."),
    ("Tiraspol says 'no thanks' to EU-backed gas offer",
     "Transnistria's leaders turned down a proposal to buy gas through Chisinau."),
    ("EU offers Moldova €250m energy support package",
     "The money helps pay for electricity imports and, if Tiraspol accepts, gas."),
    ("Brussels Dangles More US LNG Purchases in Tariff Talks",
     "The EU could buy more American LNG as part of a deal."),
    ("Italy keeps military aid to Ukraine flowing through 2025",
     "Rome has extended its commitment to supplying Kyiv."),
    ("Commission proposes law to ban Russian gas imports by end-2027",
     "The draft would bar new contracts; member states must still agree it."),
    ("Commission: roadmap to end Russian gas imports slips again",
     "The plan will not be presented before the spring."),
    ("Fico Fumes: Gas Transit Stop 'Costs Slovakia €500m a Year'",
     "He renewed his attack on Kyiv for letting the transit deal lapse."),
    ("Moldova Buys Power From Breakaway Region's Gas-Fired Plant Again",
     "Energocom agreed to keep buying electricity from the plant."),
    ("Naftogaz: biggest strike yet hits gas production in Kharkiv",
     "Ukraine will have to import more gas this winter."),
    ("Naftogaz: first-quarter imports highest since 2021",
     "Ukraine bought gas mainly through Hungary and Poland."),
    ("Council: 19th package adopted, Russian LNG banned from 2027",
     "The EU's latest sanctions phase out Russian LNG imports."),
    ("Hegseth at Ramstein: Europe Must Foot the Bill for Ukraine's weapons",
     "Europeans must provide most future aid, he said."),
    ("EU arms plan for Ukraine shrinks to a €5bn ammunition drive",
     "The plan to raise military aid for Ukraine was scaled back."),
    ("Italy renews decree allowing arms supplies to Ukraine through 2025",
     "Giorgia Meloni's cabinet approved a one-year extension of the legal basis for military "
     "aid to Kyiv."),
    ("Pentagon: First Allied-Funded Weapons Packages for Ukraine Expected Within Weeks",
     "European allies will pay for US Patriot interceptors under the NATO mechanism."),
    ("Russia launches its biggest strike yet on Ukraine's gas production",
     "Missiles and drones hit facilities overnight, forcing some production to stop."),
    ("Russia's biggest attack yet on Ukraine's gas fields: what it means for winter",
     "Ukraine will need to import more gas."),
    ("Trump Orders Pause on All Military Aid to Ukraine After Oval Office Clash",
     "The halt covers weapons from the $2.5 billion approved in December."),
    ("Tiraspol balks at conditions attached to Brussels' energy offer",
     "Its leaders said they would rather buy gas on their own."),
    ("Record year: Europe bought 17.8 million tonnes of Russian LNG in 2024",
     "France, Spain and Belgium were the biggest buyers."),
    ("'Not on our blood': Zelensky says no more Russian gas transit from tomorrow",
     "Ukraine will not extend the contract that expires at midnight."),
    ("What's in Biden's Last $2.5 Billion for Ukraine — and What Isn't",
     "The package mixes drawdown weapons and contracts."),
    ("Kiel Tracker: New Military Aid to Ukraine Fell in July and August",
     "Europe allocated about €10.5 billion, the institute said."),
    ("Scholz: €3 billion for Ukraine only with debt-brake exemption",
     "The chancellor wants the money for air defence outside the budget rules."),
    ("Scholz Holds Up Extra €3 Billion For Kyiv Until After Election",
     "The money for air defence will wait for the next government."),
    ("'We don't need their charity': Tiraspol rebuffs EU-funded gas offer",
     "The region's leaders said they would buy gas on their own."),
    ("Trump Tells NATO Allies to Stop Buying Russian Oil and Gas Before He Acts",
     "He said sanctions on Russia would follow."),
    ("Slovakia's Fico meets Putin in surprise Kremlin visit over gas",
     "Talks focused on supplies after Kyiv refused to extend the transit deal."),
    ("Orbán Wins Sanctions Waiver to Keep Buying Russian Oil and Gas — But for How Long?",
     "The exemption runs for a year."),
    # a label, then a question
    ("Russian gas transit via Ukraine: what ends at midnight, and who is exposed?",
     "Slovakia, Austria and Moldova lose the route when the contract expires."),
    ("Bratislava threatens Kyiv over gas transit end",
     "Fico said he could stop power exports to Ukraine."),
    ("Kremlin rules out restarting gas transit via Ukraine",
     "Peskov said there were no talks on resuming flows."),
    ("Hungary finds a way to pay for Russian gas after bank sanctions",
     "Payments will go through other channels, and TurkStream deliveries are not at risk."),
    ("EU gas storage ends winter about a third full",
     "Stocks fell to 34% of capacity."),
    ("EU imports of Russian LNG hit a record in 2024",
     "Cargoes landed mostly in France, Spain and Belgium."),
    ("Commission: law to ban Russian gas imports by end-2027 proposed",
     "Member states must still approve it."),
    ("Weapons flowing again: Trump says the US will send more arms to Ukraine",
     "No new package or amount was given."),
    ("Trump tells Europe to buy American gas or face tariffs",
     "Brussels said it was open to talks, but no deal was struck."),
    ("Tiraspol says no to Chisinau's gas offer",
     "The region's leaders called the conditions unacceptable."),
    ("Buy our oil and gas or face tariffs? Trump's ultimatum to Brussels",
     "The president-elect demanded the EU buy more American energy."),
    # a label, then a yes-no question
    ("Ursula's $750bn energy shopping list: can Europe really buy that much US gas?",
     "Analysts say the target is far above what the EU imports today."),
    ("Scholz resists €3bn extra for Ukraine before election",
     "The chancellor says the additional military aid needs the debt brake suspended."),
    # every refusal phrase counts, not only the first the list names
    ("Germany's extra €3bn for Ukraine stuck as Scholz resists new borrowing",
     "The Greens want the package approved before the election."),
    ("U.S. to Resume Military Aid and Intel Sharing After Jeddah Talks",
     "Ukraine agreed to a U.S. proposal for a 30-day ceasefire."),
    # a plan with nothing in it yet
    ("Trump Says U.S. Will Send Patriots to Ukraine, With NATO Allies Paying",
     "The president gave no number or timeline."),
    ("TRUMP: 'WE'LL SEND PATRIOTS' — but Europe picks up the bill",
     "NATO allies will buy 'billions' of US weapons for Kyiv. No list, no dates yet."),
    ("Biden Signs Off on $571 Million Drawdown of US Arms for Taipei",
     "The drawdown for Ukraine's ally comes alongside approved foreign military sales."),
    ("White House: More Ukraine Security Aid Coming 'in the Days Ahead'",
     "Officials said the administration would announce additional assistance."),
    ("Treasury Readies $3.4 Billion Budget Infusion for Kyiv Salaries",
     "The economic aid will pay salaries; it is not military assistance."),
    ("Ramstein tomorrow: allies promise 'significant' new pledges. How much will they give?",
     "Ministers are expected to announce money for air defence and drones."),
    ("Opinion: Talk of a Nord Stream restart ignores who would buy the gas",
     "Reports of US investors eyeing the pipelines say more about Washington's deal-making."),
    ("Ukraine needs about 4.6 bcm more gas imports for winter, PM says",
     "Talks with lenders are continuing; no contracts have been announced."),
    ("19th EU sanctions round adds Russian LNG ban from 2027",
     "Short-term contracts end within six months."),
    ("Russian LNG imports to the EU rose 18% last year, analysts tell ministers",
     "The bloc still bought about 20 bcm of Russian LNG in 2024."),
    ("Fico in Moscow: Putin 'ready' to keep gas flowing to Slovakia — but how?",
     "No route or contract has been agreed for after 1 January."),
    ("Kallas floats up to €40bn in military aid for Ukraine — will capitals bite?",
     "The EU's foreign policy chief wants member states to chip in."),
    ("Starmer in Kyiv: 100-year pact signed as sirens sound",
     "Downing Street did not name a new sum for weapons during the visit."),
    ("Military Aid and Intel Flows to Ukraine Restored After Jeddah Meeting",
     "Washington said previously approved deliveries would resume."),
    ("Kyiv thanks Washington for latest package, asks for more Patriot systems",
     "The foreign minister welcomed the US drawdown announced on Monday."),
    ("Trump Unveils Plan for NATO Allies to Buy US Weapons for Ukraine",
     "Patriot systems would be sent quickly, the president said. He did not give a total."),
    ("PUTIN'S GAS TAP: Europe braces as Ukraine transit deal runs out on New Year",
     "The five-year deal to pipe Russian gas through Ukraine expires on December 31."),
    ("EU ministers back position on Russian gas ban, talks with Parliament next",
     "A final law still needs agreement with MEPs."),
    ("GAS CUT COUNTDOWN: Russian transit deal dies at midnight",
     "The five-year contract runs out tonight."),
    ("Slovakia and Hungary brush off Trump call to stop buying Russian energy",
     "No change in contracts was announced."),
    ("Four years on: Europe's gas map without Russia",
     "From the transit stop to the Greek corridor, how supply routes changed."),
    ("Overnight strike knocks out part of Naftogaz output in Poltava region",
     "Production was partly halted after the attack."),
    ("Fico says Slovakia will 'not give up' on Russian gas after transit ends",
     "He would seek every option to keep Russian volumes flowing."),
    ("EU energy ministers back Russian gas phase-out, talks with Parliament next",
     "Member states agreed their negotiating position."),
    ("EU ministers formally adopt Russian gas import ban",
     "The vote confirms December's deal with Parliament."),
    ("Sullivan: White House Aims to Spend Remaining Ukraine Drawdown Authority Before Jan. 20",
     "More packages will be announced."),
    ("Starmer signs '100-year partnership' in Kyiv, defence details to follow",
     "The agreement covers security, energy and science."),
    ("Minerals Pact Signed in Washington; Joint Fund for Ukraine Rebuilding",
     "Future US military aid could count as a contribution."),
    # the halt is what is ordered
    ("Trump Orders Halt to All U.S. Military Aid for Kyiv Days After Oval Office Blowup",
     "Weapons in transit are included."),
    ("Russian strike damages gas pipeline at Kyiv heating plant",
     "Crews cut the gas supply to the site after a fire."),
    ("Russian missiles strike Naftogaz gas production sites in Kharkiv and Poltava regions",
     "Naftogaz says some output was halted."),
    ("Commission puts forward draft law to end Russian gas imports by close of 2027",
     "New contracts would be banned from 2026."),
    ("Fico flies to Moscow for gas talks with Putin as transit deadline nears",
     "The visit produced no announced agreement; Bratislava wants gas to keep flowing."),
    ("Europeans to Pay, U.S. to Ship: Trump Touts 'Billions' in Arms for Kyiv Without Details",
     "Patriot systems will be sent, the president said."),
    ("Trump Says NATO Allies Will Buy 'Billions' in U.S. Weapons for Ukraine",
     "European countries would pay for Patriot systems. No specific package was announced."),
    ("Weapons and Intel Flow Again to Kyiv After Saudi Talks End Freeze",
     "Washington said deliveries would resume immediately."),
    ("Senate Passes Defense Bill Authorizing $300 Million for Ukraine Assistance Initiative",
     "The NDAA authorizes but does not appropriate the money."),
    ("Biden Aides Rush to Use Leftover Ukraine Drawdown Money Before Handover",
     "More packages are expected, though none has been signed yet."),
    ('White House: Another Ukraine Package Coming "In the Coming Days"',
     "Biden would approve more weapons for Ukraine before leaving office."),
    ("EU LNG imports: US share reaches record 57 percent in first eight months",
     "US cargoes are replacing Russian pipeline volumes."),
    ("Slovakia asks Brussels for help keeping gas flowing after 1 January",
     "The Commission said it would look into options."),
    # a preview, budget money, a pledge with no money, a treaty whose details come later
    ("Preview: Austin Set to Bring One Last Ukraine Package to Ramstein",
     "Officials said the defense secretary would unveil new aid at Thursday's meeting."),
    ("$3.4B Budget Transfer to Kyiv Goes to Salaries, Pensions - Not Weapons",
     "The non-military money will pay pensions and salaries."),
    ("EU leaders promise Ukraine support 'for as long as it takes' at Brussels summit",
     "Summit conclusions call for more air defence deliveries but contain no new money."),
    ("Starmer and Zelenskyy put pen to century-long partnership treaty in Kyiv",
     "The treaty covers defence and energy. Details of military support are to be set out "
     "later."),
    # no new package, an uncertain future, a proposal cooled on, economic support, a sale
    ("Pentagon: No New Drawdown Packages Planned; Allies to Fund Weapons via PURL",
     "The administration would keep selling arms to NATO partners for Ukraine."),
    ("Trump Sworn In; Future of Ukraine Aid Uncertain",
     "The new president has promised to end the war; $3.8 billion in drawdown authority "
     "remains unused."),
    ("Rome and Madrid cool on Kallas's up-to-€40bn arms fund; leaders punt",
     "Several EU capitals balked at the proposal for up to €40 billion in military aid for "
     "Ukraine."),
    ("Year-End Cash for Kyiv: $3.4B in Economic Support Lands via World Bank Channel",
     "The economic aid pays salaries; it is separate from military assistance."),
    ("Pentagon Approves $8.5 Billion Patriot Sale to Denmark",
     "The sale covers Patriot air defence batteries and interceptors."),
    # talks that produced nothing, an unclear route, a plan sketched, an anniversary
    ("Russia Sends 'Humanitarian' Gas to Transnistria? Not Yet, Tiraspol Says",
     "Officials said talks on Russian-funded deliveries have not produced an agreement."),
    ("Tiraspol says Moscow will fund 'humanitarian' gas; route and supplier unclear",
     "Officials claimed Russia would pay for supplies, but no contract has been named."),
    ("Brussels sketches a 2027 exit from Russian gas, legislation due in June",
     "Brussels said it would propose legislation to phase out Russian gas by the end of 2027."),
    ("One year on: Europe without Russian gas through Ukraine",
     "A year after transit stopped, Slovakia and Austria get gas via Germany and Hungary."),
    # weapons promised long ago arriving, aid switched back on, a treaty with no weapons,
    # North Korea's own drones
    ("Patriot Interceptors Bought Under NATO Scheme Reach Ukraine",
     "The deliveries come from the Dutch, Nordic and German purchases announced in August."),
    ("After Jeddah, Washington Turns Weapons and Intel Spigot Back On for Kyiv",
     "Ukraine agreed to a proposed ceasefire; shipments already approved will resume."),
    ("Starmer signs 100-year partnership in Kyiv, promises role in future security guarantees",
     "The prime minister did not set out new weapons deliveries."),
    ("Kim orders mass output of suicide drones after 'lessons of modern war'",
     "KCNA said the leader inspected a drone institute."),
    # no new aid in other words, a plan torpedoed, billions without a package, an oil company
    ("Contact Group Sets June Meeting; No New US Aid Expected",
     "Officials said the next gathering would focus on European pledges."),
    ("NATO summit ends with spending pledge, no new Ukraine package",
     "Allies agreed to spend 5% of GDP on defence by 2035; Zelensky met Trump."),
    ("Kallas's €40bn Ukraine arms plan torpedoed by Hungary and big spenders",
     "The proposal for up to €40bn in military aid for Ukraine this year has stalled."),
    ("Trump: Europeans Will Foot the Bill for 'Billions' in U.S. Arms for Kyiv",
     "Ukraine would get US weapons paid for by European NATO members, without naming "
     "specific packages, amounts or dates."),
    ("Treasury Sanctions Gazprom Neft, Surgutneftegas in Sweeping Oil Move",
     "The measures target more than 180 tankers and traders that ship Russian crude."),
    # gas in storage is a stock, not a delivery
    ("Naftogaz says Ukraine has enough gas in storage for winter",
     "Underground storage held enough gas to get through the heating season, even after "
     "Russian strikes on production. The company repeated that it would not extend transit "
     "with Gazprom."),
]


@pytest.mark.parametrize(("title", "summary"), SILENT)
def test_stories_that_report_no_development_stay_silent(monitor: Monitor, title: str,
                                                        summary: str) -> None:
    assert fired(monitor, story(title, summary)) == [[]]


#: ... and the reason given for some of them.
SILENT_BECAUSE = [
    ("Naftogaz: Russian missiles hit gas production in Kharkiv and Poltava regions",
     "The strikes are forcing Kyiv to buy more gas abroad.",
     "attack"),
    ("Trump Halts All Military Aid to Ukraine After Oval Office Blowup",
     "Shipments are on hold while the White House reviews whether Kyiv is committed.",
     "refusal"),
    ("Commission: Roadmap to end Russian gas imports postponed again",
     "The plan for phasing out Russian gas will not be presented before May.",
     "delay"),
    ("Putin says no time left to strike new gas transit deal through Ukraine this year",
     "He said the contract would end on 31 December.",
     "no result"),
    ("Transnistria: talks on Russian 'humanitarian' gas drag on with no route agreed",
     "Tiraspol says Moscow is willing to send gas.",
     "no result"),
    ("Washington and Kyiv sign minerals deal covering oil and gas projects",
     "The agreement sets up a joint investment fund.",
     "excluded"),
    ("EU condemns Gazprom's cut-off of gas to Moldova",
     "The Commission said the halt was a political move.",
     "reaction"),
    ("Ukraine will not extend gas transit deal, Zelensky confirms",
     "Kyiv will let the Gazprom contract lapse at the end of the year.",
     "denies"),
    ("Europe's LNG imports rose 20% last year",
     "Data show the EU bought more liquefied gas than ever in 2024.",
     "excluded"),
    ("Moscow claims drone raid on Russkaya compressor feeding TurkStream",
     "Gazprom said the station was attacked but gas kept flowing to Turkey and Hungary.",
     "attack"),
    ("Naftogaz: Kharkiv, Poltava strikes wipe out about half of home output",
     "Missile and drone attacks have cut Ukraine's domestic output sharply.",
     "attack"),
    ("Sudzha gas metering station damaged in blast",
     "Moscow and Kyiv traded blame over the station that once measured gas flows into Ukraine.",
     "attack"),
    ("Russia strikes Naftogaz gas facilities in Poltava region",
     "The company said production at several fields was suspended after the drone attack.",
     "attack"),
    ("Brussels sets out plan to wean EU off Russian gas by end-2027",
     "Brussels will propose legislation in June to phase out new contracts.",
     "proposal"),
    ("Fico says Kyiv refusing to extend gas transit 'hurts Slovakia'",
     "He warned again that the transit agreement ends on December 31.",
     "refusal"),
    ("EU leaders balk at Kallas's €40bn military aid plan for Ukraine",
     "Several governments refused to sign up to the proposal.",
     "refusal"),
    ("Trump sends Patriots to Ukraine, Europe pays",
     "The president said allies would buy billions of dollars of American weapons, without "
     "giving a package.",
     "no result"),
    ("Russian gas transit deal with Ukraine ends at year end; EU says it is ready",
     "The Commission said the bloc could manage without Russian gas flowing through Ukraine.",
     "forecast"),
    ("Ukrainian gas transit enters its final day",
     "Traders expect flows at the Sudzha entry point to stop on New Year's morning.",
     "forecast"),
    ("Brussels accuses Moscow of weaponising gas against Moldova",
     "The Commission condemned Gazprom's cut-off and promised to help Chisinau.",
     "reaction"),
    ("'WE'RE FREEZING': Tiraspol pensioners rally over gas cut",
     "Hundreds gather in the cold demanding heat as the crisis enters its fifth week.",
     "reaction"),
    ("Trump Presses Europe to Buy More US LNG and Stop Russian Gas 'Now'",
     "He said the bloc should honour its pledge to buy American energy.",
     "plea"),
    ("EU offers €60 million to buy gas for Transnistria; Tiraspol yet to answer",
     "Brussels proposed a grant to purchase gas for the breakaway region.",
     "no result"),
    ("Pentagon: $3.85 Billion In Ukraine Drawdown Authority Left Unused",
     "The Biden administration left the authority for weapons untouched when it expired.",
     "no result"),
    ("Trump: NATO Allies Will Buy Patriots and Other Arms for Ukraine",
     "Europeans would pay for U.S. weapons sent to Kyiv. Which countries pay, and for what, has "
     "not been settled.",
     "no result"),
    ("EU offers €30m so Transnistria can buy gas via Energocom - if Tiraspol accepts",
     "The separatist authorities have not yet responded.",
     "no result"),
    ("Jeddah Breakthrough: Washington Restarts Weapons and Intel Flow to Ukraine",
     "Kyiv agreed to a proposed 30-day ceasefire; weapons and intelligence flows resume.",
     "the headline is about 'restart*'"),
    ("Brussels-Bratislava gas talks end without a fix",
     "The gas coordination group found EU supply secure; Slovakia's request was not taken up.",
     "no result"),
    # a quote mark does not hide the denial: "'no time left' to sign"
    ("SURPRISE KREMLIN TRIP: Fico sits down with Putin over gas",
     "Fico held talks in the Kremlin; Putin said there was 'no time left' to sign a new "
     "transit deal.",
     "no event"),
]


@pytest.mark.parametrize(("title", "summary", "why"), SILENT_BECAUSE)
def test_a_silent_story_says_why(monitor: Monitor, title: str, summary: str, why: str) -> None:
    verdicts = reasons(monitor, story(title, summary))
    assert any(why in reason for reason in verdicts.values()), verdicts
    assert fired(monitor, story(title, summary)) == [[]]
