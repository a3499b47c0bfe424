"""Worked example of federated provincial banks: three real banks (Jilin 220000, Zhejiang 330000,
Guangdong 440000), each a Creditbank app on its own database of the embedded PostgreSQL, and a
national view in a fourth, fed only by the banks' event streams.

A teacher of 绿园区 moves to 杭州 (330106): Jilin records her departure and answers a record
signed with its key; Zhejiang verifies it with Jilin's public key, recomputes the digest and
records the arrival with the hours carried. Both halves are retried as after a crash and answer
``duplicate``; a forged or misaddressed record is refused. Nationally she is counted once,
whichever stream the view reads first.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from api.cli.main import main
from api.database import Database
from ledger.federation import sign_record
from ledger.keys import KeyRing
from projections import national
from tests.conftest import fresh_database
from tests.e2e.conftest import ACCREDITATION, Bank, completion, running_bank, settle

JILIN, ZHEJIANG, GUANGDONG = "220000", "330000", "440000"
PROVINCES = {
    JILIN: {"district": "220106", "provider": "JLU-TTC", "teacher": "T-0001"},
    ZHEJIANG: {"district": "330106", "provider": "ZJ-TTC", "teacher": "Z-0001"},
    GUANGDONG: {"district": "440106", "provider": "GD-TTC", "teacher": "G-0001"},
}
MOVER = "T-0001"


def _tokens(bank_id: str) -> dict[str, dict[str, Any]]:
    p = PROVINCES[bank_id]
    return {
        "admin": {"role": "admin"},
        "auditor": {"role": "auditor"},
        "hr": {"role": "hr", "jurisdiction": p["district"]},
        "institution": {"role": "institution", "provider_id": p["provider"]},
    }


@pytest.fixture
def databases(postgres_server: Database) -> Iterator[dict[str, Database]]:
    """One database per bank and one for the national view, dropped afterwards."""
    made = {name: fresh_database(postgres_server, f"cb_fed_{name}") for name in (*PROVINCES, "national")}
    try:
        yield {name: next(database) for name, database in made.items()}
    finally:
        for database in made.values():
            database.close()


@contextlib.asynccontextmanager
async def _banks(databases: dict[str, Database], tmp_path: Path) -> AsyncIterator[dict[str, Bank]]:
    """The three banks, each trusting the other two's public keys."""
    rings = {bank_id: KeyRing(tmp_path / bank_id) for bank_id in PROVINCES}
    for ring in rings.values():
        ring.current()
    async with contextlib.AsyncExitStack() as stack:
        banks = {}
        for bank_id in PROVINCES:
            peers = {other: ring.jwks() for other, ring in rings.items() if other != bank_id}
            banks[bank_id] = await stack.enter_async_context(
                running_bank(databases[bank_id], tmp_path / bank_id, _tokens(bank_id), bank_id=bank_id, peer_keys=peers)
            )
        yield banks


def _learner(bank_id: str, learner_id: str, name: str = "王芳") -> dict[str, Any]:
    return {
        "learner_id": learner_id,
        "name": name,
        "jurisdiction": PROVINCES[bank_id]["district"],
        "school": None,
        "hired_on": "2015-09-01",
        "roles": [{"role": "teacher", "since": "2015-09-01"}],
    }


async def _seed(bank_id: str, bank: Bank) -> None:
    """The province's institution and its own teacher (Jilin's is the one who moves)."""
    p = PROVINCES[bank_id]
    r = await bank.client.post(
        "/v1/providers",
        headers=bank.auth("admin"),
        json={
            "provider_id": p["provider"],
            "name": "教师培训学院",
            "jurisdiction": bank_id,
            "accreditation": ACCREDITATION,
        },
    )
    assert r.status == 201, await r.text()
    r = await bank.client.post("/v1/learners", headers=bank.auth("hr"), json=_learner(bank_id, p["teacher"]))
    assert r.status == 201, await r.text()


async def _post(bank: Bank, record_id: str, hours: str) -> Any:
    return await bank.client.post(
        "/v1/completions", headers=bank.auth("institution"), json=completion(record_id, MOVER, hours=hours)
    )


async def _balance(bank: Bank) -> str:
    await settle(bank)
    r = await bank.client.get(f"/v1/learners/{MOVER}/balance", headers=bank.auth("auditor"))
    assert r.status == 200, await r.text()
    return str((await r.json())["total"]["hours"])


def _follower(bank_id: str, bank: Bank) -> national.Province:
    return national.Province(bank_id, str(bank.client.make_url("")), bank.tokens["auditor"])


async def test_a_teacher_moves_between_provincial_banks_and_is_counted_once(
    databases: dict[str, Database], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with _banks(databases, tmp_path) as banks:
        jilin, zhejiang, guangdong = banks[JILIN], banks[ZHEJIANG], banks[GUANGDONG]
        for bank_id, bank in banks.items():
            await _seed(bank_id, bank)
        assert (await _post(jilin, "JL-1", "40")).status == 201
        assert (await _post(jilin, "JL-2", "12.5")).status == 201

        # The origin's half: the departure, answered with the record signed by Jilin.
        r = await jilin.client.post(
            f"/v1/learners/{MOVER}/departures", headers=jilin.auth("hr"), json={"destination": ZHEJIANG}
        )
        departed = await r.json()
        assert r.status == 201, departed
        record = departed["record"]
        assert record["hours"] == "52.5" and record["origin"] == JILIN and record["destination"] == ZHEJIANG
        assert record["origin_position"] == departed["position"] and len(record["digest"]) == 64
        # A crash before the arrival: the move runs again from the start, and Jilin answers the same.
        r = await jilin.client.post(
            f"/v1/learners/{MOVER}/departures", headers=jilin.auth("hr"), json={"destination": ZHEJIANG}
        )
        again = await r.json()
        assert r.status == 200 and again["status"] == "duplicate", again
        assert again["signed"] == departed["signed"] and again["position"] == departed["position"]

        # The destination's half, twice: one arrival.
        arrival = {"departure": departed["signed"], "learner": _learner(ZHEJIANG, MOVER)}
        r = await zhejiang.client.post("/v1/arrivals", headers=zhejiang.auth("hr"), json=arrival)
        arrived = await r.json()
        assert r.status == 201 and arrived["hours"] == "52.5", arrived
        r = await zhejiang.client.post("/v1/arrivals", headers=zhejiang.auth("hr"), json=arrival)
        assert r.status == 200 and (await r.json())["position"] == arrived["position"]

        # A record addressed to Zhejiang is nobody else's; one Jilin did not sign is refused.
        r = await guangdong.client.post("/v1/arrivals", headers=guangdong.auth("admin"), json=arrival)
        assert r.status == 422 and (await r.json())["code"] == "departure_invalid"
        forged = sign_record(KeyRing(tmp_path / GUANGDONG).current(), {**record, "hours": "500"})
        r = await zhejiang.client.post(
            "/v1/arrivals", headers=zhejiang.auth("admin"), json={**arrival, "departure": forged}
        )
        assert r.status == 422 and (await r.json())["code"] == "departure_invalid"

        # Jilin keeps its history and takes no more postings; Zhejiang continues the balance.
        r = await _post(jilin, "JL-3", "2")
        assert r.status == 409 and (await r.json())["code"] == "account_departed"
        assert await _balance(jilin) == "52.5"
        assert await _balance(zhejiang) == "52.5"
        assert (await _post(zhejiang, "ZJ-1", "3")).status == 201
        assert await _balance(zhejiang) == "55.5"
        r = await jilin.client.get(f"/v1/learners/{MOVER}/moves", headers=jilin.auth("auditor"))
        moves = await r.json()
        assert r.status == 200 and moves["departed"] is True and moves["moves"][0]["bank"] == ZHEJIANG
        r = await zhejiang.client.get(f"/v1/learners/{MOVER}/moves", headers=zhejiang.auth("hr"))
        moves = await r.json()
        assert moves["departed"] is False and moves["moves"][0]["direction"] == "arrived"
        assert moves["moves"][0]["digest"] == record["digest"]

        # The national view, in its own database: Zhejiang's stream read before Jilin's, then all.
        pool = await asyncpg.create_pool(**databases["national"].asyncpg_kwargs(), min_size=1, max_size=2)
        try:
            async with pool.acquire() as conn:
                await national.ensure_schema(conn)
            await national.follow(pool, [_follower(ZHEJIANG, zhejiang), _follower(GUANGDONG, guangdong)])
            async with pool.acquire() as conn:
                early = await national.counts(conn)
            await national.follow(pool, [_follower(b, bank) for b, bank in banks.items()], page=2)
            assert await national.follow(pool, [_follower(b, bank) for b, bank in banks.items()]) == 0
            async with pool.acquire() as conn:
                counts = await national.counts(conn)
                held = await national.holder(conn, MOVER)
        finally:
            await pool.close()
        # Read before Jilin's stream or after, the teacher who moved is one of three.
        assert early["learners"] == counts["learners"] == 3 and counts["between_banks"] == 0
        assert counts["by_bank"] == {ZHEJIANG: 2, GUANGDONG: 1}
        assert held is not None and held["bank_id"] == ZHEJIANG and held["jurisdiction"] == "330106"
        assert held["banks"] == [JILIN, ZHEJIANG]

    # The command line reads the same view (``creditbank national show``).
    into = databases["national"].url
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["national", "show", "--into", into, "--learner", MOVER]) == 0
    assert json.loads(capsys.readouterr().out)["bank_id"] == ZHEJIANG
