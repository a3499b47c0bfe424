"""Read-side queries: plain async functions returning JSON-ready dicts and lists.

Invariants:
- every answer is plain data: hours as exact decimal strings (never floats), dates ISO
  8601, instants RFC 3339, ids strings, positions ints;
- ``at_position=P`` answers from the events at positions ``<= P`` only (``None``: all
  the projection has applied), so a past answer is reproduced exactly: a completion
  counts only if recorded at or before P and not revoked at or before P;
- every total names the events behind it (ids and positions), and what does not count
  (failed, revoked) is listed with the reason, so each number can be explained;
- ``conn`` may be an asyncpg connection or pool; nothing here writes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Final
from zoneinfo import ZoneInfo

from ledger.completion import earns_hours
from ledger.hours import format_hours
from projections import eventlog
from projections.eventlog import EVENTS_TABLE
from projections.events import Decoded, json_ready
from projections.fast_events import FastEventDecoder
from projections.personal import PersonalData

_DECODER: Final = FastEventDecoder()
_PERSONAL: Final = PersonalData(_DECODER)


async def position_as_of(conn: Any, day: date, tz: ZoneInfo) -> int:
    """The last applied position recorded before the end of ``day`` in ``tz`` (0: none)."""
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
    # Index order (recorded_at, position): writers' clocks may differ by milliseconds, so
    # this is the event recorded last before midnight, which is also (up to that skew)
    # the highest position.
    value = await conn.fetchval(
        "SELECT position FROM rm_event_index WHERE recorded_at < $1 ORDER BY recorded_at DESC, position DESC LIMIT 1",
        end,
    )
    return int(value or 0)


async def learner_jurisdiction(conn: Any, learner_id: str) -> tuple[str, str | None] | None:
    """(jurisdiction, school) of a registered learner, for scope checks."""
    row = await conn.fetchrow("SELECT jurisdiction, school FROM rm_learners WHERE learner_id = $1", learner_id)
    return None if row is None else (row["jurisdiction"], row["school"])


async def learner_profile(conn: Any, learner_id: str, at_position: int | None = None) -> dict[str, Any] | None:
    """The learner as registered, with role spells, as of ``at_position``."""
    bound = eventlog.bound(at_position)
    row = await conn.fetchrow(
        "SELECT learner_id, name, jurisdiction, school, hired_on, registered_position,"
        " registered_event_id, registered_at FROM rm_learners"
        " WHERE learner_id = $1 AND registered_position <= $2",
        learner_id,
        bound,
    )
    if row is None:
        return None
    # Corrected since the asked position: the first later correction kept the details then.
    before = await conn.fetchrow(
        "SELECT name_before AS name, school_before AS school, hired_on_before AS hired_on"
        " FROM rm_learner_corrections WHERE learner_id = $1 AND position > $2 ORDER BY position LIMIT 1",
        learner_id,
        bound,
    )
    details = before if before is not None else row
    roles = await conn.fetch(
        "SELECT role, since, until, ended_position FROM rm_learner_roles"
        " WHERE learner_id = $1 AND started_position <= $2 ORDER BY started_position, ordinal",
        learner_id,
        bound,
    )
    return {
        "learner_id": row["learner_id"],
        "name": details["name"],
        "jurisdiction": row["jurisdiction"],
        "school": details["school"],
        "hired_on": json_ready(details["hired_on"]),
        "roles": [
            {
                "role": r["role"],
                "since": r["since"].isoformat(),
                # A spell that ends after the asked position was still open then.
                "until": (
                    r["until"].isoformat()
                    if r["until"] is not None and r["ended_position"] is not None and r["ended_position"] <= bound
                    else None
                ),
            }
            for r in roles
        ],
        "registered_position": int(row["registered_position"]),
        "registered_event_id": str(row["registered_event_id"]),
        "registered_at": json_ready(row["registered_at"]),
    }


class _Total:
    """Hours and the events behind them."""

    __slots__ = ("events", "hours", "positions")

    def __init__(self) -> None:
        self.hours = Decimal(0)
        self.events: list[str] = []
        self.positions: list[int] = []

    def add(self, hours: Decimal, event_id: str, position: int) -> None:
        self.hours += hours
        self.events.append(event_id)
        self.positions.append(position)

    def as_dict(self) -> dict[str, Any]:
        return {
            "hours": format_hours(self.hours),
            "events": self.events,
            "positions": self.positions,
        }


def _by_key(totals: dict[str, _Total]) -> dict[str, Any]:
    return {key: totals[key].as_dict() for key in sorted(totals)}


async def learner_balance(
    conn: Any,
    learner_id: str,
    *,
    at_position: int | None = None,
    today: date,
    cycle_anchor_year: int = 2021,
    cycle_years: int = 5,
) -> dict[str, Any]:
    """Hours earned as of ``at_position``: in total, by category, by year of completion
    and by training cycle (the one containing ``today`` and every earlier one with
    hours). Only passed, unrevoked completions count; the rest are listed with why."""
    bound = eventlog.bound(at_position)
    rows = await conn.fetch(
        f"SELECT {BALANCE_COLUMNS} FROM rm_completions WHERE learner_id = $1 AND recorded_position <= $2"
        " ORDER BY completed_on, recorded_position",
        learner_id,
        bound,
    )
    return balance_of_rows(
        learner_id,
        rows,
        at_position=at_position,
        today=today,
        cycle_anchor_year=cycle_anchor_year,
        cycle_years=cycle_years,
    )


#: The ``rm_completions`` columns ``balance_of_rows`` reads.
BALANCE_COLUMNS: Final = (
    "provider_id, record_id, category, hours, assessment, completed_on, event_id,"
    " recorded_position, revoked_position, revoked_event_id, revocation_reason"
)


def balance_of_rows(
    learner_id: str,
    rows: Sequence[Any],
    *,
    at_position: int | None,
    today: date,
    cycle_anchor_year: int,
    cycle_years: int,
) -> dict[str, Any]:
    """``learner_balance`` from the learner's completion rows (``BALANCE_COLUMNS``) recorded
    by the position, in (completed_on, recorded_position) order."""
    bound = eventlog.bound(at_position)

    def cycle_start(year: int) -> int:
        return cycle_anchor_year + (year - cycle_anchor_year) // cycle_years * cycle_years

    total = _Total()
    by_category: dict[str, _Total] = defaultdict(_Total)
    by_year: dict[str, _Total] = defaultdict(_Total)
    cycles: dict[int, tuple[_Total, dict[str, _Total]]] = {}
    failed: list[dict[str, Any]] = []
    revoked: list[dict[str, Any]] = []
    for r in rows:
        event_id, position, hours = str(r["event_id"]), int(r["recorded_position"]), r["hours"]
        item = {
            "event_id": event_id,
            "position": position,
            "provider_id": r["provider_id"],
            "record_id": r["record_id"],
            "category": r["category"],
            "hours": format_hours(hours),
            "assessment": r["assessment"],
            "completed_on": r["completed_on"].isoformat(),
        }
        revoked_by_then = r["revoked_position"] is not None and r["revoked_position"] <= bound
        if not earns_hours(r["assessment"], revoked=revoked_by_then):
            # Listed with why it does not count: revoked (its reason), else not passed.
            if revoked_by_then:
                item["revoked_event_id"] = str(r["revoked_event_id"])
                item["revoked_position"] = int(r["revoked_position"])
                item["reason"] = r["revocation_reason"]
                revoked.append(item)
            else:
                item["reason"] = f"assessment {r['assessment']} earns no hours"
                failed.append(item)
            continue
        completed: date = r["completed_on"]
        total.add(hours, event_id, position)
        by_category[r["category"]].add(hours, event_id, position)
        by_year[str(completed.year)].add(hours, event_id, position)
        start = cycle_start(completed.year)
        cycle_total, cycle_categories = cycles.setdefault(start, (_Total(), defaultdict(_Total)))
        cycle_total.add(hours, event_id, position)
        cycle_categories[r["category"]].add(hours, event_id, position)

    current = cycle_start(today.year)
    cycles.setdefault(current, (_Total(), defaultdict(_Total)))
    cycle_list = []
    for start in sorted(cycles):
        if start > current:
            continue  # completions cannot lie in the future; be safe anyway
        cycle_total, cycle_categories = cycles[start]
        end = start + cycle_years - 1
        cycle_list.append(
            {
                "cycle": f"{start}-{end}",
                "start": date(start, 1, 1).isoformat(),
                "end": date(end, 12, 31).isoformat(),
                "current": start == current,
                **cycle_total.as_dict(),
                "by_category": _by_key(cycle_categories),
            }
        )
    return {
        "learner_id": learner_id,
        "at_position": at_position,
        "total": total.as_dict(),
        "by_category": _by_key(by_category),
        "by_year": _by_key(by_year),
        "cycles": cycle_list,
        "failed": failed,
        "revoked": revoked,
    }


async def _revealed(conn: Any, rows: Sequence[Any], columns: tuple[str, str, str, str, str]) -> list[Decoded]:
    """Rows of the log decoded, learners shown as the vault allows (``projections.personal``)."""
    p, o, v, t, s = columns
    decoded = [_DECODER.decode(int(r[p]), r[o], int(r[v]), r[t], bytes(r[s])) for r in rows]
    await _PERSONAL.reveal(conn, decoded)
    return decoded


async def learner_history(
    conn: Any,
    learner_id: str,
    *,
    at_position: int | None = None,
    after: int = 0,
    limit: int = 1000,
) -> list[dict[str, Any]]:
    """Every event about the learner, in order: registration, roles, completions and
    their revocations, each with its chain hash."""
    rows = await conn.fetch(
        "SELECT i.position, i.event_id, i.type, i.recorded_at, i.chain_hash,"
        " e.originator_id, e.originator_version, e.topic, e.state"
        f" FROM rm_event_index i JOIN {EVENTS_TABLE} e ON e.notification_id = i.position"
        " WHERE i.learner_id = $1 AND i.position > $2 AND i.position <= $3"
        " ORDER BY i.position LIMIT $4",
        learner_id,
        after,
        eventlog.bound(at_position),
        limit,
    )
    decoded = await _revealed(conn, rows, ("position", "originator_id", "originator_version", "topic", "state"))
    return [
        {
            "position": int(r["position"]),
            "event_id": str(r["event_id"]),
            "type": r["type"],
            "recorded_at": json_ready(r["recorded_at"]),
            "data": json_ready(d.fields),
            "hash": bytes(r["chain_hash"]).hex(),
        }
        for r, d in zip(rows, decoded, strict=True)
    ]


async def event_stream(conn: Any, *, after: int, limit: int) -> list[dict[str, Any]]:
    """The global log in order, straight from the event store (so it runs ahead of the
    projection); ``hash`` is null for events not indexed yet."""
    rows = await conn.fetch(
        "SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, e.state,"
        f" i.chain_hash FROM {EVENTS_TABLE} e"
        " LEFT JOIN rm_event_index i ON i.position = e.notification_id"
        " WHERE e.notification_id > $1 ORDER BY e.notification_id LIMIT $2",
        after,
        limit,
    )
    out: list[dict[str, Any]] = []
    revealed = await _revealed(conn, rows, ("notification_id", "originator_id", "originator_version", "topic", "state"))
    for r, decoded in zip(rows, revealed, strict=True):
        out.append(
            {
                "position": decoded.position,
                "event_id": str(decoded.event_id),
                "originator_id": str(decoded.originator_id),
                "originator_version": decoded.originator_version,
                "type": decoded.type,
                "topic": decoded.topic,
                "recorded_at": json_ready(decoded.recorded_at),
                "data": json_ready(decoded.fields),
                "hash": None if r["chain_hash"] is None else bytes(r["chain_hash"]).hex(),
            }
        )
    return out


async def provider_view(conn: Any, provider_id: str) -> dict[str, Any] | None:
    """An institution's current accreditation and suspension state."""
    r = await conn.fetchrow("SELECT * FROM rm_providers WHERE provider_id = $1", provider_id)
    if r is None:
        return None
    return {
        "provider_id": r["provider_id"],
        "name": r["name"],
        "jurisdiction": r["jurisdiction"],
        "accreditation": {
            "categories": sorted(r["categories"]),
            "levels": sorted(r["levels"]),
            "valid_from": r["valid_from"].isoformat(),
            "valid_to": json_ready(r["valid_to"]),
        },
        "suspended": r["suspended"],
        "suspension_reason": r["suspension_reason"],
        "accredited_position": int(r["accredited_position"]),
        "updated_position": int(r["updated_position"]),
    }


async def find_learners(conn: Any, text: str, *, limit: int = 100) -> list[dict[str, Any]]:
    """Learners whose teacher number is ``text`` or whose name contains it (erased learners
    have no name and are found by nothing), in number order; the caller filters by scope."""
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = await conn.fetch(
        "SELECT learner_id, name, school, jurisdiction FROM rm_learners"
        " WHERE name IS NOT NULL AND (learner_id = $1 OR name LIKE $2) ORDER BY learner_id LIMIT $3",
        text,
        pattern,
        limit,
    )
    return [dict(r) for r in rows]
