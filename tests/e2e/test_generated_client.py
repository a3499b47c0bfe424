"""Worked example: the served OpenAPI document is a valid OpenAPI 3.1 document, and a client
generated from it with ``openapi-python-client`` (at test time, into a temporary folder) can
make the calls the contract promises: post a batch of completions (207, one result per item),
read a balance, ask a verdict, and recognise degree credits through ``POST /v1/transfers``."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from openapi_spec_validator import validate

from api.service.openapi import build_openapi
from api.service.routes import ROUTES
from tests.e2e.conftest import Bank, completion, seed
from tests.e2e.test_degree_credits_api import EDM

PACKAGE = "creditbank_client"


def test_the_document_is_valid_openapi_and_documents_every_body_form() -> None:
    document = build_openapi(ROUTES)
    validate(document)
    paths = document["paths"]
    bodies = {
        path: paths[path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        for path in ("/v1/completions", "/v1/transfers")
    }
    assert bodies["/v1/completions"]["oneOf"] == [
        {"$ref": "#/components/schemas/Completion"},
        {"$ref": "#/components/schemas/CompletionBatch"},
    ]
    assert bodies["/v1/transfers"]["oneOf"] == [
        {"$ref": "#/components/schemas/Transfer"},
        {"$ref": "#/components/schemas/Recognition"},
    ]
    batch = document["components"]["schemas"]["CompletionBatch"]
    assert batch["properties"]["completions"]["items"] == {"$ref": "#/components/schemas/Completion"}
    transfer_answers = paths["/v1/transfers"]["post"]["responses"]["201"]["content"]["application/json"]["schema"]
    assert transfer_answers["oneOf"] == [
        {"$ref": "#/components/schemas/Transferred"},
        {"$ref": "#/components/schemas/Recognised"},
    ]


def _generate(document: dict[str, Any], folder: Path) -> None:
    (folder / "openapi.json").write_text(json.dumps(document), encoding="utf-8")
    (folder / "config.yaml").write_text("post_hooks: []\n", encoding="utf-8")
    generator = Path(sys.executable).parent / "openapi-python-client"
    done = subprocess.run(
        [
            str(generator),
            "generate",
            "--path",
            "openapi.json",
            "--output-path",
            PACKAGE,
            "--meta",
            "none",
            "--config",
            "config.yaml",
            "--overwrite",
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # A warning means a piece of the document was skipped: the client would lack it.
    assert done.returncode == 0 and "Warning" not in done.stdout + done.stderr, done.stdout + done.stderr


@pytest.fixture
def generated(tmp_path: Path) -> Iterator[Any]:
    """Import the generated package fresh from tmp_path; forget it afterwards."""
    sys.path.insert(0, str(tmp_path))

    def load(document: dict[str, Any]) -> ModuleType:
        _generate(document, tmp_path)
        importlib.invalidate_caches()
        return importlib.import_module(PACKAGE)

    try:
        yield load
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.{name}")


async def test_a_generated_client_posts_a_batch_reads_a_balance_asks_a_verdict_and_recognises_credits(
    bank: Bank, generated: Any
) -> None:
    await seed(bank)
    r = await bank.client.get("/openapi.json")
    package = generated(await r.json())
    models = _module("models")
    base_url = str(bank.client.make_url("")).rstrip("/")

    def client(role: str) -> Any:
        return package.AuthenticatedClient(base_url=base_url, token=bank.tokens[role], raise_on_unexpected_status=True)

    items = [
        completion("GEN-1", hours="2.5"),
        completion("GEN-2", hours="1.25"),
        completion(
            "GEN-PQ",
            "P-0001",
            hours="96",
            programme={
                "code": "PQ",
                "title": "任职资格培训",
                "category": "principal_qualification",
                "level": "national",
            },
        ),
    ]
    batch = models.CompletionBatch(completions=[models.Completion.from_dict(item) for item in items])
    post = _module("api.default.post_v1_completions")
    async with client("institution") as institution:
        answered = await post.asyncio_detailed(client=institution, body=batch)
    assert answered.status_code == 207, answered.content
    results = answered.parsed.results
    assert [(x.record_id, str(x.status)) for x in results] == [
        ("GEN-1", "recorded"),
        ("GEN-2", "recorded"),
        ("GEN-PQ", "recorded"),
    ]
    position = max(x.position for x in results)

    balance = _module("api.default.get_v1_learners_learner_id_balance")
    verdict = _module("api.default.get_v1_learners_learner_id_eligibility")
    async with client("hr") as hr:
        read = await balance.asyncio_detailed("T-0001", client=hr, min_position=position)
        assert read.status_code == 200, read.content
        assert isinstance(read.parsed, models.Balance)
        assert read.parsed.total.hours == "3.75"
        assert read.parsed.by_category["ethics"].hours == "3.75"

        judged = await verdict.asyncio_detailed(
            "P-0001", client=hr, target="principal_appointment", min_position=position
        )
        assert judged.status_code == 200, judged.content
        assert isinstance(judged.parsed, models.Verdict)
        assert judged.parsed.eligible is False
        assert judged.parsed.requirements[0]["actual"] == "96"

    r = await bank.client.post("/v1/degree-mappings", headers=bank.auth("admin"), json=EDM)
    assert r.status == 201, await r.text()
    transfer = _module("api.default.post_v1_transfers")
    recognition = models.Recognition.from_dict(
        {
            "type": "degree_credit",
            "transfer_id": "gen-edm-1",
            "learner_id": "P-0001",
            "mapping_id": "nenu:edm-leadership",
            "completions": [{"provider_id": "JLU-TTC", "record_id": "GEN-PQ"}],
        }
    )
    async with client("hr") as hr:
        recognised = await transfer.asyncio_detailed(client=hr, body=recognition)
    assert recognised.status_code == 201, recognised.content
    move = models.Transfer.from_dict({"transfer_id": "gen-move-1", "learner_id": "T-0001", "destination": "330300"})
    async with client("hr") as hr:
        moved = await transfer.asyncio_detailed(client=hr, body=move)
    assert moved.status_code == 201, moved.content
    assert isinstance(moved.parsed, models.Transferred) and moved.parsed.transfer_id == "gen-move-1"
    assert isinstance(recognised.parsed, models.Recognised)
    assert recognised.parsed.credits_ == "6" and recognised.parsed.hours == "96"  # credits_: not the builtin
