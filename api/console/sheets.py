"""Spreadsheets in and out of the console: xlsx (openpyxl) and CSV.

Invariants:
- an uploaded file is read as a header row and data rows of text cells: a number Excel
  stored for a teacher number comes back with every digit (``220106201500009``, never
  ``2.20106E+14``), a date cell as ``YYYY-MM-DD``, a decimal as written (``2.5``);
- the console writes no sheet of its own: every download is the API's
  (``api.service.spreadsheet``), handed on by ``Page.sheet``.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from openpyxl import load_workbook

MAX_ROWS = 10_000


class SheetUnreadable(ValueError):
    """The file is neither an xlsx workbook nor a CSV text the console can read."""


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # Excel stores every number as a double: a whole one is an integer (a teacher number),
        # else the shortest decimal that reads back as it (2.5, not 2.4999…).
        return str(int(value)) if value.is_integer() else str(Decimal(repr(value)))
    return str(value).strip()


def read_table(content: bytes, filename: str) -> tuple[list[str], list[list[str]]]:
    """(headers, rows) of the first sheet of an xlsx, or of a CSV (UTF-8 or GB18030)."""
    if content[:2] == b"PK" or filename.lower().endswith(".xlsx"):
        try:
            book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception as error:
            raise SheetUnreadable("not an xlsx workbook") from error
        sheet = book.worksheets[0]
        table = [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        book.close()
    else:
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = content.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise SheetUnreadable("not UTF-8 or GB18030 text")
        table = [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text))]
    table = [row for row in table if any(cell for cell in row)]
    if not table:
        raise SheetUnreadable("the file holds no header row")
    if len(table) - 1 > MAX_ROWS:
        raise SheetUnreadable(f"more than {MAX_ROWS} rows")
    headers = table[0]
    rows = [row + [""] * (len(headers) - len(row)) for row in table[1:]]
    return headers, rows


def column_letter(index: int) -> str:
    """Excel's name of the column at ``index`` (0 -> A, 26 -> AA)."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name
