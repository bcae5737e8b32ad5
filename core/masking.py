"""Secrets kept off pages, API answers and logs: environment values, URLs, registry log lines.

The one place that decides what looks like a secret, for the Registry page's container panel,
its log lines, the GC's job log and the admin's saved ``docker inspect`` output.
"""

from __future__ import annotations

import copy
import re
from typing import Any

# Env names whose values are never shown nor logged (REGISTRY_HTTP_SECRET, REGISTRY_REDIS_PASSWORD,
# S3 keys...). Notification endpoints and headers can carry Authorization values too.
SECRET_NAME_PARTS = ("SECRET", "PASS", "TOKEN", "KEY", "CREDENTIAL", "NOTIFICATIONS", "HEADERS")

MASK = "••••••"


def is_secret_name(name: str) -> bool:
    upper = name.upper()
    return any(part in upper for part in SECRET_NAME_PARTS)


_QUERY_SECRET = re.compile(
    r"(?i)([?&;][\w.-]*(?:password|passwd|secret|token|apikey|api[_-]key|access[_-]?key|credential|signature|sig|auth)[\w.-]*=)[^&#\s\"']+"
)


def mask_url(url: str) -> str:
    """``scheme://user:pass@host/?token=x`` -> ``scheme://••••••@host/?token=••••••``."""
    return _QUERY_SECRET.sub(rf"\1{MASK}", re.sub(r"(://)[^/@\s]+@", rf"\1{MASK}@", url))


# Credentials as the registry (Go, logrus) prints them in its log: notification endpoints'
# headers (``headers=map[Authorization:[Bearer <token>]]``), auth schemes, key=value pairs
# whose key names a secret, tokens in URL queries, and user:password@ in URLs.
_SECRET_WORDS = r"(?:password|passwd|secret|token|apikey|api[_-]key|access[_-]?key|credential|signature)"  # noqa: S105 - the words, not a value

_LOG_SECRETS = (
    # Go's map of header lists: Authorization:[...], Cookie:[...], X-Auth-Token:[...]
    re.compile(
        r"(?i)\b((?:proxy-)?authorization|cookie|set-cookie|x-[\w-]*(?:token|key|secret|auth)[\w-]*)(\s*[:=]\s*)\[[^\]]*\]"
    ),
    # A header printed as a plain value: Authorization: Bearer abc, "Authorization":"Basic abc"
    re.compile(r'(?i)\b((?:proxy-)?authorization"?\s*[:=]\s*"?)(?!\[)[^",\]\n]+'),
    re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]{4,}"),
    # key=value, key: value, "key":"value" where the key names a secret (query strings included)
    re.compile(
        r"(?i)\b([\w.-]*" + _SECRET_WORDS + r'[\w.-]*"?)(\s*[=:]\s*"?)(?!' + re.escape(MASK) + r')[^\s"&,;\]}\[]+'
    ),
)


def mask_log_line(line: str) -> str:
    """A registry log line fit for a page: credentials and tokens replaced, as the env panel does."""
    first, plain, scheme, pairs = _LOG_SECRETS
    masked = first.sub(rf"\1\2[{MASK}]", mask_url(line))
    masked = plain.sub(rf"\1{MASK}", masked)
    masked = scheme.sub(rf"\1\2{MASK}", masked)
    return pairs.sub(rf"\1\2{MASK}", masked)


def masked_env(env: dict[str, str]) -> list[list[str]]:
    """The container's environment for display: secret values replaced, URLs without credentials."""
    return [[name, MASK if is_secret_name(name) and value else mask_url(value)] for name, value in sorted(env.items())]


def masked_inspect(attrs: dict[str, Any]) -> dict[str, Any]:
    """``docker inspect`` output with secret-named variables' values hidden and URLs without credentials."""
    shown: dict[str, Any] = copy.deepcopy(attrs)
    config = shown.setdefault("Config", {})
    pairs = (e.partition("=") for e in config.get("Env") or [])
    config["Env"] = [
        f"{name}={MASK if is_secret_name(name) and value else mask_url(value)}" for name, _, value in pairs
    ]
    return shown
