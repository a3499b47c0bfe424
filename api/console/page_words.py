"""The words of the institution's postings and evaluation pages and of the teacher's
evaluation page, in Chinese (the default) and English.

Kept beside ``api.console.labels`` (whose words every page shares): ``word`` falls back to
it, so a template of these pages asks one function for every word.
"""

from __future__ import annotations

from typing import Final

from api.console import labels

WORDS: Final[dict[str, tuple[str, str]]] = {
    "postings": ("本机构上报的学时记录", "Completions we posted"),
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
}


def word(key: str, lang: str) -> str:
    if key in WORDS:
        zh, en = WORDS[key]
        return en if lang == "en" else zh
    return labels.word(key, lang)
