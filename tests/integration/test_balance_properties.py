"""Properties of the projected balance, on a real PostgreSQL.

For any sequence of postings, re-postings and revocations:
- the projected balance equals the sum of recorded, passed, unrevoked completions;
- re-posting a completion never changes a balance;
- concurrent posts for one learner lose nothing;
- the balance read's fast path (``projections.fast_balance``) answers exactly what the plain
  one does, at every position of the learner's history and on any day.
Each example uses learners of its own inside one database, so examples do not interfere.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from datetime import date
from decimal import Decimal
from typing import Any

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.database import Database
from ledger.application import Accreditation, CreditBank, LearnerRegistration
from ledger.completion import CompletionFacts
from projections import eventlog, queries
from projections.fast_balance import BalanceReader, plain_balance
from tests.conftest import TODAY
from tests.integration.conftest import read_projected

_examples = itertools.count()
CATEGORIES = ("online", "ethics", "school_based")

postings = st.lists(
    st.tuples(
        st.sampled_from(CATEGORIES),
        st.decimals(min_value=Decimal("0.25"), max_value=Decimal("40"), places=2),
        st.sampled_from(["pass", "excellent", "fail"]),
        st.dates(min_value=date(2021, 1, 1), max_value=TODAY),
    ),
    min_size=1,
    max_size=12,
)


def prepare(bank: CreditBank) -> None:
    bank.accredit_provider(Accreditation("P1", "Inst", "220106", CATEGORIES, ("county",), date(2020, 1, 1), None))


def register(bank: CreditBank, learner_id: str) -> None:
    bank.register_learner(LearnerRegistration(learner_id, "测试", "220106", "S1", None, ()))


def facts(learner_id: str, index: int, posting: tuple[str, Decimal, str, date]) -> CompletionFacts:
    category, hours, assessment, on = posting
    return CompletionFacts(
        "P1",
        f"{learner_id}-{index}",
        learner_id,
        "C",
        "Programme",
        category,
        "county",
        hours,
        assessment,
        on,
    )


def fast_and_plain(database: Database, learner_id: str, days: list[date]) -> list[tuple[Any, Any]]:
    """(fast, plain) answers for ``learner_id`` at every position of the log and each day."""

    async def both(conn: asyncpg.Connection) -> list[tuple[Any, Any]]:
        reader = BalanceReader()
        pairs = []
        head = await eventlog.applied_position(conn)
        for position in range(head + 1):
            for day in days:
                kwargs: dict[str, Any] = {
                    "at_position": position,
                    "today": day,
                    "cycle_anchor_year": 2021,
                    "cycle_years": 5,
                }
                pairs.append(
                    (await reader.balance(conn, learner_id, **kwargs), await plain_balance(conn, learner_id, **kwargs))
                )
        return pairs

    return asyncio.run(read_projected(database, both))


def projected_total(database: Database, learner_id: str) -> Decimal:
    async def total(conn: asyncpg.Connection) -> Decimal:
        balance: dict[str, Any] = await queries.learner_balance(conn, learner_id, today=TODAY)
        return Decimal(balance["total"]["hours"])

    return asyncio.run(read_projected(database, total))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(postings=postings, revoke=st.sets(st.integers(min_value=0, max_value=11)), data=st.data())
def test_the_balance_is_the_sum_of_passed_unrevoked_completions_and_reposting_changes_nothing(
    database: Database, postings: list[tuple[str, Decimal, str, date]], revoke: set[int], data: st.DataObject
) -> None:
    bank = CreditBank(database.event_store_env(), today=lambda: TODAY)
    try:
        prepare(bank)
        learner_id = f"L{next(_examples)}"
        register(bank, learner_id)
        batch = [facts(learner_id, i, p) for i, p in enumerate(postings)]
        assert all(o.status == "recorded" for o in bank.record_completions(batch))
        revoked = {i for i in revoke if i < len(batch)}
        for i in revoked:
            bank.revoke_completion("P1", batch[i].record_id, "mistake", by_provider="P1")
        expected = sum(
            (f.hours for i, f in enumerate(batch) if f.assessment != "fail" and i not in revoked),
            Decimal(0),
        )
        assert projected_total(database, learner_id) == expected
        days = [TODAY, data.draw(st.dates(min_value=date(2021, 1, 1), max_value=TODAY))]
        pairs = fast_and_plain(database, learner_id, days)
        assert all(fast == plain for fast, plain in pairs)
        # Not vacuous: the learner is found once registered, and their hours are counted.
        assert pairs[-1][0] is not None and Decimal(pairs[-1][0].answer["total"]["hours"]) == expected

        again = data.draw(st.lists(st.sampled_from(batch), min_size=1, max_size=5))
        assert all(o.status == "duplicate" for o in bank.record_completions(again))
        assert projected_total(database, learner_id) == expected
    finally:
        bank.close()


def test_concurrent_posts_for_one_learner_from_two_processes_lose_nothing(database: Database) -> None:
    banks = [CreditBank(database.event_store_env(), today=lambda: TODAY) for _ in range(2)]
    try:
        prepare(banks[0])
        register(banks[0], "SHARED")
        posting = ("online", Decimal("1.5"), "pass", date(2024, 3, 1))

        def post(bank: CreditBank, offset: int) -> None:
            for i in range(offset, offset + 200, 10):
                bank.record_completions([facts("SHARED", i + j, posting) for j in range(10)])

        threads = [threading.Thread(target=post, args=(bank, k * 1000)) for k, bank in enumerate(banks)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert projected_total(database, "SHARED") == Decimal("1.5") * 400
    finally:
        for bank in banks:
            bank.close()
