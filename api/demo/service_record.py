"""The demo district's service record, written through the ledger's own commands: a few
refusals of the head-teacher post (justified and not), annual appraisals, teaching
qualifications, the serving principals' paper certificates (attested by the district's HR
office), and one appointment to principal let through by an admin over its verdict.

Invariants:
- a pure function of the cast and ``today``: building again records nothing (every fact
  answers ``duplicate``; the overridden appointment is skipped when the role is held);
- recorded after the rest of the demo, on the day of the build, as HR would enter them;
- erased cast members are left out, like everywhere in the demo.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

from ledger.application import CreditBank, LearnerRegistration
from ledger.errors import AppointmentNotEligible
from ledger.record_commands import ServiceFact, record_fact
from ledger.school_year import DEFAULT_CALENDAR
from ledger.service_record import APPRAISAL, PRIOR_CERTIFICATE, QUALIFICATION, REFUSAL

#: Who enters the demo's service record: the district's HR office.
RECORDED_BY: Final = {"role": "hr", "token_id": "demo-build", "jurisdiction": "220106"}
#: The admin who lets one appointment through (``override``).
ADMIN: Final = {"role": "admin", "token_id": "demo-build", "jurisdiction": None}
HR_OFFICE: Final = "长春市绿园区教育局人事科"
GRADES: Final = ("excellent", "competent", "competent", "basically_competent", "competent", "excellent")


@dataclass(frozen=True)
class CastMember:
    serial: int
    kind: str
    registration: LearnerRegistration


@dataclass(frozen=True)
class ServiceRecordSummary:
    #: A teacher who refused the head-teacher post this school year without good reason.
    refused_unjustified_id: str | None
    #: A teacher whose refusal last school year was justified.
    refused_justified_id: str | None
    #: A prospective principal appointed principal by an admin over the verdict.
    overridden_appointment_id: str | None


def _school_kind(school: str | None) -> str:
    if school is not None and school.endswith("0008"):
        return "kindergarten"
    if school is not None and school[-4:] in {"0002", "0005"}:
        return "junior_secondary"
    return "primary"


def record_service(bank: CreditBank, cast: Sequence[CastMember], today: date) -> ServiceRecordSummary:
    this_year = DEFAULT_CALENDAR.school_year_of(today)
    last_year = f"{this_year.first - 1}-{this_year.first}"
    teachers = [m for m in cast if m.kind == "teacher"]

    def put(member: CastMember, fact: ServiceFact) -> None:
        record_fact(bank, member.registration.learner_id, fact, recorded_by=RECORDED_BY)

    refusing = teachers[:2]
    if len(refusing) == 2:
        unjustified, justified = refusing
        put(
            unjustified,
            ServiceFact(
                REFUSAL,
                {
                    "post": "head_teacher",
                    "school_year": str(this_year),
                    "on": date(this_year.first, 9, 3),
                    "justified": False,
                },
                {"reason": "无正当理由不服从学校统一选聘"},
            ),
        )
        put(
            justified,
            ServiceFact(
                REFUSAL,
                {
                    "post": "head_teacher",
                    "school_year": last_year,
                    "on": date(this_year.first - 1, 9, 5),
                    "justified": True,
                },
                {"reason": "产假期间,经学校同意"},
            ),
        )
    for member, grade in zip(teachers[:6], GRADES, strict=False):
        put(
            member,
            ServiceFact(APPRAISAL, {"school_year": last_year, "grade": grade, "on": date(this_year.first, 7, 10)}),
        )
    for member in teachers[:6]:
        hired = member.registration.hired_on or today
        put(
            member,
            ServiceFact(
                QUALIFICATION,
                {"kind": _school_kind(member.registration.school), "issued_on": date(hired.year, 6, 30)},
                {"number": f"{hired.year}2201{member.serial:06d}"},
            ),
        )
    for member in (m for m in cast if m.kind == "principal"):
        since = next(s for r, s in member.registration.roles if r == "principal")
        put(
            member,
            ServiceFact(
                PRIOR_CERTIFICATE,
                {
                    "kind": "principal_qualification",
                    "issuer": "吉林省教育厅",
                    "issued_on": date(since.year, 7, 1),
                    "attested_by": HR_OFFICE,
                    "document_sha256": None,
                },
                {"number": f"JLXZ-{since.year}-{member.serial:04d}"},
            ),
        )
    return ServiceRecordSummary(
        refused_unjustified_id=refusing[0].registration.learner_id if len(refusing) == 2 else None,
        refused_justified_id=refusing[1].registration.learner_id if len(refusing) == 2 else None,
        overridden_appointment_id=_override_one(bank, cast, today),
    )


def _override_one(bank: CreditBank, cast: Sequence[CastMember], today: date) -> str | None:
    """Appoint the first prospective principal short of 300 h (after the README's two) as
    principal: refused by the check, let through by an admin with a reason."""
    for member in [m for m in cast if m.kind == "prospective_principal"][2:]:
        number = member.registration.learner_id
        if bank.learner(number, fresh=True).open_spell("principal") is not None:
            return number  # appointed by an earlier build
        try:
            bank.start_role(number, "principal", today, recorded_by=RECORDED_BY)
        except AppointmentNotEligible:
            bank.start_role(
                number, "principal", today, override_reason="学校急需,任职资格培训于下学期完成", recorded_by=ADMIN
            )
            return number
        return number
    return None
