"""The replay contract: JSONL entries in, alerts out, from clean state, deterministic."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from worker.config import DEFAULT_COVERAGE

SEED_ID = "000_cec66fe4180fa49a"
NEWSMON = str(Path(sys.executable).with_name("newsmon"))
ALERT_KEYS = {"rule", "title", "link", "published", "feed_url", "facts", "earlier"}


def entry(title: str, description: str, published: str, n: int) -> dict[str, str]:
    return {"feed_url": "https://wire.example/rss", "feed_title": "Wire", "title": title,
            "link": f"https://wire.example/story/{n}", "published": published,
            "description": description}


NEW_FIGURE = entry(
    "Zelenskyy: nearly 4,000 North Korean troops killed or wounded in Kursk",
    "North Korean losses in the Kursk region have reached nearly 4,000 killed and wounded, "
    "Ukraine's president said.", "2024-12-29T18:00:00+00:00", 1)
REPEAT = entry(
    "Zelenskyy warns more North Korean troops are coming to Kursk",
    "More than 3,000 North Koreans have already been killed or wounded, he said.",
    "2024-12-29T09:00:00+00:00", 2)
UNRELATED = entry("Kenya police fire tear gas at protest", "Several detained in Nairobi.",
                  "2024-12-29T10:00:00+00:00", 3)


def replay(tmp_path: Path, rows: list[dict[str, str]], name: str = "in") -> list[dict]:
    source = tmp_path / f"{name}.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / f"{name}-alerts.jsonl"
    done = subprocess.run([NEWSMON, "replay", str(source), "--out", str(out)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def test_new_casualty_figure_alerts_and_names_the_seed(tmp_path: Path) -> None:
    alerts = replay(tmp_path, [NEW_FIGURE, REPEAT, UNRELATED])
    assert [a["rule"] for a in alerts] == ["casualty-figure"]
    alert = alerts[0]
    assert set(alert) >= ALERT_KEYS
    assert alert["link"] == NEW_FIGURE["link"]
    assert alert["published"].startswith("2024-12-29T18:00:00")
    assert any(f["value"] == 4000 and f["subject"] == "north_korean" for f in alert["facts"])
    assert alert["earlier"][0]["id"] == SEED_ID
    assert set(alert["earlier"][0]) >= {"id", "title", "url", "quote"}
    assert "3,000" in alert["earlier"][0]["quote"]


def test_repeating_a_known_figure_gives_no_alert(tmp_path: Path) -> None:
    assert replay(tmp_path, [REPEAT]) == []


def test_same_input_same_output(tmp_path: Path) -> None:
    rows = [UNRELATED, NEW_FIGURE, REPEAT]
    first = (tmp_path / "a-alerts.jsonl", replay(tmp_path, rows, "a"))
    second = (tmp_path / "b-alerts.jsonl", replay(tmp_path, list(reversed(rows)), "b"))
    assert first[0].read_bytes() == second[0].read_bytes()
    assert first[1]


def test_an_alerted_figure_becomes_known_and_later_alerts_link_back(tmp_path: Path) -> None:
    again = entry("North Korean casualties near 4,000, Kyiv says",
                  "Nearly 4,000 North Korean soldiers killed or wounded, Ukraine says.",
                  "2024-12-30T08:00:00+00:00", 4)
    higher = entry("North Korean losses in Kursk pass 5,000, Ukraine says",
                   "More than 5,000 North Korean soldiers have been killed or wounded.",
                   "2025-01-05T08:00:00+00:00", 5)
    alerts = replay(tmp_path, [NEW_FIGURE, again, higher])
    assert [a["link"] for a in alerts] == [NEW_FIGURE["link"], higher["link"]]
    linked = {item["id"] for item in alerts[1]["earlier"]}
    assert SEED_ID in linked or any(i["url"] == NEW_FIGURE["link"] for i in alerts[1]["earlier"])
    assert any(i["url"] == NEW_FIGURE["link"] for i in alerts[1]["earlier"])


EVAL_STREAMS = sorted(path.stem for path in (Path(__file__).parent / "data" / "eval").glob(
    "*.jsonl") if path.stem != "labels")


@pytest.mark.parametrize("stream", EVAL_STREAMS)
def test_every_alert_names_the_seed_article_it_follows(tmp_path: Path, stream: str) -> None:
    source = Path(__file__).parent / "data" / "eval" / f"{stream}.jsonl"
    rows = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines()]
    alerts = replay(tmp_path, rows, stream)
    assert alerts
    seeds = {path.stem for path in DEFAULT_COVERAGE.glob("*.txt")}
    for alert in alerts:
        assert seeds & {item["id"] for item in alert["earlier"]}, alert["title"]


def test_an_alert_lists_every_outlet_that_carried_its_story(tmp_path: Path) -> None:
    first = entry("Ukraine says it captured two North Korean soldiers in Kursk",
                  "Two wounded North Korean soldiers were captured.",
                  "2025-01-11T10:00:00+00:00", 7)
    again = {**entry("Ukraine says it captured two North Korean soldiers in Russia's Kursk",
                     "Two North Korean soldiers were captured in Kursk, Kyiv said.",
                     "2025-01-11T12:00:00+00:00", 8), "feed_title": "Other Wire"}
    (alert,) = replay(tmp_path, [first, again])
    assert alert["link"] == first["link"]
    assert alert["outlets"] == ["Wire", "Other Wire"]
