"""The setup page's "Test connection": an address an admin typed, tried once, said in words.

The address is tried by the dashboard's own process (where REGISTRY_URL is used), never saved
and never logged; the answer shows it with its credentials masked (``core.masking``). Only
http and https, a short timeout, no redirects followed (``registry_client.probe``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from core.masking import mask_url
from registry_client import probe

TIMEOUT = 5.0
MAX_LENGTH = 2000


class InvalidAddress(ValueError):
    """The typed address cannot be tried; the message says why (a 400 naming ``url``)."""


def clean_address(value: str) -> str:
    """``value`` as an http(s) base URL without a trailing slash, or InvalidAddress saying why."""
    url = value.strip()
    if not url:
        raise InvalidAddress("Type the registry's address, e.g. http://192.168.1.10:5000.")
    if len(url) > MAX_LENGTH:
        raise InvalidAddress(f"An address has at most {MAX_LENGTH} characters.")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as e:
        raise InvalidAddress(f"Not an address: {e}.") from e
    if parts.scheme not in ("http", "https"):
        raise InvalidAddress(
            f"Only http:// and https:// addresses can be tried, not {parts.scheme + ':' if parts.scheme else 'this'} "
            "(e.g. http://192.168.1.10:5000)."
        )
    if not parts.hostname:
        raise InvalidAddress("The address names no host, e.g. http://192.168.1.10:5000.")
    if parts.query or parts.fragment:
        raise InvalidAddress("REGISTRY_URL is the registry's base address: no ?query or #fragment.")
    if any(ord(c) < 33 for c in url):
        raise InvalidAddress("The address holds spaces or control characters.")
    return url.rstrip("/")


@dataclass(frozen=True)
class ConnectionTest:
    url: str  # masked
    outcome: str
    registry: bool
    status: int | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "outcome": self.outcome,
            "registry": self.registry,
            "status": self.status,
            "message": self.message,
        }


def _sentence(url: str, answer: probe.ProbeAnswer) -> str:
    host = urlsplit(url).hostname or url
    version = f" ({answer.version})" if answer.version else ""
    reason = f" ({answer.reason})" if answer.reason else ""
    match answer.outcome:
        case probe.REGISTRY:
            return (
                f"A Distribution registry answered at {url}/v2/ with 200{version}: this address works as REGISTRY_URL."
            )
        case probe.REGISTRY_LOGIN:
            return (
                f"A Distribution registry answered at {url}/v2/ and asks for a login (401, {answer.challenge} "
                f"challenge){version}: this address works as REGISTRY_URL, with REGISTRY_USERNAME and "
                "REGISTRY_PASSWORD set."
            )
        case probe.REDIRECT:
            return (
                f"{url}/v2/ redirects ({answer.status}) to {mask_url(answer.location) or 'nowhere'}; redirects are not "
                "followed: a registry answers /v2/ itself. If that is the registry, use its address."
            )
        case probe.NOT_REGISTRY:
            return (
                f"Something answered at {url}/v2/ with {answer.status}, but not as a Distribution registry (no "
                f"{probe.VERSION_HEADER} header{' and no login challenge' if answer.status == 401 else ''}): "
                "is this the registry's port, or another web server?"
            )
        case probe.DNS:
            return (
                f"The name {host} is not known from inside the dashboard's container (DNS failure{reason}): use the "
                "NAS's IP address, or the registry container's name when both share a Docker network."
            )
        case probe.REFUSED:
            local = host in ("localhost", "127.0.0.1", "::1")
            advice = (
                " Inside a container localhost is the dashboard itself: use the NAS's address or the registry "
                "container's name."
                if local
                else " Check the port and that the registry container runs."
            )
            return f"Connection refused at {url}: nothing listens on that port.{advice}"
        case probe.TIMEOUT:
            return (
                f"No answer from {url} within {TIMEOUT:g} s (timeout{reason}): a firewall, a wrong address, or a "
                "registry that hangs."
            )
        case probe.TLS:
            return (
                f"TLS failed with {url}{reason}: for a self-signed certificate set REGISTRY_VERIFY_TLS to the CA "
                "bundle's path (or false), or use http:// if the registry serves plain HTTP."
            )
        case _:
            return f"Could not connect to {url}{reason}."


def try_address(value: str) -> ConnectionTest:
    """Try ``value`` (InvalidAddress when it cannot be tried) with one ``GET /v2/``."""
    url = clean_address(value)
    answer = probe.probe(url, timeout=TIMEOUT, verify=settings.REGISTRY_VERIFY_TLS)
    shown = mask_url(url)
    return ConnectionTest(
        url=shown,
        outcome=answer.outcome,
        registry=answer.is_registry,
        status=answer.status,
        message=_sentence(shown, answer),
    )
