"""The matching service's problem codes: each refusal's status and its zh-CN/en text."""

from opc_shared.errors import ProblemTable

PROBLEMS = ProblemTable(
    {
        "demand_state": (
            409,
            ("Not possible now", "The demand is {status}; {action} does not apply."),
            ("当前不可操作", "需求当前状态为 {status}，不能执行 {action}。"),
        ),
        "offer_closed": (
            409,
            ("Offer no longer open", "This offer is {status}."),
            ("邀约已关闭", "该邀约当前状态为 {status}。"),
        ),
        "demand_taken": (
            409,
            ("Order already taken", "Another supplier accepted this order first."),
            ("订单已被接走", "已有其他供给方先接单。"),
        ),
        "no_candidates": (
            409,
            ("No supplier to offer", "No capable supplier with capacity is left to offer this demand to."),
            ("暂无可邀约的供给方", "没有尚未邀约、具备能力且有余量的供给方。"),
        ),
        "no_team": (
            409,
            ("No team possible", "No team of at most {max_size} firms with a lead covers every capability within the budget."),
            ("无法组队", "在预算内找不到由不超过 {max_size} 家企业（含牵头方）组成、覆盖全部所需能力的团队。"),
        ),
        "selection_limit": (
            409,
            (
                "Selection limit reached",
                "{city} selects at most {limit} scenario demonstrations a year; {taken} already selected.",
            ),
            ("超过遴选名额", "{city} 每年遴选不超过 {limit} 个场景示范项目，已遴选 {taken} 个。"),
        ),
        "not_nominated": (
            409,
            ("Not a nomination of that year", "Nomination {id} is {status} for {year}."),
            ("不是该年度的提名", "提名 {id} 的状态为 {status}，年度 {year}。"),
        ),
    }
)
