"""Each registered firm becomes a supplier; the firm completes its profile itself.

The registry's business lines give a first guess at capabilities (so a new firm is findable
at once); the firm's own completion replaces it.
"""

from __future__ import annotations

from matching.domain.catalogue import BY_CODE, unknown_capabilities
from opc_shared.contracts import FirmRegisteredV1
from opc_shared.errors import InvalidInput

INITIAL_STATUS = "active"
#: Registry business line → catalogue capabilities it implies.
CAPABILITIES_OF_LINE: dict[str, tuple[str, ...]] = {
    "ai_short_drama": ("script_writing", "filming", "video_editing"),
    "ai_film": ("filming", "video_editing", "animation"),
    "digital_human_livestream": ("digital_human_live",),
    "agent_development": ("agent_development",),
    "lightweight_model_development": ("agent_development", "data_labelling"),
    "ai_cross_border_ecommerce": ("cross_border_ecommerce",),
    "ai_music": ("music_production",),
    "ai_design": ("graphic_design", "3d_modelling"),
}
REGISTRY_STATUS = {"operating": "active", "suspended": "suspended", "deregistered": "deregistered"}
MAX_CAPACITY = 50


def open_for(firm: FirmRegisteredV1) -> dict:
    """The row a newly registered firm gets."""
    capabilities = sorted({c for line in firm.business_lines for c in CAPABILITIES_OF_LINE.get(line, ())})
    return {
        "firm_id": firm.firm_id,
        "firm_name": firm.name,
        "district": firm.district,
        "community": firm.community,
        "community_id": firm.community_id,
        "business_lines": list(firm.business_lines),
        "capabilities": capabilities,
        "status": INITIAL_STATUS,
        "registered_at": firm.registered_at,
    }


def validate_profile(*, capabilities: list[str], capacity: int, price_min_fen: int | None, price_max_fen: int | None) -> None:
    errors = []
    if not capabilities:
        errors.append(("capabilities", "missing", "name at least one capability from the catalogue"))
    unknown = unknown_capabilities(capabilities)
    if unknown:
        errors.append(("capabilities", "unknown_capability", f"not in the catalogue: {', '.join(unknown)}"))
    if not 1 <= capacity <= MAX_CAPACITY:
        errors.append(("capacity", "value_error", f"concurrent engagements, 1 to {MAX_CAPACITY}"))
    if price_min_fen is not None and price_max_fen is not None and price_min_fen > price_max_fen:
        errors.append(("price_min_fen", "value_error", "must not exceed price_max_fen"))
    if errors:
        raise InvalidInput(errors)


def capability_names(codes: list[str]) -> list[dict[str, str]]:
    return [{"code": c, "zh-CN": BY_CODE[c].zh, "en": BY_CODE[c].en} for c in codes if c in BY_CODE]
