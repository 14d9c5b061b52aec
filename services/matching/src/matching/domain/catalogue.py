"""The maintained vocabularies matching speaks: capabilities, sectors and district names.

Capabilities are a closed catalogue so that "覆盖所需能力 3/4" means the same thing for every
demand; each has a bit in a 64-bit mask so that coverage over 100,000 suppliers is one numpy
expression. Keywords feed the tokenizer's dictionary (rjieba would otherwise split 数字人 or
短视频) and let a demand written only in prose be mapped to capabilities.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Capability:
    code: str
    zh: str
    en: str
    keywords: tuple[str, ...] = ()


CAPABILITIES: tuple[Capability, ...] = (
    Capability("script_writing", "剧本", "script writing", ("剧本", "编剧", "脚本", "文案", "故事")),
    Capability("voice", "配音", "voice-over", ("配音", "声优", "旁白", "音色", "口播")),
    Capability("video_editing", "剪辑", "video editing", ("剪辑", "后期", "调色", "短视频", "混剪")),
    Capability("filming", "拍摄", "filming", ("拍摄", "摄影", "航拍", "摄像", "短剧拍摄")),
    Capability("3d_modelling", "三维建模", "3D modelling", ("三维", "3D", "建模", "模型", "渲染")),
    Capability("animation", "动画", "animation", ("动画", "动效", "二维动画", "分镜")),
    Capability("digital_human_live", "数字人直播", "digital-human livestreaming", ("数字人", "虚拟主播", "直播", "带货")),
    Capability("agent_development", "智能体开发", "agent development", ("智能体", "Agent", "大模型应用", "工作流", "RAG")),
    Capability("data_labelling", "数据标注", "data labelling", ("标注", "数据标注", "语料", "数据清洗", "数据集")),
    Capability(
        "cross_border_ecommerce",
        "跨境电商运营",
        "cross-border e-commerce operations",
        ("跨境", "亚马逊", "TikTok", "独立站", "外贸"),
    ),
    Capability("graphic_design", "平面设计", "graphic design", ("平面", "海报", "视觉", "VI", "包装设计", "插画")),
    Capability("ui_design", "界面设计", "UI design", ("界面", "UI", "交互", "原型")),
    Capability("software_development", "软件开发", "software development", ("软件", "小程序", "App", "系统开发", "后端", "前端")),
    Capability("marketing", "营销推广", "marketing", ("营销", "推广", "投流", "新媒体", "品牌", "种草")),
    Capability("music_production", "音乐制作", "music production", ("音乐", "作曲", "编曲", "配乐", "音效")),
    Capability("translation", "翻译本地化", "translation and localisation", ("翻译", "本地化", "多语种", "字幕")),
    Capability("game_development", "游戏开发", "game development", ("游戏", "Unity", "关卡", "互动")),
    Capability("ai_painting", "AI 绘画", "AI image generation", ("AI绘画", "文生图", "AIGC", "生图", "绘画")),
    Capability("data_analysis", "数据分析", "data analysis", ("数据分析", "报表", "可视化", "BI", "统计")),
    Capability("event_planning", "活动策划", "event planning", ("活动", "策划", "展会", "路演", "赛事")),
    Capability("education_content", "课程开发", "course development", ("课程", "教学", "培训", "课件", "教育")),
    Capability("iot_hardware", "智能硬件", "smart hardware", ("硬件", "物联网", "传感器", "嵌入式")),
    Capability("legal_compliance", "合规咨询", "compliance consulting", ("合规", "法律", "知识产权", "备案")),
    Capability("project_management", "项目统筹", "project management", ("统筹", "项目管理", "总包", "牵头")),
)

BY_CODE: dict[str, Capability] = {c.code: c for c in CAPABILITIES}
BIT: dict[str, int] = {c.code: 1 << i for i, c in enumerate(CAPABILITIES)}
POSITION: dict[str, int] = {c.code: i for i, c in enumerate(CAPABILITIES)}
#: A firm with this capability may lead a team as its "project manager" (004: 玄微科技 as 项目经理).
LEAD_CAPABILITY = "project_management"

SECTORS: dict[str, tuple[str, str]] = {
    "culture": ("文创", "culture"),
    "sports": ("体育", "sports"),
    "consumption": ("消费", "consumption"),
    "education": ("教育", "education"),
    "government_services": ("政务服务", "government services"),
    "urban_governance": ("城市治理", "urban governance"),
    "film": ("影视", "film and video"),
    "manufacturing": ("制造", "manufacturing"),
}

#: Names for explanations; an unknown code is shown as itself.
DISTRICT_NAMES: dict[str, tuple[str, str]] = {
    "jinjiang": ("锦江区", "Jinjiang"),
    "qingyang": ("青羊区", "Qingyang"),
    "jinniu": ("金牛区", "Jinniu"),
    "wuhou": ("武侯区", "Wuhou"),
    "chenghua": ("成华区", "Chenghua"),
    "longquanyi": ("龙泉驿区", "Longquanyi"),
    "qingbaijiang": ("青白江区", "Qingbaijiang"),
    "xindu": ("新都区", "Xindu"),
    "wenjiang": ("温江区", "Wenjiang"),
    "shuangliu": ("双流区", "Shuangliu"),
    "pidu": ("郫都区", "Pidu"),
    "xinjin": ("新津区", "Xinjin"),
    "gaoxin": ("高新区", "Gaoxin"),
    "tianfu": ("天府新区", "Tianfu New Area"),
}


def district_name(code: str, language: str) -> str:
    zh, en = DISTRICT_NAMES.get(code, (code, code))
    return zh if language == "zh-CN" else en


def unknown_capabilities(codes: Iterable[str]) -> list[str]:
    return [c for c in codes if c not in BY_CODE]


def mask_of(codes: Iterable[str]) -> int:
    mask = 0
    for code in codes:
        mask |= BIT[code]
    return mask


def codes_of(mask: int) -> list[str]:
    return [c.code for c in CAPABILITIES if mask & BIT[c.code]]


def capabilities_in_text(text: str) -> list[str]:
    """Capabilities whose keywords appear in free text (for demands posted without a list)."""
    lowered = text.lower()
    return [c.code for c in CAPABILITIES if any(k.lower() in lowered for k in c.keywords)]
