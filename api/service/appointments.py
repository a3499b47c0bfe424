"""The appointment check as a read: would starting a role on a day pass the ledger's
appointment check (持证上岗, ``ledger.appointments``), and on which verdict?

Invariants:
- nothing is recorded: the ledger's dry run (``CreditBank.judge_appointment``) runs on the
  writer thread, loads the learner's standing and the policies from the event store exactly
  as ``POST /v1/learners/{id}/roles`` would, and judges with the same function;
- what would refuse the spell itself (outside an HR caller's scope, the role held already,
  spells overlapping, an erased learner) is answered as the write answers it;
- ``may_appoint`` is false only where the write would refuse the appointment for its verdict
  (an admin may still override it there); a role not judged, or a target no policy in force
  defines, answers true with ``eligible`` null, as the write would start it.
"""

from __future__ import annotations

from aiohttp import web

from api.service.context import services
from api.service.http import answer, load_query, refuse_unwritten, run_in_writer, write_scope
from api.service.record_schemas import appointment_check_query_schema
from ledger.application import AppointmentJudged, CreditBank
from ledger.appointments import TARGETS


async def get_appointment_check(request: web.Request) -> web.Response:
    learner_id = request.match_info["learner_id"]
    query = load_query(request, appointment_check_query_schema)
    role, scope = query["role"], write_scope(request)
    on = query.get("on") or services(request).today()

    def dry_run(bank: CreditBank) -> AppointmentJudged:
        return bank.judge_appointment(learner_id, role, on, scope=scope)

    judged: AppointmentJudged = await run_in_writer(request, dry_run)
    # The check reads the event store itself, so any written position is met; one beyond
    # the log's end is refused as on every other read.
    await refuse_unwritten(services(request).pool, query, judged.position or 0)
    verdict = judged.verdict
    return answer(
        {
            "learner_id": learner_id,
            "role": role,
            "on": on.isoformat(),
            "judged": verdict is not None,
            "target": TARGETS.get(role),
            "may_appoint": verdict is None or verdict["eligible"] is not False,
            "verdict": verdict,
            "position": judged.position,
        }
    )
