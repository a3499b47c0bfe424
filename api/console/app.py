"""Installing the console on the service's application: its pages, templates and assets.

Invariants: ``install`` adds only paths under ``/console/`` and ``/verify``, and names each
of them in the application's ``PAGES`` (the service's authorisation lets only those through
without a bearer token: they authenticate by the session cookie, or are public); assets are
files of ``static/`` served with their type, nothing else of the file system.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Final

import aiohttp
import aiohttp_jinja2
import jinja2
from aiohttp import web

from api.console import appointment, auditor, hr, institution, login, roster, school, teacher, verify
from api.console.bank_api import CLIENT
from api.console.session import Sealer, load_key
from api.console.web import HERE, SEALER
from api.service.app import PAGES
from api.service.context import SETTINGS


async def _client(app: web.Application) -> AsyncIterator[None]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http:
        app[CLIENT] = http
        yield


def install(app: web.Application) -> None:
    """Add the console's pages and assets to the service's application."""
    settings = app[SETTINGS]
    app[SEALER] = Sealer(load_key(settings.keys_path))
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(default=True),
        app_key=aiohttp_jinja2.APP_KEY,
    )
    app.cleanup_ctx.append(_client)
    app.cleanup_ctx.append(institution.mappings_ctx)
    routes: list[web.RouteDef] = [
        *login.ROUTES,
        *hr.ROUTES,
        *roster.ROUTES,
        *appointment.ROUTES,
        *institution.ROUTES,
        *auditor.ROUTES,
        *teacher.ROUTES,
        *school.ROUTES,
        *verify.ROUTES,
        web.get("/console/static/{name}", _static),
    ]
    app.add_routes(routes)
    app[PAGES] = frozenset(r.path for r in routes)


_TYPES: Final = {".js": "text/javascript", ".css": "text/css", ".md": "text/plain"}


async def _static(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    path = HERE / "static" / name
    if "/" in name or name.startswith(".") or not path.is_file() or path.suffix not in _TYPES:
        raise web.HTTPNotFound()
    return web.Response(
        body=path.read_bytes(),
        content_type=_TYPES[path.suffix],
        charset="utf-8",
        headers={"Cache-Control": "public, max-age=3600"},
    )
