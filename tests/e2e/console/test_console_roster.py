"""HR uploads a roster of 50 teachers, two rows bad: the dry run judges every row on the
ledger and saves nothing, shows each bad row's reason in Chinese with its column; the commit
registers the 48; the same file again registers nobody and says so. A CSV roster too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.e2e.conftest import settle
from tests.e2e.console.conftest import TEACHERS, Console, shot, signed_in, upload, workbook

HEADERS = ["教师编号", "姓名", "学校", "入职日期", "岗位", "任职起始"]
SURNAMES = "赵钱孙李周吴郑王冯陈"
GIVEN = "敏亮华静伟芳军洋艳勇"


def _roster() -> list[list[Any]]:
    rows: list[list[Any]] = [
        [
            220106202600001 + n,  # a number, as Excel stores a teacher number typed in
            SURNAMES[n % 10] + GIVEN[n // 10 % 10] + ("" if n < 10 else GIVEN[n % 10]),
            "绿园区第三小学" if n % 2 else "绿园区第四中学",
            "2026-09-01",
            "班主任" if n % 7 == 0 else "教师",
            "2026-09-01",
        ]
        for n in range(50)
    ]
    rows[10][3] = "2026-02-30"  # no such day
    rows[30][0], rows[30][1] = TEACHERS[0][0], "王小芳"  # registered already, as 王芳
    return rows


async def _upload(page: Any, bank: Console, path: Path) -> None:
    await upload(page, bank.base + "/console/hr/roster", path)


async def _commit(page: Any) -> None:
    async with page.expect_navigation():
        await page.click("#commit")


async def _head(bank: Console) -> int:
    r = await bank.client.get("/readyz")
    return int((await r.json())["position"])


async def _rejected(page: Any) -> dict[str, tuple[str, ...]]:
    rows = page.locator("#roster-results tr.row-rejected")
    found = {}
    for i in range(await rows.count()):
        cells = await rows.nth(i).locator("td").all_inner_texts()
        found[cells[0]] = (cells[1], cells[2], cells[4], cells[5])
    return found


async def test_a_roster_is_judged_first_then_registered_and_the_same_file_again_registers_nobody(
    browser: Any, bank: Console, tmp_path: Path
) -> None:
    path = workbook(tmp_path / "花名册.xlsx", HEADERS, _roster())
    page = await signed_in(browser, bank, "hr")
    await page.click("header a[href='/console/hr/roster']")
    await page.wait_for_load_state()
    before = await _head(bank)

    await _upload(page, bank, path)
    assert "尚未保存" in await page.inner_text("#dry-run-note")
    counts = [await page.inner_text(f"#n-{n}") for n in ("recorded", "duplicate", "rejected")]
    assert counts == ["48", "0", "2"]
    assert await _rejected(page) == {
        "12": ("220106202600011", "赵亮敏", "入职日期应为 YYYY-MM-DD", "D 入职日期"),
        "32": ("220106201500001", "王小芳", "该教师编号已登记且信息不同", "A 教师编号"),
    }
    assert await page.locator("#roster-results tr.row-recorded").count() == 48
    assert "将登记" in await page.inner_text("#roster-results tr.row-recorded >> nth=0")
    assert await _head(bank) == before  # the dry run saved nothing
    r = await bank.client.get("/v1/learners/220106202600001", headers=bank.auth("hr"))
    assert r.status == 404
    await shot(page, "roster-dry-run")

    await _commit(page)
    assert "已登记" in await page.inner_text("#committed")
    assert await page.inner_text("#n-recorded") == "48" and await page.inner_text("#n-rejected") == "2"
    await settle(bank)
    r = await bank.client.get("/v1/learners/220106202600050", headers=bank.auth("hr"))
    profile = await r.json()
    assert (profile["name"], profile["school"]) == ("陈伟勇", "绿园区第三小学")
    r = await bank.client.get("/v1/learners/220106202600001", headers=bank.auth("hr"))
    assert (await r.json())["roles"][0]["role"] == "head_teacher"  # 班主任, from its Chinese label
    r = await bank.client.get(f"/v1/learners/{TEACHERS[0][0]}", headers=bank.auth("hr"))
    assert (await r.json())["name"] == TEACHERS[0][1]  # the bad row changed nobody
    r = await bank.client.get("/v1/learners/220106202600011", headers=bank.auth("hr"))
    assert r.status == 404

    # The same file again: the dry run already says everyone is registered; nothing doubles.
    after = await _head(bank)
    await _upload(page, bank, path)
    assert "全部已登记" in await page.inner_text("#nothing-new")
    counts = [await page.inner_text(f"#n-{n}") for n in ("recorded", "duplicate", "rejected")]
    assert counts == ["0", "48", "2"]
    await _commit(page)
    assert "全部已登记" in await page.inner_text("#nothing-new")
    assert await page.inner_text("#n-recorded") == "0"
    await shot(page, "roster-again")
    assert await _head(bank) == after
    await page.context.close()


async def test_a_csv_roster_names_the_row_without_a_teacher_number(browser: Any, bank: Console, tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    lines = [
        ",".join(HEADERS),
        "220106202600101,赵敏,绿园区第三小学,2026-09-01,教师,2026-09-01",
        ",缺编号,绿园区第三小学,2026-09-01,教师,2026-09-01",
    ]
    path.write_bytes(("\n".join(lines) + "\n").encode("gb18030"))  # as Excel saves CSV in China
    page = await signed_in(browser, bank, "hr")
    await _upload(page, bank, path)
    assert await _rejected(page) == {"3": ("", "缺编号", "教师编号缺失或格式不正确", "A 教师编号")}
    await _commit(page)
    assert await page.inner_text("#n-recorded") == "1"
    await settle(bank)
    r = await bank.client.get("/v1/learners/220106202600101", headers=bank.auth("hr"))
    assert (await r.json())["name"] == "赵敏"
    await page.context.close()
