"""The two references, each run in its own process so its memory can be sampled:

``python -m bench.refs library --database-url URL --size SIZE``
    the ``eventsourcing`` library saving the same completion events directly:
    ``CreditBank(...).save(*aggregates)`` of 100 new ``Completion`` aggregates per call,
    on a fresh database (no HTTP, no validation, no idempotency look-ups), each made and
    encoded the library's own way (``@event`` ``_create``, ``JSONTranscoder``).

``python -m bench.refs copy --database-url URL``
    PostgreSQL ``COPY`` (asyncpg ``copy_records_to_table``) of the same rows (read back
    from the library reference's event table) into a table of the same shape (``LIKE
    creditbank_events INCLUDING ALL``: same columns, primary key, unique index and
    sequence), 1,000 rows per COPY like the HTTP batches.

Each prints one JSON line: count, seconds, latencies (ms) of each save/COPY.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import date
from typing import Any

from api.database import Database
from bench.data import SIZES, Sizes, batches, facts_of

PER_SAVE = 100
PER_COPY = 1000


def library(db: Database, sizes: Sizes) -> dict[str, Any]:
    from ledger.application import CreditBank
    from ledger.completion import Completion

    # The library as it comes: its JSONTranscoder (not the ledger's orjson one) and the
    # ``@event`` machinery (``_create``, not ``Completion.record``'s shortcut), so that the
    # reference stays what the library itself does with these events.
    env = {**db.event_store_env(), "TRANSCODER_TOPIC": "eventsourcing.persistence:JSONTranscoder"}
    bank = CreditBank(env, today=lambda: date(2026, 11, 26))
    recorded: Any = Completion.Recorded  # type: ignore[attr-defined]

    def record(facts: Any) -> Completion:
        return Completion._create(recorded, id=facts.completion_id, **facts.as_event_kwargs())

    latencies: list[float] = []
    count = 0
    save_seconds = 0.0
    started = time.perf_counter()
    try:
        for provider_id, items in batches(sizes):
            for i in range(0, len(items), PER_SAVE):
                aggregates = [record(facts_of(provider_id, it)) for it in items[i : i + PER_SAVE]]
                t0 = time.perf_counter()
                bank.save(*aggregates)
                dt = time.perf_counter() - t0
                save_seconds += dt
                latencies.append(dt * 1000)
                count += len(aggregates)
        seconds = time.perf_counter() - started
    finally:
        bank.close()
    return {
        "count": count,
        "seconds": seconds,
        "save_seconds": save_seconds,
        "latencies_ms": latencies,
        "per_call": PER_SAVE,
    }


async def copy(db: Database) -> dict[str, Any]:
    import asyncpg

    conn = await asyncpg.connect(**db.asyncpg_kwargs())
    try:
        await conn.execute("DROP TABLE IF EXISTS copy_events")
        await conn.execute("CREATE TABLE copy_events (LIKE creditbank_events INCLUDING ALL)")
        columns = ["originator_id", "originator_version", "topic", "state"]
        latencies: list[float] = []
        count = 0
        copy_seconds = 0.0
        after = 0
        while True:
            rows = await conn.fetch(
                "SELECT notification_id, originator_id, originator_version, topic, state"
                " FROM creditbank_events WHERE notification_id > $1 ORDER BY notification_id LIMIT 50000",
                after,
            )
            if not rows:
                break
            after = rows[-1][0]
            records = [tuple(r[1:]) for r in rows]
            for i in range(0, len(records), PER_COPY):
                chunk = records[i : i + PER_COPY]
                t0 = time.perf_counter()
                await conn.copy_records_to_table("copy_events", records=chunk, columns=columns)
                dt = time.perf_counter() - t0
                copy_seconds += dt
                latencies.append(dt * 1000)
                count += len(chunk)
        copied = await conn.fetchval("SELECT count(*) FROM copy_events")
        assert copied == count, (copied, count)
    finally:
        await conn.close()
    return {"count": count, "seconds": copy_seconds, "latencies_ms": latencies, "per_call": PER_COPY}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.refs")
    parser.add_argument("which", choices=("library", "copy"))
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--size", default="1m", choices=sorted(SIZES))
    args = parser.parse_args(argv)
    db = Database.from_url(args.database_url)
    result = library(db, SIZES[args.size]) if args.which == "library" else asyncio.run(copy(db))
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
