"""An event the read models cannot apply: an incident, recorded where every process sees it.

Invariants:
- when the event at position ``p`` cannot be applied (for any reason but an unreachable
  database) the runner records one row per projection in ``rm_incidents``: the position,
  the event's id and topic, the error's class and a description, the first and the last
  failure and how many attempts failed. It is written outside the failed transaction, so
  it survives the rollback, and it is what ``/readyz`` and ``/metrics`` report;
- the row is deleted by the very transaction that applies past ``p`` (the runner's
  compare-and-set), so it exists exactly while the read models are stuck at it;
- nothing personal is recorded or logged: an event is named by position, id and topic
  only, and a description keeps the error's wording but none of the values it quotes
  (PostgreSQL quotes the offending value, as in ``Key (learner_id)=(…)``, in its detail,
  which is never kept, and sometimes in its message, whose quoted parts are replaced
  unless they name the schema: a constraint, table or column).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import asyncpg

DDL: Final = """
CREATE TABLE IF NOT EXISTS rm_incidents (
    projection text PRIMARY KEY,
    position bigint NOT NULL,
    event_id uuid NOT NULL,
    topic text NOT NULL,
    error text NOT NULL,
    description text NOT NULL,
    first_failed_at timestamptz NOT NULL DEFAULT now(),
    last_failed_at timestamptz NOT NULL DEFAULT now(),
    attempts bigint NOT NULL DEFAULT 1
);
"""

#: Deletes the incident once the tracking row moves past it (a CTE of the runner's CAS).
CLEAR_CTE: Final = "cleared AS (DELETE FROM rm_incidents WHERE projection = $1 AND position <= $2)"

_RECORD: Final = """
INSERT INTO rm_incidents (projection, position, event_id, topic, error, description)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (projection) DO UPDATE SET
    attempts = CASE WHEN rm_incidents.position = EXCLUDED.position THEN rm_incidents.attempts + 1 ELSE 1 END,
    first_failed_at = CASE WHEN rm_incidents.position = EXCLUDED.position
                           THEN rm_incidents.first_failed_at ELSE now() END,
    last_failed_at = now(),
    position = EXCLUDED.position, event_id = EXCLUDED.event_id, topic = EXCLUDED.topic,
    error = EXCLUDED.error, description = EXCLUDED.description
"""

_QUOTED: Final = re.compile(r"\"[^\"]*\"|'[^']*'|\([^()]*\)=\([^()]*\)")
_MAX_DESCRIPTION: Final = 300


@dataclass(frozen=True)
class Incident:
    position: int
    event_id: str
    topic: str
    error: str
    description: str
    first_failed_at: datetime | None = None
    last_failed_at: datetime | None = None
    attempts: int = 1

    def as_data(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "event_id": self.event_id,
            "topic": self.topic,
            "error": self.error,
            "description": self.description,
            "attempts": self.attempts,
            "first_failed_at": self.first_failed_at.isoformat() if self.first_failed_at else None,
            "last_failed_at": self.last_failed_at.isoformat() if self.last_failed_at else None,
        }


def describe(error: BaseException) -> str:
    """The error's wording without the values it quotes (see the module's invariants)."""
    schema_names: set[str] = set()
    if isinstance(error, asyncpg.PostgresError):
        message = str(getattr(error, "message", None) or error)
        for name in ("constraint_name", "table_name", "column_name", "schema_name"):
            value = getattr(error, name, None)
            if value:
                schema_names.add(str(value))
    else:
        message = str(error)

    def redact(match: re.Match[str]) -> str:
        quoted = match.group(0)
        return quoted if quoted[1:-1] in schema_names else quoted[0] + "…" + quoted[-1]

    text = _QUOTED.sub(redact, message)
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text[:_MAX_DESCRIPTION]


class EventNotApplied(Exception):
    """The read models cannot apply the event at ``incident.position``."""

    def __init__(self, incident: Incident) -> None:
        super().__init__(
            f"cannot apply the event at position {incident.position} ({incident.topic}, event {incident.event_id}): "
            f"{incident.error}: {incident.description}"
        )
        self.incident = incident


async def record(conn: Any, projection: str, incident: Incident) -> None:
    await conn.execute(
        _RECORD, projection, incident.position, incident.event_id, incident.topic, incident.error, incident.description
    )


async def current(conn: Any, projection: str) -> Incident | None:
    """The incident the read models are stuck at, if any."""
    try:
        row = await conn.fetchrow(
            "SELECT position, event_id, topic, error, description, first_failed_at, last_failed_at, attempts"
            " FROM rm_incidents WHERE projection = $1",
            projection,
        )
    except asyncpg.UndefinedTableError:
        return None
    if row is None:
        return None
    return Incident(
        int(row["position"]),
        str(row["event_id"]),
        row["topic"],
        row["error"],
        row["description"],
        row["first_failed_at"],
        row["last_failed_at"],
        int(row["attempts"]),
    )
