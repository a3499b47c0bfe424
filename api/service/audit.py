"""Audit endpoints: verify the log, publish signed checkpoints and the public key set,
and the background task that signs checkpoints.

Invariants:
- verification and checkpoints read the raw event table (``projections.audit``); nothing
  here writes anything but ``audit_checkpoints``;
- checkpoints and public keys are public, like a transparency log's signed tree heads:
  they reveal positions and hashes, never personal data;
- the checkpoint task signs only when the log grew and only what recomputes (see
  ``projections.audit.make_checkpoint``); a failure is logged and retried next round;
- a process verifies one range of the log at a time (requests and the checkpoint task take
  turns on ``VERIFYING``): a verification holds two ranges of raw events
  (``projections.audit.CHUNK``), and several at once would each raise the process's
  resident size for good.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

from aiohttp import web

from api.service import spreadsheet
from api.service.audit_schemas import checkpoints_query_schema, institution_query_schema, verification_query_schema
from api.service.context import SERVICES, services
from api.service.http import answer, load_query, stream
from api.service.problems import Problem, failure_without_values
from ledger.keys import KeyRing
from projections import audit, institution_audit
from projections.eventlog import applied_position

log = logging.getLogger(__name__)

#: Taken by every verification of the log in this process (set by ``checkpoints_ctx``).
VERIFYING = web.AppKey("verifying", asyncio.Semaphore)


def key_ring(request: web.Request) -> KeyRing:
    return KeyRing(services(request).settings.keys_path)


async def get_verification(request: web.Request) -> web.Response:
    query = load_query(request, verification_query_schema)
    public_keys = await asyncio.to_thread(key_ring(request).public_keys)
    # Wait for the turn before taking a pooled connection, which the reads need.
    async with request.app[VERIFYING], services(request).pool.acquire() as conn:
        report = await audit.verify(conn, public_keys, query["start"], query.get("end"))
    return answer(report.as_json())


async def get_checkpoints(request: web.Request) -> web.Response:
    query = load_query(request, checkpoints_query_schema)
    async with services(request).pool.acquire() as conn:
        found = await audit.load_checkpoints(conn, query["after"] + 1, limit=query["limit"] + 1)
    page = found[: query["limit"]]
    return answer(
        {
            "checkpoints": [c.as_json() for c in page],
            "next_after": page[-1].position if len(found) > len(page) else None,
            "payload_format": "creditbank-checkpoint/v1\\n{position}\\n{chain_head hex}\\n{signed_at UTC}\\n, "
            "signed with Ed25519 by the key kid (see /v1/keys)",
        }
    )


async def get_keys(request: web.Request) -> web.Response:
    return answer(await asyncio.to_thread(key_ring(request).jwks))


async def checkpoint_once(app: web.Application) -> audit.Checkpoint | None:
    svc = app[SERVICES]
    key = await asyncio.to_thread(KeyRing(svc.settings.keys_path).current)
    async with app[VERIFYING], svc.pool.acquire() as conn:
        checkpoint, report = await audit.make_checkpoint(conn, key)
    if checkpoint is None and not report.ok:
        log.error("not signing a checkpoint: the log does not verify: %s", report.as_json()["first_break"])
    return checkpoint


async def checkpoints_ctx(app: web.Application) -> AsyncIterator[None]:
    """``cleanup_ctx``: create the audit tables, then sign a checkpoint every
    ``checkpoint_seconds`` while the log grows."""
    interval = app[SERVICES].settings.checkpoint_seconds
    app[VERIFYING] = asyncio.Semaphore(1)
    async with app[SERVICES].pool.acquire() as conn:
        await audit.ensure_audit_schema(conn)
        await conn.execute(institution_audit.DDL)

    async def loop() -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await checkpoint_once(app)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("checkpoint failed; retrying in %.0f s", interval)

    task = asyncio.create_task(loop()) if interval > 0 else None
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


# -- institution audit ---------------------------------------------------------------


#: An institution's month as a spreadsheet, CSV or xlsx (``api.service.spreadsheet``).
INSTITUTION_COLUMNS = (
    spreadsheet.Column("provider_id", "identifier"),
    spreadsheet.Column("month"),
    spreadsheet.Column("section"),
    spreadsheet.Column("kind"),
    spreadsheet.Column("learner_id", "identifier"),
    spreadsheet.Column("date", "date"),
    spreadsheet.Column("count", "count"),
    spreadsheet.Column("hours", "hours"),
    spreadsheet.Column("detail"),
    spreadsheet.Column("events", "identifier"),
)


def _sheet_rows(report: dict[str, Any], language: spreadsheet.HeaderLanguage) -> list[list[Any]]:
    """One row per figure, revocation, code of refusal and anomaly, in INSTITUTION_COLUMNS."""
    head = [report["provider_id"], report["month"]]

    def section(code: str) -> str:
        return spreadsheet.term("audit_section", code, language)

    posted = report["posted"]
    rows: list[list[Any]] = [
        [
            *head,
            section("posted"),
            None,
            None,
            None,
            posted["count"],
            posted["hours"],
            f"{posted['learners']} 名教师" if language == "zh" else f"{posted['learners']} learners",
            None,
        ],
        [*head, section("revoked"), None, None, None, report["revoked"]["count"], None, None, None],
    ]
    rows += [
        [*head, section("revoked"), "revocation", item["learner_id"], None, 1, None, item["reason"], item["event_id"]]
        for item in report["revoked"]["items"]
    ]
    rows.append([*head, section("rejected"), None, None, None, report["rejected"]["count"], None, None, None])
    rows += [
        [*head, section("rejected"), code, None, None, count, None, None, None]
        for code, count in report["rejected"]["by_code"].items()
    ]
    rows += [
        [
            *head,
            section("anomaly"),
            a["kind"],
            a.get("learner_id"),
            a.get("date"),
            a.get("count"),
            a.get("hours"),
            a.get("detail", a.get("programme_code")),
            " ".join(a["events"]),
        ]
        for a in report["anomalies"]
    ]
    return rows


async def _institution_sheet(
    request: web.Request, report: dict[str, Any], kind: spreadsheet.SheetKind, lang: str | None
) -> web.StreamResponse:
    language = spreadsheet.header_language(lang, request.headers.get("Accept-Language"))
    name = f"institution-audit-{report['provider_id']}-{report['month']}.{kind}"
    response = web.StreamResponse(headers=spreadsheet.sheet_headers(kind, name))
    chunks = spreadsheet.sheet_chunks(
        kind, report["month"], INSTITUTION_COLUMNS, language, _sheet_rows(report, language)
    )
    return await stream(request, response, chunks)


async def get_institution_audit(request: web.Request) -> web.StreamResponse:
    provider_id = request.match_info["provider_id"]
    query = load_query(request, institution_query_schema)
    svc = services(request)
    async with svc.pool.acquire() as conn:
        known = await conn.fetchval("SELECT 1 FROM rm_providers WHERE provider_id = $1", provider_id)
        if known is None:
            raise Problem(404, "provider_not_found", "No such training institution", f"no provider {provider_id}")
        report = await institution_audit.institution_month(
            conn, provider_id, query["month"], svc.zone, backdated_days=query["backdated_days"], burst=query["burst"]
        )
        report["position"] = await applied_position(conn)
    sheet = spreadsheet.wanted_format(request.headers.get("Accept"))
    if sheet is not None:
        return await _institution_sheet(request, report, sheet, query.get("lang"))
    return answer(report)


async def keep_rejections(
    request: web.Request, provider_id: str, items: list[Any], results: list[dict[str, Any]]
) -> None:
    """Record the refused items of a post for the institution audit; never fails the post."""
    refused = []
    for item, result in zip(items, results, strict=False):
        if result.get("status", "rejected") == "rejected" and result.get("code"):
            data = item if isinstance(item, dict) else {}
            refused.append(
                {
                    "record_id": data.get("record_id"),
                    "learner_id": data.get("learner_id"),
                    "code": result["code"],
                    "detail": result.get("detail"),
                    "completed_on": _day(data.get("completed_on")),
                }
            )
    if not refused:
        return
    try:
        async with services(request).pool.acquire() as conn:
            await institution_audit.record_rejections(conn, provider_id, refused)
    except Exception as error:
        log.error("could not record %d rejected completions: %s", len(refused), failure_without_values(error))


def _day(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None
