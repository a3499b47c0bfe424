"""The ledger on PostgreSQL: two bank instances ("two processes") on one database.

Each instance is used by one thread at a time (as the committer guarantees in a real
process); the two instances race each other through the shared event table.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from eventsourcing.persistence import IntegrityError

from ledger.completion import Completion
from ledger.ids import completion_uuid, learner_uuid
from ledger.learner import RoleSpell
from tests.unit.ledger_examples import (
    COLLEGE,
    DISTRICT_CENTRE,
    LI_HUA,
    WANG_FANG,
    all_notifications,
    college_accreditation,
    district_accreditation,
    ethics_course,
    last_position,
    li_hua,
    new_bank,
    school_session,
    wang_fang,
)


@pytest.fixture
def banks(database):
    """Two instances on one fresh database; the first creates the tables."""
    first = new_bank(database.event_store_env(pool_size=4))
    first.accredit_provider(college_accreditation())
    first.accredit_provider(district_accreditation())
    first.register_learner(li_hua())
    second = new_bank(database.event_store_env(pool_size=4))
    yield first, second
    second.close()
    first.close()


def fresh_bank(database):
    """A third instance with an empty cache: what the store says, replayed."""
    return new_bank(database.event_store_env())


def count_save_conflicts(bank):
    """Wrap ``bank.save`` to count how often another writer won the race."""
    conflicts = []
    original = bank.save

    def save(*args, **kwargs):
        try:
            return original(*args, **kwargs)
        except IntegrityError:
            conflicts.append(1)
            raise

    bank.save = save
    return conflicts


def run_together(*jobs):
    """Start the jobs at the same moment on their own threads; re-raise any failure."""
    start = threading.Barrier(len(jobs))
    errors = []
    results = [None] * len(jobs)

    def runner(index, job):
        start.wait()
        try:
            results[index] = job()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=runner, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    if errors:
        raise errors[0]
    return results


def test_two_processes_post_for_li_hua_at_once_nothing_lost_nothing_doubled(banks, database):
    first, second = banks
    before = last_position(first)

    # The college posts 150 ethics webinars through one process while the district
    # centre posts 150 school-based sessions through the other, 10 per request; both
    # also send the same 30 shared sessions (the district's export run twice).
    def college():
        outcomes = []
        for start in range(0, 150, 10):
            outcomes += first.record_completions(
                [ethics_course(f"ETH-{i:03}", hours=Decimal("1.5")) for i in range(start, start + 10)]
            )
        outcomes += first.record_completions([school_session(f"SHARED-{i:02}") for i in range(30)])
        return outcomes

    def district():
        outcomes = second.record_completions([school_session(f"SHARED-{i:02}") for i in range(30)])
        for start in range(0, 150, 10):
            outcomes += second.record_completions([school_session(f"SB-{i:03}") for i in range(start, start + 10)])
        return outcomes

    college_outcomes, district_outcomes = run_together(college, district)

    assert all(o.status == "recorded" for o in college_outcomes[:150])
    assert all(o.status == "recorded" for o in district_outcomes[30:])
    shared = {}
    for outcome in college_outcomes[150:] + district_outcomes[:30]:
        shared.setdefault(outcome.record_id, []).append(outcome)
    assert len(shared) == 30
    for record_id, pair in shared.items():
        # Exactly one of the two recorded it; the other answers duplicate, same position.
        assert sorted(o.status for o in pair) == ["duplicate", "recorded"], record_id
        assert pair[0].position == pair[1].position

    recorded = [n for n in all_notifications(first) if n.id > before]
    assert len(recorded) == 150 + 150 + 30
    assert len({(n.originator_id, n.originator_version) for n in recorded}) == 330
    assert [n.id for n in recorded] == sorted(n.id for n in recorded)

    replay = fresh_bank(database)
    earned = sum(
        replay.repository.get(completion_uuid(provider, record)).facts.hours
        for provider, record in [(COLLEGE, f"ETH-{i:03}") for i in range(150)]
        + [(DISTRICT_CENTRE, f"SB-{i:03}") for i in range(150)]
        + [(DISTRICT_CENTRE, f"SHARED-{i:02}") for i in range(30)]
    )
    assert earned == Decimal("1.5") * 150 + Decimal("2.5") * 180
    replay.close()


def change_roles_from_both_processes(first, second, terms, pause):
    """For ``terms`` school years one process records Li Hua's head-teacher spells while
    the other records her spells as a trainer; ``pause`` seconds between commands (the
    gap between two requests)."""

    def head_teacher():
        for year in range(2000, 2000 + terms):
            first.start_role(LI_HUA, "head_teacher", date(year, 9, 1))
            time.sleep(pause)
            first.end_role(LI_HUA, "head_teacher", date(year + 1, 7, 10))
            time.sleep(pause)

    def trainer():
        for year in range(2000, 2000 + terms):
            second.start_role(LI_HUA, "trainer", date(year, 10, 1))
            time.sleep(pause)
            second.end_role(LI_HUA, "trainer", date(year, 12, 20))
            time.sleep(pause)

    run_together(head_teacher, trainer)


def by_start(spell):
    return spell.since


def assert_all_spells_recorded_once(database, terms):
    replay = fresh_bank(database)
    learner = replay.repository.get(learner_uuid(replay.subject_of(LI_HUA)))
    replay.close()
    assert learner.version == 1 + 4 * terms  # registered, then 4 role events a year
    assert learner.spells[0] == RoleSpell("teacher", date(2015, 9, 1))
    assert sorted((s for s in learner.spells if s.role == "head_teacher"), key=by_start) == [
        RoleSpell("head_teacher", date(y, 9, 1), date(y + 1, 7, 10)) for y in range(2000, 2000 + terms)
    ]
    assert sorted((s for s in learner.spells if s.role == "trainer"), key=by_start) == [
        RoleSpell("trainer", date(y, 10, 1), date(y, 12, 20)) for y in range(2000, 2000 + terms)
    ]


def test_two_processes_change_li_huas_roles_at_once_and_the_loser_retries(banks, database):
    first, second = banks
    first.learner(LI_HUA)  # both processes have her cached
    second.learner(LI_HUA)
    conflicts = count_save_conflicts(first), count_save_conflicts(second)

    change_roles_from_both_processes(first, second, terms=15, pause=0.005)

    assert_all_spells_recorded_once(database, terms=15)
    # The race was real: saves lost to the other process and were run again.
    assert sum(map(len, conflicts)) >= 1


def test_back_to_back_role_changes_from_two_processes_all_get_recorded(banks, database):
    first, second = banks

    change_roles_from_both_processes(first, second, terms=15, pause=0)

    assert_all_spells_recorded_once(database, terms=15)


def test_a_role_change_reads_the_learner_afresh_so_another_process_change_is_kept(banks, database):
    first, second = banks
    first.learner(LI_HUA)  # the first process caches her at version 1

    second.start_role(LI_HUA, "head_teacher", date(2020, 9, 1))  # version 2, elsewhere
    written = first.start_role(LI_HUA, "trainer", date(2021, 3, 1))  # its cache is stale

    assert written.status == "recorded"
    replay = fresh_bank(database)
    learner = replay.repository.get(learner_uuid(replay.subject_of(LI_HUA)))
    assert learner.version == 3
    assert [s.role for s in learner.spells] == ["teacher", "head_teacher", "trainer"]
    replay.close()


def test_a_role_started_in_one_process_can_be_ended_in_the_other(banks):
    first, second = banks
    first.learner(LI_HUA)  # the first process caches her before the role exists

    second.start_role(LI_HUA, "head_teacher", date(2020, 9, 1))
    written = first.end_role(LI_HUA, "head_teacher", date(2023, 7, 15))

    assert written.status == "recorded"


def test_registering_the_same_teacher_in_both_processes_at_once_records_her_once(banks, database):
    first, second = banks
    before = last_position(first)

    answers = run_together(
        lambda: first.register_learner(wang_fang()),
        lambda: second.register_learner(wang_fang()),
    )

    assert sorted(a.status for a in answers) == ["duplicate", "recorded"]
    assert answers[0].position == answers[1].position == before + 1
    assert last_position(first) == before + 1


def test_a_repost_through_the_second_process_is_a_duplicate(banks):
    first, second = banks
    [recorded] = first.record_completions([ethics_course()])
    before = last_position(first)

    [again] = second.record_completions([ethics_course()])
    [conflict] = second.record_completions([ethics_course(hours=Decimal("13"))])

    assert (again.status, again.position) == ("duplicate", recorded.position)
    assert conflict.status == "rejected"
    assert last_position(second) == before


def test_a_revocation_in_one_process_is_seen_by_the_other(banks):
    first, second = banks
    [recorded] = first.record_completions([ethics_course()])

    revoked = second.revoke_completion(COLLEGE, "2026-ETH-0001", "error", by_provider=COLLEGE)
    again = first.revoke_completion(COLLEGE, "2026-ETH-0001", "again", by_provider=None)

    assert revoked.status == "recorded"
    assert (again.status, again.position) == ("unchanged", revoked.position)
    assert revoked.position > recorded.position


def term_end_batch(size):
    return [
        school_session(
            f"2026-AUTUMN-{i:05}",
            learner_id=LI_HUA if i % 2 else WANG_FANG,
            completed_on=date(2026, 9, 1) + timedelta(days=i % 80),
        )
        for i in range(size)
    ]


def assert_batch_recorded_in_one_call(first, database, size):
    first.register_learner(wang_fang())
    before = last_position(first)
    batch = term_end_batch(size)

    outcomes = first.record_completions(batch)

    assert len(outcomes) == size
    assert [o.record_id for o in outcomes] == [f.record_id for f in batch]
    assert {o.status for o in outcomes} == {"recorded"}
    positions = [o.position for o in outcomes]
    assert positions == sorted(positions)
    assert len(set(positions)) == size
    assert positions[0] == before + 1 and positions[-1] == before + size
    assert last_position(first) == before + size

    replay = fresh_bank(database)
    stored = replay.repository.get(completion_uuid(DISTRICT_CENTRE, batch[-1].record_id))
    assert isinstance(stored, Completion)
    # Recorded under the learner's pseudonym, never the teacher number.
    assert stored.facts == replace(batch[-1], learner_id=replay.subject_of(batch[-1].learner_id))
    replay.close()

    # Sent again whole (a retried request), it records nothing.
    again = first.record_completions(batch)
    assert {o.status for o in again} == {"duplicate"}
    assert [o.position for o in again] == positions
    assert last_position(first) == before + size


def test_a_batch_of_500_completions_records_in_one_call(banks, database):
    first, _ = banks
    assert_batch_recorded_in_one_call(first, database, 500)


def test_a_term_end_batch_of_2000_completions_records_in_one_call(banks, database):
    first, _ = banks
    assert_batch_recorded_in_one_call(first, database, 2000)
