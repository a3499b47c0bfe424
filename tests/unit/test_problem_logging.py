"""An unexpected failure is logged with where it happened, never with what the failing code
was handling: exception messages quote teacher numbers, names and tokens from the request."""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from api.service.problems import problem_middleware

NUMBER = "220106201500009"
# Kept off the raising lines: a traceback's frames show those lines of code.
INNER = f"王芳 {NUMBER}"
OUTER = f"cannot judge {NUMBER} with token cbk_secret"
LOST = f"lost while reading {NUMBER}"


async def _fails(request: web.Request) -> web.Response:
    try:
        raise KeyError(INNER)
    except KeyError as error:
        raise ValueError(OUTER) from error


async def _unreachable(request: web.Request) -> web.Response:
    raise asyncpg.exceptions.ConnectionDoesNotExistError(LOST)


@pytest.mark.parametrize(("handler", "status"), [(_fails, 500), (_unreachable, 503)])
async def test_failures_are_logged_without_what_they_say(
    handler: Any, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    request = make_mocked_request("POST", f"/v1/learners/{NUMBER}/erasure")
    with caplog.at_level(logging.INFO):
        response = await problem_middleware(request, handler)
    assert response.status == status
    logged = caplog.text + "".join(str(r.exc_info) for r in caplog.records)
    assert NUMBER not in logged and "王芳" not in logged and "cbk_secret" not in logged, logged
    assert (
        ("ValueError" in logged and "KeyError" in logged and "_fails" in logged)
        if status == 500
        else ("ConnectionDoesNotExistError" in logged)
    )
