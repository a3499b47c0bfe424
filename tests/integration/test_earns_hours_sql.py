"""The read side's SQL says what counts exactly as the ledger does.

``projections.core.earns_hours_sql`` is ``ledger.completion.earns_hours`` for rows of
``rm_completions`` as known at a position: checked here on PostgreSQL for every assessment,
never revoked, revoked at or before the position, and revoked after it (not known yet).
"""

from __future__ import annotations

import asyncpg

from ledger.completion import earns_hours
from ledger.vocabulary import ASSESSMENTS
from projections.core import EARNING_ASSESSMENTS, earns_hours_sql

AT = 10
#: A revocation's position and whether it is known at ``AT``.
REVOCATIONS = [(None, False), (AT - 1, True), (AT, True), (AT + 1, False)]


async def test_the_sql_fragment_counts_what_the_ledger_counts(conn: asyncpg.Connection) -> None:
    cases = [(a, p, known) for a in sorted(ASSESSMENTS) for p, known in REVOCATIONS]
    rows = await conn.fetch(
        "SELECT c.assessment, c.revoked_position,"
        f" {earns_hours_sql('c', position='$3', assessments='$4')} AS earns"
        " FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS c(assessment, revoked_position, n)"
        " ORDER BY c.n",
        [a for a, _, _ in cases],
        [p for _, p, _ in cases],
        AT,
        EARNING_ASSESSMENTS,
    )
    got = [(r["assessment"], r["revoked_position"], r["earns"]) for r in rows]
    assert got == [(a, p, earns_hours(a, revoked=known)) for a, p, known in cases]
    assert {a for a, _, earns in got if earns} == {"pass", "excellent"}
