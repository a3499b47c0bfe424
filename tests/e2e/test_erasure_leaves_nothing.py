"""Erasure that really erases, as worked examples over HTTP on a real PostgreSQL.

王芳 (T-0001) asks for her data to be erased, and the officer writes a reason that names
her. Afterwards the reason is nowhere: not in the database, the history or the event
stream. A post for her number is refused without putting the number back; her name and
number are not left in dead row versions either. A learner whose number happens to read
``erased:…`` is scrubbed like anyone else, and an erasure recorded before reasons were
sealed still decodes, without showing its reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg

from api.database import Database
from api.service.context import SERVICES
from ledger.application import CreditBank, LearnerRegistration
from ledger.ids import learner_uuid
from ledger.learner import Learner
from ledger.vault import tombstone
from projections import institution_audit
from tests.e2e.conftest import TOKENS, Bank, completion, running_bank, seed, settle
from tests.e2e.test_privacy import _dump, _subject

REASON = "PIPL request by 欧阳某 220106199001011234, case 2026-117"


async def _on_writer(bank: Bank, fn: Callable[[CreditBank], Any]) -> Any:
    app = bank.client.server.app
    assert app is not None
    return await asyncio.wrap_future(app[SERVICES].committer.submit(fn))


async def _erase(bank: Bank, learner_id: str, reason: str = REASON) -> None:
    r = await bank.client.post(
        f"/v1/learners/{learner_id}/erasure", headers=bank.auth("admin"), json={"reason": reason}
    )
    assert r.status == 201, await r.text()


def _erasures(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["type"].endswith("Erased")]


async def test_the_reason_of_an_erasure_is_nowhere_once_erased(bank: Bank) -> None:
    await seed(bank)
    subject = await _subject(bank.database, "T-0001")
    await _erase(bank, "T-0001")
    await settle(bank)

    dump = await _dump(bank.database)
    assert "欧阳某" not in dump and "220106199001011234" not in dump
    r = await bank.client.get(f"/v1/learners/{tombstone(subject)}/history", headers=bank.auth("auditor"))
    assert r.status == 200, await r.text()
    history = await r.text()
    [erased] = _erasures((await r.json())["events"])
    assert erased["data"]["reason"] is None and "欧阳某" not in history
    r = await bank.client.get("/v1/events?after=0&limit=1000", headers=bank.auth("auditor"))
    [erased] = _erasures((await r.json())["events"])
    assert erased["data"]["reason"] is None and "欧阳某" not in await r.text()


async def test_an_erasure_recorded_with_a_clear_reason_still_decodes_and_hides_it(bank: Bank) -> None:
    await seed(bank)

    def erase_as_before(b: CreditBank) -> None:
        # What the bank recorded before reasons were sealed: the reason in the clear.
        subject = b.subject_of("P-0001")
        learner = b.repository.get(learner_uuid(subject))
        assert isinstance(learner, Learner)
        learner.erase(b._today(), REASON)
        b.save(learner)
        b.recorder.vault_destroy(subject)  # type: ignore[attr-defined]
        b.forget_learner("P-0001")

    await _on_writer(bank, erase_as_before)
    await settle(bank)
    r = await bank.client.get("/v1/events?after=0&limit=1000", headers=bank.auth("auditor"))
    assert r.status == 200, await r.text()
    [erased] = _erasures((await r.json())["events"])
    assert erased["data"]["reason"] is None and "欧阳某" not in await r.text()
    assert erased["data"]["on"] is not None


async def test_a_number_spelt_like_a_tombstone_is_scrubbed_too(bank: Bank) -> None:
    await seed(bank)
    number = "erased:not-a-pseudonym"  # registered before such numbers were refused

    class RegisteredBeforeTheGrammar(LearnerRegistration):
        """A registration as the ledger took it before ``erased:`` numbers were reserved."""

        def check(self) -> None:
            pass

    def register_and_erase(b: CreditBank) -> None:
        b.register_learner(
            RegisteredBeforeTheGrammar(
                number, "赵冒名", "220106", "一小", date(2015, 9, 1), (("teacher", date(2015, 9, 1)),)
            )
        )
        b.erase_learner(number, REASON)

    subject = None
    await _on_writer(bank, register_and_erase)
    await settle(bank)
    conn = await asyncpg.connect(**bank.database.asyncpg_kwargs())
    try:
        rows = await conn.fetch(
            "SELECT learner_id, subject, name FROM rm_learners WHERE name = '赵冒名' OR learner_id = $1", number
        )
        subject = await conn.fetchval(
            "SELECT subject FROM rm_learners WHERE learner_id LIKE 'erased:%'"
            " AND learner_id <> $1 AND jurisdiction = '220106' AND school = '一小'",
            number,
        )
    finally:
        await conn.close()
    assert rows == [], rows
    assert subject is not None
    dump = await _dump(bank.database)
    assert "赵冒名" not in dump and number not in dump


async def test_a_post_for_an_erased_number_does_not_put_the_number_back(bank: Bank) -> None:
    await seed(bank)
    # Refused while she is known (outside the accreditation), then erased, then refused again.
    r = await bank.client.post(
        "/v1/completions",
        headers=bank.auth("institution"),
        json=completion(
            "X-1", programme={"code": "TR-1", "title": "培训者", "category": "trainer", "level": "provincial"}
        ),
    )
    assert r.status == 403, await r.text()
    await _erase(bank, "T-0001")
    await settle(bank)
    r = await bank.client.post("/v1/completions", headers=bank.auth("institution"), json=completion("X-2"))
    assert r.status == 422 and (await r.json())["code"] == "learner_not_found", await r.text()
    r = await bank.client.post(
        "/v1/completions",
        headers=bank.auth("institution"),
        json={"completions": [completion("X-3"), completion("X-4", "NEVER-SEEN-9")]},
    )
    assert r.status == 207, await r.text()

    dump = await _dump(bank.database)
    assert "T-0001" not in dump and "NEVER-SEEN-9" not in dump
    conn = await asyncpg.connect(**bank.database.asyncpg_kwargs())
    try:
        kept = await conn.fetch("SELECT code, subject, learner_id FROM audit_rejections ORDER BY id")
    finally:
        await conn.close()
    assert [k["code"] for k in kept] == [
        "outside_accreditation",
        "learner_not_found",
        "learner_not_found",
        "learner_not_found",
    ]
    assert kept[0]["subject"] is not None and all(k["learner_id"] is None for k in kept)


async def _relations(conn: asyncpg.Connection, kinds: str) -> list[tuple[str, int]]:
    return [
        (r[0], int(r[1]))
        for r in await conn.fetch(
            "SELECT c.oid::regclass::text, pg_relation_size(c.oid) / 8192 FROM pg_class c"
            " WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind::text = ANY($1::text[])"
            " AND c.relam IN (SELECT oid FROM pg_am WHERE amname IN ('heap', 'btree'))",
            list(kinds),
        )
    ]


async def _row_versions_holding(conn: asyncpg.Connection, needles: list[str]) -> dict[str, list[str]]:
    """Tables and indexes with a row version, live or dead, that holds any of ``needles``
    (pageinspect: what the storage still holds, whatever a query can see)."""
    hits: dict[str, list[str]] = {}
    for name, blocks in await _relations(conn, "r"):
        for needle in needles:
            if await conn.fetchval(
                "SELECT count(*) FROM generate_series(0, $2::bigint - 1) b, heap_page_items(get_raw_page($1, b::int))"
                " WHERE lp_flags = 1 AND position(convert_to($3, 'UTF8') in t_data) > 0",
                name,
                blocks,
                needle,
            ):
                hits.setdefault(name, []).append(needle)
    for name, blocks in await _relations(conn, "i"):
        for needle in needles:
            if await conn.fetchval(
                "SELECT count(*) FROM generate_series(1, $2::bigint - 1) b, bt_page_items($1, b::int)"
                " WHERE position(encode(convert_to($3, 'UTF8'), 'hex') in replace(data, ' ', '')) > 0",
                name,
                blocks,
                needle,
            ):
                hits.setdefault(name, []).append(needle)
    return hits


async def _raw_pages_holding(conn: asyncpg.Connection, table: str, needle: str) -> int:
    return int(
        await conn.fetchval(
            "SELECT count(*) FROM generate_series(0, pg_relation_size($1::text) / 8192 - 1) b"
            " WHERE position(convert_to($2, 'UTF8') in get_raw_page($1::text, b::int)) > 0",
            table,
            needle,
        )
    )


async def _files(database: Database, tables: list[str]) -> dict[str, int]:
    conn = await asyncpg.connect(**database.asyncpg_kwargs())
    try:
        return {t: int(await conn.fetchval("SELECT pg_relation_filenode($1::text)", t)) for t in tables}
    finally:
        await conn.close()


async def test_the_scrubbed_rows_do_not_stay_in_dead_row_versions(bank: Bank) -> None:
    await seed(bank)
    r = await bank.client.post(
        "/v1/completions",
        headers=bank.auth("institution"),
        json={"completions": [completion(f"E-{n}") for n in range(3)]},
    )
    assert r.status == 207, await r.text()
    await settle(bank)
    rewritten = ["creditbank_learner_vault", "auth_tokens"]
    files = await _files(bank.database, rewritten)
    await _erase(bank, "T-0001")  # her learner token (scope T-0001) goes with the erasure
    await settle(bank)
    conn = await asyncpg.connect(**bank.database.asyncpg_kwargs())
    try:
        # The projection vacuums once its scrub has committed: the read models reach the
        # erasure's position a moment before.
        for _ in range(200):
            vacuumed = {
                r["relname"]: r["vacuum_count"]
                for r in await conn.fetch(
                    "SELECT relname, vacuum_count FROM pg_stat_user_tables WHERE relname = ANY($1::text[])",
                    ["rm_learners", "rm_completions", "rm_event_index", "rm_learner_roles"],
                )
            }
            if len(vacuumed) == 4 and all(count >= 1 for count in vacuumed.values()):
                break
            await asyncio.sleep(0.05)
        try:
            await conn.execute("CREATE EXTENSION IF NOT EXISTS pageinspect")
        except asyncpg.PostgresError:
            inspectable = False  # the embedded server has no contrib modules
        else:
            inspectable = True
        if inspectable:
            assert await _row_versions_holding(conn, ["T-0001", "王芳"]) == {}
            # The token table is rewritten whole: not even a page's free space keeps her number.
            assert await _raw_pages_holding(conn, "auth_tokens", "T-0001") == 0
    finally:
        await conn.close()
    assert len(vacuumed) == 4 and all(count >= 1 for count in vacuumed.values()), vacuumed
    # The vault (the destroyed key) and the tokens are rewritten whole (VACUUM FULL).
    after = await _files(bank.database, rewritten)
    assert all(after[t] != files[t] for t in rewritten), (files, after)


async def test_refused_posts_kept_by_number_before_are_kept_by_pseudonym_once_opened(bank: Bank) -> None:
    await seed(bank)
    subject = await _subject(bank.database, "P-0001")
    conn = await asyncpg.connect(**bank.database.asyncpg_kwargs())
    try:
        await conn.execute(
            "INSERT INTO audit_rejections (provider_id, record_id, learner_id, code, detail) VALUES"
            " ('JLU-TTC', 'OLD-1', 'P-0001', 'completion_conflict', 'record OLD-1 for P-0001 differs'),"
            " ('JLU-TTC', 'OLD-2', '220106200000001', 'learner_not_found', 'no learner 220106200000001')"
        )
        await conn.execute(institution_audit.DDL)  # what every server start runs
        kept = [
            dict(r)
            for r in await conn.fetch("SELECT learner_id, subject, detail FROM audit_rejections ORDER BY record_id")
        ]
    finally:
        await conn.close()
    assert kept == [
        {"learner_id": None, "subject": subject, "detail": "record OLD-1 for (learner) differs"},
        {"learner_id": None, "subject": None, "detail": "no learner (learner)"},
    ]


async def test_other_processes_hear_of_an_erasure_by_pseudonym_not_by_number(bank: Bank) -> None:
    await seed(bank)
    subject = await _subject(bank.database, "T-0001")
    heard: asyncio.Queue[str] = asyncio.Queue()
    conn = await asyncpg.connect(**bank.database.asyncpg_kwargs())
    try:
        await conn.add_listener("creditbank_erasures", lambda *args: heard.put_nowait(args[3]))
        await _erase(bank, "T-0001")
        assert await asyncio.wait_for(heard.get(), 5) == subject
    finally:
        await conn.close()
    # The writer forgot her: a post for her number is refused as for a number never known.
    r = await bank.client.post("/v1/completions", headers=bank.auth("institution"), json=completion("X-9"))
    assert r.status == 422 and (await r.json())["code"] == "learner_not_found", await r.text()


async def test_a_second_server_forgets_the_erased_learner_it_had_cached(database: Database, tmp_path: Path) -> None:
    async with (
        running_bank(database, tmp_path / "keys", TOKENS) as first,
        running_bank(database, tmp_path / "keys", TOKENS) as second,
    ):
        await seed(first)
        # The second server's writer learns her pseudonym by posting for her.
        r = await second.client.post("/v1/completions", headers=second.auth("institution"), json=completion("C-1"))
        assert r.status == 201, await r.text()
        await _erase(first, "T-0001")
        r = await second.client.post("/v1/completions", headers=second.auth("institution"), json=completion("C-2"))
        assert r.status == 422 and (await r.json())["code"] == "learner_not_found", await r.text()


async def test_erasure_leaves_nothing_of_the_service_record(bank: Bank) -> None:
    # Her refusal's reason and her qualification and certificate numbers name her; after the
    # erasure they are nowhere, and her facts stay only as dates and codes under a tombstone.
    await seed(bank)
    texts = {
        "refusals": (
            {"post": "head_teacher", "school_year": "2025-2026", "on": "2025-09-09", "justified": True},
            {"reason": "王芳 产假 220106199001011234"},
        ),
        "qualifications": ({"kind": "primary", "issued_on": "2015-06-30"}, {"number": "QUAL-王芳-20152201"}),
        "prior-certificates": (
            {
                "kind": "head_teacher_post",
                "issuer": "长春市教育局",
                "issued_on": "2016-07-01",
                "attested_by": "绿园区教育局人事科",
            },
            {"number": "CERT-王芳-2016"},
        ),
    }
    for route, (plain, sealed) in texts.items():
        r = await bank.client.post(f"/v1/learners/T-0001/{route}", headers=bank.auth("hr"), json={**plain, **sealed})
        assert r.status == 201, await r.text()
    subject = await _subject(bank.database, "T-0001")
    await settle(bank)
    assert "QUAL-王芳-20152201" in str(
        await (await bank.client.get("/v1/learners/T-0001/history", headers=bank.auth("auditor"))).json()
    )
    await _erase(bank, "T-0001")
    await settle(bank)

    dump = await _dump(bank.database)
    for secret in ("产假", "QUAL-王芳", "CERT-王芳"):
        assert secret not in dump, secret
    r = await bank.client.get(f"/v1/learners/{tombstone(subject)}/history", headers=bank.auth("auditor"))
    events = {e["type"]: e["data"] for e in (await r.json())["events"]}
    assert events["LearnerRefusalRecorded"]["reason"] is None
    assert events["LearnerQualificationRecorded"]["number"] is None
    assert events["LearnerPriorCertificateAttested"]["number"] is None
    assert events["LearnerPriorCertificateAttested"]["issued_on"] == "2016-07-01"
    r = await bank.client.post(
        "/v1/learners/T-0001/appraisals",
        headers=bank.auth("hr"),
        json={"school_year": "2025-2026", "grade": "competent", "on": "2026-07-10"},
    )
    assert r.status == 404, await r.text()
