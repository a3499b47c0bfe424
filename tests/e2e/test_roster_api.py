"""Worked examples of roster import: a district's teachers registered in one request."""

from __future__ import annotations

from typing import Any

import asyncpg

from ledger.vault import VAULT_TABLE
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


async def test_a_dry_run_judges_every_item_on_the_ledger_and_records_nothing(bank: Bank) -> None:
    r = await bank.client.post(
        "/v1/schools",
        headers=bank.auth("hr"),
        json={"school_id": "S-1", "name": "绿园区第一小学", "jurisdiction": "220106", "kind": "urban", "teachers": 40},
    )
    assert r.status == 201, await r.text()
    first = await post_roster(bank, [teacher(1, school="S-1")])
    assert first["recorded"] == 1
    head = await settle(bank)
    enrolled = await _vault_entries(bank)
    roster = [
        teacher(0, school="S-1"),  # would be recorded
        teacher(1, school="S-1"),  # registered already, the same details: the original position
        teacher(1, school="S-1", name="别人"),  # repeated in the roster
        teacher(2, school="S-9"),  # a school not on the district's roll
        teacher(3, school="S-1", jurisdiction="330300"),  # outside this HR office's scope
        teacher(4, school="S-1", hired_on="2015-02-30"),  # no such day
    ]
    r = await bank.client.post("/v1/learners?dry_run=true", headers=bank.auth("hr"), json={"learners": roster})
    judged = await r.json()
    assert r.status == 207 and judged["dry_run"] is True, judged
    assert [x["status"] for x in judged["results"]] == ["recorded", "duplicate"] + ["rejected"] * 4
    assert [x.get("code") for x in judged["results"][2:]] == [
        "repeated_in_batch",
        "unknown_school",
        "forbidden",
        "validation_failed",
    ]
    assert judged["results"][0]["position"] is None
    assert judged["results"][1]["position"] == first["results"][0]["position"]
    assert "learners[3].school" in judged["results"][3]["errors"]
    assert (judged["recorded"], judged["duplicates"], judged["rejected"]) == (1, 1, 4)
    assert judged["position"] == first["position"]  # the last position named: the duplicate's

    # Nothing was written: the log's head is where it was, the new teacher is unknown everywhere,
    # not even given a pseudonym in the vault.
    assert await settle(bank) == head
    assert await _vault_entries(bank) == enrolled
    for path in ("/v1/learners/330300-000000", "/v1/learners/330300-000000/balance"):
        r = await bank.client.get(path, headers=bank.auth("admin"))
        assert r.status == 404, path
    single = await bank.client.post("/v1/learners?dry_run=true", headers=bank.auth("hr"), json=roster[0])
    assert single.status == 200
    assert await single.json() == {"status": "recorded", "position": None, "dry_run": True}
    # A single item the post would refuse is refused alike, with the same problem.
    refused = await bank.client.post("/v1/learners?dry_run=true", headers=bank.auth("hr"), json=roster[3])
    problem = await refused.json()
    assert (refused.status, problem["code"], list(problem["errors"])) == (422, "unknown_school", ["school"])
    assert await settle(bank) == head
    assert await _vault_entries(bank) == enrolled

    # The real post answers what the dry run said.
    real = await bank.client.post("/v1/learners", headers=bank.auth("hr"), json={"learners": roster})
    body = await real.json()
    assert [x["status"] for x in body["results"]] == [x["status"] for x in judged["results"]]
    assert "dry_run" not in body and body["recorded"] == 1
    for query in ("dry_run=yes", "dryrun=true"):  # a misspelt dry run never registers for real
        r = await bank.client.post(f"/v1/learners?{query}", headers=bank.auth("hr"), json=teacher(7))
        assert r.status == 422, query


async def _vault_entries(bank: Bank) -> int:
    conn = await asyncpg.connect(**bank.database.asyncpg_kwargs())
    try:
        return int(await conn.fetchval(f"SELECT count(*) FROM {VAULT_TABLE}"))
    finally:
        await conn.close()
