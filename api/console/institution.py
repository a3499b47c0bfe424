"""Institution pages: its accreditation and its learners' evaluation summary, the list of
the completions it posted (with their revocation), and the upload of completions from a
spreadsheet.

Invariants:
- the evaluation summary shows a programme's figures only once the API publishes them
  (``scores`` present: ``minimum`` ballots or more); below that the page says so and shows
  no number at all, not even the count, so no rater can be told by a change in it;
- the list of postings and its downloads are the API's own
  (``GET /v1/providers/{id}/completions``), as this token: an institution sees only its own;
- an upload is always judged by a dry run first (``POST /v1/completions?dry_run=true``: the
  ledger checks every row on the state it loads from the event store, exactly as the post
  would, and saves nothing); the commit posts the same rows, parsed from the same bytes
  (``api.console.uploads``, which the roster upload shares);
- each row's result names the spreadsheet row, the column (by the mapping) and the reason in
  Chinese; a second upload of the same file records nothing (every row ``duplicate``) and the
  page says so;
- the column mapping is remembered per institution (``console_column_mappings``: header names
  only, nothing personal) when a commit succeeds, and offered for the next upload.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any, Final
from urllib.parse import quote, urlencode

from aiohttp import web

from api.console import labels, sheets, uploads
from api.console.bank_api import Reply
from api.console.web import Page, page, see_other
from api.service.context import SERVICES

INSTITUTION: Final = frozenset({"institution"})

FIELDS: Final[tuple[uploads.Field, ...]] = (
    ("record_id", "记录编号", "record id", True),
    ("learner_id", "教师编号", "teacher number", True),
    ("programme.code", "课程代码", "programme code", True),
    ("programme.title", "课程名称", "programme title", True),
    ("programme.category", "类别", "category", True),
    ("programme.level", "级别", "level", True),
    ("hours", "学时", "hours", True),
    ("assessment", "考核结果", "assessment", True),
    ("completed_on", "完成日期", "completed on", True),
    ("started_on", "开始日期", "started on", False),
)

SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS console_column_mappings (
    provider_id text PRIMARY KEY,
    mapping jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
"""


async def mappings_ctx(app: web.Application) -> AsyncIterator[None]:
    async with app[SERVICES].pool.acquire() as conn:
        await conn.execute(SCHEMA)
    yield


def _provider(current: Page) -> str:
    assert current.session is not None
    provider = current.session.scope.get("provider_id")
    assert provider is not None
    return provider


@page(INSTITUTION)
async def home(current: Page) -> web.StreamResponse:
    return await _home(current, None)


def _words(current: Page) -> dict[str, Any]:
    """The word function of these pages (their own words, then the console's)."""
    lang = current.lang
    return {"t": lambda key, **values: labels.word(key, lang).format(**values)}


async def _home(current: Page, revocation: dict[str, Any] | None, status: int = 200) -> web.StreamResponse:
    base = f"/v1/providers/{quote(_provider(current), safe='')}"
    reply = await current.api.get(base)
    evaluations = await current.api.get(f"{base}/evaluations")
    summary = evaluations.data if evaluations.ok else None
    return current.render(
        "institution.html",
        status=status,
        provider=reply.data if reply.ok else None,
        revocation=revocation,
        evaluations=summary,
        chart=_evaluation_chart(summary, current.lang),
        **_words(current),
    )


def _evaluation_chart(summary: dict[str, Any] | None, lang: str) -> dict[str, Any] | None:
    """Averages per criterion of the programmes whose tallies are published (else none)."""
    shown = [p for p in (summary or {}).get("programmes", []) if p.get("scores")]
    if not shown:
        return None
    criteria = list(shown[0]["scores"])
    return {
        "labels": [p["programme"] for p in shown],
        "datasets": [
            {"label": labels.label("evaluation_criterion", c, lang), "data": [p["scores"][c]["average"] for p in shown]}
            for c in criteria
        ],
    }


#: The query parameters of the postings page the API takes as they are.
LIST_PARAMETERS: Final = ("from", "to", "after")


def _list_query(current: Page) -> dict[str, str]:
    return {k: current.request.query[k] for k in LIST_PARAMETERS if current.request.query.get(k)}


@page(INSTITUTION)
async def postings(current: Page) -> web.StreamResponse:
    return await _postings(current, None)


async def _postings(current: Page, revocation: dict[str, Any] | None, status: int = 200) -> web.StreamResponse:
    query = _list_query(current)
    path = f"/v1/providers/{quote(_provider(current), safe='')}/completions"
    # After a revocation: read the list as it stands after it (read your write).
    seen = current.request.query.get("min_position", "")
    reply = await current.api.get(path, limit=PAGE_SIZE, min_position=seen if seen.isdigit() else None, **query)
    problem = None if reply.ok else _problem_text(reply, current.lang)
    return current.render(
        "postings.html",
        status=status if reply.ok else reply.status,
        listing=reply.data if reply.ok else None,
        problem=problem,
        query=query,
        filters={k: v for k, v in query.items() if k != "after"},
        revocation=revocation,
        just_revoked=current.request.query.get("revoked", "")[:128],
        **_words(current),
    )


#: Rows per page of the postings list.
PAGE_SIZE: Final = 50


def _problem_text(reply: Reply, lang: str) -> str:
    data = reply.data if isinstance(reply.data, dict) else {}
    fields = "、".join(data.get("errors") or {})
    return " ".join(x for x in (labels.reason(data.get("code"), lang), fields, str(data.get("detail") or "")) if x)


@page(INSTITUTION)
async def postings_download(current: Page) -> web.StreamResponse:
    """The institution's postings as the API's own sheet, streamed."""
    query = {k: v for k, v in _list_query(current).items() if k != "after"}
    path = f"/v1/providers/{quote(_provider(current), safe='')}/completions"
    return await current.sheet(path, current.request.match_info["kind"], **query)


@page(INSTITUTION)
async def revoke(current: Page) -> web.StreamResponse:
    """Revoke one of the institution's own records (the API's revocation, as this token)."""
    form = current.form()
    record_id, reason = str(form.get("record_id", "")).strip(), str(form.get("reason", "")).strip()
    path = f"/v1/completions/{quote(_provider(current), safe='')}/{quote(record_id, safe='')}/revocation"
    reply = await current.api.post(path, {"reason": reason})
    outcome: dict[str, Any] = {"record_id": record_id, "status": reply.data.get("status") if reply.ok else None}
    if not reply.ok:
        code = reply.data.get("code") if isinstance(reply.data, dict) else None
        errors = reply.data.get("errors") if isinstance(reply.data, dict) else None
        outcome["reason"] = labels.item_reason(code, list(errors or {}), current.lang)
        outcome["detail"] = reply.data.get("detail") if isinstance(reply.data, dict) else ""
    if form.get("back") == "postings":
        if reply.ok:
            # Back to the list the row was on, which now shows it revoked.
            back = {k: str(form.get(k, "")) for k in LIST_PARAMETERS if form.get(k)}
            done = {"revoked": record_id, "min_position": reply.data["position"]}
            return see_other("/console/institution/completions?" + urlencode({**back, **done}))
        return await _postings(current, outcome, 422)
    return await _home(current, outcome, 200 if reply.ok else 422)


async def _remembered(current: Page) -> dict[str, str]:
    async with current.request.app[SERVICES].pool.acquire() as conn:
        raw = await conn.fetchval(
            "SELECT mapping FROM console_column_mappings WHERE provider_id = $1", _provider(current)
        )
    data = json.loads(raw) if isinstance(raw, str) else raw
    return {str(k): str(v) for k, v in (data or {}).items()}


async def _remember(current: Page, mapping: dict[str, str]) -> None:
    async with current.request.app[SERVICES].pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO console_column_mappings (provider_id, mapping) VALUES ($1, $2::jsonb)"
            " ON CONFLICT (provider_id) DO UPDATE SET mapping = EXCLUDED.mapping, updated_at = now()",
            _provider(current),
            json.dumps(mapping, ensure_ascii=False),
        )


def _item(cell: Callable[[str], str]) -> dict[str, Any]:
    item: dict[str, Any] = {
        "record_id": cell("record_id"),
        "learner_id": cell("learner_id"),
        "programme": {
            "code": cell("programme.code"),
            "title": cell("programme.title"),
            "category": labels.code_of_label("category", cell("programme.category")),
            "level": labels.code_of_label("level", cell("programme.level")),
        },
        "hours": cell("hours"),
        "assessment": labels.code_of_label("assessment", cell("assessment")),
        "completed_on": cell("completed_on"),
    }
    if cell("started_on"):
        item["started_on"] = cell("started_on")
    return item


@page(INSTITUTION)
async def upload_form(current: Page) -> web.StreamResponse:
    return current.render("upload.html", stage="choose", fields=FIELDS, failure=None)


@page(INSTITUTION)
async def upload_post(current: Page) -> web.StreamResponse:
    form = current.form()
    try:
        upload = uploads.uploaded(form)
    except sheets.SheetUnreadable as error:
        return current.render("upload.html", status=422, stage="choose", fields=FIELDS, failure=str(error))
    headers = upload.headers
    asked = {path: str(form.get(f"map.{path}", "")) for path, *_ in FIELDS}
    mapping = uploads.column_mapping(headers, FIELDS, asked, await _remembered(current))
    commit = form.get("step") == "commit"
    items = [_item(uploads.cells(headers, row, mapping)) for row in upload.rows]
    reply = await uploads.post_batch(current.api, "/v1/completions", {"completions": items}, commit=commit)
    if reply.status != 207:
        return current.render(
            "upload.html", status=reply.status, stage="choose", fields=FIELDS, failure=str(reply.data)
        )
    if commit:
        await _remember(current, mapping)
    return current.render(
        "upload.html",
        stage="committed" if commit else "dry_run",
        fields=FIELDS,
        failure=None,
        headers=headers,
        mapping=mapping,
        results=uploads.row_results(reply.data["results"], headers, mapping, current.lang),
        summary=reply.data,
        nothing_new=commit and reply.data["recorded"] == 0 and reply.data["rejected"] == 0,
        content=uploads.carried(upload.content),
        filename=upload.filename,
    )


ROUTES = [
    web.get("/console/institution", home),
    web.post("/console/institution/revocation", revoke),
    web.get("/console/institution/completions", postings),
    web.get("/console/institution/completions.{kind}", postings_download),
    web.get("/console/institution/upload", upload_form),
    web.post("/console/institution/upload", upload_post),
]
