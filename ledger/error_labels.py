"""The Chinese words for every refusal of the ledger, keyed by the error's stable ``code``.

Invariants:
- every ``code`` of a ``ledger.errors.DomainError`` subclass has exactly one entry here
  (``tests/unit/test_problem_labels.py`` walks the subclasses and fails on a code without
  one, or an entry no class has); the English words are the class's own ``title``, so they
  live in one place each;
- ``zh`` is the title (a noun phrase, as the English title), ``detail`` a whole Chinese
  sentence that embeds no value: the one who renders it adds the field path the refusal
  names (``api.service.problem_labels``), never a fragment of the English detail, so the
  sentence reads right whatever values the English detail quoted;
- kept apart from ``ledger.errors`` (one table keyed by code) so that adding an error class
  and its words are two small edits that merge cleanly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ledger.errors import DomainError
from ledger.vocabulary import Label


@dataclass(frozen=True)
class ErrorWords:
    #: The title in Chinese.
    zh: str
    #: What was wrong and what is expected, as a Chinese sentence without values.
    detail: str


ERROR_WORDS: Final[dict[str, ErrorWords]] = {
    "domain_error": ErrorWords("账本拒绝了该操作", "该操作违反账本规则，未被记录。"),
    # -- learners
    "learner_not_found": ErrorWords("无此教师", "未找到该教师的记录，请核对教师编号。"),
    "learner_already_registered": ErrorWords(
        "该教师编号已登记且信息不同", "同一教师编号已以不同的信息登记；如需更正，请使用更正功能。"
    ),
    "repeated_in_batch": ErrorWords(
        "同一批中重复的条目", "同一批提交中该条目（同一教师或同一记录编号）重复出现：以第一次为准，重复的一条未记录。"
    ),
    "correction_empty": ErrorWords("更正未改变任何内容", "更正须至少改变姓名、学校或入职日期中的一项。"),
    "learner_erased": ErrorWords("该教师的个人信息已删除", "该教师的个人信息已按要求删除，不再为其记录任何内容。"),
    "personal_data_unreadable": ErrorWords(
        "无法读取该教师的个人信息", "该个人信息已删除，或并非由本系统加密保存，无法打开。"
    ),
    "role_not_held": ErrorWords("该教师未担任此职务", "该教师当前未担任此职务，无法结束。"),
    "role_already_held": ErrorWords("该教师已担任此职务", "该教师已担任此职务，无需再次任命。"),
    "role_dates_out_of_order": ErrorWords("职务结束早于开始", "职务的结束日期不能早于开始日期。"),
    "role_spells_overlap": ErrorWords("职务任期重叠", "上一段任期结束之前，不能再次开始同一职务。"),
    "forbidden": ErrorWords("超出权限范围", "此令牌无权访问该对象：它不在令牌所辖范围内。"),
    # -- institutions and completions
    "provider_not_found": ErrorWords("无此培训机构", "未找到该培训机构，请核对机构编号。"),
    "provider_suspended": ErrorWords("该培训机构已被暂停", "该培训机构已被暂停资格，暂停期间不能登记学时。"),
    "provider_not_suspended": ErrorWords("该培训机构未被暂停", "该培训机构当前未被暂停，无需恢复。"),
    "outside_accreditation": ErrorWords("超出机构的认定范围", "该培训的类别、级别或日期不在机构认定的范围与有效期内。"),
    "accreditation_invalid": ErrorWords("认定信息无效", "机构认定须列出类别与级别，且有效期的起止日期顺序正确。"),
    "completion_in_future": ErrorWords("结业日期晚于今天", "结业日期不能晚于今天。"),
    "completion_dates_out_of_order": ErrorWords("结业早于开始", "培训的结业日期不能早于开始日期。"),
    "hours_invalid": ErrorWords("学时无效", "学时须为大于 0 的精确小数，最多两位小数。"),
    "completion_conflict": ErrorWords(
        "该记录编号已用于另一条培训记录", "同一机构的同一记录编号已登记了内容不同的培训记录；请使用新的记录编号。"
    ),
    "completion_not_found": ErrorWords("无此培训记录", "未找到该培训记录，请核对机构编号与记录编号。"),
    "revocation_not_permitted": ErrorWords("无权撤销该记录", "只有登记该记录的培训机构或管理员可以撤销。"),
    "unknown_code": ErrorWords("代码不在规定范围内", "该值不是规定的代码之一，请从词表中选择。"),
    "posting_as_another_provider": ErrorWords("不能以其他机构名义登记", "培训机构只能以本机构的名义登记学时。"),
    # -- policies and rules
    "policy_not_found": ErrorWords("无此政策", "未找到该政策，请核对政策编号。"),
    "policy_invalid": ErrorWords("政策版本无效", "该政策版本的内容不符合要求。"),
    "rule_invalid": ErrorWords("政策中的规则无效", "该规则的写法不符合要求。"),
    "rule_kind_unknown": ErrorWords("无法评估的规则类型", "该规则类型不是系统能够评估的类型之一。"),
    "policy_versions_overlap": ErrorWords("政策版本的有效期重叠", "新版本的有效期与同一政策已发布的版本重叠。"),
    "policy_version_conflict": ErrorWords(
        "该版本号已以不同内容发布", "同一政策的该版本号已发布过不同的内容；请使用新的版本号。"
    ),
    "policy_jurisdiction_changed": ErrorWords("政策不能更换辖区", "政策始终属于首次发布时的辖区。"),
    "loosening_not_explicit": ErrorWords(
        "下级规则放宽上级规则却未说明", "下级辖区的规则放宽了上级规则，须明确写明所替代的规则。"
    ),
    "replaced_rule_not_found": ErrorWords("所替代的规则不存在", "replaces 中指明的规则在上级辖区并未生效。"),
    "concurrent_write_conflict": ErrorWords("同时写入冲突", "其他操作正在不断修改相同的记录，请稍后重试。"),
    # -- the grammar of ids and text
    "identifier_invalid": ErrorWords("编号格式不正确", "编号只能由系统记录的字符组成，且长度不超过上限。"),
    "identifier_reserved": ErrorWords("编号使用了保留前缀", "编号不能以系统保留的前缀开头。"),
    "text_invalid": ErrorWords("文字内容无效", "文字为空、过长，或含有系统不记录的字符。"),
    # -- certificates
    "certificate_kind_unknown": ErrorWords("无此证书种类", "该证书种类不在词表中。"),
    "certificate_not_earned": ErrorWords("未达到发证要求", "该教师未满足此类证书的规则，不能发证。"),
    "certificate_not_found": ErrorWords("无此证书", "未找到该证书，请核对证书编号。"),
    "certificate_revoked": ErrorWords("证书已撤销", "该证书已被撤销；撤销的证书不能恢复。"),
    "certificate_not_suspended": ErrorWords("证书未被暂停", "该证书当前未被暂停，无需恢复。"),
    "certificate_dates_invalid": ErrorWords("证书日期无效", "证书的日期顺序不正确，或晚于今天。"),
    # -- transfers and degree credits
    "account_closed": ErrorWords("该辖区的学时账户已关闭", "该教师在此辖区的学时账户已因转移而关闭。"),
    "account_departed": ErrorWords(
        "该教师的学时账户已转出本库",
        "该教师的学时账户已转至其他省份的学分银行，本库不再记录其新的内容。",
    ),
    "departure_invalid": ErrorWords(
        "转出记录无效",
        "该转出记录不是本库信任的学分银行签发的，或并非转入本库，或其摘要与学时记录不符。",
    ),
    "arrival_conflict": ErrorWords(
        "该教师的学时账户已在本库开立",
        "该教师的学时账户在本库处于开立状态，不能再次转入。",
    ),
    "federation_not_configured": ErrorWords(
        "本库未配置银行编号",
        "本库未设置银行编号（CREDITBANK_BANK_ID），不能办理跨省转移。",
    ),
    "transfer_invalid": ErrorWords("转移无效", "该转移的内容不符合要求。"),
    "transfer_not_found": ErrorWords("无此转移", "未找到该转移记录，请核对转移编号。"),
    "transfer_already_reversed": ErrorWords("转移已撤回", "该转移已经撤回过。"),
    "transfer_conflict": ErrorWords("该转移编号已用于另一转移", "该转移编号已用于内容不同的转移；请使用新的编号。"),
    "degree_mapping_invalid": ErrorWords("学分对应方案无效", "该学时与学位学分的对应方案不符合要求。"),
    "degree_mapping_not_found": ErrorWords("无此学分对应方案", "未找到该学分对应方案。"),
    "hours_already_recognised": ErrorWords("学时已认定为学分", "这些学时已经认定为学位学分。"),
    "recognition_invalid": ErrorWords("学分认定无效", "该学分认定的内容不符合要求。"),
    "degree_mapping_version_conflict": ErrorWords(
        "该方案版本号已以不同内容发布", "该学分对应方案的版本号已发布过不同的内容；请使用新的版本号。"
    ),
    "completion_not_recognisable": ErrorWords(
        "该培训记录不能认定为学分", "该培训记录已撤销、未合格或不计学时，不能认定为学位学分。"
    ),
    "degree_cap_exceeded": ErrorWords("超出学位项目的认定上限", "该认定会超出学位项目规定的学分上限。"),
    "recognition_not_found": ErrorWords("无此学分认定", "未找到该学分认定记录。"),
    "recognition_already_reversed": ErrorWords("学分认定已撤回", "该学分认定已经撤回过。"),
    "recognition_conflict": ErrorWords(
        "该认定编号已用于另一认定", "该认定编号已用于内容不同的学分认定；请使用新的编号。"
    ),
    # -- the service record (refusals, appraisals, qualifications, prior certificates, appointments)
    "appointment_not_eligible": ErrorWords(
        "不符合任职条件", "该教师在任职开始之日未达到该职务的任职要求（持证上岗）；详见所附的判定。"
    ),
    "appointment_override_not_permitted": ErrorWords("无权越过任职审核", "只有管理员可以在记录理由后越过任职审核。"),
    "appraisal_conflict": ErrorWords("该学年已记录不同的考核结果", "每个学年只记录一个年度考核结果。"),
    "date_outside_school_year": ErrorWords("日期不在该学年内", "日期须在所记录的学年之内。"),
    "prior_certificate_conflict": ErrorWords(
        "已记录同类同日的不同证书", "同一种类、同一发证日期的既往证书只记录一份。"
    ),
    "qualification_conflict": ErrorWords("已记录同类的不同教师资格", "每类教师资格只为一位教师记录一份。"),
    "refusal_conflict": ErrorWords("该学年已记录对此职务的不同拒绝", "每个学年对同一职务只记录一次拒绝。"),
    "service_record_in_future": ErrorWords("履历事实的日期晚于今天", "履历事实的日期不能晚于今天。"),
    # -- anonymous evaluation of programmes
    "already_evaluated": ErrorWords("该培训已评价过", "每条合格的培训记录只能评价一次。"),
    "completion_not_evaluable": ErrorWords("该培训记录不能评价", "只有本人合格且未撤销的培训记录才能评价。"),
    "evaluation_invalid": ErrorWords("评价无效", "评分须为 1 到 5，评价或评审的种类须为规定的种类。"),
    "review_conflict": ErrorWords("该评审已以不同内容记录", "同一种类、同一日期的评审已记录了不同的结论。"),
    # -- jurisdiction vocabularies
    "vocabulary_invalid": ErrorWords("词表文件无效", "该词表文件的内容不符合要求。"),
    "vocabulary_code_taken": ErrorWords("代码已被占用", "该代码已在国家词表或上级辖区的词表中。"),
    "vocabulary_version_conflict": ErrorWords(
        "该词表版本号已以不同内容发布", "该词表的版本号已发布过不同的内容；请使用新的版本号。"
    ),
    "vocabulary_versions_overlap": ErrorWords(
        "词表版本的生效日期不在最新版本之后", "新版本的生效日期须晚于已发布的最新版本。"
    ),
    "school_invalid": ErrorWords("学校信息无效", "学校的编码、名称、类型或教师人数不符合要求。"),
    "school_not_found": ErrorWords("学校不存在", "未找到该学校；请先登记学校。"),
    "school_conflict": ErrorWords("该学校编码已以不同信息登记", "该学校编码已登记，且信息与本次不同。"),
    "unknown_school": ErrorWords("学校未在该辖区登记", "该辖区已登记学校，新登记的教师须属于已登记的学校。"),
    "plan_conflict": ErrorWords(
        "该学年度已提交另一份培训计划", "学校每个学年度提交一份培训计划；内容不同的计划不能覆盖。"
    ),
    "session_not_found": ErrorWords("本校没有该培训活动", "未找到该校的这次校本培训活动；请先登记活动。"),
    "session_conflict": ErrorWords("该活动编号已以不同内容登记", "该校本培训活动编号已登记，且内容与本次不同。"),
    "slot_invalid": ErrorWords("节次与活动日期的星期不符", "节次（如 tue-3）须与活动当天的星期一致。"),
    "attendance_sheet_invalid": ErrorWords("考勤表无法登记", "考勤表中的教师须不重复，且更改考勤须说明原因。"),
    "not_a_teacher_of_school": ErrorWords("该教师不是本校教师", "考勤表只能列出本校登记在册的教师。"),
    "code_not_in_force": ErrorWords("代码在相关辖区未生效", "该代码在所涉及的辖区尚未生效或已不再生效。"),
}


def domain_error_classes() -> list[type[DomainError]]:
    """The root and every subclass of it defined so far, depth first."""
    found: list[type[DomainError]] = []
    pending: list[type[DomainError]] = [DomainError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def error_labels() -> dict[str, Label]:
    """Every domain error code with its Chinese and English title, in code order. A code
    without Chinese words keeps its English title in both (the unit test makes that a bug)."""
    labels: dict[str, Label] = {}
    for cls in domain_error_classes():
        words = ERROR_WORDS.get(cls.code)
        labels.setdefault(cls.code, Label(words.zh if words else cls.title, cls.title))
    return dict(sorted(labels.items()))
