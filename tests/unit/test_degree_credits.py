"""Credit-to-degree mappings (学分互认) on the in-memory store, as worked examples.

东北师范大学 (``nenu``) publishes a mapping for its Ed.M. in educational leadership
(``edm-leadership``): 36 credits, 16 hours make one degree credit, at most one third of the
programme (12 credits) from training, at most 8 from principal-qualification training and
2 from ethics; national and provincial training counts. 吉林大学 (``jlu``) publishes one for
its MPA (``mpa``). Li Qiang, a prospective principal, has: 96 h of national qualification
training (6 credits), 40 h of provincial ethics (2.5 credits, but the ethics cap is 2), a
failed course, a revoked one, and a school-level one that does not count. An hour is never
recognised twice, in the same programme or another.
"""

from __future__ import annotations

import contextlib
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ledger.application import Accreditation, CreditBank, LearnerRegistration
from ledger.completion import CompletionFacts
from ledger.degree import Offer, Recognitions, credits_for, degree_mapping_uuid, recognitions_uuid
from ledger.degree_commands import (
    RecognitionItem,
    RecognitionRequest,
    degree_mapping,
    publish_mapping,
    recognise_hours,
    recognitions,
    reverse_recognition,
)
from ledger.errors import (
    CompletionNotRecognisable,
    DegreeCapExceeded,
    HoursAlreadyRecognised,
    MappingInvalid,
    MappingNotFound,
    MappingVersionConflict,
    RecognitionAlreadyReversed,
    RecognitionConflict,
    RecognitionInvalid,
    RecognitionNotFound,
)
from ledger.ids import completion_uuid, event_uuid
from ledger.store import memory_environment

TODAY = date(2026, 11, 26)
LI_QIANG = "P220106198203030011"
ACADEMY = "cn-principal-academy"
EDM = degree_mapping_uuid("nenu", "edm-leadership")
MPA = degree_mapping_uuid("jlu", "mpa")
D = Decimal


def edm_mapping(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "university": "nenu",
        "programme": "edm-leadership",
        "title": "教育硕士（教育领导与管理）",
        "programme_credits": D(36),
        "hours_per_credit": D(16),
        "overall_cap_fraction": "1/3",
        "categories": [
            {"category": "principal_qualification", "cap": D(8)},
            {"category": "ethics", "cap": D(2)},
            {"category": "advanced_study", "cap": None},
        ],
        "levels": ["national", "provincial"],
        "effective_from": date(2026, 1, 1),
    }
    data.update(changes)
    return data


def mpa_mapping() -> dict[str, Any]:
    return {
        "university": "jlu",
        "programme": "mpa",
        "title": "公共管理硕士",
        "programme_credits": D(40),
        "hours_per_credit": D(18),
        "overall_cap": D(10),
        "categories": [{"category": "principal_qualification", "cap": None}, {"category": "ethics", "cap": None}],
        "levels": ["national", "provincial", "municipal"],
        "effective_from": date(2025, 9, 1),
    }


def new_bank() -> CreditBank:
    bank = CreditBank(memory_environment(), today=lambda: TODAY)
    bank.accredit_provider(
        Accreditation(
            ACADEMY,
            "中国教育干部网络学院",
            "CN",
            ("principal_qualification", "ethics", "school_based", "advanced_study"),
            ("national", "provincial", "school"),
            date(2020, 1, 1),
            None,
        )
    )
    bank.register_learner(LearnerRegistration(LI_QIANG, "李强", "220106", None, date(2010, 9, 1)))
    return bank


def post(
    bank: CreditBank,
    record: str,
    category: str,
    level: str,
    hours: str,
    assessment: str = "pass",
    learner: str = LI_QIANG,
) -> None:
    facts = CompletionFacts(
        ACADEMY, record, learner, record, record, category, level, D(hours), assessment, date(2025, 6, 1)
    )
    assert bank.record_completions([facts])[0].status == "recorded"


def li_qiang() -> CreditBank:
    bank = new_bank()
    post(bank, "PQ-96", "principal_qualification", "national", "96")
    post(bank, "ETH-40", "ethics", "provincial", "40")
    post(bank, "PQ-FAIL", "principal_qualification", "national", "24", assessment="fail")
    post(bank, "PQ-REV", "principal_qualification", "national", "16")
    bank.revoke_completion(ACADEMY, "PQ-REV", "wrong learner", by_provider=None)
    post(bank, "SB-20", "school_based", "school", "20")
    assert publish_mapping(bank, edm_mapping()).written.status == "recorded"
    assert publish_mapping(bank, mpa_mapping()).written.status == "recorded"
    return bank


def recognise(bank: CreditBank, rid: str, mapping: Any, *items: tuple[str, str | None], **kw: Any) -> Any:
    return recognise_hours(
        bank,
        RecognitionRequest(
            rid,
            LI_QIANG,
            mapping,
            tuple(RecognitionItem(ACADEMY, r, None if h is None else D(h)) for r, h in items),
            **kw,
        ),
    )


# -- mappings -------------------------------------------------------------------------------


def test_a_mapping_is_published_in_versions_and_the_same_content_again_is_a_duplicate() -> None:
    bank = new_bank()
    first = publish_mapping(bank, edm_mapping())
    assert first.mapping_id == EDM and first.version == 1 and first.written.status == "recorded"
    again = publish_mapping(bank, edm_mapping())
    assert again.written.status == "duplicate" and again.written.position == first.written.position
    mapping = degree_mapping(bank, EDM)
    v1 = mapping.versions[0]
    # One third of 36 credits; 16 h per credit.
    assert v1.overall_cap == D(12) and v1.hours_per_credit == D(16) and v1.cap_of("ethics") == D(2)
    assert v1.cap_of("advanced_study") is None
    second = publish_mapping(bank, edm_mapping(hours_per_credit=D(18), effective_from=date(2027, 1, 1)))
    assert second.version == 2 and len(degree_mapping(bank, EDM).versions) == 2
    with pytest.raises(MappingVersionConflict):
        publish_mapping(bank, edm_mapping(version=1, hours_per_credit=D(20)))
    with pytest.raises(MappingInvalid, match="earlier"):
        publish_mapping(bank, edm_mapping(hours_per_credit=D(20), effective_from=date(2026, 6, 1)))


def test_mappings_and_policies_version_by_one_rule() -> None:
    """A new version starts strictly after the one before (a same-day version would never be
    in force); a draft repeating any published version, numbered or not, is that version."""
    bank = new_bank()
    first = publish_mapping(bank, edm_mapping())
    publish_mapping(bank, edm_mapping(hours_per_credit=D(18), effective_from=date(2027, 1, 1)))
    with pytest.raises(MappingInvalid) as refused:
        publish_mapping(bank, edm_mapping(hours_per_credit=D(20), effective_from=date(2027, 1, 1)))
    assert refused.value.field == "effective_from"
    back = publish_mapping(bank, edm_mapping())  # version 1's content again, unnumbered
    assert (back.version, back.written.status, back.written.position) == (1, "duplicate", first.written.position)
    assert len(degree_mapping(bank, EDM).versions) == 2


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"overall_cap": D(40), "overall_cap_fraction": None}, "overall_cap"),
        ({"overall_cap": D(10)}, "overall_cap"),  # both a cap and a fraction
        ({"categories": [{"category": "ethics", "cap": D(13)}]}, "categories[0].cap"),
        ({"categories": []}, "categories"),
        ({"levels": []}, "levels"),
        ({"hours_per_credit": D("0")}, "hours_per_credit"),
        ({"hours_per_credit": D("16.005")}, "hours_per_credit"),
        ({"overall_cap_fraction": "4/3"}, "overall_cap_fraction"),
    ],
)
def test_an_invalid_mapping_is_refused_naming_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(MappingInvalid) as refused:
        publish_mapping(new_bank(), edm_mapping(**changes))
    assert refused.value.field == field


def test_credits_are_exact_and_rounded_down() -> None:
    assert credits_for(D(96), D(16)) == D(6)
    assert credits_for(D(40), D(16)) == D("2.5")
    assert credits_for(D("2.5"), D(16)) == D("0.15")  # 0.15625 rounded down, never up
    assert credits_for(D(10), D(3)) == D("3.33")


# -- recognitions ------------------------------------------------------------------------------


def test_recognition_consumes_the_named_hours_and_a_second_programme_cannot_take_them() -> None:
    bank = li_qiang()
    done = recognise(bank, "edm-1", EDM, ("PQ-96", None))
    assert done.written.status == "recorded"
    assert done.record["credits"] == D(6) and done.record["hours"] == D(96)
    [line] = done.record["lines"]
    pq = completion_uuid(ACADEMY, "PQ-96")
    assert line["event_id"] == str(event_uuid(pq, 1)) and line["credits"] == D(6)
    # The same request again records nothing.
    again = recognise(bank, "edm-1", EDM, ("PQ-96", None))
    assert again.written.status == "duplicate" and again.written.position == done.written.position
    with pytest.raises(RecognitionConflict):
        recognise(bank, "edm-1", EDM, ("ETH-40", None))
    # Another programme asks for the same hours: refused, naming where they went.
    with pytest.raises(HoursAlreadyRecognised) as refused:
        recognise(bank, "mpa-1", MPA, ("PQ-96", "18"))
    assert refused.value.context["recognised_in"] == [
        {"recognition_id": "edm-1", "programme": "edm-leadership", "university": "nenu", "hours": D(96)}
    ]
    # And so does the same programme.
    with pytest.raises(HoursAlreadyRecognised):
        recognise(bank, "edm-2", EDM, ("PQ-96", "16"))
    found = recognitions(bank, LI_QIANG)
    assert found is not None and found.consumed == {str(pq): D(96)}


def test_part_of_a_completion_may_go_to_one_programme_and_the_rest_to_another() -> None:
    bank = li_qiang()
    # 40 h of ethics are 2.5 credits, over the Ed.M.'s ethics cap of 2: refused whole.
    with pytest.raises(DegreeCapExceeded) as refused:
        recognise(bank, "edm-eth", EDM, ("ETH-40", None))
    assert refused.value.context["category"] == "ethics" and refused.value.context["cap"] == "2"
    # 32 h make exactly 2 credits; the remaining 8 h go to the MPA (18 h per credit: 0.44).
    assert recognise(bank, "edm-eth", EDM, ("ETH-40", "32")).record["credits"] == D(2)
    assert recognise(bank, "mpa-eth", MPA, ("ETH-40", "8")).record["credits"] == D("0.44")
    with pytest.raises(HoursAlreadyRecognised, match="0 h remain"):
        recognise(bank, "mpa-eth-2", MPA, ("ETH-40", "0.5"))
    with pytest.raises(HoursAlreadyRecognised, match="ETH-40 has 40 h, 40 h recognised"):
        recognise(bank, "x", MPA, ("PQ-96", "90"), ("ETH-40", None))  # nothing of the batch is recorded
    found = recognitions(bank, LI_QIANG)
    assert found is not None and found.consumed == {str(completion_uuid(ACADEMY, "ETH-40")): D(40)}


@pytest.mark.parametrize(("record", "reason"), [("PQ-FAIL", "failed"), ("PQ-REV", "revoked"), ("SB-20", "not_counted")])
def test_failed_revoked_and_uncounted_completions_are_refused_by_name(record: str, reason: str) -> None:
    bank = li_qiang()
    with pytest.raises(CompletionNotRecognisable) as refused:
        recognise(bank, "r", EDM, ("PQ-96", "16"), (record, None))
    assert refused.value.context["reason"] == reason and refused.value.field == "completions[1]"
    assert recognitions(bank, LI_QIANG) is None  # nothing recorded, not even the good line


def test_the_overall_cap_holds_across_categories() -> None:
    bank = li_qiang()
    post(bank, "ADV-120", "advanced_study", "national", "120")  # 7.5 credits, no category cap
    recognise(bank, "a", EDM, ("PQ-96", None), ("ETH-40", "32"))  # 6 + 2 = 8
    with pytest.raises(DegreeCapExceeded) as refused:
        recognise(bank, "b", EDM, ("ADV-120", None))  # 8 + 7.5 > 12
    assert refused.value.context["category"] is None and refused.value.context["recognised"] == "8"
    assert recognise(bank, "b", EDM, ("ADV-120", "64")).record["credits"] == D(4)  # exactly 12


def test_a_reversal_releases_exactly_the_hours_and_credits() -> None:
    bank = li_qiang()
    recognise(bank, "edm-1", EDM, ("PQ-96", "64"))
    assert reverse_recognition(bank, LI_QIANG, "edm-1", "entered under the wrong programme").status == "recorded"
    with pytest.raises(RecognitionAlreadyReversed):
        reverse_recognition(bank, LI_QIANG, "edm-1", "again")
    with pytest.raises(RecognitionNotFound):
        reverse_recognition(bank, LI_QIANG, "nope", "no such")
    found = recognitions(bank, LI_QIANG)
    assert found is not None and found.consumed == {}
    # The hours are free again, for any programme; the reversed id stays taken.
    assert recognise(bank, "mpa-1", MPA, ("PQ-96", None)).record["credits"] == D("5.33")
    with pytest.raises(RecognitionConflict):
        recognise(bank, "edm-1", EDM, ("PQ-96", "16"))


def test_refusals_about_the_mapping_and_the_day() -> None:
    bank = li_qiang()
    with pytest.raises(MappingNotFound):
        recognise(bank, "r", degree_mapping_uuid("nenu", "phd"), ("PQ-96", None))
    with pytest.raises(RecognitionInvalid, match="no version"):
        recognise(bank, "r", EDM, ("PQ-96", None), on=date(2025, 12, 31))
    with pytest.raises(RecognitionInvalid, match="future"):
        recognise(bank, "r", EDM, ("PQ-96", None), on=date(2026, 12, 1))
    with pytest.raises(RecognitionInvalid, match="no version 3"):
        recognise(bank, "r", EDM, ("PQ-96", None), mapping_version=3)
    with pytest.raises(RecognitionInvalid, match=r"less than 0\.01"):
        recognise(bank, "r", EDM, ("PQ-96", "0.1"))


def test_two_concurrent_recognitions_conflict_on_the_learners_aggregate() -> None:
    """Another process loaded the learner's recognitions before this one recorded: its
    checks pass on what it saw, but the store refuses its save (same version), and the
    command run again refuses the hours by name."""
    bank = li_qiang()
    recognise(bank, "seed", MPA, ("ETH-40", "8"))
    subject = bank.subject_of(LI_QIANG)  # the ledger keys his recognitions by his pseudonym
    stale = bank.repository.get(recognitions_uuid(subject))
    assert isinstance(stale, Recognitions)
    recognise(bank, "edm-1", EDM, ("PQ-96", None))  # the winner
    mapping = degree_mapping(bank, MPA).versions[0]
    pq = completion_uuid(ACADEMY, "PQ-96")
    offer = Offer(
        str(pq),
        str(event_uuid(pq, 1)),
        ACADEMY,
        "PQ-96",
        subject,
        "principal_qualification",
        "national",
        D(96),
        "pass",
        date(2025, 6, 1),
        revoked=False,
        wanted=D(36),
    )
    stale.recognise("mpa-1", str(MPA), mapping, TODAY, [offer])  # the stale copy sees 96 h free
    with pytest.raises(IntegrityError):
        bank.save(stale)
    with pytest.raises(HoursAlreadyRecognised):
        recognise(bank, "mpa-1", MPA, ("PQ-96", "36"))


# -- the property ----------------------------------------------------------------------------

HOURS = ["2.5", "8", "16", "24", "40"]
RECOGNISE = st.tuples(
    st.just("recognise"),
    st.sampled_from([EDM, MPA]),
    st.lists(st.tuples(st.integers(0, 5), st.sampled_from([None, "0.25", "0.5", "1", "1.5"])), min_size=1, max_size=2),
)
OPS = st.lists(
    st.one_of(
        RECOGNISE,
        RECOGNISE,
        RECOGNISE,
        RECOGNISE,
        RECOGNISE,
        st.tuples(st.just("reverse"), st.integers(0, 20), st.just([])),
        st.tuples(st.just("reverse"), st.integers(0, 20), st.just([])),
        st.tuples(st.just("revoke"), st.integers(0, 5), st.just([])),
    ),
    min_size=10,
    max_size=40,
)


ASSESSED = ["pass", "pass", "pass", "excellent", "fail"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    completions=st.lists(
        st.tuples(
            st.sampled_from(HOURS), st.sampled_from(ASSESSED), st.sampled_from(["principal_qualification", "ethics"])
        ),
        min_size=1,
        max_size=6,
    ),
    ops=OPS,
)
def test_an_hour_is_never_recognised_twice_across_programmes(
    completions: list[tuple[str, str, str]],
    ops: list[tuple[str, Any, Any]],
) -> None:
    bank = new_bank()
    publish_mapping(bank, edm_mapping())
    publish_mapping(bank, mpa_mapping())
    hours = {}
    for n, (h, assessment, category) in enumerate(completions):
        post(bank, f"c{n}", category, "national", h, assessment)
        hours[str(completion_uuid(ACADEMY, f"c{n}"))] = D(h)
    recorded: dict[str, dict[str, Decimal]] = {}  # recognition id -> hours per completion
    model: dict[str, Decimal] = {}  # what an independent bookkeeper says is consumed
    for step, (op, arg, items) in enumerate(ops):
        if op == "recognise":
            # A share of the completion's hours (1.5: more than it has), or all that remain.
            named = [
                (
                    f"c{i % len(completions)}",
                    None
                    if share is None
                    else str(max(D("0.01"), (D(completions[i % len(completions)][0]) * D(share)).quantize(D("0.01")))),
                )
                for i, share in items
            ]
            try:
                done = recognise(bank, f"g{step}", arg, *named)
            except HoursAlreadyRecognised:
                # Justified: some named completion has fewer hours left than asked.
                assert any(
                    (h is None and model.get(cid, D(0)) >= hours[cid])
                    or (h is not None and model.get(cid, D(0)) + D(h) > hours[cid])
                    for cid, h in ((str(completion_uuid(ACADEMY, r)), h) for r, h in named)
                )
            except (CompletionNotRecognisable, DegreeCapExceeded, RecognitionInvalid):
                pass
            else:
                recorded[f"g{step}"] = {line["completion_id"]: line["hours"] for line in done.record["lines"]}
                for cid, h in recorded[f"g{step}"].items():
                    model[cid] = model.get(cid, D(0)) + h
        elif op == "reverse" and recorded:
            rid = sorted(recorded)[arg % len(recorded)]
            with contextlib.suppress(RecognitionAlreadyReversed):
                reverse_recognition(bank, LI_QIANG, rid, "undo")
                for cid, h in recorded[rid].items():
                    model[cid] -= h
        elif op == "revoke":
            # From the last completion backwards (recognitions name the first ones most).
            bank.revoke_completion(
                ACADEMY, f"c{(len(completions) - 1 - arg) % len(completions)}", "audit", by_provider=None
            )
        _check(bank, hours)
        found = recognitions(bank, LI_QIANG)
        assert (found.consumed if found is not None else {}) == {c: h for c, h in model.items() if h}
    event(f"recognitions recorded: {min(len(recorded), 3)}{'+' if len(recorded) >= 3 else ''}")


def _check(bank: CreditBank, hours: dict[str, Decimal]) -> None:
    found = recognitions(bank, LI_QIANG)
    consumed = found.consumed if found is not None else {}
    # No completion's recognised hours ever exceed its hours.
    assert all(D(0) < used <= hours[cid] for cid, used in consumed.items())
    # The hours held equal the sum over the Recognised events minus the Reversed ones, per
    # completion; and each programme's live credits stay within its overall cap.
    from_events: dict[str, Decimal] = {}
    credits: dict[str, Decimal] = {}
    for e in bank.events.get(recognitions_uuid(bank.subject_of(LI_QIANG))) if found is not None else []:
        kind = type(e).__name__
        if kind not in {"Recognised", "Reversed"}:
            continue
        sign = 1 if kind == "Recognised" else -1
        for line in e.lines:  # type: ignore[attr-defined]
            from_events[line["completion_id"]] = from_events.get(line["completion_id"], D(0)) + sign * line["hours"]
        mid = e.mapping_id  # type: ignore[attr-defined]
        credits[mid] = credits.get(mid, D(0)) + sign * e.credits  # type: ignore[attr-defined]
    assert {c: h for c, h in from_events.items() if h != 0} == consumed
    assert all(v >= 0 for v in from_events.values())
    assert credits.get(str(EDM), D(0)) <= D(12) and credits.get(str(MPA), D(0)) <= D(10)
    assert sum(consumed.values(), D(0)) == sum(from_events.values(), D(0))
