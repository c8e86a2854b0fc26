"""Settings and feed lists: read once, validated into typed records.

Settings come from the environment (and an optional ``.env`` in the working
directory, which never overrides a variable already set). Feed lists are YAML
or OPML files. Every error names the variable or file and the field at fault.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, cast
from urllib.parse import urlsplit

import msgspec
import yaml
from lxml import etree

from worker.errors import ConfigError
from worker.records import Record

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_FEEDS = PACKAGE_DIR / "data" / "feeds.yaml"
DEFAULT_COVERAGE = PACKAGE_DIR / "data" / "coverage"
# The shipped rules live at the top of the repository, beside the package.
DEFAULT_RULES = PACKAGE_DIR.parent / "rules"
DEFAULT_REDIS_URL = "redis://localhost:6379/0"
DEFAULT_POLL_INTERVAL = 300.0
MIN_POLL_INTERVAL = 1.0

#: How often a channel in digest mode sends its one message.
DigestPeriod = Literal["hourly", "daily"]


class Feed(Record, frozen=True):
    """One feed to poll."""

    id: str
    url: str
    title: str = ""
    interval: float = DEFAULT_POLL_INTERVAL


class Settings(Record, frozen=True):
    redis_url: str = DEFAULT_REDIS_URL
    feeds_path: Path = DEFAULT_FEEDS
    rules_path: Path = DEFAULT_RULES
    coverage_path: Path = DEFAULT_COVERAGE
    poll_interval: float = DEFAULT_POLL_INTERVAL
    allow_private_networks: bool = False
    slack_webhook_url: str | None = None
    smtp_url: str | None = None
    email_from: str | None = None
    email_to: tuple[str, ...] = ()
    namespace: str = "newsmon"
    metrics_port: int | None = None
    visibility_timeout: float = 3600.0
    thread_window: float = 0.0  # seconds; 0 sends every alert of a thread at once
    digest_slack: DigestPeriod | None = None
    digest_email: DigestPeriod | None = None


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def public_url(url: str) -> str:
    """``url`` without its user and password, for messages and logs."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=netloc).geturl()


def checked_url(source: str, field: str | None, url: str, schemes: set[str],
                *, needs_host: bool = True) -> str:
    """``url`` if it parses, with one of ``schemes`` (and a host); else a ConfigError
    that does not repeat any password the URL holds."""
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a port that is not a number
        usable = parts.scheme in schemes and (parts.hostname or not needs_host)
    except ValueError:
        usable = False
    if not usable:
        expected = " or ".join(f"{scheme}://" for scheme in sorted(schemes))
        raise ConfigError(source, field, f"expected a valid {expected} URL; got "
                          f"{public_url(url) if '@' in url else url!r}")
    return url


def _flag(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(name, None, f"expected one of on/off, true/false, 1/0; got {raw!r}")


def _seconds(name: str, raw: str, minimum: float) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(name, None, f"expected a number of seconds; got {raw!r}") from None
    if not math.isfinite(value) or value < minimum:
        raise ConfigError(name, None, f"must be at least {minimum:g} seconds; got {raw!r}")
    return value


def _digest(name: str, raw: str) -> DigestPeriod | None:
    value = raw.strip().lower()
    if value in {"", "off"}:
        return None
    if value in {"hourly", "daily"}:
        return cast(DigestPeriod, value)
    raise ConfigError(name, None, f"expected off, hourly or daily; got {raw!r}")


def load_settings(environ: Mapping[str, str] | None = None, *, dotenv: bool = True) -> Settings:
    """Read the NEWSMON_* variables (and ``.env`` when ``dotenv``)."""
    if environ is None:
        if dotenv:
            from dotenv import dotenv_values

            file_values = {k: v for k, v in dotenv_values(".env").items() if v is not None}
            environ = {**file_values, **os.environ}
        else:
            environ = os.environ
    env = environ
    fields: dict[str, Any] = {}
    if url := env.get("NEWSMON_REDIS_URL"):
        fields["redis_url"] = checked_url("NEWSMON_REDIS_URL", None, url,
                                          {"redis", "rediss", "unix"}, needs_host=False)
    for name, key in (
        ("NEWSMON_FEEDS", "feeds_path"),
        ("NEWSMON_RULES", "rules_path"),
        ("NEWSMON_COVERAGE", "coverage_path"),
    ):
        if raw := env.get(name):
            path = Path(raw).expanduser()
            if not path.exists():
                raise ConfigError(name, None, f"{path} does not exist")
            fields[key] = path
    if raw := env.get("NEWSMON_POLL_INTERVAL"):
        fields["poll_interval"] = _seconds("NEWSMON_POLL_INTERVAL", raw, MIN_POLL_INTERVAL)
    if raw := env.get("NEWSMON_VISIBILITY_TIMEOUT"):
        fields["visibility_timeout"] = _seconds("NEWSMON_VISIBILITY_TIMEOUT", raw, 10.0)
    if "NEWSMON_ALLOW_PRIVATE_NETWORKS" in env:
        fields["allow_private_networks"] = _flag(
            "NEWSMON_ALLOW_PRIVATE_NETWORKS", env["NEWSMON_ALLOW_PRIVATE_NETWORKS"]
        )
    if url := env.get("NEWSMON_SLACK_WEBHOOK_URL"):
        try:
            checked_url("NEWSMON_SLACK_WEBHOOK_URL", None, url, {"http", "https"})
        except ConfigError:
            # The webhook's path is its secret: never echo it.
            raise ConfigError("NEWSMON_SLACK_WEBHOOK_URL", None,
                              "expected a valid https:// URL") from None
        fields["slack_webhook_url"] = url
    if url := env.get("NEWSMON_SMTP_URL"):
        fields["smtp_url"] = url
        sender, recipients = env.get("NEWSMON_EMAIL_FROM"), env.get("NEWSMON_EMAIL_TO")
        if not sender:
            raise ConfigError("NEWSMON_EMAIL_FROM", None, "must be set when NEWSMON_SMTP_URL is")
        if not recipients:
            raise ConfigError("NEWSMON_EMAIL_TO", None, "must be set when NEWSMON_SMTP_URL is")
        fields["email_from"] = sender
        fields["email_to"] = tuple(r.strip() for r in recipients.split(",") if r.strip())
        if not fields["email_to"]:
            raise ConfigError("NEWSMON_EMAIL_TO", None, "names no address")
    if raw := env.get("NEWSMON_NAMESPACE"):
        fields["namespace"] = raw
    if raw := env.get("NEWSMON_METRICS_PORT"):
        if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) < 65536:
            raise ConfigError("NEWSMON_METRICS_PORT", None, f"expected a TCP port; got {raw!r}")
        fields["metrics_port"] = int(raw)
    if raw := env.get("NEWSMON_THREAD_WINDOW"):
        fields["thread_window"] = _seconds("NEWSMON_THREAD_WINDOW", raw, 0.0)
    for name, key in (("NEWSMON_DIGEST_SLACK", "digest_slack"),
                      ("NEWSMON_DIGEST_EMAIL", "digest_email")):
        if name in env:
            fields[key] = _digest(name, env[name])
    return Settings(**fields)


def feed_id(url: str) -> str:
    """A short stable id for a feed, derived from its URL."""
    return hashlib.sha256(url.encode()).hexdigest()[:12]


class _FeedEntry(msgspec.Struct, forbid_unknown_fields=True):
    url: str
    title: str = ""
    interval: float | None = None


class _FeedList(msgspec.Struct, forbid_unknown_fields=True):
    feeds: list[_FeedEntry]




def load_yaml(path: Path, text: str) -> Any:
    """``text`` (read from ``path``) as YAML; a ConfigError naming the line if it is not."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else None
        raise ConfigError(str(path), where, "not valid YAML") from None


def _feeds_from_yaml(path: Path, text: str, default_interval: float) -> list[Feed]:
    data = load_yaml(path, text)
    if isinstance(data, list):
        data = {"feeds": data}
    try:
        parsed = msgspec.convert(data, _FeedList)
    except msgspec.ValidationError as exc:
        raise ConfigError(str(path), None, str(exc)) from None
    feeds = []
    for index, entry in enumerate(parsed.feeds):
        checked_url(str(path), f"feeds[{index}].url", entry.url, {"http", "https"})
        interval = entry.interval if entry.interval is not None else default_interval
        if not math.isfinite(interval) or interval < MIN_POLL_INTERVAL:
            raise ConfigError(
                str(path), f"feeds[{index}].interval", f"must be at least {MIN_POLL_INTERVAL:g}"
            )
        feeds.append(Feed(id=feed_id(entry.url), url=entry.url, title=entry.title,
                          interval=interval))
    return feeds


def _feeds_from_opml(path: Path, data: bytes, default_interval: float) -> list[Feed]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise ConfigError(str(path), None, f"not valid OPML: {exc}") from None
    feeds = []
    for index, outline in enumerate(root.iter("outline")):
        url = outline.get("xmlUrl")
        if not url:
            continue
        checked_url(str(path), f"outline[{index}].xmlUrl", url, {"http", "https"})
        title = outline.get("title") or outline.get("text") or ""
        feeds.append(Feed(id=feed_id(url), url=url, title=title, interval=default_interval))
    if not feeds:
        raise ConfigError(str(path), "outline", "no outline has an xmlUrl")
    return feeds


def load_feeds(path: Path, default_interval: float = DEFAULT_POLL_INTERVAL) -> tuple[Feed, ...]:
    """Read a YAML or OPML feed list; duplicates (same URL) are kept once."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(str(path), None, f"cannot read: {exc.strerror}") from None
    if path.suffix.lower() in {".opml", ".xml"} or data.lstrip().startswith(b"<"):
        feeds = _feeds_from_opml(path, data, default_interval)
    else:
        feeds = _feeds_from_yaml(path, data.decode("utf-8", "replace"), default_interval)
    unique: dict[str, Feed] = {}
    for feed in feeds:
        unique.setdefault(feed.id, feed)
    return tuple(unique.values())


def dump_feeds_yaml(feeds: tuple[Feed, ...]) -> str:
    """A YAML feed list, as ``newsmon feeds import`` writes it."""
    entries = [{"url": f.url, "title": f.title, "interval": f.interval} for f in feeds]
    return yaml.safe_dump({"feeds": entries}, sort_keys=False, allow_unicode=True)
