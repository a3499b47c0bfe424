"""The term-end inspection as a spreadsheet: rows for CSV, and an xlsx workbook (openpyxl).

Invariants:
- headers are Chinese (the users'), one header row per sheet;
- identifiers (school ids, teacher numbers, session ids, content keys) are text cells
  (``@`` format, written as strings), so a spreadsheet never turns 220106… into a number; in
  CSV they follow ``api.service.spreadsheet`` (a leading ``'``);
- no text cell is ever a formula: in xlsx every text cell is a string cell whatever it starts
  with, in CSV ``spreadsheet.text`` marks it;
- rates are shown as percentages of the exact decimal the JSON gives, never a float.
"""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any, Final

from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from api.service import spreadsheet
from ledger.hours import format_hours
from ledger.school import SCHOOL_KINDS

XLSX: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

TEACHER_HEADERS: Final = ("教师编号", "姓名", "出勤次数", "应出勤次数", "出勤率", "低于出勤率要求")
RANKING_HEADERS: Final = (
    "名次",
    "学校代码",
    "学校名称",
    "类型",
    "计划已备案",
    "计划按时",
    "培训次数",
    "周数",
    "达到频次的周数",
    "平均出勤率",
    "教师人数",
    "低于出勤率要求的教师",
    "校长主讲",
)
#: Columns (0-based) of each table that hold identifiers: written as text cells.
_TEACHER_IDS: Final = frozenset({0})
_RANKING_IDS: Final = frozenset({1, 11})


def percent(rate: Decimal | None) -> str:
    return "" if rate is None else f"{(rate * 100).quantize(Decimal('0.1'))}%"


def _yes(value: bool) -> str:
    return "是" if value else "否"


def teacher_rows(report: dict[str, Any]) -> list[list[Any]]:
    rows: list[list[Any]] = [list(TEACHER_HEADERS)]
    for t in report["attendance"]["teachers"]:
        rows.append(
            [t["learner_id"], t["name"] or "", t["attended"], t["held"], percent(t["rate"]), _yes(t["below_threshold"])]
        )
    return rows


def ranking_rows(body: dict[str, Any]) -> list[list[Any]]:
    rows: list[list[Any]] = [list(RANKING_HEADERS)]
    for s in body["schools"]:
        rows.append(
            [
                s["rank"],
                s["school_id"],
                s["name"],
                SCHOOL_KINDS.get(s["kind"], s["kind"]),
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
        )
    return rows


def csv_document(rows: list[list[Any]], id_columns: frozenset[int]) -> bytes:
    """``rows`` (a header row first) as CSV by the bank's spreadsheet rule."""
    made = [[spreadsheet.text(v) for v in rows[0]]]
    for row in rows[1:]:
        made.append([spreadsheet.identifier(v) if i in id_columns else spreadsheet.text(v) for i, v in enumerate(row)])
    return spreadsheet.document(made)


def teacher_csv(report: dict[str, Any]) -> bytes:
    return csv_document(teacher_rows(report), _TEACHER_IDS)


def ranking_csv(body: dict[str, Any]) -> bytes:
    return csv_document(ranking_rows(body), _RANKING_IDS)


def _sheet(sheet: Worksheet, rows: list[list[Any]], text_columns: frozenset[int]) -> None:
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            cell = sheet.cell(row=r, column=c)
            if isinstance(value, (int, Decimal)) and not isinstance(value, bool) and c - 1 not in text_columns:
                cell.value = value
                continue
            cell.value = "" if value is None else str(value)
            # A string cell whatever it starts with: "=…" in a name stays text, never a formula.
            cell.data_type = "s"
            if r > 1 and c - 1 in text_columns:
                cell.number_format = "@"
    sheet.freeze_panes = "A2"


def _summary_rows(report: dict[str, Any]) -> list[list[Any]]:
    plan = report["plan"]
    sessions = report["sessions"]
    principals = [i for i in report["instructors"] if i["principal"]]
    return [
        ["项目", "内容"],
        ["学校代码", report["school_id"]],
        ["学校名称", report["name"]],
        ["学期", report["term"]],
        ["培训计划", "未备案" if plan is None else f"{plan['title']}({plan['filed_on']}备案)"],
        ["计划是否按时", "" if plan is None else _yes(plan["on_time"])],
        ["备案截止日期", "" if plan is None else str(plan["deadline"])],
        ["培训次数", sessions["held"]],
        ["培训内容数", sessions["contents"]],
        ["每周要求次数", sessions["required_per_week"]],
        ["达到频次的周数", f"{sessions['weeks_meeting_frequency']}/{sessions['weeks']}"],
        ["出勤率要求", percent(report["attendance"]["threshold"])],
        ["平均出勤率", percent(report["attendance"]["average_rate"])],
        ["低于要求的教师", "、".join(report["attendance"]["below_threshold"])],
        ["校长主讲", "、".join(f"{p['name'] or p['learner_id']}({p['sessions']}次)" for p in principals) or "否"],
    ]


def inspection_xlsx(report: dict[str, Any]) -> bytes:
    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = "检查概况"
    _sheet(summary, _summary_rows(report), frozenset())
    for row in summary.iter_rows(min_row=2, max_row=3, min_col=2, max_col=2):
        for cell in row:
            cell.number_format = "@"
    _sheet(book.create_sheet("教师出勤"), teacher_rows(report), _TEACHER_IDS)
    sessions = [["日期", "节次", "培训编号", "内容编号", "培训项目", "学时", "主讲教师编号", "校长主讲"]]
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
    _sheet(book.create_sheet("培训记录"), sessions, frozenset({0, 2, 3, 5, 6}))
    lecturers = [["主讲教师编号", "姓名", "主讲次数", "校长"]]
    lecturers += [
        [i["learner_id"] or "", i["name"] or "", i["sessions"], _yes(i["principal"])] for i in report["instructors"]
    ]
    _sheet(book.create_sheet("主讲教师"), lecturers, frozenset({0}))
    return _saved(book)


def inspections_xlsx(body: dict[str, Any]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "学校排名"
    _sheet(sheet, ranking_rows(body), _RANKING_IDS)
    return _saved(book)


def _saved(book: Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
