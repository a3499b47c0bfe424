"""The transfers read model: each move of a learner's account, and where it is open now.

Invariants:
- ``rm_transfers`` holds one row per ``Account.Transferred`` event, marked reversed (with
  the reversal's position) by the compensating ``Account.Reversed``; rows are never deleted;
- the learner's jurisdiction in ``rm_learners`` follows the open account (a transfer sets
  it to the destination, its reversal back to the origin), so verdicts use the rules of the
  jurisdiction holding the account and HR scope follows the learner; the registration
  itself stays in the event log unchanged;
- nothing here writes outside ``apply`` (called inside the runner's transaction).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final

from ledger.transfer import Account
from projections.eventlog import bound, topic
from projections.events import Decoded, json_ready

TRANSFERRED: Final = topic(Account, "Transferred")
REVERSED: Final = topic(Account, "Reversed")
TOPICS: Final = frozenset({topic(Account, "Opened"), TRANSFERRED, REVERSED})
TABLES: Final = ("rm_transfers",)

DDL: Final = """
CREATE TABLE IF NOT EXISTS rm_transfers (
    transfer_id text NOT NULL,
    learner_id text NOT NULL,
    origin text NOT NULL,
    destination text NOT NULL,
    on_day date NOT NULL,
    hours numeric(12, 2) NOT NULL,
    completions jsonb NOT NULL,
    digest text NOT NULL,
    position bigint NOT NULL,
    event_id uuid NOT NULL,
    reversed_position bigint NULL,
    reversal_reason text NULL,
    PRIMARY KEY (learner_id, transfer_id)
);
"""


async def apply(conn: Any, events: Sequence[Decoded]) -> None:
    for e in events:
        f = e.fields
        if not e.known or "transfer_id" not in f:
            continue
        if e.topic == TRANSFERRED:
            await conn.execute(
                "INSERT INTO rm_transfers (transfer_id, learner_id, origin, destination, on_day, hours, completions,"
                " digest, position, event_id) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10)",
                f["transfer_id"],
                f["learner_id"],
                f["origin"],
                f["destination"],
                f["on"],
                f["hours"],
                json.dumps(json_ready(f["completions"])),
                f["digest"],
                e.position,
                e.event_id,
            )
            await conn.execute(
                "UPDATE rm_learners SET jurisdiction = $2 WHERE learner_id = $1", f["learner_id"], f["destination"]
            )
        elif e.topic == REVERSED:
            await conn.execute(
                "UPDATE rm_transfers SET reversed_position = $3, reversal_reason = $4"
                " WHERE learner_id = $1 AND transfer_id = $2",
                f["learner_id"],
                f["transfer_id"],
                e.position,
                f.get("reason"),
            )
            await conn.execute(
                "UPDATE rm_learners SET jurisdiction = $2 WHERE learner_id = $1", f["learner_id"], f["reopened"]
            )


async def learner_transfers(conn: Any, learner_id: str, at_position: int | None = None) -> list[dict[str, Any]]:
    upper = bound(at_position)
    rows = await conn.fetch(
        "SELECT * FROM rm_transfers WHERE learner_id = $1 AND position <= $2 ORDER BY position", learner_id, upper
    )
    return [
        {
            "transfer_id": r["transfer_id"],
            "origin": r["origin"],
            "destination": r["destination"],
            "on": r["on_day"].isoformat(),
            "hours": r["hours"],
            "digest": r["digest"],
            "completions": json.loads(r["completions"]),
            "position": int(r["position"]),
            "event_id": str(r["event_id"]),
            "reversed": r["reversed_position"] is not None and r["reversed_position"] <= upper,
            "reversal_reason": r["reversal_reason"]
            if r["reversed_position"] and r["reversed_position"] <= upper
            else None,
        }
        for r in rows
    ]
