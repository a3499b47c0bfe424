"""The core read models: learners and their roles, providers, completions, and the index of
every event by position; written by ``projections.apply`` in one pass over a batch.

Invariants:
- every event, known or not, has one ``rm_event_index`` row carrying its chain hash;
- a completion row is written by its ``Recorded`` event and only its revocation columns
  change afterwards; a learner's name is NULL once erased (the erasure scrubs the rest);
- ``rm_learners`` holds a learner's details as last corrected; each correction keeps the
  details it replaced in ``rm_learner_corrections`` (at its position), so the details as of
  position P are those kept by the first correction after P, else the current ones.
"""

from __future__ import annotations

from typing import Final

from ledger.completion import Completion, earns_hours
from ledger.learner import Learner
from ledger.provider import Provider
from ledger.vocabulary import ASSESSMENTS
from projections.eventlog import topic

LEARNER_REGISTERED: Final = topic(Learner, "Registered")
ROLE_STARTED: Final = topic(Learner, "RoleStarted")
ROLE_ENDED: Final = topic(Learner, "RoleEnded")
LEARNER_ERASED: Final = topic(Learner, "Erased")
LEARNER_CORRECTED: Final = topic(Learner, "Corrected")
PROVIDER_ACCREDITED: Final = topic(Provider, "Accredited")
PROVIDER_REACCREDITED: Final = topic(Provider, "Reaccredited")
PROVIDER_SUSPENDED: Final = topic(Provider, "Suspended")
PROVIDER_REINSTATED: Final = topic(Provider, "Reinstated")
COMPLETION_RECORDED: Final = topic(Completion, "Recorded")
COMPLETION_REVOKED: Final = topic(Completion, "Revoked")
TOPICS: Final = frozenset(
    {
        LEARNER_REGISTERED,
        ROLE_STARTED,
        ROLE_ENDED,
        LEARNER_ERASED,
        LEARNER_CORRECTED,
        PROVIDER_ACCREDITED,
        PROVIDER_REACCREDITED,
        PROVIDER_SUSPENDED,
        PROVIDER_REINSTATED,
        COMPLETION_RECORDED,
        COMPLETION_REVOKED,
    }
)
#: The assessments that earn hours (``ledger.completion.earns_hours``): the argument a query
#: passes for ``earns_hours_sql``'s ``assessments`` parameter.
EARNING_ASSESSMENTS: Final = sorted(a for a in ASSESSMENTS if earns_hours(a, revoked=False))


def earns_hours_sql(completion: str, *, position: str, assessments: str) -> str:
    """``ledger.completion.earns_hours`` in SQL: the ``rm_completions`` row ``completion``
    (a table alias), as known at the query parameter ``position``, is passed (its assessment
    among the parameter ``assessments``, bound to ``EARNING_ASSESSMENTS``) and unrevoked."""
    return (
        f"{completion}.assessment = ANY({assessments})"
        f" AND ({completion}.revoked_position IS NULL OR {completion}.revoked_position > {position})"
    )


TABLES: Final = (
    "rm_event_index",
    "rm_learners",
    "rm_learner_corrections",
    "rm_learner_roles",
    "rm_providers",
    "rm_completions",
)

DDL: Final = """
CREATE TABLE IF NOT EXISTS rm_event_index (
    position bigint PRIMARY KEY,
    event_id uuid NOT NULL,
    originator_id uuid NOT NULL,
    originator_version bigint NOT NULL,
    type text NOT NULL,
    learner_id text NULL,
    provider_id text NULL,
    recorded_at timestamptz NULL,
    chain_hash bytea NOT NULL
);
CREATE INDEX IF NOT EXISTS rm_event_index_learner
    ON rm_event_index (learner_id, position) WHERE learner_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS rm_event_index_recorded_at
    ON rm_event_index (recorded_at, position);

CREATE TABLE IF NOT EXISTS rm_learners (
    learner_id text PRIMARY KEY,
    learner_uuid uuid NOT NULL UNIQUE,
    -- The pseudonym the log knows the learner by; name is NULL once erased.
    subject text NULL UNIQUE,
    name text NULL,
    jurisdiction text NOT NULL,
    school text NULL,
    hired_on date NULL,
    registered_position bigint NOT NULL,
    registered_event_id uuid NOT NULL,
    registered_at timestamptz NULL
);
CREATE INDEX IF NOT EXISTS rm_learners_scope ON rm_learners (jurisdiction, school);

-- The details a correction replaced (name NULL once erased), at the correction's position.
CREATE TABLE IF NOT EXISTS rm_learner_corrections (
    learner_id text NOT NULL,
    position bigint NOT NULL,
    corrected text[] NOT NULL,
    name_before text NULL,
    school_before text NULL,
    hired_on_before date NULL,
    PRIMARY KEY (learner_id, position)
);

-- A spell of a role; ordinal tells apart the spells one registration event lists.
CREATE TABLE IF NOT EXISTS rm_learner_roles (
    learner_id text NOT NULL,
    started_position bigint NOT NULL,
    ordinal integer NOT NULL,
    role text NOT NULL,
    since date NOT NULL,
    until date NULL,
    ended_position bigint NULL,
    PRIMARY KEY (learner_id, started_position, ordinal)
);

CREATE TABLE IF NOT EXISTS rm_providers (
    provider_id text PRIMARY KEY,
    provider_uuid uuid NOT NULL UNIQUE,
    name text NOT NULL,
    jurisdiction text NOT NULL,
    categories text[] NOT NULL,
    levels text[] NOT NULL,
    valid_from date NOT NULL,
    valid_to date NULL,
    suspended boolean NOT NULL DEFAULT false,
    suspension_reason text NULL,
    accredited_position bigint NOT NULL,
    updated_position bigint NOT NULL
);

CREATE TABLE IF NOT EXISTS rm_completions (
    completion_id uuid PRIMARY KEY,
    provider_id text NOT NULL,
    record_id text NOT NULL,
    learner_id text NOT NULL,
    programme_code text NOT NULL,
    programme_title text NOT NULL,
    category text NOT NULL,
    level text NOT NULL,
    hours numeric(12, 2) NOT NULL,
    assessment text NOT NULL,
    completed_on date NOT NULL,
    started_on date NULL,
    topics text[] NOT NULL,
    event_id uuid NOT NULL,
    recorded_position bigint NOT NULL,
    recorded_at timestamptz NULL,
    revoked_position bigint NULL,
    revoked_event_id uuid NULL,
    revoked_at timestamptz NULL,
    revocation_reason text NULL,
    revoked_by text NULL
);
CREATE INDEX IF NOT EXISTS rm_completions_learner ON rm_completions (learner_id, completed_on);
-- A provider's own postings, newest first (projections.provider_completions).
CREATE INDEX IF NOT EXISTS rm_completions_provider ON rm_completions (provider_id, recorded_position);
"""
