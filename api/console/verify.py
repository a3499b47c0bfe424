"""The public certificate check at ``/verify``: by id (typed, or a QR code's link) or by
the certificate itself (JWS) pasted.

Invariants: the answer is the API's public verification, shown in Chinese; it states
nothing about the person beyond what the certificate states; anything but an explicit
``valid`` (an unknown id, a status the bank could not establish, a bad signature, a
failed call) is shown as not valid, never as valid.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from aiohttp import web

from api.console.session import new_csrf
from api.console.web import Page, page, sealer, secure_cookies

STATES = ("valid", "revoked", "suspended", "expired")


def _outcome(status: int, data: Any) -> dict[str, Any]:
    if status != 200 or not isinstance(data, dict):
        return {"state": "unknown", "data": data if isinstance(data, dict) else {}}
    state = str(data.get("status") or "")
    if state == "valid" and data.get("valid") is False:
        state = "invalid"
    if state not in STATES:
        state = "invalid" if data.get("valid") is False else "unknown"
    return {"state": state, "data": data}


async def _render(current: Page, outcome: dict[str, Any] | None, given: str) -> web.StreamResponse:
    csrf = (
        current.session.csrf
        if current.session
        else (sealer(current.request).anonymous_csrf(current.request) or new_csrf())
    )
    response = current.render("verify.html", outcome=outcome, given=given, csrf=csrf)
    if current.session is None:
        sealer(current.request).set_anonymous(response, csrf, secure=secure_cookies(current.request))
    return response


@page(None)
async def show(current: Page) -> web.StreamResponse:
    certificate_id = current.request.query.get("id", "").strip()
    outcome = None
    if certificate_id:
        reply = await current.api.get(f"/v1/certificates/{quote(certificate_id, safe='')}/verification")
        outcome = _outcome(reply.status, reply.data)
    return await _render(current, outcome, certificate_id)


@page(None)
async def check(current: Page) -> web.StreamResponse:
    jws = str(current.form().get("jws", "")).strip()
    outcome = None
    if jws:
        reply = await current.api.post("/v1/certificates/verification", {"jws": jws})
        outcome = _outcome(reply.status, reply.data)
    return await _render(current, outcome, "")


ROUTES = [web.get("/verify", show), web.post("/verify", check)]
