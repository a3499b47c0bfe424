"""Worked examples of replay and offline bundles, through the ``creditbank`` command line.

A small district is written with the real write side, projected, then:
- ``creditbank replay --into URL`` copies the log into a fresh database, rebuilds every
  read model there and prints digests equal to ``creditbank audit digests`` of the live bank;
- ``creditbank audit export`` writes bundles that ``creditbank audit verify BUNDLE`` checks
  with no database, recomputing balances and verdicts; a row changed behind the bank's
  back shows up in the next export's verification;
- a learner's bundle holds the service record (seed 001 二(四)9: a Wenzhou teacher's
  unjustified refusal of the head-teacher post in 2024-2025 bars ``appraisal_excellent`` on
  2025-06-30, and the recomputation with no database says so, and that 2025-09-01 is free),
  its sealed numbers and reasons unreadable in the bundle.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from api.cli.main import main
from api.database import Database
from ledger.application import Accreditation, CreditBank, LearnerRegistration
from ledger.completion import CompletionFacts
from ledger.record_commands import ServiceFact, record_fact
from ledger.service_record import APPRAISAL, PRIOR_CERTIFICATE, REFUSAL
from projections.runner import ProjectionRunner
from projections.schema import ensure_schema
from tests.conftest import TODAY

QUALIFICATION = ("principal_qualification", "national")


def url_of(db: Database) -> str:
    return f"postgresql://{db.user}@/{db.dbname}?host={db.host}&port={db.port}"


@pytest.fixture
def env(database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CREDITBANK_DATABASE_URL", url_of(database))
    monkeypatch.setenv("CREDITBANK_KEY_DIR", str(tmp_path / "keys"))
    monkeypatch.setenv("CREDITBANK_LOG_LEVEL", "WARNING")
    return tmp_path


@pytest.fixture
def target(postgres_server: Database) -> Iterator[Database]:
    db = postgres_server.with_dbname(f"cb_replay_{uuid.uuid4().hex[:12]}")
    try:
        yield db
    finally:
        db.drop()


def write_district(database: Database) -> None:
    bank = CreditBank(database.event_store_env(), today=lambda: TODAY)
    try:
        bank.publish_shipped_policies()
        bank.accredit_provider(
            Accreditation(
                "P1",
                "进修学校",
                "220106",
                ("online", "principal_qualification"),
                ("county", "national"),
                date(2018, 1, 1),
                None,
            )
        )
        bank.accredit_provider(
            Accreditation("P2", "温州学院", "330300", ("online",), ("county",), date(2018, 1, 1), None)
        )
        for learner, jurisdiction, role in (
            ("T1", "220106", "teacher"),
            ("A1", "220106", "prospective_principal"),
            ("W1", "330300", "teacher"),
        ):
            bank.register_learner(
                LearnerRegistration(
                    learner, f"名{learner}", jurisdiction, "S1", date(2015, 9, 1), ((role, date(2015, 9, 1)),)
                )
            )
        items = [
            CompletionFacts(
                "P1",
                f"t{i}",
                "T1",
                f"C{i}",
                "网络研修",
                "online",
                "county",
                Decimal("2.5"),
                "pass",
                date(2024, 3, 1 + i),
            )
            for i in range(6)
        ]
        items += [
            CompletionFacts(
                "P1",
                f"a{i}",
                "A1",
                f"Q{i}",
                "任职资格培训",
                *QUALIFICATION,
                Decimal(100),
                "pass",
                date(2025, 1, 10 + i),
            )
            for i in range(3)
        ]
        items += [
            CompletionFacts(
                "P2", f"w{i}", "W1", f"W{i}", "网络研修", "online", "county", Decimal(3), "pass", date(2024, 5, 1 + i)
            )
            for i in range(2)
        ]
        assert all(o.status == "recorded" for o in bank.record_completions(items))
        bank.revoke_completion("P1", "t5", "wrong learner", by_provider="P1")
        # Judged against head_teacher_post (no pre-post training yet): let through by an admin.
        bank.start_role("T1", "head_teacher", date(2024, 9, 1), override_reason="先上岗后培训")
    finally:
        bank.close()


async def project(database: Database) -> int:
    pool = await asyncpg.create_pool(**database.asyncpg_kwargs(), min_size=1, max_size=2)
    assert pool is not None
    try:
        async with pool.acquire() as conn:
            await ensure_schema(conn)
        return await ProjectionRunner(pool).catch_up()
    finally:
        await pool.close()


async def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    """``creditbank ARGV`` in-process (on a thread: the command runs its own event loop)."""
    code = await asyncio.to_thread(main, list(argv))
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else None


async def test_replay_into_a_fresh_database_gives_the_live_digests(
    database: Database, target: Database, env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_district(database)
    head = await project(database)
    code, live = await run(capsys, "audit", "digests")
    assert code == 0 and live["position"] == head

    code, replayed = await run(capsys, "replay", "--into", url_of(target))
    assert code == 0, replayed
    assert replayed["replayed_to"] == head and replayed["copied_events"] == head
    assert replayed["tables"] == live["tables"]
    assert replayed["chain_head"] == live["chain_head"]
    assert live["tables"]["rm_completions"]["rows"] == 11

    # The replayed log is the same log: its chain verifies there too.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CREDITBANK_DATABASE_URL", url_of(target))
        code, report = await run(capsys, "audit", "verify")
    assert code == 0 and report["ok"] and report["chain_head"] == live["chain_head"]

    # A second replay into the same database is refused rather than mixing logs.
    code, _ = await run(capsys, "replay", "--into", url_of(target))
    assert code == 1


async def test_a_district_bundle_verifies_offline_and_recomputes_verdicts(
    database: Database, env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_district(database)
    await project(database)
    code, checkpoint = await run(capsys, "audit", "checkpoint")
    assert code == 0 and checkpoint["signed"]
    out = env / "district"
    code, manifest = await run(capsys, "audit", "export", "--jurisdiction", "220106", "--out", str(out))
    assert code == 0
    assert manifest["scope"] == {"kind": "jurisdiction", "value": "220106"}
    topics = manifest["counts"]["by_topic"]
    assert topics["ledger.completion:Completion.Recorded"] == 9  # T1 and A1's, not W1's
    assert topics["ledger.policy:Policy.Published"] >= 1

    # Offline: no database at all.
    monkeypatch.setenv("CREDITBANK_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    code, report = await run(capsys, "audit", "verify", str(out), "--balances", "--on", "2025-06-30")
    assert code == 0, report
    assert report["ok"] and report["checkpoints_verified"] == 1
    learners = report["recomputed"]["learners"]
    assert set(learners) == {"T1", "A1"}
    assert learners["T1"]["total"] == "12.5"  # six times 2.5, one revoked
    assert learners["A1"]["by_category"] == {"principal_qualification": "300"}
    assert learners["A1"]["verdicts"]["principal_appointment"] is True

    # Tamper with the bundle: the file digest and the event's link both give it away.
    lines = (out / "events.jsonl").read_text().splitlines()
    event = json.loads(lines[5])
    event["state"] = event["state"][:-4] + "AAAA"
    lines[5] = json.dumps(event)
    (out / "events.jsonl").write_text("\n".join(lines) + "\n")
    code, report = await run(capsys, "audit", "verify", str(out))
    assert code == 1
    assert {p["check"] for p in report["problems"]} == {"file_digest", "link"}
    assert report["problems"][1]["position"] == event["position"]


async def test_a_complete_export_ties_every_checkpoint_and_finds_a_changed_row(
    database: Database, env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_district(database)
    await project(database)
    assert (await run(capsys, "audit", "checkpoint"))[1]["signed"]
    code, manifest = await run(capsys, "audit", "export", "--all", "--out", str(env / "all"))
    assert code == 0 and manifest["complete"]
    code, report = await run(capsys, "audit", "verify", str(env / "all"))
    assert code == 0 and report["checkpoint_heads_matched"] == 1

    # A row changed behind the bank's back: the next export no longer verifies.
    conn = await asyncpg.connect(**database.asyncpg_kwargs())
    try:
        position = await conn.fetchval(
            "SELECT max(notification_id) FROM creditbank_events WHERE topic LIKE '%Completion.Recorded'"
        )
        await conn.execute(
            "UPDATE creditbank_events SET state = convert_to(replace(convert_from(state, 'UTF8'),"
            " '\"3\"', '\"30\"'), 'UTF8') WHERE notification_id = $1",
            position,
        )
    finally:
        await conn.close()
    code, _ = await run(capsys, "audit", "export", "--all", "--out", str(env / "again"))
    code, report = await run(capsys, "audit", "verify", str(env / "again"))
    assert code == 1
    assert report["problems"][0] == {
        "check": "link",
        "position": position,
        "detail": "the event's bytes do not chain to its recorded hash",
    }
    code, live = await run(capsys, "audit", "verify")
    assert code == 1 and live["first_break"]["kind"] == "bytes_changed"


# -- the service record in a bundle --------------------------------------------------

HR = {"role": "hr", "token_id": "t-hr", "jurisdiction": "330300"}
REASON = "不愿担任班主任工作"
NUMBER = "WZBZR-2013-0042"


def write_wenzhou(database: Database) -> None:
    bank = CreditBank(database.event_store_env(), today=lambda: TODAY)
    try:
        bank.publish_shipped_policies()
        bank.register_learner(
            LearnerRegistration("W1", "陈静", "330302", "S1", date(2013, 9, 1), (("teacher", date(2013, 9, 1)),))
        )
        facts = [
            ServiceFact(
                REFUSAL,
                {"post": "head_teacher", "school_year": "2024-2025", "on": date(2024, 9, 6), "justified": False},
                {"reason": REASON},
            ),
            ServiceFact(APPRAISAL, {"school_year": "2024-2025", "grade": "competent", "on": date(2025, 7, 10)}),
            ServiceFact(
                PRIOR_CERTIFICATE,
                {
                    "kind": "head_teacher_post",
                    "issuer": "温州市教育局",
                    "issued_on": date(2013, 7, 1),
                    "attested_by": "鹿城区教育局人事科",
                    "document_sha256": None,
                },
                {"number": NUMBER},
            ),
        ]
        for fact in facts:
            assert record_fact(bank, "W1", fact, recorded_by=HR).status == "recorded"
    finally:
        bank.close()


async def test_a_learner_bundle_recomputes_the_refusal_bar_offline(
    database: Database, env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_wenzhou(database)
    await project(database)
    assert (await run(capsys, "audit", "checkpoint"))[1]["signed"]
    out = env / "w1"
    code, manifest = await run(capsys, "audit", "export", "--learner", "W1", "--out", str(out))
    assert code == 0, manifest
    topics = manifest["counts"]["by_topic"]
    for name in ("RefusalRecorded", "AppraisalRecorded", "PriorCertificateAttested"):
        assert topics[f"ledger.learner:Learner.{name}"] == 1
    bundle = (out / "events.jsonl").read_text()
    assert REASON not in bundle and NUMBER not in bundle

    monkeypatch.setenv("CREDITBANK_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    for on, excellent in (("2025-06-30", False), ("2025-09-01", True)):
        code, report = await run(capsys, "audit", "verify", str(out), "--balances", "--on", on)
        assert code == 0, report
        verdicts = report["recomputed"]["learners"]["W1"]["verdicts"]
        assert verdicts["appraisal_excellent"] is excellent, json.dumps(verdicts)
