"""The runner and an event it cannot apply, on a real PostgreSQL: a rebuild (or a catch-up)
applies everything before the event, records the incident, and stops there, naming it;
the description keeps the error's wording but none of the values it quoted."""

from __future__ import annotations

from datetime import date

import asyncpg
import pytest

from ledger.application import Accreditation, CreditBank
from ledger.provider import Provider
from projections import incidents
from projections.eventlog import PROJECTION
from projections.incidents import EventNotApplied, describe
from projections.runner import ProjectionRunner


def _provider(provider_id: str) -> Provider:
    return Provider(
        provider_id=provider_id,
        name="名",
        jurisdiction="220000",
        categories=["ethics"],
        levels=["county"],
        valid_from=date(2020, 1, 1),
        valid_to=None,
    )


@pytest.mark.parametrize("before", [1, 37])
async def test_a_rebuild_stops_at_the_event_it_cannot_apply_and_names_it(
    bank: CreditBank, pool: asyncpg.Pool, before: int
) -> None:
    bank.accredit_provider(Accreditation("P1", "学院", "220000", ("ethics",), ("county",), date(2020, 1, 1), None))
    providers = (
        [_provider(f"G{i}") for i in range(before)] + [_provider("P\x003")] + [_provider(f"H{i}") for i in range(20)]
    )
    positions = [r.notification.id for r in bank.save(*providers)]
    good, bad = positions[before - 1], positions[before]
    for attempt in (1, 2):
        runner = ProjectionRunner(pool)
        with pytest.raises(EventNotApplied) as stuck:
            await (runner.rebuild() if attempt == 1 else runner.catch_up())
        assert stuck.value.incident.position == bad and runner.position == good
        async with pool.acquire() as conn:
            recorded = await incidents.current(conn, PROJECTION)
            assert recorded is not None and recorded.position == bad and recorded.attempts == attempt
            assert recorded.topic == "ledger.provider:Provider.Accredited"
            assert await conn.fetchval("SELECT count(*) FROM rm_providers") == 1 + before
    assert "P\x003" not in str(stuck.value)


async def test_a_description_keeps_the_wording_and_drops_the_values(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await conn.execute("CREATE TABLE t (id text PRIMARY KEY)")
        await conn.execute("INSERT INTO t VALUES ('220106201500009')")
        with pytest.raises(asyncpg.UniqueViolationError) as duplicate:
            await conn.execute("INSERT INTO t VALUES ('220106201500009')")
        with pytest.raises(asyncpg.DataError) as syntax:
            await conn.execute("SELECT $1::text::uuid", "王芳-220106201500009")
    assert describe(duplicate.value) == 'duplicate key value violates unique constraint "t_pkey"'
    assert "220106201500009" not in describe(syntax.value) and "invalid input syntax" in describe(syntax.value)
    assert describe(KeyError("王芳")) == "'…'"
    assert describe(ValueError("a\x00b\nc")) == "a?b?c"
