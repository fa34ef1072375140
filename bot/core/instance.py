"""What every process of one installation must share, checked and kept in the database.

Processes started with different encryption keys would each write secrets the others cannot
read, and deliveries would fail one by one; so the first process records its key's
fingerprint and a process with another key refuses to start. The console signs its sessions
with a key of its own, made once and kept here, so no other secret can be learned from it.
"""

from __future__ import annotations

import base64
import logging
import secrets
from datetime import UTC, datetime, timedelta

from bot.infra.secrets import Keyring, SecretKeyError
from storage import instance
from storage.db import Database

log = logging.getLogger(__name__)

KEY_FINGERPRINT = "secret_key_fingerprint"
CONSOLE_SESSION_KEY = "console_session_key"


async def check_key(db: Database, keyring: Keyring) -> None:
    """Record this key's fingerprint, or refuse a key that does not match the recorded one.

    A key list whose newest key is new but holds the recorded key after it is a rotation:
    the newest becomes the recorded one."""
    mine = keyring.fingerprints()
    async with db.session() as session, session.begin():
        recorded = await instance.get_or_create(session, KEY_FINGERPRINT, mine[0])
        if recorded == mine[0]:
            return
        if recorded in mine[1:]:
            await instance.put(session, KEY_FINGERPRINT, mine[0])
            log.warning("the encryption key was rotated: the newest key is now the recorded one")
            return
    raise SecretKeyError(
        "CHATOPS_SECRET_KEY does not match the key this database's secrets are encrypted with "
        f"(recorded fingerprint {recorded[:8]}…, this process's {mine[0][:8]}…): every process "
        "of one installation must share the same CHATOPS_SECRET_KEY"
    )


async def end_console_session(db: Database, session_id: str, seconds: float) -> None:
    """Sign a console session out on the server: its cookie is refused from now on."""
    now = datetime.now(UTC)
    async with db.session() as session, session.begin():
        await instance.sign_out(session, session_id, now + timedelta(seconds=seconds), now)


async def console_session_ended(db: Database, session_id: str) -> bool:
    """Whether a console session was signed out."""
    async with db.session() as session:
        return await instance.signed_out(session, session_id)


async def console_session_key(db: Database) -> bytes:
    """The key console sessions are signed with, made by the first process to ask."""
    fresh = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    async with db.session() as session, session.begin():
        stored = await instance.get_or_create(session, CONSOLE_SESSION_KEY, fresh)
    return base64.urlsafe_b64decode(stored)
