"""Erasure of a learner's personal data (PIPL art. 47), over HTTP.

Invariants:
- only an admin erases; the ledger records ``Learner.Erased`` and destroys the learner's key
  (``CreditBank.erase_learner``), after which the teacher number leads to nothing;
- the learner's own tokens are revoked in the same step and their scope and label (an admin
  may have written a name into it) scrubbed, and every other server process is told
  (NOTIFY, by pseudonym) to forget the learner it may have cached;
- asking again answers 404: nothing links the number to anyone any more;
- the vault and token tables are rewritten afterwards (``VACUUM FULL``), so neither the
  destroyed key nor the old scope is left in a dead row version or a page's free space.
"""

from __future__ import annotations

from aiohttp import web

from api import auth
from api.service.context import services
from api.service.http import load_body, run_in_writer, written
from api.service.schemas import revocation_schema as erasure_schema
from ledger.application import CreditBank
from ledger.committer import Committer
from ledger.vault import VAULT_TABLE
from projections.personal import transaction_id, vacuum

ERASURE_CHANNEL = "creditbank_erasures"


async def post_erasure(request: web.Request) -> web.Response:
    learner_id = request.match_info["learner_id"]
    data = await load_body(request, erasure_schema)
    subject, result = await run_in_writer(
        request, lambda bank: (bank.subject_of(learner_id), bank.erase_learner(learner_id, data["reason"]))
    )
    svc = services(request)
    async with svc.pool.acquire() as conn, conn.transaction():
        revoked = await conn.fetch(
            "UPDATE auth_tokens SET revoked_at = coalesce(revoked_at, now()), learner_id = 'erased', label = NULL"
            " WHERE role = 'learner' AND learner_id = $1 RETURNING token_id",
            learner_id,
        )
        for (token_id,) in revoked:
            await conn.execute("SELECT pg_notify($1, $2)", auth.REVOCATION_CHANNEL, token_id)
        # Other processes drop the learner from their caches. By pseudonym: a notice waits in
        # PostgreSQL's queue (on disk) until every listener has read it.
        await conn.execute("SELECT pg_notify($1, $2)", ERASURE_CHANNEL, subject)
        # Later than the vault's deletion, which committed before this began.
        scrub = await transaction_id(conn)
    async with svc.pool.acquire() as conn:
        # The deleted vault row (the key that opens every sealed value of the learner) and the
        # tokens' old scope and label would stay in dead row versions until vacuumed, and
        # their bytes in the pages' free space after a plain VACUUM: both tables are small,
        # so they are rewritten whole (a lock of a moment). The read models are vacuumed by
        # the projection that scrubs them.
        await vacuum(conn, [VAULT_TABLE, "auth_tokens"], scrub, full=True)
    return written(result.status, result.position, tokens_revoked=len(revoked))


def forget_erased(committer: Committer, subject: str) -> None:
    """Listener callback: drop what this process's writer remembers of the erased learner
    (on the writer thread, which owns that memory). A server of an earlier version names the
    teacher number instead; that is forgotten too."""

    def forget(bank: CreditBank) -> None:
        bank.forget_subject(subject)
        bank.forget_learner(subject)

    committer.submit(forget)


def forget_all_erased(committer: Committer) -> None:
    """Erasures may have been missed (the notification connection was lost): drop every
    teacher number the writer remembers, so each is looked up in the vault again."""
    committer.submit(lambda bank: bank.forget_all_learners())
