"""The moves read model: a learner's departures to and arrivals from other provincial banks.

Invariants:
- ``rm_moves`` holds one row per ``Account.Departed`` or ``Account.Arrived`` event; rows are
  never deleted (a return is a later arrival, not an undoing);
- an arrival's carried completions enter ``rm_completions`` as the learner's, each under an id
  derived from the arrival and the origin's event id, named by the arrival's event and position,
  so balances, histories and verdicts here continue from the origin's hours; nothing of the
  origin's own rows is changed, since the origin keeps its log;
- the learner's jurisdiction in ``rm_learners`` follows the arrival (the account opens there);
- nothing here writes outside ``apply`` (called inside the runner's transaction).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final
from uuid import uuid5

from ledger.transfer import Account
from projections.eventlog import bound, topic
from projections.events import Decoded

DEPARTED: Final = topic(Account, "Departed")
ARRIVED: Final = topic(Account, "Arrived")
TOPICS: Final = frozenset({DEPARTED, ARRIVED})
TABLES: Final = ("rm_moves",)

DDL: Final = """
CREATE TABLE IF NOT EXISTS rm_moves (
    position bigint PRIMARY KEY,
    learner_id text NOT NULL,
    direction text NOT NULL,
    other_bank text NOT NULL,
    origin_position bigint NULL,
    on_day date NOT NULL,
    hours numeric(12, 2) NOT NULL,
    digest text NOT NULL,
    event_id uuid NOT NULL
);
CREATE INDEX IF NOT EXISTS rm_moves_learner ON rm_moves (learner_id, position);
"""

_COMPLETION: Final = (
    "INSERT INTO rm_completions (completion_id, provider_id, record_id, learner_id, programme_code,"
    " programme_title, category, level, hours, assessment, completed_on, topics, event_id,"
    " recorded_position, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pass', $10, $11, $12, $13, $14)"
)


async def apply(conn: Any, events: Sequence[Decoded]) -> None:
    for e in events:
        f = e.fields
        if not e.known or e.topic not in TOPICS:
            continue
        arrived = e.topic == ARRIVED
        await conn.execute(
            "INSERT INTO rm_moves (position, learner_id, direction, other_bank, origin_position, on_day, hours,"
            " digest, event_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            e.position,
            f["learner_id"],
            "arrived" if arrived else "departed",
            f["origin"] if arrived else f["destination"],
            f.get("origin_position"),
            f["on"],
            f["hours"],
            f["digest"],
            e.event_id,
        )
        if not arrived:
            continue
        await conn.executemany(
            _COMPLETION,
            [
                (
                    uuid5(e.event_id, c["event_id"]),
                    c["provider_id"],
                    c["record_id"],
                    f["learner_id"],
                    c["programme_code"],
                    c["programme_title"],
                    c["category"],
                    c["level"],
                    c["hours"],
                    c["completed_on"],
                    list(c["topics"]),
                    e.event_id,
                    e.position,
                    e.recorded_at,
                )
                for c in f["completions"]
            ],
        )
        await conn.execute(
            "UPDATE rm_learners SET jurisdiction = $2 WHERE learner_id = $1", f["learner_id"], f["jurisdiction"]
        )


async def learner_moves(conn: Any, learner_id: str, at_position: int | None = None) -> list[dict[str, Any]]:
    """The learner's moves between banks up to ``at_position``, oldest first."""
    rows = await conn.fetch(
        "SELECT * FROM rm_moves WHERE learner_id = $1 AND position <= $2 ORDER BY position",
        learner_id,
        bound(at_position),
    )
    return [
        {
            "direction": r["direction"],
            "bank": r["other_bank"],
            "origin_position": r["origin_position"],
            "on": r["on_day"].isoformat(),
            "hours": r["hours"],
            "digest": r["digest"],
            "position": int(r["position"]),
            "event_id": str(r["event_id"]),
        }
        for r in rows
    ]
