"""The ``newsmon`` command.

Every user mistake (a bad file, field, URL or setting) ends in one sentence
on stderr and exit code 2; an unreachable service in exit code 1. Bugs still
show their traceback.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from functools import wraps
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, ParamSpec, TypeVar

import click
import msgspec

from worker.config import (
    DEFAULT_REDIS_URL,
    Settings,
    dump_feeds_yaml,
    load_feeds,
    load_settings,
    public_url,
)
from worker.errors import (
    ConfigError,
    FeedError,
    NewsmonError,
    StateUnavailableError,
    TransientDeliveryError,
)
from worker.pipeline import Assessment, Monitor, published_order
from worker.records import Alert, Story
from worker.render import alert_json

if TYPE_CHECKING:
    from worker.outbox import Outbox
    from worker.state import RedisState

P = ParamSpec("P")
T = TypeVar("T")

#: worker.metrics reads it too; named here so ``run`` can set it before that import.
MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
REPLAY_KEYS = ("feed_url", "feed_title", "title", "link", "published", "description")


def _fail(message: str, code: int) -> None:
    click.echo(f"newsmon: {message}", err=True)
    sys.exit(code)


def reports_errors(command: Callable[P, T]) -> Callable[P, T]:
    """Turn newsmon's errors into one line and an exit code."""

    @wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return command(*args, **kwargs)
        except (ConfigError, FeedError) as exc:
            _fail(str(exc), 2)
        except StateUnavailableError as exc:
            _fail(f"{exc} (NEWSMON_REDIS_URL)", 1)
        except NewsmonError as exc:
            _fail(str(exc), 1)
        raise AssertionError("unreachable")

    return wrapper


def _settings() -> Settings:
    return load_settings()


# --- stories from a source --------------------------------------------------------------

def stories_from_jsonl(path: Path) -> Iterator[Story]:
    """Stories from a JSONL stream with the replay keys, normalised like feed entries."""
    from worker.parse import normalise, raw_entry

    try:
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                row = _replay_row(path, number, line)
                entry = raw_entry(own_id=row["link"] or "", title=row["title"] or "",
                                  link=row["link"] or "", published=row["published"],
                                  summary=row["description"] or "")
                yield normalise(entry, feed_url=row["feed_url"] or "",
                                feed_title=row["feed_title"] or "")
    except UnicodeDecodeError:
        raise ConfigError(str(path), None, "is not UTF-8 text") from None


def _replay_row(path: Path, number: int, line: str) -> dict[str, str | None]:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ConfigError(str(path), f"line {number}", f"not JSON: {exc.msg}") from None
    if not isinstance(row, dict):
        raise ConfigError(str(path), f"line {number}", "expected a JSON object")
    missing = [key for key in REPLAY_KEYS if key not in row]
    if missing:
        raise ConfigError(str(path), f"line {number}", f"missing key {missing[0]!r}")
    for key in REPLAY_KEYS:
        if not isinstance(row[key], str | None):
            raise ConfigError(str(path), f"line {number}.{key}", "expected a string")
    return row


def stories_from_source(source: str, settings: Settings) -> list[Story]:
    """A feed URL, a feed file, or a JSONL stream of entries."""
    from worker.fetch import Fetcher
    from worker.parse import normalise, parse_feed

    if source.startswith(("http://", "https://")):
        with Fetcher(allow_private=settings.allow_private_networks) as fetcher:
            result = fetcher.fetch(source)
        if result.status != 200:
            raise ConfigError(source, None, f"answered HTTP {result.status}, not a feed")
        body, url, content_type = result.body, result.final_url, result.content_type
    else:
        path = Path(source)
        if not path.is_file():
            raise ConfigError(source, None, "is neither an http(s) URL nor a readable file")
        if path.suffix.lower() in {".jsonl", ".ndjson"}:
            return list(stories_from_jsonl(path))
        body, url, content_type = path.read_bytes(), path.resolve().as_uri(), None
    parsed = parse_feed(body, url, content_type=content_type)
    return [normalise(entry, feed_url=url, feed_title=parsed.title) for entry in parsed.entries]


def _explain(assessment: Assessment, out: IO[str]) -> None:
    story = assessment.story
    verdicts = assessment.verdicts
    if not verdicts:
        return
    click.echo(f"- {story.title}  <{story.link}>", file=out)
    if assessment.facts:
        from worker.facts import format_fact

        click.echo("    facts: " + "; ".join(format_fact(f) for f in assessment.facts), file=out)
    for verdict in verdicts:
        mark = "ALERT" if verdict.fired else "no"
        click.echo(f"    {verdict.rule_id}: {mark}: {verdict.reason}", file=out)


def _print_alert(alert: Alert, out: IO[str]) -> None:
    from worker.facts import describe_change

    click.echo(f"ALERT {alert.rule_id} [{alert.severity}]: {alert.story.title}", file=out)
    click.echo(f"  link: {alert.story.link}", file=out)
    click.echo(f"  why: {alert.reason}", file=out)
    for change in alert.changes:
        click.echo(f"  change: {describe_change(change)}", file=out)
    for item in alert.earlier:
        click.echo(f"  follows {item.id} ({item.title}): \u201c{item.quote}\u201d", file=out)


# --- commands ------------------------------------------------------------------------------

@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="newsmon")
def main() -> None:
    """newsmon: alerts on what is new in a developing story, linked to earlier coverage."""


@main.command()
@click.option("--feeds", "feeds_path", type=click.Path(path_type=Path),
              help="A YAML or OPML feed list (default: NEWSMON_FEEDS or the shipped list).")
@click.option("--concurrency", default=2, show_default=True, help="Worker processes.")
@reports_errors
def run(feeds_path: Path | None, concurrency: int) -> None:
    """Run the daemon: a Celery worker with beat, in one process. Ctrl-C stops it."""
    from worker.localredis import PrivateRedis, reachable, state_directory

    if feeds_path is not None:
        load_feeds(feeds_path)  # validate before anything starts
        os.environ["NEWSMON_FEEDS"] = str(feeds_path.resolve())
    settings = _settings()
    private = None
    if not reachable(settings.redis_url):
        if settings.redis_url != DEFAULT_REDIS_URL:  # set by the user: theirs to start
            raise StateUnavailableError(
                f"Redis is not reachable at {public_url(settings.redis_url)}")
        private = PrivateRedis(state_directory() / "redis")
        private.start()
        os.environ["NEWSMON_REDIS_URL"] = private.url
        click.echo(f"newsmon: started a private redis-server at {private.url} "
                   f"(data in {private.directory})", err=True)
    metrics_directory = None
    if settings.metrics_port is not None and MULTIPROC_VARIABLE not in os.environ:
        # Set before prometheus_client is imported: the worker's processes then
        # share their counts through files there (see worker.metrics).
        metrics_directory = tempfile.mkdtemp(prefix="newsmon-metrics-")
        os.environ[MULTIPROC_VARIABLE] = metrics_directory
    try:
        from worker.logs import configure_logging
        from worker.supervise import supervise

        configure_logging()
        schedule = state_directory() / "celerybeat-schedule"
        schedule.parent.mkdir(parents=True, exist_ok=True)
        # Celery runs as a supervised child (with the settings above in its
        # environment) and is restarted if it ever exits on its own.
        code = supervise([sys.executable, "-m", "celery", "-A", "worker", "worker", "--beat",
                          "--loglevel", "INFO", "--schedule", str(schedule),
                          "--concurrency", str(concurrency), "--without-gossip",
                          "--without-mingle"])
        if code:
            raise NewsmonError(f"the worker exited with code {code}")
    finally:
        if private is not None:
            private.stop()
        if metrics_directory is not None:
            shutil.rmtree(metrics_directory, ignore_errors=True)


def _run_stories(stories: Iterable[Story], monitor: Monitor) -> list[Assessment]:
    return monitor.process_stories(stories, now=datetime.now(UTC))


@main.command()
@click.argument("source")
@click.option("--explain", is_flag=True, help="Show every rule's decision on every story.")
@click.option("--json", "as_json", is_flag=True, help="Print alerts as JSON lines.")
@reports_errors
def check(source: str, explain: bool, as_json: bool) -> None:
    """Show what SOURCE (a feed URL, feed file or JSONL stream) would alert on, and why.

    Changes no state and sends nothing.
    """
    from worker.wiring import memory_monitor

    settings = _settings()
    monitor = memory_monitor(settings)
    assessments = _run_stories(stories_from_source(source, settings), monitor)
    alerts = alerts_of(assessments, monitor)
    for assessment in assessments:
        if explain:
            _explain(assessment, sys.stdout)
    for alert in alerts:
        if as_json:
            click.echo(json.dumps(alert_json(alert), ensure_ascii=False))
        else:
            _print_alert(alert, sys.stdout)
    if not as_json:
        click.echo(f"{len(assessments)} stories, {len(alerts)} alerts", err=True)


def alerts_of(assessments: Iterable[Assessment], monitor: Monitor) -> list[Alert]:
    """The alerts made, each listing every outlet that carried its story by the end."""
    return [msgspec.structs.replace(alert, outlets=monitor.outlets(alert))
            for assessment in assessments for alert in assessment.alerts]


def replay_stories(stories: Sequence[Story], monitor: Monitor,
                   label: str = "replaying") -> list[Assessment]:
    """Run stories through the pipeline in published order, with a progress bar on a terminal."""
    now = _replay_now()
    # The order Monitor.process_stories uses: a progress bar feeds it one at a time.
    ordered = sorted(stories, key=published_order)
    if not sys.stderr.isatty():
        return monitor.process_stories(ordered, now=now)
    with click.progressbar(ordered, label=label, file=sys.stderr) as bar:
        return [assessment for story in bar
                for assessment in monitor.process_stories([story], now=now)]


def _replay_now() -> datetime:
    # Replays are reproducible: alerts carry a fixed creation time, not the clock's.
    return datetime(1970, 1, 1, tzinfo=UTC)


def alerts_per_rule(alerts: Iterable[Alert], rule_ids: Iterable[str]) -> str:
    """A table: each rule with its number of alerts, and the total."""
    counts = Counter(alert.rule_id for alert in alerts)
    rows = [[rule_id, str(counts[rule_id])] for rule_id in rule_ids]
    rows.append(["total", str(sum(counts.values()))])
    return _table(("rule", "alerts"), rows)


@main.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("--out", "out_path", required=True, type=click.Path(path_type=Path),
              help="Where to write the alerts (JSON lines).")
@click.option("--explain", is_flag=True, help="Explain every decision on stderr.")
@reports_errors
def replay(input_path: Path, out_path: Path, explain: bool) -> None:
    """Replay a JSONL stream of entries from clean state; write the alerts as JSON lines.

    Prints the alerts per rule at the end.
    """
    from worker.wiring import memory_monitor

    if not input_path.is_file():
        raise ConfigError(str(input_path), None, "does not exist or is not a file")
    monitor = memory_monitor(_settings())
    stories = list(stories_from_jsonl(input_path))
    assessments = replay_stories(stories, monitor)
    if explain:
        for assessment in assessments:
            _explain(assessment, sys.stderr)
    alerts = alerts_of(assessments, monitor)
    try:
        with out_path.open("w", encoding="utf-8") as out:
            for alert in alerts:
                out.write(json.dumps(alert_json(alert), ensure_ascii=False) + "\n")
    except OSError as exc:
        raise ConfigError(str(out_path), None, f"cannot write: {exc.strerror}") from None
    click.echo(alerts_per_rule(alerts, (rule.id for rule in monitor.rules)))
    click.echo(f"{len(stories)} stories read, {len(alerts)} alerts written to {out_path}",
               err=True)


@main.command()
@click.argument("stream", type=click.Path(path_type=Path))
@click.argument("labels", type=click.Path(path_type=Path))
@reports_errors
def backtest(stream: Path, labels: Path) -> None:
    """Replay STREAM and score its alerts against LABELS: precision and recall per rule."""
    from worker.backtest import load_labels, score, score_table
    from worker.wiring import memory_monitor

    if not stream.is_file():
        raise ConfigError(str(stream), None, "does not exist or is not a file")
    monitor = memory_monitor(_settings())
    try:
        expected = load_labels(labels)
    except UnicodeDecodeError:
        raise ConfigError(str(labels), None, "is not UTF-8 text") from None
    stories = list(stories_from_jsonl(stream))
    alerts = alerts_of(replay_stories(stories, monitor), monitor)
    scores = score(alerts, expected, [story.link for story in stories],
                   [rule.id for rule in monitor.rules])
    click.echo(score_table(scores))


@main.group(invoke_without_command=True)
@click.pass_context
@reports_errors
def rules(ctx: click.Context) -> None:
    """List the watch rules (NEWSMON_RULES, default: the shipped rules/)."""
    if ctx.invoked_subcommand is not None:
        return
    from worker.rules import load_rules

    click.echo(_table(("id", "severity", "novelty", "channels", "name", "file"), [
        [rule.id, rule.severity, rule.novelty.kind,
         ",".join(rule.channels) if rule.channels is not None else "all", rule.name,
         str(rule.source)]
        for rule in load_rules(_settings().rules_path)]))


@rules.command("test")
@click.argument("rule_id", metavar="RULE")
@click.argument("source")
@reports_errors
def rules_test(rule_id: str, source: str) -> None:
    """Run one RULE over SOURCE; explain each match and each near miss."""
    from worker.coverage import load_articles
    from worker.rules import load_rules
    from worker.state import MemoryState

    settings = _settings()
    all_rules = load_rules(settings.rules_path)
    chosen = [rule for rule in all_rules if rule.id == rule_id]
    if not chosen:
        known = ", ".join(rule.id for rule in all_rules)
        raise ConfigError(str(settings.rules_path), "id", f"no rule {rule_id!r}; rules: {known}")
    monitor = Monitor(chosen, load_articles(settings.coverage_path), MemoryState())
    assessments = _run_stories(stories_from_source(source, settings), monitor)
    matched = near = 0
    for assessment in assessments:
        for verdict in assessment.verdicts:
            if verdict.fired or verdict.reason != "required terms missing":
                matched += verdict.fired
                near += not verdict.fired
                _explain(assessment, sys.stdout)
    click.echo(f"{len(assessments)} stories: {matched} alerts, {near} near misses", err=True)


def _runtime_state() -> tuple[Settings, RedisState]:
    from worker.state import RedisState

    settings = _settings()
    state = RedisState.from_url(settings.redis_url, settings.namespace)
    state.ping()
    return settings, state


def _feed_rows(settings: Settings, state: RedisState) -> list[dict[str, Any]]:
    """Each configured feed with its stored state (last_poll None if never polled)."""
    rows = []
    for feed in load_feeds(settings.feeds_path, settings.poll_interval):
        current = state.get_feed(feed.id)
        row: dict[str, Any] = {"id": feed.id, "url": feed.url, "title": feed.title or feed.url,
                               "interval": feed.interval}
        row.update(msgspec.to_builtins(current) if current else {"last_poll": None})
        rows.append(row)
    return rows


def _feed_table(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> str:
    return _table(columns, [[_cell(row.get(c)) for c in columns] for row in rows])


@main.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="JSON instead of a table.")
@click.pass_context
@reports_errors
def feeds(ctx: click.Context, as_json: bool) -> None:
    """Each feed's health: last poll, status, entries seen, next poll, errors."""
    if ctx.invoked_subcommand is not None:
        return
    rows = _feed_rows(*_runtime_state())
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    click.echo(_feed_table(rows, ("title", "last_poll", "last_status", "entries_seen",
                                  "next_poll", "consecutive_errors", "disabled")))


def _cell(value: object) -> str:
    """A table cell: "-" for nothing, ISO times to the second without the "T"."""
    if value is None:
        return "-"
    text = str(value)
    if isinstance(value, str) and text[:4].isdigit() and "T" in text[:11]:
        return text[:19].replace("T", " ")
    return text


def _table(columns: Iterable[str], rows: list[list[str]]) -> str:
    header = list(columns)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
              for r in rows]
    return "\n".join(lines)


def _fields(pairs: list[tuple[str, str]]) -> str:
    width = max(len(name) for name, _ in pairs)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in pairs)


@feeds.command("import")
@click.argument("opml", type=click.Path(path_type=Path))
@click.option("--out", "out_path", type=click.Path(path_type=Path),
              help="Write the YAML feed list here (default: stdout).")
@reports_errors
def feeds_import(opml: Path, out_path: Path | None) -> None:
    """Convert an OPML subscription list into a YAML feed list."""
    text = dump_feeds_yaml(load_feeds(opml, _settings().poll_interval))
    if out_path is None:
        click.echo(text, nl=False)
        return
    try:
        out_path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(out_path), None, f"cannot write: {exc.strerror}") from None
    click.echo(f"wrote {out_path}", err=True)


@main.command()
@click.option("--failed", is_flag=True, help="Show alerts that could not be delivered.")
@click.option("--retry", is_flag=True, help="Resend the alerts that could not be delivered.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1),
              help="How many recent alerts to show.")
@reports_errors
def alerts(failed: bool, retry: bool, limit: int) -> None:
    """Recent alerts, newest first; with --failed the dead letters, with --retry resend them."""
    from worker.wiring import build_runtime

    # Building the runtime reads the shared coverage: an unreachable Redis stops it here.
    rt = build_runtime(_settings(), stream=sys.stderr)
    if retry:
        sent = held = failed_again = 0
        for alert_id in rt.outbox.retry_dead_letters():
            try:
                report = rt.outbox.deliver(alert_id)
            except TransientDeliveryError as exc:
                rt.outbox.give_up(alert_id, str(exc))
                failed_again += 1
                click.echo(f"still failing: {alert_id}: {exc}", err=True)
                continue
            sent += bool(report.sent)
            held += bool(report.held)
            if report.dead:
                failed_again += 1
                click.echo(f"refused again: {alert_id} on {', '.join(report.dead)}", err=True)
        click.echo(f"resent {sent} alerts, {held} held for a digest or thread message, "
                   f"{failed_again} failed again (see --failed)")
        return
    if failed:
        click.echo(_table(("failed_at", "alert", "channel", "title", "error"), [
            [_cell(letter.failed_at.isoformat()), letter.alert_id, letter.channel,
             letter.title, letter.error]
            for letter in rt.outbox.dead_letters()]))
        return
    click.echo(_table(("created", "rule", "severity", "title", "link"), [
        [_cell(alert.created.isoformat()), alert.rule_id, alert.severity, alert.story.title,
         alert.story.link]
        for alert in rt.outbox.recent(limit)]))


def alerts_since(outbox: Outbox, since: datetime) -> int:
    """How many alerts were made at or after ``since`` (the outbox keeps them in put order)."""
    limit = 64
    while True:
        recent = outbox.recent(limit)
        count = sum(alert.created >= since for alert in recent)
        if count < len(recent) or len(recent) < limit:
            return count
        limit *= 4


@main.command()
@click.option("--timeout", default=1.0, show_default=True, type=click.FloatRange(min=0.1),
              help="Seconds to wait for workers to answer.")
@reports_errors
def status(timeout: float) -> None:
    """Redis reachable, workers alive, queue depth, alerts today, last poll per feed,
    and the latest stories the pipeline failed on."""
    from celery import Celery

    from worker.metrics import queue_depth
    from worker.outbox import Outbox

    settings, state = _runtime_state()
    # An app of our own: the broker is this command's NEWSMON_REDIS_URL, whatever
    # worker.tasks read when it was imported.
    workers = Celery("newsmon", broker=settings.redis_url, set_as_current=False)
    replies = workers.control.ping(timeout=timeout) or []
    names = sorted(name for reply in replies for name in reply)
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    today = alerts_since(Outbox(state.redis, settings.namespace, {}), midnight)
    click.echo(_fields([
        ("redis", f"reachable at {public_url(settings.redis_url)}"),
        ("workers alive", f"{len(names)}" + (f" ({', '.join(names)})" if names else "")),
        ("queue depth", str(queue_depth(state.redis))),
        ("alerts today", f"{today} (since {midnight:%Y-%m-%d} 00:00 UTC)"),
    ]))
    click.echo()
    click.echo(_feed_table(_feed_rows(settings, state),
                           ("title", "last_poll", "last_status", "next_poll")))
    failures = state.failures(5)
    if failures:
        click.echo("\nstories the pipeline failed on (newest first; see the worker log):")
        for failure in failures:
            click.echo(f"  {failure.failed_at:%Y-%m-%d %H:%M}  {failure.title}  "
                       f"<{failure.link}>\n    {failure.error}")
