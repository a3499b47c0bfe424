"""The service record: facts beyond hours held as events on the learner's own record.

Four events of ``ledger.learner.Learner`` make it: ``RefusalRecorded`` (a post refused,
seed 001 二(四)9), ``AppraisalRecorded`` (年度考核), ``QualificationRecorded`` (教师资格) and
``PriorCertificateAttested`` (a certificate issued on paper before the bank, attested by HR).

Invariants:
- one natural identity per fact (``identity``): a refusal per post and school year, an
  appraisal per school year, a qualification per kind, a prior certificate per kind and
  issue date; the same content again is a duplicate, other content a conflict;
- the personal free text of a fact (``SEALED``: reasons, qualification and certificate
  numbers, an override's reason) is in the event only sealed under the learner's key, in
  one field ``personal``; everything else (dates, codes, flags, who recorded it) is plain,
  since rules judge on it;
- ``fact_of`` turns an event's plain fields into the fact rules judge on; the write side
  (``ledger.standing``), the read side (``projections.service_record``) and the offline
  bundle (``projections.offline``) all ask it, so their facts are the same;
- pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import date
from typing import Any, Final

from ledger.facts import AppraisalFact, CertificateFact, Facts, QualificationFact, RefusalFact

REFUSAL: Final = "RefusalRecorded"
APPRAISAL: Final = "AppraisalRecorded"
QUALIFICATION: Final = "QualificationRecorded"
PRIOR_CERTIFICATE: Final = "PriorCertificateAttested"
EVENTS: Final = (REFUSAL, APPRAISAL, QUALIFICATION, PRIOR_CERTIFICATE)

#: The plain fields that name each fact once (see the module invariants).
IDENTITY: Final[dict[str, tuple[str, ...]]] = {
    REFUSAL: ("post", "school_year"),
    APPRAISAL: ("school_year",),
    QUALIFICATION: ("kind",),
    PRIOR_CERTIFICATE: ("kind", "issued_on"),
}
#: The plain fields of each fact's content (compared with a retry's, with the sealed ones).
PLAIN: Final[dict[str, tuple[str, ...]]] = {
    REFUSAL: ("post", "school_year", "on", "justified"),
    APPRAISAL: ("school_year", "grade", "on"),
    QUALIFICATION: ("kind", "issued_on"),
    PRIOR_CERTIFICATE: ("kind", "issuer", "issued_on", "attested_by", "document_sha256"),
}
#: The personal free text of each fact, sealed in ``personal`` (``RoleStarted``: an
#: appointment override's reason).
SEALED: Final[dict[str, tuple[str, ...]]] = {
    REFUSAL: ("reason",),
    APPRAISAL: ("reason",),
    QUALIFICATION: ("number", "reason"),
    PRIOR_CERTIFICATE: ("number", "reason"),
    "RoleStarted": ("override_reason",),
}

Fact = RefusalFact | AppraisalFact | QualificationFact | CertificateFact


def identity(event: str, fields: Mapping[str, Any]) -> tuple[Any, ...]:
    return (event, *(str(fields[k]) for k in IDENTITY[event]))


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def fact_of(event: str, fields: Mapping[str, Any], event_id: str, position: int) -> Fact | None:
    """The fact an event of the service record states (None: not such an event)."""
    if event == REFUSAL:
        return RefusalFact(
            fields["post"],
            str(fields["school_year"]),
            _day(fields["on"]),
            bool(fields["justified"]),
            event_id,
            position,
        )
    if event == APPRAISAL:
        return AppraisalFact(str(fields["school_year"]), fields["grade"], _day(fields["on"]), event_id, position)
    if event == QUALIFICATION:
        return QualificationFact(fields["kind"], _day(fields["issued_on"]), event_id, position)
    if event == PRIOR_CERTIFICATE:
        # Valid from its issue; a paper certificate states no end the bank could check.
        return CertificateFact(fields["kind"], _day(fields["issued_on"]), None, event_id, position, attested=True)
    return None


def with_record(facts: Facts, found: Iterable[Fact]) -> Facts:
    """``facts`` with the service-record facts ``found`` (in position order): prior
    certificates join the certificates the bank signed."""
    ordered = sorted(found, key=lambda f: f.position)
    return replace(
        facts,
        refusals=tuple(f for f in ordered if isinstance(f, RefusalFact)),
        appraisals=tuple(f for f in ordered if isinstance(f, AppraisalFact)),
        qualifications=tuple(f for f in ordered if isinstance(f, QualificationFact)),
        certificates=(*facts.certificates, *(f for f in ordered if isinstance(f, CertificateFact))),
    )


def as_data(fact: Fact) -> dict[str, Any]:
    """A fact as plain JSON-ready data (the profile shows these)."""
    out = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in fact.__dict__.items()}
    return out
