"""The aiohttp application factory.

Invariants:
- ``create_app(settings)`` builds everything from settings; resources (database,
  event store, writer thread, read pool, projections, token listener) are opened in
  ``cleanup_ctx`` in dependency order and closed in reverse;
- every non-public route needs a valid bearer token whose role the route allows, whatever
  the method: HEAD is its GET route (roles included); a method a path does not have
  (OPTIONS too: the service answers no CORS preflight) is a 405 naming ``Allow``, no data;
  a handler with no routes-table entry never runs;
- every answer carries ``X-Content-Type-Options: nosniff`` and, unless its handler chose a
  public cache lifetime, ``Cache-Control: no-store``;
- blocking work (the embedded server, the event store's psycopg calls) runs off the
  event loop;
- HTTP reads take their connections from ``Services.reads`` (the hot standbys of
  ``CREDITBANK_READ_DATABASE_URL`` when set, see ``api.service.replicas``); everything
  that writes or decides uses the primary's pool;
- the read pool's connections never keep session state between requests (no ``SET``
  outside a transaction, no ``LISTEN``, no session advisory lock: the notification and
  applier connections are separate), so a released connection needs no reset query,
  only the rollback asyncpg always does of a transaction left open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import date
from zoneinfo import ZoneInfo

import asyncpg
from aiohttp import web
from aiohttp.typedefs import Handler

from api import auth
from api.database import Database, embedded_postgres, external_database
from api.service import audit, certificates, privacy
from api.service.access_log import ROUTE, install_log_filters
from api.service.context import PRINCIPAL, SERVICES, SETTINGS, Metrics, Services
from api.service.notifications import Notifications
from api.service.openapi import build_openapi
from api.service.ops import OPENAPI
from api.service.problems import Problem, problem_middleware
from api.service.replicas import ReadPools, StatelessConnection
from api.service.routes import ROUTES, Route, route_table
from api.settings import Settings
from ledger.application import CreditBank
from ledger.committer import Committer
from projections.runner import APPLIED_CHANNEL, ProjectionRunner
from projections.schema import ensure_schema

log = logging.getLogger(__name__)

DATABASE = web.AppKey("database", Database)

#: Paths whose handlers authenticate themselves (the console's pages by their session cookie,
#: the public certificate check): set by whoever composes the service with them (the console's
#: ``install``), never by the service. They are no API: not in the routes table nor the OpenAPI.
PAGES = web.AppKey("pages", frozenset[str])


_ROUTE_BY_KEY = {(r.method, r.path): r for r in ROUTES}


def _route_of(request: web.Request) -> Route | None:
    resource = request.match_info.route.resource
    if resource is None:
        return None
    # aiohttp answers HEAD with the GET handler: it is the GET route, roles included.
    method = "GET" if request.method == "HEAD" else request.method
    return _ROUTE_BY_KEY.get((method, resource.canonical))


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    route = _route_of(request)
    if route is None:
        resource = request.match_info.route.resource
        if resource is not None and resource.canonical in request.app.get(PAGES, frozenset()):
            return await handler(request)
        if request.match_info.http_exception is None:
            # A handler the routes table does not list would run unauthenticated: never.
            log.error("no routes-table entry for %s %s; refused", request.method, request.match_info.route.name)
            raise Problem(404, "not_found", "Not Found", "no such route")
        # 404 or 405 (OPTIONS included: no CORS here), with no data.
        return await handler(request)
    if route.roles is None:
        return await handler(request)
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Problem(
            401,
            "unauthenticated",
            "A bearer token is required",
            "send Authorization: Bearer <token>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    caller = await request.app[SERVICES].tokens.verify(token.strip())
    if caller is None:
        raise Problem(
            401,
            "unauthenticated",
            "The token is not valid",
            "the token is unknown, expired or revoked",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    if caller.role not in route.roles:
        raise Problem(
            403,
            "forbidden",
            "Your role may not do this",
            f"{request.method} {route.path} is for {', '.join(sorted(route.roles))}, not {caller.role}",
        )
    request[PRINCIPAL] = caller
    return await handler(request)


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    resource = request.match_info.route.resource
    request[ROUTE] = resource.canonical if resource is not None else "(no route)"
    response = await handler(request)
    route = _route_of(request)
    if SERVICES in request.app:
        page = resource.canonical if resource is not None and resource.canonical in request.app.get(PAGES, ()) else None
        key = (request.method, route.path if route else page or "unmatched", response.status)
        request.app[SERVICES].metrics.requests[key] += 1
    return response


async def _protective_headers(request: web.BaseRequest, response: web.StreamResponse) -> None:
    """Every answer may carry personal data or a verdict about a person: no cache keeps it
    (unless the handler said it is public and cacheable, as status lists do), and no
    browser guesses another type for it (a CSV or JSON read as HTML)."""
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers["X-Content-Type-Options"] = "nosniff"


def create_app(
    settings: Settings,
    *,
    database: Database | None = None,
    today: Callable[[], date] | None = None,
) -> web.Application:
    """The service. ``database`` overrides the configured one (tests, the demo)."""
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        # aiohttp has no header timeout of its own; its keep-alive timer runs from the moment a
        # connection opens (and from each answer) and closes it while no whole request line and
        # headers have come in, so it bounds a slow sender's hold on the connection.
        handler_args={"keepalive_timeout": settings.header_timeout_seconds},
        middlewares=[metrics_middleware, problem_middleware, auth_middleware],
    )
    app[SETTINGS] = settings
    install_log_filters()
    app.on_response_prepare.append(_protective_headers)
    app[OPENAPI] = build_openapi(ROUTES)
    app.add_routes(route_table())
    zone = ZoneInfo(settings.timezone)

    async def open_database(app: web.Application) -> AsyncIterator[None]:
        if database is not None:
            await asyncio.to_thread(database.ensure_exists)
            app[DATABASE] = database
            yield
            return
        if settings.database_url is not None:
            app[DATABASE] = await asyncio.to_thread(external_database, settings.database_url)
            yield
            return
        with contextlib.ExitStack() as stack:
            server = await asyncio.to_thread(stack.enter_context, embedded_postgres(settings.data_dir))
            embedded = server.with_dbname("creditbank")
            await asyncio.to_thread(embedded.ensure_exists)
            app[DATABASE] = embedded
            yield
            await asyncio.to_thread(stack.close)

    async def open_services(app: web.Application) -> AsyncIterator[None]:
        db = app[DATABASE]
        pool = await asyncpg.create_pool(
            **db.asyncpg_kwargs(),
            min_size=2,
            max_size=settings.read_pool_size,
            connection_class=StatelessConnection,
        )
        assert pool is not None
        reads = await ReadPools.open(pool, settings.read_database_urls, settings.read_pool_size)
        try:
            async with pool.acquire() as conn:
                await conn.execute(auth.SCHEMA)
                await ensure_schema(conn)
            clock = today or settings.today
            bank = await asyncio.to_thread(CreditBank, db.event_store_env(), today=clock)
            committer = Committer(bank)
            # A new bank judges by the national rules out of the box (idempotent).
            shipped = await asyncio.wrap_future(committer.submit(lambda b: b.publish_shipped_policies()))
            for kept in (w.detail for w in shipped if w.status == "unchanged" and w.detail):
                # Loud, not fatal: the store's version stays in force (see publish_shipped_policies).
                log.error(
                    "shipped policy %s version %s differs from the one this database holds (fields %s, rules %s);"
                    " the stored version stays in force; ship the change as a new version starting later",
                    kept["policy_id"],
                    kept["version"],
                    ", ".join(kept["fields"]) or "none",
                    ", ".join(kept["rules"]) or "none",
                )
            runner = ProjectionRunner(pool, connect_kwargs=db.asyncpg_kwargs())
            # Late-bound: the handlers run only after ``tokens`` exists.
            notifications = Notifications(
                db.asyncpg_kwargs(),
                handlers={
                    auth.REVOCATION_CHANNEL: lambda token_id: tokens.forget(token_id),
                    privacy.ERASURE_CHANNEL: lambda subject: privacy.forget_erased(committer, subject),
                    APPLIED_CHANNEL: lambda position: runner.heard_applied(int(position)),
                },
                on_gap=[
                    lambda: tokens.forget(),
                    lambda: privacy.forget_all_erased(committer),
                    runner.lost_track,
                ],
            )
            tokens = auth.TokenVerifier(pool, heard_everything=notifications.barrier)
            await notifications.start()
            app[SERVICES] = Services(
                settings=settings,
                database=db,
                pool=pool,
                reads=reads,
                bank=bank,
                committer=committer,
                runner=runner,
                tokens=tokens,
                notifications=notifications,
                zone=zone,
                metrics=Metrics(),
                clock=clock,
            )
            task = asyncio.create_task(runner.run()) if settings.inline_projections else None
            try:
                yield
            finally:
                if task is not None:
                    await runner.stop()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                await notifications.close()
                await asyncio.to_thread(committer.close)
                await asyncio.to_thread(bank.close)
        finally:
            await reads.close()
            await pool.close()

    app.cleanup_ctx.append(open_database)
    app.cleanup_ctx.append(open_services)
    app.cleanup_ctx.append(certificates.cascade_ctx)
    app.cleanup_ctx.append(audit.checkpoints_ctx)
    return app
