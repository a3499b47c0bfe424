"""What the console says, in Chinese (the default) or English (``?lang=en``).

Invariants: vocabulary codes are labelled from ``ledger.vocabulary.LABELS`` only (an unknown
code shows as itself, never as a guess); the words of a refusal are the ledger's and the
API's own (``REASONS``, read from their tables by code); the console's own words live here,
each with both languages.
"""

from __future__ import annotations

import re
from typing import Final

from api.service.problem_labels import problem_labels
from ledger.vocabulary import LABELS

LANGS: Final = ("zh", "en")

#: The console's own words.
WORDS: Final[dict[str, tuple[str, str]]] = {
    "bank": ("培训学分银行", "Credit bank"),
    "console": ("管理控制台", "Console"),
    "sign_in": ("登录", "Sign in"),
    "sign_out": ("退出", "Sign out"),
    "token": ("访问令牌", "Access token"),
    "token_help": (
        "粘贴一次您的访问令牌；令牌只以加密形式保存在本浏览器的会话中。",
        "Paste your token once; the session keeps it only encrypted.",
    ),
    "bad_token": ("令牌无效、已过期或已吊销。", "The token is unknown, expired or revoked."),
    "forbidden": ("您的角色无权打开此页面。", "Your role may not open this page."),
    "not_found": ("未找到。", "Not found."),
    "csrf": (
        "表单已过期或缺少安全校验，请刷新页面后重试。",
        "The form is stale or lacks its CSRF token; reload and retry.",
    ),
    "cohort": ("队列达标情况", "Cohort"),
    "target": ("考核目标", "Target"),
    "jurisdiction": ("行政区划", "Jurisdiction"),
    "school": ("学校", "School"),
    "all": ("全部", "All"),
    "show": ("查看", "Show"),
    "eligible": ("达标", "Eligible"),
    "not_eligible": ("未达标", "Not eligible"),
    "not_applicable": ("不适用", "Not applicable"),
    "who_short": ("未达标人员", "Who is short"),
    "missing": ("缺少", "Missing"),
    "by": ("截止", "by"),
    "download_xlsx": ("下载 Excel", "Download xlsx"),
    "download_csv": ("下载 CSV", "Download CSV"),
    "learners": ("教师查询", "Find a teacher"),
    "search_help": ("输入教师编号或姓名", "Teacher number or name"),
    "search": ("查询", "Search"),
    "learner_id": ("教师编号", "Teacher number"),
    "name": ("姓名", "Name"),
    "hours": ("学时", "Hours"),
    "category": ("类别", "Category"),
    "year": ("年度", "Year"),
    "cycle": ("周期", "Cycle"),
    "total": ("合计", "Total"),
    "verdicts": ("资格判定", "Verdicts"),
    "requirement": ("要求", "Requirement"),
    "required": ("应达", "Required"),
    "actual": ("实际", "Actual"),
    "met": ("满足", "Met"),
    "evidence": ("依据记录", "Evidence"),
    "source": ("政策条文", "Source"),
    "plan": ("培训计划", "Plan"),
    "plan_before": ("截至以下日期尚需完成", "What remains before"),
    "certificates": ("证书", "Certificates"),
    "history": ("历史记录", "History"),
    "history_hidden": (
        "此令牌无权查看历史记录（仅审计员和本人）。",
        "This token may not read the history (auditors and the learner only).",
    ),
    "roster": ("花名册导入", "Roster upload"),
    "roster_help": (
        "先试运行：账本逐行判定（与正式登记的规则相同），不保存任何内容；确认后再正式登记。",
        "A dry run first: the ledger judges every row as a registration would, saving nothing; then commit.",
    ),
    "roster_commit": ("确认登记", "Register them"),
    "would_register": ("将登记", "would be registered"),
    "registered": ("已登记", "registered"),
    "registered_before": ("此前已登记（信息相同）", "registered before (same details)"),
    "already_registered": ("此前已登记", "registered before"),
    "roster_committed": ("已登记。", "Registered."),
    "roster_nothing_new": (
        "全部已登记：文件中可以登记的教师此前均已登记，本次没有新登记任何人。",
        "All registered already: every teacher of this file who could be was registered before; nobody new.",
    ),
    "upload": ("上传", "Upload"),
    "file": ("文件 (xlsx 或 CSV)", "File (xlsx or CSV)"),
    "institution": ("培训机构", "Institution"),
    "school_home": ("校本培训", "School training"),
    "this_week": ("本周校本培训", "This week's sessions"),
    "no_sessions": ("本周没有记录的培训。", "No session recorded this week."),
    "term": ("学期", "Term"),
    "inspection": ("期末专项检查", "Term inspection"),
    "plan_missing": ("尚未提交本学年培训计划", "No plan filed for the school year"),
    "plan_on_time": ("按时提交", "filed on time"),
    "plan_late": ("逾期提交", "filed late"),
    "filed_on": ("提交日期", "Filed on"),
    "deadline": ("截止日期", "Deadline"),
    "held_on": ("日期", "Held on"),
    "slot": ("节次", "Slot"),
    "programme_title": ("内容", "Content"),
    "sessions_held": ("已开展次数", "Sessions held"),
    "weeks_meeting": ("达到每周频次的周数", "Weeks meeting the frequency"),
    "attendance_sheet": ("签到表", "Attendance sheet"),
    "present": ("出席", "Present"),
    "record_attendance": ("保存签到", "Record attendance"),
    "attendance_recorded": ("签到已记录。", "Attendance recorded."),
    "attendance_same": ("签到表与已记录的相同，未重复记录。", "The same sheet again: nothing recorded twice."),
    "correction_reason": ("更正原因（修改已记录的签到时必填）", "Reason (needed to correct a recorded sheet)"),
    "attendance_rate": ("出勤率", "Attendance rate"),
    "attended": ("出席内容数", "Contents attended"),
    "average_rate": ("平均出勤率", "Average rate"),
    "threshold": ("合格线", "Threshold"),
    "school_calendar": ("本学期校历", "This term's calendar"),
    "sessions_per_week": ("每周应开展培训次数", "Sessions required a week"),
    "school_year": ("学年", "School year"),
    "plan_title": ("计划名称", "Plan title"),
    "document_sha256": ("计划文件 SHA-256", "Plan document SHA-256"),
    "file_plan": ("提交培训计划", "File the plan"),
    "plan_filed": ("培训计划已备案", "The plan is filed"),
    "plan_same": ("该计划此前已备案，未做更改", "This plan was filed already; nothing changed"),
    "record_session": ("记录校本培训", "Record a session"),
    "session_id": ("培训编号", "Session id"),
    "content_key": ("内容编号", "Content key"),
    "programme_code": ("项目代码", "Programme code"),
    "instructor": ("主讲教师", "Instructor"),
    "session_recorded": ("培训已记录", "session recorded"),
    "session_same": ("该培训此前已记录，未做更改", "recorded before; nothing changed"),
    "absence_reason": ("缺席原因（未勾选时）", "Reason if absent"),
    "sheet_on_record": ("已记录的签到表", "Sheet on record"),
    "sheet_corrections": ("更正次数", "corrections"),
    "sheet_none": ("尚未记录签到", "No sheet recorded yet"),
    "below_threshold": ("低于合格线", "Below threshold"),
    "open_sheet": ("签到", "Attendance"),
    "accreditation": ("资质", "Accreditation"),
    "suspended": ("已暂停", "Suspended"),
    "active": ("正常", "Active"),
    "valid_from": ("有效期自", "Valid from"),
    "valid_to": ("至", "to"),
    "levels": ("级别", "Levels"),
    "categories": ("类别", "Categories"),
    "completions_upload": ("上传培训记录", "Upload completions"),
    "mapping": ("列对应关系", "Column mapping"),
    "dry_run": ("试运行（不保存）", "Dry run (nothing saved)"),
    "dry_run_note": (
        "试运行：以下结果由账本按正式提交的同样规则判定，尚未保存任何内容。",
        "Dry run: judged by the ledger exactly as a post, nothing saved yet.",
    ),
    "commit": ("确认提交", "Commit"),
    "row": ("行", "Row"),
    "status": ("结果", "Result"),
    "reason": ("原因", "Reason"),
    "column": ("列", "Column"),
    "recorded": ("已记录", "recorded"),
    "would_record": ("将记录", "would be recorded"),
    "duplicate": ("重复（已记录过）", "duplicate"),
    "rejected": ("拒绝", "rejected"),
    "nothing_new": (
        "本次没有记录任何新内容：文件中的记录此前均已记录。",
        "Nothing new was recorded: every row of this file was recorded before.",
    ),
    "committed": ("已提交。", "Committed."),
    "postings": ("本机构的记录与撤销", "Postings and revocations"),
    "auditor": ("审计", "Audit"),
    "verify_chain": ("校验哈希链", "Verify the chain"),
    "checkpoints": ("检查点", "Checkpoints"),
    "institution_audit": ("机构审计", "Institution audit"),
    "anomalies": ("异常", "Anomalies"),
    "events": ("事件浏览", "Event explorer"),
    "bundle": ("导出审计包", "Export a bundle"),
    "position": ("位置", "Position"),
    "type": ("类型", "Type"),
    "recorded_at": ("记录时间", "Recorded at"),
    "chain_ok": ("哈希链完整，未发现篡改。", "The chain is intact."),
    "chain_broken": ("哈希链断裂！", "The chain is broken!"),
    "me": ("我的学时", "My hours"),
    "verify": ("证书核验", "Verify a certificate"),
    "verify_help": ("输入证书编号，或粘贴证书 (JWS)", "A certificate id, or the certificate (JWS) pasted"),
    "certificate_id": ("证书编号", "Certificate id"),
    "certificate_jws": ("证书内容 (JWS)", "Certificate (JWS)"),
    "valid": ("有效", "Valid"),
    "revoked": ("已撤销", "Revoked"),
    "suspended_cert": ("已暂停", "Suspended"),
    "expired": ("已过期", "Expired"),
    "unknown": ("状态未知（不能视为有效）", "Status unknown (not valid)"),
    "invalid": ("无效", "Not valid"),
    "since": ("状态起始日期", "Since"),
    "why": ("原因", "Why"),
    "kind": ("证书种类", "Kind"),
    "issued": ("签发日期", "Issued"),
    "verify_link": ("核验链接", "Verification link"),
    "none": ("无", "None"),
    "detail": ("详情", "Detail"),
    "chain_head": ("链头哈希", "Chain head"),
    "service_record": ("任职记录", "Service record"),
    "sr_appraisals": ("年度考核", "Appraisals"),
    "sr_refusals": ("拒绝任职记录", "Refusals of a post"),
    "sr_qualifications": ("教师资格", "Teaching qualifications"),
    "sr_prior_certificates": ("入库前证书", "Certificates from before the bank"),
    "justified": ("有正当理由", "justified"),
    "unjustified": ("无正当理由", "unjustified"),
    "attested": ("经核实登记，非本行签发", "attested, not signed by the bank"),
    "posted": ("提交记录", "Posted"),
    "learner_count": ("人", "learners"),
    "anomaly_over_24h_one_day": ("同一天超过 24 学时", "over 24 h in one day"),
    "anomaly_overlapping_sessions": ("培训时间重叠", "overlapping sessions"),
    "anomaly_credited_twice": ("同一课程重复计分", "credited twice"),
    "anomaly_backdated_burst": ("集中补录久远的记录", "a burst of backdated posts"),
    "signed_at": ("签名时间", "Signed at"),
    "month": ("月份", "Month"),
    "scope": ("范围", "Scope"),
    "scope_learner": ("一名教师", "one learner"),
    "scope_institution": ("一家机构", "one institution"),
    "scope_jurisdiction": ("一个行政区划", "one jurisdiction"),
    "scope_all": ("全部事件", "every event"),
    "scope_value": ("教师编号 / 机构 / 区划代码", "Teacher number / institution / division code"),
    "after_position": ("从此位置之后", "After position"),
    "cert_valid": ("有效", "valid"),
    "cert_revoked": ("已撤销", "revoked"),
    "cert_suspended": ("已暂停", "suspended"),
    "cert_expired": ("已过期", "expired"),
    "revoke": ("撤销一条记录", "Revoke a record"),
    "record_id": ("记录编号", "Record id"),
    "revoked_now": ("已撤销，该学时自此不再计入。", "revoked: its hours stop counting from now on"),
    "revoked_before": ("此前已撤销，本次未做任何更改。", "already revoked; nothing changed"),
    # -- the institution's postings and evaluations, the teacher's evaluations
    "postings_list": ("本机构上报的学时记录", "Completions we posted"),
    "postings_help": (
        "按上报时间由新到旧；可按完成日期筛选。撤销后该学时不再计入。",
        "Newest posted first; filter by the day completed. A revoked record stops counting.",
    ),
    "date_from": ("完成日期自", "Completed from"),
    "date_to": ("至", "to"),
    "programme": ("课程", "Programme"),
    "completed_on": ("完成日期", "Completed on"),
    "record_status": ("状态", "Status"),
    "status_recorded": ("已记录", "recorded"),
    "status_revoked": ("已撤销", "revoked"),
    "action": ("操作", "Action"),
    "revoke_short": ("撤销", "Revoke"),
    "revoke_reason": ("撤销原因", "Reason to revoke"),
    "next_page": ("下一页（更早）", "Next page (older)"),
    "next_short": ("后面的未达标人员", "More who are short"),
    "first_page": ("回到最新", "Back to the newest"),
    "no_postings": ("该范围内没有上报记录。", "Nothing posted in this range."),
    "evaluation_summary": ("学员评价汇总（匿名）", "Evaluations by learners (anonymous)"),
    "evaluation_help": (
        "每门课程的评价满 {n} 份才公布汇总；不足时不显示任何数字，以免识别出评价人。",
        "A programme's tallies show once {n} evaluations are published; below that no figure is "
        "shown, so no rater can be told.",
    ),
    "pool_too_small": ("评价不足 {n} 份，暂不公布", "fewer than {n} evaluations: not shown"),
    "average": ("平均分", "Average"),
    "published": ("已公布份数", "Published"),
    "comments": ("评语", "Comments"),
    "reviews": ("专家与第三方评审", "Expert and third-party reviews"),
    "review_on": ("评审日期", "Reviewed on"),
    "rating": ("评分", "Rating"),
    "review_kind": ("评审类型", "Kind"),
    "findings": ("评审意见", "Findings"),
    "no_evaluations": ("尚无评价。", "No evaluations yet."),
    "my_evaluations": ("待评价的课程", "Programmes to evaluate"),
    "my_evaluations_help": (
        "评价是匿名的：银行和本控制台都不保存是谁评价了哪门课程。评语中请勿写入能识别您或他人的内容。",
        "Evaluations are anonymous: neither the bank nor this console keeps who rated what. "
        "Write nothing in a comment that names you or anyone else.",
    ),
    "comment": ("评语（可选）", "Comment (optional)"),
    "evaluate": ("提交评价", "Submit the evaluation"),
    "evaluated": ("评价已提交，谢谢！", "Evaluation submitted, thank you."),
    "evaluation_refused": ("评价未能提交：", "The evaluation was not submitted: "),
    "no_pending": ("没有待评价的课程。", "Nothing to evaluate."),
    "score_help": ("1 分最低，5 分最高", "1 lowest, 5 highest"),
    # The score select's empty first choice: a required select with it cannot be sent unchosen.
    "choose_score": ("请选择", "Choose"),
    # -- the appointment check (持证上岗) and the evidence behind a learner's figures
    "appointment_check": ("核对任职资格", "Check an appointment"),
    "appointment_help": (
        "输入教师编号、拟任岗位和任职日期：账本按正式任命时的同一规则、同一记录判定。核对不保存任何内容，也不任命。",
        "A teacher number, the role and the day it would start: the ledger judges it by the rule and "
        "the records an appointment is judged by. Nothing is saved, nobody is appointed.",
    ),
    "appoint_role": ("拟任岗位", "Role"),
    "appoint_on": ("任职日期", "Starting on"),
    "check": ("核对", "Check"),
    "may_appoint": ("可以任命", "May be appointed"),
    "may_not_appoint": ("不可任命：未满足任职条件", "May not be appointed: requirements not met"),
    "not_judged": ("该岗位的任命不作资格核对", "This role starts without an appointment check"),
    "no_policy": (
        "现行政策未规定该岗位的任职条件，任命不作核对",
        "No policy in force defines this appointment's requirements: it is not judged",
    ),
    "judged_on": ("判定日期", "Judged on"),
    "judged_by": ("判定依据", "Judged by"),
    "unmet": ("未满足", "Not met"),
    "to_learner": ("查看该教师", "Open the teacher's page"),
    "kind_min_hours": ("学时要求", "hours"),
    "kind_min_hours_each_year": ("每年学时要求", "hours each year"),
    "kind_category_present": ("必修内容", "required content"),
    "kind_certificate_held": ("持证要求", "certificate held"),
    "kind_role_held_years": ("任职经历", "years in a role"),
    "kind_service_milestone": ("任职年限", "years of service"),
    "kind_not_refused_head_teacher_post": ("未无故拒任班主任", "no post refused without reason"),
    "kind_credit_ratio": ("学时学分换算", "hours per credit"),
    "unit_hours": ("学时", "h"),
    "unit_hours each year": ("学时/年", "h a year"),
    "unit_completions": ("项", "completions"),
    "unit_years": ("年", "years"),
    "unit_years of service": ("年", "years"),
    "unit_unjustified refusals": ("次无正当理由拒任", "unjustified refusals"),
    "unit_hours per credit": ("学时/学分", "h per credit"),
    "unit_credits": ("学分", "credits"),
    "unit_certificate": ("", ""),
    "missing_completions": ("项培训", "completions"),
    "missing_years": ("年", "years"),
    "refusals_bar": ("学年内无正当理由拒任班主任", "school year: head-teacher post refused without reason"),
    "free_from": ("解除日期", "free from"),
    "evidence_index": ("依据记录明细", "The records behind the figures"),
    "evidence_help": (
        "上文各项数字所依据的记录（#号为账本中的位置）；本页只列出您有权查看的内容。",
        "The records behind the figures above (# is the position in the ledger), as far as your role may read them.",
    ),
    "ev_completion": ("培训记录", "completion"),
    "ev_role": ("任职", "role"),
    "ev_refusal": ("拒任记录", "refusal"),
    "ev_appraisal": ("年度考核", "appraisal"),
    "ev_qualification": ("教师资格", "qualification"),
    "ev_certificate": ("证书", "certificate"),
    "ev_record": ("记录", "record"),
    "in_post": ("至今", "to date"),
    "home": ("首页", "Home"),
    "language": ("English", "中文"),
}

#: Refusals by problem code, (Chinese title, English title): read from the ledger's and the
#: API's own words (``ledger.error_labels``, ``api.service.problem_labels``), never restated.
REASONS: Final[dict[str, tuple[str, str]]] = {code: (w.zh, w.en) for code, w in problem_labels().items()}


#: A malformed cell, in Chinese, by the field it was meant for (``validation_failed``).
FIELD_REASONS: Final[dict[str, tuple[str, str]]] = {
    "hours": ("学时须为正数，最多两位小数", "hours: a positive number, two decimals at most"),
    "completed_on": ("完成日期应为 YYYY-MM-DD", "completed on: YYYY-MM-DD"),
    "started_on": ("开始日期应为 YYYY-MM-DD", "started on: YYYY-MM-DD"),
    "hired_on": ("入职日期应为 YYYY-MM-DD", "hired on: YYYY-MM-DD"),
    "learner_id": ("教师编号缺失或格式不正确", "the teacher number is missing or malformed"),
    "record_id": ("记录编号缺失或格式不正确", "the record id is missing or malformed"),
    "programme.category": ("类别不在词表中", "the category is not in the vocabulary"),
    "programme.level": ("级别不在词表中", "the level is not in the vocabulary"),
    "assessment": ("考核结果应为 合格、优秀 或 不合格", "assessment: pass, excellent or fail"),
    "name": ("姓名缺失或含有不允许的字符", "the name is missing or holds a character not allowed"),
    "school": ("学校代码过长或含有不允许的字符", "the school is too long or holds a character not allowed"),
    "jurisdiction": ("行政区划代码不正确", "the jurisdiction code is not valid"),
    "roles.role": ("岗位不在词表中", "the role is not in the vocabulary"),
    "roles.since": ("任职起始日期应为 YYYY-MM-DD", "since: YYYY-MM-DD"),
}


def field_of(path: str) -> str:
    """The field an error path names, without the item of the batch or any index:
    ``learners[2].roles[0].since`` -> ``roles.since``, ``topics[3]`` -> ``topics``."""
    # A roster's batch names the item first (``learners[2].``); a completion batch does not.
    return re.sub(r"\[\d+\]", "", re.sub(r"^[a-z_]+\[\d+\]\.", "", path))


def item_reason(code: object, fields: list[str], lang: str) -> str:
    """The reason of a refused row: by field for a malformed cell, else by the problem code."""
    if code == "validation_failed":
        bare = [field_of(f) for f in fields]
        named = [FIELD_REASONS[f] for f in bare if f in FIELD_REASONS]
        if named:
            return "；".join(en if lang == "en" else zh for zh, en in named)
    return reason(code, lang)


def word(key: str, lang: str) -> str:
    zh, en = WORDS.get(key, (key, key))
    return en if lang == "en" else zh


def label(field: str, code: object, lang: str) -> str:
    if code is None:
        return ""
    if field == "target" and str(code).startswith("certificate."):
        field, code = "certificate", str(code).removeprefix("certificate.")
    if field == "category" and code == "any":
        return "any category" if lang == "en" else "任意类别"
    known = LABELS.get(field, {}).get(str(code))
    if known is None:
        return str(code)
    return known.en if lang == "en" else known.zh


def reason(code: object, lang: str) -> str:
    zh, en = REASONS.get(str(code), (str(code), str(code)))
    return en if lang == "en" else zh


def code_of_label(field: str, value: str) -> str:
    """A cell may hold the code or its Chinese or English label: the code (else the value)."""
    wanted = value.strip()
    for code, known in LABELS.get(field, {}).items():
        if wanted in {code, known.zh, known.en}:
            return code
    return wanted
