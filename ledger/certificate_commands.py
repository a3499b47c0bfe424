"""Certificate commands of the ``CreditBank``: issue, revoke, suspend, reinstate.

Invariants:
- like the bank's own commands they run on the writer thread, retry on a version
  conflict and answer ``Written``;
- the learner's facts, current jurisdiction and the policy versions are loaded from the
  event store inside the command (``CreditBank.standing``, ``CreditBank.policies_for``),
  never from a read model, so the verdict rests on nothing older than the log head; the
  verdict is made here, by ``ledger.eligibility.evaluate``, so the refusal and the
  recorded basis come from the same evaluation;
- an HR caller issues only for learners whose current jurisdiction its scope covers;
- the certificate, its status-list index and its signature are recorded together or not
  at all; the private key never leaves ``SigningKey``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from ledger import credential
from ledger.application import CreditBank, Written
from ledger.certificate import CERTIFICATE_TARGETS, STATUS_REGISTRY_ID, Certificate, StatusRegistry, certificate_uuid
from ledger.eligibility import Facts, evaluate
from ledger.errors import (
    CertificateDatesInvalid,
    CertificateKindUnknown,
    CertificateNotEarned,
    CertificateNotFound,
)
from ledger.grammar import check_identifier
from ledger.keys import SigningKey
from ledger.policy import PolicyVersion
from ledger.vocabulary import parent_chain


@dataclass(frozen=True)
class IssueRequest:
    learner_id: str
    kind: str
    #: Default (None): the bank's today.
    issued_on: date | None
    valid_until: date | None = None
    #: Names this issuance; the same one again is a duplicate. Default: the issue date.
    issuance_id: str | None = None

    @property
    def certificate_id(self) -> UUID:
        assert self.issued_on is not None
        return certificate_uuid(self.learner_id, self.kind, self.issuance_id or self.issued_on.isoformat())


@dataclass(frozen=True)
class Issued:
    written: Written
    certificate_id: UUID
    jws: str
    verdict: dict[str, Any] | None


def basis_of(verdict: dict[str, Any]) -> tuple[dict[str, Any], Decimal]:
    """What a positive verdict rests on, and the hours of the completions behind it."""
    completions: dict[str, Decimal] = {}
    others: set[str] = set()
    for req in verdict["requirements"]:
        if not req.get("applies", True):
            continue
        for item in req.get("evidence", []):
            if "hours" in item:
                completions[str(item["event_id"])] = Decimal(item["hours"])
            elif item.get("event_id"):
                others.add(str(item["event_id"]))
    basis = {
        "target": verdict["target"],
        "on": verdict["on"],
        "completions": sorted(completions),
        "other_events": sorted(others),
        "policies": [{"policy_id": p["policy_id"], "version": p["version"]} for p in verdict["policies"]],
        "rules": [
            {"policy_id": r["policy_id"], "rule": r["rule"], "version": r["version"]} for r in verdict["requirements"]
        ],
    }
    return basis, sum(completions.values(), Decimal(0))


def judge(kind: str, facts: Facts, policies: Sequence[PolicyVersion], on: date) -> dict[str, Any]:
    if kind not in CERTIFICATE_TARGETS:
        raise CertificateKindUnknown(f"{kind!r} is not a certificate kind", field="kind")
    return evaluate(CERTIFICATE_TARGETS[kind], facts, policies, on)


def issue_certificate(
    bank: CreditBank, req: IssueRequest, key: SigningKey, base_url: str, scope: str | None = None
) -> Issued:
    """Issue ``req`` if the learner meets its rule; ``scope``: an HR caller's jurisdiction."""
    if req.issuance_id is not None:
        check_identifier(req.issuance_id, "issuance_id")

    def command() -> Issued:
        return _issue(bank, replace(req, issued_on=req.issued_on or bank.today()), key, base_url, scope)

    return bank.unit_of_work(command)


def _issue(bank: CreditBank, req: IssueRequest, key: SigningKey, base_url: str, scope: str | None) -> Issued:
    assert req.issued_on is not None
    standing = bank.standing(req.learner_id)
    standing.check_scope(scope)
    learner = standing.learner
    number = req.learner_id
    # The certificate is the pseudonym's: its id is not derivable from the teacher number.
    req = replace(req, learner_id=learner.learner_id)
    assert req.issued_on is not None
    existing = bank.get(req.certificate_id, Certificate)
    if existing is not None:
        positions = bank.creation_positions([existing.id])
        jws = bank.open_personal(learner.learner_id, existing.jws)["jws"]
        return Issued(Written(positions.get(existing.id), "duplicate"), existing.id, jws, None)
    if req.issued_on > bank.today():
        raise CertificateDatesInvalid(f"issued_on {req.issued_on} is in the future", field="issued_on")
    if req.valid_until is not None and req.valid_until < req.issued_on:
        raise CertificateDatesInvalid("valid_until is before issued_on", field="valid_until")
    policies = bank.policies_for(parent_chain(standing.jurisdiction), req.issued_on)
    verdict = judge(req.kind, standing.facts, policies, req.issued_on)
    if not verdict["eligible"]:
        unmet = ", ".join(f"{m['policy_id']}#{m['rule']}" for m in verdict["missing"])
        detail = verdict["note"] or f"{number} does not meet {unmet} on {req.issued_on}"
        raise CertificateNotEarned(detail, field="kind", missing=verdict["missing"])
    basis, hours = basis_of(verdict)
    # Cached: the registry's every change is this writer's, and a race with another
    # process's surfaces as a version conflict.
    registry = bank.get(STATUS_REGISTRY_ID, StatusRegistry, fresh=False) or StatusRegistry()
    index = registry.allocate(req.certificate_id)
    name = bank.open_personal(learner.learner_id, learner.personal)["name"]
    document = credential.certificate_credential(
        base_url=base_url,
        certificate_id=str(req.certificate_id),
        kind=req.kind,
        name=name,
        hours=hours,
        valid_from=req.issued_on,
        valid_until=req.valid_until,
        status_index=index,
    )
    jws = credential.sign(key, document)
    certificate = Certificate(
        learner_id=req.learner_id,
        kind=req.kind,
        issuance_id=req.issuance_id or req.issued_on.isoformat(),
        issued_on=req.issued_on,
        valid_from=req.issued_on,
        valid_until=req.valid_until,
        hours=hours,
        basis=basis,
        status_index=index,
        kid=key.kid,
        # The credential states the name, so the log holds it sealed like the name itself.
        jws=bank.seal_personal(learner.learner_id, {"jws": jws}),
    )
    position = bank.record(certificate, registry)
    return Issued(Written(position, "recorded"), certificate.id, jws, verdict)


def _certificate(bank: CreditBank, certificate_id: UUID) -> Certificate:
    found = bank.get(certificate_id, Certificate)
    if found is None:
        raise CertificateNotFound(f"no certificate {certificate_id} was issued")
    return found


def _check_not_future(bank: CreditBank, on: date) -> None:
    if on > bank.today():
        raise CertificateDatesInvalid(f"{on} is in the future", field="on")


def revoke_certificate(bank: CreditBank, certificate_id: UUID, reason: str, on: date | None = None) -> Written:
    def command() -> Written:
        certificate = _certificate(bank, certificate_id)
        day = on or bank.today()
        _check_not_future(bank, day)
        if not certificate.revoke(reason, day):
            return Written(None, "unchanged")
        return Written(bank.record(certificate), "recorded")

    return bank.unit_of_work(command)


def suspend_certificate(
    bank: CreditBank,
    certificate_id: UUID,
    reason: str,
    since: date | None = None,
    cause: dict[str, Any] | None = None,
) -> Written:
    def command() -> Written:
        certificate = _certificate(bank, certificate_id)
        day = since or bank.today()
        _check_not_future(bank, day)
        if not certificate.suspend(reason, day, cause):
            return Written(None, "unchanged")
        return Written(bank.record(certificate), "recorded")

    return bank.unit_of_work(command)


def reinstate_certificate(bank: CreditBank, certificate_id: UUID, reason: str, since: date | None = None) -> Written:
    def command() -> Written:
        certificate = _certificate(bank, certificate_id)
        day = since or bank.today()
        _check_not_future(bank, day)
        certificate.reinstate(reason, day)
        return Written(bank.record(certificate), "recorded")

    return bank.unit_of_work(command)
