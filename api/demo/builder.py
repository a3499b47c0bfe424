"""A realistic demo bank: one district of 长春市, three years of training, written through
the ledger's own commands.

Invariants:
- everything is written through ``CreditBank`` commands, so the demo obeys every rule a
  real institution does; a completion the ledger refuses is a bug here and raises
  ``DemoError`` instead of being dropped;
- the data is a pure function of ``seed`` and ``today`` (one ``random.Random`` per learner,
  seeded from ``seed`` and the learner's serial), so building it twice on the same bank
  records nothing the second time: registrations and accreditations answer
  ``duplicate``/``unchanged``, completions ``duplicate``, revocations ``unchanged``, and
  the suspension is skipped when the provider is suspended already;
- learner ``n`` is the same person whatever ``learners`` is, so a larger demo extends a
  smaller one built with the same seed and ``today``;
- a cast member whose personal data was erased (the README's own example) is never
  registered or posted for again: a rebuild recognises them by their completions, which
  are in the log while the vault no longer knows their number;
- no completion is dated after ``today``; each lies within its institution's accredited
  categories, levels and dates; ``started_on`` is never after ``completed_on``;
- the suspended institution posts everything before it is suspended (suspension is the
  last step), and the prospective principal of ``DemoSummary.prospective_principal_id``
  holds exactly 299.5 h of passed, unrevoked 任职资格培训 (one 24 h module failed);
- the demo's teachers evaluate some of their programmes anonymously (seed 000 §8) through
  ``ledger.evaluation_commands``, under the evaluation secret the service uses (given:
  ``evaluation_secret``; none given, none are recorded): for each institution, its two most
  attended programmes of the last year, one with five or more answers and one with fewer
  (only its count shows); the README's example learners are left to evaluate their own.
  A rebuild finds them evaluated already and records nothing;
- an expert and a third-party review (by an auditor) of two institutions, dated in the
  demo's last month;
- a demo built on an empty bank is recorded as it would have happened, by the demo's
  clock: policies and institutions when its history starts, each learner when hired (or
  then), each week's completions on the Monday after; the revocations and the
  suspension today. Recorded times never go back and never pass the build's start, so
  ``as_of`` and ``knowledge=recorded`` answer for any day of those three years;
- the service record (``api.demo.service_record``: refusals, appraisals, qualifications,
  the principals' attested paper certificates, one appointment overridden by an admin) is
  entered last, on the day of the build.
"""

from __future__ import annotations

import contextlib
import itertools
import random
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Final
from zoneinfo import ZoneInfo

from eventsourcing.domain import CanCreateTimestamp

from api.demo.service_record import CastMember, ServiceRecordSummary, record_service
from ledger.application import Accreditation, CompletionOutcome, CreditBank, LearnerRegistration
from ledger.completion import CompletionFacts
from ledger.errors import AlreadyEvaluated
from ledger.evaluation import TALLY_SIZE, Ballot, ReviewFacts
from ledger.evaluation_commands import evaluate_completion, record_review

DISTRICT: Final = "220106"  # 绿园区
CITY: Final = "220100"  # 长春市
PROVINCE: Final = "220000"  # 吉林省

#: The fewest learners the demo's cast (principals, prospective principals, trainers and
#: the example teachers) needs.
MIN_LEARNERS: Final = 20
#: Completions per ``record_completions`` call: one transaction per thousand keeps a
#: week's training a few saves while the progress report still moves. Any size commits
#: whole (``ledger/store.py`` inserts without psycopg's pipeline mode, which deadlocked
#: from about 800 events per save).
BATCH_SIZE: Final = 1000
#: The prospective principal one failed module short of 300 h.
NEAR_QUALIFIED_HOURS: Final = Decimal("299.5")

Progress = Callable[[str, int, int], None]


class DemoError(RuntimeError):
    """The ledger refused part of the demo: the generator broke a rule."""


@dataclass(frozen=True)
class DemoSummary:
    district: str
    city: str
    province: str
    #: Every institution of the demo, the suspended one included.
    provider_ids: tuple[str, ...]
    suspended_provider_id: str
    #: ``(school code, school name)``; a learner's ``school`` is the code.
    schools: tuple[tuple[str, str], ...]
    learners: int
    completions: int
    revocations: int
    #: Completions this run recorded (0 when the demo was there already).
    newly_recorded: int
    #: The principal of the first school.
    principal_id: str
    #: A prospective principal at exactly 299.5 h of 任职资格培训 (needs 300 h).
    prospective_principal_id: str
    #: A teacher hired this school year (new-teacher training under way).
    first_year_teacher_id: str
    head_teacher_id: str
    trainer_id: str
    #: The bank's last event position after the build.
    position: int | None
    #: Cast members erased since an earlier build: not registered or posted for again.
    erased: tuple[str, ...] = ()
    #: The learner the demo's tokens and examples use: the prospective principal unless erased.
    example_learner_id: str = ""
    #: Who in the demo refused a post, and whose appointment an admin let through.
    service_record: ServiceRecordSummary | None = None


# -- the cast ---------------------------------------------------------------------

SCHOOLS: Final[tuple[tuple[str, str, float], ...]] = (
    (f"{DISTRICT}0001", "长春市绿园区第一实验小学", 0.16),
    (f"{DISTRICT}0002", "长春市绿园区实验中学", 0.18),
    (f"{DISTRICT}0003", "长春市绿园区第二实验小学", 0.14),
    (f"{DISTRICT}0004", "长春市绿园区青年路小学", 0.12),
    (f"{DISTRICT}0005", "长春市绿园区西安大路中学", 0.12),
    (f"{DISTRICT}0006", "长春市绿园区合心镇中心小学", 0.09),
    (f"{DISTRICT}0007", "长春市绿园区城西镇中心学校", 0.09),
    (f"{DISTRICT}0008", "长春市绿园区春城幼儿园", 0.10),
)

ACADEMY: Final = "cn-principal-academy"
ONLINE: Final = "jl-teacher-online"
CENTRE: Final = "lvyuan-tdc"
UNIVERSITY: Final = "cc-normal-univ"
INSTITUTE: Final = "cc-education-institute"
SUSPENDED: Final = "jl-huixue-edtech"

_SURNAMES: Final = (
    "王王王李李李张张张刘刘刘赵赵陈陈杨杨孙孙于于徐高马郭周吴胡朱林何郑梁宋唐"
    "许韩冯邓曹彭曾肖田董袁潘蒋蔡姜崔谭陆范金石付白邹孟秦姚曲尹丁吕任沈"
)
_FEMALE_1: Final = "丽静敏燕艳娟霞芳玲婷雪梅琳颖慧丹红萍洁莉晶薇欣怡佳雯璐楠倩宁"
_FEMALE_2: Final = (
    "淑芬",
    "秀英",
    "桂兰",
    "玉梅",
    "丽娟",
    "海燕",
    "红梅",
    "晓燕",
    "雪梅",
    "丽华",
    "春燕",
    "静怡",
    "欣悦",
    "佳琪",
    "雨萱",
    "思琪",
    "梦瑶",
    "晓琳",
    "婷婷",
    "丹丹",
    "莉莉",
    "文静",
    "晓雪",
    "美玲",
    "凤霞",
    "玉洁",
    "慧敏",
    "淑华",
    "秀梅",
    "丽丽",
    "春梅",
    "秋菊",
    "亚楠",
    "一诺",
    "诗涵",
    "若溪",
)
_MALE_1: Final = "伟强磊军勇杰涛明超刚平辉鹏飞鑫波斌宇浩凯健俊帆旭龙林东海博峰亮"
_MALE_2: Final = (
    "志强",
    "建国",
    "建华",
    "国庆",
    "海涛",
    "晓东",
    "俊杰",
    "浩然",
    "子轩",
    "宇航",
    "明辉",
    "志刚",
    "永胜",
    "春雷",
    "宏伟",
    "立新",
    "文博",
    "振华",
    "鹏飞",
    "德明",
    "世杰",
    "家豪",
    "伟东",
    "晓峰",
    "建军",
    "光明",
    "天宇",
    "嘉诚",
    "铁军",
    "长青",
)


def _name(rng: random.Random) -> str:
    surname = rng.choice(_SURNAMES)
    if rng.random() < 0.72:  # most school teachers are women
        given = rng.choice(_FEMALE_2) if rng.random() < 0.6 else rng.choice(_FEMALE_1)
    else:
        given = rng.choice(_MALE_2) if rng.random() < 0.6 else rng.choice(_MALE_1)
    return surname + given


# -- institutions -------------------------------------------------------------------


def _accreditations(year: int) -> tuple[Accreditation, ...]:
    return (
        Accreditation(
            ACADEMY,
            "国家中小学校长培训学院",
            "CN",
            ("principal_qualification", "principal_improvement", "advanced_study", "ethics"),
            ("national", "provincial"),
            date(year - 3, 1, 1),
            date(year + 2, 12, 31),
        ),
        Accreditation(
            ONLINE,
            "吉林省中小学教师网络研修平台",
            PROVINCE,
            ("online",),
            ("provincial",),
            date(year - 2, 1, 1),
            None,
        ),
        Accreditation(
            CENTRE,
            "长春市绿园区教师发展中心",
            DISTRICT,
            (
                "school_based",
                "new_teacher",
                "head_teacher_pre_post",
                "head_teacher_in_post",
                "head_teacher_backbone",
                "ethics",
                "mental_health",
            ),
            ("county", "school"),
            date(year - 6, 9, 1),
            None,
        ),
        Accreditation(
            UNIVERSITY,
            "长春师范大学继续教育学院",
            CITY,
            ("it_competence", "subject_backbone", "advanced_study"),
            ("provincial", "municipal"),
            date(year - 2, 3, 1),
            date(year + 1, 2, 28),
        ),
        Accreditation(
            INSTITUTE,
            "长春市教育学院",
            CITY,
            ("thematic", "trainer", "head_teacher_backbone", "subject_backbone"),
            ("municipal", "provincial"),
            date(year - 4, 1, 1),
            date(year + 1, 12, 31),
        ),
        Accreditation(
            SUSPENDED,
            "吉林省慧学教育科技有限公司",
            PROVINCE,
            ("online", "it_competence"),
            ("provincial",),
            date(year - 2, 1, 1),
            date(year + 1, 12, 31),
        ),
    )


def _suspension_reason(year: int) -> str:
    return f"{year}年吉林省教师培训专项检查发现代学代考、学时虚报，暂停培训资质，待整改验收"


_REVOCATION_REASONS: Final[dict[str, tuple[str, ...]]] = {
    SUSPENDED: (
        "专项检查核实：学员未实际参训（代学代考），撤销学时",
        "专项检查核实：在线学习时长造假，撤销学时",
    ),
    "*": (
        "录入错误：学员与参训名单不符",
        "考勤核查：实际出勤未达到结业要求",
        "重复登记：与同一培训班的另一条记录重复",
        "结业考核材料缺失，经复核不予认定学时",
    ),
}


@dataclass(frozen=True)
class Programme:
    provider: str
    code: str
    title: str
    category: str
    level: str
    hours: Decimal
    topics: tuple[str, ...] = ()

    @property
    def online(self) -> bool:
        return self.category == "online" or self.provider == SUSPENDED


def _p(
    provider: str,
    code: str,
    title: str,
    category: str,
    level: str,
    hours: str,
    *topics: str,
) -> Programme:
    return Programme(provider, code, title, category, level, Decimal(hours), topics)


#: 任职资格培训 modules in the order they are taken: 7 x 40 + 24 + 12 + 3 x 2.5 = 323.5 h.
QUALIFICATION: Final[tuple[Programme, ...]] = (
    _p(
        ACADEMY,
        "GJXZ-RZ-01",
        "新任校长任职资格培训：教育政策法规",
        "principal_qualification",
        "national",
        "40",
        "政策法规",
    ),
    _p(
        ACADEMY,
        "GJXZ-RZ-02",
        "新任校长任职资格培训：规划学校发展",
        "principal_qualification",
        "national",
        "40",
        "学校规划",
    ),
    _p(
        ACADEMY,
        "GJXZ-RZ-03",
        "新任校长任职资格培训：领导课程教学",
        "principal_qualification",
        "national",
        "40",
        "课程领导力",
    ),
    _p(
        ACADEMY,
        "GJXZ-RZ-04",
        "新任校长任职资格培训：校园安全与危机管理",
        "principal_qualification",
        "provincial",
        "24",
        "校园安全",
    ),
    _p(
        ACADEMY,
        "GJXZ-RZ-05",
        "新任校长任职资格培训：引领教师成长",
        "principal_qualification",
        "national",
        "40",
        "教师队伍建设",
    ),
    _p(
        ACADEMY,
        "GJXZ-RZ-06",
        "新任校长任职资格培训：影子校长跟岗实践",
        "principal_qualification",
        "provincial",
        "40",
        "跟岗实践",
    ),
    _p(
        ACADEMY,
        "GJXZ-RZ-07",
        "新任校长任职资格培训：优化内部管理",
        "principal_qualification",
        "national",
        "40",
        "依法治校",
    ),
    _p(
        ACADEMY,
        "GJXZ-RZ-08",
        "新任校长任职资格培训：调适外部环境",
        "principal_qualification",
        "national",
        "40",
        "家校社协同",
    ),
    _p(
        ACADEMY,
        "GJXZ-RZ-09",
        "新任校长任职资格培训：营造育人文化",
        "principal_qualification",
        "provincial",
        "12",
        "学校文化",
    ),
    _p(ACADEMY, "GJXZ-RZ-10", "新任校长任职资格培训：专题讲座（一）", "principal_qualification", "provincial", "2.5"),
    _p(ACADEMY, "GJXZ-RZ-11", "新任校长任职资格培训：专题讲座（二）", "principal_qualification", "provincial", "2.5"),
    _p(ACADEMY, "GJXZ-RZ-12", "新任校长任职资格培训：专题讲座（三）", "principal_qualification", "provincial", "2.5"),
)
#: The module the near-qualified prospective principal failed (323.5 - 24 = 299.5).
FAILED_MODULE: Final = 3

IMPROVEMENT: Final = (
    _p(ACADEMY, "GJXZ-TG-01", "中小学校长提高培训（国培计划）", "principal_improvement", "national", "40", "国培计划"),
    _p(
        ACADEMY, "GJXZ-TG-02", "校长提高培训：课程领导力提升", "principal_improvement", "provincial", "24", "课程领导力"
    ),
    _p(
        ACADEMY,
        "GJXZ-TG-03",
        "校长提高培训：教育数字化转型与学校治理",
        "principal_improvement",
        "provincial",
        "24",
        "教育数字化",
    ),
    _p(
        ACADEMY,
        "GJXZ-TG-04",
        "校长提高培训：“双减”背景下的学校管理",
        "principal_improvement",
        "provincial",
        "12",
        "双减",
    ),
)
ADVANCED: Final = (
    _p(ACADEMY, "GJXZ-GY-01", "卓越校长高级研修班", "advanced_study", "national", "40"),
    _p(
        UNIVERSITY,
        "CCSF-GY-01",
        "中小学校长高级研修班（教育家精神）",
        "advanced_study",
        "provincial",
        "40",
        "教育家精神",
    ),
)
PRINCIPAL_ETHICS: Final = _p(ACADEMY, "GJXZ-SD-01", "校长职业道德与廉洁从教专题", "ethics", "national", "4", "师德师风")
THEMATIC: Final = (
    _p(INSTITUTE, "CCJY-ZT-01", "校园安全管理专题培训", "thematic", "municipal", "8", "校园安全"),
    _p(INSTITUTE, "CCJY-ZT-02", "依法治校专题培训", "thematic", "municipal", "4", "依法治校"),
    _p(INSTITUTE, "CCJY-ZT-03", "学校心理健康教育管理专题", "thematic", "municipal", "2.5"),
)
TRAINER: Final = (
    _p(INSTITUTE, "CCJY-PX-01", "培训者能力提升研修班", "trainer", "provincial", "40"),
    _p(INSTITUTE, "CCJY-PX-02", "培训课程开发与实施", "trainer", "municipal", "24"),
    _p(INSTITUTE, "CCJY-PX-03", "培训者跟岗研修（省级基地）", "trainer", "provincial", "40"),
    _p(INSTITUTE, "CCJY-PX-04", "混合式研修设计与评价", "trainer", "municipal", "12"),
)
SCHOOL_BASED: Final = tuple(
    _p(CENTRE, f"LYXB-{n:02d}", f"校本研修：{title}", "school_based", "school", hours, topic)
    for n, (title, hours, topic) in enumerate(
        (
            ("新课标解读与教学转化", "2", "新课标"),
            ("大单元教学设计", "4", "大单元教学"),
            ("作业设计与评价", "2", "作业设计"),
            ("课堂观察与评课", "2.5", "课堂观察"),
            ("跨学科主题学习", "4", "跨学科"),
            ("教学反思与案例写作", "2", "教学反思"),
            ("信息技术与学科教学融合", "2.5", "信息技术"),
            ("“双减”背景下的课堂提质", "2", "双减"),
            ("集体备课与同课异构", "4", "集体备课"),
            ("学困生转化策略", "2", "因材施教"),
        ),
        start=1,
    )
)
NEW_TEACHER: Final = (  # 24 + 40 + 4 + 40 + 12 = 120 h of district and school training
    _p(CENTRE, "LYXJ-01", "新教师入职培训：师德与教育法规", "new_teacher", "county", "24"),
    _p(CENTRE, "LYXJ-02", "新教师入职培训：课堂教学基本功", "new_teacher", "county", "40"),
    _p(CENTRE, "LYXJ-03", "新教师入职培训：班级管理与家校沟通", "new_teacher", "county", "4"),
    _p(CENTRE, "LYXJ-04", "新教师跟岗研修（师徒结对）", "new_teacher", "school", "40"),
    _p(CENTRE, "LYXJ-05", "新教师岗位实践考核", "new_teacher", "school", "12"),
)
#: When each new-teacher module ends, counted in days from the first day of the school year.
NEW_TEACHER_DAYS: Final = (5, 45, 75, 160, 285)
HEAD_PRE_POST: Final = _p(CENTRE, "LYBZ-01", "新任班主任上岗培训", "head_teacher_pre_post", "county", "24", "班主任")
HEAD_IN_POST: Final = (
    _p(CENTRE, "LYBZ-02", "班主任在岗培训：班集体建设", "head_teacher_in_post", "county", "12"),
    _p(
        CENTRE,
        "LYBZ-03",
        "班主任在岗培训：学生心理危机识别与干预",
        "head_teacher_in_post",
        "county",
        "8",
        "心理危机干预",
    ),
)
HEAD_BACKBONE: Final = (
    _p(CENTRE, "LYBZ-04", "绿园区骨干班主任研修班", "head_teacher_backbone", "county", "40"),
    _p(INSTITUTE, "CCJY-BZ-01", "长春市骨干班主任高级研修", "head_teacher_backbone", "municipal", "40"),
)
MENTAL_HEALTH: Final = (
    _p(CENTRE, "LYXL-01", "中小学生心理健康教育专题", "mental_health", "county", "4"),
    _p(CENTRE, "LYXL-02", "教师心理调适与压力管理", "mental_health", "county", "2.5"),
)
IT: Final = (
    _p(UNIVERSITY, "CCSF-IT-01", "信息技术应用能力提升工程2.0", "it_competence", "provincial", "40", "信息技术2.0"),
    _p(UNIVERSITY, "CCSF-IT-02", "人工智能助推教师专业发展", "it_competence", "municipal", "24", "人工智能"),
)
BACKBONE: Final = (
    _p(UNIVERSITY, "CCSF-GG-01", "学科骨干教师研修班（语文）", "subject_backbone", "provincial", "40"),
    _p(UNIVERSITY, "CCSF-GG-02", "学科骨干教师研修班（数学）", "subject_backbone", "provincial", "40"),
    _p(INSTITUTE, "CCJY-GG-01", "长春市学科带头人研修", "subject_backbone", "municipal", "40"),
)
HUIXUE: Final = (
    _p(SUSPENDED, "HX-OL-01", "教师信息素养在线课程", "online", "provincial", "12"),
    _p(SUSPENDED, "HX-OL-02", "家校共育在线课程", "online", "provincial", "8"),
    _p(SUSPENDED, "HX-IT-01", "智慧课堂工具应用", "it_competence", "provincial", "24"),
)


def _district_ethics(year: int) -> Programme:
    return _p(CENTRE, f"LYSD-{year}", f"{year}年度绿园区师德师风专题培训", "ethics", "county", "8", "师德师风")


def _online_courses(year: int) -> tuple[tuple[Programme, int, int], ...]:
    """The province's online courses of one year (24+40+12+8+4+2 = 90 h), with the
    months in which each is finished."""
    courses = (
        ("01", f"{year}年吉林省中小学教师全员网络研修（通识）", "24", 3, 6),
        ("02", "学科教学能力提升网络研修", "40", 9, 12),
        ("03", "新课标新教材专题网络研修", "12", 4, 7),
        ("04", "人工智能赋能课堂教学（网络研修）", "8", 10, 12),
        ("05", "家庭教育指导能力提升（网络研修）", "4", 5, 11),
        ("06", "校园安全与应急处置（网络研修）", "2", 3, 12),
    )
    return tuple(
        (_p(ONLINE, f"JLWX-{year}-{code}", title, "online", "provincial", hours), lo, hi)
        for code, title, hours, lo, hi in courses
    )


# -- one learner's history ----------------------------------------------------------


@dataclass(frozen=True)
class _Planned:
    programme: Programme
    completed_on: date
    started_on: date
    assessment: str


@dataclass(frozen=True)
class _Learner:
    serial: int
    kind: str
    registration: LearnerRegistration
    history: tuple[_Planned, ...]


class _Planner:
    """Draws one learner's completions: dates from whole months of each year, so a later
    ``today`` in the same year only adds completions and never changes earlier ones."""

    def __init__(self, rng: random.Random, hired_on: date, today: date) -> None:
        self.rng = rng
        self.hired_on = hired_on
        self.today = today
        self.year = today.year
        self.planned: list[_Planned] = []

    def assessment(self) -> str:
        roll = self.rng.random()
        return "fail" if roll < 0.02 else "excellent" if roll < 0.12 else "pass"

    def add(
        self,
        programme: Programme,
        completed_on: date,
        assessment: str | None = None,
    ) -> None:
        # Draw everything first, so skipping an entry never shifts the draws after it.
        outcome = assessment or self.assessment()
        if programme.online:
            started_on = completed_on - timedelta(days=self.rng.randint(14, 60))
        else:
            started_on = completed_on - timedelta(days=_days(programme.hours) - 1)
        if completed_on < self.hired_on or completed_on > self.today:
            return
        self.planned.append(_Planned(programme, completed_on, max(started_on, self.hired_on), outcome))

    def between(self, programme: Programme, start: date, end: date) -> None:
        """Add ``programme`` finished on a day drawn from ``start``..``end``."""
        day = start + timedelta(days=self.rng.randint(0, max((end - start).days, 0)))
        if not programme.online and day.weekday() >= 5:  # in-person sessions on weekdays
            day -= timedelta(days=day.weekday() - 4)
        self.add(programme, max(day, start))

    def in_months(self, programme: Programme, year: int, first: int, last: int) -> None:
        self.between(programme, date(year, first, 1), _month_end(year, last))

    def in_terms(self, programme: Programme, year: int) -> None:
        if self.rng.random() < 0.5:
            self.between(programme, date(year, 3, 6), date(year, 6, 30))
        else:
            self.between(programme, date(year, 9, 4), date(year, 12, 29))

    def years(self) -> range:
        return range(self.year - 2, self.year + 1)

    # the plans of each kind of learner

    def teacher_year(self, year: int, *, online_share: float = 1.0) -> None:
        rng = self.rng
        for programme, first, last in _online_courses(year):
            if rng.random() < 0.93 * online_share:
                self.in_months(programme, year, first, last)
        for programme in rng.sample(SCHOOL_BASED, rng.randint(5, 8)):
            self.in_terms(programme, year)
        if rng.random() < 0.96:
            self.in_months(_district_ethics(year), year, 8, 8)
        if rng.random() < 0.4:
            self.in_terms(rng.choice(MENTAL_HEALTH), year)
        if rng.random() < 0.12:
            self.in_months(rng.choice(IT), year, 4, 11)
        if rng.random() < 0.04:
            self.in_months(rng.choice(BACKBONE), year, 7, 8)
        if year <= self.year - 1 and rng.random() < 0.07:
            self.in_months(rng.choice(HUIXUE), year, 2, 10)

    def head_teacher_year(self, year: int, since: date) -> None:
        rng = self.rng
        if year == since.year:
            self.between(HEAD_PRE_POST, since - timedelta(days=12), since - timedelta(days=3))
        elif year > since.year:
            if rng.random() < 0.85:
                self.in_terms(rng.choice(HEAD_IN_POST), year)
            if rng.random() < 0.05:
                self.in_months(rng.choice(HEAD_BACKBONE), year, 7, 8)

    def principal_year(self, year: int) -> None:
        rng = self.rng
        for programme in rng.sample(IMPROVEMENT, rng.randint(1, 3)):
            self.in_months(programme, year, 4, 11)
        self.in_months(PRINCIPAL_ETHICS, year, 3, 6)
        for programme in rng.sample(THEMATIC, rng.randint(1, 2)):
            self.in_terms(programme, year)
        if rng.random() < 0.35:
            self.in_months(rng.choice(ADVANCED), year, 7, 8)
        self.teacher_year(year, online_share=0.5)

    def trainer_year(self, year: int) -> None:
        rng = self.rng
        for programme in TRAINER:
            if rng.random() < 0.85:
                self.in_months(programme, year, 3, 11)
        self.in_months(_district_ethics(year), year, 8, 8)
        self.in_terms(rng.choice(THEMATIC), year)
        for programme, first, last in _online_courses(year):
            if rng.random() < 0.6:
                self.in_months(programme, year, first, last)

    def qualification(self, since: date, modules: int, *, near: bool = False) -> None:
        """任职资格培训 modules, one about every six weeks from ``since``: twelve end
        within 600 days, so all are done by the end of the year before ``today``'s."""
        day = since
        for index, programme in enumerate(QUALIFICATION[:modules]):
            day += timedelta(days=self.rng.randint(40, 50))
            failed = near and index == FAILED_MODULE
            self.add(programme, day, "fail" if failed else self.rng.choice(("pass", "excellent")))


def _days(hours: Decimal) -> int:
    """How many days an in-person programme of ``hours`` runs (8 h a day)."""
    return max(1, int((hours + 7) // 8))


def _month_end(year: int, month: int) -> date:
    return date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)


def _school_year_start(today: date) -> date:
    """The first day of the current school year (late August)."""
    start = date(today.year, 8, 25)
    return start if today >= start else date(today.year - 1, 8, 25)


def _kind(serial: int, rng: random.Random) -> str:
    if serial <= len(SCHOOLS):
        return "principal"
    if serial <= len(SCHOOLS) + 5:
        return "prospective_principal"
    if serial <= len(SCHOOLS) + 8:
        return "trainer"
    if serial == MIN_LEARNERS - 3:
        return "head_teacher"
    if serial == MIN_LEARNERS - 2:
        return "first_year"
    roll = rng.random()
    if roll < 0.04:
        return "first_year"
    if roll < 0.08:
        return "second_year"
    if roll < 0.33:
        return "head_teacher"
    return "teacher"


NEAR_QUALIFIED_SERIAL: Final = len(SCHOOLS) + 1
TRAINER_SERIAL: Final = len(SCHOOLS) + 6


def _plan_learner(seed: int, serial: int, today: date) -> _Learner:
    rng = random.Random(f"creditbank-demo:{seed}:{serial}")  # noqa: S311 (demo data)
    year = today.year
    kind = _kind(serial, rng)
    name = _name(rng)
    school: str | None = rng.choices([s[0] for s in SCHOOLS], [s[2] for s in SCHOOLS])[0]
    new_year = _school_year_start(today)
    if kind == "first_year":
        hired_on = new_year
    elif kind == "second_year":
        hired_on = new_year.replace(year=new_year.year - 1)
    elif kind == "principal":
        hired_on = date(rng.randint(1990, 2006), 8, rng.choice((20, 25, 28)))
    elif kind == "prospective_principal":
        hired_on = date(rng.randint(1996, year - 10), 8, rng.choice((20, 25, 28)))
    else:
        hired_on = date(rng.randint(1993, year - 3), 8, rng.choice((20, 25, 28)))
    roles: list[tuple[str, date]] = [("teacher", hired_on)]
    planner = _Planner(rng, hired_on, today)
    if kind == "principal":
        school = SCHOOLS[serial - 1][0]
        since = date(rng.randint(max(hired_on.year + 10, 2008), year - 1), 8, 1)
        roles.append(("principal", since))
        for y in planner.years():
            planner.principal_year(y)
    elif kind == "prospective_principal":
        near = serial == NEAR_QUALIFIED_SERIAL
        since = date(year - 2, 2, 20) if near else date(rng.choice((year - 2, year - 1)), 2, 20)
        head_year = min(hired_on.year + rng.randint(2, 6), year - 1)
        roles.append(("head_teacher", date(head_year, 9, 1)))
        roles.append(("prospective_principal", since))
        if near:
            modules = len(QUALIFICATION)
        elif serial == NEAR_QUALIFIED_SERIAL + 1:
            modules = len(QUALIFICATION)  # one who has finished: 323.5 h
        else:
            modules = rng.randint(3, len(QUALIFICATION))
        for y in planner.years():
            planner.teacher_year(y, online_share=0.7)
        planner.qualification(since, modules, near=near)
    elif kind == "trainer":
        school = None  # full-time trainers work at the district teacher development centre
        roles = [("trainer", hired_on), ("teacher", hired_on)]
        for y in planner.years():
            planner.trainer_year(y)
    else:
        if kind in {"first_year", "second_year"}:
            for programme, offset in zip(NEW_TEACHER, NEW_TEACHER_DAYS, strict=True):
                day = hired_on + timedelta(days=offset)
                if day.weekday() >= 5:
                    day -= timedelta(days=day.weekday() - 4)
                planner.add(programme, day)
        head_since: date | None = None
        if kind == "head_teacher":
            first = max(hired_on.year + 1, 1995)
            head_since = date(rng.randint(first, max(first, year - 1)), 9, 1)
            roles.append(("head_teacher", head_since))
        elif kind == "second_year":
            # the intern head-teacher year of a new teacher (001 二(一)2)
            head_since = date(hired_on.year + 1, 9, 1)
            if head_since <= today:
                roles.append(("head_teacher", head_since))
            else:
                head_since = None
        for y in planner.years():
            if y >= hired_on.year:
                share = 0.3 if y == hired_on.year and kind in {"first_year", "second_year"} else 1
                planner.teacher_year(y, online_share=share)
            if head_since is not None:
                planner.head_teacher_year(y, head_since)
    learner_id = f"{DISTRICT}{hired_on.year}{serial:05d}"
    registration = LearnerRegistration(
        learner_id=learner_id,
        name=name,
        jurisdiction=DISTRICT,
        school=school,
        hired_on=hired_on,
        roles=tuple(roles),
    )
    return _Learner(serial, kind, registration, tuple(planner.planned))


# -- completions and revocations ----------------------------------------------------

_RECORD_PREFIX: Final[dict[str, str]] = {
    ACADEMY: "GJXZ",
    ONLINE: "JLWX",
    CENTRE: "LYJF",
    UNIVERSITY: "CCSF",
    INSTITUTE: "CCJY",
    SUSPENDED: "HXJY",
}


def _completions(learner: _Learner, seed: int) -> tuple[list[CompletionFacts], list[tuple[str, str, str]]]:
    """The learner's completions with the institutions' record ids, and which of them
    are revoked afterwards (``provider_id, record_id, reason``)."""
    rng = random.Random(f"creditbank-demo-revocations:{seed}:{learner.serial}")  # noqa: S311
    facts: list[CompletionFacts] = []
    revoked: list[tuple[str, str, str]] = []
    counters: dict[str, int] = {}
    for planned in learner.history:
        programme = planned.programme
        number = counters.get(programme.provider, 0) + 1
        counters[programme.provider] = number
        record_id = (
            f"{_RECORD_PREFIX[programme.provider]}-{planned.completed_on.year}-{learner.serial:05d}-{number:03d}"
        )
        facts.append(
            CompletionFacts(
                provider_id=programme.provider,
                record_id=record_id,
                learner_id=learner.registration.learner_id,
                programme_code=programme.code,
                programme_title=programme.title,
                category=programme.category,
                level=programme.level,
                hours=programme.hours,
                assessment=planned.assessment,
                completed_on=planned.completed_on,
                started_on=planned.started_on,
                topics=programme.topics,
            )
        )
        share = 0.06 if programme.provider == SUSPENDED else 0.01
        roll = rng.random()
        reasons = _REVOCATION_REASONS.get(programme.provider, _REVOCATION_REASONS["*"])
        reason = rng.choice(reasons)
        if roll < share and planned.assessment != "fail" and learner.serial != NEAR_QUALIFIED_SERIAL:
            revoked.append((programme.provider, record_id, reason))
    return facts, revoked


def _chunks(items: Sequence[CompletionFacts], size: int) -> Iterable[Sequence[CompletionFacts]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _check_outcomes(batch: Sequence[CompletionFacts], outcomes: Sequence[CompletionOutcome]) -> int:
    rejected = [o for o in outcomes if o.status == "rejected"]
    if rejected or len(outcomes) != len(batch):
        details = "; ".join(f"{o.record_id}: {o.error}" for o in rejected[:5])
        raise DemoError(f"the ledger refused {len(rejected)} of {len(batch)} demo completions: {details}")
    return sum(1 for o in outcomes if o.status == "recorded")


# -- the demo's clock ----------------------------------------------------------------


def _reported_on(completed_on: date, today: date) -> date:
    """Institutions report a week's completions on the Monday after."""
    return min(completed_on + timedelta(days=7 - completed_on.weekday()), today)


def _registered_on(learner: _Learner, start: date, today: date) -> date:
    """HR registers a teacher when hired, or when the demo's history starts."""
    hired_on = learner.registration.hired_on or start
    return min(max(hired_on, start), today)


class _DemoClock:
    """When each event of a fresh demo's history is recorded: from 09:00 (in the bank's
    zone) of the day the history has reached, a microsecond apart, never going back and
    never past ``latest`` (the build's start), so the order of positions is the order of
    recorded times."""

    def __init__(self, zone: ZoneInfo, latest: datetime) -> None:
        self.zone = zone
        self.latest = latest
        self.reached = latest
        self.last: datetime | None = None

    def reach(self, day: date) -> None:
        self.reached = min(datetime.combine(day, time(9), tzinfo=self.zone), self.latest)

    def __call__(self) -> datetime:
        moment = self.reached if self.last is None else max(self.last + timedelta(microseconds=1), self.reached)
        self.last = moment
        return moment.astimezone(UTC)


@contextmanager
def _recorded_by(clock: _DemoClock | None) -> Iterator[None]:
    """While the block runs, the library stamps new events by ``clock`` (None: by the
    real clock). The demo writes on this thread alone, before the bank serves anything."""
    if clock is None:
        yield
        return
    original = CanCreateTimestamp.__dict__["create_timestamp"]
    CanCreateTimestamp.create_timestamp = staticmethod(clock)  # type: ignore[method-assign]
    try:
        yield
    finally:
        CanCreateTimestamp.create_timestamp = original  # type: ignore[method-assign]


# -- the build ----------------------------------------------------------------------


def build_demo(
    bank: CreditBank,
    *,
    today: date,
    seed: int = 7,
    learners: int = 1000,
    progress: Progress | None = None,
    zone: ZoneInfo | None = None,
    evaluation_secret: bytes | None = None,
) -> DemoSummary:
    """Write the demo bank through ``bank``'s commands; safe to run again. ``zone``: the
    bank's time zone (Asia/Shanghai by default), for the demo's clock; ``evaluation_secret``:
    the service's (``ledger.evaluation_secret``), under which the demo's teachers evaluate."""
    if learners < MIN_LEARNERS:
        raise ValueError(f"the demo needs at least {MIN_LEARNERS} learners, not {learners}")

    def report(stage: str, done: int, total: int) -> None:
        if progress is not None:
            progress(stage, done, total)

    zone = zone or ZoneInfo("Asia/Shanghai")
    # Only an empty bank gets a history by the demo's clock: over recorded events, a
    # backdated one would break the order of positions and recorded times.
    clock = _DemoClock(zone, datetime.now(zone)) if not bank.recorder.max_notification_id() else None
    cast = [_plan_learner(seed, serial, today) for serial in range(1, learners + 1)]
    planned = [_completions(learner, seed) for learner in cast]
    # Cast members erased since an earlier build are never registered or posted for again.
    erased = _erased(bank, cast, planned)
    kept = [
        (learner, plan)
        for learner, plan in zip(cast, planned, strict=True)
        if learner.registration.learner_id not in erased
    ]
    facts: list[CompletionFacts] = []
    revocations: list[tuple[str, str, str]] = []
    for _, (learner_facts, learner_revocations) in kept:
        facts.extend(learner_facts)
        revocations.extend(learner_revocations)
    # Institutions report after the fact, week by week: post in date order.
    facts.sort(key=lambda f: (f.completed_on, f.provider_id, f.record_id))
    start = min((f.completed_on for f in facts), default=today)
    recorded = 0
    with _recorded_by(clock):
        if clock is not None:
            clock.reach(start)
        # The seed policies, the district's (seed 002, 绿园区) included.
        bank.publish_shipped_policies(include_districts=True)
        accreditations = _accreditations(today.year)
        for done, accreditation in enumerate(accreditations, start=1):
            bank.accredit_provider(accreditation)
            report("providers", done, len(accreditations))
        if bank.provider(SUSPENDED).suspended and any(
            f.completion_id not in bank.repository for f in facts if f.provider_id == SUSPENDED
        ):
            # A larger demo over a smaller one: the suspended institution's earlier records
            # are posted while it is reinstated, then it is suspended again below.
            bank.reinstate_provider(SUSPENDED)

        hiring = deque(sorted((lr for lr, _ in kept), key=lambda lr: _registered_on(lr, start, today)))
        registered = 0

        def register_until(day: date) -> None:
            nonlocal registered
            while hiring and _registered_on(hiring[0], start, today) <= day:
                learner = hiring.popleft()
                if clock is not None:
                    clock.reach(_registered_on(learner, start, today))
                bank.register_learner(learner.registration)
                registered += 1
                if registered % 100 == 0 or registered == len(kept):
                    report("learners", registered, len(kept))

        done = 0
        for day, week in itertools.groupby(facts, key=lambda f: _reported_on(f.completed_on, today)):
            register_until(day)  # everyone is registered before their first completion
            if clock is not None:
                clock.reach(day)
            for batch in _chunks(list(week), BATCH_SIZE):
                recorded += _check_outcomes(batch, bank.record_completions(batch))
                done += len(batch)
                report("completions", done, len(facts))
        register_until(today)

    for done, (provider_id, record_id, reason) in enumerate(revocations, start=1):
        bank.revoke_completion(provider_id, record_id, reason, by_provider=provider_id)
        if done % 50 == 0 or done == len(revocations):
            report("revocations", done, len(revocations))

    if not bank.provider(SUSPENDED).suspended:
        bank.suspend_provider(SUSPENDED, _suspension_reason(today.year))
    report("suspensions", 1, 1)
    record = record_service(bank, [CastMember(lr.serial, lr.kind, lr.registration) for lr, _ in kept], today)
    report("service record", 1, 1)

    def first(kind: str) -> str:
        return next(lr.registration.learner_id for lr in cast if lr.kind == kind)

    near = cast[NEAR_QUALIFIED_SERIAL - 1].registration.learner_id
    examples = (near, first("first_year"), first("head_teacher"), first("principal"))

    if evaluation_secret is not None:
        revoked = {(provider_id, record_id) for provider_id, record_id, _ in revocations}
        evaluated = [f for f in facts if (f.provider_id, f.record_id) not in revoked and f.learner_id not in examples]
        _evaluate(bank, evaluation_secret, evaluated, seed, today, report)
    for review in _reviews(today):
        record_review(bank, review)

    return DemoSummary(
        district=DISTRICT,
        city=CITY,
        province=PROVINCE,
        provider_ids=tuple(a.provider_id for a in accreditations),
        suspended_provider_id=SUSPENDED,
        schools=tuple((code, name) for code, name, _ in SCHOOLS),
        learners=len(cast),
        completions=len(facts),
        revocations=len(revocations),
        newly_recorded=recorded,
        principal_id=first("principal"),
        prospective_principal_id=cast[NEAR_QUALIFIED_SERIAL - 1].registration.learner_id,
        first_year_teacher_id=first("first_year"),
        head_teacher_id=first("head_teacher"),
        trainer_id=cast[TRAINER_SERIAL - 1].registration.learner_id,
        position=bank.recorder.max_notification_id(),
        erased=tuple(sorted(erased)),
        service_record=record,
        example_learner_id=next(
            (i for i in examples if i not in erased),
            next(lr.registration.learner_id for lr in cast if lr.registration.learner_id not in erased),
        ),
    )


# -- anonymous evaluations (seed 000 §8) ---------------------------------------------

#: How well each institution's programmes are liked (the mean score its teachers give).
_LIKED: Final = {ACADEMY: 4.4, UNIVERSITY: 4.1, CENTRE: 3.9, INSTITUTE: 3.6, ONLINE: 3.3, SUSPENDED: 2.4}
_COMMENTS: Final = (
    "案例贴近课堂,回校就能用",
    "讲座偏多,互动和实践少了些",
    "课程安排紧凑,组织有序",
    "希望增加跟岗实践和课堂观摩",
    "专家讲得透彻,收获很大",
    "网络平台偶尔卡顿,影响学习",
    "作业量偏大,工学矛盾突出",
    "分组研讨很有启发",
)


def _evaluate(
    bank: CreditBank,
    secret: bytes,
    facts: Sequence[CompletionFacts],
    seed: int,
    today: date,
    report: Callable[[str, int, int], None],
) -> None:
    """Each institution's two most attended programmes of the last year are evaluated: the
    first by ``TALLY_SIZE`` or more of its teachers, the second by fewer."""
    since = today - timedelta(days=365)
    attended: dict[tuple[str, str], list[CompletionFacts]] = {}
    for f in facts:
        if f.assessment in ("pass", "excellent") and f.completed_on >= since:
            attended.setdefault((f.provider_id, f.programme_code), []).append(f)
    plan: list[tuple[CompletionFacts, Ballot]] = []
    for index, provider in enumerate(_LIKED):
        ranked = sorted(
            (key for key in attended if key[0] == provider),
            key=lambda k: (-len({f.learner_id for f in attended[k]}), k),
        )
        for quota, key in zip((TALLY_SIZE + 2 + index % 4, 1 + index % 3), ranked, strict=False):
            rng = random.Random(f"creditbank-demo-evaluations:{seed}:{key[0]}:{key[1]}")  # noqa: S311
            by_learner = {f.learner_id: f for f in sorted(attended[key], key=lambda f: f.record_id)}
            for learner_id in sorted(by_learner)[:quota]:
                plan.append((by_learner[learner_id], _ballot(rng, _LIKED[provider])))
    for done, (f, ballot) in enumerate(plan, start=1):
        with contextlib.suppress(AlreadyEvaluated):  # a rebuild: evaluated the first time
            evaluate_completion(bank, secret, f.learner_id, f.provider_id, f.record_id, ballot)
        report("evaluations", done, len(plan))


def _ballot(rng: random.Random, liked: float) -> Ballot:
    def score() -> int:
        return min(5, max(1, round(rng.gauss(liked, 0.7))))

    comment = rng.choice(_COMMENTS) if rng.random() < 0.5 else None
    return Ballot(score(), score(), score(), comment)


def _reviews(today: date) -> tuple[ReviewFacts, ...]:
    on = today - timedelta(days=14)
    return (
        ReviewFacts(ACADEMY, "expert", on, "课程设置对标任职资格标准,师资结构合理;跟岗实践环节偏短", 4),
        ReviewFacts(ONLINE, "third_party", on, "平台访问稳定性不足,学习数据可追溯;建议加强过程性考核", 3),
    )


def _erased(
    bank: CreditBank,
    cast: Sequence[_Learner],
    planned: Sequence[tuple[list[CompletionFacts], list[tuple[str, str, str]]]],
) -> set[str]:
    """The cast members whose personal data was erased since an earlier build: the vault no
    longer knows their number, yet their completions (keyed by institution and record id,
    never by person) are in the log. Every member has at least one completion, so none is
    missed; registering one again would re-create the erased person."""
    known = bank.subjects_of(lr.registration.learner_id for lr in cast)
    erased = set()
    for learner, (learner_facts, _) in zip(cast, planned, strict=True):
        number = learner.registration.learner_id
        if not learner_facts:
            raise DemoError(f"demo learner {learner.serial} has no completion, so an erasure could not be told")
        if number not in known and learner_facts[0].completion_id in bank.repository:
            erased.add(number)
    return erased
