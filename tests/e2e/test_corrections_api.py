"""Worked examples of correcting a teacher's details (004 §11 确保教师信息准确无误)."""

from __future__ import annotations

from typing import Any

import asyncpg

from tests.e2e.conftest import Bank, seed, settle

SECOND_SCHOOL = "绿园区第二实验小学"


async def patch(bank: Bank, body: dict[str, Any], role: str = "hr", learner: str = "T-0001") -> Any:
    return await bank.client.patch(f"/v1/learners/{learner}", headers=bank.auth(role), json=body)


async def test_correcting_a_teachers_school_shows_in_profile_history_and_time_travel(bank: Bank) -> None:
    await seed(bank)
    r = await patch(bank, {"school": SECOND_SCHOOL, "reason": "在编学校登记错误"})
    assert r.status == 201, await r.text()
    corrected_at = (await r.json())["position"]

    r = await bank.client.get(f"/v1/learners/T-0001?min_position={corrected_at}", headers=bank.auth("hr"))
    profile = await r.json()
    assert profile["school"] == SECOND_SCHOOL
    assert profile["name"] == "王芳"

    r = await bank.client.get(f"/v1/learners/T-0001?at_position={corrected_at - 1}", headers=bank.auth("hr"))
    assert (await r.json())["school"] == "绿园区第一实验小学"

    r = await bank.client.get("/v1/learners/T-0001/history", headers=bank.auth("auditor"))
    assert r.status == 200, await r.text()
    events = (await r.json())["events"]
    by_type = {e["type"]: e for e in events}
    assert by_type["LearnerRegistered"]["data"]["school"] == "绿园区第一实验小学"
    correction = by_type["LearnerCorrected"]
    assert correction["data"]["school"] == SECOND_SCHOOL
    assert correction["data"]["corrected"] == ["school"]
    assert correction["data"]["reason"] == "在编学校登记错误"
    assert "personal" not in correction["data"]

    # HR's cohort of the corrected school now lists her, the old school's no longer.
    for school, listed in ((SECOND_SCHOOL, ["T-0001"]), ("绿园区第一实验小学", ["P-0001"])):
        r = await bank.client.get(
            "/v1/eligibility",
            params={"target": "teacher_cycle", "jurisdiction": "220106", "school": school},
            headers=bank.auth("hr"),
        )
        assert r.status == 200, await r.text()
        cohort = await r.json()
        assert sorted(v["learner_id"] for v in cohort["learners"]) == listed, cohort

    # The cohort's rows, as of a position before the correction, show the school then.
    for at, school in ((corrected_at - 1, "绿园区第一实验小学"), (corrected_at, SECOND_SCHOOL)):
        r = await bank.client.get(
            "/v1/eligibility",
            params={"target": "teacher_cycle", "jurisdiction": "220106", "at_position": str(at)},
            headers=bank.auth("hr"),
        )
        assert r.status == 200, await r.text()
        rows = {v["learner_id"]: v for v in (await r.json())["learners"]}
        assert rows["T-0001"]["school"] == school, at

    # A school's cohort as of a position before the correction lists her there, not at the
    # school she was corrected to; at the correction, the other way round.
    for at, school, listed in (
        (corrected_at - 1, "绿园区第一实验小学", ["P-0001", "T-0001"]),
        (corrected_at - 1, SECOND_SCHOOL, []),
        (corrected_at, SECOND_SCHOOL, ["T-0001"]),
    ):
        r = await bank.client.get(
            "/v1/eligibility",
            params={"target": "teacher_cycle", "jurisdiction": "220106", "school": school, "at_position": str(at)},
            headers=bank.auth("hr"),
        )
        assert r.status == 200, await r.text()
        assert sorted(v["learner_id"] for v in (await r.json())["learners"]) == listed, (at, school)

    # The same values again record nothing.
    r = await patch(bank, {"school": SECOND_SCHOOL, "reason": "再次核对"})
    assert r.status == 200
    assert (await r.json())["status"] == "unchanged"


async def test_a_corrected_name_shows_and_is_scrubbed_by_an_erasure(bank: Bank) -> None:
    await seed(bank)
    r = await patch(bank, {"name": "王 芳", "hired_on": "2015-08-28", "reason": "身份证核对"}, role="admin")
    assert r.status == 201, await r.text()
    at = (await r.json())["position"]
    r = await bank.client.get(f"/v1/learners/T-0001?min_position={at}", headers=bank.auth("hr"))
    profile = await r.json()
    assert (profile["name"], profile["hired_on"]) == ("王 芳", "2015-08-28")
    r = await bank.client.get(f"/v1/learners/T-0001?at_position={at - 1}", headers=bank.auth("hr"))
    assert (await r.json())["name"] == "王芳"

    r = await bank.client.post("/v1/learners/T-0001/erasure", headers=bank.auth("admin"), json={"reason": "本人申请"})
    assert r.status == 201, await r.text()
    # Neither the registered name nor the one the correction replaced stays in a read model.
    assert await _rows_naming(bank, ["王芳", "王 芳"]) == []

    r = await patch(bank, {"school": SECOND_SCHOOL, "reason": "too late"}, role="admin")
    assert r.status in (404, 410), await r.text()


async def test_corrections_are_refused_outside_scope_or_without_reason(bank: Bank) -> None:
    await seed(bank)
    r = await patch(bank, {"school": SECOND_SCHOOL, "reason": "x"}, role="foreign_hr")
    assert r.status == 403
    assert (await r.json())["code"] == "forbidden"
    for body in (
        {"school": SECOND_SCHOOL},
        {"reason": "nothing to correct"},
        {"jurisdiction": "330300", "reason": "x"},
    ):
        r = await patch(bank, body)
        assert r.status == 422, body
    r = await patch(bank, {"school": SECOND_SCHOOL, "reason": "x"}, role="institution")
    assert r.status == 403


async def _rows_naming(bank: Bank, names: list[str]) -> list[Any]:
    """Rows of the learner read models that still hold one of these names."""
    await settle(bank)
    conn = await asyncpg.connect(**bank.database.asyncpg_kwargs())
    try:
        found = []
        for table in ("rm_learners", "rm_learner_corrections"):
            rows = await conn.fetch(f"SELECT * FROM {table}")
            found += [dict(r) for r in rows if any(n in str(dict(r)) for n in names)]
        return found
    finally:
        await conn.close()
