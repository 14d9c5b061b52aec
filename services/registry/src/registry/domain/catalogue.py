"""Fixed vocabularies of the registry, in both languages. Business lines are a maintained
catalogue in the database (seeded from DEFAULT_BUSINESS_LINES); permits, land uses and
community kinds are fixed by regulation and change only with a release."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class CommunityKind(StrEnum):
    INDUSTRIAL_PARK = "industrial_park"
    CHAIN_LEADER = "chain_leader"
    UNIVERSITY = "university"
    INCUBATOR = "incubator"


class LandUse(StrEnum):
    OFFICE = "office"
    COMMERCIAL = "commercial"
    EDUCATION = "education"
    WAREHOUSING = "warehousing"
    INDUSTRIAL = "industrial"
    RESIDENTIAL = "residential"
    OTHER = "other"


class Permit(StrEnum):
    RADIO_TV_PRODUCTION = "radio_tv_production"  # 广播电视节目制作经营许可证
    ICP_FILING = "icp_filing"  # ICP 备案


PERMIT_NAMES = {
    Permit.RADIO_TV_PRODUCTION: ("广播电视节目制作经营许可证", "Radio & TV programme production and operation licence"),
    Permit.ICP_FILING: ("ICP 备案", "ICP filing"),
}

#: Working days a permit referral is given before it counts as late (its own clock).
PERMIT_REFERRAL_WORKING_DAYS = {Permit.RADIO_TV_PRODUCTION: 20, Permit.ICP_FILING: 20}
SITE_STATEMENT_WORKING_DAYS = 5
#: The three offices that jointly sign a site statement (场地情况说明), Haishu-style.
SITE_STATEMENT_OFFICES = ("talent_office", "development_bureau", "street_office")


@dataclass(frozen=True)
class BusinessLineSeed:
    code: str
    name_zh: str
    name_en: str
    sandbox: bool
    permits: tuple[Permit, ...]


DEFAULT_BUSINESS_LINES = (
    BusinessLineSeed("ai_short_drama", "AI 短剧", "AI short drama", True, (Permit.RADIO_TV_PRODUCTION,)),
    BusinessLineSeed("ai_film", "AI 影视", "AI film", False, (Permit.RADIO_TV_PRODUCTION,)),
    BusinessLineSeed("digital_human_livestream", "数字人直播", "Digital-human livestreaming", True, (Permit.ICP_FILING,)),
    BusinessLineSeed("compute_services", "算力服务", "Compute services", False, ()),
    BusinessLineSeed("agent_development", "智能体开发", "Agent development", False, ()),
    BusinessLineSeed("lightweight_model_development", "轻量化模型开发", "Lightweight model development", True, ()),
    BusinessLineSeed("ai_cross_border_ecommerce", "AI 跨境电商", "AI cross-border e-commerce", False, (Permit.ICP_FILING,)),
    BusinessLineSeed("ai_music", "AI 音乐", "AI music", False, ()),
    BusinessLineSeed("ai_design", "AI 设计与 3D", "AI design and 3D", False, ()),
)
