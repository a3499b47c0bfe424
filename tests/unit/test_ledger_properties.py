"""Properties of the ledger over random histories of commands.

A history is a random sequence of: registering learners, starting/ending roles, posting
completions (random hours with at most two places, random assessments, dates some of
which lie in the future), re-posting earlier completions (same or altered facts), and
revocations (of random or of recorded completions) by the posting institution, another
institution or an admin. A simple model
kept alongside says what each command must answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st

from ledger.application import Accreditation, CreditBank
from ledger.completion import Completion, CompletionFacts
from ledger.errors import (
    CompletionConflict,
    CompletionInFuture,
    CompletionNotFound,
    DomainError,
    LearnerNotFound,
    RevocationNotPermitted,
    RoleAlreadyHeld,
    RoleDatesOutOfOrder,
    RoleNotHeld,
    RoleSpellsOverlap,
)
from ledger.ids import completion_uuid
from ledger.store import ledger_mapper
from ledger.vocabulary import PASSING_ASSESSMENTS
from tests.unit.ledger_examples import (
    TODAY,
    all_notifications,
    last_position,
    li_hua,
    new_bank,
    reloaded,
    replay_all,
    state_of,
)

LEARNERS = ["T-A", "T-B", "T-C"]
PROVIDERS = ["college", "district"]
RECORDS = [f"R{i}" for i in range(6)]
ROLES = ["head_teacher", "principal"]
EPOCH = date(2025, 1, 1)

hours_st = st.decimals(
    min_value=Decimal("0.01"),
    max_value=Decimal("2000"),
    places=2,
    allow_nan=False,
    allow_infinity=False,
)
#: Days after 2025-01-01; now and then a day after "today" (day 694 is 2026-11-26).
day_st = st.tuples(st.integers(0, 694), st.integers(0, 9)).map(lambda t: t[0] if t[1] != 9 else 694 + 1 + t[0] % 30)
register_st = st.tuples(st.just("register"), st.sampled_from(LEARNERS))
role_st = st.tuples(
    st.just("role"),
    st.sampled_from(LEARNERS),
    st.sampled_from(ROLES),
    st.sampled_from(["start", "end"]),
    st.integers(0, 700),
)
post_st = st.tuples(
    st.just("post"),
    st.sampled_from(PROVIDERS),
    st.sampled_from(RECORDS),
    st.sampled_from(["T-A", "T-B", "T-A", "T-B", "T-C"]),  # T-C may be unregistered
    hours_st,
    st.sampled_from(["pass", "excellent", "fail"]),
    day_st,
)
repost_st = st.tuples(st.just("repost"), st.integers(0, 50), st.booleans())
revoke_st = st.tuples(
    st.just("revoke"),
    st.sampled_from(PROVIDERS),
    st.sampled_from(RECORDS),
    st.sampled_from([None, *PROVIDERS]),
)
revoke_recorded_st = st.tuples(
    st.just("revoke_recorded"),
    st.integers(0, 50),
    st.sampled_from([None, "owner", "other"]),
)
commands_st = st.lists(
    st.one_of(
        # posts first: Hypothesis leans towards the first branch
        post_st,
        post_st,
        revoke_recorded_st,
        repost_st,
        post_st,
        register_st,
        role_st,
        revoke_st,
    ),
    min_size=10,
    max_size=40,
)

property_settings = settings(max_examples=50, deadline=None)


@dataclass
class Model:
    """What the ledger should hold, kept by the test independently of the ledger."""

    learners: set[str] = field(default_factory=set)
    recorded: dict[tuple[str, str], tuple[CompletionFacts, int]] = field(default_factory=dict)
    revoked: dict[tuple[str, str], int] = field(default_factory=dict)
    rejected_future: int = 0

    def earned(self) -> Decimal:
        return sum(
            (
                facts.hours
                for key, (facts, _) in self.recorded.items()
                if facts.assessment in PASSING_ASSESSMENTS and key not in self.revoked
            ),
            Decimal(0),
        )


def open_bank() -> CreditBank:
    bank = new_bank()
    for provider_id in PROVIDERS:
        bank.accredit_provider(
            Accreditation(
                provider_id=provider_id,
                name=provider_id,
                jurisdiction="220000",
                categories=("school_based",),
                levels=("school",),
                valid_from=EPOCH,
                valid_to=None,
            )
        )
    return bank


def facts_for(
    provider_id: str, record_id: str, learner_id: str, hours: Decimal, assessment: str, day: int
) -> CompletionFacts:
    return CompletionFacts(
        provider_id=provider_id,
        record_id=record_id,
        learner_id=learner_id,
        programme_code="SB",
        programme_title="校本研修",
        category="school_based",
        level="school",
        hours=hours,
        assessment=assessment,
        completed_on=EPOCH + timedelta(days=day),
        started_on=None,
    )


def post(bank: CreditBank, model: Model, facts: CompletionFacts) -> None:
    """Post one completion and check the answer against the model."""
    key = (facts.provider_id, facts.record_id)
    before = last_position(bank)
    [outcome] = bank.record_completions([facts])
    if key in model.recorded:
        original, position = model.recorded[key]
        if original == facts:
            assert (outcome.status, outcome.position) == ("duplicate", position)
        else:
            assert outcome.status == "rejected"
            assert isinstance(outcome.error, CompletionConflict)
        assert last_position(bank) == before
    elif facts.learner_id not in model.learners:
        assert isinstance(outcome.error, LearnerNotFound)
        assert last_position(bank) == before
    elif facts.completed_on > TODAY:
        assert isinstance(outcome.error, CompletionInFuture)
        assert last_position(bank) == before
    else:
        assert outcome.status == "recorded", outcome
        assert outcome.position == before + 1 == last_position(bank)
        model.recorded[key] = (facts, outcome.position)


def run(commands: list[tuple[Any, ...]]) -> tuple[CreditBank, Model]:
    bank = open_bank()
    model = Model()
    for learner_id in LEARNERS[:2]:  # T-C is registered only if a command says so
        bank.register_learner(li_hua(learner_id=learner_id, roles=()))
        model.learners.add(learner_id)
    for command in commands:
        kind = command[0]
        if kind == "register":
            learner_id = command[1]
            written = bank.register_learner(li_hua(learner_id=learner_id, roles=()))
            expected = "duplicate" if learner_id in model.learners else "recorded"
            assert written.status == expected
            model.learners.add(learner_id)
        elif kind == "role":
            _, learner_id, role, action, day = command
            on = EPOCH + timedelta(days=day)
            try:
                if action == "start":
                    bank.start_role(learner_id, role, on)
                else:
                    bank.end_role(learner_id, role, on)
            except LearnerNotFound:
                assert learner_id not in model.learners
            except (RoleAlreadyHeld, RoleNotHeld, RoleDatesOutOfOrder, RoleSpellsOverlap):
                pass
        elif kind == "post":
            _, provider_id, record_id, learner_id, hours, assessment, day = command
            post(bank, model, facts_for(provider_id, record_id, learner_id, hours, assessment, day))
        elif kind == "repost":
            _, pick, altered = command
            if not model.recorded:
                continue
            facts, _ = list(model.recorded.values())[pick % len(model.recorded)]
            if altered:
                facts = replace(facts, hours=facts.hours + Decimal("0.5"))
            post(bank, model, facts)
        elif kind in ("revoke", "revoke_recorded"):
            if kind == "revoke":
                _, provider_id, record_id, by = command
            else:
                _, pick, who = command
                if not model.recorded:
                    continue
                provider_id, record_id = list(model.recorded)[pick % len(model.recorded)]
                other = PROVIDERS[1 - PROVIDERS.index(provider_id)]
                by = {"owner": provider_id, "other": other}.get(who)
            key = (provider_id, record_id)
            before = last_position(bank)
            try:
                written = bank.revoke_completion(provider_id, record_id, "error", by_provider=by)
            except CompletionNotFound:
                assert key not in model.recorded
                continue
            except RevocationNotPermitted:
                assert by not in (None, provider_id)
                continue
            assert by in (None, provider_id)
            if key in model.revoked:
                assert (written.status, written.position) == ("unchanged", model.revoked[key])
                assert last_position(bank) == before
            else:
                assert written.status == "recorded"
                model.revoked[key] = written.position
        else:  # pragma: no cover
            raise AssertionError(kind)
    event(f"completions recorded: {min(len(model.recorded), 5)}+")
    event(f"revocations recorded: {min(len(model.revoked), 2)}+")
    return bank, model


@property_settings
@given(commands_st)
def test_replaying_the_log_reproduces_every_aggregate(commands):
    bank, _ = run(commands)
    cache = bank.repository.cache
    assert cache is not None

    from_log = replay_all(bank)

    for aggregate_id, replayed in from_log.items():
        try:
            cached = cache.get(aggregate_id)
        except KeyError:
            cached = None
        if cached is not None:
            assert state_of(cached) == state_of(replayed)
        assert state_of(reloaded(bank, aggregate_id)) == state_of(replayed)


@property_settings
@given(commands_st)
def test_reposting_anything_already_posted_records_nothing(commands):
    bank, model = run(commands)
    before = last_position(bank)
    originals = list(model.recorded.values())

    one_batch = bank.record_completions([facts for facts, _ in originals])
    singly = [bank.record_completions([facts])[0] for facts, _ in reversed(originals)]

    assert [(o.status, o.position) for o in one_batch] == [("duplicate", position) for _, position in originals]
    assert [(o.status, o.position) for o in reversed(singly)] == [("duplicate", position) for _, position in originals]
    assert last_position(bank) == before


def hours_from_raw_log(bank: CreditBank) -> Decimal:
    """Fold the raw events: Recorded adds a completion, Revoked takes it away."""
    mapper = ledger_mapper()
    completions: dict[Any, tuple[Decimal, str]] = {}
    revoked: set[Any] = set()
    for notification in all_notifications(bank):
        event = mapper.to_domain_event(notification)
        if notification.topic.endswith(":Completion.Recorded"):
            completions[event.originator_id] = (event.hours, event.assessment)
        elif notification.topic.endswith(":Completion.Revoked"):
            revoked.add(event.originator_id)
    return sum(
        (h for cid, (h, a) in completions.items() if a in PASSING_ASSESSMENTS and cid not in revoked),
        Decimal(0),
    )


@property_settings
@given(commands_st)
def test_earned_hours_from_aggregates_equal_earned_hours_from_the_raw_log(commands):
    bank, model = run(commands)

    aggregates = [
        bank.repository.get(completion_uuid(provider_id, record_id)) for provider_id, record_id in model.recorded
    ]
    assert all(isinstance(a, Completion) for a in aggregates)
    from_aggregates = sum((a.facts.hours for a in aggregates if a.earns_hours), Decimal(0))

    assert from_aggregates == hours_from_raw_log(bank) == model.earned()
    assert isinstance(from_aggregates, Decimal)
    assert from_aggregates == from_aggregates.quantize(Decimal("0.01"))


@property_settings
@given(st.lists(st.tuples(st.sampled_from(RECORDS), hours_st), min_size=1, max_size=30))
def test_a_batch_records_each_record_id_once_whatever_the_repeats(items):
    bank = open_bank()
    bank.register_learner(li_hua(learner_id="T-A", roles=()))
    batch = [facts_for("college", r, "T-A", h, "pass", 10) for r, h in items]
    before = last_position(bank)

    outcomes = bank.record_completions(batch)

    assert len(outcomes) == len(batch)
    first: dict[str, CompletionFacts] = {}
    for facts, outcome in zip(batch, outcomes, strict=True):
        assert outcome.record_id == facts.record_id
        if facts.record_id not in first:
            first[facts.record_id] = facts
            assert outcome.status == "recorded"
        elif first[facts.record_id] == facts:
            assert outcome.status == "duplicate"
        else:
            assert isinstance(outcome.error, CompletionConflict)
            assert isinstance(outcome.error, DomainError)
    assert last_position(bank) == before + len(first)
