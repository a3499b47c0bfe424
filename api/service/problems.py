"""Errors as ``application/problem+json`` (RFC 9457), from one middleware.

Invariants:
- every refusal has ``type``, ``title``, ``status``, ``detail``; a validation refusal
  also has ``errors``, a map from field path (``completions[3].hours``) to messages;
- a domain error answers with its rule's stable ``code`` and status;
- ``title`` and ``detail`` are Chinese when ``Accept-Language`` prefers ``zh``, English
  otherwise (``api.service.problem_labels``), and so are the known messages in ``errors``;
  ``code`` and the field paths of ``errors`` never change with the language;
- nothing the client sent ever produces a 500; an unexpected failure is a 500 that says
  nothing of the internals (the log has its exception classes and frames, never their
  messages, which may quote personal data from the request);
- a database that cannot be reached is a 503 with ``Retry-After``, not a 500;
- what a refusal echoes of the request (an unknown field's name, a refused record id) may
  hold a lone surrogate, which UTF-8 cannot carry: it is answered as U+FFFD instead.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import traceback
from collections.abc import Mapping
from typing import Any

import asyncpg
import psycopg
from aiohttp import web
from aiohttp.typedefs import Handler
from eventsourcing.persistence import InterfaceError as StoreInterfaceError
from eventsourcing.persistence import OperationalError as StoreOperationalError
from marshmallow import ValidationError

from api.service.problem_labels import Language, errors_in_chinese, in_chinese, preferred_language
from ledger.errors import DomainError

log = logging.getLogger(__name__)

_SURROGATE = re.compile("[\ud800-\udfff]")


def without_surrogates(value: Any) -> Any:
    """``value`` with every lone surrogate in its strings (keys too) replaced by U+FFFD."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, Mapping):
        return {without_surrogates(k): without_surrogates(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [without_surrogates(v) for v in value]
    return value


PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://creditbank.example/problems/"


class Problem(web.HTTPException):
    """An HTTP refusal raised by the API layer itself (auth, bad query, limits)."""

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str,
        *,
        errors: Mapping[str, list[str]] | None = None,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        self.status_code = status
        super().__init__(headers=headers)
        self.code = code
        self.title = title
        self.detail = detail
        self.errors = dict(errors) if errors else None
        self.extra = extra
        # Kept apart from HTTPException.headers, which also carries a Content-Type.
        self.problem_headers = dict(headers or {})


def problem_response(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    errors: Mapping[str, list[str]] | None = None,
    headers: Mapping[str, str] | None = None,
    language: Language = "en",
    **extra: Any,
) -> web.Response:
    if language == "zh":
        title, detail = in_chinese(code, title, detail, errors or ())
        errors = errors_in_chinese(errors, code) if errors else errors
    body: dict[str, Any] = {
        "type": TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors:
        body["errors"] = dict(errors)
    body.update({k: v for k, v in extra.items() if v is not None})
    response = web.Response(
        status=status,
        text=_SURROGATE.sub("\ufffd", json.dumps(body, ensure_ascii=False)),
        content_type=PROBLEM_JSON,
        headers=headers,
    )
    # The words follow Accept-Language (api.service.problem_labels); caches must know.
    response.headers["Content-Language"] = language
    response.headers["Vary"] = "Accept-Language"
    return response


def flatten_messages(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested error dict -> ``{"completions[0].programme.level": [...]}``."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            if isinstance(key, int):
                path = f"{prefix}[{key}]"
            elif key == "_schema":
                path = prefix or "body"
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            flat.update(flatten_messages(value, path))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        flat.setdefault(prefix or "body", []).extend(messages)
    elif isinstance(messages, list):
        for index, value in enumerate(messages):
            flat.update(flatten_messages(value, f"{prefix}[{index}]"))
    else:
        flat.setdefault(prefix or "body", []).append(str(messages))
    return flat


def validation_problem(error: ValidationError, prefix: str = "", *, language: Language = "en") -> web.Response:
    errors = flatten_messages(error.messages, prefix)
    fields = ", ".join(sorted(errors))
    return problem_response(
        422,
        "validation_failed",
        "The request has invalid fields",
        f"invalid: {fields}",
        errors=errors,
        language=language,
    )


def domain_problem(error: DomainError, *, status: int | None = None, language: Language = "en") -> web.Response:
    errors = {error.field: [error.detail]} if error.field else None
    return problem_response(
        status or error.status, error.code, error.title, error.detail, errors=errors, language=language
    )


def domain_error_body(error: DomainError) -> dict[str, Any]:
    """The per-item form of a domain error inside a batch answer."""
    return {
        "code": error.code,
        "title": error.title,
        "detail": error.detail,
        "errors": {error.field or "body": [error.detail]},
    }


_UNAVAILABLE = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.AdminShutdownError,
    # A connection cut mid-operation (a PostgreSQL restart) can leave asyncpg's protocol
    # state behind ("cannot switch to state 11"); the pool drops it when it is released.
    asyncpg.exceptions.InternalClientError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    StoreOperationalError,
    StoreInterfaceError,
)


def _route(request: web.Request) -> str:
    """The route's pattern, not the path: paths hold learner ids, which are personal data."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "(no route)"


def _chain(error: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _classes(error: BaseException) -> str:
    return " <- ".join(f"{type(e).__module__}.{type(e).__qualname__}" for e in _chain(error))


def failure_without_values(error: BaseException) -> str:
    """Where it failed (each exception's class and frames), never what the exceptions say:
    their messages quote values (a teacher number, a name, a token) from the request."""
    parts = []
    for e in reversed(_chain(error)):
        frames = "".join(traceback.format_list(traceback.extract_tb(e.__traceback__)))
        parts.append(f"{type(e).__module__}.{type(e).__qualname__} (message not logged)\n{frames}")
    return "\n".join(parts)


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    language = preferred_language(request.headers.get("Accept-Language"))
    try:
        return await handler(request)
    except Problem as problem:
        response = problem_response(
            problem.status_code,
            problem.code,
            problem.title,
            problem.detail,
            errors=problem.errors,
            headers=problem.problem_headers,
            language=language,
            **problem.extra,
        )
        if problem.problem_headers.get("Connection") == "close":
            # A body that never came: answer, then close at once rather than wait (aiohttp
            # lingers up to 10 s for the rest of an unread body before it closes).
            await response.prepare(request)
            await response.write_eof()
            if request.transport is not None:
                request.transport.close()
        return response
    except DomainError as error:
        return domain_problem(error, language=language)
    except ValidationError as error:
        return validation_problem(error, language=language)
    except web.HTTPRequestEntityTooLarge as error:
        return problem_response(
            413, "body_too_large", "The request body is too large", error.text or "too large", language=language
        )
    except web.HTTPException as error:
        if error.status_code < 400:
            raise
        code = error.reason.lower().replace(" ", "_")
        return problem_response(
            error.status_code,
            code,
            error.reason,
            error.text or error.reason,
            headers={k: v for k, v in error.headers.items() if k.lower() == "allow"},
            language=language,
        )
    except _UNAVAILABLE as error:
        log.warning("database unavailable for %s %s: %s", request.method, _route(request), _classes(error))
        return problem_response(
            503,
            "unavailable",
            "The service is temporarily unavailable",
            "the database cannot be reached; retry shortly",
            headers={"Retry-After": "2"},
            language=language,
        )
    except Exception as error:
        log.error("unexpected failure in %s %s: %s", request.method, _route(request), failure_without_values(error))
        return problem_response(
            500, "internal_error", "Internal error", "an unexpected error occurred; it is logged", language=language
        )
