"""Worked examples of the core contract, through HTTP, on a real PostgreSQL."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

from openpyxl import load_workbook

from api.service import spreadsheet
from tests.e2e.conftest import Bank, completion, seed, settle


async def post_batch(bank: Bank, items: list[dict[str, Any]], role: str = "institution") -> dict[str, Any]:
    r = await bank.client.post("/v1/completions", headers=bank.auth(role), json={"completions": items})
    assert r.status == 207, await r.text()
    body: dict[str, Any] = await r.json()
    return body


async def test_a_batch_is_recorded_once_and_shows_in_the_balance(bank: Bank) -> None:
    await seed(bank)
    items = [
        completion("R-1", hours="2.5"),
        completion(
            "R-2",
            hours="12",
            programme={"code": "NET-1", "title": "网络研修", "category": "online", "level": "national"},
        ),
        completion("R-3", hours="4", assessment="fail"),
        completion("R-4", learner_id="NOBODY"),
    ]
    first = await post_batch(bank, items)
    assert [r["status"] for r in first["results"]] == ["recorded", "recorded", "recorded", "rejected"]
    assert first["results"][3]["code"] == "learner_not_found"

    again = await post_batch(bank, items)
    assert [r["status"] for r in again["results"]] == ["duplicate", "duplicate", "duplicate", "rejected"]
    assert [r["position"] for r in again["results"][:3]] == [r["position"] for r in first["results"][:3]]

    r = await bank.client.get(f"/v1/learners/T-0001/balance?min_position={first['position']}", headers=bank.auth("hr"))
    assert r.status == 200, await r.text()
    balance = await r.json()
    # 2.5 h ethics + 12 h online; the failed 4 h earn nothing.
    assert balance["total"]["hours"] == "14.5"
    assert balance["by_category"]["ethics"]["hours"] == "2.5"
    assert balance["by_category"]["online"]["hours"] == "12"
    assert balance["position"] >= first["position"]


async def test_every_balance_equals_a_recomputation_from_the_event_stream(bank: Bank) -> None:
    await seed(bank)
    batch = await post_batch(bank, [completion(f"R-{i}", hours=f"{i}.5") for i in range(1, 8)])
    r = await bank.client.post(
        "/v1/completions/JLU-TTC/R-3/revocation",
        headers=bank.auth("institution"),
        json={"reason": "posted for the wrong learner"},
    )
    assert r.status == 201, await r.text()
    revoked_at = (await r.json())["position"]
    assert revoked_at > batch["position"]

    r = await bank.client.get("/v1/events?after=0&limit=1000", headers=bank.auth("auditor"))
    events = (await r.json())["events"]
    earned: dict[str, Decimal] = {}
    by_completion: dict[str, tuple[str, Decimal]] = {}
    for event in events:
        data = event["data"]
        if event["type"] == "CompletionRecorded" and data["assessment"] != "fail":
            by_completion[event["originator_id"]] = (data["learner_id"], Decimal(data["hours"]))
        elif event["type"] == "CompletionRevoked":
            by_completion.pop(event["originator_id"], None)
    for learner_id, hours in by_completion.values():
        earned[learner_id] = earned.get(learner_id, Decimal(0)) + hours

    r = await bank.client.get(f"/v1/learners/T-0001/balance?min_position={revoked_at}", headers=bank.auth("auditor"))
    balance = await r.json()
    assert Decimal(balance["total"]["hours"]) == earned["T-0001"] == Decimal("28")


async def test_a_single_post_answers_201_then_200_and_a_changed_repost_is_a_conflict(bank: Bank) -> None:
    await seed(bank)
    r = await bank.client.post("/v1/completions", headers=bank.auth("institution"), json=completion("S-1"))
    assert r.status == 201, await r.text()
    first = await r.json()
    r = await bank.client.post("/v1/completions", headers=bank.auth("institution"), json=completion("S-1"))
    assert r.status == 200
    assert (await r.json())["position"] == first["position"]
    r = await bank.client.post("/v1/completions", headers=bank.auth("institution"), json=completion("S-1", hours="3"))
    assert r.status == 409
    assert r.content_type == "application/problem+json"
    assert (await r.json())["code"] == "completion_conflict"


async def test_history_lists_the_learners_events_in_order_with_hashes(bank: Bank) -> None:
    await seed(bank)
    batch = await post_batch(bank, [completion("H-1"), completion("H-2")])
    r = await bank.client.get(
        f"/v1/learners/T-0001/history?min_position={batch['position']}", headers=bank.auth("auditor")
    )
    assert r.status == 200, await r.text()
    events = (await r.json())["events"]
    assert [e["type"] for e in events] == ["LearnerRegistered", "CompletionRecorded", "CompletionRecorded"]
    assert [e["position"] for e in events] == sorted(e["position"] for e in events)
    assert all(len(e["hash"]) == 64 for e in events)


async def test_bad_input_gets_a_problem_naming_the_field(bank: Bank) -> None:
    await seed(bank)
    headers = {**bank.auth("institution"), "Content-Type": "application/json"}
    r = await bank.client.post("/v1/completions", headers=headers, data=b'{"record_id": ')
    assert r.status == 400
    assert (await r.json())["code"] == "malformed_json"

    r = await bank.client.post(
        "/v1/completions",
        headers=bank.auth("institution"),
        json=completion("B-1", hours=0.1 + 0.2, colour="red"),
    )
    assert r.status == 422
    problem = await r.json()
    assert set(problem["errors"]) == {"hours", "colour"}

    r = await bank.client.post("/v1/completions", headers=headers, data=b'{"completions": [{"record_id": "B-2"}]}')
    body = await r.json()
    assert r.status == 207
    assert body["results"][0]["status"] == "rejected"
    assert "learner_id" in body["results"][0]["errors"]

    # 2.25 written as a JSON number is exact, and accepted.
    r = await bank.client.post(
        "/v1/completions",
        headers=headers,
        data=(
            b'{"record_id": "B-3", "learner_id": "T-0001", "programme": {"code": "X", "title": "X",'
            b' "category": "ethics", "level": "county"}, "hours": 2.25, "assessment": "pass",'
            b' "completed_on": "2024-01-02"}'
        ),
    )
    assert r.status == 201, await r.text()

    r = await bank.client.post(
        "/v1/completions", headers=bank.auth("institution"), json=completion("B-4", completed_on="2027-01-01")
    )
    assert r.status == 422
    assert (await r.json())["code"] == "completion_in_future"


async def test_tokens_and_scopes(bank: Bank) -> None:
    await seed(bank)
    r = await bank.client.get("/v1/learners/T-0001/balance")
    assert r.status == 401
    r = await bank.client.get("/v1/learners/T-0001/balance", headers={"Authorization": "Bearer cbk_nope_nope"})
    assert r.status == 401
    r = await bank.client.get("/v1/learners/T-0001/balance", headers=bank.auth("foreign_hr"))
    assert r.status == 403
    r = await bank.client.get("/v1/learners/P-0001/balance", headers=bank.auth("learner"))
    assert r.status == 403
    r = await bank.client.get("/v1/learners/T-0001/balance", headers=bank.auth("learner"))
    assert r.status == 200
    r = await bank.client.post("/v1/completions", headers=bank.auth("hr"), json=completion("Z-1"))
    assert r.status == 403
    r = await bank.client.get("/v1/events", headers=bank.auth("hr"))
    assert r.status == 403
    # Only the posting institution (or an admin) may revoke.
    await post_batch(bank, [completion("Z-2")])
    r = await bank.client.post(
        "/v1/completions/JLU-TTC/Z-2/revocation",
        headers=bank.auth("other_institution"),
        json={"reason": "not ours"},
    )
    assert r.status == 403
    assert (await r.json())["code"] == "revocation_not_permitted"


async def test_a_suspended_institution_posts_nothing_until_reinstated(bank: Bank) -> None:
    await seed(bank)
    r = await bank.client.post(
        "/v1/providers/JLU-TTC/suspension", headers=bank.auth("admin"), json={"reason": "audit finding"}
    )
    assert r.status == 201, await r.text()
    body = await post_batch(bank, [completion("U-1")])
    assert body["results"][0]["code"] == "provider_suspended"
    r = await bank.client.delete("/v1/providers/JLU-TTC/suspension", headers=bank.auth("admin"))
    assert r.status == 200
    body = await post_batch(bank, [completion("U-1")])
    assert body["results"][0]["status"] == "recorded"


async def test_public_endpoints_and_the_contract(bank: Bank) -> None:
    assert (await bank.client.get("/healthz")).status == 200
    r = await bank.client.get("/readyz")
    assert r.status == 200
    spec = await (await bank.client.get("/openapi.json")).json()
    assert "/v1/completions" in spec["paths"]
    # Hours travel as strings; a number is accepted only if it is exactly a two-place decimal,
    # and the contract says both (the fuzzer holds the server to it).
    assert spec["components"]["schemas"]["Completion"]["properties"]["hours"]["type"] == ["string", "number"]
    r = await bank.client.get("/docs")
    assert r.status == 200 and "openapi.json" in await r.text()
    r = await bank.client.get("/metrics")
    assert r.status == 200 and "creditbank_requests_total" in await r.text()


async def test_a_rejected_batch_item_echoes_its_record_id_only_if_it_is_a_string(bank: Bank) -> None:
    """The 207 answer keeps to its documented shape (``record_id``: a string or null)."""
    await seed(bank)
    r = await bank.client.post(
        "/v1/completions",
        headers=bank.auth("institution"),
        json={"completions": [completion({"not": "a string"}), completion(["R-1"]), completion("R-ok", hours="0")]},
    )
    body = await r.json()
    assert r.status == 207, body
    assert [x["record_id"] for x in body["results"]] == [None, None, "R-ok"]
    assert [x["status"] for x in body["results"]] == ["rejected"] * 3
    assert "record_id" in body["results"][0]["errors"]


async def test_a_dry_run_judges_on_the_ledger_and_records_nothing(bank: Bank) -> None:
    await seed(bank)
    recorded = await post_batch(bank, [completion("D-1")])
    assert recorded["recorded"] == 1
    head = await settle(bank)
    items = [
        completion("D-1"),  # already recorded: the original position
        completion("D-2", hours="3"),  # would be recorded
        completion("D-3", learner_id="NOBODY"),  # refused by the ledger, as a post would be
        completion("D-1", hours="9"),  # the same record id with other content
    ]
    r = await bank.client.post(
        "/v1/completions?dry_run=true", headers=bank.auth("institution"), json={"completions": items}
    )
    body = await r.json()
    assert r.status == 207 and body["dry_run"] is True, body
    assert [x["status"] for x in body["results"]] == ["duplicate", "recorded", "rejected", "rejected"]
    assert body["results"][0]["position"] == recorded["results"][0]["position"]
    assert body["results"][1]["position"] is None
    assert [x.get("code") for x in body["results"][2:]] == ["learner_not_found", "repeated_in_batch"]
    # Nothing was written: the log's head is where it was, and the real post still records D-2.
    assert await settle(bank) == head
    single = await bank.client.post(
        "/v1/completions?dry_run=true", headers=bank.auth("institution"), json=completion("D-2", hours="3")
    )
    assert single.status == 200 and (await single.json())["status"] == "recorded"
    real = await post_batch(bank, items[1:2])
    assert real["recorded"] == 1
    r = await bank.client.post("/v1/completions?dry_run=yes", headers=bank.auth("institution"), json=completion("D-4"))
    assert r.status == 422


async def test_an_institution_lists_its_own_postings_newest_first_paged_and_by_date(bank: Bank) -> None:
    await seed(bank)
    days = ["2024-05-10", "2024-06-01", "2024-07-15", "2024-08-20", "2024-09-30"]
    batch = await post_batch(
        bank,
        [
            completion(f"L-{i}", completed_on=day, learner_id="P-0001" if i == 2 else "T-0001")
            for i, day in enumerate(days)
        ],
    )
    r = await bank.client.post(
        "/v1/completions/JLU-TTC/L-1/revocation", headers=bank.auth("institution"), json={"reason": "学员信息有误"}
    )
    revoked_at = (await r.json())["position"]
    url = "/v1/providers/JLU-TTC/completions"

    r = await bank.client.get(f"{url}?limit=2&min_position={revoked_at}", headers=bank.auth("institution"))
    assert r.status == 200, await r.text()
    first = await r.json()
    assert [c["record_id"] for c in first["completions"]] == ["L-4", "L-3"]
    assert set(first["completions"][0]) == {
        "record_id",
        "learner_id",
        "programme",
        "hours",
        "assessment",
        "completed_on",
        "started_on",
        "status",
        "revocation_reason",
        "position",
        "revoked_position",
        "event_id",
    }  # nothing of the learner but the number the institution posted
    seen = [c["record_id"] for c in first["completions"]]
    after = first["next_after"]
    while after is not None:
        r = await bank.client.get(f"{url}?limit=2&after={after}", headers=bank.auth("institution"))
        page = await r.json()
        seen += [c["record_id"] for c in page["completions"]]
        after = page["next_after"]
    assert seen == ["L-4", "L-3", "L-2", "L-1", "L-0"]

    r = await bank.client.get(f"{url}?from=2024-06-01&to=2024-07-15", headers=bank.auth("auditor"))
    ranged = (await r.json())["completions"]
    assert [(c["record_id"], c["status"]) for c in ranged] == [("L-2", "recorded"), ("L-1", "revoked")]
    assert ranged[1]["revocation_reason"] == "学员信息有误" and ranged[1]["revoked_position"] == revoked_at

    # As known before the revocation, L-1 was still recorded.
    r = await bank.client.get(
        f"{url}?from=2024-06-01&to=2024-06-01&at_position={batch['position']}", headers=bank.auth("admin")
    )
    assert [c["status"] for c in (await r.json())["completions"]] == ["recorded"]

    # Another institution may not read these; HR and teachers may not at all.
    for role, status in (("other_institution", 403), ("hr", 403), ("learner", 403)):
        r = await bank.client.get(url, headers=bank.auth(role))
        assert r.status == status, role
    r = await bank.client.get("/v1/providers/OTHER/completions", headers=bank.auth("other_institution"))
    assert r.status == 200 and (await r.json())["completions"] == []

    # Bad queries name the field.
    for query, field in (("from=2024-07-01&to=2024-06-01", "to"), ("limit=0", "limit"), ("colour=red", "colour")):
        r = await bank.client.get(f"{url}?{query}", headers=bank.auth("institution"))
        assert r.status == 422, query
        assert field in (await r.json())["errors"], query


async def test_an_institutions_postings_as_csv_and_xlsx(bank: Bank) -> None:
    await seed(bank)
    await post_batch(bank, [completion("X-1", hours="2.55"), completion("X-2", completed_on="2024-06-02")])
    await settle(bank)
    url = "/v1/providers/JLU-TTC/completions?lang=zh&from=2024-05-01&to=2024-05-31"
    r = await bank.client.get(url, headers={**bank.auth("institution"), "Accept": "text/csv"})
    assert r.status == 200 and "attachment" in r.headers["Content-Disposition"]
    lines = (await r.read()).decode("utf-8-sig").splitlines()
    assert lines[0].split(",")[:3] == ["记录编号", "教师编号", "课程代码"]
    assert len(lines) == 2 and lines[1].startswith("'X-1,'T-0001,") and ",2.55," in lines[1]

    r = await bank.client.get(url, headers={**bank.auth("institution"), "Accept": spreadsheet.XLSX_TYPE})
    assert r.status == 200
    sheet = load_workbook(io.BytesIO(await r.read())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "记录编号" and rows[1][:2] == ("X-1", "T-0001") and str(rows[1][6]) == "2.55"
    assert len(rows) == 2
    # Code cells in the reader's language: category, level, assessment, status.
    assert (rows[1][4], rows[1][5], rows[1][7], rows[1][9]) == ("师德/职业道德", "省级", "合格", "已记录")
    # Asked in English, English words; for a program (no language asked), the codes.
    for asked, words in (
        ("lang=en&", ("professional ethics", "provincial", "pass", "recorded")),
        ("", ("ethics", "provincial", "pass", "recorded")),
    ):
        r = await bank.client.get(
            url.replace("lang=zh&", asked), headers={**bank.auth("institution"), "Accept": "text/csv"}
        )
        header, row = list(csv.reader(io.StringIO((await r.read()).decode("utf-8-sig"))))
        cells = dict(zip(header, row, strict=True))
        assert (cells["category"], cells["level"], cells["assessment"], cells["status"]) == words, asked
