"""Tamper evidence: verify the stored log against its hash chain and signed checkpoints.

Invariants:
- verification reads the raw ``creditbank_events`` rows (never decoded) in position order,
  in position ranges (the next one read while the current one is hashed; both sides of
  every join bounded by the range, so the cost grows linearly with the log), and
  recomputes ``projections.chain`` over them; the stored chain hashes
  (``rm_event_index.chain_hash``, written by the projection when it first saw each event)
  and the signed checkpoints are what the recomputation is compared with;
- every indexed position of a range is accounted for: the range's index rows are counted,
  and when some matched no stored event the missing ones are listed and reported;
- a break is classified by what it looks like at its position:
  ``bytes_changed`` (same originator and version as indexed, other bytes),
  ``swapped`` (two positions' states exchanged), ``reordered`` (another event sits where
  the index says this one was), ``event_missing`` (indexed, no longer stored),
  ``event_inserted`` (stored within the indexed range, never indexed),
  ``checkpoint_signature_invalid`` and ``checkpoint_head_differs``;
- after a break, checking resynchronises on the stored hashes, so one change is reported
  once and later, independent changes are still found; the recomputed head (``raw``) is
  never resynchronised, so every later checkpoint also disagrees with it;
- gaps in positions alone are not breaks (a rolled-back insert burns a sequence value);
  an event is missing only if the index (or a checkpoint) knew it; the whole log reaches
  to the furthest of the stored, indexed and signed positions, so a cut tail is missing;
- a checkpoint signs ``checkpoint_payload(position, head, signed_at)`` with the bank's
  Ed25519 key; one is made only after the log since the previous checkpoint recomputes
  to the head being signed, so the bank never signs a log it cannot reproduce.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from hashlib import sha256
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.keys import SigningKey, verify_with
from projections.chain import GENESIS, canonical_bytes
from projections.eventlog import APPLIED_CHAIN_SQL, EVENTS_TABLE, PROJECTION, bound, head
from projections.schema import SCHEMA_LOCK_KEY

DDL: Final = """
CREATE TABLE IF NOT EXISTS audit_checkpoints (
    position bigint PRIMARY KEY,
    chain_head bytea NOT NULL,
    signed_at timestamptz NOT NULL,
    kid text NOT NULL,
    signature bytea NOT NULL
);
"""

#: Positions read per query while verifying. Two ranges are held at once (one hashed, the
#: next being read), about 4 MB each: at 20,000 (15 MB each) a server that verified while
#: serving kept the 30 MB it had taken for good.
CHUNK: Final = 5_000
#: The same for a process that verifies and does nothing else (``creditbank audit verify``):
#: its memory is given back when it exits, and fewer, larger ranges are ≈20% faster.
CHUNK_ALONE: Final = 20_000
#: At most this many breaks are listed in one report.
MAX_BREAKS: Final = 20

# The canonical bytes of ``projections.chain`` built by the server (same layout: int8send and
# int4send are big-endian; lengths are below 2**31 so signed and unsigned agree).
_CANONICAL: Final = (
    "int8send(e.notification_id) || uuid_send(e.originator_id) || int8send(e.originator_version)"
    " || int4send(octet_length(convert_to(e.topic, 'UTF8'))) || convert_to(e.topic, 'UTF8')"
    " || int4send(octet_length(e.state)) || e.state"
)
# The range bounds the join's inner side too: without them the planner may hash the whole
# index for every chunk (quadratic in the log), with them both sides are index range scans.
_RANGE_SQL: Final = (
    f"SELECT e.notification_id, {_CANONICAL}, i.chain_hash FROM {EVENTS_TABLE} e"
    " LEFT JOIN rm_event_index i ON i.position = e.notification_id AND i.position > $1 AND i.position <= $2"
    " WHERE e.notification_id > $1 AND e.notification_id <= $2 ORDER BY e.notification_id"
)
# An index-only count; only when it exceeds the index rows the range query matched is any
# indexed event missing, and only then is the (costlier) anti-join run.
_INDEXED_SQL: Final = "SELECT count(*) FROM rm_event_index WHERE position > $1 AND position <= $2"
_MISSING_SQL: Final = (
    "SELECT i.position, i.chain_hash FROM rm_event_index i WHERE i.position > $1 AND i.position <= $2"
    f" AND NOT EXISTS (SELECT 1 FROM {EVENTS_TABLE} e WHERE e.notification_id = i.position) ORDER BY i.position"
)
_DETAIL_SQL: Final = (
    "SELECT e.originator_id, e.originator_version, e.topic, e.state, i.originator_id, i.originator_version"
    f" FROM {EVENTS_TABLE} e LEFT JOIN rm_event_index i ON i.position = e.notification_id"
    " WHERE e.notification_id = $1"
)


def checkpoint_payload(position: int, head: bytes, signed_at: datetime) -> bytes:
    """The exact bytes a checkpoint signs (plain text, so anyone can rebuild them)."""
    stamp = signed_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return f"creditbank-checkpoint/v1\n{position}\n{head.hex()}\n{stamp}\n".encode()


@dataclass(frozen=True)
class Checkpoint:
    position: int
    chain_head: bytes
    signed_at: datetime
    kid: str
    signature: bytes

    def verifies(self, public_keys: Mapping[str, Ed25519PublicKey]) -> bool:
        payload = checkpoint_payload(self.position, self.chain_head, self.signed_at)
        return verify_with(dict(public_keys), self.kid, payload, self.signature)

    def as_json(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "chain_head": self.chain_head.hex(),
            "signed_at": self.signed_at.astimezone(UTC).isoformat(),
            "kid": self.kid,
            "signature": self.signature.hex(),
            "payload": checkpoint_payload(self.position, self.chain_head, self.signed_at).decode(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Checkpoint:
        return cls(
            int(data["position"]),
            bytes.fromhex(data["chain_head"]),
            datetime.fromisoformat(data["signed_at"]),
            str(data["kid"]),
            bytes.fromhex(data["signature"]),
        )


@dataclass
class Break:
    position: int
    kind: str
    detail: str
    with_position: int | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"position": self.position, "kind": self.kind, "detail": self.detail}
        if self.with_position is not None:
            out["with_position"] = self.with_position
        return out


@dataclass
class Report:
    start: int
    end: int
    checked: int = 0
    head: bytes = GENESIS
    indexed_to: int = 0
    breaks: list[Break] = field(default_factory=list)
    checkpoints_checked: int = 0
    seeded_from: str = "genesis"

    @property
    def ok(self) -> bool:
        return not self.breaks

    def add(self, found: Break) -> None:
        if len(self.breaks) < MAX_BREAKS:
            self.breaks.append(found)

    def as_json(self) -> dict[str, Any]:
        ordered = sorted(self.breaks, key=lambda b: b.position)
        return {
            "ok": self.ok,
            "from": self.start,
            "to": self.end,
            "events_checked": self.checked,
            "chain_head": self.head.hex(),
            "indexed_to": self.indexed_to,
            "seeded_from": self.seeded_from,
            "checkpoints_checked": self.checkpoints_checked,
            "first_break": ordered[0].as_json() if ordered else None,
            "breaks": [b.as_json() for b in ordered],
        }


async def ensure_audit_schema(conn: Any) -> None:
    async with conn.transaction():
        # Concurrent CREATE ... IF NOT EXISTS may collide on the catalog: take turns.
        await conn.execute("SELECT pg_advisory_xact_lock($1)", SCHEMA_LOCK_KEY)
        await conn.execute(DDL)


async def load_checkpoints(
    conn: Any, start: int = 0, end: int | None = None, limit: int | None = None
) -> list[Checkpoint]:
    """Checkpoints at positions ``start..end``, oldest first (at most ``limit``)."""
    await ensure_audit_schema(conn)
    rows = await conn.fetch(
        "SELECT position, chain_head, signed_at, kid, signature FROM audit_checkpoints"
        " WHERE position >= $1 AND position <= $2 ORDER BY position LIMIT $3",
        start,
        bound(end),
        limit,
    )
    return [Checkpoint(int(r[0]), bytes(r[1]), r[2], r[3], bytes(r[4])) for r in rows]


async def _last_position(conn: Any) -> int:
    return await head(conn)


async def _indexed_to(conn: Any) -> tuple[int, bytes]:
    row = await conn.fetchrow(APPLIED_CHAIN_SQL, PROJECTION)
    return (0, GENESIS) if row is None else (int(row[0]), bytes(row[1]))


async def _seed(conn: Any, start: int, report: Report) -> bytes:
    """The chain hash just before ``start``: a checkpoint's if one is there, else the index's."""
    if start <= 1:
        return GENESIS
    row = await conn.fetchrow("SELECT position, chain_head FROM audit_checkpoints WHERE position = $1", start - 1)
    if row is not None:
        report.seeded_from = f"checkpoint at {start - 1}"
        return bytes(row[1])
    row = await conn.fetchrow(
        "SELECT position, chain_hash FROM rm_event_index WHERE position < $1 ORDER BY position DESC LIMIT 1", start
    )
    if row is None:
        return GENESIS
    report.seeded_from = f"stored hash at {row[0]}"
    return bytes(row[1])


def _swaps(report: Report, suspects: list[tuple[int, bytes, tuple[Any, ...], bytes]]) -> None:
    """Turn pairs of ``bytes_changed`` whose states fit each other's slot into ``swapped``."""
    partner: dict[int, int] = {}
    for a, (pa, prev_a, row_a, stored_a) in enumerate(suspects):
        for pb, prev_b, row_b, stored_b in suspects[a + 1 :]:
            if pa in partner or pb in partner:
                continue
            fits_a = sha256(prev_a + canonical_bytes(pa, row_a[1], row_a[2], row_a[3], row_b[4])).digest()
            fits_b = sha256(prev_b + canonical_bytes(pb, row_b[1], row_b[2], row_b[3], row_a[4])).digest()
            if fits_a == stored_a and fits_b == stored_b:
                partner[pa], partner[pb] = pb, pa
    kept = []
    for b in report.breaks:
        other = partner.get(b.position) if b.kind == "bytes_changed" else None
        if other is None:
            kept.append(b)
        elif b.position < other:
            kept.append(
                Break(
                    b.position,
                    "swapped",
                    f"the stored states of positions {b.position} and {other} were exchanged",
                    with_position=other,
                )
            )
    report.breaks = kept


def _run(rows: list[Any], i: int, raw: bytes, prev: bytes, stops: frozenset[int]) -> tuple[int, bytes, bytes]:
    """Check rows from ``i`` while every link holds; answer where it stopped (a row needing a
    closer look, or the end) and the recomputed and stored heads before that row. This is
    the hot loop: one hash and one comparison per event while in step."""
    digest = sha256
    n = len(rows)
    if raw == prev:
        while i < n:
            row = rows[i]
            h = digest(raw + row[1]).digest()
            if h != row[2] or row[0] in stops:
                break
            raw = prev = h
            i += 1
        return i, raw, prev
    # Out of step after a break: check each link on the stored chain, and keep the
    # recomputed head going for the checkpoints.
    while i < n:
        row = rows[i]
        if row[2] is None or row[0] in stops or digest(prev + row[1]).digest() != row[2]:
            break
        raw, prev = digest(raw + row[1]).digest(), row[2]
        i += 1
    return i, raw, prev


async def _read(conn: Any, low: int, high: int) -> tuple[list[Any], list[Any]]:
    """The stored events of positions ``low+1..high`` (position, canonical bytes, indexed
    hash or ``None``) and the indexed positions in that range no longer stored."""
    rows = await conn.fetch(_RANGE_SQL, low, high)
    indexed = await conn.fetchval(_INDEXED_SQL, low, high)
    if indexed == len(rows) - [r[2] for r in rows].count(None):
        return rows, []  # every indexed position of the range is stored
    return rows, list(await conn.fetch(_MISSING_SQL, low, high))


async def verify(
    conn: Any,
    public_keys: Mapping[str, Ed25519PublicKey],
    start: int = 1,
    end: int | None = None,
    *,
    chunk: int = CHUNK,
) -> Report:
    """Recompute the chain over positions ``start..end`` (default: the whole log)."""
    await ensure_audit_schema(conn)
    start = max(start, 1)
    last = await _last_position(conn)
    indexed_to, _ = await _indexed_to(conn)
    signed = await conn.fetchval("SELECT coalesce(max(position), 0) FROM audit_checkpoints")
    # The log's end is the furthest any record knows of: events cut off its tail are
    # missing there, not out of range.
    last = max(last, indexed_to, int(signed))
    end = min(last, end) if end is not None else last
    report = Report(start, end, indexed_to=indexed_to)
    raw = await _seed(conn, start, report)
    prev = raw
    checkpoints = {c.position: c for c in await load_checkpoints(conn, start, end)}
    for c in checkpoints.values():
        report.checkpoints_checked += 1
        if not c.verifies(public_keys):
            report.add(
                Break(
                    c.position,
                    "checkpoint_signature_invalid",
                    f"the checkpoint at {c.position} does not verify with key {c.kid}",
                )
            )
    stops = frozenset(checkpoints)
    seen: set[int] = set()
    suspects: list[tuple[int, bytes, tuple[Any, ...], bytes]] = []
    checked = 0
    previous = start - 1

    def check_checkpoint(position: int) -> None:
        ckpt = checkpoints.get(position)
        if ckpt is not None:
            seen.add(position)
            if ckpt.chain_head != raw:
                report.add(
                    Break(
                        position,
                        "checkpoint_head_differs",
                        "the recomputed chain head differs from the signed checkpoint",
                    )
                )

    low = start - 1
    pending = asyncio.ensure_future(_read(conn, low, min(low + chunk, end))) if low < end else None
    while pending is not None:
        high = min(low + chunk, end)
        rows, missing = await pending
        # Read the next range while this one is hashed (the server works on another core).
        pending = asyncio.ensure_future(_read(conn, high, min(high + chunk, end))) if high < end else None
        checked += len(rows)
        i = 0
        while True:
            i, raw, prev = (
                await asyncio.to_thread(_run, rows, i, raw, prev, stops)
                if len(rows) - i > 1000
                else _run(rows, i, raw, prev, stops)
            )
            if i > 0:
                previous = rows[i - 1][0]
            position = rows[i][0] if i < len(rows) else high + 1
            while missing and missing[0][0] < position:
                m, stored_m = missing.pop(0)
                report.add(Break(m, "event_missing", "the index knew an event here; it is no longer stored"))
                prev, previous = bytes(stored_m), m
                check_checkpoint(m)
            if i >= len(rows):
                break
            _, canon, stored = rows[i]
            h = sha256(raw + canon).digest()
            if stored is None:
                if position <= indexed_to:
                    report.add(Break(position, "event_inserted", "an event is stored here that the index never saw"))
                    i += 1
                    continue  # skip it: the next event was chained without it
                raw = prev = h  # beyond the index: nothing to compare with yet
            elif h == stored and raw == prev:
                raw = prev = h  # only a checkpoint to look at
            elif sha256(prev + canon).digest() == stored:
                raw, prev = h, stored  # this link holds on the stored chain
            else:
                if pending is not None:
                    await asyncio.wait([pending])  # one query at a time on a connection
                detail = await conn.fetchrow(_DETAIL_SQL, position)
                if (detail[4], detail[5]) != (detail[0], detail[1]):
                    report.add(
                        Break(
                            position,
                            "reordered",
                            f"the event indexed here ({detail[4]} v{detail[5]}) "
                            f"is not the one stored here ({detail[0]} v{detail[1]})",
                        )
                    )
                elif position > previous + 1:
                    report.add(
                        Break(
                            previous + 1,
                            "event_missing",
                            f"the link into {position} needs an event "
                            f"between {previous} and {position} that is no longer stored",
                        )
                    )
                else:
                    report.add(Break(position, "bytes_changed", "the stored bytes differ from those chained"))
                    if len(suspects) < MAX_BREAKS:
                        suspects.append((position, prev, (position, *detail[:4]), stored))
                raw, prev = h, stored
            previous = position
            check_checkpoint(position)
            i += 1
        low = high
    for position, ckpt in checkpoints.items():
        if position not in seen:
            report.add(
                Break(position, "event_missing", f"checkpoint {ckpt.position} signed an event that is no longer stored")
            )
    report.checked, report.head = checked, raw
    _swaps(report, suspects)
    return report


async def latest_checkpoint(conn: Any) -> Checkpoint | None:
    await ensure_audit_schema(conn)
    row = await conn.fetchrow(
        "SELECT position, chain_head, signed_at, kid, signature FROM audit_checkpoints ORDER BY position DESC LIMIT 1"
    )
    return None if row is None else Checkpoint(int(row[0]), bytes(row[1]), row[2], row[3], bytes(row[4]))


async def make_checkpoint(conn: Any, key: SigningKey, now: datetime | None = None) -> tuple[Checkpoint | None, Report]:
    """Sign the projection's current (position, chain head) if the log since the previous
    checkpoint recomputes to it; answer the new checkpoint (``None``: nothing new, or the
    log does not verify; the report says which)."""
    await ensure_audit_schema(conn)
    position, head = await _indexed_to(conn)
    last = await latest_checkpoint(conn)
    since = last.position if last is not None else 0
    report = await verify(conn, {}, since + 1, position)
    if position <= since or not report.ok or report.head != head:
        if report.ok and position > since:
            report.add(Break(position, "checkpoint_head_differs", "the projection's head is not the recomputed one"))
        return None, report
    signed_at = (now or datetime.now(UTC)).astimezone(UTC)
    signature = key.sign(checkpoint_payload(position, head, signed_at))
    checkpoint = Checkpoint(position, head, signed_at, key.kid, signature)
    await conn.execute(
        "INSERT INTO audit_checkpoints (position, chain_head, signed_at, kid, signature)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (position) DO NOTHING",
        position,
        head,
        signed_at,
        key.kid,
        signature,
    )
    return checkpoint, report
