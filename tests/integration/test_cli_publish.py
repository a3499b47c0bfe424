"""Worked example: a university's credit-to-degree mapping published from a file with
``creditbank degree-mappings publish``, checked by the same schema and rules as the API's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.cli.main import main
from api.database import Database
from tests.integration.test_audit_replay import url_of

MAPPING = {
    "university": "nenu",
    "programme": "edm-leadership",
    "title": "教育硕士（学校领导与管理）",
    "programme_credits": "36",
    "hours_per_credit": "16",
    "overall_cap": "12",
    "categories": [{"category": "principal_qualification", "cap": "8"}, {"category": "ethics", "cap": None}],
    "levels": ["national", "provincial"],
    "effective_from": "2025-01-01",
}


def test_a_mapping_file_is_published_once_and_a_bad_one_is_refused_with_its_field(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CREDITBANK_DATABASE_URL", url_of(database))
    monkeypatch.setenv("CREDITBANK_LOG_LEVEL", "WARNING")
    good = tmp_path / "edm.json"
    good.write_text(json.dumps(MAPPING, ensure_ascii=False), encoding="utf-8")

    assert main(["degree-mappings", "publish", str(good)]) == 0
    assert capsys.readouterr().out.startswith("recorded nenu/edm-leadership at position ")
    assert main(["degree-mappings", "publish", str(good)]) == 0
    assert capsys.readouterr().out.startswith("duplicate nenu/edm-leadership")

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**MAPPING, "overall_cap": "40"}), encoding="utf-8")
    assert main(["degree-mappings", "publish", str(bad)]) == 1
    assert "overall_cap" in capsys.readouterr().err
    bad.write_text(json.dumps({**MAPPING, "hours_per_credit": "many"}), encoding="utf-8")
    assert main(["degree-mappings", "publish", str(bad)]) == 1
    assert "hours_per_credit" in capsys.readouterr().err


def test_a_file_the_command_cannot_use_is_refused_in_a_sentence_not_an_http_problem(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CREDITBANK_DATABASE_URL", url_of(database))
    monkeypatch.setenv("CREDITBANK_LOG_LEVEL", "WARNING")
    listed = tmp_path / "listed.json"
    listed.write_text(json.dumps([MAPPING]), encoding="utf-8")
    assert main(["degree-mappings", "publish", str(listed)]) == 2
    assert capsys.readouterr().err == f"creditbank: {listed} must hold one JSON object\n"

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**MAPPING, "hours_per_credit": "many", "surprise": 1}), encoding="utf-8")
    assert main(["degree-mappings", "publish", str(bad)]) == 1
    said = capsys.readouterr().err
    assert said.startswith(f"creditbank: {bad} has invalid fields: hours_per_credit: ")
    assert "; surprise: Unknown field." in said
    assert "validation_failed" not in said  # the service's problem code is not the command's word
