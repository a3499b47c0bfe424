"""Every problem code the bank can answer has Chinese and English words, and a reader who
prefers Chinese gets them.

The codes are found, not listed: every subclass of the ledger's root error, and every code
the service's own refusals name in api/ (``Problem(status, "code", ...)`` and
``problem_response(...)`` read from the source). A new error class or refusal without words
fails here, with its code in the message.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from api import auth
from api.service.problem_labels import (
    API_WORDS,
    errors_in_chinese,
    field_note,
    in_chinese,
    message_in_chinese,
    preferred_language,
    problem_labels,
    words_for,
)
from ledger.error_labels import ERROR_WORDS, domain_error_classes, error_labels
from ledger.errors import HoursInvalid
from ledger.vocabulary import LABELS

API = Path(__file__).resolve().parents[2] / "api"


def _service_refusals() -> set[tuple[str, str]]:
    """(code, English title) of every refusal written out under api/."""
    found = set()
    for path in API.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or len(node.args) < 3:
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", None))
            code, title = node.args[1], node.args[2]
            if name in {"Problem", "problem_response"} and isinstance(code, ast.Constant):
                found.add((str(code.value), str(title.value) if isinstance(title, ast.Constant) else ""))
    return found


def test_every_domain_error_code_has_chinese_words() -> None:
    codes = {cls.code for cls in domain_error_classes()}
    missing = sorted(codes - ERROR_WORDS.keys())
    assert not missing, f"give these codes Chinese words in ledger/error_labels.py: {missing}"
    stale = sorted(ERROR_WORDS.keys() - codes)
    assert not stale, f"no error class has these codes any more: {stale}"


def test_every_refusal_of_the_service_has_chinese_words() -> None:
    refusals = _service_refusals()
    assert len(refusals) > 20  # the scan finds the refusals, not nothing
    missing = sorted(code for code, title in refusals if words_for(code, title) is None)
    assert not missing, f"give these codes words in api/service/problem_labels.py: {missing}"


def test_the_served_problem_labels_have_both_languages() -> None:
    labels = problem_labels()
    for code, label in labels.items():
        assert label.zh and label.en and label.zh != label.en, code
    assert labels["hours_invalid"].zh == "学时无效"
    assert labels["hours_invalid"].en == HoursInvalid.title
    assert labels["unauthenticated"].en == API_WORDS["unauthenticated"][0]
    assert set(error_labels()) <= set(labels)


def test_chinese_words_are_chinese_sentences() -> None:
    for code, words in ERROR_WORDS.items():
        assert any("\u4e00" <= ch <= "\u9fff" for ch in words.zh), code
        assert words.detail.endswith("。"), code


def test_every_token_role_has_labels() -> None:
    assert set(auth.ROLES) <= set(LABELS["token_role"])
    assert LABELS["token_role"]["school"].zh == "学校"


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "en"),
        ("", "en"),
        ("*", "en"),
        ("zh", "zh"),
        ("zh-CN", "zh"),
        ("zh-Hans-CN", "zh"),
        ("ZH-cn,zh;q=0.9", "zh"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("en-US,en;q=0.9,zh-CN;q=0.8", "en"),
        ("en;q=0.5, zh;q=0.6", "zh"),
        ("zh;q=0, en", "en"),
        ("fr, zh;q=0.2", "zh"),
        ("fr, de", "en"),
        ("en, zh", "en"),
        ("zh, en", "zh"),
        ("zh;q=abc", "en"),
    ],
)
def test_the_language_follows_accept_language(header: str | None, language: str) -> None:
    assert preferred_language(header) == language


def test_a_chinese_detail_names_the_field_paths_in_a_chinese_sentence() -> None:
    title, detail = in_chinese("hours_invalid", HoursInvalid.title, "must be at most 2000", ["completions[3].hours"])
    assert title == "学时无效"
    assert detail == "学时须为大于 0 的精确小数，最多两位小数。（字段：completions[3].hours）"
    assert field_note(["body"]) == ""
    assert field_note(["b", "a", "a"]) == "（字段：a、b）"
    # A title the words know apart from the code's other situations.
    assert in_chinese("malformed_json", "The body nests too deep", "JSON may nest...", [])[0] == "请求体嵌套过深"
    # A code with no words keeps its English: never a refusal without text.
    assert in_chinese("no_such_code", "Title", "detail", []) == ("Title", "detail")


@pytest.mark.parametrize(
    ("english", "chinese"),
    [
        ("Missing data for required field.", "缺少必填字段。"),
        ("Unknown field.", "不接受此字段。"),
        ("Length must be between 1 and 500.", "长度须在 1 到 500 之间。"),
        ("must be one of pass, excellent, fail", "须为以下之一：pass, excellent, fail"),
        ("Must be one of: zh, en.", "须为以下之一：zh, en"),
        ("2.555 has more than two decimal places", "2.555 超过两位小数。"),
        ("must be a date written YYYY-MM-DD", "须为 YYYY-MM-DD 格式的日期。"),
        ("must lie between 1950-01-01 and 2100-12-31", "须在 1950-01-01 与 2100-12-31 之间。"),
        ("something no template knows", "something no template knows"),
    ],
)
def test_messages_under_a_field_path_read_in_chinese(english: str, chinese: str) -> None:
    assert message_in_chinese(english) == chinese


def test_a_rule_of_the_ledger_says_its_own_sentence_under_its_field() -> None:
    errors = {"completed_on": ["2099-01-01 is after today"], "hours": ["Unknown field."]}
    assert errors_in_chinese(errors, "completion_in_future") == {
        "completed_on": ["结业日期不能晚于今天。"],
        "hours": ["不接受此字段。"],
    }
    assert errors_in_chinese({"x": ["odd"]}, "validation_failed") == {"x": ["odd"]}
