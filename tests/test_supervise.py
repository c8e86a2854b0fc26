"""``newsmon run`` keeps its worker running: restart on a crash, one clean stop on a signal."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from worker.errors import NewsmonError
from worker.supervise import supervise


def child(script: str) -> list[str]:
    return [sys.executable, "-c", script]


def test_a_crashed_worker_is_restarted_until_it_exits_cleanly(tmp_path: Path) -> None:
    starts = tmp_path / "starts"
    # Exits 1 on its first two starts, then 0.
    script = (f"import pathlib,sys; p=pathlib.Path({str(starts)!r}); "
              "n=len(p.read_text()) if p.exists() else 0; p.write_text('x'*(n+1)); "
              "sys.exit(1 if n < 2 else 0)")
    assert supervise(child(script), restart_delay=0, sleep=lambda s: None) == 0
    assert starts.read_text() == "xxx"


def test_a_worker_that_keeps_failing_at_start_is_reported(tmp_path: Path) -> None:
    with pytest.raises(NewsmonError, match="exited 3 times in a row"):
        supervise(child("import sys; sys.exit(7)"), restart_delay=0, max_failed_starts=3,
                  sleep=lambda s: None)


def test_a_stop_signal_is_forwarded_once_and_not_restarted(tmp_path: Path) -> None:
    seen = tmp_path / "signals"
    script = ("import signal,sys,time,pathlib\n"
              f"p=pathlib.Path({str(seen)!r})\n"
              "def on(s,f):\n p.write_text(p.read_text()+'T' if p.exists() else 'T'); "
              "time.sleep(0.3); sys.exit(0)\n"
              "signal.signal(signal.SIGTERM,on)\n"
              "p.write_text('')\n"
              "time.sleep(30)\n")
    timer = threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGTERM))
    timer.start()
    started = time.monotonic()
    assert supervise(child(script), restart_delay=0) == 0
    assert time.monotonic() - started < 10
    assert seen.read_text() == "T"
