"""Where a channel may send: not at this dashboard, not at link-local or cloud metadata addresses (SSRF).

A channel's URL is chosen by an admin, but the worker that calls it sits inside the NAS's
network, next to things no message should reach: the dashboard's own API, link-local
addresses (169.254.0.0/16, fe80::/10) and the cloud metadata services on them (AWS, GCP and
Azure at 169.254.169.254, AWS's fd00:ec2::254, Alibaba's 100.100.100.200). Those are refused
with the reason, when the channel is saved and again before each delivery (a name may
resolve elsewhere by then).

Loopback and private (LAN) addresses are allowed: a home lab's ntfy, Gotify or mail server
runs on the same NAS or next to it. ``NOTIFICATIONS_ALLOW_LOOPBACK=false`` refuses loopback
too, for a dashboard that shares its host with nothing it should call. The dashboard itself
is refused by name and port (``DASHBOARD_URL``, ``DJANGO_ALLOWED_HOSTS``, the host the admin
reached it by) and, on loopback, by its ``PORT``.

Hosts that do not resolve are let through at save time (an Apprise URL's "host" is often a
webhook id or a bot token, not a server); the delivery checks again.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_LINK_LOCAL = (ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fe80::/10"))
_METADATA = (
    ipaddress.ip_network("169.254.169.254/32"),
    ipaddress.ip_network("fd00:ec2::254/128"),
    ipaddress.ip_network("100.100.100.200/32"),
)
_METADATA_NAMES = ("metadata.google.internal", "metadata", "instance-data", "instance-data.ec2.internal")
# Schemes whose default port is 443 (https and Apprise's secure variants of its HTTP plugins).
_TLS_SCHEMES = ("https", "jsons", "xmls", "forms", "ntfys", "gotifys", "matrixs", "apprises", "mmosts", "rockets")


class DestinationRefused(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _addresses(host: str) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []
    addresses = []
    for *_, sockaddr in found:
        try:
            addresses.append(ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0]))
        except ValueError:
            continue
    return addresses


def _default_port(scheme: str) -> int:
    return 443 if scheme.lower() in _TLS_SCHEMES else 80


def _endpoint(url: str) -> tuple[str, int] | None:
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:
        return None
    if not host:
        return None
    return host.lower().rstrip("."), port or _default_port(parts.scheme)


def own_endpoints(request_host: str | None = None) -> set[tuple[str, int]]:
    """The names and ports this dashboard answers on, as far as it knows them."""
    names: list[str] = [settings.DASHBOARD_URL]
    names += [f"http://{host}:{settings.PORT}" for host in settings.ALLOWED_HOSTS if host not in ("*", "")]
    if request_host:
        names.append(f"http://{request_host}")
    found = {endpoint for name in names if (endpoint := _endpoint(name)) is not None}
    return {(host.lstrip("."), port) for host, port in found}


def check(url: str, request_host: str | None = None, *, resolve_required: bool = False) -> None:
    """Refuse (DestinationRefused, saying why) a URL a channel must not call."""
    endpoint = _endpoint(url)
    if endpoint is None:
        return
    host, port = endpoint
    if host in _METADATA_NAMES:
        raise DestinationRefused(f"{host} is a cloud metadata service: a channel may not call it.")
    own = own_endpoints(request_host)
    if (host, port) in own:
        raise DestinationRefused(f"{host}:{port} is this dashboard: a channel may not call the dashboard itself.")
    addresses = _addresses(host)
    if not addresses and resolve_required:
        raise DestinationRefused(f"{host} does not resolve to an address.")
    own_addresses = {(address, own_port) for own_host, own_port in own for address in _addresses(own_host)}
    for address in addresses:
        mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
        address = mapped or address
        if any(address in network for network in _METADATA):
            raise DestinationRefused(f"{host} is {address}, a cloud metadata address: a channel may not call it.")
        if any(address in network for network in _LINK_LOCAL):
            raise DestinationRefused(
                f"{host} is {address}, a link-local address (169.254.0.0/16, fe80::/10): a channel may not call it."
            )
        if address.is_unspecified or address.is_multicast:
            raise DestinationRefused(f"{host} is {address}, which no channel can be delivered to.")
        if address.is_loopback:
            if not settings.NOTIFICATIONS_ALLOW_LOOPBACK:
                raise DestinationRefused(
                    f"{host} is {address}, a loopback address, and NOTIFICATIONS_ALLOW_LOOPBACK is false."
                )
            if port == settings.PORT:  # gunicorn binds 0.0.0.0:$PORT: loopback reaches it
                raise DestinationRefused(
                    f"{host}:{port} is this dashboard's own port on loopback: a channel may not call the dashboard."
                )
        if (address, port) in own_addresses:
            raise DestinationRefused(f"{host}:{port} is this dashboard: a channel may not call the dashboard itself.")
