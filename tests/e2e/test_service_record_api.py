"""Worked examples of the service record over HTTP, as an HR officer of Wenzhou (330300)
would try them: refusals of the head-teacher post (seed 001 二(四)9), appointments judged on
their start date (持证上岗, 001 二(一)1), paper certificates of staff in post before the bank,
appraisals and qualifications; read-your-writes, history, time travel and erasure."""

from __future__ import annotations

from typing import Any

import asyncpg

from ledger.policy import shipped_policies
from tests.e2e.conftest import Bank, settle

WENZHOU_HEAD_TEACHER = next(p for p in shipped_policies() if p["policy_id"] == "330300-head-teacher")
SCHOOL = "温州市第二中学"
REASON = "无正当理由不接受学校选聘"


async def ok(request: Any, status: int = 201) -> Any:
    response = await request
    body = await response.json()
    assert response.status == status, body
    return body


async def wenzhou(bank: Bank, *teachers: str) -> None:
    """Wenzhou's head-teacher policy published (the bank ships it: a duplicate), and teachers
    of a Lucheng school registered."""
    published = await bank.client.post("/v1/policies", headers=bank.auth("admin"), json=WENZHOU_HEAD_TEACHER)
    assert published.status in {200, 201}, await published.text()
    for number in teachers:
        await ok(
            bank.client.post(
                "/v1/learners",
                headers=bank.auth("foreign_hr"),
                json={
                    "learner_id": number,
                    "name": "陈静",
                    "jurisdiction": "330302",
                    "school": SCHOOL,
                    "hired_on": "2015-09-01",
                    "roles": [{"role": "teacher", "since": "2015-09-01"}],
                },
            )
        )
    await settle(bank)


def refusal(**changes: Any) -> dict[str, Any]:
    return {
        "post": "head_teacher",
        "school_year": "2025-2026",
        "on": "2025-10-08",
        "justified": False,
        "reason": REASON,
        **changes,
    }


async def verdict(bank: Bank, learner: str, target: str, **params: Any) -> dict[str, Any]:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return await ok(
        bank.client.get(f"/v1/learners/{learner}/eligibility?target={target}&{query}", headers=bank.auth("foreign_hr")),
        200,
    )


def rule(v: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in v["requirements"] if r["rule"] == name)


async def test_an_unjustified_refusal_bars_promotion_and_excellent_that_school_year_and_not_the_next(
    bank: Bank,
) -> None:
    await wenzhou(bank, "W-0001")
    recorded = await ok(
        bank.client.post("/v1/learners/W-0001/refusals", headers=bank.auth("foreign_hr"), json=refusal())
    )
    position = recorded["position"]
    for target in ("title_promotion", "appraisal_excellent"):
        barred = await verdict(bank, "W-0001", target, on="2026-06-30", min_position=position)
        assert barred["eligible"] is False
        refused = rule(barred, "not-refused-post")
        assert refused["met"] is False and refused["source"]["article"] == "二(四)9"
        assert [e["position"] for e in refused["evidence"]] == [position]
        assert refused["missing"]["free_from"] == "2026-09-01"
        free = await verdict(bank, "W-0001", target, on="2026-09-01", min_position=position)
        assert rule(free, "not-refused-post")["met"] is True
        # As the bank knew it the position before: no refusal yet.
        before = await verdict(bank, "W-0001", target, on="2026-06-30", at_position=position - 1)
        assert rule(before, "not-refused-post")["met"] is True
        # Judged on 2026-06-30 as the bank knows it now.
        now = await verdict(bank, "W-0001", target, on="2026-06-30", knowledge="current")
        assert now["knowledge"] == "current" and rule(now, "not-refused-post")["met"] is False

    # A retry is the same refusal; other content under the same post and year is a conflict.
    again = await ok(
        bank.client.post("/v1/learners/W-0001/refusals", headers=bank.auth("foreign_hr"), json=refusal()), 200
    )
    assert again == {"status": "duplicate", "position": position}
    conflict = await ok(
        bank.client.post("/v1/learners/W-0001/refusals", headers=bank.auth("foreign_hr"), json=refusal(justified=True)),
        409,
    )
    assert conflict["code"] == "refusal_conflict"
    # Changchun's HR records nothing about a Wenzhou teacher.
    outside = await ok(bank.client.post("/v1/learners/W-0001/refusals", headers=bank.auth("hr"), json=refusal()), 403)
    assert outside["code"] == "forbidden"
    bad = await ok(
        bank.client.post(
            "/v1/learners/W-0001/refusals",
            headers=bank.auth("foreign_hr"),
            json=refusal(school_year="2025-2027", justified="no"),
        ),
        422,
    )
    assert set(bad["errors"]) == {"school_year", "justified"}
    outside_year = await ok(
        bank.client.post(
            "/v1/learners/W-0001/refusals", headers=bank.auth("foreign_hr"), json=refusal(school_year="2024-2025")
        ),
        422,
    )
    assert outside_year["code"] == "date_outside_school_year"

    # The history shows who recorded it and why; the profile lists it.
    history = await ok(
        bank.client.get(f"/v1/learners/W-0001/history?min_position={position}", headers=bank.auth("auditor")), 200
    )
    (event,) = [e for e in history["events"] if e["type"] == "LearnerRefusalRecorded"]
    assert event["data"]["reason"] == REASON and "personal" not in event["data"]
    assert event["data"]["recorded_by"]["role"] == "hr" and event["data"]["recorded_by"]["jurisdiction"] == "330300"
    profile = await ok(bank.client.get("/v1/learners/W-0001", headers=bank.auth("foreign_hr")), 200)
    (listed,) = profile["service_record"]["refusals"]
    assert (listed["school_year"], listed["justified"], listed["position"]) == ("2025-2026", False, position)


async def test_an_appointment_to_head_teacher_is_judged_refused_and_overridden_by_an_admin_only(bank: Bank) -> None:
    await wenzhou(bank, "W-0002")
    appoint = {"role": "head_teacher", "since": "2026-09-01"}
    refused = await ok(
        bank.client.post("/v1/learners/W-0002/roles", headers=bank.auth("foreign_hr"), json=appoint), 422
    )
    assert refused["code"] == "appointment_not_eligible"
    assert refused["verdict"]["target"] == "head_teacher_post" and refused["verdict"]["eligible"] is False
    assert {m["rule"] for m in refused["verdict"]["missing"]} >= {"pre-post-certificate", "pre-post-training"}
    assert refused["verdict"]["requirements"]
    hr_override = {**appoint, "override": {"reason": "学校急需"}}
    denied = await ok(
        bank.client.post("/v1/learners/W-0002/roles", headers=bank.auth("foreign_hr"), json=hr_override), 403
    )
    assert denied["code"] == "appointment_override_not_permitted"
    admin_override = {**appoint, "override": {"reason": "学校急需,先上岗后补证"}}
    started = await ok(bank.client.post("/v1/learners/W-0002/roles", headers=bank.auth("admin"), json=admin_override))
    assert started["appointment"]["overridden"] is True and started["appointment"]["eligible"] is False
    history = await ok(
        bank.client.get(
            f"/v1/learners/W-0002/history?min_position={started['position']}", headers=bank.auth("auditor")
        ),
        200,
    )
    (event,) = [e for e in history["events"] if e["type"] == "LearnerRoleStarted"]
    assert event["data"]["override_reason"] == "学校急需,先上岗后补证"
    assert event["data"]["appointment"]["overridden"] is True
    assert event["data"]["recorded_by"]["role"] == "admin"
    profile = await ok(
        bank.client.get(f"/v1/learners/W-0002?min_position={started['position']}", headers=bank.auth("foreign_hr")),
        200,
    )
    assert [r["role"] for r in profile["roles"]] == ["teacher", "head_teacher"]
    # Other roles are not judged.
    await ok(
        bank.client.post(
            "/v1/learners/W-0002/roles",
            headers=bank.auth("foreign_hr"),
            json={"role": "trainer", "since": "2026-09-01"},
        )
    )


async def test_an_appointment_check_answers_the_verdict_the_write_would_and_records_nothing(bank: Bank) -> None:
    await wenzhou(bank, "W-0005")
    hr = bank.auth("foreign_hr")
    check = await ok(
        bank.client.get("/v1/learners/W-0005/appointment-check?role=head_teacher&on=2026-09-01", headers=hr), 200
    )
    assert check["judged"] is True and check["target"] == "head_teacher_post" and check["on"] == "2026-09-01"
    assert check["may_appoint"] is False and check["verdict"]["eligible"] is False
    pre_post = rule(check["verdict"], "pre-post-training")
    assert pre_post["met"] is False and pre_post["source"]["article"]
    # The write, asked the same, refuses on the same verdict: one rule, one state.
    refused = await ok(
        bank.client.post("/v1/learners/W-0005/roles", headers=hr, json={"role": "head_teacher", "since": "2026-09-01"}),
        422,
    )
    assert refused["verdict"] == check["verdict"]
    # Nothing was recorded by the check (nor by the refused write).
    history = await ok(bank.client.get("/v1/learners/W-0005/history", headers=bank.auth("auditor")), 200)
    assert [e["type"] for e in history["events"]].count("LearnerRoleStarted") == 0
    assert check["position"] >= history["position"]
    # A role not judged starts without a verdict; a role held already cannot start at all.
    trainer = await ok(bank.client.get("/v1/learners/W-0005/appointment-check?role=trainer", headers=hr), 200)
    assert trainer["judged"] is False and trainer["may_appoint"] is True and trainer["verdict"] is None
    held = await ok(bank.client.get("/v1/learners/W-0005/appointment-check?role=teacher", headers=hr), 409)
    assert held["code"] == "role_already_held"
    # Another district's HR, and the teacher, may not ask.
    await ok(bank.client.get("/v1/learners/W-0005/appointment-check?role=principal", headers=bank.auth("hr")), 403)
    bad = await ok(bank.client.get("/v1/learners/W-0005/appointment-check?role=mayor", headers=hr), 422)
    assert "role" in bad["errors"]
    # Any written position is met (the check reads the event store); one beyond the log is not.
    url = "/v1/learners/W-0005/appointment-check?role=trainer&min_position="
    await ok(bank.client.get(url + str(check["position"]), headers=hr), 200)
    beyond = await ok(bank.client.get(url + "999999999", headers=hr), 422)
    assert beyond["code"] == "position_not_written" and "min_position" in beyond["errors"]


async def test_a_paper_certificate_counts_for_certificate_held_and_is_shown_as_attested(bank: Bank) -> None:
    await wenzhou(bank, "W-0003")
    before = await verdict(bank, "W-0003", "head_teacher_post", on="2026-09-01")
    assert rule(before, "pre-post-certificate")["met"] is False
    paper = {
        "kind": "head_teacher_post",
        "issuer": "温州市教育局",
        "number": "WZBZR-2014-0031",
        "issued_on": "2014-07-01",
        "attested_by": "鹿城区教育局人事科",
        "document_sha256": "a" * 64,
    }
    attested = await ok(
        bank.client.post("/v1/learners/W-0003/prior-certificates", headers=bank.auth("foreign_hr"), json=paper)
    )
    after = await verdict(bank, "W-0003", "head_teacher_post", on="2026-09-01", min_position=attested["position"])
    held = rule(after, "pre-post-certificate")
    assert held["met"] is True and [e["position"] for e in held["evidence"]] == [attested["position"]]
    profile = await ok(bank.client.get("/v1/learners/W-0003", headers=bank.auth("foreign_hr")), 200)
    (certificate,) = profile["certificates"]
    assert certificate["attested"] is True and certificate["signed_by_bank"] is False
    assert certificate["issuer"] == "温州市教育局" and "number" not in certificate
    again = await ok(
        bank.client.post("/v1/learners/W-0003/prior-certificates", headers=bank.auth("foreign_hr"), json=paper), 200
    )
    assert again["status"] == "duplicate"


async def test_appraisals_and_qualifications_read_your_writes_and_leave_nothing_once_erased(bank: Bank) -> None:
    await wenzhou(bank, "W-0004")
    appraisal = {"school_year": "2025-2026", "grade": "excellent", "on": "2026-07-10"}
    graded = await ok(
        bank.client.post("/v1/learners/W-0004/appraisals", headers=bank.auth("foreign_hr"), json=appraisal)
    )
    other = await ok(
        bank.client.post(
            "/v1/learners/W-0004/appraisals", headers=bank.auth("foreign_hr"), json={**appraisal, "grade": "competent"}
        ),
        409,
    )
    assert other["code"] == "appraisal_conflict"
    number = "20143300000999"
    qualified = await ok(
        bank.client.post(
            "/v1/learners/W-0004/qualifications",
            headers=bank.auth("foreign_hr"),
            json={"kind": "senior_secondary", "number": number, "issued_on": "2014-06-30"},
        )
    )
    refused = await ok(
        bank.client.post("/v1/learners/W-0004/refusals", headers=bank.auth("foreign_hr"), json=refusal())
    )
    # Read-your-writes: the profile at min_position shows each fact at once.
    profile = await ok(
        bank.client.get(f"/v1/learners/W-0004?min_position={refused['position']}", headers=bank.auth("foreign_hr")),
        200,
    )
    record = profile["service_record"]
    assert [a["grade"] for a in record["appraisals"]] == ["excellent"]
    assert [a["position"] for a in record["appraisals"]] == [graded["position"]]
    assert [q["kind"] for q in record["qualifications"]] == ["senior_secondary"]
    assert [q["position"] for q in record["qualifications"]] == [qualified["position"]]
    history = await ok(bank.client.get("/v1/learners/W-0004/history", headers=bank.auth("auditor")), 200)
    assert number in str(history) and REASON in str(history)

    await ok(bank.client.post("/v1/learners/W-0004/erasure", headers=bank.auth("admin"), json={"reason": "PIPL"}))
    gone = await ok(
        bank.client.post(
            "/v1/learners/W-0004/refusals",
            headers=bank.auth("admin"),
            json=refusal(school_year="2026-2027", on="2026-10-08"),
        ),
        404,
    )
    assert gone["code"] in {"learner_not_found", "learner_erased"}
    await settle(bank)
    conn = await asyncpg.connect(**bank.database.asyncpg_kwargs())
    try:
        for table in ("rm_service_record", "rm_event_index", "rm_learners"):
            rows = str(await conn.fetch(f"SELECT * FROM {table}"))
            assert "W-0004" not in rows and number not in rows and REASON not in rows, table
        log = b"".join(bytes(r[0]) for r in await conn.fetch("SELECT state FROM creditbank_events"))
        assert number.encode() not in log and REASON.encode() not in log
    finally:
        await conn.close()
