"""The two timelines of a verdict: the day judged, and what the bank knew.

Invariants:
- ``on=D`` judges eligibility on day D; ``knowledge=recorded`` uses only what the bank
  had recorded by the end of D ("as known that day"), ``knowledge=current`` (the
  default with ``on``) everything recorded up to the answer's position ("as we know it
  today"), so a completion dated before D but recorded after D counts in the second
  answer and not in the first;
- ``as_of=D`` stays what it was: judged on D as known on D; ``at_position=N``: as known
  at N, judged on the day N was recorded;
- every verdict says which question it answered (``question``), in words and as fields;
- a read that judges "today" (an inspection's weeks so far) judges the day its timeline
  names: ``as_of``'s day, the day ``at_position`` was recorded, else today (``day_judged``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import asyncpg
from aiohttp import web

from api.service.context import services
from api.service.http import resolve_position


async def judged_on(conn: asyncpg.Connection, request: web.Request, query: dict[str, Any]) -> tuple[date, int]:
    """(the day judged, the position) for ``on=D`` with ``knowledge``."""
    on: date = query["on"]
    if query.get("knowledge", "current") == "recorded":
        known = {k: v for k, v in query.items() if k not in {"on", "knowledge"}}
        known["as_of"] = on
        return on, await resolve_position(conn, request, known)
    return on, await resolve_position(conn, request, query)


def question(query: dict[str, Any], on: date, position: int) -> dict[str, Any]:
    """Which question a verdict answers."""
    if "on" in query:
        knowledge = query.get("knowledge", "current")
    elif "as_of" in query:
        knowledge = "recorded"
    elif "at_position" in query:
        knowledge = "at_position"
    else:
        knowledge = "current"
    known = {
        "recorded": f"as known at the end of {on.isoformat()}",
        "current": "as the bank knows it now",
        "at_position": f"as known at position {position}",
    }[knowledge]
    return {"knowledge": knowledge, "question": f"eligible on {on.isoformat()}, {known} (position {position})"}


async def day_judged(conn: asyncpg.Connection, request: web.Request, query: dict[str, Any], position: int) -> date:
    """The day a read at ``position`` (``resolve_position``'s) judges as "today"."""
    svc = services(request)
    if "as_of" in query:
        as_of: date = query["as_of"]
        return min(as_of, svc.today())
    if "at_position" in query:
        day = await day_recorded(conn, request, position)
        if day is not None:
            return min(day, svc.today())
    return svc.today()


async def day_recorded(conn: asyncpg.Connection, request: web.Request, position: int) -> date | None:
    """The bank's day (in its zone) on which the event at ``position``, or the last before
    it, was recorded; None before the first event."""
    recorded = await conn.fetchval(
        "SELECT recorded_at FROM rm_event_index WHERE position <= $1 ORDER BY position DESC LIMIT 1", position
    )
    if recorded is None:
        return None
    day: date = recorded.astimezone(services(request).zone).date()
    return day
