"""Structured logs: one JSON object per line off a terminal, from structlog and stdlib alike."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog
from celery import Celery

from worker.logs import configure_logging


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    structlog.reset_defaults()
    root.handlers[:], root.level = handlers, level


def test_events_and_stdlib_records_are_json_lines() -> None:
    out = io.StringIO()  # not a terminal
    configure_logging(stream=out)

    structlog.get_logger("newsmon.tasks").bind(task_id="t-1").info(
        "poll.done", status="new", new_entries=3, alerts=1)
    logging.getLogger("celery.worker").warning("connection lost")
    logging.getLogger("celery.worker").debug("not shown at INFO")

    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["event"] == "poll.done" and first["task_id"] == "t-1"
    assert (first["status"], first["new_entries"], first["alerts"]) == ("new", 3, 1)
    assert first["level"] == "info" and first["timestamp"].endswith("Z")
    assert second["event"] == "connection lost"
    assert (second["level"], second["logger"]) == ("warning", "celery.worker")


def test_celery_sets_up_logging_through_newsmon(capsys: pytest.CaptureFixture[str]) -> None:
    app = Celery("logs-test", set_as_current=False)

    app.log.setup_logging_subsystem(loglevel="WARNING")
    structlog.get_logger("newsmon.tasks").info("hidden below WARNING")
    structlog.get_logger("newsmon.tasks").warning("deliver.retry", channel="slack")

    lines = capsys.readouterr().err.splitlines()
    assert [json.loads(line)["event"] for line in lines] == ["deliver.retry"]


def test_json_logs_carry_the_traceback_as_text() -> None:
    import io
    import json
    import logging

    from worker.logs import configure_logging

    out = io.StringIO()
    configure_logging(stream=out)
    try:
        raise ValueError("poison")
    except ValueError:
        logging.getLogger("celery.worker").critical("Unrecoverable error", exc_info=True)
    record = json.loads(out.getvalue().splitlines()[-1])
    assert "Traceback" in record["exception"] and "ValueError: poison" in record["exception"]


def test_request_logs_that_carry_the_webhook_path_are_off() -> None:
    import io
    import logging

    import httpx

    from tests.servers import LocalHTTPServer, Response
    from worker.logs import configure_logging

    out = io.StringIO()
    configure_logging(stream=out)
    with LocalHTTPServer() as server:
        server.routes["/services/T0/B0/secret"] = lambda request: Response(200, b"ok")
        httpx.post(server.url("/services/T0/B0/secret"), json={})
    logging.getLogger("newsmon.test").info("done")
    assert "secret" not in out.getvalue() and "done" in out.getvalue()
