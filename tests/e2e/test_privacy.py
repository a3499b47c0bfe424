"""Erasure of personal data (PIPL art. 47), as worked examples over HTTP.

王芳 (T-0001) has 3 × 2.5 h of ethics training; 李强 (P-0001) has 300 h of qualification
training and a principal qualification certificate. Both ask for their personal data to be
erased. Afterwards nothing in the database names them, while the hours, the certificate's
status and the audit chain are all still there and still verify.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from api.database import Database
from projections.digests import read_model_digests
from projections.runner import ProjectionRunner
from tests.e2e.conftest import Bank, completion, seed, settle

PEOPLE = {"T-0001": "王芳", "P-0001": "李强"}


def _pq(record_id: str) -> dict[str, Any]:
    return completion(
        record_id,
        "P-0001",
        hours="150",
        completed_on="2025-06-30",
        programme={
            "code": "PQ-2025",
            "title": "拟任校长任职资格培训",
            "category": "principal_qualification",
            "level": "national",
        },
    )


async def _dump(database: Database) -> str:
    """Every row of every table in the bank's database, as text (the event states decoded
    as UTF-8 where they are bytes), so a search can prove a value is nowhere."""
    conn = await asyncpg.connect(**database.asyncpg_kwargs())
    try:
        tables = [
            r[0]
            for r in await conn.fetch(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
            )
        ]
        parts = []
        for table in tables:
            for row in await conn.fetch(f'SELECT * FROM "{table}"'):
                for value in row.values():
                    parts.append(
                        bytes(value).decode("utf-8", "replace") if isinstance(value, bytes | memoryview) else str(value)
                    )
        return "\n".join(parts)
    finally:
        await conn.close()


async def _subject(database: Database, learner_id: str) -> str:
    conn = await asyncpg.connect(**database.asyncpg_kwargs())
    try:
        return str(await conn.fetchval("SELECT subject FROM rm_learners WHERE learner_id = $1", learner_id))
    finally:
        await conn.close()


async def _prepare(bank: Bank) -> str:
    await seed(bank)
    items = [completion(f"ETH-{n}") for n in range(3)] + [_pq("PQ-1"), _pq("PQ-2")]
    r = await bank.client.post("/v1/completions", headers=bank.auth("institution"), json={"completions": items})
    assert r.status == 207, await r.text()
    position = await settle(bank)
    r = await bank.client.post(
        f"/v1/certificates?min_position={position}",
        headers=bank.auth("hr"),
        json={"learner_id": "P-0001", "kind": "principal_qualification"},
    )
    assert r.status == 201, await r.text()
    certificate_id = str((await r.json())["certificate_id"])
    await settle(bank)
    return certificate_id


async def test_the_log_never_holds_a_teacher_number_or_a_name_unsealed(bank: Bank) -> None:
    await _prepare(bank)
    conn = await asyncpg.connect(**bank.database.asyncpg_kwargs())
    try:
        states = [bytes(r[0]).decode("utf-8") for r in await conn.fetch("SELECT state FROM creditbank_events")]
    finally:
        await conn.close()
    log = "\n".join(states)
    for learner_id, name in PEOPLE.items():
        assert learner_id not in log and name not in log
    # The read side, which the bank's staff use, shows them as registered.
    r = await bank.client.get("/v1/learners/P-0001", headers=bank.auth("hr"))
    assert r.status == 200 and (await r.json())["name"] == "李强"


async def test_an_erasure_leaves_hours_status_and_chain_and_nothing_personal(bank: Bank) -> None:
    certificate_id = await _prepare(bank)
    subjects = {learner_id: await _subject(bank.database, learner_id) for learner_id in PEOPLE}
    r = await bank.client.get("/v1/learners/T-0001/balance", headers=bank.auth("hr"))
    assert (await r.json())["total"]["hours"] == "7.5"
    r = await bank.client.get("/v1/audit/verification", headers=bank.auth("auditor"))
    before = await r.json()
    assert r.status == 200 and before["ok"], before

    # The data protection officer (an admin) erases both; the learner's own tokens go too,
    # with the label an admin wrote her name into.
    await bank.mint("learner", learner_id="T-0001", label="王芳的手机")
    for learner_id in PEOPLE:
        r = await bank.client.post(
            f"/v1/learners/{learner_id}/erasure",
            headers=bank.auth("admin"),
            json={"reason": "PIPL art. 47 request 2026-117"},
        )
        body = await r.json()
        assert r.status == 201 and body["status"] == "recorded", body
        assert body["tokens_revoked"] == (2 if learner_id == "T-0001" else 0)
    position = await settle(bank)

    # The number leads nowhere: not to a profile, not to a second erasure, not to a new post.
    for learner_id in PEOPLE:
        r = await bank.client.get(f"/v1/learners/{learner_id}", headers=bank.auth("admin"))
        assert r.status == 404, await r.text()
        r = await bank.client.post(
            f"/v1/learners/{learner_id}/erasure", headers=bank.auth("admin"), json={"reason": "again"}
        )
        assert r.status == 404 and (await r.json())["code"] == "learner_not_found"
    r = await bank.client.get("/v1/learners/T-0001/balance", headers=bank.auth("learner"))
    assert r.status == 401  # her token was revoked with the erasure

    # Nothing in the whole database names them any more (events, read models, the institution
    # audit's refused posts, vault, tokens).
    dump = await _dump(bank.database)
    for learner_id, name in PEOPLE.items():
        assert learner_id not in dump and name not in dump, learner_id
    # A later post for the number is refused like one for a number never registered (and kept
    # as such for the institution audit: the bank cannot know whose number it was).
    r = await bank.client.post("/v1/completions", headers=bank.auth("institution"), json=completion("ETH-9"))
    assert r.status == 422 and (await r.json())["code"] == "learner_not_found", await r.text()

    # The hours stay, under the pseudonym's tombstone; so does the certificate's status.
    gone = f"erased:{subjects['T-0001']}"
    r = await bank.client.get(f"/v1/learners/{gone}/balance", headers=bank.auth("admin"))
    assert r.status == 200 and (await r.json())["total"]["hours"] == "7.5", await r.text()
    r = await bank.client.get(f"/v1/certificates/{certificate_id}/verification")
    public = await r.json()
    assert r.status == 200 and public["status"] == "valid" and "李强" not in await r.text()
    assert public["signature"]["valid"] is False  # the bank keeps no copy stating the name

    # The chain still verifies, over exactly the bytes it covered before, plus the erasures.
    r = await bank.client.get("/v1/audit/verification", headers=bank.auth("auditor"))
    after = await r.json()
    assert r.status == 200 and after["ok"], after
    assert after["events_checked"] == before["events_checked"] + 2 and after["first_break"] is None

    # Rebuilding the read models from the log gives exactly what the erasure left.
    conn = await asyncpg.connect(**bank.database.asyncpg_kwargs())
    try:
        live = await read_model_digests(conn)
    finally:
        await conn.close()
    pool = await asyncpg.create_pool(**bank.database.asyncpg_kwargs(), min_size=1, max_size=2)
    try:
        assert await ProjectionRunner(pool).rebuild() == position
        async with pool.acquire() as conn:
            rebuilt = await read_model_digests(conn)
    finally:
        await pool.close()
    assert rebuilt == live
