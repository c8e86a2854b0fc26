"""newsmon: a streaming news monitor that alerts on what is new and links back to earlier coverage.

``celery -A worker worker`` finds the Celery app here; it is imported lazily
so the pure pipeline modules can be used without configuring Celery.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["app"]


def __getattr__(name: str) -> Any:
    if name in {"app", "celery"}:
        from worker.errors import ConfigError

        try:
            from worker.tasks import app
        except ConfigError as exc:
            # `celery -A worker ...` with a bad setting: one line, not a traceback.
            print(f"newsmon: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
        return app
    raise AttributeError(f"module 'worker' has no attribute {name!r}")
