"""The auditors' commands: ``creditbank audit verify|checkpoint|digests|export`` and
``creditbank replay``.

Invariants:
- a thin layer over ``projections.audit``, ``projections.digests``, ``projections.replay``,
  ``projections.bundle`` and ``projections.offline``; answers are JSON on stdout, progress
  on stderr;
- ``audit verify BUNDLE`` opens no database and no connection: it reads the folder only;
- exit status 0 means verified (or done), 1 a break or refusal, 2 bad usage.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg

from api.cli.errors import CliError
from api.cli.progress import Progress
from api.database import Database, open_database
from api.settings import Settings
from ledger.application import CreditBank
from ledger.keys import KeyRing
from projections import audit, bundle, digests, eventlog, offline, replay
from projections.runner import ProjectionRunner
from projections.schema import ensure_schema


def _print(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=1, default=str))


def add_parsers(sub: Any) -> None:
    auditing = sub.add_parser("audit", help="verify, checkpoint, digest and export the log")
    asub = auditing.add_subparsers(dest="audit_command", required=True)
    verify = asub.add_parser("verify", help="verify the live log, or a bundle folder offline")
    verify.add_argument("bundle", nargs="?", type=Path, help="an exported bundle (no database is used)")
    verify.add_argument("--from", dest="start", type=int, default=1)
    verify.add_argument("--to", dest="end", type=int)
    verify.add_argument("--balances", action="store_true", help="recompute balances and verdicts from the bundle")
    verify.add_argument("--on", type=date.fromisoformat, help="the day verdicts are judged on (default today)")
    verify.add_argument("--at-position", type=int, help="only events known at this position")
    verify.add_argument("--keys", type=Path, help="a JWKS file you trust (default: the bundle's keys.json)")
    asub.add_parser("checkpoint", help="sign a checkpoint of the current chain head now")
    asub.add_parser("digests", help="print a digest of every read model")
    export = asub.add_parser("export", help="write an audit bundle")
    scope = export.add_mutually_exclusive_group(required=True)
    scope.add_argument("--learner")
    scope.add_argument("--institution")
    scope.add_argument("--jurisdiction")
    scope.add_argument("--all", action="store_true")
    export.add_argument("--out", type=Path, required=True)
    rep = sub.add_parser("replay", help="rebuild every read model into a fresh database and print digests")
    rep.add_argument("--into", required=True, help="postgresql://… of a fresh (empty) database")
    rep.add_argument("--at-position", type=int, help="copy the log up to here (default: the live projection's)")


async def _connect(database: Database) -> asyncpg.Connection:
    conn = await asyncpg.connect(**database.asyncpg_kwargs())
    await ensure_schema(conn)
    return conn


async def _live(settings: Settings, database: Database, args: argparse.Namespace) -> int:
    keys = KeyRing(settings.keys_path)
    conn = await _connect(database)
    try:
        if args.audit_command == "verify":
            report = await audit.verify(
                conn, await asyncio.to_thread(keys.public_keys), args.start, args.end, chunk=audit.CHUNK_ALONE
            )
            _print(report.as_json())
            return 0 if report.ok else 1
        if args.audit_command == "checkpoint":
            checkpoint, report = await audit.make_checkpoint(conn, await asyncio.to_thread(keys.current))
            if checkpoint is None:
                _print(
                    {
                        "signed": False,
                        "reason": "nothing new since the last checkpoint" if report.ok else "the log does not verify",
                        "verification": report.as_json(),
                    }
                )
                return 0 if report.ok else 1
            _print({"signed": True, **checkpoint.as_json()})
            return 0
        if args.audit_command == "digests":
            _print(await digests.read_model_digests(conn))
            return 0
        kind, value = next(
            (k, getattr(args, k)) for k in ("learner", "institution", "jurisdiction", "all") if getattr(args, k)
        )
        progress = Progress("export")
        manifest = await bundle.export(
            conn,
            args.out,
            kind,
            None if kind == "all" else value,
            keys,
            lambda stage, done, total: progress(stage, done, total),
        )
        _print(manifest)
        return 0
    finally:
        await conn.close()


def _offline(settings: Settings, args: argparse.Namespace) -> int:
    trusted = json.loads(args.keys.read_text(encoding="utf-8")) if args.keys else None
    report, events = offline.verify_bundle(args.bundle, trusted)
    out: dict[str, Any] = {"bundle": str(args.bundle), **report.as_json()}
    if args.balances:
        out["recomputed"] = offline.recompute(
            events, args.on or settings.today(), args.at_position, offline.read_learners(args.bundle)
        )
    _print(out)
    return 0 if report.ok else 1


def cmd_audit(settings: Settings, args: argparse.Namespace) -> int:
    if args.audit_command == "verify" and args.bundle is not None:
        return _offline(settings, args)
    with open_database(settings.database_url, settings.data_dir, create=False) as database:
        return asyncio.run(_live(settings, database, args))


async def _replay(source_db: Database, target_db: Database, at_position: int | None) -> int:
    source = await _connect(source_db)
    target = await _connect(target_db)
    try:
        upto = at_position if at_position is not None else await eventlog.applied_position(source)
        progress = Progress("replay")
        try:
            copied = await replay.copy_log(source, target, upto, lambda s, d, t: progress(s, d, t))
        except replay.ReplayError as error:
            raise CliError(str(error)) from None
    finally:
        await source.close()
    try:
        pool = await asyncpg.create_pool(**target_db.asyncpg_kwargs(), min_size=1, max_size=2)
        assert pool is not None
        try:
            runner = ProjectionRunner(pool, batch_size=10_000)
            position = await runner.rebuild(lambda done, total: progress("apply events", done, total))
        finally:
            await pool.close()
        _print({"copied_events": copied, "replayed_to": position, **await digests.read_model_digests(target)})
        return 0
    finally:
        await target.close()


def cmd_replay(settings: Settings, args: argparse.Namespace) -> int:
    target = Database.from_url(args.into)
    target.ensure_exists()
    # The event table (the library's schema) is made by opening a bank on the target.
    CreditBank(target.event_store_env(), today=date.today).close()
    with open_database(settings.database_url, settings.data_dir, create=False) as source:
        return asyncio.run(_replay(source, target, args.at_position))


COMMANDS = {"audit": cmd_audit, "replay": cmd_replay}
