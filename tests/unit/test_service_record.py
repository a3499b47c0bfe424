"""The service record on the ledger: refusals, appraisals, qualifications and attested prior
certificates as events on the learner's record, and the appointment check.

Worked examples on Wenzhou's head-teacher policy (seed 001, 温教人〔2023〕23号): an
unjustified refusal of the head-teacher post bars 二(四)9's targets for that school year only;
a paper certificate counts for 二(一)1's 持证上岗; an appointment to head teacher is judged.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.application import CreditBank
from ledger.eligibility import evaluate
from ledger.errors import (
    AppointmentNotEligible,
    AppointmentOverrideNotPermitted,
    AppraisalConflict,
    DateOutsideSchoolYear,
    LearnerErased,
    OutsideJurisdiction,
    PriorCertificateConflict,
    RefusalConflict,
    RoleAlreadyHeld,
    ServiceRecordInFuture,
    UnknownCode,
)
from ledger.record_commands import ServiceFact, record_fact
from ledger.service_record import APPRAISAL, PRIOR_CERTIFICATE, QUALIFICATION, REFUSAL
from tests.unit.ledger_examples import LI_HUA, all_notifications, li_hua, new_bank

WENZHOU = "330302"
HR = {"role": "hr", "token_id": "hr-wenzhou", "jurisdiction": "330300"}
ADMIN = {"role": "admin", "token_id": "admin-1", "jurisdiction": None}


def wenzhou_bank() -> CreditBank:
    bank = new_bank()
    bank.publish_shipped_policies(include_districts=True)
    bank.register_learner(li_hua(jurisdiction=WENZHOU, school="温州市第二中学", roles=(("teacher", date(2015, 9, 1)),)))
    return bank


def refusal(justified: bool = False, on: date = date(2025, 10, 8), **changes: Any) -> ServiceFact:
    plain = {"post": "head_teacher", "school_year": "2025-2026", "on": on, "justified": justified, **changes}
    return ServiceFact(REFUSAL, plain, {"reason": "本人不愿担任"})


def verdict(bank: CreditBank, target: str, on: date) -> dict[str, Any]:
    standing = bank.standing(LI_HUA)
    return evaluate(target, standing.facts, bank.policies_for(["330302", "330300", "330000", "CN"], on), on)


def requirement(v: dict[str, Any], rule: str) -> dict[str, Any]:
    return next(r for r in v["requirements"] if r["rule"] == rule)


def test_an_unjustified_refusal_bars_title_promotion_and_excellent_that_school_year_only() -> None:
    # 001 二(四)9: "当年学年度考核不得评为优秀,不得晋升职称和评优评先".
    bank = wenzhou_bank()
    written = record_fact(bank, LI_HUA, refusal(), recorded_by=HR, scope="330300")
    assert written.status == "recorded"
    for target in ("title_promotion", "appraisal_excellent", "head_teacher_honour"):
        barred = requirement(verdict(bank, target, date(2026, 6, 30)), "not-refused-post")
        assert barred["met"] is False and barred["actual"] == 1
        assert barred["evidence"][0]["position"] == written.position
        assert barred["missing"]["free_from"] == "2026-09-01"
        assert barred["source"]["article"] == "二(四)9"
        free = requirement(verdict(bank, target, date(2026, 9, 1)), "not-refused-post")
        assert free["met"] is True and free["window"]["school_year"] == "2026-2027"


def test_a_justified_refusal_bars_nothing() -> None:
    bank = wenzhou_bank()
    record_fact(bank, LI_HUA, refusal(justified=True), recorded_by=HR)
    met = requirement(verdict(bank, "title_promotion", date(2026, 3, 1)), "not-refused-post")
    assert met["met"] is True and met["actual"] == 0 and len(met["evidence"]) == 1


def test_the_same_refusal_again_is_a_duplicate_and_other_content_a_conflict() -> None:
    bank = wenzhou_bank()
    first = record_fact(bank, LI_HUA, refusal(), recorded_by=HR)
    again = record_fact(bank, LI_HUA, refusal(), recorded_by=ADMIN)
    assert (again.status, again.position) == ("duplicate", first.position)
    with pytest.raises(RefusalConflict):
        record_fact(bank, LI_HUA, refusal(justified=True), recorded_by=HR)
    other_reason = ServiceFact(REFUSAL, refusal().plain, {"reason": "另有安排"})
    with pytest.raises(RefusalConflict):
        record_fact(bank, LI_HUA, other_reason, recorded_by=HR)


def test_a_refusal_is_dated_within_its_school_year_and_not_in_the_future() -> None:
    bank = wenzhou_bank()
    with pytest.raises(DateOutsideSchoolYear):
        record_fact(bank, LI_HUA, refusal(on=date(2025, 8, 31)), recorded_by=HR)
    with pytest.raises(ServiceRecordInFuture):
        record_fact(bank, LI_HUA, refusal(on=date(2027, 1, 5), school_year="2026-2027"), recorded_by=HR)
    with pytest.raises(UnknownCode):
        record_fact(bank, LI_HUA, refusal(post="principal"), recorded_by=HR)


def test_hr_of_another_jurisdiction_records_nothing() -> None:
    bank = wenzhou_bank()
    with pytest.raises(OutsideJurisdiction):
        record_fact(bank, LI_HUA, refusal(), recorded_by=HR, scope="220000")


def test_one_appraisal_per_school_year() -> None:
    bank = wenzhou_bank()
    fact = ServiceFact(APPRAISAL, {"school_year": "2025-2026", "grade": "excellent", "on": date(2026, 7, 10)})
    first = record_fact(bank, LI_HUA, fact, recorded_by=HR)
    assert record_fact(bank, LI_HUA, fact, recorded_by=HR) == type(first)(first.position, "duplicate")
    with pytest.raises(AppraisalConflict):
        record_fact(
            bank,
            LI_HUA,
            ServiceFact(APPRAISAL, {"school_year": "2025-2026", "grade": "competent", "on": date(2026, 7, 10)}),
            recorded_by=HR,
        )
    facts = bank.standing(LI_HUA).facts
    assert [(a.school_year, a.grade, a.position) for a in facts.appraisals] == [
        ("2025-2026", "excellent", first.position)
    ]


def paper_certificate(**changes: Any) -> ServiceFact:
    plain = {
        "kind": "head_teacher_post",
        "issuer": "温州市教育局",
        "issued_on": date(2014, 7, 1),
        "attested_by": "温州市教育局人事处",
        "document_sha256": None,
        **changes,
    }
    return ServiceFact(PRIOR_CERTIFICATE, plain, {"number": "WZ-BZR-2014-0031"})


def test_an_attested_prior_certificate_counts_for_certificate_held() -> None:
    # 001 二(一)1 "持证上岗": a head teacher certified on paper in 2014 holds the certificate.
    bank = wenzhou_bank()
    before = requirement(verdict(bank, "head_teacher_post", date(2026, 9, 1)), "pre-post-certificate")
    assert before["met"] is False
    written = record_fact(bank, LI_HUA, paper_certificate(), recorded_by=HR)
    held = requirement(verdict(bank, "head_teacher_post", date(2026, 9, 1)), "pre-post-certificate")
    assert held["met"] is True and held["evidence"] == [
        {"event_id": held["evidence"][0]["event_id"], "position": written.position}
    ]
    (certificate,) = bank.standing(LI_HUA).facts.certificates
    assert certificate.attested is True
    with pytest.raises(PriorCertificateConflict):
        record_fact(bank, LI_HUA, paper_certificate(issuer="浙江省教育厅"), recorded_by=HR)


def test_qualifications_are_facts_with_their_number_sealed() -> None:
    bank = wenzhou_bank()
    fact = ServiceFact(
        QUALIFICATION, {"kind": "senior_secondary", "issued_on": date(2014, 6, 30)}, {"number": "20143300000123"}
    )
    record_fact(bank, LI_HUA, fact, recorded_by=HR)
    record_fact(bank, LI_HUA, refusal(), recorded_by=HR)
    (q,) = bank.standing(LI_HUA).facts.qualifications
    assert (q.kind, q.issued_on) == ("senior_secondary", date(2014, 6, 30))
    stored = b"".join(n.state for n in all_notifications(bank))
    assert b"20143300000123" not in stored and "本人不愿".encode() not in stored


def test_an_erased_learner_takes_no_new_facts() -> None:
    bank = wenzhou_bank()
    bank.erase_learner(LI_HUA, "本人申请")
    with pytest.raises(Exception) as raised:
        record_fact(bank, LI_HUA, refusal(), recorded_by=HR)
    assert raised.type.__name__ in {"LearnerNotFound", LearnerErased.__name__}


def test_an_appointment_to_head_teacher_is_judged_and_an_admin_may_override() -> None:
    bank = wenzhou_bank()
    with pytest.raises(AppointmentNotEligible) as refused:
        bank.start_role(LI_HUA, "head_teacher", date(2026, 9, 1), scope="330300", recorded_by=HR)
    v = refused.value.context["verdict"]
    assert v["target"] == "head_teacher_post" and v["eligible"] is False
    assert {m["rule"] for m in v["missing"]} >= {"pre-post-certificate"}
    with pytest.raises(AppointmentOverrideNotPermitted):
        bank.start_role(LI_HUA, "head_teacher", date(2026, 9, 1), override_reason="急需", recorded_by=HR)
    written = bank.start_role(LI_HUA, "head_teacher", date(2026, 9, 1), override_reason="学校急需", recorded_by=ADMIN)
    assert written.detail is not None and written.detail["appointment"]["overridden"] is True
    assert bank.standing(LI_HUA).facts.roles[-1].role == "head_teacher"


def test_the_dry_run_of_an_appointment_judges_as_the_write_and_saves_nothing() -> None:
    bank = wenzhou_bank()
    before = len(list(all_notifications(bank)))
    judged = bank.judge_appointment(LI_HUA, "head_teacher", date(2026, 9, 1), scope="330300")
    assert judged.verdict is not None and judged.verdict["eligible"] is False
    assert judged.position == before
    with pytest.raises(AppointmentNotEligible) as refused:
        bank.start_role(LI_HUA, "head_teacher", date(2026, 9, 1), scope="330300", recorded_by=HR)
    assert refused.value.context["verdict"] == judged.verdict
    assert len(list(all_notifications(bank))) == before
    # What would refuse the spell itself is refused by the dry run too; other roles are not judged.
    with pytest.raises(OutsideJurisdiction):
        bank.judge_appointment(LI_HUA, "head_teacher", date(2026, 9, 1), scope="220106")
    with pytest.raises(RoleAlreadyHeld):
        bank.judge_appointment(LI_HUA, "teacher", date(2026, 9, 1), scope="330300")
    assert bank.judge_appointment(LI_HUA, "trainer", date(2026, 9, 1)).verdict is None
    assert len(list(all_notifications(bank))) == before


def test_other_roles_and_jurisdictions_without_the_target_are_not_judged() -> None:
    bank = new_bank()
    bank.register_learner(li_hua())
    written = bank.start_role(LI_HUA, "head_teacher", date(2026, 9, 1), recorded_by=HR)
    assert written.detail is not None and written.detail["appointment"]["eligible"] is None
    assert bank.start_role(LI_HUA, "trainer", date(2026, 9, 1), recorded_by=HR).detail is None


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(2023, 2025), st.booleans(), st.integers(0, 300)),
        min_size=1,
        max_size=6,
    )
)
def test_a_refusal_bars_exactly_its_school_year(refusals: list[tuple[int, bool, int]]) -> None:
    bank = wenzhou_bank()
    recorded: dict[int, bool] = {}
    for first, justified, offset in refusals:
        on = date(first, 9, 1).fromordinal(date(first, 9, 1).toordinal() + offset)
        try:
            record_fact(bank, LI_HUA, refusal(justified, on, school_year=f"{first}-{first + 1}"), recorded_by=HR)
            recorded[first] = justified
        except RefusalConflict:
            assert first in recorded
    for first in range(2023, 2027):
        met = requirement(verdict(bank, "title_promotion", date(first + 1, 8, 31)), "not-refused-post")["met"]
        assert met is (recorded.get(first, True) is True)


def test_roles_given_at_registration_are_not_judged() -> None:
    # Decided details of 1.1: an import of staff already in post is recorded as stated.
    bank = wenzhou_bank()
    written = bank.register_learner(
        li_hua(
            learner_id="T330302198001010011",
            jurisdiction=WENZHOU,
            roles=(("teacher", date(2002, 9, 1)), ("head_teacher", date(2003, 9, 1)), ("principal", date(2015, 8, 1))),
        )
    )
    assert written.status == "recorded"
    roles = {r.role for r in bank.standing("T330302198001010011").facts.roles}
    assert roles == {"teacher", "head_teacher", "principal"}
