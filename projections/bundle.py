"""Audit bundles: export a scope of the log for offline checking.

A bundle is a directory:

- ``events.jsonl``: one event a line, in position order: ``position``, ``originator_id``,
  ``originator_version``, ``topic``, ``state`` (base64 of the exact stored bytes),
  ``previous_position`` and ``previous_hash`` (the chain hash of the event just before it
  in the whole log, included or not) and ``chain_hash``;
- ``checkpoints.json``: the signed checkpoints within and just after the exported range;
- ``keys.json``: the bank's public keys (JWKS);
- ``learners.json``: pseudonym -> teacher number and name of the learners the events
  register, for those whose personal data is not erased (the events name learners only by
  pseudonym, with their personal data sealed: an erased learner is not in this file and
  cannot be recovered from the bundle);
- ``manifest.json``: scope, positions, counts and the sha256 of each file above, with
  ``manifest.sig.json``: the bank's Ed25519 signature over the manifest's exact bytes.

Invariants:
- every export includes every policy event, so verdicts can be recomputed offline;
- the bytes of each event are the stored bytes, so ``sha256(previous_hash ||
  canonical_bytes(...)) == chain_hash`` holds exactly when nothing was changed;
- exporting only reads the database (and the key directory).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from ledger.keys import KeyRing, b64url
from ledger.learner import Learner
from ledger.policy import Policy
from projections import eventlog
from projections.audit import load_checkpoints
from projections.chain import GENESIS
from projections.eventlog import EVENTS_TABLE, topic
from projections.policies import division_range

FORMAT: Final = "creditbank-audit-bundle/v1"
FILES: Final = ("events.jsonl", "checkpoints.json", "keys.json", "learners.json")
LEARNER_REGISTERED: Final = topic(Learner, "Registered")
_CHUNK: Final = 10_000

_EVENTS_SQL: Final = f"""
SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, e.state, i.chain_hash,
       p.position, p.chain_hash
FROM {EVENTS_TABLE} e
LEFT JOIN rm_event_index i ON i.position = e.notification_id
LEFT JOIN LATERAL (SELECT j.position, j.chain_hash FROM rm_event_index j WHERE j.position < e.notification_id
                   ORDER BY j.position DESC LIMIT 1) p ON true
WHERE e.notification_id = ANY($1::bigint[])
ORDER BY e.notification_id
"""

_POLICIES: Final = (
    f"SELECT notification_id FROM {EVENTS_TABLE}"
    f" WHERE topic IN ('{topic(Policy, 'Created')}', '{topic(Policy, 'Published')}')"
)


async def _positions(conn: Any, scope: str, value: str | None) -> list[int]:
    """Every position the scope covers, policy events included."""
    if scope == "all":
        sql = f"SELECT notification_id FROM {EVENTS_TABLE}"
        rows = await conn.fetch(sql + " ORDER BY notification_id")
        return [r[0] for r in rows]
    if scope == "learner":
        learners = [value]
        providers_sql = "SELECT DISTINCT provider_id FROM rm_completions WHERE learner_id = ANY($1)"
    elif scope == "jurisdiction":
        assert value is not None
        low, high = division_range(value)
        learners = [
            r[0]
            for r in await conn.fetch(
                "SELECT learner_id FROM rm_learners WHERE jurisdiction >= $1 AND jurisdiction < $2", low, high
            )
        ]
        providers_sql = "SELECT DISTINCT provider_id FROM rm_completions WHERE learner_id = ANY($1)"
    else:  # institution: its own events, and the registrations and roles of its learners
        learners = [
            r[0]
            for r in await conn.fetch("SELECT DISTINCT learner_id FROM rm_completions WHERE provider_id = $1", value)
        ]
        rows = await conn.fetch(
            "SELECT position FROM rm_event_index WHERE provider_id = $1"
            " UNION SELECT position FROM rm_event_index WHERE learner_id = ANY($2) AND provider_id IS NULL"
            f" UNION {_POLICIES}",
            value,
            learners,
        )
        return sorted(r[0] for r in rows)
    providers = [r[0] for r in await conn.fetch(providers_sql, learners)]
    rows = await conn.fetch(
        "SELECT position FROM rm_event_index WHERE learner_id = ANY($1)"
        " UNION SELECT position FROM rm_event_index WHERE provider_id = ANY($2) AND learner_id IS NULL"
        f" UNION {_POLICIES}",
        learners,
        providers,
    )
    return sorted(r[0] for r in rows)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write(path: Path, data: bytes, append: bool = False) -> None:
    with path.open("ab" if append else "wb") as handle:
        handle.write(data)


def _line(r: Any) -> str:
    return (
        json.dumps(
            {
                "position": r[0],
                "originator_id": str(r[1]),
                "originator_version": r[2],
                "topic": r[3],
                "state": base64.b64encode(r[4]).decode(),
                "previous_position": r[6] or 0,
                "previous_hash": (bytes(r[7]) if r[7] is not None else GENESIS).hex(),
                "chain_hash": bytes(r[5]).hex() if r[5] is not None else None,
            },
            ensure_ascii=False,
        )
        + "\n"
    )


async def export(
    conn: Any,
    out: Path,
    scope: str,
    value: str | None,
    keys: KeyRing,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """Write the bundle of ``scope`` (``all``, ``learner``, ``institution``, ``jurisdiction``)
    to ``out``; answer its manifest."""
    await asyncio.to_thread(out.mkdir, parents=True, exist_ok=True)
    positions = await _positions(conn, scope, value)
    head = await eventlog.head(conn)
    counts: dict[str, int] = {}
    written = 0
    registered: list[Any] = []
    await asyncio.to_thread(_write, out / "events.jsonl", b"")
    for index in range(0, len(positions), _CHUNK):
        rows = await conn.fetch(_EVENTS_SQL, positions[index : index + _CHUNK])
        for r in rows:
            counts[r[3]] = counts.get(r[3], 0) + 1
            if r[3] == LEARNER_REGISTERED:
                registered.append(r[1])
        await asyncio.to_thread(_write, out / "events.jsonl", "".join(map(_line, rows)).encode(), True)
        written += len(rows)
        if progress is not None:
            progress("export events", written, len(positions))
    first, last = (positions[0], positions[-1]) if positions else (0, 0)
    checkpoints = await load_checkpoints(conn, first)
    covering = [c for c in checkpoints if c.position <= last]
    covering += [c for c in checkpoints if c.position > last][:1]
    await asyncio.to_thread(
        _write, out / "checkpoints.json", json.dumps([c.as_json() for c in covering], indent=1).encode()
    )
    people = {
        r[0]: {"learner_id": r[1], "name": r[2]}
        for r in await conn.fetch(
            "SELECT subject, learner_id, name FROM rm_learners WHERE learner_uuid = ANY($1::uuid[])"
            " AND subject IS NOT NULL AND learner_id NOT LIKE 'erased:%'",
            registered,
        )
    }
    await asyncio.to_thread(
        _write, out / "learners.json", json.dumps(dict(sorted(people.items())), indent=1, ensure_ascii=False).encode()
    )
    jwks = await asyncio.to_thread(keys.jwks)
    await asyncio.to_thread(_write, out / "keys.json", json.dumps(jwks, indent=1).encode())
    manifest = {
        "format": FORMAT,
        "scope": {"kind": scope, "value": value},
        "created_at": datetime.now(UTC).isoformat(),
        "positions": {"first": first, "last": last, "log_head": head},
        "complete": scope == "all",
        "counts": {"events": written, "by_topic": dict(sorted(counts.items())), "checkpoints": len(covering)},
        "files": {name: await asyncio.to_thread(_sha256_file, out / name) for name in FILES},
    }
    body = json.dumps(manifest, indent=1, ensure_ascii=False).encode()
    key = await asyncio.to_thread(keys.current)
    signature = json.dumps({"kid": key.kid, "alg": "EdDSA", "signature": b64url(key.sign(body))})
    await asyncio.to_thread(_write, out / "manifest.json", body)
    await asyncio.to_thread(_write, out / "manifest.sig.json", signature.encode())
    return manifest
