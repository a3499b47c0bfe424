"""Hostile and hurried input, one worked example per refusal: HEAD and OPTIONS are
authenticated like the route they reach, JSON bodies are bounded, dates, hours and whole
numbers are read only as the contract writes them, an unknown target is named as such,
a draft's impact is bounded, and a CSV export that fails is never sent with broken framing.

The corpus over every route, method and role is ``tests/e2e/test_hostile_input.py``."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import asyncpg
import pytest

from api.service import eligibility, http
from tests.e2e.conftest import Bank, completion, seed, settle

PROBLEM = "application/problem+json"


async def _problem(r: Any, status: int, code: str | None = None) -> dict[str, Any]:
    text = await r.text()
    assert r.status == status, text
    assert r.headers["Content-Type"].startswith(PROBLEM), r.headers
    body: dict[str, Any] = json.loads(text)
    assert {"type", "title", "status", "detail"} <= set(body)
    if code is not None:
        assert body["code"] == code, body
    return body


# -- HEAD and OPTIONS -------------------------------------------------------------------


async def test_head_is_authenticated_like_the_get_it_answers_for(bank: Bank) -> None:
    await seed(bank)
    # Before: 200 with the event page's length, the audit verification, an existence oracle.
    for path in (
        "/v1/events",
        "/v1/audit/verification",
        "/v1/learners/T-0001",
        "/v1/learners/T-0001/balance",
        "/v1/audit/institutions/JLU-TTC?month=2025-06",
        "/v1/audit/institutions/NOPE?month=2025-06",
    ):
        r = await bank.client.head(path)
        assert r.status == 401, (path, r.status)
        assert r.headers["Content-Type"].startswith(PROBLEM)
        assert r.headers["WWW-Authenticate"] == "Bearer"
    # A role the GET does not allow is refused on HEAD too; one it allows gets the GET's headers.
    r = await bank.client.head("/v1/events", headers=bank.auth("learner"))
    assert r.status == 403
    r = await bank.client.head("/v1/events?limit=1", headers=bank.auth("auditor"))
    assert r.status == 200 and r.headers["Content-Type"].startswith("application/json")
    assert await r.read() == b""
    # Public routes stay public.
    assert (await bank.client.head("/healthz")).status == 200


async def test_options_and_unknown_methods_answer_405_and_no_data(bank: Bank) -> None:
    await seed(bank)
    for method in ("OPTIONS", "PUT", "PATCH", "TRACE"):
        # (PATCH on /v1/learners/{id} is a correction, so its balance stands in for it.)
        for path in ("/v1/events", "/v1/learners/T-0001/balance", "/healthz"):
            r = await bank.client.request(method, path)
            body = await _problem(r, 405)
            assert "Allow" in r.headers
            assert "events" not in body and "learner_id" not in body


# -- JSON bodies ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, detail",
    [
        ("[" * 1000 + "]" * 1000, "nest"),
        ('{"jws": ' + "[" * 40 + "]" * 40 + "}", "nest"),
        ('{"jws": ' + "1" * 5000 + "}", "characters"),
        ('{"jws": 1.' + "5" * 5000 + "}", "characters"),
        ('{"jws": NaN}', "NaN"),
        ('{"jws": -Infinity}', "Infinity"),
        ('{"jws": "a.b.c", "jws": "d.e.f"}', "twice"),
    ],
)
async def test_public_verification_refuses_bodies_beyond_the_bounds_with_400(
    bank: Bank, body: str, detail: str
) -> None:
    # Before: 500 for the nesting and the long numbers, "last wins" for the duplicate key.
    r = await bank.client.post("/v1/certificates/verification", data=body, headers={"Content-Type": "application/json"})
    problem = await _problem(r, 400, "malformed_json")
    assert detail in problem["title"] + problem["detail"]


async def test_a_duplicate_key_is_refused_not_decided_by_the_last_one(bank: Bank) -> None:
    await seed(bank)
    body = '{"learner_id": "T-0042", "name": "王芳", "jurisdiction": "220106", "jurisdiction": "330300"}'
    r = await bank.client.post(
        "/v1/learners", data=body, headers={**bank.auth("hr"), "Content-Type": "application/json"}
    )
    problem = await _problem(r, 400, "malformed_json")
    assert "'jurisdiction' appears twice" in problem["detail"]
    nested = json.dumps(completion("D-1"))[:-1] + ', "programme": {"code": "X"}}'
    r = await bank.client.post(
        "/v1/completions", data=nested, headers={**bank.auth("institution"), "Content-Type": "application/json"}
    )
    await _problem(r, 400, "malformed_json")


async def test_a_presented_token_whose_header_nests_deep_or_holds_a_huge_number_is_invalid_not_a_500(
    bank: Bank,
) -> None:
    def segment(text: str) -> str:
        return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()

    for header in ("[" * 5000 + "]" * 5000, '{"alg": ' + "9" * 5000 + "}"):
        jws = f"{segment(header)}.{segment('{}')}.{segment('x')}"
        r = await bank.client.post("/v1/certificates/verification", json={"jws": jws})
        assert r.status == 200, await r.text()
        assert (await r.json())["valid"] is False


# -- dates, hours and whole numbers as the contract writes them -------------------------


@pytest.mark.parametrize(
    "day", ["20261101", "2026-W01-1", "2026-335", "2026-11-01T00:00", " 2026-11-01", "２０２６-１１-０１", "2026-11-1"]
)
async def test_dates_are_only_yyyy_mm_dd(bank: Bank, day: str) -> None:
    await seed(bank)
    r = await bank.client.get("/v1/learners/T-0001/balance", params={"as_of": day}, headers=bank.auth("admin"))
    problem = await _problem(r, 422, "validation_failed")
    assert problem["errors"] == {"as_of": ["must be a date written YYYY-MM-DD"]}
    r = await bank.client.post(
        "/v1/completions", headers=bank.auth("institution"), json=completion("DAY-1", completed_on=day)
    )
    assert "completed_on" in (await _problem(r, 422))["errors"]


@pytest.mark.parametrize(
    "hours", ["1_000", "１０", "٣", "1e3", "1E3", "1" + "0" * 24, " 2.5", "+2", "2.500", ".5", "0x10", "Infinity"]
)
async def test_hours_are_only_ascii_decimals_with_at_most_two_places(bank: Bank, hours: str) -> None:
    await seed(bank)
    r = await bank.client.post("/v1/completions", headers=bank.auth("institution"), json=completion("H-1", hours=hours))
    problem = await _problem(r, 422, "validation_failed")
    assert list(problem["errors"]) == ["hours"]


async def test_hours_as_a_json_number_with_an_exponent_or_beyond_the_bounds_are_refused(bank: Bank) -> None:
    await seed(bank)
    for literal in ("1e3", "2.500", "1" + "0" * 30):
        body = json.dumps(completion("H-2", hours="HOURS")).replace('"HOURS"', literal)
        r = await bank.client.post(
            "/v1/completions", data=body, headers={**bank.auth("institution"), "Content-Type": "application/json"}
        )
        assert list((await _problem(r, 422))["errors"]) == ["hours"], literal
    policy = {
        "policy_id": "big-hours",
        "jurisdiction": "220106",
        "effective_from": "2026-01-01",
        "title": "t",
        "rules": [
            {
                "id": "r",
                "kind": "min_hours",
                "targets": ["teacher_annual"],
                "hours": "1" + "0" * 30,
                "window": {"kind": "calendar_year"},
                "source": {"document": "d", "article": "1"},
            }
        ],
    }
    r = await bank.client.post("/v1/policies", headers=bank.auth("admin"), json=policy)
    assert "rules[0].hours" in (await _problem(r, 422))["errors"]


@pytest.mark.parametrize("value", ["+5", " 5", "5 ", "1_0", "５", "٥", "5.0", "1e1", "-0", "0x5", "", "9" * 30])
async def test_whole_number_query_parameters_are_only_ascii_digits(bank: Bank, value: str) -> None:
    await seed(bank)
    for path, name in (
        ("/v1/events", "limit"),
        ("/v1/events", "after"),
        ("/v1/learners/T-0001", "min_position"),
        ("/v1/learners/T-0001/balance", "at_position"),
        ("/v1/audit/checkpoints", "limit"),
    ):
        r = await bank.client.get(path, params={name: value}, headers=bank.auth("admin"))
        problem = await _problem(r, 422, "validation_failed")
        assert list(problem["errors"]) == [name], (path, name, value)


# -- targets ----------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["principal", "teacher_anual"])
async def test_an_unknown_target_is_refused_with_the_known_ones(bank: Bank, target: str) -> None:
    await seed(bank)
    # Before: 200 with eligible null, and a cohort in which nobody is short.
    r = await bank.client.get(f"/v1/learners/T-0001/eligibility?target={target}", headers=bank.auth("hr"))
    problem = await _problem(r, 422, "unknown_target")
    assert "principal_appointment" in problem["targets"] and "teacher_cycle" in problem["targets"]
    assert target not in problem["targets"]
    assert "principal_appointment" in problem["errors"]["target"][0]
    r = await bank.client.get(f"/v1/learners/T-0001/plan?target={target}", headers=bank.auth("learner"))
    await _problem(r, 422, "unknown_target")
    for accept in ("application/json", "text/csv"):
        r = await bank.client.get(
            f"/v1/eligibility?target={target}&jurisdiction=220106", headers={**bank.auth("hr"), "Accept": accept}
        )
        await _problem(r, 422, "unknown_target")
    # A target is known where a policy of the chain (or, for a cohort, below it) defines it.
    r = await bank.client.get("/v1/eligibility?target=teacher_cycle&jurisdiction=220106", headers=bank.auth("hr"))
    assert r.status == 200, await r.text()


async def test_targets_lists_what_is_in_force_with_the_rules_behind_each(bank: Bank) -> None:
    # The shipped policies are published as the bank starts; a read without min_position
    # answers what the read models hold, so wait until they hold everything written.
    await settle(bank)
    r = await bank.client.get("/v1/targets?jurisdiction=220106")
    await _problem(r, 401)
    r = await bank.client.get("/v1/targets?jurisdiction=220106", headers=bank.auth("learner"))
    assert r.status == 200, await r.text()
    answer = await r.json()
    by_target = {t["target"]: t["rules"] for t in answer["targets"]}
    assert [
        (r["policy_id"], r["version"], r["jurisdiction"], r["rule"], r["kind"])
        for r in by_target["principal_appointment"]
    ] == [
        ("cn-principal-training", 1, "CN", "qualification-300h", "min_hours"),
        ("cn-principal-training", 1, "CN", "appointment-ethics", "category_present"),
    ]
    assert {"teacher_cycle", "principal_cycle", "head_teacher_post"} <= set(by_target)
    assert answer["jurisdiction"] == "220106" and isinstance(answer["position"], int)
    # Before any policy takes effect, nothing is in force.
    r = await bank.client.get("/v1/targets?jurisdiction=220106&on=1990-01-01", headers=bank.auth("hr"))
    assert (await r.json())["targets"] == []
    r = await bank.client.get("/v1/targets?jurisdiction=22010", headers=bank.auth("hr"))
    assert "jurisdiction" in (await _problem(r, 422))["errors"]
    document = await (await bank.client.get("/openapi.json")).json()
    assert "/v1/targets" in document["paths"]


# -- impact -----------------------------------------------------------------------------


async def test_an_impact_is_bounded_and_the_problem_says_the_bound(bank: Bank) -> None:
    await seed(bank)
    targets = [f"target_{i}" for i in range(30)]
    draft = {
        "policy_id": "wide",
        "jurisdiction": "220106",
        "effective_from": "2026-01-01",
        "title": "宽",
        "rules": [
            {
                "id": f"r{i}",
                "kind": "min_hours",
                "targets": targets,
                "hours": "10",
                "window": {"kind": "calendar_year"},
                "source": {"document": "d", "article": str(i)},
            }
            for i in range(30)
        ],
    }
    r = await bank.client.post("/v1/policies/wide/impact", headers=bank.auth("admin"), json=draft)
    problem = await _problem(r, 422, "impact_too_large")
    assert problem["limit"] == eligibility.MAX_IMPACT_RULES_X_TARGETS
    assert "30 rules × 30 targets = 900" in problem["detail"]
    small = {**draft, "rules": draft["rules"][:2]}
    small["rules"] = [{**rule, "targets": targets[:3]} for rule in small["rules"]]
    r = await bank.client.post("/v1/policies/wide/impact", headers=bank.auth("admin"), json=small)
    assert r.status == 200, await r.text()


# -- a CSV export that fails -----------------------------------------------------------


async def _break_learner(bank: Bank, learner_id: str) -> None:
    """A read-model row the verdict cannot judge (hours NaN): a server fault, not input."""
    r = await bank.client.post(
        "/v1/completions",
        headers=bank.auth("institution"),
        json=completion("NAN-1", learner_id, completed_on="2026-03-01"),
    )
    assert r.status == 201, await r.text()
    await settle(bank)
    conn = await asyncpg.connect(**bank.database.asyncpg_kwargs())
    try:
        await conn.execute("UPDATE rm_completions SET hours = 'NaN' WHERE learner_id = $1", learner_id)
    finally:
        await conn.close()


def _request(path: str, token: str) -> bytes:
    return (f"GET {path} HTTP/1.1\r\nHost: bank\r\nAccept: text/csv\r\nAuthorization: Bearer {token}\r\n\r\n").encode()


async def _read_answer(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """(head, body) of one answer read off a keep-alive connection."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
    )
    return head, await asyncio.wait_for(reader.readexactly(length), 5)


COHORT = "/v1/eligibility?target=teacher_cycle&jurisdiction=220106"


async def test_a_csv_export_failing_before_its_first_line_is_a_problem_on_a_connection_that_stays_usable(
    bank: Bank,
) -> None:
    await seed(bank)
    await _break_learner(bank, "T-0001")
    assert bank.client.server.port is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", bank.client.server.port)
    try:
        writer.write(_request(COHORT, bank.tokens["hr"]))
        head, body = await _read_answer(reader)
        # Before: a 200 chunked CSV with a second status line inside it.
        assert head.startswith(b"HTTP/1.1 500 "), head
        assert b"application/problem+json" in head and json.loads(body)["code"] == "internal_error"
        writer.write(_request("/v1/learners/P-0001", bank.tokens["hr"]).replace(b"Accept: text/csv", b"Accept: */*"))
        head, body = await _read_answer(reader)
        assert head.startswith(b"HTTP/1.1 200 "), head
        assert json.loads(body)["learner_id"] == "P-0001"
    finally:
        writer.close()


async def test_a_csv_export_failing_midway_ends_the_connection_without_the_closing_chunk(
    bank: Bank, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed(bank)
    await _break_learner(bank, "T-0001")
    monkeypatch.setattr(eligibility, "FIRST_CHUNK", 1)  # P-0001 alone first, then T-0001
    monkeypatch.setattr(http, "STREAM_HOLD_BYTES", 1)  # the first line is sent before T-0001 is judged
    assert bank.client.server.port is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", bank.client.server.port)
    try:
        writer.write(_request(COHORT, bank.tokens["hr"]))
        raw = await asyncio.wait_for(reader.read(), 5)  # to EOF: the server cuts the connection
    finally:
        writer.close()
    assert raw.startswith(b"HTTP/1.1 200 ") and b"chunked" in raw.split(b"\r\n\r\n")[0].lower()
    assert raw.count(b"HTTP/1.1 ") == 1, raw  # before: a 500 written inside the chunked body
    assert "P-0001" in raw.decode("utf-8", "replace")
    assert not raw.endswith(b"0\r\n\r\n"), raw  # no closing chunk: the client sees the file is incomplete
    # The service carries on.
    r = await bank.client.get("/healthz")
    assert r.status == 200
