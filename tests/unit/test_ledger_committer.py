"""The committer: one writer thread, many callers, each gets exactly its own answer."""

from __future__ import annotations

import threading
from datetime import date

import pytest

from ledger.committer import Committer
from ledger.errors import LearnerNotFound, OutsideAccreditation, RoleAlreadyHeld
from tests.unit.ledger_examples import (
    LI_HUA,
    WANG_FANG,
    last_position,
    opened_bank,
    school_session,
    topics,
)

CALLERS = 8
PER_CALLER = 25


@pytest.fixture
def bank():
    return opened_bank()


@pytest.fixture
def committer(bank):
    committer = Committer(bank)
    yield committer
    committer.close()


def count_groups(bank):
    """Wrap the bank's batch command so the test sees how calls were grouped."""
    groups = []
    original = bank.record_completions

    def recording(batch):
        groups.append(len(batch))
        return original(batch)

    bank.record_completions = recording
    return groups


def hold_the_writer(committer):
    """Occupy the writer thread until the returned event is set."""
    release = threading.Event()
    committer.submit(lambda _bank: release.wait(10))
    return release


def test_eight_schools_posting_at_once_each_get_their_own_outcomes(bank, committer):
    groups = count_groups(bank)
    before = last_position(bank)
    release = hold_the_writer(committer)
    futures = {}
    ready = threading.Barrier(CALLERS)

    def school(n):
        batch = [school_session(f"S{n}-{i:03}", learner_id=LI_HUA if i % 2 else WANG_FANG) for i in range(PER_CALLER)]
        ready.wait()
        futures[n] = committer.record_completions(batch)

    threads = [threading.Thread(target=school, args=(n,)) for n in range(CALLERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    release.set()

    results = {n: f.result(timeout=10) for n, f in futures.items()}
    for n, outcomes in results.items():
        assert [o.record_id for o in outcomes] == [f"S{n}-{i:03}" for i in range(PER_CALLER)]
        assert {o.status for o in outcomes} == {"recorded"}
    positions = sorted(o.position for outcomes in results.values() for o in outcomes)
    assert positions == list(range(before + 1, before + 1 + CALLERS * PER_CALLER))
    # All eight were waiting when the writer became free: one transaction for all.
    assert groups == [CALLERS * PER_CALLER]


def test_a_bad_item_in_a_grouped_transaction_is_refused_only_to_its_sender(bank, committer):
    release = hold_the_writer(committer)
    good = committer.record_completions([school_session("G-1"), school_session("G-2")])
    mixed = committer.record_completions([school_session("M-1", category="online"), school_session("M-2")])
    resent = committer.record_completions([school_session("G-1")])
    release.set()

    assert [o.status for o in good.result(10)] == ["recorded", "recorded"]
    mixed_outcomes = mixed.result(10)
    assert [o.status for o in mixed_outcomes] == ["rejected", "recorded"]
    assert isinstance(mixed_outcomes[0].error, OutsideAccreditation)
    [duplicate] = resent.result(10)
    assert duplicate.status == "duplicate"
    assert duplicate.position == good.result(10)[0].position


def test_a_command_refused_by_the_ledger_fails_only_its_caller(bank, committer):
    release = hold_the_writer(committer)
    before = last_position(bank)
    refused = committer.submit(lambda b: b.start_role("T-nobody", "teacher", date(2020, 9, 1)))
    held = committer.submit(lambda b: b.start_role(LI_HUA, "teacher", date(2020, 9, 1)))
    posted = committer.record_completions([school_session("SB-1")])
    promoted = committer.submit(lambda b: b.start_role(LI_HUA, "head_teacher", date(2021, 9, 1)))
    release.set()

    assert isinstance(refused.exception(10), LearnerNotFound)
    assert isinstance(held.exception(10), RoleAlreadyHeld)
    assert posted.result(10)[0].status == "recorded"
    assert promoted.result(10).status == "recorded"
    assert topics(bank, after=before) == ["Completion.Recorded", "Learner.RoleStarted"]


def test_commands_run_in_arrival_order(bank, committer):
    release = hold_the_writer(committer)
    started = committer.submit(lambda b: b.start_role(LI_HUA, "head_teacher", date(2020, 9, 1)))
    ended = committer.submit(lambda b: b.end_role(LI_HUA, "head_teacher", date(2023, 7, 1)))
    release.set()

    assert started.result(10).position < ended.result(10).position


def test_an_unexpected_failure_of_a_group_fails_every_caller_in_it(bank, committer):
    def broken(batch):
        raise RuntimeError("database went away")

    bank.record_completions = broken
    release = hold_the_writer(committer)
    first = committer.record_completions([school_session("A")])
    second = committer.record_completions([school_session("B")])
    release.set()

    assert isinstance(first.exception(10), RuntimeError)
    assert isinstance(second.exception(10), RuntimeError)
    # The writer survives and runs the next command.
    assert committer.submit(lambda b: 42).result(10) == 42


def test_close_finishes_what_is_queued(bank):
    committer = Committer(bank)
    futures = [committer.record_completions([school_session(f"Q-{i}")]) for i in range(50)]

    committer.close()

    assert all(f.done() for f in futures)
    assert {f.result()[0].status for f in futures} == {"recorded"}
