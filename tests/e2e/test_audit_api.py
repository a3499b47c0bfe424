"""Auditing through HTTP: verify the log, read signed checkpoints and the key set, and ask
the two time-travel questions of a verdict."""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

import asyncpg
from aiohttp.test_utils import TestClient, TestServer

from api.service.app import create_app
from api.service.audit import checkpoint_once
from api.service.context import SERVICES
from api.settings import Settings
from ledger.keys import public_key_from_jwk
from projections.audit import Checkpoint
from tests.e2e.conftest import Bank, completion, seed
from tests.e2e.test_eligibility_api import qualification_modules

PROGRAMME = {"code": "ETH-2024", "title": "师德师风专题", "category": "ethics", "level": "provincial"}
QUALIFICATION = {"code": "RZ-1", "title": "任职资格培训", "category": "principal_qualification", "level": "national"}


async def post(bank: Bank, items: list[dict[str, object]]) -> int:
    r = await bank.client.post("/v1/completions", headers=bank.auth("institution"), json={"completions": items})
    assert r.status == 207, await r.text()
    position: int = (await r.json())["position"]
    return position


async def caught_up(bank: Bank, position: int) -> None:
    app = bank.client.server.app
    assert app is not None
    assert await app[SERVICES].runner.wait_for(position, 5.0) >= position


async def test_an_auditor_verifies_the_log_and_finds_a_changed_row(bank: Bank) -> None:
    await seed(bank)
    position = await post(bank, [completion(f"R-{i}") for i in range(5)])
    await caught_up(bank, position)

    r = await bank.client.get("/v1/audit/verification", headers=bank.auth("auditor"))
    assert r.status == 200, await r.text()
    report = await r.json()
    assert report["ok"] is True and report["events_checked"] == position and report["first_break"] is None
    assert (await bank.client.get("/v1/audit/verification", headers=bank.auth("hr"))).status == 403
    assert (await bank.client.get("/v1/audit/verification")).status == 401

    conn = await asyncpg.connect(**bank.database.asyncpg_kwargs())
    try:
        await conn.execute(
            "UPDATE creditbank_events SET state = convert_to(replace(convert_from(state, 'UTF8'),"
            " '2.5', '25'), 'UTF8') WHERE notification_id = $1",
            position - 2,
        )
    finally:
        await conn.close()
    r = await bank.client.get("/v1/audit/verification", headers=bank.auth("auditor"))
    report = await r.json()
    assert report["ok"] is False
    assert report["first_break"]["position"] == position - 2
    assert report["first_break"]["kind"] == "bytes_changed"
    # A range before the change still verifies.
    r = await bank.client.get(f"/v1/audit/verification?from=1&to={position - 3}", headers=bank.auth("auditor"))
    assert (await r.json())["ok"] is True
    r = await bank.client.get("/v1/audit/verification?from=0", headers=bank.auth("auditor"))
    assert r.status == 422


async def test_checkpoints_are_signed_and_published_with_the_key_set(bank: Bank) -> None:
    await seed(bank)
    position = await post(bank, [completion("R-1")])
    await caught_up(bank, position)
    app = bank.client.server.app
    assert app is not None
    checkpoint = await checkpoint_once(app)
    assert checkpoint is not None and checkpoint.position == position
    assert await checkpoint_once(app) is None  # the log did not grow

    r = await bank.client.get("/v1/audit/checkpoints")  # public, like a CT log's tree heads
    assert r.status == 200
    [published] = (await r.json())["checkpoints"]
    r = await bank.client.get("/v1/keys")
    keys = {k["kid"]: public_key_from_jwk(k) for k in (await r.json())["keys"]}
    assert Checkpoint.from_json(published).verifies(keys)
    assert published["chain_head"] == app[SERVICES].runner._head.hex()


async def test_the_server_signs_checkpoints_by_itself(bank: Bank) -> None:
    await seed(bank)
    app = create_app(Settings(checkpoint_seconds=0.2), database=bank.database)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        for _ in range(50):
            r = await client.get("/v1/audit/checkpoints")
            if (await r.json())["checkpoints"]:
                break
            await asyncio.sleep(0.1)
        assert (await r.json())["checkpoints"], "no checkpoint within 5 s"
    finally:
        await client.close()


async def test_as_known_that_day_and_as_we_know_it_today_differ(bank: Bank) -> None:
    await seed(bank)
    items = qualification_modules(["24"] * 12 + ["11.5"])
    first = await post(bank, items)
    await caught_up(bank, first)
    # Pretend everything so far was recorded in August 2025 (all test events are recorded
    # today): the read side dates "as known on" by each event's recorded time.
    conn = await asyncpg.connect(**bank.database.asyncpg_kwargs())
    try:
        await conn.execute(
            "UPDATE rm_event_index SET recorded_at = '2025-08-15T10:00:00+08:00' WHERE position <= $1", first
        )
    finally:
        await conn.close()
    # The last half hour, done on 1 August 2025, reaches the bank only now.
    late = await post(
        bank,
        [completion("Q-late", learner_id="P-0001", programme=QUALIFICATION, hours="0.5", completed_on="2025-08-01")],
    )
    await caught_up(bank, late)

    base = "/v1/learners/P-0001/eligibility?target=principal_appointment&on=2025-09-01"
    r = await bank.client.get(base + "&knowledge=recorded", headers=bank.auth("hr"))
    assert r.status == 200, await r.text()
    known_then = await r.json()
    r = await bank.client.get(base + "&knowledge=current", headers=bank.auth("hr"))
    known_now = await r.json()

    assert known_then["eligible"] is False and known_then["requirements"][0]["actual"] == "299.5"
    assert known_then["knowledge"] == "recorded" and known_then["position"] == first
    assert known_then["question"] == f"eligible on 2025-09-01, as known at the end of 2025-09-01 (position {first})"
    assert known_now["eligible"] is True and known_now["requirements"][0]["actual"] == "300"
    assert known_now["knowledge"] == "current" and known_now["position"] == late
    assert known_now["on"] == "2025-09-01"
    # as_of is the first question under its old name.
    r = await bank.client.get(
        "/v1/learners/P-0001/eligibility?target=principal_appointment&as_of=2025-09-01", headers=bank.auth("hr")
    )
    assert (await r.json())["eligible"] is False
    r = await bank.client.get(base + "&knowledge=yesterday", headers=bank.auth("hr"))
    assert r.status == 422


async def test_an_institutions_month_counts_refusals_and_flags_anomalies(bank: Bank) -> None:
    await seed(bank)
    month = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    items = [
        # 28 h credited to one learner on one day.
        completion("D-1", hours="14", completed_on="2024-05-10"),
        completion("D-2", hours="14", completed_on="2024-05-10", programme={**PROGRAMME, "code": "ETH-2"}),
        # Two sessions of one learner that overlap.
        completion(
            "S-1",
            learner_id="P-0001",
            started_on="2024-06-01",
            completed_on="2024-06-10",
            programme={**PROGRAMME, "code": "S-A"},
        ),
        completion(
            "S-2",
            learner_id="P-0001",
            started_on="2024-06-05",
            completed_on="2024-06-12",
            programme={**PROGRAMME, "code": "S-B"},
        ),
        # The same programme credited twice to one learner.
        completion("T-1", learner_id="P-0001", programme={**PROGRAMME, "code": "TWICE"}, completed_on="2024-03-01"),
        completion("T-2", learner_id="P-0001", programme={**PROGRAMME, "code": "TWICE"}, completed_on="2024-03-02"),
        # Refused: a category and a level outside the accreditation.
        completion("X-1", programme={**PROGRAMME, "category": "trainer"}),
        completion("X-2", programme={**PROGRAMME, "level": "school"}),
    ]
    await post(bank, items)
    r = await bank.client.post(
        "/v1/completions/JLU-TTC/D-1/revocation", headers=bank.auth("institution"), json={"reason": "entered twice"}
    )
    assert r.status == 201, await r.text()
    await caught_up(bank, (await r.json())["position"])

    url = f"/v1/audit/institutions/JLU-TTC?month={month}&backdated_days=365&burst=5"
    r = await bank.client.get(url, headers=bank.auth("auditor"))
    assert r.status == 200, await r.text()
    report = await r.json()
    assert report["posted"] == {"count": 6, "hours": "38", "learners": 2}
    assert report["revoked"]["count"] == 1 and report["revoked"]["items"][0]["reason"] == "entered twice"
    assert report["rejected"] == {"count": 2, "by_code": {"outside_accreditation": 2}}
    kinds = sorted(a["kind"] for a in report["anomalies"])
    # D-1 was revoked, so the day is back to 14 h and no longer flagged.
    assert kinds == ["backdated_burst", "credited_twice", "overlapping_sessions"]
    [burst] = [a for a in report["anomalies"] if a["kind"] == "backdated_burst"]
    assert burst["count"] == 6
    [overlap] = [a for a in report["anomalies"] if a["kind"] == "overlapping_sessions"]
    assert overlap["learner_id"] == "P-0001" and len(overlap["events"]) == 2

    r = await bank.client.get(
        f"/v1/audit/institutions/JLU-TTC?month={month}", headers={**bank.auth("auditor"), "Accept": "text/csv"}
    )
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/csv")
    body = await r.read()
    assert body.startswith("\ufeff".encode())
    lines = body.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("provider_id,month,section,kind")
    assert any(",rejected,outside_accreditation," in line for line in lines)
    assert not any("backdated_burst" in line for line in lines)  # 6 < the default burst of 20
    # For people (Chinese asked): the section in Chinese; the refusal's code stays, it is the key.
    r = await bank.client.get(
        f"/v1/audit/institutions/JLU-TTC?month={month}&lang=zh",
        headers={**bank.auth("auditor"), "Accept": "text/csv"},
    )
    lines = (await r.read()).decode("utf-8-sig").splitlines()
    assert lines[0].startswith("机构编号,月份,部分,类型")
    assert any(",被拒绝,outside_accreditation," in line for line in lines)

    # A suspended institution's attempts are refused and counted.
    r = await bank.client.post("/v1/providers/OTHER/suspension", headers=bank.auth("admin"), json={"reason": "审计"})
    assert r.status == 201, await r.text()
    r = await bank.client.post("/v1/completions", headers=bank.auth("other_institution"), json=completion("O-1"))
    assert r.status >= 400
    r = await bank.client.get(f"/v1/audit/institutions/OTHER?month={month}", headers=bank.auth("admin"))
    assert (await r.json())["rejected"]["by_code"] == {"provider_suspended": 1}
    assert (await bank.client.get(url, headers=bank.auth("hr"))).status == 403
    assert (
        await bank.client.get("/v1/audit/institutions/NOPE?month=2026-01", headers=bank.auth("auditor"))
    ).status == 404
