"""How a versioned aggregate publishes its next version: one rule for policies
(``ledger.policy``) and degree-credit mappings (``ledger.degree``).

Invariants:
- versions are numbered 1, 2, ... in publication order; a draft names no number (the
  next) or a number: the next one, or one already published;
- a draft that repeats a published version's content (a draft naming that version's
  number, or naming none) records nothing: it *is* that version; a draft naming a
  published number with other content is a conflict;
- each version starts strictly after the one before, so every version is in force on at
  least one day.
Each aggregate raises its own errors (its codes are its clients'), and may add rules of its
own (a policy's ``effective_to`` must not overlap the next version).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, Protocol, TypeVar

from ledger.errors import DomainError


class Version(Protocol):
    @property
    def version(self) -> int | None: ...

    @property
    def effective_from(self) -> date: ...

    def content(self) -> Any:
        """Everything but the version number: what makes two publications the same."""


V = TypeVar("V", bound=Version)


def published_as(published: Sequence[V], draft: V, *, name: str, conflict: type[DomainError]) -> V | None:
    """The published version ``draft`` repeats, if any; ``conflict`` if its number is taken
    by other content."""
    if draft.version is not None and 0 < draft.version <= len(published):
        existing = published[draft.version - 1]
        if existing.content() != draft.content():
            raise conflict(
                f"version {draft.version} of {name} was published with other content; "
                f"publish version {len(published) + 1} instead",
                field="version",
            )
        return existing
    if draft.version is None:
        return next((v for v in published if v.content() == draft.content()), None)
    return None


def next_number(published: Sequence[V], draft: V, *, invalid: type[DomainError], overlap: type[DomainError]) -> int:
    """The number ``draft`` is published under, or the refusal (see the module invariants)."""
    number = len(published) + 1
    if draft.version is not None and draft.version != number:
        raise invalid(f"versions are numbered in order; the next is {number}", field="version")
    if published and draft.effective_from <= published[-1].effective_from:
        latest = published[-1]
        raise overlap(
            f"version {latest.version} starts on {latest.effective_from}; "
            "a new version must start later, not on that day or earlier",
            field="effective_from",
        )
    return number


def read_draft(
    data: Any, known: frozenset[str], *, what: str, error: type[DomainError]
) -> tuple[Mapping[str, Any], int | None]:
    """A draft's fields and its version number (None: the next), or the refusal: a draft
    is an object of ``known`` fields, and a number counts from 1."""
    if not isinstance(data, Mapping):
        raise error(f"{what} is an object", field="body")
    extra = sorted(set(data) - known)
    if extra:
        raise error(f"unknown field {extra[0]}", field=extra[0])
    version = data.get("version")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int) or version < 1):
        raise error("must be a whole number from 1", field="version")
    return data, version
