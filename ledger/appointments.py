"""The appointment check (持证上岗, seed 000 §5, seed 001 二(一)1): starting the role
``principal`` or ``head_teacher`` is judged on its start date.

Invariants:
- an appointment to a role of ``TARGETS`` is judged against its target by the policies of
  the learner's jurisdiction in force on ``since``, on the learner's standing as the event
  store records it (the command loads both; nothing here reads);
- a verdict that is not eligible refuses the appointment (``AppointmentNotEligible``, with
  the verdict) unless an admin overrides it with a reason; HR may not override
  (``AppointmentOverrideNotPermitted``), whatever the verdict;
- where no policy in force defines the target the appointment is not judged, and the
  summary says so (``eligible`` None);
- the summary recorded with the role (``summary``) names the target, the day, the policies
  and the unmet rules, and whether it was overridden; it holds nothing personal (the
  override's reason is sealed by the caller);
- roles given at registration are not judged (an import of staff in post), nor other roles;
- a dry run (``CreditBank.judge_appointment``) asks ``verdict_for``, as the check does, so
  the verdict a check page shows is the one the appointment would be judged by.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, Final

from ledger.eligibility import Facts, as_appointed, evaluate
from ledger.errors import AppointmentNotEligible, AppointmentOverrideNotPermitted
from ledger.policy import PolicyVersion

#: The roles whose appointment is judged, and the target each is judged against.
TARGETS: Final = {"principal": "principal_appointment", "head_teacher": "head_teacher_post"}


def judged(role: str) -> bool:
    return role in TARGETS


def verdict_for(role: str, since: date, facts: Facts, policies: Sequence[PolicyVersion]) -> dict[str, Any]:
    """The verdict an appointment to ``role`` (one of ``TARGETS``) from ``since`` is judged by."""
    # Judged as the holder of the post from ``since``: rules for that role are for the candidate.
    return evaluate(TARGETS[role], as_appointed(facts, role, since), policies, since)


def summary(verdict: Mapping[str, Any], *, overridden: bool) -> dict[str, Any]:
    return {
        "target": verdict["target"],
        "on": verdict["on"],
        "eligible": verdict["eligible"],
        "policies": [f"{p['policy_id']}@{p['version']}" for p in verdict["policies"]],
        "missing": [{"policy_id": m["policy_id"], "rule": m["rule"]} for m in verdict["missing"]],
        "overridden": overridden,
        "note": verdict["note"],
    }


def check_override(*, override: bool, may_override: bool) -> None:
    if override and not may_override:
        raise AppointmentOverrideNotPermitted(
            "only an admin may appoint past the appointment check; ask an admin", field="override"
        )


def check_appointment(
    role: str,
    since: date,
    facts: Facts,
    policies: Sequence[PolicyVersion],
    *,
    override: bool,
    may_override: bool,
) -> dict[str, Any]:
    """The summary to record with the appointment; refuses it (see the module invariants)."""
    check_override(override=override, may_override=may_override)
    verdict = verdict_for(role, since, facts, policies)
    if verdict["eligible"] is False and not override:
        unmet = ", ".join(f"{m['policy_id']}#{m['rule']}" for m in verdict["missing"])
        raise AppointmentNotEligible(
            f"{facts.learner_id} does not meet {verdict['target']} on {since}: {unmet}",
            field="role",
            verdict=verdict,
        )
    return summary(verdict, overridden=override and verdict["eligible"] is False)
