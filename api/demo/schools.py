"""The demo district's schools and this autumn term of school-based training (校本培训).

Every school of the demo is registered (two rural ones, and a teaching point 教学点 with no
demo teachers of its own). Two schools hold the county guidance's sessions (seed 003):
Tuesday and Thursday, the third period, the same content both days, from the second week
of September to the build's day, but for the National Day holiday (no session on
1 October, none in the week after). The first school's principal lectures every other
week; the rural school's teachers take turns, its principal now and then.

Invariants:
- written through the ledger's school commands (``ledger.school_commands``), so the demo
  obeys every rule a school does; a refusal raises ``DemoError``;
- a pure function of ``seed`` and ``today`` (a ``random.Random`` per school, week and
  teacher), so building again records nothing (every command answers ``duplicate``); a
  sheet that differs because a larger demo has more teachers is recorded as a correction;
- a teacher attends one of the week's two sessions or is absent from both (the absence,
  with its reason, on Thursday's sheet); a few attend both, which the bank answers
  ``duplicate_content``; some teachers come less often than the 80 % threshold;
- only teachers (not principals-to-be, trainers or the erased) sit on the sheets, and only
  once registered; the principal lecturing is marked present;
- the first school files its plan for this school year on time, the rural school filed
  last year's late (after 20 March), the second rural school none.
"""

from __future__ import annotations

import functools
import hashlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Final

from ledger.application import CreditBank
from ledger.errors import DomainError
from ledger.school import PlanFiling, SchoolRegistration, SessionFacts
from ledger.school_commands import (
    Absence,
    AttendanceOutcome,
    AttendanceSheet,
    file_plan,
    hold_session,
    mark_attendance,
    register_school,
)
from ledger.school_year import DEFAULT_CALENDAR, SchoolYear

#: Kinds other than urban, by school code suffix (the rest are urban).
RURAL: Final = ("0006", "0007")
#: A teaching point (教学点) of 合心镇: registered, no demo teacher of its own.
TEACHING_POINT: Final = ("0009", "长春市绿园区合心镇四间房教学点", 6)
#: The schools holding sessions this term: (code suffix, principal's demo serial).
HOLDING: Final = (("0001", 1), ("0006", 6))
TEACHER_KINDS: Final = frozenset({"teacher", "head_teacher", "first_year", "second_year"})
TOPICS: Final = (
    "新课标下的大单元教学设计",
    "课堂提问的有效性",
    "作业设计与减负提质",
    "整本书阅读教学",
    "信息技术与学科教学融合",
    "班级管理中的沟通艺术",
    "学生心理健康的早期识别",
    "项目化学习的组织",
    "听评课的方法",
    "师德师风专题学习",
    "课堂观察量表的使用",
    "分层教学与学困生辅导",
    "期中质量分析",
    "家校共育的实践",
)
REASONS: Final = ("病假", "事假", "外出参加区级培训", "监考", "带学生参加比赛", "陪护家人就医")
#: Why a sheet is recorded again by a larger demo (the only correction the demo makes).
REGROWN: Final = "花名册扩充后重新登记考勤"


class SchoolDemoError(RuntimeError):
    """The ledger refused part of the demo's school term."""


@dataclass(frozen=True)
class Teacher:
    learner_id: str
    serial: int
    kind: str
    school: str | None
    registered_on: date


Action = tuple[date, Callable[[CreditBank], object]]


def register_schools(bank: CreditBank, district: str, schools: Sequence[tuple[str, str, float]]) -> None:
    listed = [(code, name, round(share * 600)) for code, name, share in schools]
    listed.append((f"{district}{TEACHING_POINT[0]}", TEACHING_POINT[1], TEACHING_POINT[2]))
    for code, name, head_count in listed:
        kind = "teaching_point" if code.endswith(TEACHING_POINT[0]) else "rural" if code.endswith(RURAL) else "urban"
        registration = SchoolRegistration(code, name, district, kind, head_count)
        _run(functools.partial(register_school, registration=registration))(bank)


def _run(fn: Callable[[CreditBank], object]) -> Callable[[CreditBank], object]:
    def run(bank: CreditBank) -> object:
        try:
            return fn(bank)
        except DomainError as error:
            raise SchoolDemoError(f"the ledger refused the demo's school term: {error.code}: {error.detail}") from error

    return run


@dataclass(frozen=True)
class SchoolTerm:
    #: Every plan, session and sheet of the term, each on the day it is recorded, in order.
    actions: list[Action]
    #: The completions the sheets give: one per teacher and content.
    credits: int


def credited(outcome: object) -> int:
    """How many completions an action recorded (a sheet's ``credited`` lines)."""
    if isinstance(outcome, AttendanceOutcome):
        return sum(1 for line in outcome.lines if line.status == "credited")
    return 0


def term_actions(seed: int, today: date, district: str, teachers: Sequence[Teacher], cast: int) -> SchoolTerm:
    """The term of ``today`` as the demo's schools hold it (see the module invariants);
    ``cast``: the serials every demo has, whatever its size."""
    term = DEFAULT_CALENDAR.term_of(today)
    first, _ = DEFAULT_CALENDAR.term_span(term)
    year = term.school_year
    actions: list[Action] = []
    credits = 0
    plans = (
        ("0001", year, "校本培训实施方案", year.first, 9, 15),
        ("0006", SchoolYear(year.first - 1), "校本研修工作计划", year.first, 4, 8),
    )
    for suffix, plan_year, title, y, m, d in plans:
        filed_on = date(y, m, d)
        if filed_on <= today:
            plan = PlanFiling(plan_year, f"{plan_year}学年{title}", filed_on, _digest(seed, suffix, str(plan_year)))
            actions.append((filed_on, _run(functools.partial(file_plan, school_id=f"{district}{suffix}", plan=plan))))
    for suffix, principal_serial in HOLDING:
        school = f"{district}{suffix}"
        staff = [t for t in teachers if t.school == school and t.kind in TEACHER_KINDS]
        principal = next((t for t in teachers if t.serial == principal_serial and t.school == school), None)
        monday = first + timedelta(days=7 - first.weekday()) if first.weekday() else first
        monday += timedelta(days=7)  # the first week is for settling in
        week = 0
        while monday + timedelta(days=1) <= today:
            week += 1
            days = [monday + timedelta(days=1), monday + timedelta(days=3)]
            # National Day: no session on 1 October, none in the holiday week after it.
            days = [d for d in days if d <= today and not (date(d.year, 10, 1) <= d <= date(d.year, 10, 7))]
            if days:
                held, present = _week(seed, school, week, days, staff, principal, cast)
                actions += held
                credits += present
            monday += timedelta(days=7)
    actions.sort(key=lambda a: a[0])
    return SchoolTerm(actions, credits)


def _week(
    seed: int,
    school: str,
    week: int,
    days: list[date],
    staff: list[Teacher],
    principal: Teacher | None,
    cast: int,
) -> tuple[list[Action], int]:
    """The week's sessions and sheets, and how many teachers the week's content credits."""
    content = f"{days[0].isocalendar().year}-w{days[0].isocalendar().week:02d}"
    title = TOPICS[(week - 1) % len(TOPICS)]
    # Lecturers come from the cast every demo size has, so a larger demo holds the same sessions.
    lecturers = sorted((t for t in staff if t.serial <= cast and t.registered_on <= days[0]), key=lambda t: t.serial)
    lecturing = principal if principal is not None and (week % 2 == 1 or not lecturers) else None
    if lecturing is None and lecturers:
        lecturing = lecturers[week // 2 % len(lecturers)]
    if lecturing is None:
        return [], 0
    on_sheet = [t for t in staff if t.registered_on <= days[0] and t.learner_id != lecturing.learner_id]
    attends: dict[str, list[int]] = {}
    absent: list[Absence] = []
    for t in on_sheet:
        keen = random.Random(f"creditbank-demo-teacher:{seed}:{t.learner_id}").uniform(0.55, 1.0)  # noqa: S311
        draw = random.Random(f"creditbank-demo-week:{seed}:{t.learner_id}:{week}")  # noqa: S311
        if draw.random() >= keen:
            absent.append(Absence(t.learner_id, REASONS[draw.randrange(len(REASONS))]))
        elif len(days) == 2 and draw.random() < 0.05:
            attends[t.learner_id] = [0, 1]  # came both days: counted once
        else:
            attends[t.learner_id] = [0 if len(days) == 1 or draw.random() < 0.6 else 1]
    actions: list[Action] = []
    for index, day in enumerate(days):
        slot = ("tue", "wed", "thu")[day.weekday() - 1] + "-3" if 1 <= day.weekday() <= 3 else None
        if slot is None:
            continue
        session_id = f"{day:%Y%m%d}-{slot}"
        session = SessionFacts(
            session_id, day, slot, content, f"XB-{content}", title, Decimal("1"), lecturing.learner_id
        )
        present = tuple([lecturing.learner_id] + [n for n, which in attends.items() if index in which])
        missing = tuple(absent) if index == len(days) - 1 else ()
        sheet = AttendanceSheet(present, missing, REGROWN)
        actions.append((day, _run(functools.partial(hold_session, school_id=school, session=session))))
        marking = functools.partial(mark_attendance, school_id=school, session_id=session_id, sheet=sheet)
        actions.append((day, _run(marking)))
    return actions, 1 + len(attends)


def _digest(seed: int, *parts: str) -> str:
    return hashlib.sha256(":".join((str(seed), *parts)).encode()).hexdigest()
