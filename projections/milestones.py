"""Service milestones: who reaches N years of service in a role during a span of days.

Invariants:
- plain SQL reads the role spells of the learners in scope (a jurisdiction and every one
  under it, optionally one school; the jurisdiction, school and name each learner had at the
  position) as known at the position: spells started by then, an
  end recorded after it not known yet (as ``projections.policies`` reads them);
- the years are the ledger's (``ledger.rule_parts.service_reached``): calendar anniversaries
  of the first start, spells summed, the days between spells pushing the anniversary back;
  the roles counted are the caller's (the policy's ``service_milestone`` rule says whether
  intern service counts), never guessed here;
- rows come in order of the day reached, then learner id: the same question at the same
  position gives the same list.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any, Final

from ledger.rule_parts import service_reached
from projections.eventlog import bound
from projections.policies import IN_SCOPE_THEN_SQL, details_then_sql, division_range, jurisdiction_at_sql

#: The spells of learners in scope at $5: the jurisdiction and the school then, and the name
#: then (``projections.policies`` has them so for a learner's facts and a cohort).
_SPELLS: Final = f"""
SELECT * FROM (
  SELECT l.learner_id,
    CASE WHEN b.position IS NULL THEN l.name ELSE b.name_before END AS name,
    CASE WHEN b.position IS NULL THEN l.school ELSE b.school_before END AS school,
    {jurisdiction_at_sql("$5")} AS jurisdiction,
    r.role, r.since, CASE WHEN r.ended_position <= $5 THEN r.until END AS until, r.started_position
  FROM rm_learners l JOIN rm_learner_roles r ON r.learner_id = l.learner_id
  {details_then_sql("$5")}
  WHERE {IN_SCOPE_THEN_SQL}
    AND r.role = ANY($4) AND r.started_position <= $5 AND l.registered_position <= $5
) spells
WHERE jurisdiction >= $1 AND jurisdiction < $2 AND ($3::text IS NULL OR school = $3)
ORDER BY learner_id, since
"""


async def reaching(
    conn: Any,
    jurisdiction: str,
    counted_roles: Iterable[str],
    years: Iterable[int],
    span: tuple[date, date],
    *,
    school: str | None = None,
    at_position: int | None = None,
) -> list[dict[str, Any]]:
    """One row per learner and number of ``years`` reached within ``span`` (inclusive)."""
    low, high = division_range(jurisdiction)
    rows = await conn.fetch(_SPELLS, low, high, school, sorted(set(counted_roles)), bound(at_position))
    by_learner: dict[str, list[Any]] = defaultdict(list)
    for r in rows:
        by_learner[r["learner_id"]].append(r)
    first, last = span
    found: list[dict[str, Any]] = []
    for learner_id, spells in by_learner.items():
        runs = [(s["since"], s["until"]) for s in spells]
        for n in sorted(set(years)):
            reached = service_reached(runs, 12 * n)
            if reached is not None and first <= reached <= last:
                found.append(
                    {
                        "learner_id": learner_id,
                        "name": spells[0]["name"],
                        "school": spells[0]["school"],
                        "jurisdiction": spells[0]["jurisdiction"],
                        "years": n,
                        "reached_on": reached.isoformat(),
                        "service_since": min(s for s, _ in runs).isoformat(),
                        "spells": [
                            {
                                "role": s["role"],
                                "since": s["since"].isoformat(),
                                "until": s["until"].isoformat() if s["until"] else None,
                                "position": int(s["started_position"]),
                            }
                            for s in spells
                        ],
                    }
                )
    return sorted(found, key=lambda f: (f["reached_on"], f["learner_id"], f["years"]))
