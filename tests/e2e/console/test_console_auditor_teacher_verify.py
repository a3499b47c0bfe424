"""An auditor verifies the chain and follows a number to its events; a teacher sees their
hours and checks a certificate's QR link; a stranger verifies valid, revoked and unknown
certificates at /verify."""

from __future__ import annotations

import io
import uuid
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tests.e2e.conftest import settle
from tests.e2e.console.conftest import Console, shot, signed_in

PRINCIPAL = "220106201500002"  # 李强, prospective principal


def _pq(record_id: str, hours: str) -> dict[str, Any]:
    return {
        "record_id": record_id,
        "learner_id": PRINCIPAL,
        "programme": {
            "code": "PQ",
            "title": "校长任职资格培训",
            "category": "principal_qualification",
            "level": "national",
        },
        "hours": hours,
        "assessment": "pass",
        "completed_on": "2026-03-01",
    }


async def _certified(bank: Console) -> dict[str, Any]:
    r = await bank.client.post(
        "/v1/completions",
        headers=bank.auth("institution"),
        json={"completions": [_pq("PQ-1", "150"), _pq("PQ-2", "150")]},
    )
    position = (await r.json())["position"]
    r = await bank.client.post(
        f"/v1/certificates?min_position={position}",
        headers=bank.auth("hr"),
        json={"learner_id": PRINCIPAL, "kind": "principal_qualification"},
    )
    issued: dict[str, Any] = await r.json()
    assert r.status == 201, issued
    await settle(bank)
    return issued


async def test_an_auditor_verifies_the_chain_and_follows_a_number_to_its_events(
    browser: Any, bank: Console, tmp_path: Path
) -> None:
    await _certified(bank)
    page = await signed_in(browser, bank, "auditor")
    await page.click("#verify-chain")
    await page.wait_for_function("document.querySelector('#chain-result').textContent.length > 0")
    assert "哈希链完整" in await page.inner_text("#chain-result")
    head = int(await page.get_attribute("#verify-chain", "data-head"))
    assert await page.evaluate("document.querySelector('#chain-progress').value") == head
    await shot(page, "auditor")

    # From the verdict's 300 h to the two completion events behind it, in the history.
    await page.goto(f"{bank.base}/console/learners/{PRINCIPAL}")
    verdict = page.locator("#verdict-principal_appointment")
    assert "300" in await verdict.inner_text()
    links = verdict.locator("a.evidence")
    assert await links.count() == 2
    target = (await links.first.get_attribute("href")).removeprefix("#")
    await links.first.click()
    event = page.locator(f"[id='{target}']")
    assert await event.is_visible()
    assert "CompletionRecorded" in await event.inner_text() and "150" in await event.inner_text()

    # The institution audit: what it posted this month, and its anomalies.
    month = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")  # posted today, by the clock
    await page.goto(f"{bank.base}/console/auditor/institution?provider_id=JLU-TTC&month={month}")
    report = await page.inner_text("#audit-report")
    assert "提交记录 (300 学时, 1 人)" in report
    assert await page.locator("#anomalies").count() == 1

    # The event explorer, and a bundle of this learner's events.
    await page.goto(bank.base + "/console/auditor/events")
    assert "PolicyCreated" in await page.inner_text("#events")
    async with page.expect_download() as download:
        await page.goto(f"{bank.base}/console/auditor")
        await page.select_option("select[name=scope]", "learner")
        await page.fill("input[name=value]", PRINCIPAL)
        await page.click("form[action='/console/auditor/bundle'] button")
    saved = tmp_path / "bundle.zip"
    await (await download.value).save_as(saved)
    with zipfile.ZipFile(io.BytesIO(saved.read_bytes())) as archive:
        assert "events.jsonl" in archive.namelist()
        assert len(archive.read("events.jsonl").splitlines()) >= 3
    await page.context.close()


async def test_a_teacher_sees_their_hours_and_follows_a_certificates_qr_link(browser: Any, bank: Console) -> None:
    issued = await _certified(bank)
    page = await signed_in(browser, bank, "learner", width=390)  # a phone
    assert page.url.endswith("/console/me")
    assert await page.inner_text("#total-hours") == "300"
    certificate = page.locator(".certificate")
    assert await certificate.count() == 1
    assert await certificate.locator(".qr svg").count() == 1
    link = await certificate.locator("a.verify-link").get_attribute("href")
    assert link == f"{bank.base}/verify?id={issued['certificate_id']}"
    await page.wait_for_function("document.querySelector('#hours-chart').width > 0")
    await shot(page, "teacher-phone", full_page=False)
    await certificate.scroll_into_view_if_needed()
    await shot(page, "teacher-certificate", full_page=False)
    # Another target: teacher_annual is for teachers (its applies_to), not a prospective
    # principal, so the plan says it does not apply rather than listing hours to make up.
    await page.select_option("select[name=plan_target]", "teacher_annual")
    await page.fill("input[name=on]", "2026-12-01")
    await page.click("#plan-form button")
    await page.wait_for_selector("#plan")
    plan = await page.inner_text("#plan")
    assert "2026-12-01" in plan and "不适用" in plan and "远程/网络研修" not in plan
    await page.goto(link)
    assert await page.get_attribute("#verify-state", "data-state") == "valid"
    await page.context.close()


async def test_the_chain_verifies_without_javascript_too(browser: Any, bank: Console) -> None:
    context = await browser.new_context(java_script_enabled=False)
    page = await context.new_page()
    await page.goto(bank.base + "/console/login")
    await page.fill("input[name=token]", bank.tokens["auditor"])
    async with page.expect_navigation():
        await page.click("button[type=submit]")
    async with page.expect_navigation():
        await page.click("#verify-chain")
    assert "哈希链完整" in await page.inner_text("#chain-result")
    await context.close()


async def test_a_stranger_verifies_valid_revoked_and_unknown_certificates(browser: Any, bank: Console) -> None:
    issued = await _certified(bank)
    context = await browser.new_context(viewport={"width": 1000, "height": 800})
    page = await context.new_page()
    await page.goto(f"{bank.base}/verify?id={issued['certificate_id']}")
    assert await page.get_attribute("#verify-state", "data-state") == "valid"
    assert "有效" in await page.inner_text("#verify-state")
    assert "李强" not in await page.inner_text("main") and PRINCIPAL not in await page.inner_text("main")
    await shot(page, "verify-valid")

    # The certificate itself pasted: valid by its signature and status.
    await page.goto(bank.base + "/verify")
    await page.fill("textarea[name=jws]", issued["jws"])
    async with page.expect_navigation():
        await page.click("form[method=post] button")
    assert await page.get_attribute("#verify-state", "data-state") == "valid"

    r = await bank.client.post(
        f"/v1/certificates/{issued['certificate_id']}/revocation",
        headers=bank.auth("admin"),
        json={"reason": "证书信息有误"},
    )
    assert r.status == 201, await r.text()
    await settle(bank)
    await page.goto(f"{bank.base}/verify?id={issued['certificate_id']}")
    assert await page.get_attribute("#verify-state", "data-state") == "revoked"
    assert "已撤销" in await page.inner_text("#verify-state")
    assert await page.inner_text("#verify-reason") == "证书信息有误"
    assert await page.inner_text("#verify-since") == "2026-11-26"
    await shot(page, "verify-revoked")

    # Unknown ids and forged certificates are never shown as valid.
    for unknown in (str(uuid.uuid4()), "not-a-certificate"):
        await page.goto(f"{bank.base}/verify?id={unknown}")
        assert await page.get_attribute("#verify-state", "data-state") == "unknown"
        assert "状态未知" in await page.inner_text("#verify-state")
    await page.goto(bank.base + "/verify")
    await page.fill("textarea[name=jws]", issued["jws"][:-4] + "AAAA")
    async with page.expect_navigation():
        await page.click("form[method=post] button")
    assert await page.get_attribute("#verify-state", "data-state") in {"invalid", "unknown"}
    await context.close()
