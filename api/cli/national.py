"""The national view's commands: ``creditbank national follow|show``.

Invariants:
- a thin layer over ``projections.national``; it opens only the view's own database (``--into``)
  and the provinces' ``GET /v1/events`` (an auditor token each, read from a file); it never
  opens a province's database;
- answers are JSON on stdout; exit status 0 done, 2 bad usage.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

import asyncpg

from api.cli.errors import CliError
from api.database import Database
from api.settings import Settings
from projections import national


def add_parsers(sub: Any) -> None:
    view = sub.add_parser("national", help="the national view: every province's learners, each counted once")
    nsub = view.add_subparsers(dest="national_command", required=True)
    follow = nsub.add_parser("follow", help="read the provinces' event streams into the view")
    show = nsub.add_parser("show", help="print the national counts, or where one learner's account is held")
    for command in (follow, show):
        command.add_argument("--into", required=True, help="postgresql://… of the view's own database")
    follow.add_argument(
        "--province",
        nargs=3,
        action="append",
        required=True,
        metavar=("BANK_ID", "URL", "TOKEN_FILE"),
        help="a provincial bank: its id, its address, a file holding an auditor token there (repeat per province)",
    )
    follow.add_argument("--every", type=float, help="keep following, a round every SECONDS (default: one round)")
    show.add_argument("--learner", help="a national teacher number")


def _provinces(given: list[list[str]]) -> list[national.Province]:
    provinces = []
    for bank_id, url, token_file in given:
        try:
            token = Path(token_file).read_text(encoding="utf-8").strip()
        except OSError as error:
            raise CliError(f"cannot read the token of {bank_id}: {error}", exit_code=2) from None
        provinces.append(national.Province(bank_id, url, token))
    return provinces


async def _follow(database: Database, provinces: list[national.Province], every: float | None) -> int:
    pool = await asyncpg.create_pool(**database.asyncpg_kwargs(), min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            await national.ensure_schema(conn)
        while True:
            applied = await national.follow(pool, provinces)
            if every is None:
                async with pool.acquire() as conn:
                    print(json.dumps({"applied": applied, **await national.counts(conn)}, ensure_ascii=False))
                return 0
            await asyncio.sleep(every)
    finally:
        await pool.close()


async def _show(database: Database, learner: str | None) -> int:
    conn = await asyncpg.connect(**database.asyncpg_kwargs())
    try:
        await national.ensure_schema(conn)
        found = await national.holder(conn, learner) if learner else await national.counts(conn)
    finally:
        await conn.close()
    if found is None:
        raise CliError(f"no province holds or held {learner}", exit_code=1)
    print(json.dumps(found, ensure_ascii=False))
    return 0


def cmd_national(settings: Settings, args: argparse.Namespace) -> int:
    database = Database.from_url(args.into)
    if args.national_command == "follow":
        return asyncio.run(_follow(database, _provinces(args.province), args.every))
    return asyncio.run(_show(database, args.learner))


COMMANDS = {"national": cmd_national}
