"""A channel's and a rule's fields checked, for the page's forms and the API's serializers alike."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import apprise

from core import patterns
from notifications import destinations, topics

URL_MAX_LENGTH = 2000
APPRISE_HELP = "https://github.com/caronc/apprise/wiki"


def validate_url(kind: str, url: str, request_host: str | None = None) -> str:
    """The URL, stripped, if a channel of ``kind`` may use it; ValueError saying why not (never echoing it)."""
    url = (url or "").strip()
    if not url:
        raise ValueError("Give the channel's URL.")
    if len(url) > URL_MAX_LENGTH:
        raise ValueError(f"A channel's URL has at most {URL_MAX_LENGTH} characters.")
    if any(ord(char) < 32 or char == "\x7f" for char in url):
        raise ValueError("The URL holds control characters.")
    if kind == "webhook":
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        except ValueError:
            raise ValueError("This is not a URL: expected http(s)://host[:port]/path.") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("A webhook's URL starts with http:// or https:// and names a host.")
    elif not understood(url):
        raise ValueError(f"Apprise does not understand this URL: see {APPRISE_HELP} for each service's form.")
    try:
        destinations.check(url, request_host)
    except destinations.DestinationRefused as e:
        raise ValueError(e.message) from None
    return url


def understood(url: str) -> bool:
    """Whether Apprise knows the service and can read the URL (its own log, which names the URL, is kept quiet)."""
    with apprise.LogCapture(level=logging.ERROR):
        return apprise.Apprise.instantiate(url) is not None


def validate_topics(value: Any) -> list[str]:
    return topics.validate_topics(value)


def validate_globs(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise ValueError('Give a list of repository patterns ("prod/**").')
    return [patterns.validate_glob(str(item)) for item in value]


def validate_tags(value: str) -> str:
    return patterns.validate_regex(value) if value.strip() else ""
