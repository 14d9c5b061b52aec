"""The embedded development stack: one PostgreSQL, one Kafka-protocol broker, four services."""

from opc_devstack.infra import SERVICES, TOPICS, Infra, ServiceInfo

__all__ = ["SERVICES", "TOPICS", "Infra", "ServiceInfo"]
