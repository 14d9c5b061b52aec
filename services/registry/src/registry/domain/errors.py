"""Domain refusals: the platform's one hierarchy (stable code, no HTTP status); the service's
problem table (service/problems.py) maps each code to its response."""

from opc_shared.errors import DomainError

__all__ = ["DomainError"]
