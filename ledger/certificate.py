"""The certificate aggregate and the registry that hands out status-list positions.

Invariants:
- a certificate's id is ``uuid5`` of (learner, kind, issuance id), so the same issuance
  asked twice records once (the event store's unique key refuses a second one);
- issuing is refused unless the learner meets the policy rule of the kind on the issue
  date (``ledger.eligibility.evaluate`` of target ``certificate.<kind>``); the event
  records the basis: the completion events and the policy versions the verdict used;
- the signed credential is made once, at issue, and stored in the event; it never changes;
- status changes are events with a reason and a date; the history is only appended to:
  valid from issue, suspended from / reinstated from, revoked on; a revoked certificate
  stays revoked; a suspension caused by another event names it (``cause``);
- every event names the learner (``learner_id``), so a learner's history shows it;
- every certificate gets its own status-list index, handed out by one registry aggregate,
  saved in the same transaction as the certificate, so no two share an index.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Final
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from ledger.errors import CertificateDatesInvalid, CertificateNotSuspended, CertificateRevoked
from ledger.grammar import CERTIFICATE_REASON_LENGTH, check_text
from ledger.ids import NAMESPACE
from ledger.vocabulary import CERTIFICATES

#: The verdict target judged before issuing each kind of certificate.
CERTIFICATE_TARGETS: Final[dict[str, str]] = {kind: f"certificate.{kind}" for kind in CERTIFICATES}
STATUS_REGISTRY_ID: Final = uuid5(NAMESPACE, "status-registry")


def certificate_uuid(learner_id: str, kind: str, issuance_id: str) -> UUID:
    return uuid5(NAMESPACE, f"certificate:{learner_id}\x1f{kind}\x1f{issuance_id}")


def valid_spans(
    valid_from: date,
    valid_until: date | None,
    history: Sequence[tuple[str, date]],
) -> list[tuple[date, date | None]]:
    """The days a certificate was valid, from its status history ``(status, since)`` in order."""
    spans: list[tuple[date, date | None]] = []
    start: date | None = valid_from
    for status, since in history[1:]:
        if status == "valid" and start is None:
            start = since
        elif status != "valid" and start is not None:
            if since > start:
                spans.append((start, since - timedelta(days=1)))
            start = None
    if start is not None:
        spans.append((start, valid_until))
    return spans


class Certificate(Aggregate):
    @staticmethod
    def create_id(learner_id: str, kind: str, issuance_id: str, **_: Any) -> UUID:
        return certificate_uuid(learner_id, kind, issuance_id)

    @event("Issued")
    def __init__(
        self,
        learner_id: str,
        kind: str,
        issuance_id: str,
        issued_on: date,
        valid_from: date,
        valid_until: date | None,
        hours: Decimal,
        basis: dict[str, Any],
        status_index: int,
        kid: str,
        jws: str,
    ) -> None:
        self.learner_id = learner_id
        self.kind = kind
        self.issuance_id = issuance_id
        self.issued_on = issued_on
        self.valid_from = valid_from
        self.valid_until = valid_until
        self.hours = hours
        self.basis = basis
        self.status_index = status_index
        self.kid = kid
        self.jws = jws
        self.history: list[dict[str, Any]] = [{"status": "valid", "since": valid_from, "reason": None}]

    @property
    def status(self) -> str:
        return str(self.history[-1]["status"])

    def _check_date(self, on: date) -> None:
        if on < self.valid_from:
            raise CertificateDatesInvalid(f"{on} is before the certificate is valid ({self.valid_from})", field="on")

    def revoke(self, reason: str, on: date) -> bool:
        """Revoke; False (nothing recorded) if it is revoked already."""
        check_text(reason, "reason", max_length=CERTIFICATE_REASON_LENGTH)
        if self.status == "revoked":
            return False
        self._check_date(on)
        self._revoked(reason=reason, on=on, learner_id=self.learner_id)
        return True

    def suspend(self, reason: str, since: date, cause: dict[str, Any] | None = None) -> bool:
        """Suspend; False (nothing recorded) if it is suspended already."""
        check_text(reason, "reason", max_length=CERTIFICATE_REASON_LENGTH)
        if self.status == "revoked":
            raise CertificateRevoked(f"certificate {self.id} was revoked; it cannot be suspended")
        if self.status == "suspended":
            return False
        self._check_date(since)
        self._suspended(reason=reason, since=since, cause=cause, learner_id=self.learner_id)
        return True

    def reinstate(self, reason: str, since: date) -> None:
        check_text(reason, "reason", max_length=CERTIFICATE_REASON_LENGTH)
        if self.status != "suspended":
            raise CertificateNotSuspended(f"certificate {self.id} is {self.status}, not suspended")
        self._check_date(since)
        self._reinstated(reason=reason, since=since, learner_id=self.learner_id)

    @event("Revoked")
    def _revoked(self, reason: str, on: date, learner_id: str) -> None:
        self.history.append({"status": "revoked", "since": on, "reason": reason})

    @event("Suspended")
    def _suspended(self, reason: str, since: date, cause: dict[str, Any] | None, learner_id: str) -> None:
        self.history.append({"status": "suspended", "since": since, "reason": reason, "cause": cause})

    @event("Reinstated")
    def _reinstated(self, reason: str, since: date, learner_id: str) -> None:
        self.history.append({"status": "valid", "since": since, "reason": reason})


class StatusRegistry(Aggregate):
    """Hands out status-list indexes, one per certificate, in order."""

    @staticmethod
    def create_id(**_: Any) -> UUID:
        return STATUS_REGISTRY_ID

    @event("Opened")
    def __init__(self) -> None:
        self.next_index = 0

    def allocate(self, certificate_id: UUID) -> int:
        index = self.next_index
        self._allocated(certificate_id=certificate_id, index=index)
        return index

    @event("Allocated")
    def _allocated(self, certificate_id: UUID, index: int) -> None:
        self.next_index = index + 1
