"""Worked examples over HTTP: a write that follows another write by the same client sees it,
with no sleep between, because every write decides on the event store, not on the read
models. Here no projection runs at all while the writes are made (the server applies no
read models and no worker is started), so anything that still judged by a read model
would answer 404 or count nothing.

And a read's ``min_position`` holds for the whole request, its scope and existence checks
included: the worker that applies the read models starts only after the read has begun."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse

from api.database import Database
from api.service.context import SERVICES
from ledger.application import CreditBank
from ledger.certificate_commands import Issued, IssueRequest, issue_certificate
from ledger.keys import KeyRing
from ledger.policy import shipped_policies
from ledger.standing import Standing
from tests.conftest import TODAY
from tests.e2e.conftest import ACCREDITATION, TOKENS, Bank, completion, running_bank, separate_worker

TEACHER = "T-0001"
PRINCIPAL = "P-0001"


@pytest.fixture
async def bank(database: Database, tmp_path: Path) -> AsyncIterator[Bank]:
    """A server that applies no read models, and no worker that does."""
    async with running_bank(database, tmp_path / "keys", TOKENS, inline_projections=False) as running:
        yield running


async def _ok(response: Awaitable[ClientResponse], status: int = 201) -> dict[str, Any]:
    r = await response
    body: dict[str, Any] = await r.json()
    assert r.status == status, body
    return body


async def _register(bank: Bank, learner_id: str, role: str = "teacher") -> dict[str, Any]:
    return await _ok(
        bank.client.post(
            "/v1/learners",
            headers=bank.auth("hr"),
            json={
                "learner_id": learner_id,
                "name": "王芳",
                "jurisdiction": "220106",
                "school": "绿园区第一实验小学",
                "hired_on": "2015-09-01",
                "roles": [{"role": role, "since": "2015-09-01"}],
            },
        )
    )


async def _provider(bank: Bank) -> None:
    await _ok(
        bank.client.post(
            "/v1/providers",
            headers=bank.auth("admin"),
            json={
                "provider_id": "JLU-TTC",
                "name": "吉林省教师培训学院",
                "jurisdiction": "220000",
                "accreditation": ACCREDITATION,
            },
        )
    )


def _pq(record_id: str, hours: str) -> dict[str, Any]:
    return completion(
        record_id,
        PRINCIPAL,
        hours=hours,
        completed_on="2025-06-30",
        programme={
            "code": "PQ-2025",
            "title": "拟任校长任职资格培训",
            "category": "principal_qualification",
            "level": "national",
        },
    )


def _issue(bank: Bank, role: str = "hr", query: str = "") -> Awaitable[ClientResponse]:
    return bank.client.post(
        f"/v1/certificates{query}",
        headers=bank.auth(role),
        json={"learner_id": PRINCIPAL, "kind": "principal_qualification"},
    )


async def test_register_then_post_then_issue_with_no_read_model(bank: Bank) -> None:
    await _provider(bank)
    await _register(bank, PRINCIPAL, "prospective_principal")
    # Registered a moment ago, nothing earned yet: refused for the hours, not as unknown.
    refused = await _ok(_issue(bank), 422)
    assert refused["code"] == "certificate_not_earned", refused
    await _ok(
        bank.client.post(
            "/v1/completions",
            headers=bank.auth("institution"),
            json={"completions": [_pq("PQ-1", "150"), _pq("PQ-2", "150")]},
        ),
        207,
    )
    issued = await _ok(_issue(bank))
    assert issued["credential"]["credentialSubject"]["hours"] == "300"


async def test_a_completion_revoked_a_moment_before_is_not_a_basis(bank: Bank) -> None:
    await _provider(bank)
    await _register(bank, PRINCIPAL, "prospective_principal")
    await _ok(
        bank.client.post(
            "/v1/completions",
            headers=bank.auth("institution"),
            json={"completions": [_pq("PQ-1", "150"), _pq("PQ-2", "150")]},
        ),
        207,
    )
    await _ok(
        bank.client.post(
            "/v1/completions/JLU-TTC/PQ-1/revocation",
            headers=bank.auth("institution"),
            json={"reason": "wrong learner"},
        )
    )
    refused = await _ok(_issue(bank), 422)
    assert refused["code"] == "certificate_not_earned", refused


async def test_post_then_transfer_then_role_change_follow_the_account(bank: Bank) -> None:
    await _provider(bank)
    await _register(bank, TEACHER)
    await _ok(
        bank.client.post(
            "/v1/completions",
            headers=bank.auth("institution"),
            json={"completions": [completion("A-1"), completion("A-2", hours="4")]},
        ),
        207,
    )
    moved = await _ok(
        bank.client.post(
            "/v1/transfers",
            headers=bank.auth("hr"),
            json={"transfer_id": "mv-1", "learner_id": TEACHER, "destination": "330300"},
        )
    )
    assert moved["hours"] == "6.5"
    # The account is open in Wenzhou now: the origin district's HR may no longer change it ...
    # (A trainer's role: appointments to head teacher are judged, test_service_record_api.py.)
    role = {"role": "trainer", "since": "2026-09-01"}
    denied = await _ok(bank.client.post(f"/v1/learners/{TEACHER}/roles", headers=bank.auth("hr"), json=role), 403)
    assert denied["code"] == "forbidden"
    again = await _ok(
        bank.client.post(
            "/v1/transfers",
            headers=bank.auth("hr"),
            json={"transfer_id": "mv-2", "learner_id": TEACHER, "destination": "110000"},
        ),
        403,
    )
    assert again["code"] == "forbidden"
    # ... the destination's may.
    await _ok(bank.client.post(f"/v1/learners/{TEACHER}/roles", headers=bank.auth("foreign_hr"), json=role))
    await _ok(
        bank.client.post(
            "/v1/transfers",
            headers=bank.auth("foreign_hr"),
            json={"transfer_id": "mv-2", "learner_id": TEACHER, "destination": "110000"},
        )
    )


async def test_certificates_and_transfers_refuse_a_timeline(bank: Bank) -> None:
    await _register(bank, PRINCIPAL, "prospective_principal")
    for query, name in (("?at_position=1", "at_position"), ("?as_of=2026-01-01", "as_of")):
        refused = await _ok(_issue(bank, query=query), 422)
        assert list(refused["errors"]) == [name], refused
        refused = await _ok(
            bank.client.post(
                f"/v1/transfers{query}",
                headers=bank.auth("hr"),
                json={"transfer_id": "mv-1", "learner_id": PRINCIPAL, "destination": "330300"},
            ),
            422,
        )
        assert list(refused["errors"]) == [name], refused


async def test_a_reversal_and_a_recognition_wait_for_min_position(bank: Bank) -> None:
    registered = await _register(bank, TEACHER)
    beyond = registered["position"] + 1000
    refused = await _ok(
        bank.client.post(
            f"/v1/transfers/mv-1/reversal?min_position={beyond}",
            headers=bank.auth("hr"),
            json={"learner_id": TEACHER, "reason": "x"},
        ),
        422,
    )
    assert refused["code"] == "position_not_written" and list(refused["errors"]) == ["min_position"]
    refused = await _ok(
        bank.client.post(
            f"/v1/transfers?min_position={beyond}",
            headers=bank.auth("hr"),
            json={
                "type": "degree_credit",
                "transfer_id": "edm-1",
                "learner_id": TEACHER,
                "mapping_id": "nenu:med",
                "completions": [{"provider_id": "JLU-TTC", "record_id": "A-1"}],
            },
        ),
        422,
    )
    assert refused["code"] == "position_not_written", refused


async def _while_the_worker_starts(
    database: Database,
    read: Callable[[], Awaitable[ClientResponse]],
) -> ClientResponse:
    """Begin ``read``, and only then start the worker that applies the read models."""
    done = asyncio.Event()

    async def apply_later() -> None:
        await asyncio.sleep(0.3)
        async with separate_worker(database):
            await done.wait()

    applying = asyncio.create_task(apply_later())
    try:
        return await read()
    finally:
        done.set()
        await applying


async def test_min_position_holds_for_the_scope_and_existence_checks(bank: Bank, database: Database) -> None:
    await _provider(bank)
    registered = await _register(bank, TEACHER)
    r = await _while_the_worker_starts(
        database,
        lambda: bank.client.get(
            f"/v1/learners/{TEACHER}/balance?min_position={registered['position']}", headers=bank.auth("hr")
        ),
    )
    assert r.status == 200, await r.text()

    moved = await _ok(
        bank.client.post(
            "/v1/transfers",
            headers=bank.auth("hr"),
            json={"transfer_id": "mv-1", "learner_id": TEACHER, "destination": "330300"},
        )
    )
    for path in ("balance", "transfers", "eligibility?target=teacher_cycle"):
        separator = "&" if "?" in path else "?"
        r = await _while_the_worker_starts(
            database,
            lambda path=path, separator=separator: bank.client.get(
                f"/v1/learners/{TEACHER}/{path}{separator}min_position={moved['position']}",
                headers=bank.auth("foreign_hr"),
            ),
        )
        assert r.status == 200, (path, await r.text())


async def test_a_verdict_before_a_transfer_is_judged_by_the_origin(database: Database, tmp_path: Path) -> None:
    async with running_bank(database, tmp_path / "keys", TOKENS) as bank:
        district = next(p for p in shipped_policies() if p["jurisdiction"] == "220106")
        await _ok(bank.client.post("/v1/policies", headers=bank.auth("admin"), json=district))
        registered = await _register(bank, TEACHER)
        moved = await _ok(
            bank.client.post(
                f"/v1/transfers?min_position={registered['position']}",
                headers=bank.auth("hr"),
                json={"transfer_id": "mv-1", "learner_id": TEACHER, "destination": "330300"},
            )
        )
        verdict = f"/v1/learners/{TEACHER}/eligibility?target=teacher_annual&min_position={moved['position']}"
        before = await _ok(
            bank.client.get(f"{verdict}&at_position={moved['position'] - 1}", headers=bank.auth("admin")), 200
        )
        # In the destination no policy defines the district's own target any more.
        r = await bank.client.get(verdict, headers=bank.auth("admin"))
        after = await r.json()
    assert district["policy_id"] in {p["policy_id"] for p in before["policies"]}, before["policies"]
    assert r.status == 422 and after["code"] == "unknown_target", after


async def test_a_revocation_just_before_the_issue_still_suspends(
    bank: Bank, database: Database, tmp_path: Path
) -> None:
    """The race: another process revokes a completion after the issuing command read the
    learner's standing and before it saved. The certificate is issued on it; the cascade,
    working the issue, finds the earlier revocation and suspends it."""
    await _provider(bank)
    await _register(bank, PRINCIPAL, "prospective_principal")
    await _ok(
        bank.client.post(
            "/v1/completions",
            headers=bank.auth("institution"),
            json={"completions": [_pq("PQ-1", "150"), _pq("PQ-2", "150")]},
        ),
        207,
    )
    services = bank.client.app[SERVICES]

    def issue_while_another_process_revokes(ledger: CreditBank) -> Issued:
        read = ledger.standing

        def standing_then_revoked(learner_id: str) -> Standing:
            found = read(learner_id)
            other = CreditBank(database.event_store_env(), today=lambda: TODAY)
            try:
                other.revoke_completion("JLU-TTC", "PQ-1", "wrong learner", by_provider="JLU-TTC")
            finally:
                other.close()
            return found

        ledger.standing = standing_then_revoked  # type: ignore[method-assign]
        try:
            key = KeyRing(tmp_path / "keys").current()
            return issue_certificate(
                ledger, IssueRequest(PRINCIPAL, "principal_qualification", None), key, "https://bank.example"
            )
        finally:
            del ledger.standing

    issued = await asyncio.wrap_future(services.committer.submit(issue_while_another_process_revokes))
    assert issued.written.status == "recorded"
    async with separate_worker(database):
        for _ in range(100):
            r = await bank.client.get(f"/v1/certificates/{issued.certificate_id}/verification")
            status = (await r.json()).get("status")
            if status == "suspended":
                break
            await asyncio.sleep(0.1)
    assert status == "suspended"


async def test_every_read_asks_the_injected_clock_for_today(database: Database, tmp_path: Path) -> None:
    """The bank's today is 2026-11-26 (``TODAY``), whatever the machine's clock says: a
    certificate valid until the day after is valid, not expired."""
    async with running_bank(database, tmp_path / "keys", TOKENS) as bank:
        await _provider(bank)
        registered = await _register(bank, PRINCIPAL, "prospective_principal")
        posted = await _ok(
            bank.client.post(
                "/v1/completions", headers=bank.auth("institution"), json={"completions": [_pq("PQ-1", "300")]}
            ),
            207,
        )
        issued = await _ok(
            bank.client.post(
                f"/v1/certificates?min_position={max(registered['position'], posted['position'])}",
                headers=bank.auth("hr"),
                json={"learner_id": PRINCIPAL, "kind": "principal_qualification", "valid_until": "2026-11-27"},
            )
        )
        body = await _ok(
            bank.client.get(
                f"/v1/certificates/{issued['certificate_id']}/verification?min_position={issued['position']}"
            ),
            200,
        )
    assert TODAY.isoformat() == "2026-11-26"
    assert body["status"] == "valid", body
