"""The notification connection, as worked examples on a real PostgreSQL.

A notice committed elsewhere before a barrier was called has been handled when that
barrier returns True; concurrent barriers share round trips; a lost connection makes
the barrier say False, runs the gap hooks, and is reopened by itself.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import AsyncIterator

import asyncpg
import pytest

from api.database import Database
from api.service.notifications import APPLICATION_NAME, Notifications

CHANNEL = "creditbank_test_channel"


class Heard:
    def __init__(self) -> None:
        self.payloads: list[str] = []
        self.gaps = 0


@pytest.fixture
async def listening(database: Database) -> AsyncIterator[tuple[Notifications, Heard]]:
    heard = Heard()

    def gap() -> None:
        heard.gaps += 1

    notifications = Notifications(database.asyncpg_kwargs(), handlers={CHANNEL: heard.payloads.append}, on_gap=[gap])
    await notifications.start()
    try:
        yield notifications, heard
    finally:
        await notifications.close()


def notify_from_elsewhere(database: Database, payload: str) -> None:
    """Commit a NOTIFY from another thread's event loop while this one is blocked, so
    the listener cannot have read it before the barrier is asked for."""

    async def send() -> None:
        conn = await asyncpg.connect(**database.asyncpg_kwargs())
        try:
            await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)
        finally:
            await conn.close()

    with concurrent.futures.ThreadPoolExecutor(1) as elsewhere:
        elsewhere.submit(asyncio.run, send()).result()


async def test_a_notice_committed_before_the_barrier_is_handled_when_it_returns(
    database: Database, listening: tuple[Notifications, Heard]
) -> None:
    notifications, heard = listening
    for i in range(30):
        notify_from_elsewhere(database, f"token-{i}")
        assert await notifications.barrier()
        assert heard.payloads[-1] == f"token-{i}"
    assert heard.payloads == [f"token-{i}" for i in range(30)]


async def test_two_hundred_concurrent_barriers_share_a_few_round_trips(
    listening: tuple[Notifications, Heard],
) -> None:
    notifications, _ = listening
    before = notifications.round_trips
    assert all(await asyncio.gather(*[notifications.barrier() for _ in range(200)]))
    # One round leaves with the first caller; the rest gather for the next one.
    assert notifications.round_trips - before == 2


async def test_a_lost_connection_says_so_runs_the_gap_hooks_and_comes_back(
    database: Database, listening: tuple[Notifications, Heard]
) -> None:
    notifications, heard = listening
    conn = await asyncpg.connect(**database.asyncpg_kwargs())
    try:
        pids = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()",
            APPLICATION_NAME,
        )
        assert len(pids) == 1
        await conn.execute("SELECT pg_terminate_backend($1)", pids[0]["pid"])
        # Lost: the barrier cannot vouch for anything until the connection is back.
        for _ in range(100):
            if not notifications.listening:
                break
            await asyncio.sleep(0.01)
        assert heard.gaps >= 1
        for _ in range(300):
            if notifications.listening:
                break
            assert not await notifications.barrier()
            await asyncio.sleep(0.01)
        assert notifications.listening
        assert heard.gaps == 2  # once when lost, once when back
        notify_from_elsewhere(database, "after")
        assert await notifications.barrier()
        assert heard.payloads[-1] == "after"
    finally:
        await conn.close()
