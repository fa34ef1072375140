"""API keys: made once and shown once, stored as a SHA-256 digest, checked with a short cache.

A key reads `chk_<prefix>_<secret>`. The prefix finds the row and is safe to show; the secret
is 256 random bits, so a plain SHA-256 digest is enough (a slow password KDF guards guessable
secrets and would cost every request milliseconds). The digest is compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from bot.core import audit
from domain import ApiKeyInfo, By, Scope
from storage import apikeys as repo
from storage.alerts import ensure_tenant
from storage.db import Database
from storage.schema import utcnow

KEY = re.compile(r"chk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
CACHE_SECONDS = 30.0  # another process sees a revocation within this long; this one at once


@dataclass(frozen=True)
class Principal:
    """Who is calling the REST API: the operator token, or one tenant's key."""

    name: str
    tenant: str | None  # None: every tenant (the operator token)
    scope: Scope

    @property
    def is_operator(self) -> bool:
        """The operator token acts in every tenant and may name someone `on_behalf_of`."""
        return self.tenant is None

    def allows(self, needed: Scope) -> bool:
        """Whether this scope covers `needed`: admin ⊇ events:write ⊇ events:read."""
        order = (Scope.EVENTS_READ, Scope.EVENTS_WRITE, Scope.ADMIN)
        return order.index(self.scope) >= order.index(needed)


OPERATOR = Principal(name="operator", tenant=None, scope=Scope.ADMIN)


def new_key() -> tuple[str, str, str]:
    """A fresh key: (the whole key to show once, its prefix, the digest to store)."""
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    return f"chk_{prefix}_{secret}", prefix, digest_of(secret)


def digest_of(secret: str) -> str:
    """The stored form of a key's secret part."""
    return hashlib.sha256(secret.encode()).hexdigest()


class KeyService:
    """Creates, lists, revokes and verifies API keys."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.monotonic) -> None:
        self._db, self._clock = db, clock
        self._cache: OrderedDict[str, tuple[float, ApiKeyInfo, str]] = OrderedDict()

    async def create(
        self, tenant: str, name: str, scope: str, by: str | By
    ) -> tuple[str, ApiKeyInfo]:
        """A new key for `tenant`; the whole key is returned here and never again."""
        if not NAME.fullmatch(name):
            raise ValueError("name: 1 to 64 letters, digits, '.', '_' or '-'")
        try:
            chosen = Scope(scope)
        except ValueError:
            raise ValueError(
                f"scope: one of {', '.join(s.value for s in Scope)}, not {scope!r}"
            ) from None
        key, prefix, digest = new_key()
        who = by if isinstance(by, By) else By(by, by.split(":")[0])
        async with self._db.session() as session, session.begin():
            await ensure_tenant(session, tenant)
            info = await repo.create(
                session,
                tenant=tenant,
                name=name,
                scope=chosen,
                prefix=prefix,
                digest=digest,
                created_by=who.actor,
            )
            audit.record(
                session, tenant, who, "apikey.create", {"key": name, "scope": chosen.value}
            )
        return key, info

    async def listed(self, tenant: str | None) -> list[ApiKeyInfo]:
        """Every key (or a tenant's), revoked ones too."""
        async with self._db.session() as session:
            return await repo.listed(session, tenant)

    async def revoke(self, tenant: str, name: str, by: By) -> bool:
        """Revoke a key now; this process forgets it at once."""
        async with self._db.session() as session, session.begin():
            done = await repo.revoke(session, tenant, name, utcnow())
            if done:
                audit.record(session, tenant, by, "apikey.revoke", {"key": name})
        self._cache.clear()
        return done

    async def _live_key(self, prefix: str) -> tuple[ApiKeyInfo, str] | None:
        """The live key with this prefix and its digest, from the cache when it is fresh: a
        revocation is seen at once here and within CACHE_SECONDS in other processes."""
        now = self._clock()
        hit = self._cache.get(prefix)
        if hit is None or hit[0] <= now:
            async with self._db.session() as session:
                found = await repo.by_prefix(session, prefix)
            if found is None:
                return None
            hit = (now + CACHE_SECONDS, found[0], found[1])
            self._cache[prefix] = hit
            while len(self._cache) > 10_000:
                self._cache.popitem(last=False)
        return hit[1], hit[2]

    async def live(self, prefix: str) -> bool:
        """Whether the key with this prefix exists and is not revoked."""
        return await self._live_key(prefix) is not None

    async def verify(self, token: str) -> Principal | None:
        """The key's principal, or None when it is not a live key."""
        match = KEY.fullmatch(token)
        if match is None:
            return None
        prefix, secret = match.groups()
        found = await self._live_key(prefix)
        if found is None:
            return None
        info, digest = found
        if not hmac.compare_digest(digest, digest_of(secret)):
            return None
        return Principal(name=info.name, tenant=info.tenant, scope=info.scope)
