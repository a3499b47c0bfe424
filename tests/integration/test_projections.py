"""Worked examples of the read side: what a learner's balance says, and why.

Each test writes events with the real write side into a fresh database, projects them
with ``projections.runner.ProjectionRunner`` and reads them back with
``projections.queries``.
"""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal
from uuid import uuid4
from zoneinfo import ZoneInfo

import asyncpg

from api.database import Database
from ledger.application import Accreditation, CreditBank, LearnerRegistration
from ledger.completion import CompletionFacts
from ledger.ids import completion_uuid, event_uuid
from projections import eventlog, queries
from projections.chain import GENESIS, canonical_bytes, chain_hashes, first_broken_link, link
from projections.runner import ProjectionRunner
from tests.conftest import TODAY


def completion(record_id: str, category: str, hours: str, assessment: str, on: date) -> CompletionFacts:
    return CompletionFacts(
        "P1",
        record_id,
        "T1",
        f"C-{record_id}",
        f"Programme {record_id}",
        category,
        "county",
        Decimal(hours),
        assessment,
        on,
    )


def recorded_event(record_id: str) -> str:
    """The id of the CompletionRecorded event of one of P1's records."""
    return str(event_uuid(completion_uuid("P1", record_id), 1))


def write_story(bank: CreditBank) -> dict[str, int]:
    """Teacher T1: three passed completions, one failed, one passed and later revoked."""
    bank.accredit_provider(
        Accreditation(
            "P1",
            "绿园区教师进修学校",
            "220106",
            ("online", "ethics", "school_based"),
            ("county",),
            date(2018, 1, 1),
            None,
        )
    )
    bank.register_learner(
        LearnerRegistration("T1", "张三", "220106", "S1", date(2018, 9, 1), (("teacher", date(2018, 9, 1)),))
    )
    outcomes = bank.record_completions(
        [
            completion("r1", "online", "2.5", "pass", date(2024, 5, 1)),
            completion("r2", "ethics", "10", "excellent", date(2025, 3, 10)),
            completion("r3", "school_based", "4.25", "pass", date(2019, 11, 2)),
            completion("r4", "online", "6", "fail", date(2024, 6, 1)),
            completion("r5", "online", "8", "pass", date(2024, 7, 1)),
        ]
    )
    assert all(o.status == "recorded" for o in outcomes)
    revoked = bank.revoke_completion("P1", "r5", "posted for the wrong learner", by_provider="P1")
    assert revoked.position is not None
    return {"before_revocation": revoked.position - 1, "revocation": revoked.position}


async def test_balance_counts_exactly_the_passed_unrevoked_hours(pool: asyncpg.Pool, bank: CreditBank) -> None:
    write_story(bank)
    await ProjectionRunner(pool).catch_up()

    balance = await queries.learner_balance(pool, "T1", today=TODAY)

    # 2.5 (r1) + 10 (r2) + 4.25 (r3); r4 failed and r5 was revoked.
    assert balance["total"]["hours"] == "16.75"
    assert sorted(balance["total"]["events"]) == sorted(recorded_event(r) for r in ("r1", "r2", "r3"))
    assert {k: v["hours"] for k, v in balance["by_category"].items()} == {
        "online": "2.5",
        "ethics": "10",
        "school_based": "4.25",
    }
    assert balance["by_category"]["online"]["events"] == [recorded_event("r1")]
    assert {k: v["hours"] for k, v in balance["by_year"].items()} == {
        "2019": "4.25",
        "2024": "2.5",
        "2025": "10",
    }
    # Cycles of five years from 2021: a past one before it, the last one, and the
    # current one (containing TODAY) even though it has no hours yet.
    assert [(c["cycle"], c["current"], c["hours"]) for c in balance["cycles"]] == [
        ("2016-2020", False, "4.25"),
        ("2021-2025", False, "12.5"),
        ("2026-2030", True, "0"),
    ]
    assert balance["cycles"][1]["start"] == "2021-01-01"
    assert balance["cycles"][1]["end"] == "2025-12-31"
    assert balance["cycles"][1]["by_category"]["ethics"]["events"] == [recorded_event("r2")]
    # What does not count is listed, with the reason.
    assert [f["event_id"] for f in balance["failed"]] == [recorded_event("r4")]
    assert [r["event_id"] for r in balance["revoked"]] == [recorded_event("r5")]
    assert balance["revoked"][0]["reason"] == "posted for the wrong learner"


async def test_a_position_before_the_revocation_still_counts_it(pool: asyncpg.Pool, bank: CreditBank) -> None:
    positions = write_story(bank)
    await ProjectionRunner(pool).catch_up()

    before = await queries.learner_balance(pool, "T1", at_position=positions["before_revocation"], today=TODAY)
    after = await queries.learner_balance(pool, "T1", at_position=positions["revocation"], today=TODAY)

    assert before["total"]["hours"] == "24.75"  # 16.75 + r5's 8
    assert recorded_event("r5") in before["total"]["events"]
    assert before["revoked"] == []
    assert after["total"]["hours"] == "16.75"
    # Before the learner was registered there is nothing to show.
    assert await queries.learner_profile(pool, "T1", 1) is None


async def test_rebuild_from_zero_gives_the_identical_answers(pool: asyncpg.Pool, bank: CreditBank) -> None:
    write_story(bank)
    runner = ProjectionRunner(pool)
    reached = await runner.catch_up()
    balance = await queries.learner_balance(pool, "T1", today=TODAY)
    history = await queries.learner_history(pool, "T1")

    seen: list[tuple[int, int]] = []
    rebuilt_to = await ProjectionRunner(pool, batch_size=2).rebuild(lambda done, total: seen.append((done, total)))

    assert rebuilt_to == reached
    assert seen[-1] == (reached, reached)
    assert await queries.learner_balance(pool, "T1", today=TODAY) == balance
    assert await queries.learner_history(pool, "T1") == history


async def test_catching_up_twice_applies_nothing_twice(pool: asyncpg.Pool, bank: CreditBank) -> None:
    write_story(bank)
    first = await ProjectionRunner(pool).catch_up()
    # A second runner, and two more racing each other: the tracking row's
    # compare-and-set lets each event through once.
    again = await ProjectionRunner(pool).catch_up()
    racing = await asyncio.gather(
        ProjectionRunner(pool, batch_size=1).catch_up(),
        ProjectionRunner(pool, batch_size=1).catch_up(),
    )

    assert first == again == racing[0] == racing[1] == await eventlog.applied_position(pool)
    count = await pool.fetchval("SELECT count(*) FROM rm_event_index")
    assert count == await pool.fetchval("SELECT count(*) FROM creditbank_events")
    balance = await queries.learner_balance(pool, "T1", today=TODAY)
    assert balance["total"]["hours"] == "16.75"


async def test_racing_appliers_from_scratch_apply_each_event_once(pool: asyncpg.Pool, bank: CreditBank) -> None:
    write_story(bank)
    await asyncio.gather(*(ProjectionRunner(pool, batch_size=1).catch_up() for _ in range(3)))
    assert await pool.fetchval("SELECT count(*) FROM rm_completions") == 5
    assert (await queries.learner_balance(pool, "T1", today=TODAY))["total"]["hours"] == "16.75"


def test_the_chain_hash_is_deterministic_and_covers_every_byte() -> None:
    oid = completion_uuid("P1", "r1")
    row = (7, oid, 1, "ledger.completion:Completion.Recorded", b'{"hours":"2.5"}')
    first = link(GENESIS, canonical_bytes(*row))
    assert first == link(GENESIS, canonical_bytes(*row))
    assert len(first) == 32
    tampered = (7, oid, 1, "ledger.completion:Completion.Recorded", b'{"hours":"3.5"}')
    assert link(GENESIS, canonical_bytes(*tampered)) != first
    # The boundary between topic and state is part of the bytes.
    assert canonical_bytes(1, oid, 1, "ab", b"c") != canonical_bytes(1, oid, 1, "a", b"bc")
    assert chain_hashes([row, row])[0] == first


async def test_a_changed_stored_byte_breaks_the_chain_at_that_event(pool: asyncpg.Pool, bank: CreditBank) -> None:
    write_story(bank)
    await ProjectionRunner(pool).catch_up()
    select = (
        "SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, e.state,"
        " i.chain_hash FROM creditbank_events e JOIN rm_event_index i"
        " ON i.position = e.notification_id ORDER BY e.notification_id"
    )

    def rows(records: list[asyncpg.Record]) -> list[tuple[int, object, int, str, bytes, bytes]]:
        return [(r[0], r[1], r[2], r[3], bytes(r[4]), bytes(r[5])) for r in records]

    assert first_broken_link(rows(await pool.fetch(select))) is None
    # Someone edits r1's hours directly in the database: 2.5 becomes 9.5.
    changed = await pool.execute(
        "UPDATE creditbank_events SET state = convert_to("
        "replace(convert_from(state, 'UTF8'), '\"2.5\"', '\"9.5\"'), 'UTF8')"
        " WHERE originator_id = $1",
        completion_uuid("P1", "r1"),
    )
    assert changed == "UPDATE 1"
    tampered = await pool.fetchval(
        "SELECT notification_id FROM creditbank_events WHERE originator_id = $1",
        completion_uuid("P1", "r1"),
    )
    assert first_broken_link(rows(await pool.fetch(select))) == tampered


async def test_history_lists_every_event_about_the_learner(pool: asyncpg.Pool, bank: CreditBank) -> None:
    write_story(bank)
    await ProjectionRunner(pool).catch_up()

    history = await queries.learner_history(pool, "T1")

    assert [h["type"] for h in history] == [
        "LearnerRegistered",
        *["CompletionRecorded"] * 5,
        "CompletionRevoked",
    ]
    registered, r1 = history[0], history[1]
    assert registered["data"]["roles"] == [{"role": "teacher", "since": "2018-09-01", "until": None}]
    assert r1["data"]["hours"] == "2.5"
    assert r1["data"]["completed_on"] == "2024-05-01"
    assert r1["event_id"] == recorded_event("r1")
    assert "originator_id" not in r1["data"] and "timestamp" not in r1["data"]
    assert history[-1]["data"] == {
        "reason": "posted for the wrong learner",
        "revoked_by": "P1",
    }
    assert all(len(h["hash"]) == 64 for h in history)
    page = await queries.learner_history(pool, "T1", after=history[2]["position"], limit=2)
    assert [h["position"] for h in page] == [history[3]["position"], history[4]["position"]]
    # The global stream agrees with the history on hashes.
    stream = await queries.event_stream(pool, after=0, limit=100)
    by_position = {e["position"]: e["hash"] for e in stream}
    assert all(by_position[h["position"]] == h["hash"] for h in history)
    assert stream[0]["type"] == "ProviderAccredited"


async def test_profile_roles_and_provider_as_of_a_position(pool: asyncpg.Pool, bank: CreditBank) -> None:
    write_story(bank)
    started = bank.start_role("T1", "head_teacher", date(2022, 9, 1)).position
    ended = bank.end_role("T1", "head_teacher", date(2024, 7, 31)).position
    suspended = bank.suspend_provider("P1", "inspection").position
    assert started and ended and suspended
    await ProjectionRunner(pool).catch_up()

    during = await queries.learner_profile(pool, "T1", started)
    now = await queries.learner_profile(pool, "T1", None)

    assert during is not None and now is not None
    assert during["roles"] == [
        {"role": "teacher", "since": "2018-09-01", "until": None},
        {"role": "head_teacher", "since": "2022-09-01", "until": None},
    ]
    assert now["roles"][1] == {"role": "head_teacher", "since": "2022-09-01", "until": "2024-07-31"}
    assert now["name"] == "张三" and now["hired_on"] == "2018-09-01"
    assert await queries.learner_jurisdiction(pool, "T1") == ("220106", "S1")
    provider = await queries.provider_view(pool, "P1")
    assert provider is not None
    assert provider["suspended"] is True and provider["suspension_reason"] == "inspection"
    assert provider["accreditation"]["categories"] == ["ethics", "online", "school_based"]
    history = await queries.learner_history(pool, "T1")
    assert [h["type"] for h in history][-2:] == ["LearnerRoleStarted", "LearnerRoleEnded"]


async def test_position_as_of_a_day(pool: asyncpg.Pool, bank: CreditBank) -> None:
    write_story(bank)
    reached = await ProjectionRunner(pool).catch_up()
    shanghai = ZoneInfo("Asia/Shanghai")
    # Events are recorded "now" (wall clock), so yesterday knows nothing, tomorrow all.
    from datetime import datetime, timedelta

    today = datetime.now(shanghai).date()
    assert await queries.position_as_of(pool, today - timedelta(days=1), shanghai) == 0
    assert await queries.position_as_of(pool, today + timedelta(days=1), shanghai) == reached


async def test_an_unknown_event_type_is_indexed_and_skipped(pool: asyncpg.Pool, bank: CreditBank) -> None:
    write_story(bank)
    await pool.execute(
        "INSERT INTO creditbank_events (originator_id, originator_version, topic, state)"
        " VALUES ($1, 1, 'ledger.future:Thing.Happened', $2)",
        uuid4(),
        b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-11-26T08:00:00+00:00"},'
        b'"learner_id":"T1","kind":"continuing_education"}',
    )
    bank.record_completions([completion("r6", "online", "1", "pass", date(2026, 1, 5))])

    reached = await ProjectionRunner(pool).catch_up()

    assert reached == await pool.fetchval("SELECT max(notification_id) FROM creditbank_events")
    row = await pool.fetchrow("SELECT type, learner_id FROM rm_event_index WHERE type = 'ThingHappened'")
    assert row is not None and row["learner_id"] is None
    balance = await queries.learner_balance(pool, "T1", today=TODAY)
    assert balance["total"]["hours"] == "17.75"  # r6 after the unknown event still counts
    stream = await queries.event_stream(pool, after=0, limit=100)
    assert any(e["type"] == "ThingHappened" and e["data"]["kind"] == "continuing_education" for e in stream)


async def test_run_follows_the_log_and_others_can_wait_for_it(
    pool: asyncpg.Pool, bank: CreditBank, database: Database
) -> None:
    applier = ProjectionRunner(pool, connect_kwargs=database.asyncpg_kwargs(), poll_interval=5)
    standby = ProjectionRunner(pool, connect_kwargs=database.asyncpg_kwargs(), poll_interval=5)
    tasks = [asyncio.create_task(applier.run()), asyncio.create_task(standby.run())]
    try:
        for _ in range(100):  # until one of them holds the applier lock and is idle
            if applier.active or standby.active:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
        positions = write_story(bank)
        # LISTEN/NOTIFY wakes the applier well before its 5 s poll.
        reached = await standby.wait_for(positions["revocation"], timeout=3)
        assert reached >= positions["revocation"]
        assert sorted([applier.active, standby.active]) == [False, True]
        assert (await queries.learner_balance(pool, "T1", today=TODAY))["total"]["hours"] == "16.75"
        # Waiting for a position not yet written gives up after the timeout.
        assert await applier.wait_for(reached + 1, timeout=0.2) == reached
    finally:
        await applier.stop()
        await standby.stop()
        await asyncio.gather(*tasks)
