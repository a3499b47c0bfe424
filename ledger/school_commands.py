"""School commands of the ``CreditBank``: register a school, file its plan, record a session
and its attendance sheet.

Invariants:
- like the bank's own commands they run in ``unit_of_work`` on the writer thread, load what
  they decide on fresh from the event store (the school, its roll, its provider, the
  learners, their completions) and answer positions;
- registering a school records, in one transaction, the school, its place on the
  jurisdiction's roll and the provider it posts as (accredited for ``school_based`` at level
  ``school`` only, from ``SCHOOL_PROVIDER_SINCE``, open-ended): its completions go through
  the ledger's one completion path (``Completion``), so balances, verdicts, history and
  audits see them as any institution's;
- an HR caller acts only on schools whose jurisdiction its scope covers (checked here);
- a sheet names only teachers of the school (their recorded ``school``); each present
  teacher gets one completion per content key (record id ``attendance_record_id``): a second
  attendance of that content answers ``duplicate_content`` and records no hours;
- the same sheet again records nothing (``duplicate``, the sheet's position); a changed sheet
  is a correction with a reason, which revokes the completions this session gave to
  learners it no longer lists present and credits those it newly lists; the sheet and its
  completions are recorded in one transaction;
- absence reasons are sealed under each absent learner's key before they are recorded.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import date
from typing import Literal
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger import fast_completion
from ledger.application import CreditBank, Written
from ledger.completion import Completion, CompletionFacts
from ledger.errors import (
    AttendanceSheetInvalid,
    CompletionInFuture,
    DomainError,
    LearnerNotFound,
    NotATeacherOfSchool,
    SchoolNotFound,
)
from ledger.grammar import REASON_LENGTH, check_identifier, check_text
from ledger.ids import completion_uuid, learner_uuid, provider_uuid
from ledger.learner import Learner
from ledger.provider import Provider
from ledger.school import (
    PlanFiling,
    School,
    SchoolRegistration,
    SchoolRoll,
    SessionFacts,
    attendance_record_id,
    school_provider_id,
    school_roll_uuid,
    school_uuid,
)
from ledger.standing import check_scope
from ledger.vault import tombstone

#: A school's provider is accredited from this day: school-based training is what a school
#: does, so its sessions count whenever they were held (the grammar's earliest day).
SCHOOL_PROVIDER_SINCE = date(1950, 1, 1)


@dataclass(frozen=True)
class Absence:
    learner_id: str
    reason: str


@dataclass(frozen=True)
class AttendanceSheet:
    present: tuple[str, ...]
    absent: tuple[Absence, ...] = ()
    #: Why a recorded sheet is corrected (required then, refused otherwise).
    reason: str | None = None


@dataclass(frozen=True)
class AttendanceLine:
    learner_id: str
    status: Literal["credited", "duplicate_content", "absent", "withdrawn", "unchanged"]


@dataclass(frozen=True)
class AttendanceOutcome:
    status: Literal["recorded", "duplicate"]
    position: int | None
    lines: list[AttendanceLine] = field(default_factory=list)


def school(bank: CreditBank, school_id: str, *, scope: str | None = None) -> School:
    """The school, fresh, if ``scope`` (an HR caller's jurisdiction; None: any) covers it."""
    found = bank.get(school_uuid(school_id), School, fresh=True)
    if found is None:
        raise SchoolNotFound(f"no school {school_id} is registered", field="school_id")
    check_scope(scope, found.jurisdiction)
    return found


def register_school(bank: CreditBank, registration: SchoolRegistration, *, scope: str | None = None) -> Written:
    registration.check()
    check_scope(scope, registration.jurisdiction)

    def command() -> Written:
        existing = bank.get(school_uuid(registration.school_id), School, fresh=True)
        if existing is not None:
            existing.check_same(registration)
            return Written(bank.creation_positions([existing.id]).get(existing.id), "duplicate")
        new = School(**registration.fields())
        roll = bank.get(school_roll_uuid(registration.jurisdiction), SchoolRoll, fresh=True)
        roll = roll or SchoolRoll(jurisdiction=registration.jurisdiction)
        roll.add(registration.school_id)
        provider_id = school_provider_id(registration.school_id)
        provider = bank.get(provider_uuid(provider_id), Provider, fresh=True)
        pending: list[Aggregate] = [new, roll]
        if provider is None:
            pending.append(
                Provider(
                    provider_id=provider_id,
                    name=registration.name,
                    jurisdiction=registration.jurisdiction,
                    categories=["school_based"],
                    levels=["school"],
                    valid_from=SCHOOL_PROVIDER_SINCE,
                    valid_to=None,
                )
            )
        return Written(bank.record(*pending), "recorded")

    return bank.unit_of_work(command)


def file_plan(bank: CreditBank, school_id: str, plan: PlanFiling, *, scope: str | None = None) -> Written:
    plan.check()

    def command() -> Written:
        found = school(bank, school_id, scope=scope)
        if plan.filed_on > bank.today():
            raise CompletionInFuture(f"filed_on {plan.filed_on} is after today ({bank.today()})", field="filed_on")
        deadline = bank.calendar(found.jurisdiction, plan.filed_on).plan_deadline(plan.school_year)
        if not found.file_plan(plan, deadline):
            year = str(plan.school_year)
            return Written(bank.position_of(found.id, ".PlanFiled", school_year=year), "duplicate")
        return Written(bank.record(found), "recorded")

    return bank.unit_of_work(command)


def hold_session(bank: CreditBank, school_id: str, session: SessionFacts) -> Written:
    session.check()

    def command() -> Written:
        found = school(bank, school_id)
        if session.held_on > bank.today():
            raise CompletionInFuture(f"held_on {session.held_on} is after today ({bank.today()})", field="held_on")
        instructor = bank.subjects_of([session.instructor]).get(session.instructor)
        if instructor is None or bank.get(learner_uuid(instructor), Learner, fresh=True) is None:
            raise LearnerNotFound(f"no learner {session.instructor} is registered", field="instructor")
        term = bank.calendar(found.jurisdiction, session.held_on).term_of(session.held_on)
        recorded = SessionFacts(**{**session.fields(), "instructor": instructor})
        if not found.hold_session(recorded, str(term)):
            return Written(bank.position_of(found.id, ".SessionHeld", session_id=session.session_id), "duplicate")
        return Written(bank.record(found), "recorded")

    return bank.unit_of_work(command)


def _check_sheet(sheet: AttendanceSheet) -> None:
    for index, number in enumerate(sheet.present):
        check_identifier(number, f"present[{index}]")
    for index, absence in enumerate(sheet.absent):
        check_identifier(absence.learner_id, f"absent[{index}].learner_id")
        check_text(absence.reason, f"absent[{index}].reason", max_length=REASON_LENGTH)
    if sheet.reason is not None:
        check_text(sheet.reason, "reason", max_length=REASON_LENGTH)
    numbers = [*sheet.present, *(a.learner_id for a in sheet.absent)]
    if len(set(numbers)) != len(numbers):
        raise AttendanceSheetInvalid("a learner appears twice on the sheet", field="present")


def mark_attendance(bank: CreditBank, school_id: str, session_id: str, sheet: AttendanceSheet) -> AttendanceOutcome:
    _check_sheet(sheet)

    def command() -> AttendanceOutcome:
        found = school(bank, school_id)
        held = found.session(session_id)
        numbers = [*sheet.present, *(a.learner_id for a in sheet.absent)]
        subjects = bank.subjects_of(numbers)
        learners = bank.get_many({learner_uuid(s) for s in subjects.values()})
        fields = [f"present[{i}]" for i in range(len(sheet.present))]
        fields += [f"absent[{i}].learner_id" for i in range(len(sheet.absent))]
        for number, at in zip(numbers, fields, strict=True):
            learner = learners.get(learner_uuid(subjects[number])) if number in subjects else None
            if not isinstance(learner, Learner) or learner.erased:
                raise LearnerNotFound(f"no learner {number} is registered", field=at)
            if learner.school != school_id:
                raise NotATeacherOfSchool(f"{number} is not a teacher of {school_id}", field=at)
        present = [subjects[n] for n in sheet.present]
        before = found.sheets.get(session_id)
        if before is not None and _same_sheet(bank, before, present, sheet, subjects):
            position = _sheet_position(bank, found, session_id)
            return AttendanceOutcome("duplicate", position, [AttendanceLine(n, "unchanged") for n in numbers])
        if before is not None and sheet.reason is None:
            raise AttendanceSheetInvalid(
                "this session's sheet is recorded already; a changed sheet is a correction and needs a reason",
                field="reason",
            )
        provider = bank.get(provider_uuid(found.provider_id), Provider, fresh=True)
        assert provider is not None  # registered with the school
        today = bank.today()
        earlier = set(before["credited"]) if before else set()
        ids = {s: completion_uuid(found.provider_id, attendance_record_id(held["content_key"], s)) for s in present}
        withdrawn_subjects = [s for s in sorted(earlier) if s not in present]
        for s in withdrawn_subjects:
            ids[s] = completion_uuid(found.provider_id, attendance_record_id(held["content_key"], s))
        existing = bank.get_many(ids.values())
        lines: list[AttendanceLine] = []
        credited: list[str] = []
        pending: list[Aggregate] = []
        for number, subject in zip(sheet.present, present, strict=True):
            if subject in earlier:
                lines.append(AttendanceLine(number, "unchanged"))
                continue
            if isinstance(existing.get(ids[subject]), Completion):
                lines.append(AttendanceLine(number, "duplicate_content"))
                continue
            facts = CompletionFacts(
                provider_id=found.provider_id,
                record_id=attendance_record_id(held["content_key"], subject),
                learner_id=subject,
                programme_code=held["programme_code"],
                programme_title=held["programme_title"],
                category="school_based",
                level="school",
                hours=held["hours"],
                assessment="pass",
                completed_on=held["held_on"],
            )
            facts.check(today)
            provider.check_may_post(facts.category, facts.level, facts.completed_on)
            pending.append(fast_completion.record(facts))
            credited.append(subject)
            lines.append(AttendanceLine(number, "credited"))
        number_of = {s: n for n, s in subjects.items()}
        gone = bank.get_many({learner_uuid(s) for s in withdrawn_subjects if s not in number_of})
        for subject in withdrawn_subjects:
            completion = existing.get(ids[subject])
            if isinstance(completion, Completion) and not completion.revoked:
                completion.revoke(f"the attendance sheet of session {session_id} was corrected", found.provider_id)
                pending.append(completion)
            lines.append(AttendanceLine(number_of.get(subject) or _number(bank, gone, subject), "withdrawn"))
        lines += [AttendanceLine(a.learner_id, "absent") for a in sheet.absent]
        absent = [
            {
                "learner_id": subjects[a.learner_id],
                "reason": bank.seal_personal(subjects[a.learner_id], {"reason": a.reason}),
            }
            for a in sheet.absent
        ]
        found.mark_attendance(
            session_id, present, absent, credited, withdrawn_subjects, sheet.reason if before else None
        )
        return AttendanceOutcome("recorded", bank.record(*pending, found), lines)

    return bank.unit_of_work(command)


def _number(bank: CreditBank, learners: dict[UUID, Aggregate], subject: str) -> str:
    """The teacher number of a learner no longer on the sheet (sealed in the registration);
    the tombstone once their personal data is erased."""
    learner = learners.get(learner_uuid(subject))
    if isinstance(learner, Learner) and not learner.erased:
        with contextlib.suppress(DomainError):
            return str(bank.open_personal(subject, learner.personal)["learner_id"])
    return tombstone(subject)


def _sheet_position(bank: CreditBank, found: School, session_id: str) -> int | None:
    """The position of the sheet in force for this session (its last marking or correction)."""
    positions = [
        int(position)
        for stored, position in bank.recorder.select_with_positions([found.id])  # type: ignore[attr-defined]
        if stored.topic.endswith((".AttendanceMarked", ".AttendanceCorrected"))
        and getattr(bank.mapper.to_domain_event(stored), "session_id", None) == session_id
    ]
    return max(positions, default=None)


def _same_sheet(
    bank: CreditBank, before: dict[str, object], present: list[str], sheet: AttendanceSheet, subjects: dict[str, str]
) -> bool:
    """Whether the sheet states what the recorded one does (absence reasons opened to compare)."""
    absent_before = before["absent"]
    assert isinstance(absent_before, dict)
    if set(present) != set(before["present"]) or {subjects[a.learner_id] for a in sheet.absent} != set(absent_before):  # type: ignore[call-overload]
        return False
    for a in sheet.absent:
        subject = subjects[a.learner_id]
        if bank.open_personal(subject, absent_before[subject]).get("reason") != a.reason:
            return False
    return True
