"""The read models' tables, created idempotently, and their reset for a rebuild.

Invariants:
- ``ensure_schema`` may run any number of times, from several processes at once: it
  serialises on a transaction-scoped advisory lock and only creates what is missing;
- every read model is derived from the event log alone, so ``reset`` may empty them all
  at any time; it rewinds the tracking row in the same transaction, so a reader never
  sees empty tables claiming a non-zero position;
- ``reset`` locks the tracking row before truncating, the same order an applying batch
  takes its locks in, so a reset racing a batch waits instead of deadlocking.
"""

from __future__ import annotations

from typing import Any, Final

from projections.chain import GENESIS
from projections.credits import DDL as CREDITS_DDL
from projections.credits import TABLES as CREDITS_TABLES
from projections.eventlog import PROJECTION
from projections.incidents import DDL as INCIDENTS_DDL
from projections.policies import DDL as POLICIES_DDL

#: Arbitrary constant keys for advisory locks (any two distinct bigints would do).
SCHEMA_LOCK_KEY: Final = 0x63620001
APPLIER_LOCK_KEY: Final = 0x63620002

READ_MODEL_TABLES: Final = (
    "rm_event_index",
    "rm_learners",
    "rm_learner_roles",
    "rm_providers",
    "rm_completions",
    "rm_policies",
    *CREDITS_TABLES,
)

_DDL: Final = """
CREATE TABLE IF NOT EXISTS rm_tracking (
    projection text PRIMARY KEY,
    position bigint NOT NULL,
    chain_hash bytea NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

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
"""


async def ensure_schema(conn: Any) -> None:
    """Create every read-model table and index that is missing, and the tracking row."""
    async with conn.transaction():
        # Two processes starting together would otherwise race on CREATE ... IF NOT
        # EXISTS, which is not atomic against the catalog.
        await conn.execute("SELECT pg_advisory_xact_lock($1)", SCHEMA_LOCK_KEY)
        await conn.execute(_DDL)
        await conn.execute(POLICIES_DDL)
        await conn.execute(CREDITS_DDL)
        await conn.execute(INCIDENTS_DDL)
        await conn.execute(
            "INSERT INTO rm_tracking (projection, position, chain_hash) VALUES ($1, 0, $2) "
            "ON CONFLICT (projection) DO NOTHING",
            PROJECTION,
            GENESIS,
        )


async def reset(conn: Any) -> None:
    """Empty every read model and rewind the tracking row to position 0."""
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO rm_tracking (projection, position, chain_hash) VALUES ($1, 0, $2) "
            "ON CONFLICT (projection) DO UPDATE "
            "SET position = 0, chain_hash = EXCLUDED.chain_hash, updated_at = now()",
            PROJECTION,
            GENESIS,
        )
        await conn.execute(f"TRUNCATE {', '.join(READ_MODEL_TABLES)}")
