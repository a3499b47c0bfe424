"""The stable codes of the national vocabulary (see shared/API.md), and the jurisdiction tree.

Invariants:
- codes are stable; labels are for display only and may change; every code has a Chinese
  and an English label, held in ``LABELS`` only (the code -> Chinese maps are views of it);
- a jurisdiction adds codes by a vocabulary document (``ledger.vocabulary_document``),
  never here;
- a jurisdiction is ``CN`` or a six-digit GB/T 2260 code, and its parent chain follows
  from the digits alone: ``220106`` -> ``220100`` -> ``220000`` -> ``CN``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Label:
    zh: str
    en: str


#: Every code of the national vocabulary with its Chinese and English labels: the one place
#: labels live. The ``CATEGORIES``... maps below are views of it (code -> Chinese label).
LABELS: Final[dict[str, dict[str, Label]]] = {
    "category": {
        "principal_qualification": Label("任职资格培训", "principal qualification training"),
        "principal_improvement": Label("提高培训", "principal improvement training"),
        "advanced_study": Label("高级研修", "advanced study"),
        "thematic": Label("专题培训", "thematic training"),
        "school_based": Label("校本培训", "school-based training"),
        "online": Label("远程/网络研修", "online study"),
        "new_teacher": Label("新教师培训", "new-teacher training"),
        "head_teacher_pre_post": Label("班主任上岗培训", "head-teacher pre-post training"),
        "head_teacher_in_post": Label("班主任在岗培训", "head-teacher in-post training"),
        "head_teacher_backbone": Label("班主任骨干培训", "backbone head-teacher training"),
        "ethics": Label("师德/职业道德", "professional ethics"),
        "it_competence": Label("信息技术应用能力", "IT competence"),
        "subject_backbone": Label("学科骨干", "subject backbone training"),
        "mental_health": Label("心理健康", "mental health"),
        "trainer": Label("培训者培训", "training of trainers"),
    },
    "level": {
        "national": Label("国家级", "national"),
        "provincial": Label("省级", "provincial"),
        "municipal": Label("市级", "municipal"),
        "county": Label("县(区)级", "county (district)"),
        "school": Label("校级", "school"),
    },
    "school_kind": {
        "urban": Label("城镇学校", "urban school"),
        "rural": Label("农村学校", "rural school"),
        "teaching_point": Label("教学点", "teaching point"),
    },
    "assessment": {
        "pass": Label("合格", "pass"),
        "excellent": Label("优秀", "excellent"),
        "fail": Label("不合格", "fail"),
    },
    "role": {
        "teacher": Label("教师", "teacher"),
        "head_teacher": Label("班主任", "head teacher"),
        "intern_head_teacher": Label("见习班主任", "intern head teacher"),
        "principal": Label("校长/园长", "principal"),
        "prospective_principal": Label("拟任校长", "prospective principal"),
        # ``trainer`` predates the split and means full time (shared/API.md 1.1).
        "trainer": Label("培训者", "trainer (full time)"),
        "full_time_trainer": Label("专职培训者", "full-time trainer"),
        "part_time_trainer": Label("兼职培训者", "part-time trainer"),
        "school_staff": Label("学校培训管理员", "school training coordinator"),
    },
    "appraisal_grade": {
        "excellent": Label("优秀", "excellent"),
        "competent": Label("合格", "competent"),
        "basically_competent": Label("基本合格", "basically competent"),
        "incompetent": Label("不合格", "incompetent"),
    },
    # 教师资格 by the kind of school (教师资格条例 第四条).
    "qualification": {
        "kindergarten": Label("幼儿园教师资格", "kindergarten teacher qualification"),
        "primary": Label("小学教师资格", "primary school teacher qualification"),
        "junior_secondary": Label("初级中学教师资格", "junior secondary teacher qualification"),
        "senior_secondary": Label("高级中学教师资格", "senior secondary teacher qualification"),
        "vocational_secondary": Label("中等职业学校教师资格", "secondary vocational teacher qualification"),
        "vocational_practice": Label(
            "中等职业学校实习指导教师资格", "secondary vocational practice instructor qualification"
        ),
        "higher_education": Label("高等学校教师资格", "higher education teacher qualification"),
    },
    # The posts whose refusal the service record holds (seed 001 二(四)9).
    "post": {
        "head_teacher": Label("班主任", "head teacher"),
    },
    # Anonymous evaluation of programmes (seed 000 §8): what a learner scores, who reviews.
    "evaluation_criterion": {
        "content": Label("培训内容", "content"),
        "teaching": Label("授课质量", "teaching"),
        "organisation": Label("组织管理", "organisation"),
    },
    "review_kind": {
        "expert": Label("专家实地评估", "expert on-site review"),
        "third_party": Label("第三方评估", "third-party review"),
    },
    "certificate": {
        "principal_qualification": Label("任职资格证书", "principal qualification certificate"),
        "principal_improvement": Label("提高培训证书", "principal improvement certificate"),
        "continuing_education": Label("继续教育证书", "continuing education certificate"),
        "head_teacher_post": Label("班主任上岗证", "head-teacher post certificate"),
    },
    "target": {
        "principal_appointment": Label("校长任职资格", "principal appointment"),
        "principal_cycle": Label("校长周期培训", "principal training cycle"),
        "teacher_cycle": Label("教师周期培训", "teacher training cycle"),
        "teacher_annual": Label("教师年度培训", "teacher annual training"),
        "new_teacher": Label("新教师培训", "new-teacher training"),
        "head_teacher_post": Label("班主任上岗", "head-teacher post"),
        "title_promotion": Label("职称晋升", "title promotion"),
        "probation": Label("试用期考核", "probation"),
        "appraisal_excellent": Label("年度考核评优", "appraisal graded excellent"),
        "head_teacher_honour": Label("班主任荣誉", "head-teacher honour"),
        "principal_improvement_certificate": Label("校长提高培训证书", "principal improvement certificate"),
        "school_based_term": Label("校本培训学期学时", "school-based hours per term"),
    },
    # The roles a bearer token is minted for (api/auth.py), shared/API.md and its 1.1.
    "token_role": {
        "admin": Label("系统管理员", "administrator"),
        "institution": Label("培训机构", "training institution"),
        "hr": Label("人事部门", "HR office"),
        "auditor": Label("审计人员", "auditor"),
        "learner": Label("教师本人", "the teacher themself"),
        "school": Label("学校", "school"),
    },
}

#: The fields a jurisdiction's vocabulary document may add codes to.
EXTENSIBLE: Final = ("category", "role", "certificate")


def _zh(field: str) -> dict[str, str]:
    return {code: label.zh for code, label in LABELS[field].items()}


CATEGORIES: Final[dict[str, str]] = _zh("category")
LEVELS: Final[dict[str, str]] = _zh("level")
ASSESSMENTS: Final[dict[str, str]] = _zh("assessment")

#: Assessments that earn hours; a ``fail`` is recorded but counts for nothing.
PASSING_ASSESSMENTS: Final[frozenset[str]] = frozenset({"pass", "excellent"})

ROLES: Final[dict[str, str]] = _zh("role")
APPRAISAL_GRADES: Final[dict[str, str]] = _zh("appraisal_grade")
QUALIFICATIONS: Final[dict[str, str]] = _zh("qualification")
POSTS: Final[dict[str, str]] = _zh("post")

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
CERTIFICATES: Final[dict[str, str]] = _zh("certificate")
