"""Synthetic supply and demand for benchmarks and demo data (seeded, reproducible).

Descriptions are assembled from the catalogue's keywords and a small vocabulary of Chinese
filler, so the text index sees realistic token statistics; nothing here is used at run time
by the service itself.
"""

from __future__ import annotations

import random
import uuid

from matching.domain.catalogue import CAPABILITIES, DISTRICT_NAMES
from matching.domain.scoring import DemandQuery, SupplierFacts

FILLER = [
    "团队",
    "经验",
    "丰富",
    "项目",
    "交付",
    "客户",
    "品牌",
    "内容",
    "创意",
    "服务",
    "成都",
    "本地",
    "高效",
    "专业",
    "案例",
    "合作",
    "景区",
    "文旅",
    "商家",
    "学校",
    "政务",
    "社区",
    "赛事",
    "直播",
    "短视频",
    "非遗",
    "熊猫",
    "火锅",
    "茶馆",
    "博物馆",
    "展馆",
    "校园",
    "乡村",
    "农产品",
    "出海",
    "电商",
    "制造",
    "硬件",
    "平台",
    "系统",
    "数据",
    "模型",
    "智能",
    "设计",
    "视觉",
    "声音",
    "动画",
    "课程",
    "运营",
    "推广",
    "策划",
    "翻译",
    "标注",
    "开发",
    "测试",
    "部署",
    "维护",
    "快速",
    "响应",
    "优质",
    "低价",
    "长期",
    "稳定",
]
DISTRICTS = tuple(DISTRICT_NAMES)
CODES = tuple(c.code for c in CAPABILITIES)


def supplier(rng: random.Random, n: int, *, hot: tuple[str, ...] = ()) -> SupplierFacts:
    """One supplier; ``hot`` capabilities are rarer in supply (contended instances)."""
    k = rng.choice((1, 1, 2, 2, 2, 3))
    caps = tuple(rng.sample(CODES, k))
    words = [kw for code in caps for kw in rng.sample(next(c for c in CAPABILITIES if c.code == code).keywords, 2)]
    words += rng.sample(FILLER, rng.randint(6, 14))
    rng.shuffle(words)
    price = rng.randint(5, 200) * 100_000
    return SupplierFacts(
        firm_id=uuid.UUID(int=rng.getrandbits(128)),
        firm_name=f"供给方{n}",
        district=rng.choice(DISTRICTS),
        capabilities=caps,
        description="".join(words),
        capacity=rng.randint(1, 5),
        active_engagements=0,
        price_min_fen=price,
        price_max_fen=price * 3,
        rating_sum=(count := rng.randint(0, 12)) * rng.randint(3, 5),
        rating_count=count,
        exposures_90d=int(rng.paretovariate(1.2)) - 1,
    )


def demand(rng: random.Random, *, hot: tuple[str, ...] = ()) -> DemandQuery:
    """One demand; with ``hot``, it wants those capabilities (most demands alike: contended)."""
    pool = hot if hot else CODES
    k = min(rng.choice((1, 2, 2, 3)), len(pool))
    caps = {code: rng.randint(1, 3) for code in rng.sample(pool, k)}
    words = [kw for code in caps for kw in rng.sample(next(c for c in CAPABILITIES if c.code == code).keywords, 2)]
    words += rng.sample(FILLER, rng.randint(4, 10))
    return DemandQuery(
        text="".join(words),
        capabilities=caps,
        budget_max_fen=rng.randint(10, 300) * 100_000,
        district=rng.choice((*DISTRICTS, None)),
    )
