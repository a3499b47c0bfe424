"""The provider aggregate: a training institution (培训机构) and its accreditation.

Invariants:
- an institution posts completions only within its current accreditation: the
  programme's category and level are accredited and the completion date lies within
  the accreditation's validity dates;
- a suspended institution posts nothing until it is reinstated;
- re-accreditation replaces the accreditation from then on; earlier completions keep
  the accreditation they were checked against (the events say which);
- an ``Accreditation`` is a value: two are the same (``same_as``) when they differ only in
  the order or repetition of their codes; re-accrediting with the same one records nothing.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.errors import (
    AccreditationInvalid,
    OutsideAccreditation,
    ProviderNotSuspended,
    ProviderSuspended,
    UnknownCode,
)
from ledger.grammar import REASON_LENGTH, check_code, check_identifier, check_jurisdiction, check_text
from ledger.ids import provider_uuid
from ledger.vocabulary import CATEGORIES, LEVELS


def check_accreditation(valid_from: date, valid_to: date | None) -> None:
    if valid_to is not None and valid_to < valid_from:
        raise AccreditationInvalid(
            f"accreditation ends ({valid_to}) before it starts ({valid_from})",
            field="accreditation.valid_to",
        )


@dataclass(frozen=True)
class Accreditation:
    """What an institution is accredited for: categories and levels, in one jurisdiction,
    between two days (``valid_to`` None: open-ended)."""

    provider_id: str
    name: str
    jurisdiction: str
    categories: tuple[str, ...]
    levels: tuple[str, ...]
    valid_from: date
    valid_to: date | None

    def check(self, *, added: Collection[str] = ()) -> None:
        """``added``: the categories the jurisdiction's vocabulary documents add."""
        check_identifier(self.provider_id, "provider_id")
        check_text(self.name, "name", max_length=200)
        check_jurisdiction(self.jurisdiction)
        if not self.categories or not self.levels:
            raise UnknownCode("name at least one category and one level", field="accreditation")
        for index, code in enumerate(self.categories):
            if code not in added:
                check_code(code, CATEGORIES, f"accreditation.categories[{index}]")
        for index, code in enumerate(self.levels):
            check_code(code, LEVELS, f"accreditation.levels[{index}]")
        check_accreditation(self.valid_from, self.valid_to)

    def same_as(self, other: Accreditation) -> bool:
        """The same accreditation, whatever the order or repetition of its codes."""
        return self._key() == other._key()

    def _key(self) -> tuple[Any, ...]:
        return (
            self.provider_id,
            self.name,
            self.jurisdiction,
            frozenset(self.categories),
            frozenset(self.levels),
            self.valid_from,
            self.valid_to,
        )

    def event_fields(self) -> dict[str, Any]:
        """The fields of an ``Accredited`` or ``Reaccredited`` event (codes sorted)."""
        return {
            "name": self.name,
            "jurisdiction": self.jurisdiction,
            "categories": sorted(self.categories),
            "levels": sorted(self.levels),
            "valid_from": self.valid_from,
            "valid_to": self.valid_to,
        }


def _identity(accreditation: Accreditation) -> tuple[Any, ...]:
    a = accreditation
    return (
        a.provider_id,
        a.name,
        a.jurisdiction,
        frozenset(a.categories),
        frozenset(a.levels),
        a.valid_from,
        a.valid_to,
    )


class Provider(Aggregate):
    @staticmethod
    def create_id(provider_id: str, **_: Any) -> UUID:
        return provider_uuid(provider_id)

    @event("Accredited")
    def __init__(
        self,
        provider_id: str,
        name: str,
        jurisdiction: str,
        categories: list[str],
        levels: list[str],
        valid_from: date,
        valid_to: date | None,
    ) -> None:
        self.provider_id = provider_id
        self._set_accreditation(name, jurisdiction, categories, levels, valid_from, valid_to)
        self.suspension_reason: str | None = None

    def _set_accreditation(
        self,
        name: str,
        jurisdiction: str,
        categories: list[str],
        levels: list[str],
        valid_from: date,
        valid_to: date | None,
    ) -> None:
        self.name = name
        self.jurisdiction = jurisdiction
        self.categories = frozenset(categories)
        self.levels = frozenset(levels)
        self.valid_from = valid_from
        self.valid_to = valid_to

    @property
    def suspended(self) -> bool:
        return self.suspension_reason is not None

    def accreditation(self) -> Accreditation:
        """The accreditation in force."""
        return Accreditation(
            self.provider_id,
            self.name,
            self.jurisdiction,
            tuple(sorted(self.categories)),
            tuple(sorted(self.levels)),
            self.valid_from,
            self.valid_to,
        )

    def reaccredit(self, accreditation: Accreditation) -> None:
        check_accreditation(accreditation.valid_from, accreditation.valid_to)
        self._reaccredited(**accreditation.event_fields())

    @event("Reaccredited")
    def _reaccredited(
        self,
        name: str,
        jurisdiction: str,
        categories: list[str],
        levels: list[str],
        valid_from: date,
        valid_to: date | None,
    ) -> None:
        self._set_accreditation(name, jurisdiction, categories, levels, valid_from, valid_to)

    def suspend(self, reason: str) -> None:
        check_text(reason, "reason", max_length=REASON_LENGTH)
        if self.suspended:
            raise ProviderSuspended(f"{self.provider_id} is already suspended")
        self._suspended(reason=reason)

    @event("Suspended")
    def _suspended(self, reason: str) -> None:
        self.suspension_reason = reason

    def reinstate(self) -> None:
        if not self.suspended:
            raise ProviderNotSuspended(f"{self.provider_id} is not suspended")
        self._reinstated()

    @event("Reinstated")
    def _reinstated(self) -> None:
        self.suspension_reason = None

    def check_may_post(self, category: str, level: str, completed_on: date) -> None:
        """Raise unless this institution may post a completion of this kind and date."""
        if self.suspended:
            raise ProviderSuspended(
                f"{self.provider_id} is suspended ({self.suspension_reason}); it posts nothing until reinstated"
            )
        if category not in self.categories:
            raise OutsideAccreditation(
                f"{self.provider_id} is not accredited for category {category}",
                field="programme.category",
            )
        if level not in self.levels:
            raise OutsideAccreditation(
                f"{self.provider_id} is not accredited for level {level}",
                field="programme.level",
            )
        if completed_on < self.valid_from or (self.valid_to is not None and completed_on > self.valid_to):
            until = self.valid_to.isoformat() if self.valid_to else "open-ended"
            raise OutsideAccreditation(
                f"{self.provider_id} is accredited from {self.valid_from} to {until}; "
                f"a completion on {completed_on} lies outside",
                field="completed_on",
            )
