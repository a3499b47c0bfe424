"""Certificate endpoints: issue, revoke, suspend, reinstate, read, verify, status lists,
and the certificate cascade's place in the server's lifetime.

Invariants:
- issuing is decided by the ledger on the writer thread, on facts and policies it loads
  from the event store (``ledger.certificate_commands``), never on the read models; it
  refuses ``as_of`` and ``at_position``;
- verification and status lists are public and show no personal data: the status, its
  dates and reasons, the certificate's kind and dates, never the learner's name or id;
- everything signed names the bank by ``Settings.public_base``, never by the request's
  ``Host``; a credential naming another issuer or id base does not verify here;
- the signing key is read from the key directory on use, so a ``keys rotate`` takes
  effect without a restart; every older key still verifies.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from uuid import UUID

from aiohttp import web

from api.service.certificate_schemas import (
    issue_schema,
    min_position_schema,
    presented_schema,
    status_change_schema,
    write_query_schema,
)
from api.service.context import SERVICES, services
from api.service.http import (
    answer,
    authorize_learner,
    load_body,
    load_query,
    resolve_position,
    run_in_writer,
    write_scope,
    written,
)
from api.service.problems import Problem
from api.service.schemas import read_query_schema
from ledger import credential
from ledger.application import Written
from ledger.certificate_commands import (
    IssueRequest,
    issue_certificate,
    reinstate_certificate,
    revoke_certificate,
    suspend_certificate,
)
from ledger.keys import KeyRing
from projections import certificates as certificate_reads
from projections import eventlog
from projections.cascade import CertificateCascade

_LIST_ID = re.compile(r"^(revocation|suspension)-([1-9][0-9]{0,5})$")
CASCADE = web.AppKey("certificate_cascade", CertificateCascade)


def _keys(request: web.Request) -> KeyRing:
    return KeyRing(services(request).settings.keys_path)


def _certificate_id(request: web.Request) -> UUID:
    try:
        return UUID(request.match_info["certificate_id"])
    except ValueError:
        raise Problem(404, "certificate_not_found", "No such certificate", "not a certificate id") from None


async def post_certificate(request: web.Request) -> web.Response:
    svc = services(request)
    query = load_query(request, write_query_schema)
    data = await load_body(request, issue_schema)
    async with svc.pool.acquire() as conn:
        # Only a wait for the caller's own earlier write (read-your-writes on the answer's
        # read_position); the ledger decides on the event store, not on the read models.
        position = await resolve_position(conn, request, query)
    key = await asyncio.to_thread(_keys(request).current)
    # issued_on None: the bank's today, decided on the writer thread (its clock is the ledger's).
    req = IssueRequest(
        data["learner_id"], data["kind"], data.get("issued_on"), data.get("valid_until"), data.get("issuance_id")
    )
    base_url = svc.settings.public_base  # never the request's Host, which the caller chooses
    scope = write_scope(request)
    issued = await run_in_writer(request, lambda bank: issue_certificate(bank, req, key, base_url, scope))
    return written(
        issued.written.status,
        issued.written.position,
        certificate_id=str(issued.certificate_id),
        jws=issued.jws,
        credential=credential.unverified(issued.jws),
        read_position=position,
    )


def _status_change(command: Callable[..., Written]) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A handler that applies one status change (revoke, suspend, reinstate) with its reason."""

    async def handler(request: web.Request) -> web.Response:
        certificate_id = _certificate_id(request)
        data = await load_body(request, status_change_schema)
        result: Written = await run_in_writer(
            request, lambda bank: command(bank, certificate_id, data["reason"], data.get("on"))
        )
        return written(result.status, result.position)

    return handler


post_revocation = _status_change(revoke_certificate)
post_suspension = _status_change(suspend_certificate)
post_reinstatement = _status_change(reinstate_certificate)


async def get_certificate(request: web.Request) -> web.Response:
    """The whole record (basis, signed document, status history), for those who may see the learner."""
    svc = services(request)
    certificate_id = _certificate_id(request)
    query = load_query(request, read_query_schema)
    async with svc.reads.acquire() as conn:
        # The wait first, so min_position holds for the checks too.
        position = await resolve_position(conn, request, query)
        found = await certificate_reads.certificate(conn, certificate_id, query.get("as_of") or svc.today())
        if found is None:
            raise Problem(404, "certificate_not_found", "No such certificate", f"no certificate {certificate_id}")
        await authorize_learner(conn, request, found[1]["learner_id"])
        found = await certificate_reads.certificate(conn, certificate_id, query.get("as_of") or svc.today(), position)
    if found is None:
        raise Problem(404, "certificate_not_found", "No such certificate", "not issued by then")
    view, row = found
    return answer(
        {
            **view,
            "learner_id": row["learner_id"],
            "hours": row["hours"],
            "basis": json.loads(row["basis"]),
            "jws": row["jws"],
            "position": position,
        }
    )


def _public(view: dict[str, Any], signature: dict[str, Any]) -> dict[str, Any]:
    history = [
        {
            "status": h["status"],
            "since": h["since"],
            "reason": h["reason"],
            "event_id": h["event_id"],
            "position": h["position"],
            "cause": {k: h["cause"][k] for k in ("type", "event_id", "position")} if h["cause"] else None,
        }
        for h in view["history"]
    ]
    return {
        "certificate_id": view["certificate_id"],
        "kind": view["kind"],
        "valid_from": view["valid_from"],
        "valid_until": view["valid_until"],
        "valid": view["status"] == "valid" and signature["valid"],
        "status": view["status"],
        "since": view["since"],
        "reason": view["reason"],
        "history": history,
        "signature": signature,
    }


async def _verification(request: web.Request, certificate_id: UUID, presented: str | None) -> dict[str, Any]:
    svc = services(request)
    query = load_query(request, min_position_schema)
    async with svc.pool.acquire() as conn:
        position = await resolve_position(conn, request, query)
        found = await certificate_reads.certificate(conn, certificate_id, svc.today(), position)
    if found is None:
        raise Problem(404, "certificate_not_found", "No such certificate", f"no certificate {certificate_id}")
    view, row = found
    keys = await asyncio.to_thread(_keys(request).public_keys)
    token = presented if presented is not None else row["jws"]
    signature: dict[str, Any]
    if token is None:
        # The learner's personal data was erased, and the credential (which states the name)
        # with it; the holder's own copy still verifies by its signature (POST .../verification).
        signature = {
            "valid": False,
            "reason": "the bank keeps no copy of this certificate any more "
            "(the holder's personal data was erased); present the holder's copy to verify it",
        }
        return {**_public(view, signature), "position": position}
    try:
        verified = credential.verify(token, keys)
        credential.check_issuer(verified.credential, svc.settings.public_base)
        signature = {"valid": True, "kid": verified.kid, "alg": "EdDSA"}
    except credential.CredentialInvalid as error:
        signature = {"valid": False, "reason": str(error)}
    # Without the bank's copy (erased), the signature alone vouches for the content.
    if signature["valid"] and presented is not None and row["jws"] is not None and presented.strip() != row["jws"]:
        signature = {"valid": False, "reason": "the bank issued this certificate with other content"}
    return {**_public(view, signature), "position": position}


async def get_verification(request: web.Request) -> web.Response:
    return answer(await _verification(request, _certificate_id(request), None))


async def post_verification(request: web.Request) -> web.Response:
    """Verify a presented certificate (the JWS as held): signature, then status."""
    load_query(request, min_position_schema)  # refused before any answer, even a bad signature's
    data = await load_body(request, presented_schema)
    keys = await asyncio.to_thread(_keys(request).public_keys)
    try:
        verified = credential.verify(data["jws"], keys)
    except credential.CredentialInvalid as error:
        return answer({"valid": False, "signature": {"valid": False, "reason": str(error)}})
    try:
        certificate_id = UUID(str(verified.credential.get("id", "")).rsplit("/", 1)[-1])
    except ValueError:
        return answer(
            {
                "valid": False,
                "signature": {"valid": True, "kid": verified.kid},
                "reason": "the credential names no certificate of this bank",
            }
        )
    return answer(await _verification(request, certificate_id, data["jws"]))


async def get_status_list(request: web.Request) -> web.Response:
    svc = services(request)
    match = _LIST_ID.match(request.match_info["list_id"])
    if match is None:
        raise Problem(404, "status_list_not_found", "No such status list", "lists are revocation-N or suspension-N")
    purpose, number = match.group(1), int(match.group(2))
    async with svc.pool.acquire() as conn:
        position = await eventlog.applied_position(conn)
        indexes = await certificate_reads.revoked_indexes(conn, purpose, number, position)
    key = await asyncio.to_thread(_keys(request).current)
    document = credential.status_list_credential(
        svc.settings.public_base, match.group(0), purpose, indexes, f"{svc.today().isoformat()}T00:00:00Z"
    )
    response = answer({"credential": document, "jws": credential.sign(key, document), "position": position})
    response.headers["Cache-Control"] = "max-age=60"
    return response


async def cascade_ctx(app: web.Application) -> AsyncIterator[None]:
    """Run the certificate cascade in every server process, whether the projections run
    inline or in a worker: it waits for the read models wherever they are applied, one
    process works a batch at a time (its tracking row is locked), and its command is
    idempotent, so several servers never suspend a certificate twice."""
    svc = app[SERVICES]
    cascade = CertificateCascade(svc.pool, svc.committer, svc.runner)
    app[CASCADE] = cascade
    task = asyncio.create_task(cascade.run())
    try:
        yield
    finally:
        cascade.stop()
        with contextlib.suppress(asyncio.CancelledError):
            await task
