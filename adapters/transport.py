"""One httpx transport for every adapter: resolve once, refuse forbidden addresses, connect there.

Checking a URL and then letting the connection resolve the name again leaves a window in which
DNS can answer differently (DNS rebinding). This transport resolves the host itself, checks every
address, and sends the request to the address it checked; the Host header and the TLS server
name (SNI, and so certificate verification) stay the name the URL gave.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable

import httpx

from adapters.base import BadConfig
from adapters.targets import METADATA_HOSTS, forbidden_reason, metadata_address

Resolver = Callable[[str, int], Awaitable[list[str]]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


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
        if host.lower() in METADATA_HOSTS:
            raise BadConfig(f"target host {host!r} is a cloud metadata service")
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            addresses = await self._resolve(host, port)
        else:
            addresses = [str(literal)]
        if not addresses:
            raise BadConfig(f"target host {host!r} does not resolve")
        for address in addresses:  # whatever CHATOPS_ALLOW_PRIVATE_TARGETS says
            if metadata_address(ipaddress.ip_address(address)):
                raise BadConfig(
                    f"target host {host!r} resolves to {address}, a cloud metadata service"
                )
        if not self._allow_private:
            for address in addresses:
                reason = self._forbidden(ipaddress.ip_address(address))
                if reason:
                    raise BadConfig(
                        f"target host {host!r} resolves to {address}, a {reason} address; "
                        "set CHATOPS_ALLOW_PRIVATE_TARGETS=true to allow it"
                    )
        return addresses[0]

    async def aclose(self) -> None:
        await self._inner.aclose()


def _default_port(request: httpx.Request) -> int:
    return 443 if request.url.scheme == "https" else 80
