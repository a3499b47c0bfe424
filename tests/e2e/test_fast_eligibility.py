"""The fast verdict read (``projections.fast_eligibility``) gives the plain queries' inputs:
the same scope row, facts, policies in force and policies known, at every position of a
real log, and the policy cache follows a publication without being told."""

from __future__ import annotations

from datetime import date

import asyncpg

from ledger.vocabulary import parent_chain
from projections import fast_eligibility, policies, queries
from projections.eventlog import applied_position
from tests.e2e.conftest import Bank, completion, seed, settle
from tests.e2e.test_eligibility_api import district_policy, post_qualification

DAYS = (date(2019, 1, 1), date(2024, 6, 1), date(2025, 3, 1), date(2026, 9, 1))


async def _agree(conn: asyncpg.Connection, cache: fast_eligibility.PolicyCache, learner_id: str, at: int) -> None:
    fast = await fast_eligibility.verdict_inputs(conn, cache, learner_id, at)
    assert fast.scope == await queries.learner_jurisdiction(conn, learner_id)
    assert fast.facts == await policies.learner_facts(conn, learner_id, at)
    if fast.facts is None:
        return
    chain = parent_chain(fast.facts.jurisdiction)
    for on in DAYS:
        assert cache.in_force(chain, on, at) == await policies.policies_in_force(conn, chain, on, at)
    for below in (False, True):
        plain = await policies.policies_known(conn, fast.facts.jurisdiction, at, below=below)
        assert cache.known(fast.facts.jurisdiction, at, below=below) == plain


async def test_the_fast_read_agrees_with_the_plain_queries_at_every_position(bank: Bank) -> None:
    await seed(bank)
    first = await post_qualification(bank, ["24"] * 3)
    r = await bank.client.post(
        "/v1/completions",
        headers=bank.auth("institution"),
        json={"completions": [completion("E-1"), completion("E-2", assessment="fail")]},
    )
    assert r.status == 207, await r.text()
    before_policy = await settle(bank)
    cache = fast_eligibility.PolicyCache()
    conn = await asyncpg.connect(**bank.database.asyncpg_kwargs())
    try:
        for at in range(0, before_policy + 1):
            for learner_id in ("T-0001", "P-0001", "NOBODY"):
                await _agree(conn, cache, learner_id, at)
        loads = cache.loads
        r = await bank.client.post("/v1/policies", headers=bank.auth("admin"), json=district_policy())
        assert r.status == 201, await r.text()
        after = await settle(bank)
        assert after == await applied_position(conn)
        # The publication reaches the cache through the watermark of the next read.
        for at in (first, before_policy, after):
            for learner_id in ("T-0001", "P-0001"):
                await _agree(conn, cache, learner_id, at)
        assert cache.loads == loads + 1
    finally:
        await conn.close()
