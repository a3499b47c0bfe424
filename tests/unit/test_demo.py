"""The demo bank: written through the ledger's commands, realistic, idempotent."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date
from decimal import Decimal
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

import ledger.store
from api.demo.builder import DemoSummary, build_demo
from ledger.application import CreditBank
from ledger.completion import Completion
from ledger.evaluation import TALLY_SIZE, BallotBox
from ledger.learner import Learner
from ledger.provider import Provider

TODAY = date(2026, 11, 26)
LEARNERS = 60
MIN_DEMO = 20


def new_bank(today: date = TODAY) -> CreditBank:
    return CreditBank(ledger.store.memory_environment(), today=lambda: today)


def aggregates(bank: CreditBank) -> dict[UUID, object]:
    """Every aggregate in the bank, replayed from its events."""
    notifications = bank.recorder.select_notifications(start=1, limit=10**7)
    ids = {n.originator_id for n in notifications}
    return {i: bank.repository.get(i) for i in ids}


@pytest.fixture(scope="module")
def built() -> tuple[CreditBank, DemoSummary, list[tuple[str, int, int]]]:
    bank = new_bank()
    stages: list[tuple[str, int, int]] = []
    summary = build_demo(bank, today=TODAY, learners=LEARNERS, progress=lambda *a: stages.append(a))
    return bank, summary, stages


def completions(bank: CreditBank) -> list[Completion]:
    return [a for a in aggregates(bank).values() if isinstance(a, Completion)]


def test_counts_agree_with_the_events(built):
    bank, summary, _ = built
    found = aggregates(bank)
    learners = [a for a in found.values() if isinstance(a, Learner)]
    providers = [a for a in found.values() if isinstance(a, Provider)]
    recorded = [a for a in found.values() if isinstance(a, Completion)]
    assert summary.learners == len(learners) == LEARNERS
    assert summary.completions == len(recorded) == summary.newly_recorded
    assert summary.revocations == sum(c.revoked for c in recorded)
    assert 0 < summary.revocations < summary.completions * 0.03
    assert sorted(summary.provider_ids) == sorted(p.provider_id for p in providers)
    assert 5 <= len(providers) <= 6
    assert summary.district == "220106"
    assert {lr.jurisdiction for lr in learners} == {"220106"}
    assert len(summary.schools) == 8
    assert summary.position == bank.recorder.max_notification_id()
    # about 10-20 completions a learner a year, over nearly three years
    assert 20 * LEARNERS < summary.completions < 60 * LEARNERS


def test_the_suspended_provider_is_suspended_with_a_reason(built):
    bank, summary, _ = built
    assert bank.provider(summary.suspended_provider_id).suspension_reason
    others = set(summary.provider_ids) - {summary.suspended_provider_id}
    assert not any(bank.provider(p).suspended for p in others)
    posted = Counter(c.facts.provider_id for c in completions(bank))
    assert posted[summary.suspended_provider_id] > 0


def test_the_near_qualified_prospective_principal_has_exactly_299_5_hours(built):
    bank, summary, _ = built
    learner = bank.learner(summary.prospective_principal_id)
    assert "prospective_principal" in {s.role for s in learner.spells}
    # Her completions are recorded under her pseudonym, the learner's ``learner_id``.
    mine = [
        c
        for c in completions(bank)
        if c.facts.learner_id == learner.learner_id and c.facts.category == "principal_qualification"
    ]
    earned = sum((c.facts.hours for c in mine if c.earns_hours), Decimal(0))
    assert earned == Decimal("299.5")
    assert any(c.facts.assessment == "fail" for c in mine)


def test_example_learners_hold_their_roles(built):
    bank, summary, _ = built
    roles = {
        learner_id: {s.role for s in bank.learner(learner_id).spells if s.until is None}
        for learner_id in (
            summary.principal_id,
            summary.head_teacher_id,
            summary.first_year_teacher_id,
            summary.trainer_id,
        )
    }
    assert "principal" in roles[summary.principal_id]
    assert "head_teacher" in roles[summary.head_teacher_id]
    assert "trainer" in roles[summary.trainer_id]
    first_year = bank.learner(summary.first_year_teacher_id)
    assert first_year.hired_on is not None
    assert date(2026, 8, 1) <= first_year.hired_on <= TODAY
    kinds = Counter(s.role for a in aggregates(bank).values() if isinstance(a, Learner) for s in a.spells)
    # One principal per school, and one prospective principal an admin appointed over the verdict.
    assert kinds["principal"] == 9
    assert kinds["prospective_principal"] == 5
    assert kinds["trainer"] == 3
    assert kinds["head_teacher"] >= 5


def test_no_completion_is_dated_after_today_or_out_of_order(built):
    bank, _, _ = built
    recorded = completions(bank)
    assert max(c.facts.completed_on for c in recorded) <= TODAY
    assert min(c.facts.completed_on for c in recorded) >= date(TODAY.year - 2, 1, 1)
    assert all(c.facts.started_on is None or c.facts.started_on <= c.facts.completed_on for c in recorded)
    assessments = Counter(c.facts.assessment for c in recorded)
    assert assessments["pass"] > assessments["excellent"] > assessments["fail"] > 0
    assert all(c.facts.hours > 0 for c in recorded)


def test_building_again_records_nothing(built):
    bank, summary, _ = built
    before = bank.recorder.max_notification_id()
    again = build_demo(bank, today=TODAY, learners=LEARNERS)
    assert bank.recorder.max_notification_id() == before
    assert again.newly_recorded == 0
    assert (again.completions, again.revocations) == (summary.completions, summary.revocations)


def test_progress_is_reported_up_to_each_total(built):
    _, summary, stages = built
    last = {stage: (done, total) for stage, done, total in stages}
    assert last["learners"] == (LEARNERS, LEARNERS)
    assert last["completions"] == (summary.completions, summary.completions)
    assert last["revocations"] == (summary.revocations, summary.revocations)
    assert {"providers", "suspensions"} <= last.keys()


def test_the_same_seed_gives_the_same_bank_and_another_seed_another():
    def facts(seed: int) -> set[object]:
        """The completions' facts, each with the teacher number it was posted for (the
        pseudonyms are drawn at random by each bank's vault)."""
        bank = new_bank()
        build_demo(bank, today=TODAY, learners=25, seed=seed)
        numbers = {
            a.learner_id: bank.open_personal(a.learner_id, a.personal)["learner_id"]
            for a in aggregates(bank).values()
            if isinstance(a, Learner)
        }
        return {replace(c.facts, learner_id=numbers[c.facts.learner_id]) for c in completions(bank)}

    assert facts(3) == facts(3)
    assert facts(3) != facts(4)


def test_a_larger_demo_extends_a_smaller_one():
    bank = new_bank()
    small = build_demo(bank, today=TODAY, learners=25)
    large = build_demo(bank, today=TODAY, learners=40)
    assert large.newly_recorded == large.completions - small.completions > 0


def test_too_few_learners_is_refused():
    with pytest.raises(ValueError, match="at least"):
        build_demo(new_bank(), today=TODAY, learners=5)


def test_the_demo_builds_again_after_an_erasure_and_never_registers_the_erased_person() -> None:
    bank = new_bank()
    first = build_demo(bank, today=TODAY, learners=MIN_DEMO)
    erased = first.prospective_principal_id  # the README's own erasure example
    bank.erase_learner(erased, "PIPL request 2026-117")
    learners_before = sum(isinstance(a, Learner) for a in aggregates(bank).values())

    again = build_demo(bank, today=TODAY, learners=MIN_DEMO)  # raised DemoError before

    assert again.newly_recorded == 0 and again.erased == (erased,)
    assert first.example_learner_id == erased and again.example_learner_id != erased
    assert sum(isinstance(a, Learner) for a in aggregates(bank).values()) == learners_before
    assert erased not in bank.subjects_of([erased])  # not enrolled again: the number leads nowhere


def test_a_fresh_demo_is_recorded_as_it_happened(built):
    """By the demo's clock: each week's completions on the Monday after, every learner
    before their first completion, the revocations and the suspension at the end; the
    recorded times rise with the positions, so a day's last position is what was known."""
    bank, _, _ = built
    events = [bank.mapper.to_domain_event(n) for n in bank.recorder.select_notifications(start=1, limit=10**7)]
    stamps = [e.timestamp for e in events]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    zone = ZoneInfo("Asia/Shanghai")
    first_day = stamps[0].astimezone(zone).date()
    assert first_day.year == TODAY.year - 2  # the history starts with the first completion
    registered = {}
    recorded = []
    for e in events:
        kind = type(e).__qualname__
        day = e.timestamp.astimezone(zone).date()
        if kind == "Learner.Registered":
            registered[e.originator_id] = day
        elif kind == "Completion.Recorded":
            recorded.append((e, day))
    late = [(e, day) for e, day in recorded if not 1 <= (day - e.completed_on).days <= 7]
    assert all(day == TODAY for _, day in late), late[:3]  # only this week's, capped at today
    assert len(late) < len(recorded) * 0.02
    months = Counter((day.year, day.month) for _, day in recorded)
    assert len(months) >= 30  # spread over nearly three years, not one afternoon
    revoked = [e for e in events if type(e).__qualname__ == "Completion.Revoked"]
    assert revoked and all(e.timestamp >= recorded[-1][0].timestamp for e in revoked)


def test_the_demo_holds_a_service_record(built):
    bank, summary, _ = built
    record = summary.service_record
    refused = bank.standing(record.refused_unjustified_id).facts.refusals
    assert [(r.school_year, r.justified) for r in refused] == [("2026-2027", False)]
    excused = bank.standing(record.refused_justified_id).facts.refusals
    assert [(r.school_year, r.justified) for r in excused] == [("2025-2026", True)]
    principal = bank.standing(summary.principal_id).facts
    assert [(c.kind, c.attested) for c in principal.certificates] == [("principal_qualification", True)]
    appointed = bank.learner(record.overridden_appointment_id)
    assert appointed.open_spell("principal") is not None


def test_the_demo_s_teachers_evaluate_some_programmes_once_and_again_records_nothing() -> None:
    bank = new_bank()
    secret = b"d" * 32
    build_demo(bank, today=TODAY, learners=LEARNERS, evaluation_secret=secret)
    boxes = [a for a in aggregates(bank).values() if isinstance(a, BallotBox)]
    assert any(b.tallied >= TALLY_SIZE for b in boxes)  # some programmes show their scores
    assert any(b.received < TALLY_SIZE for b in boxes)  # some only their count
    before = bank.recorder.max_notification_id()
    build_demo(bank, today=TODAY, learners=LEARNERS, evaluation_secret=secret)
    assert bank.recorder.max_notification_id() == before
