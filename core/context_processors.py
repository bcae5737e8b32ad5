from functools import partial
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from core import cache, reachability
from core.masking import mask_url
from core.roles import Role, role_of


def dashboard(request: HttpRequest) -> dict[str, Any]:
    """Role flags for templates (what to show), where the registry lives, and why Redis is away.

    ``redis_problem`` is a callable: the template only asks (base.html, logged in) when it
    shows the banner.
    """
    role = role_of(request.user) if hasattr(request, "user") else None
    return {
        "user_role": role.group_name if role else "",
        "can_operate": role is not None and role >= Role.OPERATOR,
        "can_administer": role is not None and role >= Role.ADMIN,
        "registry_url": mask_url(settings.REGISTRY_URL),
        "registry_public_host": settings.REGISTRY_PUBLIC_HOST,
        "redis_problem": cache.problem,
        # Why actions that need the registry or the engine are disabled (last known state, no request
        # made): callables, asked only by the templates that show such an action.
        "registry_problem": partial(reachability.problem, reachability.REGISTRY),
        "engine_problem": partial(reachability.problem, reachability.ENGINE),
    }


# Grouped by what a person comes for (issue 25): what is stored, what keeps it small, the
# registry's upkeep, who may do what. On wide screens the groups sit on one line, separated; on
# phones every item is behind one Menu button.
NAV_GROUPS = (
    (("dashboard", "Dashboard"),),
    (("catalog:repositories", "Catalog"), ("inventory:activity", "Activity"), ("catalog:push-here", "Push here")),
    (("storage", "Storage"), ("retention:policies", "Retention")),
    (("maintenance", "Maintenance"), ("registry", "Registry"), ("diagnostics", "Diagnostics")),
    (
        ("audit", "Audit log"),
        ("tokens", "Tokens"),
        ("access:robots", "Access"),
        ("notifications:index", "Notifications"),
    ),
)
NAV = tuple(item for group in NAV_GROUPS for item in group)
GROUP_STARTS = {group[0][0] for group in NAV_GROUPS[1:]}


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The navigation's items, the current one (the longest matching path) marked."""
    items = [(reverse(name), label, name in GROUP_STARTS) for name, label in NAV]
    path = getattr(request, "path", "")
    matching = [url for url, _, _ in items if path == url or (url != "/" and path.startswith(url))]
    current = max(matching, key=len) if matching else ""
    return {
        "nav_items": [
            {"url": url, "label": label, "current": url == current, "group_start": starts}
            for url, label, starts in items
        ]
    }
