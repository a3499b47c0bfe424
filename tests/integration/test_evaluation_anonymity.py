"""Anonymous evaluation against someone holding the whole database (seed 000 §8).

The attacker here reads every table of every schema, every column (the event store's own,
the vault, the owner index, the ballot pool, the read models), the rows' physical order
(``ctid``) and the transaction that wrote each (``xmin``), every position and timestamp.
The bank's evaluation secret (key directory) is not in the database. The tests show:

- waiting ballots are nowhere readable: no table holds a comment before its tally, and the
  pool's live rows of a box were all written by one transaction;
- once published, whatever the database shows of the ballots (the rows holding them, their
  positions, their physical order, their timestamps) is the same whichever learner wrote
  which ballot: two banks where the same five teachers evaluate in the same order, with the
  ballots dealt out differently, hold those rows identically, so no column, order or time
  can tell who wrote what;
- no row holding a ballot names a learner, a completion or an hour, and the secret is
  nowhere in the database.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg
import pytest

from api.database import Database
from ledger.application import Accreditation, CreditBank, LearnerRegistration
from ledger.completion import CompletionFacts
from ledger.errors import AlreadyEvaluated
from ledger.evaluation import TALLY_SIZE, Ballot, BallotBox, box_uuid, mark_uuid
from ledger.evaluation_commands import evaluate_completion
from ledger.ids import completion_uuid, event_uuid, learner_uuid
from projections.runner import ProjectionRunner
from projections.schema import ensure_schema
from tests.conftest import TODAY, fresh_database

SECRET = bytes(range(32))
PROVIDER = "jl-college"
TEACHERS = [f"T22010619850101{n:04d}" for n in range(1, 6)]
#: Distinct ballots; each comment is a marker to find the ballot by in any column.
BALLOTS = [Ballot(5 - n, 1 + n, 3, f"remark-{chr(ord('e') - n)}") for n in range(5)]
MARKER = re.compile(r"remark-[a-e]")


@pytest.fixture
def second_database(postgres_server: Database) -> Iterator[Database]:
    yield from fresh_database(postgres_server, "cb_anon")


def _bank(database: Database) -> CreditBank:
    bank = CreditBank(database.event_store_env(), today=lambda: TODAY)
    bank.accredit_provider(
        Accreditation(PROVIDER, "吉林省教育学院", "220000", ("online",), ("provincial",), date(2020, 1, 1), None)
    )
    for number in TEACHERS:
        bank.register_learner(LearnerRegistration(number, "王芳", "220106", None, date(2015, 9, 1)))
        facts = CompletionFacts(
            PROVIDER,
            f"r-{number}",
            number,
            "OL",
            "网络研修",
            "online",
            "provincial",
            Decimal(6),
            "pass",
            date(2025, 5, 1),
        )
        assert bank.record_completions([facts])[0].status == "recorded"
    return bank


async def _project(database: Database) -> None:
    pool = await asyncpg.create_pool(**database.asyncpg_kwargs(), min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            await ensure_schema(conn)
        await ProjectionRunner(pool).catch_up()
    finally:
        await pool.close()


async def _dump(database: Database) -> list[tuple[str, dict[str, Any]]]:
    """Every row of every table, with its physical place and writing transaction."""
    conn = await asyncpg.connect(**database.asyncpg_kwargs())
    try:
        tables = await conn.fetch(
            "SELECT table_schema, table_name FROM information_schema.tables"
            " WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')"
            " ORDER BY 1, 2"
        )
        rows = []
        for t in tables:
            name = f'"{t["table_schema"]}"."{t["table_name"]}"'
            for r in await conn.fetch(f"SELECT ctid::text AS ctid_, xmin::text AS xmin_, * FROM {name} ORDER BY ctid"):
                rows.append((t["table_name"], dict(r)))
        return rows
    finally:
        await conn.close()


def _text(value: Any) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        return raw.decode("utf-8", "replace") + " " + raw.hex()
    return str(value)


def _row_text(row: dict[str, Any]) -> str:
    return " ".join(_text(v) for v in row.values())


def _with_ballots(rows: Sequence[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    return [(table, row) for table, row in rows if MARKER.search(_row_text(row))]


def _evaluate_in_turn(bank: CreditBank, dealt: Sequence[Ballot]) -> None:
    for number, ballot in zip(TEACHERS, dealt, strict=True):
        written = evaluate_completion(bank, SECRET, number, PROVIDER, f"r-{number}", ballot)
        assert written.status == "recorded"


def _identifiers(bank: CreditBank) -> list[str]:
    """Everything that names a teacher or one of their completions, in the forms stored."""
    found = []
    for number in TEACHERS:
        subject = bank.subject_of(number)
        key = bank.recorder.vault_keys([subject])[subject]  # type: ignore[attr-defined]
        completion = completion_uuid(PROVIDER, f"r-{number}")
        for value in (learner_uuid(subject), completion, event_uuid(completion, 1), mark_uuid(SECRET, key, completion)):
            found += [str(value), value.hex]
        found += [number, subject, f"r-{number}", key.hex()]
    return found


async def test_waiting_ballots_are_sealed_and_rewritten_whole(database: Database) -> None:
    bank = _bank(database)
    try:
        for number, ballot in zip(TEACHERS[:4], BALLOTS[:4], strict=True):
            evaluate_completion(bank, SECRET, number, PROVIDER, f"r-{number}", ballot)
        await _project(database)
        rows = await _dump(database)
    finally:
        bank.close()
    assert _with_ballots(rows) == []  # no comment in the clear anywhere
    pooled = [row for table, row in rows if table == "creditbank_ballot_pool"]
    assert len(pooled) == 4
    assert len({row["xmin_"] for row in pooled}) == 1  # one transaction wrote them all
    assert not any(table.startswith("rm_evaluation_ballots") for table, _ in rows)


async def test_a_published_ballot_cannot_be_linked_to_its_learner(
    database: Database, second_database: Database
) -> None:
    dealt_differently = BALLOTS[2:] + BALLOTS[:2]
    seen: list[list[tuple[str, dict[str, Any]]]] = []
    for db, dealt in ((database, BALLOTS), (second_database, dealt_differently)):
        bank = _bank(db)
        try:
            _evaluate_in_turn(bank, dealt)
            identifiers = _identifiers(bank)
            await _project(db)
            rows = await _dump(db)
        finally:
            bank.close()
        holding = _with_ballots(rows)
        assert {table for table, _ in holding} == {"creditbank_events", "rm_evaluation_ballots"}
        assert [row for table, row in rows if table == "creditbank_ballot_pool"] == []
        for table, row in holding:
            text = _row_text(row)
            leaked = [i for i in identifiers if i in text]
            assert leaked == [], (table, leaked)
            for value in row.values():
                if isinstance(value, datetime):
                    assert (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0)
        [tally] = [row for table, row in holding if table == "creditbank_events"]
        stamps = re.findall(rb'"timestamp":\{"_type_":"datetime_iso","_data_":"([^"]+)"', tally["state"])
        assert stamps == [b"2026-11-26T00:00:00+00:00"]
        secret_forms = (SECRET.hex(), SECRET.decode("latin-1"))
        assert not any(form in _row_text(row) for _, row in rows for form in secret_forms)
        # What a reader can say about the ballots: which rows, where, at which position, when.
        seen.append([(table, {k: v for k, v in row.items() if k != "xmin_"}) for table, row in holding])
    assert seen[0] == seen[1]
    published = [row["comment"] for table, row in seen[0] if table == "rm_evaluation_ballots"]
    assert len(published) == TALLY_SIZE and published != [b.comment for b in BALLOTS]


def _marks(rows: Sequence[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    return [row for table, row in rows if table == "creditbank_events" and row["topic"].endswith("EvaluationMark.Made")]


async def test_a_mark_names_nobody_without_the_secret(database: Database) -> None:
    bank = _bank(database)
    try:
        _evaluate_in_turn(bank, BALLOTS)
        identifiers = [i for i in _identifiers(bank) if not i.startswith("T") or len(i) > 8]
        keys = {n: bank.recorder.vault_keys([bank.subject_of(n)]) for n in TEACHERS}  # type: ignore[attr-defined]
        rows = await _dump(database)
    finally:
        bank.close()
    marks = _marks(rows)
    assert len(marks) == len(TEACHERS)
    tags = {UUID(str(m["originator_id"])) for m in marks}
    # With the vault (which the database holds) but without the secret, no mark is found again.
    for number, by_subject in keys.items():
        [key] = by_subject.values()
        completion = completion_uuid(PROVIDER, f"r-{number}")
        assert mark_uuid(b"\0" * 32, key, completion) not in tags
        assert mark_uuid(SECRET, key, completion) in tags  # the bank itself, with its key store
    for mark in marks:
        own = {str(mark["originator_id"]), UUID(str(mark["originator_id"])).hex}
        state = mark["state"].decode()
        assert not [i for i in identifiers if i in state and i not in own]


def test_two_processes_racing_record_each_evaluation_once(database: Database) -> None:
    """Two banks on one store (two processes): the same completion twice gives one mark and one
    ``already_evaluated``; two teachers of one programme at once both count, the pool holding both."""
    first = _bank(database)
    second = CreditBank(database.event_store_env(), today=lambda: TODAY)

    def attempt(bank: CreditBank, number: str) -> str:
        try:
            return evaluate_completion(bank, SECRET, number, PROVIDER, f"r-{number}", BALLOTS[0]).status
        except AlreadyEvaluated:
            return "already_evaluated"

    try:
        with ThreadPoolExecutor(2) as pool:
            same = list(pool.map(attempt, (first, second), (TEACHERS[0], TEACHERS[0])))
            both = list(pool.map(attempt, (first, second), (TEACHERS[1], TEACHERS[2])))
        assert sorted(same) == ["already_evaluated", "recorded"]
        assert both == ["recorded", "recorded"]
        box = first.get(box_uuid(PROVIDER, "OL"), BallotBox)
        assert box is not None and box.received == 3
        assert len(first.recorder.pooled(box.id)) == 3  # type: ignore[attr-defined]
    finally:
        first.close()
        second.close()
