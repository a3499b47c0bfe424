"""Operational endpoints: liveness, readiness, metrics, the contract and its page.

Invariants: none of these needs a token; ``/metrics`` answers only loopback clients;
readiness fails (503) when the database cannot be reached, and only then: a pool whose
connections are all busy is load, so readiness asks on a connection of its own instead.
"""

from __future__ import annotations

import ipaddress
from importlib import resources
from typing import Any

import asyncpg
from aiohttp import web

from api.context import services
from api.http import answer
from api.problems import Problem
from projections import queries

OPENAPI = web.AppKey("openapi", dict)


async def healthz(request: web.Request) -> web.Response:
    return answer({"status": "ok"})


async def _positions(conn: Any) -> tuple[int, int]:
    position = await queries.current_position(conn)
    head = await conn.fetchval("SELECT coalesce(max(notification_id), 0) FROM creditbank_events")
    return position, int(head)


async def readyz(request: web.Request) -> web.Response:
    svc = services(request)
    try:
        async with svc.pool.acquire(timeout=0.5) as conn:
            position, head = await _positions(conn)
    except TimeoutError:
        # Every pooled connection is busy serving requests: that is load, not an unreachable
        # database (the soak saw 503s here at p99 reads of 3 s). Ask on a connection of its own.
        try:
            conn = await asyncpg.connect(**svc.database.asyncpg_kwargs(), timeout=2)
            try:
                position, head = await _positions(conn)
            finally:
                await conn.close()
        except Exception:  # readiness answers, never fails
            return answer({"status": "unavailable", "database": "unreachable"}, 503)
    except Exception:
        return answer({"status": "unavailable", "database": "unreachable"}, 503)
    return answer(
        {"status": "ready", "database": "ok", "position": position, "head": head, "lag": head - position}
    )


def _is_loopback(request: web.Request) -> bool:
    peer = request.remote or ""
    try:
        return ipaddress.ip_address(peer).is_loopback
    except ValueError:
        return peer == "" or peer.startswith("/")  # unix socket


async def metrics(request: web.Request) -> web.Response:
    if not _is_loopback(request):
        raise Problem(403, "forbidden", "Metrics are served on loopback only", "ask from the host itself")
    svc = services(request)
    lines = [
        "# HELP creditbank_requests_total HTTP requests by route and status.",
        "# TYPE creditbank_requests_total counter",
    ]
    for (method, route, status), count in sorted(svc.metrics.requests.items()):
        lines.append(
            f'creditbank_requests_total{{method="{method}",route="{route}",status="{status}"}} {count}'
        )
    lines += [
        "# HELP creditbank_completions_total Completion items by outcome.",
        "# TYPE creditbank_completions_total counter",
    ]
    for outcome, count in sorted(svc.metrics.completions.items()):
        lines.append(f'creditbank_completions_total{{outcome="{outcome}"}} {count}')
    lines += [
        "# HELP creditbank_projection_position Last event applied by the read models.",
        "# TYPE creditbank_projection_position gauge",
        f"creditbank_projection_position {svc.runner.position}",
    ]
    return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")


async def openapi(request: web.Request) -> web.Response:
    return answer(request.app[OPENAPI])


async def docs(request: web.Request) -> web.Response:
    page = resources.files("api").joinpath("static/docs.html").read_text(encoding="utf-8")
    return web.Response(text=page, content_type="text/html")
