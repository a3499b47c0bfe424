"""The real app on a real PostgreSQL, driven over HTTP with aiohttp's test client."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from api import auth
from api.database import Database
from api.service.app import create_app
from api.settings import Settings
from tests.conftest import TODAY

ACCREDITATION = {
    "categories": ["online", "ethics", "principal_qualification", "school_based"],
    "levels": ["national", "provincial", "county"],
    "valid_from": "2020-01-01",
    "valid_to": None,
}


@dataclass
class Bank:
    """A running service with one token per role."""

    client: TestClient
    database: Database
    tokens: dict[str, str]

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    async def mint(self, role: str, **scope: Any) -> str:
        conn = await asyncpg.connect(**self.database.asyncpg_kwargs())
        try:
            return await auth.mint(conn, role, **scope)
        finally:
            await conn.close()


@contextlib.asynccontextmanager
async def running_bank(
    database: Database, key_dir: Path, token_scopes: dict[str, dict[str, Any]], **overrides: Any
) -> AsyncIterator[Bank]:
    """The real app on ``database``, with a token minted for each named scope; ``overrides``
    change its settings (``inline_projections=False``: a worker applies the read models)."""
    settings = Settings(max_batch=10_000, key_dir=key_dir, **overrides)
    app = create_app(settings, database=database, today=lambda: TODAY)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        conn = await asyncpg.connect(**database.asyncpg_kwargs())
        try:
            tokens = {name: await auth.mint(conn, **scope) for name, scope in token_scopes.items()}
        finally:
            await conn.close()
        yield Bank(client, database, tokens)
    finally:
        await client.close()


@contextlib.asynccontextmanager
async def separate_worker(database: Database) -> AsyncIterator[None]:
    """A projection worker applying the read models beside the app, as
    ``creditbank projections run`` does (use with ``inline_projections=False``)."""
    from projections.runner import ProjectionRunner

    pool = await asyncpg.create_pool(**database.asyncpg_kwargs(), min_size=1, max_size=3)
    worker = ProjectionRunner(pool, connect_kwargs=database.asyncpg_kwargs())
    applying = asyncio.create_task(worker.run())
    try:
        yield
    finally:
        await worker.stop()
        applying.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await applying
        await pool.close()


TOKENS: dict[str, dict[str, Any]] = {
    "admin": {"role": "admin"},
    "institution": {"role": "institution", "provider_id": "JLU-TTC"},
    "other_institution": {"role": "institution", "provider_id": "OTHER"},
    "hr": {"role": "hr", "jurisdiction": "220106"},
    "foreign_hr": {"role": "hr", "jurisdiction": "330300"},
    "auditor": {"role": "auditor"},
    "learner": {"role": "learner", "learner_id": "T-0001"},
}


@pytest.fixture
async def bank(database: Database, tmp_path: Path) -> AsyncIterator[Bank]:
    async with running_bank(database, tmp_path / "keys", TOKENS) as running:
        yield running


async def settle(bank: Bank) -> int:
    """Wait until the read models have applied every event written so far."""
    for _ in range(200):
        ready = await (await bank.client.get("/readyz")).json()
        if ready.get("lag") == 0:
            return int(ready["position"])
        await asyncio.sleep(0.025)
    raise AssertionError(f"the projections did not catch up: {ready}")


async def register_providers(bank: Bank) -> None:
    """The two institutions of the tests (JLU-TTC and OTHER), accredited alike."""
    for provider_id in ("JLU-TTC", "OTHER"):
        r = await bank.client.post(
            "/v1/providers",
            headers=bank.auth("admin"),
            json={
                "provider_id": provider_id,
                "name": "吉林省教师培训学院",
                "jurisdiction": "220000",
                "accreditation": ACCREDITATION,
            },
        )
        assert r.status == 201, await r.text()


async def seed(bank: Bank) -> None:
    """One institution, one teacher, one prospective principal; projected before return."""
    await register_providers(bank)
    for learner_id, name, role in (("T-0001", "王芳", "teacher"), ("P-0001", "李强", "prospective_principal")):
        r = await bank.client.post(
            "/v1/learners",
            headers=bank.auth("hr"),
            json={
                "learner_id": learner_id,
                "name": name,
                "jurisdiction": "220106",
                "school": "绿园区第一实验小学",
                "hired_on": "2015-09-01",
                "roles": [{"role": role, "since": "2015-09-01"}],
            },
        )
        assert r.status == 201, await r.text()
    await settle(bank)


def completion(record_id: str, learner_id: str = "T-0001", **overrides: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "record_id": record_id,
        "learner_id": learner_id,
        "programme": {"code": "ETH-2024", "title": "师德师风专题", "category": "ethics", "level": "provincial"},
        "hours": "2.5",
        "assessment": "pass",
        "completed_on": "2024-05-10",
    }
    item.update(overrides)
    return item
