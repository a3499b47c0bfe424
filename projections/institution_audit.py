"""Institution audit: per provider and month, what was posted, revoked and refused, and the
anomalies worth an inspector's look.

Invariants:
- ``audit_rejections`` holds one row per completion the bank refused for a reason of the
  institution's standing (outside its accreditation, while suspended, an unknown learner,
  a conflicting repost). It is operational telemetry, outside the ledger's guarantees: a
  refusal changes no ledger state and is not an event, so the HTTP handler that refuses
  writes the row (best effort: a failure to keep it is logged, the answer to the post is
  the same); no hash chain, checkpoint or bundle covers it; it is not a read model
  (``read_models.TABLES``), so a rebuild neither empties nor reproduces it, the read-model
  digests leave it out, and a replay into another database does not carry it. Keeping
  refusals out of the log keeps a misbehaving client from growing the immutable log, and
  keeps personal references of posts for unknown or erased numbers out of what can never
  be erased;
- the month is read in the bank's time zone, by recorded time (posted, revoked,
  refused); anomalies are those touching at least one completion the provider posted in
  the month, judged over every institution's unrevoked completions of those learners:
  ``over_24h_one_day`` (more than 24 h credited to one learner on one completed_on),
  ``overlapping_sessions`` (two multi-day sessions of one learner overlap),
  ``credited_twice`` (one learner credited twice for one programme code of the provider),
  ``backdated_burst`` (at least ``burst`` completions posted on one day, each more than
  ``backdated_days`` after its completed_on);
- a refused post is kept by the learner's pseudonym (``subject``, when the read side knows
  the number), never by the teacher number, which is also taken out of its detail: a post
  for an erased number must not put the number back in the database; the ``learner_id``
  column only held numbers before that, and is emptied when the table is opened;
- nothing here writes except ``record_rejections`` (and that one-time emptying).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Final
from zoneinfo import ZoneInfo

from projections.events import json_ready

DDL: Final = """
CREATE TABLE IF NOT EXISTS audit_rejections (
    id bigserial PRIMARY KEY,
    provider_id text NOT NULL,
    record_id text NULL,
    learner_id text NULL,
    code text NOT NULL,
    detail text NULL,
    completed_on date NULL,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS audit_rejections_provider ON audit_rejections (provider_id, at);
ALTER TABLE audit_rejections ADD COLUMN IF NOT EXISTS subject text NULL;
-- Rows kept before refused posts were stored by pseudonym: the teacher number leaves.
UPDATE audit_rejections a SET subject = l.subject FROM rm_learners l
 WHERE a.learner_id IS NOT NULL AND a.subject IS NULL AND l.learner_id = a.learner_id;
UPDATE audit_rejections SET detail = replace(detail, learner_id, '(learner)'), learner_id = NULL
 WHERE learner_id IS NOT NULL;
"""

#: The refusals an institution audit counts (validation errors of a body are not attempts).
COUNTED: Final = frozenset(
    {
        "outside_accreditation",
        "provider_suspended",
        "learner_not_found",
        "completion_conflict",
        "completion_in_future",
        "posting_as_another_provider",
    }
)


async def record_rejections(conn: Any, provider_id: str, rejected: Sequence[dict[str, Any]]) -> int:
    """Keep the refused items of one post (``{record_id, learner_id, code, detail, completed_on}``)
    by pseudonym: the teacher number (which a post for an erased or unknown learner would put
    back in the database) is stored nowhere, not even in the detail; a learner the read side
    does not know is kept as none."""
    counted = [r for r in rejected if r.get("code") in COUNTED]
    if not counted:
        return 0
    numbers = {r["learner_id"] for r in counted if isinstance(r.get("learner_id"), str)}
    subjects = dict(
        await conn.fetch(
            "SELECT learner_id, subject FROM rm_learners WHERE learner_id = ANY($1::text[])", list(numbers)
        )
    )
    rows = []
    for r in counted:
        number, detail = r.get("learner_id"), r.get("detail")
        if isinstance(number, str) and number and isinstance(detail, str):
            detail = detail.replace(number, "(learner)")
        rows.append((provider_id, r.get("record_id"), subjects.get(number), r["code"], detail, r.get("completed_on")))
    await conn.executemany(
        "INSERT INTO audit_rejections (provider_id, record_id, subject, code, detail, completed_on)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        rows,
    )
    return len(rows)


def _month(month: str, zone: ZoneInfo) -> tuple[datetime, datetime]:
    year, number = (int(x) for x in month.split("-"))
    start = date(year, number, 1)
    end = date(year + number // 12, number % 12 + 1, 1)
    return datetime.combine(start, time.min, zone), datetime.combine(end, time.min, zone)


_POSTED: Final = """
SELECT completion_id, learner_id, record_id, programme_code, hours, completed_on, started_on, event_id,
       recorded_position
FROM rm_completions WHERE provider_id = $1 AND recorded_at >= $2 AND recorded_at < $3
"""
_OVER_24H: Final = """
SELECT c.learner_id, c.completed_on, sum(c.hours) AS hours, array_agg(c.event_id ORDER BY c.recorded_position) ids
FROM rm_completions c
WHERE c.revoked_position IS NULL AND (c.learner_id, c.completed_on) IN (
  SELECT learner_id, completed_on FROM rm_completions WHERE provider_id = $1 AND recorded_at >= $2 AND recorded_at < $3)
GROUP BY c.learner_id, c.completed_on HAVING sum(c.hours) > 24 ORDER BY 1, 2
"""
_OVERLAPS: Final = """
SELECT a.learner_id, a.event_id AS a_id, a.started_on AS a_from, a.completed_on AS a_to, a.provider_id AS a_provider,
       b.event_id AS b_id, b.started_on AS b_from, b.completed_on AS b_to, b.provider_id AS b_provider
FROM rm_completions a JOIN rm_completions b
  ON b.learner_id = a.learner_id AND b.completion_id <> a.completion_id
 AND b.revoked_position IS NULL AND b.started_on IS NOT NULL AND b.started_on < b.completed_on
 AND daterange(a.started_on, a.completed_on, '[]') && daterange(b.started_on, b.completed_on, '[]')
WHERE a.provider_id = $1 AND a.recorded_at >= $2 AND a.recorded_at < $3 AND a.revoked_position IS NULL
  AND a.started_on IS NOT NULL AND a.started_on < a.completed_on
  AND NOT (b.provider_id = $1 AND b.recorded_at >= $2 AND b.recorded_at < $3 AND b.completion_id < a.completion_id)
ORDER BY a.learner_id, a.started_on
"""
_TWICE: Final = """
SELECT c.learner_id, c.programme_code, count(*) AS n, array_agg(c.event_id ORDER BY c.recorded_position) ids
FROM rm_completions c
WHERE c.provider_id = $1 AND c.revoked_position IS NULL AND (c.learner_id, c.programme_code) IN (
  SELECT learner_id, programme_code FROM rm_completions
  WHERE provider_id = $1 AND recorded_at >= $2 AND recorded_at < $3)
GROUP BY c.learner_id, c.programme_code HAVING count(*) > 1 ORDER BY 1, 2
"""
_BACKDATED: Final = """
SELECT (recorded_at AT TIME ZONE $4)::date AS day, count(*) AS n,
       max((recorded_at AT TIME ZONE $4)::date - completed_on) AS most_days,
       array_agg(event_id ORDER BY recorded_position) ids
FROM rm_completions
WHERE provider_id = $1 AND recorded_at >= $2 AND recorded_at < $3
  AND (recorded_at AT TIME ZONE $4)::date - completed_on > $5
GROUP BY 1 HAVING count(*) >= $6 ORDER BY 1
"""


async def institution_month(
    conn: Any,
    provider_id: str,
    month: str,
    zone: ZoneInfo,
    *,
    backdated_days: int = 90,
    burst: int = 20,
) -> dict[str, Any]:
    start, end = _month(month, zone)
    args = (provider_id, start, end)
    posted = await conn.fetch(_POSTED, *args)
    revoked = await conn.fetch(
        "SELECT event_id, revoked_event_id, learner_id, record_id, revocation_reason, revoked_by FROM rm_completions"
        " WHERE provider_id = $1 AND revoked_at >= $2 AND revoked_at < $3 ORDER BY revoked_position",
        *args,
    )
    rejected = await conn.fetch(
        "SELECT code, count(*) AS n FROM audit_rejections WHERE provider_id = $1 AND at >= $2 AND at < $3"
        " GROUP BY code ORDER BY code",
        *args,
    )
    anomalies: list[dict[str, Any]] = []
    for r in await conn.fetch(_OVER_24H, *args):
        anomalies.append(
            {
                "kind": "over_24h_one_day",
                "learner_id": r["learner_id"],
                "date": r["completed_on"],
                "hours": r["hours"],
                "events": r["ids"],
            }
        )
    for r in await conn.fetch(_OVERLAPS, *args):
        anomalies.append(
            {
                "kind": "overlapping_sessions",
                "learner_id": r["learner_id"],
                "date": r["a_from"],
                "detail": f"{r['a_from']}..{r['a_to']} ({r['a_provider']}) overlaps "
                f"{r['b_from']}..{r['b_to']} ({r['b_provider']})",
                "events": [r["a_id"], r["b_id"]],
            }
        )
    for r in await conn.fetch(_TWICE, *args):
        anomalies.append(
            {
                "kind": "credited_twice",
                "learner_id": r["learner_id"],
                "programme_code": r["programme_code"],
                "count": r["n"],
                "events": r["ids"],
            }
        )
    for r in await conn.fetch(_BACKDATED, *args, zone.key, backdated_days, burst):
        anomalies.append(
            {
                "kind": "backdated_burst",
                "date": r["day"],
                "count": r["n"],
                "detail": f"{r['n']} completions posted on {r['day']}, each more than {backdated_days} "
                f"days after it was completed (up to {r['most_days']} days)",
                "events": r["ids"],
            }
        )
    report: dict[str, Any] = json_ready(
        {
            "provider_id": provider_id,
            "month": month,
            "from": start,
            "to": end,
            "thresholds": {"backdated_days": backdated_days, "burst": burst, "hours_per_day": "24"},
            "posted": {
                "count": len(posted),
                "hours": sum((r["hours"] for r in posted), start=Decimal(0)),
                "learners": len({r["learner_id"] for r in posted}),
            },
            "revoked": {
                "count": len(revoked),
                "items": [
                    {
                        "event_id": r["event_id"],
                        "revocation_event_id": r["revoked_event_id"],
                        "learner_id": r["learner_id"],
                        "record_id": r["record_id"],
                        "reason": r["revocation_reason"],
                        "by": r["revoked_by"],
                    }
                    for r in revoked
                ],
            },
            "rejected": {"count": sum(r["n"] for r in rejected), "by_code": {r["code"]: r["n"] for r in rejected}},
            "anomalies": anomalies,
        }
    )
    return report
