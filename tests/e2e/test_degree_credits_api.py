"""Worked example over HTTP (学分互认): 东北师范大学 publishes an Ed.M. mapping; HR converts a
prospective principal's qualification hours into degree credits; another programme cannot
take the same hours; the learner's view shows what is recognised, what is still
recognisable after the caps, and flags a completion revoked after recognition; a reversal
compensates."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import Bank, completion, seed

EDM = {
    "university": "nenu",
    "programme": "edm-leadership",
    "title": "教育硕士（教育领导与管理）",
    "programme_credits": "36",
    "hours_per_credit": "16",
    "overall_cap_fraction": "1/3",
    "categories": [{"category": "principal_qualification", "cap": "8"}, {"category": "ethics", "cap": "2"}],
    "levels": ["national", "provincial"],
    "effective_from": "2026-01-01",
}
MPA = {
    "university": "jlu",
    "programme": "mpa",
    "title": "公共管理硕士",
    "programme_credits": "40",
    "hours_per_credit": "18",
    "overall_cap": "10",
    "categories": [{"category": "principal_qualification"}],
    "levels": ["national"],
    "effective_from": "2026-01-01",
}


def pq(record_id: str, hours: str, **overrides: Any) -> dict[str, Any]:
    programme = {"code": "PQ", "title": "任职资格培训", "category": "principal_qualification", "level": "national"}
    return completion(record_id, "P-0001", programme=programme, hours=hours, **overrides)


async def _view(bank: Bank, position: int, role: str = "hr", extra: str = "") -> dict[str, Any]:
    r = await bank.client.get(
        f"/v1/learners/P-0001/degree-credits?programme=nenu:edm-leadership&min_position={position}{extra}",
        headers=bank.auth(role),
    )
    body = await r.json()
    assert r.status == 200, body
    return body


def _by_record(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["record_id"]: c for c in view["completions"]}


async def test_degree_credits_are_recognised_once_explained_and_reversible(bank: Bank) -> None:
    await seed(bank)
    r = await bank.client.post("/v1/degree-mappings", headers=bank.auth("hr"), json=EDM)
    assert r.status == 403
    r = await bank.client.post("/v1/degree-mappings", headers=bank.auth("admin"), json=EDM)
    published = await r.json()
    assert r.status == 201 and published["version"] == 1, published
    r = await bank.client.post("/v1/degree-mappings", headers=bank.auth("admin"), json=EDM)
    assert r.status == 200 and (await r.json())["status"] == "duplicate"
    r = await bank.client.post(
        "/v1/degree-mappings",
        headers=bank.auth("admin"),
        json={**EDM, "categories": [{"category": "ethics", "cap": "20"}]},
    )
    refused = await r.json()
    assert r.status == 422 and refused["code"] == "degree_mapping_invalid", refused
    assert "categories[0].cap" in refused["errors"]
    r = await bank.client.post("/v1/degree-mappings", headers=bank.auth("admin"), json=MPA)
    assert r.status == 201
    r = await bank.client.get(
        f"/v1/degree-mappings/{published['mapping_id']}?min_position={published['position']}",
        headers=bank.auth("institution"),
    )
    mapping = await r.json()
    assert r.status == 200 and mapping["programme"] == "edm-leadership", mapping
    assert mapping["versions"][0]["overall_cap"] == "12" and mapping["versions"][0]["hours_per_credit"] == "16"

    ethics = {"code": "ETH", "title": "校长职业道德", "category": "ethics", "level": "provincial"}
    r = await bank.client.post(
        "/v1/completions",
        headers=bank.auth("institution"),
        json={
            "completions": [
                pq("PQ-96", "96"),
                completion("ETH-40", "P-0001", programme=ethics, hours="40"),
                pq("PQ-FAIL", "24", assessment="fail"),
                completion(
                    "SB-20",
                    "P-0001",
                    hours="20",
                    programme={"code": "SB", "title": "校本研修", "category": "school_based", "level": "county"},
                ),
            ]
        },
    )
    assert r.status == 207
    position = max(i["position"] for i in (await r.json())["results"])

    before = await _view(bank, position)
    items = _by_record(before)
    assert items["PQ-96"]["worth_credits"] == "6" and items["PQ-96"]["recognisable_credits"] == "6"
    assert items["ETH-40"]["recognisable_credits"] == "2.5"
    assert items["PQ-FAIL"]["status"] == "failed" and items["PQ-FAIL"]["recognisable_hours"] == "0"
    assert not items["SB-20"]["counts"] and "school_based" in items["SB-20"]["not_counted_reason"]
    # The ethics cap (2) holds back half a credit; 6 + 2 = 8 of the 12 allowed.
    assert before["totals"]["by_category"]["ethics"]["recognisable_credits"] == "2"
    assert before["totals"]["recognisable_credits"] == "8" and before["totals"]["recognised_credits"] == "0"

    body = {
        "type": "degree_credit",
        "transfer_id": "edm-1",
        "learner_id": "P-0001",
        "mapping_id": "nenu:edm-leadership",
        "completions": [{"provider_id": "JLU-TTC", "record_id": "PQ-96"}],
    }
    r = await bank.client.post("/v1/transfers", headers=bank.auth("foreign_hr"), json=body)
    assert r.status == 403
    r = await bank.client.post("/v1/transfers", headers=bank.auth("hr"), json=body)
    recognised = await r.json()
    assert r.status == 201, recognised
    assert recognised["credits"] == "6" and recognised["hours"] == "96"
    assert recognised["completions"][0]["event_id"] == items["PQ-96"]["event_id"]
    r = await bank.client.post("/v1/transfers", headers=bank.auth("hr"), json=body)
    assert r.status == 200 and (await r.json())["status"] == "duplicate"

    # Another programme asks for the same hours: refused by name, saying where they went.
    r = await bank.client.post(
        "/v1/transfers",
        headers=bank.auth("admin"),
        json={
            **body,
            "transfer_id": "mpa-1",
            "mapping_id": "jlu:mpa",
            "completions": [{"provider_id": "JLU-TTC", "record_id": "PQ-96", "hours": "18"}],
        },
    )
    refused = await r.json()
    assert r.status == 409 and refused["code"] == "hours_already_recognised", refused
    assert refused["recognised_in"][0]["recognition_id"] == "edm-1"
    assert "completions[0]" in refused["errors"]
    r = await bank.client.post(
        "/v1/transfers",
        headers=bank.auth("hr"),
        json={**body, "transfer_id": "edm-2", "completions": [{"provider_id": "JLU-TTC", "record_id": "PQ-FAIL"}]},
    )
    refused = await r.json()
    assert r.status == 409 and refused["code"] == "completion_not_recognisable" and refused["reason"] == "failed"
    r = await bank.client.post(
        "/v1/transfers",
        headers=bank.auth("hr"),
        json={**body, "transfer_id": "edm-3", "completions": [{"provider_id": "JLU-TTC", "record_id": "ETH-40"}]},
    )
    refused = await r.json()
    assert r.status == 409 and refused["code"] == "degree_cap_exceeded" and refused["category"] == "ethics"

    after = await _view(bank, recognised["position"])
    item = _by_record(after)["PQ-96"]
    [line] = item["recognised"]
    assert line["recognition_id"] == "edm-1" and line["this_programme"] and line["credits"] == "6"
    assert line["event_id"] in after["totals"]["recognised_events"]
    assert item["recognisable_hours"] == "0" and item["recognised_hours"] == "96"
    assert after["totals"]["recognised_credits"] == "6" and after["totals"]["cap_remaining"] == "6"
    assert after["totals"]["recognisable_credits"] == "2"
    # As known before the recognition: nothing recognised.
    earlier = await _view(bank, 0, extra=f"&at_position={position}")
    assert earlier["totals"]["recognised_credits"] == "0" and earlier["position"] == position
    # The learner's own history names the recognition event.
    r = await bank.client.get(
        f"/v1/learners/P-0001/history?min_position={recognised['position']}", headers=bank.auth("auditor")
    )
    assert "Recognised" in {e["type"][-10:] for e in (await r.json())["events"]}

    # Revoking a recognised completion is not silently kept counting.
    r = await bank.client.post(
        "/v1/completions/JLU-TTC/PQ-96/revocation", headers=bank.auth("institution"), json={"reason": "wrong learner"}
    )
    revoked = await r.json()
    assert r.status == 201, revoked
    flagged = await _view(bank, revoked["position"])
    item = _by_record(flagged)["PQ-96"]
    assert item["status"] == "revoked" and item["revoked_after_recognition"]
    assert flagged["totals"]["standing_credits"] == "0" and flagged["totals"]["on_revoked_completions"] == "6"
    [warning] = flagged["warnings"]
    assert warning["code"] == "recognised_completion_revoked" and warning["recognitions"] == ["edm-1"]
    assert warning["revocation_event_id"] == item["revocation"]["event_id"]

    # A compensating event reverses the recognition.
    r = await bank.client.post(
        "/v1/transfers/edm-1/reversal",
        headers=bank.auth("hr"),
        json={"type": "degree_credit", "learner_id": "P-0001", "reason": "basis revoked"},
    )
    reversal = await r.json()
    assert r.status == 201, reversal
    r = await bank.client.post(
        "/v1/transfers/edm-1/reversal",
        headers=bank.auth("hr"),
        json={"type": "degree_credit", "learner_id": "P-0001", "reason": "again"},
    )
    assert r.status == 409 and (await r.json())["code"] == "recognition_already_reversed"
    final = await _view(bank, reversal["position"], role="auditor")
    item = _by_record(final)["PQ-96"]
    assert item["recognised"][0]["reversed"] and item["recognised"][0]["reversal_event_id"]
    assert final["totals"]["recognised_credits"] == "0" and final["warnings"] == []


async def test_degree_credit_reads_follow_the_learner_scope(bank: Bank) -> None:
    await seed(bank)
    r = await bank.client.post("/v1/degree-mappings", headers=bank.auth("admin"), json=EDM)
    position = (await r.json())["position"]
    r = await bank.client.get(
        f"/v1/learners/T-0001/degree-credits?programme=nenu:edm-leadership&min_position={position}",
        headers=bank.auth("learner"),
    )
    assert r.status == 200 and (await r.json())["completions"] == []
    r = await bank.client.get(
        "/v1/learners/P-0001/degree-credits?programme=nenu:edm-leadership", headers=bank.auth("learner")
    )
    assert r.status == 403
    r = await bank.client.get(
        "/v1/learners/T-0001/degree-credits?programme=nenu:edm-leadership", headers=bank.auth("foreign_hr")
    )
    assert r.status == 403
    r = await bank.client.get("/v1/learners/T-0001/degree-credits?programme=nenu:phd", headers=bank.auth("hr"))
    assert r.status == 404 and (await r.json())["code"] == "degree_mapping_not_found"
    r = await bank.client.get("/v1/learners/T-0001/degree-credits", headers=bank.auth("hr"))
    assert r.status == 422
    r = await bank.client.get("/openapi.json")
    paths = (await r.json())["paths"]
    assert "/v1/degree-mappings" in paths and "/v1/learners/{learner_id}/degree-credits" in paths
