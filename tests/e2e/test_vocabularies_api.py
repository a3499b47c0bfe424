"""Worked example over HTTP: Wenzhou (330300) adds the category ``special_education``
特殊教育. A Wenzhou institution accredited for it posts a completion of it for a Wenzhou
teacher (recorded) and for a teacher of 绿园区 (220106), where the code is not in force
(refused, ``code_not_in_force``). The vocabulary of each jurisdiction lists what is in force
there and where each code comes from."""

from __future__ import annotations

from tests.e2e.conftest import Bank, completion, seed

SPECIAL = {"special_education": {"zh": "特殊教育", "en": "special education"}}
DOCUMENT = {"jurisdiction": "330300", "effective_from": "2024-01-01", "categories": SPECIAL}


async def test_a_category_wenzhou_adds_counts_in_wenzhou_only(bank: Bank) -> None:
    await seed(bank)
    r = await bank.client.post("/v1/vocabularies", headers=bank.auth("hr"), json=DOCUMENT)
    assert r.status == 403
    r = await bank.client.post("/v1/vocabularies", headers=bank.auth("admin"), json=DOCUMENT)
    assert r.status == 201, await r.text()
    r = await bank.client.post("/v1/vocabularies", headers=bank.auth("admin"), json=DOCUMENT)
    assert r.status == 200 and (await r.json())["status"] == "duplicate"
    taken = {**DOCUMENT, "categories": {"ethics": {"zh": "师德", "en": "ethics"}}, "effective_from": "2025-01-01"}
    r = await bank.client.post("/v1/vocabularies", headers=bank.auth("admin"), json=taken)
    body = await r.json()
    assert r.status == 409 and body["code"] == "vocabulary_code_taken", body

    r = await bank.client.post(
        "/v1/providers",
        headers=bank.auth("admin"),
        json={
            "provider_id": "WZ-SE",
            "name": "温州市特殊教育指导中心",
            "jurisdiction": "330300",
            "accreditation": {"categories": ["special_education"], "levels": ["municipal"], "valid_from": "2024-01-01"},
        },
    )
    assert r.status == 201, await r.text()
    r = await bank.client.post(
        "/v1/learners",
        headers=bank.auth("admin"),
        json={
            "learner_id": "W-0001",
            "name": "陈静",
            "jurisdiction": "330300",
            "school": "温州市第一中学",
            "hired_on": "2016-09-01",
            "roles": [{"role": "teacher", "since": "2016-09-01"}],
        },
    )
    assert r.status == 201, await r.text()
    wenzhou = await bank.mint("institution", provider_id="WZ-SE")
    headers = {"Authorization": f"Bearer {wenzhou}"}
    programme = {"code": "SE-2024", "title": "融合教育专题", "category": "special_education", "level": "municipal"}

    r = await bank.client.post(
        "/v1/completions", headers=headers, json=completion("SE-1", "W-0001", programme=programme)
    )
    assert r.status == 201, await r.text()
    r = await bank.client.post(
        "/v1/completions", headers=headers, json=completion("SE-2", "T-0001", programme=programme)
    )
    refused = await r.json()
    assert r.status == 422 and refused["code"] == "code_not_in_force", refused
    assert "programme.category" in refused["errors"] and "220106" in refused["detail"]

    r = await bank.client.get("/v1/vocabulary?jurisdiction=330300&min_position=1", headers=bank.auth("learner"))
    body = await r.json()
    assert r.status == 200, body
    assert body["codes"]["category"]["special_education"] == {
        "zh": "特殊教育",
        "en": "special education",
        "source": "330300",
    }
    assert body["codes"]["category"]["ethics"]["source"] == "CN"
    assert body["codes"]["role"]["intern_head_teacher"]["zh"] == "见习班主任"
    assert body["codes"]["appraisal_grade"]["basically_competent"]["en"] == "basically competent"
    r = await bank.client.get("/v1/vocabulary?jurisdiction=220106", headers=bank.auth("hr"))
    body = await r.json()
    assert "special_education" not in body["codes"]["category"]
    assert body["codes"]["category"]["ethics"]["zh"] == "师德/职业道德"
    r = await bank.client.get("/v1/vocabulary?jurisdiction=330300&at_position=1", headers=bank.auth("hr"))
    assert "special_education" not in (await r.json())["codes"]["category"]
    r = await bank.client.get("/v1/vocabulary?jurisdiction=33", headers=bank.auth("hr"))
    assert r.status == 422
