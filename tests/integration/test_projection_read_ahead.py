"""Reading and decoding the next batch while the current one is applied changes nothing.

The runner reads ahead only with a pool connection to spare; with a pool of one it cannot.
Both ways, and with batches of every small size, the read models end up byte for byte the
same (``projections.digests``), and so do the tracking position and chain head.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from api.database import Database
from ledger.application import CreditBank
from projections import digests
from projections.runner import ProjectionRunner
from tests.integration.test_audit_tamper import write_log

READ_AHEAD: list[int] = []


@pytest.fixture(autouse=True)
def count_reads_ahead(monkeypatch: pytest.MonkeyPatch) -> None:
    real = ProjectionRunner._read_decoded

    async def counted(self: ProjectionRunner, after: int) -> Any:
        READ_AHEAD.append(after)
        return await real(self, after)

    monkeypatch.setattr(ProjectionRunner, "_read_decoded", counted)


async def state(database: Database, pool_size: int, batch_size: int, *, rebuild: bool) -> dict[str, Any]:
    pool = await asyncpg.create_pool(**database.asyncpg_kwargs(), min_size=1, max_size=pool_size)
    assert pool is not None
    READ_AHEAD.clear()
    try:
        runner = ProjectionRunner(pool, batch_size=batch_size)
        reached = await (runner.rebuild() if rebuild else runner.catch_up())
        async with pool.acquire() as conn:
            found = await digests.read_model_digests(conn)
            tracked = await conn.fetchrow("SELECT position, chain_hash FROM rm_tracking")
        assert reached == tracked["position"]
        assert bool(READ_AHEAD) == (pool_size > 1 and batch_size < reached)
        # Nothing is left reading on a pool connection.
        assert pool.get_idle_size() == pool.get_size()
        return {"digests": found, "position": tracked["position"], "head": bytes(tracked["chain_hash"])}
    finally:
        await pool.close()


async def test_reading_ahead_or_not_gives_the_same_read_models(bank: CreditBank, database: Database) -> None:
    write_log(bank, 25)
    alone = await state(database, pool_size=1, batch_size=4, rebuild=True)  # no connection to spare
    assert alone["position"] > 25
    for batch_size in (1, 2, 3, 7, 5000):
        assert await state(database, pool_size=3, batch_size=batch_size, rebuild=True) == alone
    # Catching up after more was written reads ahead too, from where it stood.
    write_log(bank, 40)
    caught_up = await state(database, pool_size=3, batch_size=3, rebuild=False)
    assert caught_up == await state(database, pool_size=1, batch_size=5, rebuild=True)
