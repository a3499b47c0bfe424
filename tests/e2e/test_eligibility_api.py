"""Eligibility through HTTP: verdicts explained down to event ids, cohorts as JSON and
CSV, the impact of a draft policy, and publishing refusals as problem+json."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from api.service import eligibility
from ledger.policy import shipped_policies
from tests.e2e.conftest import Bank, completion, seed

QUALIFICATION = {"code": "RZ-1", "title": "任职资格培训", "category": "principal_qualification", "level": "national"}


def district_policy() -> dict[str, Any]:
    data = copy.deepcopy(next(d for d in shipped_policies() if d["jurisdiction"] == "220106"))
    return _plain(data)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return str(value) if not isinstance(value, (str, int, bool, type(None))) else value


def qualification_modules(hours: list[str]) -> list[dict[str, Any]]:
    """P-0001's qualification modules of these hours; the first is the ethics one (000 §3):
    its topic names 职业道德."""
    return [
        completion(
            f"Q-{i}",
            learner_id="P-0001",
            programme=QUALIFICATION,
            hours=h,
            completed_on="2025-03-01",
            topics=["校长职业道德专题"] if i == 0 else [],
        )
        for i, h in enumerate(hours)
    ]


async def post_qualification(bank: Bank, hours: list[str]) -> int:
    items = qualification_modules(hours)
    r = await bank.client.post("/v1/completions", headers=bank.auth("institution"), json={"completions": items})
    assert r.status == 207, await r.text()
    position: int = (await r.json())["position"]
    return position


async def test_a_verdict_names_its_rule_source_and_events(bank: Bank) -> None:
    await seed(bank)
    position = await post_qualification(bank, ["24"] * 12 + ["11.5"])
    r = await bank.client.get(
        f"/v1/learners/P-0001/eligibility?target=principal_appointment&min_position={position}", headers=bank.auth("hr")
    )
    assert r.status == 200, await r.text()
    verdict = await r.json()
    assert verdict["eligible"] is False
    req = next(r for r in verdict["requirements"] if r["rule"] == "qualification-300h")
    assert req["actual"] == "299.5" and req["missing"]["hours"] == {"principal_qualification": "0.5"}
    assert len(req["evidence"]) == 13 and all(e["position"] <= position for e in req["evidence"])
    assert verdict["policies"][0]["policy_id"] == "cn-principal-training"

    # One more half hour; the verdict at the earlier position is still the same.
    later = await post_qualification(bank, ["24"] * 12 + ["11.5", "0.5"])
    r = await bank.client.get(
        f"/v1/learners/P-0001/eligibility?target=principal_appointment&min_position={later}", headers=bank.auth("hr")
    )
    assert (await r.json())["eligible"] is True
    r = await bank.client.get(
        f"/v1/learners/P-0001/eligibility?target=principal_appointment&at_position={position}",
        headers=bank.auth("auditor"),
    )
    assert (await r.json())["requirements"][0]["actual"] == "299.5"

    r = await bank.client.get(
        f"/v1/learners/P-0001/plan?target=principal_appointment&at_position={position}", headers=bank.auth("hr")
    )
    assert (await r.json())["remaining"][0]["hours"] == "0.5"
    r = await bank.client.get(
        "/v1/learners/P-0001/eligibility?target=principal_appointment", headers=bank.auth("learner")
    )
    assert r.status == 403


async def test_cohort_as_json_and_as_csv_with_bom(bank: Bank) -> None:
    await seed(bank)
    r = await bank.client.post("/v1/policies", headers=bank.auth("admin"), json=district_policy())
    assert r.status == 201, await r.text()
    position = (await r.json())["position"]
    r = await bank.client.post("/v1/policies", headers=bank.auth("admin"), json=district_policy())
    assert r.status == 200
    query = f"target=teacher_annual&jurisdiction=220106&min_position={position}"
    r = await bank.client.get(f"/v1/eligibility?{query}", headers=bank.auth("hr"))
    assert r.status == 200, await r.text()
    page = await r.json()
    # The prospective principal holds no teacher role: the yearly online hours are not for her.
    assert {row["learner_id"]: row["eligible"] for row in page["learners"]} == {"P-0001": None, "T-0001": False}
    assert page["counts"] == {"eligible": 0, "not_eligible": 1, "not_applicable": 1}
    # The same totals per school (both teach at the same school here).
    assert page["counts_by_school"] == {"绿园区第一实验小学": page["counts"]}
    r = await bank.client.get(f"/v1/eligibility?{query}&eligible=true", headers=bank.auth("hr"))
    assert (await r.json())["learners"] == []
    r = await bank.client.get(f"/v1/eligibility?{query}&limit=1", headers=bank.auth("hr"))
    first = await r.json()
    assert len(first["learners"]) == 1 and first["next_after"] == "P-0001"

    r = await bank.client.get(f"/v1/eligibility?{query}", headers={**bank.auth("hr"), "Accept": "text/csv"})
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/csv")
    raw = await r.read()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    assert "王芳" in text and "李强" in text and text.splitlines()[0].startswith("learner_id,name")
    assert ",teacher_annual," in text.splitlines()[1]  # a program's sheet: the target's code
    r = await bank.client.get(
        f"/v1/eligibility?{query}", headers={**bank.auth("hr"), "Accept": "text/csv", "Accept-Language": "zh-CN"}
    )
    lines = (await r.read()).decode("utf-8-sig").splitlines()
    assert lines[0].startswith("教师编号,姓名") and ",教师年度培训," in lines[1]

    r = await bank.client.get(
        "/v1/eligibility?target=teacher_annual&jurisdiction=220106", headers=bank.auth("foreign_hr")
    )
    assert r.status == 403

    r = await bank.client.get("/v1/policies/220106-teacher-training", headers=bank.auth("learner"))
    versions = (await r.json())["versions"]
    assert versions[0]["effective_from"] == "2022-01-02" and versions[0]["in_force_until"] is None


async def test_a_cohort_read_in_chunks_of_one_learner_answers_the_same(
    bank: Bank, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed(bank)
    await post_qualification(bank, ["24"] * 12 + ["12"])
    r = await bank.client.post("/v1/policies", headers=bank.auth("admin"), json=district_policy())
    query = f"target=teacher_annual&jurisdiction=220106&min_position={(await r.json())['position']}"

    async def answers() -> list[Any]:
        found: list[Any] = []
        for extra in ("", "&eligible=false", "&limit=1", "&limit=1&after=P-0001"):
            r = await bank.client.get(f"/v1/eligibility?{query}{extra}", headers=bank.auth("hr"))
            assert r.status == 200, await r.text()
            found.append(await r.json())
        r = await bank.client.get(f"/v1/eligibility?{query}", headers={**bank.auth("hr"), "Accept": "text/csv"})
        found.append(await r.read())
        return found

    whole = await answers()
    assert [row["learner_id"] for row in whole[0]["learners"]] == ["P-0001", "T-0001"]
    # A chunk per learner: the budget is spent by any one learner's history.
    monkeypatch.setattr(eligibility, "FIRST_CHUNK", 1)
    monkeypatch.setattr(eligibility, "COHORT_FACTS_BUDGET", 1)
    assert await answers() == whole


async def test_impact_of_a_draft_publishes_nothing(bank: Bank) -> None:
    await seed(bank)
    r = await bank.client.post("/v1/completions", headers=bank.auth("institution"), json=completion("E-1", "P-0001"))
    assert r.status == 201, await r.text()  # the ethics the shipped rule asks for (000 §3)
    position = await post_qualification(bank, ["24"] * 12 + ["12"])
    r = await bank.client.get(f"/v1/policies/cn-principal-training?min_position={position}", headers=bank.auth("hr"))
    assert r.status == 200
    draft = {
        "policy_id": "lv-principal-extra",
        "jurisdiction": "220106",
        "effective_from": "2026-12-01",
        "title": "草案: 拟任校长须有心理健康培训",
        "rules": [
            {
                "id": "mental-health-before-appointment",
                "kind": "category_present",
                "targets": ["principal_appointment"],
                "applies_to": {"roles": ["prospective_principal"]},
                "window": {"kind": "before_date"},
                "categories": ["mental_health"],
                "source": {"document": "草案", "article": "1"},
            }
        ],
    }
    r = await bank.client.post("/v1/policies/lv-principal-extra/impact", headers=bank.auth("hr"), json=draft)
    assert r.status == 200, await r.text()
    impact = await r.json()
    assert impact["flips_count"]["to_ineligible"] == 1, json.dumps(impact)
    [flip] = impact["flips"]
    assert flip["learner_id"] == "P-0001" and flip["direction"] == "to_ineligible"
    assert flip["why"][0]["rule"] == "mental-health-before-appointment"
    r = await bank.client.get("/v1/policies/lv-principal-extra", headers=bank.auth("hr"))
    assert r.status == 404


async def test_an_invalid_policy_is_a_problem_with_field_paths(bank: Bank) -> None:
    data = district_policy()
    data["rules"][2]["hours"] = "-5"
    r = await bank.client.post("/v1/policies", headers=bank.auth("admin"), json=data)
    assert r.status == 422
    assert r.headers["Content-Type"].startswith("application/problem+json")
    problem = await r.json()
    assert problem["code"] == "hours_invalid" and "rules[2].hours" in problem["errors"]
    r = await bank.client.post("/v1/policies", headers=bank.auth("hr"), json=district_policy())
    assert r.status == 403
