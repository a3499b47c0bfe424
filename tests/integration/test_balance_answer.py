"""The balance answer the projection stores (``projections.balance_answer``), on a real PostgreSQL.

For random histories of postings, revocations and credit-ratio policies published on random
days, the stored answer, filled in for any position at or after the one it was stored at and
any day, is byte for byte what the plain read (``fast_balance.plain_balance``) answers; the
fast read answers the same at every position, stored answer or not. A rebuild in batches of
any size stores the same rows as one applied event by event, and an erasure leaves nothing of
the teacher number in the stored answers.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.database import Database
from ledger.application import CreditBank
from projections import eventlog
from projections.balance_answer import DEFER_AT, LONG_HISTORY, Filler, refresh, settle
from projections.digests import read_model_digests
from projections.fast_balance import BalanceReader, plain_balance
from projections.policies import credit_ratio_in_force
from projections.runner import ProjectionRunner
from projections.schema import ensure_schema, reset
from tests.conftest import TODAY
from tests.integration.conftest import read_projected
from tests.integration.test_balance_properties import CATEGORIES, facts, prepare, register

_examples = itertools.count()
_SHIPPED = Path(__file__).parents[2] / "ledger" / "policies" / "220106-teacher-training.json"
_CYCLE = {"cycle_anchor_year": 2021, "cycle_years": 5}

posting = st.tuples(
    st.sampled_from(CATEGORIES),
    st.decimals(min_value=Decimal("0.25"), max_value=Decimal("40"), places=2),
    st.sampled_from(["pass", "excellent", "fail"]),
    # Three training cycles: 2016-2020 (P1 is accredited from 2020), 2021-2025 and today's.
    st.dates(min_value=date(2020, 1, 1), max_value=TODAY),
)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("post"), st.lists(posting, min_size=1, max_size=4)),
        st.tuples(st.just("revoke"), st.integers(min_value=0, max_value=15)),
        st.tuples(
            st.just("ratio"),
            st.tuples(st.sampled_from(["3", "10", "7.5"]), st.dates(min_value=date(2020, 1, 1), max_value=TODAY)),
        ),
    ),
    min_size=1,
    max_size=8,
)
days = st.lists(st.dates(min_value=date(2016, 1, 1), max_value=date(2032, 12, 31)), min_size=1, max_size=2)


def ratio_policy(policy_id: str, hours_per_credit: str, effective_from: date) -> dict[str, Any]:
    """The shipped 220106 policy cut down to its credit ratio, as a policy of its own."""
    shipped = json.loads(_SHIPPED.read_text())
    rule = next(r for r in shipped["rules"] if r["kind"] == "credit_ratio")
    return {
        **shipped,
        "policy_id": policy_id,
        "version": 1,
        "effective_from": effective_from.isoformat(),
        "rules": [{**rule, "hours_per_credit": hours_per_credit}],
    }


def run(bank: CreditBank, learner_id: str, history: list[tuple[str, Any]]) -> None:
    posted = []
    for kind, value in history:
        if kind == "post":
            batch = [facts(learner_id, len(posted) + i, p) for i, p in enumerate(value)]
            outcomes = bank.record_completions(batch)
            assert all(o.status == "recorded" for o in outcomes), outcomes
            posted += batch
        elif kind == "revoke" and value < len(posted):
            bank.revoke_completion("P1", posted[value].record_id, "mistake", by_provider="P1")
        elif kind == "ratio":
            bank.publish_policy(ratio_policy(f"220106-ratio-{learner_id}-{next(_examples)}", *value))


async def _stored(conn: asyncpg.Connection, learner_id: str) -> tuple[int, bytes]:
    row = await conn.fetchrow("SELECT position, answer FROM rm_balance_answers WHERE learner_id = $1", learner_id)
    assert row is not None
    return int(row["position"]), bytes(row["answer"])


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=steps, judged=days)
def test_the_stored_answer_is_what_the_plain_read_answers_after_revocations_and_policies(
    database: Database, history: list[tuple[str, Any]], judged: list[date]
) -> None:
    bank = CreditBank(database.event_store_env(), today=lambda: TODAY)
    try:
        prepare(bank)
        learner_id = f"A{next(_examples)}"
        register(bank, learner_id)
        run(bank, learner_id, history)
    finally:
        bank.close()

    async def compare(conn: asyncpg.Connection) -> int:
        stored_at, stored = await _stored(conn, learner_id)
        head = await eventlog.applied_position(conn)
        reader, filler, served = BalanceReader(), Filler(), 0
        for position in range(head + 1):
            for day in [TODAY, *judged]:
                plain = await plain_balance(conn, learner_id, at_position=position, today=day, **_CYCLE)
                fast = await reader.balance(conn, learner_id, at_position=position, today=day, **_CYCLE)
                assert fast == plain
                if position < stored_at or plain is None:
                    continue
                ratio = await credit_ratio_in_force(conn, "220106", day, position)
                filled = filler.filled(stored, learner_id, at_position=position, today=day, ratio=ratio)
                if filled is not None:
                    assert filled == plain.body
                    served += 1
                else:
                    # Only on a day before a cycle the learner has hours in: read the plain way.
                    current = 2021 + (day.year - 2021) // 5 * 5
                    assert any(int(c["start"][:4]) > current for c in await _cycles(conn, learner_id))
        return served

    # Not vacuous: at the head, on today, the stored answer is what is served.
    assert asyncio.run(read_projected(database, compare)) >= 1


async def _cycles(conn: asyncpg.Connection, learner_id: str) -> list[dict[str, Any]]:
    """The learner's cycles with hours, as today's read lists them."""
    found = await plain_balance(conn, learner_id, at_position=10**9, today=TODAY, **_CYCLE)
    assert found is not None
    return [c for c in found.answer["cycles"] if c["events"]]


def test_a_learner_with_no_hours_is_served_the_stored_empty_answer(database: Database) -> None:
    bank = CreditBank(database.event_store_env(), today=lambda: TODAY)
    try:
        prepare(bank)
        register(bank, "A-EMPTY")
    finally:
        bank.close()

    async def compare(conn: asyncpg.Connection) -> None:
        stored_at, stored = await _stored(conn, "A-EMPTY")
        head = await eventlog.applied_position(conn)
        assert stored_at <= head
        plain = await plain_balance(conn, "A-EMPTY", at_position=head, today=TODAY, **_CYCLE)
        assert plain is not None and plain.answer["cycles"][0]["cycle"] == "2026-2030"
        assert Filler().filled(stored, "A-EMPTY", at_position=head, today=TODAY, ratio=None) == plain.body

    asyncio.run(read_projected(database, compare))


def test_a_rebuild_in_batches_of_any_size_stores_the_same_answers(database: Database) -> None:
    """Batches of one refresh each answer as they go; batches of 5,000 leave them pending
    (``DEFER_AT``) and ``settle`` stores them once caught up: the same rows either way."""
    bank = CreditBank(database.event_store_env(), today=lambda: TODAY)
    try:
        prepare(bank)
        for learner in ("B1", "B2", "B3"):
            register(bank, learner)
        many = [("online", Decimal("0.5"), "pass", date(2021 + i % 6, 1 + i % 11, 1)) for i in range(DEFER_AT)]
        run(bank, "B3", [("post", many), ("revoke", 7)])
        b1 = [("online", Decimal("2.5"), "pass", date(2024, 3, 1))] * 3
        run(bank, "B1", [("post", b1), ("revoke", 1), ("post", [("ethics", Decimal("1"), "fail", date(2026, 2, 1))])])
        run(bank, "B2", [("post", [("ethics", Decimal("4"), "pass", date(2020, 5, 1))]), ("revoke", 0)])
    finally:
        bank.close()

    async def digests(batch_size: int) -> dict[str, Any]:
        pool = await asyncpg.create_pool(**database.asyncpg_kwargs(), min_size=1, max_size=2)
        try:
            async with pool.acquire() as conn:
                await ensure_schema(conn)
                await reset(conn)
            await ProjectionRunner(pool, batch_size=batch_size).catch_up()
            async with pool.acquire() as conn:
                found = await read_model_digests(conn)
                rows = await conn.fetch(
                    "SELECT learner_id, position FROM rm_balance_answers WHERE learner_id LIKE 'B_' ORDER BY 1"
                )
                found["answers"] = [tuple(r) for r in rows]
                found["pending"] = await conn.fetchval("SELECT count(*) FROM rm_balance_pending")
                return found
        finally:
            await pool.close()

    one_by_one, all_at_once = asyncio.run(digests(1)), asyncio.run(digests(5000))
    assert one_by_one["tables"]["rm_balance_answers"] == all_at_once["tables"]["rm_balance_answers"]
    assert [learner for learner, _ in all_at_once["answers"]] == ["B1", "B2", "B3"]
    assert all_at_once["answers"] == one_by_one["answers"]
    assert all_at_once["pending"] == one_by_one["pending"] == 0


def test_an_erased_learner_keeps_no_stored_answer_under_their_number(database: Database) -> None:
    bank = CreditBank(database.event_store_env(), today=lambda: TODAY)
    try:
        prepare(bank)
        register(bank, "T-ERASE-9")
        run(bank, "T-ERASE-9", [("post", [("online", Decimal("3"), "pass", date(2025, 3, 1))])])
        bank.erase_learner("T-ERASE-9", "asked to")
    finally:
        bank.close()

    async def check(conn: asyncpg.Connection) -> None:
        assert await conn.fetchval("SELECT count(*) FROM rm_balance_answers WHERE learner_id = 'T-ERASE-9'") == 0
        leftover = await conn.fetchval(
            "SELECT count(*) FROM rm_balance_answers WHERE position(convert_to('T-ERASE-9', 'UTF8') IN answer) > 0"
        )
        assert leftover == 0
        gone = await conn.fetchval("SELECT learner_id FROM rm_learners WHERE learner_id LIKE 'erased:%' LIMIT 1")
        assert gone is not None
        assert await BalanceReader().balance(conn, "T-ERASE-9", at_position=10**9, today=TODAY, **_CYCLE) is None

    asyncio.run(read_projected(database, check))


def test_a_database_projected_before_stored_answers_gets_them_once_caught_up(database: Database) -> None:
    bank = CreditBank(database.event_store_env(), today=lambda: TODAY)
    try:
        prepare(bank)
        register(bank, "C1")
        run(bank, "C1", [("post", [("online", Decimal("6"), "pass", date(2025, 3, 1))] * 2), ("revoke", 0)])
    finally:
        bank.close()

    async def live(conn: asyncpg.Connection) -> tuple[int, bytes]:
        return await _stored(conn, "C1")

    before = asyncio.run(read_projected(database, live))

    async def as_before_the_table(conn: asyncpg.Connection) -> int:
        await conn.execute("DROP TABLE rm_balance_answers, rm_balance_pending")
        await ensure_schema(conn)  # what the next start runs: every learner is pending
        assert await conn.fetchval("SELECT count(*) FROM rm_balance_answers") == 0
        return int(await conn.fetchval("SELECT count(*) FROM rm_balance_pending WHERE learner_id = 'C1'"))

    assert asyncio.run(read_projected(database, as_before_the_table)) == 1
    # The next catch-up stores the same answer, at the same position, as applying did.
    assert asyncio.run(read_projected(database, live)) == before


def test_a_long_history_is_stored_between_batches_not_by_each(database: Database) -> None:
    """A batch refreshes a learner of at most ``LONG_HISTORY`` completions itself; a longer
    history it leaves to ``settle`` (the answer dropped meanwhile, so the read is the plain
    one, never stale), which stores the very bytes the batch would have."""
    bank = CreditBank(database.event_store_env(), today=lambda: TODAY)
    try:
        prepare(bank)
        register(bank, "L1")
        register(bank, "L2")
        long = [("online", Decimal("1.5"), "pass", date(2022 + i % 4, 1 + i % 12, 1)) for i in range(LONG_HISTORY + 1)]
        run(bank, "L1", [("post", long[:4]), ("post", long[4:])])
        run(bank, "L2", [("post", long[:LONG_HISTORY])])
    finally:
        bank.close()

    async def check(conn: asyncpg.Connection) -> None:
        head = await eventlog.applied_position(conn)
        settled = {learner: await _stored(conn, learner) for learner in ("L1", "L2")}
        async with conn.transaction():
            await refresh(conn, {"L1": settled["L1"][0], "L2": settled["L2"][0]}, bounded=True)
        # L2 (LONG_HISTORY completions) is stored as before; L1 (one more) waits for settle.
        assert await _stored(conn, "L2") == settled["L2"]
        assert await conn.fetchval("SELECT count(*) FROM rm_balance_answers WHERE learner_id = 'L1'") == 0
        assert await conn.fetchval("SELECT count(*) FROM rm_balance_pending WHERE learner_id = 'L1'") == 1
        plain = await plain_balance(conn, "L1", at_position=head, today=TODAY, **_CYCLE)
        fast = await BalanceReader().balance(conn, "L1", at_position=head, today=TODAY, **_CYCLE)
        assert plain is not None and fast == plain and len(plain.answer["total"]["events"]) == LONG_HISTORY + 1
        assert await settle(conn) == 1
        assert await _stored(conn, "L1") == settled["L1"]
        assert Filler().filled(settled["L1"][1], "L1", at_position=head, today=TODAY, ratio=None) == plain.body

    asyncio.run(read_projected(database, check))
