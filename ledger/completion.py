"""The completion aggregate: one learner finished one programme of one institution.

Invariants:
- a completion is identified by ``(provider_id, record_id)``; its aggregate id is
  derived from that pair, so the event store refuses a second record under it;
- its facts never change once recorded; posting the same facts again is a duplicate,
  posting other facts under the same id is a conflict;
- only a passed (``pass``/``excellent``) and unrevoked completion earns hours;
- a revocation names a reason; revoking twice records nothing the second time;
- ``learner_id`` in the ledger is the learner's pseudonym (``subject``), never the teacher
  number an institution posts: the batch command replaces one by the other before recording;
- the batch path builds these objects faster in ``ledger.fast_completion``, tested equal to
  the plain code here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.errors import (
    CompletionDatesOutOfOrder,
    CompletionInFuture,
    RevocationNotPermitted,
    TextInvalid,
    UnknownCode,
)
from ledger.grammar import NAME, REASON_LENGTH, check_identifier, check_text
from ledger.hours import check_hours
from ledger.ids import completion_uuid
from ledger.vocabulary import ASSESSMENTS, CATEGORIES, LEVELS, PASSING_ASSESSMENTS


def earns_hours(assessment: str, *, revoked: bool) -> bool:
    """The rule of what counts: a passed (``pass``/``excellent``) and unrevoked completion.
    Everything that counts hours asks this (the aggregate, the standing, the read side)."""
    return assessment in PASSING_ASSESSMENTS and not revoked


#: Most topics a completion names, and the longest topic.
MAX_TOPICS = 50


@dataclass(frozen=True)
class CompletionFacts:
    """What an institution states about one completion. Types are already parsed."""

    provider_id: str
    record_id: str
    #: As posted, the teacher number; as recorded, the learner's pseudonym (see ``ledger``).
    learner_id: str
    programme_code: str
    programme_title: str
    category: str
    level: str
    hours: Decimal
    assessment: str
    completed_on: date
    started_on: date | None = None
    topics: tuple[str, ...] = field(default=())

    @cached_property
    def completion_id(self) -> UUID:
        return completion_uuid(self.provider_id, self.record_id)

    def check(self, today: date) -> None:
        """The rules a completion must meet on its own, whoever posts it."""
        self.check_grammar()
        check_hours(self.hours)
        if self.completed_on > today:
            raise CompletionInFuture(
                f"completed_on {self.completed_on} is after today ({today})",
                field="completed_on",
            )
        if self.started_on is not None and self.started_on > self.completed_on:
            raise CompletionDatesOutOfOrder(
                f"started_on {self.started_on} is after completed_on {self.completed_on}",
                field="started_on",
            )

    def check_grammar(self) -> None:
        """Ids and text of the ledger's grammar, codes of the vocabulary (``ledger.grammar``)."""
        check_identifier(self.provider_id, "provider_id")
        check_identifier(self.record_id, "record_id", max_length=128)
        check_identifier(self.learner_id, "learner_id")
        check_text(self.programme_code, "programme.code", max_length=64)
        check_text(self.programme_title, "programme.title", max_length=200)
        # A category beyond the national ones may be a jurisdiction's (``ledger.vocabulary_document``):
        # here only its grammar; the batch command checks it is in force for provider and learner.
        if self.category not in CATEGORIES and not (isinstance(self.category, str) and NAME.fullmatch(self.category)):
            raise UnknownCode(f"{self.category!r} is not one of {', '.join(CATEGORIES)}", field="programme.category")
        for name, value, known in (
            ("programme.level", self.level, LEVELS),
            ("assessment", self.assessment, ASSESSMENTS),
        ):
            if value not in known:
                raise UnknownCode(f"{value!r} is not one of {', '.join(known)}", field=name)
        if len(self.topics) > MAX_TOPICS:
            raise TextInvalid(f"at most {MAX_TOPICS} topics", field="topics")
        for index, topic in enumerate(self.topics):
            check_text(topic, f"topics[{index}]", max_length=100)

    def as_event_kwargs(self) -> dict[str, Any]:
        return {
            "provider_id": self.provider_id,
            "record_id": self.record_id,
            "learner_id": self.learner_id,
            "programme_code": self.programme_code,
            "programme_title": self.programme_title,
            "category": self.category,
            "level": self.level,
            "hours": self.hours,
            "assessment": self.assessment,
            "completed_on": self.completed_on,
            "started_on": self.started_on,
            "topics": list(self.topics),
        }


class Completion(Aggregate):
    @staticmethod
    def create_id(provider_id: str, record_id: str, **_: Any) -> UUID:
        return completion_uuid(provider_id, record_id)

    @event("Recorded")
    def __init__(
        self,
        provider_id: str,
        record_id: str,
        learner_id: str,
        programme_code: str,
        programme_title: str,
        category: str,
        level: str,
        hours: Decimal,
        assessment: str,
        completed_on: date,
        started_on: date | None,
        topics: list[str],
    ) -> None:
        self.facts = CompletionFacts(
            provider_id=provider_id,
            record_id=record_id,
            learner_id=learner_id,
            programme_code=programme_code,
            programme_title=programme_title,
            category=category,
            level=level,
            hours=hours,
            assessment=assessment,
            completed_on=completed_on,
            started_on=started_on,
            topics=tuple(topics),
        )
        self.revocation_reason: str | None = None

    @classmethod
    def record(cls, facts: CompletionFacts) -> Completion:
        """A new completion and its pending ``Recorded`` event (``ledger.fast_completion.record``
        makes the same, faster, for batches)."""
        return cls(**facts.as_event_kwargs())

    @property
    def revoked(self) -> bool:
        return self.revocation_reason is not None

    @property
    def earns_hours(self) -> bool:
        return earns_hours(self.facts.assessment, revoked=self.revoked)

    def revoke(self, reason: str, by_provider: str | None) -> None:
        """Revoke; ``by_provider`` is the revoking institution, ``None`` for an admin."""
        check_text(reason, "reason", max_length=REASON_LENGTH)
        if by_provider is not None and by_provider != self.facts.provider_id:
            raise RevocationNotPermitted(
                f"{by_provider} did not post this completion; only {self.facts.provider_id} or an admin may revoke it"
            )
        self._revoked(reason=reason, revoked_by=by_provider or "admin")

    @event("Revoked")
    def _revoked(self, reason: str, revoked_by: str) -> None:
        self.revocation_reason = reason
