"""Fast path of the balance read (``GET /v1/learners/{id}/balance``), beside the plain one.

The plain version, ``plain_balance``, asks three questions in three round trips: who the
learner is (their jurisdiction and school, for the scope check), their completions
(``queries.learner_balance``) and the credit ratio in force for their jurisdiction
(``policies.credit_ratio_in_force``). ``balance`` asks them in one statement and keeps the
ratio in memory; where the projection's stored answer holds for the position asked
(``projections.balance_answer``), that statement reads it instead of the completions, so
the read's cost does not grow with the learner's history.

Invariants:
- ``balance`` answers exactly what ``plain_balance`` answers, byte for byte, for every
  learner, position and day (``tests/integration/test_balance_properties.py`` and
  ``test_balance_answer.py`` compare them);
- one round trip when the ratio is remembered and the stored answer holds, one more for
  each that does not (a position before the answer's, a cycle setting other than
  ``balance_answer.CYCLE``, a cycle after today's);
- the ratio remembered is exact: it depends only on the policies published by the
  position, and those are the same set for every position with the same last
  publication at or before it, so it is keyed by (jurisdiction, day, that last
  publication's position). Published versions never change, so no entry goes stale;
- the memo is bounded; nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Final

import orjson

from ledger.credits import Ratio, with_credits
from projections import eventlog, queries
from projections import policies as policy_reads
from projections.balance_answer import CYCLE, Filler

#: The parts of a balance that carry hours (and so credits, where a ratio is in force).
_WITH_HOURS: Final = ("total", "by_category", "by_year", "cycles")

# The learner's row, their completions by the position (none: one row of nulls, from the
# outer join) and the last policy publication by the position, in one statement. The
# uncorrelated sub-select runs once per statement.
_BALANCE_SQL: Final = (
    "SELECT l.jurisdiction AS learner_jurisdiction, l.school AS learner_school,"
    " (SELECT max(published_position) FROM rm_policies WHERE published_position <= $2) AS policy_position, "
    + ", ".join(f"c.{column.strip()}" for column in queries.BALANCE_COLUMNS.split(","))
    + " FROM rm_learners l LEFT JOIN rm_completions c"
    " ON c.learner_id = l.learner_id AND c.recorded_position <= $2"
    " WHERE l.learner_id = $1 ORDER BY c.completed_on, c.recorded_position"
)

# The learner's row, their stored answer and the last policy publication by the position.
_STORED_SQL: Final = (
    "SELECT l.jurisdiction AS learner_jurisdiction, l.school AS learner_school,"
    " (SELECT max(published_position) FROM rm_policies WHERE published_position <= $2) AS policy_position,"
    " a.position AS answer_position, a.answer"
    " FROM rm_learners l LEFT JOIN rm_balance_answers a ON a.learner_id = l.learner_id"
    " WHERE l.learner_id = $1"
)

#: Bounded: (jurisdiction, day, policy position) keys; a day's worth is a few hundred.
_RATIO_MEMO_SIZE: Final = 4096


@dataclass(frozen=True)
class Balance:
    """A learner's balance as the read answers it (encoded), and where the learner is (for scope)."""

    jurisdiction: str
    school: str | None
    body: bytes

    @property
    def answer(self) -> dict[str, Any]:
        return dict(orjson.loads(self.body))


def credited(balance: dict[str, Any], ratio: Ratio | None) -> dict[str, Any]:
    """``balance`` with credits beside its hours where a ratio is in force (``ledger.credits``)."""
    if ratio is None:
        return balance
    return {
        **balance,
        **{key: with_credits(balance[key], ratio) for key in _WITH_HOURS},
        "credit_ratio": ratio.as_dict(),
    }


async def plain_balance(
    conn: Any,
    learner_id: str,
    *,
    at_position: int,
    today: date,
    cycle_anchor_year: int,
    cycle_years: int,
) -> Balance | None:
    """The reference: three round trips, nothing remembered (``None``: no such learner)."""
    where = await queries.learner_jurisdiction(conn, learner_id)
    if where is None:
        return None
    found = await queries.learner_balance(
        conn,
        learner_id,
        at_position=at_position,
        today=today,
        cycle_anchor_year=cycle_anchor_year,
        cycle_years=cycle_years,
    )
    ratio = await policy_reads.credit_ratio_in_force(conn, where[0], today, at_position)
    return Balance(where[0], where[1], orjson.dumps(credited(found, ratio)))


class BalanceReader:
    """The fast path: one statement per read, the credit ratio remembered exactly."""

    def __init__(self) -> None:
        self._ratios: dict[tuple[str, date, int], Ratio | None] = {}
        self._filler = Filler()

    async def balance(
        self,
        conn: Any,
        learner_id: str,
        *,
        at_position: int,
        today: date,
        cycle_anchor_year: int,
        cycle_years: int,
    ) -> Balance | None:
        """What ``plain_balance`` answers (``None``: no such learner)."""
        bound = eventlog.bound(at_position)
        if (cycle_anchor_year, cycle_years) == CYCLE:
            row = await conn.fetchrow(_STORED_SQL, learner_id, bound)
            if row is None:
                return None
            # An answer stored after the position asked may hold events it must not count.
            if row["answer"] is not None and row["answer_position"] <= bound:
                where: str = row["learner_jurisdiction"]
                ratio = await self._ratio(conn, where, today, at_position, int(row["policy_position"] or 0))
                body = self._filler.filled(row["answer"], learner_id, at_position=at_position, today=today, ratio=ratio)
                if body is not None:
                    return Balance(where, row["learner_school"], body)
        rows = await conn.fetch(_BALANCE_SQL, learner_id, bound)
        if not rows:
            return None
        first = rows[0]
        jurisdiction: str = first["learner_jurisdiction"]
        found = queries.balance_of_rows(
            learner_id,
            rows if first["event_id"] is not None else (),
            at_position=at_position,
            today=today,
            cycle_anchor_year=cycle_anchor_year,
            cycle_years=cycle_years,
        )
        ratio = await self._ratio(conn, jurisdiction, today, at_position, int(first["policy_position"] or 0))
        return Balance(jurisdiction, first["learner_school"], orjson.dumps(credited(found, ratio)))

    async def _ratio(
        self, conn: Any, jurisdiction: str, day: date, at_position: int, policy_position: int
    ) -> Ratio | None:
        key = (jurisdiction, day, policy_position)
        if key in self._ratios:
            return self._ratios[key]
        # Asked as of the last publication: the same policies as at ``at_position``.
        ratio = await policy_reads.credit_ratio_in_force(conn, jurisdiction, day, policy_position)
        if len(self._ratios) >= _RATIO_MEMO_SIZE:
            self._ratios.clear()  # days move on; the next reads refill what is current
        self._ratios[key] = ratio
        return ratio
