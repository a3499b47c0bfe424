"""The stable codes of the domain (see shared/API.md), and the jurisdiction tree.

Invariants:
- codes are stable; labels are for display only and may change;
- a jurisdiction is ``CN`` or a six-digit GB/T 2260 code, and its parent chain follows
  from the digits alone: ``220106`` -> ``220100`` -> ``220000`` -> ``CN``.
"""

from __future__ import annotations

import re
from typing import Final

CATEGORIES: Final[dict[str, str]] = {
    "principal_qualification": "任职资格培训",
    "principal_improvement": "提高培训",
    "advanced_study": "高级研修",
    "thematic": "专题培训",
    "school_based": "校本培训",
    "online": "远程/网络研修",
    "new_teacher": "新教师培训",
    "head_teacher_pre_post": "班主任上岗培训",
    "head_teacher_in_post": "班主任在岗培训",
    "head_teacher_backbone": "班主任骨干培训",
    "ethics": "师德/职业道德",
    "it_competence": "信息技术应用能力",
    "subject_backbone": "学科骨干",
    "mental_health": "心理健康",
    "trainer": "培训者培训",
}

LEVELS: Final[dict[str, str]] = {
    "national": "国家级",
    "provincial": "省级",
    "municipal": "市级",
    "county": "县(区)级",
    "school": "校级",
}

ASSESSMENTS: Final[dict[str, str]] = {"pass": "合格", "excellent": "优秀", "fail": "不合格"}

#: Assessments that earn hours; a ``fail`` is recorded but counts for nothing.
PASSING_ASSESSMENTS: Final[frozenset[str]] = frozenset({"pass", "excellent"})

ROLES: Final[dict[str, str]] = {
    "teacher": "教师",
    "head_teacher": "班主任",
    "principal": "校长/园长",
    "prospective_principal": "拟任校长",
    "trainer": "培训者",
}

NATIONAL: Final = "CN"
_DIVISION = re.compile(r"^[1-9][0-9]{5}$")


def is_jurisdiction(code: str) -> bool:
    return code == NATIONAL or bool(_DIVISION.fullmatch(code))


def parent_chain(code: str) -> list[str]:
    """The jurisdiction and every one above it, nearest first, ending with ``CN``."""
    if code == NATIONAL:
        return [NATIONAL]
    chain = [code]
    if code[4:] != "00":
        chain.append(code[:4] + "00")
    if code[2:] != "0000":
        chain.append(code[:2] + "0000")
    chain.append(NATIONAL)
    return chain


def covers(scope: str, code: str) -> bool:
    """Whether jurisdiction ``scope`` is ``code`` or lies above it."""
    return scope in parent_chain(code)


#: Certificate kinds a rule may ask for (and ``ledger.certificate`` issues).
CERTIFICATES: Final[dict[str, str]] = {
    "principal_qualification": "任职资格证书",
    "principal_improvement": "提高培训证书",
    "continuing_education": "继续教育证书",
    "head_teacher_post": "班主任上岗证",
}
