"""A spreadsheet uploaded to a batch post, judged by a dry run first: the pieces the
institution's completions upload and HR's roster upload share.

Invariants:
- the commit posts the very bytes the dry run judged: the file travels back in the dry-run
  page's form (base64, with its name), so any server process can take the commit and the
  console keeps nothing of it;
- a field's column is chosen by name (asked in the form, else remembered, else its Chinese
  or English header, else the API's field path), never by position;
- each row's result names the spreadsheet row (the header is row 1), the columns its errors
  point at (``E 类别``) and the reason in the page's language (``labels.item_reason``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from api.console import labels, sheets
from api.console.bank_api import Api, Reply

#: (API field path, Chinese header, English header, required)
Field = tuple[str, str, str, bool]


@dataclass(frozen=True)
class Upload:
    """A file posted to a page, and its table (``sheets.read_table``)."""

    content: bytes
    filename: str
    headers: list[str]
    rows: list[list[str]]


def uploaded(form: MultiDictProxy[Any]) -> Upload:
    """The file as chosen in the form, else as carried back by the dry run, read as a table;
    ``sheets.SheetUnreadable`` when there is none or it cannot be read."""
    upload = form.get("file")
    if isinstance(upload, web.FileField):
        content, filename = upload.file.read(), upload.filename
    else:
        try:
            content = base64.b64decode(str(form.get("content", "")), validate=True)
        except binascii.Error:
            content = b""
        filename = str(form.get("filename", ""))
    if not content:
        raise sheets.SheetUnreadable("file")
    headers, rows = sheets.read_table(content, filename)
    return Upload(content, filename, headers, rows)


async def post_batch(api: Api, path: str, body: dict[str, Any], *, commit: bool) -> Reply:
    """The batch posted for real (``commit``), else as a dry run that records nothing."""
    return await api.post(path, body, dry_run=None if commit else "true")


def carried(content: bytes) -> str:
    """The file as the dry-run page's form carries it to the commit."""
    return base64.b64encode(content).decode()


def column_mapping(
    headers: list[str], fields: Sequence[Field], asked: Mapping[str, str], remembered: Mapping[str, str]
) -> dict[str, str]:
    """Field -> header: as asked in the form, else as remembered, else the header of that name."""
    chosen: dict[str, str] = {}
    for path, zh, en, _ in fields:
        for candidate in (asked.get(path), remembered.get(path), zh, en, path):
            if candidate and candidate in headers:
                chosen[path] = candidate
                break
    return chosen


def cells(headers: list[str], row: list[str], mapping: Mapping[str, str]) -> Callable[[str], str]:
    """The cell of ``row`` under the column mapped to a field ("" when no column is)."""
    at = {h: i for i, h in enumerate(headers)}

    def cell(path: str) -> str:
        header = mapping.get(path)
        return row[at[header]].strip() if header is not None else ""

    return cell


def column_of(path: str, headers: list[str], mapping: Mapping[str, str]) -> str:
    """The spreadsheet column an error path points at (``learners[3].roles[0].since`` ->
    ``F 任职起始``); the path itself when no column holds that field."""
    field = labels.field_of(path)
    header = mapping.get(field) or next((mapping[p] for p in mapping if field.startswith(p)), None)
    if header is None:
        return path
    return f"{sheets.column_letter(headers.index(header))} {header}"


def row_results(
    results: list[dict[str, Any]], headers: list[str], mapping: Mapping[str, str], lang: str
) -> list[dict[str, Any]]:
    """Each result of a batch answer as a row of the page: the API's result (its id, status
    and position), the spreadsheet row, the reason, the columns and the messages."""
    rows = []
    for index, result in enumerate(results):
        errors = result.get("errors") or {}
        rejected = result["status"] == "rejected"
        rows.append(
            {
                **result,
                "row": index + 2,  # the header is row 1
                "reason": labels.item_reason(result.get("code"), list(errors), lang) if rejected else "",
                "columns": "；".join(column_of(p, headers, mapping) for p in errors),
                "detail": "；".join(m for messages in errors.values() for m in messages),
            }
        )
    return rows
