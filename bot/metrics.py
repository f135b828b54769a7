"""Prometheus metrics, on a registry owned by the app (no process-wide globals)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.inbound = Counter(
            "villagebot_inbound_messages",
            "Inbound messages and events by channel, kind and what became of them.",
            ["channel", "kind", "result"],
            registry=self.registry,
        )
        self.handler_seconds = Histogram(
            "villagebot_handler_seconds",
            "Time spent in a handler, including its transaction.",
            ["handler"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.outbox_pending = Gauge(
            "villagebot_outbox_pending",
            "Pushes waiting in the outbox.",
            registry=self.registry,
        )
        self.outbox_oldest_seconds = Gauge(
            "villagebot_outbox_oldest_pending_seconds",
            "Age of the oldest push still waiting in the outbox.",
            registry=self.registry,
        )
        self.outbox_sends = Counter(
            "villagebot_outbox_sends",
            "Send attempts by channel and result: sent, retry, throttled, dead, merged.",
            ["channel", "result"],
            registry=self.registry,
        )
        self.outbox_throttle_waits = Counter(
            "villagebot_outbox_throttle_waits",
            "Pushes held back by a target's rate limit.",
            ["channel"],
            registry=self.registry,
        )
        self.degraded = Counter(
            "villagebot_degraded_handlings",
            "Messages handled while the key-value store could not be reached.",
            ["channel"],
            registry=self.registry,
        )
