"""Tests of settings and feed lists: defaults, every variable, and errors that name the culprit."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from worker.config import (
    DEFAULT_COVERAGE,
    DEFAULT_FEEDS,
    DEFAULT_RULES,
    Feed,
    dump_feeds_yaml,
    feed_id,
    load_feeds,
    load_settings,
)
from worker.errors import ConfigError

# --- settings ---------------------------------------------------------------------------


def test_defaults_need_no_variables() -> None:
    settings = load_settings({}, dotenv=False)

    assert settings.redis_url == "redis://localhost:6379/0"
    assert settings.poll_interval == 300
    assert settings.allow_private_networks is False
    assert settings.slack_webhook_url is None
    assert settings.smtp_url is None
    assert settings.email_to == ()
    assert settings.metrics_port is None


def test_shipped_feeds_rules_and_coverage_exist() -> None:
    settings = load_settings({}, dotenv=False)

    assert (settings.feeds_path, settings.rules_path, settings.coverage_path) == (
        DEFAULT_FEEDS, DEFAULT_RULES, DEFAULT_COVERAGE)
    assert settings.feeds_path.is_file()
    assert sorted(settings.rules_path.glob("*.yaml"))
    assert sorted(settings.coverage_path.glob("*.txt"))
    assert load_feeds(settings.feeds_path)


def test_every_variable_is_read(tmp_path: Path) -> None:
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("- url: https://example.com/feed\n")
    rules = tmp_path / "rules"
    rules.mkdir()
    coverage = tmp_path / "coverage"
    coverage.mkdir()

    settings = load_settings({
        "NEWSMON_REDIS_URL": "rediss://:pw@cache.example:6380/2",
        "NEWSMON_FEEDS": str(feeds),
        "NEWSMON_RULES": str(rules),
        "NEWSMON_COVERAGE": str(coverage),
        "NEWSMON_POLL_INTERVAL": "90.5",
        "NEWSMON_VISIBILITY_TIMEOUT": "120",
        "NEWSMON_ALLOW_PRIVATE_NETWORKS": "yes",
        "NEWSMON_SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/X",
        "NEWSMON_SMTP_URL": "smtp://mail.example:587",
        "NEWSMON_EMAIL_FROM": "newsmon@example.com",
        "NEWSMON_EMAIL_TO": " desk@example.com, editor@example.com ,",
        "NEWSMON_NAMESPACE": "staging",
        "NEWSMON_METRICS_PORT": "9100",
    }, dotenv=False)

    assert settings.redis_url == "rediss://:pw@cache.example:6380/2"
    assert (settings.feeds_path, settings.rules_path, settings.coverage_path) == (
        feeds, rules, coverage)
    assert settings.poll_interval == 90.5
    assert settings.visibility_timeout == 120
    assert settings.allow_private_networks is True
    assert settings.slack_webhook_url == "https://hooks.slack.com/services/T/B/X"
    assert settings.smtp_url == "smtp://mail.example:587"
    assert settings.email_from == "newsmon@example.com"
    assert settings.email_to == ("desk@example.com", "editor@example.com")
    assert settings.namespace == "staging"
    assert settings.metrics_port == 9100


@pytest.mark.parametrize(("raw", "expected"), [
    ("1", True), ("TRUE", True), (" on ", True), ("yes", True),
    ("0", False), ("false", False), ("Off", False), ("no", False), ("", False),
])
def test_flag_spellings(raw: str, expected: bool) -> None:
    settings = load_settings({"NEWSMON_ALLOW_PRIVATE_NETWORKS": raw}, dotenv=False)
    assert settings.allow_private_networks is expected


@pytest.mark.parametrize(("environ", "variable"), [
    ({"NEWSMON_POLL_INTERVAL": "abc"}, "NEWSMON_POLL_INTERVAL"),
    ({"NEWSMON_POLL_INTERVAL": "0"}, "NEWSMON_POLL_INTERVAL"),
    ({"NEWSMON_POLL_INTERVAL": "-5"}, "NEWSMON_POLL_INTERVAL"),
    ({"NEWSMON_VISIBILITY_TIMEOUT": "5"}, "NEWSMON_VISIBILITY_TIMEOUT"),
    ({"NEWSMON_ALLOW_PRIVATE_NETWORKS": "maybe"}, "NEWSMON_ALLOW_PRIVATE_NETWORKS"),
    ({"NEWSMON_REDIS_URL": "http://localhost:6379/0"}, "NEWSMON_REDIS_URL"),
    ({"NEWSMON_REDIS_URL": "localhost:6379"}, "NEWSMON_REDIS_URL"),
    ({"NEWSMON_SLACK_WEBHOOK_URL": "hooks.slack.com/x"}, "NEWSMON_SLACK_WEBHOOK_URL"),
    ({"NEWSMON_SMTP_URL": "smtp://mail.example"}, "NEWSMON_EMAIL_FROM"),
    ({"NEWSMON_SMTP_URL": "smtp://mail.example", "NEWSMON_EMAIL_FROM": "a@example.com"},
     "NEWSMON_EMAIL_TO"),
    ({"NEWSMON_FEEDS": "/nonexistent/feeds.yaml"}, "NEWSMON_FEEDS"),
    ({"NEWSMON_RULES": "/nonexistent/rules"}, "NEWSMON_RULES"),
    ({"NEWSMON_COVERAGE": "/nonexistent/coverage"}, "NEWSMON_COVERAGE"),
    ({"NEWSMON_METRICS_PORT": "http"}, "NEWSMON_METRICS_PORT"),
    ({"NEWSMON_METRICS_PORT": "70000"}, "NEWSMON_METRICS_PORT"),
    ({"NEWSMON_METRICS_PORT": "0"}, "NEWSMON_METRICS_PORT"),
])
def test_bad_value_names_the_variable(environ: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ, dotenv=False)

    assert caught.value.source == variable
    assert str(caught.value).startswith(f"{variable}: ")


def test_bad_value_is_quoted_in_the_message() -> None:
    with pytest.raises(ConfigError, match="'abc'"):
        load_settings({"NEWSMON_POLL_INTERVAL": "abc"}, dotenv=False)


@pytest.mark.parametrize("raw", ["nan", "inf"])
def test_poll_interval_must_be_finite(raw: str) -> None:
    with pytest.raises(ConfigError, match="NEWSMON_POLL_INTERVAL"):
        load_settings({"NEWSMON_POLL_INTERVAL": raw}, dotenv=False)


def test_metrics_port_with_a_superscript_digit_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="NEWSMON_METRICS_PORT"):
        load_settings({"NEWSMON_METRICS_PORT": "80²"}, dotenv=False)


def test_email_to_needs_at_least_one_address() -> None:
    with pytest.raises(ConfigError, match="NEWSMON_EMAIL_TO"):
        load_settings({"NEWSMON_SMTP_URL": "smtp://mail.example",
                       "NEWSMON_EMAIL_FROM": "a@example.com", "NEWSMON_EMAIL_TO": " , "},
                      dotenv=False)


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No NEWSMON_* variable from the caller's shell, and a working directory of our own."""
    for name in list(os.environ):
        if name.startswith("NEWSMON_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_dotenv_file_sets_values(clean_environment: Path) -> None:
    (clean_environment / ".env").write_text(
        "NEWSMON_POLL_INTERVAL=42\nNEWSMON_NAMESPACE=from-file\n")

    settings = load_settings()

    assert settings.poll_interval == 42
    assert settings.namespace == "from-file"


def test_environment_overrides_dotenv(clean_environment: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    (clean_environment / ".env").write_text(
        "NEWSMON_POLL_INTERVAL=42\nNEWSMON_NAMESPACE=from-file\n")
    monkeypatch.setenv("NEWSMON_NAMESPACE", "from-env")

    settings = load_settings()

    assert settings.namespace == "from-env"
    assert settings.poll_interval == 42


def test_dotenv_is_ignored_when_disabled(clean_environment: Path) -> None:
    (clean_environment / ".env").write_text("NEWSMON_NAMESPACE=from-file\n")

    assert load_settings(dotenv=False).namespace == "newsmon"


def test_bad_value_in_dotenv_names_the_variable(clean_environment: Path) -> None:
    (clean_environment / ".env").write_text("NEWSMON_POLL_INTERVAL=soon\n")

    with pytest.raises(ConfigError, match=r"^NEWSMON_POLL_INTERVAL: "):
        load_settings()


def test_no_dotenv_file_is_fine(clean_environment: Path) -> None:
    assert load_settings().redis_url == "redis://localhost:6379/0"


# --- feed lists ---------------------------------------------------------------------------


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_yaml_list_form(tmp_path: Path) -> None:
    path = _write(tmp_path, "feeds.yaml", (
        "- url: https://a.example/rss\n"
        "  title: A\n"
        "- url: http://b.example/atom.xml\n"
    ))

    feeds = load_feeds(path)

    assert feeds == (
        Feed(id=feed_id("https://a.example/rss"), url="https://a.example/rss", title="A",
             interval=300),
        Feed(id=feed_id("http://b.example/atom.xml"), url="http://b.example/atom.xml",
             title="", interval=300),
    )


def test_yaml_mapping_form_with_interval_override(tmp_path: Path) -> None:
    path = _write(tmp_path, "feeds.yml", (
        "feeds:\n"
        "  - url: https://a.example/rss\n"
        "    interval: 60\n"
        "  - url: https://b.example/rss\n"
    ))

    feeds = load_feeds(path, default_interval=900)

    assert [(f.url, f.interval) for f in feeds] == [
        ("https://a.example/rss", 60), ("https://b.example/rss", 900)]


def test_duplicate_urls_are_kept_once(tmp_path: Path) -> None:
    path = _write(tmp_path, "feeds.yaml", (
        "- {url: 'https://a.example/rss', title: First}\n"
        "- {url: 'https://b.example/rss'}\n"
        "- {url: 'https://a.example/rss', title: Again}\n"
    ))

    feeds = load_feeds(path)

    assert [(f.url, f.title) for f in feeds] == [
        ("https://a.example/rss", "First"), ("https://b.example/rss", "")]


OPML = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>Subscriptions</title></head>
  <body>
    <outline text="News">
      <outline text="Europe" title="BBC Europe" type="rss"
               xmlUrl="https://feeds.bbci.co.uk/news/world/europe/rss.xml"/>
      <outline text="Deeper">
        <outline text="Al Jazeera" type="rss" xmlUrl="https://www.aljazeera.com/xml/rss/all.xml"/>
      </outline>
    </outline>
    <outline type="rss" xmlUrl="https://untitled.example/feed"/>
    <outline text="Europe again" xmlUrl="https://feeds.bbci.co.uk/news/world/europe/rss.xml"/>
  </body>
</opml>
"""


def test_opml_nested_outlines(tmp_path: Path) -> None:
    path = _write(tmp_path, "subs.opml", OPML)

    feeds = load_feeds(path, default_interval=120)

    assert [(f.url, f.title, f.interval) for f in feeds] == [
        ("https://feeds.bbci.co.uk/news/world/europe/rss.xml", "BBC Europe", 120),
        ("https://www.aljazeera.com/xml/rss/all.xml", "Al Jazeera", 120),
        ("https://untitled.example/feed", "", 120),
    ]


def test_opml_is_recognised_by_content_whatever_the_name(tmp_path: Path) -> None:
    path = _write(tmp_path, "subscriptions.txt", OPML)

    assert len(load_feeds(path)) == 3


def _config_error(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_feeds(path)
    return caught.value


@pytest.mark.parametrize(("text", "field"), [
    ("- url: https://a.example/rss\n- url: ftp://b.example/feed\n", "feeds[1].url"),
    ("- url: https://a.example/rss\n- url: /local/feed.xml\n", "feeds[1].url"),
    ("- url: https://a.example/rss\n  interval: 0.5\n", "feeds[0].interval"),
])
def test_feed_field_errors_name_file_and_field(tmp_path: Path, text: str, field: str) -> None:
    path = _write(tmp_path, "feeds.yaml", text)

    error = _config_error(path)

    assert (error.source, error.field) == (str(path), field)
    assert str(error).startswith(f"{path}: {field}: ")


def test_feed_url_error_quotes_the_url(tmp_path: Path) -> None:
    path = _write(tmp_path, "feeds.yaml", "- url: ftp://b.example/feed\n")

    assert "ftp://b.example/feed" in str(_config_error(path))


def test_unknown_key_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path, "feeds.yaml", "- url: https://a.example/rss\n  titel: typo\n")

    message = str(_config_error(path))

    assert message.startswith(f"{path}: ")
    assert "titel" in message
    assert "feeds[0]" in message


def test_wrong_type_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path, "feeds.yaml", "- url: https://a.example/rss\n  interval: hourly\n")

    message = str(_config_error(path))

    assert message.startswith(f"{path}: ")
    assert "feeds[0].interval" in message


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "feeds.yaml", "- url: https://a.example/rss\n- url: [unclosed\n")

    error = _config_error(path)

    assert error.source == str(path)
    assert error.field is not None
    assert error.field.startswith("line ")
    assert "YAML" in error.problem


def test_feed_interval_must_be_finite(tmp_path: Path) -> None:
    path = _write(tmp_path, "feeds.yaml", "- url: https://a.example/rss\n  interval: .nan\n")

    assert _config_error(path).field == "feeds[0].interval"


def test_opml_without_xml_url(tmp_path: Path) -> None:
    path = _write(tmp_path, "subs.opml",
                  '<opml version="2.0"><body><outline text="Folder"/></body></opml>')

    error = _config_error(path)

    assert (error.source, error.field) == (str(path), "outline")
    assert "xmlUrl" in error.problem


def test_opml_with_a_non_http_url_names_the_outline(tmp_path: Path) -> None:
    path = _write(tmp_path, "subs.opml", (
        '<opml version="2.0"><body><outline text="ok" xmlUrl="https://a.example/rss"/>'
        '<outline text="bad" xmlUrl="file:///etc/passwd"/></body></opml>'
    ))

    error = _config_error(path)

    assert error.field == "outline[1].xmlUrl"
    assert "file:///etc/passwd" in error.problem


def test_malformed_opml(tmp_path: Path) -> None:
    path = _write(tmp_path, "subs.opml", '<opml><body><outline xmlUrl="https://a.example/rss"')

    error = _config_error(path)

    assert error.source == str(path)
    assert "OPML" in error.problem


def test_opml_external_entities_are_not_read(tmp_path: Path) -> None:
    secret = _write(tmp_path, "secret.txt", "TOP-SECRET")
    path = _write(tmp_path, "subs.opml", (
        f'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY x SYSTEM "{secret.as_uri()}">]>'
        '<opml version="2.0"><body>'
        '<outline text="&x;" xmlUrl="https://a.example/rss"/></body></opml>'
    ))

    try:
        feeds = load_feeds(path)
    except ConfigError:
        return  # refusing the document outright is as good as not expanding it
    assert all("TOP-SECRET" not in feed.title for feed in feeds)


def test_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"

    error = _config_error(path)

    assert error.source == str(path)
    assert "cannot read" in error.problem


def test_feed_id_is_stable_across_processes() -> None:
    # The id is a Redis key: a fresh process (another hash seed) must compute the same one.
    url = "https://a.example/rss"
    code = f"from worker.config import feed_id; print(feed_id({url!r}))"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, env={**os.environ, "PYTHONHASHSEED": "12345"})

    assert other.stdout.strip() == feed_id(url)
    assert feed_id(url) != feed_id("https://a.example/rss2")


def test_dump_feeds_yaml_round_trips(tmp_path: Path) -> None:
    feeds = load_feeds(_write(tmp_path, "subs.opml", OPML), default_interval=45)
    feeds += (Feed(id=feed_id("https://q.example/?a=1&b=ü"), url="https://q.example/?a=1&b=ü",
                   title="Quotes \"and\": colons # hash", interval=math.pi),)

    written = _write(tmp_path, "feeds.yaml", dump_feeds_yaml(feeds))

    assert load_feeds(written) == feeds


@pytest.mark.parametrize(("name", "url"), [
    ("NEWSMON_REDIS_URL", "redis://:hunter2@127.0.0.1:abc/0"),
    ("NEWSMON_REDIS_URL", "http://:hunter2@127.0.0.1/0"),
    ("NEWSMON_SLACK_WEBHOOK_URL", "http://[::1/services/T0/B0/hunter2"),
])
def test_a_bad_url_is_named_without_its_secret(name: str, url: str) -> None:
    with pytest.raises(ConfigError, match=name) as caught:
        load_settings({name: url}, dotenv=False)
    assert "hunter2" not in str(caught.value)


def test_a_feed_url_that_does_not_parse_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds:\n  - url: http://[::1/feed\n")
    with pytest.raises(ConfigError) as caught:
        load_feeds(path)
    assert caught.value.field == "feeds[0].url"
