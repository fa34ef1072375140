"""Egress: where the bot may send, and the one transport that sends only there.

The SSRF guard refuses outbound URLs that reach loopback, private, link-local, site-local or
metadata hosts (IPv4 carried inside IPv6 included). Checking a URL and then letting the
connection resolve the name again leaves a window in which DNS can answer differently (DNS
rebinding), so the clients adapters send with connect only to addresses they checked:
`PinnedTransport` (httpx) resolves the host itself, checks every address, and sends the request
to the address it checked; `CheckedResolver` gives aiohttp's connector only checked addresses
(`checked_session`, and `CheckedPoster`, the webhook's cheaper client). The Host header and the
TLS server name (SNI, and so certificate verification) stay the name the URL gave.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp
import aiohttp.abc
import httpx

from adapters.base import BadConfig, Unavailable
from cards.redact import scrub_urls

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
METADATA_HOSTS = {"metadata.google.internal", "metadata", "instance-data"}
# Cloud metadata services: refused even with CHATOPS_ALLOW_PRIVATE_TARGETS=true, which is for
# webhooks on a private network, never for the credentials of the machine the bot runs on.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)
# Carrier-grade NAT space: not "private" to Python, but where some clouds put internal services.
SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")
SITE_LOCAL = ipaddress.ip_network("fec0::/10")  # deprecated, but still routed inside some sites
SIXTOFOUR_RELAY = ipaddress.ip_network("192.88.99.0/24")
NAT64 = ipaddress.ip_network("64:ff9b::/96")


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, Teredo, NAT64), if any."""
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address.sixtofour:
        return address.sixtofour
    if address.teredo:
        return address.teredo[1]
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def metadata_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether an address is a cloud metadata service's, however it is spelled."""
    if isinstance(address, ipaddress.IPv6Address) and (inner := embedded_ipv4(address)):
        address = inner
    return address in METADATA_ADDRESSES


def url_problem(url: str, schemes: tuple[str, ...] = ("http", "https")) -> str | None:
    """Why `url` cannot be sent to, by its spelling alone; None when it can."""
    wanted = " or ".join(f"{s}://" for s in schemes)
    if not url.isascii() or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return f"must be {wanted} with no spaces, control or non-ASCII characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"is not a valid URL ({exc})"
    if parts.scheme not in schemes or not parts.hostname:
        return f"must be {wanted} with a host"
    if port == 0:
        return "port 0 cannot be connected to"
    return None


def has_userinfo(url: str) -> bool:
    """Whether a URL carries a user name or password (`https://user:pw@host`): a secret
    wherever the URL is shown. A URL too malformed to read counts as carrying one."""
    try:
        parts = urlsplit(url)
        return bool(parts.username or parts.password)
    except ValueError:
        return True


def forbidden_reason(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if isinstance(address, ipaddress.IPv6Address):
        if address in SITE_LOCAL:
            return "site-local (fec0::/10)"
        inner = embedded_ipv4(address)
        if inner is not None:
            reason = forbidden_reason(inner)
            return f"{reason} (inside an IPv6 address)" if reason else None
    if isinstance(address, ipaddress.IPv4Address) and address in SHARED_ADDRESS_SPACE:
        return "carrier-grade NAT (100.64.0.0/10)"
    if isinstance(address, ipaddress.IPv4Address) and address in SIXTOFOUR_RELAY:
        return "6to4 relay (192.88.99.0/24)"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local (cloud metadata)"
    if address.is_unspecified or address.is_multicast or address.is_reserved:
        return "reserved"
    if address.is_private:
        return "private"
    return None


def address_problem(
    host: str,
    address: IPAddress,
    *,
    allow_private: bool,
    forbidden: Callable[[IPAddress], str | None] | None = None,
) -> str | None:
    """Why `host`, found at `address`, may not be sent to (a metadata service always, a
    private address unless allowed); None when it may."""
    if metadata_address(address):
        return f"target host {host!r} resolves to {address}, a cloud metadata service"
    reason = None if allow_private else (forbidden or forbidden_reason)(address)
    if reason:
        return (
            f"target host {host!r} resolves to {address}, a {reason} address; "
            "set CHATOPS_ALLOW_PRIVATE_TARGETS=true to allow it"
        )
    return None


def name_problem(host: str) -> str | None:
    """Why a host name may not be sent to, whatever it resolves to: a metadata service's."""
    if host.lower() in METADATA_HOSTS:
        return f"target host {host!r} is a cloud metadata service"
    return None


def check_spelling(url: str, schemes: tuple[str, ...] = ("http", "https")) -> str:
    """The URL's host, once its spelling and its name pass (a metadata service's name is
    refused); `BadConfig` otherwise. Its addresses are checked where it is resolved."""
    problem = url_problem(url, schemes)
    if problem:
        raise BadConfig(f"target URL {problem}")
    host = urlsplit(url).hostname or ""
    problem = name_problem(host)
    if problem:
        raise BadConfig(problem)
    return host


async def check_target(
    url: str, *, allow_private: bool, schemes: tuple[str, ...] = ("http", "https")
) -> None:
    """Refuse URLs not of `schemes`, or whose host resolves to a forbidden address."""
    host = check_spelling(url, schemes)
    parts = urlsplit(url)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, parts.port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM
        )
    except socket.gaierror as exc:
        raise BadConfig(f"target host {host!r} does not resolve: {exc.strerror}") from None
    for info in infos:
        problem = address_problem(
            host, ipaddress.ip_address(info[4][0]), allow_private=allow_private
        )
        if problem:
            raise BadConfig(problem)


Resolver = Callable[[str, int], Awaitable[list[str]]]


async def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the system resolver gives for `host`."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise BadConfig(f"target host {host!r} does not resolve: {exc.strerror}") from None
    return [str(info[4][0]) for info in infos]


class PinnedTransport(httpx.AsyncBaseTransport):
    """Connects only to addresses it checked; `allow_private` lets loopback and private through."""

    def __init__(
        self,
        *,
        allow_private: bool,
        resolve: Resolver = system_resolver,
        forbidden: Callable[[IPAddress], str | None] = forbidden_reason,
        inner: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._allow_private, self._resolve, self._forbidden = allow_private, resolve, forbidden
        self._inner = inner or httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        address = await self._checked_address(host, request.url.port or _default_port(request))
        if address != host:
            request.url = request.url.copy_with(host=address)
            if request.url.scheme == "https":
                request.extensions = {**request.extensions, "sni_hostname": host}
        return await self._inner.handle_async_request(request)

    async def _checked_address(self, host: str, port: int) -> str:
        problem = name_problem(host)
        if problem:
            raise BadConfig(problem)
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            addresses = await self._resolve(host, port)
        else:
            addresses = [str(literal)]
        if not addresses:
            raise BadConfig(f"target host {host!r} does not resolve")
        for address in addresses:
            problem = address_problem(
                host,
                ipaddress.ip_address(address),
                allow_private=self._allow_private,
                forbidden=self._forbidden,
            )
            if problem:
                raise BadConfig(problem)
        return addresses[0]

    async def aclose(self) -> None:
        await self._inner.aclose()


def _default_port(request: httpx.Request) -> int:
    return 443 if request.url.scheme == "https" else 80


class ForbiddenTarget(OSError):
    """A host resolved to an address the bot may not send to: a setting to fix, not an outage."""


class CheckedResolver(aiohttp.abc.AbstractResolver):
    """An aiohttp resolver with the same rule as `PinnedTransport`, for SDKs that bring their
    own aiohttp session (Slack's): the addresses a connection may use are the ones checked."""

    def __init__(self, *, allow_private: bool) -> None:
        self._allow_private = allow_private
        self._inner = aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[aiohttp.abc.ResolveResult]:
        problem = name_problem(host)
        if problem:
            raise ForbiddenTarget(problem)
        found = await self._inner.resolve(host, port, family)
        for entry in found:
            address = ipaddress.ip_address(entry["host"])
            problem = address_problem(host, address, allow_private=self._allow_private)
            if problem:
                raise ForbiddenTarget(problem)
        return found

    async def close(self) -> None:
        await self._inner.close()


def checked_session(
    *, allow_private: bool, timeout: float = 10.0, headers: Mapping[str, str] | None = None
) -> aiohttp.ClientSession:
    """An aiohttp session that connects only to checked addresses (see CheckedResolver)."""
    connector = aiohttp.TCPConnector(resolver=CheckedResolver(allow_private=allow_private))
    return aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=timeout), headers=headers
    )


@dataclass(frozen=True)
class Answer:
    """A destination's answer, read whole: what `raise_for_status` looks at."""

    status_code: int
    headers: Mapping[str, str]
    text: str


class CheckedPoster:
    """POSTs (and PUTs) to checked addresses over kept-alive connections (an aiohttp session made on
    first use, in the running loop), the URL's spelling, name and any address written in it
    checked before sending, every failure an adapter error: a forbidden address is
    `BadConfig`, a timeout or a refused connection `Unavailable`. Redirects are not followed:
    the new place has not been checked. A send costs a tenth of httpx's (bench/README)."""

    def __init__(self, kind: str, *, allow_private: bool, timeout: float) -> None:
        self._kind, self._allow_private, self._timeout = kind, allow_private, timeout
        self._session: aiohttp.ClientSession | None = None
        self._passed: set[str] = set()  # URLs whose spelling and written address passed

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Answer:
        return await self.send("POST", url, body, headers)

    async def put(self, url: str, body: bytes, headers: Mapping[str, str]) -> Answer:
        return await self.send("PUT", url, body, headers)

    async def send(self, method: str, url: str, body: bytes, headers: Mapping[str, str]) -> Answer:
        if url not in self._passed:
            self._check(url)
        if self._session is None or self._session.closed:
            self._session = checked_session(
                allow_private=self._allow_private,
                timeout=self._timeout,
                headers={"User-Agent": USER_AGENT},
            )
        try:
            async with self._session.request(
                method, url, data=body, headers=dict(headers), allow_redirects=False
            ) as resp:
                return Answer(resp.status, resp.headers, await resp.text(errors="replace"))
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, ForbiddenTarget):
                raise BadConfig(str(exc.os_error)) from None
            raise Unavailable(f"{self._kind}: {_failure(exc)}") from exc
        except TimeoutError as exc:
            raise Unavailable(f"{self._kind}: timed out ({type(exc).__name__})") from exc
        except aiohttp.ClientError as exc:
            raise Unavailable(f"{self._kind}: {_failure(exc)}") from exc

    def _check(self, url: str) -> None:
        """The URL's spelling, and an address written in it (aiohttp connects to one without
        asking the resolver); a URL that passed is not checked again (a name's addresses are
        checked at every connection, by the resolver)."""
        host = check_spelling(url)
        try:
            written = ipaddress.ip_address(host)
        except ValueError:
            pass  # a name: its addresses are checked as it is resolved (CheckedResolver)
        else:
            problem = address_problem(host, written, allow_private=self._allow_private)
            if problem:
                raise BadConfig(problem)
        if len(self._passed) >= CHECKED_URLS:
            self._passed.clear()
        self._passed.add(url)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


USER_AGENT = "chatops-bot/0.1"
CHECKED_URLS = 1024  # URLs a client remembers as checked (Teams' differ by card)


def _failure(exc: Exception) -> str:
    return f"{type(exc).__name__}: {scrub_urls(str(exc))}"
