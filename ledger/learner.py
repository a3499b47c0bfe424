"""The learner aggregate: a teacher, head teacher, principal or trainer.

Invariants:
- inside the ledger a learner is known by a pseudonym (``learner_id`` here is the vault's
  subject, never the national teacher number); the aggregate id is derived from it, and
  the vault gives one teacher number one subject, so a learner is registered at most once;
- the national teacher number and the name are in the log only sealed under the learner's
  own key (``personal``, see ``ledger.sealing``); jurisdiction, school, hire date and roles
  are not personal in this sense (they decide which rules apply) and stay readable;
- an erased learner stays erased: no role changes or corrections are recorded for them
  afterwards;
- a correction (``Corrected``) states the fields it corrects and their new values; a new
  name enters sealed like the registration's (``personal`` then holds the corrected name);
  a correction that changes nothing is never recorded;
- a role is held by at most one open spell at a time; a spell never ends before it
  started; ending a role the learner does not hold is refused.
Completions are aggregates of their own (keyed by provider and record id), so posting
one never contends with another posting for the same learner.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.errors import (
    CorrectionEmpty,
    LearnerErased,
    RoleAlreadyHeld,
    RoleDatesOutOfOrder,
    RoleNotHeld,
    RoleSpellsOverlap,
    UnknownCode,
)
from ledger.ids import learner_uuid
from ledger.vocabulary import ROLES


@dataclass(frozen=True)
class RoleSpell:
    role: str
    since: date
    until: date | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"role": self.role, "since": self.since, "until": self.until}


class Learner(Aggregate):
    @staticmethod
    def create_id(learner_id: str, **_: Any) -> UUID:
        return learner_uuid(learner_id)

    @event("Registered")
    def __init__(
        self,
        learner_id: str,
        personal: str,
        jurisdiction: str,
        school: str | None,
        hired_on: date | None,
        roles: list[dict[str, Any]],
    ) -> None:
        self.learner_id = learner_id
        self.personal = personal
        self.erased = False
        self.jurisdiction = jurisdiction
        self.school = school
        self.hired_on = hired_on
        self.spells: list[RoleSpell] = [RoleSpell(r["role"], r["since"], r.get("until")) for r in roles]

    def registration(self, name: str) -> tuple[Any, ...]:
        """What a repeated registration must match to count as the same one (``name``
        is this learner's name, opened from ``personal`` by the caller, who holds the key)."""
        return (name, self.jurisdiction, self.school, self.hired_on)

    def check_not_erased(self) -> None:
        if self.erased:
            raise LearnerErased("this learner's personal data was erased", field="learner_id")

    def erase(self, on: date, reason: str) -> bool:
        """Record the erasure of the personal data; ``False`` if erased already. ``reason``
        is sealed under the learner's key by the caller (it may name the person), like
        ``personal``; events recorded before that hold it in the clear, and still decode."""
        if self.erased:
            return False
        # Named like every other event about a learner, so the read side can find its rows.
        self._erased(on=on, reason=reason, learner_id=self.learner_id)
        return True

    @event("Erased")
    def _erased(self, on: date, reason: str, learner_id: str) -> None:
        self.erased = True

    def correct(self, *, personal: str | None, changes: dict[str, Any], reason: str) -> None:
        """Correct the registration: ``changes`` holds the new ``school`` and ``hired_on``
        where they differ; ``personal`` the new name sealed by the caller (who holds the key
        and compared it with the old one), else None. ``reason`` is sealed too."""
        self.check_not_erased()
        unknown = set(changes) - {"school", "hired_on"}
        if unknown:
            raise ValueError(f"not correctable here: {sorted(unknown)}")
        corrected = sorted([*changes, *(["name"] if personal is not None else [])])
        if not corrected:
            raise CorrectionEmpty("the correction changes nothing", field="body")
        self._corrected(
            corrected=corrected,
            personal=personal,
            school=changes.get("school", self.school),
            hired_on=changes.get("hired_on", self.hired_on),
            reason=reason,
            learner_id=self.learner_id,
        )

    @event("Corrected")
    def _corrected(
        self,
        corrected: list[str],
        personal: str | None,
        school: str | None,
        hired_on: date | None,
        reason: str,
        learner_id: str,
    ) -> None:
        if personal is not None:
            self.personal = personal
        self.school = school
        self.hired_on = hired_on

    def open_spell(self, role: str) -> RoleSpell | None:
        for spell in self.spells:
            if spell.role == role and spell.until is None:
                return spell
        return None

    def start_role(self, role: str, since: date) -> None:
        self.check_not_erased()
        if not isinstance(role, str) or role not in ROLES:
            raise UnknownCode(f"{role!r} is not one of {', '.join(ROLES)}", field="role")
        if self.open_spell(role) is not None:
            raise RoleAlreadyHeld(f"the learner already holds the role {role}", field="role")
        for spell in self.spells:
            if spell.role == role and spell.until is not None and since < spell.until:
                # Overlapping spells would count years of service twice.
                raise RoleSpellsOverlap(
                    f"the previous {role} spell ended on {spell.until}; a new one cannot start on {since}",
                    field="since",
                )
        self._role_started(role=role, since=since)

    def end_role(self, role: str, until: date) -> None:
        self.check_not_erased()
        spell = self.open_spell(role)
        if spell is None:
            raise RoleNotHeld(f"the learner does not hold the role {role}", field="role")
        if until < spell.since:
            raise RoleDatesOutOfOrder(
                f"the role {role} started on {spell.since}; it cannot end on {until}",
                field="until",
            )
        self._role_ended(role=role, until=until)

    @event("RoleStarted")
    def _role_started(self, role: str, since: date) -> None:
        self.spells.append(RoleSpell(role, since))

    @event("RoleEnded")
    def _role_ended(self, role: str, until: date) -> None:
        self.spells = [
            RoleSpell(s.role, s.since, until) if s.role == role and s.until is None else s for s in self.spells
        ]
