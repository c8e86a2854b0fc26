"""Keep the worker running: ``newsmon run`` starts Celery as a child and restarts it.

A Celery worker can exit on its own, for instance when Redis dies under it
while it holds unacknowledged messages (kombu then gives up with an
"Unrecoverable error"). Nothing is lost when that happens, since tasks are
acknowledged late and the outbox sweep resends what was owed, but the daemon
must come back, the way Docker's restart policy brings back the compose
worker. Signals are forwarded once, so Ctrl-C is one warm shutdown.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from types import FrameType

import structlog

from worker.errors import NewsmonError

log = structlog.get_logger("newsmon.supervise")

#: A child that exits sooner than this after starting counts as a failed start.
HEALTHY_AFTER_SECONDS = 30.0
#: Give up after this many failed starts in a row.
MAX_FAILED_STARTS = 5


def supervise(argv: Sequence[str], *, restart_delay: float = 2.0,
              healthy_after: float = HEALTHY_AFTER_SECONDS,
              max_failed_starts: int = MAX_FAILED_STARTS,
              sleep: Callable[[float], None] = time.sleep) -> int:
    """Run ``argv`` until it exits cleanly or we are told to stop; restart it otherwise.

    Returns the child's last exit code (0 after a clean stop).
    """
    stopping = False
    child: subprocess.Popen[bytes] | None = None

    def forward(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    failed_starts = 0
    try:
        while True:
            started = time.monotonic()
            # Its own session: a terminal's Ctrl-C reaches only us, and we forward it once.
            child = subprocess.Popen(list(argv), start_new_session=True)
            code = child.wait()
            if stopping or code == 0:
                return 0 if stopping else code
            failed_starts = failed_starts + 1 if time.monotonic() - started < healthy_after else 1
            if failed_starts >= max_failed_starts:
                raise NewsmonError(f"the worker exited {failed_starts} times in a row soon "
                                   f"after starting (last exit code {code}); see its log above")
            log.warning("worker.restart", exit_code=code, in_seconds=restart_delay)
            sleep(restart_delay)
            if stopping:  # Ctrl-C while we waited to restart
                return 0
    finally:
        if child is not None and child.poll() is None:
            child.terminate()
            child.wait()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
