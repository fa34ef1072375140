"""The vocabulary every layer shares: priorities, alert states, verbs, durations and the plain
records that cross layers. The standard library only: nothing here knows HTTP, a database or a
chat platform, and every package (`bot`, `adapters`, `storage`, `cards`, `scheduler`) may import
it."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any


class Priority(enum.StrEnum):
    """How urgent an alert is; CRITICAL is the most urgent."""

    CRITICAL = "CRITICAL"
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"
    INFO = "INFO"

    @property
    def rank(self) -> int:
        """Higher is more urgent: CRITICAL is 5, INFO is 1."""
        return _RANK[self]

    def at_least(self, other: Priority) -> bool:
        """Whether this priority is as urgent as `other` or more."""
        return self.rank >= other.rank


_RANK = {
    Priority.CRITICAL: 5,
    Priority.HIGH: 4,
    Priority.MEDIUM: 3,
    Priority.LOW: 2,
    Priority.INFO: 1,
}

# Notification types, accepted as `type` on the events API.
NOTIFICATION_TYPES: dict[str, Priority] = {
    "alert": Priority.CRITICAL,
    "error": Priority.HIGH,
    "warning": Priority.MEDIUM,
    "information": Priority.INFO,
}


class AlertState(enum.StrEnum):
    """Where an alert is in its life."""

    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"

    @property
    def is_open(self) -> bool:
        """Open alerts still deduplicate new events with the same key."""
        return self is not AlertState.RESOLVED


class Verb(enum.StrEnum):
    """Card buttons and commands that act on an alert."""

    ACKNOWLEDGE = "acknowledge"
    ESCALATE = "escalate"
    RESOLVE = "resolve"
    RETRY = "retry"
    DISCARD = "discard"
    SNOOZE = "snooze"  # quiet until a time: repeats post nothing, escalation waits
    UNSNOOZE = "unsnooze"
    NOTE = "note"  # a line of text in the audit trail and a reply under every card


# Snooze lengths, in minutes, that cards offer; the API and commands take any from 1 to a week.
SNOOZE_CHOICES = (30, 60, 240, 1440)
SNOOZE_MAX_MINUTES = 7 * 24 * 60
NOTE_MAX = 3000  # characters in a note


class DeliveryStatus(enum.StrEnum):
    """The states of an outbox row, which is also the delivery's audit record."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # an attempt failed; another is scheduled
    DEAD = "dead"  # the retry budget is spent
    SKIPPED = "skipped"  # a preference or override turned it off
    FOLDED = "folded"  # shown in a digest instead of on its own


class DeliveryKind(enum.StrEnum):
    """What a delivery does at its destination."""

    POST = "post"
    UPDATE = "update"
    DIGEST = "digest"
    GROUP = "group"  # the living card of a group of alerts (domain.grouping)


@dataclass(frozen=True)
class Link:
    """A link a card shows as a button: a runbook, a dashboard, the alert's source."""

    title: str
    url: str


@dataclass(frozen=True)
class EventIn:
    """A normalised incoming event, before it is stored."""

    title: str
    tenant: str = "default"
    event_type: str = "generic"
    priority: Priority = Priority.MEDIUM
    body: str = ""
    link: str | None = None
    source: str = "api"
    dedup_key: str | None = None
    stakeholders: tuple[str, ...] = ()
    facts: dict[str, str] = field(default_factory=dict)
    correlation_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    resolve: bool = False  # the source says the condition has cleared
    cleaned: tuple[str, ...] = ()
    links: tuple[Link, ...] = ()  # what was changed to make the event storable and safe
    labels: dict[str, str] = field(default_factory=dict)  # what matchers and silences see


@dataclass(frozen=True)
class Alert:
    """A stored event with its state: what cards and adapters render."""

    id: str
    tenant: str
    event_type: str
    priority: Priority
    title: str
    body: str
    state: AlertState
    dedup_key: str
    source: str
    link: str | None
    stakeholders: tuple[str, ...]
    facts: dict[str, str]
    correlation_id: str | None
    occurrences: int
    first_seen: datetime
    last_seen: datetime
    escalation_level: int = 0
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    view_token: str | None = None  # opens its read-only page: whoever sees a card may read it
    links: tuple[Link, ...] = ()  # runbook first, then dashboard, then the rest
    snoozed_until: datetime | None = None
    snoozed_by: str | None = None
    note_count: int = 0
    last_note_by: str | None = None
    paging: str | None = None  # who its escalation policy pages, at which step
    labels: dict[str, str] = field(default_factory=dict)  # Alertmanager-style, for matchers
    muted_by: str | None = None  # `silence:<id>`: kept and counted, never posted

    @property
    def snoozed(self) -> bool:
        """Snoozed and still open: cards say until when, repeats post nothing."""
        return self.snoozed_until is not None and self.state is not AlertState.RESOLVED


@dataclass(frozen=True)
class Destination:
    """Where a delivery goes: a channel of an integration, resolved for sending."""

    channel_id: str
    kind: str
    integration_id: str | None
    target: str
    config: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Delivered:
    """What a destination answered to a successful send."""

    status_code: int | None = None
    ref: str | None = None


@dataclass(frozen=True)
class Digest:
    """Many alerts for one destination, folded into one message while it is over its rate."""

    id: str
    count: int
    most_severe: tuple[Alert, ...]  # the few shown in full, most severe first
    by_priority: dict[str, int]
    since: datetime
    until: datetime
    alert_ids: tuple[str, ...] = ()
    group: GroupView | None = None  # set when this is a group's card, not a storm's digest


@dataclass(frozen=True)
class GroupView:
    """What a group's card says besides its alerts: its labels and how many are in each state."""

    labels: dict[str, str]
    firing: int  # triggered and not snoozed
    acknowledged: int
    snoozed: int
    resolved: int

    @property
    def open(self) -> int:
        return self.firing + self.acknowledged + self.snoozed


@dataclass(frozen=True)
class Outgoing:
    """One message for an adapter to send: a new card, an update of one, or a digest."""

    delivery_id: str
    kind: DeliveryKind
    alert: Alert | None = None
    digest: Digest | None = None
    ref: str | None = None  # the message to update, from an earlier delivery
    public_url: str = ""
    notes: tuple[str, ...] = ()  # what changed, for a thread reply under the card
    verbs: frozenset[Verb] | None = None  # the verbs the channel's routes offer; None: all


@dataclass(frozen=True)
class RouteRule:
    """Send events matching these conditions to a channel."""

    id: str
    tenant: str
    channel_id: str
    event_glob: str = "*"
    min_priority: Priority = Priority.INFO
    stakeholders: tuple[str, ...] = ()
    source_glob: str = "*"
    user_id: str | None = None
    escalation_level: int = 0
    is_default: bool = False  # matches only alerts no other route takes
    actions: tuple[Verb, ...] | None = None  # the verbs its cards offer; None: every verb
    escalation_policy: str | None = None  # the policy a new alert it matches starts
    matchers: tuple[Any, ...] = ()  # domain.matchers.Matcher: all must hold for its labels
    continues: bool = True  # False: an alert it takes goes to no later route
    mute_time_intervals: tuple[str, ...] = ()  # quiet inside these named intervals
    active_time_intervals: tuple[str, ...] = ()  # heard only inside these (none: always)
    grouping: Any = None  # domain.grouping.Grouping: its alerts share cards by these labels


@dataclass(frozen=True)
class OutboxItem:
    """A claimed outbox row: what a worker needs to send it and record the outcome."""

    id: str
    tenant: str
    event_id: str | None
    channel_id: str | None
    integration_id: str | None
    channel_type: str
    kind: DeliveryKind
    attempts: int
    failures: int
    max_attempts: int
    retry_delay_seconds: float
    lease_until: datetime
    message_ref: str | None
    priority: Priority
    created_at: datetime
    notes: tuple[str, ...] = ()
    retry_until: datetime | None = None  # tries go on, with backoff, until then at least
    group: dict[str, Any] | None = None  # a new card whose route groups: where it belongs


@dataclass(frozen=True)
class ChannelInfo:
    """A destination as the worker sees it, secrets decrypted only in memory."""

    id: str
    tenant: str
    name: str
    type: str
    target: str
    rate_per_minute: int
    integration_id: str | None
    settings: dict[str, Any] = field(default_factory=dict, repr=False)
    is_active: bool = True
    verbs: frozenset[Verb] | None = None  # what its cards offer (its routes say); None: all


class Scope(enum.StrEnum):
    """What an API key may do in its tenant."""

    EVENTS_READ = "events:read"  # read alerts
    EVENTS_WRITE = "events:write"  # submit events, act on alerts, and read them
    ADMIN = "admin"  # everything in the tenant: integrations, channels, routes, preferences


@dataclass(frozen=True)
class ApiKeyInfo:
    """An API key as it may be shown: never its secret."""

    id: str
    tenant: str
    name: str
    scope: Scope
    prefix: str
    created_by: str
    created_at: datetime
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class By:
    """Who made a change, as the audit names them, and through which surface.

    `actor` is `slack:<user>`, `teams:<AAD object id>`, `key:<API key name>`, `operator`
    (or `operator:<name>` when the operator names someone), `cli:<login>` or
    `config:<file>`; `platform` is slack, teams, api, console, cli, config or system.
    """

    actor: str
    platform: str


SYSTEM = By("system", "system")


DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(\d{1,7})([smhdw])")


def parse_duration(text: str) -> timedelta:
    """`30s`, `5m`, `4h`, `1d`, `2w`, or a sum of them (`1h30m`); ValueError otherwise."""
    spoken = text.strip().lower()
    parts = _DURATION.findall(spoken)
    if not spoken or "".join(n + u for n, u in parts) != spoken:
        raise ValueError(f"{text[:20]!r} is not a duration; say 30s, 5m, 4h, 1d or 1h30m")
    return timedelta(seconds=sum(int(n) * DURATION_UNITS[u] for n, u in parts))


def spoken_duration(value: timedelta) -> str:
    """`5m`, `1h30m`, `45s`: the shortest form `parse_duration` reads back."""
    seconds, out = int(value.total_seconds()), ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            out += f"{seconds // size}{unit}"
            seconds %= size
    return out or "0s"
