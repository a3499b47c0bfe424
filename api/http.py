"""Request parsing and answering helpers shared by every handler.

Invariants:
- bodies are parsed with exact decimals (``parse_float=Decimal``), so ``2.5`` in JSON
  reaches the ledger as the decimal the sender wrote, never as a binary float;
- a read answers for exactly one ``position`` and says which;
- a scope check happens before any personal data is read.
"""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg
import orjson
from aiohttp import web
from marshmallow import Schema, ValidationError

from api.context import SETTINGS, principal, services
from api.problems import Problem, flatten_messages
from ledger.hours import format_hours
from projections import queries

#: The longest a read waits for the projections to reach a position it asked for.
MAX_WAIT_SECONDS = 5.0


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format_hours(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


_ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS


def dumps(data: Any) -> str:
    return orjson.dumps(data, default=_default, option=_ORJSON_OPTIONS).decode()


def answer(data: Any, status: int = 200) -> web.Response:
    # orjson: answers are large (every total lists its events), and the stdlib encoder
    # was a tenth of a read's CPU time.
    body = orjson.dumps(data, default=_default, option=_ORJSON_OPTIONS)
    return web.Response(body=body, status=status, content_type="application/json")


def written(status: str, position: int | None, *, status_new: int = 201, **extra: Any) -> web.Response:
    """The answer to a write: ``status_new`` (201) when something was recorded, else 200
    (a duplicate, or a no-op answered as such), with the position of its last event."""
    return answer({"status": status, "position": position, **extra}, status_new if status == "recorded" else 200)


async def read_json(request: web.Request) -> Any:
    if request.content_type not in {"application/json", "application/problem+json"}:
        raise Problem(
            415, "unsupported_media_type", "Send JSON",
            f"Content-Type must be application/json, not {request.content_type or 'missing'}",
        )
    try:
        # A declared body that never arrives must not hold the connection (and a handler) open.
        async with asyncio.timeout(request.app[SETTINGS].body_timeout_seconds):
            raw = await request.read()
    except TimeoutError:
        raise Problem(
            408, "body_timeout", "The request body did not arrive in time",
            f"the body declared in Content-Length must arrive within {request.app[SETTINGS].body_timeout_seconds:g} s",
            headers={"Connection": "close"},
        ) from None
    try:
        return json.loads(raw.decode("utf-8"), parse_float=Decimal)
    except UnicodeDecodeError:
        raise Problem(400, "malformed_json", "The body is not UTF-8", "encode the body as UTF-8") from None
    except json.JSONDecodeError as error:
        raise Problem(
            400, "malformed_json", "The body is not valid JSON",
            f"line {error.lineno} column {error.colno}: {error.msg}",
        ) from None


def load(schema: Schema, data: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(data, dict):
        raise Problem(
            422, "validation_failed", "The request has invalid fields", "the body must be a JSON object",
            errors={prefix or "body": ["must be a JSON object"]},
        )
    try:
        loaded: dict[str, Any] = schema.load(data)
    except ValidationError as error:
        errors = flatten_messages(error.messages, prefix)
        raise Problem(
            422, "validation_failed", "The request has invalid fields",
            "invalid: " + ", ".join(sorted(errors)), errors=errors,
        ) from None
    return loaded


async def load_body(request: web.Request, schema: Schema) -> dict[str, Any]:
    return load(schema, await read_json(request))


def load_query(request: web.Request, schema: Schema) -> dict[str, Any]:
    return load(schema, dict(request.query))


async def resolve_position(conn: asyncpg.Connection, request: web.Request, query: dict[str, Any]) -> int:
    """The position a read answers for: waits (bounded) when asked for a newer one."""
    svc = services(request)
    wanted = max(query.get("min_position") or 0, query.get("at_position") or 0)
    # The applier in this process, or the notices of the one elsewhere, tell the position.
    current = await svc.runner.applied_position(conn, hearing=svc.notifications.listening)
    if wanted > current:
        head = await conn.fetchval("SELECT coalesce(max(notification_id), 0) FROM creditbank_events")
        if wanted > head:
            # Not a lag to wait out: no event has that position yet.
            field = "at_position" if query.get("at_position", 0) > head else "min_position"
            raise Problem(
                422, "position_not_written", "No event has that position yet",
                f"the log ends at position {head}; asked for {wanted}",
                errors={field: [f"must be at most {head}, the last position written"]}, position=current,
            )
        current = await svc.runner.wait_for(wanted, MAX_WAIT_SECONDS)
        if current < wanted:
            raise Problem(
                503, "projection_behind", "The read models have not reached that position yet",
                f"asked for position {wanted}, the read models are at {current}; retry shortly",
                headers={"Retry-After": "1"}, position=current,
            )
    if "at_position" in query:
        return int(query["at_position"])
    if "as_of" in query:
        return min(current, await queries.position_as_of(conn, query["as_of"], svc.zone))
    return current


async def authorize_learner(conn: asyncpg.Connection, request: web.Request, learner_id: str) -> None:
    """Refuse unless the caller may see this learner; 404 if there is no such learner."""
    caller = principal(request)
    if caller.role == "learner" and caller.learner_id != learner_id:
            raise Problem(403, "forbidden", "Outside your scope", "a learner token reads only its own learner")
    found = await queries.learner_jurisdiction(conn, learner_id)
    if found is None:
        raise Problem(404, "learner_not_found", "No such learner", f"no learner {learner_id} is known")
    if caller.role == "hr" and not caller.covers_jurisdiction(found[0]):
        raise Problem(
            403, "forbidden", "Outside your scope",
            f"this token covers jurisdiction {caller.jurisdiction}, not the learner's",
        )


async def run_in_writer(request: web.Request, fn: Any) -> Any:
    """Run a command on the bank's writer thread and wait for it without blocking."""
    svc = services(request)
    await svc.hear_erasures()
    return await asyncio.wrap_future(svc.committer.submit(fn))
