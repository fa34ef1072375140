"""Integration credentials encrypted at rest with Fernet; older keys still decrypt."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

OPENED_TOKENS = 512  # decrypted tokens a keyring keeps


class SecretKeyError(Exception):
    """The configured keys are unusable, or a stored secret cannot be decrypted with them."""


class Keyring:
    """Encrypts with the newest key and decrypts with any of them."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise SecretKeyError("CHATOPS_SECRET_KEY: no key given")
        try:
            self._fernets = [Fernet(k.encode()) for k in keys]
        except (ValueError, TypeError):
            raise SecretKeyError(
                "CHATOPS_SECRET_KEY: each comma-separated key must be a 32-byte url-safe "
                "base64 Fernet key (make one with `chatops keys generate`)"
            ) from None
        self._multi = MultiFernet(self._fernets)
        self._keys = list(keys)
        # A token read again (every send reads its channel's) is not decrypted again: what
        # it holds is kept as its JSON text, a few hundred tokens at most.
        self._opened: dict[str, bytes] = {}

    def fingerprints(self) -> list[str]:
        """One short fingerprint per key, newest first: enough to tell two keys apart, nothing
        to learn a key from (an HMAC of a fixed text under the key)."""
        return [
            hmac.new(f.encode(), b"chatops key fingerprint", hashlib.sha256).hexdigest()[:32]
            for f in self._keys
        ]

    def encrypt(self, secrets: dict[str, Any]) -> str:
        """A token holding `secrets` as JSON."""
        return self._multi.encrypt(json.dumps(secrets).encode()).decode()

    def decrypt(self, token: str | None) -> dict[str, Any]:
        """The secrets inside `token` (empty for none)."""
        if not token:
            return {}
        plain = self._opened.get(token)
        if plain is None:
            try:
                plain = self._multi.decrypt(token.encode())
            except InvalidToken:
                raise SecretKeyError(
                    "a stored secret cannot be decrypted with the configured keys; "
                    "keep the old key in CHATOPS_SECRET_KEY after the new one"
                ) from None
            if len(self._opened) >= OPENED_TOKENS:
                self._opened.clear()
            self._opened[token] = plain
        return dict(json.loads(plain))

    def with_secrets(self, settings: Mapping[str, Any] | None, token: str | None) -> dict[str, Any]:
        """Plain settings with the secrets of `token` added: what an adapter is built from."""
        return {**(settings or {}), **self.decrypt(token)}

    def rotate(self, token: str) -> str:
        """The same secrets, re-encrypted with the newest key."""
        try:
            return self._multi.rotate(token.encode()).decode()
        except InvalidToken:
            raise SecretKeyError(
                "a stored secret cannot be decrypted with the configured keys"
            ) from None


def generate_key() -> str:
    """A new random Fernet key."""
    return Fernet.generate_key().decode()


def load_keyring(configured: str | None, data_dir: str) -> Keyring:
    """Keys from CHATOPS_SECRET_KEY, or from `<data_dir>/secret.key`, created on first use."""
    if configured:
        return Keyring([k.strip() for k in configured.split(",") if k.strip()])
    path = Path(data_dir) / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(generate_key() + "\n")
    return Keyring([k.strip() for k in path.read_text().split(",") if k.strip()])


def mask(value: object) -> str:
    """How a secret is shown in any listing: never its value."""
    return "********" if value else ""
