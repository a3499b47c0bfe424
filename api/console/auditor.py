"""Auditor pages: verify the chain (in ranges, with a progress bar), checkpoints, the
institution audit, the event explorer, a bundle download.

Invariants: the verification, checkpoints, audit and events are the API's answers for the
session's token; the bundle is ``projections.bundle.export`` (what ``creditbank audit export``
writes), offered only to the auditor role, whom the API lets read every event.
"""

from __future__ import annotations

import asyncio
import io
import tempfile
import zipfile
from pathlib import Path
from typing import Final
from urllib.parse import quote

from aiohttp import web

from api.console.web import Page, page, problem_words
from api.service.audit import key_ring
from api.service.context import SERVICES
from projections import bundle, eventlog

AUDITOR: Final = frozenset({"auditor"})
CHUNK: Final = 2000


@page(AUDITOR)
async def home(current: Page) -> web.StreamResponse:
    api = current.api
    checkpoints = await api.get("/v1/audit/checkpoints", limit=20)
    async with current.request.app[SERVICES].pool.acquire() as conn:
        head = await eventlog.head(conn)
    report = None
    if "verify" in current.request.query:  # without JavaScript: the whole log at once
        reply = await api.get("/v1/audit/verification")
        report = reply.data if reply.ok else None
    return current.render(
        "auditor.html",
        head=head,
        chunk=CHUNK,
        checkpoints=checkpoints.data.get("checkpoints", []) if checkpoints.ok else [],
        report=report,
    )


@page(AUDITOR)
async def verification(current: Page) -> web.StreamResponse:
    """One range of the chain, as the API verifies it (the progress bar asks range by range)."""
    q = current.request.query
    reply = await current.api.get("/v1/audit/verification", **{"from": q.get("from", "1"), "to": q.get("to")})
    return web.json_response(reply.data, status=reply.status)


@page(AUDITOR)
async def institution(current: Page) -> web.StreamResponse:
    q = current.request.query
    provider, month = q.get("provider_id", "").strip(), q.get("month", "").strip()
    report, failure = None, None
    if provider and month:
        reply = await current.api.get(f"/v1/audit/institutions/{quote(provider, safe='')}", month=month)
        report, failure = (reply.data, None) if reply.ok else (None, problem_words(reply, current.lang))
    return current.render("audit_institution.html", provider=provider, month=month, report=report, failure=failure)


@page(AUDITOR)
async def events(current: Page) -> web.StreamResponse:
    after = current.request.query.get("after", "0")
    after = after if after.isdigit() else "0"
    reply = await current.api.get("/v1/events", after=after, limit=50)
    if not reply.ok:
        return current.error(reply.status, problem_words(reply, current.lang))
    return current.render(
        "events.html", events=reply.data["events"], after=int(after), next_after=reply.data.get("next_after")
    )


@page(AUDITOR)
async def bundle_download(current: Page) -> web.StreamResponse:
    q = current.request.query
    scope = q.get("scope", "all")
    if scope not in {"all", "learner", "institution", "jurisdiction"}:
        return current.error(422, scope)
    value = q.get("value") or None
    svc = current.request.app[SERVICES]
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "bundle"
        async with svc.pool.acquire() as conn:
            await bundle.export(conn, out, scope, None if scope == "all" else value, key_ring(current.request))
        body = await asyncio.to_thread(_zipped, out)
    return web.Response(
        body=body,
        content_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="audit-bundle-{scope}.zip"'},
    )


def _zipped(folder: Path) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return out.getvalue()


ROUTES = [
    web.get("/console/auditor", home),
    web.get("/console/auditor/verification", verification),
    web.get("/console/auditor/institution", institution),
    web.get("/console/auditor/events", events),
    web.get("/console/auditor/bundle", bundle_download),
]
