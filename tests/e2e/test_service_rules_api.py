"""Issue 13's rules over HTTP, as an HR officer of 温州 (330300) would try them: an intern
head teacher not eligible for the post before the intern year and eligible after it
(001 二(一)1); who reaches 25 years of head-teacher service this school year (001 二(五)12);
cohorts of only those a target is for, with totals; school-year and term windows under a
jurisdiction's own calendar; targets with labels and the rules behind them."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import ACCREDITATION, Bank, completion, seed, settle
from tests.e2e.test_eligibility_api import district_policy

WENZHOU_HR = "foreign_hr"  # the conftest's hr token of 330300
PRE_POST = {"code": "BZR-SG", "title": "班主任上岗培训", "category": "head_teacher_pre_post", "level": "county"}


async def register(bank: Bank, learner_id: str, hired_on: str, roles: list[dict[str, str]], **extra: Any) -> int:
    body = {
        "learner_id": learner_id,
        "name": "陈静",
        "jurisdiction": "330300",
        "school": "温州市第二实验小学",
        "hired_on": hired_on,
        "roles": roles,
        **extra,
    }
    r = await bank.client.post("/v1/learners", headers=bank.auth(WENZHOU_HR), json=body)
    assert r.status == 201, await r.text()
    return int((await r.json())["position"])


async def accredit(bank: Bank) -> None:
    accreditation = {**ACCREDITATION, "categories": [*ACCREDITATION["categories"], "head_teacher_pre_post"]}
    r = await bank.client.post(
        "/v1/providers",
        headers=bank.auth("admin"),
        json={
            "provider_id": "JLU-TTC",
            "name": "吉林省教师培训学院",
            "jurisdiction": "220000",
            "accreditation": accreditation,
        },
    )
    assert r.status in (200, 201), await r.text()


async def verdict(bank: Bank, learner_id: str, target: str, query: str) -> dict[str, Any]:
    r = await bank.client.get(
        f"/v1/learners/{learner_id}/eligibility?target={target}&{query}", headers=bank.auth(WENZHOU_HR)
    )
    assert r.status == 200, await r.text()
    answer: dict[str, Any] = await r.json()
    return answer


async def test_an_intern_head_teacher_is_eligible_for_the_post_after_the_year_and_not_before(bank: Bank) -> None:
    await accredit(bank)
    await register(
        bank,
        "33030020260001",
        "2026-09-01",
        [{"role": "teacher", "since": "2026-09-01"}, {"role": "intern_head_teacher", "since": "2026-09-01"}],
    )
    r = await bank.client.post(
        "/v1/completions",
        headers=bank.auth("institution"),
        json=completion("BZR-1", "33030020260001", programme=PRE_POST, hours="24", completed_on="2026-10-15"),
    )
    assert r.status == 201, await r.text()
    position = (await r.json())["position"]
    await settle(bank)
    r = await bank.client.post(
        "/v1/certificates",
        headers=bank.auth(WENZHOU_HR),
        json={"learner_id": "33030020260001", "kind": "head_teacher_post"},
    )
    assert r.status == 201, await r.text()
    position = (await r.json())["position"]

    before = await verdict(bank, "33030020260001", "head_teacher_post", f"on=2027-08-31&min_position={position}")
    assert before["eligible"] is False
    [unmet] = before["missing"]
    assert (unmet["policy_id"], unmet["rule"], unmet["due"]) == ("330300-head-teacher", "intern-year", "2027-09-01")
    met = {r["rule"]: r["met"] for r in before["requirements"]}
    assert met["pre-post-certificate"] and met["pre-post-training"]

    after = await verdict(bank, "33030020260001", "head_teacher_post", f"on=2027-09-01&min_position={position}")
    assert after["eligible"] is True and after["missing"] == []
    year = next(r for r in after["requirements"] if r["rule"] == "intern-year")
    assert year["source"]["article"] == "二(一)1" and year["evidence"][0]["role"] == "intern_head_teacher"

    # Probation (001 二(一)2) rests on the intern year too, and on the first year's 120 h
    # (002's figure, read for 温州: assumed); 24 h of pre-post training is not those hours.
    probation = await verdict(bank, "33030020260001", "probation", f"on=2027-09-01&min_position={position}")
    assert probation["eligible"] is False and probation["assumed"] is True
    met = {r["rule"]: r["met"] for r in probation["requirements"]}
    assert met == {"probation-intern-year": True, "probation-first-year-hours": False}


async def test_who_reaches_25_years_of_head_teacher_service_this_school_year(bank: Bank) -> None:
    # 25 years on 2026-09-01; with the intern year (counted in 330300) on 2026-09-01 too;
    # 25 years only on 2027-09-01 (the next school year); and 10 years on 2027-03-15.
    await register(bank, "W-25-A", "1999-08-25", [{"role": "head_teacher", "since": "2001-09-01"}])
    await register(
        bank,
        "W-25-B",
        "2000-08-25",
        [{"role": "intern_head_teacher", "since": "2001-09-01"}, {"role": "head_teacher", "since": "2002-09-01"}],
    )
    r = await bank.client.post(
        "/v1/learners/W-25-B/roles",
        headers=bank.auth(WENZHOU_HR),
        json={"role": "intern_head_teacher", "until": "2002-08-31"},
    )
    assert r.status == 201, await r.text()
    await register(bank, "W-25-C", "2001-08-25", [{"role": "head_teacher", "since": "2002-09-01"}])
    position = await register(bank, "W-10-D", "2016-08-25", [{"role": "head_teacher", "since": "2017-03-15"}])

    query = f"jurisdiction=330300&role=head_teacher&years=25,10&school_year=2026-2027&min_position={position}"
    r = await bank.client.get(f"/v1/milestones?{query}", headers=bank.auth(WENZHOU_HR))
    assert r.status == 200, await r.text()
    found = await r.json()
    assert (found["from"], found["to"], found["years"]) == ("2026-09-01", "2027-08-31", [10, 25])
    assert found["counted_roles"] == ["head_teacher", "intern_head_teacher"]
    assert found["rule"]["policy_id"] == "330300-head-teacher" and found["rule"]["assumed"] is True
    rows = [(row["learner_id"], row["years"], row["reached_on"]) for row in found["learners"]]
    assert rows == [("W-25-A", 25, "2026-09-01"), ("W-25-B", 25, "2026-09-01"), ("W-10-D", 10, "2027-03-15")]
    assert found["counts"] == {"10": 1, "25": 2}

    r = await bank.client.get(f"/v1/milestones?{query}", headers={**bank.auth(WENZHOU_HR), "Accept": "text/csv"})
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/csv")
    lines = (await r.read()).decode("utf-8-sig").splitlines()
    assert lines[0].startswith("learner_id,name") and len(lines) == 4 and "2026-09-01" in lines[1]

    # The honour verdict agrees (years=N is how the milestone is asked).
    honour = await verdict(bank, "W-25-B", "head_teacher_honour", f"years=25&on=2026-09-01&min_position={position}")
    assert honour["eligible"] is True and honour["assumed"] is True
    early = await verdict(bank, "W-25-B", "head_teacher_honour", f"years=25&on=2026-08-31&min_position={position}")
    assert early["eligible"] is False

    # Scoped, and refused field by field.
    r = await bank.client.get(f"/v1/milestones?{query}", headers=bank.auth("hr"))
    assert r.status == 403
    r = await bank.client.get(
        "/v1/milestones?jurisdiction=330300&role=head_teacher&years=0,x&school_year=2026-2028",
        headers=bank.auth("admin"),
    )
    assert r.status == 422
    assert set((await r.json())["errors"]) == {"years", "school_year"}

    # The cohort of the honour: only head teachers (applies=true), with totals.
    cohort = f"target=head_teacher_honour&years=25&jurisdiction=330300&on=2026-09-01&min_position={position}"
    r = await bank.client.get(f"/v1/eligibility?{cohort}&applies=true&limit=1", headers=bank.auth(WENZHOU_HR))
    assert r.status == 200, await r.text()
    page = await r.json()
    assert page["counts"] == {"eligible": 2, "not_eligible": 2, "not_applicable": 0}
    assert len(page["learners"]) == 1 and page["next_after"] == page["learners"][0]["learner_id"]
    # Later pages carry totals only when asked (they judge the whole cohort, like a CSV).
    after = page["next_after"]
    r = await bank.client.get(f"/v1/eligibility?{cohort}&applies=true&after={after}", headers=bank.auth(WENZHOU_HR))
    rest = await r.json()
    assert rest["counts"] is None and len(rest["learners"]) == 3
    r = await bank.client.get(
        f"/v1/eligibility?{cohort}&applies=true&after={after}&totals=true", headers=bank.auth(WENZHOU_HR)
    )
    assert (await r.json())["counts"] == page["counts"]


async def test_a_schools_milestones_at_a_past_position_list_who_was_there_then(bank: Bank) -> None:
    await register(bank, "W-25-A", "1999-08-25", [{"role": "head_teacher", "since": "2001-09-01"}])
    r = await bank.client.patch(
        "/v1/learners/W-25-A",
        headers=bank.auth(WENZHOU_HR),
        json={"school": "温州市第三实验小学", "name": "陈晶", "reason": "调入第三实验小学"},
    )
    assert r.status == 201, await r.text()
    corrected = int((await r.json())["position"])

    async def listed(school: str, at: int) -> list[tuple[str, str, str]]:
        query = f"jurisdiction=330300&role=head_teacher&years=25&school_year=2026-2027&at_position={at}"
        r = await bank.client.get(f"/v1/milestones?{query}&school={school}", headers=bank.auth(WENZHOU_HR))
        assert r.status == 200, await r.text()
        return [(row["learner_id"], row["name"], row["school"]) for row in (await r.json())["learners"]]

    # Before the correction she was at the second school, under her name then.
    assert await listed("温州市第二实验小学", corrected - 1) == [("W-25-A", "陈静", "温州市第二实验小学")]
    assert await listed("温州市第三实验小学", corrected - 1) == []
    assert await listed("温州市第二实验小学", corrected) == []
    assert await listed("温州市第三实验小学", corrected) == [("W-25-A", "陈晶", "温州市第三实验小学")]


async def test_cohorts_list_only_those_a_target_is_for_with_totals(bank: Bank) -> None:
    await register(
        bank,
        "W-NEW-1",
        "2026-09-01",
        [{"role": "teacher", "since": "2026-09-01"}, {"role": "intern_head_teacher", "since": "2026-09-01"}],
    )
    await register(bank, "W-NEW-2", "2026-09-01", [{"role": "teacher", "since": "2026-09-01"}])
    position = await register(bank, "W-OLD-1", "2005-08-25", [{"role": "teacher", "since": "2005-08-25"}])
    base = f"target=probation&jurisdiction=330300&on=2026-12-01&min_position={position}"
    r = await bank.client.get(f"/v1/eligibility?{base}", headers=bank.auth(WENZHOU_HR))
    everyone = await r.json()
    assert everyone["counts"] == {"eligible": 0, "not_eligible": 2, "not_applicable": 1}
    r = await bank.client.get(f"/v1/eligibility?{base}&applies=true", headers=bank.auth(WENZHOU_HR))
    applies = await r.json()
    assert [row["learner_id"] for row in applies["learners"]] == ["W-NEW-1", "W-NEW-2"]
    assert applies["counts"] == {"eligible": 0, "not_eligible": 2, "not_applicable": 0}
    r = await bank.client.get(
        f"/v1/eligibility?{base}&applies=true&role=intern_head_teacher", headers=bank.auth(WENZHOU_HR)
    )
    assert [row["learner_id"] for row in (await r.json())["learners"]] == ["W-NEW-1"]
    r = await bank.client.get(f"/v1/eligibility?{base}&school=别的学校", headers=bank.auth(WENZHOU_HR))
    assert (await r.json())["counts"] == {"eligible": 0, "not_eligible": 0, "not_applicable": 0}

    # The targets in force say what they are, in both languages, with the rules behind them.
    r = await bank.client.get("/v1/targets?jurisdiction=330300&on=2026-12-01", headers=bank.auth(WENZHOU_HR))
    targets = {t["target"]: t for t in (await r.json())["targets"]}
    assert {"probation", "head_teacher_honour", "principal_improvement_certificate", "head_teacher_post"} <= set(
        targets
    )
    assert targets["head_teacher_honour"]["label"] == {"zh": "班主任荣誉", "en": "head-teacher honour"}
    assert targets["head_teacher_honour"]["asks"] == ["years"]
    assert [(x["policy_id"], x["rule"]) for x in targets["probation"]["rules"]] == [
        ("330300-head-teacher", "probation-intern-year"),
        ("330300-head-teacher", "probation-first-year-hours"),
    ]
    r = await bank.client.get("/v1/learners/W-OLD-1/eligibility?target=honours", headers=bank.auth(WENZHOU_HR))
    assert r.status == 422 and (await r.json())["type"].endswith("unknown_target")
    assert "probation" in (await r.json())["targets"]


async def test_school_year_and_term_windows_follow_the_jurisdictions_calendar(bank: Bank) -> None:
    policy = {
        "policy_id": "330300-school-year-test",
        "jurisdiction": "330300",
        "effective_from": "2024-01-01",
        "title": "学年度与学期(测试)",
        "calendar": {"year_starts": "08-20", "spring_starts": "02-15"},
        "rules": [
            {
                "id": "school-year-10h",
                "kind": "min_hours",
                "targets": ["school_year_test"],
                "window": {"kind": "school_year"},
                "hours": "10",
                "applies_to": {"roles": ["teacher"]},
                "source": {"document": "测试", "article": "1"},
            },
            {
                "id": "last-term-ethics",
                "kind": "category_present",
                "targets": ["school_year_test"],
                "window": {"kind": "term", "period": "previous"},
                "categories": ["ethics"],
                "applies_to": {"roles": ["teacher"]},
                "source": {"document": "测试", "article": "2"},
            },
        ],
    }
    r = await bank.client.post("/v1/policies", headers=bank.auth("admin"), json=policy)
    assert r.status == 201, await r.text()
    await accredit(bank)
    await register(bank, "W-T-1", "2010-08-25", [{"role": "teacher", "since": "2010-08-25"}])
    r = await bank.client.post(
        "/v1/completions",
        headers=bank.auth("institution"),
        json={"completions": [completion("SY-1", "W-T-1", hours="10", completed_on="2026-08-21")]},
    )
    assert r.status == 207, await r.text()
    position = (await r.json())["position"]
    # 2026-09-10 lies in school year 2026-2027 of this calendar (from 2026-08-20) and in its
    # autumn term; the term before is spring 2026-02-15 to 2026-08-19.
    answer = await verdict(bank, "W-T-1", "school_year_test", f"on=2026-09-10&min_position={position}")
    windows = {r["rule"]: (r.get("window"), r["met"]) for r in answer["requirements"]}
    assert windows["school-year-10h"] == ({"school_year": "2026-2027", "from": "2026-08-20", "to": "2027-08-19"}, True)
    assert windows["last-term-ethics"] == ({"term": "2025-2026-2", "from": "2026-02-15", "to": "2026-08-19"}, False)

    bad = {**policy, "policy_id": "330300-bad-calendar", "calendar": {"year_starts": "02-30"}}
    r = await bank.client.post("/v1/policies", headers=bank.auth("admin"), json=bad)
    assert r.status == 422 and "calendar.year_starts" in (await r.json())["errors"]
    bad = {
        **policy,
        "policy_id": "330300-bad-applies",
        "rules": [{**policy["rules"][0], "applies_to": {"grades": [1]}}],
    }
    r = await bank.client.post("/v1/policies", headers=bank.auth("admin"), json=bad)
    assert r.status == 422 and "rules[0].applies_to.grades" in (await r.json())["errors"]


async def test_balances_show_credits_beside_hours_where_the_district_sets_a_ratio(bank: Bank) -> None:
    await seed(bank)  # T-0001 of 220106, whose district policy (seed 002) sets 10 h a credit
    r = await bank.client.post("/v1/policies", headers=bank.auth("admin"), json=district_policy())
    assert r.status == 201, await r.text()
    published = (await r.json())["position"]
    r = await bank.client.post(
        "/v1/completions", headers=bank.auth("institution"), json=completion("C-1", hours="12.5")
    )
    position = (await r.json())["position"]
    # The ratio is remembered by the last publication a read sees: a read from before the
    # policy, asked after one that saw it, still answers without it.
    r = await bank.client.get(f"/v1/learners/T-0001/balance?min_position={position}", headers=bank.auth("hr"))
    assert "credit_ratio" in await r.json()
    r = await bank.client.get(f"/v1/learners/T-0001/balance?at_position={published - 1}", headers=bank.auth("hr"))
    assert "credit_ratio" not in await r.json()
    r = await bank.client.get(f"/v1/learners/T-0001/balance?min_position={position}", headers=bank.auth("hr"))
    balance = await r.json()
    assert balance["total"] == {**balance["total"], "hours": "12.5", "credits": "1.25"}
    assert balance["by_category"]["ethics"]["credits"] == "1.25"
    assert balance["credit_ratio"] == {
        "hours_per_credit": "10",
        "policy_id": "220106-teacher-training",
        "rule": "credit-ratio",
        "assumed": True,
        "assumption": "1 学分 = 10 学时",
    }
    # 温州 sets no ratio: hours only.
    position = await register(bank, "W-C-1", "2010-08-25", [{"role": "teacher", "since": "2010-08-25"}])
    r = await bank.client.get(f"/v1/learners/W-C-1/balance?min_position={position}", headers=bank.auth(WENZHOU_HR))
    assert r.status == 200, await r.text()
    hours_only = await r.json()
    assert "credit_ratio" not in hours_only and "credits" not in hours_only["total"]
