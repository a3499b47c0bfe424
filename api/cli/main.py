"""The ``creditbank`` command line: serve, demo, tokens, projections.

Invariant: a thin entry point. It parses arguments and settings, opens the database
the settings name (the embedded one by default) and calls into the service; it holds
no rules of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import gc
import logging
import multiprocessing
import os
import signal
import socket
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from aiohttp import web
from marshmallow import ValidationError

from api import auth, console
from api.cli import audit, certificates, national
from api.cli.errors import CliError, invalid_fields
from api.cli.progress import Progress
from api.database import Database, DatabaseUnavailable, open_database
from api.demo.builder import MIN_LEARNERS, DemoSummary, build_demo
from api.service.access_log import RouteAccessLogger
from api.service.app import create_app
from api.settings import Settings, SettingsError
from ledger import school_commands
from ledger.application import CreditBank, Written
from ledger.errors import DomainError
from ledger.evaluation_secret import evaluation_secret
from projections.incidents import EventNotApplied
from projections.runner import ProjectionRunner
from projections.schema import ensure_schema


def _today(settings: Settings) -> date:
    return settings.today()


@contextmanager
def _database(settings: Settings, *, create: bool = False) -> Iterator[Database]:
    """The bank's database; only ``serve`` and ``demo`` may start a new embedded one."""
    with open_database(settings.database_url, settings.data_dir, create=create) as database:
        yield database


# -- serve -------------------------------------------------------------------------


async def _tune_collector(app: web.Application) -> None:
    """Once the service is up: what start-up built (caches, parsed policies, the OpenAPI
    document, imported modules) lives as long as the process, so take it out of the
    collector's scans, and collect the young generation less often. The collector was ~10%
    of the server's busy time under batch ingest (bench/NOTES.md); a request's garbage is
    mostly acyclic and goes by reference counting anyway."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


def serving_app(settings: Settings, database: Database | None = None) -> web.Application:
    """The service as a long-running server process runs it (``serve``, ``demo``)."""
    app = create_app(settings, database=database)
    console.install(app)
    app.on_startup.append(_tune_collector)  # after the cleanup contexts: the services exist
    return app


def _cannot_listen(settings: Settings, error: OSError) -> SettingsError:
    where = f"cannot listen on {settings.host}:{settings.port}"
    if isinstance(error, socket.gaierror):
        return SettingsError(
            f"{where}: {settings.host!r} is not a host name or address this machine knows "
            "(set --host or CREDITBANK_HOST)"
        )
    reasons = {
        errno.EADDRINUSE: "another program (perhaps another creditbank) is listening there; stop it, "
        "or choose another port with --port or CREDITBANK_PORT",
        errno.EADDRNOTAVAIL: "this machine has no such address; choose another with --host or CREDITBANK_HOST",
        errno.EACCES: "not allowed (ports below 1024 need privileges); choose another with --port or CREDITBANK_PORT",
    }
    return SettingsError(f"{where}: {reasons.get(error.errno or 0, error.strerror or str(error))}")


def _check_address(settings: Settings) -> None:
    """Before anything starts (a demo takes a while to build): can the service listen there?"""
    try:
        with socket.create_server((settings.host, settings.port)):
            pass
    except OSError as error:
        raise _cannot_listen(settings, error) from None


def _listen(app: web.Application, settings: Settings, *, reuse_port: bool = False) -> None:
    try:
        web.run_app(
            app,
            host=settings.host,
            port=settings.port,
            print=None,
            shutdown_timeout=10,
            access_log_class=RouteAccessLogger,
            reuse_port=reuse_port or None,
        )
    except OSError as error:
        if error.errno not in {errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES}:
            raise
        raise _cannot_listen(settings, error) from None


def _run(settings: Settings, *, reuse_port: bool = False) -> None:
    _listen(serving_app(settings), settings, reuse_port=reuse_port)


def _serve_worker(settings: Settings) -> None:
    """A further server process (``serve --workers N``): same port, no projections."""
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _run(settings, reuse_port=True)


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    _check_address(settings)
    logging.getLogger(__name__).info(
        "serving on http://%s:%s; the bank's data: %s",
        settings.host,
        settings.port,
        "CREDITBANK_DATABASE_URL" if settings.database_url else settings.data_dir.resolve(),
    )
    if args.workers <= 1:
        _run(settings)
        return 0
    # Several processes share the port (SO_REUSEPORT), so requests use every core; each has
    # its own writer, and a conflict between them is a version conflict that is retried.
    # They must reach one database: the embedded one is started here and its URL handed on.
    with _database(settings, create=True) as database:
        shared = replace(settings, database_url=database.url)
        others = replace(shared, inline_projections=False, checkpoint_seconds=0)
        spawn = multiprocessing.get_context("spawn")
        workers = [spawn.Process(target=_serve_worker, args=(others,), daemon=True) for _ in range(args.workers - 1)]
        for worker in workers:
            worker.start()
        try:
            _run(shared, reuse_port=True)
        finally:
            for worker in workers:
                if worker.pid is not None and worker.is_alive():
                    os.kill(worker.pid, signal.SIGTERM)
            for worker in workers:
                worker.join(timeout=30)
    return 0


# -- demo --------------------------------------------------------------------------

#: The school the demo's school token acts for (the demo's first school, which holds sessions).
DEMO_SCHOOL = "2201060001"

DEMO_TOKENS: tuple[tuple[str, dict[str, str]], ...] = (
    ("admin", {}),
    ("institution", {"provider_id": "PROVIDER"}),
    ("hr", {"jurisdiction": "220106"}),
    ("auditor", {}),
    ("learner", {"learner_id": "LEARNER"}),
    ("school", {"school_id": "SCHOOL"}),
)


async def _mint_demo_tokens(
    database: Database, provider_id: str, learner_id: str, school_id: str = DEMO_SCHOOL
) -> dict[str, str]:
    conn = await asyncpg.connect(**database.asyncpg_kwargs())
    try:
        await conn.execute(auth.SCHEMA)
        tokens = {}
        for role, scope in DEMO_TOKENS:
            values = {"PROVIDER": provider_id, "LEARNER": learner_id, "SCHOOL": school_id}
            tokens[role] = await auth.mint(
                conn,
                role,
                label="demo",
                provider_id=values.get(scope.get("provider_id", "")),
                jurisdiction=scope.get("jurisdiction"),
                learner_id=values.get(scope.get("learner_id", "")),
                school_id=values.get(scope.get("school_id", "")),
            )
        return tokens
    finally:
        await conn.close()


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    if not args.no_serve:
        _check_address(settings)
    with _database(settings, create=True) as database:
        today = _today(settings)
        bank = CreditBank(database.event_store_env(), today=lambda: today)
        try:
            summary = build_demo(
                bank,
                today=today,
                learners=args.learners,
                progress=Progress("demo"),
                zone=ZoneInfo(settings.timezone),
                evaluation_secret=evaluation_secret(settings.keys_path),
            )
        finally:
            bank.close()
        institution = summary.provider_ids[0]
        learner = summary.example_learner_id  # the prospective principal, unless erased
        tokens = asyncio.run(_mint_demo_tokens(database, institution, learner, summary.school_id))
        base = f"http://{settings.host}:{settings.port}"
        print(_demo_banner(base, summary, tokens, institution, learner))
        if args.no_serve:
            return 0
        _listen(serving_app(settings, database=database), settings)
    return 0


def _demo_banner(base: str, summary: DemoSummary, tokens: dict[str, str], provider: str, learner: str) -> str:
    lines = [
        "",
        f"Creditbank demo bank is ready: district {summary.district}, {summary.learners:,} learners, "
        f"{summary.completions:,} completions, {summary.revocations:,} revocations, "
        f"{len(summary.provider_ids)} institutions",
        "",
        "Tokens (shown once; stored only as hashes):",
    ]
    for role, token in tokens.items():
        scope = {
            "institution": f" (provider {provider})",
            "hr": " (jurisdiction 220106)",
            "learner": f" (learner {learner})",
            "school": f" (school {summary.school_id})",
        }.get(role, "")
        lines.append(f"  {role:<12}{token}{scope}")
    lines += [
        "",
        "Try:",
        f"  curl -s {base}/v1/learners/{learner}/balance -H 'Authorization: Bearer {tokens['hr']}'",
        f"  curl -s {base}/v1/learners/{learner}/history -H 'Authorization: Bearer {tokens['auditor']}'",
        f"  curl -s '{base}/v1/events?after=0&limit=5' -H 'Authorization: Bearer {tokens['auditor']}'",
        f"  curl -s -X POST {base}/v1/completions -H 'Authorization: Bearer {tokens['institution']}' \\",
        '       -H \'Content-Type: application/json\' -d \'{"completions": [{"record_id": "try-1", '
        f'"learner_id": "{learner}", "programme": {{"code": "DEMO-1", "title": "试听课程", '
        '"category": "ethics", "level": "national"}, "hours": "2.5", "assessment": "pass", '
        f'"completed_on": "{date.today() - timedelta(days=1)}"}}]}}\'',
        f"  open {base}/docs for the whole contract",
        "",
    ]
    return "\n".join(lines)


# -- tokens ------------------------------------------------------------------------


async def _tokens(database: Database, args: argparse.Namespace) -> int:
    conn = await asyncpg.connect(**database.asyncpg_kwargs())
    try:
        await conn.execute(auth.SCHEMA)
        if args.tokens_command == "create":
            expires = timedelta(days=args.expires_in_days) if args.expires_in_days is not None else None
            try:
                token = await auth.mint(
                    conn,
                    args.role,
                    provider_id=args.provider,
                    jurisdiction=args.jurisdiction,
                    learner_id=args.learner,
                    school_id=args.school,
                    label=args.label,
                    expires_in=expires,
                )
            except auth.TokenError as error:
                raise CliError(str(error), exit_code=2) from None
            print(token)
        elif args.tokens_command == "revoke":
            token_id = args.token_id.split("_")[1] if args.token_id.startswith("cbk_") else args.token_id
            if not await auth.revoke(conn, token_id):
                raise CliError(f"no active token {token_id}")
            print(f"revoked {token_id}")
        else:
            print(f"{'token':<12}  {'role':<12} {'scope':<20} {'state':<8} {'expires (UTC)':<16} label")
            for row in await auth.list_tokens(conn):
                scope = row["provider_id"] or row["jurisdiction"] or row["learner_id"] or row["school_id"] or "-"
                until = row["expires_at"].astimezone(UTC).strftime("%Y-%m-%d %H:%M") if row["expires_at"] else "never"
                print(
                    f"{row['token_id']:<12}  {row['role']:<12} {scope:<20} {row['state']:<8} {until:<16} "
                    f"{row['label'] or ''}"
                )
        return 0
    finally:
        await conn.close()


def _unknown_scope(database: Database, args: argparse.Namespace) -> str | None:
    """Why the institution or learner a new token would act for cannot have one (not
    registered, or erased), asked of the ledger itself; None when it can."""
    if args.tokens_command != "create" or not (args.provider or args.learner or args.school):
        return None
    bank = CreditBank(database.event_store_env(), today=date.today)
    try:
        if args.provider:
            bank.provider(args.provider)
        if args.learner:
            bank.learner(args.learner)
        if args.school:
            school_commands.school(bank, args.school)
    except DomainError as error:
        return f"{error.detail}; register it first"
    finally:
        bank.close()
    return None


def cmd_tokens(settings: Settings, args: argparse.Namespace) -> int:
    with _database(settings) as database:
        refusal = _unknown_scope(database, args)
        if refusal is not None:
            raise CliError(refusal, exit_code=2)
        return asyncio.run(_tokens(database, args))


# -- projections -------------------------------------------------------------------


async def _projections(database: Database, rebuild: bool) -> int:
    pool = await asyncpg.create_pool(**database.asyncpg_kwargs(), min_size=1, max_size=4)
    assert pool is not None
    try:
        async with pool.acquire() as conn:
            await ensure_schema(conn)
        runner = ProjectionRunner(pool, connect_kwargs=database.asyncpg_kwargs())
        if rebuild:
            progress = Progress("rebuild")
            try:
                position = await runner.rebuild(lambda done, total: progress("events", done, total))
            except EventNotApplied as stuck:
                print(
                    f"rebuild stopped: {stuck}; the read models are at position {stuck.incident.position - 1}. "
                    "See 'When the read models cannot apply an event' in the README.",
                    file=sys.stderr,
                )
                return 1
            print(f"rebuilt read models to position {position}")
            return 0
        loop = asyncio.get_running_loop()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, lambda: asyncio.ensure_future(runner.stop()))
        await runner.run()
        return 0
    finally:
        await pool.close()


def cmd_projections(settings: Settings, args: argparse.Namespace) -> int:
    # The event table must exist before the read side tails it.
    with _database(settings) as database:
        CreditBank(database.event_store_env(), today=lambda: _today(settings)).close()
        return asyncio.run(_projections(database, args.projections_command == "rebuild"))


# -- policies ----------------------------------------------------------------------


def _publish_file(
    settings: Settings,
    path: str,
    publish: Callable[[CreditBank, dict[str, Any]], Written],
    name: Callable[[dict[str, Any]], str],
) -> int:
    """Read a JSON file (numbers as exact decimals) and publish it with ``publish``."""
    from ledger.policy import load_policy_file

    try:
        with open(path, encoding="utf-8") as handle:
            data = load_policy_file(handle.read())
    except (OSError, ValueError) as error:
        raise CliError(f"cannot read {path}: {error}", exit_code=2) from None
    if not isinstance(data, dict):
        raise CliError(f"{path} must hold one JSON object", exit_code=2)
    with _database(settings) as database:
        bank = CreditBank(database.event_store_env(), today=lambda: _today(settings))
        try:
            result = publish(bank, data)
        except DomainError as error:
            raise CliError(f"{error.code} at {error.field or 'body'}: {error.detail}") from None
        finally:
            bank.close()
    print(f"{result.status} {name(data)} at position {result.position}")
    return 0


def cmd_policies(settings: Settings, args: argparse.Namespace) -> int:
    return _publish_file(
        settings, args.file, lambda bank, data: bank.publish_policy(data), lambda data: str(data.get("policy_id"))
    )


def cmd_degree_mappings(settings: Settings, args: argparse.Namespace) -> int:
    """Publish a credit-to-degree mapping version, checked by the same schema as the API's."""
    from api.service.degree_credit_schemas import mapping_schema
    from ledger.degree_commands import publish_mapping

    def publish(bank: CreditBank, data: dict[str, Any]) -> Written:
        try:
            mapping = mapping_schema.load(data)
        except ValidationError as error:
            raise invalid_fields(args.file, error) from None
        return publish_mapping(bank, mapping).written

    return _publish_file(settings, args.file, publish, lambda data: f"{data.get('university')}/{data.get('programme')}")


# -- parser ------------------------------------------------------------------------

MAX_TOKEN_DAYS = 36_500


def _whole(low: int, high: int, what: str) -> Callable[[str], int]:
    """An argument type: an ASCII whole number from ``low`` to ``high``, else a sentence."""

    def parse(text: str) -> int:
        if not (text.isascii() and text.isdigit() and low <= int(text) <= high):
            raise argparse.ArgumentTypeError(f"{what}: a whole number from {low} to {high}, not {text!r}")
        return int(text)

    return parse


_port = _whole(1, 65535, "a port")
_learners = _whole(MIN_LEARNERS, 10_000_000, "the demo's learners")
_days = _whole(1, MAX_TOKEN_DAYS, "days until the token expires (omit it for a token that does not expire)")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="creditbank", description="Creditbank: training credit bank")
    sub = root.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP service")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes sharing the port (projections run in the first); default 1",
    )
    demo = sub.add_parser("demo", help="build a demo district, print tokens, and serve it")
    for command in (serve, demo):
        command.add_argument("--host", help="the address to listen on (default CREDITBANK_HOST, else 127.0.0.1)")
        command.add_argument("--port", type=_port, help="the port to listen on (default CREDITBANK_PORT, else 8080)")
    demo.add_argument(
        "--learners",
        type=_learners,
        default=1000,
        help=f"how many learners the district has ({MIN_LEARNERS} or more); default 1000",
    )
    demo.add_argument("--no-serve", action="store_true", help="build and print tokens, then exit")
    tokens = sub.add_parser("tokens", help="create, revoke or list API tokens")
    tsub = tokens.add_subparsers(dest="tokens_command", required=True)
    create = tsub.add_parser("create")
    create.add_argument("--role", required=True, choices=auth.ROLES)
    create.add_argument("--provider")
    create.add_argument("--jurisdiction")
    create.add_argument("--learner")
    create.add_argument("--school", help="the school a school token acts for")
    create.add_argument("--label")
    create.add_argument(
        "--expires-in-days",
        type=_days,
        metavar="N",
        help="the token stops working after N days (1 or more); omit for no expiry",
    )
    revoke = tsub.add_parser("revoke")
    revoke.add_argument("token_id", help="the token's id (or the whole token)")
    tsub.add_parser("list")
    projections = sub.add_parser("projections", help="run or rebuild the read models")
    psub = projections.add_subparsers(dest="projections_command", required=True)
    psub.add_parser("run", help="apply new events as they arrive (a worker process)")
    psub.add_parser("rebuild", help="rebuild every read model from the event log")
    policies = sub.add_parser("policies", help="publish policy versions")
    polsub = policies.add_subparsers(dest="policies_command", required=True)
    publish = polsub.add_parser("publish", help="publish a policy version from a JSON file")
    publish.add_argument("file")
    mappings = sub.add_parser("degree-mappings", help="publish credit-to-degree mapping versions")
    msub = mappings.add_subparsers(dest="mappings_command", required=True)
    msub.add_parser(
        "publish", help="publish a mapping version from a JSON file (as POST /v1/degree-mappings)"
    ).add_argument("file")
    certificates.add_parsers(sub)
    audit.add_parsers(sub)
    national.add_parsers(sub)
    return root


COMMANDS = {
    "serve": cmd_serve,
    "demo": cmd_demo,
    "tokens": cmd_tokens,
    "projections": cmd_projections,
    "policies": cmd_policies,
    "degree-mappings": cmd_degree_mappings,
    **certificates.COMMANDS,
    **audit.COMMANDS,
    **national.COMMANDS,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # Where the platform has no runtime folder the embedded server's helper says so on every command.
    warnings.filterwarnings("ignore", message=r"XDG_RUNTIME_DIR is not set")
    try:
        settings = Settings.from_env()
        if getattr(args, "host", None) or getattr(args, "port", None):
            settings = replace(settings, host=args.host or settings.host, port=args.port or settings.port)
        logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        return COMMANDS[args.command](settings, args)
    except (SettingsError, DatabaseUnavailable) as error:
        print(f"creditbank: {error}", file=sys.stderr)
        return 2
    except CliError as error:
        print(f"creditbank: {error}", file=sys.stderr)
        return error.exit_code


if __name__ == "__main__":
    sys.exit(main())
