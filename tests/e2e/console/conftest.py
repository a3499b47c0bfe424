"""The console in a real browser: Debian's Chromium driven by Playwright (Python), against the
real app (API and console) on a real PostgreSQL.

The browser is ``/usr/bin/chromium`` (``tests/run.sh`` installs it where missing), never a
browser Playwright would download. Screenshots of the main pages go to docs/screenshots/.
"""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from openpyxl import Workbook

import ledger
from api import auth, console
from api.database import Database
from api.service.app import create_app
from api.settings import Settings
from tests.conftest import TODAY
from tests.e2e.conftest import Bank, register_providers, settle

CHROMIUM = Path("/usr/bin/chromium")
HAVE_CHROMIUM = CHROMIUM.exists()
SCREENSHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"

playwright_api = pytest.importorskip("playwright.async_api")

TOKENS: dict[str, dict[str, Any]] = {
    "admin": {"role": "admin"},
    "institution": {"role": "institution", "provider_id": "JLU-TTC"},
    "hr": {"role": "hr", "jurisdiction": "220106"},
    "foreign_hr": {"role": "hr", "jurisdiction": "330300"},
    "auditor": {"role": "auditor"},
    "learner": {"role": "learner", "learner_id": "220106201500002"},
}

#: Teachers with real-looking 15-digit numbers (Excel would turn them into 2.20106E+14).
TEACHERS = (
    ("220106201500001", "王芳", "绿园区第一实验小学", "teacher"),
    ("220106201500002", "李强", "绿园区第一实验小学", "prospective_principal"),
    ("220106201500003", "张伟", "绿园区第二中学", "teacher"),
    ("220106201500004", "刘洋", "绿园区第二中学", "teacher"),
    ("220106201500005", "陈静", "绿园区第二中学", "head_teacher"),
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Console(Bank):
    base: str = ""


@contextlib.asynccontextmanager
async def running_console(database: Database, key_dir: Path) -> AsyncIterator[Console]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    settings = Settings(max_batch=10_000, key_dir=key_dir, public_url=base)
    app = create_app(settings, database=database, today=lambda: TODAY)
    console.install(app)
    client = TestClient(TestServer(app, host="127.0.0.1", port=port))
    await client.start_server()
    try:
        conn = await asyncpg.connect(**database.asyncpg_kwargs())
        try:
            tokens = {name: await auth.mint(conn, **scope) for name, scope in TOKENS.items()}
        finally:
            await conn.close()
        yield Console(client, database, tokens, base=base)
    finally:
        await client.close()


async def seed_console(bank: Bank) -> None:
    """Two institutions, five teachers of two schools, some hours; projected before return."""
    await register_providers(bank)
    # The district's rules (teacher_annual: 90 h online a year), as the demo publishes them.
    policy = json.loads((Path(ledger.__file__).parent / "policies" / "220106-teacher-training.json").read_text())
    r = await bank.client.post("/v1/policies", headers=bank.auth("admin"), json=policy)
    assert r.status == 201, await r.text()
    learners = [
        {
            "learner_id": number,
            "name": name,
            "jurisdiction": "220106",
            "school": school,
            "hired_on": "2015-09-01",
            "roles": [{"role": role, "since": "2015-09-01"}],
        }
        for number, name, school, role in TEACHERS
    ]
    r = await bank.client.post("/v1/learners", headers=bank.auth("hr"), json={"learners": learners})
    assert r.status == 207 and (await r.json())["recorded"] == len(TEACHERS), await r.text()
    await settle(bank)


@pytest.fixture
async def bank(database: Database, tmp_path: Path) -> AsyncIterator[Console]:
    async with running_console(database, tmp_path / "keys") as running:
        await seed_console(running)
        yield running


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    if not HAVE_CHROMIUM:
        pytest.skip("no /usr/bin/chromium (tests/run.sh installs it)")
    async with playwright_api.async_playwright() as p:
        launched = await p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield launched
        finally:
            await launched.close()


async def signed_in(browser: Any, bank: Console, role: str, *, width: int = 1200, lang: str | None = None) -> Any:
    """A new browser context whose page has signed in with the token of ``role``."""
    context = await browser.new_context(viewport={"width": width, "height": 900}, accept_downloads=True, locale="zh-CN")
    page = await context.new_page()
    await page.goto(bank.base + "/console/login" + (f"?lang={lang}" if lang else ""))
    await page.fill("input[name=token]", bank.tokens[role])
    async with page.expect_navigation():
        await page.click("button[type=submit]")
    assert "/console/login" not in page.url, f"{role} could not sign in"
    return page


async def shot(page: Any, name: str, *, full_page: bool = True) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


def workbook(path: Path, headers: list[str], rows: list[list[Any]]) -> Path:
    """An xlsx of one sheet as a clerk fills it in: a header row, then the rows as given
    (a number stays a number cell, a datetime a date cell)."""
    book = Workbook()
    sheet = book.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


async def upload(page: Any, url: str, path: Path) -> None:
    """Choose ``path`` on the upload page at ``url`` and send it (the page's dry run)."""
    await page.goto(url)
    await page.set_input_files("input[name=file]", str(path))
    async with page.expect_navigation():
        await page.click("main button[type=submit]")
