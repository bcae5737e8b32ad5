"""The three roles, as Django groups made by a migration.

viewer browses; operator also deletes and starts jobs; admin also edits schedules and
settings. Superusers can do everything. Views (``role_required``) and the API
(``core.permissions``) both ask ``has_role``.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum
from functools import wraps
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse


class Role(IntEnum):
    VIEWER = 1
    OPERATOR = 2
    ADMIN = 3

    @property
    def group_name(self) -> str:
        return self.name.lower()


def role_of(user: AbstractBaseUser | AnonymousUser) -> Role | None:
    """The highest role the user holds, or None for anonymous users and users without one."""
    if not user.is_authenticated or not user.is_active:
        return None
    role = _held_role(user)
    # A named API token (core.tokens) caps the role of the request it authenticated.
    cap: Role | None = getattr(user, "_registry_admin_role_cap", None)
    if role is not None and cap is not None:
        role = min(role, cap)
    return role


def _held_role(user: AbstractBaseUser) -> Role | None:
    if getattr(user, "is_superuser", False):
        return Role.ADMIN
    cached: Role | bool | None = getattr(user, "_registry_admin_role", False)
    if cached is not False:
        return cached  # type: ignore[return-value]
    names = set(user.groups.values_list("name", flat=True))  # type: ignore[attr-defined]
    held = [role for role in Role if role.group_name in names]
    role = max(held) if held else None
    user._registry_admin_role = role  # type: ignore[attr-defined]
    return role


def has_role(user: AbstractBaseUser | AnonymousUser, role: Role) -> bool:
    held = role_of(user)
    return held is not None and held >= role


def denial_message(role: Role) -> str:
    return (
        f"This needs the {role.group_name} role. Ask an admin to add your account to the "
        f"'{role.group_name}' group (Admin site > Users)."
    )


def role_required(role: Role) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Refuse a view with 403 unless the logged-in user holds ``role`` or higher."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not has_role(request.user, role):
                raise PermissionDenied(denial_message(role))
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
