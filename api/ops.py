"""Operational endpoints: liveness, readiness, metrics, the contract and its page.

Invariants: none of these needs a token; ``/metrics`` answers only loopback clients;
readiness fails (503) when the database cannot be reached.
"""

from __future__ import annotations

import ipaddress
from importlib import resources

from aiohttp import web

from api.context import services
from api.http import answer
from api.problems import Problem
from projections import queries

OPENAPI = web.AppKey("openapi", dict)


async def healthz(request: web.Request) -> web.Response:
    return answer({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    svc = services(request)
    try:
        async with svc.pool.acquire(timeout=2) as conn:
            position = await queries.current_position(conn)
            head = await conn.fetchval("SELECT coalesce(max(notification_id), 0) FROM creditbank_events")
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
