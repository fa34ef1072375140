"""Prometheus metrics: sends and failures by channel type and priority, latency, outbox depth."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Event types are the senders' words: the first ones seen get a series each, the rest share
# `other`, so a sender inventing types cannot grow the registry without bound.
EVENT_TYPES_KEPT = 50


class Metrics:
    """The bot's metrics, in a registry of their own so tests can start many apps."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._event_types: set[str] = set()
        self.sent = Counter(
            "chatops_notifications_sent_total",
            "Notifications delivered (event_type: the alert's; digest or group for those cards)",
            ["channel_type", "priority", "event_type"],
            registry=self.registry,
        )
        self.failed = Counter(
            "chatops_notifications_failed_total",
            "Delivery attempts that failed (status_code: the destination's answer, or none)",
            ["channel_type", "priority", "reason", "status_code"],
            registry=self.registry,
        )
        self.dead = Counter(
            "chatops_notifications_dead_total",
            "Deliveries moved to dead-letter after their retry budget",
            ["channel_type"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "chatops_delivery_latency_seconds",
            "From the event being accepted to its delivery",
            ["channel_type"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900),
            registry=self.registry,
        )
        self.send_duration = Histogram(
            "chatops_send_duration_seconds",
            "How long one send to a destination takes (the adapter's request)",
            ["channel_type"],
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.unacknowledged = Gauge(
            "chatops_alerts_unacknowledged",
            "Open alerts nobody acknowledged yet (not muted), by priority",
            ["priority"],
            registry=self.registry,
        )
        self.events = Counter(
            "chatops_events_total",
            "Events accepted",
            ["source", "deduplicated"],
            registry=self.registry,
        )
        self.outbox_depth = Gauge(
            "chatops_outbox_depth",
            "Deliveries waiting, by status",
            ["status"],
            registry=self.registry,
        )
        self.stuck = Gauge(
            "chatops_deliveries_stuck",
            "Deliveries still leased a whole lease period after their lease ended",
            registry=self.registry,
        )
        self.oldest_due = Gauge(
            "chatops_outbox_oldest_due_seconds",
            "How long the longest-waiting due delivery has waited",
            registry=self.registry,
        )
        self.syncs = Counter(
            "chatops_integration_syncs_total",
            "Integration sync runs, by provider and outcome",
            ["provider", "status"],
            registry=self.registry,
        )
        self.sync_seconds = Histogram(
            "chatops_integration_sync_seconds",
            "How long integration syncs take",
            ["provider"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
            registry=self.registry,
        )
        self.health = Counter(
            "chatops_integration_health_checks_total",
            "Integration health checks, by provider and outcome",
            ["provider", "outcome"],
            registry=self.registry,
        )
        self.webhooks = Counter(
            "chatops_provider_webhooks_total",
            "Inbound provider webhooks, by provider and outcome",
            ["provider", "outcome"],
            registry=self.registry,
        )
        self.scheduled_jobs = Gauge(
            "chatops_scheduled_jobs",
            "Jobs the scheduler holds, by kind",
            ["kind"],
            registry=self.registry,
        )
        self.outbox_overdue = Gauge(
            "chatops_outbox_overdue",
            "Deliveries the sweeper found overdue by more than a minute",
            registry=self.registry,
        )
        self.sync_queue = Gauge(
            "chatops_sync_queue",
            "Scheduled syncs due and waiting for a runner (CHATOPS_SYNC_CONCURRENCY)",
            registry=self.registry,
        )

    def event_type(self, name: str | None) -> str:
        """The `event_type` label for a name: itself while few are known, then `other`."""
        if not name:
            return "none"
        if name in self._event_types:
            return name
        if len(self._event_types) < EVENT_TYPES_KEPT:
            self._event_types.add(name)
            return name
        return "other"
