"""The installed ``newsmon`` command on bad input: one line naming the culprit, no traceback.

Each test runs the real console script as a subprocess, in a directory of its own and
with only the NEWSMON_* variables it sets, as a user would meet it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from tests.servers import LocalHTTPServer, Response, free_port
from worker.cli import main
from worker.config import load_feeds

NEWSMON = Path(sys.executable).with_name("newsmon")
ROW = {"feed_url": "https://news.example/rss", "feed_title": "Example News",
       "title": "Gas transit deal signed", "link": "https://news.example/a",
       "published": "2024-12-28T13:29:37+00:00", "description": "A deal."}
# Longer than any error path needs; a hang shows as a failure, not a stuck suite.
TIMEOUT = 60


def newsmon(*args: str, cwd: Path, env: dict[str, str] | None = None,
            ) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    # Anything that would need Redis fails fast rather than finding a real one.
    environ["NEWSMON_REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"
    environ.update(env or {})
    return subprocess.run([str(NEWSMON), *args], cwd=cwd, env=environ, capture_output=True,
                          text=True, timeout=TIMEOUT)


def assert_one_line_error(result: subprocess.CompletedProcess[str], code: int,
                          *mentions: str) -> str:
    """The command failed with ``code`` and said so in one line mentioning ``mentions``."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert result.returncode == code, result.stderr
    line = lines[0]
    assert line.startswith("newsmon: ")
    for text in mentions:
        assert text in line
    return line


def _jsonl(path: Path, *lines: str | Mapping[str, object]) -> Path:
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n"
                            for line in lines), encoding="utf-8")
    return path


def _malformed_rules(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "broken.yaml").write_text(
        "id: broken\nname: Broken\nseverity: urgent\nrequire: [[gas]]\n", encoding="utf-8")
    return rules


VALID_OPML = """<?xml version="1.0"?>
<opml version="2.0"><head><title>subs</title></head><body>
  <outline text="World">
    <outline text="BBC Europe" xmlUrl="https://feeds.bbci.co.uk/news/world/europe/rss.xml"/>
    <outline title="Al Jazeera" text="AJ" xmlUrl="https://www.aljazeera.com/xml/rss/all.xml"/>
  </outline>
</body></opml>
"""


# --- help ----------------------------------------------------------------------------------

def _command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [prefix]
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            paths += _command_paths(command, (*prefix, name))
        else:
            paths.append((*prefix, name))
    return paths


def test_help_of_the_installed_command(tmp_path: Path) -> None:
    result = newsmon("--help", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    for name in main.commands:
        assert name in result.stdout


# In-process: one interpreter start per command would cost ~0.5 s each for the same code.
@pytest.mark.parametrize("path", _command_paths(main), ids=lambda path: " ".join(path) or "-")
def test_help_of_every_command(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*path, "--help"], prog_name="newsmon")

    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Usage: {' '.join(('newsmon', *path))} ")


# --- settings ------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [("rules",), ("check", "feed.xml"),
                                  ("feeds", "import", "subs.opml"),
                                  ("replay", "stream.jsonl", "--out", "alerts.jsonl")])
def test_bad_poll_interval(tmp_path: Path, args: tuple[str, ...]) -> None:
    (tmp_path / "subs.opml").write_text(VALID_OPML)
    _jsonl(tmp_path / "stream.jsonl", ROW)

    result = newsmon(*args, cwd=tmp_path, env={"NEWSMON_POLL_INTERVAL": "abc"})

    assert_one_line_error(result, 2, "NEWSMON_POLL_INTERVAL", "'abc'")


@pytest.mark.parametrize("command", ["worker", "beat"])
def test_celery_with_a_bad_setting_says_so_in_one_line(tmp_path: Path, command: str) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    environ["NEWSMON_POLL_INTERVAL"] = "abc"
    result = subprocess.run([sys.executable, "-m", "celery", "-A", "worker", command],
                            cwd=tmp_path, env=environ, capture_output=True, text=True,
                            timeout=TIMEOUT)
    assert_one_line_error(result, 2, "NEWSMON_POLL_INTERVAL", "'abc'")


def test_bad_setting_in_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("NEWSMON_ALLOW_PRIVATE_NETWORKS=maybe\n")

    result = newsmon("rules", cwd=tmp_path)

    assert_one_line_error(result, 2, "NEWSMON_ALLOW_PRIVATE_NETWORKS", "'maybe'")


# --- replay --------------------------------------------------------------------------------

def test_replay_missing_input(tmp_path: Path) -> None:
    result = newsmon("replay", "missing.jsonl", "--out", "x", cwd=tmp_path)

    assert_one_line_error(result, 2, "missing.jsonl")
    assert not (tmp_path / "x").exists()


def test_replay_line_that_is_not_json(tmp_path: Path) -> None:
    _jsonl(tmp_path / "stream.jsonl", ROW, "", "{not json", ROW)

    result = newsmon("replay", "stream.jsonl", "--out", "x", cwd=tmp_path)

    assert_one_line_error(result, 2, "stream.jsonl", "line 3")


def test_replay_row_missing_a_key(tmp_path: Path) -> None:
    row = {k: v for k, v in ROW.items() if k != "link"}
    _jsonl(tmp_path / "stream.jsonl", ROW, row)

    result = newsmon("replay", "stream.jsonl", "--out", "x", cwd=tmp_path)

    assert_one_line_error(result, 2, "stream.jsonl", "line 2", "'link'")


def test_replay_row_with_a_wrong_type(tmp_path: Path) -> None:
    _jsonl(tmp_path / "stream.jsonl", {**ROW, "title": 5})

    result = newsmon("replay", "stream.jsonl", "--out", "x", cwd=tmp_path)

    assert_one_line_error(result, 2, "stream.jsonl", "line 1", "title")


def test_replay_row_that_is_not_an_object(tmp_path: Path) -> None:
    _jsonl(tmp_path / "stream.jsonl", "[1, 2]")

    result = newsmon("replay", "stream.jsonl", "--out", "x", cwd=tmp_path)

    assert_one_line_error(result, 2, "stream.jsonl", "line 1")


def test_replay_stream_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "stream.jsonl"
    path.write_bytes(json.dumps({**ROW, "title": "Kyïv"}, ensure_ascii=False)
                     .encode("latin-1") + b"\n")

    result = newsmon("replay", "stream.jsonl", "--out", "x", cwd=tmp_path)

    assert_one_line_error(result, 2, "stream.jsonl")


def test_replay_unwritable_output(tmp_path: Path) -> None:
    _jsonl(tmp_path / "stream.jsonl", ROW)

    result = newsmon("replay", "stream.jsonl", "--out", "no/such/dir/alerts.jsonl",
                     cwd=tmp_path)

    assert_one_line_error(result, 2, "no/such/dir/alerts.jsonl")


# --- check and rules -----------------------------------------------------------------------

def test_check_missing_source(tmp_path: Path) -> None:
    result = newsmon("check", "/nonexistent", cwd=tmp_path)

    assert_one_line_error(result, 2, "/nonexistent")


@pytest.mark.parametrize(("name", "body"), [
    ("picture.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01"),
    ("notes.txt", b"Just some notes.\nNot a feed at all.\n"),
    ("empty.xml", b""),
])
def test_check_file_that_is_not_a_feed(tmp_path: Path, name: str, body: bytes) -> None:
    (tmp_path / name).write_bytes(body)

    result = newsmon("check", name, cwd=tmp_path)

    assert_one_line_error(result, 2, name, "not a feed")


def test_check_url_that_is_not_a_feed(tmp_path: Path, http_server: LocalHTTPServer) -> None:
    http_server.routes["/page"] = lambda request: Response(
        200, b"Hello, this is plain text.\n", {"Content-Type": "text/plain"})
    url = http_server.url("/page")

    result = newsmon("check", url, cwd=tmp_path,
                     env={"NEWSMON_ALLOW_PRIVATE_NETWORKS": "1"})

    assert_one_line_error(result, 2, url)


def test_check_url_that_refuses(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/feed"

    result = newsmon("check", url, cwd=tmp_path, env={"NEWSMON_ALLOW_PRIVATE_NETWORKS": "1"})

    assert_one_line_error(result, 2, url)


def test_rules_with_a_malformed_rule(tmp_path: Path) -> None:
    rules = _malformed_rules(tmp_path)

    result = newsmon("rules", cwd=tmp_path, env={"NEWSMON_RULES": str(rules)})

    assert_one_line_error(result, 2, str(rules / "broken.yaml"), "severity")


def test_rules_test_with_a_malformed_rule(tmp_path: Path) -> None:
    rules = _malformed_rules(tmp_path)
    _jsonl(tmp_path / "stream.jsonl", ROW)

    result = newsmon("rules", "test", "broken", "stream.jsonl", cwd=tmp_path,
                     env={"NEWSMON_RULES": str(rules)})

    assert_one_line_error(result, 2, "broken.yaml", "severity")


def test_rules_test_unknown_rule(tmp_path: Path) -> None:
    _jsonl(tmp_path / "stream.jsonl", ROW)

    result = newsmon("rules", "test", "no-such-rule", "stream.jsonl", cwd=tmp_path)

    line = assert_one_line_error(result, 2, "'no-such-rule'")
    # It lists the rules there are, so the user can correct the name.
    assert "casualty-figure" in line


def test_backtest_missing_labels(tmp_path: Path) -> None:
    _jsonl(tmp_path / "stream.jsonl", ROW)

    result = newsmon("backtest", "stream.jsonl", "labels.jsonl", cwd=tmp_path)

    assert_one_line_error(result, 2, "labels.jsonl")


def test_backtest_labels_not_utf8(tmp_path: Path) -> None:
    _jsonl(tmp_path / "stream.jsonl", ROW)
    (tmp_path / "labels.jsonl").write_bytes(b'{"link": "\xff", "expected": []}\n')

    result = newsmon("backtest", "stream.jsonl", "labels.jsonl", cwd=tmp_path)

    assert_one_line_error(result, 2, "labels.jsonl")


# --- feeds ---------------------------------------------------------------------------------

def test_feeds_import_malformed_opml(tmp_path: Path) -> None:
    (tmp_path / "subs.opml").write_text('<opml><body><outline xmlUrl="https://a.example/rss"')

    result = newsmon("feeds", "import", "subs.opml", cwd=tmp_path)

    assert_one_line_error(result, 2, "subs.opml", "OPML")


def test_feeds_import_opml_without_feeds(tmp_path: Path) -> None:
    (tmp_path / "subs.opml").write_text('<opml><body><outline text="empty"/></body></opml>')

    result = newsmon("feeds", "import", "subs.opml", cwd=tmp_path)

    assert_one_line_error(result, 2, "subs.opml", "xmlUrl")


def test_feeds_import_prints_yaml_that_loads(tmp_path: Path) -> None:
    opml = tmp_path / "subs.opml"
    opml.write_text(VALID_OPML)

    result = newsmon("feeds", "import", "subs.opml", cwd=tmp_path,
                     env={"NEWSMON_POLL_INTERVAL": "600"})

    assert result.returncode == 0, result.stderr
    written = tmp_path / "feeds.yaml"
    written.write_text(result.stdout)
    feeds = load_feeds(written)
    assert feeds == load_feeds(opml, default_interval=600)
    assert [f.title for f in feeds] == ["BBC Europe", "Al Jazeera"]


def test_feeds_import_to_a_file(tmp_path: Path) -> None:
    (tmp_path / "subs.opml").write_text(VALID_OPML)

    result = newsmon("feeds", "import", "subs.opml", "--out", "feeds.yaml", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert len(load_feeds(tmp_path / "feeds.yaml")) == 2


def test_feeds_import_unwritable_output(tmp_path: Path) -> None:
    (tmp_path / "subs.opml").write_text(VALID_OPML)

    result = newsmon("feeds", "import", "subs.opml", "--out", "no/such/dir/feeds.yaml",
                     cwd=tmp_path)

    assert_one_line_error(result, 2, "no/such/dir/feeds.yaml")


def test_run_with_a_bad_feed_list(tmp_path: Path) -> None:
    (tmp_path / "feeds.yaml").write_text("- url: https://a.example/rss\n- url: ftp://b/\n")

    result = newsmon("run", "--feeds", "feeds.yaml", cwd=tmp_path)

    assert_one_line_error(result, 2, "feeds.yaml", "feeds[1].url")


@pytest.mark.parametrize("args", [("feeds",), ("feeds", "--json"), ("status",)])
def test_unreachable_redis(tmp_path: Path, args: tuple[str, ...]) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"

    result = newsmon(*args, cwd=tmp_path, env={"NEWSMON_REDIS_URL": url})

    line = assert_one_line_error(result, 1, "Redis", "127.0.0.1")
    assert "NEWSMON_REDIS_URL" in line
