"""Worked example over HTTP: a prospective principal earns the qualification certificate,
it verifies offline and online, one changed character fails, and revoking one of its
completions suspends it with a reason an auditor can follow back to the revocation."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from api.cli.certificates import _public_keys, verify_file
from api.database import Database
from ledger.keys import KeyRing
from tests.e2e.conftest import TOKENS, Bank, completion, running_bank, seed, separate_worker, settle
from tests.unit.ledger_examples import status_bit, status_bits


@pytest.fixture
async def bank(database: Database, tmp_path: Path) -> AsyncIterator[Bank]:
    # The learner token is the prospective principal's, who earns the certificate here.
    tokens = {**TOKENS, "learner": {"role": "learner", "learner_id": "P-0001"}}
    async with running_bank(database, tmp_path / "keys", tokens) as running:
        yield running


def _pq(record_id: str, hours: str) -> dict[str, Any]:
    return completion(
        record_id,
        "P-0001",
        hours=hours,
        completed_on="2025-06-30",
        programme={
            "code": "PQ-2025",
            "title": "拟任校长任职资格培训",
            "category": "principal_qualification",
            "level": "national",
        },
    )


async def _qualify(bank: Bank) -> tuple[dict[str, Any], int]:
    await seed(bank)
    r = await bank.client.post(
        "/v1/completions",
        headers=bank.auth("institution"),
        json={"completions": [_pq("PQ-1", "150"), _pq("PQ-2", "150")]},
    )
    body = await r.json()
    assert r.status == 207, body
    position = max(item["position"] for item in body["results"])
    r = await bank.client.post(
        f"/v1/certificates?min_position={position}",
        headers=bank.auth("hr"),
        json={"learner_id": "P-0001", "kind": "principal_qualification"},
    )
    issued = await r.json()
    assert r.status == 201, issued
    return issued, position


async def _wait_status(bank: Bank, certificate_id: str, status: str) -> dict[str, Any]:
    for _ in range(100):
        r = await bank.client.get(f"/v1/certificates/{certificate_id}/verification")
        body: dict[str, Any] = await r.json()
        if body.get("status") == status:
            return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"still {body['status']}")


async def test_certificate_is_issued_verified_offline_and_online(bank: Bank, tmp_path: Path) -> None:
    issued, _ = await _qualify(bank)
    cid, jws = issued["certificate_id"], issued["jws"]
    assert issued["credential"]["credentialSubject"]["hours"] == "300"

    # Offline, with the served JWKS only.
    r = await bank.client.get("/v1/keys")
    jwks = tmp_path / "jwks.json"
    jwks.write_text(await r.text())
    cert = tmp_path / "cert.jwt"
    cert.write_text(jws)
    ok, report = verify_file(str(cert), _public_keys(jwks))
    assert ok, report
    assert report["kind"] == "principal_qualification" and report["name"] == "李强"
    tampered = jws[:40] + ("A" if jws[40] != "A" else "B") + jws[41:]
    cert.write_text(tampered)
    assert verify_file(str(cert), _public_keys(jwks))[0] is False

    # Online, public, without personal data.
    r = await bank.client.get(f"/v1/certificates/{cid}/verification?min_position={issued['position']}")
    body = await r.json()
    assert r.status == 200 and body["valid"] is True and body["status"] == "valid", body
    assert "李强" not in json.dumps(body, ensure_ascii=False) and "P-0001" not in json.dumps(body)
    r = await bank.client.post("/v1/certificates/verification", json={"jws": tampered})
    assert (await r.json())["valid"] is False
    r = await bank.client.post("/v1/certificates/verification", json={"jws": jws})
    assert (await r.json())["valid"] is True

    # A rotation keeps the old certificate verifying.
    KeyRing(tmp_path / "keys").rotate()
    r = await bank.client.get(f"/v1/certificates/{cid}/verification")
    assert (await r.json())["signature"]["valid"] is True
    cert.write_text(jws)
    assert verify_file(str(cert), KeyRing(tmp_path / "keys").public_keys())[0] is True

    # The learner's profile shows it; the same issuance again is a duplicate.
    r = await bank.client.get(f"/v1/learners/P-0001?min_position={issued['position']}", headers=bank.auth("learner"))
    profile = await r.json()
    assert [c["certificate_id"] for c in profile["certificates"]] == [cid]
    r = await bank.client.post(
        "/v1/certificates", headers=bank.auth("hr"), json={"learner_id": "P-0001", "kind": "principal_qualification"}
    )
    assert r.status == 200 and (await r.json())["jws"] == jws


async def _seeded(bank: Bank) -> None:
    await seed(bank)
    for _ in range(100):
        r = await bank.client.get("/v1/learners/P-0001", headers=bank.auth("hr"))
        if r.status == 200:
            return
        await asyncio.sleep(0.05)


async def test_issuing_is_refused_without_the_hours_and_outside_scope(bank: Bank) -> None:
    await _seeded(bank)
    r = await bank.client.post(
        "/v1/certificates", headers=bank.auth("hr"), json={"learner_id": "P-0001", "kind": "principal_qualification"}
    )
    body = await r.json()
    assert r.status == 422 and body["code"] == "certificate_not_earned", body
    r = await bank.client.post(
        "/v1/certificates",
        headers=bank.auth("foreign_hr"),
        json={"learner_id": "P-0001", "kind": "principal_qualification"},
    )
    assert r.status == 403
    r = await bank.client.post(
        "/v1/certificates",
        headers=bank.auth("institution"),
        json={"learner_id": "P-0001", "kind": "principal_qualification"},
    )
    assert r.status == 403
    r = await bank.client.post(
        "/v1/certificates",
        headers=bank.auth("hr"),
        json={"learner_id": "P-0001", "kind": "principal_qualification", "extra": 1},
    )
    assert r.status == 422


async def test_revoking_a_completion_suspends_the_certificate_traceably(bank: Bank) -> None:
    issued, _ = await _qualify(bank)
    cid = issued["certificate_id"]
    r = await bank.client.post(
        "/v1/completions/JLU-TTC/PQ-1/revocation", headers=bank.auth("institution"), json={"reason": "wrong learner"}
    )
    revocation = await r.json()
    assert r.status == 201, revocation
    body = await _wait_status(bank, cid, "suspended")
    assert body["valid"] is False
    assert f"position {revocation['position']}" in body["reason"]
    assert body["history"][-1]["cause"]["position"] == revocation["position"]

    # The auditor follows the chain: revocation event -> suspension event naming it.
    r = await bank.client.get(
        f"/v1/learners/P-0001/history?min_position={revocation['position'] + 1}", headers=bank.auth("auditor")
    )
    events = (await r.json())["events"]
    revoked = next(e for e in events if e["type"] == "CompletionRevoked")
    suspended = next(e for e in events if e["type"] == "CertificateSuspended")
    assert suspended["data"]["cause"]["event_id"] == revoked["event_id"]
    assert suspended["position"] > revoked["position"]

    # The suspension status list has the certificate's bit set; the revocation list does not.
    r = await bank.client.get(f"/v1/certificates/{cid}", headers=bank.auth("hr"))
    index = (await r.json())["status_index"]
    for purpose, expected in (("suspension", True), ("revocation", False)):
        r = await bank.client.get(f"/v1/status-lists/{purpose}-1")
        status_list = await r.json()
        bits = status_bits(status_list["credential"]["credentialSubject"]["encodedList"])
        assert status_bit(bits, index) is expected

    # Reinstating by hand and revoking by an admin are recorded with reasons.
    r = await bank.client.post(
        f"/v1/certificates/{cid}/revocation", headers=bank.auth("admin"), json={"reason": "basis withdrawn"}
    )
    assert r.status == 201
    await _wait_status(bank, cid, "revoked")


async def test_the_cascade_runs_when_a_separate_worker_applies_the_read_models(
    database: Database, tmp_path: Path
) -> None:
    """The deployment of docker/compose.yaml: the server applies no read models itself (a
    `creditbank projections run` process does), yet a revocation still suspends."""
    tokens = {**TOKENS, "learner": {"role": "learner", "learner_id": "P-0001"}}
    async with (
        separate_worker(database),
        running_bank(database, tmp_path / "keys", tokens, inline_projections=False) as bank,
    ):
        issued, _ = await _qualify(bank)
        r = await bank.client.post(
            "/v1/completions/JLU-TTC/PQ-2/revocation",
            headers=bank.auth("institution"),
            json={"reason": "assessment annulled"},
        )
        assert r.status == 201, await r.text()
        body = await _wait_status(bank, issued["certificate_id"], "suspended")
        assert body["valid"] is False


async def test_the_certificate_and_the_profile_give_the_same_basis(bank: Bank) -> None:
    """The basis is an object in both answers, never a JSON-encoded string in one of them."""
    issued, _ = await _qualify(bank)
    cid = issued["certificate_id"]
    await settle(bank)
    r = await bank.client.get(f"/v1/certificates/{cid}", headers=bank.auth("hr"))
    record = await r.json()
    assert r.status == 200, record
    r = await bank.client.get(f"/v1/learners/P-0001?min_position={record['position']}", headers=bank.auth("hr"))
    profile = await r.json()
    in_profile = next(c for c in profile["certificates"] if c["certificate_id"] == cid)
    assert isinstance(record["basis"], dict)
    assert record["basis"] == in_profile["basis"]
    assert len(record["basis"]["completions"]) == 2
    r = await bank.client.get("/openapi.json")
    documented = (await r.json())["components"]["schemas"]["CertificateRecord"]["properties"]["basis"]
    assert documented["type"] == "object"
