"""The bank's spreadsheets, CSV and xlsx, in one place: no cell becomes a formula, no
identifier a number, headers in the reader's language.

An export names its ``Column``s once (code and kind) and hands rows of plain values to
``csv_header``/``csv_row`` or ``XlsxSheet`` (or to ``sheet_chunks``, which writes either kind
as the rows come: every downloaded sheet of the API goes through it); a workbook of several sheets (the term-end
inspection) is an ``XlsxBook`` whose sheets are ``XlsxSheet``s; the console and every export
use these, so a teacher number is text the same way everywhere.

Invariants of the xlsx (``XlsxSheet``, openpyxl in write-only mode):
- identifiers (kind ``identifier``) and free text (``text``) are string cells, never numbers nor
  formulas (a name ``=HYPERLINK(...)`` is a string cell); identifiers also carry the Text
  number format ``@`` so that editing the cell in Excel keeps it text;
- dates are date cells (``yyyy-mm-dd``), hours numeric cells written with the Decimal's own
  digits (``2.55`` in the file, never a binary float's expansion), counts integers;
- memory stays bounded whatever the cohort: rows go to openpyxl's temporary file as they
  come, the zip is written to a spooled temporary file, and sent in chunks.

Invariants of the CSV (the one rule a reader of the bank's CSV needs, also in the README):
- UTF-8 with a byte order mark, so Excel opens Chinese names right;
- a text cell that begins with a character a spreadsheet reads as the start of a formula
  (``=``, ``+``, ``-``, ``@``, tab, carriage return, their full-width and small forms; OWASP's
  CSV-injection rule) gets a leading ``'``, so ``=HYPERLINK(...)`` in a name or a reason
  stays text;
- an identifier cell (teacher number, record id) always gets a leading ``'``: a spreadsheet
  keeps it as text with every digit (unquoted, Excel shows ``2.20106E+14`` for a 15-digit
  teacher number and turns 18 digits into zeros);
- a text cell that itself begins with ``'`` gets one more, so the reading is unambiguous:
  every cell that starts with ``'`` carries exactly one the bank added; drop it to get the
  value (``value[1:] if value.startswith("'") else value``);
- numbers (counts, hours, positions) are written as they are: none of them is a formula.
The trade-off of the mark: Excel shows the ``'`` before an identifier (it keeps every digit,
which a formula such as ``="0123"`` would too, but that would be a live formula), and a
program must drop it; people should take the xlsx, programs the JSON or the CSV.

Headers (``header_language``): the stable column codes for programs unless Chinese is asked
for (``?lang=zh`` or ``Accept-Language`` preferring ``zh``); ``?lang=en`` gives English words.
A cell holding a code (a category, level, assessment, target, school kind, a posting's status,
an audit's section; ``term``) and a yes/no cell (``yes_no``) follow the headers: a sheet with
code headers (for programs) keeps the codes, a sheet for people has the label in its language
(``ledger.vocabulary.LABELS``, else the bank's own ``CELLS``; both served in
``GET /v1/vocabulary``); a code without a label (a jurisdiction's own) is written as it is.
"""

from __future__ import annotations

import asyncio
import csv
import io
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Final, Literal, cast

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.styles import Font

from api.service.problem_labels import preferred_language
from ledger.vocabulary import LABELS, Label

#: Leading characters a spreadsheet takes for a formula (ASCII, full-width, small forms),
#: and the apostrophe itself (see the module's reading rule).
_NEEDS_MARK: Final = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20\ufe66\ufe62\ufe63\ufe6b\u2212'")
MARK: Final = "'"


def text(value: Any) -> str:
    """A free-text cell (name, school, reason, detail); a count, hours or position as written."""
    if value is None:
        return ""
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return str(value)
    shown = str(value)
    return MARK + shown if shown[:1] in _NEEDS_MARK else shown


def identifier(value: Any) -> str:
    """An identifier cell: always marked, so a spreadsheet keeps every digit as text."""
    if value is None or value == "":
        return ""
    return MARK + str(value)


def line(cells: Sequence[str]) -> bytes:
    """One CSV line of cells already made by ``text`` or ``identifier``."""
    out = io.StringIO()
    csv.writer(out).writerow(cells)
    return out.getvalue().encode("utf-8")


def document(rows: Iterable[Sequence[str]]) -> bytes:
    """A whole CSV file; the byte order mark makes Excel read it as UTF-8 (Chinese names)."""
    return BOM + b"".join(line(r) for r in rows)


BOM: Final = "\ufeff".encode()


# -- columns, kinds and headers ------------------------------------------------------

CSV_TYPE: Final = "text/csv"
XLSX_TYPE: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

Kind = Literal["identifier", "text", "date", "hours", "count"]
HeaderLanguage = Literal["code", "zh", "en"]

#: Every column any export of the bank has, with its Chinese and English header; served in
#: ``GET /v1/vocabulary`` as ``column`` (a test fails on an export column without one).
COLUMNS: Final[dict[str, Label]] = {
    "learner_id": Label("教师编号", "teacher number"),
    "name": Label("姓名", "name"),
    "school": Label("学校", "school"),
    "jurisdiction": Label("辖区", "jurisdiction"),
    "target": Label("考核目标", "target"),
    "on": Label("判定日期", "judged on"),
    "eligible": Label("是否达标", "eligible"),
    "unmet": Label("未达标的规则", "rules not met"),
    "missing_hours": Label("尚缺学时", "hours missing"),
    "position": Label("日志位置", "log position"),
    "provider_id": Label("机构编号", "institution id"),
    "month": Label("月份", "month"),
    "section": Label("部分", "section"),
    "kind": Label("类型", "kind"),
    "date": Label("日期", "date"),
    "count": Label("数量", "count"),
    "hours": Label("学时", "hours"),
    "detail": Label("说明", "detail"),
    "events": Label("事件", "events"),
    # -- the term-end inspection (期末专项检查)
    "item": Label("项目", "item"),
    "content": Label("内容", "content"),
    "attended": Label("出勤次数", "sessions attended"),
    "held": Label("应出勤次数", "sessions held"),
    "rate": Label("出勤率", "attendance rate"),
    "below_threshold": Label("低于出勤率要求", "below the threshold"),
    "rank": Label("名次", "rank"),
    "school_id": Label("学校代码", "school id"),
    "school_name": Label("学校名称", "school name"),
    "plan_filed": Label("计划已备案", "plan filed"),
    "plan_on_time": Label("计划按时", "plan on time"),
    "sessions_held": Label("培训次数", "sessions held"),
    "weeks": Label("周数", "weeks"),
    "weeks_meeting_frequency": Label("达到频次的周数", "weeks meeting the frequency"),
    "average_rate": Label("平均出勤率", "average attendance rate"),
    "teachers": Label("教师人数", "teachers"),
    "teachers_below_threshold": Label("低于出勤率要求的教师", "teachers below the threshold"),
    "principal_lectured": Label("校长主讲", "principal lectured"),
    "held_on": Label("日期", "held on"),
    "slot": Label("节次", "slot"),
    "session_id": Label("培训编号", "session id"),
    "content_key": Label("内容编号", "content key"),
    "programme_title": Label("培训项目", "programme"),
    "instructor": Label("主讲教师编号", "instructor"),
    "by_principal": Label("校长主讲", "by the principal"),
    "lectures": Label("主讲次数", "sessions given"),
    "principal": Label("校长", "principal"),
    "role": Label("岗位", "role"),
    "years": Label("任职年限", "years of service"),
    "reached_on": Label("达到日期", "reached on"),
    "school_year": Label("学年", "school year"),
    "record_id": Label("记录编号", "record id"),
    "programme_code": Label("课程代码", "programme code"),
    "category": Label("类别", "category"),
    "level": Label("级别", "level"),
    "assessment": Label("考核结果", "assessment"),
    "completed_on": Label("完成日期", "completed on"),
    "status": Label("状态", "status"),
}

#: A yes/no cell in each header language (a verdict's ``eligible``).
YES_NO: Final[dict[HeaderLanguage, tuple[str, str]]] = {"code": ("yes", "no"), "en": ("yes", "no"), "zh": ("是", "否")}


#: The codes of the bank's own that exports write in cells (not the vocabulary's), with
#: their labels; served in ``GET /v1/vocabulary`` under these names.
CELLS: Final[dict[str, dict[str, Label]]] = {
    "posting_status": {"recorded": Label("已记录", "recorded"), "revoked": Label("已撤销", "revoked")},
    "audit_section": {
        "posted": Label("已上报", "posted"),
        "revoked": Label("已撤销", "revoked"),
        "rejected": Label("被拒绝", "rejected"),
        "anomaly": Label("异常", "anomaly"),
    },
}


@dataclass(frozen=True)
class Column:
    code: str
    kind: Kind = "text"

    def header(self, language: HeaderLanguage) -> str:
        if language == "code":
            return self.code
        label = COLUMNS[self.code]
        return label.zh if language == "zh" else label.en


def header_language(lang: str | None, accept_language: str | None) -> HeaderLanguage:
    """``?lang=zh|en`` if given; else Chinese if ``Accept-Language`` prefers it; else the codes."""
    if lang == "zh":
        return "zh"
    if lang == "en":
        return "en"
    return "zh" if preferred_language(accept_language) == "zh" else "code"


def yes_no(value: bool | None, language: HeaderLanguage) -> str:
    """A verdict's yes/no in the sheet's language; an unknown verdict is an empty cell."""
    return "" if value is None else YES_NO[language][0 if value else 1]


def term(vocabulary: str, code: str | None, language: HeaderLanguage) -> str:
    """A code of ``vocabulary`` (a vocabulary field, a target, a role, ..., or one of ``CELLS``)
    as a cell in the sheet's language: its label in Chinese or English, the code itself for
    programs (and for a code without a label)."""
    if code is None:
        return ""
    label = (LABELS.get(vocabulary) or CELLS.get(vocabulary) or {}).get(code)
    if label is None or language == "code":
        return code
    return label.zh if language == "zh" else label.en


#: The two kinds of sheet the bank writes.
SheetKind = Literal["xlsx", "csv"]


def wanted_format(accept: str | None) -> SheetKind | None:
    """Which spreadsheet ``Accept`` asks for, if any (xlsx before CSV when both are named)."""
    accept = accept or ""
    if XLSX_TYPE in accept:
        return "xlsx"
    if CSV_TYPE in accept:
        return "csv"
    return None


def disposition(filename: str) -> str:
    return f'attachment; filename="{filename}"'


# -- CSV -----------------------------------------------------------------------------


def csv_cell(kind: Kind, value: Any) -> str:
    if value is None:
        return ""
    if kind == "identifier":
        return identifier(value)
    if isinstance(value, date):
        return value.isoformat()
    return text(value)


def csv_header(columns: Sequence[Column], language: HeaderLanguage) -> bytes:
    """The first line of a CSV file, with its byte order mark."""
    return BOM + line([c.header(language) for c in columns])


def csv_row(columns: Sequence[Column], values: Sequence[Any]) -> bytes:
    return line([csv_cell(c.kind, v) for c, v in zip(columns, values, strict=True)])


# -- xlsx ----------------------------------------------------------------------------

_FORMATS: Final[dict[Kind, str]] = {
    "identifier": "@",
    "date": "yyyy-mm-dd",
    "hours": "0.0#",
    "count": "0",
    "text": "General",
}
#: The bytes of a finished xlsx sent at once; the file itself may be far larger.
XLSX_CHUNK: Final = 256 * 1024
#: The part of a finished xlsx kept in memory before it spills to disk.
XLSX_IN_MEMORY: Final = 4 * 1024 * 1024


class XlsxSheet:
    """One worksheet written row by row (openpyxl write-only): ``append`` each row of plain
    values, then ``chunks()`` for the finished file. Given ``book``, the sheet is one more of
    that workbook (``XlsxBook.sheet``), and the book is saved once."""

    def __init__(
        self,
        title: str,
        columns: Sequence[Column],
        language: HeaderLanguage,
        *,
        book: Workbook | None = None,
        freeze_header: bool = False,
    ) -> None:
        self.columns = tuple(columns)
        self.workbook = Workbook(write_only=True) if book is None else book
        # Sheet titles are at most 31 characters and take no []:*?/\.
        self.sheet = self.workbook.create_sheet(title[:31].translate(str.maketrans("", "", "[]:*?/\\")) or "sheet")
        if freeze_header:
            # Before any row: a write-only sheet writes its view ahead of the rows.
            self.sheet.freeze_panes = "A2"
        bold = Font(bold=True)
        heads = []
        for column in self.columns:
            cell = WriteOnlyCell(self.sheet, value=column.header(language))
            cell.data_type = "s"
            cell.font = bold
            heads.append(cell)
        self.sheet.append(heads)

    def cell(self, kind: Kind, value: Any) -> Cell | None:
        if value is None or value == "":
            return None
        if kind in ("identifier", "text"):
            made = WriteOnlyCell(self.sheet, value=str(value))
            # Set after the value: openpyxl takes a string that starts with "=" for a formula.
            made.data_type = "s"
        elif kind == "date":
            day = value if isinstance(value, date) else date.fromisoformat(value)
            # openpyxl writes a date and a Decimal as they are (its stubs name only datetime, float).
            made = WriteOnlyCell(self.sheet, value=cast(Any, day))
        elif kind == "hours":
            made = WriteOnlyCell(self.sheet, value=cast(Any, Decimal(value)))
        else:
            made = WriteOnlyCell(self.sheet, value=int(value))
        made.number_format = _FORMATS[kind]
        return made

    def append(self, values: Sequence[Any], kinds: Sequence[Kind] | None = None) -> None:
        """One row; ``kinds`` overrides the columns' kinds for a row of another shape (a
        summary sheet's item/value rows, where one row's value is a count, the next an id)."""
        chosen = kinds if kinds is not None else [c.kind for c in self.columns]
        self.sheet.append([self.cell(k, v) for k, v in zip(chosen, values, strict=True)])

    async def chunks(self) -> AsyncIterator[bytes]:
        """The finished file: zipped on a worker thread (it is CPU work), held in memory up
        to ``XLSX_IN_MEMORY`` and on disk past it, sent ``XLSX_CHUNK`` bytes at a time."""
        with tempfile.SpooledTemporaryFile(max_size=XLSX_IN_MEMORY) as out:
            await asyncio.to_thread(self.workbook.save, out)
            out.seek(0)
            while chunk := out.read(XLSX_CHUNK):
                yield chunk


class XlsxBook:
    """A workbook of several ``XlsxSheet``s (openpyxl write-only), in the order they are
    made; each sheet is written whole before the next is made (write-only sheets are
    streamed). For a small workbook (one school's inspection) ``content()`` gives the bytes."""

    def __init__(self) -> None:
        self.workbook = Workbook(write_only=True)

    def sheet(self, title: str, columns: Sequence[Column], language: HeaderLanguage) -> XlsxSheet:
        return XlsxSheet(title, columns, language, book=self.workbook, freeze_header=True)

    def content(self) -> bytes:
        out = io.BytesIO()
        self.workbook.save(out)
        return out.getvalue()


# -- one sheet, either kind -----------------------------------------------------------


async def sheet_chunks(
    kind: SheetKind,
    title: str,
    columns: Sequence[Column],
    language: HeaderLanguage,
    rows: AsyncIterable[Sequence[Any]] | Iterable[Sequence[Any]],
) -> AsyncIterator[bytes]:
    """The bytes of one sheet of ``rows`` as CSV (a line per row, as they come) or as xlsx
    (``XlsxSheet``: rows to its temporary file as they come, then the finished file)."""
    sheet = XlsxSheet(title, columns, language) if kind == "xlsx" else None
    if sheet is None:
        yield csv_header(columns, language)
    async for values in _each(rows):
        if sheet is None:
            yield csv_row(columns, values)
        else:
            sheet.append(values)
    if sheet is not None:
        async for chunk in sheet.chunks():
            yield chunk


async def _each(rows: AsyncIterable[Sequence[Any]] | Iterable[Sequence[Any]]) -> AsyncIterator[Sequence[Any]]:
    if isinstance(rows, AsyncIterable):
        async for values in rows:
            yield values
    else:
        for values in rows:
            yield values


def sheet_headers(kind: SheetKind, filename: str) -> dict[str, str]:
    """The headers of a downloaded sheet: its type and its file name."""
    return {
        "Content-Type": XLSX_TYPE if kind == "xlsx" else "text/csv; charset=utf-8",
        "Content-Disposition": disposition(filename),
    }
