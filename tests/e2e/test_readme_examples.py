"""The README's worked examples, run as written against a freshly built demo.

Every fenced block marked ``sh demo`` in README.md is cut into commands, each followed by
the line that says what it answers (``# → 207 results.0.status="recorded" …``: the status,
then fields by dotted path with their JSON values, ``*`` for "present and not empty", or a
media type). Each command runs with ``bash`` and the real ``curl`` against the demo (the
default 1,000 learners, built for 2026-12-01 as the README says), in order, with the
demo's tokens in ``$HR``, ``$AUDITOR``, ``$INSTITUTION``, ``$ADMIN`` and the README's
``$L``."""

from __future__ import annotations

import asyncio
import json
import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from api.cli.main import _mint_demo_tokens
from api.database import Database
from api.demo.builder import build_demo
from api.service.app import create_app
from api.settings import Settings
from ledger.application import CreditBank
from ledger.evaluation_secret import evaluation_secret

README = Path(__file__).resolve().parents[2] / "README.md"
DEMO_DAY = date(2026, 12, 1)
BLOCK = re.compile(r"^```sh demo\n(.*?)^```", re.M | re.S)
ANSWER = re.compile(r"^# → (.*)$", re.M)
#: Prints the status and media type to stderr, so a body sent to a file stays clean.
CURL = "curl() { command curl -sS -w '%{stderr}%{http_code} %{content_type}\\n' \"$@\"; }\n"
MISSING = object()


@dataclass(frozen=True)
class Example:
    command: str
    answer: str


def examples(text: str) -> list[Example]:
    found = []
    for block in BLOCK.findall(text):
        pieces = ANSWER.split(block)
        # split() alternates command text and the answer captured after it.
        commands, answers, rest = pieces[0::2], pieces[1::2], pieces[-1]
        assert not rest.strip(), f"a command with no '# → ' answer after it:\n{rest}"
        found += [Example(c.strip(), a.strip()) for c, a in zip(commands, answers, strict=False)]
    return found


def at(body: Any, path: str) -> Any:
    for key in path.split("."):
        if isinstance(body, list) and key.isdigit() and int(key) < len(body):
            body = body[int(key)]
        elif isinstance(body, dict) and key in body:
            body = body[key]
        else:
            return MISSING
    return body


def check(example: Example, status: str, media_type: str, out: str) -> None:
    expected, *claims = example.answer.split()
    where = f"{example.command}\n# → {example.answer}"
    assert status == expected, f"{where}\nanswered {status}: {out[:2000]}"
    body = json.loads(out) if media_type.startswith(("application/json", "application/problem+json")) else None
    for claim in claims:
        if "=" not in claim:
            assert media_type.startswith(claim), f"{where}\nanswered {media_type}"
            continue
        path, value = claim.split("=", 1)
        found = at(body, path)
        if value == "*":
            assert found not in (MISSING, None, "", [], {}), f"{where}\n{path} is {found!r}"
        else:
            assert found == json.loads(value), f"{where}\n{path} is {found!r}"


def test_every_curl_in_a_demo_block_says_what_it_answers() -> None:
    text = README.read_text(encoding="utf-8")
    found = examples(text)
    assert len(found) >= 15
    for block in BLOCK.findall(text):
        assert block.count("curl ") == len(ANSWER.findall(block)), block


@pytest.fixture
async def demo(database: Database, tmp_path: Path) -> Any:
    bank = CreditBank(database.event_store_env(), today=lambda: DEMO_DAY)
    try:
        secret = evaluation_secret(tmp_path / "keys")  # the service's, so its marks are the demo's
        summary = await asyncio.to_thread(build_demo, bank, today=DEMO_DAY, evaluation_secret=secret)
    finally:
        bank.close()
    tokens = await _mint_demo_tokens(database, summary.provider_ids[0], summary.prospective_principal_id)
    settings = Settings(key_dir=tmp_path / "keys", checkpoint_seconds=1)
    server = TestServer(create_app(settings, database=database, today=lambda: DEMO_DAY), host="127.0.0.1")
    await server.start_server()
    try:
        yield summary, tokens, server
    finally:
        await server.close()


async def test_the_readme_examples_answer_what_the_readme_says(demo: Any, tmp_path: Path) -> None:
    summary, tokens, server = demo
    text = README.read_text(encoding="utf-8")
    learner = re.search(r"^L=(\d+)", text, re.M)
    assert learner is not None and learner.group(1) == summary.prospective_principal_id
    env = {**os.environ, "L": learner.group(1), **{role.upper(): token for role, token in tokens.items()}}
    client = server.make_url("")
    for _ in range(400):  # the read models catch up with the demo, and a checkpoint is signed
        async with aiohttp.ClientSession() as session:
            ready = await (await session.get(client / "readyz")).json()
            checkpoints = await (await session.get(client / "v1/audit/checkpoints")).json()
        if ready.get("lag") == 0 and checkpoints["checkpoints"]:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError(f"the demo did not settle: {ready}")
    for example in examples(text):
        command = example.command.replace("localhost:8080", f"127.0.0.1:{server.port}")
        process = await asyncio.create_subprocess_exec(
            "bash",
            "-c",
            CURL + command,
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        assert process.returncode == 0, err.decode()
        status, _, media_type = err.decode().strip().rpartition("\n")[2].partition(" ")
        check(example, status, media_type, out.decode())
