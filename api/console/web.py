"""The console's plumbing: the page guard, rendering, the language.

Invariants:
- a page declares the roles that may open it (``page``); any other role gets 403, no session
  a redirect to sign-in; the API still authorises every call the page makes;
- a session whose token the bank's verifier no longer accepts (revoked, expired) is ended
  before the page runs;
- ``page`` reads every POST's form first and refuses it with 403 unless its ``csrf`` field
  matches the session's (or the anonymous cookie's, before sign-in);
- the language is ``zh`` unless ``?lang=en`` (remembered in a cookie) or ``?lang=zh`` says so.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web
from multidict import MultiDictProxy

from api.console import labels
from api.console.bank_api import Api, Reply
from api.console.session import SESSION_COOKIE, Sealer, Session, csrf_matches
from api.service import spreadsheet
from api.service.context import SERVICES, SETTINGS

HERE: Final = Path(__file__).parent
SEALER: Final = web.AppKey("console_sealer", Sealer)
LANG_COOKIE: Final = "cb_lang"
FORM: Final = web.RequestKey("console_form", MultiDictProxy[Any])

#: Where each role lands after sign-in.
HOME: Final = {
    "hr": "/console/hr",
    "admin": "/console/hr",
    "institution": "/console/institution",
    "auditor": "/console/auditor",
    "learner": "/console/me",
    "school": "/console/school",
}


@dataclass(frozen=True)
class Page:
    """A request to a console page: who, in which language, and the API as them."""

    request: web.Request
    session: Session | None
    lang: str

    @property
    def api(self) -> Api:
        return Api(self.request, self.session.token if self.session else None, self.lang)

    def render(self, template: str, status: int = 200, **context: Any) -> web.Response:
        lang = self.lang
        context.update(
            lang=lang,
            w=lambda key: labels.word(key, lang),
            lab=lambda field, code: labels.label(field, code, lang),
            reason=lambda code: labels.reason(code, lang),
            item_reason=lambda code, fields: labels.item_reason(code, fields, lang),
            session=self.session,
            csrf=self.session.csrf if self.session else context.get("csrf", ""),
            path=self.request.path,
            home=HOME.get(self.session.role, "/console/") if self.session else "/console/login",
        )
        response = aiohttp_jinja2.render_template(template, self.request, context, status=status)
        if "lang" in self.request.query and self.request.query["lang"] in labels.LANGS:
            response.set_cookie(LANG_COOKIE, lang, httponly=True, samesite="Lax", path="/", max_age=365 * 86400)
        return response

    def error(self, status: int, message: str) -> web.Response:
        return self.render("error.html", status=status, message=message)

    async def sheet(self, path: str, kind: str, **params: Any) -> web.StreamResponse:
        """The API's own sheet at ``path`` as ``kind`` (xlsx or csv), headers and labelled cells
        in the page's language, streamed on as it comes; a refusal as the error page."""
        accept = SHEET_TYPES.get(kind)
        if accept is None:
            return self.error(404, labels.word("not_found", self.lang))
        relayed = await self.api.relay(self.request, path, accept, lang=self.lang, **params)
        if isinstance(relayed, Reply):
            return self.error(relayed.status, problem_words(relayed, self.lang))
        return relayed

    def form(self) -> MultiDictProxy[Any]:
        return self.request[FORM]


def language(request: web.Request) -> str:
    asked = request.query.get("lang") or request.cookies.get(LANG_COOKIE)
    return asked if asked in labels.LANGS else "zh"


def sealer(request: web.Request) -> Sealer:
    return request.app[SEALER]


def secure_cookies(request: web.Request) -> bool:
    return request.app[SETTINGS].public_base.startswith("https://")


PageHandler = Callable[[Page], Awaitable[web.StreamResponse]]


#: The sheets a page may hand on, by the file's extension: what the API is asked for.
SHEET_TYPES: Final = {"xlsx": spreadsheet.XLSX_TYPE, "csv": spreadsheet.CSV_TYPE}


def problem_words(reply: Reply, lang: str) -> str:
    """A refusal of the API in the reader's words: the reason's label and the API's detail."""
    if isinstance(reply.data, dict):
        code = reply.data.get("code")
        if code == "forbidden":
            return labels.word("forbidden", lang)
        detail = reply.data.get("detail", "")
        return f"{labels.reason(code, lang)}: {detail}" if code in labels.REASONS else str(detail or code)
    return str(reply.status)


def page(
    roles: frozenset[str] | None,
) -> Callable[[PageHandler], Callable[[web.Request], Awaitable[web.StreamResponse]]]:
    """A handler for signed-in ``roles`` (``None``: anyone, signed in or not); POSTs need CSRF."""

    def wrap(handler: PageHandler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def run(request: web.Request) -> web.StreamResponse:
            session = sealer(request).session_of(request)
            if session is not None and await request.app[SERVICES].tokens.verify(session.token) is None:
                # The token was revoked or expired since sign-in: the session ends with it.
                response = see_other("/console/login")
                response.del_cookie(SESSION_COOKIE, path="/")
                return response
            current = Page(request, session, language(request))
            if request.method == "POST":
                form = await request.post()
                expected = session.csrf if session else sealer(request).anonymous_csrf(request)
                if not csrf_matches(expected, form.get("csrf")):
                    return current.error(403, labels.word("csrf", current.lang))
                request[FORM] = form
            if roles is not None:
                if session is None:
                    return see_other(f"/console/login?{urlencode({'next': request.path_qs})}")
                if session.role not in roles:
                    return current.error(403, labels.word("forbidden", current.lang))
            return await handler(current)

        return run

    return wrap


def see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})
