"""The SSRF guard: outbound URLs may not reach loopback, private, link-local or metadata hosts."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from adapters.base import BadConfig

METADATA_HOSTS = {"metadata.google.internal", "metadata", "instance-data"}
# Carrier-grade NAT space: not "private" to Python, but where some clouds put internal services.
SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")


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


def forbidden_reason(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if isinstance(address, ipaddress.IPv4Address) and address in SHARED_ADDRESS_SPACE:
        return "carrier-grade NAT (100.64.0.0/10)"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local (cloud metadata)"
    if address.is_unspecified or address.is_multicast or address.is_reserved:
        return "reserved"
    if address.is_private:
        return "private"
    return None


async def check_target(
    url: str, *, allow_private: bool, schemes: tuple[str, ...] = ("http", "https")
) -> None:
    """Refuse URLs not of `schemes`, or whose host resolves to a forbidden address."""
    problem = url_problem(url, schemes)
    if problem:
        raise BadConfig(f"target URL {problem}")
    parts = urlsplit(url)
    assert parts.hostname is not None
    if allow_private:
        return
    host = parts.hostname
    if host.lower() in METADATA_HOSTS:
        raise BadConfig(f"target host {host!r} is a cloud metadata service")
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, parts.port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM
        )
    except socket.gaierror as exc:
        raise BadConfig(f"target host {host!r} does not resolve: {exc.strerror}") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        reason = forbidden_reason(address)
        if reason:
            raise BadConfig(
                f"target host {host!r} resolves to {address}, a {reason} address; "
                "set CHATOPS_ALLOW_PRIVATE_TARGETS=true to allow it"
            )
