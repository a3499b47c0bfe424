"""The teacher's own pages: my hours, my plan before a date, my certificates with the QR
code of each one's public verification link, and my programmes still to evaluate.

Invariants: the learner is the session token's own learner (the API refuses any other);
an evaluation goes to ``POST /v1/evaluations`` as the teacher's token and nowhere else: the
console neither logs nor stores it, nor which programme was rated (the record it names is in
the form's body, never in a URL, and the page after it names nothing);
the QR code encodes ``CREDITBANK_PUBLIC_URL``/verify?id=… (the bank's address as its readers
know it, never the request's ``Host``), drawn as SVG by ``qrcode``.
"""

from __future__ import annotations

import io
from typing import Any, Final
from urllib.parse import quote, urlencode

import qrcode
import qrcode.image.svg
from aiohttp import web
from markupsafe import Markup

from api.console import labels
from api.console.hr import learner_view
from api.console.web import Page, page
from api.service.context import SETTINGS
from ledger.error_labels import ERROR_WORDS
from ledger.evaluation import COMMENT_LENGTH, CRITERIA, SCORES

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
    lang = current.lang
    return current.render("me.html", certificates=certificates, t=lambda key: labels.word(key, lang), **view)


def _own_learner(current: Page) -> str:
    assert current.session is not None
    return current.session.scope.get("learner_id") or ""


@page(LEARNER)
async def evaluations(current: Page) -> web.StreamResponse:
    return await _evaluations(current, None)


async def _evaluations(
    current: Page, refusal: str | None, status: int = 200, *, done: bool = False, after: int | None = None
) -> web.StreamResponse:
    learner_id = _own_learner(current)
    reply = await current.api.get(f"/v1/learners/{quote(learner_id, safe='')}/evaluations/pending", min_position=after)
    lang = current.lang
    return current.render(
        "me_evaluations.html",
        status=status,
        pending=reply.data["pending"] if reply.ok else None,
        refusal=refusal,
        done=done,
        criteria=CRITERIA,
        scores=list(SCORES),
        comment_length=COMMENT_LENGTH,
        t=lambda key, **values: labels.word(key, lang).format(**values),
    )


def _score(value: object) -> int | None:
    # An unchosen score ("请选择", the empty value) is sent as null: the API refuses it (422).
    text = str(value or "")
    return int(text) if text.isdigit() and int(text) in SCORES else None


@page(LEARNER)
async def evaluate(current: Page) -> web.StreamResponse:
    form = current.form()
    scores = {c: _score(form.get(c)) for c in CRITERIA}
    body: dict[str, object] = {
        "provider_id": str(form.get("provider_id", "")),
        "record_id": str(form.get("record_id", "")),
        "scores": scores,
    }
    comment = str(form.get("comment", "")).strip()
    if comment:
        body["comment"] = comment
    reply = await current.api.post("/v1/evaluations", body)
    if reply.ok:
        # The list as it stands after this evaluation (read your write). Answered to the POST,
        # not by a redirect: the evaluation's position never goes into a URL or the history.
        return await _evaluations(current, None, done=True, after=int(reply.data["position"]))
    data = reply.data if isinstance(reply.data, dict) else {}
    code = str(data.get("code", ""))
    words = ERROR_WORDS.get(code)
    shown = (words.zh if current.lang != "en" else str(data.get("title", code))) if words else code
    fields = "、".join(data.get("errors") or {})
    return await _evaluations(current, f"{shown} {fields}".strip(), 422)


ROUTES = [
    web.get("/console/me", me),
    web.get("/console/me/evaluations", evaluations),
    web.post("/console/me/evaluations", evaluate),
]
