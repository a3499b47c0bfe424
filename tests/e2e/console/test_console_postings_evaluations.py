"""An institution's own postings (newest first, paged, by date range, revoked from the list,
downloaded as xlsx and CSV) and its learners' evaluation summary (nothing shown below five);
a teacher evaluates a programme from the console, in Chinese, and it leaves the pending list;
the plan says what remains before a chosen date."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import load_workbook

from tests.e2e.conftest import settle
from tests.e2e.console.conftest import TEACHERS, Console, shot, signed_in


def _completion(record_id: str, learner_id: str, completed_on: str, code: str = "ETH-2026") -> dict[str, Any]:
    return {
        "record_id": record_id,
        "learner_id": learner_id,
        "programme": {"code": code, "title": "师德师风专题", "category": "ethics", "level": "provincial"},
        "hours": "3",
        "assessment": "pass",
        "completed_on": completed_on,
    }


async def _post(bank: Console, items: list[dict[str, Any]]) -> int:
    r = await bank.client.post("/v1/completions", headers=bank.auth("institution"), json={"completions": items})
    body = await r.json()
    assert r.status == 207 and body["rejected"] == 0, body
    await settle(bank)
    return int(body["position"])


async def _press(page: Any, selector: str) -> None:
    async with page.expect_navigation():
        await page.click(selector)


async def test_an_institution_pages_filters_revokes_and_downloads_its_postings(browser: Any, bank: Console) -> None:
    numbers = [t[0] for t in TEACHERS]
    # 60 postings (more than a page of 50), on days from 2026-01-01 on; P-59 is the newest.
    await _post(
        bank, [_completion(f"P-{i:02d}", numbers[i % 5], f"2026-{1 + i // 28:02d}-{1 + i % 28:02d}") for i in range(60)]
    )
    page = await signed_in(browser, bank, "institution")
    await _press(page, "#postings-link")
    rows = page.locator("#postings tr.posting")
    assert await rows.count() == 50
    first = await rows.nth(0).locator("td").all_inner_texts()
    assert first[0] == "P-59" and first[1] == numbers[59 % 5] and first[4] == "3" and "已记录" in first[6]
    await _press(page, "#next-page")
    assert [await rows.nth(i).get_attribute("data-record") for i in range(await rows.count())] == [
        f"P-{i:02d}" for i in range(9, -1, -1)
    ]
    assert await page.locator("#next-page").count() == 0

    # Filter: February only (P-28..P-55), newest first.
    await page.goto(bank.base + "/console/institution/completions")
    await page.fill("input[name=from]", "2026-02-01")
    await page.fill("input[name=to]", "2026-02-28")
    await _press(page, "#postings-filter button")
    shown = [await rows.nth(i).get_attribute("data-record") for i in range(await rows.count())]
    assert shown == [f"P-{i:02d}" for i in range(55, 27, -1)]

    # Revoke one from the list: back on the same filtered list, the row now says revoked.
    row = page.locator("tr.posting[data-record='P-40']")
    await row.locator("input[name=reason]").fill("学员信息有误")
    await _press(page, "tr.posting[data-record='P-40'] button")
    assert "P-40" in await page.inner_text("#revocation-result")
    assert "2026-02-01" in page.url
    assert "已撤销" in await page.inner_text("tr.posting[data-record='P-40'] td.status")
    assert await page.locator("tr.posting[data-record='P-40'] form").count() == 0
    await shot(page, "institution-postings")

    async with page.expect_download() as xlsx_download:
        await page.click("#download-xlsx")
    path = await (await xlsx_download.value).path()
    sheet = load_workbook(io.BytesIO(path.read_bytes())).active
    table = list(sheet.iter_rows(values_only=True))
    assert table[0][:2] == ("记录编号", "教师编号") and len(table) == 1 + 28
    by_record = {r[0]: r for r in table[1:]}
    assert by_record["P-40"][9] == "已撤销" and by_record["P-40"][10] == "学员信息有误"
    # Category, level and assessment as the page's reader reads them, not as codes.
    assert by_record["P-41"][4:6] == ("师德/职业道德", "省级") and by_record["P-41"][9] == "已记录"
    assert by_record["P-41"][1] == numbers[41 % 5]  # the number as text, every digit

    async with page.expect_download() as csv_download:
        await page.click("#download-csv")
    raw = (await (await csv_download.value).path()).read_bytes()
    lines = io.StringIO(raw.decode("utf-8-sig")).read().splitlines()
    assert len(lines) == 1 + 28 and lines[1].startswith("'P-55,'")
    await page.context.close()


async def _teacher_page(browser: Any, bank: Console, number: str) -> Any:
    bank.tokens[number] = await bank.mint("learner", learner_id=number)
    page = await signed_in(browser, bank, number)
    await _press(page, "#evaluations-link")
    return page


async def _evaluate(page: Any, record_id: str, scores: tuple[int, int, int], comment: str = "") -> None:
    form = page.locator(f"form.evaluation[data-record='{record_id}']")
    for name, score in zip(("content", "teaching", "organisation"), scores, strict=True):
        await form.locator(f"select[name={name}]").select_option(str(score))
    if comment:
        await form.locator("textarea[name=comment]").fill(comment)
    async with page.expect_navigation():
        await form.locator("button[type=submit]").click()


async def test_teachers_evaluate_in_the_console_and_the_institution_sees_tallies_only_from_five(
    browser: Any, bank: Console
) -> None:
    numbers = [t[0] for t in TEACHERS]
    await _post(
        bank,
        [_completion(f"EV-{n}", n, "2026-03-02") for n in numbers]
        + [_completion("EV-ONL", numbers[0], "2026-03-09", code="ONL-1")],
    )
    page = await _teacher_page(browser, bank, numbers[0])
    assert "匿名" in await page.inner_text("#anonymity")
    assert await page.locator("form.evaluation").count() == 2
    # Each score starts unchosen ("请选择"); a form with one left so is not sent at all.
    first = page.locator("form.evaluation[data-record='EV-ONL']")
    for name in ("content", "teaching", "organisation"):
        chosen = first.locator(f"select[name={name}] option:checked")
        assert (await chosen.inner_text(), await chosen.get_attribute("value")) == ("请选择", "")
    await shot(page, "teacher-evaluations")
    await first.locator("select[name=content]").select_option("4")
    await first.locator("button[type=submit]").click()
    assert await first.locator("select[name=teaching]").evaluate("s => s.validity.valueMissing") is True
    assert page.url.endswith("/console/me/evaluations") and await page.locator("#evaluated").count() == 0
    stale = await page.context.new_page()  # the same list in a second tab, left as it is
    await stale.goto(bank.base + "/console/me/evaluations")
    await _evaluate(page, "EV-ONL", (2, 3, 4))
    assert "评价已提交" in await page.inner_text("#evaluated")
    assert [await f.get_attribute("data-record") for f in await page.locator("form.evaluation").all()] == [
        f"EV-{numbers[0]}"
    ]
    # The stale tab's form for the same completion: refused in Chinese, nothing counted twice.
    await _evaluate(stale, "EV-ONL", (5, 5, 5))
    assert "该培训已评价过" in await stale.inner_text("#evaluation-refused")
    await stale.close()
    await _evaluate(page, f"EV-{numbers[0]}", (5, 5, 4), "案例很实用")
    assert await page.locator("form.evaluation").count() == 0
    assert "没有待评价" in await page.inner_text("#no-pending")
    await page.context.close()

    # Four colleagues: ETH-2026 has five now; ONL-1 keeps one, and shows no number.
    institution = await signed_in(browser, bank, "institution")
    for n, score in zip(numbers[1:4], (4, 3, 5), strict=True):
        teacher = await _teacher_page(browser, bank, n)
        await _evaluate(teacher, f"EV-{n}", (score, 4, 4))
        await teacher.context.close()
    await institution.goto(bank.base + "/console/institution")
    eth = institution.locator("tr.programme-evaluation[data-programme='ETH-2026']")
    assert "不足 5 份" in await eth.inner_text()
    assert not any(ch.isdigit() for ch in (await eth.inner_text()).replace("ETH-2026", "").replace("5", ""))
    teacher = await _teacher_page(browser, bank, numbers[4])
    await _evaluate(teacher, f"EV-{numbers[4]}", (4, 4, 5), "组织有序")
    await teacher.context.close()
    await settle(bank)
    await institution.goto(bank.base + "/console/institution")
    cells = await eth.locator("td").all_inner_texts()
    assert cells[1] == "5" and cells[2] == "4.20"  # content: 5, 4, 3, 5, 4
    assert "案例很实用" in cells[5] and "组织有序" in cells[5]
    onl = institution.locator("tr.programme-evaluation[data-programme='ONL-1']")
    assert "不足 5 份" in await onl.inner_text()
    assert "师德/职业道德" in await institution.inner_text("#accreditation")
    await shot(institution, "institution-evaluations")
    await institution.context.close()


async def test_the_teachers_plan_says_what_remains_before_a_chosen_date(browser: Any, bank: Console) -> None:
    number = TEACHERS[0][0]  # a teacher: the annual 90 h online apply
    await _post(bank, [_completion("PL-1", number, "2026-03-02")])
    bank.tokens["plan"] = await bank.mint("learner", learner_id=number)
    page = await signed_in(browser, bank, "plan")
    await page.goto(bank.base + "/console/me?plan_target=teacher_annual&on=2026-06-30")
    plan = await page.inner_text("#plan")
    assert "2026-06-30" in plan and "远程/网络研修" in plan
    await page.select_option("select[name=plan_target]", "teacher_annual")
    await page.fill("input[name=on]", "2026-09-30")
    await _press(page, "#plan-form button")
    assert "2026-09-30" in await page.inner_text("#plan") and "on=2026-09-30" in page.url
    await page.context.close()
