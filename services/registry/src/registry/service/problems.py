"""The registry's problem codes: the one table mapping each refusal to its status and text."""

from opc_shared.errors import ProblemTable
from registry.domain.messages import param_texts

PROBLEMS = ProblemTable(
    {
        "case_not_editable": (
            409,
            ("Case cannot be changed", "The case is {status}; only drafts can be edited."),
            ("案件不可修改", "案件当前状态为 {status}，只有草稿可以修改。"),
        ),
        "case_incomplete": (
            422,
            ("Form incomplete", "{count} item(s) must be fixed before the case can be submitted."),
            ("表单不完整", "提交前还有 {count} 项需要补充或更正。"),
        ),
        "material_not_requested": (
            422,
            ("Material not on the checklist", "{code} is not on this case's checklist."),
            ("材料不在清单中", "{code} 不在本案件的材料清单中。"),
        ),
        "materials_missing": (
            409,
            ("Materials missing", "The case cannot be accepted while materials are missing: {items}."),
            ("材料不齐", "材料未补齐，暂不能受理：{items}。"),
        ),
        "invalid_transition": (
            409,
            ("Not possible now", "The case is {status}; this action does not apply."),
            ("当前不可操作", "案件当前状态为 {status}，不能进行此操作。"),
        ),
        "step_not_found": (
            404,
            ("No such step", "A case has no step {step}."),
            ("环节不存在", "案件没有环节 {step}。"),
        ),
        "step_already_done": (
            409,
            ("Step already done", "Step {step} is already done."),
            ("环节已完成", "环节 {step} 已完成。"),
        ),
        "step_out_of_order": (
            409,
            ("Step out of order", "Step {step} needs {before} done first."),
            ("环节顺序不符", "环节 {step} 需先完成 {before}。"),
        ),
        "clock_paused_for_correction": (
            409,
            ("Waiting for corrected materials", "The clock is paused until these are supplied: {items}."),
            ("等待补正材料", "时限已暂停，待补正：{items}。"),
        ),
        "unknown_office": (
            422,
            ("Unknown office", "{office} does not sign site statements."),
            ("部门无效", "{office} 不是场地情况说明的会签部门。"),
        ),
        "already_signed": (
            409,
            ("Already signed", "{office} has already signed."),
            ("已会签", "{office} 已会签。"),
        ),
        "permit_not_ready": (
            409,
            ("Permit referral not ready", "It waits for: {blockers}."),
            ("许可尚不能转办", "尚需：{blockers}。"),
        ),
        "sub_case_not_found": (
            404,
            ("Not found", "No sub-case {id} on this case."),
            ("未找到", "本案件没有子事项 {id}。"),
        ),
        "extension_already_used": (
            409,
            ("Extension already used", "A case may be extended once."),
            ("已延期", "每个案件只能延期一次。"),
        ),
        "calendar_not_loaded": (
            409,
            ("Working-day calendar missing", "The calendar for {year} is not loaded; an admin must load it first."),
            ("缺少工作日历", "{year} 年工作日历尚未导入，请管理员先导入。"),
        ),
        "workstation_occupied": (
            409,
            ("Workstation occupied", "Another firm already sits at this workstation."),
            ("工位已占用", "该工位已有其他企业入驻。"),
        ),
        "invalid_status_change": (
            409,
            ("Status change refused", "A firm that is {current} cannot become {new} that way."),
            ("状态变更无效", "企业当前为 {current}，不能这样变更为 {new}。"),
        ),
        "duplicate": (
            409,
            ("Already exists", "{what} already exists."),
            ("已存在", "{what} 已存在。"),
        ),
        "material_locked": (
            409,
            (
                "Material fixed after acceptance",
                "{code} was accepted with the case; it changes only through a correction.",
            ),
            ("材料已受理", "{code} 已随案件受理，只能通过补正更换。"),
        ),
        "invalid_effective_date": (
            422,
            ("Effective date refused", "The date of this status change is not possible: see the field."),
            ("生效日期无效", "该状态变更的生效日期不成立，详见字段说明。"),
        ),
        "unknown_district": (
            422,
            ("Unknown district", "{district} is not in the district catalogue; GET /v1/districts lists it."),
            ("区域不存在", "区域目录中没有 {district}，可通过 GET /v1/districts 查询。"),
        ),
    },
    param_texts=param_texts(),
)
