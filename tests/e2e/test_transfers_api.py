"""Worked example over HTTP: a teacher moves from 绿园区 (220106) to 温州市 (330300); the
Jilin institution can no longer post for her; the hours are carried with a digest; the
move is reversed by a compensating event."""

from __future__ import annotations

import asyncio

from tests.e2e.conftest import Bank, completion, seed


async def test_a_transfer_closes_the_origin_and_is_reversible(bank: Bank) -> None:
    await seed(bank)
    r = await bank.client.post(
        "/v1/completions",
        headers=bank.auth("institution"),
        json={"completions": [completion("A-1"), completion("A-2", hours="4")]},
    )
    position = max(i["position"] for i in (await r.json())["results"])
    r = await bank.client.post(
        f"/v1/transfers?min_position={position}",
        headers=bank.auth("hr"),
        json={"transfer_id": "mv-1", "learner_id": "T-0001", "destination": "330300"},
    )
    moved = await r.json()
    assert r.status == 201, moved
    assert moved["hours"] == "6.5"

    r = await bank.client.post("/v1/completions", headers=bank.auth("institution"), json=completion("A-3"))
    refused = await r.json()
    assert r.status == 409 and refused["code"] == "account_closed", refused

    r = await bank.client.get(
        f"/v1/learners/T-0001/transfers?min_position={moved['position']}", headers=bank.auth("auditor")
    )
    body = await r.json()
    [record] = body["transfers"]
    assert record["origin"] == "220106" and record["destination"] == "330300"
    assert record["hours"] == "6.5" and len(record["digest"]) == 64 and len(record["completions"]) == 2
    # The learner now lies in Wenzhou's scope, not the origin district's; history is kept.
    r = await bank.client.get("/v1/learners/T-0001/balance", headers=bank.auth("foreign_hr"))
    assert r.status == 200 and (await r.json())["total"]["hours"] == "6.5"
    r = await bank.client.get("/v1/learners/T-0001/balance", headers=bank.auth("hr"))
    assert r.status == 403

    r = await bank.client.post(
        "/v1/transfers/mv-1/reversal",
        headers=bank.auth("admin"),
        json={"learner_id": "T-0001", "reason": "entered by mistake"},
    )
    assert r.status == 201, await r.text()
    r = await bank.client.post("/v1/completions", headers=bank.auth("institution"), json=completion("A-3"))
    assert r.status == 201, await r.text()
    for _ in range(50):
        r = await bank.client.get("/v1/learners/T-0001/transfers", headers=bank.auth("hr"))
        if r.status == 200 and (await r.json())["transfers"][0]["reversed"]:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the reversal was not projected")


async def test_a_cohort_at_a_position_before_a_transfer_counts_the_learner_where_she_was(bank: Bank) -> None:
    await seed(bank)
    r = await bank.client.post("/v1/completions", headers=bank.auth("institution"), json=completion("A-1"))
    before = (await r.json())["position"]
    r = await bank.client.post(
        f"/v1/transfers?min_position={before}",
        headers=bank.auth("hr"),
        json={"transfer_id": "mv-1", "learner_id": "T-0001", "destination": "330300"},
    )
    moved = await r.json()
    assert r.status == 201, moved

    async def cohort(token: str, jurisdiction: str, position: int) -> set[str]:
        r = await bank.client.get(
            "/v1/eligibility",
            params={"target": "teacher_cycle", "jurisdiction": jurisdiction, "at_position": str(position)},
            headers=bank.auth(token),
        )
        assert r.status == 200, await r.text()
        return {row["learner_id"] for row in (await r.json())["learners"]}

    assert "T-0001" in await cohort("hr", "220106", before)
    assert "T-0001" not in await cohort("foreign_hr", "330300", before)
    assert "T-0001" not in await cohort("hr", "220106", moved["position"])
    assert "T-0001" in await cohort("foreign_hr", "330300", moved["position"])
