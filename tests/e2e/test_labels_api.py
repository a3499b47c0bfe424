"""Worked examples over HTTP of what the console and API users share: labels as data, problem
details in Chinese for a reader who asks, spreadsheets (xlsx beside CSV) that open with every
digit, and the contract's page served whole by the bank.

A 绿园区 HR office downloads its teacher_cycle cohort as xlsx: the teacher number 220106201500009
comes back as a text cell with all 15 digits, 王芳's name as written, the day judged as a date;
with ``Accept-Language: zh`` the headers are Chinese. An institution that posts 2.555 hours is
told in Chinese what is wrong and in which field; a client that asks for nothing still reads
the contract's English.
"""

from __future__ import annotations

import io
import re
from datetime import datetime
from zoneinfo import ZoneInfo

from openpyxl import load_workbook

from api.service.spreadsheet import XLSX_TYPE
from tests.e2e.conftest import Bank, completion, seed, settle

NUMBER = "220106201500009"
ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}


async def _teacher(bank: Bank) -> int:
    await seed(bank)
    r = await bank.client.post(
        "/v1/learners",
        headers=bank.auth("hr"),
        json={
            "learner_id": NUMBER,
            "name": "王芳",
            "jurisdiction": "220106",
            "school": "绿园区第一实验小学",
            "hired_on": "2015-09-01",
            "roles": [{"role": "teacher", "since": "2015-09-01"}],
        },
    )
    assert r.status == 201, await r.text()
    r = await bank.client.post("/v1/completions", headers=bank.auth("institution"), json=completion("X-1", NUMBER))
    assert r.status == 201, await r.text()
    return await settle(bank)


async def test_the_vocabulary_labels_every_code_problem_and_column(bank: Bank) -> None:
    r = await bank.client.get("/v1/vocabulary", headers=bank.auth("learner"))
    body = await r.json()
    assert r.status == 200 and body["jurisdiction"] == "CN", body
    codes = body["codes"]
    for field in (
        "category",
        "level",
        "assessment",
        "role",
        "appraisal_grade",
        "certificate",
        "target",
        "token_role",
        "problem",
        "column",
    ):
        assert codes[field], field
        for code, label in codes[field].items():
            assert label["zh"] and label["en"] and label["source"] == "CN", (field, code)
    assert codes["problem"]["hours_invalid"] == {
        "zh": "学时无效",
        "en": codes["problem"]["hours_invalid"]["en"],
        "source": "CN",
    }
    assert codes["problem"]["unauthenticated"]["zh"] == "需要有效的令牌"
    assert codes["token_role"]["hr"]["zh"] == "人事部门"
    assert codes["column"]["learner_id"] == {"zh": "教师编号", "en": "teacher number", "source": "CN"}
    assert codes["target"]["teacher_annual"]["zh"] == "教师年度培训"


async def test_the_vocabulary_as_of_a_day_is_what_was_in_force_and_known_then(bank: Bank) -> None:
    document = {
        "jurisdiction": "330300",
        "effective_from": "2024-01-01",
        "categories": {"special_education": {"zh": "特殊教育", "en": "special education"}},
    }
    r = await bank.client.post("/v1/vocabularies", headers=bank.auth("admin"), json=document)
    assert r.status == 201, await r.text()
    position = await settle(bank)
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    url = "/v1/vocabulary?jurisdiction=330300"
    r = await bank.client.get(f"{url}&as_of={today}&min_position={position}", headers=bank.auth("hr"))
    body = await r.json()
    assert body["on"] == today and body["codes"]["category"]["special_education"]["source"] == "330300", body
    # Before it was published, nobody knew of it: as of 2025-06-30 it is not there.
    r = await bank.client.get(f"{url}&as_of=2025-06-30", headers=bank.auth("hr"))
    body = await r.json()
    assert body["on"] == "2025-06-30" and "special_education" not in body["codes"]["category"], body
    assert body["position"] == 0
    # Known now, but not yet in force on a day before it took effect.
    r = await bank.client.get(f"{url}&on=2023-12-31", headers=bank.auth("hr"))
    assert "special_education" not in (await r.json())["codes"]["category"]
    r = await bank.client.get(f"{url}&as_of=2025-06-30&at_position=1", headers=bank.auth("hr"))
    assert r.status == 422 and (await r.json())["code"] == "validation_failed"


async def test_problems_are_chinese_for_a_reader_who_prefers_chinese(bank: Bank) -> None:
    await seed(bank)
    bad = completion("H-1", hours="2.555")
    r = await bank.client.post("/v1/completions", headers={**bank.auth("institution"), **ZH}, json=bad)
    body = await r.json()
    assert r.status == 422 and r.headers["Content-Language"] == "zh", body
    assert "Accept-Language" in r.headers["Vary"]
    assert body["code"] == "validation_failed" and "hours" in body["errors"], body
    assert body["title"] == "请求中有无效的字段"
    assert body["detail"] == "请求中有字段缺失、多余或取值不符合要求。（字段：hours）"
    assert body["errors"] == {"hours": ["2.555 超过两位小数。"]}

    # The same refusal for a client that asks for nothing: the contract's English.
    r = await bank.client.post("/v1/completions", headers=bank.auth("institution"), json=bad)
    body = await r.json()
    assert r.headers["Content-Language"] == "en"
    assert body["title"] == "The request has invalid fields" and body["detail"] == "invalid: hours", body
    assert body["errors"] == {"hours": ["2.555 has more than two decimal places"]}

    # A rule of the ledger, named by its field path.
    future = completion("H-2", completed_on="2099-01-01")
    r = await bank.client.post("/v1/completions", headers={**bank.auth("institution"), **ZH}, json=future)
    body = await r.json()
    assert r.status == 422 and body["code"] == "completion_in_future", body
    assert body["title"] == "结业日期晚于今天"
    assert body["detail"] == "结业日期不能晚于今天。（字段：completed_on）"
    assert body["errors"] == {"completed_on": ["结业日期不能晚于今天。"]}

    # A batch answers each rejected item in Chinese too, naming its field path; the rest stand.
    batch = {"completions": [completion("B-1"), bad, future, completion("B-1")]}
    r = await bank.client.post("/v1/completions", headers={**bank.auth("institution"), **ZH}, json=batch)
    body = await r.json()
    assert r.status == 207, body
    recorded, hours, dated, repeated = body["results"]
    assert recorded["status"] == "recorded" and "title" not in recorded
    assert hours["code"] == "validation_failed" and hours["detail"].endswith("（字段：hours）"), hours
    assert list(hours["errors"].values()) == [["2.555 超过两位小数。"]]
    assert dated["title"] == "结业日期晚于今天" and dated["detail"] == "结业日期不能晚于今天。（字段：completed_on）"
    assert repeated["code"] == "repeated_in_batch" and repeated["title"] == "同一批中重复的条目", repeated

    r = await bank.client.get("/v1/learners/NOBODY", headers={**bank.auth("hr"), "Accept-Language": "zh"})
    body = await r.json()
    assert r.status == 404 and body["code"] == "learner_not_found"
    assert body["title"] == "无此教师" and body["detail"] == "未找到该教师的记录，请核对教师编号。"

    r = await bank.client.get("/v1/learners/T-0001", headers=ZH)
    body = await r.json()
    assert r.status == 401 and body["title"] == "需要有效的令牌", body
    # English wins when the reader ranks it first.
    r = await bank.client.get("/v1/learners/T-0001", headers={"Accept-Language": "en-GB,en;q=0.9,zh;q=0.8"})
    assert (await r.json())["title"] == "A bearer token is required"


async def test_a_cohort_as_xlsx_opens_with_every_digit_and_chinese_headers(bank: Bank) -> None:
    position = await _teacher(bank)
    url = f"/v1/eligibility?target=teacher_cycle&jurisdiction=220106&min_position={position}"
    r = await bank.client.get(url, headers={**bank.auth("hr"), "Accept": XLSX_TYPE, **ZH})
    assert r.status == 200, await r.text()
    assert r.headers["Content-Type"] == XLSX_TYPE
    assert r.headers["Content-Disposition"] == 'attachment; filename="eligibility-teacher_cycle-220106.xlsx"'
    sheet = load_workbook(io.BytesIO(await r.read()))["teacher_cycle"]
    header, *rows = list(sheet.iter_rows())
    heads = [c.value for c in header]
    assert heads == [
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
    by_number = {row[0].value: row for row in rows}
    assert set(by_number) == {NUMBER, "T-0001", "P-0001"}
    teacher = by_number[NUMBER]
    assert teacher[0].data_type == "s" and teacher[0].number_format == "@"  # text: not 2.20106E+14
    assert teacher[1].value == "王芳" and teacher[2].value == "绿园区第一实验小学"
    assert teacher[3].value == "220106" and teacher[3].data_type == "s"
    assert teacher[4].value == "教师周期培训"  # the target's label, as the headers are Chinese
    judged = (await (await bank.client.get(url, headers=bank.auth("hr"))).json())["on"]
    assert teacher[5].is_date and teacher[5].value.date().isoformat() == judged
    assert teacher[6].value in {"是", "否"}
    if teacher[6].value == "否":
        assert "学时" in teacher[8].value  # what is missing, in Chinese words
    assert teacher[9].value == position and teacher[9].data_type == "n"

    # English words by ?lang=en; the stable codes when nothing is asked (programs read those).
    r = await bank.client.get(url + "&lang=en", headers={**bank.auth("hr"), "Accept": XLSX_TYPE})
    english = load_workbook(io.BytesIO(await r.read())).active
    assert english is not None
    assert [c.value for c in next(english.iter_rows())][:2] == ["teacher number", "name"]
    r = await bank.client.get(url, headers={**bank.auth("hr"), "Accept": "text/csv", **ZH})
    raw = await r.read()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("教师编号,姓名,学校")
    assert any(line.startswith(f"'{NUMBER},王芳,") for line in lines[1:]), lines
    r = await bank.client.get(url, headers={**bank.auth("hr"), "Accept": "text/csv"})
    assert (await r.read()).decode("utf-8-sig").startswith("learner_id,name,school")
    r = await bank.client.get(url + "&lang=fr", headers={**bank.auth("hr"), "Accept": XLSX_TYPE})
    assert r.status == 422 and "lang" in (await r.json())["errors"]


async def test_an_institution_month_as_xlsx(bank: Bank) -> None:
    await _teacher(bank)
    month = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    r = await bank.client.get(
        f"/v1/audit/institutions/JLU-TTC?month={month}&lang=zh", headers={**bank.auth("auditor"), "Accept": XLSX_TYPE}
    )
    assert r.status == 200 and r.headers["Content-Type"] == XLSX_TYPE, await r.text()
    sheet = load_workbook(io.BytesIO(await r.read()))[month]
    header, posted, *_ = list(sheet.iter_rows())
    assert [c.value for c in header][:4] == ["机构编号", "月份", "部分", "类型"]
    assert posted[0].value == "JLU-TTC" and posted[0].data_type == "s"
    assert posted[2].value == "posted" and posted[6].value == 1
    assert str(posted[7].value) == "2.5" and posted[7].data_type == "n"


async def test_the_docs_page_and_its_assets_are_served_by_the_bank(bank: Bank) -> None:
    r = await bank.client.get("/docs")
    page = await r.text()
    assert r.status == 200 and r.content_type == "text/html"
    assert "default-src 'self'" in r.headers["Content-Security-Policy"]
    assert not re.search(r"(https?:)?//[a-z]", page, re.IGNORECASE), "the page names another host"
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert {"/docs/assets/swagger-ui-bundle.js", "/docs/assets/docs.js", "/docs/assets/swagger-ui.css"} <= set(assets)
    for asset in (a for a in assets if a.startswith("/docs/assets/")):
        r = await bank.client.get(asset)
        assert r.status == 200, asset
        assert r.headers["Cache-Control"] == "public, max-age=86400"
        if asset.endswith("swagger-ui-bundle.js"):
            assert "SwaggerUIBundle" in await r.text()
    r = await bank.client.get("/docs/assets/docs.js")
    script = await r.text()
    assert 'url: "/openapi.json"' in script and "validatorUrl: null" in script
    assert "http" not in script
    r = await bank.client.get("/docs/assets/swagger-ui.css")
    assert not re.search(r"url\((?![\"']?data:)", await r.text()), "the stylesheet loads something from elsewhere"
    assert (await bank.client.get("/docs/assets/LICENSE")).status == 200
    assert (await bank.client.get("/docs/assets/index.html")).status == 404
    assert (await bank.client.get("/docs/assets/..%2Fdocs.html")).status == 404
    # The token typed under Authorize is the document's bearer scheme.
    spec = await (await bank.client.get("/openapi.json")).json()
    assert spec["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
