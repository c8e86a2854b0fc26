"""Parse throughput: raw lxml (the floor), the fast path, and feedparser, per dialect.

Run: ``.venv/bin/python bench/parse.py [--entries 1000]``

The floor is the least any lxml parser must do: build the tree and read each
entry's title, link, description and date. The fast path must be within 1.5×
of it (issue 7); feedparser is the lenient fallback, shown for scale.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from harness import (
    BUILDERS,
    DIALECTS,
    FEED_URL,
    banner,
    best_seconds,
    load_corpus,
    lxml_floor,
    table,
    take,
)

from worker.parse import parse_feed_fast, parse_feed_lenient

TARGET_RATIO = 1.5


def reference_parsers() -> list[tuple[str, Callable[[bytes], object]]]:
    """Parsers shown for scale: feedparser (our fallback) and, if importable, fastfeedparser.

    fastfeedparser is not a dependency; put it on PYTHONPATH to see its row.
    """
    parsers: list[tuple[str, Callable[[bytes], object]]] = [
        ("feedparser", lambda body: parse_feed_lenient(body, FEED_URL))]
    try:
        import fastfeedparser  # type: ignore[import-not-found]
    except ImportError:
        print("fastfeedparser: not importable, row left out")
    else:
        parsers.append((f"fastfeedparser {fastfeedparser.__version__}", fastfeedparser.parse))
    return parsers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=1000, help="entries per feed body")
    args = parser.parse_args()

    banner(f"Parse: {args.entries} entries per body, one core, best of 7")
    corpus = load_corpus()
    references = reference_parsers()
    rows = []
    for dialect in DIALECTS:
        body = BUILDERS[dialect](take(corpus, args.entries))
        fast = parse_feed_fast(body, FEED_URL)
        assert fast is not None and len(fast.entries) == args.entries, dialect
        read_floor = lxml_floor(dialect)
        floor = best_seconds(lambda b=body, read=read_floor: read(b))
        timings = [("lxml floor", floor),
                   ("parse_feed_fast", best_seconds(lambda b=body: parse_feed_fast(b, FEED_URL)))]
        # feedparser is ~30× slower: fewer, single-loop repeats keep the run short.
        timings += [(name, best_seconds(lambda b=body, read=read: read(b), repeat=3,
                                        min_seconds=0)) for name, read in references]
        for name, seconds in timings:
            ratio = seconds / floor
            verdict = {"lxml floor": "floor", "parse_feed_fast": (
                "met" if ratio <= TARGET_RATIO else "NOT met")}.get(name, "—")
            rows.append((dialect, name, args.entries / seconds, f"{ratio:.2f}×",
                         f"{len(body) / seconds / 1e6:.1f}", verdict))
    print(table(("dialect", "parser", "entries/s", "time vs floor", "MB/s",
                 f"≤ {TARGET_RATIO}× floor"), rows))


if __name__ == "__main__":
    main()
