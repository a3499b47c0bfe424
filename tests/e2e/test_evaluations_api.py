"""Worked example over HTTP (seed 000 §8): a teacher evaluates a programme, is refused a
second time, and the institution's view shows nothing but the count until five colleagues
have answered; then averages, counts per score and comments sorted by text. An auditor
records an expert review; HR sees the institutions ranked."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import Bank, completion, seed, settle

TEACHERS = [f"T-00{n:02d}" for n in range(1, 7)]


async def _register(bank: Bank, learner_id: str) -> None:
    r = await bank.client.post(
        "/v1/learners",
        headers=bank.auth("hr"),
        json={"learner_id": learner_id, "name": "张老师", "jurisdiction": "220106", "hired_on": "2015-09-01"},
    )
    assert r.status in (200, 201), await r.text()


async def _cohort(bank: Bank) -> dict[str, dict[str, str]]:
    """Six teachers who passed ETH-2024 at JLU-TTC, each with a token of their own."""
    await seed(bank)
    for learner_id in TEACHERS[1:]:
        await _register(bank, learner_id)
    r = await bank.client.post(
        "/v1/completions",
        headers=bank.auth("institution"),
        json={"completions": [completion(f"E-{t}", learner_id=t) for t in TEACHERS]},
    )
    assert r.status == 207 and (await r.json())["recorded"] == len(TEACHERS)
    await settle(bank)
    return {t: {"Authorization": f"Bearer {await bank.mint('learner', learner_id=t)}"} for t in TEACHERS}


def _evaluation(teacher: str, content: int = 4, comment: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "provider_id": "JLU-TTC",
        "record_id": f"E-{teacher}",
        "scores": {"content": content, "teaching": 5, "organisation": 3},
    }
    if comment is not None:
        body["comment"] = comment
    return body


async def _view(bank: Bank, role: str = "institution", position: int = 0) -> dict[str, Any]:
    r = await bank.client.get(
        f"/v1/providers/JLU-TTC/evaluations?programme=ETH-2024&min_position={position}", headers=bank.auth(role)
    )
    assert r.status == 200, await r.text()
    body: dict[str, Any] = await r.json()
    return body


async def test_a_teacher_evaluates_once_and_the_institution_sees_only_the_count_until_five(bank: Bank) -> None:
    tokens = await _cohort(bank)
    first = TEACHERS[0]
    r = await bank.client.get(f"/v1/learners/{first}/evaluations/pending", headers=tokens[first])
    pending = await r.json()
    assert r.status == 200, pending
    assert [(p["provider_id"], p["record_id"], p["programme"]["code"]) for p in pending["pending"]] == [
        ("JLU-TTC", f"E-{first}", "ETH-2024")
    ]

    r = await bank.client.post("/v1/evaluations", headers=tokens[first], json=_evaluation(first, 5, "案例很实用"))
    done = await r.json()
    assert r.status == 201 and done["status"] == "recorded", done
    assert set(done) == {"status", "position"}  # nothing else comes back
    r = await bank.client.post("/v1/evaluations", headers=tokens[first], json=_evaluation(first, 1))
    refused = await r.json()
    assert r.status == 409 and refused["code"] == "already_evaluated", refused
    r = await bank.client.get(
        f"/v1/learners/{first}/evaluations/pending?min_position={done['position']}", headers=tokens[first]
    )
    assert (await r.json())["pending"] == []

    view = await _view(bank, position=done["position"])
    [programme] = view["programmes"]
    assert (programme["count"], programme["published"], programme["scores"], programme["comments"]) == (
        1,
        0,
        None,
        None,
    )

    comments = ["案例很实用", None, "节奏偏快", "希望多些课堂观摩", None]
    for teacher, content, comment in zip(TEACHERS[1:4], (4, 3, 4), comments[1:4], strict=True):
        r = await bank.client.post(
            "/v1/evaluations", headers=tokens[teacher], json=_evaluation(teacher, content, comment)
        )
        assert r.status == 201, await r.text()
        position = (await r.json())["position"]
    [programme] = (await _view(bank, position=position))["programmes"]
    assert (programme["count"], programme["scores"], programme["comments"]) == (4, None, None)

    fifth = TEACHERS[4]
    r = await bank.client.post("/v1/evaluations", headers=tokens[fifth], json=_evaluation(fifth, 4))
    position = (await r.json())["position"]
    [programme] = (await _view(bank, position=position))["programmes"]
    assert (programme["count"], programme["published"]) == (5, 5)
    assert programme["scores"]["content"] == {"average": "4.00", "counts": {"1": 0, "2": 0, "3": 1, "4": 3, "5": 1}}
    assert programme["scores"]["teaching"]["average"] == "5.00"
    assert programme["scores"]["organisation"]["average"] == "3.00"
    assert programme["comments"] == sorted(c for c in comments if c is not None)

    # The sixth waits in the pool: counted, not yet published.
    sixth = TEACHERS[5]
    r = await bank.client.post("/v1/evaluations", headers=tokens[sixth], json=_evaluation(sixth, 1))
    [programme] = (await _view(bank, "hr", (await r.json())["position"]))["programmes"]
    assert (programme["count"], programme["published"], programme["scores"]["content"]["average"]) == (6, 5, "4.00")


async def test_only_own_passed_completions_and_the_contract_s_scores(bank: Bank) -> None:
    tokens = await _cohort(bank)
    first, other = TEACHERS[0], TEACHERS[1]
    r = await bank.client.post("/v1/evaluations", headers=tokens[first], json=_evaluation(other))
    assert r.status == 404 and (await r.json())["code"] == "completion_not_found"
    r = await bank.client.get(f"/v1/learners/{other}/evaluations/pending", headers=tokens[first])
    assert r.status == 403
    for scores, field in (({"content": 6}, "scores.content"), ({"teaching": "5"}, "scores.teaching")):
        body = _evaluation(first)
        body["scores"].update(scores)
        r = await bank.client.post("/v1/evaluations", headers=tokens[first], json=body)
        problem = await r.json()
        assert r.status == 422 and field in str(problem["errors"]), problem
    r = await bank.client.post(
        "/v1/evaluations", headers=tokens[first], json={**_evaluation(first), "learner_id": first}
    )
    assert r.status == 422
    r = await bank.client.post("/v1/evaluations", headers=tokens[first], json=_evaluation(first, comment="x" * 501))
    assert r.status == 422
    r = await bank.client.post(
        "/v1/completions/JLU-TTC/E-" + first + "/revocation",
        headers=bank.auth("institution"),
        json={"reason": "wrong learner"},
    )
    assert r.status == 201
    r = await bank.client.post("/v1/evaluations", headers=tokens[first], json=_evaluation(first))
    assert r.status == 422 and (await r.json())["code"] == "completion_not_evaluable"
    r = await bank.client.get("/v1/providers/JLU-TTC/evaluations", headers=bank.auth("other_institution"))
    assert r.status == 403


async def test_an_auditor_records_reviews_and_hr_sees_the_institutions_ranked(bank: Bank) -> None:
    tokens = await _cohort(bank)
    review = {"kind": "expert", "on": "2026-11-20", "findings": "课程设置合理,师资充足", "rating": 4}
    r = await bank.client.post("/v1/providers/JLU-TTC/reviews", headers=bank.auth("auditor"), json=review)
    recorded = await r.json()
    assert r.status == 201, recorded
    r = await bank.client.post("/v1/providers/JLU-TTC/reviews", headers=bank.auth("auditor"), json=review)
    assert r.status == 200 and await r.json() == {"status": "duplicate", "position": recorded["position"]}
    r = await bank.client.post(
        "/v1/providers/JLU-TTC/reviews", headers=bank.auth("auditor"), json={**review, "rating": 2}
    )
    assert r.status == 409 and (await r.json())["code"] == "review_conflict"
    r = await bank.client.post("/v1/providers/JLU-TTC/reviews", headers=bank.auth("institution"), json=review)
    assert r.status == 403
    r = await bank.client.post("/v1/providers/NOBODY/reviews", headers=bank.auth("auditor"), json=review)
    assert r.status == 404

    for teacher in TEACHERS[:5]:
        r = await bank.client.post("/v1/evaluations", headers=tokens[teacher], json=_evaluation(teacher))
        assert r.status == 201
        position = (await r.json())["position"]
    view = await _view(bank, "auditor", position)
    assert [(x["kind"], x["rating"], x["findings"]) for x in view["reviews"]] == [("expert", 4, review["findings"])]

    r = await bank.client.get(
        f"/v1/evaluations/ranking?jurisdiction=220106&min_position={position}", headers=bank.auth("hr")
    )
    ranking = await r.json()
    assert r.status == 200, ranking
    first, *rest = ranking["providers"]
    assert (first["provider_id"], first["rank"], first["evaluations"], first["average"]) == ("JLU-TTC", 1, 5, "4.00")
    assert first["reviews"] == 1 and first["review_rating"] == "4.00"
    assert [(p["provider_id"], p["rank"], p["average"]) for p in rest] == [("OTHER", None, None)]
    r = await bank.client.get("/v1/evaluations/ranking?jurisdiction=330300", headers=bank.auth("hr"))
    assert r.status == 403


async def test_an_erased_teacher_s_evaluation_stays_counted_and_they_can_evaluate_no_more(bank: Bank) -> None:
    tokens = await _cohort(bank)
    first = TEACHERS[0]
    r = await bank.client.post("/v1/evaluations", headers=tokens[first], json=_evaluation(first, comment="很好"))
    assert r.status == 201
    r = await bank.client.post(
        f"/v1/learners/{first}/erasure", headers=bank.auth("admin"), json={"reason": "本人申请删除"}
    )
    erased = await r.json()
    assert r.status == 201, erased
    [programme] = (await _view(bank, "auditor", erased["position"]))["programmes"]
    assert programme["count"] == 1
    # The erasure ended the learner's tokens; the ledger refuses them anyway (tests/unit).
    r = await bank.client.post("/v1/evaluations", headers=tokens[first], json=_evaluation(first))
    assert r.status == 401
    r = await bank.client.get(f"/v1/learners/{first}/evaluations/pending", headers=tokens[first])
    assert r.status == 401
