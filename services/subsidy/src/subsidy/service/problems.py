"""The subsidy service's problem codes, in both languages."""

from opc_shared.problems import register_messages

register_messages(
    {
        "evidence_already_used": {
            "en": (
                "Evidence already used",
                "{kind} {number} already backs another claim; the same evidence is never paid twice.",
            ),
            "zh-CN": ("凭证已被使用", "{kind} {number} 已用于另一项申请，同一凭证不得重复享受补贴。"),
        },
        "claim_state": {
            "en": ("Not possible now", "{reason}"),
            "zh-CN": ("当前不可操作", "{reason}"),
        },
        "four_eyes": {
            "en": ("Four eyes", "{reason}"),
            "zh-CN": ("双人复核", "{reason}"),
        },
        "decision_invalid": {
            "en": ("Decision not valid", "{reason}"),
            "zh-CN": ("审批决定无效", "{reason}"),
        },
        "budget_exhausted": {
            "en": ("Budget exhausted", "The {programme} budget of {year} ({scope}) has {left} fen left; {needed} fen needed."),
            "zh-CN": ("预算不足", "{year} 年 {programme} 预算（{scope}）剩余 {left} 分，需要 {needed} 分。"),
        },
        "no_budget": {
            "en": ("No budget", "There is no {programme} budget for {year} in {scope} or city-wide."),
            "zh-CN": ("无预算", "{year} 年 {programme} 在 {scope} 及全市均无预算。"),
        },
        "policy_not_in_force": {
            "en": ("No policy in force", "No published version of {policy_set} is in force on {day}."),
            "zh-CN": ("无有效政策", "{day} 没有生效的 {policy_set} 政策版本。"),
        },
        "bank_file_invalid": {
            "en": ("Bank return file not valid", "Line {line}: {reason}"),
            "zh-CN": ("银行回单文件有误", "第 {line} 行：{reason}"),
        },
    }
)
