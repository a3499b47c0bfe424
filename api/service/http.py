"""Request parsing and answering helpers shared by every handler.

Invariants:
- bodies are parsed with exact decimals (``parse_float=Decimal``), so ``2.5`` in JSON
  reaches the ledger as the decimal the sender wrote, never as a binary float;
- a read answers for exactly one ``position`` and says which;
- a scope check happens before any personal data is read, and after the wait for
  ``min_position`` (``resolve_position``), so the position holds for the check too.
- a streamed answer (``stream``) either is a problem answer, or starts and ends whole, or
  ends with the connection cut: never a second response inside a started one;
- a body is JSON as RFC 8259 has it and no looser, within bounds that keep parsing cheap:
  nesting at most ``MAX_JSON_DEPTH`` deep, number literals at most ``MAX_NUMBER_CHARS``
  characters, no ``NaN``/``Infinity``, no key twice in one object (a duplicate is refused,
  not decided by "last wins"); the body's size is bounded by ``client_max_size``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg
import orjson
from aiohttp import web
from marshmallow import Schema, ValidationError

from api.service.context import SETTINGS, principal, services
from api.service.problems import Problem, flatten_messages, without_surrogates
from api.service.replicas import on_standby, wait_on_standby
from ledger.errors import DomainError, LearnerNotFound
from ledger.hours import format_hours
from projections import eventlog, incidents, queries
from projections.events import json_ready

log = logging.getLogger(__name__)

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


def _encoded(data: Any) -> bytes:
    try:
        return orjson.dumps(data, default=_default, option=_ORJSON_OPTIONS)
    except TypeError:
        # A lone surrogate echoed from the request (UTF-8 cannot carry it); rare, so only
        # then is the answer walked.
        return orjson.dumps(without_surrogates(data), default=_default, option=_ORJSON_OPTIONS)


def dumps(data: Any) -> str:
    return _encoded(data).decode()


def answer(data: Any, status: int = 200) -> web.Response:
    # orjson: answers are large (every total lists its events), and the stdlib encoder
    # was a tenth of a read's CPU time.
    body = _encoded(data)
    return web.Response(body=body, status=status, content_type="application/json")


def answer_encoded(body: bytes, after: dict[str, Any]) -> web.Response:
    """The answer ``body`` (an object, already encoded) with ``after``'s keys added at its end."""
    return web.Response(body=body[:-1] + b"," + _encoded(after)[1:], content_type="application/json")


def written(status: str, position: int | None, *, status_new: int = 201, **extra: Any) -> web.Response:
    """The answer to a write: ``status_new`` (201) when something was recorded, else 200
    (a duplicate, or a no-op answered as such), with the position of its last event."""
    return answer({"status": status, "position": position, **extra}, status_new if status == "recorded" else 200)


#: No request of the contract nests deeper than a policy's rules (body, rules, rule, window).
MAX_JSON_DEPTH = 32
#: Longer number literals are no amount, position or version the contract knows; the limit
#: also keeps ``int()`` below CPython's 4,300-digit guard and ``Decimal`` arithmetic cheap.
MAX_NUMBER_CHARS = 40


class _Refused(ValueError):
    """A body that parses as JSON but that the contract refuses (see the module invariants)."""


def _number(text: str, kind: type[int] | type[Decimal]) -> int | Decimal:
    if len(text) > MAX_NUMBER_CHARS:
        raise _Refused(f"a number of {len(text)} characters is longer than {MAX_NUMBER_CHARS}")
    return kind(text)


def _int(text: str) -> int | Decimal:
    return _number(text, int)


def _decimal(text: str) -> int | Decimal:
    return _number(text, Decimal)


def _constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON number")


def _object_of(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data = dict(pairs)
    if len(data) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Refused(f"the key {key[:64]!r} appears twice in one object")
            seen.add(key)
    return data


_CONTAINERS = frozenset({dict, list})


def _too_deep(value: Any) -> bool:
    """Whether ``value`` (as ``json.loads`` made it) nests deeper than ``MAX_JSON_DEPTH``,
    walked level by level without recursion (about 1 µs per completion of a batch)."""
    level: list[Any] = [value] if type(value) in _CONTAINERS else []
    for _ in range(MAX_JSON_DEPTH):
        below: list[Any] = []
        keep = below.append
        for node in level:
            for child in node.values() if type(node) is dict else node:
                if type(child) in _CONTAINERS:
                    keep(child)
        if not below:
            return False
        level = below
    return True


def parse_json(raw: bytes) -> Any:
    """A request body as data, or the ``Problem`` (400) that says what is wrong with it."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Problem(400, "malformed_json", "The body is not UTF-8", "encode the body as UTF-8") from None
    try:
        data = json.loads(
            text, parse_float=_decimal, parse_int=_int, parse_constant=_constant, object_pairs_hook=_object_of
        )
    except json.JSONDecodeError as error:
        raise Problem(
            400,
            "malformed_json",
            "The body is not valid JSON",
            f"line {error.lineno} column {error.colno}: {error.msg}",
        ) from None
    except _Refused as error:
        raise Problem(400, "malformed_json", "The body is JSON the service does not accept", str(error)) from None
    except RecursionError:
        too_deep = True
    else:
        # Only a body with that many brackets can nest that deep: most bodies skip the walk.
        too_deep = text.count("[") + text.count("{") > MAX_JSON_DEPTH and _too_deep(data)
    if too_deep:
        raise Problem(
            400,
            "malformed_json",
            "The body nests too deep",
            f"JSON may nest at most {MAX_JSON_DEPTH} arrays and objects deep",
        )
    return data


#: What a streamed answer holds back before its first byte: a failure within it (a small
#: export whole, the first learners of a large one) is still an ordinary problem answer.
STREAM_HOLD_BYTES = 256 * 1024


async def stream(
    request: web.Request, response: web.StreamResponse, chunks: AsyncIterator[bytes]
) -> web.StreamResponse:
    """Send ``response`` with ``chunks`` as its body.

    Nothing is sent before ``STREAM_HOLD_BYTES`` are made (or all of them), so a failure
    there is a problem answer. A failure after that cannot be answered any more (the status
    line is gone): the connection is cut without the closing chunk, so the client sees an
    incomplete answer, never a complete-looking file nor a second response inside the first."""
    held: list[bytes] = []
    size, rest = 0, True
    while size < STREAM_HOLD_BYTES:
        chunk = await anext(chunks, None)
        if chunk is None:
            rest = False
            break
        held.append(chunk)
        size += len(chunk)
    await response.prepare(request)
    try:
        await response.write(b"".join(held))
        if rest:
            async for chunk in chunks:
                await response.write(chunk)
    except ConnectionError:
        raise  # the client went away: there is no one to tell
    except Exception as error:
        resource = request.match_info.route.resource
        log.error(
            "%s %s failed after its answer began (%s); the connection is cut",
            request.method,
            resource.canonical if resource is not None else "(no route)",
            type(error).__name__,
        )
        if request.transport is not None:
            request.transport.abort()
        return response
    await response.write_eof()
    return response


async def read_json(request: web.Request) -> Any:
    if request.content_type not in {"application/json", "application/problem+json"}:
        raise Problem(
            415,
            "unsupported_media_type",
            "Send JSON",
            f"Content-Type must be application/json, not {request.content_type or 'missing'}",
        )
    try:
        # A declared body that never arrives must not hold the connection (and a handler) open.
        async with asyncio.timeout(request.app[SETTINGS].body_timeout_seconds):
            raw = await request.read()
    except TimeoutError:
        raise Problem(
            408,
            "body_timeout",
            "The request body did not arrive in time",
            f"the body declared in Content-Length must arrive within {request.app[SETTINGS].body_timeout_seconds:g} s",
            headers={"Connection": "close"},
        ) from None
    return parse_json(raw)


def json_object(data: Any, prefix: str = "") -> dict[str, Any]:
    """``data`` if it is a JSON object, else the problem saying it must be one."""
    if not isinstance(data, dict):
        raise Problem(
            422,
            "validation_failed",
            "The request has invalid fields",
            "the body must be a JSON object",
            errors={prefix or "body": ["must be a JSON object"]},
        )
    return data


async def read_json_object(request: web.Request) -> dict[str, Any]:
    """The body, which must be a JSON object (documents checked by the ledger, not a schema)."""
    return json_object(await read_json(request))


def load(schema: Schema, data: Any, prefix: str = "") -> dict[str, Any]:
    data = json_object(data, prefix)
    try:
        loaded: dict[str, Any] = schema.load(data)
    except ValidationError as error:
        errors = flatten_messages(error.messages, prefix)
        raise Problem(
            422,
            "validation_failed",
            "The request has invalid fields",
            "invalid: " + ", ".join(sorted(errors)),
            errors=errors,
        ) from None
    return loaded


async def load_body(request: web.Request, schema: Schema) -> dict[str, Any]:
    return load(schema, await read_json(request))


def load_query(request: web.Request, schema: Schema) -> dict[str, Any]:
    return load(schema, dict(request.query))


async def _refuse_if_stuck(conn: asyncpg.Connection, wanted: int, current: int) -> None:
    """Refuse with ``projection_stuck`` when an incident holds the read models below
    ``wanted``: they will not get there by themselves, so "retry shortly" would mislead."""
    incident = await incidents.current(conn, eventlog.PROJECTION)
    if incident is None or incident.position > wanted:
        return
    raise Problem(
        503,
        "projection_stuck",
        "The read models are stopped by an incident",
        f"asked for position {wanted}; the read models are stopped at position {current} by an incident: "
        f"the event at position {incident.position} ({incident.topic}) cannot be applied; see /readyz",
        position=current,
        incident={"position": incident.position, "event_id": incident.event_id, "topic": incident.topic},
    )


async def refuse_unwritten(conn: Any, query: dict[str, Any], current: int) -> None:
    """422 ``position_not_written`` when the query's ``min_position`` or ``at_position`` lies
    beyond the log's end on the primary (``conn``: a connection or pool of it): not a lag to
    wait out, no event has that position yet. ``current``: the position the read stands at."""
    wanted = max(query.get("min_position") or 0, query.get("at_position") or 0)
    if wanted <= current:
        return
    head = await eventlog.head(conn)
    if wanted > head:
        field = "at_position" if query.get("at_position", 0) > head else "min_position"
        raise Problem(
            422,
            "position_not_written",
            "No event has that position yet",
            f"the log ends at position {head}; asked for {wanted}",
            errors={field: [f"must be at most {head}, the last position written"]},
            position=current,
        )


async def resolve_position(conn: asyncpg.Connection, request: web.Request, query: dict[str, Any]) -> int:
    """The position a read answers for: waits (bounded) when asked for a newer one."""
    svc = services(request)
    wanted = max(query.get("min_position") or 0, query.get("at_position") or 0)
    standby = on_standby(conn)
    if standby:
        # A standby's read models are where its own replayed tracking row says.
        current = await eventlog.applied_position(conn)
    else:
        # The applier in this process, or the notices of the one elsewhere, tell the position.
        current = await svc.runner.applied_position(conn, hearing=svc.notifications.listening)
    if wanted > current:
        # The log's end as the primary has it: a standby may not have replayed it yet.
        await refuse_unwritten(svc.pool if standby else conn, query, current)
        if standby:
            current = await wait_on_standby(conn, wanted, MAX_WAIT_SECONDS)
        else:
            current = await svc.runner.wait_for(wanted, MAX_WAIT_SECONDS)
        if current < wanted:
            await _refuse_if_stuck(conn, wanted, current)
            raise Problem(
                503,
                "projection_behind",
                "The read models have not reached that position yet",
                f"asked for position {wanted}, the read models are at {current}; retry shortly",
                headers={"Retry-After": "1"},
                position=current,
            )
    if "at_position" in query:
        return int(query["at_position"])
    if "as_of" in query:
        return min(current, await queries.position_as_of(conn, query["as_of"], svc.zone))
    return current


async def authorize_learner(conn: asyncpg.Connection, request: web.Request, learner_id: str) -> None:
    """Refuse unless the caller may see this learner; 404 if there is no such learner."""
    check_learner_caller(request, learner_id)
    check_learner_scope(request, learner_id, await queries.learner_jurisdiction(conn, learner_id))


def check_learner_caller(request: web.Request, learner_id: str) -> None:
    """Refuse a learner token for another learner (before anything about them is read)."""
    caller = principal(request)
    if caller.role == "learner" and caller.learner_id != learner_id:
        raise Problem(403, "forbidden", "Outside your scope", "a learner token reads only its own learner")


def check_learner_scope(request: web.Request, learner_id: str, found: tuple[str, str | None] | None) -> None:
    """``authorize_learner`` once the learner's (jurisdiction, school) are known (``None``:
    no such learner), for a read that fetched them along with its answer."""
    caller = principal(request)
    check_learner_caller(request, learner_id)
    if found is None:
        raise LearnerNotFound(f"no learner {learner_id} is known")
    if caller.role == "school" and caller.school_id != found[1]:
        raise Problem(403, "forbidden", "Outside your scope", "a school token reads only its own school's teachers")
    if caller.role == "hr" and not caller.covers_jurisdiction(found[0]):
        raise Problem(
            403,
            "forbidden",
            "Outside your scope",
            f"this token covers jurisdiction {caller.jurisdiction}, not the learner's",
        )


def check_jurisdiction_scope(request: web.Request, jurisdiction: str) -> None:
    """Refuse (403) a caller whose token does not cover ``jurisdiction`` (HR elsewhere; a
    school, institution or learner token covers no jurisdiction)."""
    caller = principal(request)
    if not caller.covers_jurisdiction(jurisdiction):
        raise Problem(
            403,
            "forbidden",
            "Outside your scope",
            f"this token covers jurisdiction {caller.jurisdiction}, not {jurisdiction}",
        )


def write_scope(request: web.Request) -> str | None:
    """The jurisdiction an HR caller's writes are confined to (None: any, for an admin);
    the ledger checks it against the learner's current jurisdiction inside the command."""
    caller = principal(request)
    return caller.jurisdiction if caller.role == "hr" else None


async def with_context(fn: Callable[[], Awaitable[Any]]) -> Any:
    """Run ``fn``; a domain refusal is answered with its context (the ledger's ``**context``:
    a verdict, the programme the hours went to) as extra problem fields."""
    try:
        return await fn()
    except DomainError as error:
        extra = {k: json_ready(v) for k, v in error.context.items()}
        raise Problem(
            error.status, error.code, error.title, error.detail, errors={error.field or "body": [error.detail]}, **extra
        ) from None


async def run_in_writer(request: web.Request, fn: Any) -> Any:
    """Run a command on the bank's writer thread and wait for it without blocking."""
    svc = services(request)
    await svc.hear_erasures()
    return await asyncio.wrap_future(svc.committer.submit(fn))
