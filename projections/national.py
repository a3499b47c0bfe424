"""The national view: the provincial banks' learners counted once, fed by their event streams.

Invariants:
- a separate read side in its own database: it reads each province's ``GET /v1/events``
  (``after`` its own tracked position for that bank) and nothing else of the banks; a page and
  the bank's new position are written in one transaction, so a crash re-reads, never skips;
- ``nat_holdings`` has one row per learner (national teacher number) and bank that ever held the
  account: open from the registration or an arrival, closed by a departure; the bank holding a
  learner is the one whose row is open;
- a learner is counted once, by teacher number, however many banks have held the account and
  in whatever order the streams are read: between a departure and its arrival (or while one
  stream is read ahead of another) the learner is still one learner; the banks' counts are
  never added;
- an erasure in a bank replaces the teacher number in that bank's rows by the bank's tombstone
  (the stream names the pseudonym), so the view keeps no number the bank no longer shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import aiohttp

DDL: Final = """
CREATE TABLE IF NOT EXISTS nat_positions (
    bank_id text PRIMARY KEY,
    position bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS nat_holdings (
    learner_id text NOT NULL,
    bank_id text NOT NULL,
    subject text NOT NULL,
    jurisdiction text NOT NULL,
    open boolean NOT NULL,
    -- Opened by an arrival from another bank (the newer holding while a stream lags).
    arrived boolean NOT NULL DEFAULT false,
    departed_to text NULL,
    position bigint NOT NULL,
    PRIMARY KEY (learner_id, bank_id)
);
CREATE INDEX IF NOT EXISTS nat_holdings_subject ON nat_holdings (bank_id, subject);
"""

#: Events read per request of a stream.
PAGE: Final = 1000


@dataclass(frozen=True)
class Province:
    """A provincial bank the view follows: its id, its address, an auditor's token there."""

    bank_id: str
    url: str
    token: str


async def ensure_schema(conn: Any) -> None:
    await conn.execute(DDL)


async def _open(conn: Any, bank: str, f: dict[str, Any], position: int, *, arrived: bool) -> None:
    await conn.execute(
        "INSERT INTO nat_holdings (learner_id, bank_id, subject, jurisdiction, open, arrived, position)"
        " VALUES ($1, $2, $3, $4, true, $5, $6) ON CONFLICT (learner_id, bank_id) DO UPDATE"
        " SET jurisdiction = EXCLUDED.jurisdiction, open = true, arrived = nat_holdings.arrived OR EXCLUDED.arrived,"
        " departed_to = NULL, position = EXCLUDED.position",
        f["learner_id"],
        bank,
        f.get("subject") or f["learner_id"],
        f["jurisdiction"],
        arrived,
        position,
    )


async def apply(conn: Any, bank: str, events: Sequence[dict[str, Any]]) -> None:
    """Apply one page of a bank's stream (its events in order) inside the caller's transaction."""
    for e in events:
        kind, f, position = e["type"], e["data"], int(e["position"])
        learner = f.get("learner_id")
        if not isinstance(learner, str):
            continue
        if kind in ("LearnerRegistered", "AccountArrived"):
            await _open(conn, bank, f, position, arrived=kind == "AccountArrived")
        elif kind == "AccountDeparted":
            await conn.execute(
                "UPDATE nat_holdings SET open = false, departed_to = $3, position = $4"
                " WHERE learner_id = $1 AND bank_id = $2",
                learner,
                bank,
                f["destination"],
                position,
            )
        elif kind in ("AccountTransferred", "AccountReversed"):
            jurisdiction = f["destination"] if kind == "AccountTransferred" else f["reopened"]
            await conn.execute(
                "UPDATE nat_holdings SET jurisdiction = $3 WHERE learner_id = $1 AND bank_id = $2",
                learner,
                bank,
                jurisdiction,
            )
        elif kind == "LearnerErased" and f.get("subject"):
            await conn.execute(
                "UPDATE nat_holdings SET learner_id = $3 WHERE bank_id = $1 AND subject = $2",
                bank,
                f["subject"],
                learner,
            )


async def position_of(conn: Any, bank: str) -> int:
    found = await conn.fetchval("SELECT position FROM nat_positions WHERE bank_id = $1", bank)
    return int(found) if found is not None else 0


async def catch_up(pool: Any, session: aiohttp.ClientSession, province: Province, *, page: int = PAGE) -> int:
    """Read the province's stream from the tracked position to its head; the events applied."""
    applied = 0
    while True:
        async with pool.acquire() as conn:
            after = await position_of(conn, province.bank_id)
        async with session.get(
            f"{province.url.rstrip('/')}/v1/events",
            params={"after": str(after), "limit": str(page)},
            headers={"Authorization": f"Bearer {province.token}"},
        ) as response:
            response.raise_for_status()
            body = await response.json()
        events = body["events"]
        if not events:
            return applied
        async with pool.acquire() as conn, conn.transaction():
            # Another follower may have moved the position meanwhile: apply only from ours.
            if await position_of(conn, province.bank_id) != after:
                continue
            await apply(conn, province.bank_id, events)
            await conn.execute(
                "INSERT INTO nat_positions (bank_id, position) VALUES ($1, $2)"
                " ON CONFLICT (bank_id) DO UPDATE SET position = EXCLUDED.position",
                province.bank_id,
                int(body["next_after"]),
            )
        applied += len(events)


async def follow(pool: Any, provinces: Sequence[Province], *, page: int = PAGE) -> int:
    """One round over every province; the events applied."""
    async with aiohttp.ClientSession() as session:
        return sum([await catch_up(pool, session, p, page=page) for p in provinces])


async def counts(conn: Any) -> dict[str, Any]:
    """The learners nationally (each once), those each bank holds, and those between banks."""
    total = await conn.fetchval("SELECT count(DISTINCT learner_id) FROM nat_holdings")
    rows = await conn.fetch(
        "SELECT bank_id, count(*) AS n FROM nat_holdings WHERE open GROUP BY bank_id ORDER BY bank_id"
    )
    between = await conn.fetchval(
        "SELECT count(*) FROM (SELECT learner_id FROM nat_holdings GROUP BY learner_id HAVING NOT bool_or(open)) m"
    )
    positions = await conn.fetch("SELECT bank_id, position FROM nat_positions ORDER BY bank_id")
    return {
        "learners": int(total),
        "by_bank": {r["bank_id"]: int(r["n"]) for r in rows},
        "between_banks": int(between),
        "positions": {r["bank_id"]: int(r["position"]) for r in positions},
    }


async def holder(conn: Any, learner_id: str) -> dict[str, Any] | None:
    """Where the learner's account is held: the open bank, else the last departure's way."""
    rows = await conn.fetch(
        "SELECT bank_id, jurisdiction, open, departed_to FROM nat_holdings WHERE learner_id = $1"
        " ORDER BY open DESC, arrived DESC, bank_id",
        learner_id,
    )
    if not rows:
        return None
    first = rows[0]
    return {
        "learner_id": learner_id,
        "bank_id": first["bank_id"] if first["open"] else None,
        "jurisdiction": first["jurisdiction"] if first["open"] else None,
        "departed_to": None if first["open"] else first["departed_to"],
        "banks": sorted(r["bank_id"] for r in rows),
    }
