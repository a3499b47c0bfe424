"""An HR officer reads a teacher's service record (refusals, qualifications, certificates from
before the bank) in Chinese, follows a figure to the records behind it, and checks whether a
candidate may be appointed principal: one short of the 300 h of qualification training is
refused with the article that asks them, one who has them may be; nothing is written."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import settle
from tests.e2e.console.conftest import Console, shot, signed_in

CANDIDATE = "220106201500002"  # 李强, prospective principal, no qualification training
QUALIFIED = "220106201500001"  # 王芳, 300 h of it and an ethics course
RECORDED = "220106201500003"  # 张伟, whose service record HR keeps


def _completion(record_id: str, learner_id: str, category: str, hours: str, completed_on: str) -> dict[str, Any]:
    return {
        "record_id": record_id,
        "learner_id": learner_id,
        "programme": {
            "code": f"P-{record_id}",
            "title": "校长任职资格培训",
            "category": category,
            "level": "provincial",
        },
        "hours": hours,
        "assessment": "pass",
        "completed_on": completed_on,
    }


async def _post(bank: Console, role: str, path: str, body: dict[str, Any], status: int = 201) -> Any:
    r = await bank.client.post(path, headers=bank.auth(role), json=body)
    assert r.status == status, await r.text()
    return await r.json()


async def _qualified(bank: Console) -> None:
    """王芳's 300 h of principal qualification training (three courses) and an ethics course;
    李强's 30 h online, which count for no appointment."""
    items = [
        _completion("PQ-1", QUALIFIED, "principal_qualification", "100", "2026-03-20"),
        _completion("PQ-2", QUALIFIED, "principal_qualification", "100", "2026-05-22"),
        _completion("PQ-3", QUALIFIED, "principal_qualification", "100", "2026-07-17"),
        _completion("ETH-1", QUALIFIED, "ethics", "8", "2026-04-10"),
        _completion("ONL-1", CANDIDATE, "online", "30", "2026-05-10"),
    ]
    body = await _post(bank, "institution", "/v1/completions", {"completions": items}, 207)
    assert body["recorded"] == len(items)
    await settle(bank)


async def _service_record(bank: Console) -> None:
    base = f"/v1/learners/{RECORDED}"
    refusal = {"post": "head_teacher", "school_year": "2025-2026", "on": "2025-10-08", "justified": False}
    await _post(bank, "hr", f"{base}/refusals", {**refusal, "reason": "无正当理由不接受学校选聘"})
    qualification = {"kind": "senior_secondary", "number": "20102200001234", "issued_on": "2010-07-01"}
    await _post(bank, "hr", f"{base}/qualifications", qualification)
    certificate = {
        "kind": "principal_qualification",
        "issuer": "吉林省教育厅",
        "number": "JL-PQ-2012-0007",
        "issued_on": "2012-06-30",
        "attested_by": "绿园区教育局人事科",
    }
    await _post(bank, "hr", f"{base}/prior-certificates", certificate)
    await _post(
        bank,
        "institution",
        "/v1/completions",
        {"completions": [_completion("ONL-2", RECORDED, "online", "30", "2026-05-10")]},
        207,
    )
    await settle(bank)


async def test_hr_reads_the_service_record_in_chinese_and_follows_each_figure_to_its_record(
    browser: Any, bank: Console
) -> None:
    await _service_record(bank)
    page = await signed_in(browser, bank, "hr")
    await page.goto(bank.base + f"/console/learners/{RECORDED}")
    record = await page.inner_text("#service-record")
    for words in ("拒绝任职记录", "班主任", "2025-2026", "无正当理由"):
        assert words in record, words
    assert "教师资格" in record and "高级中学教师资格" in record and "2010-07-01" in record
    assert "入库前证书" in record and "任职资格证书" in record and "吉林省教育厅" in record
    assert "经核实登记，非本行签发" in record
    certificates = await page.inner_text("#certificates")
    assert "任职资格证书" in certificates and "2012-06-30" in certificates and "经核实登记" in certificates
    assert "cert_" not in certificates  # a paper certificate has no status list entry to show
    # Codes are labelled, and the sealed numbers and reasons are not on HR's page.
    for hidden in ("senior_secondary", "head_teacher", "20102200001234", "JL-PQ-2012-0007", "无正当理由不接受"):
        assert hidden not in record, hidden
    assert "无权查看历史" in await page.inner_text("#history-hidden")

    # Each recorded fact links to its record in the evidence index (HR may not read the history).
    links = page.locator("#service-record a.evidence")
    assert await links.count() == 3
    refusal_link = page.locator("#service-record li", has_text="无正当理由").locator("a.evidence")
    target = await refusal_link.get_attribute("href")
    assert target is not None and target.startswith("#ev-")
    await refusal_link.click()
    assert page.url.endswith(target)
    entry = await page.inner_text(target)
    assert "拒任记录" in entry and "班主任" in entry and "2025-2026" in entry

    # A verdict's hours link to the completion behind them, with its category, hours and day.
    verdict_link = page.locator("#verdict-teacher_annual a.evidence")
    assert await verdict_link.count() == 1
    target = await verdict_link.get_attribute("href")
    assert target is not None
    await verdict_link.click()
    entry = await page.inner_text(target)
    assert "培训记录" in entry and "远程/网络研修 30 学时" in entry and "2026-05-10" in entry
    await shot(page, "learner-service-record")
    await page.context.close()


async def test_hr_checks_a_principal_appointment_refused_short_of_300_hours_and_one_who_qualifies(
    browser: Any, bank: Console
) -> None:
    await _qualified(bank)
    page = await signed_in(browser, bank, "hr")
    await page.goto(bank.base + f"/console/learners/{CANDIDATE}")
    async with page.expect_navigation():
        await page.click("#check-appointment")
    assert await page.input_value("input[name=learner_id]") == CANDIDATE
    await page.fill("input[name=on]", "2026-11-26")
    async with page.expect_navigation():
        await page.click("#appointment-form button[type=submit]")

    outcome = await page.inner_text("#appointment-outcome")
    assert "不可任命" in outcome
    verdict = await page.inner_text("#appointment-verdict")
    assert "李强" in verdict and "校长" in verdict and "校长任职资格" in verdict and "2026-11-26" in verdict
    missing = await page.inner_text("#appointment-missing")
    assert "任职资格培训 300 学时" in missing  # none of the 300 h (the 30 h online do not count)
    assert "教师〔2013〕11号" in missing and "五" in missing  # the article asking them
    row = await page.inner_text("#req-principal_appointment-qualification-300h")
    assert "✘" in row and "300 学时" in row and "学时要求" in row
    await shot(page, "appointment-refused")
    refused_url = page.url
    await page.goto(refused_url + "&lang=en")  # the English switch
    assert "May not be appointed" in await page.inner_text("#appointment-outcome")
    assert "principal qualification training 300 h" in await page.inner_text("#appointment-missing")
    await page.goto(refused_url + "&lang=zh")

    # The qualified teacher may be appointed: every requirement met, each with its records.
    await page.fill("input[name=learner_id]", QUALIFIED)
    async with page.expect_navigation():
        await page.click("#appointment-form button[type=submit]")
    assert "可以任命" in await page.inner_text("#appointment-outcome")
    row = await page.inner_text("#req-principal_appointment-qualification-300h")
    assert "✔" in row and row.count("300 学时") == 2
    evidence = page.locator("#req-principal_appointment-qualification-300h a.evidence")
    assert await evidence.count() == 3
    await shot(page, "appointment-may")
    href = await evidence.first.get_attribute("href")
    assert href is not None and href.startswith(f"/console/learners/{QUALIFIED}#ev-")
    async with page.expect_navigation():
        await evidence.first.click()
    entry = await page.inner_text(href[href.index("#") :])
    assert "任职资格培训 100 学时" in entry and "2026-03-20" in entry

    # The check wrote nothing: neither teacher holds the role, no role event was recorded.
    for number, roles in ((CANDIDATE, ["prospective_principal"]), (QUALIFIED, ["teacher"])):
        r = await bank.client.get(f"/v1/learners/{number}/history", headers=bank.auth("auditor"))
        assert "LearnerRoleStarted" not in [e["type"] for e in (await r.json())["events"]]
        r = await bank.client.get(f"/v1/learners/{number}", headers=bank.auth("hr"))
        assert [s["role"] for s in (await r.json())["roles"]] == roles
    await page.context.close()


async def test_the_appointment_check_is_for_those_who_appoint_within_their_scope(browser: Any, bank: Console) -> None:
    page = await signed_in(browser, bank, "auditor")
    response = await page.goto(bank.base + "/console/hr/appointment")
    assert response.status == 403
    await page.goto(bank.base + f"/console/learners/{CANDIDATE}")
    assert await page.locator("#check-appointment").count() == 0
    await page.context.close()
    # Another district's HR is refused in the API's words, and sees nothing of the teacher.
    page = await signed_in(browser, bank, "foreign_hr")
    response = await page.goto(bank.base + f"/console/hr/appointment?learner_id={CANDIDATE}&role=head_teacher")
    assert response.status == 403
    assert "李强" not in await page.inner_text("main")
    assert await page.locator("#appointment-failure").count() == 1
    await page.context.close()
