"""``ledger.fast_completion`` against the plain ``ledger.completion`` code (the library's
``@event`` path) it stands in for.

The stored ``Completion.Recorded`` event must stay what it was (the projections, the hash
chain and upcasting read it): same topic, same fields in the same order, same bytes; and the
aggregate in memory must be what replaying that event gives.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ledger.fast_completion as completion_module
from ledger.completion import Completion, CompletionFacts
from ledger.store import ledger_mapper
from tests.unit.ledger_examples import ethics_course, new_bank, opened_bank, school_session, state_of

FIXED = datetime(2026, 11, 26, 8, 30, 1, 123456, tzinfo=UTC)

#: ``ethics_course()`` as the library stored it before the shortcut (commit 7751570), at FIXED.
GOLDEN_STATE = (
    '{"timestamp":{"_type_":"datetime_iso","_data_":"2026-11-26T08:30:01.123456+00:00"},'
    '"originator_topic":"ledger.completion:Completion","provider_id":"jl-college",'
    '"record_id":"2026-ETH-0001","learner_id":"T220106198501010021","programme_code":"ETH-2026",'
    '"programme_title":"师德师风专题研修","category":"ethics","level":"provincial",'
    '"hours":{"_type_":"decimal_str","_data_":"12"},"assessment":"pass",'
    '"completed_on":{"_type_":"date_iso","_data_":"2026-06-30"},'
    '"started_on":{"_type_":"date_iso","_data_":"2026-06-28"},"topics":["师德"]}'
).encode()


def both_paths(facts: CompletionFacts) -> tuple[Completion, Completion]:
    """(the shortcut's completion, the library path's), both stamped FIXED."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Completion.Recorded, "create_timestamp", staticmethod(lambda: FIXED))  # type: ignore[attr-defined]
        fast = completion_module.record(facts)
        patch.setattr(completion_module, "FAST_RECORD", False)
        slow = completion_module.record(facts)
        assert items_of(Completion.record(facts)) == items_of(slow)
    return fast, slow


def items_of(obj: Any) -> list[tuple[str, str, str]]:
    """Fields in order, with their types and reprs (``Decimal('12')`` is not ``Decimal('12.00')``)."""
    return [(k, type(v).__name__, repr(v)) for k, v in vars(obj).items()]


def test_the_shortcut_is_on() -> None:
    # Off means Completion.__init__'s parameters no longer match CompletionFacts' fields:
    # correct (the library path), but the batch path is slower. Align them.
    assert completion_module.FAST_RECORD


facts_st = st.builds(
    CompletionFacts,
    provider_id=st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True),
    record_id=st.text(min_size=1, max_size=20),
    learner_id=st.text(min_size=1, max_size=20),
    programme_code=st.text(max_size=10),
    programme_title=st.text(max_size=30),
    category=st.sampled_from(["ethics", "online", "school_based"]),
    level=st.sampled_from(["provincial", "school"]),
    hours=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("2000"), places=2).map(
        lambda d: d.quantize(Decimal("0.01"))
    ),
    assessment=st.sampled_from(["pass", "excellent", "fail"]),
    completed_on=st.dates(min_value=date(1950, 1, 1), max_value=date(2100, 12, 31)),
    started_on=st.one_of(st.none(), st.dates(min_value=date(1950, 1, 1), max_value=date(2100, 12, 31))),
    topics=st.lists(st.text(max_size=8), max_size=4).map(tuple),
)


@settings(max_examples=200, deadline=None)
@given(facts_st)
def test_both_paths_make_the_same_event_and_aggregate(facts: CompletionFacts) -> None:
    fast, slow = both_paths(facts)
    (fast_event,) = fast.pending_events
    (slow_event,) = slow.pending_events
    assert type(fast_event) is type(slow_event) is Completion.Recorded  # type: ignore[attr-defined]
    assert items_of(fast_event) == items_of(slow_event)
    assert items_of(fast) == items_of(slow)  # the state, in order, and the pending event

    mapper = new_bank().mapper  # the application's mapper: its transcoder is the write side's
    stored_fast = mapper.to_stored_event(fast_event)
    assert stored_fast == mapper.to_stored_event(slow_event)
    assert stored_fast.topic == "ledger.completion:Completion.Recorded"
    # ... and the bytes are the library's own encoding of the library path's event.
    assert stored_fast.state == ledger_mapper().to_stored_event(slow_event).state

    replayed = ledger_mapper().to_domain_event(stored_fast).mutate(None)  # type: ignore[attr-defined]
    assert state_of(replayed) == state_of(fast)
    assert fast.version == slow.version == 1
    assert fast.created_on == fast.modified_on == FIXED


def test_the_stored_bytes_are_those_stored_before() -> None:
    fast, slow = both_paths(ethics_course())
    mapper = new_bank().mapper
    for completion in (fast, slow):
        (event,) = completion.pending_events
        assert mapper.to_stored_event(event).state == GOLDEN_STATE
    # Events stored before the change decode as before.
    stored = mapper.to_stored_event(fast.pending_events[0])
    assert vars(mapper.to_domain_event(stored)) == vars(ledger_mapper().to_domain_event(stored))


def test_the_application_stores_what_the_library_path_would() -> None:
    bank = opened_bank()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Completion.Recorded, "create_timestamp", staticmethod(lambda: FIXED))  # type: ignore[attr-defined]
        outcomes = bank.record_completions([ethics_course(), school_session("SB-1", topics=("大单元", "x"))])
    assert [o.status for o in outcomes] == ["recorded", "recorded"]
    for outcome in outcomes:
        assert outcome.completion_id is not None
        ((stored, _),) = bank.recorder.select_with_positions([outcome.completion_id])
        # The facts as recorded (the ledger may have replaced the teacher number by a pseudonym).
        recorded = ledger_mapper().to_domain_event(stored).mutate(None)  # type: ignore[attr-defined]
        _, slow = both_paths(recorded.facts)
        expected = bank.mapper.to_stored_event(slow.pending_events[0])
        assert (stored.originator_id, stored.originator_version, stored.topic, stored.state) == (
            expected.originator_id,
            expected.originator_version,
            expected.topic,
            expected.state,
        )
        # A duplicate re-post compares facts with the aggregate the shortcut made.
    again = bank.record_completions([ethics_course()])
    assert [o.status for o in again] == ["duplicate"]


@settings(max_examples=100, deadline=None)
@given(facts_st, st.text(max_size=12), st.booleans())
def test_with_learner_is_replace(facts: CompletionFacts, learner_id: str, computed: bool) -> None:
    if computed:
        _ = facts.completion_id  # cached on the original, carried over
    original = dataclasses.asdict(facts)
    changed = completion_module.with_learner(facts, learner_id)
    expected = dataclasses.replace(facts, learner_id=learner_id)
    assert changed == expected and hash(changed) == hash(expected)
    assert items_of(changed)[:12] == items_of(expected)
    assert changed.completion_id == expected.completion_id == facts.completion_id
    assert dataclasses.asdict(facts) == original  # the original is untouched


@settings(max_examples=100, deadline=None)
@given(facts_st)
def test_of_is_the_constructor(facts: CompletionFacts) -> None:
    fields = {f.name: getattr(facts, f.name) for f in dataclasses.fields(CompletionFacts)}
    made = completion_module.facts_of(**fields)
    assert made == facts and hash(made) == hash(facts)
    assert items_of(made) == items_of(CompletionFacts(**fields))  # every field, in order
    assert completion_module.facts_of(**{k: v for k, v in fields.items() if k not in {"started_on", "topics"}}) == (
        CompletionFacts(**{k: v for k, v in fields.items() if k not in {"started_on", "topics"}})
    )
