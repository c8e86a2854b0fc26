"""Redis memory per seen entry: the shipped layout, and denser ones for comparison.

Run: ``.venv/bin/python bench/redis_memory.py [--keys 100000]``

Each layout marks the same entry keys in an empty redis-server of this
script's own (no persistence, so INFO's ``used_memory`` is the data alone):

- ``RedisState.mark``: what ships, one hash per 30-day bucket with the entry
  key's 16-byte digest as field (EXPIRE on the bucket: expiry is per bucket,
  not per entry, since Redis 7.0 has no HEXPIRE);
- hex key: one string key per entry, ``newsmon:seen:<32 hex>``, SET EX (what
  shipped before);
- binary key: the same, with a 1-letter prefix and the 16-byte digest as the key.

The per-entry figure is the ``used_memory`` delta divided by the entries; the
target (issue 7) is 100 bytes.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

import redis
from harness import banner, table

from tests.servers import redis_server
from worker.parse import raw_entry
from worker.state import RedisState

TARGET_BYTES = 100
BATCH = 1000
#: The per-entry expiry of the one-key-per-entry layouts.
ENTRY_TTL_SECONDS = 90 * 24 * 3600


def entry_keys(count: int) -> list[str]:
    """Real dedupe keys: RawEntry.key of distinct entries."""
    return [raw_entry(own_id=f"https://news.example/{n}", title=f"t{n}", link="", published=None,
                      summary="").key for n in range(count)]


def mark_shipped(client: redis.Redis, keys: Sequence[str]) -> None:
    state = RedisState(client, "newsmon")
    for start in range(0, len(keys), BATCH):
        state.mark(keys[start : start + BATCH])


def mark_hex_key(client: redis.Redis, keys: Sequence[str]) -> None:
    for start in range(0, len(keys), BATCH):
        pipe = client.pipeline(transaction=False)
        for key in keys[start : start + BATCH]:
            pipe.set(f"newsmon:seen:{key}", b"", ex=ENTRY_TTL_SECONDS)
        pipe.execute()


def mark_binary(client: redis.Redis, keys: Sequence[str]) -> None:
    for start in range(0, len(keys), BATCH):
        pipe = client.pipeline(transaction=False)
        for key in keys[start : start + BATCH]:
            pipe.set(b"s" + bytes.fromhex(key), b"", ex=ENTRY_TTL_SECONDS)
        pipe.execute()


LAYOUTS: dict[str, Callable[[redis.Redis, Sequence[str]], None]] = {
    "RedisState.mark (shipped): HSET newsmon:seen:<bucket> <16 bytes>": mark_shipped,
    "hex key: newsmon:seen:<32 hex>, SET EX": mark_hex_key,
    "binary key: s<16 bytes>, SET EX": mark_binary,
}


def used_memory(client: redis.Redis) -> int:
    return int(client.info("memory")["used_memory"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keys", type=int, default=100_000)
    args = parser.parse_args()

    banner(f"Redis memory: {args.keys:,} seen entries per layout")
    keys = entry_keys(args.keys)
    rows = []
    with redis_server(appendonly=False) as server:
        client = redis.Redis.from_url(server.url)
        print(f"redis-server {client.info('server')['redis_version']}")
        for name, mark in LAYOUTS.items():
            client.flushdb()  # our own server, started above: nothing else lives in it
            before = used_memory(client)
            mark(client, keys)
            per_entry = (used_memory(client) - before) / len(keys)
            sample = next(iter(client.scan_iter(count=10)))
            usage = client.memory_usage(sample)
            usage_note = (f"{usage}" if client.type(sample) == b"string"
                          else f"{usage / client.hlen(sample):.1f} (hash / fields)")
            rows.append((name, f"{per_entry:.1f}", usage_note, f"{per_entry / TARGET_BYTES:.2f}×",
                         "met" if per_entry <= TARGET_BYTES else "NOT met"))
        client.close()
    print(table(("layout", "bytes/entry (used_memory Δ)", "MEMORY USAGE of one key",
                 "vs 100 B", "≤ 100 B"), rows))


if __name__ == "__main__":
    main()
