"""Refused posts (``audit_rejections``) are operational telemetry, not ledger data: a refusal
changes no ledger state and is never an event, so a rebuild neither reproduces nor empties
them, a replay elsewhere does not carry them, and the read-model digests do not cover them."""

from __future__ import annotations

from collections.abc import Iterator

import asyncpg
import pytest

from api.database import Database
from ledger.application import CreditBank
from projections import digests, eventlog, institution_audit, read_models, replay
from projections.runner import ProjectionRunner
from projections.schema import ensure_schema
from tests.conftest import TODAY, fresh_database
from tests.integration.test_projections import write_story

REFUSED = {
    "record_id": "r9",
    "learner_id": "T1",
    "code": "outside_accreditation",
    "detail": "T1: category not accredited",
    "completed_on": None,
}


@pytest.fixture
def elsewhere(postgres_server: Database) -> Iterator[Database]:
    yield from fresh_database(postgres_server, "cb_elsewhere")


def test_refused_posts_are_not_a_read_model() -> None:
    assert "audit_rejections" not in read_models.TABLES


async def test_a_rebuild_keeps_refused_posts_and_a_replay_does_not_carry_them(
    bank: CreditBank,
    pool: asyncpg.Pool,
    conn: asyncpg.Connection,
    elsewhere: Database,
) -> None:
    write_story(bank)
    await ProjectionRunner(pool).catch_up()
    await conn.execute(institution_audit.DDL)
    assert await institution_audit.record_rejections(conn, "P1", [REFUSED]) == 1
    before = await digests.read_model_digests(conn)

    await ProjectionRunner(pool).rebuild()
    kept = await conn.fetch("SELECT provider_id, record_id, code FROM audit_rejections")
    assert [tuple(r) for r in kept] == [("P1", "r9", "outside_accreditation")]
    # The digests say nothing of it: they compare what the log determines.
    await conn.execute("DELETE FROM audit_rejections")
    assert await digests.read_model_digests(conn) == before

    await conn.execute(institution_audit.DDL)
    await institution_audit.record_rejections(conn, "P1", [REFUSED])
    CreditBank(elsewhere.event_store_env(), today=lambda: TODAY).close()  # an empty event store
    target = await asyncpg.connect(**elsewhere.asyncpg_kwargs())
    try:
        await ensure_schema(target)
        await replay.copy_log(conn, target, await eventlog.applied_position(conn))
        replica = await asyncpg.create_pool(**elsewhere.asyncpg_kwargs(), min_size=1, max_size=2)
        try:
            await ProjectionRunner(replica).rebuild()
        finally:
            await replica.close()
        assert await digests.read_model_digests(target) == before
        assert await target.fetchval("SELECT to_regclass('audit_rejections')") is None
    finally:
        await target.close()
