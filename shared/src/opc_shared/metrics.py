"""Prometheus metrics shared by every service; the ``service`` label tells them apart."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter("opc_http_requests_total", "HTTP requests", ["service", "method", "route", "status"])
HTTP_LATENCY = Histogram(
    "opc_http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
OUTBOX_BACKLOG = Gauge("opc_outbox_backlog", "Outbox rows not yet published", ["service"])
OUTBOX_OLDEST_AGE = Gauge("opc_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row", ["service"])
EVENTS_PUBLISHED = Counter("opc_events_published_total", "Events published by the relay", ["service", "topic"])
RELAY_ACTIVE = Gauge("opc_outbox_relay_active", "1 while this process holds the relay lock", ["service"])
RELAY_ERRORS = Counter("opc_outbox_relay_errors_total", "Relay failures (broker or database)", ["service"])
EVENTS_CONSUMED = Counter("opc_events_consumed_total", "Events taken from Kafka", ["service", "type", "outcome"])
CONSUMER_LAG = Gauge("opc_consumer_lag", "Messages behind the partition end", ["service", "topic", "partition"])
DEAD_LETTERS = Counter("opc_dead_letters_total", "Events sent to the dead-letter table", ["service", "type"])
