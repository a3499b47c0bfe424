"""The balance read's stored answer: per learner, the JSON of their balance kept ready by the
projection, so ``GET /v1/learners/{id}/balance`` costs one round trip and no work that grows
with the learner's history.

What is stored is a template: the bytes of ``queries.balance_of_rows``'s answer, encoded as
the API encodes it, with holes where the answer depends on more than the learner's own
completions. Holes are separated from the bytes around them by ``\\x00`` (JSON never holds
a raw NUL); each names what fills it:

- ``L``: the learner's number (not stored, so an erasure leaves none of it here);
- ``P``: the position the read answers for (``at_position``);
- ``C<hours>``: ``,"credits":"…"`` after a total, where a credit ratio is in force;
- ``Y<start>``: whether the cycle starting that year is the current one;
- ``E<cycles>``: the current cycle when the learner has no hours in it (empty);
- ``R``: ``,"credit_ratio":{…}``, where a ratio is in force.

Invariants:
- ``filled(template, …)`` is, byte for byte, the encoded ``fast_balance.plain_balance``
  answer for the learner at any position at or after the stored ``position`` and on any
  day, with the cycles of ``CYCLE`` (``tests/integration/test_balance_answer.py``);
  a cycle after the current one (a completion dated in the future) answers ``None``: the
  caller reads the plain way;
- only completions change the stored part (``Completion.Recorded`` and ``Revoked``, and an
  arrival's carried completions, ``projections.moves``); a registration stores an empty
  one. ``position`` is that of the last such event for the learner, so whatever a batch
  rewrote is newer than any position read before it committed, in every batching (the
  digests of two builds agree);
- written in the projection's transaction for the batch, with the tracking row; one
  recomputation per learner per batch (``refresh``), from their ``rm_completions`` rows.
  A batch of ``DEFER_AT`` events or more (a rebuild, a catch-up) instead drops the answers
  it touches and lists their learners in ``rm_balance_pending``, and ``settle`` stores them
  once the runner has caught up: once per learner, not once per batch they appear in (and
  so for every learner of a database projected before this table existed). A learner
  without a stored answer is read the plain way, so nothing is ever answered stale;
- a batch's work per learner is bounded, whatever the history: a learner with more than
  ``LONG_HISTORY`` completions is left to ``settle`` like a long batch's (a batch reads at
  most ``LONG_HISTORY + 1`` of their rows to find out). Under a steady load ``settle`` runs
  between batches, a few learners at a time, so a learner posted for many times meanwhile
  is recomputed once (a soak's learners of 400 completions each had held the projection
  17,671 events behind, recomputed in every batch that touched them);
- an erasure's scrub renames the row like every other ``learner_id``; nothing in the
  bytes names the learner.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Final

import orjson

from ledger.credits import Ratio, with_credits
from ledger.degree import credits_for
from ledger.hours import format_hours
from projections import queries
from projections.core import COMPLETION_RECORDED, COMPLETION_REVOKED, LEARNER_REGISTERED
from projections.eventlog import PROJECTION, TRACKING_TABLE
from projections.events import Decoded
from projections.moves import ARRIVED

#: The training cycle stored answers are grouped by: (anchor year, years), the settings'
#: defaults. A deployment with other cycles reads the plain way.
CYCLE: Final = (2021, 5)

#: A batch this long is a catch-up: its answers are stored by ``settle``, once it is done.
DEFER_AT: Final = 500
#: Learners ``settle`` stores per transaction (each holds the tracking row's lock, so batches
#: wait for it: kept short).
SETTLE_CHUNK: Final = 500
#: A learner with more completions than this is recomputed by ``settle``, not by each batch.
LONG_HISTORY: Final = 64
#: Learners of long histories ``settle`` stores per transaction between two batches of a
#: steady load: a few hundred of their rows each, so a batch waits some tens of ms at most.
BETWEEN_BATCHES: Final = 20
#: Learners whose rows one query of ``refresh`` reads: their whole histories are held at once,
#: so memory is bounded by this times the longest history, not by the batch (a soak's learners
#: with 400 completions each, 2,000 at a time, took the worker to 880 MB).
REFRESH_GROUP: Final = 50

TABLES: Final = ("rm_balance_answers", "rm_balance_pending")
DDL: Final = """
CREATE TABLE IF NOT EXISTS rm_balance_answers (
    learner_id text PRIMARY KEY,
    -- The last event that changed it: the answer holds for every position from here on.
    position bigint NOT NULL,
    answer bytea NOT NULL
);
-- Learners whose answer a long batch dropped, for settle to store. Made once: the learners
-- projected before there were stored answers (none in a new database) are its first rows.
DO $$
BEGIN
    IF to_regclass('rm_balance_pending') IS NULL THEN
        CREATE TABLE rm_balance_pending (learner_id text PRIMARY KEY);
        INSERT INTO rm_balance_pending SELECT learner_id FROM rm_learners;
    END IF;
END $$;
"""
TOPICS: Final = frozenset({LEARNER_REGISTERED, COMPLETION_RECORDED, COMPLETION_REVOKED, ARRIVED})

_HOLE: Final = b"\x00"
# Far enough that every cycle with hours is at or before its cycle (whose empty self is
# dropped); cycles after it are after any real day's too, so neither read lists them.
_LAST_DAY: Final = date(9000, 1, 1)

_UPSERT: Final = (
    "INSERT INTO rm_balance_answers (learner_id, position, answer) VALUES ($1, $2, $3)"
    " ON CONFLICT (learner_id) DO UPDATE SET position = EXCLUDED.position, answer = EXCLUDED.answer"
)
# The position of the last event that changed each learner's balance, as the rows record it.
_CHANGED_SQL: Final = (
    "SELECT l.learner_id, greatest(l.registered_position, max(c.recorded_position), max(c.revoked_position))"
    " FROM rm_learners l LEFT JOIN rm_completions c ON c.learner_id = l.learner_id"
    " WHERE l.learner_id = ANY($1) GROUP BY l.learner_id, l.registered_position"
)
_ROWS_SQL: Final = (
    f"SELECT learner_id, {queries.BALANCE_COLUMNS} FROM rm_completions WHERE learner_id = ANY($1)"
    " ORDER BY learner_id, completed_on, recorded_position"
)
# The same, at most $2 rows per learner: enough to tell a long history without reading it.
_BOUNDED_ROWS_SQL: Final = (
    f"SELECT l.learner_id, c.* FROM unnest($1::text[]) AS l (learner_id) CROSS JOIN LATERAL"
    f" (SELECT {queries.BALANCE_COLUMNS} FROM rm_completions c WHERE c.learner_id = l.learner_id"
    " ORDER BY completed_on, recorded_position LIMIT $2) c ORDER BY l.learner_id, c.completed_on, c.recorded_position"
)


class _Template:
    """Bytes and holes, alternating, starting and ending with bytes."""

    def __init__(self) -> None:
        self.parts: list[bytes] = [b""]

    def text(self, data: bytes) -> None:
        self.parts[-1] += data

    def hole(self, name: bytes) -> None:
        self.parts += [name, b""]

    def total(self, total: dict[str, Any]) -> None:
        """A total's hours, events and positions, then its credits' hole."""
        self.text(orjson.dumps(total)[:-1])
        self.hole(b"C" + total["hours"].encode())
        self.text(b"}")

    def by_key(self, totals: dict[str, Any]) -> None:
        self.text(b"{")
        for index, (key, total) in enumerate(totals.items()):
            self.text((b"," if index else b"") + orjson.dumps(key) + b":")
            self.total(total)
        self.text(b"}")

    def encoded(self) -> bytes:
        return _HOLE.join(self.parts)


def template(rows: Sequence[Any]) -> bytes:
    """The stored answer of a learner's ``rm_completions`` rows (``queries.BALANCE_COLUMNS``),
    in (completed_on, recorded_position) order, all of them counted as applied."""
    anchor, years = CYCLE
    found = queries.balance_of_rows(
        "", rows, at_position=None, today=_LAST_DAY, cycle_anchor_year=anchor, cycle_years=years
    )
    cycles = [c for c in found["cycles"] if c["events"] or not c["current"]]
    out = _Template()
    out.text(b'{"learner_id":')
    out.hole(b"L")
    out.text(b',"at_position":')
    out.hole(b"P")
    out.text(b',"total":')
    out.total(found["total"])
    out.text(b',"by_category":')
    out.by_key(found["by_category"])
    out.text(b',"by_year":')
    out.by_key(found["by_year"])
    out.text(b',"cycles":[')
    for index, cycle in enumerate(cycles):
        head = {key: cycle[key] for key in ("cycle", "start", "end")}
        hours = {key: cycle[key] for key in ("hours", "events", "positions")}
        out.text((b"," if index else b"") + orjson.dumps(head)[:-1] + b',"current":')
        out.hole(b"Y" + cycle["start"][:4].encode())
        out.text(b"," + orjson.dumps(hours)[1:-1] + b',"by_category":')
        out.by_key(cycle["by_category"])
        out.hole(b"C" + cycle["hours"].encode())
        out.text(b"}")
    out.hole(b"E" + str(len(cycles)).encode())
    out.text(b'],"failed":' + orjson.dumps(found["failed"]) + b',"revoked":' + orjson.dumps(found["revoked"]))
    out.hole(b"R")
    out.text(b"}")
    return out.encoded()


class Filler:
    """Fills stored answers in; remembers the few pieces every read shares (bounded)."""

    def __init__(self) -> None:
        self._credits: dict[tuple[bytes, Decimal], bytes] = {}
        self._ratios: dict[Ratio, bytes] = {}
        self._empty: dict[tuple[int, Ratio | None], bytes] = {}

    def filled(
        self, stored: bytes, learner_id: str, *, at_position: int, today: date, ratio: Ratio | None
    ) -> bytes | None:
        """The encoded answer (``None``: a cycle lies after today's; read the plain way)."""
        anchor, years = CYCLE
        current = anchor + (today.year - anchor) // years * years
        parts = stored.split(_HOLE)
        seen_current = False
        for index in range(1, len(parts), 2):
            hole = parts[index]
            kind = hole[:1]
            if kind == b"C":
                parts[index] = b"" if ratio is None else self._credit(hole[1:], ratio)
            elif kind == b"Y":
                start = int(hole[1:])
                if start > current:
                    return None
                seen_current = seen_current or start == current
                parts[index] = b"true" if start == current else b"false"
            elif kind == b"P":
                parts[index] = str(at_position).encode()
            elif kind == b"L":
                parts[index] = orjson.dumps(learner_id)
            elif kind == b"E":
                parts[index] = (
                    b"" if seen_current else (b"," if hole[1:] != b"0" else b"") + self._empty_cycle(current, ratio)
                )
            else:  # R
                parts[index] = b"" if ratio is None else self._ratio(ratio)
        return b"".join(parts)

    def _credit(self, hours: bytes, ratio: Ratio) -> bytes:
        key = (hours, ratio.hours_per_credit)
        piece = self._credits.get(key)
        if piece is None:
            amount = format_hours(credits_for(Decimal(hours.decode()), ratio.hours_per_credit))
            piece = b',"credits":"' + amount.encode() + b'"'
            if len(self._credits) >= 65_536:
                self._credits.clear()
            self._credits[key] = piece
        return piece

    def _ratio(self, ratio: Ratio) -> bytes:
        piece = self._ratios.get(ratio)
        if piece is None:
            piece = b',"credit_ratio":' + orjson.dumps(ratio.as_dict())
            if len(self._ratios) >= 1024:
                self._ratios.clear()
            self._ratios[ratio] = piece
        return piece

    def _empty_cycle(self, start: int, ratio: Ratio | None) -> bytes:
        piece = self._empty.get((start, ratio))
        if piece is None:
            anchor, years = CYCLE
            empty = queries.balance_of_rows(
                "", (), at_position=None, today=date(start, 1, 1), cycle_anchor_year=anchor, cycle_years=years
            )["cycles"][0]
            piece = orjson.dumps(empty if ratio is None else with_credits(empty, ratio))
            if len(self._empty) >= 1024:
                self._empty.clear()
            self._empty[(start, ratio)] = piece
        return piece


async def refresh(conn: Any, learners: Mapping[str, int], *, bounded: bool = False) -> None:
    """Store anew the answers of ``learners`` (number -> the position of the last event that
    changed their balance), from their completions as the read models hold them now;
    ``bounded``: those with more than ``LONG_HISTORY`` completions are left to ``settle``."""
    numbers = list(learners)
    for start in range(0, len(numbers), REFRESH_GROUP):
        group = numbers[start : start + REFRESH_GROUP]
        rows: dict[str, list[Any]] = defaultdict(list)
        if bounded:
            found = await conn.fetch(_BOUNDED_ROWS_SQL, group, LONG_HISTORY + 1)
        else:
            found = await conn.fetch(_ROWS_SQL, group)
        for row in found:
            rows[row["learner_id"]].append(row)
        long = {learner for learner in group if len(rows.get(learner, ())) > LONG_HISTORY} if bounded else set()
        if long:
            await _defer(conn, sorted(long))
        await conn.executemany(
            _UPSERT,
            [(learner, learners[learner], template(rows.get(learner, ()))) for learner in group if learner not in long],
        )
        del rows, found


async def _defer(conn: Any, learners: list[str]) -> None:
    """Drop the answers of ``learners`` and list them for ``settle``."""
    await conn.execute("DELETE FROM rm_balance_answers WHERE learner_id = ANY($1)", learners)
    await conn.execute("INSERT INTO rm_balance_pending SELECT unnest($1::text[]) ON CONFLICT DO NOTHING", learners)


async def apply(conn: Any, events: Sequence[Decoded]) -> None:
    """Refresh the stored answer of every learner a batch registered or posted or revoked
    for (after ``projections.apply`` has written the batch's completions); a long batch
    leaves them to ``settle``."""
    changed: dict[str, int] = {}
    revoked: dict[Any, int] = {}
    for e in events:
        if not e.known:
            continue
        if e.topic == COMPLETION_RECORDED or e.topic == LEARNER_REGISTERED or e.topic == ARRIVED:
            changed[e.fields["learner_id"]] = e.position
        elif e.topic == COMPLETION_REVOKED:
            revoked[e.originator_id] = e.position
    if revoked:
        for completion_id, learner in await conn.fetch(
            "SELECT completion_id, learner_id FROM rm_completions WHERE completion_id = ANY($1)", list(revoked)
        ):
            changed[learner] = max(changed.get(learner, 0), revoked[completion_id])
    if len(events) < DEFER_AT:
        await refresh(conn, changed, bounded=True)
    elif changed:
        await _defer(conn, list(changed))


async def settle(conn: Any, *, chunks: int | None = None, chunk: int = SETTLE_CHUNK) -> int:
    """Store the answers left pending, ``chunk`` learners a transaction (at most ``chunks``
    of them), each locking the tracking row as a batch does (so none runs in between);
    answer how many."""
    done = 0
    # Asked first outside a transaction: the runner asks whenever it has caught up.
    while (chunks is None or done < chunks * chunk) and await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM rm_balance_pending)"
    ):
        async with conn.transaction():
            await conn.execute(f"SELECT 1 FROM {TRACKING_TABLE} WHERE projection = $1 FOR UPDATE", PROJECTION)
            learners = [
                r[0]
                for r in await conn.fetch(
                    "DELETE FROM rm_balance_pending WHERE learner_id IN"
                    " (SELECT learner_id FROM rm_balance_pending LIMIT $1) RETURNING learner_id",
                    chunk,
                )
            ]
            await refresh(conn, {r[0]: int(r[1]) for r in await conn.fetch(_CHANGED_SQL, learners)})
            done += len(learners)
    return done
