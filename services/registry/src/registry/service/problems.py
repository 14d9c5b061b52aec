"""The registry's problem codes, in both languages, and the mapping from domain refusals."""

from opc_shared.problems import FieldError, Problem, register_messages
from registry.domain.errors import DomainError

register_messages(
    {
        "case_not_editable": {
            "en": ("Case cannot be changed", "The case is {status}; only drafts can be edited."),
            "zh-CN": ("案件不可修改", "案件当前状态为 {status}，只有草稿可以修改。"),
        },
        "case_incomplete": {
            "en": ("Form incomplete", "{count} item(s) must be fixed before the case can be submitted."),
            "zh-CN": ("表单不完整", "提交前还有 {count} 项需要补充或更正。"),
        },
        "material_not_requested": {
            "en": ("Material not on the checklist", "{code} is not on this case's checklist."),
            "zh-CN": ("材料不在清单中", "{code} 不在本案件的材料清单中。"),
        },
        "materials_missing": {
            "en": ("Materials missing", "The case cannot be accepted while materials are missing: {items}."),
            "zh-CN": ("材料不齐", "材料未补齐，暂不能受理：{items}。"),
        },
        "invalid_transition": {
            "en": ("Not possible now", "The case is {status}; this action does not apply."),
            "zh-CN": ("当前不可操作", "案件当前状态为 {status}，不能进行此操作。"),
        },
        "step_already_done": {
            "en": ("Step already done", "Step {step} is already done."),
            "zh-CN": ("环节已完成", "环节 {step} 已完成。"),
        },
        "step_out_of_order": {
            "en": ("Step out of order", "Step {step} needs {before} done first."),
            "zh-CN": ("环节顺序不符", "环节 {step} 需先完成 {before}。"),
        },
        "clock_paused_for_correction": {
            "en": ("Waiting for corrected materials", "The clock is paused until these are supplied: {items}."),
            "zh-CN": ("等待补正材料", "时限已暂停，待补正：{items}。"),
        },
        "unknown_office": {
            "en": ("Unknown office", "{office} does not sign site statements."),
            "zh-CN": ("部门无效", "{office} 不是场地情况说明的会签部门。"),
        },
        "already_signed": {"en": ("Already signed", "{office} has already signed."), "zh-CN": ("已会签", "{office} 已会签。")},
        "permit_not_ready": {
            "en": ("Permit referral not ready", "It waits for: {blockers}."),
            "zh-CN": ("许可尚不能转办", "尚需：{blockers}。"),
        },
        "sub_case_not_found": {
            "en": ("Not found", "No sub-case {id} on this case."),
            "zh-CN": ("未找到", "本案件没有子事项 {id}。"),
        },
        "extension_already_used": {
            "en": ("Extension already used", "A case may be extended once."),
            "zh-CN": ("已延期", "每个案件只能延期一次。"),
        },
        "calendar_not_loaded": {
            "en": ("Working-day calendar missing", "The calendar for {year} is not loaded; an admin must load it first."),
            "zh-CN": ("缺少工作日历", "{year} 年工作日历尚未导入，请管理员先导入。"),
        },
        "workstation_occupied": {
            "en": ("Workstation occupied", "Another firm already sits at this workstation."),
            "zh-CN": ("工位已占用", "该工位已有其他企业入驻。"),
        },
        "invalid_status_change": {
            "en": ("Status change refused", "A firm that is {current} cannot become {new} that way."),
            "zh-CN": ("状态变更无效", "企业当前为 {current}，不能这样变更为 {new}。"),
        },
        "material_locked": {
            "en": (
                "Material fixed after acceptance",
                "{code} was accepted with the case; it changes only through a correction (补正).",
            ),
            "zh-CN": ("材料已受理", "{code} 已随案件受理，只能通过补正更换。"),
        },
        "unknown_district": {
            "en": ("Unknown district", "{district} is not in the district catalogue; GET /v1/districts lists it."),
            "zh-CN": ("区域不存在", "区域目录中没有 {district}，可通过 GET /v1/districts 查询。"),
        },
        "duplicate": {"en": ("Already exists", "{what} already exists."), "zh-CN": ("已存在", "{what} 已存在。")},
    }
)


def to_problem(error: DomainError) -> Problem:
    errors = [FieldError(field=f, type=ty, message=msg) for f, ty, msg in error.fields]
    return Problem(error.code, error.status, params=error.params, errors=errors)
