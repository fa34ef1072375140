"""E-mail over SMTP (aiosmtplib): HTML and plain text, threaded by Message-ID."""

from __future__ import annotations

import email.utils
from dataclasses import dataclass, field
from email.message import EmailMessage

import aiosmtplib

from adapters.base import AuthError, BadConfig, BaseAdapter, RateLimited, Unavailable
from adapters.egress import check_target
from cards.text import plain, rich, subject
from domain import Delivered, DeliveryKind, Outgoing

SECURITY = ("starttls", "tls", "none")


@dataclass(frozen=True)
class EmailConfig:
    """The SMTP server, its login, and who mail comes from and goes to."""

    host: str
    from_address: str
    to: tuple[str, ...]
    port: int = 587
    username: str = ""
    password: str = field(default="", repr=False)
    security: str = "starttls"
    timeout: float = 30.0
    allow_private: bool = False


def addresses(text: str) -> tuple[str, ...]:
    """`a@x, b@y` into addresses; BadConfig names one that is not an address."""
    found = []
    for part in (p.strip() for p in text.replace(";", ",").split(",")):
        if not part:
            continue
        _, address = email.utils.parseaddr(part)
        if "@" not in address or " " in address:
            raise BadConfig(f"email: {part!r} is not an e-mail address")
        found.append(address)
    return tuple(found)


class EmailAdapter(BaseAdapter):
    """Mails each alert; changes are mailed as replies in the same thread."""

    kind = "email"

    def __init__(self, config: EmailConfig) -> None:
        if not config.host or not config.from_address:
            raise BadConfig("email: host and from_address must be set")
        if config.security not in SECURITY:
            raise BadConfig(f"email: security is one of {', '.join(SECURITY)}")
        if not 1 <= config.port <= 65535:
            raise BadConfig("email: port must be 1 to 65535")
        self._config = config

    def compose(self, message: Outgoing) -> EmailMessage:
        """The MIME message: text and HTML alternatives, with threading headers."""
        alert = message.alert
        if alert is None or message.kind in (DeliveryKind.DIGEST, DeliveryKind.GROUP):
            raise BadConfig("email: digests are not mailed")
        if not self._config.to:
            raise BadConfig("email: no recipients (set `to`, or a channel target)")
        mail = EmailMessage()
        mail["From"] = self._config.from_address
        mail["To"] = ", ".join(self._config.to)
        mail["Date"] = email.utils.formatdate(localtime=False)
        domain = self._config.from_address.rpartition("@")[2] or "chatops.invalid"
        mail["Message-ID"] = email.utils.make_msgid("chatops", domain=domain)
        title = subject(alert)
        if message.kind is DeliveryKind.UPDATE and message.ref:
            mail["In-Reply-To"] = message.ref
            mail["References"] = message.ref
            title = "Re: " + title
        mail["Subject"] = title
        mail["X-ChatOps-Alert"] = alert.id
        mail.set_content(plain(alert, message.public_url))
        mail.add_alternative(rich(alert, message.public_url), subtype="html")
        return mail

    async def send(self, message: Outgoing) -> Delivered:
        """Mail it; the first message's Message-ID threads the rest."""
        mail = self.compose(message)
        await self._submit(mail)
        ref = message.ref if message.kind is DeliveryKind.UPDATE and message.ref else None
        return Delivered(status_code=250, ref=ref or str(mail["Message-ID"]))

    async def test(self) -> str:
        """Connect, secure and log in, then NOOP: no mail is sent."""
        smtp = self._client()
        await self._guard()
        try:
            async with smtp:
                await self._login(smtp)
                await smtp.noop()
        except aiosmtplib.SMTPException as exc:
            raise _translate(exc) from exc
        return f"SMTP server {self._config.host}:{self._config.port} accepted the login"

    async def _submit(self, mail: EmailMessage) -> None:
        await self._guard()
        smtp = self._client()
        try:
            async with smtp:
                await self._login(smtp)
                await smtp.send_message(mail)
        except aiosmtplib.SMTPException as exc:
            raise _translate(exc) from exc

    async def _guard(self) -> None:
        url = f"smtp://{self._config.host}:{self._config.port}"
        await check_target(url, allow_private=self._config.allow_private, schemes=("smtp",))

    def _client(self) -> aiosmtplib.SMTP:
        cfg = self._config
        return aiosmtplib.SMTP(
            hostname=cfg.host,
            port=cfg.port,
            use_tls=cfg.security == "tls",
            start_tls=True if cfg.security == "starttls" else False,
            timeout=cfg.timeout,
        )

    async def _login(self, smtp: aiosmtplib.SMTP) -> None:
        if self._config.username:
            await smtp.login(self._config.username, self._config.password)


def _translate(exc: aiosmtplib.SMTPException) -> Exception:
    """SMTP failures into the adapter errors: 5xx refusals are final, 4xx ones are retried."""
    detail = f"email: {type(exc).__name__}: {exc}"
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return AuthError(detail)
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        if all(400 <= c < 500 for c in codes):
            return Unavailable(detail)
        return BadConfig(detail)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        if exc.code == 421 or exc.code == 451 or exc.code == 452:
            return RateLimited(detail, retry_after=60.0, status_code=exc.code)
        if 400 <= exc.code < 500:
            return Unavailable(detail, status_code=exc.code)
        return BadConfig(detail, status_code=exc.code)
    return Unavailable(detail)  # connect errors, timeouts, disconnects
