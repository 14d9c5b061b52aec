"""The subsidy service's problem codes: the one table mapping each refusal to its status and text."""

from opc_shared.errors import ProblemTable

PROBLEMS = ProblemTable(
    {
        "evidence_already_used": (
            409,
            ("Evidence already used", "{kind} {number} already backs another claim; the same evidence is never paid twice."),
            ("凭证已被使用", "{kind} {number} 已用于另一项申请，同一凭证不得重复享受补贴。"),
        ),
        "claim_state": (409, ("Not possible now", "{reason}"), ("当前不可操作", "{reason}")),
        "four_eyes": (403, ("Four eyes", "{reason}"), ("双人复核", "{reason}")),
        "decision_invalid": (422, ("Decision not valid", "{reason}"), ("审批决定无效", "{reason}")),
        "budget_exhausted": (
            409,
            ("Budget exhausted", "The {programme} budget of {year} ({scope}) has {left} fen left; {needed} fen needed."),
            ("预算不足", "{year} 年 {programme} 预算（{scope}）剩余 {left} 分，需要 {needed} 分。"),
        ),
        "no_budget": (
            409,
            ("No budget", "There is no {programme} budget for {year} in {scope} or city-wide."),
            ("无预算", "{year} 年 {programme} 在 {scope} 及全市均无预算。"),
        ),
        "policy_not_in_force": (
            422,
            ("No policy in force", "No published version of {policy_set} is in force on {day}."),
            ("无有效政策", "{day} 没有生效的 {policy_set} 政策版本。"),
        ),
        "bank_file_invalid": (
            422,
            ("Bank return file not valid", "Line {line}: {reason}"),
            ("银行回单文件有误", "第 {line} 行：{reason}"),
        ),
    }
)
