"""Verification reads the log in ranges; how the ranges fall must not change what it finds.

Each kind of tampering is verified with ranges of 1, 2, 3, 7 positions and the default, and
the reports must be identical: in particular a missing event at a range's end, at the
log's end (no later link breaks there), and several in a row, which the verifier finds by
counting the range's index rows rather than by an anti-join per range.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from api.database import Database
from ledger.application import CreditBank
from ledger.keys import KeyRing
from projections import audit
from tests.integration.test_audit_tamper import change_hours, completion_positions, project, write_log

CHUNKS = (1, 2, 3, 7, audit.CHUNK)


async def reports(conn: asyncpg.Connection, keys: KeyRing, start: int = 1) -> dict[str, Any]:
    """The report, the same for every range size."""
    found = [(await audit.verify(conn, keys.public_keys(), start, chunk=chunk)).as_json() for chunk in CHUNKS]
    for other in found[1:]:
        assert other == found[0]
    return found[0]


async def test_an_untouched_log_verifies_in_ranges_of_any_size(
    bank: CreditBank, database: Database, conn: asyncpg.Connection, tmp_path: Any
) -> None:
    write_log(bank, 12)
    head = await project(database)
    report = await reports(conn, KeyRing(tmp_path / "keys"))
    assert report["ok"] and report["events_checked"] == head


async def test_missing_events_at_range_ends_and_at_the_log_end_are_found(
    bank: CreditBank, database: Database, conn: asyncpg.Connection, tmp_path: Any
) -> None:
    keys = KeyRing(tmp_path / "keys")
    write_log(bank, 12)
    head = await project(database)
    positions = await completion_positions(conn)
    gone = [positions[2], positions[3], positions[4], positions[9], head]  # three in a row, one alone, the last
    await conn.execute("DELETE FROM creditbank_events WHERE notification_id = ANY($1::bigint[])", gone)
    report = await reports(conn, keys)
    assert [(b["position"], b["kind"]) for b in report["breaks"]] == [(p, "event_missing") for p in gone]
    assert report["events_checked"] == head - len(gone)


async def test_changes_and_inserts_are_found_alike_in_ranges_of_any_size(
    bank: CreditBank, database: Database, conn: asyncpg.Connection, tmp_path: Any
) -> None:
    keys = KeyRing(tmp_path / "keys")
    write_log(bank, 12)
    await project(database)
    positions = await completion_positions(conn)
    await change_hours(conn, positions[1])
    await change_hours(conn, positions[6])
    await conn.execute("DELETE FROM creditbank_events WHERE notification_id = $1", positions[8])
    report = await reports(conn, keys)
    assert [(b["position"], b["kind"]) for b in report["breaks"]] == [
        (positions[1], "bytes_changed"),
        (positions[6], "bytes_changed"),
        (positions[8], "event_missing"),
    ]
    # A range that starts after the first change is seeded from the stored hash before it.
    report = await reports(conn, keys, positions[5])
    assert [(b["position"], b["kind"]) for b in report["breaks"]] == [
        (positions[6], "bytes_changed"),
        (positions[8], "event_missing"),
    ]


async def test_events_the_index_has_not_reached_are_chained_but_not_compared(
    bank: CreditBank, database: Database, conn: asyncpg.Connection, tmp_path: Any
) -> None:
    keys = KeyRing(tmp_path / "keys")
    write_log(bank, 6)
    indexed = await project(database)
    write_log(bank, 0)  # the same provider and learner again: nothing new
    from datetime import date
    from decimal import Decimal

    from ledger.completion import CompletionFacts

    bank.record_completions(
        [
            CompletionFacts(
                "P1", f"late{i}", "T1", "C9", "Programme", "online", "county", Decimal(1), "pass", date(2024, 6, 1)
            )
            for i in range(5)
        ]
    )
    report = await reports(conn, keys)
    assert report["ok"] and report["indexed_to"] == indexed and report["events_checked"] == indexed + 5
