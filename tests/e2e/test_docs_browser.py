"""The contract's page in a real browser (Playwright driving Debian's Chromium): it renders
the served OpenAPI 3.1 document, takes a bearer token under Authorize, and "Try it out" on
``GET /v1/vocabulary`` answers 200 with Chinese labels, while the browser asks no host but the
bank for anything. Skipped where Playwright or /usr/bin/chromium is missing (tests/run.sh
installs both with the console's browser tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import Bank

CHROMIUM = Path("/usr/bin/chromium")
playwright_api = pytest.importorskip("playwright.async_api")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium")


async def test_docs_try_it_with_a_bearer_token_and_nothing_from_elsewhere(bank: Bank, tmp_path: Path) -> None:
    base = str(bank.client.make_url("")).rstrip("/")
    asked: list[str] = []
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 1400})
            page.on("request", lambda request: asked.append(request.url))
            await page.goto(f"{base}/docs")
            await page.click("button.authorize")
            await page.fill(".auth-container input", bank.tokens["hr"])
            await page.click(".auth-btn-wrapper button.authorize")
            await page.click("button.btn-done")
            operation = page.locator("#operations-default-get_v1_vocabulary")
            await operation.locator(".opblock-summary").click()
            await operation.locator("button.try-out__btn").click()
            await operation.locator("button.execute").click()
            answered = operation.locator(".live-responses-table tbody .response-col_status").first
            await answered.wait_for()
            assert (await answered.inner_text()).strip() == "200"
            body = await operation.locator(".live-responses-table .microlight").first.inner_text()
            assert "任职资格培训" in body and "学时无效" in body
            await page.screenshot(path=str(tmp_path / "docs-try-it.png"))
        finally:
            await browser.close()
    elsewhere = [url for url in asked if not url.startswith((base, "data:"))]
    assert not elsewhere, elsewhere
    assert f"{base}/v1/vocabulary?jurisdiction=CN" in asked
