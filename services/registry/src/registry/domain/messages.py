"""Every sentence and name a person reads from the registry, in zh-CN and en, in one catalogue.

Rules raise codes (a problem code, a field error type, a status); this module turns them into
words. A field message is built with :func:`say`, which returns both languages at once, so the
response picks the caller's language without the rule knowing it. Names of states, steps,
offices, permits, materials and roles come from :func:`name`: a problem whose text mentions
"{status}" shows 已受理 to a zh-CN reader and "accepted" to an en reader, never the raw code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from registry.domain import materials as mat
from registry.domain.catalogue import PERMIT_NAMES

Bilingual = dict[str, str]

#: kind -> code -> (zh-CN, en)
NAMES: dict[str, dict[str, tuple[str, str]]] = {
    "status": {
        "draft": ("草稿", "draft"),
        "awaiting_materials": ("待补齐材料", "awaiting materials"),
        "ready": ("待受理", "ready for acceptance"),
        "accepted": ("已受理", "accepted"),
        "correction": ("补正中", "under correction"),
        "licensed": ("已领照", "licensed"),
        "completed": ("已办结", "completed"),
        "withdrawn": ("已撤回", "withdrawn"),
        # sub-cases (site statement, permit referrals)
        "open": ("会签中", "collecting sign-offs"),
        "waiting": ("等待前置事项", "waiting for its prerequisites"),
        "referred": ("已转办", "referred"),
        "granted": ("已批准", "granted"),
        "refused": ("未获批准", "refused"),
        # firms
        "operating": ("存续", "operating"),
        "suspended": ("歇业", "suspended"),
        "deregistered": ("已注销", "deregistered"),
    },
    "step": {
        "acceptance": ("受理", "acceptance"),
        "name_check": ("名称核准", "name check"),
        "business_licence": ("营业执照", "business licence"),
        "seal": ("刻制印章", "company seal"),
        "tax_registration": ("税务登记", "tax registration"),
        "bank_account": ("银行开户", "bank account"),
        "social_insurance": ("社保登记", "social insurance registration"),
        "site_statement": ("场地情况说明", "site statement"),
    },
    "office": {
        "talent_office": ("人才办", "talent office"),
        "development_bureau": ("发展局", "development bureau"),
        "street_office": ("街道办事处", "street office"),
    },
    "permit": {str(p): names for p, names in PERMIT_NAMES.items()},
    "material": {
        m.code: (m.name_zh, m.name_en)
        for m in (*mat.BASE, mat.GRADUATE, mat.SITE_STATEMENT, *(m for ms in mat.PERMIT_MATERIALS.values() for m in ms))
    },
    "land_use": {
        "office": ("办公", "office"),
        "commercial": ("商业", "commercial"),
        "education": ("教育", "education"),
        "warehousing": ("仓储", "warehousing"),
        "industrial": ("工业", "industrial"),
        "residential": ("住宅", "residential"),
        "other": ("其他", "other"),
    },
    "notice_kind": {
        "request": ("一次性告知书", "Consolidated deficiency notice"),
        "correction": ("补正告知书", "Notice of correction"),
    },
    "provided_by": {
        "founder": ("申请人提交", "supplied by the applicant"),
        "offices": ("由相关部门联合出具，申请人无需提交", "issued jointly by the offices; nothing to supply"),
    },
    "role": {
        "caseworker": ("经办人", "caseworker"),
        "reviewer": ("审核人", "reviewer"),
        "finance": ("财务", "finance"),
        "admin": ("管理员", "administrator"),
        "firm": ("企业用户", "firm user"),
        "scenario_owner": ("场景方", "scenario owner"),
    },
}

#: key -> (zh-CN template, en template); filled with str.format(**params) (params already named).
SENTENCES: dict[str, tuple[str, str]] = {
    # form fields
    "required": ("必填", "required"),
    "invalid_phone": ("须为以 1 开头的 11 位中国大陆手机号", "a mainland mobile number of 11 digits starting with 1"),
    "graduation_in_future": ("毕业日期晚于今天", "the graduation date is in the future"),
    "graduation_not_graduate": ("未声明高校毕业生身份，不应填写毕业日期", "given although the founder is not a graduate"),
    "invalid_checksum": ("须为 64 位十六进制 SHA-256 摘要", "a SHA-256 hex digest of 64 characters"),
    "unknown_business_lines": ("经营范围目录中没有：{codes}", "not in the catalogue: {codes}"),
    "community_other_district": ("该社区属于其他区", "the community is in another district"),
    "workstation_not_registrable": ("该工位不能作为注册地址", "this workstation cannot be a registered address"),
    "workstation_occupied": ("该工位已有其他企业入驻", "another firm sits at this workstation"),
    "workstation_not_found": ("该社区中没有此工位", "no such workstation in that community"),
    "material_not_requested": ("{code} 不在本案件的材料清单中", "{code} is not on this case's checklist"),
    "office_enum": ("须为以下部门之一：{offices}", "one of {offices}"),
    "duplicate_in_batch": ("{code} 与第 {other} 项重复", "{code} is also item {other}"),
    # identifiers (GB 11643 resident ID, GB 32100 USCC)
    "id_length": ("身份证号码应为 18 位，实际 {got} 位", "a resident ID number has 18 characters, got {got}"),
    "id_body_digits": ("身份证号码前 17 位须为数字", "the first 17 characters of a resident ID number must be digits"),
    "id_last_char": ("身份证号码最后一位须为数字或 X，实际为 {got}", "the last character must be a digit or X, got {got}"),
    "id_birth_not_a_date": (
        "出生日期 {value}（第 7–14 位）不是有效日期",
        "the birth date {value} (characters 7–14) is not a real date",
    ),
    "id_birth_in_future": ("出生日期 {value}（第 7–14 位）晚于今天", "the birth date {value} (characters 7–14) is in the future"),
    "check_char": (
        "校验位为 {got}，按前 17 位应为 {expected}",
        "the check character is {got}, the first 17 characters require {expected}",
    ),
    "uscc_length": ("统一社会信用代码应为 18 位，实际 {got} 位", "a unified social credit code has 18 characters, got {got}"),
    "uscc_charset": (
        "含有不允许的字符 {chars}（不使用 I、O、Z、S、V 及符号）",
        "characters {chars} are not allowed (I, O, Z, S, V and symbols never appear)",
    ),
    "uscc_division": (
        "行政区划码 {division}（第 3–8 位）须为 6 位数字",
        "the administrative division code {division} (characters 3–8) must be 6 digits",
    ),
    "uscc_org_check": (
        "组织机构代码校验位（第 17 位）为 {got}，按 {body} 应为 {expected}",
        "the organisation code check character (character 17) is {got}, {body} requires {expected}",
    ),
    # districts and calendar
    "unknown_district": (
        "区域目录中没有 {code}（见 GET /v1/districts）",
        "{code} is not in the district catalogue (GET /v1/districts)",
    ),
    "unknown_city": ("没有城市 {code}（见 GET /v1/cities）", "{code} is not a known city (GET /v1/cities)"),
    "division_digits": ("须为 6 位数字（GB/T 2260）", "six digits (GB/T 2260)"),
    "zone_needs_members": (
        "没有自身区划代码的区域须列出其覆盖的区划",
        "a district without its own division code lists the divisions it spans",
    ),
    "division_is_own": (
        "{district} 的区划代码为 {division}，可不填或填写该代码",
        "{district} is division {division}; leave division_code out or send that",
    ),
    "division_needed": (
        "{district} 不是县级行政区划，请填写楼宇所在区划（{members} 之一）",
        "{district} is not a county-level division: name the division the building lies in (one of {members})",
    ),
    "division_not_member": ("不是 {district} 覆盖的区划，应为 {members} 之一", "not a division of {district}: one of {members}"),
    "unknown_sandbox_line": ("经营范围目录中没有 {code}", "{code} is not in the business-line catalogue"),
    "implausible_year": ("年份须在 {low} 至 {high} 之间", "must be between {low} and {high}"),
    "day_wrong_year": ("不在 {year} 年内", "not in {year}"),
    "day_listed_twice": ("{day} 重复出现", "{day} is listed twice"),
    "workday_on_weekday": ("调休上班日须为周六或周日", "an adjusted working day must be a Saturday or Sunday"),
    "holiday_on_weekend": ("放假日须为工作日（周一至周五）", "a holiday entry must fall on a weekday"),
    "to_before_from": ("{to} 早于起始日期 {start}", "{to} is before from ({start})"),
    "effective_before_current": ("企业自 {since} 起为{status}", "the firm is {status} since {since}"),
    "effective_in_future": ("生效日期不能晚于今天", "the effective date cannot be in the future"),
    # why a material is needed (the deficiency notice)
    "reason_every_registration": ("所有企业设立登记必需", "needed for every registration"),
    "reason_graduate": ("申报高校毕业生创业身份", "the founder declares graduate status"),
    "reason_line_needs_permit": ("经营范围{lines}需办理{permit}", "business line {lines} needs the {permit}"),
    "reason_permit_requested": ("申请人申请办理{permit}", "the applicant asked for the {permit}"),
    "reason_on_checklist": ("材料清单要求", "on the checklist"),
    "reason_land_use": (
        "工位所在建筑规划用途为{land_use}，非办公用途，需由{offices}联合出具场地情况说明",
        "the building's land use is {land_use}, not office, so the site statement is needed (issued by the {offices})",
    ),
    "reason_correction": ("需补正：{note}", "to be corrected: {note}"),
    # the printed notice
    "notice_intro": (
        "您于 {submitted} 提交的设立登记申请（{name}），经审查尚缺以下材料，现一次性告知如下：",
        "Your registration application ({name}) submitted on {submitted} lacks the materials below, listed here all at once:",
    ),
    "notice_deadline": ("请于 {deadline} 前补齐。", "Please supply them by {deadline}."),
    "notice_reminders": ("我们将于 {days} 提醒您尚未提交的材料。", "We will remind you of anything still missing on {days}."),
    # refusals (reasons in 401/403 details)
    "needs_roles": ("需要以下角色之一：{roles}", "needs one of roles {roles}"),
    "admins_only": ("仅限管理员", "admins only"),
    "city_admins_only": ("仅限全市管理员（district 为 *）", "city-wide administrators only (district *)"),
    "district_not_yours": ("{district} 不是您所属的区", "district {district} is not yours"),
    "opens_cases": ("只有创业者和经办人可以办件", "only founders and caseworkers open cases"),
    "one_district_account": ("案件属于某一个区，请使用区级账号", "a case belongs to one district; use a district account"),
}


def name(kind: str, code: object) -> Bilingual:
    """The words for a code of ``kind`` (status, step, office, permit, material, role); the code itself if unnamed."""
    zh, en = NAMES.get(kind, {}).get(str(code), (str(code), str(code)))
    return {"zh-CN": zh, "en": en}


def names(kind: str, codes: str | list[str] | tuple[str, ...]) -> Bilingual:
    """A list of codes (or a comma-separated string of them) in words, joined as each language writes lists."""
    items = [c.strip() for c in codes.split(",")] if isinstance(codes, str) else [str(c) for c in codes]
    items = [c for c in items if c]
    return {
        "zh-CN": "、".join(name(kind, c)["zh-CN"] for c in items),
        "en": ", ".join(name(kind, c)["en"] for c in items),
    }


def say(key: str, **params: Any) -> Bilingual:
    """One sentence of the catalogue in both languages. A param may itself be bilingual (from :func:`name`)."""
    zh, en = SENTENCES[key]
    return {
        "zh-CN": zh.format(**_pick(params, "zh-CN")),
        "en": en.format(**_pick(params, "en")),
    }


def _pick(params: Mapping[str, Any], lang: str) -> dict[str, Any]:
    return {k: (v[lang] if isinstance(v, dict) else v) for k, v in params.items()}


#: Which problem params are codes to be named, and of which kind (see ProblemTable's param_texts).
PARAM_KINDS = {
    "status": "status",
    "current": "status",
    "new": "status",
    "step": "step",
    "before": "step",
    "office": "office",
    "code": "material",
    "items": "material",
    "blockers": "step",
    "roles": "role",
}


def param_texts() -> dict[str, Any]:
    return {param: (lambda value, kind=kind: names(kind, value)) for param, kind in PARAM_KINDS.items()}
