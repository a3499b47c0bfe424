"""Worked examples of roster import: a district's teachers registered in one request."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import Bank, settle


def teacher(number: int, **overrides: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "learner_id": f"330300-{number:06d}",
        "name": f"教师{number}",
        "jurisdiction": "220106",
        "school": f"绿园区第{number % 40 + 1}小学",
        "hired_on": "2015-09-01",
        "roles": [{"role": "teacher", "since": "2015-09-01"}],
    }
    item.update(overrides)
    return item


async def post_roster(bank: Bank, items: list[Any], role: str = "hr") -> dict[str, Any]:
    r = await bank.client.post("/v1/learners", headers=bank.auth(role), json={"learners": items})
    assert r.status == 207, await r.text()
    body: dict[str, Any] = await r.json()
    return body


async def test_a_roster_of_ten_thousand_is_recorded_once_and_again_is_all_duplicates(bank: Bank) -> None:
    roster = [teacher(n) for n in range(10_000)]
    first = await post_roster(bank, roster)
    assert (first["recorded"], first["duplicates"], first["rejected"]) == (10_000, 0, 0)
    assert [r["learner_id"] for r in first["results"]] == [t["learner_id"] for t in roster]

    again = await post_roster(bank, roster)
    assert (again["recorded"], again["duplicates"], again["rejected"]) == (0, 10_000, 0)
    # A duplicate answers the position its registration was recorded at.
    assert [r["position"] for r in again["results"]] == [r["position"] for r in first["results"]]

    await settle(bank)
    r = await bank.client.get("/v1/learners/330300-009999", headers=bank.auth("hr"))
    assert r.status == 200, await r.text()
    assert (await r.json())["name"] == "教师9999"


async def test_three_bad_rows_are_rejected_alone_with_their_paths(bank: Bank) -> None:
    first = await post_roster(bank, [teacher(1)])
    assert first["recorded"] == 1
    roster = [
        teacher(0),
        teacher(1, school="另一所学校"),  # registered already with another school
        teacher(2, hired_on="2015-02-30"),
        teacher(3),
        teacher(3),  # repeated in the roster
        teacher(4),
    ]
    body = await post_roster(bank, roster)
    statuses = [r["status"] for r in body["results"]]
    assert statuses == ["recorded", "rejected", "rejected", "recorded", "rejected", "recorded"]
    assert body["results"][1]["code"] == "learner_already_registered"
    assert "learners[1].learner_id" in body["results"][1]["errors"]
    assert body["results"][2]["code"] == "validation_failed"
    assert list(body["results"][2]["errors"]) == ["learners[2].hired_on"]
    assert body["results"][4]["code"] == "repeated_in_batch"
    assert (body["recorded"], body["duplicates"], body["rejected"]) == (3, 0, 3)

    # The good rows were recorded whole; the bad ones left nothing behind.
    await settle(bank)
    for number, status in (("330300-000000", 200), ("330300-000002", 404), ("330300-000004", 200)):
        r = await bank.client.get(f"/v1/learners/{number}", headers=bank.auth("admin"))
        assert r.status == status, number
    r = await bank.client.get("/v1/learners/330300-000001", headers=bank.auth("admin"))
    assert (await r.json())["school"] == teacher(1)["school"]


async def test_hr_registers_only_within_its_jurisdiction(bank: Bank) -> None:
    body = await post_roster(bank, [teacher(1), teacher(2, jurisdiction="330300")])
    assert [r["status"] for r in body["results"]] == ["recorded", "rejected"]
    assert body["results"][1]["code"] == "forbidden"
    assert "learners[1].learner_id" in body["results"][1]["errors"]
    admin = await post_roster(bank, [teacher(2, jurisdiction="330300")], role="admin")
    assert admin["recorded"] == 1


async def test_a_roster_is_refused_whole_when_its_envelope_is_wrong(bank: Bank) -> None:
    for body in ({"learners": []}, {"learners": "x"}, {"learners": [teacher(1)], "extra": 1}):
        r = await bank.client.post("/v1/learners", headers=bank.auth("hr"), json=body)
        assert r.status == 422, body
    r = await bank.client.post("/v1/learners", headers=bank.auth("institution"), json={"learners": [teacher(1)]})
    assert r.status == 403
    # An item that is not an object is a broken envelope, as in a completion batch.
    r = await bank.client.post("/v1/learners", headers=bank.auth("hr"), json={"learners": [teacher(1), 7]})
    assert r.status == 422
    assert "learners.1" in (await r.json())["errors"] or "learners[1]" in (await r.json())["detail"]
    r = await bank.client.get("/v1/learners/330300-000001", headers=bank.auth("admin"))
    assert r.status == 404
