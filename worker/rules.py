"""Watch rules: YAML files in a directory, validated once into ``Rule`` records.

A user adds a rule by adding a file. Errors name the file and the field.

A rule file looks like this (see ``rules/*.yaml`` for the shipped ones)::

    id: casualty-figure          # unique; lowercase words joined by hyphens
    name: New North Korean casualty figure
    severity: high               # low | medium | high
    require:                     # every group needs one of its terms
      - [north korean, dprk, pyongyang]
      - [killed, wounded, casualt*]   # a trailing * matches any word ending
    exclude: [prisoner swap]     # any of these terms silences the rule
    novelty:
      kind: new-figure           # new-figure | new-development | any
      fact: casualty             # new-figure: which facts count
      subject: north_korean
    channels: [console, slack, email]   # optional; default: every configured one

A ``new-development`` rule names its kinds of event, each with its terms::

    novelty:
      kind: new-development
      events:
        halt: [stop*, halt*, cutoff]
        deal: [sign*, agree*]
      fact_kinds: [gas_volume]   # figures that identify a development
      follow_up_days: 10         # later stories on an alerted development stay silent
      common_names: [Ukraine, Russia]  # names that tell no two developments apart
      headline: [gas, lng]       # a development's headline names one of these
                                 # (nested lists are flattened: [*a_require_group, [more]])
      headline_exclude: [budget support]  # ... and none of these
      amount_event: announcement  # a headline naming a new amount, and no event word,
                                  # reports this kind ("Sweden's biggest package: SEK 13.5bn")
"""

from __future__ import annotations

import enum
import re
from pathlib import Path

import msgspec

from worker.config import load_yaml
from worker.errors import ConfigError
from worker.records import FactKind, Record

RULE_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SEVERITIES = ("low", "medium", "high")
CHANNELS = ("console", "slack", "email")


class NoveltyKind(enum.StrEnum):
    NEW_FIGURE = "new-figure"  # alert only on a figure no earlier coverage reported
    NEW_DEVELOPMENT = "new-development"  # alert on an event the coverage does not restate
    ANY = "any"  # plain keyword alert


class Novelty(Record, frozen=True):
    kind: NoveltyKind = NoveltyKind.ANY
    fact: FactKind | None = None
    subject: str | None = None
    # new-development: kinds of event ("halt", "deal"), each with the words that signal it
    events: dict[str, tuple[str, ...]] = msgspec.field(default_factory=dict)
    # new-development: figures that identify a development (a package's amount)
    fact_kinds: tuple[FactKind, ...] = ()
    # new-development: how long stories on an alerted development count as its follow-ups
    follow_up_days: float = 7.0
    # new-development: names every story on the thread carries ("Ukraine"), which
    # tell no two developments apart
    common_names: tuple[str, ...] = ()
    # new-development: terms a development's headline names (default: any required term);
    # lists in it are flattened, so a YAML anchor can bring in a require group
    headline: tuple[str | tuple[str, ...], ...] = ()
    # new-development: terms that, in a headline, say it is about something else
    # ("budget support"), though the story may mention them beside a development
    headline_exclude: tuple[str, ...] = ()
    # new-development: the kind of event a headline reports when it names a new amount of
    # ``fact_kinds`` and no event word
    amount_event: str | None = None

    def headline_terms(self) -> tuple[str, ...]:
        return tuple(term for entry in self.headline
                     for term in ((entry,) if isinstance(entry, str) else entry))

    def event_terms(self) -> set[str]:
        return {term for terms in self.events.values() for term in terms}


class Rule(Record, frozen=True, kw_only=True):
    id: str
    name: str
    severity: str = "medium"
    require: tuple[tuple[str, ...], ...]
    exclude: tuple[str, ...] = ()
    novelty: Novelty = Novelty()
    channels: tuple[str, ...] | None = None
    source: str = ""  # the file it was read from

    def terms(self) -> set[str]:
        """Every term the rule looks for, for the matcher's automaton."""
        terms = {t for group in self.require for t in group}
        terms.update(self.exclude)
        terms.update(self.novelty.event_terms())
        terms.update(self.novelty.headline_terms())
        terms.update(self.novelty.headline_exclude)
        return terms


def _normalise_term(term: str) -> str:
    return " ".join(term.lower().split())


def _validate(rule: Rule, path: Path) -> Rule:
    source = str(path)
    if not RULE_ID.fullmatch(rule.id):
        raise ConfigError(source, "id", f"{rule.id!r} is not lowercase words joined by hyphens")
    if rule.severity not in SEVERITIES:
        raise ConfigError(source, "severity", f"expected one of {', '.join(SEVERITIES)}")
    if not rule.require or any(not group for group in rule.require):
        raise ConfigError(source, "require", "needs at least one non-empty group of terms")
    for field, terms in (
        ("require", [t for g in rule.require for t in g]),
        ("exclude", rule.exclude),
        ("novelty.events", sorted(rule.novelty.event_terms())),
        ("novelty.headline", rule.novelty.headline_terms()),
        ("novelty.headline_exclude", rule.novelty.headline_exclude),
    ):
        for term in terms:
            if not _normalise_term(term).rstrip("*"):
                raise ConfigError(source, field, "contains an empty term")
            if "*" in term.rstrip("*"):
                raise ConfigError(source, field, f"{term!r}: * may only end a term")
    if rule.channels is not None:
        unknown = sorted(set(rule.channels) - set(CHANNELS))
        if unknown:
            raise ConfigError(source, "channels", f"unknown channel {unknown[0]!r}; "
                              f"expected some of {', '.join(CHANNELS)}")
    novelty = rule.novelty
    if novelty.kind is NoveltyKind.NEW_FIGURE and novelty.fact is None:
        raise ConfigError(source, "novelty.fact", "new-figure needs the kind of fact to compare")
    if not 0 <= novelty.follow_up_days <= 365:
        raise ConfigError(source, "novelty.follow_up_days", "must be between 0 and 365")
    if any(not name.strip() for name in novelty.common_names):
        raise ConfigError(source, "novelty.common_names", "contains an empty name")
    if novelty.kind is NoveltyKind.NEW_DEVELOPMENT and not novelty.event_terms():
        raise ConfigError(source, "novelty.events", "new-development needs kinds of event "
                          "with their terms")
    if novelty.amount_event is not None and novelty.amount_event not in novelty.events:
        raise ConfigError(source, "novelty.amount_event",
                          f"{novelty.amount_event!r} is not one of novelty.events")
    return msgspec.structs.replace(
        rule,
        require=tuple(tuple(_normalise_term(t) for t in g) for g in rule.require),
        exclude=tuple(_normalise_term(t) for t in rule.exclude),
        novelty=msgspec.structs.replace(novelty, events={
            kind: tuple(_normalise_term(t) for t in terms) for kind, terms in novelty.events.items()
        }, headline=tuple(_normalise_term(t) for t in novelty.headline_terms()),
            headline_exclude=tuple(_normalise_term(t) for t in novelty.headline_exclude)),
        source=source,
    )


def _field_of(error: msgspec.ValidationError) -> str | None:
    # msgspec says "... - at `$.novelty.kind`"; keep the path for the user.
    match = re.search(r"at `\$\.?([^`]*)`", str(error))
    return match.group(1) if match else None


def load_rule(path: Path) -> Rule:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), None, f"cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(str(path), None, "is not UTF-8 text") from None
    data = load_yaml(path, text)
    if not isinstance(data, dict):
        raise ConfigError(str(path), None, "expected a mapping of rule fields")
    try:
        rule = msgspec.convert(data, Rule)
    except msgspec.ValidationError as exc:
        problem = str(exc).split(" - at ")[0]
        raise ConfigError(str(path), _field_of(exc), problem) from None
    return _validate(rule, path)


def load_rules(directory: Path) -> tuple[Rule, ...]:
    """Every ``*.yaml``/``*.yml`` file in ``directory``, in file-name order."""
    if not directory.is_dir():
        raise ConfigError(str(directory), None, "is not a directory of rule files")
    paths = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    if not paths:
        raise ConfigError(str(directory), None, "holds no *.yaml rule files")
    rules: dict[str, Rule] = {}
    for path in paths:
        rule = load_rule(path)
        if rule.id in rules:
            raise ConfigError(str(path), "id", f"{rule.id!r} is also used by "
                              f"{rules[rule.id].source}")
        rules[rule.id] = rule
    return tuple(rules.values())
