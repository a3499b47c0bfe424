"""Schools (学校) as the bank knows them: the school aggregate and a jurisdiction's school roll.

A school runs school-based training (校本培训, seed 003): it files a plan for each school
year, holds sessions (the same content on Tuesday and Thursday shares a ``content_key``)
and keeps an attendance sheet for each session. The school posts the completions of its
sessions as a training institution does, through a provider of its own
(``school_provider_id``), accredited for ``school_based`` at level ``school`` only.

Invariants:
- a school is named once (``school_uuid``); registering it again with the same details is
  a duplicate, with other details a conflict;
- a jurisdiction's ``SchoolRoll`` lists every school registered there; it comes into being
  with the first one, and from then on a new learner registered there must name a school on
  the roll (``SchoolRoll.check_known``); learners registered before keep their codes;
- a plan per school year, a session per ``session_id``: the same facts again change nothing,
  other facts under the same id are refused; a plan's lateness is decided when filed, against
  the jurisdiction's deadline then, and recorded with it;
- a session's slot names the weekday it was held on; nothing is held or filed after today;
- an attendance sheet is recorded whole; a changed sheet is a correction with a reason
  (``AttendanceCorrected``), never an overwrite; an absence reason is personal free text and
  enters the log only sealed under the absent learner's key (the sealing is the command's);
- every event names its school (``school_id``), so the read side indexes it under the
  school's provider and audit bundles of the school's teachers carry it;
- pure: no clock, no randomness; the commands (``ledger.school_commands``) give the day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Final
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from ledger.errors import (
    AttendanceSheetInvalid,
    PlanConflict,
    SchoolConflict,
    SchoolInvalid,
    SessionConflict,
    SessionNotFound,
    SessionSlotInvalid,
    UnknownSchool,
)
from ledger.grammar import KEY, check_code, check_identifier, check_jurisdiction, check_text
from ledger.hours import check_hours
from ledger.ids import NAMESPACE
from ledger.school_year import DEFAULT_CALENDAR, Calendar, SchoolYear
from ledger.vocabulary import LABELS

#: The kinds of school (urban, rural, teaching point), code -> Chinese label.
SCHOOL_KINDS: Final = {code: label.zh for code, label in LABELS["school_kind"].items()}
#: The longest school id: its provider id (``school:`` and the id) stays within 64.
SCHOOL_ID_LENGTH: Final = 56
#: ``tue-3``: the weekday and the period.
SLOT: Final = re.compile(r"(mon|tue|wed|thu|fri|sat|sun)-([1-9][0-9]?)")
WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SHA256: Final = re.compile(r"[0-9a-f]{64}")

#: The required frequency of sessions and the attendance threshold where a jurisdiction's
#: policy says nothing (seed 003: Tuesdays and Thursdays; API.md 1.1: 80 %).
DEFAULT_SESSIONS_PER_WEEK: Final = DEFAULT_CALENDAR.sessions_per_week
DEFAULT_ATTENDANCE_THRESHOLD: Final = DEFAULT_CALENDAR.attendance_threshold


@dataclass(frozen=True)
class SchoolTerms:
    """What a jurisdiction asks of its schools' training: its calendar (terms, the plan
    deadline), sessions per week and the attendance threshold."""

    calendar: Calendar = DEFAULT_CALENDAR
    sessions_per_week: int = DEFAULT_SESSIONS_PER_WEEK
    attendance_threshold: Decimal = DEFAULT_ATTENDANCE_THRESHOLD


def school_terms_for(calendar: Calendar = DEFAULT_CALENDAR) -> SchoolTerms:
    """The one place the write and read side learn a school's terms and figures: the
    jurisdiction's calendar in force (``CreditBank.calendar`` on the write side,
    ``projections.policies.calendar_in_force`` on the read side) with the contract's
    frequency and attendance threshold it states (the contract's where it states none)."""
    return SchoolTerms(calendar, calendar.sessions_per_week, calendar.attendance_threshold)


def school_uuid(school_id: str) -> UUID:
    return uuid5(NAMESPACE, f"school:{school_id}")


def school_roll_uuid(jurisdiction: str) -> UUID:
    return uuid5(NAMESPACE, f"school-roll:{jurisdiction}")


def school_provider_id(school_id: str) -> str:
    """The provider a school posts its sessions' completions as (``:`` is in no school id)."""
    return f"school:{school_id}"


def attendance_record_id(content_key: str, subject: str) -> str:
    """The record id of a learner's completion of one content of a school: one per content
    key, so the Tuesday and the Thursday run of the same content name the same record."""
    return f"{content_key}/{subject}"


@dataclass(frozen=True)
class SchoolRegistration:
    school_id: str
    name: str
    jurisdiction: str
    kind: str
    teachers: int

    def check(self) -> None:
        check_identifier(self.school_id, "school_id", max_length=SCHOOL_ID_LENGTH, pattern=KEY)
        check_text(self.name, "name", max_length=200)
        check_jurisdiction(self.jurisdiction)
        check_code(self.kind, SCHOOL_KINDS, "kind")
        if isinstance(self.teachers, bool) or not isinstance(self.teachers, int) or not 0 <= self.teachers <= 100_000:
            raise SchoolInvalid("an approximate head count from 0 to 100000", field="teachers")

    def fields(self) -> dict[str, Any]:
        return {
            "school_id": self.school_id,
            "name": self.name,
            "jurisdiction": self.jurisdiction,
            "kind": self.kind,
            "teachers": self.teachers,
        }


@dataclass(frozen=True)
class PlanFiling:
    school_year: SchoolYear
    title: str
    filed_on: date
    document_sha256: str

    def check(self) -> None:
        check_text(self.title, "title", max_length=200)
        if not isinstance(self.document_sha256, str) or SHA256.fullmatch(self.document_sha256) is None:
            raise SchoolInvalid("64 lower-case hexadecimal digits", field="document_sha256")


@dataclass(frozen=True)
class SessionFacts:
    session_id: str
    held_on: date
    slot: str
    content_key: str
    programme_code: str
    programme_title: str
    hours: Decimal
    #: As given, the instructor's teacher number; as recorded, the pseudonym.
    instructor: str

    def check(self) -> None:
        check_identifier(self.session_id, "session_id", pattern=KEY)
        check_identifier(self.content_key, "content_key", pattern=KEY)
        check_identifier(self.programme_code, "programme.code")
        check_text(self.programme_title, "programme.title", max_length=200)
        check_hours(self.hours)
        match = SLOT.fullmatch(self.slot) if isinstance(self.slot, str) else None
        if match is None:
            raise SessionSlotInvalid("a weekday and a period, e.g. tue-3", field="slot")
        if WEEKDAYS[self.held_on.weekday()] != match[1]:
            raise SessionSlotInvalid(
                f"{self.held_on} is a {WEEKDAYS[self.held_on.weekday()]}, not a {match[1]}", field="slot"
            )

    def fields(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "held_on": self.held_on,
            "slot": self.slot,
            "content_key": self.content_key,
            "programme_code": self.programme_code,
            "programme_title": self.programme_title,
            "hours": self.hours,
            "instructor": self.instructor,
        }


class SchoolRoll(Aggregate):
    """The schools registered in one jurisdiction (its 学校名册)."""

    @staticmethod
    def create_id(jurisdiction: str, **_: Any) -> UUID:
        return school_roll_uuid(jurisdiction)

    @event("Started")
    def __init__(self, jurisdiction: str) -> None:
        self.jurisdiction = jurisdiction
        self.schools: set[str] = set()

    def add(self, school_id: str) -> None:
        if school_id not in self.schools:
            self._added(school_id=school_id)

    @event("SchoolAdded")
    def _added(self, school_id: str) -> None:
        self.schools.add(school_id)

    def check_known(self, school: str | None, field: str) -> None:
        """Refuse a new registration naming a school not on this roll (none named is fine)."""
        if school is not None and school not in self.schools:
            raise UnknownSchool(
                f"no school {school} is registered in {self.jurisdiction}; register it with POST /v1/schools first",
                field=field,
            )


class School(Aggregate):
    @staticmethod
    def create_id(school_id: str, **_: Any) -> UUID:
        return school_uuid(school_id)

    @event("Registered")
    def __init__(self, school_id: str, name: str, jurisdiction: str, kind: str, teachers: int) -> None:
        self.school_id = school_id
        self.name = name
        self.jurisdiction = jurisdiction
        self.kind = kind
        self.teachers = teachers
        self.plans: dict[str, dict[str, Any]] = {}
        self.sessions: dict[str, dict[str, Any]] = {}
        #: session id -> the sheet in force: present pseudonyms, absent pseudonym -> sealed
        #: reason, and the pseudonyms this session credited.
        self.sheets: dict[str, dict[str, Any]] = {}

    @property
    def provider_id(self) -> str:
        return school_provider_id(self.school_id)

    def check_same(self, registration: SchoolRegistration) -> None:
        mine: dict[str, Any] = {"school_id": self.school_id, "name": self.name, "jurisdiction": self.jurisdiction}
        mine |= {"kind": self.kind, "teachers": self.teachers}
        if mine != registration.fields():
            raise SchoolConflict(f"{self.school_id} is registered with other details", field="school_id")

    # -- plans -----------------------------------------------------------------------

    def file_plan(self, plan: PlanFiling, deadline: date) -> bool:
        """Record the plan; False when this plan was filed already (nothing recorded)."""
        year = str(plan.school_year)
        filed = self.plans.get(year)
        wanted: dict[str, Any] = {
            "title": plan.title,
            "filed_on": plan.filed_on,
            "document_sha256": plan.document_sha256,
        }
        if filed is not None:
            if {k: filed[k] for k in wanted} != wanted:
                raise PlanConflict(f"{self.school_id} filed another plan for {year}", field="school_year")
            return False
        late = plan.filed_on > deadline
        self._plan_filed(self.school_id, year, plan.title, plan.filed_on, plan.document_sha256, deadline, late)
        return True

    @event("PlanFiled")
    def _plan_filed(
        self,
        school_id: str,
        school_year: str,
        title: str,
        filed_on: date,
        document_sha256: str,
        deadline: date,
        late: bool,
    ) -> None:
        self.plans[school_year] = {
            "title": title,
            "filed_on": filed_on,
            "document_sha256": document_sha256,
            "deadline": deadline,
            "late": late,
        }

    # -- sessions --------------------------------------------------------------------

    def hold_session(self, session: SessionFacts, term: str) -> bool:
        """Record the session (``instructor`` the pseudonym); False when recorded already."""
        held = self.sessions.get(session.session_id)
        if held is not None:
            if {k: held[k] for k in session.fields()} != session.fields():
                raise SessionConflict(
                    f"session {session.session_id} of {self.school_id} was recorded with other facts",
                    field="session_id",
                )
            return False
        self._session_held(school_id=self.school_id, **session.fields(), term=term)
        return True

    @event("SessionHeld")
    def _session_held(
        self,
        school_id: str,
        session_id: str,
        held_on: date,
        slot: str,
        content_key: str,
        programme_code: str,
        programme_title: str,
        hours: Decimal,
        instructor: str,
        term: str,
    ) -> None:
        self.sessions[session_id] = {
            "session_id": session_id,
            "held_on": held_on,
            "slot": slot,
            "content_key": content_key,
            "programme_code": programme_code,
            "programme_title": programme_title,
            "hours": hours,
            "instructor": instructor,
            "term": term,
        }

    def session(self, session_id: str) -> dict[str, Any]:
        held = self.sessions.get(session_id)
        if held is None:
            raise SessionNotFound(f"{self.school_id} recorded no session {session_id}", field="session_id")
        return held

    # -- attendance ------------------------------------------------------------------

    def mark_attendance(
        self,
        session_id: str,
        present: list[str],
        absent: list[dict[str, str]],
        credited: list[str],
        withdrawn: list[str],
        reason: str | None,
    ) -> None:
        """Record a sheet (pseudonyms; absence reasons sealed); ``reason`` is required, and
        only allowed, when it corrects the sheet in force."""
        self.session(session_id)
        if len(set(present) | {a["learner_id"] for a in absent}) != len(present) + len(absent):
            raise AttendanceSheetInvalid("a learner appears twice on the sheet", field="present")
        if session_id in self.sheets:
            if reason is None:
                raise AttendanceSheetInvalid(
                    "this session's sheet is recorded already; a changed sheet is a correction and needs a reason",
                    field="reason",
                )
            check_text(reason, "reason", max_length=500)
            self._attendance_corrected(
                school_id=self.school_id,
                session_id=session_id,
                present=present,
                absent=absent,
                credited=credited,
                withdrawn=withdrawn,
                reason=reason,
            )
        else:
            self._attendance_marked(
                school_id=self.school_id, session_id=session_id, present=present, absent=absent, credited=credited
            )

    @event("AttendanceMarked")
    def _attendance_marked(
        self, school_id: str, session_id: str, present: list[str], absent: list[dict[str, str]], credited: list[str]
    ) -> None:
        self.sheets[session_id] = {
            "present": list(present),
            "absent": {a["learner_id"]: a["reason"] for a in absent},
            "credited": list(credited),
        }

    @event("AttendanceCorrected")
    def _attendance_corrected(
        self,
        school_id: str,
        session_id: str,
        present: list[str],
        absent: list[dict[str, str]],
        credited: list[str],
        withdrawn: list[str],
        reason: str,
    ) -> None:
        before = self.sheets[session_id]["credited"]
        kept = [s for s in before if s not in withdrawn]
        self.sheets[session_id] = {
            "present": list(present),
            "absent": {a["learner_id"]: a["reason"] for a in absent},
            "credited": kept + [s for s in credited if s not in kept],
        }
