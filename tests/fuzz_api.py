"""Property-based API testing from the served OpenAPI document, once per role (CI).

Run as ``.venv/bin/python -m tests.fuzz_api``. It builds a small demo bank in a temporary
data directory, mints one token per role with ``creditbank tokens create``, starts
``creditbank serve`` on a free loopback port, waits for ``/readyz``, runs schemathesis
over ``/openapi.json`` once per role, with its token, on the operations that role may
call (and once without a token on the public ones), stops the server (SIGTERM, then waits), removes
the directory, and exits non-zero if any run failed.

Options: ``--max-examples N`` (default 15), ``--seed S`` (default 20261126), ``--roles
public,admin`` (default: public and every role), ``--checks`` (default :data:`CHECKS`), ``--keep`` (leave
the server running and print its URL and tokens instead of fuzzing, for local work).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CREDITBANK = str(BIN / "creditbank")
SCHEMATHESIS = str(BIN / "schemathesis")

#: positive_data_acceptance accepts a 422 only where tests/fuzz_api.toml says why.
CHECKS = (
    "not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance,"
    "positive_data_acceptance,negative_data_rejection"
)
CONFIG = Path(__file__).with_name("fuzz_api.toml")
PROVIDER = "cn-principal-academy"
JURISDICTION = "220106"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"fuzz_api: {' '.join(args[:3])} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


def _wait_ready(base: str, server: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"fuzz_api: the server exited with {server.returncode} before it was ready")
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=2) as response:
                if response.status == 200 and json.load(response).get("lag") == 0:
                    return
        except (urllib.error.URLError, OSError, ValueError):
            pass
        time.sleep(0.3)
    raise SystemExit(f"fuzz_api: {base}/readyz did not answer 200 within {timeout:.0f}s")


def _stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is not None:
        return
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def _operations(document: dict[str, Any], role: str) -> list[str]:
    """The operations a run covers: those the role may call (``x-roles``), or, for the
    ``public`` run (no token), those that need none. Refusals by role and scope are the
    authorisation matrix test's business (tests/e2e/test_authorisation_matrix.py)."""
    names = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            roles = operation.get("x-roles")
            if (roles is None and role == "public") or (roles is not None and role in roles):
                names.append(f"{method.upper()} {path}")
    return names


def _tokens(env: dict[str, str], learner: str) -> dict[str, str]:
    scopes = {
        "admin": [],
        "institution": ["--provider", PROVIDER],
        "hr": ["--jurisdiction", JURISDICTION],
        "auditor": [],
        "learner": ["--learner", learner],
    }
    return {
        role: _run([CREDITBANK, "tokens", "create", "--role", role, *extra, "--label", "fuzz"], env).strip()
        for role, extra in scopes.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz_api")
    parser.add_argument("--max-examples", type=int, default=15)
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--roles", default="public,admin,institution,hr,auditor,learner")
    parser.add_argument("--checks", default=CHECKS)
    parser.add_argument("--learners", type=int, default=40)
    parser.add_argument("--keep", action="store_true", help="serve and print tokens; do not fuzz")
    parser.add_argument("extra", nargs="*", help="further schemathesis arguments (after --)")
    args = parser.parse_args(argv)

    started = time.monotonic()
    folder = Path(tempfile.mkdtemp(prefix="creditbank-fuzz-"))
    port = _free_port()
    env = {
        **os.environ,
        "CREDITBANK_DATA_DIR": str(folder / "data"),
        "CREDITBANK_LOG_LEVEL": "WARNING",
        "CREDITBANK_HOST": "127.0.0.1",
        "CREDITBANK_PORT": str(port),
    }
    env.pop("CREDITBANK_DATABASE_URL", None)
    server: subprocess.Popen[bytes] | None = None
    failed: list[str] = []
    try:
        banner = _run([CREDITBANK, "demo", "--learners", str(args.learners), "--no-serve"], env)
        found = re.search(r"^\s*learner\s+\S+ \(learner (\S+)\)", banner, re.MULTILINE)
        if found is None:
            raise SystemExit(f"fuzz_api: no learner id in the demo banner:\n{banner}")
        tokens = _tokens(env, found.group(1))
        with (folder / "server.log").open("wb") as log:  # the child keeps its own descriptor
            server = subprocess.Popen([CREDITBANK, "serve"], env=env, cwd=ROOT, stdout=log, stderr=log)
        base = f"http://127.0.0.1:{port}"
        _wait_ready(base, server)
        print(f"fuzz_api: demo bank served at {base} after {time.monotonic() - started:.0f}s", flush=True)
        if args.keep:
            print(json.dumps({"base": base, "folder": str(folder), "pid": server.pid, "tokens": tokens}))
            server = None  # left running on purpose
            return 0
        with urllib.request.urlopen(f"{base}/openapi.json", timeout=10) as response:
            document = json.load(response)
        for role in args.roles.split(","):
            names = _operations(document, role)
            if not names:
                continue
            began = time.monotonic()
            command = [
                SCHEMATHESIS,
                "--config-file",
                str(CONFIG),
                "run",
                f"{base}/openapi.json",
                *(["-H", f"Authorization: Bearer {tokens[role]}"] if role in tokens else []),
                *(arg for name in names for arg in ("--include-name", name)),
                "--checks",
                args.checks,
                "--max-examples",
                str(args.max_examples),
                "--seed",
                str(args.seed),
                # One worker: with two, hypothesis parses lambda sources with ast.parse in two
                # threads at once, which CPython 3.11.7 can fail with "AST constructor recursion
                # depth mismatch" (a runtime error in schemathesis, not a finding).
                "--workers",
                "1",
                "--request-timeout",
                "30",
                "--suppress-health-check",
                "all",
                "--no-color",
                *args.extra,
            ]
            print(f"fuzz_api: == {role}: {len(names)} operations", flush=True)
            code = subprocess.run(command, cwd=folder, check=False).returncode
            print(f"fuzz_api: {role}: exit {code} in {time.monotonic() - began:.0f}s", flush=True)
            if code != 0:
                failed.append(role)
    finally:
        if server is not None:
            _stop(server)
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    total = time.monotonic() - started
    if failed:
        print(f"fuzz_api: FAILED for {', '.join(failed)} ({total:.0f}s)", file=sys.stderr)
        return 1
    print(f"fuzz_api: clean for every role ({total:.0f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
