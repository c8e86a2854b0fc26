"""Score alerts against labelled expectations: precision and recall per rule."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import msgspec

from worker.errors import ConfigError
from worker.records import Alert, Record


class Label(msgspec.Struct, forbid_unknown_fields=False):
    link: str
    expected: list[str]


class RuleScore(Record, frozen=True):
    rule_id: str
    true_positives: int
    false_positives: int
    false_negatives: int
    false_positive_links: tuple[str, ...]
    false_negative_links: tuple[str, ...]

    @property
    def precision(self) -> float:
        fired = self.true_positives + self.false_positives
        return self.true_positives / fired if fired else 1.0

    @property
    def recall(self) -> float:
        wanted = self.true_positives + self.false_negatives
        return self.true_positives / wanted if wanted else 1.0


def load_labels(path: Path) -> dict[str, set[str]]:
    """link -> the rules expected to alert on it."""
    if not path.is_file():
        raise ConfigError(str(path), None, "does not exist or is not a file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(str(path), None, "is not UTF-8 text") from None
    labels: dict[str, set[str]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            label = msgspec.convert(json.loads(line), Label)
        except (json.JSONDecodeError, msgspec.ValidationError) as exc:
            raise ConfigError(str(path), f"line {number}", str(exc)) from None
        labels[label.link] = set(label.expected)
    return labels


def score(alerts: Sequence[Alert], labels: dict[str, set[str]], links: Sequence[str],
          rule_ids: Sequence[str]) -> list[RuleScore]:
    """Compare alerts with the labels of the stream's stories (every link must be labelled)."""
    unlabelled = [link for link in links if link not in labels]
    if unlabelled:
        raise ConfigError("labels", None, f"no label for stream story {unlabelled[0]}")
    in_stream = set(links)
    scores = []
    for rule_id in rule_ids:
        fired = {a.story.link for a in alerts if a.rule_id == rule_id}
        wanted = {link for link in in_stream if rule_id in labels[link]}
        scores.append(RuleScore(
            rule_id=rule_id,
            true_positives=len(fired & wanted),
            false_positives=len(fired - wanted),
            false_negatives=len(wanted - fired),
            false_positive_links=tuple(sorted(fired - wanted)),
            false_negative_links=tuple(sorted(wanted - fired)),
        ))
    return scores


def score_table(scores: Sequence[RuleScore]) -> str:
    lines = [f"{'rule':<18} {'TP':>4} {'FP':>4} {'FN':>4} {'precision':>10} {'recall':>7}"]
    for s in scores:
        lines.append(f"{s.rule_id:<18} {s.true_positives:>4} {s.false_positives:>4} "
                     f"{s.false_negatives:>4} {s.precision:>10.3f} {s.recall:>7.3f}")
    for s in scores:
        lines += [f"  {s.rule_id} false positive: {link}" for link in s.false_positive_links]
        lines += [f"  {s.rule_id} missed: {link}" for link in s.false_negative_links]
    return "\n".join(lines)
