"""Tests of rule files: the shipped rules load, a user adds one by adding a file, and every
mistake is reported with the file and the field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from worker.config import DEFAULT_RULES
from worker.errors import ConfigError
from worker.records import FactKind
from worker.rules import NoveltyKind, load_rule, load_rules

VALID = """\
id: power-outage
name: Power outage in Kyiv
severity: low
require:
  - [kyiv]
  - [blackout, power outage*]
"""


def _rule_file(directory: Path, text: str, name: str = "rule.yaml") -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def _error(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_rule(path)
    return caught.value


def test_shipped_rules_load() -> None:
    rules = load_rules(DEFAULT_RULES)

    assert {rule.id for rule in rules} == {"casualty-figure", "gas-deal", "aid-package"}
    assert all(Path(rule.source).parent == DEFAULT_RULES for rule in rules)


def test_shipped_casualty_rule_compares_casualty_figures() -> None:
    by_id = {rule.id: rule for rule in load_rules(DEFAULT_RULES)}
    novelty = by_id["casualty-figure"].novelty

    assert (novelty.kind, novelty.fact, novelty.subject) == (
        NoveltyKind.NEW_FIGURE, FactKind.CASUALTY, "north_korean")


def test_user_adds_a_rule_by_adding_a_file(tmp_path: Path) -> None:
    rules_dir = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES, rules_dir)
    _rule_file(rules_dir, VALID, "power-outage.yml")

    rules = load_rules(rules_dir)

    assert {rule.id for rule in rules} == {
        "casualty-figure", "gas-deal", "aid-package", "power-outage"}
    added = next(rule for rule in rules if rule.id == "power-outage")
    assert added.source == str(rules_dir / "power-outage.yml")
    assert added.severity == "low"
    assert added.require == (("kyiv",), ("blackout", "power outage*"))
    assert added.novelty.kind is NoveltyKind.ANY
    assert added.channels is None


def test_rules_load_in_file_name_order(tmp_path: Path) -> None:
    _rule_file(tmp_path, VALID.replace("power-outage", "zeta"), "a.yaml")
    _rule_file(tmp_path, VALID.replace("power-outage", "alpha"), "b.yaml")

    assert [rule.id for rule in load_rules(tmp_path)] == ["zeta", "alpha"]


def test_terms_are_normalised(tmp_path: Path) -> None:
    path = _rule_file(tmp_path, """\
id: gas
name: Gas
require:
  - ["  North   KOREA ", "Gas\tTransit*"]
exclude: ["Tear  GAS"]
novelty:
  kind: new-development
  events:
    deal: [" SIGNED  Deal "]
""")

    rule = load_rule(path)

    assert rule.require == (("north korea", "gas transit*"),)
    assert rule.exclude == ("tear gas",)
    assert rule.novelty.events == {"deal": ("signed deal",)}
    assert rule.terms() == {"north korea", "gas transit*", "tear gas", "signed deal"}


def test_channels_are_kept(tmp_path: Path) -> None:
    path = _rule_file(tmp_path, VALID + "channels: [slack, console]\n")

    assert load_rule(path).channels == ("slack", "console")


@pytest.mark.parametrize(("change", "field"), [
    ({"id: power-outage": "id: Power_Outage"}, "id"),
    ({"id: power-outage": "id: power--outage"}, "id"),
    ({"severity: low": "severity: urgent"}, "severity"),
    ({"  - [kyiv]\n": "  - []\n"}, "require"),
    ({"  - [kyiv]\n": "  - ['   ']\n"}, "require"),
    ({"  - [blackout, power outage*]": "  - [black*out]"}, "require"),
    ({"": "exclude: ['*']\n"}, "exclude"),
    ({"": "channels: [console, sms]\n"}, "channels"),
    ({"": "novelty:\n  kind: new-figure\n"}, "novelty.fact"),
    ({"": "novelty:\n  kind: new-development\n"}, "novelty.events"),
    ({"": "novelty:\n  kind: new-development\n  events:\n    deal: [sign*, 'hal*t']\n"},
     "novelty.events"),
])
def test_invalid_field_names_file_and_field(tmp_path: Path, change: dict[str, str],
                                            field: str) -> None:
    ((old, new),) = change.items()
    text = VALID.replace(old, new) if old else VALID + new
    path = _rule_file(tmp_path, text)

    error = _error(path)

    assert (error.source, error.field) == (str(path), field)
    assert str(error).startswith(f"{path}: {field}: ")


def test_require_may_not_be_empty(tmp_path: Path) -> None:
    path = _rule_file(tmp_path, "id: x\nname: X\nrequire: []\n")

    assert _error(path).field == "require"


def test_star_in_the_middle_is_quoted(tmp_path: Path) -> None:
    path = _rule_file(tmp_path, VALID.replace("power outage*", "power *outage"))

    assert "'power *outage'" in _error(path).problem


def test_headline_terms_may_bring_in_a_require_group_by_anchor(tmp_path: Path) -> None:
    text = VALID.replace("  - [blackout, power outage*]", "  - &outage [blackout, power outage*]")
    path = _rule_file(tmp_path, text + "novelty:\n  kind: any\n  headline: [*outage, [Grid]]\n")

    assert load_rule(path).novelty.headline_terms() == ("blackout", "power outage*", "grid")


@pytest.mark.parametrize("field", ["headline", "headline_exclude"])
def test_headline_terms_are_checked_like_other_terms(tmp_path: Path, field: str) -> None:
    path = _rule_file(tmp_path, VALID + f"novelty:\n  kind: any\n  {field}: [g*s]\n")

    assert _error(path).field == f"novelty.{field}"


def test_headline_exclude_terms_are_normalised(tmp_path: Path) -> None:
    path = _rule_file(tmp_path, VALID + "novelty:\n  kind: any\n  headline_exclude: "
                      "['Budget  Support']\n")

    assert load_rule(path).novelty.headline_exclude == ("budget support",)


def test_an_empty_common_name_is_refused(tmp_path: Path) -> None:
    path = _rule_file(tmp_path, VALID + "novelty:\n  kind: any\n  common_names: [Ukraine, ' ']\n")

    assert _error(path).field == "novelty.common_names"


def test_an_amount_event_must_be_one_of_the_events(tmp_path: Path) -> None:
    path = _rule_file(tmp_path, VALID + "novelty:\n  kind: new-development\n"
                      "  events:\n    deal: [signs]\n  amount_event: announcement\n")

    error = _error(path)
    assert (error.field, "'announcement'" in error.problem) == ("novelty.amount_event", True)


def test_unknown_channel_is_quoted(tmp_path: Path) -> None:
    path = _rule_file(tmp_path, VALID + "channels: [sms]\n")

    assert "'sms'" in _error(path).problem


@pytest.mark.parametrize(("novelty", "field"), [
    ("novelty:\n  kind: 5\n", "novelty.kind"),
    ("novelty:\n  kind: sometimes\n", "novelty.kind"),
    ("novelty:\n  kind: new-figure\n  fact: tanks\n", "novelty.fact"),
    ("novelty:\n  kind: any\n  events: sign\n", "novelty.events"),
    ("novelty:\n  kind: any\n  common_names: Ukraine\n", "novelty.common_names"),
])
def test_wrong_type_names_the_msgspec_path(tmp_path: Path, novelty: str, field: str) -> None:
    path = _rule_file(tmp_path, VALID + novelty)

    error = _error(path)

    assert (error.source, error.field) == (str(path), field)
    # The user sees the problem, not msgspec's path syntax.
    assert "$" not in str(error)


def test_require_must_be_a_list_of_groups(tmp_path: Path) -> None:
    path = _rule_file(tmp_path, "id: x\nname: X\nrequire: [kyiv, blackout]\n")

    error = _error(path)

    assert error.field is not None
    assert error.field.startswith("require")


@pytest.mark.parametrize(("extra", "unknown"), [
    ("severty: high\n", "severty"),
    ("novelty:\n  knd: any\n", "knd"),
])
def test_unknown_field_is_named(tmp_path: Path, extra: str, unknown: str) -> None:
    path = _rule_file(tmp_path, VALID + extra)

    error = _error(path)

    assert error.source == str(path)
    assert f"`{unknown}`" in str(error)


def test_missing_field_is_named(tmp_path: Path) -> None:
    path = _rule_file(tmp_path, VALID.replace("name: Power outage in Kyiv\n", ""))

    error = _error(path)

    assert error.source == str(path)
    assert "`name`" in error.problem


def test_duplicate_ids_across_files(tmp_path: Path) -> None:
    first = _rule_file(tmp_path, VALID, "a.yaml")
    second = _rule_file(tmp_path, VALID.replace("Power outage in Kyiv", "Again"), "b.yaml")

    with pytest.raises(ConfigError) as caught:
        load_rules(tmp_path)

    assert (caught.value.source, caught.value.field) == (str(second), "id")
    assert str(first) in caught.value.problem


def test_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a rule\n")

    with pytest.raises(ConfigError) as caught:
        load_rules(tmp_path)

    assert caught.value.source == str(tmp_path)
    assert "no *.yaml" in caught.value.problem


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_rules(tmp_path / "nope")

    assert caught.value.source == str(tmp_path / "nope")


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = _rule_file(tmp_path, "id: x\nname: X\nrequire:\n  - [kyiv\n  - [blackout]\n: :\n")

    error = _error(path)

    assert error.source == str(path)
    assert error.field is not None
    assert error.field.startswith("line ")
    assert "YAML" in error.problem


@pytest.mark.parametrize("text", ["", "- id: x\n- name: X\n", "just words\n"])
def test_non_mapping_yaml(tmp_path: Path, text: str) -> None:
    path = _rule_file(tmp_path, text)

    error = _error(path)

    assert error.source == str(path)
    assert "mapping" in error.problem


def test_a_bad_file_among_good_ones_is_named(tmp_path: Path) -> None:
    rules_dir = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES, rules_dir)
    bad = _rule_file(rules_dir, VALID.replace("severity: low", "severity: 3"), "zz-bad.yaml")

    with pytest.raises(ConfigError) as caught:
        load_rules(rules_dir)

    assert (caught.value.source, caught.value.field) == (str(bad), "severity")


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(VALID.replace("Kyiv", "Kyïv").encode("latin-1"))

    assert _error(path).source == str(path)


def test_id_with_a_trailing_newline_is_refused(tmp_path: Path) -> None:
    path = _rule_file(tmp_path, VALID.replace("id: power-outage", "id: |\n  power-outage"))

    assert _error(path).field == "id"
