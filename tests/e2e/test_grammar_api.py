"""No input can stop the read side, over HTTP: ids and text outside the bank's one grammar
are refused with a 4xx problem, in bodies, in policy documents, in path and query
parameters; and after every refusal the read models still reach the head of the log."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ledger.policy import shipped_policies
from tests.e2e.conftest import Bank, completion, seed, settle


def _policy(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(next(d for d in shipped_policies() if d["policy_id"] == "cn-teacher-cycle"))
    data = {k: (str(v) if k.startswith("effective") and v is not None else v) for k, v in data.items()}
    for rule in data["rules"]:
        if "hours" in rule:
            rule["hours"] = str(rule["hours"])
    data.update(
        {
            "policy_id": "hostile-policy",
            "jurisdiction": "220106",
            "effective_from": "2026-01-01",
            "version": None,
            **changes,
        }
    )
    return {k: v for k, v in data.items() if v is not None}


async def _ready_at_head(bank: Bank) -> None:
    """The read models reached the head of the log and say they are ready."""
    await settle(bank)
    r = await bank.client.get("/readyz")
    body = await r.json()
    assert r.status == 200 and body["status"] == "ready" and body["lag"] == 0, body


async def _problem(response: Any, status: int) -> dict[str, Any]:
    text = await response.text()
    assert response.status == status, text
    assert response.content_type == "application/problem+json", text
    body: dict[str, Any] = await response.json()
    return body


async def test_hr_cannot_register_a_learner_under_a_tombstone(bank: Bank) -> None:
    await seed(bank)
    r = await bank.client.post("/v1/learners/T-0001/erasure", headers=bank.auth("admin"), json={"reason": "PIPL"})
    assert r.status == 201, await r.text()
    await settle(bank)
    r = await bank.client.get("/v1/eligibility?target=teacher_cycle&jurisdiction=220106", headers=bank.auth("hr"))
    ids = [row["learner_id"] for row in (await r.json())["learners"]]
    tombstone = next(i for i in ids if i.startswith("erased:"))

    r = await bank.client.post(
        "/v1/learners",
        headers=bank.auth("hr"),
        json={"learner_id": tombstone, "name": "冒名", "jurisdiction": "220106"},
    )
    body = await _problem(r, 422)
    assert "learner_id" in body["errors"]
    await _ready_at_head(bank)


@pytest.mark.parametrize("learner_id", ["T-0001\n", "erased:x", "T-0001\x00"])
async def test_a_learner_id_outside_the_grammar_is_refused(bank: Bank, learner_id: str) -> None:
    await seed(bank)
    r = await bank.client.post(
        "/v1/learners",
        headers=bank.auth("hr"),
        json={"learner_id": learner_id, "name": "王芳", "jurisdiction": "220106"},
    )
    assert "learner_id" in (await _problem(r, 422))["errors"]
    await _ready_at_head(bank)


async def test_a_trailing_newline_does_not_count_hours_twice(bank: Bank) -> None:
    await seed(bank)
    r = await bank.client.post("/v1/completions", headers=bank.auth("institution"), json=completion("r-1"))
    assert r.status == 201, await r.text()
    r = await bank.client.post("/v1/completions", headers=bank.auth("institution"), json=completion("r-1\n"))
    assert "record_id" in (await _problem(r, 422))["errors"]
    r = await bank.client.post(
        "/v1/completions",
        headers=bank.auth("institution"),
        json={"completions": [completion("r-1\n"), completion("r-2", hours="1")]},
    )
    results = (await r.json())["results"]
    assert [x["status"] for x in results] == ["rejected", "recorded"], results
    position = await settle(bank)
    r = await bank.client.get(f"/v1/learners/T-0001/balance?min_position={position}", headers=bank.auth("admin"))
    assert (await r.json())["total"]["hours"] == "3.5"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": "Trust \u0000 me"}, "title"),
        ({"title": "a lone \ud800 surrogate"}, "title"),
        ({"policy_id": "hostile\u0000policy"}, "policy_id"),
        ({"policy_id": "hostile-policy\n"}, "policy_id"),
        ({"effective_from": "9999-06-01"}, "effective_from"),
    ],
)
async def test_a_policy_outside_the_grammar_is_refused(bank: Bank, changes: dict[str, Any], field: str) -> None:
    await seed(bank)
    r = await bank.client.post("/v1/policies", headers=bank.auth("admin"), json=_policy(**changes))
    assert field in (await _problem(r, 422))["errors"]
    await _ready_at_head(bank)


@pytest.mark.parametrize(
    ("rule_changes", "field"),
    [
        ({"kind": ["min_hours"]}, "rules[0].kind"),
        ({"kind": {"a": 1}}, "rules[0].kind"),
        ({"categories": [["online"]]}, "rules[0].categories[0]"),
        ({"levels": [{"county": 1}]}, "rules[0].levels[0]"),
        ({"applies_to": {"roles": [["teacher"]]}}, "rules[0].applies_to.roles[0]"),
        ({"applies_to": {"roles": ["teacher"], "schools": ["S1"]}}, "rules[0].applies_to.schools"),
        ({"window": {"kind": "cycle", "anchor_year": 2000, "years": 7}}, None),
    ],
)
async def test_a_malformed_rule_is_refused_with_its_path(
    bank: Bank, rule_changes: dict[str, Any], field: str | None
) -> None:
    await seed(bank)
    policy = _policy()
    policy["rules"][0].update(rule_changes)
    if field is None:
        # A cycle window that would run past the calendar when judged near year 9999.
        policy["effective_from"] = "9999-06-01"
        r = await bank.client.post("/v1/policies/hostile-policy/impact", headers=bank.auth("admin"), json=policy)
        assert "effective_from" in (await _problem(r, 422))["errors"]
        r = await bank.client.post("/v1/policies", headers=bank.auth("admin"), json=policy)
        assert "effective_from" in (await _problem(r, 422))["errors"]
    else:
        r = await bank.client.post("/v1/policies", headers=bank.auth("admin"), json=policy)
        assert field in (await _problem(r, 422))["errors"]
        r = await bank.client.post("/v1/policies/hostile-policy/impact", headers=bank.auth("admin"), json=policy)
        assert field in (await _problem(r, 422))["errors"]
    await _ready_at_head(bank)


BAD = ["a%00b", "T-0001%0A", "%ED%A0%80", "a%09b"]

GETS = [
    "/v1/learners/{}",
    "/v1/learners/{}/balance",
    "/v1/learners/{}/history",
    "/v1/learners/{}/eligibility?target=teacher_annual",
    "/v1/learners/{}/plan?target=teacher_annual",
    "/v1/learners/{}/transfers",
    "/v1/learners/{}/degree-credits?programme=jlu:mpa",
    "/v1/providers/{}",
    "/v1/policies/{}",
    "/v1/audit/institutions/{}?month=2026-01",
    "/v1/degree-mappings/{}",
    "/v1/certificates/{}",
    "/v1/certificates/{}/verification",
    "/v1/status-lists/{}",
]
POSTS = [
    ("/v1/learners/{}/roles", {"role": "head_teacher", "since": "2025-09-01"}),
    ("/v1/learners/{}/erasure", {"reason": "PIPL"}),
    ("/v1/providers/{}/suspension", {"reason": "audit"}),
    ("/v1/completions/{}/r-1/revocation", {"reason": "wrong learner"}),
    ("/v1/completions/JLU-TTC/{}/revocation", {"reason": "wrong learner"}),
    ("/v1/policies/{}/impact", _policy()),
    ("/v1/certificates/{}/revocation", {"reason": "error"}),
    ("/v1/transfers/{}/reversal", {"learner_id": "T-0001", "reason": "error"}),
]


async def test_a_path_parameter_outside_the_grammar_names_nothing(bank: Bank) -> None:
    await seed(bank)
    tried = 0
    for bad in BAD:
        for path in GETS:
            r = await bank.client.get(path.format(bad), headers=bank.auth("admin"))
            body = await _problem(r, 404)
            assert body["code"] == "not_found", (path, body)
            tried += 1
        for path, payload in POSTS:
            r = await bank.client.post(path.format(bad), headers=bank.auth("admin"), json=payload)
            await _problem(r, 404)
            tried += 1
        r = await bank.client.delete(f"/v1/providers/{bad}/suspension", headers=bank.auth("admin"))
        await _problem(r, 404)
        tried += 1
    assert tried == len(BAD) * (len(GETS) + len(POSTS) + 1)
    await _ready_at_head(bank)


@pytest.mark.parametrize(
    "query",
    [
        "school=a%00b",
        "school=%ED%A0%80x%00",
        "after=a%00b",
        "target=teacher_annual%0A&x=",
        "jurisdiction=220106%0A",
    ],
)
async def test_a_query_parameter_outside_the_grammar_is_refused(bank: Bank, query: str) -> None:
    await seed(bank)
    base = {"target": "teacher_annual", "jurisdiction": "220106"}
    name = query.split("=", 1)[0]
    rest = "&".join(f"{k}={v}" for k, v in base.items() if k != name)
    r = await bank.client.get(f"/v1/eligibility?{rest}&{query}".replace("&x=", ""), headers=bank.auth("hr"))
    assert name in (await _problem(r, 422))["errors"]
    r = await bank.client.get("/v1/learners/T-0001/degree-credits?programme=jlu%00:mpa", headers=bank.auth("admin"))
    assert "programme" in (await _problem(r, 422))["errors"]


async def test_a_refusal_echoing_a_lone_surrogate_answers_it_as_a_replacement_character(bank: Bank) -> None:
    await seed(bank)
    r = await bank.client.post(
        "/v1/completions",
        headers=bank.auth("institution"),
        json={"completions": [completion("\ud800"), completion("r-1")]},
    )
    assert r.status == 207, await r.text()
    results = (await r.json())["results"]
    assert [x["record_id"] for x in results] == ["\ufffd", "r-1"]
    assert [x["status"] for x in results] == ["rejected", "recorded"]
    r = await bank.client.post(
        "/v1/learners",
        headers=bank.auth("hr"),
        json={"learner_id": "T-0009", "name": "王芳", "jurisdiction": "220106", "nick\udc00": "x"},
    )
    assert (await _problem(r, 422))["errors"] == {"nick\ufffd": ["Unknown field."]}
    await _ready_at_head(bank)
