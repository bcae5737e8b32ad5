from typing import Any

from django.conf import settings
from django.http import HttpRequest

from core.roles import Role, role_of


def dashboard(request: HttpRequest) -> dict[str, Any]:
    """Role flags for templates (what to show), and where the registry lives."""
    role = role_of(request.user) if hasattr(request, "user") else None
    return {
        "user_role": role.group_name if role else "",
        "can_operate": role is not None and role >= Role.OPERATOR,
        "can_administer": role is not None and role >= Role.ADMIN,
        "registry_url": settings.REGISTRY_URL,
        "registry_public_host": settings.REGISTRY_PUBLIC_HOST,
    }
