"""Where a separate worker applies the read models (docker/compose.yaml, `serve --workers`),
the server learns their position from the worker's notices, not by asking on every read,
as worked examples over HTTP.

The worker announces each applied batch (``creditbank_applied``) in the transaction that
applies it; the server follows the notices while its notification connection stands, asks
``rm_tracking`` when it cannot know it heard them all, and then follows again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from api.database import Database
from api.service.context import SERVICES
from api.service.notifications import APPLICATION_NAME
from tests.e2e.conftest import TOKENS, Bank, completion, running_bank, seed, separate_worker


@pytest.fixture
async def worker_bank(database: Database, tmp_path: Path) -> AsyncIterator[Bank]:
    async with (
        separate_worker(database),
        running_bank(database, tmp_path / "keys", TOKENS, inline_projections=False) as bank,
    ):
        await seed(bank)
        yield bank


async def _post(bank: Bank, record_id: str) -> int:
    r = await bank.client.post("/v1/completions", headers=bank.auth("institution"), json=completion(record_id))
    assert r.status == 201, await r.text()
    return int((await r.json())["position"])


async def _balance_reaches(bank: Bank, position: int) -> dict[str, object]:
    for _ in range(200):
        r = await bank.client.get("/v1/learners/T-0001/balance", headers=bank.auth("hr"))
        body = await r.json()
        assert r.status == 200, body
        if int(body["at_position"]) >= position:
            return dict(body)
        await asyncio.sleep(0.01)
    raise AssertionError(f"the balance never reached position {position}: {body}")


async def test_the_server_follows_the_workers_position_from_its_notices(worker_bank: Bank) -> None:
    runner = worker_bank.client.app[SERVICES].runner
    assert not runner.active
    await _balance_reaches(worker_bank, 0)  # the first read asks; from then on it follows
    position = await _post(worker_bank, "ETH-1")
    # No read in between: the worker's notice alone moves the server's position.
    for _ in range(200):
        if runner.position >= position:
            break
        await asyncio.sleep(0.01)
    assert runner.position >= position
    body = await _balance_reaches(worker_bank, position)
    assert body["total"]["hours"] == "2.5"  # type: ignore[index]


async def _notification_session(conn: asyncpg.Connection) -> int | None:
    pid = await conn.fetchval(
        "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()",
        APPLICATION_NAME,
    )
    return None if pid is None else int(pid)


async def test_notices_missed_while_the_connection_was_lost_do_not_leave_reads_behind(
    worker_bank: Bank, database: Database
) -> None:
    await _balance_reaches(worker_bank, 0)  # following the notices now
    conn = await asyncpg.connect(**database.asyncpg_kwargs())
    try:
        lost = await _notification_session(conn)
        await conn.execute("SELECT pg_terminate_backend($1)", lost)
        # Applied while nobody listens (the server reopens after 0.1 s at the earliest):
        # the notice of this batch is lost, and no read happens until it listens again.
        position = await _post(worker_bank, "ETH-1")
        for _ in range(200):
            if (await _notification_session(conn)) not in (None, lost):
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the server did not reopen its notification connection")
        body = await _balance_reaches(worker_bank, position)
        assert body["total"]["hours"] == "2.5"  # type: ignore[index]
        # And it follows the notices again.
        again = await _post(worker_bank, "ETH-2")
        body = await _balance_reaches(worker_bank, again)
        assert body["total"]["hours"] == "5"  # type: ignore[index]
    finally:
        await conn.close()
