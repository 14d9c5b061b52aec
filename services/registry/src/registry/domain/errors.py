"""Domain refusals. Each carries a stable problem code; the API maps them to RFC 9457 responses."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class DomainError(Exception):
    code: str
    status: int = 409
    params: dict = field(default_factory=dict)
    fields: list[tuple[str, str, str]] = field(default_factory=list)  # (field, type, message)

    def __post_init__(self) -> None:
        super().__init__(self.code)
