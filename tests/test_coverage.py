"""The shipped earlier coverage and its ranking against stories."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from worker.config import DEFAULT_COVERAGE
from worker.coverage import Coverage, item_from_story, load_articles, split_sentences
from worker.errors import ConfigError
from worker.records import Story

SEEDS = {"000_cec66fe4180fa49a", "001_985f8a893f439cc1"}


def story(title: str, summary: str = "", n: int = 1) -> Story:
    return Story(id=f"s{n}", feed_url="https://wire.example/rss", feed_title="Wire",
                 title=title, link=f"https://wire.example/{n}",
                 published=datetime(2025, 1, 5, tzinfo=UTC), summary=summary)


def test_seed_articles_ship_unchanged_with_their_ids_and_headlines() -> None:
    items = {item.id: item for item in load_articles(DEFAULT_COVERAGE)}
    assert set(items) == SEEDS
    assert items["000_cec66fe4180fa49a"].title == (
        "Ukraine's leader highlights growing North Korean involvement in Russia as global "
        "powers watch warily.")
    assert items["001_985f8a893f439cc1"].title == (
        "Escalating Struggles: North Korean Troops Face Heavy Losses in Russian-Ukrainian "
        "Conflict")
    for item in items.values():
        text = (DEFAULT_COVERAGE / f"{item.id}.txt").read_text(encoding="utf-8")
        # Every sentence is quoted as written (only line wrapping is folded).
        flat = " ".join(text.split())
        assert all(sentence in flat for sentence in item.sentences)


def test_known_figures_come_from_the_articles_themselves() -> None:
    facts = [f for item in load_articles(DEFAULT_COVERAGE) for f in item.facts
             if f.subject == "north_korean"]
    figures = {(f.value, f.measure, f.qualifier) for f in facts}
    assert (3000, "killed_or_wounded", "more_than") in figures
    assert (1100, "casualties", "at_least") in figures
    assert (1000, "casualties", "more_than") in figures
    week = [f for f in facts if f.value == 1000]
    assert week[0].period and "one week" in week[0].period


def test_sentences_split_on_ends_but_not_on_abbreviations() -> None:
    text = ("The U.S. President-elect\nDonald Trump spoke. Sen. Kim replied on Jan. 3 at noon. "
            "\u201cIt works,\u201d he said.\n\nA new paragraph")
    assert split_sentences(text) == [
        "The U.S. President-elect Donald Trump spoke.",
        "Sen. Kim replied on Jan. 3 at noon.",
        "\u201cIt works,\u201d he said.",
        "A new paragraph",
    ]


def test_a_casualty_story_follows_the_article_with_the_casualty_sentence() -> None:
    coverage = Coverage(load_articles(DEFAULT_COVERAGE))
    earlier = coverage.follow(story("North Korean casualties in Kursk pass 4,000, Zelenskyy says",
                                    "More North Korean soldiers killed or wounded in Kursk."))
    assert earlier[0].id == "000_cec66fe4180fa49a"
    assert "3,000 North Korean military personnel" in earlier[0].quote
    assert [e.score for e in earlier] == sorted((e.score for e in earlier), reverse=True)


def test_an_lng_story_follows_the_article_about_the_first_cargo() -> None:
    coverage = Coverage(load_articles(DEFAULT_COVERAGE))
    earlier = coverage.follow(story("Second US LNG cargo reaches Ukraine",
                                    "DTEK said a second shipment of liquefied natural gas "
                                    "arrived."))
    assert earlier[0].id == "001_985f8a893f439cc1"
    assert "liquefied natural gas" in earlier[0].quote


def test_an_unrelated_story_follows_nothing() -> None:
    coverage = Coverage(load_articles(DEFAULT_COVERAGE))
    assert coverage.follow(story("Quantum chip benchmarks", "Qubits scale.")) == ()


def test_alerted_stories_join_the_coverage_and_their_thread() -> None:
    coverage = Coverage(load_articles(DEFAULT_COVERAGE))
    first = story("Nearly 4,000 North Korean troops killed or wounded, Zelenskyy says",
                  "North Korean losses in Kursk reached nearly 4,000.")
    coverage.extend([item_from_story(first, (), "000_cec66fe4180fa49a", {})])
    earlier = coverage.follow(story("North Korean losses in Kursk top 5,000",
                                    "Losses of North Korean troops in Kursk reached 5,000.", 2))
    assert earlier[0].id == first.id
    assert earlier[0].url == first.link
    assert coverage.thread_of(earlier) == "000_cec66fe4180fa49a"


def test_the_article_a_thread_started_from_is_always_listed() -> None:
    coverage = Coverage(load_articles(DEFAULT_COVERAGE))
    for n in range(1, 5):  # enough alerted stories on the thread to outrank the article
        alerted = story(f"Denmark announces military aid package number {n} for Ukraine",
                        f"Denmark's package {n} for Ukraine holds drones and artillery.", n)
        coverage.extend([item_from_story(alerted, (), "001_985f8a893f439cc1", {})])

    earlier = coverage.follow(story("Denmark announces military aid package number 9 for Ukraine",
                                    "Denmark's package for Ukraine holds drones.", 9))

    assert len(earlier) == 4  # the three best, all alerted stories, then the article
    assert {item.id for item in earlier[:3]} <= {"s1", "s2", "s3", "s4"}
    assert earlier[-1].id == "001_985f8a893f439cc1"
    assert earlier[-1].quote  # with the sentence that connects them


def test_the_thread_article_is_listed_by_its_headline_when_no_word_is_shared() -> None:
    coverage = Coverage(load_articles(DEFAULT_COVERAGE))
    alerted = story("Nordics pay $486M for American arms", "Oslo, Stockholm and Copenhagen pay.")
    coverage.extend([item_from_story(alerted, (), "001_985f8a893f439cc1", {})])

    earlier = coverage.follow(story("VIKING BOOST: Nordics pay $486M for American arms", "", 2))

    assert [item.id for item in earlier] == [alerted.id, "001_985f8a893f439cc1"]
    assert earlier[-1].score == 0.0
    assert earlier[-1].quote == earlier[-1].title


def test_a_coverage_directory_without_articles_is_a_config_error(tmp_path) -> None:
    with pytest.raises(ConfigError, match=str(tmp_path)):
        load_articles(tmp_path)
