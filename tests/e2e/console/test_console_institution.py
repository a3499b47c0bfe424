"""An institution uploads completions from a spreadsheet: a dry run decided on the ledger, a
commit, a re-upload that records nothing; 2,000 rows with 3 bad ones rejected in Chinese with
their column, fixed and uploaded again with nothing doubled; the column mapping remembered."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.e2e.conftest import settle
from tests.e2e.console.conftest import TEACHERS, Console, shot, signed_in, upload, workbook

HEADERS = ["记录编号", "教师编号", "课程代码", "课程名称", "类别", "级别", "学时", "考核结果", "完成日期"]


async def _upload(page: Any, bank: Console, path: Path) -> None:
    await upload(page, bank.base + "/console/institution/upload", path)


async def _press(page: Any, selector: str) -> None:
    async with page.expect_navigation():
        await page.click(selector)


async def _events(bank: Console) -> int:
    r = await bank.client.get("/readyz")
    return int((await r.json())["position"])


async def test_upload_dry_run_then_commit_then_the_same_file_again(browser: Any, bank: Console, tmp_path: Path) -> None:
    rows = [
        # A teacher number as Excel stores it (a number), a date cell, labels in Chinese.
        [
            "ETH-1",
            220106201500001,
            "ETH-2026",
            "师德师风专题",
            "师德/职业道德",
            "省级",
            2.5,
            "合格",
            datetime(2026, 5, 10),
        ],
        ["ETH-2", "220106201500003", "ETH-2026", "师德师风专题", "ethics", "provincial", "3", "pass", "2026-05-11"],
        ["ONL-1", "220106201500003", "ONL-7", "网络研修", "远程/网络研修", "国家级", 12, "优秀", "2026-06-01"],
    ]
    path = workbook(tmp_path / "completions.xlsx", HEADERS, rows)
    page = await signed_in(browser, bank, "institution")
    await shot(page, "institution")
    before = await _events(bank)

    await _upload(page, bank, path)
    assert "尚未保存" in await page.inner_text("#dry-run-note")
    assert await page.inner_text("#n-recorded") == "3"
    assert await _events(bank) == before  # the dry run saved nothing
    await shot(page, "upload-dry-run")

    await _press(page, "#commit")
    assert await page.inner_text("#n-recorded") == "3"
    assert "已提交" in await page.inner_text("#committed")
    await settle(bank)
    r = await bank.client.get("/v1/learners/220106201500003/balance", headers=bank.auth("hr"))
    balance = await r.json()
    assert balance["by_category"]["ethics"]["hours"] == "3" and balance["by_category"]["online"]["hours"] == "12"
    r = await bank.client.get("/v1/learners/220106201500001/balance", headers=bank.auth("hr"))
    assert (await r.json())["total"]["hours"] == "2.5"

    # The same file again: the dry run says duplicate, the commit records nothing and says so.
    after = await _events(bank)
    await _upload(page, bank, path)
    assert await page.inner_text("#n-duplicate") == "3" and await page.inner_text("#n-recorded") == "0"
    await _press(page, "#commit")
    assert "没有记录任何新内容" in await page.inner_text("#nothing-new")
    assert await _events(bank) == after
    await page.context.close()


def _big(bad: bool) -> list[list[Any]]:
    numbers = [t[0] for t in TEACHERS]
    start = date(2025, 1, 1)
    rows = [
        [
            f"B-{i:05d}",
            numbers[i % 5],
            "ONL-9",
            "网络研修：作业设计",
            "远程/网络研修",
            "国家级",
            "1",
            "合格",
            (start + timedelta(days=i % 600)).isoformat(),
        ]
        for i in range(2000)
    ]
    if bad:
        rows[10][1] = "220106209999999"  # no such teacher
        rows[500][6] = "1.234"  # three decimal places
        rows[1500][4] = "高级研修"  # a category outside the accreditation
    return rows


async def test_two_thousand_rows_three_rejected_in_chinese_fixed_and_nothing_doubled(
    browser: Any, bank: Console, tmp_path: Path
) -> None:
    # The registrar's own headers: the teacher number is "工号"; the mapping is chosen once.
    headers = [h if h != "教师编号" else "工号" for h in HEADERS]
    page = await signed_in(browser, bank, "institution")
    await _upload(page, bank, workbook(tmp_path / "bad.xlsx", headers, _big(bad=True)))
    assert await page.inner_text("#n-rejected") == "2000"  # no column is the teacher number yet
    await page.select_option("select[name='map.learner_id']", "工号")
    await _press(page, "#dry-run-again")
    assert await page.inner_text("#n-recorded") == "1997"
    assert await page.inner_text("#n-rejected") == "3"
    rejected = page.locator("tr.row-rejected")
    assert await rejected.count() == 3
    found = {}
    for i in range(3):
        cells = await rejected.nth(i).locator("td").all_inner_texts()
        found[cells[0]] = (cells[2], cells[3])
    assert found == {
        "12": ("无此教师", "B 工号"),
        "502": ("学时须为正数，最多两位小数", "G 学时"),
        "1502": ("超出机构的认定范围", "E 类别"),
    }
    await shot(page, "upload-rejections")
    await _press(page, "#commit")
    assert await page.inner_text("#n-recorded") == "1997"

    # Fixed, and uploaded again: the mapping is remembered, nothing is doubled.
    fixed = _big(bad=False)
    await _upload(page, bank, workbook(tmp_path / "fixed.xlsx", headers, fixed))
    assert await page.input_value("select[name='map.learner_id']") == "工号"
    assert await page.inner_text("#n-recorded") == "3" and await page.inner_text("#n-duplicate") == "1997"
    await _press(page, "#commit")
    assert await page.inner_text("#n-recorded") == "3"
    await settle(bank)
    total = Decimal(0)
    for number, *_ in TEACHERS:
        r = await bank.client.get(f"/v1/learners/{number}/balance", headers=bank.auth("hr"))
        total += Decimal((await r.json())["total"]["hours"])
    assert total == 2000  # each of the 2,000 rows once, 1 h each
    await page.context.close()


async def test_an_institution_uploads_csv_and_revokes_its_own_record(
    browser: Any, bank: Console, tmp_path: Path
) -> None:
    path = tmp_path / "records.csv"
    lines = [",".join(HEADERS), "C-1,220106201500004,ETH-9,师德专题,师德/职业道德,县(区)级,4,合格,2026-04-01"]
    path.write_bytes(("\n".join(lines) + "\n").encode("gb18030"))  # as Excel saves CSV in China
    page = await signed_in(browser, bank, "institution")
    await _upload(page, bank, path)
    assert await page.inner_text("#n-recorded") == "1"
    await _press(page, "#commit")
    await page.goto(bank.base + "/console/institution")
    assert "吉林省教师培训学院" in await page.inner_text("#provider-name")
    assert "师德/职业道德" in await page.inner_text("#accreditation")
    for expected in ("已撤销，该学时", "此前已撤销"):
        await page.fill("input[name=record_id]", "C-1")
        await page.fill("input[name=reason]", "学员信息有误")
        await _press(page, "#revocation-form button")
        assert expected in await page.inner_text("#revocation-result")
    await page.fill("input[name=record_id]", "NO-SUCH")
    await page.fill("input[name=reason]", "试试")
    await _press(page, "#revocation-form button")
    assert "无此培训记录" in await page.inner_text("#revocation-result")
    await settle(bank)
    r = await bank.client.get("/v1/learners/220106201500004/balance", headers=bank.auth("hr"))
    assert (await r.json())["total"]["hours"] == "0"
    await page.context.close()
