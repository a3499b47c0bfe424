"""A provider's own postings: the completions it posted, newest first, with their status.

Invariants:
- only what the institution itself posted is read (record id, teacher number, programme,
  category, level, hours, assessment, dates, status): never the learner's name, school or
  anything another institution posted;
- ``at_position=P`` answers from the events at positions ``<= P``: a completion posted after
  P is not listed, one revoked after P is still ``recorded``;
- newest first by the position it was recorded at; a page continues strictly below the
  cursor (``before``, the position of the last row of the page before), so a page is the same
  whatever was posted since;
- the date range is on ``completed_on``, both ends included;
- ``conn`` may be an asyncpg connection or pool; nothing here writes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any, Final

from ledger.hours import format_hours
from projections.eventlog import bound

#: Rows fetched at a time when a whole range is read (a spreadsheet).
CHUNK: Final = 2000

_SELECT: Final = (
    "SELECT record_id, learner_id, programme_code, programme_title, category, level, hours, assessment,"
    " completed_on, started_on, recorded_position, event_id,"
    " CASE WHEN revoked_position IS NOT NULL AND revoked_position <= $2 THEN revoked_position END AS revoked_at,"
    " CASE WHEN revoked_position IS NOT NULL AND revoked_position <= $2 THEN revocation_reason END AS reason"
    " FROM rm_completions"
    " WHERE provider_id = $1 AND recorded_position <= $2 AND ($3::bigint IS NULL OR recorded_position < $3)"
    " AND ($4::date IS NULL OR completed_on >= $4) AND ($5::date IS NULL OR completed_on <= $5)"
    " ORDER BY recorded_position DESC LIMIT $6"
)


def _row(r: Any) -> dict[str, Any]:
    revoked = r["revoked_at"] is not None
    return {
        "record_id": r["record_id"],
        "learner_id": r["learner_id"],
        "programme": {
            "code": r["programme_code"],
            "title": r["programme_title"],
            "category": r["category"],
            "level": r["level"],
        },
        "hours": format_hours(r["hours"]),
        "assessment": r["assessment"],
        "completed_on": r["completed_on"].isoformat(),
        "started_on": r["started_on"].isoformat() if r["started_on"] is not None else None,
        "status": "revoked" if revoked else "recorded",
        "revocation_reason": r["reason"],
        "position": int(r["recorded_position"]),
        "revoked_position": int(r["revoked_at"]) if revoked else None,
        "event_id": str(r["event_id"]),
    }


async def provider_completions(
    conn: Any,
    provider_id: str,
    *,
    start: date | None,
    end: date | None,
    before: int | None,
    limit: int,
    at_position: int | None,
) -> list[dict[str, Any]]:
    """Up to ``limit`` of the provider's completions recorded below ``before``, newest first."""
    upper = bound(at_position)
    rows = await conn.fetch(_SELECT, provider_id, upper, before, start, end, limit)
    return [_row(r) for r in rows]


async def all_provider_completions(
    conn: Any, provider_id: str, *, start: date | None, end: date | None, at_position: int | None
) -> AsyncIterator[dict[str, Any]]:
    """Every completion of the range, newest first, read ``CHUNK`` rows at a time."""
    before: int | None = None
    while True:
        page = await provider_completions(
            conn, provider_id, start=start, end=end, before=before, limit=CHUNK, at_position=at_position
        )
        for row in page:
            yield row
        if len(page) < CHUNK:
            return
        before = page[-1]["position"]
