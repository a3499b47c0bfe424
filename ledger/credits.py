"""Credits (学分) beside hours, where a jurisdiction's policy sets an hours-per-credit ratio.

Invariants:
- the ratio is the ``credit_ratio`` rule of a policy in force on the day, of the nearest
  jurisdiction of the chain that sets one; none set: no credits are shown (hours only);
- credits are exact decimals, hours ÷ ratio rounded down to the cent (``ledger.degree``),
  never floats, and every amount shown in credits is shown in hours too;
- the ratio says whether it is the project's assumption (``assumed``), as a verdict does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from ledger.degree import credits_for
from ledger.eligibility import policies_applied
from ledger.hours import format_hours
from ledger.policy import PolicyVersion
from ledger.rules import CreditRatio
from ledger.vocabulary import parent_chain


@dataclass(frozen=True)
class Ratio:
    hours_per_credit: Decimal
    policy_id: str
    rule: str
    assumed: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "hours_per_credit": format_hours(self.hours_per_credit),
            "policy_id": self.policy_id,
            "rule": self.rule,
            "assumed": self.assumed is not None,
            "assumption": self.assumed,
        }


def ratio_of(policies: Sequence[PolicyVersion], jurisdiction: str, on: date) -> Ratio | None:
    """The hours-per-credit ratio in force in ``jurisdiction`` on ``on``, if a policy sets one."""
    chain = parent_chain(jurisdiction)
    found = [
        (chain.index(v.jurisdiction), v.policy_id, Ratio(r.hours_per_credit, v.policy_id, r.id, r.assumed))
        for v in policies_applied(policies, jurisdiction, on)
        for r in v.rules
        if isinstance(r, CreditRatio)
    ]
    return min(found, key=lambda f: (f[0], f[1]))[2] if found else None


def with_credits(data: Any, ratio: Ratio) -> Any:
    """``data`` with ``credits`` beside every ``hours`` amount (a string of an exact decimal)."""
    if isinstance(data, list):
        return [with_credits(item, ratio) for item in data]
    if not isinstance(data, dict):
        return data
    out = {key: with_credits(value, ratio) for key, value in data.items()}
    hours = data.get("hours")
    if isinstance(hours, str):
        out["credits"] = format_hours(credits_for(Decimal(hours), ratio.hours_per_credit))
    return out
