"""Problem details in the reader's language: every problem code's Chinese and English
words, and the choice of language from ``Accept-Language``.

Invariants:
- every problem code the service answers has Chinese words: a domain error's in
  ``ledger.error_labels``, the service's own (auth, limits, bad JSON...) in ``API_WORDS``
  here; ``tests/unit/test_problem_labels.py`` finds every code raised under ``api/`` and
  every ``DomainError`` subclass and fails on one without words;
- English stays the answer for a client that asks for nothing (``curl``, generated clients:
  the contract's words); Chinese when ``Accept-Language`` prefers ``zh`` (``zh``, ``zh-CN``,
  ``zh-Hans``..., q-values weighed; ties go to the earlier tag);
- a Chinese ``detail`` is the code's own sentence followed by the field paths the refusal
  names (``（字段：completions[3].hours）``), never the English detail cut into pieces, so it
  reads right whatever values the English quoted; ``code``, ``type`` and the field paths of
  ``errors`` stay as they are, so a client branches the same in either language; each message
  under a path is a Chinese template where ``MESSAGES`` knows it (values it quotes kept as
  quoted), else English; the rejected items of a batch answer (207) follow the same rule
  (``item_in_chinese``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Final, Literal

from ledger.error_labels import ERROR_WORDS, ErrorWords, error_labels
from ledger.vocabulary import Label

Language = Literal["zh", "en"]

#: The service's own problems (not the ledger's rules), with their English title.
API_WORDS: Final[dict[str, tuple[str, ErrorWords]]] = {
    "validation_failed": (
        "The request has invalid fields",
        ErrorWords("请求中有无效的字段", "请求中有字段缺失、多余或取值不符合要求。"),
    ),
    "malformed_json": (
        "The body is not valid JSON",
        ErrorWords("请求体不是有效的 JSON", "请求体须为 UTF-8 编码的有效 JSON。"),
    ),
    "unsupported_media_type": ("Send JSON", ErrorWords("请发送 JSON", "Content-Type 须为 application/json。")),
    "body_timeout": (
        "The request body did not arrive in time",
        ErrorWords("请求体未按时到达", "Content-Length 声明的请求体未在规定时间内到达。"),
    ),
    "body_too_large": (
        "The request body is too large",
        ErrorWords("请求体过大", "请求体超过了允许的大小，请分批提交。"),
    ),
    "batch_too_large": ("The batch is too large", ErrorWords("批量过大", "一次提交的条目超过了上限，请分批提交。")),
    "unauthenticated": (
        "A bearer token is required",
        ErrorWords("需要有效的令牌", "请在 Authorization 请求头中提供有效的 Bearer 令牌。"),
    ),
    "not_found": ("No such resource", ErrorWords("无此资源", "该地址没有对应的资源。")),
    "method_not_allowed": ("Method Not Allowed", ErrorWords("不支持该请求方法", "该地址不支持此请求方法。")),
    "bad_request": ("Bad Request", ErrorWords("请求无效", "请求格式不正确。")),
    "position_not_written": (
        "No event has that position yet",
        ErrorWords("该位置尚无事件", "所请求的日志位置超出了已写入的最后位置。"),
    ),
    "projection_behind": (
        "The read models have not reached that position yet",
        ErrorWords("查询数据尚未更新到该位置", "查询数据尚未追上所请求的位置，请稍后重试。"),
    ),
    "projection_stuck": (
        "The read models are stopped by an incident",
        ErrorWords(
            "查询数据因故障停在某一位置",
            "查询数据停在某一日志位置：该位置的事件无法应用（见 /readyz 的 incident），排除故障前重试无效。",
        ),
    ),
    "unknown_target": (
        "No such target",
        ErrorWords("无此考核目标", "该辖区的政策未定义此目标；可用的目标见 targets。"),
    ),
    "impact_too_large": (
        "The draft is too large to judge at once",
        ErrorWords("草案过大，无法一次评估", "草案的规则与目标过多，请缩小范围后再评估。"),
    ),
    "status_list_not_found": ("No such status list", ErrorWords("无此状态列表", "未找到该证书状态列表。")),
    "unavailable": (
        "The service is temporarily unavailable",
        ErrorWords("服务暂时不可用", "暂时无法连接数据库，请稍后重试。"),
    ),
    "internal_error": ("Internal error", ErrorWords("内部错误", "发生了意外错误，已记入日志。")),
}

#: Where one code answers for several situations, the words for each English title.
BY_TITLE: Final[dict[str, ErrorWords]] = {
    "The body is not UTF-8": ErrorWords("请求体不是 UTF-8 编码", "请求体须以 UTF-8 编码。"),
    "The body is JSON the service does not accept": ErrorWords(
        "请求体中的 JSON 不被接受", "请求体含有本服务不接受的 JSON（如重复的键、NaN 或过大的数）。"
    ),
    "The body nests too deep": ErrorWords("请求体嵌套过深", "JSON 的数组与对象嵌套层数超过了上限。"),
    "The token is not valid": ErrorWords("令牌无效", "该令牌无效或已被吊销。"),
    "Your role may not do this": ErrorWords("您的角色无权执行此操作", "此令牌的角色不能访问该地址。"),
    "Metrics are served on loopback only": ErrorWords("监控指标仅限本机访问", "监控指标只对本机回环地址提供。"),
    "Not Found": ErrorWords("无此资源", "该地址没有对应的资源。"),
}


#: The messages inside ``errors`` (marshmallow's own, the schemas' and the ledger's most
#: frequent), each as a Chinese template over what the English quotes; a message no pattern
#: matches stays English (it still sits under its field path).
MESSAGES: Final[tuple[tuple[re.Pattern[str], str], ...]] = tuple(
    (re.compile(pattern), template)
    for pattern, template in (
        (r"Missing data for required field\.", "缺少必填字段。"),
        (r"Unknown field\.", "不接受此字段。"),
        (r"Field may not be null\.", "不能为 null。"),
        (r"Not a valid string\.", "须为字符串。"),
        (r"Not a valid integer\.", "须为整数。"),
        (r"Not a valid date\.", "须为日期（YYYY-MM-DD）。"),
        (r"Not a valid boolean\.", "须为 true 或 false。"),
        (r"Not a valid list\.", "须为数组。"),
        (r"Not a valid mapping type\.|Invalid input type\.|Invalid type\.", "须为对象。"),
        (r"Invalid value\.", "取值无效。"),
        (r"Length must be between (\d+) and (\d+)\.", r"长度须在 \1 到 \2 之间。"),
        (r"Shorter than minimum length (\d+)\.", r"长度不能少于 \1。"),
        (r"Longer than maximum length (\d+)\.", r"长度不能超过 \1。"),
        (r"Must be greater than or equal to (\S+) and less than or equal to (\S+)\.", r"须在 \1 到 \2 之间。"),
        (r"Must be greater than or equal to (\S+)\.", r"须不小于 \1。"),
        (r"Must be less than or equal to (\S+)\.", r"须不大于 \1。"),
        (r"[Mm]ust be one of:? (.+?)\.?", r"须为以下之一：\1"),
        (r"must be a date written YYYY-MM-DD", "须为 YYYY-MM-DD 格式的日期。"),
        (r"must lie between (\S+) and (\S+)", r"须在 \1 与 \2 之间。"),
        (r"must be a whole number.*", "须为整数（只用数字 0-9）。"),
        (r"control characters are not allowed", "不能含有控制字符。"),
        (r"(\S+) has more than two decimal places", r"\1 超过两位小数。"),
        (r"(?:hours )?must be a decimal (?:string or a number|number, not a boolean)", "须为小数字符串或数字。"),
        (r"(?:hours )?must be greater than 0", "须大于 0。"),
        (r"write (\S+) without an exponent", r"\1 请勿使用科学计数法。"),
        (r"must be a JSON object", "须为 JSON 对象。"),
        (r"give as_of or at_position, not both", "as_of 与 at_position 只能给出其一。"),
        (
            r"must be a category code: one of (.+), or one a jurisdiction's vocabulary adds",
            r"须为类别代码：\1 之一，或辖区词表新增的代码。",
        ),
        (
            r"must be CN or a six-digit GB/T 2260 division code such as 220106",
            "须为 CN 或六位行政区划代码（GB/T 2260），如 220106。",
        ),
    )
)


def message_in_chinese(message: str) -> str:
    """One message of ``errors`` in Chinese, if a template knows it; else as it is."""
    for pattern, template in MESSAGES:
        found = pattern.fullmatch(message)
        if found:
            return found.expand(template)
    return message


def errors_in_chinese(errors: Mapping[str, list[str]], code: str) -> dict[str, list[str]]:
    """``errors`` with the same field paths and each message in Chinese where a template
    knows it; else, for a rule of the ledger (its message is its English detail), the rule's
    own Chinese sentence; else the message as it is."""
    rule = ERROR_WORDS.get(code)
    out: dict[str, list[str]] = {}
    for path, messages in errors.items():
        out[path] = []
        for message in messages:
            chinese = message_in_chinese(message)
            out[path].append(rule.detail if chinese == message and rule is not None else chinese)
    return out


def words_for(code: str, title: str) -> ErrorWords | None:
    """The Chinese words of a problem, by its English title first, then by its code."""
    if title in BY_TITLE:
        return BY_TITLE[title]
    if code in ERROR_WORDS:
        return ERROR_WORDS[code]
    found = API_WORDS.get(code)
    return found[1] if found else None


def problem_labels() -> dict[str, Label]:
    """Every problem code with its Chinese and English title: the vocabulary's ``problem``."""
    labels = error_labels()
    for code, (en, words) in API_WORDS.items():
        labels.setdefault(code, Label(words.zh, en))
    return dict(sorted(labels.items()))


def preferred_language(accept_language: str | None) -> Language:
    """``zh`` if the header prefers Chinese over English, else ``en`` (also for none, ``*``
    or only other languages)."""
    best: tuple[float, int, Language] | None = None
    for index, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in {"zh", "en"}:
            continue
        weight = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if weight <= 0:
            continue
        # Highest weight wins; among equals the first named.
        if best is None or weight > best[0]:
            best = (weight, index, "zh" if primary == "zh" else "en")
    return best[2] if best else "en"


def field_note(fields: Iterable[str]) -> str:
    """``（字段：a、b）`` for the field paths a refusal names, or nothing."""
    names = sorted(set(fields) - {"body"})
    return f"（字段：{'、'.join(names)}）" if names else ""


def item_in_chinese(result: dict[str, Any]) -> dict[str, Any]:
    """A rejected item of a batch answer (``code``, ``errors``, perhaps ``title``/``detail``)
    with a Chinese ``title`` and ``detail`` naming its field paths; other items as they are."""
    if result.get("status") != "rejected" or "code" not in result:
        return result
    errors = result.get("errors") or {}
    title, detail = in_chinese(result["code"], result.get("title", ""), result.get("detail", ""), errors)
    localized = {**result, "errors": errors_in_chinese(errors, result["code"])} if errors else dict(result)
    if title:
        localized.update(title=title, detail=detail)
    return localized


def in_chinese(code: str, title: str, detail: str, fields: Iterable[str]) -> tuple[str, str]:
    """(title, detail) in Chinese; a code without words keeps its English (a bug the unit
    test reports, never a refusal without text)."""
    words = words_for(code, title)
    if words is None:
        return title, detail
    return words.zh, words.detail + field_note(fields)
