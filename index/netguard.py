"""The SSRF guard of URL ingest: only public addresses are fetched, unless settings allow a network.

Every hop of a fetch is checked twice: its host is resolved and every address checked before the
request (so a redirect to http://169.254.169.254/ or http://localhost/ is refused by name), and the
connection itself goes to an address checked at connect time (so a DNS answer that changes between
the check and the connection, DNS rebinding, cannot reach a private address either).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Sequence
from typing import Any

import httpcore
import httpx

from rag.errors import IngestError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressPolicy:
    """Public addresses pass; private, loopback, link-local, multicast and reserved ones only when allowed."""

    def __init__(self, allow: Iterable[str] = ()) -> None:
        self.allowed = [ipaddress.ip_network(n, strict=False) for n in allow]

    def permits(self, address: Address) -> bool:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if any(address in network for network in self.allowed):
            return True
        return address.is_global and not address.is_multicast

    def resolve(self, host: str, port: int) -> list[Address]:
        """Every address `host` resolves to, all of them permitted, or an IngestError that says which is not."""
        try:
            literal = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            literal = None
        if literal is not None:
            addresses: list[Address] = [literal]
        else:
            try:
                found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except (socket.gaierror, UnicodeError) as exc:
                raise IngestError(f"cannot resolve the host {host!r} ({exc})") from None
            addresses = list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in found))
        for address in addresses:
            if not self.permits(address):
                raise IngestError(
                    f"{host} is a private, loopback or link-local address ({address}); newsrag fetches only "
                    "public addresses (allow a network with NEWSRAG_FETCH_ALLOW_NETWORKS, e.g. [\"10.0.0.0/8\"])"
                )
        return addresses

    def check_url(self, url: httpx.URL) -> None:
        """Refuse a URL that is not http(s) or whose host is not permitted."""
        if url.scheme not in ("http", "https") or not url.host:
            raise IngestError(f"only http and https addresses can be fetched, not {str(url)[:200]!r}")
        self.resolve(url.host, url.port or (443 if url.scheme == "https" else 80))


class GuardedBackend(httpcore.SyncBackend):
    """httpcore's network backend, connecting only to addresses the policy permits (checked at connect time)."""

    def __init__(self, policy: AddressPolicy) -> None:
        self.policy = policy

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Any = None) -> httpcore.NetworkStream:
        try:
            addresses = self.policy.resolve(host, port)
        except IngestError as exc:
            raise httpcore.ConnectError(str(exc)) from None
        error: Exception | None = None
        for address in addresses:
            try:
                return super().connect_tcp(str(address), port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                error = exc
        raise error or httpcore.ConnectError(f"cannot connect to {host}")


def guarded_transport(policy: AddressPolicy) -> httpx.HTTPTransport:
    """An httpx transport whose connections go only where `policy` permits (environment proxies are not used)."""
    transport = httpx.HTTPTransport(retries=0)
    pool = getattr(transport, "_pool", None)
    if not isinstance(pool, httpcore.ConnectionPool) or not hasattr(pool, "_network_backend"):
        raise RuntimeError("this httpx/httpcore version hides its connection pool; update newsrag")  # pragma: no cover
    pool._network_backend = GuardedBackend(policy)
    return transport


def blocked_reason(error: BaseException) -> str | None:
    """The guard's message when a connection was refused by it (else None)."""
    text = str(error)
    return text if "private, loopback or link-local" in text else None


__all__: Sequence[str] = ["AddressPolicy", "GuardedBackend", "blocked_reason", "guarded_transport"]
