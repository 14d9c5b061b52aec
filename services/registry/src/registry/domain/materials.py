"""Which materials a case needs, derived from what the founder asked for and where the firm sits.

One consolidated deficiency notice (一次性告知) lists everything missing at once; this module
decides the list, so the notice never trickles out item by item."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from registry.domain.catalogue import LandUse, Permit


@dataclass(frozen=True)
class Material:
    code: str
    name_zh: str
    name_en: str
    reason_zh: str
    reason_en: str


BASE = (
    Material(
        "founder_id_copy",
        "法定代表人身份证复印件",
        "Copy of the founder's resident ID card",
        "所有企业设立登记必需",
        "Needed for every registration",
    ),
    Material(
        "articles_of_association", "公司章程", "Articles of association", "所有企业设立登记必需", "Needed for every registration"
    ),
    Material(
        "address_proof",
        "住所（经营场所）使用证明",
        "Proof of the registered address",
        "所有企业设立登记必需",
        "Needed for every registration",
    ),
)
GRADUATE = Material(
    "graduation_certificate",
    "毕业证书",
    "Graduation certificate",
    "申报高校毕业生创业身份",
    "The founder declares graduate status",
)
SITE_STATEMENT = Material(
    "site_statement",
    "场地情况说明（人才办、发展局、街道联合出具）",
    "Site statement (talent office, development bureau, street office)",
    "工位所在建筑规划用途非办公",
    "The workstation's building is not zoned as office",
)
PERMIT_MATERIALS = {
    Permit.RADIO_TV_PRODUCTION: (
        Material(
            "radio_tv_application",
            "广播电视节目制作经营许可申请表",
            "Radio & TV production licence application form",
            "经营范围含影视/短剧制作",
            "The business lines include film or short-drama production",
        ),
        Material(
            "content_staff_list",
            "主要从业人员名单及资质",
            "List of key content staff and qualifications",
            "经营范围含影视/短剧制作",
            "The business lines include film or short-drama production",
        ),
    ),
    Permit.ICP_FILING: (
        Material("icp_domain_certificate", "网站域名证书", "Domain name certificate", "需办理 ICP 备案", "ICP filing requested"),
        Material(
            "icp_responsible_person",
            "网站负责人核验材料",
            "Website responsible-person verification",
            "需办理 ICP 备案",
            "ICP filing requested",
        ),
    ),
}

OFFICE_LIKE = frozenset({LandUse.OFFICE, LandUse.COMMERCIAL})


def needs_site_statement(land_use: LandUse | str) -> bool:
    """A workstation address is refused when the building is not office land (Haishu's blocker);
    the site statement is the standard channel around it."""
    return LandUse(land_use) not in OFFICE_LIKE


def required_materials(*, permits: Iterable[Permit | str], is_graduate: bool) -> list[Material]:
    """What the founder supplies. The site statement is not among them: the offices produce it
    together through its own sub-case (see :func:`needs_site_statement`)."""
    items = list(BASE)
    if is_graduate:
        items.append(GRADUATE)
    for permit in sorted({Permit(p) for p in permits}):
        items.extend(PERMIT_MATERIALS[permit])
    return items


def permits_for(lines: Iterable[object], requested: Iterable[Permit | str]) -> list[Permit]:
    """Permits a case needs: those its business lines imply plus any the founder asked for.
    ``lines`` are catalogue entries with a ``permits`` attribute."""
    needed = {Permit(p) for p in requested}
    for line in lines:
        needed.update(Permit(p) for p in line.permits)  # type: ignore[attr-defined]
    return sorted(needed)


#: Reminders for a missing item: after 1, 3 and 5 calendar days, then stop (the caseworker calls).
REMINDER_OFFSETS_DAYS = (1, 3, 5)


def reminder_schedule(notice_date: date) -> list[date]:
    return [notice_date + timedelta(days=d) for d in REMINDER_OFFSETS_DAYS]
