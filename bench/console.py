"""The console's pages over plain HTTP, signed in as a browser is: the sign-in form's CSRF
field and anonymous cookie, then ``POST /console/login`` with the token, then the session
cookie on every page.

Invariant: a page counts only if it answered 200 *signed in* (the page's sign-out form is
there) and shows what was asked (``Call.context``): an ended session's redirect to the
sign-in page, which also answers 200, is an error.
"""

from __future__ import annotations

import re

import aiohttp

from bench.load import Call, Stats

_CSRF = re.compile(rb'name="csrf" value="([^"]+)"')
SIGNED_IN = b'action="/console/logout"'


def browser(timeout: float) -> aiohttp.ClientSession:
    """A client that keeps cookies from 127.0.0.1 (aiohttp's default jar refuses an IP's)."""
    return aiohttp.ClientSession(
        cookie_jar=aiohttp.CookieJar(unsafe=True), timeout=aiohttp.ClientTimeout(total=timeout)
    )


async def sign_in(session: aiohttp.ClientSession, base: str, token: str) -> str:
    """Sign ``session`` in with ``token``; the page the console sends it to."""
    async with session.get(base + "/console/login") as r:
        page = await r.read()
    found = _CSRF.search(page)
    if r.status != 200 or found is None:
        raise RuntimeError(f"GET /console/login: {r.status}, no csrf field: {page[:300]!r}")
    form = {"token": token, "csrf": found.group(1).decode()}
    async with session.post(base + "/console/login", data=form, allow_redirects=False) as r:
        home = r.headers.get("Location", "")
        if r.status != 303 or home.startswith("/console/login"):
            raise RuntimeError(f"POST /console/login: {r.status} to {home!r}: {(await r.read())[:300]!r}")
    return home


def refusal(path: str, status: int, raw: bytes, shows: bytes) -> str | None:
    """Why an answer is not the signed-in page showing ``shows`` (None when it is)."""
    if status == 200 and SIGNED_IN in raw and shows in raw:
        return None
    return f"{path}: {status}, signed in {SIGNED_IN in raw}, shows {shows!r} {shows in raw}"


def check_page(call: Call, status: int, raw: bytes, stats: Stats) -> None:
    wrong = refusal(call.path, status, raw, call.context)
    if wrong:
        stats.error(wrong)
        return
    stats.items += 1
