"""The vocabularies read model: every published version of every jurisdiction's vocabulary
document, for ``GET /v1/vocabulary``.

Invariants:
- one row per ``VocabularyDocument.Published`` event, never updated nor deleted, so a read
  "as of" a position sees exactly the versions published by then;
- the listing is computed by the ledger's own ``ledger.vocabulary_document.listing``, the
  rule the write side checks codes with, over these rows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any, Final

from ledger.vocabulary import NATIONAL, parent_chain
from ledger.vocabulary_document import VocabularyDocument, VocabularyVersion, listing, parse_vocabulary
from projections.eventlog import bound, topic
from projections.events import Decoded, json_ready

PUBLISHED: Final = topic(VocabularyDocument, "Published")
TOPICS: Final = frozenset({PUBLISHED})
TABLES: Final = ("rm_vocabulary_versions",)

DDL: Final = """
CREATE TABLE IF NOT EXISTS rm_vocabulary_versions (
    jurisdiction text NOT NULL,
    version integer NOT NULL,
    effective_from date NOT NULL,
    document jsonb NOT NULL,
    position bigint NOT NULL,
    PRIMARY KEY (jurisdiction, version)
);
"""


async def apply(conn: Any, events: Sequence[Decoded]) -> None:
    for e in events:
        if e.topic != PUBLISHED or not e.known:
            continue
        f = e.fields
        await conn.execute(
            "INSERT INTO rm_vocabulary_versions (jurisdiction, version, effective_from, document, position)"
            " VALUES ($1, $2, $3, $4::jsonb, $5) ON CONFLICT DO NOTHING",
            f["jurisdiction"],
            f["version"],
            f["effective_from"],
            json.dumps(json_ready({k: f[k] for k in ("categories", "roles", "certificates")})),
            e.position,
        )


async def vocabulary_in_force(
    conn: Any, jurisdiction: str, on: date, at_position: int | None
) -> dict[str, dict[str, dict[str, str]]]:
    """Every code in force at ``jurisdiction`` on ``on``, as known at ``at_position``."""
    chain = [j for j in parent_chain(jurisdiction) if j != NATIONAL]
    rows = await conn.fetch(
        "SELECT jurisdiction, version, effective_from, document FROM rm_vocabulary_versions"
        " WHERE jurisdiction = ANY($1::text[]) AND position <= $2 ORDER BY jurisdiction, version",
        chain,
        bound(at_position),
    )
    versions: dict[str, list[VocabularyVersion]] = {}
    for r in rows:
        doc = json.loads(r["document"])
        data = {
            "jurisdiction": r["jurisdiction"],
            "version": r["version"],
            "effective_from": r["effective_from"],
            **doc,
        }
        versions.setdefault(r["jurisdiction"], []).append(parse_vocabulary(data))
    return listing(versions, jurisdiction, on)
