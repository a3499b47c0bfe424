"""Schools, their sessions and attendance sheets, on the in-memory store.

第一实验小学 (2201060001) holds 校本培训 on Tuesday and Thursday, the third period, with the
same content both days (seed 003). Li Hua comes on Tuesday, Wang Fang on Thursday and
again on the next week's Tuesday; each is credited once per content.
"""

from __future__ import annotations

import io
from dataclasses import replace as replaced
from datetime import date
from decimal import Decimal

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.service.school_exports import inspection_xlsx, teacher_csv
from ledger.eligibility import CompletionFact, Facts, RoleFact, evaluate
from ledger.errors import (
    AttendanceSheetInvalid,
    LearnerNotFound,
    NotATeacherOfSchool,
    OutsideJurisdiction,
    PlanConflict,
    SchoolConflict,
    SessionConflict,
    SessionSlotInvalid,
    UnknownSchool,
)
from ledger.policy import parse_policy, shipped_policies
from ledger.school import PlanFiling, School, SchoolRegistration, SessionFacts, school_uuid
from ledger.school_commands import (
    Absence,
    AttendanceSheet,
    file_plan,
    hold_session,
    mark_attendance,
    register_school,
)
from ledger.school_year import parse_school_year
from tests.unit.ledger_examples import LI_HUA, WANG_FANG, all_notifications, li_hua, new_bank, reloaded, wang_fang

SCHOOL = "2201060001"
OTHER = "2201060002"


def first_school(**changes: object) -> SchoolRegistration:
    fields: dict[str, object] = {
        "school_id": SCHOOL,
        "name": "长春市绿园区第一实验小学",
        "jurisdiction": "220106",
        "kind": "urban",
        "teachers": 60,
    }
    fields.update(changes)
    return SchoolRegistration(**fields)  # type: ignore[arg-type]


def session(session_id: str, held_on: date, slot: str, content_key: str = "2026-w48-reading") -> SessionFacts:
    return SessionFacts(
        session_id=session_id,
        held_on=held_on,
        slot=slot,
        content_key=content_key,
        programme_code="SB-READ",
        programme_title="整本书阅读教学研讨",
        hours=Decimal("1"),
        instructor=LI_HUA,
    )


def opened() -> object:
    bank = new_bank()
    register_school(bank, first_school())
    register_school(bank, first_school(school_id=OTHER, name="长春市绿园区实验中学"))
    bank.register_learner(li_hua(school=SCHOOL))
    bank.register_learner(wang_fang(school=SCHOOL))
    hold_session(bank, SCHOOL, session("s-tue", date(2026, 11, 24), "tue-3"))
    hold_session(bank, SCHOOL, session("s-thu", date(2026, 11, 26), "thu-3"))
    return bank


def school_hours(bank: object, learner_id: str) -> Decimal:
    standing = bank.standing(learner_id)  # type: ignore[attr-defined]
    return sum(
        (c.hours for c in standing.facts.completions if c.category == "school_based"),
        Decimal(0),
    )


def test_the_same_content_on_tuesday_and_thursday_is_credited_once():
    bank = opened()
    tue = mark_attendance(bank, SCHOOL, "s-tue", AttendanceSheet((LI_HUA,), (Absence(WANG_FANG, "病假"),)))
    thu = mark_attendance(bank, SCHOOL, "s-thu", AttendanceSheet((LI_HUA, WANG_FANG)))

    assert [(line.learner_id, line.status) for line in tue.lines] == [(LI_HUA, "credited"), (WANG_FANG, "absent")]
    assert [(line.learner_id, line.status) for line in thu.lines] == [
        (LI_HUA, "duplicate_content"),
        (WANG_FANG, "credited"),
    ]
    assert school_hours(bank, LI_HUA) == Decimal("1")
    assert school_hours(bank, WANG_FANG) == Decimal("1")


def test_the_same_sheet_again_records_nothing_and_a_changed_one_needs_a_reason():
    bank = opened()
    first = mark_attendance(bank, SCHOOL, "s-tue", AttendanceSheet((LI_HUA,), (Absence(WANG_FANG, "病假"),)))
    again = mark_attendance(bank, SCHOOL, "s-tue", AttendanceSheet((LI_HUA,), (Absence(WANG_FANG, "病假"),)))
    assert again.status == "duplicate"
    assert again.position == first.position

    with pytest.raises(AttendanceSheetInvalid) as refused:
        mark_attendance(bank, SCHOOL, "s-tue", AttendanceSheet((LI_HUA, WANG_FANG)))
    assert refused.value.field == "reason"

    corrected = mark_attendance(
        bank, SCHOOL, "s-tue", AttendanceSheet((WANG_FANG,), (Absence(LI_HUA, "外出听课"),), reason="考勤表誊写有误")
    )
    assert corrected.status == "recorded"
    assert {(line.learner_id, line.status) for line in corrected.lines} == {
        (WANG_FANG, "credited"),
        (LI_HUA, "withdrawn"),
        (LI_HUA, "absent"),
    }
    # Li Hua's completion of this content is revoked, Wang Fang's recorded.
    assert school_hours(bank, LI_HUA) == Decimal("0")
    assert school_hours(bank, WANG_FANG) == Decimal("1")
    school = reloaded(bank, school_uuid(SCHOOL))
    assert school.sheets["s-tue"]["credited"] == [bank.subject_of(WANG_FANG)]


def test_absence_reasons_enter_the_log_only_sealed():
    bank = opened()
    mark_attendance(bank, SCHOOL, "s-tue", AttendanceSheet((LI_HUA,), (Absence(WANG_FANG, "孩子住院陪护"),)))
    states = b"".join(n.state for n in all_notifications(bank))
    assert "孩子住院陪护".encode() not in states
    assert WANG_FANG.encode() not in states


def test_a_sheet_names_only_registered_teachers_of_the_school():
    bank = opened()
    bank.register_learner(li_hua(learner_id="T220106199901010011", school=OTHER))
    with pytest.raises(NotATeacherOfSchool) as refused:
        mark_attendance(bank, SCHOOL, "s-tue", AttendanceSheet((LI_HUA, "T220106199901010011")))
    assert refused.value.field == "present[1]"
    with pytest.raises(LearnerNotFound):
        mark_attendance(bank, SCHOOL, "s-tue", AttendanceSheet((), (Absence("T-nobody", "?"),)))
    # Nothing of the refused sheets was recorded.
    assert "s-tue" not in reloaded(bank, school_uuid(SCHOOL)).sheets


def test_sessions_and_schools_are_idempotent_and_conflicts_refused():
    bank = opened()
    assert hold_session(bank, SCHOOL, session("s-tue", date(2026, 11, 24), "tue-3")).status == "duplicate"
    with pytest.raises(SessionConflict):
        hold_session(bank, SCHOOL, session("s-tue", date(2026, 11, 24), "tue-4"))
    with pytest.raises(SessionSlotInvalid):
        hold_session(bank, SCHOOL, session("s-x", date(2026, 11, 24), "thu-3"))
    assert register_school(bank, first_school()).status == "duplicate"
    with pytest.raises(SchoolConflict):
        register_school(bank, first_school(teachers=61))
    with pytest.raises(OutsideJurisdiction):
        register_school(bank, first_school(school_id="3303000001", jurisdiction="330300"), scope="220106")


def test_a_plan_after_20_march_is_late_and_filed_once():
    bank = opened()
    year = parse_school_year("2025-2026")
    plan = PlanFiling(year, "2025-2026学年校本培训实施方案", date(2026, 3, 25), "a" * 64)
    file_plan(bank, SCHOOL, plan)
    school = reloaded(bank, school_uuid(SCHOOL))
    assert school.plans["2025-2026"]["late"] is True
    assert school.plans["2025-2026"]["deadline"] == date(2026, 3, 20)
    assert file_plan(bank, SCHOOL, plan).status == "duplicate"
    with pytest.raises(PlanConflict):
        file_plan(bank, SCHOOL, PlanFiling(year, "另一方案", date(2026, 3, 1), "b" * 64))


def test_once_schools_are_registered_a_new_learner_names_one_of_them():
    bank = new_bank()
    # Before any school is registered in 220106, any code stands (the migration).
    bank.register_learner(li_hua(school="nanguan-1"))
    register_school(bank, first_school())
    with pytest.raises(UnknownSchool):
        bank.register_learner(wang_fang(school="nanguan-1"))
    # The learner registered before is still a duplicate of herself.
    assert bank.register_learner(li_hua(school="nanguan-1")).status == "duplicate"
    outcomes = bank.register_learners([wang_fang(school=SCHOOL), li_hua(learner_id="T2", school="nowhere")])
    assert [o.status for o in outcomes] == ["recorded", "rejected"]
    assert outcomes[1].error is not None and outcomes[1].error.code == "unknown_school"


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from(["s-tue", "s-thu", "s-tue2"]), min_size=1, max_size=6))
def test_however_often_sheets_are_sent_each_content_credits_each_teacher_once(order: list[str]):
    bank = opened()
    hold_session(bank, SCHOOL, session("s-tue2", date(2026, 11, 17), "tue-3", content_key="2026-w47-maths"))
    for session_id in order:
        mark_attendance(bank, SCHOOL, session_id, AttendanceSheet((LI_HUA, WANG_FANG)))
    contents = {"s-tue": "a", "s-thu": "a", "s-tue2": "b"}
    expected = Decimal(len({contents[s] for s in order}))
    assert school_hours(bank, LI_HUA) == expected
    assert school_hours(bank, WANG_FANG) == expected
    assert isinstance(reloaded(bank, school_uuid(SCHOOL)), School)


def test_the_county_rule_counts_school_based_hours_of_the_term_holding_the_day() -> None:
    policies = [replaced(parse_policy(d), version=1) for d in shipped_policies()]

    def done(n: int, day: date, hours: str = "1") -> CompletionFact:
        return CompletionFact(f"00000000-0000-0000-0000-{n:012d}", n, "school_based", "school", Decimal(hours), day)

    # Fifteen weekly contents this autumn, and last spring's don't count for this term.
    autumn = [done(i, date(2026, 9, 8) + (date(2026, 9, 15) - date(2026, 9, 8)) * i) for i in range(12)]
    spring = [done(100 + i, date(2026, 3, 3)) for i in range(10)]
    teacher = (RoleFact("teacher", date(2015, 9, 1)),)
    facts = Facts("T-1", "220106", date(2015, 9, 1), teacher, tuple(autumn + spring))
    verdict = evaluate("school_based_term", facts, policies, date(2026, 12, 1))
    [req] = verdict["requirements"]
    assert (req["required"], req["actual"], req["met"]) == ("16", "12", False)
    assert req["window"] == {"term": "2026-2027-1", "from": "2026-09-01", "to": "2027-01-31"}
    assert req["missing"] == {"hours": {"school_based": "4"}, "due": "2027-01-31"}
    more = replaced(facts, completions=facts.completions + tuple(done(200 + i, date(2026, 11, 30)) for i in range(4)))
    assert evaluate("school_based_term", more, policies, date(2026, 12, 1))["eligible"] is True


def test_an_inspection_workbook_keeps_numbers_of_teachers_as_text_and_formulas_out() -> None:
    report = {
        "school_id": "2201060001",
        "name": "第一实验小学",
        "term": "2026-2027-1",
        "plan": None,
        "sessions": {
            "held": 0,
            "contents": 0,
            "required_per_week": 2,
            "weeks": 0,
            "weeks_meeting_frequency": 0,
            "list": [],
        },
        "attendance": {
            "threshold": Decimal("0.8"),
            "average_rate": Decimal("0.5"),
            "below_threshold": ["220106198501010021"],
            "teachers": [
                {
                    "learner_id": "220106198501010021",
                    "name": '=HYPERLINK("http://x")',
                    "attended": 1,
                    "held": 2,
                    "rate": Decimal("0.5"),
                    "below_threshold": True,
                }
            ],
        },
        "instructors": [],
    }
    book = openpyxl.load_workbook(io.BytesIO(inspection_xlsx(report)))
    row = book["教师出勤"][2]
    assert (row[0].value, row[0].data_type, row[0].number_format) == ("220106198501010021", "s", "@")
    assert (row[1].value, row[1].data_type) == ('=HYPERLINK("http://x")', "s")
    assert [c.value for c in row[2:]] == [1, 2, "50.0%", "是"]
    assert book["检查概况"]["B2"].data_type == "s"
    lines = teacher_csv(report).decode("utf-8-sig").splitlines()
    assert lines[1] == '\'220106198501010021,"\'=HYPERLINK(""http://x"")",1,2,50.0%,是'
