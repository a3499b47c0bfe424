"""What a learner's eligibility is judged on (``Facts``), and what one rule's judgement
gives (``Requirement``), with the small pieces every rule kind's judgement shares.

Invariants:
- ``Facts`` hold only passed, unrevoked completions (``ledger.completion.earns_hours``), with
  the events behind them (``event_id``, ``position``);
- ``evidence`` lists completions by date and event id, never by arrival, so a judgement does
  not depend on the order the facts come in;
- the service record (refusals, appraisals, qualifications) and attested prior certificates
  are facts of the learner's own events (``ledger.service_record`` folds them, for the write
  side, the read side and the offline bundle alike), each with its event id and position; a
  prior certificate is a ``CertificateFact`` with ``attested`` set: it counts for
  ``certificate_held`` like one the bank signed, and is shown as attested, not signed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from ledger.hours import format_hours


@dataclass(frozen=True)
class CompletionFact:
    event_id: str
    position: int
    category: str
    level: str
    hours: Decimal
    completed_on: date


@dataclass(frozen=True)
class RoleFact:
    role: str
    since: date
    until: date | None = None
    event_id: str | None = None
    position: int | None = None


@dataclass(frozen=True)
class CertificateFact:
    kind: str
    valid_from: date
    valid_to: date | None
    event_id: str
    position: int
    #: Issued before the bank and attested by HR (not signed by the bank).
    attested: bool = False


@dataclass(frozen=True)
class RefusalFact:
    """A recorded refusal of a post (seed 001 二(四)9)."""

    post: str
    school_year: str
    on: date
    justified: bool
    event_id: str
    position: int


@dataclass(frozen=True)
class AppraisalFact:
    """An annual appraisal result (年度考核)."""

    school_year: str
    grade: str
    on: date
    event_id: str
    position: int


@dataclass(frozen=True)
class QualificationFact:
    """A teaching qualification (教师资格); its number is sealed and not a fact."""

    kind: str
    issued_on: date
    event_id: str
    position: int


@dataclass(frozen=True)
class Facts:
    #: The teacher number the verdict answers for (the edge's ``learner_id``, not the pseudonym).
    learner_id: str
    jurisdiction: str
    hired_on: date | None = None
    roles: tuple[RoleFact, ...] = ()
    #: Passed, unrevoked completions only.
    completions: tuple[CompletionFact, ...] = ()
    certificates: tuple[CertificateFact, ...] = ()
    name: str | None = None
    school: str | None = None
    refusals: tuple[RefusalFact, ...] = ()
    appraisals: tuple[AppraisalFact, ...] = ()
    qualifications: tuple[QualificationFact, ...] = ()


@dataclass
class Requirement:
    rule: str
    policy_id: str
    version: int
    kind: str
    source: dict[str, str]
    required: Any
    actual: Any
    met: bool
    unit: str
    evidence: list[dict[str, Any]] = field(default_factory=list)
    missing: dict[str, Any] | None = None
    note: str | None = None
    applies: bool = True
    replaces: dict[str, Any] | None = None
    loosens: bool = False
    window: dict[str, str] | None = None

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if v is not None}
        out["loosens"] = self.loosens
        return out


def evidence(items: Iterable[CompletionFact]) -> list[dict[str, Any]]:
    ordered = sorted(items, key=lambda c: (c.completed_on, c.event_id))
    return [
        {
            "event_id": c.event_id,
            "position": c.position,
            "hours": format_hours(c.hours),
            "category": c.category,
            "completed_on": c.completed_on.isoformat(),
        }
        for c in ordered
    ]


def category_key(categories: frozenset[str] | None) -> str:
    return "any" if categories is None else "|".join(sorted(categories))


def counts(c: CompletionFact, categories: frozenset[str] | None, levels: frozenset[str] | None) -> bool:
    return (categories is None or c.category in categories) and (levels is None or c.level in levels)


def holds(facts: Facts, role: str, on: date) -> bool:
    return any(r.role == role and r.since <= on and (r.until is None or on <= r.until) for r in facts.roles)
