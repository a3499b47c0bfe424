"""The teacher's own pages: my hours, my plan before a date, my certificates with the QR
code of each one's public verification link.

Invariants: the learner is the session token's own learner (the API refuses any other);
the QR code encodes ``CREDITBANK_PUBLIC_URL``/verify?id=… (the bank's address as its readers
know it, never the request's ``Host``), drawn as SVG by ``qrcode``.
"""

from __future__ import annotations

import io
from typing import Any, Final
from urllib.parse import urlencode

import qrcode
import qrcode.image.svg
from aiohttp import web
from markupsafe import Markup

from api.console.hr import learner_view
from api.console.web import Page, page
from api.service.context import SETTINGS

LEARNER: Final = frozenset({"learner"})


def verification_link(base: str, certificate_id: str) -> str:
    return f"{base.rstrip('/')}/verify?{urlencode({'id': certificate_id})}"


def qr_svg(text: str) -> Markup:
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    out = io.BytesIO()
    image.save(out)
    svg = out.getvalue().decode()
    return Markup(svg[svg.index("<svg") :])  # noqa: S704 - drawn by qrcode from our own link


@page(LEARNER)
async def me(current: Page) -> web.StreamResponse:
    assert current.session is not None
    learner_id = current.session.scope.get("learner_id") or ""
    view = await learner_view(current, learner_id)
    if isinstance(view, web.Response):
        return view
    base = current.request.app[SETTINGS].public_base
    certificates: list[dict[str, Any]] = []
    for c in view["profile"].get("certificates") or []:
        link = verification_link(base, c["certificate_id"])
        certificates.append({**c, "link": link, "qr": qr_svg(link)})
    return current.render("me.html", certificates=certificates, **view)


ROUTES = [web.get("/console/me", me)]
