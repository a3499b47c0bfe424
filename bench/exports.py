"""A district's cohort downloaded whole (``GET /v1/eligibility`` with ``Accept: text/csv`` or
the xlsx type): seconds to the first and to the last byte, bytes, the rows read back from
the file, and the server's resident memory sampled while it streams.

Invariants: rows are counted by reading the downloaded file itself (``csv`` for the CSV,
openpyxl ``read_only`` for the xlsx), so a truncated or short file shows as a wrong count;
the server's memory is sampled every 0.2 s (``procs.rss_during``).
"""

from __future__ import annotations

import asyncio
import csv
import time
from collections import Counter
from pathlib import Path
from typing import Any, Literal

import aiohttp

from bench import procs

Kind = Literal["csv", "xlsx"]
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ACCEPT: dict[Kind, str] = {"csv": "text/csv", "xlsx": XLSX_TYPE}
RSS_INTERVAL = 0.2
CHUNK = 64 * 1024


def _identifier(value: Any) -> str:
    # The CSV keeps every digit of an identifier behind a leading "'" (Excel's text marker).
    text = "" if value is None else str(value)
    return text[1:] if text.startswith("'") else text


def read_back(kind: Kind, path: Path) -> dict[str, Any]:
    """The header, the data rows, the distinct learners and the districts of a downloaded cohort."""
    if kind == "csv":
        with path.open(encoding="utf-8-sig", newline="") as f:
            table: Any = csv.reader(f)
            return _tally(table)
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True)
    try:
        return _tally(book.worksheets[0].iter_rows(values_only=True))
    finally:
        book.close()


def _tally(table: Any) -> dict[str, Any]:
    header = [str(h) for h in next(table, ())]
    id_at, district_at = header.index("learner_id"), header.index("jurisdiction")
    rows = 0
    learners: set[str] = set()
    districts: Counter[str] = Counter()
    for row in table:
        rows += 1
        learners.add(_identifier(row[id_at]))
        districts[_identifier(row[district_at])] += 1
    return {"header": header, "rows": rows, "distinct_learners": len(learners), "districts": dict(districts)}


async def download(
    session: aiohttp.ClientSession, base: str, path: str, token: str, kind: Kind, into: Path, server_pid: int
) -> dict[str, Any]:
    """GET ``path`` as ``kind`` into the file ``into`` while sampling the server's memory."""
    first_byte = None
    size = 0
    start = b""  # the body's first bytes, to show a refusal
    t0 = time.perf_counter()
    with procs.rss_during(server_pid, RSS_INTERVAL) as memory:
        async with session.get(
            base + path,
            headers={"Authorization": f"Bearer {token}", "Accept": ACCEPT[kind]},
            timeout=aiohttp.ClientTimeout(total=3600),
        ) as r:
            status, content_type = r.status, r.headers.get("Content-Type", "")
            with into.open("wb") as f:
                async for chunk in r.content.iter_chunked(CHUNK):
                    if first_byte is None:
                        first_byte = time.perf_counter() - t0
                        start = chunk[:300]
                    size += len(chunk)
                    f.write(chunk)
        seconds = time.perf_counter() - t0
    result: dict[str, Any] = {
        "kind": kind,
        "status": status,
        "content_type": content_type,
        "seconds": seconds,
        "first_byte_s": first_byte,
        "bytes": size,
        **memory,
    }
    if status == 200:
        t0 = time.perf_counter()
        result.update(await asyncio.to_thread(read_back, kind, into))
        result["read_back_s"] = time.perf_counter() - t0
        result["rows_per_s"] = result["rows"] / seconds if seconds else None
    else:
        result["body"] = start.decode(errors="replace")
    return result
