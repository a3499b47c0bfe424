"""An HR officer finds who is short for teacher_annual, clicks into one teacher and sees why,
downloads the list (xlsx and CSV) with every number intact, finds a teacher by name
(the roster upload: ``test_console_roster.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from tests.e2e.conftest import settle
from tests.e2e.console.conftest import Console, shot, signed_in


def _online(record_id: str, learner_id: str, hours: str) -> dict[str, Any]:
    return {
        "record_id": record_id,
        "learner_id": learner_id,
        "programme": {"code": "ONL-1", "title": "网络研修：课堂教学", "category": "online", "level": "national"},
        "hours": hours,
        "assessment": "pass",
        "completed_on": "2026-05-10",
    }


async def _hours(bank: Console) -> None:
    r = await bank.client.post(
        "/v1/completions",
        headers=bank.auth("institution"),
        json={"completions": [_online("ONL-A", "220106201500001", "95"), _online("ONL-B", "220106201500003", "30")]},
    )
    assert r.status == 207 and (await r.json())["recorded"] == 2
    await settle(bank)


async def _appraised(bank: Console) -> None:
    r = await bank.client.post(
        "/v1/learners/220106201500003/appraisals",
        headers=bank.auth("hr"),
        json={"school_year": "2025-2026", "grade": "excellent", "on": "2026-07-01"},
    )
    assert r.status == 201, await r.text()
    await settle(bank)


async def test_hr_finds_who_is_short_sees_why_and_downloads_the_list(
    browser: Any, bank: Console, tmp_path: Path
) -> None:
    await _hours(bank)
    await _appraised(bank)
    page = await signed_in(browser, bank, "hr")
    assert page.url.endswith("/console/hr")
    assert await page.inner_text("#count-eligible") == "1"
    short = await page.inner_text("#short")
    assert "张伟" in short and "王芳" not in short
    assert "远程/网络研修 60 学时" in short  # 90 h a year online, 30 h recorded
    await page.wait_for_function("document.querySelector('#school-chart').width > 0")
    await shot(page, "hr-cohort")
    await page.set_viewport_size({"width": 390, "height": 844})  # a phone
    await page.reload()
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390 + 1  # nothing runs off
    await shot(page, "hr-cohort-phone", full_page=False)
    await page.set_viewport_size({"width": 1200, "height": 900})

    # Click through to the teacher: the verdict, its requirement, source article and evidence.
    await page.click("text=220106201500003")
    await page.wait_for_load_state()
    assert "张伟" in await page.inner_text("#learner-name")
    verdict = await page.inner_text("#verdict-teacher_annual")
    assert "未达标" in verdict and "online-90h-a-year" in verdict and "90" in verdict and "30" in verdict
    assert "三(二)2(3)" in verdict  # the article of the district's plan
    # The evidence by position, linked to the page's evidence index (HR may not read the history).
    assert await page.locator("#verdict-teacher_annual a.evidence").count() == 1
    assert "远程/网络研修 30 学时" in await page.inner_text("#evidence-index")
    assert await page.inner_text("#total-hours") == "30"
    record = await page.inner_text("#service-record")
    assert "年度考核" in record and "2025-2026" in record and "优秀" in record
    assert "无权查看历史" in await page.inner_text("#history-hidden")  # HR may not read history (API)
    await shot(page, "learner")

    # The list as xlsx: teacher numbers are text cells, Chinese names right, cell by cell.
    await page.go_back()
    async with page.expect_download() as download:
        await page.click("#download-xlsx")
    saved = tmp_path / "cohort.xlsx"
    await (await download.value).save_as(saved)
    sheet = load_workbook(saved).worksheets[0]
    rows = list(sheet.iter_rows())
    assert [c.value for c in rows[0]] == [
        "教师编号",
        "姓名",
        "学校",
        "辖区",
        "考核目标",
        "判定日期",
        "是否达标",
        "未达标的规则",
        "尚缺学时",
        "日志位置",
    ]
    by_number = {r[0].value: r for r in rows[1:]}
    assert set(by_number) == {f"22010620150000{i}" for i in range(1, 6)}
    zhang = by_number["220106201500003"]
    assert zhang[0].data_type == "s" and zhang[0].number_format == "@"
    assert zhang[3].data_type == "s" and zhang[3].value == "220106"
    assert [c.value for c in zhang[1:5]] == ["张伟", "绿园区第二中学", "220106", "教师年度培训"]
    assert zhang[5].is_date and zhang[5].value.date().isoformat() == "2026-11-26"
    assert [c.value for c in zhang[6:9]] == [
        "否",
        "220106-teacher-training#online-90h-a-year",
        "远程/网络研修 60 学时（期限 2026-12-31）",
    ]
    assert by_number["220106201500001"][6].value == "是"

    # And as CSV: the byte order mark, Chinese headers, the number marked as text.
    async with page.expect_download() as download:
        await page.click("#download-csv")
    saved_csv = tmp_path / "cohort.csv"
    await (await download.value).save_as(saved_csv)
    with open(saved_csv, encoding="utf-8") as f:  # noqa: ASYNC230 - a small local file
        text = f.read()
    assert text.startswith("\ufeff教师编号,姓名,")
    assert "'220106201500003,张伟,绿园区第二中学,'220106,教师年度培训," in text
    await page.context.close()


async def test_hr_finds_a_teacher_by_name_or_number_within_its_scope(browser: Any, bank: Console) -> None:
    page = await signed_in(browser, bank, "hr")
    await page.goto(bank.base + "/console/learners?q=王")
    assert "220106201500001" in await page.inner_text("#found")
    await page.goto(bank.base + "/console/learners?q=220106201500004")
    assert "刘洋" in await page.inner_text("#found")
    await page.context.close()
    # An HR office of another district finds nobody of this one.
    page = await signed_in(browser, bank, "foreign_hr")
    await page.goto(bank.base + "/console/learners?q=王")
    assert "220106201500001" not in await page.inner_text("#found")
    response = await page.goto(bank.base + "/console/learners/220106201500001")
    assert response.status == 403
    await page.context.close()


async def test_hr_sees_who_reaches_25_years_this_school_year_and_downloads_them(
    browser: Any, bank: Console, tmp_path: Path
) -> None:
    veteran = {
        "learner_id": "220106200100001",
        "name": "周老师",
        "jurisdiction": "220106",
        "school": "绿园区第二中学",
        "hired_on": "2001-09-01",
        "roles": [{"role": "teacher", "since": "2001-09-01"}],
    }
    r = await bank.client.post("/v1/learners", headers=bank.auth("hr"), json={"learners": [veteran]})
    assert r.status == 207 and (await r.json())["recorded"] == 1
    await settle(bank)
    page = await signed_in(browser, bank, "hr")
    await page.click("header a[href='/console/hr/milestones']")
    await page.wait_for_load_state()
    table = await page.inner_text("#milestones")
    assert "220106200100001" in table and "周老师" in table and "2026-09-01" in table
    assert "220106201500001" not in table  # eleven years, not 25
    assert await page.inner_text("#count-25") == "1"
    await shot(page, "hr-milestones")

    # Asked for 11 and 25 years: the three teachers of 2015 join the veteran.
    await page.goto(bank.base + "/console/hr/milestones?role=teacher&years=11,25")
    assert await page.inner_text("#count-11") == "3"
    async with page.expect_download() as download:
        await page.click("#download-xlsx")
    saved = tmp_path / "milestones.xlsx"
    await (await download.value).save_as(saved)
    rows = list(load_workbook(saved).worksheets[0].iter_rows())
    assert [c.value for c in rows[0]][:7] == ["教师编号", "姓名", "学校", "辖区", "岗位", "任职年限", "达到日期"]
    by_number = {r[0].value: r for r in rows[1:]}
    assert set(by_number) == {"220106200100001", "220106201500001", "220106201500003", "220106201500004"}
    zhou = by_number["220106200100001"]
    assert zhou[0].data_type == "s" and zhou[1].value == "周老师" and zhou[5].value == 25
    assert zhou[6].value.date().isoformat() == "2026-09-01"
    await page.context.close()

    # Another district's HR office may not read this one's milestones (the API's 403).
    page = await signed_in(browser, bank, "foreign_hr")
    response = await page.goto(bank.base + "/console/hr/milestones?jurisdiction=220106")
    assert response.status == 403
    assert "220106200100001" not in await page.content()
    await page.context.close()
