"""Property: every write the bank accepts can be applied by the read models.

Hypothesis draws write bodies for every kind of write (learners, providers, completions
single and in batches, revocations, suspensions, policies, degree mappings, transfers,
certificates) from strategies full of hostile text: NUL, lone surrogates, control and
format characters, newlines (also trailing), tombstone prefixes (``erased:``), quotes,
astral characters and values at and just past their length limits. Whatever the answer,
it is never a 5xx; and after each write the read models reach the head of the log and
the service is ready (no incident). One database for all examples: a write that cannot
be applied would stop everything after it, which is what is checked.
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ledger.policy import shipped_policies
from tests.e2e.conftest import ACCREDITATION, Bank, completion, seed

HOSTILE = [
    "\x00",
    "\ud800",
    "\udfff",
    "\n",
    "\r\n",
    "\t",
    "\x1b",
    "\x7f",
    "\x85",
    "\u200b",
    "\u2028",
    "\ufeff",
    "\u0301",
    "erased:",
    "ERASED:",
    " ",
    "'",
    '"',
    "\\",
    "%00",
    '=HYPERLINK("x")',
    "😀",
    "\U000e0001",
    "𝒜",
    "\uffff",
    "\ufffd",
]
TOMBSTONE = "erased:6f1c2a4e-9a7b-5d1e-8c3f-2b4a6d8e0f12"


#: Printable text of any script (letters, digits, punctuation, symbols, spaces): accepted.
PRINTABLE = st.text(st.characters(categories=("L", "M", "N", "P", "S", "Zs")), min_size=1, max_size=12).filter(
    str.strip
)


def hostile_text(limit: int) -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(max_size=12),
        st.text(st.characters(exclude_categories=()), max_size=12),  # surrogates and controls too
        st.builds(lambda a, h, b: a + h + b, st.text(max_size=6), st.sampled_from(HOSTILE), st.text(max_size=6)),
        st.sampled_from(["x" * limit, "x" * (limit + 1), "界" * limit, "界" * (limit + 1), " " * 3, "", "ok\n"]),
    )


def text(limit: int) -> st.SearchStrategy[str]:
    """Text: half the time printable, else hostile (or at, or just past, ``limit``)."""
    return st.one_of(PRINTABLE, hostile_text(limit))


def ident(limit: int = 64) -> st.SearchStrategy[str]:
    """Ids: mostly of the grammar, else hostile."""
    good = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,15}", fullmatch=True)
    return st.one_of(
        good,
        good,
        st.one_of(
            good.map(lambda s: s + "\n"),
            st.builds(lambda a, h: a + h, good, st.sampled_from(HOSTILE)),
            st.sampled_from([TOMBSTONE, "erased:x", "Erased:X", "a" * limit, "a" * (limit + 1)]),
            hostile_text(limit),
        ),
    )


def code(known: list[str]) -> st.SearchStrategy[Any]:
    """A vocabulary code, or now and then something that is not one (a list, an object, a string)."""
    return st.one_of(
        st.sampled_from(known),
        st.sampled_from(known),
        st.one_of(st.just([known[0]]), st.just({known[0]: 1}), hostile_text(20)),
    )


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value if isinstance(value, (str, int, bool, type(None))) else str(value)


BASE_POLICY = _plain(next(p for p in shipped_policies() if p["policy_id"] == "cn-teacher-cycle"))

Write = tuple[str, str, str, Any]  # method, path, token, body


@st.composite
def learner(draw: st.DrawFn) -> Write:
    body = {
        "learner_id": draw(ident()),
        "name": draw(text(100)),
        "jurisdiction": "220106",
        "school": draw(st.one_of(st.none(), text(200))),
        "roles": [{"role": draw(code(["teacher", "head_teacher"])), "since": "2020-09-01"}],
    }
    return "POST", "/v1/learners", "hr", body


@st.composite
def provider(draw: st.DrawFn) -> Write:
    return (
        "POST",
        "/v1/providers",
        "admin",
        {
            "provider_id": draw(ident()),
            "name": draw(text(200)),
            "jurisdiction": "220000",
            "accreditation": {**ACCREDITATION, "categories": [draw(code(["ethics", "online"]))]},
        },
    )


def _item(draw: st.DrawFn) -> dict[str, Any]:
    return completion(
        draw(ident(128)),
        learner_id=draw(st.one_of(st.just("T-0001"), ident())),
        programme={
            "code": draw(text(64)),
            "title": draw(text(200)),
            "category": draw(code(["ethics", "online"])),
            "level": "provincial",
        },
        topics=draw(st.lists(text(100), max_size=3)),
    )


@st.composite
def completions(draw: st.DrawFn) -> Write:
    if draw(st.booleans()):
        return "POST", "/v1/completions", "institution", _item(draw)
    return (
        "POST",
        "/v1/completions",
        "institution",
        {"completions": [_item(draw) for _ in range(draw(st.integers(1, 4)))]},
    )


@st.composite
def reasons(draw: st.DrawFn) -> Write:
    path = draw(st.sampled_from(["/v1/completions/JLU-TTC/BASE-1/revocation", "/v1/providers/OTHER/suspension"]))
    token = "institution" if "completions" in path else "admin"
    return "POST", path, token, {"reason": draw(text(500))}


@st.composite
def policy(draw: st.DrawFn) -> Write:
    body = copy.deepcopy(BASE_POLICY)
    body.update(
        policy_id=draw(ident()),
        title=draw(text(300)),
        jurisdiction="220106",
        version=None,
        effective_from=draw(st.sampled_from(["2026-01-01", "9999-06-01", "2100-12-31"])),
    )
    body = {k: v for k, v in body.items() if v is not None}
    if draw(st.booleans()):
        body["note"] = draw(text(4000))
    rule = body["rules"][0]
    field = draw(
        st.sampled_from(
            ["id", "kind", "categories", "levels", "roles", "extra", "note", "document", "article", "targets"]
        )
    )
    if field in ("id", "note"):
        rule[field] = draw(text(64))
    elif field == "kind":
        rule["kind"] = draw(code(["min_hours"]))
    elif field in ("categories", "levels"):
        rule[field] = [draw(code(["online", "ethics"] if field == "categories" else ["county", "provincial"]))]
    elif field == "roles":
        rule["applies_to"] = {"roles": [draw(code(["teacher", "principal"]))]}
    elif field == "extra":
        rule["applies_to"] = {"roles": ["teacher"], draw(text(10)): draw(st.one_of(st.integers(), text(10)))}
    elif field in ("document", "article"):
        rule["source"][field] = draw(text(100))
    else:
        rule["targets"] = [draw(text(64))]
    return "POST", "/v1/policies", "admin", body


@st.composite
def mapping(draw: st.DrawFn) -> Write:
    return (
        "POST",
        "/v1/degree-mappings",
        "admin",
        {
            "university": draw(ident()),
            "programme": draw(ident()),
            "title": draw(text(200)),
            "programme_credits": "36",
            "hours_per_credit": "16",
            "overall_cap": "12",
            "categories": [{"category": draw(code(["ethics", "online"]))}],
            "levels": ["provincial"],
            "effective_from": "2025-01-01",
        },
    )


@st.composite
def others(draw: st.DrawFn) -> Write:
    if draw(st.booleans()):
        return (
            "POST",
            "/v1/transfers",
            "hr",
            {"transfer_id": draw(ident()), "learner_id": draw(ident()), "destination": "330300"},
        )
    return (
        "POST",
        "/v1/certificates",
        "hr",
        {"learner_id": draw(ident()), "kind": "continuing_education", "issuance_id": draw(ident())},
    )


@st.composite
def path_write(draw: st.DrawFn) -> Write:
    """A write whose path carries the hostile id."""
    value = quote(draw(ident()), safe="", errors="surrogatepass")  # a surrogate as %ED%A0%80
    return draw(
        st.sampled_from(
            [
                ("POST", f"/v1/learners/{value}/roles", "hr", {"role": "head_teacher", "since": "2025-09-01"}),
                ("POST", f"/v1/completions/JLU-TTC/{value}/revocation", "institution", {"reason": "wrong learner"}),
                ("POST", f"/v1/providers/{value}/suspension", "admin", {"reason": "audit"}),
            ]
        )
    )


WRITES = st.one_of(learner(), provider(), completions(), reasons(), policy(), mapping(), others(), path_write())


async def _at_head(bank: Bank) -> dict[str, Any]:
    """Wait until the read models reach the head; fail at once on an incident."""
    for _ in range(200):
        r = await bank.client.get("/readyz")
        ready: dict[str, Any] = await r.json()
        assert "incident" not in ready, ready
        if r.status == 200 and ready["lag"] == 0:
            return ready
        await asyncio.sleep(0.025)
    raise AssertionError(f"the read models did not reach the head: {ready}")


@settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(writes=st.lists(WRITES, min_size=1, max_size=3))
async def test_every_accepted_write_can_be_applied(bank: Bank, writes: list[Write]) -> None:
    if not getattr(bank, "seeded", False):
        await seed(bank)
        r = await bank.client.post("/v1/completions", headers=bank.auth("institution"), json=completion("BASE-1"))
        assert r.status == 201, await r.text()
        bank.seeded = True  # type: ignore[attr-defined]
    for method, path, token, body in writes:
        r = await bank.client.request(method, path, headers=bank.auth(token), json=body)
        answer = await r.text()
        assert r.status < 500, (method, path, body, answer)
        kind = path.split("/")[2]
        event(f"{kind}: {'accepted' if r.status < 300 else 'refused'}")
        if r.status >= 400:
            assert r.content_type == "application/problem+json", answer
        ready = await _at_head(bank)
        assert ready["position"] == ready["head"]
