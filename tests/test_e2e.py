"""End to end: real celery worker and beat processes, a real redis-server, a local feed,
Slack endpoint and SMTP server. A feed change becomes one Slack post and one email."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.processes import celery, wait_until
from tests.sample_feed import NEW_FIGURE, REPEAT, UNRELATED, rss
from tests.servers import LocalHTTPServer, Response, redis_server
from tests.smtp_servers import smtp_server

pytestmark = [pytest.mark.slow, pytest.mark.integration]

HOSTILE = ("<!channel> 4,500 North Korean soldiers killed or wounded <https://evil.example|click>"
           " & more < 5 >\r\nBcc: everyone@evil.example",
           "<script>alert(1)</script> Ukraine says 4,500 North Korean troops were killed or "
           "wounded.")


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[LocalHTTPServer, dict[str, str]]]:
    with redis_server() as redis, LocalHTTPServer() as web:
        feeds = tmp_path / "feeds.yaml"
        feeds.write_text(f"feeds:\n  - url: {web.url('/feed.xml')}\n    title: Local Wire\n"
                         f"    interval: 1\n")
        env = {
            **os.environ,
            "NEWSMON_REDIS_URL": redis.url,
            "NEWSMON_FEEDS": str(feeds),
            "NEWSMON_ALLOW_PRIVATE_NETWORKS": "on",
            "NEWSMON_SLACK_WEBHOOK_URL": web.url("/slack"),
            "NEWSMON_EMAIL_FROM": "newsmon@example.test",
            "NEWSMON_EMAIL_TO": "desk@example.test",
        }
        yield web, env


def test_feed_change_reaches_slack_and_email_once(stack, tmp_path: Path) -> None:
    web, env = stack
    feed = {"items": [UNRELATED]}
    web.routes["/feed.xml"] = lambda request: Response(200, rss(feed["items"]),
                                                       {"Content-Type": "application/rss+xml"})
    web.routes["/slack"] = lambda request: Response(200, b"ok")
    with smtp_server() as (smtp_port, mailbox):
        env["NEWSMON_SMTP_URL"] = f"smtp://127.0.0.1:{smtp_port}?tls=none"
        with celery(["worker", "--concurrency", "1", "--loglevel", "INFO"], env,
                    tmp_path / "worker.log"), \
             celery(["beat", "--schedule", str(tmp_path / "schedule"), "--loglevel", "INFO"],
                    env, tmp_path / "beat.log"):
            wait_until(lambda: len(web.requests_to("/feed.xml")) >= 2, 60,
                       "two polls of the feed")
            assert web.requests_to("/slack") == []
            feed["items"] = [UNRELATED, REPEAT, NEW_FIGURE]
            wait_until(lambda: len(web.requests_to("/slack")) >= 1 and mailbox.envelopes, 60,
                       "a Slack post and an email")
            # A hostile headline: Slack control sequences and a header injection.
            feed["items"] = [UNRELATED, REPEAT, NEW_FIGURE, HOSTILE]
            wait_until(lambda: len(web.requests_to("/slack")) >= 2
                       and len(mailbox.envelopes) >= 2, 60, "the hostile story's alert")
            polls = len(web.requests_to("/feed.xml"))
            wait_until(lambda: len(web.requests_to("/feed.xml")) >= polls + 3, 30,
                       "three more polls")
    posts = [json.loads(r.body) for r in web.requests_to("/slack")]
    assert len(posts) == 2, "one alert per new figure, each once (the repeat never alerts)"
    assert "4,000" in posts[0]["text"]
    hostile = json.dumps(posts[1])
    assert "4,500" in posts[1]["text"]
    # Tag-like text is stripped as HTML; what is left of <, >, & is escaped for Slack.
    assert "<!channel>" not in hostile and "evil.example|click" not in hostile
    assert "&amp; more &lt; 5 &gt;" in hostile
    posted = json.dumps(posts[0])
    assert "Ukraine's leader highlights growing North Korean involvement" in posted  # seed 000
    assert "more than 3,000 North Korean military personnel" in posted  # its quoted sentence
    messages = mailbox.messages()
    assert len(messages) == 2
    assert "North Korean casualties" in messages[0]["Subject"]
    assert messages[1]["Bcc"] is None and "\n" not in messages[1]["Subject"]
    assert "<!channel>" not in str(messages[1].get_body(("html",)))
    # Repeat polls are conditional when the server gives validators; ours gives none,
    # so the body hash makes them no-ops: the feed was polled, nothing alerted twice.
    assert polls >= 3
