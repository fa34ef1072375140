"""Settings from `CHATOPS_*` environment variables and an optional `.env` file."""

from __future__ import annotations

import ipaddress
import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PREFIX = "CHATOPS_"


class SettingsError(Exception):
    """One or more settings are invalid; each line names the variable, the value and the rule."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


class Settings(BaseSettings):
    """Everything the bot reads from its environment."""

    model_config = SettingsConfigDict(
        env_prefix=PREFIX, env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = "sqlite+aiosqlite:///./var/chatops.db"
    host: str = "127.0.0.1"
    port: int = Field(3000, ge=1, le=65535)
    public_url: str = "http://127.0.0.1:3000"
    data_dir: str = "./var"
    secret_key: SecretStr | None = None
    api_token: SecretStr | None = None
    metrics_token: SecretStr | None = None  # when set, /metrics wants it as a bearer token
    admins: str = ""
    slack_signing_secret: SecretStr | None = None
    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    teams_app_id: str = ""
    teams_app_password: SecretStr | None = None
    teams_tenant_id: str | None = None
    # Other Entra tenants let in, each as a tenant of its own: `<entra id>[=<our tenant>]`, ...
    teams_tenants: str = ""
    teams_local: bool = False  # no app id: take unauthenticated activities, on loopback only
    teams_openid_metadata_url: str | None = None  # where Bot Framework signing keys are listed
    allow_private_targets: bool = False
    s3_endpoint_url: str | None = None  # S3-compatible storage (MinIO...) for config files
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["auto", "json", "text"] = "auto"
    workers: int = Field(8, ge=1, le=64)
    delivery_batch: int = Field(50, ge=1, le=1000)
    lease_seconds: float = Field(30.0, gt=0, le=3600)
    poll_seconds: float = Field(1.0, gt=0, le=600)
    escalate_after_minutes: int = Field(15, ge=0, le=10080)  # 0 turns the timer off
    retention_days: int = Field(90, ge=1, le=3650)
    escalation_check_seconds: float = Field(30.0, ge=0.5, le=3600)
    paging_check_seconds: float = Field(5.0, ge=0.5, le=300)  # escalation policies' steps
    health_check_minutes: float = Field(15.0, ge=0.1, le=1440)
    schedule_refresh_seconds: float = Field(30.0, ge=1, le=3600)
    sync_timeout_seconds: float = Field(120.0, gt=0, le=3600)
    sync_concurrency: int = Field(64, ge=1, le=1000)
    send_timeout_seconds: float = Field(10.0, gt=0, le=300)
    request_header_seconds: float = Field(10.0, gt=0, le=300)  # a request's head, whole
    request_body_seconds: float = Field(30.0, gt=0, le=600)  # and its body, whole

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        scheme = value.split("://", 1)[0]
        if scheme not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @field_validator("public_url", "slack_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("teams_tenants")
    @classmethod
    def _teams_tenants(cls, value: str) -> str:
        for item in filter(None, (part.strip() for part in value.split(","))):
            entra, _, ours = item.partition("=")
            if not entra.strip() or (ours and not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", ours)):
                raise ValueError(
                    "must be a comma-separated list of <Entra tenant id>[=<tenant name>]"
                )
        return value

    @field_validator("admins")
    @classmethod
    def _admin_list(cls, value: str) -> str:
        for item in filter(None, (part.strip() for part in value.split(","))):
            platform, _, user = item.partition(":")
            if platform not in ("slack", "teams") or not user:
                raise ValueError("must be a comma-separated list of slack:<user> or teams:<id>")
        return value

    @model_validator(mode="after")
    def _oauth_pair(self) -> Settings:
        if bool(self.slack_client_id) != bool(self.slack_client_secret):
            raise ValueError("CHATOPS_SLACK_CLIENT_ID and CHATOPS_SLACK_CLIENT_SECRET go together")
        if self.teams_local and not self.teams_app_id and not _is_loopback(self.host):
            raise ValueError(
                "CHATOPS_TEAMS_LOCAL=true takes unauthenticated Teams activities, so the bot must "
                f"listen on loopback (CHATOPS_HOST=127.0.0.1), not {self.host!r}"
            )
        return self

    @property
    def teams_allowed(self) -> dict[str, str]:
        """Entra tenant id → our tenant, for the tenants CHATOPS_TEAMS_TENANTS lets in."""
        allowed: dict[str, str] = {}
        for item in filter(None, (p.strip() for p in self.teams_tenants.split(","))):
            entra, _, ours = item.partition("=")
            allowed[entra.strip()] = ours.strip() or f"teams-{entra.strip()[:40]}"
        return allowed

    @property
    def admin_ids(self) -> frozenset[str]:
        """`platform:user` pairs that are admins whatever their workspace role."""
        return frozenset(p.strip() for p in self.admins.split(",") if p.strip())

    @property
    def is_sqlite(self) -> bool:
        """Whether the database is the embedded SQLite file."""
        return self.database_url.startswith("sqlite")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def load_settings(**overrides: object) -> Settings:
    """Read and validate the settings, raising SettingsError with one line per mistake."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError([_describe(err) for err in exc.errors()]) from None


def _describe(err: object) -> str:
    data = err if isinstance(err, dict) else {}
    if not data.get("loc"):  # a rule across several variables: the message names them
        return str(data.get("msg", "is invalid")).removeprefix("Value error, ")
    loc = data["loc"]
    name = PREFIX + str(loc[0]).upper()
    given = data.get("input")
    message = str(data.get("msg", "is invalid")).removeprefix("Value error, ")
    if isinstance(given, dict):  # the whole model was given: nothing to quote
        return f"{name}: {message}"
    return f"{name}: got {str(given)!r}; {message[0].lower()}{message[1:]}"
