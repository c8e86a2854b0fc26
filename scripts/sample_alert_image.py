"""Render the README's sample alert email to docs/sample-alert-email.png.

Run: ``.venv/bin/python scripts/sample_alert_image.py`` (needs Debian's
``chromium``: it only makes the picture, newsmon itself never uses it).

The alert is real: the first ``casualty-figure`` alert of the held-out
evaluation stream, run through the same pipeline and email template as the
daemon.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from worker.cli import stories_from_jsonl
from worker.config import load_settings
from worker.render import email_message
from worker.wiring import memory_monitor

REPO = Path(__file__).resolve().parent.parent
STREAM = REPO / "tests" / "data" / "eval" / "heldout.jsonl"
OUT = REPO / "docs" / "sample-alert-email.png"


def main() -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        sys.exit("chromium is not installed (Debian: apt-get install chromium)")
    monitor = memory_monitor(load_settings())
    assessments = monitor.process_stories(stories_from_jsonl(STREAM), now=datetime.now(UTC))
    alert = next(a for result in assessments for a in result.alerts
                 if a.rule_id == "casualty-figure")
    message = email_message(alert, sender="newsmon@newsroom.example",
                            recipients=["desk@newsroom.example"], thread_root=None)
    html = message.get_body(("html",))
    assert html is not None
    with tempfile.TemporaryDirectory() as workdir:
        page = Path(workdir) / "alert.html"
        page.write_text(str(html.get_content()), encoding="utf-8")
        subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={workdir}/profile", "--hide-scrollbars",
             f"--screenshot={OUT}", "--window-size=900,900", page.as_uri()],
            check=True, capture_output=True, timeout=60)
    print(f"wrote {OUT} ({message['Subject']})")


if __name__ == "__main__":
    main()
