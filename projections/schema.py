"""The read models' tables, created idempotently, and their reset for a rebuild.

Invariants:
- ``ensure_schema`` may run any number of times, from several processes at once: it
  serialises on a transaction-scoped advisory lock and only creates what is missing;
- every read model (``read_models.READ_MODELS``) is derived from the event log alone, so
  ``reset`` may empty them all at any time; it rewinds the tracking row in the same transaction, so a reader never
  sees empty tables claiming a non-zero position;
- ``reset`` locks the tracking row before truncating, the same order an applying batch
  takes its locks in, so a reset racing a batch waits instead of deadlocking.
"""

from __future__ import annotations

from typing import Any, Final

from projections import incidents
from projections.chain import GENESIS
from projections.eventlog import PROJECTION, TRACKING_TABLE
from projections.read_models import READ_MODELS, TABLES

#: Arbitrary constant keys for advisory locks (any two distinct bigints would do).
SCHEMA_LOCK_KEY: Final = 0x63620001
APPLIER_LOCK_KEY: Final = 0x63620002

_TRACKING_DDL: Final = f"""
CREATE TABLE IF NOT EXISTS {TRACKING_TABLE} (
    projection text PRIMARY KEY,
    position bigint NOT NULL,
    chain_hash bytea NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
"""


async def ensure_schema(conn: Any) -> None:
    """Create every read-model table and index that is missing, and the tracking row."""
    async with conn.transaction():
        # Two processes starting together would otherwise race on CREATE ... IF NOT
        # EXISTS, which is not atomic against the catalog.
        await conn.execute("SELECT pg_advisory_xact_lock($1)", SCHEMA_LOCK_KEY)
        await conn.execute(_TRACKING_DDL)
        for model in READ_MODELS:
            await conn.execute(model.ddl)
        await conn.execute(incidents.DDL)
        await conn.execute(
            f"INSERT INTO {TRACKING_TABLE} (projection, position, chain_hash) VALUES ($1, 0, $2) "
            "ON CONFLICT (projection) DO NOTHING",
            PROJECTION,
            GENESIS,
        )


async def reset(conn: Any) -> None:
    """Empty every read model and rewind the tracking row to position 0."""
    async with conn.transaction():
        await conn.execute(
            f"INSERT INTO {TRACKING_TABLE} (projection, position, chain_hash) VALUES ($1, 0, $2) "
            "ON CONFLICT (projection) DO UPDATE "
            "SET position = 0, chain_hash = EXCLUDED.chain_hash, updated_at = now()",
            PROJECTION,
            GENESIS,
        )
        await conn.execute(f"TRUNCATE {', '.join(TABLES)}")
