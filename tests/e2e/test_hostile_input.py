"""The hostile-input corpus: every route in ``api.service.routes.ROUTES``, with its own method, HEAD
(GET routes), OPTIONS and a method it does not have, with hostile path parameters, query
parameters, bodies, content types and headers, sent without a token, with a bad one and
with every role's token.

Every answer must be a 4xx ``application/problem+json`` or a 2xx the route documents
(``Route.responses``); never a 5xx, never a 3xx. Without a valid token a protected route
never answers 2xx, whatever the method (HEAD and OPTIONS included).

The cases are built from ``ROUTES`` and the valid calls of the authorisation matrix
(``tests/e2e/test_authorisation_matrix.PROBES``): a new route gets the corpus with no
change here. Cases whose refusal is the identifier and text grammar's (NUL, line breaks in
identifiers, lone surrogates, a policy rule's items given as lists or objects) run apart, in
``test_grammar_corpus``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import aiohttp
from yarl import URL

from api.service.routes import ROUTES, Route
from tests.e2e.conftest import Bank, completion, seed, settle
from tests.e2e.test_authorisation_matrix import CERT, PROBES

PROBLEM = "application/problem+json"
#: The callers: no token, a malformed or unknown one, and one valid token per role.
ROLES = ("admin", "institution", "hr", "auditor", "learner")
BAD_TOKENS = (
    "Bearer",
    "Bearer " + "x" * 5000,
    "Bearer cbk_000000000000_secret",
    "Basic YWRtaW46YWRtaW4=",
    "Bearer cbk_../../etc_passwd",
)

#: Path parameter values, percent-encoded as sent: traversal, encoded separators, long,
#: non-ASCII, invalid UTF-8, reserved prefixes, injection-looking and number-looking text.
PATH_VALUES = (
    "..",
    "%2e%2e",
    "..%2F..%2Fetc%2Fpasswd",
    "a%2Fb",
    "%5C..%5Cwin.ini",
    "x" * 3000,
    "%E7%8E%8B%E8%8A%B3",
    "%FF%FE",
    "%ED%A0%80",
    "erased:0000",
    "%20",
    "%27%20OR%201%3D1--",
    "1e999",
    "-1",
    "%25",
    "a%3Fb",
    "a%23b",
    "%EF%BC%91%EF%BC%92",
)
#: Query parameter values (encoded as sent): signs, spaces, separators, other scripts' digits,
#: huge numbers, loose dates, wrong types, invalid UTF-8.
QUERY_VALUES = (
    "",
    "+1",
    "%201",
    "1%20",
    "1_0",
    "%EF%BC%91",
    "%D9%A1",
    "9" * 5000,
    "-1",
    "1e3",
    "1.5",
    "20261101",
    "2026-W01-1",
    "2026-13-45",
    "0000-00-00",
    "x" * 5000,
    "%FF",
    "true",
    "null",
    "%5B%5D",
    "teacher_anual",
    "principal",
    "CN%2F..",
)
#: Bodies sent as they are, with Content-Type application/json.
RAW_BODIES: tuple[bytes, ...] = (
    b"",
    b"null",
    b"[]",
    b'"text"',
    b"1",
    b"{",
    b"{}",
    b'{"a":}',
    b"\xff\xfe{}",
    b"[" * 1000 + b"]" * 1000,
    b'{"a": ' + b"[" * 50 + b"]" * 50 + b"}",
    b'{"a": ' + b"1" * 5000 + b"}",
    b'{"a": NaN}',
    b'{"a": 1e999999}',
    b"\xef\xbb\xbf{}",
    b'{"a": "' + b"x" * 200_000 + b'"}',
    json.dumps([{}] * 2000).encode(),
)
#: Content types a JSON route must refuse (415), each with a valid JSON body.
CONTENT_TYPES = (
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/xml",
    "",
)
#: JSON literals put in place of one field of a valid body.
FIELD_VALUES = (
    "null",
    "true",
    "[]",
    "{}",
    '{"$gt": ""}',
    "1e400",
    "-1",
    "0",
    "1" * 39,
    '""',
    json.dumps("x" * 10_000),
    '"2026-W01-1"',
    '"20261101"',
    '"\\uff11"',
    '"1_000"',
    '"../../etc/passwd"',
    '"erased:0000"',
    '[[[[[[[[[[[[[[[[[[[["deep"]]]]]]]]]]]]]]]]]]]]',
)
#: The identifier and text grammar's cases (another part of the work; see the module doc).
GRAMMAR_PATH_VALUES = ("%00", "x%00", "x%0A", "x%0D%0A", "%0A")
GRAMMAR_QUERY_VALUES = ("%00", "a%00b", "a%0A")
GRAMMAR_FIELD_VALUES = ('"\\u0000"', '"x\\n"', '"\\ud800"', '"a\\udfffb"', '"x\\r\\n"')


@dataclass(frozen=True)
class Case:
    route: Route
    method: str
    #: Path and query, percent-encoded as sent.
    target: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    what: str = ""


def _probe(route: Route, certificate_id: str) -> tuple[str, dict[str, str], Any]:
    """(path, query, body) of the valid call the authorisation matrix makes."""
    probe = PROBES[(route.method, route.path)]
    path, _, query = probe.path.replace(CERT, certificate_id).partition("?")
    return path, dict(parse_qsl(query)), probe.body


def _target(path: str, query: dict[str, str] | list[tuple[str, str]]) -> str:
    encoded = urlencode(query, safe="%") if query else ""
    return f"{path}?{encoded}" if encoded else path


def _raw_query(query: dict[str, str], name: str, raw: str) -> str:
    """The query with ``name`` set to the already-encoded ``raw``."""
    parts = [f"{quote(k)}={quote(v)}" for k, v in query.items() if k != name]
    return "&".join([*parts, f"{quote(name)}={raw}"])


def _query_names(route: Route) -> list[str]:
    if route.query is None:
        return []
    return [f.data_key or name for name, f in route.query.fields.items()]


def _path_variants(route: Route, path: str, values: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    """(what, path) with one parameter segment replaced by each value."""
    template, actual = route.path.split("/"), path.split("/")
    for index, segment in enumerate(template):
        if segment.startswith("{"):
            for value in values:
                yield f"{segment}={value[:20]}", "/".join([*actual[:index], value, *actual[index + 1 :]])


def _body_with(body: dict[str, Any], key: str, literal: str) -> bytes:
    marker = "\u2603MARK\u2603"
    return (
        json.dumps({**body, key: marker}, ensure_ascii=False)
        .replace(json.dumps(marker, ensure_ascii=False), literal)
        .encode()
    )


def _field_variants(body: Any, values: tuple[str, ...]) -> Iterator[tuple[str, bytes]]:
    if not isinstance(body, dict):
        return
    for key, value in body.items():
        for literal in values:
            yield f"{key}={literal[:20]}", _body_with(body, key, literal)
        if isinstance(value, dict):  # one level down too (programme, accreditation)
            for inner in value:
                for literal in values:
                    yield (
                        f"{key}.{inner}={literal[:20]}",
                        _body_with(body, key, _body_with(value, inner, literal).decode()),
                    )
        if isinstance(value, list) and value and isinstance(value[0], dict):  # the first item of a list
            for inner in value[0]:
                for literal in values:
                    item = _body_with(value[0], inner, literal).decode()
                    yield f"{key}[0].{inner}={literal[:20]}", _body_with(body, key, f"[{item}]")


def cases(certificate_id: str) -> list[Case]:
    """The corpus without the grammar's cases."""
    out: list[Case] = []
    for route in ROUTES:
        path, query, body = _probe(route, certificate_id)
        base = _target(path, query)
        valid = json.dumps(body).encode() if body is not None else None
        json_type = {"Content-Type": "application/json"}
        out.append(Case(route, route.method, base, valid, json_type if valid else {}, "the valid call"))
        if route.method == "GET":
            out.append(Case(route, "HEAD", base, what="HEAD"))
            out.append(Case(route, "GET", base, headers={"Accept": "text/csv"}, what="Accept: text/csv"))
        for method in ("OPTIONS", "PATCH", "PUT", "TRACE"):
            out.append(Case(route, method, base, what=method))
        for what, hostile in _path_variants(route, path, PATH_VALUES):
            out.append(Case(route, route.method, _target(hostile, query), valid, json_type if valid else {}, what))
        for name in [*_query_names(route), "unknown"]:
            for raw in QUERY_VALUES:
                out.append(
                    Case(
                        route,
                        route.method,
                        f"{path}?{_raw_query(query, name, raw)}",
                        valid,
                        json_type if valid else {},
                        f"?{name}={raw[:20]}",
                    )
                )
            if name in query:
                out.append(
                    Case(
                        route,
                        route.method,
                        _target(path, [*query.items(), (name, query[name])]),
                        valid,
                        json_type if valid else {},
                        f"?{name} twice",
                    )
                )
        if route.method in {"POST", "PUT", "PATCH"}:
            for raw_body in RAW_BODIES:
                out.append(Case(route, route.method, base, raw_body, json_type, f"body {raw_body[:20]!r}"))
            for content_type in CONTENT_TYPES:
                out.append(
                    Case(
                        route,
                        route.method,
                        base,
                        valid or b"{}",
                        {"Content-Type": content_type},
                        f"Content-Type {content_type!r}",
                    )
                )
            if isinstance(body, dict) and body:
                first = next(iter(body))
                duplicated = json.dumps(body)[:-1] + f", {json.dumps(first)}: {json.dumps(body[first])}}}"
                out.append(Case(route, route.method, base, duplicated.encode(), json_type, f"{first} twice"))
                out.append(
                    Case(route, route.method, base, _body_with(body, "unknown_field", "1"), json_type, "unknown field")
                )
                for what, hostile_body in _field_variants(body, FIELD_VALUES):
                    if not _grammar_owned(what):
                        out.append(Case(route, route.method, base, hostile_body, json_type, what))
    return out


def _grammar_owned(what: str) -> bool:
    """A policy rule's item given as a list or an object: the policy grammar's case."""
    return what.startswith("rules[0].") and what.partition("=")[2][:1] in {"[", "{"}


def grammar_cases(certificate_id: str) -> list[Case]:
    out: list[Case] = []
    for route in ROUTES:
        path, query, body = _probe(route, certificate_id)
        valid = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if valid else {}
        for what, hostile in _path_variants(route, path, GRAMMAR_PATH_VALUES):
            out.append(Case(route, route.method, _target(hostile, query), valid, headers, what))
        for name in _query_names(route):
            for raw in GRAMMAR_QUERY_VALUES:
                out.append(
                    Case(
                        route, route.method, f"{path}?{_raw_query(query, name, raw)}", valid, headers, f"?{name}={raw}"
                    )
                )
        for what, hostile_body in _field_variants(body, GRAMMAR_FIELD_VALUES + FIELD_VALUES):
            if what.partition("=")[2] in {v[:20] for v in GRAMMAR_FIELD_VALUES} or _grammar_owned(what):
                out.append(Case(route, route.method, _target(path, query), hostile_body, headers, what))
    return out


async def _prepare(bank: Bank) -> str:
    """The matrix's subjects, a qualifying learner and one certificate; its id."""
    await seed(bank)
    qualification = {
        "code": "PQ-2025",
        "title": "拟任校长任职资格培训",
        "category": "principal_qualification",
        "level": "national",
    }
    items = [
        completion(f"PQ-{i}", "P-0001", hours="150", completed_on="2025-06-30", programme=qualification) for i in (1, 2)
    ]
    r = await bank.client.post("/v1/completions", headers=bank.auth("institution"), json={"completions": items})
    assert r.status == 207, await r.text()
    position = await settle(bank)
    r = await bank.client.post(
        f"/v1/certificates?min_position={position}",
        headers=bank.auth("hr"),
        json={"learner_id": "P-0001", "kind": "principal_qualification"},
    )
    issued = await r.json()
    assert r.status == 201, issued
    await settle(bank)
    return str(issued["certificate_id"])


def _verdict(case: Case, caller: str, status: int, headers: Any, text: str) -> str | None:
    """What is wrong with this answer, or None."""
    route = case.route
    if status >= 500:
        return f"{status} {text[:200]}"
    if 300 <= status < 400:
        return f"a redirect {status}"
    own_method = case.method == route.method or (case.method == "HEAD" and route.method == "GET")
    if status < 300:
        if not own_method:
            return f"{status} for {case.method}, which the route does not have"
        if status not in route.responses:
            return f"{status}, which the route does not document ({sorted(route.responses)})"
        if route.roles is not None and caller not in ROLES:
            return f"{status} without a valid token"
        return None
    if not headers.get("Content-Type", "").startswith(PROBLEM):
        return f"{status} as {headers.get('Content-Type')!r}, not problem+json"
    if case.method != "HEAD":
        try:
            problem = json.loads(text)
        except ValueError:
            return f"{status} with a body that is not JSON: {text[:100]!r}"
        if not {"type", "title", "status", "detail"} <= set(problem) or problem["status"] != status:
            return f"{status} with a malformed problem {text[:200]}"
    return None


async def _send(
    session: aiohttp.ClientSession, base: str, case: Case, caller: str, authorization: str | None
) -> str | None:
    headers = dict(case.headers)
    if authorization is not None:
        headers["Authorization"] = authorization
    url = URL(base + case.target, encoded=True)
    async with session.request(
        case.method, url, data=case.body, headers=headers, skip_auto_headers=["Content-Type"]
    ) as r:
        text = (await r.read()).decode("utf-8", "replace")
        wrong = _verdict(case, caller, r.status, r.headers, text)
    if wrong is None:
        return None
    return f"{case.method} {case.target[:120]} [{case.what}] as {caller}: {wrong}"


async def run_corpus(bank: Bank, corpus: list[Case]) -> tuple[int, list[str]]:
    """(requests sent, what went wrong) for every case with every caller."""
    callers: list[tuple[str, str | None]] = [("anonymous", None), *((r, f"Bearer {bank.tokens[r]}") for r in ROLES)]
    base = str(bank.client.make_url("")).rstrip("/")
    wrong: list[str] = []
    sent = 0
    gate = asyncio.Semaphore(8)

    async def one(case: Case, caller: str, authorization: str | None) -> None:
        nonlocal sent
        async with gate:
            sent += 1
            found = await _send(session, base, case, caller, authorization)
            if found is not None:
                wrong.append(found)

    async with aiohttp.ClientSession() as session:
        for case in corpus:
            await asyncio.gather(*(one(case, caller, authorization) for caller, authorization in callers))
        for valid in (c for c in corpus if c.what == "the valid call"):  # bad tokens, on each route's valid call
            for token in BAD_TOKENS:
                await one(valid, "a bad token", token)
    return sent, wrong


async def test_hostile_corpus(bank: Bank) -> None:
    certificate_id = await _prepare(bank)
    corpus = cases(certificate_id)
    sent, wrong = await run_corpus(bank, corpus)
    methods = {(c.route.method, c.route.path, c.method) for c in corpus}
    print(
        f"hostile corpus: {len(corpus)} cases over {len(ROUTES)} routes and {len(methods)} route × method pairs,"
        f" {sent} requests"
    )
    assert not wrong, f"{len(wrong)} of {sent} answers are wrong:\n" + "\n".join(sorted(wrong)[:80])


async def test_grammar_corpus(bank: Bank) -> None:
    """NUL in paths and queries, line breaks in identifiers, lone surrogates in text."""
    certificate_id = await _prepare(bank)
    corpus = grammar_cases(certificate_id)
    sent, wrong = await run_corpus(bank, corpus)
    assert not wrong, f"{len(wrong)} of {sent} answers are wrong:\n" + "\n".join(sorted(wrong)[:80])


def test_every_route_is_in_the_corpus() -> None:
    corpus = cases("00000000-0000-0000-0000-000000000000")
    covered = {(c.route.method, c.route.path) for c in corpus}
    assert covered == {(r.method, r.path) for r in ROUTES}
    for route in ROUTES:
        methods = {c.method for c in corpus if c.route is route}
        assert {"OPTIONS", route.method} <= methods and (route.method != "GET" or "HEAD" in methods), route.path
