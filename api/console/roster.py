"""HR's roster upload: an xlsx or CSV of teachers registered as one batch
(``POST /v1/learners {learners: [...]}``).

Invariants:
- an upload is always judged by a dry run first (``POST /v1/learners?dry_run=true``: the
  ledger checks every row on the state it loads from the event store, exactly as the
  registration would: a teacher number registered with other details, a school not on the
  district's roll, a jurisdiction outside the token's scope; nothing is saved); the commit
  posts the same rows, parsed from the same bytes (``api.console.uploads``);
- each row's result names the spreadsheet row, the teacher number and name, the column its
  errors point at and the reason in the page's language;
- the same file again registers nobody (its rows ``duplicate``) and the page says so, in the
  dry run already;
- a row without a jurisdiction is registered in the token's own (an HR token's scope).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from aiohttp import web

from api.console import labels, sheets, uploads
from api.console.web import Page, page, problem_words

ROSTER_WRITERS: Final = frozenset({"hr", "admin"})

#: The roster's columns, found by their Chinese or English header.
FIELDS: Final[tuple[uploads.Field, ...]] = (
    ("learner_id", "教师编号", "teacher number", True),
    ("name", "姓名", "name", True),
    ("school", "学校", "school", False),
    ("hired_on", "入职日期", "hired on", False),
    ("roles.role", "岗位", "role", False),
    ("roles.since", "任职起始", "since", False),
    ("jurisdiction", "行政区划", "jurisdiction", False),
)


def _item(cell: Callable[[str], str], default_jurisdiction: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "learner_id": cell("learner_id"),
        "name": cell("name"),
        "jurisdiction": cell("jurisdiction") or default_jurisdiction,
        "school": cell("school") or None,
        "hired_on": cell("hired_on") or None,
        "roles": [],
    }
    role = cell("roles.role")
    if role:
        # A role without its own start begins on the day of hire.
        since = cell("roles.since") or cell("hired_on")
        item["roles"] = [{"role": labels.code_of_label("role", role), "since": since}]
    return item


def _choose(current: Page, status: int = 200, failure: str | None = None) -> web.Response:
    return current.render("roster.html", status=status, stage="choose", fields=FIELDS, failure=failure)


@page(ROSTER_WRITERS)
async def roster_form(current: Page) -> web.StreamResponse:
    return _choose(current)


@page(ROSTER_WRITERS)
async def roster_post(current: Page) -> web.StreamResponse:
    form = current.form()
    try:
        upload = uploads.uploaded(form)
    except sheets.SheetUnreadable as error:
        return _choose(current, 422, str(error))
    assert current.session is not None
    default = current.session.scope.get("jurisdiction") or ""
    mapping = uploads.column_mapping(upload.headers, FIELDS, {}, {})
    items = [_item(uploads.cells(upload.headers, row, mapping), default) for row in upload.rows]
    commit = form.get("step") == "commit"
    reply = await uploads.post_batch(current.api, "/v1/learners", {"learners": items}, commit=commit)
    if reply.status != 207:
        return _choose(current, reply.status, problem_words(reply, current.lang))
    results = uploads.row_results(reply.data["results"], upload.headers, mapping, current.lang)
    for result, item in zip(results, items, strict=True):
        result["name"] = item["name"]
    return current.render(
        "roster.html",
        stage="committed" if commit else "dry_run",
        fields=FIELDS,
        failure=None,
        results=results,
        summary=reply.data,
        nothing_new=reply.data["recorded"] == 0 and reply.data["duplicates"] > 0,
        content=uploads.carried(upload.content),
        filename=upload.filename,
    )


ROUTES = [
    web.get("/console/hr/roster", roster_form),
    web.post("/console/hr/roster", roster_post),
]
