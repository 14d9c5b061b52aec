"""Where a firm sits, in the terms a licence uses: district, city and GB/T 2260 division code.

The registry serves several cities' portals. A district code in a token or a form (``wuhou``,
``haishu``) is only meaningful through this catalogue: it names the city (whose policies, such as
the sandbox pilot, apply) and the county-level administrative division whose code goes into
positions 3–8 of a new USCC (GB 32100). Some districts a portal knows are functional zones, not
county-level divisions (Chengdu's Tianfu New Area, the Hi-tech Zone): they have no code of their
own, so a community there names the division its building lies in, one of the zone's member
divisions. Borrowing a neighbour's code for the zone itself would put wrong codes on licences.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

DIVISION = re.compile(r"^[1-9]\d{5}$")


class InvalidDivision(ValueError):
    def __init__(self, key: str, **params: str) -> None:
        self.key, self.params = key, params
        super().__init__(key)

    @property
    def text(self) -> dict[str, str]:
        from registry.domain.messages import say

        return say(self.key, **self.params)


@dataclass(frozen=True)
class City:
    code: str
    name_zh: str
    name_en: str
    division_code: str
    #: Business lines that get the sandbox supervision pilot's simplified review in this city (data, per city).
    sandbox_lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class District:
    code: str
    name_zh: str
    name_en: str
    city: str
    #: Its own county-level GB/T 2260 code, or None for a functional zone.
    division_code: str | None
    #: For a functional zone: the county-level divisions its buildings may lie in.
    member_divisions: tuple[str, ...] = field(default=())

    def division_for(self, requested: str | None) -> str:
        """The division a community in this district registers under; raises InvalidDivision with the reason."""
        members = ", ".join(self.member_divisions)
        if self.division_code is not None:
            if requested not in (None, self.division_code):
                raise InvalidDivision("division_is_own", district=self.code, division=self.division_code)
            return self.division_code
        if requested is None:
            raise InvalidDivision("division_needed", district=self.code, members=members)
        if requested not in self.member_divisions:
            raise InvalidDivision("division_not_member", district=self.code, members=members)
        return requested


SANDBOX_PILOT_LINES = ("ai_short_drama", "digital_human_livestream", "lightweight_model_development")

#: The seed: the cities of the source documents (seeds 000–004). Ops add more with PUT /v1/districts/{code}.
CITIES = (
    City("chengdu", "成都市", "Chengdu", "510100"),
    City("ningbo", "宁波市", "Ningbo", "330200", SANDBOX_PILOT_LINES),  # Haishu's sandbox supervision pilot (seed 004)
    City("beijing", "北京市", "Beijing", "110000"),
)

DISTRICTS = (
    District("jinjiang", "锦江区", "Jinjiang", "chengdu", "510104"),
    District("qingyang", "青羊区", "Qingyang", "chengdu", "510105"),
    District("jinniu", "金牛区", "Jinniu", "chengdu", "510106"),
    District("wuhou", "武侯区", "Wuhou", "chengdu", "510107"),
    District("chenghua", "成华区", "Chenghua", "chengdu", "510108"),
    District("longquanyi", "龙泉驿区", "Longquanyi", "chengdu", "510112"),
    District("qingbaijiang", "青白江区", "Qingbaijiang", "chengdu", "510113"),
    District("xindu", "新都区", "Xindu", "chengdu", "510114"),
    District("wenjiang", "温江区", "Wenjiang", "chengdu", "510115"),
    District("shuangliu", "双流区", "Shuangliu", "chengdu", "510116"),
    District("pidu", "郫都区", "Pidu", "chengdu", "510117"),
    District("xinjin", "新津区", "Xinjin", "chengdu", "510118"),
    # Functional zones: no code of their own; a community names the division it lies in.
    District("gaoxin", "成都高新区", "Chengdu Hi-tech Zone", "chengdu", None, ("510107", "510116", "510117", "510185")),
    District("tianfu", "四川天府新区（成都直管区）", "Tianfu New Area", "chengdu", None, ("510116", "510112", "510185")),
    District("haishu", "海曙区", "Haishu", "ningbo", "330203"),
    District("haidian", "海淀区", "Haidian", "beijing", "110108"),
)
