"""An event the read models cannot apply is an incident, not a silent stall: the runner
applies what comes before it, names it (position, event id, topic, error; nothing of its
content) in ``/readyz`` (503), ``/metrics`` and the log, keeps retrying, and resumes by
itself once the cause is fixed."""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from api.database import Database
from ledger.application import CreditBank
from ledger.provider import Provider
from tests.conftest import TODAY
from tests.e2e.conftest import ACCREDITATION, TOKENS, Bank, running_bank, seed, separate_worker, settle

SECRET = "王芳-220106201500009"


async def _stuck(bank: Bank) -> dict[str, Any]:
    """The readiness answer once the read models report an incident."""
    for _ in range(200):
        r = await bank.client.get("/readyz")
        body: dict[str, Any] = await r.json()
        if r.status == 503 and "incident" in body:
            return body
        await asyncio.sleep(0.025)
    raise AssertionError(f"no incident was reported: {body}")


async def _metrics(bank: Bank) -> str:
    r = await bank.client.get("/metrics")
    assert r.status == 200
    return await r.text()


def _write_past_the_checks(database: Database, *providers: Provider) -> list[int]:
    """Save aggregates straight to the event store, as an older version or another tool could."""
    writer = CreditBank(database.event_store_env(), today=lambda: TODAY)
    try:
        return [rec.notification.id for rec in writer.save(*providers)]
    finally:
        writer.close()


def _provider(provider_id: str, name: str) -> Provider:
    return Provider(
        provider_id=provider_id,
        name=name,
        jurisdiction="220000",
        categories=["ethics"],
        levels=["county"],
        valid_from=date(2020, 1, 1),
        valid_to=None,
    )


async def test_an_event_the_read_models_cannot_store_is_named_and_nothing_else_stops(
    bank: Bank, caplog: pytest.LogCaptureFixture
) -> None:
    await seed(bank)
    caplog.set_level(logging.INFO, logger="projections.runner")
    # Written to the store past the ledger's checks (an older version, another tool): a
    # provider id holding a NUL, which a PostgreSQL text column cannot hold. One transaction
    # with a good provider before it and one after.
    good, bad, after = _write_past_the_checks(
        bank.database, _provider("GOOD-1", "ok"), _provider("BAD\x00ID", SECRET), _provider("GOOD-2", "ok")
    )

    ready = await _stuck(bank)
    incident = ready["incident"]
    assert ready["status"] == "unavailable" and ready["projection"] == "stuck"
    # The events before it are applied; the read models stop exactly at it.
    assert ready["position"] == good == bad - 1 and ready["head"] == after and ready["lag"] == 2
    assert incident["position"] == bad
    assert incident["topic"] == "ledger.provider:Provider.Accredited"
    assert incident["error"] == "CharacterNotInRepertoireError" and "0x00" in incident["description"]
    assert incident["attempts"] >= 1 and incident["event_id"]

    # A read that waits for a position past the incident is told why, not to retry shortly.
    r = await bank.client.get(f"/v1/learners/T-0001/balance?min_position={after}", headers=bank.auth("hr"))
    refused = await r.json()
    assert r.status == 503 and refused["code"] == "projection_stuck", refused
    assert "Retry-After" not in r.headers
    assert refused["position"] == good
    assert refused["incident"] == {"position": bad, "event_id": incident["event_id"], "topic": incident["topic"]}
    assert f"stopped at position {good}" in refused["detail"]
    r = await bank.client.get(
        f"/v1/learners/T-0001/balance?min_position={after}", headers={**bank.auth("hr"), "Accept-Language": "zh"}
    )
    assert (await r.json())["title"] == "查询数据因故障停在某一位置"

    metrics = await _metrics(bank)
    assert (
        f'creditbank_projection_stuck{{position="{bad}",topic="ledger.provider:Provider.Accredited",'
        f'error="CharacterNotInRepertoireError"}} 1'
    ) in metrics
    assert f"creditbank_projection_stuck_position {bad}" in metrics
    assert "creditbank_projection_apply_failures_total 0\n" not in metrics

    # It keeps retrying (with backoff) and says so in the log, by position and topic only.
    for _ in range(100):
        if (await (await bank.client.get("/readyz")).json())["incident"]["attempts"] >= 2:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the runner did not retry")
    stuck_lines = [r.getMessage() for r in caplog.records if "projection stuck" in r.getMessage()]
    assert stuck_lines and all(f"position {bad}" in line and "Provider.Accredited" in line for line in stuck_lines)
    everything = "\n".join(r.getMessage() + str(r.exc_info or "") for r in caplog.records) + str(ready) + metrics
    assert SECRET not in everything and "BAD" not in everything

    # Writes the grammar allows still go in; they wait behind the incident, they are not lost.
    r = await bank.client.post(
        "/v1/providers",
        headers=bank.auth("admin"),
        json={"provider_id": "GOOD-3", "name": "ok", "jurisdiction": "220000", "accreditation": ACCREDITATION},
    )
    assert r.status == 201, await r.text()


async def test_the_read_models_resume_by_themselves_once_the_cause_is_fixed(bank: Bank) -> None:
    await seed(bank)
    conn = await asyncpg.connect(**bank.database.asyncpg_kwargs())
    try:
        # A bug in the read side (here a trigger) that an ordinary, valid write runs into.
        await conn.execute("""
            CREATE FUNCTION cb_test_bug() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'a bug in the projection of providers'; END $$;
            CREATE TRIGGER cb_test_bug BEFORE INSERT ON rm_providers
                FOR EACH ROW WHEN (NEW.provider_id = 'BUGGY') EXECUTE FUNCTION cb_test_bug();
        """)
        r = await bank.client.post(
            "/v1/providers",
            headers=bank.auth("admin"),
            json={"provider_id": "BUGGY", "name": "ok", "jurisdiction": "220000", "accreditation": ACCREDITATION},
        )
        assert r.status == 201, await r.text()
        position = (await r.json())["position"]
        incident = (await _stuck(bank))["incident"]
        assert incident["position"] == position and incident["error"] == "RaiseError"
        assert incident["description"] == "a bug in the projection of providers"
        assert await conn.fetchval("SELECT count(*) FROM rm_incidents") == 1

        # The fix is deployed: nothing else to do, the runner applies it on its next try.
        await conn.execute("DROP TRIGGER cb_test_bug ON rm_providers; DROP FUNCTION cb_test_bug()")
        for _ in range(3):
            try:
                assert await settle(bank) >= position
                break
            except AssertionError:
                continue
        r = await bank.client.get("/readyz")
        assert r.status == 200 and (await r.json())["status"] == "ready"
        assert await conn.fetchval("SELECT count(*) FROM rm_incidents") == 0
        assert "creditbank_projection_stuck 0" in await _metrics(bank)
        r = await bank.client.get("/v1/providers/BUGGY", headers=bank.auth("admin"))
        assert r.status == 200, await r.text()
    finally:
        await conn.close()


async def test_a_server_that_does_not_apply_reports_the_workers_incident(database: Database, tmp_path: Path) -> None:
    async with (
        separate_worker(database),
        running_bank(database, tmp_path / "keys", TOKENS, inline_projections=False) as bank,
    ):
        await seed(bank)
        (bad,) = _write_past_the_checks(database, _provider("BAD\x00ID", SECRET))
        ready = await _stuck(bank)
        assert ready["incident"]["position"] == bad and ready["position"] == bad - 1
        assert f"creditbank_projection_stuck_position {bad}" in await _metrics(bank)
