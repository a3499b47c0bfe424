"""The school's training coordinator in the browser: this week's sessions, the attendance sheet
ticked and posted, the term inspection's rates moving with it, the inspection as xlsx; and the
pages a school token may not open (HR's), and the school's pages no other role may open.

绿园区第一实验小学 (2201060001) held two sessions this week (TODAY is Thursday 2026-11-26),
each of its own content; the coordinator ticks 李华 present at Tuesday's.
"""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import openpyxl

from tests.e2e.console.conftest import Console, shot, signed_in

SCHOOL = "2201060001"
PRINCIPAL = "220106197001010011"
TEACHER_A = "220106198501010021"
TEACHER_B = "220106199003150042"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def _school_with_sessions(bank: Console) -> None:
    r = await bank.client.post(
        "/v1/schools",
        headers=bank.auth("hr"),
        json={
            "school_id": SCHOOL,
            "name": "长春市绿园区第一实验小学",
            "jurisdiction": "220106",
            "kind": "urban",
            "teachers": 60,
        },
    )
    assert r.status == 201, await r.text()
    roster = [
        {
            "learner_id": number,
            "name": name,
            "jurisdiction": "220106",
            "school": SCHOOL,
            "hired_on": "2015-09-01",
            "roles": [{"role": role, "since": "2015-09-01"}],
        }
        for number, name, role in (
            (PRINCIPAL, "赵校长", "principal"),
            (TEACHER_A, "李华", "teacher"),
            (TEACHER_B, "王芳", "teacher"),
        )
    ]
    r = await bank.client.post("/v1/learners", headers=bank.auth("hr"), json={"learners": roster})
    assert r.status == 207, await r.text()
    bank.tokens["school"] = await bank.mint("school", school_id=SCHOOL)
    for session_id, day, slot, content, title in (
        ("2026-11-24-tue", "2026-11-24", "tue-3", "w48-reading", "整本书阅读教学研讨"),
        ("2026-11-26-thu", "2026-11-26", "thu-3", "w48-writing", "习作教学研讨"),
    ):
        body = {
            "session_id": session_id,
            "held_on": day,
            "slot": slot,
            "content_key": content,
            "programme": {"code": "SB-2026", "title": title},
            "hours": "1.5",
            "instructor": PRINCIPAL,
        }
        r = await bank.client.post(f"/v1/schools/{SCHOOL}/sessions", headers=bank.auth("school"), json=body)
        assert r.status == 201, await r.text()


async def _rate(page: Any, learner_id: str) -> tuple[str, str]:
    row = page.locator(f"#rates tr[data-learner='{learner_id}']")
    return (await row.locator("td").nth(2).inner_text(), await row.locator("td.rate").inner_text())


async def test_the_coordinator_ticks_the_sheet_and_sees_the_inspection_move(browser: Any, bank: Console) -> None:
    await _school_with_sessions(bank)
    page = await signed_in(browser, bank, "school")
    assert page.url.endswith("/console/school")
    assert await page.locator("#term").inner_text() == "2026-2027-1"
    week = page.locator("#week tbody tr")
    assert await week.count() == 2
    assert "整本书阅读教学研讨" in await week.nth(0).inner_text()
    assert (await _rate(page, TEACHER_A))[0] == "0/2"

    # Tuesday's sheet: tick 李华 only, post it (the form carries the session's CSRF token).
    await page.locator(".sheet-link").nth(0).click()
    await page.wait_for_selector("#attendance-form")
    assert "李华" in await page.locator("#attendance-form").inner_text()
    await page.check(f"#attendance-form input[value='{TEACHER_A}']")
    async with page.expect_navigation():
        await page.click("#attendance-form button[type=submit]")
    assert "签到已记录" in await page.locator("#attendance-result").inner_text()
    assert await page.is_checked(f"#attendance-form input[value='{TEACHER_A}']")
    attended, rate = await _rate(page, TEACHER_A)
    assert attended == "1/2"
    assert (await _rate(page, TEACHER_B))[0] == "0/2"
    # The page shows the API's own figures, read after the write.
    r = await bank.client.get(
        f"/v1/schools/{SCHOOL}/inspection", params={"term": "2026-2027-1"}, headers=bank.auth("school")
    )
    answer = {t["learner_id"]: t for t in (await r.json())["attendance"]["teachers"]}
    # As a percentage, the way the inspection's xlsx shows it (0.5 -> 50.0%).
    assert rate == f"{Decimal(str(answer[TEACHER_A]['rate'])) * 100:.1f}%" == "50.0%"
    assert answer[TEACHER_A]["attended"] == 1
    assert "已出勤，已记学时" in await page.locator(f".ticks li[data-learner='{TEACHER_A}'] .line-status").inner_text()
    await shot(page, "school")

    # The inspection as xlsx, through the session (no bearer token in the browser).
    reply = await page.request.get(bank.base + await page.get_attribute("#inspection-xlsx", "href"))
    assert reply.status == 200 and reply.headers["content-type"].startswith(XLSX)
    book = openpyxl.load_workbook(io.BytesIO(await reply.body()))
    cells = {str(c.value) for sheet in book.worksheets for row in sheet.iter_rows() for c in row}
    assert TEACHER_A in cells

    # A school token may not open HR's or the auditor's pages.
    for path in ("/console/hr", "/console/learners", "/console/auditor"):
        r = await page.goto(bank.base + path)
        assert r is not None and r.status == 403, path
    await page.context.close()


async def test_other_roles_may_not_open_the_school_pages(browser: Any, bank: Console) -> None:
    for role in ("hr", "institution", "learner"):
        page = await signed_in(browser, bank, role)
        for path in ("/console/school", "/console/school/inspection.xlsx"):
            r = await page.goto(bank.base + path)
            assert r is not None and r.status == 403, (role, path)
        await page.context.close()


async def test_an_unticked_teacher_is_posted_absent_with_the_reason_typed_beside_the_name(
    browser: Any, bank: Console
) -> None:
    await _school_with_sessions(bank)
    page = await signed_in(browser, bank, "school")
    await page.locator(".sheet-link").nth(0).click()
    await page.wait_for_selector("#attendance-form")
    await page.check(f"#attendance-form input[value='{TEACHER_A}']")
    await page.fill(f"#attendance-form input[name='absent-{TEACHER_B}']", "病假")
    async with page.expect_navigation():
        await page.click("#attendance-form button[type=submit]")
    assert "签到已记录" in await page.locator("#attendance-result").inner_text()
    absent = await page.locator(f".ticks li[data-learner='{TEACHER_B}'] .line-status").inner_text()
    assert absent == "缺席（病假）"
    present = await page.locator(f".ticks li[data-learner='{TEACHER_A}'] .line-status").inner_text()
    assert present == "已出勤，已记学时"
    assert (await _rate(page, TEACHER_B))[0] == "0/2"

    # Opened again later (a fresh load of the sheet's link): the ticks and the reason are the
    # API's read of the sheet on record, not what the browser remembered.
    await page.goto(bank.base + "/console/school?term=2026-2027-1&session=2026-11-24-tue")
    await page.wait_for_selector("#attendance-form")
    assert await page.inner_text("#sheet-recorded") == "已记录的签到表"
    assert await page.is_checked(f"#attendance-form input[value='{TEACHER_A}']")
    assert not await page.is_checked(f"#attendance-form input[value='{TEACHER_B}']")
    assert await page.input_value(f"#attendance-form input[name='absent-{TEACHER_B}']") == "病假"
    assert await page.inner_text(f".ticks li[data-learner='{TEACHER_B}'] .line-status") == "缺席（病假）"
    assert await page.inner_text(f".ticks li[data-learner='{TEACHER_A}'] .line-status") == "已出勤"
    # Thursday's sheet was never posted: nothing ticked, no reason.
    await page.goto(bank.base + "/console/school?term=2026-2027-1&session=2026-11-26-thu")
    await page.wait_for_selector("#attendance-form")
    assert await page.inner_text("#sheet-recorded") == "尚未记录签到"
    assert await page.locator("#attendance-form input[name=present]:checked").count() == 0
    assert await page.locator(".ticks .line-status").count() == 0
    await page.context.close()


async def test_the_coordinator_records_a_session_and_a_refusal_names_the_field_in_chinese(
    browser: Any, bank: Console
) -> None:
    await _school_with_sessions(bank)
    page = await signed_in(browser, bank, "school")
    assert await page.locator("#week tbody tr").count() == 2
    form = page.locator("#session-form")
    await form.locator("input[name=session_id]").fill("2026-11-25-wed")
    await form.locator("input[name=held_on]").fill("2026-11-25")
    await form.locator("input[name=slot]").fill("wednesday")  # not a weekday-period slot
    await form.locator("input[name=content_key]").fill("w48-maths")
    await form.locator("input[name=programme_code]").fill("SB-2026")
    await form.locator("input[name=programme_title]").fill("数学课堂观察")
    await form.locator("input[name=hours]").fill("1.5")
    await form.locator("select[name=instructor]").select_option(PRINCIPAL)
    async with page.expect_navigation():
        await form.locator("button[type=submit]").click()
    refusal = await page.inner_text("#session-result")
    assert "请求中有无效的字段" in refusal and "slot" in refusal
    assert "The request" not in refusal  # the API's Chinese words, not English beside them
    # The form comes back as it was filled; correct the slot and record it.
    assert await form.locator("input[name=programme_title]").input_value() == "数学课堂观察"
    await form.locator("input[name=slot]").fill("wed-3")
    async with page.expect_navigation():
        await form.locator("button[type=submit]").click()
    assert "培训已记录" in await page.inner_text("#session-result")
    week = page.locator("#week tbody tr")
    assert await week.count() == 3 and "数学课堂观察" in await week.nth(1).inner_text()
    r = await bank.client.get(
        f"/v1/schools/{SCHOOL}/inspection", params={"term": "2026-2027-1"}, headers=bank.auth("school")
    )
    held = [s["session_id"] for s in (await r.json())["sessions"]["list"]]
    assert "2026-11-25-wed" in held and len(held) == 3
    await page.context.close()


async def test_the_coordinator_files_the_plan_and_another_plan_for_the_year_is_refused(
    browser: Any, bank: Console
) -> None:
    await _school_with_sessions(bank)
    page = await signed_in(browser, bank, "school")
    assert "尚未提交本学年培训计划" in await page.inner_text("#plan")
    form = page.locator("#plan-form")
    assert await form.locator("input[name=school_year]").input_value() == "2026-2027"
    await form.locator("input[name=title]").fill("2026-2027学年校本研修计划")
    await form.locator("input[name=filed_on]").fill("2026-09-10")
    await form.locator("input[name=document_sha256]").fill("ab" * 32)
    async with page.expect_navigation():
        await form.locator("button[type=submit]").click()
    assert "培训计划已备案" in await page.inner_text("#plan-result")
    assert "2026-2027学年校本研修计划" in await page.inner_text("#plan")
    # Another plan for the same year: the ledger keeps the first; the refusal is in Chinese.
    await form.locator("input[name=title]").fill("另一份计划")
    await form.locator("input[name=filed_on]").fill("2026-09-12")
    await form.locator("input[name=document_sha256]").fill("cd" * 32)
    async with page.expect_navigation():
        await form.locator("button[type=submit]").click()
    refusal = await page.inner_text("#plan-result")
    assert "school_year" in refusal and not any(word in refusal for word in ("filed another", "The "))
    r = await bank.client.get(
        f"/v1/schools/{SCHOOL}/inspection", params={"term": "2026-2027-1"}, headers=bank.auth("school")
    )
    assert (await r.json())["plan"]["title"] == "2026-2027学年校本研修计划"
    await page.context.close()


async def test_the_page_shows_the_term_calendar_of_the_jurisdiction(browser: Any, bank: Console) -> None:
    await _school_with_sessions(bank)
    page = await signed_in(browser, bank, "school")
    r = await bank.client.get(
        f"/v1/schools/{SCHOOL}/inspection", params={"term": "2026-2027-1"}, headers=bank.auth("school")
    )
    body = await r.json()
    span = body["term_span"]
    assert await page.inner_text("#term-span") == f"{span['from']} — {span['to']}"
    assert await page.inner_text("#sessions-per-week") == str(body["sessions"]["required_per_week"])
    threshold = Decimal(str(body["attendance"]["threshold"]))
    assert await page.inner_text("#calendar-threshold") == f"{threshold * 100:.1f}%"
    await page.context.close()
