"""A bank started on a database that holds an older edition of a shipped policy under the
same version number starts: the stored version stays in force (verdicts were given under
it), the difference is logged as an error naming the policy, the version and the rules,
and the other shipped policies still publish."""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any

import pytest

from api.database import Database
from ledger.application import CreditBank
from ledger.policy import shipped_policies
from tests.e2e.conftest import TOKENS, running_bank, settle

POLICY = "cn-teacher-cycle"


def _older_edition() -> dict[str, Any]:
    shipped = next(p for p in shipped_policies() if p["policy_id"] == POLICY)
    older = copy.deepcopy(shipped)
    older["title"] = "旧版：" + shipped["title"]
    older["rules"] = shipped["rules"][:1]
    return older


async def test_a_shipped_policy_edited_in_place_leaves_the_stored_version_and_says_so(
    bank: CreditBank, database: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    older = _older_edition()
    assert bank.publish_policy(older).status == "recorded"
    shipped = next(p for p in shipped_policies() if p["policy_id"] == POLICY)
    changed_rules = sorted(r["id"] for r in shipped["rules"][1:])
    assert changed_rules, "the shipped policy has more than one rule"

    kept = [w for w in bank.publish_shipped_policies() if w.status == "unchanged"]
    difference = {"policy_id": POLICY, "version": 1, "fields": ["title"], "rules": changed_rules}
    assert [w.detail for w in kept] == [difference]

    caplog.set_level(logging.ERROR, logger="api.service.app")
    async with running_bank(database, tmp_path / "keys", TOKENS) as started:
        # A read without min_position answers what the read models hold: wait until they hold
        # everything written (the older edition was written before the bank started).
        await settle(started)
        r = await started.client.get(f"/v1/policies/{POLICY}", headers=started.auth("hr"))
        assert r.status == 200, await r.text()
        versions = (await r.json())["versions"]
        assert [(v["version"], v["title"]) for v in versions] == [(1, older["title"])]
        # The other shipped policies were published as ever.
        r = await started.client.get("/v1/policies/cn-certificates", headers=started.auth("hr"))
        assert r.status == 200, await r.text()
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any(f"shipped policy {POLICY} version 1 differs" in e and changed_rules[0] in e for e in errors), errors
