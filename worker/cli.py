"""The ``newsmon`` command.

Every user mistake (a bad file, field, URL or setting) ends in one sentence
on stderr and exit code 2; an unreachable service in exit code 1. Bugs still
show their traceback.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from functools import wraps
from pathlib import Path
from typing import IO, Any, ParamSpec, TypeVar

import click
import msgspec

from worker.config import Settings, dump_feeds_yaml, load_feeds, load_settings
from worker.errors import ConfigError, FeedError, NewsmonError, StateUnavailableError
from worker.pipeline import Assessment, Monitor
from worker.records import Alert, Story
from worker.render import alert_json

P = ParamSpec("P")
T = TypeVar("T")

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

    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
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
            entry = raw_entry(own_id=row["link"] or "", title=row["title"] or "",
                              link=row["link"] or "", published=row["published"],
                              summary=row["description"] or "")
            yield normalise(entry, feed_url=row["feed_url"] or "",
                            feed_title=row["feed_title"] or "")


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
        if "NEWSMON_REDIS_URL" in os.environ:
            raise StateUnavailableError(f"Redis is not reachable at {settings.redis_url}")
        private = PrivateRedis(state_directory() / "redis")
        private.start()
        os.environ["NEWSMON_REDIS_URL"] = private.url
        click.echo(f"newsmon: started a private redis-server at {private.url} "
                   f"(data in {private.directory})", err=True)
    try:
        from worker.logs import configure_logging
        from worker.tasks import app

        configure_logging()
        schedule = state_directory() / "celerybeat-schedule"
        schedule.parent.mkdir(parents=True, exist_ok=True)
        app.worker_main(["worker", "--beat", "--loglevel", "INFO", "--schedule", str(schedule),
                         "--concurrency", str(concurrency), "--without-gossip",
                         "--without-mingle"])
    finally:
        if private is not None:
            private.stop()


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
    alerts = [alert for a in assessments for alert in a.alerts]
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


def replay_alerts(path: Path, monitor: Monitor, explain_to: IO[str] | None = None) -> list[Alert]:
    """Run a JSONL stream through the pipeline in published order; the alerts it makes."""
    assessments = monitor.process_stories(stories_from_jsonl(path), now=_replay_now())
    if explain_to is not None:
        for assessment in assessments:
            _explain(assessment, explain_to)
    return [alert for a in assessments for alert in a.alerts]


def _replay_now() -> datetime:
    # Replays are reproducible: alerts carry a fixed creation time, not the clock's.
    return datetime(1970, 1, 1, tzinfo=UTC)


@main.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("--out", "out_path", required=True, type=click.Path(path_type=Path),
              help="Where to write the alerts (JSON lines).")
@click.option("--explain", is_flag=True, help="Explain every decision on stderr.")
@reports_errors
def replay(input_path: Path, out_path: Path, explain: bool) -> None:
    """Replay a JSONL stream of entries from clean state; write the alerts as JSON lines."""
    from worker.wiring import memory_monitor

    if not input_path.is_file():
        raise ConfigError(str(input_path), None, "does not exist or is not a file")
    alerts = replay_alerts(input_path, memory_monitor(_settings()),
                           sys.stderr if explain else None)
    try:
        with out_path.open("w", encoding="utf-8") as out:
            for alert in alerts:
                out.write(json.dumps(alert_json(alert), ensure_ascii=False) + "\n")
    except OSError as exc:
        raise ConfigError(str(out_path), None, f"cannot write: {exc.strerror}") from None
    click.echo(f"{len(alerts)} alerts written to {out_path}", err=True)


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
    expected = load_labels(labels)
    alerts = replay_alerts(stream, monitor)
    links = [story.link for story in stories_from_jsonl(stream)]
    scores = score(alerts, expected, links, [rule.id for rule in monitor.rules])
    click.echo(score_table(scores))


@main.group(invoke_without_command=True)
@click.pass_context
@reports_errors
def rules(ctx: click.Context) -> None:
    """List the watch rules (NEWSMON_RULES, default: the shipped rules/)."""
    if ctx.invoked_subcommand is not None:
        return
    from worker.rules import load_rules

    for rule in load_rules(_settings().rules_path):
        channels = ", ".join(rule.channels) if rule.channels else "all configured"
        click.echo(f"{rule.id:<18} {rule.severity:<7} {rule.novelty.kind:<16} "
                   f"{rule.name}  [channels: {channels}]  ({rule.source})")


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


def _runtime_state() -> Any:
    from worker.state import RedisState

    settings = _settings()
    state = RedisState.from_url(settings.redis_url, settings.namespace)
    state.ping()
    return settings, state


@main.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="JSON instead of a table.")
@click.pass_context
@reports_errors
def feeds(ctx: click.Context, as_json: bool) -> None:
    """Each feed's health: last poll, status, entries seen, next poll, errors."""
    if ctx.invoked_subcommand is not None:
        return
    settings, state = _runtime_state()
    rows = []
    for feed in load_feeds(settings.feeds_path, settings.poll_interval):
        current = state.get_feed(feed.id)
        row: dict[str, Any] = {"id": feed.id, "url": feed.url, "title": feed.title,
                               "interval": feed.interval}
        row.update(msgspec.to_builtins(current) if current else {"last_poll": None})
        rows.append(row)
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    columns = ("title", "last_poll", "last_status", "entries_seen", "next_poll",
               "consecutive_errors", "disabled")
    click.echo(_table(columns, [[_cell(row.get(c)) for c in columns] for row in rows]))


def _cell(value: object) -> str:
    if value is None:
        return "-"
    text = str(value)
    return text[:19].replace("T", " ") if isinstance(value, str) and text[:4].isdigit() \
        and "T" in text[:11] else text


def _table(columns: Iterable[str], rows: list[list[str]]) -> str:
    header = list(columns)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


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
    else:
        out_path.write_text(text, encoding="utf-8")
        click.echo(f"wrote {out_path}", err=True)


@main.command()
@click.option("--failed", is_flag=True, help="Show alerts that could not be delivered.")
@click.option("--retry", is_flag=True, help="Resend the alerts that could not be delivered.")
@click.option("--limit", default=20, show_default=True)
@reports_errors
def alerts(failed: bool, retry: bool, limit: int) -> None:
    """Recent alerts; with --failed the dead letters, with --retry resend them."""
    from worker.errors import DeliveryError
    from worker.wiring import build_runtime

    rt = build_runtime(_settings(), stream=sys.stderr)
    if retry:
        resent = 0
        for alert_id in rt.outbox.retry_dead_letters():
            try:
                rt.outbox.deliver(alert_id)
                resent += 1
            except DeliveryError as exc:
                rt.outbox.dead_letter(alert_id, exc.channel, str(exc))
                click.echo(f"still failing: {alert_id}: {exc}", err=True)
        click.echo(f"resent {resent} alerts")
        return
    if failed:
        for letter in rt.outbox.dead_letters():
            click.echo(f"{letter.failed_at}  {letter.alert_id}  {letter.channel}  "
                       f"{letter.title}\n    {letter.error}")
        return
    for alert in rt.outbox.recent(limit):
        click.echo(f"{alert.created:%Y-%m-%d %H:%M}  {alert.rule_id:<16} {alert.story.title}")


@main.command()
@reports_errors
def status() -> None:
    """Redis reachable, workers alive, queue depth, last poll per feed, alerts today."""
    settings, state = _runtime_state()
    from worker.tasks import app

    click.echo(f"redis: reachable at {settings.redis_url}")
    replies = app.control.ping(timeout=1.0) or []
    click.echo(f"workers alive: {len(replies)}")
    click.echo(f"queue depth: {state.redis.llen('celery')}")
    for feed in load_feeds(settings.feeds_path, settings.poll_interval):
        current = state.get_feed(feed.id)
        last = current.last_poll.isoformat() if current and current.last_poll else "never"
        click.echo(f"  {feed.title or feed.url}: last poll {last}"
                   + (f", {current.last_status}" if current and current.last_status else ""))
