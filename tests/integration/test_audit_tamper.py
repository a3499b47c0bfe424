"""Worked examples of tamper evidence: change the event table behind the bank's back
(UPDATE, DELETE, INSERT, swap) and watch ``projections.audit.verify`` name the position
and the kind of break; signed checkpoints catch a forger who also rewrites the index."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from hashlib import sha256
from uuid import uuid4

import asyncpg

from api.database import Database
from ledger.application import Accreditation, CreditBank, LearnerRegistration
from ledger.completion import CompletionFacts
from ledger.keys import KeyRing
from projections import audit
from projections.chain import GENESIS, canonical_bytes
from projections.runner import ProjectionRunner


def write_log(bank: CreditBank, completions: int = 20) -> None:
    bank.accredit_provider(Accreditation("P1", "进修学校", "220106", ("online",), ("county",), date(2018, 1, 1), None))
    bank.register_learner(
        LearnerRegistration("T1", "张三", "220106", "S1", date(2018, 9, 1), (("teacher", date(2018, 9, 1)),))
    )
    bank.record_completions(
        [
            CompletionFacts(
                "P1",
                f"r{i}",
                "T1",
                f"C{i}",
                f"Programme {i}",
                "online",
                "county",
                Decimal("1.5"),
                "pass",
                date(2024, 1, 1 + i % 28),
            )
            for i in range(completions)
        ]
    )


async def project(database: Database) -> int:
    pool = await asyncpg.create_pool(**database.asyncpg_kwargs(), min_size=1, max_size=2)
    assert pool is not None
    try:
        return await ProjectionRunner(pool).catch_up()
    finally:
        await pool.close()


async def change_hours(conn: asyncpg.Connection, position: int) -> None:
    """Edit a stored completion's hours in place, as someone with database access could."""
    await conn.execute(
        "UPDATE creditbank_events SET state = convert_to(replace(convert_from(state, 'UTF8'),"
        " '1.5', '9.5'), 'UTF8') WHERE notification_id = $1",
        position,
    )


async def completion_positions(conn: asyncpg.Connection) -> list[int]:
    rows = await conn.fetch(
        "SELECT notification_id FROM creditbank_events WHERE topic LIKE '%Completion.Recorded' ORDER BY notification_id"
    )
    return [r[0] for r in rows]


async def test_an_untouched_log_verifies_and_its_head_is_the_projections(
    bank: CreditBank, database: Database, conn: asyncpg.Connection, keys: KeyRing
) -> None:
    write_log(bank)
    head = await project(database)
    report = await audit.verify(conn, keys.public_keys())
    assert report.ok, report.as_json()
    assert report.checked == head and report.end == head
    tracked = await conn.fetchval("SELECT chain_hash FROM rm_tracking")
    assert report.head == tracked
    # The chain is the documented one: anyone can recompute it from the raw rows.
    rows = await conn.fetch(
        "SELECT notification_id, originator_id, originator_version, topic, state"
        " FROM creditbank_events ORDER BY notification_id"
    )
    h = GENESIS
    for r in rows:
        h = sha256(h + canonical_bytes(r[0], r[1], r[2], r[3], r[4])).digest()
    assert h == report.head


async def test_changed_bytes_are_found_at_their_position(
    bank: CreditBank, database: Database, conn: asyncpg.Connection, keys: KeyRing
) -> None:
    write_log(bank)
    await project(database)
    target = (await completion_positions(conn))[7]
    await change_hours(conn, target)
    report = (await audit.verify(conn, keys.public_keys())).as_json()
    assert not report["ok"]
    assert report["first_break"]["position"] == target
    assert report["first_break"]["kind"] == "bytes_changed"
    # One change is one break: later links hold on the stored chain.
    assert len(report["breaks"]) == 1


async def test_a_deleted_event_is_found_where_it_was(
    bank: CreditBank, database: Database, conn: asyncpg.Connection, keys: KeyRing
) -> None:
    write_log(bank)
    await project(database)
    target = (await completion_positions(conn))[3]
    await conn.execute("DELETE FROM creditbank_events WHERE notification_id = $1", target)
    report = (await audit.verify(conn, keys.public_keys())).as_json()
    assert report["first_break"] == {
        "position": target,
        "kind": "event_missing",
        "detail": "the index knew an event here; it is no longer stored",
    }

    # A forger who also deletes the index row is still caught: the next link needs it.
    await conn.execute("DELETE FROM rm_event_index WHERE position = $1", target)
    report = (await audit.verify(conn, keys.public_keys(), chunk=2)).as_json()
    assert report["first_break"]["position"] == target
    assert report["first_break"]["kind"] == "event_missing"


async def test_an_inserted_event_is_found(
    bank: CreditBank, database: Database, conn: asyncpg.Connection, keys: KeyRing
) -> None:
    write_log(bank, 5)
    await project(database)
    # Leave a hole in the positions, as a rolled-back insert does; then write on.
    last = await conn.fetchval("SELECT max(notification_id) FROM creditbank_events")
    await conn.execute("SELECT setval(pg_get_serial_sequence('creditbank_events', 'notification_id'), $1)", last + 3)
    bank.record_completions(
        [
            CompletionFacts(
                "P1", "late", "T1", "C9", "Programme", "online", "county", Decimal(2), "pass", date(2024, 6, 1)
            )
        ]
    )
    await project(database)
    assert (await audit.verify(conn, keys.public_keys())).ok  # a hole alone is no break

    # The forger slips an extra completion into the hole.
    copy = await conn.fetchrow("SELECT topic, state FROM creditbank_events WHERE notification_id = $1", last)
    await conn.execute(
        "INSERT INTO creditbank_events (notification_id, originator_id, originator_version, topic, state)"
        " VALUES ($1, $2, 1, $3, $4)",
        last + 2,
        uuid4(),
        copy["topic"],
        copy["state"],
    )
    report = (await audit.verify(conn, keys.public_keys())).as_json()
    assert report["first_break"]["position"] == last + 2
    assert report["first_break"]["kind"] == "event_inserted"
    assert len(report["breaks"]) == 1


async def test_two_swapped_states_are_named_as_a_swap(
    bank: CreditBank, database: Database, conn: asyncpg.Connection, keys: KeyRing
) -> None:
    write_log(bank)
    await project(database)
    positions = await completion_positions(conn)
    a, b = positions[2], positions[9]
    await conn.execute(
        "UPDATE creditbank_events e SET state = o.state FROM creditbank_events o"
        " WHERE (e.notification_id, o.notification_id) IN (($1, $2), ($2, $1))",
        a,
        b,
    )
    for chunk in (audit.CHUNK, 3):  # in one range, and across many small ones
        report = (await audit.verify(conn, keys.public_keys(), chunk=chunk)).as_json()
        assert report["first_break"]["position"] == a
        assert report["first_break"]["kind"] == "swapped"
        assert report["first_break"]["with_position"] == b
        assert len(report["breaks"]) == 1


async def test_whole_rows_moved_to_other_positions_are_reordered(
    bank: CreditBank, database: Database, conn: asyncpg.Connection, keys: KeyRing
) -> None:
    write_log(bank)
    await project(database)
    positions = await completion_positions(conn)
    a, b = positions[4], positions[5]
    await conn.execute("UPDATE creditbank_events SET notification_id = -1 WHERE notification_id = $1", a)
    await conn.execute("UPDATE creditbank_events SET notification_id = $1 WHERE notification_id = $2", a, b)
    await conn.execute("UPDATE creditbank_events SET notification_id = $1 WHERE notification_id = -1", b)
    report = (await audit.verify(conn, keys.public_keys())).as_json()
    assert report["first_break"]["position"] == a
    assert report["first_break"]["kind"] == "reordered"


async def test_checkpoints_catch_a_forger_who_rewrites_the_index_too(
    bank: CreditBank, database: Database, conn: asyncpg.Connection, keys: KeyRing
) -> None:
    write_log(bank)
    head = await project(database)
    checkpoint, _ = await audit.make_checkpoint(conn, keys.current())
    assert checkpoint is not None and checkpoint.position == head
    assert checkpoint.verifies(keys.public_keys())
    again, _ = await audit.make_checkpoint(conn, keys.current())
    assert again is None  # nothing new to sign

    # Change an event and recompute every stored hash after it, consistently.
    target = (await completion_positions(conn))[1]
    await change_hours(conn, target)
    rows = await conn.fetch(
        "SELECT notification_id, originator_id, originator_version, topic, state"
        " FROM creditbank_events ORDER BY notification_id"
    )
    h = GENESIS
    for r in rows:
        h = sha256(h + canonical_bytes(r[0], r[1], r[2], r[3], r[4])).digest()
        await conn.execute("UPDATE rm_event_index SET chain_hash = $2 WHERE position = $1", r[0], h)
    report = (await audit.verify(conn, keys.public_keys())).as_json()
    assert report["first_break"] == {
        "position": head,
        "kind": "checkpoint_head_differs",
        "detail": "the recomputed chain head differs from the signed checkpoint",
    }

    # And a forged checkpoint does not verify.
    await conn.execute("UPDATE audit_checkpoints SET chain_head = $1", h)
    report = (await audit.verify(conn, keys.public_keys())).as_json()
    assert [b["kind"] for b in report["breaks"]] == ["checkpoint_signature_invalid"]


async def test_a_range_is_verified_from_the_hash_before_it(
    bank: CreditBank, database: Database, conn: asyncpg.Connection, keys: KeyRing
) -> None:
    write_log(bank)
    head = await project(database)
    report = await audit.verify(conn, keys.public_keys(), 5, 12)
    assert report.ok and report.checked == 8 and report.seeded_from == "stored hash at 4"
    target = (await completion_positions(conn))[-1]
    await conn.execute(
        "UPDATE creditbank_events SET state = state || '\\x20'::bytea WHERE notification_id = $1", target
    )
    assert (await audit.verify(conn, keys.public_keys(), 1, target - 1)).ok
    assert not (await audit.verify(conn, keys.public_keys(), target, head)).ok
