"""What the founder reads: where the case stands and what comes next, in plain zh-CN or en."""

from __future__ import annotations

from opc_shared.times import local_text
from registry.domain import materials as mat
from registry.domain import messages
from registry.domain.case import STEPS, Case, Status, StepState
from registry.domain.catalogue import PERMIT_NAMES, Permit

STEP_NAMES = {
    "acceptance": ("受理", "acceptance"),
    "name_check": ("名称核准", "name check"),
    "business_licence": ("营业执照", "business licence"),
    "seal": ("刻制印章", "company seal"),
    "tax_registration": ("税务登记", "tax registration"),
    "bank_account": ("银行开户", "bank account"),
    "social_insurance": ("社保登记", "social insurance registration"),
}
HEADLINES = {
    Status.DRAFT: ("草稿已保存，填写完整后即可提交。", "Draft saved; submit once the form is complete."),
    Status.AWAITING_MATERIALS: (
        "已提交，请一次性补齐以下材料。",
        "Submitted; please supply the materials below (all listed at once).",
    ),
    Status.READY: ("材料齐全，等待街道受理。", "Materials complete; waiting for the street office to accept the case."),
    Status.ACCEPTED: ("已受理，工作专班正在办理。", "Accepted; the work group is handling your case."),
    Status.CORRECTION: (
        "请补正以下材料，办理时限暂停计算。",
        "Please correct the materials below; the deadline clock is paused.",
    ),
    Status.LICENSED: ("营业执照已核发，正在办理后续事项。", "Business licence issued; the remaining steps are under way."),
    Status.COMPLETED: ("全部办结。", "All done."),
    Status.WITHDRAWN: ("案件已撤回。", "The case was withdrawn."),
}
_MATERIALS = {m.code: (m.name_zh, m.name_en) for m in (*mat.BASE, mat.GRADUATE)}
_MATERIALS.update({m.code: (m.name_zh, m.name_en) for items in mat.PERMIT_MATERIALS.values() for m in items})


def describe(case: Case, lang: str) -> dict:
    i = 0 if lang == "zh-CN" else 1
    missing = [_MATERIALS.get(code, (code, code))[i] for code in case.missing_materials()]
    next_steps: list[str] = []
    if case.status == Status.DRAFT:
        fields = case.missing_fields()
        if fields:
            next_steps.append(("尚需填写：" if i == 0 else "Still to fill in: ") + ", ".join(fields))
    for step in STEPS:
        s = case.steps.get(step)
        if s is not None and s.state == StepState.IN_PROGRESS:
            if s.due_at is None:
                next_steps.append(f"正在办理：{STEP_NAMES[step][0]}" if i == 0 else f"In progress: {STEP_NAMES[step][1]}")
            else:
                when = local_text(s.due_at, lang)
                next_steps.append(
                    f"正在办理：{STEP_NAMES[step][0]}（{when}前办结）"
                    if i == 0
                    else f"In progress: {STEP_NAMES[step][1]} (due by {when})"
                )
            break
    for sub in case.sub_cases.values():
        if sub.kind == "site_statement":
            pending = 3 - len(sub.signoffs)
            if pending and sub.status.value == "open":
                next_steps.append(
                    f"场地情况说明会签中，尚差 {pending} 个部门"
                    if i == 0
                    else f"Site statement: {pending} office sign-off(s) outstanding"
                )
        else:
            permit = PERMIT_NAMES[Permit(sub.kind)][i]
            state = messages.name("status", sub.status.value)[lang if lang == "en" else "zh-CN"]
            next_steps.append(f"{permit}：{state}" if i == 0 else f"{permit}: {state}")
    return {
        "status": case.status.value,
        "headline": HEADLINES[case.status][i],
        "missing": missing,
        "next_steps": next_steps,
    }
