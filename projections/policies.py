"""The policies read model and the queries eligibility needs.

Invariants:
- ``rm_policies`` holds one row per published version, straight from its
  ``Policy.Published`` event (rules as the event's plain data, hours as exact strings);
- ``at_position=P`` sees only versions published at or before P and only events recorded
  by then: completions recorded by P and not revoked by P, role spells started by P (an
  end recorded after P is not known yet), learners registered by P, and the jurisdiction
  holding the learner's account at P (its spells are kept by position in ``rm_transfers``);
- ``learner_facts_many`` is one query for any number of learners (profile, roles and
  passed completions) plus one for their certificates and one for their service record
  (``projections.service_record``), so a page of a cohort costs three round trips;
- nothing here writes outside ``apply`` (called inside the runner's transaction).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any, Final

from ledger.credits import Ratio, ratio_of
from ledger.eligibility import CompletionFact, Facts, RoleFact, calendar_of
from ledger.policy import Policy, PolicyVersion, parse_policy
from ledger.school_year import Calendar
from ledger.vocabulary import NATIONAL, parent_chain
from projections import core
from projections.certificates import with_certificates
from projections.eventlog import bound, topic
from projections.events import Decoded, json_ready
from projections.service_record import with_service_record

POLICY_PUBLISHED: Final = topic(Policy, "Published")
TABLES: Final = ("rm_policies",)

DDL: Final = """
CREATE TABLE IF NOT EXISTS rm_policies (
    policy_id text NOT NULL,
    version integer NOT NULL,
    jurisdiction text NOT NULL,
    effective_from date NOT NULL,
    effective_to date NULL,
    title text NOT NULL,
    data jsonb NOT NULL,
    published_position bigint NOT NULL,
    event_id uuid NOT NULL,
    published_at timestamptz NULL,
    PRIMARY KEY (policy_id, version)
);
CREATE INDEX IF NOT EXISTS rm_policies_jurisdiction ON rm_policies (jurisdiction, effective_from);
-- Cohort pages walk one district (and school) in learner_id order.
CREATE INDEX IF NOT EXISTS rm_learners_cohort ON rm_learners (jurisdiction, school, learner_id);
CREATE INDEX IF NOT EXISTS rm_learners_cohort_all ON rm_learners (jurisdiction, learner_id);
"""

INSERT: Final = (
    "sql",
    "INSERT INTO rm_policies (policy_id, version, jurisdiction, effective_from, effective_to, title, data,"
    " published_position, event_id, published_at) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10)",
)


def row(e: Decoded) -> tuple[Any, ...]:
    f = e.fields
    data = json_ready(
        {
            k: f.get(k)
            for k in (
                "policy_id",
                "version",
                "jurisdiction",
                "effective_from",
                "effective_to",
                "title",
                "rules",
                "note",
                "calendar",
            )
        }
    )
    return (
        f["policy_id"],
        f["version"],
        f["jurisdiction"],
        f["effective_from"],
        f.get("effective_to"),
        f["title"],
        json.dumps(data, ensure_ascii=False),
        e.position,
        e.event_id,
        e.recorded_at,
    )


def _version(r: Any) -> PolicyVersion:
    return parsed_version(r["data"])


@lru_cache(maxsize=1024)
def parsed_version(data: str) -> PolicyVersion:
    # A published version never changes, so its text is a safe key; parsing it on every
    # verdict was a fifth of an eligibility read.
    return parse_policy(json.loads(data))


async def policies_in_force(
    conn: Any, jurisdictions: Sequence[str], on: date, at_position: int | None = None
) -> list[PolicyVersion]:
    """Every version that may be in force on ``on`` for these jurisdictions (as known at the
    position); ``ledger.eligibility`` picks the one in force of each policy."""
    rows = await conn.fetch(
        "SELECT data FROM rm_policies WHERE jurisdiction = ANY($1) AND effective_from <= $2"
        " AND published_position <= $3 ORDER BY policy_id, version",
        list(jurisdictions),
        on,
        bound(at_position),
    )
    return [_version(r) for r in rows]


async def calendar_in_force(conn: Any, jurisdiction: str, on: date, at_position: int | None = None) -> Calendar:
    """The school calendar in force in ``jurisdiction`` on ``on`` as known at the position
    (school years, terms, the plan deadline): ``ledger.eligibility.calendar_of``, as the
    write side's ``CreditBank.calendar`` gives it."""
    versions = await policies_in_force(conn, parent_chain(jurisdiction), on, at_position)
    return calendar_of(versions, jurisdiction, on)


async def credit_ratio_in_force(conn: Any, jurisdiction: str, on: date, at_position: int | None = None) -> Ratio | None:
    """The hours-per-credit ratio a policy in force sets for ``jurisdiction`` (``ledger.credits``)."""
    return ratio_of(await policies_in_force(conn, parent_chain(jurisdiction), on, at_position), jurisdiction, on)


async def policies_known(
    conn: Any, jurisdiction: str, at_position: int | None = None, *, below: bool = False
) -> list[PolicyVersion]:
    """Every version published by the position for ``jurisdiction``'s parent chain (what
    judges its learners on some day) and, with ``below``, for every jurisdiction under it
    (what judges a cohort of it), in force or not."""
    low, high = division_range(jurisdiction)
    rows = await conn.fetch(
        "SELECT data FROM rm_policies WHERE (jurisdiction = ANY($1) OR ($2 AND jurisdiction >= $3"
        " AND jurisdiction < $4)) AND published_position <= $5 ORDER BY policy_id, version",
        parent_chain(jurisdiction),
        below,
        low,
        high,
        bound(at_position),
    )
    return [_version(r) for r in rows]


async def policy_versions(conn: Any, policy_id: str, at_position: int | None = None) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT data, published_position, event_id, published_at FROM rm_policies"
        " WHERE policy_id = $1 AND published_position <= $2 ORDER BY version",
        policy_id,
        bound(at_position),
    )
    versions = [json.loads(r["data"]) for r in rows]
    out = []
    for index, (r, data) in enumerate(zip(rows, versions, strict=True)):
        # In force until the day before the next version starts, or its own end if earlier.
        ends = [date.fromisoformat(data["effective_to"])] if data.get("effective_to") else []
        if index + 1 < len(versions):
            ends.append(date.fromisoformat(versions[index + 1]["effective_from"]) - timedelta(days=1))
        out.append(
            {
                **data,
                "in_force_until": min(ends).isoformat() if ends else None,
                "position": int(r["published_position"]),
                "event_id": str(r["event_id"]),
                "published_at": json_ready(r["published_at"]),
            }
        )
    return out


def jurisdiction_at_sql(position: str) -> str:
    """SQL for the jurisdiction holding learner ``l``'s account at ``position`` (a parameter):
    the last move by then (a transfer's destination, a reversal's origin), else the first
    transfer's origin (the registration), else the registration itself (rm_learners follows
    the latest move, see projections.transfers)."""
    return f"""coalesce(
    (SELECT m.jurisdiction FROM (
        SELECT t.position AS at, t.destination AS jurisdiction FROM rm_transfers t
        WHERE t.learner_id = l.learner_id AND t.position <= {position}
        UNION ALL
        SELECT t.reversed_position, t.origin FROM rm_transfers t
        WHERE t.learner_id = l.learner_id AND t.reversed_position <= {position}) m
     ORDER BY m.at DESC LIMIT 1),
    (SELECT t.origin FROM rm_transfers t WHERE t.learner_id = l.learner_id ORDER BY t.position LIMIT 1),
    l.jurisdiction)"""


def details_then_sql(position: str) -> str:
    """SQL joining ``b``: the first correction of learner ``l`` after ``position`` (a
    parameter), whose ``*_before`` columns hold the details as of the position; no row when
    none came after (rm_learners' own columns hold them then, see projections.core)."""
    return f"""LEFT JOIN LATERAL (
  SELECT c.position, c.name_before, c.school_before, c.hired_on_before FROM rm_learner_corrections c
  WHERE c.learner_id = l.learner_id AND c.position > {position} ORDER BY c.position LIMIT 1) b ON true"""


FACTS_SQL: Final = f"""
SELECT l.learner_id,
  -- As of the position: a correction after it kept the details then (projections.core).
  CASE WHEN b.position IS NULL THEN l.name ELSE b.name_before END AS name,
  CASE WHEN b.position IS NULL THEN l.school ELSE b.school_before END AS school,
  CASE WHEN b.position IS NULL THEN l.hired_on ELSE b.hired_on_before END AS hired_on,
  {jurisdiction_at_sql("$2")} AS jurisdiction,
  (SELECT coalesce(json_agg(json_build_object(
      'role', r.role, 'since', r.since,
      'until', CASE WHEN r.ended_position <= $2 THEN r.until END,
      'position', r.started_position, 'event_id', i.event_id)), '[]')
   FROM rm_learner_roles r LEFT JOIN rm_event_index i ON i.position = r.started_position
   WHERE r.learner_id = l.learner_id AND r.started_position <= $2) AS roles,
  (SELECT coalesce(json_agg(json_build_object(
      'event_id', c.event_id, 'position', c.recorded_position, 'category', c.category,
      'level', c.level, 'hours', c.hours::text, 'completed_on', c.completed_on, 'topics', c.topics)), '[]')
   FROM rm_completions c
   WHERE c.learner_id = l.learner_id AND c.recorded_position <= $2
     AND {core.earns_hours_sql("c", position="$2", assessments="$3")}) AS completions
FROM rm_learners l
{details_then_sql("$2")}
WHERE l.learner_id = ANY($1) AND l.registered_position <= $2
"""


def facts_of_row(r: Any) -> Facts:
    roles = tuple(
        RoleFact(
            x["role"],
            date.fromisoformat(x["since"]),
            date.fromisoformat(x["until"]) if x["until"] else None,
            x["event_id"],
            x["position"],
        )
        for x in json.loads(r["roles"])
    )
    completions = tuple(
        CompletionFact(
            x["event_id"],
            x["position"],
            x["category"],
            x["level"],
            Decimal(x["hours"]),
            date.fromisoformat(x["completed_on"]),
            tuple(x["topics"] or ()),
        )
        for x in json.loads(r["completions"])
    )
    return Facts(
        r["learner_id"], r["jurisdiction"], r["hired_on"], roles, completions, name=r["name"], school=r["school"]
    )


async def learner_facts_many(conn: Any, learner_ids: Sequence[str], at_position: int | None = None) -> list[Facts]:
    rows = await conn.fetch(FACTS_SQL, list(learner_ids), bound(at_position), core.EARNING_ASSESSMENTS)
    found = {r["learner_id"]: facts_of_row(r) for r in rows}
    # Certificates and the service record come from their own read models, a query each.
    facts = await with_certificates(conn, [found[i] for i in learner_ids if i in found], at_position)
    return await with_service_record(conn, facts, at_position)


async def learner_facts(conn: Any, learner_id: str, at_position: int | None = None) -> Facts | None:
    found = await learner_facts_many(conn, [learner_id], at_position)
    return found[0] if found else None


def division_range(jurisdiction: str) -> tuple[str, str]:
    """The range of division codes under ``jurisdiction`` (inclusive, exclusive)."""
    if jurisdiction == NATIONAL:
        return "0", "A"
    if jurisdiction[2:] == "0000":
        prefix = jurisdiction[:2]
    elif jurisdiction[4:] == "00":
        prefix = jurisdiction[:4]
    else:
        return jurisdiction, jurisdiction + "0"  # only the code itself lies between
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


#: The prefilter of learners who may have been in jurisdiction [$1, $2) at school $3 (NULL: any)
#: at a position: there now or a transfer's origin or destination, at the school now or
#: before a correction (on the indexes); the exact test is on the values then.
IN_SCOPE_THEN_SQL: Final = """((l.jurisdiction >= $1 AND l.jurisdiction < $2) OR l.learner_id IN (
           SELECT t.learner_id FROM rm_transfers t
           WHERE (t.origin >= $1 AND t.origin < $2) OR (t.destination >= $1 AND t.destination < $2)))
    AND ($3::text IS NULL OR l.school = $3 OR l.learner_id IN (
           SELECT c.learner_id FROM rm_learner_corrections c WHERE c.school_before = $3))"""

#: A learner in the jurisdiction at $5 is there now or was a transfer's origin or destination,
#: and at the school $3 is there now or was before a correction (the prefilter, on the
#: indexes); the jurisdiction and the school at $5 are then ``FACTS_SQL``'s.
_COHORT_SQL: Final = f"""
SELECT learner_id FROM (
  SELECT l.learner_id, {jurisdiction_at_sql("$5")} AS jurisdiction_then,
    CASE WHEN b.position IS NULL THEN l.school ELSE b.school_before END AS school_then
  FROM rm_learners l
  {details_then_sql("$5")}
  WHERE {IN_SCOPE_THEN_SQL}
    AND l.learner_id > $4 AND l.registered_position <= $5
) found
WHERE jurisdiction_then >= $1 AND jurisdiction_then < $2 AND ($3::text IS NULL OR school_then = $3)
ORDER BY learner_id LIMIT $6
"""


async def cohort(
    conn: Any,
    jurisdiction: str,
    school: str | None,
    at_position: int | None = None,
    *,
    after: str = "",
    limit: int = 100,
) -> list[str]:
    """Learner ids in scope (registered by the position, in the jurisdiction that held their
    account and at the school they were at, both at the position, as ``learner_facts_many``
    has them), in id order, after ``after``."""
    low, high = division_range(jurisdiction)
    rows = await conn.fetch(
        _COHORT_SQL,
        low,
        high,
        school,
        after,
        bound(at_position),
        limit,
    )
    return [r["learner_id"] for r in rows]
