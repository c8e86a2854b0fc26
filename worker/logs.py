"""Structured logs on stderr: JSON lines when stderr is not a terminal, readable ones when it is.

newsmon's own events (``poll.done``, ``deliver.retry``…) are structlog events;
Celery's and the libraries' stdlib log records are rendered the same way, so
a log shipper sees one JSON object per line from every source.

Celery calls ``configure_logging`` in its processes through the
``setup_logging`` signal connected here (which also stops Celery from
installing its own handlers); importing ``worker.tasks`` imports this module.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import structlog
from celery import signals


def configure_logging(level: int = logging.INFO, stream: TextIO | None = None) -> None:
    """Send structlog events and stdlib records at ``level`` or above to ``stream`` (stderr)."""
    out = stream or sys.stderr
    renderer: structlog.typing.Processor = (
        structlog.dev.ConsoleRenderer() if out.isatty()
        else structlog.processors.JSONRenderer()
    )
    # The console renderer prints tracebacks itself; in JSON they become a string field.
    tracebacks: list[structlog.typing.Processor] = (
        [] if out.isatty() else [structlog.processors.format_exc_info])
    stamp = structlog.processors.TimeStamper(fmt="iso", utc=True)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            stamp,
            *tracebacks,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *tracebacks,
                    renderer],
        foreign_pre_chain=[structlog.stdlib.add_logger_name,
                           structlog.processors.add_log_level, stamp],
    ))
    logging.basicConfig(handlers=[handler], level=level, force=True)
    # httpx logs every request with its full URL, and a Slack webhook's path is a secret.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(max(level, logging.WARNING))


@signals.setup_logging.connect
def _celery_logging(loglevel: int | str | None = None, **_: Any) -> None:
    if isinstance(loglevel, str):
        loglevel = logging.getLevelName(loglevel.upper())
    configure_logging(loglevel if isinstance(loglevel, int) else logging.INFO)
