"""Service-record commands of the ``CreditBank``: record a refusal, an appraisal, a
teaching qualification or an attested prior certificate on the learner's record.

Invariants:
- like the bank's own commands they run in its unit of work (``CreditBank.unit_of_work``),
  decide on the learner loaded fresh from the event store inside the command, and answer
  ``Written``; an HR caller's scope is checked there against the learner's current
  jurisdiction (``CreditBank.learner_in_scope``);
- a fact's personal free text (``ledger.service_record.SEALED``) is sealed under the
  learner's key before it is recorded; an erased learner (no key) is refused
  (``LearnerErased``), as the aggregate refuses it too;
- a retry with the same content (plain fields and opened free text) answers ``duplicate``
  with the original's position; other content under the same identity is the aggregate's
  conflict (409); who records it (``recorded_by``) is not content;
- no fact is dated after the bank's today.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ledger.application import CreditBank, Written
from ledger.errors import LearnerErased, PersonalDataUnreadable, ServiceRecordInFuture
from ledger.grammar import REASON_LENGTH, check_optional_text, check_text
from ledger.service_record import EVENTS, IDENTITY, PLAIN, SEALED


@dataclass(frozen=True)
class ServiceFact:
    """One fact for the record: ``event`` (``ledger.service_record.EVENTS``), its plain
    fields and its personal free text (opened; sealed by the command)."""

    event: str
    plain: Mapping[str, Any]
    personal: Mapping[str, str | None] = field(default_factory=dict)

    def check(self) -> None:
        if self.event not in EVENTS:
            raise ValueError(f"not a service-record event: {self.event}")
        unknown = set(self.plain) - set(PLAIN[self.event])
        if unknown:
            raise ValueError(f"{self.event} takes no field {sorted(unknown)[0]}")
        for name in ("issuer", "attested_by"):
            if name in self.plain:
                check_text(self.plain[name], name, max_length=200)
        for name, text in self.personal.items():
            if name not in SEALED[self.event]:
                raise ValueError(f"{self.event} seals no field {name}")
            if name == "number":
                check_text(text, name, max_length=100)
            else:
                check_optional_text(text, name, max_length=REASON_LENGTH)

    def dated(self) -> date:
        day = self.plain.get("on", self.plain.get("issued_on"))
        assert isinstance(day, date)
        return day


def record_fact(
    bank: CreditBank,
    learner_id: str,
    fact: ServiceFact,
    *,
    recorded_by: Mapping[str, Any],
    scope: str | None = None,
) -> Written:
    """Record ``fact`` on the learner's record (see the module invariants)."""
    fact.check()
    plain = {name: fact.plain.get(name) for name in PLAIN[fact.event]}
    opened = {name: fact.personal.get(name) for name in SEALED[fact.event]}

    def command() -> Written:
        learner = bank.learner_in_scope(learner_id, scope)
        if fact.dated() > bank.today():
            raise ServiceRecordInFuture(f"{fact.dated()} is after today", field="on" if "on" in plain else "issued_on")
        subject = learner.learner_id
        earlier = learner.recorded_fact(fact.event, plain)
        if earlier is not None and {k: earlier.get(k) for k in PLAIN[fact.event]} == plain:
            try:
                before = bank.open_personal(subject, earlier["personal"]) if earlier["personal"] else {}
            except PersonalDataUnreadable:
                raise LearnerErased("this learner's personal data was erased", field="learner_id") from None
            if {k: before.get(k) for k in opened} == opened:
                match = {k: plain[k] for k in IDENTITY[fact.event]}
                return Written(bank.position_of(learner.id, "." + fact.event, **match), "duplicate")
        # A conflicting retry is refused by the aggregate (its identity is taken).
        personal = bank.seal_personal(subject, opened) if any(v is not None for v in opened.values()) else None
        learner.record_fact(fact.event, plain, personal, dict(recorded_by))
        return Written(bank.record(learner), "recorded")

    return bank.unit_of_work(command)
