"""How a person is reached: a direct-message channel per way (Slack DM, Teams 1:1, e-mail,
SMS), made on first use and kept, so a page is an outbox row like any card: paced, retried,
updated in place when the alert changes, and its buttons work like a channel card's.

A person with a chat identity is paged on every chat platform they are known on; one with
none falls back to e-mail, then SMS, when the tenant has such an integration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.registry import TYPES
from bot.core.deps import Reaches
from storage.schema import Channel, Integration, Person, Tenant, UserOverride

FALLBACKS = ("email", "sms")


@dataclass(frozen=True)
class Reached:
    """The direct channels a person is paged on, or why there is none."""

    person: str
    channels: tuple[Channel, ...]
    problem: str | None = None
    changed: bool = False  # a channel was made or changed: cached copies are stale


@dataclass(frozen=True)
class Means:
    """What a tenant has to reach people with: an integration id per way, where its Teams bot
    is reached, and its Entra tenant. Read once per tick, not once per page."""

    integrations: dict[str, str]
    service_url: str | None
    teams_tenant: str | None


def _ways(
    person: Person, means: Means, own: dict[str, dict[str, Any]] | None = None
) -> list[tuple[str, str, dict[str, Any]]]:
    """(type, target, config) of each way the tenant can reach the person, best first; a way
    the person turned off in their own settings (`enabled: false`) is left out, and their
    e-mail setting `email_address` is where e-mail goes."""
    own = own or {}

    def off(kind: str) -> bool:
        return own.get(kind.upper(), {}).get("enabled") is False

    ways: list[tuple[str, str, dict[str, Any]]] = []
    if person.slack_user_id and "slack" in means.integrations and not off("slack"):
        ways.append(("slack", "", {"channel": person.slack_user_id}))
    teams_user = person.teams_user_id or person.teams_aad_object_id
    url = person.teams_service_url or means.service_url
    if teams_user and "teams" in means.integrations and url and not off("teams"):
        config = {
            "service_url": url,
            "conversation_id": person.teams_conversation_id or "",
            "user_id": teams_user,
            "conversation_type": "personal",
            "teams_tenant": means.teams_tenant or "",
        }
        ways.append(("teams", "", config))
    if ways:
        return ways
    email = own.get("EMAIL", {}).get("config", {}).get("email_address") or person.email
    if email and "email" in means.integrations and not off("email"):
        return [("email", str(email), {})]
    if person.phone and "sms" in means.integrations and not off("sms"):
        return [("sms", person.phone, {})]
    return []


async def own_settings(session: AsyncSession, person: Person) -> dict[str, dict[str, Any]]:
    """The person's own delivery settings, by integration type: overrides kept under their
    name, their Slack user (`slack:U123`) or their Teams user (`teams:<AAD id>`), merged in
    that order (the later wins field by field)."""
    keys = [person.name]
    if person.slack_user_id:
        keys.append(f"slack:{person.slack_user_id}")
    if person.teams_aad_object_id:
        keys.append(f"teams:{person.teams_aad_object_id}")
    rows = await session.scalars(
        select(UserOverride).where(
            UserOverride.tenant_id == person.tenant_id, UserOverride.user_id.in_(keys)
        )
    )
    merged: dict[str, dict[str, Any]] = {}
    for row in sorted(rows.all(), key=lambda r: keys.index(r.user_id)):
        into = merged.setdefault(row.integration_type, {})
        if row.enabled is not None:
            into["enabled"] = row.enabled
        if row.config:
            into["config"] = {**into.get("config", {}), **row.config}
    return merged


async def means_of(session: AsyncSession, tenant: str) -> Means:
    """What the tenant can reach people with, in three reads."""
    integrations = {k: row.id for k, row in (await _integrations(session, tenant)).items()}
    teams_tenant = await session.scalar(select(Tenant.teams_tenant_id).where(Tenant.id == tenant))
    return Means(integrations, await _teams_service_url(session, tenant), teams_tenant)


async def _integrations(session: AsyncSession, tenant: str) -> dict[str, Integration]:
    """The tenant's active integrations that can reach a person, one per type (the chat
    platforms' own first)."""
    rows = await session.scalars(
        select(Integration)
        .where(
            Integration.tenant_id == tenant,
            Integration.type.in_(("slack", "teams", *FALLBACKS)),
            Integration.is_active.is_(True),
        )
        .order_by(Integration.created_at)
    )
    found: dict[str, Integration] = {}
    for row in rows.all():
        found.setdefault(row.type, row)
    return found


async def _teams_service_url(session: AsyncSession, tenant: str) -> str | None:
    """Where the tenant's Teams bot is reached: a conversation it was installed in says."""
    rows = await session.scalars(
        select(Channel.config).where(
            Channel.tenant_id == tenant, Channel.type == "teams", Channel.is_active.is_(True)
        )
    )
    for config in rows.all():
        if isinstance(config, dict) and config.get("service_url"):
            return str(config["service_url"])
    return None


async def direct_channels(
    session: AsyncSession, person: Person, means: Means | None = None
) -> Reached:
    """The person's direct channels, made or brought up to date with what is known of them;
    `means` is the tenant's, when the caller has read it already."""
    means = means or await means_of(session, person.tenant_id)
    ways = _ways(person, means, await own_settings(session, person))
    if not ways:
        return Reached(
            person.name,
            (),
            f"{person.name} has no way to be reached (no Slack or Teams identity the bot can "
            "use, and no e-mail or phone with an integration for it)",
        )
    existing = {
        c.type: c
        for c in (
            await session.scalars(select(Channel).where(Channel.person_id == person.id))
        ).all()
    }
    channels, changed = [], False
    for kind, target, config in ways:
        integration = means.integrations[kind]
        row = existing.get(kind)
        if row is None:
            row = Channel(
                tenant_id=person.tenant_id,
                name=f"dm:{person.name}:{kind}"[:255],
                type=kind,
                integration_id=integration,
                person_id=person.id,
                rate_per_minute=TYPES[kind].rate_per_minute,
            )
            session.add(row)
            changed = True
        if (row.target, row.config, row.integration_id) != (target, config, integration):
            row.target, row.config, row.integration_id = target, config, integration
            changed = True
        if not row.is_active:
            row.is_active, changed = True, True
        channels.append(row)
    await session.flush()
    return Reached(person.name, tuple(channels), changed=changed)


async def remember_teams_chat(
    services: Reaches,
    tenant: str,
    aad: str,
    account_id: str,
    service_url: str,
    conversation_id: str,
) -> None:
    """A person wrote or clicked in their 1:1 chat with the bot: keep that chat as the way to
    page them (one conditional update; nothing when it is already known or nobody matches)."""
    if not (account_id and service_url and conversation_id):
        return
    async with services.configuring(begin=False) as session:  # who clicks is in the cache
        transaction = await session.begin()
        done = await session.execute(
            update(Person)
            .where(
                Person.tenant_id == tenant,
                Person.teams_aad_object_id == aad,
                or_(
                    Person.teams_conversation_id.is_(None),
                    Person.teams_conversation_id != conversation_id,
                    Person.teams_service_url != service_url,
                ),
            )
            .values(
                teams_user_id=account_id[:128],
                teams_service_url=service_url[:2048],
                teams_conversation_id=conversation_id[:255],
            )
        )
        if done.rowcount:  # type: ignore[attr-defined]
            await transaction.commit()
        else:
            await transaction.rollback()  # nothing changed: the caches stay
