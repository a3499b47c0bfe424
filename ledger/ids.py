"""Deterministic aggregate ids.

Invariant: an aggregate's id is ``uuid5`` of its natural key, so the event store's
unique (originator_id, version) key itself refuses a second learner, provider or
completion with the same natural key, in this process or any other.
"""

from __future__ import annotations

from functools import lru_cache
from uuid import UUID, uuid5

NAMESPACE = UUID("6f1c2a4e-9a7b-5d1e-8c3f-2b4a6d8e0f12")


@lru_cache(maxsize=50_000)
def learner_uuid(learner_id: str) -> UUID:
    return uuid5(NAMESPACE, f"learner:{learner_id}")


@lru_cache(maxsize=10_000)
def provider_uuid(provider_id: str) -> UUID:
    return uuid5(NAMESPACE, f"provider:{provider_id}")


def completion_uuid(provider_id: str, record_id: str) -> UUID:
    # The separator cannot occur in a provider id (validated at the edge), so keys
    # from different providers never collide.
    return uuid5(NAMESPACE, f"completion:{provider_id}\x1f{record_id}")


def event_uuid(originator_id: UUID, originator_version: int) -> UUID:
    """A stable id for one stored event, derivable by anyone holding the log."""
    return uuid5(originator_id, str(originator_version))


def policy_uuid(policy_id: str) -> UUID:
    return uuid5(NAMESPACE, f"policy:{policy_id}")


def vocabulary_uuid(jurisdiction: str) -> UUID:
    return uuid5(NAMESPACE, f"vocabulary:{jurisdiction}")
