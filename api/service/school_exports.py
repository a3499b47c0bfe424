"""The term-end inspection as a spreadsheet: CSV, and an xlsx workbook of several sheets,
both written by ``api.service.spreadsheet`` (its ``Column``s, ``XlsxBook``/``XlsxSheet``,
``csv_header``/``csv_row``), so a teacher number is text here as in every export.

Invariants:
- headers are Chinese (the users'), one header row per sheet, from ``spreadsheet.COLUMNS``;
- identifiers (school ids, teacher numbers, session ids, content keys) are text cells
  (``@`` format, written as strings), so a spreadsheet never turns 220106… into a number; in
  CSV they follow ``api.service.spreadsheet`` (a leading ``'``); a session's day and hours
  are text cells too, as the inspection has always written them;
- no text cell is ever a formula: in xlsx every text cell is a string cell whatever it starts
  with, in CSV ``spreadsheet.text`` marks it;
- counts are numeric cells; rates are shown as percentages of the exact decimal the JSON
  gives (``50.0%``), never a float.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final

from api.service import spreadsheet
from api.service.spreadsheet import Column, Kind
from ledger.hours import format_hours

XLSX: Final = spreadsheet.XLSX_TYPE

TEACHER_COLUMNS: Final = (
    Column("learner_id", "identifier"),
    Column("name"),
    Column("attended", "count"),
    Column("held", "count"),
    Column("rate"),
    Column("below_threshold"),
)
RANKING_COLUMNS: Final = (
    Column("rank", "count"),
    Column("school_id", "identifier"),
    Column("school_name"),
    Column("kind"),
    Column("plan_filed"),
    Column("plan_on_time"),
    Column("sessions_held", "count"),
    Column("weeks", "count"),
    Column("weeks_meeting_frequency", "count"),
    Column("average_rate"),
    Column("teachers", "count"),
    Column("teachers_below_threshold", "identifier"),
    Column("principal_lectured"),
)
SUMMARY_COLUMNS: Final = (Column("item"), Column("content"))
SESSION_COLUMNS: Final = (
    Column("held_on", "identifier"),
    Column("slot"),
    Column("session_id", "identifier"),
    Column("content_key", "identifier"),
    Column("programme_title"),
    Column("hours", "identifier"),
    Column("instructor", "identifier"),
    Column("by_principal"),
)
LECTURER_COLUMNS: Final = (
    Column("instructor", "identifier"),
    Column("name"),
    Column("lectures", "count"),
    Column("principal"),
)
#: The headers of the teachers' and the ranking's sheet, as they read.
TEACHER_HEADERS: Final = tuple(c.header("zh") for c in TEACHER_COLUMNS)
RANKING_HEADERS: Final = tuple(c.header("zh") for c in RANKING_COLUMNS)


def percent(rate: Decimal | None) -> str:
    return "" if rate is None else f"{(rate * 100).quantize(Decimal('0.1'))}%"


def _yes(value: bool) -> str:
    return spreadsheet.yes_no(value, "zh")


def teacher_rows(report: dict[str, Any]) -> list[list[Any]]:
    return [
        [t["learner_id"], t["name"] or "", t["attended"], t["held"], percent(t["rate"]), _yes(t["below_threshold"])]
        for t in report["attendance"]["teachers"]
    ]


def ranking_rows(body: dict[str, Any]) -> list[list[Any]]:
    return [
        [
            s["rank"],
            s["school_id"],
            s["name"],
            spreadsheet.term("school_kind", s["kind"], "zh"),
            _yes(s["plan_filed"]),
            _yes(s["plan_on_time"]),
            s["sessions_held"],
            s["weeks"],
            s["weeks_meeting_frequency"],
            percent(s["average_rate"]),
            s["teachers"],
            "、".join(s["below_threshold"]),
            _yes(s["principal_lectured"]),
        ]
        for s in body["schools"]
    ]


def _csv(columns: tuple[Column, ...], rows: list[list[Any]]) -> bytes:
    return spreadsheet.csv_header(columns, "zh") + b"".join(spreadsheet.csv_row(columns, r) for r in rows)


def teacher_csv(report: dict[str, Any]) -> bytes:
    return _csv(TEACHER_COLUMNS, teacher_rows(report))


def ranking_csv(body: dict[str, Any]) -> bytes:
    return _csv(RANKING_COLUMNS, ranking_rows(body))


def _summary_rows(report: dict[str, Any]) -> list[tuple[str, Any, Kind]]:
    """(item, value, the value's kind): the school's id and name are text cells (``@``)."""
    plan = report["plan"]
    sessions = report["sessions"]
    principals = [i for i in report["instructors"] if i["principal"]]
    return [
        ("学校代码", report["school_id"], "identifier"),
        ("学校名称", report["name"], "identifier"),
        ("学期", report["term"], "text"),
        ("培训计划", "未备案" if plan is None else f"{plan['title']}({plan['filed_on']}备案)", "text"),
        ("计划是否按时", "" if plan is None else _yes(plan["on_time"]), "text"),
        ("备案截止日期", "" if plan is None else str(plan["deadline"]), "text"),
        ("培训次数", sessions["held"], "count"),
        ("培训内容数", sessions["contents"], "count"),
        ("每周要求次数", sessions["required_per_week"], "count"),
        ("达到频次的周数", f"{sessions['weeks_meeting_frequency']}/{sessions['weeks']}", "text"),
        ("出勤率要求", percent(report["attendance"]["threshold"]), "text"),
        ("平均出勤率", percent(report["attendance"]["average_rate"]), "text"),
        ("低于要求的教师", "、".join(report["attendance"]["below_threshold"]), "text"),
        (
            "校长主讲",
            "、".join(f"{p['name'] or p['learner_id']}({p['sessions']}次)" for p in principals) or "否",
            "text",
        ),
    ]


def inspection_xlsx(report: dict[str, Any]) -> bytes:
    book = spreadsheet.XlsxBook()
    summary = book.sheet("检查概况", SUMMARY_COLUMNS, "zh")
    for item, value, kind in _summary_rows(report):
        summary.append([item, value], kinds=["text", kind])
    teachers = book.sheet("教师出勤", TEACHER_COLUMNS, "zh")
    for row in teacher_rows(report):
        teachers.append(row)
    sessions = book.sheet("培训记录", SESSION_COLUMNS, "zh")
    for s in report["sessions"]["list"]:
        sessions.append(
            [
                str(s["held_on"]),
                s["slot"],
                s["session_id"],
                s["content_key"],
                s["programme"]["title"],
                format_hours(s["hours"]),
                s["instructor"] or "",
                _yes(s["by_principal"]),
            ]
        )
    lecturers = book.sheet("主讲教师", LECTURER_COLUMNS, "zh")
    for i in report["instructors"]:
        lecturers.append([i["learner_id"] or "", i["name"] or "", i["sessions"], _yes(i["principal"])])
    return book.content()


def inspections_xlsx(body: dict[str, Any]) -> bytes:
    book = spreadsheet.XlsxBook()
    sheet = book.sheet("学校排名", RANKING_COLUMNS, "zh")
    for row in ranking_rows(body):
        sheet.append(row)
    return book.content()
