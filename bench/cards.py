"""Cards per second: 10,000 alerts rendered to Block Kit and to Adaptive Cards."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from cards.adaptive import alert_card
from cards.blockkit import alert_blocks
from domain import Alert, AlertState, Priority

NOW = datetime(2026, 11, 21, 14, 30, tzinfo=UTC)


def sample_alerts(count: int) -> list[Alert]:
    """A mix like a real day: mostly short alerts, some with many facts or long bodies."""
    alerts = []
    priorities = list(Priority)
    states = list(AlertState)
    for i in range(count):
        facts = {f"label{j}": f"value {j} of alert {i}" for j in range(4 if i % 10 else 40)}
        alerts.append(
            Alert(
                id=f"{i:032x}",
                tenant="default",
                event_type="alertmanager.HighLatency",
                priority=priorities[i % 5],
                title=f"p99 latency above 2s on api-{i % 17}",
                body=("Latency has been above the SLO for 10 minutes. " * (1 if i % 20 else 200)),
                state=states[i % 3],
                dedup_key=f"k{i}",
                source="alertmanager",
                link="https://grafana.example.com/d/latency",
                stakeholders=("SRE", "API"),
                facts=facts,
                correlation_id=f"group-{i % 50}",
                occurrences=1 + i % 7,
                first_seen=NOW - timedelta(minutes=i % 90),
                last_seen=NOW,
                acknowledged_by="dana" if i % 3 == 1 else None,
                acknowledged_at=NOW if i % 3 == 1 else None,
                resolved_by="lee" if i % 3 == 2 else None,
                resolved_at=NOW if i % 3 == 2 else None,
            )
        )
    return alerts


def run_cards(count: int = 10_000) -> dict[str, Any]:
    """Render every alert on both platforms and time each."""
    alerts = sample_alerts(count)
    results: dict[str, Any] = {"cards": count}
    for name, render in (("blockkit", alert_blocks), ("adaptive", alert_card)):
        started = time.perf_counter()
        for alert in alerts:
            render(alert, NOW, public_url="https://chatops.example.com")
        elapsed = time.perf_counter() - started
        results[name] = count / elapsed
    return results
