"""Typed readers for settings that come from the environment.

Every reader fails loudly: a bad value raises ``ImproperlyConfigured`` naming the
variable, so a typo in ``.env`` stops the start instead of running with a surprise.
A variable ``NAME`` may also be given as ``NAME_FILE`` (a path whose content is the
value), the way Container Station and compose pass secrets.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off"}


def env(name: str, default: str = "") -> str:
    """The raw value of NAME, or the content of the file NAME_FILE, or default.

    An empty NAME counts as unset: ``NAME=`` in ``.env`` and compose's ``${NAME:-}`` mean
    "the default", not "the empty string".
    """
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        try:
            return Path(file_path).read_text().strip()
        except OSError as e:
            raise ImproperlyConfigured(f"{name}_FILE={file_path}: cannot read it ({e.strerror})") from e
    return os.environ.get(name) or default


def parse_bool(raw: str) -> bool | None:
    """True or False for the words in TRUE_WORDS and FALSE_WORDS (any case); None for anything else.

    The one true/false parser: settings, the registry's configuration values and query
    parameters (``?force=``) all read booleans through it.
    """
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


def envbool(name: str, default: bool) -> bool:
    raw = env(name, "").strip().lower()
    if raw == "":
        return default
    value = parse_bool(raw)
    if value is None:
        raise ImproperlyConfigured(f"{name}={raw!r}: expected true or false")
    return value


def envint(name: str, default: int, minimum: int | None = None) -> int:
    raw = env(name, "").strip()
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r}: expected a whole number") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value}: must be at least {minimum}")
    return value


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


def envurl(name: str, default: str, schemes: tuple[str, ...]) -> str:
    """A URL with one of the given schemes and a host, without a trailing slash."""
    raw = env(name, default).strip()
    parts = urlsplit(raw)
    if parts.scheme not in schemes or not parts.netloc:
        wanted = " or ".join(f"{s}://" for s in schemes)
        raise ImproperlyConfigured(f"{name}={raw!r}: expected a URL starting with {wanted} and a host")
    return raw.rstrip("/")


def env_verify_tls(name: str) -> bool | str:
    """``true``/``false``, or the path of a CA bundle, as requests' ``verify`` takes it."""
    raw = env(name, "").strip()
    if raw == "" or raw.lower() in TRUE_WORDS:
        return True
    if raw.lower() in FALSE_WORDS:
        return False
    if not Path(raw).is_file():
        raise ImproperlyConfigured(f"{name}={raw!r}: expected true, false or the path of a CA bundle file")
    return raw


def read_or_create_secret(path: Path) -> str:
    """A secret kept in a file, made on first use (like the installation guide's registry-secret.txt)."""
    if path.exists():
        return path.read_text().strip()
    import secrets

    value = secrets.token_urlsafe(50)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(value)
    return value
