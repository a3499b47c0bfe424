"""Operational endpoints: liveness, readiness, metrics, the contract and its page.

Invariants: none of these needs a token; ``/docs`` and its assets come from the package
itself (Swagger UI vendored under static/swagger-ui/), never from another host;
``/metrics`` answers only loopback clients;
readiness fails (503) when the database cannot be reached, or when the read models are
stuck at an event they cannot apply (``projections.incidents``; the answer names its
position, topic and error, never its content); a pool whose connections are all busy is
load, not unreadiness, so readiness asks on a connection of its own instead. With read
standbys configured it names each one's reachability and lag (positions behind the
primary's log, seconds since its last replayed commit); a standby down is reported, not
unreadiness, since reads then fall back to the primary.
"""

from __future__ import annotations

import functools
import ipaddress
from importlib import resources
from typing import Any

import asyncpg
from aiohttp import web

from api.service.context import services
from api.service.http import answer
from api.service.problems import Problem
from projections import eventlog, incidents
from projections.eventlog import PROJECTION

OPENAPI = web.AppKey("openapi", dict)


async def healthz(request: web.Request) -> web.Response:
    return answer({"status": "ok"})


async def _positions(conn: Any) -> tuple[int, int, incidents.Incident | None]:
    position = await eventlog.applied_position(conn)
    head = await eventlog.head(conn)
    return position, head, await incidents.current(conn, PROJECTION)


async def readyz(request: web.Request) -> web.Response:
    svc = services(request)
    try:
        async with svc.pool.acquire(timeout=0.5) as conn:
            position, head, incident = await _positions(conn)
    except TimeoutError:
        # Every pooled connection is busy serving requests: that is load, not an unreachable
        # database (the soak saw 503s here at p99 reads of 3 s). Ask on a connection of its own.
        try:
            conn = await asyncpg.connect(**svc.database.asyncpg_kwargs(), timeout=2)
            try:
                position, head, incident = await _positions(conn)
            finally:
                await conn.close()
        except Exception:  # readiness answers, never fails
            return answer({"status": "unavailable", "database": "unreachable"}, 503)
    except Exception:
        return answer({"status": "unavailable", "database": "unreachable"}, 503)
    state: dict[str, Any] = {"database": "ok", "position": position, "head": head, "lag": head - position}
    if svc.reads.standbys:
        # Reads fall back to the primary when a standby is down: reported, not unready.
        state["replicas"] = await svc.reads.status(head)
    if incident is not None:
        # Not ready: the read models will not reach the head until the event is dealt with.
        return answer({"status": "unavailable", **state, "projection": "stuck", "incident": incident.as_data()}, 503)
    return answer({"status": "ready", **state})


def _is_loopback(request: web.Request) -> bool:
    peer = request.remote or ""
    try:
        return ipaddress.ip_address(peer).is_loopback
    except ValueError:
        return peer == "" or peer.startswith("/")  # unix socket


def _label(value: str) -> str:
    """A Prometheus label value, escaped (a topic read from the log may hold anything)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


async def metrics(request: web.Request) -> web.Response:
    if not _is_loopback(request):
        raise Problem(403, "forbidden", "Metrics are served on loopback only", "ask from the host itself")
    svc = services(request)
    lines = [
        "# HELP creditbank_requests_total HTTP requests by route and status.",
        "# TYPE creditbank_requests_total counter",
    ]
    for (method, route, status), count in sorted(svc.metrics.requests.items()):
        lines.append(f'creditbank_requests_total{{method="{method}",route="{route}",status="{status}"}} {count}')
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
        "# HELP creditbank_projection_apply_failures_total Failed attempts of this process to apply an event.",
        "# TYPE creditbank_projection_apply_failures_total counter",
        f"creditbank_projection_apply_failures_total {svc.runner.failures}",
    ]
    async with svc.pool.acquire() as conn:
        incident = await incidents.current(conn, PROJECTION)
    lines += [
        "# HELP creditbank_projection_stuck 1 while the read models cannot apply an event (labels name it).",
        "# TYPE creditbank_projection_stuck gauge",
        (
            "creditbank_projection_stuck 0"
            if incident is None
            else f'creditbank_projection_stuck{{position="{incident.position}",topic="{_label(incident.topic)}",'
            f'error="{_label(incident.error)}"}} 1'
        ),
        "# HELP creditbank_projection_stuck_position The position of the event that cannot be applied (0: none).",
        "# TYPE creditbank_projection_stuck_position gauge",
        f"creditbank_projection_stuck_position {incident.position if incident else 0}",
        "# HELP creditbank_projection_stuck_attempts Failed attempts at that event, by every applier.",
        "# TYPE creditbank_projection_stuck_attempts gauge",
        f"creditbank_projection_stuck_attempts {incident.attempts if incident else 0}",
    ]
    return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")


async def openapi(request: web.Request) -> web.Response:
    return answer(request.app[OPENAPI])


#: The page's own files (static/swagger-ui/, Swagger UI vendored with its licence; see its
#: VERSION.md) and their types; nothing else is served from there.
DOCS_ASSETS: dict[str, str] = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "docs.js": "text/javascript",
    "docs.css": "text/css",
    "LICENSE": "text/plain",
    "NOTICE": "text/plain",
}
#: The page loads only what the bank serves: a browser refuses anything from elsewhere.
DOCS_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'"
)


@functools.cache
def _static(name: str) -> bytes:
    return resources.files("api.service").joinpath("static", name).read_bytes()


async def docs(request: web.Request) -> web.Response:
    """The contract rendered by Swagger UI, with try-it and the bearer token under Authorize."""
    return web.Response(
        body=_static("docs.html"),
        content_type="text/html",
        charset="utf-8",
        headers={"Content-Security-Policy": DOCS_POLICY},
    )


async def docs_asset(request: web.Request) -> web.Response:
    name = request.match_info["asset"]
    return web.Response(
        body=_static(f"swagger-ui/{name}"),
        content_type=DOCS_ASSETS[name],
        charset="utf-8",
        # The same bytes until the bank is upgraded: a day's caching spares 1.7 MB a visit.
        headers={"Cache-Control": "public, max-age=86400"},
    )
