"""Worked example: ``creditbank tokens`` mints tokens only for institutions and learners the
ledger knows, only with a positive lifetime, and ``tokens list`` shows when each expires and
which have expired."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import asyncpg
import pytest

from api import auth
from api.cli.main import main
from api.database import Database
from ledger.application import Accreditation, CreditBank, LearnerRegistration
from ledger.school import SchoolRegistration
from ledger.school_commands import register_school
from tests.integration.test_audit_replay import url_of


@pytest.fixture
def cli_env(database: Database, bank: CreditBank, monkeypatch: pytest.MonkeyPatch) -> Database:
    bank.accredit_provider(Accreditation("P1", "进修学校", "220106", ("online",), ("county",), date(2018, 1, 1), None))
    bank.register_learner(LearnerRegistration("T1", "张三", "220106", "S1", date(2018, 9, 1), ()))
    monkeypatch.setenv("CREDITBANK_DATABASE_URL", url_of(database))
    monkeypatch.setenv("CREDITBANK_LOG_LEVEL", "WARNING")
    return database


@pytest.mark.parametrize("days", ["0", "-3", "1.5", "ten"])
def test_a_lifetime_that_is_not_a_positive_number_of_days_is_refused(
    cli_env: Database, days: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["tokens", "create", "--role", "admin", "--expires-in-days", days])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--expires-in-days" in err and "days" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("scope", "named"),
    [
        (["--role", "institution", "--provider", "NO-SUCH"], "NO-SUCH"),
        (["--role", "learner", "--learner", "T-unknown"], "T-unknown"),
    ],
)
def test_a_token_for_an_unknown_institution_or_learner_is_refused(
    cli_env: Database, scope: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tokens", "create", *scope]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"{named} is registered; register it first" in captured.err
    assert main(["tokens", "list"]) == 0
    assert named not in capsys.readouterr().out


def test_tokens_list_shows_each_expiry_and_calls_an_expired_token_expired(
    cli_env: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tokens", "create", "--role", "institution", "--provider", "P1", "--label", "keeps"]) == 0
    assert (
        main(
            ["tokens", "create", "--role", "learner", "--learner", "T1", "--expires-in-days", "30", "--label", "month"]
        )
        == 0
    )
    assert main(["tokens", "create", "--role", "auditor", "--expires-in-days", "1", "--label", "gone"]) == 0
    gone = capsys.readouterr().out.split()[-1].split("_")[1]

    async def age() -> None:
        conn = await asyncpg.connect(**cli_env.asyncpg_kwargs())
        try:
            await conn.execute(
                "UPDATE auth_tokens SET expires_at = now() - interval '1 minute' WHERE token_id = $1", gone
            )
        finally:
            await conn.close()

    asyncio.run(age())
    assert main(["tokens", "list"]) == 0
    lines = {line.split()[-1]: line.split() for line in capsys.readouterr().out.splitlines()[1:]}
    assert lines["keeps"][3:5] == ["active", "never"]
    assert lines["month"][3] == "active" and lines["month"][4] > date.today().isoformat()
    assert lines["gone"][3] == "expired"


async def test_minting_refuses_a_lifetime_of_zero(cli_env: Database) -> None:
    """``--expires-in-days 0`` once made a token that never expired."""
    conn = await asyncpg.connect(**cli_env.asyncpg_kwargs())
    try:
        await conn.execute(auth.SCHEMA)
        with pytest.raises(auth.TokenError):
            await auth.mint(conn, "admin", expires_in=timedelta(0))
    finally:
        await conn.close()


def test_a_school_token_is_minted_for_a_registered_school_only(
    cli_env: Database, bank: CreditBank, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tokens", "create", "--role", "school", "--school", "2201060001"]) == 2
    assert "no school 2201060001 is registered; register it first" in capsys.readouterr().err
    register_school(bank, SchoolRegistration("2201060001", "长春市绿园区第一实验小学", "220106", "urban", 60))
    assert main(["tokens", "create", "--role", "school", "--school", "2201060001"]) == 0
    assert capsys.readouterr().out.startswith("cbk_")
    assert main(["tokens", "list"]) == 0
    assert "2201060001" in capsys.readouterr().out
    # The school scope belongs to a school token only.
    assert main(["tokens", "create", "--role", "auditor", "--school", "2201060001"]) == 2
    assert "takes no --school" in capsys.readouterr().err
