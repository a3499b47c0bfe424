"""Deterministic digests of the read models, to show two builds of them are the same.

Invariants:
- a table's digest is sha256 over its rows in primary-key order, each row as PostgreSQL's
  text form of the whole row followed by a newline, read with ``TimeZone`` UTC and
  ``DateStyle`` ISO so the server's settings cannot change it;
- every table in ``read_models.TABLES`` is digested (a table is covered as soon as its
  read model lists it there); ``rm_tracking`` is not (its ``updated_at`` is a clock
  reading), its position and chain head are reported instead;
- digests are read in one repeatable-read transaction, so they describe one position.
"""

from __future__ import annotations

from hashlib import sha256
from typing import Any, Final

from projections.eventlog import APPLIED_CHAIN_SQL, PROJECTION
from projections.read_models import TABLES

_KEY_SQL: Final = """
SELECT a.attname FROM pg_index x
JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = ANY(x.indkey)
WHERE x.indrelid = $1::regclass AND x.indisprimary
ORDER BY array_position(x.indkey::int2[], a.attnum)
"""


async def _table_digest(conn: Any, table: str) -> tuple[str, int]:
    keys = [r[0] for r in await conn.fetch(_KEY_SQL, table)]
    order = ", ".join(f'"{k}"' for k in keys) if keys else "t::text"
    digest, count = sha256(), 0
    async for row in conn.cursor(f"SELECT t::text FROM {table} t ORDER BY {order}", prefetch=5000):
        digest.update(row[0].encode())
        digest.update(b"\n")
        count += 1
    return digest.hexdigest(), count


async def read_model_digests(conn: Any) -> dict[str, Any]:
    """``{"position", "chain_head", "tables": {table: {"sha256", "rows"}}}``."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        await conn.execute(
            "SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL extra_float_digits = 1"
        )
        tracking = await conn.fetchrow(APPLIED_CHAIN_SQL, PROJECTION)
        tables = {}
        for table in TABLES:
            value, count = await _table_digest(conn, table)
            tables[table] = {"sha256": value, "rows": count}
    return {
        "position": int(tracking[0]) if tracking else 0,
        "chain_head": bytes(tracking[1]).hex() if tracking else None,
        "tables": tables,
    }
