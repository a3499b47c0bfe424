"""The owner index on PostgreSQL: each learner's completions and certificates, and each
jurisdiction's policies, found by the write side without a read model; written with the
events, and filled from the events when an older event store first meets it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import psycopg

from api.database import Database
from ledger.application import Accreditation, LearnerRegistration
from ledger.certificate_commands import IssueRequest, issue_certificate
from ledger.completion import CompletionFacts
from ledger.ids import completion_uuid, event_uuid
from ledger.keys import KeyRing
from ledger.record_commands import ServiceFact, record_fact
from ledger.service_record import APPRAISAL, PRIOR_CERTIFICATE, QUALIFICATION, REFUSAL
from ledger.store import OWNERS_TABLE, jurisdiction_key, learner_key
from projections.policies import learner_facts
from tests.integration.conftest import read_projected
from tests.unit.ledger_examples import new_bank

LEARNER = "P220106199001010011"
ACADEMY = "nt-academy"


def _seeded(database: Database):  # type: ignore[no-untyped-def]
    bank = new_bank(database.event_store_env())
    bank.publish_shipped_policies()
    bank.accredit_provider(
        Accreditation(
            ACADEMY, "国家教育行政学院", "CN", ("principal_qualification",), ("national",), date(2020, 1, 1), None
        )
    )
    bank.register_learner(
        LearnerRegistration(
            LEARNER, "李强", "220106", "一小", date(2015, 9, 1), (("prospective_principal", date(2015, 9, 1)),)
        )
    )
    bank.record_completions(
        [
            CompletionFacts(
                ACADEMY,
                f"pq-{n}",
                LEARNER,
                "PQ",
                "任职资格培训",
                "principal_qualification",
                "national",
                Decimal(hours),
                assessment,
                date(2025, 3, 1),
            )
            for n, (hours, assessment) in enumerate((("150", "pass"), ("150", "excellent"), ("40", "fail")))
        ]
    )
    return bank


def _owners(database: Database) -> set[tuple[str, str]]:
    with psycopg.connect(database.dsn, autocommit=True) as conn:
        return {(k, str(i)) for k, i in conn.execute(f"SELECT key, originator_id FROM {OWNERS_TABLE}")}


def test_a_learner_s_standing_comes_from_the_event_store(database: Database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    bank = _seeded(database)
    try:
        standing = bank.standing(LEARNER)
        # Passed completions only, named by their Recorded event, as the read side names them.
        assert sorted(c.event_id for c in standing.facts.completions) == sorted(
            str(event_uuid(completion_uuid(ACADEMY, f"pq-{n}"), 1)) for n in (0, 1)
        )
        assert len(standing.completions) == 3
        assert [r.role for r in standing.facts.roles] == ["prospective_principal"]
        issued = issue_certificate(
            bank,
            IssueRequest(LEARNER, "principal_qualification", None),
            KeyRing(tmp_path / "keys").current(),
            "https://bank.example",
        )
        assert [c.kind for c in bank.standing(LEARNER).facts.certificates] == ["principal_qualification"]
        subject = bank.subject_of(LEARNER)
        owners = _owners(database)
        assert (learner_key(subject), str(issued.certificate_id)) in owners
        assert sum(1 for k, _ in owners if k == learner_key(subject)) == 4
        assert any(k == jurisdiction_key("CN") for k, _ in owners)
        # No teacher number in the index: the learner is the pseudonym there, as in the events.
        assert not any(LEARNER in k for k, _ in owners)
    finally:
        bank.close()


def test_an_event_store_made_before_the_index_is_backfilled(database: Database) -> None:
    bank = _seeded(database)
    before = _owners(database)
    bank.close()
    with psycopg.connect(database.dsn, autocommit=True) as conn:
        conn.execute(f"DROP TABLE {OWNERS_TABLE}")
    reopened = new_bank(database.event_store_env())
    try:
        assert _owners(database) == before
        assert len(reopened.standing(LEARNER).facts.completions) == 2
    finally:
        reopened.close()


async def test_the_write_side_sees_the_facts_the_read_side_gives_at_the_head(database: Database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    bank = _seeded(database)
    try:
        issue_certificate(
            bank,
            IssueRequest(LEARNER, "principal_qualification", None),
            KeyRing(tmp_path / "keys").current(),
            "https://bank.example",
        )
        bank.revoke_completion(ACADEMY, "pq-0", "wrong learner", by_provider=ACADEMY)
        bank.start_role(LEARNER, "teacher", date(2016, 9, 1))
        bank.end_role(LEARNER, "teacher", date(2020, 9, 1))
        # The service record: on the learner's own events, facts on both sides alike.
        hr = {"role": "hr", "token_id": "t", "jurisdiction": "220106"}
        for fact in (
            ServiceFact(
                REFUSAL,
                {"post": "head_teacher", "school_year": "2025-2026", "on": date(2025, 9, 9), "justified": False},
                {"reason": "不愿担任"},
            ),
            ServiceFact(APPRAISAL, {"school_year": "2024-2025", "grade": "competent", "on": date(2025, 7, 1)}),
            ServiceFact(QUALIFICATION, {"kind": "primary", "issued_on": date(2015, 6, 30)}, {"number": "2015220100"}),
            ServiceFact(
                PRIOR_CERTIFICATE,
                {
                    "kind": "head_teacher_post",
                    "issuer": "长春市教育局",
                    "issued_on": date(2016, 7, 1),
                    "attested_by": "绿园区教育局人事科",
                    "document_sha256": None,
                },
                {"number": "CCBZR-2016-7"},
            ),
        ):
            record_fact(bank, LEARNER, fact, recorded_by=hr)
        written = bank.standing(LEARNER).facts
    finally:
        bank.close()
    read = await read_projected(database, lambda conn: learner_facts(conn, LEARNER))
    assert read is not None
    assert written.jurisdiction == read.jurisdiction and written.hired_on == read.hired_on
    assert set(written.completions) == set(read.completions)
    assert set(written.roles) == set(read.roles)
    assert set(written.certificates) == set(read.certificates)
    assert any(c.attested for c in read.certificates)
    assert (written.refusals, written.appraisals, written.qualifications) == (
        read.refusals,
        read.appraisals,
        read.qualifications,
    )
    assert len(read.refusals) == len(read.appraisals) == len(read.qualifications) == 1
