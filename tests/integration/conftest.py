"""Fixtures shared by the integration tests: a bank on the test database, a read-side
connection and a read-side pool with the read models' schema, and a key ring in a
temporary directory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import asyncpg
import pytest

from api.database import Database
from ledger.application import CreditBank
from ledger.keys import KeyRing
from projections.runner import ProjectionRunner
from projections.schema import ensure_schema
from tests.conftest import TODAY

T = TypeVar("T")


@pytest.fixture
def bank(database: Database) -> Iterator[CreditBank]:
    bank = CreditBank(database.event_store_env(), today=lambda: TODAY)
    try:
        yield bank
    finally:
        bank.close()


@pytest.fixture
async def conn(database: Database) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(**database.asyncpg_kwargs())
    await ensure_schema(conn)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def pool(database: Database) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(**database.asyncpg_kwargs(), min_size=1, max_size=4)
    async with pool.acquire() as conn:
        await ensure_schema(conn)
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
def keys(tmp_path: Path) -> KeyRing:
    return KeyRing(tmp_path / "keys")


async def read_projected(database: Database, read: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    """Apply the read models up to the log head, then ``read`` them."""
    pool = await asyncpg.create_pool(**database.asyncpg_kwargs(), min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            await ensure_schema(conn)
        await ProjectionRunner(pool).catch_up()
        async with pool.acquire() as conn:
            return await read(conn)
    finally:
        await pool.close()
