"""Fast path of one learner's verdict read: the policies in memory, the learner in one query.

The plain version is ``projections.policies`` (``learner_facts``, ``policies_in_force``,
``policies_known``) with the scope check of ``api.service.http.authorize_learner``: five
round trips per verdict. Here a verdict costs one (``verdict_inputs``); the tests check that
both give the same facts and the same policies (``tests/e2e/test_fast_eligibility.py``).

Invariants:
- ``rm_policies`` rows are only ever inserted, in log order, one per published version, and
  never change (``projections.policies``): the versions known at position P are exactly the
  rows whose ``published_position`` is at most P, whichever later snapshot they are read in;
- the cache holds every row of one snapshot of ``rm_policies`` (``count`` rows, the highest
  ``published_position`` being ``high``), in the plain queries' order (policy_id, version, as
  the database sorts them). It is used for a read only when that read's own snapshot holds
  the same rows up to its highest position: the query of ``verdict_inputs`` returns the
  table's (count, highest position) in the snapshot the facts come from, and the cache is
  trusted only when the snapshot's highest position is at most ``high`` and as many cached
  rows lie at or below it as the snapshot counts; else it is loaded again, on the same
  connection, before it answers. So a verdict at any position (``at_position``, ``as_of``,
  ``min_position``, on a standby or the primary) sees exactly the versions the plain query
  would, whatever the cache was loaded from;
- the learner's scope row (current jurisdiction and school, as ``authorize_learner`` reads
  it), the facts as of the position (``projections.policies.FACTS_SQL``), certificates and
  service record come from that same single statement, so from one snapshot.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Final

from ledger.eligibility import Facts
from ledger.policy import PolicyVersion
from ledger.service_record import fact_of, with_record
from ledger.vocabulary import parent_chain
from projections import core
from projections.certificates import certificate_facts
from projections.policies import FACTS_SQL, division_range, facts_of_row, parsed_version

#: Policies are few (dozens); the memo of filtered lists is bounded all the same.
MEMO_SIZE: Final = 4096

_LOAD_SQL: Final = (
    "SELECT data, jurisdiction, effective_from, published_position FROM rm_policies ORDER BY policy_id, version"
)

#: One statement: the scope row, the policies' watermark, the facts, certificates and service
#: record. ``$1`` the learner (as a one-element array, as the plain facts query takes it),
#: ``$2`` the position, ``$3`` the assessments that earn hours.
_INPUTS_SQL: Final = f"""
SELECT s.jurisdiction AS scope_jurisdiction, s.school AS scope_school,
  (SELECT count(*) FROM rm_policies) AS policies_count,
  (SELECT coalesce(max(published_position), 0) FROM rm_policies) AS policies_high,
  (SELECT coalesce(json_agg(json_build_object(
      'learner_id', c.learner_id, 'certificate_id', c.certificate_id, 'kind', c.kind,
      'valid_from', c.valid_from, 'valid_until', c.valid_until, 'event_id', c.event_id,
      'issued_position', c.issued_position, 'status', st.status, 'since', st.since)
      ORDER BY c.certificate_id, st.position), '[]')
   FROM rm_certificates c
   JOIN rm_certificate_status st ON st.certificate_id = c.certificate_id AND st.position <= $2
   WHERE c.learner_id = ANY($1) AND c.issued_position <= $2) AS certificates,
  (SELECT coalesce(json_agg(json_build_object(
      'event', r.event, 'data', r.data, 'event_id', r.event_id, 'position', r.position)
      ORDER BY r.position), '[]')
   FROM rm_service_record r WHERE r.learner_id = ANY($1) AND r.position <= $2) AS service_record,
  f.*
FROM (SELECT jurisdiction, school FROM rm_learners WHERE learner_id = ANY($1)) s
LEFT JOIN LATERAL ({FACTS_SQL}) f ON true
"""


@dataclass(frozen=True)
class _Row:
    version: PolicyVersion
    jurisdiction: str
    effective_from: date
    position: int


@dataclass
class PolicyCache:
    """Every published policy version of one snapshot of ``rm_policies`` (module invariants)."""

    rows: tuple[_Row, ...] = ()
    #: Rows' positions, ascending: how many rows lie at or below a position.
    positions: tuple[int, ...] = ()
    high: int = -1
    loads: int = 0
    _memo: dict[tuple[Any, ...], list[PolicyVersion]] = field(default_factory=dict)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def fits(self, count: int, high: int) -> bool:
        """Whether a snapshot holding ``count`` rows, the highest at ``high``, holds exactly
        the cached rows up to ``high``."""
        return high <= self.high and self._known(high) == count

    def _known(self, position: int) -> int:
        # Few rows: a scan is as quick as a bisect and needs no import.
        return sum(1 for p in self.positions if p <= position)

    async def ensure(self, conn: Any, count: int, high: int) -> None:
        """Load the table again unless the cache fits the snapshot (count, high)."""
        if self.fits(count, high):
            return
        async with self._lock:
            if self.fits(count, high):
                return
            rows = await conn.fetch(_LOAD_SQL)
            loaded = tuple(
                _Row(parsed_version(r["data"]), r["jurisdiction"], r["effective_from"], int(r["published_position"]))
                for r in rows
            )
            self.rows = loaded
            self.positions = tuple(sorted(r.position for r in loaded))
            self.high = max(self.positions, default=0)
            self._memo = {}
            self.loads += 1
        # A load from a snapshot older than the asked one cannot fit it: say so, never guess.
        if not self.fits(count, high):
            raise RuntimeError("rm_policies changed under the policy cache; retry")

    def _remember(self, key: tuple[Any, ...], versions: list[PolicyVersion]) -> list[PolicyVersion]:
        if len(self._memo) >= MEMO_SIZE:
            self._memo.clear()
        self._memo[key] = versions
        return versions

    def in_force(self, jurisdictions: Sequence[str], on: date, position: int) -> list[PolicyVersion]:
        """As ``projections.policies.policies_in_force`` (the cache must fit the read's snapshot)."""
        wanted = frozenset(jurisdictions)
        key = ("in_force", wanted, on, self._known(position))
        found = self._memo.get(key)
        if found is not None:
            return found
        return self._remember(
            key,
            [
                r.version
                for r in self.rows
                if r.jurisdiction in wanted and r.effective_from <= on and r.position <= position
            ],
        )

    def known(self, jurisdiction: str, position: int, *, below: bool = False) -> list[PolicyVersion]:
        """As ``projections.policies.policies_known`` (the cache must fit the read's snapshot)."""
        key = ("known", jurisdiction, below, self._known(position))
        found = self._memo.get(key)
        if found is not None:
            return found
        chain = frozenset(parent_chain(jurisdiction))
        low, high = division_range(jurisdiction)
        # Python compares str by code point as the database's C-like division codes sort
        # (digits only): the same range test as the plain query.
        return self._remember(
            key,
            [
                r.version
                for r in self.rows
                if (r.jurisdiction in chain or (below and low <= r.jurisdiction < high)) and r.position <= position
            ],
        )


@dataclass(frozen=True)
class VerdictInputs:
    #: (jurisdiction, school) the learner holds now, for the scope check; None: no such learner.
    scope: tuple[str, str | None] | None
    #: The facts as of the position; None: not registered by then.
    facts: Facts | None


async def verdict_inputs(conn: Any, cache: PolicyCache, learner_id: str, position: int) -> VerdictInputs:
    """The learner's scope row and facts as of ``position`` in one round trip, with ``cache``
    made to fit that snapshot (a second round trip only when a policy was published since)."""
    r = await conn.fetchrow(_INPUTS_SQL, [learner_id], position, core.EARNING_ASSESSMENTS)
    if r is None:
        return VerdictInputs(None, None)
    await cache.ensure(conn, int(r["policies_count"]), int(r["policies_high"]))
    scope = (r["scope_jurisdiction"], r["scope_school"])
    if r["learner_id"] is None:
        return VerdictInputs(scope, None)
    certificates = certificate_facts(
        [
            {
                **x,
                "valid_from": date.fromisoformat(x["valid_from"]),
                "valid_until": date.fromisoformat(x["valid_until"]) if x["valid_until"] else None,
                "since": date.fromisoformat(x["since"]),
            }
            for x in json.loads(r["certificates"])
        ]
    )
    facts = replace(facts_of_row(r), certificates=tuple(certificates.get(learner_id, ())))
    record = []
    for x in json.loads(r["service_record"]):
        fact = fact_of(x["event"], x["data"], str(x["event_id"]), int(x["position"]))
        assert fact is not None  # every row is of a service-record event
        record.append(fact)
    return VerdictInputs(scope, with_record(facts, record))
