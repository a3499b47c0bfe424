"""Sign-in (a token pasted once), sign-out and the landing page.

Invariants: a token is accepted only if the bank's token verifier accepts it (the same as
the API's); the session then records its role and scope as the verifier found them.
"""

from __future__ import annotations

import time

from aiohttp import web

from api.console.session import Session, new_csrf
from api.console.web import HOME, Page, page, sealer, secure_cookies, see_other
from api.service.context import SERVICES


@page(None)
async def show_login(current: Page) -> web.StreamResponse:
    csrf = sealer(current.request).anonymous_csrf(current.request) or new_csrf()
    response = current.render("login.html", csrf=csrf, next=current.request.query.get("next", ""), failed=False)
    sealer(current.request).set_anonymous(response, csrf, secure=secure_cookies(current.request))
    return response


def _safe_next(value: object) -> str | None:
    # Only a path of the console itself: never an open redirect.
    if isinstance(value, str) and value.startswith("/console/") and not value.startswith("//"):
        return value
    return None


@page(None)
async def post_login(current: Page) -> web.StreamResponse:
    form = current.form()
    token = str(form.get("token", "")).strip()
    caller = await current.request.app[SERVICES].tokens.verify(token) if token else None
    if caller is None:
        csrf = sealer(current.request).anonymous_csrf(current.request) or new_csrf()
        return current.render("login.html", status=401, csrf=csrf, next=form.get("next", ""), failed=True)
    scope = {
        "provider_id": caller.provider_id,
        "jurisdiction": caller.jurisdiction,
        "learner_id": caller.learner_id,
        "school_id": caller.school_id,
    }
    session = Session(token, caller.role, scope, new_csrf(), time.time())
    response = see_other(_safe_next(form.get("next")) or HOME.get(caller.role, "/console/"))
    sealer(current.request).set_session(response, session, secure=secure_cookies(current.request))
    return response


@page(None)
async def post_logout(current: Page) -> web.StreamResponse:
    response = see_other("/console/login")
    response.del_cookie("cb_session", path="/")
    return response


@page(None)
async def landing(current: Page) -> web.StreamResponse:
    if current.session is None:
        return see_other("/console/login")
    return see_other(HOME.get(current.session.role, "/console/login"))


ROUTES = [
    web.get("/console/", landing),
    web.get("/console/login", show_login),
    web.post("/console/login", post_login),
    web.post("/console/logout", post_logout),
]
