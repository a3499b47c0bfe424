"""Worked example: the read side shows a pseudonymous event with its teacher number from a
bounded memory of pairs, and a batch that fills that memory is still shown whole.

A bank with more learners than the memory (``MAX_REMEMBERED``, 200,000) had shown registered
learners of such a batch as erased (``erased:<pseudonym>`` in ``rm_completions``): the memory
started again while the batch was being shown."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import asyncpg
import pytest

from api.database import Database
from ledger.application import CreditBank
from projections.runner import ProjectionRunner
from projections.schema import ensure_schema
from tests.conftest import TODAY
from tests.integration.test_balance_properties import facts, prepare, register


def test_a_batch_past_the_memory_of_pairs_shows_every_learner_by_number(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("projections.personal.MAX_REMEMBERED", 3)
    bank = CreditBank(database.event_store_env(), today=lambda: TODAY)
    numbers = [f"L{i}" for i in range(6)]

    async def project() -> list[str]:
        pool = await asyncpg.create_pool(**database.asyncpg_kwargs(), min_size=1, max_size=2)
        try:
            async with pool.acquire() as conn:
                await ensure_schema(conn)
            runner = ProjectionRunner(pool)  # one runner, so one memory, for both batches
            for n in numbers[:4]:
                register(bank, n)
            await runner.catch_up()  # four pairs remembered: past the bound of three
            for n in numbers[4:]:
                register(bank, n)
            for i, n in enumerate(numbers):
                bank.record_completions([facts(n, i, ("online", Decimal("2"), "pass", TODAY))])
            await runner.catch_up()
            async with pool.acquire() as conn:
                rows = await conn.fetch("SELECT learner_id FROM rm_completions ORDER BY learner_id")
                return [r[0] for r in rows]
        finally:
            await pool.close()

    try:
        prepare(bank)
        assert asyncio.run(project()) == numbers
    finally:
        bank.close()
