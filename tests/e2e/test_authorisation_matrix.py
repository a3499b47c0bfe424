"""The authorisation matrix: every route in ``api.service.routes.ROUTES`` × every caller, own and
foreign scope, gives the expected class of status; and a revoked or expired token fails.

The cases are generated from ``ROUTES``: a route added without an entry in ``PROBES``
fails ``test_every_route_has_an_expectation`` (and its own matrix case), so none can be
forgotten. Expectations: no token on a protected route is 401; a role the route does not
list is 403; a role it lists but a scope it does not cover (another provider, another
jurisdiction, another learner) is 403; everything else is anything but 401 and 403 (a
404 or 422 is fine: the caller got past authorisation).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from api import auth
from api.database import Database
from api.service.notifications import APPLICATION_NAME as NOTIFICATIONS_APPLICATION_NAME
from api.service.routes import ROUTES, Route
from tests.e2e.conftest import Bank, completion, running_bank, seed, settle

#: The school the school routes are probed on (registered by ``_prepare``).
MATRIX_SCHOOL = "2201060001"

#: The callers, anonymous first; a scope denial must not depend on what others wrote.
#: Subjects: learner P-0001 (jurisdiction 220106), provider JLU-TTC.
CALLERS: dict[str, dict[str, Any] | None] = {
    "anonymous": None,
    "other_institution": {"role": "institution", "provider_id": "OTHER"},
    "foreign_hr": {"role": "hr", "jurisdiction": "330300"},
    "other_learner": {"role": "learner", "learner_id": "T-0001"},
    "learner": {"role": "learner", "learner_id": "P-0001"},
    "institution": {"role": "institution", "provider_id": "JLU-TTC"},
    "hr": {"role": "hr", "jurisdiction": "220106"},
    "auditor": {"role": "auditor"},
    "admin": {"role": "admin"},
    # P-0001 teaches at neither school: a school token reads only its own teachers.
    "school": {"role": "school", "school_id": MATRIX_SCHOOL},
    "other_school": {"role": "school", "school_id": "2201060002"},
}
#: Which callers are outside the subject's scope, by the kind of scope a route checks.
FOREIGN = {
    "role": set(),
    "learner": {"foreign_hr", "other_learner", "school", "other_school"},
    "provider": {"other_institution"},
    "jurisdiction": {"foreign_hr"},
    "school": {"foreign_hr", "other_school"},
}
SCHOOL_PATH = f"/v1/schools/{MATRIX_SCHOOL}"
SESSION = {
    "session_id": "matrix-s2",
    "held_on": "2026-11-24",
    "slot": "tue-3",
    "content_key": "matrix-w48",
    "programme": {"code": "SB-MATRIX", "title": "校本研讨"},
    "hours": "1",
    "instructor": "P-0001",
}

CERT = "{certificate_id}"
DRAFT = {
    "policy_id": "lv-draft",
    "jurisdiction": "220106",
    "effective_from": "2026-12-01",
    "title": "草案",
    "rules": [
        {
            "id": "ethics",
            "kind": "category_present",
            "targets": ["principal_appointment"],
            "window": {"kind": "before_date"},
            "categories": ["ethics"],
            "source": {"document": "草案", "article": "1"},
        }
    ],
}
MAPPING = {
    "university": "jlu",
    "programme": "med",
    "title": "教育硕士",
    "programme_credits": "36",
    "hours_per_credit": "16",
    "overall_cap": "12",
    "categories": [{"category": "ethics", "cap": "8"}],
    "levels": ["national", "provincial"],
    "effective_from": "2025-01-01",
}


@dataclass(frozen=True)
class Probe:
    """How to call a route so that authorisation is what decides, and which scope it checks."""

    path: str
    scope: str = "role"
    body: Any = None
    needs_certificate: bool = False
    headers: dict[str, str] = field(default_factory=dict)


PROBES: dict[tuple[str, str], Probe] = {
    ("POST", "/v1/providers"): Probe(
        "/v1/providers",
        body={
            "provider_id": "NEW",
            "name": "新学院",
            "jurisdiction": "220000",
            "accreditation": {"categories": ["ethics"], "levels": ["county"], "valid_from": "2020-01-01"},
        },
    ),
    ("GET", "/v1/providers/{provider_id}"): Probe("/v1/providers/JLU-TTC", "provider"),
    ("GET", "/v1/providers/{provider_id}/completions"): Probe(
        "/v1/providers/JLU-TTC/completions?from=2020-01-01", "provider"
    ),
    ("POST", "/v1/providers/{provider_id}/suspension"): Probe(
        "/v1/providers/OTHER/suspension", body={"reason": "审计"}
    ),
    ("DELETE", "/v1/providers/{provider_id}/suspension"): Probe("/v1/providers/OTHER/suspension"),
    ("POST", "/v1/learners"): Probe(
        "/v1/learners", "jurisdiction", body={"learner_id": "T-0009", "name": "赵敏", "jurisdiction": "220106"}
    ),
    ("POST", "/v1/learners/{learner_id}/roles"): Probe(
        "/v1/learners/P-0001/roles", "learner", body={"role": "teacher", "since": "2020-01-01"}
    ),
    ("GET", "/v1/learners/{learner_id}/appointment-check"): Probe(
        "/v1/learners/P-0001/appointment-check?role=principal&on=2026-11-26", "learner"
    ),
    ("POST", "/v1/learners/{learner_id}/refusals"): Probe(
        "/v1/learners/P-0001/refusals",
        "learner",
        body={
            "post": "head_teacher",
            "school_year": "2025-2026",
            "on": "2025-10-08",
            "justified": True,
            "reason": "病假",
        },
    ),
    ("POST", "/v1/learners/{learner_id}/appraisals"): Probe(
        "/v1/learners/P-0001/appraisals",
        "learner",
        body={"school_year": "2025-2026", "grade": "competent", "on": "2026-07-10"},
    ),
    ("POST", "/v1/learners/{learner_id}/qualifications"): Probe(
        "/v1/learners/P-0001/qualifications",
        "learner",
        body={"kind": "primary", "number": "20152200000001", "issued_on": "2015-06-30"},
    ),
    ("POST", "/v1/learners/{learner_id}/prior-certificates"): Probe(
        "/v1/learners/P-0001/prior-certificates",
        "learner",
        body={
            "kind": "principal_qualification",
            "issuer": "吉林省教育厅",
            "number": "JL-2012-0001",
            "issued_on": "2012-07-01",
            "attested_by": "绿园区教育局人事科",
        },
    ),
    ("PATCH", "/v1/learners/{learner_id}"): Probe(
        "/v1/learners/P-0001", "learner", body={"school": "绿园区第一实验小学", "reason": "核对"}
    ),
    # Admin only; a learner nobody registered, so the matrix erases no one (tests/e2e/test_privacy.py does).
    ("POST", "/v1/learners/{learner_id}/erasure"): Probe("/v1/learners/NOBODY-1/erasure", body={"reason": "PIPL"}),
    ("POST", "/v1/completions"): Probe("/v1/completions", body=completion("M-1", "P-0001")),
    ("POST", "/v1/completions/{provider_id}/{record_id}/revocation"): Probe(
        "/v1/completions/JLU-TTC/PQ-1/revocation", "provider", body={"reason": "录入错误"}
    ),
    ("GET", "/v1/learners/{learner_id}"): Probe("/v1/learners/P-0001", "learner"),
    ("GET", "/v1/learners/{learner_id}/balance"): Probe("/v1/learners/P-0001/balance", "learner"),
    ("GET", "/v1/learners/{learner_id}/history"): Probe("/v1/learners/P-0001/history", "learner"),
    ("GET", "/v1/events"): Probe("/v1/events?limit=5"),
    ("POST", "/v1/policies"): Probe("/v1/policies", body={**DRAFT, "policy_id": "lv-published"}),
    ("GET", "/v1/policies/{policy_id}"): Probe("/v1/policies/cn-principal-training"),
    ("POST", "/v1/policies/{policy_id}/impact"): Probe("/v1/policies/lv-draft/impact", "jurisdiction", body=DRAFT),
    ("GET", "/v1/learners/{learner_id}/eligibility"): Probe(
        "/v1/learners/P-0001/eligibility?target=principal_appointment", "learner"
    ),
    ("GET", "/v1/learners/{learner_id}/plan"): Probe(
        "/v1/learners/P-0001/plan?target=principal_appointment", "learner"
    ),
    ("GET", "/v1/targets"): Probe("/v1/targets?jurisdiction=220106"),
    ("POST", "/v1/vocabularies"): Probe(
        "/v1/vocabularies",
        body={
            "jurisdiction": "330300",
            "effective_from": "2024-01-01",
            "categories": {"matrix_practice": {"zh": "矩阵实践", "en": "matrix practice"}},
        },
    ),
    ("GET", "/v1/vocabulary"): Probe("/v1/vocabulary?jurisdiction=220106"),
    ("GET", "/v1/eligibility"): Probe(
        "/v1/eligibility?target=principal_appointment&jurisdiction=220106", "jurisdiction"
    ),
    ("GET", "/v1/milestones"): Probe(
        "/v1/milestones?jurisdiction=220106&role=head_teacher&years=10,20", "jurisdiction"
    ),
    ("GET", "/v1/audit/verification"): Probe("/v1/audit/verification"),
    ("GET", "/v1/audit/checkpoints"): Probe("/v1/audit/checkpoints"),
    ("GET", "/v1/audit/institutions/{provider_id}"): Probe("/v1/audit/institutions/JLU-TTC?month=2025-06"),
    ("GET", "/v1/keys"): Probe("/v1/keys"),
    ("POST", "/v1/certificates"): Probe(
        "/v1/certificates", "learner", body={"learner_id": "P-0001", "kind": "principal_qualification"}
    ),
    ("GET", "/v1/certificates/{certificate_id}"): Probe(f"/v1/certificates/{CERT}", "learner", needs_certificate=True),
    ("POST", "/v1/certificates/{certificate_id}/revocation"): Probe(
        f"/v1/certificates/{CERT}/revocation", body={"reason": "错发"}, needs_certificate=True
    ),
    ("POST", "/v1/certificates/{certificate_id}/suspension"): Probe(
        f"/v1/certificates/{CERT}/suspension", body={"reason": "核查"}, needs_certificate=True
    ),
    ("POST", "/v1/certificates/{certificate_id}/reinstatement"): Probe(
        f"/v1/certificates/{CERT}/reinstatement", body={"reason": "核查完毕"}, needs_certificate=True
    ),
    ("GET", "/v1/certificates/{certificate_id}/verification"): Probe(
        f"/v1/certificates/{CERT}/verification", needs_certificate=True
    ),
    ("POST", "/v1/certificates/verification"): Probe("/v1/certificates/verification", body={"jws": "a.b.c"}),
    ("GET", "/v1/status-lists/{list_id}"): Probe("/v1/status-lists/revocation-0"),
    ("POST", "/v1/transfers"): Probe(
        "/v1/transfers", "learner", body={"transfer_id": "mv-1", "learner_id": "P-0001", "destination": "330300"}
    ),
    ("POST", "/v1/transfers/{transfer_id}/reversal"): Probe(
        "/v1/transfers/mv-0/reversal", "learner", body={"learner_id": "P-0001", "reason": "录入错误"}
    ),
    ("GET", "/v1/learners/{learner_id}/transfers"): Probe("/v1/learners/P-0001/transfers", "learner"),
    # A bank without a bank id (this one) records no move: the probes leave P-0001's account open.
    ("POST", "/v1/learners/{learner_id}/departures"): Probe(
        "/v1/learners/P-0001/departures", "learner", body={"destination": "330000"}
    ),
    ("POST", "/v1/arrivals"): Probe(
        "/v1/arrivals",
        "jurisdiction",
        body={"departure": "a.b.c", "learner": {"learner_id": "T-0009", "name": "赵敏", "jurisdiction": "220106"}},
    ),
    ("GET", "/v1/learners/{learner_id}/moves"): Probe("/v1/learners/P-0001/moves", "learner"),
    ("GET", "/v1/learners/{learner_id}/evaluations/pending"): Probe(
        "/v1/learners/P-0001/evaluations/pending", "learner"
    ),
    ("POST", "/v1/evaluations"): Probe(
        "/v1/evaluations",
        body={
            "provider_id": "JLU-TTC",
            "record_id": "PQ-1",
            "scores": {"content": 4, "teaching": 4, "organisation": 4},
        },
    ),
    ("GET", "/v1/providers/{provider_id}/evaluations"): Probe("/v1/providers/JLU-TTC/evaluations", "provider"),
    ("POST", "/v1/providers/{provider_id}/reviews"): Probe(
        "/v1/providers/JLU-TTC/reviews",
        body={"kind": "expert", "on": "2026-11-20", "findings": "课程设置合理", "rating": 4},
    ),
    ("GET", "/v1/evaluations/ranking"): Probe("/v1/evaluations/ranking?jurisdiction=220106", "jurisdiction"),
    ("POST", "/v1/degree-mappings"): Probe("/v1/degree-mappings", body=MAPPING),
    ("GET", "/v1/degree-mappings/{mapping_id}"): Probe("/v1/degree-mappings/jlu:med"),
    ("GET", "/v1/learners/{learner_id}/degree-credits"): Probe(
        "/v1/learners/P-0001/degree-credits?programme=jlu:med", "learner"
    ),
    ("POST", "/v1/schools"): Probe(
        "/v1/schools",
        "jurisdiction",
        body={
            "school_id": "2201060009",
            "name": "合心镇教学点",
            "jurisdiction": "220106",
            "kind": "teaching_point",
            "teachers": 6,
        },
    ),
    ("GET", "/v1/schools"): Probe("/v1/schools?jurisdiction=220106", "jurisdiction"),
    ("GET", "/v1/schools/{school_id}"): Probe(SCHOOL_PATH, "school"),
    ("POST", "/v1/schools/{school_id}/plans"): Probe(
        f"{SCHOOL_PATH}/plans",
        "school",
        body={"school_year": "2026-2027", "title": "方案", "filed_on": "2026-09-10", "document_sha256": "ab" * 32},
    ),
    ("POST", "/v1/schools/{school_id}/sessions"): Probe(f"{SCHOOL_PATH}/sessions", "school", body=SESSION),
    ("POST", "/v1/schools/{school_id}/sessions/{session_id}/attendance"): Probe(
        f"{SCHOOL_PATH}/sessions/matrix-s1/attendance", "school", body={"present": []}
    ),
    ("GET", "/v1/schools/{school_id}/sessions/{session_id}/attendance"): Probe(
        f"{SCHOOL_PATH}/sessions/matrix-s1/attendance", "school"
    ),
    ("GET", "/v1/schools/{school_id}/inspection"): Probe(f"{SCHOOL_PATH}/inspection?term=2026-2027-1", "school"),
    ("GET", "/v1/inspections"): Probe("/v1/inspections?jurisdiction=220106&term=2026-2027-1", "jurisdiction"),
    ("GET", "/healthz"): Probe("/healthz"),
    ("GET", "/readyz"): Probe("/readyz"),
    ("GET", "/metrics"): Probe("/metrics"),
    ("GET", "/openapi.json"): Probe("/openapi.json"),
    ("GET", "/docs"): Probe("/docs"),
    ("GET", "/docs/assets/{asset}"): Probe("/docs/assets/docs.js"),
}


def _key(route: Route) -> tuple[str, str]:
    return route.method, route.path


def expected(route: Route, caller: str) -> str:
    """``"401"``, ``"403"`` or ``"pass"`` (anything but 401 and 403)."""
    probe = PROBES[_key(route)]
    scope = CALLERS[caller]
    if route.roles is None:
        return "pass"
    if scope is None:
        return "401"
    if scope["role"] not in route.roles:
        return "403"
    return "403" if caller in FOREIGN[probe.scope] else "pass"


@pytest.fixture
async def matrix_bank(database: Database, tmp_path: Path) -> AsyncIterator[Bank]:
    scopes = {name: scope for name, scope in CALLERS.items() if scope is not None}
    async with running_bank(database, tmp_path / "keys", scopes) as running:
        yield running


def test_every_route_has_an_expectation() -> None:
    keys = [_key(route) for route in ROUTES]
    missing = sorted(set(keys) - set(PROBES))
    stale = sorted(set(PROBES) - set(keys))
    assert not missing, f"routes with no authorisation expectation (add them to PROBES): {missing}"
    assert not stale, f"expectations for routes that no longer exist: {stale}"
    for key, probe in PROBES.items():
        assert probe.scope in FOREIGN, (key, probe.scope)


def _pq(record_id: str) -> dict[str, Any]:
    return completion(
        record_id,
        "P-0001",
        hours="150",
        completed_on="2025-06-30",
        programme={
            "code": "PQ-2025",
            "title": "拟任校长任职资格培训",
            "category": "principal_qualification",
            "level": "national",
        },
    )


async def _prepare(bank: Bank, probe: Probe) -> str:
    """Seed the subjects; returns the path with a real certificate id when it needs one."""
    await seed(bank)
    r = await bank.client.post(
        "/v1/completions", headers=bank.auth("institution"), json={"completions": [_pq("PQ-1"), _pq("PQ-2")]}
    )
    assert r.status == 207, await r.text()
    if probe.scope == "school":
        r = await bank.client.post(
            "/v1/schools",
            headers=bank.auth("admin"),
            json={
                "school_id": MATRIX_SCHOOL,
                "name": "第一实验小学",
                "jurisdiction": "220106",
                "kind": "urban",
                "teachers": 60,
            },
        )
        assert r.status == 201, await r.text()
        r = await bank.client.post(
            f"{SCHOOL_PATH}/sessions", headers=bank.auth("school"), json={**SESSION, "session_id": "matrix-s1"}
        )
        assert r.status == 201, await r.text()
    position = await settle(bank)
    if not probe.needs_certificate:
        return probe.path
    r = await bank.client.post(
        f"/v1/certificates?min_position={position}",
        headers=bank.auth("hr"),
        json={"learner_id": "P-0001", "kind": "principal_qualification"},
    )
    issued = await r.json()
    assert r.status == 201, issued
    await settle(bank)
    return probe.path.replace(CERT, issued["certificate_id"])


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
async def test_authorisation_matrix(matrix_bank: Bank, route: Route) -> None:
    assert _key(route) in PROBES, f"no authorisation expectation for {route.method} {route.path}"
    probe = PROBES[_key(route)]
    path = await _prepare(matrix_bank, probe)
    wrong: list[str] = []
    for caller in CALLERS:
        headers = {} if CALLERS[caller] is None else matrix_bank.auth(caller)
        kwargs: dict[str, Any] = {"headers": headers}
        if probe.body is not None:
            kwargs["json"] = probe.body
        async with matrix_bank.client.request(route.method, path, **kwargs) as r:
            status, text = r.status, await r.text()
        want = expected(route, caller)
        ok = str(status) == want if want != "pass" else status not in {401, 403}
        if not ok:
            wrong.append(f"{caller}: expected {want}, got {status} {text[:300]}")
    assert not wrong, f"{route.method} {path}:\n" + "\n".join(wrong)


async def _revoke(bank: Bank, token: str) -> None:
    conn = await asyncpg.connect(**bank.database.asyncpg_kwargs())
    try:
        assert await auth.revoke(conn, token.split("_")[1])
    finally:
        await conn.close()


async def test_a_revoked_token_fails_at_once(matrix_bank: Bank) -> None:
    """The next request fails; tests/e2e/test_faults.py asks the same of a server in a
    process of its own, where the notice of the revocation races that request."""
    token = await matrix_bank.mint("auditor")
    headers = {"Authorization": f"Bearer {token}"}
    r = await matrix_bank.client.get("/v1/events?limit=1", headers=headers)
    assert r.status == 200, await r.text()  # verified, and now in the server's cache
    await _revoke(matrix_bank, token)
    r = await matrix_bank.client.get("/v1/events?limit=1", headers=headers)
    assert r.status == 401, await r.text()
    assert (await r.json())["code"] == "unauthenticated"


async def _notification_sessions(conn: asyncpg.Connection) -> list[int]:
    rows = await conn.fetch(
        "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()",
        NOTIFICATIONS_APPLICATION_NAME,
    )
    return [row["pid"] for row in rows]


async def test_a_revoked_token_fails_at_once_while_the_server_cannot_hear_revocations(
    matrix_bank: Bank,
) -> None:
    """Revocations sent while the server's notification connection is lost are never
    heard: the server must stop trusting its cache until it listens again."""
    token = await matrix_bank.mint("auditor")
    headers = {"Authorization": f"Bearer {token}"}
    r = await matrix_bank.client.get("/v1/events?limit=1", headers=headers)
    assert r.status == 200, await r.text()
    conn = await asyncpg.connect(**matrix_bank.database.asyncpg_kwargs())
    try:
        [listener] = await _notification_sessions(conn)
        await conn.execute("SELECT pg_terminate_backend($1)", listener)
        await _revoke(matrix_bank, token)
        r = await matrix_bank.client.get("/v1/events?limit=1", headers=headers)
        assert r.status == 401, await r.text()
        # It listens again by itself, and a token revoked then fails at once too.
        for _ in range(100):
            if [pid for pid in await _notification_sessions(conn) if pid != listener]:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the server did not reopen its notification connection")
        again = await matrix_bank.mint("auditor")
        headers = {"Authorization": f"Bearer {again}"}
        assert (await matrix_bank.client.get("/v1/events?limit=1", headers=headers)).status == 200
        await _revoke(matrix_bank, again)
        r = await matrix_bank.client.get("/v1/events?limit=1", headers=headers)
        assert r.status == 401, await r.text()
    finally:
        await conn.close()


async def test_an_expired_token_fails(matrix_bank: Bank) -> None:
    conn = await asyncpg.connect(**matrix_bank.database.asyncpg_kwargs())
    try:
        expired = await auth.mint(conn, "admin", expires_in=timedelta(microseconds=1))
        short = await auth.mint(conn, "admin", expires_in=timedelta(seconds=1))
    finally:
        await conn.close()
    r = await matrix_bank.client.get("/v1/events?limit=1", headers={"Authorization": f"Bearer {expired}"})
    assert r.status == 401, await r.text()
    # Verified (and cached) while valid, refused once it has expired, cache or not.
    r = await matrix_bank.client.get("/v1/events?limit=1", headers={"Authorization": f"Bearer {short}"})
    assert r.status == 200, await r.text()
    await asyncio.sleep(1.1)
    r = await matrix_bank.client.get("/v1/events?limit=1", headers={"Authorization": f"Bearer {short}"})
    assert r.status == 401, await r.text()


async def test_a_malformed_or_unknown_token_fails(matrix_bank: Bank) -> None:
    for value in (
        "Bearer",
        "Bearer nonsense",
        "Basic YWRtaW46YWRtaW4=",
        f"Bearer {matrix_bank.tokens['admin']}x",
        "Bearer cbk_000000000000_secret",
    ):
        r = await matrix_bank.client.get("/v1/events?limit=1", headers={"Authorization": value})
        assert r.status == 401, (value, await r.text())
