"""Small display helpers for the catalog pages: short digests, exact byte counts."""

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma

register = template.Library()


@register.filter
def short_digest(digest: str) -> str:
    """``sha256:0123456789ab…`` -> ``0123456789ab`` (12 hex digits, like docker images)."""
    return digest.split(":", 1)[-1][:12]


@register.filter
def exact_bytes(size: int) -> str:
    return f"{intcomma(size)} bytes"
