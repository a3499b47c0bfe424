"""The certificate cascade: a process that follows the event log and re-checks
certificates when a completion they rest on is revoked.

Invariants:
- it keeps its own tracking position (``cb_cascade_tracking``) and its own index from
  completion events to the certificates resting on them (``cb_cascade_basis``), both
  written in the transaction that moves the position, and never reset by a read-model
  rebuild (its effects are commands, which must not run twice);
- one process at a time works a batch: the tracking row is locked for the batch;
- a revocation is handled only once the read models have applied it (it waits for the
  projection runner), so the re-check sees the completion as revoked;
- a certificate whose basis holds a completion revoked at an earlier position (another
  process revoked it while the issue was being decided) is re-checked when its issue is
  worked, as if that revocation came after it;
- the re-check evaluates the certificate's rule on its issue date, with the policy
  versions known when it was issued, over the completions of its basis that still count;
  if that no longer meets the rule, the certificate is suspended with a reason naming the
  revocation and a ``cause`` carrying its event id and position;
- the suspension command is idempotent (a suspended certificate records nothing), so a
  crash between the command and the tracking update never suspends twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from dataclasses import replace
from typing import Any, Final
from uuid import UUID

import asyncpg

from ledger.application import CreditBank, Written
from ledger.certificate_commands import judge, suspend_certificate
from ledger.committer import Committer
from ledger.completion import Completion
from ledger.ids import event_uuid
from ledger.vocabulary import parent_chain
from projections import eventlog
from projections.certificates import ISSUED
from projections.fast_events import FastEventDecoder
from projections.policies import learner_facts, policies_in_force
from projections.runner import ProjectionRunner

log = logging.getLogger(__name__)

NAME: Final = "certificate-cascade"
COMPLETION_REVOKED: Final = eventlog.topic(Completion, "Revoked")
_WAIT_SECONDS: Final = 5.0
DDL: Final = """
CREATE TABLE IF NOT EXISTS cb_cascade_tracking (name text PRIMARY KEY, position bigint NOT NULL);
CREATE TABLE IF NOT EXISTS cb_cascade_basis (
    completion_event_id uuid NOT NULL,
    certificate_id uuid NOT NULL,
    PRIMARY KEY (completion_event_id, certificate_id)
);
"""


def _suspend(bank: CreditBank, *, certificate_id: UUID, reason: str, cause: dict[str, Any]) -> Written:
    return suspend_certificate(bank, certificate_id, reason, cause=cause)


class _Behind(Exception):
    """The read models have not reached the revocation yet; try the batch again later."""


class CertificateCascade:
    def __init__(
        self,
        pool: asyncpg.Pool,
        committer: Committer,
        runner: ProjectionRunner,
        *,
        batch_size: int = 500,
        poll_interval: float = 0.5,
    ) -> None:
        self._pool = pool
        self._committer = committer
        self._runner = runner
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._decoder = FastEventDecoder()
        self._stopping = asyncio.Event()
        self.suspended: list[UUID] = []

    async def ensure_schema(self) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", 0x63620004)
            await conn.execute(DDL)
            await conn.execute("INSERT INTO cb_cascade_tracking VALUES ($1, 0) ON CONFLICT DO NOTHING", NAME)

    async def step(self) -> int:
        """Work one batch; answer how many relevant events it held."""
        async with self._pool.acquire() as conn, conn.transaction():
            position = int(
                await conn.fetchval("SELECT position FROM cb_cascade_tracking WHERE name = $1 FOR UPDATE", NAME)
            )
            try:
                head = await eventlog.head(conn)
            except asyncpg.UndefinedTableError:
                return 0
            rows = await conn.fetch(
                eventlog.SELECT_ROWS + " WHERE notification_id > $1 AND notification_id <= $2 AND topic = ANY($3)"
                " ORDER BY notification_id LIMIT $4",
                position,
                head,
                [ISSUED, COMPLETION_REVOKED],
                self._batch_size,
            )
            reached = head if len(rows) < self._batch_size else int(rows[-1][0])
            for r in rows:
                e = self._decoder.decode(r[0], r[1], r[2], r[3], bytes(r[4]))
                if e.topic == ISSUED:
                    basis = [UUID(c) for c in e.fields["basis"]["completions"]]
                    await conn.executemany(
                        "INSERT INTO cb_cascade_basis VALUES ($1, $2) ON CONFLICT DO NOTHING",
                        [(c, e.originator_id) for c in basis],
                    )
                    await self._revoked_before(conn, e.position, e.originator_id, basis)
                else:
                    await self._revoked(conn, e.position, e.originator_id, e.event_id, e.fields)
            if reached > position:
                await conn.execute("UPDATE cb_cascade_tracking SET position = $2 WHERE name = $1", NAME, reached)
            return len(rows)

    async def _revoked_before(self, conn: Any, position: int, certificate_id: UUID, basis: list[UUID]) -> None:
        """A certificate issued on a completion revoked at an earlier position (the revocation
        committed between the issuing command's read and its save, by another process): the
        revocation was worked before this certificate rested on it, so re-check it now."""
        if not basis:
            return
        # The revocations lie before the issue: once the read models hold the issue, they hold them.
        if await self._runner.wait_for(position, _WAIT_SECONDS) < position:
            raise _Behind
        for r in await conn.fetch(
            "SELECT completion_id, revoked_position, revoked_event_id, revocation_reason FROM rm_completions"
            " WHERE event_id = ANY($1) AND revoked_position < $2 ORDER BY revoked_position",
            basis,
            position,
        ):
            await self._revoked(
                conn,
                int(r["revoked_position"]),
                r["completion_id"],
                r["revoked_event_id"],
                {"reason": r["revocation_reason"]},
                only=[certificate_id],
            )

    async def _revoked(
        self,
        conn: Any,
        position: int,
        completion_id: UUID,
        event_id: UUID,
        fields: dict[str, Any],
        only: list[UUID] | None = None,
    ) -> None:
        recorded = event_uuid(completion_id, 1)
        certificate_ids = (
            only
            if only is not None
            else [
                r[0]
                for r in await conn.fetch(
                    "SELECT certificate_id FROM cb_cascade_basis WHERE completion_event_id = $1", recorded
                )
            ]
        )
        if not certificate_ids:
            return
        if await self._runner.wait_for(position, _WAIT_SECONDS) < position:
            raise _Behind
        for certificate_id in certificate_ids:
            cert = await conn.fetchrow("SELECT * FROM rm_certificates WHERE certificate_id = $1", certificate_id)
            facts = None if cert is None else await learner_facts(conn, cert["learner_id"])
            if cert is None or facts is None:
                continue
            basis = json.loads(cert["basis"])
            kept = tuple(c for c in facts.completions if c.event_id in set(basis["completions"]))
            # Judged as issued: the policies known then, of the jurisdiction holding the account then.
            issued = await learner_facts(conn, cert["learner_id"], int(cert["issued_position"]))
            jurisdiction = issued.jurisdiction if issued is not None else facts.jurisdiction
            policies = await policies_in_force(
                conn, parent_chain(jurisdiction), cert["issued_on"], at_position=int(cert["issued_position"])
            )
            verdict = judge(
                cert["kind"], replace(facts, jurisdiction=jurisdiction, completions=kept), policies, cert["issued_on"]
            )
            if verdict["eligible"]:
                continue
            unmet = ", ".join(f"{m['policy_id']}#{m['rule']}" for m in verdict["missing"])
            # The reason is shown to anyone verifying: it names events, not the learner's records.
            reason = (
                f"a completion this certificate rests on was revoked (event {event_id} at position "
                f"{position}); without it the basis no longer meets {unmet}"
            )
            cause = {
                "type": "CompletionRevoked",
                "event_id": str(event_id),
                "position": position,
                "completion_id": str(completion_id),
                "completion_event_id": str(recorded),
                "revocation_reason": fields.get("reason"),
            }
            written = await asyncio.wrap_future(
                self._committer.submit(
                    functools.partial(_suspend, certificate_id=certificate_id, reason=reason, cause=cause)
                )
            )
            if written.status == "recorded":
                self.suspended.append(certificate_id)
                log.info("certificate %s suspended: %s", certificate_id, reason)

    async def run(self) -> None:
        """Follow the log until ``stop``; survive errors with a pause."""
        await self.ensure_schema()
        while not self._stopping.is_set():
            try:
                busy = await self.step()
            except _Behind:
                busy = 0
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("certificate cascade failed; retrying")
                busy = 0
            if busy < self._batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self._poll_interval)

    def stop(self) -> None:
        self._stopping.set()
