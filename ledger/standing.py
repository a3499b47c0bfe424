"""A learner's standing as the event store records it: the facts a write decides on.

Invariants:
- built only from events read inside the command (``CreditBank.standing``), never from a
  read model, so a verdict made on it rests on nothing older than the log head;
- the facts are those the read side gives at the head (``projections.policies``): passed,
  unrevoked completions with the id and position of their ``Recorded`` event, role spells
  with the event that started them, certificates by their spans of validity, and the
  service record of the learner's own events (``ledger.service_record.fact_of``), prior
  certificates among the certificates;
- the learner's current jurisdiction is the open account's (``ledger.transfer``) once the
  account was moved, else the registration's;
- completions an arrival from another bank carried (``ledger.federation``) count like the
  learner's own, each named by the ``Arrived`` event and its position, as the read side has them;
- pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.certificate import Certificate, valid_spans
from ledger.completion import Completion
from ledger.eligibility import CertificateFact, CompletionFact, Facts, RoleFact
from ledger.errors import OutsideJurisdiction
from ledger.ids import event_uuid
from ledger.learner import Learner
from ledger.service_record import Fact, fact_of, with_record
from ledger.transfer import Account
from ledger.vocabulary import covers

#: One aggregate's events, in version order, each with its position in the log.
Positioned = Sequence[tuple[object, int]]


@dataclass(frozen=True)
class Standing:
    learner: Learner
    account: Account | None
    facts: Facts
    #: The learner's completions (all of them: failed and revoked too), by aggregate id.
    completions: dict[UUID, Completion]

    @property
    def jurisdiction(self) -> str:
        return self.facts.jurisdiction

    def check_scope(self, scope: str | None) -> None:
        check_scope(scope, self.jurisdiction)


def check_scope(scope: str | None, jurisdiction: str) -> None:
    """Refuse unless ``scope`` (an HR caller's jurisdiction; None: any) covers the learner's
    current ``jurisdiction``."""
    if scope is not None and not covers(scope, jurisdiction):
        raise OutsideJurisdiction(f"this token covers jurisdiction {scope}, not the learner's", field="learner_id")


def current_jurisdiction(learner: Learner, account: Account | None) -> str:
    return account.jurisdiction if account is not None else learner.jurisdiction


def role_facts(learner_id: UUID, events: Positioned) -> tuple[RoleFact, ...]:
    """The role spells of a learner's events, each named by the event that started it."""
    spells: list[RoleFact] = []
    for version, (domain_event, position) in enumerate(events, start=1):
        started = str(event_uuid(learner_id, version))
        name = type(domain_event).__name__
        fields = domain_event.__dict__
        if name == "Registered":
            spells.extend(
                RoleFact(r["role"], r["since"], r.get("until"), started, position) for r in fields.get("roles") or ()
            )
        elif name == "RoleStarted":
            spells.append(RoleFact(fields["role"], fields["since"], None, started, position))
        elif name == "RoleEnded":
            spells = [
                RoleFact(s.role, s.since, fields["until"], s.event_id, s.position)
                if s.role == fields["role"] and s.until is None
                else s
                for s in spells
            ]
    return tuple(spells)


def record_facts(learner_id: UUID, events: Positioned) -> list[Fact]:
    """The service-record facts of a learner's events, each named by its event."""
    found = []
    for version, (domain_event, position) in enumerate(events, start=1):
        event_id = str(event_uuid(learner_id, version))
        fact = fact_of(type(domain_event).__name__, domain_event.__dict__, event_id, position)
        if fact is not None:
            found.append(fact)
    return found


def standing_of(
    number: str,
    learner: Learner,
    learner_events: Positioned,
    account: Account | None,
    owned: dict[UUID, tuple[Aggregate, int]],
    account_events: Positioned = (),
) -> Standing:
    """The standing of the learner with teacher number ``number`` (the facts name the learner
    by it, as the read side does) from its aggregates; ``owned`` maps each completion and
    certificate of the learner to the aggregate and the position of its first event."""
    completions: dict[UUID, Completion] = {}
    counted: list[CompletionFact] = []
    certificates: list[CertificateFact] = []
    for aggregate_id, (aggregate, position) in owned.items():
        event_id = str(event_uuid(aggregate_id, 1))
        if isinstance(aggregate, Completion):
            completions[aggregate_id] = aggregate
            f = aggregate.facts
            if aggregate.earns_hours:
                counted.append(
                    CompletionFact(event_id, position, f.category, f.level, f.hours, f.completed_on, tuple(f.topics))
                )
        elif isinstance(aggregate, Certificate):
            history = [(h["status"], h["since"]) for h in aggregate.history]
            certificates.extend(
                CertificateFact(aggregate.kind, start, end, event_id, position)
                for start, end in valid_spans(aggregate.valid_from, aggregate.valid_until, history)
            )
    if account is not None:
        counted.extend(carried_facts(account.id, account_events))
    facts = Facts(
        learner_id=number,
        jurisdiction=current_jurisdiction(learner, account),
        hired_on=learner.hired_on,
        roles=role_facts(learner.id, learner_events),
        completions=tuple(counted),
        certificates=tuple(certificates),
        school=learner.school,
    )
    facts = with_record(facts, record_facts(learner.id, learner_events))
    return Standing(learner, account, facts, completions)


def carried_facts(account_id: UUID, events: Positioned) -> list[CompletionFact]:
    """The completions the arrivals among an account's events carried in from other banks."""
    found: list[CompletionFact] = []
    for version, (domain_event, position) in enumerate(events, start=1):
        if type(domain_event).__name__ != "Arrived":
            continue
        event_id = str(event_uuid(account_id, version))
        found.extend(
            CompletionFact(
                event_id, position, c["category"], c["level"], c["hours"], c["completed_on"], tuple(c["topics"])
            )
            for c in domain_event.__dict__["completions"]
        )
    return found
