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
  started; ending a role the learner does not hold is refused;
- the service record (``ledger.service_record``: refusals, appraisals, qualifications,
  attested prior certificates) holds each fact once under its natural identity; another
  fact under the same identity is refused (a conflict), its personal text enters sealed,
  a refusal is dated within its school year, and each names who recorded it;
- a role started later (``RoleStarted``) may carry the appointment check's summary
  (``appointment``: target, verdict, override) and an override's reason, sealed.
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
    AppraisalConflict,
    CorrectionEmpty,
    DateOutsideSchoolYear,
    DomainError,
    LearnerErased,
    PriorCertificateConflict,
    QualificationConflict,
    RefusalConflict,
    RoleAlreadyHeld,
    RoleDatesOutOfOrder,
    RoleNotHeld,
    RoleSpellsOverlap,
    UnknownCode,
)
from ledger.ids import learner_uuid
from ledger.school_year import DEFAULT_CALENDAR, parse_school_year
from ledger.service_record import APPRAISAL, PRIOR_CERTIFICATE, QUALIFICATION, REFUSAL, identity
from ledger.vocabulary import APPRAISAL_GRADES, CERTIFICATES, POSTS, QUALIFICATIONS, ROLES

_CONFLICTS: dict[str, type[DomainError]] = {
    REFUSAL: RefusalConflict,
    APPRAISAL: AppraisalConflict,
    QUALIFICATION: QualificationConflict,
    PRIOR_CERTIFICATE: PriorCertificateConflict,
}


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
        #: Service-record facts by identity (``ledger.service_record.identity``): plain fields
        #: and the sealed ``personal``.
        self.service_record: dict[tuple[Any, ...], dict[str, Any]] = {}

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

    def recorded_fact(self, event: str, plain: dict[str, Any]) -> dict[str, Any] | None:
        """The fact recorded under the identity ``plain`` states, if any."""
        return self.service_record.get(identity(event, plain))

    def record_fact(self, event: str, plain: dict[str, Any], personal: str | None, recorded_by: dict[str, Any]) -> None:
        """Record a service-record fact: ``plain`` its plain fields (``PLAIN[event]``),
        ``personal`` its free text sealed by the caller, ``recorded_by`` who records it."""
        self.check_not_erased()
        _check_fact(event, plain)
        if self.recorded_fact(event, plain) is not None:
            raise _CONFLICTS[event](f"{event} is already recorded for {identity(event, plain)[1:]}", field="body")
        common: dict[str, Any] = {"personal": personal, "recorded_by": recorded_by, "learner_id": self.learner_id}
        if event == REFUSAL:
            self._refusal_recorded(**plain, **common)
        elif event == APPRAISAL:
            self._appraisal_recorded(**plain, **common)
        elif event == QUALIFICATION:
            self._qualification_recorded(**plain, **common)
        else:
            self._prior_certificate_attested(**plain, **common)

    def _keep_fact(self, event: str, plain: dict[str, Any], personal: str | None) -> None:
        self.service_record[identity(event, plain)] = {**plain, "personal": personal}

    @event(REFUSAL)
    def _refusal_recorded(
        self,
        post: str,
        school_year: str,
        on: date,
        justified: bool,
        personal: str | None,
        recorded_by: dict[str, Any],
        learner_id: str,
    ) -> None:
        plain = {"post": post, "school_year": school_year, "on": on, "justified": justified}
        self._keep_fact(REFUSAL, plain, personal)

    @event(APPRAISAL)
    def _appraisal_recorded(
        self,
        school_year: str,
        grade: str,
        on: date,
        personal: str | None,
        recorded_by: dict[str, Any],
        learner_id: str,
    ) -> None:
        self._keep_fact(APPRAISAL, {"school_year": school_year, "grade": grade, "on": on}, personal)

    @event(QUALIFICATION)
    def _qualification_recorded(
        self, kind: str, issued_on: date, personal: str | None, recorded_by: dict[str, Any], learner_id: str
    ) -> None:
        self._keep_fact(QUALIFICATION, {"kind": kind, "issued_on": issued_on}, personal)

    @event(PRIOR_CERTIFICATE)
    def _prior_certificate_attested(
        self,
        kind: str,
        issuer: str,
        issued_on: date,
        attested_by: str,
        document_sha256: str | None,
        personal: str | None,
        recorded_by: dict[str, Any],
        learner_id: str,
    ) -> None:
        plain = {
            "kind": kind,
            "issuer": issuer,
            "issued_on": issued_on,
            "attested_by": attested_by,
            "document_sha256": document_sha256,
        }
        self._keep_fact(PRIOR_CERTIFICATE, plain, personal)

    def start_role(
        self,
        role: str,
        since: date,
        *,
        appointment: dict[str, Any] | None = None,
        personal: str | None = None,
        recorded_by: dict[str, Any] | None = None,
    ) -> None:
        """Start a role spell; ``appointment``: the appointment check's summary, if judged
        (``ledger.appointments``), ``personal`` an override's reason sealed by the caller."""
        self.check_start(role, since)
        self._role_started(
            role=role,
            since=since,
            appointment=appointment,
            personal=personal,
            recorded_by=recorded_by,
            learner_id=self.learner_id,
        )

    def check_start(self, role: str, since: date) -> None:
        """Refuse a spell of ``role`` from ``since`` that would break a rule of spells."""
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
    def _role_started(
        self,
        role: str,
        since: date,
        # Absent from spells recorded before appointments were judged.
        appointment: dict[str, Any] | None = None,
        personal: str | None = None,
        recorded_by: dict[str, Any] | None = None,
        # Named like the other events about a learner, so the read side opens ``personal``.
        learner_id: str | None = None,
    ) -> None:
        self.spells.append(RoleSpell(role, since))

    @event("RoleEnded")
    def _role_ended(self, role: str, until: date) -> None:
        self.spells = [
            RoleSpell(s.role, s.since, until) if s.role == role and s.until is None else s for s in self.spells
        ]


def _check_fact(event: str, plain: dict[str, Any]) -> None:
    """The codes and dates of a service-record fact (the edge checked their form)."""
    codes = {
        REFUSAL: ("post", POSTS),
        APPRAISAL: ("grade", APPRAISAL_GRADES),
        QUALIFICATION: ("kind", QUALIFICATIONS),
        PRIOR_CERTIFICATE: ("kind", CERTIFICATES),
    }
    name, known = codes[event]
    if plain.get(name) not in known:
        raise UnknownCode(f"{plain.get(name)!r} is not one of {', '.join(known)}", field=name)
    if "school_year" in plain:
        try:
            year = parse_school_year(plain["school_year"])
        except ValueError as error:
            raise UnknownCode(str(error), field="school_year") from None
        if event == REFUSAL:
            first, last = DEFAULT_CALENDAR.span(year)
            if not first <= plain["on"] <= last:
                raise DateOutsideSchoolYear(
                    f"{plain['on']} is not within school year {year} ({first} to {last})", field="on"
                )
