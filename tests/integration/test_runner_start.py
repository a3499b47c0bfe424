"""A runner that starts on read models already applied answers their position from the first
moment, never the one it started with.

Worked example: the log holds 20 completions and the read models were applied up to its head
by an earlier process. A new runner starts (``run``) on that database: every time a read asks
it for the read models' position while it takes the applier role, the answer is the head. It
had answered 0 for the moment between winning the applier lock and loading the tracking row,
and a read then (a certificate, a policy) found nothing.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from ledger.application import CreditBank
from projections.eventlog import applied_position
from projections.runner import ProjectionRunner
from tests.integration.test_audit_tamper import write_log


async def test_a_starting_runner_never_answers_an_older_position(
    bank: CreditBank, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_log(bank, 20)
    reached = await ProjectionRunner(pool).catch_up()
    assert reached > 20
    real = ProjectionRunner._reload

    async def slow_reload(self: ProjectionRunner, conn: Any) -> None:
        await asyncio.sleep(0.05)  # a busy database: the tracking row takes a while to read
        await real(self, conn)

    monkeypatch.setattr(ProjectionRunner, "_reload", slow_reload)
    runner = ProjectionRunner(pool, poll_interval=0.01)
    task = asyncio.create_task(runner.run())
    answers: list[int] = []
    try:
        async with pool.acquire() as conn:
            assert await applied_position(conn) == reached
            # Only reads made while the runner applies: a read before asks the tracking row
            # itself, and would tell the runner the position.
            for _ in range(5000):
                if runner.active:
                    answers.append(await runner.applied_position(conn, hearing=False))
                    if len(answers) >= 20:
                        break
                await asyncio.sleep(0.001)
        assert len(answers) >= 20, "the runner never took the applier role"
        assert set(answers) == {reached}, sorted(set(answers))
    finally:
        await runner.stop()
        await task
