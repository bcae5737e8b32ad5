"""Channel URLs and secrets as pages, answers, logs and the audit log may show them: masked.

Stricter than ``core.masking.mask_url`` (which keeps a URL's path for the registry's logs): a
chat service's URL carries its token in the path or even the host (``tgram://<bot token>/...``).

``mask_url`` keeps what tells channels apart (the scheme, and the host when it is a host
name or an address) and hides everything that may carry a credential: the user and
password, the path (webhook ids and tokens live there: ``discord://id/token``), the query.
``redact`` takes any text (an error from Apprise or from ``requests``) and hides every piece
of a channel's URL and secret that it holds.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, unquote, urlsplit

from core.masking import MASK

__all__ = ["MASK", "mask_url", "pieces", "redact"]

# A host name worth showing: dotted DNS names and "localhost". A bare word is often a token
# in an Apprise URL (tgram://<bot token>/..., pover://<user key>@<app token>).
_HOST_NAME = re.compile(r"(?i)^(localhost|[a-z0-9-]+(\.[a-z0-9-]+)+)$")


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def mask_url(url: str) -> str:
    """``json://user:pw@10.0.0.5:8080/hook?token=x`` -> ``json://••••••@10.0.0.5:8080/••••••``."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        scheme = url.split("://", 1)[0] if "://" in url else ""
        return f"{scheme}://{MASK}" if scheme.isalnum() else MASK
    if not parts.scheme:
        return MASK
    shown = host if host and (_HOST_NAME.match(host) or _is_address(host)) else (MASK if host else "")
    if shown and ":" in shown:
        shown = f"[{shown}]"
    user = f"{MASK}@" if parts.username is not None or parts.password is not None else ""
    rest = f"/{MASK}" if parts.path.strip("/") or parts.query or parts.fragment else ""
    return f"{parts.scheme}://{user}{shown}{f':{port}' if port else ''}{rest}"


def pieces(url: str, secret: str = "") -> list[str]:
    """Every part of ``url`` (and the secret) that must not appear in text shown to anyone."""
    found = [url.strip(), secret]
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
    except ValueError:
        return [piece for piece in found if piece]
    found += [parts.username or "", parts.password or "", parts.netloc]
    if host and not (_HOST_NAME.match(host) or _is_address(host)):
        found.append(host)
    found += [segment for segment in parts.path.split("/") if len(segment) >= 4]
    found += [parts.query, *(value for _, value in parse_qsl(parts.query) if len(value) >= 4)]
    found += [unquote(piece) for piece in list(found) if piece]
    shown_host = {host, f"{host}:{parts.port}" if _port(parts) else host}
    # Longest first, so a whole URL goes before the pieces inside it.
    return sorted({p for p in found if p and p not in shown_host}, key=len, reverse=True)


def _port(parts: object) -> int | None:
    try:
        return parts.port  # type: ignore[attr-defined,no-any-return]
    except ValueError:
        return None


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each of ``secrets`` (``pieces``) replaced by the mask."""
    for piece in secrets:
        if piece:
            text = text.replace(piece, MASK)
    return text
