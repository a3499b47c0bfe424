"""School-based training over HTTP, as a school's training coordinator and the county's HR
would do it (issue 14's "done when").

绿园区第一实验小学 (2201060001) holds its sessions on Tuesday and Thursday, the third period,
the same content both days (seed 003). This week (TODAY is Thursday 2026-11-26) the
coordinator records Tuesday's and Thursday's session of 整本书阅读 and marks attendance;
each teacher is credited once. Last week's content was attended by the principal only.
"""

from __future__ import annotations

import io
from typing import Any

import openpyxl

from tests.conftest import TODAY
from tests.e2e.conftest import Bank, settle
from tests.e2e.test_privacy import _dump

SCHOOL = "2201060001"
RURAL = "2201060006"
#: Teacher numbers that look like numbers: a spreadsheet must still hold them as text.
PRINCIPAL = "220106197001010011"
TEACHER_A = "220106198501010021"
TEACHER_B = "220106199003150042"
RURAL_TEACHER = "220106199205050063"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def _post(bank: Bank, path: str, role_or_token: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    token = bank.tokens.get(role_or_token, role_or_token)
    r = await bank.client.post(path, headers={"Authorization": f"Bearer {token}"}, json=body)
    return r.status, await r.json()


def _session(session_id: str, held_on: str, slot: str, content_key: str, title: str) -> dict[str, Any]:
    return {
        "session_id": session_id,
        "held_on": held_on,
        "slot": slot,
        "content_key": content_key,
        "programme": {"code": "SB-2026-READ", "title": title},
        "hours": "1.5",
        "instructor": PRINCIPAL,
    }


async def _schools(bank: Bank) -> dict[str, str]:
    for school_id, name, kind in ((SCHOOL, "长春市绿园区第一实验小学", "urban"), (RURAL, "合心镇中心小学", "rural")):
        status, body = await _post(
            bank,
            "/v1/schools",
            "hr",
            {"school_id": school_id, "name": name, "jurisdiction": "220106", "kind": kind, "teachers": 60},
        )
        assert status == 201, body
    people = (
        (PRINCIPAL, "赵校长", SCHOOL, "principal"),
        (TEACHER_A, "李华", SCHOOL, "teacher"),
        (TEACHER_B, "王芳", SCHOOL, "teacher"),
        (RURAL_TEACHER, "张敏", RURAL, "teacher"),
    )
    roster = [
        {
            "learner_id": n,
            "name": name,
            "jurisdiction": "220106",
            "school": s,
            "hired_on": "2015-09-01",
            "roles": [{"role": role, "since": "2015-09-01"}],
        }
        for n, name, s, role in people
    ]
    r = await bank.client.post("/v1/learners", headers=bank.auth("hr"), json={"learners": roster})
    assert r.status == 207
    assert [i["status"] for i in (await r.json())["results"]] == ["recorded"] * 4
    return {
        "own": await bank.mint("school", school_id=SCHOOL),
        "rural": await bank.mint("school", school_id=RURAL),
    }


async def test_this_weeks_tuesday_and_thursday_of_the_same_content_credit_each_teacher_once(bank: Bank):
    tokens = await _schools(bank)
    own = tokens["own"]
    for body in (
        _session("2026-11-24-tue", "2026-11-24", "tue-3", "2026-w48-reading", "整本书阅读教学研讨"),
        _session("2026-11-26-thu", "2026-11-26", "thu-3", "2026-w48-reading", "整本书阅读教学研讨"),
    ):
        status, answer = await _post(bank, f"/v1/schools/{SCHOOL}/sessions", own, body)
        assert status == 201, answer
    # The same session again: a duplicate at the original position.
    status, again = await _post(bank, f"/v1/schools/{SCHOOL}/sessions", own, body)
    assert (status, again["status"], again["position"]) == (200, "duplicate", answer["position"])

    tue = {"present": [PRINCIPAL, TEACHER_A], "absent": [{"learner_id": TEACHER_B, "reason": "病假"}]}
    status, marked = await _post(bank, f"/v1/schools/{SCHOOL}/sessions/2026-11-24-tue/attendance", own, tue)
    assert status == 201, marked
    assert [(x["learner_id"], x["status"]) for x in marked["results"]] == [
        (PRINCIPAL, "credited"),
        (TEACHER_A, "credited"),
        (TEACHER_B, "absent"),
    ]
    thu = {"present": [TEACHER_A, TEACHER_B]}
    status, marked = await _post(bank, f"/v1/schools/{SCHOOL}/sessions/2026-11-26-thu/attendance", own, thu)
    assert status == 201, marked
    assert [(x["learner_id"], x["status"]) for x in marked["results"]] == [
        (TEACHER_A, "duplicate_content"),
        (TEACHER_B, "credited"),
    ]
    # Re-sending Thursday's sheet records nothing.
    status, resent = await _post(bank, f"/v1/schools/{SCHOOL}/sessions/2026-11-26-thu/attendance", own, thu)
    assert (status, resent["status"], resent["position"]) == (200, "duplicate", marked["position"])

    # The school reads its own teachers' balances: 1.5 h each, once.
    for teacher in (PRINCIPAL, TEACHER_A, TEACHER_B):
        r = await bank.client.get(
            f"/v1/learners/{teacher}/balance",
            params={"min_position": str(marked["position"])},
            headers={"Authorization": f"Bearer {own}"},
        )
        assert r.status == 200, await r.text()
        balance = await r.json()
        assert balance["by_category"]["school_based"]["hours"] == "1.5"
        assert len(balance["by_category"]["school_based"]["events"]) == 1


async def test_a_changed_sheet_is_a_correction_with_a_reason(bank: Bank):
    own = (await _schools(bank))["own"]
    await _post(bank, f"/v1/schools/{SCHOOL}/sessions", own, _session("s1", "2026-11-24", "tue-3", "w48", "研讨"))
    path = f"/v1/schools/{SCHOOL}/sessions/s1/attendance"
    await _post(bank, path, own, {"present": [TEACHER_A]})
    status, refused = await _post(bank, path, own, {"present": [TEACHER_B]})
    assert (status, refused["code"]) == (422, "attendance_sheet_invalid")
    assert "reason" in refused["errors"]
    status, corrected = await _post(bank, path, own, {"present": [TEACHER_B], "reason": "誊写错误"})
    assert status == 201
    assert {(x["learner_id"], x["status"]) for x in corrected["results"]} == {
        (TEACHER_B, "credited"),
        (TEACHER_A, "withdrawn"),
    }
    r = await bank.client.get(
        f"/v1/learners/{TEACHER_A}/balance",
        params={"min_position": str(corrected["position"])},
        headers=bank.auth("hr"),
    )
    assert "school_based" not in (await r.json())["by_category"]


async def test_county_hr_sees_every_school_ranked_with_teachers_below_threshold_and_downloads_xlsx(bank: Bank):
    tokens = await _schools(bank)
    own, rural = tokens["own"], tokens["rural"]
    sessions = (
        ("2026-11-17-tue", "2026-11-17", "tue-3", "2026-w47-maths"),
        ("2026-11-19-thu", "2026-11-19", "thu-3", "2026-w47-maths"),
        ("2026-11-24-tue", "2026-11-24", "tue-3", "2026-w48-reading"),
        ("2026-11-26-thu", "2026-11-26", "thu-3", "2026-w48-reading"),
    )
    for session_id, day, slot, content in sessions:
        status, _ = await _post(
            bank, f"/v1/schools/{SCHOOL}/sessions", own, _session(session_id, day, slot, content, "研讨")
        )
        assert status == 201
    sheets = {
        "2026-11-17-tue": {"present": [PRINCIPAL], "absent": [{"learner_id": TEACHER_B, "reason": "外出学习"}]},
        "2026-11-19-thu": {"present": [TEACHER_A]},
        "2026-11-24-tue": {"present": [PRINCIPAL, TEACHER_A, TEACHER_B]},
        "2026-11-26-thu": {"present": []},
    }
    for session_id, sheet in sheets.items():
        status, _ = await _post(bank, f"/v1/schools/{SCHOOL}/sessions/{session_id}/attendance", own, sheet)
        assert status == 201
    status, plan = await _post(
        bank,
        f"/v1/schools/{SCHOOL}/plans",
        own,
        {
            "school_year": "2026-2027",
            "title": "校本培训实施方案",
            "filed_on": "2026-09-10",
            "document_sha256": "ab" * 32,
        },
    )
    assert (status, plan["late"], plan["deadline"]) == (201, False, "2027-03-20")
    # The rural school holds one session a week and files no plan.
    r_session = _session("r1", "2026-11-24", "tue-3", "rural-w48", "农村教学研讨") | {"instructor": RURAL_TEACHER}
    status, last = await _post(bank, f"/v1/schools/{RURAL}/sessions", rural, r_session)
    assert status == 201
    status, last = await _post(bank, f"/v1/schools/{RURAL}/sessions/r1/attendance", rural, {"present": [RURAL_TEACHER]})
    assert status == 201
    position = str(last["position"])

    r = await bank.client.get(
        f"/v1/schools/{SCHOOL}/inspection",
        params={"term": "2026-2027-1", "min_position": position},
        headers=bank.auth("hr"),
    )
    assert r.status == 200, await r.text()
    report = await r.json()
    assert report["plan"]["on_time"] is True
    assert report["sessions"]["held"] == 4 and report["sessions"]["contents"] == 2
    assert report["sessions"]["required_per_week"] == 2
    rates = {t["learner_id"]: (t["attended"], t["held"], t["rate"]) for t in report["attendance"]["teachers"]}
    assert rates == {PRINCIPAL: (2, 2, "1"), TEACHER_A: (2, 2, "1"), TEACHER_B: (1, 2, "0.5")}
    assert report["attendance"]["below_threshold"] == [TEACHER_B]
    assert report["instructors"] == [{"learner_id": PRINCIPAL, "name": "赵校长", "sessions": 4, "principal": True}]

    r = await bank.client.get(
        "/v1/inspections", params={"jurisdiction": "220106", "term": "2026-2027-1"}, headers=bank.auth("hr")
    )
    ranking = await r.json()
    assert [(s["rank"], s["school_id"]) for s in ranking["schools"]] == [(1, RURAL), (2, SCHOOL)]
    first_school = ranking["schools"][1]
    assert first_school["below_threshold"] == [TEACHER_B]
    assert first_school["principal_lectured"] is True
    assert ranking["schools"][0]["plan_filed"] is False

    r = await bank.client.get(
        "/v1/inspections",
        params={"jurisdiction": "220106", "term": "2026-2027-1"},
        headers={**bank.auth("hr"), "Accept": XLSX},
    )
    assert r.status == 200 and r.headers["Content-Type"].startswith(XLSX)
    sheet = openpyxl.load_workbook(io.BytesIO(await r.read())).active
    assert sheet is not None
    assert [c.value for c in sheet[1]][:3] == ["名次", "学校代码", "学校名称"]
    assert sheet["B3"].value == SCHOOL and sheet["B3"].data_type == "s"
    assert sheet["C3"].value == "长春市绿园区第一实验小学"
    assert sheet["L3"].value == TEACHER_B and sheet["L3"].data_type == "s"

    r = await bank.client.get(
        f"/v1/schools/{SCHOOL}/inspection",
        params={"term": "2026-2027-1"},
        headers={"Authorization": f"Bearer {own}", "Accept": XLSX},
    )
    book = openpyxl.load_workbook(io.BytesIO(await r.read()))
    teachers = book["教师出勤"]
    assert [c.value for c in teachers[1]] == ["教师编号", "姓名", "出勤次数", "应出勤次数", "出勤率", "低于出勤率要求"]
    rows = {row[0].value: row for row in teachers.iter_rows(min_row=2)}
    assert rows[TEACHER_B][0].data_type == "s"
    assert [c.value for c in rows[TEACHER_B]] == [TEACHER_B, "王芳", 1, 2, "50.0%", "是"]
    assert book["主讲教师"]["D2"].value == "是"

    r = await bank.client.get(
        f"/v1/schools/{SCHOOL}/inspection",
        params={"term": "2026-2027-1"},
        headers={**bank.auth("auditor"), "Accept": "text/csv"},
    )
    text = (await r.read()).decode("utf-8-sig")
    assert text.splitlines()[0] == "教师编号,姓名,出勤次数,应出勤次数,出勤率,低于出勤率要求"
    # Identifiers marked as text by the bank's spreadsheet rule (api/service/spreadsheet.py).
    assert f"'{TEACHER_B},王芳,1,2,50.0%,是" in text.splitlines()


async def test_a_school_token_cannot_touch_another_school(bank: Bank):
    tokens = await _schools(bank)
    own, rural = tokens["own"], tokens["rural"]
    status, _ = await _post(
        bank, f"/v1/schools/{SCHOOL}/sessions", own, _session("s1", "2026-11-24", "tue-3", "w48", "研讨")
    )
    assert status == 201
    position = await settle(bank)
    as_rural = {"Authorization": f"Bearer {rural}"}
    # Not another school's sessions, attendance, plan, inspection or record.
    status, body = await _post(
        bank, f"/v1/schools/{SCHOOL}/sessions", rural, _session("s2", "2026-11-26", "thu-3", "w48", "研讨")
    )
    assert (status, body["code"]) == (403, "forbidden")
    status, body = await _post(bank, f"/v1/schools/{SCHOOL}/sessions/s1/attendance", rural, {"present": [TEACHER_A]})
    assert status == 403
    status, body = await _post(
        bank,
        f"/v1/schools/{SCHOOL}/plans",
        rural,
        {"school_year": "2026-2027", "title": "方案", "filed_on": "2026-09-10", "document_sha256": "ab" * 32},
    )
    assert status == 403
    for path in (
        f"/v1/schools/{SCHOOL}",
        f"/v1/schools/{SCHOOL}/inspection?term=2026-2027-1",
        f"/v1/schools/{SCHOOL}/sessions/s1/attendance",
    ):
        assert (await bank.client.get(path, headers=as_rural)).status == 403
    for path in (f"/v1/learners/{TEACHER_A}", f"/v1/learners/{TEACHER_A}/balance"):
        assert (await bank.client.get(path, headers=as_rural)).status == 403
    r = await bank.client.get(
        f"/v1/learners/{TEACHER_A}/eligibility", params={"target": "teacher_cycle"}, headers=as_rural
    )
    assert r.status == 403
    # Its own teacher it may read; a teacher of another school it may not put on its sheet.
    assert (await bank.client.get(f"/v1/learners/{RURAL_TEACHER}", headers=as_rural)).status == 200
    r = await bank.client.get(
        f"/v1/learners/{RURAL_TEACHER}/eligibility", params={"target": "teacher_cycle"}, headers=as_rural
    )
    assert r.status == 200, await r.text()
    await _post(bank, f"/v1/schools/{RURAL}/sessions", rural, _session("r1", "2026-11-24", "tue-3", "w48", "研讨"))
    status, body = await _post(bank, f"/v1/schools/{RURAL}/sessions/r1/attendance", rural, {"present": [TEACHER_A]})
    assert (status, body["code"], list(body["errors"])) == (422, "not_a_teacher_of_school", ["present[0]"])
    # Listing a jurisdiction's schools, it sees its own only.
    r = await bank.client.get(
        "/v1/schools", params={"jurisdiction": "220106", "min_position": str(position)}, headers=as_rural
    )
    assert [s["school_id"] for s in (await r.json())["schools"]] == [RURAL]
    # Foreign HR sees nothing of 220106's schools.
    r = await bank.client.get(f"/v1/schools/{SCHOOL}", headers=bank.auth("foreign_hr"))
    assert r.status == 403


async def test_once_schools_are_registered_a_new_learner_must_name_one(bank: Bank):
    await _schools(bank)
    r = await bank.client.post(
        "/v1/learners",
        headers=bank.auth("hr"),
        json={"learner_id": "T-NEW", "name": "新教师", "jurisdiction": "220106", "school": "no-such-school"},
    )
    assert r.status == 422
    problem = await r.json()
    assert problem["code"] == "unknown_school"
    assert "school" in problem["errors"]


async def _sheet(bank: Bank, token: str, session_id: str, position: int) -> tuple[int, dict[str, Any]]:
    r = await bank.client.get(
        f"/v1/schools/{SCHOOL}/sessions/{session_id}/attendance",
        params={"min_position": str(position)},
        headers={"Authorization": f"Bearer {token}"},
    )
    return r.status, await r.json()


async def test_a_sessions_sheet_reads_back_who_attended_who_was_absent_and_why(bank: Bank):
    own = (await _schools(bank))["own"]
    status, held = await _post(
        bank, f"/v1/schools/{SCHOOL}/sessions", own, _session("s1", "2026-11-24", "tue-3", "w48", "研讨")
    )
    # Held, no sheet yet: the session with empty lists.
    status, empty = await _sheet(bank, own, "s1", held["position"])
    assert status == 200, empty
    assert (empty["sheets"], empty["present"], empty["absent"]) == ([], [], [])
    assert (empty["held_on"], empty["slot"], empty["hours"]) == ("2026-11-24", "tue-3", "1.5")

    path = f"/v1/schools/{SCHOOL}/sessions/s1/attendance"
    sheet = {
        "present": [TEACHER_A, PRINCIPAL],
        "absent": [{"learner_id": TEACHER_B, "reason": "病假"}],
    }
    status, marked = await _post(bank, path, own, sheet)
    assert status == 201, marked
    status, read = await _sheet(bank, own, "s1", marked["position"])
    assert status == 200, read
    assert read["present"] == [{"learner_id": PRINCIPAL, "name": "赵校长"}, {"learner_id": TEACHER_A, "name": "李华"}]
    assert read["absent"] == [{"learner_id": TEACHER_B, "name": "王芳", "reason": "病假"}]
    assert read["sheets"] == [{"position": marked["position"], "correction_reason": None, "present": 2, "absent": 1}]
    assert read["position"] >= marked["position"]

    # A correction: the sheet in force is the corrected one, both sheets are listed. HR reads it too.
    corrected_sheet = {
        "present": [TEACHER_A, PRINCIPAL, TEACHER_B],
        "absent": [],
        "reason": "王芳迟到，补签",
    }
    status, corrected = await _post(bank, path, own, corrected_sheet)
    assert status == 201, corrected
    status, read = await _sheet(bank, bank.tokens["hr"], "s1", corrected["position"])
    assert status == 200, read
    assert [t["learner_id"] for t in read["present"]] == [PRINCIPAL, TEACHER_A, TEACHER_B]
    assert read["absent"] == []
    assert [(s["position"], s["correction_reason"]) for s in read["sheets"]] == [
        (marked["position"], None),
        (corrected["position"], "王芳迟到，补签"),
    ]

    # A session the school did not record: 404 with the session's own code.
    status, missing = await _sheet(bank, own, "no-such-session", corrected["position"])
    assert (status, missing["code"]) == (404, "session_not_found")


async def test_an_absence_reason_is_nowhere_in_the_database_and_erasure_leaves_the_inspection_whole(bank: Bank):
    own = (await _schools(bank))["own"]
    await _post(bank, f"/v1/schools/{SCHOOL}/sessions", own, _session("s1", "2026-11-24", "tue-3", "w48", "研讨"))
    reason = "孩子住院陪护(市儿童医院)"
    sheet = {"present": [TEACHER_A], "absent": [{"learner_id": TEACHER_B, "reason": reason}]}
    status, _ = await _post(bank, f"/v1/schools/{SCHOOL}/sessions/s1/attendance", own, sheet)
    assert status == 201
    await settle(bank)
    assert "住院陪护" not in await _dump(bank.database)
    # The same sheet again is recognised (the sealed reason opened to compare), not a correction.
    status, again = await _post(bank, f"/v1/schools/{SCHOOL}/sessions/s1/attendance", own, sheet)
    assert (status, again["status"]) == (200, "duplicate")

    r = await bank.client.post(f"/v1/learners/{TEACHER_B}/erasure", headers=bank.auth("admin"), json={"reason": "PIPL"})
    assert r.status == 201
    position = (await r.json())["position"]
    r = await bank.client.get(
        f"/v1/schools/{SCHOOL}/inspection",
        params={"term": "2026-2027-1", "min_position": str(position)},
        headers=bank.auth("hr"),
    )
    assert r.status == 200
    teachers = [t["learner_id"] for t in (await r.json())["attendance"]["teachers"]]
    assert TEACHER_B not in teachers and TEACHER_A in teachers
    # The sheet keeps the absence, but neither her number, her name nor the reason: the key is gone.
    status, read = await _sheet(bank, own, "s1", position)
    assert status == 200, read
    assert [t["learner_id"] for t in read["present"]] == [TEACHER_A]
    [gone] = read["absent"]
    assert gone["learner_id"].startswith("erased:") and (gone["name"], gone["reason"]) == (None, None)


async def test_a_countys_policy_states_the_sessions_a_week_and_the_attendance_threshold(bank: Bank):
    # Seed 003 gives the frequency, API.md 1.1 the 80 % default; a county may state its own
    # in its policy's calendar, and the term's inspection is judged by what is in force.
    tokens = await _schools(bank)
    county = {
        "policy_id": "220106-school-based-figures",
        "jurisdiction": "220106",
        "effective_from": "2026-09-01",
        "title": "绿园区校本培训考核要求",
        "calendar": {"sessions_per_week": 1, "attendance_threshold": "0.50"},
        "rules": [
            {
                "id": "school-based-term",
                "kind": "min_hours",
                "targets": ["school_based_term"],
                "applies_to": {"roles": ["teacher"]},
                "window": {"kind": "term"},
                "hours": "8",
                "categories": ["school_based"],
                "source": {"document": "绿园区校本培训考核要求", "article": "一"},
            }
        ],
    }
    status, published = await _post(bank, "/v1/policies", "admin", county)
    assert status == 201, published
    for session_id, day, slot, content in (
        ("w47", "2026-11-17", "tue-3", "2026-w47-maths"),
        ("w48", "2026-11-24", "tue-3", "2026-w48-reading"),
    ):
        status, _ = await _post(
            bank, f"/v1/schools/{SCHOOL}/sessions", tokens["own"], _session(session_id, day, slot, content, "研讨")
        )
        assert status == 201
    await _post(bank, f"/v1/schools/{SCHOOL}/sessions/w47/attendance", tokens["own"], {"present": [TEACHER_A]})
    status, last = await _post(
        bank, f"/v1/schools/{SCHOOL}/sessions/w48/attendance", tokens["own"], {"present": [TEACHER_A, TEACHER_B]}
    )
    assert status == 201
    r = await bank.client.get(
        f"/v1/schools/{SCHOOL}/inspection",
        params={"term": "2026-2027-1", "min_position": str(last["position"])},
        headers=bank.auth("hr"),
    )
    report = await r.json()
    assert r.status == 200, report
    assert report["sessions"]["required_per_week"] == 1
    assert report["attendance"]["threshold"] == "0.5"
    # 王芳 attended one of two contents: 50 %, not below a 50 % threshold (80 % would flag
    # her); the principal attended neither.
    assert report["attendance"]["below_threshold"] == [PRINCIPAL]
    r = await bank.client.get(
        "/v1/inspections", params={"jurisdiction": "220106", "term": "2026-2027-1"}, headers=bank.auth("hr")
    )
    assert (await r.json())["threshold"] == "0.5"


async def test_an_inspection_answers_as_known_at_a_position_or_a_day(bank: Bank):
    tokens = await _schools(bank)
    own = tokens["own"]
    status, first = await _post(
        bank, f"/v1/schools/{SCHOOL}/sessions", own, _session("s1", "2026-11-17", "tue-3", "2026-w47-maths", "研讨")
    )
    assert status == 201
    status, second = await _post(
        bank, f"/v1/schools/{SCHOOL}/sessions", own, _session("s2", "2026-11-19", "thu-3", "2026-w47-maths", "研讨")
    )
    assert status == 201

    async def inspection(**params: str) -> tuple[int, dict[str, Any]]:
        r = await bank.client.get(
            f"/v1/schools/{SCHOOL}/inspection", params={"term": "2026-2027-1", **params}, headers=bank.auth("hr")
        )
        return r.status, await r.json()

    status, now = await inspection(min_position=str(second["position"]))
    assert status == 200 and now["sessions"]["held"] == 2, now
    status, then = await inspection(at_position=str(first["position"]))
    assert status == 200, then
    assert (then["sessions"]["held"], then["position"]) == (1, first["position"])
    assert then["judged_on"] == TODAY.isoformat()
    # Before the school was recorded, the bank knew no such school.
    status, before = await inspection(as_of="2026-01-01")
    assert (status, before["code"]) == (404, "school_not_found"), before
    # One timeline at a time.
    status, both = await inspection(as_of="2026-11-20", at_position=str(first["position"]))
    assert status == 422 and both["code"] == "validation_failed", both
    r = await bank.client.get(
        "/v1/inspections",
        params={"jurisdiction": "220106", "term": "2026-2027-1", "at_position": str(first["position"])},
        headers=bank.auth("hr"),
    )
    ranked = await r.json()
    assert r.status == 200 and ranked["position"] == first["position"], ranked
    assert {s["school_id"]: s["sessions_held"] for s in ranked["schools"]}[SCHOOL] == 1


async def test_a_teacher_is_moved_only_to_a_school_on_the_roll(bank: Bank):
    await _schools(bank)

    async def move(school: str) -> tuple[int, dict[str, Any]]:
        r = await bank.client.patch(
            f"/v1/learners/{TEACHER_A}", headers=bank.auth("hr"), json={"school": school, "reason": "调动"}
        )
        return r.status, await r.json()

    status, refused = await move("no-such-school")
    assert (status, refused["code"], list(refused["errors"])) == (422, "unknown_school", ["school"]), refused
    status, moved = await move(RURAL)
    assert (status, moved["status"]) == (201, "recorded"), moved
    r = await bank.client.get(
        f"/v1/learners/{TEACHER_A}", params={"min_position": str(moved["position"])}, headers=bank.auth("hr")
    )
    assert (await r.json())["school"] == RURAL
